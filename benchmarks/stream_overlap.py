"""How long a trainer waits for PretrainStream batches while its device computes: tokeniser workers that read
ahead, alone and with the batches built in a background thread (`BackgroundBatches`, the trainer's default
on a GPU), against workers handed each chunk only when the stream runs out (tandem before; the anchor here
is that synchronous stream, the same code with `_READ_AHEAD = 0`).

The consumer stands in for a GPU step: it sleeps `--step-ms` per batch (the host waits on the device with
the GIL released, as in a CUDA synchronisation). Both variants build the same batches (checked); the stall
is the wall time per batch beyond the step. One JSON line per variant and round, then a ratio line.

    python benchmarks/stream_overlap.py [--files '../shared/data/flores200/*'] [--workers 2] [--step-ms 70]
        [--spoken 0.7] [--batches 40] [--rounds 2]
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
import time
from pathlib import Path

from _common import cached_tokenizer, nonneg_int, positive_int
from tandem.data import PretrainStream, Source
from tandem.data import stream as stream_mod
from tandem.data.prefetch import BackgroundBatches
from tandem.train.trainer import lang_from_name


def run(srcs, tok, args, read_ahead: int, thread: int = 0) -> tuple[dict, list]:
    stream_mod._READ_AHEAD = read_ahead
    s = PretrainStream(
        srcs,
        tok,
        "alexatm",
        seq_len=args.seq_len,
        batch_size=args.batch_size,
        seed=0,
        num_workers=args.workers,
        spoken_fraction=args.spoken,
        return_tensors="np",
    )
    if thread:
        s = BackgroundBatches(s, thread)
    next(s)  # the workers forked and the first chunks read: a run's start, not its steady state
    waits, sums = [], []
    t0 = time.perf_counter()
    for _ in range(args.batches):
        time.sleep(args.step_ms / 1000)  # the device step
        w0 = time.perf_counter()
        b = next(s)
        waits.append(time.perf_counter() - w0)
        sums.append(int(b["input_ids"].sum()) + int(b["labels"].sum()))
    wall = time.perf_counter() - t0
    s.close()
    rec = {
        "stream": ("read-ahead" if read_ahead else "synchronous") + (" + batch thread" if thread else ""),
        "read_ahead_chunks": read_ahead,
        "batches_built_ahead": thread,
        "workers": args.workers,
        "spoken_fraction": args.spoken,
        "shape": f"{args.batch_size}x{args.seq_len}",
        "step_ms": args.step_ms,
        "batches": args.batches,
        "ms_per_batch": round(1000 * wall / args.batches, 2),
        "stall_ms_per_batch": round(1000 * wall / args.batches - args.step_ms, 2),
        "median_next_ms": round(1000 * statistics.median(waits), 2),
        "max_next_ms": round(1000 * max(waits), 2),
    }
    return rec, sums


def main() -> None:
    root = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "flores200" / "*"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", default=str(root), help="glob of text files (a document per line)")
    ap.add_argument("--tokenizer", default="/tmp/tandem_stream_tok", help="trained here once, then reused")
    ap.add_argument("--vocab", type=positive_int, default=4000)
    ap.add_argument("--workers", type=positive_int, default=2)
    ap.add_argument(
        "--step-ms", type=float, default=70.0, help="simulated device step (base shape on an H200)"
    )
    ap.add_argument("--spoken", type=float, default=0.7, help="spoken_fraction (AlexaTM: 0.7)")
    ap.add_argument("--batch-size", type=positive_int, default=32)
    ap.add_argument("--seq-len", type=positive_int, default=512)
    ap.add_argument("--batches", type=positive_int, default=40)
    ap.add_argument("--rounds", type=positive_int, default=2)
    ap.add_argument("--read-ahead", type=nonneg_int, default=stream_mod._READ_AHEAD)
    args = ap.parse_args()
    files = [Path(f) for f in sorted(glob.glob(args.files))]
    if not files:
        raise SystemExit(f"no files match {args.files}")
    tok = cached_tokenizer(args.tokenizer, files, args.vocab)
    srcs = [Source(f, lang_from_name(f)) for f in files]
    variants = {"synchronous": (0, 0), "read-ahead": (args.read_ahead, 0), "thread": (args.read_ahead, 2)}
    best: dict[str, dict] = {}
    for _ in range(args.rounds):
        got = {}
        for name, (ra, thread) in variants.items():
            rec, got[name] = run(srcs, tok, args, ra, thread)
            print(json.dumps(rec), flush=True)
            if name not in best or rec["ms_per_batch"] < best[name]["ms_per_batch"]:
                best[name] = rec
        if len({json.dumps(v) for v in got.values()}) != 1:
            raise SystemExit("the variants built different batches")
    print(
        json.dumps(
            {
                "ratio": "synchronous (tandem before) / this variant, ms per batch (best rounds)",
                **{
                    k: round(best["synchronous"]["ms_per_batch"] / v["ms_per_batch"], 3)
                    for k, v in best.items()
                },
                "stall_ms_per_batch": {k: v["stall_ms_per_batch"] for k, v in best.items()},
                "same_batches": True,
            }
        )
    )


if __name__ == "__main__":
    main()
