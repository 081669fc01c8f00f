"""The embedded default corpus: seeded, synthetic, multilingual voice-assistant requests with their parses.

Everything here is produced by tandem's own templates (templates.py) and value tables (values.py); nothing
is downloaded or copied. One *frame* is a request (intent, template, slot values) rendered in every
language, so utterances of the same frame are translations of each other. Splits:

- train: training templates and training values;
- dev:   training templates and training values, frames not seen in train (when the space allows);
- test:  held-out templates and held-out values only, so test scores measure generalisation, not recall.

`write_corpus(dir)` lays the corpus out as files the normal verbs read:

    corpus.json                    what was generated (seed, languages, counts) and that it is synthetic
    text/{lang}.txt                pretraining documents, written form, one per line (train split only)
    text_spoken/{lang}.txt         the same documents in spoken form
    parse/{split}.jsonl            {"source": spoken utterance, "target": linearised parse, ...}
    massive/{split}.jsonl          the same in MASSIVE format (`utt`, `annot_utt` with [slot : value])
    translation/{split}/{src}-{tgt}.jsonl   {"source", "target"} written-form translation pairs
    fewshot/intent_{split}.jsonl   SuperGLUE-style items: utterance, choices (intent descriptions), label

and, so that `tandem evaluate --data-dir DIR` reads it with its standard loaders:

    massive/{locale}/{split}.jsonl              per-locale MASSIVE files (`--tasks massive:en-US`)
    superglue/rte/{train32,val}.jsonl           intent entailment: premise = utterance, hypothesis =
                                                "The speaker wants to <intent description>." (`--tasks rte`)
    superglue/boolq/{train32,val}.jsonl         the same as yes/no questions (`--tasks boolq`)
    flores200/{code}.{dev,devtest}              line-aligned written requests, dev and test splits
                                                (`--tasks flores:en-de`)

(val/devtest come from the test split; train32 holds 32 training-split demonstrations.)
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from tandem.errors import TandemError
from tandem.quickstart import values as V
from tandem.quickstart.templates import INTENTS, LANGS, POLITE, SLOT_TYPES

SPLITS: tuple[str, ...] = ("train", "dev", "test")
INTENT_NAMES: tuple[str, ...] = tuple(INTENTS)
DOMAINS: tuple[str, ...] = tuple(dict.fromkeys(spec["domain"] for spec in INTENTS.values()))
LOCALES = {
    "en": "en-US",
    "de": "de-DE",
    "fr": "fr-FR",
    "es": "es-ES",
    "it": "it-IT",
    "pt": "pt-BR",
    "hi": "hi-IN",
}
SYNTHETIC_NOTE = (
    "This is tandem's embedded default corpus: synthetic voice-assistant requests generated from templates "
    "and value lists written for tandem, not real user data. Scores on it show that the pipeline works; "
    "they say nothing about quality on real data."
)
_SLOT_RE = re.compile(r"\{(\w+)\}")
_POLITE_SHARE = 0.3
_FINAL_PUNCT = re.compile(r"\s*([?!.])$")


@dataclass(frozen=True)
class Utterance:
    """One request in one language. `slots` hold written values, `slots_spoken` their spoken form, both in
    order of appearance; `values` hold language-independent keys of the same values (for alignment)."""

    id: str
    frame: int
    lang: str
    domain: str
    intent: str
    template_id: str
    style: str
    split: str
    slots: tuple[tuple[str, str], ...]
    values: tuple[tuple[str, str], ...]
    written: str
    spoken: str | None
    slots_spoken: tuple[tuple[str, str], ...] | None
    parse: str | None
    parse_written: str

    @property
    def source(self) -> str:
        """The model input for parsing: the spoken form (what an ASR system gives), else the written."""
        return self.spoken if self.spoken is not None else self.written

    @property
    def target(self) -> str:
        """The linearised parse matching `source`."""
        return self.parse if self.parse is not None else self.parse_written


# ----------------------------------------------------------------------------------- optional pieces
@cache
def _spoken_fn() -> Callable[[str, str], str] | None:
    try:
        from tandem.spoken import to_spoken

        for lang in LANGS:
            to_spoken("1", lang)
    except Exception:  # noqa: BLE001 - without a working normaliser the corpus is written form only
        return None

    @cache
    def cached(text: str, lang: str) -> str:
        return " ".join(to_spoken(text, lang).split())

    return cached


def spoken_available() -> bool:
    """Whether `tandem.spoken.to_spoken` is importable (the corpus then has spoken forms)."""
    return _spoken_fn() is not None


def _linearize(intent: str, slots: Iterable[tuple[str, str]]) -> str:
    from tandem.slu import linearize

    return linearize(intent, list(slots))


# ------------------------------------------------------------------------------------------ templates
def template_id(intent: str, split_part: str, k: int) -> str:
    """Stable id of template k of an intent's 'train' or 'test' list, e.g. 'alarm_set/test0'."""
    return f"{intent}/{split_part}{k}"


def _template_slots(text: str) -> list[str]:
    return _SLOT_RE.findall(text)


def check_templates(langs: Sequence[str] = LANGS) -> None:
    """Raise TandemError if a template is missing a language or its slots differ across languages."""
    for intent, spec in INTENTS.items():
        for part in ("train", "test"):
            for k, tpl in enumerate(spec[part]):
                tid = template_id(intent, part, k)
                missing = [lang for lang in langs if lang not in tpl]
                if missing:
                    raise TandemError(f"quickstart template {tid}: no text for languages {missing}")
                ref = sorted(_template_slots(tpl[langs[0]]))
                for lang in langs:
                    got = _template_slots(tpl[lang])
                    if sorted(got) != ref:
                        raise TandemError(f"quickstart template {tid} [{lang}]: slots {got}, expected {ref}")
                    unknown = [s for s in got if s not in SLOT_TYPES]
                    if unknown:
                        raise TandemError(f"quickstart template {tid} [{lang}]: unknown slots {unknown}")


def _apply_style(text: str, style: str, lang: str) -> str:
    if style == "plain":
        return text
    m = _FINAL_PUNCT.search(text)
    body = text[: m.start()] if m else text
    tail = text[m.start() :] if m else ""
    return POLITE[lang].format(body) + tail


# ------------------------------------------------------------------------------------------ rendering
def _render(
    frame: int, lang: str, split: str, intent: str, tid: str, style: str, text: str, chosen: dict[str, int]
) -> Utterance:
    text = _apply_style(text, style, lang)
    parts = _SLOT_RE.split(text)  # literal, slot, literal, slot, ..., literal
    sp = _spoken_fn()
    written_parts, spoken_parts = [], []
    slots, slots_spoken, keys = [], [], []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            written_parts.append(part)
            if sp is not None:
                spoken_parts.append(sp(part, lang))
            continue
        pool, idx = SLOT_TYPES[part], chosen[part]
        value = V.render(pool, idx, lang)
        written_parts.append(value)
        slots.append((part, value))
        keys.append((part, V.value_key(pool, idx)))
        if sp is not None:
            # Each value is converted on its own, so its spoken form is exactly the span in the utterance.
            sv = sp(value, lang)
            spoken_parts.append(sv)
            slots_spoken.append((part, sv))
    written = "".join(written_parts)
    spoken = " ".join(" ".join(spoken_parts).split()) if sp is not None else None
    spec = INTENTS[intent]
    return Utterance(
        id=f"{frame:06d}-{lang}",
        frame=frame,
        lang=lang,
        domain=spec["domain"],
        intent=intent,
        template_id=tid,
        style=style,
        split=split,
        slots=tuple(slots),
        values=tuple(keys),
        written=written,
        spoken=spoken,
        slots_spoken=tuple(slots_spoken) if sp is not None else None,
        parse=_linearize(intent, slots_spoken) if sp is not None else None,
        parse_written=_linearize(intent, slots),
    )


def _choose_values(rng: random.Random, slot_names: Sequence[str], split: str) -> dict[str, int]:
    chosen: dict[str, int] = {}
    used: dict[str, set[int]] = {}
    for slot in slot_names:
        pool = SLOT_TYPES[slot]
        options = [i for i in V.indices(pool, split) if i not in used.get(pool, ())]
        idx = rng.choice(options)  # two slots of one type (from_city, to_city) get different values
        chosen[slot] = idx
        used.setdefault(pool, set()).add(idx)
    return chosen


def split_sizes(n: int, fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> dict[str, int]:
    """Frames per split for `n` frames; dev and test get at least one frame per intent when n allows."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise TandemError(
            f"split fractions {list(fractions)}: give three non-negative numbers (train, dev, test)"
        )
    total = sum(fractions)
    dev = round(n * fractions[1] / total)
    test = round(n * fractions[2] / total)
    return {"train": n - dev - test, "dev": dev, "test": test}


def generate_corpus(
    n: int = 2000,
    langs: Sequence[str] = LANGS,
    seed: int = 0,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
) -> list[Utterance]:
    """`n` frames, each rendered in every language of `langs`: n * len(langs) utterances, ordered by frame
    then language. Intents are spread evenly over each split (counts per intent differ by at most one)."""
    langs = list(dict.fromkeys(langs))
    bad = [lang for lang in langs if lang not in LANGS]
    if bad:
        raise TandemError(f"quickstart corpus: languages {bad} not available; choose from {', '.join(LANGS)}")
    if not langs:
        raise TandemError("quickstart corpus: give at least one language")
    if n < 1:
        raise TandemError(f"quickstart corpus: n={n}; give at least 1 frame")
    check_templates(langs)
    rng = random.Random(seed)
    out: list[Utterance] = []
    seen: set[tuple] = set()
    frame = 0
    for split, count in split_sizes(n, fractions).items():
        part = "test" if split == "test" else "train"
        for j in range(count):
            intent = INTENT_NAMES[j % len(INTENT_NAMES)]
            templates = INTENTS[intent][part]
            # look for a frame not generated before (always found unless the space is tiny)
            for _ in range(50):
                k = rng.randrange(len(templates))
                style = "polite" if rng.random() < _POLITE_SHARE else "plain"
                slot_names = _template_slots(templates[k][langs[0]])
                chosen = _choose_values(rng, slot_names, split)
                key = (intent, part, k, style, tuple(sorted(chosen.items())))
                if key not in seen:
                    break
            seen.add(key)
            tid = template_id(intent, part, k)
            for lang in langs:
                out.append(_render(frame, lang, split, intent, tid, style, templates[k][lang], chosen))
            frame += 1
    return out


# ------------------------------------------------------------------------------------------- writing
def _write_jsonl(path: Path, rows: Iterable[dict]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def _annotate(u: Utterance) -> str:
    """MASSIVE-style annotation of the source: slot spans as `[slot : value]`."""
    slots = u.slots_spoken if u.spoken is not None else u.slots
    text, out = u.source, []
    pos = 0
    for slot, value in slots:
        # the value as whole words: "vier" (four) is also the end of German "reservier"
        m = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)").search(text, pos) if value else None
        if m is None:
            continue  # a value the normaliser merged into its context: keep the text unannotated
        at = m.start()
        out.append(text[pos:at])
        out.append(f"[{slot} : {value}]")
        pos = at + len(value)
    out.append(text[pos:])
    return "".join(out)


def describe(intent: str) -> str:
    """The verbalised label of an intent (the choice text of the few-shot classification items)."""
    return INTENTS[intent]["description"]


def fewshot_items(utterances: Sequence[Utterance], seed: int = 0, n_choices: int = 4) -> list[dict]:
    """SuperGLUE-style intent classification items: the utterance, `n_choices` intent descriptions
    (the gold one and distractors from other intents, in a seeded order) and the gold index."""
    items = []
    for u in utterances:
        rng = random.Random(f"{seed}/{u.id}")
        others = [i for i in INTENT_NAMES if i != u.intent]
        picked = [u.intent, *rng.sample(others, min(n_choices - 1, len(others)))]
        rng.shuffle(picked)
        items.append(
            {
                "idx": u.id,
                "lang": u.lang,
                "utterance": u.source,
                "choices": [describe(i) for i in picked],
                "label": picked.index(u.intent),
                "intent": u.intent,
            }
        )
    return items


FLORES_CODES = {
    "en": "eng_Latn",
    "de": "deu_Latn",
    "fr": "fra_Latn",
    "es": "spa_Latn",
    "it": "ita_Latn",
    "pt": "por_Latn",
    "hi": "hin_Deva",
}


def entailment_items(utterances: Sequence[Utterance], seed: int = 0) -> list[dict]:
    """Intent classification as RTE/BoolQ-style yes/no items, half of them true: the premise (passage) is
    the utterance, the hypothesis names the gold intent or a random other one."""
    items = []
    for u in utterances:
        rng = random.Random(f"{seed}/nli/{u.id}")
        true = rng.random() < 0.5
        intent = u.intent if true else rng.choice([i for i in INTENT_NAMES if i != u.intent])
        items.append(
            {
                "idx": u.id,
                "lang": u.lang,
                "premise": u.source,
                "hypothesis": f"The speaker wants to {describe(intent)}.",
                "label": "entailment" if true else "not_entailment",
                "passage": u.source,
                "question": f"does the speaker want to {describe(intent)}",
                "answer": true,
            }
        )
    return items


def _demonstrations(utterances: Sequence[Utterance], k: int, seed: int) -> list[Utterance]:
    pool = [u for u in utterances if u.split == "train"]
    return random.Random(f"{seed}/demos").sample(pool, min(k, len(pool)))


def pretraining_documents(
    utterances: Sequence[Utterance], lang: str, doc_size: int = 6, seed: int = 0, spoken: bool = False
) -> list[str]:
    """Documents of `doc_size` training-split requests each (a 'session'), written or spoken form."""
    pool = [u for u in utterances if u.lang == lang and u.split == "train"]
    random.Random(f"{seed}/docs/{lang}").shuffle(pool)
    texts = [(u.spoken if spoken else u.written) or u.written for u in pool]
    return [" ".join(texts[i : i + doc_size]) for i in range(0, len(texts), doc_size)]


def write_corpus(
    out_dir: str | Path,
    utterances: Sequence[Utterance] | None = None,
    *,
    n: int = 2000,
    langs: Sequence[str] = LANGS,
    seed: int = 0,
    doc_size: int = 6,
) -> dict:
    """Write the corpus files (see the module docstring) under `out_dir`; returns the manifest that is
    also written to corpus.json. Generates `n` frames unless `utterances` are given."""
    out = Path(out_dir)
    if utterances is None:
        utterances = generate_corpus(n, langs, seed)
    langs = list(dict.fromkeys(u.lang for u in utterances))
    out.mkdir(parents=True, exist_ok=True)
    counts: dict = {
        "utterances": {},
        "documents": {},
        "parse": {},
        "translation": {},
        "fewshot": {},
        "entailment": {},
    }
    for lang in langs:
        docs = pretraining_documents(utterances, lang, doc_size, seed)
        (out / "text").mkdir(exist_ok=True)
        (out / "text" / f"{lang}.txt").write_text("\n".join(docs) + "\n", encoding="utf-8")
        if spoken_available():
            sdocs = pretraining_documents(utterances, lang, doc_size, seed, spoken=True)
            (out / "text_spoken").mkdir(exist_ok=True)
            (out / "text_spoken" / f"{lang}.txt").write_text("\n".join(sdocs) + "\n", encoding="utf-8")
        counts["documents"][lang] = len(docs)
    by_frame: dict[int, dict[str, Utterance]] = {}
    for u in utterances:
        by_frame.setdefault(u.frame, {})[u.lang] = u
    pivot = "en" if "en" in langs else langs[0]
    for split in SPLITS:
        rows = [u for u in utterances if u.split == split]
        counts["utterances"][split] = len(rows)
        counts["parse"][split] = _write_jsonl(
            out / "parse" / f"{split}.jsonl",
            (
                {
                    "id": u.id,
                    "lang": u.lang,
                    "source": u.source,
                    "target": u.target,
                    "written": u.written,
                    "parse_written": u.parse_written,
                    "intent": u.intent,
                    "domain": u.domain,
                    "template_id": u.template_id,
                }
                for u in rows
            ),
        )
        _write_jsonl(
            out / "massive" / f"{split}.jsonl",
            (
                {
                    "id": u.id,
                    "locale": LOCALES[u.lang],
                    "partition": split,
                    "scenario": u.domain,
                    "intent": u.intent,
                    "utt": u.source,
                    "annot_utt": _annotate(u),
                }
                for u in rows
            ),
        )
        for tgt in langs:
            if tgt == pivot:
                continue
            pairs = [
                {"id": f"{f:06d}", "source": by[pivot].written, "target": by[tgt].written}
                for f, by in sorted(by_frame.items())
                if pivot in by and tgt in by and by[pivot].split == split
            ]
            key = f"{split}/{pivot}-{tgt}"
            counts["translation"][key] = _write_jsonl(
                out / "translation" / split / f"{pivot}-{tgt}.jsonl", pairs
            )
        for lang in langs:
            _write_jsonl(
                out / "massive" / LOCALES[lang] / f"{split}.jsonl",
                (
                    {
                        "id": u.id,
                        "locale": LOCALES[u.lang],
                        "partition": split,
                        "scenario": u.domain,
                        "intent": u.intent,
                        "utt": u.source,
                        "annot_utt": _annotate(u),
                    }  # fmt: skip
                    for u in rows
                    if u.lang == lang
                ),
            )
            if split != "train":
                frames = sorted({u.frame for u in rows})
                texts = {(u.frame, u.lang): u.written for u in rows}
                name = "devtest" if split == "test" else "dev"
                (out / "flores200").mkdir(exist_ok=True)
                (out / "flores200" / f"{FLORES_CODES[lang]}.{name}").write_text(
                    "".join(texts[(f, lang)] + "\n" for f in frames), encoding="utf-8"
                )
        if split in ("train", "test"):
            items = entailment_items(
                _demonstrations(utterances, 32, seed) if split == "train" else rows, seed
            )
            name = "train32" if split == "train" else "val"
            for task in ("rte", "boolq"):
                keep = ("premise", "hypothesis", "label") if task == "rte" else ("passage", "question")
                _write_jsonl(
                    out / "superglue" / task / f"{name}.jsonl",
                    (
                        {
                            "idx": it["idx"],
                            **{k: it[k] for k in keep},
                            **({"label": it["answer"]} if task == "boolq" else {}),
                        }
                        for it in items
                    ),
                )
            counts["entailment"][split] = len(items)
        counts["fewshot"][split] = _write_jsonl(
            out / "fewshot" / f"intent_{split}.jsonl", fewshot_items(rows, seed)
        )
    manifest = {
        "name": "tandem-quickstart-default",
        "synthetic": True,
        "note": SYNTHETIC_NOTE,
        "seed": seed,
        "frames": len(by_frame),
        "languages": langs,
        "spoken_form": spoken_available(),
        "domains": list(DOMAINS),
        "intents": list(INTENT_NAMES),
        "counts": counts,
        "held_out": "test uses only held-out templates and held-out slot values (a quarter of each value list)",
    }
    (out / "corpus.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest


def as_dict(u: Utterance) -> dict:
    """A JSON-ready dict of one utterance."""
    return asdict(u)
