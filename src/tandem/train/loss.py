"""Cross-entropy over large vocabularies without materialising the (B, T, V) logits.

`fused_linear_cross_entropy` takes the final decoder hidden states and the LM head weight, and computes
logits, loss and the gradients chunk by chunk over tokens during the forward pass: only one
(chunk, V) block of fp32 logits exists at a time, and backward is a scale of the stored gradients.
Padding positions (label -100) are dropped before any matmul. On CPU each chunk is one GEMM into a block
the caller may keep (`LossWorkspace`), one row-wise softmax kernel over it, and the two gradient GEMMs with
the loss scale folded in; on a GPU the chunk math is five in-place ops over the block, or one compiled kernel.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "IGNORE_INDEX",
    "LossWorkspace",
    "fused_linear_cross_entropy",
    "scored_index",
    "shift_right",
    "token_cross_entropy",
]

IGNORE_INDEX = -100


def scored_index(labels: Any) -> torch.Tensor:
    """The flat indices of the labels that are not -100 (numpy array or CPU tensor), as an int64 CPU tensor:
    found on the host before the batch moves, they spare the loss a host sync on the device."""
    flat = labels.reshape(-1)
    if isinstance(flat, torch.Tensor):
        flat = flat.detach().cpu().numpy()
    return torch.from_numpy(np.flatnonzero(flat != IGNORE_INDEX).astype(np.int64))


def shift_right(labels: torch.Tensor, start_id: int, pad_id: int) -> torch.Tensor:
    """Decoder inputs from labels: prepend `start_id`, drop the last label, -100 -> `pad_id`."""
    out = labels.new_full(labels.shape, pad_id)
    out[:, 1:] = labels[:, :-1]
    out[:, 0] = start_id
    return out.masked_fill_(out == IGNORE_INDEX, pad_id)


def _auto_chunk(vocab: int, device: torch.device) -> int:
    """Tokens per chunk: on GPU ~2 GiB of fp32 logits per chunk (big chunks keep the (V, chunk) x (chunk, d)
    weight-gradient GEMM efficient and the fp32 accumulations few); on CPU ~16 MiB, a block the cache keeps
    across the softmax's passes over it (1 thread, V=8000, d=128, 8192 tokens: 665 ms forward and backward in
    512-token chunks, 770 ms in one 256 MiB chunk; equal at 1024 tokens and at d=256, V=32000), at least 256
    tokens."""
    budget = 2 * 2**30 if device.type == "cuda" else 16 * 2**20
    return max(256, budget // (4 * max(1, vocab)))


def _chunk_inplace(h, w, b, y, scale: float, acc: torch.dtype, want_grad: bool, want_bias: bool):
    """Eager chunk: (c,) token losses and the (c, V) logit gradient in `h.dtype` (None without
    `want_grad`), and its column sum in `acc` for the bias (`want_bias`). Works in place on one fp32 block."""
    logits = F.linear(h, w, b).to(acc)  # (c, V)
    rows = torch.arange(h.shape[0], device=h.device)
    z_y = logits[rows, y]
    # one exp pass over the block, in place: e = exp(z - max), lse = max + log(sum e)
    m = logits.amax(dim=1, keepdim=True)
    e = logits.sub_(m).exp_()
    total = e.sum(dim=1)
    losses = m.squeeze(1) + total.log() - z_y
    if not want_grad:
        return losses, None, None
    # d(loss)/d(logits) = softmax - onehot, times the caller's scale (1 / token count); formed in
    # fp32 before any cast so that 1 - p stays accurate when p is close to 1
    g = e.mul_((scale / total).unsqueeze(1))
    g[rows, y] -= scale
    return losses, g.to(h.dtype), g.sum(0) if want_bias else None


def _chunk_softmax(h, w, b, y, acc: torch.dtype, want_grad: bool, want_bias: bool, block: torch.Tensor):
    """CPU eager chunk into `block`, a (c, V) `acc` tensor the caller keeps across calls (a fresh 16 MiB
    block per chunk costs page faults that made the logit GEMM ~1.5x slower inside a training step): one
    row-wise softmax kernel over the logits instead of the five full passes of `_chunk_inplace`. Returns
    the (c,) token losses and the *unscaled* (c, V) logit gradient softmax - onehot, in `h.dtype`, with
    its column sum in `acc` (`want_bias`); the caller scales the GEMMs it feeds.

    The loss is -log p_y, exact to rounding while p_y is a normal float; the rare rows where p_y is below
    1e-30 (the target's logit ~69 nats under the best) are recomputed from their logits."""
    if h.dtype == acc and b is None:
        torch.mm(h, w.t(), out=block)
    elif h.dtype == acc:
        torch.addmm(b, h, w.t(), out=block)
    else:
        block.copy_(F.linear(h, w, b))
    rows = torch.arange(h.shape[0], device=h.device)
    p = torch.ops.aten._softmax.out(block, 1, False, out=block)  # elementwise per row: safe in place
    p_y = p[rows, y]
    losses = p_y.log().neg_()
    tiny = p_y < 1e-30
    if bool(tiny.any()):  # a host read: this kernel runs on CPU only
        r = tiny.nonzero().squeeze(1)
        z = F.linear(h[r], w, b).to(acc)
        losses[r] = torch.logsumexp(z, 1) - z[torch.arange(len(r)), y[r]]
    if not want_grad:
        return losses, None, None
    p[rows, y] -= 1
    return losses, p.to(h.dtype), p.sum(0) if want_bias else None


def _chunk_functional(h, w, b, y, scale: torch.Tensor, acc: torch.dtype, want_grad: bool, want_bias: bool):
    """The same chunk math written without in-place ops, for torch.compile: Inductor fuses the softmax,
    the one-hot subtraction and the casts into a couple of kernels over the matmul output instead of the
    five in-place ops of `_chunk_inplace` (eight reads or writes of the whole fp32 block)."""
    logits = F.linear(h, w, b).to(acc)
    z_y = logits.gather(1, y[:, None]).squeeze(1)
    m = logits.amax(dim=1, keepdim=True)
    e = (logits - m).exp()
    total = e.sum(dim=1)
    losses = m.squeeze(1) + total.log() - z_y
    if not want_grad:
        return losses, None, None
    cols = torch.arange(logits.shape[1], device=logits.device)
    g = e * (scale / total).unsqueeze(1) - torch.where(cols[None, :] == y[:, None], scale, 0.0)
    return losses, g.to(h.dtype), g.sum(0) if want_bias else None


@functools.cache
def _compiled_chunk():
    return torch.compile(_chunk_functional)


def _softmax_kernel_for(device: torch.device) -> bool:
    """Whether eager chunks run `_chunk_softmax` (CPU, where its one flag read back is free) rather than
    `_chunk_inplace` (which reads nothing back: on a GPU a read waits for the device)."""
    return device.type == "cpu"


class LossWorkspace:
    """The (chunk, V) block that `fused_linear_cross_entropy` computes in on CPU, kept between calls by
    its owner (`Seq2SeqTrainModule` keeps one per module): a block allocated per call is fresh memory
    that the logit GEMM first faults in page by page. Grows to the largest chunk asked for; unused on GPU,
    where the caching allocator already reuses memory."""

    def __init__(self) -> None:
        self._buf: torch.Tensor | None = None

    def block(self, rows: int, cols: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        n = rows * cols
        buf = self._buf
        if buf is None or buf.numel() < n or buf.dtype != dtype or buf.device != device:
            buf = self._buf = torch.empty(n, dtype=dtype, device=device)
        return buf[:n].view(rows, cols)


class _FusedLinearCE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, bias, targets, scale, chunk, compiled, workspace, grads):
        # hidden (N, d), weight (V, d), bias (V,) | None, targets (N,) all valid; returns (scalar, (N,) losses).
        # `grads`: whether the caller records gradients (grad mode is always off in here): under no_grad
        # (validation) the gradients computed with the loss would be two GEMMs per chunk for nothing
        dtype = hidden.dtype
        acc = torch.float64 if dtype == torch.float64 else torch.float32  # softmax/accumulation precision
        w = weight.to(dtype)
        b = bias.to(dtype) if bias is not None else None
        n = hidden.shape[0]
        losses = torch.empty(n, dtype=acc, device=hidden.device)
        grad_h = torch.empty_like(hidden) if grads and hidden.requires_grad else None
        want_w = grads and weight.requires_grad
        # filled by the first chunk's GEMM (beta=0): a zero fill first is one more pass over (V, d)
        grad_w = torch.empty(weight.shape, dtype=acc, device=weight.device) if want_w else None
        if grad_w is not None and n == 0:
            grad_w.zero_()
        want_b = grads and bias is not None and bias.requires_grad
        grad_b = torch.zeros(bias.shape, dtype=acc, device=bias.device) if want_b else None
        want_grad = grad_h is not None or grad_w is not None or grad_b is not None
        want_bias = grad_b is not None
        if compiled or not _softmax_kernel_for(hidden.device):  # the logit gradient comes scaled
            fn, sc = _chunk_inplace, scale
            if compiled:  # the scale filled on the device: a host tensor copied over would wait for the copy
                fn, sc = _compiled_chunk(), torch.full((), scale, dtype=acc, device=hidden.device)

            def run(h, y):
                return (*fn(h, w, b, y, sc, acc, want_grad, want_bias), 1.0)

        else:  # CPU eager: the scale rides on the GEMMs below
            workspace = workspace or LossWorkspace()  # without one: one block for this call's chunks

            def run(h, y):
                block = workspace.block(h.shape[0], w.shape[0], acc, h.device)
                return (*_chunk_softmax(h, w, b, y, acc, want_grad, want_bias, block), scale)

        for s in range(0, n, chunk):
            h = hidden[s : s + chunk]
            chunk_losses, g, g_cols, alpha = run(h, targets[s : s + chunk])
            losses[s : s + chunk] = chunk_losses
            if not want_grad:
                continue
            if grad_b is not None:
                grad_b.add_(g_cols, alpha=alpha)
            if grad_h is not None:
                grad_h[s : s + chunk].addmm_(g, w, beta=0, alpha=alpha)
            if grad_w is not None:
                if dtype == acc:
                    grad_w.addmm_(g.t(), h, beta=0 if s == 0 else 1, alpha=alpha)
                elif s == 0:  # bf16 GEMM, fp32 accumulation across chunks
                    torch.mul((g.t() @ h).to(acc), alpha, out=grad_w)
                else:
                    grad_w.add_((g.t() @ h).to(acc), alpha=alpha)
        # held outside save_for_backward so that backward can hand them over, scaled in place: a copy (or a
        # sum with the tied embedding's gradient that cannot add into them) is one more (V, d) block
        ctx.grads = (grad_h, grad_w, grad_b)
        ctx.dtypes = (hidden.dtype, weight.dtype, bias.dtype if bias is not None else None)
        ctx.mark_non_differentiable(losses)
        return losses.sum() * scale, losses

    @staticmethod
    def backward(ctx, grad_loss, _grad_losses):
        if ctx.grads is None:
            raise RuntimeError(
                "fused_linear_cross_entropy: backward ran twice through one loss (retain_graph); compute "
                "the loss again for a second backward, or use token_cross_entropy on full logits"
            )
        grads, ctx.grads = ctx.grads, None
        out = []
        for g, dtype in zip(grads, ctx.dtypes, strict=True):
            if g is not None:
                g = g.mul_(grad_loss.to(g.dtype)).to(dtype)
            out.append(g)
        return (*out, None, None, None, None, None, None)


def fused_linear_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor,
    bias: torch.Tensor | None = None,
    scale: float | None = None,
    chunk_tokens: int | None = None,
    compiled: bool = False,
    scored: torch.Tensor | None = None,
    workspace: LossWorkspace | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Loss of `hidden @ weight.T + bias` against `labels` (-100 ignored), computed in token chunks.

    `compiled`: run each chunk's softmax/gradient math through torch.compile (the trainer's compile switch).
    `scored`: the flat indices of the labels that are not -100, where the caller has them (`scored_index`
    of the labels on the host: found on a GPU, they take a host sync).
    `workspace`: a `LossWorkspace` that keeps the CPU chunk block from one call to the next.

    Returns `(loss, token_losses, valid)`: `loss` = sum of token losses * `scale` (default 1/#valid, i.e.
    the mean), differentiable w.r.t. hidden/weight/bias; `token_losses` (#valid,) fp32 detached; `valid`
    the boolean mask over `labels` of the positions scored.
    """
    valid = labels != IGNORE_INDEX
    # one nonzero (a host sync on GPU) for both selections, where boolean indexing makes one each
    idx = valid.reshape(-1).nonzero().squeeze(1) if scored is None else scored
    h, y = hidden.reshape(-1, hidden.shape[-1]), labels.reshape(-1)  # (N, d), (N,)
    if idx.numel() < y.numel():  # a shape, no host read: every label scored leaves nothing to select
        h, y = h.index_select(0, idx), y.index_select(0, idx)
    if scale is None:
        scale = 1.0 / max(1, int(y.numel()))
    chunk = chunk_tokens or _auto_chunk(weight.shape[0], hidden.device)
    dev = hidden.device.type
    if torch.is_autocast_enabled(dev):
        # the matmuls run in the autocast dtype, as the LM head would; the softmax stays in fp32
        h = h.to(torch.get_autocast_dtype(dev))
    with torch.autocast(device_type=dev, enabled=False):
        loss, losses = _FusedLinearCE.apply(
            h, weight, bias, y, float(scale), int(chunk), bool(compiled), workspace, torch.is_grad_enabled()
        )
    return loss, losses, valid


def token_cross_entropy(
    logits: torch.Tensor,
    labels: torch.Tensor,
    scale: float | None = None,
    scored: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Same contract as `fused_linear_cross_entropy`, from full (B, T, V) logits (the plain path)."""
    valid = labels != IGNORE_INDEX
    # one host sync on GPU for both selections, unless the caller found them on the host
    idx = valid.reshape(-1).nonzero().squeeze(1) if scored is None else scored
    flat = logits.reshape(-1, logits.shape[-1]).index_select(0, idx)
    target = labels.reshape(-1).index_select(0, idx)
    losses = F.cross_entropy(flat if flat.dtype == torch.float64 else flat.float(), target, reduction="none")
    if scale is None:
        scale = 1.0 / max(1, int(losses.numel()))
    return losses.sum() * scale, losses.detach(), valid
