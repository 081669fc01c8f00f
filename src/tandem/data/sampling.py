"""Language and source sampling weights."""

from __future__ import annotations

import math
from collections.abc import Mapping

from tandem.errors import TandemError


def language_weights(sizes: Mapping[str, float], alpha: float) -> dict[str, float]:
    """Sampling probabilities p_l proportional to n_l ** alpha, normalised to sum to 1.

    alpha = 1 samples in proportion to size, alpha = 0 uniformly over languages; AlexaTM and XLM-R use
    smaller alphas (0.5 and 0.3) to upsample low-resource languages. Languages of size 0 get probability 0.
    """
    if not (isinstance(alpha, int | float) and math.isfinite(alpha) and alpha >= 0):
        raise TandemError(f"language_weights: alpha must be a finite number >= 0, got {alpha!r}")
    bad = {k: v for k, v in sizes.items() if not (math.isfinite(v) and v >= 0)}
    if bad:
        raise TandemError(f"language_weights: sizes must be finite and >= 0, got {bad}")
    live = {k: math.log(float(v)) for k, v in sizes.items() if v > 0}
    if not live:
        raise TandemError(f"language_weights: every language has size 0 ({sorted(sizes)}); no data to sample")
    # n ** alpha relative to the largest language, in log space: a large alpha (or large sizes) would
    # overflow the floats of n ** alpha itself
    top = max(live.values())
    powered = {k: (math.exp(alpha * (live[k] - top)) if k in live else 0.0) for k in sizes}
    total = sum(powered.values())
    return {k: v / total for k, v in powered.items()}
