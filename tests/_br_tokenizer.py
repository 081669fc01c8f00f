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
