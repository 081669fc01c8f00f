"""Rank classification: score every verbalised choice by its teacher-forced decoder log-likelihood.

The context of an example is encoded ONCE and its encoder output (for tandem models: each decoder layer's
cross-attention keys/values) is shared by all of its choices; lm-eval and HELM re-encode the context for
every choice. Examples are length-sorted into batches so padding stays small.

Normalisations of a choice's summed log-likelihood `ll`:
- "none": ll;  "token": ll / number of choice tokens;  "char": ll / number of characters of the choice;
- "calibrated": ll - ll(choice | unconditional context) (Holtzman et al. 2021's domain-conditional PMI;
  the unconditional context is the task's answer cue, e.g. "Answer:").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from tandem.errors import TandemError
from tandem.prompting.lm import EncoderDecoder

NORMALIZATIONS = ("none", "token", "char", "calibrated")


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


def score_continuations(
    lm: EncoderDecoder,
    sources: Sequence[Sequence[int]],
    continuations: Sequence[Sequence[Sequence[int]]],
    batch_size: int = 16,
    progress: Callable[[int], None] | None = None,
) -> list[list[ContinuationScore]]:
    """Log-likelihood of each continuation (token ids, no start token) given its source (encoder ids).

    `continuations[i]` lists the continuations of `sources[i]`; the source is encoded once for all of them.
    `batch_size` bounds the number of sources per encoder pass. Results keep the input order.
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
    # Longest first: the first batch shows the memory peak, and similar lengths share a batch.
    order = sorted(
        range(len(sources)),
        key=lambda i: (-len(sources[i]), -max((len(c) for c in continuations[i]), default=0)),
    )
    out: list[list[ContinuationScore] | None] = [None] * len(sources)
    bs = max(1, int(batch_size))
    for b in range(0, len(order), bs):
        idx = order[b : b + bs]
        mem = lm.encode([sources[i] for i in idx])
        owner, conts = [], []
        for j, i in enumerate(idx):
            for c in continuations[i]:
                owner.append(j)
                conts.append(list(c))
        if conts:
            results = _score_batch(lm, mem, owner, conts)
            k = 0
            for i in idx:
                n = len(continuations[i])
                out[i] = results[k : k + n]
                k += n
        else:
            for i in idx:
                out[i] = []
        if progress is not None:
            progress(len(idx))
    return out  # type: ignore[return-value]


def _score_batch(
    lm: EncoderDecoder, mem, owner: list[int], conts: list[list[int]]
) -> list[ContinuationScore]:
    dev = lm.device
    mem = mem.select(torch.tensor(owner, device=dev))
    dec_in_rows = [[lm.start_id, *c[:-1]] for c in conts]
    dec_in, mask = lm.pad(dec_in_rows, lm.pad_id)
    positions = mask.nonzero()  # (M, 2) row-major: rows in order, positions ascending
    targets = torch.tensor([t for c in conts for t in c], device=dev)
    logp = lm.decoder_logprobs(mem, dec_in, positions)  # (M, V)
    tok_lp = logp.gather(1, targets[:, None]).squeeze(1)
    greedy = logp.argmax(-1) == targets
    sums = torch.zeros(len(conts), dtype=torch.float64, device=dev).index_add_(
        0, positions[:, 0], tok_lp.double()
    )
    misses = torch.zeros(len(conts), dtype=torch.long, device=dev).index_add_(
        0, positions[:, 0], (~greedy).long()
    )
    all_greedy = misses == 0
    return [
        ContinuationScore(float(s), len(c), bool(g))
        for s, c, g in zip(sums.tolist(), conts, all_greedy.tolist())
    ]


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

    With `normalization="calibrated"` each distinct (unconditional prompt, choice) pair is scored once and
    subtracted.
    """
    if normalization not in NORMALIZATIONS:
        raise TandemError(f"unknown normalisation {normalization!r}; choose from {', '.join(NORMALIZATIONS)}")
    sources = [lm.source_ids(p) for p in prompts]
    cont_ids = [[continuation_ids(lm, c) for c in cs] for cs in choices]
    raw = score_continuations(lm, sources, cont_ids, batch_size, progress)
    uncond: list[list[ContinuationScore]] | None = None
    if normalization == "calibrated":
        uprompts = (
            [unconditional_prompt] * len(prompts)
            if isinstance(unconditional_prompt, str)
            else list(unconditional_prompt)
        )
        keys = sorted({(u, c) for u, cs in zip(uprompts, choices) for c in cs})
        by_prompt: dict[str, list[str]] = {}
        for u, c in keys:
            by_prompt.setdefault(u, []).append(c)
        plist = list(by_prompt)
        res = score_continuations(
            lm,
            [lm.source_ids(u) for u in plist],
            [[continuation_ids(lm, c) for c in by_prompt[u]] for u in plist],
            batch_size,
        )
        table = {(u, c): s for u in plist for c, s in zip(by_prompt[u], res[plist.index(u)])}
        uncond = [[table[(u, c)] for c in cs] for u, cs in zip(uprompts, choices)]
    out = []
    for i, (r, cs) in enumerate(zip(raw, choices)):
        out.append(RankResult(normalize_scores(r, cs, normalization, uncond[i] if uncond else None), r))
    return out


def continuation_ids(lm: EncoderDecoder, text: str) -> list[int]:
    """Decoder target ids of a verbalised choice (no start or end token)."""
    ids = lm.tok.encode(text)
    if not ids:
        raise TandemError(f"choice {text!r} encodes to no tokens; give every choice some text")
    return ids
