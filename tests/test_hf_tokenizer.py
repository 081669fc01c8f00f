"""Hugging Face tokenizers: BART's byte-level BPE and mBART's shifted SentencePiece read through
`Tokenizer.load` with the ids transformers gives, a tiny random BART checkpoint generating and scoring with
it, and tandem tokenizers written for `AutoTokenizer` with tandem's exact ids. Everything is built here."""

from __future__ import annotations

import io
import json
import random
import warnings
from pathlib import Path

import pytest
import torch

from _hf_tiny import TINY_BART_DIMS
from tandem.cli import main as cli_main
from tandem.errors import TandemError
from tandem.tokenizer import Tokenizer

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")
spm = pytest.importorskip("sentencepiece")

CORPUS = [
    "Hello world, this is a tiny corpus for a tiny tokenizer.",
    "The quick brown fox jumps over the lazy dog.",
    "héllo wörld, ünïcode ✓ and 日本語 too",
    "first line\nsecond line",
    "Numbers 123 and 456.78; punctuation!?",
]
TEXTS = [
    "Hello world",
    "The lazy fox.\nA second line",
    "  leading and trailing spaces  ",
    "unicode ✓ 日本 🙂 ｆｕｌｌ",
    "",
    "[CLM] Sentence: a prompt",
]


def _bart_tokenizer_dir(d: Path) -> Path:
    """A BART tokenizer directory as the Hub ships one: byte-level BPE vocab.json + merges.txt."""
    bpe = tokenizers.ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        CORPUS * 20,
        vocab_size=320,
        min_frequency=1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
    )
    d.mkdir(parents=True, exist_ok=True)
    bpe.save_model(str(d))  # vocab.json, merges.txt
    (d / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BartTokenizer"}))
    return d


def _mbart_tokenizer_dir(d: Path) -> tuple[Path, bytes]:
    """An mBART tokenizer directory: a SentencePiece BPE model (fairseq's <unk>=0 <s>=1 </s>=2 layout)."""
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 20),
        model_writer=buf,
        vocab_size=120,
        model_type="bpe",
        character_coverage=1.0,
        minloglevel=2,
    )
    d.mkdir(parents=True, exist_ok=True)
    (d / "sentencepiece.bpe.model").write_bytes(buf.getvalue())
    (d / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "MBartTokenizer", "src_lang": "en_XX", "tgt_lang": "ro_RO"})
    )
    return d, buf.getvalue()


def _auto(d: Path):
    return transformers.AutoTokenizer.from_pretrained(str(d), local_files_only=True)


# --- reading Hugging Face tokenizers ----------------------------------------------------------------------


def test_bart_tokenizer_ids_are_transformers(tmp_path: Path) -> None:
    d = _bart_tokenizer_dir(tmp_path / "bart")
    ref = _auto(d)
    tok = Tokenizer.load(d)  # was: "no tokenizer.model ... in this directory"
    assert (tok.bos_id, tok.pad_id, tok.eos_id, tok.unk_id, tok.mask_id) == (0, 1, 2, 3, 4)
    assert tok.vocab_size == len(ref) and tok.clm_id is None and tok.newline_mode == "native"
    for text in TEXTS:
        want = ref(text).input_ids
        assert want[0] == 0 and want[-1] == 2  # <s> ... </s>
        assert tok.encode(text, add_eos=True) == want
        assert tok.encode(text) == want[1:-1] == ref(text, add_special_tokens=False).input_ids
        assert tok.decode(want) == text  # byte-level BPE is lossless; <s> and </s> are skipped
        assert tok.decode(want, skip_special_tokens=False) == "<s>" + text + "</s>"
    assert tok.encode_batch(TEXTS, add_eos=True) == [ref(t).input_ids for t in TEXTS]
    assert tok.token_to_id("<mask>") == 4 and tok.id_to_token(2) == "</s>"
    # the tokenizer.json file, the directory Tokenizer.save writes, and a re-load of it give the same ids
    saved = tmp_path / "saved"
    tok.save(saved)
    assert (
        Tokenizer.load(saved / "tokenizer.json").encode("Hello world", add_eos=True)
        == ref("Hello world").input_ids
    )
    # what a wrapper cannot be: a SentencePiece model
    with pytest.raises(TandemError, match="needs a SentencePiece tokenizer"):
        tok.sp  # noqa: B018
    assert not hasattr(tok, "model_proto")
    with pytest.raises(TandemError, match="tandem tokenizer train"):
        type(tok).train(["x"])
    with pytest.raises(TandemError, match="out of range"):
        tok.decode([-100])


def test_mbart_tokenizer_offset_and_language_codes(tmp_path: Path) -> None:
    d, proto = _mbart_tokenizer_dir(tmp_path / "mbart")
    sp = spm.SentencePieceProcessor(model_proto=proto)
    ref = _auto(d)
    tok = Tokenizer.load(d)  # was: refused, "fairseq's offset"
    en, ro = ref.convert_tokens_to_ids("en_XX"), ref.convert_tokens_to_ids("ro_RO")
    assert tok.src_lang == "en_XX" and (tok.bos_id, tok.pad_id, tok.eos_id, tok.unk_id) == (0, 1, 2, 3)
    for text in ["Hello world", "The quick brown fox.", "héllo wörld ✓"]:
        ids = tok.encode(text, add_eos=True)
        assert ids == ref(text).input_ids
        # fairseq's layout: every SentencePiece id + 1, then </s> and the source language code
        assert ids == [i + 1 for i in sp.encode(text)] + [2, en]
        assert tok.decode(ids) == text
    # mBART's normaliser turns a newline into a space, as transformers' tokenizer does
    assert tok.encode("a\nb", add_eos=True) == ref("a\nb").input_ids and tok.newline_mode == " "
    tok.src_lang = "ro_RO"
    assert tok.encode("Hello", add_eos=True)[-2:] == [2, ro]
    with pytest.raises(TandemError, match="not a token"):
        tok.src_lang = "xx_YY"


def test_hf_directory_without_transformers_is_named(tmp_path: Path, monkeypatch) -> None:
    d = _bart_tokenizer_dir(tmp_path / "bart")
    monkeypatch.setitem(__import__("sys").modules, "transformers", None)  # import transformers fails
    with pytest.raises(TandemError, match=r"reads through transformers: pip install 'tandem\[interop\]'"):
        Tokenizer.load(d)


# --- a tiny BART checkpoint end to end --------------------------------------------------------------------


@pytest.fixture(scope="module")
def bart_checkpoint(tmp_path_factory) -> Path:
    d = _bart_tokenizer_dir(tmp_path_factory.mktemp("bart-ckpt"))
    hf_tok = _auto(d)
    torch.manual_seed(0)
    cfg = transformers.BartConfig(
        vocab_size=len(hf_tok),
        **TINY_BART_DIMS,
        dropout=0.0,
        init_std=0.2,  # each input gets its own output
    )
    model = transformers.BartForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        model.final_logits_bias[0, 2] = -1e4  # never ends early: every output is max_new_tokens long
    model.save_pretrained(str(d))
    hf_tok.save_pretrained(str(d))
    return d


def test_bart_checkpoint_generates_as_transformers(bart_checkpoint: Path, capsys) -> None:
    d = bart_checkpoint
    prompts = ["Hello world", "The quick brown fox jumps", "ünïcode ✓"]
    hf_tok, hf = _auto(d), transformers.BartForConditionalGeneration.from_pretrained(str(d)).eval()
    want = []
    for p in prompts:
        ids = hf_tok(p, return_tensors="pt")
        out = hf.generate(**ids, max_new_tokens=8, do_sample=False, num_beams=1)
        want.append(hf_tok.decode(out[0], skip_special_tokens=True))
    assert len(set(want)) == len(want)
    args = ["generate", str(d), "--max-new-tokens", "8", "--num-beams", "1", "--json"]
    assert cli_main(args + [x for p in prompts for x in ("--prompt", p)]) == 0
    got = [json.loads(line)["output"] for line in capsys.readouterr().out.splitlines()]
    assert got == want
    # converted to tandem's format, the directory keeps its tokenizer (was: weights only) and its outputs
    conv = d.parent / "bart-as-tandem"
    assert cli_main(["convert", str(d), "--to", "tandem", "--out", str(conv)]) == 0
    capsys.readouterr()
    assert cli_main(["generate", str(conv), "--max-new-tokens", "8", "--json", "--prompt", prompts[0]]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == want[0]


def test_mbart_checkpoint_generates_as_transformers(tmp_path: Path, capsys) -> None:
    """The source carries mBART's `</s> en_XX` suffix; the target language is the model's decoder start."""
    d, _ = _mbart_tokenizer_dir(tmp_path / "mbart")
    hf_tok = _auto(d)
    torch.manual_seed(0)
    cfg = transformers.MBartConfig(
        vocab_size=len(hf_tok),
        **TINY_BART_DIMS,
        scale_embedding=True,
        init_std=0.2,
    )
    hf = transformers.MBartForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        hf.final_logits_bias[0, 2] = -1e4
    hf.generation_config.decoder_start_token_id = hf_tok.convert_tokens_to_ids("ro_RO")
    hf.save_pretrained(str(d))
    hf_tok.save_pretrained(str(d))
    prompts = ["Hello world", "The quick brown fox"]
    want = []
    for p in prompts:
        out = hf.generate(**hf_tok(p, return_tensors="pt"), max_new_tokens=8, do_sample=False, num_beams=1)
        want.append(hf_tok.decode(out[0], skip_special_tokens=True))
    assert len(set(want)) == len(want)
    args = ["generate", str(d), "--max-new-tokens", "8", "--num-beams", "1", "--json"]
    assert cli_main(args + [x for p in prompts for x in ("--prompt", p)]) == 0
    assert [json.loads(line)["output"] for line in capsys.readouterr().out.splitlines()] == want


def test_bart_checkpoint_evaluates_finetunes_and_distills(bart_checkpoint: Path, tmp_path: Path) -> None:
    row = {"premise": "The fox ran.", "choice1": "It was quick.", "choice2": "It was lazy."}
    copa = tmp_path / "copa.jsonl"
    copa.write_text(json.dumps({**row, "question": "cause", "label": 0, "idx": 0}) + "\n")
    ev = tmp_path / "eval"
    args = ["evaluate", "--model", str(bart_checkpoint), "--tasks", f"copa={copa}", "--out", str(ev)]
    assert cli_main([*args, "--no-progress", "--no-clm-prefix"]) == 0
    assert json.loads((ev / "metrics.json").read_text())["results"]["copa"]["num_scored"] == 1
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"source": "Hello world", "target": "héllo wörld ✓"}) + "\n")
    out = tmp_path / "ft"
    args = ["finetune", "--model", str(bart_checkpoint), "--data", str(data), "--out", str(out)]
    assert cli_main([*args, "--max-steps", "1", "--batch-size", "1"]) == 0
    dist = tmp_path / "distill"
    args = ["distill", "--teacher", str(bart_checkpoint), "--student", "tiny", "--data", str(data)]
    with pytest.warns(UserWarning, match="not smaller than its teacher"):
        assert cli_main([*args, "--out", str(dist), "--max-steps", "1", "--batch-size", "1"]) == 0
    assert Tokenizer.load(dist / "student_1" / "final").vocab_size == len(_auto(bart_checkpoint))
    # the fine-tuned model keeps the Hugging Face tokenizer beside it
    best = next(p.parent for p in sorted(out.rglob("config.json")))
    assert (
        Tokenizer.load(best).encode("Hello world", add_eos=True)
        == _auto(bart_checkpoint)("Hello world").input_ids
    )


def _after_deleting_spans(source: list[int], target: list[int]) -> bool:
    """Whether `source` is `target` with some tokens deleted (in order, nothing added)."""
    rest = iter(target)
    return all(any(t == s for t in rest) for s in source)


def test_generic_distillation_of_a_bart_teacher_denoises(
    bart_checkpoint: Path, tmp_path: Path, capsys
) -> None:
    """`tandem distill --generic` with a Hugging Face teacher (no [CLM] token; was refused: "needs a tokenizer
    with a [CLM] token"): the generic stage trains on AlexaTM denoising examples only, framed as transformers
    frames sources and labels, and says so once."""
    from tandem.distill import generic_examples

    ref = _auto(bart_checkpoint)
    tok = Tokenizer.load(bart_checkpoint)
    texts = [" ".join(random.Random(i).choices(CORPUS[1].split(), k=12)) for i in range(8)]
    with pytest.warns(UserWarning, match=r"no \[CLM\] token.*denoising.*--add-symbols") as caught:
        examples = generic_examples(texts, tok, max_len=64, seed=0)
    assert sum("[CLM]" in str(w.message) for w in caught) == 1
    assert [e.index for e in examples] == [1_000_000_000 + i for i in range(len(texts))]
    dropped = 0
    for text, e in zip(texts, examples):
        assert e.target == ref(text_target=text).input_ids  # the whole text, framed as labels: <s> ... </s>
        full = ref(text).input_ids
        assert e.source[:1] == full[:1] and e.source[-1:] == full[-1:]  # framed as sources: <s> ... </s>
        assert _after_deleting_spans(e.source[1:-1], full[1:-1]), (e.source, full)
        dropped += len(full) - len(e.source)
    assert dropped > 0  # spans were deleted
    # the generic stage runs end to end
    data, generic = tmp_path / "train.jsonl", tmp_path / "generic.txt"
    data.write_text(json.dumps({"source": "Hello world", "target": "héllo wörld"}) + "\n")
    generic.write_text("\n".join(texts) + "\n")
    dist = tmp_path / "distill"
    args = ["distill", "--teacher", str(bart_checkpoint), "--student", "tiny", "--data", str(data)]
    args += ["--generic", str(generic), "--out", str(dist), "--max-steps", "1", "--batch-size", "1"]
    with pytest.warns(UserWarning) as caught:
        assert cli_main(args) == 0
    assert sum("no [CLM] token" in str(w.message) for w in caught) == 1
    assert f"stage 1: generic distillation on {len(texts)} " in capsys.readouterr().out
    assert (dist / "student_1" / "generic").is_dir() and (
        dist / "student_1" / "final" / "config.json"
    ).is_file()


def test_bart_checkpoint_rank_scoring(bart_checkpoint: Path) -> None:
    from tandem import Seq2SeqLM
    from tandem.prompting.lm import EncoderDecoder
    from tandem.prompting.scoring import rank_choices

    d = bart_checkpoint
    tok = Tokenizer.load(d)
    lm = EncoderDecoder(Seq2SeqLM.from_pretrained(d), tok)
    res = rank_choices(lm, ["Is the fox quick? Answer:"], [[" yes", " no"]])
    # the reference: transformers' BART scores the same ids (source as `tok(text)` frames it: <s> ... </s>;
    # decoder start </s>)
    hf = transformers.BartForConditionalGeneration.from_pretrained(str(d)).eval()
    src = torch.tensor([_auto(d)("Is the fox quick? Answer:").input_ids])
    for choice, score in zip([" yes", " no"], res[0].raw):
        cont = tok.encode("Is the fox quick? Answer:" + choice)[
            len(tok.encode("Is the fox quick? Answer:")) :
        ]
        dec = torch.tensor([[2, *cont[:-1]]])
        with torch.no_grad():
            lp = hf(input_ids=src, decoder_input_ids=dec).logits.log_softmax(-1)[0]
        assert score.logprob == pytest.approx(float(lp[range(len(cont)), cont].sum()), abs=1e-4)


# --- writing tandem tokenizers for transformers -------------------------------------------------------------


def _random_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    alphabet = list("abc xyz\n\t✓日🙂éHlo.,") + ["[CLM]", "<tag_1>", " ", "  ", "Hello", "[MASK]", "world"]
    alphabet += ["[CL", "<tag_", "\n\n", "<0x41>", "ｆ", "ﬁ", "<extra_id_1>"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(n)]


def _lines() -> list[str]:
    rng = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyzéü✓日本"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(1, 7))) for _ in range(300)]
    return [" ".join(rng.choice(words) for _ in range(8)) for _ in range(300)] + CORPUS * 30


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_convert_to_hf_tokenizer_gives_tandem_ids(model_type: str, tmp_path: Path) -> None:
    from tandem.hf_tokenizer import write_for_transformers

    lines = _lines()
    sentinels = [
        "<extra_id_0>",
        "<extra_id_1>",
    ]  # T5-objective symbols: no lone prefix is dropped before them
    tok = Tokenizer.train(
        iter(lines), vocab_size=420, model_type=model_type, reserved_tags=3, extra_symbols=sentinels
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the written tokenizer passes its own check
        write_for_transformers(tok, tmp_path)
    ref = _auto(tmp_path)
    texts = TEXTS + _random_texts(2000) + lines[:100] + ["[CLM] a prompt\nwith a newline", "\n", " [CLM] x"]
    for text in texts:
        assert ref(text).input_ids == tok.encode(text, add_eos=True), repr(text)
    assert ref("[CLM] Hello").input_ids[0] == tok.clm_id and ref("x").input_ids[-1] == tok.eos_id
    assert ref.eos_token_id == tok.eos_id and ref.pad_token_id == tok.pad_id
    # tandem still reads its own model from the directory, with its settings
    again = Tokenizer.load(tmp_path)
    assert again.model_proto == tok.model_proto and again.num_reserved_tags == 3


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_foreign_sentencepiece_written_for_transformers(model_type: str, tmp_path: Path) -> None:
    """A T5-style SentencePiece model (NFKC normalisation, whitespace collapsed, no byte fallback, newline
    replaced by a space) loaded in tandem and written for transformers keeps its ids."""
    from tandem.hf_tokenizer import write_for_transformers

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_lines()[:300]),
        model_writer=buf,
        vocab_size=250,
        model_type=model_type,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        user_defined_symbols=["<extra_id_0>"],
        minloglevel=2,
    )
    tok = Tokenizer(buf.getvalue())
    assert not tok.is_tandem_layout and tok.newline_mode == " "
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_for_transformers(tok, tmp_path)
    ref = _auto(tmp_path)
    for text in TEXTS + _random_texts(1000, seed=5) + ["①②", "<extra_id_0> x", "a\n\nb"]:
        assert ref(text).input_ids == tok.encode(text, add_eos=True), repr(text)


def test_cli_convert_to_hf_writes_autotokenizer(tiny_tandem_lm, tmp_path: Path, capsys) -> None:
    tok, model = tiny_tandem_lm(_lines(), 300, 64)
    src = tmp_path / "tandem"
    model.save_pretrained(src, tokenizer=tok)
    out = tmp_path / "hf"
    assert cli_main(["convert", str(src), "--to", "hf", "--out", str(out)]) == 0
    cfg = json.loads((out / "tokenizer_config.json").read_text())
    assert (
        cfg["tokenizer_class"] != "tandem.Tokenizer"
    )  # was tandem's own config: a generic, EOS-less tokenizer
    ref = _auto(out)
    for text in TEXTS + _random_texts(300, seed=3):
        assert ref(text).input_ids == tok.encode(text, add_eos=True), repr(text)


def test_edge_export_takes_the_hf_tokenizer_or_names_what_is_missing(
    bart_checkpoint: Path, tmp_path: Path, capsys
) -> None:
    import shutil

    pytest.importorskip("ctranslate2")
    rc = cli_main(["export", str(bart_checkpoint), "--format", "ct2", "--out", str(tmp_path / "edge")])
    assert rc == 0 and (tmp_path / "edge" / "tokenizer.json").is_file()  # (see test_edge_hf.py)
    bare = tmp_path / "weights-only"
    bare.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy2(bart_checkpoint / name, bare / name)
    rc = cli_main(["export", str(bare), "--format", "ct2", "--out", str(tmp_path / "edge2")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "no tokenizer found" in err and "--tokenizer FILE" in err and "tokenizer.json" in err, err
    tok_json = str(bart_checkpoint / "tokenizer.json")
    rc = cli_main(
        ["export", str(bare), "--format", "ct2", "--out", str(tmp_path / "e3"), "--tokenizer", tok_json]
    )
    assert rc == 0 and (tmp_path / "e3" / "tokenizer.json").is_file()


def test_char_model_keeps_tandem_files_with_a_warning(tmp_path: Path) -> None:
    from tandem.hf_tokenizer import write_for_transformers

    tok = Tokenizer.train(iter(_lines()), vocab_size=300, model_type="char")
    with pytest.warns(UserWarning, match="tokenizer.model only, no tokenizer.json.*char SentencePiece model"):
        write_for_transformers(tok, tmp_path)
    assert not (tmp_path / "tokenizer.json").exists()
    assert Tokenizer.load(tmp_path).model_proto == tok.model_proto
