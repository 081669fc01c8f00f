"""Held-out loss during pretraining: a fixed set of validation batches and the loss of the model on them.

The set is drawn once, before training, from its own data stream (`--val-data`) with a seed of its own: every
evaluation scores the same examples, and drawing them touches neither the training stream nor any global RNG.
Under several ranks each evaluates every `world`-th batch and the sums are all-reduced, so the result is the
one-process result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from tandem.errors import TandemError
from tandem.train.checkpoint import get_rng_state, set_rng_state
from tandem.train.trainer import KINDS, _all_reduce, _to_device, add_kind_sums, kind_losses

__all__ = ["DEFAULT_VAL_EXAMPLES", "draw_val_batches", "evaluate_loss", "val_seed"]

DEFAULT_VAL_EXAMPLES = 256


def val_seed(seed: int) -> int:
    """The validation stream's seed for a run of `seed`: fixed by it, and not the training stream's."""
    return int(np.random.SeedSequence([seed % 2**64, 0x76616C]).generate_state(1, np.uint64)[0] % 2**63)


def draw_val_batches(stream: Any, examples: int) -> list[dict[str, Any]]:
    """Up to `examples` examples of `stream` (a PretrainStream over the validation sources) as its batches,
    the last one cut to the remainder; fewer when every source has been read through once before that (the
    set holds each document about once, not the same ones again under other noise). The global RNGs are
    left as they were."""
    rng = get_rng_state()
    batches: list[dict[str, Any]] = []
    n = 0
    try:
        names = [str(s.name) for s in stream.sources]
        while n < examples:
            b = stream.next_batch()
            rows = len(b["input_ids"])
            if n + rows > examples:
                keep = examples - n
                b = {k: v[:keep] for k, v in b.items()}
                rows = keep
            batches.append(b)
            n += rows
            epochs = stream.stats.get("epochs", {})
            if all(epochs.get(name, 0) >= 1 for name in names):
                break
    finally:
        set_rng_state(rng)
    return batches


@torch.no_grad()
def evaluate_loss(
    module: nn.Module,
    batches: Sequence[dict[str, Any]],
    device: torch.device,
    autocast: Any,
    rank: int = 0,
    world: int = 1,
) -> dict[str, float]:
    """The token-weighted mean loss over `batches` (`val_loss`) and per objective kind (`val_denoise_loss`,
    `val_clm_loss`, `val_other_loss` where such examples are), as the training loss is logged, with the
    model in eval mode (no dropout); also `val_tokens` and `val_examples`. Rank r scores batches r, r + world,
    ...; every rank runs as many forwards (FSDP gathers the weights collectively). The module's mode and
    the global RNGs are restored."""
    nk = len(KINDS) + 1
    sums = torch.zeros(2 + 2 * nk + 1, dtype=torch.float64, device=device)
    mine = list(batches[rank::world])
    calls = math.ceil(len(batches) / world) if batches else 0
    was_training = module.training
    rng = get_rng_state()
    module.eval()
    try:
        for i in range(calls):
            # a rank with fewer batches scores one again without counting it: FSDP needs every rank's forward
            b = _to_device(mine[i] if i < len(mine) else batches[0], device)
            torch.compiler.cudagraph_mark_step_begin()  # blocks compiled with CUDA graphs: a new iteration
            with autocast:
                _, ex_loss, ex_tok = module(
                    b["input_ids"], b.get("attention_mask"), b["labels"], None, b.get("decoder_input_ids")
                )
            if i >= len(mine):
                continue
            add_kind_sums(sums, ex_loss, ex_tok, b.get("kind"))
            sums[-1] += ex_loss.shape[0]
    finally:
        module.train(was_training)
        set_rng_state(rng)
    vec = _all_reduce(sums).tolist()
    if vec[1] <= 0:
        raise TandemError("validation: the validation batches hold no target token")
    out = {"val_loss": vec[0] / vec[1]}
    out.update({f"val_{name}_loss": v for name, v in kind_losses(vec).items()})
    out["val_tokens"] = int(vec[1])
    out["val_examples"] = int(vec[-1])
    return out
