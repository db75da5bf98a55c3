#!/usr/bin/env bash
# The allocator under libtorch (issue 25): `kdstream train-teacher` (ResNet teacher, 2,560 images,
# one epoch, one thread, pinned to core 1) under each allocator setting, interleaved round by round,
# with wall/user/system time, minor page faults and peak RSS. The RSS-over-a-long-run side is the
# memory row of the pipeline benchmark, run once per setting:
#   benchmarks/pipeline.sh --only memory
#   KDSTREAM_ALLOCATOR=jemalloc benchmarks/pipeline.sh --only memory
# Results: docs/benchmarks.md, "The allocator".
#   benchmarks/allocator.sh [rounds]     (default 2; ~15 s a run)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin/setup demo
mvn -B -q -ntp -DskipTests package
rounds="${1:-2}"
work="$(mktemp -d "${TMPDIR:-/tmp}/kdstream-allocator.XXXXXX")"
trap 'rm -rf "$work"' EXIT
run() { # name, env...
  local name=$1; shift
  env "$@" /usr/bin/time -o "$work/time" -f "%e %U %S %R %M" taskset -c 1 bin/kdstream train-teacher --arch resnet \
    --epochs 1 --train-limit 2560 --test-limit 500 --threads 1 --force --out "$work/teacher" > "$work/log" 2>&1
  read -r wall user sys minor maxrss < "$work/time"
  printf "%-22s wall %6.1f s  user %6.1f s  sys %5.1f s  minor faults %8d  max RSS %5d MiB\n" \
    "$name" "$wall" "$user" "$sys" "$minor" $((maxrss / 1024))
}
for _ in $(seq "$rounds"); do
  run glibc KDSTREAM_ALLOCATOR=system
  run glibc-no-trim KDSTREAM_ALLOCATOR=system MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296
  run glibc-no-trim-1-arena KDSTREAM_ALLOCATOR=glibc
  run jemalloc-decay-off KDSTREAM_ALLOCATOR=jemalloc
  run jemalloc-decay-5s KDSTREAM_ALLOCATOR=jemalloc MALLOC_CONF=dirty_decay_ms:5000,muzzy_decay_ms:5000
  run jemalloc-decay-60s KDSTREAM_ALLOCATOR=jemalloc MALLOC_CONF=dirty_decay_ms:60000,muzzy_decay_ms:60000
done
