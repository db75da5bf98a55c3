#!/usr/bin/python3
"""Golden fixtures for io.kdstream.vkd, computed with PyTorch (Debian's torch 1.13 is enough).

Run from the repository root:  /usr/bin/python3 common/src/test/python/make_vkd_fixtures.py [joint]
(``joint``: only the several-teacher fixtures, joint_*.safetensors).
Writes common/src/test/resources/vkd/*.safetensors. Inputs are float32-representable values stored
as F32 (exact in both dtypes); references are computed in float64 and stored as F64, so the Java
tests compare float64 to 1e-9 and float32 to 1e-4 against the same truth.
"""
import json
import os
import struct
import sys

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


def joint_case(name, d_s, dts, omap, weights, logits_from, has_logits, floss, alpha, gamma, temp, ls, seed):
    """Several teachers (issue 39): ce + alpha * sum_i w_i * feature(P_i s, t_i) + gamma * kd, where kd
    distills teacher logits_from's softened probabilities or (logits_from "mean") their average over
    the teachers that have logits. One orthogonal P_i (PyTorch-initialized base) per teacher."""
    g = torch.Generator().manual_seed(seed)
    b, c = 12, 7
    student = f32(torch.randn(b, d_s, generator=g, dtype=torch.float64) * 1.3).requires_grad_(True)
    s_logits = f32(torch.randn(b, c, generator=g, dtype=torch.float64) * 2).requires_grad_(True)
    labels = torch.randint(0, c, (b,), generator=g)
    tensors, params, features, probs = {}, [], [], {}
    feature = 0
    for i, d_t in enumerate(dts):
        lin = torch.nn.Linear(d_s, d_t, bias=False).double()
        orthogonal(lin, orthogonal_map=omap)
        param = lin.parametrizations.weight
        with torch.no_grad():
            param.original.copy_(f32(torch.randn(d_t, d_s, generator=g, dtype=torch.float64) * 0.3))
            param[0].base.copy_(f32(param[0].base))
        teacher = f32(torch.randn(b, d_t, generator=g, dtype=torch.float64))
        proj = lin(student)
        f = F.mse_loss(proj, teacher) if floss == "l2" else F.smooth_l1_loss(proj, teacher, beta=1.0)
        feature = feature + weights[i] * f
        features.append(f)
        params.append(param)
        tensors.update({f"X{i}": param.original.detach().float(), f"base{i}": param[0].base.detach().float(),
                        f"teacher{i}": teacher.float(), f"P{i}": lin.weight.detach()})
        if has_logits[i]:
            t_logits = f32(torch.randn(b, c, generator=g, dtype=torch.float64) * 2)
            tensors[f"teacher_logits{i}"] = t_logits.float()
            probs[i] = F.softmax(t_logits / temp, dim=1)
    target = probs[logits_from] if logits_from != "mean" else torch.stack(list(probs.values())).mean(0)
    kd = temp ** 2 * F.kl_div(F.log_softmax(s_logits / temp, 1), target, reduction="batchmean")
    ce = F.cross_entropy(s_logits, labels, label_smoothing=ls)
    total = ce + alpha * feature + gamma * kd
    total.backward()
    tensors.update({"student": student.detach().float(), "student_logits": s_logits.detach().float(),
                    "labels": labels, "ce": ce.detach().reshape(()), "kd": kd.detach().reshape(()),
                    "feature": feature.detach().reshape(()), "total": total.detach().reshape(()),
                    "features": torch.stack([f.detach() for f in features]),
                    "grad_student": student.grad, "grad_student_logits": s_logits.grad})
    for i, param in enumerate(params):
        tensors[f"grad_X{i}"] = param.original.grad
    save(name, tensors, {"map": omap, "teachers": len(dts), "weights": ",".join(map(str, weights)),
                         "logits_from": logits_from, "feature_loss": floss, "alpha": alpha, "gamma": gamma,
                         "temperature": temp, "label_smoothing": ls})


def joint_cases():
    # three teachers of different widths (wider and narrower than d_s), kd from the second one's logits
    joint_case("joint_three_from_run", 10, (16, 6, 10), "matrix_exp", (0.5, 0.3, 0.2), 1, (True, True, False),
               "l2", 1.0, 0.7, 2.0, 0.1, 21)
    # two teachers, both with logits, kd from the mean of their probabilities; weights not summing to 1
    joint_case("joint_two_mean", 12, (20, 8), "cayley", (1.5, 0.25), "mean", (True, True), "smooth_l1", 0.8, 1.0,
               3.0, 0.0, 22)
    # three teachers, one without logits: the mean is over the two that have them
    joint_case("joint_three_mean_partial", 9, (5, 14, 9), "matrix_exp", (0.2, 0.2, 0.6), "mean",
               (False, True, True), "l2", 1.0, 0.5, 1.5, 0.05, 23)


if __name__ == "__main__" and sys.argv[1:] == ["joint"]:  # only the issue-39 fixtures, the others untouched
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(1)
    joint_cases()
elif __name__ == "__main__":
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
    torch.manual_seed(1)
    joint_cases()
