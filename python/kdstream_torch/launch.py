"""A minimal stand-in for ``torchrun`` on one machine or several, for installs where torchrun
itself fails (Debian's torch 1.13: ``torchrun`` dies in ``elastic/multiprocessing/api.py``
``to_map`` before starting a worker). It sets torchrun's variables (RANK, LOCAL_RANK,
WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and starts one process per local rank:

    python3 -m kdstream_torch.launch --nproc-per-node 2 train.py --run ... --bootstrap-servers ...
    # several machines: the same on each, with --nnodes N --node-rank R --master-addr HOST

When a rank fails the others are stopped and the launcher exits with its code; when the launcher
dies (even by kill -9) its ranks get SIGKILL from the kernel (PR_SET_PDEATHSIG). No restarts, no
elasticity: restart the job from its last checkpoint.
"""
import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time


def _die_with_parent():
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1)
    ap.add_argument("--nnodes", type=int, default=1)
    ap.add_argument("--node-rank", "--node_rank", type=int, default=0)
    ap.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    ap.add_argument("--master-port", "--master_port", type=int, default=29500)
    ap.add_argument("script")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    world = a.nnodes * a.nproc_per_node
    procs = []
    for local in range(a.nproc_per_node):
        env = dict(os.environ, RANK=str(a.node_rank * a.nproc_per_node + local), LOCAL_RANK=str(local),
                   WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(a.nproc_per_node), MASTER_ADDR=a.master_addr,
                   MASTER_PORT=str(a.master_port))
        env.setdefault("OMP_NUM_THREADS", "1")  # as torchrun: ranks share the cores
        procs.append(subprocess.Popen([sys.executable, a.script] + a.args, env=env, preexec_fn=_die_with_parent))

    def stop(signum, _frame):
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while any(p.poll() is None for p in procs):
        failed = [p.returncode for p in procs if p.returncode not in (None, 0)]
        if failed:
            code = failed[0]
            stop(signal.SIGTERM, None)
            deadline = time.monotonic() + 30
            while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
                time.sleep(0.1)
            for p in procs:
                if p.poll() is None:
                    p.kill()
            break
        time.sleep(0.1)
    codes = [p.wait() for p in procs]
    return code or next((c for c in codes if c != 0), 0)


if __name__ == "__main__":
    sys.exit(main())
