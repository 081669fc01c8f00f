"""Run tasks on a model (k-shot prompts, rank scoring or greedy generation) or score a predictions file,
and write predictions.jsonl, metrics.json and a markdown table."""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tandem.errors import TandemError, unwritable
from tandem.evaluation.tasks import Doc, Task, read_jsonl
from tandem.prompting.selection import select_demonstrations
from tandem.prompting.templates import PromptFormat, fit_prompt


@dataclass
class TaskReport:
    task: str
    metrics: dict[str, float | None]  # None: no score (e.g. MultiRC EM with no question whole)
    num_scored: int
    skipped_too_long: int = 0  # queries longer than the model accepts (never truncated)
    dropped_demos: int = 0  # demonstrations left out so that prompts fit
    missing: int = 0  # (predictions files) examples without a prediction
    shots: int = 0
    seconds: float = 0.0
    records: list[dict] = field(default_factory=list)
    primary: str = ""
    signatures: dict[str, str] = field(default_factory=dict)  # metric -> how it was computed
    demonstrations_from: str = ""  # with shots: "train" or "eval" (the evaluation split, query excluded)

    def summary(self) -> dict[str, Any]:
        extra = {"signatures": dict(self.signatures)} if self.signatures else {}
        if self.demonstrations_from:
            extra["demonstrations_from"] = self.demonstrations_from
        return {
            **self.metrics,
            "num_scored": self.num_scored,
            "skipped_too_long": self.skipped_too_long,
            "dropped_demos": self.dropped_demos,
            "missing_predictions": self.missing,
            "shots": self.shots,
            "seconds": round(self.seconds, 2),
            **extra,
        }


def _jsonable(x: Any) -> Any:
    return json.loads(json.dumps(x, default=str))


def demonstration_exclusions(
    task: Task, docs: Sequence[Doc], pool: Sequence[Doc], pool_is_eval: bool
) -> list[set[int]]:
    """Per query, the pool entries (by `id()`) that must not demonstrate it: any with the query's own input
    (a duplicate example would show the query's gold answer; SQuAD 2.0, xSID and SNIPS's training split have
    such), and from an evaluation-split pool the query itself (same id) and its `task.group_of` siblings."""
    by_prompt: dict[str, list[int]] = {}
    by_id: dict[str, list[int]] = {}
    by_group: dict[Any, list[int]] = {}
    for x in pool:
        by_prompt.setdefault(task.prompt(x), []).append(id(x))
        if pool_is_eval:
            by_id.setdefault(x["id"], []).append(id(x))
            if task.group_of is not None:
                by_group.setdefault(task.group_of(x), []).append(id(x))
    out = []
    for d in docs:
        ex = set(by_prompt.get(task.prompt(d), ()))
        if pool_is_eval:
            ex.update(by_id.get(d["id"], ()))
            if task.group_of is not None:
                ex.update(by_group.get(task.group_of(d), ()))
        out.append(ex)
    return out


def build_prompts(
    task: Task,
    docs: Sequence[Doc],
    pool: Sequence[Doc],
    pool_is_eval: bool,
    shots: int,
    seed: int,
    fmt: PromptFormat,
    length_of: Callable[[str], int],
    max_length: int | None,
    balanced: bool = True,
) -> tuple[list[str | None], list[int], list[int]]:
    """One prompt per doc (None when the query alone is too long); demos kept and demos dropped per prompt
    (0 dropped for a skipped query)."""
    prompts: list[str | None] = []
    kept: list[int] = []
    dropped: list[int] = []
    excluded = demonstration_exclusions(task, docs, pool, pool_is_eval) if shots else [set()] * len(docs)
    for i, d in enumerate(docs):
        demos = select_demonstrations(
            pool,
            shots,
            seed,
            query_index=i,
            label_of=task.label_of if balanced else None,
            exclude=(lambda x, _ex=excluded[i]: id(x) in _ex) if excluded[i] else None,
        )
        demo_texts = [task.prompt(x) + task.target(x) for x in demos]
        fitted = fit_prompt(demo_texts, task.prompt(d), fmt, length_of, max_length)
        prompts.append(fitted.text)
        kept.append(fitted.num_demos)
        dropped.append(fitted.dropped if fitted.text is not None else 0)
    return prompts, kept, dropped


def check_shots(task: Task, shots: int, available: int, pool_is_eval: bool) -> None:
    """Raise when `task` cannot give every query `shots` distinct demonstrations (never silently fewer);
    `available`: the fewest demonstration candidates any query has (see `demonstrations_available`)."""
    if shots > available:
        where = (
            "its evaluation split, less the query, its duplicates"
            + (" and the examples it shares a group with" if task.group_of is not None else "")
            if pool_is_eval
            else "its training split, less any example with the query's own input"
        )
        raise TandemError(
            f"task {task.name}: {shots} shots asked for but only {max(available, 0)} demonstration examples "
            f"exist ({where}); lower --shots to {max(available, 0)} or fewer"
        )


def demonstrations_available(task: Task, docs: Sequence[Doc], pool: Sequence[Doc], pool_is_eval: bool) -> int:
    """The fewest demonstration candidates any of `docs` has in `pool` once its exclusions are taken out."""
    if not docs:
        return len(pool)
    return len(pool) - max(len(ex) for ex in demonstration_exclusions(task, docs, pool, pool_is_eval))


def load_eval_docs(task: Task, data_dir: Path, explicit: str | None = None) -> list[Doc]:
    """The evaluation examples of `task`; an error (not an empty score) when its file holds none."""
    docs = task.load(data_dir, explicit)
    if not docs:
        where = explicit or f"its default file under {data_dir}"
        raise TandemError(f"task {task.name}: no evaluation examples in {where}; is the file empty?")
    return docs


def first_docs(docs: list[Doc], limit: int | None) -> list[Doc]:
    """The first `limit` examples (all with None); a MultiRC question cut by the limit keeps all its answer
    options, wherever in the file they are (in file order), since its EM needs every option (the last
    question's first options alone could all be right)."""
    if limit is None:
        return docs
    n = max(limit, 0)
    kept = {d["qid"] for d in docs[:n] if "qid" in d}
    if not kept:
        return docs[:n]
    return docs[:n] + [d for d in docs[n:] if d.get("qid") in kept]


def check_out_dir(out_dir: str | Path) -> None:
    """Fail before any work when `out_dir` (or a folder above it) exists but is not a directory, or cannot be
    made or written (a read-only filesystem, no permission): that was found only when the reports were
    written, after the whole evaluation. Folders made to find out are removed again."""
    p = Path(out_dir)
    missing = []
    for q in (p, *p.parents):
        if q.exists():
            if not q.is_dir():
                raise TandemError(
                    f"--out {out_dir}: {q} is a file, not a directory; give a directory for "
                    "predictions.jsonl, metrics.json and results.md"
                )
            break
        missing.append(q)
    try:
        for q in reversed(missing):
            q.mkdir(exist_ok=True)
        tempfile.TemporaryFile(dir=p).close()
    except OSError as e:
        raise unwritable(f"--out {out_dir}", e) from None
    finally:
        for q in missing:
            with contextlib.suppress(OSError):
                q.rmdir()


def demonstration_pool(
    task: Task, data_dir: Path, explicit: str | None = None, docs: Sequence[Doc] | None = None
) -> tuple[list[Doc], bool]:
    """(demonstration candidates, whether they come from the evaluation split) of `task`: its training split,
    else the whole evaluation split (`docs` when the caller has already loaded it whole)."""
    if task.load_train is None:
        return (list(docs) if docs is not None else load_eval_docs(task, data_dir, explicit)), True
    return task.load_train(data_dir), False


def run_task(
    lm,
    task: Task,
    data_dir: Path,
    explicit: str | None = None,
    *,
    shots: int = 0,
    limit: int | None = None,
    batch_size: int = 8,
    seed: int = 1234,
    fmt: PromptFormat | None = None,
    normalization: str = "none",
    balanced: bool = True,
    progress: Callable[[int], None] | None = None,
) -> TaskReport:
    """Evaluate `lm` (a `tandem.prompting.lm.EncoderDecoder`) on one task."""
    from tandem.prompting.generation import generate_texts
    from tandem.prompting.scoring import choice_ids, rank_choices

    t0 = time.perf_counter()
    fmt = fmt or PromptFormat()
    if task.delimiter is not None:
        fmt = PromptFormat(prefix=fmt.prefix, delimiter=task.delimiter)
    docs = first_docs(load_eval_docs(task, data_dir, explicit), limit)
    if task.kind == "rank":  # before any scoring: an example with nothing to rank has no prediction
        for d in docs:
            if not task.choices(d):
                raise TandemError(
                    f"task {task.name}: example {d['id']!r} in {explicit or 'its evaluation file'} has no "
                    "choices to rank (a ReCoRD query needs its passage's entities); fix or remove it"
                )
    pool_is_eval = task.load_train is None
    pool: Sequence[Doc] = docs
    if shots:  # from an evaluation split: the whole split, not only the first `limit`
        pool, pool_is_eval = demonstration_pool(task, data_dir, explicit)
        check_shots(task, shots, demonstrations_available(task, docs, pool, pool_is_eval), pool_is_eval)
    prompts, kept, dropped = build_prompts(
        task,
        docs,
        pool,
        pool_is_eval,
        shots,
        seed,
        fmt,
        lambda s: len(lm.source_ids(s)),
        lm.max_source_len,
        balanced,
    )
    ok = [i for i, p in enumerate(prompts) if p is not None]
    if task.kind == "rank":
        choices = {i: task.choices(docs[i]) for i in ok}
        # a verbalisation the decoder cannot hold is a skip, not a cut (tokenized in context, as it is scored);
        # the decoder reads the prefix (start, a forced first token) and all of a choice but its last token
        cap = None if lm.max_target_len is None else lm.max_target_len - len(lm.prefix) + 1
        if cap is not None:
            ok = [i for i in ok if all(len(c) <= cap for c in choice_ids(lm, str(prompts[i]), choices[i]))]
        if progress is not None:
            progress(len(docs) - len(ok))
        results = rank_choices(
            lm,
            [prompts[i] for i in ok],
            [choices[i] for i in ok],
            normalization=normalization,
            unconditional_prompt=fmt.prefix + task.unconditional,
            batch_size=batch_size,
            progress=progress,
        )
        preds = [task.choice_labels(docs[i])[r.prediction] for i, r in zip(ok, results)]
        extra = [{"scores": [round(s, 6) for s in r.scores]} for r in results]
    else:
        if progress is not None:
            progress(len(docs) - len(ok))
        texts = generate_texts(
            lm,
            [prompts[i] for i in ok],
            max_new_tokens=task.max_new_tokens,
            stop=(fmt.stop, *task.stop),
            batch_size=batch_size,
            progress=progress,
        )
        preds = [task.postprocess(t, docs[i]) if task.postprocess else t for i, t in zip(ok, texts)]
        extra = [{"generation": t} for t in texts]
    scored = [docs[i] for i in ok]
    metrics = task.metric(scored, preds) if scored else {}
    records = [
        {
            "task": task.name,
            "id": d["id"],
            "prediction": _jsonable(p),
            "gold": _jsonable(task.gold(d)),
            "num_demos": kept[i],
            **x,
        }
        for i, d, p, x in zip(ok, scored, preds, extra)
    ]
    scored_ids = set(ok)
    for i, p in enumerate(prompts):
        if i not in scored_ids:
            records.append(
                {
                    "task": task.name,
                    "id": docs[i]["id"],
                    "prediction": None,
                    "skipped": "query longer than the model maximum"
                    if p is None
                    else "a choice longer than the decoder maximum",
                }
            )
    return TaskReport(
        task.name,
        metrics,
        len(scored),
        skipped_too_long=len(docs) - len(scored),
        dropped_demos=sum(dropped[i] for i in ok),  # demonstrations left out of prompts that were scored
        shots=shots,
        seconds=time.perf_counter() - t0,
        records=records,
        primary=task.primary,
        signatures=task.signatures,
        demonstrations_from=("eval" if pool_is_eval else "train") if shots else "",
    )


_NO_LABEL = object()
_JSON_TYPE = {bool: "boolean", int: "number", float: "number", list: "list", dict: "dict"}


def _match_label(pred: Any, labels: Sequence[Any], verbalized: Sequence[str] = ()) -> Any:
    """Map an external prediction onto a task label: exact, else by case-insensitive string form of the
    label or of its verbalisation (`yes` for MultiRC's 1); `_NO_LABEL` when nothing matches."""
    if pred in labels:
        return pred
    s = str(pred).strip().lower()
    for lab in labels:
        if str(lab).lower() == s:
            return lab
    for lab, v in zip(labels, verbalized):
        if v.strip().lower() == s:
            return lab
    return _NO_LABEL


def score_predictions(
    task: Task,
    data_dir: Path,
    predictions: str | Path,
    explicit: str | None = None,
    limit: int | None = None,
) -> TaskReport:
    """Score a jsonl of {"id": ..., "prediction": ...} (other fields ignored) with the task's metric; `limit`:
    over the task's first N examples only, as a model run with --limit N scores them."""
    t0 = time.perf_counter()
    path = Path(predictions)
    rows = read_jsonl(path)
    by_id: dict[str, Any] = {}
    line_of: dict[str, int] = {}
    for r in rows:
        if "task" in r and r["task"] != task.name:
            continue
        if "id" not in r or "prediction" not in r:
            raise TandemError(f"{path} line {r['_line']}: fields 'id' and 'prediction' are required")
        rid, line = r["id"], r["_line"]
        # an id 1.0, null or [1] was its str(), so the file scored "no prediction matches", naming no line
        if isinstance(rid, bool) or not isinstance(rid, (str, int)):
            raise TandemError(
                f"{path} line {line}: field 'id' must be a string (or an integer), got {json.dumps(rid)[:60]}; "
                "give the example's id as the task file has it"
            )
        rid = str(rid)
        if rid in line_of:
            raise TandemError(
                f"{path} line {line}: a second prediction for id {rid!r} (first on line {line_of[rid]}); "
                "keep one prediction per example"
            )
        line_of[rid] = line
        pred = r["prediction"]
        if pred is None:
            if "skipped" in r:  # an example our own run skipped (too long), with its reason: counted missing
                continue
            what = "string" if task.kind == "generate" else "label"
            raise TandemError(
                f"{path} line {line}: field 'prediction' is null; give the predicted {what}, or leave the "
                "example out (it is counted as missing)"
            )
        if (task.kind == "generate" or task.free_form) and not isinstance(pred, str):
            # a number or NaN was scored as its str() ("5", "nan"); a list or object as its repr
            raise TandemError(
                f"{path} line {line}: task {task.name} predicts text, but 'prediction' is a "
                f"{_JSON_TYPE.get(type(pred), type(pred).__name__)} ({json.dumps(pred)[:40]}); give the "
                "predicted string"
            )
        by_id[rid] = pred
    # `limit` was ignored: every other example of the task counted as a missing prediction
    docs = first_docs(load_eval_docs(task, data_dir, explicit), limit)
    scored = [d for d in docs if d["id"] in by_id]
    if not scored:
        raise TandemError(
            f"{path}: no prediction matches an example id of task {task.name} (ids look like {docs[0]['id']!r})"
            if docs
            else f"task {task.name} has no examples"
        )
    preds = []
    for d in scored:
        p = by_id[d["id"]]
        if task.kind == "rank":
            labels = task.choice_labels(d)
            label = _match_label(p, labels, task.choices(d))
            if label is not _NO_LABEL:
                p = label
            elif not task.free_form:  # ReCoRD scores any text; the others a label
                raise TandemError(
                    f"{path} line {line_of[d['id']]}: prediction {p!r} is not a label of "
                    f"task {task.name} ({', '.join(map(repr, labels))})"
                )
        elif task.postprocess:
            p = task.postprocess(str(p), d)
        preds.append(p)
    return TaskReport(
        task.name,
        task.metric(scored, preds),
        len(scored),
        missing=len(docs) - len(scored),
        seconds=time.perf_counter() - t0,
        primary=task.primary,
        signatures=task.signatures,
    )


def environment() -> dict[str, str]:
    """What decides the numbers besides the model and data: tandem's version (and git commit when run from a
    checkout), Python, and the installed versions of the packages that compute or feed the scores."""
    import platform
    import subprocess
    from importlib import metadata

    import tandem

    env = {"tandem": tandem.__version__, "python": platform.python_version()}
    try:
        commit = subprocess.run(
            ["git", "-C", str(Path(tandem.__file__).parent), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    if commit:
        env["tandem_git"] = commit
    for pkg in ("torch", "transformers", "sentencepiece", "sacrebleu", "rouge-score", "datasets"):
        try:
            env[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return env


def markdown_table(reports: Sequence[TaskReport]) -> str:
    """| task | metric | value | n | skipped | dropped demos |"""
    lines = [
        "| task | metric | value | n | skipped (too long) | dropped demos |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in reports:
        shown = [k for k in r.metrics if not k.endswith("_total") and k not in ("total", "n")]
        for j, k in enumerate(shown):
            tail = f"{r.num_scored} | {r.skipped_too_long} | {r.dropped_demos}" if j == 0 else " | | "
            v = r.metrics[k]
            lines.append(
                f"| {r.task if j == 0 else ''} | {k} | {'n/a' if v is None else f'{v:.2f}'} | {tail} |"
            )
        if not shown:
            lines.append(f"| {r.task} | - | - | {r.num_scored} | {r.skipped_too_long} | {r.dropped_demos} |")
    return "\n".join(lines) + "\n"


def write_reports(
    reports: Sequence[TaskReport], out_dir: str | Path, meta: dict | None = None
) -> dict[str, Path]:
    """predictions.jsonl, metrics.json and results.md in out_dir."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "predictions": out / "predictions.jsonl",
            "metrics": out / "metrics.json",
            "table": out / "results.md",
        }
        with paths["predictions"].open("w", encoding="utf-8") as f:
            for r in reports:
                for rec in r.records:
                    f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        payload = {"config": meta or {}, "results": {r.task: r.summary() for r in reports}}
        paths["metrics"].write_text(
            json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        paths["table"].write_text(markdown_table(reports), encoding="utf-8")
    except OSError as e:
        raise TandemError(f"cannot write results to {out}: {e.strerror or e}") from e
    return paths
