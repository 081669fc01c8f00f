"""Export to CTranslate2 for the edge runtime, verified against the source model on the way out.

Pipeline: tandem model -> Hugging Face directory (`tandem.interop.to_hf`) -> CTranslate2 model directory
(CTranslate2's own `TransformersConverter`), with the SentencePiece model, the vocabulary and a small
`tandem_edge.json` (special tokens, export report) beside it. A float32 conversion is decoded greedily on a
probe batch and must give exactly the source model's tokens, else the export fails and shows the first
difference. A Hugging Face BART/mBART/T5 directory can be exported directly as well.

Token ids of the model are SentencePiece ids (tandem's convention); the CTranslate2 vocabulary is the list
of SentencePiece pieces in id order, padded with placeholders up to the model's vocabulary size.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tandem.errors import TandemError

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
    max_abs_logit_deviation: float | None = None
    quantized_agreement: float | None = None
    size_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------- tokenizer glue
class _SentencePieceVocab:
    """The slice of a Hugging Face tokenizer that CTranslate2's loaders read, backed by a SentencePiece model.

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

        def piece(i: int, fallback: str) -> str:
            return self.tokens[i] if 0 <= i < n else fallback

        self.unk_token = piece(sp.unk_id(), "<unk>")
        self.eos_token = piece(sp.eos_id(), "</s>")
        self.pad_token = piece(sp.pad_id(), self.tokens[0])
        self.bos_token = piece(sp.bos_id(), self.pad_token)
        self.special_tokens_map: dict[str, Any] = {}

    def get_vocab(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens)}

    def convert_ids_to_tokens(self, i: int) -> str:
        return self.tokens[int(i)]


def _converter(hf_dir: Path, vocab: _SentencePieceVocab):
    from ctranslate2.converters import TransformersConverter

    class _Converter(TransformersConverter):
        # CTranslate2's documented hook for where the tokenizer comes from: ours is the SentencePiece model.
        def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
            return vocab

        def load_model(self, model_class, model_name_or_path, **kwargs):
            model = super().load_model(model_class, model_name_or_path, **kwargs)
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
    return None


# ------------------------------------------------------------------------------------------------- sources
@dataclass
class _Source:
    hf_dir: Path
    hf_config: dict
    reference: Any  # callable(ids: list[list[int]], max_new_tokens) -> list[list[int]] (no start token)
    reference_name: str
    logits_fn: Any  # callable(src_ids, tgt_ids) -> numpy logits (B, T, V), for the deviation report
    approximate: bool
    tandem_config: dict | None


def _hf_reference(hf_dir: Path):
    import numpy as np
    import torch
    import transformers

    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(hf_dir), dtype=torch.float32).eval()

    def generate(ids: list[list[int]], max_new_tokens: int) -> list[list[int]]:
        return [_torch_greedy(model, x, max_new_tokens, hf=True) for x in ids]

    def logits(src: list[int], tgt: list[int]) -> np.ndarray:
        with torch.no_grad():
            out = model(input_ids=torch.tensor([src]), decoder_input_ids=torch.tensor([tgt]))
        return out.logits[0].float().numpy()

    return generate, logits


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
            **({"min_new_tokens": 0, "forced_bos_token_id": None, "forced_eos_token_id": None} if hf else {}),
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
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise TandemError(f"{cfg_path}: not valid JSON ({e})") from e
    return cfg if cfg.get("model_type") in _HF_TYPES else None


def _prepare_source(model: Any, tmp: Path, allow_approximate: bool, notes: list[str]) -> _Source:
    """Resolve MODEL (a tandem model, a tandem dir, or an HF BART/mBART/T5 dir) into an HF dir + reference."""
    if isinstance(model, (str, Path)):
        path = Path(model)
        if not path.exists():
            raise TandemError(f"model {path} not found; pass a tandem or Hugging Face model directory")
        hf_cfg = _is_hf_dir(path)
        if hf_cfg is not None:
            gen, logits = _hf_reference(path)
            ref_name = f"transformers {hf_cfg['model_type']}"
            try:  # the tandem loader, when present, is the reference users actually run
                from tandem.model import Seq2SeqLM

                tmodel = Seq2SeqLM.from_pretrained(path)
                gen, logits = _tandem_reference(tmodel)
                ref_name = "tandem (loaded from the HF directory)"
            except ImportError:
                notes.append("tandem.model unavailable: verified against transformers instead")
            return _Source(path, hf_cfg, gen, ref_name, logits, False, None)
        from tandem.model import Seq2SeqLM

        model = Seq2SeqLM.from_pretrained(path)

    from tandem import interop

    hf_dir = tmp / "hf"
    approximate = False
    try:
        interop.to_hf(model, hf_dir)
    except TandemError as exact_err:
        if not allow_approximate:
            raise TandemError(
                f"this model cannot be exported exactly: {exact_err} "
                "(pass --allow-approximate to export the nearest CTranslate2 model and report its deviation)"
            ) from exact_err
        try:
            interop.to_hf(model, hf_dir, approximate=True)
        except TypeError as e:  # to_hf has no approximate mode (yet): say so rather than fail obscurely
            raise TandemError(
                f"--allow-approximate: no approximate CTranslate2 export exists yet for this architecture "
                f"({exact_err}); serve it with `tandem serve MODEL --backend torch`"
            ) from e
        approximate = True
        notes.append(f"approximate export: {exact_err}")
    gen, logits = _tandem_reference(model)
    cfg = getattr(model, "config", None)
    tcfg = cfg.to_dict() if hasattr(cfg, "to_dict") else None
    return _Source(
        hf_dir, json.loads((hf_dir / "config.json").read_text()), gen, "tandem", logits, approximate, tcfg
    )


# -------------------------------------------------------------------------------------------------- export
def probe_batch(sp_size: int, eos: int, first_regular: int = 7, n: int = 6, seed: int = 0) -> list[list[int]]:
    """Seeded random source sequences of varied lengths over the regular (non-special) ids, each ending in EOS."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = [1] + [int(rng.integers(3, 20)) for _ in range(n - 1)]
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


def _convert(
    hf_dir: Path, vocab: _SentencePieceVocab, out: Path, quantization: str, decoder_start: str
) -> None:
    try:
        _converter(hf_dir, vocab).convert(str(out), quantization=quantization, force=True)
    except (ValueError, NotImplementedError) as e:
        raise TandemError(f"CTranslate2 cannot convert {hf_dir}: {e}") from e
    # mBART's loader leaves the start token to the caller (it is a language code there); ours is fixed.
    cfg_path = out / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["decoder_start_token"] = decoder_start
    cfg_path.write_text(json.dumps(cfg, indent=2))


def export_ct2(
    model: Any,
    out_dir: str | Path,
    *,
    quantize: str = "int8",
    tokenizer: str | Path | None = None,
    allow_approximate: bool = False,
    probe: Sequence[Sequence[int]] | None = None,
    max_new_tokens: int = 16,
    source_eos: bool = True,
) -> ExportReport:
    """Export a tandem model (object or dir) or an HF BART/mBART/T5 dir to a CTranslate2 dir for `tandem.edge`.

    Raises TandemError when the float32 CTranslate2 model's greedy outputs differ from the source model's on
    the probe batch, or when the architecture needs an approximation and `allow_approximate` is False.
    """
    if quantize not in QUANTIZATIONS:
        raise TandemError(f"--quantize {quantize!r} is not supported; choose from {', '.join(QUANTIZATIONS)}")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not (out / EDGE_META).is_file():
        raise TandemError(
            f"output dir {out} exists and is not a tandem edge export; choose an empty or new dir"
        )
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="tandem-export-") as tmp_s:
        tmp = Path(tmp_s)
        src = _prepare_source(model, tmp, allow_approximate, notes)
        spm_path = Path(tokenizer) if tokenizer else None
        if spm_path is None:
            for d in ([Path(model)] if isinstance(model, (str, Path)) else []) + [src.hf_dir]:
                spm_path = find_spm(d)
                if spm_path:
                    break
        if spm_path is None or not spm_path.is_file():
            raise TandemError(
                f"no SentencePiece model found for {model}; pass --tokenizer FILE (the .model it was trained with)"
            )
        cfg = src.hf_config
        vocab_size = int(cfg["vocab_size"])
        vocab = _SentencePieceVocab(spm_path, vocab_size)
        pad, bos, eos = (
            int(cfg.get("pad_token_id", 1)),
            cfg.get("bos_token_id"),
            int(cfg.get("eos_token_id", 2)),
        )
        start = cfg.get("decoder_start_token_id")
        start = int(start if start is not None else (eos if cfg["model_type"] in ("bart", "mbart") else pad))
        arch = cfg["model_type"]

        # 1) float32 conversion: the exactness check.
        fp32_dir = tmp / "ct2-float32"
        _convert(src.hf_dir, vocab, fp32_dir, "float32", vocab.tokens[start])
        first_regular = max(i for i in (pad, bos, eos, start, 6) if i is not None) + 1
        ids = (
            [list(x) for x in probe] if probe is not None else probe_batch(vocab.sp_size, eos, first_regular)
        )
        want = src.reference(ids, max_new_tokens)
        got = _ct2_greedy(fp32_dir, vocab.tokens, ids, max_new_tokens)
        mismatches = [(k, a, b) for k, (a, b) in enumerate(zip(want, got)) if a != b]
        deviation = None
        if src.approximate or mismatches:
            deviation = _logit_deviation(src, fp32_dir, vocab.tokens, ids, want, start, eos)
        if mismatches and not src.approximate:
            k, a, b = mismatches[0]
            j = _first_difference(a, b)
            raise TandemError(
                f"export check failed: CTranslate2 float32 greedy output differs from {src.reference_name} on "
                f"{len(mismatches)}/{len(ids)} probe sequences; first: probe {k} position {j}: "
                f"reference {a[j : j + 5]} vs ct2 {b[j : j + 5]} (max |logit diff| {deviation:.3g}); "
                "the architecture is probably not expressed exactly by CTranslate2"
            )
        if mismatches:
            notes.append(f"approximate: {len(mismatches)}/{len(ids)} probe outputs differ from the reference")

        # 2) the requested quantization.
        out.mkdir(parents=True, exist_ok=True)
        final = tmp / "ct2-out"
        if quantize == "float32":
            final = fp32_dir
        else:
            _convert(src.hf_dir, vocab, final, quantize, vocab.tokens[start])
        agreement = None
        if quantize != "float32":
            q = _ct2_greedy(final, vocab.tokens, ids, max_new_tokens)
            agreement = _token_agreement(got, q)
        for p in out.iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        for p in final.iterdir():
            shutil.copy2(p, out / p.name)
        shutil.copy2(spm_path, out / TOKENIZER_FILE)
        tok_cfg = spm_path.parent / "tokenizer_config.json"
        if tok_cfg.is_file():  # newline policy and specials of tandem's tokenizer travel with the model
            cfg_data = json.loads(tok_cfg.read_text(encoding="utf-8"))
            cfg_data.pop("model_file", None)
            (out / "tokenizer_config.json").write_text(json.dumps(cfg_data, indent=2), encoding="utf-8")
    report = ExportReport(
        out_dir=str(out),
        quantization=quantize,
        architecture=arch,
        probe_sequences=len(ids),
        probe_match=not mismatches,
        reference=src.reference_name,
        approximate=src.approximate,
        max_abs_logit_deviation=deviation,
        quantized_agreement=agreement,
        notes=notes,
    )
    report.size_bytes = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
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
        "tandem_config": src.tandem_config,
        "export": report.to_dict(),
    }
    (out / EDGE_META).write_text(json.dumps(meta, indent=2))
    report.size_bytes = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    return report


def _piece_id(vocab: _SentencePieceVocab, piece: str) -> int | None:
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


def _logit_deviation(
    src: _Source, ct2_dir: Path, pieces: list[str], ids, want, start: int, eos: int
) -> float:
    """Max |log-prob difference| between the reference and CTranslate2 float32 along the reference's outputs."""
    import ctranslate2
    import numpy as np

    tr = ctranslate2.Translator(str(ct2_dir), device="cpu", compute_type="float32", intra_threads=1)
    worst = 0.0
    for x, y in zip(ids, want):
        if not y:
            continue
        # CT2 scores the target and appends EOS itself: drop ours.
        tgt = y[:-1] if y[-1] == eos else y
        if not tgt:
            continue
        ct = tr.score_batch([[pieces[i] for i in x]], [[pieces[i] for i in tgt]])[0].log_probs[: len(tgt)]
        logits = src.logits_fn(x, [start, *tgt[:-1]])
        logp = logits - logits.max(-1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
        ref = [float(logp[t, tok]) for t, tok in enumerate(tgt)]
        worst = max(worst, max(abs(a - b) for a, b in zip(ref, ct)))
    return float(worst) if math.isfinite(worst) else float("inf")


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


def train_tiny_tokenizer(out_dir: str | Path, vocab_size: int = 256, seed: int = 0) -> Path:
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
    tok = Tokenizer.train(iter(lines), vocab_size=vocab_size, byte_fallback=False, seed=seed, num_threads=1)
    return tok.save(out_dir)
