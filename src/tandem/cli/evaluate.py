"""`tandem evaluate`: few-shot evaluation of a checkpoint on benchmark tasks, or scoring of a predictions file."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tandem.errors import TandemError

HELP = "evaluate a checkpoint few-shot on SuperGLUE, SQuAD 2.0, FLORES, XNLI, summarisation and SLU tasks"
EXAMPLES = """
  tandem evaluate --model runs/tiny/model --tasks copa,rte,cb --shots 4 --limit 100 --out runs/tiny/eval
  tandem evaluate --model runs/tiny/model --tasks flores:en-de,xsid:de,squad2 --shots 1 --limit 50 --out eval/
  tandem evaluate --model runs/tiny/model --tasks xsum=data/xsum_test.jsonl --out eval/   # explicit eval file
  tandem evaluate --predictions other_system.jsonl --task squad2 --out eval/other   # score external output
tasks: boolq cb copa rte wic wsc multirc record squad2 flores:SRC-TGT xnli:LANG xsum mlsum:LANG snips slurp
       massive:LOCALE xsid:LANG (append =FILE to read the evaluation examples from FILE)
"""


def _default_data_dir() -> str:
    env = os.environ.get("TANDEM_DATA")
    if env:
        return env
    for cand in ("../shared/data", "data"):
        if Path(cand).is_dir():
            return cand
    return "../shared/data"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="checkpoint directory (tandem, or Hugging Face BART/mBART/T5, or AlexaTM)")
    p.add_argument("--tokenizer", help="tokenizer dir or .model file (default: the model directory)")
    p.add_argument("--tasks", help="comma-separated task specs (see below)")
    p.add_argument("--shots", type=int, default=0, help="demonstrations per prompt (default 0)")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N examples of each task")
    p.add_argument("--batch-size", type=int, default=8, help="examples per encoder pass (default 8)")
    p.add_argument("--seed", type=int, default=1234, help="seed of the demonstration draw (default 1234)")
    p.add_argument("--out", help="output directory for predictions.jsonl, metrics.json, results.md")
    p.add_argument("--data-dir", default=None, help="data root (default $TANDEM_DATA or ../shared/data)")
    p.add_argument(
        "--normalization",
        default="none",
        choices=["none", "token", "char", "byte", "calibrated"],
        help="rank-scoring normalisation of choice log-likelihoods (default none: summed)",
    )
    p.add_argument(
        "--delimiter",
        default="semicolon",
        help="demonstration delimiter: semicolon, br, newline or a literal",
    )
    p.add_argument("--no-clm-prefix", action="store_true", help="do not start prompts with [CLM]")
    p.add_argument(
        "--random-shots", action="store_true", help="draw demonstrations at random, not class-balanced"
    )
    p.add_argument("--flores-spm", help="FLORES SentencePiece model: adds spBLEU to FLORES tasks")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument(
        "--dtype",
        default=None,
        choices=["float32", "bfloat16", "float16"],  # was [None, ...]: the usage offered a 'None' it refused
        help="weights dtype (default float32)",
    )
    p.add_argument("--predictions", help="score this jsonl of {id, prediction} instead of running a model")
    p.add_argument("--task", help="the task of --predictions")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _check_counts(args: argparse.Namespace, shots: bool = True) -> None:
    """Each count flag in its range, the error naming the flag (one message for all three named none)."""
    if shots and args.shots < 0:
        raise TandemError(f"--shots must be 0 or more (demonstrations per prompt), got {args.shots}")
    if args.limit is not None and args.limit < 1:
        raise TandemError(
            f"--limit must be 1 or more (examples per task; leave it out for all), got {args.limit}"
        )
    if shots and args.batch_size < 1:
        raise TandemError(
            f"--batch-size must be 1 or more (examples per encoder pass), got {args.batch_size}"
        )


def _check_not_replaced(predictions: str, out_dir: str) -> None:
    """Fail when --out's predictions.jsonl is the --predictions file: writing the reports replaced the file
    being scored with this run's (empty) predictions.jsonl, and every other task's rows in it were lost."""
    written = Path(out_dir) / "predictions.jsonl"
    try:
        same = written.exists() and os.path.samefile(predictions, written)
    except OSError:  # the --predictions file is missing: scoring names it
        same = False
    if same:
        raise TandemError(
            f"--out {out_dir}: its predictions.jsonl is the --predictions file {predictions}, which the "
            "reports would replace; give --out another directory"
        )


def run(args: argparse.Namespace) -> int:
    from tandem.evaluation.runner import check_out_dir, markdown_table, write_reports
    from tandem.evaluation.tasks import get_task, get_tasks

    data_dir = Path(os.path.abspath(args.data_dir or _default_data_dir()))  # errors, metrics.json say where
    if args.out:
        check_out_dir(args.out)  # before any model or data work
    if args.predictions:
        from tandem.evaluation.runner import score_predictions

        if not args.task:
            raise TandemError("--predictions needs --task naming the task the predictions are for")
        if args.out:
            _check_not_replaced(args.predictions, args.out)
        _check_counts(args, shots=False)
        task, explicit = get_task(args.task, args.flores_spm)
        reports = [score_predictions(task, data_dir, args.predictions, explicit, limit=args.limit)]
    else:
        if not args.model or not args.tasks:
            raise TandemError(
                "give --model DIR and --tasks a,b (or --predictions FILE --task T to score a file)"
            )
        _check_counts(args)
        tasks = get_tasks(args.tasks, args.flores_spm)  # unknown names fail before the model loads
        from tandem.devices import torch_device

        torch_device(args.device)  # so does a device that is no device or not here (was torch's traceback)
        if not Path(args.model).is_dir():  # so does a wrong model path (named at once, no Hub lookup)
            from tandem.errors import model_dir_error

            raise model_dir_error(args.model, "--model")
        from tandem.checkpoint import detect_format

        detect_format(Path(args.model))  # config.json readable and of a supported kind
        from tandem.evaluation.runner import (
            check_shots,
            demonstration_pool,
            demonstrations_available,
            first_docs,
            load_eval_docs,
        )

        sizes = []
        for task, explicit in tasks:
            docs = load_eval_docs(task, data_dir, explicit)  # so do bad files
            queries = first_docs(docs, args.limit)
            sizes.append(len(queries))
            if args.shots:  # and demonstration pools smaller than --shots
                pool, pool_is_eval = demonstration_pool(task, data_dir, explicit, docs)
                check_shots(
                    task,
                    args.shots,
                    demonstrations_available(task, queries, pool, pool_is_eval),
                    pool_is_eval,
                )
        reports = _run_model(args, tasks, data_dir, sizes)
    for r in reports:  # a task with no score is in the table as "-", easy to miss: say so where it ran
        if r.num_scored == 0:
            print(
                f"warning: task {r.task}: nothing scored, all {r.skipped_too_long} examples skipped as too "
                "long (a query, or a choice, past the model's maximum positions; the `skipped` records say "
                "which); use a model with more positions or shorter examples",
                file=sys.stderr,
            )
    table = markdown_table(reports)
    print(table, end="")
    if args.out:
        from datetime import UTC, datetime

        from tandem.evaluation.runner import environment

        meta = {k: v for k, v in vars(args).items() if k != "func" and not callable(v)}
        meta["data_dir"] = str(data_dir)  # as resolved (the flag is often left to its default)
        meta["date"] = datetime.now(UTC).isoformat(timespec="seconds")
        meta["environment"] = environment()
        paths = write_reports(reports, args.out, meta)
        print(f"wrote {paths['predictions']}, {paths['metrics']}, {paths['table']}", file=sys.stderr)
    # a run that scored nothing at all failed at its purpose (exit 1, as a failed quickstart stage; reports
    # still written): bad input found before the work is exit 2, and --predictions matching nothing is that
    return 1 if all(r.num_scored == 0 for r in reports) else 0


def _run_model(args: argparse.Namespace, tasks, data_dir: Path, sizes: list[int]):
    import torch
    from tqdm import tqdm

    from tandem.evaluation.runner import run_task
    from tandem.model import Seq2SeqLM
    from tandem.prompting.lm import EncoderDecoder
    from tandem.prompting.templates import PromptFormat
    from tandem.tokenizer import Tokenizer

    dtype = getattr(torch, args.dtype) if args.dtype else None
    model = Seq2SeqLM.from_pretrained(args.model, device=args.device, dtype=dtype)
    tok = Tokenizer.load(args.tokenizer or args.model)
    lm = EncoderDecoder(model, tok)
    fmt = PromptFormat.named(args.delimiter, clm_prefix=not args.no_clm_prefix)
    reports = []
    for (task, explicit), n in zip(tasks, sizes):
        with tqdm(total=n, desc=task.name, disable=args.no_progress, file=sys.stderr) as bar:
            reports.append(
                run_task(
                    lm,
                    task,
                    data_dir,
                    explicit,
                    shots=args.shots,
                    limit=args.limit,
                    batch_size=args.batch_size,
                    seed=args.seed,
                    fmt=fmt,
                    normalization=args.normalization,
                    balanced=not args.random_shots,
                    progress=bar.update,
                )
            )
    return reports
