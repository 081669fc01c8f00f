"""Top-k teacher logits on disk, so that epochs after the first don't rerun the teacher.

A cache is a directory of safetensors shards plus `index.json`. Each example (keyed by its index in the
training set) stores two (L, k) tensors for its L target positions: the teacher's top-k logits in fp16
and their vocabulary ids in int32. `fingerprint` ties the cache to one teacher and data set so a stale
cache is never silently reused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from tandem.errors import TandemError, unwritable

INDEX = "index.json"


class TopKLogitCache:
    """Write-once, read-many store of per-example top-k teacher logits.

    `put` buffers examples and writes a shard every `shard_size` examples; `flush` writes the rest and the
    index. `get` / `get_batch` read them back (shards opened lazily, memory-mapped by safetensors).
    """

    def __init__(self, directory: str | Path, k: int, fingerprint: str = "", shard_size: int = 2048):
        if k < 1:
            raise TandemError(f"logit cache: k must be >= 1, got {k}")
        self.dir = Path(directory)
        self.k = int(k)
        self.fingerprint = fingerprint
        self.shard_size = int(shard_size)
        self._where: dict[int, str] = {}  # example index -> shard file name
        self._buffer: dict[str, torch.Tensor] = {}
        self._buffered: list[int] = []
        self._handles: dict[str, object] = {}
        try:  # now, not at the first shard write (2048 examples or the end of training later): was a traceback
            self.dir.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise TandemError(
                f"logit cache {self.dir}: it or a folder above it is a file; give --cache-dir a folder path"
            ) from None
        except OSError as e:
            raise unwritable(f"logit cache {self.dir}", e) from None
        index = self.dir / INDEX
        if index.is_file():
            try:  # damaged by hand or a full disk (it is replaced atomically): was a JSONDecodeError/KeyError
                meta = json.loads(index.read_text(encoding="utf-8"))
                examples = {int(i): str(s) for i, s in meta["examples"].items()}
            except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
                raise TandemError(
                    f"logit cache {index}: not a cache index tandem wrote ({type(e).__name__}: {e}); delete "
                    "the folder (the teacher's logits are computed again) or pick another --cache-dir"
                ) from None
            if meta.get("k") != self.k or meta.get("fingerprint", "") != fingerprint:
                raise TandemError(
                    f"logit cache {self.dir}: built with k={meta.get('k')} for {meta.get('fingerprint')!r}, "
                    f"now asked for k={self.k} for {fingerprint!r}; delete the folder or pick another --cache-dir"
                )
            self._where = examples
        self._n_shards = len(set(self._where.values()))

    # ------------------------------------------------------------------ writing
    def __contains__(self, index: int) -> bool:
        return int(index) in self._where or int(index) in self._buffered

    def __len__(self) -> int:
        return len(self._where) + len(self._buffered)

    def put(self, index: int, values: torch.Tensor, indices: torch.Tensor) -> None:
        """Store one example's (L, k) top-k logits and ids."""
        index = int(index)
        if values.shape != indices.shape or values.dim() != 2 or values.shape[1] != self.k:
            raise ValueError(
                f"expected (L, {self.k}) values and ids, got {tuple(values.shape)} / {tuple(indices.shape)}"
            )
        if index in self:
            return  # already cached: the teacher is deterministic in inference mode
        self._buffer[f"{index}.values"] = values.detach().to("cpu", torch.float16).contiguous()
        self._buffer[f"{index}.indices"] = indices.detach().to("cpu", torch.int32).contiguous()
        self._buffered.append(index)
        if len(self._buffered) >= self.shard_size:
            self._write_shard()

    def put_batch(self, example_ids: Sequence[int], logits: torch.Tensor, mask: torch.Tensor) -> None:
        """Take the top-k of (B, T, V) teacher logits and store each example's masked positions."""
        vals, idx = logits.float().topk(self.k, dim=-1)
        for b, ex in enumerate(example_ids):
            n = int(mask[b].sum())
            # Targets are right-padded, so the counted positions are the first n.
            self.put(ex, vals[b, :n], idx[b, :n])

    def _write_shard(self) -> None:
        if not self._buffered:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"shard-{self._n_shards:05d}.safetensors"
        save_file(self._buffer, str(self.dir / name))
        for i in self._buffered:
            self._where[i] = name
        self._n_shards += 1
        self._buffer, self._buffered = {}, []

    def flush(self) -> None:
        """Write buffered examples and the index; the cache is complete on disk afterwards."""
        self._write_shard()
        self.dir.mkdir(parents=True, exist_ok=True)
        meta = {
            "k": self.k,
            "fingerprint": self.fingerprint,
            "examples": {str(i): s for i, s in self._where.items()},
        }
        tmp = self.dir / (INDEX + ".tmp")
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        tmp.replace(self.dir / INDEX)  # atomic: a crash never leaves a half-written index

    # ------------------------------------------------------------------ reading
    def get(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(L, k) fp16 values and int64 ids of one example."""
        index = int(index)
        if index in self._buffered:
            return self._buffer[f"{index}.values"], self._buffer[f"{index}.indices"].long()
        name = self._where.get(index)
        if name is None:
            raise KeyError(f"example {index} is not in the logit cache {self.dir}")
        h = self._handles.get(name)
        if h is None:
            h = safe_open(str(self.dir / name), framework="pt")
            self._handles[name] = h
        return h.get_tensor(f"{index}.values"), h.get_tensor(f"{index}.indices").long()

    def get_batch(self, example_ids: Sequence[int], length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, length, k) values (float32) and ids, zero-padded past each example's stored positions."""
        vals = torch.zeros(len(example_ids), length, self.k)
        idx = torch.zeros(len(example_ids), length, self.k, dtype=torch.long)
        for b, ex in enumerate(example_ids):
            v, i = self.get(ex)
            n = min(length, v.shape[0])
            vals[b, :n] = v[:n].float()
            idx[b, :n] = i[:n]
        return vals, idx

    def has_all(self, example_ids: Sequence[int]) -> bool:
        return all(int(i) in self for i in example_ids)
