"""Tokenizer training on long lines: tandem's Tokenizer.train vs SentencePiece trained directly, same text.

A corpus whose documents are single long lines (jsonl records, text without paragraph breaks) is written
two ways from the same characters: lines of --short characters and lines of --long characters. The anchor is
SentencePiece's trainer called on the lines as one would call it on such a corpus (its default settings,
max_sentence_length raised so that no line is dropped); tandem's `Tokenizer.train` (its own settings: lossless
normalisation, its special tokens) cuts lines over 4,096 characters into pieces first. Same vocabulary size,
one thread. Prints one JSON line per run (seconds, tokens the trained model gives 300 of the lines) and a
final ratio line.

    python benchmarks/tokenizer_long_lines.py [--chars 530000] [--vocab 4000]

The text is FLORES-200 English devtest (../shared/data/flores200) repeated, or seeded pseudo-words when that
file is absent.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import tempfile
import time
from pathlib import Path

from _common import positive_int, require

require("tokenizer_long_lines.py", "sentencepiece")
import sentencepiece as spm  # noqa: E402

from tandem.tokenizer import Tokenizer  # noqa: E402

FLORES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "flores200" / "eng_Latn.devtest"


def corpus_text(chars: int) -> tuple[str, list[str]]:
    """`chars` characters of running text (words separated by spaces) and 300 sample lines."""
    if FLORES.is_file():
        lines = [x for x in FLORES.read_text(encoding="utf-8").split("\n") if x.strip()]
    else:
        rng = random.Random(0)
        words = [
            "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
            for _ in range(3000)
        ]
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(8, 30))) for _ in range(2000)]
    sample = lines[:300]
    text = " ".join(lines)
    while len(text) < chars:
        text = f"{text} {text}"
    return text[:chars], sample


def as_lines(text: str, width: int) -> str:
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))


def run_tandem(path: Path, vocab: int) -> tuple[float, object]:
    t = time.perf_counter()
    tok = Tokenizer.train([str(path)], vocab_size=vocab, num_threads=1)
    return time.perf_counter() - t, tok


def run_spm(path: Path, vocab: int) -> tuple[float, object]:
    lines = [x for x in path.read_text(encoding="utf-8").split("\n") if x.strip()]
    buf = io.BytesIO()
    t = time.perf_counter()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=buf,
        vocab_size=vocab,
        max_sentence_length=max(1 << 16, max(len(x.encode("utf-8")) for x in lines)),
        num_threads=1,
        minloglevel=2,
    )
    seconds = time.perf_counter() - t
    return seconds, spm.SentencePieceProcessor(model_proto=buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chars", type=positive_int, default=530_000, help="characters of text (530000)")
    ap.add_argument("--short", type=positive_int, default=1_000, help="short line length (1000)")
    ap.add_argument("--long", type=positive_int, default=100_000, help="long line length (100000)")
    ap.add_argument("--vocab", type=positive_int, default=4_000)
    args = ap.parse_args(argv)
    text, sample = corpus_text(args.chars)
    results = {}
    with tempfile.TemporaryDirectory() as d:
        for width in (args.short, args.long):
            path = Path(d) / f"lines_{width}.txt"
            path.write_text(as_lines(text, width), encoding="utf-8")
            for impl, run in (("sentencepiece", run_spm), ("tandem", run_tandem)):
                seconds, model = run(path, args.vocab)
                tokens = sum(len(model.encode(x)) for x in sample)
                rec = {
                    "impl": impl,
                    "line_chars": width,
                    "seconds": round(seconds, 3),
                    "sample_tokens": tokens,
                }
                results[(impl, width)] = rec
                print(json.dumps(rec), flush=True)
    s, t = results[("sentencepiece", args.long)], results[("tandem", args.long)]
    print(
        json.dumps(
            {
                "ratio": "tandem/sentencepiece speed on long lines",
                "speedup": round(s["seconds"] / t["seconds"], 2),
                "long_vs_short_sentencepiece": round(
                    s["seconds"] / results[("sentencepiece", args.short)]["seconds"], 2
                ),
                "sample_tokens_tandem": t["sample_tokens"],
                "sample_tokens_sentencepiece": s["sample_tokens"],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
