"""Pre-tokenised shard cache: a source tokenised once into `tokens.bin` (uint32), `offsets.npy`, `records.npy`,
`hashes.npy` (each document's text hash, for the held-out split) and `meta.json`."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tandem.data.decontam import Decontaminator
from tandem.data.sources import (
    MAX_DOC_CHARS,
    Reader,
    Source,
    file_format,
    resolve_files,
    source_size,
    text_hash,
)
from tandem.errors import TandemError


def build_cache(
    source: Source | dict | str,
    tokenizer: Any,
    out_dir: str | Path,
    decontaminate: Decontaminator | Sequence[str] | None = None,
    max_doc_chars: int = MAX_DOC_CHARS,
) -> dict[str, Any]:
    """Tokenise every document of `source` into `out_dir`; returns the counts (documents, tokens, skipped).

    Read it back with `Source(out_dir, lang, format="tokens")` (with the text source's `shuffle_files`,
    `shuffle_docs` and `upsample`): a PretrainStream then gives the batches it gives from the text. The cache
    records what that takes: the text source's weight basis (`size` in meta.json), its files and how many
    records each holds, and each document's record number (records.npy), so files (and blocks of records) are
    read in the same shuffled order and documents go to the same rank. `decontaminate` (evaluation texts or a Decontaminator) drops the documents
    that share a 13-gram with them, as the stream's `decontaminate` does with text; meta.json records it.
    Spoken-form conversion cannot be cached (the stream draws it anew each epoch); a stream with
    `spoken_fraction` leaves cached documents in written form and says so.
    Documents longer than `max_doc_chars` characters are cached in pieces, as the stream's `max_doc_chars`
    cuts text: meta.json records the value (and the longest document, `longest_doc_chars`), and a stream
    whose max_doc_chars would cut this cache's documents otherwise refuses it. meta.json also records the
    source's `shuffle_files` and `shuffle_docs`, and a stream whose cache source reads in another order
    than that (e.g. shuffle_docs left at 0) refuses it.
    """
    src = Source.coerce(source)
    out = Path(out_dir)
    if decontaminate is not None and not isinstance(decontaminate, Decontaminator):
        decontaminate = Decontaminator(decontaminate)
    if not isinstance(max_doc_chars, int) or isinstance(max_doc_chars, bool) or max_doc_chars < 1:
        raise TandemError(f"build_cache: max_doc_chars must be an integer >= 1, got {max_doc_chars!r}")
    try:
        return _build(src, tokenizer, out, decontaminate, max_doc_chars)
    except OSError as e:  # a read-only or full disk, a file where the folder should be
        raise TandemError(f"build_cache: cannot write the cache in {out}: {e}") from None


def _parts(src: Source, fmt: str, files: list[Path]) -> list[tuple[str, Source]]:
    """One single-file source per file of `src` (in the order of resolve_files), or `src` itself (hf)."""
    if fmt == "hf":
        return [(str(src.path), src)]
    return [
        (
            str(f),
            dataclasses.replace(
                src, path=str(f), format=file_format(src, f), shuffle_files=False, shuffle_docs=0
            ),
        )
        for f in files
    ]


def _build(
    src: Source, tokenizer: Any, out: Path, deco: Decontaminator | None, max_doc_chars: int
) -> dict[str, Any]:
    fmt, files = resolve_files(src)
    if fmt == "tokens":
        raise TandemError(f"build_cache: source {src.path} is a token cache already; give the text source")
    out.mkdir(parents=True, exist_ok=True)
    if getattr(tokenizer, "vocab_size", 0) and int(tokenizer.vocab_size) >= 2**32:
        raise TandemError("build_cache: vocabularies above 2^32 do not fit uint32 tokens")
    size = source_size(src, files, fmt)
    offsets = [0]
    records: list[int] = []  # each document's record number within its file
    hashes: list[int] = []  # each document's text_hash (the held-out split is decided on the text)
    parts: list[dict[str, Any]] = []
    skipped: dict[str, int] = {}
    longest = 0  # characters of the longest record read (before max_doc_chars cut it)
    tmp = out / "tokens.bin.tmp"
    with open(tmp, "wb") as fh:
        for path, part in _parts(src, fmt, files):
            reader = Reader(part, 0, 0, max_doc_chars=max_doc_chars)
            n_records, n_docs = 0, 0
            # the record being read (its pieces come one after another) and its length so far
            record, chars = None, 0
            while True:
                it = reader.next()
                if it.kind == "epoch_end":
                    break
                # the text reader numbers every record it reads, usable or not: so does the cache
                n_records = max(n_records, int(it.cursor.get("record", 0)))
                if it.kind == "bad":
                    skipped[it.payload[0]] = skipped.get(it.payload[0], 0) + 1
                    continue
                chars = chars + len(it.payload) if it.record == record else len(it.payload)
                record, longest = it.record, max(longest, chars)
                if deco is not None and deco.contaminated(it.payload):
                    skipped["decontaminated"] = skipped.get("decontaminated", 0) + 1
                    continue
                ids = np.asarray(tokenizer.encode(it.payload), dtype=np.uint32)
                fh.write(ids.tobytes())
                offsets.append(offsets[-1] + len(ids))
                records.append(it.record[1])
                hashes.append(text_hash(it.payload))
                n_docs += 1
            reader.close()
            parts.append({"path": path, "records": n_records, "docs": n_docs})
    with open(out / "offsets.npy.tmp", "wb") as fh:
        np.save(fh, np.asarray(offsets, dtype=np.int64))
    with open(out / "records.npy.tmp", "wb") as fh:
        np.save(fh, np.asarray(records, dtype=np.int64))
    with open(out / "hashes.npy.tmp", "wb") as fh:
        np.save(fh, np.asarray(hashes, dtype=np.uint64))
    meta = {
        "source": str(src.path),
        "lang": src.lang,
        "documents": len(offsets) - 1,
        "tokens": offsets[-1],
        "skipped": skipped,
        "vocab_size": int(getattr(tokenizer, "vocab_size", 0) or 0),
        "size": size,  # the text source's sampling weight basis (Source.size), which the cache keeps
        "decontaminated": None
        if deco is None
        else {"n": deco.n, "ngrams": len(deco.grams), "texts": deco.num_texts},
        "files": parts,
        # what cut the documents: a stream with another max_doc_chars would cut records longer than either
        "max_doc_chars": max_doc_chars,
        "longest_doc_chars": longest,
        "txt_docs": src.txt_docs,
        "field": src.field,
        # the order the text source reads its documents in: a stream reading the cache in another one refuses it
        "shuffle_files": src.shuffle_files,
        "shuffle_docs": src.shuffle_docs,
    }
    (out / "meta.json.tmp").write_text(json.dumps(meta, indent=1))
    # each file is replaced atomically, one after another: a kill in between leaves files of two builds,
    # which the reader refuses (their ends or document counts differ) rather than cutting documents wrong
    for name in ("tokens.bin", "offsets.npy", "records.npy", "hashes.npy", "meta.json"):
        os.replace(out / f"{name}.tmp", out / name)
    return meta
