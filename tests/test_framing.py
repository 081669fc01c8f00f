"""How sources and targets are framed with a tokenizer's special tokens (`tandem.tokenizer.affixes`): every
place tandem builds model inputs or labels from text frames them as Hugging Face's tokenizer does
(`tok(source, text_target=target)`): BART `<s> ... </s>`, mBART `... </s> lang`, mBART-50 `lang ... </s>`;
tandem's own SentencePiece tokenizers keep `... </s>`. The references are transformers' tokenizers and
models and lm-eval's `hf` seq2seq model; everything is built here, nothing is downloaded."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

from tandem.errors import TandemError
from tandem.tokenizer import Tokenizer, affixes, frame

transformers = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
pytest.importorskip("sentencepiece")

from _hf_tiny import TINY_BART_DIMS  # noqa: E402
from test_hf_tokenizer import _auto, _bart_tokenizer_dir, _lines, _mbart_tokenizer_dir  # noqa: E402

SOURCES = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog.",
    "héllo wörld ✓",
    "[CLM] Sentence: a prompt",
]
TARGETS = ["The lazy fox.", "Numbers 123 and 456.78; punctuation!? and more punctuation", "x", "ünïcode"]


def _mbart50_dir(d: Path, tmp: Path) -> Path:
    """An mBART-50 tokenizer directory (language code before the text) from the mBART SentencePiece model."""
    m, _ = _mbart_tokenizer_dir(tmp / "mbart-sp")
    d.mkdir(parents=True)
    (d / "sentencepiece.bpe.model").write_bytes((m / "sentencepiece.bpe.model").read_bytes())
    (d / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "MBart50Tokenizer", "src_lang": "en_XX", "tgt_lang": "ro_RO"})
    )
    return d


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("framing")
    return {
        "bart": _bart_tokenizer_dir(tmp / "bart"),
        "mbart": _mbart_tokenizer_dir(tmp / "mbart")[0],
        "mbart50": _mbart50_dir(tmp / "mbart50", tmp),
    }


@pytest.fixture(scope="module")
def sp_tokenizer(tiny_tandem_lm):
    tok, _ = tiny_tandem_lm(_lines() + SOURCES + TARGETS, 300, 64)
    return tok


def test_affixes_are_the_tokenizers_templates(hf_dirs, sp_tokenizer) -> None:
    eos = sp_tokenizer.eos_id
    assert sp_tokenizer.source_affixes() == sp_tokenizer.target_affixes() == ([], [eos])
    assert affixes(sp_tokenizer) == affixes(sp_tokenizer, target=True) == ([], [eos])
    ref = {k: _auto(d) for k, d in hf_dirs.items()}
    en, ro = ref["mbart"].convert_tokens_to_ids("en_XX"), ref["mbart"].convert_tokens_to_ids("ro_RO")
    want = {
        "bart": (([0], [2]), ([0], [2])),
        "mbart": (([], [2, en]), ([], [2, ro])),  # mBART-cc25: the code after </s>
        "mbart50": (([en], [2]), ([ro], [2])),  # mBART-50: the code first
    }
    for k, d in hf_dirs.items():
        tok = Tokenizer.load(d)
        assert (tok.source_affixes(), tok.target_affixes()) == want[k], k
        # a transformers tokenizer itself (lm-eval's, prompting's) is asked the same way
        assert (affixes(ref[k]), affixes(ref[k], target=True)) == want[k], k
    tok = Tokenizer.load(hf_dirs["mbart"])
    tok.src_lang, tok.tgt_lang = "ro_RO", "en_XX"
    assert (tok.source_affixes(), tok.target_affixes()) == (([], [2, ro]), ([], [2, en]))
    with pytest.raises(TandemError, match="not a token"):
        tok.tgt_lang = "xx_YY"


def test_frame_cuts_the_text_and_keeps_the_affixes() -> None:
    assert frame([5, 6, 7], ([0], [2])) == ([0, 5, 6, 7, 2], False)
    assert frame([5, 6, 7], ([0], [2]), 5) == ([0, 5, 6, 7, 2], False)
    assert frame([5, 6, 7], ([0], [2]), 4) == ([0, 5, 6, 2], True)
    assert frame([5, 6, 7], ([], [2, 9]), 3) == ([5, 2, 9], True)
    assert frame([5, 6, 7], ([0], [2]), 1) == ([2], True)  # the limit leaves room for the last one only


@pytest.mark.parametrize("kind", ["bart", "mbart", "mbart50"])
@pytest.mark.parametrize("limits", [(64, 64), (6, 5)])
def test_finetune_and_stream_examples_are_transformers_ids(hf_dirs, kind, limits) -> None:
    from tandem.data import Seq2SeqStream
    from tandem.finetune import Pair, Truncation, encode_pairs

    ms, mt = limits
    tok, ref = Tokenizer.load(hf_dirs[kind]), _auto(hf_dirs[kind])
    want_src = [ref(s, max_length=ms, truncation=True).input_ids for s in SOURCES]
    want_tgt = [ref(text_target=t, max_length=mt, truncation=True).input_ids for t in TARGETS]
    if limits == (64, 64):  # whole: as run_summarization / run_translation tokenise a pair
        both = [ref(s, text_target=t) for s, t in zip(SOURCES, TARGETS)]
        assert [b["input_ids"] for b in both] == want_src and [b["labels"] for b in both] == want_tgt
    cut = Truncation()
    enc = encode_pairs(tok, [Pair(s, t) for s, t in zip(SOURCES, TARGETS)], False, ms, mt, truncation=cut)
    assert [e.source for e in enc] == want_src  # was: no <s> (BART), no language code (mBART)
    assert [e.target for e in enc] == want_tgt
    n_cut = (cut.sources, cut.targets)
    longer = (
        [len(ref(s).input_ids) > ms for s in SOURCES],
        [len(ref(text_target=t).input_ids) > mt for t in TARGETS],
    )
    assert n_cut == (sum(longer[0]), sum(longer[1])) and (n_cut == (0, 0)) == (limits == (64, 64))
    stream = Seq2SeqStream(list(zip(SOURCES, TARGETS)), tok, 2, ms, mt, shuffle=False)
    assert [list(s) for s, _ in stream.examples] == want_src
    assert [list(t) for _, t in stream.examples] == want_tgt
    assert (stream.stats["truncated_sources"], stream.stats["truncated_targets"]) == n_cut
    batch = next(iter(stream))
    assert batch["labels"][0, : len(want_tgt[0])].tolist() == want_tgt[0]


def test_sentencepiece_ids_are_unchanged(sp_tokenizer) -> None:
    """tandem's own tokenizers: sources and targets are the text's ids and EOS, cut with EOS kept, as before."""
    from tandem.data import Seq2SeqStream
    from tandem.distill import generic_examples
    from tandem.finetune import Pair, encode_pairs

    tok, eos = sp_tokenizer, sp_tokenizer.eos_id
    for ms, mt in [(64, 64), (5, 4)]:
        enc = encode_pairs(tok, [Pair(s, t) for s, t in zip(SOURCES, TARGETS)], False, ms, mt)
        assert [e.source for e in enc] == [tok.encode(s)[: ms - 1] + [eos] for s in SOURCES]
        assert [e.target for e in enc] == [tok.encode(t)[: mt - 1] + [eos] for t in TARGETS]
        enc = encode_pairs(tok, [Pair(s, t) for s, t in zip(SOURCES, TARGETS)], True, ms, mt, target_start=7)
        assert [e.source for e in enc] == [tok.encode("[CLM] " + s)[: ms - 1] + [eos] for s in SOURCES]
        assert [e.target for e in enc] == [([7] + tok.encode(t))[: mt - 1] + [eos] for t in TARGETS]
        stream = Seq2SeqStream(list(zip(SOURCES, TARGETS)), tok, 2, ms, mt, shuffle=False)
        assert [s for s, _ in stream.examples] == [tok.encode(s)[: ms - 1] + [eos] for s in SOURCES]
        assert [t for _, t in stream.examples] == [tok.encode(t)[: mt - 1] + [eos] for t in TARGETS]
        stream = Seq2SeqStream(list(zip(SOURCES, TARGETS)), tok, 2, ms, mt, shuffle=False, source_eos=False)
        assert [s for s, _ in stream.examples] == [tok.encode(s)[:ms] for s in SOURCES]
    for ex in generic_examples(SOURCES, tok, max_len=6, seed=3):
        assert ex.source[-1] == ex.target[-1] == eos and len(ex.source) <= 6 and len(ex.target) <= 6


def test_forced_first_token_and_the_tokenizers_target_start(hf_dirs) -> None:
    """A model that forces a first token (BART-large's <s>, an mBART-50 language code) trains on HF's labels:
    the tokenizer's own target prefix is that token, so it is not added twice."""
    from tandem.finetune import Pair, encode_pairs

    pairs = [Pair(s, t) for s, t in zip(SOURCES, TARGETS)]
    for kind in ("bart", "mbart50"):
        tok, ref = Tokenizer.load(hf_dirs[kind]), _auto(hf_dirs[kind])
        first = ref(text_target="x").input_ids[0]
        enc = encode_pairs(tok, pairs, target_start=first)
        assert [e.target for e in enc] == [ref(text_target=t).input_ids for t in TARGETS]  # was: <s> <s> ...
    tok = Tokenizer.load(hf_dirs["mbart50"])
    with pytest.raises(TandemError, match="starts every target with 'ro_RO'.*forces 'en_XX'"):
        encode_pairs(tok, pairs, target_start=tok.token_to_id("en_XX"))


def _tiny(config_cls, vocab: int, **kw):
    torch.manual_seed(0)
    return config_cls(
        vocab_size=vocab,
        **TINY_BART_DIMS,
        dropout=0.0,
        init_std=0.2,
        **kw,
    )


STEP = ["--max-steps", "1", "--batch-size", "1"]


def test_mbart_cc25_targets_train_as_transformers(hf_dirs, tmp_path) -> None:
    """mBART-cc25 labels end `</s> tgt_lang`, which HF's mBART moves to the decoder's first position: tandem's
    decoder starts from that code too, so its loss on the same pair is transformers'."""
    from tandem import Seq2SeqLM
    from tandem.finetune import Pair, encode_pairs, match_decoder_start

    ref = _auto(hf_dirs["mbart"])
    hf = transformers.MBartForConditionalGeneration(_tiny(transformers.MBartConfig, len(ref))).eval()
    hf.save_pretrained(str(tmp_path))
    ref.save_pretrained(str(tmp_path))
    model, tok = Seq2SeqLM.from_pretrained(tmp_path).eval(), Tokenizer.load(tmp_path)
    ro = tok.token_to_id("ro_RO")
    note = match_decoder_start(model.config, tok)
    assert model.config.decoder_start_token_id == ro and "ro_RO" in note
    assert match_decoder_start(model.config, tok) is None
    (e,) = encode_pairs(tok, [Pair(SOURCES[0], TARGETS[0])])
    b = ref(SOURCES[0], text_target=TARGETS[0], return_tensors="pt")
    assert e.source == b["input_ids"][0].tolist() and e.target == b["labels"][0].tolist()
    with torch.no_grad():
        want = hf(**b).loss
        got = model(input_ids=torch.tensor([e.source]), labels=torch.tensor([e.target])).loss
    assert float(got) == pytest.approx(float(want), abs=1e-4)
    # fine-tuning and distilling such a model start the decoder from the code, and say so
    from tandem.cli import main as cli_main

    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps({"source": SOURCES[0], "target": TARGETS[0]}) + "\n")
    ft, dist = tmp_path / "ft", tmp_path / "dist"
    assert cli_main(["finetune", "--model", str(tmp_path), "--data", str(data), "--out", str(ft), *STEP]) == 0
    args = [
        "distill",
        "--teacher",
        str(tmp_path),
        "--student",
        "tiny",
        "--data",
        str(data),
        "--out",
        str(dist),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the student is not smaller than this tiny teacher
        assert cli_main([*args, *STEP]) == 0
    for out in (ft, dist):
        starts = [json.loads(p.read_text()).get("decoder_start_token_id") for p in out.rglob("config.json")]
        starts = [s for s in starts if s is not None]
        assert starts and set(starts) == {ro}, out  # was: the checkpoint's BOS (0)
    # BART and mBART-50 targets end with </s>: the model's own start token is HF's
    for kind in ("bart", "mbart50"):
        cfg = type("C", (), {"decoder_start_token_id": 2})()
        assert match_decoder_start(cfg, Tokenizer.load(hf_dirs[kind])) is None


@pytest.fixture(scope="module")
def bart_dir(hf_dirs, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bart-model")
    ref = _auto(hf_dirs["bart"])
    model = transformers.BartForConditionalGeneration(_tiny(transformers.BartConfig, len(ref))).eval()
    with torch.no_grad():
        model.final_logits_bias[0, 2] = -1e4  # never ends early
    model.save_pretrained(str(d))
    ref.save_pretrained(str(d))
    return d


REQUESTS = [
    ("Is the fox quick? Answer:", " yes"),
    ("Is the fox quick? Answer:", " no"),
    ("The quick brown fox", " jumps over the lazy dog."),
]


def test_bart_rank_scoring_and_lm_eval_bridge_agree_with_lm_eval_hf(bart_dir) -> None:
    pytest.importorskip("lm_eval")
    pytest.importorskip("accelerate")
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    import tandem.integrations.lm_eval as bridge
    from tandem import Seq2SeqLM
    from tandem.prompting.lm import EncoderDecoder
    from tandem.prompting.scoring import rank_choices

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hf = HFLM(pretrained=str(bart_dir), backend="seq2seq", batch_size=2, device="cpu", dtype="float32")
    td = bridge.TandemLM(pretrained=str(bart_dir), batch_size=2)
    for ctx, cont in REQUESTS:
        assert td._encode_pair(ctx, cont) == hf._encode_pair(ctx, cont)  # was: the context without <s>
    inst = [
        Instance(request_type="loglikelihood", doc={}, arguments=a, idx=i) for i, a in enumerate(REQUESTS)
    ]
    want = [lp for lp, _ in hf.loglikelihood(inst, disable_tqdm=True)]
    got = [lp for lp, _ in td.loglikelihood(inst, disable_tqdm=True)]
    assert got == pytest.approx(want, abs=1e-4)
    texts = [("The quick brown fox jumps over the lazy dog.",)]
    inst = [Instance(request_type="loglikelihood_rolling", doc={}, arguments=a, idx=0) for a in texts]
    assert td.loglikelihood_rolling(inst, disable_tqdm=True) == pytest.approx(
        hf.loglikelihood_rolling(inst, disable_tqdm=True), rel=1e-6
    )  # (about -1e4: the model never ends, and the rolling windows score EOS)
    gen = [("Hello world", {"until": ["\n\n"], "max_gen_toks": 5, "do_sample": False})]
    inst = [Instance(request_type="generate_until", doc={}, arguments=a, idx=0) for a in gen]
    # (lm-eval's hf lets a seq2seq model generate context length + max_gen_toks tokens: transformers is the
    # reference here, on the context as `tok(context)` frames it)
    ref, model = _auto(bart_dir), transformers.BartForConditionalGeneration.from_pretrained(str(bart_dir))
    out = model.eval().generate(**ref("Hello world", return_tensors="pt"), max_new_tokens=5, do_sample=False)
    assert td.generate_until(inst, disable_tqdm=True) == [ref.decode(out[0], skip_special_tokens=True)]
    lm = EncoderDecoder(Seq2SeqLM.from_pretrained(bart_dir), Tokenizer.load(bart_dir))
    res = rank_choices(lm, [REQUESTS[0][0]], [[REQUESTS[0][1], REQUESTS[1][1]]])
    assert [s.logprob for s in res[0].raw] == pytest.approx(want[:2], abs=1e-4)
    # a transformers tokenizer passed as is frames the source the same way
    lm_raw = EncoderDecoder(Seq2SeqLM.from_pretrained(bart_dir), _auto(bart_dir))
    assert (
        lm_raw.source_ids(REQUESTS[0][0])
        == lm.source_ids(REQUESTS[0][0])
        == _auto(bart_dir)(REQUESTS[0][0]).input_ids
    )


def test_bart_serve_generates_and_scores_as_transformers(bart_dir) -> None:
    from tandem.serve import TorchBackend
    from tandem.serve.backends import GenerateParams

    ref = _auto(bart_dir)
    hf = transformers.BartForConditionalGeneration.from_pretrained(str(bart_dir)).eval()
    backend = TorchBackend(bart_dir, threads=1, device="cpu")
    prompts = ["Hello world", "The quick brown fox jumps"]
    gens = backend.generate(prompts, GenerateParams(max_new_tokens=6, num_beams=1))
    for p, g in zip(prompts, gens):
        out = hf.generate(**ref(p, return_tensors="pt"), max_new_tokens=6, do_sample=False, num_beams=1)
        assert g.text == ref.decode(out[0], skip_special_tokens=True)
        assert g.input_tokens == len(ref(p).input_ids)
    # scores (`sequence`): the target's text tokens then </s>, read after the decoder start as `tandem evaluate` reads a
    # choice (this model forces no first token: the labels' leading <s> is not scored), given `tok(prompt)`
    got = backend.score(prompts, ["The lazy fox.", "x"], clm=False, sequence=True)
    for p, t, row in zip(prompts, ["The lazy fox.", "x"], got):
        text = ref(t, add_special_tokens=False).input_ids
        dec = torch.tensor([[hf.config.decoder_start_token_id, *text]])
        with torch.no_grad():
            logp = hf(**ref(p, return_tensors="pt"), decoder_input_ids=dec).logits.log_softmax(-1)[0]
        scored = [*text, ref.eos_token_id]
        assert row == pytest.approx(logp[range(len(scored)), scored].tolist(), abs=1e-4)  # was: <s> first


# --- pretraining (PretrainStream) and sequence-level KD targets ------------------------------------------

DOCS = [f"{s} {t}" for s, t in zip(SOURCES[:3], TARGETS[:3])] * 8  # no "[CLM]": plain documents


def _ref(d: Path, lang: str | None = "en_XX"):
    """transformers' tokenizer, framing both sides in `lang` (mBART's pretraining: the text's own language)."""
    ref = _auto(d)
    if lang is not None and hasattr(ref, "tgt_lang"):
        ref.src_lang, ref.tgt_lang = lang, lang
    return ref


@pytest.mark.parametrize("kind", ["bart", "mbart", "mbart50"])
@pytest.mark.parametrize("seq_len", [24, 48])
def test_pretrain_stream_examples_are_transformers_ids(hf_dirs, kind, seq_len, tmp_path) -> None:
    """Denoising packs documents, separated by EOS (these tokenizers have no [DOC]), into one text framed once,
    as transformers frames that text: with nothing dropped, source and target are `tok(text)` and
    `tok(text_target=text)` of the packed documents, cut to the length with the affixes kept."""
    from tandem.data import PretrainStream

    data = tmp_path / "en.txt"
    data.write_text("\n".join(DOCS) + "\n")
    tok, ref = Tokenizer.load(hf_dirs[kind]), _ref(hf_dirs[kind])
    stream = PretrainStream(
        [f"en:{data}"], tok, "denoise", seq_len, 3, objective_args={"drop_rate": 0.0}, pad_to_max=False
    )
    assert tok.doc_id is None and stream.doc_sep == tok.eos_id
    packed = "".join(d + ref.eos_token for d in DOCS)
    want_src = ref(packed, max_length=seq_len, truncation=True).input_ids
    want_tgt = ref(text_target=packed, max_length=seq_len, truncation=True).input_ids
    batch = next(stream)
    assert batch["input_ids"][0].tolist() == want_src  # was: no <s> (BART), no language code (mBART)
    assert batch["labels"][0].tolist() == want_tgt
    # every row: the next stretch of the documents' ids, framed the same way (the budget leaves the affixes room)
    flat = [i for d in DOCS for i in ref(d + ref.eos_token, add_special_tokens=False).input_ids]
    n = len(want_tgt) - (
        len(ref(text_target="a").input_ids) - len(ref("a", add_special_tokens=False).input_ids)
    )
    pre = want_tgt[: want_tgt.index(flat[0])]
    post = want_tgt[len(pre) + n :]
    for k, row in enumerate(batch["labels"].tolist()):
        assert row == pre + flat[k * n : (k + 1) * n] + post
    assert stream.stats["truncated"] == 0
    # mBART-cc25 ends targets with the code, which HF's mBART moves to the decoder's first position; only its
    # batches carry their decoder input (BART's and mBART-50's are the labels shifted behind the model's start)
    assert stream.decoder_start == (tok.token_to_id("en_XX") if kind == "mbart" else None)
    assert sorted(batch) == sorted(
        ["input_ids", "attention_mask", "labels", "kind"] + ["decoder_input_ids"] * (kind == "mbart")
    )


def test_pretrain_stream_language_codes(hf_dirs, tmp_path) -> None:
    """mBART frames each row with its own language's code (the sources' language tag: "de" is de_DE), on both
    sides, as mBART was pretrained; the tokenizer's src_lang / tgt_lang are left as they were."""
    from tandem.data import PretrainStream
    from tandem.model.seq2seq import shift_right

    data = tmp_path / "de.txt"
    data.write_text("\n".join(DOCS) + "\n")
    packed = "".join(d + "</s>" for d in DOCS)
    for kind in ("mbart", "mbart50"):
        tok, ref = Tokenizer.load(hf_dirs[kind]), _ref(hf_dirs[kind], "de_DE")
        stream = PretrainStream([f"de:{data}"], tok, "denoise", 32, 2, objective_args={"drop_rate": 0.0})
        batch = next(stream)
        assert batch["input_ids"][0].tolist() == ref(packed, max_length=32, truncation=True).input_ids
        assert (
            batch["labels"][0].tolist() == ref(text_target=packed, max_length=32, truncation=True).input_ids
        )
        assert (tok.src_lang, tok.tgt_lang) == ("en_XX", "ro_RO")
        if kind == "mbart":  # tandem's decoder input is HF's mBART's (the code moved to the front)
            from transformers.models.mbart.modeling_mbart import shift_tokens_right

            de = tok.token_to_id("de_DE")
            assert stream.decoder_start == de
            labels = batch["labels"]
            want = shift_tokens_right(labels, tok.pad_id)
            assert torch.equal(shift_right(labels, stream.decoder_start, tok.pad_id), want)
    en = tmp_path / "en.txt"
    en.write_text("\n".join(DOCS) + "\n")
    two = [f"de:{data}", f"en:{en}"]
    stream = PretrainStream(two, Tokenizer.load(hf_dirs["mbart50"]), "denoise", 32, 8, seed=1)
    codes = {tok.token_to_id("de_DE"), tok.token_to_id("en_XX")}
    batch = next(stream)
    firsts = [row[0] for row in batch["input_ids"].tolist()]
    assert set(firsts) == codes  # mBART-50: each row's own code first
    assert "decoder_input_ids" not in batch and stream.decoder_starts == {}  # the model's start token
    # mBART-cc25: each row's decoder starts from its own code, as transformers' mBART starts it (was: refused)
    from transformers.models.mbart.modeling_mbart import shift_tokens_right

    tok = Tokenizer.load(hf_dirs["mbart"])
    assert tok.add_symbols(["[CLM]", "[DOC]"]) == [tok.clm_id, tok.doc_id]  # alexatm: both kinds of rows
    for pad_to_max in (True, False):
        stream = PretrainStream(two, tok, "alexatm", 32, 8, seed=1, pad_to_max=pad_to_max)
        assert stream.decoder_start is None
        assert stream.decoder_starts == {"de": tok.token_to_id("de_DE"), "en": tok.token_to_id("en_XX")}
        batch = next(stream)
        ends = [[i for i in row if i != -100][-1] for row in batch["labels"].tolist()]
        assert set(ends) == codes
        assert torch.equal(batch["decoder_input_ids"], shift_tokens_right(batch["labels"], tok.pad_id))
        assert batch["decoder_input_ids"][:, 0].tolist() == ends
    with pytest.raises(TandemError, match="no language code|none for the sources' language 'xx'"):
        PretrainStream([f"xx:{data}"], Tokenizer.load(hf_dirs["mbart50"]), "denoise", 32, 2)


def test_pretrain_stream_needs_a_clm_symbol(hf_dirs, tmp_path) -> None:
    """A Hugging Face tokenizer has no [CLM]: the causal-LM objectives say so and what to do; "[CLM]" is never
    written as text (ordinary pieces) in its place."""
    from tandem.data import PretrainStream

    data = tmp_path / "en.txt"
    data.write_text("\n".join(DOCS) + "\n")
    tok = Tokenizer.load(hf_dirs["bart"])
    assert tok.clm_id is None and tok.doc_id is None
    for objective in ("alexatm", "clm"):
        with pytest.raises(TandemError, match="no \\[CLM\\].*--objective denoise"):
            PretrainStream([f"en:{data}"], tok, objective, 32, 2)


class _Unframed:
    """A tokenizer whose texts get no affixes at all (the stream then frames nothing)."""

    def __init__(self, tok):
        self.tok = tok

    def __getattr__(self, name):
        return getattr(self.tok, name)

    def source_affixes(self):
        return [], []

    def target_affixes(self):
        return [], []


@pytest.mark.parametrize("objective", ["alexatm", "t5"])
def test_pretrain_stream_sentencepiece_ids_are_unchanged(tmp_path, objective) -> None:
    """tandem's own tokenizers: every example is the objective's ids with EOS appended on both sides, from the
    same budget and random draws, as before the framing came from the tokenizer (the rows of a stream whose
    tokenizer frames nothing, one token shorter on each side, plus EOS)."""
    from tandem.data import PretrainStream
    from tandem.tokenizer import objective_symbols

    tok = Tokenizer.train(iter(_lines() * 2), vocab_size=600, extra_symbols=objective_symbols(objective))
    data = tmp_path / "en.txt"
    data.write_text("\n".join(_lines()[:200]) + "\n")
    eos = tok.eos_id
    assert affixes(tok) == affixes(tok, target=True) == ([], [eos])
    framed = PretrainStream([f"en:{data}"], tok, objective, 40, 4, seed=3, target_len=30, pad_to_max=False)
    bare = PretrainStream(
        [f"en:{data}"], _Unframed(tok), objective, 39, 4, seed=3, target_len=29, pad_to_max=False
    )
    assert framed.chunk_len == bare.chunk_len
    for _ in range(5):
        a, b = next(framed), next(bare)
        assert a["kind"] == b["kind"]
        for key in ("input_ids", "labels"):
            pad = tok.pad_id if key == "input_ids" else -100
            got = [[i for i in row if i != pad] for row in a[key].tolist()]
            assert got == [[i for i in row if i != pad] + [eos] for row in b[key].tolist()]


class _CharTok:
    """A text's ids are its code points + 10; framed as tandem's tokenizers frame (EOS after)."""

    pad_id, eos_id, clm_id, doc_id, vocab_size = 1, 2, 3, 4, 1 << 21
    sentinel_ids = list(range(200, 100, -1))

    def encode(self, text: str, add_eos: bool = False) -> list[int]:
        return [ord(c) + 10 for c in text] + ([2] if add_eos else [])

    def source_affixes(self):
        return [], [2]

    def target_affixes(self):
        return [], [2]


def test_pretrain_stream_batches_are_the_old_codes(tmp_path) -> None:
    """Framed with EOS alone, the stream gives, bit for bit, the batches of the code before framing came from
    the tokenizer (the hash of its batches on these documents and seeds, computed with that code, then with its
    CLM rests made the next document, which changed the batches where a CLM row follows a cut one)."""
    import hashlib

    from tandem.data import PretrainStream

    words = "the quick brown fox jumps over a lazy dog while seven cats watch".split()
    (tmp_path / "en.txt").write_text(
        "".join(" ".join(words[i % 13 :] + words[: i % 13]) + "\n" for i in range(40))
    )
    (tmp_path / "de.txt").write_text("".join(" ".join(reversed(words[i % 7 :])) + "\n" for i in range(40)))
    h = hashlib.sha256()
    for objective in ("alexatm", "t5"):
        for seq_len, target_len in ((24, None), (40, 16)):
            stream = PretrainStream(
                [f"en:{tmp_path / 'en.txt'}", f"de:{tmp_path / 'de.txt'}"],
                _CharTok(),
                objective,
                seq_len,
                4,
                seed=5,
                target_len=target_len,
                pad_to_max=False,
                return_tensors="np",
            )
            for _ in range(4):
                b = next(stream)
                h.update(json.dumps([b["input_ids"].tolist(), b["labels"].tolist(), b["kind"]]).encode())
    assert h.hexdigest()[:16] == "e901f2bc80944be8"


def test_bart_and_mbart50_pretrain_batches_are_the_old_codes(hf_dirs, tmp_path) -> None:
    """Per-row decoder starts (mBART-cc25's) leave the other framings' batches as they were, bit for bit: the
    hash of BART's and mBART-50's batches on these documents and seeds, computed with the code before them."""
    import hashlib

    from tandem.data import PretrainStream

    (tmp_path / "en.txt").write_text("\n".join(DOCS) + "\n")
    (tmp_path / "de.txt").write_text("\n".join(reversed(DOCS)) + "\n")
    h = hashlib.sha256()
    for kind in ("bart", "mbart50"):
        for pad_to_max in (True, False):
            stream = PretrainStream(
                [f"en:{tmp_path / 'en.txt'}", f"de:{tmp_path / 'de.txt'}"],
                Tokenizer.load(hf_dirs[kind]),
                "denoise",
                40,
                4,
                seed=5,
                target_len=24,
                pad_to_max=pad_to_max,
            )
            for _ in range(3):
                b = next(stream)
                h.update(
                    json.dumps({k: v if k == "kind" else v.tolist() for k, v in sorted(b.items())}).encode()
                )
    assert h.hexdigest()[:16] == "7f9214438cea8d1b"


@pytest.mark.parametrize("kind", ["bart", "bart-forced", "mbart"])
@pytest.mark.parametrize("new_tokens", [6, 64])
def test_sequence_kd_targets_are_framed_as_transformers(hf_dirs, tmp_path, kind, new_tokens) -> None:
    """Sequence-level KD trains on the teacher's generations framed as gold targets are (`tok(text_target=
    generated text)`: BART `<s> ... </s>`, mBART-cc25 `... </s> ro_RO`), a forced first token not doubled, cut
    to the models' positions with the affixes kept. The teacher here writes one token over and over (a token
    whose repetition transformers' tokenizer reads back as written), so the generated text is known."""
    from tandem import Seq2SeqLM
    from tandem.distill import DistillConfig, distill
    from tandem.finetune import Pair, encode_pairs, match_decoder_start

    tok_dir = hf_dirs[kind.split("-")[0]]
    ref = _auto(tok_dir)
    pieces = ref(" the quick brown fox jumps", add_special_tokens=False).input_ids
    rep = next(t for t in pieces if ref(ref.decode([t] * 5), add_special_tokens=False).input_ids == [t] * 5)
    cls = (
        transformers.MBartForConditionalGeneration
        if kind == "mbart"
        else transformers.BartForConditionalGeneration
    )
    cfg = transformers.MBartConfig if kind == "mbart" else transformers.BartConfig
    hf = cls(_tiny(cfg, len(ref))).eval()
    with torch.no_grad():
        hf.final_logits_bias[0, rep] = 1e4  # writes `rep` whatever it reads, never ends
    d = tmp_path / "teacher"
    hf.save_pretrained(str(d))
    ref.save_pretrained(str(d))
    teacher, tok = Seq2SeqLM.from_pretrained(d).eval(), Tokenizer.load(d)
    match_decoder_start(teacher.config, tok)  # mBART-cc25: the decoder starts from ro_RO, as the CLI sets it
    forced = kind == "bart-forced"
    # no forced </s> at the token limit: a generation that fills it is cut to the positions
    gen = {k: v for k, v in (teacher.config.generation or {}).items() if k != "forced_eos_token_id"}
    teacher.config.generation = {**gen, "forced_bos_token_id": 0} if forced else gen  # BART-large forces <s>
    student = Seq2SeqLM(teacher.config)
    train = encode_pairs(
        tok, [Pair(s, t) for s, t in zip(SOURCES[:2], TARGETS[:2])], target_start=0 if forced else None
    )
    dcfg = DistillConfig(
        seq_kd="replace",
        seq_kd_max_new_tokens=new_tokens,
        max_steps=1,
        batch_size=2,
        device="cpu",
        kd_weight=0.0,
        ce_weight=1.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the student is not smaller than its teacher
        distill(teacher, student, train, dcfg, out_dir=tmp_path / "out", tokenizer=tok, log=None)
    rows = (tmp_path / "out" / "seqkd_targets.jsonl").read_text().splitlines()[1:]
    got = [json.loads(r)["target"] for r in rows]
    n = (
        min(new_tokens, 63) - forced
    )  # 63: the models' 64 positions, EOS included; a forced <s> is one of them
    want = ref(text_target=ref.decode([rep] * n), max_length=64, truncation=True).input_ids
    assert got == [want, want]  # was: no <s> (BART), no code after </s> (mBART), <s> ... </s> without the cut


@pytest.mark.parametrize("kind", ["bart", "mbart"])
def test_pretrain_init_from_a_transformers_checkpoint(hf_dirs, tmp_path, kind) -> None:
    """`tandem pretrain --init-from DIR` reads its data with the tokenizer saved in DIR (was: trained a new one,
    whose ids the weights do not know), frames examples as that tokenizer does and starts mBART-cc25's decoder
    from the language code: its first step's loss is transformers' loss on the same batch."""
    from tandem.cli import main as cli_main
    from tandem.data import PretrainStream

    ref = _auto(hf_dirs[kind])
    cls = (
        transformers.MBartForConditionalGeneration
        if kind == "mbart"
        else transformers.BartForConditionalGeneration
    )
    hf = cls(_tiny(transformers.MBartConfig if kind == "mbart" else transformers.BartConfig, len(ref))).eval()
    d = tmp_path / "hf"
    hf.save_pretrained(str(d))
    ref.save_pretrained(str(d))
    data = tmp_path / "en.txt"
    data.write_text("\n".join(DOCS) + "\n")
    out = tmp_path / "run"
    argv = [
        "pretrain",
        "--init-from",
        str(d),
        "--objective",
        "denoise",
        "--data",
        f"en:{data}",
        "--steps",
        "1",
    ]
    argv += ["--batch-size", "2", "--seq-len", "32", "--out", str(out), "--device", "cpu", "--log-every", "1"]
    assert cli_main([*argv, "--no-progress", "--no-tensorboard"]) == 0
    assert json.loads((out / "train_config.json").read_text())["tokenizer"] == str(d)
    saved = json.loads((out / "model" / "config.json").read_text())
    want_start = ref.convert_tokens_to_ids("en_XX") if kind == "mbart" else hf.config.decoder_start_token_id
    assert saved["decoder_start_token_id"] == want_start
    loss = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()][0]["loss"]
    batch = next(PretrainStream([f"en:{data}"], Tokenizer.load(d), "denoise", 32, 2))
    with torch.no_grad():
        want = hf(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
        ).loss
    assert loss == pytest.approx(float(want), abs=1e-4)


def _hf_model(kind: str, tok_dir: Path, d: Path, **kw):
    """A tiny random transformers BART/mBART over `tok_dir`'s tokenizer, saved with it into `d`."""
    ref = _auto(tok_dir)
    mbart = kind.startswith("mbart")
    cls = transformers.MBartForConditionalGeneration if mbart else transformers.BartForConditionalGeneration
    cfg = _tiny(
        transformers.MBartConfig if mbart else transformers.BartConfig, kw.pop("vocab", len(ref)), **kw
    )
    hf = cls(cfg).eval()
    hf.save_pretrained(str(d))
    ref.save_pretrained(str(d))
    return hf, ref


def _grown_reference(hf, ref, known: int):
    """transformers' own way to a model that reads [CLM] and [DOC]: the tokens added to its tokenizer as special
    tokens, the embeddings resized, and the new rows set to the mean of the old ones (tandem's choice). An
    untied model's tables are grown one by one: transformers' resize_token_embeddings gives its encoder and
    decoder the one resized `shared` table, dropping the decoder's own."""
    from tokenizers import AddedToken

    ref.add_tokens(  # "[CLM] text": the space is stripped, the text's ids are its own (as tandem reads it)
        [AddedToken(s, special=True, normalized=False, rstrip=s == "[CLM]") for s in ("[CLM]", "[DOC]")],
        special_tokens=True,
    )
    new = ref.convert_tokens_to_ids(["[CLM]", "[DOC]"])
    rows = max(hf.config.vocab_size, len(ref))
    m = hf.model
    with torch.no_grad():
        if hf.config.tie_word_embeddings:
            hf.resize_token_embeddings(rows, mean_resizing=False)
            tables = [hf.get_input_embeddings().weight]
        else:
            grown = {}
            for mod, name in (
                (m, "shared"),
                (m.encoder, "embed_tokens"),
                (m.decoder, "embed_tokens"),
                (hf, "lm_head"),
            ):
                w = getattr(mod, name).weight
                if w.data_ptr() not in grown:
                    grown[w.data_ptr()] = torch.nn.Parameter(
                        torch.cat([w, w.new_zeros(rows - w.shape[0], w.shape[1])])
                    )
                getattr(mod, name).weight = grown[w.data_ptr()]
            tables = list(grown.values())
        for w in tables:
            w[new] = w[:known].mean(0)
        bias = torch.zeros(1, rows)
        bias[:, : hf.final_logits_bias.shape[1]] = hf.final_logits_bias
        bias[:, new] = 0
        hf.final_logits_bias = bias
    hf.config.vocab_size = rows
    return hf, ref, new


@pytest.mark.parametrize("kind", ["bart", "bart-padded", "mbart-untied"])
def test_pretrain_add_symbols_runs_alexatm_on_a_transformers_model(hf_dirs, tmp_path, kind, capsys) -> None:
    """`--add-symbols` adds [CLM] and [DOC] to a Hugging Face tokenizer (special tokens, never split) and rows
    for them to the model (at the mean of its rows; a padded vocabulary's spare rows first): the AlexaTM
    objective then runs (was: refused), its first loss is transformers' loss on the same batch with the same
    tokens added, and the saved model and tokenizer are read by transformers with the same ids and logits,
    resume and fine-tune."""
    from tandem import Seq2SeqLM
    from tandem.cli import main as cli_main
    from tandem.data import PretrainStream

    base = kind.split("-")[0]
    ref0 = _auto(hf_dirs[base])
    known = len(ref0)
    kw = {"vocab": known + 8} if kind == "bart-padded" else {}
    if kind == "mbart-untied":
        kw["tie_word_embeddings"] = False
    d = tmp_path / "hf"
    hf, ref = _hf_model(kind, hf_dirs[base], d, **kw)
    with torch.no_grad():
        hf.final_logits_bias.normal_(0, 0.1)  # the new tokens' entries are 0, the others kept
        if kind == "mbart-untied":  # three tables of their own, as such a checkpoint holds them
            hf.model.decoder.embed_tokens.weight.add_(0.1)
            hf.lm_head.weight.mul_(0.5)
    hf.save_pretrained(str(d))
    data = tmp_path / "en.txt"
    data.write_text("\n".join(DOCS) + "\n")
    out = tmp_path / "run"
    argv = ["pretrain", "--init-from", str(d), "--data", f"en:{data}", "--steps", "2", "--batch-size", "4"]
    argv += [
        "--seq-len",
        "32",
        "--denoise-prob",
        "0.5",
        "--out",
        str(out),
        "--device",
        "cpu",
        "--log-every",
        "1",
    ]
    argv += ["--no-progress", "--no-tensorboard", "--no-plot"]
    assert cli_main([*argv, "--stop-after", "1"]) != 0  # the default objective (alexatm) needs [CLM]
    assert "add it with --add-symbols" in capsys.readouterr().err
    assert cli_main([*argv, "--add-symbols", "--overwrite", "--stop-after", "1"]) == 0
    assert cli_main([*argv, "--add-symbols", "--resume"]) == 0  # the checkpoint holds the grown tables
    tok = Tokenizer.load(out / "model")
    hf, ref, new = _grown_reference(hf, ref, known)
    assert [tok.clm_id, tok.doc_id] == new == [known, known + 1]
    # step 1: transformers' loss on the batch the stream gives with the grown tokenizer
    batch = next(PretrainStream([f"en:{data}"], tok, "alexatm", 32, 4, objective_args={"denoise_prob": 0.5}))
    assert "clm" in batch["kind"] and "denoise" in batch["kind"]
    assert (batch["input_ids"] == tok.clm_id).any() and (batch["labels"] == tok.doc_id).any()
    with torch.no_grad():
        want = hf(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
        )
    records = [json.loads(r) for r in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    assert records[0]["loss"] == pytest.approx(float(want.loss), abs=1e-4)
    # the saved model: grown tables (a padded vocabulary keeps its size), ties as they were
    model = Seq2SeqLM.from_pretrained(out / "model").eval()
    rows = max(known + 8 if kind == "bart-padded" else 0, known + 2)
    assert model.config.vocab_size == rows and model.lm_head.weight.shape[0] == rows
    tied = kind != "mbart-untied"
    assert (model.lm_head.weight is model.encoder.embed_tokens.weight) == tied
    assert (model.decoder.embed_tokens.weight is model.encoder.embed_tokens.weight) == tied
    # transformers reads the converted model and the saved tokenizer: same ids, same logits
    assert cli_main(["convert", str(out / "model"), "--to", "hf", "--out", str(tmp_path / "out-hf")]) == 0
    back = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(tmp_path / "out-hf")).eval()
    back_tok = _auto(tmp_path / "out-hf")
    assert back.config.tie_word_embeddings == tied and back.config.vocab_size == rows
    texts = ["[CLM] Sentence: the lazy fox.", "Hello[DOC]world", SOURCES[1]]
    for text in texts:
        ids = back_tok(text).input_ids
        assert ids == tok.encode(text, add_eos=True) == ref(text).input_ids
    ids = torch.tensor([back_tok(texts[0]).input_ids])
    dec = torch.tensor([[model.config.decoder_start_token_id, tok.clm_id, 5, 6]])
    with torch.no_grad():
        a = back(input_ids=ids, decoder_input_ids=dec).logits
        b = model(input_ids=ids, decoder_input_ids=dec).logits
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    # evaluation's prompts read [CLM] as the token (was: left out, with a warning), as transformers does
    from tandem.prompting.lm import EncoderDecoder

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert EncoderDecoder(model, tok).source_ids(texts[0]) == ref(texts[0]).input_ids
    # fine-tuning and generating from a [CLM] prompt read the grown model
    pairs = tmp_path / "train.jsonl"
    pairs.write_text(json.dumps({"source": texts[0], "target": TARGETS[0]}) + "\n")
    assert (
        cli_main(
            [
                "finetune",
                "--model",
                str(out / "model"),
                "--data",
                str(pairs),
                "--out",
                str(tmp_path / "ft"),
                *STEP,
            ]
        )
        == 0
    )
    assert cli_main(["generate", str(out / "model"), "--prompt", texts[0], "--max-new-tokens", "3"]) == 0


def test_added_token_rows_leave_the_old_tokens_logits(hf_dirs, tmp_path) -> None:
    """`Seq2SeqLM.add_token_rows`: on old tokens the grown model computes what transformers' model computes
    (the old logits unchanged), the new rows are the mean of the old ones, the LM head stays tied."""
    from tandem import Seq2SeqLM

    hf, ref = _hf_model("bart", hf_dirs["bart"], tmp_path)
    model = Seq2SeqLM.from_pretrained(tmp_path).eval()
    n = len(ref)
    model.add_token_rows([n, n + 1], n)
    assert model.config.vocab_size == n + 2 and model.final_logits_bias.shape == (n + 2,)
    assert model.lm_head.weight is model.encoder.embed_tokens.weight is model.decoder.embed_tokens.weight
    table = model.encoder.embed_tokens.weight
    torch.testing.assert_close(table[n], hf.model.shared.weight.mean(0))
    ids = torch.tensor([ref(SOURCES[1]).input_ids])
    dec = torch.tensor([[2, 0, 7, 9]])
    with torch.no_grad():
        want = hf(input_ids=ids, decoder_input_ids=dec).logits
        got = model(input_ids=ids, decoder_input_ids=dec).logits
    assert got.shape[-1] == n + 2
    torch.testing.assert_close(got[..., :n], want, atol=1e-5, rtol=1e-5)


def test_pretrain_init_from_mbart_cc25_in_two_languages(hf_dirs, tmp_path, capsys) -> None:
    """mBART-cc25 pretrains several languages in one run (was: refused, one decoder start token for all rows):
    each row's decoder starts from its own language code, and the first step's loss is transformers' loss on
    the same batch (whose decoder input transformers builds itself from the labels)."""
    from tandem.cli import main as cli_main
    from tandem.data import PretrainStream

    d = tmp_path / "hf"
    hf, ref = _hf_model("mbart", hf_dirs["mbart"], d)
    sources = []
    for lang, docs in (("de", DOCS[:9]), ("en", DOCS[9:])):
        (tmp_path / f"{lang}.txt").write_text("\n".join(docs) + "\n")
        sources.append(f"{lang}:{tmp_path / f'{lang}.txt'}")
    out = tmp_path / "run"
    argv = ["pretrain", "--init-from", str(d), "--objective", "denoise", "--data", *sources, "--steps", "1"]
    argv += ["--batch-size", "6", "--seq-len", "32", "--out", str(out), "--device", "cpu", "--log-every", "1"]
    assert cli_main([*argv, "--no-progress", "--no-tensorboard", "--no-plot"]) == 0
    assert "each row starts from its own" in capsys.readouterr().out
    loss = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])["loss"]
    batch = next(PretrainStream(sources, Tokenizer.load(d), "denoise", 32, 6))
    codes = {[i for i in row if i != -100][-1] for row in batch["labels"].tolist()}
    assert codes == set(ref.convert_tokens_to_ids(["de_DE", "en_XX"]))  # both languages in the batch
    with torch.no_grad():
        want = hf(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
        ).loss
    assert loss == pytest.approx(float(want), abs=1e-4)
    # the model's own start token is left for generation (no one code fits both languages)
    saved = json.loads((out / "model" / "config.json").read_text())
    assert saved["decoder_start_token_id"] == ref.bos_token_id  # as loaded (the checkpoint sets none)
