#!/usr/bin/env bash
# Issue 37's 224x224 teacher row: a ResNet-18-shaped TorchScript teacher (d_t = 512) publishing one epoch
# of an ImageNet-shaped corpus (`kdstream teacher --image-size 224 --augment rrc+flip --inputs reference`,
# whole process, launch to exit, embedded broker in its own JVM) against PyTorch's DataLoader (Pillow +
# torchvision rrc+flip, the same number of worker processes) + the same model's forward on the same
# files, both on the machine's two cores, one intra-op thread each, repetitions interleaved.
#
#   benchmarks/teacher-224.sh [IMAGES=2000] [DATA_WORKERS=1] [REPS=1] [KDSTREAM_HOME=.]
#
# PyTorch is timed two ways: its loop alone (first batch request to last forward) and its whole process
# (interpreter start to exit). kdstream: launch to exit, and from the log launch -> "serving".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
images=${1:-2000} workers=${2:-1} reps=${3:-1} home=$(cd "${4:-$root}" && pwd)
work=$(mktemp -d /tmp/kdstream-teacher224-XXXXXX)
python=/usr/bin/python3
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
torch_env=(OMP_NUM_THREADS=1)
[ -f "$jemalloc" ] && torch_env+=(LD_PRELOAD="$jemalloc" MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1)

. "$root/benchmarks/broker.sh"
"$home/bin/kdstream" corpus --out "$work/corpus" --images "$images" --test-images 0 --classes 100 > /dev/null
"$python" "$root/benchmarks/python/resnet18_224.py" trace "$work/r18.pt"
start_broker "$home" "$work"
echo "teacher-224: $images JPEGs ~500x375 q90, batch 128, $workers data worker(s), broker $bootstrap; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$reps"); do
  t0=$(date +%s.%N)
  out=$(env "${torch_env[@]}" "$python" "$root/benchmarks/python/resnet18_224.py" peer "$work/corpus/train" \
    "$work/r18.pt" "$workers" 2>/dev/null | tail -n 1)
  t1=$(date +%s.%N)
  echo "   pytorch: $out, whole process $(echo "$images / ($t1 - $t0)" | bc -l | xargs printf '%.2f') images/s"
  run="r18-$RANDOM$RANDOM"
  t0=$(date +%s.%N)
  env OMP_NUM_THREADS=1 KDSTREAM_JAVA_OPTS="-Xmx2g -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1" \
    "$home/bin/kdstream" teacher --run "$run" --bootstrap-servers "$bootstrap" --teacher "$work/r18.pt" \
    --teacher-outputs features,logits --dataset "$work/corpus" --image-size 224 --augment rrc+flip \
    --inputs reference --data-workers "$workers" --input-mean 0.485,0.456,0.406 --input-std 0.229,0.224,0.225 \
    --epochs 1 --batch-size 128 --norm layer --progress-interval 0 --device cpu > "$work/$run.log" 2>&1 \
    || { tail -n 20 "$work/$run.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  "$python" - "$images" "$t0" "$t1" "$work/$run.log" <<'PY'
import datetime, json, sys
images, t0, t1, log = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
lines = open(log).read().splitlines()
day = datetime.datetime.fromtimestamp(t0, datetime.timezone.utc).date()
serving = next(l for l in lines if "serving run" in l)
ts = datetime.datetime.combine(day, datetime.time.fromisoformat(serving[:12]), datetime.timezone.utc).timestamp()
result = [json.loads(l) for l in lines if l.startswith('{"event":"result"')][-1]
print(f"  kdstream: {images / (t1 - t0):.2f} images/s whole process (wall {t1 - t0:.1f} s), launch->serving "
      f"{ts - t0:.2f} s, forward alone {result['samples'] / result['forward_seconds']:.2f} images/s")
PY
done
