"""`tandem pretrain`: pretrain an encoder-decoder on the AlexaTM denoising + CLM mixture."""

from __future__ import annotations

import argparse
import dataclasses

from tandem.errors import TandemError

HELP = (
    "pretrain an encoder-decoder on the AlexaTM mixture (denoising 80% + causal LM 20%), CPU to FSDP2 cluster"
)
EXAMPLES = """
  tandem pretrain --preset tiny --data '../shared/data/flores200/*.devtest' --steps 300 --batch-size 16 \\
      --seq-len 128 --lr 1e-3 --warmup 30 --out runs/tiny            # trains a tokenizer into runs/tiny/tokenizer
  tandem pretrain --data 'train/*.txt' --val-data 'heldout/*.txt' --val-every 50 --out runs/v  # + val_loss
  tandem pretrain --data 'corpus/*.txt' --val-holdout 0.005 --val-every 50 --out runs/h  # 0.5% of it held out
  tandem pretrain --config runs/tiny/train_config.json --resume      # continue exactly where it stopped
  tandem pretrain --preset base --data en:wiki/en.txt de:wiki/de.txt --tokenizer tok/ --out runs/base \\
      --encoder-init runs/enc10b/model --freeze-encoder-steps 100000  # AlexaTM's warm-started encoder
  torchrun --nproc_per_node 8 -m tandem pretrain --preset 2b --data 'corpus/*.txt' --tokenizer tok/ \\
      --batch-size 8 --seq-len 1024 --activation-checkpointing --out runs/2b   # FSDP2 over 8 GPUs
  tandem pretrain --config mix.json --out runs/mix   # mix.json: {"data": [{"path": "wiki/en.txt", "lang": "en",
      "upsample": 10}, {"path": "mc4_de/", "lang": "de", "format": "hf", "field": "text"}], "preset": "tiny"}
multi-node: run the same torchrun command on every node with
  --nnodes N --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint HOST0:29500
outputs in --out: train_config.json, metrics.jsonl, loss.png, tensorboard/, checkpoints/, model/ (final)
Ctrl-C or SIGTERM (preemption; under torchrun too): the step is finished and saved, exit 130 / 143;
  continue with --resume
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from tandem.config import parse_overrides
    from tandem.train.trainer import TrainConfig

    d = TrainConfig()
    g = p.add_argument_group("model")
    g.add_argument("--preset", default=d.preset, help=f"model preset (default {d.preset})")
    g.add_argument("--dropout", type=float, default=None, help="override the preset's dropout")
    g.add_argument(
        "--model-overrides",
        type=parse_overrides,
        default={},
        metavar="JSON",
        help="ModelConfig fields to override, e.g. '{\"d_model\": 256}'",
    )
    g.add_argument(
        "--init-from",
        default=None,
        help="start from these weights (tandem or HF directory), read with the tokenizer saved there unless "
        "--tokenizer is given",
    )
    g.add_argument(
        "--add-symbols",
        action="store_true",
        help="add [CLM], [DOC] (t5/ul2: the sentinels) to a Hugging Face tokenizer that lacks them, and rows "
        "for them to the model (mean-initialised), so the AlexaTM objective runs on BART/mBART",
    )
    g.add_argument("--encoder-init", default=None, help="warm-start only the encoder from this checkpoint")
    g.add_argument("--freeze-encoder-steps", type=int, default=0, help="keep the encoder frozen N steps")
    g = p.add_argument_group("data")
    g.add_argument(
        "--data",
        nargs="+",
        default=[],
        metavar="FILE",
        help="files, folders or globs, one language each (LANG:PATH, or from the name: eng_Latn.devtest is en): "
        ".txt (a document per line), .jsonl ('text' field), .parquet ('text' column), a Hugging Face "
        "dataset saved with save_to_disk (the 'train' split of a DatasetDict); for a per-source upsample, "
        "field or split, or a dataset on the Hub, list sources in --config (see the examples)",
    )
    g.add_argument("--langs", nargs="+", default=None, help="one language code per data file")
    g.add_argument(
        "--tokenizer",
        default=None,
        help="tokenizer dir or .model; a missing dir is trained on --data and saved there",
    )
    g.add_argument("--vocab-size", type=int, default=None, help="vocabulary of a tokenizer trained here")
    g.add_argument(
        "--objective",
        default=d.objective,
        choices=["alexatm", "denoise", "clm", "t5", "ul2"],
        help="pretraining objective (default %(default)s: denoising + causal LM)",
    )
    g.add_argument(
        "--denoise-prob",
        type=float,
        default=None,
        help="alexatm: share of denoising examples, the rest causal LM (default 0.8)",
    )
    g.add_argument(
        "--drop-rate",
        type=float,
        default=None,
        help="alexatm, denoise: share of tokens dropped in spans; t5: noise density (default 0.15)",
    )
    g.add_argument(
        "--mean-span",
        type=float,
        default=None,
        help="alexatm, denoise, t5: mean dropped-span length in tokens (default 3)",
    )
    g.add_argument("--alpha", type=float, default=d.alpha, help="language sampling exponent (default 0.5)")
    g.add_argument(
        "--spoken-fraction",
        type=float,
        default=d.spoken_fraction,
        help="share of documents converted to spoken form (AlexaTM 0.7)",
    )
    g.add_argument(
        "--decontaminate",
        nargs="+",
        default=[],
        metavar="FILE",
        help="evaluation files (text lines; every string of .jsonl rows, nested ones included, or of a .json "
        "file such as SQuAD's): drop pretraining documents sharing a 13-gram with them; counted in "
        "data_stats.json",
    )
    g.add_argument(
        "--val-data",
        nargs="+",
        default=[],
        metavar="FILE",
        help="held-out files (as --data: LANG:PATH, globs, formats): a fixed set of --val-examples examples is "
        "drawn from them once, with the run's tokenizer and objective, and its loss logged as val_loss, "
        "val_denoise_loss, val_clm_loss",
    )
    g.add_argument(
        "--val-every", type=int, default=None, help="validation every N steps (default: --ckpt-every)"
    )
    g.add_argument(
        "--val-examples", type=int, default=None, help="examples in the validation set (default 256)"
    )
    g.add_argument(
        "--val-holdout",
        type=float,
        default=None,
        metavar="F",
        help="hold out this share of the --data documents (e.g. 0.005; chosen by a hash of their text and "
        "--seed, the same under any ranks, workers or resume): never trained on, the validation set is drawn "
        "from them (instead of --val-data)",
    )
    g.add_argument("--seq-len", type=int, default=d.seq_len, help=f"encoder length (default {d.seq_len})")
    g.add_argument("--target-len", type=int, default=None, help="decoder length (default: --seq-len)")
    g.add_argument(
        "--batch-size",
        type=int,
        default=d.batch_size,
        help="rows per process per micro-batch (default %(default)s)",
    )
    g.add_argument(
        "--grad-accum", type=int, default=d.grad_accum, help="micro-batches per step (default %(default)s)"
    )
    g.add_argument("--num-workers", type=int, default=0, help="tokeniser worker processes")
    g.add_argument(
        "--prefetch-batches",
        type=int,
        default=None,
        help="batches built ahead in a background thread (default: 2 on a GPU, 0 on CPU)",
    )
    g = p.add_argument_group("optimisation")
    g.add_argument("--steps", type=int, default=d.steps, help=f"optimizer steps (default {d.steps})")
    g.add_argument("--lr", type=float, default=d.lr, help=f"peak learning rate (default {d.lr})")
    g.add_argument("--min-lr", type=float, default=d.min_lr, help=f"final learning rate (default {d.min_lr})")
    g.add_argument("--warmup", type=int, default=d.warmup, help=f"warmup steps (default {d.warmup})")
    g.add_argument(
        "--schedule",
        default=d.schedule,
        choices=["linear", "cosine", "constant"],
        help="after warmup: linear or cosine decay to --min-lr, or constant (default %(default)s)",
    )
    g.add_argument(
        "--weight-decay", type=float, default=d.weight_decay, help="AdamW weight decay (default %(default)s)"
    )
    g.add_argument(
        "--betas",
        type=float,
        nargs=2,
        default=list(d.betas),
        help=f"AdamW betas (default {d.betas[0]} {d.betas[1]})",
    )
    g.add_argument("--eps", type=float, default=d.eps, help="AdamW epsilon (default %(default)s)")
    g.add_argument(
        "--clip", type=float, default=d.clip, help="gradient-norm clip (0: off; default %(default)s)"
    )
    g = p.add_argument_group("system")
    g.add_argument(
        "--device",
        default=d.device,
        choices=["auto", "cpu", "cuda"],
        help="where to train (default auto: cuda when available, else cpu)",
    )
    g.add_argument(
        "--precision",
        default=d.precision,
        choices=["auto", "bf16", "fp32"],
        help="training precision (default auto: bf16 autocast on a GPU, fp32 on CPU)",
    )
    g.add_argument(
        "--residual-dtype",
        default=d.residual_dtype,
        choices=["auto", "fp32", "bf16"],
        help="the residual stream between layers under bf16 autocast (auto: bf16 whenever the run trains "
        "under bf16 autocast, as on a GPU; fp32 keeps it in fp32 as Hugging Face models do)",
    )
    g.add_argument("--compile", action="store_true", help="torch.compile each transformer block")
    g.add_argument(
        "--compile-mode",
        default=d.compile_mode,
        choices=["auto", "default", "reduce-overhead", "max-autotune-no-cudagraphs"],
        help="torch.compile mode with --compile (auto: CUDA graphs on one GPU without --grad-accum, "
        "Inductor's default elsewhere)",
    )
    g.add_argument("--activation-checkpointing", action="store_true", help="recompute block activations")
    g.add_argument(
        "--no-fused-loss",
        dest="fused_loss",
        action="store_false",
        help="materialise full logits for the loss",
    )
    g.add_argument("--loss-chunk-tokens", type=int, default=None, help="tokens per fused-loss chunk (auto)")
    g.add_argument(
        "--pad-to-max",
        action="store_const",
        const=True,
        default=None,
        help="pad every batch to --seq-len/--target-len (default: only with --compile)",
    )
    g.add_argument("--seed", type=int, default=d.seed, help="random seed (default %(default)s)")
    g = p.add_argument_group("output")
    g.add_argument("--out", default=d.out, help=f"run directory (default {d.out})")
    g.add_argument(
        "--ckpt-every", type=int, default=d.ckpt_every, help="checkpoint every N steps (default %(default)s)"
    )
    g.add_argument(
        "--keep-ckpts", type=int, default=d.keep_ckpts, help="checkpoints kept (default %(default)s)"
    )
    g.add_argument(
        "--log-every", type=int, default=d.log_every, help="metrics every N steps (default %(default)s)"
    )
    g.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="start over in an --out that holds a run (deletes its checkpoints)",
    )
    g.add_argument("--stop-after", type=int, default=None, help="stop after N steps of this invocation")
    g.add_argument(
        "--no-tensorboard", dest="tensorboard", action="store_false", help="do not write --out/tensorboard/"
    )
    g.add_argument("--no-plot", dest="plot", action="store_false", help="do not draw --out/loss.png")
    g.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")


def config_from_args(args: argparse.Namespace):
    """The `TrainConfig` the parsed flags (and --config file) describe."""
    from tandem.train.trainer import TrainConfig

    names = {f.name for f in dataclasses.fields(TrainConfig)}
    kw = {k: v for k, v in vars(args).items() if k in names}
    overrides = dict(kw.pop("model_overrides", None) or {})
    if getattr(args, "dropout", None) is not None:
        overrides["dropout"] = args.dropout
    for key in ("data", "decontaminate", "val_data"):
        if isinstance(kw.get(key), str):
            kw[key] = [kw[key]]
    return TrainConfig.from_dict(kw | {"model_overrides": overrides})


def run(args: argparse.Namespace) -> int:
    import sys

    from tandem.outlock import check_out_free
    from tandem.train.trainer import TrainingInterrupted, train

    cfg = config_from_args(args)
    check_out_free(cfg.out, "tandem pretrain")  # another run writing there: refused before any work
    if not cfg.data and not cfg.resume:
        raise TandemError("tandem pretrain: no --data given; pass text files (one language per file)")
    if not cfg.data and cfg.resume:
        raise TandemError(
            "tandem pretrain --resume: pass the same --data (or --config OUT/train_config.json)"
        )
    try:
        res = train(cfg)
    except TrainingInterrupted as e:  # the checkpoint is saved; exit as the shell reports the signal
        print("interrupted" if e.exit_code == 130 else "terminated", file=sys.stderr)
        return e.exit_code
    last = res.records[-1] if res.records else None
    if last is not None:
        val = f", val_loss {res.val_records[-1]['val_loss']:.4f}" if res.val_records else ""
        print(f"step {res.step}: loss {last['loss']:.4f}{val}; run in {res.out}")
    return 0
