"""Seq2SeqStream: supervised (source, target) pairs as padded batches, shuffled per epoch, resumable."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tandem.data.sources import data_lines, open_data_file
from tandem.errors import TandemError
from tandem.jsonl import JSON_ERRORS, json_error_reason, lone_surrogate
from tandem.tokenizer import affixes, frame


def read_pairs(
    path: str | Path, source_field: str = "source", target_field: str = "target", strict: bool = False
) -> tuple[list[tuple[str, str]], Counter, list[str]]:
    """Pairs from a jsonl file (a .gz one read through gzip, as a pretraining source's). Bad rows are skipped
    and counted (or raise TandemError when strict); a damaged .gz file is a TandemError naming it."""
    p = Path(path)
    if not p.is_file():
        raise TandemError(
            f"{p}: file not found (expected jsonl with {source_field!r}/{target_field!r} fields)"
        )
    pairs: list[tuple[str, str]] = []
    counts: Counter = Counter()
    problems: list[str] = []
    with open_data_file(p, "fine-tuning data") as fh:
        for lineno, raw in enumerate(data_lines(fh, p, "fine-tuning data"), 1):
            problem = None
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                problem = ("invalid_utf8", f"{p} line {lineno}: invalid UTF-8")
            else:
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except JSON_ERRORS as e:
                    problem = ("bad_json", f"{p} line {lineno}: invalid JSON ({json_error_reason(e)})")
                else:
                    missing = [
                        f
                        for f in (source_field, target_field)
                        if not isinstance(row, dict) or not isinstance(row.get(f), str)
                    ]
                    if missing:
                        problem = (
                            "missing_field",
                            f"{p} line {lineno}: field {missing[0]!r} missing or not a string",
                        )
                    else:
                        bad = lone_surrogate(source_field, row[source_field]) or lone_surrogate(
                            target_field, row[target_field]
                        )
                        if bad:  # SentencePiece cannot encode it: the batch would fail, not name the line
                            problem = ("invalid_utf8", f"{p} line {lineno}: {bad}")
                        else:
                            pairs.append((row[source_field], row[target_field]))
            if problem:
                if strict:
                    raise TandemError(problem[1])
                counts[problem[0]] += 1
                problems.append(problem[1])
    return pairs, counts, problems


class Seq2SeqStream:
    """Batches of tokenised (source, target) pairs for fine-tuning.

    data: a jsonl path (fields `source_field` / `target_field`; a .jsonl.gz is read through gzip), or an iterable of (source, target) pairs or
    dicts with those fields. Each epoch is a fresh permutation (seed, epoch) when `shuffle`; rank r takes
    every world_size-th example of it (padded by wrapping so every rank gets the same count, like
    torch's DistributedSampler). `epochs=None` iterates forever; `len(stream)` is batches per epoch.
    Batches match PretrainStream's: input_ids, attention_mask, labels (-100 padding), kind. Sources and
    targets are framed as the tokenizer frames them (`tandem.tokenizer.affixes`; tandem's: EOS appended; BART's
    `<s> ... </s>`; mBART's a language code after `</s>`), as `tok(source, text_target=target)` gives them,
    their text cut at the end to the max lengths (`source_eos=False`: the source text's ids alone).
    """

    def __init__(
        self,
        data: str | Path | Iterable[Any],
        tokenizer: Any,
        batch_size: int,
        max_source_len: int = 512,
        max_target_len: int = 128,
        seed: int = 0,
        shuffle: bool = True,
        *,
        rank: int = 0,
        world_size: int = 1,
        epochs: int | None = None,
        drop_last: bool = False,
        source_field: str = "source",
        target_field: str = "target",
        source_eos: bool = True,
        pad_to_max: bool = False,
        strict: bool = False,
        kind: str = "seq2seq",
        return_tensors: str = "pt",
    ) -> None:
        if world_size < 1 or not 0 <= rank < world_size:
            raise TandemError(
                f"Seq2SeqStream: need 0 <= rank < world_size, got rank={rank} world_size={world_size}"
            )
        if batch_size < 1:
            raise TandemError(f"Seq2SeqStream: batch_size must be >= 1, got {batch_size}")
        self.stats: dict[str, Any] = {"truncated_sources": 0, "truncated_targets": 0, "problems": []}
        if isinstance(data, str | Path):
            pairs, counts, problems = read_pairs(data, source_field, target_field, strict)
            self.stats.update(counts)
            self.stats["problems"] = problems[:50]
            where = str(data)
        else:
            pairs = []
            for k, row in enumerate(data):
                if isinstance(row, dict):
                    if not isinstance(row.get(source_field), str) or not isinstance(
                        row.get(target_field), str
                    ):
                        msg = f"example {k}: fields {source_field!r}/{target_field!r} missing or not strings"
                        if strict:
                            raise TandemError(msg)
                        self.stats["missing_field"] = self.stats.get("missing_field", 0) + 1
                        self.stats["problems"].append(msg)
                        continue
                    pairs.append((row[source_field], row[target_field]))
                else:
                    src, tgt = row
                    pairs.append((str(src), str(tgt)))
            where = "the given examples"
        if not pairs:
            raise TandemError(f"Seq2SeqStream: no usable (source, target) pairs in {where}")
        self.tokenizer = tokenizer
        self.eos_id = int(tokenizer.eos_id)
        self.pad_id = int(tokenizer.pad_id)
        self.batch_size = int(batch_size)
        self.max_source_len = int(max_source_len)
        self.max_target_len = int(max_target_len)
        self.seed, self.shuffle = int(seed), bool(shuffle)
        self.rank, self.world_size = int(rank), int(world_size)
        self.epochs, self.drop_last = epochs, bool(drop_last)
        self.source_eos, self.pad_to_max = bool(source_eos), bool(pad_to_max)
        self.kind, self.return_tensors = kind, return_tensors
        self.examples: list[tuple[list[int], list[int]]] = []
        # framed as the tokenizer frames them (`tandem.tokenizer.affixes`: `tok(src)`, `tok(text_target=tgt)`);
        # without source_eos the source is its text's ids alone
        src_affixes = affixes(tokenizer) if self.source_eos else ([], [])
        tgt_affixes = affixes(tokenizer, target=True)
        for src, tgt in pairs:
            s, cut = frame(tokenizer.encode(src), src_affixes, self.max_source_len)
            self.stats["truncated_sources"] += cut
            t, cut = frame(tokenizer.encode(tgt), tgt_affixes, self.max_target_len)
            self.stats["truncated_targets"] += cut
            self.examples.append((s, t))
        self.num_examples = len(self.examples)
        self.per_rank = -(-self.num_examples // self.world_size)
        self.epoch = 0
        self.position = 0  # examples of this rank's epoch slice already yielded

    def __len__(self) -> int:
        """Batches per epoch for this rank."""
        return self.per_rank // self.batch_size if self.drop_last else -(-self.per_rank // self.batch_size)

    def _epoch_indices(self, epoch: int) -> list[int]:
        n = self.num_examples
        order = np.random.default_rng([self.seed, epoch, 99]).permutation(n) if self.shuffle else np.arange(n)
        total = self.per_rank * self.world_size
        order = np.concatenate([order, order[: total - n]]) if total > n else order  # wrap so ranks are equal
        return order[self.rank :: self.world_size].tolist()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while self.epochs is None or self.epoch < self.epochs:
            idx = self._epoch_indices(self.epoch)
            while self.position < len(idx):
                chunk = idx[self.position : self.position + self.batch_size]
                if len(chunk) < self.batch_size and self.drop_last:
                    break
                self.position += len(chunk)
                yield self._collate([self.examples[i] for i in chunk])
            self.epoch += 1
            self.position = 0

    def _collate(self, rows: Sequence[tuple[list[int], list[int]]]) -> dict[str, Any]:
        b = len(rows)
        s = self.max_source_len if self.pad_to_max else max(len(r[0]) for r in rows)
        t = self.max_target_len if self.pad_to_max else max(len(r[1]) for r in rows)
        ids = np.full((b, s), self.pad_id, dtype=np.int64)
        mask = np.zeros((b, s), dtype=np.int64)
        labels = np.full((b, t), -100, dtype=np.int64)
        for k, (src, tgt) in enumerate(rows):
            ids[k, : len(src)] = src
            mask[k, : len(src)] = 1
            labels[k, : len(tgt)] = tgt
        batch: dict[str, Any] = {"input_ids": ids, "attention_mask": mask, "labels": labels}
        if self.return_tensors == "pt":
            import torch

            batch = {k: torch.from_numpy(v) for k, v in batch.items()}
        batch["kind"] = [self.kind] * b
        return batch

    def state_dict(self) -> dict[str, Any]:
        """Position in the stream (JSON-serialisable)."""
        return {
            "epoch": self.epoch,
            "position": self.position,
            "seed": self.seed,
            "num_examples": self.num_examples,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue right after the last batch yielded before `state_dict()` was taken."""
        if state.get("num_examples") != self.num_examples or state.get("seed") != self.seed:
            raise TandemError(
                f"Seq2SeqStream state was saved for {state.get('num_examples')} examples with seed {state.get('seed')}, "
                f"this stream has {self.num_examples} with seed {self.seed}; resume with the same data and seed"
            )
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
