"""Rank-scoring throughput on COPA and RTE: tandem vs lm-eval's `hf` model (backend=seq2seq), same model.

Both score the same (prompt, verbalised choice) pairs of every example with one random T5 (HF directory,
SentencePiece tokenizer trained here on FLORES lines), same batch size, same torch thread count: lm-eval
through its normal `HFLM.loglikelihood` (it encodes the prompt once per choice, full-vocabulary log-softmax
at every decoder position), tandem through `tandem.prompting.scoring.rank_choices` on the same checkpoint
loaded with `Seq2SeqLM.from_pretrained` (one encoder pass per example, cross-attention K/V projected once per
source token, the choices of an example decoded together as one prefix tree so shared prefixes and the start
position are computed once, batches planned by length, LM head only on tree nodes, and the linear layers
run through oneDNN with weights prepacked once: `tandem.prompting.lm.PackedLinears`; `--no-prepack` turns
that off to show its share).

The CPU may be shared with other jobs, so the two sides alternate for `--rounds` rounds inside one process
and the median of the per-round ratios is reported, by wall-clock and by process CPU time (the latter is
what contention distorts least). Prints one JSON line per task and implementation, then one ratio line per
task and a final summary line.

    python benchmarks/score_throughput.py [--data-dir ../shared/data] [--limit 100] [--batch-size 16] [--rounds 5]
                                          [--no-prepack]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

from _common import positive_int, require


def build_model(tmp: Path, data_dir: Path, d_model: int, layers: int, vocab: int) -> Path:
    import sentencepiece as spm
    import torch
    import transformers

    lines = []
    for f in sorted((data_dir / "flores200").glob("*.devtest"))[:6]:
        lines += f.read_text(encoding="utf-8").splitlines()
    (tmp / "corpus.txt").write_text("\n".join(lines), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(tmp / "corpus.txt"), model_prefix=str(tmp / "sp"), vocab_size=vocab, model_type="unigram",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, character_coverage=0.9995, minloglevel=2, hard_vocab_limit=False,
    )  # fmt: skip
    (tmp / "tok").mkdir()
    shutil.copy(tmp / "sp.model", tmp / "tok" / "spiece.model")
    tok = transformers.T5Tokenizer.from_pretrained(str(tmp / "tok"), extra_ids=0)
    torch.manual_seed(0)
    cfg = transformers.T5Config(
        vocab_size=len(tok), d_model=d_model, d_kv=d_model // 8, d_ff=4 * d_model, num_layers=layers,
        num_decoder_layers=layers, num_heads=8, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
        tie_word_embeddings=False, initializer_factor=0.1,
    )  # fmt: skip
    out = tmp / "t5"
    transformers.T5ForConditionalGeneration(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    shutil.copy(tmp / "sp.model", out / "spiece.model")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--limit", type=positive_int, default=100, help="examples per task")
    ap.add_argument("--batch-size", type=positive_int, default=16)
    ap.add_argument("--d-model", type=positive_int, default=256)
    ap.add_argument("--layers", type=positive_int, default=4)
    ap.add_argument("--vocab", type=positive_int, default=8000)
    ap.add_argument("--threads", type=positive_int, default=1)
    ap.add_argument("--tasks", default="copa,rte")
    ap.add_argument(
        "--rounds", type=positive_int, default=5, help="alternating timed rounds (median is reported)"
    )
    ap.add_argument("--no-prepack", action="store_true", help="tandem with PyTorch's default linear kernels")
    args = ap.parse_args()
    if args.d_model % 8:
        ap.error(f"--d-model must be a multiple of 8 (8 heads), got {args.d_model}")
    require("score_throughput.py", "lm_eval", "transformers", "sentencepiece")

    import statistics

    import torch

    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from tandem.evaluation.tasks import get_task
    from tandem.model import Seq2SeqLM
    from tandem.prompting.lm import EncoderDecoder
    from tandem.prompting.scoring import rank_choices
    from tandem.tokenizer import Tokenizer

    def timed(fn):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        return out, time.perf_counter() - w, time.process_time() - c

    data_dir = Path(args.data_dir)
    if not (data_dir / "superglue").is_dir():
        print(f"error: {data_dir}/superglue not found; pass --data-dir", file=sys.stderr)
        return 2
    summary = {}
    with tempfile.TemporaryDirectory() as td:
        d = build_model(Path(td), data_dir, args.d_model, args.layers, args.vocab)
        hf = HFLM(
            pretrained=str(d), backend="seq2seq", batch_size=args.batch_size, device="cpu", dtype="float32"
        )
        lm = EncoderDecoder(
            Seq2SeqLM.from_pretrained(str(d)),
            Tokenizer.load(str(d)),
            prepack=False if args.no_prepack else None,
        )
        params = sum(p.numel() for p in lm.model.parameters())
        for name in args.tasks.split(","):
            task, _ = get_task(name)
            docs = task.load(data_dir, None)[: args.limit]
            prompts = [task.prompt(x) for x in docs]
            choices = [task.choices(x) for x in docs]
            reqs = [
                Instance("loglikelihood", {}, (p, c), i)
                for i, (p, cs) in enumerate(zip(prompts, choices))
                for c in cs
            ]
            n_tok = sum(len(lm.source_ids(p)) for p in prompts)

            # warm up both, then alternate rounds (which side goes first alternates too)
            hf.loglikelihood(reqs[:8], disable_tqdm=True)
            rank_choices(lm, prompts[:4], choices[:4], batch_size=args.batch_size)
            runs = {
                "lm-eval hf seq2seq": lambda reqs=reqs: hf.loglikelihood(reqs, disable_tqdm=True),
                "tandem": lambda p=prompts, c=choices: rank_choices(lm, p, c, batch_size=args.batch_size),
            }
            wall = {k: [] for k in runs}
            cpu = {k: [] for k in runs}
            for r in range(args.rounds):
                for k in list(runs)[:: 1 if r % 2 == 0 else -1]:
                    out, w, c = timed(runs[k])
                    wall[k].append(w)
                    cpu[k].append(c)
                    if k == "tandem":
                        res = out
                    else:
                        ref = out

            ours = [s.logprob for r in res for s in r.raw]
            max_diff = max(abs(a - b[0]) for a, b in zip(ours, ref))
            greedy_agree = all(s.is_greedy == b[1] for s, b in zip((s for r in res for s in r.raw), ref))
            common = {"task": name, "examples": len(docs), "choices": len(reqs), "prompt_tokens": n_tok,
                      "params": params, "threads": args.threads, "batch_size": args.batch_size, "rounds": args.rounds,
                      "tandem_prepacked_linears": lm.packed.enabled}  # fmt: skip
            for k in runs:
                w, c = statistics.median(wall[k]), statistics.median(cpu[k])
                extra = (
                    {"max_abs_logprob_diff": max_diff, "is_greedy_agrees": greedy_agree}
                    if k == "tandem"
                    else {}
                )
                print(json.dumps({"impl": k, **common, "median_wall_s": round(w, 3), "median_cpu_s": round(c, 3),
                                  "examples_per_s": round(len(docs) / w, 2), "examples_per_cpu_s": round(len(docs) / c, 2), **extra}))  # fmt: skip
            a, b = runs
            ratio_w = statistics.median(x / y for x, y in zip(wall[a], wall[b]))
            ratio_c = statistics.median(x / y for x, y in zip(cpu[a], cpu[b]))
            summary[name] = {"wall": round(ratio_w, 2), "cpu": round(ratio_c, 2)}
            print(json.dumps({"task": name, "ratio_tandem_over_lm_eval_wall": round(ratio_w, 2),
                              "ratio_tandem_over_lm_eval_cpu": round(ratio_c, 2),
                              "per_round_wall": [round(x / y, 2) for x, y in zip(wall[a], wall[b])],
                              "max_abs_logprob_diff": max_diff}))  # fmt: skip
    print(json.dumps({"summary": "median ratio tandem/lm-eval (examples/s)", **summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
