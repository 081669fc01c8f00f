"""Turning a user's device string into a torch device, with one-line errors instead of torch's tracebacks."""

from __future__ import annotations

from typing import Any

from tandem.errors import TandemError


def torch_device(name: Any, flag: str = "--device ", hint: str = "pass --device cpu") -> Any:
    """`torch.device(name)`, refusing a string that is no device and a CUDA or MPS device this machine lacks
    (torch would fail later with "Torch not compiled with CUDA enabled"). `flag` names the setting in the message
    and comes right before the value (`"--device "`, `"model_args device="`); `hint` says what to do."""
    import torch

    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError) as e:
        raise TandemError(f"{flag}{name!r} is not a torch device (cpu, cuda, cuda:0, mps)") from e
    if dev.type == "cuda" and (
        not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()
    ):
        raise TandemError(
            f"{flag}{name!r} is not available here ({torch.cuda.device_count()} CUDA devices); {hint}"
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():  # torch: "not linked with support"
        raise TandemError(f"{flag}{name!r} is not available here (no Apple MPS device); {hint}")
    return dev
