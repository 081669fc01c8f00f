"""Optimizer and learning-rate schedule: AdamW with decoupled weight decay, warmup then decay to a floor."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from tandem.errors import TandemError

__all__ = [
    "LRSchedule",
    "LateRead",
    "build_optimizer",
    "can_defer_norm",
    "clip_grad_norm",
    "lower_lr_advice",
    "param_groups",
]

# Settings that, this large, can make a run diverge as a high learning rate does: the advice for a loss that
# is not finite names them with --lr. AdamW's decoupled weight decay is usually 0-0.1 (tandem's defaults: 0.01
# fine-tuning, 0.1 pretraining); distillation's loss weights mix losses of order 1 (defaults 0.5, 0.5, 0)
UNUSUAL_WEIGHT_DECAY = 1.0
UNUSUAL_LOSS_WEIGHT = 10.0
LOSS_WEIGHTS = ("ce_weight", "kd_weight", "hidden_weight")  # DistillConfig's; absent from other configs


def lower_lr_advice(cfg) -> str:
    """What to lower after a loss that is not finite, by flag and value: `a lower --lr (now 0.003)`, naming
    an unusually large `weight_decay` or loss weight of `cfg` (a training config) as well:
    `a lower --lr (now 0.003) or --weight-decay (now 50, unusually large)`."""
    large = [("weight_decay", cfg.weight_decay)] if cfg.weight_decay > UNUSUAL_WEIGHT_DECAY else []
    large += [
        (name, getattr(cfg, name))
        for name in LOSS_WEIGHTS
        if getattr(cfg, name, 0) > UNUSUAL_LOSS_WEIGHT  # a weight's range is checked by its config
    ]
    shown = [f"--lr (now {cfg.lr:g})"] + [
        f"--{k.replace('_', '-')} (now {v:g}, unusually large)" for k, v in large
    ]
    return "a lower " + (shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}")


def param_groups(model: nn.Module, weight_decay: float, decay_embeddings: bool = False) -> list[dict]:
    """Split trainable parameters into a decayed group and a no-decay group.

    Biases, norm weights (every parameter of a module whose class name contains "Norm", and any 1-D
    parameter) and, unless `decay_embeddings`, embedding tables get no weight decay, as in AlexaTM.
    """
    no_decay_ids: set[int] = set()
    for module in model.modules():
        is_norm = "norm" in type(module).__name__.lower()
        is_emb = isinstance(module, nn.Embedding)
        for p in module.parameters(recurse=False):
            if is_norm or (is_emb and not decay_embeddings):
                no_decay_ids.add(id(p))
    decay, no_decay = [], []
    seen: set[int] = set()
    for p in model.parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        (no_decay if id(p) in no_decay_ids or p.ndim < 2 else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def build_optimizer(
    model: nn.Module,
    lr: float,
    weight_decay: float = 0.1,
    betas: tuple[float, float] = (0.9, 0.98),
    eps: float = 1e-8,
    decay_embeddings: bool = False,
    fused: bool | None = None,
    trainable_only: bool = False,
) -> torch.optim.AdamW:
    """AdamW over `param_groups(model)`; fused kernels by default when every parameter is a plain CPU or
    CUDA tensor on one device type (on CPU the fused step is ~5x faster than the for-each one on tiny models).

    Frozen parameters are included (unless `trainable_only`) so that unfreezing later (encoder warm-start)
    needs no new optimizer: AdamW skips parameters whose `.grad` is None.
    """
    if trainable_only:
        groups = param_groups(model, weight_decay, decay_embeddings)
    else:
        flags = [(p, p.requires_grad) for p in model.parameters()]
        for p, _ in flags:
            p.requires_grad_(True)
        try:
            groups = param_groups(model, weight_decay, decay_embeddings)
        finally:
            for p, rg in flags:
                p.requires_grad_(rg)
    if not any(g["params"] for g in groups):
        raise TandemError("the model has no trainable parameters; check the freeze settings")
    if fused is None:
        params = [p for g in groups for p in g["params"]]
        kinds = {p.device.type for p in params}
        # DTensor (FSDP2) parameters keep the for-each step: its fused CPU kernel has no sharding rule
        plain = all(type(p) is nn.Parameter or type(p) is torch.Tensor for p in params)
        fused = (
            plain
            and len(kinds) == 1
            and kinds <= {"cpu", "cuda"}
            and all(p.is_floating_point() for p in params)
        )
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, fused=bool(fused) or None)


@dataclass
class LRSchedule:
    """lr(step) = peak * factor: linear warmup over `warmup` steps, then linear or cosine decay to `min_lr`
    at `total` steps (AlexaTM: 1e-4 -> 5e-6 linear), or constant."""

    peak: float
    total: int
    warmup: int = 0
    min_lr: float = 0.0
    kind: str = "linear"  # linear | cosine | constant

    def __post_init__(self) -> None:
        if self.kind not in ("linear", "cosine", "constant"):
            raise TandemError(f"lr schedule {self.kind!r} unknown; use linear, cosine or constant")
        if self.kind != "constant" and self.min_lr > self.peak:  # constant never decays to min_lr
            raise TandemError(f"min_lr {self.min_lr} is above the peak lr {self.peak}; lower min_lr")

    def __call__(self, step: int) -> float:
        """Learning rate for optimizer step `step` (0-based)."""
        if self.warmup > 0 and step < self.warmup:
            return self.peak * (step + 1) / self.warmup
        if self.kind == "constant":
            return self.peak
        span = max(1, self.total - self.warmup)
        t = min(1.0, max(0.0, (step - self.warmup) / span))
        if self.kind == "linear":
            return self.min_lr + (self.peak - self.min_lr) * (1.0 - t)
        return self.min_lr + 0.5 * (self.peak - self.min_lr) * (1.0 + math.cos(math.pi * t))

    def apply(self, optimizer: torch.optim.Optimizer, step: int) -> float:
        """Set every param group's lr for `step`; returns it."""
        lr = self(step)
        for g in optimizer.param_groups:
            g["lr"] = lr
        return lr


def clip_grad_norm(
    params: Iterable[torch.Tensor],
    max_norm: float,
    optimizer: torch.optim.Optimizer | None = None,
    defer: bool = False,
) -> float | torch.Tensor:
    """Clip the global gradient norm (FSDP2/DTensor aware) and return the norm before clipping.

    With a fused `optimizer` (torch's fused Adam/AdamW), the gradients are not rescaled here: the optimizer's
    `grad_scale` is set so that its step divides them by the clipping factor as it reads them, which saves a
    read and a write of every gradient (the step leaves them divided, as clipping would have). The update is
    the clipped one, to rounding.

    `defer` (a fused optimizer only, see `can_defer_norm`): return the norm as a 0-d tensor on its device
    without reading it back (a host sync on a GPU), and set the optimizer's `found_inf` so that its next
    step is skipped on the device if the norm is not finite: weights, moments and step counts stay as they
    were, as GradScaler's skipped steps do. The caller reads the norm later, and must not count the step."""
    params = [p for p in params if p.grad is not None]
    fused = optimizer is not None and _fused(optimizer)
    if defer and not fused:
        raise ValueError("clip_grad_norm(defer=True) needs a fused Adam/AdamW optimizer (see can_defer_norm)")
    if fused:
        optimizer.grad_scale = None  # this step's, or none
        optimizer.found_inf = None
    if not params:
        return torch.zeros(()) if defer else 0.0
    norm = torch.nn.utils.get_total_norm([p.grad for p in params], 2.0)
    if hasattr(norm, "full_tensor"):  # a DTensor under FSDP2: reduce the sharded partial norms over ranks
        norm = norm.full_tensor()
    if max_norm and max_norm > 0:
        if fused:
            # torch's clip_grads_with_norm_ multiplies by max_norm / (norm + 1e-6), at most 1
            optimizer.grad_scale = ((norm.float() + 1e-6) / max_norm).clamp_(min=1.0)
        else:
            torch.nn.utils.clip_grads_with_norm_(params, max_norm, norm)
    if defer:
        optimizer.found_inf = torch.isfinite(norm).logical_not().float()
        return norm.detach()
    return float(norm)


class LateRead:
    """A 0-d tensor (a deferred gradient norm) to be read on the host later without waiting for what the
    device queues after it: on a GPU it is copied to pinned memory at once and `value()` waits for that copy
    alone (an event), where `float()` would wait for every kernel queued since."""

    def __init__(self, t: torch.Tensor) -> None:
        self.tensor, self.host, self.event = t, None, None
        if t.device.type == "cuda":
            self.host = torch.empty((), dtype=t.dtype, pin_memory=True)
            self.host.copy_(t, non_blocking=True)
            self.event = torch.cuda.Event()
            self.event.record()

    def value(self) -> float:
        if self.event is None:
            return float(self.tensor)
        self.event.synchronize()
        return float(self.host)


def can_defer_norm(optimizer: torch.optim.Optimizer) -> bool:
    """Whether `clip_grad_norm(..., defer=True)` can skip a non-finite step on the device for `optimizer`:
    a fused Adam/AdamW over plain tensors on one device (under FSDP2 the parameters are DTensors)."""
    if not _fused(optimizer):
        return False
    params = [p for g in optimizer.param_groups for p in g["params"]]
    return (
        bool(params)
        and all(type(p) is torch.nn.Parameter or type(p) is torch.Tensor for p in params)
        and len({p.device for p in params}) == 1
    )


def _fused(optimizer: torch.optim.Optimizer) -> bool:
    """Whether the optimizer's step applies a `grad_scale` (torch's fused Adam/AdamW do; GradScaler uses it)."""
    return isinstance(optimizer, torch.optim.Adam | torch.optim.AdamW) and all(
        g.get("fused") for g in optimizer.param_groups
    )
