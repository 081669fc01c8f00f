"""Decoding settings, checked once for every backend: the torch model (`Seq2SeqLM.generate`), the edge
runtime (`tandem.edge.EdgeModel`, CTranslate2) and a model's own defaults (`ModelConfig.generation`).

Torch-free on purpose: the edge runtime imports it. A bad value gives the same TandemError message on both
backends, so the CLI, Python callers and the server (which answers it with a 422) see the same text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

from tandem.errors import TandemError

# transformers' generate() settings that change what it returns but tandem does not apply, with the value
# that leaves each off: a checkpoint setting one gets a warning on load, a call passing one an error
HF_UNSUPPORTED: dict[str, Any] = {
    "typical_p": 1.0,
    "min_p": None,
    "top_h": None,
    "epsilon_cutoff": 0.0,
    "eta_cutoff": 0.0,
    "encoder_repetition_penalty": 1.0,
    "encoder_no_repeat_ngram_size": 0,
    "force_words_ids": None,
    "forced_decoder_ids": None,
    "sequence_bias": None,
    "num_beam_groups": 1,
    "diversity_penalty": 0.0,
    "penalty_alpha": None,
    "exponential_decay_length_penalty": None,
    "guidance_scale": None,
    "renormalize_logits": False,
    "remove_invalid_values": False,
    "constraints": None,
    "stop_strings": None,  # tandem's generate(stop_strings=...) applies them, given the tokenizer
    "max_time": None,
}


def hf_setting_on(name: str, value: Any) -> bool:
    """Whether transformers' setting `name` (one of HF_UNSUPPORTED) is switched on by `value`."""
    return value not in (HF_UNSUPPORTED[name], None, [], {})


def _whole(v: Any) -> bool:
    return isinstance(v, Integral) and not isinstance(v, bool)


def _number(v: Any) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool)


def _bad(what: str, value: Any) -> TandemError:
    return TandemError(f"{what}, got {value!r}")


def id_list(value: Any) -> list:
    """An option that takes one token id or several (`forced_eos_token_id`), as a list."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _check_whole(name: str, value: Any, least: int, hint: str = "") -> None:
    if not _whole(value):
        raise _bad(f"{name} must be a whole number{hint}", value)
    if value < least:
        raise _bad(f"{name} must be at least {least}{hint}", value)


# transformers' token bans, which tandem applies with its semantics (`check_token_bans` reads them)
TOKEN_BANS = ("bad_words_ids", "suppress_tokens", "begin_suppress_tokens")


def _token_id(v: Any, vocab_size: int | None) -> bool:
    return _whole(v) and v >= 0 and (vocab_size is None or v < vocab_size)


def check_token_bans(
    bad_words_ids: Any = None,
    suppress_tokens: Any = None,
    begin_suppress_tokens: Any = None,
    vocab_size: int | None = None,
) -> tuple[list[list[int]], list[int], list[int]]:
    """transformers' token bans, checked, as lists (empty: off; None and [] are off).

    `bad_words_ids`: token sequences never generated; one of one token is banned at every step, a longer
    one bans its last token when the tokens before it are the last ones of the decoder input (the decoder
    start token included). `suppress_tokens`: banned at every step. `begin_suppress_tokens`: banned at the
    first generated step (the second when `forced_bos_token_id` forces the first). Raises a TandemError
    naming the field."""
    where = f"[0, {vocab_size})" if vocab_size is not None else "the vocabulary"
    out: list[Any] = []
    for name, value in (
        ("suppress_tokens", suppress_tokens),
        ("begin_suppress_tokens", begin_suppress_tokens),
    ):
        ids = [] if value is None else value
        if not isinstance(ids, (list, tuple)) or not all(_token_id(i, vocab_size) for i in ids):
            raise _bad(f"{name} must be None or a list of token ids in {where}", value)
        out.append([int(i) for i in ids])
    words = [] if bad_words_ids is None else bad_words_ids
    ok = isinstance(words, (list, tuple)) and all(
        isinstance(w, (list, tuple)) and w and all(_token_id(i, vocab_size) for i in w) for w in words
    )
    if not ok:
        raise _bad(
            f"bad_words_ids must be None or a list of non-empty lists of token ids in {where} (e.g. "
            "[[5], [17, 9]])",
            bad_words_ids,
        )
    return [[int(i) for i in w] for w in words], out[0], out[1]


def check_generation_settings(
    max_new_tokens: int = 20,
    min_new_tokens: int = 0,
    num_beams: int = 1,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    num_return_sequences: int = 1,
    early_stopping: bool | str = False,
    no_repeat_ngram_size: int = 0,
    repetition_penalty: float = 1.0,
    forced_bos_token_id: int | None = None,
    forced_eos_token_id: int | Sequence[int] | None = None,
    vocab_size: int | None = None,
    length_penalty: float = 1.0,
    do_sample: bool = False,
    min_within_max: bool = True,
    bad_words_ids: Sequence[Sequence[int]] | None = None,
    suppress_tokens: Sequence[int] | None = None,
    begin_suppress_tokens: Sequence[int] | None = None,
) -> None:
    """Raise a TandemError naming the first decoding setting that makes no sense.

    `do_sample`: the call samples (the edge runtime: temperature > 0), so beam search is refused.
    `min_within_max=False` skips the min_new_tokens <= max_new_tokens check, for a model's defaults, where a
    default minimum over a shorter limit gives way to the limit (`model_min_new_tokens`)."""
    _check_whole("max_new_tokens", max_new_tokens, 1)
    _check_whole("min_new_tokens", min_new_tokens, 0)
    _check_whole("num_beams", num_beams, 1, " (1 is greedy search or sampling)")
    if not (_number(temperature) and math.isfinite(temperature) and temperature >= 0):
        raise _bad("temperature must be a finite number >= 0 (it only matters when sampling)", temperature)
    _check_whole("top_k", top_k, 0, " (0: no top-k filter)")
    if not (_number(top_p) and 0 < top_p <= 1):  # also false for nan
        raise _bad("top_p must be in (0, 1] (1: no nucleus filter)", top_p)
    _check_whole("num_return_sequences", num_return_sequences, 1)
    if num_beams > 1 and num_return_sequences > num_beams:
        raise TandemError(
            f"num_return_sequences {num_return_sequences} is more than num_beams {num_beams}: beam search "
            "returns at most num_beams sequences"
        )
    if do_sample not in (True, False):
        raise _bad("do_sample must be True or False", do_sample)
    if do_sample and num_beams > 1:
        raise TandemError(
            f"num_beams {num_beams} with sampling: beam search and sampling do not combine; use num_beams=1 "
            "to sample, or turn sampling off for beam search"
        )
    if early_stopping not in (True, False, "never"):
        raise _bad("early_stopping must be True, False or 'never'", early_stopping)
    _check_whole("no_repeat_ngram_size", no_repeat_ngram_size, 0, " (0: no n-gram ban)")
    if not (_number(repetition_penalty) and math.isfinite(repetition_penalty) and repetition_penalty > 0):
        raise _bad("repetition_penalty must be a finite number > 0 (1: no penalty)", repetition_penalty)
    if not (_number(length_penalty) and math.isfinite(length_penalty)):
        raise _bad("length_penalty must be a finite number", length_penalty)
    for name, ids in (
        ("forced_bos_token_id", forced_bos_token_id),
        ("forced_eos_token_id", forced_eos_token_id),
    ):
        if ids is None:
            continue
        many = ids if isinstance(ids, (list, tuple)) and name == "forced_eos_token_id" else [ids]
        ok = bool(many) and all(_whole(i) and i >= 0 for i in many)
        if ok and vocab_size is not None:
            ok = all(i < vocab_size for i in many)
        if not ok:
            where = f"[0, {vocab_size})" if vocab_size is not None else "the vocabulary"
            raise _bad(f"{name} must be None or a token id in {where}", ids)
    _, suppressed, _ = check_token_bans(bad_words_ids, suppress_tokens, begin_suppress_tokens, vocab_size)
    # transformers suppresses after forcing: a forced token that is also suppressed leaves no token at all
    if forced_bos_token_id is not None and forced_bos_token_id in suppressed:
        raise TandemError(
            f"forced_bos_token_id {forced_bos_token_id} is in suppress_tokens: the first step would have no "
            "token left; drop one of them"
        )
    if forced_eos_token_id is not None and set(id_list(forced_eos_token_id)) <= set(suppressed):
        raise TandemError(
            f"forced_eos_token_id {forced_eos_token_id} is in suppress_tokens: the last step would have no "
            "token left; drop one of them"
        )
    if min_within_max and min_new_tokens > max_new_tokens:
        raise TandemError(
            f"min_new_tokens {min_new_tokens} is over max_new_tokens {max_new_tokens}; lower it"
        )


def model_min_new_tokens(min_new_tokens: Any, max_new_tokens: Any) -> Any:
    """The minimum a model's default `min_new_tokens` sets under the limit `max_new_tokens`: the limit wins
    (a caller's own minimum over the limit is an error instead). Values that are not whole numbers are
    returned as they are, for `check_generation_settings` to name."""
    if _whole(min_new_tokens) and _whole(max_new_tokens) and min_new_tokens > max_new_tokens:
        return max_new_tokens
    return min_new_tokens


def forced_first_token(config: Any) -> int | None:
    """The token a model's decoding defaults force as the first new token (`forced_bos_token_id`, from a
    Hugging Face generation_config.json: BART-large's `<s>`, an mBART-50 target-language code), else None.

    Generation puts it right after the decoder start token, so fine-tuning targets must begin with it too (as
    Hugging Face's BART and mBART-50 tokenizers write labels): a model trained on targets without it would
    read, at generation time, a decoder input it never saw in training."""
    token = (getattr(config, "generation", None) or {}).get("forced_bos_token_id")
    return token if isinstance(token, int) and not isinstance(token, bool) else None
