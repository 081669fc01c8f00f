"""Rank classification: score every verbalised choice by its teacher-forced decoder log-likelihood.

The context of an example is encoded ONCE and its encoder output (for tandem models: each decoder layer's
cross-attention keys/values) is shared by all of its choices; lm-eval and HELM re-encode the context for
every choice. With tandem models the choices of an example are then decoded together as one prefix tree
(one decoder row; each position attends to its ancestors only), so the start position and any prefix the
choices share are computed once, and the LM head runs once per tree node. Examples are length-sorted into
batches so padding stays small. A choice is scored as the tokens it has after its prompt (`continuation_ids`),
read after the decoder start token and, for a model whose decoding forces a first token (mBART-50's target
language code), after that token too, as the model generates (`EncoderDecoder.prefix`; never scored itself).

Normalisations of a choice's summed log-likelihood `ll`:
- "none": ll;  "token": ll / number of choice tokens;  "char": ll / number of characters of the choice;
- "byte": ll / number of UTF-8 bytes of the choice (lm-eval's `acc_bytes`; comparable across scripts);
- "calibrated": ll - ll(choice | unconditional context) (Holtzman et al. 2021's domain-conditional PMI;
  the unconditional context is the task's answer cue, e.g. "Answer:").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from tandem.errors import TandemError
from tandem.prompting.lm import ContinuationTree, EncoderDecoder, PackedMemory
from tandem.tokenizer import continuation_ids as split_continuations

NORMALIZATIONS = ("none", "token", "char", "byte", "calibrated")


@dataclass
class ContinuationScore:
    logprob: float  # summed log-likelihood of the continuation tokens
    num_tokens: int
    is_greedy: bool  # every continuation token is the argmax at its position


@dataclass
class RankResult:
    scores: list[float]  # normalised score per choice (higher is better)
    raw: list[ContinuationScore] = field(default_factory=list)

    @property
    def prediction(self) -> int:
        return max(range(len(self.scores)), key=lambda i: self.scores[i])


# Cost model of the batch planner, in token-positions: each pass also pays a fixed cost (kernel launches,
# masks, Python), so a few padded positions are cheaper than an extra pass.
PASS_COST_TOKENS = 32
# Cross-attention K/V of one window of sources are held at once (bytes); windows never split an encoder batch.
WINDOW_BYTES = 256 * 2**20
# A source's continuations share one decoder row (a prefix tree) up to this many positions; more start a new row
# (its self-attention mask is quadratic in the row length).
MAX_TREE_NODES = 256


def plan_batches(lengths: Sequence[int], max_items: int, pass_cost: float = PASS_COST_TOKENS) -> list[int]:
    """Cut points of items sorted by descending length into contiguous batches of at most `max_items` that
    minimise padded positions (batch size x its first length) + `pass_cost` per batch (exact, by dynamic
    programming). Returns the batch start indices followed by len(lengths)."""
    n, m = len(lengths), max(1, int(max_items))
    best = [0.0] + [math.inf] * n
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(max(0, j - m), j):
            c = best[i] + (j - i) * lengths[i] + pass_cost
            if c < best[j]:
                best[j], cut[j] = c, i
    starts = [n]
    while starts[-1] > 0:
        starts.append(cut[starts[-1]])
    return starts[::-1]


def score_continuations(
    lm: EncoderDecoder,
    sources: Sequence[Sequence[int]],
    continuations: Sequence[Sequence[Sequence[int]]],
    batch_size: int = 16,
    progress: Callable[[int], None] | None = None,
) -> list[list[ContinuationScore]]:
    """Log-likelihood of each continuation (token ids, no start token) given its source (encoder ids), read
    after the decoder prefix `lm.prefix` (the start token, then the token the model forces first, if any).

    `continuations[i]` lists the continuations of `sources[i]`. Each source is encoded once (encoder passes
    of at most `batch_size` sources, grouped by length to cut padding) and its cross-attention K/V are shared
    by all of its continuations; the continuations of a window of sources are then re-batched by their own
    length (at most `batch_size` x the largest number of choices per decoder pass; tandem models: at most
    `batch_size` prefix trees, one per source). Results keep the input order.
    """
    if len(sources) != len(continuations):
        raise TandemError(
            f"score_continuations: {len(sources)} sources but {len(continuations)} continuation lists"
        )
    for i, conts in enumerate(continuations):
        if not sources[i]:
            raise TandemError(f"score_continuations: source {i} is empty")
        for c in conts:
            if not c:
                raise TandemError(f"score_continuations: source {i} has an empty continuation")
    bs = max(1, int(batch_size))
    order = sorted(range(len(sources)), key=lambda i: -len(sources[i]))
    out: list[list[ContinuationScore]] = [[] for _ in continuations]
    cfg = getattr(lm.model, "config", None)
    width = getattr(cfg, "kv_dim", None) or getattr(cfg, "d_model", 1)
    layers = getattr(cfg, "decoder_layers", None) or getattr(cfg, "num_decoder_layers", 1)
    token_bytes = 2 * layers * width * next(lm.model.parameters()).element_size()
    max_rows = bs * max((len(c) for c in continuations), default=1)

    with lm.packed.active():  # prepacked linear weights (see PackedLinears)
        start = 0
        while start < len(order):
            # a window: whole encoder batches of the length-sorted sources, K/V within WINDOW_BYTES
            end, tokens = start, 0
            while end < len(order) and (
                end - start < bs or tokens + len(sources[order[end]]) <= WINDOW_BYTES // token_bytes
            ):
                tokens += len(sources[order[end]])
                end += 1
            window = order[start:end]
            cuts = plan_batches([len(sources[i]) for i in window], bs)
            memory = lm.encode([[sources[i] for i in window[a:b]] for a, b in zip(cuts, cuts[1:])])
            conts = [continuations[i] for i in window]
            scored = _score_rebatched(lm, memory, conts, max_rows, bs)
            for i, cs, res in zip(window, conts, scored):
                out[i] = [ContinuationScore(s, len(c), g) for c, (s, g) in zip(cs, res)]
            if progress is not None:
                progress(len(window))
            start = end
    return out


def _score_rebatched(
    lm: EncoderDecoder,
    memory: PackedMemory,
    conts: list[Sequence[Sequence[int]]],
    max_rows: int,
    max_trees: int,
) -> list[list[tuple[float, bool]]]:
    """Every (source, continuation) pair of a window, re-batched by continuation length (then source
    length) into decoder passes of at most `max_rows` rows; each pass reads its rows' sources' memory.
    tandem models decode the continuations of a source together as one prefix tree, at most `max_trees`
    trees per pass (see `_score_trees`)."""
    lens = memory.lengths.tolist()
    if lm.is_tandem:
        return _score_trees(lm, memory, conts, max_trees, lens)
    out: list[list[tuple[float, bool]]] = [[(0.0, True)] * len(cs) for cs in conts]
    pairs = [(w, j) for w, cs in enumerate(conts) for j in range(len(cs))]
    pairs.sort(key=lambda p: (-len(conts[p[0]][p[1]]), -lens[p[0]]))
    cuts = plan_batches([len(conts[w][j]) for w, j in pairs], max_rows)
    for a, b in zip(cuts, cuts[1:]):
        batch = pairs[a:b]
        owners = torch.tensor([w for w, _ in batch], device=memory.offsets.device)
        sums, greedy = lm.score_rows(memory.rows(owners), [conts[w][j] for w, j in batch])
        for (w, j), s, g in zip(batch, sums.tolist(), greedy.tolist()):
            out[w][j] = (s, bool(g))
    return out


def _score_trees(
    lm: EncoderDecoder,
    memory: PackedMemory,
    conts: list[Sequence[Sequence[int]]],
    max_trees: int,
    lens: list[int],
) -> list[list[tuple[float, bool]]]:
    """The continuations of each source as prefix trees (one decoder row each; a source whose trees would
    pass MAX_TREE_NODES gets several), re-batched by size (then source length) into decoder passes of at
    most `max_trees` trees: the continuations of at most that many sources, as with one row per
    continuation and `max_trees` x (most continuations of a source) rows."""
    out: list[list[tuple[float, bool]]] = [[(0.0, True)] * len(cs) for cs in conts]
    trees: list[tuple[int, list[int], ContinuationTree]] = []  # (source, its continuation indices, tree)
    for w, cs in enumerate(conts):
        group: list[int] = []
        size = len(lm.prefix)
        for j, c in enumerate(cs):
            if group and size + len(c) > MAX_TREE_NODES:
                trees.append((w, group, ContinuationTree.build(lm.prefix, [cs[i] for i in group])))
                group, size = [], len(lm.prefix)
            group.append(j)
            size += len(c)
        if group:
            trees.append((w, group, ContinuationTree.build(lm.prefix, [cs[i] for i in group])))
    trees.sort(key=lambda x: (-len(x[2].inputs), -lens[x[0]]))
    cuts = plan_batches([len(t.inputs) for _, _, t in trees], max_trees)
    for a, b in zip(cuts, cuts[1:]):
        batch = trees[a:b]
        owners = torch.tensor([w for w, _, _ in batch], device=memory.offsets.device)
        sums, greedy = lm.score_trees(memory.rows(owners), [t for _, _, t in batch])
        flat = [(w, j) for w, group, _ in batch for j in group]
        for (w, j), s, g in zip(flat, sums.tolist(), greedy.tolist()):
            out[w][j] = (s, bool(g))
    return out


def normalize_scores(
    raw: Sequence[ContinuationScore],
    choices: Sequence[str],
    normalization: str,
    unconditional: Sequence[ContinuationScore] | None = None,
) -> list[float]:
    """Turn summed log-likelihoods into comparable scores (see the module docstring)."""
    if normalization == "none":
        return [r.logprob for r in raw]
    if normalization == "token":
        return [r.logprob / max(1, r.num_tokens) for r in raw]
    if normalization == "char":
        return [r.logprob / max(1, len(c)) for r, c in zip(raw, choices)]
    if normalization == "byte":
        return [r.logprob / max(1, len(c.encode("utf-8"))) for r, c in zip(raw, choices)]
    if normalization == "calibrated":
        if unconditional is None:
            raise TandemError("calibrated normalisation needs the unconditional choice scores")
        return [r.logprob - u.logprob for r, u in zip(raw, unconditional)]
    raise TandemError(f"unknown normalisation {normalization!r}; choose from {', '.join(NORMALIZATIONS)}")


def rank_choices(
    lm: EncoderDecoder,
    prompts: Sequence[str],
    choices: Sequence[Sequence[str]],
    normalization: str = "none",
    unconditional_prompt: str | Sequence[str] = "Answer:",
    batch_size: int = 16,
    progress: Callable[[int], None] | None = None,
) -> list[RankResult]:
    """Score the choices (verbalisations such as " yes" / " no") of each prompt; best first via `.prediction`.

    Each choice is tokenized in the context of its prompt (see `continuation_ids`). With
    `normalization="calibrated"` the same choice ids are scored after the unconditional prompt (each distinct
    pair once) and subtracted.
    """
    if normalization not in NORMALIZATIONS:
        raise TandemError(f"unknown normalisation {normalization!r}; choose from {', '.join(NORMALIZATIONS)}")
    if len(prompts) != len(choices):
        raise TandemError(f"rank_choices: {len(prompts)} prompts but {len(choices)} choice lists")
    for i, cs in enumerate(choices):
        if not cs:
            raise TandemError(f"rank_choices: prompt {i} has no choices; give every prompt at least one")
    sources = [lm.source_ids(p) for p in prompts]
    cont_ids = [choice_ids(lm, p, cs) for p, cs in zip(prompts, choices)]
    raw = score_continuations(lm, sources, cont_ids, batch_size, progress)
    uncond: list[list[ContinuationScore]] | None = None
    if normalization == "calibrated":
        uprompts = (
            [unconditional_prompt] * len(prompts)
            if isinstance(unconditional_prompt, str)
            else list(unconditional_prompt)
        )
        keys = sorted({(u, tuple(c)) for u, cs in zip(uprompts, cont_ids) for c in cs})
        by_prompt: dict[str, list[tuple[int, ...]]] = {}
        for u, c in keys:
            by_prompt.setdefault(u, []).append(c)
        plist = list(by_prompt)
        res = score_continuations(
            lm,
            [lm.source_ids(u) for u in plist],
            [[list(c) for c in by_prompt[u]] for u in plist],
            batch_size,
        )
        table = {(u, c): s for u, r in zip(plist, res) for c, s in zip(by_prompt[u], r)}
        uncond = [[table[(u, tuple(c))] for c in cs] for u, cs in zip(uprompts, cont_ids)]
    out = []
    for i, (r, cs) in enumerate(zip(raw, choices)):
        out.append(RankResult(normalize_scores(r, cs, normalization, uncond[i] if uncond else None), r))
    return out


def choice_ids(
    lm: EncoderDecoder, context: str, choices: Sequence[str], split_clm: bool = True
) -> list[list[int]]:
    """`continuation_ids` of each choice after `context` (the context is encoded once). `split_clm=False`:
    the context is tokenized as written, `[CLM]` included (for callers that encode it so, as the lm-eval
    bridge does), instead of as `source_ids` splits it."""
    body = lm.split_clm(context)[1] if split_clm else context
    out = split_continuations(lm.tok.encode_batch, body, choices)
    for c, ids in zip(choices, out):
        if not ids:
            raise TandemError(f"choice {c!r} encodes to no tokens; give every choice some text")
    return out


def continuation_ids(
    lm: EncoderDecoder, text: str, context: str | None = None, split_clm: bool = True
) -> list[int]:
    """Decoder target ids of a verbalised choice (no start or end token).

    With `context`, the prompt the choice follows, the choice is tokenized in context: the ids that
    `context + text` has beyond those of `context` alone. That is how the causal-LM objective splits a
    document between the encoder and the decoder, and how the choice reads in a demonstration. Encoded on its
    own, a choice's leading space can become a token of its own: SentencePiece puts its dummy-prefix `▁`
    before the text, so with a model that keeps whitespace as written (tandem's) " yes" alone is `▁` `▁yes`
    but after "Answer:" it is `▁yes`. Without a context (or an `[CLM] `-only one), or when a token spans the
    boundary (the context's ids are not a prefix of the whole), the choice is encoded alone.
    """
    if context is None:
        context = ""
    return choice_ids(lm, context, [text], split_clm=split_clm)[0]
