"""Distillation losses as pure functions over logits, hidden states and masks.

Conventions: `student_logits` and `teacher_logits` are (B, T, V); `mask` is (B, T) with 1/True for
positions that count (typically `labels != -100`). Token-level losses sum over the vocabulary and average
over the counted positions, so they are comparable to the per-token cross-entropy the model reports.
Divergences at temperature T are multiplied by T^2 (Hinton et al. 2015) so that their gradients keep the
same scale as the hard-label loss when T changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

DIVERGENCES = ("forward", "reverse", "jsd")


def _masked_mean(per_token: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of a (B, T) tensor over the positions where mask is set (all positions when mask is None)."""
    if mask is None:
        return per_token.mean()
    m = mask.to(per_token.dtype)
    # max(.., 1): an all-masked batch contributes 0 rather than NaN.
    return (per_token * m).sum() / m.sum().clamp_min(1.0)


def hard_label_ce(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Mean cross-entropy of (B, T, V) logits against (B, T) labels, skipping `ignore_index`."""
    return F.cross_entropy(
        logits.float().reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=ignore_index
    )


def _kl_from_logprobs(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) summed over the last dim; 0 * log 0 terms count as 0."""
    p = log_p.exp()
    return torch.where(p > 0, p * (log_p - log_q), torch.zeros_like(p)).sum(-1)


def token_divergence(
    log_p_teacher: torch.Tensor, log_q_student: torch.Tensor, divergence: str = "forward", beta: float = 0.5
) -> torch.Tensor:
    """Per-position divergence between teacher and student distributions given as log-probabilities.

    forward: KL(p_T || q_S) (mode-covering, the classic KD loss); reverse: KL(q_S || p_T) (mode-seeking);
    jsd: the generalised Jensen-Shannon divergence of GKD (Agarwal et al. 2024) with mixture
    M = beta * p_T + (1 - beta) * q_S and value beta * KL(p_T || M) + (1 - beta) * KL(q_S || M);
    beta = 0.5 is the usual symmetric JSD.
    """
    if divergence == "forward":
        return _kl_from_logprobs(log_p_teacher, log_q_student)
    if divergence == "reverse":
        return _kl_from_logprobs(log_q_student, log_p_teacher)
    if divergence == "jsd":
        if not 0.0 < beta < 1.0:
            raise ValueError(
                f"jsd beta must be in (0, 1), got {beta}; use 'forward' or 'reverse' for the limits"
            )
        log_m = torch.logsumexp(
            torch.stack(
                [
                    log_p_teacher + math.log(beta),
                    log_q_student + math.log(1 - beta),
                ]
            ),
            dim=0,
        )
        return beta * _kl_from_logprobs(log_p_teacher, log_m) + (1 - beta) * _kl_from_logprobs(
            log_q_student, log_m
        )
    raise ValueError(f"unknown divergence {divergence!r}; choose from {DIVERGENCES}")


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    mask: torch.Tensor | None = None,
    temperature: float = 1.0,
    divergence: str = "forward",
    beta: float = 0.5,
) -> torch.Tensor:
    """Token-level distillation loss at `temperature`, T^2-scaled, averaged over masked positions."""
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student logits {tuple(student_logits.shape)} and teacher logits {tuple(teacher_logits.shape)} differ; "
            "teacher and student need the same vocabulary and aligned batches"
        )
    t = float(temperature)
    log_q = F.log_softmax(student_logits.float() / t, dim=-1)
    log_p = F.log_softmax(teacher_logits.float() / t, dim=-1)
    return _masked_mean(token_divergence(log_p, log_q, divergence, beta), mask) * (t * t)


def topk_kd_loss(
    student_logits: torch.Tensor,
    teacher_topk_values: torch.Tensor,
    teacher_topk_indices: torch.Tensor,
    mask: torch.Tensor | None = None,
    temperature: float = 1.0,
    divergence: str = "forward",
    beta: float = 0.5,
) -> torch.Tensor:
    """Distillation loss against a cached top-k teacher: (B, T, k) logit values and their vocabulary ids.

    The teacher distribution is its top-k logits renormalised (softmax over the k values at temperature T).
    forward: KL(p_T^k || q_S) with the student's full-vocabulary log-probabilities gathered at the k ids
    (an exact KL, since p_T^k puts no mass elsewhere). reverse / jsd: the student is also renormalised over
    the same k ids, since its mass outside them has no teacher counterpart.
    """
    t = float(temperature)
    log_p = F.log_softmax(teacher_topk_values.float() / t, dim=-1)
    idx = teacher_topk_indices.long()
    if divergence == "forward":
        log_q = F.log_softmax(student_logits.float() / t, dim=-1).gather(-1, idx)
    else:
        log_q = F.log_softmax(student_logits.float().gather(-1, idx) / t, dim=-1)
    return _masked_mean(token_divergence(log_p, log_q, divergence, beta), mask) * (t * t)


def layer_map(n_teacher: int, n_student: int) -> list[int]:
    """Which teacher layer each student layer mirrors: first and last kept, the rest spread evenly.

    The choice follows DistilBART's "shrink and fine-tune" (Shleifer & Rush 2020): e.g. 12 -> 3 gives
    [0, 6, 11] and 12 -> 1 gives [0].
    """
    if n_student < 1 or n_teacher < 1:
        raise ValueError(f"layer counts must be >= 1 (teacher {n_teacher}, student {n_student})")
    if n_student > n_teacher:
        raise ValueError(f"student has more layers ({n_student}) than the teacher ({n_teacher})")
    if n_student == 1:
        return [0]
    step = (n_teacher - 1) / (n_student - 1)
    return [int(i * step + 0.5) for i in range(n_student)]


class HiddenStateProjector(nn.Module):
    """Learned linear maps from student hidden states (width d_s) to teacher hidden states (width d_t).

    `pairs` lists (student_layer, teacher_layer) indices into the models' per-layer hidden-state lists
    (embeddings first, as `output_hidden_states=True` returns them). One projection per pair, trained
    together with the student and discarded afterwards (TinyBERT-style hidden-state transfer).
    """

    def __init__(self, d_student: int, d_teacher: int, pairs: Sequence[tuple[int, int]]):
        super().__init__()
        self.pairs = [(int(s), int(t)) for s, t in pairs]
        self.proj = nn.ModuleList(nn.Linear(d_student, d_teacher) for _ in self.pairs)

    def forward(
        self,
        student_states: Sequence[torch.Tensor],
        teacher_states: Sequence[torch.Tensor],
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean over pairs of the masked per-position MSE between projected student and teacher states."""
        losses = [
            hidden_mse(proj(student_states[s]), teacher_states[t], mask)
            for proj, (s, t) in zip(self.proj, self.pairs)
        ]
        return torch.stack(losses).mean()


def hidden_mse(
    student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean squared error per element between (B, L, d) states, averaged over the masked positions."""
    per_pos = (student.float() - teacher.float()).pow(2).mean(-1)
    return _masked_mean(per_pos, mask)


def hidden_pairs(n_student_layers: int, n_teacher_layers: int) -> list[tuple[int, int]]:
    """(student, teacher) pairs over hidden-state lists with embeddings at index 0.

    Layer i of the student (state index i + 1) matches teacher layer layer_map(...)[i]; the last layers
    always pair up so the student's final representation is aligned.
    """
    m = layer_map(n_teacher_layers, n_student_layers)
    return [(i + 1, t + 1) for i, t in enumerate(m)]


def mix_losses(terms: dict[str, torch.Tensor], weights: dict[str, float]) -> torch.Tensor:
    """Weighted sum of named loss terms; terms whose weight is 0 or missing are skipped."""
    total = None
    for name, value in terms.items():
        w = float(weights.get(name, 0.0))
        if w == 0.0:
            continue
        total = value * w if total is None else total + value * w
    if total is None:
        raise ValueError(f"every loss weight is 0 (terms {sorted(terms)}); give at least one a weight")
    return total
