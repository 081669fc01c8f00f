"""13-gram decontamination throughput: tandem's stable hashes vs Python's per-process `hash` (the anchor).

The anchor is the first implementation: `hash(tuple(words[i:i + 13]))` for every 13-gram, which
PYTHONHASHSEED salts per process (so n-grams built in one process cannot be checked in another). tandem
hashes 64-bit blake2b word ids with a rolling polynomial and skips words outside the evaluation vocabulary.
Both build the n-grams of every `--eval-every`-th line and check every line of the same files, in one
process, on one core, in interleaved rounds (the best round is reported). Prints one JSON line per
measurement and a final ratio line.

    python benchmarks/decontam_throughput.py [--files '../shared/data/flores200/*'] [--repeat 2]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import time
from pathlib import Path

from _common import positive_int
from tandem.data import Decontaminator

_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|\w+", re.UNICODE)


class SaltedDecontaminator:
    """The anchor: Python's built-in (per-process) hash of word tuples."""

    def __init__(self, texts: list[str], n: int = 13) -> None:
        self.n, self.grams = n, set()
        for t in texts:
            w = _WORD.findall(t.lower())
            self.grams |= {hash(tuple(w[i : i + n])) for i in range(len(w) - n + 1)}

    def contaminated(self, text: str) -> bool:
        w, n = _WORD.findall(text.lower()), self.n
        return any(hash(tuple(w[i : i + n])) in self.grams for i in range(len(w) - n + 1))


def main() -> None:
    root = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "flores200" / "*"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", default=str(root), help="glob of text files (a document per line)")
    ap.add_argument(
        "--eval-every", type=positive_int, default=10, help="every k-th line is an evaluation text"
    )
    ap.add_argument("--repeat", type=positive_int, default=1, help="check the lines this many times")
    ap.add_argument("--rounds", type=positive_int, default=5)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    lines: list[str] = []
    for f in sorted(glob.glob(args.files)):
        lines += Path(f).read_text(encoding="utf-8").splitlines()
    if not lines:
        raise SystemExit(f"no lines in {args.files}")
    evals, docs = lines[:: args.eval_every], lines * args.repeat
    mb = sum(len(d.encode("utf-8")) for d in docs) / 1e6
    best: dict[str, dict] = {}
    for _ in range(args.rounds):
        for name, cls in (
            ("anchor_python_hash", SaltedDecontaminator),
            ("tandem_stable_hash", Decontaminator),
        ):
            t0 = time.perf_counter()
            deco = cls(evals)
            t1 = time.perf_counter()
            hits = sum(map(deco.contaminated, docs))
            t2 = time.perf_counter()
            rec = {
                "impl": name,
                "eval_texts": len(evals),
                "grams": len(deco.grams),
                "docs": len(docs),
                "mb": round(mb, 2),
                "build_s": round(t1 - t0, 4),
                "check_s": round(t2 - t1, 4),
                "mb_per_s": round(mb / (t2 - t1), 2),
                "docs_per_s": round(len(docs) / (t2 - t1)),
                "contaminated": hits,
            }
            if name not in best or rec["check_s"] < best[name]["check_s"]:
                best[name] = rec
    for rec in best.values():
        print(json.dumps(rec))
    a, t = best["anchor_python_hash"], best["tandem_stable_hash"]
    if a["contaminated"] != t["contaminated"]:
        raise SystemExit(f"the two disagree: {a['contaminated']} vs {t['contaminated']} documents")
    print(json.dumps({"ratio_tandem_over_anchor_speed": round(t["mb_per_s"] / a["mb_per_s"], 3)}))


if __name__ == "__main__":
    main()
