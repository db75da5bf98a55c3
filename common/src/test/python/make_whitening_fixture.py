#!/usr/bin/python3
"""Golden fixture for io.kdstream.vkd.CalibratedWhitening, computed with PyTorch's eigh in float64.

Run from the repository root:  /usr/bin/python3 common/src/test/python/make_whitening_fixture.py
Writes common/src/test/resources/vkd/whitening.safetensors: calibration features X [n, d] (F32,
correlated, with a large common offset and one dead dimension), and the references mean, W =
(Sigma + eps I)^(-1/2) (ZCA) and eps = shrinkage * tr(Sigma) / d, in F64.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_vkd_fixtures import OUT, save  # noqa: E402


def whitening_case(n=96, d=24, shrinkage=1e-2, seed=5):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=g, dtype=torch.float64) / d ** 0.5
    x = torch.randn(n, d, generator=g, dtype=torch.float64) @ mix + 3.0  # offset: the mean dominates
    x[:, 7] = 1.5  # a dead unit: zero variance, only the shrinkage keeps W finite
    x = x.float().double()  # the stored F32 input is exact in both dtypes
    mean = x.mean(0)
    xc = x - mean
    cov = xc.T @ xc / n
    eps = shrinkage * torch.trace(cov) / d
    evals, evecs = torch.linalg.eigh(cov)
    w = evecs @ torch.diag((evals.clamp(min=0) + eps).rsqrt()) @ evecs.T
    save("whitening", {"X": x.float(), "mean": mean, "W": w, "eps": eps.reshape(1)},
         {"shrinkage": shrinkage, "torch": torch.__version__})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    whitening_case()
