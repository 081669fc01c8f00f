"""Model directories: save/load (config.json + safetensors, sharded when large), format detection.

A tandem directory holds `config.json` (`"model_type": "tandem"`), `model.safetensors` or shards
`model-00001-of-0000N.safetensors` with `model.safetensors.index.json` (the Hugging Face layout), and
optionally `tokenizer.model`. Pickle is never written. Files are written to temporary names and renamed,
so an interrupted save never leaves a half-written file under a final name. A re-save into a folder that
already holds a model keeps it loadable at every moment: the new weights go in first (shards that would
overwrite ones the current index names get a suffix, `model-00001-of-0000N-1.safetensors`; the index,
replaced after them, switches over at once), and the earlier save's other files are removed last.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tandem.config import ModelConfig
from tandem.errors import TandemError, model_dir_error
from tandem.jsonl import read_json

SINGLE = "model.safetensors"
INDEX = "model.safetensors.index.json"
LEGACY_INDEX = "pytorch_model.bin.index.json"  # sharded pytorch_model-0000N-of-0000M.bin (HF)


def _parse_size(size: int | str) -> int:
    if isinstance(size, int):
        return size
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?B)\s*", size.upper())
    if not m:
        raise TandemError(f"max_shard_size {size!r}: use bytes or a size like '500MB' or '2GB'")
    return int(float(m.group(1)) * {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30}[m.group(2)])


def unique_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's tensors, each stored once: tied weights keep their first name only."""
    seen: set[int] = set()
    out = {}
    for name, t in model.state_dict(keep_vars=False).items():
        key = t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape)
        if key in seen:
            continue
        seen.add(key)
        out[name] = t.detach().contiguous()
    return out


def _atomic_write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _atomic_save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": "pt"})
    os.replace(tmp, path)


def save_pretrained(model, out_dir: str | Path, tokenizer=None, max_shard_size: int | str = "2GB") -> None:
    """Write `model` (a Seq2SeqLM) into out_dir; see the module docstring for the layout."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.cpu() for k, v in unique_state_dict(model).items()}
    limit = _parse_size(max_shard_size)
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for k, v in tensors.items():
        n = v.numel() * v.element_size()
        if shards[-1] and size + n > limit:
            shards.append({})
            size = 0
        shards[-1][k] = v
        size += n
    # an earlier save's weights are removed only after the new ones are in place: a save killed midway
    # leaves a loadable directory (the single file wins over an index, see `read_tensors`)
    earlier = set(out.glob("model-*-of-*.safetensors")) | {
        p for p in (out / SINGLE, out / INDEX) if p.exists()
    }
    if len(shards) == 1:
        written = {out / SINGLE}
        _atomic_save_tensors(shards[0], out / SINGLE)
    else:
        weight_map = {}
        written = {out / INDEX}
        n = len(shards)
        # a shard the current index names is never overwritten (a save killed midway would leave that
        # index pointing at a mix of old and new shards): over the same layout the new shards get a suffix,
        # and the index, replaced last, switches to them at once
        names = [f"model-{i:05d}-of-{n:05d}.safetensors" for i in range(1, n + 1)]
        k = 0
        while any((out / name).exists() for name in names):
            k += 1
            names = [f"model-{i:05d}-of-{n:05d}-{k}.safetensors" for i in range(1, n + 1)]
        for name, shard in zip(names, shards, strict=True):
            _atomic_save_tensors(shard, out / name)
            weight_map.update({k: name for k in shard})
            written.add(out / name)
        total = sum(v.numel() * v.element_size() for v in tensors.values())
        _atomic_write_json(out / INDEX, {"metadata": {"total_size": total}, "weight_map": weight_map})
        (out / SINGLE).unlink(missing_ok=True)  # else it would shadow the new shards
    cfg = {"model_type": "tandem", **model.config.to_dict()}
    _atomic_write_json(out / "config.json", cfg)
    for stale in earlier - written:
        stale.unlink(missing_ok=True)
    if tokenizer is not None:
        tokenizer.save(out)


def _read_index(directory: Path, index_name: str) -> list[str]:
    """The shard file names a Hugging Face weight index names, each checked to exist."""
    try:
        index = json.loads((directory / index_name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:  # ValueError: invalid JSON or UTF-8
        raise TandemError(
            f"{directory / index_name}: unreadable ({e}); re-download or re-save the model"
        ) from e
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise TandemError(
            f'{directory / index_name}: not a weight index (expected a JSON object with a "weight_map" of '
            "tensor name -> shard file); re-download or re-save the model"
        )
    shards = sorted(set(weight_map.values()))
    for shard in shards:
        if not (directory / shard).exists():
            raise TandemError(f"{directory / index_name} names shard {shard}, which is missing")
    return shards


def _load_pickled(path: Path) -> dict[str, torch.Tensor]:
    """A pytorch_model*.bin state dict; weights_only refuses arbitrary pickled objects."""
    try:
        tensors = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises pickle, zip (RuntimeError) and EOF errors for a damaged file
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TandemError(
            f"{path}: weights are unreadable or corrupt ({first}); re-download or re-save them"
        ) from e
    if not isinstance(tensors, dict) or not all(isinstance(v, torch.Tensor) for v in tensors.values()):
        raise TandemError(f"{path}: not a state dict of tensors; re-download or re-save the model")
    return tensors


def read_tensors(directory: Path) -> dict[str, torch.Tensor]:
    """All tensors of a directory: single or sharded safetensors, or (HF interop only) single or sharded
    pytorch_model.bin, in the order of preference transformers uses."""
    try:
        if (directory / SINGLE).exists():
            return load_file(str(directory / SINGLE))
        if (directory / INDEX).exists():
            tensors = {}
            for shard in _read_index(directory, INDEX):
                tensors.update(load_file(str(directory / shard)))
            return tensors
    except (SafetensorError, OSError) as e:
        raise TandemError(
            f"{directory}: weights are unreadable or corrupt ({e}); re-download or re-save them"
        ) from e
    # Hugging Face's older format, single or sharded
    legacy = directory / "pytorch_model.bin"
    if legacy.exists():
        return _load_pickled(legacy)
    if (directory / LEGACY_INDEX).exists():
        tensors = {}
        for shard in _read_index(directory, LEGACY_INDEX):
            tensors.update(_load_pickled(directory / shard))
        return tensors
    raise TandemError(
        f"{directory}: no weights found (expected {SINGLE}, {INDEX}, pytorch_model.bin or {LEGACY_INDEX})"
    )


_SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
}


def _safetensors_header(path: Path) -> dict:
    """A safetensors file's header (tensor name -> dtype, shape, offsets), read without its data."""
    try:
        with open(path, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size))
    except (OSError, ValueError) as e:
        raise TandemError(
            f"{path}: weights are unreadable or corrupt ({e}); re-download or re-save them"
        ) from e
    if not isinstance(header, dict):
        raise TandemError(f"{path}: weights are unreadable or corrupt; re-download or re-save them")
    return header


def stored_dtype(directory: Path) -> torch.dtype:
    """The floating dtype a directory's weights are stored in (the one holding most of their values);
    safetensors files are judged from their headers, without reading the weights."""
    counts: dict[torch.dtype, int] = {}
    files = [directory / SINGLE] if (directory / SINGLE).exists() else []
    if not files and (directory / INDEX).exists():
        files = [directory / shard for shard in _read_index(directory, INDEX)]
    if files:
        for path in files:
            for name, info in _safetensors_header(path).items():
                dtype = _SAFETENSORS_DTYPES.get(info.get("dtype")) if name != "__metadata__" else None
                if dtype is not None:
                    counts[dtype] = counts.get(dtype, 0) + math.prod(info.get("shape", []))
    else:
        for t in read_tensors(directory).values():
            if t.is_floating_point():
                counts[t.dtype] = counts.get(t.dtype, 0) + t.numel()
    return max(counts, key=counts.get) if counts else torch.float32


def read_config(directory: Path) -> dict:
    path = directory / "config.json"
    if not path.exists():
        if (Path(directory) / "model" / "config.json").is_file():  # a pretrain/finetune run folder
            raise TandemError(
                f"{directory}: no config.json; it is a training run folder: pass its final model, "
                f"{Path(directory) / 'model'}"
            )
        raise TandemError(f"{directory}: no config.json; is this a model directory?")
    cfg = read_json(path)  # not UTF-8, not JSON: an error naming the file, not a traceback
    if not isinstance(cfg, dict):  # a list or a string was an AttributeError traceback (cfg.get)
        raise TandemError(f"{path}: expected a JSON object (a model config), got {type(cfg).__name__}")
    return cfg


def load_state_into(model, tensors: dict[str, torch.Tensor], source: str) -> None:
    """Copy tensors into model, checking names and shapes; tied aliases may be absent."""
    own = model.state_dict()
    bad_shapes = [
        f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in tensors.items()
        if k in own and tuple(v.shape) != tuple(own[k].shape)
    ]
    if bad_shapes:
        raise TandemError(f"{source}: tensor shapes do not match the config: " + "; ".join(bad_shapes[:5]))
    unexpected = sorted(set(tensors) - set(own))
    if unexpected:
        raise TandemError(
            f"{source}: unexpected tensors {unexpected[:5]}; does config.json match the weights?"
        )
    missing = set(own) - set(tensors)
    tied = {k for k in missing if _is_tied_alias(model, k)}
    if missing - tied:
        raise TandemError(f"{source}: missing tensors {sorted(missing - tied)[:5]}")
    model.load_state_dict(tensors, strict=False)


def _is_tied_alias(model, name: str) -> bool:
    c = model.config
    if name == "lm_head.weight":
        return c.tie_lm_head
    if name == "decoder.embed_tokens.weight":
        return c.tie_embeddings
    return False


def detect_format(directory: Path) -> str:
    """'tandem', 'bart', 'mbart', 't5', 'mt5' or 'alexatm', from config.json."""
    if (Path(directory) / "tandem_edge.json").is_file():  # tandem.edge.runtime.EDGE_META
        raise TandemError(
            f"{directory} is a tandem edge export (CTranslate2 weights for `tandem serve` and "
            "tandem.edge.EdgeModel), not a model tandem can load or export again: use the tandem or Hugging "
            f"Face model directory it was exported from; to restrict this export's outputs in place, run "
            f"`tandem export {directory} --trim-to FILE`"
        )
    cfg = read_config(directory)
    kind = cfg.get("model_type")
    if kind in ("tandem", "bart", "mbart", "t5", "mt5", "alexatm"):
        return kind
    supported = "tandem, bart, mbart, t5, mt5 (incl. T5 v1.1) and alexatm"
    raise TandemError(
        f"{directory}/config.json: model_type {kind!r} is not supported; tandem reads {supported}"
    )


def empty_model(config: ModelConfig):
    """A Seq2SeqLM for `config` with uninitialised CPU storage, ready to receive weights.

    Built on the meta device so no time is spent on an initialisation that loading overwrites.
    """
    from tandem.model import Seq2SeqLM

    with torch.device("meta"):
        model = Seq2SeqLM(config)
    model = model.to_empty(device="cpu")
    model.tie_weights()  # materialising from meta may untie shared parameters
    return model


def load_pretrained(path: str | Path, device: str | torch.device = "cpu", dtype: torch.dtype | None = None):
    """Load any supported model directory as a tandem Seq2SeqLM (eval mode)."""
    directory = Path(path)
    if not directory.is_dir():
        raise model_dir_error(path)
    kind = detect_format(directory)
    if kind == "tandem":
        cfg = read_config(directory)
        try:
            config = ModelConfig.from_dict(cfg)
        except TandemError as e:
            raise TandemError(f"{directory / 'config.json'}: {e}") from None
        model = empty_model(config)
        load_state_into(model, read_tensors(directory), str(directory))
    else:
        from tandem.interop import load_foreign

        model = load_foreign(directory, kind)
    model.eval()
    return model.to(device=device, dtype=dtype) if dtype is not None else model.to(device)
