"""Language and source sampling weights."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from tandem.errors import TandemError
from tandem.langcodes import two_letter


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


_TAG = re.compile(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")


def language_tag(lang: object, what: str = "language") -> str:
    """The sampling group of a source's language tag: BCP 47 spelling, "_" read as "-" (the POSIX locale form)
    and case as BCP 47 writes it (language lower case, a four-letter script title case, a two-letter region
    upper case), and a language's two-letter ISO 639-1 code for a three-letter one (`tandem.langcodes`, noted
    once): "en_US", "EN-us", "eng-US" and "en-US" are one language, "en" and "en-US" two. `what` names the tag's
    owner in the TandemError raised for an empty or malformed tag (letters and digits, subtags joined by "-"
    or "_")."""
    if not isinstance(lang, str) or not lang.strip():
        raise TandemError(f'{what}: the language tag is empty ({lang!r}); give one such as "en" or "pt-BR"')
    if not _TAG.fullmatch(lang):
        raise TandemError(
            f'{what}: {lang!r} is not a language tag; write one such as "en", "pt-BR" or "zh-Hans" (letters '
            'and digits, subtags joined by "-" or "_", no spaces)'
        )
    first, *rest = re.split("[-_]", lang)
    out = [two_letter(first.lower())]
    for sub in rest:
        if len(sub) == 4 and sub.isalpha():
            out.append(sub.title())
        elif len(sub) == 2 and sub.isalpha():
            out.append(sub.upper())
        else:
            out.append(sub.lower())
    return "-".join(out)


def same_language_notes(tags: Sequence[str]) -> list[str]:
    """Messages for sampling groups (language_tag results) that share a language subtag ("en" and "en-US"):
    alpha sampling then weighs them as two languages, which is what deliberate regional groups (en-US, en-GB)
    want and a source tagged "en-US" among "en" ones does not."""
    by_lang: dict[str, list[str]] = {}
    for tag in sorted(set(tags)):
        by_lang.setdefault(tag.split("-")[0], []).append(tag)
    return [
        f"languages {', '.join(repr(t) for t in group)} are sampled as {len(group)} languages (alpha weighs "
        "each on its own); if they are one language, give their sources one tag"
        for group in by_lang.values()
        if len(group) > 1
    ]
