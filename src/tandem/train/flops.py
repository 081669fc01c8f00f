"""Training FLOPs of an encoder-decoder step and the measured matmul peak, for MFU."""

from __future__ import annotations

import time

import torch

__all__ = ["measure_matmul_peak", "seq2seq_train_flops"]


def seq2seq_train_flops(
    d_model: int,
    ffn_dim: int,
    encoder_layers: int,
    decoder_layers: int,
    vocab_size: int,
    batch: int,
    src_len: int,
    tgt_len: int,
    kv_dim: int | None = None,
    gated_ffn: bool = False,
) -> float:
    """Matmul FLOPs of one forward+backward (3x forward) over a padded (batch, src_len, tgt_len) batch.

    Counts every projection, the attention score and value products (full, not halved for causal masks)
    and the LM head; ignores embeddings lookups, norms and softmax, like the usual 6N+attention estimates.
    `kv_dim` is the width of the concatenated heads (`ModelConfig.kv_dim`: num_heads * head_dim; default
    d_model); `gated_ffn` counts the third FFN matrix of T5 v1.1 / mT5 (`ModelConfig.gated_ffn`).
    """
    d, f, s, t = d_model, ffn_dim, src_len, tgt_len
    kv = d if kv_dim is None else kv_dim
    ffn = (3 if gated_ffn else 2) * d * f  # multiply-adds per token
    enc = encoder_layers * (2 * s * (4 * d * kv + ffn) + 4 * s * s * kv)
    dec_self = 2 * t * (4 * d * kv) + 4 * t * t * kv
    dec_cross = 2 * t * (2 * d * kv) + 2 * s * (2 * d * kv) + 4 * t * s * kv
    dec_ffn = 2 * t * ffn
    dec = decoder_layers * (dec_self + dec_cross + dec_ffn)
    head = 2 * t * d * vocab_size
    return 3.0 * batch * (enc + dec + head)


def measure_matmul_peak(
    device: torch.device | str, dtype: torch.dtype, n: int | None = None, iters: int = 10
) -> float:
    """Best FLOP/s of a square matmul on `device` in `dtype` (the denominator of MFU)."""
    device = torch.device(device)
    if n is None:
        n = 8192 if device.type == "cuda" else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = float("inf")
    for i in range(iters + 2):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= 2:  # warm-up
            best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best
