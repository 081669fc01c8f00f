"""`tandem quickstart`: the whole pipeline end to end on the embedded default corpus, with a report."""

from __future__ import annotations

import argparse

HELP = "run every stage (tokenizer, pretrain, prompting, finetune, distill, export, serve) on built-in data, with a report"
EXAMPLES = """
  tandem quickstart                                  # ~10 minutes on 2 CPU cores, writes quickstart/report.md
  tandem quickstart --out qs --minutes 2             # a reduced run (fewer steps, smaller corpus)
  tandem quickstart --data 'corpus/*.txt'            # pretrain on your own text files instead
  tandem quickstart --stages corpus tokenizer pretrain prompting
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tandem.quickstart.pipeline import STAGES

    parser.add_argument("--out", default="quickstart", metavar="DIR", help="output folder (quickstart)")
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="time budget on 2 CPU cores; scales step counts and sizes (10; with --stages, the earlier run's)",
    )
    parser.add_argument(
        "--data",
        nargs="+",
        metavar="FILE",
        help="pretraining text files or globs (one document per line; language from the file name, "
        "or LANG:FILE) instead of the built-in corpus's text; parsing and serving still use the built-in corpus",
    )
    parser.add_argument("--seed", type=int, default=None, help="(0; with --stages, the earlier run's)")
    parser.add_argument(
        "--langs",
        nargs="+",
        metavar="L",
        help="corpus languages (default: all seven; with --stages, the earlier run's)",
    )
    parser.add_argument(
        "--stages",
        nargs="+",
        metavar="S",
        help=f"run only these stages: {', '.join(s.name for s in STAGES)}; the others' results in --out are "
        "reused, and --minutes, --seed, --langs and --data left out take the values of the run that made them",
    )
    parser.add_argument("--quiet", action="store_true", help="show stage lines only, not each verb's output")


def run(args: argparse.Namespace) -> int:
    import sys

    from tandem.quickstart.pipeline import run_quickstart

    res = run_quickstart(
        out=args.out,
        minutes=args.minutes,
        data=args.data,
        seed=args.seed,
        langs=args.langs,
        quiet=args.quiet,
        stages=args.stages,
    )
    if res.get("interrupted"):  # the report covers the stages done so far
        print("interrupted", file=sys.stderr)
        return 130
    failed = [n for n, e in res["stages"].items() if e.get("status") == "failed"]
    return 1 if failed else 0
