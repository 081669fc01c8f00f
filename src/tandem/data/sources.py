"""Document sources (txt / jsonl / parquet / Hugging Face datasets / token caches) read through resumable cursors.

A reader walks its records in a fixed order, one epoch after another, and can be reopened at any saved
cursor. Record k of an epoch belongs to rank `k % world_size`, so ranks see disjoint documents whose union
is the whole source. Bad records (invalid UTF-8, bad JSON, a missing field, empty text) come back as
`Item("bad", ...)` so the consumer counts them at the moment it consumes them; this keeps statistics exact
across a resume.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tandem.errors import TandemError

FORMATS = ("txt", "jsonl", "parquet", "hf", "tokens")
TXT_MODES = ("line", "paragraph", "file")


@dataclass
class Source:
    """One corpus in one language.

    path: a file, a directory (all its files, sorted) or a glob; for format "hf" a dataset name on the Hub
    or a local directory (`datasets.load_dataset`), or a Dataset or DatasetDict saved with `save_to_disk`
    (read in place with `load_from_disk`, found also with format "auto"); for "tokens" a cache directory
    made by `tandem.data.build_cache`.
    split: the split of a Hub dataset or a saved DatasetDict.
    format: "auto" (from the file extension), "txt", "jsonl", "parquet", "hf" or "tokens".
    field: the text field (jsonl), column (parquet) or feature (hf).
    upsample: multiplies this source's sampling weight (AlexaTM: Wikipedia x10).
    size: the weight basis; by default bytes on disk (rows for hf, tokens for caches).
    txt_docs: in txt files, one document per "line", per blank-line separated "paragraph", or per "file".
    """

    path: str | os.PathLike
    lang: str
    format: str = "auto"
    field: str = "text"
    upsample: float = 1.0
    name: str | None = None
    size: float | None = None
    txt_docs: str = "line"
    split: str = "train"
    hf_config: str | None = None
    shuffle_files: bool = True

    def __post_init__(self) -> None:
        if self.format not in ("auto", *FORMATS):
            raise TandemError(f"source {self.path}: unknown format {self.format!r}; use one of {FORMATS}")
        if self.txt_docs not in TXT_MODES:
            raise TandemError(
                f"source {self.path}: txt_docs must be one of {TXT_MODES}, got {self.txt_docs!r}"
            )
        if self.upsample < 0:
            raise TandemError(f"source {self.path}: upsample must be >= 0, got {self.upsample}")
        if self.name is None:
            self.name = f"{self.lang}:{Path(str(self.path)).name}"

    @classmethod
    def coerce(cls, obj: Source | dict | str | os.PathLike) -> Source:
        """Accept a Source, a dict of Source fields (from a config file), or "lang:path"."""
        if isinstance(obj, Source):
            return obj
        if isinstance(obj, dict):
            try:
                return cls(**obj)
            except TypeError as e:
                raise TandemError(f"bad source entry {obj}: {e}") from None
        text = str(obj)
        lang, sep, path = text.partition(":")
        if not sep or not lang or not path:
            raise TandemError(f"bad source {text!r}: write it as LANG:PATH, e.g. en:data/en.txt")
        return cls(path=path, lang=lang)


@dataclass
class Item:
    """One record from a reader. kind: "doc" (payload = text, or token array for caches), "bad" (payload =
    (stat name, message)), or "epoch_end". `cursor` is the reader position after this record."""

    kind: str
    payload: Any
    cursor: dict
    record: tuple[int, int] = (-1, -1)  # (epoch, record index): identifies the document


def _ext_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix == ".parquet":
        return "parquet"
    return "txt"


def resolve_files(src: Source) -> tuple[str, list[Path]]:
    """The format and the list of files of a source; raises TandemError when the path does not exist."""
    fmt = src.format
    if fmt == "hf":
        return fmt, []
    p = Path(str(src.path))
    if fmt == "auto" and _saved_hf(p):  # a Dataset or DatasetDict saved with save_to_disk
        return "hf", []
    if fmt == "tokens" or (fmt == "auto" and p.is_dir() and (p / "offsets.npy").exists()):
        if not (p / "offsets.npy").exists():
            raise TandemError(
                f"source {p}: not a token cache (offsets.npy missing); build it with build_cache"
            )
        return "tokens", [p]
    if p.is_file():
        files = [p]
    elif p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
    else:
        files = sorted(Path(f) for f in glob.glob(str(p), recursive=True) if Path(f).is_file())
        if not files:
            raise TandemError(f"source {p}: no such file, directory or glob match; check the path")
    if fmt == "auto":
        fmt = _ext_format(files[0]) if files else "txt"
    return fmt, files


def source_size(src: Source, files: Sequence[Path], fmt: str) -> float:
    """The weight basis of a source before upsampling (see Source.size)."""
    if src.size is not None:
        return float(src.size)
    if fmt == "tokens":
        return float(np.load(files[0] / "offsets.npy", mmap_mode="r")[-1])
    if fmt == "hf":
        return float(len(_load_hf(src)))
    return float(sum(f.stat().st_size for f in files))


def _load_hf(src: Source) -> Any:
    try:
        import datasets
    except ImportError:
        raise TandemError(
            f"source {src.path}: format 'hf' needs the `datasets` package (pip install datasets)"
        ) from None
    p = Path(str(src.path))
    try:
        if _saved_hf(p):  # read in place: load_dataset would copy it into ~/.cache/huggingface
            ds = datasets.load_from_disk(str(p))
        else:
            return datasets.load_dataset(str(src.path), src.hf_config, split=src.split)
    except Exception as e:  # datasets raises many types; the user needs the path and the reason
        raise TandemError(f"source {src.path}: could not load Hugging Face dataset: {e}") from None
    if isinstance(ds, datasets.DatasetDict):
        if src.split not in ds:
            raise TandemError(
                f"source {src.path}: the saved DatasetDict has no split {src.split!r}; it has "
                f'{", ".join(ds)}: set the source\'s split, e.g. {{"split": "{next(iter(ds), "train")}"}}'
            )
        ds = ds[src.split]
    return ds


def _saved_hf(p: Path) -> bool:
    """A directory written by `Dataset.save_to_disk` or `DatasetDict.save_to_disk`."""
    if not p.is_dir():
        return False
    return (p / "dataset_dict.json").is_file() or all(
        (p / f).is_file() for f in ("dataset_info.json", "state.json")
    )


def _epoch_order(n: int, seed: int, src_index: int, epoch: int, shuffle: bool) -> list[int]:
    if not shuffle or n <= 1:
        return list(range(n))
    return np.random.default_rng([seed, src_index, epoch, 7]).permutation(n).tolist()


class Reader:
    """Resumable cursor over one source's records for one rank. `next()` never raises on bad data."""

    def __init__(
        self,
        src: Source,
        src_index: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        cursor: dict | None = None,
    ) -> None:
        self.src = src
        self.src_index = src_index
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.fmt, self.files = resolve_files(src)
        self._fh: Any = None  # open binary file (txt/jsonl)
        self._table: Any = None  # parquet rows of the current file, hf dataset, or token cache
        self._offsets: Any = None
        self.cursor = dict(cursor) if cursor else {"epoch": 0, "file": 0, "offset": 0, "line": 0, "record": 0}
        self._order = self._make_order()
        if self.fmt == "hf":
            self._table = _load_hf(src)
        elif self.fmt == "tokens":
            d = self.files[0]
            self._offsets = np.load(d / "offsets.npy", mmap_mode="r")
            self._table = np.memmap(d / "tokens.bin", dtype=np.uint32, mode="r")
            if len(self._offsets) < 1:
                self._offsets = np.zeros(1, dtype=np.int64)

    # -- helpers -------------------------------------------------------------------------------------------
    def _make_order(self) -> list[int]:
        return _epoch_order(
            len(self.files), self.seed, self.src_index, self.cursor["epoch"], self.src.shuffle_files
        )

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def _mine(self, record: int) -> bool:
        return record % self.world_size == self.rank

    def _end_epoch(self) -> Item:
        c = self.cursor
        ended = c["epoch"]
        self.close()
        self.cursor = {"epoch": ended + 1, "file": 0, "offset": 0, "line": 0, "record": 0}
        self._order = self._make_order()
        return Item("epoch_end", ended, dict(self.cursor))

    def _record_count_flat(self) -> int:
        if self.fmt == "hf":
            return len(self._table)
        return len(self._offsets) - 1

    # -- main entry ----------------------------------------------------------------------------------------
    def next(self) -> Item:
        """The next record owned by this rank (or a bad record, or an epoch end)."""
        if self.fmt in ("hf", "tokens"):
            return self._next_indexed()
        if self.fmt == "parquet":
            return self._next_parquet()
        return self._next_text()

    def _next_indexed(self) -> Item:
        c = self.cursor
        n = self._record_count_flat()
        order_key = c["record"]
        while order_key < n and not self._mine(order_key):
            order_key += 1
        if order_key >= n:
            return self._end_epoch()
        c["record"] = order_key + 1
        rec = (c["epoch"], order_key)
        where = f"{self.src.path} row {order_key}"
        if self.fmt == "tokens":
            a, b = int(self._offsets[order_key]), int(self._offsets[order_key + 1])
            return Item("doc", np.asarray(self._table[a:b], dtype=np.int64), dict(c), rec)
        row = self._table[order_key]
        return self._from_mapping(row, where, rec)

    def _from_mapping(self, row: Any, where: str, rec: tuple[int, int]) -> Item:
        fld = self.src.field
        if not isinstance(row, dict) or fld not in row or row[fld] is None:
            return Item(
                "bad", ("missing_field", f"{where}: field {fld!r} missing (skipped)"), dict(self.cursor), rec
            )
        text = row[fld]
        if not isinstance(text, str):
            return Item(
                "bad",
                ("missing_field", f"{where}: field {fld!r} is not a string (skipped)"),
                dict(self.cursor),
                rec,
            )
        if not text.strip():
            return Item("bad", ("empty_docs", f"{where}: empty document (skipped)"), dict(self.cursor), rec)
        return Item("doc", text, dict(self.cursor), rec)

    def _next_parquet(self) -> Item:
        c = self.cursor
        while True:
            if c["file"] >= len(self.files):
                return self._end_epoch()
            path = self.files[self._order[c["file"]]]
            if self._table is None:
                try:
                    import pyarrow.parquet as pq
                except ImportError:
                    raise TandemError(
                        f"source {path}: parquet needs pyarrow (pip install 'tandem[data]')"
                    ) from None
                try:
                    self._table = pq.read_table(path, columns=[self.src.field]).column(0).to_pylist()
                except Exception as e:  # a corrupt or foreign file: report it and move on
                    self._table = None
                    c["file"] += 1
                    c["line"] = 0
                    msg = (
                        f"{path}: unreadable parquet or column {self.src.field!r} missing ({e}); file skipped"
                    )
                    return Item("bad", ("bad_files", msg), dict(c))
            if c["line"] >= len(self._table):
                self._table = None
                c["file"] += 1
                c["line"] = 0
                continue
            i = c["line"]
            c["line"] += 1
            rec_id = c["record"]
            c["record"] += 1
            if not self._mine(rec_id):
                continue
            value = self._table[i]
            return self._from_mapping({self.src.field: value}, f"{path} row {i}", (c["epoch"], rec_id))

    def _open(self) -> Any:
        c = self.cursor
        path = self.files[self._order[c["file"]]]
        fh = open(path, "rb")  # noqa: SIM115 - the reader keeps it open across calls
        fh.seek(c["offset"])
        self._fh = fh
        return fh

    def _next_text(self) -> Item:
        c = self.cursor
        mode = "jsonl" if self.fmt == "jsonl" else self.src.txt_docs
        while True:
            if c["file"] >= len(self.files):
                return self._end_epoch()
            path = self.files[self._order[c["file"]]]
            fh = self._fh or self._open()
            first_line = c["line"] + 1
            if mode == "file":
                raw = fh.read()
                lines = 1 if raw else 0
            elif mode == "paragraph":
                parts: list[bytes] = []
                lines = 0
                while True:
                    line = fh.readline()
                    if not line:
                        break
                    lines += 1
                    if line.strip():
                        parts.append(line)
                    elif parts:  # a blank line ends a paragraph
                        break
                    else:
                        first_line += 1
                raw = b"".join(parts)
            else:
                raw = fh.readline()
                lines = 1 if raw else 0
            if not raw:
                self.close()  # end of this file (empty files are reported when the stream is built)
                c["file"] += 1
                c["offset"] = 0
                c["line"] = 0
                continue
            c["offset"] = fh.tell()
            c["line"] += lines
            rec_id = c["record"]
            c["record"] += 1
            if not self._mine(rec_id):
                continue
            rec = (c["epoch"], rec_id)
            where = f"{path} line {first_line}"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                return Item(
                    "bad",
                    ("invalid_utf8", f"{where}: invalid UTF-8 at byte {e.start} (skipped)"),
                    dict(c),
                    rec,
                )
            if mode == "jsonl":
                if not text.strip():
                    return Item("bad", ("empty_docs", f"{where}: blank line (skipped)"), dict(c), rec)
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as e:
                    return Item(
                        "bad", ("bad_json", f"{where}: invalid JSON ({e.msg}) (skipped)"), dict(c), rec
                    )
                return self._from_mapping(row, where, rec)
            text = text.rstrip("\r\n") if mode == "line" else text.strip()
            if not text.strip():
                return Item("bad", ("empty_docs", f"{where}: empty document (skipped)"), dict(c), rec)
            return Item("doc", text, dict(c), rec)
