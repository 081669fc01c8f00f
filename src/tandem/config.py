"""`ModelConfig`: one dataclass describing every encoder-decoder variant tandem runs, plus named presets.

The same fields express AlexaTM 20B (pre-LN with its uncentred-variance LayerNorm, BERT-style encoder
embeddings, BART-style decoder positions, untied embeddings), BART (post-LN, embedding LayerNorm), mBART
(pre-LN + final norms), T5 / T5 v1.1 / mT5 (RMSNorm, relative position buckets, gated FFN, no biases) and
tandem's own presets.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tandem.errors import TandemError

NORM_TYPES = ("layernorm", "alexatm", "rmsnorm")
ACTIVATIONS = ("gelu", "gelu_tanh", "relu", "silu")
POSITION_TYPES = ("learned", "relative", "none")
# Decoding settings a model may carry as its own defaults (`ModelConfig.generation`), by the name of the
# `generate` option they default; `Seq2SeqLM.generate` uses them unless the caller passes that option.
GENERATION_KEYS = (
    "max_new_tokens",
    "min_new_tokens",
    "num_beams",
    "do_sample",
    "temperature",
    "top_k",
    "top_p",
    "length_penalty",
    "early_stopping",
    "num_return_sequences",
    "no_repeat_ngram_size",
    "repetition_penalty",
    "forced_bos_token_id",
    "forced_eos_token_id",
    "bad_words_ids",
    "suppress_tokens",
    "begin_suppress_tokens",
)


@dataclass
class ModelConfig:
    """Architecture of a tandem encoder-decoder. `ModelConfig.preset(name)` gives the named ones."""

    # sizes
    vocab_size: int = 32000
    d_model: int = 512
    encoder_layers: int = 6
    decoder_layers: int = 6
    num_heads: int = 8
    head_dim: int | None = None  # None: d_model // num_heads (T5 sets d_kv independently)
    ffn_dim: int = 2048
    max_positions: int = 1024
    # feed-forward
    activation: str = "gelu"  # gelu (erf) | gelu_tanh | relu | silu
    gated_ffn: bool = False  # T5 v1.1 / mT5: act(x W0) * (x W1)
    # normalisation
    norm_type: str = "layernorm"  # layernorm | alexatm (x-mean)*rsqrt(mean(x^2)+eps) | rmsnorm
    norm_eps: float = 1e-5
    pre_norm: bool = True  # False: post-LN (BART)
    final_norm: bool = True  # norm after the last encoder and the last decoder layer
    embedding_norm: bool = False  # norm on the summed embeddings (BART, mBART)
    # positions
    position_type: str = "learned"  # learned absolute | relative (T5 buckets) | none
    encoder_position_offset: int = 2  # BART/mBART tables start at row 2; AlexaTM's encoder at 0
    decoder_position_offset: int = 2
    relative_buckets: int = 32
    relative_max_distance: int = 128
    type_vocab_size: int = 0  # token-type embeddings in the encoder (AlexaTM: 1)
    # parameters and scales
    bias: bool = True  # biases in attention and FFN projections
    norm_bias: bool = True  # False for RMSNorm
    tie_embeddings: bool = True  # encoder and decoder share the token embedding
    tie_lm_head: bool = True  # LM head is the decoder token embedding
    embed_scale: float = 1.0  # token embeddings are multiplied by this (mBART: sqrt(d_model))
    lm_head_scale: float = 1.0  # decoder output multiplied before the LM head (tied T5: d_model**-0.5)
    final_logits_bias: bool = False
    attention_scale: float | None = None  # None: head_dim**-0.5; T5: 1.0 (folded into the init)
    # training-time
    dropout: float = 0.0
    init_std: float | None = None  # None: d_model**-0.5 (0.02 leaves narrow models on a long plateau)
    # special tokens (fairseq/BART/AlexaTM convention)
    # (None where a checkpoint has no such token: T5 has no BOS)
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | None = 2
    decoder_start_token_id: int | None = 2
    # provenance
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # decoding defaults (keys from GENERATION_KEYS), as a Hugging Face generation_config.json gives them:
    # `Seq2SeqLM.generate` uses them unless the caller passes the option. Empty: tandem's own defaults.
    generation: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ checks and derived values
    def validate(self) -> None:
        def bad(msg: str) -> TandemError:
            return TandemError(f"ModelConfig{f' {self.name!r}' if self.name else ''}: {msg}")

        for f in dataclasses.fields(self):  # a hand-edited config.json: "vocab_size": "32000"
            problem = _type_problem(f.name, getattr(self, f.name), str(f.type))
            if problem:
                raise bad(problem)

        if self.norm_type not in NORM_TYPES:
            raise bad(f"norm_type {self.norm_type!r} is not one of {NORM_TYPES}")
        if self.activation not in ACTIVATIONS:
            raise bad(f"activation {self.activation!r} is not one of {ACTIVATIONS}")
        if self.position_type not in POSITION_TYPES:
            raise bad(f"position_type {self.position_type!r} is not one of {POSITION_TYPES}")
        for k in ("vocab_size", "d_model", "num_heads", "ffn_dim", "max_positions"):
            if getattr(self, k) <= 0:
                raise bad(f"{k} must be positive, got {getattr(self, k)}")
        if not 0 <= self.dropout < 1:  # torch refuses a negative one mid-forward; 1 zeroes every activation
            raise bad(f"dropout must be in [0, 1), got {self.dropout}")
        if self.position_type == "relative" and (
            self.relative_buckets < 4 or self.relative_max_distance <= self.relative_buckets // 2
        ):
            # T5's buckets: half exact distances (a quarter per direction in the encoder), the rest log-spaced
            # up to max_distance; outside these bounds the log spacing divided by zero or gave negative bucket
            # ids (a ZeroDivisionError or IndexError mid-forward, in transformers too)
            raise bad(
                f"relative_buckets {self.relative_buckets} / relative_max_distance {self.relative_max_distance}"
                " (relative_attention_num_buckets / _max_distance): needs at least 4 buckets and a max distance"
                f" over half of them (> {self.relative_buckets // 2})"
            )
        if self.encoder_layers < 0 or self.decoder_layers < 1:
            raise bad("needs encoder_layers >= 0 and decoder_layers >= 1")
        if self.head_dim is None and self.d_model % self.num_heads:
            raise bad(f"d_model {self.d_model} is not divisible by num_heads {self.num_heads}; set head_dim")
        for k in ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"):
            v = getattr(self, k)
            if v is not None and not 0 <= v < self.vocab_size:
                raise bad(f"{k}={v} is outside the vocabulary (size {self.vocab_size})")
        if self.generation:
            unknown = sorted(set(self.generation) - set(GENERATION_KEYS))
            if unknown:
                raise bad(f"generation has unknown keys {unknown}; known: {list(GENERATION_KEYS)}")
            from tandem.decoding import check_generation_settings

            if not isinstance(self.generation.get("do_sample", False), bool):
                raise bad(
                    f"generation: do_sample must be true or false, got {self.generation['do_sample']!r}"
                )
            settings = {k: v for k, v in self.generation.items() if k != "do_sample"}
            try:
                # a default minimum over a shorter limit is fine: the limit wins when decoding
                check_generation_settings(**settings, vocab_size=self.vocab_size, min_within_max=False)
            except TandemError as e:
                raise bad(f"generation defaults: {e}") from None
            except TypeError as e:  # a value of the wrong type (a string where a number belongs)
                raise bad(f"generation defaults: {e}") from None

    @property
    def kv_dim(self) -> int:
        """Width of the concatenated attention heads."""
        return self.num_heads * (self.head_dim or self.d_model // self.num_heads)

    @property
    def resolved_init_std(self) -> float:
        return self.init_std if self.init_std is not None else self.d_model**-0.5

    @property
    def resolved_head_dim(self) -> int:
        return self.head_dim or self.d_model // self.num_heads

    # ------------------------------------------------------------------ parameter count
    def num_parameters(self, count_tied: bool = False) -> int:
        """Number of parameters, computed from the shapes alone (nothing is allocated).

        Tied tensors count once unless `count_tied`. Buffers (final_logits_bias) are not parameters.
        """
        d, f, kv, V = self.d_model, self.ffn_dim, self.kv_dim, self.vocab_size
        b = 1 if self.bias else 0
        nb = 2 if self.norm_bias else 1
        norm = nb * d
        attn = 4 * d * kv + b * (3 * kv + d)
        ffn = (3 if self.gated_ffn else 2) * d * f + b * (f * (2 if self.gated_ffn else 1) + d)
        enc_layer = attn + ffn + 2 * norm
        dec_layer = 2 * attn + ffn + 3 * norm
        n = self.encoder_layers * enc_layer + self.decoder_layers * dec_layer
        if self.final_norm:
            n += 2 * norm
        if self.embedding_norm:
            n += 2 * norm
        if self.position_type == "learned":
            n += (self.max_positions + self.encoder_position_offset) * d
            n += (self.max_positions + self.decoder_position_offset) * d
        elif self.position_type == "relative":
            n += 2 * self.relative_buckets * self.num_heads
        n += self.type_vocab_size * d
        n += V * d  # encoder token embedding
        if count_tied or not self.tie_embeddings:
            n += V * d
        if count_tied or not self.tie_lm_head:
            n += V * d
        return n

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if not out["generation"]:  # no decoding defaults: the config.json tandem always wrote
            del out["generation"]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names - {"model_type", "tandem_version"})
        if unknown:
            raise TandemError(f"config has unknown fields {unknown}; known fields: {sorted(names)}")
        return cls(**{k: v for k, v in d.items() if k in names})

    def save(self, path: str | Path) -> None:
        out = {"model_type": "tandem", **self.to_dict()}
        Path(path).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")

    # ------------------------------------------------------------------ presets
    @classmethod
    def preset(cls, name: str, **overrides: Any) -> ModelConfig:
        """A named configuration: the scaling ladder, edge students and AlexaTM 20B."""
        if name not in PRESETS:
            raise TandemError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
        kw = dict(PRESETS[name])
        kw.update(cls.check_overrides(overrides))
        return cls(name=name, **kw)

    @classmethod
    def check_overrides(cls, overrides: Any, where: str = "--model-overrides") -> dict[str, Any]:
        """`overrides` if it is an object of ModelConfig fields with values of their types, else a
        TandemError naming `where`, the key and the type expected."""
        if not isinstance(overrides, dict):
            raise TandemError(
                f"{where} must be a JSON object of ModelConfig fields, e.g. '{{\"d_model\": 256}}', got "
                f"{json.dumps(overrides, default=str)}"
            )
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - set(types))
        if unknown:
            raise TandemError(f"{where}: unknown ModelConfig fields {unknown}; known fields: {sorted(types)}")
        for k, v in overrides.items():
            problem = _type_problem(k, v, str(types[k]))
            if problem:
                raise TandemError(f"{where}: {problem}")
        return overrides

    @staticmethod
    def preset_names() -> list[str]:
        return list(PRESETS)


def _type_problem(key: str, value: Any, annotation: str) -> str | None:
    """What is wrong with `value` for a ModelConfig field annotated `annotation` (None: nothing)."""
    t = annotation
    if value is None:
        ok = "None" in t
    elif t.startswith("bool"):
        ok = isinstance(value, bool)
    elif t.startswith("int"):
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    elif t.startswith("float"):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    elif t.startswith("str"):
        ok = isinstance(value, str)
    elif t.startswith("dict"):
        ok = isinstance(value, dict)
    else:
        ok = True
    if ok:
        return None
    shown = t.replace("None", "null").replace("str", "string").replace("dict[string, Any]", "object")
    return f"{key} must be {shown}, got {json.dumps(value, default=str)}"


# tandem's own presets are mBART-shaped (pre-LN, embedding LayerNorm, final norms, learned positions with
# offset 2, GELU, tied embeddings): exactly expressible in Hugging Face MBart and hence CTranslate2.
_TANDEM = dict(
    norm_type="layernorm",
    norm_eps=1e-5,
    pre_norm=True,
    final_norm=True,
    embedding_norm=True,
    activation="gelu",
    tie_embeddings=True,
    tie_lm_head=True,
)

PRESETS: dict[str, dict[str, Any]] = {
    # scaling ladder
    "tiny": dict(
        _TANDEM,
        vocab_size=8000,
        d_model=128,
        num_heads=4,
        ffn_dim=512,
        encoder_layers=2,
        decoder_layers=2,
        max_positions=512,
    ),
    "small": dict(
        _TANDEM,
        vocab_size=32000,
        d_model=512,
        num_heads=8,
        ffn_dim=2048,
        encoder_layers=6,
        decoder_layers=6,
        max_positions=1024,
    ),
    "base": dict(
        _TANDEM,
        vocab_size=32000,
        d_model=768,
        num_heads=12,
        ffn_dim=3072,
        encoder_layers=12,
        decoder_layers=12,
        max_positions=1024,
    ),
    "1b": dict(
        _TANDEM,
        vocab_size=150000,
        d_model=1536,
        num_heads=16,
        ffn_dim=6144,
        encoder_layers=16,
        decoder_layers=12,
        max_positions=1024,
        tie_embeddings=False,
        tie_lm_head=False,
    ),
    # the AlexaTM-shaped 1.9B of DESIGN.md's anchors: d2048, 16+12 layers, 150k vocabulary
    "2b": dict(
        _TANDEM,
        vocab_size=150000,
        d_model=2048,
        num_heads=16,
        ffn_dim=8192,
        encoder_layers=16,
        decoder_layers=12,
        max_positions=1024,
    ),
    # edge students (KDD 2022: 17M students distilled from 2.3B/9.3B teachers)
    "edge-17m": dict(
        _TANDEM,
        vocab_size=32000,
        d_model=256,
        num_heads=4,
        ffn_dim=1280,
        encoder_layers=4,
        decoder_layers=4,
        max_positions=512,
    ),
    # deep-encoder/shallow-decoder: decoding cost is per generated token, encoding is once per request
    "edge-2m": dict(
        _TANDEM,
        vocab_size=8000,
        d_model=128,
        num_heads=4,
        ffn_dim=512,
        encoder_layers=3,
        decoder_layers=1,
        max_positions=512,
    ),
    # AlexaTM 20B (Soltan et al. 2022): 46+32 layers, d 4096, 32 heads, FFN 16384, 150K vocabulary
    "alexatm-20b": dict(
        vocab_size=150000,
        d_model=4096,
        num_heads=32,
        ffn_dim=16384,
        encoder_layers=46,
        decoder_layers=32,
        max_positions=1024,
        activation="gelu",
        norm_type="alexatm",
        norm_eps=1e-12,
        pre_norm=True,
        final_norm=True,
        embedding_norm=False,
        encoder_position_offset=0,
        decoder_position_offset=2,
        type_vocab_size=1,
        tie_embeddings=False,
        tie_lm_head=False,
        final_logits_bias=True,
    ),
}


def parse_overrides(text: str) -> dict[str, Any]:
    """`--model-overrides JSON` for argparse: a JSON object (its fields are checked with the preset)."""
    import argparse

    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(
            f"not valid JSON ({e.msg} at character {e.pos + 1}): {text!r}; give an object such as "
            "'{\"d_model\": 256}'"
        ) from None
    except (ValueError, RecursionError) as e:  # nested too deeply, an integer of over 4300 digits
        why = "nested too deeply" if isinstance(e, RecursionError) else str(e).split("; use sys.")[0]
        raise argparse.ArgumentTypeError(
            f"not valid JSON ({why}): {text!r:.80}; give an object such as '{{\"d_model\": 256}}'"
        ) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object of ModelConfig fields, got {text!r}")
    return value
