#!/usr/bin/env python3
"""Writes the inputs and kdstream_torch's VkD losses for a few configurations to OUT.safetensors,
for the Java student's implementation to recompute (PythonVkdLossTest): both must agree to 1e-5.
Also the feature loss alone and its gradients (grad_X, grad_student) for `kdstream vkd-eval`, and
joint_*: several teachers (JointVkdLoss, one VkdHead each) with the gradients of every projector.

    PYTHONPATH=python /usr/bin/python3 python/tests/loss_fixture.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from kdstream_torch import JointVkdLoss, VkdHead, VkdLoss, wire  # noqa: E402

CONFIGS = [  # name, projection, feature loss, alpha, gamma, temperature, label smoothing, d_s, d_t
    ("exp_l2", "matrix_exp", "l2", 1.0, 1.0, 2.0, 0.1, 12, 20),
    ("cayley_smoothl1", "cayley", "smooth_l1", 0.5, 0.7, 1.5, 0.0, 20, 12),
]

JOINT = [  # name, projection, feature loss, d_s, [(d_t, weight, has logits)], logits_from, alpha, gamma, T, label smoothing
    ("joint_exp_from_run", "matrix_exp", "l2", 12, [(20, 0.6, True), (7, 0.3, True), (12, 0.1, False)], 1,
     1.0, 0.8, 2.0, 0.1),
    ("joint_cayley_mean", "cayley", "smooth_l1", 16, [(24, 1.0, True), (9, 0.5, True)], "mean", 0.7, 1.2, 3.0, 0.0),
]


def joint(out, name, proj, floss, d_s, teachers, logits_from, alpha, gamma, temp, ls):
    """Several teachers: one VkdHead per teacher on the same embedding, JointVkdLoss over them."""
    torch.manual_seed(11)
    b, classes = 9, 5
    heads, tensors = [], {}
    for i, (d_t, _, _) in enumerate(teachers):
        head = VkdHead(d_s, d_t, proj, student_norm="layer")
        orth = head.proj.parametrizations.weight
        with torch.no_grad():
            orth.original.copy_(torch.randn_like(orth.original) * 0.3)
        tensors["X%d" % i] = orth.original
        tensors["base%d" % i] = orth[0].base if hasattr(orth[0], "base") else torch.eye(max(d_s, d_t))
        heads.append(head)
    emb = (torch.randn(b, d_s) * 2 + 0.5).requires_grad_()
    s_logits = (torch.randn(b, classes) * 3).requires_grad_()
    labels = torch.randint(0, classes, (b,))
    feats = [torch.nn.functional.layer_norm(torch.randn(b, d_t), (d_t,)) for d_t, _, _ in teachers]
    t_logits = [torch.randn(b, classes) * 3 if has else None for _, _, has in teachers]
    loss = JointVkdLoss([w for _, w, _ in teachers], logits_from, feature_loss=floss, alpha=alpha, gamma=gamma,
                        temperature=temp, label_smoothing=ls)([h(emb) for h in heads], feats, s_logits, labels, t_logits)
    loss.total.backward()
    for i, h in enumerate(heads):
        tensors["teacher%d" % i] = feats[i]
        tensors["grad_X%d" % i] = h.proj.parametrizations.weight.original.grad
        if t_logits[i] is not None:
            tensors["teacher_logits%d" % i] = t_logits[i]
    tensors.update({"embedding": emb, "student_logits": s_logits, "grad_embedding": emb.grad,
                    "grad_student_logits": s_logits.grad, "features": torch.stack(loss.teacher_features)})
    tensors = {k: v.detach().numpy().astype(np.float32) for k, v in tensors.items()}
    tensors["labels"] = labels.numpy().astype(np.int64)
    for k in ("total", "ce", "feature", "kd"):
        tensors["loss_" + k] = np.array([getattr(loss, k).item()], dtype=np.float64)
    meta = {"map": proj, "feature_loss": floss, "alpha": alpha, "gamma": gamma, "temperature": temp,
            "label_smoothing": ls, "teachers": len(teachers), "weights": ",".join(str(w) for _, w, _ in teachers),
            "logits_from": logits_from}
    with open(os.path.join(out, name + ".safetensors"), "wb") as f:
        f.write(wire.encode(tensors, meta))
    print(name)


def main(out):
    os.makedirs(out, exist_ok=True)
    for name, proj, floss, alpha, gamma, temp, ls, d_s, d_t in CONFIGS:
        torch.manual_seed(7)
        b, classes = 9, 5
        head = VkdHead(d_s, d_t, proj, student_norm="layer")
        orth = head.proj.parametrizations.weight
        with torch.no_grad():  # a raw parameter far from the identity, so the map is exercised
            orth.original.copy_(torch.randn_like(orth.original) * 0.3)
        base = orth[0].base if hasattr(orth[0], "base") else torch.eye(max(d_s, d_t))
        emb = torch.randn(b, d_s) * 2 + 0.5
        teacher = torch.nn.functional.layer_norm(torch.randn(b, d_t), (d_t,))
        s_logits = torch.randn(b, classes) * 3
        t_logits = torch.randn(b, classes) * 3
        labels = torch.randint(0, classes, (b,))
        loss = VkdLoss(floss, alpha=alpha, gamma=gamma, temperature=temp, label_smoothing=ls)(
            head(emb), teacher, s_logits, labels, t_logits)
        # the feature loss alone and its gradients, for `kdstream vkd-eval` (student = the standardized embedding)
        student = torch.nn.functional.layer_norm(emb, (d_s,)).detach().requires_grad_()
        feature = VkdLoss(floss)(student @ head.proj.weight.t(), teacher, None, None).feature
        feature.backward()
        t = {"X": orth.original, "base": base, "embedding": emb, "teacher": teacher, "student_logits": s_logits,
             "teacher_logits": t_logits, "P": head.proj.weight, "student": student, "grad_X": orth.original.grad,
             "grad_student": student.grad}
        tensors = {k: v.detach().numpy().astype(np.float32) for k, v in t.items()}
        tensors["labels"] = labels.numpy().astype(np.int64)
        for k in ("total", "ce", "feature", "kd"):
            tensors["loss_" + k] = np.array([getattr(loss, k).item()], dtype=np.float64)
        tensors["feature_only"] = np.array([feature.item()], dtype=np.float64)
        meta = {"map": proj, "feature_loss": floss, "alpha": alpha, "gamma": gamma, "temperature": temp,
                "label_smoothing": ls}
        with open(os.path.join(out, name + ".safetensors"), "wb") as f:
            f.write(wire.encode(tensors, meta))
        print(name)
    for case in JOINT:
        joint(out, *case)


if __name__ == "__main__":
    main(sys.argv[1])
