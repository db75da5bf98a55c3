#!/usr/bin/env bash
# Long versions of the hostile-record, disk-fault and security tests: prints the rows of the
# "Hostile records, disk faults and security" table in docs/reliability.md.
#   benchmarks/chaos-records.sh [ROUNDS [FAULT_ROUNDS]]
# ROUNDS (default 25): rounds of the 40 hostile kinds; FAULT_ROUNDS (default ROUNDS): runs of the
# disk-fault and security tests (each run starts a broker, a student process and a tmpfs).
# The in-suite versions run the same tests once (HostileRecordsIT, CheckpointDiskFaultsIT,
# SecureClusterIT); this runs HostileRecordsIT with ROUNDS rounds of every kind and the disk and
# security tests FAULT_ROUNDS times, on the embedded broker.
set -euo pipefail
hostile_rounds="${1:-25}"
rounds="${2:-$hostile_rounds}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log="$root/benchmarks/target/chaos-records.log"
mkdir -p "$(dirname "$log")"
it() {
  mvn -B -ntp -pl student-trainer -am verify -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false \
    -Dfailsafe.failIfNoSpecifiedTests=false "$@" >>"$log" 2>&1 || { echo "FAILED: $*; see $log" >&2; return 1; }
}
: >"$log"
it -Dit.test=HostileRecordsIT -Dkdstream.hostile.repeat="$hostile_rounds"
grep -h '^| hostile records' "$log" | tail -1
for i in $(seq "$rounds"); do
  it -Dit.test='CheckpointDiskFaultsIT,SecureClusterIT'
done
skipped=$(grep -c 'Tests run: .*Skipped: [1-9]' "$log" || true)
if [ "$skipped" != 0 ]; then
  echo "$skipped test classes were skipped (see $log; the tmpfs needs root): no disk or security rows" >&2
  exit 1
fi
echo "| checkpoint directory full (tmpfs filled between two checkpoints), then restarted | $rounds | 0 | 0 | 0 | \`benchmarks/chaos-records.sh $hostile_rounds $rounds\` |"
echo "| checkpoint directory turned read-only mid-run | $rounds | 0 | 0 | 0 | \`benchmarks/chaos-records.sh $hostile_rounds $rounds\` |"
echo "| student with a wrong SCRAM password / writing features or manifest as the student principal | $rounds / $((2 * rounds)) | 0 | 0 | 0 | \`benchmarks/chaos-records.sh $hostile_rounds $rounds\` |"
