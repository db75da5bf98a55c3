"""The VkD objective in PyTorch (DESIGN.md §3), the same math as kdstream's Java student:
orthogonal projection of the (optionally standardized) student embedding into the teacher's
feature space, L2 or smooth-L1 feature loss, cross-entropy with label smoothing and logit KD,
``total = ce + alpha * feature + gamma * kd``.

The losses are sums divided by the *global* batch size, not means over this rank's slice: with
DDP (which averages gradients over ranks) ``VkdLoss(world_size=W)`` multiplies by W, so the
gradient is that of the whole teacher batch whatever the number of ranks and however unevenly
the batch splits. On one rank it is the plain mean the Java student computes.
"""
import math
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
    feature: torch.Tensor  # with several teachers: the weighted sum over them
    kd: torch.Tensor
    teacher_features: list = None  # JointVkdLoss: each teacher's unweighted feature loss, in teacher order


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
        log_pt = None
        if teacher_logits is not None and self.gamma != 0:
            log_pt = F.log_softmax(teacher_logits.detach() / self.temperature, dim=1)
        return self._combine(self._feature(projected, teacher, b), student_logits, labels, log_pt, b)

    def _feature(self, projected, teacher, b):
        if self.feature_loss == "l2":
            feature = (projected - teacher).square().sum()
        else:
            feature = F.smooth_l1_loss(projected, teacher, reduction="sum", beta=1.0)
        return feature / (b * teacher.shape[1])

    def _combine(self, feature, student_logits, labels, teacher_log_probs, b):
        """ce + alpha * feature + gamma * kd, kd against the soft target exp(teacher_log_probs) (None: 0)."""
        zero = feature * 0
        ce = zero
        if student_logits is not None:
            ce = F.cross_entropy(student_logits, labels, reduction="sum", label_smoothing=self.label_smoothing) / b
        kd = zero
        if teacher_log_probs is not None:
            t = self.temperature
            log_ps = F.log_softmax(student_logits / t, dim=1)
            kd = (teacher_log_probs.exp() * (teacher_log_probs - log_ps)).sum() * (t * t / b)
        total = ce + self.alpha * feature + self.gamma * kd
        return LossBreakdown(total * self.world_size, ce, feature, kd)


class JointVkdLoss(VkdLoss):
    """Several teachers, one student (issue 39), as kdstream's Java student computes it:
    ``ce + alpha * sum_i weights[i] * feature_i + gamma * kd``, where feature_i compares the student's
    projection for teacher i (one ``VkdHead`` per teacher) with that teacher's features, and kd
    distills teacher ``logits_from``'s softened probabilities or, with ``"mean"``, the average of
    softmax(y_i / T) over the teachers whose logits are given (``None`` entries have none).
    Weights are used as given (``>= 0``, not all 0)."""

    def __init__(self, weights, logits_from="mean", **loss):
        super().__init__(**loss)
        self.weights = [float(w) for w in weights]
        if not self.weights or any(not w >= 0 for w in self.weights) or not any(self.weights):
            raise ValueError("teacher weights must be >= 0 and not all 0, got %r" % (weights,))
        if logits_from != "mean" and logits_from not in range(len(self.weights)):
            raise ValueError("logits_from must be mean or a teacher index < %d, got %r" % (len(self.weights), logits_from))
        self.logits_from = logits_from

    def forward(self, projected, teachers, student_logits, labels, teacher_logits=None, global_batch=None):
        if len(projected) != len(self.weights) or len(teachers) != len(self.weights):
            raise ValueError("need one projection and one teacher batch per weight (%d)" % len(self.weights))
        b = projected[0].shape[0] if global_batch is None else global_batch
        features = [self._feature(p, t, b) for p, t in zip(projected, teachers)]
        feature = sum(w * f for w, f in zip(self.weights, features))
        given = list(teacher_logits or [None] * len(self.weights))
        chosen = [l for l in given if l is not None] if self.logits_from == "mean" else [given[self.logits_from]]
        chosen = [l for l in chosen if l is not None]
        log_pt = None
        if chosen and self.gamma != 0:
            each = torch.stack([F.log_softmax(l.detach() / self.temperature, dim=1) for l in chosen])
            log_pt = torch.logsumexp(each, 0) - math.log(len(chosen))  # log of the mean probability
        out = self._combine(feature, student_logits, labels, log_pt, b)
        out.teacher_features = features
        return out


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
