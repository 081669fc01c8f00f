"""tandem's metrics against independent reference implementations written here from the official definitions
(SQuAD 2.0's evaluate-v2.0, ReCoRD / SQuAD v1.1, SuperGLUE CB and MultiRC, XNLI accuracy, conlleval's chunk
counting, ROUGE-N / ROUGE-L, sacreBLEU's spBLEU and chrF++ settings), on generated cases full of edge cases
and on the shared evaluation data where it is present."""

from __future__ import annotations

import json
import random
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from tandem import slu
from tandem.evaluation import metrics as M
from tandem.evaluation import tasks as T

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
if not DATA.is_dir():
    DATA = Path("/work/shared/data")


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not found: the shared evaluation data is absent")
    return path


# ----------------------------------------------------------------------------------------- SQuAD reference
_ASCII_PUNCT = (
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"  # Python's string.punctuation, as the official script uses
)
_ARTICLES = ("a", "an", "the")


def ref_normalize(s: str) -> str:
    """evaluate-v2.0's normalize_answer: lower case, drop ASCII punctuation, replace the articles a/an/the that
    stand as whole words (a maximal run of word characters, as the regex's \\b...\\b) by a space, and collapse
    whitespace."""
    s = s.lower()
    s = "".join(c for c in s if c not in _ASCII_PUNCT)
    out, run = [], []
    for c in s + "\0":
        if c.isalnum() or c == "_":
            run.append(c)
            continue
        word = "".join(run)
        out.append(" " if word in _ARTICLES else word)
        run = []
        out.append(c)
    return " ".join("".join(out[:-1]).split())


def ref_token_f1(gold: str, pred: str, empty_rule: bool) -> float:
    g, p = ref_normalize(gold).split(), ref_normalize(pred).split()
    if empty_rule and (not g or not p):  # SQuAD 2.0: both empty is a match
        return float(g == p)
    same = sum(min(g.count(t), p.count(t)) for t in set(g))
    if same == 0:  # SQuAD v1.1 / ReCoRD: no common token, F1 0 (both empty included)
        return 0.0
    prec, rec = same / len(p), same / len(g)
    return 2 * prec * rec / (prec + rec)


def ref_squad_v2(dataset: list[dict], preds: dict[str, str]) -> dict[str, float]:
    """The official evaluate-v2.0 on an official-format `data` list, no no-answer threshold."""
    exact, f1, has_ans = {}, {}, {}
    for article in dataset:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                qid = qa["id"]
                has_ans[qid] = bool(qa["answers"])
                golds = [a["text"] for a in qa["answers"] if ref_normalize(a["text"])] or [""]
                exact[qid] = max(float(ref_normalize(g) == ref_normalize(preds[qid])) for g in golds)
                f1[qid] = max(ref_token_f1(g, preds[qid], empty_rule=True) for g in golds)
    out = {
        "exact": 100 * sum(exact.values()) / len(exact),
        "f1": 100 * sum(f1.values()) / len(f1),
        "total": float(len(exact)),
    }
    for name, want in (("HasAns", True), ("NoAns", False)):
        ids = [q for q, h in has_ans.items() if h == want]
        if ids:
            out[f"{name}_exact"] = 100 * sum(exact[q] for q in ids) / len(ids)
            out[f"{name}_f1"] = 100 * sum(f1[q] for q in ids) / len(ids)
            out[f"{name}_total"] = float(len(ids))
    return out


_PIECES = [
    "a", "an", "the", "The", "A", "AN", "tHe", "Paris", "paris", "PARIS", "1969", "café", "Café", "naïve",
    "the's", "don't", "U.S.", "e-mail", "«Paris»", "—", "’s", "x_y", "a.", "(the)", "the_", "_a", "ﬁne",
    "İstanbul", "Straße", "…", ",", "!!", "東京", "東京都", "the\u0301", "an\u200b", "١٢٣", "Ⅻ", "²", "a2",
    "theatre", "and", "of", "“quoted”", "'", "-", "",
]  # fmt: skip
_SEPS = [" ", " ", "  ", "", "\t", "\n", "\u00a0", "\u3000", "-", ".", ","]


def _rand_text(rng: random.Random, max_pieces: int = 5) -> str:
    n = rng.randint(0, max_pieces)
    out = ""
    for _ in range(n):
        out += rng.choice(_PIECES) + rng.choice(_SEPS)
    return out if rng.random() < 0.8 else out.strip()


def test_normalize_answer_matches_the_official_definition_on_generated_text():
    rng = random.Random(0)
    texts = [_rand_text(rng, 8) for _ in range(3000)] + ["the\u2019s", "an\u00e9", "a\u0301b the", "_the_"]
    for t in texts:
        assert M.normalize_answer(t) == ref_normalize(t), repr(t)


def _squad_case(rng: random.Random, n: int) -> tuple[list[dict], dict[str, str]]:
    qas, preds = [], {}
    for i in range(n):
        kind = rng.random()
        if kind < 0.3:
            answers = []  # unanswerable
        else:
            answers = [{"text": _rand_text(rng, 3), "answer_start": 0} for _ in range(rng.randint(1, 4))]
        qid = f"q{i}"
        qas.append({"id": qid, "question": "?", "answers": answers})
        r = rng.random()
        if r < 0.2:
            preds[qid] = ""
        elif r < 0.5 and answers:
            g = rng.choice(answers)["text"]  # a gold answer, re-cased, re-punctuated or with extra words
            preds[qid] = rng.choice(
                [g, g.upper(), f"The {g}.", f"{g} {_rand_text(rng, 2)}", g.replace(" ", "")]
            )
        else:
            preds[qid] = _rand_text(rng, 4)
    return [{"title": "t", "paragraphs": [{"context": "c", "qas": qas}]}], preds


def _squad_docs(dataset: list[dict]) -> list[dict]:
    return [
        {"id": qa["id"], "answers": [a["text"] for a in qa["answers"]]}
        for qa in dataset[0]["paragraphs"][0]["qas"]
    ]


@pytest.mark.parametrize("seed", range(40))
def test_squad_v2_matches_the_official_script_on_generated_sets(seed):
    rng = random.Random(seed)
    dataset, preds = _squad_case(rng, rng.choice([1, 2, 7, 30]))
    docs = _squad_docs(dataset)
    got = M.squad_v2([d["answers"] for d in docs], [preds[d["id"]] for d in docs])
    assert got == pytest.approx(ref_squad_v2(dataset, preds))


def test_squad_v2_all_unanswerable_and_all_answerable_sets():
    for answers in ([[], [], []], [["x"], ["The"], ["y z", "y"]]):
        dataset = [
            {
                "paragraphs": [
                    {
                        "qas": [
                            {"id": str(i), "answers": [{"text": t} for t in a]} for i, a in enumerate(answers)
                        ]
                    }
                ]
            }
        ]
        for preds in (["", "", ""], ["x", "", "y"], ["unanswerable"] * 3):
            got = M.squad_v2(answers, preds)
            want = ref_squad_v2(dataset, {str(i): p for i, p in enumerate(preds)})
            assert got == pytest.approx(want)
            assert ("HasAns_total" in got) == any(answers) and ("NoAns_total" in got) == (not all(answers))


def test_squad_v2_on_the_shared_dev_set():
    path = _need(DATA / "squad2" / "dev-v2.0.json")
    dataset = json.loads(path.read_text(encoding="utf-8"))["data"]
    task = T._squad_task()
    docs = task.load(path.parent.parent, None)
    contexts = {qa["id"]: p["context"] for a in dataset for p in a["paragraphs"] for qa in p["qas"]}
    rng = random.Random(1)
    golds = {
        qa["id"]: [x["text"] for x in qa["answers"]]
        for a in dataset
        for p in a["paragraphs"]
        for qa in p["qas"]
    }
    words = {q: c.split() for q, c in contexts.items()}
    pred_sets = [
        {q: (g[0] if g else "") for q, g in golds.items()},
        {q: "" for q in golds},
        {
            q: " ".join(words[q][i : i + rng.randint(1, 6)])
            for q in golds
            for i in [rng.randrange(len(words[q]))]
        },
        {
            q: (f"The {g[-1].upper()}!" if g and rng.random() < 0.5 else rng.choice(words[q]))
            for q, g in golds.items()
        },
    ]
    for preds in pred_sets:
        got = task.metric(docs, [task.postprocess(preds[d["id"]], d) for d in docs])
        assert got == pytest.approx(ref_squad_v2(dataset, preds))
    assert task.metric(docs, [pred_sets[0][d["id"]] for d in docs])["exact"] == pytest.approx(100.0)


# ---------------------------------------------------------------------------------------------------- ReCoRD
def ref_record(golds: list[list[str]], preds: list[str]) -> dict[str, float]:
    em = [max(float(ref_normalize(g) == ref_normalize(p)) for g in gs) for gs, p in zip(golds, preds)]
    f1 = [max(ref_token_f1(g, p, empty_rule=False) for g in gs) for gs, p in zip(golds, preds)]
    return {"exact": 100 * sum(em) / len(em), "f1": 100 * sum(f1) / len(f1)}


@pytest.mark.parametrize("seed", range(20))
def test_record_matches_the_official_script_on_generated_sets(seed):
    rng = random.Random(100 + seed)
    golds = [[_rand_text(rng, 3) for _ in range(rng.randint(1, 3))] for _ in range(rng.randint(1, 20))]
    preds = [rng.choice([rng.choice(g), _rand_text(rng, 3), ""]) for g in golds]
    assert M.max_over_golds(golds, preds) == pytest.approx(ref_record(golds, preds))


def test_record_on_the_shared_dev32():
    path = _need(DATA / "superglue" / "record" / "dev32.jsonl")
    task = T._superglue_tasks()["record"]
    docs = task.load(DATA, None)
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    raw_golds = [[a["text"] for a in q["answers"]] for r in rows for q in r["qas"]]
    assert [sorted(set(g)) for g in raw_golds] == [sorted(d["answers"]) for d in docs]
    rng = random.Random(2)
    for _ in range(5):
        preds = [rng.choice(d["entities"]) for d in docs]
        assert task.metric(docs, preds) == pytest.approx(ref_record(raw_golds, preds))


# -------------------------------------------------------------------------------------- SuperGLUE / XNLI
def ref_accuracy(golds, preds) -> float:
    return 100 * sum(g == p for g, p in zip(golds, preds)) / len(golds)


def ref_macro_f1(golds, preds, classes) -> float:
    """Mean over the given classes of each class's F1 (0 when it has no true positive: undefined counts as 0)."""
    total = 0.0
    for c in classes:
        tp = sum(1 for g, p in zip(golds, preds) if g == c and p == c)
        n_pred, n_gold = sum(p == c for p in preds), sum(g == c for g in golds)
        if tp:
            prec, rec = tp / n_pred, tp / n_gold
            total += 2 * prec * rec / (prec + rec)
    return 100 * total / len(classes)


def ref_multirc(options: list[tuple[object, int, int]]) -> dict[str, float]:
    """options: (question key, gold, pred). F1a: F1 of label 1 over all options; EM: questions all right."""
    tp = sum(g == 1 and p == 1 for _, g, p in options)
    fp = sum(g == 0 and p == 1 for _, g, p in options)
    fn = sum(g == 1 and p == 0 for _, g, p in options)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1a = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    right: dict[object, bool] = {}
    for q, g, p in options:
        right[q] = right.get(q, True) and g == p
    return {"f1a": 100 * f1a, "em": 100 * sum(right.values()) / len(right)}


@pytest.mark.parametrize("seed", range(30))
def test_cb_macro_f1_and_accuracy_on_generated_sets(seed):
    rng = random.Random(200 + seed)
    classes = ["entailment", "contradiction", "neutral"]
    n = rng.choice([1, 2, 3, 10, 56])
    golds = [rng.choice(classes[: rng.randint(1, 3)]) for _ in range(n)]  # some sets miss a class entirely
    preds = [rng.choice(classes) if rng.random() < 0.5 else g for g in golds]
    task = T._superglue_tasks()["cb"]
    got = task.metric([{"label": g} for g in golds], preds)
    assert got["f1"] == pytest.approx(ref_macro_f1(golds, preds, classes))
    assert got["acc"] == pytest.approx(ref_accuracy(golds, preds))
    sk = pytest.importorskip("sklearn.metrics")
    want = sk.f1_score(golds, preds, labels=classes, average="macro", zero_division=0)
    assert got["f1"] == pytest.approx(100 * want)


@pytest.mark.parametrize("seed", range(30))
def test_multirc_on_generated_sets(seed):
    rng = random.Random(300 + seed)
    options = []
    for q in range(rng.randint(1, 8)):
        for _ in range(rng.randint(1, 5)):
            g = rng.randint(0, 1) if rng.random() < 0.8 else 0  # some sets without a positive
            options.append((f"p{q % 3}-{q}", g, g if rng.random() < 0.6 else rng.randint(0, 1)))
    rng.shuffle(options)  # a question's options need not be adjacent
    got = M.multirc([o[0] for o in options], [o[1] for o in options], [o[2] for o in options])
    assert got == pytest.approx(ref_multirc(options))


@pytest.mark.parametrize("seed", range(20))
def test_multirc_with_missing_options_on_generated_sets(seed):
    """Options without a prediction (skipped or missing) are left out of F1a, and their questions out of EM
    (counted in em_left_out_total); the task's metric sees only the scored docs, as the runner passes them."""
    rng = random.Random(400 + seed)
    docs = []
    for q in range(rng.randint(1, 8)):
        n = rng.randint(1, 5)
        docs += [{"qid": f"0-{q}", "label": rng.randint(0, 1), "num_options": n} for _ in range(n)]
    kept = [(d, d["label"] if rng.random() < 0.7 else 1 - d["label"]) for d in docs if rng.random() < 0.8]
    if not kept:
        kept = [(docs[0], docs[0]["label"])]
    present = {q: sum(d["qid"] == q for d, _ in kept) for q in {d["qid"] for d, _ in kept}}
    whole = {q for q, n in present.items() if n == sum(d["qid"] == q for d in docs)}
    options = [(d["qid"], d["label"], p) for d, p in kept]
    want = {
        "f1a": ref_multirc(options)["f1a"],
        "em": ref_multirc([o for o in options if o[0] in whole])["em"] if whole else None,
    }
    if len(whole) < len(present):
        want["em_left_out_total"] = float(len(present) - len(whole))
    got = T._superglue_tasks()["multirc"].metric([d for d, _ in kept], [p for _, p in kept])
    assert got == pytest.approx(want)


def test_superglue_tasks_on_the_shared_validation_sets():
    sg = T._superglue_tasks()
    rng = random.Random(3)
    # MultiRC: options grouped by (passage, question) straight from the nested jsonl
    path = _need(DATA / "superglue" / "multirc" / "val.jsonl")
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    nested = [
        ((pi, qi), int(a["label"]))
        for pi, r in enumerate(rows)
        for qi, q in enumerate(r["passage"]["questions"])
        for a in q["answers"]
    ]
    docs = sg["multirc"].load(DATA, None)
    assert [d["label"] for d in docs] == [g for _, g in nested]
    for p_right in (1.0, 0.9, 0.5, 0.0):
        preds = [g if rng.random() < p_right else 1 - g for _, g in nested]
        want = ref_multirc([(q, g, p) for (q, g), p in zip(nested, preds)])
        assert sg["multirc"].metric(docs, preds) == pytest.approx(want)
    # CB and the accuracy tasks: labels read from the jsonl by hand
    choices = {"cb": ["entailment", "contradiction", "neutral"], "rte": ["entailment", "not_entailment"]}
    for name in ("boolq", "cb", "copa", "rte", "wic", "wsc"):
        rows = [
            json.loads(x)
            for x in (DATA / "superglue" / name / "val.jsonl").read_text("utf-8").splitlines()
            if x
        ]
        golds = [r["label"] for r in rows]
        docs = sg[name].load(DATA, None)
        opts = choices.get(name, [0, 1] if name == "copa" else [False, True])
        preds = [rng.choice(opts) for _ in docs]
        got = sg[name].metric(docs, preds)
        assert got["acc"] == pytest.approx(ref_accuracy(golds, preds))
        if name == "cb":
            assert got["f1"] == pytest.approx(ref_macro_f1(golds, preds, opts))


def test_xnli_accuracy_on_the_shared_dev_set():
    path = _need(DATA / "xnli" / "dev-de.tsv")
    golds = [line.split("\t")[2] for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    task = T._xnli_task("de")
    docs = task.load(DATA, None)
    rng = random.Random(4)
    preds = [
        g if rng.random() < 0.4 else rng.choice(["entailment", "neutral", "contradiction"]) for g in golds
    ]
    assert task.metric(docs, preds)["acc"] == pytest.approx(ref_accuracy(golds, preds))


# ----------------------------------------------------------------------------------------- conlleval (SLU)
def _parts(tag: str) -> tuple[str, str]:
    if tag == "O":
        return "O", ""
    prefix, _, typ = tag.partition("-")
    return prefix, typ


def _chunk_ends(prev: str, cur: str, prev_type: str, cur_type: str) -> bool:
    return (prev in "BI" and cur in "BO") or (prev != "O" and prev_type != cur_type)


def _chunk_starts(prev: str, cur: str, prev_type: str, cur_type: str) -> bool:
    return cur == "B" or (prev == "O" and cur == "I") or (cur != "O" and prev_type != cur_type)


def ref_conlleval(gold_seqs, pred_seqs) -> dict[str, float]:
    """conlleval's counting: a chunk is found where one starts; it is correct where gold and guess start
    together with the same type and end together; a sentence boundary acts as an O token."""
    correct = found_gold = found_pred = 0
    for gold, pred in zip(gold_seqs, pred_seqs):
        in_correct = False
        lg, lgt, lp, lpt = "O", "", "O", ""
        for gt, pt in [*zip(gold, pred), ("O", "O")]:
            g, gty = _parts(gt)
            p, pty = _parts(pt)
            g_end, p_end = _chunk_ends(lg, g, lgt, gty), _chunk_ends(lp, p, lpt, pty)
            if in_correct:
                if g_end and p_end and lgt == lpt:
                    in_correct = False
                    correct += 1
                elif g_end != p_end or gty != pty:
                    in_correct = False
            g_start, p_start = _chunk_starts(lg, g, lgt, gty), _chunk_starts(lp, p, lpt, pty)
            if g_start and p_start and gty == pty:
                in_correct = True
            found_gold += g_start
            found_pred += p_start
            lg, lgt, lp, lpt = g, gty, p, pty
    prec = 100 * correct / found_pred if found_pred else 0.0
    rec = 100 * correct / found_gold if found_gold else 0.0
    return {"precision": prec, "recall": rec, "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0}


def _rand_tags(rng: random.Random, n: int, types=("time", "city", "artist")) -> list[str]:
    return [rng.choice(["O", "O", f"B-{rng.choice(types)}", f"I-{rng.choice(types)}"]) for _ in range(n)]


def _perturb(rng: random.Random, tags: list[str], types=("time", "city", "artist", "x")) -> list[str]:
    out = list(tags)
    for i in range(len(out)):
        r = rng.random()
        if r < 0.06:
            out[i] = "O"
        elif r < 0.12:
            out[i] = f"{rng.choice('BI')}-{rng.choice(types)}"  # a BIO violation or a wrong type
        elif r < 0.16 and out[i] != "O":
            out[i] = ("I" if out[i][0] == "B" else "B") + out[i][1:]
    return out


@pytest.mark.parametrize("seed", range(30))
def test_slot_f1_matches_conlleval_on_generated_bio(seed):
    rng = random.Random(400 + seed)
    golds = [_rand_tags(rng, rng.randint(0, 9)) for _ in range(rng.randint(1, 12))]
    preds = [_perturb(rng, g) if rng.random() < 0.7 else _rand_tags(rng, len(g)) for g in golds]
    want = ref_conlleval(golds, preds)
    assert slu.slot_f1(golds, preds) == pytest.approx(want)
    ex = [slu.SLUExample([f"w{i}" for i in range(len(g))], g, "i") for g in golds]
    got = slu.slu_metrics(ex, ["i"] * len(ex), preds)
    assert (got["slot_precision"], got["slot_recall"], got["slot_f1"]) == pytest.approx(
        (want["precision"], want["recall"], want["f1"])
    )


def test_slot_f1_zero_division_cases():
    # no gold and no predicted chunk anywhere: every score 0 (conlleval prints 0.00)
    assert slu.slot_f1([["O", "O"]], [["O", "O"]]) == ref_conlleval([["O", "O"]], [["O", "O"]])
    assert slu.slot_f1([["O"]], [["O"]]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert slu.slot_f1([["B-a"]], [["O"]]) == ref_conlleval([["B-a"]], [["O"]])
    # I- after O starts a chunk; I-x after B-y starts another
    g, p = [["O", "I-a", "I-a", "B-b", "I-c"]], [["O", "B-a", "I-a", "B-b", "B-c"]]
    assert slu.slot_f1(g, p) == pytest.approx(ref_conlleval(g, p))
    assert slu.slot_f1(g, p)["f1"] == pytest.approx(100.0)


def ref_slu(golds, pred_intents, pred_pairs) -> dict[str, float]:
    """Intent accuracy, slot P/R/F1 matching (slot, value tokens) multisets per utterance, exact match."""
    n_ok = n_pred = n_gold = exact = 0
    for ex, pi, pairs in zip(golds, pred_intents, pred_pairs):
        gold_pairs = Counter()
        start = None
        tags = [*ex.tags, "O"]
        for i, t in enumerate(tags):  # chunks from the gold tags by conlleval's start / end rules
            prev = _parts(tags[i - 1]) if i else ("O", "")
            cur = _parts(t)
            if start is not None and _chunk_ends(prev[0], cur[0], prev[1], cur[1]):
                gold_pairs[(prev[1], tuple(ex.tokens[start:i]))] += 1
                start = None
            if _chunk_starts(prev[0], cur[0], prev[1], cur[1]):
                start = i
        got = Counter((s, tuple(v.split())) for s, v in pairs)
        ok = sum((gold_pairs & got).values())
        n_ok, n_pred, n_gold = n_ok + ok, n_pred + sum(got.values()), n_gold + sum(gold_pairs.values())
        exact += pi == ex.intent and got == gold_pairs
    prec = 100 * n_ok / n_pred if n_pred else 0.0
    rec = 100 * n_ok / n_gold if n_gold else 0.0
    n = len(golds)
    return {
        "intent_acc": 100 * sum(e.intent == p for e, p in zip(golds, pred_intents)) / n,
        "slot_precision": prec,
        "slot_recall": rec,
        "slot_f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
        "exact_match": 100 * exact / n,
        "n": float(n),
    }


def _pairs_from(rng: random.Random, ex: slu.SLUExample) -> list[tuple[str, str]]:
    pairs = list(ex.slots)
    out = []
    for s, v in pairs:
        r = rng.random()
        if r < 0.1:
            continue  # dropped
        if r < 0.2:
            v = v.upper()  # re-cased: wrong
        elif r < 0.25:
            s = "other"
        out.append((s, v))
        if rng.random() < 0.05:
            out.append((s, v))  # repeated
    if rng.random() < 0.1 and ex.tokens:
        out.append(("city", rng.choice(ex.tokens)))  # a token that is not a gold span
    return out


def _slu_sets():
    sets = []
    if (DATA / "snips" / "valid").is_dir():
        sets.append(("snips", slu.load_snips(DATA / "snips" / "valid")))
    for lang in ("en", "de", "ja"):
        if (DATA / "xsid" / f"{lang}.valid.conll").is_file():
            sets.append((f"xsid:{lang}", slu.load_xsid(DATA / "xsid" / f"{lang}.valid.conll")))
    if (DATA / "slurp" / "devel.jsonl").is_file():
        sets.append(("slurp", slu.load_slurp(DATA / "slurp" / "devel.jsonl")))
    return sets


def test_slu_metrics_on_the_shared_data():
    sets = _slu_sets()
    if not sets:
        pytest.skip(f"no SNIPS / xSID / SLURP under {DATA}: the shared evaluation data is absent")
    rng = random.Random(5)
    for name, exs in sets:
        intents = sorted({e.intent for e in exs})
        types = sorted({t[2:] for e in exs for t in e.tags if t != "O"})
        # BIO predictions: conlleval
        preds = [_perturb(rng, e.tags, types[:5]) for e in exs]
        assert slu.slot_f1([e.tags for e in exs], preds) == pytest.approx(
            ref_conlleval([e.tags for e in exs], preds)
        ), name
        # generated parses, read back from the linearised text as the evaluate task does
        pi = [e.intent if rng.random() < 0.8 else rng.choice(intents) for e in exs]
        pairs = [_pairs_from(rng, e) for e in exs]
        texts = [slu.linearize(i, p) for i, p in zip(pi, pairs)]
        parsed = [slu.parse_linearized(t) for t in texts]
        want = ref_slu(exs, pi, pairs)
        got = slu.slu_metrics(exs, [p[0] for p in parsed], [p[1] for p in parsed])
        assert got == pytest.approx(want), name
        gold = slu.slu_metrics(exs, [e.intent for e in exs], [e.slots for e in exs])
        assert gold["slot_f1"] == gold["exact_match"] == gold["intent_acc"] == 100.0, name
        # the evaluate task: its own documents, the generated text parsed as a prediction file's
        task, _ = T.get_task(name)
        docs = task.load(DATA, None)
        assert len(docs) == len(exs)
        assert task.metric(docs, texts) == pytest.approx(want), name


# ------------------------------------------------------------------------------------------------------ ROUGE
def _ngrams(toks: list[str], n: int) -> Counter:
    return Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))


def _f(overlap: int, n_hyp: int, n_ref: int) -> float:
    if not overlap:
        return 0.0
    p, r = overlap / n_hyp, overlap / n_ref
    return 2 * p * r / (p + r)


def _lcs(a: list[str], b: list[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        prev_diag = 0
        for j, y in enumerate(b, 1):
            prev_diag, row[j] = row[j], prev_diag + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def ref_rouge(hyps, refs, tokenize) -> dict[str, float]:
    """ROUGE-1 / ROUGE-2 (clipped n-gram overlap) and ROUGE-L (LCS) F-measures, best reference by each
    measure, mean over examples, 0-100."""
    tot = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for h, rs in zip(hyps, refs):
        ht = tokenize(h)
        for key in tot:
            best = 0.0
            for r in [rs] if isinstance(rs, str) else rs:
                rt = tokenize(r)
                if key == "rougeL":
                    score = _f(_lcs(ht, rt), len(ht), len(rt))
                else:
                    n = int(key[-1])
                    hn, rn = _ngrams(ht, n), _ngrams(rt, n)
                    score = _f(sum((hn & rn).values()), sum(hn.values()), sum(rn.values()))
                best = max(best, score)
            tot[key] += best
    return {k: 100 * v / len(hyps) for k, v in tot.items()}


def _english_tokens(text: str) -> list[str]:
    """rouge-score's documented English tokenisation: lower case, words of a-z0-9, Porter stem words over 3."""
    from nltk.stem.porter import PorterStemmer

    stem = PorterStemmer()
    low = "".join(c if ("a" <= c <= "z" or "0" <= c <= "9") else " " for c in text.lower())
    return [stem.stem(w) if len(w) > 3 else w for w in low.split()]


def _unicode_tokens(text: str) -> list[str]:
    """tandem's documented tokenizer for other languages: NFKC, lower case, runs of letters, digits and
    combining marks (and the zero-width joiners)."""
    text = unicodedata.normalize("NFKC", text).lower()
    out, cur = [], ""
    for c in text:
        if unicodedata.category(c)[0] in "LNM" or c in "\u200c\u200d":
            cur += c
        else:
            out.append(cur)
            cur = ""
    return [w for w in [*out, cur] if w]


_EN = "the cats were running quickly over 3 hills ; a dog ran fast and jumped . Running dogs jump".split()
_DE = "Der Bär läuft schnell über die Straße ; die Katze schläft 2 Stunden . ÄRGER ﬁnden Maßnahmen".split()
_HI = "हिन्दी भाषा की किताब तमिழ் தமிழ் நாடு 12 १२ मी\u200cखवा".split()


@pytest.mark.parametrize("lang,words", [("en", _EN), ("de", _DE), ("hi", _HI)])
def test_rouge_matches_an_independent_rouge_n_and_rouge_l(lang, words):
    rng = random.Random(6)
    tok = _english_tokens if lang == "en" else _unicode_tokens
    for _ in range(15):
        n = rng.randint(1, 6)
        refs = [" ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in range(n)]
        hyps = [" ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in range(n)]
        refs = [r if rng.random() < 0.7 else [r, " ".join(rng.choices(words, k=5))] for r in refs]
        got = M.rouge(hyps, refs, lang=lang)
        want = ref_rouge(hyps, refs, tok)
        assert {k: got[k] for k in want} == pytest.approx(want)
        # English stems ('cats' ~ 'cat'); other languages do not
        assert M.rouge(["cats running"], ["cat runs"], lang=lang)["rouge1"] == (
            100.0 if lang == "en" else 0.0
        )


# ------------------------------------------------------------------------------------------ sacreBLEU settings
def _train_spm(tmp_path: Path, **kw) -> Path:
    import sentencepiece as spm

    lines = [f"der schnelle braune Fuchs {i} springt über den faulen Hund Nummer {i * 7}" for i in range(200)]
    (tmp_path / "c.txt").write_text("\n".join(lines), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(tmp_path / "c.txt"), model_prefix=str(tmp_path / "m"), vocab_size=80, **kw
    )
    return tmp_path / "m.model"


@pytest.mark.parametrize("strip_spaces", [True, False])
def test_spbleu_equals_sacrebleu_flores200_tokenizer(tmp_path, monkeypatch, strip_spaces):
    """sacreBLEU's own `--tokenize flores200` path, its model file replaced by a local one (no download)."""
    import shutil

    import sacrebleu
    from sacrebleu.tokenizers import tokenizer_spm

    model = _train_spm(tmp_path, remove_extra_whitespaces=strip_spaces)
    cache = tmp_path / "sacrebleu"
    (cache / "models").mkdir(parents=True)
    name = Path(tokenizer_spm.SPM_MODELS["flores200"]["url"]).name
    shutil.copy(model, cache / "models" / name)
    monkeypatch.setattr(tokenizer_spm, "SACREBLEU_DIR", str(cache))
    hyps = ["der schnelle Fuchs springt ", "Hund  Nummer 7", "", "über den Hund\t"]
    refs = ["der schnelle braune Fuchs springt", "der Hund Nummer 7 ", "den Hund", "über den faulen Hund"]
    bleu = sacrebleu.metrics.BLEU(tokenize="flores200")
    want = bleu.corpus_score(hyps, [refs]).score
    assert "tok:flores200" in bleu.get_signature().format()
    assert M.spbleu(hyps, refs, str(model)) == pytest.approx(want)


def test_chrf_pp_is_sacrebleu_chrf_with_six_char_and_two_word_orders():
    from sacrebleu.metrics import CHRF

    rng = random.Random(7)
    for _ in range(10):
        hyps = [" ".join(rng.choices(_DE, k=rng.randint(0, 8))) for _ in range(5)]
        refs = [" ".join(rng.choices(_DE, k=rng.randint(1, 8))) for _ in range(5)]
        want = CHRF(
            char_order=6, word_order=2, beta=2, lowercase=False, whitespace=False, eps_smoothing=False
        )
        assert M.chrf_pp(hyps, refs) == pytest.approx(want.corpus_score(hyps, [refs]).score)
    sig = M.sacrebleu_signatures()["chrf++"]
    assert "nc:6" in sig and "nw:2" in sig and "case:mixed" in sig


def test_flores_task_metric_on_the_shared_devtest():
    import sacrebleu

    _need(DATA / "flores200" / "deu_Latn.devtest")
    task = T._flores_task("en-de")
    docs = task.load(DATA, None)[:200]
    rng = random.Random(8)
    hyps = [" ".join(w for w in d["tgt"].split() if rng.random() < 0.8) for d in docs]
    refs = [d["tgt"] for d in docs]
    got = task.metric(docs, hyps)
    assert got["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs], tokenize="13a").score)
    assert got["chrf++"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs], word_order=2).score)
    assert "tok:13a" in task.signatures["bleu"] and "nw:2" in task.signatures["chrf++"]


def test_slurp_gold_groups_by_pairs():
    # a gold with one value twice under one slot: two spans; one predicted pair matches one of them
    ex = slu.SLUExample("play show and show".split(), ["O", "B-x", "O", "B-x"], "play")
    got = slu.slu_metrics([ex], ["play"], [[("x", "show")]])
    assert got == pytest.approx(ref_slu([ex], ["play"], [[("x", "show")]]))
    assert got["slot_precision"] == 100.0 and got["slot_recall"] == 50.0 and got["exact_match"] == 0.0
