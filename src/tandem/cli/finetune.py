"""`tandem finetune`: supervised seq2seq fine-tuning with dev evaluation and early stopping."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

HELP = "fine-tune a seq2seq model on jsonl (source, target) pairs or a named task (slu), with early stopping"
EXAMPLES = """
  tandem finetune --model runs/base/model --data train.jsonl --dev dev.jsonl --out runs/ft
  tandem finetune --model small --model-overrides '{"d_model": 256, "encoder_layers": 4, "decoder_layers": 4}' \\
      --task slu --data ../shared/data/snips --train-split train --dev-holdout 500 \\
      --tokenizer runs/snips-tok --vocab-size 1000 --metric exact_match --patience 2 --out runs/snips-teacher
  tandem finetune --model small --task slu --data ../shared/data/snips --train-split train --dev-holdout 500 \\
      --slu-tags --vocab-size 1000 --metric exact_match --out runs/snips-tags
  tandem finetune --model runs/base/model --data train.jsonl --clm-prefix --epochs 1 --out runs/ft-clm
  tandem finetune --config runs/ft-clm/config.json --resume     # continue exactly where it stopped
SLU targets are `intent ; slot = value ; ...` (tandem.slu.linearize); with --slu-tags each intent and slot
name is one reserved tokenizer tag (`<tag_3><tag_17> the beatles`, label vocabulary in labels.json beside
the model). Dev metrics are intent accuracy, slot F1 and exact match. outputs in --out: config.json,
metrics.jsonl, loss.png, best/ (the best dev checkpoint with its tokenizer), fit.json, dev_metrics.json,
checkpoints/ (the last training checkpoint: --ckpt-every, at the end, at Ctrl-C/SIGTERM, exit 130/143)
"""


def add_training_arguments(p: argparse.ArgumentParser, defaults) -> None:
    """Flags shared by `finetune` and `distill` (the fields of tandem.finetune.TrainConfig)."""
    d = defaults
    g = p.add_argument_group("data")
    g.add_argument("--data", required=False, help="training data: jsonl with source/target, or a task path")
    g.add_argument(
        "--task", default=None, choices=["slu"], help="named task: slu (SNIPS dir, SLURP jsonl, xSID)"
    )
    g.add_argument("--train-split", default=None, help="split subfolder of --data for tasks (e.g. train)")
    g.add_argument("--dev", default=None, help="dev data (same format as --data)")
    g.add_argument("--dev-split", default=None, help="split subfolder of --dev for tasks (e.g. valid)")
    g.add_argument("--dev-holdout", type=int, default=0, help="hold out N training examples as the dev set")
    g.add_argument("--clm-prefix", action="store_true", help="prefix every source with '[CLM] '")
    g.add_argument(
        "--max-source-len",
        type=int,
        default=256,
        help="tokens kept of a source (a longer one loses its end; default %(default)s)",
    )
    g.add_argument(
        "--max-target-len",
        type=int,
        default=256,
        help="tokens kept of a target (a longer one loses its end; default %(default)s)",
    )
    g = p.add_argument_group("training")
    g.add_argument(
        "--epochs", type=float, default=d.epochs, help=f"passes over the data (default {d.epochs})"
    )
    g.add_argument("--max-steps", type=int, default=d.max_steps, help="optimizer steps; overrides --epochs")
    g.add_argument(
        "--batch-size", type=int, default=d.batch_size, help="examples per step (default %(default)s)"
    )
    g.add_argument("--lr", type=float, default=d.lr, help=f"peak learning rate (default {d.lr})")
    g.add_argument(
        "--weight-decay", type=float, default=d.weight_decay, help="AdamW weight decay (default %(default)s)"
    )
    g.add_argument(
        "--warmup-ratio",
        type=float,
        default=d.warmup_ratio,
        help="share of the steps spent warming up to --lr (default %(default)s)",
    )
    g.add_argument(
        "--min-lr-ratio",
        type=float,
        default=d.min_lr_ratio,
        help=f"lr floor after linear decay, as a fraction of --lr (default {d.min_lr_ratio})",
    )
    g.add_argument(
        "--grad-clip",
        type=float,
        default=d.grad_clip,
        help="gradient-norm clip (0: off; default %(default)s)",
    )
    g.add_argument(
        "--eval-every", type=int, default=d.eval_every, help="dev evaluation every N steps (0: epoch)"
    )
    g.add_argument(
        "--patience", type=int, default=d.patience, help="stop after N evals without gain (0: off)"
    )
    g.add_argument(
        "--metric",
        default=d.metric,
        choices=["loss", "intent_acc", "slot_f1", "exact_match"],
        help="dev metric that picks the best checkpoint (default %(default)s)",
    )
    g.add_argument(
        "--max-new-tokens",
        type=int,
        default=64,
        help="generation length for dev metrics (default %(default)s)",
    )
    g.add_argument(
        "--no-generate-eval", dest="generate_eval", action="store_false", help="dev loss only (no generation)"
    )
    g.add_argument(
        "--log-every", type=int, default=d.log_every, help="metrics every N steps (default %(default)s)"
    )
    g.add_argument("--seed", type=int, default=d.seed, help="random seed (default %(default)s)")
    g.add_argument("--device", default=d.device, help="auto | cpu | cuda | cuda:N")
    g.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    g.add_argument("--out", required=False, help="run directory")
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="start over in an --out that holds a run (its model, metrics, fit records and checkpoints are "
        "deleted)",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out exactly from its last checkpoint (same model and data settings)",
    )
    g.add_argument(
        "--ckpt-every",
        "--save-every",
        dest="ckpt_every",
        type=int,
        default=d.ckpt_every,
        help=f"checkpoint into OUT/checkpoints every N steps (default {d.ckpt_every}; 0: only when the run "
        "ends or stops); a signal or --stop-after always saves one",
    )
    g.add_argument(
        "--stop-after",
        type=int,
        default=None,
        help="stop after N steps of this invocation, with a checkpoint",
    )


# settings a run cannot be resumed under: they change the data, its batches, or what the best checkpoint is
DATA_KEYS = (
    "task data train_split dev dev_split dev_holdout clm_prefix max_source_len max_target_len batch_size seed "
    "metric"
).split()
FINETUNE_MODEL_KEYS = ("model", "model_overrides", "tokenizer", "vocab_size", "slu_tags")
DEFAULT_VOCAB_SIZE = 1000  # --vocab-size of a tokenizer trained here when none is given
# settings whose default became None: what None stands for in a run's config.json, either way (a run started
# before saved `"vocab_size": 1000` for a --vocab-size it was not given)
UNSET_MEANS = {"vocab_size": DEFAULT_VOCAB_SIZE}
# settings that change nothing a resumed run computes: not compared
RUN_CONTROL_KEYS = frozenset(
    "config out overwrite resume stop_after ckpt_every log_every device threads".split()
)


def check_checkpoint_flags(args: argparse.Namespace) -> None:
    from tandem.errors import TandemError
    from tandem.tokenizer import MAX_THREADS

    if args.ckpt_every < 0:
        raise TandemError(
            f"--ckpt-every must be >= 0 (0: only when the run ends or stops), got {args.ckpt_every}"
        )
    if args.stop_after is not None and args.stop_after < 1:
        raise TandemError(f"--stop-after must be >= 1 (steps of this invocation), got {args.stop_after}")
    threads = getattr(args, "threads", None)
    if threads is not None and not 1 <= threads <= MAX_THREADS:
        # torch spawned 100000 OpenMP threads and crashed with a segmentation fault at the first step
        raise TandemError(
            f"--threads must be in 1..{MAX_THREADS} (CPU threads for torch; this machine has {os.cpu_count()} "
            f"CPUs), got {threads}"
        )


def _same_setting(a, b) -> bool:
    """Equal values, or two spellings of one existing file or folder."""
    if a == b:
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same_setting, a, b))
    if isinstance(a, str) and isinstance(b, str) and Path(a).exists() and Path(b).exists():
        return Path(a).resolve() == Path(b).resolve()
    return False


def check_resume(
    out: Path,
    args: argparse.Namespace,
    has_checkpoint: bool,
    refused: Sequence[str],
    switches: dict[str, Callable] | None = None,
    unset_means: dict[str, Any] | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Refuse --resume with --overwrite, without a checkpoint in --out, or with a `refused` setting (one that
    changes the model or the data) other than at the run's last start (its config.json), or a setting of
    `switches` whose value the function maps to something else (hidden_weight: on/off); name any other
    changed setting in a warning. A setting of `unset_means` that is None, then or now, is compared as the
    value it maps to. Returns the changed settings, name -> (value at the last start, now)."""
    from tandem.errors import TandemError

    if args.overwrite:
        raise TandemError(
            "--resume continues the run in --out and --overwrite starts it over: pass one of them"
        )
    if not has_checkpoint:
        raise TandemError(
            f"--resume: --out {out} holds no checkpoint to continue from; run without --resume to start "
            "(with --overwrite if --out holds a run)"
        )
    path = out / "config.json"
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):  # no record of the run's settings: the checkpoint's checks remain
        return {}
    now = json.loads(json.dumps(vars(args), default=str))
    unset_means = unset_means or {}

    def same(k: str) -> bool:
        a, b = (unset_means[k] if v is None and k in unset_means else v for v in (saved[k], now[k]))
        return _same_setting(a, b)

    changed = [k for k in now if k in saved and k not in RUN_CONTROL_KEYS and not same(k)]
    shown = {k: f"{k}: {json.dumps(saved[k])} -> {json.dumps(now[k])}" for k in changed}
    switches = switches or {}
    bad = [
        shown[k]
        for k in changed
        if k in refused or (k in switches and switches[k](saved[k]) != switches[k](now[k]))
    ]
    if bad:
        raise TandemError(
            f"--resume {out}: the run was started with other model or data settings ({'; '.join(bad)}); resume "
            f"with its own (--config {path} --resume), or start over: --overwrite, or another --out"
        )
    if changed:
        print(
            f"warning: --resume with settings changed since the run's last start ({', '.join(shown.values())}); "
            "it continues with the new values, so it will not match an uninterrupted run",
            file=sys.stderr,
        )
    return {k: (saved[k], now[k]) for k in changed}


# flags of finetune and distill that name local files or folders: recorded in config.json as absolute paths
# when they exist (a --model or --student preset name stays a name), so that `--config OUT/config.json
# --resume` reads the same ones from any working directory; --out, --tokenizer (trained there when missing)
# and --cache-dir (made when missing) always are
PATH_FLAGS = ("data", "dev", "model", "teacher", "student", "student_tokenizer", "generic", "transfer")
PATH_FLAGS += ("generic_teacher",)
ALWAYS_PATH_FLAGS = ("out", "tokenizer", "cache_dir")


def _a_model_name(key: str, value: Any) -> bool:
    """A --model or --student value read as a preset (or shrink:E,D) even where a file has its name: kept."""
    from tandem.config import ModelConfig

    if key == "student":
        return value.startswith("shrink:") or value in ModelConfig.preset_names()
    # a folder of that name is the model (tandem.finetune.build_model), a file is not
    return key == "model" and value in ModelConfig.preset_names() and not Path(value).is_dir()


def recorded_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The flag values config.json records: `vars(args)` with local paths absolute (`PATH_FLAGS`), and
    without the one-off --resume, --overwrite and --stop-after (as pretrain's train_config.json: a
    `--config OUT/config.json --resume` after a --stop-after start stopped again after as many steps)."""
    from tandem.runpaths import absolute, values_here

    d = dict(vars(args))
    for k in PATH_FLAGS:
        if k in d:
            d[k] = values_here(d[k], keep=lambda v, k=k: _a_model_name(k, v))
    for k in ALWAYS_PATH_FLAGS:
        if isinstance(d.get(k), str) and d[k]:
            d[k] = absolute(d[k])
    once = {"resume": False, "overwrite": False, "stop_after": None}
    return d | {k: v for k, v in once.items() if k in d}


@contextlib.contextmanager
def run_config(out: Path, args: argparse.Namespace) -> Iterator[None]:
    """Record the run's settings in `out/config.json` (replaced atomically, local paths absolute) for the body
    of the `with`. A resumed run whose body fails with a TandemError (its checkpoint did not load, a setting
    was refused) puts back the config.json of the run's last start, which its checkpoints were written with."""
    from tandem.errors import TandemError

    path = out / "config.json"
    before = path.read_bytes() if args.resume and path.is_file() else None

    def write(data: bytes) -> None:
        tmp = out / ".config.json.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, path)

    write((json.dumps(recorded_settings(args), indent=2, default=str) + "\n").encode())
    try:
        yield
    except TandemError:
        if before is not None:
            write(before)
        raise


def prepare_out(
    out: Path,
    outputs: list[Path],
    overwrite: bool,
    delete: bool = True,
    inputs: list[tuple[str, str | Path | None]] | tuple = (),
) -> None:
    """Refuse an --out that holds a run's `outputs` (unless `overwrite`: then they are deleted, when
    `delete`; a first call with `delete=False` refuses before any compute). `inputs` ([("--model", path)]) are
    the run's input folders: --overwrite refuses, before deleting anything, to delete one of them or a
    folder holding one (`--model OUT/best --out OUT --overwrite`)."""
    import shutil

    from tandem.errors import TandemError

    found = [p for p in outputs if p.exists()]
    if found and not overwrite:
        shown = ", ".join(str(p.relative_to(out)) for p in found[:4])
        raise TandemError(
            f"--out {out} already holds a finished or interrupted run ({shown}); pass --resume to continue it, "
            "--overwrite to start over (those outputs are deleted) or choose another --out"
        )
    for flag, given in inputs:
        if given is None or not Path(given).exists():
            continue
        src = Path(given).resolve()
        for p in found:
            if src == p.resolve() or p.resolve() in src.parents:
                raise TandemError(
                    f"{flag} {given} would be deleted by --overwrite ({p} is an output of the run in --out "
                    f"{out}); copy it elsewhere first or choose another --out"
                )
    if not delete:
        return
    for p in found:
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    out.mkdir(parents=True, exist_ok=True)


FINETUNE_OUTPUTS = ("best", "metrics.jsonl", "fit.json", "dev_metrics.json", "loss.png", "checkpoints")


def train_config(args: argparse.Namespace, cls):
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in vars(args).items() if k in names and v is not None})


def check_dev_flags(args: argparse.Namespace) -> None:
    """Refuse data flags that would be ignored: --dev-holdout beside --dev, --dev-split without --dev, and
    --train-split/--dev-split without --task (a jsonl file has no splits)."""
    from tandem.errors import TandemError

    if args.dev and args.dev_holdout:
        raise TandemError(
            f"--dev-holdout {args.dev_holdout} and --dev {args.dev} both give a dev set; pass one of them"
        )
    if args.dev_split and not args.dev:
        raise TandemError(
            f"--dev-split {args.dev_split} needs --dev (the dev data folder, e.g. --dev {args.data} "
            f"--dev-split {args.dev_split}), or --dev-holdout N"
        )
    if args.task is None:
        for flag, v in (("--train-split", args.train_split), ("--dev-split", args.dev_split)):
            if v:
                raise TandemError(
                    f"{flag} {v} applies to --task data (a split subfolder); jsonl --data/--dev files have "
                    f"no splits: leave {flag} out, or give --task"
                )


def load_data(args: argparse.Namespace, cfg=None):
    """(train pairs, dev pairs or None) from the flags; empty sets (no pairs, or only pairs with an empty
    source or target), out-of-range settings of `cfg` (a TrainConfig) and a --metric the dev set does not give
    fail here, before any model is built. Pairs with an empty source or target are skipped, and how many
    is printed."""
    from tandem.errors import TandemError
    from tandem.finetune import (
        check_lengths,
        check_metric,
        drop_empty,
        load_pairs,
        planned_steps,
        require_nonempty,
        split_dev,
    )

    if cfg is not None:
        cfg.validate()
    check_lengths(args.max_source_len, args.max_target_len, args.max_new_tokens)
    if not args.data:
        raise TandemError(
            "no --data given; pass a jsonl with source/target fields or a task path with --task"
        )
    check_dev_flags(args)
    train = load_pairs(args.data, args.task, args.train_split)
    require_nonempty(train, f"training data {args.data}")
    train, skipped = drop_empty(train, f"training data {args.data}")
    notes = [skipped]
    dev = None
    if args.dev:
        dev = load_pairs(args.dev, args.task, args.dev_split)
        require_nonempty(dev, f"dev data {args.dev}")
        dev, skipped = drop_empty(dev, f"dev data {args.dev}")
        notes.append(skipped)
    elif args.dev_holdout:
        train, dev = split_dev(train, args.dev_holdout, args.seed, flag="--dev-holdout")
    if cfg is not None:
        planned_steps(cfg, len(train))  # --epochs too large to count, before any model is built
        check_metric(cfg.metric, dev, args.generate_eval)
        if dev is None:  # both were silently ignored: no evaluation, so no early stopping
            for flag, v in (("--patience", cfg.patience), ("--eval-every", cfg.eval_every)):
                if v:
                    raise TandemError(
                        f"{flag} {v} needs a dev set (it evaluates on one); give --dev FILE or "
                        f"--dev-holdout N, or leave {flag} out"
                    )
    for note in notes:  # with the run's other data statistics, on stdout
        if note:
            print(note)
    return train, dev


def add_arguments(p: argparse.ArgumentParser) -> None:
    from tandem.config import parse_overrides
    from tandem.finetune import TrainConfig

    g = p.add_argument_group("model")
    g.add_argument(
        "--model", required=False, help="checkpoint directory (tandem, HF, AlexaTM) or a preset name"
    )
    g.add_argument(
        "--model-overrides",
        type=parse_overrides,
        default={},
        metavar="JSON",
        help="ModelConfig fields for a preset, e.g. '{\"d_model\": 256}'",
    )
    g.add_argument(
        "--tokenizer",
        default=None,
        help="tokenizer dir/.model (default: the model's); a missing path is trained on --data",
    )
    g.add_argument(
        "--vocab-size",
        type=int,
        default=None,
        help=f"vocabulary of a tokenizer trained here ({DEFAULT_VOCAB_SIZE}); refused with a given tokenizer "
        "of another size",
    )
    g.add_argument(
        "--slu-tags",
        action="store_true",
        help="--task slu: write each intent/slot name as one reserved tokenizer tag (labels.json); "
        "automatic when --model has a labels.json",
    )
    add_training_arguments(p, TrainConfig())


def slu_labels(args: argparse.Namespace, train, dev, model_dir: str | None):
    """The SLU tag vocabulary (from --model's labels.json, else built from the data with --slu-tags) and the
    pairs re-targeted to it; (None, train, dev) when tags are off."""
    from tandem.errors import TandemError
    from tandem.finetune import slu_pairs
    from tandem.slu import SLULabels

    labels = SLULabels.load(model_dir) if model_dir else None
    if labels is None and not getattr(args, "slu_tags", False):
        return None, train, dev
    if args.task != "slu":
        raise TandemError("--slu-tags (or a model with labels.json) needs --task slu")
    gold = [[p.gold for p in s] for s in (train, dev) if s is not None]
    if labels is None:
        labels = SLULabels.from_examples(*gold)
    else:  # the model's tags are fixed: every label of the data must already have one
        sources = [f"training data {args.data}", f"dev data {args.dev or args.data}"]
        for examples, where in zip(gold, sources):
            unknown = sorted(
                {f"intent {ex.intent!r}" for ex in examples if ex.intent not in labels.intents}
                | {f"slot {n!r}" for ex in examples for n, _ in ex.slots if n not in labels.slots}
            )
            if unknown:
                more = f" and {len(unknown) - 8} more" if len(unknown) > 8 else ""
                raise TandemError(
                    f"{where}: {', '.join(unknown[:8])}{more} not in {Path(model_dir) / 'labels.json'} "
                    f"({len(labels.intents)} intents, {len(labels.slots)} slots: the tags {model_dir} was "
                    "fine-tuned with); fine-tune a model without labels.json (plain `intent ; slot = value` "
                    "targets), or its base model with --slu-tags on data that holds every label"
                )
    return labels, slu_pairs(gold[0], labels), (slu_pairs(gold[1], labels) if dev is not None else None)


def run(args: argparse.Namespace) -> int:
    from tandem.errors import TandemError
    from tandem.outlock import OutLock, check_out_free

    if not args.model or not args.out:
        raise TandemError("tandem finetune needs --model (directory or preset) and --out")
    from tandem.finetune import not_a_model_spec

    bad_model = not_a_model_spec(args.model)
    if bad_model is not None:  # before the data is read or a tokenizer trained on it
        raise bad_model
    if args.model_overrides:
        from tandem.config import ModelConfig

        if Path(args.model).is_dir():
            raise TandemError(
                f"--model-overrides applies to presets only; --model {args.model} is a checkpoint directory"
            )
        ModelConfig.check_overrides(args.model_overrides)
    check_out_free(args.out, "tandem finetune")  # another run writing there: refused before any work
    with OutLock("tandem finetune") as lock:
        return _run(args, lock)


def _run(args: argparse.Namespace, lock) -> int:
    import torch

    from tandem.errors import TandemError
    from tandem.finetune import TrainConfig, build_model, finetune, load_or_train_tokenizer
    from tandem.train.checkpoint import Checkpointer
    from tandem.train.trainer import TrainingInterrupted

    out = Path(args.out)
    outputs = [out / name for name in FINETUNE_OUTPUTS]
    inputs = [("--model", args.model), ("--tokenizer", args.tokenizer)]
    check_checkpoint_flags(args)
    if args.resume:
        has = Checkpointer(out / "checkpoints").latest() is not None
        check_resume(out, args, has, FINETUNE_MODEL_KEYS + tuple(DATA_KEYS), unset_means=UNSET_MEANS)
    else:
        prepare_out(out, outputs, args.overwrite, delete=False, inputs=inputs)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = train_config(args, TrainConfig)
    train, dev = load_data(args, cfg)
    model_dir = args.model if Path(args.model).is_dir() else None
    labels, train, dev = slu_labels(args, train, dev, model_dir)
    own = _own_tokenizer(model_dir) if args.tokenizer else None
    if own is not None and not Path(args.tokenizer).exists():
        raise TandemError(
            f"--tokenizer {args.tokenizer}: not found, and --model {args.model} has its own tokenizer; a "
            "vocabulary trained here would not match the model's embeddings: leave --tokenizer out to use the "
            "model's"
        )
    # the tokenizer the run reads with, when one is given (--tokenizer, else the one saved with --model)
    given = (
        f"--tokenizer {args.tokenizer}"
        if args.tokenizer and Path(args.tokenizer).exists()
        else f"--model {args.model}"
        if not args.tokenizer and model_dir is not None
        else None
    )
    tok = load_or_train_tokenizer(
        args.tokenizer,
        model_dir,
        train,
        args.vocab_size or DEFAULT_VOCAB_SIZE,
        len(labels) if labels is not None else 0,
    )
    # --vocab-size sizes a tokenizer trained here: was silently ignored with a given one. A resumed run was
    # checked at its start (check_resume refuses another --vocab-size); one started before saved the default
    if given and args.vocab_size is not None and tok.vocab_size != args.vocab_size and not args.resume:
        raise TandemError(
            f"--vocab-size {args.vocab_size}: the run reads with the tokenizer of {given}, whose vocabulary is "
            f"{tok.vocab_size}; --vocab-size only sizes a tokenizer trained here: drop it"
        )
    if own is not None:  # the model reads token ids: the tokenizer saved with it is the one to match
        from tandem.distill import check_vocab

        check_vocab(
            own,
            tok,
            f"the model's ({args.model})",
            f"--tokenizer {args.tokenizer}",
            advice="fine-tuning a trained model needs its own vocabulary: leave --tokenizer out to use it",
        )
    if labels is not None:
        # was: "train one with `tandem tokenizer train --reserved-tags N`", which a trained model's
        # vocabulary (a Hugging Face BART's, say) cannot take: its embeddings fix the ids
        labels.check_tokenizer(
            tok,
            advice=None
            if model_dir is None
            else f"--model {args.model} is a trained model, whose vocabulary cannot gain tags: drop --slu-tags to "
            "train on `intent ; slot = value` text targets, or fine-tune a preset (a tokenizer with the tags is "
            "trained for it)",
        )
    torch.manual_seed(cfg.seed)  # --seed also pins a fresh preset's initial weights
    model = build_model(args.model, tok, args.model_overrides)
    lock.acquire(out)  # held until the run ends: no other run writes into --out meanwhile
    if not args.resume:
        prepare_out(out, outputs, args.overwrite, inputs=inputs)
    print(f"fine-tuning {model.config.num_parameters() / 1e6:.2f}M parameters on {len(train)} examples")
    try:
        with run_config(out, args):
            res = finetune(
                model,
                tok,
                train,
                dev,
                cfg,
                out,
                args.clm_prefix,
                args.max_source_len,
                args.max_target_len,
                args.max_new_tokens,
                args.generate_eval,
                labels=labels,
            )
    except TrainingInterrupted as e:  # the model so far is in best/; exit as the shell reports the signal
        _plot(out)
        saved = Checkpointer(out / "checkpoints").latest() is not None
        print(_stopped_by(e, "continue with --resume" if saved else "no checkpoint yet"), file=sys.stderr)
        return e.exit_code
    _plot(out)
    if res.interrupted == "stop_after":  # fit said where it stopped and how to go on
        return 0
    if res.history:
        best = next(h for h in res.history if h["step"] == res.best_step)
        (out / "dev_metrics.json").write_text(json.dumps(best, indent=2) + "\n", encoding="utf-8")
        print(f"best dev {cfg.metric} {res.best_metric:.4g} at step {res.best_step}; model in {out / 'best'}")
    else:
        print(f"trained {res.steps} steps; model in {out / 'best'}")
    return 0


def _stopped_by(e, then: str) -> str:
    """The last line of a run a signal ended (`e`: tandem.train.trainer.TrainingInterrupted)."""
    return f"{'interrupted' if e.exit_code == 130 else 'terminated'} at step {e.step}: {then}"


def _own_tokenizer(model_dir: str | None):
    """The tokenizer saved with a model directory, or None (no directory, or none saved in it)."""
    from tandem.errors import TandemError
    from tandem.tokenizer import Tokenizer

    if model_dir is None:
        return None
    try:
        return Tokenizer.load(model_dir)
    except TandemError:
        return None  # no tokenizer in the model's directory: --tokenizer stands in for it


def _plot(out: Path) -> None:
    try:
        from tandem.train.metrics import plot_metrics

        plot_metrics(out / "metrics.jsonl", out / "loss.png")
    except Exception:  # a plot is a convenience; a missing backend must not fail the run
        pass
