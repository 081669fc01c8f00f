"""Statistical and structural tests of the pretraining objectives (AlexaTM denoise/CLM, T5, UL2)."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.errors import TandemError
from tandem.objectives import (
    UL2_DENOISERS,
    AlexaTMObjective,
    UL2Objective,
    build_objective,
    clm,
    denoise,
    poisson_span_lengths,
    random_segmentation,
    span_mask,
    t5_span_corruption,
)

CLM = 4
SENTINELS = list(range(999, 899, -1))


def is_subsequence(small: list[int], big: list[int]) -> bool:
    it = iter(big)
    return all(x in it for x in small)


def runs(mask: np.ndarray) -> list[int]:
    """Lengths of maximal runs of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(padded)
    return (np.flatnonzero(d == -1) - np.flatnonzero(d == 1)).tolist()


def untangle_t5(source: list[int], target: list[int], sentinels: list[int]) -> list[int]:
    """Rebuild the original from a T5 example by replacing each source sentinel with its target span."""
    sset = set(sentinels)
    spans: dict[int, list[int]] = {}
    cur = None
    for t in target:
        if t in sset:
            cur = t
            spans[cur] = []
        else:
            spans[cur].append(t)
    out: list[int] = []
    for s in source:
        out.extend(spans[s] if s in sset else [s])
    return out


def test_kind_ratio_is_denoise_prob():
    obj = AlexaTMObjective(CLM)
    rng = np.random.default_rng(0)
    toks = list(range(10, 60))
    kinds = [obj(toks, rng).kind for _ in range(6000)]
    frac = kinds.count("denoise") / len(kinds)
    # binomial sd = sqrt(.8*.2/6000) = 0.005: 4 sd
    assert abs(frac - 0.8) < 0.02
    assert set(kinds) == {"denoise", "clm"}


def test_denoise_drops_fifteen_percent_in_spans_of_mean_three():
    rng = np.random.default_rng(1)
    fracs, span_lengths = [], []
    for _ in range(2000):
        n = int(rng.integers(100, 600))
        orig = np.arange(n) + 10  # unique ids, so the dropped positions are recoverable
        ex = denoise(orig, rng)
        assert ex.kind == "denoise"
        assert ex.target == orig.tolist()  # target is the whole original, no mask tokens
        assert is_subsequence(ex.source, ex.target)  # source = original with spans deleted
        dropped = ~np.isin(orig, ex.source)
        assert dropped.sum() == round(0.15 * n)
        fracs.append(dropped.mean())
        span_lengths.extend(runs(dropped))
    assert abs(np.mean(fracs) - 0.15) < 0.003
    assert min(span_lengths) >= 1
    # 1 + Poisson(2): mean 3, variance 2 (the last span of each input is cut, pulling the mean a bit down)
    assert abs(np.mean(span_lengths) - 3.0) < 0.12
    assert 1.6 < np.var(span_lengths) < 2.4


def test_span_lengths_follow_shifted_poisson():
    rng = np.random.default_rng(2)
    lengths = np.concatenate([poisson_span_lengths(3000, 3.0, rng)[:-1] for _ in range(20)])
    assert abs(lengths.mean() - 3.0) < 0.05
    # P(L = k) = P(Poisson(2) = k - 1), hand-computed from the pmf
    for k in (1, 2, 3, 5):
        expected = math.exp(-2) * 2 ** (k - 1) / math.factorial(k - 1)
        assert abs((lengths == k).mean() - expected) < 0.015, k
    # exact total
    assert poisson_span_lengths(77, 3.0, rng).sum() == 77
    assert len(poisson_span_lengths(0, 3.0, rng)) == 0


@pytest.mark.parametrize("mean_span", [1e6, 5e18, 1e19, 1e300])
def test_a_mean_span_beyond_any_input_drops_one_span_of_exactly_the_share(mean_span):
    """A mean far longer than the input gives one span of all the dropped tokens. Before, means from ~1e19
    were numpy's ValueError ("lam value too large", a traceback from `tandem pretrain --mean-span`) and means
    near it overflowed the int64 sum of the lengths: spans that dropped 7 of 10 tokens at rate 0.3."""
    rng = np.random.default_rng(0)
    for total in (1, 5, 300):
        assert poisson_span_lengths(total, mean_span, rng).tolist() == [total]
    toks = list(range(100, 110))
    for _ in range(20):
        ex = denoise(toks, rng, drop_rate=0.3, mean_span=mean_span)
        assert len(ex.source) == 7 and is_subsequence(ex.source, toks)
        cut = [t for t in toks if t not in ex.source]  # one span: contiguous
        assert cut == list(range(cut[0], cut[0] + 3))


def test_spans_do_not_touch_and_mask_size_is_exact():
    rng = np.random.default_rng(3)
    for _ in range(500):
        n = int(rng.integers(2, 80))
        rate = float(rng.uniform(0.05, 0.95))
        m = span_mask(n, rate, 3.0, rng)
        assert m.sum() == min(max(round(n * rate), 1), n - 1)
        assert not m.all()


def test_the_end_of_a_sequence_is_dropped_as_often_as_its_start():
    # The span cut to hit the exact count is the shortest; placed always last, it left the last tokens of
    # every packed chunk under-corrupted (about 0.125 instead of 0.15 at n=100).
    rng = np.random.default_rng(11)
    n, draws = 100, 12000
    counts = np.zeros(n)
    for _ in range(draws):
        counts += span_mask(n, 0.15, 3.0, rng)
    p = counts / draws
    head, tail = p[3:12].mean(), p[-12:-3][::-1].mean()  # mirror positions, away from the very edges
    assert abs(head - tail) < 0.006, (head, tail)
    assert abs(p[30:70].mean() - 0.15) < 0.004


def test_clm_prefix_is_uniform_between_20_and_80_percent():
    rng = np.random.default_rng(4)
    fracs = []
    for _ in range(4000):
        n = int(rng.integers(200, 400))
        orig = list(range(10, 10 + n))
        ex = clm(orig, rng, CLM)
        assert ex.kind == "clm"
        assert ex.source[0] == CLM
        assert ex.source[1:] + ex.target == orig
        fracs.append((len(ex.source) - 1) / n)
    fracs = np.asarray(fracs)
    assert fracs.min() >= 0.2 - 1 / 200 and fracs.max() <= 0.8 + 1 / 200
    # uniform on [0.2, 0.8]: quartiles at 0.35, 0.5, 0.65
    q = np.quantile(fracs, [0.25, 0.5, 0.75])
    assert np.allclose(q, [0.35, 0.5, 0.65], atol=0.02)
    assert fracs.min() < 0.21 and fracs.max() > 0.79


def test_alexatm_mixture_examples_are_well_formed_and_seeded():
    obj = AlexaTMObjective(CLM, denoise_prob=0.5)
    toks = list(range(10, 110))
    a = [obj(toks, np.random.default_rng(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]  # same generator state, same example
    rng = np.random.default_rng(8)
    for _ in range(300):
        ex = obj(toks, rng)
        if ex.kind == "clm":
            assert ex.source[1:] + ex.target == toks
        else:
            assert ex.target == toks and is_subsequence(ex.source, toks) and len(ex.source) == 85
        assert 2 not in ex.source + ex.target  # no EOS added by objectives


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_tiny_inputs_do_not_crash(n):
    rng = np.random.default_rng(0)
    toks = list(range(10, 10 + n))
    ex = denoise(toks, rng)
    assert ex.target == toks and is_subsequence(ex.source, toks)
    if n >= 2:
        assert len(ex.source) == n - 1
    ex = clm(toks, rng, CLM)
    assert ex.source[1:] + ex.target == toks
    ex = t5_span_corruption(toks, rng, SENTINELS)
    assert untangle_t5(ex.source, ex.target, SENTINELS) == toks


def test_dense_drop_merges_spans_without_losing_count():
    rng = np.random.default_rng(5)
    for _ in range(200):
        toks = list(range(10, 30))
        ex = denoise(toks, rng, drop_rate=0.9, mean_span=1.0)
        assert len(ex.source) == 2 and is_subsequence(ex.source, toks)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(7, 500), max_size=300), st.integers(0, 2**32 - 1))
def test_denoise_and_clm_invariants_hold_for_any_input(toks, seed):
    rng = np.random.default_rng(seed)
    ex = denoise(toks, rng)
    assert ex.target == toks and is_subsequence(ex.source, toks)
    ex = clm(toks, rng, CLM)
    assert ex.source[0] == CLM and ex.source[1:] + ex.target == toks


def test_t5_span_corruption_matches_t5_layout():
    rng = np.random.default_rng(6)
    noise = []
    for _ in range(500):
        n = int(rng.integers(20, 300))
        toks = list(range(10, 10 + n))
        ex = t5_span_corruption(toks, rng, SENTINELS)
        assert ex.kind == "span"
        assert untangle_t5(ex.source, ex.target, SENTINELS) == toks
        k = sum(t in SENTINELS for t in ex.source)
        # T5: sentinels in order, same count in source and target, target starts with the first sentinel
        assert [t for t in ex.source if t in SENTINELS] == SENTINELS[:k]
        assert [t for t in ex.target if t in SENTINELS] == SENTINELS[:k]
        assert ex.target[0] == SENTINELS[0]
        assert ex.source[0] not in SENTINELS  # T5 spans start with a kept segment
        noise.append((len(ex.target) - k) / n)
        assert k == max(1, round(round(0.15 * n) / 3))
    assert abs(np.mean(noise) - 0.15) < 0.005


def _t5_reference(tokens: list[int], noise: np.ndarray, keep: np.ndarray, sentinels: list[int]):
    """T5's procedure written out (t5.data.preprocessors): a noise mask of interleaved kept/noise segments,
    then noise_span_to_unique_sentinel for the inputs and nonnoise_span_to_unique_sentinel for the targets."""
    mask: list[bool] = []
    for k, z in zip(keep.tolist(), noise.tolist(), strict=True):
        mask += [False] * k + [True] * z

    def to_sentinels(mask: list[bool]) -> list[int]:
        out, used, prev = [], 0, False
        for t, m in zip(tokens, mask, strict=True):
            if m and not prev:
                out.append(sentinels[used])
                used += 1
            elif not m:
                out.append(t)
            prev = m
        return out

    return to_sentinels(mask), to_sentinels([not m for m in mask])


def test_t5_and_denoise_equal_straightforward_references():
    rng = np.random.default_rng(13)
    for _ in range(400):
        n = int(rng.integers(2, 120))
        density, span = float(rng.choice([0.15, 0.3, 0.5])), float(rng.choice([1.0, 3.0, 8.0]))
        toks = list(range(10, 10 + n))
        # the same draws, replayed: T5's segment lengths, then the reference layout
        replay = copy.deepcopy(rng)
        ex = t5_span_corruption(toks, rng, SENTINELS, density, span)
        num_noise = min(max(round(n * density), 1), n - 1)
        num_spans = max(1, min(round(num_noise / span), num_noise, n - num_noise))
        noise = random_segmentation(num_noise, num_spans, replay)
        keep = random_segmentation(n - num_noise, num_spans, replay)
        assert (ex.source, ex.target) == _t5_reference(toks, noise, keep, SENTINELS)
        # denoise = the tokens outside span_mask's spans, for the same draws
        replay = copy.deepcopy(rng)
        ex = denoise(toks, rng, density, span)
        assert ex.source == [
            t for t, m in zip(toks, span_mask(n, density, span, replay), strict=True) if not m
        ]


def test_t5_needs_enough_sentinels():
    with pytest.raises(TandemError, match="sentinel"):
        t5_span_corruption(list(range(1000)), np.random.default_rng(0), [999, 998])


def test_ul2_modes_tokens_and_mixture():
    modes = {"R": 7, "S": 8, "X": 9}
    obj = build_objective("ul2", vocab_size=1000, mode_token_ids=modes)
    assert isinstance(obj, UL2Objective)
    rng = np.random.default_rng(9)
    toks = list(range(10, 210))
    kinds = []
    for _ in range(2100):
        ex = obj(toks, rng)
        kinds.append(ex.kind)
        mode = ex.kind[-1].upper()
        assert ex.source[0] == modes[mode]
        if mode == "S":
            assert ex.source[1:] + ex.target == toks
        else:
            assert untangle_t5(ex.source[1:], ex.target, obj.sentinel_ids) == toks
    # seven denoisers, equal weights: R 2/7, S 1/7, X 4/7
    for kind, p in (("ul2_r", 2 / 7), ("ul2_s", 1 / 7), ("ul2_x", 4 / 7)):
        assert abs(kinds.count(kind) / len(kinds) - p) < 0.04


@pytest.mark.parametrize("rate", [0.25, 0.1, 0.5])
def test_ul2_s_denoiser_targets_its_corruption_rate(rate):
    # UL2's S-denoiser is listed with r = 0.25 (the share of tokens in the target); the split follows T5's
    # random_prefix_noise_mask generalised to any rate: the prefix is uniform in [(1 - 2r)(n - 1), n - 1].
    obj = UL2Objective(SENTINELS, {"R": 7, "S": 8, "X": 9}, denoisers=[("S", 0.0, rate)])
    rng = np.random.default_rng(12)
    n = 400
    toks = list(range(10, 10 + n))
    fracs = []
    for _ in range(3000):
        ex = obj(toks, rng)
        assert ex.kind == "ul2_s" and ex.source[0] == 8 and ex.source[1:] + ex.target == toks
        fracs.append(len(ex.target) / n)
    fracs = np.asarray(fracs)
    assert abs(fracs.mean() - rate) < 0.01
    assert fracs.max() <= 2 * rate + 0.01 and fracs.min() <= 0.01
    # an explicit s_prefix still wins: the prefix is a uniform share in that range
    obj = UL2Objective(SENTINELS, {"R": 7, "S": 8, "X": 9}, denoisers=[("S", 0.0, rate)], s_prefix=(0.5, 0.5))
    assert len(obj(toks, rng).target) == n // 2
    with pytest.raises(TandemError, match="S-denoiser's rate"):
        UL2Objective(SENTINELS, {"R": 7, "S": 8, "X": 9}, denoisers=[("S", 0.0, 0.75)])


def test_build_objective_by_name_and_errors():
    assert isinstance(build_objective("alexatm", clm_token_id=4), AlexaTMObjective)
    assert build_objective("denoise").choose_kind(np.random.default_rng(0)) == "denoise"
    assert build_objective("clm", clm_token_id=4).packs("clm") is False
    t5 = build_objective("t5", vocab_size=32000)
    assert t5.sentinel_ids[:2] == [31999, 31998]  # T5 counts sentinels down from the top
    with pytest.raises(TandemError, match="unknown objective"):
        build_objective("bert")
    with pytest.raises(TandemError, match="sentinel_ids"):
        build_objective("t5")
    with pytest.raises(TandemError, match="denoise_prob"):
        AlexaTMObjective(4, denoise_prob=1.5)
    with pytest.raises(TandemError):
        build_objective("alexatm")  # clm_token_id missing


NAN = float("nan")


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: AlexaTMObjective(CLM, mean_span=NAN), "mean_span"),
        (lambda: AlexaTMObjective(CLM, mean_span=0), "mean_span"),
        (lambda: AlexaTMObjective(CLM, clm_prefix=0.5), "clm_prefix must be a pair"),
        (lambda: build_objective("clm", clm_token_id=CLM, clm_prefix=(0.9, 0.1)), "clm_prefix"),
        (lambda: build_objective("denoise", drop_rate=1.5), "drop_rate"),
        (lambda: build_objective("denoise", drop_rate=-0.1), "drop_rate"),
        (lambda: build_objective("t5", vocab_size=1000, mean_span=0), "mean_span"),
        (lambda: build_objective("t5", vocab_size=1000, noise_density=1.5), "noise_density"),
        (lambda: build_objective("t5", vocab_size=50), "vocab_size=50"),
        (
            lambda: build_objective(
                "ul2", vocab_size=1000, mode_token_ids={"R": 1, "S": 2, "X": 3}, weights=[NAN] * 7
            ),
            "weights",
        ),
        (lambda: UL2Objective(SENTINELS, {"R": 1}, denoisers=[("R", 0.0, 0.15)]), "mean_span"),
        (lambda: UL2Objective(SENTINELS, {"R": 1}, denoisers=[("R", 3.0, 2.0)]), "rate"),
        (lambda: denoise(np.zeros((2, 3), dtype=np.int64), np.random.default_rng(0)), "1-D"),
        (lambda: clm(np.zeros((2, 3), dtype=np.int64), np.random.default_rng(0), CLM), "1-D"),
    ],
)
def test_bad_settings_are_named_errors_not_tracebacks_or_silent(make, match):
    # before: NaN/0 spans crashed deep in numpy (int(nan), division by zero), out-of-range rates were
    # clamped silently, a small vocab_size gave negative sentinel ids, a 2-D array was denoised row-wise
    with pytest.raises(TandemError, match=match):
        make()


def test_ul2_mode_of_zero_weight_asked_for_by_name_still_builds_an_example():
    modes = {"R": 7, "S": 8, "X": 9}
    obj = build_objective("ul2", vocab_size=1000, mode_token_ids=modes, weights=[1, 1, 1, 0, 0, 0, 0])
    ex = obj.apply(list(range(10, 210)), "ul2_x", np.random.default_rng(0))  # was: probabilities contain NaN
    assert ex.kind == "ul2_x" and ex.source[0] == 9
    assert untangle_t5(ex.source[1:], ex.target, obj.sentinel_ids) == list(range(10, 210))


def _segments(seq: list[int], sentinels: list[int]) -> list[int]:
    """Lengths of the runs of ordinary tokens between the sentinels of seq (one run before each sentinel)."""
    sset, out, run = set(sentinels), [], 0
    for t in seq:
        if t in sset:
            out.append(run)
            run = 0
        else:
            run += 1
    return out


def _composition_pmf(total: int, parts: int, j: int) -> float:
    """P(a given part has j items) when `total` items are split into `parts` non-empty parts, every split
    equally likely (T5's random_spans_noise_mask: "subject to the above restrictions, all masks are equally
    likely"): C(total - j - 1, parts - 2) / C(total - 1, parts - 1)."""
    return math.comb(total - j - 1, parts - 2) / math.comb(total - 1, parts - 1)


def test_t5_span_and_gap_lengths_follow_t5s_uniform_segmentation():
    # n = 200 at density 0.15, mean 3: T5 makes exactly 30 noise tokens in 10 spans, 170 kept tokens in 10
    # segments, each split uniformly at random. Equal-length or position-biased spans kept every count and the
    # round trip right and passed the other tests.
    rng = np.random.default_rng(21)
    n, num_noise, k = 200, 30, 10
    toks = list(range(10, 10 + n))
    noise, kept = [], []
    for _ in range(2500):
        ex = t5_span_corruption(toks, rng, SENTINELS)
        spans = _segments(ex.target[1:] + [SENTINELS[k]], SENTINELS)  # target: s0 span0 s1 span1 ... s9 span9
        gaps = _segments(
            ex.source, SENTINELS
        )  # source: keep0 s0 keep1 s1 ... keep9 s9 (ends with a sentinel)
        assert len(spans) == len(gaps) == k and sum(spans) == num_noise and sum(gaps) == n - num_noise
        noise.append(spans)
        kept.append(gaps)
    noise, kept = np.asarray(noise), np.asarray(kept)
    for j in range(1, 7):
        # per-part sd about sqrt(0.3 * 0.7 / 25000) = 0.003
        assert abs((noise == j).mean() - _composition_pmf(num_noise, k, j)) < 0.012, j
    for j in (1, 5, 17):
        assert abs((kept == j).mean() - _composition_pmf(n - num_noise, k, j)) < 0.008, j
    # every position alike: the first and the last span, the first and the last kept segment
    assert abs(noise[:, 0].mean() - 3.0) < 0.15 and abs(noise[:, -1].mean() - 3.0) < 0.15
    assert abs(kept[:, 0].mean() - 17.0) < 0.8 and abs(kept[:, -1].mean() - 17.0) < 0.8


def test_ul2_default_mixture_is_the_papers_seven_denoisers_drawn_alike():
    # Tay et al. 2022 (UL2), Table 1 / Section 3.1.2: R (mu 3, r 0.15) and (mu 8, r 0.15); S (prefix LM,
    # r 0.25: a quarter of the tokens in the target); X (3, 0.5), (8, 0.5), (64, 0.15), (64, 0.5). The paper's
    # ul2_objective samples its tasks uniformly unless given rates.
    assert sorted(UL2_DENOISERS) == sorted(
        [("R", 3.0, 0.15), ("R", 8.0, 0.15), ("S", 0.0, 0.25)]
        + [("X", 3.0, 0.5), ("X", 8.0, 0.5), ("X", 64.0, 0.15), ("X", 64.0, 0.5)]
    )
    modes = {"R": 7, "S": 8, "X": 9}
    obj = build_objective("ul2", vocab_size=1000, mode_token_ids=modes)
    n = 512
    toks = list(range(10, 10 + n))

    def signature(rate: float, span: float) -> tuple[int, int]:
        """(noise tokens, spans) T5's rules give n tokens: round(n * r) and round(that / mu)."""
        noise = round(n * rate)
        return noise, round(noise / span)

    expected = {(m, *signature(r, s)): (m, s, r) for m, s, r in UL2_DENOISERS if m != "S"}
    assert len(expected) == 6  # at n = 512 every span denoiser leaves its own (mode, noise, spans) mark
    rng = np.random.default_rng(22)
    sentinels = set(obj.sentinel_ids)
    seen, s_share, draws = {d: 0 for d in UL2_DENOISERS}, [], 3500
    for _ in range(draws):
        ex = obj(toks, rng)
        mode = ex.kind[-1].upper()
        assert ex.source[0] == modes[mode]
        if mode == "S":
            seen[("S", 0.0, 0.25)] += 1
            s_share.append(len(ex.target) / n)
            continue
        k = sum(t in sentinels for t in ex.source)
        seen[expected[(mode, len(ex.target) - k, k)]] += 1
    for d, c in seen.items():
        # binomial sd = sqrt(1/7 * 6/7 / 3500) = 0.006
        assert abs(c / draws - 1 / 7) < 0.025, (d, c / draws)
    assert abs(np.mean(s_share) - 0.25) < 0.015


def test_t5_and_ul2_sentinels_bound_the_input_length():
    # one sentinel per span: UL2's X-denoiser (mu 3, r 0.5) makes round(round(n / 2) / 3) spans, 100 at n = 602
    # and 101 at n = 603 (302 noise tokens); T5's 100 sentinels then cover 602 tokens
    modes = {"R": 7, "S": 8, "X": 9}
    ul2 = build_objective("ul2", vocab_size=1000, mode_token_ids=modes)
    assert ul2.max_length() == 602
    ul2.check_length(602)
    with pytest.raises(TandemError, match=r"603 tokens need up to 101 sentinels \(X-denoiser.*at most 602"):
        ul2.check_length(603)
    # without that denoiser the next one bounds it: X (8, 0.5) at n = 1609 has round(804.5) = 804 noise tokens
    # in round(100.5) = 100 spans (T5 rounds halves to even, as Python does), at n = 1610 805 in 101
    no_x3 = build_objective("ul2", vocab_size=1000, mode_token_ids=modes, weights=[1, 1, 1, 0, 1, 1, 1])
    assert no_x3.max_length() == 1609
    t5 = build_objective("t5", vocab_size=1000)
    assert build_objective("alexatm", clm_token_id=CLM).max_length() is None
    for obj, kinds in ((ul2, ["ul2_r", "ul2_x"]), (t5, ["span"])):
        longest = obj.max_length()
        rng = np.random.default_rng(0)
        for kind in kinds:  # every denoiser of the mode works at the longest length ...
            for _ in range(60):
                obj.apply(list(range(10, 10 + longest)), kind, rng)
        with pytest.raises(TandemError, match="sentinels"):  # ... and one fails past it
            for _ in range(200):
                obj.apply(list(range(10, 11 + longest)), kinds[-1], rng)


class _SentinelTok:
    pad_id, eos_id, clm_id, doc_id, vocab_size = 1, 2, 4, 5, 1000
    sentinel_ids = list(range(999, 899, -1))
    mode_ids = {"R": 7, "S": 8, "X": 9}

    def encode(self, text: str, add_eos: bool = False) -> list[int]:
        return [int(w) for w in text.split()] + ([2] if add_eos else [])


def test_pretrain_stream_refuses_a_seq_len_its_sentinels_cannot_cover(tmp_path):
    # before: --objective ul2 --seq-len 1024 built the stream and failed on the first X-denoiser row that needed
    # more than the tokenizer's 100 sentinels ("pass more sentinel_ids", which the CLI has no flag for)
    from tandem.data import PretrainStream

    (tmp_path / "en.txt").write_text(" ".join(str(10 + i % 800) for i in range(3000)) + "\n")
    src = [f"en:{tmp_path / 'en.txt'}"]
    with pytest.raises(TandemError, match=r"seq_len=1024 .*X-denoiser.*a seq_len of at most 605"):
        PretrainStream(src, _SentinelTok(), "ul2", seq_len=1024, batch_size=2)
    # at the longest seq_len that fits (602 tokens + EOS + UL2Objective.overhead = 2), the rows build
    stream = PretrainStream(src, _SentinelTok(), "ul2", seq_len=605, batch_size=8)
    for batch in itertools.islice(stream, 4):
        assert batch["input_ids"].shape == (8, 605)
    PretrainStream(src, _SentinelTok(), "t5", seq_len=1024, batch_size=2)  # T5's 15% at mean 3 fits
