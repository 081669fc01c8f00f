"""AlexaTM 20B checkpoints (amazon-science/alexa-teacher-models format) -> tandem.

Encoder: BERT/RoBERTa-style embeddings (word + position from 0 + token type, no LayerNorm) and pre-LN
layers under `model.encoder.pre_ln_encoder`; decoder: BART-style names with positions at offset 2 and a
final `layernorm_output`. Every norm is AlexaTM's uncentred-variance LayerNorm.
"""

from __future__ import annotations

import re

import torch

from tandem.config import ModelConfig
from tandem.errors import TandemError
from tandem.interop.hf import _BART_ACT, _BART_LAYER

_ENC_LAYER = {
    "layer_norm": "self_attn_norm",
    "attention.self.query": "self_attn.q_proj",
    "attention.self.key": "self_attn.k_proj",
    "attention.self.value": "self_attn.v_proj",
    "attention.output.dense": "self_attn.out_proj",
    "intermediate.layer_norm": "ffn_norm",
    "intermediate.dense": "ffn.fc1",
    "output.dense": "ffn.fc2",
}
_TOP = {
    "model.shared.weight": "encoder.embed_tokens.weight",
    "model.encoder.position_embeddings.weight": "encoder.embed_positions.weight",
    "model.encoder.token_type_embeddings.weight": "encoder.embed_token_types.weight",
    "model.encoder.pre_ln_encoder.layer_norm.weight": "encoder.final_norm.weight",
    "model.encoder.pre_ln_encoder.layer_norm.bias": "encoder.final_norm.bias",
    "model.decoder.embed_tokens.weight": "decoder.embed_tokens.weight",
    "model.decoder.embed_positions.weight": "decoder.embed_positions.weight",
    "model.decoder.layernorm_output.weight": "decoder.final_norm.weight",
    "model.decoder.layernorm_output.bias": "decoder.final_norm.bias",
    "lm_head.weight": "lm_head.weight",
}
_ACT = _BART_ACT  # the reference code looks hidden_act up in transformers' ACT2FN, as BART does


def alexatm_config(hf: dict, has_lm_head: bool = True) -> ModelConfig:
    """Config of an AlexaTM checkpoint. Transformers ties the LM head to the decoder input embedding
    (its default `tie_word_embeddings`), and then does not save it: a checkpoint without `lm_head.weight`
    has a tied head."""
    # a key the file leaves out takes the reference code's default (AlexaTMSeq2SeqConfig, as its loader would)
    d = hf.get("d_model", hf.get("hidden_size", 1024))
    heads = hf.get("encoder_attention_heads", 16)
    ffn = hf.get("encoder_ffn_dim", hf.get("intermediate_size", 4096))
    for key, enc in (("decoder_attention_heads", heads), ("decoder_ffn_dim", ffn)):
        if hf.get(key, enc) != enc:  # the reference decoder uses these; tandem has one of each
            raise TandemError(
                f"alexatm config: {key} {hf[key]} differs from the encoder's {enc}; tandem uses one "
                "head count and one FFN width for both stacks"
            )
    act = hf.get("hidden_act", "gelu")
    if act not in _ACT:
        raise TandemError(f"alexatm config: hidden_act {act!r} is not supported ({sorted(_ACT)})")
    return ModelConfig(
        vocab_size=hf.get("vocab_size", 50265),
        d_model=d,
        encoder_layers=hf.get("encoder_layers", 12),
        decoder_layers=hf.get("decoder_layers", 12),
        num_heads=heads,
        ffn_dim=ffn,
        max_positions=hf.get("max_position_embeddings", 1024),
        activation=_ACT[act],
        norm_type="alexatm",
        norm_eps=hf.get("layer_norm_eps", 1e-12),
        pre_norm=True,
        final_norm=True,
        embedding_norm=False,
        position_type="learned",
        encoder_position_offset=0,
        decoder_position_offset=hf.get("extra_pos_embeddings", 2),
        type_vocab_size=hf.get("type_vocab_size", 2),
        bias=True,
        norm_bias=True,
        tie_embeddings=bool(hf.get("share_embeddings", True)),
        tie_lm_head=not has_lm_head,
        final_logits_bias=True,
        pad_token_id=hf.get("pad_token_id", 1),
        bos_token_id=hf.get("bos_token_id", 0),
        eos_token_id=hf.get("eos_token_id", 2),
        decoder_start_token_id=hf.get("decoder_start_token_id", 2),
        name="alexatm",
    )


def alexatm_to_tandem(tensors: dict[str, torch.Tensor], config: ModelConfig) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in tensors.items():
        if k in _TOP:
            if k == "model.decoder.embed_tokens.weight" and config.tie_embeddings:
                continue  # the shared table, saved twice by the reference code
            out[_TOP[k]] = v
        elif k == "final_logits_bias":
            out[k] = v.reshape(-1)
        elif k == "model.encoder.position_ids" or k.endswith(".version"):
            continue  # a buffer of arange(), not a weight
        elif m := re.fullmatch(r"model\.encoder\.pre_ln_encoder\.layer\.(\d+)\.(.+)\.(weight|bias)", k):
            i, name, p = m.groups()
            if name not in _ENC_LAYER:
                raise TandemError(f"unexpected tensor {k} in an AlexaTM checkpoint")
            out[f"encoder.layers.{i}.{_ENC_LAYER[name]}.{p}"] = v
        elif m := re.fullmatch(r"model\.decoder\.layers\.(\d+)\.(.+)\.(weight|bias)", k):
            i, name, p = m.groups()
            if name not in _BART_LAYER:
                raise TandemError(f"unexpected tensor {k} in an AlexaTM checkpoint")
            out[f"decoder.layers.{i}.{_BART_LAYER[name]}.{p}"] = v
        else:
            raise TandemError(f"unexpected tensor {k} in an AlexaTM checkpoint")
    return out
