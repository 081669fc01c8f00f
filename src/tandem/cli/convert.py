"""`tandem convert`: between tandem, Hugging Face (BART/mBART/T5/mT5) and AlexaTM directories."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tandem.errors import TandemError, unwritable

HELP = "convert a model directory: HF BART/mBART/T5/mT5 or AlexaTM -> tandem, tandem -> HF"
EXAMPLES = """
  tandem convert path/to/hf-t5-small --to tandem --out models/t5-small
  tandem convert ../shared/fixtures/alexatm-tiny --to tandem --out models/alexatm-tiny
  tandem convert runs/teacher --to hf --out export/teacher-hf   # then transformers.AutoModelForSeq2SeqLM
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="source model directory (any format tandem reads)")
    p.add_argument("--to", choices=["tandem", "hf"], required=True, help="target format")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument(
        "--dtype",
        choices=["float32", "bfloat16", "float16"],
        default=None,
        help="cast the weights (default: keep the source's dtype)",
    )


# --to -> the config.json model_type of a directory an earlier convert may have written (replaced as a whole)
_TARGET_TYPES = {"tandem": ("tandem",), "hf": ("bart", "mbart", "t5")}


def _model_type(directory: Path) -> object:
    try:
        cfg = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return cfg.get("model_type") if isinstance(cfg, dict) else None


def run(args: argparse.Namespace) -> int:
    import torch

    from tandem.checkpoint import stored_dtype
    from tandem.interop import to_hf
    from tandem.model import Seq2SeqLM
    from tandem.tokenizer import Tokenizer

    out = Path(args.out)
    if out.resolve() == Path(args.model).resolve():
        raise TandemError("--out must differ from the source directory")
    if out.exists() and not out.is_dir():  # was a FileExistsError traceback from mkdir
        raise TandemError(f"--out {out} is a file; give a new or empty directory")
    if out.is_dir() and any(out.iterdir()) and _model_type(out) not in _TARGET_TYPES[args.to]:
        # was written into: a tandem config.json over an edge export's left it unloadable
        raise TandemError(
            f"--out {out} exists and is not a {'tandem' if args.to == 'tandem' else 'Hugging Face'} model "
            "directory (which it would replace); give a new or empty directory"
        )
    model = Seq2SeqLM.from_pretrained(args.model)
    # the weights keep the source's dtype unless --dtype says otherwise (a bfloat16 checkpoint used to be
    # written as float32, twice its size, and came back from a round trip as float32)
    dtype = getattr(torch, args.dtype) if args.dtype else stored_dtype(Path(args.model))
    if dtype != torch.float32:
        model = model.to(dtype)
        if not args.dtype:
            print(f"kept the source's {str(dtype).removeprefix('torch.')} weights (--dtype float32 to widen)")
    try:
        tok = Tokenizer.load(args.model)
    except TandemError:
        tok = None  # a model directory without a SentencePiece model: convert the weights alone
    try:  # a folder that cannot be made or written (read-only, /proc/x): was an OSError traceback
        if args.to == "hf":
            arch = to_hf(model, out, tokenizer=tok)
        else:
            model.save_pretrained(out, tokenizer=tok)
    except OSError as e:
        raise unwritable(f"--out {out}", e) from None
    if args.to == "hf":
        print(f"wrote a Hugging Face {arch} directory to {out}")
    else:
        print(f"wrote a tandem directory to {out} ({model.config.num_parameters() / 1e6:.1f}M parameters)")
    if tok is None:
        print("note: no tokenizer found beside the weights; copy or train one (tandem tokenizer train)")
    return 0
