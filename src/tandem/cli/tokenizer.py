"""`tandem tokenizer`: train a SentencePiece tokenizer, and encode/decode/inspect with one."""

from __future__ import annotations

import argparse
import json
import sys

from tandem.errors import TandemError

HELP = (
    "train a SentencePiece tokenizer ([CLM]/[DOC]/[MASK], tag slots, lossless newlines); encode/decode/info"
)
EXAMPLES = """
  tandem tokenizer train --input data/*.txt --vocab-size 32000 --out tok/
  tandem tokenizer train --input en.txt --vocab-size 8000 --spoken-ratio 0.7 --lang en --reserved-tags 1000 --out tok/
  tandem tokenizer train --input en.txt de.txt --lang en de --spoken-ratio 0.7 --vocab-size 16000 --out tok/
  tandem tokenizer encode --tokenizer tok/ --text "[CLM] Sentence: Hallo; Translation in English:" --pieces
  echo "1 2 3" | tandem tokenizer decode --tokenizer tok/
  tandem tokenizer info --tokenizer ../shared/fixtures/alexatm-tiny/alexatm-format-spm.model
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["train", "encode", "decode", "info"], help="what to do")
    t = parser.add_argument_group("train")
    t.add_argument(
        "--input", nargs="+", metavar="FILE", help="text files, one sentence per line (.gz allowed)"
    )
    t.add_argument(
        "--out", metavar="DIR", help="directory to write tokenizer.model + tokenizer_config.json to"
    )
    t.add_argument("--vocab-size", type=int, default=8000, help="total vocabulary, specials included (8000)")
    t.add_argument(
        "--model-type",
        default="unigram",
        choices=["unigram", "bpe", "char"],
        help="SentencePiece model type (default %(default)s)",
    )
    t.add_argument("--reserved-tags", type=int, default=0, metavar="N", help="reserve <tag_0>..<tag_N-1> (0)")
    t.add_argument(
        "--input-sentence-size",
        type=int,
        default=1_000_000,
        metavar="N",
        help="train on a uniform sample of at most N lines (1000000)",
    )
    t.add_argument(
        "--max-sentence-chars",
        type=int,
        default=1_000_000,
        metavar="N",
        help="skip (and name) lines longer than N characters (1000000)",
    )
    t.add_argument(
        "--character-coverage",
        type=float,
        default=0.9995,
        help="share of the characters given pieces, in [0.98, 1]; the rarest fall back (default %(default)s)",
    )
    t.add_argument(
        "--no-byte-fallback", action="store_true", help="map unknown characters to <unk> instead of bytes"
    )
    t.add_argument(
        "--spoken-ratio",
        type=float,
        default=None,
        metavar="R",
        help="convert this fraction of the sampled sentences to spoken form (AlexaTM: 0.7)",
    )
    t.add_argument(
        "--lang",
        nargs="+",
        metavar="L",
        help="language for --spoken-ratio: one, or one per --input file (with --alpha: the files' languages)",
    )
    t.add_argument(
        "--alpha",
        type=float,
        default=None,
        metavar="A",
        help="balance languages: each gets a share of the sample ∝ its lines^A (mT5/XLM-R: 0.3); "
        "languages from --lang (one per file), else one per file",
    )
    t.add_argument("--seed", type=int, default=0, help="seed of the sentence sample (default %(default)s)")
    t.add_argument(
        "--threads", type=int, default=None, help="SentencePiece threads (default: CPU count, max 16)"
    )
    u = parser.add_argument_group("encode / decode / info")
    u.add_argument("--tokenizer", metavar="PATH", help="tokenizer directory or SentencePiece .model file")
    u.add_argument("--text", help="text to encode (default: each line of stdin)")
    u.add_argument(
        "--ids", help="ids to decode, space- or comma-separated or a JSON list (default: each line of stdin)"
    )
    u.add_argument("--pieces", action="store_true", help="encode: print ids and pieces as JSON")
    u.add_argument("--add-eos", action="store_true", help="encode: append </s>")
    u.add_argument("--keep-special", action="store_true", help="decode: keep <s>, </s>, <pad>, [CLM], ...")


def _parse_ids(line: str) -> list[int]:
    line = line.strip()
    try:
        if line.startswith("["):
            ids = json.loads(line)
            # int() would turn 2.5 into 2 and true into 1: only whole JSON numbers are ids
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in ids):
                raise ValueError("not all integers")
            return ids
        return [int(x) for x in line.replace(",", " ").split()]
    except (ValueError, TypeError, json.JSONDecodeError) as e:
        raise TandemError(
            f"cannot read token ids from {line[:60]!r}: give integers separated by spaces"
        ) from e


def run(args: argparse.Namespace) -> int:
    from tandem.tokenizer import Tokenizer

    if args.action == "train":
        if not args.input:
            raise TandemError("tokenizer train needs --input FILE...")
        if not args.out:
            raise TandemError("tokenizer train needs --out DIR")
        lang = None
        if args.lang:
            lang = args.lang[0] if len(args.lang) == 1 else args.lang
        file_langs = None
        if args.alpha is not None and args.lang:
            file_langs = args.lang if len(args.lang) > 1 else args.lang * len(args.input)
            if args.spoken_ratio is None:  # --lang names the files' languages only
                lang = None
        tok = Tokenizer.train(
            args.input,
            vocab_size=args.vocab_size,
            model_type=args.model_type,
            reserved_tags=args.reserved_tags,
            input_sentence_size=args.input_sentence_size,
            byte_fallback=not args.no_byte_fallback,
            character_coverage=args.character_coverage,
            spoken_ratio=args.spoken_ratio,
            spoken_lang=lang,
            seed=args.seed,
            num_threads=args.threads,
            alpha=args.alpha,
            file_langs=file_langs,
            max_sentence_chars=args.max_sentence_chars,
        )
        out = tok.save(args.out)
        print(json.dumps({"out": str(out), **tok.config()}, ensure_ascii=False))
        return 0

    if not args.tokenizer:
        raise TandemError(
            f"tokenizer {args.action} needs --tokenizer PATH (a tokenizer directory or .model file)"
        )
    tok = Tokenizer.load(args.tokenizer)
    if args.action == "info":
        info = tok.config()
        path = getattr(tok, "model_path", None)
        if path is not None and "model_file" in info:  # the file read, not the name save() would write
            info["model_file"] = path.name
        print(json.dumps(info, indent=2, ensure_ascii=False))
    elif args.action == "encode":
        texts = [args.text] if args.text is not None else [line.rstrip("\r\n") for line in sys.stdin]
        for lineno, text in enumerate(texts, 1):
            try:
                ids = tok.encode(text, add_eos=args.add_eos)
            except TandemError as e:
                raise TandemError(
                    f"{'--text' if args.text is not None else f'stdin line {lineno}'}: {e}"
                ) from e
            if args.pieces:
                pieces = [tok.id_to_token(i) for i in ids]
                print(json.dumps({"ids": ids, "pieces": pieces}, ensure_ascii=False))
            else:
                print(" ".join(map(str, ids)))
    else:
        # every stdin line, blank ones included: `encode` prints an empty line for an empty text, so
        # `encode | decode` keeps one output line per input line
        lines = [args.ids] if args.ids is not None else list(sys.stdin)
        for line in lines:
            ids = _parse_ids(line)
            # ids typed in for this tokenizer: one it has no piece for is a mistake here, not <unk> as in
            # decoding a model's output (whose vocabulary may be larger than the tokenizer's)
            for pos, i in enumerate(ids):
                if not 0 <= i < tok.vocab_size:
                    raise TandemError(
                        f"token id {i} (position {pos}) is out of range for this tokenizer "
                        f"(vocab size {tok.vocab_size})"
                    )
            print(tok.decode(ids, skip_special_tokens=not args.keep_special))
    return 0
