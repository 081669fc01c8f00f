"""The edge runtime: a `tandem export --format ct2` directory served by CTranslate2 + SentencePiece, no torch.

One `EdgeModel` owns one CTranslate2 `Translator` (CPU, int8 by default as exported) and the tokenizer: the
SentencePiece model, or for a model with a Hugging Face tokenizer (BART, mBART) its tokenizer.json, read with
`tokenizers` (`tandem.edge.hf_tokens`). Text goes in and out; token strings are only used at the CTranslate2
boundary.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tandem.decoding import (
    TOKEN_BANS,
    check_generation_settings,
    check_token_bans,
    forced_first_token,
    id_list,
    model_min_new_tokens,
)
from tandem.errors import InputTooLong, TandemError, check_threads
from tandem.jsonl import JSON_ERRORS
from tandem.slu import SLULabels
from tandem.tokenizer import frame, scored_target_ids

EDGE_META = "tandem_edge.json"
VMAP_FILE = "vmap.txt"


@dataclass
class Generation:
    """One generated continuation."""

    text: str
    finish_reason: str  # "stop" (EOS or a stop string) or "length"
    input_tokens: int  # tokens the encoder read: [CLM] when added, the text, the source EOS
    output_tokens: int
    score: float | None = None  # cumulative log-probability when asked for
    token_ids: list[int] | None = None  # the generated ids, EOS included when the row ended with it


@dataclass
class ChoiceScores:
    """Rank scoring of verbalised choices for one prompt: the best choice has the lowest loss."""

    best: int
    losses: list[float]  # per choice: mean (or summed) negative log-likelihood of the choice + EOS
    logprobs: list[float]  # per choice: summed log-probability
    num_tokens: list[int]


def _as_list(x: str | Sequence[str], what: str) -> tuple[list[str], bool]:
    if isinstance(x, str):
        return [x], True
    if not isinstance(x, Sequence) or not all(isinstance(t, str) for t in x):
        raise TandemError(f"{what}: expected a string or a list of strings")
    return list(x), False


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Text up to the earliest occurrence of any stop string, and whether one occurred."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def tokens_to_stop(decode: Callable[[Sequence[Any]], str], tokens: Sequence[Any], stop: Sequence[str]) -> int:
    """How many of `tokens` were generated up to and including the one that completed a stop string.

    A batch decodes past a row's stop string; counting only these tokens makes the count (the `usage` the
    server reports) the same as for the same input decoded alone, which stops at that token. A longer
    prefix decodes to a longer text, so "has a stop" is monotone in the prefix length: binary search (a scan
    decoding every prefix was quadratic, 27 ms for a stop at token 512)."""
    if not cut_at_stop(decode(tokens), stop)[1]:
        return len(tokens)
    lo, hi = 1, len(tokens)  # the answer is in [lo, hi]
    while lo < hi:
        mid = (lo + hi) // 2
        if cut_at_stop(decode(tokens[:mid]), stop)[1]:
            hi = mid
        else:
            lo = mid + 1
    return lo


# ------------------------------------------------------------------------------- decoding defaults
# The decoding settings the edge runtime takes from an export's "generation" (the model's defaults, as
# `Seq2SeqLM.generate` uses them) unless the caller passes them, and tandem's own when neither does.
EDGE_GENERATION_DEFAULTS: dict[str, Any] = {
    "max_new_tokens": 64,
    "min_new_tokens": 0,
    "num_beams": 1,
    "length_penalty": 1.0,
    "early_stopping": None,  # None: the torch model's False; CTranslate2's beam search ends as True does
    "no_repeat_ngram_size": 0,
    "repetition_penalty": 1.0,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "bad_words_ids": None,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
}
GENERATION_MODES = ("exact", "nearest", "off")
_NEUTRAL = {k: v for k, v in EDGE_GENERATION_DEFAULTS.items() if k not in ("max_new_tokens", "num_beams")}


class _Unset:
    """The default of the options whose None means "off" (forced tokens, token bans): "not given, use the
    model's"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass
class DecodingPlan:
    """How one `generate_batch` call decodes with CTranslate2, and what of the settings it could not match.

    `settings` are the resolved options (caller over the model's defaults over tandem's); `left_out` names
    the model defaults not applied because CTranslate2 cannot apply them as `Seq2SeqLM.generate` does, and
    `approximate` the ones applied with CTranslate2's own, different, rule (each with the reason)."""

    settings: dict[str, Any]
    ct2: dict[str, Any]
    prefix: int | None  # forced first token, through a one-token target prefix
    append_eos: int | None  # greedy forced last token: decode max_new - 1 tokens, then this if not ended
    left_out: dict[str, str] = field(default_factory=dict)
    approximate: dict[str, str] = field(default_factory=dict)


def _banned_sequences(s: dict[str, Any], eos_id: int) -> list[list[int]]:
    """The token sequences CTranslate2's `suppress_sequences` bans for the resolved settings `s`: each
    suppressed token, and each bad word but a lone EOS (transformers drops that one)."""
    words, suppressed, _ = check_token_bans(s["bad_words_ids"], s["suppress_tokens"], None)
    seqs = [[i] for i in suppressed] + [w for w in words if w != [eos_id]]
    return [list(w) for w in dict.fromkeys(tuple(w) for w in seqs)]


def _not_exact(
    name: str, s: dict[str, Any], *, eos_id: int, start_id: int, sampling: bool, use_vmap: bool = False
) -> str | None:
    """Why CTranslate2 cannot apply setting `name` of the resolved settings `s` exactly as tandem's torch
    decoding (= transformers') does, or None when it can (or the setting is off)."""
    beam = s["num_beams"] > 1 and not sampling
    if name == "begin_suppress_tokens" and s[name]:
        return "CTranslate2's translate_batch has no tokens suppressed at the first step only"
    if name in ("bad_words_ids", "suppress_tokens") and s[name]:
        words = [w for w in (s[name] if name == "bad_words_ids" else [[i] for i in s[name]]) if w != [eos_id]]
        if words and beam:
            return "in beam search CTranslate2 bans tokens before the softmax, transformers after it"
        if any(len(w) > 1 and w[0] == start_id for w in words):
            return (
                "a bad word starting with the decoder start token: transformers matches it against the start "
                "token, CTranslate2 only against generated tokens"
            )
        if use_vmap and any(len(w) > 1 for w in words):
            return (
                "with a vocabulary map CTranslate2 drops a bad word's tokens outside the map, which bans its "
                "last token after a shorter prefix (load with use_vmap=False)"
            )
    if name == "repetition_penalty" and s[name] != 1.0:
        why = "transformers also penalises the decoder start token, CTranslate2 only generated tokens"
        return why + (
            "; in beam search CTranslate2 penalises logits, transformers log-probabilities" if beam else ""
        )
    if name == "no_repeat_ngram_size" and s[name] > 0:
        if beam:
            return "in beam search CTranslate2 bans n-grams before the softmax, transformers after it"
        if s[name] == 1 or start_id != eos_id:
            return "transformers counts the decoder start token in the n-grams, CTranslate2 does not"
    if name == "min_new_tokens" and s[name] > 0 and beam:
        return "in beam search CTranslate2 blocks EOS before the softmax, transformers after it"
    if name == "forced_bos_token_id" and s[name] is not None and beam and s["min_new_tokens"] < 2:
        return (
            "after a target prefix CTranslate2's beam search drops EOS from all but the first beam at the "
            "next step, transformers keeps it"
        )
    if name == "forced_eos_token_id" and s[name] is not None:
        if beam:
            return "CTranslate2 has no forced last token, and in beam search forcing it changes beam scores"
        if sampling and len(id_list(s[name])) > 1:
            return "sampling among several forced EOS ids"
    # unset (None) is False on the torch path, as in transformers: it was taken for CTranslate2's True, so a
    # plain num_beams > 1 decoded other tokens than the torch model without a word
    if name == "early_stopping" and beam and s[name] in (None, False, "never") and s["length_penalty"] != 0:
        return "CTranslate2's beam search ends once num_beams hypotheses have ended (early_stopping=True)" + (
            "; unset, the torch model (as transformers) uses False: pass early_stopping=True for its tokens"
            if s[name] is None
            else ""
        )
    return None


_CANNOT_APPROXIMATE = ("forced_eos_token_id", "begin_suppress_tokens")  # no CTranslate2 rule at all
_OUTSIDE = {  # defaults the edge runtime never takes, with why
    "do_sample": "the edge runtime samples only when asked (temperature > 0)",
    "num_return_sequences": "the edge runtime returns one sequence per input",
}


def plan_generation(
    defaults: dict[str, Any] | None,
    given: dict[str, Any],
    *,
    eos_id: int,
    start_id: int,
    vocab_size: int | None = None,
    temperature: float = 0.0,
    top_k: int | None = 0,
    top_p: float = 1.0,
    mode: str = "exact",
    use_vmap: bool = False,
) -> DecodingPlan:
    """The CTranslate2 decoding of `given` (the caller's options; UNSET or None: not given, except that None
    turns a forced token or a token ban off) over the model's `defaults` (an export's "generation"); temperature > 0
    samples (with `top_k` / `top_p`; `top_k` None: the model's, else 0), and then the model's beam search is
    not taken.

    Every setting is checked by `tandem.decoding.check_generation_settings`, as `Seq2SeqLM.generate` checks
    it, so a bad value gets the same message on both backends.

    mode "exact": a default CTranslate2 cannot apply as tandem's torch decoding does is left out (named in
    `left_out`); "nearest": it is applied with CTranslate2's rule instead (in `approximate`; a forced last
    token in beam search is still left out); "off": the defaults are ignored. Options the caller passes are
    applied as asked, CTranslate2's rule where it differs (in `approximate`), except a forced last token in
    beam search and token bans CTranslate2 cannot apply exactly (`_not_exact`), which raise TandemError."""
    if mode not in GENERATION_MODES:
        raise TandemError(f"generation_defaults must be one of {', '.join(GENERATION_MODES)}, got {mode!r}")
    model = {} if mode == "off" else {k: v for k, v in (defaults or {}).items()}
    left_out: dict[str, str] = {}
    for k, why in _OUTSIDE.items():
        v = model.get(k)
        if k == "do_sample" and v:
            left_out[k] = why
        if k == "num_return_sequences" and v not in (None, 1):
            left_out[k] = why
    if top_k is None:  # a Hugging Face model's top_k (transformers' 50 when its config leaves it unset)
        top_k = model.get("top_k", 0)
    model = {k: v for k, v in model.items() if k in EDGE_GENERATION_DEFAULTS}
    explicit = {
        k: v
        for k, v in given.items()
        if v is not UNSET
        and (v is not None or k in ("forced_bos_token_id", "forced_eos_token_id", *TOKEN_BANS))
    }
    # sampling is only ever asked for (temperature > 0): then a caller who gives no num_beams gets one
    # beam, not the model's beam search, as in Seq2SeqLM.generate
    sampling = isinstance(temperature, (int, float)) and temperature > 0  # a bad value: named below
    if sampling and "num_beams" not in explicit:
        model.pop("num_beams", None)
    s = {**EDGE_GENERATION_DEFAULTS, **model, **explicit}
    if "min_new_tokens" not in explicit:  # a default minimum over a shorter limit: the limit wins
        s["min_new_tokens"] = model_min_new_tokens(s["min_new_tokens"], s["max_new_tokens"])
    check_generation_settings(
        **{k: v for k, v in s.items() if not (k == "early_stopping" and v is None)},
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        do_sample=sampling,
        vocab_size=vocab_size,
    )
    approximate: dict[str, str] = {}
    # min_new_tokens first: whether EOS is blocked right after a forced first token depends on it
    order = ["min_new_tokens", "no_repeat_ngram_size", "repetition_penalty", "forced_bos_token_id"]
    for k in [*order, "forced_eos_token_id", "early_stopping", *TOKEN_BANS]:
        why = _not_exact(k, s, eos_id=eos_id, start_id=start_id, sampling=sampling, use_vmap=use_vmap)
        if why is None:
            continue
        if k in explicit:
            if k == "forced_eos_token_id":
                raise TandemError(f"{k} with num_beams {s['num_beams']}: {why}; use num_beams=1 or drop it")
            if k in TOKEN_BANS:  # a caller's ban CTranslate2 cannot apply exactly: an error, not its rule
                raise TandemError(
                    f"{k}: the edge runtime cannot apply it as the torch model (and transformers) does: {why}; "
                    "drop it, or decode with the torch model"
                )
            approximate[k] = why
        elif k == "early_stopping" or (mode == "nearest" and k not in _CANNOT_APPROXIMATE):
            approximate[k] = why
        else:
            left_out[k] = why
            s[k] = _NEUTRAL[k]
    beam = s["num_beams"] > 1 and not sampling
    max_new, min_new = s["max_new_tokens"], s["min_new_tokens"]
    append_eos = None
    if s["forced_eos_token_id"] is not None and not beam:
        append_eos = min(id_list(s["forced_eos_token_id"]))
        max_new -= 1  # the last token is forced: decode one fewer, then append it unless the row ended
        min_new = min(min_new, max_new)
    ct2 = dict(
        beam_size=s["num_beams"] if not sampling else 1,
        max_decoding_length=max_new,
        min_decoding_length=min_new,
        length_penalty=float(s["length_penalty"]),
        no_repeat_ngram_size=int(s["no_repeat_ngram_size"]),
        repetition_penalty=float(s["repetition_penalty"]),
    )
    banned = _banned_sequences(s, eos_id)
    if banned:
        ct2["suppress_sequences"] = banned  # ids: `EdgeModel` passes them as its token strings
    s["top_k"] = top_k
    return DecodingPlan(s, ct2, s["forced_bos_token_id"], append_eos, left_out, approximate)


def generation_report(
    defaults: dict[str, Any] | None, *, eos_id: int, start_id: int, vocab_size: int | None = None
) -> dict[str, Any]:
    """What the edge runtime does with a model's decoding defaults when called without options (the
    export writes it into tandem_edge.json): {"num_beams", "not_exact": {setting: why}}."""
    plan = plan_generation(defaults, {}, eos_id=eos_id, start_id=start_id, vocab_size=vocab_size)
    return {"num_beams": plan.settings["num_beams"], "not_exact": {**plan.left_out, **plan.approximate}}


class EdgeModel:
    """A torch-free seq2seq model for CPU inference over a tandem edge export directory."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        threads: int = 1,
        compute_type: str = "default",
        device: str = "cpu",
        use_vmap: bool | None = None,
        generation_defaults: str = "exact",
    ):
        from tandem.edge.isa import configure_ct2_isa

        check_threads(threads, "EdgeModel threads")  # CTranslate2 crashes on a huge count
        configure_ct2_isa()  # before CTranslate2 loads: AVX-512 on AMD parts that have it
        import ctranslate2

        self.path = Path(path)
        meta_path = self.path / EDGE_META
        if not meta_path.is_file():
            raise TandemError(
                f"{self.path}: no {EDGE_META}; this is not a tandem edge export "
                "(create one with `tandem export MODEL --format ct2 --out DIR`)"
            )
        self.meta: dict[str, Any] = _read_json(meta_path, dict, "an object")
        for key in ("eos_token_id", "pad_token_id", "decoder_start_token_id"):
            if not isinstance(self.meta.get(key), int):
                raise TandemError(f"{meta_path}: {_DAMAGED} (field {key!r} is missing or not an integer)")
        self.tok: Any = load_tokenizer(self.path, self.meta)
        self.hf_tokenizer = self.meta.get("hf_tokenizer") is not None
        self.pieces: list[str] = read_vocabulary(self.path, self.meta)
        self.index = {p: i for i, p in enumerate(self.pieces)}
        self.eos_id = int(self.meta["eos_token_id"])
        self.pad_id = int(self.meta["pad_token_id"])
        self.bos_id = self.meta.get("bos_token_id")
        self.clm_id = self.meta.get("clm_token_id")
        self.decoder_start_id = int(self.meta["decoder_start_token_id"])
        self.source_eos = bool(self.meta.get("source_eos", True))
        # how a source's ids are framed, as `tok(text)` frames them (`frame`): tandem's SentencePiece model ends
        # with EOS; a Hugging Face tokenizer has its own (BART <s> ... </s>, mBART ... </s> en_XX)
        # (AlexaTM's: <s> ... </s>, "source_bos" the tokenizer's <s> id)
        source_bos = self.meta.get("source_bos")
        if source_bos is not None and (
            isinstance(source_bos, bool)
            or not isinstance(source_bos, int)
            or not 0 <= source_bos < len(self.pieces)
        ):
            raise TandemError(
                f"{self.path / EDGE_META}: source_bos must be a token id of the vocabulary or null, got "
                f"{source_bos!r}; export the model again"
            )
        bos = [] if source_bos is None else [source_bos]
        eos_only: tuple[list[int], list[int]] = (bos, [self.eos_id])
        own = self.tok.source_affixes if self.hf_tokenizer else eos_only
        self._source_affixes = own if self.source_eos else ([], [])
        # the pieces a source of no text holds (see `_no_text`; a Hugging Face tokenizer's are counted there)
        self._framing_pieces = (
            set()
            if self.hf_tokenizer
            else {self.pieces[i] for part in (*self._source_affixes, [self.eos_id]) for i in part}
        )
        self.max_positions: int | None = _max_positions(self.meta)
        # Ids that never appear in decoded text (control tokens). Placeholder ids past the SentencePiece
        # pieces (a model vocabulary larger than the tokenizer's) decode as <unk>, as on the torch path.
        self._skip = {
            i for i in (self.eos_id, self.pad_id, self.bos_id, self.decoder_start_id) if i is not None
        }
        self.has_vmap = (self.path / VMAP_FILE).is_file()
        self.use_vmap = self.has_vmap if use_vmap is None else bool(use_vmap)
        if self.use_vmap and not self.has_vmap:
            raise TandemError(
                f"{self.path}: use_vmap=True but there is no {VMAP_FILE}; build one with trim_vocabulary"
            )
        vmap = _read_text(self.path / VMAP_FILE).split("\n") if self.use_vmap else []
        # ids below this one are candidates of every call with the map (see `_translate`)
        self._vmap_stable_below = self._always_candidates_below(vmap) if self.use_vmap else 0
        # whether the map allows a source's own tokens (`trim_vocabulary(copy_source=True)`): CTranslate2 then
        # allows every row of a batch the tokens of all the batch's sources (see `generate_batch`)
        self._vmap_per_source = any(line and not line.startswith("\t") for line in vmap)
        self._vmap_dirty = False
        self._vmap_lock = threading.Lock()
        # a source token with text (CTranslate2 skips a source of special tokens without running the model)
        self._reset_token = next((p for i, p in enumerate(self.pieces) if i not in self._skip), "")
        # SLU tag names (labels.json from `tandem finetune --slu-tags`), used by `parse`.
        self.labels: SLULabels | None = SLULabels.load(self.path)
        # The model's decoding defaults (an HF generation_config.json, kept by the export), applied unless
        # the caller passes the option: "exact" applies those CTranslate2 matches exactly, "nearest" also
        # CTranslate2's nearest rules, "off" none (see `plan_generation`).
        if generation_defaults not in GENERATION_MODES:
            raise TandemError(
                f"generation_defaults must be one of {', '.join(GENERATION_MODES)}, got {generation_defaults!r}"
            )
        self.generation: dict[str, Any] = dict(self.meta.get("generation") or {})
        # what a scored target follows after the start token: the model's forced first token, if any
        forced = forced_first_token(SimpleNamespace(generation=self.generation))
        self._score_lead: list[int] = [] if forced is None else [forced]
        self.generation_defaults = generation_defaults
        self._warned: set[str] = set()
        self.threads = threads
        _read_json(self.path / "config.json", dict, "an object")  # CTranslate2's errors do not name it
        if not (self.path / "model.bin").is_file():
            raise TandemError(f"{self.path / 'model.bin'}: not found; {_DAMAGED}")
        try:
            self.translator = ctranslate2.Translator(
                str(self.path),
                device=device,
                compute_type=compute_type,
                inter_threads=1,
                intra_threads=threads,
            )
        except RuntimeError as e:  # a truncated or damaged model.bin ("... has an invalid payload size")
            raise TandemError(
                f"{self.path / 'model.bin'}: CTranslate2 cannot load it ({e}); {_DAMAGED}"
            ) from e

    @classmethod
    def load(cls, path: str | os.PathLike, **kwargs: Any) -> EdgeModel:
        """Load an export directory (see `EdgeModel.__init__` for threads/compute_type/use_vmap)."""
        return cls(path, **kwargs)

    # ------------------------------------------------------------------------------------------ tokens
    def encode(self, text: str, *, clm: bool = False) -> list[str]:
        """Source token strings for CTranslate2: optional [CLM] first, then the text, then EOS (as trained);
        with a Hugging Face tokenizer, framed by its special tokens as `tok(text)` frames them instead.

        Text is tokenised by `tandem.tokenizer.Tokenizer` (or, for a Hugging Face tokenizer, its tokenizer.json
        through `tokenizers`), exactly as the torch model sees it."""
        ids = self._ids(text)
        if clm:
            if self.clm_id is None:
                raise TandemError(f"{self.path}: this model's tokenizer has no [CLM] token; drop clm=True")
            if not ids or ids[0] != self.clm_id:
                ids = [self.clm_id, *ids]
        ids = frame(ids, self._source_affixes)[0]
        return [self.pieces[i] for i in ids]

    def _ids(self, text: str) -> list[int]:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:  # SentencePiece failed with "Unable to cast Python instance ..."
            raise TandemError(
                f"{text!r:.80}: lone surrogate {text[e.start]!r} at character {e.start} is not a Unicode "
                "character; pass text (a non-BMP character as itself, not as two surrogates)"
            ) from e
        return self.tok.encode(text)

    def _no_text(self, source: Sequence[str]) -> bool:
        """Whether an encoded source holds no token of its text (nor [CLM]), only its special tokens."""
        if self.hf_tokenizer:
            return len(source) <= sum(map(len, self._source_affixes))
        return not [p for p in source if p not in self._framing_pieces]

    def decode(self, tokens: Sequence[str]) -> str:
        """Text of generated token strings: control tokens dropped; ids past the tokenizer's pieces (the
        export's placeholders) read as `<unk>` (" ⁇ ") with one warning, the text `Tokenizer.decode` gives
        on the torch path."""
        ids = [self.index[t] for t in tokens if t in self.index]
        return self.tok.decode([i for i in ids if i not in self._skip])

    def count_tokens(self, text: str, *, clm: bool = False) -> int:
        """Tokens the encoder reads for `text` ([CLM], EOS included as `encode` adds them): the count
        `Generation.input_tokens` and the server's `usage.prompt_tokens` report."""
        return len(self.encode(text, clm=clm))

    def _check_length(self, n: int, what: str) -> None:
        if self.max_positions is not None and n > self.max_positions:
            raise InputTooLong(
                f"{what} of {n} tokens is over this model's {self.max_positions} positions; shorten it"
            )

    # -------------------------------------------------------------------------------------- generation
    def generate(
        self,
        inputs: str | Sequence[str],
        *,
        max_new_tokens: int | None = None,
        num_beams: int | None = None,
        min_new_tokens: int | None = None,
        stop: Sequence[str] | str | None = None,
        clm: bool = False,
        temperature: float = 0.0,
        top_k: int | None = None,
        top_p: float = 1.0,
        **options: Any,
    ) -> str | list[str]:
        """Generated text for one input (a str) or a batch (a list of str); see `generate_batch`."""
        texts, single = _as_list(inputs, "inputs")
        out = [
            g.text
            for g in self.generate_batch(
                texts,
                max_new_tokens=max_new_tokens,
                num_beams=num_beams,
                min_new_tokens=min_new_tokens,
                stop=stop,
                clm=clm,
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
                **options,
            )
        ]
        return out[0] if single else out

    def generate_batch(
        self,
        texts: Sequence[str],
        *,
        max_new_tokens: int | None = None,
        num_beams: int | None = None,
        min_new_tokens: int | None = None,
        stop: Sequence[str] | str | None = None,
        clm: bool = False,
        temperature: float = 0.0,
        top_k: int | None = None,
        top_p: float = 1.0,
        return_scores: bool = False,
        length_penalty: float | None = None,
        early_stopping: bool | str | None = None,
        no_repeat_ngram_size: int | None = None,
        repetition_penalty: float | None = None,
        forced_bos_token_id: int | None = UNSET,
        forced_eos_token_id: int | list[int] | None = UNSET,
        bad_words_ids: list[list[int]] | None = UNSET,
        suppress_tokens: list[int] | None = UNSET,
        begin_suppress_tokens: list[int] | None = UNSET,
    ) -> list[Generation]:
        """One `Generation` per input text, decoded as one CTranslate2 batch.

        Options left out (None) take the model's decoding defaults (the export's "generation", from a
        Hugging Face generation_config.json) as `Seq2SeqLM.generate` does, then tandem's (greedy, 64 new
        tokens); passing None for a forced token or a token ban turns the model's off. `top_k` None is the
        model's (a Hugging Face model's 50), else 0. Token bans (`bad_words_ids`, `suppress_tokens`) go to
        CTranslate2's `suppress_sequences`, exact for greedy search and sampling; what it cannot apply as
        the torch model does (beam search, `begin_suppress_tokens`) is refused. Defaults CTranslate2 cannot
        apply exactly as the torch model does are left out with a one-time warning (`generation_defaults`
        of the constructor; `plan_generation` lists the cases). Sampling (temperature > 0) is never a default."""
        if stop is not None and not isinstance(stop, str):
            _as_list(stop, "stop")
        model_limit = self.generation_defaults != "off" and "max_new_tokens" in self.generation
        if max_new_tokens is None and not model_limit and self.max_positions is not None:
            # tandem's default of 64 gives way to fewer learned positions, as in `tandem generate`: a call
            # that set no limit was refused for a limit it never asked for
            max_new_tokens = min(EDGE_GENERATION_DEFAULTS["max_new_tokens"], self.max_positions)
        plan = plan_generation(
            self.generation,
            dict(
                max_new_tokens=max_new_tokens,
                num_beams=num_beams,
                min_new_tokens=min_new_tokens,
                length_penalty=length_penalty,
                early_stopping=early_stopping,
                no_repeat_ngram_size=no_repeat_ngram_size,
                repetition_penalty=repetition_penalty,
                forced_bos_token_id=forced_bos_token_id,
                forced_eos_token_id=forced_eos_token_id,
                bad_words_ids=bad_words_ids,
                suppress_tokens=suppress_tokens,
                begin_suppress_tokens=begin_suppress_tokens,
            ),
            eos_id=self.eos_id,
            start_id=self.decoder_start_id,
            vocab_size=len(self.pieces),
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            mode=self.generation_defaults,
            use_vmap=self.use_vmap,
        )
        sampling = temperature > 0
        top_k = plan.settings["top_k"]
        self._warn_once(plan)
        max_new = plan.settings["max_new_tokens"]
        if self.max_positions is not None and max_new > self.max_positions:
            raise TandemError(f"max_new_tokens {max_new} is over this model's {self.max_positions} positions")
        if not texts:
            return []
        stops = [stop] if isinstance(stop, str) else [s for s in (stop or []) if s]
        source = [self.encode(t, clm=clm) for t in texts]
        for k, src in enumerate(source):
            self._check_length(len(src), "an input")
            if self._no_text(src):
                # CTranslate2 decodes nothing for a source that is only EOS (or a Hugging Face tokenizer's
                # special tokens: BART's <s> </s>): the row came back as "" with finish_reason "length" and 0
                # tokens, where the torch model decodes from it
                raise TandemError(
                    f"inputs[{k}]: {texts[k]!r} has no tokens (empty text), and CTranslate2 "
                    "decodes nothing for it; give some text (or clm=True, which reads [CLM])"
                )
        eos_piece = self.pieces[self.eos_id]
        if plan.ct2["max_decoding_length"] == 0:  # one new token, and it is the forced last one
            hyps: list[list[str]] = [[] for _ in source]
            scores: list[float | None] = [0.0 if return_scores else None for _ in source]
        else:
            kwargs: dict[str, Any] = dict(
                plan.ct2,
                return_end_token=True,
                return_scores=return_scores,
                max_input_length=0,
                use_vmap=self.use_vmap,
            )
            if "suppress_sequences" in kwargs:
                kwargs["suppress_sequences"] = [
                    [self.pieces[i] for i in w] for w in kwargs["suppress_sequences"]
                ]
            if plan.prefix is not None:
                kwargs["target_prefix"] = [[self.pieces[plan.prefix]] for _ in source]
            if sampling:
                # as Seq2SeqLM.generate does: a temperature under 1e-6 (CTranslate2 divides float32 logits by
                # it: 1e-38 overflowed to NaN and sampled padding) samples as 1e-6; a top-k over the whole
                # vocabulary filters nothing; a top-p under float32's range (rounded to 0, which
                # CTranslate2 refuses) keeps the most likely token, as any top-p under its probability does
                kwargs.update(
                    sampling_temperature=max(float(temperature), 1e-6),
                    sampling_topk=0 if top_k >= len(self.pieces) else top_k,
                    sampling_topp=max(float(top_p), 1e-7),
                )
            # A single greedy stream stops as soon as a stop string shows up (batches are cut afterwards).
            if stops and len(texts) == 1 and kwargs["beam_size"] == 1:
                seen: list[str] = []

                def _on_token(step) -> bool:
                    seen.append(step.token)
                    return cut_at_stop(self.decode(seen), stops)[1]

                kwargs["callback"] = _on_token

            def translate(rows: list[list[str]], kw: dict[str, Any]) -> Any:
                try:
                    return self._translate(rows, kw)
                except ValueError as e:
                    # With a vocabulary map CTranslate2 samples from the tokens mapped from this batch's words
                    # only, and refuses a top-k over their number: a top-k over all of them filters nothing.
                    if not (sampling and kw["sampling_topk"] and "sampling_topk" in str(e)):
                        raise
                    return self._translate(rows, {**kw, "sampling_topk": 0})

            if self._vmap_per_source and len(source) > 1:
                # CTranslate2 gives every row of a batch the candidates of all its sources' words: a row wrote
                # another row's input words (in `tandem serve`, another client's) and its output changed with
                # what it was batched with. Each row is decoded alone, over its own words.
                prefix = kwargs.pop("target_prefix", None)
                results = [
                    translate([src], {**kwargs, **({"target_prefix": [prefix[k]]} if prefix else {})})[0]
                    for k, src in enumerate(source)
                ]
            else:
                results = translate(source, kwargs)
            hyps = [list(res.hypotheses[0]) for res in results]
            scores = [float(res.scores[0]) if return_scores and res.scores else None for res in results]
        gens = []
        for src, toks, score in zip(source, hyps, scores):
            ended = bool(toks) and toks[-1] == eos_piece
            if plan.append_eos is not None and not ended and len(toks) == plan.ct2["max_decoding_length"]:
                # the forced last token, as the torch path writes it; the row ran to the length limit, so
                # its finish reason stays "length" (as OpenAI reports a limit that was hit)
                toks.append(self.pieces[plan.append_eos])
            text, stopped = cut_at_stop(self.decode(toks), stops)
            gens.append(
                Generation(
                    text=text,
                    finish_reason="stop" if (ended or stopped) else "length",
                    input_tokens=len(src),
                    output_tokens=tokens_to_stop(self.decode, toks, stops) if stopped else len(toks),
                    score=score,
                    token_ids=[self.index[t] for t in toks],
                )
            )
        return gens

    def _always_candidates_below(self, vmap: list[str]) -> int:
        """The first id that is not a candidate of every call with the vocabulary map (`vmap`, its lines): the
        map's always-allowed tokens and the unknown, BOS and EOS tokens CTranslate2 adds; ids below it keep
        their place among the candidates from call to call."""
        fixed: set[str] = set()
        for line in vmap:
            if line.startswith("\t"):
                fixed.update(line[1:].split(" "))
        cfg = _read_json(self.path / "config.json", dict, "an object")
        fixed.update(str(cfg[k]) for k in ("unk_token", "bos_token", "eos_token") if k in cfg)
        ids = {self.index[t] for t in fixed if t in self.index}
        return next(i for i in range(len(self.pieces) + 1) if i not in ids)

    def _translate(self, source: list[list[str]], kwargs: dict[str, Any]) -> Any:
        """`translate_batch`, first undoing what an earlier call with the vocabulary map left behind when it
        matters. CTranslate2 (4.x) keeps the id -> candidate position table of the first call with the map
        and only adds to it later: the decoder start, a forced first token, EOS and suppressed tokens of a
        later call are looked up in it, which places a token whose position changed (an id above a source
        token's: mBART's language codes) wrongly, or past the candidates (an IndexError). A call without the
        map clears the table (`_clear_vmap_positions`); one is made first when such a token is looked up."""
        if not kwargs.get("use_vmap"):
            return _positions_checked(self.translator.translate_batch, source, **kwargs)
        looked_up = [self.decoder_start_id, self.eos_id]
        looked_up += [self.index[t] for row in kwargs.get("target_prefix") or [] for t in row]
        looked_up += [self.index[t] for w in kwargs.get("suppress_sequences") or [] for t in w]
        with self._vmap_lock:
            if self._vmap_dirty and max(looked_up) >= self._vmap_stable_below:
                self._clear_vmap_positions()
            self._vmap_dirty = True
            return _positions_checked(self.translator.translate_batch, source, **kwargs)

    def _clear_vmap_positions(self) -> None:
        """Clear CTranslate2's id -> candidate position table for the cost of one encoder pass over one token.

        CTranslate2 (4.x) resets its output layer, and with it the table, for a call without the map right
        after encoding, before it checks the decoding options; a maximum decoding length of 0 is then refused
        (ValueError) before any decoding step. The one-step call used before also ran the decoder and the
        full-vocabulary output projection: on a 250k-vocabulary model as much as a trimmed call saves."""
        try:
            self.translator.translate_batch([[self._reset_token]], max_decoding_length=0, use_vmap=False)
        except ValueError as e:  # "The maximum decoding length must be > 0": the table is already cleared
            if "decoding length" not in str(e):
                raise

    def _warn_once(self, plan: DecodingPlan) -> None:
        """Warn, once per model and setting, about defaults left out or settings CTranslate2 applies its own way."""
        parts = []
        for what, items in (
            ("not applied", plan.left_out),
            ("applied with CTranslate2's rule", plan.approximate),
        ):
            new = {k: v for k, v in items.items() if f"{what}:{k}" not in self._warned}
            if new:
                self._warned.update(f"{what}:{k}" for k in new)
                parts.append(f"{what}: " + "; ".join(f"{k} ({why})" for k, why in sorted(new.items())))
        if parts:
            warnings.warn(
                f"{self.path}: decoding settings the edge runtime cannot apply exactly as the torch model "
                f"does, {' / '.join(parts)}; outputs may differ from `Seq2SeqLM.generate` (shown once)",
                UserWarning,
                stacklevel=3,
            )

    # ----------------------------------------------------------------------------------------- scoring
    def score_batch(
        self, prompts: Sequence[str], targets: Sequence[str], *, clm: bool = False, sequence: bool = False
    ) -> list[list[float]]:
        """Per-token log-probabilities of each target given its prompt, teacher-forced after the decoder start
        token and the token the model's decoding forces first, if any (mBART-50's language code, BART-large's
        `<s>`; read, never scored).

        By default a target is a continuation of its prompt's text, scored as `tandem evaluate`'s rank scoring
        scores a choice: its tokens in the prompt's context (`tandem.tokenizer.continuation_ids`: " yes" after
        "Answer:" is `▁yes`, not `▁` `▁yes`), no EOS. `sequence=True` scores it as a whole output instead (a
        fine-tuned model's target): encoded alone, then EOS. The fine-tuning labels' own framing (BART's
        leading `<s>`, mBART-cc25's trailing code) is never scored.

        A vocabulary map is never applied (CTranslate2's `score_batch` has none, and the step scoring a
        continuation that fills the positions decodes without it): every token, one the map leaves out too, is
        scored over the whole vocabulary, so a trimmed export scores as the untrimmed one."""
        if len(prompts) != len(targets):
            raise TandemError(f"score_batch: {len(prompts)} prompts but {len(targets)} targets")
        if not prompts:
            return []
        src = [self.encode(p, clm=clm) for p in prompts]
        ids = scored_target_ids(lambda ts: [self._ids(t) for t in ts], prompts, targets, sequence)
        # CTranslate2 reads the start token, scores every target token and then EOS; the forced token leads
        # the target and its own log-prob is dropped, and so is EOS's for a continuation
        lead = self._score_lead
        tgt = [[self.pieces[i] for i in [*lead, *t]] for t in ids]
        # positions as the torch backend counts them: the decoder reads the start token and every scored token
        # but the last (a sequence's last is its EOS), so a target of T tokens needs T positions, T+1 with EOS
        what = describe_target(sequence, bool(lead))
        for s, t in zip(src, tgt):
            self._check_length(len(s), "a prompt")
            self._check_length(len(t) + int(sequence), what)
        # CTranslate2 reads a continuation's last token too, to score the EOS after it (then dropped): one that
        # fills the positions is scored without its last token, whose log-prob comes from one decoding step
        # after the rest (CTranslate2's full-vocabulary logits; the same value, only the last position read)
        full = (
            []
            if sequence or self.max_positions is None
            else [i for i, t in enumerate(tgt) if len(t) == self.max_positions]
        )
        cut = [t[:-1] if i in full else t for i, t in enumerate(tgt)]
        res = _positions_checked(self.translator.score_batch, src, cut, max_input_length=0)
        n = len(lead)
        out = [list(r.log_probs)[n : None if sequence else n + len(t)] for r, t in zip(res, ids)]
        if full:
            last = _positions_checked(
                self.translator.translate_batch,
                [src[i] for i in full],
                target_prefix=[cut[i] for i in full],
                max_decoding_length=self.max_positions,
                beam_size=1,
                return_logits_vocab=True,
                use_vmap=False,
                max_input_length=0,
            )
            import numpy as np  # CTranslate2's own dependency

            for i, r in zip(full, last):
                logits = np.asarray(r.logits[0][self.max_positions - 1], dtype=np.float64).ravel()
                top = logits.max()
                logp = logits - top - np.log(np.exp(logits - top).sum())
                out[i] = out[i][:-1] + [float(logp[self.index[tgt[i][-1]]])]
        return out

    def rank(
        self,
        prompt: str,
        choices: Sequence[str],
        *,
        normalize: str = "mean",
        clm: bool = False,
        sequence: bool = False,
    ) -> ChoiceScores:
        """Score each choice as the continuation of `prompt` (`score_batch`: in context, no EOS, as `tandem
        evaluate` scores it; `sequence=True`: alone, then EOS); the lowest loss wins (AlexaTM's rank scoring)."""
        if normalize not in ("mean", "sum"):
            raise TandemError(f"normalize must be 'mean' or 'sum', got {normalize!r}")
        if isinstance(choices, str):  # a str is a Sequence of characters: never what was meant
            raise TandemError(f"choices: expected a list of strings, got the string {choices!r:.80}")
        choices = list(choices)
        if not all(isinstance(c, str) for c in choices):
            raise TandemError(f"choices: expected a list of strings, got {choices!r:.80}")
        if not choices:
            raise TandemError("rank: give at least one choice")
        scores = self.score_batch([prompt] * len(choices), choices, clm=clm, sequence=sequence)
        logprobs = [float(sum(s)) for s in scores]
        losses = [-lp / (len(s) if normalize == "mean" else 1) for lp, s in zip(logprobs, scores)]
        best = min(range(len(choices)), key=lambda i: (losses[i], i))
        return ChoiceScores(best, losses, logprobs, [len(s) for s in scores])

    # ---------------------------------------------------------------------------------------------- SLU
    def parse(
        self, utterances: str | Sequence[str], *, max_new_tokens: int | None = None
    ) -> dict | list[dict]:
        """Intent and slots of utterances, decoded greedily and read with `tandem.slu.parse_linearized`.

        `max_new_tokens` None: the model's default (a fine-tuned model keeps its dev-scoring limit), else 64
        or its positions. A model with a `labels.json` (tag-format SLU) has its tags mapped back to
        intent/slot names first."""
        texts, single = _as_list(utterances, "utterances")
        gens = self.generate_batch(texts, max_new_tokens=max_new_tokens, num_beams=1)
        out = [parse_output(g.text, self.labels) for g in gens]
        return out[0] if single else out

    def __repr__(self) -> str:
        q = self.meta.get("quantization", "?")
        return (
            f"EdgeModel({str(self.path)!r}, quantization={q}, vmap={self.use_vmap}, threads={self.threads})"
        )


_DAMAGED = (
    "the export is damaged or incomplete; export the model again with `tandem export MODEL --format ct2`"
)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise TandemError(f"{path}: not UTF-8 text (byte {e.start}); {_DAMAGED}") from e


def _read_json(path: Path, kind: type, what: str) -> Any:
    """A JSON file of an export, or a TandemError naming it (json's own errors name no file)."""
    if not path.is_file():
        raise TandemError(f"{path}: not found; {_DAMAGED}")
    try:
        value = json.loads(_read_text(path))
    except JSON_ERRORS as e:  # JSONDecodeError; nested too deeply, an over-long integer
        raise TandemError(f"{path}: not valid JSON ({e}); {_DAMAGED}") from e
    if not isinstance(value, kind):
        raise TandemError(f"{path}: expected {what}, got {type(value).__name__}; {_DAMAGED}")
    return value


def load_tokenizer(path: Path, meta: dict[str, Any]) -> Any:
    """An export's tokenizer: tandem's SentencePiece model (`tandem.tokenizer.Tokenizer`, torch-free, the torch
    path's text handling), or a Hugging Face tokenizer.json read with `tokenizers` (`EdgeHFTokenizer`) when
    `meta` (its tandem_edge.json) has "hf_tokenizer"."""
    hf_spec = meta.get("hf_tokenizer")
    if hf_spec is not None:
        from tandem.edge.hf_tokens import HF_TOKENIZER_FILE, EdgeHFTokenizer

        if not isinstance(hf_spec, dict):
            raise TandemError(f"{path / EDGE_META}: {_DAMAGED} (field 'hf_tokenizer' is not an object)")
        return EdgeHFTokenizer(
            path / str(meta.get("tokenizer") or HF_TOKENIZER_FILE),
            hf_spec,
            where=str(path / EDGE_META),
            damaged=_DAMAGED,
        )
    from tandem.tokenizer import Tokenizer

    spm_file = path / str(meta.get("tokenizer") or "tokenizer.model")
    if not spm_file.is_file():
        raise TandemError(
            f"{spm_file}: not found; the model's SentencePiece tokenizer is missing; {_DAMAGED}"
        )
    return Tokenizer.load(path)


def read_vocabulary(path: Path, meta: dict[str, Any]) -> list[str]:
    """An export's CTranslate2 vocabulary: the token string of each model id, as CTranslate2 reads sources,
    writes outputs and matches a vocabulary map's tokens."""
    vocab_file = path / "shared_vocabulary.json"
    if vocab_file.is_file():
        pieces = _read_json(vocab_file, list, "a list of tokens")
    elif (path / "shared_vocabulary.txt").is_file():  # older CTranslate2 versions: one token a line
        vocab_file = path / "shared_vocabulary.txt"
        pieces = _read_text(vocab_file).split("\n")[:-1]
    else:
        raise TandemError(f"{vocab_file}: not found; {_DAMAGED}")
    if not all(isinstance(p, str) for p in pieces) or len(pieces) != meta.get("vocab_size", len(pieces)):
        raise TandemError(
            f"{vocab_file}: {_DAMAGED} ({len(pieces)} tokens, the model has "
            f"{meta.get('vocab_size')} in {EDGE_META})"
        )
    return pieces


def describe_target(sequence: bool, lead: bool) -> str:
    """How an over-long scored target is named in the error (both backends): what it is counted with."""
    extra = [x for x, on in (("EOS", sequence), ("the forced first token", lead)) if on]
    return f"a target (with {' and '.join(extra)})" if extra else "a target"


def _max_positions(meta: dict[str, Any]) -> int | None:
    """The export's learned-position limit (exports made before it was recorded: from tandem_config)."""
    if "max_positions" in meta:
        return None if meta["max_positions"] is None else int(meta["max_positions"])
    cfg = meta.get("tandem_config") or {}
    return int(cfg["max_positions"]) if cfg.get("position_type") == "learned" else None


def _positions_checked(fn, *args: Any, **kwargs: Any) -> Any:
    """Call CTranslate2, turning its out-of-positions error (an export without a recorded limit) into ours."""
    try:
        return fn(*args, **kwargs)
    except RuntimeError as e:
        if "No position encodings are defined" in str(e):
            raise InputTooLong(f"input or decode longer than this model's positions ({e})") from e
        raise


def parse_output(text: str, labels: SLULabels | None = None) -> dict:
    """The SLU parse of a model output: {"intent", "slots": [{"slot", "value"}], "text"}.

    With `labels`, tag tokens (`<tag_3><tag_17> queen`) are read as the intent and slot names they stand for;
    "text" stays the raw generation."""
    from tandem.slu import parse_linearized

    intent, slots = parse_linearized(labels.to_linearized(text) if labels else text)
    return {"intent": intent, "slots": [{"slot": s, "value": v} for s, v in slots], "text": text}
