"""`tandem serve`: the HTTP service over the edge runtime (default) or the torch model."""

from __future__ import annotations

import argparse

HELP = "serve a model over HTTP (generate, score, parse, OpenAI completions and models, metrics) on 127.0.0.1"
EXAMPLES = """
  tandem serve student-int8/                                   # edge backend, http://127.0.0.1:8000
  tandem serve student-int8/ --port 9000 --token s3cret --max-batch 32 --max-wait-ms 10
  tandem serve runs/student --backend torch --threads 4
  curl -s 127.0.0.1:8000/v1/generate -H 'Content-Type: application/json' \\
       -d '{"inputs": "wake me up at seven", "max_new_tokens": 32}'
  curl -s 127.0.0.1:8000/v1/completions -H 'Content-Type: application/json' \\
       -d '{"prompt": "[CLM] hello", "max_tokens": 16, "stop": [";"]}'
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model",
        help="an edge export dir (`tandem export --format ct2`) or, with --backend torch, a model dir",
    )
    parser.add_argument("--backend", choices=["edge", "torch"], default="edge", help="runtime (edge)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (127.0.0.1; 0.0.0.0 exposes it)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (8000)")
    parser.add_argument(
        "--token", default=None, help="require `Authorization: Bearer TOKEN` (default: no auth)"
    )
    parser.add_argument("--max-batch", type=int, default=16, help="rows per backend call (16)")
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="longest wait to fill a batch (5)")
    parser.add_argument(
        "--queue-size",
        type=int,
        default=256,
        help="rows waiting before 503s; a request with more rows gets 413 (256)",
    )
    parser.add_argument(
        "--timeout-s",
        type=float,
        default=30.0,
        help="per-request timeout, then 504 (30); also the time a request body may take to arrive, then 408",
    )
    parser.add_argument(
        "--max-input-chars", type=int, default=4096, help="longest input string, else 413 (4096)"
    )
    parser.add_argument("--max-items", type=int, default=64, help="inputs/choices per request, else 413 (64)")
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        default=512,
        help="largest max_new_tokens a request may ask, else 422 (512)",
    )
    parser.add_argument("--max-beams", type=int, default=8, help="largest num_beams a request may ask (8)")
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=None,
        help="requests handled at once before 503 + Retry-After (default: queue size + 64)",
    )
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of the backend (1)")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level (info)",
    )


def run(args: argparse.Namespace) -> int:
    from tandem.serve import ServeSettings, load_backend, serve

    settings = ServeSettings(
        host=args.host,
        port=args.port,
        token=args.token,
        max_batch=args.max_batch,
        max_wait_ms=args.max_wait_ms,
        queue_size=args.queue_size,
        timeout_s=args.timeout_s,
        max_input_chars=args.max_input_chars,
        max_items=args.max_items,
        max_new_tokens=args.max_new_tokens,
        max_beams=args.max_beams,
        max_in_flight=args.max_in_flight,
    )
    backend = load_backend(args.model, args.backend, threads=args.threads)
    serve(backend, settings, log_level=args.log_level)
    return 0
