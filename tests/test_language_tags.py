"""Language tags: sources are grouped for sampling by their BCP 47 spelling ("en_US", "en-us" and "en-US" are
one language; "en" and "en-US" two, with a warning), empty or malformed tags are named errors, and spoken form
reads a regional tag with its language's rules."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from tandem.data import PretrainStream, Source, language_weights
from tandem.data.sampling import language_tag
from tandem.errors import TandemError
from tandem.objectives import CLMObjective
from tandem.spoken import to_spoken
from tandem.spoken.tables import canonical_language

PAD, EOS, CLM = 1, 2, 3


class CharTok:
    """A text encodes to its characters' code points (+ 10), so a batch decodes back to the text."""

    pad_id, eos_id, clm_id, doc_id, vocab_size = PAD, EOS, CLM, None, 1 << 21

    def encode(self, text: str, add_eos: bool = False) -> list[int]:
        return [ord(c) + 10 for c in text] + ([EOS] if add_eos else [])


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    return path


def stream(sources: list[Source], **kw) -> PretrainStream:
    return PretrainStream(sources, CharTok(), CLMObjective(CLM), 64, 8, alpha=kw.pop("alpha", 0.0), **kw)


def test_tags_that_differ_in_case_or_underscore_are_one_language(tmp_path):
    """ "en_US", "en-us" and "EN-US" are one language, "en-US" (BCP 47 tags ignore case; "_" is the POSIX
    spelling of "-"): with alpha 0 it gets the same share as "de", not three shares to one."""
    en = [
        write(tmp_path / f"en{k}.txt", [f"hello world number {k} {j}" for j in range(20)]) for k in range(3)
    ]
    de = write(tmp_path / "de.txt", ["hallo welt " * 3] * 20)
    sources = [Source(en[0], "en_US"), Source(en[1], "en-us"), Source(en[2], "EN-US"), Source(de, "de")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same language spelt three ways is not a mistake to warn of
        s = stream(sources)
    assert s.languages == ["de", "en-US"]
    assert s.lang_probs == pytest.approx({"de": 0.5, "en-US": 0.5})
    assert s.lang_sizes["en-US"] == pytest.approx(sum(f.stat().st_size for f in en))
    s1 = stream(sources, alpha=0.5)
    assert s1.lang_probs == pytest.approx(language_weights(s1.lang_sizes, 0.5))
    for _ in range(5):
        next(s)
    assert set(s.stats["docs"]) <= {"de", "en-US"} and s.stats["docs"]["en-US"] > 0
    assert [Source(en[0], t).name for t in ("en_US", "EN-US")] == [
        "en_US:en0.txt",
        "EN-US:en0.txt",
    ]  # as given


def test_a_language_with_and_without_a_region_is_sampled_as_two_with_a_warning(tmp_path):
    a = write(tmp_path / "a.txt", ["one two three four"] * 10)
    b = write(tmp_path / "b.txt", ["five six seven eight"] * 10)
    msg = r"languages 'en', 'en-US' are sampled as 2 languages .*if they are one language, give their sources one tag"
    with pytest.warns(UserWarning, match=msg):
        s = stream([Source(a, "en"), Source(b, "en_US")])
    assert s.languages == ["en", "en-US"] and s.lang_probs == pytest.approx({"en": 0.5, "en-US": 0.5})
    assert sum("'en', 'en-US' are sampled as 2" in p for p in s.stats["problems"]) == 1
    state = s.state_dict()
    with pytest.warns(UserWarning, match=msg):  # each stream built says it
        s2 = stream([Source(a, "en"), Source(b, "en_US")])
    s2.load_state_dict(state)
    assert (
        sum("'en', 'en-US' are sampled as 2" in p for p in s2.stats["problems"]) == 1
    )  # once, after a resume


def test_a_state_saved_with_unnormalised_language_keys_resumes_exactly(tmp_path):
    """A checkpoint written when "en_US" keyed its own buffer and counts continues as the same stream."""
    f = write(tmp_path / "en.txt", [" ".join(f"w{k}{j}" for j in range(30)) for k in range(40)])
    ref = stream([Source(f, "en_US")])
    for _ in range(3):
        next(ref)
    state = ref.state_dict()
    want = [next(ref)["input_ids"].tolist() for _ in range(3)]
    old = {**state, "buffers": {"en_US": state["buffers"]["en-US"]}}
    old["stats"] = {**state["stats"], "docs": {"en_US": state["stats"]["docs"]["en-US"]}}
    s = stream([Source(f, "en_US")])
    s.load_state_dict(old)
    assert [next(s)["input_ids"].tolist() for _ in range(3)] == want
    assert set(s.stats["docs"]) == {"en-US"}


@pytest.mark.parametrize(
    ("tag", "want"),
    [("en", "en"), ("EN", "en"), ("en_us", "en-US"), ("pt_BR", "pt-BR"), ("zh_hans_cn", "zh-Hans-CN"),
     ("es-419", "es-419"), ("eng_Latn", "en-Latn"), ("GER-ch", "de-CH"), ("arb", "arb"),
     ("cmn-Hans", "cmn-Hans")],
)  # fmt: skip
@pytest.mark.filterwarnings("ignore:language '(eng|ger)' is read as:UserWarning")  # the note is tested below
def test_language_tag_spelling(tag, want):
    assert language_tag(tag) == want


@pytest.mark.parametrize(
    ("tag", "match"),
    [("", "(must be a language code|the language tag is empty)"), ("  ", "the language tag is empty"), ("en US", "not a language tag"),
     ("en-", "not a language tag"), ("en/US", "not a language tag"), ("français", "not a language tag")],
)  # fmt: skip
def test_empty_or_malformed_tags_are_named_errors(tmp_path, tag, match):
    f = write(tmp_path / "x.txt", ["a b c d"])
    with pytest.raises(TandemError, match=rf"^source {f}: lang.*{match}"):
        Source(f, tag)
    with pytest.raises(TandemError, match=rf"^source {f}: lang.*{match}"):
        Source.coerce({"path": str(f), "lang": tag})
    with pytest.raises(TandemError, match=rf"^spoken form: .*{match}"):
        canonical_language(tag)


def test_spoken_form_reads_a_regional_tag_with_its_languages_rules(tmp_path):
    """A source tagged "pt_BR" or "en-US" gets the pt / en rules (not "no spoken form")."""
    for tag, base in (("pt_BR", "pt"), ("en-US", "en"), ("EN", "en")):
        f = write(tmp_path / f"{tag}.txt", ["5 7 5 7 5 7 5 7"] * 4)
        s = stream([Source(f, tag)], spoken_fraction=1.0)
        batch = next(s)
        text = "".join(chr(t - 10) for row in batch["labels"].tolist() for t in row if t > 10)
        spoken = to_spoken("5 7 5 7 5 7 5 7", base)
        assert s.stats["spoken_docs"] > 0 and not any("no spoken form" in p for p in s.stats["problems"])
        assert text and set(text) <= set(spoken) and spoken != "5 7 5 7 5 7 5 7", tag


def test_a_language_guessed_from_an_odd_file_name_says_how_to_give_it(tmp_path, monkeypatch):
    """`--data "my corpus.txt"` guesses the language 'my corpus' from the name, which is no tag: the error
    says it was guessed and how to give the language; `en:PATH` then reads the same file."""
    from types import SimpleNamespace

    from tandem.train.trainer import _sources

    monkeypatch.chdir(tmp_path)
    Path("my corpus.txt").write_text("hello world\n", encoding="utf-8")
    with pytest.raises(TandemError, match=r"guessed from the file name \('my corpus'\).*LANG:PATH.*--langs"):
        _sources(SimpleNamespace(data=["my corpus.txt"], langs=None))
    (src,) = _sources(SimpleNamespace(data=["en:my corpus.txt"], langs=None))
    assert src.lang == "en" and src.path == str(Path.cwd() / "my corpus.txt")  # read by absolute path
    # a name that passes as a tag but names no language: 'train' (5 letters) was sampled as a language
    for name in ("train.txt", "data.jsonl", "wiki_dump.txt"):
        Path(name).write_text("hello world\n", encoding="utf-8")
        with pytest.raises(
            TandemError, match=rf"guessed from the file name \('{name.split('.')[0].split('_')[0]}'\)"
        ):
            _sources(SimpleNamespace(data=[name], langs=None))
    # a 2-3 letter name that is no ISO 639 language (tandem.langcodes), or a code that is also a common word in
    # corpus file names ('all' is Allar's, 'txt' Citak's, 'dev' Dehu's): 'all' and 'foo' were languages
    for name in (
        "all.txt",
        "foo.txt",
        "txt.jsonl",
        "abc_def.txt",
        "dev.txt",
        "src-train.txt",
        "new_data.txt",
    ):
        Path(name).write_text("hello world\n", encoding="utf-8")
        code = name.split(".")[0].split("_")[0].split("-")[0]
        with pytest.raises(
            TandemError, match=rf"\('{code}'\), which is not taken as a language.*ISO 639.*LANG:PATH"
        ):
            _sources(SimpleNamespace(data=[name], langs=None))
        # given explicitly, a tag stays free-form
        assert _sources(SimpleNamespace(data=[f"{code}:{name}"], langs=None))[0].lang == code
        assert _sources(SimpleNamespace(data=[name], langs=["x-private"]))[0].lang == "x-private"
    for name, lang in (
        ("de.txt", "de"),
        ("arz_Arab.devtest", "arz"),
        ("yue_Hant.devtest", "yue"),
        ("yue.txt", "yue"),  # ISO 639-3 codes without a two-letter one were refused
        ("nan.jsonl", "nan"),
        ("ast.txt", "ast"),
        ("haw.txt", "haw"),
        ("pt-BR.txt", "pt"),
        ("ger.txt", "de"),
        ("FR.txt", "fr"),
    ):
        Path(name).write_text("hallo\n", encoding="utf-8")
        assert _sources(SimpleNamespace(data=[name], langs=None))[0].lang == lang
    (src,) = _sources(SimpleNamespace(data=["my corpus.txt"], langs=["de"]))
    assert src.lang == "de"


def test_a_language_taken_from_a_folder_name_is_said_with_how_to_give_it(tmp_path, monkeypatch, capsys):
    """`--data corpus/bad` took the folder name 'bad' as the language, a valid-looking tag, silently. Now a
    folder name that is a language code is taken with a note (once, rank 0) saying how to give the language;
    LANG:PATH and --langs say nothing; a folder name that is no tag or no ISO 639 language is an error naming
    the folder name."""
    from types import SimpleNamespace

    from tandem.train.trainer import _build_data, _sources

    monkeypatch.chdir(tmp_path)
    for d in ("corpus/bad", "corpus/no", "my corpus"):
        (tmp_path / d).mkdir(parents=True)
    write(tmp_path / "corpus" / "bad" / "a.txt", ["5 7 5 7 5 7"] * 4)
    write(tmp_path / "corpus" / "no" / "a.txt", ["5 7 5 7 5 7"] * 4)
    write(tmp_path / "en.txt", ["5 7 5 7 5 7"] * 4)
    notes: list[str] = []
    srcs = _sources(SimpleNamespace(data=["corpus/no", "en.txt"], langs=None), notes)
    assert [s.lang for s in srcs] == ["no", "en"]  # 'no': Norwegian, as far as a name can tell
    assert notes == [
        "note: --data corpus/no: the language is taken from the folder name ('no'); if that is not its "
        "language, give it as LANG:PATH (e.g. en:corpus/no) or with --langs"
    ]
    # 'bad' (Banda's ISO 639-2 code, but a word) is refused, not sampled as a language; 'yue' is Cantonese
    with pytest.raises(TandemError, match=r"folder name \('bad'\).*also a common word.*LANG:PATH"):
        _sources(SimpleNamespace(data=["corpus/bad"], langs=None), [])
    (tmp_path / "corpus" / "yue").mkdir()
    write(tmp_path / "corpus" / "yue" / "a.txt", ["5 7 5 7"])
    assert [s.lang for s in _sources(SimpleNamespace(data=["corpus/yue"], langs=None), [])] == ["yue"]
    for data, langs in ((["de:corpus/bad"], None), (["corpus/bad"], ["de"])):
        notes = []
        (src,) = _sources(SimpleNamespace(data=data, langs=langs), notes)
        assert src.lang == "de" and notes == []
    from tandem.train.trainer import TrainConfig

    cfg = TrainConfig.from_dict({"data": ["corpus/no"], "seq_len": 16, "batch_size": 2, "objective": "clm"})
    for rank in (0, 1):
        _build_data(cfg, CharTok(), rank, 2)
        out = capsys.readouterr().out
        assert out.count("taken from the folder name ('no')") == (rank == 0), out
    write(tmp_path / "my corpus" / "a.txt", ["5 7 5 7"])
    with pytest.raises(TandemError, match=r"guessed from the folder name \('my corpus'\).*LANG:PATH"):
        _sources(SimpleNamespace(data=["my corpus"], langs=None))


def test_three_letter_codes_with_a_two_letter_code_are_that_language_noted_once(tmp_path, monkeypatch):
    """ "eng" (ISO 639-3, FLORES-200's file names) and "en" were sampled as two languages, and "deu" had no
    spoken form: BCP 47 writes a language with its ISO 639-1 code where it has one. The rewrite is noted once
    per code; individual languages of a macrolanguage ("arb", "cmn") keep their codes, as in BCP 47."""
    import tandem.langcodes

    monkeypatch.setattr(tandem.langcodes, "_noted", set())
    en = write(tmp_path / "en.txt", [f"hello world number {j}" for j in range(20)])
    eng = write(tmp_path / "eng.txt", [f"hello again number {j}" for j in range(20)])
    de = write(tmp_path / "de.txt", ["hallo welt " * 3] * 20)
    with pytest.warns(UserWarning) as caught:
        s = stream([Source(en, "en"), Source(eng, "eng"), Source(de, "ger")])
        stream([Source(eng, "eng_US")])
    notes = [str(w.message) for w in caught if "is read as" in str(w.message)]
    assert notes == [
        "language 'eng' is read as 'en': BCP 47 writes a language with its two-letter ISO 639-1 code where it "
        "has one, so 'eng' and 'en' are one language (noted once)",
        "language 'ger' is read as 'de': BCP 47 writes a language with its two-letter ISO 639-1 code where it "
        "has one, so 'ger' and 'de' are one language (noted once)",
    ]
    assert s.languages == ["de", "en"] and s.lang_probs == pytest.approx({"de": 0.5, "en": 0.5})
    with pytest.warns(UserWarning, match="'deu' is read as 'de'"):
        assert canonical_language("deu") == "de"
    assert to_spoken("3 Katzen", "deu") == to_spoken("3 Katzen", "de") != "3 Katzen"


def test_file_names_and_bleu_tokenizers_read_three_letter_codes_from_the_table():
    from tandem.evaluation.metrics import bleu_tokenizer
    from tandem.train.trainer import lang_from_name

    names = [
        "eng_Latn.devtest",
        "ger.txt",
        "arb_Arab.devtest",
        "kor_Hang.dev",
        "swe.txt",
        "de.txt",
        "xyz.txt",
        "pes_Arab.devtest",
        "zsm_Latn.devtest",
        "swh_Latn.devtest",
        "arz_Arab.devtest",
    ]
    want = ["en", "de", "ar", "ko", "sv", "de", "xyz", "fa", "ms", "sw", "arz"]
    assert [lang_from_name(n) for n in names] == want  # FLORES's standard varieties are their macrolanguage
    assert [bleu_tokenizer(x) for x in ("chi", "zho_Hans", "yue_Hant", "deu_Latn")] == [
        "zh",
        "zh",
        "zh",
        "13a",
    ]


def test_the_iso_639_table_matches_the_iso_codes_data():
    """Every ISO 639-3 code with a Part 1 equivalent and every ISO 639-2/B code of one, as Debian's
    iso-codes package lists them."""
    import json

    from tandem.langcodes import TWO_LETTER

    root = Path("/usr/share/iso-codes/json")
    if not (root / "iso_639-3.json").is_file():
        pytest.skip("the iso-codes package (/usr/share/iso-codes/json) is not installed")
    part3 = json.loads((root / "iso_639-3.json").read_text(encoding="utf-8"))["639-3"]
    part2 = json.loads((root / "iso_639-2.json").read_text(encoding="utf-8"))["639-2"]
    want = {x["alpha_3"]: x["alpha_2"] for x in part3 if "alpha_2" in x}
    want |= {x["bibliographic"]: x["alpha_2"] for x in part2 if "bibliographic" in x and "alpha_2" in x}
    assert TWO_LETTER == want


def test_every_iso_639_3_and_639_2_language_code_is_known():
    """`tandem.langcodes.KNOWN` held only the codes with a two-letter equivalent, so `yue.txt`, `nan.txt` or
    `ast.txt` were refused as names of no language. Every ISO 639-3 individual language and macrolanguage and
    every ISO 639-2 code is known now (as Debian's iso-codes package lists them), the special codes (`mul`,
    `und`, `zxx`, `mis`, local use `qaa`-`qtz`) not; codes without a two-letter one stay as themselves."""
    import json

    from tandem.langcodes import KNOWN, TWO_LETTER, two_letter
    from tandem.train.trainer import CORPUS_WORDS

    for code in ("yue", "cmn", "nan", "hak", "ast", "ceb", "fil", "haw", "ajp", "ber", "eng", "ger", "en"):
        assert code in KNOWN, code
    for code in ("mul", "und", "zxx", "mis", "qaa", "qtz", "foo", "xyz"):
        assert code not in KNOWN, code
    assert two_letter("yue") == "yue" and two_letter("cmn") == "cmn"
    assert CORPUS_WORDS <= KNOWN  # a deny-list entry that is no code would be refused anyway
    root = Path("/usr/share/iso-codes/json")
    if not (root / "iso_639-3.json").is_file():
        pytest.skip("the iso-codes package (/usr/share/iso-codes/json) is not installed")
    part3 = json.loads((root / "iso_639-3.json").read_text(encoding="utf-8"))["639-3"]
    part2 = json.loads((root / "iso_639-2.json").read_text(encoding="utf-8"))["639-2"]
    want = {x["alpha_3"] for x in part3 if x["scope"] in ("I", "M")}
    want |= {x[k] for x in part2 for k in ("alpha_3", "bibliographic") if k in x}
    want -= {"mis", "mul", "und", "zxx", "qaa-qtz"}
    want |= set(TWO_LETTER.values())
    assert want <= KNOWN
    # the rest are codes ISO 639-3 added after iso-codes 4.15 (pycountry 26.2.16's table)
    assert len(KNOWN - want) < 100 and all(len(c) == 3 and c.isalpha() for c in KNOWN - want)
