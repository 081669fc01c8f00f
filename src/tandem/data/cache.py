"""Pre-tokenised shard cache: a source tokenised once into `tokens.bin` (uint32) + `offsets.npy`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from tandem.data.sources import Reader, Source, resolve_files, source_size
from tandem.errors import TandemError


def build_cache(source: Source | dict | str, tokenizer: Any, out_dir: str | Path) -> dict[str, Any]:
    """Tokenise every document of `source` into `out_dir`; returns the counts (documents, tokens, skipped).

    Read it back with `Source(out_dir, lang, format="tokens")`. The cache records the text source's weight
    basis (`size` in meta.json), so a PretrainStream samples it as it would sample the text. Spoken-form
    conversion and decontamination are not applied here (they need text); apply them to the text first if
    you want them in the cache.
    """
    src = Source.coerce(source)
    out = Path(out_dir)
    try:
        return _build(src, tokenizer, out)
    except OSError as e:  # a read-only or full disk, a file where the folder should be
        raise TandemError(f"build_cache: cannot write the cache in {out}: {e}") from None


def _build(src: Source, tokenizer: Any, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    if getattr(tokenizer, "vocab_size", 0) and int(tokenizer.vocab_size) >= 2**32:
        raise TandemError("build_cache: vocabularies above 2^32 do not fit uint32 tokens")
    fmt, files = resolve_files(src)
    size = source_size(src, files, fmt)
    reader = Reader(Source(**{**src.__dict__, "shuffle_files": False}), 0, 0)
    offsets = [0]
    skipped: dict[str, int] = {}
    tmp = out / "tokens.bin.tmp"
    with open(tmp, "wb") as fh:
        while True:
            it = reader.next()
            if it.kind == "epoch_end":
                break
            if it.kind == "bad":
                skipped[it.payload[0]] = skipped.get(it.payload[0], 0) + 1
                continue
            ids = np.asarray(tokenizer.encode(it.payload), dtype=np.uint32)
            fh.write(ids.tobytes())
            offsets.append(offsets[-1] + len(ids))
    reader.close()
    with open(out / "offsets.npy.tmp", "wb") as fh:
        np.save(fh, np.asarray(offsets, dtype=np.int64))
    meta = {
        "source": str(src.path),
        "lang": src.lang,
        "documents": len(offsets) - 1,
        "tokens": offsets[-1],
        "skipped": skipped,
        "size": size,  # the text source's sampling weight basis (Source.size), which the cache keeps
        "vocab_size": int(getattr(tokenizer, "vocab_size", 0) or 0),
    }
    (out / "meta.json.tmp").write_text(json.dumps(meta, indent=1))
    # each file is replaced atomically, the three one after another: a kill in between leaves tokens and
    # offsets of two builds, which the reader refuses (their ends differ) rather than cutting documents wrong
    for name in ("tokens.bin", "offsets.npy", "meta.json"):
        os.replace(out / f"{name}.tmp", out / name)
    return meta
