"""Hugging Face BART / mBART / T5 (v1.0, v1.1) / mT5 <-> tandem: configs and tensor names, both ways.

Pure mappings over dicts of tensors (the state-dict adapter of torchtitan's layout); reading and writing
directories lives in `tandem.checkpoint` and `tandem.interop.__init__`.
"""

from __future__ import annotations

import math
import re

import torch

from tandem.config import GENERATION_KEYS, ModelConfig
from tandem.decoding import HF_UNSUPPORTED, hf_setting_on
from tandem.errors import TandemError

# ----------------------------------------------------------------------------- BART / mBART

_BART_ACT = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
}
_BART_LAYER = {  # HF name -> tandem name, inside one layer
    "self_attn.q_proj": "self_attn.q_proj",
    "self_attn.k_proj": "self_attn.k_proj",
    "self_attn.v_proj": "self_attn.v_proj",
    "self_attn.out_proj": "self_attn.out_proj",
    "self_attn_layer_norm": "self_attn_norm",
    "encoder_attn.q_proj": "cross_attn.q_proj",
    "encoder_attn.k_proj": "cross_attn.k_proj",
    "encoder_attn.v_proj": "cross_attn.v_proj",
    "encoder_attn.out_proj": "cross_attn.out_proj",
    "encoder_attn_layer_norm": "cross_attn_norm",
    "fc1": "ffn.fc1",
    "fc2": "ffn.fc2",
    "final_layer_norm": "ffn_norm",
}
_BART_TOP = {
    "model.encoder.embed_positions.weight": "encoder.embed_positions.weight",
    "model.decoder.embed_positions.weight": "decoder.embed_positions.weight",
    "model.encoder.layernorm_embedding.weight": "encoder.embed_norm.weight",
    "model.encoder.layernorm_embedding.bias": "encoder.embed_norm.bias",
    "model.decoder.layernorm_embedding.weight": "decoder.embed_norm.weight",
    "model.decoder.layernorm_embedding.bias": "decoder.embed_norm.bias",
    "model.encoder.layer_norm.weight": "encoder.final_norm.weight",
    "model.encoder.layer_norm.bias": "encoder.final_norm.bias",
    "model.decoder.layer_norm.weight": "decoder.final_norm.weight",
    "model.decoder.layer_norm.bias": "decoder.final_norm.bias",
}
# Token tables and the LM head. transformers 5 ties all of them to model.shared when tie_word_embeddings
# is true (and saves model.shared alone); when it is false, each is its own parameter saved under its own
# name, and the forward pass reads the encoder's and the decoder's tables, never model.shared.
_BART_EMBEDDINGS = (
    "model.shared.weight",
    "model.encoder.embed_tokens.weight",
    "model.decoder.embed_tokens.weight",
    "lm_head.weight",
)


def _bart_tables(tensors: dict[str, torch.Tensor]):
    """(encoder table, decoder table, LM head or None) that a BART/mBART checkpoint computes with.

    A tied checkpoint may store its one table under any of the tied names: transformers' own saves keep
    model.shared.weight, others one stack's table alone (facebook/bart-large-cnn holds
    model.decoder.embed_tokens.weight and no model.shared.weight); a name that is absent is that table."""
    shared = tensors.get("model.shared.weight")
    enc = tensors.get("model.encoder.embed_tokens.weight")
    dec = tensors.get("model.decoder.embed_tokens.weight")
    if shared is None:
        shared = enc if enc is not None else dec
    if shared is None:
        raise TandemError(
            "a BART/mBART checkpoint needs its token embeddings (model.shared.weight, or "
            "model.encoder.embed_tokens.weight / model.decoder.embed_tokens.weight)"
        )
    return (
        shared if enc is None else enc,
        shared if dec is None else dec,
        tensors.get("lm_head.weight"),
    )


def bart_ties(tensors: dict[str, torch.Tensor]) -> tuple[bool, bool]:
    """(tie_embeddings, tie_lm_head) of a BART/mBART checkpoint, from the tables it holds: equal tables
    are one (older .bin files store tied tables under every name), different ones stay apart."""
    enc, dec, head = _bart_tables(tensors)
    return enc is dec or torch.equal(enc, dec), head is None or torch.equal(head, dec)


def _first_set(*values):
    return next(v for v in values if v is not None)


def bart_config(hf: dict, tensors: dict[str, torch.Tensor] | None = None) -> ModelConfig:
    """Config of a BART/mBART directory; `tensors` (its weights) decide which token tables are tied."""
    if tensors is not None:
        tie_embeddings, tie_lm_head = bart_ties(tensors)
    else:
        tie_embeddings, tie_lm_head = True, hf.get("tie_word_embeddings", True)
    kind = hf.get("model_type", "bart")
    heads = hf.get("encoder_attention_heads", 16)
    if hf.get("decoder_attention_heads", heads) != heads or hf.get("decoder_ffn_dim", 0) not in (
        0,
        hf.get("encoder_ffn_dim"),
    ):
        raise TandemError(f"{kind} config: different encoder and decoder heads/FFN sizes are not supported")
    act = hf.get("activation_function", "gelu")
    if act not in _BART_ACT:
        raise TandemError(
            f"{kind} config: activation_function {act!r} is not supported ({sorted(_BART_ACT)})"
        )
    mbart = kind == "mbart"
    d = hf["d_model"]
    return ModelConfig(
        vocab_size=hf["vocab_size"],
        d_model=d,
        encoder_layers=hf["encoder_layers"],
        decoder_layers=hf["decoder_layers"],
        num_heads=heads,
        ffn_dim=hf["encoder_ffn_dim"],
        max_positions=hf["max_position_embeddings"],
        activation=_BART_ACT[act],
        norm_type="layernorm",
        norm_eps=1e-5,
        pre_norm=mbart,
        final_norm=mbart,
        embedding_norm=True,
        position_type="learned",
        encoder_position_offset=2,
        decoder_position_offset=2,
        bias=True,
        norm_bias=True,
        tie_embeddings=tie_embeddings,
        tie_lm_head=tie_lm_head,
        embed_scale=math.sqrt(d) if hf.get("scale_embedding", False) else 1.0,
        final_logits_bias=True,
        pad_token_id=hf.get("pad_token_id", 1),
        bos_token_id=hf.get("bos_token_id", 0),
        eos_token_id=hf.get("eos_token_id", 2),
        # mBART leaves it unset (a language code starts each target); generate() then starts with BOS
        decoder_start_token_id=_first_set(hf.get("decoder_start_token_id"), hf.get("bos_token_id"), 2),
        init_std=hf.get("init_std"),  # transformers initialises new weights with it (0.02 default)
        name=kind,
    )


def bart_to_tandem(tensors: dict[str, torch.Tensor], config: ModelConfig) -> dict[str, torch.Tensor]:
    enc, dec, head = _bart_tables(tensors)
    out = {"encoder.embed_tokens.weight": enc}
    if not config.tie_embeddings:
        out["decoder.embed_tokens.weight"] = dec
    if not config.tie_lm_head:
        out["lm_head.weight"] = head
    for k, v in tensors.items():
        if k in _BART_EMBEDDINGS:
            continue
        if k in _BART_TOP:
            out[_BART_TOP[k]] = v
        elif k == "final_logits_bias":
            out["final_logits_bias"] = v.reshape(-1)
        elif m := re.fullmatch(r"model\.(encoder|decoder)\.layers\.(\d+)\.(.+)\.(weight|bias)", k):
            stack, i, name, p = m.groups()
            if name not in _BART_LAYER:
                raise TandemError(f"unexpected tensor {k} in a BART checkpoint")
            out[f"{stack}.layers.{i}.{_BART_LAYER[name]}.{p}"] = v
        else:
            raise TandemError(f"unexpected tensor {k} in a BART/mBART checkpoint")
    return out


def tandem_to_bart(tensors: dict[str, torch.Tensor], config: ModelConfig) -> dict[str, torch.Tensor]:
    inv_top = {v: k for k, v in _BART_TOP.items()}
    inv_layer = {v: k for k, v in _BART_LAYER.items()}
    enc = tensors["encoder.embed_tokens.weight"]
    dec = tensors.get("decoder.embed_tokens.weight", enc)
    out = {"model.shared.weight": enc}
    if not (config.tie_embeddings and config.tie_lm_head):  # tie_word_embeddings false: every table saved
        # copies: safetensors refuses two names for one storage
        out["model.encoder.embed_tokens.weight"] = enc.clone()
        out["model.decoder.embed_tokens.weight"] = dec.clone()
        out["lm_head.weight"] = tensors.get("lm_head.weight", dec).clone()
    for k, v in tensors.items():
        if k in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight"):
            continue
        if k in inv_top:
            out[inv_top[k]] = v
        elif k == "final_logits_bias":
            out[k] = v.reshape(1, -1)
        elif m := re.fullmatch(r"(encoder|decoder)\.layers\.(\d+)\.(.+)\.(weight|bias)", k):
            stack, i, name, p = m.groups()
            out[f"model.{stack}.layers.{i}.{inv_layer[name]}.{p}"] = v
    if "final_logits_bias" not in out:  # in the weights' dtype: a bf16 export is bf16 throughout
        out["final_logits_bias"] = torch.zeros(1, config.vocab_size, dtype=enc.dtype)
    return out


def to_bart_config(c: ModelConfig, dtype: str = "float32") -> dict:
    mbart = c.pre_norm
    act = {"gelu": "gelu", "gelu_tanh": "gelu_new", "relu": "relu", "silu": "silu"}[c.activation]
    return {
        "model_type": "mbart" if mbart else "bart",
        "architectures": ["MBartForConditionalGeneration" if mbart else "BartForConditionalGeneration"],
        "vocab_size": c.vocab_size,
        "d_model": c.d_model,
        "encoder_layers": c.encoder_layers,
        "decoder_layers": c.decoder_layers,
        "encoder_attention_heads": c.num_heads,
        "decoder_attention_heads": c.num_heads,
        "encoder_ffn_dim": c.ffn_dim,
        "decoder_ffn_dim": c.ffn_dim,
        "max_position_embeddings": c.max_positions,
        "activation_function": act,
        "scale_embedding": abs(c.embed_scale - math.sqrt(c.d_model)) < 1e-6 and c.embed_scale != 1.0,
        "tie_word_embeddings": c.tie_embeddings and c.tie_lm_head,
        "pad_token_id": c.pad_token_id,
        "bos_token_id": c.bos_token_id,
        "eos_token_id": c.eos_token_id,
        "decoder_start_token_id": c.decoder_start_token_id,
        # generation_config.json (written beside) is what transformers' generate() reads; this only keeps
        # BartConfig's own default (2) from claiming a forced EOS the tandem model does not have
        "forced_eos_token_id": c.generation.get("forced_eos_token_id"),
        "dropout": c.dropout,
        "attention_dropout": 0.0,
        "activation_dropout": 0.0,
        "init_std": c.resolved_init_std,
        "is_encoder_decoder": True,
        "dtype": dtype,  # the weights' dtype; transformers loads in it by default
        "torch_dtype": dtype,  # its name before transformers 5
    }


def bart_mismatch(c: ModelConfig) -> list[str]:
    """Why `c` is not exactly a BART/mBART (empty when it is)."""
    why = []
    checks = [
        (c.norm_type == "layernorm", "norm_type must be layernorm"),
        (c.position_type == "learned", "positions must be learned absolute"),
        (c.encoder_position_offset == 2 and c.decoder_position_offset == 2, "position offsets must be 2"),
        (c.embedding_norm, "BART/mBART have an embedding LayerNorm"),
        (c.pre_norm == c.final_norm, "pre-LN needs final norms (mBART); post-LN has none (BART)"),
        (c.type_vocab_size == 0, "no token-type embeddings in BART"),
        (c.bias and c.norm_bias, "BART has biases everywhere"),
        (not c.gated_ffn, "BART's FFN is not gated"),
        (c.embed_scale in (1.0, math.sqrt(c.d_model)), "embed_scale must be 1 or sqrt(d_model)"),
        (c.lm_head_scale == 1.0 and c.attention_scale in (None, c.resolved_head_dim**-0.5), "unscaled head"),
        (c.head_dim in (None, c.d_model // c.num_heads), "head_dim must be d_model / num_heads"),
        (abs(c.norm_eps - 1e-5) < 1e-12, "LayerNorm eps must be 1e-5"),
    ]
    for ok, reason in checks:
        if not ok:
            why.append(reason)
    return why


# ----------------------------------------------------------------------------- T5 / mT5

_T5_ATTN = {"q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "out_proj"}
# inside a block's FFN sub-layer: a plain FFN has wi, a gated one (v1.1, mT5) wi_0 (gate) and wi_1
_T5_FFN = {
    "layer_norm.weight": "ffn_norm.weight",
    "DenseReluDense.wi.weight": "ffn.fc1.weight",
    "DenseReluDense.wo.weight": "ffn.fc2.weight",
}
_T5_FFN_GATED = {
    "layer_norm.weight": "ffn_norm.weight",
    "DenseReluDense.wi_0.weight": "ffn.gate.weight",
    "DenseReluDense.wi_1.weight": "ffn.fc1.weight",
    "DenseReluDense.wo.weight": "ffn.fc2.weight",
}


_T5_TABLES = ("shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight")


def _t5_table(tensors: dict[str, torch.Tensor]) -> torch.Tensor:
    """The one token table of a T5 checkpoint. transformers ties shared, encoder and decoder embed_tokens,
    and a file may hold any of them: older .bin files all three, most safetensors `shared.weight` alone,
    some (google/madlad400-*) `decoder.embed_tokens.weight` alone."""
    present = [k for k in _T5_TABLES if k in tensors]
    if not present:
        raise TandemError(f"a T5 checkpoint needs a token embedding table ({' or '.join(_T5_TABLES)})")
    table = tensors[present[0]]
    for k in present[1:]:
        other = tensors[k]
        if other is not table and (other.shape != table.shape or not torch.equal(other, table)):
            raise TandemError(
                f"{present[0]} and {k} differ; T5 shares one token table between encoder and decoder"
            )
    return table


def t5_has_own_head(tensors: dict[str, torch.Tensor]) -> bool:
    """Whether a T5 checkpoint's LM head is its own table: it holds `lm_head.weight` and that differs from
    the token table (older .bin files store the tied head under every name, as transformers notes)."""
    head = tensors.get("lm_head.weight")
    if head is None:
        return False
    table = _t5_table(tensors)
    return head.shape != table.shape or not torch.equal(head, table)


def t5_config(hf: dict, has_lm_head: bool = True) -> ModelConfig:
    """Config of a T5 / T5 v1.1 / mT5 directory.

    Original T5 ties the LM head and rescales the decoder output by d^-0.5; v1.1 and mT5 do neither.
    Old configs signal both with `tie_word_embeddings`; transformers 5 writes `scale_decoder_outputs` and
    always says tied, so the head is untied exactly when the file holds its own `lm_head.weight`
    (`t5_has_own_head`).
    """
    proj = hf.get("feed_forward_proj", "relu")
    parts = proj.split("-")  # "ACT" or "gated-ACT", ACT one of transformers' activation names
    gated = len(parts) == 2 and parts[0] == "gated"
    act = _BART_ACT.get(parts[-1]) if len(parts) == 1 or gated else None
    if proj == "gated-gelu":
        act = "gelu_tanh"  # HF maps exactly "gated-gelu" to gelu_new, the tanh approximation
    if act is None:
        raise TandemError(
            f"t5 config: feed_forward_proj {proj!r} is not supported (ACT or gated-ACT, ACT one of "
            f"{sorted(_BART_ACT)})"
        )
    scale = hf.get("scale_decoder_outputs", hf.get("tie_word_embeddings", True))
    if hf.get("model_type") == "mt5":
        scale = False  # mT5 never rescales the decoder output
    tie = not has_lm_head
    d = hf["d_model"]
    return ModelConfig(
        vocab_size=hf["vocab_size"],
        d_model=d,
        encoder_layers=hf["num_layers"],
        decoder_layers=hf.get("num_decoder_layers") or hf["num_layers"],
        num_heads=hf["num_heads"],
        head_dim=hf["d_kv"],
        ffn_dim=hf["d_ff"],
        max_positions=hf.get("n_positions", 512) or 512,
        activation=act,
        gated_ffn=gated,
        norm_type="rmsnorm",
        norm_eps=hf.get("layer_norm_epsilon", 1e-6),
        pre_norm=True,
        final_norm=True,
        embedding_norm=False,
        position_type="relative",
        relative_buckets=hf.get("relative_attention_num_buckets", 32),
        relative_max_distance=hf.get("relative_attention_max_distance", 128),
        bias=False,
        norm_bias=False,
        tie_embeddings=True,
        tie_lm_head=tie,
        lm_head_scale=d**-0.5 if scale else 1.0,
        attention_scale=1.0,
        pad_token_id=hf.get("pad_token_id", 0),
        bos_token_id=None,
        eos_token_id=hf.get("eos_token_id", 1),
        decoder_start_token_id=hf.get("decoder_start_token_id", 0),
        name=hf.get("model_type", "t5"),
    )


def t5_to_tandem(tensors: dict[str, torch.Tensor], config: ModelConfig) -> dict[str, torch.Tensor]:
    out = {"encoder.embed_tokens.weight": _t5_table(tensors)}
    for k, v in tensors.items():
        if k in _T5_TABLES:
            continue
        elif k == "lm_head.weight":
            if not config.tie_lm_head:  # a tied head is shared.weight again (older .bin files)
                out[k] = v
        elif m := re.fullmatch(r"(encoder|decoder)\.final_layer_norm\.weight", k):
            out[f"{m.group(1)}.final_norm.weight"] = v
        elif m := re.fullmatch(r"(encoder|decoder)\.block\.(\d+)\.layer\.(\d)\.(.+)", k):
            stack, i, sub, rest = m.groups()
            sub = int(sub)
            enc = stack == "encoder"
            ffn_sub = 1 if enc else 2
            if rest.endswith("relative_attention_bias.weight"):
                if i != "0":
                    raise TandemError(f"{k}: tandem shares one relative bias per stack, as T5 does (block 0)")
                out[f"{stack}.relative_bias.embedding.weight"] = v
            elif sub == ffn_sub:
                ffn = _T5_FFN_GATED if config.gated_ffn else _T5_FFN
                if rest not in ffn:
                    raise TandemError(
                        f"unexpected tensor {k} in a T5 checkpoint whose feed_forward_proj is "
                        f"{'gated' if config.gated_ffn else 'not gated'} (its FFN holds {sorted(ffn)})"
                    )
                out[f"{stack}.layers.{i}.{ffn[rest]}"] = v
            elif sub > ffn_sub:
                raise TandemError(f"unexpected tensor {k} in a T5 checkpoint")
            else:
                attn = "self_attn" if sub == 0 else "cross_attn"
                if rest == "layer_norm.weight":
                    out[f"{stack}.layers.{i}.{attn}_norm.weight"] = v
                else:
                    mm = re.fullmatch(r"(?:SelfAttention|EncDecAttention)\.([qkvo])\.weight", rest)
                    if not mm:
                        raise TandemError(f"unexpected tensor {k} in a T5 checkpoint")
                    out[f"{stack}.layers.{i}.{attn}.{_T5_ATTN[mm.group(1)]}.weight"] = v
        else:
            raise TandemError(f"unexpected tensor {k} in a T5 checkpoint")
    return out


def tandem_to_t5(tensors: dict[str, torch.Tensor], config: ModelConfig) -> dict[str, torch.Tensor]:
    inv_attn = {v: k for k, v in _T5_ATTN.items()}
    out = {}
    for k, v in tensors.items():
        if k == "encoder.embed_tokens.weight":
            out["shared.weight"] = v
        elif k == "lm_head.weight":
            if not config.tie_lm_head:
                out[k] = v
        elif m := re.fullmatch(r"(encoder|decoder)\.final_norm\.weight", k):
            out[f"{m.group(1)}.final_layer_norm.weight"] = v
        elif m := re.fullmatch(r"(encoder|decoder)\.relative_bias\.embedding\.weight", k):
            name = "SelfAttention"
            out[f"{m.group(1)}.block.0.layer.0.{name}.relative_attention_bias.weight"] = v
        elif m := re.fullmatch(r"(encoder|decoder)\.layers\.(\d+)\.(.+)", k):
            stack, i, rest = m.groups()
            ffn_sub = 1 if stack == "encoder" else 2
            pre = f"{stack}.block.{i}.layer"
            if rest.startswith("ffn"):
                name = {
                    "ffn_norm.weight": "layer_norm.weight",
                    "ffn.fc2.weight": "DenseReluDense.wo.weight",
                    "ffn.gate.weight": "DenseReluDense.wi_0.weight",
                    "ffn.fc1.weight": "DenseReluDense.wi_1.weight"
                    if config.gated_ffn
                    else "DenseReluDense.wi.weight",
                }[rest]
                out[f"{pre}.{ffn_sub}.{name}"] = v
            else:
                attn, tail = rest.split(".", 1) if not rest.endswith("_norm.weight") else (rest, "")
                if rest.endswith("_norm.weight"):
                    sub = 0 if rest.startswith("self_attn") else 1
                    out[f"{pre}.{sub}.layer_norm.weight"] = v
                else:
                    sub = 0 if attn == "self_attn" else 1
                    hf_attn = "SelfAttention" if sub == 0 else "EncDecAttention"
                    out[f"{pre}.{sub}.{hf_attn}.{inv_attn[tail.split('.')[0]]}.weight"] = v
    return out


def to_t5_config(c: ModelConfig, dtype: str = "float32") -> dict:
    # "gated-gelu" is read as the tanh GELU; a plain tanh GELU is "gelu_new"
    act = {"gelu_tanh": "gelu" if c.gated_ffn else "gelu_new", "gelu": "gelu", "relu": "relu", "silu": "silu"}
    act = act[c.activation]
    return {
        "model_type": "t5",
        "architectures": ["T5ForConditionalGeneration"],
        "vocab_size": c.vocab_size,
        "d_model": c.d_model,
        "d_kv": c.resolved_head_dim,
        "d_ff": c.ffn_dim,
        "num_layers": c.encoder_layers,
        "num_decoder_layers": c.decoder_layers,
        "num_heads": c.num_heads,
        "relative_attention_num_buckets": c.relative_buckets,
        "relative_attention_max_distance": c.relative_max_distance,
        "n_positions": c.max_positions,  # unused by transformers; read back as tandem's max_positions
        "layer_norm_epsilon": c.norm_eps,
        "feed_forward_proj": ("gated-" if c.gated_ffn else "") + act,
        "tie_word_embeddings": c.tie_lm_head,
        "scale_decoder_outputs": c.lm_head_scale != 1.0,
        "pad_token_id": c.pad_token_id,
        "eos_token_id": c.eos_token_id,
        "decoder_start_token_id": c.decoder_start_token_id,
        "dropout_rate": c.dropout,
        "is_encoder_decoder": True,
        "dtype": dtype,  # the weights' dtype; transformers loads in it by default
        "torch_dtype": dtype,  # its name before transformers 5
    }


def t5_mismatch(c: ModelConfig) -> list[str]:
    why = []
    checks = [
        (c.norm_type == "rmsnorm" and not c.norm_bias, "T5 uses RMSNorm without bias"),
        (c.position_type == "relative", "T5 uses relative position buckets"),
        (c.pre_norm and c.final_norm and not c.embedding_norm, "T5 is pre-norm with final norms only"),
        (not c.bias, "T5 has no biases"),
        (c.type_vocab_size == 0 and not c.final_logits_bias, "no token types or logits bias in T5"),
        (c.tie_embeddings, "T5 shares encoder and decoder embeddings"),
        (c.attention_scale == 1.0, "T5 attention is unscaled"),
        (c.embed_scale == 1.0, "T5 does not scale embeddings"),
        (
            c.lm_head_scale in (1.0, c.d_model**-0.5),
            "T5 scales the decoder output by d^-0.5 or not at all",
        ),
        (c.activation != "gelu" or not c.gated_ffn, "T5's gated GELU is the tanh approximation"),
    ]
    for ok, reason in checks:
        if not ok:
            why.append(reason)
    return why


# ----------------------------------------------------------------------------- generation defaults

# transformers' generation settings tandem applies, by the same name (max/min length are mapped apart)
_HF_GENERATION_SAME = tuple(k for k in GENERATION_KEYS if k not in ("max_new_tokens", "min_new_tokens"))
# transformers' top_k when a generation config leaves it unset (tandem's own default is 0: no top-k filter)
_HF_TOP_K_DEFAULT = 50


def generation_from_hf(gen: dict) -> tuple[dict, list[str]]:
    """tandem decoding defaults (`ModelConfig.generation`) from a Hugging Face generation config dict,
    and the names of settings in it that would change transformers' output but tandem does not apply.

    Lengths: in an encoder-decoder, transformers' max_length and min_length count the decoder start
    token, so max_length L is max_new_tokens L - 1 and min_length M is min_new_tokens max(M - 1, 0);
    max_new_tokens / min_new_tokens, when set, take precedence as they do in transformers."""
    out = {k: gen[k] for k in _HF_GENERATION_SAME if gen.get(k) is not None}
    if gen.get("max_new_tokens") is not None:
        out["max_new_tokens"] = gen["max_new_tokens"]
    elif gen.get("max_length") is not None:
        out["max_new_tokens"] = gen["max_length"] - 1
    if gen.get("min_new_tokens") is not None:
        out["min_new_tokens"] = gen["min_new_tokens"]
    elif gen.get("min_length") is not None:
        out["min_new_tokens"] = max(gen["min_length"] - 1, 0)
    if "top_k" not in out:  # sampling from a HF model filters as transformers does, whoever asks to sample
        out["top_k"] = _HF_TOP_K_DEFAULT
    if isinstance(out.get("forced_eos_token_id"), list) and len(out["forced_eos_token_id"]) == 1:
        out["forced_eos_token_id"] = out["forced_eos_token_id"][0]
    ignored = sorted(k for k in HF_UNSUPPORTED if k in gen and hf_setting_on(k, gen[k]))
    return out, ignored


def generation_to_hf(gen: dict) -> dict:
    """A Hugging Face generation config's settings for tandem decoding defaults (`ModelConfig.generation`):
    the inverse of `generation_from_hf` (lengths as max_length / min_length, which count the start token)."""
    out = {k: gen[k] for k in _HF_GENERATION_SAME if k in gen}
    if "max_new_tokens" in gen:
        out["max_length"] = gen["max_new_tokens"] + 1
    if "min_new_tokens" in gen:
        out["min_length"] = gen["min_new_tokens"] + 1 if gen["min_new_tokens"] else 0
    if "top_k" not in gen:
        out["top_k"] = 0  # tandem samples without a top-k filter unless told; transformers would use 50
    return out
