"""lm-evaluation-harness bridge: importing this module registers the model name "tandem".

    python -c "import tandem.integrations.lm_eval, lm_eval.__main__ as m; m.cli_evaluate()" \
        --model tandem --model_args pretrained=DIR[,dtype=bfloat16] --batch_size 16 --device cpu --tasks ...
    # Python: import tandem.integrations.lm_eval
    #         lm_eval.simple_evaluate(model="tandem", model_args="pretrained=DIR,batch_size=16,device=cpu", ...)

(The plain `lm_eval` command does not import this module, so it does not know "tandem". lm-eval's command
line always passes --batch_size (default 1) and --device (default cuda:0) itself: give them there, not in
--model_args, where they are a duplicate keyword.) model_args: pretrained, tokenizer, batch_size (a number;
"auto" means 8), device, dtype (float32, bfloat16, float16, auto), add_eos, max_length (at most the
model's learned positions), max_gen_toks; any other key is an error.

DIR is anything `tandem.Seq2SeqLM.from_pretrained` loads (tandem, HF BART/mBART/T5, AlexaTM) with a
tokenizer `tandem.Tokenizer.load` reads (or `tokenizer=PATH`). Requests are tokenised as lm-eval's `hf`
model does with `backend=seq2seq`: the context is encoded with the tokenizer's special tokens (tandem, T5:
EOS appended; BART: `<s> ... </s>`; `add_eos=False` turns them off), the continuation without, trailing context spaces
move to the continuation; the continuation is tokenized in its context (the ids of context + continuation
after the context's own), as tandem's rank scoring does, which for T5/BART tokenizers equals encoding it
alone when it starts with whitespace (glued to its context, T5's "yes" after "mat." is `y` `es`, not `hf`'s
word-initial `▁yes`); a continuation follows the decoder start token alone, as in `hf`, also for a model whose decoding
forces a first token (mBART-50's language code, which `tandem evaluate` puts first). Unlike `hf`, requests
that share a context are scored with one encoder pass.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import torch
from lm_eval import utils as lm_utils
from lm_eval.api.model import TemplateLM
from lm_eval.api.registry import register_model
from lm_eval.models.utils import handle_stop_sequences, normalize_gen_kwargs, postprocess_generated_text
from tqdm import tqdm

from tandem.devices import torch_device
from tandem.errors import TandemError
from tandem.prompting.generation import stop_strings
from tandem.prompting.lm import EncoderDecoder
from tandem.prompting.scoring import continuation_ids, score_continuations
from tandem.tokenizer import frame

_DEFAULT_MAX_LENGTH = 2048

log = logging.getLogger(__name__)

# gen_kwargs keys passed on to generate besides until / max_gen_toks (and its aliases) / do_sample / temperature
GEN_OPTIONS = (
    "num_beams",
    "top_k",
    "top_p",
    "repetition_penalty",
    "no_repeat_ngram_size",
    "min_new_tokens",
    "length_penalty",
    "early_stopping",
    # transformers' token bans (tandem.decoding.TOKEN_BANS): what lm-eval's `hf` model passes to generate
    "bad_words_ids",
    "suppress_tokens",
    "begin_suppress_tokens",
)


# keys lm-eval itself may add to model_args (--max_batch_size, --trust_remote_code): nothing to do here
_IGNORED_ARGS = ("max_batch_size", "trust_remote_code")


def _as_bool(name: str, x: Any) -> bool:
    if isinstance(x, bool):
        return x
    s = str(x).strip().lower()
    if s in ("1", "true", "yes"):
        return True
    if s in ("0", "false", "no"):
        return False
    raise TandemError(f"model_args {name}={x!r}: give true or false")


def _whole(name: str, x: Any, least: int = 1) -> int:
    """`x` (an int or its digits, as lm-eval's argument parsing may leave it) as an int >= least."""
    text = str(x).strip()
    if isinstance(x, bool) or not (isinstance(x, int) or text.lstrip("-").isdigit()) or int(text) < least:
        raise TandemError(f"model_args {name}={x!r}: give a whole number >= {least}")
    return int(text)


def _torch_dtype(dtype: Any) -> torch.dtype | None:
    if dtype is None or dtype == "auto":
        return None
    found = dtype if isinstance(dtype, torch.dtype) else getattr(torch, str(dtype), None)
    if not isinstance(found, torch.dtype) or not found.is_floating_point:
        raise TandemError(f"model_args dtype={dtype!r}: give float32, bfloat16, float16 or auto")
    return found


def _torch_device(device: Any) -> torch.device:
    # lm-eval's CLI passes its default device, cuda:0, also on a machine without CUDA
    return torch_device(
        device,
        "model_args device=",
        "lm-eval's default device is cuda:0: pass --device cpu (or device=cpu in model_args) on a machine "
        "without one",
    )


@register_model("tandem")
class TandemLM(TemplateLM):
    """A tandem (or converted) encoder-decoder checkpoint as an lm-eval model."""

    backend = "seq2seq"

    def __init__(
        self,
        pretrained: str | None = None,
        tokenizer: str | None = None,
        batch_size: int | str = 8,
        device: str = "cpu",
        dtype: str | None = None,
        add_eos: bool | str = True,
        max_length: int | None = None,
        max_gen_toks: int = 256,
        model: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        from tandem.model import Seq2SeqLM
        from tandem.tokenizer import Tokenizer

        unknown = sorted(k for k in kwargs if k not in _IGNORED_ARGS)
        if unknown:
            raise TandemError(
                f"model_args {', '.join(unknown)} not understood by the tandem model; it takes pretrained, "
                "tokenizer, batch_size, device, dtype, add_eos, max_length, max_gen_toks"
            )
        if str(batch_size) == "auto" or str(batch_size).startswith("auto:"):
            batch_size = 8  # no automatic batch size search: a safe default
        self._batch_size = _whole("batch_size", batch_size)
        self._max_gen_toks = _whole("max_gen_toks", max_gen_toks)
        add_eos = _as_bool("add_eos", add_eos)
        if model is None:
            if not pretrained:
                raise TandemError("the tandem lm-eval model needs model_args pretrained=DIR")
            torch_dtype = _torch_dtype(dtype)
            _torch_device(device)
            model = Seq2SeqLM.from_pretrained(pretrained, device=device, dtype=torch_dtype)
        tok = (
            tokenizer
            if tokenizer is not None and not isinstance(tokenizer, str)
            else Tokenizer.load(tokenizer or pretrained)
        )
        # continuations follow the start token alone, as `hf` scores them, even where the model's decoding
        # forces a first token (mBART-50's language code; `tandem evaluate` scores after it)
        self.lm = EncoderDecoder(model, tok, add_eos=add_eos, forced_first=False)
        self.tokenizer = self.lm.tok
        self._device = torch.device(device)
        limit = self.lm.max_source_len
        if max_length is None:
            self._max_length = limit or _DEFAULT_MAX_LENGTH
        else:
            self._max_length = _whole("max_length", max_length)
            if limit is not None and self._max_length > limit:
                raise TandemError(
                    f"model_args max_length={max_length}: the model has {limit} learned positions; give at most {limit}"
                )

    # ------------------------------------------------------------------------------ properties lm-eval reads
    @property
    def eot_token_id(self) -> int:
        return self.lm.eos_id

    @property
    def prefix_token_id(self) -> int:
        # as lm-eval's `hf` model: BOS when the tokenizer has one (tandem: bos_id, transformers: bos_token_id)
        tok = self.tokenizer.tok
        bos = getattr(tok, "bos_id", None)
        if bos is None:
            bos = getattr(tok, "bos_token_id", None)
        return bos if bos is not None else self.lm.eos_id

    @property
    def max_length(self) -> int:
        return self._max_length

    @property
    def max_gen_toks(self) -> int:
        return self._max_gen_toks

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def tokenizer_name(self) -> str:
        return "tandem-sentencepiece"

    # ------------------------------------------------------------------------------------- tokenisation
    def tok_encode(self, string: str, add_special_tokens: bool | None = None, **kwargs: Any) -> list[int]:
        ids = self.tokenizer.encode(string)
        if add_special_tokens is not False and self.lm.add_eos:
            # the tokenizer's own framing, as `tok(string)` gives it (BART: <s> ... </s>; tandem, T5: ... </s>)
            ids = frame(ids, self.tokenizer.affixes())[0]
        left = kwargs.get("left_truncate_len")
        return ids[-left:] if left else ids

    def tok_decode(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(tokens)

    def _encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """As lm-eval's seq2seq requests (trailing context spaces move to the continuation; the context is
        encoded with EOS), except that the continuation is tokenized in its context, as tandem's own rank
        scoring does (`continuation_ids`): with a whitespace-keeping tokenizer such as tandem's, " yes" encoded
        alone has an extra dummy-prefix token that it never has after the prompt. Tokenizers that drop that
        prefix (T5's, BART's) give the same ids both ways for a continuation that starts with whitespace, so
        scores equal lm-eval `hf`'s for them; one glued to its context is split from it, not encoded alone."""
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:
            continuation, context = context[-n_spaces:] + continuation, context[:-n_spaces]
        # the context is encoded as written (`tok_encode`), so the continuation is split from it as written:
        # a "[CLM]" a tokenizer lacks stays text here, not the prefix `source_ids` would drop with a warning
        return self.tok_encode(context), continuation_ids(self.lm, continuation, context, split_clm=False)

    # ------------------------------------------------------------------------------------------ scoring
    def _loglikelihood_tokens(
        self,
        requests: list[tuple[tuple[str, str], list[int], list[int]]],
        disable_tqdm: bool = False,
        **kwargs: Any,
    ) -> list[tuple[float, bool]]:
        """Group requests by context, encode each context once, score every continuation against it."""
        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i, (_, ctx, cont) in enumerate(requests):
            if not cont:
                raise TandemError(f"lm-eval request {i} has an empty continuation")
            if len(cont) > self.max_length:
                # lm-eval's hf refuses it too (an assert): scoring only its last tokens would report a number
                # for another continuation, conditioned on a context that lacks the rest of it
                raise TandemError(
                    f"lm-eval request {i}: the continuation is {len(cont)} tokens, more than max_length "
                    f"{self.max_length}; it cannot be scored whole"
                )
            # like lm-eval's hf seq2seq: keep the last max_length tokens of the context
            groups[tuple(ctx[-self.max_length :])].append(i)
        keys = list(groups)
        conts = [[list(requests[i][2]) for i in groups[k]] for k in keys]
        bar = tqdm(total=len(keys), disable=disable_tqdm, desc="tandem loglikelihood (contexts)")
        scores = score_continuations(
            self.lm, [list(k) for k in keys], conts, self.batch_size, progress=bar.update
        )
        bar.close()
        out: list[tuple[float, bool] | None] = [None] * len(requests)
        for k, res in zip(keys, scores):
            for i, r in zip(groups[k], res):
                out[i] = (r.logprob, r.is_greedy)
                if requests[i][0] is not None:
                    self.cache_hook.add_partial("loglikelihood", requests[i][0], out[i])
        return out  # type: ignore[return-value]

    def loglikelihood_rolling(self, requests: list, disable_tqdm: bool = False) -> list[float]:
        """Perplexity-style scoring the way lm-eval's hf seq2seq does it: disjoint windows of the text, each
        decoded after the prefix token as the encoder input."""
        windows, owners = [], []
        for r_i, (string,) in enumerate(req.args for req in requests):
            for ctx, cont in map(
                lm_utils.make_disjoint_window,
                lm_utils.get_rolling_token_windows(
                    token_list=self.tok_encode(string),
                    prefix_token=self.prefix_token_id,
                    max_seq_len=self.max_length,
                    context_len=1,
                ),
            ):
                windows.append((None, ctx, cont))
                owners.append(r_i)
        scores = self._loglikelihood_tokens(windows, disable_tqdm=disable_tqdm)
        totals = [0.0] * len(requests)
        for r_i, (lp, _) in zip(owners, scores):
            totals[r_i] += lp
        for req, total in zip(requests, totals):
            self.cache_hook.add_partial("loglikelihood_rolling", req.args, total)
        return totals

    # --------------------------------------------------------------------------------------- generation
    def generate_until(self, requests: list, disable_tqdm: bool = False) -> list[str]:
        """Greedy (or sampled, when asked) generation cut at the request's stop strings. gen_kwargs other than
        until, max_gen_toks, do_sample, temperature and GEN_OPTIONS are refused, not ignored."""
        results: list[str | None] = [None] * len(requests)
        by_kwargs: dict[str, list[int]] = defaultdict(list)
        for i, req in enumerate(requests):
            by_kwargs[repr(sorted(req.args[1].items(), key=lambda kv: kv[0]))].append(i)
        bar = tqdm(total=len(requests), disable=disable_tqdm, desc="tandem generate_until")
        for idx in by_kwargs.values():
            kw = normalize_gen_kwargs(requests[idx[0]].args[1], self.max_gen_toks)
            # a newline stop also cuts at the newline replacement the model writes (AlexaTM's `<br>`), as in
            # `tandem evaluate`: with such a tokenizer a task's "\n" stop never appears in the decoded text
            until = stop_strings(self.lm, handle_stop_sequences(kw.pop("until", None), eos=None))
            max_new = int(kw.pop("max_gen_toks"))
            limit = self.lm.max_target_len
            if limit is not None and max_new > limit:
                # learned decoder positions end there: generating on would stop the run with an error
                log.warning(
                    "max_gen_toks %d is more than the decoder's %d positions; generating at most %d tokens",
                    max_new,
                    limit,
                    limit,
                )
                max_new = limit
            do_sample = bool(kw.pop("do_sample", False))
            temperature = float(kw.pop("temperature", 0.0) or 0.0)
            unknown = sorted(k for k in kw if k not in GEN_OPTIONS)
            if unknown:
                hint = " (give max_gen_toks, the number of new tokens)" if "max_length" in unknown else ""
                raise TandemError(
                    f"generate_until: gen_kwargs {', '.join(map(repr, unknown))} not supported{hint}; the "
                    "tandem model takes until, max_gen_toks (or max_new_tokens), do_sample, temperature, "
                    + ", ".join(GEN_OPTIONS)
                )
            ctxs = [requests[i].args[0] for i in idx]
            enc = [self.tok_encode(c)[-self.max_length :] for c in ctxs]
            order = sorted(range(len(idx)), key=lambda j: -len(enc[j]))
            for b in range(0, len(order), self.batch_size):
                chunk = order[b : b + self.batch_size]
                ids, mask = self.lm.pad([enc[j] for j in chunk], self.lm.pad_id)
                gen = self._generate(ids, mask, max_new, until, do_sample, temperature, kw)
                for j, row in zip(chunk, gen.tolist()):
                    new = row[1:]
                    if self.lm.eos_id in new:
                        new = new[: new.index(self.lm.eos_id)]
                    text = postprocess_generated_text(self.tok_decode(new), until, None)
                    results[idx[j]] = text
                    self.cache_hook.add_partial("generate_until", requests[idx[j]].args, text)
                bar.update(len(chunk))
        bar.close()
        return results  # type: ignore[return-value]

    def _generate(
        self,
        ids,
        mask,
        max_new: int,
        until: list[str],
        do_sample: bool,
        temperature: float,
        options: dict[str, Any],
    ):
        model = self.lm.model
        sample = do_sample and temperature > 0
        if self.lm.is_tandem:
            return model.generate(
                ids,
                mask,
                max_new_tokens=max_new,
                do_sample=sample,
                temperature=temperature if sample else 1.0,
                stop_strings=[u for u in until if u] or None,
                tokenizer=self.tokenizer if any(until) else None,
                **options,
            )
        if sample:
            options = {**options, "temperature": temperature}
        return model.generate(
            input_ids=ids, attention_mask=mask, max_new_tokens=max_new, do_sample=sample, **options
        )
