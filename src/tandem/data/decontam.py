"""13-gram decontamination: drop pretraining documents that share an n-gram with evaluation texts.

An n-gram is n consecutive words of the normalised text: NFKC, lower-cased, zero-width (non-)joiners and soft
hyphens removed. A word is a run of letters, digits and combining marks (so a Devanagari or Tamil word keeps
its vowel signs and viramas instead of falling apart into consonants), or one character of a script written
without spaces (kana, CJK ideographs, Hangul); punctuation separates words and is not part of any n-gram.
A document that shares one n-gram with an evaluation text is dropped whole.

N-grams are hashed the same way in every process (not with Python's `hash`, which PYTHONHASHSEED salts per
process): each word gets a 64-bit id (blake2b of its UTF-8 bytes) and an n-gram the polynomial rolling hash
of its ids modulo 2**64, so a Decontaminator built in one process decides identically in a spawned worker or
on another node.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import unicodedata
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tandem.data.sources import _GZ_ERRORS, gzip_error, is_gzip, open_data_file
from tandem.errors import TandemError


def _mark_class() -> str:
    """A regex character class body of the combining marks (Unicode categories Mn, Mc, Me) of planes 0-1.

    `\\w` leaves them out, and Brahmic scripts write most vowels and the virama with them: with `\\w+` alone
    "हिन्दी" is three words (ह, न, द) and a 13-gram spans four or five real words."""
    ranges, start = [], None
    for cp in range(min(sys.maxunicode, 0x1FFFF) + 2):
        mark = cp <= 0x1FFFF and unicodedata.category(chr(cp)).startswith("M")
        if mark and start is None:
            start = cp
        elif not mark and start is not None:
            ranges.append((start, cp - 1))
            start = None
    return "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges)


# Single characters of scripts written without spaces (so Japanese gets n-grams too), else runs of word
# characters and combining marks.
_WORD = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|[\w" + _mark_class() + r"]+", re.UNICODE
)
# invisible format characters inside words: ZWNJ/ZWJ (Indic conjunct shaping), soft hyphen, word joiner, BOM
_INVISIBLE = re.compile("[\u200c\u200d\u00ad\u2060\ufeff]")


def words(text: str) -> list[str]:
    """The words of a text after normalisation (NFKC, lower case, invisible joiners dropped)."""
    return _WORD.findall(_INVISIBLE.sub("", unicodedata.normalize("NFKC", text).lower()))


_MASK = (1 << 64) - 1
_P = 0x100000001B3  # odd multiplier (the 64-bit FNV prime)


def word_id(word: str) -> int:
    """A word's 64-bit id: the same in every process and on every machine."""
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def _rolling(ids: list[int | None], n: int) -> set[int]:
    """Hashes of the n-grams of `ids` (sum of id * P**(n-1-j), mod 2**64), skipping n-grams with a None id."""
    top, out, run, h = pow(_P, n - 1, 1 << 64), set(), 0, 0
    for i, v in enumerate(ids):
        if v is None:
            run = h = 0
            continue
        run += 1
        if run > n:
            h = ((h - ids[i - n] * top) * _P + v) & _MASK  # type: ignore[operator]
        else:
            h = (h * _P + v) & _MASK
        if run >= n:
            out.add(h)
    return out


def ngrams(text: str, n: int = 13) -> set[int]:
    """Stable 64-bit hashes of the word n-grams of a text (`words`; empty if it has fewer than n words)."""
    return _rolling([word_id(w) for w in words(text)], n)


def _strings(value: object) -> Iterable[str]:
    """Every string in a JSON value, nested objects and lists included (keys are not texts)."""
    stack = [value]
    while stack:  # no recursion: a deeply nested file must not overflow the stack
        v = stack.pop()
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
        elif isinstance(v, list):
            stack.extend(reversed(v))


_WHAT = "decontamination file"


def _file_texts(p: Path, field: str | None) -> Iterable[str]:
    """The evaluation texts of one file (see Decontaminator.from_files)."""
    # the kind from the name without a .gz, which is read through gzip as the stream reads its sources
    suffix = Path(p.name[:-3] if is_gzip(p) else p.name).suffix.lower()
    # utf-8-sig: a byte-order mark would make the first JSON line invalid
    with io.TextIOWrapper(open_data_file(p, _WHAT), encoding="utf-8-sig", errors="replace") as fh:
        lines = [0]  # lines read, for the message on a damaged .gz file
        try:
            yield from _texts(fh, p, suffix, field, lines)
        except _GZ_ERRORS as e:  # a damaged .gz file (json.load reads it whole)
            if not is_gzip(p):
                raise
            raise gzip_error(p, _WHAT, e, lines[0]) from None


def _texts(fh: Any, p: Path, suffix: str, field: str | None, lines: list[int]) -> Iterable[str]:
    if suffix == ".json":
        try:
            value = json.load(fh)
        except (ValueError, RecursionError):  # not one JSON value: JSON lines named .json
            fh.seek(0)
        else:
            yield from (_strings(value) if field is None else _strings(_fields(value, field)))
            return
    for lineno, line in enumerate(fh, 1):
        lines[0] = lineno
        if suffix not in (".jsonl", ".ndjson", ".json"):
            yield line
            continue
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError) as e:  # JSONDecodeError, nesting too deep
            raise TandemError(
                f"decontamination file {p} line {lineno}: invalid JSON ({e}); fix or drop the line"
            ) from None
        if field is not None:
            if isinstance(row, dict) and isinstance(row.get(field), str):
                yield row[field]
        else:
            yield from _strings(row)


def _fields(value: object, field: str) -> list[str]:
    """The string values of key `field` anywhere in a JSON value."""
    out, stack = [], [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if isinstance(v.get(field), str):
                out.append(v[field])
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return out


def _names_a_file(text: str) -> bool:
    """Whether a text (too short for an n-gram) is the path of an existing file."""
    if not isinstance(text, str) or len(text) > 4096 or "\n" in text:
        return False
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a name too long for the file system, a NUL character
        return False


class Decontaminator:
    """Holds the n-grams of evaluation texts; `contaminated(doc)` is True when a document shares one."""

    def __init__(self, texts: Iterable[str], n: int = 13) -> None:
        if n < 1:
            raise TandemError(f"Decontaminator: n must be >= 1, got {n}")
        self.n = n
        self._top = pow(_P, n - 1, 1 << 64)
        self.grams: set[int] = set()
        self.words: dict[str, int] = {}  # the evaluation vocabulary: word -> word_id
        self.num_texts = 0
        self.empty_files: list[str] = []  # files (from_files) that held no text of n or more words
        for t in texts:
            if not self.add(t) and _names_a_file(t):
                # a path given as a text has no n-gram: the decontamination would silently remove nothing
                raise TandemError(
                    f"Decontaminator: {t!r} is a file, not an evaluation text; build it from files with "
                    "Decontaminator.from_files([...]) (tandem pretrain --decontaminate FILE takes files)"
                )

    def add(self, text: str) -> int:
        """Add one evaluation text; returns how many n-grams it has (0 when it is shorter than n words)."""
        vocab = self.words
        ids = [vocab[w] if w in vocab else vocab.setdefault(w, word_id(w)) for w in words(text)]
        grams = _rolling(ids, self.n)  # type: ignore[arg-type]
        self.grams |= grams
        self.num_texts += 1
        return len(grams)

    @classmethod
    def from_files(cls, paths: Iterable[str | Path], field: str | None = None, n: int = 13) -> Decontaminator:
        """Evaluation texts from files: one text per line; for .jsonl (and .ndjson) the string `field` of each
        row, or when field is None every string in it, nested objects and lists included (SuperGLUE's
        MultiRC and ReCoRD hold the passage in {"passage": {"text": ...}}); for .json the whole file parsed as
        one JSON value (SQuAD's format) and every string in it, or, if it is JSON lines, as .jsonl. A file
        named .gz (`dev.jsonl.gz`) is read through gzip, its kind from the name without .gz, as a pretraining
        source's; other compressions and archives are refused, as there."""

        paths = [Path(p) for p in paths]
        deco = cls([], n)
        for p in paths:
            if p.is_dir():
                raise TandemError(f"decontamination file {p} is a directory; pass the files in it")
            if not p.is_file():
                raise TandemError(f"decontamination file {p} not found")
            if not sum(bool(deco.add(text)) for text in _file_texts(p, field)):
                deco.empty_files.append(str(p))
        for p in deco.empty_files:  # a decontamination that silently removes nothing is worse than a note
            warnings.warn(
                f"decontamination file {p} holds no evaluation text of {n} or more words: it removes nothing",
                stacklevel=2,
            )
        return deco

    def contaminated(self, text: str) -> bool:
        """True when the text shares at least one n-gram with the evaluation texts."""
        if not self.grams:
            return False
        ws = words(text)
        if len(ws) < self.n:
            return False
        # a word outside the evaluation vocabulary is in none of its n-grams: only runs of n known words
        # are hashed (and no hash is computed for an unknown word)
        get, grams, n, top = self.words.get, self.grams, self.n, self._top
        ids = [get(w) for w in ws]
        run = h = 0
        for i, v in enumerate(ids):  # _rolling, stopping at the first shared n-gram
            if v is None:
                run = h = 0
                continue
            run += 1
            if run > n:
                h = ((h - ids[i - n] * top) * _P + v) & _MASK  # type: ignore[operator]
            else:
                h = (h * _P + v) & _MASK
            if run >= n and h in grams:
                return True
        return False
