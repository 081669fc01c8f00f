"""Export to CTranslate2 for the edge runtime, verified against the source model on the way out.

Two writers, one checker:
- tandem models that CTranslate2's `TransformerSpec` expresses (learned positions, LayerNorm, plain FFN; the
  mBART shape of tandem's presets) are written straight from tandem's weights through CTranslate2's Python
  spec API. AlexaTM-style models (uncentred LayerNorm, encoder positions from 0 + a token-type embedding,
  untied embeddings, final logits bias) take the same path; their LayerNorm is the one thing CTranslate2
  cannot compute, so they are refused unless `allow_approximate`, which swaps in standard LayerNorm and
  reports the measured deviation (max |logit difference|, greedy token agreement) against tandem.
- Hugging Face BART/mBART/T5 directories, and tandem models only a Hugging Face architecture expresses
  (T5-shaped), go tandem -> `tandem.interop.to_hf` -> CTranslate2's own `TransformersConverter`.
A float32 conversion is decoded greedily on a probe batch and must give exactly the source model's tokens
(unless the export is approximate), else the export fails and shows the first difference. The SentencePiece
model, the vocabulary and a small `tandem_edge.json` (special tokens, export report) go beside the model.

Token ids of the model are SentencePiece ids (tandem's convention); the CTranslate2 vocabulary is the list
of SentencePiece pieces in id order, padded with placeholders up to the model's vocabulary size. A model whose
tokenizer is a Hugging Face one (`HFTokenizer`: BART, mBART) has that tokenizer's ids: its tokens make the
vocabulary, and its tokenizer.json (with its framing, in `tandem_edge.json["hf_tokenizer"]`) replaces the
SentencePiece model (`tandem.edge.hf_tokens`).
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tandem.edge.hf_tokens import HF_TOKENIZER_FILE
from tandem.errors import TandemError, model_dir_error, unwritable
from tandem.jsonl import read_json
from tandem.slu import LABELS_FILE, SLULabels

QUANTIZATIONS = ("int8", "int8_float32", "int16", "float32")
EDGE_META = "tandem_edge.json"
TOKENIZER_FILE = "tokenizer.model"
# HF architectures CTranslate2 converts whose weights are exactly what tandem exports or loads.
_HF_TYPES = {"bart", "mbart", "t5", "mt5"}
_SPM_NAMES = ("tokenizer.model", "sentencepiece.bpe.model", "spiece.model", "sentencepiece.model")


@dataclass
class ExportReport:
    """What an export wrote and how it was verified."""

    out_dir: str
    quantization: str
    architecture: str
    probe_sequences: int
    probe_match: bool
    reference: str
    approximate: bool = False
    # float32 CTranslate2 vs the reference on the probe batch, teacher-forced along the reference's outputs
    max_abs_logit_deviation: float | None = None
    greedy_token_agreement: float | None = None  # float32 CTranslate2 vs the reference, greedy
    quantized_agreement: float | None = None  # quantized vs float32 CTranslate2, greedy
    # approximate exports: the same CTranslate2 model against tandem with the approximated part made exact
    mapping_check: dict[str, Any] | None = None
    size_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------- tokenizer glue
class _Vocab:
    """The slice of a Hugging Face tokenizer that CTranslate2's loaders read: `tokens` in id order (padded with
    placeholders up to the model's vocabulary size), the special tokens, `sp_size` real tokens."""

    tokens: list[str]
    sp_size: int
    unk_token: str
    eos_token: str
    pad_token: str
    bos_token: str
    special_tokens_map: dict[str, Any]

    def _set_specials(self, unk: int | None, eos: int | None, pad: int | None, bos: int | None) -> None:
        """The special tokens of the tokenizer's ids (None or out of range: absent), with fallbacks."""

        def token(i: int | None, fallback: str) -> str:
            return self.tokens[i] if i is not None and 0 <= i < self.sp_size else fallback

        self.unk_token = token(unk, "<unk>")
        self.eos_token = token(eos, "</s>")
        self.pad_token = token(pad, self.tokens[0])
        self.bos_token = token(bos, self.pad_token)
        self.special_tokens_map = {}

    def get_vocab(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens)}

    def convert_ids_to_tokens(self, i: int) -> str:
        return self.tokens[int(i)]


class _SentencePieceVocab(_Vocab):
    """CTranslate2's vocabulary backed by a SentencePiece model.

    The model's token ids are SentencePiece ids, so the vocabulary is the pieces in id order (padded with
    placeholders up to the model's vocabulary size), whatever tokenizer files the HF directory has.
    """

    def __init__(self, spm_path: str | Path, vocab_size: int):
        import sentencepiece as spm

        sp = spm.SentencePieceProcessor(model_file=str(spm_path))
        n = sp.get_piece_size()
        if n > vocab_size:
            raise TandemError(
                f"{spm_path}: the tokenizer has {n} pieces but the model's vocabulary has only {vocab_size}; "
                "export the tokenizer that was trained with this model"
            )
        self.tokens = [sp.id_to_piece(i) for i in range(n)] + [
            f"<tandem_unused_{i}>" for i in range(n, vocab_size)
        ]
        self.sp_size = n
        self.sp_bos = sp.bos_id() if 0 <= sp.bos_id() < n else None  # the tokenizer's <s>
        self._set_specials(sp.unk_id(), sp.eos_id(), sp.pad_id(), sp.bos_id())


class _HFVocab(_Vocab):
    """CTranslate2's vocabulary for a model whose tokenizer is a Hugging Face one (`HFTokenizer`): its tokens in
    id order. CTranslate2 maps token strings to ids, so an id with no token of its own (none, or one another id
    also has) gets a placeholder, as do the model's ids past the tokenizer's."""

    def __init__(self, tok: Any, vocab_size: int):
        tok.check_fits(vocab_size)
        n = tok.vocab_size
        seen: set[str] = set()
        self.tokens = []
        for i, t in enumerate(tok.hf.convert_ids_to_tokens(list(range(n)))):
            if not isinstance(t, str) or not t or t in seen:
                t = f"<tandem_unused_{i}>"
            seen.add(t)
            self.tokens.append(t)
        self.tokens += [f"<tandem_unused_{i}>" for i in range(n, vocab_size)]
        self.sp_size = n
        self._set_specials(tok.unk_id, tok.eos_id, tok.pad_id, tok.bos_id)


def _converter(hf_dir: Path, vocab: _Vocab):
    from ctranslate2.converters import TransformersConverter

    class _Converter(TransformersConverter):
        # CTranslate2's documented hook for where the tokenizer comes from: ours (SentencePiece or HFTokenizer)
        def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
            return vocab

        def load_model(self, model_class, model_name_or_path, **kwargs):
            # a local directory (checked before): never the Hub
            model = super().load_model(
                model_class, model_name_or_path, **{"local_files_only": True, **kwargs}
            )
            cfg = model.config
            # transformers 5 configs dropped these flags that CTranslate2's BART loader still reads; they are
            # fixed by the architecture (mBART: pre-norm; BART: post-norm; both normalise the embeddings).
            if cfg.model_type in ("bart", "mbart"):
                for key, value in (
                    ("normalize_before", cfg.model_type == "mbart"),
                    ("normalize_embedding", True),
                ):
                    if key not in cfg.to_dict():
                        setattr(cfg, key, value)
            return model

    return _Converter(str(hf_dir))


def find_spm(model_dir: str | Path) -> Path | None:
    """The SentencePiece model file in a model directory, or None."""
    for name in _SPM_NAMES:
        p = Path(model_dir) / name
        if p.is_file():
            return p
    others = sorted(Path(model_dir).glob("*.model")) if Path(model_dir).is_dir() else []
    return others[0] if len(others) == 1 else None  # one unambiguous .model (AlexaTM dirs name it freely)


# ------------------------------------------------------------------------------------------------- sources
@dataclass
class _Source:
    hf_dir: Path | None  # None: written from `spec_model` through the CTranslate2 spec API
    hf_config: dict  # model_type (architecture name), vocab_size and the special token ids
    reference: Any  # callable(ids: list[list[int]], max_new_tokens) -> list[list[int]] (no start token)
    reference_name: str
    logits_fn: Any  # callable(src_ids, tgt_ids) -> numpy logits (B, T, V), for the deviation report
    approximate: bool
    tandem_config: dict | None
    spec_model: Any = None  # tandem Seq2SeqLM for the direct spec path
    generation: dict = field(default_factory=dict)  # the model's decoding defaults (ModelConfig.generation)


def load_hf_dir(hf_dir: str | Path):
    """transformers' float32 model from a local Hugging Face directory: local files only, so a directory
    missing a file is an error at once, never a wait on the Hub (offline, transformers retries for ~25 s)."""
    import torch
    import transformers

    if not Path(hf_dir).is_dir():  # transformers would take it for a Hub name
        raise model_dir_error(hf_dir)
    try:
        model = transformers.AutoModelForSeq2SeqLM.from_pretrained(
            str(hf_dir), dtype=torch.float32, local_files_only=True
        )
    except (OSError, ValueError) as e:
        raise TandemError(
            f"{hf_dir}: transformers cannot load this directory ({str(e).splitlines()[0]}); give a complete "
            "Hugging Face model directory (config.json + weights)"
        ) from e
    return model.eval()


def _hf_reference(hf_dir: Path):
    import numpy as np
    import torch

    model = load_hf_dir(hf_dir)

    def generate(ids: list[list[int]], max_new_tokens: int) -> list[list[int]]:
        return [_torch_greedy(model, x, max_new_tokens, hf=True) for x in ids]

    def logits(src: list[int], tgt: list[int]) -> np.ndarray:
        with torch.no_grad():
            out = model(input_ids=torch.tensor([src]), decoder_input_ids=torch.tensor([tgt]))
        return out.logits[0].float().numpy()

    return generate, logits


_PLAIN_GREEDY = {
    "min_new_tokens": 0,
    "no_repeat_ngram_size": 0,
    "repetition_penalty": 1.0,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "bad_words_ids": None,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
}


def _torch_greedy(model, src: list[int], max_new_tokens: int, hf: bool) -> list[int]:
    """Greedy ids after the decoder start token, EOS included when produced (one sequence, no padding)."""
    import torch

    cfg = model.config
    with torch.no_grad():
        out = model.generate(
            torch.tensor([src]),
            attention_mask=torch.ones(1, len(src), dtype=torch.long),
            max_new_tokens=max_new_tokens,
            num_beams=1,
            do_sample=False,
            # plain greedy, as CTranslate2 decodes it here: no decoding defaults from the checkpoint
            **(_PLAIN_GREEDY if hf or getattr(cfg, "generation", None) else {}),
        )
    seq = out[0].tolist()[1:]
    eos = cfg.eos_token_id
    if eos in seq:
        seq = seq[: seq.index(eos) + 1]
    return seq


def _tandem_reference(model):
    import numpy as np
    import torch

    model = model.eval()

    def generate(ids: list[list[int]], max_new_tokens: int) -> list[list[int]]:
        return [_torch_greedy(model, x, max_new_tokens, hf=False) for x in ids]

    def logits(src: list[int], tgt: list[int]) -> np.ndarray:
        with torch.no_grad():
            out = model(input_ids=torch.tensor([src]), decoder_input_ids=torch.tensor([tgt]))
        return out.logits[0].float().numpy()

    return generate, logits


def _is_hf_dir(path: Path) -> dict | None:
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        return None
    cfg = read_json(cfg_path)
    return cfg if isinstance(cfg, dict) and cfg.get("model_type") in _HF_TYPES else None


def _prepare_source(model: Any, tmp: Path, allow_approximate: bool, notes: list[str]) -> _Source:
    """Resolve MODEL (a tandem model, a tandem dir, or an HF BART/mBART/T5 dir) into an HF dir + reference."""
    if isinstance(model, (str, Path)):
        path = Path(model)
        if not path.is_dir():
            raise model_dir_error(path)
        hf_cfg = _is_hf_dir(path)
        if hf_cfg is not None:
            try:  # the tandem loader, when present, is the reference users actually run
                from tandem.model import Seq2SeqLM
            except ImportError:
                gen, logits = _hf_reference(path)
                notes.append("tandem.model unavailable: verified against transformers instead")
                ref_name, generation = f"transformers {hf_cfg['model_type']}", {}
            else:
                tmodel = Seq2SeqLM.from_pretrained(path)
                gen, logits = _tandem_reference(tmodel)
                ref_name = "tandem (loaded from the HF directory)"
                generation = dict(tmodel.config.generation)
                # the special ids tandem decodes with: config.json's, over which generation_config.json's win
                # (an mBART's target-language decoder start lives there); the export decodes with the same
                ids = {k: v for k, v in _spec_meta(tmodel.config).items() if k.endswith("_token_id")}
                hf_cfg = {**hf_cfg, **ids}
            return _Source(path, hf_cfg, gen, ref_name, logits, False, None, generation=generation)
        from tandem.model import Seq2SeqLM

        model = Seq2SeqLM.from_pretrained(path)

    gen, logits = _tandem_reference(model)
    cfg = model.config
    tcfg = cfg.to_dict() if hasattr(cfg, "to_dict") else None
    blockers, approximations = spec_limits(cfg)
    if not blockers:
        if approximations and not allow_approximate:
            raise TandemError(
                "this model cannot be exported exactly: CTranslate2 cannot compute "
                + "; ".join(approximations)
                + " (pass --allow-approximate to export the nearest CTranslate2 model, with standard "
                "LayerNorm, and report its measured deviation from tandem)"
            )
        if approximations:
            notes.append("approximate export: " + "; ".join(approximations))
        return _Source(
            None,
            _spec_meta(cfg),
            gen,
            "tandem",
            logits,
            bool(approximations),
            tcfg,
            spec_model=model,
            generation=dict(getattr(cfg, "generation", None) or {}),
        )

    from tandem import interop

    hf_dir = tmp / "hf"
    try:
        interop.to_hf(model, hf_dir)
    except TandemError as exact_err:
        raise TandemError(
            f"this model cannot be exported to CTranslate2: {exact_err}; and CTranslate2's TransformerSpec "
            f"cannot express {'; '.join(blockers)}"
        ) from exact_err
    return _Source(
        hf_dir,
        json.loads((hf_dir / "config.json").read_text()),
        gen,
        "tandem",
        logits,
        False,
        tcfg,
        generation=dict(getattr(cfg, "generation", None) or {}),
    )


# ------------------------------------------------------------------------------------ direct spec path
_ACTIVATIONS = {"gelu": "GELU", "gelu_tanh": "GELUTanh", "relu": "RELU", "silu": "SWISH"}
SPEC_ARCHITECTURE = "ct2-transformer"


def spec_limits(config: Any) -> tuple[list[str], list[str]]:
    """(blockers, approximations) of writing `config` as a CTranslate2 `TransformerSpec` from tandem weights.

    Blockers: features the spec cannot express at all (the Hugging Face path may). Approximations: features
    it can only approximate; today just AlexaTM's uncentred LayerNorm, replaced by standard LayerNorm.
    """
    c = config
    blockers = []
    if c.position_type != "learned":
        blockers.append(f"position_type {c.position_type!r} (only learned absolute positions)")
    if c.norm_type == "rmsnorm":
        blockers.append("norm_type 'rmsnorm'")
    if c.gated_ffn:
        blockers.append("gated_ffn")
    if c.activation not in _ACTIVATIONS:
        blockers.append(f"activation {c.activation!r}")
    if c.attention_scale is not None:
        blockers.append(f"attention_scale {c.attention_scale}")
    if c.head_dim is not None and c.head_dim * c.num_heads != c.d_model:
        blockers.append(f"head_dim {c.head_dim} x {c.num_heads} heads != d_model {c.d_model}")
    if not c.pre_norm and c.final_norm:
        blockers.append("final_norm with post-norm layers")
    if c.encoder_layers < 1:
        blockers.append("a model without encoder layers")
    approximations = []
    if c.norm_type == "alexatm":
        approximations.append(
            "norm_type 'alexatm' ((x - mean) * rsqrt(mean(x^2) + eps), the uncentred second moment); "
            "CTranslate2 only has standard LayerNorm (x - mean) * rsqrt(var + eps)"
        )
    return blockers, approximations


def _spec_meta(config: Any) -> dict:
    c = config
    return {
        "model_type": SPEC_ARCHITECTURE,
        "vocab_size": c.vocab_size,
        "pad_token_id": c.pad_token_id,
        "bos_token_id": c.bos_token_id,
        "eos_token_id": c.eos_token_id,
        "decoder_start_token_id": c.decoder_start_token_id,
    }


def build_spec(model: Any, tokens: list[str], unk_token: str):
    """A CTranslate2 `TransformerSpec` holding `model`'s weights (float32 numpy), ready to validate and save.

    Exact for every config `spec_limits` passes without approximations. Mapping: the encoder's token-type-0
    embedding is added to its position table (tandem adds both to every position; exact); position tables
    start at each stack's offset; the LM head scale is folded into the output projection, whose bias is
    `final_logits_bias`. AlexaTM norms become standard LayerNorm with the same weight, bias and eps.
    """
    import numpy as np
    from ctranslate2.specs import common_spec, transformer_spec

    c = model.config

    def arr(t) -> np.ndarray:
        return np.ascontiguousarray(t.detach().float().cpu().numpy())

    def linear(spec, *modules) -> None:  # several modules: fused along the output dim, as CT2 stores QKV
        spec.weight = (
            np.concatenate([arr(m.weight) for m in modules]) if len(modules) > 1 else arr(modules[0].weight)
        )
        if modules[0].bias is not None:
            spec.bias = np.concatenate([arr(m.bias) for m in modules])

    def norm(spec, module) -> None:
        spec.gamma = arr(module.weight)
        spec.beta = arr(module.bias) if module.bias is not None else np.zeros_like(spec.gamma)

    def positions(table, offset: int) -> np.ndarray:
        return arr(table.weight[offset : offset + c.max_positions])

    act = getattr(common_spec.Activation, _ACTIVATIONS[c.activation])
    kw = dict(pre_norm=c.pre_norm, no_final_norm=not c.final_norm, activation=act)
    kw["layernorm_embedding"] = c.embedding_norm
    spec = transformer_spec.TransformerSpec(
        transformer_spec.TransformerEncoderSpec(c.encoder_layers, c.num_heads, **kw),
        transformer_spec.TransformerDecoderSpec(c.decoder_layers, c.num_heads, **kw),
    )
    enc, dec = model.encoder, model.decoder
    for side, stack, offset in (
        (spec.encoder, enc, c.encoder_position_offset),
        (spec.decoder, dec, c.decoder_position_offset),
    ):
        emb = side.embeddings[0] if isinstance(side.embeddings, list) else side.embeddings
        emb.weight = arr(stack.embed_tokens.weight)
        side.scale_embeddings = float(c.embed_scale)
        side.position_encodings.encodings = positions(stack.embed_positions, offset)
        if stack.embed_norm is not None:
            norm(side.layernorm_embedding, stack.embed_norm)
        if stack.final_norm is not None:
            norm(side.layer_norm, stack.final_norm)
    if enc.embed_token_types is not None:  # tandem adds token type 0 at every source position
        spec.encoder.position_encodings.encodings = (
            spec.encoder.position_encodings.encodings + arr(enc.embed_token_types.weight[0])[None]
        )
    for ls, layer in zip(spec.encoder.layer, enc.layers):
        a = layer.self_attn
        linear(ls.self_attention.linear[0], a.q_proj, a.k_proj, a.v_proj)
        linear(ls.self_attention.linear[1], a.out_proj)
        norm(ls.self_attention.layer_norm, layer.self_attn_norm)
        linear(ls.ffn.linear_0, layer.ffn.fc1)
        linear(ls.ffn.linear_1, layer.ffn.fc2)
        norm(ls.ffn.layer_norm, layer.ffn_norm)
    for ls, layer in zip(spec.decoder.layer, dec.layers):
        a, x = layer.self_attn, layer.cross_attn
        linear(ls.self_attention.linear[0], a.q_proj, a.k_proj, a.v_proj)
        linear(ls.self_attention.linear[1], a.out_proj)
        norm(ls.self_attention.layer_norm, layer.self_attn_norm)
        linear(ls.attention.linear[0], x.q_proj)
        linear(ls.attention.linear[1], x.k_proj, x.v_proj)
        linear(ls.attention.linear[2], x.out_proj)
        norm(ls.attention.layer_norm, layer.cross_attn_norm)
        linear(ls.ffn.linear_0, layer.ffn.fc1)
        linear(ls.ffn.linear_1, layer.ffn.fc2)
        norm(ls.ffn.layer_norm, layer.ffn_norm)
    spec.decoder.projection.weight = arr(model.lm_head.weight) * np.float32(c.lm_head_scale)
    if model.final_logits_bias is not None:
        spec.decoder.projection.bias = arr(model.final_logits_bias)

    spec.config.unk_token = unk_token
    spec.config.bos_token = tokens[c.bos_token_id] if c.bos_token_id is not None else unk_token
    spec.config.eos_token = tokens[c.eos_token_id]
    spec.config.decoder_start_token = tokens[c.decoder_start_token_id]
    spec.config.layer_norm_epsilon = float(c.norm_eps)
    spec.register_source_vocabulary(tokens)
    spec.register_target_vocabulary(tokens)
    return spec


def _write_spec(model: Any, vocab: _Vocab, out: Path, quantization: str) -> None:
    from ctranslate2.converters.converter import Converter

    class _SpecConverter(Converter):  # CTranslate2's own validate -> quantize -> save, from our spec
        def _load(self):
            return build_spec(model, vocab.tokens, vocab.unk_token)

    try:
        _SpecConverter().convert(str(out), quantization=quantization, force=True)
    except (ValueError, NotImplementedError, TypeError) as e:
        raise TandemError(f"CTranslate2 rejected the model spec built from tandem weights: {e}") from e


# -------------------------------------------------------------------------------------------------- export
def probe_batch(
    sp_size: int, eos: int, first_regular: int = 7, n: int = 6, seed: int = 0, max_len: int | None = None
) -> list[list[int]]:
    """Seeded random source sequences of varied lengths over the regular (non-special) ids, each ending in EOS
    and at most `max_len` tokens long (the model's positions)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = [1] + [int(rng.integers(3, 20)) for _ in range(n - 1)]
    if max_len is not None:  # a model with fewer positions than the longest probe: shorter probes
        lengths = [min(k, max(1, max_len - 1)) for k in lengths]
    return [rng.integers(first_regular, sp_size, size=k).tolist() + [eos] for k in lengths]


def _ct2_greedy(
    model_dir: Path, pieces: list[str], ids: list[list[int]], max_new_tokens: int
) -> list[list[int]]:
    import ctranslate2

    index = {t: i for i, t in enumerate(pieces)}
    tr = ctranslate2.Translator(str(model_dir), device="cpu", compute_type="default", intra_threads=1)
    res = tr.translate_batch(
        [[pieces[i] for i in x] for x in ids],
        beam_size=1,
        max_decoding_length=max_new_tokens,
        return_end_token=True,
        max_input_length=0,
        min_decoding_length=0,  # CTranslate2 defaults to 1, which forbids an immediate EOS
    )
    return [[index[t] for t in r.hypotheses[0]] for r in res]


def _first_difference(a: list[int], b: list[int]) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def _convert(src: _Source, vocab: _Vocab, out: Path, quantization: str, decoder_start: str) -> None:
    if src.hf_dir is None:
        _write_spec(src.spec_model, vocab, out, quantization)
        return
    try:
        _converter(src.hf_dir, vocab).convert(str(out), quantization=quantization, force=True)
    except (ValueError, NotImplementedError) as e:
        raise TandemError(f"CTranslate2 cannot convert {src.hf_dir}: {e}") from e
    # mBART's loader leaves the start token to the caller (it is a language code there); ours is fixed.
    cfg_path = out / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["decoder_start_token"] = decoder_start
    cfg_path.write_text(json.dumps(cfg, indent=2))


def _labels_file(model: Any, labels: str | Path | None, vocab: _Vocab) -> Path | None:
    """The labels.json to carry into the export (checked: valid, and every tag is a token), or None."""
    p = SLULabels.locate(model, labels)
    if p is None:
        return None
    tags = SLULabels.load(p)
    have = set(vocab.tokens)
    missing = [t for t in tags.tags() if t not in have]
    if missing:
        raise TandemError(
            f"{p}: {len(tags)} labels but the tokenizer has no {missing[0]} ({len(missing)} tags missing); "
            "export with the tokenizer the model was fine-tuned with"
        )
    return p


def export_ct2(
    model: Any,
    out_dir: str | Path,
    *,
    quantize: str = "int8",
    tokenizer: str | Path | Any | None = None,
    allow_approximate: bool = False,
    probe: Sequence[Sequence[int]] | None = None,
    max_new_tokens: int = 16,
    source_eos: bool = True,
    labels: str | Path | None = None,
) -> ExportReport:
    """Export a tandem model (object or dir) or an HF BART/mBART/T5 dir to a CTranslate2 dir for `tandem.edge`.

    The SLU tag vocabulary (`labels.json` from `tandem finetune --slu-tags`; `labels`, else the one in the
    model dir) is copied into the export, so `EdgeModel.parse` and `tandem serve` name tags.

    The tokenizer is `tokenizer` (a SentencePiece .model, a Hugging Face tokenizer.json or tokenizer directory,
    or an `HFTokenizer`), else the model directory's, found as `Tokenizer.load` finds it. A Hugging Face
    tokenizer (BART's byte-level BPE, mBART's) goes into the export as its tokenizer.json, with its source and
    target framing; the export checks that the edge runtime reads it (with `tokenizers`) as tandem does.

    Raises TandemError when the float32 CTranslate2 model's greedy outputs differ from the source model's on
    the probe batch, or when the architecture needs an approximation and `allow_approximate` is False.
    """
    if quantize not in QUANTIZATIONS:
        raise TandemError(f"--quantize {quantize!r} is not supported; choose from {', '.join(QUANTIZATIONS)}")
    if isinstance(tokenizer, (str, Path)) and not Path(tokenizer).exists():
        raise TandemError(
            f"--tokenizer {tokenizer}: file not found; give the SentencePiece .model the model was trained with, or "
            "its Hugging Face tokenizer.json (or tokenizer directory)"
        )
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise TandemError(f"output dir {out} is a file; give a new or empty directory")
    if out.exists() and any(out.iterdir()) and not (out / EDGE_META).is_file():
        raise TandemError(
            f"output dir {out} exists and is not a tandem edge export; choose an empty or new dir"
        )
    notes: list[str] = []
    # Everything that can refuse the export runs before anything is written to `out`: the export is built
    # and checked in a temporary folder, then moved into place (`_publish`), so a refused or failed export
    # leaves `out` as it was (not created, or the earlier export untouched).
    with tempfile.TemporaryDirectory(prefix="tandem-export-") as tmp_s:
        tmp = Path(tmp_s)
        src = _prepare_source(model, tmp, allow_approximate, notes)
        hf_tok = _hf_tokenizer(model, tokenizer)
        spm_path = Path(tokenizer) if isinstance(tokenizer, (str, Path)) else None
        if spm_path is not None and (spm_path.is_dir() or spm_path.name == HF_TOKENIZER_FILE):
            spm_path = find_spm(spm_path if spm_path.is_dir() else spm_path.parent)
        elif spm_path is None and hf_tok is None:
            for d in ([Path(model)] if isinstance(model, (str, Path)) else []) + [src.hf_dir or tmp]:
                spm_path = find_spm(d)
                if spm_path:
                    break
        if hf_tok is None and (spm_path is None or not spm_path.is_file()):
            raise TandemError(
                f"no tokenizer found for {model} (neither a SentencePiece model nor a Hugging Face tokenizer); "
                "pass --tokenizer FILE (the .model it was trained with, or its tokenizer.json)"
            )
        cfg = src.hf_config
        positions = _max_positions(cfg, src.tandem_config)
        if positions is not None and max_new_tokens > positions:
            # the probe decodes would run past the position table (a ValueError from deep inside torch)
            raise TandemError(
                f"--max-new-tokens {max_new_tokens} is over this model's {positions} positions (max_positions "
                f"in {model if isinstance(model, (str, Path)) else 'its config'}); give at most {positions}"
            )
        vocab_size = int(cfg["vocab_size"])
        tok_settings = None
        if hf_tok is None:
            vocab: _Vocab = _SentencePieceVocab(spm_path, vocab_size)
            tok_settings = _tokenizer_settings(spm_path)
        else:
            vocab = _HFVocab(hf_tok, vocab_size)
        labels_file = _labels_file(model, labels, vocab)
        pad, bos, eos = (
            int(cfg.get("pad_token_id", 1)),
            cfg.get("bos_token_id"),
            int(cfg.get("eos_token_id", 2)),
        )
        start = cfg.get("decoder_start_token_id")
        start = int(start if start is not None else (eos if cfg["model_type"] in ("bart", "mbart") else pad))
        arch = cfg["model_type"]
        from tandem.edge.runtime import generation_report
        from tandem.tokenizer import frames_with_bos

        # what the edge runtime will do with the model's decoding defaults (refuses bad ones)
        edge_generation = generation_report(src.generation, eos_id=eos, start_id=start, vocab_size=vocab_size)

        # 1) float32 conversion: the exactness check.
        fp32_dir = tmp / "ct2-float32"
        _convert(src, vocab, fp32_dir, "float32", vocab.tokens[start])
        first_regular = max(i for i in (pad, bos, eos, start, 6) if i is not None) + 1
        if probe is not None:
            ids = [list(x) for x in probe]
        elif hf_tok is not None:  # the tokenizer's regular ids, framed as its sources are
            ids = _hf_probe(hf_tok, source_eos, max_len=positions)
        else:
            ids = probe_batch(vocab.sp_size, eos, first_regular, max_len=positions)
        want = src.reference(ids, max_new_tokens)
        got = _ct2_greedy(fp32_dir, vocab.tokens, ids, max_new_tokens)
        mismatches = [(k, a, b) for k, (a, b) in enumerate(zip(want, got)) if a != b]
        deviation = _logit_deviation(src, fp32_dir, vocab.tokens, ids, want, start)
        if mismatches and not src.approximate:
            k, a, b = mismatches[0]
            j = _first_difference(a, b)
            raise TandemError(
                f"export check failed: CTranslate2 float32 greedy output differs from {src.reference_name} on "
                f"{len(mismatches)}/{len(ids)} probe sequences; first: probe {k} position {j}: "
                f"reference {a[j : j + 5]} vs ct2 {b[j : j + 5]} (max |logit diff| {deviation:.3g}); "
                "the architecture is probably not expressed exactly by CTranslate2"
            )
        greedy_agreement = _token_agreement(want, got)
        mapping_check = None
        if src.approximate:
            notes.append(
                f"approximate: {len(ids) - len(mismatches)}/{len(ids)} probe outputs identical to tandem, "
                f"greedy token agreement {greedy_agreement:.3f}, max |logit diff| {deviation:.3g}"
            )
            mapping_check = _check_mapping(src, fp32_dir, vocab.tokens, ids, got, start, max_new_tokens)

        # 2) the requested quantization.
        final = tmp / "ct2-out"
        if quantize == "float32":
            final = fp32_dir
        else:
            _convert(src, vocab, final, quantize, vocab.tokens[start])
        agreement = None
        if quantize != "float32":
            q = _ct2_greedy(final, vocab.tokens, ids, max_new_tokens)
            agreement = _token_agreement(got, q)

        # 3) the export folder, complete, still in the temporary folder.
        stage = tmp / "export"
        stage.mkdir()
        for p in final.iterdir():
            shutil.copy2(p, stage / p.name)
        hf_spec = None
        if hf_tok is not None:  # its tokenizer.json, checked as the edge runtime reads it
            hf_spec = _write_hf_tokenizer(hf_tok, stage, tmp)
        else:
            shutil.copy2(spm_path, stage / TOKENIZER_FILE)
        # the newline policy and specials of tandem's tokenizer travel with the model
        if tok_settings is not None:
            (stage / "tokenizer_config.json").write_text(json.dumps(tok_settings, indent=2), encoding="utf-8")
        if labels_file is not None:  # tag-format SLU: the edge runtime maps tags back to names with it
            shutil.copy2(labels_file, stage / LABELS_FILE)
        if edge_generation["not_exact"]:
            notes.append(
                f"decoding defaults the edge runtime cannot apply exactly as tandem does "
                f"(num_beams {edge_generation['num_beams']}; left out, or CTranslate2's rule with "
                "EdgeModel(generation_defaults='nearest')): "
                + "; ".join(f"{k} ({why})" for k, why in sorted(edge_generation["not_exact"].items()))
            )
        report = ExportReport(
            out_dir=str(out),
            quantization=quantize,
            architecture=arch,
            probe_sequences=len(ids),
            probe_match=not mismatches,
            reference=src.reference_name,
            approximate=src.approximate,
            max_abs_logit_deviation=deviation,
            greedy_token_agreement=greedy_agreement,
            quantized_agreement=agreement,
            mapping_check=mapping_check,
            notes=notes,
        )
        report.size_bytes = sum(p.stat().st_size for p in stage.iterdir() if p.is_file())
        meta = {
            "format": 1,
            "architecture": arch,
            "quantization": quantize,
            "tokenizer": TOKENIZER_FILE,
            "vocab_size": vocab_size,
            "sentencepiece_size": vocab.sp_size,
            "pad_token_id": pad,
            "bos_token_id": bos,
            "eos_token_id": eos,
            "decoder_start_token_id": start,
            "clm_token_id": _piece_id(vocab, "[CLM]"),
            "source_eos": source_eos,
            # the tokenizer's <s> id where it frames a source <s> ... </s> (AlexaTM's release; see
            # tandem.tokenizer.frames_with_bos), else null: tandem's and T5's ... </s>
            "source_bos": vocab.sp_bos
            if hf_tok is None and frames_with_bos(tok_settings or {}, spm_path.name)
            else None,
            "max_positions": positions,
            "slu_labels": LABELS_FILE if labels_file is not None else None,
            "tandem_config": src.tandem_config,
            # the model's decoding defaults, which EdgeModel.generate applies where CTranslate2 matches tandem
            "generation": src.generation,
            "generation_edge": edge_generation,
            "export": report.to_dict(),
        }
        if hf_tok is not None:
            del meta["sentencepiece_size"]
            meta.update(
                tokenizer=HF_TOKENIZER_FILE,
                tokenizer_size=vocab.sp_size,
                clm_token_id=hf_tok.clm_id,
                hf_tokenizer=hf_spec,
            )
        (stage / EDGE_META).write_text(json.dumps(meta, indent=2))
        report.size_bytes = sum(p.stat().st_size for p in stage.iterdir() if p.is_file())

        # 4) into place: the first write to `out`.
        _publish(stage, out)
    return report


def _hf_tokenizer(model: Any, tokenizer: Any) -> Any | None:
    """The model's Hugging Face tokenizer (`HFTokenizer`) when the export takes one, else None (SentencePiece).

    `tokenizer` (a path, or an `HFTokenizer`), else the model directory, is read as `Tokenizer.load` reads it:
    a SentencePiece model tandem reads (tokenizer.model, spiece.model, ...; or one lone .model, as AlexaTM
    directories have) keeps the SentencePiece export; else a Hugging Face tokenizer's files (BART's vocab.json
    + merges.txt, mBART's sentencepiece.bpe.model, whose ids fairseq shifts by one, a tokenizer.json)."""
    from tandem.hf_tokenizer import HFTokenizer, is_hf_tokenizer_dir
    from tandem.tokenizer import Tokenizer

    if tokenizer is not None and not isinstance(tokenizer, (str, Path)):
        if isinstance(tokenizer, HFTokenizer):
            return tokenizer
        raise TandemError(
            f"tokenizer: expected a path or an HFTokenizer, got {type(tokenizer).__name__}; give the "
            "SentencePiece .model, or the Hugging Face tokenizer.json or directory"
        )
    if tokenizer is not None:
        where = Path(tokenizer)
        if where.is_file() and where.name != HF_TOKENIZER_FILE:
            return None  # a SentencePiece .model
    elif isinstance(model, (str, Path)):
        where = Path(model)
    else:
        return None
    d = where if where.is_dir() else where.parent
    spm = find_spm(d)
    if (spm is not None and spm.name != "sentencepiece.bpe.model") or not is_hf_tokenizer_dir(d):
        return None
    tok = Tokenizer.load(where)
    return tok if isinstance(tok, HFTokenizer) else None


def _hf_probe(tok: Any, source_eos: bool, n: int = 6, seed: int = 0, max_len: int | None = None):
    """Seeded random sources of `tok`'s regular (non-special) ids, framed as its sources are (`tok(text)`), of
    varied lengths and at most `max_len` tokens long."""
    import numpy as np

    from tandem.tokenizer import frame

    rng = np.random.default_rng(seed)
    skip = set(tok.special_ids) | {
        i for i in (tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id) if i is not None
    }
    regular = np.array([i for i in range(tok.vocab_size) if i not in skip])
    pre, post = tok.source_affixes() if source_eos else ([], [])
    lengths = [1] + [int(rng.integers(3, 20)) for _ in range(n - 1)]
    if max_len is not None:
        lengths = [min(k, max(1, max_len - len(pre) - len(post))) for k in lengths]
    return [frame(rng.choice(regular, size=k).tolist(), (pre, post))[0] for k in lengths]


# Texts the edge runtime's reading of an exported tokenizer.json is checked on (with the convert --to hf ones)
_HF_CHECK_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "Is it raining? Yes , it is . I'm sure they've gone, isn't it !",
    "héllo wörld ✓",
)


def _write_hf_tokenizer(tok: Any, stage: Path, tmp: Path) -> dict:
    """Write `tok`'s tokenizer.json into the export `stage` and return the "hf_tokenizer" entry of
    tandem_edge.json; raise TandemError unless the edge runtime's `EdgeHFTokenizer` then gives tandem's ids and
    texts on the check texts."""
    from tandem.edge.hf_tokens import EdgeHFTokenizer
    from tandem.hf_tokenizer import PROBE_TEXTS

    saved = tok.save(tmp / "hf-tokenizer")  # save_pretrained: a fast tokenizer writes its tokenizer.json
    if not (saved / HF_TOKENIZER_FILE).is_file():
        raise TandemError(
            f"{tok.source or 'the tokenizer'}: this Hugging Face tokenizer ({type(tok.hf).__name__}) has no "
            f"{HF_TOKENIZER_FILE} form (a Python-only tokenizer), which the edge runtime reads; export a model "
            "whose tokenizer transformers loads as a fast tokenizer, or serve it with `tandem serve --backend "
            "torch`"
        )
    shutil.copy2(saved / HF_TOKENIZER_FILE, stage / HF_TOKENIZER_FILE)
    # transformers may clean up spaces before punctuation after decoding (clean_up_tokenization_spaces):
    # seen on a text that has such spaces, decoded by transformers and by `tokenizers` alone
    probe = tok.encode("a . b , c ? d ! e 's")
    backend = getattr(tok.hf, "backend_tokenizer", None)
    clean_up = backend is not None and tok.decode(probe) != backend.decode(probe, skip_special_tokens=True)
    spec = {
        "class": type(tok.hf).__name__,
        "size": tok.vocab_size,
        "unk_id": tok.unk_id,
        "source_affixes": [list(x) for x in tok.source_affixes()],
        "target_affixes": [list(x) for x in tok.target_affixes()],
        "src_lang": tok.src_lang,
        "tgt_lang": tok.tgt_lang,
        "newline_replacement": tok._newline_repl,
        "clean_up_tokenization_spaces": clean_up,
    }
    edge = EdgeHFTokenizer(stage / HF_TOKENIZER_FILE, spec, where="the export", damaged="")
    for text in (*PROBE_TEXTS, *_HF_CHECK_TEXTS):
        want = tok.encode(text)
        got = edge.encode(text)
        if got != want or edge.decode(want) != tok.decode(want):
            what = "ids" if got != want else "decoded text"
            raise TandemError(
                f"export check failed: the edge runtime's reading of {tok.source or 'the'} tokenizer.json (the "
                f"`tokenizers` library) gives other {what} than tandem's tokenizer (transformers) for "
                f"{text!r}; serve this model with `tandem serve --backend torch`"
            )
    return spec


def _tokenizer_settings(spm_path: Path) -> dict | None:
    """tandem's tokenizer_config.json beside the SentencePiece model (its path dropped), or None."""
    tok_cfg = spm_path.parent / "tokenizer_config.json"
    if not tok_cfg.is_file():
        return None
    try:
        data = json.loads(tok_cfg.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TandemError(f"{tok_cfg}: cannot read it as JSON ({e}); fix or remove it") from e
    if not isinstance(data, dict):
        raise TandemError(f"{tok_cfg}: expected a JSON object; fix or remove it")
    data.pop("model_file", None)
    return data


def _publish(stage: Path, out: Path) -> None:
    """Put the finished export `stage` at `out` (new, empty, or an earlier edge export, whose files go).

    The files are first copied beside `out` (the slow part, maybe across file systems), then renamed into
    place, so an export that fails while copying leaves `out` as it was."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.export-")
    except OSError as e:  # permission denied, a read-only file system: a traceback after the whole export
        raise unwritable(f"output dir {out}", e) from None
    with staging as side_s:
        side = Path(side_s) / "export"
        shutil.copytree(stage, side)
        if not out.exists():
            side.rename(out)
            return
        earlier = {p.name for p in out.iterdir()}
        written = {p.name for p in side.iterdir()}
        for name in written:  # each file replaced atomically, then the earlier export's others go
            if (out / name).is_dir():
                shutil.rmtree(out / name)
            (side / name).replace(out / name)
        for name in earlier - written:
            stale = out / name
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()


def _max_positions(hf_config: dict, tandem_config: dict | None) -> int | None:
    """Longest source/target the export can embed (learned positions), None when positions are relative."""
    if tandem_config is not None:
        learned = tandem_config.get("position_type") == "learned"
        return int(tandem_config["max_positions"]) if learned else None
    if hf_config.get("model_type") in ("bart", "mbart") and hf_config.get("max_position_embeddings"):
        return int(hf_config["max_position_embeddings"])
    return None


def _piece_id(vocab: _Vocab, piece: str) -> int | None:
    try:
        return vocab.tokens.index(piece, 0, vocab.sp_size)
    except ValueError:
        return None


def _token_agreement(a: list[list[int]], b: list[list[int]]) -> float:
    """Fraction of positions where two sets of greedy outputs agree (over the longer of each pair)."""
    same = total = 0
    for x, y in zip(a, b):
        n = max(len(x), len(y))
        total += n
        same += sum(1 for i in range(min(len(x), len(y))) if x[i] == y[i])
    return same / total if total else 1.0


def _logit_deviation(src: _Source, ct2_dir: Path, pieces: list[str], ids, want, start: int) -> float:
    """Max |logit difference| (full vocabulary, every step) between the reference and CTranslate2 float32,
    both teacher-forced along the reference's greedy outputs."""
    import ctranslate2
    import numpy as np

    tr = ctranslate2.Translator(str(ct2_dir), device="cpu", compute_type="float32", intra_threads=1)
    worst = 0.0
    for x, y in zip(ids, want):
        if not y:
            continue
        # The prefix forces the reference's tokens; CT2 returns the logits of every step, prefix included.
        res = tr.translate_batch(
            [[pieces[i] for i in x]],
            target_prefix=[[pieces[i] for i in y[:-1]]] if len(y) > 1 else None,
            beam_size=1,
            max_decoding_length=len(y),
            min_decoding_length=0,
            max_input_length=0,
            return_end_token=True,
            return_logits_vocab=True,
        )[0]
        ct = np.stack([np.asarray(v, dtype=np.float32) for v in res.logits[0]])
        ref = src.logits_fn(x, [start, *y[:-1]])
        n = min(len(ct), len(ref))
        worst = max(worst, float(np.abs(ct[:n] - ref[:n]).max()))
    return worst if math.isfinite(worst) else float("inf")


@contextlib.contextmanager
def _standard_layernorm(model: Any):
    """Temporarily compute every AlexaTM norm of `model` as standard LayerNorm (same weights), in place."""
    from tandem.model.layers import Norm

    switched = [m for m in model.modules() if isinstance(m, Norm) and m.kind == "alexatm"]
    try:
        for m in switched:
            m.kind = "layernorm"
        yield
    finally:
        for m in switched:
            m.kind = "alexatm"


def _check_mapping(
    src: _Source, ct2_dir: Path, pieces: list[str], ids, got, start: int, max_new_tokens: int
) -> dict[str, Any]:
    """Approximate export: CTranslate2 must equal tandem once tandem's norm is standard LayerNorm too.

    This proves every weight is mapped right and the norm is the only difference; raises TandemError if not.
    """
    with _standard_layernorm(src.spec_model):
        want = src.reference(ids, max_new_tokens)
        deviation = _logit_deviation(src, ct2_dir, pieces, ids, want, start)
    mismatches = [k for k, (a, b) in enumerate(zip(want, got)) if a != b]
    if mismatches:
        k = mismatches[0]
        raise TandemError(
            f"export check failed: with standard LayerNorm in both, CTranslate2 float32 still differs from "
            f"tandem on {len(mismatches)}/{len(ids)} probe sequences (first: probe {k}, {want[k][:8]} vs "
            f"{got[k][:8]}; max |logit diff| {deviation:.3g}): the weight mapping is wrong, please report it"
        )
    return {
        "reference": "tandem with norm_type 'layernorm' (same weights)",
        "greedy_match": True,
        "max_abs_logit_deviation": deviation,
    }


# --------------------------------------------------------------------------------------------- tiny models
def build_random_hf(
    out_dir: str | Path,
    *,
    arch: str = "mbart",
    vocab_size: int = 512,
    d_model: int = 32,
    layers: tuple[int, int] = (2, 2),
    heads: int = 4,
    ffn_dim: int = 64,
    max_positions: int = 128,
    seed: int = 0,
) -> Path:
    """Save a random Hugging Face BART/mBART/T5 model (tandem's special ids) for tests, demos and benchmarks."""
    import torch
    import transformers

    torch.manual_seed(seed)
    common = dict(
        vocab_size=vocab_size, pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2
    )
    if arch in ("bart", "mbart"):
        cls = transformers.BartConfig if arch == "bart" else transformers.MBartConfig
        cfg = cls(
            d_model=d_model,
            encoder_layers=layers[0],
            decoder_layers=layers[1],
            encoder_attention_heads=heads,
            decoder_attention_heads=heads,
            encoder_ffn_dim=ffn_dim,
            decoder_ffn_dim=ffn_dim,
            max_position_embeddings=max_positions,
            forced_eos_token_id=None,
            dropout=0.0,
            attention_dropout=0.0,
            activation_dropout=0.0,
            **common,
        )
        model = transformers.AutoModelForSeq2SeqLM.from_config(cfg)
    elif arch == "t5":
        cfg = transformers.T5Config(
            d_model=d_model,
            d_kv=d_model // heads,
            d_ff=ffn_dim,
            num_layers=layers[0],
            num_decoder_layers=layers[1],
            num_heads=heads,
            feed_forward_proj="gated-gelu",
            tie_word_embeddings=False,
            dropout_rate=0.0,
            **common,
        )
        model = transformers.T5ForConditionalGeneration(cfg)
    else:
        raise TandemError(f"arch {arch!r}: choose bart, mbart or t5")
    # Random init is tiny-scaled: widen the logits so greedy decoding is not a string of near-ties.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.3 if p.shape[0] != vocab_size else 0.5)
    out = Path(out_dir)
    model.eval().save_pretrained(str(out))
    return out


def train_tiny_tokenizer(
    out_dir: str | Path, vocab_size: int = 256, seed: int = 0, reserved_tags: int = 0
) -> Path:
    """Train a small tandem tokenizer (tandem's special-id layout, no byte fallback) for tests and demos."""
    import random

    from tandem.tokenizer import Tokenizer

    rng = random.Random(seed)
    words = (
        "play the music turn on off lights in kitchen living room set alarm for seven am wake me up tomorrow "
        "what is weather like today in paris london berlin add milk eggs to shopping list call mom dad "
        "volume up down stop pause next song by queen beatles one two three four five six eight nine ten"
    ).split()
    letters = "abcdefghijklmnopqrstuvwxyz"
    words += ["".join(rng.choice(letters) for _ in range(rng.randint(2, 7))) for _ in range(400)]
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) for _ in range(3000)]
    tok = Tokenizer.train(
        iter(lines),
        vocab_size=vocab_size,
        byte_fallback=False,
        seed=seed,
        num_threads=1,
        reserved_tags=reserved_tags,
    )
    return tok.save(out_dir)
