#!/usr/bin/env bash
# Fault injection with real processes and signals (docs/reliability.md, "Crashes and broker faults"):
# kill -9 loops of the teacher-producer and the student-trainer, SIGTERM/kill -9 of the single broker
# mid-run and (--disk-fills N, as root: it mounts a tmpfs) the broker's log dir filled, all on
# loopback, each wait bounded. Prints the table rows of docs/reliability.md; exits 1 if any batch
# was lost or duplicated or a process crashed on its own.
#   benchmarks/chaos.sh [--teacher-kills 10] [--student-kills 10] [--broker-restarts 2] [--seed N] ...
#   (every option: bin/kdstream chaos --help; about 15 minutes with the defaults on 2 cores)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mvn -B -q -ntp -DskipTests package
exec "$root/bin/kdstream" chaos "$@"
