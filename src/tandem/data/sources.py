"""Document sources (txt / jsonl, either also gzipped / parquet / Hugging Face datasets / token caches) read
through resumable cursors.

A reader walks its records in a fixed order, one epoch after another, and can be reopened at any saved
cursor. Record k of an epoch belongs to rank `k % world_size`, so ranks see disjoint documents whose union
is the whole source. Bad records (invalid UTF-8, bad JSON, a missing field, empty text) come back as
`Item("bad", ...)` so the consumer counts them at the moment it consumes them; this keeps statistics exact
across a resume. With `Source.shuffle_docs` the records of a file are read in blocks of that many, each block
in a seeded order (see `block_order`); a cursor then names the block and how far into its order it got, so a
resume reads the block again instead of saving it.
"""

from __future__ import annotations

import codecs
import dataclasses
import glob
import gzip
import hashlib
import io
import json
import math
import os
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tandem.data.sampling import language_tag
from tandem.errors import TandemError
from tandem.jsonl import JSON_LINE_FACTOR

FORMATS = ("txt", "jsonl", "parquet", "hf", "tokens")
TXT_MODES = ("line", "paragraph", "file")


@dataclass
class Source:
    """One corpus in one language.

    path: a file, a directory (all its files, sorted) or a glob (txt and jsonl files may be gzipped, .gz;
    zstd, xz, bzip2 and lz4 files and archives are refused with what to do); for format "hf" a dataset name on the Hub
    or a local directory (`datasets.load_dataset`), or a Dataset or DatasetDict saved with `save_to_disk`
    (read in place with `load_from_disk`, found also with format "auto"); for "tokens" a cache directory
    made by `tandem.data.build_cache`.
    split: the split of a Hub dataset or a saved DatasetDict.
    format: "auto" (from the file extension, without a .gz), "txt", "jsonl", "parquet", "hf" or "tokens".
    field: the text field (jsonl), column (parquet) or feature (hf).
    upsample: multiplies this source's sampling weight (AlexaTM: Wikipedia x10).
    size: the weight basis; by default the bytes of UTF-8 text the source holds, whatever its format (see
    `source_size`; for a token cache, the size of the text source it was built from, or its tokens for
    caches built before caches recorded that). Set it to weigh by something else, e.g. token counts.
    txt_docs: in txt files, one document per "line", per blank-line separated "paragraph", or per "file".
    shuffle_files: read the files in another seeded order each epoch.
    shuffle_docs: read the records of each file in blocks of this many consecutive records, each block in a
    seeded order that changes every epoch (0: file order). A resume reads the current block again, so a block
    is never saved; the reader holds up to this many documents in memory (of its own rank).
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
    shuffle_docs: int = 0

    def __post_init__(self) -> None:
        # a config file can hold anything: check types here, where the message can name the source and field
        def bad(field: str, what: str) -> TandemError:
            value = getattr(self, field)
            return TandemError(f"source {self.path}: {field} must be {what}, got {value!r}")

        if not isinstance(self.path, str | os.PathLike) or not str(self.path):
            raise TandemError(f"source {self.path!r}: path must be a file, directory or glob (a string)")
        if not isinstance(self.lang, str) or not self.lang:
            raise bad("lang", 'a language code (a non-empty string), e.g. "en"')
        language_tag(
            self.lang, f"source {self.path}: lang"
        )  # a malformed tag: a TandemError naming the source
        for name in ("format", "field", "txt_docs", "split"):
            if not isinstance(getattr(self, name), str):
                raise bad(name, "a string")
        for name in ("name", "hf_config"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise bad(name, "a string (or null)")
        if not isinstance(self.shuffle_files, bool):
            raise bad("shuffle_files", "true or false")
        k = self.shuffle_docs
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise bad(
                "shuffle_docs", "an integer >= 0 (records per shuffled block, e.g. 1000; 0: file order)"
            )
        for name in ("upsample", "size"):
            v = getattr(self, name)
            if name == "size" and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise bad(
                    name, "a finite number >= 0" + (" (0: never sampled)" if name == "upsample" else "")
                )
        if self.format not in ("auto", *FORMATS):
            raise TandemError(f"source {self.path}: unknown format {self.format!r}; use one of {FORMATS}")
        if self.txt_docs not in TXT_MODES:
            raise TandemError(
                f"source {self.path}: txt_docs must be one of {TXT_MODES}, got {self.txt_docs!r}"
            )
        if self.name is None:
            self.name = f"{self.lang}:{Path(str(self.path)).name}"

    @classmethod
    def coerce(cls, obj: Source | dict | str | os.PathLike) -> Source:
        """Accept a Source, a dict of Source fields (from a config file), or "lang:path"."""
        if isinstance(obj, Source):
            return obj
        if isinstance(obj, dict):
            fields = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(obj) - fields)
            if unknown:
                raise TandemError(
                    f"source entry {obj}: unknown keys {unknown}; known: {', '.join(sorted(fields))}"
                )
            missing = [k for k in ("path", "lang") if k not in obj]
            if missing:
                raise TandemError(
                    f'source entry {obj}: missing {" and ".join(missing)}, e.g. {{"path": "wiki/en.txt", "lang": "en"}}'
                )
            return cls(**obj)
        text = str(obj)
        lang, sep, path = text.partition(":")
        if not sep or not lang or not path:
            raise TandemError(f"bad source {text!r}: write it as LANG:PATH, e.g. en:data/en.txt")
        return cls(path=path, lang=lang)


@dataclass
class Item:
    """One record from a reader. kind: "doc" (payload = text, or token array for caches), "bad" (payload =
    (stat name, message)), or "epoch_end". `cursor` is the reader position after this record. `where` names
    the file and line (or row) of the record; `note` is a (stat, message) about a document that is used all
    the same (a long one split in pieces); `always`: a "bad" item to count on every pass, not only the first
    (a file that changed since the checkpoint the reader resumed from)."""

    kind: str
    payload: Any
    cursor: dict
    record: tuple[int, int] = (-1, -1)  # (epoch, record index): identifies the document
    where: str = ""
    note: tuple[str, str] | None = None
    always: bool = False
    text_hash: int | None = None  # a token cache's `text_hash` of the text the document was tokenised from


def is_gzip(path: Path) -> bool:
    """Whether a text or jsonl file is read through gzip (its name ends in .gz)."""
    return path.name.lower().endswith(".gz")


def _ext_format(path: Path) -> str:
    name = path.name.lower()
    suffix = os.path.splitext(name[:-3] if name.endswith(".gz") else name)[1]  # en.jsonl.gz is jsonl
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix == ".parquet":
        return "parquet"
    return "txt"


def file_format(src: Source, path: Path) -> str:
    """The format a file of a source is read in: the source's, or for "auto" the file's own extension with a
    .gz stripped (a directory may mix .txt, .jsonl and .parquet files, and .txt.gz and .jsonl.gz ones)."""
    return _ext_format(path) if src.format == "auto" else src.format


# compressions (and archives) the readers do not read: (what it is, how to decompress it to stdout)
_UNREAD = {
    ".zst": ("zstd-compressed", "zstd -dc"),
    ".zstd": ("zstd-compressed", "zstd -dc"),
    ".xz": ("xz-compressed", "xz -dc"),
    ".lzma": ("lzma-compressed", "xz -dc"),
    ".bz2": ("bzip2-compressed", "bzip2 -dc"),
    ".lz4": ("lz4-compressed", "lz4 -dc"),
}
_ARCHIVES = (".zip", ".7z", ".tar", ".tgz", ".tar.gz")


def _unreadable(path: Path) -> str | None:
    """Why a file of a text source cannot be read, and what to do, for compressions other than gzip and for
    archives (read as text they would give a flood of invalid UTF-8 lines); None for other files."""
    name = path.name.lower()
    suffix = os.path.splitext(name)[1]
    if suffix in _UNREAD:
        what, cmd = _UNREAD[suffix]
        plain = path.name[: -len(suffix)]
        return (
            f"{path} is {what}, which is not read (only gzip is, as .gz): decompress it "
            f"({cmd} {path.name} > {plain}) or recompress it with gzip ({cmd} {path.name} | gzip > {plain}.gz) "
            "and give the source the result"
        )
    if name.endswith(_ARCHIVES):
        return f"{path} is an archive, which is not read: extract its files and give the source those"
    if name.endswith(".parquet.gz"):
        return f"{path} is a gzipped parquet file, which is not read: gunzip it (parquet compresses itself)"
    return None


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
        _check_cache(p)
        return "tokens", [p]
    if p.is_file():
        files = [p]
    elif p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
    else:
        files = sorted(Path(f) for f in glob.glob(str(p), recursive=True) if Path(f).is_file())
        if not files:
            raise TandemError(f"source {p}: no such file, directory or glob match; check the path")
    bad = [why for f in files if (why := _unreadable(f)) is not None]
    if bad:
        more = f" ({len(bad) - 1} more such files)" if len(bad) > 1 else ""
        if not p.is_file():
            more += "; or leave such files out of the source with a glob, e.g. DIR/*.txt"
        raise TandemError(f"source {p}: {bad[0]}{more}")
    if fmt == "auto":
        fmt = _ext_format(files[0]) if files else "txt"
    return fmt, files


def _check_cache(p: Path) -> None:
    """A token cache whose offsets do not end where its tokens do (a build_cache killed while it replaced
    the files, or files copied from two builds) would serve documents cut at the wrong places."""
    try:
        offsets = np.load(p / "offsets.npy", mmap_mode="r")
    except (OSError, ValueError, EOFError) as e:
        raise TandemError(f"source {p}: offsets.npy cannot be read ({e}); build the cache again") from None
    tokens = p / "tokens.bin"
    size = tokens.stat().st_size if tokens.is_file() else 0
    end = int(offsets[-1]) if len(offsets) else 0
    if offsets.ndim != 1 or size != 4 * end:
        raise TandemError(
            f"source {p}: the token cache is inconsistent (offsets.npy ends at token {end}, tokens.bin holds "
            f"{size / 4:g} tokens): a build was interrupted or the files come from two builds; build the "
            "cache again with build_cache"
        )
    cache_layout(p, len(offsets) - 1)
    cache_text_hashes(p, len(offsets) - 1)


def cache_layout(p: Path, documents: int) -> tuple[list[dict], np.ndarray] | None:
    """The text files a token cache was built from (meta.json `files`: path, records, docs, in the order the
    source lists them) and each document's record index within its file (records.npy), for reading the cache
    in the order, and with the rank sharding, of its text source; None for a cache built before caches
    recorded them (read in cache order)."""
    try:
        files = json.loads((p / "meta.json").read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        return None
    if files is None:
        return None
    try:
        records = np.load(p / "records.npy", mmap_mode="r")
        ok = (
            isinstance(files, list)
            and all(isinstance(f, dict) and int(f["records"]) >= 0 and int(f["docs"]) >= 0 for f in files)
            and records.ndim == 1
            and len(records) == documents == sum(int(f["docs"]) for f in files)
        )
    except (OSError, ValueError, EOFError, KeyError, TypeError):
        ok = False
    if not ok:
        raise TandemError(
            f"source {p}: the token cache is inconsistent (meta.json, records.npy and offsets.npy disagree on "
            "its documents): a build was interrupted or the files come from two builds; build the cache "
            "again with build_cache"
        )
    return files, records


def cache_text_hashes(p: Path, documents: int) -> np.ndarray | None:
    """Each document's `text_hash` (hashes.npy) of a token cache, or None for a cache built before caches
    recorded them."""
    f = p / "hashes.npy"
    if not f.is_file():
        return None
    try:
        hashes = np.load(f, mmap_mode="r")
        ok = hashes.ndim == 1 and len(hashes) == documents
    except (OSError, ValueError, EOFError) as e:
        ok, hashes = False, e
    if not ok:
        raise TandemError(
            f"source {p}: the token cache is inconsistent (hashes.npy and offsets.npy disagree on its "
            "documents): a build was interrupted or the files come from two builds; build the cache again "
            "with build_cache"
        )
    return hashes


def cache_text_size(cache: Path) -> float | None:
    """The weight basis of the text source a token cache was built from (its meta.json `size`), or None for a
    cache built before caches recorded it."""
    try:
        size = json.loads((cache / "meta.json").read_text(encoding="utf-8")).get("size")
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(size, bool) or not isinstance(size, int | float) or not math.isfinite(size) or size < 0:
        return None
    return float(size)


def source_size(src: Source, files: Sequence[Path], fmt: str) -> float:
    """The weight basis of a source before upsampling (see Source.size): the bytes of UTF-8 text its
    documents hold, whatever the format, so that sources (and languages) stored in different formats are
    weighed alike. Text files count their size; parquet the uncompressed size of the text column; jsonl its
    size times the share of the text field in the bytes of its first lines (keys, other fields and \\u
    escapes are not text); a Hugging Face dataset the bytes of its text column. A .gz text or jsonl file counts
    its decompressed size (estimated, see `_gz_bytes`)."""
    if src.size is not None:
        return float(src.size)
    if fmt == "tokens":  # the text's weight, so a cache is sampled as its text source would be
        size = cache_text_size(files[0])
        return size if size is not None else float(np.load(files[0] / "offsets.npy", mmap_mode="r")[-1])
    if fmt == "hf":
        return _hf_text_bytes(src)
    total, jsonl, gz = 0.0, [], []
    for f in files:
        kind = file_format(src, f)
        if kind == "jsonl":
            jsonl.append(f)
        elif kind == "parquet":
            total += _parquet_text_bytes(f, src.field)
        elif is_gzip(f):
            gz.append(f)
        else:
            total += f.stat().st_size
    total += _gz_bytes(gz) if gz else 0.0
    return total + (_jsonl_text_bytes(jsonl, src.field) if jsonl else 0.0)


_SAMPLE_BYTES = 1 << 20  # read from the start of a jsonl file to measure the share of its text field
_SAMPLE_FILES = 16  # jsonl files of a source sampled (evenly spread), the share applied to all of them


def _spread(files: Sequence[Path]) -> list[Path]:
    """Up to _SAMPLE_FILES of `files`, evenly spread."""
    step = max(1, len(files) / _SAMPLE_FILES)
    return [files[int(k * step)] for k in range(min(len(files), _SAMPLE_FILES))]


def _gz_head(path: Path, limit: int) -> tuple[bytes, int, bool]:
    """The first `limit` + 1 decompressed bytes of a gzip file (fewer if it holds fewer; every member of a
    multi-member file), how many compressed bytes they came from, and whether that is the whole file. Corrupt
    data ends it quietly: the reader reports the file."""
    out, used, whole = bytearray(), 0, False
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip header and trailer
    fresh = True  # no byte of the current member seen yet
    try:
        with open(path, "rb") as fh:
            data = b""
            while len(out) <= limit:
                if not data:
                    data = fh.read(1 << 16)
                    if not data:
                        whole = fresh
                        break
                n = len(data)
                if fresh:
                    data = data.lstrip(b"\0")  # zero padding after a member, as gzip allows
                    if not data:
                        used += n
                        continue
                out += d.decompress(data, limit + 1 - len(out))
                fresh = d.eof
                if d.eof:  # the member ended; another one may follow
                    data = d.unused_data
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                else:
                    data = d.unconsumed_tail
                used += n - len(data)
    except (OSError, zlib.error):
        pass
    return bytes(out), used, whole


def _gz_bytes(files: Sequence[Path]) -> float:
    """The decompressed bytes of gzip files: those up to _SAMPLE_BYTES decompressed exactly, the others their
    size times the decompressed bytes per compressed byte of the first MiB of up to _SAMPLE_FILES of them.
    Not the ISIZE trailer: it holds the size of the last member only (files written by appending, pigz or
    bgzip have many), modulo 4 GiB."""
    out = used = 0
    exact: dict[Path, int] = {}
    for f in _spread(files):
        head, n, whole = _gz_head(f, _SAMPLE_BYTES)
        out, used = out + len(head), used + n
        if whole:
            exact[f] = len(head)
    ratio = out / used if used else 1.0
    total = 0.0
    for f in files:
        if f in exact:
            total += exact[f]
        else:
            try:
                total += f.stat().st_size * ratio
            except OSError:
                pass
    return total


def _jsonl_text_bytes(files: Sequence[Path], field: str) -> float:
    """The UTF-8 bytes (plus a newline each) of the `field` texts of jsonl files, estimated from the first
    lines of up to _SAMPLE_FILES of them (exact for files within the sample); their size when the sampled
    lines hold no such text (a misnamed field: weighed 0, the source would be dropped as empty before the
    reader could report the missing field, as with parquet)."""
    gz = [f for f in files if is_gzip(f)]
    total = float(sum(f.stat().st_size for f in files if not is_gzip(f))) + (_gz_bytes(gz) if gz else 0.0)
    raw = text = 0
    for f in _spread(files):
        try:
            if is_gzip(f):
                head = _gz_head(f, _SAMPLE_BYTES)[0]
            else:
                with open(f, "rb") as fh:
                    head = fh.read(_SAMPLE_BYTES + 1)
        except OSError:
            continue  # the reader reports it
        lines = head.split(b"\n")
        if len(head) > _SAMPLE_BYTES or not lines[-1]:
            lines.pop()  # cut short, the last line is incomplete; or the empty rest after the last newline
        for line in lines:
            raw += len(line) + 1
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):  # a bad line: no text (the reader skips it too)
                continue
            value = row.get(field) if isinstance(row, dict) else None
            if isinstance(value, str) and value.strip():
                text += len(value.encode("utf-8", "replace")) + 1
    return total * text / raw if text else total


def file_is_empty(path: Path) -> bool:
    """Whether a file holds nothing: no bytes, or for a .gz file no bytes once decompressed."""
    if path.stat().st_size == 0:
        return True
    if not is_gzip(path):
        return False
    head, _, whole = _gz_head(path, 0)
    return whole and not head


def _parquet_text_bytes(path: Path, field: str) -> float:
    """The uncompressed size of the `field` column of a parquet file (its file size if unreadable or without
    that column: the reader reports the file)."""
    try:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        names = [meta.schema.column(i).path for i in range(meta.num_columns)]
        col = names.index(field)
        return float(
            sum(meta.row_group(g).column(col).total_uncompressed_size for g in range(meta.num_row_groups))
        )
    except Exception:  # no pyarrow, a corrupt file, no such column
        return float(path.stat().st_size)


def _hf_text_bytes(src: Source) -> float:
    """The bytes of a Hugging Face dataset's `field` column (all its columns if it has no such column)."""
    ds = _load_hf(src)
    table = getattr(ds, "data", None)
    if table is None or not getattr(table, "num_rows", 0):
        return float(len(ds))
    try:
        nbytes = table.column(src.field).nbytes
    except (KeyError, ValueError, TypeError):
        nbytes = table.nbytes
    return float(nbytes) * len(ds) / table.num_rows  # a selection or filter views part of the table


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


def block_order(n: int, seed: int, src_index: int, epoch: int, file: int, start: int) -> list[int]:
    """The order in which a block of `n` records of a file is read with `Source.shuffle_docs`: offsets into
    the block, which starts at record `start` of the file (numbered in the file, from 0). `file` is the file's
    index in the source's sorted file list (the same in a token cache built from it), whatever order the files
    are read in; every rank computes the same order and reads its own records in it."""
    return np.random.default_rng([seed, src_index, epoch, file, start, 11]).permutation(n).tolist()


MAX_DOC_CHARS = 1_000_000  # longer documents are split into pieces of at most this many characters


def split_text(text: str, limit: int) -> list[str]:
    """`text` in consecutive pieces of at most `limit` characters, cut after a space or newline where one is
    in the second half of the window (deterministic: a resumed reader cuts a record the same way)."""
    pieces, i, n = [], 0, len(text)
    while n - i > limit:
        j = i + limit
        k = max(text.rfind(" ", i + limit // 2, j), text.rfind("\n", i + limit // 2, j))
        if k > i:
            j = k + 1
        pieces.append(text[i:j])
        i = j
    pieces.append(text[i:])
    return pieces


class _StreamSplit:
    """`split_text` of a text that comes in chunks, after the strip a reader applies to its records ("line":
    line ends, "file": surrounding whitespace), holding at most `limit` characters plus one chunk (and a run
    of whitespace that may turn out to end the text): `feed` and `end` return the pieces completed, the same
    pieces `split_text` gives for the whole stripped text."""

    def __init__(self, limit: int, mode: str):
        self.limit = limit
        self.chars: str | None = "\r\n" if mode == "line" else None  # str.rstrip's argument
        self.lead = mode != "line"  # strip leading whitespace too, until the first other character
        self.held = ""  # trailing characters of the strip set: the end of the text, unless more follows
        self.parts: list[str] = []
        self.size = 0  # characters in parts
        self.total = 0  # characters of the stripped text so far
        self.blank = True  # nothing but whitespace so far
        self.nul = False

    def feed(self, text: str) -> list[str]:
        if self.lead:
            text = text.lstrip()
            if not text:
                return []
            self.lead = False
        self.nul = self.nul or "\x00" in text
        body = text.rstrip(self.chars)
        if not body:
            self.held += text
            return []
        if self.blank and body.strip():
            self.blank = False
        text, self.held = self.held + body, text[len(body) :]
        self.parts.append(text)
        self.size += len(text)
        self.total += len(text)
        return self._cut() if self.size > self.limit else []

    def _cut(self) -> list[str]:
        buf, limit, out = "".join(self.parts), self.limit, []
        while len(buf) > limit:  # split_text's loop, i = 0 in buf
            j = limit
            k = max(buf.rfind(" ", limit // 2, j), buf.rfind("\n", limit // 2, j))
            if k > 0:
                j = k + 1
            out.append(buf[:j])
            buf = buf[j:]
        self.parts, self.size = [buf], len(buf)
        return out

    def end(self) -> list[str]:
        """The last pieces (held trailing characters dropped, as the strip drops them)."""
        return [*self._cut(), "".join(self.parts)]


@dataclass
class _Big:
    """A txt record too long to read whole (see Reader._scan): where it ends and what a reading of it found,
    for the item that stands for it; its text is read again, piece by piece, when it is used."""

    path: Path  # its file
    start: int  # offset of its first byte
    end: int  # offset after its last byte
    recent: bytes  # its last _TAIL bytes
    bad_byte: int | None = None  # where its first invalid UTF-8 is (a byte index in the record)
    blank: bool = True
    nul: bool = False
    chars: int = 0  # characters once stripped
    pieces: int = 0  # split_text pieces
    lines: int = 0  # lines read (a paragraph: with the blank lines before and after it)
    leading: int = 0  # blank lines before a paragraph


class _ParquetRows:
    """One column of a parquet file, read one row group at a time: a shard's text column can hold gigabytes,
    which a whole-file read would keep in memory (as Python strings) while the file is being used."""

    def __init__(self, pf: Any, field: str):
        self.pf, self.field = pf, field
        meta = pf.metadata
        self.starts = np.cumsum([0] + [meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
        self.n = int(self.starts[-1])
        self.lo, self.rows = 0, []  # the rows in memory: [lo, lo + len(rows))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        k = i - self.lo
        if 0 <= k < len(self.rows):
            return self.rows[k]
        g = int(np.searchsorted(self.starts, i, side="right")) - 1
        self.rows = []  # drop the previous group before reading the next
        self.rows = self.pf.read_row_group(g, columns=[self.field]).column(0).to_pylist()
        self.lo = int(self.starts[g])
        return self.rows[i - self.lo]


_TAIL = 64  # bytes before a text cursor's offset whose checksum the cursor keeps
_CHUNK = 1 << 16  # bytes read at a time from a txt record too long to read whole
# NUL characters do not occur in text: a document holding them is binary data read as text (a database dump,
# a mis-encoded file); sentencepiece would turn them into unknown pieces the model learns to produce
_NUL_MSG = "NUL characters (binary data, not text?) (skipped)"


# what a damaged gzip file raises while it is read: BadGzipFile (an OSError: not gzip, CRC or length check
# failed), EOFError (cut short), zlib.error (corrupt compressed data)
_GZ_ERRORS = (OSError, EOFError, zlib.error)
# compressed data in a file not named for it (read as text it would be a flood of invalid UTF-8 lines): no
# UTF-8 text starts with these bytes
_MAGIC = (
    (b"\x1f\x8b", "gzip-compressed data in a file whose name does not end in .gz; rename it to end in .gz"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data, which is not read; decompress it (zstd -d)"),
    (b"\xfd7zXZ\x00", "xz-compressed data, which is not read; decompress it (xz -d)"),
    (b"PK\x03\x04", "a zip archive, which is not read; extract its files"),
)


def _read_head(fh: Any, n: int) -> tuple[bytes, bool]:
    """Up to the first `n` bytes of a gzip file, fewer where it is damaged sooner (the lines before the
    damage are read all the same, and the damage then reported), and whether no damage was met."""
    parts: list[bytes] = []
    got = 0
    try:
        while got < n and (part := fh.read1(n - got)):
            parts.append(part)
            got += len(part)
    except _GZ_ERRORS:
        return b"".join(parts), False
    return b"".join(parts), True


def _skip_line(fh: Any, head: bytes) -> tuple[int, bytes]:
    """Read on to the end of the line whose first bytes `head` were read, _CHUNK bytes at a time; its length
    in bytes (line end included) and its last _TAIL bytes."""
    size, recent, seg = len(head), head[-_TAIL:], head
    while not seg.endswith(b"\n") and (seg := fh.readline(_CHUNK)):
        size += len(seg)
        recent = (recent + seg[-_TAIL:])[-_TAIL:]
    return size, recent


def _open_file(path: Path) -> Any:
    """A text or jsonl file opened for reading bytes: through gzip for a .gz file (offsets and seeks are then
    in the decompressed bytes)."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")  # noqa: SIM115 - kept open


def open_data_file(path: str | os.PathLike, what: str) -> Any:
    """A text or jsonl file outside a source (decontamination files, fine-tuning data) opened for reading
    bytes as the stream's readers open theirs: through gzip when named .gz. The compressions and archives a
    source refuses are refused here with the same message, and compressed data in a file not named for it too
    (read as text it would be a flood of invalid UTF-8); `what` names the file's role ("decontamination
    file"). Read its lines with `data_lines`, which names the file if its gzip data is damaged."""
    p, what = Path(path), f"{what} " if what else ""
    why = _unreadable(p)
    if why is not None:
        raise TandemError(f"{what}{why}")
    try:
        fh = _open_file(p)
    except OSError as e:
        raise TandemError(
            f"{what}{p}: cannot read ({e.strerror or e}); check the path and permissions"
        ) from e
    if not is_gzip(p):
        head = fh.peek(8)[:8]
        magic = next((m for b, m in _MAGIC if head.startswith(b)), None)
        if magic is not None:
            fh.close()
            raise TandemError(f"{what}{p}: {magic}")
    return fh


def data_lines(fh: Any, path: str | os.PathLike, what: str) -> Iterator[bytes]:
    """The lines (bytes, line ends kept) of a file opened with `open_data_file`; a .gz file that is cut
    short, corrupt or fails its CRC check is a TandemError naming it and the lines read before the damage."""
    p, lines = Path(path), 0
    try:
        for line in fh:
            lines += 1
            yield line
    except _GZ_ERRORS as e:
        if not is_gzip(p):  # a plain file's read error is not data
            raise
        raise gzip_error(p, what, e, lines) from None


def gzip_error(path: Path, what: str, error: BaseException, lines: int) -> TandemError:
    """The error for a damaged .gz file read whole (outside a source, whose reader skips the rest instead)."""
    name = "zlib.error" if isinstance(error, zlib.error) else type(error).__name__
    reason = f"{name}: {error}" if str(error) else name
    where = f"after line {lines:,}" if lines else "at its start"
    what = f"{what} " if what else ""
    return TandemError(
        f"{what}{path}: corrupt or truncated gzip file ({reason}) {where}; check it with gzip -t and "
        "recompress it from the original"
    )


def text_hash(text: str) -> int:
    """A stable 64-bit hash of a document's text (its UTF-8 bytes; the same in every process and Python
    run), which a token cache records per document so that decisions on the text (the held-out split) are
    the same from the cache."""
    return int.from_bytes(
        hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little"
    )


def _fresh_cursor(epoch: int = 0) -> dict:
    return {"epoch": epoch, "file": 0, "offset": 0, "line": 0, "record": 0, "piece": 0}


class Reader:
    """Resumable cursor over one source's records for one rank. `next()` never raises on bad data.

    A document of more than `max_doc_chars` characters comes back as several (a single 50 MB line would
    otherwise sit in the packing buffer, and in every checkpoint, for a long time); the cursor then says how
    many of its pieces were read ("piece"). A txt line, paragraph or file too long to read whole is read
    twice in chunks instead, to check and count it, then piece by piece (see `_scan`). Cursors of files also
    hold the file's path and size, and for text files a checksum of the bytes just before the offset: a
    reader reopened at a cursor whose file changed before that offset, or went away, says so (a
    "changed_files" item) and reads on from the start of that file, or from the next one; a file that only
    grew past the offset (appended to) is read on from it.

    With `src.shuffle_docs` = K the records of each file are read K at a time (records of every rank, counted
    from the file's start) and given in `block_order`; the cursor's file fields then hold the position where the
    block starts, "block" its first record's number in the file and "slot" how far into its order the reader
    got. A cursor without "block" (saved before, or with shuffle_docs 0) in the middle of a file reads the rest
    of that file in file order, and shuffles from the next one."""

    def __init__(
        self,
        src: Source,
        src_index: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        cursor: dict | None = None,
        max_doc_chars: int = MAX_DOC_CHARS,
    ) -> None:
        self.src = src
        self.src_index = src_index
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.max_doc_chars = max(1, int(max_doc_chars))
        self.fmt, self.files = resolve_files(src)
        self.file_fmts = [file_format(src, f) for f in self.files] if self.fmt not in ("hf", "tokens") else []
        self._fh: Any = None  # open binary file (txt/jsonl; a GzipFile for .gz)
        self._recent = b""  # up to _TAIL bytes before the cursor's offset in the open text file
        self._table: Any = None  # parquet rows of the current file, hf dataset, or token cache
        self._offsets: Any = None
        self._pending: deque[Item] = deque()  # notes on the resume position, pieces of a split document
        self.shuffle_docs = int(src.shuffle_docs)
        self._limit: int | None = None  # while a block is read: the epoch record number it ends before
        self._block: dict | None = None  # the block being given (see _fill_block)
        self._perm: tuple[tuple, list[int]] | None = None  # the last block_order computed, by its key
        self._pieces: Iterator[Item] | None = None  # the pieces still to come of a document read piecewise
        # a txt record (a line, paragraph, file) of more bytes than this is not read whole: it is read twice, once to
        # its end to check it and count its pieces, then piece by piece as they are used (see _scan)
        self._read_cap = 4 * self.max_doc_chars + 4
        # a jsonl line must be read whole to be parsed: one of more bytes than this is skipped (read in chunks
        # to its end, never held whole) as a "long_records" bad record (see JSON_LINE_FACTOR)
        self._json_cap = JSON_LINE_FACTOR * (self.max_doc_chars + 1)
        self.cursor = _fresh_cursor() | (dict(cursor) if cursor else {})
        self._cache_files: list[dict] | None = None  # a token cache's text files (see cache_layout)
        self._hashes: Any = None  # a token cache's text hash per document (see cache_text_hashes)
        if self.fmt == "hf":
            self._table = _load_hf(src)
        elif self.fmt == "tokens":
            d = self.files[0]
            self._offsets = np.load(d / "offsets.npy", mmap_mode="r")
            tokens = d / "tokens.bin"
            size = tokens.stat().st_size if tokens.is_file() else 0
            # an empty cache cannot be memory-mapped; it simply has no documents
            self._table = np.memmap(tokens, dtype=np.uint32, mode="r") if size else np.zeros(0, np.uint32)
            if len(self._offsets) < 1:
                self._offsets = np.zeros(1, dtype=np.int64)
            layout = cache_layout(d, len(self._offsets) - 1)
            self._hashes = cache_text_hashes(d, len(self._offsets) - 1)
            if layout is not None:
                self._cache_files, self._records = layout
                self._doc_start = np.cumsum([0] + [int(f["docs"]) for f in self._cache_files]).tolist()
        c = self.cursor
        if self.shuffle_docs and "block" not in c:
            # a cursor at the start of a file (or of a dataset) starts a block; one in the middle of a file
            # (saved without shuffle_docs) reads on in file order (see the class docstring)
            flat = self.fmt in ("hf", "tokens") and self._cache_files is None
            if not (c["record"] if flat else c["line"]):
                c.update(block=0, slot=0)
        elif not self.shuffle_docs:  # saved with shuffle_docs: read on in file order from the block's start
            c.pop("block", None)
            c.pop("slot", None)
        self._order = self._make_order()
        if cursor:
            self._check_resumed()

    # -- helpers -------------------------------------------------------------------------------------------
    def _make_order(self) -> list[int]:
        n = len(self._cache_files) if self._cache_files is not None else len(self.files)
        return _epoch_order(n, self.seed, self.src_index, self.cursor["epoch"], self.src.shuffle_files)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def _mine(self, record: int) -> bool:
        return record % self.world_size == self.rank

    def _end_epoch(self) -> Item:
        ended = self.cursor["epoch"]
        self.close()
        self._table = self._table if self.fmt in ("hf", "tokens") else None
        self.cursor = _fresh_cursor(ended + 1) | ({"block": 0, "slot": 0} if self.shuffle_docs else {})
        self._block = None
        self._order = self._make_order()
        return Item("epoch_end", ended, dict(self.cursor))

    def _next_file(self) -> None:
        """Move the cursor to the start of the next file of this pass."""
        self.close()
        self._table = None
        self._restart_file(self.cursor["file"] + 1)

    def _bad_file(self, path: Path, message: str, skipped: str = "file skipped") -> Item:
        self._next_file()
        return Item("bad", ("bad_files", f"{path}: {message}; {skipped}"), dict(self.cursor), where=str(path))

    def _bad_gzip(self, path: Path, fh: Any, error: BaseException) -> Item:
        """A .gz file that cannot be decompressed further (not gzip, cut short, corrupt, a failed CRC check):
        named with how far it was read. The documents before the damage were used (but not those decompressed
        along with the damaged block, at most a few KiB of text), the rest of the file is skipped."""
        c = self.cursor
        try:
            reached = max(int(fh.tell()), int(c["offset"]))
        except (*_GZ_ERRORS, ValueError):
            reached = int(c["offset"])
        fh.close()
        name = "zlib.error" if isinstance(error, zlib.error) else type(error).__name__
        reason = f"{name}: {error}" if str(error) else name
        where = f"after {reached:,} bytes of text" if reached else "at its start"
        return self._bad_file(
            path,
            f"corrupt or truncated gzip file ({reason}) {where}",
            f"its first {c['line']:,} lines were read, the rest is skipped" if c["line"] else "file skipped",
        )

    def _check_resumed(self) -> None:
        """A cursor from a checkpoint names the file it was in, that file's size and (text) a checksum of the
        bytes before its offset: if the file is now elsewhere in the list, gone, or holds other bytes before
        the offset (truncated, rewritten; without a checksum: another size), continuing at the saved offset
        would read from the middle of some line. Say so, and continue where that still makes sense."""
        c = self.cursor
        p = c.get("path")
        if p is None or self.fmt in ("hf", "tokens"):
            return
        names = [str(f) for f in self.files]
        if p not in names and not os.path.isabs(p) and os.path.isabs(str(self.src.path)):
            # a cursor saved while the source was read by a relative path (tandem pretrain before it read
            # sources by absolute ones) names its file against the working directory it is resumed from
            p = c["path"] = str(Path(p).absolute())
        here = names[self._order[c["file"]]] if c["file"] < len(names) else None
        msg = ""
        if p not in names:
            self._restart_file(c["file"])  # the file now at this position, from its start
            msg = f"{p}: gone since the checkpoint; continuing with the next file of source {self.src.name}"
        else:
            if here != p:
                c["file"] = self._order.index(names.index(p))
                msg = f"{p}: the files of source {self.src.name} changed since the checkpoint; continuing in {p}"
            size, saved = Path(p).stat().st_size, c.get("size")
            if "tail" in c:  # text: the bytes before the offset say whether it still starts a line
                if not self._reopen_at(Path(p)):
                    self._restart_file(c["file"])
                    msg = (
                        f"{p}: changed since the checkpoint ({saved} -> {size} bytes, other bytes before the "
                        "position reached); reading it again from its start"
                    )
                elif size != saved:
                    msg = (
                        f"{p}: changed since the checkpoint ({saved} -> {size} bytes) after the position "
                        "reached, which is unchanged (appended to?); reading on from it"
                    )
            elif size != saved:
                self._restart_file(c["file"])
                msg = f"{p}: changed since the checkpoint ({saved} -> {size} bytes); reading it again from its start"
        if msg:
            self._pending.append(Item("bad", ("changed_files", msg), dict(c), where=p, always=True))

    def _restart_file(self, index: int) -> None:
        c = self.cursor
        c["file"], c["offset"], c["line"], c["piece"] = index, 0, 0, 0
        for key in ("path", "size", "tail"):
            c.pop(key, None)
        self._block = None
        if self.shuffle_docs:
            c["block"], c["slot"] = 0, 0

    def _record_count_flat(self) -> int:
        if self.fmt == "hf":
            return len(self._table)
        return len(self._offsets) - 1

    # -- main entry ----------------------------------------------------------------------------------------
    def next(self) -> Item:
        """The next record owned by this rank (or a bad record, or an epoch end)."""
        if self._pending:
            return self._pending.popleft()
        if self._pieces is not None:
            it = next(self._pieces, None)
            if it is not None:
                return it
            self._pieces = None
        skip = int(self.cursor.get("piece", 0))  # pieces of the next record read before a resume
        self.cursor["piece"] = 0
        before = dict(self.cursor)
        it = self._next_record()
        if it.kind != "doc":
            return it
        if isinstance(it.payload, _Big):  # a record read piecewise
            big = it.payload
            if big.pieces == 1:
                return dataclasses.replace(it, payload=next(self._big_pieces(big)))
            chars, count, pieces = big.chars, big.pieces, self._big_pieces(big)
        else:
            if not isinstance(it.payload, str) or len(it.payload) <= self.max_doc_chars:
                return it
            text = it.payload
            split = split_text(text, self.max_doc_chars)
            chars, count, pieces = len(text), len(split), iter(split)
        note = (
            "split_docs",
            f"{it.where}: {chars:,} characters, more than max_doc_chars={self.max_doc_chars:,}; "
            f"used as {count} documents",
        )
        items = (
            Item(
                "doc",
                piece,
                dict(it.cursor) if k == count - 1 else {**before, "piece": k + 1},
                it.record,
                it.where,
                note if k == 0 else None,
            )
            for k, piece in enumerate(pieces)
            if k >= skip
        )
        first = next(items, None)
        if first is None:  # the record is shorter than when the cursor was saved
            return self.next()
        self._pieces = items
        return first

    def _scan(self, path: Path, fh: Any, head: bytes, mode: str, check: bool) -> _Big | None:
        """Read on to the end of a txt record whose first bytes `head` (from the cursor's offset) are more than
        _read_cap: to check it (UTF-8, blank, NUL: `check`, for a record of this rank) and count its pieces as
        they will be cut, holding one chunk and at most max_doc_chars characters at a time. A paragraph's bytes
        run from the blank lines before it to the blank line after it (both whitespace, which the strip of its
        text drops); None when only blank lines are left (the end of the file, as for a whole read)."""
        start = int(self.cursor["offset"])
        big = _Big(path, start, start, b"")
        decoder = codecs.getincrementaldecoder("utf-8")()
        split = _StreamSplit(self.max_doc_chars, mode)
        read = fh.read if mode == "file" else fh.readline
        fed = lead = 0  # bytes read; bytes of the blank lines before a paragraph
        in_line, line_blank, found = False, True, mode != "paragraph"  # paragraph: a line's state, text found

        def segments() -> Iterator[bytes]:  # a paragraph's head line by line, as a whole read met them
            if mode == "paragraph":
                part = io.BytesIO(head)
                while seg := part.readline():
                    yield seg
            else:
                yield head
            while seg := read(_CHUNK):
                yield seg
            yield b""  # the end of the file

        for seg in segments():
            if mode == "paragraph" and (seg.endswith(b"\n") or (not seg and in_line)):  # a line ends
                big.lines += 1
                if line_blank and not seg.strip():
                    if found:
                        seg_last = True  # the blank line after the paragraph
                    else:
                        big.leading += 1  # a blank line before it
                        lead = fed + len(seg)
                        seg_last = not seg
                else:
                    found, seg_last = True, not seg
                in_line, line_blank = False, True
            elif mode == "paragraph":
                in_line, line_blank = in_line or bool(seg), line_blank and not seg.strip()
                seg_last = not seg
            else:
                seg_last = not seg or (mode == "line" and seg.endswith(b"\n"))
            big.recent = (big.recent + seg[-_TAIL:])[-_TAIL:]
            if check and big.bad_byte is None:
                held = len(decoder.getstate()[0])
                try:
                    text = decoder.decode(seg, seg_last)
                except UnicodeDecodeError as e:  # as a whole-record decode: the byte index in the record
                    big.bad_byte = fed - held + e.start - lead
                else:
                    big.pieces += len(split.feed(text)) + (len(split.end()) if seg_last else 0)
            fed += len(seg)
            if seg_last:
                break
        if not found:
            return None
        big.lines = big.lines if mode == "paragraph" else 1
        big.end = start + fed
        big.blank, big.nul, big.chars = split.blank, split.nul, split.total
        return big

    def _big_pieces(self, big: _Big) -> Iterator[str]:
        """The pieces of a record `_scan` read, reading it again from its start in a handle of its own (a .gz
        file decompresses again up to there): the reader's file stays where it is, and may be closed, as
        after a shuffle_docs block, which gives its records after reading past them."""
        mode = "line" if self.src.txt_docs == "line" else "file"
        decoder = codecs.getincrementaldecoder("utf-8")()
        split = _StreamSplit(self.max_doc_chars, mode)
        with _open_file(big.path) as fh:
            fh.seek(big.start)
            left = big.end - big.start
            while left > 0:
                chunk = fh.read(min(_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield from split.feed(decoder.decode(chunk, left <= 0))
        yield from split.end()

    def _next_record(self) -> Item:
        if self._cache_files is not None:
            return self._next_cached()
        if self.fmt in ("hf", "tokens"):
            return self._next_indexed()
        c = self.cursor
        while True:
            if self._block is not None:
                it = self._from_block()
                if it is not None:
                    return it
                c = self.cursor
            if c["file"] >= len(self.files):
                return self._end_epoch()
            if self.shuffle_docs and "block" in c:
                self._fill_block()
                continue
            it = self._file_record()
            if it is not None:
                return it
            self._next_file()

    def _file_record(self) -> Item | None:
        """The next record of the current file (or a bad file), or None at its end (or at self._limit)."""
        k = self._order[self.cursor["file"]]
        path, fmt = self.files[k], self.file_fmts[k]
        return self._next_parquet(path) if fmt == "parquet" else self._next_text(path, fmt)

    def _block_order(self, file: int, start: int, n: int) -> list[int]:
        key = (self.cursor["epoch"], file, start, n)
        if self._perm is None or self._perm[0] != key:
            self._perm = (key, block_order(n, self.seed, self.src_index, self.cursor["epoch"], file, start))
        return self._perm[1]

    def _fill_block(self) -> None:
        """Read the block of shuffle_docs records that starts at the cursor (this rank's records among them;
        fewer at the end of the file) into self._block, to be given in block_order from the cursor's slot
        on. A file found bad on the way (unreadable, a damaged .gz) ends the block; its item comes last."""
        c = self.cursor
        k = self._order[c["file"]]
        skip = int(c["slot"])
        c["slot"] = 0
        start = dict(c)
        first = int(c["record"])
        items: dict[int, Item] = {}
        tail = None
        self._limit = first + self.shuffle_docs
        try:
            while (it := self._file_record()) is not None:
                if it.record[1] < 0:  # the file is skipped from here on: the cursor is at the next file
                    tail = it
                    break
                items[it.record[1] - first] = it
        finally:
            self._limit = None
        n = int(c["record"]) - first
        if tail is None:
            if n < self.shuffle_docs:  # the end of the file
                self._next_file()
            else:
                c["block"] = int(start["block"]) + n
        order = self._block_order(k, int(start["block"]), n)
        slots = deque(j for j in range(skip, n) if order[j] in items)
        self._block = {"start": start, "order": order, "items": items, "slots": slots, "tail": tail}
        self._block["after"] = dict(self.cursor)

    def _from_block(self) -> Item | None:
        """The next item of the block being given, or None (the cursor then at the next block) at its end.
        An item's cursor is its slot in the block's order, or (the block's last) the position after the block."""
        b = self._block
        assert b is not None
        if b["slots"]:
            j = b["slots"].popleft()
            it = b["items"].pop(b["order"][j])
            last = not b["slots"] and b["tail"] is None
            it.cursor = dict(b["after"]) if last else {**b["start"], "slot": j + 1}
            self.cursor = dict(it.cursor)
            return it
        tail, self._block = b["tail"], None
        self.cursor = dict(b["after"])
        return tail

    def _next_indexed(self) -> Item:
        c = self.cursor
        n = self._record_count_flat()
        if self.shuffle_docs and "block" in c:  # rows read in blocks, each in block_order (as one file)
            while c["block"] < n:
                start, size = c["block"], min(self.shuffle_docs, n - c["block"])
                order = self._block_order(0, start, size)
                while c["slot"] < size:
                    key = start + order[c["slot"]]
                    c["slot"] += 1
                    if self._mine(key):
                        return self._indexed_item(key)
                c["block"], c["slot"] = start + size, 0
            return self._end_epoch()
        order_key = c["record"]
        while order_key < n and not self._mine(order_key):
            order_key += 1
        if order_key >= n:
            return self._end_epoch()
        c["record"] = order_key + 1
        return self._indexed_item(order_key)

    def _indexed_item(self, order_key: int) -> Item:
        c = self.cursor
        rec = (c["epoch"], order_key)
        where = f"{self.src.path} row {order_key}"
        if self.fmt == "tokens":
            a, b = int(self._offsets[order_key]), int(self._offsets[order_key + 1])
            ids = np.asarray(self._table[a:b], dtype=np.int64)
            return Item("doc", ids, dict(c), rec, where, text_hash=self._text_hash(order_key))
        row = self._table[order_key]
        return self._from_mapping(row, where, rec)

    def _next_cached(self) -> Item:
        """The next document of a token cache that records its text files: the files in the order the text
        reader reads them this epoch (shuffled alike), each document numbered (and so owned by a rank) as
        the text reader numbers its record. Cursor: "file" = position in that order, "record" = the records
        of the files before it, "line" = documents of this file already passed."""
        c = self.cursor
        files = self._cache_files
        while c["file"] < len(files):
            k = self._order[c["file"]]
            lo, hi = self._doc_start[k], self._doc_start[k + 1]
            if self.shuffle_docs and "block" in c:
                it = self._next_cached_block(k, lo, hi)
                if it is not None:
                    return it
            while lo + c["line"] < hi and not (self.shuffle_docs and "block" in c):
                e = lo + c["line"]
                c["line"] += 1
                local = int(self._records[e])
                rec_id = c["record"] + local
                if self._mine(rec_id):
                    return self._cached_item(k, e)
            c["record"] += int(files[k]["records"])
            c["file"] += 1
            c["line"] = 0
            if self.shuffle_docs:
                c["block"], c["slot"] = 0, 0
        return self._end_epoch()

    def _next_cached_block(self, k: int, lo: int, hi: int) -> Item | None:
        """With shuffle_docs: the next document of file k of the cache (documents lo..hi) in the text reader's
        block order, or None at the file's end. The cache holds the documents of the records that have one,
        in record order (a record split in pieces has several): each record in a block's order gives its
        documents. Cursor: "block" and "slot" as in a text file, "line" = documents of that record given."""
        c = self.cursor
        total = int(self._cache_files[k]["records"])
        records = self._records[lo:hi]
        while c["block"] < total:
            start, size = c["block"], min(self.shuffle_docs, total - c["block"])
            order = self._block_order(k, start, size)
            while c["slot"] < size:
                local = start + order[c["slot"]]
                a = b = 0
                if self._mine(c["record"] + local):
                    a = lo + int(np.searchsorted(records, local, "left"))
                    b = lo + int(np.searchsorted(records, local, "right"))
                e = a + c["line"]
                if e + 1 < b:
                    c["line"] += 1
                else:
                    c["slot"], c["line"] = c["slot"] + 1, 0
                if e < b:
                    return self._cached_item(k, e)
            c["block"], c["slot"] = start + size, 0
        return None

    def _cached_item(self, k: int, e: int) -> Item:
        """Document e of a token cache, from file k, as its text reader numbers it (the cursor is past it)."""
        c = self.cursor
        local = int(self._records[e])
        rec_id = c["record"] + local
        a, b = int(self._offsets[e]), int(self._offsets[e + 1])
        where = (
            f"{self._cache_files[k].get('path', f'file {k}')} record {local} (token cache {self.src.path})"
        )
        ids = np.asarray(self._table[a:b], dtype=np.int64)
        return Item("doc", ids, dict(c), (c["epoch"], rec_id), where, text_hash=self._text_hash(e))

    def _text_hash(self, e: int) -> int | None:
        """The text hash of document e of a token cache (None: the cache does not record them)."""
        return None if self._hashes is None else int(self._hashes[e])

    def _from_mapping(self, row: Any, where: str, rec: tuple[int, int]) -> Item:
        fld = self.src.field
        c = dict(self.cursor)
        if not isinstance(row, dict):
            kinds = {
                list: "an array",
                str: "a string",
                int: "a number",
                float: "a number",
                bool: "true/false",
            }
            what = f"{kinds.get(type(row), 'null')} where a JSON object was expected"
            return Item("bad", ("missing_field", f"{where}: {what} (skipped)"), c, rec, where)
        if fld not in row or row[fld] is None:
            return Item("bad", ("missing_field", f"{where}: field {fld!r} missing (skipped)"), c, rec, where)
        text = row[fld]
        if not isinstance(text, str):
            return Item(
                "bad",
                ("missing_field", f"{where}: field {fld!r} is {type(text).__name__}, not a string (skipped)"),
                c,
                rec,
                where,
            )
        if not text.strip():
            return Item("bad", ("empty_docs", f"{where}: empty document (skipped)"), c, rec, where)
        if "\x00" in text:
            return Item("bad", ("nul_docs", f"{where}: {_NUL_MSG}"), c, rec, where)
        return Item("doc", text, c, rec, where)

    def _next_parquet(self, path: Path) -> Item | None:
        """The next record of this parquet file, or None at its end."""
        c = self.cursor
        fld = self.src.field
        if self._table is None:
            try:
                import pyarrow.parquet as pq
            except ImportError:
                raise TandemError(
                    f"source {path}: parquet needs pyarrow (pip install 'tandem[data]')"
                ) from None
            try:  # a corrupt or foreign file: report it and move on
                pf = pq.ParquetFile(path)
                names = list(pf.schema_arrow.names)
            except Exception as e:
                return self._bad_file(path, f"not a readable parquet file ({e})")
            if fld not in names:
                return self._bad_file(
                    path,
                    f"no column {fld!r} (its columns: {', '.join(names[:10]) or 'none'}); set the source's "
                    f'field, e.g. {{"field": "{names[0] if names else "text"}"}}',
                )
            self._table = _ParquetRows(pf, fld)
            c["path"], c["size"] = str(path), path.stat().st_size
        while True:
            if c["line"] >= len(self._table) or (self._limit is not None and c["record"] >= self._limit):
                return None
            i = c["line"]
            c["line"] += 1
            rec_id = c["record"]
            c["record"] += 1
            if not self._mine(rec_id):
                continue
            try:
                value = self._table[i]
            except Exception as e:  # a damaged row group
                return self._bad_file(path, f"unreadable parquet at row {i} ({e})")
            return self._from_mapping({fld: value}, f"{path} row {i}", (c["epoch"], rec_id))

    def _reopen_at(self, path: Path) -> bool:
        """On a resume: open `path` at the cursor's offset if the bytes before it are those the cursor saw
        (their checksum); keeps it open for reading on (a .gz file is then decompressed up to the offset once,
        not twice). False, with nothing open, if they differ or cannot be read."""
        try:
            fh = _open_file(path)
        except OSError:
            return False
        try:
            self._seek(fh, int(self.cursor["offset"]))
        except _GZ_ERRORS:  # cut short before the offset, or damaged: reread (and reported) from its start
            fh.close()
            return False
        end = int(self.cursor["offset"])
        if len(self._recent) != min(_TAIL, end) or zlib.crc32(self._recent) != self.cursor["tail"]:
            fh.close()
            return False
        self.close()
        self._fh = fh
        self.cursor["path"], self.cursor["size"] = str(path), os.fstat(fh.fileno()).st_size
        return True

    def _seek(self, fh: Any, offset: int) -> None:
        """Move `fh` to `offset`, keeping the up to _TAIL bytes before it (the window whose checksum each
        cursor keeps) in self._recent. A gzip file seeks forward by decompressing everything before the
        offset: slow for a big file, but done once per resume (the reader then keeps the file open)."""
        fh.seek(max(0, offset - _TAIL))
        self._recent = fh.read(offset - fh.tell())

    def _open(self, path: Path) -> Item | None:
        """Open the current text file at the cursor (a .gz file through gzip); a UTF-16/32 file is reported
        and skipped (it would read as text full of NUL bytes), a UTF-8 byte-order mark is skipped, and so is
        a file of compressed data not named .gz, and a .gz file that cannot be decompressed."""
        c = self.cursor
        gz = is_gzip(path)
        fh = _open_file(path)
        try:
            if c["offset"] == 0:
                if gz:
                    head, ok = _read_head(fh, 1 << 16)
                    if not ok:  # a GzipFile that raised is in no state to seek: start afresh
                        fh.close()
                        fh = _open_file(path)
                else:
                    head = fh.read(1 << 16)
                magic = next((m for b, m in _MAGIC if head.startswith(b)), None) if not gz else None
                if head.startswith(codecs.BOM_UTF8):
                    c["offset"] = len(codecs.BOM_UTF8)
                elif (
                    head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or head[:4] == codecs.BOM_UTF32_BE
                ):
                    fh.close()
                    return self._bad_file(
                        path, "UTF-16/UTF-32 text (byte-order mark); convert it to UTF-8, e.g. iconv -t UTF-8"
                    )
                elif magic is not None:
                    fh.close()
                    return self._bad_file(path, magic)
                elif b"\n" not in head and head.count(b"\r") > 1:  # classic Mac line ends: read as one line
                    fh.close()
                    return self._bad_file(
                        path, "lines end in a bare carriage return (\\r); convert them, e.g. tr '\\r' '\\n'"
                    )
            self._seek(fh, c["offset"])
        except _GZ_ERRORS as e:
            if not gz:
                fh.close()
                raise
            return self._bad_gzip(path, fh, e)
        c["path"], c["size"] = str(path), os.fstat(fh.fileno()).st_size
        self._fh = fh
        return None

    def _big_item(self, big: _Big, rec: tuple[int, int], where: str) -> Item:
        """The item of a record `_scan` read: bad as its text read whole would be, else a document whose
        payload is the _Big that `next` reads its pieces from."""
        c = dict(self.cursor)
        if big.bad_byte is not None:
            msg = f"{where}: invalid UTF-8 at byte {big.bad_byte} (skipped)"
            return Item("bad", ("invalid_utf8", msg), c, rec, where)
        if big.blank:
            return Item("bad", ("empty_docs", f"{where}: empty document (skipped)"), c, rec, where)
        if big.nul:
            return Item("bad", ("nul_docs", f"{where}: {_NUL_MSG}"), c, rec, where)
        return Item("doc", big, c, rec, where)

    def _next_text(self, path: Path, fmt: str) -> Item | None:
        """The next record of this txt/jsonl file, or None at its end."""
        c = self.cursor
        mode = "jsonl" if fmt == "jsonl" else self.src.txt_docs
        while True:
            if self._limit is not None and c["record"] >= self._limit:
                return None
            if self._fh is None:
                bad = self._open(path)
                if bad is not None:
                    return bad
            fh = self._fh
            first_line = c["line"] + 1
            big = None
            long_line: tuple[int, bytes] | None = None  # a jsonl line skipped: its bytes and its last _TAIL
            try:
                if mode == "file":
                    raw = fh.read(self._read_cap + 1)
                    lines = 1 if raw else 0
                elif mode == "paragraph":
                    parts: list[bytes] = []
                    lines = 0
                    seen: list[bytes] = []  # every line read, blank ones too: the bytes before the new offset
                    size = 0
                    while True:
                        line = fh.readline(self._read_cap + 1)
                        if not line:
                            break
                        seen.append(line)
                        size += len(line)
                        if size > self._read_cap:  # not read whole: see _scan
                            big = self._scan(path, fh, b"".join(seen), mode, self._mine(c["record"]))
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
                    raw = fh.readline((self._json_cap if mode == "jsonl" else self._read_cap) + 1)
                    lines = 1 if raw else 0
                if mode == "jsonl":
                    if len(raw) > self._json_cap:  # too long to parse: skipped, read to its end in chunks
                        long_line = _skip_line(fh, raw)
                        raw = b"-"
                elif len(raw) > self._read_cap and mode != "paragraph":  # not read whole: see _scan
                    big = self._scan(path, fh, raw, mode, self._mine(c["record"]))
                if big is not None:
                    raw, lines, first_line = b"-", big.lines, c["line"] + 1 + big.leading
            except _GZ_ERRORS as e:  # a damaged .gz file (a plain file's read error is not data: raised)
                if not is_gzip(path):
                    raise
                self._fh = None
                return self._bad_gzip(path, fh, e)
            if not raw:
                return None  # end of this file (empty files are reported when the stream is built)
            c["offset"] = fh.tell()
            if big is not None:
                read = big.recent
            elif long_line is not None:
                read = long_line[1]
            else:
                read = b"".join(seen) if mode == "paragraph" else raw
            self._recent = (self._recent + read[-_TAIL:])[-_TAIL:]
            c["tail"] = zlib.crc32(self._recent)
            c["line"] += lines
            rec_id = c["record"]
            c["record"] += 1
            if not self._mine(rec_id):
                continue
            rec = (c["epoch"], rec_id)
            where = f"{path} line {first_line}"
            if big is not None:
                return self._big_item(big, rec, where)
            if long_line is not None:
                msg = (
                    f"{where}: a JSON line of {long_line[0]:,} bytes, more than the {self._json_cap:,} read whole "
                    f"({JSON_LINE_FACTOR} x max_doc_chars) (skipped)"
                )
                return Item("bad", ("long_records", msg), dict(c), rec, where)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                return Item(
                    "bad",
                    ("invalid_utf8", f"{where}: invalid UTF-8 at byte {e.start} (skipped)"),
                    dict(c),
                    rec,
                    where,
                )
            if mode == "jsonl":
                if not text.strip():
                    return Item("bad", ("empty_docs", f"{where}: blank line (skipped)"), dict(c), rec, where)
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as e:
                    msg = f"{where}: invalid JSON ({e.msg}) (skipped)"
                    return Item("bad", ("bad_json", msg), dict(c), rec, where)
                except (RecursionError, ValueError) as e:  # nested too deeply, a number too long, ...
                    msg = f"{where}: invalid JSON ({type(e).__name__}: {str(e)[:80]}) (skipped)"
                    return Item("bad", ("bad_json", msg), dict(c), rec, where)
                return self._from_mapping(row, where, rec)
            text = text.rstrip("\r\n") if mode == "line" else text.strip()
            if not text.strip():
                return Item("bad", ("empty_docs", f"{where}: empty document (skipped)"), dict(c), rec, where)
            if "\x00" in text:
                return Item("bad", ("nul_docs", f"{where}: {_NUL_MSG}"), dict(c), rec, where)
            return Item("doc", text, dict(c), rec, where)
