"""The VkD objective in PyTorch (DESIGN.md §3), the same math as kdstream's Java student:
orthogonal projection of the (optionally standardized) student embedding into the teacher's
feature space, L2 or smooth-L1 feature loss, cross-entropy with label smoothing and logit KD,
``total = ce + alpha * feature + gamma * kd``.

The losses are sums divided by the *global* batch size, not means over this rank's slice: with
DDP (which averages gradients over ranks) ``VkdLoss(world_size=W)`` multiplies by W, so the
gradient is that of the whole teacher batch whatever the number of ranks and however unevenly
the batch splits. On one rank it is the plain mean the Java student computes.
"""
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrizations

EPS = 1e-5


class VkdHead(nn.Module):
    """Student embedding [n, d_s] -> projected features [n, d_t].

    projection: ``matrix_exp`` or ``cayley`` (orthogonal, ``parametrizations.orthogonal`` as the
    official VkD code), ``linear`` (unconstrained, FitNet) or ``none`` (d_s = d_t);
    student_norm: ``layer`` standardizes each embedding first (no affine, eps 1e-5), ``none``.
    """

    def __init__(self, d_s, d_t, projection="matrix_exp", student_norm="layer"):
        super().__init__()
        if student_norm not in ("layer", "none"):
            raise ValueError("student_norm must be layer or none, got %r" % student_norm)
        self.student_norm = student_norm
        if projection in ("matrix_exp", "cayley"):
            self.proj = parametrizations.orthogonal(nn.Linear(d_s, d_t, bias=False), orthogonal_map=projection)
        elif projection == "linear":
            self.proj = nn.Linear(d_s, d_t, bias=False)
        elif projection == "none":
            if d_s != d_t:
                raise ValueError("projection none needs d_s = d_t, got d_s=%d and d_t=%d" % (d_s, d_t))
            self.proj = nn.Identity()
        else:
            raise ValueError("projection must be matrix_exp, cayley, linear or none, got %r" % projection)

    def forward(self, embedding):
        if self.student_norm == "layer":
            embedding = F.layer_norm(embedding, embedding.shape[1:], eps=EPS)
        return self.proj(embedding)

    def orthogonality_error(self):
        """||PᵀP − I||_F (or ||PPᵀ − I|| when d_t < d_s); NaN for other projections."""
        if not parametrizations.parametrize.is_parametrized(self.proj):
            return float("nan")
        p = self.proj.weight
        g = p.t() @ p if p.shape[0] >= p.shape[1] else p @ p.t()
        return torch.linalg.matrix_norm(g - torch.eye(g.shape[0], device=g.device)).item()


@dataclass
class LossBreakdown:
    total: torch.Tensor    # backward() this one
    ce: torch.Tensor
    feature: torch.Tensor
    kd: torch.Tensor


class VkdLoss(nn.Module):
    def __init__(self, feature_loss="l2", alpha=1.0, gamma=0.0, temperature=1.0, label_smoothing=0.0, world_size=1):
        super().__init__()
        if feature_loss not in ("l2", "smooth_l1"):
            raise ValueError("feature_loss must be l2 or smooth_l1, got %r" % feature_loss)
        if not temperature > 0:
            raise ValueError("temperature must be positive, got %s" % temperature)
        if not 0 <= label_smoothing < 1:
            raise ValueError("label smoothing must be in [0, 1), got %s" % label_smoothing)
        self.feature_loss, self.alpha, self.gamma = feature_loss, alpha, gamma
        self.temperature, self.label_smoothing, self.world_size = temperature, label_smoothing, world_size

    def forward(self, projected, teacher, student_logits, labels, teacher_logits=None, global_batch=None):
        """``global_batch``: samples in the whole teacher batch (``Batch.size``); default this slice's."""
        b = projected.shape[0] if global_batch is None else global_batch
        diff = projected - teacher
        if self.feature_loss == "l2":
            feature = diff.square().sum()
        else:
            feature = F.smooth_l1_loss(projected, teacher, reduction="sum", beta=1.0)
        feature = feature / (b * teacher.shape[1])
        zero = feature * 0
        ce = zero
        if student_logits is not None:
            ce = F.cross_entropy(student_logits, labels, reduction="sum", label_smoothing=self.label_smoothing) / b
        kd = zero
        if teacher_logits is not None and self.gamma != 0:
            t = self.temperature
            log_ps = F.log_softmax(student_logits / t, dim=1)
            log_pt = F.log_softmax(teacher_logits.detach() / t, dim=1)
            kd = (log_pt.exp() * (log_pt - log_ps)).sum() * (t * t / b)
        total = ce + self.alpha * feature + self.gamma * kd
        return LossBreakdown(total * self.world_size, ce, feature, kd)


class Distiller(nn.Module):
    """The student and its VkD head as one module, for DistributedDataParallel:
    ``forward(x)`` returns (projected features [n, d_t], student logits [n, classes])."""

    def __init__(self, student, head, outputs="features,logits"):
        super().__init__()
        self.student, self.head = student, head
        self.logits_first = outputs == "logits,features"

    def forward(self, x):
        out = self.student(x)
        features, logits = (out[1], out[0]) if self.logits_first else (out[0], out[1])
        return self.head(features), logits
