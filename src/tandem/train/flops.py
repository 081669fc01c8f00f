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
    device: torch.device | str,
    dtype: torch.dtype,
    n: int | None = None,
    iters: int = 10,
    warm_s: float | None = None,
    round_s: float | None = None,
) -> float:
    """Best FLOP/s of a square matmul on `device` in `dtype` (the denominator of MFU).

    Matmuls run for `warm_s` seconds first (GPU default 0.5 s, for an idle GPU's clocks to ramp up), then
    `iters` rounds of back-to-back matmuls of at least `round_s` seconds each (GPU default 20 ms: the launch
    and the synchronisation are then under 0.1% of a round) are timed, and the best round counts. A GPU peak
    taken from single 1.4 ms calls right after start read 757 and 787 TFLOP/s in two runs on one H200 (796 on
    another); the MFU of a step is only as steady as this denominator."""
    device = torch.device(device)
    cuda = device.type == "cuda"
    if n is None:
        n = 8192 if cuda else 1024
    if warm_s is None:
        warm_s = 0.5 if cuda else 0.0
    if round_s is None:
        round_s = 0.02 if cuda else 0.0
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)

    def timed(reps: int) -> float:
        if cuda:
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        if cuda:
            torch.cuda.synchronize(device)
        return (time.perf_counter() - t0) / reps

    one = min(timed(1) for _ in range(2))  # warm-up (kernel selection) and a first estimate
    warm_until = time.perf_counter() + warm_s
    while time.perf_counter() < warm_until:
        one = timed(max(1, int(0.05 / one)))  # ~50 ms batches
    reps = max(1, round(round_s / one)) if round_s > 0 else 1
    best = min(timed(reps) for _ in range(iters))
    return 2.0 * n**3 / best
