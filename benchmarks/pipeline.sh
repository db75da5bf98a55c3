#!/usr/bin/env bash
# Pipeline benchmark (issue 13): what streaming teacher features through Kafka costs a student,
# measured side by side in one JVM on the embedded broker; prints the rows of docs/benchmarks.md.
#   benchmarks/pipeline.sh            # full, writes docs/pipeline.png: ~20 min on 2 cores
#   benchmarks/pipeline.sh --quick    # smoke run: ~3 min
#   benchmarks/pipeline.sh --only feed,codec   # some sections (codec broker compression feed latency teacher pytorch memory images join)
#   benchmarks/pipeline.sh --only images --images 20000   # the images section on a 20,000-JPEG corpus
#   benchmarks/pipeline.sh --only images --corpus DIR     # ... on a corpus `kdstream corpus --out DIR` wrote
#     (images also takes --rounds R, default 2, and --no-scale: without the index and RSS rows)
# KDSTREAM_BENCH_JAVA_OPTS: extra JVM options, e.g. -XX:StartFlightRecording=filename=x.jfr to profile a run.
# The pytorch section runs Debian's python3-torch (/usr/bin/python3) next to kdstream's teacher.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin/setup demo   # the streamed-KD row runs a real teacher-producer on Fashion-MNIST
cp_file="$root/benchmarks/target/classpath.txt"
# -am: student-trainer and common come from this reactor, not from ~/.m2
mvn -B -q -ntp -DskipTests -pl benchmarks -am package dependency:build-classpath \
  -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=runtime
# One libtorch thread (as in the services' tests): the Kafka fetch thread gets the other core.
export OMP_NUM_THREADS=1 DJL_OFFLINE=true
# the product's allocator choice (KDSTREAM_ALLOCATOR), so that the baselines and kdstream are timed alike
. "$root/bin/allocator.sh"
kdstream_allocator
# -Xms = -Xmx with pre-touch: the heap is resident from the start, so the memory row's RSS growth is
# what the student adds (native memory, leaks), not G1 touching more of its heap over the run.
exec java -Xms2g -Xmx2g -XX:+AlwaysPreTouch -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 ${KDSTREAM_BENCH_JAVA_OPTS:-} \
  -cp "$root/benchmarks/target/classes:$(cat "$cp_file")" io.kdstream.benchmarks.pipeline.PipelineBenchmark "$@"
