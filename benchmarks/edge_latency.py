"""Edge latency: tandem edge vs CTranslate2 called directly vs HF fp32 generate vs tandem eager, same weights.

A random edge-17m student (d256, 4+4 layers, 32k vocab) is exported once (tandem -> HF -> CTranslate2 int8);
each backend then runs in a fresh process (so its peak RSS is its own): batch 1, 1 thread, 24 source tokens,
exactly 24 generated tokens (min = max), greedy. Prints one JSON line per backend and a final ratio line.

    python benchmarks/edge_latency.py [--iters 50] [--warmup 5] [--workdir /tmp/tandem-edge-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

NEW_TOKENS = 24
SRC_TOKENS = 24


def _dir_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.iterdir() if f.is_file())


def prepare(work: Path) -> dict:
    """Random student -> tandem dir, HF dir, CT2 int8 + float32 exports, and a 24-token source text."""
    import torch

    from tandem.config import ModelConfig
    from tandem.interop import to_hf
    from tandem.interop.ct2 import export_ct2, train_tiny_tokenizer
    from tandem.model import Seq2SeqLM
    from tandem.tokenizer import Tokenizer

    work.mkdir(parents=True, exist_ok=True)
    tok_dir = train_tiny_tokenizer(work / "tok", vocab_size=400)
    tok = Tokenizer.load(tok_dir)
    torch.manual_seed(0)
    model = Seq2SeqLM(ModelConfig.preset("edge-17m")).eval()
    model.save_pretrained(work / "tandem")
    tok.save(work / "tandem")
    to_hf(model, work / "hf")
    export_ct2(work / "tandem", work / "ct2-int8", quantize="int8")
    export_ct2(work / "tandem", work / "ct2-fp32", quantize="float32")
    words = "wake me up at seven am tomorrow and play the music by queen in the kitchen please now".split()
    text = ""
    for w in words * 4:
        cand = (text + " " + w).strip()
        if len(tok.encode(cand)) + 1 > SRC_TOKENS:
            break
        text = cand
    return {
        "text": text,
        "src_tokens": len(tok.encode(text)) + 1,
        "params": model.config.num_parameters(),
        "sizes": {
            "ct2_int8": _dir_size(work / "ct2-int8"),
            "ct2_fp32": _dir_size(work / "ct2-fp32"),
            "hf_fp32": _dir_size(work / "hf"),
            "tandem_fp32": _dir_size(work / "tandem"),
        },
    }


# ------------------------------------------------------------------------------- workers (fresh processes)
def _timed(fn, iters: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it is not inherited from the forking parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def paired(work: Path, text: str, iters: int, warmup: int) -> dict:
    """tandem edge vs CTranslate2 direct in one process, alternating calls, so machine noise hits both alike."""
    import ctranslate2

    from tandem.edge import EdgeModel

    m = EdgeModel.load(work / "ct2-int8", threads=1, use_vmap=False)
    tr = ctranslate2.Translator(str(work / "ct2-int8"), device="cpu", inter_threads=1, intra_threads=1)
    src = json.loads((work / "source_pieces.json").read_text())

    def edge():
        m.generate_batch([text], max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS)

    def direct():
        tr.translate_batch([src], beam_size=1, max_decoding_length=NEW_TOKENS, min_decoding_length=NEW_TOKENS)

    for _ in range(warmup):
        edge(), direct()
    te, tc = [], []
    for i in range(iters):
        for fn, acc in ((edge, te), (direct, tc)) if i % 2 == 0 else ((direct, tc), (edge, te)):
            t = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t)
    te.sort(), tc.sort()
    return {
        "backend": "paired_edge_vs_ct2_int8",
        "edge_p50_ms": round(te[len(te) // 2] * 1e3, 3),
        "ct2_p50_ms": round(tc[len(tc) // 2] * 1e3, 3),
        "edge_over_ct2_p50": round(te[len(te) // 2] / tc[len(tc) // 2], 3),
    }


def worker(backend: str, work: Path, text: str, iters: int, warmup: int) -> dict:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if backend.startswith("tandem_edge"):
        from tandem.edge import EdgeModel

        d = work / ("ct2-int8" if "int8" in backend else "ct2-fp32")
        m = EdgeModel.load(d, threads=1, use_vmap="vmap" in backend)

        def fn():
            g = m.generate_batch([text], max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS)[0]
            assert g.output_tokens == NEW_TOKENS, g

    elif backend.startswith("ct2_"):
        import ctranslate2

        d = work / ("ct2-int8" if backend == "ct2_int8" else "ct2-fp32")
        src = json.loads((work / "source_pieces.json").read_text())
        tr = ctranslate2.Translator(str(d), device="cpu", inter_threads=1, intra_threads=1)

        def fn():
            r = tr.translate_batch(
                [src], beam_size=1, max_decoding_length=NEW_TOKENS, min_decoding_length=NEW_TOKENS
            )
            assert len(r[0].hypotheses[0]) == NEW_TOKENS

    else:
        import torch

        torch.set_num_threads(1)
        from tandem.tokenizer import Tokenizer

        tok = Tokenizer.load(work / "tandem")
        ids = torch.tensor([tok.encode(text, add_eos=True)])
        if backend == "hf_fp32":
            import transformers

            model = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(work / "hf")).eval()
            kw = dict(forced_eos_token_id=None, do_sample=False, num_beams=1)
        else:
            from tandem.model import Seq2SeqLM

            model = Seq2SeqLM.from_pretrained(work / "tandem").eval()
            kw = {}

        def fn():
            with torch.inference_mode():
                out = model.generate(ids, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, **kw)
            assert out.shape[1] == NEW_TOKENS + 1, out.shape

    times = _timed(fn, iters, warmup)
    times.sort()
    p50, p95 = times[len(times) // 2], times[min(len(times) - 1, int(0.95 * len(times)))]
    return {
        "backend": backend,
        "p50_ms": round(p50 * 1e3, 3),
        "p95_ms": round(p95 * 1e3, 3),
        "tokens_per_s": round(NEW_TOKENS / p50, 1),
        "peak_rss_mb": _peak_rss_mb(),
        "torch_imported": "torch" in sys.modules,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--workdir", default="/tmp/tandem-edge-bench")
    ap.add_argument(
        "--backends", default="ct2_int8,tandem_edge_int8,tandem_edge_int8_vmap,ct2_fp32,hf_fp32,tandem_eager"
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--text", help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = Path(args.workdir)
    if args.worker == "paired":
        print(json.dumps(paired(work, args.text, args.iters, args.warmup)))
        return
    if args.worker:
        print(json.dumps(worker(args.worker, work, args.text, args.iters, args.warmup)))
        return

    info = prepare(work)
    from tandem.edge import EdgeModel, trim_vocabulary

    m = EdgeModel.load(work / "ct2-int8")
    (work / "source_pieces.json").write_text(json.dumps(m.encode(info["text"])))
    # Vocabulary trimming for an SLU-like task: a few hundred label/output tokens + the words of the input.
    from tandem.tokenizer import Tokenizer

    tok = Tokenizer.load(work / "tandem")
    labels = [tok.id_to_token(i).replace("\u2581", " ") for i in range(7, 300)]
    trim = trim_vocabulary(work / "ct2-int8", labels)
    del m
    print(
        json.dumps(
            {
                "setup": "edge-17m random",
                "params": info["params"],
                "src_tokens": info["src_tokens"],
                "new_tokens": NEW_TOKENS,
                "threads": 1,
                "batch": 1,
                "sizes_bytes": info["sizes"],
                "vmap_fixed_tokens": trim.fixed_tokens,
                "vocab_size": trim.vocab_size,
            }
        )
    )
    rows = {}
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for b in [*args.backends.split(","), "paired"]:
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            b,
            "--workdir",
            str(work),
            "--text",
            info["text"],
            "--iters",
            str(args.iters),
            "--warmup",
            str(args.warmup),
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if res.returncode != 0:
            print(json.dumps({"backend": b, "error": res.stderr.strip().splitlines()[-1:]}))
            continue
        rows[b] = json.loads(res.stdout.strip().splitlines()[-1])
        print(json.dumps(rows[b]))
    # The untrimmed edge run must not pick up the map: it was measured with use_vmap=False explicitly.
    e, c = rows.get("tandem_edge_int8"), rows.get("ct2_int8")
    ratio = {"ratio": "edge_latency"}
    if rows.get("paired"):  # alternating in one process: the fair latency ratio on a noisy machine
        ratio["edge_over_ct2_int8_p50"] = rows["paired"]["edge_over_ct2_p50"]
    if e and c:
        ratio["edge_over_ct2_int8_p50_separate_processes"] = round(e["p50_ms"] / c["p50_ms"], 3)
        ratio["edge_over_ct2_rss"] = round(e["peak_rss_mb"] / c["peak_rss_mb"], 3)
    if e and rows.get("hf_fp32"):
        ratio["hf_fp32_over_edge_p50"] = round(rows["hf_fp32"]["p50_ms"] / e["p50_ms"], 2)
    if e and rows.get("tandem_eager"):
        ratio["tandem_eager_over_edge_p50"] = round(rows["tandem_eager"]["p50_ms"] / e["p50_ms"], 2)
    if e and rows.get("tandem_edge_int8_vmap"):
        ratio["vmap_speedup_p50"] = round(e["p50_ms"] / rows["tandem_edge_int8_vmap"]["p50_ms"], 3)
    ratio["targets"] = {
        "edge_over_ct2_int8_p50": "<=1.05",
        "hf_fp32_over_edge_p50": ">=8",
        "edge_over_ct2_rss": "<=1.25",
    }
    print(json.dumps(ratio))


if __name__ == "__main__":
    main()
