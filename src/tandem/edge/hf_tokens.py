"""The edge runtime's Hugging Face tokenizer: an export's `tokenizer.json` read with the `tokenizers` library.

A model whose tokenizer is a Hugging Face one (`tandem.hf_tokenizer.HFTokenizer`: BART's byte-level BPE,
mBART's shifted SentencePiece, any `tokenizer.json`) is exported with that tokenizer's `tokenizer.json` and a
small description in `tandem_edge.json` ("hf_tokenizer": how sources and targets are framed, the newline
policy, whether decoding cleans up spaces). `EdgeHFTokenizer` gives the ids and text `HFTokenizer` gives on the
torch path with `tokenizers` alone (Rust; no transformers, no torch); the export checks that it does.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tandem.errors import TandemError

HF_TOKENIZER_FILE = "tokenizer.json"


def _clean_up_spaces(text: str) -> str:
    """The space clean-up transformers applies to decoded text when a tokenizer asks for it
    (`clean_up_tokenization_spaces`): no space before . ? ! , and English contractions."""
    for before, after in (
        (" .", "."),
        (" ?", "?"),
        (" !", "!"),
        (" ,", ","),
        (" ' ", "'"),
        (" n't", "n't"),
        (" 'm", "'m"),
        (" 's", "'s"),
        (" 've", "'ve"),
        (" 're", "'re"),
    ):
        text = text.replace(before, after)
    return text


def _id_list(value: Any, what: str, where: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise TandemError(f"{where}: {what} must be a list of token ids, got {value!r:.80}")
    return list(value)


def _affix_pair(spec: dict, key: str, where: str) -> tuple[list[int], list[int]]:
    value = spec.get(key)
    if not isinstance(value, list) or len(value) != 2:
        raise TandemError(f"{where}: {key!r} must be [ids before, ids after], got {value!r:.80}")
    return _id_list(value[0], key, where), _id_list(value[1], key, where)


class EdgeHFTokenizer:
    """Text <-> ids of a Hugging Face tokenizer for the edge runtime, from `tokenizer.json` + the export's spec.

    `encode(text)` is the text's own ids (`HFTokenizer.encode(text)`, no special tokens); `source_affixes` and
    `target_affixes` frame them as `tok(text)` / `tok(text_target=text)` do (`tandem.tokenizer.frame`);
    `decode(ids)` drops the tokenizer's special tokens, as `HFTokenizer.decode` does."""

    def __init__(self, path: str | Path, spec: dict, *, where: str, damaged: str):
        path = Path(path)
        if not path.is_file():
            raise TandemError(
                f"{path}: not found; the model's Hugging Face tokenizer is missing from the export; {damaged}"
            )
        try:
            from tokenizers import Tokenizer as Pipeline
        except ImportError as e:
            raise TandemError(
                f"{path.parent}: this export's tokenizer is a Hugging Face tokenizer.json, which the edge "
                "runtime reads with the `tokenizers` library: pip install 'tandem[edge]' (or tokenizers)"
            ) from e
        try:
            self.pipe = Pipeline.from_file(str(path))
        except Exception as e:  # tokenizers raises a bare Exception for a file it cannot parse
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise TandemError(f"{path}: the tokenizers library cannot read it ({first}); {damaged}") from e
        size = spec.get("size")
        if not isinstance(size, int) or size < 1:
            raise TandemError(f"{where}: 'hf_tokenizer' field 'size' is missing or not a positive integer")
        self.vocab_size = size
        unk = spec.get("unk_id")
        self.unk_id: int | None = unk if isinstance(unk, int) else None
        self.source_affixes = _affix_pair(spec, "source_affixes", where)
        self.target_affixes = _affix_pair(spec, "target_affixes", where)
        newline = spec.get("newline_replacement")
        self.newline: str | None = newline if isinstance(newline, str) else None
        self.clean_up = bool(spec.get("clean_up_tokenization_spaces", False))
        self._warned_beyond_vocab = False

    def encode(self, text: str) -> list[int]:
        """The text's ids, no special tokens (a `\\n` becomes the tokenizer's newline replacement first)."""
        if not isinstance(text, str):
            raise TandemError(f"encode takes a str, got {type(text).__name__}")
        if self.newline is not None and "\n" in text:
            text = text.replace("\n", self.newline)
        return list(self.pipe.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: Sequence[int]) -> str:
        """Text of `ids`, special tokens dropped; ids past the tokenizer's (a larger model vocabulary) read as
        its unknown token, with one warning, as on the torch path."""
        ids = [int(i) for i in ids]
        if any(i >= self.vocab_size for i in ids):
            if not self._warned_beyond_vocab:
                self._warned_beyond_vocab = True
                pos, i = next((p, i) for p, i in enumerate(ids) if i >= self.vocab_size)
                warnings.warn(
                    f"token id {i} (position {pos}) is past this tokenizer's tokens (vocab size "
                    f"{self.vocab_size}): decoded as <unk>; the model's vocabulary is larger than its "
                    "tokenizer's. Shown once.",
                    UserWarning,
                    stacklevel=3,
                )
            ids = [i for i in (self.unk_id if i >= self.vocab_size else i for i in ids) if i is not None]
        text = self.pipe.decode(ids, skip_special_tokens=True)
        return _clean_up_spaces(text) if self.clean_up else text
