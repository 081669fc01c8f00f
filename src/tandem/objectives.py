"""Pretraining objectives: build (source, target) examples from one sequence of token ids.

Everything here is a pure function of the token ids and a `numpy.random.Generator`, so the data pipeline
can reproduce any example from its seed. No EOS is added here; the pipeline appends it.

- `denoise`: AlexaTM denoising. Drop `drop_rate` of the tokens in spans whose lengths are drawn from a
  Poisson distribution with mean `mean_span`, insert nothing in their place, and ask for the whole original.
- `clm`: AlexaTM causal LM. The source is `[CLM]` plus a uniform 20-80% prefix; the target is the rest.
- `t5_span_corruption`: T5's objective. Each dropped span becomes one sentinel in the source; the target
  lists the sentinels, each followed by the span it replaced.
- `UL2Objective`: UL2's mixture of R-, S- and X-denoisers, each prefixed with its mode token.

Objects share one small interface (`Objective`): `choose_kind(rng)`, `apply(tokens, kind, rng)`,
`packs(kind)` (whether the pipeline should pack several documents into one input for this kind) and
`overhead` (the most tokens an objective may add beyond the input length). `obj(tokens, rng)` does both.
The built-in objectives also have `check_length(n)` and `max_length()`: T5 and UL2 need one sentinel per
span, so their sentinels bound the input length (100 sentinels: 602 tokens for UL2's X-denoiser with mean
span 3 at rate 0.5, 2009 for T5's defaults), and the pipeline checks its sequence length up front.
Build one by name with `build_objective("alexatm" | "denoise" | "clm" | "t5" | "ul2", **kwargs)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from tandem.errors import TandemError

Tokens = Sequence[int] | np.ndarray


@dataclass(frozen=True)
class Example:
    """One training example: encoder input ids, decoder target ids (no EOS) and which objective made it."""

    source: list[int]
    target: list[int]
    kind: str


def _as_array(tokens: Tokens) -> np.ndarray:
    arr = np.asarray(tokens)
    if arr.ndim != 1:
        raise TandemError(f"objectives: expected a 1-D sequence of token ids, got shape {arr.shape}")
    return arr.astype(np.int64, copy=False)


def _as_list(tokens: Tokens) -> list[int]:
    if isinstance(tokens, np.ndarray):
        if tokens.ndim != 1:
            raise TandemError(f"objectives: expected a 1-D sequence of token ids, got shape {tokens.shape}")
        return tokens.tolist()
    return list(tokens)


def _check_rate(owner: str, name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:  # also refuses NaN
        raise TandemError(f"{owner}: {name} must be in [0, 1), got {value}")


def _check_span(owner: str, value: float, least: float) -> None:
    if not least <= value < float("inf"):
        raise TandemError(f"{owner}: mean_span must be a number >= {least:g} (tokens), got {value}")


def _check_prefix(owner: str, name: str, value: Any) -> None:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise TandemError(f"{owner}: {name} must be a pair (lo, hi) of shares, got {value!r}") from None
    if not 0.0 <= lo <= hi <= 1.0:
        raise TandemError(f"{owner}: {name} must satisfy 0 <= lo <= hi <= 1, got {value}")


def _num_to_drop(n: int, drop_rate: float) -> int:
    """How many of `n` tokens to drop: round(n * rate), at least one and never all of them."""
    if n < 2 or drop_rate <= 0.0:
        return 0
    return int(min(max(round(n * drop_rate), 1), n - 1))


_MAX_POISSON_MEAN = 1e15


def poisson_span_lengths(total: int, mean_span: float, rng: np.random.Generator) -> np.ndarray:
    """Span lengths, each >= 1, summing to exactly `total`.

    Lengths are 1 + Poisson(mean_span - 1): the shift keeps every span non-empty (a zero-length span drops
    nothing when no mask token is inserted) while their mean stays `mean_span`. The last span is cut so
    that exactly `total` tokens are dropped.
    """
    if total <= 0:
        return np.zeros(0, dtype=np.int64)
    # a mean far beyond any input gives one span of all `total` tokens: capped, numpy's Poisson takes it (it
    # refuses means near 1e19) and a few draws cannot overflow the int64 sum (which made nonsense spans)
    lam = min(max(float(mean_span) - 1.0, 0.0), _MAX_POISSON_MEAN)
    # Draw enough spans in one call almost always; loop only in the rare case we fell short.
    guess = int(total / max(mean_span, 1.0) * 1.5) + 8
    lengths = 1 + rng.poisson(lam, size=guess)
    csum = np.cumsum(lengths)
    while csum[-1] < total:
        more = 1 + rng.poisson(lam, size=guess)
        lengths = np.concatenate([lengths, more])
        csum = np.cumsum(lengths)
    k = int(np.searchsorted(csum, total)) + 1  # first k spans reach the total
    lengths = lengths[:k].copy()
    lengths[-1] -= int(csum[k - 1]) - total
    return lengths


def place_spans(n: int, lengths: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Start positions (sorted) and lengths of non-overlapping, non-adjacent spans placed uniformly in n tokens.

    The spans are placed in random order. If there are more spans than gaps between kept tokens, the extras
    are merged into one span first.
    """
    k = len(lengths)
    if k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    kept = n - int(lengths.sum())
    slots = kept + 1  # a span may sit before, between or after the kept tokens
    if k > slots:
        lengths = np.concatenate([lengths[: slots - 1], [lengths[slots - 1 :].sum()]])
        k = slots
    # Random order: `poisson_span_lengths` cuts its last span short, and placed always last it would leave
    # the end of every sequence less corrupted than the rest.
    lengths = rng.permutation(lengths)
    # k distinct sorted slots, uniform over subsets; distinct slots keep spans apart.
    chosen = np.sort(rng.choice(slots, size=k, replace=False, shuffle=False))
    starts = chosen + (np.cumsum(lengths) - lengths)
    return starts, lengths


def _mask_from_spans(n: int, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Boolean mask, True inside the spans; spans must be sorted and non-overlapping."""
    ends = starts + lengths
    k = len(starts)
    seg = np.empty(2 * k + 1, dtype=np.int64)  # kept, dropped, kept, ..., dropped, kept
    seg[0::2] = np.concatenate([starts, [n]]) - np.concatenate([[0], ends])
    seg[1::2] = lengths
    flags = np.zeros(2 * k + 1, dtype=bool)
    flags[1::2] = True
    return np.repeat(flags, seg)


def span_mask(n: int, drop_rate: float, mean_span: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask over n tokens: True where a token is dropped (Poisson-length spans, ~drop_rate of n)."""
    lengths = poisson_span_lengths(_num_to_drop(n, drop_rate), mean_span, rng)
    if len(lengths) == 0:
        return np.zeros(n, dtype=bool)
    return _mask_from_spans(n, *place_spans(n, lengths, rng))


def denoise(
    tokens: Tokens, rng: np.random.Generator, drop_rate: float = 0.15, mean_span: float = 3.0
) -> Example:
    """AlexaTM denoising: source = tokens with spans deleted (no mask tokens), target = all tokens."""
    toks = _as_list(tokens)
    n = len(toks)
    lengths = poisson_span_lengths(_num_to_drop(n, drop_rate), mean_span, rng)
    starts, lengths = place_spans(n, lengths, rng)
    # Joining the kept slices of a Python list beats a numpy boolean gather here: inputs are a few hundred
    # tokens, so per-call overhead dominates, and the result must be a list anyway.
    source: list[int] = []
    prev = 0
    for start, end in zip(starts.tolist(), (starts + lengths).tolist(), strict=True):
        source += toks[prev:start]
        prev = end
    source += toks[prev:]
    return Example(source, toks, "denoise")


def clm(
    tokens: Tokens,
    rng: np.random.Generator,
    clm_token_id: int,
    prefix: tuple[float, float] = (0.2, 0.8),
) -> Example:
    """AlexaTM causal LM: source = [CLM] + a uniform prefix fraction of tokens, target = the rest.

    The cut keeps at least one token on each side when the sequence has two or more tokens.
    """
    toks = _as_list(tokens)
    n = len(toks)
    frac = rng.uniform(prefix[0], prefix[1])
    cut = int(min(max(round(frac * n), 1), n - 1)) if n >= 2 else n
    return Example([int(clm_token_id), *toks[:cut]], toks[cut:], "clm")


def random_segmentation(total: int, parts: int, rng: np.random.Generator) -> np.ndarray:
    """Split `total` items into `parts` non-empty segments uniformly at random (T5's segmentation)."""
    if parts <= 1:
        return np.array([total], dtype=np.int64)
    cuts = np.sort(rng.permutation(total - 1)[: parts - 1] + 1)
    return np.diff(np.concatenate([[0], cuts, [total]]))


def _span_count(n: int, noise_density: float, mean_span: float) -> int:
    """How many noise spans `t5_span_corruption` makes in n tokens (T5: round(round(n * density) / mean), at
    least one; never more than the noise or the kept tokens, so every segment is non-empty)."""
    num_noise = _num_to_drop(n, noise_density)
    if num_noise == 0:
        return 0
    return max(1, min(int(round(num_noise / mean_span)), num_noise, n - num_noise))


def max_span_input(spans: Sequence[tuple[float, float]], num_sentinels: int) -> int | None:
    """The longest input, in tokens, that T5 span corruption with each (noise_density, mean_span) of `spans`
    covers with `num_sentinels` sentinels (one per span); None when no length needs more."""
    spans = [(rate, span) for rate, span in spans if rate > 0.0]
    if not spans:
        return None

    def fits(n: int) -> bool:
        return all(_span_count(n, rate, span) <= num_sentinels for rate, span in spans)

    if not fits(2):  # the fewest tokens that are corrupted at all
        return 1
    lo, hi = 2, 4  # fits(lo); the span count never falls as n grows, so bisect for the last n that fits
    while fits(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def _check_sentinels(
    owner: str, n: int, spans: Sequence[tuple[str, float, float]], sentinel_ids: Sequence[int]
):
    """Refuse inputs of n tokens for which some (label, noise_density, mean_span) of `spans` needs more
    sentinels than `sentinel_ids` holds."""
    for label, rate, span in spans:
        need = _span_count(n, rate, span)
        if need > len(sentinel_ids):
            longest = max_span_input([(r, s) for _, r, s in spans], len(sentinel_ids))
            raise TandemError(
                f"{owner}: inputs of {n} tokens need up to {need} sentinels ({label}: one per span, mean span "
                f"{span:g}, rate {rate:g}) but only {len(sentinel_ids)} are given; inputs of at most {longest} "
                "tokens fit: use shorter sequences, more sentinel ids, or a mixture without that denoiser"
            )


def t5_span_corruption(
    tokens: Tokens,
    rng: np.random.Generator,
    sentinel_ids: Sequence[int],
    noise_density: float = 0.15,
    mean_span: float = 3.0,
    kind: str = "span",
    prefix_ids: Sequence[int] = (),
) -> Example:
    """T5 span corruption: each noise span becomes one sentinel in the source; the target is every sentinel
    followed by the span it replaced. Spans alternate with kept segments, starting with a kept one, as in T5.
    """
    arr = _as_array(tokens)
    n = len(arr)
    num_spans = _span_count(n, noise_density, mean_span)
    if num_spans == 0:
        return Example([*prefix_ids, *arr.tolist()], [], kind)
    num_noise = _num_to_drop(n, noise_density)
    if num_spans > len(sentinel_ids):
        raise TandemError(
            f"t5 span corruption needs {num_spans} sentinels for a {n}-token input but only "
            f"{len(sentinel_ids)} were given: pass more sentinel_ids or shorter inputs"
        )
    noise = random_segmentation(num_noise, num_spans, rng)
    keep = random_segmentation(n - num_noise, num_spans, rng)
    # Interleave: keep[0], noise[0], keep[1], noise[1], ...
    seg = np.empty(2 * num_spans, dtype=np.int64)
    seg[0::2] = keep
    seg[1::2] = noise
    sent = np.asarray(sentinel_ids[:num_spans], dtype=np.int64)
    is_noise = np.repeat(np.tile(np.array([False, True]), num_spans), seg)
    kept_before = np.cumsum(keep)  # kept tokens preceding each sentinel
    source = np.insert(arr[~is_noise], kept_before, sent)
    target = np.insert(arr[is_noise], np.concatenate([[0], np.cumsum(noise)[:-1]]), sent)
    return Example([*prefix_ids, *source.tolist()], target.tolist(), kind)


class Objective(Protocol):
    """What the data pipeline needs from an objective."""

    overhead: int

    def choose_kind(self, rng: np.random.Generator) -> str: ...

    def apply(self, tokens: Tokens, kind: str, rng: np.random.Generator) -> Example: ...

    def packs(self, kind: str) -> bool: ...

    def __call__(self, tokens: Tokens, rng: np.random.Generator) -> Example: ...


class _Base:
    overhead = 0

    def packs(self, kind: str) -> bool:
        return True

    def max_length(self) -> int | None:
        """The longest input this objective takes, in tokens (None: any)."""
        return None

    def check_length(self, n: int) -> None:
        """Raise a TandemError if an input of n tokens may be more than the objective can take."""

    def __call__(self, tokens: Tokens, rng: np.random.Generator) -> Example:
        return self.apply(tokens, self.choose_kind(rng), rng)


@dataclass
class DenoiseObjective(_Base):
    """Only AlexaTM denoising (packed inputs)."""

    drop_rate: float = 0.15
    mean_span: float = 3.0
    overhead = 0

    def __post_init__(self) -> None:
        _check_rate("DenoiseObjective", "drop_rate", self.drop_rate)
        _check_span("DenoiseObjective", self.mean_span, 1.0)

    def choose_kind(self, rng: np.random.Generator) -> str:
        return "denoise"

    def apply(self, tokens: Tokens, kind: str, rng: np.random.Generator) -> Example:
        return denoise(tokens, rng, self.drop_rate, self.mean_span)


@dataclass
class CLMObjective(_Base):
    """Only AlexaTM causal LM (one document per input, never packed)."""

    clm_token_id: int
    clm_prefix: tuple[float, float] = (0.2, 0.8)
    overhead = 1

    def __post_init__(self) -> None:
        _check_prefix("CLMObjective", "clm_prefix", self.clm_prefix)

    def choose_kind(self, rng: np.random.Generator) -> str:
        return "clm"

    def packs(self, kind: str) -> bool:
        return False

    def apply(self, tokens: Tokens, kind: str, rng: np.random.Generator) -> Example:
        return clm(tokens, rng, self.clm_token_id, self.clm_prefix)


@dataclass
class AlexaTMObjective(_Base):
    """AlexaTM 20B's mixture: denoising with probability `denoise_prob`, otherwise causal LM."""

    clm_token_id: int
    denoise_prob: float = 0.8
    drop_rate: float = 0.15
    mean_span: float = 3.0
    clm_prefix: tuple[float, float] = (0.2, 0.8)
    overhead = 1  # the [CLM] token

    def __post_init__(self) -> None:
        if not 0.0 <= self.denoise_prob <= 1.0:
            raise TandemError(f"AlexaTMObjective: denoise_prob must be in [0, 1], got {self.denoise_prob}")
        _check_prefix("AlexaTMObjective", "clm_prefix", self.clm_prefix)
        _check_rate("AlexaTMObjective", "drop_rate", self.drop_rate)
        _check_span("AlexaTMObjective", self.mean_span, 1.0)

    def choose_kind(self, rng: np.random.Generator) -> str:
        return "denoise" if rng.random() < self.denoise_prob else "clm"

    def packs(self, kind: str) -> bool:
        return kind != "clm"

    def apply(self, tokens: Tokens, kind: str, rng: np.random.Generator) -> Example:
        if kind == "denoise":
            return denoise(tokens, rng, self.drop_rate, self.mean_span)
        if kind == "clm":
            return clm(tokens, rng, self.clm_token_id, self.clm_prefix)
        raise TandemError(f"AlexaTMObjective: unknown kind {kind!r} (expected 'denoise' or 'clm')")


@dataclass
class T5Objective(_Base):
    """T5 span corruption with sentinel ids (T5 counts them down from the top of the vocabulary)."""

    sentinel_ids: Sequence[int]
    noise_density: float = 0.15
    mean_span: float = 3.0
    overhead = 1  # a trailing sentinel can make the target one longer than the input

    def __post_init__(self) -> None:
        _check_rate("T5Objective", "noise_density", self.noise_density)
        _check_span("T5Objective", self.mean_span, 1.0)

    def choose_kind(self, rng: np.random.Generator) -> str:
        return "span"

    def apply(self, tokens: Tokens, kind: str, rng: np.random.Generator) -> Example:
        return t5_span_corruption(tokens, rng, self.sentinel_ids, self.noise_density, self.mean_span)

    def max_length(self) -> int | None:
        return max_span_input([(self.noise_density, self.mean_span)], len(self.sentinel_ids))

    def check_length(self, n: int) -> None:
        spans = [("span corruption", self.noise_density, self.mean_span)]
        _check_sentinels("T5Objective", n, spans, self.sentinel_ids)


#: UL2's seven denoisers (Tay et al. 2022, "mixture of denoisers"): (mode, mean span, corruption rate).
#: The S-denoiser (prefix LM) has no spans; its rate is the mean share of the tokens in the target.
UL2_DENOISERS: tuple[tuple[str, float, float], ...] = (
    ("R", 3.0, 0.15),
    ("R", 8.0, 0.15),
    ("S", 0.0, 0.25),
    ("X", 3.0, 0.5),
    ("X", 8.0, 0.5),
    ("X", 64.0, 0.15),
    ("X", 64.0, 0.5),
)


@dataclass
class UL2Objective(_Base):
    """UL2 mixture of denoisers. R and X are T5 span corruption with different span/rate settings; S is
    prefix LM (the target continues the source). Each source starts with its mode token.
    Kinds are "ul2_r", "ul2_s", "ul2_x".

    The S-denoiser's rate is the share of the tokens that go to the target, on average: as in T5's
    `random_prefix_noise_mask` generalised to any rate, the prefix holds a uniform number of tokens in
    [round((1 - 2 * rate) * (n - 1)), n - 1] (at least one), so S rates must lie in (0, 0.5]. `s_prefix=(lo,
    hi)` instead draws the prefix as a uniform share of the tokens in [lo, hi], whatever the rate.
    """

    sentinel_ids: Sequence[int]
    mode_token_ids: dict[str, int]
    denoisers: Sequence[tuple[str, float, float]] = UL2_DENOISERS
    weights: Sequence[float] | None = None
    s_prefix: tuple[float, float] | None = None
    overhead = 2  # mode token + a possible trailing sentinel
    _p: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        missing = {m for m, _, _ in self.denoisers} - set(self.mode_token_ids)
        if missing:
            raise TandemError(f"UL2Objective: mode_token_ids lacks ids for modes {sorted(missing)}")
        for mode, span, rate in self.denoisers:
            if mode != "S":
                _check_rate(f"UL2Objective: denoiser {(mode, span, rate)}", "its rate", rate)
                _check_span(f"UL2Objective: denoiser {(mode, span, rate)}", span, 1.0)
        w = np.ones(len(self.denoisers)) if self.weights is None else np.asarray(self.weights, dtype=float)
        if len(w) != len(self.denoisers) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise TandemError("UL2Objective: weights must be non-negative, one per denoiser, not all zero")
        if self.s_prefix is not None:
            _check_prefix("UL2Objective", "s_prefix", self.s_prefix)
        self._p = w / w.sum()
        if self.s_prefix is None:
            bad = [rate for m, _, rate in self.denoisers if m == "S" and not 0.0 < rate <= 0.5]
            if bad:
                raise TandemError(
                    f"UL2Objective: an S-denoiser's rate (the mean share of tokens in the target) must be in "
                    f"(0, 0.5], got {bad[0]}; or give s_prefix=(lo, hi) for the prefix share"
                )

    def _span_denoisers(self) -> list[tuple[str, float, float]]:
        """(label, rate, mean span) of the R- and X-denoisers the mixture draws."""
        return [
            (f"{mode}-denoiser", rate, span)
            for (mode, span, rate), p in zip(self.denoisers, self._p, strict=True)
            if mode != "S" and p > 0
        ]

    def max_length(self) -> int | None:
        return max_span_input([(r, s) for _, r, s in self._span_denoisers()], len(self.sentinel_ids))

    def check_length(self, n: int) -> None:
        _check_sentinels("UL2Objective", n, self._span_denoisers(), self.sentinel_ids)

    def choose_kind(self, rng: np.random.Generator) -> str:
        i = int(rng.choice(len(self.denoisers), p=self._p))
        return f"ul2_{self.denoisers[i][0].lower()}"

    def apply(self, tokens: Tokens, kind: str, rng: np.random.Generator) -> Example:
        # Drawing the mode first and then one of its denoisers by conditional weight gives the same joint
        # distribution as drawing a denoiser directly, and keeps `kind` a plain mode name for logging.
        mode = kind.removeprefix("ul2_").upper()
        cand = [j for j, d in enumerate(self.denoisers) if d[0] == mode]
        if not cand:
            raise TandemError(f"UL2Objective: unknown kind {kind!r} (expected ul2_r, ul2_s or ul2_x)")
        w = self._p[cand]
        p = w / w.sum() if w.sum() > 0 else None  # a mode of zero weight, asked for by name: uniform
        _, span, rate = self.denoisers[cand[int(rng.choice(len(cand), p=p))] if len(cand) > 1 else cand[0]]
        mode_id = int(self.mode_token_ids[mode])
        if mode == "S":
            arr = _as_array(tokens)
            n = len(arr)
            if n < 2:
                cut = n
            elif self.s_prefix is not None:
                cut = int(min(max(round(rng.uniform(*self.s_prefix) * n), 1), n - 1))
            else:
                hi = n - 1
                lo = min(hi, max(1, round((1.0 - 2.0 * rate) * hi)))
                cut = int(rng.integers(lo, hi + 1))
            return Example([mode_id, *arr[:cut].tolist()], arr[cut:].tolist(), kind)
        return t5_span_corruption(
            tokens, rng, self.sentinel_ids, rate, span, kind=kind, prefix_ids=(mode_id,)
        )


OBJECTIVES = ("alexatm", "denoise", "clm", "t5", "ul2")


def build_objective(name: str, **kwargs: Any) -> Objective:
    """Build an objective by name: "alexatm" (default mixture), "denoise", "clm", "t5" or "ul2".

    kwargs go to the constructor: AlexaTMObjective(clm_token_id, denoise_prob, drop_rate, mean_span,
    clm_prefix); T5Objective(sentinel_ids, noise_density, mean_span); UL2Objective(sentinel_ids,
    mode_token_ids, denoisers, weights). For "t5"/"ul2", `vocab_size=V` alone gives T5's sentinels
    V-1, V-2, ... (100 of them).
    """
    key = name.lower().replace("-", "_")
    kw = dict(kwargs)
    if key in ("t5", "ul2") and "sentinel_ids" not in kw:
        vocab = kw.pop("vocab_size", None)
        if vocab is None:
            raise TandemError(f"objective {name!r} needs sentinel_ids=[...] or vocab_size=V")
        if int(vocab) <= 100:
            raise TandemError(
                f"objective {name!r}: vocab_size={vocab} leaves no room for T5's 100 sentinels V-1 ... V-100; "
                "pass sentinel_ids=[...]"
            )
        kw["sentinel_ids"] = list(range(int(vocab) - 1, int(vocab) - 101, -1))
    else:
        kw.pop("vocab_size", None)
    classes = {
        "alexatm": AlexaTMObjective,
        "denoise": DenoiseObjective,
        "clm": CLMObjective,
        "t5": T5Objective,
        "ul2": UL2Objective,
    }
    if key not in classes:
        raise TandemError(f"unknown objective {name!r}: choose one of {', '.join(OBJECTIVES)}")
    try:
        return classes[key](**kw)
    except TypeError as e:
        raise TandemError(f"objective {name!r}: {e}") from None
