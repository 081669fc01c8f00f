"""tandem.tokenizer: training layout, lossless round trips in the 12 AlexaTM languages, foreign models
(the AlexaTM fixture, T5-style), newline policy, spoken-form mixing, errors and the CLI."""

from __future__ import annotations

import io
import json
import random
import shutil
import unicodedata
import warnings
from collections import Counter
from pathlib import Path

import pytest
import sentencepiece as spm

from tandem.cli import main as cli_main
from tandem.errors import TandemError
from tandem.tokenizer import Tokenizer, sample_corpus

LANG_FILES = {
    "ar": "arb_Arab",
    "de": "deu_Latn",
    "en": "eng_Latn",
    "es": "spa_Latn",
    "fr": "fra_Latn",
    "hi": "hin_Deva",
    "it": "ita_Latn",
    "ja": "jpn_Jpan",
    "mr": "mar_Deva",
    "pt": "por_Latn",
    "ta": "tam_Taml",
    "te": "tel_Telu",
}
# From test/test_tokenizer.py of amazon-science/alexa-teacher-models: AlexaTMTokenizerFast on this model
# encodes "this is fake data" as these ids (with <s> ... </s> added).
ALEXATM_REFERENCE_IDS = [1, 3, 9, 13, 7, 5, 3, 7, 5, 3, 12, 6, 8, 4, 3, 21, 6, 9, 6, 2]
N_TAGS = 4


@pytest.fixture(scope="module")
def flores(shared_data: Path) -> dict[str, Path]:
    files = {lang: shared_data / "flores200" / f"{name}.devtest" for lang, name in LANG_FILES.items()}
    for p in files.values():
        if not p.is_file():
            pytest.skip(f"{p} is absent")
    return files


@pytest.fixture(scope="module")
def tok(flores: dict[str, Path]) -> Tokenizer:
    # 200 sentences per language on average, vocab 2000: trains in ~2 s on one core.
    return Tokenizer.train(
        list(flores.values()),
        vocab_size=2000,
        input_sentence_size=2400,
        character_coverage=0.995,
        reserved_tags=N_TAGS,
        num_threads=1,
    )


def _read(p: Path) -> list[str]:
    return p.read_text(encoding="utf-8").splitlines()


def _train_raw(lines: list[str], **kw) -> bytes:
    """A SentencePiece model trained directly with the library (a 'foreign' model)."""
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=buf, minloglevel=2, num_threads=1, **kw
    )
    return buf.getvalue()


# --- layout and special ids -------------------------------------------------------------------------------


def test_special_ids_and_layout(tok: Tokenizer) -> None:
    assert (tok.bos_id, tok.pad_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
    assert (tok.clm_id, tok.doc_id, tok.mask_id, tok.newline_id) == (4, 5, 6, 7)
    expected = ["<s>", "<pad>", "</s>", "<unk>", "[CLM]", "[DOC]", "[MASK]", "\n"]
    assert [tok.id_to_token(i) for i in range(8)] == expected
    assert tok.has_pad and tok.vocab_size == len(tok) == 2000
    assert tok.num_reserved_tags == N_TAGS
    assert [tok.tag_id(i) for i in range(N_TAGS)] == [8, 9, 10, 11]
    assert tok.id_to_token(11) == "<tag_3>" and tok.token_to_id("<tag_3>") == 11
    assert tok.token_to_id("<tag_4>") is None and tok.token_to_id("no-such-piece") is None
    with pytest.raises(TandemError, match="reserves 4 tags"):
        tok.tag_id(N_TAGS)
    assert tok.newline_mode == "native"
    assert tok.id_to_token(12) == "<0x00>"  # byte fallback pieces follow the reserved ids


def test_user_defined_symbols_in_text(tok: Tokenizer) -> None:
    ids = tok.encode("[CLM] Sentence: x<tag_2>[MASK]")
    assert tok.clm_id in ids and tok.tag_id(2) in ids and tok.mask_id in ids
    assert tok.decode(ids, skip_special_tokens=False) == "[CLM] Sentence: x<tag_2>[MASK]"
    # Skipping drops [CLM]/[MASK] but keeps tags, which are content for downstream tasks.
    assert tok.decode(ids) == "Sentence: x<tag_2>"
    assert tok.is_tandem_layout


def test_prompt_matches_clm_objective_input(tok: Tokenizer) -> None:
    # The CLM objective builds [CLM] + encode(document); a written "[CLM] " prompt must give the same ids,
    # without the lone dummy-prefix piece SentencePiece puts before a leading user-defined symbol.
    doc = "Sentence: Hallo Welt; Translation in English:"
    assert tok.encode("[CLM] " + doc) == [tok.clm_id, *tok.encode(doc)]
    assert tok.sp.encode("[CLM] " + doc)[:2] == [tok.token_to_id("\u2581"), tok.clm_id]  # what raw SPM does
    assert tok.encode_batch(["[CLM] " + doc, "\nx"]) == [tok.encode("[CLM] " + doc), tok.encode("\nx")]
    assert tok.encode("\nx")[0] == tok.newline_id
    for text in ["[CLM] " + doc, "[DOC]x", "\n\nx", " [CLM] x", "<tag_0> y"]:
        assert tok.decode(tok.encode(text), skip_special_tokens=False) == text
    assert tok.encode(" [CLM] x")[0] != tok.clm_id  # a real leading space stays a token


def test_decode_special_tokens(tok: Tokenizer) -> None:
    text = "Hello world."
    ids = [tok.bos_id, *tok.encode(text), tok.eos_id, tok.pad_id, tok.pad_id]
    assert tok.decode(ids) == text
    assert tok.decode(ids, skip_special_tokens=False) == "<s> Hello world.</s><pad><pad>"
    assert tok.encode(text, add_eos=True) == tok.encode(text) + [2]
    assert tok.encode(text, add_bos=True)[0] == 0
    np = pytest.importorskip("numpy")
    assert tok.decode(np.array(ids)) == text


def test_decode_out_of_range(tok: Tokenizer) -> None:
    # A model's vocabulary may be larger than its tokenizer's (AlexaTM reserves ids; the fixture has 512 ids
    # for 22 pieces), so a generated id past the tokenizer decodes as <unk>, with one warning per tokenizer,
    # as Hugging Face tokenizers decode ids they do not know, instead of taking a whole run down.
    fresh = Tokenizer(tok.model_proto)
    with pytest.warns(UserWarning, match=r"token id 2000 .*vocab size 2000.*<unk>.*model"):
        assert fresh.decode([5, 2000]) == fresh.decode([5, fresh.unk_id])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once only
        assert fresh.decode([2001, 5], skip_special_tokens=False) == fresh.decode(
            [fresh.unk_id, 5], skip_special_tokens=False
        )
    with pytest.raises(TandemError, match=r"token id -100"):
        tok.decode([-100])
    with pytest.raises(TandemError, match="vocab size 2000"):
        tok.id_to_token(2001)


# --- lossless round trips -------------------------------------------------------------------------------


def test_roundtrip_flores_all_languages(tok: Tokenizer, flores: dict[str, Path]) -> None:
    for lang, path in flores.items():
        lines = _read(path)
        assert len(lines) == 1012
        encoded = tok.encode_batch(lines, num_threads=1)
        bad = [s for s, ids in zip(lines, encoded) if tok.decode(ids) != s]
        assert not bad, f"{lang}: {len(bad)} lines do not round-trip, e.g. {bad[0]!r}"
        # Not a byte-level fallback in disguise: learned pieces cover most text.
        n_bytes = sum(len(s.encode("utf-8")) for s in lines)
        n_tokens = sum(map(len, encoded))
        assert n_tokens < 0.6 * n_bytes, lang
        # Multi-line documents: every newline is one token and comes back.
        doc = "\n".join(lines[:3]) + "\n\n" + lines[3] + "\n"
        ids = tok.encode(doc)
        assert ids.count(tok.newline_id) == doc.count("\n") == 5
        assert tok.decode(ids) == doc, lang


def test_roundtrip_whitespace_and_unseen_characters(tok: Tokenizer) -> None:
    for text in [
        "a\nb",
        "\n",
        "  leading and trailing  ",
        "tabs\tand\r\nwindows",
        "full-width ＡＢＣ１２３ vs ABC123",  # NFKC would fold these; tandem keeps them distinct
        "emoji 🦜 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and ᚠᚢᚦ runes",  # unseen characters: byte fallback
        "",
    ]:
        ids = tok.encode(text)
        assert tok.decode(ids) == text
        assert tok.unk_id not in ids
    assert tok.tokenize("x\ny")[-2:] == ["\n", "y"]  # one token, not folded into a space or a byte


def test_encode_batch_matches_encode(tok: Tokenizer, flores: dict[str, Path]) -> None:
    texts = _read(flores["hi"])[:20] + ["a\nb", ""]
    assert tok.encode_batch(texts, add_eos=True) == [tok.encode(t, add_eos=True) for t in texts]
    assert tok.encode_batch([]) == []
    assert tok.tokenize("a\nb") == [tok.id_to_token(i) for i in tok.encode("a\nb")]


def test_save_load(tok: Tokenizer, tmp_path: Path) -> None:
    tok.save(tmp_path / "tok")
    cfg = json.loads((tmp_path / "tok" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert cfg["clm_id"] == 4 and cfg["reserved_tags"] == N_TAGS and cfg["newline_mode"] == "native"
    assert cfg["training"]["sentences"] == 2400 and cfg["training"]["lines_seen"] == 12 * 1012
    text = "[CLM] Satz:\nHallo Welt;"
    for loaded in (Tokenizer.load(tmp_path / "tok"), Tokenizer.load(tmp_path / "tok" / "tokenizer.model")):
        assert loaded.model_proto == tok.model_proto
        assert loaded.encode(text) == tok.encode(text)
        assert (loaded.clm_id, loaded.newline_id, loaded.num_reserved_tags) == (4, 7, N_TAGS)


def test_a_save_killed_midway_leaves_the_earlier_tokenizer_loadable(
    shared_fixtures: Path, tmp_path: Path, monkeypatch
) -> None:
    """Re-saving a tokenizer into a model directory is atomic per file, as the weights are: a save killed
    while it writes (here: half of the bytes written, then the kill) leaves the earlier tokenizer.model whole,
    not a truncated file that SentencePiece refuses."""
    old = Tokenizer.load(shared_fixtures / "alexatm-tiny" / "alexatm-format-spm.model")
    lines = ["the cat sat on the mat", "a dog ran"] * 50
    new = Tokenizer.train(
        iter(lines), vocab_size=22, byte_fallback=False, character_coverage=1.0, num_threads=1
    )
    old.save(tmp_path)
    real = Path.write_bytes

    def killed_midway(self: Path, data: bytes) -> int:
        real(self, data[: len(data) // 2])
        raise KeyboardInterrupt  # stands for SIGKILL

    monkeypatch.setattr(Path, "write_bytes", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        new.save(tmp_path)
    monkeypatch.undo()
    assert Tokenizer.load(tmp_path).model_proto == old.model_proto
    new.save(tmp_path)  # and a save that finishes replaces it, leaving no temporary file
    assert Tokenizer.load(tmp_path).model_proto == new.model_proto
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokenizer.model", "tokenizer_config.json"]


def test_training_is_deterministic(flores: dict[str, Path]) -> None:
    kw = dict(vocab_size=600, input_sentence_size=300, character_coverage=0.99, num_threads=1)
    a = Tokenizer.train([flores["en"], flores["fr"]], seed=3, **kw)
    b = Tokenizer.train([flores["en"], flores["fr"]], seed=3, **kw)
    assert a.model_proto == b.model_proto


# --- foreign models ---------------------------------------------------------------------------------------


def test_alexatm_fixture_model(shared_fixtures: Path, tmp_path: Path) -> None:
    path = shared_fixtures / "alexatm-tiny" / "alexatm-format-spm.model"
    t = Tokenizer.load(path)
    assert t.vocab_size == 22
    assert (t.unk_id, t.bos_id, t.eos_id) == (0, 1, 2)
    # The model has no pad piece (AlexaTM's tokenizer names "[PAD]" but this model lacks it): pad falls back to EOS.
    assert not t.has_pad and t.pad_id == t.eos_id == 2 and t.config()["has_pad"] is False
    # The fixture README says "[CLM]" is user-defined, but the file's 22 pieces are <unk> <s> </s> and 19
    # characters; so clm/doc/mask are absent and "[CLM]" in text encodes as unknowns.
    assert [t.id_to_token(i) for i in range(3)] == ["<unk>", "<s>", "</s>"]
    assert (t.clm_id, t.doc_id, t.mask_id) == (None, None, None)
    # Ids as the AlexaTM reference tokenizer produces them.
    assert t.encode("this is fake data", add_eos=True, add_bos=True) == ALEXATM_REFERENCE_IDS
    assert t.decode(ALEXATM_REFERENCE_IDS) == "this is fake data"
    # No newline piece and no <br>: "\n" becomes a space, stated rather than silent.
    assert t.newline_mode == " "
    assert t.encode("this is\nfake data") == t.encode("this is fake data")
    assert Tokenizer.load(path, newline="?").encode("this\nis") == t.encode("this?is")
    # An AlexaTM checkpoint directory keeps it as 20b_tokenizer.model.
    shutil.copy(path, tmp_path / "20b_tokenizer.model")
    assert Tokenizer.load(tmp_path).encode("fake data") == t.encode("fake data")


def test_alexatm_style_model_with_clm_and_br(flores: dict[str, Path]) -> None:
    lines = _read(flores["en"])[:200]
    proto = _train_raw(
        lines,
        vocab_size=300,
        model_type="unigram",
        user_defined_symbols=["[CLM]", "<br>"],
        normalization_rule_name="nmt_nfkc",
    )
    raw = spm.SentencePieceProcessor(model_proto=proto)
    assert raw.decode(raw.encode("a\nb")) == "a b"  # the model itself loses the newline
    t = Tokenizer(proto)
    assert t.clm_id == raw.piece_to_id("[CLM]") == 3 and t.mask_id is None
    assert t.newline_mode == "<br>"
    assert t.encode("[CLM] Sentence: a\nTranslation:") == t.encode("[CLM] Sentence: a<br>Translation:")
    assert t.decode(t.encode("Sentence: a\nb")) == "Sentence: a<br>b"


def test_t5_style_model(flores: dict[str, Path], tmp_path: Path) -> None:
    lines = _read(flores["de"])[:200]
    proto = _train_raw(
        lines, vocab_size=300, pad_id=0, eos_id=1, unk_id=2, bos_id=-1, normalization_rule_name="nmt_nfkc"
    )
    t = Tokenizer(proto)
    assert (t.pad_id, t.eos_id, t.unk_id, t.bos_id) == (0, 1, 2, None) and t.has_pad
    assert t.newline_mode == " " and t.newline_id is None
    assert t.encode("Hallo\nWelt", add_eos=True) == t.encode("Hallo Welt") + [1]
    with pytest.raises(TandemError, match="no <s>"):
        t.encode("x", add_bos=True)
    # A replacement chosen at load time is saved with the tokenizer.
    (tmp_path / "t5").mkdir()
    (tmp_path / "t5" / "spiece.model").write_bytes(proto)
    t2 = Tokenizer.load(tmp_path / "t5", newline=" ; ")
    t2.save(tmp_path / "t5-tandem")
    t3 = Tokenizer.load(tmp_path / "t5-tandem")
    assert t3.newline_mode == " ; " and t3.encode("a\nb") == t.encode("a ; b")


# --- corpus sampling and spoken-form mixing ---------------------------------------------------------------


def test_sampling_is_uniform_and_seeded(flores: dict[str, Path]) -> None:
    files = list(flores.values())
    owner = {s: lang for lang, p in flores.items() for s in _read(p)}
    a = sample_corpus(files, input_sentence_size=1200, seed=1)
    assert a.seen == 12 * 1012 and len(a.sentences) == 1200 and a.stats["sentences"] == 1200
    assert len(set(a.sentences)) >= 1190 and all(s in owner for s in a.sentences)
    per_lang = Counter(owner[s] for s in a.sentences)
    assert set(per_lang) == set(flores) and all(60 <= c <= 140 for c in per_lang.values()), per_lang
    assert sample_corpus(files, input_sentence_size=1200, seed=1).sentences == a.sentences
    assert sample_corpus(files, input_sentence_size=1200, seed=2).sentences != a.sentences
    # A sample larger than the corpus is the whole corpus, shuffled.
    whole = sample_corpus([flores["en"]], input_sentence_size=5000, seed=0)
    assert sorted(whole.sentences) == sorted(_read(flores["en"]))


def test_spoken_ratio_on_sampled_sentences(flores: dict[str, Path]) -> None:
    files = [flores["en"], flores["de"], flores["ja"]]
    owner = {s: lang for lang in ("en", "de", "ja") for s in _read(flores[lang])}

    def marker(text: str, lang: str) -> str:
        return f"zq{lang}zq {text}"

    s = sample_corpus(
        files, input_sentence_size=900, spoken_ratio=0.7, spoken_lang=["en", "de", "ja"], spoken_fn=marker
    )
    converted = [x for x in s.sentences if x.startswith("zq")]
    assert len(converted) == sum(s.spoken) == round(0.7 * 900) == s.stats["spoken_sentences"]
    assert s.stats["spoken_ratio_measured"] == pytest.approx(0.7, abs=1 / 900)
    for x, flag in zip(s.sentences, s.spoken):
        assert x.startswith("zq") == flag
        if flag:  # verbalised in the language of the file the sentence came from
            lang, _, original = x[2:].partition("zq ")
            assert owner[original] == lang
    # The mix is recorded with the trained tokenizer, whose vocabulary saw the converted text.
    t = Tokenizer.train(
        [flores["en"]],
        vocab_size=500,
        input_sentence_size=300,
        spoken_ratio=0.3,
        spoken_lang="en",
        spoken_fn=marker,
        num_threads=1,
    )
    assert t.train_stats["spoken_sentences"] == 90 and t.train_stats["spoken_ratio"] == 0.3
    # "zq" occurs only in the converted sentences: learned with them, not without.
    assert t.token_to_id("zq") is not None
    written_only = Tokenizer.train([flores["en"]], vocab_size=500, input_sentence_size=300, num_threads=1)
    assert written_only.token_to_id("zq") is None and written_only.train_stats["spoken_sentences"] == 0


def test_spoken_ratio_with_tandem_spoken(flores: dict[str, Path]) -> None:
    spoken = pytest.importorskip("tandem.spoken", reason="tandem.spoken has not landed yet")
    if not hasattr(spoken, "to_spoken"):
        pytest.skip("tandem.spoken.to_spoken has not landed yet")
    s = sample_corpus([flores["en"]], input_sentence_size=100, spoken_ratio=1.0, spoken_lang="en", seed=0)
    plain = sample_corpus([flores["en"]], input_sentence_size=100, seed=0)
    assert all(s.spoken)
    assert s.sentences == [spoken.to_spoken(x, "en") for x in plain.sentences]


def test_jsonl_and_gzip_inputs(tmp_path: Path) -> None:
    import gzip

    docs = [{"text": f"first line {i}\nsecond line {i * 3}", "lang": "en"} for i in range(200)]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    with gzip.open(tmp_path / "b.txt.gz", "wt", encoding="utf-8") as f:
        f.write("".join(f"gzipped sentence {i}\n" for i in range(100)))
    s = sample_corpus([tmp_path / "a.jsonl", tmp_path / "b.txt.gz"])
    assert s.seen == 500 and "first line 7" in s.sentences and "gzipped sentence 42" in s.sentences
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\n{"body": "no text"}\n', encoding="utf-8")
    with pytest.raises(TandemError, match="bad.jsonl line 2: field 'text' missing"):
        sample_corpus([tmp_path / "bad.jsonl"])
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    with pytest.raises(TandemError, match="parquet is not read here"):
        sample_corpus([tmp_path / "x.parquet"])


def test_iterator_input() -> None:
    docs = (f"line {i} of doc\nsecond line {i * 7}\n\n" for i in range(300))
    t = Tokenizer.train(docs, vocab_size=300, num_threads=1)
    assert t.train_stats["sentences"] == 600
    assert t.decode(t.encode("line 12 of doc\nsecond")) == "line 12 of doc\nsecond"


def test_lines_longer_than_sentencepieces_limit_are_trained_on() -> None:
    # SentencePiece skips sentences over max_sentence_length bytes (65536 by default) without a word: a
    # corpus of one such line failed with "INTERNAL ... [!sentences_.empty()]", and in a mixed corpus the
    # long lines were silently left out of training.
    rng = random.Random(0)
    words = ("".join(rng.choice("abcdefgh") for _ in range(5)) for _ in range(12000))
    long_line = " ".join(words) + " Ж"  # ~72 KB, one Cyrillic letter
    assert len(long_line.encode("utf-8")) > 1 << 16
    t = Tokenizer.train(
        iter([long_line]), vocab_size=400, byte_fallback=False, character_coverage=1.0, num_threads=1
    )
    assert t.token_to_id("Ж") is not None
    t = Tokenizer.train(
        iter(["hello world"] * 50 + [long_line]),
        vocab_size=300,
        byte_fallback=False,
        character_coverage=1.0,
        num_threads=1,
    )
    assert t.token_to_id("Ж") is not None and t.token_to_id("g") is not None


def test_long_lines_reach_sentencepiece_in_bounded_pieces(monkeypatch) -> None:
    """SentencePiece trains ~35x slower on 100,000-character lines than on the same text in short lines
    (FLORES-200 English, a 4,000-piece vocabulary: 27.9 s against 0.8 s): lines are cut into pieces of at most
    TRAIN_PIECE_CHARS characters at a space, and all of the text is still trained on."""
    from tandem.tokenizer import TRAIN_PIECE_CHARS

    seen: list[str] = []
    train = spm.SentencePieceTrainer.train

    def spy(**kw):
        seen.extend(kw["sentence_iterator"])
        return train(**{**kw, "sentence_iterator": iter(seen)})

    monkeypatch.setattr(spm.SentencePieceTrainer, "train", spy)
    rng = random.Random(0)
    long_line = " ".join("".join(rng.choice("abcdefgh") for _ in range(5)) for _ in range(5000)) + " Ж"
    t = Tokenizer.train(
        iter(["hello world", long_line]),
        vocab_size=300,
        byte_fallback=False,
        character_coverage=1.0,
        num_threads=1,
    )
    assert max(len(s) for s in seen) <= TRAIN_PIECE_CHARS < len(long_line)
    assert seen.count("hello world") == 1
    assert " ".join(s for s in seen if s != "hello world") == long_line
    assert t.token_to_id("Ж") is not None


def test_training_pieces_cut_at_spaces_or_before_combining_marks() -> None:
    from tandem.tokenizer import training_pieces

    text = " ".join(f"w{i}" for i in range(400))  # 2,289 characters
    pieces = list(training_pieces([text, "short"], limit=100))
    assert all(len(p) <= 100 for p in pieces) and pieces[-1] == "short"
    assert " ".join(pieces[:-1]) == text and not any(p.startswith(" ") for p in pieces)
    thai = "สวัสดีครับ" * 40  # no spaces; ั and ี are combining marks
    cut = list(training_pieces([thai], limit=64))
    assert "".join(cut) == thai and all(len(p) <= 64 for p in cut)
    assert not any(unicodedata.category(p[0]).startswith("M") for p in cut)


def test_byte_order_mark_is_not_training_text(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "bom.txt").write_bytes("\ufeffhello world\nfoo bar\n".encode())
    with gzip.open(tmp_path / "bom.txt.gz", "wb") as f:
        f.write("\ufeffgzipped line\n".encode())
    s = sample_corpus([tmp_path / "bom.txt", tmp_path / "bom.txt.gz"])
    assert sorted(s.sentences) == ["foo bar", "gzipped line", "hello world"]


# --- errors ------------------------------------------------------------------------------------------------


def test_bad_inputs(tmp_path: Path, flores: dict[str, Path]) -> None:
    with pytest.raises(TandemError, match="missing.txt.*is not a file"):
        Tokenizer.train([tmp_path / "missing.txt"], vocab_size=500)
    with pytest.raises(TandemError, match=r"iter\(texts\)"):
        Tokenizer.train(["a sentence, not a path"], vocab_size=500)
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n\n", encoding="utf-8")
    with pytest.raises(TandemError, match="corpus is empty.*blank.txt"):
        Tokenizer.train([blank], vocab_size=500)
    with pytest.raises(TandemError, match="corpus is empty"):
        Tokenizer.train(iter([]), vocab_size=500)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café\n".encode("latin-1"))
    with pytest.raises(TandemError, match="not valid UTF-8"):
        Tokenizer.train([latin1], vocab_size=500)
    small = tmp_path / "small.txt"
    small.write_text("hello world\nhello there\n", encoding="utf-8")
    with pytest.raises(TandemError, match="vocab_size 5000 is too large"):
        Tokenizer.train([small], vocab_size=5000, num_threads=1)
    with pytest.raises(TandemError, match="leaves no room"):
        Tokenizer.train([small], vocab_size=200)
    with pytest.raises(TandemError, match="smaller than the .* characters"):
        Tokenizer.train([flores["ja"]], vocab_size=400, byte_fallback=False, num_threads=1)
    with pytest.raises(TandemError, match="needs spoken_lang"):
        Tokenizer.train([small], vocab_size=500, spoken_ratio=0.5)
    with pytest.raises(TandemError, match=r"spoken_ratio must be in \[0, 1\]"):
        Tokenizer.train([small], vocab_size=500, spoken_ratio=1.5, spoken_lang="en")
    with pytest.raises(TandemError, match="2 languages for 1 files"):
        Tokenizer.train([small], vocab_size=500, spoken_ratio=0.5, spoken_lang=["en", "de"])

    def broken(text: str, lang: str) -> str:
        raise KeyError(lang)

    with pytest.raises(TandemError, match="language 'xx' failed: KeyError"):
        Tokenizer.train([small], vocab_size=500, spoken_ratio=0.5, spoken_lang="xx", spoken_fn=broken)
    with pytest.raises(TandemError, match="model_type"):
        Tokenizer.train([small], model_type="wordpiece")
    # was SentencePiece's "INTERNAL: ... [trainer_spec.num_threads() >= 1 && ...]", after reading the corpus
    for threads in (-1, 2000):
        with pytest.raises(
            TandemError,
            match=rf"num_threads \(--threads\) must be in 1..1024 \(0: the default\), got {threads}",
        ):
            Tokenizer.train([small], vocab_size=500, num_threads=threads)
    # SentencePiece's range is [0.98, 1]: 0.5 was accepted, then failed as "INTERNAL: ... trainer_interface.cc"
    for coverage in (0.5, 0.979, 1.5):
        with pytest.raises(TandemError, match=r"--character-coverage\) must be in \[0.98, 1\]"):
            Tokenizer.train([small], vocab_size=500, character_coverage=coverage)
    # a negative seed failed with a pybind11 TypeError from SentencePiece
    with pytest.raises(TandemError, match=r"seed \(--seed\) must be an integer >= 0, got -1"):
        Tokenizer.train([small], vocab_size=500, seed=-1)


def test_seeds_beyond_32_bits_train(tmp_path: Path) -> None:
    """SentencePiece's seed is 32-bit: one of 2**32 or more (pretrain takes seeds below 2**64) gave a pybind11
    TypeError; it trains, and the same seed gives the same tokenizer."""
    lines = [f"the {w} of line {i} is here" for i, w in enumerate(["cat", "dog", "bird", "fish"] * 40)]
    kw = dict(vocab_size=40, byte_fallback=False, character_coverage=1.0, num_threads=1, seed=2**40 + 7)
    a = Tokenizer.train(iter(lines), **kw)
    b = Tokenizer.train(iter(lines), **kw)
    assert a.config()["training"]["seed"] == 2**40 + 7
    assert [a.id_to_token(i) for i in range(a.vocab_size)] == [b.id_to_token(i) for i in range(b.vocab_size)]


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(TandemError, match="not found"):
        Tokenizer.load(tmp_path / "nope.model")
    with pytest.raises(TandemError, match="no tokenizer.model"):
        Tokenizer.load(tmp_path)
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"this is not a sentencepiece model")
    with pytest.raises(TandemError, match="bad.model.*not a valid SentencePiece model"):
        Tokenizer.load(bad)
    # any other JSON file (a model's config.json passed as --tokenizer) is not called a tokenizer.json
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text('{"d_model": 32}')
    with pytest.raises(TandemError, match=r"config.json: a JSON file, not a SentencePiece model") as e:
        Tokenizer.load(hf / "config.json")
    assert "tokenizer.json" not in str(e.value)
    # a Hugging Face tokenizer directory is read through transformers (tests/test_hf_tokenizer.py); one it
    # cannot read is named, in a directory or as its tokenizer.json
    pytest.importorskip("transformers")
    (hf / "tokenizer.json").write_text('{"version": "1.0", "model": {"type": "BPE", "vocab": {}}}')
    with pytest.raises(TandemError, match="hf: transformers could not load the Hugging Face tokenizer"):
        Tokenizer.load(hf)
    with pytest.raises(TandemError, match="hf: transformers could not load the Hugging Face tokenizer"):
        Tokenizer.load(hf / "tokenizer.json")


@pytest.mark.parametrize(
    "field,value", [("newline_replacement", 5), ("newline_replacement", ["<br>"]), ("model_file", 5)]
)
def test_a_mistyped_tokenizer_config_field_is_a_clear_error(
    shared_fixtures: Path, tmp_path: Path, field: str, value
) -> None:
    """A hand-edited tokenizer_config.json is refused naming the file and the field (was a TypeError
    traceback, or for a list a tokenizer whose every encode of a newline failed)."""
    Tokenizer.load(shared_fixtures / "alexatm-tiny" / "alexatm-format-spm.model").save(tmp_path)
    cfg = tmp_path / "tokenizer_config.json"
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), field: value}))
    with pytest.raises(TandemError, match=rf"tokenizer_config.json: field '{field}' must be a string"):
        Tokenizer.load(tmp_path)


def test_a_null_model_file_in_tokenizer_config_is_the_default(shared_fixtures: Path, tmp_path: Path) -> None:
    tok = Tokenizer.load(shared_fixtures / "alexatm-tiny" / "alexatm-format-spm.model")
    tok.save(tmp_path)
    cfg = tmp_path / "tokenizer_config.json"
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "model_file": None}))
    assert Tokenizer.load(tmp_path).model_proto == tok.model_proto


# --- CLI ------------------------------------------------------------------------------------------------------


def test_cli_train_encode_decode(flores: dict[str, Path], tmp_path: Path, capsys, monkeypatch) -> None:
    out = tmp_path / "tok"
    args = ["tokenizer", "train", "--input", str(flores["en"]), str(flores["fr"]), "--vocab-size", "700"]
    args += ["--input-sentence-size", "400", "--reserved-tags", "2", "--threads", "1", "--out", str(out)]
    assert cli_main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["clm_id"] == 4 and summary["reserved_tags"] == 2 and summary["vocab_size"] == 700
    t = Tokenizer.load(out)
    assert (
        cli_main(["tokenizer", "encode", "--tokenizer", str(out), "--text", "Hello\nworld", "--add-eos"]) == 0
    )
    ids = [int(x) for x in capsys.readouterr().out.split()]
    assert ids == t.encode("Hello\nworld", add_eos=True)
    assert cli_main(["tokenizer", "decode", "--tokenizer", str(out), "--ids", " ".join(map(str, ids))]) == 0
    assert capsys.readouterr().out == "Hello\nworld\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("Bonjour\n"))
    assert cli_main(["tokenizer", "encode", "--tokenizer", str(out), "--pieces"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (
        row["ids"] == t.encode("Bonjour")
        and "".join(row["pieces"]).replace("\u2581", " ").strip() == "Bonjour"
    )
    assert cli_main(["tokenizer", "decode", "--tokenizer", str(out), "--ids", "5,99999"]) == 2
    assert "token id 99999" in capsys.readouterr().err
    assert cli_main(["tokenizer", "train", "--input", str(tmp_path / "none.txt"), "--out", str(out)]) == 2
    assert "none.txt" in capsys.readouterr().err


@pytest.mark.parametrize("ids", ["[5, 2.5]", "[5, true]", '["5"]', "5 2.5"])
def test_cli_decode_refuses_ids_that_are_not_integers(tok: Tokenizer, tmp_path: Path, capsys, ids) -> None:
    # a JSON list went through int(): 2.5 decoded as id 2 and true as id 1, without a word
    tok.save(tmp_path / "tok")
    assert cli_main(["tokenizer", "decode", "--tokenizer", str(tmp_path / "tok"), "--ids", ids]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "cannot read token ids" in err


def test_cli_encode_then_decode_keeps_blank_lines(
    tok: Tokenizer, tmp_path: Path, capsys, monkeypatch
) -> None:
    # encode prints an empty line for an empty text; decode skipped blank lines, so the lines of
    # `encode | decode` no longer matched the input's
    tok.save(tmp_path / "tok")
    monkeypatch.setattr("sys.stdin", io.StringIO("Hello\n\nworld\n"))
    assert cli_main(["tokenizer", "encode", "--tokenizer", str(tmp_path / "tok")]) == 0
    encoded = capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO(encoded))
    assert cli_main(["tokenizer", "decode", "--tokenizer", str(tmp_path / "tok")]) == 0
    assert capsys.readouterr().out == "Hello\n\nworld\n"


def test_options_that_would_be_ignored_are_refused_or_reported() -> None:
    lines = ["the quick brown fox jumps over the lazy dog"] * 20
    # --lang without --spoken-ratio converted nothing and said nothing
    with pytest.raises(TandemError, match=r"--lang.*no spoken_ratio.*add --spoken-ratio"):
        Tokenizer.train(iter(lines), vocab_size=300, spoken_lang="en", num_threads=1)
    # an explicit ratio of 0 is a choice, not an oversight
    t = Tokenizer.train(
        iter(lines), vocab_size=36, byte_fallback=False, spoken_ratio=0.0, spoken_lang="en", num_threads=1
    )
    assert t.train_stats["spoken_sentences"] == 0
    # a char model takes the corpus characters whatever --vocab-size says: the size it got is reported
    with pytest.warns(UserWarning, match=r"char vocabulary has (\d+) pieces, not the 8000 asked for"):
        t = Tokenizer.train(iter(lines), vocab_size=8000, model_type="char", num_threads=1)
    assert t.vocab_size < 8000


# --- audit: prompts with T5/UL2 symbols, invalid text, iterators, damaged files, word models ---------------


def test_ul2_mode_and_sentinel_prompts_match_objective_input() -> None:
    # The UL2 objective builds [mode] + encode(document); a written "[NLU] " prompt began with a lone
    # dummy-prefix "▁" before [NLU] (only [CLM], [DOC], [MASK], newline and tags were exempt).
    from tandem.tokenizer import objective_symbols

    lines = [f"sentence number {i} says hello to the world" for i in range(200)]
    t = Tokenizer.train(iter(lines), vocab_size=400, extra_symbols=objective_symbols("ul2"), num_threads=1)
    doc = "Sentence: hello world"
    for sym, i in [
        ("[NLU]", t.mode_ids["R"]),
        ("[S2S]", t.mode_ids["S"]),
        ("<extra_id_0>", t.sentinel_ids[0]),
    ]:
        assert t.encode(f"{sym} {doc}") == [i, *t.encode(doc)], sym
        assert t.encode_batch([f"{sym} {doc}"]) == [[i, *t.encode(doc)]]
        assert t.decode(t.encode(f"{sym} {doc}"), skip_special_tokens=False) == f"{sym} {doc}"
    assert t.encode(f" [NLU] {doc}")[0] != t.mode_ids["R"]  # a real leading space stays a token


def test_lone_surrogates_are_named_errors(tok: Tokenizer, tmp_path: Path, capsys, monkeypatch) -> None:
    # SentencePiece failed with "RuntimeError: Unable to cast Python instance of type <class 'str'> ..."
    # (encode) and "TypeError: List elements must be str or bytes" (encode_batch)
    with pytest.raises(TandemError, match=r"lone surrogate '\\ud800' at character 1"):
        tok.encode("a\ud800b")
    with pytest.raises(TandemError, match=r"text #1 .*lone surrogate '\\udcff' at character 2"):
        tok.encode_batch(["fine", "ab\udcffc"])
    # invalid UTF-8 on stdin arrives as surrogates (surrogateescape): the CLI names the line
    tok.save(tmp_path / "tok")
    monkeypatch.setattr("sys.stdin", io.StringIO("fine\ncaf\udce9\n"))
    assert cli_main(["tokenizer", "encode", "--tokenizer", str(tmp_path / "tok")]) == 2
    assert "stdin line 2:" in capsys.readouterr().err


def test_encode_batch_of_an_iterator_and_of_one_string(tok: Tokenizer) -> None:
    # An iterator was consumed by the encode, then again by the lone-prefix pass: the result was []
    texts = ["Hello world.", "[CLM] Satz: x", "a\nb"]
    assert tok.encode_batch(iter(texts), add_eos=True) == [tok.encode(t, add_eos=True) for t in texts]
    assert tok.encode_batch(t for t in texts) == [tok.encode(t) for t in texts]
    with pytest.raises(TandemError, match="not one text"):
        tok.encode_batch("Hello")  # was one encoding per character


def test_invalid_utf8_names_the_line_and_file_offset(tmp_path: Path) -> None:
    import gzip

    lines = [f"sentence number {i} with some words".encode() for i in range(5000)]
    lines[3000] = "caf\xe9 au lait".encode("latin-1")
    data = b"\n".join(lines) + b"\n"
    offset = data.index(b"\xe9")
    (tmp_path / "bad.txt").write_bytes(data)
    with gzip.open(tmp_path / "bad.txt.gz", "wb") as f:
        f.write(data)
    # was "near byte 3397": an offset into the decoder's current chunk, not into the file
    for name in ("bad.txt", "bad.txt.gz"):
        with pytest.raises(TandemError, match=rf"{name}: line 3001 is not valid UTF-8 .*offset {offset}\b"):
            sample_corpus([tmp_path / name])
    (tmp_path / "utf16.txt").write_bytes("hello world\n".encode("utf-16"))
    with pytest.raises(TandemError, match="utf16.txt: UTF-16 text"):
        sample_corpus([tmp_path / "utf16.txt"])


def test_truncated_gzip_is_a_named_error(tmp_path: Path) -> None:
    import gzip

    data = gzip.compress(b"".join(b"line %d of some text\n" % i for i in range(20000)))
    (tmp_path / "cut.txt.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(TandemError, match="cut.txt.gz: not a complete gzip file"):  # was a bare EOFError
        sample_corpus([tmp_path / "cut.txt.gz"])


def test_word_model_is_refused(flores: dict[str, Path]) -> None:
    # Trained with SentencePiece's word model (what model_type="word" did), the layout does not hold:
    # newlines vanish, [CLM] is no token, unknown words decode with a literal "▁".
    raw = Tokenizer(
        _train_raw(
            _read(flores["en"])[:300],
            model_type="word",
            vocab_size=600,
            user_defined_symbols=["[CLM]", "\n"],
            byte_fallback=True,
            normalization_rule_name="identity",
            remove_extra_whitespaces=False,
        )
    )
    assert raw.decode(raw.encode("Xyzzy\nfoo")) != "Xyzzy\nfoo"
    with pytest.raises(TandemError, match="model_type 'word' cannot keep tandem's layout"):
        Tokenizer.train(iter(_read(flores["en"])[:300]), vocab_size=600, model_type="word", num_threads=1)


def test_vocab_size_is_checked_before_the_corpus_is_read() -> None:
    read = []

    def texts():
        for i in range(100):
            read.append(i)
            yield f"line {i}"

    with pytest.raises(TandemError, match="leaves no room"):
        Tokenizer.train(texts(), vocab_size=100)
    assert read == []  # was: the whole corpus sampled (and spoken-converted) first


def test_control_pieces_typed_in_text_are_text(tok: Tokenizer) -> None:
    # A user cannot end or pad a sequence by typing "</s>": SentencePiece never matches control pieces in
    # text; user-defined symbols ([CLM], tags) are matched, as in pretraining data (README, Tokenizer).
    controls = {tok.bos_id, tok.eos_id, tok.pad_id, tok.unk_id}
    for text in ["</s>", "a </s> b<pad><s>", "<unk>"]:
        ids = tok.encode(text)
        assert not controls & set(ids) and tok.decode(ids) == text
    assert tok.encode("x [MASK] y").count(tok.mask_id) == 1


def test_alpha_balances_languages_in_the_tokenizer_sample(tmp_path, capsys):
    """Lines were drawn uniformly over all files, so the largest language filled the sample. With alpha each
    language's share is ∝ lines^alpha (mT5/XLM-R style), uniform within it; a small language is repeated."""
    sizes = {"en": 1000, "de": 100, "hi": 10}
    files = []
    for lang, n in sizes.items():
        f = tmp_path / f"{lang}.txt"
        f.write_text("".join(f"{lang} line {i}\n" for i in range(n)), encoding="utf-8")
        files.append(f)

    def shares(sample):
        return Counter(s.split()[0] for s in sample.sentences)

    # shares 300 * n^0.5 / sum: 211.7, 66.9, 21.2 -> 212, 67, 21 (largest remainders)
    half = sample_corpus(files, input_sentence_size=300, alpha=0.5, seed=1)
    assert shares(half) == {"en": 212, "de": 67, "hi": 21}
    assert half.stats["languages"][str(files[2])] == {"lines": 10, "drawn": 21}
    hi = Counter(s for s in half.sentences if s.startswith("hi"))
    assert sorted(hi.values()) == [2] * 9 + [3]  # two whole copies, then one line more
    assert len({s for s in half.sentences if s.startswith("en")}) == 212  # no repeats where there is enough
    assert shares(sample_corpus(files, input_sentence_size=300, alpha=0.0)) == {
        "en": 100,
        "de": 100,
        "hi": 100,
    }
    assert shares(sample_corpus(files, input_sentence_size=1110, alpha=1.0)) == sizes  # all lines, once
    assert sample_corpus(files, input_sentence_size=300, alpha=0.5, seed=1).sentences == half.sentences
    # several files of one language share its share
    extra = tmp_path / "en2.txt"
    extra.write_text("".join(f"en more {i}\n" for i in range(300)), encoding="utf-8")
    two = sample_corpus(
        [*files, extra], input_sentence_size=300, alpha=0.0, file_langs=["en", "de", "hi", "en"]
    )
    assert shares(two) == {"en": 100, "de": 100, "hi": 100}
    assert two.stats["languages"]["en"] == {"lines": 1300, "drawn": 100}
    for bad, match in [
        (dict(alpha=1.5), r"alpha \(--alpha\) must be a number in \[0, 1\]"),
        (dict(alpha=0.3, file_langs=["en"]), "1 languages for 3 input files"),
        (dict(file_langs=["en", "de", "hi"]), "only matters with alpha"),
    ]:
        with pytest.raises(TandemError, match=match):
            sample_corpus(files, **bad)
    with pytest.raises(TandemError, match="give files, not an iterator"):
        sample_corpus(iter(["a b", "c d"]), alpha=0.3)
    # CLI: --lang names the files' languages without --spoken-ratio; the sample is recorded
    out = tmp_path / "tok"
    args = ["tokenizer", "train", "--input", *map(str, files), "--out", str(out), "--vocab-size", "300"]
    assert cli_main([*args, "--alpha", "0", "--lang", "en", "de", "hi", "--input-sentence-size", "300"]) == 0
    training = Tokenizer.load(out).config()["training"]
    assert training["alpha"] == 0 and training["languages"]["hi"] == {"lines": 10, "drawn": 100}


def test_binary_lines_are_skipped_and_named(tmp_path: Path) -> None:
    """Lines holding NUL characters are binary data: skipped, counted per file in train_stats, and named in
    the error when nothing else is left (it said "vocab_size ... too large (1 sentences ...)")."""
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00" * 5000)
    with pytest.raises(TandemError, match=r"corpus is empty.*1 line of .*blob\.bin skipped: NUL characters"):
        Tokenizer.train([blob], vocab_size=400, num_threads=1)
    text = tmp_path / "text.txt"
    text.write_bytes(b"".join(f"line {i} of plain words\n".encode() for i in range(50)) + b"a\x00b\n" * 3)
    sample = sample_corpus([text])
    assert sample.seen == 50 and not any("\x00" in s for s in sample.sentences)
    assert sample.stats["binary_lines_skipped"] == {str(text): 3}
    balanced = sample_corpus([text], alpha=0.3, file_langs=["en"])
    assert balanced.seen == 50 and balanced.stats["binary_lines_skipped"] == {str(text): 3}


def test_extra_symbols_written_in_text_are_one_id_without_stray_prefix() -> None:
    # Only tandem's own symbols, T5 sentinels and UL2 mode tokens were exempt from the lone dummy-prefix "▁":
    # "<sep> doc" encoded as ["▁", "<sep>", ...], unlike "[CLM] doc" and unlike [sep_id] + encode(doc).
    lines = [f"sentence number {i} says hello to the world" for i in range(200)]
    t = Tokenizer.train(iter(lines), vocab_size=300, extra_symbols=["<sep>", "[Q]"], num_threads=1)
    doc = "hello world"
    for sym in ("<sep>", "[Q]"):
        i = t.token_to_id(sym)
        assert t.encode(f"{sym} {doc}") == [i, *t.encode(doc)], sym
        assert t.encode_batch([f"{sym} {doc}"]) == [[i, *t.encode(doc)]]
        # mid-sentence: the symbol is one id, the space before it SentencePiece's own "▁" (as for [CLM])
        assert t.tokenize(f"{doc} {sym} {doc}") == [*t.tokenize(doc), "\u2581", sym, *t.tokenize(doc)]
        for text in (f"{sym} {doc}", f"{doc} {sym} {doc}", f"{doc}{sym}{doc}", f" {sym} {doc}"):
            assert t.encode(text).count(i) == 1
            assert t.decode(t.encode(text), skip_special_tokens=False) == text
    assert t.encode(f" <sep> {doc}")[0] != t.token_to_id("<sep>")  # a real leading space stays a token


def test_extra_symbols_with_a_space_are_refused() -> None:
    # SentencePiece writes spaces as "▁" before matching symbols: "[a b]" was accepted and never matched text
    with pytest.raises(TandemError, match=r"extra_symbols: \['\[a b\]'\] hold a space"):
        Tokenizer.train(iter(["a b c"] * 50), vocab_size=300, extra_symbols=["[a b]"], num_threads=1)


def test_over_long_lines_are_skipped_in_bounded_memory_and_named(tmp_path: Path) -> None:
    """A line over 1,000,000 characters (the Reader's max_doc_chars) was read whole and trained on as one
    sentence (a 300 MB single-line file took GBs): it is skipped, read to its end in bounded chunks, counted
    in train_stats and named (file and line) in a warning and in the empty-corpus error."""
    import tracemalloc

    limit = 1_000_000  # tandem.tokenizer.MAX_SENTENCE_CHARS
    short = [f"line {i} of plain words" for i in range(20)]
    huge = "word " * 1_600_000  # 8,000,000 characters on one line
    text = tmp_path / "text.txt"
    text.write_text("\n".join([*short[:10], huge, *short[10:]]) + "\n")
    tracemalloc.start()
    try:
        with pytest.warns(UserWarning, match=r"text\.txt line 11 skipped: longer than 1,000,000 char"):
            sample = sample_corpus([text])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sorted(sample.sentences) == sorted(short)
    assert peak < 3 * limit < len(huge) / 2, peak  # never held whole, nor near it
    # a line of exactly the limit is kept
    text.write_text("\n".join([*short[:10], "x" * limit, huge, *short[10:]]) + "\n")
    with pytest.warns(UserWarning, match=r"text\.txt line 12 skipped: longer than 1,000,000 char"):
        sample = sample_corpus([text])
    assert sorted(sample.sentences) == sorted([*short, "x" * limit])
    assert sample.stats["long_lines_skipped"] == {str(text): [1, f"{text} line 12"]}
    with pytest.warns(UserWarning, match="line 12"):
        balanced = sample_corpus([text], alpha=0.3, file_langs=["en"])
    assert balanced.seen == 21 and balanced.stats["long_lines_skipped"] == {str(text): [1, f"{text} line 12"]}

    # .jsonl: a "text" line over the limit, and a JSON line too long to parse (16 x the limit)
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        json.dumps({"text": "short one\n" + "y" * 101}) + "\n" + json.dumps({"text": "z" * 1700}) + "\n"
    )
    with pytest.warns(UserWarning) as caught:
        sample = sample_corpus([rows], max_sentence_chars=100)
    assert sample.sentences == ["short one"]
    assert sample.stats["long_lines_skipped"] == {str(rows): [2, f"{rows} line 1"]}
    assert f"2 lines of {rows} (the first: {rows} line 1) skipped" in str(caught[0].message)

    # nothing left: the error says why
    only = tmp_path / "only.txt"
    only.write_text("a" * 101 + "\n")
    with pytest.raises(TandemError, match=r"corpus is empty.*only\.txt line 1 skipped: longer than 100 char"):
        Tokenizer.train([only], vocab_size=400, num_threads=1, max_sentence_chars=100)
    with pytest.warns(UserWarning, match=r"text #1 line 2 skipped"):
        sample = sample_corpus(iter(["a b", "c d\n" + "e" * 101]), max_sentence_chars=100)
    assert sorted(sample.sentences) == ["a b", "c d"]
    only.write_text(
        "a" * 101 + "\n" + "".join(f"sentence number {i} says hello to the world\n" for i in range(200))
    )
    args = ["tokenizer", "train", "--input", str(only), "--vocab-size", "300", "--threads", "1"]
    with pytest.warns(UserWarning, match="only.txt line 1 skipped"):
        assert cli_main([*args, "--out", str(tmp_path / "tok"), "--max-sentence-chars", "100"]) == 0
    training = Tokenizer.load(tmp_path / "tok").config()["training"]
    assert training["long_lines_skipped"] == {str(only): [1, f"{only} line 1"]}


def test_alpha_languages_are_read_as_language_tags(tmp_path: Path) -> None:
    # --lang eng en with --alpha balanced "eng" and "en" as two languages (and "en_US", "en-US" too)
    a = tmp_path / "a.txt"
    a.write_text("".join(f"first file line {i}\n" for i in range(30)))
    b = tmp_path / "b.txt"
    b.write_text("".join(f"second file line {i}\n" for i in range(10)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the note that 'eng' is read as 'en'
        sample = sample_corpus([a, b], alpha=0.0, file_langs=["eng", "en"], input_sentence_size=40)
    assert sample.stats["languages"] == {"en": {"lines": 40, "drawn": 40}}
    sample = sample_corpus([a, b], alpha=0.0, file_langs=["en_us", "EN-US"], input_sentence_size=40)
    assert sample.stats["languages"] == {"en-US": {"lines": 40, "drawn": 40}}


def test_cli_info_names_the_model_file_it_read(tmp_path: Path, capsys) -> None:
    """`tokenizer info --tokenizer some/name.model` reported "tokenizer.model" (the name save() writes) for a
    bare .model file; it names the file read, and a saved directory still reports its tokenizer.model."""
    rng = random.Random(0)
    words = "the cat sat on a mat and looked at one small red bird in the old green tree".split()
    lines = [" ".join(rng.choice(words) for _ in range(10)) for _ in range(600)]
    tok = Tokenizer.train(iter(lines), vocab_size=290)
    saved = tok.save(tmp_path / "tok")
    bare = tmp_path / "mine.model"
    shutil.copy(saved / "tokenizer.model", bare)
    assert cli_main(["tokenizer", "info", "--tokenizer", str(bare)]) == 0
    assert json.loads(capsys.readouterr().out)["model_file"] == "mine.model"
    assert cli_main(["tokenizer", "info", "--tokenizer", str(saved)]) == 0
    assert json.loads(capsys.readouterr().out)["model_file"] == "tokenizer.model"
    assert (Tokenizer.load(bare).save(tmp_path / "again") / "tokenizer.model").is_file()  # save() as before


def test_sample_corpus_reads_text_lang_pairs_each_in_its_own_language():
    """A multilingual iterator (as `tandem pretrain` reads --data) gives (text, lang) pairs: with spoken_ratio
    and no spoken_lang each drawn line is verbalised in its own language; lang None stays written."""
    from tandem.tokenizer import sample_corpus

    texts = [("It costs $5.", "en"), ("Il coûte 5 €.", "fr"), ("Habari 5.", None)] * 20
    s = sample_corpus(iter(texts), spoken_ratio=1.0, seed=0)
    assert sorted(set(s.sentences)) == ["Habari 5.", "il coûte cinq euros", "it costs five dollars"]
    assert s.stats["spoken_sentences"] == 40 and sum(s.spoken) == 40
    assert sample_corpus(iter(texts), seed=0).stats["spoken_sentences"] == 0  # no ratio: langs unused
    with pytest.raises(TandemError, match="text #1 is a str: spoken_ratio needs spoken_lang"):
        sample_corpus(iter([("a", "en"), "b"]), spoken_ratio=0.5)
    with pytest.raises(TandemError, match="'xx' is not supported"):
        sample_corpus(iter([("a", "xx")]), spoken_ratio=0.5)
    with pytest.raises(TandemError, match="spoken_ratio needs spoken_lang"):
        sample_corpus(iter(["a b"]), spoken_ratio=0.5)


# The AlexaTM repository's own tokenizer test (test/test_tokenizer.py at amazon-science/alexa-teacher-models):
# AlexaTMTokenizerFast on its fake-spm.model (the fixture's alexatm-format-spm.model) encodes "this is fake
# data" as these ids, <s> (1) first and </s> (2) last: its post-processor frames every text <s> $A </s>
ALEXATM_REFERENCE_IDS = [1, 3, 9, 13, 7, 5, 3, 7, 5, 3, 12, 6, 8, 4, 3, 21, 6, 9, 6, 2]


@pytest.mark.parametrize("how", ["release file name", "tokenizer_class", "saved"])
def test_an_alexatm_tokenizer_frames_texts_as_its_release_does(shared_fixtures: Path, tmp_path: Path, how):
    """A SentencePiece model read from AlexaTM's release (20b_tokenizer.model, or a tokenizer_config.json
    naming AlexaTMTokenizerFast) frames sources and targets `<s> ... </s>`, the reference tokenizer's ids; a
    tandem save keeps it. Before, every SentencePiece model framed `... </s>`, so a [CLM] prompt to an AlexaTM
    checkpoint lacked the <s> the reference feeds it."""
    from tandem.tokenizer import affixes, frame

    spm_file = shared_fixtures / "alexatm-tiny" / "alexatm-format-spm.model"
    if not spm_file.is_file():
        pytest.skip(f"{spm_file} is absent")
    d = tmp_path / "release"
    d.mkdir()
    if how == "tokenizer_class":
        shutil.copy(spm_file, d / "spiece.model")
        (d / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "AlexaTMTokenizerFast"}))
    else:
        shutil.copy(spm_file, d / "20b_tokenizer.model")
    tok = Tokenizer.load(d)
    if how == "saved":
        tok = Tokenizer.load(tok.save(tmp_path / "saved"))
    for target in (False, True):
        assert frame(tok.encode("this is fake data"), affixes(tok, target))[0] == ALEXATM_REFERENCE_IDS
    # the same model under another name frames as tandem's tokenizers do
    plain = Tokenizer.load(spm_file)
    assert frame(plain.encode("this is fake data"), affixes(plain))[0] == ALEXATM_REFERENCE_IDS[1:]


def test_an_alexatm_tokenizer_written_for_transformers_frames_as_the_reference(
    shared_fixtures: Path, tmp_path
):
    """`write_for_transformers` (convert --to hf) of AlexaTM's tokenizer writes a tokenizer.json whose template
    is the reference's `<s> $A </s>`: transformers gives the AlexaTM repository's test ids (it wrote `$A </s>`),
    and the tandem tokenizer read back from the folder still frames so."""
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    from tandem.hf_tokenizer import write_for_transformers

    spm_file = shared_fixtures / "alexatm-tiny" / "alexatm-format-spm.model"
    if not spm_file.is_file():
        pytest.skip(f"{spm_file} is absent")
    (tmp_path / "release").mkdir()
    shutil.copy(spm_file, tmp_path / "release" / "20b_tokenizer.model")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # its own check finds transformers' ids equal to tandem's framed ones
        out = write_for_transformers(Tokenizer.load(tmp_path / "release"), tmp_path / "hf")
    hf = AutoTokenizer.from_pretrained(str(out))
    assert hf("this is fake data").input_ids == ALEXATM_REFERENCE_IDS
    assert Tokenizer.load(out).source_affixes() == ([1], [2])
