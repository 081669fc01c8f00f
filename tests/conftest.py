"""Shared test fixtures: paths to ../shared (skipped with a reason when absent), seeded torch, one thread."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TANDEM_SHARED", ROOT.parent / "shared"))


def _shared(sub: str) -> Path:
    p = SHARED / sub
    if not p.exists():
        pytest.skip(
            f"{p} is absent: this test needs the project's shared {sub} (see ../shared/data/README.md)"
        )
    return p


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip the test with a clear reason."""
    return _shared("data")


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """../shared/fixtures (the AlexaTM-format checkpoint), or skip the test with a clear reason."""
    return _shared("fixtures")


@pytest.fixture(autouse=True)
def _seed_and_threads():
    try:
        import torch
    except ImportError:  # the edge tests run without torch
        yield
        return
    torch.manual_seed(0)
    torch.set_num_threads(1)
    yield


def _tiny_tandem_lm(lines: list[str], vocab_size: int, max_positions: int):
    """(tokenizer, model): a tandem tokenizer trained on `lines` (identity normalisation: whitespace kept as
    written, SentencePiece's dummy prefix on) and a random tiny tandem model with learned positions over its
    vocabulary whose decoder writes text and never ends it (EOS can never win)."""
    import dataclasses

    import torch

    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM
    from tandem.tokenizer import Tokenizer

    tok = Tokenizer.train(iter(lines * 5), vocab_size=vocab_size, byte_fallback=False, character_coverage=1.0)
    torch.manual_seed(0)
    cfg = dataclasses.replace(
        ModelConfig.preset("tiny"),
        vocab_size=tok.vocab_size,
        d_model=32,
        ffn_dim=64,
        max_positions=max_positions,
        final_logits_bias=True,
    )
    model = Seq2SeqLM(cfg).eval()
    with torch.no_grad():
        for p in model.decoder.parameters():
            if p.dim() > 1:
                p.normal_(0, 0.5)
        model.final_logits_bias[cfg.eos_token_id] = -1e4
    return tok, model


@pytest.fixture(scope="session")
def tiny_tandem_lm():
    """`make(lines, vocab_size, max_positions) -> (tokenizer, model)`, see `_tiny_tandem_lm`."""
    return _tiny_tandem_lm
