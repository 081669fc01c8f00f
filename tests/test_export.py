"""tandem export --format ct2: parity with the source model, refusals, the CLI."""

from __future__ import annotations

import dataclasses
import json
import os

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


def test_a_refused_export_writes_nothing(tmp_path, tok_dir, monkeypatch):
    """Whatever refuses an export does so before --out is written: a refused export leaves no folder (nor the
    missing folders above it), and an earlier export in --out stays whole. The decoding-defaults check used to
    run after the export was in place, and a failed quantized conversion left an empty --out behind."""
    import shutil

    spm = tok_dir / "tokenizer.model"
    bad = _tiny_tandem()
    bad.config.generation = {"num_beams": 0}  # set after construction: only the export's own check sees it
    with pytest.raises(TandemError, match="num_beams must be at least 1"):
        export_ct2(bad, tmp_path / "new" / "out", quantize="float32", tokenizer=spm)
    assert not (tmp_path / "new").exists()

    export_ct2(_tiny_tandem(), tmp_path / "e", quantize="float32", tokenizer=spm)
    before = {p.name: p.read_bytes() for p in (tmp_path / "e").iterdir()}
    with pytest.raises(TandemError, match="num_beams must be at least 1"):
        export_ct2(bad, tmp_path / "e", quantize="float32", tokenizer=spm)
    assert {p.name: p.read_bytes() for p in (tmp_path / "e").iterdir()} == before

    # a broken tokenizer_config.json beside the tokenizer: a one-line error naming it (was a traceback)
    (tmp_path / "tok").mkdir()
    shutil.copy2(spm, tmp_path / "tok" / "tokenizer.model")
    (tmp_path / "tok" / "tokenizer_config.json").write_text("{", encoding="utf-8")
    with pytest.raises(TandemError, match="tokenizer_config.json: cannot read it as JSON"):
        export_ct2(_tiny_tandem(), tmp_path / "t", tokenizer=tmp_path / "tok" / "tokenizer.model")
    assert not (tmp_path / "t").exists()

    real = ct2._convert

    def no_int8(src, vocab, out, quantization, start):  # the quantized conversion fails, late
        if quantization != "float32":
            raise TandemError("CTranslate2 rejected the quantized model")
        return real(src, vocab, out, quantization, start)

    monkeypatch.setattr(ct2, "_convert", no_int8)
    with pytest.raises(TandemError, match="quantized"):
        export_ct2(_tiny_tandem(), tmp_path / "q", quantize="int8", tokenizer=spm)
    assert not (tmp_path / "q").exists()
    with pytest.raises(TandemError, match="quantized"):
        export_ct2(_tiny_tandem(), tmp_path / "e", quantize="int8", tokenizer=spm)
    assert {p.name: p.read_bytes() for p in (tmp_path / "e").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e", "tok"]  # no staging folder left beside


def _alexatm_shaped(norm_type: str = "alexatm", seed: int = 0) -> Seq2SeqLM:
    """A random tandem model with AlexaTM's layout: no embedding norm, encoder positions from 0 plus a
    token-type embedding, untied embeddings and LM head, a non-zero final logits bias."""
    torch.manual_seed(seed)
    cfg = dataclasses.replace(
        ModelConfig.preset("alexatm-20b"),
        vocab_size=256,
        d_model=64,
        num_heads=4,
        ffn_dim=128,
        encoder_layers=2,
        decoder_layers=2,
        max_positions=64,
        norm_type=norm_type,
    )
    model = Seq2SeqLM(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.3)
        for p in model.parameters():  # non-trivial norms and biases, so the mapping is tested
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.1)
        model.final_logits_bias.normal_(0.0, 0.5)
    return model


def _twin(model: Seq2SeqLM, **changes) -> Seq2SeqLM:
    twin = Seq2SeqLM(dataclasses.replace(model.config, **changes)).eval()
    twin.load_state_dict(model.state_dict())
    return twin


@pytest.mark.parametrize(
    "shape",
    [
        {},  # mBART-shaped tandem preset
        {"pre_norm": False, "final_norm": False},  # BART-shaped: post-norm
        {"tie_embeddings": False, "tie_lm_head": False, "final_logits_bias": True},
    ],
)
def test_spec_path_is_exact_for_layernorm_models(tmp_path, tok_dir, shape):
    model = _tiny_tandem(**shape)
    if model.final_logits_bias is not None:
        with torch.no_grad():
            model.final_logits_bias.normal_(0.0, 0.5)
    rep = export_ct2(model, tmp_path / "o", quantize="float32", tokenizer=tok_dir / "tokenizer.model")
    assert rep.architecture == ct2.SPEC_ARCHITECTURE and rep.probe_match and not rep.approximate
    assert rep.max_abs_logit_deviation < 1e-4 and rep.greedy_token_agreement == 1.0


def test_alexatm_layout_with_layernorm_is_exact(tmp_path, tok_dir):
    # positions from 0 + token type, untied head, logits bias: all exact once the norm is standard
    model = _alexatm_shaped("layernorm")
    rep = export_ct2(model, tmp_path / "o", quantize="float32", tokenizer=tok_dir / "tokenizer.model")
    assert rep.probe_match and not rep.approximate and rep.max_abs_logit_deviation < 1e-4
    tok = Tokenizer.load(tok_dir)
    want = [
        tok.decode(model.generate(torch.tensor([tok.encode(t, add_eos=True)]), max_new_tokens=10)[0].tolist())
        for t in TEXTS
    ]
    assert _ct2_texts(tmp_path / "o", tok, TEXTS) == want


def test_alexatm_norm_refused_then_approximated(tmp_path, tok_dir):
    model = _alexatm_shaped()
    spm = tok_dir / "tokenizer.model"
    with pytest.raises(
        TandemError, match="cannot be exported exactly: .*norm_type 'alexatm'.*--allow-approximate"
    ):
        export_ct2(model, tmp_path / "out", tokenizer=spm)
    assert not (tmp_path / "out").exists()

    rep = export_ct2(model, tmp_path / "out", quantize="float32", tokenizer=spm, allow_approximate=True)
    assert rep.approximate and rep.architecture == ct2.SPEC_ARCHITECTURE
    assert 1e-4 < rep.max_abs_logit_deviation < 10 and 0.0 < rep.greedy_token_agreement <= 1.0
    meta = json.loads((tmp_path / "out" / "tandem_edge.json").read_text())
    assert meta["export"]["max_abs_logit_deviation"] == rep.max_abs_logit_deviation
    assert any("norm_type 'alexatm'" in n for n in meta["export"]["notes"])

    # The deviation is measured against tandem: CT2's own scores of tandem's greedy outputs differ from
    # tandem's log-probs, by at most 2x the reported max |logit diff| (log-softmax is 2-Lipschitz in max-norm).
    import ctranslate2

    pieces = json.loads((tmp_path / "out" / "shared_vocabulary.json").read_text())
    tr = ctranslate2.Translator(str(tmp_path / "out"), compute_type="float32")
    tok = Tokenizer.load(tok_dir)
    worst = 0.0
    for t in TEXTS:
        src = tok.encode(t, add_eos=True)
        out = model.generate(torch.tensor([src]), max_new_tokens=8)[0].tolist()
        tgt = [i for i in out[1:] if i not in (1, 2)]
        ct = tr.score_batch([[pieces[i] for i in src]], [[pieces[i] for i in tgt]])[0].log_probs[: len(tgt)]
        with torch.no_grad():
            logp = model(
                input_ids=torch.tensor([src]),
                decoder_input_ids=torch.tensor([out[:-1] if len(out) > len(tgt) + 1 else out[: len(tgt)]]),
            ).logits.log_softmax(-1)[0]
        ref = [float(logp[k, i]) for k, i in enumerate(tgt)]
        worst = max(worst, max(abs(a - b) for a, b in zip(ct, ref)))
    assert 0.0 < worst <= 2 * rep.max_abs_logit_deviation + 1e-4

    # Only the norm differs: a tandem twin whose norm_type is "layernorm" (same weights) decodes exactly
    # what the approximate export decodes.
    twin = _twin(model, norm_type="layernorm")
    want = [
        tok.decode(twin.generate(torch.tensor([tok.encode(t, add_eos=True)]), max_new_tokens=10)[0].tolist())
        for t in TEXTS
    ]
    assert _ct2_texts(tmp_path / "out", tok, TEXTS) == want
    assert rep.mapping_check["greedy_match"] and rep.mapping_check["max_abs_logit_deviation"] < 1e-4


def test_alexatm_fixture_cli(tmp_path, shared_fixtures, capsys):
    fx = shared_fixtures / "alexatm-tiny"
    if not (fx / "config.json").is_file():
        pytest.skip(f"{fx} is absent")
    spm = fx / "alexatm-format-spm.model"
    args = ["export", str(fx), "--tokenizer", str(spm), "--quantize", "float32"]
    assert main([*args, "--out", str(tmp_path / "refused")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "norm_type 'alexatm'" in err and "--allow-approximate" in err

    assert main([*args, "--out", str(tmp_path / "o"), "--allow-approximate"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rep = json.loads(lines[0])
    assert rep["approximate"] and rep["mapping_check"]["greedy_match"]
    assert 1e-4 < rep["max_abs_logit_deviation"] < 10 and 0.0 < rep["greedy_token_agreement"] <= 1.0
    assert lines[-1].startswith("warning: approximate export") and "greedy token agreement" in lines[-1]

    # Re-measure on the same probe batch with tandem's own generate and forward: the reported max |logit
    # difference| and greedy agreement are exactly what tandem's AlexaTM model vs CTranslate2 gives.
    import ctranslate2
    import numpy as np

    model = Seq2SeqLM.from_pretrained(fx).eval()
    pieces = json.loads((tmp_path / "o" / "shared_vocabulary.json").read_text())
    tr = ctranslate2.Translator(str(tmp_path / "o"), compute_type="float32")
    probes = ct2.probe_batch(22, eos=2, first_regular=7)  # the fixture's SentencePiece model has 22 pieces
    worst, same, total = 0.0, 0, 0
    for src in probes:
        want = model.generate(torch.tensor([src]), max_new_tokens=16)[0].tolist()[1:]
        want = want[: want.index(2) + 1] if 2 in want else want
        got = tr.translate_batch(
            [[pieces[i] for i in src]],
            beam_size=1,
            max_decoding_length=16,
            min_decoding_length=0,
            return_end_token=True,
        )[0].hypotheses[0]
        got = [pieces.index(p) for p in got]
        total += max(len(want), len(got))
        same += sum(a == b for a, b in zip(want, got))
        res = tr.translate_batch(
            [[pieces[i] for i in src]],
            target_prefix=[[pieces[i] for i in want[:-1]]],
            beam_size=1,
            max_decoding_length=len(want),
            min_decoding_length=0,
            return_logits_vocab=True,
        )[0]
        ct = np.stack([np.asarray(v) for v in res.logits[0]])
        with torch.no_grad():
            ref = model(
                input_ids=torch.tensor([src]), decoder_input_ids=torch.tensor([[2, *want[:-1]]])
            ).logits[0]
        worst = max(worst, float(np.abs(ct - ref.numpy()[: len(ct)]).max()))
    assert worst == pytest.approx(rep["max_abs_logit_deviation"], rel=1e-3)
    assert same / total == pytest.approx(rep["greedy_token_agreement"])


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
    vmap = (tmp_path / "o" / "vmap.txt").read_text()
    # refused, the map left as it was: an empty outputs file (the map held only control tokens, so with
    # --no-copy-source every output was empty), and flags --trim-to ignored (--out wrote nothing there)
    (tmp_path / "empty.txt").write_text("\n  \n")
    for extra in (["--no-copy-source"], []):
        assert main(["export", str(tmp_path / "o"), "--trim-to", str(tmp_path / "empty.txt"), *extra]) == 2
        assert "no outputs in it" in capsys.readouterr().err
    for extra in (["--out", str(tmp_path / "t")], ["--quantize", "float32"], ["--max-new-tokens", "4"]):
        assert main(["export", str(tmp_path / "o"), "--trim-to", str(labels), *extra]) == 2
        assert f"{extra[0]} does not apply" in capsys.readouterr().err
    assert (tmp_path / "o" / "vmap.txt").read_text() == vmap and not (tmp_path / "t").exists()
    assert main(["export", str(hf), "--out", str(tmp_path / "n"), "--no-copy-source"]) == 2
    assert "--no-copy-source applies only with --trim-to" in capsys.readouterr().err
    # errors are one line, exit 2
    assert main(["export", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
    assert f"error: {tmp_path / 'missing'}: not a directory" in capsys.readouterr().err  # as every verb says
    assert main(["export", str(hf), "--out", str(tmp_path / "y")]) == 2  # no tokenizer in an HF dir
    assert "--tokenizer" in capsys.readouterr().err
    missing = str(tmp_path / "nope.model")
    assert main(["export", str(hf), "--out", str(tmp_path / "z"), "--tokenizer", missing]) == 2
    assert f"--tokenizer {missing}: file not found" in capsys.readouterr().err
    assert (
        main(["export", str(hf), "--format", "hf", "--out", str(tmp_path / "z"), "--tokenizer", missing]) == 2
    )
    assert f"--tokenizer {missing}: file not found" in capsys.readouterr().err
    assert not (tmp_path / "z").exists()


def test_cli_export_refuses_an_out_it_would_clobber(tmp_path, tok_dir, capsys):
    """--out must be new, empty or a previous export of the same format; never a file or the model itself."""
    model = _tiny_tandem()
    model.save_pretrained(tmp_path / "m")
    Tokenizer.load(tok_dir).save(tmp_path / "m")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in (tmp_path / "m").iterdir())
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("keep me")
    (tmp_path / "file.txt").write_text("keep me")
    m = str(tmp_path / "m")
    for fmt in ("hf", "ct2"):
        for out, words in [
            (tmp_path / "junk", "exists and is not"),
            (tmp_path / "file.txt", "is a file"),
            # a file above it: was a FileExistsError traceback once the export was done
            (tmp_path / "file.txt" / "sub", "file.txt is a file, not a folder"),
            (tmp_path / "m", "is the model directory"),
        ]:
            assert main(["export", m, "--format", fmt, "--out", str(out)]) == 2, (fmt, out)
            err = capsys.readouterr().err
            assert err.startswith("error:") and words in err, err
    assert sorted(p.name for p in (tmp_path / "junk").iterdir()) == ["notes.txt"]
    assert (tmp_path / "file.txt").read_text() == "keep me"
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (tmp_path / "m").iterdir()) == before
    # a previous export of the same format is replaced
    assert main(["export", m, "--format", "hf", "--out", str(tmp_path / "hf")]) == 0
    fresh = sorted(p.name for p in (tmp_path / "hf").iterdir())
    # ... with none of its files left behind (here: the shards of a larger model exported there before)
    for name in ("model-00001-of-00002.safetensors", "model.safetensors.index.json"):
        (tmp_path / "hf" / name).write_bytes(b"{}")
    assert main(["export", m, "--format", "hf", "--out", str(tmp_path / "hf")]) == 0
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["model_type"] == "mbart"
    assert sorted(p.name for p in (tmp_path / "hf").iterdir()) == fresh


@pytest.mark.skipif(
    not os.path.isdir("/proc/self"), reason="needs Linux's /proc, where no folder can be made"
)
@pytest.mark.parametrize("fmt", ["ct2", "hf"])
def test_cli_export_to_an_unwritable_place_is_one_error_line(tmp_path, tok_dir, capsys, fmt):
    """An --out where no folder can be made (here /proc; elsewhere a folder without write permission or a
    read-only file system): one error line naming it, not an OSError traceback after the whole export."""
    model = _tiny_tandem()
    model.save_pretrained(tmp_path / "m")
    Tokenizer.load(tok_dir).save(tmp_path / "m")
    out = "/proc/tandem-export-test/out"
    assert main(["export", str(tmp_path / "m"), "--format", fmt, "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and f"{out}: cannot write there" in err and "Traceback" not in err, err
    assert not os.path.exists(out)


def test_cli_export_hf_refuses_quantize_and_is_verified(tmp_path, tok_dir, capsys, monkeypatch):
    """--format hf writes the model's own weights: --quantize is refused, not ignored; and the export is
    checked like ct2's (greedy parity with tandem on the probe batch, in float32)."""
    import sys

    from tandem.interop import hf as hf_mod

    _tiny_tandem().save_pretrained(tmp_path / "m")
    Tokenizer.load(tok_dir).save(tmp_path / "m")
    m = str(tmp_path / "m")
    for q in ("int8", "float32"):
        assert main(["export", m, "--format", "hf", "--quantize", q, "--out", str(tmp_path / "q")]) == 2
        err = capsys.readouterr().err
        assert f"--quantize {q}" in err and "--format ct2" in err, err
    assert not (tmp_path / "q").exists()

    assert main(["export", m, "--format", "hf", "--out", str(tmp_path / "hf")]) == 0
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rep["verified"] == {"probe_sequences": 6, "probe_match": True, "reference": "tandem (float32)"}

    real = hf_mod.tandem_to_bart

    def wrong_bias(tensors, config):  # a writer that gets one tensor wrong
        out = real(tensors, config)
        out["final_logits_bias"] = torch.randn_like(out["final_logits_bias"]) * 10
        return out

    monkeypatch.setattr(hf_mod, "tandem_to_bart", wrong_bias)
    assert main(["export", m, "--format", "hf", "--out", str(tmp_path / "bad" / "hf")]) == 2
    err = capsys.readouterr().err
    assert "export check failed" in err and "position" in err and "reference [" in err, err
    assert not (tmp_path / "bad").exists()  # nor the folder made above --out
    monkeypatch.setattr(hf_mod, "tandem_to_bart", real)

    # no Hugging Face architecture (AlexaTM's LayerNorm): refused before any folder is made
    _alexatm_shaped().save_pretrained(tmp_path / "a")
    Tokenizer.load(tok_dir).save(tmp_path / "a")
    assert main(["export", str(tmp_path / "a"), "--format", "hf", "--out", str(tmp_path / "x" / "hf")]) == 2
    assert "no Hugging Face architecture" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()

    monkeypatch.setitem(sys.modules, "transformers", None)  # transformers is optional: skip the check
    assert main(["export", m, "--format", "hf", "--out", str(tmp_path / "unchecked")]) == 0
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rep["verified"] is None and any("transformers" in n for n in rep["notes"])
    assert (tmp_path / "unchecked" / "model.safetensors").is_file()


def test_exporting_an_edge_export_says_what_to_do(tmp_path, tok_dir, capsys):
    """An edge export holds CTranslate2 weights, not a model to export again: say so, not 'model_type None'."""
    hf = build_random_hf(tmp_path / "hf", arch="mbart", vocab_size=256, seed=4)
    export_ct2(hf, tmp_path / "e", quantize="int8", tokenizer=tok_dir / "tokenizer.model")
    capsys.readouterr()
    for fmt in ("ct2", "hf"):
        assert (
            main(["export", str(tmp_path / "e"), "--format", fmt, "--out", str(tmp_path / f"re-{fmt}")]) == 2
        )
        err = capsys.readouterr().err
        assert "is a tandem edge export" in err and "--trim-to" in err and "model_type" not in err, err
        assert not (tmp_path / f"re-{fmt}").exists()
    with pytest.raises(TandemError, match="is a tandem edge export"):
        Seq2SeqLM.from_pretrained(tmp_path / "e")


def test_slu_labels_travel_with_the_export(tmp_path):
    """A --slu-tags student's labels.json goes into the CT2 export (and an HF export); bad ones are refused."""
    from tandem.edge import EdgeModel
    from tandem.finetune import SLULabels

    tag_tok = train_tiny_tokenizer(tmp_path / "tok", vocab_size=256, reserved_tags=4)
    model = _tiny_tandem()
    model.save_pretrained(tmp_path / "m")
    Tokenizer.load(tag_tok).save(tmp_path / "m")
    labels = SLULabels(["play_music", "set_alarm"], ["artist", "time"])
    labels.save(tmp_path / "m")
    rep = export_ct2(tmp_path / "m", tmp_path / "ct2", quantize="int8")
    assert rep.probe_match
    assert json.loads((tmp_path / "ct2" / "labels.json").read_text()) == json.loads(
        (tmp_path / "m" / "labels.json").read_text()
    )
    assert json.loads((tmp_path / "ct2" / "tandem_edge.json").read_text())["slu_labels"] == "labels.json"
    m = EdgeModel.load(tmp_path / "ct2")
    assert list(m.labels.intents) == labels.intents and list(m.labels.slots) == labels.slots
    # an explicit --labels file, through the CLI, for both formats
    other = tmp_path / "other.json"
    SLULabels(["x"], ["y"]).save(tmp_path / "o")
    (tmp_path / "o" / "labels.json").rename(other)
    assert main(["export", str(tmp_path / "m"), "--out", str(tmp_path / "ct2b"), "--labels", str(other)]) == 0
    assert json.loads((tmp_path / "ct2b" / "labels.json").read_text())["intents"] == ["x"]
    assert main(["export", str(tmp_path / "m"), "--format", "hf", "--out", str(tmp_path / "hf")]) == 0
    assert (tmp_path / "hf" / "labels.json").read_text() == (tmp_path / "m" / "labels.json").read_text()
    # more labels than the tokenizer reserves tags: refused, naming the file and the missing tag
    SLULabels(["a", "b", "c"], ["d", "e"]).save(tmp_path / "m")
    with pytest.raises(TandemError, match=r"labels.json: 5 labels but the tokenizer has no <tag_4>"):
        export_ct2(tmp_path / "m", tmp_path / "ct2c", quantize="int8")
    # a model without labels.json exports without one
    (tmp_path / "m" / "labels.json").unlink()
    export_ct2(tmp_path / "m", tmp_path / "ct2d", quantize="int8")
    assert not (tmp_path / "ct2d" / "labels.json").exists()


def test_probe_decodes_longer_than_the_positions_are_refused(tmp_path, tok_dir):
    """`--max-new-tokens` over the model's positions was a ValueError from deep inside the torch decoder, and
    a model with fewer than 20 positions could not be exported at all (its probe inputs were longer)."""
    model = _tiny_tandem(max_positions=16)
    with pytest.raises(TandemError, match="--max-new-tokens 17 is over this model's 16 positions"):
        export_ct2(model, tmp_path / "o", tokenizer=tok_dir / "tokenizer.model", max_new_tokens=17)
    assert not (tmp_path / "o").exists()
    rep = export_ct2(
        model, tmp_path / "o", quantize="float32", tokenizer=tok_dir / "tokenizer.model", max_new_tokens=16
    )
    assert rep.probe_match


def test_an_alexatm_export_frames_sources_as_its_tokenizer_does(tmp_path, shared_fixtures, capsys):
    """Exported with AlexaTM's released tokenizer (20b_tokenizer.model), the edge runtime frames a source
    `<s> ... </s>` as the reference AlexaTMTokenizerFast does (its repository's test ids), and as the torch
    path does; an empty text is still refused as one with no tokens."""
    import shutil

    from tandem.edge import EdgeModel
    from tandem.tokenizer import affixes, frame

    fx = shared_fixtures / "alexatm-tiny"
    if not (fx / "config.json").is_file():
        pytest.skip(f"{fx} is absent")
    (tmp_path / "tok").mkdir()
    spm = tmp_path / "tok" / "20b_tokenizer.model"
    shutil.copy(fx / "alexatm-format-spm.model", spm)
    args = ["export", str(fx), "--tokenizer", str(spm), "--quantize", "float32", "--allow-approximate"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    assert (
        json.loads((tmp_path / "o" / "tandem_edge.json").read_text())["source_bos"] == 1
    )  # the tokenizer's <s>
    edge = EdgeModel(tmp_path / "o")
    reference = [1, 3, 9, 13, 7, 5, 3, 7, 5, 3, 12, 6, 8, 4, 3, 21, 6, 9, 6, 2]
    assert [edge.pieces.index(p) for p in edge.encode("this is fake data")] == reference
    tok = Tokenizer.load(spm.parent)
    assert frame(tok.encode("this is fake data"), affixes(tok))[0] == reference
    with pytest.raises(TandemError, match="no tokens"):
        edge.generate([""], max_new_tokens=2)
