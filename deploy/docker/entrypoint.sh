#!/bin/sh
# Container entry point: `kdstream <subcommand> [options]`. exec keeps the JVM as PID 1 so
# SIGTERM reaches it directly (teacher: abort the open transaction; student: checkpoint).
set -eu
offline="${DJL_OFFLINE:-true}"
if [ "$offline" = "auto" ]; then
  # CUDA image: a baked libtorch means we never need the network.
  if [ -f "${PYTORCH_LIBRARY_PATH_CANDIDATE:-/nonexistent}/libtorch.so" ]; then
    export PYTORCH_LIBRARY_PATH="$PYTORCH_LIBRARY_PATH_CANDIDATE"
    offline=true
  else
    offline=false   # DJL fetches $PYTORCH_FLAVOR into $ENGINE_CACHE_DIR once
  fi
fi
export DJL_OFFLINE="$offline"
# libtorch's allocator: glibc keeping freed memory by default, KDSTREAM_ALLOCATOR=jemalloc|system
. "${KDSTREAM_HOME:-/opt/kdstream}/allocator.sh"
kdstream_allocator
# shellcheck disable=SC2086 # KDSTREAM_JAVA_OPTS is a list of flags
# the services run without the broker jars (lib/broker/); every other command gets them
jar="${KDSTREAM_HOME:-/opt/kdstream}/kdstream.jar"
case "${1:-}" in
  teacher|student) cp="$jar" ;;
  *) cp="$jar:${KDSTREAM_HOME:-/opt/kdstream}/lib/broker/*" ;;
esac
exec "${JAVA:-java}" -Dai.djl.offline="$offline" ${KDSTREAM_JAVA_OPTS:-} -cp "$cp" io.kdstream.cli.KdstreamCommand "$@"
