#!/usr/bin/python3
"""Two teachers, one student: two teacher runs, as on two machines, and one student joining them.

    /usr/bin/python3 examples/two_teachers.py [--quick] [--work-dir DIR]

Run from the repository after `mvn -B -q -DskipTests package` (the standard library only). It

1. starts kdstream's broker (`bin/kdstream broker`; on real machines, any Kafka cluster) and trains
   two zoo teachers of different architecture and feature width (`bin/kdstream train-teacher`);
2. starts one teacher process per run, each knowing only the broker's address, as two machines
   would: run `two-cnn` carries the inputs in its records (inline) and the teacher's logits, run
   `two-mlp` sends only sample ids and seeds (`--inputs reference`), so pixels travel once;
3. trains one student joining both runs (`bin/kdstream student --run two-cnn --run two-mlp`): one
   projection per teacher, both feature losses, and the `--trace` of the steps it applied.

Prints one JSON line: what the student trained of what the runs planned, its test accuracy, and
whether its trace shows every joined batch trained exactly once. Exits 1 if not. --quick is the
small version the test suite runs (about a minute on 2 cores).
"""
import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
KDSTREAM = ROOT / "bin" / "kdstream"


def start_broker(work):
    return subprocess.Popen([str(KDSTREAM), "broker", "--port", "0", "--clean", "--data-dir", str(work / "kafka")],
                            stdout=subprocess.PIPE, stderr=open(work / "broker.log", "w"), text=True)


def await_broker(broker, work):
    """The broker's address, once it serves."""
    deadline = time.monotonic() + 120
    for line in broker.stdout:  # the broker prints its address once it serves
        if line.startswith("bootstrap.servers="):
            threading.Thread(target=broker.stdout.read, daemon=True).start()  # never let a full pipe block it
            return line.strip().split("=", 1)[1]
        if time.monotonic() > deadline:
            break
    broker.kill()
    sys.exit("two_teachers: the broker did not start; see " + str(work / "broker.log"))


def trained_once(trace, passes, epochs, batches):
    """Whether the trace's surviving steps hold every (pass, epoch, batch) exactly once (docs/reliability.md)."""
    steps = []
    for line in trace.read_text().splitlines():
        f = line.split()
        if f and f[0] == "start":
            steps = [s for s in steps if s[0] <= int(f[1])]  # steps after the checkpoint died with the process
        elif f and f[0] == "step" and len(f) == 5:
            steps.append((int(f[1]), int(f[2]), int(f[3]), int(f[4])))
    seen = sorted(s[1:] for s in steps)
    return seen == [(p, e, b) for p in range(passes) for e in range(epochs) for b in range(batches)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the short version the test suite runs")
    ap.add_argument("--work-dir", default="kdstream-work/two-teachers")
    a = ap.parse_args()
    work = pathlib.Path(a.work_dir).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    limit, epochs, teacher_epochs = (640, 1, 1) if a.quick else (5000, 5, 5)
    batch = 64

    broker = start_broker(work)  # starts while the teachers train
    # 1. two teachers of different architecture and width (cnn d = 128, mlp d = 64)
    training = {arch: subprocess.Popen([str(KDSTREAM), "train-teacher", "--arch", arch, "--epochs", str(teacher_epochs),
                                        "--train-limit", str(limit), "--test-limit", "500", "--out", str(work / arch)],
                                       stdout=subprocess.DEVNULL, stderr=open(work / ("train-" + arch + ".log"), "w"))
                for arch in ("cnn", "mlp")}
    for arch, p in training.items():
        if p.wait() != 0:
            broker.kill()
            sys.exit("two_teachers: training the %s teacher failed; see %s" % (arch, work / ("train-" + arch + ".log")))

    teachers = []
    try:
        bootstrap = await_broker(broker, work)
        # 2. one teacher per run, each on "its own machine": all they share is the broker
        plan = ["--train-limit", str(limit), "--epochs", str(epochs), "--batch-size", str(batch),
                "--bootstrap-servers", bootstrap, "--progress-interval", "0"]
        for run, arch, extra in (("two-cnn", "cnn", ["--logits"]), ("two-mlp", "mlp", ["--inputs", "reference"])):
            teachers.append(subprocess.Popen([str(KDSTREAM), "teacher", "--run", run, "--teacher", str(work / arch),
                                              *plan, *extra], stdout=subprocess.DEVNULL,
                                             stderr=open(work / (run + ".log"), "w")))
        # 3. one student joining both runs by batch key
        trace = work / "student.trace"
        student = subprocess.run(
            [str(KDSTREAM), "student", "--run", "two-cnn", "--run", "two-mlp", "--group", "joined", "--arch", "mlp",
             "--checkpoint-dir", str(work / "ckpt"), "--trace", str(trace), "--gamma", "0.5",
             "--warmup-steps", "2" if a.quick else "20",
             "--bootstrap-servers", bootstrap, "--progress-interval", "0", "--idle-timeout", "120s"],
            stdout=subprocess.PIPE, stderr=open(work / "student.log", "w"), text=True)
        for t in teachers:
            t.wait(timeout=120)
    finally:
        for t in teachers:
            t.kill()
        broker.terminate()
        broker.wait()

    events = [json.loads(line) for line in student.stdout.splitlines() if line.startswith("{")]
    results = [e for e in events if e.get("event") == "result"]
    if student.returncode != 0 or not results:
        sys.exit("two_teachers: the student exited %d; see %s" % (student.returncode, work / "student.log"))
    r = results[-1]
    once = trained_once(trace, 1, epochs, limit // batch)
    print(json.dumps({"runs": ["two-cnn", "two-mlp"], "trained": r["trained"], "total": r["total"],
                      "accuracy": r["accuracy"], "trained_once": once, "trace": str(trace)}))
    return 0 if once and r["trained"] == r["total"] else 1


if __name__ == "__main__":
    sys.exit(main())
