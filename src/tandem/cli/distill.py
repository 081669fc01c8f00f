"""`tandem distill`: distil a teacher into a smaller student (or a chain of students)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from tandem.cli.finetune import (
    DATA_KEYS,
    _plot,
    _stopped_by,
    add_training_arguments,
    check_checkpoint_flags,
    check_resume,
    load_data,
    prepare_out,
    run_config,
    slu_labels,
    train_config,
)
from tandem.errors import TandemError
from tandem.jsonl import read_lines

HELP = "distil a teacher (tandem, HF BART/mBART/T5, AlexaTM) into a smaller student or a chain of students"
EXAMPLES = """
  tandem distill --teacher runs/snips-teacher/best --student shrink:2,1 --task slu \\
      --data ../shared/data/snips --train-split train --dev-holdout 500 --out runs/snips-student
  tandem distill --teacher runs/t/best --student edge-2m --data train.jsonl --dev dev.jsonl \\
      --divergence jsd --beta 0.5 --temperature 2 --hidden-weight 1 --topk 32 --out runs/s
  tandem distill --teacher runs/t/best --student shrink:6,3 --student edge-2m --data train.jsonl \\
      --generic unlabelled.txt --generic-epochs 1 --seq-kd add --out runs/chain   # teacher -> 6+3 -> edge-2m
  tandem distill --teacher big/ --teacher-device cpu --student edge-17m --data train.jsonl --out runs/s
  tandem distill --teacher runs/t/best --student edge-2m --data train.jsonl --transfer utterances.txt --out runs/s
  tandem distill --teacher runs/t1/best --teacher runs/t2/best --teacher runs/t3/best --student edge-2m \\
      --data train.jsonl --out runs/s                          # an ensemble teacher: the members' mean
students: a preset (adopts the teacher's vocabulary), shrink:E,D (teacher's width, E+D layers copied
DistilBART-style), or a config.json; repeat --student for a chain. The teacher's tokenizer is used, and
its SLU tag vocabulary (labels.json, from `tandem finetune --slu-tags`) when it has one.
outputs in --out: student_N/final (the student), student_N/task/{metrics.jsonl,loss.png,best/},
student_N/teacher_topk/ (logit cache), student_N/seqkd_targets.jsonl, student_N/transfer_targets.jsonl,
student_N/{generic,task}/checkpoints/, distill.json. --resume continues every student exactly from its
checkpoints (finished ones are restored, not retrained); Ctrl-C/SIGTERM saves one and exits 130/143.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from tandem.distill import DistillConfig

    d = DistillConfig()
    g = p.add_argument_group("models")
    g.add_argument(
        "--teacher",
        action="append",
        default=None,
        help="teacher directory (anything from_pretrained loads); repeat for an ensemble teacher: the mean "
        "of the members' probabilities (members share one tokenizer; the first one's is used)",
    )
    g.add_argument(
        "--student",
        action="append",
        default=None,
        help="preset, shrink:E,D or config.json; repeat for a chain teacher -> s1 -> s2",
    )
    g.add_argument("--tokenizer", default=None, help="tokenizer (default: the teacher's)")
    g.add_argument(
        "--student-tokenizer", default=None, help="only checked: must equal the teacher's vocabulary"
    )
    g.add_argument(
        "--no-shrink",
        dest="shrink",
        action="store_false",
        help="random init even when the student has the teacher's width",
    )
    g = p.add_argument_group("losses")
    g.add_argument(
        "--ce-weight", type=float, default=d.ce_weight, help=f"hard-label CE (default {d.ce_weight})"
    )
    g.add_argument(
        "--kd-weight", type=float, default=d.kd_weight, help=f"token divergence (default {d.kd_weight})"
    )
    g.add_argument(
        "--temperature",
        type=float,
        default=d.temperature,
        help="softens teacher and student (default %(default)s)",
    )
    g.add_argument(
        "--divergence",
        default=d.divergence,
        choices=["forward", "reverse", "jsd"],
        help="forward KL(teacher||student), reverse KL or generalised JSD (default %(default)s)",
    )
    g.add_argument(
        "--beta",
        type=float,
        default=d.beta,
        help="generalised JSD mixture weight, in (0, 1) (default %(default)s)",
    )
    g.add_argument(
        "--hidden-weight",
        type=float,
        default=d.hidden_weight,
        help="hidden-state matching through learned projections (0: off)",
    )
    g.add_argument(
        "--topk", type=int, default=d.topk, help="cache the teacher's top-k logits on disk (0: off)"
    )
    g.add_argument(
        "--cache-dir",
        default=None,
        help="logit cache folder (default OUT/student_N/teacher_topk; with several students DIR/student_N)",
    )
    g.add_argument(
        "--seq-kd",
        default=d.seq_kd,
        choices=["off", "replace", "add"],
        help="sequence-level KD: train on teacher generations (cached) (default %(default)s)",
    )
    g.add_argument(
        "--onpolicy",
        type=float,
        default=d.onpolicy,
        help="fraction of batches on student samples scored by the teacher (GKD)",
    )
    g.add_argument("--generic", default=None, help="unlabelled text (one per line) for stage-1 distillation")
    g.add_argument(
        "--generic-epochs", type=float, default=1.0, help="passes over --generic (default %(default)s)"
    )
    g.add_argument(
        "--transfer",
        default=None,
        help="transfer set: unlabelled task inputs (one per line) that the teacher labels with its generations",
    )
    g.add_argument(
        "--generic-teacher",
        default=None,
        help="teacher of the generic stage: the checkpoint before fine-tuning (KDD 2022); default --teacher",
    )
    g = p.add_argument_group("teacher placement")
    g.add_argument(
        "--teacher-device", default=d.teacher_device, help="auto (the student's) | cpu (offload) | cuda"
    )
    g.add_argument(
        "--teacher-dtype",
        default=d.teacher_dtype,
        choices=["auto", "float32", "bfloat16", "float16"],
        help="teacher weights (default auto: bfloat16 on a GPU, float32 on CPU)",
    )
    add_training_arguments(p, d)


# the students, what they start as and what they learn from (top-k: the cached logits): a run cannot be
# resumed with other values
DISTILL_RUN_KEYS = tuple(
    "teacher student tokenizer shrink generic_teacher teacher_dtype seq_kd generic transfer topk".split()
)


# settings that let a finished student train further when resumed: in a chain, the next student's
# checkpoints were distilled from it as it was
CHAIN_SCHEDULE_KEYS = ("max_steps", "epochs", "patience")


def _check_chain_schedule(out: Path, args, changed: dict) -> None:
    """Refuse, before any work, a resumed chain whose students after the first have checkpoints and whose
    --max-steps/--epochs/--patience changed: it would train an earlier student further, then refuse the next
    one's checkpoints (distilled from the earlier student as it was), with the earlier one overwritten.
    `changed`: `check_resume`'s changed settings."""
    from tandem.train.checkpoint import Checkpointer

    schedule = [
        f"--{k.replace('_', '-')} {changed[k][0]} -> {changed[k][1]}"
        for k in CHAIN_SCHEDULE_KEYS
        if k in changed
    ]
    if not schedule:
        return

    later = [
        k
        for k in range(2, len(args.student) + 1)
        if any(
            Checkpointer(out / f"student_{k}" / stage / "checkpoints").latest() is not None
            for stage in ("generic", "task")
        )
    ]
    if later:
        raise TandemError(
            f"--resume {out}: student {later[0]} already has checkpoints, distilled from student "
            f"{later[0] - 1} as it was trained; {', '.join(schedule)} would train the students before it further "
            "and make those checkpoints unusable. Resume with the run's own settings (--config "
            f"{out / 'config.json'} --resume), or start the chain over (--overwrite, or another --out)"
        )


def _teacher_config_check(paths: list[str], args) -> None:
    """Refuse a teacher (all members of an ensemble together) that won't fit before its weights are read."""
    import torch

    from tandem.config import ModelConfig
    from tandem.distill import DistillConfig, check_teacher_fits
    from tandem.distill.loop import teacher_placement

    n = 0
    for path in paths:
        cfg_file = Path(path) / "config.json"
        try:
            d = json.loads(cfg_file.read_text(encoding="utf-8"))
            n += ModelConfig.from_dict({k: v for k, v in d.items() if k != "model_type"}).num_parameters()
        except Exception:  # foreign (HF/AlexaTM) configs: checked after conversion instead
            return
    dev = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    dev = "cpu" if dev == "auto" else dev
    t_dev, t_dtype = teacher_placement(
        DistillConfig(teacher_device=args.teacher_device, teacher_dtype=args.teacher_dtype), torch.device(dev)
    )
    check_teacher_fits(n, t_dev, t_dtype)


def _text_lines(path: Path, flag: str) -> list[str]:
    """The lines of a --generic/--transfer text file; a missing, non-UTF-8 or folder path is a TandemError
    naming the flag, the file and the line."""
    try:
        return read_lines(path)
    except TandemError as e:
        raise TandemError(f"{flag} {e}") from None


def run(args: argparse.Namespace) -> int:
    from tandem.outlock import OutLock, check_out_free

    if not args.teacher or not args.student or not args.out:
        raise TandemError(
            "tandem distill needs --teacher DIR, --student PRESET|shrink:E,D|config and --out DIR"
        )
    check_out_free(args.out, "tandem distill")  # another run writing there: refused before any work
    with OutLock("tandem distill") as lock:
        return _run(args, lock)


def _run(args: argparse.Namespace, lock) -> int:
    import torch

    from tandem.distill import DistillConfig, chain_configs, check_vocab, distill_chain, generic_examples
    from tandem.errors import TandemError, model_dir_error
    from tandem.finetune import (
        Pair,
        Truncation,
        encode_pairs,
        forced_first_token,
        length_limits,
        make_evaluator,
        match_decoder_start,
    )
    from tandem.model import Ensemble, Seq2SeqLM
    from tandem.slu import SLULabels
    from tandem.tokenizer import Tokenizer
    from tandem.train.checkpoint import Checkpointer
    from tandem.train.trainer import TrainingInterrupted

    if not args.teacher or not args.student or not args.out:
        raise TandemError(
            "tandem distill needs --teacher DIR, --student PRESET|shrink:E,D|config and --out DIR"
        )
    teachers = list(args.teacher)
    for t in teachers:
        if not Path(t).is_dir():
            raise model_dir_error(t, "--teacher")
    out = Path(args.out)
    # a run's results are refused or deleted; the fingerprinted teacher caches are kept for reuse
    runs = [out / "distill.json"]
    for sub in sorted(out.glob("student_*")):
        runs += [sub / "final", sub / "generic", sub / "task"]
    inputs = [("--teacher", t) for t in teachers] + [("--generic-teacher", args.generic_teacher)]
    inputs += [("--tokenizer", args.tokenizer), ("--student-tokenizer", args.student_tokenizer)]
    check_checkpoint_flags(args)
    if args.resume:
        stages = [sub / stage for sub in out.glob("student_*") for stage in ("generic", "task")]
        has = any(Checkpointer(d / "checkpoints").latest() is not None for d in stages)
        switches = {"hidden_weight": lambda w: (w or 0) > 0}  # on/off: the projections are trained state
        changed = check_resume(out, args, has, DISTILL_RUN_KEYS + tuple(DATA_KEYS), switches)
        _check_chain_schedule(out, args, changed)
    else:
        prepare_out(out, runs, args.overwrite, delete=False, inputs=inputs)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = train_config(args, DistillConfig)
    # Everything that can fail cheaply runs before the teacher is loaded.
    train, dev = load_data(args, cfg)
    labels, train, dev = slu_labels(args, train, dev, teachers[0])
    tok = Tokenizer.load(args.tokenizer or teachers[0])
    if args.tokenizer:  # the teacher reads token ids: a tokenizer saved with it is the one to match
        try:
            own = Tokenizer.load(teachers[0])
        except TandemError:
            own = None  # no tokenizer in the teacher's directory: --tokenizer stands in for it
        if own is not None:
            check_vocab(own, tok, f"the teacher's ({teachers[0]})", f"--tokenizer {args.tokenizer}")
    for k, t in enumerate(teachers[1:], start=2):  # ensemble members: one vocabulary, one label set
        check_vocab(tok, Tokenizer.load(t), "teacher 1", f"teacher {k} ({t})")
        if labels is not None and SLULabels.load(t) != labels:
            raise TandemError(
                f"--teacher {t}: its labels.json differs from teacher 1's ({teachers[0]}); ensemble members "
                "must be fine-tuned with the same SLU tag vocabulary"
            )
    if labels is not None:
        labels.check_tokenizer(tok)
    if args.student_tokenizer:
        check_vocab(tok, Tokenizer.load(args.student_tokenizer), "teacher", "student")
    texts = None
    if args.generic:
        gp = Path(args.generic)
        texts = [ln for ln in _text_lines(gp, "--generic") if ln.strip()]
        if not texts:
            raise TandemError(f"--generic {gp} is empty: no unlabelled text for stage-1 distillation")
    transfer_texts = None
    if args.transfer:
        tp = Path(args.transfer)
        transfer_texts = [ln.strip() for ln in _text_lines(tp, "--transfer") if ln.strip()]
        if not transfer_texts:
            raise TandemError(f"--transfer {tp} is empty: give unlabelled inputs, one per line")
    if args.generic_teacher and not texts:
        raise TandemError("--generic-teacher needs --generic FILE (the unlabelled text it teaches on)")
    if args.generic_teacher and not Path(args.generic_teacher).is_dir():
        raise model_dir_error(args.generic_teacher, "--generic-teacher")
    _teacher_config_check(teachers, args)
    try:
        teacher = (
            Seq2SeqLM.from_pretrained(teachers[0])
            if len(teachers) == 1
            else Ensemble.from_pretrained(teachers)
        )
    except torch.OutOfMemoryError as e:
        raise TandemError("out of memory loading the teacher; pass --teacher-device cpu to offload it") from e
    if len(teachers) > 1:
        n = sum(p.numel() for p in teacher.parameters())
        print(f"teacher: an ensemble of {len(teachers)} models ({n / 1e6:.2f}M parameters in all)")
    # mBART-cc25-style targets (`... </s> tgt_lang`) start the decoder from their language code, as HF's mBART
    # trains: the teacher reads them so, and the students copy its start token
    start_note = None
    for m in [teacher, *(getattr(teacher, "members", None) or [])]:
        start_note = match_decoder_start(m.config, tok) or start_note
    # bad student specs fail before any training; every model of the chain must fit the examples
    configs = [teacher.config] + chain_configs(teacher.config, args.student)
    max_src, max_tgt = length_limits(configs, args.max_source_len, args.max_target_len)
    requested, cut = (args.max_source_len, args.max_target_len), Truncation()
    # a teacher whose decoding forces a first token (BART-large's <s>, an mBART-50 language code) is fed the
    # targets as it generates them, as fine-tuning does; the student learns the same sequences
    start = forced_first_token(teacher.config)
    train_enc = encode_pairs(
        tok, train, args.clm_prefix, max_src, max_tgt, truncation=cut, target_start=start
    )
    notes = [start_note, cut.summary(f"training data {args.data}", requested)]
    evaluate = None
    if dev is not None:
        dev_enc = encode_pairs(
            tok, dev, args.clm_prefix, max_src, max_tgt, truncation=cut, target_start=start
        )
        notes.append(cut.summary(f"dev data {args.dev or args.data}", requested))
        evaluate = make_evaluator(
            tok, dev, dev_enc, args.generate_eval, max(64, cfg.batch_size), args.max_new_tokens, labels
        )
    generic = generic_examples(texts, tok, min(max_src, max_tgt), cfg.seed) if texts else None
    generic_teacher = Seq2SeqLM.from_pretrained(args.generic_teacher) if args.generic_teacher else None
    transfer = None
    if transfer_texts:
        pairs = [Pair(t, "") for t in transfer_texts]  # the teacher writes the targets
        offset = 1 + max(e.index for e in train_enc)
        enc = encode_pairs(tok, pairs, args.clm_prefix, max_src, max_tgt, truncation=cut)
        notes.append(cut.summary(f"--transfer {args.transfer}", requested))
        transfer = [dataclasses.replace(e, index=offset + e.index) for e in enc]
    for note in notes:  # once, before the teacher's caches are built
        if note:
            print(note)
    lock.acquire(out)  # held until the run ends: no other run writes into --out meanwhile
    if not args.resume:
        prepare_out(out, runs, args.overwrite, inputs=inputs)
    try:
        with run_config(out, args):
            results = distill_chain(
                teacher,
                args.student,
                train_enc,
                cfg,
                evaluate,
                out,
                tok,
                generic,
                labels=labels,
                generic_teacher=generic_teacher,
                transfer=transfer,
                clm_prefix=args.clm_prefix,
                greedy_defaults=True,
            )
    except TrainingInterrupted as e:  # the student so far is in student_N/<stage>/best/
        stages = [sub / stage for sub in out.glob("student_*") for stage in ("generic", "task")]
        saved = any(Checkpointer(d / "checkpoints").latest() is not None for d in stages)
        print(_stopped_by(e, "continue with --resume" if saved else "no checkpoint yet"), file=sys.stderr)
        return e.exit_code
    if len(results) < len(args.student) or results[-1].paused:
        done = sum(not r.paused for r in results)
        print(
            f"stopped after --stop-after {args.stop_after} steps ({done} of {len(args.student)} students "
            "finished): continue with --resume"
        )
        return 0
    for k, r in enumerate(results, 1):
        sub = out / f"student_{k}"
        _plot(sub / "task")
        task = r.stages["task"]
        n = r.student.config.num_parameters()
        best = (
            f"best dev {cfg.metric} {task.best_metric:.4g}" if task.best_metric is not None else "no dev set"
        )
        print(
            f"student {k}: {n / 1e6:.2f}M parameters, init {'shrink' if r.init.get('copied') else 'random'}, "
            f"{best}; saved to {sub / 'final'}"
        )
    summary = [dataclasses.asdict(r.stages["task"]) | {"init": r.init} for r in results]
    (out / "distill.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return 0
