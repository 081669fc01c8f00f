"""Spoken-form normaliser throughput: sentences/s on one core, per language, tandem vs a naive anchor.

The anchor is what one writes in five minutes: replace every digit run by num2words' cardinal (no
dates, money, units, phone numbers...), then lowercase and strip punctuation. Languages num2words lacks
(hi, mr, ta) run the anchor with English num2words so that its cost is still measured. Both run on the
same seeded sentences in the same process, pinned to one CPU core. Prints one JSON line per measurement,
then a final ratio line (geometric mean of tandem/anchor speed over the languages).

    python benchmarks/spoken_throughput.py [--sentences 2000] [--langs en,de,hi]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import time
import unicodedata

from _common import positive_int, require

require("spoken_throughput.py", "num2words")
from num2words import CONVERTER_CLASSES, num2words  # noqa: E402

from tandem.spoken import SUPPORTED_LANGUAGES, to_spoken  # noqa: E402
from tandem.spoken.tables import language_table  # noqa: E402

# how each language writes a grouped thousand and a decimal (so the sentences look like real text)
GROUP = {"de": ".", "es": ".", "it": ".", "pt": ".", "fr": " "}
DECIMAL = {"de": ",", "es": ",", "it": ",", "pt": ",", "fr": ","}
N2W = {"pt": "pt_BR"}


def make_sentences(lang: str, n: int, seed: int = 0) -> list[str]:
    """Seeded sentences: filler words of the language (unit, currency and symbol words from its table)
    around entities of every category; a quarter of them have no digits at all, as in running text."""
    rng = random.Random(f"{lang}-{seed}")
    t = language_table(lang)

    def last(forms):
        return forms if isinstance(forms, str) else forms[-1]

    words = [last(u) for u in t["units"].values()] + [w for w in t["symbols"].values() if w]
    words += [last(c["major"]) for c in t["currencies"].values()] + list(t.get("abbreviations", {}).values())
    fillers = [w for f in words for w in f.split()] + list(t["months"][:2])  # months are rare in text
    g, d = GROUP.get(lang, ","), DECIMAL.get(lang, ".")

    def grouped(x: int) -> str:
        return f"{x:,}".replace(",", g)

    entities = [
        lambda: grouped(rng.randint(1000, 9_999_999)),
        lambda: str(rng.randint(0, 999)),
        lambda: f"{rng.randint(0, 99)}{d}{rng.randint(0, 99)}",
        lambda: f"{rng.randint(1, 99)}%",
        lambda: f"${rng.randint(1, 5000)}.{rng.randint(0, 99):02d}",
        lambda: f"{rng.randint(0, 23)}:{rng.randint(0, 59):02d}",
        lambda: f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/{rng.randint(1950, 2030)}",
        lambda: f"{rng.randint(1, 500)} km",
        lambda: f"+1 555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        lambda: str(rng.randint(1900, 2030)),
        lambda: "a.b@example.com",
    ]
    out = []
    for i in range(n):
        words = [rng.choice(fillers) for _ in range(rng.randint(6, 14))]
        if i % 4:
            for _ in range(rng.randint(1, 3)):
                words.insert(rng.randrange(len(words) + 1), rng.choice(entities)())
        out.append(" ".join(words) + ".")
    return out


def naive(text: str, lang: str) -> str:
    """The anchor: digit runs -> num2words cardinal, then lowercase and strip punctuation."""
    code = N2W.get(lang, lang) if lang in CONVERTER_CLASSES or N2W.get(lang) in CONVERTER_CLASSES else "en"
    s = re.sub(r"\d+", lambda m: " " + num2words(int(m.group()), lang=code) + " ", text).lower()
    s = "".join(c if unicodedata.category(c)[0] in "LMZ" else " " for c in s)
    return " ".join(s.split())


def timed(fn, sentences: list[str], lang: str) -> float:
    for s in sentences[:50]:  # warm-up: compiled regexes, tables, imports
        fn(s, lang)
    t0 = time.perf_counter()
    for s in sentences:
        fn(s, lang)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=positive_int, default=2000)
    ap.add_argument("--langs", default=",".join(SUPPORTED_LANGUAGES))
    args = ap.parse_args()
    unknown = [x for x in args.langs.split(",") if x not in SUPPORTED_LANGUAGES]
    if unknown:
        ap.error(
            f"--langs: unknown {', '.join(map(repr, unknown))}; choose from {','.join(SUPPORTED_LANGUAGES)}"
        )
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # per core: one pinned process
    ratios = []
    for lang in args.langs.split(","):
        sentences = make_sentences(lang, args.sentences)
        chars = sum(map(len, sentences))
        anchor_lang = N2W.get(lang, lang) if lang in CONVERTER_CLASSES else "en"
        rows = {}
        for impl, fn in (("anchor_naive_num2words", naive), ("tandem", to_spoken)):
            sec = timed(fn, sentences, lang)
            rows[impl] = len(sentences) / sec
            rec = {"bench": "spoken_throughput", "lang": lang, "impl": impl, "sentences": len(sentences),
                   "seconds": round(sec, 4), "sentences_per_s_per_core": round(len(sentences) / sec, 1),
                   "chars_per_s": round(chars / sec)}  # fmt: skip
            if impl.startswith("anchor"):
                rec["anchor_num2words_lang"] = anchor_lang
            print(json.dumps(rec), flush=True)
        ratios.append(rows["tandem"] / rows["anchor_naive_num2words"])
        print(
            json.dumps(
                {"bench": "spoken_throughput", "lang": lang, "ratio_tandem_over_anchor": round(ratios[-1], 3)}
            )
        )
    geo = math.exp(sum(map(math.log, ratios)) / len(ratios))
    print(json.dumps({"bench": "spoken_throughput", "ratio": "tandem_over_anchor_geomean", "value": round(geo, 3),
                      "langs": len(ratios)}))  # fmt: skip


if __name__ == "__main__":
    main()
