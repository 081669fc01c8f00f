"""Greedy generation on CPU: tandem's eager PyTorch path vs Hugging Face `generate`, same weights, one run.

Setting (DESIGN.md §5 anchor): random edge-17m-shaped student (mBART layout), batch 1, 1 thread, 24 source
tokens, exactly 24 new tokens (EOS suppressed so both decode the same length), fp32. The HF model is built
from the same weights (tandem -> HF directory -> transformers), and outputs are checked token-identical
before timing; the timed calls alternate between the two. Prints one JSON line per implementation and a
final ratio line.

    python benchmarks/generate_cpu.py [--preset edge-17m] [--repeats 30] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time

import torch

from _common import positive_int, require


def timed(fns: dict, repeats: int, warmup: int = 3) -> dict[str, list[float]]:
    """Milliseconds per call of each function, the calls interleaved (a, b, a, b, ...), so that a change in
    the machine's load during the run weighs on every implementation alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    out: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            out[name].append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="edge-17m")
    ap.add_argument("--repeats", type=positive_int, default=30)
    ap.add_argument("--threads", type=positive_int, default=1)
    ap.add_argument("--src-len", type=positive_int, default=24)
    ap.add_argument("--new-tokens", type=positive_int, default=24)
    args = ap.parse_args()
    require("generate_cpu.py", "transformers")
    import transformers

    from tandem import ModelConfig, Seq2SeqLM
    from tandem.interop import to_hf

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Seq2SeqLM(ModelConfig.preset(args.preset)).eval()
    with tempfile.TemporaryDirectory() as d:
        to_hf(model, d)
        hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(d).eval()
    ids = torch.randint(4, model.config.vocab_size, (1, args.src_len))
    n = args.new_tokens
    eos = model.config.eos_token_id

    def run_tandem():
        return model.generate(ids, max_new_tokens=n, min_new_tokens=n)

    def run_hf():
        with torch.no_grad():
            return hf.generate(
                input_ids=ids,
                max_new_tokens=n,
                min_new_tokens=n,
                do_sample=False,
                num_beams=1,
                eos_token_id=eos,
                forced_eos_token_id=None,
            )

    a, b = run_tandem(), run_hf()
    assert a.tolist() == b.tolist(), "tandem and HF disagree; the comparison would be meaningless"
    results = {}
    for name, ms in timed({"hf_fp32": run_hf, "tandem_eager_fp32": run_tandem}, args.repeats).items():
        results[name] = statistics.median(ms)
        print(
            json.dumps(
                {
                    "impl": name,
                    "preset": args.preset,
                    "params_m": round(model.config.num_parameters() / 1e6, 2),
                    "threads": args.threads,
                    "src_len": args.src_len,
                    "new_tokens": n,
                    "p50_ms": round(statistics.median(ms), 2),
                    "p95_ms": round(sorted(ms)[math.ceil(0.95 * len(ms)) - 1], 2),
                    "tokens_per_s": round(n / (statistics.median(ms) / 1000), 1),
                    "identical_output": True,
                }
            )
        )
    print(
        json.dumps(
            {
                "ratio": "hf_fp32 / tandem_eager_fp32 (p50 latency)",
                "speedup": round(results["hf_fp32"] / results["tandem_eager_fp32"], 2),
                "target": 1.5,
            }
        )
    )


if __name__ == "__main__":
    main()
