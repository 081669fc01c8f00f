"""PretrainStream throughput on plain and gzip-compressed text: tokens/s of batches, and MB/s of reading alone.

One source per file (the language from its name, `eng_Latn.devtest` -> en), the same files gzipped into
`--gz-dir` (`NAME.gz`), a small SentencePiece tokenizer trained on them once (`--tokenizer`), the AlexaTM
objective, tokenisation in this process (`num_workers=0`), on one core. Rounds alternate plain and gzip; the
best round of each is reported (the machine may be shared: expect noise). One JSON line per measurement, then
a ratio line (gzip over plain).

    python benchmarks/stream_throughput.py [--files '../shared/data/flores200/*'] [--rounds 3] [--only plain]
        [--shuffle-docs 1000]
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import time
from pathlib import Path

from _common import cached_tokenizer, nonneg_int, positive_int
from tandem import Tokenizer
from tandem.data import PretrainStream, Reader, Source
from tandem.train.trainer import lang_from_name


def sources(files: list[Path], shuffle_docs: int = 0) -> list[Source]:
    extra = {"shuffle_docs": shuffle_docs} if shuffle_docs else {}  # none: runs on tandem before it too
    return [Source(f, lang_from_name(f), **extra) for f in files]


def read_pass(srcs: list[Source]) -> tuple[float, int]:
    """Seconds to read every document of the sources once, and their UTF-8 bytes."""
    t0, n = time.perf_counter(), 0
    for i, src in enumerate(srcs):
        r = Reader(src, i, seed=0)
        while (it := r.next()).kind != "epoch_end":
            if it.kind == "doc":
                n += len(it.payload.encode("utf-8"))
        r.close()
    return time.perf_counter() - t0, n


def stream_run(srcs: list[Source], tok: Tokenizer, batches: int, seq_len: int) -> tuple[float, float, int]:
    """Seconds to build a stream (file sizes for the language weights), seconds for `batches` batches, and
    the document tokens they used."""
    t0 = time.perf_counter()
    s = PretrainStream(srcs, tok, "alexatm", seq_len=seq_len, batch_size=16, seed=0)
    t1 = time.perf_counter()
    for _ in range(batches):
        next(s)
    dt = time.perf_counter() - t1
    s.close()
    return t1 - t0, dt, sum(s.stats["tokens"].values())


def main() -> None:
    root = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "flores200" / "*"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", default=str(root), help="glob of text files (a document per line)")
    ap.add_argument("--gz-dir", default="/tmp/tandem_stream_gz", help="where the gzipped copies go")
    ap.add_argument("--tokenizer", default="/tmp/tandem_stream_tok", help="trained here once, then reused")
    ap.add_argument("--vocab", type=positive_int, default=4000)
    ap.add_argument("--batches", type=positive_int, default=150)
    ap.add_argument("--seq-len", type=positive_int, default=256)
    ap.add_argument("--rounds", type=positive_int, default=3)
    ap.add_argument("--only", choices=["plain", "gzip"], default=None, help="measure one kind only")
    ap.add_argument("--shuffle-docs", type=nonneg_int, default=0, help="Source.shuffle_docs (0: file order)")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    files = [Path(f) for f in sorted(glob.glob(args.files))]
    if not files:
        raise SystemExit(f"no files match {args.files}")
    gz_dir = Path(args.gz_dir)
    gz_dir.mkdir(parents=True, exist_ok=True)
    gz_files = []
    for f in files:
        out = gz_dir / (f.name + ".gz")
        if not out.exists():
            out.write_bytes(gzip.compress(f.read_bytes(), mtime=0))
        gz_files.append(out)
    tok = cached_tokenizer(args.tokenizer, files, args.vocab)
    kinds = {"plain": sources(files, args.shuffle_docs), "gzip": sources(gz_files, args.shuffle_docs)}
    if args.only:
        kinds = {args.only: kinds[args.only]}
    best: dict[tuple[str, str], dict] = {}
    for _ in range(args.rounds):
        for kind, srcs in kinds.items():
            dt, nbytes = read_pass(srcs)
            rec = {
                "what": "read",
                "kind": kind,
                "mb": round(nbytes / 1e6, 2),
                "mb_per_s": round(nbytes / 1e6 / dt, 2),
            }
            if ("read", kind) not in best or rec["mb_per_s"] > best[("read", kind)]["mb_per_s"]:
                best[("read", kind)] = rec
            setup, dt, ntok = stream_run(srcs, tok, args.batches, args.seq_len)
            rec = {
                "what": "stream",
                "kind": kind,
                "batches": args.batches,
                "tokens": ntok,
                "setup_s": round(setup, 3),
                "s": round(dt, 3),
                "tokens_per_s": round(ntok / dt),
            }
            if ("stream", kind) not in best or rec["tokens_per_s"] > best[("stream", kind)]["tokens_per_s"]:
                best[("stream", kind)] = rec
    for rec in best.values():
        print(json.dumps({"best_of": args.rounds, **rec}))
    if len(kinds) == 2:  # the final ratio line every benchmark prints (gzip against plain text)
        ratio = {"ratio": "gzip / plain"}
        for what, key in (("read", "mb_per_s"), ("stream", "tokens_per_s")):
            ratio[f"{what}_{key}"] = round(best[(what, "gzip")][key] / best[(what, "plain")][key], 3)
        print(json.dumps(ratio))


if __name__ == "__main__":
    main()
