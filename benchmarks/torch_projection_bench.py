#!/usr/bin/python3
"""Times PyTorch's orthogonal parametrization (what the official VkD code uses) on the same step as
io.kdstream.benchmarks.ProjectionBenchmark: forward, MSE loss, backward, float32, batch 256.

  /usr/bin/python3 benchmarks/torch_projection_bench.py [--threads 1] [--iters 3] [--dims 192,384]

Needs an optimized BLAS: Debian's torch falls back to the reference BLAS unless libopenblas0-pthread
is installed (check the printed BLAS line).
"""
import argparse
import statistics
import time

import torch
from torch.nn.utils.parametrizations import orthogonal


def step(lin, student, teacher):
    out = lin(student)
    loss = torch.nn.functional.mse_loss(out, teacher)
    loss.backward()
    lin.parametrizations.weight.original.grad = None
    return loss.item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--dims", default="192,384")
    ap.add_argument("--teacher-dim", type=int, default=3024)
    ap.add_argument("--maps", default="matrix_exp,cayley")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    with open("/proc/self/maps") as f:
        blas = sorted({l.split()[-1] for l in f if "blas" in l.lower() or "lapack" in l.lower()})
    print("BLAS/LAPACK loaded:", ", ".join(blas) or "none found")
    for d_s in [int(d) for d in args.dims.split(",")]:
        for omap in args.maps.split(","):
            lin = orthogonal(torch.nn.Linear(d_s, args.teacher_dim, bias=False), orthogonal_map=omap)
            with torch.no_grad():
                lin.parametrizations.weight.original.add_(0.05 * torch.randn_like(lin.parametrizations.weight.original))
            student = torch.randn(256, d_s)
            teacher = torch.randn(256, args.teacher_dim)
            for _ in range(args.warmup):
                step(lin, student, teacher)
            times = []
            for _ in range(args.iters):
                t0 = time.perf_counter()
                step(lin, student, teacher)
                times.append((time.perf_counter() - t0) * 1000)
            print(f"torch {omap:10s} {d_s}->{args.teacher_dim}: median {statistics.median(times):.1f} ms "
                  f"(runs: {', '.join(f'{t:.0f}' for t in times)})", flush=True)


if __name__ == "__main__":
    main()
