"""The distillation loop: teacher outputs once per batch, the chosen losses, two stages, chains.

Stage 1 (generic, optional): the student learns the teacher's distribution on unlabelled text turned into
pretraining examples (AlexaTM denoising + CLM), as in FitzGerald et al. (KDD 2022). Stage 2 (task): the
student learns the task from gold targets (hard-label CE) and the teacher's token distributions (KL /
JSD at a temperature), optionally from teacher generations (sequence-level KD, Kim & Rush 2016), from its
own samples scored by the teacher (on-policy, GKD), and with hidden-state matching (TinyBERT).

Every check that can fail (vocabularies, empty data, teacher memory) runs before any compute.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import random
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from tandem.devices import torch_device
from tandem.distill.cache import TopKLogitCache
from tandem.distill.init import check_vocab, shrink_init, student_config
from tandem.distill.losses import (
    DIVERGENCES,
    HiddenStateProjector,
    hidden_pairs,
    kd_loss,
    topk_kd_loss,
)
from tandem.errors import TandemError
from tandem.finetune import (
    Encoded,
    FitResult,
    SLULabels,
    TrainConfig,
    decode_as_dev_scoring,
    fit,
    forced_first_token,
    iterate_batches,
    mark_clm_prefix,
    planned_steps,
    require_nonempty,
    save_model,
    target_framing,
)
from tandem.model.generation import GREEDY
from tandem.tokenizer import affixes, frame

SEQ_KD_MODES = ("off", "replace", "add")
# what, on top of GREEDY's neutral settings, makes a generate call sample from the full distribution
ONPOLICY_SAMPLING = {"do_sample": True, "top_k": 0, "top_p": 1.0}


@dataclass
class DistillConfig(TrainConfig):
    """Training hyper-parameters plus the distillation losses and teacher placement."""

    ce_weight: float = 0.5  # hard-label cross-entropy on the gold (or seq-KD) targets
    kd_weight: float = 0.5  # token-level divergence to the teacher
    temperature: float = 2.0
    divergence: str = "forward"  # forward | reverse | jsd
    beta: float = 0.5  # jsd mixture weight
    hidden_weight: float = 0.0  # hidden-state matching through learned projections
    topk: int = 0  # > 0: keep only the teacher's top-k logits, cached on disk after the first epoch
    cache_dir: str | None = None  # default <out>/teacher_topk when topk > 0
    seq_kd: str = "off"  # off | replace (train on teacher generations) | add (gold + generations)
    seq_kd_max_new_tokens: int = 64
    seq_kd_beams: int = 1
    onpolicy: float = 0.0  # fraction of batches whose targets are student samples scored by the teacher
    onpolicy_temperature: float = 1.0
    onpolicy_max_new_tokens: int = 64
    teacher_device: str = "auto"  # auto: the student's device; "cpu" offloads the teacher
    teacher_dtype: str = "auto"  # auto: bf16 on GPU, fp32 on CPU | float32 | bfloat16 | float16
    shrink: bool = True  # copy alternating teacher layers when the widths match
    generic_epochs: float = 1.0  # stage-1 passes over the unlabelled examples

    def validate(self) -> None:
        super().validate()
        for name in ("ce_weight", "kd_weight", "temperature", "beta", "hidden_weight", "onpolicy"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise TandemError(f"--{name.replace('_', '-')} must be a finite number, got {v!r}")
        if self.topk < 0:
            raise TandemError(f"--topk must be >= 0 (0: off), got {self.topk}")
        for name in ("seq_kd_max_new_tokens", "seq_kd_beams", "onpolicy_max_new_tokens"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise TandemError(f"{name} must be an integer >= 1, got {v!r}")
        t = self.onpolicy_temperature
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t <= 0:
            raise TandemError(f"onpolicy_temperature must be a finite number > 0, got {t!r}")
        if self.generic_epochs <= 0 or not math.isfinite(self.generic_epochs):
            raise TandemError(f"--generic-epochs must be a finite number > 0, got {self.generic_epochs}")
        if self.divergence not in DIVERGENCES:
            raise TandemError(f"--divergence {self.divergence!r}: choose from {', '.join(DIVERGENCES)}")
        if self.seq_kd not in SEQ_KD_MODES:
            raise TandemError(f"--seq-kd {self.seq_kd!r}: choose from {', '.join(SEQ_KD_MODES)}")
        if not TEMPERATURE_RANGE[0] <= self.temperature <= TEMPERATURE_RANGE[1]:
            # the divergence is scaled by T^2: at 1e-30 it was exactly 0 (distillation silently off), at 1e30
            # NaN at the first step (blamed on --lr); float32 log-softmax loses it above ~1e3
            lo, hi = TEMPERATURE_RANGE
            raise TandemError(
                f"--temperature must be in [{lo:g}, {hi:g}], got {self.temperature:g}: the T^2-scaled divergence "
                f"vanishes below (the teacher would teach nothing) and is lost to float32 rounding above "
                f"(the default is {DistillConfig.temperature:g})"
            )
        if not 0.0 <= self.onpolicy <= 1.0:
            raise TandemError(f"--onpolicy must be a fraction in [0, 1], got {self.onpolicy}")
        if self.divergence == "jsd" and not 0.0 < self.beta < 1.0:
            raise TandemError(f"--beta must be in (0, 1) for jsd, got {self.beta}")
        if min(self.ce_weight, self.kd_weight, self.hidden_weight) < 0:
            raise TandemError("loss weights must be >= 0")
        if self.ce_weight + self.kd_weight + self.hidden_weight == 0:
            raise TandemError(
                "every loss weight is 0; give --ce-weight, --kd-weight or --hidden-weight a value"
            )
        if self.onpolicy > 0 and self.kd_weight == 0 and self.hidden_weight == 0:
            # on-policy batches (the student's own samples) have no gold targets: CE does not train them
            raise TandemError(
                f"--onpolicy {self.onpolicy} needs --kd-weight > 0: on-policy batches are the student's own "
                "samples, trained only by the divergence to the teacher (and --hidden-weight); give "
                "--kd-weight a value or set --onpolicy 0"
            )
        if (
            self.teacher_device != "auto"
        ):  # a typo or a missing GPU: one line now, not torch's traceback later
            torch_device(self.teacher_device, "--teacher-device ", "pass --teacher-device cpu or auto")


# the --temperature values whose T^2-scaled divergence float32 computes (0.01: 1/100 of its T=1 gradient)
TEMPERATURE_RANGE = (0.01, 1000.0)


def check_topk(topk: int, vocab_size: int) -> None:
    """A TandemError when --topk asks for more logits than the teacher's vocabulary has."""
    if topk > vocab_size:
        raise TandemError(
            f"--topk {topk} is larger than the teacher's vocabulary ({vocab_size} tokens); give at most "
            f"{vocab_size}, or 0 to distil from the full distribution"
        )


# ============================================================================================ teacher placement
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _free_bytes(device: torch.device) -> int | None:
    """Memory a teacher can still take on `device` (None: unknown)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    # Linux: MemAvailable counts the page cache the kernel gives back on demand; free pages alone (MemFree,
    # what SC_AVPHYS_PAGES reads) are a small part of the memory of a machine that has read much data
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def teacher_placement(cfg: DistillConfig, student_device: torch.device) -> tuple[torch.device, torch.dtype]:
    """Where the teacher runs and in which dtype (bf16 on GPU unless told otherwise)."""
    dev = (
        student_device
        if cfg.teacher_device == "auto"
        else torch_device(cfg.teacher_device, "--teacher-device ", "pass --teacher-device cpu or auto")
    )
    if cfg.teacher_dtype == "auto":
        dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    elif cfg.teacher_dtype in _DTYPES:
        dtype = _DTYPES[cfg.teacher_dtype]
    else:
        raise TandemError(f"--teacher-dtype {cfg.teacher_dtype!r}: choose auto, {', '.join(_DTYPES)}")
    return dev, dtype


def same_device(a: torch.device, b: torch.device) -> bool:
    """Whether `a` and `b` are one device: a bare "cuda" is the current CUDA device, as torch places tensors
    there (torch.device("cuda") != torch.device("cuda:0"), so `==` misses a teacher already on the GPU)."""
    if a.type != b.type:
        return False
    if a.index == b.index or a.type != "cuda":
        return True
    current = torch.cuda.current_device() if torch.cuda.is_available() else 0
    return (current if a.index is None else a.index) == (current if b.index is None else b.index)


def check_teacher_fits(
    num_params: int, device: torch.device, dtype: torch.dtype, already_there: int = 0
) -> None:
    """Raise a TandemError naming the offload option when the teacher's weights won't fit on `device`."""
    need = num_params * torch.finfo(dtype).bits // 8
    free = _free_bytes(device)
    # 1.2x: activations of an inference-mode forward on top of the weights.
    if free is not None and need * 1.2 > free + already_there:
        gib = 2**30
        hint = (
            "pass --teacher-device cpu to offload the teacher to CPU memory, or --teacher-dtype bfloat16"
            if device.type == "cuda"
            else "use a machine with more memory, --teacher-dtype bfloat16, or a smaller teacher"
        )
        raise TandemError(
            f"teacher needs ~{need * 1.2 / gib:.1f} GiB on {device} ({num_params / 1e6:.0f}M parameters in "
            f"{str(dtype).removeprefix('torch.')}) but only {free / gib:.1f} GiB is free; {hint}"
        )


def _oom_message(device: torch.device) -> str:
    return (
        f"out of memory running the teacher on {device}; pass --teacher-device cpu to offload it, lower "
        f"--batch-size, or use --topk with a cache so later epochs skip the teacher"
    )


class Teacher:
    """A frozen teacher in inference mode on its own device/dtype; outputs come back on the student's."""

    def __init__(self, model: nn.Module, device: torch.device, dtype: torch.dtype):
        self.model = model
        self.device, self.dtype = device, dtype
        try:
            model.to(device=device, dtype=dtype)
        except torch.OutOfMemoryError as e:
            raise TandemError(_oom_message(device)) from e
        model.eval().requires_grad_(False)
        self.config = model.config

    def forward(
        self,
        batch: dict[str, torch.Tensor],
        labels: torch.Tensor,
        hidden: bool = False,
        out_device: torch.device | None = None,
    ) -> Any:
        """Teacher logits (float32) and optionally per-layer states for `labels` as decoder targets."""
        out_device = out_device or labels.device
        try:
            with torch.inference_mode():
                out = self.model(
                    input_ids=batch["input_ids"].to(self.device),
                    attention_mask=batch["attention_mask"].to(self.device),
                    labels=labels.to(self.device),
                    output_hidden_states=hidden,
                )
        except torch.OutOfMemoryError as e:
            raise TandemError(_oom_message(self.device)) from e

        # Clone out of inference mode: inference tensors cannot be saved for the student's backward.
        def back(t: torch.Tensor) -> torch.Tensor:
            return t.to(out_device, torch.float32).clone()

        return {
            "logits": back(out.logits),
            "enc": [back(h) for h in out.encoder_layer_states] if hidden else None,
            "dec": [back(h) for h in out.decoder_layer_states] if hidden else None,
        }

    @torch.no_grad()
    def generate(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kw: Any) -> torch.Tensor:
        try:
            return self.model.generate(input_ids.to(self.device), attention_mask.to(self.device), **kw).cpu()
        except torch.OutOfMemoryError as e:
            raise TandemError(_oom_message(self.device)) from e


def target_limit(*models: nn.Module) -> int | None:
    """The longest decoder target (EOS included) that every one of `models` (ensemble members included) can
    read: the smallest learned position table among them; None when none has one (relative positions)."""
    limits = [
        m.config.max_positions
        for model in models
        for m in (getattr(model, "members", None) or [model])
        if m.config.position_type == "learned"
    ]
    return min(limits) if limits else None


# ============================================================================================ the loss
def labels_from_generation(seqs: torch.Tensor, eos_id: int) -> torch.Tensor:
    """(B, 1 + L) generated ids (start token first) -> (B, L) labels, -100 after each row's first EOS."""
    gen = seqs[:, 1:]
    is_eos = (gen == eos_id).long()
    # positions strictly after the first EOS: the cumulative EOS count before them is >= 1
    after = (is_eos.cumsum(1) - is_eos) > 0
    return gen.masked_fill(after, -100)


class DistillLoss:
    """loss(student, batch, step) for `fit`: CE + divergence (+ hidden) with one teacher forward per batch."""

    def __init__(
        self,
        teacher: Teacher,
        cfg: DistillConfig,
        cache: TopKLogitCache | None = None,
        projector: nn.ModuleDict | None = None,
    ):
        self.teacher, self.cfg, self.cache, self.projector = teacher, cfg, cache, projector
        self.rng = random.Random(cfg.seed)
        self.teacher_forwards = 0
        self.cache_hits = 0
        self._teacher_fp: str | None = None

    def teacher_fingerprint(self) -> str:
        """`_fingerprint` of the teacher's config and weights as they run (device dtype included)."""
        if self._teacher_fp is None:
            self._teacher_fp = _fingerprint(self.teacher.model, [], str(self.teacher.dtype))
        return self._teacher_fp

    def state_dict(self) -> dict[str, Any]:
        """What a `fit` checkpoint keeps of this loss: the on-policy sampling RNG, the counters and the
        teacher's fingerprint. The logit cache is written out first, so that a run killed later resumes with
        every logit computed until the checkpoint."""
        if self.cache is not None:
            self.cache.flush()
        return {
            "rng": self.rng.getstate(),
            "teacher_forwards": self.teacher_forwards,
            "cache_hits": self.cache_hits,
            "teacher": self.teacher_fingerprint(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict()`; a checkpoint distilled from another teacher is refused."""
        if state.get("teacher") != self.teacher_fingerprint():
            raise TandemError(
                "the teacher differs from the one this checkpoint was distilled from (other weights, or "
                "another --teacher-dtype or --teacher-device); resume with the run's own teacher, or start "
                "over (--overwrite, or another --out)"
            )
        self.rng.setstate(state["rng"])
        self.teacher_forwards = int(state["teacher_forwards"])
        self.cache_hits = int(state["cache_hits"])

    def _divergence(self, logits: torch.Tensor, teacher: dict, mask: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        if "topk_values" in teacher:
            return topk_kd_loss(
                logits,
                teacher["topk_values"],
                teacher["topk_indices"],
                mask,
                c.temperature,
                c.divergence,
                c.beta,
            )
        return kd_loss(logits, teacher["logits"], mask, c.temperature, c.divergence, c.beta)

    def _teacher_outputs(self, batch: dict, labels: torch.Tensor, cacheable: bool) -> dict:
        c = self.cfg
        hidden = c.hidden_weight > 0
        ids = batch["ids"].tolist()
        if cacheable and self.cache is not None and not hidden and self.cache.has_all(ids):
            v, i = self.cache.get_batch(ids, labels.shape[1])
            self.cache_hits += 1
            return {"topk_values": v.to(labels.device), "topk_indices": i.to(labels.device)}
        out = self.teacher.forward(batch, labels, hidden=hidden)
        self.teacher_forwards += 1
        if c.topk > 0:
            mask = labels != -100
            if cacheable and self.cache is not None:
                self.cache.put_batch(ids, out["logits"], mask)
            v, i = out["logits"].topk(c.topk, dim=-1)
            # rounded as the cache stores them: a batch read from the cache (a resumed or repeated run finds
            # logits an earlier run computed) trains exactly as one the teacher just scored
            out["topk_values"], out["topk_indices"] = v.half().float(), i
        return out

    def __call__(self, student: nn.Module, batch: dict, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.cfg
        labels, onpolicy = batch["labels"], False
        if c.onpolicy > 0 and self.rng.random() < c.onpolicy:
            # plain sampling from the student at the on-policy temperature (GKD): not the top-k / top-p /
            # n-gram blocking of decoding defaults a shrink student inherits from its teacher's checkpoint
            # the samples become decoder targets: no longer than the student's and teacher's position tables
            limit = target_limit(student, self.teacher.model)
            seqs = student.generate(
                batch["input_ids"],
                batch["attention_mask"],
                **{**GREEDY, **ONPOLICY_SAMPLING},
                max_new_tokens=c.onpolicy_max_new_tokens
                if limit is None
                else min(c.onpolicy_max_new_tokens, limit),
                temperature=c.onpolicy_temperature,
            )
            labels, onpolicy = labels_from_generation(seqs, student.config.eos_token_id), True
        hidden = c.hidden_weight > 0
        out = student(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            labels=labels,
            output_hidden_states=hidden,
        )
        mask = labels != -100
        # no teacher forward when no loss reads it (sequence-level KD alone: CE on the teacher's generations)
        needed = c.kd_weight > 0 or hidden
        teacher = self._teacher_outputs(batch, labels, cacheable=not onpolicy) if needed else {}
        logs: dict[str, torch.Tensor | float] = {}
        total = torch.zeros((), device=out.logits.device)
        if c.kd_weight > 0:
            kd = self._divergence(out.logits, teacher, mask)
            total = total + c.kd_weight * kd
            logs["kd"] = kd.detach()
        # Gold CE makes no sense on the student's own samples: on-policy batches use the divergence only.
        if c.ce_weight > 0 and not onpolicy:
            total = total + c.ce_weight * out.loss
            logs["ce"] = out.loss.detach()
        if hidden and self.projector is not None:
            h = self.projector["enc"](out.encoder_layer_states, teacher["enc"], batch["attention_mask"])
            h = h + self.projector["dec"](out.decoder_layer_states, teacher["dec"], mask)
            total = total + c.hidden_weight * h
            logs["hidden"] = h.detach()
        logs["onpolicy"] = float(onpolicy)
        return total, logs


# ============================================================================================ data helpers
def generic_examples(
    texts: Sequence[str], tokenizer: Any, max_len: int = 128, seed: int = 0, start_index: int = 1_000_000_000
) -> list[Encoded]:
    """Unlabelled text -> AlexaTM pretraining examples (80% denoising, 20% [CLM] continuation), framed as the
    tokenizer frames sources and targets. A tokenizer without a [CLM] token (a Hugging Face BART/mBART/T5
    teacher's) gets denoising examples only, with a warning."""
    from tandem.objectives import AlexaTMObjective, DenoiseObjective

    obj: AlexaTMObjective | DenoiseObjective
    if tokenizer.clm_id is None:
        warnings.warn(
            "generic distillation: the tokenizer has no [CLM] token (a Hugging Face tokenizer), so the generic "
            "stage uses AlexaTM denoising examples only, no [CLM] continuations; `tandem pretrain "
            "--add-symbols` adds the token (and continued pretraining teaches it)",
            stacklevel=2,
        )
        obj = DenoiseObjective()
    else:
        obj = AlexaTMObjective(clm_token_id=tokenizer.clm_id)
    rng = np.random.default_rng(seed)
    # framed as the tokenizer frames sources and targets (`tandem.tokenizer.affixes`; tandem's: EOS appended),
    # the text cut so that the objective's added token ([CLM]; none for denoising) and the framing fit in max_len
    src_affixes, tgt_affixes = affixes(tokenizer), affixes(tokenizer, target=True)
    framing = max(sum(map(len, src_affixes)), sum(map(len, tgt_affixes)))
    out = []
    for i, t in enumerate(texts):
        ids = tokenizer.encode(t)[: max_len - obj.overhead - framing]
        if len(ids) < 2:
            continue
        ex = obj(ids, rng)
        if not ex.target:
            continue
        src, tgt = frame(ex.source, src_affixes)[0], frame(ex.target, tgt_affixes)[0]
        out.append(Encoded(start_index + i, src, tgt))
    return out


def _fingerprint(teacher: nn.Module, examples: Sequence[Encoded], extra: str = "") -> str:
    h = hashlib.sha256()
    h.update(json.dumps(teacher.config.to_dict(), sort_keys=True, default=str).encode())
    # 64 evenly spaced values of every tensor pin the exact teacher checkpoint (each member of an ensemble)
    # without hashing all of it: training moves nearly every weight, so any retrained layer shows
    for model in getattr(teacher, "members", None) or [teacher]:
        for p in model.parameters():
            flat = p.detach().reshape(-1)
            n, k = flat.numel(), min(64, flat.numel())
            # integer positions: float32 linspace rounds n - 1 up to n past 2**24 elements (out of range)
            idx = torch.arange(k, device=flat.device) * (n - 1) // max(1, k - 1)
            h.update(flat[idx].float().cpu().numpy().tobytes())
    for e in examples:
        h.update(np.asarray(e.source + [-1] + e.target, dtype=np.int64).tobytes())
    h.update(extra.encode())
    return h.hexdigest()[:16]


def framed_generation(
    ids: Sequence[int], framing: tuple[Sequence[int], Sequence[int]], eos_id: int, max_len: int | None = None
) -> list[int]:
    """A generated target (the new tokens up to the first EOS) framed as the tokenizer frames targets: its
    text is what lies between the framing's prefix, when it starts with it (a forced `<s>` or language
    code), and the EOS; `frame` puts the affixes around that (`max_len`: the text cut to fit)."""
    body = list(ids)
    if body and body[-1] == eos_id:
        body.pop()
    pre = list(framing[0])
    if pre and body[: len(pre)] == pre:
        body = body[len(pre) :]
    return frame(body, framing, max_len)[0]


def sequence_kd_targets(
    teacher: Teacher,
    examples: Sequence[Encoded],
    cfg: DistillConfig,
    cache_file: Path | None,
    fingerprint: str,
    eos_id: int,
    pad_id: int,
    framing: tuple[Sequence[int], Sequence[int]] | None = None,
    max_len: int | None = None,
) -> list[Encoded]:
    """Teacher generations as targets (Kim & Rush 2016), generated once and cached as jsonl; each is framed
    as the tokenizer frames targets (`framing`, the target affixes; None: EOS after it), see
    `framed_generation`, cut to `max_len`."""
    framing = framing if framing is not None else ([], [eos_id])
    if cache_file is not None and cache_file.is_file():
        try:
            lines = cache_file.read_text(encoding="utf-8").splitlines()
            head = json.loads(lines[0]) if lines else {}
            if head.get("fingerprint") == fingerprint:
                targets = {int(o["index"]): list(o["target"]) for o in map(json.loads, lines[1:])}
                if all(e.index in targets for e in examples):
                    return [Encoded(e.index, e.source, targets[e.index]) for e in examples]
        except (ValueError, KeyError, TypeError, AttributeError):
            pass  # unreadable (cut short by a crash before writes were atomic, or edited): generate again
    targets: dict[int, list[int]] = {}
    for batch in iterate_batches(examples, max(cfg.batch_size, 64), pad_id, shuffle=False):
        # greedy / beam search whatever the teacher's decoding defaults (a checkpoint's sampling, minimum
        # length or n-gram blocking would make the targets something other than its best outputs)
        seqs = teacher.generate(
            batch["input_ids"],
            batch["attention_mask"],
            **{**GREEDY, "num_beams": cfg.seq_kd_beams},
            max_new_tokens=cfg.seq_kd_max_new_tokens,
        )
        labels = labels_from_generation(seqs, eos_id)
        for ex, row in zip(batch["ids"].tolist(), labels.tolist()):
            targets[ex] = framed_generation([t for t in row if t != -100], framing, eos_id, max_len)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(cache_file.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            f.write(json.dumps({"fingerprint": fingerprint}) + "\n")
            for i, t in targets.items():
                f.write(json.dumps({"index": i, "target": t}) + "\n")
        tmp.replace(cache_file)  # atomic: a run killed while writing never leaves a half-written file
    return [Encoded(e.index, e.source, targets[e.index]) for e in examples]


# ============================================================================================ entry points
@dataclass
class DistillResult:
    student: nn.Module
    init: dict
    stages: dict[str, FitResult]
    teacher_forwards: int
    cache_hits: int
    paused: bool = False  # `stop_after` ended the run before this student was finished


def _num_params(model: nn.Module) -> int:
    """Parameters of a model (all members of an ensemble), shared tensors once."""
    return sum(p.numel() for p in model.parameters())


def _steps_run(results: Sequence[FitResult]) -> int:
    """Optimizer steps the fit calls took in this run (not those of the checkpoints they resumed)."""
    return sum(r.steps - r.start_step for r in results)


def build_student(
    teacher: nn.Module, spec: Any, shrink: bool = True, **overrides: Any
) -> tuple[nn.Module, dict]:
    """A student model for `spec` (preset, shrink:E,D, config file/dict, ModelConfig or an nn.Module),
    shrink-initialised from the teacher when widths match (from an ensemble teacher: its first member)."""
    from tandem.model import Seq2SeqLM

    if isinstance(spec, nn.Module):
        check_vocab(teacher.config, spec.config)
        return spec, {"copied": False, "reason": "given model"}
    cfg = student_config(spec, teacher.config, **overrides)
    student = Seq2SeqLM(cfg)
    members = getattr(teacher, "members", None)
    source = members[0] if members else teacher
    report = shrink_init(source, student) if shrink else {"copied": False, "reason": "shrink disabled"}
    if members and report.get("copied"):
        report["source"] = "ensemble member 1"
    return student, report


def distill(
    teacher: nn.Module,
    student: nn.Module,
    train: Sequence[Encoded],
    cfg: DistillConfig,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    out_dir: str | Path | None = None,
    tokenizer: Any = None,
    generic: Sequence[Encoded] | None = None,
    generic_cfg: DistillConfig | None = None,
    log: Callable[[str], None] | None = print,
    labels: SLULabels | None = None,
    generic_teacher: nn.Module | None = None,
    transfer: Sequence[Encoded] | None = None,
    warned: set[str] | None = None,
) -> DistillResult:
    """Distil `teacher` into `student`: optional generic stage on `generic`, then the task stage on `train`.

    `teacher` is one model or a `tandem.model.ensemble.Ensemble` of models sharing a vocabulary (their mean
    probabilities are the soft targets, and they generate the sequence-KD/transfer targets together).

    `transfer` is a transfer set (Hinton et al. 2015): unlabelled task inputs (their targets are ignored)
    that the teacher labels with its own greedy generations, generated once and cached as
    `transfer_targets.jsonl`; the task stage then trains on the gold examples and these together, with
    the token-level losses on both. This is how a teacher passes on more than the labelled set holds.

    `generic_teacher` teaches the generic stage instead of `teacher`: in FitzGerald et al. (KDD 2022) that
    is the pretrained checkpoint, whose denoising/CLM distributions fine-tuning has not yet narrowed.
    The teacher is moved to its device and dtype in place (`--teacher-device`/`--teacher-dtype`; bf16 on GPU
    by default) and frozen in eval mode, without a copy: pass a deep copy to keep the original.
    Checks (vocabulary, empty data, teacher memory) run before any compute. Returns the trained student
    (best dev checkpoint restored) and each stage's FitResult. `labels` (the teacher's SLU tag vocabulary)
    is saved with the student's checkpoints.

    Each stage checkpoints into `<out>/generic/checkpoints` and `<out>/task/checkpoints` (see `fit`; the
    loss keeps its on-policy RNG and the teacher's fingerprint there, and writes out the logit cache). With
    `cfg.resume` a finished stage is restored from its last checkpoint without training and an unfinished
    one continues exactly; a checkpoint distilled from another teacher is refused. `cfg.stop_after` counts
    the steps of both stages; `paused` is set in the result when it ended the run. `warned` is `fit`'s,
    shared by both stages (and by a chain's links).
    """
    cfg.validate()
    check_vocab(teacher.config, student.config)
    check_topk(cfg.topk, teacher.config.vocab_size)
    if cfg.hidden_weight > 0 and getattr(teacher, "members", None):
        raise TandemError(
            "hidden-state matching needs one teacher model, not an ensemble (its members' hidden states "
            "differ): set the hidden-state weight to 0 or distil from a single teacher"
        )
    if cfg.hidden_weight > 0:
        check_hidden_layers(teacher.config, student.config)
    if generic_teacher is not None:
        if generic is None:
            raise TandemError(
                "a generic-stage teacher was given without unlabelled text for the generic stage"
            )
        check_vocab(generic_teacher.config, student.config, "generic teacher", "student")
    if tokenizer is not None:
        from tandem.distill.init import check_tokenizer_fits

        check_tokenizer_fits(student.config, tokenizer, "student")
    require_nonempty(train, "the distillation training set")
    n_student, n_teacher_own = _num_params(student), _num_params(teacher)
    if n_student >= n_teacher_own:  # allowed (born-again distillation), but usually a mixed-up --student
        warnings.warn(
            f"the student ({n_student / 1e6:.2f}M parameters) is not smaller than its teacher "
            f"({n_teacher_own / 1e6:.2f}M): distillation is meant to shrink a model (AlexaTM's students are "
            "0.2-10% of the teacher); check --student, or go on if a same-size student is what you want",
            stacklevel=2,
        )
    if transfer is not None:
        require_nonempty(transfer, "the transfer set (unlabelled inputs for the teacher to label)")
    if generic is not None:
        require_nonempty(generic, "the generic (unlabelled) distillation set")
    student_device = cfg.resolved_device()
    t_dev, t_dtype = teacher_placement(cfg, student_device)
    teachers = [teacher] if generic_teacher is None else [teacher, generic_teacher]  # both resident at once
    on_device = sum(
        p.numel() * p.element_size() for m in teachers for p in m.parameters() if same_device(p.device, t_dev)
    )
    n_teacher = sum(p.numel() for m in teachers for p in m.parameters())
    check_teacher_fits(n_teacher, t_dev, t_dtype, already_there=on_device)
    out = Path(out_dir) if out_dir is not None else None
    t = Teacher(teacher, t_dev, t_dtype)
    student.to(student_device)

    projector = None
    if cfg.hidden_weight > 0:
        sc, tc = student.config, teacher.config
        projector = nn.ModuleDict(
            {
                "enc": HiddenStateProjector(
                    sc.d_model, tc.d_model, hidden_pairs(sc.encoder_layers, tc.encoder_layers)
                ),
                "dec": HiddenStateProjector(
                    sc.d_model, tc.d_model, hidden_pairs(sc.decoder_layers, tc.decoder_layers)
                ),
            }
        )

    stages: dict[str, FitResult] = {}
    forwards = hits = 0
    warned = set() if warned is None else warned  # both stages' fits warn once between them
    if generic is not None:
        gcfg = generic_cfg or dataclasses.replace(
            cfg, seq_kd="off", onpolicy=0.0, topk=0, metric="loss", epochs=cfg.generic_epochs, max_steps=0
        )
        planned_steps(gcfg, len(generic), "--generic-epochs")  # named as the flag, before the teacher runs
        gt = t if generic_teacher is None else Teacher(generic_teacher, t_dev, t_dtype)
        gloss = DistillLoss(gt, gcfg, None, projector)
        if log:
            log(f"stage 1: generic distillation on {len(generic)} pretraining-objective examples")
        stages["generic"] = fit(
            student,
            generic,
            gcfg,
            None,
            gloss,
            out / "generic" if out else None,
            projector,
            tokenizer,
            log,
            warned=warned,
        )
        forwards += gloss.teacher_forwards
        if cfg.stop_after is not None:  # its steps count towards this run's stop_after
            left = cfg.stop_after - _steps_run([stages["generic"]])
            if stages["generic"].interrupted or left < 1:
                return DistillResult(student, {}, stages, forwards, hits, paused=True)
            cfg = dataclasses.replace(cfg, stop_after=left)

    # a generated target (EOS appended when the teacher did not end it) must fit every learned position table
    limit = target_limit(teacher, student)
    gen_cfg = cfg
    if limit is not None and cfg.seq_kd_max_new_tokens > limit - 1:
        gen_cfg = dataclasses.replace(cfg, seq_kd_max_new_tokens=max(1, limit - 1))

    # generated targets are framed as the gold ones (`tok(text_target=...)`: BART's <s> ... </s>, mBART's
    # ... </s> tgt_lang), a forced first token included
    eos, pad = teacher.config.eos_token_id, teacher.config.pad_token_id
    framing = (
        ([], [eos]) if tokenizer is None else target_framing(tokenizer, forced_first_token(teacher.config))
    )

    def teacher_labelled(examples: Sequence[Encoded], name: str) -> list[Encoded]:
        """`examples` with the teacher's generations as targets, cached in `<out>/<name>_targets.jsonl`."""
        n = gen_cfg.seq_kd_max_new_tokens
        # (tandem's framing, EOS alone, is what caches written before framing hold: they stay valid)
        framed = "" if framing == ([], [eos]) else f"f{framing}"
        fp = _fingerprint(teacher, examples, f"{name}{n}b{cfg.seq_kd_beams}{framed}")
        cache_file = out / f"{name}_targets.jsonl" if out else None
        if log and n < cfg.seq_kd_max_new_tokens:
            log(
                f"{name}: teacher generations capped at {n} new tokens + EOS (the models' max_positions {limit})"
            )
        return sequence_kd_targets(t, examples, gen_cfg, cache_file, fp, eos, pad, framing, limit)

    data = list(train)
    if cfg.seq_kd != "off":
        if log:
            log(f"sequence-level KD: teacher generations for {len(data)} examples (cached)")
        gen = teacher_labelled(data, "seqkd")
        if cfg.seq_kd == "replace":
            data = gen
        else:  # gold and teacher targets side by side; fresh indices keep the logit cache keys unique
            offset = max(e.index for e in data) + 1
            data = data + [Encoded(offset + e.index, e.source, e.target) for e in gen]

    if transfer is not None:
        if log:
            log(f"transfer set: teacher generations for {len(transfer)} unlabelled inputs (cached)")
        gen = teacher_labelled(transfer, "transfer")
        offset = max(e.index for e in data) + 1  # fresh indices keep the logit cache keys unique
        data = data + [Encoded(offset + k, e.source, e.target) for k, e in enumerate(gen)]

    cache = None
    if cfg.topk > 0:
        cache_dir = Path(cfg.cache_dir) if cfg.cache_dir else (out / "teacher_topk" if out else None)
        if cache_dir is not None:
            cache = TopKLogitCache(cache_dir, cfg.topk, _fingerprint(teacher, data, f"topk{cfg.topk}"))
    loss = DistillLoss(t, cfg, cache, projector)
    if log:
        log(f"stage 2: task distillation on {len(data)} examples")
    try:
        stages["task"] = fit(
            student,
            data,
            cfg,
            evaluate,
            loss,
            out / "task" if out else None,
            projector,
            tokenizer,
            log,
            labels,
            warned=warned,
        )
    finally:  # also after Ctrl-C / SIGTERM: the logits computed so far stay valid for the next run
        if cache is not None:
            cache.flush()
    paused = stages["task"].interrupted is not None
    return DistillResult(
        student, {}, stages, forwards + loss.teacher_forwards, hits + loss.cache_hits, paused=paused
    )


def check_hidden_layers(teacher: Any, student: Any) -> None:
    """Hidden-state matching pairs each student layer with a teacher layer (configs): a TandemError when the
    student has more encoder or decoder layers than the teacher."""
    if student.encoder_layers > teacher.encoder_layers or student.decoder_layers > teacher.decoder_layers:
        raise TandemError(
            "hidden-state matching pairs each student layer with a teacher layer, but the student has more "
            f"layers ({student.encoder_layers}+{student.decoder_layers}) than the teacher "
            f"({teacher.encoder_layers}+{teacher.decoder_layers}); set the hidden-state weight "
            "to 0 or use a shallower student"
        )


def chain_configs(teacher: Any, specs: Sequence[Any]) -> list[Any]:
    """The student config of each chain link, resolved against the model that teaches it, as
    `distill_chain` builds them: link 1 against the teacher's config, link k against student k-1's (so
    `shrink:E,D` in link k copies student k-1's architecture). A spec that cannot be built is a TandemError
    naming its link, before any training."""
    configs, prev = [], teacher
    for k, spec in enumerate(specs):
        try:
            if isinstance(spec, nn.Module):
                check_vocab(prev, spec.config)
                cfg = spec.config
            else:
                cfg = student_config(spec, prev)
        except TandemError as e:
            if k == 0:
                raise
            raise TandemError(f"chain link {k + 1}, taught by student {k}: {e}") from e
        configs.append(cfg)
        prev = cfg
    return configs


def distill_chain(
    teacher: nn.Module,
    specs: Sequence[Any],
    train: Sequence[Encoded],
    cfg: DistillConfig,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    out_dir: str | Path | None = None,
    tokenizer: Any = None,
    generic: Sequence[Encoded] | None = None,
    log: Callable[[str], None] | None = print,
    labels: SLULabels | None = None,
    generic_teacher: nn.Module | None = None,
    transfer: Sequence[Encoded] | None = None,
    clm_prefix: bool | None = None,
    greedy_defaults: bool = False,
) -> list[DistillResult]:
    """Teacher -> student_1 -> student_2 ...: each trained student teaches the next (e.g. 2.3B -> 170M -> 17M).

    As `finetune` does for its model, each student's config records whether its sources start with
    `[CLM] ` (`clm_prefix` True/False: `mark_clm_prefix`, so `tandem generate` prefixes inputs alike; None
    leaves the config as built), and with `greedy_defaults` drops the decoding defaults a `shrink:` student
    copied from its teacher that greedy dev scoring overrides (`decode_as_dev_scoring`).

    `generic_teacher` (the teacher before fine-tuning) teaches the first link's generic stage; later links
    learn both stages from the previous student. Each link's teacher labels the `transfer` set itself.

    `cfg.resume` resumes every link (finished ones are restored from their checkpoints, not retrained).
    `cfg.stop_after` counts the steps of all links together: the chain then ends early, with the last
    result `paused`, or with fewer results than `specs` when a student finished just as the steps ran out.
    A paused student's `final/` is not written. With `cfg.cache_dir` and more than one student, link k keeps
    its top-k logit cache in `cache_dir/student_k` (each link has another teacher)."""
    if not specs:
        raise TandemError("a distillation chain needs at least one student")
    # Build every student config up front so that a bad spec fails before any training.
    configs = chain_configs(teacher.config, specs)
    if cfg.hidden_weight > 0:  # each link's layer counts too (link 2 failed after link 1 had trained)
        for k, (prev, conf) in enumerate(zip([teacher.config, *configs[:-1]], configs)):
            try:
                check_hidden_layers(prev, conf)
            except TandemError as e:
                if k == 0:
                    raise
                raise TandemError(f"chain link {k + 1}, taught by student {k}: {e}") from e
    current = teacher
    results = []
    budget = cfg.stop_after
    warned: set[str] = set()  # every link's stages warn once between them (a warmup covering the run)
    for k, spec in enumerate(specs):
        if budget is not None and budget < 1:
            break  # stop_after used up by the students before: this one has not started
        link_cfg = cfg if budget == cfg.stop_after else dataclasses.replace(cfg, stop_after=budget)
        if cfg.cache_dir and len(specs) > 1:  # each link has its own teacher, so its own logit cache
            link_cfg = dataclasses.replace(link_cfg, cache_dir=str(Path(cfg.cache_dir) / f"student_{k + 1}"))
        # the seed pins each student's random init (what shrink leaves); wrapped into torch's range (a --seed
        # of 2**64 - 1 failed with an OverflowError at student 2, after student 1 had trained)
        torch.manual_seed((cfg.seed + k) % 2**64)
        student, report = build_student(current, spec, shrink=cfg.shrink)
        if clm_prefix is not None:
            mark_clm_prefix(student.config, clm_prefix)
        if greedy_defaults:
            dropped = decode_as_dev_scoring(student.config)
            if dropped and log:
                shown = ", ".join(f"{k}={v}" for k, v in dropped.items())
                log(
                    f"student {k + 1}: its teacher's decoding defaults ({shown}) are dropped: it is scored greedily"
                )
        if log:
            share = 100 * _num_params(student) / max(1, _num_params(current))
            pct = f"{share:.3g}" if share < 1000 else f"{share:,.0f}"
            log(
                f"chain link {k + 1}/{len(specs)}: {configs[k].num_parameters() / 1e6:.2f}M-parameter student "
                f"({pct}% of its teacher)"
            )
        sub = Path(out_dir) / f"student_{k + 1}" if out_dir is not None else None
        r = distill(
            current,
            student,
            train,
            link_cfg,
            evaluate,
            sub,
            tokenizer,
            generic,
            log=log,
            labels=labels,
            generic_teacher=generic_teacher if k == 0 else None,
            transfer=transfer,
            warned=warned,
        )
        r.init = report
        results.append(r)
        if r.paused:
            break
        if sub is not None:
            save_model(r.student, sub / "final", tokenizer, labels)
        if budget is not None:
            budget -= _steps_run(list(r.stages.values()))
        current = r.student
    return results
