"""SLU format: linearisation round trip, conlleval span semantics, loaders, metrics (hand-computed)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.errors import TandemError
from tandem.slu import (
    SLUExample,
    align_slots,
    bio_to_spans,
    intent_accuracy,
    linearize,
    load_slu,
    load_slurp,
    load_snips,
    load_xsid,
    parse_bracket_annotation,
    parse_linearized,
    slot_f1,
    slots_from_bio,
    slu_metrics,
    spans_to_bio,
)


def test_linearize_format():
    s = linearize("play_music", [("artist", "the beatles"), ("device", "kitchen")])
    assert s == "play_music ; artist = the beatles ; device = kitchen"
    assert parse_linearized(s) == ("play_music", [("artist", "the beatles"), ("device", "kitchen")])
    assert linearize("greet", []) == "greet"
    assert parse_linearized("greet") == ("greet", [])


def test_linearize_escapes_separators():
    slots = [("title", "a;b = c"), ("x", "back\\slash;")]
    s = linearize("weird;intent", slots)
    assert parse_linearized(s) == ("weird;intent", slots)


_text = st.text(alphabet=st.sampled_from(list("ab ;=\\_-é")), min_size=1, max_size=12).map(
    lambda s: " ".join(s.split())
)


@settings(max_examples=200, deadline=None)
@given(_text, st.lists(st.tuples(_text, _text), max_size=4))
def test_linearize_round_trip(intent, slots):
    slots = [(k, v) for k, v in slots if k and v]
    assert parse_linearized(linearize(intent, slots)) == (intent, slots)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_parse_never_raises(text):
    intent, slots = parse_linearized(text)
    assert isinstance(intent, str) and isinstance(slots, list)


def test_parse_malformed():
    assert parse_linearized(None) == ("", [])  # type: ignore[arg-type]
    assert parse_linearized("") == ("", [])
    assert parse_linearized("  play ; artist ; = x ; song = yesterday ;; a =  ") == (
        "play",
        [("song", "yesterday")],
    )
    assert parse_linearized("play ; song = a = b\nrubbish ; x = y") == ("play", [("song", "a = b")])
    assert parse_linearized("trailing backslash \\") == ("trailing backslash \\", [])


def test_bio_to_spans_conlleval_rules():
    # I- after O starts a chunk; I-Y after B-X starts a new chunk; B after B splits.
    tags = ["O", "I-a", "I-a", "B-b", "I-c", "B-a", "B-a", "I-a", "O"]
    assert bio_to_spans(None, tags) == [("a", 1, 3), ("b", 3, 4), ("c", 4, 5), ("a", 5, 6), ("a", 6, 8)]
    # IOBES: E closes, S is a single chunk
    assert bio_to_spans(None, ["B-x", "E-x", "S-y", "I-x"]) == [("x", 0, 2), ("y", 2, 3), ("x", 3, 4)]
    assert bio_to_spans(None, ["O", "O"]) == []
    with pytest.raises(TandemError):
        bio_to_spans(["a"], ["O", "O"])


def test_spans_bio_round_trip_and_slots():
    toks = "play the song let it be by the beatles".split()
    tags = ["O", "O", "O", "B-song", "I-song", "I-song", "O", "B-artist", "I-artist"]
    spans = bio_to_spans(toks, tags)
    assert spans_to_bio(toks, spans) == tags
    assert slots_from_bio(toks, tags) == [("song", "let it be"), ("artist", "the beatles")]
    # from (slot, value) pairs: "the" occurs three times; the value aligns to the first free exact match
    assert spans_to_bio(toks, [("artist", "the beatles"), ("song", "let it be")]) == tags
    # a value in another case is not the utterance's span, unless asked for
    recased = [("artist", "The Beatles"), ("song", "let it be")]
    assert spans_to_bio(toks, recased) == tags[:7] + ["O", "O"]
    assert spans_to_bio(toks, recased, ignore_case=True) == tags
    spans, missing = align_slots(toks, [("x", "the"), ("y", "the"), ("z", "nope")])
    assert spans == [("x", 1, 2), ("y", 7, 8)] and missing == [("z", "nope")]


def test_pairs_align_in_utterance_order_after_the_previous_slot():
    """A value was put at its first unused occurrence anywhere: SNIPS train's "... in bastian in" (state = the
    last "in") got its state on the first "in", so gold slots did not map back to the gold tags."""
    toks = "i want to find a salami restaurant in bastian in".split()
    tags = ["O"] * 5 + ["B-served_dish", "B-restaurant_type", "O", "B-city", "B-state"]
    assert spans_to_bio(toks, slots_from_bio(toks, tags)) == tags
    assert align_slots(toks, [("city", "bastian"), ("state", "in")]) == (
        [("city", 8, 9), ("state", 9, 10)],
        [],
    )
    # a value found only before the previous span still aligns (written out of order)
    assert align_slots(toks, [("city", "bastian"), ("dish", "salami")]) == (
        [("dish", 5, 6), ("city", 8, 9)],
        [],
    )


def test_a_right_slot_value_that_also_occurs_elsewhere_is_scored_right():
    """Pairs were aligned to the first occurrence of their value, so the gold parse of SNIPS train's "show me
    the show goldimouse" (object_type = the second "show") scored slot F1 50 and exact match 0."""
    tags = ["O", "O", "O", "B-object_type", "B-object_name"]
    gold = [SLUExample("show me the show goldimouse".split(), tags, "RateBook")]
    intent, slots = parse_linearized(gold[0].target)
    m = slu_metrics(gold, [intent], [slots])
    assert m["slot_f1"] == 100.0 and m["exact_match"] == 100.0
    # each gold span is matched once: a second "show" is a false positive
    m = slu_metrics(gold, [intent], [[*slots, ("object_type", "show")]])
    assert m["slot_precision"] == pytest.approx(200 / 3) and m["slot_recall"] == 100.0
    assert m["exact_match"] == 0.0


def test_slot_values_are_scored_case_sensitively_as_the_official_metrics_do():
    """A predicted value in another case than the utterance was aligned case-insensitively and counted as the
    gold span. conlleval / xSID's nluEval compare spans of the utterance's own tokens and SLURP's span F1
    compares filler strings exactly; xSID keeps the original casing, so `berlin` is not `Berlin`."""
    gold = [SLUExample("find a flight to Berlin".split(), ["O"] * 4 + ["B-city"], "flight")]
    right = slu_metrics(gold, ["flight"], [[("city", "Berlin")]])
    assert right["slot_f1"] == 100.0 and right["exact_match"] == 100.0
    recased = slu_metrics(gold, ["flight"], [[("city", "berlin")]])
    assert recased["slot_f1"] == 0.0 and recased["exact_match"] == 0.0 and recased["slot_precision"] == 0.0
    assert align_slots(gold[0].tokens, [("city", "berlin")]) == ([], [("city", "berlin")])
    assert align_slots(gold[0].tokens, [("city", "berlin")], ignore_case=True) == ([("city", 4, 5)], [])


def test_bracket_annotation():
    toks, tags = parse_bracket_annotation("send email to [person : robert], what time is [time : seven pm]")
    assert toks == ["send", "email", "to", "robert", ",", "what", "time", "is", "seven", "pm"]
    assert tags == ["O", "O", "O", "B-person", "O", "O", "O", "O", "B-time", "I-time"]


def test_metrics_hand_computed():
    gold = [["B-a", "I-a", "O", "B-b"], ["O", "B-c"]]
    pred = [["B-a", "I-a", "O", "O"], ["B-c", "I-c"]]
    # gold chunks 3, predicted 2, correct 1 -> P 50, R 33.33, F1 40
    r = slot_f1(gold, pred)
    assert r["precision"] == pytest.approx(50.0) and r["recall"] == pytest.approx(100 / 3)
    assert r["f1"] == pytest.approx(40.0)
    assert slot_f1(gold, gold)["f1"] == 100.0
    assert intent_accuracy(["a", "b", "c", "d"], ["a", "x", "c", "d"]) == 75.0


def test_slu_metrics_pairs_and_tags():
    ex = [
        SLUExample(
            "play yesterday by the beatles".split(), ["O", "B-song", "O", "B-artist", "I-artist"], "play"
        ),
        SLUExample("wake me at seven".split(), ["O", "O", "O", "B-time"], "alarm"),
    ]
    gold_m = slu_metrics(ex, ["play", "alarm"], [e.tags for e in ex])
    assert gold_m["intent_acc"] == gold_m["slot_f1"] == gold_m["exact_match"] == 100.0
    # as generated pairs: one hallucinated value counts as a false positive
    m = slu_metrics(
        ex,
        ["play", "alarm"],
        [[("song", "yesterday"), ("artist", "the beatles")], [("time", "seven"), ("date", "tomorrow")]],
    )
    assert m["slot_precision"] == pytest.approx(75.0) and m["slot_recall"] == 100.0
    assert m["exact_match"] == 50.0
    assert ex[0].target == "play ; song = yesterday ; artist = the beatles"


def test_load_snips_fixture(tmp_path):
    (tmp_path / "seq.in").write_text("play let it be\nhi there\n")
    (tmp_path / "seq.out").write_text("O B-song I-song I-song\nO O\n")
    (tmp_path / "label").write_text("PlayMusic\nGreet\n")
    ex = load_snips(tmp_path)
    assert [e.intent for e in ex] == ["PlayMusic", "Greet"] and ex[0].slots == [("song", "let it be")]
    (tmp_path / "seq.out").write_text("O B-song I-song\nO O\n")
    with pytest.raises(TandemError, match="line 1"):
        load_snips(tmp_path)


def test_load_slurp_and_massive_fixture(tmp_path):
    p = tmp_path / "m.jsonl"
    rows = [
        {
            "id": "1",
            "locale": "en-US",
            "intent": "alarm_set",
            "utt": "wake me at 7 am",
            "annot_utt": "wake me at [time : 7 am]",
        },
        {"id": "2", "locale": "de-DE", "intent": "alarm_set", "annot_utt": "weck mich um [time : 7 uhr]"},
    ]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ex = load_slurp(p, locale="en-US")
    assert len(ex) == 1 and ex[0].slots == [("time", "7 am")] and ex[0].text == "wake me at 7 am"
    p.write_text('{"intent": "x"}\n{not json\n')
    with pytest.raises(TandemError, match="line 1: field 'sentence_annotation'"):
        load_slurp(p)
    p.write_text('{"intent": "x", "annot_utt": "a"}\n{not json\n')
    with pytest.raises(TandemError, match="line 2: not valid JSON"):
        load_slurp(p)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # read as str(value) before: the utterance "5" / "[]", the intent "[]", "True" or ""
        ({"sentence_annotation": 5}, "field 'sentence_annotation' must be a string, got 5"),
        ({"sentence_annotation": ["wake", "me"]}, "field 'sentence_annotation' must be a string"),
        ({"sentence_annotation": "  "}, "field 'sentence_annotation' is empty"),
        ({"intent": []}, "field 'intent' must be a non-empty string .*got \\[\\]"),
        ({"intent": True}, "field 'intent' must be a non-empty string .*got true"),
        ({"intent": ""}, "field 'intent' must be a non-empty string"),
        ({"sentence": None}, "field 'sentence' must be a string, got null"),
    ],
)
def test_load_slurp_names_a_field_of_the_wrong_type(tmp_path, change, message):
    good = {"slurp_id": 1, "sentence": "wake me at seven", "sentence_annotation": "wake me at [time : seven]"}
    good["intent"] = "alarm_set"
    p = tmp_path / "s.jsonl"
    p.write_text(json.dumps(good) + "\n" + json.dumps({**good, **change}) + "\n")
    with pytest.raises(TandemError, match=f"s.jsonl line 2: {message}"):
        load_slurp(p)
    p.write_text(json.dumps(good) + "\n" + json.dumps({**good, "intent": 7}) + "\n")  # MASSIVE's class ids
    assert [x.intent for x in load_slurp(p)] == ["alarm_set", "7"]


def test_load_xsid_fixture(tmp_path):
    p = tmp_path / "x.conll"
    p.write_text(
        "# id = 1\n# text = rain today?\n# intent = weather/find\n"
        "1\train\tweather/find\tB-weather/attribute\n2\ttoday\tweather/find\tB-datetime\n3\t?\tweather/find\tO\n\n"
        "# text = hi\n# intent = greet\n1\thi\tgreet\tO\n"
    )
    ex = load_xsid(p)
    assert len(ex) == 2 and ex[0].intent == "weather/find" and ex[0].text == "rain today?"
    assert ex[0].slots == [("weather/attribute", "rain"), ("datetime", "today")] and ex[1].intent == "greet"
    assert load_slu(p)[1].tokens == ["hi"]


def test_load_xsid_refuses_what_snips_refuses(tmp_path):
    """A tag without a slot name and an empty intent: errors naming the line in a SNIPS folder, but read as
    they were from an xSID file (the intent "", the tag "B-")."""
    p = tmp_path / "x.conll"
    first = "# text = hi\n# intent = greet\n1\thi\tgreet\tO\n\n"
    p.write_text(
        first + "# text = wake me\n# intent = alarm/set\n1\twake\talarm/set\tO\n2\tme\talarm/set\tB-\n"
    )
    with pytest.raises(TandemError, match=r"x.conll line 8: tag 'B-' has no slot name"):
        load_xsid(p)
    p.write_text(first + "# text = wake\n# intent = \n1\twake\t\tO\n")
    with pytest.raises(TandemError, match=r"x.conll line 5: sentence with an empty intent"):
        load_xsid(p)
    p.write_text(first + "# text = wake\n1\twake\talarm/set\tO\n")  # the intent column alone still does
    assert [x.intent for x in load_xsid(p)] == ["greet", "alarm/set"]


def test_shared_data_loaders(shared_data):
    snips = load_snips(shared_data / "snips", "valid")
    assert len(snips) == 700 and len({e.intent for e in snips}) == 7
    slurp = load_slurp(shared_data / "slurp" / "devel.jsonl")
    assert len(slurp) == 2033 and slurp[0].slots == [
        ("currency_name", "american dollar"),
        ("currency_name", "japanese yen"),
    ]
    xsid = load_xsid(shared_data / "xsid" / "de.valid.conll")
    assert len(xsid) == 300 and xsid[0].text == "Regnet es heute?"
    for exs in (snips, slurp, xsid):
        # gold through the linearised format scores 100 everywhere
        parsed = [parse_linearized(e.target) for e in exs]
        m = slu_metrics(exs, [p[0] for p in parsed], [p[1] for p in parsed])
        assert m["intent_acc"] == 100.0 and m["slot_f1"] == 100.0 and m["exact_match"] == 100.0


def _snips_dir(root, seq_in: bytes, seq_out: bytes, label: bytes):
    root.mkdir(parents=True, exist_ok=True)
    for name, data in (("seq.in", seq_in), ("seq.out", seq_out), ("label", label)):
        (root / name).write_bytes(data)
    return root


@pytest.mark.parametrize(
    "seq_in, seq_out, label, message",
    [
        (b"play it\n\xff\n", b"O O\nO\n", b"A\nB\n", r"seq.in line 2: not valid UTF-8"),  # a traceback
        (b"play it\nstop\n", b"O O\nO\n", b"A\n \n", r"label line 2: no intent"),  # intent ''
        (b"play it\n\nstop\n", b"O O\n\nO\n", b"A\nB\nC\n", r"seq.in line 2: empty utterance"),
        (b"play it\n", b"O B-\n", b"A\n", r"seq.out line 1: tag 'B-' has no slot name"),  # a slot 'B-'
    ],
)
def test_snips_malformed_lines_are_named(tmp_path, seq_in, seq_out, label, message):
    _snips_dir(tmp_path / "train", seq_in, seq_out, label)
    with pytest.raises(TandemError, match=message):
        load_snips(tmp_path, "train")


@pytest.mark.parametrize(
    "seq_in, seq_out, label",
    [
        (b"play it\nstop\n", b"O O\nO\n", b"A\nB\n\n"),  # was "label 3 lines; they must be line-aligned"
        (b"play it\nstop\n\n", b"O O\nO\n\n", b"A\nB\n\n"),  # was "seq.in line 3: empty utterance"
        (b"play it\nstop\n\n", b"O O\nO\n", b"A\nB\n"),
        (b"play it\r\nstop\r\n\r\n\r\n", b"O O\nO\n \n", b"A\nB\n\n"),
    ],
)
def test_snips_trailing_empty_lines_in_any_of_the_files_are_ignored(tmp_path, seq_in, seq_out, label):
    _snips_dir(tmp_path, seq_in, seq_out, label)
    ex = load_snips(tmp_path)
    assert [(e.tokens, e.intent) for e in ex] == [(["play", "it"], "A"), (["stop"], "B")]


def test_snips_byte_order_mark_is_not_part_of_the_first_token_or_intent(tmp_path):
    bom = b"\xef\xbb\xbf"
    _snips_dir(tmp_path, bom + b"play it\n", bom + b"O B-x\n", bom + b"PlayMusic\n")
    (ex,) = load_snips(tmp_path)
    assert ex.tokens == ["play", "it"] and ex.intent == "PlayMusic" and ex.slots == [("x", "it")]


def _official_slurp_gold(row: dict) -> list[tuple[str, str]]:
    """SLURP's own scorer's gold (scripts/evaluation/util.py, release2prediction), restated: each entity's
    type and its tokens' surfaces, lower-cased, joined by single spaces."""
    surfaces = [t["surface"] for t in row["tokens"]]
    return sorted((e["type"], " ".join(surfaces[i].lower() for i in e["span"])) for e in row["entities"])


def test_load_slurp_reads_the_official_entities_not_the_bracket_annotation(tmp_path):
    # sentence_annotation puts the possessive inside the slot ([date : Today's]) or outside it
    # ([person : jean]'s); SLURP's scorer reads `entities` over `tokens`: "today 's" and "jean 's". The
    # bracket annotation gave "Today's" and "jean", so a parse the official scorer counts right was wrong here
    words = ["Today", "'s", "meeting", "with", "jean", "'s", "team"]
    row = {
        "slurp_id": 7,
        "sentence": "Today's meeting with jean's team",
        "sentence_annotation": "[date : Today's] [event_name : meeting] with [person : jean]'s team",
        "intent": "calendar_query",
        "tokens": [{"surface": w, "id": i} for i, w in enumerate(words)],
        "entities": [
            {"span": [0, 1], "type": "date"},
            {"span": [2], "type": "event_name"},
            {"span": [4, 5], "type": "person"},
        ],
    }
    p = tmp_path / "slurp.jsonl"
    p.write_text(json.dumps(row) + "\n")
    (ex,) = load_slurp(p)
    assert sorted(ex.slots) == _official_slurp_gold(row)
    assert ex.text == row["sentence"] and ex.id == "7"
    m = slu_metrics([ex], ["calendar_query"], [[("date", "today 's"), ("person", "jean 's")]])
    assert m["slot_precision"] == 100.0 and m["slot_recall"] == pytest.approx(200 / 3)
    for bad, message in (
        ({"span": [4, 6], "type": "person"}, r"slurp.jsonl line 1: entity span \[4, 6\] is not consecutive"),
        ({"span": [9], "type": "person"}, r"line 1: entity span \[9\] is not consecutive indices of its 7"),
        ({"span": [0], "type": "person"}, r"line 1: entity span \[0\] overlaps another entity"),
        ({"span": [], "type": "person"}, r"line 1: entity .* needs a 'type' and a non-empty 'span'"),
    ):
        p.write_text(json.dumps({**row, "entities": [*row["entities"], bad]}) + "\n")
        with pytest.raises(TandemError, match=message):
            load_slurp(p)


@pytest.mark.parametrize("span", [["4"], [4.0], [None], [[4]], [True]])
def test_a_slurp_entity_span_index_that_is_no_integer_is_named(span, tmp_path):
    # was a TypeError traceback ("can only concatenate str (not "int") to str") from the span check
    words = "wake me up at five".split()
    row = {
        "sentence_annotation": "wake me up at [time : five]",
        "intent": "alarm_set",
        "tokens": [{"surface": w} for w in words],
        "entities": [{"span": span, "type": "time"}],
    }
    p = tmp_path / "slurp.jsonl"
    p.write_text(json.dumps(row) + "\n")
    with pytest.raises(TandemError, match=r"slurp.jsonl line 1: entity .* 'span' list of token indices"):
        load_slurp(p)


def test_an_intent_with_stray_whitespace_is_scored_as_its_target_writes_it(tmp_path):
    # the gold target wrote "alarm_set ; ..." but the gold intent stayed "alarm_set ": intent accuracy 0
    p = tmp_path / "slurp.jsonl"
    p.write_text(
        json.dumps({"sentence_annotation": "wake me up at [time : five]", "intent": "alarm_set "}) + "\n"
    )
    (ex,) = load_slurp(p)
    assert ex.intent == "alarm_set" and ex.target == "alarm_set ; time = five"
    i, slots = parse_linearized(ex.target)
    m = slu_metrics([ex], [i], [slots])
    assert m["intent_acc"] == m["exact_match"] == 100.0
    assert SLUExample(["hi"], ["O"], "  Greet   Someone ").intent == "Greet Someone"


def test_slurp_dev_golds_are_the_official_ones(shared_data):
    # 69 of the 2,033 dev rows had another gold from sentence_annotation (possessives, lower case)
    path = shared_data / "slurp" / "devel.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    exs = load_slurp(path)
    assert len(exs) == len(rows) == 2033
    assert all(sorted(e.slots) == _official_slurp_gold(r) for e, r in zip(exs, rows))
