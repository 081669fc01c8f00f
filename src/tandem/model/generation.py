"""Generation for `Seq2SeqLM`: greedy, sampling (temperature / top-k / top-p) and beam search.

Outputs follow Hugging Face: each row starts with the decoder start token and is padded after EOS.
Beam search reproduces `transformers`' algorithm (length penalty, early stopping heuristic) so that the
same weights give token-identical beams. The score rules of `transformers`' logits processors that hub
BART/mBART checkpoints switch on (repetition penalty, no-repeat n-grams, minimum length, forced first and
last token) are applied in the same order and to the same scores (raw logits for greedy search and
sampling, log-probabilities for beam search). The encoder runs once; each decoder layer's cross-attention keys
and values are computed once; self-attention keys and values are cached. An `Ensemble` decodes the same
way with every member at once, from the mean of their next-token probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from tandem.config import GENERATION_KEYS
from tandem.decoding import (
    HF_UNSUPPORTED,
    TOKEN_BANS,
    check_generation_settings,
    check_token_bans,
    hf_setting_on,
    model_min_new_tokens,
)
from tandem.errors import TandemError


class _StopStrings:
    """Stops a row once its decoded continuation contains one of the stop strings (empty ones are ignored,
    as the edge runtime and `postprocess` ignore them: "" is in every text, so it would stop every row at its
    first token)."""

    def __init__(self, stop_strings: Sequence[str], tokenizer) -> None:
        if tokenizer is None:
            raise TandemError("stop_strings need the tokenizer: pass generate(..., tokenizer=tok)")
        self.stops, self.tok = [s for s in stop_strings if s], tokenizer

    def __call__(self, generated: torch.Tensor) -> torch.Tensor:
        """generated: (N, L) new tokens so far -> (N,) bool."""
        out = torch.zeros(generated.shape[0], dtype=torch.bool)
        for i, row in enumerate(generated.tolist()):
            text = self.tok.decode(row)
            out[i] = any(s in text for s in self.stops)
        return out.to(generated.device)


def _filter_top_k_top_p(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    if top_k and top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[..., -1, None]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        # the smallest set with mass >= top_p, computed as transformers computes it (ascending sort, mass
        # from the least likely up): tied logits (frequent in bf16/fp16) sort in one order only that way, so
        # the same tokens stay and a seeded draw gives transformers' token; a descending sort kept the other
        # of two tied tokens
        sorted_logits, idx = torch.sort(logits, descending=False)
        remove = sorted_logits.softmax(-1).cumsum(-1) <= 1 - top_p
        # ...which always holds the most likely token: a top_p that rounds to 0 (1e-300) would remove it too,
        # leaving no token (NaN probabilities, a RuntimeError in multinomial)
        remove[..., -1] = False
        logits = logits.masked_fill(remove.scatter(-1, idx, remove), float("-inf"))
    return logits


def _ban_repeated_ngrams(scores: torch.Tensor, seq: torch.Tensor, n: int) -> torch.Tensor:
    """Scores with -inf for every token that would repeat an n-gram of `seq` (N, L): each earlier n-gram
    whose first n - 1 tokens are the last n - 1 tokens of its row bans its own last token."""
    N, L = seq.shape
    if L < n:
        return scores
    V = scores.shape[-1]
    grams = seq.unfold(1, n, 1)  # (N, L - n + 1, n)
    same_prefix = (grams[:, :, : n - 1] == seq[:, L - n + 1 :].unsqueeze(1)).all(-1)
    banned = torch.zeros(N, V + 1, dtype=torch.bool, device=scores.device)  # column V: no ban
    banned.scatter_(1, torch.where(same_prefix, grams[:, :, -1].clamp(max=V), V), True)
    return scores.masked_fill(banned[:, :V], float("-inf"))


class _BadWords:
    """transformers' `bad_words_ids`: a banned sequence of one token is banned at every step; a longer one
    bans its last token in a row whose decoder input (start token included) ends with its other tokens. A
    one-token sequence that is EOS is dropped, as transformers drops it."""

    def __init__(self, words: list[list[int]], eos) -> None:
        eos_ids = set(eos) if isinstance(eos, (list, tuple)) else {eos}
        self.single = sorted({w[0] for w in words if len(w) == 1 and w[0] not in eos_ids})
        by_len: dict[int, set[tuple[int, ...]]] = {}
        for w in words:
            if len(w) > 1:
                by_len.setdefault(len(w) - 1, set()).add(tuple(w))
        # per prefix length: (prefixes (M, n), last tokens (M,))
        self.multi = [
            (torch.tensor([w[:-1] for w in sorted(ws)]), torch.tensor([w[-1] for w in sorted(ws)]))
            for n, ws in sorted(by_len.items())
        ]

    def __call__(self, scores: torch.Tensor, seq: torch.Tensor) -> torch.Tensor:
        if self.single:
            scores[:, self.single] = float("-inf")
        if self.multi and self.multi[0][0].device != seq.device:  # moved once, not at every step
            self.multi = [(p.to(seq.device), t.to(seq.device)) for p, t in self.multi]
        for prefixes, last in self.multi:
            n = prefixes.shape[1]
            if n > seq.shape[1]:  # longer than the decoder input so far: cannot match yet
                continue
            hit = (seq[:, None, -n:] == prefixes[None]).all(-1)  # (N, M)
            rows, which = hit.nonzero(as_tuple=True)
            scores[rows, last[which]] = float("-inf")
        return scores


class _ScoreRules:
    """The rules applied to each step's next-token scores before a token is chosen, in `transformers`'
    order: repetition penalty, no-repeat n-grams, bad words, minimum length, forced first token, forced
    last token, suppressed tokens, tokens suppressed at the beginning.

    `seq` (N, 1 + step) is each row's decoder input so far, the start token included: like transformers,
    the penalty, the n-gram ban and the bad words see it, and `step` counts new tokens (0 for the first)."""

    def __init__(
        self,
        eos,
        min_new,
        max_new,
        repetition_penalty,
        no_repeat_ngram_size,
        forced_bos,
        forced_eos,
        bad_words_ids=(),
        suppress_tokens=(),
        begin_suppress_tokens=(),
    ):
        self.eos, self.min_new, self.max_new = eos, min_new, max_new
        self.penalty, self.ngram = repetition_penalty, no_repeat_ngram_size
        self.forced_bos, self.forced_eos = forced_bos, forced_eos
        self.bad_words = _BadWords(list(bad_words_ids), eos) if bad_words_ids else None
        self.suppress = sorted(set(suppress_tokens))
        self.begin_suppress = sorted(set(begin_suppress_tokens))
        # as in transformers: the first free step, after a forced first token
        self.begin_step = 0 if forced_bos is None else 1

    @staticmethod
    def _only(scores: torch.Tensor, token) -> torch.Tensor:
        out = torch.full_like(scores, float("-inf"))
        out[:, token] = 0.0
        return out

    def __call__(self, scores: torch.Tensor, seq: torch.Tensor, step: int) -> torch.Tensor:
        if self.penalty != 1.0:  # a seen token's score moves towards less likely: * p below 0, / p above
            seen = scores.gather(1, seq)
            seen = torch.where(seen < 0, seen * self.penalty, seen / self.penalty)
            scores = scores.scatter(1, seq, seen)
        if self.ngram > 0:
            scores = _ban_repeated_ngrams(scores, seq, self.ngram)
        if self.bad_words is not None:
            scores = self.bad_words(scores, seq)
        if step < self.min_new and self.eos is not None:
            scores[:, self.eos] = float("-inf")
        if self.forced_bos is not None and step == 0:
            scores = self._only(scores, self.forced_bos)
        if self.forced_eos is not None and step == self.max_new - 1:
            scores = self._only(scores, self.forced_eos)
        if self.suppress:
            scores[:, self.suppress] = float("-inf")
        if self.begin_suppress and step == self.begin_step:
            scores[:, self.begin_suppress] = float("-inf")
        return scores


MAX_NEW_TOKENS = 20  # `generate`'s limit when neither the caller nor the model sets one

# Keywords that make a `generate` call plain greedy search whatever the model's decoding defaults
# (`config.generation`: a summariser's beam search, n-gram blocking, minimum length...); the same keywords
# in transformers. Prompted evaluation and dev-set scoring are defined as greedy. A checkpoint's forced
# BOS/EOS stay: they belong to the model's input protocol (mBART-50's target-language code), not the search.
GREEDY = {
    "num_beams": 1,
    "do_sample": False,
    "no_repeat_ngram_size": 0,
    "repetition_penalty": 1.0,
    "min_new_tokens": 0,
}

# options whose None, passed explicitly, means "off" (no forcing, no bans) rather than "not given", as in
# transformers
_NONE_MEANS_OFF = ("forced_bos_token_id", "forced_eos_token_id", *TOKEN_BANS)


def _hf_call_options(options: dict) -> dict:
    """A call's keywords with transformers' `max_length` / `min_length` as tandem's lengths, and its decoding
    options that tandem does not apply refused by name (they used to be a bare TypeError).

    In an encoder-decoder, transformers' lengths count the decoder start token: `max_length` L is
    `max_new_tokens` L - 1 and `min_length` M is `min_new_tokens` max(M - 1, 0); `max_new_tokens` /
    `min_new_tokens`, when also given, win, as they do in transformers."""
    hf_only = {k for k in HF_UNSUPPORTED if k != "stop_strings"}  # tandem's stop_strings is its own option
    off = sorted(k for k in options if k in hf_only and hf_setting_on(k, options[k]))
    if off:
        raise TandemError(
            f"generate: {', '.join(off)}: transformers generate() option(s) that tandem does not apply; "
            "leave them out (tandem applies "
            f"{', '.join(GENERATION_KEYS)}, max_length, min_length)"
        )
    out = {k: v for k, v in options.items() if k not in hf_only}
    for hf_name, name, least in (("max_length", "max_new_tokens", 2), ("min_length", "min_new_tokens", 0)):
        value = out.pop(hf_name, None)
        if value is None:
            continue
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= least):
            raise TandemError(
                f"{hf_name} must be a whole number >= {least} (it counts the decoder start token, as in "
                f"transformers; or pass {name}), got {value!r}"
            )
        if out.get(name) is None:
            out[name] = max(value - 1, 0)
    return out


def with_model_defaults(config, options: dict) -> dict:
    """`options` (a `generate` call's keywords) over the model's decoding defaults `config.generation`,
    as transformers puts a call's arguments over `model.generation_config`: an option the caller passes
    wins; passing None for one of them means "not given" (the model's default, else tandem's), except for
    `forced_bos_token_id` / `forced_eos_token_id` and the token bans (`bad_words_ids`, `suppress_tokens`,
    `begin_suppress_tokens`), where None turns the model's forcing or ban off, as in transformers. Never taken from
    the model: `num_return_sequences`, and `num_beams` when the caller samples. transformers' `max_length`
    and `min_length` are read as in transformers (`_hf_call_options`)."""
    options = _hf_call_options(options)
    # num_return_sequences is a call's choice: a checkpoint's value would silently change how many rows
    # come back per input for every caller that pairs outputs with inputs
    defaults = {
        k: v for k, v in (getattr(config, "generation", None) or {}).items() if k != "num_return_sequences"
    }
    if options.get("do_sample") and options.get("num_beams") is None:
        defaults.pop(
            "num_beams", None
        )  # a caller who samples gets one beam, not the checkpoint's beam search
    given = {k: v for k, v in options.items() if v is not None or k in _NONE_MEANS_OFF or k not in defaults}
    merged = {**defaults, **given}
    if "min_new_tokens" in defaults and "min_new_tokens" not in given:
        # a default minimum over a shorter limit gives way to the limit, as on the edge runtime; only a
        # caller's own minimum over its limit is an error
        limit = merged.get("max_new_tokens")
        merged["min_new_tokens"] = model_min_new_tokens(
            merged["min_new_tokens"], MAX_NEW_TOKENS if limit is None else limit
        )
    return merged


def generate(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    max_new_tokens: int = MAX_NEW_TOKENS,
    num_beams: int = 1,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    eos_token_id: int | Sequence[int] | None = None,
    pad_token_id: int | None = None,
    decoder_start_token_id: int | None = None,
    min_new_tokens: int = 0,
    length_penalty: float = 1.0,
    early_stopping: bool | str = False,
    num_return_sequences: int = 1,
    stop_strings: Sequence[str] | None = None,
    tokenizer=None,
    generator: torch.Generator | Sequence[torch.Generator] | None = None,
    token_type_ids: torch.Tensor | None = None,
    no_repeat_ngram_size: int = 0,
    repetition_penalty: float = 1.0,
    forced_bos_token_id: int | None = None,
    forced_eos_token_id: int | Sequence[int] | None = None,
    bad_words_ids: Sequence[Sequence[int]] | None = None,
    suppress_tokens: Sequence[int] | None = None,
    begin_suppress_tokens: Sequence[int] | None = None,
) -> torch.Tensor:
    """Generate continuations; returns (B * num_return_sequences, 1 + new) token ids.

    As in `transformers`: `no_repeat_ngram_size` n > 0 never lets a row repeat an n-gram of its decoder
    input (start token included); `repetition_penalty` p divides the score of every token already in the
    row by p (multiplies it when negative); `forced_bos_token_id` is the first new token (mBART-50: the
    target-language code); `forced_eos_token_id` is the new token at position `max_new_tokens`, so a row
    that reaches the length limit ends with EOS; `bad_words_ids` (lists of token ids) are never generated:
    a one-token list bans its token everywhere (except EOS, as in transformers), a longer one bans its last
    token right after its other tokens (the decoder start token counts, as in transformers);
    `suppress_tokens` are banned at every step, `begin_suppress_tokens` at the first generated step (the
    second when `forced_bos_token_id` forces the first). None or [] turns each off. These are the model's defaults through `Seq2SeqLM.generate`
    when its config says so (`config.generation`, read from a Hugging Face generation_config.json); this
    function itself applies only what it is given.

    Sampling draws from `generator`: one for the batch (each row's draws then depend on the rows beside
    it, as in `transformers`), or one per input row, so that a row's samples are the same whatever batch
    it is decoded in (`tandem generate --do-sample` seeds one per input line)."""
    c = model.config
    eos = c.eos_token_id if eos_token_id is None else eos_token_id
    if isinstance(eos, (list, tuple)):  # transformers' list form: a row stops at any of its ids
        ids = list(dict.fromkeys(eos))
        if len(ids) != 1:
            # compared with the list as one id, no row ever stopped (nor at its first id): refused by name
            raise TandemError(
                f"eos_token_id {list(eos)!r}: tandem ends a sequence at one id; pass one (transformers would "
                "stop at any of them)"
            )
        eos = ids[0]
    pad = c.pad_token_id if pad_token_id is None else pad_token_id
    if pad is None:  # a checkpoint without a pad token (config "pad_token_id": null): as transformers,
        pad = eos  # rows that ended are filled with EOS (was a TypeError in greedy search and sampling)
    start = c.decoder_start_token_id if decoder_start_token_id is None else decoder_start_token_id
    if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start < c.vocab_size:
        raise TandemError(
            f"decoder_start_token_id must be a token id in [0, {c.vocab_size}), got {start!r}"
            + (" (the model's decoder_start_token_id)" if decoder_start_token_id is None else "")
        )
    if input_ids.numel() and (int(input_ids.max()) >= c.vocab_size or int(input_ids.min()) < 0):
        raise TandemError(
            f"input ids must be in [0, {c.vocab_size}); got {int(input_ids.min())}..{int(input_ids.max())}: "
            "is the tokenizer the one this model was trained with?"
        )
    if c.position_type == "learned" and input_ids.shape[-1] > c.max_positions:
        lengths = attention_mask.sum(-1).tolist() if attention_mask is not None else [input_ids.shape[-1]]
        row = next((i for i, n in enumerate(lengths) if n > c.max_positions), None)
        what = (
            f"row {row} is {int(lengths[row])} tokens"
            if row is not None
            else f"padded to {input_ids.shape[-1]}"
        )
        raise TandemError(
            f"input {what}, more than the encoder's max_positions {c.max_positions}: shorten the input "
            "(generate does not truncate)"
        )
    if c.position_type == "learned" and isinstance(max_new_tokens, int) and max_new_tokens > c.max_positions:
        # the decoder reads the start token and every new token but the last, one learned position each;
        # refused here rather than failing with a ValueError once a row gets that long
        raise TandemError(
            f"max_new_tokens {max_new_tokens} is more than this model can generate: its decoder has "
            f"max_positions {c.max_positions}, so at most {c.max_positions} new tokens; lower max_new_tokens"
        )
    if generator is not None and not isinstance(generator, torch.Generator):
        generator = list(generator)
        if len(generator) != input_ids.shape[0] or not all(isinstance(g, torch.Generator) for g in generator):
            raise TandemError(
                f"generator: give one torch.Generator, or one per input row ({input_ids.shape[0]}); got "
                f"{len(generator)} items"
            )
    check_generation_settings(
        max_new_tokens=max_new_tokens,
        min_new_tokens=min_new_tokens,
        num_beams=num_beams,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        num_return_sequences=num_return_sequences,
        early_stopping=early_stopping,
        no_repeat_ngram_size=no_repeat_ngram_size,
        repetition_penalty=repetition_penalty,
        forced_bos_token_id=forced_bos_token_id,
        forced_eos_token_id=forced_eos_token_id,
        vocab_size=c.vocab_size,
        length_penalty=length_penalty,
        do_sample=do_sample,
        bad_words_ids=bad_words_ids,
        suppress_tokens=suppress_tokens,
        begin_suppress_tokens=begin_suppress_tokens,
    )
    bad_words, suppressed, begin_suppressed = check_token_bans(
        bad_words_ids, suppress_tokens, begin_suppress_tokens, c.vocab_size
    )
    if num_return_sequences > 1 and num_beams == 1 and not do_sample:
        # N copies of the one greedy sequence (transformers refuses this too)
        raise TandemError(
            f"num_return_sequences {num_return_sequences} with greedy search would return the same sequence "
            f"{num_return_sequences} times: use num_beams >= {num_return_sequences}, or do_sample=True"
        )
    rules = _ScoreRules(
        eos,
        min_new_tokens,
        max_new_tokens,
        repetition_penalty,
        no_repeat_ngram_size,
        forced_bos_token_id,
        forced_eos_token_id,
        bad_words,
        suppressed,
        begin_suppressed,
    )
    stopper = _StopStrings(stop_strings, tokenizer) if stop_strings and any(stop_strings) else None
    members = list(getattr(model, "members", None) or [model])  # an Ensemble decodes with all its members
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            encs = [m.encode(input_ids, attention_mask, token_type_ids) for m in members]
            if num_beams > 1:  # with do_sample refused above
                out = _beam_search(
                    members,
                    encs,
                    attention_mask,
                    num_beams,
                    max_new_tokens,
                    rules,
                    eos,
                    pad,
                    start,
                    length_penalty,
                    early_stopping,
                    num_return_sequences,
                    stopper,
                )
            else:
                if isinstance(generator, list):  # a row's return sequences draw from its generator in turn
                    generator = [g for g in generator for _ in range(num_return_sequences)]
                if num_return_sequences > 1:
                    encs = [e.repeat_interleave(num_return_sequences, 0) for e in encs]
                    if attention_mask is not None:
                        attention_mask = attention_mask.repeat_interleave(num_return_sequences, 0)
                out = _greedy_or_sample(
                    members,
                    encs,
                    attention_mask,
                    max_new_tokens,
                    rules,
                    eos,
                    pad,
                    start,
                    do_sample,
                    temperature,
                    top_k,
                    top_p,
                    stopper,
                    generator,
                )
        return out.clone()  # outside inference mode: a normal tensor autograd may use
    finally:
        model.train(was_training)


def weight_key(w: torch.Tensor) -> tuple:
    """What a cache derived from weight `w` must be keyed on to notice any change of its values.

    The version counter alone is not enough: fused optimizer steps (`torch.optim.AdamW(fused=True)`) and
    writes through `.data` change the values without bumping it, which once left greedy decoding on a stale
    LM head between training steps. So the key also holds the exact float64 sum of the weight (one read
    pass, far cheaper than the work the cache saves)."""
    with torch.no_grad():
        total = float(w.detach().sum(dtype=torch.float64))
    try:
        version = w._version
    except RuntimeError:  # inference tensors keep no version counter
        version = -1
    return (w.data_ptr(), version, w.dtype, tuple(w.shape), total)


def _head_transposed(model) -> torch.Tensor | None:
    """The LM head as a contiguous (D, V) matrix, cached while the weight is unchanged (CPU only).

    For the few rows of a decoding step, `x @ W.T` with W.T materialised is ~2x faster on CPU than
    `F.linear(x, W)` on the (V, D) weight; the copy is made once and reused across calls.
    """
    w = model.lm_head.weight
    if w.device.type != "cpu" or w.numel() > 64_000_000:
        return None
    key = weight_key(w)
    cached = getattr(model, "_lm_head_t", None)
    if cached is None or cached[0] != key:
        with torch.inference_mode(False), torch.no_grad():
            cached = (key, w.detach().t().contiguous())
        object.__setattr__(model, "_lm_head_t", cached)  # a plain cache, not a parameter or buffer
    return cached[1]


def _step(model, tokens, cross_kv, enc_mask, cache, past, head_t=None) -> torch.Tensor:
    """Run the decoder on the newest tokens; logits of the last position (N, V) in fp32."""
    hidden, _ = model.decoder(
        tokens, cross_kv, encoder_attention_mask=enc_mask, cache=cache, past_length=past
    )
    if head_t is None:
        return model.project(hidden[:, -1]).float()
    h = hidden[:, -1]
    if model.config.lm_head_scale != 1.0:
        h = h * model.config.lm_head_scale
    logits = h @ head_t
    if model.final_logits_bias is not None:
        logits = logits + model.final_logits_bias
    return logits.float()


class _Decoding:
    """Incremental decoding of a batch by one model or by the members of an ensemble: each member's
    cross-attention keys/values (computed once) and self-attention cache.

    `logits` returns one model's own logits; for several members it returns the log of their mean
    next-token probability (a product-of-experts would sharpen instead of average), which greedy search,
    sampling and beam search then use like any model's log-probabilities."""

    def __init__(self, members, encs, enc_mask):
        self.members, self.enc_mask = members, enc_mask
        self.cross = [m.decoder.cross_kv(e) for m, e in zip(members, encs)]
        self.caches = [[{} for _ in m.decoder.layers] for m in members]
        self.heads = [_head_transposed(m) for m in members]

    def logits(self, tokens: torch.Tensor, past: int) -> torch.Tensor:
        outs = [
            _step(m, tokens, kv, self.enc_mask, cache, past, head)
            for m, kv, cache, head in zip(self.members, self.cross, self.caches, self.heads)
        ]
        if len(outs) == 1:
            return outs[0]
        return torch.stack([o.log_softmax(-1) for o in outs]).logsumexp(0) - math.log(len(outs))

    def reorder(self, rows: torch.Tensor) -> None:
        """Keep the self-attention caches of `rows` (beam search: each new beam's parent), in that order."""
        for caches in self.caches:
            for layer_cache in caches:
                layer_cache["k"] = layer_cache["k"].index_select(0, rows)
                layer_cache["v"] = layer_cache["v"].index_select(0, rows)


def _greedy_or_sample(
    members,
    encs,
    enc_mask,
    max_new,
    rules,
    eos,
    pad,
    start,
    do_sample,
    temperature,
    top_k,
    top_p,
    stopper,
    gen,
) -> torch.Tensor:
    B, dev = encs[0].shape[0], encs[0].device
    state = _Decoding(members, encs, enc_mask)
    seq = torch.full((B, 1), start, dtype=torch.long, device=dev)
    unfinished = torch.ones(B, dtype=torch.bool, device=dev)
    for step in range(max_new):
        logits = rules(state.logits(seq[:, -1:], step), seq, step)
        if do_sample:
            logits = _filter_top_k_top_p(logits / max(temperature, 1e-6), top_k, top_p)
            probs = logits.softmax(-1)
            if isinstance(gen, list):  # one generator per row: a row's draws do not depend on its batch
                nxt = torch.cat([torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(gen)])
            else:
                nxt = torch.multinomial(probs, 1, generator=gen).squeeze(1)
        else:
            nxt = logits.argmax(-1)
        nxt = torch.where(unfinished, nxt, torch.full_like(nxt, pad))
        seq = torch.cat([seq, nxt[:, None]], 1)
        if eos is not None:
            unfinished &= nxt != eos
        if stopper is not None:
            unfinished &= ~stopper(seq[:, 1:])
        if not bool(unfinished.any()):
            break
    return seq


def _beam_search(
    members,
    encs,
    enc_mask,
    K,
    max_new,
    rules,
    eos,
    pad,
    start,
    length_penalty,
    early_stopping,
    n_return,
    stopper,
) -> torch.Tensor:
    """Beam search as `transformers` does it (its vectorised algorithm since v4.50), so beams agree."""
    B, dev = encs[0].shape[0], encs[0].device
    encs = [e.repeat_interleave(K, 0) for e in encs]
    if enc_mask is not None:
        enc_mask = enc_mask.repeat_interleave(K, 0)
    state = _Decoding(members, encs, enc_mask)
    max_len = 1 + max_new
    keep = 2 * K  # candidates kept per step: enough that K can continue even if K of them end
    fill = pad if pad else eos  # what HF fills unused positions with

    running = torch.full((B, K, max_len), fill, dtype=torch.long, device=dev)
    running[:, :, 0] = start
    finished_seqs = running.clone()
    running_scores = torch.zeros(B, K, device=dev)
    running_scores[:, 1:] = -1e9  # all beams start identical: only the first may expand at step 0
    finished_scores = torch.full((B, K), -1e9, device=dev)
    is_finished = torch.zeros(B, K, dtype=torch.bool, device=dev)
    finished_lens = torch.zeros(B, K, dtype=torch.long, device=dev)  # generated tokens per hypothesis
    improvable = torch.ones(B, 1, dtype=torch.bool, device=dev)
    top_mask = torch.arange(keep, device=dev) < K
    batch_offset = torch.arange(B, device=dev)[:, None] * K
    cur = 1
    while True:
        logprobs = F.log_softmax(state.logits(running[:, :, cur - 1].reshape(B * K, 1), cur - 1), -1)
        logprobs = rules(logprobs, running[:, :, :cur].reshape(B * K, cur), cur - 1)
        V = logprobs.shape[-1]
        total = (logprobs.view(B, K, V) + running_scores[:, :, None]).view(B, K * V)
        cand_scores, cand_idx = torch.topk(total, keep)  # (B, keep)
        src_beam = cand_idx // V
        cand_seqs = torch.gather(running, 1, src_beam[:, :, None].expand(B, keep, max_len)).clone()
        cand_seqs[:, :, cur] = cand_idx % V
        # which candidates end here: EOS, a stop string, or the length limit
        ends = torch.zeros(B, keep, dtype=torch.bool, device=dev)
        if eos is not None:
            ends |= cand_seqs[:, :, cur] == eos
        if stopper is not None:
            ends |= stopper(cand_seqs[:, :, 1 : cur + 1].reshape(B * keep, cur)).view(B, keep)
        if cur + 1 >= max_len:
            ends[:] = True
        # continue with the best K candidates that did not end
        cont_scores = cand_scores + ends.float() * -1e9
        nxt = torch.topk(cont_scores, K).indices
        running = torch.gather(cand_seqs, 1, nxt[:, :, None].expand(B, K, max_len))
        running_scores = torch.gather(cont_scores, 1, nxt)
        origin = torch.gather(src_beam, 1, nxt) + batch_offset  # flat index of each new beam's parent
        # candidates among the top K that ended become finished hypotheses, if they beat the worst one
        just_done = ends & top_mask[None, :]
        norm_scores = cand_scores / (cur**length_penalty)
        full = is_finished.all(-1, keepdim=True) & (early_stopping is True)
        norm_scores = (
            norm_scores + full.float() * -1e9 + (~improvable).float() * -1e9 + (~just_done).float() * -1e9
        )
        merged_seqs = torch.cat([finished_seqs, cand_seqs], 1)
        merged_scores = torch.cat([finished_scores, norm_scores], 1)
        merged_done = torch.cat([is_finished, just_done], 1)
        merged_lens = torch.cat([finished_lens, torch.full_like(just_done, cur, dtype=torch.long)], 1)
        best = torch.topk(merged_scores, K).indices
        finished_lens = torch.gather(merged_lens, 1, best)
        finished_seqs = torch.gather(merged_seqs, 1, best[:, :, None].expand(B, K, max_len))
        finished_scores = torch.gather(merged_scores, 1, best)
        is_finished = torch.gather(merged_done, 1, best)
        # reorder the self-attention cache to follow the surviving beams
        state.reorder(origin.view(-1))
        cur += 1
        # can a running beam still beat the worst finished one?
        if early_stopping == "never" and length_penalty > 0.0:
            best_len = max_len - 1
        else:
            best_len = cur - 1
        best_running = running_scores[:, :1] / (best_len**length_penalty)
        worst_done = torch.where(is_finished, finished_scores.min(1, keepdim=True).values, -1e9)
        improvable = improvable & (best_running > worst_done).any(-1, keepdim=True)
        open_beams = not (bool(is_finished.all()) and early_stopping is True)
        if not (bool(improvable.any()) and open_beams and not bool(ends.all())):
            break
    out = finished_seqs[:, :n_return].reshape(B * n_return, max_len)
    lengths = finished_lens[:, :n_return].reshape(-1)
    return out[:, : 1 + int(lengths.max())]  # trimmed to the longest returned hypothesis, as HF does
