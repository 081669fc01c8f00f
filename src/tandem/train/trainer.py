"""The pretraining loop: one trainer from a laptop CPU to an FSDP2 cluster (`tandem pretrain`).

`train(config)` builds the tokenizer, model and data stream from a `TrainConfig`; tests and library users may
pass their own `model` and `data` (any iterator of dict batches with `state_dict()`/`load_state_dict()`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import random
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from tandem.data.prefetch import BackgroundBatches
from tandem.errors import TandemError
from tandem.langcodes import KNOWN, TWO_LETTER
from tandem.runpaths import absolute, here, values_here
from tandem.train.checkpoint import Checkpointer, get_rng_state, save_final_model, set_rng_state
from tandem.train.flops import measure_matmul_peak, seq2seq_train_flops
from tandem.train.loss import scored_index
from tandem.train.metrics import MetricsLogger, plot_metrics
from tandem.train.module import Seq2SeqTrainModule
from tandem.train.optim import (
    LateRead,
    LRSchedule,
    build_optimizer,
    can_defer_norm,
    clip_grad_norm,
    lower_lr_advice,
)
from tandem.train.parallelize import init_distributed, parallelize

__all__ = ["KINDS", "TrainConfig", "TrainResult", "TrainingInterrupted", "lang_from_name", "train"]

KINDS = ("denoise", "clm")  # objectives logged separately; anything else counts as "other"


# ModelConfig fields --model-overrides may set on a model loaded with --init-from (they change no weight)
_INIT_FROM_OVERRIDES = ("dropout",)
# a run folder's resolved config, and the file it is written to first (replaced atomically)
CONFIG_NAME, CONFIG_TMP = "train_config.json", ".train_config.json.tmp"


@dataclass
class TrainConfig:
    """Everything a pretraining run needs; written as resolved to `<out>/train_config.json`."""

    # model
    preset: str = "tiny"
    model_overrides: dict[str, Any] = field(default_factory=dict)  # e.g. {"dropout": 0.1}
    init_from: str | None = None  # start from these weights (a tandem/HF directory)
    # add the symbols tandem's objectives use ([CLM], [DOC]; t5/ul2: sentinels) to a Hugging Face tokenizer
    # that lacks them, and rows for them to the model's token tables
    add_symbols: bool = False
    encoder_init: str | None = None  # warm-start only the encoder from this checkpoint (AlexaTM)
    freeze_encoder_steps: int = 0  # keep the encoder frozen for the first N steps
    # data
    data: list[Any] = field(
        default_factory=list
    )  # files/globs/"lang:path", or Source dicts; one language each
    langs: list[str] | None = None  # one per data file; default: taken from each file name
    tokenizer: str | None = None  # a tandem tokenizer dir / .model; None or missing: train one
    vocab_size: int | None = None  # for a tokenizer trained here (default: the preset's)
    objective: str = "alexatm"  # alexatm | denoise | clm | t5 | ul2
    # the objective's settings (None: its default; AlexaTM 0.8, 0.15, 3.0): AlexaTMObjective's names
    denoise_prob: float | None = None  # share of denoising examples, the rest causal LM (alexatm)
    drop_rate: float | None = None  # share of tokens dropped (alexatm, denoise; t5: noise density)
    mean_span: float | None = None  # mean length of a dropped span, in tokens (alexatm, denoise, t5)
    alpha: float = 0.5  # language sampling exponent
    spoken_fraction: float = 0.0  # share of documents converted to spoken form (AlexaTM: 0.7)
    decontaminate: list[str] = field(default_factory=list)  # evaluation files: drop docs sharing a 13-gram
    # validation: a fixed set of examples drawn once from these sources (as `data`), scored every val_every
    # steps (None: every ckpt_every) and at the last step
    val_data: list[Any] = field(default_factory=list)
    val_every: int | None = None
    val_examples: int | None = None  # examples in the validation set (None: 256)
    # or a share of the documents of `data` held out (by a hash of their text): not trained on, the set drawn
    # from them
    val_holdout: float | None = None
    pad_to_max: bool | None = None  # fixed batch shapes (None: only with compile)
    seq_len: int = 512  # encoder length
    target_len: int | None = None  # decoder length (default: seq_len)
    batch_size: int = 8  # per process, per micro-batch
    grad_accum: int = 1
    # optimisation (AlexaTM: lr 1e-4 -> 5e-6 linear, wd 0.1)
    steps: int = 1000
    lr: float = 1e-4
    min_lr: float = 5e-6
    warmup: int = 100
    schedule: str = "linear"  # linear | cosine | constant
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-8
    clip: float = 1.0
    # system
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "auto"  # auto (bf16 on GPU, fp32 on CPU) | bf16 | fp32
    # the residual stream under bf16 autocast: auto (bf16 whenever the run trains under bf16 autocast) | fp32 | bf16
    residual_dtype: str = "auto"
    compile: bool = False
    # torch.compile mode with --compile: auto = CUDA graphs ("reduce-overhead") on one GPU without gradient
    # accumulation (the base shape's blocks are launch-bound there), Inductor's default elsewhere
    compile_mode: str = "auto"  # auto | default | reduce-overhead | max-autotune-no-cudagraphs
    activation_checkpointing: bool = False
    fused_loss: bool = True
    loss_chunk_tokens: int | None = None
    num_workers: int = 0
    prefetch_batches: int | None = None  # built ahead in a background thread (None: 2 on a GPU, 0 on CPU)
    seed: int = 0
    # output
    out: str = "runs/pretrain"
    ckpt_every: int = 500
    keep_ckpts: int = 3
    log_every: int = 10
    resume: bool = False
    overwrite: bool = False  # start over in an --out that holds checkpoints (they are deleted)
    stop_after: int | None = None  # stop (with a checkpoint) after this many steps in this invocation
    tensorboard: bool = True
    plot: bool = True
    progress: bool = True

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise TandemError(f"train config: unknown keys {unknown}; known: {sorted(names)}")
        d = dict(d)
        if "betas" in d:
            b = d["betas"]
            if not isinstance(b, list | tuple) or len(b) != 2:
                raise TandemError(f"train config: betas must be two numbers, e.g. [0.9, 0.98], got {b!r}")
            d["betas"] = tuple(b)
        return cls(**d)

    def validate(self) -> None:
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise TandemError(f"train config: {msg}")

        from tandem.config import ModelConfig

        # before a tokenizer is trained or a folder written: a misspelt or mistyped field fails now
        ModelConfig.check_overrides(self.model_overrides, "model_overrides (--model-overrides)")
        need(
            "vocab_size" not in self.model_overrides,
            "model_overrides (--model-overrides): vocab_size is the tokenizer's; set it with --vocab-size "
            "(for a tokenizer trained here) or give a --tokenizer of that size",
        )
        dropout = self.model_overrides.get("dropout")
        need(
            not isinstance(dropout, int | float) or 0 <= dropout < 1,
            f"dropout (--dropout) must be in [0, 1), got {dropout}",
        )
        if not self.init_from:  # the preset and overrides make a valid model (shapes, heads, ...)
            ModelConfig.preset(self.preset, **self.model_overrides)
        else:  # the weights give the model: overrides could only change what they do not fix
            fixed = sorted(k for k in self.model_overrides if k not in _INIT_FROM_OVERRIDES)
            need(
                not fixed,
                f"init_from {self.init_from}: the model is the one saved there; model_overrides "
                f"(--model-overrides) {fixed} would change it and cannot apply (only "
                f"{', '.join(_INIT_FROM_OVERRIDES)} can, e.g. --dropout); drop them or start without --init-from",
            )
        for name in ("steps", "batch_size", "grad_accum", "seq_len", "warmup", "ckpt_every", "log_every"):
            v = getattr(self, name)
            need(isinstance(v, int) and not isinstance(v, bool), f"{name} must be an integer, got {v!r}")
        for name in ("lr", "min_lr", "alpha", "spoken_fraction", "clip", "weight_decay", "eps"):
            v = getattr(self, name)
            need(
                isinstance(v, int | float) and not isinstance(v, bool), f"{name} must be a number, got {v!r}"
            )
        need(self.steps > 0, f"steps must be > 0, got {self.steps}")
        need(0 < self.lr < math.inf, f"lr must be a finite number > 0, got {self.lr}")
        need(0 <= self.min_lr < math.inf, f"min_lr must be a finite number >= 0, got {self.min_lr}")
        need(  # min_lr is where linear and cosine decay end; a constant schedule never reaches it
            self.schedule == "constant" or self.min_lr <= self.lr,
            f"min_lr must be in [0, lr={self.lr}] for the {self.schedule} schedule, got {self.min_lr}; "
            "lower min_lr or use the constant schedule",
        )
        need(
            self.alpha >= 0 and math.isfinite(self.alpha),
            f"alpha must be a finite number >= 0 (0: languages uniform, 1: by size), got {self.alpha}",
        )
        need(
            isinstance(self.data, list) and all(isinstance(d, str | dict) for d in self.data),
            f"data must be a list of paths (LANG:PATH) or source objects, got {self.data!r}",
        )
        need(
            isinstance(self.val_data, list) and all(isinstance(d, str | dict) for d in self.val_data),
            f"val_data must be a list of paths (LANG:PATH) or source objects, got {self.val_data!r}",
        )
        for entry in (*self.data, *self.val_data):
            if isinstance(entry, dict):
                from tandem.data import Source

                Source.coerce(entry)  # its fields' types and values, before anything is written
        for name in ("val_every", "val_examples"):
            v = getattr(self, name)
            need(
                v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0),
                f"{name} must be an integer > 0, got {v!r}",
            )
        h = self.val_holdout
        need(
            h is None or (isinstance(h, int | float) and not isinstance(h, bool) and 0 < h < 1),
            f"val_holdout (--val-holdout) must be a share of the documents between 0 and 1, e.g. 0.005, got {h!r}",
        )
        need(
            h is None or not self.val_data,
            "val_holdout (--val-holdout) and val_data (--val-data) both give the validation set: pass one "
            "(hold documents of --data out, or validate on other files)",
        )
        for name in ("decontaminate", "langs"):
            v = getattr(self, name)
            need(
                v is None or (isinstance(v, list) and all(isinstance(x, str) for x in v)),
                f"{name} must be a list of strings, got {v!r}",
            )
        need(0 <= self.spoken_fraction <= 1, f"spoken_fraction must be in [0, 1], got {self.spoken_fraction}")
        need(self.clip >= 0, f"clip must be >= 0 (0: off), got {self.clip}")
        need(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}")
        need(0 < self.eps < math.inf, f"eps must be a finite number > 0, got {self.eps}")
        need(  # numpy and torch take seeds in [0, 2**64)
            isinstance(self.seed, int) and not isinstance(self.seed, bool) and 0 <= self.seed < 2**64,
            f"seed must be an integer in [0, 2**64), got {self.seed!r}",
        )
        for name in ("vocab_size", "stop_after", "loss_chunk_tokens"):  # unset (None), or a count
            v = getattr(self, name)
            need(
                v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0),
                f"{name} must be an integer > 0 (or unset: {_UNSET[name]}), got {v!r}",
            )
        need(
            isinstance(self.betas, list | tuple)
            and len(self.betas) == 2
            and all(isinstance(b, int | float) and 0 <= b < 1 for b in self.betas),
            f"betas must be two numbers in [0, 1), got {self.betas!r}",
        )
        need(
            self.target_len is None or (isinstance(self.target_len, int) and self.target_len > 1),
            f"target_len must be > 1 (or unset: seq_len), got {self.target_len}",
        )
        need(
            self.num_workers >= 0,
            f"num_workers must be >= 0 (0: tokenise in this process), got {self.num_workers}",
        )
        need(
            self.prefetch_batches is None
            or (isinstance(self.prefetch_batches, int) and self.prefetch_batches >= 0),
            f"prefetch_batches must be >= 0 (0: build batches in the training loop), got {self.prefetch_batches}",
        )
        need(self.keep_ckpts >= 1, f"keep_ckpts must be >= 1, got {self.keep_ckpts}")
        need(
            self.freeze_encoder_steps >= 0,
            f"freeze_encoder_steps must be >= 0, got {self.freeze_encoder_steps}",
        )
        objectives = ("alexatm", "denoise", "clm", "t5", "ul2")
        need(
            self.objective in objectives, f"objective {self.objective!r}: use one of {', '.join(objectives)}"
        )
        schedules = ("linear", "cosine", "constant")
        need(self.schedule in schedules, f"schedule {self.schedule!r}: use one of {', '.join(schedules)}")
        need(self.batch_size > 0 and self.grad_accum > 0, "batch_size and grad_accum must be > 0")
        need(self.seq_len > 1, f"seq_len must be > 1, got {self.seq_len}")
        need(self.ckpt_every > 0 and self.log_every > 0, "ckpt_every and log_every must be > 0")
        need(
            self.precision in ("auto", "bf16", "fp32"), f"precision {self.precision!r}: use auto, bf16, fp32"
        )
        need(
            self.residual_dtype in ("auto", "fp32", "bf16"),
            f"residual_dtype {self.residual_dtype!r}: use auto, fp32 or bf16",
        )
        need(self.device in ("auto", "cpu", "cuda"), f"device {self.device!r}: use auto, cpu or cuda")
        need(
            self.compile_mode in COMPILE_MODES,
            f"compile_mode {self.compile_mode!r}: use one of {', '.join(COMPILE_MODES)}",
        )
        need(self.warmup >= 0, f"warmup must be >= 0, got {self.warmup}")
        for name, users in _OBJECTIVE_SETTINGS.items():
            v = getattr(self, name)
            if v is None:
                continue
            need(
                isinstance(v, int | float) and not isinstance(v, bool), f"{name} must be a number, got {v!r}"
            )
            need(
                self.objective in users,
                f"{name} is a setting of objective {', '.join(users)}, not of {self.objective}",
            )
        if self.denoise_prob is not None:
            need(0 <= self.denoise_prob <= 1, f"denoise_prob must be in [0, 1], got {self.denoise_prob}")
        if self.drop_rate is not None:
            need(0 < self.drop_rate < 1, f"drop_rate must be in (0, 1), got {self.drop_rate}")
        if self.mean_span is not None:
            need(
                1 <= self.mean_span < math.inf,
                f"mean_span must be >= 1 (tokens) and finite, got {self.mean_span}",
            )

    def objective_args(self) -> dict[str, float]:
        """The objective settings given, as keyword arguments of the objective's class."""
        names = {"drop_rate": "noise_density"} if self.objective == "t5" else {}
        return {
            names.get(k, k): getattr(self, k) for k in _OBJECTIVE_SETTINGS if getattr(self, k) is not None
        }


# what an unset (None) count of TrainConfig means, for its error message
_UNSET = {
    "vocab_size": "the preset's, for a tokenizer trained here",
    "stop_after": "run to --steps",
    "loss_chunk_tokens": "auto",
}

# objective settings of TrainConfig -> the objectives that take them
_OBJECTIVE_SETTINGS = {
    "denoise_prob": ("alexatm",),
    "drop_rate": ("alexatm", "denoise", "t5"),
    "mean_span": ("alexatm", "denoise", "t5"),
}


def _objective_defaults() -> dict[str, float]:
    """What an unset objective setting of TrainConfig means (AlexaTMObjective's defaults; the denoise and t5
    objectives take the same drop rate / noise density and mean span)."""
    from tandem.objectives import AlexaTMObjective

    return {f.name: f.default for f in dataclasses.fields(AlexaTMObjective) if f.name in _OBJECTIVE_SETTINGS}


@dataclass
class TrainResult:
    """What a run returns: the step reached, the logged records of this invocation, the output folder, and
    the validation records (`val_loss`, ...; in metrics.jsonl as rows of their own)."""

    step: int
    records: list[dict[str, Any]]
    out: Path
    model_dir: Path | None = None
    val_records: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------------------- helpers
def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _seed_rank(seed: int, rank: int, step: int | None = None) -> None:
    """Give this rank a torch RNG stream of its own (dropout masks, CPU and CUDA): every rank is seeded alike
    for the model's initialisation (FSDP shards identical weights), and would then draw the same masks as
    every other rank. Rank r > 0 is seeded from (seed, r); rank 0 keeps the stream it has, so a one-process
    run is unchanged. `step`: a rank a checkpoint written by fewer ranks holds no RNG state for, seeded from
    (seed, rank, step) so that it neither repeats the rank whose state it was given nor depends on more."""
    if rank == 0 and step is None:
        return
    key = [seed % 2**64, rank, -1 if step is None else step, 17]
    torch.manual_seed(int(np.random.SeedSequence([k % 2**64 for k in key]).generate_state(1, np.uint64)[0]))


COMPILE_MODES = ("auto", "default", "reduce-overhead", "max-autotune-no-cudagraphs")


def resolve_compile_mode(mode: str, device: torch.device, world: int, grad_accum: int) -> str | None:
    """torch.compile's `mode` for `--compile-mode` (None: Inductor's default). `auto` takes CUDA graphs on
    one GPU with one micro-batch per step: there the base shape's per-block launches leave the GPU idle
    a fifth of a step; FSDP2's collectives and the gradients an accumulation keeps across micro-batches
    (CUDA-graph outputs, overwritten by the next replay) rule them out elsewhere."""
    if mode == "auto":
        return "reduce-overhead" if device.type == "cuda" and world == 1 and grad_accum == 1 else None
    return None if mode == "default" else mode


def uses_cuda_graphs(mode: str | None) -> bool:
    return mode in ("reduce-overhead", "max-autotune")


def _to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """The batch's arrays as tensors on `device`. To a GPU through pinned memory: a copy from pageable memory
    waits for the work queued before it, stalling the host as a sync does."""
    out = {}
    pin = device.type == "cuda"
    for k, v in batch.items():
        if isinstance(v, np.ndarray):
            v = torch.from_numpy(v)
        if isinstance(v, torch.Tensor):
            if pin and v.device.type == "cpu":
                v = v.pin_memory()
            v = v.to(device, non_blocking=True)
        out[k] = v
    return out


def host_batch_facts(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """What the loss and the logs need of a batch, read on the host before it moves (each would be a host
    sync on a GPU): `padded` (the source mask masks something), `scored` (the flat indices of the scored
    labels) and `codes` (each row's objective kind, see `add_kind_sums`) on the device, `n_target` and
    `n_input` (tokens)."""
    mask = _host_array(batch.get("attention_mask"))
    n_input = int(mask.sum()) if mask is not None else math.prod(batch["input_ids"].shape)
    scored = scored_index(batch["labels"])
    codes = _kind_codes(batch.get("kind"), batch["labels"].shape[0])
    moved = _to_device({"scored": scored, "codes": torch.tensor(codes, dtype=torch.int64)}, device)
    return {
        "padded": mask is not None and n_input < mask.size,
        "n_target": scored.numel(),
        "n_input": n_input,
        **moved,
    }


def _host_array(v: Any) -> np.ndarray | None:
    """A host batch field (numpy array or CPU tensor) as a numpy array, without copying."""
    if isinstance(v, torch.Tensor):
        return v.detach().numpy() if v.device.type == "cpu" else v.detach().cpu().numpy()
    return None if v is None else np.asarray(v)


def add_kind_sums(
    vec: torch.Tensor,
    ex_loss: torch.Tensor,
    ex_tok: torch.Tensor,
    kind: Any,
    codes: torch.Tensor | None = None,
) -> None:
    """Add a batch's per-example loss sums and target tokens to `vec`: [0] all loss, [1] all tokens, then
    (loss, tokens) per objective kind (KINDS, then other) from [2]; the slots after those are the caller's.
    `codes`: each row's index into KINDS (len(KINDS): other) as a tensor on vec's device, where the caller
    made it (`host_batch_facts`); else made here from `kind`. Scattered with index_add, no host sync."""
    if codes is None:
        codes = torch.tensor(_kind_codes(kind, ex_loss.shape[0]), device=vec.device)
    vec[0] += ex_loss.sum().double()
    vec[1] += ex_tok.sum().double()
    vec.index_add_(0, 2 + 2 * codes, ex_loss.double())
    vec.index_add_(0, 3 + 2 * codes, ex_tok.double())


def kind_losses(vec: Sequence[float]) -> dict[str, float]:
    """The token-weighted loss of each objective kind that had target tokens, from `add_kind_sums`' slots."""
    return {
        name: vec[2 + 2 * k] / vec[3 + 2 * k]
        for k, name in enumerate((*KINDS, "other"))
        if vec[3 + 2 * k] > 0
    }


def _kind_codes(kind: Any, n: int) -> list[int]:
    """Per-example index into KINDS (len(KINDS) = other) from a batch's `kind` field."""
    if kind is None:
        return [len(KINDS)] * n
    if isinstance(kind, str):
        kind = [kind] * n
    if isinstance(kind, torch.Tensor | np.ndarray):
        return [int(k) if 0 <= int(k) < len(KINDS) else len(KINDS) for k in kind.tolist()]
    return [KINDS.index(k) if k in KINDS else len(KINDS) for k in kind]


def _freeze_encoder(model: nn.Module, frozen: bool) -> int:
    """(Un)freeze the parameters only the encoder uses (a table shared with the decoder stays trainable)."""
    enc = getattr(model, "encoder", None)
    if enc is None:
        raise TandemError("freeze_encoder_steps: the model has no `.encoder`")
    enc_ids = {id(p) for p in enc.parameters()}
    # every name of every parameter: a table tied to the decoder is listed first (once, by default) under
    # `encoder.`, and only its other names show that the decoder uses it too
    shared = {
        id(p)
        for name, p in model.named_parameters(remove_duplicate=False)
        if not name.startswith("encoder.") and id(p) in enc_ids
    }
    n = 0
    for p in enc.parameters():
        if id(p) not in shared:
            p.requires_grad_(not frozen)
            n += p.numel()
    return n


# ModelConfig fields that change what an encoder computes without changing its tensors' names or shapes
_ENCODER_FUNCTION_KEYS = (
    "num_heads",
    "activation",
    "norm_type",
    "pre_norm",
    "encoder_position_offset",
    "embed_scale",
    "attention_scale",
    "relative_max_distance",
)


def _load_encoder(model: nn.Module, path: str) -> int:
    """Copy the encoder weights of the checkpoint at `path` into `model.encoder`; returns #tensors.

    `model.encoder`'s own tensors are written: its token embedding is among them, so a table the model
    shares with its decoder (and a tied LM head) takes the source's values too. An untied decoder input
    embedding and LM head of the same shape are initialised from that token table as well, without tying
    them: AlexaTM 20B's recipe ("decoder input embeddings and the LM head were initialised from the encoder
    embeddings but are not tied"), so the new decoder starts from the pretrained encoder's vocabulary instead
    of random vectors. The source's encoder must be the same architecture: the same
    tensors (no more, no fewer: e.g. the same number of layers) of the same shapes, and the same settings
    that shapes do not show (heads, activation, norm, positions, scales)."""
    from tandem.model import Seq2SeqLM

    try:
        src = Seq2SeqLM.from_pretrained(path)
    except TandemError as e:
        raise TandemError(f"--encoder-init {path}: {e}") from e
    mine = model.encoder.state_dict()
    theirs = src.encoder.state_dict()
    problems = []
    missing = [k for k in mine if k not in theirs]
    if missing:
        problems.append(f"tensors missing from it: {missing[:4]}")
    extra = [k for k in theirs if k not in mine]
    if extra:
        problems.append(f"tensors this model has no place for: {extra[:4]}")
    shapes = [
        f"{k} {tuple(theirs[k].shape)} vs {tuple(v.shape)}"
        for k, v in mine.items()
        if k in theirs and theirs[k].shape != v.shape
    ]
    if shapes:
        problems.append(f"tensors of another shape: {shapes[:4]}")
    mcfg, scfg = getattr(model, "config", None), src.config
    layers = (scfg.encoder_layers, getattr(mcfg, "encoder_layers", scfg.encoder_layers))
    if layers[0] != layers[1]:
        problems.insert(0, f"{layers[0]} encoder layers vs this model's {layers[1]}")
    if mcfg is not None:
        for key in _ENCODER_FUNCTION_KEYS:
            if (key == "encoder_position_offset" and scfg.position_type != "learned") or (
                key == "relative_max_distance" and scfg.position_type != "relative"
            ):
                continue  # not used by this kind of positions
            a, b = getattr(scfg, key, None), getattr(mcfg, key, None)
            if a != b:
                problems.append(f"{key} {a!r} vs this model's {b!r}")
    if problems:
        raise TandemError(
            f"--encoder-init {path}: its encoder is not this model's ({'; '.join(problems)}); warm-start from "
            "a model with this preset's encoder, or match it with --preset / --model-overrides"
        )
    with torch.no_grad():
        for k, v in mine.items():
            v.copy_(theirs[k].to(v.dtype))
        table = model.encoder.embed_tokens.weight
        for w in (model.decoder.embed_tokens.weight, model.lm_head.weight):
            if w is not table and w.shape == table.shape:  # untied: initialised from it, not tied to it
                w.copy_(table)
    return len(mine)


def _all_reduce(t: torch.Tensor) -> torch.Tensor:
    if dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(t)
    return t


def _fmt_rate(x: float) -> str:
    return f"{x / 1e3:.1f}k" if x >= 1e3 else f"{x:.0f}"


# ---------------------------------------------------------------------------- building
def _build_tokenizer(cfg: TrainConfig, out: Path, rank: int):
    from tandem.tokenizer import Tokenizer, VocabularyMismatch, objective_symbols

    if cfg.tokenizer and Path(cfg.tokenizer).exists():
        tok = Tokenizer.load(cfg.tokenizer)
        if Path(cfg.tokenizer).resolve() == (out / "tokenizer").resolve():
            _check_own_tokenizer(cfg, tok, Path(cfg.tokenizer))
        elif cfg.vocab_size is not None and tok.vocab_size != cfg.vocab_size:
            # --vocab-size sizes a tokenizer trained here; a given one (--tokenizer, or the one saved in
            # --init-from) has its own size, and ignoring the flag would hide that the run differs
            given = (
                "--init-from"
                if cfg.init_from and Path(cfg.tokenizer) == Path(cfg.init_from)
                else "--tokenizer"
            )
            raise TandemError(
                f"--vocab-size {cfg.vocab_size}: the run reads with the tokenizer of {given} {cfg.tokenizer}, "
                f"whose vocabulary is {tok.vocab_size}; --vocab-size only sizes a tokenizer trained here: drop it"
            )
        return tok
    target = Path(cfg.tokenizer) if cfg.tokenizer else out / "tokenizer"
    if (target / "tokenizer.model").is_file():
        return Tokenizer.load(target)
    from tandem.config import ModelConfig

    sources = _sources(cfg)
    vocab = cfg.vocab_size or ModelConfig.preset(cfg.preset).vocab_size
    if rank == 0:
        read: dict[str, dict[str, Any]] = {}
        # the tokenizer sees the text in the forms the model trains on: `spoken_fraction` of it in spoken
        # form (AlexaTM trained its tokenizer on a 7:3 spoken:written mix, the share of its data), in each
        # source's language; a language with no spoken form stays written, as in the data stream
        spoken = _spoken_languages({s.lang for s in sources}) if cfg.spoken_fraction > 0 else None
        try:
            tok = Tokenizer.train(
                _source_texts(sources, read, holdout=(cfg.val_holdout or 0.0, cfg.seed), spoken_langs=spoken),
                vocab_size=vocab,
                seed=cfg.seed,
                extra_symbols=objective_symbols(cfg.objective),  # T5/UL2 sentinels and mode tokens
                spoken_ratio=cfg.spoken_fraction if spoken is not None else None,
            )
        except VocabularyMismatch as e:
            note = f" ({_read_note(read)})" if _read_note(read) else ""
            raise e.for_verb("the text read", "add text to --data", note) from e
        for note in (_damaged_note(read), _skipped_note(read)):
            if note:
                print(note, file=sys.stderr, flush=True)
        tok.save(target)
    if dist.is_initialized():
        dist.barrier()
    return Tokenizer.load(target)


def _spoken_languages(langs: set[str]) -> set[str]:
    """Those of `langs` that `tandem.spoken` reads."""
    from tandem.spoken import to_spoken

    ok = set()
    for lang in langs:
        try:
            to_spoken("", lang)
        except Exception:  # no rules for it: its documents stay written (the stream warns, once)
            continue
        ok.add(lang)
    return ok


def _check_own_tokenizer(cfg: TrainConfig, tok: Any, path: Path) -> None:
    """A tokenizer found in OUT/tokenizer (trained by an earlier start in this folder, e.g. one killed before
    its first checkpoint) is used again only if it fits this run: the requested vocabulary size, and the
    symbols the objective needs."""
    from tandem.tokenizer import objective_symbols

    problems = []
    if cfg.vocab_size is not None and tok.vocab_size != cfg.vocab_size:
        problems.append(f"vocabulary {tok.vocab_size}, not --vocab-size {cfg.vocab_size}")
    missing = [s for s in objective_symbols(cfg.objective) if tok.token_to_id(s) is None]
    if missing:
        problems.append(
            f"no {', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''} for --objective {cfg.objective}"
        )
    if problems:
        raise TandemError(
            f"{path} holds a tokenizer trained for another run ({'; '.join(problems)}): pass --overwrite to "
            "train a new one there, or choose another --out"
        )


# FLORES-200 names some languages by the individual language of their macrolanguage that is the standard
# variety (Standard Arabic, whose spoken-form rules are ar's; Western Persian, Standard Malay, ...): a
# file named so is that macrolanguage's. Dialects with codes of their own (arz, ary, acm, ...) stay apart.
_FLORES_INDIVIDUAL = {
    "arb": "ar",
    "pes": "fa",
    "zsm": "ms",
    "swh": "sw",
    "lvs": "lv",
    "ekk": "et",
    "uzn": "uz",
    "khk": "mn",
    "plt": "mg",
    "gaz": "om",
    "ydd": "yi",
    "azj": "az",
    "npi": "ne",
    "ory": "or",
    "als": "sq",
}


def lang_from_name(path: str | os.PathLike) -> str:
    """Language of a one-language file from its name: `eng_Latn.devtest` -> en (a three-letter ISO 639 code
    as its two-letter one, `tandem.langcodes`), `de.txt` -> de."""
    stem = Path(path).name.split(".")[0]
    code = stem.split("_")[0].split("-")[0].lower()
    return _FLORES_INDIVIDUAL.get(code) or TWO_LETTER.get(code, code)


# a FLORES-200 / NLLB file name: an ISO 639-3 code and an ISO 15924 script (`arz_Arab.devtest`)
_FLORES_NAME = re.compile(r"[a-z]{3}_[A-Z][a-z]{3}")

# ISO 639-3/639-2 codes (`tandem.langcodes`) that are also words corpus files and folders are named by (splits,
# formats, roles, sources, common English words: `dev.txt` is Dehu's code, `all.txt` Allar's, `new/` Newari's):
# a name that is one of them is not read as a language; such a language is given as LANG:PATH
CORPUS_WORDS = frozenset(
    """
abc add all and ans api art asr bad bbc bib big bin bio bpe cfg com cpp csv day ded dev dlg doc dup end ext
for fun gnu gov had has ids inp int job kde key kid lab law lbl llm log lua max med min mix neg ner net new
not now npy old one opt org par pos pre pro raw res set six spk spm src sub sys tab tag ted ten tex tgt the
tok top trg trn tst tsv tts two txt url val was wmt www xml yes yml
""".split()
)


def check_guessed_language(code: str, path: str | os.PathLike | None = None) -> str:
    """`code`, a language guessed from a file or folder name (`path`'s, `lang_from_name`), if it is one: a
    valid tag whose language subtag is an ISO 639-1 code or an ISO 639-3/639-2 code `tandem.langcodes` knows
    (`yue.txt`, `ger.txt`) other than a common corpus file word (`CORPUS_WORDS`: `dev`, `all`, `new`), or any
    three-letter code in a FLORES-200 name (`arz_Arab.devtest`); else a TandemError. `train.txt` or
    `corpus.txt` name no language, nor do `all.txt` or `foo.txt`, and read as one they were sampled as one."""
    from tandem.data.sampling import language_tag

    language_tag(code)
    lang = code.split("-")[0].lower()
    if not 2 <= len(lang) <= 3:
        raise TandemError(f"{code!r} has no 2- or 3-letter language code")
    flores = path is not None and _FLORES_NAME.fullmatch(Path(path).name.split(".")[0])
    if flores:
        return code
    if lang not in KNOWN:
        raise TandemError(f"{code!r} is not an ISO 639 language code")
    if lang in CORPUS_WORDS:
        raise TandemError(
            f"{lang!r} is an ISO 639 language code but also a common word in corpus file names, so a name "
            "does not give it"
        )
    return code


def _sources(cfg: TrainConfig, notes: list[str] | None = None, flag: str = "--data") -> list[Any]:
    """`Source`s for the data entries: dicts pass through, "lang:path" keeps its language, globs expand.
    `notes` gets a line for each folder whose language is taken from its name (any language code passes).
    `flag` "--val-data": those of `val_data` (--langs names the --data files only)."""
    import glob

    from tandem.data import Source

    out: list[Any] = []
    val = flag == "--val-data"
    langs = [] if val else list(cfg.langs or [])
    files: list[tuple[str, str | None]] = []
    for entry in cfg.val_data if val else cfg.data:
        if isinstance(entry, dict):
            # read by absolute path (as below), so that a checkpoint's data cursors name the files from any
            # working directory
            out.append(Source.coerce(_data_entry_here(entry)))
            continue
        lang, entry = _split_lang(str(entry))
        # an existing path is itself even with a glob character in it (a folder "runs[1]/" above the data)
        magic = any(c in entry for c in "*?[") and not Path(entry).exists()
        hits = sorted(glob.glob(entry)) if magic else [entry]
        if not hits:
            raise TandemError(f"{flag} {entry}: no file matches; check the path")
        for h in hits:
            if not Path(h).exists():
                hub = ""
                if not Path(h).suffix and not Path(h).is_absolute():  # "wikitext", "allenai/c4": a hub name?
                    hub = (
                        "; a Hugging Face hub dataset goes in a --config file's data list, e.g. "
                        f'{{"data": [{{"path": "{h}", "lang": "en", "format": "hf"}}]}} (needs the network or '
                        "the datasets cache)"
                    )
                raise TandemError(f"{flag} {h}: no such file or directory{hub}")
            files.append((h, lang))
    if langs and len(langs) != len(files):
        raise TandemError(
            f"--langs gives {len(langs)} languages for {len(files)} data files; give one per file"
        )
    for i, (f, lang) in enumerate(files):
        guessed = not langs and not lang
        name = "folder name" if Path(f).is_dir() else "file name"
        try:
            if guessed:
                check_guessed_language(lang_from_name(f), f)
            # by absolute path (messages here name it as given): a checkpoint's data cursors name the files
            # from any working directory
            out.append(Source(path=here(f), lang=langs[i] if langs else lang or lang_from_name(f)))
        except TandemError as e:
            if not guessed:
                raise
            raise TandemError(
                f"{flag} {f}: the language was guessed from the {name} ({lang_from_name(f)!r}), which is "
                f"not taken as a language ({e}); give it as LANG:PATH (e.g. en:{f})"
                + ("" if val else " or with --langs")
            ) from e
        if guessed and name == "folder name" and notes is not None:
            notes.append(
                f"note: {flag} {f}: the language is taken from the folder name ({lang_from_name(f)!r}); if "
                f"that is not its language, give it as LANG:PATH (e.g. en:{f}) or with --langs"
            )
    if not out:
        raise TandemError(
            f"no {'validation' if val else 'training'} data: pass {flag} FILE [FILE ...] (one language per file)"
        )
    return out


def _read_note(read: dict[str, dict[str, Any]]) -> str:
    """What `_source_texts` skipped, per source, for an error message ("" when nothing)."""
    parts = []
    for path, r in read.items():
        if r["skipped"]:
            kinds = ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in r["skipped"].items())
            parts.append(
                f"--data {path}: {r['docs']:,} document{'s' if r['docs'] != 1 else ''} read, "
                f"{sum(r['skipped'].values()):,} records skipped ({kinds}; first: {r['first']})"
            )
    return "; ".join(parts)


# a file more than this share of whose (non-blank) records were skipped is warned of after a tokenizer is
# trained on what remains of it: mostly binary data, another encoding, JSON rows without the field
_SKIPPED_SHARE = 0.1


def _file_of(where: str) -> str:
    """The file an item's `where` names ("PATH line N", "PATH row N", or the path of a bad file)."""
    for sep in (" line ", " row "):
        head, found, tail = where.rpartition(sep)
        if found and tail.isdigit():
            return head
    return where


def _skipped_note(read: dict[str, dict[str, Any]]) -> str:
    """A warning naming the files of which more than _SKIPPED_SHARE of the records were skipped (blank ones
    not counted), with their counts ("" when none)."""
    bad = []
    for r in read.values():
        for path, f in r.get("files", {}).items():
            counts = {k: n for k, n in f["skipped"].items() if k != "empty_docs"}
            skipped = sum(counts.values())
            if skipped and skipped > _SKIPPED_SHARE * (skipped + f["docs"]):
                kinds = ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in counts.items())
                share = skipped / (skipped + f["docs"])
                bad.append(
                    f"{path}: {f['docs']:,} read, {skipped:,} skipped ({share:.0%}: {kinds}; first: {f['first']})"
                )
    if not bad:
        return ""
    more = f"; and {len(bad) - 10} more such files" if len(bad) > 10 else ""
    return (
        f"warning: the tokenizer was trained on what was left of files with more than {_SKIPPED_SHARE:.0%} "
        f"of their records skipped (blank ones not counted): {'; '.join(bad[:10])}{more}. Binary "
        "data, another encoding or another field? Check these files, convert or leave them out of --data, "
        "then start again with --overwrite"
    )


def _damaged_note(read: dict[str, dict[str, Any]]) -> str:
    """A warning naming the files the readers could read only in part or not at all (a truncated or corrupt
    .gz, an unreadable parquet file), whatever share of the text they are ("" when none): the tokenizer was
    trained without the rest, as the data stream will read them (skipped and counted in bad_files)."""
    bad = [f["damaged"] for r in read.values() for f in r.get("files", {}).values() if f.get("damaged")]
    if not bad:
        return ""
    more = f"; and {len(bad) - 10} more such files" if len(bad) > 10 else ""
    files, them = ("files", "them") if len(bad) > 1 else ("file", "it")
    return (
        f"warning: the tokenizer was trained on what could be read of {len(bad)} damaged --data {files}, as "
        f"the data stream reads {them} (the rest skipped; bad_files in data_stats.json once the stream gets "
        f"there): {'; '.join(bad[:10])}{more}. Repair or replace {them}, or leave {them} out of --data, then "
        "start again with --overwrite"
    )


def _source_texts(
    sources: list[Any],
    read: dict[str, dict[str, Any]] | None = None,
    holdout: tuple[float, int] = (0.0, 0),
    spoken_langs: Container[str] | None = None,
) -> Iterator[str | tuple[str, str | None]]:
    """Every document of the sources, read once as the data stream reads them (any format, the source's
    field; bad records are skipped here and counted by the stream), for training a tokenizer; not those
    of the held-out split `holdout` (share, seed; see `is_held_out`). `read` gets per source path its
    documents read and records skipped by kind (for error messages), and the same per file ("files":
    records, not pieces, read). With `spoken_langs`, each document comes as `(text, lang)` for the
    tokenizer's spoken-form share, lang None where its source's language is not in them (stays written)."""
    read = {} if read is None else read
    from tandem.data import Reader
    from tandem.data.sources import resolve_files
    from tandem.data.stream import is_held_out

    if all(resolve_files(s)[0] == "tokens" for s in sources):
        raise TandemError(
            "--data holds only token caches: pass --tokenizer, the one the caches were built with"
        )
    n = 0
    for i, src in enumerate(sources):
        reader = Reader(dataclasses.replace(src, shuffle_files=False, shuffle_docs=0), i, seed=0)
        r = read.setdefault(str(src.path), {"docs": 0, "skipped": {}, "first": "", "files": {}})
        last = None  # the record of the last document (a long one comes in pieces)
        try:
            while (item := reader.next()).kind != "epoch_end":
                name = _file_of(item.where) if item.where else str(src.path)
                f = r["files"].setdefault(name, {"docs": 0, "skipped": {}, "first": ""})
                if item.kind == "doc" and isinstance(item.payload, str):
                    if is_held_out(item.payload, *holdout):  # validation text: not even the tokenizer sees it
                        continue
                    n += 1
                    r["docs"] += 1
                    f["docs"] += item.record != last
                    last = item.record
                    if spoken_langs is None:
                        yield item.payload
                    else:
                        yield item.payload, (src.lang if src.lang in spoken_langs else None)
                elif item.kind == "bad":
                    stat, msg = item.payload
                    for counts in (r, f):
                        counts["skipped"][stat] = counts["skipped"].get(stat, 0) + 1
                        counts["first"] = counts["first"] or msg
                    if stat == "bad_files":  # a file read in part or not at all (a damaged .gz, parquet)
                        f.setdefault("damaged", msg)
        finally:
            reader.close()
    if n == 0:
        paths = ", ".join(str(s.path) for s in sources)
        raise TandemError(
            f"no text to train a tokenizer on: every --data source is empty or unreadable "
            f"({_read_note(read) or paths}); give UTF-8 text, .jsonl or .parquet files"
        )


def _holds_tokenizer(directory: Path) -> bool:
    """Whether a model directory holds a tokenizer `Tokenizer.load` reads (tandem's, a SentencePiece model,
    a Hugging Face tokenizer's files)."""
    from tandem.hf_tokenizer import is_hf_tokenizer_dir
    from tandem.tokenizer import _FOREIGN_MODEL_FILES, MODEL_FILE

    if not directory.is_dir():
        return False
    return any((directory / f).is_file() for f in (MODEL_FILE, *_FOREIGN_MODEL_FILES)) or is_hf_tokenizer_dir(
        directory
    )


def _match_decoder_start(model: nn.Module, start: int | None, tokenizer: Any = None) -> str | None:
    """Set the model's `decoder_start_token_id` to the one the data stream's targets ask for (mBART-cc25's
    language code, which HF's mBART moves from the end of the labels to the front of the decoder input);
    a note saying so, None when nothing changed."""
    mcfg = getattr(model, "config", None)
    if start is None or mcfg is None or getattr(mcfg, "decoder_start_token_id", None) == start:
        return None
    old, mcfg.decoder_start_token_id = mcfg.decoder_start_token_id, int(start)
    name = getattr(tokenizer, "id_to_token", str)(start)
    return (
        f"targets end with the language code {name!r}, which mBART moves to the front of the decoder input: "
        f"decoder_start_token_id is now {start} (was {old}), for training and generation alike"
    )


# what --add-symbols adds (besides an objective's own symbols, `objective_symbols`): AlexaTM's causal-LM and
# document-separator tokens
_ADDED_SYMBOLS = ("[CLM]", "[DOC]")


def _add_symbols(cfg: TrainConfig, tokenizer: Any, rank: int) -> list[int]:
    """With `add_symbols`: add [CLM], [DOC] and the objective's symbols that the (Hugging Face) tokenizer
    lacks, as special tokens; their new ids ([] when nothing was added or asked for)."""
    if not cfg.add_symbols:
        return []
    from tandem.tokenizer import objective_symbols

    wanted = [*_ADDED_SYMBOLS, *objective_symbols(cfg.objective)]
    missing = [s for s in wanted if tokenizer.token_to_id(s) is None]
    if not missing:
        return []
    if not hasattr(tokenizer, "add_symbols"):
        raise TandemError(
            f"--add-symbols: the tokenizer {getattr(tokenizer, 'source', '') or tokenizer!r} lacks "
            f"{', '.join(missing[:4])}{', ...' if len(missing) > 4 else ''}, and only a Hugging Face "
            "tokenizer is extended here; train a tandem tokenizer with them (`tandem tokenizer train`, or "
            "pretrain without --tokenizer)"
        )
    ids = tokenizer.add_symbols(missing)
    if rank == 0:
        shown = (
            ", ".join(f"{s} = {i}" for s, i in zip(missing, ids, strict=True))
            if len(ids) <= 4
            else f"{len(ids)} symbols, ids {ids[0]}..{ids[-1]}"
        )
        print(
            f"--add-symbols: added {shown} to the tokenizer (saved with the model); the model's token tables "
            "get rows for them, initialised at the mean of the existing rows",
            flush=True,
        )
    return ids


def _check_vocab(model: nn.Module, tokenizer: Any) -> None:
    """A model given to `train` must have rows for every id the tokenizer gives (those --add-symbols added
    included): refuse one that has not."""
    rows = int(getattr(getattr(model, "config", None), "vocab_size", 0) or 0)
    if rows and rows < tokenizer.vocab_size:
        raise TandemError(
            f"the model has {rows} token rows and the tokenizer {tokenizer.vocab_size} ids: give a model with "
            "rows for every token (Seq2SeqLM.add_token_rows adds them)"
        )


def _check_lengths(cfg: TrainConfig, model_config: Any, where: str) -> None:
    """Refuse, before training, a `--seq-len`/`--target-len` longer than the model's learned position
    table (`max_positions`): the first batch that long would stop the run with a traceback."""
    if getattr(model_config, "position_type", None) != "learned":
        return  # relative (T5) or no positions: any length
    limit = model_config.max_positions
    for flag, n in (("--seq-len", cfg.seq_len), ("--target-len", cfg.target_len or cfg.seq_len)):
        if n > limit:
            raise TandemError(
                f"{flag} {n} is longer than {where}'s {limit} learned positions (max_positions): lower it to "
                f"{limit} or less{_MORE_POSITIONS if not cfg.init_from else ''}"
            )


_MORE_POSITIONS = ", or give the model more with --model-overrides '{\"max_positions\": N}'"


def _build_model(cfg: TrainConfig, vocab_size: int, added: list[int] | None = None) -> nn.Module:
    """The model the run trains: the preset (at the tokenizer's size, `vocab_size` + the `added` ids), or
    the one saved in `init_from`, given rows for the `added` ids (--add-symbols)."""
    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM

    added = list(added or [])
    if cfg.init_from:
        model = Seq2SeqLM.from_pretrained(cfg.init_from)
        rows = model.config.vocab_size
        # more rows than tokens: a vocabulary padded (T5's 32128 rows for 32100 tokens); the rows past the
        # tokenizer's ids are never read, and --add-symbols gives its new ids those rows first
        if rows < vocab_size:
            raise TandemError(
                f"init_from {cfg.init_from}: vocabulary {rows} < the tokenizer's {vocab_size} (it gives ids the "
                "model has no row for); use the tokenizer saved with that model"
            )
        changed = {k: v for k, v in cfg.model_overrides.items() if getattr(model.config, k) != v}
        if changed:  # e.g. --dropout: the same weights in a model built with the new setting
            weights = model.state_dict()
            model = Seq2SeqLM(dataclasses.replace(model.config, **changed))
            model.load_state_dict(weights)
        model.add_token_rows(added, vocab_size)
        return model
    mcfg = ModelConfig.preset(cfg.preset, vocab_size=vocab_size + len(added), **cfg.model_overrides)
    return Seq2SeqLM(mcfg)


def _build_data(cfg: TrainConfig, tokenizer, rank: int, world: int):
    from tandem.data import Decontaminator, PretrainStream

    deco = None
    if cfg.decontaminate:
        deco = Decontaminator.from_files(cfg.decontaminate)
        if rank == 0:
            print(
                f"decontamination: {len(deco.grams):,} 13-grams from {deco.num_texts:,} evaluation texts",
                flush=True,
            )

    notes: list[str] = []
    sources = _sources(cfg, notes)
    if rank == 0:
        for note in notes:
            print(note, flush=True)
    return PretrainStream(
        sources,
        tokenizer,
        **_example_args(cfg),
        seed=cfg.seed,
        rank=rank,
        world_size=world,
        num_workers=cfg.num_workers,
        decontaminate=deco,
    )


def _example_args(cfg: TrainConfig) -> dict[str, Any]:
    """The PretrainStream settings that make a run's examples, the same for its training and validation
    streams: objective and its settings, lengths, batch size, language sampling, spoken share, held-out split."""
    return dict(
        objective=cfg.objective,
        seq_len=cfg.seq_len,
        batch_size=cfg.batch_size,
        alpha=cfg.alpha,
        spoken_fraction=cfg.spoken_fraction,
        target_len=cfg.target_len,
        pad_to_max=cfg.compile if cfg.pad_to_max is None else cfg.pad_to_max,
        objective_args=cfg.objective_args(),
        holdout=cfg.val_holdout or 0.0,
        holdout_seed=cfg.seed,
    )


def _build_val(cfg: TrainConfig, tokenizer: Any, rank: int) -> list[dict[str, Any]]:
    """The fixed validation batches of `val_data` (or of the documents of `data` that `val_holdout` holds
    out): drawn as the training stream draws its examples (the tokenizer, objective and its settings,
    lengths, language sampling, spoken share), from a stream of their own seeded by `val_seed`; the same on
    every rank. A clear error naming the sources when none gives an example."""
    from tandem.data import PretrainStream
    from tandem.data.stream import NoUsableData
    from tandem.train.validation import DEFAULT_VAL_EXAMPLES, draw_val_batches, val_seed

    holdout = cfg.val_holdout or 0.0
    flag = f"--val-holdout {holdout:g}" if holdout else "--val-data"
    if tokenizer is None:
        raise TandemError(f"{flag}: the validation documents are read with the run's tokenizer; give one")
    notes: list[str] = []
    sources = _sources(cfg, notes, flag="--data" if holdout else "--val-data")
    named = ", ".join(str(s.path) for s in sources)
    want = cfg.val_examples or DEFAULT_VAL_EXAMPLES
    stream = None
    t0 = time.perf_counter()
    try:
        stream = PretrainStream(
            sources, tokenizer, **_example_args(cfg), seed=val_seed(cfg.seed), holdout_split="val"
        )
        batches = draw_val_batches(stream, want)
    except NoUsableData as e:
        if not holdout or stream is None or stream.stats.get("not_held_out", 0) == 0:
            raise TandemError(f"{flag} {named}: no validation set could be drawn ({e})") from e
        raise TandemError(
            f"{flag}: none of the {stream.stats['not_held_out']:,} documents of --data {named} is held out; "
            "raise --val-holdout (or validate on other files with --val-data)"
        ) from e
    except TandemError as e:
        if holdout:
            raise TandemError(f"{flag} {named}: no validation set could be drawn ({e})") from e
        raise TandemError(
            f"--val-data {named}: no validation set could be drawn ({e}); give readable text (.txt, .jsonl, "
            ".parquet) with documents in it"
        ) from e
    finally:
        if stream is not None:
            stream.close()
    if rank == 0:
        for note in notes:
            print(note, flush=True)
        n = sum(len(b["input_ids"]) for b in batches)
        shown = named if len(sources) <= 3 else f"{sources[0].path} and {len(sources) - 1} more sources"
        if holdout:
            docs = stream.stats["held_out"]
            # a small share of a big corpus is found by reading many documents first: say how many, and how long
            read = docs + stream.stats.get("not_held_out", 0)
            print(
                f"validation: {n} examples from {docs:,} held-out documents of {shown} (found among {read:,} "
                f"documents read in {time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
            if n < want:
                print(
                    f"warning: --val-holdout {holdout:g} holds out only {docs:,} documents of --data, which give "
                    f"{n} validation examples, not --val-examples {want}; raise --val-holdout for more",
                    file=sys.stderr,
                    flush=True,
                )
        else:
            print(f"validation: {n} examples from {shown}", flush=True)
    return batches


# settings a checkpoint cannot be resumed under: they change the model's shape, or what the batches after the
# checkpoint are (the data stream's state continues only the stream it was saved from); and settings that
# change nothing a resumed run computes (so changing them on --resume is not worth a warning)
_MODEL_KEYS = ("preset", "model_overrides", "tokenizer", "vocab_size", "add_symbols")
# (--batch-size and --grad-accum only warn: the stream goes on with the same examples, grouped into other
# batches, which is how a run moves to a machine with less memory)
_BATCH_KEYS = (
    "seq_len target_len objective denoise_prob drop_rate mean_span alpha spoken_fraction seed val_holdout"
).split()
_RUN_CONTROL_KEYS = frozenset(
    (
        "resume overwrite stop_after progress tensorboard plot log_every ckpt_every keep_ckpts num_workers "
        "prefetch_batches "
        "device out init_from encoder_init val_data val_every val_examples"
    ).split()
)


def _check_run_folder(cfg: TrainConfig, out: Path, ckpt: Checkpointer, rank: int) -> None:
    """Refuse to start over in a folder that holds a run (unless `overwrite`) or to resume it with another
    model or other batches; name any other setting that changed since the run's last start."""
    if cfg.resume and cfg.overwrite:
        raise TandemError(
            "--resume continues the run in --out and --overwrite starts it over: pass one of them"
        )
    last = ckpt.latest()
    if last is None and not cfg.overwrite:
        return
    if not cfg.resume:
        if not cfg.overwrite:
            raise TandemError(
                f"--out {out} already holds a run (checkpoint {last.name}); pass --resume to continue it, "
                "--overwrite to start over (its checkpoints are deleted), or choose another --out"
            )
        if rank == 0:  # also when an earlier start stopped before its first checkpoint
            shutil.rmtree(ckpt.root, ignore_errors=True)
            shutil.rmtree(out / "tensorboard", ignore_errors=True)
            own = out / "tokenizer"  # trained by the old run from its data: the new run trains its own
            if cfg.tokenizer and Path(cfg.tokenizer).resolve() == own.resolve():
                shutil.rmtree(own, ignore_errors=True)
        if dist.is_initialized():
            dist.barrier()
        return
    saved_path = out / CONFIG_NAME
    try:
        saved = json.loads(saved_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):  # no record of the run's settings: nothing to compare with
        return
    now = json.loads(json.dumps(cfg.to_dict()))
    # the same files however they are spelt: absolute in train_config.json, as typed on the command line
    saved, now = _paths_here(saved), _paths_here(now)
    # the run's own tokenizer (trained into OUT/tokenizer) is the same one however OUT is spelled
    own = (out / "tokenizer").resolve()
    if (
        isinstance(saved.get("tokenizer"), str)
        and isinstance(now.get("tokenizer"), str)
        and Path(saved["tokenizer"]).name == "tokenizer"
        and Path(saved.get("out", "")).name == out.name
        and Path(now["tokenizer"]).resolve() == own
    ):
        saved["tokenizer"] = now["tokenizer"]
    # an objective setting or --target-len left unset is its default: giving that value is no change
    for d in (saved, now):
        for k, default in _objective_defaults().items():
            if k in d and d[k] is None:
                d[k] = default
        if d.get("target_len") is None and "seq_len" in d:
            d["target_len"] = d["seq_len"]
    changed = {
        k: (saved[k], v)
        for k, v in now.items()
        if k in saved and saved[k] != v and k not in _RUN_CONTROL_KEYS
    }
    diffs = {k: f"{k}: {json.dumps(a)} -> {json.dumps(b)}" for k, (a, b) in changed.items()}
    for keys, what, why in (
        (_MODEL_KEYS, "its checkpoints hold another model", ""),
        (
            _BATCH_KEYS,
            "the run was started with other data settings",
            "; its checkpoints continue only its batches",
        ),
    ):
        refused = [diffs[k] for k in keys if k in changed]
        if refused:
            raise TandemError(
                f"--resume {out}: {what} ({'; '.join(refused)}){why}: resume with the run's settings (--config "
                f"{saved_path} --resume), or train with the new ones in another --out, starting from this "
                f"run's weights with --init-from {out / 'model'} once it has finished"
            )
    if diffs and rank == 0:
        print(
            f"warning: --resume with settings changed since the run's last start ({', '.join(diffs.values())}); "
            "it continues with the new values, so it will not match an uninterrupted run",
            file=sys.stderr,
            flush=True,
        )


# PretrainStream counters of skipped input (see its stats), in the order a summary names them
_SKIP_STATS = (
    "empty_files",
    "bad_files",
    "invalid_utf8",
    "bad_json",
    "long_records",
    "missing_field",
    "empty_docs",
    "nul_docs",
    "short_docs",
    "decontaminated",
    "spoken_errors",
    "foreign_tokens",
)


def _data_summary(stats: dict[str, Any]) -> str:
    """One line on what the data stream skipped ("" when nothing was)."""
    parts = []
    skipped = [f"{stats[k]} {k}" for k in _SKIP_STATS if isinstance(stats.get(k), int) and stats[k] > 0]
    if skipped:
        parts.append("skipped " + ", ".join(skipped))
    if stats.get("changed_files"):
        parts.append(f"{stats['changed_files']} files changed since the checkpoint")
    if stats.get("split_docs"):
        parts.append(f"{stats['split_docs']} long documents split")
    if stats.get("held_out"):
        parts.append(f"{stats['held_out']} documents held out for validation")
    if stats.get("empty_languages"):
        parts.append("no data for languages " + ", ".join(map(str, stats["empty_languages"])))
    if stats.get("dead_sources"):
        parts.append("no usable document in " + ", ".join(map(str, stats["dead_sources"])))
    return "; ".join(parts)


def _split_lang(entry: str) -> tuple[str | None, str]:
    """(language, path) of a `data` entry: "LANG:PATH" names its language (unless the whole is a path that
    exists), "PATH" none."""
    head, sep, rest = entry.partition(":")
    if sep and head and "/" not in head and not Path(entry).exists():
        return head, rest
    return None, entry


def _data_entry_here(entry: Any) -> Any:
    """A `data` / `val_data` entry with its local path made absolute (`tandem.runpaths.here`): "PATH",
    "LANG:PATH" (the language kept) or a Source dict (its "path")."""
    if isinstance(entry, dict):
        p = entry.get("path")
        return {**entry, "path": here(str(p))} if isinstance(p, str | os.PathLike) else entry
    if not isinstance(entry, str | os.PathLike):
        return entry
    lang, path = _split_lang(str(entry))
    return here(path) if lang is None else f"{lang}:{here(path)}"


# the settings that name local files or folders, written to train_config.json as absolute paths (see
# `_paths_here`); "out" and "tokenizer" (a folder a tokenizer is trained into when missing) always are
_PATH_KEYS = ("init_from", "encoder_init")
_SOURCE_LIST_KEYS = ("data", "val_data")


def _paths_here(d: dict[str, Any]) -> dict[str, Any]:
    """A config dict (`TrainConfig.to_dict()` or a train_config.json) with its local paths absolute, so that
    `--config OUT/train_config.json --resume` names the same files from any working directory. A path written
    relative (by a release before this one) is taken against the working directory, the run's own when such a
    run resumes."""
    d = dict(d)
    for k in _PATH_KEYS:
        if isinstance(d.get(k), str):
            d[k] = here(d[k])
    for k in _SOURCE_LIST_KEYS:
        if isinstance(d.get(k), list):
            d[k] = [_data_entry_here(e) for e in d[k]]
    if isinstance(d.get("decontaminate"), list):
        d["decontaminate"] = values_here(d["decontaminate"])
    for k in ("out", "tokenizer"):
        if isinstance(d.get(k), str) and d[k]:
            d[k] = absolute(d[k])
    return d


def _write_config(cfg: TrainConfig, out: Path) -> None:
    """`<out>/train_config.json`, replaced atomically (never left half-written), its local paths absolute."""
    tmp = out / CONFIG_TMP
    # --resume, --overwrite and --stop-after say what one invocation does, not how the run is set up: kept,
    # `--config OUT/train_config.json --resume` after an --overwrite start was refused, and after a
    # --stop-after start stopped again after as many steps
    d = _paths_here(cfg.to_dict()) | {"resume": False, "overwrite": False, "stop_after": None}
    tmp.write_text(json.dumps(d, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out / CONFIG_NAME)


def _reshard_note(saved_world: int, world: int, saved_batch: Any, now: int | None, cfg: TrainConfig) -> str:
    """What a resume under another number of ranks changes (said once, by rank 0)."""
    note = (
        f"note: the checkpoint was written by {saved_world} rank{'s' * (saved_world > 1)} and this run has "
        f"{world}: the model and optimizer are resharded; "
    )
    if now is None:  # a stream the caller gave
        return note + "the data stream goes on from the saved ranks' states through its load_resharded"
    note += (
        "the data stream goes on from the position of its slowest rank in each source, so documents the "
        "faster ranks had read since may be seen again (none is skipped), and the examples after the "
        "checkpoint are not the uninterrupted run's"
    )
    if isinstance(saved_batch, int) and saved_batch != now:
        note += f"; the global batch changes from {saved_batch} to {now} sequences per step"
        accum, rem = divmod(saved_batch * cfg.grad_accum, now)
        if rem == 0 and accum > 0:
            note += f" (--grad-accum {accum} keeps {saved_batch})"
    return note


class TrainingInterrupted(KeyboardInterrupt):
    """Raised by `train` after a SIGINT (Ctrl-C) or SIGTERM (cluster preemption) once the step reached is
    saved; `exit_code` is what `tandem pretrain` exits with: 128 + the signal (130, 143)."""

    def __init__(self, signum: int, step: int) -> None:
        name = signal.Signals(signum).name
        super().__init__(f"{name} at step {step}; checkpoint saved")
        self.signum, self.step = signum, step
        self.exit_code = 128 + signum


@dataclass
class _PendingStep:
    """A step applied with its gradient norm not yet read back (`clip_grad_norm(defer=True)`): the norm, on
    its way to the host, and what undoes the step's bookkeeping if it was not finite (the device skipped
    that update)."""

    norm: LateRead
    step: int  # steps done before it
    data_state: Any
    rng: Any
    frozen: bool
    acc: torch.Tensor  # the log window's sums before it
    tokens_seen: int
    flops: float


class _DeferredInterrupt:
    """While active, a first SIGINT (Ctrl-C) or SIGTERM (SLURM and Kubernetes send it before a SIGKILL
    after a grace period; torchrun forwards both to its workers) only records the signal: the loop finishes
    its step, saves a checkpoint and raises `TrainingInterrupted`. Under torchrun the ranks agree on the step
    through the loop's per-step all-reduce. A second Ctrl-C stops at once; a repeated SIGTERM does not (it is
    often the same preemption delivered twice: to every process of the job, and forwarded by torchrun)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.signum: int | None = None
        self._pid = os.getpid()
        self._prev: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def _handle(self, signum: int, frame: Any) -> None:
        if os.getpid() != self._pid:  # a forked tokeniser worker: the main process decides
            return
        if self.signum is not None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        self.signum = signum
        what = "interrupt" if signum == signal.SIGINT else "SIGTERM"
        again = " (Ctrl-C again to stop at once)" if signum == signal.SIGINT else ""
        print(f"\n{what}: finishing this step and saving a checkpoint{again}", file=sys.stderr, flush=True)

    def __enter__(self) -> _DeferredInterrupt:
        if self.enabled:
            for sig in self.SIGNALS:
                prev = signal.getsignal(sig)
                if prev is signal.SIG_IGN:  # e.g. SIGINT of a background job: keep ignoring it
                    continue
                self._prev[sig] = prev
                signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, prev in self._prev.items():
            signal.signal(sig, prev)
        self._prev.clear()


# ---------------------------------------------------------------------------- the loop
def train(
    cfg: TrainConfig,
    model: nn.Module | None = None,
    data: Any = None,
    tokenizer: Any = None,
    val: Any = None,
) -> TrainResult:
    """Run (or resume) pretraining as configured; returns the step reached and the logged records.

    `val`: validation batches (dicts as the stream's, on this rank the whole set: rank r scores every
    world-th), used instead of a set drawn from `cfg.val_data`.

    The first process holds `cfg.out`'s run lock (tandem.outlock) from before the folder is checked or
    written until the run ends: a second run into the same folder is refused."""
    from tandem.outlock import OutLock

    with OutLock("tandem pretrain") as lock:
        return _train(cfg, model, data, tokenizer, lock, val)


def _train(
    cfg: TrainConfig, model: nn.Module | None, data: Any, tokenizer: Any, lock: Any, val: Any = None
) -> TrainResult:
    cfg.validate()
    if cfg.device == "cpu":
        os.environ["TANDEM_DEVICE"] = "cpu"
    rank, world, device = init_distributed()
    if cfg.device == "cuda" and device.type != "cuda":
        raise TandemError("device cuda requested but torch sees no GPU; use --device cpu")
    if cfg.compile_mode == "reduce-overhead" and (world > 1 or cfg.grad_accum > 1):
        why = f"FSDP2 over {world} ranks" if world > 1 else f"--grad-accum {cfg.grad_accum}"
        raise TandemError(
            f"--compile-mode reduce-overhead (CUDA graphs) does not work with {why}: their collectives or "
            "accumulated gradients live across graph replays; use --compile-mode auto (it takes Inductor's "
            "default mode there) or default"
        )
    if cfg.compile_mode != "auto" and not cfg.compile and rank == 0:
        print(f"warning: --compile-mode {cfg.compile_mode} has no effect without --compile", file=sys.stderr)
    out = Path(cfg.out)
    if data is None and model is None and not cfg.init_from:  # before a tokenizer is trained (and once built)
        from tandem.config import ModelConfig

        _check_lengths(cfg, ModelConfig.preset(cfg.preset, **cfg.model_overrides), f"preset {cfg.preset}")
    if cfg.val_data and val is None:  # a missing validation file: said before a tokenizer is trained
        _sources(cfg, flag="--val-data")
    if model is None and tokenizer is None and not cfg.tokenizer:
        # --init-from weights read the ids of the tokenizer saved with them; else one is trained into OUT
        # (and found there on resume)
        own = cfg.init_from if cfg.init_from and _holds_tokenizer(Path(cfg.init_from)) else None
        cfg = dataclasses.replace(cfg, tokenizer=own or str(out / "tokenizer"))
    if out.is_file():
        raise TandemError(f"--out {out} is a file; choose a directory path")
    ckpt = Checkpointer(out / "checkpoints", keep=cfg.keep_ckpts)
    if rank == 0 and out.is_dir():
        lock.acquire(out)  # before _check_run_folder may delete an earlier run's checkpoints
    _check_run_folder(cfg, out, ckpt, rank)  # before train_config.json is replaced
    # a resumed run's train_config.json keeps the settings its checkpoints were written with until the
    # checkpoint has loaded (a failure before that, e.g. a missing --data file, leaves it as it was)
    resuming = cfg.resume and ckpt.latest() is not None
    if cfg.encoder_init and not resuming and not (Path(cfg.encoder_init) / "config.json").is_file():
        # said before a tokenizer is trained (a resumed run does not read the source again)
        raise TandemError(
            f"--encoder-init {cfg.encoder_init}: not a model directory (no config.json); give the folder of a "
            "saved tandem or Hugging Face model (e.g. runs/encoder/model)"
        )
    if rank == 0 and cfg.freeze_encoder_steps > 0 and not (cfg.encoder_init or cfg.init_from or model):
        print(
            f"warning: --freeze-encoder-steps {cfg.freeze_encoder_steps} without --encoder-init or --init-from: "
            "the encoder keeps its random initialisation for those steps",
            file=sys.stderr,
            flush=True,
        )
    if rank == 0:
        lock.acquire(out)  # makes the folder (a clear error when a file is in the way)
        # a run refused before it made anything (e.g. no text in --data) takes a folder it made away again
        lock.own(CONFIG_NAME, CONFIG_TMP)
        if not resuming:
            _write_config(cfg, out)
    bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda")

    # 1. tokenizer, model (same seed on every rank: FSDP shards identical full weights)
    _seed_all(cfg.seed)
    added: list[int] = []  # ids --add-symbols gave the tokenizer's new symbols
    if model is None:
        if tokenizer is None:
            tokenizer = _build_tokenizer(cfg, out, rank)
            added = _add_symbols(cfg, tokenizer, rank)
        model = _build_model(cfg, tokenizer.vocab_size - len(added), added)
    if cfg.residual_dtype == "auto":  # bf16 under bf16 autocast, where the model can: the elementwise kernels
        # between the GEMMs read and write half the bytes (H200, base shape: 1-4% faster per step; losses as
        # the fp32 stream's to 4e-4 over 800 CPU steps)
        if bf16 and hasattr(model, "set_residual_dtype"):
            model.set_residual_dtype(torch.bfloat16)
    elif cfg.residual_dtype == "bf16":
        if not bf16:
            if rank == 0:
                print(
                    "warning: --residual-dtype bf16 has no effect without bf16 autocast (--precision bf16, or "
                    "auto on a GPU): the run is fp32",
                    file=sys.stderr,
                    flush=True,
                )
        elif hasattr(model, "set_residual_dtype"):
            model.set_residual_dtype(torch.bfloat16)
        elif rank == 0:
            print(
                f"warning: --residual-dtype bf16: {type(model).__name__} cannot keep its residual stream in bf16 "
                "(no set_residual_dtype); it stays fp32",
                file=sys.stderr,
                flush=True,
            )
    if data is None:  # a stream given by the caller makes its own batches
        _check_lengths(cfg, getattr(model, "config", None), cfg.init_from or f"preset {cfg.preset}")
    if cfg.encoder_init and not resuming:  # a resumed run's checkpoint holds the encoder (and its training)
        _load_encoder(model, cfg.encoder_init)
    frozen = cfg.freeze_encoder_steps > 0
    if frozen:
        _freeze_encoder(model, True)
    # sequences per step (a stream given by the caller makes its own batches)
    global_batch = world * cfg.batch_size * cfg.grad_accum if data is None else None
    if data is None:
        if tokenizer is None:
            tokenizer = _build_tokenizer(cfg, out, rank)
            added = _add_symbols(cfg, tokenizer, rank)
        if added:
            _check_vocab(model, tokenizer)
        data = _build_data(cfg, tokenizer, rank, world)
    if val is None and (cfg.val_data or cfg.val_holdout):  # before any step: a bad validation file fails now
        val = _build_val(cfg, tokenizer, rank)
    val = list(val) if val is not None else None
    val_every = cfg.val_every or cfg.ckpt_every
    note = _match_decoder_start(model, getattr(data, "decoder_start", None), tokenizer)
    starts = getattr(data, "decoder_starts", None) or {}
    if not note and len(set(starts.values())) > 1:  # mBART-cc25 with several languages
        codes = ", ".join(tokenizer.id_to_token(t) for t in sorted(set(starts.values())))
        first = getattr(getattr(model, "config", None), "decoder_start_token_id", None)
        note = (
            f"targets end with their language's code ({codes}), which mBART moves to the front of the decoder "
            f"input: each row starts from its own; generation starts from the model's decoder_start_token_id "
            f"({first}, config.json): set it to a language's code to generate in that language"
        )
    if note and rank == 0:
        print(note, flush=True)
    from tandem.config import ModelConfig

    # the FLOPs behind tflops/MFU come from a tandem config (another model, e.g. a Hugging Face one, has none)
    mcfg = getattr(model, "config", None)
    mcfg = mcfg if isinstance(mcfg, ModelConfig) else None

    # 2. parallelism from outside, then the optimizer over the (possibly sharded) parameters
    module = Seq2SeqTrainModule(
        model, fused_loss=cfg.fused_loss, chunk_tokens=cfg.loss_chunk_tokens, compile_loss=cfg.compile
    )
    compile_mode = (
        resolve_compile_mode(cfg.compile_mode, device, world, cfg.grad_accum) if cfg.compile else None
    )
    cuda_graphs = uses_cuda_graphs(compile_mode) and device.type == "cuda"  # Inductor skips them on CPU
    if cfg.compile and rank == 0:
        mode_name = compile_mode or "Inductor's default"
        how = "with CUDA graphs" if cuda_graphs else f"in {mode_name} mode"
        print(
            f"compile: each block with torch.compile, {how} (--compile-mode {cfg.compile_mode})", flush=True
        )
    parallelize(
        module,
        device,
        activation_checkpointing=cfg.activation_checkpointing,
        compile=cfg.compile,
        mixed_precision="bf16" if bf16 else None,
        compile_mode=compile_mode,
    )
    module.train()
    optimizer = build_optimizer(
        module, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=tuple(cfg.betas), eps=cfg.eps
    )
    schedule = LRSchedule(cfg.lr, cfg.steps, min(cfg.warmup, cfg.steps), cfg.min_lr, cfg.schedule)
    if rank == 0 and cfg.warmup >= cfg.steps > 1:
        print(
            f"warning: --warmup {cfg.warmup} >= --steps {cfg.steps}: the learning rate rises over every step of the "
            f"run and reaches --lr only at the last; lower --warmup (e.g. {max(1, cfg.steps // 10)})",
            file=sys.stderr,
            flush=True,
        )

    _seed_rank(cfg.seed, rank)  # after the model's initialisation: each rank its own dropout masks

    # 3. resume
    step, tokens_seen = 0, 0
    window: dict[str, Any] | None = None  # the log window the checkpoint was saved in the middle of
    if cfg.resume:
        last = ckpt.latest()
        if last is not None:
            meta = json.loads((last / "trainer.json").read_text(encoding="utf-8"))
            step = int(meta["step"])
            saved_world = int(meta.get("world_size", 1))
            if (
                saved_world != world
                and hasattr(data, "load_state_dict")
                and not hasattr(data, "load_resharded")
            ):
                raise TandemError(
                    f"{last} was written by {saved_world} ranks, this run has {world}, and its data stream "
                    f"({type(data).__name__}) has no load_resharded to continue under another number of ranks: "
                    f"resume with {saved_world} processes"
                )
            # a checkpoint written with the encoder frozen (step <= freeze_encoder_steps: it thaws at the
            # start of that step's successor) holds no optimizer state for it: load it as it was written
            # (recorded since; else from this run's freeze_encoder_steps), then freeze or thaw it as this
            # run's freeze_encoder_steps says: the loop thaws it where the uninterrupted run does
            saved_frozen = meta.get("encoder_frozen", frozen and step <= cfg.freeze_encoder_steps)
            if bool(saved_frozen) != frozen:
                _freeze_encoder(module.model, bool(saved_frozen))
            meta, data_state = ckpt.load(last, module, optimizer)  # and this rank's saved RNG states
            if saved_frozen and step >= cfg.freeze_encoder_steps:  # thawed now, as the loop would
                _freeze_encoder(module.model, False)
            elif not saved_frozen and step < cfg.freeze_encoder_steps:  # a longer freeze than the run's
                _freeze_encoder(module.model, True)
            frozen = step < cfg.freeze_encoder_steps
            if rank >= saved_world:  # none saved for this rank: it was given those of rank % saved_world
                _seed_rank(cfg.seed, rank, step)
            tokens_seen = int(meta.get("tokens_seen", 0))
            window = meta.get("window")
            if saved_world != world:
                if any(s is not None for s in data_state) and hasattr(data, "load_resharded"):
                    data.load_resharded(data_state)
            elif data_state is not None and hasattr(data, "load_state_dict"):
                data.load_state_dict(data_state)
            if rank == 0:
                _write_config(cfg, out)
                print(f"resumed from {last} (step {step}, {tokens_seen:,} tokens)", flush=True)
                if saved_world != world:
                    print(
                        _reshard_note(saved_world, world, meta.get("global_batch"), global_batch, cfg),
                        flush=True,
                    )
        elif rank == 0:
            print(f"--resume: no checkpoint in {ckpt.root}; starting from step 0", flush=True)
    if step >= cfg.steps:
        model_dir = None
        # the run reached its last step, but a kill after that step's checkpoint can have cut the final save
        # short (or left an earlier, shorter run's model): write it again from the checkpoint
        if step > 0 and hasattr(module.model, "save_pretrained") and hasattr(module.model, "config"):
            model_dir = save_final_model(module.model, out / "model")
            if rank == 0 and tokenizer is not None and hasattr(tokenizer, "save"):
                tokenizer.save(out / "model")
        if rank == 0:
            print(
                f"already at step {step} >= steps {cfg.steps}; nothing to train"
                + (f" (the final model is in {model_dir})" if model_dir else ""),
                flush=True,
            )
        return TrainResult(step, [], out, model_dir)

    # 4. logging
    from tandem.train.validation import evaluate_loss

    # rows after the step the run goes on from are dropped (to be redone), and at step 0 those of step 0 too:
    # the validation row of step 0 is logged again
    logger = MetricsLogger(out, tensorboard=cfg.tensorboard, resume_step=step or -1) if rank == 0 else None
    peak_flops = None
    if device.type == "cuda":
        peak_flops = measure_matmul_peak(device, torch.bfloat16 if bf16 else torch.float32)
    bar = None
    if rank == 0 and cfg.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, initial=step, desc="pretrain", dynamic_ncols=True)

    params = [p for p in module.parameters()]
    prefetch = cfg.prefetch_batches if cfg.prefetch_batches is not None else 2 * (device.type == "cuda")
    if prefetch > 0:  # after the resume: the thread starts from the restored state
        data = BackgroundBatches(data, prefetch)
    it = iter(data)
    records: list[dict[str, Any]] = []
    val_records: list[dict[str, Any]] = []
    post: dict[str, str] = {}  # the progress line's values
    # per-log-window sums: loss, tokens, then (loss, tokens) per kind incl. "other", input tokens
    nk = len(KINDS) + 1
    acc = torch.zeros(2 + 2 * nk + 1, dtype=torch.float64, device=device)
    window_t0, window_steps, window_flops = time.perf_counter(), 0, 0.0
    if window:  # resumed inside a log window: its row covers the steps before the stop too, as uninterrupted
        if rank == 0:  # the saved sums are over every rank; the log's all-reduce adds the others' zeros
            acc.copy_(torch.tensor(window["sums"], dtype=acc.dtype))
        window_steps, window_flops = int(window["steps"]), float(window["flops"])
        window_t0 -= float(window["time_s"])

    def trainer_state() -> dict[str, Any]:
        """What a checkpoint keeps of the loop (collective: the sums of an open log window are reduced)."""
        state: dict[str, Any] = {
            "tokens_seen": tokens_seen,
            "lr": lr,
            "schedule": dataclasses.asdict(schedule),
            "encoder_frozen": frozen,  # what the optimizer holds state for (resumed with another freeze)
        }
        if global_batch is not None:
            state["global_batch"] = global_batch
        if window_steps:
            state["window"] = {
                "sums": _all_reduce(acc.clone()).tolist(),
                "steps": window_steps,
                "flops": window_flops,
                "time_s": time.perf_counter() - window_t0,
            }
        return state

    grad_norm = float("nan")
    stop_at = cfg.steps if cfg.stop_after is None else min(cfg.steps, step + cfg.stop_after)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)

    def validate(at: int) -> float:
        """Score the validation set and log its row for step `at`; returns the seconds it took. Eval mode,
        no gradient, the RNGs restored: the training steps are those of a run without it."""
        t0 = time.perf_counter()
        vrec = {"step": at, **evaluate_loss(module, val, device, autocast, rank, world)}
        vrec["val_time_s"] = time.perf_counter() - t0
        if not math.isfinite(vrec["val_loss"]) and rank == 0:
            print(f"warning: step {at}: the validation loss is {vrec['val_loss']}", file=sys.stderr)
        if logger is not None:
            logger.log(vrec)
            val_records.append(vrec)
        if bar is not None:
            bar.set_postfix({**post, "val": f"{vrec['val_loss']:.3f}"}, refresh=False)
        return vrec["val_time_s"]

    if val and step == 0:  # the starting point of the curve (a resumed run has logged it already)
        window_t0 += validate(0)
    # one process with a fused AdamW: a step's gradient norm is read back while the next step's kernels are
    # queued, so that the host never waits for the device within a step; a step whose norm is not finite is
    # skipped on the device meanwhile (its weights, moments and step counts unchanged), then undone here
    defer = world == 1 and can_defer_norm(optimizer)
    pending: _PendingStep | None = None

    def not_finite(at: int, norm: float) -> TandemError:
        return TandemError(
            f"step {at + 1}: the loss or its gradient is not finite (gradient norm {norm}); the update was not "
            f"applied and the {at} steps before it are in the checkpoint in {ckpt.root}: continue with --resume "
            f"and {lower_lr_advice(cfg)} (or a longer --warmup), or check the data"
        )

    def settle() -> bool:
        """Read the deferred norm of the last step. Not finite: undo that step's bookkeeping, save the steps
        before it (with the data and RNG states from before its batches) and return True: the run stops."""
        nonlocal pending, grad_norm, step, tokens_seen, lr, frozen, window_steps, window_flops, last_saved
        nonlocal diverged
        if pending is None:
            return False
        p, pending = pending, None
        grad_norm = p.norm.value()
        if math.isfinite(grad_norm):
            return False
        step, tokens_seen = p.step, p.tokens_seen
        lr = schedule.apply(optimizer, step)  # the optimizer as that step found it (the next one set its lr)
        window_steps -= 1
        window_flops -= p.flops
        acc.copy_(p.acc)
        if p.frozen and not frozen:  # the encoder was unfrozen after it
            _freeze_encoder(module.model, True)
            frozen = True
        optimizer.zero_grad(set_to_none=True)  # the gradients of a step drawn after it, if any
        set_rng_state(p.rng)
        if step > last_saved:
            ckpt.save(step, module, optimizer, trainer_state(), p.data_state)
            last_saved = step
        diverged = not_finite(step, grad_norm)
        return True

    exhausted = False
    data_failure: BaseException | None = None  # an error the data stream raised mid-run
    diverged: TandemError | None = None  # a step whose loss or gradient was not finite
    last_saved = step
    interrupt = _DeferredInterrupt(enabled=True)
    stop_signal = None  # once a rank got SIGINT/SIGTERM: every rank saves this step's checkpoint and stops
    # A Ctrl-C or SIGTERM ends the loop after the step, with a checkpoint. The handlers stay until the run's
    # files are written: a SIGTERM during the wrap-up (sent twice, or torchrun's to the ranks still busy once
    # one has exited) is only recorded, where the default action would kill the process half-way through.
    # the batch thread (if any) stops however the loop ends: an error must not leave it building batches
    with interrupt, data if isinstance(data, BackgroundBatches) else contextlib.nullcontext():
        while step < stop_at:
            if frozen and step >= cfg.freeze_encoder_steps:
                _freeze_encoder(module.model, False)
                frozen = False
            lr = schedule.apply(optimizer, step)
            # the data state before this step's batches: what a checkpoint saved because the data failed
            # while they were drawn holds (every step trained so far is kept, none is counted twice)
            pre_state = data.state_dict() if hasattr(data, "state_dict") else None
            pre_rng = get_rng_state()  # and the RNGs before its dropout, for a step that is not applied
            micro = []
            data_error: BaseException | None = None
            ran_out = False
            try:
                for _ in range(cfg.grad_accum):
                    host = next(it)
                    micro.append((_to_device(host, device), host_batch_facts(host, device)))
            except StopIteration:  # told to every rank below: one that stopped alone would hang the others
                ran_out, micro = True, []
            except Exception as e:  # bad data the stream could not skip: keep what was trained, then stop
                data_error, micro = e, []
            # normalise by the global number of target tokens so that accumulation and data parallelism
            # give exactly the mean over the whole global batch (FSDP averages gradients over ranks)
            # the same all-reduce tells every rank whether any of them got a stop signal (no extra
            # collective): all then stop after this step, at the same step, and save one checkpoint
            # (summed codes: SIGINT 1, SIGTERM world + 1, so a sum > world means some rank got SIGTERM)
            sig = interrupt.signum
            code = 0 if sig is None else 1 if sig == signal.SIGINT else world + 1
            # a third entry says whether any rank's data failed: then every rank saves the steps trained so
            # far (the checkpoint is collective) and stops; a fourth whether any rank's data ran out: then
            # every rank ends the run here
            counts = [
                float(sum(facts["n_target"] for _, facts in micro)),
                float(code),
                float(data_error is not None),
                float(ran_out),
            ]
            if world > 1:
                n_tok = torch.tensor(counts, dtype=torch.float64, device=device)
                counts = _all_reduce(n_tok).tolist()
            # one process: nothing to agree on, and reading a device tensor back would wait for the last step
            n_global, n_stop, n_failed, n_out = counts
            if (n_failed > 0 or n_out > 0) and settle():  # the last step's norm first: it may undo that step
                break
            if n_failed > 0:
                if step > last_saved:
                    ckpt.save(step, module, optimizer, trainer_state(), pre_state)
                    last_saved = step
                data_failure = data_error or TandemError(
                    f"step {step}: the data stream of another rank failed; see that rank's error"
                )
                break
            if n_out > 0:
                exhausted = True
                break
            if world > 1 and n_stop > 0:
                stop_signal = signal.SIGTERM if n_stop > world else signal.SIGINT
            scale = world / max(1.0, n_global)
            step_vec = torch.zeros_like(acc)
            flops = 0.0
            for b, facts in micro:
                if cuda_graphs:  # a new iteration: the graphs' outputs from the last one are no longer used
                    torch.compiler.cudagraph_mark_step_begin()
                with autocast:
                    loss, ex_loss, ex_tok = module(
                        b["input_ids"],
                        b.get("attention_mask"),
                        b["labels"],
                        scale,
                        b.get("decoder_input_ids"),
                        padded=facts["padded"],
                        scored=facts["scored"],
                    )
                loss.backward()
                add_kind_sums(step_vec, ex_loss, ex_tok, b.get("kind"), facts["codes"])
                step_vec[-1] += facts["n_input"]
                if mcfg is not None:
                    B, S = b["input_ids"].shape
                    flops += seq2seq_train_flops(
                        mcfg.d_model,
                        mcfg.ffn_dim,
                        mcfg.encoder_layers,
                        mcfg.decoder_layers,
                        mcfg.vocab_size,
                        B,
                        S,
                        b["labels"].shape[1],
                        kv_dim=mcfg.kv_dim,
                        gated_ffn=mcfg.gated_ffn,
                    )
            if defer:
                if settle():  # the last step's norm, long computed: its read does not wait for this step
                    break
                norm_t = clip_grad_norm(params, cfg.clip, optimizer, defer=True)
                grad_norm = 0.0  # read at the next step, or before anything is logged or saved
            else:
                grad_norm = clip_grad_norm(params, cfg.clip, optimizer)
            if not math.isfinite(grad_norm):
                # a non-finite loss or gradient (the norm is global, so every rank sees it): the update would
                # write NaN into the weights and every checkpoint after it. Skip it, keep the steps trained so
                # far (with the data state from before this step's batches, as for a data failure) and stop
                optimizer.zero_grad(set_to_none=True)
                set_rng_state(pre_rng)
                if step > last_saved:
                    ckpt.save(step, module, optimizer, trainer_state(), pre_state)
                    last_saved = step
                diverged = not_finite(step, grad_norm)
                break
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if defer:
                pending = _PendingStep(
                    LateRead(norm_t), step, pre_state, pre_rng, frozen, acc.clone(), tokens_seen, flops
                )
            step += 1
            acc += step_vec
            window_steps += 1
            window_flops += flops
            tokens_seen += int(n_global)  # exact target tokens; input tokens are added at log time

            if world == 1:  # a Ctrl-C/SIGTERM during this step: the run stops after it, with a row of its own
                stop_signal = interrupt.signum
            log_now = step % cfg.log_every == 0 or step == stop_at or stop_signal is not None
            val_now = bool(val) and (step % val_every == 0 or step == cfg.steps)
            ckpt_now = step % cfg.ckpt_every == 0 or step == stop_at
            # the deferred norm is read before anything is logged, scored or saved
            if (log_now or val_now or ckpt_now) and settle():
                break
            if log_now:
                vec = _all_reduce(acc.clone()).tolist()
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                dt = max(1e-9, time.perf_counter() - window_t0)
                tok_in_out = vec[1] + vec[-1]
                rec: dict[str, Any] = {
                    "step": step,
                    "loss": vec[0] / max(1.0, vec[1]),
                    "lr": lr,
                    "tokens_per_s": tok_in_out / dt,
                    "target_tokens_per_s": vec[1] / dt,
                    "grad_norm": grad_norm,
                    "tokens_seen": tokens_seen,
                    "time_per_step_s": dt / window_steps,
                }
                rec.update({f"loss_{name}": v for name, v in kind_losses(vec).items()})
                if frozen:
                    rec["encoder_frozen"] = True
                if peak_flops:
                    rec["tflops"] = window_flops * world / dt / 1e12
                    rec["mfu"] = window_flops / dt / peak_flops
                if not math.isfinite(rec["loss"]):
                    raise TandemError(
                        f"step {step}: loss is {rec['loss']}; train with {lower_lr_advice(cfg)}, or check the data "
                        f"(last good checkpoint in {ckpt.root})"
                    )
                if logger is not None:
                    logger.log(rec)
                    records.append(rec)
                if bar is not None:
                    post = {"loss": f"{rec['loss']:.3f}", "tok/s": _fmt_rate(rec["tokens_per_s"])}
                    if val_records:
                        post["val"] = f"{val_records[-1]['val_loss']:.3f}"
                    if "mfu" in rec:
                        post["mfu"] = f"{100 * rec['mfu']:.1f}%"
                    bar.set_postfix(post, refresh=False)
                if step % cfg.log_every == 0:  # a row at a stop only: its window goes on in the checkpoint
                    acc.zero_()
                    window_t0, window_steps, window_flops = time.perf_counter(), 0, 0.0
            if val_now:
                window_t0 += validate(step)  # not counted in the training throughput
            if bar is not None:
                bar.update(1)
            if ckpt_now:
                ckpt.save(
                    step,
                    module,
                    optimizer,
                    trainer_state(),
                    data.state_dict() if hasattr(data, "state_dict") else None,
                )
                last_saved = step
            if world == 1:  # no rank to agree with: stop as soon as the step is done
                stop_signal = interrupt.signum
            if stop_signal is not None:
                if settle():  # a signal that came after the check above
                    break
                if step > last_saved:
                    ckpt.save(
                        step,
                        module,
                        optimizer,
                        trainer_state(),
                        data.state_dict() if hasattr(data, "state_dict") else None,
                    )
                    last_saved = step
                break

        if exhausted and step > last_saved:
            ckpt.save(
                step,
                module,
                optimizer,
                trainer_state(),
                data.state_dict() if hasattr(data, "state_dict") else None,
            )
        if bar is not None:
            bar.close()
        if logger is not None:
            logger.close()
            if exhausted:
                print(f"the data ran out at step {step}; saved a checkpoint", flush=True)
        model_dir = None
        if step >= cfg.steps or exhausted:
            if hasattr(module.model, "save_pretrained") and hasattr(module.model, "config"):
                model_dir = save_final_model(module.model, out / "model")
                if rank == 0 and tokenizer is not None and hasattr(tokenizer, "save"):
                    tokenizer.save(out / "model")
        if hasattr(data, "close"):
            data.close()
        stats = getattr(data, "stats", None)
        if isinstance(stats, dict):
            path = out / (f"data_stats_rank{rank}.json" if world > 1 else "data_stats.json")
            path.write_text(json.dumps(stats, indent=1, default=str) + "\n", encoding="utf-8")
            summary = _data_summary(stats)
            if summary and rank == 0:
                print(f"data: {summary}; files and lines in {path}", file=sys.stderr, flush=True)
            from tandem.data.stream import NoUsableData

            if isinstance(data_failure, NoUsableData):  # its problems are in the file just written
                data_failure = data_failure.listed_in(f"{path} ('problems')")
        if rank == 0 and cfg.plot:
            plot_metrics(out / "metrics.jsonl", out / "loss.png")
        if stop_signal is not None and rank == 0:
            print(
                f"interrupted at step {step}; checkpoint saved in {ckpt.root}: continue with --resume",
                file=sys.stderr,
                flush=True,
            )
        if data_failure is not None and rank == 0 and step > 0:
            print(
                f"the data stream failed at step {step}; the steps trained so far are in the checkpoint in "
                f"{ckpt.root}: fix the data (see the error below) and continue with --resume",
                file=sys.stderr,
                flush=True,
            )
    if data_failure is not None:
        raise data_failure
    if diverged is not None:
        raise diverged
    if stop_signal is not None:
        raise TrainingInterrupted(stop_signal, step)
    return TrainResult(step, records, out, model_dir, val_records)
