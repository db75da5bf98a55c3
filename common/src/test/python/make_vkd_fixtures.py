#!/usr/bin/python3
"""Golden fixtures for io.kdstream.vkd, computed with PyTorch (Debian's torch 1.13 is enough).

Run from the repository root:  /usr/bin/python3 common/src/test/python/make_vkd_fixtures.py
Writes common/src/test/resources/vkd/*.safetensors. Inputs are float32-representable values stored
as F32 (exact in both dtypes); references are computed in float64 and stored as F64, so the Java
tests compare float64 to 1e-9 and float32 to 1e-4 against the same truth.
"""
import json
import os
import struct

import torch
import torch.nn.functional as F
from torch.nn.utils.parametrizations import orthogonal

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "vkd")
_DT = {torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8"), torch.int64: ("I64", "<i8")}


def save(name, tensors, meta):
    header, blobs, off = {}, [], 0
    for key, t in tensors.items():
        t = t.detach().contiguous().cpu()
        code, _ = _DT[t.dtype]
        data = t.numpy().astype(_DT[t.dtype][1]).tobytes()
        header[key] = {"dtype": code, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def f32(t):
    """Round to float32 so the stored input is exact in both dtypes, then compute in float64."""
    return t.float().double()


def projection_case(name, d_s, d_t, omap, scale, batch, seed, with_base):
    g = torch.Generator().manual_seed(seed)
    lin = torch.nn.Linear(d_s, d_t, bias=False).double()
    orthogonal(lin, orthogonal_map=omap)  # PyTorch's own init: base = QR-orthogonalized [W | randn], original = -Id
    param = lin.parametrizations.weight
    x = f32(torch.randn(d_t, d_s, generator=g, dtype=torch.float64) * scale)
    tensors = {"X": x.float()}
    with torch.no_grad():
        param.original.copy_(x)
        if with_base:
            param[0].base.copy_(f32(param[0].base))
            tensors["base"] = param[0].base.float()
        else:
            n = max(d_s, d_t)
            param[0].base.copy_(torch.eye(n, dtype=torch.float64))
    student = f32(torch.randn(batch, d_s, generator=g, dtype=torch.float64)).requires_grad_(True)
    teacher = f32(torch.randn(batch, d_t, generator=g, dtype=torch.float64))
    proj = lin(student)
    loss = F.mse_loss(proj, teacher)
    loss.backward()
    P = lin.weight.detach()
    tensors.update({
        "student": student.detach().float(), "teacher": teacher.float(),
        "P": P, "projected": proj.detach(), "loss": loss.detach().reshape(()),
        "grad_X": param.original.grad, "grad_student": student.grad,
    })
    save(name, tensors, {"map": omap, "d_s": d_s, "d_t": d_t})


def normalizer_case():
    g = torch.Generator().manual_seed(7)
    x = f32(torch.randn(32, 24, generator=g, dtype=torch.float64) * 3 + 1.5)
    layer = F.layer_norm(x, (24,))  # eps 1e-5, no affine
    batch = F.batch_norm(x, None, None, training=True, eps=1e-5)  # biased variance, no affine
    save("normalizers", {"features": x.float(), "layer": layer, "batch": batch}, {"eps": 1e-5})


def loss_case():
    g = torch.Generator().manual_seed(11)
    b, d, c = 16, 40, 10
    proj = f32(torch.randn(b, d, generator=g, dtype=torch.float64) * 1.5).requires_grad_(True)
    teach = f32(torch.randn(b, d, generator=g, dtype=torch.float64))
    s_logits = f32(torch.randn(b, c, generator=g, dtype=torch.float64) * 2).requires_grad_(True)
    t_logits = f32(torch.randn(b, c, generator=g, dtype=torch.float64) * 2)
    labels = torch.randint(0, c, (b,), generator=g)
    temp, ls, alpha, gamma = 4.0, 0.1, 0.7, 0.5
    l2 = F.mse_loss(proj, teach)
    sl1 = F.smooth_l1_loss(proj, teach, beta=1.0)
    ce = F.cross_entropy(s_logits, labels)
    ce_ls = F.cross_entropy(s_logits, labels, label_smoothing=ls)
    kd = temp ** 2 * F.kl_div(F.log_softmax(s_logits / temp, 1), F.log_softmax(t_logits / temp, 1),
                              reduction="batchmean", log_target=True)
    total = ce_ls + alpha * sl1 + gamma * kd
    total.backward()
    save("losses", {
        "projected": proj.detach().float(), "teacher": teach.float(),
        "student_logits": s_logits.detach().float(), "teacher_logits": t_logits.float(), "labels": labels,
        "l2": l2.detach().reshape(()), "smooth_l1": sl1.detach().reshape(()), "ce": ce.detach().reshape(()),
        "ce_smoothed": ce_ls.detach().reshape(()), "kd": kd.detach().reshape(()),
        "total": total.detach().reshape(()),
        "grad_projected": proj.grad, "grad_student_logits": s_logits.grad,
    }, {"temperature": temp, "label_smoothing": ls, "alpha": alpha, "gamma": gamma, "feature_loss": "smooth_l1"})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)  # PyTorch's own base init draws from the global generator
    for omap in ("matrix_exp", "cayley"):
        # square with a large-norm X: exercises scaling and squaring; PyTorch-initialized base
        projection_case(f"proj_square_{omap}", 48, 48, omap, 0.5, 8, 1, True)
        projection_case(f"proj_tall_small_{omap}", 24, 40, omap, 0.3, 8, 2, True)
        projection_case(f"proj_wide_small_{omap}", 40, 24, omap, 0.3, 8, 3, True)
        projection_case(f"proj_tall_{omap}", 192, 768, omap, 0.05, 16, 4, False)
        projection_case(f"proj_wide_{omap}", 768, 192, omap, 0.05, 16, 5, False)
    normalizer_case()
    loss_case()
