"""Evaluation tasks as small declarative definitions: a loader, a template and a metric.

A task name may carry a parameter after a colon (`flores:eng_Latn-deu_Latn`, `xnli:de`, `xsid:it`,
`mlsum:de`) and an explicit evaluation file after `=` (`xsum=/data/xsum_test.jsonl`). Loaders read the
local formats under the data directory (see ../shared/data/README.md); where a local file is missing they
fall back to the Hugging Face `datasets` version when one is cached.

Rank tasks predict the label of the best-scoring verbalised choice; generation tasks predict text. Either
way a prediction is a plain JSON value, so `tandem evaluate --predictions FILE` can score any system.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import json
import os
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tandem import slu
from tandem.errors import TandemError
from tandem.evaluation import metrics as M
from tandem.jsonl import JSON_ERRORS, iter_jsonl, json_error_reason, lone_surrogate, read_lines, read_text

Doc = dict[str, Any]


@dataclass(frozen=True)
class Task:
    """One evaluation task. `prompt(doc)` is the query input ending in its answer cue; `target(doc)` the gold
    answer as it follows the cue in a demonstration (with its leading space)."""

    name: str
    kind: str  # "rank" | "generate"
    load: Callable[[Path, str | None], list[Doc]]  # (data_dir, explicit file or None) -> eval docs
    prompt: Callable[[Doc], str]
    target: Callable[[Doc], str]
    gold: Callable[[Doc], Any]
    metric: Callable[[list[Doc], list[Any]], dict[str, float]]
    choices: Callable[[Doc], list[str]] | None = None  # rank: verbalisations
    choice_labels: Callable[[Doc], list[Any]] | None = None  # rank: the label each choice stands for
    load_train: Callable[[Path], list[Doc]] | None = None  # demonstration pool; None: the eval split
    label_of: Callable[[Doc], Hashable] | None = None  # class for balanced demonstration selection
    # demonstrations drawn from the evaluation split never share this with the query (XNLI: the premise, whose
    # three hypotheses take one label each, so a sibling tells the query's label by elimination; SQuAD 2.0: the
    # paragraph, whose unanswerable questions were written against its answerable ones)
    group_of: Callable[[Doc], Hashable] | None = None
    max_new_tokens: int = 32
    stop: tuple[str, ...] = ("\n",)
    postprocess: Callable[[str, Doc], Any] | None = None
    delimiter: str | None = None  # forced delimiter (e.g. SLU targets contain ';')
    unconditional: str = "Answer:"
    primary: str = "acc"
    description: str = ""
    signatures: dict[str, str] = field(default_factory=dict)  # metric -> how it was computed (sacreBLEU)
    free_form: bool = False  # rank task whose scored predictions may be any text (ReCoRD), not only a label


# ------------------------------------------------------------------------------------------------- file I/O
def read_jsonl(path: Path) -> list[Doc]:
    """Objects of a jsonl file; a malformed line is an error naming the file and line."""
    out = []
    for i, obj in iter_jsonl(path):
        obj.setdefault("_line", i)
        out.append(obj)
    return out


def _line(doc: Doc) -> str:
    """ " line N" for a row read from a jsonl file (its `_line`), else ""."""
    return f" line {doc['_line']}" if isinstance(doc, dict) and "_line" in doc else ""


def need(doc: Doc, key: str, where: str = "") -> Any:
    """doc[key], or a TandemError naming the file line and the missing field."""
    if not isinstance(doc, dict):
        raise TandemError(f"{where or 'document'}: expected a JSON object holding {key!r}, got {doc!r:.60}")
    if key not in doc:
        raise TandemError(f"{where or 'document'}{_line(doc)}: field {key!r} missing")
    return doc[key]


def need_text(doc: Doc, key: str, where: str = "") -> str:
    """doc[key] when it is a string, else a TandemError naming the file line and the field (a null or a number
    there used to fail inside the metric with a bare TypeError)."""
    value = need(doc, key, where)
    if not isinstance(value, str):
        raise TandemError(
            f"{where or 'document'}{_line(doc)}: field {key!r} must be a string, got {json.dumps(value)[:60]}"
        )
    bad = lone_surrogate(key, value)  # a .json file's "\ud800" (jsonl lines are checked as they are read)
    if bad:
        raise TandemError(f"{where or 'document'}{_line(doc)}: {bad}")
    return value


def need_list(doc: Doc, key: str, where: str = "") -> list:
    """doc[key] when it is a list, else a TandemError naming the file line and the field (a null or a number
    there failed with a bare TypeError when iterated)."""
    value = need(doc, key, where)
    if not isinstance(value, list):
        raise TandemError(
            f"{where or 'document'}{_line(doc)}: field {key!r} must be a list, got {json.dumps(value)[:60]}"
        )
    return value


def hf_rows(name: str, config: str | None, split: str) -> list[Doc]:
    """Rows of a Hugging Face dataset from the local cache (no download unless TANDEM_HF_DOWNLOAD=1)."""
    try:
        import datasets
    except ImportError as e:  # pragma: no cover - datasets is optional
        raise TandemError(f"the `datasets` package is needed to load {name}; pip install datasets") from e
    try:
        with _hf_offline():
            ds = datasets.load_dataset(name, config, split=split)
    except Exception as e:  # datasets raises many types (connection, missing config, ...)
        raise TandemError(f"could not load Hugging Face dataset {name}/{config} [{split}]: {e}") from e
    return [dict(r) for r in ds]


@contextlib.contextmanager
def _hf_offline() -> Iterator[None]:
    """Hugging Face offline mode for one call, unless TANDEM_HF_DOWNLOAD=1: without it a missing local file
    made `datasets` retry an unreachable Hub with back-off (about 25 s per task on a machine without
    network) before the error, and could start a download nobody asked for."""
    if os.environ.get("TANDEM_HF_DOWNLOAD", "").lower() in ("1", "true", "yes"):
        yield
        return
    import datasets.config as dc
    import huggingface_hub.constants as hc

    saved = [
        (m, a, getattr(m, a)) for m, a in ((dc, "HF_HUB_OFFLINE"), (hc, "HF_HUB_OFFLINE")) if hasattr(m, a)
    ]
    try:
        for m, a, _ in saved:
            setattr(m, a, True)
        yield
    finally:
        for m, a, v in saved:
            setattr(m, a, v)


DATA_HINT = (
    "pass --data-dir DIR (the folder holding superglue/, squad2/, flores200/, xnli/, snips/, slurp/, xsid/; "
    "see ../shared/data/README.md), set TANDEM_DATA, or give the file as TASK=PATH"
)


def _local(path: Path) -> Path:
    """`path` (a default location under the data directory), or an error naming it and what to do."""
    if not path.exists():
        raise TandemError(f"{path}: not found; {DATA_HINT}")
    return path


def _hf_fallback(path: Path, name: str, config: str | None, split: str) -> list[Doc]:
    """Rows of the Hugging Face copy of a data set whose local file `path` is missing; an error names both."""
    try:
        return hf_rows(name, config, split)
    except TandemError as e:
        raise TandemError(
            f"{path}: file not found, and the Hugging Face fallback (local cache only; TANDEM_HF_DOWNLOAD=1 "
            f"allows a download) failed ({e}); {DATA_HINT}"
        ) from e


def _local_or_hf(
    path: Path, hf: tuple[str, str | None, str] | None, convert: Callable[[Doc], Doc] | None
) -> list[Doc]:
    if path.is_file():
        return read_jsonl(path)
    if hf is None:
        raise TandemError(f"{path}: file not found; {DATA_HINT}")
    rows = _hf_fallback(path, *hf)
    return [convert(r) if convert else r for r in rows]


# --------------------------------------------------------------------------------------------- SuperGLUE
def _sg_file(task: str, split: str) -> Callable[[Path, str | None], list[Doc]]:
    hf_split = {"val": "validation", "train32": "train", "dev32": "validation"}[split]

    def load(data_dir: Path, explicit: str | None = None) -> list[Doc]:
        path = Path(explicit) if explicit else data_dir / "superglue" / task / f"{split}.jsonl"
        if explicit and not path.is_file():
            raise TandemError(f"{path}: file not found")
        rows = _local_or_hf(path, ("super_glue", task, hf_split), _HF_SG.get(task))
        where = str(path)
        if task == "multirc":
            return _flatten_multirc(rows, where)
        if task == "record":
            return _flatten_record(rows, where)
        for i, r in enumerate(rows):
            _check_sg_fields(task, r, where)
            r.setdefault("id", str(r.get("idx", i)))
            r["id"] = str(r["id"])
            r["_where"] = where
        return rows

    return load


# the fields each SuperGLUE task's template reads, and the labels it knows (None: any true/false value)
_SG_FIELDS: dict[str, tuple[str, ...]] = {
    "boolq": ("passage", "question", "label"),
    "cb": ("premise", "hypothesis", "label"),
    "copa": ("premise", "choice1", "choice2", "question", "label"),
    "rte": ("premise", "hypothesis", "label"),
    "wic": ("sentence1", "sentence2", "word", "label"),
    "wsc": ("text", "target", "label"),
}
_SG_LABELS: dict[str, tuple[Any, ...]] = {
    "cb": ("entailment", "contradiction", "neutral"),
    "copa": (0, 1),
    "rte": ("entailment", "not_entailment"),
}


_BOOL_LABELS = ("true", "false", "1", "0", "yes", "no")  # as strings, any case; also JSON true/false, 0/1


def _check_sg_fields(task: str, doc: Doc, where: str) -> None:
    """A TandemError naming the file, line and field when `doc` lacks what the task's template reads, or holds
    it with the wrong type: a text field that is not a string (a null or a number was a traceback in COPA and
    WSC, and the prompt read "None" or "5" in the others), a yes/no label that is not a boolean."""
    for key in _SG_FIELDS.get(task, ()):
        if key in ("label", "target"):
            need(doc, key, where)
        else:
            need_text(doc, key, where)
    line = _line(doc)
    if task == "wsc":
        target = doc["target"]
        if not isinstance(target, dict) or not {"span1_text", "span2_text"} <= set(target):
            raise TandemError(f"{where}{line}: field 'target' needs 'span1_text' and 'span2_text'")
        for key in ("span1_text", "span2_text"):
            if not isinstance(target[key], str):
                raise TandemError(
                    f"{where}{line}: field 'target.{key}' must be a string, got {json.dumps(target[key])[:60]}"
                )
    if task in ("boolq", "wic", "wsc"):
        lab = doc["label"]
        if not (
            lab in (0, 1)  # True and False too
            if isinstance(lab, (bool, int))
            else isinstance(lab, str) and lab.lower() in _BOOL_LABELS
        ):
            raise TandemError(f"{where}{line}: label {lab!r} is not a boolean (true/false, 1/0) ({task})")
    if task == "copa" and doc["question"] not in ("cause", "effect"):
        raise TandemError(
            f"{where}{line}: field 'question' must be 'cause' or 'effect', got {doc['question']!r}"
        )
    known = _SG_LABELS.get(task)
    if known is not None and (doc["label"] not in known or isinstance(doc["label"], bool)):  # True == 1
        raise TandemError(
            f"{where}{line}: label {doc['label']!r} is not one of {', '.join(map(repr, known))} ({task})"
        )


def _bool_label(doc: Doc, where: str = "") -> bool:
    lab = need(doc, "label", where or doc.get("_where", ""))
    if isinstance(lab, str):
        return lab.lower() in ("true", "1", "yes")
    return bool(lab)


def _sg_train(task: str) -> Callable[[Path], list[Doc]]:
    return lambda d: _sg_file(task, "train32")(d, None)


_CB_LABELS = ["entailment", "contradiction", "neutral"]
_NLI_VERBAL = {"entailment": " True", "contradiction": " False", "neutral": " Neither"}


def _hf_wsc(r: Doc) -> Doc:
    return {
        "text": r["text"],
        "target": {k: r[k] for k in ("span1_index", "span2_index", "span1_text", "span2_text")},
        "label": r["label"],
        "idx": r["idx"],
    }


def _hf_label_names(names: list[str]) -> Callable[[Doc], Doc]:
    def conv(r: Doc) -> Doc:
        r = dict(r)
        if isinstance(r.get("label"), int) and r["label"] >= 0:
            r["label"] = names[r["label"]]
        return r

    return conv


_HF_SG: dict[str, Callable[[Doc], Doc]] = {
    "wsc": _hf_wsc,
    "cb": _hf_label_names(_CB_LABELS),
    "rte": _hf_label_names(["entailment", "not_entailment"]),
}


def _flatten_multirc(rows: list[Doc], where: str) -> list[Doc]:
    """One document per (question, answer option); `qid` groups the options of a question."""
    out = []
    for r in rows:
        if "paragraph" in r and "answer" in r:  # Hugging Face: already one row per option
            idx = r["idx"]
            out.append(
                {
                    "passage": r["paragraph"],
                    "question": r["question"],
                    "answer": r["answer"],
                    "label": int(r["label"]),
                    "qid": f"{idx['paragraph']}-{idx['question']}",
                    "id": f"{idx['paragraph']}-{idx['question']}-{idx['answer']}",
                }
            )
            continue
        passage = need(r, "passage", where)
        where_r = where + _line(r)
        text = need_text(passage, "text", where_r)
        # without idx fields, positions keep questions apart (EM groups by qid) and ids unique
        p_idx = r.get("idx", r.get("_line", len(out)))
        for qi, q in enumerate(need_list(passage, "questions", where_r)):
            q_idx = q.get("idx", qi) if isinstance(q, dict) else qi
            for ai, a in enumerate(need_list(q, "answers", where_r)):
                label = need(a, "label", where_r)
                if label not in (0, 1):  # True / False too
                    raise TandemError(f"{where_r}: answer label {label!r} is not 0 or 1 (multirc)")
                out.append(
                    {
                        "passage": text,
                        "question": need_text(q, "question", where_r),
                        "answer": need_text(a, "text", where_r),
                        "label": int(label),
                        "qid": f"{p_idx}-{q_idx}",
                        "id": f"{p_idx}-{q_idx}-{a.get('idx', ai)}",
                    }
                )
    per_question = collections.Counter(d["qid"] for d in out)
    for d in out:  # EM needs a question whole: it scores one only when all of its options have predictions
        d["num_options"] = per_question[d["qid"]]
    return out


def _record_passage(text: str) -> str:
    # highlights are bullet-style summary lines; keep them readable on one line
    return text.replace("@highlight\n", "- ").replace("\n", " ")


def _flatten_record(rows: list[Doc], where: str) -> list[Doc]:
    """One document per cloze query, with the passage's unique entity strings as candidates."""
    out = []
    for r in rows:
        if "query" in r and "entities" in r:  # Hugging Face layout
            ents = list(dict.fromkeys(r["entities"]))
            out.append(
                {
                    "passage": _record_passage(r["passage"]),
                    "query": r["query"],
                    "entities": ents,
                    "answers": _record_answers(
                        list(r.get("answers", [])), where, f"{r['idx']['passage']}-{r['idx']['query']}"
                    ),
                    "id": f"{r['idx']['passage']}-{r['idx']['query']}",
                }
            )
            continue
        passage = need(r, "passage", where)
        where_r = where + _line(r)
        text = need_text(passage, "text", where_r)
        entities = need_list(passage, "entities", where_r) if "entities" in passage else []
        spans = [(need(e, "start", where_r), need(e, "end", where_r)) for e in entities]
        if not all(type(a) is int and type(b) is int for a, b in spans):
            raise TandemError(
                f"{where_r}: an entity's 'start' and 'end' must be integers (character offsets)"
            )
        ents = list(dict.fromkeys(text[a : b + 1] for a, b in spans))
        for q in need_list(r, "qas", where):
            qid = str(q.get("idx", len(out))) if isinstance(q, dict) else str(len(out))
            answers = list(
                dict.fromkeys(need_text(a, "text", where_r) for a in need_list(q, "answers", where_r))
            )
            out.append(
                {
                    "passage": _record_passage(text),
                    "query": need_text(q, "query", where_r),
                    "entities": ents,
                    "answers": _record_answers(answers, where_r, qid),
                    "id": qid,
                }
            )
    return out


def _record_answers(answers: list[str], where: str, qid: str) -> list[str]:
    """The gold answers of a ReCoRD query, or an error: the official script takes a max over them, and a query
    without any (a test split) would score 0 whatever the prediction."""
    if not answers:
        raise TandemError(f"{where}: ReCoRD query {qid!r} has no gold answers; evaluate on a labelled split")
    return answers


def _acc_metric(docs: list[Doc], preds: list[Any], gold: Callable[[Doc], Any]) -> dict[str, float]:
    return {"acc": M.accuracy([gold(d) for d in docs], preds)}


def _copa_prompt(d: Doc) -> str:
    connector = " because" if d["question"] == "cause" else " so"
    return d["premise"].rstrip().rstrip(".") + connector


def _copa_choice(text: str) -> str:
    """The choice continuing the premise mid-sentence: first letter in lower case, except the pronoun "I" (32 of
    the 200 validation choices start with it; "because i ..." is no sentence a model has read)."""
    if text[:1] == "I" and (len(text) == 1 or not text[1].isalpha()):
        return " " + text
    return " " + text[:1].lower() + text[1:]


def _wsc_fields(d: Doc) -> tuple[str, str]:
    t = need(d, "target", d.get("_where", ""))
    return t["span1_text"], t["span2_text"]


_WSC_PUNCT = ".,;:!?'\"()"


def _wsc_text(d: Doc) -> str:
    """The passage with the pronoun under test marked `*he*`: a pronoun often occurs more than once (27 of the
    104 validation passages), and the span texts alone made examples that differ only in which occurrence is
    meant (with opposite labels) the same prompt. The mark goes on the words at `span2_index` (split at single
    spaces, as SuperGLUE counts them), or on the nearest words that match the pronoun where the index is off
    (validation idx 42 points at the word before its `it`); the passage stays unmarked when nothing matches."""
    t = d["target"]
    words = d["text"].split(" ")
    pronoun = [w.strip(_WSC_PUNCT).lower() for w in str(t["span2_text"]).split(" ")]
    n = len(pronoun)
    at = [
        i
        for i in range(len(words) - n + 1)
        if [w.strip(_WSC_PUNCT).lower() for w in words[i : i + n]] == pronoun
    ]
    if not at:
        return d["text"]
    index = t.get("span2_index")
    i = min(at, key=lambda j: abs(j - index)) if isinstance(index, int) else at[0]
    span = " ".join(words[i : i + n])
    core = span.strip(_WSC_PUNCT)
    start = span.index(core)
    marked = f"{span[:start]}*{core}*{span[start + len(core) :]}"
    return " ".join([*words[:i], marked, *words[i + n :]])


def _superglue_tasks() -> dict[str, Task]:
    yn = [" no", " yes"]
    tasks = [
        Task(
            "boolq",
            "rank",
            _sg_file("boolq", "val"),
            prompt=lambda d: f"{d['passage']} Question: {d['question']}? Answer:",
            target=lambda d: yn[int(_bool_label(d))],
            gold=_bool_label,
            choices=lambda d: yn,
            choice_labels=lambda d: [False, True],
            metric=lambda docs, p: _acc_metric(docs, p, _bool_label),
            load_train=_sg_train("boolq"),
            label_of=_bool_label,
            description="SuperGLUE BoolQ (accuracy)",
        ),
        Task(
            "cb",
            "rank",
            _sg_file("cb", "val"),
            prompt=lambda d: f"{d['premise']} Question: {d['hypothesis']} True, False, or Neither? Answer:",
            target=lambda d: _NLI_VERBAL[d["label"]],
            gold=lambda d: d["label"],
            choices=lambda d: [_NLI_VERBAL[c] for c in _CB_LABELS],
            choice_labels=lambda d: list(_CB_LABELS),
            metric=lambda docs, p: {
                "acc": M.accuracy([d["label"] for d in docs], p),
                "f1": M.macro_f1([d["label"] for d in docs], p, labels=_CB_LABELS),
            },
            load_train=_sg_train("cb"),
            label_of=lambda d: d["label"],
            description="SuperGLUE CommitmentBank (accuracy, macro-F1 over 3 classes)",
        ),
        Task(
            "copa",
            "rank",
            _sg_file("copa", "val"),
            prompt=_copa_prompt,
            target=lambda d: _copa_choice(d[f"choice{int(d['label']) + 1}"]),
            gold=lambda d: int(d["label"]),
            choices=lambda d: [_copa_choice(d["choice1"]), _copa_choice(d["choice2"])],
            choice_labels=lambda d: [0, 1],
            metric=lambda docs, p: _acc_metric(docs, p, lambda d: int(d["label"])),
            load_train=_sg_train("copa"),
            unconditional="",
            description="SuperGLUE COPA (accuracy)",
        ),
        Task(
            "rte",
            "rank",
            _sg_file("rte", "val"),
            prompt=lambda d: f"{d['premise']} Question: {d['hypothesis']} True or False? Answer:",
            target=lambda d: " True" if d["label"] == "entailment" else " False",
            gold=lambda d: d["label"],
            choices=lambda d: [" True", " False"],
            choice_labels=lambda d: ["entailment", "not_entailment"],
            metric=lambda docs, p: _acc_metric(docs, p, lambda d: d["label"]),
            load_train=_sg_train("rte"),
            label_of=lambda d: d["label"],
            description="SuperGLUE RTE (accuracy)",
        ),
        Task(
            "wic",
            "rank",
            _sg_file("wic", "val"),
            prompt=lambda d: (
                f"Sentence 1: {d['sentence1']} Sentence 2: {d['sentence2']} Question: Is the word "
                f"'{d['word']}' used in the same way in the two sentences above? Answer:"
            ),
            target=lambda d: yn[int(_bool_label(d))],
            gold=_bool_label,
            choices=lambda d: yn,
            choice_labels=lambda d: [False, True],
            metric=lambda docs, p: _acc_metric(docs, p, _bool_label),
            load_train=_sg_train("wic"),
            label_of=_bool_label,
            description="SuperGLUE WiC (accuracy)",
        ),
        Task(
            "wsc",
            "rank",
            _sg_file("wsc", "val"),
            prompt=lambda d: (
                f"{_wsc_text(d)} Question: In the passage above, does the pronoun '*{_wsc_fields(d)[1]}*' refer to "
                f"'{_wsc_fields(d)[0]}'? Answer:"
            ),
            target=lambda d: yn[int(_bool_label(d))],
            gold=_bool_label,
            choices=lambda d: yn,
            choice_labels=lambda d: [False, True],
            metric=lambda docs, p: _acc_metric(docs, p, _bool_label),
            load_train=_sg_train("wsc"),
            label_of=_bool_label,
            description="SuperGLUE WSC (accuracy)",
        ),
        Task(
            "multirc",
            "rank",
            _sg_file("multirc", "val"),
            prompt=lambda d: (
                f"{d['passage']} Question: {d['question']} Candidate answer: {d['answer']} "
                "Is the candidate answer correct? Answer:"
            ),
            target=lambda d: yn[d["label"]],
            gold=lambda d: d["label"],
            choices=lambda d: yn,
            choice_labels=lambda d: [0, 1],
            metric=lambda docs, p: M.multirc(
                [d["qid"] for d in docs],
                [d["label"] for d in docs],
                [int(x) for x in p],
                {d["qid"]: d["num_options"] for d in docs if "num_options" in d},
            ),
            load_train=_sg_train("multirc"),
            label_of=lambda d: d["label"],
            primary="f1a",
            description="SuperGLUE MultiRC (F1a over answer options, EM per question)",
        ),
        Task(
            "record",
            "rank",
            _sg_file("record", "dev32"),
            prompt=lambda d: d["passage"],
            target=lambda d: (
                " " + d["query"].replace("@placeholder", d["answers"][0] if d["answers"] else "")
            ),
            gold=lambda d: d["answers"],
            choices=lambda d: [" " + d["query"].replace("@placeholder", e) for e in d["entities"]],
            choice_labels=lambda d: list(d["entities"]),
            metric=lambda docs, p: {
                k: v for k, v in M.max_over_golds([d["answers"] for d in docs], [str(x) for x in p]).items()
            },
            load_train=_sg_train("record"),
            primary="f1",
            unconditional="",
            description="SuperGLUE ReCoRD (max-over-answers F1 and EM); local split: dev32",
            free_form=True,
        ),
    ]
    return {t.name: t for t in tasks}


# ------------------------------------------------------------------------------------------------- SQuAD 2.0
NO_ANSWER = "unanswerable"


def _load_squad(data_dir: Path, explicit: str | None = None) -> list[Doc]:
    path = Path(explicit) if explicit else data_dir / "squad2" / "dev-v2.0.json"
    if not path.is_file():
        if explicit:
            raise TandemError(f"{path}: file not found")
        rows = _hf_fallback(path, "rajpurkar/squad_v2", None, "validation")
        return [
            {
                "id": r["id"],
                "context": r["context"],
                "question": r["question"],
                "answers": list(r["answers"]["text"]),
            }
            for r in rows
        ]
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise TandemError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from e
    except JSON_ERRORS as e:  # nested too deeply, an integer of over 4300 digits
        raise TandemError(f"{path}: not valid JSON ({json_error_reason(e)})") from e
    out = []
    for art in need(data, "data", str(path)):
        for para in need(art, "paragraphs", str(path)):
            for qa in need(para, "qas", str(path)):
                qid = qa.get("id", len(out) + 1) if isinstance(qa, dict) else len(out) + 1
                where = f"{path} (question {qid!r})"
                question = need_text(qa, "question", where)  # first: also says when qa is not an object
                answers = (
                    []
                    if qa.get("is_impossible")
                    else [need_text(a, "text", where) for a in qa.get("answers", [])]
                )
                out.append(
                    {
                        "id": str(need(qa, "id", where)),
                        "context": need_text(para, "context", where),
                        "question": question,
                        "answers": answers,
                    }
                )
    return out


def _squad_post(text: str, doc: Doc) -> str:
    return "" if M.normalize_answer(text) in ("", NO_ANSWER) else text


def _squad_task() -> Task:
    return Task(
        "squad2",
        "generate",
        _load_squad,
        prompt=lambda d: f"{d['context']} Question: {d['question']} Answer:",
        target=lambda d: " " + (d["answers"][0] if d["answers"] else NO_ANSWER),
        gold=lambda d: d["answers"],
        metric=lambda docs, p: M.squad_v2([d["answers"] for d in docs], [str(x) for x in p]),
        postprocess=_squad_post,
        group_of=lambda d: d["context"],
        max_new_tokens=24,
        primary="f1",
        description="SQuAD 2.0 (official exact/F1; 'unanswerable' or empty = no answer)",
    )


# ---------------------------------------------------------------------------------------------------- FLORES
FLORES_LANGS = {
    "ar": ("arb_Arab", "Arabic"),
    "de": ("deu_Latn", "German"),
    "en": ("eng_Latn", "English"),
    "es": ("spa_Latn", "Spanish"),
    "fr": ("fra_Latn", "French"),
    "hi": ("hin_Deva", "Hindi"),
    "it": ("ita_Latn", "Italian"),
    "ja": ("jpn_Jpan", "Japanese"),
    "mr": ("mar_Deva", "Marathi"),
    "pt": ("por_Latn", "Portuguese"),
    "ta": ("tam_Taml", "Tamil"),
    "te": ("tel_Telu", "Telugu"),
}
_FLORES_NAME = {code: name for code, name in FLORES_LANGS.values()}


def _lang_case(x: str) -> str:
    """A language parameter in its files' spelling, whatever case it was typed in: `de`, FLORES `deu_Latn`,
    MASSIVE `de-DE` (`xnli:DE` or `flores:EN-DE` looked for files that are not there)."""
    if "_" in x:
        code, _, script = x.partition("_")
        return f"{code.lower()}_{script.title()}"
    if "-" in x:
        code, _, region = x.partition("-")
        return f"{code.lower()}-{region.upper()}"
    return x.lower()


def _flores_code(x: str) -> str:
    x = _lang_case(x)
    return FLORES_LANGS[x][0] if x in FLORES_LANGS else x


def _flores_task(param: str, spm_path: str | None = None) -> Task:
    if "-" not in param:
        raise TandemError(
            f"flores needs a language pair, e.g. flores:eng_Latn-deu_Latn or flores:en-de (got {param!r})"
        )
    a, b = param.split("-", 1)
    src, tgt = _flores_code(a), _flores_code(b)
    tgt_name = _FLORES_NAME.get(tgt, tgt)
    bleu_tok = M.bleu_tokenizer(tgt)
    signatures = M.sacrebleu_signatures(bleu_tok)
    if spm_path:
        M.load_spm(spm_path)  # a bad --flores-spm fails here, not after every translation is generated
        signatures["spbleu"] = f"pieces of {spm_path}; " + M.sacrebleu_signatures("none")["bleu"]

    def read(data_dir: Path, code: str, split: str) -> list[str]:
        for p in (
            data_dir / "flores200" / f"{code}.{split}",
            data_dir / "flores200" / split / f"{code}.{split}",
        ):
            if p.is_file():
                return read_lines(p)
        raise TandemError(f"FLORES file {code}.{split} not found under {data_dir / 'flores200'}; {DATA_HINT}")

    def load(data_dir: Path, explicit: str | None = None) -> list[Doc]:
        if explicit:  # a jsonl with src/tgt fields
            rows = read_jsonl(Path(explicit))
            return [
                {
                    "id": str(r.get("id", i)),
                    "src": need_text(r, "src", explicit),
                    "tgt": need_text(r, "tgt", explicit),
                }
                for i, r in enumerate(rows)
            ]
        s, t = read(data_dir, src, "devtest"), read(data_dir, tgt, "devtest")
        if len(s) != len(t):
            raise TandemError(f"FLORES {src} has {len(s)} lines but {tgt} has {len(t)}; they must be aligned")
        return [{"id": str(i), "src": a, "tgt": b} for i, (a, b) in enumerate(zip(s, t))]

    def metric(docs: list[Doc], preds: list[Any]) -> dict[str, float]:
        hyps, refs = [str(p) for p in preds], [d["tgt"] for d in docs]
        out = {"bleu": M.bleu(hyps, refs, tokenize=bleu_tok), "chrf++": M.chrf_pp(hyps, refs)}
        if spm_path:
            out["spbleu"] = M.spbleu(hyps, refs, spm_path)
        return out

    return Task(
        f"flores:{src}-{tgt}",
        "generate",
        load,
        prompt=lambda d: f"Sentence: {d['src']}; Translation in {tgt_name}:",
        target=lambda d: " " + d["tgt"],
        gold=lambda d: d["tgt"],
        metric=metric,
        stop=("\n",),
        max_new_tokens=128,
        primary="chrf++",
        description=f"FLORES-200 devtest {src} -> {tgt} (sacreBLEU BLEU tok:{bleu_tok}, chrF++; spBLEU with "
        "--flores-spm)",
        signatures=signatures,
    )


# ------------------------------------------------------------------------------------------------------ XNLI
_XNLI = ["entailment", "neutral", "contradiction"]


def _xnli_task(lang: str) -> Task:
    def load(data_dir: Path, explicit: str | None = None) -> list[Doc]:
        path = Path(explicit) if explicit else data_dir / "xnli" / f"dev-{lang}.tsv"
        if not path.is_file():
            if explicit:
                raise TandemError(f"{path}: file not found")
            rows = _hf_fallback(path, "facebook/xnli", lang, "validation")
            return [
                {
                    "id": str(i),
                    "premise": r["premise"],
                    "hypothesis": r["hypothesis"],
                    "label": _XNLI[r["label"]],
                }
                for i, r in enumerate(rows)
            ]
        out = []
        lines = read_lines(path)
        for i, row in enumerate(csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row:
                continue
            if len(row) > 3:  # the rest was ignored: a tab inside a sentence, or another file's layout
                raise TandemError(
                    f"{path} line {i}: {len(row)} tab-separated columns; expected 3, "
                    "premise<TAB>hypothesis<TAB>label (the XTREME XNLI layout)"
                )
            if len(row) < 3 or row[2] not in _XNLI:
                raise TandemError(
                    f"{path} line {i}: expected premise<TAB>hypothesis<TAB>label with label in {_XNLI}"
                )
            for col, name in ((0, "premise"), (1, "hypothesis")):
                if not row[col].strip():  # was a prompt with nothing to judge
                    raise TandemError(f"{path} line {i}: empty {name}; fill it in or remove the line")
            out.append({"id": str(i - 1), "premise": row[0], "hypothesis": row[1], "label": row[2]})
        return out

    return Task(
        f"xnli:{lang}",
        "rank",
        load,
        prompt=lambda d: f"{d['premise']} Question: {d['hypothesis']} True, False, or Neither? Answer:",
        target=lambda d: _NLI_VERBAL[d["label"]],
        gold=lambda d: d["label"],
        choices=lambda d: [_NLI_VERBAL[c] for c in _XNLI],
        choice_labels=lambda d: list(_XNLI),
        metric=lambda docs, p: _acc_metric(docs, p, lambda d: d["label"]),
        label_of=lambda d: d["label"],
        group_of=lambda d: d["premise"],
        description=f"XNLI dev {lang} (accuracy); demonstrations from the same split, never the query or "
        "another hypothesis of its premise",
    )


# --------------------------------------------------------------------------------------------- summarisation
def _summ_task(kind: str, lang: str) -> Task:
    def load(data_dir: Path, explicit: str | None = None) -> list[Doc]:
        if explicit:
            path = Path(explicit)
        elif kind == "xsum":
            path = data_dir / "xsum" / "test.jsonl"
        else:
            path = data_dir / "mlsum" / lang / "test.jsonl"
        if path.is_file():
            rows = read_jsonl(path)
        else:
            if explicit:
                raise TandemError(f"{path}: file not found")
            rows = (
                _hf_fallback(path, "EdinburghNLP/xsum", None, "test")
                if kind == "xsum"
                else _hf_fallback(path, "reciTAL/mlsum", lang, "test")
            )
        out = []
        for i, r in enumerate(rows):
            doc_field = "document" if "document" in r else "text"  # XSum: document; MLSum: text
            out.append(
                {
                    "id": str(r.get("id", r.get("url", i))),
                    "document": need_text(r, doc_field, str(path)),
                    "summary": need_text(r, "summary", str(path)),
                }
            )
        return out

    return Task(
        kind if kind == "xsum" else f"mlsum:{lang}",
        "generate",
        load,
        prompt=lambda d: f"{' '.join(d['document'].split())} Summary:",
        target=lambda d: " " + " ".join(d["summary"].split()),
        gold=lambda d: d["summary"],
        metric=lambda docs, p: M.rouge([str(x) for x in p], [d["summary"] for d in docs], lang=lang),
        max_new_tokens=64,
        primary="rougeL",
        description=f"{'XSum' if kind == 'xsum' else 'MLSum'} summarisation ({lang}; ROUGE-1/2/L/Lsum F)",
    )


# ------------------------------------------------------------------------------------------------------- SLU
def _slu_docs(examples: list[slu.SLUExample]) -> list[Doc]:
    return [
        {"id": e.id or str(i), "text": e.text, "tokens": e.tokens, "tags": e.tags, "intent": e.intent}
        for i, e in enumerate(examples)
    ]


def _slu_metric(docs: list[Doc], preds: list[Any]) -> dict[str, float]:
    gold = [slu.SLUExample(d["tokens"], d["tags"], d["intent"], text=d["text"]) for d in docs]
    parsed = [slu.parse_linearized(str(p)) for p in preds]
    return slu.slu_metrics(gold, [p[0] for p in parsed], [p[1] for p in parsed])


def _slu_task(
    name: str, loader: Callable[[Path, str | None], list[Doc]], train: Callable[[Path], list[Doc]] | None
) -> Task:
    return Task(
        name,
        "generate",
        loader,
        prompt=lambda d: f"Utterance: {' '.join(d['tokens'])} Parse:",
        target=lambda d: " " + slu.linearize(d["intent"], slu.slots_from_bio(d["tokens"], d["tags"])),
        gold=lambda d: slu.linearize(d["intent"], slu.slots_from_bio(d["tokens"], d["tags"])),
        metric=_slu_metric,
        load_train=train,
        label_of=lambda d: d["intent"],
        delimiter=" <br> ",
        stop=("<br>", "\n"),
        max_new_tokens=48,
        primary="exact_match",
        description=f"{name} SLU (intent accuracy, slot F1 over BIO spans, exact match)",
    )


def _slu_tasks(name: str, param: str | None) -> Task:
    if name == "snips":
        return _slu_task(
            "snips",
            lambda d, f=None: _slu_docs(slu.load_snips(Path(f) if f else _local(d / "snips" / "valid"))),
            lambda d: _slu_docs(slu.load_snips(_local(d / "snips" / "train"))),
        )
    if name in ("slurp", "massive"):
        default = "slurp/devel.jsonl" if name == "slurp" else f"massive/{param or 'en-US'}/test.jsonl"
        return _slu_task(
            name if not param else f"{name}:{param}",
            lambda d, f=None: _slu_docs(
                slu.load_slurp(
                    Path(f) if f else _local(d / default), locale=param if name == "massive" else None
                )
            ),
            None,
        )
    lang = param or "en"
    return _slu_task(
        f"xsid:{lang}",
        lambda d, f=None: _slu_docs(
            slu.load_xsid(Path(f) if f else _local(d / "xsid" / f"{lang}.valid.conll"))
        ),
        None,
    )


# ------------------------------------------------------------------------------------------------- registry
_SUPERGLUE = _superglue_tasks()
TASK_NAMES = [
    *_SUPERGLUE,
    "squad2",
    "flores:SRC-TGT",
    "xnli:LANG",
    "xsum",
    "mlsum:LANG",
    "snips",
    "slurp",
    "massive:LOCALE",
    "xsid:LANG",
]


def get_task(spec: str, flores_spm: str | None = None) -> tuple[Task, str | None]:
    """The task for a spec `name[:param][=file]`, plus the explicit file (None for the default location)."""
    spec = spec.strip()
    explicit = None
    if "=" in spec:
        spec, explicit = spec.split("=", 1)
        spec, explicit = spec.strip(), explicit.strip()
        if not explicit:
            raise TandemError(f"task spec {spec + '='!r}: no file after '='; give TASK=PATH or just TASK")
    name, _, param = spec.partition(":")
    name = name.lower()
    if name != "flores":  # a pair: each side on its own
        param = _lang_case(param)
    if name in _SUPERGLUE and not param:
        task = _SUPERGLUE[name]
    elif name == "squad2" and not param:
        task = _squad_task()
    elif name == "flores":
        task = _flores_task(param or "", flores_spm)
    elif name == "xnli":
        task = _xnli_task(param or "en")
    elif name == "xsum":
        task = _summ_task("xsum", "en")
    elif name == "mlsum":
        task = _summ_task("mlsum", param or "de")
    elif name in ("snips", "slurp", "massive", "xsid"):
        task = _slu_tasks(name, param or None)
    else:
        raise TandemError(f"unknown task {spec!r}; known tasks: {', '.join(TASK_NAMES)}")
    return task, explicit


def get_tasks(specs: str, flores_spm: str | None = None) -> list[tuple[Task, str | None]]:
    """The tasks of a comma-separated `--tasks` value; an error when it names none, or one task twice."""
    names = [s for s in specs.split(",") if s.strip()]
    if not names:
        raise TandemError(f"--tasks {specs!r} names no task; known tasks: {', '.join(TASK_NAMES)}")
    tasks = [get_task(s, flores_spm) for s in names]
    first: dict[str, str] = {}
    for spec, (task, _) in zip(names, tasks):
        # results are keyed by task name: metrics.json kept only the last of the two, and predictions.jsonl
        # held both under one name (scoring it again failed on the repeated ids)
        if task.name in first:
            raise TandemError(
                f"--tasks names task {task.name} twice ({first[task.name].strip()!r} and {spec.strip()!r}); "
                "results are kept by task name: evaluate the other file in a run of its own (its own --out)"
            )
        first[task.name] = spec
    return tasks


def with_name(task: Task, name: str) -> Task:
    return replace(task, name=name)
