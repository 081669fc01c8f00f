"""`tandem <verb>`: one thin verb per job, each a module in this package calling the library.

A verb module defines `HELP` (one line), `EXAMPLES` (text shown under --help), `add_arguments(parser)`
and `run(args) -> int`. Every verb accepts `--config FILE` (JSON or TOML): its keys are the verb's flag
names (dashes or underscores); flags given on the command line override the file.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tomllib
import warnings
from pathlib import Path

from tandem.errors import TandemError

# verb -> module; the order is the order `tandem --help` lists them in.
VERBS: dict[str, str] = {
    "quickstart": "tandem.cli.quickstart",
    "tokenizer": "tandem.cli.tokenizer",
    "pretrain": "tandem.cli.pretrain",
    "finetune": "tandem.cli.finetune",
    "distill": "tandem.cli.distill",
    "generate": "tandem.cli.generate",
    "evaluate": "tandem.cli.evaluate",
    "convert": "tandem.cli.convert",
    "export": "tandem.cli.export",
    "serve": "tandem.cli.serve",
    "normalize": "tandem.cli.normalize",
}


# An optional dependency -> the extra of pyproject.toml that installs it.
_EXTRAS = {"torch": "torch", "safetensors": "torch", "ctranslate2": "edge", "fastapi": "serve", "uvicorn": "serve",
           "sacrebleu": "eval", "rouge_score": "eval", "transformers": "interop", "matplotlib": "train",
           "tensorboard": "train", "pyarrow": "data", "lm_eval": "lm-eval"}  # fmt: skip

# verb -> why it cannot run here (an optional dependency missing), filled in by build_parser.
UNAVAILABLE: dict[str, str] = {}


def _missing_dependency(e: ModuleNotFoundError) -> str | None:
    """What to install for a verb whose flags need a package that is absent; None for tandem's own modules."""
    top = (e.name or "").split(".")[0]
    if not top or top == "tandem":
        return None
    return f"needs the Python package {top!r}, which is not installed: pip install 'tandem[{_EXTRAS.get(top, 'all')}]'"


def _load_verb(name: str):
    try:
        return importlib.import_module(VERBS[name])
    except ModuleNotFoundError as e:
        if e.name == VERBS[name]:
            return None
        raise


def read_config_file(path: str) -> dict:
    """Read a verb's config file (JSON or TOML) into a flat dict of flag values."""
    from tandem.jsonl import JSON_ERRORS, json_error_reason, read_text

    p = Path(path)
    if not p.exists():
        raise TandemError(f"config file {path} not found")
    try:  # a folder, bytes that are not UTF-8 (named by line); a byte-order mark is dropped
        text = read_text(p)
    except TandemError as e:
        raise TandemError(f"config file {e}") from None
    try:
        data = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise TandemError(
            f"config file {path}: not valid {'TOML' if p.suffix == '.toml' else 'JSON'}: {e}"
        ) from e
    except JSON_ERRORS as e:  # nested too deeply, an integer of over 4300 digits (tomllib raises these too)
        raise TandemError(
            f"config file {path}: not valid {'TOML' if p.suffix == '.toml' else 'JSON'}: {json_error_reason(e)}"
        ) from e
    if not isinstance(data, dict):
        raise TandemError(f"config file {path}: expected an object of flag names to values")
    return {k.replace("-", "_"): v for k, v in data.items()}


def _apply_config(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    args = parser.parse_args(argv)
    cfg_path = getattr(args, "config", None)
    if not cfg_path:
        return args
    values = read_config_file(cfg_path)
    known = {a.dest for a in parser._actions}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TandemError(f"config file {cfg_path}: unknown keys {unknown}; see `--help` for the flag names")
    appended = {}  # repeatable flags (action="append"): the file gives one value or a list
    for action in parser._actions:
        if action.dest not in values:
            continue
        v = values[action.dest]
        if v is None and action.default is not None:  # null: the flag's own default
            del values[action.dest]
            continue
        if action.nargs in ("+", "*") or isinstance(action, argparse._AppendAction):
            v = v if isinstance(v, list) or v is None else [v]  # one value stands for a list of one
        v = _check_config_value(cfg_path, action, v)
        if isinstance(action, argparse._AppendAction):
            del values[action.dest]
            appended[action.dest] = v
        else:
            values[action.dest] = v
    parser.set_defaults(**values)
    args = parser.parse_args(argv)  # command-line flags win over the file
    for dest, v in appended.items():  # as a default, argparse would append the command line's to the file's
        if getattr(args, dest) is None:
            setattr(args, dest, v)
    return args


_KINDS = {int: "an integer", float: "a number"}


def _check_config_value(path: str, action: argparse.Action, value: object) -> object:
    """The config value converted with the flag's type (each item, for a flag taking several values), or a
    TandemError naming the file and the key when it does not fit its flag (argparse converts only string
    defaults and then names the flag, not the file; other values it does not check)."""
    if value is None:
        return None
    key, kind = action.dest, _KINDS.get(action.type)  # type: ignore[call-overload]

    def bad(what: str) -> TandemError:
        return TandemError(f"config file {path}: {key} must be {what}, got {json.dumps(value, default=str)}")

    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if action.nargs == 0:  # store_const and the like: the flag takes no value to check
        return value
    if isinstance(action.nargs, int) and (not isinstance(value, list) or len(value) != action.nargs):
        raise bad(f"a list of {action.nargs} values")
    # An empty list is the default of some "+" flags (pretrain's --decontaminate), so a run's resolved config
    # (`--config OUT/train_config.json --resume`) holds one; elsewhere it is an error.
    if action.nargs == "+" and value == [] and action.default != []:
        raise bad("a list of at least one value")
    many = action.nargs not in (None, "?") or isinstance(action, argparse._AppendAction)
    converted = []
    for v in value if many and isinstance(value, list) else [value]:
        if isinstance(v, str) and callable(action.type):
            try:
                v = action.type(v)
            except (TypeError, ValueError, argparse.ArgumentTypeError):
                raise bad(kind or "a valid value") from None
        elif kind is not None and (
            isinstance(v, bool) or not isinstance(v, int if action.type is int else int | float)
        ):
            raise bad(kind if not many else f"a list of {kind.split(' ', 1)[1]}s")
        if action.choices is not None and v not in action.choices:
            raise bad("one of " + ", ".join(map(str, action.choices)))
        converted.append(v)
    return converted if many and isinstance(value, list) else converted[0]


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="tandem",
        description="Encoder-decoder LMs the AlexaTM way: pretrain, prompt, evaluate, distill, ship to the edge.",
        epilog="Run `tandem <verb> --help` for a verb's flags and examples.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="verb", metavar="<verb>")
    subparsers = {}
    for name in VERBS:
        mod = _load_verb(name)
        if mod is None:
            sp = sub.add_parser(name, help="(not yet available)")
        else:
            sp = sub.add_parser(
                name,
                help=mod.HELP.replace("%", "%%"),  # argparse %-formats help strings
                description=mod.HELP,
                epilog="examples:\n" + mod.EXAMPLES.strip("\n") if getattr(mod, "EXAMPLES", "") else None,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
            sp.add_argument(
                "--config", metavar="FILE", help="JSON/TOML file of flag values (flags override it)"
            )
            try:
                mod.add_arguments(sp)
            except ModuleNotFoundError as e:  # the base install is torch-free: only some verbs run there
                why = _missing_dependency(e)
                if why is None:
                    raise
                UNAVAILABLE[name] = why
        subparsers[name] = sp
    return parser, subparsers


_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


def _tandem_warning_line(message, category, filename, lineno, line=None) -> str:
    """tandem's own warnings as one `warning: ...` line on stderr, like its errors (others as Python shows them)."""
    if str(Path(filename).resolve()).startswith(_PACKAGE_DIR):
        return f"warning: {message}\n"
    return _python_format_warning(message, category, filename, lineno, line)


_python_format_warning = warnings.formatwarning


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, subparsers = build_parser()
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0
    if argv[0] == "--version":
        from tandem import __version__

        print(__version__)
        return 0
    verb = argv[0]
    if verb not in VERBS:
        parser.error(f"unknown verb {verb!r}; choose from {', '.join(VERBS)}")
    mod = _load_verb(verb)
    if mod is None:
        print(f"tandem {verb}: not yet available in this version", file=sys.stderr)
        return 2
    if verb in UNAVAILABLE:
        print(f"error: tandem {verb} {UNAVAILABLE[verb]}", file=sys.stderr)
        return 2
    previous_format, warnings.formatwarning = warnings.formatwarning, _tandem_warning_line
    try:
        args = _apply_config(subparsers[verb], argv[1:])
        return int(mod.run(args) or 0)
    except TandemError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        why = _missing_dependency(e)
        if why is None:
            raise
        print(f"error: tandem {verb} {why}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = previous_format


if __name__ == "__main__":
    raise SystemExit(main())
