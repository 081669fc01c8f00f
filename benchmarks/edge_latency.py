"""Edge latency: tandem edge vs CTranslate2 called directly vs HF fp32 generate vs tandem eager, same weights.

A random edge-17m student (d256, 4+4 layers, 32k vocab) is exported once (tandem -> HF -> CTranslate2 int8);
each backend then runs in a fresh process (so its peak RSS is its own): batch 1, 1 thread, 24 source tokens,
exactly 24 generated tokens (min = max), greedy. Two more workers alternate calls in one process so that a
shared machine's noise hits both sides alike: `paired` (edge vs CTranslate2 direct vs edge with the trimmed
vocabulary) and `paired_hf` (edge and trimmed edge vs HF fp32 `generate`). Every worker runs `--rounds`
times, round-robin; the final ratio line gives medians over rounds (and each round's value).

Anchors: "CTranslate2 direct" is `Translator(..., inter_threads=1, intra_threads=1).translate_batch(beam_size=1,
max/min_decoding_length=24)` with CTranslate2's defaults (no CT2_* variables) in its fresh process; in
`paired` it shares the edge runtime's process and so its ISA choice (reported as ct2_isa). HF fp32 is
`generate` with torch.set_num_threads(1), inference_mode, KV cache, greedy, min_new_tokens = max_new_tokens.

Measured on the shared 2-core AMD EPYC (AVX-512) box, `--rounds 3 --iters 40`, medians over rounds: see the
README "Measured" table (numbers there are from this script). Why CTranslate2 int8 is slower here than on
DESIGN's anchor machine: on non-Intel CPUs CTranslate2 uses oneDNN instead of MKL for int8 GEMM, without
packed weights and with a row-offset term that rules out oneDNN's GEMV path, so every decoding step re-packs
each weight matrix (`jit_avx512_core_u8_copy_at_kern`: ~70% of decode time in `perf`, the 256x32000 output
projection ~60% of all GEMM time); CT2_USE_MKL=1 on this AMD CPU is ~20x slower (MKL's generic path).

    python benchmarks/edge_latency.py [--rounds 3] [--iters 40] [--warmup 5] [--workdir /tmp/tandem-edge-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import cpu_name, nonneg_int, positive_int, require

NEW_TOKENS = 24
BACKENDS = ("ct2_int8", "tandem_edge_int8", "tandem_edge_int8_vmap", "ct2_fp32", "hf_fp32", "tandem_eager")
SRC_TOKENS = 24
# CT2_* variables the user set before running the benchmark are passed to every worker unchanged.
_USER_CT2_ENV = {k for k in os.environ if k.startswith("CT2_")}


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


def _alternate(
    fns: dict[str, object], iters: int, warmup: int, block: dict[str, int] | None = None
) -> dict[str, list[float]]:
    """Time the callables in turns, rotating their order every iteration, so machine noise (other jobs on a
    shared box) hits all of them alike. Without `block` each turn is one timed call. With it, a turn is one
    untimed call and then `block[name]` timed ones: for models of very different size, so that the small one
    is timed warm, as it runs when it serves alone, not right after the big one evicted it from the caches."""
    names = list(fns)
    for _ in range(warmup):
        for n in names:
            fns[n]()
    out: dict[str, list[float]] = {n: [] for n in names}
    for i in range(iters):
        k = i % len(names)
        for n in names[k:] + names[:k]:
            if block:
                fns[n]()
            for _ in range(block[n] if block else 1):
                t = time.perf_counter()
                fns[n]()
                out[n].append(time.perf_counter() - t)
    return out


def _p50_ms(ts: list[float]) -> float:
    return round(sorted(ts)[len(ts) // 2] * 1e3, 3)


def paired(work: Path, text: str, iters: int, warmup: int) -> dict:
    """tandem edge vs CTranslate2 direct (and the trimmed edge) in one process, alternating calls.

    CTranslate2 reads its ISA once per process and is imported first here, so both sides run with
    CTranslate2's defaults (reported as "ct2_isa"). Two CTranslate2 instances of the same model differ by
    several percent from each other here (where their weights lie in memory), so the edge model's own
    translator is also called directly: edge / that is the runtime's overhead with nothing else different."""
    import ctranslate2

    from tandem.edge import EdgeModel

    m = EdgeModel.load(work / "ct2-int8", threads=1, use_vmap=False)
    mv = EdgeModel.load(work / "ct2-int8", threads=1, use_vmap=True)
    tr = ctranslate2.Translator(str(work / "ct2-int8"), device="cpu", inter_threads=1, intra_threads=1)
    src = json.loads((work / "source_pieces.json").read_text())

    def direct(translator):
        translator.translate_batch(
            [src], beam_size=1, max_decoding_length=NEW_TOKENS, min_decoding_length=NEW_TOKENS
        )

    t = _alternate(
        {
            "edge": lambda: m.generate_batch([text], max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS),
            "ct2": lambda: direct(tr),
            # the edge model's own translator called directly: the same weights at the same addresses, so
            # edge / this is the runtime's overhead alone, and ct2 / this the spread between two CTranslate2
            # instances of one model (weight placement in memory), the noise floor of edge / ct2
            "ct2_same_weights": lambda: direct(m.translator),
            "edge_trimmed": lambda: mv.generate_batch(
                [text], max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS
            ),
        },
        iters,
        warmup,
    )
    e, c, v = _p50_ms(t["edge"]), _p50_ms(t["ct2"]), _p50_ms(t["edge_trimmed"])
    own = _p50_ms(t["ct2_same_weights"])
    return {
        "backend": "paired_edge_vs_ct2_int8",
        "ct2_isa": os.environ.get("CT2_FORCE_CPU_ISA", "default"),
        "edge_p50_ms": e,
        "ct2_p50_ms": c,
        "ct2_same_weights_p50_ms": own,
        "edge_trimmed_p50_ms": v,
        "edge_over_ct2_p50": round(e / c, 3),
        "edge_over_own_translator_p50": round(e / own, 3),
        "ct2_instance_spread_p50": round(c / own, 3),
        "edge_trimmed_over_ct2_p50": round(v / c, 3),
    }


def paired_hf(work: Path, text: str, iters: int, warmup: int) -> dict:
    """tandem edge (full and trimmed vocabulary) vs HF transformers fp32 `generate`, alternating in one process.

    HF runs as its users run it: torch.set_num_threads(1), inference_mode, KV cache on (its default), greedy,
    exactly NEW_TOKENS new tokens (min_new_tokens = max_new_tokens, like CTranslate2's min/max length)."""
    import torch

    torch.set_num_threads(1)
    import transformers

    from tandem.edge import EdgeModel
    from tandem.tokenizer import Tokenizer

    m = EdgeModel.load(work / "ct2-int8", threads=1, use_vmap=False)
    mv = EdgeModel.load(work / "ct2-int8", threads=1, use_vmap=True)
    hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(work / "hf")).eval()
    assert hf.dtype == torch.float32 and hf.config.use_cache
    ids = torch.tensor([Tokenizer.load(work / "tandem").encode(text, add_eos=True)])

    def hf_generate():
        with torch.inference_mode():
            out = hf.generate(
                ids,
                max_new_tokens=NEW_TOKENS,
                min_new_tokens=NEW_TOKENS,
                do_sample=False,
                num_beams=1,
                forced_eos_token_id=None,
            )
        assert out.shape[1] == NEW_TOKENS + 1, out.shape

    t = _alternate(
        {
            "edge": lambda: m.generate_batch([text], max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS),
            "edge_trimmed": lambda: mv.generate_batch(
                [text], max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS
            ),
            "hf_fp32": hf_generate,
        },
        max(1, iters // 2),
        warmup,
        {"edge": 2, "edge_trimmed": 2, "hf_fp32": 1},  # HF is ~10x slower: fewer samples
    )
    e, v, h = _p50_ms(t["edge"]), _p50_ms(t["edge_trimmed"]), _p50_ms(t["hf_fp32"])
    return {
        "backend": "paired_edge_vs_hf_fp32",
        "edge_p50_ms": e,
        "edge_trimmed_p50_ms": v,
        "hf_fp32_p50_ms": h,
        "hf_fp32_over_edge_p50": round(h / e, 2),
        "hf_fp32_over_edge_trimmed_p50": round(h / v, 2),
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
        "ct2_isa": os.environ.get("CT2_FORCE_CPU_ISA", "default") if "ctranslate2" in sys.modules else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iters", type=positive_int, default=40)
    ap.add_argument("--warmup", type=nonneg_int, default=5)
    ap.add_argument(
        "--rounds", type=positive_int, default=3, help="repeat every worker this many times, round-robin"
    )
    ap.add_argument("--workdir", default="/tmp/tandem-edge-bench")
    ap.add_argument(
        "--backends", default="ct2_int8,tandem_edge_int8,tandem_edge_int8_vmap,ct2_fp32,hf_fp32,tandem_eager"
    )
    ap.add_argument("--no-paired", action="store_true", help="skip the same-process alternating runs")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--text", help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = Path(args.workdir)
    if args.worker in ("paired", "paired_hf"):
        fn = paired if args.worker == "paired" else paired_hf
        print(json.dumps(fn(work, args.text, args.iters, args.warmup)))
        return
    if args.worker:
        print(json.dumps(worker(args.worker, work, args.text, args.iters, args.warmup)))
        return

    backends = args.backends.split(",")
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        ap.error(f"--backends: unknown {', '.join(map(repr, unknown))}; choose from {','.join(BACKENDS)}")
    require("edge_latency.py", "ctranslate2", "transformers")  # the exports and the HF workers need both
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
                "rounds": args.rounds,
                "sizes_bytes": info["sizes"],
                "vmap_fixed_tokens": trim.fixed_tokens,
                "vocab_size": trim.vocab_size,
            }
        )
    )
    # Workers start from a clean environment: CTranslate2 direct runs with its own defaults unless the user
    # exported CT2_* variables themselves; the edge runtime makes its own ISA choice (tandem.edge.isa).
    env = {k: v for k, v in os.environ.items() if k not in ("CT2_FORCE_CPU_ISA",) or k in _USER_CT2_ENV}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    workers = args.backends.split(",") + ([] if args.no_paired else ["paired", "paired_hf"])
    rows: dict[str, list[dict]] = {b: [] for b in workers}
    for r in range(args.rounds):
        for b in workers:
            cmd = [sys.executable, __file__, "--worker", b, "--workdir", str(work), "--text", info["text"]]
            cmd += ["--iters", str(args.iters), "--warmup", str(args.warmup)]
            res = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if res.returncode != 0:
                print(json.dumps({"backend": b, "round": r, "error": res.stderr.strip().splitlines()[-1:]}))
                continue
            row = json.loads(res.stdout.strip().splitlines()[-1])
            rows[b].append(row)
            print(json.dumps({**row, "round": r}))

    def med(backend: str, key: str) -> float | None:
        vals = [x[key] for x in rows.get(backend, []) if key in x]
        return round(statistics.median(vals), 3) if vals else None

    def each(backend: str, key: str) -> list[float]:
        return [x[key] for x in rows.get(backend, []) if key in x]

    # Medians over rounds; the same-process alternating ratios are the fair ones on a shared, noisy machine.
    ratio: dict = {"ratio": "edge_latency", "rounds": args.rounds, "cpu": cpu_name()}
    if rows.get("paired"):
        ratio["edge_over_ct2_int8_p50"] = med("paired", "edge_over_ct2_p50")
        ratio["edge_over_ct2_int8_p50_each_round"] = each("paired", "edge_over_ct2_p50")
        ratio["edge_over_own_translator_p50"] = med("paired", "edge_over_own_translator_p50")
        ratio["edge_over_own_translator_p50_each_round"] = each("paired", "edge_over_own_translator_p50")
        ratio["ct2_instance_spread_p50_each_round"] = each("paired", "ct2_instance_spread_p50")
        ratio["edge_trimmed_over_ct2_int8_p50"] = med("paired", "edge_trimmed_over_ct2_p50")
        ratio["paired_ct2_isa"] = rows["paired"][0]["ct2_isa"]
    if rows.get("paired_hf"):
        ratio["hf_fp32_over_edge_p50"] = med("paired_hf", "hf_fp32_over_edge_p50")
        ratio["hf_fp32_over_edge_p50_each_round"] = each("paired_hf", "hf_fp32_over_edge_p50")
        ratio["hf_fp32_over_edge_trimmed_p50"] = med("paired_hf", "hf_fp32_over_edge_trimmed_p50")
    p50 = {b: med(b, "p50_ms") for b in args.backends.split(",")}
    ratio["p50_ms_median_of_rounds"] = p50
    e, c = p50.get("tandem_edge_int8"), p50.get("ct2_int8")
    if e and c:
        ratio["edge_over_ct2_int8_p50_separate_processes"] = round(e / c, 3)
        ratio["edge_over_ct2_rss"] = round(
            med("tandem_edge_int8", "peak_rss_mb") / med("ct2_int8", "peak_rss_mb"), 3
        )
    if e and p50.get("hf_fp32"):
        ratio["hf_fp32_over_edge_p50_separate_processes"] = round(p50["hf_fp32"] / e, 2)
    if e and p50.get("tandem_eager"):
        ratio["tandem_eager_over_edge_p50"] = round(p50["tandem_eager"] / e, 2)
    if e and p50.get("tandem_edge_int8_vmap"):
        ratio["vmap_speedup_p50"] = round(e / p50["tandem_edge_int8_vmap"], 3)
    ratio["targets"] = {
        "edge_over_ct2_int8_p50": "<=1.05",
        "hf_fp32_over_edge_p50": ">=8",
        "edge_over_ct2_rss": "<=1.25",
    }
    print(json.dumps(ratio))


if __name__ == "__main__":
    main()
