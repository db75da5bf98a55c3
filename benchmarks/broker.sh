# Sourced by the benchmark scripts: start_broker HOME WORK starts `kdstream broker` (its own JVM, a clean
# data dir under WORK), stops it and removes WORK on exit, and sets $bootstrap once the broker is up.
start_broker() {
  local home=$1 work=$2
  "$home/bin/kdstream" broker --port 0 --clean --data-dir "$work/kafka" > "$work/broker.log" 2>&1 &
  broker_pid=$!
  trap 'kill $broker_pid 2>/dev/null; wait $broker_pid 2>/dev/null || true; rm -rf "'"$work"'"' EXIT
  until grep -q '^bootstrap.servers=' "$work/broker.log"; do
    kill -0 $broker_pid 2>/dev/null || { cat "$work/broker.log" >&2; exit 1; }
    sleep 0.2
  done
  bootstrap=$(grep -m1 '^bootstrap.servers=' "$work/broker.log" | cut -d= -f2)
}
