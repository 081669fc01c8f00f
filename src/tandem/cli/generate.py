"""`tandem generate`: text in, text out, from a model directory (tandem, HF BART/mBART/T5, AlexaTM)."""

from __future__ import annotations

import argparse
import json
import sys

from tandem.errors import TandemError
from tandem.jsonl import JSON_ERRORS, json_error_reason, read_text, split_lines

HELP = "generate text from a model directory (greedy, beam search or sampling)"
EXAMPLES = """
  tandem generate runs/teacher --prompt "[CLM] set an alarm for seven am ; parse :"
  tandem generate runs/teacher --input prompts.txt --num-beams 4 --max-new-tokens 64 > outputs.txt
  tandem generate runs/teacher --prompt "Sentence: hello; Translation in German:" --stop ";" --json
  tandem generate hf-bart-dir/ --tokenizer tok/ --prompt "..." --do-sample --temperature 0.8 --top-p 0.9 --seed 1
  tandem generate hf-bart-cnn/ --input docs.txt --num-beams 4 --no-repeat-ngram-size 3 --forced-eos-token 2
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model directory")
    p.add_argument("--tokenizer", help="tokenizer dir or .model file (default: the model directory's)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--prompt", action="append", help="input text (repeatable)")
    src.add_argument("--input", help="file with one input per line ('-' for stdin, the default)")
    p.add_argument(
        "--clm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="prefix each input with '[CLM] ' (AlexaTM CLM mode); default: on for a model fine-tuned with "
        "--clm-prefix, else off",
    )
    # decoding flags left out take the model's defaults (a Hugging Face generation_config.json, kept in
    # a converted model's config), else tandem's
    p.add_argument(
        "--max-new-tokens",
        type=int,
        default=None,
        help="default: the model's, else 64 (or max_positions if fewer)",
    )
    p.add_argument(
        "--min-new-tokens",
        type=int,
        default=None,
        help="no EOS before this many tokens (default: the model's, else 0)",
    )
    p.add_argument(
        "--num-beams", type=int, default=None, help="beam search width (default: the model's, else 1: greedy)"
    )
    p.add_argument(
        "--length-penalty",
        type=float,
        default=None,
        help="beam score divided by length**this (default: the model's, else 1.0)",
    )
    p.add_argument(
        "--early-stopping", choices=["true", "false", "never"], default=None, help="beam search stopping rule"
    )
    p.add_argument(
        "--do-sample",
        action="store_true",
        default=None,
        help="sample (default: the model's, else greedy or beam)",
    )
    p.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="sampling temperature (default: the model's, else 1.0)",
    )
    p.add_argument(
        "--top-k",
        type=int,
        default=None,
        help="sample among the k likeliest (default: the model's, else 0: off)",
    )
    p.add_argument(
        "--top-p",
        type=float,
        default=None,
        help="nucleus sampling mass (default: the model's, else 1.0: off)",
    )
    p.add_argument(
        "--no-repeat-ngram-size", type=int, default=None, help="never repeat an n-gram of this size (0: off)"
    )
    p.add_argument(
        "--repetition-penalty", type=float, default=None, help="divide a seen token's score by this (1: off)"
    )
    p.add_argument(
        "--forced-bos-token",
        default=None,
        help="first generated token, an id or a piece (mBART-50: the target language code)",
    )
    p.add_argument(
        "--decoder-start-token",
        default=None,
        help="token the decoder starts from, an id or a piece (default: the model's decoder_start_token_id; "
        "an mBART-cc25 model pretrained in several languages: the target language code)",
    )
    p.add_argument(
        "--forced-eos-token",
        default=None,
        help="token forced at the --max-new-tokens limit, an id or a piece; 'none' turns the model's off",
    )
    p.add_argument(
        "--bad-words-ids",
        default=None,
        help="JSON list of token sequences never generated, each a list of ids or pieces, e.g. "
        "'[[5], [17, 9]]' (a longer one bans its last token right after the others); 'none' turns the "
        "model's off",
    )
    p.add_argument(
        "--suppress-tokens",
        default=None,
        help="comma-separated ids or pieces never generated; 'none' turns the model's off",
    )
    p.add_argument(
        "--begin-suppress-tokens",
        default=None,
        help="comma-separated ids or pieces not generated as the first token (after a forced first token: "
        "the second); 'none' turns the model's off",
    )
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default %(default)s)")
    p.add_argument(
        "--stop", action="append", default=None, help="stop string (repeatable); output is cut there"
    )
    p.add_argument("--batch-size", type=int, default=16, help="inputs per batch (default %(default)s)")
    p.add_argument("--device", default="cpu", help="torch device (default %(default)s)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per input (plain output prints each completion as is, newlines included)",
    )


def _token(flag: str, value: str, tok) -> int | None:
    """A --forced-*-token value: an id, a piece of the tokenizer, or 'none'."""
    if value.lower() == "none":
        return None
    if value.lstrip("-").isdigit():
        if int(value) < 0:
            raise TandemError(
                f"{flag} {value}: a token id must be >= 0 (or give a piece of the tokenizer, or 'none')"
            )
        return int(value)
    i = tok.token_to_id(value)
    if i is None:
        raise TandemError(
            f"{flag} {value!r}: not an id and not a piece of the tokenizer{_as_pieces(value, tok)}"
        )
    return i


def _as_pieces(text: str, tok) -> str:
    """How the tokenizer writes `text` (at the start of an input and after a space, where they differ), for
    an error: BART's byte-level BPE spells ' green' 'Ġgreen', SentencePiece '▁green'."""
    shown: dict[tuple[int, ...], str] = {}
    for t in (text, " " + text):
        ids = tuple(tok.encode(t))
        if ids and ids not in shown:
            shown[ids] = f"{t!r} is " + " ".join(f"{p!r} ({i})" for p, i in zip(tok.tokenize(t), ids))
    return f"; as text, {'; '.join(shown.values())}: give those pieces or ids" if shown else ""


def _token_list(flag: str, value: str, tok) -> list[int]:
    """A --suppress-tokens value: comma-separated ids or pieces; 'none' is the empty list (off)."""
    if value.strip().lower() == "none":
        return []
    items = [v.strip() for v in value.split(",")]
    if not all(items):
        raise TandemError(f"{flag} {value!r}: give comma-separated ids or pieces (or 'none'), no empty items")
    return [_checked_token(flag, v, tok) for v in items]


def _checked_token(flag: str, value, tok) -> int:
    i = _token(flag, str(value), tok)
    if i is None:
        raise TandemError(f"{flag}: 'none' cannot be one of the tokens; give ids or pieces")
    return i


def _bad_words(value: str, tok) -> list[list[int]]:
    """A --bad-words-ids value: a JSON list of lists of ids or pieces; 'none' is the empty list (off)."""
    flag = "--bad-words-ids"
    if value.strip().lower() == "none":
        return []
    try:
        words = json.loads(value)
    except JSON_ERRORS as e:  # also nested too deeply, an integer of over 4300 digits
        raise TandemError(
            f"{flag} {value!r:.80}: not JSON ({json_error_reason(e)}); give e.g. '[[5], [17, 9]]' or 'none'"
        ) from e
    ok = isinstance(words, list) and all(
        isinstance(w, list) and w and all(isinstance(t, (int, str)) and not isinstance(t, bool) for t in w)
        for w in words
    )
    if not ok:
        raise TandemError(
            f"{flag} {value!r}: give a JSON list of non-empty lists of token ids or pieces, e.g. '[[5], [17, 9]]'"
        )
    return [[_checked_token(flag, t, tok) for t in w] for w in words]


def _decoding_options(args: argparse.Namespace, model, tok) -> dict:
    """The generate options the flags set; those left out come from the model's defaults."""
    out = {
        k: getattr(args, k)
        for k in (
            "max_new_tokens",
            "min_new_tokens",
            "num_beams",
            "length_penalty",
            "do_sample",
            "temperature",
            "top_k",
            "top_p",
            "no_repeat_ngram_size",
            "repetition_penalty",
        )
        if getattr(args, k) is not None
    }
    if "max_new_tokens" not in out and "max_new_tokens" not in model.config.generation:
        out["max_new_tokens"] = 64
        if model.config.position_type == "learned":  # no more than the decoder's positions allow
            out["max_new_tokens"] = min(64, model.config.max_positions)
    if args.early_stopping is not None:
        out["early_stopping"] = {"true": True, "false": False}.get(args.early_stopping, "never")
    if args.forced_bos_token is not None:
        out["forced_bos_token_id"] = _token("--forced-bos-token", args.forced_bos_token, tok)
    if args.forced_eos_token is not None:
        out["forced_eos_token_id"] = _token("--forced-eos-token", args.forced_eos_token, tok)
    if args.decoder_start_token is not None:
        out["decoder_start_token_id"] = _token("--decoder-start-token", args.decoder_start_token, tok)
    if args.bad_words_ids is not None:
        out["bad_words_ids"] = _bad_words(args.bad_words_ids, tok)
    for name in ("suppress_tokens", "begin_suppress_tokens"):
        if getattr(args, name) is not None:
            out[name] = _token_list("--" + name.replace("_", "-"), getattr(args, name), tok)
    out["num_return_sequences"] = 1  # one output per input
    return out


def _device(name: str):
    from tandem.devices import torch_device

    return torch_device(name, "--device ")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from tandem.model import Seq2SeqLM
    from tandem.model.generation import with_model_defaults
    from tandem.prompting.generation import postprocess
    from tandem.tokenizer import Tokenizer, affixes, frame

    if args.batch_size < 1:
        raise TandemError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.stop and not all(args.stop):
        raise TandemError("--stop: a stop string must not be empty (it would stop at the first token)")
    for i, t in enumerate(args.prompt or (), 1):  # an encoder input of only EOS: as /v1/generate's 422
        if not t.strip():
            raise TandemError(f"--prompt {i}: empty; give the text to generate from")
    device = _device(args.device)
    model = Seq2SeqLM.from_pretrained(args.model, device=device)
    tok = Tokenizer.load(args.tokenizer or args.model)
    tok.check_fits(model.config.vocab_size, f"the model {args.model}")
    if args.clm and tok.clm_id is None:  # was: "[CLM] " encoded as characters (BART, mBART, T5 tokenizers)
        raise TandemError(
            f"--clm: the tokenizer of {args.tokenizer or args.model} has no [CLM] token, so its inputs cannot "
            "start in causal-LM mode; drop --clm"
        )
    # each input with where it came from, for error messages
    if args.prompt:
        inputs = [(f"--prompt {i}", t) for i, t in enumerate(args.prompt, 1)]
    elif args.input in (None, "-"):
        inputs = [(f"stdin line {i}", line) for i, line in enumerate(split_lines(sys.stdin.read()), 1)]
    else:
        try:  # a folder, a missing file or bytes that are not UTF-8 (named by line): one line saying so
            text = read_text(args.input)
        except TandemError as e:
            raise TandemError(f"--input {e}") from None
        inputs = [(f"--input {args.input} line {i}", line) for i, line in enumerate(split_lines(text), 1)]
    if not args.prompt:
        inputs = [(where, t) for where, t in inputs if t.strip()]
    from tandem.finetune import reads_clm_prefix

    if args.clm is None and reads_clm_prefix(model.config):  # as it was fine-tuned (finetune --clm-prefix)
        print(f"{args.model} was fine-tuned with --clm-prefix: inputs start with '[CLM] '", file=sys.stderr)
        inputs = [(where, t if t.startswith("[CLM]") else "[CLM] " + t) for where, t in inputs]
    elif args.clm:
        inputs = [(where, "[CLM] " + t) for where, t in inputs]
    texts = [t for _, t in inputs]
    # Like `tandem evaluate` (which skips, never cuts, a query the model cannot hold), an input longer than
    # the encoder's learned positions is refused: cutting it would drop its end and its EOS.
    limit = model.config.max_positions if model.config.position_type == "learned" else None
    framing = affixes(tok)  # as `tok(text)` frames it: tandem's EOS after, BART's <s> ... </s>, mBART's code
    encoded = []
    for where, t in inputs:
        try:  # invalid UTF-8 on stdin arrives as lone surrogates: name the line, as `tokenizer encode` does
            encoded.append(frame(tok.encode(t), framing)[0])
        except TandemError as e:
            raise TandemError(f"{where}: {e}") from None
    for (where, _), ids in zip(inputs, encoded):
        if limit is not None and len(ids) > limit:
            raise TandemError(
                f"{where} is {len(ids)} tokens (with EOS) but this model takes at most {limit} "
                f"(max_positions {limit}); shorten it, generate does not truncate inputs"
            )
    options = _decoding_options(args, model, tok)
    n_new = with_model_defaults(model.config, options).get("max_new_tokens")
    if limit is not None and isinstance(n_new, int) and n_new > limit:
        # the decoder takes the start token and all new tokens but the last, one learned position each: past
        # that, generation died mid-way (after printing earlier batches) with a ValueError traceback
        raise TandemError(
            f"--max-new-tokens {n_new} is more than this model can generate: its decoder has max_positions "
            f"{limit}, so at most {limit} new tokens; lower --max-new-tokens"
        )

    def line_generator(i: int) -> torch.Generator:
        # one per input, seeded from (--seed, its index): a line's samples do not depend on --batch-size
        # or on the lines decoded beside it
        seed = np.random.SeedSequence((args.seed % 2**64, i)).generate_state(1, np.uint64)[0]
        return torch.Generator(device=device).manual_seed(int(seed))

    for start in range(0, len(texts), args.batch_size):
        chunk = texts[start : start + args.batch_size]
        ids = encoded[start : start + args.batch_size]
        width = max(len(x) for x in ids)
        batch = torch.tensor([x + [tok.pad_id] * (width - len(x)) for x in ids], device=device)
        mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in ids], device=device)
        out = model.generate(
            batch,
            attention_mask=mask,
            **options,
            stop_strings=args.stop,
            tokenizer=tok,
            generator=[line_generator(start + i) for i in range(len(chunk))],
            eos_token_id=tok.eos_id,
        )
        for text, row in zip(chunk, out.tolist()):
            completion = tok.decode(row[1:])
            if args.stop:
                completion = postprocess(completion, args.stop)
            if args.json:
                print(json.dumps({"input": text, "output": completion}, ensure_ascii=False))
            else:
                print(completion)
    return 0
