#!/usr/bin/env bash
# The teacher process against PyTorch's forward alone, for several builds or JVM options side by side
# (issue 25). Each repetition runs PyTorch's forward (forward_only.py, jemalloc) and then every
# configuration, interleaved, each `kdstream teacher --teacher teacher.pt` on core 0 with the broker
# on core 1, as benchmarks/pipeline.sh's PyTorch section does.
#
#   benchmarks/teacher-jvm.sh IMAGES REPS NAME=KDSTREAM_HOME[:JAVA_OPTS] ...
#   benchmarks/teacher-jvm.sh 60000 2 default=. c1=.:-XX:TieredStopAtLevel=1 cds=.:CDS
#   benchmarks/teacher-jvm.sh 1280 5 before=/tmp/old after=.      # two builds: start-up and end of a pass
#
# CDS in JAVA_OPTS stands for a class-data-sharing archive of that home, made first by one short run.
# Per run: images/s from launch to exit, launch -> "serving" (log), serving -> exit, the forward alone
# (its forward_seconds), and the process's CPU time.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
images=$1 reps=$2
shift 2
work=$(mktemp -d /tmp/kdstream-teacher-jvm-XXXXXX)
python=/usr/bin/python3
mnist=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
torch_env=(OMP_NUM_THREADS=1 LD_PRELOAD="$jemalloc" MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1)
single_thread="-Xmx1g -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1"

taskset -c 1 "$root/bin/kdstream" broker --port 0 --clean --data-dir "$work/kafka" > "$work/broker.log" 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null; wait $broker 2>/dev/null || true' EXIT
until grep -q '^bootstrap.servers=' "$work/broker.log"; do
  kill -0 $broker 2>/dev/null || { cat "$work/broker.log" >&2; exit 1; }
  sleep 0.2
done
bootstrap=$(grep -m1 '^bootstrap.servers=' "$work/broker.log" | cut -d= -f2)
"$python" "$root/benchmarks/python/resnet_teacher.py" "$work/teacher.pt"

# one teacher process: NAME HOME JAVA_OPTS LIMIT; prints its line
teacher() {
  local name=$1 home=$2 opts=$3 limit=$4 run log t0 t1
  run="$name-$RANDOM$RANDOM"
  log="$work/$run.log"
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$work/time" env OMP_NUM_THREADS=1 KDSTREAM_JAVA_OPTS="$single_thread $opts" \
    taskset -c 0 "$home/bin/kdstream" teacher --run "$run" --bootstrap-servers "$bootstrap" \
    --teacher "$work/teacher.pt" --train-limit "$limit" --epochs 1 --batch-size 128 --logits --augment flip \
    --norm layer --progress-interval 0 --device cpu > "$log" 2>&1 || { tail -n 20 "$log" >&2; exit 1; }
  t1=$(date +%s.%N)
  "$python" - "$name" "$limit" "$t0" "$t1" "$log" "$work/time" <<'PY'
import datetime, json, re, sys
name, limit, t0, t1, log, cpu = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
lines = open(log).read().splitlines()
day = datetime.datetime.fromtimestamp(t0, datetime.timezone.utc).date()
def at(pattern):
    line = next(l for l in lines if pattern in l)
    t = datetime.time.fromisoformat(line[:12])
    return datetime.datetime.combine(day, t, datetime.timezone.utc).timestamp()
forward = [json.loads(l)["forward_seconds"] for l in lines if l.startswith('{"event":"result"')][-1]
serving = at("serving run")
print(f"{name:>10}: {limit / (t1 - t0):6.0f} images/s whole process (wall {t1 - t0:5.1f} s), launch->serving "
      f"{serving - t0:4.2f} s, serving->exit {t1 - serving:5.2f} s, forward {limit / forward:5.0f} images/s, "
      f"cpu {sum(map(float, open(cpu).read().split())):5.1f} s")
PY
}

declare -a names homes opts
for spec in "$@"; do
  name=${spec%%=*} rest=${spec#*=}
  home=${rest%%:*} opt=""
  [ "$rest" != "$home" ] && opt=${rest#*:}
  home=$(cd "$home" && pwd)
  if [[ "$opt" == *CDS* ]]; then
    archive="$work/$name.jsa"
    teacher "$name-cds-dump" "$home" "${opt//CDS/-XX:ArchiveClassesAtExit=$archive}" 1280 > /dev/null
    opt=${opt//CDS/-XX:SharedArchiveFile=$archive}
  fi
  names+=("$name") homes+=("$home") opts+=("$opt")
done

echo "teacher-jvm: $images images, $reps repetitions, broker $bootstrap on core 1, teachers on core 0"
for r in $(seq 1 "$reps"); do
  echo "   pytorch: $(env "${torch_env[@]}" taskset -c 0 "$python" "$root/benchmarks/python/forward_only.py" \
    "$work/teacher.pt" "$mnist" 128 "$images" 2>/dev/null | tail -n 1)"
  for i in "${!names[@]}"; do
    teacher "${names[$i]}" "${homes[$i]}" "${opts[$i]}" "$images"
  done
done
rm -rf "$work"
