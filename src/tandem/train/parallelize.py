"""Apply activation checkpointing, torch.compile and FSDP2 to a model from the outside (torchtitan style).

Works on any module whose repeated blocks sit in `nn.ModuleList`s named `layers` (tandem's
`encoder.layers` / `decoder.layers`, or a wrapper holding such a model). The model code knows nothing of it.

Multi-node (2 nodes x 8 GPUs), run on every node:

    torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint HOST:29500 \
        -m tandem pretrain --preset 2b --data 'corpus/*.txt' --out runs/2b
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn

from tandem.errors import TandemError

__all__ = ["block_lists", "init_distributed", "parallelize"]


def init_distributed() -> tuple[int, int, torch.device]:
    """Initialise the default process group when launched by torchrun (nccl on GPU, gloo on CPU).

    Returns (rank, world_size, device); (0, 1, cuda:0 or cpu) outside torchrun.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and os.environ.get("TANDEM_DEVICE", "") != "cpu"
    device = torch.device(f"cuda:{local}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo", device_id=device if cuda else None)
    return rank, world, device


def block_lists(model: nn.Module) -> list[nn.ModuleList]:
    """The `nn.ModuleList`s of transformer blocks (named `layers`) inside `model`, outermost first."""
    found = [
        m for name, m in model.named_modules() if isinstance(m, nn.ModuleList) and name.endswith("layers")
    ]
    return found


def _wrap_blocks(model: nn.Module, fn) -> None:
    for layers in block_lists(model):
        for i, block in enumerate(layers):
            layers[i] = fn(block)


def parallelize(
    model: nn.Module,
    device: torch.device | str,
    dp_mesh=None,
    activation_checkpointing: bool = False,
    compile: bool = False,
    mixed_precision: str | None = "bf16",
    compile_mode: str | None = None,
) -> nn.Module:
    """Move `model` to `device`, then wrap its blocks with activation checkpointing, compile them, and
    shard them with FSDP2 (`fully_shard` per block, then the root) when `dp_mesh` is given or the default
    process group has more than one rank. `mixed_precision="bf16"` keeps bf16 parameters and fp32 gradient
    reduction under FSDP on GPU (CPU stays fp32). `compile_mode` is torch.compile's `mode` for each block
    (None: Inductor's default; "reduce-overhead": CUDA graphs, one process only). Returns the same (mutated)
    module.
    """
    device = torch.device(device)
    model.to(device)
    if not block_lists(model):
        raise TandemError(f"{type(model).__name__} has no ModuleList named 'layers' to parallelize")

    if activation_checkpointing:
        from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import checkpoint_wrapper

        _wrap_blocks(model, lambda b: checkpoint_wrapper(b, preserve_rng_state=True))

    if compile:
        for layers in block_lists(model):
            for block in layers:
                block.compile(mode=compile_mode)  # in place: keeps parameter names (no `_orig_mod.` prefix)

    sharded = dp_mesh is not None or (dist.is_initialized() and dist.get_world_size() > 1)
    if sharded:
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        if dp_mesh is None:
            from torch.distributed.device_mesh import init_device_mesh

            dp_mesh = init_device_mesh(device.type, (dist.get_world_size(),), mesh_dim_names=("dp",))
        if mixed_precision not in (None, "bf16", "fp32"):
            raise TandemError(f"mixed_precision {mixed_precision!r} unknown; use 'bf16' or None")
        mp = None
        if mixed_precision == "bf16" and device.type == "cuda":
            mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
        kw = {"mesh": dp_mesh} | ({"mp_policy": mp} if mp is not None else {})
        lists = block_lists(model)
        # each block computes all of its own work (the decoder layers project their cross-attention keys and
        # values themselves in training), so one unit per block is enough
        for layers in lists:
            for i, block in enumerate(layers):
                # the very last block is needed again first in backward: keep it gathered
                last = layers is lists[-1] and i == len(layers) - 1
                fully_shard(block, reshard_after_forward=not last, **kw)
        # separate units for untied input embeddings keep the root's all-gather small; a tied table stays
        # in the root because its other user (e.g. the LM head) reads it outside the embedding's forward
        uses: dict[int, int] = {}
        for _, p in model.named_parameters(remove_duplicate=False):
            uses[id(p)] = uses.get(id(p), 0) + 1
        embeds = {
            id(m): m
            for name, m in model.named_modules()
            if name.endswith("embed_tokens") and isinstance(m, nn.Embedding) and uses[id(m.weight)] == 1
        }
        for mod in embeds.values():
            fully_shard(mod, **kw)
        fully_shard(model, **kw)
    return model
