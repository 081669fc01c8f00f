"""The embedded default corpus: determinism, held-out splits, alignment across languages, spoken form, files."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from tandem.errors import TandemError
from tandem.quickstart import generate_corpus, write_corpus
from tandem.quickstart import values as V
from tandem.quickstart.corpus import DOMAINS, INTENT_NAMES, describe, split_sizes, spoken_available
from tandem.quickstart.templates import INTENTS, LANGS
from tandem.slu import parse_linearized

REQUIRED_LANGS = {"en", "de", "fr", "es", "it", "pt", "hi"}
N = 600


@pytest.fixture(scope="module")
def corpus():
    return generate_corpus(N, seed=3)


def test_languages_domains_and_size(corpus):
    assert REQUIRED_LANGS <= set(LANGS)
    assert len(DOMAINS) >= 12
    assert len(corpus) == N * len(LANGS)
    assert {u.lang for u in corpus} == set(LANGS)
    assert len({u.frame for u in corpus}) == N


def test_deterministic_and_seeded(corpus):
    again = generate_corpus(N, seed=3)
    assert again == corpus
    other = generate_corpus(N, seed=4)
    assert [u.written for u in other] != [u.written for u in corpus]


def test_split_sizes_and_counts_per_intent_and_domain(corpus):
    sizes = split_sizes(N)
    assert sizes == {"train": 480, "dev": 60, "test": 60}
    en = [u for u in corpus if u.lang == "en"]
    for split, size in sizes.items():
        rows = [u for u in en if u.split == split]
        assert len(rows) == size
        per_intent = Counter(u.intent for u in rows)
        # intents are spread evenly: counts differ by at most one, every intent present once size allows
        assert max(per_intent.values()) - min(per_intent.values()) <= 1
        if size >= len(INTENT_NAMES):
            assert set(per_intent) == set(INTENT_NAMES)
        per_domain = Counter(u.domain for u in rows)
        for domain in DOMAINS:
            n_intents = sum(1 for spec in INTENTS.values() if spec["domain"] == domain)
            expected = size * n_intents / len(INTENT_NAMES)
            assert abs(per_domain[domain] - expected) <= n_intents, (split, domain)


def test_splits_disjoint_in_templates_and_values(corpus):
    by_split = {s: [u for u in corpus if u.split == s] for s in ("train", "dev", "test")}
    test_templates = {u.template_id for u in by_split["test"]}
    seen_templates = {u.template_id for s in ("train", "dev") for u in by_split[s]}
    assert test_templates and not (test_templates & seen_templates)
    test_values = {k for u in by_split["test"] for _, k in u.values}
    seen_values = {k for s in ("train", "dev") for u in by_split[s] for _, k in u.values}
    assert test_values and not (test_values & seen_values)
    # the written values too (not just the keys), per language
    for lang in LANGS:
        tv = {v for u in by_split["test"] if u.lang == lang for _, v in u.slots}
        sv = {v for s in ("train", "dev") for u in by_split[s] if u.lang == lang for _, v in u.slots}
        assert not (tv & sv), lang
    # dev frames are new requests, not copies of training ones
    key = lambda u: (u.template_id, u.style, u.values)  # noqa: E731
    train_keys = {key(u) for u in by_split["train"]}
    dev_keys = [key(u) for u in by_split["dev"]]
    assert sum(k in train_keys for k in dev_keys) <= len(dev_keys) // 10


def test_every_pool_holds_out_about_a_quarter():
    for pool in V.POOLS:
        n, held = V.pool_size(pool), len(V.indices(pool, "test"))
        assert 1 <= held <= n // 2, pool
        assert set(V.indices(pool, "test")).isdisjoint(V.indices(pool, "train"))
        assert len(V.indices(pool, "test")) + len(V.indices(pool, "train")) == n
    # held-out times are spread over the minutes, not one minute value held out entirely
    minutes = {V.value_key("time", i).rsplit(":", 1)[1] for i in V.indices("time", "test")}
    assert len(minutes) == 4


def test_aligned_across_languages(corpus):
    frames: dict[int, list] = {}
    for u in corpus:
        frames.setdefault(u.frame, []).append(u)
    for us in frames.values():
        assert len(us) == len(LANGS)
        first = us[0]
        for u in us[1:]:
            assert (u.template_id, u.intent, u.split, u.style) == (
                first.template_id, first.intent, first.split, first.style
            )  # fmt: skip
            assert dict(u.values) == dict(first.values)
        assert len({u.written for u in us}) > 1  # translations, not copies


def test_templates_are_distinct_translations():
    for lang in LANGS:
        texts = [t[lang] for spec in INTENTS.values() for part in ("train", "test") for t in spec[part]]
        assert len(texts) == len(set(texts)), f"duplicate template in {lang}"
    for intent, spec in INTENTS.items():
        assert len(spec["train"]) >= 2 and len(spec["test"]) >= 1, intent


def test_written_values_in_utterance_and_parse_round_trips(corpus):
    for u in corpus:
        pos = 0
        for _, value in u.slots:
            at = u.written.find(value, pos)
            assert at >= 0, (u.written, value)
            pos = at + len(value)
        assert parse_linearized(u.parse_written) == (u.intent, list(u.slots))
        assert u.parse_written.split(" ; ")[0] == u.intent


def test_polite_variant_keeps_final_punctuation():
    us = generate_corpus(400, langs=["en", "fr", "hi"], seed=0)
    polite = [u for u in us if u.style == "polite"]
    assert 0.15 < len(polite) / len(us) < 0.45
    for u in polite:
        if u.lang == "en":
            assert re.search(r", please\??$", u.written), u.written
        if u.lang == "hi":
            assert u.written.startswith("कृपया ")
    q = [u for u in polite if u.lang == "fr" and u.written.endswith("?")]
    assert q and all(u.written.endswith(", s'il te plaît ?") for u in q)


@pytest.mark.skipif(not spoken_available(), reason="tandem.spoken is not available yet")
def test_spoken_form(corpus):
    for u in corpus:
        assert u.spoken is not None and u.parse is not None
        assert not re.search(r"[0-9०-९]", u.spoken), (u.lang, u.written, u.spoken)
        assert u.spoken == " ".join(u.spoken.split())
        pos = 0
        for slot, value in u.slots_spoken:
            assert value, (u.written, slot)
            at = u.spoken.find(value, pos)
            assert at >= 0, (u.spoken, value)
            pos = at + len(value)
        assert parse_linearized(u.parse) == (u.intent, list(u.slots_spoken))
        if u.lang != "hi":
            assert u.spoken == u.spoken.lower()


def test_errors():
    with pytest.raises(TandemError, match="languages"):
        generate_corpus(10, langs=["en", "xx"])
    with pytest.raises(TandemError, match="at least 1"):
        generate_corpus(0)
    with pytest.raises(TandemError, match="fractions"):
        split_sizes(10, (1.0, -1.0, 0.5))


def test_write_corpus_files(tmp_path):
    us = generate_corpus(300, langs=["en", "de", "hi"], seed=1)
    manifest = write_corpus(tmp_path, us, seed=1)
    assert manifest["synthetic"] is True and "synthetic" in manifest["note"]
    assert json.loads((tmp_path / "corpus.json").read_text())["frames"] == 300
    # pretraining text: one document per line, training split only
    test_written = {u.written for u in us if u.split == "test"}
    for lang in ("en", "de", "hi"):
        lines = (tmp_path / "text" / f"{lang}.txt").read_text(encoding="utf-8").splitlines()
        assert len(lines) == manifest["counts"]["documents"][lang] > 0
        body = "\n".join(lines)
        assert not any(w in body for w in test_written if len(w) > 25)
        n_train = sum(1 for u in us if u.lang == lang and u.split == "train")
        assert sum(1 for _ in lines) == -(-n_train // 6)
    # parse pairs
    for split in ("train", "dev", "test"):
        rows = [json.loads(line) for line in (tmp_path / "parse" / f"{split}.jsonl").open(encoding="utf-8")]
        assert len(rows) == manifest["counts"]["parse"][split] == sum(1 for u in us if u.split == split)
        for r in rows[:50]:
            intent, slots = parse_linearized(r["target"])
            assert intent == r["intent"]
            for _, v in slots:
                assert v in r["source"]
        mv = [json.loads(line) for line in (tmp_path / "massive" / f"{split}.jsonl").open(encoding="utf-8")]
        assert len(mv) == len(rows)
        assert all(re.sub(r"\[\w+ : ([^\]]*)\]", r"\1", m["annot_utt"]) == m["utt"] for m in mv)
    # translation pairs are the same frame in two languages
    by_id = {u.id: u for u in us}
    pairs = [
        json.loads(line)
        for line in (tmp_path / "translation" / "test" / "en-hi.jsonl").open(encoding="utf-8")
    ]
    assert len(pairs) == 30
    for p in pairs:
        assert p["source"] == by_id[f"{p['id']}-en"].written
        assert p["target"] == by_id[f"{p['id']}-hi"].written
    # few-shot items: the label points at the gold intent's description
    items = [json.loads(line) for line in (tmp_path / "fewshot" / "intent_test.jsonl").open(encoding="utf-8")]
    assert len(items) == 90
    for it in items:
        assert len(it["choices"]) == 4 and len(set(it["choices"])) == 4
        assert it["choices"][it["label"]] == describe(it["intent"])
    assert len({it["label"] for it in items}) > 1  # the gold choice is not always in the same place


def test_tandem_evaluate_reads_the_corpus(tmp_path):
    """The standard task loaders of `tandem evaluate --data-dir` read the written corpus unchanged."""
    from tandem.evaluation.tasks import get_task

    us = generate_corpus(250, langs=["en", "de", "hi"], seed=2)
    write_corpus(tmp_path, us, seed=2)
    test = {u.id: u for u in us if u.split == "test"}
    for spec in ("rte", "boolq"):
        task, explicit = get_task(spec)
        docs, demos = task.load(tmp_path, explicit), task.load_train(tmp_path)
        assert len(docs) == len(test) and len(demos) == 32
        golds = [task.gold(d) for d in docs]
        assert 0.3 < sum(g in ("entailment", True) for g in golds) / len(golds) < 0.7  # balanced
        for d in docs:
            u = test[d["idx"]]
            text = d.get("premise", d.get("passage"))
            assert text == u.source
            positive = task.gold(d) in ("entailment", True)
            assert (describe(u.intent) in d.get("hypothesis", d.get("question", ""))) == positive
    task, explicit = get_task("massive:de-DE")
    docs = task.load(tmp_path, explicit)
    assert {d["id"] for d in docs} == {i for i, u in test.items() if u.lang == "de"}
    for d in docs:
        assert task.gold(d) == test[d["id"]].target
    task, explicit = get_task("flores:en-hi")
    docs = task.load(tmp_path, explicit)
    by_frame = {(u.frame, u.lang): u.written for u in test.values()}
    frames = sorted({u.frame for u in test.values()})
    assert [(d["src"], d["tgt"]) for d in docs] == [
        (by_frame[(f, "en")], by_frame[(f, "hi")]) for f in frames
    ]


def test_massive_annotation_marks_slot_values_as_whole_words():
    """The MASSIVE `annot_utt` tokens are what SLU fine-tuning reads as the source (`slu_pairs`): they must
    be the utterance's own words. German "reservier" ends in the value "vier" (four), which the annotation
    used to mark inside the word ("reser[party_size : vier]" -> tokens "reser vier")."""
    from tandem.quickstart.corpus import _annotate
    from tandem.slu import parse_bracket_annotation

    corpus = generate_corpus(300, langs=["de"])
    hit = [u for u in corpus if "reservier " in u.source and " vier " in u.source]
    assert hit, "the corpus no longer has the case this test is about"
    for u in corpus:
        tokens, tags = parse_bracket_annotation(_annotate(u))
        assert " ".join(tokens) == u.source
        values = u.slots_spoken if u.spoken is not None else u.slots
        assert sum(t.startswith("B-") for t in tags) == len(values)  # every value marked once
