"""Serve load: `tandem serve` (edge backend, micro-batching) under bounded loopback load vs direct calls.

Starts `tandem serve` on 127.0.0.1 (random port) over an int8 edge export of a random edge-17m student,
then, for each concurrency level, keeps that many requests in flight until `--requests` are done:
throughput, p50/p99 latency, mean output tokens and the count of 5xx (must be 0: concurrency stays below the
queue limit). Every reply is exactly `--max-new-tokens` tokens (min = max, as in edge_latency.py: the random
student would otherwise stop after one token). The anchor is the same generations called directly on
`EdgeModel`, one at a time, in this process, loaded as the server loads it (its trimmed vocabulary when the
export has a vmap.txt); both sides are warmed up with the same few requests first.

    python benchmarks/serve_load.py [--levels 1,4,16,64] [--requests 200] [--max-batch 16] [--model DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from _common import require

WARMUP = 6  # untimed requests on each side before timing
TEXTS = [
    "wake me up at seven am tomorrow",
    "play the music by queen in the kitchen",
    "what is the weather like in paris today",
    "add milk and eggs to my shopping list",
    "turn off the lights in the living room",
    "set an alarm for six thirty",
]


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _level(url: str, concurrency: int, n: int, max_new_tokens: int) -> dict:
    import httpx

    lat, codes, out_tokens = [], {}, []
    todo = iter(range(n))

    async def client_loop(client):
        for i in todo:
            body = {
                "inputs": TEXTS[i % len(TEXTS)],
                "max_new_tokens": max_new_tokens,
                "min_new_tokens": max_new_tokens,
            }
            t = time.perf_counter()
            r = await client.post(url, json=body)
            lat.append(time.perf_counter() - t)
            codes[r.status_code] = codes.get(r.status_code, 0) + 1
            if r.status_code == 200:
                out_tokens.append(r.json()["outputs"][0]["output_tokens"])

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return {
        "concurrency": concurrency,
        "requests": n,
        "throughput_rps": round(n / wall, 2),
        "p50_ms": round(_pct(lat, 0.5) * 1e3, 2),
        "p99_ms": round(_pct(lat, 0.99) * 1e3, 2),
        "mean_output_tokens": round(sum(out_tokens) / max(1, len(out_tokens)), 2),
        "codes": {str(k): v for k, v in sorted(codes.items())},
        "errors_5xx": sum(v for k, v in codes.items() if k >= 500),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="an edge export dir (default: build the edge-17m int8 export)")
    ap.add_argument("--workdir", default="/tmp/tandem-edge-bench")
    ap.add_argument("--levels", default="1,4,16,64")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--max-batch", type=int, default=16)
    ap.add_argument("--max-wait-ms", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    try:
        levels = [int(x) for x in args.levels.split(",")]
    except ValueError:
        ap.error(f"--levels: expected comma-separated integers, got {args.levels!r}")
    for name in ("requests", "max_new_tokens", "max_batch", "threads"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    if not levels or min(levels) < 1:
        ap.error(f"--levels: every concurrency level must be at least 1, got {args.levels!r}")
    require("serve_load.py", "httpx", "fastapi", "uvicorn", "ctranslate2")
    queue_size = 2 * max(levels)  # every level stays below the queue limit: a 5xx is a bug

    model = Path(args.model) if args.model else Path(args.workdir) / "ct2-int8"
    if not (model / "tandem_edge.json").is_file():
        if args.model:
            sys.exit(f"error: --model {model}: no tandem_edge.json there; give a `tandem export` directory")
        sys.path.insert(0, str(Path(__file__).parent))
        from edge_latency import prepare

        prepare(Path(args.workdir))
    from tandem.edge import EdgeModel

    # Anchor: the same generations, direct calls one at a time, no HTTP, loaded as `tandem serve` loads the
    # export (use_vmap=None: the trimmed vocabulary when the export has one).
    m = EdgeModel.load(model, threads=args.threads)
    kw = dict(max_new_tokens=args.max_new_tokens, min_new_tokens=args.max_new_tokens)
    for i in range(WARMUP):
        m.generate(TEXTS[i % len(TEXTS)], **kw)
    n_direct = min(args.requests, 100)
    t0 = time.perf_counter()
    for i in range(n_direct):
        m.generate(TEXTS[i % len(TEXTS)], **kw)
    direct_rps = n_direct / (time.perf_counter() - t0)
    anchor = {"anchor": "EdgeModel direct, sequential", "throughput_rps": round(direct_rps, 2)}
    print(json.dumps({**anchor, "requests": n_direct, "use_vmap": m.use_vmap, **kw}))
    del m

    port = _free_port()
    cmd = [
        sys.executable, "-m", "tandem", "serve", str(model), "--port", str(port), "--threads", str(args.threads),
        "--max-batch", str(args.max_batch), "--max-wait-ms", str(args.max_wait_ms),
        "--queue-size", str(queue_size), "--log-level", "warning",
    ]  # fmt: skip
    srv = subprocess.Popen(cmd, env=dict(os.environ, OMP_NUM_THREADS=str(args.threads)))
    try:
        import httpx

        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if srv.poll() is not None:
                    sys.exit(f"error: `tandem serve` exited with code {srv.returncode} (its stderr is above)")
                time.sleep(0.1)
        else:
            sys.exit("error: `tandem serve` did not answer /healthz within 30 s")
        asyncio.run(_level(base + "/v1/generate", 1, WARMUP, args.max_new_tokens))  # the anchor's warm-up
        rows = []
        for c in levels:
            row = asyncio.run(_level(base + "/v1/generate", c, args.requests, args.max_new_tokens))
            row["queue_size"] = queue_size
            rows.append(row)
            print(json.dumps(row))
        metrics = httpx.get(base + "/metrics").text
        batches = [ln for ln in metrics.splitlines() if ln.startswith("tandem_batch_size_")]
        summary = {ln.split()[0]: float(ln.split()[1]) for ln in batches if "_sum" in ln or "_count" in ln}
        mean_batch = summary.get("tandem_batch_size_sum", 0) / max(
            1, summary.get("tandem_batch_size_count", 1)
        )
        best = max(rows, key=lambda r: r["throughput_rps"])
        print(
            json.dumps(
                {
                    "ratio": "serve_load",
                    "best_server_rps_over_direct": round(best["throughput_rps"] / direct_rps, 2),
                    "at_concurrency": best["concurrency"],
                    "c1_server_rps_over_direct": round(rows[0]["throughput_rps"] / direct_rps, 3),
                    "mean_batch_size": round(mean_batch, 2),
                    "total_5xx": sum(r["errors_5xx"] for r in rows),
                }
            )
        )
    finally:
        srv.terminate()  # SIGTERM: graceful shutdown
        srv.wait(30)


if __name__ == "__main__":
    main()
