# Sourced (POSIX sh) by bin/kdstream, the benchmarks and the container entry point; the JVM, and
# every child JVM it starts (they inherit the environment), then runs libtorch on the allocator
# that KDSTREAM_ALLOCATOR names. libtorch frees each batch's activations, and glibc by default hands
# large freed blocks back to the kernel, so the next batch faults them in again (issue 25).
# docs/benchmarks.md, "The allocator", has the measurements behind the three choices:
#   glibc (default)  glibc that keeps freed memory for reuse: no trimming, mmap only above 32 MiB,
#                    and one arena. glibc's per-thread arenas unmap a whole heap as soon as it is free,
#                    whatever the trim threshold, and the JVM's threads (main included) all get such
#                    arenas: without MALLOC_ARENA_MAX=1 a teacher's forward ran at 600-2,400 images/s
#                    from run to run, with it at 2,000-2,600 (PyTorch: 2,550). RSS flat over a long
#                    student run.
#   jemalloc         jemalloc with decay off (package libjemalloc2): 1.4-1.5x faster, but a
#                    Kafka-fed student's RSS grows without bound (+108% over 10,000 steps), and any
#                    finite decay is far slower than glibc; for short teacher runs, at your own risk.
#   system           the C library as it is.
# KDSTREAM_JEMALLOC=/path/libjemalloc.so.2 names the library where it is not in a usual place.
kdstream_allocator() {
  case "${KDSTREAM_ALLOCATOR:-glibc}" in
    system) ;;
    jemalloc) kdstream_preload_jemalloc ;;
    glibc)
      export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-33554432}"
      export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-4294967296}"
      export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}" ;;
    *) echo "kdstream: KDSTREAM_ALLOCATOR=${KDSTREAM_ALLOCATOR} is not one of glibc, jemalloc, system; using the C library as it is" >&2 ;;
  esac
}

kdstream_preload_jemalloc() {
  case "${LD_PRELOAD:-}" in *libjemalloc*) return 0 ;; esac
  _lib=""
  for _c in ${KDSTREAM_JEMALLOC:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2}; do
    if [ -f "$_c" ]; then _lib="$_c"; break; fi
  done
  if [ -z "$_lib" ]; then
    echo "kdstream: KDSTREAM_ALLOCATOR=jemalloc, but libjemalloc.so.2 was not found (install libjemalloc2); running on the system allocator" >&2
    return 0
  fi
  export LD_PRELOAD="$_lib${LD_PRELOAD:+:$LD_PRELOAD}"
  # decay off: freed pages stay with the process instead of going back to the kernel per batch
  export MALLOC_CONF="${MALLOC_CONF:-dirty_decay_ms:-1,muzzy_decay_ms:-1}"
}
