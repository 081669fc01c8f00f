"""A tiny SentencePiece tokenizer with "<br>" for newlines, as AlexaTM's (which cannot write "\\n")."""

from __future__ import annotations

import io

LINES = [
    f"the {a} {b} sat on the mat <br> answer yes" for a in ("big", "small", "red") for b in ("cat", "dog")
]


def br_tokenizer():
    """A tandem Tokenizer whose `newline_mode` is "<br>" (a 26-piece model trained on `LINES`)."""
    import sentencepiece as spm

    from tandem.tokenizer import Tokenizer

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(LINES * 5),
        model_writer=buf,
        vocab_size=26,
        user_defined_symbols=["<br>"],
        bos_id=0,
        pad_id=1,
        eos_id=2,
        unk_id=3,
        minloglevel=2,
    )
    tok = Tokenizer(buf.getvalue())
    assert tok.newline_mode == "<br>"  # the case the callers test
    return tok


def br_model():
    """`br_tokenizer()` and a tiny random model of its vocabulary that writes "<br>" at every step."""
    import dataclasses

    import torch

    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM

    tok = br_tokenizer()
    cfg = dataclasses.replace(
        ModelConfig.preset("tiny"), vocab_size=tok.vocab_size, d_model=32, ffn_dim=64, max_positions=64,
        final_logits_bias=True,
    )  # fmt: skip
    model = Seq2SeqLM(cfg).eval()
    with torch.no_grad():
        model.final_logits_bias[tok.token_to_id("<br>")] = 1e4  # the model writes line breaks
    return tok, model
