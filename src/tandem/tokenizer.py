"""SentencePiece tokenizers: training tandem's own, loading any `.model`, special tokens and newlines.

Layout of a tandem-trained model (fairseq/BART/AlexaTM order)::

    <s>=0  <pad>=1  </s>=2  <unk>=3  [CLM]=4  [DOC]=5  [MASK]=6  "\\n"=7  <tag_0>=8 ... <tag_{N-1}>  <0x00>..<0xFF>  pieces

A tokenizer trained for the T5 or UL2 objective also holds, after the tag slots, T5's 100 sentinels
`<extra_id_0>` ... `<extra_id_99>` and (UL2) the mode tokens `[NLU]`, `[S2S]`, `[NLG]` of the R, S and X
denoisers (`objective_symbols`).

`[CLM]`, `[DOC]`, `[MASK]`, the newline and the reserved tag slots (AlexaTM reserved 1K for downstream
tags) are SentencePiece *user-defined* symbols: they are always single tokens, and writing them in text
(`"[CLM] Sentence: ..."`, `"<tag_3>"`) encodes them as such. A text that starts with one of them gets no
lone dummy-prefix `▁` before it, so `encode("[CLM] " + doc) == [clm_id] + encode(doc)`: prompts look
exactly like the inputs the causal-LM objective builds.

Newlines. AlexaTM's and T5's tokenizers normalise `\\n` to a space, so it silently disappears. tandem
trains with the `identity` normalisation rule, keeps whitespace as written (no collapsing of runs, no
stripping) and makes `"\\n"` a user-defined symbol, so `decode(encode(text)) == text` for any text: what
is not in the vocabulary falls back to UTF-8 byte pieces (except U+2581 "▁", SentencePiece's own space
marker, which decodes as a space; and written special symbols, which `decode` skips by default). The cost of skipping NFKC is that visually
equal variants (full-width vs ASCII forms) stay distinct, which is what a lossless tokenizer must do.

Foreign models (T5, the AlexaTM one, ...) are loaded as they are: ids are the model's own. Their special
ids are discovered from the model: `pad_id` falls back to `eos_id` when the model has no pad piece
(T5-style `<pad>`, AlexaTM's `[PAD]` and `<pad>` are looked up first; padded positions are always
masked, so the fallback id never reaches a loss); `bos_id`, `clm_id`, `doc_id`, `mask_id`, `newline_id`
are None when absent. Where such a model cannot represent `\\n` (it would normalise it away),
`encode` replaces each `\\n` before encoding, chosen in this order: the tokenizer_config.json `newline`
field or `load(..., newline=...)`, else `"<br>"` when the vocabulary has a `<br>` piece (the delimiter
AlexaTM's prompts use), else a space (what the model would have done, but now stated). `newline_mode`
says which applies; decoding never invents newlines for such models.

A directory holding a Hugging Face tokenizer and no SentencePiece model (BART's vocab.json + merges.txt,
mBART's sentencepiece.bpe.model, a tokenizer.json) loads as a `tandem.hf_tokenizer.HFTokenizer`, read
through transformers with the same interface and transformers' own ids.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import numbers
import os
import random
import re
import unicodedata
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sentencepiece as spm

from tandem.errors import TandemError
from tandem.jsonl import JSON_ERRORS, JSON_LINE_FACTOR, json_error_reason, read_json

if TYPE_CHECKING:
    from tandem.hf_tokenizer import HFTokenizer

MODEL_FILE = "tokenizer.model"
CONFIG_FILE = "tokenizer_config.json"
# Files other toolkits keep their SentencePiece model in, tried in order when a directory is loaded.
_FOREIGN_MODEL_FILES = ("spiece.model", "20b_tokenizer.model", "sentencepiece.model")  # T5, AlexaTM

SPECIAL_SYMBOLS = ("[CLM]", "[DOC]", "[MASK]")
NEWLINE = "\n"
TAG_FORMAT = "<tag_{}>"
SENTINEL_FORMAT = "<extra_id_{}>"  # T5's sentinels, numbered in order of use
NUM_SENTINELS = 100
UL2_MODE_SYMBOLS = {"R": "[NLU]", "S": "[S2S]", "X": "[NLG]"}  # UL2's paradigm tokens per denoiser


def objective_symbols(objective: str) -> list[str]:
    """The user-defined symbols a pretraining objective needs in the vocabulary (T5 and UL2: sentinels;
    UL2: its mode tokens too); none for the AlexaTM objectives, whose [CLM] every tandem tokenizer has."""
    key = objective.lower().replace("-", "_")
    sentinels = [SENTINEL_FORMAT.format(i) for i in range(NUM_SENTINELS)]
    if key == "t5":
        return sentinels
    if key == "ul2":
        return sentinels + list(UL2_MODE_SYMBOLS.values())
    return []


TANDEM_LAYOUT = ("<s>", "<pad>", "</s>", "<unk>", *SPECIAL_SYMBOLS, NEWLINE)  # ids 0..7
_TAG_RE = re.compile(r"<tag_(\d+)>")
_MODEL_TYPES = ("unigram", "bpe", "char")


def _default_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 16))


# ---------------------------------------------------------------------------------------------------------
# Training-corpus sampling
# ---------------------------------------------------------------------------------------------------------


# the most CPU threads a thread flag takes where it sets SentencePiece's or torch's own pool (SentencePiece's
# bound; CTranslate2's are capped at the CPU count instead: tandem.errors.check_threads)
MAX_THREADS = 1024


class VocabularyMismatch(TandemError):
    """SentencePiece could not build `vocab_size` pieces from the corpus: too large for its text (`limit`:
    the most it allows) or too small for its characters (`limit`: the least it needs)."""

    def __init__(self, message: str, *, vocab_size: int, limit: int, sentences: int) -> None:
        super().__init__(message)
        self.vocab_size = vocab_size
        self.limit = limit
        self.sentences = sentences
        self.too_large = limit < vocab_size

    def for_verb(self, text: str, add: str, note: str = "") -> TandemError:
        """The error a verb that trains its own tokenizer gives (this one's advice names `tandem tokenizer
        train` options): `text` names what it trained on, `add` how to give more of it, `note` what was read."""
        why = (
            f"too large for {text} ({self.sentences} sentences allow at most {self.limit})"
            if self.too_large
            else f"smaller than the {self.limit} characters and symbols {text} needs"
        )
        return TandemError(
            f"cannot train a tokenizer of --vocab-size {self.vocab_size}: {why}{note}; "
            f"{'lower' if self.too_large else 'raise'} --vocab-size, {add}, or pass --tokenizer "
            "(one made with `tandem tokenizer train`)"
        )


@dataclass
class CorpusSample:
    """The sentences a tokenizer is trained on, and how they were drawn."""

    sentences: list[str]
    spoken: list[bool]  # per sentence: converted to spoken form
    seen: int  # non-empty lines read from the inputs
    stats: dict[str, Any] = field(default_factory=dict)


def _open_text(path: Path) -> io.TextIOBase:
    # utf-8-sig: a byte-order mark (Windows editors write one) marks the encoding, it is not text to learn
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _is_jsonl(path: Path) -> bool:
    return path.name.endswith((".jsonl", ".jsonl.gz"))


# Longest line (characters) a tokenizer is trained on, as the pretraining Reader's default max_doc_chars
# (tandem.data.sources.MAX_DOC_CHARS): a longer one is skipped, and read in bounded chunks to its end, never
# held whole (a 300 MB single-line file took GBs, and SentencePiece then trained on it as one sentence)
MAX_SENTENCE_CHARS = 1_000_000
# SentencePiece is fed pieces of at most this many characters (its own default max_sentence_length is 4192
# bytes): it trains about 35x slower on 100,000-character lines than on the same text in 1,000-character ones
TRAIN_PIECE_CHARS = 4096
# SentencePiece's max_sentence_length as tandem sets it: a piece of TRAIN_PIECE_CHARS characters is 16 KiB at most
_MAX_SENTENCE_BYTES = 1 << 16
_CHUNK_CHARS = 1 << 16  # characters read at a time from the rest of a line that is skipped


@dataclass
class _Skipped:
    """Lines `_iter_file_lines` skipped: with NUL characters (binary data) per file, and over the length
    limit per file or text (how many, and where the first was)."""

    binary: dict[Path, int] = field(default_factory=dict)
    long: dict[str, list] = field(default_factory=dict)  # name -> [count, where the first was]
    limit: int = MAX_SENTENCE_CHARS

    def add_long(self, name: str, where: str) -> None:
        entry = self.long.setdefault(name, [0, where])
        entry[0] += 1


def _read_line(f: io.TextIOBase, limit: int) -> tuple[str, bool]:
    """The next line of `f` (line end kept; "" at the end) and whether it fits in `limit` characters, line end
    not counted. One that does not comes back as "" (when not at the end): its rest is read _CHUNK_CHARS at a
    time and dropped, so no more than `limit` + 2 characters of it are ever held."""
    line = f.readline(limit + 2)
    if len(line.rstrip("\r\n")) <= limit:
        return line, True
    while not line.endswith(("\n", "\r")) and (line := f.readline(_CHUNK_CHARS)):
        pass
    return "\n", False


def _fitting_lines(
    f: io.TextIOBase, limit: int, path: Path, skipped: _Skipped | None, what: str = ""
) -> Iterable[tuple[int, str]]:
    """(line number, line) of `f`, line ends kept; a line over `limit` characters is read to its end in
    chunks, dropped and counted in `skipped` ("PATH line N" + `what`)."""
    lineno = 0
    while True:
        line, fits = _read_line(f, limit)
        if not line:
            return
        lineno += 1
        if fits:
            yield lineno, line
        elif skipped is not None:
            skipped.add_long(str(path), f"{path} line {lineno}{what}")


def _iter_file_lines(path: Path, skipped: _Skipped | None = None) -> Iterable[str]:
    """Lines of a text file; for `.jsonl` files the lines of each record's "text" field. Lines of a text
    file holding NUL characters (binary data, not text), and lines (and .jsonl lines) longer than the limit,
    are skipped and counted in `skipped`."""
    limit = skipped.limit if skipped is not None else MAX_SENTENCE_CHARS
    try:
        with _open_text(path) as f:
            if not _is_jsonl(path):
                for _, line in _fitting_lines(f, limit, path, skipped):
                    if "\x00" in line:
                        if skipped is not None:
                            skipped.binary[path] = skipped.binary.get(path, 0) + 1
                        continue
                    yield line.rstrip("\r\n")
                return
            for lineno, line in _fitting_lines(f, JSON_LINE_FACTOR * limit, path, skipped, " (a JSON line)"):
                if not line.strip():
                    continue
                try:
                    text = json.loads(line).get("text")
                except AttributeError as e:
                    raise TandemError(f"{path} line {lineno}: not a JSON object ({e})") from e
                except JSON_ERRORS as e:
                    raise TandemError(
                        f"{path} line {lineno}: not a JSON object ({json_error_reason(e)})"
                    ) from e
                if not isinstance(text, str):
                    raise TandemError(f"{path} line {lineno}: field 'text' missing or not a string")
                for part in text.split("\n"):
                    if len(part.rstrip("\r")) > limit:
                        if skipped is not None:
                            skipped.add_long(str(path), f"{path} line {lineno}")
                        continue
                    yield part
    except UnicodeDecodeError as e:
        # e.start counts from the start of the decoder's current chunk, not of the file: find the line
        raise TandemError(f"{path}: {_locate_bad_utf8(path)}; convert the file to UTF-8") from e
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise TandemError(
            f"{path}: not a complete gzip file ({e}); download or compress it again, or name it without .gz "
            "if it is plain text"
        ) from e
    except OSError as e:
        raise TandemError(f"{path}: cannot read ({e.strerror or e}); check the path and permissions") from e


def _locate_bad_utf8(path: Path) -> str:
    """Where the first invalid UTF-8 of a (possibly gzipped) text file is, in words."""
    opener = gzip.open if path.suffix == ".gz" else open
    offset = 0
    with opener(path, "rb") as f:
        for lineno, line in enumerate(f, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as e:
                if lineno == 1 and line[:2] in (b"\xff\xfe", b"\xfe\xff"):
                    return "UTF-16 text (it starts with a UTF-16 byte-order mark), not UTF-8"
                bad = line[e.start : e.start + 4]
                return (
                    f"line {lineno} is not valid UTF-8 (byte {bad[:1]!r} at offset {offset + e.start}"
                    f"{' of the decompressed text' if opener is gzip.open else ''})"
                )
            offset += len(line)
    return "not valid UTF-8"


def _lines(n: int) -> str:
    return f"{n:,} line{'s' if n != 1 else ''}"


def _long_note(long: dict[str, Any], limit: int) -> str:
    """The lines skipped as too long (`_Skipped.long`, or its record in train_stats), in words."""
    parts = ", ".join(
        f"{_lines(n)} of {name} (the first: {first})" if n > 1 else first for name, (n, first) in long.items()
    )
    return (
        f"{parts} skipped: longer than {limit:,} characters, a tokenizer's training sentences are lines "
        f"(a .jsonl line: {JSON_LINE_FACTOR} x that); break such text into lines"
    )


def _skip_note(stats: dict[str, Any]) -> str:
    """What `_iter_file_lines` skipped (as `sample_corpus` records it in its stats), as a clause for an error
    message ("" when nothing)."""
    notes = []
    binary = stats.get("binary_lines_skipped", {})
    if binary:
        parts = ", ".join(f"{_lines(n)} of {p}" for p, n in binary.items())
        notes.append(f"{parts} skipped: NUL characters, binary data rather than text; give UTF-8 text files")
    long = stats.get("long_lines_skipped", {})
    if long:
        notes.append(_long_note(long, stats["max_sentence_chars"]))
    return f" ({'; '.join(notes)})" if notes else ""


def _normalise_inputs(inputs: Any) -> tuple[list[Path] | None, Iterable[str] | None]:
    """(files, None) for paths, (None, texts) for an iterator of strings."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if isinstance(inputs, (list, tuple)):
        files = [Path(p) for p in inputs]
        for p in files:
            if p.suffix in (".parquet", ".arrow"):
                raise TandemError(
                    f"tokenizer training input {p}: {p.suffix} is not read here; pass text or .jsonl files, "
                    "or an iterator of strings (e.g. from tandem.data)"
                )
            if not p.is_file():
                raise TandemError(
                    f"tokenizer training input {str(p)!r} is not a file; pass existing text files "
                    "(one sentence per line), or an iterator of strings such as iter(texts) for in-memory text"
                )
        return files, None
    if isinstance(inputs, Iterable):
        return None, inputs
    raise TandemError(
        f"tokenizer training inputs must be file paths or an iterator of strings, not {type(inputs).__name__}"
    )


def _reservoir(
    items: Iterable[tuple[str, int]], k: int, rng: random.Random
) -> tuple[list[tuple[str, int]], int]:
    """Uniform sample of at most k items (Li's algorithm L: O(k log(n/k)) random draws), and the count seen."""
    res: list[tuple[str, int]] = []
    it = iter(items)
    n = 0
    for item in it:
        res.append(item)
        n += 1
        if n == k:
            break
    if n < k:
        return res, n
    w = math.exp(math.log(rng.random() or 1e-300) / k)
    nxt = n + int(math.log(rng.random() or 1e-300) / math.log(1.0 - w)) if w < 1.0 else n
    for item in it:
        if n == nxt:
            res[rng.randrange(k)] = item
            w *= math.exp(math.log(rng.random() or 1e-300) / k)
            nxt += 1 + (int(math.log(rng.random() or 1e-300) / math.log(1.0 - w)) if w < 1.0 else 0)
        n += 1
    return res, n


def _balanced_sample(
    files: Sequence[Path],
    groups: Sequence[str],
    size: int,
    alpha: float,
    rng: random.Random,
    skipped: _Skipped,
) -> tuple[list[tuple[str, int]], int, dict[str, dict[str, int]]]:
    """`sample_corpus`'s language-balanced draw: (line, file index) pairs, lines seen, and per language its
    non-empty lines and how many were drawn."""
    order = list(dict.fromkeys(groups))
    members = {g: [i for i, x in enumerate(groups) if x == g] for g in order}

    def group_lines(g: str, record: _Skipped | None = None) -> Iterable[tuple[str, int]]:
        for i in members[g]:
            for line in _iter_file_lines(files[i], record or _Skipped(limit=skipped.limit)):
                if line.strip():
                    yield line, i

    # the counting pass records the lines skipped; the drawing pass reads the same files again
    counts = {g: sum(1 for _ in group_lines(g, skipped)) for g in order}
    seen = sum(counts.values())
    live = [g for g in order if counts[g] > 0]
    if not live:
        return [], 0, {}
    budget = min(size, seen)
    weights = [counts[g] ** alpha for g in live]
    total = sum(weights)
    exact = [budget * w / total for w in weights]
    want = [max(1, int(x)) for x in exact]
    # largest remainders take the lines rounding left over (every language keeps at least one)
    for j in sorted(range(len(live)), key=lambda j: int(exact[j]) - exact[j])[: max(0, budget - sum(want))]:
        want[j] += 1
    drawn: list[tuple[str, int]] = []
    stats = {}
    for g, k in zip(live, want):
        n = counts[g]
        if k <= n:
            part, _ = _reservoir(group_lines(g), k, rng)
        else:  # fewer lines than its share: whole copies, then a random part of one more
            every = list(group_lines(g))
            reps, rest = divmod(k, n)
            part = every * reps + rng.sample(every, rest)
        drawn += part
        stats[g] = {"lines": n, "drawn": len(part)}
    return drawn, seen, stats


def training_pieces(sentences: Iterable[str], limit: int = TRAIN_PIECE_CHARS) -> Iterator[str]:
    """`sentences` with each one over `limit` characters cut into pieces of at most `limit`: at the last space
    in the second half of the window (the space dropped: the next piece starts a word, as a sentence does),
    else (text without spaces: Chinese, Japanese, Thai) at the window's end, moved back over combining marks
    so that no piece starts with one. Pieces of a sentence keep its order."""
    for s in sentences:
        while len(s) > limit:
            cut = s.rfind(" ", limit // 2, limit + 1)
            if cut > 0:
                yield s[:cut]
                s = s[cut + 1 :]
                continue
            cut = limit
            while cut > limit // 2 and unicodedata.category(s[cut])[0] == "M":
                cut -= 1
            yield s[:cut]
            s = s[cut:]
        if s:
            yield s


def _check_spoken(spoken_fn: Callable[[str, str], str], lang: str) -> None:
    """Fail with a TandemError now if spoken-form conversion cannot read `lang`."""
    try:
        spoken_fn("1 test.", lang)
    except TandemError:
        raise
    except Exception as e:
        raise TandemError(
            f"spoken-form conversion for language {lang!r} failed: {type(e).__name__}: {e}"
        ) from e


def sample_corpus(
    inputs: Sequence[str | os.PathLike] | Iterable[str] | str | os.PathLike,
    *,
    input_sentence_size: int = 1_000_000,
    spoken_ratio: float | None = None,
    spoken_lang: str | Sequence[str] | None = None,
    seed: int = 0,
    spoken_fn: Callable[[str, str], str] | None = None,
    alpha: float | None = None,
    file_langs: Sequence[str] | None = None,
    max_sentence_chars: int = MAX_SENTENCE_CHARS,
) -> CorpusSample:
    """Draw the training sentences: lines of the input files (text, `.gz`, or `.jsonl` "text" fields) or
    of the iterated strings (split at newlines), a uniform seeded sample of at most `input_sentence_size`
    non-empty lines, shuffled, with exactly round(spoken_ratio * n) of them, chosen at random, converted to
    spoken form.

    `spoken_lang` is one language for all inputs or, for file inputs, one per file. An iterator may also give
    `(text, lang)` pairs (a multilingual stream, as `tandem pretrain` reads its --data): with spoken_ratio and
    no spoken_lang each converted line is read in its own text's language (lang None: a text that stays
    written, e.g. of a language with no spoken form, even where drawn for it). `spoken_fn(text, lang)` replaces
    `tandem.spoken.to_spoken` (the default).

    `alpha` balances languages as multilingual vocabularies are (mT5, XLM-R: 0.3): each language gets a
    share of the sample ∝ n^alpha, n its non-empty lines, drawn uniformly within it; a language with fewer
    lines than its share is repeated (whole copies, then a random part). Languages are `file_langs` (one
    per file), else a per-file `spoken_lang` list (both read as `tandem.data.sampling.language_tag` reads a
    source's: "eng" is "en"), else each file is its own. File inputs only.

    Lines longer than `max_sentence_chars` characters are skipped (read to their end in bounded chunks, never
    held whole), counted in `stats["long_lines_skipped"]` and named in a warning.
    """
    files, texts = _normalise_inputs(inputs)
    if input_sentence_size < 1:
        raise TandemError(f"input_sentence_size must be >= 1, got {input_sentence_size}")
    if (
        isinstance(max_sentence_chars, bool)
        or not isinstance(max_sentence_chars, int)
        or max_sentence_chars < 1
    ):
        raise TandemError(f"max_sentence_chars must be an integer >= 1, got {max_sentence_chars!r}")
    groups: list[str] | None = None
    if alpha is not None:
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 <= alpha <= 1.0:
            raise TandemError(f"alpha (--alpha) must be a number in [0, 1], got {alpha!r}")
        if files is None:
            raise TandemError("alpha (--alpha) balances input files by language: give files, not an iterator")
        from tandem.data.sampling import language_tag  # here: tandem.data imports this module

        # languages as the pretraining stream groups them: "en_US" and "en-US", "eng" and "en" are one
        if file_langs is not None:
            groups = [language_tag(x, "file_langs (--lang)") for x in file_langs]
        elif spoken_lang is not None and not isinstance(spoken_lang, str):
            groups = [language_tag(x, "spoken_lang (--lang)") for x in spoken_lang]
        else:
            groups = [str(p) for p in files]
        if len(groups) != len(files):
            raise TandemError(f"{len(groups)} languages for {len(files)} input files; give one per file")
    elif file_langs is not None:
        raise TandemError("file_langs (--lang without --spoken-ratio) only matters with alpha (--alpha)")
    langs: list[str] | None = None
    if spoken_ratio is None and spoken_lang is not None:
        raise TandemError(
            "spoken_lang (--lang) only names the language for spoken-form conversion, and no spoken_ratio "
            "(--spoken-ratio) was given: add --spoken-ratio R (AlexaTM: 0.7) or drop --lang"
        )
    pair_langs: list[str] | None = None  # the languages of (text, lang) pairs, as they first come
    if spoken_ratio is not None:
        if not 0.0 <= spoken_ratio <= 1.0:
            raise TandemError(f"spoken_ratio must be in [0, 1], got {spoken_ratio}")
        if spoken_ratio > 0:
            if spoken_lang is None and files is not None:
                raise TandemError("spoken_ratio needs spoken_lang (--lang): the language to verbalise in")
            if spoken_lang is None:  # an iterator: each line in the language of its (text, lang) pair
                langs = pair_langs = []
            elif isinstance(spoken_lang, str):
                langs = [spoken_lang] * (len(files) if files is not None else 1)
            else:
                langs = list(spoken_lang)
                if files is None or len(langs) != len(files):
                    n_in = "an iterator" if files is None else f"{len(files)} files"
                    raise TandemError(
                        f"spoken_lang has {len(langs)} languages for {n_in}; give one language, "
                        "or one per input file"
                    )
            if spoken_fn is None:
                try:
                    from tandem.spoken import to_spoken as spoken_fn
                except ImportError as e:
                    raise TandemError(
                        f"spoken_ratio needs tandem.spoken.to_spoken, which failed to import: {e}"
                    ) from e

    skipped = _Skipped(limit=max_sentence_chars)

    def lines() -> Iterable[tuple[str, int]]:
        if files is not None:
            for i, p in enumerate(files):
                for line in _iter_file_lines(p, skipped):
                    if line.strip():
                        yield line, i
        else:
            where: dict[str, int] = {}  # a pair's language -> its index in pair_langs
            for j, text in enumerate(texts):
                li = 0
                if (
                    type(text) is tuple
                    and len(text) == 2
                    and isinstance(text[0], str)
                    and (text[1] is None or isinstance(text[1], str))
                ):
                    text, lang = text
                    if pair_langs is not None and lang is None:
                        li = -1  # stays written
                    elif pair_langs is not None:
                        if lang not in where:
                            _check_spoken(spoken_fn, lang)  # at its first text, not after the sample
                            where[lang] = len(pair_langs)
                            pair_langs.append(lang)
                        li = where[lang]
                elif not isinstance(text, str):
                    raise TandemError(
                        f"tokenizer training text #{j} is a {type(text).__name__}, expected str or a (text, "
                        "lang) pair of str"
                    )
                elif pair_langs is not None:
                    raise TandemError(
                        f"tokenizer training text #{j} is a str: spoken_ratio needs spoken_lang (--lang), the "
                        "language to verbalise in, or the texts as (text, lang) pairs"
                    )
                for k, line in enumerate(text.split("\n"), 1):
                    line = line.rstrip("\r")
                    if len(line) > max_sentence_chars:
                        skipped.add_long("the given texts", f"text #{j} line {k}")
                    elif line.strip():
                        yield line, li

    if langs is not None:
        for lang in sorted(set(langs)):  # fail before reading the corpus, not after
            _check_spoken(spoken_fn, lang)

    rng = random.Random(seed)
    balance: dict[str, dict[str, int]] = {}
    if groups is None:
        drawn, seen = _reservoir(lines(), input_sentence_size, rng)
    else:
        drawn, seen, balance = _balanced_sample(files, groups, input_sentence_size, alpha, rng, skipped)
    skip_stats: dict[str, Any] = {}
    if skipped.binary:
        skip_stats["binary_lines_skipped"] = {str(p): n for p, n in skipped.binary.items()}
    if skipped.long:
        skip_stats["long_lines_skipped"] = skipped.long
        skip_stats["max_sentence_chars"] = max_sentence_chars
    if not drawn:
        where = ", ".join(str(p) for p in files) if files is not None else "the given texts"
        raise TandemError(
            f"tokenizer training corpus is empty: no non-blank lines in {where}{_skip_note(skip_stats)}"
        )
    if skipped.long:
        warnings.warn(
            f"tokenizer training: {_long_note(skipped.long, max_sentence_chars)}", UserWarning, stacklevel=3
        )
    rng.shuffle(drawn)
    sentences = [s for s, _ in drawn]
    spoken = [False] * len(sentences)
    if langs is not None and spoken_ratio:
        k = round(spoken_ratio * len(sentences))
        for idx in rng.sample(range(len(sentences)), k):
            if drawn[idx][1] < 0:  # a (text, None) pair: drawn, but it stays written
                continue
            sentences[idx] = spoken_fn(sentences[idx], langs[drawn[idx][1]])
            spoken[idx] = True
    n = len(sentences)
    k = sum(spoken)
    stats = {
        "lines_seen": seen,
        "sentences": n,
        "spoken_sentences": k,
        "spoken_ratio_measured": k / n,
    }
    stats.update(skip_stats)
    if balance:
        stats["alpha"] = alpha
        stats["languages"] = balance
    return CorpusSample(sentences=sentences, spoken=spoken, seen=seen, stats=stats)


# ---------------------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------------------


_USER_DEFINED = 4  # sentencepiece_model.proto: ModelProto.SentencePiece.Type.USER_DEFINED


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    """The protobuf varint at `buf[i:]` and the index after it."""
    value = shift = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _proto_fields(buf: bytes) -> Iterable[tuple[int, int | bytes]]:
    """(field number, value) of a serialized protobuf message: ints for varints, bytes otherwise."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        field_no, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
            yield field_no, value
        elif wire == 2:
            size, i = _varint(buf, i)
            yield field_no, buf[i : i + size]
            i += size
        elif wire in (1, 5):  # fixed 64 / 32 bits
            width = 8 if wire == 1 else 4
            yield field_no, buf[i : i + width]
            i += width
        else:
            raise ValueError(f"protobuf wire type {wire} is not read here")


def _user_defined_ids(proto: bytes) -> list[int]:
    """Ids of the user-defined pieces of a serialized SentencePiece model (which its Python API does not
    tell): ModelProto field 1 holds the pieces in id order, each with its type in field 3."""
    ids = []
    pieces = (v for f, v in _proto_fields(proto) if f == 1 and isinstance(v, bytes))
    for i, piece in enumerate(pieces):
        if any(f == 3 and v == _USER_DEFINED for f, v in _proto_fields(piece)):
            ids.append(i)
    return ids


def _coerce_ids(ids: Any) -> list[int]:
    if hasattr(ids, "tolist"):  # numpy arrays and torch tensors, without importing either
        ids = ids.tolist()
    out = list(ids)
    if out and isinstance(out[0], list):
        raise TandemError("decode takes one sequence of ids; use decode_batch for a batch")
    return [int(i) for i in out]


# the file name of AlexaTM's released SentencePiece model (its tokenizer's vocab_file)
ALEXATM_MODEL_FILE = "20b_tokenizer.model"


def frames_with_bos(meta: dict, model_file: str | None = None) -> bool:
    """Whether a SentencePiece tokenizer frames texts as `<s> ... </s>`, as AlexaTM's released tokenizer
    (AlexaTMTokenizerFast) does, sources and targets: read from its release (`model_file` 20b_tokenizer.model,
    or a tokenizer_config.json `meta` naming that class), or from the `frame_bos` a tandem save records."""
    cls_name = meta.get("tokenizer_class")
    return (
        meta.get("frame_bos") is True
        or (isinstance(cls_name, str) and cls_name.startswith("AlexaTMTokenizer"))
        or model_file == ALEXATM_MODEL_FILE
    )


def check_config_fields(meta: dict, path: Path) -> None:
    """A tokenizer_config.json's fields that `load` uses must be strings where set (a hand-edited
    `"newline_replacement": 5` was a TypeError when loading or, for a list, on every later encode)."""
    for key in ("model_file", "newline_replacement"):
        value = meta.get(key)
        if value is not None and not isinstance(value, str):
            raise TandemError(
                f"{path}: field {key!r} must be a string, got {json.dumps(value)}; correct it or write the "
                "file again with save()"
            )


def _raise_unencodable(texts: Sequence[str], error: Exception) -> None:
    """Name the text SentencePiece could not take: one holding a lone surrogate (what invalid UTF-8 read
    with errors="surrogateescape", e.g. from stdin, or a character split into UTF-16 halves becomes)."""
    for n, text in enumerate(texts):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            where = f"text #{n}" if len(texts) > 1 else "the text"
            raise TandemError(
                f"{where} ({text!r:.60}) has the lone surrogate {text[e.start]!r} at character {e.start}, which "
                "is not a Unicode character (invalid UTF-8 read from a file or stdin, or a character split "
                "into two UTF-16 halves); pass valid text"
            ) from e
    raise error


class _TokenizerBase:
    """What tandem's SentencePiece `Tokenizer` and the Hugging Face wrapper (`tandem.hf_tokenizer`) share."""

    vocab_size: int
    num_reserved_tags: int
    _newline_repl: str | None

    def _tag_piece_id(self, piece: str) -> int:
        raise NotImplementedError

    def tag_id(self, i: int) -> int:
        """The id of reserved tag slot i (`<tag_i>`)."""
        if not 0 <= i < self.num_reserved_tags:
            raise TandemError(
                f"tag slot {i} does not exist: this tokenizer reserves {self.num_reserved_tags} tags"
            )
        return self._tag_piece_id(TAG_FORMAT.format(i))

    def __len__(self) -> int:
        return self.vocab_size

    _units = "pieces"  # what the vocabulary holds, as messages name it (decode and _find: the subclasses')

    def decode_batch(
        self, batch: Iterable[Sequence[int]] | Any, skip_special_tokens: bool = True
    ) -> list[str]:
        """`decode` of each row."""
        if hasattr(batch, "tolist"):
            batch = batch.tolist()
        return [self.decode(row, skip_special_tokens=skip_special_tokens) for row in batch]

    def check_fits(self, model_vocab_size: int, model: str = "the model") -> None:
        """Raise a TandemError when this tokenizer has more pieces than the model has ids: those pieces
        would reach the embedding as ids it does not have. (A larger model vocabulary is fine.)"""
        if self.vocab_size > model_vocab_size:
            raise TandemError(
                f"the tokenizer has {self.vocab_size} {self._units} but {model} has only {model_vocab_size} "
                "ids: pass the tokenizer the model was trained with (--tokenizer)"
            )

    def token_to_id(self, piece: str) -> int | None:
        """The id of `piece`, or None when the vocabulary has no such piece."""
        return self._find(piece)

    def _find_symbols(self) -> None:
        """The ids of tandem's symbols where the vocabulary has them (by their pieces; `_find` is the
        subclass's): [CLM], [DOC], the newline, the reserved tags, T5's sentinels <extra_id_0>, ... in order,
        and UL2's mode tokens."""
        self.clm_id: int | None = self._find("[CLM]")
        self.doc_id: int | None = self._find("[DOC]")
        self.newline_id: int | None = self._find(NEWLINE)
        self.num_reserved_tags = 0
        while self._find(TAG_FORMAT.format(self.num_reserved_tags)) is not None:
            self.num_reserved_tags += 1
        self.sentinel_ids: list[int] = []
        while (i := self._find(SENTINEL_FORMAT.format(len(self.sentinel_ids)))) is not None:
            self.sentinel_ids.append(i)
        self.mode_ids: dict[str, int] = {
            m: i for m, sym in UL2_MODE_SYMBOLS.items() if (i := self._find(sym)) is not None
        }

    def _id_config(self) -> dict[str, Any]:
        """The special ids and newline policy, as both kinds of tokenizer write them in their config()."""
        return {
            "vocab_size": self.vocab_size,
            "bos_id": self.bos_id,
            "pad_id": self.pad_id,
            "has_pad": self.has_pad,
            "eos_id": self.eos_id,
            "unk_id": self.unk_id,
            "clm_id": self.clm_id,
            "doc_id": self.doc_id,
            "mask_id": self.mask_id,
            "newline_id": self.newline_id,
            "reserved_tags": self.num_reserved_tags,
            "newline_mode": self.newline_mode,
        }

    def _prepare(self, text: str) -> str:
        if not isinstance(text, str):
            raise TandemError(f"encode takes a str, got {type(text).__name__}")
        if self._newline_repl is not None and NEWLINE in text:
            return text.replace(NEWLINE, self._newline_repl)
        return text


class Tokenizer(_TokenizerBase):
    """A SentencePiece model plus the special-token ids and newline policy tandem uses around it.

    Build one with `Tokenizer.train(...)` or `Tokenizer.load(path)`; write it with `save(dir)`.
    """

    def __init__(self, model_proto: bytes, *, newline: str | None = None, meta: dict | None = None) -> None:
        """Wrap a serialized SentencePiece model. `newline` replaces `\\n` in encoded text when the model
        cannot represent it (None: choose automatically, see the module docstring)."""
        self._proto = bytes(model_proto)
        self.sp = spm.SentencePieceProcessor()
        try:
            self.sp.LoadFromSerializedProto(self._proto)
        except (RuntimeError, OSError) as e:
            raise TandemError(
                f"not a valid SentencePiece model ({e}); pass a .model file written by SentencePiece"
            ) from e
        self.meta: dict = dict(meta or {})
        self.model_path: Path | None = None  # the .model file `load` read (None: built in memory)
        self.num_threads = _default_threads()
        self._warned_beyond_vocab = False
        n = self.sp.get_piece_size()
        self.vocab_size: int = n

        def opt(i: int) -> int | None:
            return i if 0 <= i < n else None

        self.unk_id: int = self.sp.unk_id()
        self.bos_id: int | None = opt(self.sp.bos_id())
        self.eos_id: int | None = opt(self.sp.eos_id())
        pad = opt(self.sp.pad_id())
        if pad is None:
            pad = self._find("<pad>", "[PAD]", "<PAD>")
        self.has_pad: bool = pad is not None
        # No pad piece: pad with EOS (padded positions are masked, so the id never reaches a loss).
        self.pad_id: int | None = pad if pad is not None else self.eos_id
        self.mask_id: int | None = self._find("[MASK]", "<mask>")
        self._find_symbols()
        self._special_ids = frozenset(
            [
                i
                for i in (self.bos_id, self.eos_id, self.pad_id, self.clm_id, self.doc_id, self.mask_id)
                if i is not None
            ]
            + self.sentinel_ids
            + list(self.mode_ids.values())
        )

        # AlexaTM's tokenizer (AlexaTMTokenizerFast) frames every text as `<s> ... </s>`, sources and targets,
        # as BART's does: a SentencePiece model read from its release (20b_tokenizer.model, or a
        # tokenizer_config.json naming that class) frames so, and says so in the config a save writes
        self.frame_bos: bool = self.bos_id is not None and frames_with_bos(self.meta)

        if newline is None:
            newline = self.meta.get("newline_replacement")
        if newline is not None:
            if NEWLINE in newline:
                raise TandemError("the newline replacement must not itself contain a newline")
            self._newline_repl: str | None = newline
        elif self._roundtrips("a\nb"):
            self._newline_repl = None
        elif self._find("<br>", "\u2581<br>") is not None:
            self._newline_repl = "<br>"
        else:
            self._newline_repl = " "

        # In tandem's layout, text that starts with a user-defined symbol ("[CLM] Sentence: ...") would
        # begin with a lone dummy-prefix piece "▁" before it; drop that so a prompt encodes exactly as the
        # pretraining objective builds its input ([CLM] + encode(document)). Foreign models are left as is.
        layout = tuple(self.sp.id_to_piece(i) for i in range(min(n, len(TANDEM_LAYOUT))))
        self.is_tandem_layout: bool = layout == TANDEM_LAYOUT
        self._lone_prefix: int | None = self._find("\u2581") if self.is_tandem_layout else None
        # Every user-defined symbol: tandem's own, T5 sentinels and UL2 mode tokens ("[NLU] " + doc encodes as
        # the UL2 objective's [mode] + tokens) and the `extra_symbols` it was trained with ("<sep>", "[Q]").
        self._user_ids = frozenset(_user_defined_ids(self._proto)) if self.is_tandem_layout else frozenset()

    # -- construction --------------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        inputs: Sequence[str | os.PathLike] | Iterable[str] | str | os.PathLike,
        vocab_size: int = 8000,
        model_type: str = "unigram",
        reserved_tags: int = 0,
        input_sentence_size: int = 1_000_000,
        byte_fallback: bool = True,
        character_coverage: float = 0.9995,
        spoken_ratio: float | None = None,
        spoken_lang: str | Sequence[str] | None = None,
        seed: int = 0,
        num_threads: int | None = None,
        spoken_fn: Callable[[str, str], str] | None = None,
        extra_symbols: Sequence[str] = (),
        alpha: float | None = None,
        file_langs: Sequence[str] | None = None,
        max_sentence_chars: int = MAX_SENTENCE_CHARS,
    ) -> Tokenizer:
        """Train a tandem tokenizer (layout in the module docstring) on text files (one sentence per
        line; `.gz` allowed; `.jsonl` files give their "text" fields) or an iterator of strings (split at
        newlines).

        At most `input_sentence_size` lines are used, a uniform seeded sample of the corpus. With
        `spoken_ratio`, that fraction of the sampled sentences is converted to spoken form with
        `tandem.spoken.to_spoken(text, spoken_lang)` first (AlexaTM trained on a 7:3 spoken:written mix).
        `spoken_lang` may list one language per input file. `train_stats` reports what was drawn.
        `extra_symbols` are more user-defined symbols, after the tag slots (`objective_symbols(name)`): like
        [CLM], each written in text is one id, and a text starting with one encodes as its id + the rest.
        `alpha` (with `file_langs`, one language per file) balances languages in the sample (see
        `sample_corpus`; mT5 and XLM-R used 0.3, tandem's pretraining data sampling 0.5). Lines longer than
        `max_sentence_chars` characters are skipped, with a warning naming them (`sample_corpus`).
        """
        if model_type == "word":
            # SentencePiece's word model looks up whole whitespace-separated words only: user-defined symbols
            # are not matched ("x\ny" loses its newline, "[CLM] x" gets no [CLM] id), and an unknown word falls
            # back to the bytes of its "▁" marker, which decode as a literal "▁" (FLORES-200, 12 languages, 200
            # lines each: 2400 of 2400 did not round-trip)
            raise TandemError(
                "model_type 'word' cannot keep tandem's layout: SentencePiece's word model does not match "
                "[CLM], [MASK] or newlines in text and decodes unknown words with '▁' for the space; use "
                "unigram (AlexaTM's) or bpe"
            )
        if model_type not in _MODEL_TYPES:
            raise TandemError(f"model_type {model_type!r} is not one of {', '.join(_MODEL_TYPES)}")
        if reserved_tags < 0:
            raise TandemError(f"reserved_tags must be >= 0, got {reserved_tags}")
        if not 0.98 <= character_coverage <= 1.0:  # SentencePiece's bounds (below: its INTERNAL error)
            raise TandemError(
                f"character_coverage (--character-coverage) must be in [0.98, 1] (SentencePiece's range), got "
                f"{character_coverage}"
            )
        if num_threads is not None and not 0 <= num_threads <= MAX_THREADS:  # 0: SentencePiece's default
            raise TandemError(
                f"num_threads (--threads) must be in 1..{MAX_THREADS} (0: the default), got {num_threads}"
            )
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise TandemError(f"seed (--seed) must be an integer >= 0, got {seed!r}")
        user_symbols = [*SPECIAL_SYMBOLS, NEWLINE, *(TAG_FORMAT.format(i) for i in range(reserved_tags))]
        extra = [str(x) for x in extra_symbols]
        clash = sorted({x for x in extra if x in user_symbols or extra.count(x) > 1 or not x})
        if clash:
            raise TandemError(f"extra_symbols: {clash} are empty, repeated or already part of the layout")
        spaced = [x for x in extra if " " in x]
        if spaced:
            # SentencePiece matches symbols after writing spaces as "▁": one with a space never matches text
            raise TandemError(
                f"extra_symbols: {spaced} hold a space, so text could never encode them as one id; write them "
                'without spaces (e.g. "[a_b]")'
            )
        user_symbols += extra
        n_fixed = 4 + len(user_symbols) + (256 if byte_fallback else 0)
        if vocab_size <= n_fixed:
            raise TandemError(
                f"vocab_size {vocab_size} leaves no room for learned pieces: {n_fixed} ids are fixed "
                f"(4 control, {len(user_symbols)} user-defined{', 256 bytes' if byte_fallback else ''}); "
                "raise --vocab-size"
            )
        sample = sample_corpus(
            inputs,
            input_sentence_size=input_sentence_size,
            spoken_ratio=spoken_ratio,
            spoken_lang=spoken_lang,
            seed=seed,
            spoken_fn=spoken_fn,
            alpha=alpha,
            file_langs=file_langs,
            max_sentence_chars=max_sentence_chars,
        )
        # Long lines go to SentencePiece in pieces of at most TRAIN_PIECE_CHARS characters (`training_pieces`),
        # at most 4 bytes each, so all fit in _MAX_SENTENCE_BYTES: SentencePiece silently drops every sentence
        # longer than its max_sentence_length (and fails with an internal error when that leaves none)
        # SentencePiece's seed is 32-bit unsigned: -1 or 2**32 (pretrain takes seeds below 2**64) failed with a
        # pybind11 TypeError
        spm.set_random_generator_seed(int(seed) % 2**32)
        buf = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=training_pieces(sample.sentences),
                model_writer=buf,
                vocab_size=vocab_size,
                model_type=model_type,
                bos_id=0,
                pad_id=1,
                eos_id=2,
                unk_id=3,
                bos_piece="<s>",
                pad_piece="<pad>",
                eos_piece="</s>",
                unk_piece="<unk>",
                user_defined_symbols=user_symbols,
                byte_fallback=byte_fallback,
                character_coverage=character_coverage,
                # Lossless: no NFKC folding, whitespace kept exactly as written (see module docstring).
                normalization_rule_name="identity",
                remove_extra_whitespaces=False,
                allow_whitespace_only_pieces=True,
                max_sentence_length=_MAX_SENTENCE_BYTES,
                num_threads=num_threads or _default_threads(),
                minloglevel=2,
            )
        except RuntimeError as e:
            msg = str(e)
            m = re.search(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)", msg)
            skipped = _skip_note(sample.stats)
            if m:
                raise VocabularyMismatch(
                    f"vocab_size {vocab_size} is too large for this corpus ({sample.stats['sentences']} "
                    f"sentences allow at most {m.group(2)}){skipped}; lower --vocab-size or "
                    "add text",
                    vocab_size=vocab_size,
                    limit=int(m.group(2)),
                    sentences=sample.stats["sentences"],
                ) from e
            m = re.search(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)", msg)
            if m:
                raise VocabularyMismatch(
                    f"vocab_size {vocab_size} is smaller than the {m.group(2)} characters and symbols the corpus "
                    f"needs{skipped}; raise --vocab-size or lower --character-coverage",
                    vocab_size=vocab_size,
                    limit=int(m.group(2)),
                    sentences=sample.stats["sentences"],
                ) from e
            raise TandemError(f"SentencePiece training failed: {msg.splitlines()[-1] if msg else e}") from e
        meta = {
            "training": {
                "vocab_size": vocab_size,
                "model_type": model_type,
                "reserved_tags": reserved_tags,
                "input_sentence_size": input_sentence_size,
                "byte_fallback": byte_fallback,
                "character_coverage": character_coverage,
                "spoken_ratio": spoken_ratio,
                "spoken_lang": spoken_lang
                if isinstance(spoken_lang, (str, type(None)))
                else list(spoken_lang),
                "seed": seed,
                **sample.stats,
            }
        }
        tok = cls(buf.getvalue(), meta=meta)
        got = tok.vocab_size
        if got != vocab_size:
            # SentencePiece's char model takes every character the corpus has (at the coverage) and
            # nothing else, whatever vocab_size says; say so rather than hand back a surprise size
            warnings.warn(
                f"the trained {model_type} vocabulary has {got} pieces, not the {vocab_size} asked for "
                f"(--vocab-size): {'a char model holds exactly the corpus characters it covers' if model_type == 'char' else 'SentencePiece found no more pieces in this corpus'}; "
                "give a model this tokenizer's size",
                UserWarning,
                stacklevel=2,
            )
        return tok

    @classmethod
    def load(cls, path: str | os.PathLike, newline: str | None = None) -> Tokenizer | HFTokenizer:
        """Load a tandem tokenizer directory (tokenizer.model + tokenizer_config.json), a model directory
        holding a SentencePiece model (tokenizer.model, spiece.model, 20b_tokenizer.model), any
        SentencePiece `.model` file, or a directory holding a Hugging Face tokenizer and none of those
        (BART's vocab.json + merges.txt, mBART's sentencepiece.bpe.model, a tokenizer.json), which comes
        back as a `tandem.hf_tokenizer.HFTokenizer` (read through transformers, local files only).
        `newline` overrides what `\\n` becomes for models without one."""
        from tandem.hf_tokenizer import HFTokenizer, is_hf_tokenizer_dir

        p = Path(path)
        meta: dict = {}
        if p.is_file() and p.name == "tokenizer.json":  # a Hugging Face fast tokenizer: read its directory
            p = p.parent
            if not any((p / name).is_file() for name in (MODEL_FILE, *_FOREIGN_MODEL_FILES)):
                return HFTokenizer.load(p, newline=newline)
        if p.is_dir():
            cfg = p / CONFIG_FILE
            if cfg.is_file():
                try:
                    meta = read_json(cfg)
                except TandemError as e:
                    raise TandemError(f"{e}; delete it or write it again with save()") from None
                if not isinstance(meta, dict):
                    raise TandemError(f"{cfg}: expected a JSON object")
                if isinstance(meta.get("tandem"), dict):  # written for transformers too (convert --to hf)
                    meta = meta["tandem"]
                check_config_fields(meta, cfg)
            for name in (meta.get("model_file") or MODEL_FILE, MODEL_FILE, *_FOREIGN_MODEL_FILES):
                if (p / name).is_file():
                    p = p / name
                    break
            else:
                if is_hf_tokenizer_dir(p):
                    return HFTokenizer.load(p, newline=newline)
                raise TandemError(
                    f"{path}: no {MODEL_FILE} (or {', '.join(_FOREIGN_MODEL_FILES)}) in this directory, nor a "
                    "Hugging Face tokenizer (tokenizer.json, vocab.json + merges.txt, sentencepiece.bpe.model); "
                    "pass a SentencePiece .model file or a directory written by Tokenizer.save"
                )
        elif not p.is_file():
            raise TandemError(
                f"tokenizer {str(path)!r} not found; pass a tokenizer directory or a .model file"
            )
        try:
            proto = p.read_bytes()
        except OSError as e:
            raise TandemError(f"{p}: cannot read ({e.strerror or e})") from e
        try:
            # AlexaTM's released file name frames as its tokenizer does (`frames_with_bos`), as its class does
            if frames_with_bos(meta, p.name):
                meta = {**meta, "frame_bos": True}
            tok = cls(proto, newline=newline, meta=meta)
        except TandemError as e:
            if proto.lstrip()[:1] == b"{":  # JSON, not a serialized proto
                raise TandemError(
                    f"{p}: a JSON file, not a SentencePiece model; pass a tokenizer directory or its "
                    f"{MODEL_FILE} (or another SentencePiece .model file)"
                ) from e
            raise TandemError(f"{p}: {e}") from e
        tok.model_path = p  # the file read (config() names the one save() writes, tokenizer.model)
        return tok

    def save(self, directory: str | os.PathLike) -> Path:
        """Write tokenizer.model and tokenizer_config.json into `directory` (created if needed)."""
        d = Path(directory)
        try:
            d.mkdir(parents=True, exist_ok=True)
            # each file goes to a temporary name first and is renamed over the final one, as model weights
            # are (tandem.checkpoint): a save killed midway never leaves a half-written tokenizer.model
            model_tmp = d / (MODEL_FILE + ".tmp")
            model_tmp.write_bytes(self._proto)
            os.replace(model_tmp, d / MODEL_FILE)
            config_tmp = d / (CONFIG_FILE + ".tmp")
            config_tmp.write_text(
                json.dumps(self.config(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            os.replace(config_tmp, d / CONFIG_FILE)
        except OSError as e:
            raise TandemError(f"cannot write the tokenizer to {d}: {e.strerror or e}") from e
        return d

    def config(self) -> dict:
        """What tokenizer_config.json holds: the model file, special ids, newline policy, training record."""
        cfg: dict[str, Any] = {
            "tokenizer_class": "tandem.Tokenizer",
            "model_file": MODEL_FILE,
            **self._id_config(),
        }
        if self._newline_repl is not None:
            cfg["newline_replacement"] = self._newline_repl
        if self.frame_bos:
            cfg["frame_bos"] = True
        if "training" in self.meta:
            cfg["training"] = self.meta["training"]
        return cfg

    # -- properties --------------------------------------------------------------------------------

    @property
    def model_proto(self) -> bytes:
        """The serialized SentencePiece model."""
        return self._proto

    @property
    def newline_mode(self) -> str:
        """ "native" when `\\n` round-trips, else the string that replaces it when encoding."""
        return "native" if self._newline_repl is None else self._newline_repl

    @property
    def train_stats(self) -> dict:
        """For a freshly trained tokenizer: the options and how many (spoken) sentences were drawn."""
        return dict(self.meta.get("training", {}))

    @property
    def special_ids(self) -> frozenset[int]:
        """Ids that `decode(..., skip_special_tokens=True)` drops: bos, eos, pad, [CLM], [DOC], [MASK], and
        T5 sentinels and UL2 mode tokens where the vocabulary has them (as Hugging Face does)."""
        return self._special_ids

    def _tag_piece_id(self, piece: str) -> int:
        return self.sp.piece_to_id(piece)

    def __repr__(self) -> str:
        return (
            f"Tokenizer(vocab_size={self.vocab_size}, bos={self.bos_id}, pad={self.pad_id}, eos={self.eos_id}, "
            f"unk={self.unk_id}, clm={self.clm_id}, newline={self.newline_mode!r})"
        )

    # -- encode / decode ---------------------------------------------------------------------------

    def _suffix(self, add_bos: bool, add_eos: bool) -> tuple[list[int], list[int]]:
        if add_eos and self.eos_id is None:
            raise TandemError("add_eos=True but this tokenizer's model has no </s> piece")
        if add_bos and self.bos_id is None:
            raise TandemError("add_bos=True but this tokenizer's model has no <s> piece")
        return ([self.bos_id] if add_bos else []), ([self.eos_id] if add_eos else [])

    def source_affixes(self) -> tuple[list[int], list[int]]:
        """(ids before, ids after) a source text's own ids in an encoder input: `([], [eos])`; AlexaTM's
        tokenizer (`frame_bos`) `([bos], [eos])`. See `frame`."""
        return ([self.bos_id] if self.frame_bos else []), ([] if self.eos_id is None else [self.eos_id])

    def target_affixes(self) -> tuple[list[int], list[int]]:
        """(ids before, ids after) a target text's own ids in the labels: as a source's. See `frame`."""
        return self.source_affixes()

    def encode(self, text: str, add_eos: bool = False, add_bos: bool = False) -> list[int]:
        """Token ids of `text` (no special tokens unless asked for)."""
        pre, post = self._suffix(add_bos, add_eos)
        prepared = self._prepare(text)
        try:
            ids = self.sp.encode(prepared, out_type=int)
        except (RuntimeError, TypeError) as e:  # SentencePiece's "Unable to cast Python instance ..."
            _raise_unencodable([text], e)
        return pre + self._strip(text, ids) + post

    def _strip(self, text: str, ids: list[int]) -> list[int]:
        if (
            self._lone_prefix is not None
            and len(ids) > 1
            and ids[0] == self._lone_prefix
            and ids[1] in self._user_ids
            and not text.startswith(" ")  # then the "▁" is the dummy prefix, not a space of the text
        ):
            return ids[1:]
        return ids

    def encode_batch(
        self,
        texts: Sequence[str],
        add_eos: bool = False,
        add_bos: bool = False,
        num_threads: int | None = None,
    ) -> list[list[int]]:
        """`encode` over many texts at once, in SentencePiece's threads."""
        if isinstance(texts, (str, bytes)):
            raise TandemError(
                "encode_batch takes a list of texts, not one text (it would encode each character); "
                "use encode(text), or encode_batch([text])"
            )
        texts = list(texts)  # an iterator is read once, here: its texts are needed again below
        pre, post = self._suffix(add_bos, add_eos)
        prepared = [self._prepare(t) for t in texts]
        if not prepared:
            return []
        try:
            out = self.sp.encode(prepared, out_type=int, num_threads=num_threads or self.num_threads)
        except (RuntimeError, TypeError) as e:
            _raise_unencodable(texts, e)
        if self._lone_prefix is not None:
            out = [self._strip(t, ids) for t, ids in zip(texts, out)]
        if pre or post:
            out = [pre + ids + post for ids in out]
        return out

    def tokenize(self, text: str) -> list[str]:
        """The pieces `encode` would produce, as strings (for inspection)."""
        return [self.sp.id_to_piece(i) for i in self.encode(text)]

    def _check_ids(self, ids: list[int]) -> None:
        n = self.vocab_size
        for pos, i in enumerate(ids):
            if not 0 <= i < n:
                raise TandemError(
                    f"token id {i} (position {pos}) is out of range for this tokenizer (vocab size {n}); "
                    "the ids come from a different vocabulary, or labels still hold -100"
                )

    def _unk_beyond_vocab(self, ids: list[int]) -> list[int]:
        """`ids` with every id past the last piece replaced by `<unk>`; negative ids are still an error.

        A model's vocabulary may be larger than its tokenizer's (AlexaTM-style checkpoints reserve or pad
        ids), so generation can pick an id that has no piece. Hugging Face tokenizers decode such ids to
        nothing or `<unk>` rather than failing; here they become `<unk>` so the text shows something was
        there, with one warning per tokenizer."""
        n = self.vocab_size
        beyond = [(pos, i) for pos, i in enumerate(ids) if i >= n]
        if not beyond:
            return ids
        if not self._warned_beyond_vocab:
            self._warned_beyond_vocab = True
            pos, i = beyond[0]
            warnings.warn(
                f"token id {i} (position {pos}) is past this tokenizer's pieces (vocab size {n}): decoded as "
                "<unk>; the model's vocabulary is larger than its tokenizer's, so it can generate ids with no "
                "text (check that this is the tokenizer the model was trained with). Shown once.",
                UserWarning,
                stacklevel=3,
            )
        return [self.unk_id if i >= n else i for i in ids]

    def decode(self, ids: Sequence[int] | Any, skip_special_tokens: bool = True) -> str:
        """Text of `ids`. Skipped when `skip_special_tokens`: `special_ids` (bos, eos, pad, [CLM], [DOC],
        [MASK], T5 sentinels and UL2 mode tokens); when
        not skipped they are written as their pieces. Tags, newline and `<unk>` (" ⁇ ") are always kept.
        Ids past the last piece (a model vocabulary larger than the tokenizer's) decode as `<unk>`, with a
        one-time warning; negative ids are an error."""
        ids = self._unk_beyond_vocab(_coerce_ids(ids))
        self._check_ids(ids)
        if skip_special_tokens:
            return self.sp.decode([i for i in ids if i not in self._special_ids])
        # SentencePiece drops control pieces on decode; write them out between the decoded runs.
        parts: list[str] = []
        run: list[int] = []

        def flush() -> None:
            if run:
                text = self.sp.decode(run)
                if parts and self.sp.id_to_piece(run[0]).startswith("\u2581"):
                    text = " " + text  # the dummy-prefix space SentencePiece strips at the start of a decode
                parts.append(text)
                run.clear()

        for i in ids:
            if self.sp.is_control(i):
                flush()
                parts.append(self.sp.id_to_piece(i))
            else:
                run.append(i)
        flush()
        return "".join(parts)

    def id_to_token(self, i: int) -> str:
        """The piece with id `i`."""
        self._check_ids([int(i)])
        return self.sp.id_to_piece(int(i))

    # -- helpers -----------------------------------------------------------------------------------

    def _find(self, *pieces: str) -> int | None:
        for piece in pieces:
            i = self.sp.piece_to_id(piece)
            if 0 <= i < self.sp.get_piece_size() and self.sp.id_to_piece(i) == piece:
                return i
        return None

    def _roundtrips(self, text: str) -> bool:
        return self.sp.decode(self.sp.encode(text, out_type=int)) == text


def affixes(tok: Any, target: bool = False) -> tuple[list[int], list[int]]:
    """How `tok` frames a source (or, with `target`, a target) text's ids: (ids before, ids after).

    tandem's and T5's tokenizers: `([], [eos])`; BART's `([bos], [eos])`; mBART's source `([], [eos,
    src_lang])`, its target `([], [eos, tgt_lang])` (mBART-50: `([tgt_lang], [eos])`). A `tandem.Tokenizer`
    or `HFTokenizer` says it itself (`source_affixes` / `target_affixes`); a `transformers` tokenizer is
    asked through `hf_affixes`; anything else frames with its EOS (`eos_id` or `eos_token_id`) only."""
    method = getattr(tok, "target_affixes" if target else "source_affixes", None)
    if method is not None:
        return method()
    if hasattr(tok, "convert_tokens_to_ids") and hasattr(tok, "all_special_ids"):
        from tandem.hf_tokenizer import hf_affixes

        return hf_affixes(tok, target)
    eos = getattr(tok, "eos_id", getattr(tok, "eos_token_id", None))
    return [], ([] if eos is None else [int(eos)])


def frame(
    body: Sequence[int], affixes: tuple[Sequence[int], Sequence[int]], max_len: int | None = None
) -> tuple[list[int], bool]:
    """(`prefix + body + suffix`, whether `body` was cut): with `max_len`, the body is cut at its end so that
    the whole fits and the affixes are kept (a limit shorter than the affixes keeps their last `max_len`).

    This is how every encoder input and label tandem builds from text is framed, as a Hugging Face
    tokenizer's `tok(text, truncation=True, max_length=n)` / `tok(text_target=...)` frames them."""
    prefix, suffix = list(affixes[0]), list(affixes[1])
    body = list(body)
    if max_len is None or len(prefix) + len(body) + len(suffix) <= max_len:
        return prefix + body + suffix, False
    room = max(0, max_len - len(prefix) - len(suffix))
    ids = prefix + body[:room] + suffix
    return ids[-max_len:] if len(ids) > max_len else ids, True


def continuation_ids(
    encode_batch: Callable[[list[str]], list[list[int]]], context: str, choices: Sequence[str]
) -> list[list[int]]:
    """Ids of each choice as it continues `context` (no special tokens; `encode_batch` adds none): those that
    `context + choice` has beyond the ids of `context` alone, as the causal-LM objective splits a document's
    token ids between encoder and decoder. Encoded on its own, a choice's leading space can be another token:
    SentencePiece's dummy-prefix `▁` makes a whitespace-keeping tokenizer's (tandem's) " yes" `▁` `▁yes`, while
    after "Answer:" it is `▁yes`. With an empty context, or where a token spans the boundary (the context's ids
    are not a prefix of the whole), the choice is encoded alone. Torch-free: rank scoring (`tandem evaluate`),
    `tandem serve`'s /v1/score and `EdgeModel.rank` all split a (prompt, choice) pair here."""
    if not context:
        return encode_batch(list(choices))
    ctx, *wholes = encode_batch([context, *(context + c for c in choices)])
    out = [w[len(ctx) :] if w[: len(ctx)] == ctx else None for w in wholes]
    alone = [i for i, ids in enumerate(out) if ids is None]  # encoded alone only where needed
    if alone:
        for i, ids in zip(alone, encode_batch([choices[i] for i in alone])):
            out[i] = ids
    return out


def scored_target_ids(
    encode_batch: Callable[[list[str]], list[list[int]]],
    prompts: Sequence[str],
    targets: Sequence[str],
    sequence: bool,
) -> list[list[int]]:
    """The ids a scored (prompt, target) pair scores before any EOS: each target alone (`sequence`), else in
    its prompt's context (`continuation_ids`, the targets of one prompt split together); an error for one with
    no tokens. Both serving backends (`EdgeModel.score_batch`, the torch backend's /v1/score) score these."""
    if sequence:
        out = encode_batch(list(targets))
    else:
        by_prompt: dict[str, list[int]] = {}
        for i, p in enumerate(prompts):
            by_prompt.setdefault(p, []).append(i)
        out = [[] for _ in targets]
        for p, idx in by_prompt.items():
            for i, ids in zip(idx, continuation_ids(encode_batch, p, [targets[i] for i in idx])):
                out[i] = ids
    for t, ids in zip(targets, out):
        if not ids and not sequence:
            raise TandemError(f"choice {t!r:.80} adds no tokens to its prompt; give every choice some text")
    return out


__all__ = [
    "affixes",
    "continuation_ids",
    "scored_target_ids",
    "frame",
    "Tokenizer",
    "CorpusSample",
    "sample_corpus",
    "SPECIAL_SYMBOLS",
    "MODEL_FILE",
    "CONFIG_FILE",
]
