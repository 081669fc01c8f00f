"""The shipped SLU student on real utterances: tandem edge vs HF fp32 `generate` vs tandem eager.

A tandem SLU model directory (e.g. `student10_kd` written by benchmarks/distill_snips.py: weights,
tokenizer, labels.json) is exported to HF (fp32) and to a tandem edge directory (CTranslate2 int8); a copy of
the edge export gets the task-trimmed output vocabulary (`trim_vocabulary`: the label tags, the tokens of
the training parses, and an identity rule per source token, so copied values stay reachable). Then, in one
process with one thread, every backend parses the first `--n` SNIPS valid utterances one at a time (batch
1, greedy until EOS, at most 64 new tokens), the backends taking turns on each utterance (the order rotates)
so that noise from other jobs hits them alike. Reported: p50/p90 latency per utterance, exact match against
the gold parse, and how often each backend's output equals tandem eager's and the untrimmed edge model's.
Unlike benchmarks/edge_latency.py (random 15.7M model, forced 24 tokens) this is the model and the inputs a
deployment would have.

    python benchmarks/edge_slu.py --model /tmp/distill_snips/student10_kd --data ../shared/data/snips --n 300
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import time
from pathlib import Path

from _common import nonneg_int, positive_int, require

MAX_NEW = 64


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="tandem SLU model dir (with tokenizer and labels.json)")
    ap.add_argument("--data", default="../shared/data/snips")
    ap.add_argument(
        "--n", type=positive_int, default=300, help="valid utterances to parse (700 in SNIPS valid)"
    )
    ap.add_argument("--warmup", type=nonneg_int, default=10)
    ap.add_argument("--workdir", default="/tmp/tandem-edge-slu")
    args = ap.parse_args()
    require("edge_slu.py", "transformers", "ctranslate2")

    import torch

    torch.set_num_threads(1)
    import transformers

    from tandem.edge import EdgeModel, trim_vocabulary
    from tandem.finetune import score_slu, slu_pairs
    from tandem.interop import to_hf
    from tandem.interop.ct2 import export_ct2
    from tandem.model import Seq2SeqLM
    from tandem.slu import SLULabels, load_snips
    from tandem.tokenizer import Tokenizer

    src = Path(args.model)
    labels = SLULabels.load(src)
    if labels is None or not (src / "tokenizer.model").is_file():
        sys.exit(f"error: --model {src}: needs a tag-format SLU model with its tokenizer and labels.json")
    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    model = Seq2SeqLM.from_pretrained(src).eval()
    tok = Tokenizer.load(src)
    to_hf(model, work / "hf")
    export_ct2(src, work / "edge", quantize="int8")
    shutil.copytree(work / "edge", work / "edge-trim")
    train_targets = [p.target for p in slu_pairs(load_snips(args.data, "train"), labels)]
    report = trim_vocabulary(work / "edge-trim", train_targets)
    valid = slu_pairs(load_snips(args.data, "valid"), labels)[: args.n]

    hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(work / "hf")).eval()
    edge = EdgeModel.load(work / "edge", threads=1)
    trimmed = EdgeModel.load(work / "edge-trim", threads=1)
    assert trimmed.use_vmap and not edge.use_vmap

    def text_of(ids) -> str:
        return tok.decode([i for i in ids if i not in (tok.eos_id, tok.pad_id, tok.bos_id)])

    def run_eager(text: str) -> str:
        ids = torch.tensor([tok.encode(text, add_eos=True)])
        with torch.inference_mode():
            out = model.generate(ids, torch.ones_like(ids), max_new_tokens=MAX_NEW)
        return text_of(out[0].tolist())

    def run_hf(text: str) -> str:
        ids = torch.tensor([tok.encode(text, add_eos=True)])
        with torch.inference_mode():
            out = hf.generate(ids, max_new_tokens=MAX_NEW, do_sample=False, num_beams=1)
        return text_of(out[0].tolist()[1:])  # drop the decoder start token

    backends = {
        "hf_fp32": run_hf,
        "tandem_eager": run_eager,
        "edge_int8": lambda t: edge.generate(t, max_new_tokens=MAX_NEW),
        "edge_int8_trimmed": lambda t: trimmed.generate(t, max_new_tokens=MAX_NEW),
    }
    names = list(backends)
    for p in valid[: args.warmup]:
        for n in names:
            backends[n](p.source)
    times: dict[str, list[float]] = {n: [] for n in names}
    outs: dict[str, list[str]] = {n: [] for n in names}
    for i, p in enumerate(valid):
        k = i % len(names)
        for n in names[k:] + names[:k]:
            t0 = time.perf_counter()
            outs[n].append(backends[n](p.source))
            times[n].append(1e3 * (time.perf_counter() - t0))

    def same(a: str, b: str) -> float:
        """Percentage of utterances where backends a and b wrote the same text."""
        return round(100 * sum(x == y for x, y in zip(outs[a], outs[b])) / len(valid), 2)

    rows = {}
    for n in names:
        ts = sorted(times[n])
        m = score_slu(valid, outs[n], labels)
        rows[n] = {
            "backend": n,
            "p50_ms": round(statistics.median(ts), 3),
            "p90_ms": round(ts[math.ceil(0.9 * len(ts)) - 1], 3),
            "exact_match": round(m["exact_match"], 2),
            "intent_acc": round(m["intent_acc"], 2),
            "slot_f1": round(m["slot_f1"], 2),
            "same_as_tandem_eager_pct": same(n, "tandem_eager"),
            "same_as_edge_int8_pct": same(n, "edge_int8"),
        }
        print(json.dumps(rows[n]), flush=True)
    hf_p50 = rows["hf_fp32"]["p50_ms"]
    ratio = {
        "ratio": "edge_slu",
        "model": str(src),
        "params": model.config.num_parameters(),
        "utterances": len(valid),
        "trimmed_fixed_tokens": report.fixed_tokens,
        "vocab_size": report.vocab_size,
        "hf_fp32_over_edge_int8_p50": round(hf_p50 / rows["edge_int8"]["p50_ms"], 2),
        "hf_fp32_over_edge_int8_trimmed_p50": round(hf_p50 / rows["edge_int8_trimmed"]["p50_ms"], 2),
        "hf_fp32_over_tandem_eager_p50": round(hf_p50 / rows["tandem_eager"]["p50_ms"], 2),
        "threads": 1,
    }
    print(json.dumps(ratio), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
