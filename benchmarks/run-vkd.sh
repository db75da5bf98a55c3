#!/usr/bin/env bash
# Runs the VkD projection benchmark (JMH) and PyTorch's parametrization on the same machine, one
# after the other, both with one intra-op thread (the machine is shared; see docs/benchmarks.md).
#   benchmarks/run-vkd.sh [extra JMH args, e.g. -p variant=fast -i 3]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cp_file="$root/benchmarks/target/classpath.txt"
# -am: every kdstream module (broker, common, the services) from this reactor, not ~/.m2 (shared
# with other worktrees); benchmarks runs last and so writes the classpath file last.
mvn -B -q -ntp -DskipTests -pl benchmarks -am package dependency:build-classpath \
  -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=runtime
export OMP_NUM_THREADS=1 DJL_OFFLINE=true
# both sides on the same allocator (KDSTREAM_ALLOCATOR): PyTorch suffers glibc's the same way
. "$root/bin/allocator.sh"
kdstream_allocator
run_java() { java -cp "$root/benchmarks/target/classes:$(cat "$cp_file")" "$@"; }
jmh() { run_java org.openjdk.jmh.Main ProjectionBenchmark -jvmArgsAppend "-Dai.djl.pytorch.num_threads=1" "$@"; }
# The O(n³) dense path takes tens of seconds per step at n = 3024: one cold shot is all it gets.
jmh -p variant=fast,fast_base -wi 2 -i 5 "$@"
jmh -p variant=dense -wi 0 -i 1 "$@"
/usr/bin/python3 "$root/benchmarks/torch_projection_bench.py" --threads 1 --maps cayley --iters 3
/usr/bin/python3 "$root/benchmarks/torch_projection_bench.py" --threads 1 --maps matrix_exp --warmup 0 --iters 1
run_java -Dai.djl.pytorch.num_threads=1 io.kdstream.benchmarks.OrthogonalityDrift 64 256 10000 matrix_exp
