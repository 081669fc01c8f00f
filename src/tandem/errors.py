"""One exception type for every user-facing error.

The CLI prints `error: <message>` for a TandemError and exits 2, never a traceback. Messages say what
was wrong (file, field, line) and what to do about it.
"""

import os


class TandemError(Exception):
    """A problem with the user's input, files or configuration, with a message that says what to do."""


def unwritable(where: object, e: OSError) -> TandemError:
    """The error for a folder that cannot be written (`where`: "--out X", "output dir X")."""
    return TandemError(f"{where}: cannot write there: {e.strerror or e}; choose a writable directory")


class InputTooLong(TandemError):
    """An input (source, target or requested decode) longer than the model's positions allow."""


def model_dir_error(path: object, flag: str = "") -> TandemError:
    """The error for a model path that is not a local directory (`flag`: the option that gave it, e.g.
    "--teacher"). tandem reads models from local folders only and never downloads, so a Hugging Face Hub
    name ("facebook/bart-base") gets told how to fetch it first instead of waiting on the network."""
    p = str(path)
    where = f"{flag} {p}" if flag else p
    if os.path.isfile(p):
        return TandemError(
            f"{where}: not a directory (it is a file); give the model directory that holds config.json and "
            "the weights"
        )
    if looks_like_hub_name(p):
        return TandemError(f"{where}: not a directory; {download_hint(p)}")
    return TandemError(f"{where}: not a directory; give a model directory (config.json + weights)")


def looks_like_hub_name(path: object) -> bool:
    """Whether a path that does not exist could be a Hugging Face Hub name ("t5-small", "org/model")."""
    p = str(path)
    return (
        not os.path.exists(p) and not os.path.isabs(p) and not p.startswith((".", "~")) and p.count("/") <= 1
    )


def download_hint(name: object) -> str:
    return (
        "tandem loads models from local directories only and never downloads: for a Hugging Face Hub model "
        f"run `hf download {name} --local-dir DIR` first and give DIR"
    )


def check_threads(threads: object, name: str) -> int:
    """`threads` (CPU threads for a runtime, 0: its own default) if an integer in [0, CPU count], else a
    TandemError naming it as `name` (e.g. "EdgeModel threads"). CTranslate2 refused -1 with a pybind11
    TypeError listing its whole signature and crashed the process (segmentation fault) on 99999; threads
    beyond the CPUs only contend for them."""
    cpus = os.cpu_count() or 1
    if isinstance(threads, bool) or not isinstance(threads, int) or not 0 <= threads <= cpus:
        raise TandemError(
            f"{name} must be an integer in [0, {cpus}] (0: the runtime's default; this machine has {cpus} "
            f"CPUs), got {threads!r}"
        )
    return threads
