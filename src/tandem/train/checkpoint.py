"""Atomic, resumable training checkpoints (DCP for the possibly sharded model and optimizer).

Layout under `<out>/checkpoints/`:

    step_00000100/  dcp/ (model + optimizer, torch.distributed.checkpoint, one shard file per rank)
                    rank_00000.pt (RNG states and data-iterator state of rank 0), ...
                    trainer.json (step, tokens seen, schedule, world size) -- written last
    latest          the name of the newest complete checkpoint, replaced atomically after it is in place

A checkpoint is written into `.tmp-step_...`, every file fsynced, then renamed into place, then `latest`
is updated: a process killed at any moment leaves either the previous checkpoint or the new one, never
a half-written one that `--resume` would pick. Re-saving a step that already has a checkpoint (a resumed
run stopped again at the same step) moves the old copy to `.old-step_...` first; it stays usable until the
new copy is in place.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from tandem.errors import TandemError

__all__ = ["Checkpointer", "get_rng_state", "save_final_model", "set_rng_state"]

_PREFIX = "step_"
# A checkpoint being replaced by a re-save of the same step is first renamed to `.old-step_...`; it counts
# as that step's checkpoint until the new copy is in place, so no moment leaves the step without one.
_OLD = ".old-"
# Test hook: make rank 0 hang (after writing the files, before the rename) when saving this step, so a
# test can SIGKILL the process in the middle of a checkpoint write.
_HANG_ENV = "TANDEM_TEST_HANG_IN_CHECKPOINT"


def get_rng_state() -> dict[str, Any]:
    """Python, numpy, torch and CUDA RNG states of this process."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `get_rng_state` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some filesystems do not allow opening directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durable(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _rank_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _step_of(name: str) -> int:
    return int(name.removeprefix(_OLD)[len(_PREFIX) :])


class Checkpointer:
    """Saves and restores everything a run needs to continue exactly; keeps the last `keep` checkpoints."""

    def __init__(self, root: str | os.PathLike, keep: int = 3):
        self.root = Path(root)
        self.keep = max(1, int(keep))

    # ---------------------------------------------------------------- discovery
    def complete(self) -> list[Path]:
        """Complete checkpoints (those with trainer.json), oldest first.

        A `.old-step_N` copy (left by a process killed while it replaced step N with a re-save) stands in
        for step N when no complete `step_N` exists."""
        if not self.root.is_dir():
            return []
        found: dict[int, Path] = {}
        for p in self.root.iterdir():
            name = p.name.removeprefix(_OLD)
            if not (name.startswith(_PREFIX) and p.is_dir() and (p / "trainer.json").is_file()):
                continue
            step = _step_of(name)
            if step not in found or found[step].name.startswith(_OLD):
                found[step] = p
        return [found[k] for k in sorted(found)]

    def latest(self) -> Path | None:
        """The checkpoint `latest` names if it is complete, else the newest complete one, else None."""
        pointer = self.root / "latest"
        if pointer.is_file():
            name = pointer.read_text(encoding="utf-8").strip()
            for cand in (self.root / name, self.root / f"{_OLD}{name}"):
                if (cand / "trainer.json").is_file():
                    return cand
        done = self.complete()
        return done[-1] if done else None

    # ---------------------------------------------------------------- save
    def save(
        self,
        step: int,
        module: nn.Module,
        optimizer: torch.optim.Optimizer,
        trainer_state: dict[str, Any],
        data_state: Any,
    ) -> Path:
        """Write checkpoint `step` (collective under torch.distributed: every rank must call it)."""
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_state_dict

        rank, world = _rank_world()
        name = f"{_PREFIX}{step:08d}"
        tmp = self.root / f".tmp-{name}"
        final = self.root / name
        if rank == 0:
            self.root.mkdir(parents=True, exist_ok=True)
            for stale in self.root.glob(".tmp-*"):  # left by a killed run
                shutil.rmtree(stale, ignore_errors=True)
            tmp.mkdir()
        _barrier()
        model_sd, optim_sd = get_state_dict(module, optimizer)
        with warnings.catch_warnings():  # single-process DCP warns that it assumes a single process
            warnings.filterwarnings("ignore", message="torch.distributed is disabled")
            dcp.save({"model": model_sd, "optim": optim_sd}, checkpoint_id=str(tmp / "dcp"))
        blob = {"rng": get_rng_state(), "data": data_state}
        with open(tmp / f"rank_{rank:05d}.pt", "wb") as f:
            torch.save(blob, f)
            f.flush()
            os.fsync(f.fileno())
        _barrier()
        if rank == 0:
            meta = dict(trainer_state, step=step, world_size=world, saved_at=time.time())
            _write_durable(tmp / "trainer.json", json.dumps(meta, indent=1).encode())
            _fsync_dir(tmp / "dcp")
            _fsync_dir(tmp)
            if os.environ.get(_HANG_ENV) == str(step):
                (tmp / "HANGING").write_text("waiting to be killed\n")
                while True:
                    time.sleep(1)
            old = self.root / f"{_OLD}{name}"
            if final.exists():  # re-saving a step after a resume: the old copy stays complete until
                if old.exists():  # the new one is in place (see `complete`)
                    shutil.rmtree(old)
                os.rename(final, old)
                _fsync_dir(self.root)
            os.rename(tmp, final)
            _fsync_dir(self.root)
            if old.exists():
                shutil.rmtree(old, ignore_errors=True)
            ptr_tmp = self.root / ".latest.tmp"
            _write_durable(ptr_tmp, (name + "\n").encode())
            os.replace(ptr_tmp, self.root / "latest")
            _fsync_dir(self.root)
            for old in self.complete()[: -self.keep]:
                shutil.rmtree(old, ignore_errors=True)
        _barrier()
        return final

    # ---------------------------------------------------------------- load
    def load(
        self, path: str | os.PathLike, module: nn.Module, optimizer: torch.optim.Optimizer | None
    ) -> tuple[dict[str, Any], Any]:
        """Restore model and optimizer in place and this rank's RNG states; returns (trainer_state,
        data_state).

        A checkpoint written by another number of ranks (`trainer_state["world_size"]`) loads too: DCP
        reshards the model and optimizer; a rank the checkpoint has no file for takes the RNG states of rank
        `rank % world_size` of the checkpoint (the trainer then reseeds its torch RNG, see _seed_rank), and
        data_state is then the list of every saved rank's data state, rank 0 first, for the data stream to
        combine."""
        from torch.distributed.checkpoint.state_dict import (
            get_model_state_dict,
            get_state_dict,
            set_model_state_dict,
            set_state_dict,
        )

        path = Path(path)
        meta_file = path / "trainer.json"
        if not meta_file.is_file():
            raise TandemError(f"{path} is not a complete checkpoint (no trainer.json); pick another one")
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        rank, world = _rank_world()
        saved_world = int(meta.get("world_size", 1))
        blobs = {}
        for r in range(saved_world) if saved_world != world else [rank]:
            blobs[r] = _read_rank_file(path, r)  # before the model is touched: a missing file fails now
        if optimizer is None:
            sd = {"model": get_model_state_dict(module)}
            _load_dcp(sd, path)
            set_model_state_dict(module, sd["model"])
        else:
            model_sd, optim_sd = get_state_dict(module, optimizer)
            sd = {"model": model_sd, "optim": optim_sd}
            _load_dcp(sd, path)
            set_state_dict(module, optimizer, model_state_dict=sd["model"], optim_state_dict=sd["optim"])
        set_rng_state(blobs[rank % saved_world]["rng"])
        if saved_world == world:
            return meta, blobs[rank]["data"]
        return meta, [blobs[r]["data"] for r in range(saved_world)]


def _read_rank_file(path: Path, rank: int) -> dict[str, Any]:
    f = path / f"rank_{rank:05d}.pt"
    if not f.is_file():
        raise TandemError(f"{path}: {f.name} is missing; the checkpoint is damaged, resume from another one")
    with open(f, "rb") as fh:
        return torch.load(fh, weights_only=False)  # our own file: numpy/python RNG states are pickled


def _load_dcp(sd: dict[str, Any], path: Path) -> None:
    """`dcp.load` in place, with a TandemError naming the checkpoint when the tensors do not fit."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.api import CheckpointException  # a BaseException, not an Exception

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="torch.distributed is disabled")
            dcp.load(sd, checkpoint_id=str(path / "dcp"))
    except (Exception, CheckpointException) as e:  # DCP wraps shape/key mismatches with a remote trace
        lines = [x.strip() for x in str(e).strip().splitlines() if x.strip()]
        raise TandemError(
            f"{path}: cannot be loaded into this model ({lines[-1] if lines else type(e).__name__}); it was "
            "written by another model or optimizer: resume with the run's own settings"
        ) from None


def full_model_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The unsharded model state dict on CPU (collective under FSDP), clean parameter names."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    opts = StateDictOptions(full_state_dict=True, cpu_offload=True)
    return get_model_state_dict(model, options=opts)


def save_final_model(model: nn.Module, out_dir: str | os.PathLike) -> Path | None:
    """Save the trained model with `save_pretrained` (config.json + model.safetensors) on rank 0.

    Works for sharded, checkpoint-wrapped or compiled models: the full state dict is gathered into a fresh
    copy of the model on CPU first. Collective under torch.distributed.
    """
    sd = full_model_state_dict(model)
    rank, _ = _rank_world()
    out = Path(out_dir)
    if rank == 0:
        fresh = type(model)(model.config)
        missing, unexpected = fresh.load_state_dict(sd, strict=False)
        if unexpected:
            raise TandemError(f"final save: unexpected keys {unexpected[:5]}; the model class changed")
        fresh.save_pretrained(out)
    _barrier()
    return out if rank == 0 else None
