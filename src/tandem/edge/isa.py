"""Pick CTranslate2's CPU instruction set before it loads.

CTranslate2 4.x dispatches to AVX2 on AMD processors even when they implement AVX-512 (its AVX-512 path is
only auto-selected on Intel). On AVX-512 AMD parts (Zen 4 and later) forcing AVX-512 speeds up CTranslate2's
own kernels (quantize, dequantize, softmax, top-k); they are a small share of int8 decoding there, which is
dominated by oneDNN re-packing the weights at every step (oneDNN picks its own ISA, unaffected by this).
Measured effect on the shared AMD EPYC box (edge-17m, 1 thread, 24 new tokens): a first measurement gave
1.2x (best 37.1 -> 30.9 ms of 5 alternating fresh processes); a later one, 6 alternating fresh processes
each under the benchmark lock, gave median p50 22.9 -> 20.9 ms for CTranslate2 called directly, within
that machine's noise. The choice is made through CTranslate2's own `CT2_FORCE_CPU_ISA` variable, which it
reads once when it is imported, so it must be set before `import ctranslate2`. A user's own
`CT2_FORCE_CPU_ISA` always wins, and `TANDEM_CT2_ISA=default` keeps CTranslate2's choice.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

AVX512_FLAGS = ("avx512f", "avx512bw", "avx512dq", "avx512vl")


def cpu_info(path: str = "/proc/cpuinfo") -> tuple[str, set[str]]:
    """(vendor, flags) of the first CPU; ("", set()) where /proc/cpuinfo is unavailable."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "", set()
    vendor, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "vendor_id" and not vendor:
            vendor = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
        if vendor and flags:
            break
    return vendor, flags


def choose_isa(vendor: str, flags: set[str], environ: dict[str, str]) -> str | None:
    """The ISA to force, or None to leave CTranslate2's own choice."""
    if "CT2_FORCE_CPU_ISA" in environ or environ.get("TANDEM_CT2_ISA", "auto") == "default":
        return None
    if vendor == "AuthenticAMD" and all(f in flags for f in AVX512_FLAGS):
        return "AVX512"
    return None


def configure_ct2_isa() -> str | None:
    """Set CT2_FORCE_CPU_ISA when it helps and CTranslate2 is not loaded yet; returns what was set."""
    if "ctranslate2" in sys.modules:
        return None  # too late: the library has already chosen
    isa = choose_isa(*cpu_info(), dict(os.environ))
    if isa:
        os.environ["CT2_FORCE_CPU_ISA"] = isa
    return isa
