"""Student construction: vocabulary checks, student configs, and DistilBART-style "shrink" initialisation.

Shrink (Shleifer & Rush 2020): a student with the teacher's width but fewer layers starts as a copy of the
teacher's embeddings, norms and head, plus a subset of its layers chosen by `layer_map` (first and last
kept, the rest spread evenly). A student of a different width starts from random weights.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from tandem.config import ModelConfig
from tandem.distill.losses import layer_map
from tandem.errors import TandemError
from tandem.jsonl import read_json

# Fields a student must share with its teacher for the two to see the same token ids.
_TOKEN_FIELDS = ("vocab_size", "pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id")
# Fields that must match for a teacher layer's weights to be usable as a student layer.
_WIDTH_FIELDS = ("d_model", "ffn_dim", "num_heads", "resolved_head_dim", "gated_ffn", "norm_type", "bias")


def check_vocab(
    teacher: Any,
    student: Any,
    teacher_name: str = "teacher",
    student_name: str = "student",
    *,
    advice: str = "distillation needs identical vocabularies: give the student the teacher's tokenizer",
) -> None:
    """Raise a TandemError unless teacher and student use the same vocabulary.

    Each side is a `ModelConfig` (vocab size and special ids compared) or a tokenizer with `vocab_size`
    and `id_to_token` (every piece compared); `advice` ends the message of a tokenizer mismatch.
    """
    if isinstance(teacher, ModelConfig) and isinstance(student, ModelConfig):
        for f in _TOKEN_FIELDS:
            a, b = getattr(teacher, f), getattr(student, f)
            if a != b:
                raise TandemError(
                    f"{teacher_name} and {student_name} vocabularies differ: {f} {a} vs {b}; distillation needs "
                    f"the student to use the teacher's tokenizer (build the student from a preset so it adopts "
                    f"the teacher's vocabulary, or retrain/convert one of them)"
                )
        return
    tv, sv = int(teacher.vocab_size), int(student.vocab_size)
    if tv != sv:
        raise TandemError(
            f"{teacher_name} tokenizer has {tv} pieces but {student_name} tokenizer has {sv}; {advice}"
        )
    for i in range(tv):
        a, b = teacher.id_to_token(i), student.id_to_token(i)
        if a != b:
            raise TandemError(
                f"{teacher_name} and {student_name} tokenizers differ at id {i} ({a!r} vs {b!r}); {advice}"
            )


def check_tokenizer_fits(config: ModelConfig, tokenizer: Any, name: str = "model") -> None:
    """The tokenizer's ids must fit the model's embedding table and agree on pad/eos (pad only when the
    tokenizer has a pad piece: without one, its pad id is a stand-in for the EOS id that batches never use,
    as they pad with the model's pad id under a zero mask; the AlexaTM repository's test SentencePiece model
    has none, so its model could not be fine-tuned)."""
    if int(tokenizer.vocab_size) > config.vocab_size:
        raise TandemError(
            f"{name}: tokenizer has {tokenizer.vocab_size} pieces but the model's vocab_size is {config.vocab_size}; "
            f"use the tokenizer saved with the model"
        )
    checked = (("eos_id", "eos_token_id"),)
    if getattr(tokenizer, "has_pad", True):
        checked = (("pad_id", "pad_token_id"), *checked)
    for tok_attr, cfg_attr in checked:
        t, c = getattr(tokenizer, tok_attr, None), getattr(config, cfg_attr)
        if t is not None and t >= 0 and t != c:
            raise TandemError(f"{name}: tokenizer {tok_attr}={t} but config {cfg_attr}={c}; they must agree")


def _read_config_file(path: Path) -> dict:
    p = path / "config.json" if path.is_dir() else path
    try:  # not UTF-8 (named by line), not JSON (also nested too deeply): named, not a traceback
        d = read_json(p)
    except TandemError as e:
        raise TandemError(f"student config {e}") from None
    if not isinstance(d, dict):
        raise TandemError(f"student config {p}: expected a JSON object of ModelConfig fields")
    return d


def student_config(spec: str | dict | ModelConfig, teacher: ModelConfig, **overrides: Any) -> ModelConfig:
    """The student's config from a preset name, a JSON config file/dir, a dict or a ModelConfig.

    A preset adopts the teacher's vocabulary and special ids (the student reuses the teacher's tokenizer);
    an explicit config must already match them, else a TandemError says so. `shrink:E,D` means the
    teacher's own architecture with E encoder and D decoder layers.
    """
    if isinstance(spec, str) and spec.startswith("shrink:"):
        m = re.fullmatch(r"shrink:(\d+),(\d+)", spec)
        if not m:
            raise TandemError(f"student {spec!r}: write shrink:ENC,DEC, e.g. shrink:3,1")
        for n, side in ((int(m.group(1)), "encoder"), (int(m.group(2)), "decoder")):
            have = getattr(teacher, f"{side}_layers")
            if n > have:
                raise TandemError(
                    f"student {spec} asks for {n} {side} layers but the teacher has {have}; shrink copies a "
                    f"subset of the teacher's layers, so each count must be at most the teacher's "
                    f"({teacher.encoder_layers},{teacher.decoder_layers})"
                )
        cfg = dataclasses.replace(
            teacher, encoder_layers=int(m.group(1)), decoder_layers=int(m.group(2)), name=spec, extra={}
        )
    elif isinstance(spec, str) and spec in ModelConfig.preset_names():
        base = ModelConfig.preset(spec)
        adopt = {f: getattr(teacher, f) for f in _TOKEN_FIELDS}
        cfg = dataclasses.replace(base, **adopt)
    else:
        if isinstance(spec, ModelConfig):
            cfg = spec
        elif isinstance(spec, dict):
            cfg = ModelConfig.from_dict(spec)
        else:
            p = Path(spec)
            if not p.exists():
                raise TandemError(
                    f"student {spec!r} is neither a preset ({', '.join(ModelConfig.preset_names())}), "
                    f"shrink:E,D, nor an existing config file/dir"
                )
            d = _read_config_file(p)
            # a field of the wrong type is named with the file (unknown ones by from_dict), not a TypeError
            known = {k: v for k, v in d.items() if k in ModelConfig.__dataclass_fields__}
            ModelConfig.check_overrides(known, where=f"student config {p}")
            cfg = ModelConfig.from_dict(d)
        check_vocab(teacher, cfg)
    return dataclasses.replace(cfg, **overrides) if overrides else cfg


def widths_match(teacher: ModelConfig, student: ModelConfig) -> bool:
    """Whether teacher layers can be copied into the student one for one."""
    return all(getattr(teacher, f) == getattr(student, f) for f in _WIDTH_FIELDS)


_LAYER_KEY = re.compile(r"^(encoder|decoder)\.layers\.(\d+)\.(.*)$")


@torch.no_grad()
def shrink_init(teacher: nn.Module, student: nn.Module) -> dict[str, Any]:
    """Copy teacher weights into a narrower-in-depth student (DistilBART shrink) when widths match.

    Returns a report: `copied` (bool), `encoder_map` / `decoder_map` (teacher layer per student layer) and
    `skipped` (student tensors left at their random init because the teacher has no tensor of that shape).
    Position tables shorter in the student get the teacher's first rows.
    """
    tc, sc = teacher.config, student.config
    report: dict[str, Any] = {"copied": False, "encoder_map": [], "decoder_map": [], "skipped": []}
    if not widths_match(tc, sc):
        report["reason"] = "widths differ: student keeps its random initialisation"
        return report
    if sc.encoder_layers > tc.encoder_layers or sc.decoder_layers > tc.decoder_layers:
        report["reason"] = "student has more layers than the teacher: it keeps its random initialisation"
        return report
    check_vocab(tc, sc)
    maps = {
        "encoder": layer_map(tc.encoder_layers, sc.encoder_layers) if sc.encoder_layers else [],
        "decoder": layer_map(tc.decoder_layers, sc.decoder_layers),
    }
    t_state = teacher.state_dict()
    for key, value in student.state_dict().items():
        m = _LAYER_KEY.match(key)
        src = f"{m.group(1)}.layers.{maps[m.group(1)][int(m.group(2))]}.{m.group(3)}" if m else key
        t = t_state.get(src)
        if t is None:
            report["skipped"].append(key)
        elif t.shape == value.shape:
            value.copy_(t)
        elif t.dim() == value.dim() and t.shape[1:] == value.shape[1:] and t.shape[0] > value.shape[0]:
            value.copy_(t[: value.shape[0]])  # a shorter position table: keep the first rows
        else:
            report["skipped"].append(key)
    report.update(copied=True, encoder_map=maps["encoder"], decoder_map=maps["decoder"])
    return report
