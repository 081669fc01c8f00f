"""Parity with Hugging Face transformers (the reference implementation) on random tiny models.

Each HF model is built locally from a config, every norm weight and bias is perturbed (so no LayerNorm is
the identity), it is saved as an HF directory, loaded by tandem, and compared: logits on a right-padded
batch within 1e-4 (fp32), greedy and beam generations token-identical to `transformers`' generate.
"""

from __future__ import annotations

import json

import pytest
import torch

from _hf_tiny import TINY_BART_DIMS
from tandem import Seq2SeqLM
from tandem.errors import TandemError
from tandem.interop import to_hf
from tandem.model import shift_right

transformers = pytest.importorskip("transformers")

V = 96


def _perturb(model: torch.nn.Module, eos: int) -> None:
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "layernorm" in name:
                p.add_(torch.randn(p.shape, generator=g) * 0.2)
            elif name.endswith("bias"):
                p.add_(torch.randn(p.shape, generator=g) * 0.05)
        if hasattr(model, "final_logits_bias"):
            model.final_logits_bias.normal_(0, 0.1, generator=g)
            model.final_logits_bias[0, eos] += 1.5  # make EOS likely enough that some hypotheses end early


def _bart(kind: str):
    # "mbart-untied": tie_word_embeddings False, which in transformers 5 unties the encoder and decoder
    # token embeddings and the LM head from model.shared (three tables, each saved under its own name)
    mbart = kind.startswith("mbart")
    cls = transformers.MBartConfig if mbart else transformers.BartConfig
    cfg = cls(
        vocab_size=V,
        **TINY_BART_DIMS,
        scale_embedding=mbart,
        tie_word_embeddings=kind != "mbart-untied",
        forced_eos_token_id=None,
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
    )
    model_cls = (
        transformers.MBartForConditionalGeneration if mbart else transformers.BartForConditionalGeneration
    )
    return model_cls(cfg), cfg.eos_token_id, cfg.pad_token_id


def _t5(kind: str):
    kw = dict(
        vocab_size=V,
        d_model=32,
        d_kv=8,
        d_ff=48,
        num_layers=3,
        num_decoder_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=20,
        dropout_rate=0.0,
    )
    if kind == "t5":  # v1.0: ReLU, tied LM head (rescaled by d^-0.5)
        cfg = transformers.T5Config(feed_forward_proj="relu", tie_word_embeddings=True, **kw)
    elif kind == "t5-v1.1":  # gated-GELU, untied head
        cfg = transformers.T5Config(feed_forward_proj="gated-gelu", tie_word_embeddings=False, **kw)
    else:  # mT5-like
        cfg = transformers.MT5Config(feed_forward_proj="gated-gelu", tie_word_embeddings=False, **kw)
    model_cls = (
        transformers.MT5ForConditionalGeneration if kind == "mt5" else transformers.T5ForConditionalGeneration
    )
    model = model_cls(cfg)
    model.generation_config.decoder_start_token_id = 0  # T5 starts decoding with its pad id 0
    if kind != "t5":  # v1.1 / mT5 checkpoints have their own LM head; transformers 5 ties by default
        model.lm_head.weight = torch.nn.Parameter(torch.randn(V, 32) * 0.5)
        model.config.tie_word_embeddings = False
    with torch.no_grad():
        model.lm_head.weight[cfg.eos_token_id] *= 3.0  # EOS likely enough to end some hypotheses
    return model, cfg.eos_token_id, cfg.pad_token_id


KINDS = ["bart", "mbart", "mbart-untied", "t5", "t5-v1.1", "mt5"]


@pytest.fixture(scope="module", params=KINDS)
def pair(request, tmp_path_factory):
    torch.manual_seed(0)
    kind = request.param
    hf, eos, pad = _bart(kind) if "bart" in kind else _t5(kind)
    _perturb(hf, eos)
    hf.eval()
    d = tmp_path_factory.mktemp(kind)
    hf.save_pretrained(d)
    ours = Seq2SeqLM.from_pretrained(d)
    return kind, hf, ours, eos, pad, d


def _batch(pad: int, eos: int):
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(3, V, (3, 11), generator=g)
    mask = torch.ones_like(ids)
    for row, n in ((1, 7), (2, 4)):  # right padding, as HF encoder-decoders expect
        ids[row, n:] = pad
        mask[row, n:] = 0
    ids[ids == eos] = 5
    return ids, mask


def test_logits_match(pair):
    kind, hf, ours, eos, pad, _ = pair
    ids, mask = _batch(pad, eos)
    dec = torch.randint(3, V, (3, 6), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask, decoder_input_ids=dec)
        out = ours(ids, attention_mask=mask, decoder_input_ids=dec)
    assert torch.allclose(out.logits, ref.logits, atol=1e-4), (out.logits - ref.logits).abs().max()
    enc_ref = ref.encoder_last_hidden_state
    keep = mask.bool()
    assert torch.allclose(out.encoder_hidden_states[keep], enc_ref[keep], atol=1e-4)


def test_loss_matches(pair):
    kind, hf, ours, eos, pad, _ = pair
    ids, mask = _batch(pad, eos)
    labels = torch.randint(3, V, (3, 5), generator=torch.Generator().manual_seed(5))
    labels[2, 3:] = -100
    # explicit decoder inputs: mBART's own label shift wraps the language code around, by design
    dec = shift_right(labels, ours.config.decoder_start_token_id, pad)
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask, decoder_input_ids=dec, labels=labels).loss
        got = ours(ids, attention_mask=mask, decoder_input_ids=dec, labels=labels).loss
    assert abs(float(ref) - float(got)) < 1e-4


@pytest.mark.parametrize("num_beams", [1, 4])
def test_generation_identical(pair, num_beams):
    kind, hf, ours, eos, pad, _ = pair
    ids, mask = _batch(pad, eos)
    kw = dict(max_new_tokens=12, num_beams=num_beams, do_sample=False)
    with torch.no_grad():
        ref = hf.generate(input_ids=ids, attention_mask=mask, min_new_tokens=2, **kw)
    got = ours.generate(ids, attention_mask=mask, min_new_tokens=2, **kw)
    assert got.tolist() == ref.tolist()


def test_beam_generation_with_length_penalty_and_return_sequences(pair):
    kind, hf, ours, eos, pad, _ = pair
    ids, mask = _batch(pad, eos)
    kw = dict(max_new_tokens=10, num_beams=3, num_return_sequences=2, length_penalty=0.6, early_stopping=True)
    with torch.no_grad():
        ref = hf.generate(input_ids=ids, attention_mask=mask, do_sample=False, **kw)
    assert ours.generate(ids, attention_mask=mask, **kw).tolist() == ref.tolist()


def test_untied_heads_are_loaded_untied(pair):
    kind, hf, ours, *_ = pair
    untied = kind in ("t5-v1.1", "mt5", "mbart-untied")
    assert ours.config.tie_lm_head is not untied
    assert (ours.lm_head.weight.data_ptr() == ours.encoder.embed_tokens.weight.data_ptr()) is not untied


def test_round_trip_tandem_hf_tandem_is_bit_exact(pair, tmp_path):
    kind, hf, ours, eos, pad, _ = pair
    arch = to_hf(ours, tmp_path / "hf")
    back = Seq2SeqLM.from_pretrained(tmp_path / "hf")
    a, b = ours.state_dict(), back.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # and transformers loads what tandem wrote, computing the same logits
    reloaded = transformers.AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "hf").eval()
    ids, mask = _batch(pad, eos)
    dec = torch.full((3, 1), ours.config.decoder_start_token_id)
    with torch.no_grad():
        assert torch.allclose(
            reloaded(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits,
            ours(ids, attention_mask=mask, decoder_input_ids=dec).logits,
            atol=1e-5,
        )
    assert arch in ("bart", "mbart", "t5")


def test_left_padding_gives_the_same_outputs_as_no_padding(pair):
    kind, hf, ours, eos, pad, _ = pair
    if kind in ("bart", "mbart-untied"):  # same code path as mbart; keep the suite quick
        pytest.skip("covered by mbart")
    row = torch.randint(3, V, (1, 6), generator=torch.Generator().manual_seed(7))
    row[row == eos] = 5
    left = torch.cat([torch.full((1, 3), pad), row], 1)
    mask = torch.cat([torch.zeros(1, 3, dtype=torch.long), torch.ones(1, 6, dtype=torch.long)], 1)
    alone = ours.generate(row, max_new_tokens=8)
    padded = ours.generate(left, attention_mask=mask, max_new_tokens=8)
    assert alone.tolist() == padded.tolist()


def test_unsupported_hf_architecture_is_a_clear_error(tmp_path):
    cfg = transformers.GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50)
    transformers.GPT2LMHeadModel(cfg).save_pretrained(tmp_path)
    with pytest.raises(TandemError, match="model_type 'gpt2' is not supported"):
        Seq2SeqLM.from_pretrained(tmp_path)


@pytest.mark.parametrize("keep", [20, 0.5])
def test_truncated_hf_weights_are_a_clear_error(tmp_path, keep):
    hf, *_ = _bart("bart")
    hf.save_pretrained(tmp_path)
    path = tmp_path / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: keep if isinstance(keep, int) else int(len(data) * keep)])
    with pytest.raises(TandemError, match="unreadable or corrupt"):
        Seq2SeqLM.from_pretrained(tmp_path)


@pytest.mark.parametrize("kind", ["bart", "t5"])
def test_decoder_start_from_generation_config(tmp_path, kind):
    # transformers' generate() reads generation_config.json, which may say something config.json does not
    # (transformers 5 no longer writes T5's decoder_start_token_id into config.json at all)
    torch.manual_seed(0)
    hf, eos, pad = _bart(kind) if kind == "bart" else _t5(kind)
    hf.eval()
    hf.generation_config.decoder_start_token_id = 3
    hf.save_pretrained(tmp_path)
    ours = Seq2SeqLM.from_pretrained(tmp_path)
    assert ours.config.decoder_start_token_id == 3
    ids, mask = _batch(pad, eos)
    with torch.no_grad():
        ref = hf.generate(input_ids=ids, attention_mask=mask, max_new_tokens=5, do_sample=False)
    assert ours.generate(ids, attention_mask=mask, max_new_tokens=5).tolist() == ref.tolist()


@pytest.mark.parametrize("kind", ["bart", "t5"])
def test_config_missing_a_size_is_a_clear_error(tmp_path, kind):
    hf, *_ = _bart(kind) if kind == "bart" else _t5(kind)
    hf.save_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": kind, "vocab_size": V}))
    with pytest.raises(TandemError, match=r"config\.json.* lacks 'd_model'"):
        Seq2SeqLM.from_pretrained(tmp_path)


@pytest.mark.parametrize("kind", ["bart", "t5", "tandem"])
def test_a_mistyped_config_field_is_a_clear_error(tmp_path, kind):
    """A hand-edited config.json ("vocab_size": "x") is refused naming the directory and the field, not a
    TypeError from a comparison deep in the config checks."""
    if kind == "tandem":
        from tandem import ModelConfig

        Seq2SeqLM(
            ModelConfig.preset("tiny", vocab_size=V, d_model=32, num_heads=4, ffn_dim=64)
        ).save_pretrained(tmp_path)
    else:
        hf, *_ = _bart(kind) if kind == "bart" else _t5(kind)
        hf.save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(cfg | {"vocab_size": "x"}))
    with pytest.raises(TandemError, match=r'vocab_size must be int, got "x"') as e:
        Seq2SeqLM.from_pretrained(tmp_path)
    assert str(tmp_path) in str(e.value)


def test_t5_shaped_export_keeps_max_positions(tmp_path):
    from tandem import ModelConfig

    cfg = ModelConfig(
        vocab_size=V, d_model=32, num_heads=4, head_dim=12, ffn_dim=48, encoder_layers=2, decoder_layers=2,
        max_positions=1024, norm_type="rmsnorm", norm_eps=1e-6, embedding_norm=False, position_type="relative",
        relative_buckets=8, relative_max_distance=20, bias=False, norm_bias=False, attention_scale=1.0,
        activation="relu", pad_token_id=0, eos_token_id=1, bos_token_id=None, decoder_start_token_id=0,
    )  # fmt: skip
    assert to_hf(Seq2SeqLM(cfg), tmp_path) == "t5"
    back = Seq2SeqLM.from_pretrained(tmp_path).config
    # the export says top_k 0 (tandem's unfiltered sampling), where transformers would take 50
    assert back.generation == {"top_k": 0}
    skip = {"name", "extra", "init_std", "generation"}
    assert {k: v for k, v in back.to_dict().items() if k not in skip} == {
        k: v for k, v in cfg.to_dict().items() if k not in skip
    }


def test_bf16_export_is_labelled_bf16(tmp_path):
    hf, *_ = _bart("mbart")
    hf.save_pretrained(tmp_path / "src")
    ours = Seq2SeqLM.from_pretrained(tmp_path / "src", dtype=torch.bfloat16)
    to_hf(ours, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "config.json").read_text())["dtype"] == "bfloat16"
    assert transformers.AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "out").dtype == torch.bfloat16


def test_bf16_export_without_a_logits_bias_has_only_bf16_tensors(tmp_path):
    """`tandem convert --to hf --dtype bfloat16` of a model without final_logits_bias (tandem's presets): the
    zero bias BART checkpoints carry is written in bf16 too, not as the one float32 tensor of the file."""
    from safetensors import safe_open

    from tandem import ModelConfig

    cfg = ModelConfig.preset("tiny", vocab_size=V, d_model=32, num_heads=4, ffn_dim=48, max_positions=64)
    assert not cfg.final_logits_bias
    to_hf(Seq2SeqLM(cfg).to(torch.bfloat16), tmp_path)
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as f:
        dtypes = {k: f.get_tensor(k).dtype for k in f.keys()}
    assert dtypes["final_logits_bias"] == torch.bfloat16
    assert set(dtypes.values()) == {torch.bfloat16}


@pytest.mark.parametrize("kind", ["mbart", "t5-v1.1"])
def test_convert_round_trip_keeps_bf16_weights_bit_exact(tmp_path, kind):
    """HF bf16 -> `tandem convert --to tandem` -> `--to hf`: the weights stay bf16 (they were written as
    float32, twice the size, and came back as float32) and equal the original bit for bit."""
    from safetensors.torch import load_file

    from tandem.cli import main

    torch.manual_seed(0)
    hf, eos, _ = _bart(kind) if "bart" in kind else _t5(kind)
    _perturb(hf, eos)
    hf.to(torch.bfloat16).save_pretrained(tmp_path / "a")
    assert main(["convert", str(tmp_path / "a"), "--to", "tandem", "--out", str(tmp_path / "t")]) == 0
    assert {v.dtype for v in load_file(tmp_path / "t" / "model.safetensors").values()} == {torch.bfloat16}
    assert main(["convert", str(tmp_path / "t"), "--to", "hf", "--out", str(tmp_path / "b")]) == 0
    before, after = (
        load_file(tmp_path / "a" / "model.safetensors"),
        load_file(tmp_path / "b" / "model.safetensors"),
    )
    assert set(before) == set(after)
    assert all(after[k].dtype == before[k].dtype and torch.equal(after[k], before[k]) for k in before)
    assert json.loads((tmp_path / "b" / "config.json").read_text())["dtype"] == "bfloat16"
    # --dtype still casts; from a float32 tandem directory, float32 stays float32
    assert (
        main(
            [
                "convert",
                str(tmp_path / "t"),
                "--to",
                "tandem",
                "--out",
                str(tmp_path / "w"),
                "--dtype",
                "float32",
            ]
        )
        == 0
    )
    assert {v.dtype for v in load_file(tmp_path / "w" / "model.safetensors").values()} == {torch.float32}
    assert main(["convert", str(tmp_path / "w"), "--to", "hf", "--out", str(tmp_path / "c")]) == 0
    assert json.loads((tmp_path / "c" / "config.json").read_text())["dtype"] == "float32"


def test_stored_dtype_of_a_pytorch_model_bin(tmp_path):
    from tandem.checkpoint import stored_dtype

    hf, *_ = _bart("bart")
    assert stored_dtype(_bin_dir(tmp_path, hf.to(torch.float16))) == torch.float16


def _bin_dir(tmp_path, hf, shards: int = 1):
    """`hf` saved the way older transformers did: pytorch_model.bin, or shards with their index."""
    hf.save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    state = hf.state_dict()  # every tied name, as .bin files hold them
    if shards == 1:
        torch.save(state, tmp_path / "pytorch_model.bin")
        return tmp_path
    keys = list(state)
    weight_map = {}
    for i in range(shards):
        name = f"pytorch_model-{i + 1:05d}-of-{shards:05d}.bin"
        part = keys[i::shards]
        torch.save({k: state[k] for k in part}, tmp_path / name)
        weight_map.update({k: name for k in part})
    index = {"metadata": {}, "weight_map": weight_map}
    (tmp_path / "pytorch_model.bin.index.json").write_text(json.dumps(index))
    return tmp_path


def test_sharded_pytorch_model_bin_is_read_as_transformers_reads_it(tmp_path):
    torch.manual_seed(0)
    hf, eos, pad = _bart("mbart")
    _perturb(hf, eos)
    hf.eval()
    d = _bin_dir(tmp_path, hf, shards=2)
    ours = Seq2SeqLM.from_pretrained(d)
    ids, mask = _batch(pad, eos)
    dec = torch.full((3, 1), ours.config.decoder_start_token_id)
    with torch.no_grad():
        ref = transformers.AutoModelForSeq2SeqLM.from_pretrained(d).eval()(
            input_ids=ids, attention_mask=mask, decoder_input_ids=dec
        )
        assert torch.allclose(
            ours(ids, attention_mask=mask, decoder_input_ids=dec).logits, ref.logits, atol=1e-5
        )


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_pytorch_model_bin_is_a_clear_error(tmp_path, damage):
    hf, *_ = _bart("bart")
    path = _bin_dir(tmp_path, hf) / "pytorch_model.bin"
    data = path.read_bytes()
    path.write_bytes(b"not a checkpoint" * 8 if damage == "garbage" else data[: len(data) // 2])
    with pytest.raises(TandemError, match=r"pytorch_model\.bin: weights are unreadable or corrupt"):
        Seq2SeqLM.from_pretrained(tmp_path)


@pytest.mark.parametrize("index", ["[]", '{"weight_map": ["a"]}', "\x00\xff"])
def test_malformed_weight_index_is_a_clear_error(tmp_path, index):
    hf, *_ = _bart("bart")
    hf.save_pretrained(tmp_path, max_shard_size="20KB")
    assert not (tmp_path / "model.safetensors").exists()
    (tmp_path / "model.safetensors.index.json").write_bytes(index.encode("latin-1"))
    with pytest.raises(
        TandemError, match=r"model\.safetensors\.index\.json: (not a weight index|unreadable)"
    ):
        Seq2SeqLM.from_pretrained(tmp_path)


@pytest.mark.parametrize(
    "extra",
    [
        "encoder.block.0.layer.1.DenseReluDense.wo_extra.weight",  # not an FFN tensor at all
        "encoder.block.0.layer.1.DenseReluDense.wi.weight",  # a plain FFN's input beside the gated pair
    ],
)
def test_t5_ffn_tensor_without_a_place_is_a_clear_error(tmp_path, extra):
    from safetensors.torch import load_file, save_file

    hf, *_ = _t5("t5-v1.1")
    hf.save_pretrained(tmp_path)
    path = tmp_path / "model.safetensors"
    tensors = load_file(path)
    tensors[extra] = torch.zeros(48, 32)
    save_file(tensors, path)
    with pytest.raises(TandemError, match=rf"{tmp_path}: unexpected tensor {extra} in a T5 checkpoint"):
        Seq2SeqLM.from_pretrained(tmp_path)


def test_bart_checkpoint_without_token_table_names_the_directory(tmp_path):
    from safetensors.torch import load_file, save_file

    hf, *_ = _bart("bart")
    hf.save_pretrained(tmp_path)
    path = tmp_path / "model.safetensors"
    save_file({k: v for k, v in load_file(path).items() if k != "model.shared.weight"}, path)
    with pytest.raises(TandemError, match=rf"{tmp_path}: a BART/mBART checkpoint needs its token embeddings"):
        Seq2SeqLM.from_pretrained(tmp_path)


def test_t5_bin_storing_the_tied_head_twice_loads_tied(tmp_path):
    # older pytorch_model.bin files hold every tied name (shared, embed_tokens, lm_head); transformers ties
    # equal tables again, and so must tandem: an untied copy would train apart from the embeddings
    torch.manual_seed(0)
    hf, eos, pad = _t5("t5")
    _perturb(hf, eos)
    hf.eval()
    d = _bin_dir(tmp_path, hf)
    assert "lm_head.weight" in torch.load(d / "pytorch_model.bin", weights_only=True)
    ours = Seq2SeqLM.from_pretrained(d)
    assert ours.config.tie_lm_head
    assert ours.lm_head.weight.data_ptr() == ours.encoder.embed_tokens.weight.data_ptr()
    ids, mask = _batch(pad, eos)
    dec = torch.randint(3, V, (3, 6), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits
        assert torch.allclose(ours(ids, attention_mask=mask, decoder_input_ids=dec).logits, ref, atol=1e-5)
    to_hf(ours, tmp_path / "hf")
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["tie_word_embeddings"] is True


def _saved_with_the_table_renamed(tmp_path, built, old: str, new: str):
    """Saves the (perturbed) HF model `built` (model, eos, pad) into tmp_path with its token table stored
    under `new` instead of `old`; returns (model, eos, pad, the saved tensors)."""
    from safetensors.torch import load_file, save_file

    hf, eos, pad = built
    _perturb(hf, eos)
    hf.eval()
    hf.save_pretrained(tmp_path)
    path = tmp_path / "model.safetensors"
    tensors = load_file(path)
    tensors[new] = tensors.pop(old)
    save_file(tensors, path)
    return hf, eos, pad, tensors


@pytest.mark.parametrize("name", ["decoder.embed_tokens.weight", "encoder.embed_tokens.weight"])
def test_t5_token_table_under_another_tied_name(tmp_path, name):
    # google/madlad400-* hold their token table as decoder.embed_tokens.weight, with no shared.weight
    # (and their own lm_head); transformers ties the three names, so any one of them is the table
    from safetensors.torch import save_file

    torch.manual_seed(0)
    hf, eos, pad, tensors = _saved_with_the_table_renamed(tmp_path, _t5("t5-v1.1"), "shared.weight", name)
    path = tmp_path / "model.safetensors"
    ours = Seq2SeqLM.from_pretrained(tmp_path)
    assert not ours.config.tie_lm_head
    ids, mask = _batch(pad, eos)
    dec = torch.randint(3, V, (3, 6), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits
        assert torch.allclose(ours(ids, attention_mask=mask, decoder_input_ids=dec).logits, ref, atol=1e-5)
    tensors["shared.weight"] = (
        tensors[name] + 1.0
    )  # two different tables: not a T5 tandem (or T5) can express
    save_file(tensors, path)
    with pytest.raises(TandemError, match=rf"{tmp_path}: shared\.weight and {name} differ"):
        Seq2SeqLM.from_pretrained(tmp_path)


@pytest.mark.parametrize("name", ["model.decoder.embed_tokens.weight", "model.encoder.embed_tokens.weight"])
def test_bart_token_table_under_one_stacks_name(tmp_path, name):
    # facebook/bart-large-cnn's weights hold the tied table as model.decoder.embed_tokens.weight, with no
    # model.shared.weight; transformers ties the names, so that one table is the encoder's and the head too
    torch.manual_seed(0)
    hf, eos, pad, _ = _saved_with_the_table_renamed(tmp_path, _bart("bart"), "model.shared.weight", name)
    ours = Seq2SeqLM.from_pretrained(tmp_path)
    assert ours.config.tie_embeddings and ours.config.tie_lm_head
    ids, mask = _batch(pad, eos)
    dec = torch.randint(3, V, (3, 6), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits
        again = transformers.AutoModelForSeq2SeqLM.from_pretrained(tmp_path).eval()
        assert torch.allclose(again(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits, ref)
        assert torch.allclose(ours(ids, attention_mask=mask, decoder_input_ids=dec).logits, ref, atol=1e-5)


@pytest.mark.parametrize("proj", ["gelu_new", "gelu_pytorch_tanh", "gated-gelu_new", "gated-swish", "silu"])
def test_t5_feed_forward_proj_with_any_activation_name(tmp_path, proj):
    # transformers reads feed_forward_proj as "ACT" or "gated-ACT" with ACT any of its activation names
    # (only exactly "gated-gelu" is remapped, to gelu_new); tandem refused all but relu/gelu/silu
    torch.manual_seed(0)
    cfg = transformers.T5Config(
        vocab_size=V, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_heads=4, feed_forward_proj=proj,
        relative_attention_num_buckets=8, relative_attention_max_distance=20, dropout_rate=0.0,
    )  # fmt: skip
    hf = transformers.T5ForConditionalGeneration(cfg)
    _perturb(hf, cfg.eos_token_id)
    hf.eval()
    hf.save_pretrained(tmp_path / "hf")
    ours = Seq2SeqLM.from_pretrained(tmp_path / "hf")
    ids, mask = _batch(cfg.pad_token_id, cfg.eos_token_id)
    dec = torch.randint(3, V, (3, 6), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits
        assert torch.allclose(ours(ids, attention_mask=mask, decoder_input_ids=dec).logits, ref, atol=1e-5)
        to_hf(ours, tmp_path / "back")
        back = transformers.AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "back").eval()
        assert torch.allclose(
            back(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits, ref, atol=1e-5
        )


def test_bart_init_std_survives_hf_tandem_hf(tmp_path):
    # init_std was dropped on load and came back as tandem's d_model**-0.5 (0.177 here) instead of 0.02
    hf, *_ = _bart("bart")
    hf.config.init_std = 0.02
    hf.save_pretrained(tmp_path / "a")
    ours = Seq2SeqLM.from_pretrained(tmp_path / "a")
    assert ours.config.init_std == 0.02
    to_hf(ours, tmp_path / "b")
    assert json.loads((tmp_path / "b" / "config.json").read_text())["init_std"] == 0.02
