"""The int8 scoring tests' shared check of an edge model's scores against reference log-probs (test_edge's
tandem model, test_edge_hf's mBART-50)."""

from __future__ import annotations

import pytest


def check_scores(m, prompt: str, choices: list[str], want: list[list[float]], sequence: bool, tol: tuple):
    """`m.score_batch` per token and `m.rank`'s mean losses for one prompt against `want` (the reference's
    log-prob of each scored token per choice), within `tol` = (per token, per loss). Returns the per-token
    |differences| and, where the reference's two best losses differ by more than twice the loss tolerance (the
    int8 error cannot swap them), `(the reference's best choice, the scored sums)` after checking that `rank`
    picks it; else None."""
    token_tol, loss_tol = tol
    got = m.score_batch([prompt] * len(choices), choices, sequence=sequence)
    assert [len(g) for g in got] == [len(w) for w in want], sequence
    diffs = []
    for g, w in zip(got, want):
        assert g == pytest.approx(w, abs=token_tol), (sequence, prompt, g, w)
        diffs += [abs(a - b) for a, b in zip(g, w)]
    want_losses = [-sum(w) / len(w) for w in want]
    res = m.rank(prompt, choices, sequence=sequence)
    assert res.losses == pytest.approx(want_losses, abs=loss_tol), sequence
    first, second = sorted(want_losses)[:2]
    if second - first <= 2 * loss_tol:
        return diffs, None
    best = want_losses.index(first)
    assert res.best == best, (sequence, prompt, res.losses, want_losses)
    return diffs, (best, [sum(g) for g in got])
