"""AlexaTM checkpoints: the reference fixture, and other shapes against an independent reference.

The fixture (../shared/fixtures/alexatm-tiny) was written by the released AlexaTM code with its outputs.
For other shapes (shared embeddings, type_vocab_size 2, more heads) the reference is Hugging Face's MBart
with AlexaTM's three differences patched in from the published definition: the uncentred LayerNorm,
no embedding LayerNorm, and encoder positions from 0 plus a token-type embedding. That reference is
itself checked against the fixture first, so it cannot silently drift.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from tandem import Seq2SeqLM
from tandem.errors import TandemError

transformers = pytest.importorskip("transformers")


class AlexaTMLayerNorm(torch.nn.Module):
    """(x - mean(x)) * rsqrt(mean(x^2) + eps) * w + b  (DESIGN.md §1)."""

    def __init__(self, w: torch.Tensor, b: torch.Tensor, eps: float):
        super().__init__()
        self.w, self.b, self.eps = w, b, eps

    def forward(self, x):
        return (x - x.mean(-1, keepdim=True)) * torch.rsqrt(
            x.pow(2).mean(-1, keepdim=True) + self.eps
        ) * self.w + self.b


def reference_model(cfg: dict, t: dict[str, torch.Tensor]) -> torch.nn.Module:
    """HF MBart carrying AlexaTM weights, patched to compute what the AlexaTM code computes."""
    d, P, eps = cfg["d_model"], cfg["max_position_embeddings"], cfg["layer_norm_eps"]
    hf = transformers.MBartForConditionalGeneration(
        transformers.MBartConfig(
            vocab_size=cfg["vocab_size"],
            d_model=d,
            encoder_layers=cfg["encoder_layers"],
            decoder_layers=cfg["decoder_layers"],
            encoder_attention_heads=cfg["encoder_attention_heads"],
            decoder_attention_heads=cfg["decoder_attention_heads"],
            encoder_ffn_dim=cfg["encoder_ffn_dim"],
            decoder_ffn_dim=cfg["decoder_ffn_dim"],
            max_position_embeddings=P,
            scale_embedding=False,
            dropout=0.0,
            attention_dropout=0.0,
            activation_dropout=0.0,
            activation_function=cfg.get("hidden_act", "gelu"),
        )
    ).eval()
    m = hf.model

    def ln(prefix: str):
        return AlexaTMLayerNorm(t[prefix + ".weight"], t[prefix + ".bias"], eps)

    def lin(module, prefix: str):
        module.weight.data.copy_(t[prefix + ".weight"])
        module.bias.data.copy_(t[prefix + ".bias"])

    m.shared.weight.data.copy_(t["model.shared.weight"])
    m.encoder.embed_tokens = torch.nn.Embedding.from_pretrained(t["model.shared.weight"])
    dec_tok = t.get("model.decoder.embed_tokens.weight", t["model.shared.weight"])
    m.decoder.embed_tokens = torch.nn.Embedding.from_pretrained(
        dec_tok if not cfg["share_embeddings"] else t["model.shared.weight"]
    )
    enc_pos = torch.zeros(P + 2, d)
    enc_pos[2:] = (
        t["model.encoder.position_embeddings.weight"] + t["model.encoder.token_type_embeddings.weight"][0]
    )
    m.encoder.embed_positions.weight.data.copy_(enc_pos)
    m.decoder.embed_positions.weight.data.copy_(t["model.decoder.embed_positions.weight"])
    m.encoder.layernorm_embedding = torch.nn.Identity()
    m.decoder.layernorm_embedding = torch.nn.Identity()
    for i, layer in enumerate(m.encoder.layers):
        p = f"model.encoder.pre_ln_encoder.layer.{i}"
        for ours, theirs in (("q_proj", "query"), ("k_proj", "key"), ("v_proj", "value")):
            lin(getattr(layer.self_attn, ours), f"{p}.attention.self.{theirs}")
        lin(layer.self_attn.out_proj, f"{p}.attention.output.dense")
        lin(layer.fc1, f"{p}.intermediate.dense")
        lin(layer.fc2, f"{p}.output.dense")
        layer.self_attn_layer_norm = ln(f"{p}.layer_norm")
        layer.final_layer_norm = ln(f"{p}.intermediate.layer_norm")
    m.encoder.layer_norm = ln("model.encoder.pre_ln_encoder.layer_norm")
    for i, layer in enumerate(m.decoder.layers):
        p = f"model.decoder.layers.{i}"
        for att in ("self_attn", "encoder_attn"):
            for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                lin(getattr(getattr(layer, att), proj), f"{p}.{att}.{proj}")
        lin(layer.fc1, f"{p}.fc1")
        lin(layer.fc2, f"{p}.fc2")
        for name in ("self_attn_layer_norm", "encoder_attn_layer_norm", "final_layer_norm"):
            setattr(layer, name, ln(f"{p}.{name}"))
    m.decoder.layer_norm = ln("model.decoder.layernorm_output")
    hf.lm_head = torch.nn.Linear(d, cfg["vocab_size"], bias=False)
    hf.lm_head.weight.data.copy_(t.get("lm_head.weight", dec_tok))
    hf.final_logits_bias = t["final_logits_bias"].reshape(1, -1)
    return hf


def test_fixture_logits_and_encoder_states(shared_fixtures):
    d = shared_fixtures / "alexatm-tiny"
    ref = load_file(str(d / "reference_outputs.safetensors"))
    model = Seq2SeqLM.from_pretrained(d)
    with torch.no_grad():
        out = model(
            ref["input_ids"], attention_mask=ref["attention_mask"], decoder_input_ids=ref["decoder_input_ids"]
        )
    assert (out.logits - ref["logits"]).abs().max() < 1e-4
    assert (out.encoder_hidden_states - ref["encoder_last_hidden_state"]).abs().max() < 1e-4
    assert model.config.norm_type == "alexatm" and model.config.encoder_position_offset == 0


def test_patched_reference_reproduces_the_fixture(shared_fixtures):
    d = shared_fixtures / "alexatm-tiny"
    ref = load_file(str(d / "reference_outputs.safetensors"))
    hf = reference_model(json.loads((d / "config.json").read_text()), load_file(str(d / "model.safetensors")))
    with torch.no_grad():
        out = hf(
            input_ids=ref["input_ids"],
            attention_mask=ref["attention_mask"],
            decoder_input_ids=ref["decoder_input_ids"],
        )
    assert (out.logits - ref["logits"]).abs().max() < 1e-4


def _random_alexatm(
    tmp_path, share: bool, type_vocab: int, heads: int, untied_head: bool, hidden_act: str = "gelu"
):
    V, d, F, P, E, D = 120, 48, 96, 40, 3, 2
    g = torch.Generator().manual_seed(11)

    def r(*shape, s=0.08):
        return torch.randn(*shape, generator=g) * s

    t = {
        "model.shared.weight": r(V, d),
        "model.encoder.position_embeddings.weight": r(P, d),
        "model.encoder.token_type_embeddings.weight": r(type_vocab, d),
        "model.decoder.embed_positions.weight": r(P + 2, d),
        "final_logits_bias": r(1, V),
        "model.encoder.position_ids": torch.arange(P)[None],
    }
    if not share:
        t["model.decoder.embed_tokens.weight"] = r(V, d)
    if untied_head:
        t["lm_head.weight"] = r(V, d)

    def norm(p):
        t[p + ".weight"], t[p + ".bias"] = 1 + r(d, s=0.2), r(d, s=0.1)

    def lin(p, o, i):
        t[p + ".weight"], t[p + ".bias"] = r(o, i), r(o, s=0.05)

    for i in range(E):
        p = f"model.encoder.pre_ln_encoder.layer.{i}"
        for n in ("query", "key", "value"):
            lin(f"{p}.attention.self.{n}", d, d)
        lin(f"{p}.attention.output.dense", d, d)
        lin(f"{p}.intermediate.dense", F, d)
        lin(f"{p}.output.dense", d, F)
        norm(f"{p}.layer_norm")
        norm(f"{p}.intermediate.layer_norm")
    norm("model.encoder.pre_ln_encoder.layer_norm")
    for i in range(D):
        p = f"model.decoder.layers.{i}"
        for att in ("self_attn", "encoder_attn"):
            for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                lin(f"{p}.{att}.{proj}", d, d)
            norm(f"{p}.{att}_layer_norm")
        lin(f"{p}.fc1", F, d)
        lin(f"{p}.fc2", d, F)
        norm(f"{p}.final_layer_norm")
    norm("model.decoder.layernorm_output")
    cfg = {
        "model_type": "alexatm",
        "vocab_size": V,
        "d_model": d,
        "encoder_layers": E,
        "decoder_layers": D,
        "encoder_attention_heads": heads,
        "decoder_attention_heads": heads,
        "encoder_ffn_dim": F,
        "decoder_ffn_dim": F,
        "intermediate_size": F,
        "max_position_embeddings": P,
        "layer_norm_eps": 1e-12,
        "hidden_act": hidden_act,
        "share_embeddings": share,
        "type_vocab_size": type_vocab,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "decoder_start_token_id": 2,
        "extra_pos_embeddings": 2,
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    save_file({k: v.contiguous() for k, v in t.items()}, str(tmp_path / "model.safetensors"))
    return cfg, t


@pytest.mark.parametrize(
    "share,type_vocab,heads,untied_head,act",
    [
        (True, 1, 4, False, "gelu"),
        (False, 2, 6, False, "gelu"),
        (False, 1, 8, True, "gelu"),
        (True, 2, 2, True, "gelu"),
        # the reference looks hidden_act up in transformers' ACT2FN (its docs name gelu, relu, silu,
        # gelu_new); tandem refused all but gelu, gelu_new and relu
        (False, 1, 4, False, "silu"),
        (False, 1, 4, False, "gelu_pytorch_tanh"),
    ],
)
def test_other_alexatm_shapes_match_the_reference(tmp_path, share, type_vocab, heads, untied_head, act):
    cfg, t = _random_alexatm(tmp_path, share, type_vocab, heads, untied_head, hidden_act=act)
    ours = Seq2SeqLM.from_pretrained(tmp_path)
    ref = reference_model(cfg, t)
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(3, cfg["vocab_size"], (3, 17), generator=g)
    mask = torch.ones_like(ids)
    ids[1, 12:], mask[1, 12:] = 1, 0
    ids[2, 5:], mask[2, 5:] = 1, 0
    dec = torch.cat([torch.full((3, 1), 2), torch.randint(3, cfg["vocab_size"], (3, 7), generator=g)], 1)
    with torch.no_grad():
        a = ours(ids, attention_mask=mask, decoder_input_ids=dec)
        b = ref(input_ids=ids, attention_mask=mask, decoder_input_ids=dec)
    assert (a.logits - b.logits).abs().max() < 1e-4
    assert (a.encoder_hidden_states - b.encoder_last_hidden_state).abs().max() < 1e-4
    assert ours.config.tie_embeddings is share and ours.config.type_vocab_size == type_vocab
    # generation: the same greedy tokens as the reference's own generate
    with torch.no_grad():
        want = ref.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=6,
            do_sample=False,
            decoder_start_token_id=2,
            eos_token_id=2,
            pad_token_id=1,
            forced_eos_token_id=None,
        )
    assert ours.generate(ids, attention_mask=mask, max_new_tokens=6).tolist() == want.tolist()


def test_alexatm_token_types_change_the_output(tmp_path):
    _random_alexatm(tmp_path, False, 2, 4, False)
    model = Seq2SeqLM.from_pretrained(tmp_path)
    ids = torch.randint(3, 120, (1, 9))
    dec = torch.tensor([[2, 5, 6]])
    with torch.no_grad():
        zero = model(ids, decoder_input_ids=dec).logits
        ones = model(ids, decoder_input_ids=dec, token_type_ids=torch.ones_like(ids)).logits
    assert not torch.allclose(zero, ones)


@pytest.mark.parametrize("key,value", [("decoder_attention_heads", 2), ("decoder_ffn_dim", 48)])
def test_decoder_sizes_unlike_the_encoder_are_refused(tmp_path, key, value):
    # the reference decoder uses decoder_attention_heads / decoder_ffn_dim; tandem has one of each
    cfg, t = _random_alexatm(tmp_path, True, 1, 4, False)
    cfg[key] = value
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(TandemError, match=key):
        Seq2SeqLM.from_pretrained(tmp_path)


def test_a_config_without_the_sharing_and_token_type_keys_takes_the_reference_defaults(tmp_path):
    """A config.json that leaves out `share_embeddings` and `type_vocab_size` is read with the defaults of the
    reference code's AlexaTMSeq2SeqConfig (True and 2, as its loader reads it): tandem took False and 1, and
    refused such a checkpoint's 2-row token-type table as a shape mismatch."""
    cfg, t = _random_alexatm(tmp_path, True, 2, 4, False)
    on_disk = {k: v for k, v in cfg.items() if k not in ("share_embeddings", "type_vocab_size")}
    (tmp_path / "config.json").write_text(json.dumps(on_disk))
    ours = Seq2SeqLM.from_pretrained(tmp_path)
    assert ours.config.tie_embeddings and ours.config.type_vocab_size == 2
    ref = reference_model(cfg, t)
    ids = torch.randint(3, cfg["vocab_size"], (2, 9), generator=torch.Generator().manual_seed(3))
    dec = torch.tensor([[2, 5, 6], [2, 7, 8]])
    with torch.no_grad():
        a = ours(ids, decoder_input_ids=dec).logits
        b = ref(input_ids=ids, decoder_input_ids=dec).logits
    assert (a - b).abs().max() < 1e-4
