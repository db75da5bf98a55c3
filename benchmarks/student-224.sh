#!/usr/bin/env bash
# Issue 37's student row: a student in --inputs reference mode at 224x224 (it reads and decodes the
# corpus itself, rrc+flip rebuilt from the records' crop boxes, on --data-workers threads ahead of its
# step, checksums checked) against the same student fed inline (the teacher's uint8 inputs in every
# record). One cheap TorchScript teacher publishes both runs first; then the two students run one after
# the other, REPS times interleaved, on the machine's two cores with the broker in its own JVM.
#
#   benchmarks/student-224.sh [IMAGES=1280] [ARCH=mlp] [REPS=1] [KDSTREAM_HOME=.]
#   STUDENT224_JFR=DIR benchmarks/student-224.sh ...   # also records each student with JDK Flight Recorder
#                                                      # into DIR/student-MODE-REP.jfr (both sides alike)
#
# Rate: training steps per second between the student's progress lines (one a second, timestamped as
# they arrive), from its 4th step to its last, and the whole process from launch to exit.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
images=${1:-1280} arch=${2:-mlp} reps=${3:-1} home=$(cd "${4:-$root}" && pwd)
batch=64 # inline records carry 64 x 3 x 224 x 224 bytes (9.6 MB), under the 16 MB record limit
work=$(mktemp -d /tmp/kdstream-student224-XXXXXX)
python=/usr/bin/python3
single="-Xmx2g -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1"

. "$root/benchmarks/broker.sh"
"$home/bin/kdstream" corpus --out "$work/corpus" --images "$images" --test-images 64 --classes 100 > /dev/null
"$python" "$root/benchmarks/python/resnet18_224.py" tiny "$work/tiny.pt"
start_broker "$home" "$work"
for mode in inline reference; do
  env OMP_NUM_THREADS=1 KDSTREAM_JAVA_OPTS="$single" "$home/bin/kdstream" teacher --run "s224-$mode" \
    --bootstrap-servers "$bootstrap" --teacher "$work/tiny.pt" --teacher-outputs features,logits \
    --dataset "$work/corpus" --image-size 224 --augment rrc+flip --inputs "$mode" --data-workers 2 \
    --input-mean 0.485,0.456,0.406 --input-std 0.229,0.224,0.225 --epochs 1 --batch-size $batch --norm layer \
    --progress-interval 0 --device cpu > "$work/teacher-$mode.log" 2>&1 || { tail -n 20 "$work/teacher-$mode.log" >&2; exit 1; }
done
echo "student-224: $images JPEGs, batch $batch, --arch $arch, 1 data worker; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$reps"); do
  for mode in inline reference; do
    workers=()
    [ "$mode" = reference ] && workers=(--data-workers 1)
    opts=$single
    [ -n "${STUDENT224_JFR:-}" ] && opts="$opts -XX:StartFlightRecording=filename=$STUDENT224_JFR/student-$mode-$r.jfr"
    echo "$mode $r: load $(cut -d' ' -f1-3 /proc/loadavg) at start"
    t0=$(date +%s.%N)
    env OMP_NUM_THREADS=1 KDSTREAM_JAVA_OPTS="$opts" "$home/bin/kdstream" student --run "s224-$mode" \
      --group "g-$mode-$r" --checkpoint-dir "$work/ckpt-$mode-$r" --arch "$arch" --bootstrap-servers "$bootstrap" \
      --progress-interval 1s --device cpu "${workers[@]}" 2>"$work/student-$mode-$r.err" \
      | while IFS= read -r line; do echo "$(date +%s.%N) $line"; done > "$work/student-$mode-$r.out" \
      || { tail -n 20 "$work/student-$mode-$r.err" >&2; exit 1; }
    t1=$(date +%s.%N)
    "$python" - "$mode" "$t0" "$t1" "$work/student-$mode-$r.out" <<'PY'
import json, sys
mode, t0, t1, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
steps = []
for line in open(out):
    at, _, text = line.partition(" ")
    if text.startswith("{"):
        e = json.loads(text)
        if e.get("event") == "progress":
            steps.append((float(at), e["step"], e["trained"]))
warm = [s for s in steps if s[1] >= 4]
rate = (warm[-1][1] - warm[0][1]) / (warm[-1][0] - warm[0][0]) if len(warm) > 1 and warm[-1][0] > warm[0][0] else float("nan")
print(f"{mode:>10}: {rate:.3f} steps/s (steps {warm[0][1] if warm else '-'}..{warm[-1][1] if warm else '-'}), "
      f"whole process {t1 - t0:.1f} s, {steps[-1][2] if steps else 0} batches")
PY
  done
done
echo "student-224: done; load $(cut -d' ' -f1-3 /proc/loadavg)"
