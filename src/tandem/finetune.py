"""Supervised seq2seq fine-tuning: data loading, batching, the training loop, dev evaluation.

Data is either jsonl with `source` / `target` fields or a named task (`slu`: SNIPS folders, SLURP/MASSIVE
jsonl, xSID CoNLL via `tandem.slu`). Spoken-language understanding is cast as seq2seq: the utterance maps
to `tandem.slu.linearize(intent, slots)` and generated parses are read back with `parse_linearized` and
scored as intent accuracy / slot F1 / exact match.

Optionally (`SLULabels`, `tandem finetune --slu-tags`) each intent and slot name is one reserved tokenizer
tag, as AlexaTM reserved 1K vocabulary entries for downstream tags: the target becomes a few tag tokens
plus the copied slot values (`<tag_3><tag_17> the beatles<tag_21> my playlist`) instead of names split
into many pieces. The label vocabulary is saved beside the model as `labels.json`; generations are mapped
back to the linearised format before `parse_linearized`.

`fit` is the one training loop: fine-tuning calls it with the plain cross-entropy, distillation
(`tandem.distill`) with its own loss. It evaluates on a dev set every `eval_every` steps, keeps the best
weights, stops early after `patience` evaluations without improvement and restores the best weights.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import random
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from tandem.decoding import forced_first_token  # re-exported: fine-tuning frames targets with it
from tandem.devices import torch_device
from tandem.errors import TandemError, download_hint, looks_like_hub_name
from tandem.jsonl import iter_jsonl
from tandem.model.generation import GREEDY
from tandem.slu import SLULabels
from tandem.tokenizer import affixes, frame

TASKS = ("slu",)
# Metrics where higher is better; everything else (loss) is minimised.
_HIGHER_IS_BETTER = {"intent_acc", "slot_f1", "exact_match", "accuracy", "score"}


# ============================================================================================= data
@dataclass
class Pair:
    """One supervised example; `gold` keeps the structured reference for task metrics (an SLUExample)."""

    source: str
    target: str
    gold: Any = None
    line: int | None = None  # the jsonl line it was read from, for messages


@dataclass
class Encoded:
    """Token ids of one example; `index` keys it in caches (teacher logits, generations)."""

    index: int
    source: list[int]
    target: list[int]


def load_jsonl_pairs(
    path: str | Path, source_field: str = "source", target_field: str = "target"
) -> list[Pair]:
    """Pairs from a jsonl file, one object per line with string `source` and `target` fields."""
    pairs = []
    for n, obj in iter_jsonl(path):
        for k in (source_field, target_field):
            if not isinstance(obj.get(k), str):
                raise TandemError(f"{path} line {n}: field {k!r} missing or not a string")
        pairs.append(Pair(obj[source_field], obj[target_field], line=n))
    return pairs


def slu_pairs(examples: Sequence[Any], labels: SLULabels | None = None) -> list[Pair]:
    """SLU examples (tandem.slu.SLUExample) as utterance -> linearised parse pairs (tag targets with
    `labels`). The source is the utterance's annotated tokens joined by spaces, the text its slot values are
    written in (and the utterance `tandem evaluate` prompts with), not its raw `text`: xSID's raw Japanese
    text is segmented otherwise ("今日" where the tokens are "今 日"), SLURP's is lowercased where a token is
    not ("friday" / "Friday"), and a model reading it would have to learn to re-segment to score."""
    if labels is None:
        return [Pair(" ".join(ex.tokens), ex.target, gold=ex) for ex in examples]
    return [Pair(" ".join(ex.tokens), labels.to_target(ex.intent, ex.slots), gold=ex) for ex in examples]


def load_pairs(data: str | Path, task: str | None = None, split: str | None = None) -> list[Pair]:
    """Pairs from `data`: jsonl (source, target) when `task` is None, else a named task's loader."""
    if task is None:
        return load_jsonl_pairs(data)
    if task == "slu":
        from tandem.slu import load_slu

        return slu_pairs(load_slu(data, split))
    raise TandemError(f"unknown task {task!r}; choose from {TASKS} or give jsonl with source/target fields")


def require_nonempty(pairs: Sequence, what: str) -> None:
    if not pairs:
        raise TandemError(f"{what} is empty: no examples to train or evaluate on; check the path and split")


def _where(pairs: Sequence[Pair]) -> str:
    lines = [p.line for p in pairs if p.line is not None]
    if not lines:
        return ""
    more = f", ... ({len(lines) - 5} more)" if len(lines) > 5 else ""
    return f" (line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines[:5]))}{more})"


def drop_empty(pairs: Sequence[Pair], what: str) -> tuple[list[Pair], str | None]:
    """The pairs with a non-blank source and target, and a line saying how many were skipped (None when
    none was). A pair with an empty (or whitespace-only) source or target teaches nothing but EOS; a data
    set of nothing else is a TandemError naming `what` ("training data x.jsonl")."""
    kept = [p for p in pairs if p.source.strip() and p.target.strip()]
    if len(kept) == len(pairs):
        return kept, None
    empty = [p for p in pairs if not (p.source.strip() and p.target.strip())]
    if not kept:
        raise TandemError(
            f"{what}: all {len(pairs)} pairs have an empty source or target{_where(empty)}: no usable "
            "example; fill in the `source` and `target` fields (or check --data and the field names)"
        )
    share = 100.0 * len(empty) / len(pairs)
    return kept, (
        f"{what}: skipped {len(empty)} of {len(pairs)} pairs ({share:.1f}%) with an empty source or target"
        f"{_where(empty)}"
    )


@dataclass
class Truncation:
    """How many examples `encode_pairs` cut to the length limits (`max_*_len`: the limits applied, EOS
    included), to report once before training."""

    examples: int = 0
    sources: int = 0
    targets: int = 0
    max_source_len: int = 0
    max_target_len: int = 0

    def summary(self, what: str, requested: tuple[int, int] | None = None) -> str | None:
        """One line naming the truncated sources and targets of `what` ("training data x.jsonl") with their
        share, or None when nothing was cut. `requested`: the --max-source-len / --max-target-len given,
        when a model's position table capped them."""
        parts = []
        for n, limit, flag, side, asked in (
            (self.sources, self.max_source_len, "--max-source-len", "sources", requested and requested[0]),
            (self.targets, self.max_target_len, "--max-target-len", "targets", requested and requested[1]),
        ):
            if n:
                why = (
                    flag
                    if not asked or asked == limit
                    else f"{flag} {asked}, capped at the model's positions"
                )
                share = 100.0 * n / max(1, self.examples)
                parts.append(f"{n} of {self.examples} {side} ({share:.1f}%) to {limit} tokens ({why})")
        if not parts:
            return None
        return (
            f"{what}: truncated {' and '.join(parts)}; the model never sees the cut tokens: raise the limit "
            "to keep them"
        )


def encode_pairs(
    tokenizer: Any,
    pairs: Sequence[Pair],
    clm_prefix: bool = False,
    max_source_len: int = 256,
    max_target_len: int = 256,
    start_index: int = 0,
    truncation: Truncation | None = None,
    target_start: int | None = None,
) -> list[Encoded]:
    """Tokenise pairs, framed as the tokenizer frames them (`tandem.tokenizer.affixes`): a source as
    `tok(source)` (tandem, T5: `... </s>`; BART `<s> ... </s>`; mBART `... </s> src_lang`), a target as
    `tok(text_target=target)` writes labels (mBART `... </s> tgt_lang`, mBART-50 `tgt_lang ... </s>`); the
    text is cut at its end to the max lengths, the framing tokens kept.

    With `clm_prefix`, sources start with `[CLM] ` (AlexaTM's causal-LM mode, best for in-context use).
    `target_start`, when given, is the first token of every target (`forced_first_token`: the token the
    model's decoding forces first, which it must also be trained to see there; see `target_framing`).
    `truncation`, when given, is filled with how many sources and targets were cut.
    """
    check_lengths(max_source_len, max_target_len)
    if clm_prefix and getattr(tokenizer, "clm_id", None) is None:
        raise TandemError("--clm-prefix needs a tokenizer with a [CLM] token; this one has none")
    src_affixes, tgt_affixes = affixes(tokenizer), target_framing(tokenizer, target_start)
    out = []
    cut_src = cut_tgt = 0
    for i, p in enumerate(pairs):
        src, src_cut = frame(
            tokenizer.encode(("[CLM] " + p.source) if clm_prefix else p.source), src_affixes, max_source_len
        )
        tgt, tgt_cut = frame(tokenizer.encode(p.target), tgt_affixes, max_target_len)
        cut_src += src_cut
        cut_tgt += tgt_cut
        out.append(Encoded(start_index + i, src, tgt))
    if truncation is not None:
        truncation.examples, truncation.sources, truncation.targets = len(pairs), cut_src, cut_tgt
        truncation.max_source_len, truncation.max_target_len = max_source_len, max_target_len
    return out


def target_framing(tokenizer: Any, target_start: int | None = None) -> tuple[list[int], list[int]]:
    """How targets are framed in the labels: the tokenizer's target affixes (`tok(text_target=...)`), with
    `target_start` (a forced first token) first when they do not already start with it (a tandem or T5
    tokenizer under a model that forces BART's `<s>`). A TandemError when the tokenizer starts targets with
    another token (an mBART-50 `tgt_lang` other than the language the model's decoding forces)."""
    pre, post = affixes(tokenizer, target=True)
    if target_start is None or pre[:1] == [target_start]:
        return pre, post
    if pre:
        name = getattr(tokenizer, "id_to_token", str)
        raise TandemError(
            f"the tokenizer starts every target with {name(pre[0])!r} (id {pre[0]}) but the model's decoding "
            f"forces {name(target_start)!r} (id {target_start}) first (forced_bos_token_id): set the "
            "tokenizer's tgt_lang (tokenizer_config.json) or the model's generation_config.json to agree"
        )
    return [target_start], post


def wrapped_decoder_start(tokenizer: Any) -> int | None:
    """The decoder start token Hugging Face's mBART trains with when the tokenizer ends targets with a
    language code (mBART-cc25's `... </s> tgt_lang`): its `shift_tokens_right` moves the labels' last token to
    the front, so the decoder starts from that code (as mBART-cc25 generates: `decoder_start_token_id` set to
    the target language). None when targets end with EOS (tandem, T5, BART, mBART-50: the model's own start
    token is the one HF uses)."""
    post = affixes(tokenizer, target=True)[1]
    eos = getattr(tokenizer, "eos_id", None)
    return post[-1] if post and post[-1] != eos else None


def match_decoder_start(config: Any, tokenizer: Any) -> str | None:
    """Set `config.decoder_start_token_id` to `wrapped_decoder_start(tokenizer)` when that is not None and
    differs, so that tandem's shifted labels are the decoder input Hugging Face's mBART trains with; returns
    a note saying so (None when nothing changed)."""
    start = wrapped_decoder_start(tokenizer)
    if start is None or config.decoder_start_token_id == start:
        return None
    old, config.decoder_start_token_id = config.decoder_start_token_id, start
    name = getattr(tokenizer, "id_to_token", str)(start)
    return (
        f"targets end with the language code {name!r} (the tokenizer's tgt_lang), which mBART moves to the "
        f"front of the decoder input: decoder_start_token_id is now {start} (was {old}), for training and "
        "generation alike"
    )


def check_lengths(max_source_len: int, max_target_len: int, max_new_tokens: int | None = None) -> None:
    """A TandemError naming the flag when a length limit leaves no room for a token (a source or target
    keeps at least its EOS; a dev generation at least one new token)."""
    limits = {"--max-source-len": max_source_len, "--max-target-len": max_target_len}
    if max_new_tokens is not None:
        limits["--max-new-tokens"] = max_new_tokens
    for name, v in limits.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise TandemError(f"{name} must be an integer >= 1, got {v!r}")


def length_limits(configs: Sequence[Any], max_source_len: int, max_target_len: int) -> tuple[int, int]:
    """The truncation lengths capped at the `max_positions` of every model (config) with a learned
    position table, so that no example is longer than a model can embed."""
    for c in configs:
        if getattr(c, "position_type", None) == "learned":
            max_source_len = min(max_source_len, c.max_positions)
            max_target_len = min(max_target_len, c.max_positions)
    return max_source_len, max_target_len


def collate(examples: Sequence[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded batch: input_ids, attention_mask, labels (-100 on padding) and example ids."""
    S = max(len(e.source) for e in examples)
    T = max(len(e.target) for e in examples)
    input_ids = torch.full((len(examples), S), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), S), dtype=torch.long)
    labels = torch.full((len(examples), T), -100, dtype=torch.long)
    for b, e in enumerate(examples):
        input_ids[b, : len(e.source)] = torch.tensor(e.source)
        attention_mask[b, : len(e.source)] = 1
        labels[b, : len(e.target)] = torch.tensor(e.target)
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "labels": labels,
        "ids": torch.tensor([e.index for e in examples]),
    }


def batch_order(
    examples: Sequence[Encoded], batch_size: int, shuffle: bool = True, seed: int = 0
) -> list[list[int]]:
    """The positions in `examples` of each batch `iterate_batches` yields, in order: ceil(n / batch_size)
    batches of similar lengths (shuffled pools of 50 batches sorted by length, batches shuffled), so that
    little compute goes to padding."""
    order = list(range(len(examples)))
    rng = random.Random(seed)
    if shuffle:
        rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for s in range(0, len(order), pool):
        chunk = sorted(order[s : s + pool], key=lambda i: len(examples[i].source) + len(examples[i].target))
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    if shuffle:
        rng.shuffle(batches)
    return batches


def iterate_batches(
    examples: Sequence[Encoded], batch_size: int, pad_id: int, shuffle: bool = True, seed: int = 0
) -> Iterator[dict[str, torch.Tensor]]:
    """Collated batches in `batch_order`."""
    for b in batch_order(examples, batch_size, shuffle, seed):
        yield collate([examples[i] for i in b], pad_id)


def to_device(batch: dict[str, torch.Tensor], device: torch.device | str) -> dict[str, torch.Tensor]:
    # example ids stay on the CPU: they key caches, and reading them from a GPU would sync every step
    return {k: (v if k == "ids" else v.to(device)) for k, v in batch.items()}


# ============================================================================================= evaluation
@torch.no_grad()
def evaluate_loss(model: nn.Module, examples: Sequence[Encoded], batch_size: int = 64) -> float:
    """Mean token cross-entropy of the model on examples (teacher forcing)."""
    was = model.training
    model.eval()
    total, count = 0.0, 0
    pad = model.config.pad_token_id
    for batch in iterate_batches(examples, batch_size, pad, shuffle=False):
        batch = to_device(batch, model.device)
        out = model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
        )
        n = int((batch["labels"] != -100).sum())
        total += float(out.loss) * n
        count += n
    model.train(was)
    return total / max(1, count)


@torch.no_grad()
def generate_texts(
    model: nn.Module,
    tokenizer: Any,
    examples: Sequence[Encoded],
    batch_size: int = 64,
    max_new_tokens: int = 64,
    **gen_kwargs: Any,
) -> list[str]:
    """Greedy generations (unless `gen_kwargs` say otherwise: not the model's decoding defaults, such as a
    checkpoint's beam search) for encoded examples, decoded, in the examples' order. At most `max_new_tokens`
    new tokens, and no more than a learned position table holds (`generation_limit`)."""
    max_new_tokens = generation_limit(model.config, max_new_tokens)
    texts: list[str] = [""] * len(examples)
    pos = {e.index: k for k, e in enumerate(examples)}
    for batch in iterate_batches(examples, batch_size, model.config.pad_token_id, shuffle=False):
        ids = model.generate(
            batch["input_ids"].to(model.device),
            batch["attention_mask"].to(model.device),
            max_new_tokens=max_new_tokens,
            **{**GREEDY, **gen_kwargs},
        )
        for ex, row in zip(batch["ids"].tolist(), ids.tolist()):
            texts[pos[ex]] = tokenizer.decode(row[1:], skip_special_tokens=True)
    return texts


def generation_limit(config: Any, max_new_tokens: int) -> int:
    """`max_new_tokens` capped at the model's `max_positions` when its positions are learned: the decoder
    reads one position per token, and `generate` refuses a longer limit (the default 64 of
    --max-new-tokens failed the first dev evaluation of a 48-position model, after its training steps).
    Targets are cut to `max_positions` too, so the cap loses no token a target could hold."""
    if getattr(config, "position_type", None) == "learned":
        return min(max_new_tokens, config.max_positions)
    return max_new_tokens


def long_targets_note(encoded: Sequence[Encoded], limit: int, what: str = "dev data") -> str | None:
    """A line naming the targets a generation of at most `limit` new tokens cannot write whole (their tokens
    before EOS number more than `limit`), to print before training; None when every target fits. Their dev
    generations are cut, so they score as no exact match and lose slots at the end, whatever the model."""
    long = [len(e.target) - 1 for e in encoded if len(e.target) - 1 > limit]
    if not long:
        return None
    share = 100.0 * len(long) / len(encoded)
    return (
        f"{what}: {len(long)} of {len(encoded)} targets ({share:.1f}%) are longer than the {limit} tokens a dev "
        f"generation may have (--max-new-tokens): their generations are cut, so they never score as exact "
        f"matches; --max-new-tokens {max(long)} covers every target"
    )


def score_slu(
    pairs: Sequence[Pair], predictions: Sequence[str], labels: SLULabels | None = None
) -> dict[str, float]:
    """Intent accuracy, slot F1 and exact match (0-100) of generated linearised (or, with `labels`,
    tag-format) parses."""
    from tandem.slu import parse_linearized, slu_metrics

    if labels is not None:
        predictions = [labels.to_linearized(t) for t in predictions]
    parsed = [parse_linearized(t) for t in predictions]
    m = slu_metrics([p.gold for p in pairs], [i for i, _ in parsed], [s for _, s in parsed])
    return {k: m[k] for k in ("intent_acc", "slot_f1", "exact_match")}


def score_exact(pairs: Sequence[Pair], predictions: Sequence[str]) -> dict[str, float]:
    """Percentage of generations equal to the target after whitespace normalisation."""
    ok = sum(" ".join(p.target.split()) == " ".join(t.split()) for p, t in zip(pairs, predictions))
    return {"exact_match": 100.0 * ok / max(1, len(pairs))}


def evaluator_metrics(pairs: Sequence[Pair] | None, generate: bool = True) -> list[str]:
    """The dev metrics `make_evaluator` computes for `pairs` (none without a dev set)."""
    if pairs is None:
        return []
    if not generate:
        return ["loss"]
    if pairs and pairs[0].gold is not None:
        return ["loss", "intent_acc", "slot_f1", "exact_match"]
    return ["loss", "exact_match"]


def check_metric(metric: str, dev_pairs: Sequence[Pair] | None, generate: bool = True) -> None:
    """A TandemError, before any training, when --metric is not one the dev evaluation computes."""
    if metric == "loss" and dev_pairs is None:
        return
    available = evaluator_metrics(dev_pairs, generate)
    if metric in available:
        return
    if not available:
        raise TandemError(
            f"--metric {metric} needs a dev set; give --dev FILE or --dev-holdout N, or use --metric loss"
        )
    why = (
        "--no-generate-eval computes the dev loss only"
        if not generate
        else "intent_acc and slot_f1 need --task slu"
        if metric in ("intent_acc", "slot_f1")
        else "it is not a dev metric"
    )
    raise TandemError(f"--metric {metric} is not computed here ({why}); choose from {', '.join(available)}")


def make_evaluator(
    tokenizer: Any,
    pairs: Sequence[Pair],
    encoded: Sequence[Encoded],
    generate: bool = True,
    batch_size: int = 64,
    max_new_tokens: int = 64,
    labels: SLULabels | None = None,
) -> Callable[[nn.Module], dict[str, float]]:
    """A dev-set evaluator: loss always; generation metrics (SLU when pairs carry gold parses) if `generate`."""

    def evaluate(model: nn.Module) -> dict[str, float]:
        out = {"loss": evaluate_loss(model, encoded, batch_size)}
        if generate:
            preds = generate_texts(model, tokenizer, encoded, batch_size, max_new_tokens)
            out.update(
                score_slu(pairs, preds, labels)
                if pairs and pairs[0].gold is not None
                else score_exact(pairs, preds)
            )
        return out

    return evaluate


# ============================================================================================= training
@dataclass
class TrainConfig:
    """Hyper-parameters of `fit` (fine-tuning and distillation share them)."""

    epochs: float = 3.0
    max_steps: int = 0  # > 0 overrides epochs
    batch_size: int = 32
    lr: float = 5e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.05
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    eval_every: int = 0  # steps; 0 = once per epoch
    patience: int = 0  # evaluations without improvement before stopping; 0 = never stop early
    metric: str = (
        "loss"  # dev metric selecting the best checkpoint: loss | intent_acc | slot_f1 | exact_match
    )
    log_every: int = 50
    seed: int = 0
    device: str = "auto"
    ckpt_every: int = (
        500  # steps between checkpoints in <out>/checkpoints; 0: only when the run ends or stops
    )
    resume: bool = False  # continue from the checkpoint in <out>/checkpoints (a fresh start when none)
    stop_after: int | None = None  # stop, with a checkpoint, after this many steps of this call

    def validate(self) -> None:
        """A TandemError naming the flag of the first setting out of range (checked before any compute: a
        zero or negative batch size, a NaN or infinite rate, no step to run)."""

        def flag(name: str) -> str:
            return "--" + name.replace("_", "-")

        for name in ("epochs", "lr", "weight_decay", "warmup_ratio", "min_lr_ratio", "grad_clip"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise TandemError(f"{flag(name)} must be a finite number, got {v!r}")
        for name in ("max_steps", "batch_size", "eval_every", "patience", "log_every", "seed", "ckpt_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise TandemError(f"{flag(name)} must be an integer, got {v!r}")
        for name in ("batch_size", "log_every"):
            if getattr(self, name) < 1:
                raise TandemError(f"{flag(name)} must be >= 1, got {getattr(self, name)}")
        for name in ("max_steps", "eval_every", "patience", "ckpt_every", "weight_decay", "grad_clip"):
            if getattr(self, name) < 0:
                raise TandemError(f"{flag(name)} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.seed < 2**64:  # numpy's and torch's seed range: outside it a traceback mid-run
            raise TandemError(f"--seed must be an integer in [0, 2**64), got {self.seed}")
        if self.max_steps > MAX_STEPS:
            raise TandemError(f"--max-steps must be at most {MAX_STEPS} (2**63 - 1), got {self.max_steps}")
        if self.max_steps == 0 and self.epochs <= 0:
            raise TandemError(f"--epochs must be > 0 (or give --max-steps), got {self.epochs}")
        if self.lr <= 0:
            raise TandemError(f"--lr must be > 0, got {self.lr}")
        if not 0 <= self.warmup_ratio <= 1:
            raise TandemError(f"--warmup-ratio must be in [0, 1], got {self.warmup_ratio}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise TandemError(f"--min-lr-ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.stop_after is not None and self.stop_after < 1:
            raise TandemError(f"--stop-after must be >= 1 (steps of this run), got {self.stop_after}")
        self.resolved_device()

    def resolved_device(self) -> torch.device:
        """The torch device; one that is no device, or a GPU this machine lacks, is a one-line error
        (torch failed with an AssertionError traceback at the first tensor moved to a missing GPU)."""
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch_device(self.device, hint="use auto or cpu")


# the most optimizer steps a run may have: the step counter is an int64 on the device
MAX_STEPS = 2**63 - 1


def planned_steps(cfg: TrainConfig, num_examples: int, flag: str = "--epochs") -> int:
    """The optimizer steps of a run over `num_examples` examples: `cfg.max_steps`, else `cfg.epochs` passes
    (at least 1). A TandemError naming `flag` when the epochs give more than `MAX_STEPS` (`--epochs 1e300`
    planned 4e300 steps with a learning rate of 1e-303 at the first; 1.7e308, an OverflowError)."""
    if cfg.max_steps > 0:
        return cfg.max_steps
    steps = cfg.epochs * math.ceil(num_examples / cfg.batch_size)
    if not steps <= MAX_STEPS:
        raise TandemError(
            f"{flag} {cfg.epochs:g} over {num_examples} examples at --batch-size {cfg.batch_size} makes "
            f"{steps:.3g} optimizer steps, more than a run can count ({MAX_STEPS}); give fewer {flag}"
            + (" or --max-steps" if flag == "--epochs" else "")
        )
    return max(1, int(round(steps)))


@dataclass
class FitResult:
    best_metric: float | None
    best_step: int
    steps: int
    stopped_early: bool
    history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0
    # "SIGINT" / "SIGTERM" when a signal ended the run early, "stop_after" when `TrainConfig.stop_after` did
    interrupted: str | None = None
    start_step: int = 0  # the step this call started from (> 0 when it resumed a checkpoint)


LossFn = Callable[[nn.Module, dict[str, torch.Tensor], int], tuple[torch.Tensor, dict[str, float]]]


def ce_loss(
    model: nn.Module, batch: dict[str, torch.Tensor], step: int
) -> tuple[torch.Tensor, dict[str, float]]:
    """Plain teacher-forced cross-entropy (fine-tuning)."""
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])
    return out.loss, {}


def _better(metric: str, new: float, old: float | None) -> bool:
    if old is None:
        return True
    return new > old if metric in _HIGHER_IS_BETTER else new < old


def _improves(
    metric: str, metrics: dict[str, float], best_val: float | None, best_loss: float | None
) -> bool:
    """Whether an evaluation beats the best so far: a better `metric`, or (metric other than loss) a tie on
    it with a lower dev loss, when the evaluator computes one."""
    new = metrics[metric]
    if _better(metric, new, best_val):
        return True
    loss = metrics.get("loss")
    return (
        metric != "loss"
        and new == best_val
        and loss is not None
        and best_loss is not None
        and loss < best_loss
    )


class _MetricsLog:
    def __init__(self, out_dir: Path | None, truncate_to: int | None = None):
        self.f = None
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / "metrics.jsonl"
            # resuming: the rows of steps after the checkpoint are about to be redone
            if truncate_to is not None and path.is_file() and path.stat().st_size > truncate_to:
                os.truncate(path, truncate_to)
            self.f = path.open("a", encoding="utf-8")

    def write(self, row: dict) -> None:
        if self.f is not None:
            self.f.write(json.dumps(row) + "\n")
            self.f.flush()

    def size(self) -> int:
        """Bytes written so far (every row is flushed)."""
        return os.fstat(self.f.fileno()).st_size if self.f is not None else 0

    def close(self) -> None:
        if self.f is not None:
            self.f.close()


@dataclass
class _Progress:
    """Where a `fit` run stands: what a checkpoint's trainer.json keeps besides weights, optimizer and RNG."""

    step: int = 0
    epoch: int = 0
    batch: int = 0  # batches of `epoch` done (its order: `batch_order` seeded with seed + epoch)
    best_val: float | None = None
    best_loss: float | None = None
    best_step: int = 0
    bad_evals: int = 0
    history: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0
    win_tokens: int = 0  # the metrics window in progress (its loss sum is a tensor, in the rank file)
    win_n: int = 0
    win_seconds: float = 0.0


def _examples_fingerprint(examples: Sequence[Encoded]) -> str:
    """A hash of the examples' indices and token ids (their order included)."""
    h = hashlib.sha256()
    for e in examples:
        h.update(np.asarray([e.index, len(e.source), *e.source, *e.target], dtype=np.int64).tobytes())
    return h.hexdigest()[:16]


# ModelConfig fields that describe where a model came from or how it decodes, not what it computes
_PROVENANCE = ("name", "extra", "generation")


def _fit_identity(
    model: nn.Module, train: Sequence[Encoded], cfg: TrainConfig, extra: nn.Module | None
) -> dict[str, Any]:
    """What a checkpoint must share with the run resuming it: the model, the data and its batching, the
    metric its best-so-far values are in."""
    mc = getattr(model, "config", None)
    model_cfg = mc.to_dict() if hasattr(mc, "to_dict") else None
    return {
        "examples": _examples_fingerprint(train),
        "num_examples": len(train),
        "batch_size": cfg.batch_size,
        "seed": cfg.seed,
        "metric": cfg.metric,
        "extra_parameters": sum(p.numel() for p in extra.parameters()) if extra is not None else 0,
        "model": {k: v for k, v in model_cfg.items() if k not in _PROVENANCE} if model_cfg else None,
    }


def _check_identity(saved: Any, now: dict[str, Any], path: Path) -> None:
    """A TandemError naming every difference between a checkpoint's run and this one."""
    if not isinstance(saved, dict):
        raise TandemError(
            f"{path} is not a fine-tuning checkpoint (its trainer.json names no run); resume it with the verb "
            "that wrote it"
        )
    diffs = []
    if saved.get("examples") != now["examples"]:
        diffs.append(
            f"the training examples differ ({saved.get('num_examples')} -> {now['num_examples']} examples: "
            "other data or split, another tokenizer or length limit, --clm-prefix, or the data file changed)"
        )
    for k in ("batch_size", "seed", "metric", "extra_parameters"):
        if saved.get(k) != now[k]:
            diffs.append(f"{k}: {json.dumps(saved.get(k))} -> {json.dumps(now[k])}")
    a, b = saved.get("model") or {}, now["model"] or {}
    for k in sorted(a.keys() | b.keys()):
        if a.get(k) != b.get(k):
            diffs.append(f"model {k}: {json.dumps(a.get(k))} -> {json.dumps(b.get(k))}")
    if diffs:
        raise TandemError(
            f"cannot resume from {path}: {'; '.join(diffs)}; resume with the run's own model, data and "
            "settings, or start over (--overwrite, or another --out)"
        )


def fit(
    model: nn.Module,
    train: Sequence[Encoded],
    cfg: TrainConfig,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    loss_fn: LossFn = ce_loss,
    out_dir: str | Path | None = None,
    extra_modules: nn.Module | None = None,
    tokenizer: Any = None,
    log: Callable[[str], None] | None = print,
    labels: SLULabels | None = None,
    warned: set[str] | None = None,
) -> FitResult:
    """Train `model` on encoded examples; evaluate, keep the best weights, stop early; restore the best.

    `warned`: the warnings already given in this run, shared by the fits of one run (a distillation's stages
    and chain links): a warning about the settings (a warmup covering every step) is given once, then added.

    `extra_modules` (e.g. hidden-state projections) are optimised with the model and kept in checkpoints,
    but not in best/. With `out_dir`: metrics.jsonl (step, loss, lr, tokens_per_s; eval rows), `best/` (the
    best checkpoint, with the tokenizer and `labels`), `fit.json` (the result) and `checkpoints/`.

    Checkpoints (`tandem.train.checkpoint.Checkpointer`, the last one kept) are written every
    `cfg.ckpt_every` steps, when the run ends and when it stops early: model and extra modules, optimizer,
    the step, epoch and position in the epoch's batch order, the RNG states, the best-so-far state (value,
    dev loss, step, evaluations without gain, history, weights), the metrics.jsonl length and, when
    `loss_fn` has `state_dict()` / `load_state_dict()`, the loss's own state. With `cfg.resume` the run
    continues exactly from the last one (a fresh start when there is none; a fresh start deletes an earlier
    run's checkpoints and metrics.jsonl rows): the same per-step losses, evaluations and weights as a run
    that never stopped. A checkpoint of another model, other training examples, batch size, seed, metric or extra modules is
    refused. `cfg.stop_after` ends this call after that many steps, with a checkpoint, as a signal does
    (`FitResult.interrupted` is "stop_after"; nothing is raised).

    A NaN or infinite loss ends the run, as in pretraining, with a TandemError naming the first such step,
    the last checkpoint (the resume point: no checkpoint, best/ or fit.json is written from the weights after
    a non-finite loss) and what to do (a lower lr). Every step's loss is watched on the device; it is read at
    each log line and before every evaluation and checkpoint.

    A SIGINT (Ctrl-C) or SIGTERM (preemption) ends the run after the step in progress, as in pretraining:
    no further evaluation; a checkpoint is written, the best weights so far (without a dev set: the current
    ones) are restored and saved, fit.json records the signal, and
    `tandem.train.trainer.TrainingInterrupted` is raised (its `exit_code` is 128 + the signal). A second
    Ctrl-C stops at once.

    Checkpoint selection: an evaluation is the new best when `cfg.metric` is better than the best so far;
    on a tie (exact match ties often on a small dev set) it is the new best only if `evaluate` also
    returns a dev "loss" and that loss is lower than the best checkpoint's, otherwise the earlier
    checkpoint is kept. A new best resets the --patience count.
    """
    from tandem.train.checkpoint import Checkpointer
    from tandem.train.optim import LRSchedule, build_optimizer, lower_lr_advice
    from tandem.train.trainer import TrainingInterrupted, _DeferredInterrupt

    require_nonempty(train, "the training set")
    cfg.validate()  # ranges of every setting, ckpt_every and stop_after included
    if cfg.metric != "loss" and evaluate is None:
        raise TandemError(f"metric {cfg.metric!r} needs a dev set; give one or use metric 'loss'")
    out = Path(out_dir) if out_dir is not None else None
    if cfg.resume and out is None:
        raise TandemError("resume needs the run's output folder: its checkpoints are there")
    device = cfg.resolved_device()
    model.to(device).train()
    params_owner = nn.ModuleDict({"model": model})
    if extra_modules is not None:
        extra_modules.to(device).train()
        params_owner["extra"] = extra_modules
    opt = build_optimizer(params_owner, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.98))
    params = [p for p in params_owner.parameters() if p.requires_grad]
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    total = planned_steps(cfg, len(train))
    warmup = int(cfg.warmup_ratio * total)
    sched = LRSchedule(cfg.lr, total, warmup=warmup, min_lr=cfg.lr * cfg.min_lr_ratio)
    warned = set() if warned is None else warned
    if warmup >= total > 1 and "warmup" not in warned:  # as pretraining warns for --warmup >= --steps
        warned.add("warmup")
        print(
            f"warning: --warmup-ratio {cfg.warmup_ratio:g} covers all {total} steps (warmup {warmup} >= steps "
            f"{total}): the learning rate rises over every step of the run and reaches --lr only at the last; "
            "lower --warmup-ratio (e.g. 0.1)",
            file=sys.stderr,
            flush=True,
        )
    eval_every = cfg.eval_every if cfg.eval_every > 0 else steps_per_epoch
    pad = model.config.pad_token_id
    torch.manual_seed(cfg.seed)

    ckpt = Checkpointer(out / "checkpoints", keep=1) if out is not None else None
    identity = _fit_identity(model, train, cfg, extra_modules)
    prog = _Progress()
    best_state: dict[str, torch.Tensor] | None = None
    win_loss: torch.Tensor | float = 0.0
    # the loss's own terms (distillation's kd, ce, hidden, onpolicy) over the metrics window: name -> (sum,
    # steps that reported it), logged as their mean as `loss` is, not the last step's value
    win_extra: dict[str, tuple[torch.Tensor | float, int]] = {}
    # a start from step 0 (no checkpoint, also on resume: the run was killed before its first one) empties
    # metrics.jsonl: the rows an earlier attempt wrote are of the steps about to be redone
    eval_pending, metrics_size = False, 0
    last = ckpt.latest() if ckpt is not None and cfg.resume else None
    if ckpt is not None and not cfg.resume and ckpt.root.exists():
        shutil.rmtree(ckpt.root)  # a fresh run: an earlier run's checkpoints must not be mixed with its own
    if last is not None:
        meta = json.loads((last / "trainer.json").read_text(encoding="utf-8"))
        _check_identity(meta.get("identity"), identity, last)
        meta, state = ckpt.load(last, params_owner, opt)  # weights, optimizer and RNG states
        prog = _Progress(**meta["progress"])
        if prog.step > total:  # was "resumed at step 4/2", then a finished run of 4 steps
            raise TandemError(
                f"cannot resume from {last}: it is at step {prog.step}, past the {total} steps this run is "
                "set to now (--max-steps, or --epochs); give a --max-steps of at least "
                f"{prog.step} (or the run's own settings), or use the model as it is"
                + (f" ({out / 'best'})" if out is not None else "")
            )
        best_state, win_loss = state["best_state"], state["win_loss"]
        win_extra = state.get("win_extra") or {}  # none in a checkpoint written before it was kept
        eval_pending, metrics_size = bool(meta["eval_pending"]), int(meta["metrics_bytes"])
        if state.get("loss") is not None and hasattr(loss_fn, "load_state_dict"):
            loss_fn.load_state_dict(state["loss"])
        # best/ as the checkpoint knew it: the stopped run may have saved a later best since
        if best_state is not None:
            current = {k: v.detach().clone() for k, v in model.state_dict().items()}
            model.load_state_dict(best_state)
            save_model(model, out / "best", tokenizer, labels)
            model.load_state_dict(current)
            del current
        elif evaluate is not None:
            shutil.rmtree(out / "best", ignore_errors=True)
        if log:
            log(f"resumed from {last} at step {prog.step}/{total}")
    start_step, saved_step, seconds_before = prog.step, prog.step, prog.train_seconds
    mlog = _MetricsLog(out, truncate_to=metrics_size)
    # the first step of this call whose loss was NaN/inf (0: none) and that loss, kept on the device so that
    # watching every step costs no sync; read before anything is saved or evaluated, and at each log line
    bad_step = torch.zeros((), dtype=torch.long, device=device)
    bad_loss = torch.zeros((), dtype=torch.float32, device=device)
    stop_at = total if cfg.stop_after is None else min(total, start_step + cfg.stop_after)
    t_start = time.perf_counter()
    win_t0 = t_start - prog.win_seconds

    def run_eval() -> bool:
        nonlocal best_state
        if evaluate is None:
            return False
        check_finite()  # diverged weights are neither scored nor kept as best/
        model.eval()
        metrics = evaluate(model)
        model.train()
        if cfg.metric not in metrics:
            raise TandemError(f"metric {cfg.metric!r} is not computed here; available: {sorted(metrics)}")
        row = {"step": prog.step, "epoch": prog.epoch, **{f"dev_{k}": v for k, v in metrics.items()}}
        prog.history.append(row)
        mlog.write(row)
        improved = _improves(cfg.metric, metrics, prog.best_val, prog.best_loss)
        if improved:
            prog.best_val, prog.best_step, prog.bad_evals = metrics[cfg.metric], prog.step, 0
            prog.best_loss = metrics.get("loss")
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            if out is not None:
                save_model(model, out / "best", tokenizer, labels)
        else:
            prog.bad_evals += 1
        if log:
            shown = " ".join(f"{k}={v:.4g}" for k, v in metrics.items())
            log(f"eval step {prog.step}: {shown}{' (best)' if improved else ''}")
        return cfg.patience > 0 and prog.bad_evals >= cfg.patience

    def check_finite() -> None:
        """A TandemError once a loss was not finite: the weights after it are not saved (neither as a
        checkpoint nor as best/), so the last checkpoint stays the resume point, as in pretraining."""
        bad = int(bad_step)
        if bad == 0:
            return
        mlog.close()
        value = float(bad_loss)
        msg = (
            f"step {bad}: the training loss is {value} (not finite: the model diverged or a batch is broken); "
            f"the run stopped at step {prog.step} without saving the weights after step {saved_step}"
        )
        last = ckpt.latest() if ckpt is not None else None
        if last is not None:
            msg += (
                f". The last good checkpoint, {last} (step {saved_step}), is kept: continue from it with "
                f"--resume and {lower_lr_advice(cfg)}"
            )
        elif out is not None:
            msg += (
                f". No checkpoint was written before it (--ckpt-every {cfg.ckpt_every}): start over with "
                f"--overwrite and {lower_lr_advice(cfg)}, and a smaller --ckpt-every to keep more of a run"
            )
        else:
            msg += f"; train again with {lower_lr_advice(cfg)}"
        if best_state is not None and out is not None:
            msg += f"; the best dev model so far (step {prog.best_step}) is in {out / 'best'}"
        raise TandemError(msg + "; or check the training data, or raise --warmup-ratio")

    def save_checkpoint(pending: bool) -> None:
        nonlocal saved_step
        check_finite()
        now = time.perf_counter()
        prog.train_seconds = seconds_before + (now - t_start)
        prog.win_seconds = now - win_t0
        meta = {
            "progress": asdict(prog),
            "eval_pending": pending,  # a signal skipped the evaluation due at this step: resuming runs it
            "metrics_bytes": mlog.size(),
            "total_steps": total,
            "identity": identity,
        }
        loss_state = loss_fn.state_dict() if hasattr(loss_fn, "state_dict") else None
        window = win_loss.cpu() if isinstance(win_loss, torch.Tensor) else win_loss
        extras = {k: (v.cpu() if isinstance(v, torch.Tensor) else v, n) for k, (v, n) in win_extra.items()}
        state = {"best_state": best_state, "win_loss": window, "win_extra": extras, "loss": loss_state}
        ckpt.save(prog.step, params_owner, opt, meta, state)
        saved_step = prog.step

    stopped = cfg.patience > 0 and prog.bad_evals >= cfg.patience
    # Ctrl-C / SIGTERM: finish the step, save, stop. The handlers stay until the model and fit.json are
    # written: a SIGTERM during the wrap-up (a preemption's signal sent twice) is only recorded, where the
    # default action would kill the process half-way through saving best/.
    interrupt = _DeferredInterrupt(enabled=True)
    with interrupt:
        if eval_pending:
            stopped = run_eval()
            eval_pending = False
        while prog.step < stop_at and not stopped and not interrupt.requested:
            order = batch_order(train, cfg.batch_size, True, cfg.seed + prog.epoch)
            for ids in order[prog.batch :]:
                batch = collate([train[i] for i in ids], pad)
                # counted on the CPU copy: no device sync per step
                prog.win_tokens += int(batch["attention_mask"].sum()) + int((batch["labels"] != -100).sum())
                batch = to_device(batch, device)
                lr = sched.apply(opt, prog.step)
                loss, extra = loss_fn(model, batch, prog.step)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip, foreach=device.type == "cuda")
                opt.step()
                prog.step += 1
                prog.batch += 1
                lv = loss.detach()
                first = (bad_step == 0) & ~torch.isfinite(lv)
                bad_step = torch.where(first, prog.step, bad_step)
                bad_loss = torch.where(first, lv.float(), bad_loss)
                win_loss = win_loss + lv
                prog.win_n += 1
                for k, v in extra.items():
                    total_k, n_k = win_extra.get(k, (0.0, 0))
                    win_extra[k] = (
                        total_k + (v.detach() if isinstance(v, torch.Tensor) else float(v)),
                        n_k + 1,
                    )
                step = prog.step
                if step % cfg.log_every == 0 or step == total:
                    check_finite()
                    dt = time.perf_counter() - win_t0
                    mean_loss = float(win_loss) / prog.win_n
                    row = {
                        "step": step,
                        "loss": mean_loss,
                        "lr": lr,
                        "tokens_per_s": prog.win_tokens / max(dt, 1e-9),
                    }
                    row.update({k: float(v) / n for k, (v, n) in win_extra.items()})
                    mlog.write(row)
                    if log:
                        log(
                            f"step {step}/{total} loss {row['loss']:.4f} lr {lr:.2e} {row['tokens_per_s']:.0f} tok/s"
                        )
                    win_loss, prog.win_tokens, prog.win_n, win_t0 = 0.0, 0, 0, time.perf_counter()
                    win_extra = {}
                if step % eval_every == 0 or step == total:
                    if interrupt.requested:
                        eval_pending = True
                    else:
                        stopped = run_eval()
                if stopped or step >= stop_at or interrupt.requested:
                    break
                if ckpt is not None and cfg.ckpt_every > 0 and step % cfg.ckpt_every == 0:
                    save_checkpoint(False)
            else:  # the epoch's batches are done
                prog.epoch, prog.batch = prog.epoch + 1, 0
        check_finite()  # before the wrap-up saves or returns anything (also without an out_dir)
        finished = stopped or prog.step >= total
        if (
            finished
            and not interrupt.requested
            and evaluate is not None
            and (not prog.history or prog.history[-1]["step"] != prog.step)
        ):
            run_eval()
        # never the step of the checkpoint resumed from (replacing it could lose it to a kill mid-write): a
        # resume from it redoes the same work; nor step 0 (nothing trained, no optimizer state)
        if ckpt is not None and prog.step > saved_step:
            save_checkpoint(eval_pending)
        signum = interrupt.signum
        paused = signum is None and not finished
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()
        seconds = seconds_before + time.perf_counter() - t_start
        result = FitResult(prog.best_val, prog.best_step, prog.step, stopped, prog.history, seconds)
        result.start_step = start_step
        if signum is not None:
            result.interrupted = signal.Signals(signum).name
        elif paused:
            result.interrupted = "stop_after"
        if out is not None:
            if evaluate is None or best_state is None:
                save_model(model, out / "best", tokenizer, labels)
            (out / "fit.json").write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
        mlog.close()
    where = f"; model in {out / 'best'}" if out is not None else ""
    if ckpt is not None and saved_step > 0:
        where += f", checkpoint in {ckpt.root}: continue with --resume"
    if signum is not None:
        if log:
            log(f"{result.interrupted} at step {prog.step}: stopped after the step{where}")
        raise TrainingInterrupted(signum, prog.step)
    if paused and log:
        log(f"stopped after {prog.step - start_step} steps of this run at step {prog.step}/{total}{where}")
    return result


def save_model(
    model: nn.Module, directory: str | Path, tokenizer: Any = None, labels: SLULabels | None = None
):
    """`save_pretrained` plus the SLU label vocabulary (labels.json) when there is one."""
    model.save_pretrained(directory, tokenizer=tokenizer)
    if labels is not None:
        labels.save(directory)


def clone_model(model: nn.Module) -> nn.Module:
    """An independent copy (same class, config and weights)."""
    return copy.deepcopy(model)


# ============================================================================================= high level
def load_or_train_tokenizer(
    path: str | Path | None,
    model_dir: str | Path | None,
    pairs: Sequence[Pair],
    vocab_size: int,
    reserved_tags: int = 0,
):
    """The tokenizer at `path`, else the one saved with `model_dir`, else one trained on `pairs` with
    `reserved_tags` tag slots (saved to `path` when given)."""
    from tandem.tokenizer import Tokenizer, VocabularyMismatch

    if path is not None and Path(path).exists():
        return Tokenizer.load(path)
    if path is None and model_dir is not None and Path(model_dir).is_dir():
        return Tokenizer.load(model_dir)
    require_nonempty(pairs, "the training set (needed to train a tokenizer)")
    texts = [p.source for p in pairs] + [p.target for p in pairs]
    try:
        tok = Tokenizer.train(iter(texts), vocab_size=vocab_size, reserved_tags=reserved_tags)
    except VocabularyMismatch as e:  # its advice names --character-coverage, which finetune/distill lack
        raise e.for_verb("the training examples' text", "add training examples") from e
    if path is not None:
        tok.save(path)
    return tok


def not_a_model_spec(spec: str) -> TandemError | None:
    """The error for a --model that is neither a checkpoint directory nor a preset name, else None (checked
    before any data is read or a tokenizer trained)."""
    from tandem.config import ModelConfig

    if Path(spec).is_dir() or spec in ModelConfig.preset_names():
        return None
    presets = ", ".join(ModelConfig.preset_names())
    msg = f"--model {spec!r} is neither a checkpoint directory nor a preset ({presets})"
    return TandemError(msg + (f"; {download_hint(spec)}" if looks_like_hub_name(spec) else ""))


def build_model(spec: str, tokenizer: Any, overrides: dict | None = None, device: str = "cpu") -> nn.Module:
    """A model from a checkpoint directory (loaded) or a preset name (fresh, sized to the tokenizer)."""
    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM

    if Path(spec).is_dir():
        model = Seq2SeqLM.from_pretrained(spec, device=device)
        if overrides:
            raise TandemError(
                "--model-overrides applies to presets only; this model was loaded from a directory"
            )
    elif spec in ModelConfig.preset_names():
        kw = dict(
            vocab_size=tokenizer.vocab_size,
            pad_token_id=tokenizer.pad_id,
            eos_token_id=tokenizer.eos_id,
            bos_token_id=tokenizer.bos_id if tokenizer.bos_id is not None else 0,
            decoder_start_token_id=tokenizer.eos_id,
        )
        for k, v in (overrides or {}).items():  # the tokenizer's settings: they were refused as a mismatch
            if k in kw and k != "decoder_start_token_id" and (k != "vocab_size" or v < kw[k]):
                raise TandemError(
                    f"--model-overrides {k} {v} contradicts the tokenizer ({k} {kw[k]}); leave {k} out: a preset "
                    "takes its vocabulary size and special ids from the tokenizer (--vocab-size sizes one trained "
                    "here)"
                )
        kw.update(overrides or {})
        model = Seq2SeqLM(ModelConfig.preset(spec, **kw))
    else:
        raise not_a_model_spec(spec)
    from tandem.distill.init import check_tokenizer_fits

    check_tokenizer_fits(model.config, tokenizer, "model")
    return model


def finetune(
    model: nn.Module,
    tokenizer: Any,
    train_pairs: Sequence[Pair],
    dev_pairs: Sequence[Pair] | None,
    cfg: TrainConfig,
    out_dir: str | Path | None = None,
    clm_prefix: bool = False,
    max_source_len: int = 256,
    max_target_len: int = 256,
    max_new_tokens: int = 64,
    generate_eval: bool = True,
    log: Callable[[str], None] | None = print,
    labels: SLULabels | None = None,
) -> FitResult:
    """Fine-tune on (source, target) pairs with dev evaluation, best-checkpoint selection and early stopping.

    With `labels` the pairs' targets are in tag format (see `slu_pairs`); it is saved with the checkpoint.
    A model whose decoding defaults force a first token (`forced_first_token`) trains on targets that begin
    with it, so that training sees the decoder input generation gives it. With `clm_prefix` the saved model
    records it (`config.extra["clm_prefix"]`, `CLM_PREFIX_KEY`), and `tandem generate` then starts its inputs
    with `[CLM] ` as training did. Decoding defaults that dev scoring overrides (`decode_as_dev_scoring`: a
    base checkpoint's beam search, minimum length, ...) are dropped, so the saved model decodes as it was
    scored.
    """
    require_nonempty(train_pairs, "the training set")
    train_pairs, skipped = drop_empty(train_pairs, "the training set")
    notes = [skipped]
    if dev_pairs is not None:
        require_nonempty(dev_pairs, "the dev set")
        dev_pairs, skipped = drop_empty(dev_pairs, "the dev set")
        notes.append(skipped)
    cfg.validate()
    check_lengths(max_source_len, max_target_len, max_new_tokens)
    check_metric(cfg.metric, dev_pairs, generate_eval)
    requested = (max_source_len, max_target_len)
    max_source_len, max_target_len = length_limits([model.config], max_source_len, max_target_len)
    cut = Truncation()
    start = forced_first_token(model.config)
    notes.append(match_decoder_start(model.config, tokenizer))
    train = encode_pairs(
        tokenizer, train_pairs, clm_prefix, max_source_len, max_target_len, truncation=cut, target_start=start
    )
    notes.append(cut.summary("training data", requested))
    evaluate = None
    if dev_pairs is not None:
        dev = encode_pairs(
            tokenizer,
            dev_pairs,
            clm_prefix,
            max_source_len,
            max_target_len,
            truncation=cut,
            target_start=start,
        )
        notes.append(cut.summary("dev data", requested))
        if generate_eval:
            notes.append(long_targets_note(dev, generation_limit(model.config, max_new_tokens)))
        evaluate = make_evaluator(
            tokenizer, dev_pairs, dev, generate_eval, max(64, cfg.batch_size), max_new_tokens, labels
        )
    if labels is not None:
        labels.check_tokenizer(tokenizer)
    for note in notes:
        if note and log:
            log(note)
    mark_clm_prefix(model.config, clm_prefix)  # every save of the model (best/) says how it reads inputs
    dropped = decode_as_dev_scoring(model.config)
    if dropped and log:
        shown = ", ".join(f"{k}={v}" for k, v in dropped.items())
        log(
            f"the model's decoding defaults ({shown}) are dropped: the fine-tuned model is scored, picked and "
            "saved with greedy decoding, which tandem generate, the server and an export then use too (pass "
            "e.g. --num-beams to tandem generate to decode otherwise)"
        )
    return fit(model, train, cfg, evaluate, ce_loss, out_dir, None, tokenizer, log, labels)


# decoding defaults that make a search other than greedy: dev scoring overrides them (GREEDY), so a
# fine-tuned model keeps none of them (length limits and forced first/last tokens stay). The sampling
# filters (temperature, top_k, top_p) stay: they change nothing in greedy decoding and are read only when a
# caller samples, which then samples as the base model did (a Hugging Face checkpoint's top_k 50)
_SEARCH_DEFAULTS = (
    "num_beams",
    "do_sample",
    "length_penalty",
    "early_stopping",
    "no_repeat_ngram_size",
    "repetition_penalty",
    "min_new_tokens",
)


def decode_as_dev_scoring(config: Any) -> dict[str, Any]:
    """Drop from a model's decoding defaults (`config.generation`) the settings that dev scoring overrides
    (beam search, sampling, n-gram blocking, repetition penalty, a minimum length: `GREEDY`), and return
    them; the sampling filters (temperature, top_k, top_p) stay for callers that sample. A base checkpoint's
    defaults (bart-large-cnn: 4 beams, min_length 56, no repeated 3-grams) were made for its own task; kept in
    the fine-tuned model, they made `tandem generate` decode otherwise than the dev metrics that picked it
    were measured (a copy task: 95% of the dev targets greedily, 22.5% with 4 beams, a minimum of 11 new
    tokens and no repeated 3-grams)."""
    gen = getattr(config, "generation", None)
    if not isinstance(gen, dict):
        return {}
    return {k: gen.pop(k) for k in _SEARCH_DEFAULTS if k in gen}


# ModelConfig.extra key of a model fine-tuned on `[CLM] `-prefixed sources (finetune --clm-prefix)
CLM_PREFIX_KEY = "clm_prefix"


def mark_clm_prefix(config: Any, clm_prefix: bool) -> None:
    """Record in a model's config whether it was fine-tuned on sources that start with `[CLM] ` (a model
    fine-tuned again without the prefix loses the mark), so that `tandem generate` prefixes its inputs the
    same way: a copy task fine-tuned with --clm-prefix generated 95% of its dev targets with the prefix and
    12.5% without it."""
    extra = getattr(config, "extra", None)
    if not isinstance(extra, dict):
        return
    if clm_prefix:
        extra[CLM_PREFIX_KEY] = True
    else:
        extra.pop(CLM_PREFIX_KEY, None)


def reads_clm_prefix(config: Any) -> bool:
    """Whether a model was fine-tuned on `[CLM] `-prefixed sources (`mark_clm_prefix`)."""
    extra = getattr(config, "extra", None)
    return isinstance(extra, dict) and extra.get(CLM_PREFIX_KEY) is True


def split_dev(
    pairs: Sequence[Pair], n_dev: int, seed: int = 0, flag: str = "n_dev"
) -> tuple[list[Pair], list[Pair]]:
    """A seeded random held-out dev split of `n_dev` pairs from a training set: (train, dev)."""
    if not 0 < n_dev < len(pairs):
        raise TandemError(
            f"{flag} {n_dev}: cannot hold out {n_dev} of {len(pairs)} training examples as a dev set; give "
            f"a number from 1 to {len(pairs) - 1} (at least one example must be left to train on)"
            if len(pairs) > 1
            else f"{flag} {n_dev}: the training data has {len(pairs)} example, none to spare for a dev set; "
            "give a --dev file instead"
        )
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    dev = set(order[:n_dev])
    return [p for i, p in enumerate(pairs) if i not in dev], [pairs[i] for i in sorted(dev)]
