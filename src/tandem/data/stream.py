"""PretrainStream: multilingual documents -> objective examples -> padded batches, deterministic and resumable.

Per batch row: the objective picks a kind (AlexaTM: denoise 80%, CLM 20%), the stream picks a language
(p ~ n^alpha) and, within it, a source (p ~ size x upsample). Packed kinds (denoising) concatenate that
language's documents separated by [DOC] into a chunk that fills the sequence; CLM takes one document (a long
one is cut, and the rest is the language's next document, packed or continued by the next row, so nothing is
lost). Every target and, by default, every source
is framed as the tokenizer frames a text (`tandem.tokenizer.affixes`): tandem's and T5's tokenizers append EOS,
BART's gives `<s> ... </s>`, mBART's `... </s> lang` (mBART-50: `lang ... </s>`) with the language code of the
row's language on both sides, as mBART was pretrained. A packed chunk is framed once, as one text, and the
length budget leaves room for the affixes.

Every random choice comes from one numpy Generator per rank, in a fixed order, in the main process; worker
processes only tokenise (a pure function of the text). The state (generator state, reader cursors of the last
consumed record, packing buffers, counters) is small and JSON-serialisable, so `load_state_dict` continues
with exactly the batches that would have come next.
"""

from __future__ import annotations

import copy
import dataclasses
import multiprocessing as mp
import sys
import warnings
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

from tandem.data.decontam import Decontaminator
from tandem.data.sampling import language_tag, language_weights, same_language_notes
from tandem.data.sources import (
    MAX_DOC_CHARS,
    Item,
    Reader,
    Source,
    cache_text_size,
    file_is_empty,
    resolve_files,
    source_size,
    text_hash,
)
from tandem.errors import TandemError
from tandem.objectives import Objective, build_objective
from tandem.tokenizer import affixes, frame

STATE_VERSION = 1
_MASK64 = (1 << 64) - 1

# Worker-process context, set before the pool forks (tokenizers need not be picklable).
_CTX: dict[str, Any] = {}
_POOL_RETRIES = 2  # fresh worker pools after a worker died, before giving up
_READ_AHEAD = 2  # chunks of a source tokenised ahead by the workers, behind the one the stream waits for


@dataclasses.dataclass
class _Chunk:
    """Records read from one source, the documents among them to tokenise (`tasks`, at `where` in `items`),
    and, when handed to worker processes, the pool generation and the iterator of their results."""

    source: int
    items: list
    tasks: list = dataclasses.field(default_factory=list)
    where: list = dataclasses.field(default_factory=list)
    gen: int = -1
    results: Any = None


def unit_hash(*values: int) -> float:
    """A stateless uniform number in [0, 1) from integers (splitmix64), for per-document decisions that must
    not consume the stream's generator (which documents become spoken form)."""
    x = 0x9E3779B97F4A7C15
    for v in values:
        x = (x + (int(v) & _MASK64) + 0x9E3779B97F4A7C15) & _MASK64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
        x ^= x >> 31
    return (x >> 11) / float(1 << 53)


_HOLDOUT_TAG = 0x686F6C646F7574  # keeps the held-out choice apart from the other unit_hash decisions
HOLDOUT_SPLITS = ("train", "val")


def is_held_out(text: str | int, fraction: float, seed: int) -> bool:
    """Whether a document (its text, or its `text_hash`) is in the held-out `fraction` of a run of `seed`:
    a function of the text alone, so every rank, worker, epoch, resume and token cache agrees."""
    h = text if isinstance(text, int) else text_hash(text)
    return fraction > 0 and unit_hash(_HOLDOUT_TAG, seed, h) < fraction


def _process(task: tuple[str, str, bool]) -> tuple[str, Any]:
    """Text -> ("doc", token ids) or ("bad", (stat, message)). Runs in the main process or a worker."""
    text, lang, spoken = task
    deco: Decontaminator | None = _CTX.get("decontaminator")
    if deco is not None and deco.contaminated(text):
        return "bad", ("decontaminated", "document shares a 13-gram with the evaluation texts (removed)")
    flag = ""
    if spoken:
        try:
            from tandem.spoken import to_spoken

            text = to_spoken(text, lang)
            flag = "spoken"
        except Exception as e:  # a normaliser bug must not stop pretraining: keep the written form
            flag = f"spoken_error:{type(e).__name__}: {e}"
    ids = np.asarray(_CTX["tokenizer"].encode(text), dtype=np.int64)
    return "doc", (ids, flag)


class NoUsableData(TandemError):
    """No source has a usable document left. `dead`: per source that gave none, its name and the first listed
    problem that names it or one of its files (else the message saying it is dead); `problems`: the first few
    other listed problems; `where`: where every problem is listed (`stream.stats['problems']`; `tandem
    pretrain` names its data_stats.json)."""

    def __init__(
        self, dead: list[tuple[str, str]], problems: list[str], where: str = "stream.stats['problems']"
    ) -> None:
        self.dead, self.problems, self.where = list(dead), list(problems), where
        shown = [f"{name}: {why}" for name, why in self.dead[:_SHOWN_DEAD]]
        if len(self.dead) > _SHOWN_DEAD:
            shown.append(f"and {len(self.dead) - _SHOWN_DEAD} more sources")
        more = f"; other problems: {'; '.join(self.problems)}" if self.problems else ""
        super().__init__(
            f"PretrainStream: no source has any usable document left; every problem is listed in {where}. "
            f"Sources without one: {'; '.join(shown)}{more}"
        )

    def listed_in(self, where: str) -> NoUsableData:
        """The same error, saying its problems are listed in `where`."""
        return NoUsableData(self.dead, self.problems, where)


_SHOWN_DEAD = 10  # sources named in a NoUsableData message
# problems of a whole file, not of a record: every rank reads every file (keeping its own records), so each
# rank counts them, and one that read as far as another counted the same ones
_FILE_STATS = ("bad_files", "changed_files")


def _problem_kinds(state: dict[str, Any]) -> list[str | None]:
    """The kind of each listed problem of a saved stream state (None for each of a state saved before they
    were recorded)."""
    problems = state["stats"].get("problems", [])
    kinds = state.get("problem_kinds")
    if isinstance(kinds, list) and len(kinds) == len(problems):
        return list(kinds)
    return [None] * len(problems)


def _cursor_key(cursor: dict[str, Any]) -> tuple[int, ...]:
    """Order of reader cursors of one source (`record` counts the records of the epoch before the position;
    a token cache's cursor counts them per file and its documents in `line`)."""
    return tuple(int(cursor.get(k, 0)) for k in ("epoch", "file", "record", "line", "piece"))


def _check_cache_vocab(src: Source, cache: Any, tokenizer: Any) -> None:
    """A token cache built with another vocabulary would feed the model ids it has no embedding for (an
    index error mid-run, a device assert on GPU): refuse it before anything is trained."""
    import json

    meta_file = cache / "meta.json"
    try:
        built = int(json.loads(meta_file.read_text(encoding="utf-8")).get("vocab_size") or 0)
    except (OSError, ValueError, TypeError, AttributeError):
        return  # no readable meta.json: token ids are still checked document by document
    mine = int(getattr(tokenizer, "vocab_size", 0) or 0)
    if built and mine and built != mine:
        raise TandemError(
            f"source {src.path}: the token cache was built with a vocabulary of {built}, this tokenizer has "
            f"{mine}; rebuild the cache with this tokenizer (tandem.data.build_cache) or use the one it was "
            "built with"
        )


def _check_cache_max_doc_chars(src: Source, cache: Any, max_doc_chars: int) -> None:
    """A token cache holds documents cut at the max_doc_chars it was built with: a stream that cuts text
    elsewhere would give other documents from the cache than from its text. Refuse that, unless no document
    of the cache is long enough to be cut by either value."""
    import json

    try:
        meta = json.loads((cache / "meta.json").read_text(encoding="utf-8"))
        built, longest = meta.get("max_doc_chars"), meta.get("longest_doc_chars")
    except (OSError, ValueError, AttributeError):
        return  # no readable meta.json: nothing to compare with
    if built == max_doc_chars:
        return
    if isinstance(built, int) and isinstance(longest, int):
        if longest <= min(built, max_doc_chars):  # no document is cut either way
            return
        what = (
            f"was built with max_doc_chars={built:,}, which cuts its documents (the longest has {longest:,} "
            f"characters) otherwise than this stream's max_doc_chars={max_doc_chars:,}"
        )
    elif max_doc_chars == MAX_DOC_CHARS:
        return  # a cache built before caches recorded it: built with the default
    else:
        built = MAX_DOC_CHARS
        what = (
            "does not record the max_doc_chars it cut its documents at (built by an older tandem, with the "
            f"default {MAX_DOC_CHARS:,}), and this stream has max_doc_chars={max_doc_chars:,}"
        )
    raise TandemError(
        f"source {src.path}: the token cache {what}; rebuild it with build_cache(..., "
        f"max_doc_chars={max_doc_chars}) or give the stream max_doc_chars={built}"
    )


def _check_cache_order(src: Source, cache: Any) -> None:
    """A token cache gives its text source's batches only when read in that source's order: refuse a cache
    source whose shuffle_files or shuffle_docs differ from those of the source it was built from (a cache
    built before caches recorded them is not checked)."""
    import json

    try:
        meta = json.loads((cache / "meta.json").read_text(encoding="utf-8"))
        built = {k: meta[k] for k in ("shuffle_files", "shuffle_docs") if k in meta}
    except (OSError, ValueError, AttributeError, TypeError):
        return  # no readable meta.json: nothing to compare with
    other = {k: v for k, v in built.items() if getattr(src, k) != v}
    if other:
        diff = [f"{k}={v!r} (this source: {getattr(src, k)!r})" for k, v in other.items()]
        fix = ", ".join(f"{k}={v!r}" for k, v in other.items())
        raise TandemError(
            f"source {src.path}: the token cache was built from a source with {' and '.join(diff)}, so it "
            "would give its documents in another order than its text source; give the cache source "
            f"{fix} as the text source has, or rebuild the cache with build_cache from a source with this "
            "source's order"
        )


def _worker_signals() -> None:
    """In a tokeniser worker: the main process decides about Ctrl-C (it saves a checkpoint first), and
    SIGTERM ends the worker, whatever handler the trainer had installed when the pool was forked."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _span_objective_ids(name: str, tokenizer: Any, objective_args: dict[str, Any] | None) -> dict[str, Any]:
    """T5/UL2 sentinel ids (and UL2 mode ids) from the tokenizer's own `<extra_id_N>`, `[NLU]`, `[S2S]`,
    `[NLG]` pieces: ids taken from the end of the vocabulary would be ordinary pieces of tandem's
    tokenizers (T5's own sentinels lie past its SentencePiece model). Ids given in `objective_args` win."""
    given = objective_args or {}
    out: dict[str, Any] = {}
    advice = (
        f"let `tandem pretrain --objective {name}` train the tokenizer (it reserves them), or train one with "
        f"Tokenizer.train(..., extra_symbols=objective_symbols({name!r}))"
    )
    if "sentinel_ids" not in given:
        sentinels = list(getattr(tokenizer, "sentinel_ids", None) or [])
        if not sentinels:
            raise TandemError(
                f"objective {name!r} needs sentinel tokens <extra_id_0>, <extra_id_1>, ... and the tokenizer "
                f"has none: {advice}"
            )
        out["sentinel_ids"] = sentinels
    if name == "ul2" and "mode_token_ids" not in given:
        modes = dict(getattr(tokenizer, "mode_ids", None) or {})
        missing = [m for m in ("R", "S", "X") if m not in modes]
        if missing:
            raise TandemError(
                f"objective 'ul2' needs the mode tokens [NLU], [S2S], [NLG] and the tokenizer lacks those of "
                f"modes {missing}: {advice}"
            )
        out["mode_token_ids"] = modes
    return out


Affixes = tuple[list[int], list[int]]


def _language_code(tokenizer: Any, lang: str) -> str:
    """The language code of an mBART-style tokenizer for a stream language tag: the code of that tag ("de-DE"
    is de_DE), else the one code of its language ("en" is en_XX)."""
    codes = list(tokenizer.language_codes)
    exact = [c for c in codes if _saved_tag(c) == lang]
    same = [c for c in codes if c.split("_")[0] == lang.split("-")[0]]
    if exact or len(same) == 1:
        return (exact or same)[0]
    shown = ", ".join(same or codes[:12]) + ("" if same or len(codes) <= 12 else ", ...")
    raise TandemError(
        f"PretrainStream: the tokenizer frames each text with a language code and has "
        f"{'several' if same else 'none'} for the sources' language {lang!r} ({shown}): tag those sources "
        "with one of its codes (e.g. LANG:PATH as de_DE:wiki.txt)"
    )


def _framing(
    tokenizer: Any, languages: Sequence[str], source_eos: bool
) -> dict[str, tuple[Affixes, Affixes]]:
    """Per stream language: (source affixes, target affixes). One framing for every language, the
    tokenizer's own (`tandem.tokenizer.affixes`), unless the tokenizer frames texts with a language code
    (mBART's `src_lang`): then each language's code frames both sides (the target is the source's
    language). Without `source_eos` sources are not framed."""
    codes = getattr(tokenizer, "language_codes", None)
    if codes:
        out = {lang: tokenizer.language_affixes(_language_code(tokenizer, lang)) for lang in languages}
    else:
        both = (affixes(tokenizer), affixes(tokenizer, target=True))
        out = {lang: both for lang in languages}
    if not source_eos:
        out = {lang: (([], []), tgt) for lang, (_, tgt) in out.items()}
    return out


def _saved_tag(lang: str) -> str:
    """The sampling group of a language key of a saved state (see language_tag)."""
    try:
        return language_tag(lang)
    except TandemError:
        return lang


class PretrainStream:
    """Infinite iterator of pretraining batches (see module docstring).

    Each batch is a dict: `input_ids` (B,S) and `attention_mask` (B,S) LongTensors, `labels` (B,T) with
    -100 padding and each target framed as the tokenizer frames a text (tandem's: EOS after it), and `kind`
    (one objective kind per row). With `pad_to_max` the shapes are always (batch_size, seq_len) and
    (batch_size, target_len); otherwise padded to the longest row.

    sources: `Source` objects, dicts of their fields, or "lang:path" strings.
    tokenizer: anything with encode(text) -> ids, eos_id, pad_id, and clm_id / doc_id (None if absent; without
    [DOC], documents are separated by EOS); its `source_affixes` / `target_affixes` frame the examples (see
    `tandem.tokenizer.affixes`). `decoder_start` is the start token the targets ask for (an mBART-cc25
    language code; None: the model's own, or one per language). A tokenizer whose targets end with the
    language code (mBART-cc25) gives batches a `decoder_input_ids` (B,T) too: each row's labels shifted right
    behind their last token, as transformers' mBART builds its decoder input.
    objective: an Objective, or a name for `build_objective` ("alexatm", "denoise", "clm", "t5", "ul2").
    objective_args: keyword arguments for the objective built by name (e.g. {"drop_rate": 0.3}).
    seq_len / target_len: encoder / decoder lengths including the affixes (target_len defaults to seq_len).
    source_eos: frame the sources (False: the objective's source alone, not even EOS).
    alpha: language sampling exponent; spoken_fraction: share of documents passed through
    `tandem.spoken.to_spoken` before tokenisation (AlexaTM: 0.7).
    decontaminate: texts (or a Decontaminator) whose 13-grams exclude a document.
    num_workers: tokenise in that many forked processes (0: in this process).
    min_doc_tokens: shorter documents are skipped and counted as `short_docs`.
    max_doc_chars: longer documents are split into pieces of at most that many characters, each used as a
    document (counted as `split_docs`): a 50 MB line would otherwise fill the packing buffer, which every
    checkpoint saves.
    holdout: a share of the documents (pieces of a split one each) held out, chosen by `is_held_out` with
    `holdout_seed` (default `seed`) from each document's text, whatever reads it; `holdout_split` "train"
    skips them (each counted once as `held_out`), "val" uses only them (each counted once as `held_out`
    when used, the others once as `not_held_out`). A token cache records the text hashes this needs (`build_cache`); one built before
    it did is refused.
    """

    def __init__(
        self,
        sources: Sequence[Source | dict | str],
        tokenizer: Any,
        objective: Objective | str,
        seq_len: int,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        alpha: float = 0.5,
        spoken_fraction: float = 0.0,
        target_len: int | None = None,
        *,
        num_workers: int = 0,
        prefetch_docs: int = 64,
        min_doc_tokens: int = 3,
        source_eos: bool = True,
        pad_to_max: bool = True,
        decontaminate: Decontaminator | Sequence[str] | None = None,
        objective_args: dict[str, Any] | None = None,
        return_tensors: str = "pt",
        max_problems: int = 50,
        max_doc_chars: int = MAX_DOC_CHARS,
        holdout: float = 0.0,
        holdout_seed: int | None = None,
        holdout_split: str = "train",
    ) -> None:
        if not (isinstance(holdout, int | float) and not isinstance(holdout, bool) and 0.0 <= holdout < 1.0):
            raise TandemError(f"PretrainStream: holdout must be a share in [0, 1), got {holdout!r}")
        if holdout_split not in HOLDOUT_SPLITS:
            raise TandemError(
                f"PretrainStream: holdout_split must be 'train' or 'val', got {holdout_split!r}"
            )
        self.holdout = float(holdout)
        self.holdout_seed = int(seed if holdout_seed is None else holdout_seed)
        self.holdout_split = holdout_split
        if world_size < 1 or not 0 <= rank < world_size:
            raise TandemError(
                f"PretrainStream: need 0 <= rank < world_size, got rank={rank} world_size={world_size}"
            )
        if batch_size < 1:
            raise TandemError(f"PretrainStream: batch_size must be >= 1, got {batch_size}")
        if not 0.0 <= spoken_fraction <= 1.0:
            raise TandemError(f"PretrainStream: spoken_fraction must be in [0, 1], got {spoken_fraction}")
        if return_tensors not in ("pt", "np"):
            raise TandemError(f"PretrainStream: return_tensors must be 'pt' or 'np', got {return_tensors!r}")
        self.tokenizer = tokenizer
        self.seq_len = int(seq_len)
        self.target_len = int(target_len or seq_len)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.alpha = float(alpha)
        self.spoken_fraction = float(spoken_fraction)
        self.num_workers = int(num_workers)
        self.prefetch_docs = max(1, int(prefetch_docs))
        self.min_doc_tokens = int(min_doc_tokens)
        self.source_eos = bool(source_eos)
        self.pad_to_max = bool(pad_to_max)
        self.return_tensors = return_tensors
        self.max_problems = int(max_problems)
        if not isinstance(max_doc_chars, int) or isinstance(max_doc_chars, bool) or max_doc_chars < 1:
            raise TandemError(f"PretrainStream: max_doc_chars must be an integer >= 1, got {max_doc_chars!r}")
        self.max_doc_chars = max_doc_chars
        self.eos_id = int(tokenizer.eos_id)
        self.pad_id = int(tokenizer.pad_id)
        doc_id = getattr(tokenizer, "doc_id", None)
        self.doc_sep = int(doc_id) if doc_id is not None else self.eos_id  # [DOC], else EOS between documents
        if isinstance(objective, str):
            clm_id = getattr(tokenizer, "clm_id", None)
            if objective.lower() in ("alexatm", "clm") and clm_id is None:
                # a Hugging Face tokenizer (BART, mBART, T5) has none: "[CLM]" would be read as ordinary text
                raise TandemError(
                    f"objective {objective!r} needs a [CLM] token but the tokenizer has none ({tokenizer!r}; "
                    "a Hugging Face BART/mBART/T5 tokenizer has no [CLM] symbol): add it with --add-symbols "
                    "(`tandem pretrain`; it grows the model's embeddings), pretrain with --objective denoise (or "
                    "t5/ul2 where it has T5's sentinels), or use a tokenizer with [CLM] (tandem's own, `tandem "
                    "tokenizer train`) and a model of its vocabulary"
                )
            kw: dict[str, Any] = {}
            if objective.lower() in ("alexatm", "clm"):
                kw["clm_token_id"] = int(clm_id)
            elif objective.lower() in ("t5", "ul2"):
                kw.update(_span_objective_ids(objective.lower(), tokenizer, objective_args))
            objective = build_objective(objective, **kw, **(objective_args or {}))
        elif objective_args:
            raise TandemError("PretrainStream: objective_args apply to an objective given by name")
        self.objective: Objective = objective
        overhead = int(getattr(objective, "overhead", 1))
        # the affixes' lengths (no language code changes them; the framing itself is per language, below)
        src_fix = sum(map(len, affixes(tokenizer))) if self.source_eos else 0
        tgt_fix = sum(map(len, affixes(tokenizer, target=True)))
        self.chunk_len = min(self.seq_len - src_fix - overhead, self.target_len - tgt_fix)
        least = max(2, self.min_doc_tokens)
        if self.chunk_len < least:
            raise TandemError(
                f"PretrainStream: seq_len={self.seq_len}/target_len={self.target_len} leave only "
                f"{self.chunk_len} tokens per example, and an example needs {least}: use seq_len >= "
                f"{least + src_fix + overhead} and target_len >= {least + tgt_fix}"
            )
        check = getattr(objective, "check_length", None)
        if check is not None:  # T5/UL2: one sentinel per span, so the sentinels bound the input length
            try:
                check(self.chunk_len)
            except TandemError as e:
                longest = getattr(objective, "max_length", lambda: None)()
                fits = (
                    "" if longest is None else f" (here: a seq_len of at most {longest + src_fix + overhead})"
                )
                raise TandemError(
                    f"PretrainStream: seq_len={self.seq_len} gives inputs of up to {self.chunk_len} tokens; {e}{fits}"
                ) from None
        if spoken_fraction > 0:
            try:
                from tandem.spoken import to_spoken  # noqa: F401 - fail now, not mid-run
            except ImportError as e:
                raise TandemError(
                    f"spoken_fraction={spoken_fraction} needs tandem.spoken, which failed to import: {e}"
                ) from None
        if decontaminate is not None and not isinstance(decontaminate, Decontaminator):
            # no evaluation files (pretrain's resolved config holds []) is no decontamination, not an empty one
            empty = isinstance(decontaminate, (list, tuple)) and not decontaminate
            decontaminate = None if empty else Decontaminator(decontaminate)
        self.decontaminator = decontaminate

        self.stats: dict[str, Any] = {}
        self._reset_stats()
        self._setup_problems: list[tuple[str, str]] = []  # found when the stream is built (kept on resume)
        # Sources, sizes and weights.
        self.sources = [dataclasses.replace(Source.coerce(s)) for s in sources]  # copies: names may change
        if not self.sources:
            raise TandemError("PretrainStream: no sources given")
        seen: Counter = Counter(str(s.name) for s in self.sources)
        for k, s in enumerate(self.sources):  # names key the stats and the saved state: make them unique
            if seen[str(s.name)] > 1:
                s.name = f"{s.name}#{k}"
        sizes: list[float] = []
        for s in self.sources:
            fmt, files = resolve_files(s)
            if fmt == "tokens":
                _check_cache_vocab(s, files[0], tokenizer)
                _check_cache_max_doc_chars(s, files[0], self.max_doc_chars)
                _check_cache_order(s, files[0])
                self._check_cache_text_steps(s, files[0], spoken_fraction, decontaminate)
                # resolve_files checked a hashes.npy present (`cache_text_hashes`)
                if self.holdout > 0 and not (files[0] / "hashes.npy").is_file():
                    raise TandemError(
                        f"source {s.path}: the token cache does not record its documents' text hashes (built "
                        "by an older tandem), which a held-out split (--val-holdout) is chosen by; rebuild it "
                        "with build_cache"
                    )
                if s.size is None and len(sources) > 1 and cache_text_size(files[0]) is None:
                    self._setup_problem(
                        "cache_notes",
                        f"source {s.name}: the token cache {s.path} does not record the size of its text (built "
                        "by an older tandem), so it is weighted by its token count, which other sources' "
                        "sizes in bytes are not comparable with; rebuild it with build_cache or set its size",
                    )
            for f in files:
                if f.is_file() and file_is_empty(f):
                    self._setup_problem("empty_files", f"{f}: empty file")
            sizes.append(source_size(s, files, fmt) * float(s.upsample))
        self._src_weight = np.asarray(sizes, dtype=float)
        # sources are grouped by language_tag: "en_US" and "en-us" are "en-US"; "en" and "en-US" stay apart
        self._src_lang = [language_tag(s.lang) for s in self.sources]
        self.languages = sorted(set(self._src_lang))
        for msg in same_language_notes(self.languages):
            warnings.warn(f"PretrainStream: {msg}", stacklevel=2)
            self._setup_problem("language_notes", msg)
        lang_sizes = {lang: 0.0 for lang in self.languages}
        for lang, w in zip(self._src_lang, sizes, strict=True):
            lang_sizes[lang] += w
        for s, w in zip(self.sources, sizes, strict=True):
            if w <= 0:
                why = "upsample 0" if float(s.upsample) == 0 else "no data"
                self._setup_problem(
                    "empty_sources", f"source {s.name} ({s.path}) has {why}; it is never sampled"
                )
        for lang, n in lang_sizes.items():
            if n <= 0:
                self.stats["empty_languages"].append(lang)
                self._setup_problem(
                    "empty_language_notes", f"language {lang!r} has no data in any source; it is skipped"
                )
        if all(n <= 0 for n in lang_sizes.values()):
            raise TandemError(
                f"PretrainStream: every source is empty ({[str(s.path) for s in self.sources]})"
            )
        self.lang_sizes = lang_sizes
        self._framing = _framing(tokenizer, self.languages, self.source_eos)
        self.decoder_start = self._decoder_start()
        self.lang_probs = language_weights(lang_sizes, self.alpha)
        # languages tandem.spoken has no rules for keep their documents written: said once here, rather than
        # an error for every document drawn for spoken form (which hid the realised spoken share)
        self._written_only: set[str] = set()
        if self.spoken_fraction > 0:
            from tandem.spoken import to_spoken

            for lang in self.languages:
                try:
                    to_spoken("", lang)
                except Exception as e:
                    self._written_only.add(lang)
                    msg = f"language {lang!r}: no spoken form ({e}); its documents stay in written form"
                    # warned as well: spoken_fraction asked for spoken form, and this share of it is never made
                    warnings.warn(
                        f"PretrainStream: spoken_fraction={self.spoken_fraction}: {msg}", stacklevel=2
                    )
                    self._setup_problem("spoken_notes", msg)
        self._dead = [w <= 0 for w in sizes]
        self._readers: list[Reader | None] = [None] * len(self.sources)
        self._queues: list[deque] = [deque() for _ in self.sources]
        self._pending: list[deque] = [deque() for _ in self.sources]  # chunks read ahead (see _refill)
        self._cursors: list[dict | None] = [None] * len(self.sources)  # after the last consumed record
        self._epoch_docs = [0] * len(self.sources)
        # the _FILE_STATS counted per source (None: unknown, resumed from a state that did not record them)
        self._file_counts: list[Counter] | None = [Counter() for _ in self.sources]
        self._buffers: dict[str, list[int]] = {lang: [] for lang in self.languages}
        # per language, the rests of documents CLM rows cut (at most one each, but after load_resharded)
        self._rests: dict[str, list[list[int]]] = {lang: [] for lang in self.languages}
        self.rng = np.random.default_rng([self.seed, self.rank, 1234])
        self.batches = 0
        self._pool: Any = None
        self._pool_gen = 0  # pools created so far (a chunk handed to an older one is redone)

    def _decoder_start(self) -> int | None:
        """The decoder start token the targets ask for: the language code an mBART-cc25-style framing ends
        them with (HF's mBART moves it to the front of the decoder input), else None (EOS ends them: the
        model's own start token). Such a framing sets `decoder_starts` (language -> its code) and makes every
        batch carry `decoder_input_ids` built as transformers' mBART builds them from the labels (each row
        starts from its own last token, its language's code), so one stream holds any number of languages;
        with several codes there is no one start token, and this is None."""
        ends = {lang: tgt[1][-1] for lang, (_, tgt) in self._framing.items() if tgt[1]}
        self.decoder_starts = {lang: int(t) for lang, t in ends.items() if t != self.eos_id}
        starts = set(self.decoder_starts.values())
        if len(starts) == 1 and len(self.decoder_starts) == len(self._framing):
            return next(iter(starts))
        return None

    def _check_cache_text_steps(self, src: Source, cache: Any, spoken_fraction: float, deco: Any) -> None:
        """Spoken form and decontamination work on text, and a token cache holds token ids: say so when they
        are asked for (a cache built with build_cache(..., decontaminate=...) was decontaminated then)."""
        import json

        if spoken_fraction > 0:
            self._setup_problem(
                "cache_notes",
                f"source {src.name} is a token cache: its documents stay in written form (spoken_fraction "
                f"{spoken_fraction} applies to text sources only)",
            )
        if deco is not None:
            try:
                done = json.loads((cache / "meta.json").read_text(encoding="utf-8")).get("decontaminated")
            except (OSError, ValueError, AttributeError):
                done = None
            if not done:
                self._setup_problem(
                    "cache_notes",
                    f"source {src.name} is a token cache built without decontamination: its documents are not "
                    "checked (token ids hold no words); build it with build_cache(..., decontaminate=...)",
                )

    # -- statistics ------------------------------------------------------------------------------------------
    def _reset_stats(self) -> None:
        self.stats = {
            "batches": 0,
            "examples": Counter(),
            "docs": Counter(),  # documents used, per language
            "tokens": Counter(),  # document tokens used, per language
            "empty_docs": 0,
            "nul_docs": 0,
            "empty_files": 0,
            "bad_files": 0,
            "invalid_utf8": 0,
            "bad_json": 0,
            "long_records": 0,
            "missing_field": 0,
            "short_docs": 0,
            "decontaminated": 0,
            "spoken_docs": 0,
            "spoken_errors": 0,
            "truncated": 0,
            "split_docs": 0,
            "held_out": 0,  # documents of the held-out split (holdout): skipped ("train"), used ("val")
            "changed_files": 0,
            "foreign_tokens": 0,
            "empty_sources": 0,
            "dead_sources": [],
            "empty_languages": [],
            "epochs": Counter(),  # completed passes per source name
            "problems": [],  # the first few messages of each kind naming file and line
            "problems_listed": Counter(),  # how many of each kind are in "problems" (max_problems at most)
        }
        if self.holdout_split == "val":
            self.stats["not_held_out"] = 0  # documents outside the held-out split, which a "val" stream skips
        self._problem_kinds: list[str | None] = []  # the kind of each message of "problems" (None: unknown)

    def _setup_problem(self, stat: str, message: str) -> None:
        self._setup_problems.append((stat, message))
        self._problem(stat, message)

    def _problem(self, stat: str, message: str) -> None:
        if stat in self.stats and isinstance(self.stats[stat], int):
            self.stats[stat] += 1
        self._list_problem(stat, message)

    def _list_problem(self, stat: str, message: str) -> None:
        # up to max_problems of each kind: thousands of decontaminated or short documents must not keep an
        # invalid UTF-8 line or a file without the field found later from being listed
        listed = self.stats["problems_listed"]
        if listed[stat] < self.max_problems:
            listed[stat] += 1
            self.stats["problems"].append(message)
            self._problem_kinds.append(stat)

    # -- document supply -------------------------------------------------------------------------------------
    def _reader(self, i: int) -> Reader:
        r = self._readers[i]
        if r is None:
            r = Reader(
                self.sources[i],
                i,
                self.seed,
                self.rank,
                self.world_size,
                self._cursors[i],
                max_doc_chars=self.max_doc_chars,
            )
            self._readers[i] = r
        return r

    def _ensure_pool(self) -> Any:
        if self.num_workers > 0 and self._pool is None:
            _CTX["tokenizer"] = self.tokenizer
            _CTX["decontaminator"] = self.decontaminator
            # An executor, not multiprocessing.Pool: a Pool whose worker dies (OOM killer, a SIGTERM sent to
            # the whole process group) loses that worker's task, so map() never returns, and terminate() can
            # block for ever on a queue lock the dead worker held. An executor reports the death instead.
            self._pool = ProcessPoolExecutor(
                self.num_workers, mp_context=mp.get_context("fork"), initializer=_worker_signals
            )
        return self._pool

    def _tokenise(self, tasks: list[tuple], deaths: int = 0) -> list[tuple]:
        """_process over tasks in the worker processes; a dead worker costs a fresh pool and a retry (the work
        is a pure function of the text), a pool that keeps dying is an error that says what to do. `deaths`:
        pools that already died on these tasks."""
        for attempt in range(deaths, _POOL_RETRIES + 1):
            pool = self._ensure_pool()
            try:
                return list(pool.map(_process, tasks, chunksize=self._task_chunk(tasks)))
            except BrokenProcessPool as e:
                self._pool_died(e, attempt)
        raise AssertionError("unreachable")

    def _task_chunk(self, tasks: list[tuple]) -> int:
        return max(1, len(tasks) // (4 * self.num_workers))

    def _pool_died(self, error: BrokenProcessPool, attempt: int) -> None:
        """A worker of the pool died: drop the pool (a fresh one is forked on demand), say so, or raise once
        pools died `_POOL_RETRIES + 1` times in a row on the same documents."""
        pool = self._pool
        # the exit codes are read once the workers are joined: the executor's own thread may be reaping one
        # right now, and until it has, that worker shows none
        workers = list(pool._processes.values()) if pool is not None else []
        self._drop_pool()
        codes = sorted({p.exitcode for p in workers if p.exitcode is not None})
        if attempt >= _POOL_RETRIES:
            raise TandemError(
                f"PretrainStream: tokeniser worker processes died {attempt + 1} times in a row "
                f"(exit codes {codes}; -9 is usually the out-of-memory killer). Use fewer "
                "workers (--num-workers) or 0 to tokenise in the main process."
            ) from error
        print(
            f"[tandem] a tokeniser worker died (exit codes {codes}); restarting the workers and "
            "redoing their documents",
            file=sys.stderr,
            flush=True,
        )

    def _drop_pool(self) -> None:
        pool, self._pool = self._pool, None
        self._pool_gen += 1  # work handed to that pool is redone by the next one
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _read_chunk(self, i: int) -> _Chunk:
        """Read up to prefetch_docs records of source i (up to the end of a pass) and list the documents among
        them to tokenise; with workers, hand those to them."""
        reader = self._reader(i)
        items: list[Item] = []
        for _ in range(self.prefetch_docs):
            it = reader.next()
            items.append(it)
            if it.kind == "epoch_end":
                break
        if self.holdout > 0:  # the one place every document passes, text or token cache, before tokenising
            skip = "held_out" if self.holdout_split == "train" else "not_held_out"
            for j, it in enumerate(items):
                if it.kind != "doc":
                    continue
                h = it.text_hash if it.text_hash is not None else text_hash(it.payload)
                if is_held_out(h, self.holdout, self.holdout_seed) == (self.holdout_split == "train"):
                    items[j] = dataclasses.replace(it, kind="skip", payload=skip)
        lang = self._src_lang[i]
        chunk = _Chunk(i, items)
        for j, it in enumerate(items):
            if it.kind == "doc" and isinstance(it.payload, str):
                spoken = (
                    self.spoken_fraction > 0
                    and lang not in self._written_only
                    and unit_hash(self.seed, i, *it.record) < self.spoken_fraction
                )
                chunk.tasks.append((it.payload, lang, spoken))
                chunk.where.append(j)
        if chunk.tasks and self.num_workers > 0:
            chunk.gen = self._pool_gen
            try:  # Executor.map hands every task over now; the results are read in order, later
                chunk.results = self._ensure_pool().map(
                    _process, chunk.tasks, chunksize=self._task_chunk(chunk.tasks)
                )
            except BrokenProcessPool:  # a pool already broken: redone when the chunk is used
                chunk.results = None
        return chunk

    def _finish(self, chunk: _Chunk) -> list[Item]:
        """The chunk's records, its documents tokenised (waiting for the workers that have them)."""
        items, results = chunk.items, None
        if chunk.tasks:
            if self.num_workers <= 0:
                _CTX["tokenizer"] = self.tokenizer
                _CTX["decontaminator"] = self.decontaminator
                results = [_process(t) for t in chunk.tasks]
            else:
                deaths = 0
                if chunk.results is not None and chunk.gen == self._pool_gen:
                    try:
                        results = list(chunk.results)
                    except BrokenProcessPool as e:
                        self._pool_died(e, 0)
                        deaths = 1
                if results is None:  # handed to a pool that died since: redo it
                    results = self._tokenise(chunk.tasks, deaths)
            for j, (kind, payload) in zip(chunk.where, results, strict=True):
                it = items[j]
                if kind == "bad":
                    stat, msg = payload
                    items[j] = dataclasses.replace(
                        it, kind="bad", payload=(stat, f"{self._where(chunk.source, it)}: {msg}")
                    )
                else:
                    items[j] = dataclasses.replace(it, payload=payload)
        return items

    def _refill(self, i: int) -> None:
        """Add source i's next chunk of records to its queue. With workers, the chunks after it
        (`_READ_AHEAD`) are read and handed to them before waiting for this one, so that tokenising (and
        spoken form) overlaps with training instead of stopping it. The batches are the same: chunks are used
        in reading order, a checkpoint saves the cursor after the last record used, and records read ahead
        are read again after a resume."""
        pending = self._pending[i]
        if self.num_workers > 0:
            while len(pending) < 1 + _READ_AHEAD:
                pending.append(self._read_chunk(i))
        chunk = pending.popleft() if pending else self._read_chunk(i)
        self._queues[i].extend(self._finish(chunk))

    def _consume(self, i: int) -> np.ndarray | None:
        """The next usable document of source i, or None at the end of an epoch (marks empty sources dead)."""
        q = self._queues[i]
        while True:
            if not q:
                self._refill(i)
            it = q.popleft()
            self._cursors[i] = it.cursor
            if it.kind == "epoch_end":
                self.stats["epochs"][self.sources[i].name] += 1
                if self._epoch_docs[i] == 0:
                    self._dead[i] = True
                    self.stats["dead_sources"].append(self.sources[i].name)
                    self._problem(
                        "dead", f"source {self.sources[i].name} gave no usable document for rank {self.rank}"
                    )
                self._epoch_docs[i] = 0
                return None
            first_pass = it.cursor.get("epoch", 0) == 0  # count each bad record once, not on every pass
            if it.kind == "skip":  # the other side of the held-out split
                if first_pass:
                    self.stats[it.payload] += 1
                    if it.note is not None:  # the first piece of a split document: it was split all the same
                        self._problem(*it.note)
                continue
            if it.kind == "bad":
                stat, msg = it.payload
                if first_pass or it.always:
                    self._problem(stat, msg)
                    if stat in _FILE_STATS and self._file_counts is not None:
                        self._file_counts[i][stat] += 1
                    if stat == "long_records":  # a whole document lost, not a broken one: say so now
                        warnings.warn(f"PretrainStream: {msg}", stacklevel=2)
                continue
            if it.note is not None and first_pass:
                self._problem(*it.note)
            payload = it.payload
            if isinstance(payload, tuple):
                ids, flag = payload
                if flag == "spoken":
                    self.stats["spoken_docs"] += 1
                elif flag and first_pass:
                    self._problem("spoken_errors", f"{self._where(i, it)}: {flag}")
            else:  # token cache
                ids = payload
                vocab = getattr(self.tokenizer, "vocab_size", None)
                if vocab and len(ids) and int(ids.max()) >= int(vocab):
                    if first_pass:
                        self._problem(
                            "foreign_tokens",
                            f"{self._where(i, it)}: token id {int(ids.max())} >= the tokenizer's vocabulary "
                            f"{vocab} (skipped); was the cache built with another tokenizer?",
                        )
                    continue
            if len(ids) < self.min_doc_tokens:
                if first_pass:
                    self._problem(
                        "short_docs",
                        f"{self._where(i, it)}: {len(ids)} tokens (skipped)",
                    )
                continue
            self._epoch_docs[i] += 1
            if self.holdout > 0 and self.holdout_split == "val" and first_pass:
                self.stats["held_out"] += 1
            lang = self._src_lang[i]
            self.stats["docs"][lang] += 1
            self.stats["tokens"][lang] += len(ids)
            return ids

    def _where(self, i: int, it: Item) -> str:
        """File and line (or row) of a record, for messages."""
        return it.where or f"{self.sources[i].name} record {it.record[1]}"

    def _live_langs(self) -> list[str]:
        alive = {lang for lang, d in zip(self._src_lang, self._dead, strict=True) if not d}
        return [lang for lang in self.languages if lang in alive and self.lang_probs[lang] > 0]

    def _sample_lang(self) -> str:
        live = self._live_langs()
        if not live:
            raise self._no_usable_data()
        p = np.asarray([self.lang_probs[lang] for lang in live])
        return live[int(self.rng.choice(len(live), p=p / p.sum()))]

    def _no_usable_data(self) -> NoUsableData:
        """The error for a stream none of whose sources has a usable document: each source first, with the
        first listed problem naming it or one of its files (a failed parquet file, an invalid line), then the
        first few other problems."""
        problems = list(self.stats["problems"])
        kinds = self._problem_kinds  # one per listed problem (`_list_problem`, `load_state_dict`)
        used: set[int] = set()
        dead: list[tuple[str, str]] = []
        for src, is_dead in zip(self.sources, self._dead, strict=True):
            if not is_dead:  # alive but never drawn (a language of weight 0): not why the stream stopped
                continue
            try:
                files = [str(f) for f in resolve_files(src)[1]]
            except (TandemError, OSError):  # gone since: its messages still start with its path
                files = []
            paths = (*files, str(src.path))  # a message about a file starts "PATH: " or "PATH line N: "
            named = (f"source {src.name} ", f"{src.name} record ")
            mine = [
                k
                for k, msg in enumerate(problems)
                if msg.startswith(named) or any(msg.startswith((f"{p}:", f"{p} ")) for p in paths)
            ]
            why = [k for k in mine if kinds[k] != "dead"] or mine
            if why:
                used.update(mine)
                dead.append((str(src.name), problems[why[0]]))
            else:
                dead.append((str(src.name), "no usable document"))
        others = [msg for k, msg in enumerate(problems) if k not in used][:3]
        return NoUsableData(dead, others)

    def _next_doc(self, lang: str) -> np.ndarray | None:
        """The language's next document: the rest a CLM row cut off (see `_single`), else a document of `lang`
        from a source drawn by weight; None when the language has run dry."""
        rests = self._rests[lang]
        if rests:
            return np.asarray(rests.pop(0), dtype=np.int64)
        while True:
            idx = [i for i, x in enumerate(self._src_lang) if x == lang and not self._dead[i]]
            if not idx:
                return None
            w = self._src_weight[idx]
            i = idx[int(self.rng.choice(len(idx), p=w / w.sum()))] if len(idx) > 1 else idx[0]
            ids = self._consume(i)
            if ids is not None:
                return ids

    def _packed(self, lang: str) -> np.ndarray | None:
        buf = self._buffers[lang]
        while len(buf) < self.chunk_len:
            ids = self._next_doc(lang)
            if ids is None:
                if buf:  # the language ran dry: use what is left
                    break
                return None
            # Every document is followed by [DOC], so the separator survives chunk boundaries.
            buf.extend(ids.tolist())
            buf.append(self.doc_sep)
        chunk = np.asarray(buf[: self.chunk_len], dtype=np.int64)
        self._buffers[lang] = buf[self.chunk_len :]
        return chunk

    def _single(self, lang: str) -> np.ndarray | None:
        ids = self._next_doc(lang)
        if ids is None:
            return None
        if len(ids) > self.chunk_len:
            # The rest is not dropped: it is the language's next document, for whichever row comes next (a
            # packed row packs it, a CLM row goes on with it). Kept for packing alone, rests piled up without
            # bound in memory and in every checkpoint wherever CLM rows cut more than packed rows use (long
            # documents; an objective that never packs). The cut leaves the rest min_doc_tokens, as any
            # document has.
            cut = min(self.chunk_len, len(ids) - self.min_doc_tokens)
            self._rests[lang].insert(0, ids[cut:].tolist())
            ids = ids[:cut]
        return ids

    def _row(self) -> tuple[list[int], list[int], str]:
        kind = self.objective.choose_kind(self.rng)
        while True:
            lang = self._sample_lang()
            tokens = self._packed(lang) if self.objective.packs(kind) else self._single(lang)
            if tokens is not None and len(tokens) > 0:
                break
        ex = self.objective.apply(tokens, kind, self.rng)
        # framed once, the packed chunk as one text; an objective's tokens past its `overhead` are cut, not the
        # affixes (the budget leaves them room, so the built-in objectives are never cut)
        src_affixes, tgt_affixes = self._framing[lang]
        src, cut_src = frame(ex.source, src_affixes, self.seq_len)
        tgt, cut_tgt = frame(ex.target, tgt_affixes, self.target_len)
        if cut_src or cut_tgt:
            self.stats["truncated"] += 1
        self.stats["examples"][ex.kind] += 1
        return src, tgt, ex.kind

    # -- batches ---------------------------------------------------------------------------------------------
    def _collate(self, rows: list[tuple[list[int], list[int], str]]) -> dict[str, Any]:
        b = len(rows)
        s = self.seq_len if self.pad_to_max else max(len(r[0]) for r in rows)
        t = self.target_len if self.pad_to_max else max(len(r[1]) for r in rows)
        ids = np.full((b, s), self.pad_id, dtype=np.int64)
        mask = np.zeros((b, s), dtype=np.int64)
        labels = np.full((b, t), -100, dtype=np.int64)
        for k, (src, tgt, _) in enumerate(rows):
            ids[k, : len(src)] = src
            mask[k, : len(src)] = 1
            labels[k, : len(tgt)] = tgt
        batch: dict[str, Any] = {"input_ids": ids, "attention_mask": mask, "labels": labels}
        if self.decoder_starts:  # mBART-cc25: transformers' shift_tokens_right (the last token moved first)
            dec = np.full((b, t), self.pad_id, dtype=np.int64)
            for k, (_, tgt, _) in enumerate(rows):
                dec[k, 0] = tgt[-1]
                n = min(len(tgt), t - 1)
                dec[k, 1 : n + 1] = tgt[:n]
            batch["decoder_input_ids"] = dec
        if self.return_tensors == "pt":
            import torch

            batch = {k: torch.from_numpy(v) for k, v in batch.items()}
        batch["kind"] = [r[2] for r in rows]
        return batch

    def next_batch(self) -> dict[str, Any]:
        """Build and return the next batch."""
        rows = [self._row() for _ in range(self.batch_size)]
        self.batches += 1
        self.stats["batches"] = self.batches
        return self._collate(rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        return self.next_batch()

    # -- state -----------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue with exactly the next batch (JSON-serialisable)."""
        stats = copy.deepcopy(self.stats)
        for k, v in stats.items():
            if isinstance(v, Counter):
                stats[k] = dict(v)
        return {
            "version": STATE_VERSION,
            "seed": self.seed,
            "rank": self.rank,
            "world_size": self.world_size,
            "holdout": [self.holdout, self.holdout_seed, self.holdout_split],
            "sources": [str(s.name) for s in self.sources],
            "batches": self.batches,
            "rng": copy.deepcopy(self.rng.bit_generator.state),
            "cursors": copy.deepcopy(self._cursors),
            "epoch_docs": list(self._epoch_docs),
            "dead": list(self._dead),
            "buffers": {k: list(v) for k, v in self._buffers.items()},
            "rests": {k: [list(r) for r in v] for k, v in self._rests.items() if v},
            "stats": stats,
            "problem_kinds": list(self._problem_kinds),
            # the setup problems (found when the stream was built) its counters hold: a resumed stream finds
            # its own, and counts only the difference
            "setup_counts": dict(Counter(stat for stat, _ in self._setup_problems)),
            # per source, the problems of whole files counted (see _FILE_STATS), for load_resharded
            "file_counts": None if self._file_counts is None else [dict(c) for c in self._file_counts],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a `state_dict()`; the stream then yields the batches that would have come next."""
        if state.get("version") != STATE_VERSION:
            raise TandemError(f"data state has version {state.get('version')}, expected {STATE_VERSION}")
        for key in ("seed", "rank", "world_size"):
            if state[key] != getattr(self, key):
                raise TandemError(
                    f"data state was saved with {key}={state[key]} but this stream has {key}={getattr(self, key)}; "
                    "resume with the same settings"
                )
        mine = [self.holdout, self.holdout_seed, self.holdout_split]
        saved = list(state.get("holdout") or [0.0])  # a state saved before streams held documents out: none
        if (saved[0] or mine[0]) and saved != mine:
            raise TandemError(
                f"data state was saved with holdout={saved[0]} {saved[1:]} but this stream has holdout="
                f"{mine[0]} {mine[1:]} (share, [seed, split]); resume with the same held-out split"
            )
        names = [str(s.name) for s in self.sources]
        if state["sources"] != names:
            raise TandemError(
                f"data state was saved for sources {state['sources']}, not {names}; resume with the same sources"
            )
        self.close()
        self.batches = int(state["batches"])
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = copy.deepcopy(state["rng"])
        self._cursors = copy.deepcopy(state["cursors"])
        self._readers = [None] * len(self.sources)
        self._queues = [deque() for _ in self.sources]
        self._pending = [deque() for _ in self.sources]
        self._epoch_docs = list(state["epoch_docs"])
        self._dead = list(state["dead"])
        counts = state.get("file_counts")
        self._file_counts = (
            [Counter({k: int(n) for k, n in c.items()}) for c in counts]
            if isinstance(counts, list) and len(counts) == len(self.sources)
            else None
        )
        # a state saved before language tags were grouped by language_tag can hold "en_US" for "en-US"
        self._buffers = {lang: [] for lang in self.languages}
        for k, v in state["buffers"].items():
            self._buffers.setdefault(_saved_tag(k), []).extend(v)
        self._rests = {lang: [] for lang in self.languages}
        for k, v in state.get("rests", {}).items():  # none in a state saved before CLM rests were kept apart
            self._rests.setdefault(_saved_tag(k), []).extend(list(r) for r in v)
        saved = copy.deepcopy(state["stats"])
        for k in ("examples", "docs", "tokens", "epochs", "problems_listed"):
            saved[k] = Counter(saved.get(k, {}))
        for k in ("docs", "tokens"):
            merged: Counter = Counter()
            for tag, n in saved[k].items():
                merged[_saved_tag(tag)] += n
            saved[k] = merged
        self._reset_stats()
        self.stats.update(saved)  # counters added since the state was saved start at 0
        self._problem_kinds = _problem_kinds(state)
        # what this stream found when it was built (an empty file, a language with no data) may be new: the
        # data can have changed since the checkpoint. The saved counters hold the setup problems of the stream
        # that saved them: they change by the difference, so a resumed run counts what an uninterrupted one
        # does (each problem once, listed or not)
        now = Counter(stat for stat, _ in self._setup_problems)
        before = state.get("setup_counts")
        if isinstance(before, dict):
            before = Counter({k: int(v) for k, v in before.items()})
        else:  # a state saved before they were recorded: new are those missing from a list not yet full
            listed = self.stats["problems_listed"]
            before = now - Counter(
                stat
                for stat, msg in self._setup_problems
                if msg not in self.stats["problems"] and listed[stat] < self.max_problems
            )
        for stat in set(now) | set(before):
            if isinstance(self.stats.get(stat), int) and not isinstance(self.stats[stat], bool):
                self.stats[stat] = max(0, self.stats[stat] + now[stat] - before[stat])
        for stat, msg in self._setup_problems:
            if msg not in self.stats["problems"]:
                self._list_problem(stat, msg)
        for lang in self.languages:
            if self.lang_sizes[lang] <= 0 and lang not in self.stats["empty_languages"]:
                self.stats["empty_languages"].append(lang)

    def load_resharded(self, states: Sequence[dict[str, Any]]) -> None:
        """Continue from the `state_dict()`s of every rank (rank 0 first) of a run with another number of
        ranks; approximate, as no one position continues all of them exactly. Each source goes on from the
        earliest position any saved rank reached in it, so no document is skipped, and the documents the
        other ranks had read since then are read again (by whichever rank now owns them). This rank takes
        the packing buffers, CLM rests and statistics of saved ranks `rank`, `rank + world_size`, ... (each saved rank's
        go to one rank: nothing is lost or counted twice) and a generator of its own."""
        states = list(states)
        ranks = [s.get("rank") for s in states]
        if (
            not states
            or ranks != list(range(len(states)))
            or any(s["world_size"] != len(states) for s in states)
        ):
            raise TandemError(
                f"load_resharded needs the data states of every rank, rank 0 first; got ranks {ranks}"
            )
        merged = copy.deepcopy(states[0])
        merged.update(rank=self.rank, world_size=self.world_size)
        for s in states[1:]:
            for key in ("version", "seed", "sources"):
                if s.get(key) != merged.get(key):
                    raise TandemError(
                        f"data state of rank {s['rank']} has {key}={s.get(key)!r}, rank 0's {merged.get(key)!r}"
                    )
        mine = [s for s in states if s["rank"] % self.world_size == self.rank]
        merged["batches"] = max(int(s["batches"]) for s in states)
        merged["rng"] = np.random.default_rng(
            [self.seed, self.rank, 1234, self.world_size, len(states), merged["batches"]]
        ).bit_generator.state
        cursors = []
        slowest = []  # per source, the saved rank whose position it goes on from
        for i in range(len(self.sources)):
            saved = [s["cursors"][i] for s in states]
            if any(c is None for c in saved):  # a rank never read this source: from its start
                cursors.append(None)
                slowest.append(saved.index(None))
                continue
            slowest.append(min(range(len(saved)), key=lambda r: _cursor_key(saved[r])))
            first = dict(saved[slowest[-1]])
            first["piece"] = 0  # inside a split document: it is read again whole, by the rank that owns it
            if "slot" in first:  # inside a shuffle_docs block: the slot counted the saved rank's records of
                first["slot"] = 0  # the block, not this rank's; the block is read again whole
            cursors.append(first)
        merged["cursors"] = cursors
        merged["epoch_docs"] = [max(s["epoch_docs"][i] for s in states) for i in range(len(self.sources))]
        merged["dead"] = [all(s["dead"][i] for s in states) for i in range(len(self.sources))]
        buffers: dict[str, list[int]] = {lang: [] for lang in self.languages}
        rests: dict[str, list[list[int]]] = {}
        stats: dict[str, Any] = {}
        for s in mine:
            for lang, buf in s["buffers"].items():
                buffers.setdefault(_saved_tag(lang), []).extend(buf)
            for lang, pieces in s.get("rests", {}).items():
                rests.setdefault(_saved_tag(lang), []).extend(pieces)
            for k, v in s["stats"].items():
                if k not in stats:
                    stats[k] = copy.deepcopy(v)
                elif isinstance(v, dict):
                    for name, n in v.items():
                        stats[k][name] = stats[k].get(name, 0) + n
                elif isinstance(v, list):
                    stats[k].extend(x for x in v if x not in stats[k])
                elif isinstance(v, int | float):
                    stats[k] += v
        merged["buffers"] = buffers
        merged["rests"] = rests
        merged["stats"] = stats
        # what each rank counts alike, as far as it read (passes over a source, damaged or changed files), is
        # what the saved rank it goes on from had counted there: one run at that position counted as much,
        # and counts the rest when it reads it (a sum counted each once per saved rank)
        names = [str(n) for n in merged["sources"]]
        stats["epochs"] = {
            name: n
            for i, name in enumerate(names)
            if (n := int(states[slowest[i]]["stats"].get("epochs", {}).get(name, 0)))
        }
        file_counts = [s.get("file_counts") for s in states]
        if all(isinstance(c, list) and len(c) == len(names) for c in file_counts):
            per_source = [dict(file_counts[r][i]) for i, r in enumerate(slowest)]
            for stat in _FILE_STATS:
                stats[stat] = sum(int(c.get(stat, 0)) for c in per_source)
            merged["file_counts"] = per_source
        else:  # a state saved before they were recorded: as much as one rank counted, not their sum
            for stat in _FILE_STATS:
                stats[stat] = max(int(s["stats"].get(stat, 0)) for s in mine)
            merged["file_counts"] = None
        # a source is dead only where every saved rank found it so (merged["dead"]): one that gave another
        # rank documents goes on being read
        stats["dead_sources"] = [
            n
            for n in stats.get("dead_sources", [])
            if str(n) in names and merged["dead"][names.index(str(n))]
        ]
        # up to max_problems listed problems of each kind, as one stream that had read them all lists (a state
        # saved before kinds were recorded: max_problems of its messages)
        problems: list[str] = []
        kinds: list[str | None] = []
        for s in mine:
            for msg, kind in zip(s["stats"].get("problems", []), _problem_kinds(s)):
                if msg not in problems and kinds.count(kind) < self.max_problems:
                    problems.append(msg)
                    kinds.append(kind)
        stats["problems"] = problems
        stats["problems_listed"] = dict(Counter(k for k in kinds if k is not None))
        merged["problem_kinds"] = kinds
        # the counters summed above hold the setup problems of each of those ranks: so do their setup counts
        if all(isinstance(s.get("setup_counts"), dict) for s in mine):
            merged["setup_counts"] = dict(sum((Counter(s["setup_counts"]) for s in mine), Counter()))
        else:
            merged.pop("setup_counts", None)
        stats["batches"] = merged["batches"]
        self.load_state_dict(merged)

    def close(self) -> None:
        """Close files and worker processes (the stream can still be used; they reopen on demand)."""
        for r in self._readers:
            if r is not None:
                r.close()
        self._readers = [None] * len(self.sources)
        # Prefetched records are re-read from the last consumed cursor when the readers reopen.
        self._queues = [deque() for _ in self.sources]
        self._pending = [deque() for _ in self.sources]
        self._drop_pool()

    def __del__(self) -> None:  # best effort; worker pools otherwise linger until exit
        try:
            self.close()
        except Exception:
            pass
