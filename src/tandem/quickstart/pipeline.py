"""`tandem quickstart`: every stage of the AlexaTM recipe, end to end, on the embedded default corpus.

Each stage runs the normal CLI verb (`tandem tokenizer`, `pretrain`, `evaluate`, `finetune`, `distill`,
`export`, `serve`) in its own process with a config file written under `<out>/configs/`, from `<out>` as
the working directory, so the commands printed in the report are exactly what ran and work as shown.
Stages record what they measured in `<out>/results.json` (rewritten after every stage); the report is
rendered from that file only. A verb that this version of tandem lacks, or that rejects the config,
makes its stage (and the stages that need its output) "skipped" with the reason, never faked.
"""

from __future__ import annotations

import glob
import json
import math
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tandem.errors import TandemError
from tandem.quickstart.corpus import SYNTHETIC_NOTE, write_corpus
from tandem.quickstart.templates import LANGS

RESULTS = "results.json"


class Skip(Exception):
    """A stage that cannot run here; the message says why (shown in the report as is)."""


# ------------------------------------------------------------------------------------------ the plan
@dataclass
class Plan:
    """Sizes of one run, scaled from the time budget (`--minutes`); stored in results.json."""

    minutes: float
    frames: int
    vocab_size: int
    seq_len: int
    batch_size: int
    pretrain_steps: int
    finetune_steps: int
    distill_steps: int
    student_lr: float
    eval_limit: int
    dev_limit: int
    measure_limit: int
    latency_samples: int
    teacher: dict[str, Any]
    student: dict[str, Any]
    slu_tags: bool = True


# Reserved tokenizer tags for the SLU labels (AlexaTM reserved 1K): the corpus has 25 intents and 22 slots.
RESERVED_TAGS = 64
# Model shapes: a tiny AlexaTM-shaped teacher and an edge student under 10% of its parameters.
TEACHER = {"d_model": 192, "encoder_layers": 3, "decoder_layers": 3, "num_heads": 4, "ffn_dim": 768}
STUDENT = {"d_model": 64, "encoder_layers": 2, "decoder_layers": 1, "num_heads": 2, "ffn_dim": 256}


def make_plan(minutes: float = 10.0) -> Plan:
    """Step counts and sizes for a budget of about `minutes` on 2 CPU cores (10 = the default run)."""
    if not math.isfinite(minutes) or minutes <= 0:  # nan, inf: were a ValueError/OverflowError traceback
        raise TandemError(f"--minutes {minutes}: give a positive number of minutes (10 for the full run)")
    s = minutes / 10.0
    return Plan(
        minutes=minutes,
        frames=2000 if s >= 0.5 else 400,
        vocab_size=2000 if s >= 0.5 else 1000,
        seq_len=96,
        batch_size=16,
        # Fine-tuning steps are cheap (short sequences) and decide the parse quality; pretraining longer
        # mainly lowers a loss that the parse scores barely follow, so the budget goes to fine-tuning.
        pretrain_steps=max(6, round(300 * s)),
        finetune_steps=max(6, round(800 * s)),
        # The students are cheap per step and learn far faster at a higher peak learning rate (dev exact
        # match 7.9 -> 43.6 after 500-600 steps at 3e-3 instead of 1e-3); the teacher is best at 1e-3.
        distill_steps=max(6, round(1200 * s)),
        student_lr=3e-3,
        eval_limit=max(6, round(50 * s)),
        dev_limit=max(14, round(140 * s)),
        measure_limit=max(14, round(350 * s)),
        latency_samples=max(3, round(20 * s)),
        teacher=dict(TEACHER),
        student=dict(STUDENT),
    )


# --------------------------------------------------------------------------------------- the context
@dataclass
class Context:
    """A run: its output folder, plan, results so far and how to show progress."""

    out: Path
    plan: Plan
    seed: int = 0
    data: list[str] | None = None
    langs: list[str] = field(default_factory=lambda: list(LANGS))
    quiet: bool = False
    results: dict[str, Any] = field(default_factory=dict)
    log: Callable[[str], None] = print

    def rel(self, p: Path | str) -> str:
        """A path relative to the run folder (commands run there)."""
        p = Path(p)
        try:
            return str(p.resolve().relative_to(self.out.resolve()))
        except ValueError:
            return str(p)

    def stage(self, name: str) -> dict[str, Any]:
        return self.results["stages"].setdefault(name, {})

    def ok(self, name: str) -> bool:
        return self.results["stages"].get(name, {}).get("status") == "ok"

    def save(self) -> None:
        path = self.out / RESULTS
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)


# ------------------------------------------------------------------------------------ running verbs
_PARSER_CACHE: dict[str, Any] = {}


def _verb_parser(verb: str):
    """The argparse parser of `tandem <verb>`, or None when this version of tandem lacks the verb."""
    if "parsers" not in _PARSER_CACHE:
        from tandem.cli import UNAVAILABLE, VERBS, _load_verb, build_parser

        _PARSER_CACHE["parsers"] = build_parser()[1]
        _PARSER_CACHE["present"] = {v for v in VERBS if _load_verb(v) is not None and v not in UNAVAILABLE}
    if verb not in _PARSER_CACHE["present"]:
        return None
    return _PARSER_CACHE["parsers"][verb]


def require_verb(verb: str, flags: dict[str, Any] | None = None) -> None:
    """Raise Skip when `tandem <verb>` is missing or does not accept these config keys."""
    parser = _verb_parser(verb)
    if parser is None:
        from tandem.cli import UNAVAILABLE

        if verb in UNAVAILABLE:  # an optional dependency is missing: the run cannot do its job
            raise TandemError(f"`tandem {verb}` {UNAVAILABLE[verb]}")
        raise Skip(f"`tandem {verb}` is not available in this version of tandem")
    if flags:
        known = {a.dest for a in parser._actions}
        unknown = sorted(set(flags) - known)
        if unknown:
            raise Skip(f"`tandem {verb}` in this version does not accept {', '.join(unknown)}")


def command_line(argv: Sequence[str]) -> str:
    """The shell command for a verb's argv, as a user types it."""
    return "tandem " + shlex.join([str(a) for a in argv])


def _tee(proc: subprocess.Popen, log_path: Path, quiet: bool) -> None:
    with log_path.open("wb") as log:
        fd = proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            log.write(chunk)
            if not quiet:
                try:
                    sys.stdout.buffer.write(chunk)
                    sys.stdout.buffer.flush()
                except (AttributeError, ValueError):  # a captured stdout (tests) has no buffer
                    sys.stdout.write(chunk.decode("utf-8", "replace"))


def run_verb(
    ctx: Context, stage: str, verb: str, positionals: Sequence[str], flags: dict[str, Any], tag: str = ""
) -> str:
    """Run `tandem <verb> POSITIONALS --config configs/<stage><tag>.json` in the run folder; returns the
    command line. Raises Skip if the verb is missing or rejects the flags, TandemError if it fails."""
    require_verb(verb, flags)
    name = f"{stage}{tag}"
    cfg = ctx.out / "configs" / f"{name}.json"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(json.dumps(flags, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    argv = [verb, *positionals, "--config", ctx.rel(cfg)]
    cmd = command_line(argv)
    entry = ctx.stage(stage)
    entry.setdefault("commands", []).append(cmd)
    entry.setdefault("configs", {})[ctx.rel(cfg)] = flags
    ctx.log(f"    $ {cmd}")
    log_path = ctx.out / "logs" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tandem", *argv],
        cwd=ctx.out,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        # its own session: a terminal's Ctrl-C reaches quickstart alone, which passes exactly one SIGINT on
        # (two would make the verb stop at once instead of finishing its step and saving)
        start_new_session=True,
    )
    try:
        _tee(proc, log_path, ctx.quiet)
        rc = proc.wait()
    except KeyboardInterrupt:
        _stop_verb(proc)
        raise
    if rc in (130, -signal.SIGINT):  # the verb got the Ctrl-C too (and saved its work): the run stops
        raise KeyboardInterrupt
    if rc != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        raise TandemError(f"`{cmd}` exited with {rc}: {' | '.join(tail)} (full log: {ctx.rel(log_path)})")
    return cmd


def _stop_verb(proc: subprocess.Popen, grace: float = 120.0) -> None:
    """After a Ctrl-C: pass one SIGINT on to the verb (in its own session, so the terminal's did not reach
    it), let it finish its step and save, then kill it if it does not end within `grace` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=grace)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):  # a second Ctrl-C: stop at once
        proc.kill()
        proc.wait()


def run_python(ctx: Context, stage: str, module: str, args: Sequence[str], tag: str = "") -> dict:
    """Run `python -m MODULE ARGS` in the run folder; returns the JSON object it prints last."""
    cmd = "python -m " + shlex.join([module, *[str(a) for a in args]])
    ctx.stage(stage).setdefault("commands", []).append(cmd)
    ctx.log(f"    $ {cmd}")
    log_path = ctx.out / "logs" / f"{stage}{tag}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ctx.out, capture_output=True, text=True, check=False
    )
    log_path.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise TandemError(f"`{cmd}` exited with {proc.returncode}: {' | '.join(tail)}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def _model_params(model_dir: Path) -> int | None:
    cfg = model_dir / "config.json"
    if not cfg.is_file():
        return None
    from tandem.config import ModelConfig

    d = json.loads(cfg.read_text(encoding="utf-8"))
    try:
        return int(ModelConfig.from_dict(d).num_parameters())
    except Exception:  # noqa: BLE001 - a foreign config (HF): count from the weights instead
        return None


def _is_model(p: Path) -> bool:
    return (p / "config.json").is_file() and any(p.glob("*.safetensors"))


def _find_model_dir(root: Path) -> Path:
    """The model a training verb wrote under `root`: the folder itself, best/, final/, or (distillation
    chains) the last student's best/ or final/."""
    fixed = [root, root / "best", root / "final", root / "model"]
    chain = sorted(
        root.glob("student_*"), key=lambda p: int(p.name.rsplit("_", 1)[-1]) if p.name[8:].isdigit() else 0
    )
    if chain:
        last = chain[-1]
        fixed += [last / "best", last / "task" / "best", last / "final"]
    for p in fixed:
        if _is_model(p):
            return p
    raise TandemError(f"{root}: no model (config.json + *.safetensors) was written")


def _find_metrics(root: Path) -> Path:
    """The metrics.jsonl of a training run (for a distillation chain, its last task stage)."""
    if (root / "metrics.jsonl").is_file():
        return root / "metrics.jsonl"
    found = sorted(root.glob("student_*/task/metrics.jsonl")) or sorted(root.rglob("metrics.jsonl"))
    return found[-1] if found else root / "metrics.jsonl"


# ---------------------------------------------------------------------------------------------- stages
def stage_corpus(ctx: Context) -> dict:
    data = ctx.out / "data"
    manifest = write_corpus(data, n=ctx.plan.frames, langs=ctx.langs, seed=ctx.seed)
    ctx.stage("corpus")["commands"] = [
        "python -c 'from tandem.quickstart import write_corpus; "
        f'write_corpus("data", n={ctx.plan.frames}, seed={ctx.seed})\''
    ]
    c = manifest["counts"]
    return {
        "frames": manifest["frames"],
        "languages": len(manifest["languages"]),
        "domains": len(manifest["domains"]),
        "intents": len(manifest["intents"]),
        "spoken_form": manifest["spoken_form"],
        "utterances_train": c["utterances"]["train"],
        "utterances_dev": c["utterances"]["dev"],
        "utterances_test": c["utterances"]["test"],
        "documents": sum(c["documents"].values()),
    }


def _data_entry(entry: str) -> tuple[str | None, str]:
    """A `--data` entry as (language or None, file or glob): `LANG:FILE` gives its language, unless the whole
    entry names an existing file (`a:b.txt`) or the part before ':' holds a path separator."""
    head, sep, rest = entry.partition(":")
    if sep and head and "/" not in head and "\\" not in head and not Path(entry).expanduser().exists():
        return head, rest
    return None, entry


def _absolute_data(entries: list[str]) -> list[str]:
    """`--data` entries with their files or globs made absolute (kept in results.json, where a `--stages`
    rerun from another working directory takes them)."""
    out = []
    for entry in entries:
        lang, pattern = _data_entry(entry)
        path = os.path.abspath(os.path.expanduser(pattern))
        out.append(path if lang is None else f"{lang}:{path}")
    return out


def pretraining_sources(ctx: Context) -> list[tuple[str, str]]:
    """The pretraining text as (file, language): the user's `--data` entries (`FILE`/glob, language from the
    file name as `tandem pretrain` reads it, or `LANG:FILE`), else the corpus's written-form documents."""
    from tandem.data.sampling import language_tag
    from tandem.train.trainer import check_guessed_language, lang_from_name

    if not ctx.data:
        return [(f"data/text/{lang}.txt", lang) for lang in ctx.langs]
    out = []
    for entry in ctx.data:
        lang, pattern = _data_entry(entry)
        p = Path(pattern).expanduser()
        matches = [p]
        if any(ch in pattern for ch in "*?["):  # glob.glob, unlike Path().glob, takes '/data/*.txt' too
            # recursive: '**' spans folders, as it did with Path().glob and does in pretrain's --data
            matches = [Path(m) for m in sorted(glob.glob(str(p), recursive=True))]
        for m in matches:
            if not m.is_file():
                raise TandemError(f"--data {pattern}: no such file")
            f = str(m.resolve())
            if lang is not None:
                language_tag(lang, f"--data {entry}")
                out.append((f, lang))
                continue
            guess = lang_from_name(f)
            try:
                check_guessed_language(guess, f)
            except TandemError as e:
                raise TandemError(
                    f"--data {m}: the language guessed from the file name ({guess!r}) is not taken as a "
                    f"language ({e}); give it as LANG:FILE (e.g. en:{m})"
                ) from None
            out.append((f, guess))
    if not out:
        raise TandemError(f"--data {' '.join(ctx.data)}: matched no files")
    return out


# the text read of each `--data` file for the report's document count: a file longer than this is counted in
# its first SUMMARY_SAMPLE_BYTES and its count estimated from its size on disk (a large corpus is not read whole
# before any stage starts)
SUMMARY_SAMPLE_BYTES = 1 << 20


def data_summary(sources: list[tuple[str, str]], sample_bytes: int | None = None) -> dict:
    """What the report says of the user's `--data` (`pretraining_sources`): its files, languages and bytes on
    disk (measured), and documents (non-blank lines, as the tokenizer and `tandem pretrain` read a text file):
    counted in files read to their end within `sample_bytes` of text, estimated for the others from the
    documents in their first `sample_bytes` and the share of the file on disk that sample was
    (`estimated_files` of them; `documents` is then an estimate). A damaged `.gz` file is not an error here:
    it is listed in `damaged_files` (its documents counted up to the damage, where the sample reached it),
    and the stages read what can be read of it, as `tandem pretrain` does."""
    from tandem.data.sources import data_lines, open_data_file

    sample_bytes = SUMMARY_SAMPLE_BYTES if sample_bytes is None else int(sample_bytes)
    docs = 0.0
    estimated = 0
    damaged: list[str] = []
    for f, _ in sources:
        size = Path(f).stat().st_size
        fh = open_data_file(f, "--data file")
        n = read = 0
        done = False
        try:
            with fh:
                lines = data_lines(fh, f, "--data file")
                for line in lines:
                    read += len(line)
                    n += bool(line.strip())
                    if read >= sample_bytes:
                        break
                else:
                    done = True
                if not done:  # the sample's share of the file on disk (compressed bytes for a .gz)
                    raw = getattr(fh, "fileobj", None)
                    on_disk = raw.tell() if raw is not None else read
                    try:
                        done = fh.peek(1) == b""
                    except (OSError, EOFError, zlib.error):  # damage just past the sample: found later
                        pass
                    if not done and on_disk > 0:
                        estimated += 1
                        n = n * size / min(on_disk, size)
        except TandemError as e:  # a damaged .gz: its documents up to the damage
            damaged.append(str(e))
        docs += n
    return {
        "files": len(sources),
        "languages": sorted({lang for _, lang in sources}),
        "documents": round(docs),
        "bytes": sum(Path(f).stat().st_size for f, _ in sources),
        "estimated_files": estimated,
        "sample_bytes": sample_bytes,
        "damaged_files": damaged,
    }


def pretraining_files(ctx: Context) -> list[str]:
    """The pretraining text files (see `pretraining_sources`)."""
    return [f for f, _ in pretraining_sources(ctx)]


def _readable_text(ctx: Context, files: list[str]) -> tuple[list[str], list[str]]:
    """`files` for `tandem tokenizer train`, which refuses a damaged .gz file: such a file is replaced by the
    lines read before the damage (written under data/readable/), as `tandem pretrain` trains its tokenizer
    on what can be read of it; with the damage, each named."""
    from tandem.data.sources import data_lines, is_gzip, open_data_file

    out, damaged = [], []
    for k, f in enumerate(files):
        if not is_gzip(Path(f)):
            out.append(f)
            continue
        try:
            with open_data_file(f, "--data file") as fh:
                for _ in data_lines(fh, f, "--data file"):
                    pass
            out.append(f)
            continue
        except TandemError as e:
            damaged.append(str(e))
        dest = ctx.out / "data" / "readable" / f"{k}-{Path(f).name.removesuffix('.gz')}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open_data_file(f, "--data file") as fh, dest.open("wb") as w:
            try:
                for line in data_lines(fh, f, "--data file"):
                    w.write(line)
            except TandemError:
                pass
        ctx.log(f"    warning: {damaged[-1]}: the tokenizer is trained on the lines before the damage")
        out.append(str(dest))
    return out, damaged


def stage_tokenizer(ctx: Context) -> dict:
    files, damaged = _readable_text(ctx, pretraining_files(ctx)) if ctx.data else (pretraining_files(ctx), [])
    flags = {
        "input": files,
        "out": "tokenizer",
        # fewer languages, less text: SentencePiece refuses a vocabulary the text cannot fill
        "vocab_size": ctx.plan.vocab_size
        if ctx.data
        else max(500, ctx.plan.vocab_size * len(ctx.langs) // 7),
        "seed": ctx.seed,
    }
    if ctx.plan.slu_tags:  # one tag per intent/slot name for the parsing targets (finetune --slu-tags)
        flags["reserved_tags"] = RESERVED_TAGS
    from tandem.quickstart.corpus import spoken_available

    if spoken_available():  # AlexaTM: a 7:3 spoken:written mix
        flags.update(spoken_ratio=0.7, lang=[lang for _, lang in pretraining_sources(ctx)])
    run_verb(ctx, "tokenizer", "tokenizer", ["train"], flags)
    cfg_path = ctx.out / "tokenizer" / "tokenizer_config.json"
    info = json.loads(cfg_path.read_text(encoding="utf-8")) if cfg_path.is_file() else {}
    from tandem.tokenizer import Tokenizer

    tok = Tokenizer.load(ctx.out / "tokenizer")
    return {
        "vocab_size": tok.vocab_size,
        "spoken_ratio": info.get("spoken_ratio", flags.get("spoken_ratio", 0)),
        "damaged_files": damaged,  # trained on what could be read of them
    }


def stage_pretrain(ctx: Context) -> dict:
    p = ctx.plan
    flags = {
        "data": [f"{lang}:{f}" for f, lang in pretraining_sources(ctx)],
        "tokenizer": "tokenizer",
        "preset": "tiny",
        "model_overrides": p.teacher,
        "objective": "alexatm",
        "steps": p.pretrain_steps,
        "warmup": max(1, p.pretrain_steps // 10),
        "lr": 1e-3,
        "min_lr": 5e-5,
        "batch_size": p.batch_size,
        "seq_len": p.seq_len,
        "log_every": max(1, p.pretrain_steps // 50),
        "ckpt_every": p.pretrain_steps,
        "seed": ctx.seed,
        "device": "cpu",
        "out": "teacher-pretrained",
        "overwrite": True,  # a stage run again starts over
    }
    from tandem.quickstart.corpus import spoken_available

    if spoken_available():  # AlexaTM: 70% of the documents in spoken form, the form parsing inputs take
        flags["spoken_fraction"] = 0.7
    run_verb(ctx, "pretrain", "pretrain", [], flags)
    run_dir = ctx.out / "teacher-pretrained"
    model = _find_model_dir(run_dir)
    rows = [r for r in _read_jsonl(run_dir / "metrics.jsonl") if "loss" in r]
    if not rows:
        raise TandemError(f"{ctx.rel(run_dir)}/metrics.jsonl has no loss records")
    res = {
        "model_dir": ctx.rel(model),
        "parameters": _model_params(model),
        "steps": rows[-1]["step"],
        "first_loss": rows[0]["loss"],
        "final_loss": rows[-1]["loss"],
        "metrics_file": ctx.rel(run_dir / "metrics.jsonl"),
    }
    for kind in ("denoise", "clm"):
        ks = [r[f"loss_{kind}"] for r in rows if f"loss_{kind}" in r]
        if ks:
            res[f"final_loss_{kind}"] = ks[-1]
    tps = [r["tokens_per_s"] for r in rows if "tokens_per_s" in r]
    if tps:
        res["tokens_per_s"] = sum(tps) / len(tps)
    return res


PROMPT_TASKS = ("rte", "boolq", "massive:en-US", "flores:en-de")


def stage_prompting(ctx: Context) -> dict:
    if not ctx.ok("pretrain"):
        raise Skip("needs the pretrained teacher (stage pretrain did not complete)")
    model = ctx.results["stages"]["pretrain"]["result"]["model_dir"]
    out: dict[str, Any] = {}
    for shots in (0, 1):
        flags = {
            "model": model,
            "tasks": ",".join(PROMPT_TASKS),
            "shots": shots,
            "limit": ctx.plan.eval_limit,
            "data_dir": "data",
            "seed": ctx.seed,
            "out": f"eval/{shots}shot",
            "no_progress": ctx.quiet,
        }
        run_verb(ctx, "prompting", "evaluate", [], flags, tag=f"-{shots}shot")
        metrics = json.loads((ctx.out / "eval" / f"{shots}shot" / "metrics.json").read_text(encoding="utf-8"))
        out[f"{shots}shot"] = _eval_metrics(metrics)
    return out


_BOOKKEEPING = {"shots", "seconds", "num_scored", "skipped_too_long", "dropped_demos", "missing_predictions"}


def _eval_metrics(metrics: Any) -> dict[str, dict[str, float]]:
    """{task: {metric: value}} from a metrics.json of `tandem evaluate` (numbers only, no bookkeeping)."""
    tasks = metrics.get("results", {}) if isinstance(metrics, dict) else {}
    out = {}
    for name, m in tasks.items():
        if not isinstance(m, dict):
            continue
        out[name] = {
            k: (int(v) if k == "n" else v)
            for k, v in m.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and k not in _BOOKKEEPING
        }
        if "n" not in out[name] and isinstance(m.get("num_scored"), int):  # how many requests a score is on
            out[name]["n"] = m["num_scored"]
    return out


def _finetune_flags(ctx: Context, init: str | None, out: str, student: bool) -> dict[str, Any]:
    p = ctx.plan
    steps = p.distill_steps if student else p.finetune_steps
    flags: dict[str, Any] = {
        "model": init or "tiny",
        "data": "data/parse/train.jsonl",
        "dev": _dev_sample(ctx),
        "max_steps": steps,
        "eval_every": max(1, steps // 2),
        "batch_size": p.batch_size,
        "lr": p.student_lr if student else 1e-3,
        "metric": "exact_match",
        "max_new_tokens": 48,
        "log_every": max(1, steps // 30),
        "seed": ctx.seed,
        "out": out,
        "overwrite": True,  # a stage run again starts over
    }
    if p.slu_tags:
        # The MASSIVE-format files: SLU examples whose intent and slot names become tokenizer tags, so a
        # parse is a few tag tokens plus the copied values (labels.json beside each model maps them back).
        flags.update(data="data/massive/train.jsonl", dev=_dev_sample(ctx), task="slu", slu_tags=True)
    if not init:  # the no-teacher student: same shape as the distilled one, trained from scratch
        flags.update(model_overrides=p.student, tokenizer="tokenizer")
    return flags


def _dev_sample(ctx: Context) -> str:
    """A small dev file for checkpoint selection (dev generation on every row would dominate the run)."""
    fmt = "massive" if ctx.plan.slu_tags else "parse"
    dst = ctx.out / "finetune" / f"dev-{fmt}.jsonl"
    if not dst.is_file():
        _sample_test(ctx.out / "data" / fmt / "dev.jsonl", dst, ctx.plan.dev_limit)
    return ctx.rel(dst)


def stage_finetune(ctx: Context) -> dict:
    if not ctx.ok("pretrain"):
        raise Skip("needs the pretrained teacher (stage pretrain did not complete)")
    teacher = ctx.results["stages"]["pretrain"]["result"]["model_dir"]
    run_verb(ctx, "finetune", "finetune", [], _finetune_flags(ctx, teacher, "teacher", student=False))
    return _fit_result(ctx, ctx.out / "teacher")


def _fit_result(ctx: Context, run_dir: Path) -> dict:
    model = _find_model_dir(run_dir)
    metrics = _find_metrics(run_dir)
    rows = _read_jsonl(metrics)
    train_rows = [r for r in rows if "loss" in r]
    dev_rows = [r for r in rows if any(k.startswith("dev_") for k in r)]
    res: dict[str, Any] = {
        "model_dir": ctx.rel(model),
        "parameters": _model_params(model),
        "metrics_file": ctx.rel(metrics),
    }
    if train_rows:
        res.update(
            steps=train_rows[-1]["step"], first_loss=train_rows[0]["loss"], final_loss=train_rows[-1]["loss"]
        )
    if dev_rows:
        best = dev_rows[-1]
        res.update({k: v for k, v in best.items() if k.startswith("dev_") and isinstance(v, int | float)})
    return res


def stage_distill(ctx: Context) -> dict:
    if not ctx.ok("finetune"):
        raise Skip("needs the fine-tuned teacher (stage finetune did not complete)")
    teacher = ctx.results["stages"]["finetune"]["result"]["model_dir"]
    flags = _finetune_flags(ctx, None, "student", student=True)
    for k in ("model", "model_overrides", "tokenizer", "slu_tags"):  # distill takes the teacher's labels.json
        flags.pop(k, None)
    flags = {"teacher": teacher, "student": [_student_config(ctx, teacher)], **flags}  # a chain of one
    run_verb(ctx, "distill", "distill", [], flags)
    res = _fit_result(ctx, ctx.out / "student")
    t = ctx.results["stages"]["finetune"]["result"].get("parameters")
    if t and res.get("parameters"):
        res["share_of_teacher_pct"] = 100.0 * res["parameters"] / t
    return res


def _student_config(ctx: Context, teacher: str) -> str:
    """configs/student_model.json: the edge student's shape, with the teacher's vocabulary."""
    import dataclasses

    from tandem.config import ModelConfig

    t = ModelConfig.from_dict(json.loads((ctx.out / teacher / "config.json").read_text(encoding="utf-8")))
    cfg = dataclasses.replace(t, **ctx.plan.student, name="quickstart-student")
    path = ctx.out / "configs" / "student_model.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cfg.to_dict(), indent=2) + "\n", encoding="utf-8")
    return ctx.rel(path)


def stage_baseline(ctx: Context) -> dict:
    if not ctx.ok("tokenizer"):
        raise Skip("needs the tokenizer (stage tokenizer did not complete)")
    run_verb(ctx, "baseline", "finetune", [], _finetune_flags(ctx, None, "student-noteacher", student=True))
    return _fit_result(ctx, ctx.out / "student-noteacher")


def stage_export(ctx: Context) -> dict:
    if not ctx.ok("distill"):
        raise Skip("needs the distilled student (stage distill did not complete)")
    student = ctx.results["stages"]["distill"]["result"]["model_dir"]
    flags = {"format": "ct2", "quantize": "int8", "out": "student-int8"}
    run_verb(ctx, "export", "export", [student], flags)
    meta_path = ctx.out / "student-int8" / "tandem_edge.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    size = sum(f.stat().st_size for f in (ctx.out / "student-int8").rglob("*") if f.is_file())
    res = {
        "export_dir": "student-int8",
        "disk_mb": size / 1e6,
        "quantization": meta.get("quantization", "int8"),
    }
    report = meta.get("export", {})  # the export's own verification against the torch model
    for k in ("probe_sequences", "probe_match", "quantized_agreement", "max_abs_logit_deviation"):
        if isinstance(report.get(k), int | float | bool):
            res[k] = report[k]
    return res


MEASURED = (  # (key, stage whose model it is, label in the report)
    ("teacher", "finetune", "teacher (fine-tuned, torch fp32)"),
    ("student", "distill", "distilled student (torch fp32)"),
    ("student_noteacher", "baseline", "student without teacher (torch fp32)"),
    ("student_int8", "export", "distilled student (edge int8)"),
)


def stage_measure(ctx: Context) -> dict:
    have = [(k, s, label) for k, s, label in MEASURED if ctx.ok(s)]
    if not have:
        raise Skip("no parsing model to measure (finetune, distill and baseline did not complete)")
    p = ctx.plan
    test = ctx.out / "measure" / "test.jsonl"
    _sample_test(ctx.out / "data" / "massive" / "test.jsonl", test, p.measure_limit)
    out: dict[str, Any] = {"test_examples": sum(1 for _ in test.open(encoding="utf-8"))}
    teacher_params = ctx.results["stages"].get("finetune", {}).get("result", {}).get("parameters")
    for key, stage, label in have:
        r = ctx.results["stages"][stage]["result"]
        model = r.get("export_dir") or r["model_dir"]
        summary = run_python(
            ctx,
            "measure",
            "tandem.quickstart.measure",
            [
                model,
                "--data",
                ctx.rel(test),
                "--predictions",
                f"measure/{key}.predictions.jsonl",
                "--latency-samples",
                str(p.latency_samples),
                "--threads",
                "1",
            ],  # fmt: skip
            tag=f"-{key}",
        )
        flags = {
            "predictions": f"measure/{key}.predictions.jsonl",
            "task": f"massive={ctx.rel(test)}",
            "out": f"measure/{key}",
        }
        run_verb(ctx, "measure", "evaluate", [], flags, tag=f"-{key}-score")
        scores = _eval_metrics(
            json.loads((ctx.out / "measure" / key / "metrics.json").read_text(encoding="utf-8"))
        )
        task_scores = next(iter(scores.values()), {})
        params = summary.get("parameters")
        if params is None and key == "student_int8":
            params = ctx.results["stages"]["distill"]["result"].get("parameters")
        row = {
            "label": label,
            "parameters": params,
            "intent_acc": task_scores.get("intent_acc"),
            "slot_f1": task_scores.get("slot_f1"),
            "exact_match": task_scores.get("exact_match"),
            "latency_ms_p50": summary["latency_ms_p50"],
            "latency_ms_p95": summary["latency_ms_p95"],
            "peak_rss_mb": summary["peak_rss_mb"],
            "disk_mb": summary["disk_mb"],
            "runtime": summary["runtime"],
        }
        if teacher_params and params:
            row["share_of_teacher_pct"] = 100.0 * params / teacher_params
        out[key] = {k: v for k, v in row.items() if v is not None}
    out["latency_samples"] = p.latency_samples
    return out


def _sample_test(src: Path, dst: Path, limit: int) -> None:
    """Up to `limit` test rows, spread evenly over the file (so every language and intent appears)."""
    rows = src.read_text(encoding="utf-8").splitlines()
    if limit < len(rows):
        step = len(rows) / limit
        rows = [rows[int(i * step)] for i in range(limit)]
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(method: str, url: str, body: dict | None = None, timeout: float = 30.0) -> tuple[int, str, float]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read().decode("utf-8")
            code = r.status
    except urllib.error.HTTPError as e:
        text, code = e.read().decode("utf-8", "replace"), e.code
    return code, text, 1000 * (time.perf_counter() - t0)


def _parse_text(parse: dict) -> str:
    """A /v1/parse result as `intent ; slot = value` text (the raw generation of a tag-format model is
    tag tokens; the server has already mapped them to names)."""
    if "intent" not in parse:
        return str(parse.get("text", ""))
    from tandem.slu import linearize

    return linearize(parse["intent"] or "", [(s["slot"], s["value"]) for s in parse.get("slots", [])])


def stage_serve(ctx: Context) -> dict:
    if not ctx.ok("export"):
        raise Skip("needs the int8 export (stage export did not complete)")
    port = _free_port()
    flags = {"port": port, "threads": 1, "log_level": "warning"}
    require_verb("serve", flags)
    cfg = ctx.out / "configs" / "serve.json"
    cfg.write_text(json.dumps(flags, indent=2) + "\n", encoding="utf-8")
    argv = ["serve", "student-int8", "--config", ctx.rel(cfg)]
    cmd = command_line(argv)
    entry = ctx.stage("serve")
    entry["commands"] = [cmd]
    entry["configs"] = {ctx.rel(cfg): flags}
    ctx.log(f"    $ {cmd} &")
    log_path = ctx.out / "logs" / "serve.log"
    log = log_path.open("wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tandem", *argv], cwd=ctx.out, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise TandemError(
                    f"`{cmd}` exited with {proc.returncode} before serving (log: {ctx.rel(log_path)})"
                )
            try:
                code, _, _ = _http("GET", base + "/healthz", timeout=2)
                if code == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() - t0 > 120:
                raise TandemError(f"`{cmd}` did not answer /healthz within 120 s (log: {ctx.rel(log_path)})")
            time.sleep(0.25)
        startup_s = time.perf_counter() - t0
        test = (
            [json.loads(line) for line in (ctx.out / "measure" / "test.jsonl").open(encoding="utf-8")]
            if (ctx.out / "measure" / "test.jsonl").is_file()
            else [
                json.loads(line)
                for line in (ctx.out / "data" / "massive" / "test.jsonl").open(encoding="utf-8")
            ]
        )
        picks = [test[int(i * len(test) / 3)] for i in range(3)]
        requests = []
        for row in picks:
            body = {"inputs": row["utt"], "max_new_tokens": 48}
            code, text, ms = _http("POST", base + "/v1/parse", body)
            parsed = json.loads(text) if code == 200 else {}
            parse = (parsed.get("parses") or [{}])[0]
            requests.append(
                {
                    "input": row["utt"],
                    "status": code,
                    "latency_ms": ms,
                    "output": _parse_text(parse) if code == 200 else text[:200],
                    "intent": parse.get("intent"),
                    "gold_intent": row.get("intent"),
                }  # fmt: skip
            )
        entry["http_commands"] = [
            f"curl -s {base}/v1/parse -H 'Content-Type: application/json' -d "
            + shlex.quote(json.dumps({"inputs": r["input"]}, ensure_ascii=False))
            for r in requests
        ]
        code, metrics_text, _ = _http("GET", base + "/metrics")
        served = [line for line in metrics_text.splitlines() if line and not line.startswith("#")]
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C, as a user stops it: in-flight requests finish first
        try:
            rc = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        log.close()
    return {
        "port": port,
        "startup_s": startup_s,
        "requests": requests,
        "requests_ok": sum(r["status"] == 200 for r in requests),
        "metrics_lines": len(served),
        "exit_code": rc,
    }


@dataclass
class Stage:
    name: str
    title: str
    run: Callable[[Context], dict]


STAGES: tuple[Stage, ...] = (
    Stage("corpus", "Write the embedded default corpus (synthetic)", stage_corpus),
    Stage("tokenizer", "Train the tokenizer", stage_tokenizer),
    Stage("pretrain", "Pretrain a tiny teacher with the AlexaTM mixture (denoising + CLM)", stage_pretrain),
    Stage("prompting", "Zero- and one-shot [CLM] prompts on held-out tasks", stage_prompting),
    Stage("finetune", "Fine-tune the teacher on parsing", stage_finetune),
    Stage("distill", "Distill an edge student from the teacher", stage_distill),
    Stage("baseline", "Train the same student without a teacher", stage_baseline),
    Stage("export", "Export the student to int8 for the edge runtime", stage_export),
    Stage("measure", "Accuracy, latency and memory of teacher and students", stage_measure),
    Stage("serve", "Serve the int8 student over HTTP, send requests, stop it", stage_serve),
)


def _machine() -> dict:
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    try:
        info["cpus_available"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.is_available()
    except ImportError:
        info["torch"] = None
    return info


def _previous_results(out: Path) -> dict[str, Any]:
    """The results.json an earlier run left in `out` ({} when there is none or it is unreadable)."""
    path = out / RESULTS
    if not path.is_file():
        return {}
    try:
        res = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return res if isinstance(res, dict) else {}


def _earlier_settings(previous: dict[str, Any]) -> dict[str, Any]:
    """The settings an earlier run recorded (`--minutes`, `--seed`, `--langs`, `--data`), those it has."""
    got: dict[str, Any] = {}
    plan = previous.get("plan")
    minutes = plan.get("minutes") if isinstance(plan, dict) else None
    if isinstance(minutes, int | float) and minutes > 0:
        got["minutes"] = float(minutes)
    if isinstance(previous.get("seed"), int):
        got["seed"] = previous["seed"]
    if isinstance(previous.get("langs"), list) and previous["langs"]:
        got["langs"] = [str(x) for x in previous["langs"]]
    if isinstance(previous.get("user_data"), list) and previous["user_data"]:
        got["data"] = [str(x) for x in previous["user_data"]]
    return got


def run_quickstart(
    out: str | Path = "quickstart",
    minutes: float | None = None,
    data: Sequence[str] | None = None,
    seed: int | None = None,
    langs: Sequence[str] | None = None,
    quiet: bool = False,
    stages: Sequence[str] | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Run the stages (all by default) into `out`, then write report.md/report.html; returns results.

    `minutes` (default 10), `seed` (0), `langs` (all seven) and `data` (the built-in corpus) left as None take,
    when `stages` reruns some stages in a folder an earlier run wrote, that run's values, so that the stages
    rerun fit the reused ones (the corpus its languages, the budget its sizes).

    Ctrl-C (KeyboardInterrupt, or a verb that exits 130) ends the run after marking the stage in progress
    "interrupted": the report is still written for the stages done so far, and results["interrupted"] is
    True (`tandem quickstart` then exits 130).

    The run holds `out`'s run lock (tandem.outlock) throughout: a second quickstart into the same folder
    is refused with the pid of the one running there."""
    from tandem.outlock import OutLock, check_out_free

    check_out_free(out, "tandem quickstart")
    with OutLock("tandem quickstart") as lock:
        return _run_quickstart(out, minutes, data, seed, langs, quiet, stages, log, lock)


def _run_quickstart(
    out: str | Path,
    minutes: float | None,
    data: Sequence[str] | None,
    seed: int | None,
    langs: Sequence[str] | None,
    quiet: bool,
    stages: Sequence[str] | None,
    log: Callable[[str], None],
    lock: Any,
) -> dict:
    from tandem import __version__
    from tandem.quickstart.report import write_report

    out_dir = Path(out).resolve()
    previous = _previous_results(out_dir) if stages else {}
    given = {"minutes": minutes, "seed": seed, "langs": langs or None, "data": data or None}
    earlier = {k: v for k, v in _earlier_settings(previous).items() if given[k] is None}
    if earlier:  # rerunning some stages: the ones reused were made with these
        flags = " ".join(
            f"--{k} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in earlier.items()
        )
        log(f"settings of the earlier run in {out}: {flags}")
    minutes = earlier.get("minutes", 10.0) if minutes is None else minutes
    seed = earlier.get("seed", 0) if seed is None else seed
    langs = earlier.get("langs", langs)
    data = earlier.get("data", data)
    plan = make_plan(minutes)
    ctx = Context(out_dir, plan, seed, list(data) if data else None, list(langs or LANGS), quiet, log=log)
    known = [s.name for s in STAGES]
    chosen = list(stages) if stages else known
    bad = [s for s in chosen if s not in known]
    if bad:
        raise TandemError(f"--stages: unknown {bad}; choose from {', '.join(known)}")
    summary = None
    if ctx.data:  # files and languages checked before any stage runs
        summary = data_summary(pretraining_sources(ctx))
    ctx.results = {
        "tandem_version": __version__,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "out": str(out_dir),
        "synthetic_data": not ctx.data,
        "data_note": SYNTHETIC_NOTE,
        "user_data": _absolute_data(ctx.data) if ctx.data else ctx.data,
        "user_data_summary": summary,  # the report's Corpus section describes it
        "seed": ctx.seed,
        "langs": ctx.langs,
        "machine": _machine(),
        "plan": asdict(plan),
        "stages": {},
    }
    previous = previous.get("stages", {}) if isinstance(previous.get("stages"), dict) else {}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        lock.acquire(out_dir)  # before results.json is replaced
        ctx.save()
    except OSError as e:
        raise TandemError(
            f"--out {out}: cannot write the run folder there ({e.strerror or e}); pick another"
        ) from None
    t_all = time.perf_counter()
    n = len(STAGES)
    interrupted = False
    for i, stage in enumerate(STAGES, 1):
        entry = ctx.stage(stage.name)
        entry["title"] = stage.title
        if stage.name not in chosen:
            if previous.get(stage.name, {}).get("status") == "ok":  # reuse an earlier run's finished stage
                entry.update(previous[stage.name], reused=True)
            else:
                entry.update(status="skipped", reason="not selected (--stages)")
            continue
        log(f"\n==> [{i}/{n}] {stage.name}: {stage.title}")
        t0 = time.perf_counter()
        try:
            entry["result"] = stage.run(ctx)
            entry["status"] = "ok"
        except Skip as e:
            entry.update(status="skipped", reason=str(e))
        except (TandemError, OSError) as e:  # OSError: a full disk, a read-only file in the run folder
            entry.update(status="failed", reason=str(e))
        except ModuleNotFoundError as e:
            from tandem.cli import _missing_dependency

            if _missing_dependency(e) is None:
                raise
            entry.update(status="failed", reason=f"this stage {_missing_dependency(e)}")
        except KeyboardInterrupt:  # Ctrl-C: report what is done, then stop
            entry.update(status="interrupted", reason="stopped by Ctrl-C (SIGINT); later stages were not run")
            interrupted = True
        entry["seconds"] = time.perf_counter() - t0
        mark = {"ok": "done", "skipped": "skipped", "failed": "FAILED", "interrupted": "INTERRUPTED"}
        extra = f": {entry['reason']}" if entry.get("reason") else ""
        log(f"<== [{i}/{n}] {stage.name} {mark[entry['status']]} in {entry['seconds']:.1f} s{extra}")
        ctx.save()
        if interrupted:
            break
    if interrupted:
        ctx.results["interrupted"] = True
    ctx.results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    ctx.results["total_seconds"] = time.perf_counter() - t_all
    ctx.save()
    paths = write_report(out_dir)
    ctx.results["report"] = {k: ctx.rel(v) for k, v in paths.items()}
    ctx.save()
    log(f"\nreport: {paths['md']}  ({paths['html'].name}, plots in {ctx.rel(paths['plots'])}/)")
    return ctx.results
