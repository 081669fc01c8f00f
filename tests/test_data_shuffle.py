"""What shapes a token cache's documents."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tandem.data import PretrainStream, Reader, Source, build_cache
from tandem.data.sources import MAX_DOC_CHARS
from tandem.errors import TandemError
from tandem.objectives import CLMObjective

PAD, EOS, CLM, DOC = 1, 2, 4, 5


class NumTok:
    """Tokenizer stand-in: a text of integers encodes to those integers."""

    pad_id, eos_id, clm_id, doc_id, vocab_size = PAD, EOS, CLM, DOC, 10**7

    def encode(self, text: str, add_eos: bool = False) -> list[int]:
        return [int(w) for w in text.split()] + ([EOS] if add_eos else [])


TOK = NumTok()


def doc(src: int, k: int, n: int) -> str:
    """Document k of file src: n ids that say where they came from (origin() reads them back)."""
    return " ".join(str(src * 1_000_000 + k * 1000 + j + 7) for j in range(n))


def origin(token: int) -> tuple[int, int]:
    return (token - 7) // 1_000_000, ((token - 7) // 1000) % 1000


def write(path: Path, src: int, n: int, length=lambda k: 4 + k % 5) -> None:
    path.write_text("".join(doc(src, k, length(k)) + "\n" for k in range(n)))


def read_pass(src: Source, seed: int = 0, rank: int = 0, world_size: int = 1, cursor=None, **kw) -> list:
    """The items of one pass of a reader (from `cursor`), the epoch end excluded."""
    r = Reader(src, 0, seed=seed, rank=rank, world_size=world_size, cursor=cursor, **kw)
    out = []
    while (it := r.next()).kind != "epoch_end":
        out.append(it)
    r.close()
    return out


def firsts(items: list) -> list[tuple[int, int]]:
    return [origin(int(it.payload.split()[0])) for it in items if it.kind == "doc"]


def rows(batch: dict, key: str) -> list[list[int]]:
    return [[t for t in row if t not in (PAD, -100)] for row in batch[key].tolist()]


def batches_equal(a: list[dict], b: list[dict]) -> bool:
    return all(
        all(np.array_equal(x[k].numpy(), y[k].numpy()) for k in ("input_ids", "attention_mask", "labels"))
        and x["kind"] == y["kind"]
        for x, y in zip(a, b, strict=True)
    )


def test_a_token_cache_cut_at_another_max_doc_chars_is_refused(tmp_path):
    """A cache holds documents cut at the max_doc_chars it was built with: a stream with another one gave
    other documents from the cache than from the text. Now it is refused (saying what to do), unless no
    document is long enough to be cut by either; a cache built with the stream's value gives its batches."""
    f = tmp_path / "a.txt"
    write(f, 0, 20, length=lambda k: 60 if k == 4 else 5)  # document 4: 299 characters
    build_cache(Source(f, "en"), TOK, tmp_path / "default")
    meta = json.loads((tmp_path / "default" / "meta.json").read_text())
    assert meta["max_doc_chars"] == MAX_DOC_CHARS and meta["longest_doc_chars"] == len(doc(0, 4, 60)) == 299

    def make(path, n):
        return PretrainStream([Source(path, "en")], TOK, CLMObjective(CLM), 16, 4, max_doc_chars=n)

    with pytest.raises(
        TandemError, match=r"max_doc_chars=1,000,000.*max_doc_chars=100; rebuild it with build_cache"
    ):
        make(tmp_path / "default", 100)
    make(tmp_path / "default", 299)  # no document is cut either way
    build_cache(Source(f, "en"), TOK, tmp_path / "cut", max_doc_chars=100)
    with pytest.raises(TandemError, match="max_doc_chars=100"):
        make(tmp_path / "cut", MAX_DOC_CHARS)
    text, cache = make(f, 100), make(tmp_path / "cut", 100)
    assert batches_equal([next(text) for _ in range(8)], [next(cache) for _ in range(8)])
    assert text.stats["split_docs"] == 1
    del meta["max_doc_chars"], meta["longest_doc_chars"]  # a cache built before caches recorded them
    (tmp_path / "default" / "meta.json").write_text(json.dumps(meta))
    make(tmp_path / "default", MAX_DOC_CHARS)
    with pytest.raises(TandemError, match="does not record the max_doc_chars"):
        make(tmp_path / "default", 100)
    with pytest.raises(TandemError, match="max_doc_chars must be an integer"):
        build_cache(Source(f, "en"), TOK, tmp_path / "x", max_doc_chars=0)
