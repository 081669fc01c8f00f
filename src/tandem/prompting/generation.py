"""Greedy generation for prompts, stopped at stop strings and post-processed into answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from tandem.model.generation import GREEDY
from tandem.prompting.lm import EncoderDecoder

# transformers also has min_length (counting the start token) beside min_new_tokens
HF_GREEDY = {**GREEDY, "min_length": 0}


def postprocess(text: str, stop: Sequence[str] = ()) -> str:
    """Cut at the earliest stop string and strip surrounding whitespace."""
    cut = len(text)
    for s in stop:
        if s:
            j = text.find(s)
            if j != -1:
                cut = min(cut, j)
    return text[:cut].strip()


def stop_strings(lm: EncoderDecoder, stop: Sequence[str]) -> list[str]:
    """The non-empty stop strings, each one with a newline also in the form the model writes it: a tokenizer
    that cannot represent `\\n` encodes it as a replacement (`<br>` for AlexaTM-style models, see
    `Tokenizer.newline_mode`), which decoding gives back, never `\\n`. A space replacement is not added: it
    would cut every answer at its first word."""
    stops = [s for s in stop if s]
    repl = getattr(lm.tok.tok, "newline_mode", "native")
    if repl != "native" and repl.strip():
        stops += [r for r in (s.replace("\n", repl) for s in stops if "\n" in s) if r not in stops]
    return stops


@torch.inference_mode()
def generate_texts(
    lm: EncoderDecoder,
    prompts: Sequence[str],
    max_new_tokens: int = 32,
    stop: Sequence[str] = (";",),
    batch_size: int = 8,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """Greedy continuations of `prompts`, cut at the first stop string; batched longest first.

    A tokenizer that cannot represent `\\n` encodes it as a replacement (`<br>` for AlexaTM-style models, see
    `Tokenizer.newline_mode`), so the model writes, and decoding gives, that replacement where the prompts
    had a newline: a stop string with a newline also stops at its replaced form (not at a space replacement,
    which would cut every answer at its first word)."""
    sources = [lm.source_ids(p) for p in prompts]
    if lm.max_target_len is not None:  # the decoder reads the start token and all new tokens but the last
        max_new_tokens = max(1, min(max_new_tokens, lm.max_target_len))
    order = sorted(range(len(sources)), key=lambda i: -len(sources[i]))
    out: list[str] = [""] * len(sources)
    stops = stop_strings(lm, stop)
    bs = max(1, int(batch_size))  # as in rank scoring: below 1 means one prompt per pass
    for b in range(0, len(order), bs):
        idx = order[b : b + bs]
        ids, mask = lm.pad([sources[i] for i in idx], lm.pad_id)
        if lm.is_tandem:
            gen = lm.model.generate(
                ids,
                mask,
                max_new_tokens=max_new_tokens,
                stop_strings=stops or None,
                tokenizer=lm.tok if stops else None,
                **GREEDY,
            )
        else:  # a transformers model: its generation_config's beams, blocking... must not apply either
            gen = lm.model.generate(
                input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, **HF_GREEDY
            )
        for row, i in zip(gen.tolist(), idx):
            new = row[1:]  # drop the decoder start token
            if lm.eos_id is not None and lm.eos_id in new:
                new = new[: new.index(lm.eos_id)]
            out[i] = postprocess(lm.tok.decode(new), stops)
        if progress is not None:
            progress(len(idx))
    return out
