"""k-shot demonstration selection: seeded random or per-class balanced, reproducible per query."""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def select_demonstrations(
    pool: Sequence[T],
    k: int,
    seed: int,
    query_index: int = 0,
    label_of: Callable[[T], Hashable] | None = None,
    exclude: Callable[[T], bool] | None = None,
) -> list[T]:
    """k examples from `pool` for query number `query_index`.

    The draw depends only on (seed, query_index), so a run is reproducible and each query sees its own
    demonstrations. With `label_of`, classes are balanced: each class gets k // C examples and the
    remainder goes to randomly chosen classes (classes short of examples are topped up from the rest); the
    chosen demonstrations are then shuffled so no class order leaks. `exclude` removes candidates (e.g. the
    query itself when demonstrations come from the evaluation split).
    """
    if k <= 0 or not pool:
        return []
    rng = random.Random(f"{seed}:{query_index}")
    cands = [x for x in pool if not (exclude and exclude(x))]
    if k >= len(cands):
        out = list(cands)
        rng.shuffle(out)
        return out
    if label_of is None:
        return rng.sample(cands, k)
    by_class: dict[Any, list[T]] = {}
    for x in cands:
        by_class.setdefault(label_of(x), []).append(x)
    classes = sorted(by_class, key=str)
    for c in classes:
        rng.shuffle(by_class[c])
    quota = {c: k // len(classes) for c in classes}
    for c in rng.sample(classes, k % len(classes)):
        quota[c] += 1
    chosen: list[T] = []
    spare: list[T] = []
    for c in classes:
        chosen += by_class[c][: quota[c]]
        spare += by_class[c][quota[c] :]
    if len(chosen) < k:  # some class ran short
        rng.shuffle(spare)
        chosen += spare[: k - len(chosen)]
    rng.shuffle(chosen)
    return chosen
