"""A synthetic text corpus for trainer smoke runs on a machine without data (a lent GPU has no network):
Zipf-distributed words of random syllables, one document per line.

    python benchmarks/synthetic_corpus.py OUT.txt --lines 20000
"""

from __future__ import annotations

import argparse

import numpy as np


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--lines", type=int, default=20000)
    p.add_argument("--words", type=int, default=20000, help="lexicon size")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    syll = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]
    lexicon = ["".join(rng.choice(syll, size=rng.integers(1, 4))) for _ in range(args.words)]
    ranks = np.arange(1, args.words + 1)
    prob = 1.0 / ranks
    prob /= prob.sum()
    with open(args.out, "w", encoding="utf-8") as f:
        for _ in range(args.lines):
            n = int(rng.integers(20, 400))
            f.write(" ".join(lexicon[i] for i in rng.choice(args.words, size=n, p=prob)) + ".\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
