"""Spoken-language understanding (intent + slots): one format shared by fine-tuning, evaluation, edge and serving.

A seq2seq model reads an utterance and writes a linearised target (Alexa NLU style)::

    intent_name ; slot_a = value a ; slot_b = value b

Values (and names) that contain the separators are escaped with a backslash (`\\;`, `\\=`, `\\\\`), so
`parse_linearized(linearize(i, s)) == (i, s)` for whitespace-normalised strings. `parse_linearized` accepts
whatever a model writes and never raises.

Slots are also carried as BIO tags over whitespace tokens; spans follow conlleval semantics (a chunk is an
exact (type, start, end) match; an `I-X` that does not continue an `X` chunk starts a new one). All metrics
are on a 0-100 scale. This module is torch-free.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tandem.errors import TandemError
from tandem.jsonl import iter_jsonl, read_json, read_lines

Span = tuple[str, int, int]  # (slot type, start token, end token exclusive)
SlotPair = tuple[str, str]  # (slot type, value text)

FIELD_SEP = ";"
VALUE_SEP = "="
_ESCAPES = {"\\": "\\\\", FIELD_SEP: "\\" + FIELD_SEP, VALUE_SEP: "\\" + VALUE_SEP}


# --------------------------------------------------------------------------------------------- linearisation
def _escape(s: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in " ".join(str(s).split()))


def _split_unescaped(text: str, sep: str, maxsplit: int = -1) -> list[str]:
    """Split on `sep` where it is not preceded by an escaping backslash; keeps escapes in the pieces."""
    parts, cur, i, n = [], [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            cur.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep and (maxsplit < 0 or len(parts) < maxsplit):
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return " ".join("".join(out).split())


def linearize(intent: str, slots: Iterable[SlotPair]) -> str:
    """Seq2seq target for an utterance: `intent ; slot = value ; ...` (slots in the given order)."""
    parts = [_escape(intent)]
    for name, value in slots:
        parts.append(f"{_escape(name)} {VALUE_SEP} {_escape(value)}")
    return f" {FIELD_SEP} ".join(parts)


def parse_linearized(text: str) -> tuple[str, list[SlotPair]]:
    """Read `intent ; slot = value ; ...` back; tolerant of any model output (never raises).

    Fields without `=` after the first, or with an empty slot name or value, are dropped; a missing intent
    is returned as "".
    """
    try:
        text = "" if text is None else str(text)
        # Generations sometimes run on past a newline or the EOS; the first line holds the parse.
        text = text.strip().split("\n", 1)[0]
        fields = _split_unescaped(text, FIELD_SEP)
        intent = _unescape(fields[0]) if fields else ""
        slots: list[SlotPair] = []
        for f in fields[1:]:
            kv = _split_unescaped(f, VALUE_SEP, maxsplit=1)
            if len(kv) != 2:
                continue
            name, value = _unescape(kv[0]), _unescape(kv[1])
            if name and value:
                slots.append((name, value))
        return intent, slots
    except Exception:  # a parser for model output must not take an evaluation run down
        return "", []


# ------------------------------------------------------------------------------------------------ BIO / spans
def _split_tag(tag: str) -> tuple[str, str]:
    """conlleval's split: 'B-X' -> ('B', 'X'); 'O' -> ('O', ''); a bare 'X' is treated as 'I-X'."""
    if tag in ("O", "", "."):
        return "O", ""
    if len(tag) > 2 and tag[1] in "-_" and tag[0] in "BIESbies":
        return tag[0].upper(), tag[2:]
    return "I", tag


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, typ: str) -> bool:
    if prev_tag == "O":
        return False
    if prev_tag in ("E", "S"):
        return True
    if tag in ("B", "S", "O"):
        return True
    return prev_type != typ


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, typ: str) -> bool:
    if tag == "O":
        return False
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O"):
        return True
    return prev_type != typ


def bio_to_spans(tokens: Sequence[str] | None, tags: Sequence[str]) -> list[Span]:
    """Chunks of a BIO (or IOBES) tag sequence as (type, start, end) with end exclusive, conlleval rules.

    `tokens` is only checked for length (pass None to skip the check).
    """
    if tokens is not None and len(tokens) != len(tags):
        raise TandemError(
            f"bio_to_spans: {len(tokens)} tokens but {len(tags)} tags; they must align one to one"
        )
    spans: list[Span] = []
    prev_tag, prev_type, start = "O", "", None
    for i, raw in enumerate(tags):
        tag, typ = _split_tag(raw)
        if start is not None and _end_of_chunk(prev_tag, tag, prev_type, typ):
            spans.append((prev_type, start, i))
            start = None
        if _start_of_chunk(prev_tag, tag, prev_type, typ):
            start = i
        prev_tag, prev_type = tag, typ
    if start is not None:
        spans.append((prev_type, start, len(tags)))
    return spans


def _norm_tok(t: str) -> str:
    return t.casefold()


def align_slots(
    tokens: Sequence[str], slots: Iterable[SlotPair], ignore_case: bool = False
) -> tuple[list[Span], list[SlotPair]]:
    """Place (slot, value) pairs on the utterance tokens: each value's tokens are matched exactly (with
    `ignore_case`, then also case-insensitively) at the first position not already used at or after the end
    of the previous pair's span, else at the first unused position before it.

    Searching on from the previous span follows the order `linearize` writes slots in (utterance order), so a
    value that also occurs earlier as an unlabelled token is not put there: in SNIPS' "... in bastian in"
    (city = bastian ; state = in) the state is the last "in", not the first.

    Returns (spans, unaligned pairs). Unaligned pairs are values that do not occur in the utterance (a model
    hallucinated, paraphrased or re-cased them). `slu_metrics` does not place pairs: it matches them to the
    gold spans by slot and exact value, as the official metrics compare (conlleval and xSID's nluEval: spans
    of the utterance's own tokens; SLURP's span F1: filler strings with `==`; xSID keeps the original casing,
    so a value written `berlin` for `Berlin` is not the gold span).
    """
    used = [False] * len(tokens)
    spans: list[Span] = []
    missing: list[SlotPair] = []
    keys = (lambda t: t, _norm_tok) if ignore_case else (lambda t: t,)
    cursor = 0  # end of the previous aligned span
    for name, value in slots:
        vt = str(value).split()
        hit = None
        if vt:
            last = len(tokens) - len(vt) + 1
            starts = [*range(min(cursor, max(last, 0)), last), *range(0, min(cursor, last))]
            for key in keys:
                want = [key(t) for t in vt]
                for s in starts:
                    if any(used[s : s + len(vt)]):
                        continue
                    if [key(t) for t in tokens[s : s + len(vt)]] == want:
                        hit = s
                        break
                if hit is not None:
                    break
        if hit is None:
            missing.append((name, value))
            continue
        for j in range(hit, hit + len(vt)):
            used[j] = True
        spans.append((name, hit, hit + len(vt)))
        cursor = hit + len(vt)
    spans.sort(key=lambda s: (s[1], s[2]))
    return spans, missing


def spans_to_bio(
    tokens: Sequence[str], spans: Iterable[Span | SlotPair], ignore_case: bool = False
) -> list[str]:
    """BIO tags for `tokens` from (type, start, end) spans, or from (slot, value) pairs aligned to the tokens
    (`align_slots`: exactly, or also case-insensitively with `ignore_case`).

    Overlapping spans: the earlier one wins; pairs whose value is not in the utterance are skipped.
    """
    spans = list(spans)
    if spans and len(spans[0]) == 2:
        spans, _ = align_slots(tokens, spans, ignore_case)  # type: ignore[arg-type]
    tags = ["O"] * len(tokens)
    for typ, start, end in spans:  # type: ignore[misc]
        if not (0 <= start < end <= len(tokens)):
            raise TandemError(f"spans_to_bio: span ({typ}, {start}, {end}) outside 0..{len(tokens)} tokens")
        if any(t != "O" for t in tags[start:end]):
            continue
        tags[start] = f"B-{typ}"
        for j in range(start + 1, end):
            tags[j] = f"I-{typ}"
    return tags


def slots_from_bio(tokens: Sequence[str], tags: Sequence[str], joiner: str = " ") -> list[SlotPair]:
    """(slot, value) pairs in utterance order; a value is its tokens joined by `joiner`."""
    return [(typ, joiner.join(tokens[s:e])) for typ, s, e in bio_to_spans(tokens, tags)]


# ---------------------------------------------------------------------------------------------------- examples
@dataclass
class SLUExample:
    """One utterance with its intent and BIO slot tags over whitespace tokens."""

    tokens: list[str]
    tags: list[str]
    intent: str
    text: str = ""
    id: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.text:
            self.text = " ".join(self.tokens)
        # as `linearize` writes it and `parse_linearized` reads it back: a SLURP intent "alarm_set " was never
        # matched, not even by its own target
        self.intent = " ".join(str(self.intent).split())

    @property
    def slots(self) -> list[SlotPair]:
        return slots_from_bio(self.tokens, self.tags)

    @property
    def spans(self) -> list[Span]:
        return bio_to_spans(self.tokens, self.tags)

    @property
    def target(self) -> str:
        """The linearised seq2seq target."""
        return linearize(self.intent, self.slots)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "text": self.text,
            "tokens": self.tokens,
            "tags": self.tags,
            "intent": self.intent,
        }


def _tag_problem(tag: str) -> str | None:
    """What is wrong with a data file's slot tag, None for `O` or a prefixed tag with a slot name (`B-x`,
    `I-x`, IOBES `E-x`/`S-x`, the forms `_split_tag` reads, also `b-x` and `B_x`). conlleval reads anything
    else as a bare slot name, so `X-time` or `ZZZ` (a typo, another column) was a slot of that name; `B-` was
    one named `B-`. An `I-x` after `O` or another slot is a valid tag: it starts a chunk, as in conlleval."""
    if tag == "O":
        return None
    if len(tag) >= 2 and tag[1] in "-_" and tag[0] in "BIESbies":
        return None if len(tag) > 2 else f"tag {tag!r} has no slot name; write B-<slot>, I-<slot> or O"
    return f"tag {tag!r} is not a BIO tag; write B-<slot>, I-<slot> or O"


def load_snips(path: str | Path, split: str | None = None) -> list[SLUExample]:
    """SNIPS/ATIS (MiuLab format): a folder with `seq.in` (tokens), `seq.out` (BIO tags) and `label` (intent).

    `path` is that folder, or its parent with `split` naming the subfolder (train/valid/test).
    """
    d = Path(path) / split if split else Path(path)
    src, tgt, lab = (read_lines(d / n) for n in ("seq.in", "seq.out", "label"))
    # A trailing empty line is common, in any of the files (label's was refused as misaligned) or in all three
    # (was an "empty utterance" error); anything else misaligned is an error.
    files = (src, tgt, lab)
    while all(f and not f[-1].strip() for f in files):
        for f in files:
            f.pop()
    shortest = min(map(len, files))
    for f in files:
        while len(f) > shortest and not f[-1].strip():
            f.pop()
    if not (len(src) == len(tgt) == len(lab)):
        raise TandemError(
            f"{d}: seq.in has {len(src)} lines, seq.out {len(tgt)}, label {len(lab)}; they must be line-aligned"
        )
    out = []
    for i, (s, t, lbl) in enumerate(zip(src, tgt, lab), 1):
        toks, tags = s.split(), t.split()
        if len(toks) != len(tags):
            raise TandemError(
                f"{d / 'seq.out'} line {i}: {len(tags)} tags for {len(toks)} tokens in seq.in; fix the line"
            )
        if not toks:
            raise TandemError(
                f"{d / 'seq.in'} line {i}: empty utterance; remove the line from all three files"
            )
        if not lbl.strip():
            raise TandemError(f"{d / 'label'} line {i}: no intent; give the line its intent label")
        bad = next((why for why in map(_tag_problem, tags) if why), None)
        if bad:
            raise TandemError(f"{d / 'seq.out'} line {i}: {bad}")
        out.append(SLUExample(toks, tags, lbl.strip(), id=str(i - 1)))
    return out


_ANNOT = re.compile(r"\[\s*([^\[\]:]+?)\s*:\s*([^\[\]]*?)\s*\]")


def parse_bracket_annotation(annot: str) -> tuple[list[str], list[str]]:
    """Tokens and BIO tags from a SLURP/MASSIVE `[slot : value]` annotated utterance.

    Text glued to a bracket (`[person : robert],`) becomes its own token so slot values stay exact.
    """
    tokens: list[str] = []
    tags: list[str] = []
    pos = 0
    for m in _ANNOT.finditer(annot):
        for t in annot[pos : m.start()].split():
            tokens.append(t)
            tags.append("O")
        slot, value = m.group(1).strip(), m.group(2).split()
        for j, t in enumerate(value):
            tokens.append(t)
            tags.append(("B-" if j == 0 else "I-") + slot)
        pos = m.end()
    for t in annot[pos:].split():
        tokens.append(t)
        tags.append("O")
    return tokens, tags


def _slurp_release_tags(obj: dict, where: str) -> tuple[list[str], list[str]]:
    """Tokens and BIO tags of a SLURP release row from its `tokens` (their `surface`s) and `entities` (`type`,
    `span`: token indices), the gold that SLURP's own evaluation (scripts/evaluation/util.py) scores: an
    entity's filler is its tokens' surfaces, lower-cased, joined by spaces, so `[date : Today's]` is `today 's`."""
    toks, ents = obj["tokens"], obj["entities"]
    if not isinstance(toks, list) or not all(
        isinstance(t, dict) and isinstance(t.get("surface"), str) for t in toks
    ):
        raise TandemError(f"{where}: field 'tokens' must be a list of {{\"surface\": ...}} objects")
    tokens = [t["surface"] for t in toks]
    tags = ["O"] * len(tokens)
    if not isinstance(ents, list):
        raise TandemError(f"{where}: field 'entities' must be a list, got {json.dumps(ents)[:60]}")
    for e in ents:
        span = e.get("span") if isinstance(e, dict) else None
        typ = e.get("type") if isinstance(e, dict) else None
        if (
            not isinstance(typ, str)
            or not typ.strip()
            or not isinstance(span, list)
            or not span
            # an index that is no integer ("4", 4.0, null) failed with a TypeError traceback below
            or not all(isinstance(j, int) and not isinstance(j, bool) for j in span)
        ):
            raise TandemError(
                f"{where}: entity {json.dumps(e)[:60]} needs a 'type' and a non-empty 'span' list of "
                "token indices (integers)"
            )
        if span != list(range(span[0], span[0] + len(span))) or not 0 <= span[0] <= span[-1] < len(tokens):
            raise TandemError(
                f"{where}: entity span {span} is not consecutive indices of its {len(tokens)} tokens; fix the row"
            )
        if any(tags[j] != "O" for j in span):
            raise TandemError(f"{where}: entity span {span} overlaps another entity; fix the row")
        for k, j in enumerate(span):
            tags[j] = ("B-" if k == 0 else "I-") + typ.strip()
            tokens[j] = tokens[j].lower()  # the official filler is lower-cased (`Friday` is `friday`)
    return tokens, tags


def load_slurp(path: str | Path, locale: str | None = None) -> list[SLUExample]:
    """SLURP (`sentence_annotation`, `intent`) or MASSIVE (`annot_utt`, `intent`, `locale`) jsonl.

    A SLURP release row (with `tokens` and `entities`) takes its tokens and slots from those, as SLURP's
    official evaluation does (`_slurp_release_tags`); its `sentence_annotation` splits some of them otherwise
    (`[date : today's]` is the slot `today's` there, `today 's` in `entities`). Other rows are read from the
    bracket annotation. `locale` keeps only MASSIVE rows of that locale (e.g. "en-US").
    """
    p = Path(path)
    out = []
    for i, obj in iter_jsonl(p):
        if locale and obj.get("locale", locale) != locale:
            continue
        key = "sentence_annotation" if "sentence_annotation" in obj else "annot_utt"  # SLURP's, MASSIVE's
        annot = obj.get(key)
        if annot is None:
            raise TandemError(
                f"{p} line {i}: field 'sentence_annotation' (SLURP) or 'annot_utt' (MASSIVE) missing"
            )
        if not isinstance(annot, str):  # a number or a list was read as its str(), the utterance "5"
            raise TandemError(f"{p} line {i}: field {key!r} must be a string, got {json.dumps(annot)[:60]}")
        intent = obj.get("intent")
        if intent is None:
            raise TandemError(f"{p} line {i}: field 'intent' missing")
        if isinstance(intent, int) and not isinstance(intent, bool):  # MASSIVE on the HF hub: class ids
            intent = str(intent)
        if not isinstance(intent, str) or not intent.strip():
            raise TandemError(
                f"{p} line {i}: field 'intent' must be a non-empty string (or a class id), got "
                f"{json.dumps(intent)[:60]}"
            )
        if "tokens" in obj and "entities" in obj:  # SLURP's release: the spans its official scorer reads
            tokens, tags = _slurp_release_tags(obj, f"{p} line {i}")
        else:
            tokens, tags = parse_bracket_annotation(annot)
        if not tokens:  # as SNIPS: nothing to parse or to train on
            raise TandemError(f"{p} line {i}: field {key!r} is empty; remove the line")
        text = obj.get("sentence", obj.get("utt", " ".join(tokens)))
        if not isinstance(text, str):
            key = "sentence" if "sentence" in obj else "utt"
            raise TandemError(f"{p} line {i}: field {key!r} must be a string, got {json.dumps(text)[:60]}")
        ex_id = str(obj.get("slurp_id", obj.get("id", i - 1)))
        meta = {k: obj[k] for k in ("scenario", "locale") if k in obj}
        out.append(SLUExample(tokens, tags, str(intent), text=text, id=ex_id, meta=meta))
    return out


_XSID_KEYS = ("id", "text", "intent")  # the sentence comments load_xsid reads


def load_xsid(path: str | Path) -> list[SLUExample]:
    """xSID CoNLL: `# text = ...`, `# intent = ...` comments, then `idx<TAB>token<TAB>intent<TAB>tag` rows.

    A tag that is not `O` or `B-`/`I-` with a slot name, a row with other than 4 columns, a row's intent that
    is not its sentence's (an empty intent column is allowed), a second `# id`, `# text` or `# intent`
    comment in one sentence, or a sentence's comments with no token rows after them, is an error naming the
    line."""
    p = Path(path)
    out: list[SLUExample] = []
    toks: list[str] = []
    tags: list[str] = []
    meta: dict[str, str] = {}
    meta_line: dict[str, int] = {}  # where each of `meta` was read
    start_line = 1

    def flush() -> None:
        if not toks and ("text" in meta or "intent" in meta):  # was dropped without a word
            raise TandemError(
                f"{p} line {start_line}: sentence with '# text' or '# intent' comments but no token lines; "
                "add its id<TAB>token<TAB>intent<TAB>tag lines or remove the comments"
            )
        if toks:
            intent = meta.get("intent")
            if intent is None:
                raise TandemError(f"{p} line {start_line}: sentence without a '# intent = ' comment")
            if not intent.strip():  # as a SNIPS label line: an intent the model would learn to write as ""
                raise TandemError(
                    f"{p} line {start_line}: sentence with an empty intent; give it one ('# intent = ' comment "
                    "or the third column)"
                )
            out.append(
                SLUExample(
                    list(toks),
                    list(tags),
                    intent,
                    text=meta.get("text", ""),
                    id=meta.get("id", str(len(out))),
                )
            )
        toks.clear()
        tags.clear()
        meta.clear()
        meta_line.clear()

    for i, line in enumerate(read_lines(p), 1):
        if not line.strip():
            flush()
            start_line = i + 1
            continue
        if line.startswith("#"):
            if toks:  # a comment after tokens starts a new sentence (missing blank line)
                flush()
                start_line = i
            m = re.match(r"#\s*([\w-]+)\s*[=:]\s?(.*)$", line)
            if m:
                key = m.group(1)
                if key in _XSID_KEYS and key in meta_line:  # the second silently replaced the first
                    raise TandemError(
                        f"{p} line {i}: a second '# {key}' comment in one sentence (the first on line "
                        f"{meta_line[key]}); keep one, or separate the sentences with a blank line"
                    )
                meta[key] = m.group(2).strip()
                meta_line[key] = i
            continue
        cols = line.split("\t")
        if len(cols) != 4:  # a fifth column was ignored without a word
            raise TandemError(
                f"{p} line {i}: expected 4 tab-separated columns (id, token, intent, tag), got {len(cols)}"
            )
        tag = cols[3].strip()
        bad = _tag_problem(tag)
        if bad:
            raise TandemError(f"{p} line {i}: {bad}")
        toks.append(cols[1])
        tags.append(tag)
        row_intent = cols[2].strip()
        if "intent" not in meta:
            meta["intent"] = row_intent
            meta_line["intent"] = i
        elif row_intent and meta["intent"] and row_intent != meta["intent"]:  # was ignored
            raise TandemError(
                f"{p} line {i}: intent column {row_intent!r} disagrees with the sentence's intent "
                f"{meta['intent']!r} (line {meta_line['intent']}); one sentence has one intent"
            )
    flush()
    return out


def load_slu(path: str | Path, split: str | None = None) -> list[SLUExample]:
    """Any supported SLU format, detected from the path: SNIPS folder, SLURP/MASSIVE jsonl or xSID CoNLL."""
    p = Path(path)
    if p.is_dir():
        return load_snips(p, split)
    if p.suffix in (".jsonl", ".json"):
        return load_slurp(p)
    if p.suffix == ".conll" or p.name.endswith(".conll"):
        return load_xsid(p)
    raise TandemError(
        f"{p}: unknown SLU format; give a SNIPS folder, a SLURP/MASSIVE .jsonl or an xSID .conll"
    )


# ----------------------------------------------------------------------------------------------------- metrics
def intent_accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Percentage of utterances whose predicted intent equals the gold one."""
    if len(gold) != len(pred):
        raise TandemError(f"intent_accuracy: {len(gold)} gold intents but {len(pred)} predictions")
    if not gold:
        return 0.0
    return 100.0 * sum(g == p for g, p in zip(gold, pred)) / len(gold)


def _slot_counts(ex: SLUExample, pred: Sequence) -> tuple[int, int]:
    """(predicted slots, correct ones) of one utterance, from predicted tags (str items) or (slot, value) pairs.

    Tags: exact (type, start, end) chunks, as conlleval. Pairs: a pair is right when the gold has a span of that
    slot whose tokens are exactly the value, case included, each gold span matched once (a multiset match of
    (slot, value) as SLURP's span F1 compares type and filler). A value written as text carries no position,
    so where it also occurs elsewhere in the utterance ("show me the show goldimouse") no place is guessed.
    """
    if not pred:
        return 0, 0
    if isinstance(pred[0], str):
        spans = set(bio_to_spans(ex.tokens, pred))
        return len(spans), len(spans & set(ex.spans))
    want = Counter((typ, tuple(ex.tokens[s:e])) for typ, s, e in ex.spans)
    got = Counter((str(name), tuple(str(value).split())) for name, value in pred)
    return len(pred), sum((want & got).values())


def slot_f1(gold_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> dict[str, float]:
    """conlleval micro precision / recall / F1 (0-100) over exact (type, start, end) chunks."""
    if len(gold_tags) != len(pred_tags):
        raise TandemError(f"slot_f1: {len(gold_tags)} gold sequences but {len(pred_tags)} predictions")
    n_gold = n_pred = n_ok = 0
    for g, p in zip(gold_tags, pred_tags):
        if len(g) != len(p):
            raise TandemError(f"slot_f1: a prediction has {len(p)} tags for {len(g)} gold tags")
        gs, ps = set(bio_to_spans(None, g)), set(bio_to_spans(None, p))
        n_gold, n_pred, n_ok = n_gold + len(gs), n_pred + len(ps), n_ok + len(gs & ps)
    return _prf(n_ok, n_pred, n_gold)


def _prf(n_ok: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = 100.0 * n_ok / n_pred if n_pred else 0.0
    r = 100.0 * n_ok / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}


def slu_metrics(
    gold: Sequence[SLUExample], pred_intents: Sequence[str], pred_slots: Sequence[Sequence]
) -> dict[str, float]:
    """Intent accuracy, slot precision/recall/F1 over spans, and exact match (intent and every slot right).

    `pred_slots[i]` is either a BIO tag list for `gold[i].tokens` or a list of (slot, value) pairs (e.g. from
    `parse_linearized`); a pair is right when the gold has a span of that slot whose tokens are exactly the
    value, case included, each gold span counted once (`_slot_counts`); values not in the utterance are wrong.
    """
    if not (len(gold) == len(pred_intents) == len(pred_slots)):
        raise TandemError(
            f"slu_metrics: {len(gold)} examples, {len(pred_intents)} intents, {len(pred_slots)} slot predictions"
        )
    n_gold = n_pred = n_ok = n_exact = 0
    for ex, pi, ps in zip(gold, pred_intents, pred_slots):
        n_g = len(set(ex.spans))
        n_p, n_k = _slot_counts(ex, list(ps))
        n_gold, n_pred, n_ok = n_gold + n_g, n_pred + n_p, n_ok + n_k
        n_exact += int(pi == ex.intent and n_k == n_p == n_g)
    prf = _prf(n_ok, n_pred, n_gold)
    return {
        "intent_acc": intent_accuracy([e.intent for e in gold], list(pred_intents)),
        "slot_precision": prf["precision"],
        "slot_recall": prf["recall"],
        "slot_f1": prf["f1"],
        "exact_match": 100.0 * n_exact / len(gold) if gold else 0.0,
        "n": float(len(gold)),
    }


# SLU label tags (torch-free: the edge runtime and the server read labels.json too)
LABELS_FILE = "labels.json"
LABELS_FORMAT = "tandem-slu-tags/1"
_TAG_SPLIT = re.compile(r"<tag_(\d+)>")


@dataclass
class SLULabels:
    """Intent and slot names mapped to reserved tokenizer tags: intents take `<tag_0>`.. `<tag_{I-1}>`,
    slots the next ones. A parse is written `<intent tag><slot tag> value<slot tag> value ...`."""

    intents: list[str]
    slots: list[str]

    @classmethod
    def from_examples(cls, *example_sets: Sequence[Any]) -> SLULabels:
        """The sorted intent and slot names of SLU examples (tandem.slu.SLUExample)."""
        intents, slots = set(), set()
        for examples in example_sets:
            for ex in examples:
                intents.add(ex.intent)
                slots.update(name for name, _ in ex.slots)
        return cls(sorted(intents), sorted(slots))

    def __len__(self) -> int:
        return len(self.intents) + len(self.slots)

    def tags(self) -> list[str]:
        """Every tag this label set can emit, in id order."""
        return [f"<tag_{i}>" for i in range(len(self))]

    def _tag(self, names: list[str], offset: int, name: str, kind: str) -> str:
        try:
            return f"<tag_{offset + names.index(name)}>"
        except ValueError:
            raise TandemError(
                f"{kind} {name!r} is not in the label vocabulary ({len(self)} labels); build it from data "
                "that contains every label, or drop the tag format"
            ) from None

    def to_target(self, intent: str, slots: Sequence[tuple[str, str]]) -> str:
        """The tag-format target of one parse."""
        out = self._tag(self.intents, 0, intent, "intent")
        for name, value in slots:
            out += self._tag(self.slots, len(self.intents), name, "slot") + " " + " ".join(value.split())
        return out

    def to_linearized(self, text: str) -> str:
        """A generated tag-format parse as `tandem.slu.linearize` text; never raises.

        The first tag names the intent when it is an intent tag; each slot tag takes the text up to the next
        tag as its value. Text without any tag is returned unchanged (already linearised).
        """
        parts = _TAG_SPLIT.split(text)
        if len(parts) == 1:
            return text
        n_int = len(self.intents)
        intent, slots = "", []
        for k in range(1, len(parts), 2):
            i, value = int(parts[k]), " ".join(parts[k + 1].split())
            if k == 1 and i < n_int:
                intent = self.intents[i]
            elif n_int <= i < len(self) and value:
                slots.append((self.slots[i - n_int], value))
        return linearize(intent, slots)

    def check_tokenizer(self, tokenizer: Any, advice: str | None = None) -> None:
        """Raise unless the tokenizer reserves a tag for every label; `advice` replaces the default what-to-do
        (train a tokenizer with the tags), which a trained model's fixed vocabulary cannot follow."""
        have = getattr(tokenizer, "num_reserved_tags", 0)
        if have < len(self):
            raise TandemError(
                f"the label vocabulary needs {len(self)} reserved tags but the tokenizer has {have}; "
                + (
                    advice
                    or f"train one with `tandem tokenizer train --reserved-tags {len(self)}` (or let finetune "
                    "train it)"
                )
            )

    def save(self, directory: str | Path) -> Path:
        p = Path(directory) / LABELS_FILE
        p.parent.mkdir(parents=True, exist_ok=True)
        body = {"format": LABELS_FORMAT, "intents": self.intents, "slots": self.slots}
        p.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
        return p

    @staticmethod
    def locate(model: Any, explicit: str | Path | None = None) -> Path | None:
        """The labels.json to use for `model`: `explicit` (a file or a directory holding one; an error when
        it has none), else the one in the model directory when `model` is a path and has one, else None."""
        if explicit is None:
            if not isinstance(model, (str, Path)) or not (Path(model) / LABELS_FILE).is_file():
                return None
            return Path(model) / LABELS_FILE
        p = Path(explicit)
        p = p / LABELS_FILE if p.is_dir() else p
        if not p.is_file():
            raise TandemError(f"labels {p}: file not found; give the labels.json written by --slu-tags")
        return p

    @classmethod
    def load(cls, path: str | Path) -> SLULabels | None:
        """The labels.json in a model directory (or that file); None when there is none."""
        p = Path(path)
        p = p / LABELS_FILE if p.is_dir() else p
        if not p.is_file():
            return None
        try:
            d = read_json(p)
        except TandemError as e:
            raise TandemError(f"{e}; delete it or rewrite it") from None
        if not isinstance(d, dict) or d.get("format") != LABELS_FORMAT:
            raise TandemError(f"{p}: field 'format' must be {LABELS_FORMAT!r}")
        if not all(isinstance(d.get(k), list) for k in ("intents", "slots")):
            raise TandemError(f"{p}: fields 'intents' and 'slots' must be lists of names")
        return cls([str(x) for x in d["intents"]], [str(x) for x in d["slots"]])
