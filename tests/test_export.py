"""tandem export --format ct2: parity with the source model, refusals, the CLI."""

from __future__ import annotations

import dataclasses
import json

import pytest

pytest.importorskip("ctranslate2")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tandem.cli import main  # noqa: E402
from tandem.config import ModelConfig  # noqa: E402
from tandem.errors import TandemError  # noqa: E402
from tandem.interop import ct2  # noqa: E402
from tandem.interop.ct2 import build_random_hf, export_ct2, train_tiny_tokenizer  # noqa: E402
from tandem.model import Seq2SeqLM  # noqa: E402
from tandem.tokenizer import Tokenizer  # noqa: E402

TEXTS = ["play the music by queen", "wake me up at seven am", "what is the weather in paris"]


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory):
    return train_tiny_tokenizer(tmp_path_factory.mktemp("tok") / "tok", vocab_size=256)


def _tiny_tandem(**kw) -> Seq2SeqLM:
    torch.manual_seed(0)
    cfg = dataclasses.replace(
        ModelConfig.preset("tiny"),
        vocab_size=256,
        d_model=64,
        ffn_dim=128,
        encoder_layers=2,
        decoder_layers=2,
        **kw,
    )
    model = Seq2SeqLM(cfg).eval()
    with torch.no_grad():  # sharper than the default init, so greedy outputs are not all ties
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.3)
    return model


def _ct2_texts(out_dir, tok: Tokenizer, texts, n=10):
    import ctranslate2

    pieces = json.loads((out_dir / "shared_vocabulary.json").read_text())
    tr = ctranslate2.Translator(str(out_dir), compute_type="float32")
    src = [[pieces[i] for i in tok.encode(t, add_eos=True)] for t in texts]
    res = tr.translate_batch(src, beam_size=1, max_decoding_length=n, min_decoding_length=0)
    return [tok.decode([pieces.index(p) for p in r.hypotheses[0]]) for r in res]


@pytest.mark.parametrize("arch", ["mbart", "bart", "t5"])
def test_hf_dir_export_matches_transformers(tmp_path, tok_dir, arch):
    hf = build_random_hf(tmp_path / "hf", arch=arch, vocab_size=256, seed=3)
    rep = export_ct2(hf, tmp_path / "out", quantize="float32", tokenizer=tok_dir / "tokenizer.model")
    assert rep.probe_match and rep.architecture == arch and not rep.approximate
    tok = Tokenizer.load(tok_dir)
    ref = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(hf)).eval()
    want = []
    for t in TEXTS:
        with torch.no_grad():
            out = ref.generate(
                torch.tensor([tok.encode(t, add_eos=True)]),
                max_new_tokens=10,
                do_sample=False,
                forced_eos_token_id=None,
            )
        want.append(tok.decode(out[0].tolist()))
    assert _ct2_texts(tmp_path / "out", tok, TEXTS) == want


def test_tandem_dir_export_parity_and_files(tmp_path, tok_dir):
    model = _tiny_tandem()
    model.save_pretrained(tmp_path / "m")
    Tokenizer.load(tok_dir).save(tmp_path / "m")
    rep = export_ct2(tmp_path / "m", tmp_path / "int8", quantize="int8")
    assert rep.reference == "tandem" and rep.probe_match and rep.quantization == "int8"
    files = {p.name for p in (tmp_path / "int8").iterdir()}
    assert {
        "model.bin",
        "config.json",
        "shared_vocabulary.json",
        "tokenizer.model",
        "tandem_edge.json",
    } <= files
    meta = json.loads((tmp_path / "int8" / "tandem_edge.json").read_text())
    assert meta["eos_token_id"] == 2 and meta["clm_token_id"] == 4 and meta["export"]["probe_match"]

    # the float32 export decodes exactly what tandem's own generate does, on text too
    export_ct2(model, tmp_path / "fp32", quantize="float32", tokenizer=tok_dir / "tokenizer.model")
    tok = Tokenizer.load(tok_dir)
    want = []
    for t in TEXTS:
        out = model.generate(torch.tensor([tok.encode(t, add_eos=True)]), max_new_tokens=10)
        want.append(tok.decode(out[0].tolist()))
    assert _ct2_texts(tmp_path / "fp32", tok, TEXTS) == want
    assert rep.size_bytes < sum(p.stat().st_size for p in (tmp_path / "fp32").iterdir())


def test_export_fails_showing_the_difference(tmp_path, tok_dir, monkeypatch):
    model = _tiny_tandem()
    real = ct2._tandem_reference

    def off_by_one(m):  # a reference that disagrees with CTranslate2 at the third token of every probe
        gen, logits = real(m)
        return (
            lambda ids, n: [x[:2] + [(x[2] + 1) % 200 + 7] + x[3:] if len(x) > 2 else x for x in gen(ids, n)]
        ), logits

    monkeypatch.setattr(ct2, "_tandem_reference", off_by_one)
    with pytest.raises(TandemError, match=r"export check failed: .* position 2: reference \[") as e:
        export_ct2(model, tmp_path / "out", tokenizer=tok_dir / "tokenizer.model")
    assert "max |logit diff|" in str(e.value)
    assert not (tmp_path / "out" / "model.bin").exists()


def test_alexatm_norm_refused_without_allow_approximate(tmp_path, tok_dir):
    model = _tiny_tandem(norm_type="alexatm", norm_eps=1e-12)
    with pytest.raises(TandemError, match="cannot be exported exactly: .*norm_type.*--allow-approximate"):
        export_ct2(model, tmp_path / "out", tokenizer=tok_dir / "tokenizer.model")
    with pytest.raises(TandemError, match="no approximate CTranslate2 export exists yet"):
        export_ct2(model, tmp_path / "out", tokenizer=tok_dir / "tokenizer.model", allow_approximate=True)


def test_cli_export(tmp_path, tok_dir, capsys):
    hf = build_random_hf(tmp_path / "hf", arch="mbart", vocab_size=256, seed=4)
    rc = main(
        ["export", str(hf), "--out", str(tmp_path / "o"), "--tokenizer", str(tok_dir / "tokenizer.model")]
    )
    assert rc == 0
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rep["probe_match"] and rep["quantization"] == "int8"
    labels = tmp_path / "labels.txt"
    labels.write_text("play_music\nset_alarm\n")
    assert main(["export", str(tmp_path / "o"), "--trim-to", str(labels)]) == 0
    assert (tmp_path / "o" / "vmap.txt").is_file()
    # errors are one line, exit 2
    assert main(["export", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
    assert "error: model" in capsys.readouterr().err
    assert main(["export", str(hf), "--out", str(tmp_path / "y")]) == 2  # no tokenizer in an HF dir
    assert "--tokenizer" in capsys.readouterr().err
