# Sourced (POSIX sh) by bin/kdstream, the benchmarks and the container entry point, so that every
# kdstream JVM, and the child JVMs it starts (they inherit the environment), runs libtorch on
# jemalloc with decay off. libtorch frees each batch's activations; glibc hands that memory back
# to the kernel and the next batch faults it in again, which made the teacher's forward 2.9x
# slower (docs/benchmarks.md, "The allocator"). KDSTREAM_ALLOCATOR=system keeps glibc's malloc;
# KDSTREAM_JEMALLOC=/path/libjemalloc.so.2 names the library where it is not in a usual place.
kdstream_use_jemalloc() {
  [ "${KDSTREAM_ALLOCATOR:-jemalloc}" = system ] && return 0
  case "${LD_PRELOAD:-}" in *libjemalloc*) return 0 ;; esac
  _lib=""
  for _c in ${KDSTREAM_JEMALLOC:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2}; do
    if [ -f "$_c" ]; then _lib="$_c"; break; fi
  done
  if [ -z "$_lib" ]; then
    echo "kdstream: libjemalloc.so.2 not found, so libtorch runs on the system allocator (slower); install libjemalloc2, or set KDSTREAM_ALLOCATOR=system" >&2
    return 0
  fi
  export LD_PRELOAD="$_lib${LD_PRELOAD:+:$LD_PRELOAD}"
  # decay off: freed pages stay with the process instead of going back to the kernel per batch
  export MALLOC_CONF="${MALLOC_CONF:-dirty_decay_ms:-1,muzzy_decay_ms:-1}"
}
