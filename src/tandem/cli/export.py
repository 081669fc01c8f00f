"""`tandem export`: write a model for the edge runtime (CTranslate2, verified) or as a Hugging Face directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tandem.errors import TandemError, unwritable
from tandem.jsonl import read_lines

HELP = "export a model to CTranslate2 for `tandem.edge` (int8, verified against tandem) or to Hugging Face"
EXAMPLES = """
  tandem export runs/student --format ct2 --quantize int8 --out student-int8/
  tandem export runs/student --format ct2 --quantize float32 --out student-fp32/ --tokenizer tok/tokenizer.model
  tandem export runs/student --format hf --out student-hf/
  tandem export runs/alexatm-student --format ct2 --allow-approximate --out student-approx/
  tandem export alexatm-dir/ --allow-approximate --tokenizer alexatm-dir/spm.model --out alexatm-ct2/
  tandem export student-int8/ --trim-to labels.txt            # restrict outputs to a task's tokens
  tandem export runs/slu-student --out slu-int8/               # carries runs/slu-student/labels.json (SLU tags)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", help="tandem model dir, Hugging Face BART/mBART/T5 dir (or, with --trim-to, an export)"
    )
    parser.add_argument("--format", choices=["ct2", "hf"], default="ct2", help="output format (ct2)")
    parser.add_argument(
        "--quantize",
        choices=["int8", "int8_float32", "int16", "float32"],
        default=None,
        help="CTranslate2 weight type (int8); --format ct2 only",
    )
    parser.add_argument("--out", metavar="DIR", help="output directory")
    parser.add_argument(
        "--tokenizer",
        metavar="FILE",
        help="SentencePiece .model, or a Hugging Face tokenizer.json or tokenizer directory (default: MODEL's)",
    )
    parser.add_argument(
        "--allow-approximate",
        action="store_true",
        help="export architectures CTranslate2 cannot express exactly (AlexaTM's LayerNorm becomes standard "
        "LayerNorm) and report the measured deviation from tandem",
    )
    parser.add_argument("--max-new-tokens", type=int, default=16, help="length of the probe decodes (16)")
    parser.add_argument(
        "--labels",
        metavar="FILE",
        help="SLU tag vocabulary (labels.json from `tandem finetune --slu-tags`) to carry into the export "
        "(default: MODEL/labels.json when present)",
    )
    parser.add_argument(
        "--trim-to",
        metavar="FILE",
        help="write a vocabulary map into the export MODEL: outputs may use only the tokens of FILE's lines "
        "(one label/output per line) plus words copied from the input",
    )
    parser.add_argument(
        "--no-copy-source", action="store_true", help="with --trim-to: do not allow source tokens"
    )


def _is_hf_export(directory: Path) -> bool:
    """Whether `directory` holds a Hugging Face model a previous `--format hf` export may have written."""
    try:
        cfg = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(cfg, dict) and cfg.get("model_type") in ("bart", "mbart", "t5")


def run(args: argparse.Namespace) -> int:
    if args.trim_to:
        from tandem.edge import trim_vocabulary

        # --trim-to rewrites MODEL (an export) in place: these flags were silently ignored (--out wrote nothing)
        ignored = [
            flag
            for flag, given in (
                ("--out", args.out),
                ("--format hf", args.format == "hf"),
                ("--quantize", args.quantize),
                ("--tokenizer", args.tokenizer),
                ("--allow-approximate", args.allow_approximate),
                ("--labels", args.labels),
                ("--max-new-tokens", args.max_new_tokens != 16),
            )
            if given
        ]
        if ignored:
            raise TandemError(
                f"--trim-to writes a vocabulary map into the edge export {args.model} itself; "
                f"{', '.join(ignored)} {'does' if len(ignored) == 1 else 'do'} not apply to it: drop "
                f"{'it' if len(ignored) == 1 else 'them'} (export first, then trim the export)"
            )
        p = Path(args.trim_to)
        try:  # a folder, a missing file, bytes that are not UTF-8 (named by line); a byte-order mark is dropped
            lines = [x.strip() for x in read_lines(p) if x.strip()]
        except TandemError as e:
            raise TandemError(f"--trim-to {e}") from None
        from tandem.slu import LABELS_FILE

        if not lines and not (Path(args.model) / LABELS_FILE).is_file():  # SLU tags are kept anyway
            # the map held only control tokens: every output was empty (--no-copy-source) or input words
            raise TandemError(
                f"--trim-to {p}: no outputs in it (empty or blank lines only); list the task's outputs, one per "
                "line"
            )
        rep = trim_vocabulary(args.model, lines, copy_source=not args.no_copy_source)
        print(json.dumps(rep.__dict__))
        return 0
    if not args.out:
        raise TandemError("--out DIR is required")
    if args.no_copy_source:  # was silently ignored
        raise TandemError("--no-copy-source applies only with --trim-to FILE (trimming an export); drop it")
    if args.tokenizer and not Path(args.tokenizer).exists():
        raise TandemError(
            f"--tokenizer {args.tokenizer}: file not found; give the SentencePiece .model the model was trained "
            "with, or its Hugging Face tokenizer.json (or tokenizer directory)"
        )
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise TandemError(f"--out {out} is a file; give a new or empty directory")
    # a file above --out: making the folder failed with a FileExistsError traceback after the whole export
    above = next((d for d in out.parents if d.exists()), None)
    if above is not None and not above.is_dir():
        raise TandemError(f"--out {out}: {above} is a file, not a folder; give a new or empty directory")
    if out.exists() and out.resolve() == Path(args.model).resolve():
        raise TandemError(f"--out {out} is the model directory itself; give a new or empty directory")
    if args.format == "hf":
        if args.quantize is not None:
            raise TandemError(
                f"--quantize {args.quantize} applies to --format ct2 only: a Hugging Face export keeps the "
                "model's own weights and dtype; drop --quantize (quantize after loading it in transformers) "
                "or export with --format ct2"
            )
        if out.is_dir() and any(out.iterdir()) and not _is_hf_export(out):
            raise TandemError(
                f"output dir {out} exists and is not a Hugging Face export; choose an empty or new dir"
            )
        from tandem.interop import hf_architecture, to_hf
        from tandem.model import Seq2SeqLM

        model = Seq2SeqLM.from_pretrained(args.model)
        hf_architecture(model.config)  # no HF architecture expresses it: refused before anything is written
        tok = None
        try:
            from tandem.tokenizer import Tokenizer

            tok = Tokenizer.load(args.tokenizer or args.model)
        except (ImportError, TandemError, OSError):
            tok = None
        import shutil
        import tempfile

        from tandem.interop import verify_hf
        from tandem.slu import LABELS_FILE, SLULabels

        labels = SLULabels.locate(args.model, args.labels)
        if labels is not None:
            SLULabels.load(labels)  # validated before anything is written
        created = [d for d in out.parents if not d.exists()]  # deepest first
        # written and checked beside --out first, so a failed check leaves --out as it was
        try:
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                staging = tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.export-")
            except OSError as e:  # permission denied, a read-only file system: was a traceback
                raise unwritable(f"--out {out}", e) from None
            with staging as stage_s:
                stage = Path(stage_s)
                arch = to_hf(model, stage, tokenizer=tok)
                if labels is not None:  # tag-format SLU students keep their tag names beside the weights
                    shutil.copy2(labels, stage / LABELS_FILE)
                verified = verify_hf(
                    model, stage, max_new_tokens=args.max_new_tokens, sp_size=tok.vocab_size if tok else None
                )
                out.mkdir(exist_ok=True)
                earlier = {p.name for p in out.iterdir()}  # an earlier HF export's (checked above)
                written = {p.name for p in stage.iterdir()}
                for name in written:
                    (stage / name).replace(out / name)
                for name in earlier - written:  # its files the new export has not replaced (old shards)
                    stale = out / name
                    shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        except BaseException:
            for d in created:  # nor the folders made above it
                try:
                    d.rmdir()
                except OSError:
                    break
            raise
        notes = [] if verified else ["transformers is not installed: the export was not checked against it"]
        print(
            json.dumps(
                {
                    "out_dir": args.out,
                    "format": "hf",
                    "architecture": arch,
                    "verified": verified,
                    "notes": notes,
                }
            )
        )
        return 0
    from tandem.interop.ct2 import export_ct2

    report = export_ct2(
        args.model,
        args.out,
        quantize=args.quantize or "int8",
        tokenizer=args.tokenizer,
        allow_approximate=args.allow_approximate,
        max_new_tokens=args.max_new_tokens,
        labels=args.labels,
    )
    print(json.dumps(report.to_dict()))
    if report.approximate:
        check = report.mapping_check or {}
        print(
            f"warning: approximate export (AlexaTM LayerNorm computed as standard LayerNorm): on "
            f"{report.probe_sequences} probe inputs, max |logit diff| vs tandem "
            f"{report.max_abs_logit_deviation:.3g}, greedy token agreement {report.greedy_token_agreement:.3f}; "
            f"with tandem's norm set to LayerNorm the outputs match exactly "
            f"(max |logit diff| {check.get('max_abs_logit_deviation', float('nan')):.2g})",
        )
    return 0
