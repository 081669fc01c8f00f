"""Predictions, latency and peak memory of one parsing model, measured in a fresh process.

    python -m tandem.quickstart.measure MODEL --data parse.jsonl --predictions preds.jsonl [--limit N]

MODEL is a tandem/Hugging Face model directory (run with torch) or a `tandem export --format ct2`
directory (run with the torch-free edge runtime, so the memory figure is that of an edge process).
Writes `{"id", "prediction"}` lines (score them with `tandem evaluate --predictions`) and prints one JSON
line: parameters, size on disk, load time, batch-1 greedy latency (p50/p95 over --latency-samples
utterances, one thread) and the peak resident memory of the process.

A model with SLU tag targets (`labels.json` beside it, from `tandem finetune --slu-tags`) has its
generated tags mapped back to `intent ; slot = value` text before the predictions are written, so every
model is scored by the same metric code.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

from tandem.errors import TandemError
from tandem.jsonl import iter_jsonl

EDGE_META = "tandem_edge.json"  # same file name as tandem.edge.runtime (not imported: it may pull deps)


def _read_rows(path: Path, limit: int | None) -> list[dict]:
    rows = []
    for n, obj in iter_jsonl(path):
        text = obj.get("utt", obj.get("source"))
        if not isinstance(text, str):
            raise TandemError(f"{path} line {n}: field 'utt' or 'source' missing")
        rows.append({"id": str(obj.get("id", n - 1)), "text": text})
        if limit and len(rows) >= limit:
            break
    if not rows:
        raise TandemError(f"{path}: no examples")
    return rows


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    # VmHWM first: getrusage's ru_maxrss survives execve, so a child of a big process (the quickstart
    # runner holds torch) would report its parent's peak.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KB, macOS: bytes
    return r / (1024 * 1024) if sys.platform == "darwin" else r / 1024


def _percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))
    return xs[k]


def measure(
    model_dir: str | os.PathLike,
    data: str | os.PathLike,
    predictions: str | os.PathLike | None = None,
    limit: int | None = None,
    latency_samples: int = 20,
    max_new_tokens: int = 48,
    threads: int = 1,
    batch_size: int = 32,
) -> dict:
    """Run a parsing model over `data` (jsonl with id + utt/source); return the measurements."""
    path = Path(model_dir)
    if not path.is_dir():
        raise TandemError(f"{path}: model directory not found")
    rows = _read_rows(Path(data), limit)
    texts = [r["text"] for r in rows]
    edge = (path / EDGE_META).is_file()
    t0 = time.perf_counter()
    if edge:
        from tandem.edge import EdgeModel

        m = EdgeModel.load(path, threads=threads)
        load_s = time.perf_counter() - t0
        params = json.loads((path / EDGE_META).read_text(encoding="utf-8")).get("num_parameters")

        def run_batch(batch: list[str]) -> list[str]:
            return [g.text for g in m.generate_batch(batch, max_new_tokens=max_new_tokens)]

        def run_one(text: str) -> str:
            return m.generate_batch([text], max_new_tokens=max_new_tokens)[0].text

        runtime = f"tandem.edge (CTranslate2 {m.meta.get('quantization', '?')})"
        labels = m.labels
    else:
        import torch

        from tandem.finetune import Pair, encode_pairs, generate_texts
        from tandem.model import Seq2SeqLM
        from tandem.slu import SLULabels
        from tandem.tokenizer import Tokenizer

        torch.set_num_threads(threads)
        model = Seq2SeqLM.from_pretrained(path).eval()
        tok = Tokenizer.load(path)
        labels = SLULabels.load(path)
        load_s = time.perf_counter() - t0
        params = sum(p.numel() for p in model.parameters())

        def run_batch(batch: list[str]) -> list[str]:
            enc = encode_pairs(tok, [Pair(t, "") for t in batch])
            return generate_texts(model, tok, enc, batch_size=len(batch), max_new_tokens=max_new_tokens)

        run_one = lambda text: run_batch([text])[0]  # noqa: E731
        runtime = "torch fp32"
    preds: list[str] = []
    t_all = time.perf_counter()
    for s in range(0, len(texts), batch_size):
        preds += run_batch(texts[s : s + batch_size])
    batch_s = time.perf_counter() - t_all
    sample = texts[: max(1, latency_samples)]
    for t in sample[:2]:  # warm-up (allocator, lazy init) is not what a user waits for per request
        run_one(t)
    lat = []
    for t in sample:
        t1 = time.perf_counter()
        run_one(t)
        lat.append(1000 * (time.perf_counter() - t1))
    if predictions is not None:
        out = Path(predictions)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as f:
            for r, p in zip(rows, preds):
                text = labels.to_linearized(p) if labels is not None else p
                f.write(json.dumps({"id": r["id"], "prediction": text}, ensure_ascii=False) + "\n")
    return {
        "model": str(path),
        "runtime": runtime,
        "slu_tags": labels is not None,
        "parameters": params,
        "disk_mb": _dir_bytes(path) / 1e6,
        "load_s": load_s,
        "examples": len(rows),
        "examples_per_s": len(rows) / max(batch_s, 1e-9),
        "latency_ms_p50": statistics.median(lat),
        "latency_ms_p95": _percentile(lat, 0.95),
        "latency_samples": len(lat),
        "threads": threads,
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tandem.quickstart.measure", description=__doc__.split("\n")[0]
    )
    ap.add_argument("model", help="model directory or edge export directory")
    ap.add_argument("--data", required=True, help="jsonl with id and utt (MASSIVE) or source fields")
    ap.add_argument("--predictions", help="write {id, prediction} lines here")
    ap.add_argument("--limit", type=int, default=None, help="first N examples only")
    ap.add_argument("--latency-samples", type=int, default=20)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--summary", help="also write the JSON summary to this file")
    args = ap.parse_args(argv)
    try:
        res = measure(
            args.model,
            args.data,
            args.predictions,
            args.limit,
            args.latency_samples,
            args.max_new_tokens,
            args.threads,
        )
    except TandemError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    line = json.dumps(res)
    if args.summary:
        Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
        Path(args.summary).write_text(line + "\n", encoding="utf-8")
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
