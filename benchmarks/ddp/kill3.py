#!/usr/bin/env python3
"""Chaos for a DDP student: kill -9 the whole examples/ddp/train.py job (launcher and every rank)
--kills times at different points of a run, restart it from its last checkpoint each time, let
it finish, and audit its --trace by the Java student's rules (StepTrace.replay): every (epoch,
batch) of the run trained exactly once in the surviving history. Prints one JSON line; exits 1 on
a lost or duplicated batch.

    PYTHONPATH=python /usr/bin/python3 benchmarks/ddp/kill3.py --run RUN --bootstrap-servers HOST:PORT
"""
import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "python"))
from kdstream_torch import read_manifest  # noqa: E402
from kdstream_torch.trace import replay  # noqa: E402


def steps(trace):
    if not os.path.exists(trace):
        return 0
    with open(trace) as f:
        return sum(1 for line in f if line.startswith("step "))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--bootstrap-servers", required=True)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--checkpoint-every", type=int, default=8)
    ap.add_argument("--work", default="kdstream-work/ddp-kill")
    a = ap.parse_args()
    m = read_manifest(a.run, a.bootstrap_servers)
    total = m["epochs"] * m["batches_per_epoch"]
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    trace, group = os.path.join(a.work, "trace"), "ddp-kill-" + uuid.uuid4().hex[:8]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    port = 29800 + os.getpid() % 100

    def job(n):
        cmd = [sys.executable, "-m", "kdstream_torch.launch", "--nproc-per-node", str(a.ranks), "--master-port",
               str(port + n), os.path.join(ROOT, "examples/ddp/train.py"), "--run", a.run, "--bootstrap-servers",
               a.bootstrap_servers, "--group", group, "--checkpoint-dir", os.path.join(a.work, "ckpt"),
               "--checkpoint-every", str(a.checkpoint_every), "--trace", trace]
        log = open(os.path.join(a.work, "job-%d.log" % n), "w")
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    # kill points spread over the run, each off a checkpoint boundary by a different amount
    points = [int(total * (i + 1) / (a.kills + 1)) + i % a.checkpoint_every for i in range(a.kills)]
    killed_at = []
    for n, at in enumerate(points):
        p = job(n)
        deadline = time.monotonic() + 300
        while steps(trace) < at and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if p.poll() is not None:
            raise SystemExit("job %d ended (exit %s) before its kill at step line %d" % (n, p.returncode, at))
        killed_at.append(steps(trace))
        os.killpg(p.pid, signal.SIGKILL)  # the launcher and every rank at once
        p.wait()
    p = job(len(points))
    if p.wait(timeout=600) != 0:
        raise SystemExit("the last job exited %d (see %s)" % (p.returncode, a.work))
    surviving, starts, rolled_back = replay(trace)
    seen = collections.Counter((e, b) for _, _, e, b in surviving)
    lost = sum(1 for e in range(m["epochs"]) for b in range(m["batches_per_epoch"]) if (e, b) not in seen)
    duplicated = sum(c - 1 for c in seen.values())
    contiguous = [s for s, _, _, _ in surviving] == list(range(1, len(surviving) + 1))
    print(json.dumps({"run": a.run, "ranks": a.ranks, "kills": len(points), "killed_at_step_lines": killed_at,
                      "starts": starts, "rolled_back_steps": rolled_back, "batches": total, "lost": lost,
                      "duplicated": duplicated, "contiguous": contiguous}), flush=True)
    return 0 if lost == 0 and duplicated == 0 and contiguous else 1


if __name__ == "__main__":
    sys.exit(main())
