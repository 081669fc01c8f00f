"""How long a trainer waits for PretrainStream batches while its device computes: tokeniser workers that read
ahead, alone and with the batches built in a background thread (`BackgroundBatches`, the trainer's default
on a GPU), against workers handed each chunk only when the stream runs out (tandem before; the anchor here
is that synchronous stream, the same code with `_READ_AHEAD = 0`).

The consumer stands in for a GPU trainer's host: per batch it makes `--launches` kernel launches of
`--launch-us` of Python each (holding the GIL), separated by waits on the device (the GIL released), for
`--step-ms` in all; measured alone first. The batch thread runs once with Python's default thread switch
interval (5 ms: a host waking from a wait can wait that long for the GIL while the thread builds rows) and
once with the 0.2 ms `BackgroundBatches` sets. All variants build the same batches (checked); the stall is
the wall time per batch beyond the consumer's own. One JSON line per variant and round, then a ratio line.

    python benchmarks/stream_overlap.py [--files '../shared/data/flores200/*'] [--workers 2] [--step-ms 70]
        [--launches 48] [--launch-us 60] [--spoken 0.7] [--batches 40] [--rounds 2]
    python benchmarks/stream_overlap.py --gil-only [--rows-ms 10]   # the switch interval alone

On a machine with few cores the tokeniser workers compete with the consumer for them, which hides what
the switch interval does; `--gil-only` measures that alone, with batches that take `--rows-ms` of Python.
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
import sys
import time
from pathlib import Path

from _common import cached_tokenizer, nonneg_int, positive_int
from tandem.data import PretrainStream, Source
from tandem.data import stream as stream_mod
from tandem.data.prefetch import BackgroundBatches
from tandem.train.trainer import lang_from_name


def busy(us: float) -> None:
    t = time.perf_counter()
    while (time.perf_counter() - t) * 1e6 < us:
        pass


def device_step(args) -> None:
    """A host's step: launches (Python, GIL held) between waits on the device (GIL released)."""
    wait = max(0.0, args.step_ms / 1000 / args.launches - args.launch_us / 1e6)
    for _ in range(args.launches):
        busy(args.launch_us)
        time.sleep(wait)


def consumer_alone(args) -> float:
    t0 = time.perf_counter()
    for _ in range(args.batches):
        device_step(args)
    return 1000 * (time.perf_counter() - t0) / args.batches


def run(
    srcs, tok, args, read_ahead: int, thread: int = 0, interval: float | None = None
) -> tuple[dict, list]:
    stream_mod._READ_AHEAD = read_ahead
    alone = consumer_alone(args)  # before the stream's threads and workers exist
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
        s = BackgroundBatches(s, thread, switch_interval=interval)
    next(s)  # the workers forked and the first chunks read: a run's start, not its steady state
    waits, sums = [], []
    t0 = time.perf_counter()
    for _ in range(args.batches):
        device_step(args)
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
        "switch_interval_ms": 1000 * (interval or sys.getswitchinterval()) if thread else None,
        "workers": args.workers,
        "spoken_fraction": args.spoken,
        "shape": f"{args.batch_size}x{args.seq_len}",
        "step_ms": args.step_ms,
        "batches": args.batches,
        "consumer_alone_ms": round(alone, 2),
        "ms_per_batch": round(1000 * wall / args.batches, 2),
        "stall_ms_per_batch": round(1000 * wall / args.batches - alone, 2),
        "median_next_ms": round(1000 * statistics.median(waits), 2),
        "max_next_ms": round(1000 * max(waits), 2),
    }
    return rec, sums


class PythonRows:
    """A stream whose batches take `ms` of pure Python each (building rows holds the GIL), nothing else: it
    isolates what the switch interval does from the cores the tokeniser workers take."""

    def __init__(self, ms: float):
        self.ms, self.n = ms, 0

    def __iter__(self):
        return self

    def __next__(self) -> int:
        for _ in range(int(self.ms * 10)):
            busy(100)
        self.n += 1
        return self.n


def gil_only(args) -> None:
    """The consumer with batches of `--rows-ms` of Python: built in its thread, then in a background thread
    at the default and at BackgroundBatches' switch interval."""
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        alone = consumer_alone(args)
        for name, thread, interval in (
            ("in the training thread", False, None),
            ("batch thread, 5 ms switches", True, None),
            ("batch thread, 0.2 ms switches", True, 2e-4),
        ):
            s = PythonRows(args.rows_ms)
            if thread:
                s = BackgroundBatches(s, 2, switch_interval=interval)
            next(s)
            t0 = time.perf_counter()
            for _ in range(args.batches):
                device_step(args)
                next(s)
            ms = 1000 * (time.perf_counter() - t0) / args.batches
            if thread:
                s.stop()
            rec = {"gil_only": name, "rows_ms": args.rows_ms, "consumer_alone_ms": round(alone, 2)}
            rec |= {"ms_per_batch": round(ms, 2), "stall_ms_per_batch": round(ms - alone, 2)}
            print(json.dumps(rec), flush=True)
            best[name] = min(best.get(name, ms - alone), ms - alone)
    print(
        json.dumps(
            {"ratio": "stall per batch (ms, best rounds)", **{k: round(v, 2) for k, v in best.items()}}
        )
    )


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
    ap.add_argument("--launches", type=positive_int, default=48, help="kernel launches per simulated step")
    ap.add_argument("--launch-us", type=float, default=60.0, help="Python per launch (GIL held)")
    ap.add_argument("--spoken", type=float, default=0.7, help="spoken_fraction (AlexaTM: 0.7)")
    ap.add_argument("--batch-size", type=positive_int, default=32)
    ap.add_argument("--seq-len", type=positive_int, default=512)
    ap.add_argument("--batches", type=positive_int, default=40)
    ap.add_argument("--rounds", type=positive_int, default=2)
    ap.add_argument("--read-ahead", type=nonneg_int, default=stream_mod._READ_AHEAD)
    ap.add_argument(
        "--gil-only",
        action="store_true",
        help="instead: batches of --rows-ms of pure Python, no stream (the switch interval's effect alone)",
    )
    ap.add_argument("--rows-ms", type=float, default=10.0, help="with --gil-only: Python per batch")
    args = ap.parse_args()
    if args.gil_only:
        gil_only(args)
        return
    files = [Path(f) for f in sorted(glob.glob(args.files))]
    if not files:
        raise SystemExit(f"no files match {args.files}")
    tok = cached_tokenizer(args.tokenizer, files, args.vocab)
    srcs = [Source(f, lang_from_name(f)) for f in files]
    variants = {
        "synchronous": (0, 0, None),
        "read-ahead": (args.read_ahead, 0, None),
        "thread, 5 ms switches": (args.read_ahead, 2, None),
        "thread": (args.read_ahead, 2, 2e-4),
    }
    best: dict[str, dict] = {}
    for _ in range(args.rounds):
        got = {}
        for name, (ra, thread, interval) in variants.items():
            rec, got[name] = run(srcs, tok, args, ra, thread, interval)
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
