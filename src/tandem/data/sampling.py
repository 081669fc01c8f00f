"""Language and source sampling weights."""

from __future__ import annotations

from collections.abc import Mapping

from tandem.errors import TandemError


def language_weights(sizes: Mapping[str, float], alpha: float) -> dict[str, float]:
    """Sampling probabilities p_l proportional to n_l ** alpha, normalised to sum to 1.

    alpha = 1 samples in proportion to size, alpha = 0 uniformly over languages; AlexaTM and XLM-R use
    smaller alphas (0.5 and 0.3) to upsample low-resource languages. Languages of size 0 get probability 0.
    """
    if alpha < 0:
        raise TandemError(f"language_weights: alpha must be >= 0, got {alpha}")
    bad = {k: v for k, v in sizes.items() if v < 0}
    if bad:
        raise TandemError(f"language_weights: sizes must be >= 0, got {bad}")
    powered = {k: (float(v) ** alpha if v > 0 else 0.0) for k, v in sizes.items()}
    total = sum(powered.values())
    if total <= 0:
        raise TandemError(f"language_weights: every language has size 0 ({sorted(sizes)}); no data to sample")
    return {k: v / total for k, v in powered.items()}
