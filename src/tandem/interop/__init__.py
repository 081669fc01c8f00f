"""Converters between tandem and other formats: HF BART/mBART/T5/mT5 and AlexaTM in, HF out.

(CTranslate2 export lives in `tandem.interop.ct2`.)
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from tandem.checkpoint import (
    _atomic_save_tensors,
    _atomic_write_json,
    empty_model,
    load_state_into,
    read_config,
    read_tensors,
)
from tandem.errors import TandemError
from tandem.interop import hf as _hf
from tandem.interop.alexatm import alexatm_config, alexatm_to_tandem
from tandem.jsonl import read_json

_TOKEN_IDS = ("decoder_start_token_id", "bos_token_id", "eos_token_id", "pad_token_id")


def _generation_config(directory: Path) -> dict | None:
    """A directory's generation_config.json as a dict, None when it has none."""
    path = directory / "generation_config.json"
    if not path.exists():
        return None
    gen = read_json(path)
    if not isinstance(gen, dict):
        raise TandemError(f"{path}: expected a JSON object")
    return gen


def generation_token_ids(directory: Path) -> dict[str, int | list[int]]:
    """The special-token ids set in a directory's generation_config.json (what transformers' generate()
    uses, over config.json); `eos_token_id` may be a list (several EOS tokens, see `single_eos`)."""
    gen = _generation_config(directory) or {}
    out = {k: gen[k] for k in _TOKEN_IDS if isinstance(gen.get(k), int)}
    if isinstance(gen.get("eos_token_id"), list) and gen["eos_token_id"]:
        out["eos_token_id"] = gen["eos_token_id"]
    return out


def single_eos(eos, source: Path):
    """The one EOS id tandem decodes with for a Hugging Face `eos_token_id`, which may be a list: its first
    id, with a warning when the list has others (transformers' generate() stops at any of them)."""
    if not isinstance(eos, list):
        return eos
    ids = list(dict.fromkeys(eos))
    if not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise TandemError(f"{source}: eos_token_id {eos!r} must be a token id or a list of token ids")
    if len(ids) > 1:
        warnings.warn(
            f"{source}: eos_token_id {eos}: tandem ends a sequence at one id only, {ids[0]}; transformers' "
            f"generate() also stops at {ids[1:]}, so outputs may differ from it",
            UserWarning,
            stacklevel=4,
        )
    return ids[0]


def generation_defaults(directory: Path, config: dict) -> dict:
    """The decoding defaults transformers' generate() takes from a Hugging Face directory, as tandem's
    `ModelConfig.generation`: from generation_config.json, or, when there is none, from the generation
    keys of config.json (`config`), as transformers falls back to (older BART checkpoints keep num_beams,
    max_length, no_repeat_ngram_size... there). Settings tandem cannot apply are named in a warning."""
    gen = _generation_config(directory)
    source = directory / "generation_config.json"
    if gen is None:
        gen, source = config, directory / "config.json"
    out, ignored = _hf.generation_from_hf(gen)
    if ignored:
        warnings.warn(
            f"{source}: tandem does not apply the generation settings {ignored}; transformers' generate() "
            "would, so outputs may differ from it",
            UserWarning,
            stacklevel=3,
        )
    if out.get("num_return_sequences", 1) != 1:  # see tandem.model.generation.with_model_defaults
        warnings.warn(
            f"{source}: num_return_sequences {out['num_return_sequences']} is kept for export but not applied: "
            "tandem's generate() returns one sequence per input unless the call asks for more, where "
            "transformers' would return several",
            UserWarning,
            stacklevel=3,
        )
    return out


def load_foreign(directory: Path, kind: str):
    """Build a tandem Seq2SeqLM from a Hugging Face BART/mBART/T5/mT5 or AlexaTM directory."""
    gen_ids = generation_token_ids(directory)
    cfg = {**read_config(directory), **gen_ids}
    eos_source = directory / ("generation_config.json" if "eos_token_id" in gen_ids else "config.json")
    cfg["eos_token_id"] = single_eos(cfg.get("eos_token_id"), eos_source)
    if cfg["eos_token_id"] is None:
        del cfg["eos_token_id"]  # unset: each architecture's own default
    # read (and so validate) the weights before anything else: a truncated or corrupt file is a TandemError
    raw = read_tensors(directory)
    has_head = "lm_head.weight" in raw
    try:
        if kind in ("bart", "mbart"):
            config = _hf.bart_config(cfg, raw)
            convert = lambda t: _hf.bart_to_tandem(t, config)  # noqa: E731
        elif kind in ("t5", "mt5"):
            config = _hf.t5_config(cfg, has_lm_head=_hf.t5_has_own_head(raw))
            convert = lambda t: _hf.t5_to_tandem(t, config)  # noqa: E731
        elif kind == "alexatm":
            config = alexatm_config(cfg, has_lm_head=has_head)
            convert = lambda t: alexatm_to_tandem(t, config)  # noqa: E731
        else:  # pragma: no cover - detect_format filters kinds
            raise TandemError(f"unsupported model_type {kind!r}")
    except KeyError as e:  # a size transformers would fill from its class defaults; tandem does not guess
        raise TandemError(
            f"{directory / 'config.json'}: this {kind} config lacks {e.args[0]!r}; write the full config "
            "(transformers' save_pretrained does)"
        ) from e
    except TandemError as e:  # a setting (or token table) tandem cannot represent: say where it is
        raise TandemError(f"{directory}: {e}") from None
    if kind != "alexatm":  # AlexaTM directories are not transformers models; their decoding stays tandem's
        config.generation = generation_defaults(directory, cfg)
        try:
            config.validate()
        except TandemError as e:
            raise TandemError(f"{directory}: {e}") from None
    model = empty_model(config)
    try:
        converted = convert(raw)
    except TandemError as e:  # a tensor the converter has no place for: name the directory and the way out
        raise TandemError(
            f"{directory}: {e}; tandem reads the {kind} ...ForConditionalGeneration layout only (is "
            "config.json's model_type right, and are these the weights transformers saved?)"
        ) from None
    tensors = {k: v.float() if v.is_floating_point() else v for k, v in converted.items()}
    if config.final_logits_bias and "final_logits_bias" not in tensors:
        tensors["final_logits_bias"] = torch.zeros(config.vocab_size)
    load_state_into(model, tensors, str(directory))
    return model


def hf_architecture(config) -> str:
    """'bart', 'mbart' or 't5' when a Hugging Face architecture expresses `config` exactly, else TandemError."""
    bart_why, t5_why = _hf.bart_mismatch(config), _hf.t5_mismatch(config)
    if not bart_why:
        return "mbart" if config.pre_norm else "bart"
    if not t5_why:
        return "t5"
    why = bart_why if len(bart_why) <= len(t5_why) else t5_why
    raise TandemError(
        "no Hugging Face architecture expresses this model exactly (" + "; ".join(why) + "). "
        "AlexaTM-style models (uncentred LayerNorm) stay in tandem's format: use `tandem generate`/`serve`."
    )


def to_hf(model, out_dir: str | Path, tokenizer=None) -> str:
    """Write `model` as a Hugging Face directory that transformers loads; returns the architecture name."""
    from tandem.checkpoint import unique_state_dict

    arch = hf_architecture(model.config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.cpu() for k, v in unique_state_dict(model).items()}
    dtype = str(tensors["encoder.embed_tokens.weight"].dtype).removeprefix("torch.")
    if arch == "t5":
        hf_tensors, hf_cfg = _hf.tandem_to_t5(tensors, model.config), _hf.to_t5_config(model.config, dtype)
    else:
        hf_tensors = _hf.tandem_to_bart(tensors, model.config)
        hf_cfg = _hf.to_bart_config(model.config, dtype)
    _atomic_save_tensors({k: v.contiguous() for k, v in hf_tensors.items()}, out / "model.safetensors")
    _atomic_write_json(out / "config.json", hf_cfg)
    _atomic_write_json(
        out / "generation_config.json",
        {
            "decoder_start_token_id": model.config.decoder_start_token_id,
            "eos_token_id": model.config.eos_token_id,
            "pad_token_id": model.config.pad_token_id,
            "bos_token_id": model.config.bos_token_id,
            **_hf.generation_to_hf(model.config.generation),
        },
    )
    if tokenizer is not None:  # tokenizer.json + tokenizer_config.json for AutoTokenizer, with tandem's ids
        from tandem.hf_tokenizer import write_for_transformers

        write_for_transformers(tokenizer, out)
    return arch


def verify_hf(
    model, hf_dir: str | Path, *, max_new_tokens: int = 16, sp_size: int | None = None
) -> dict | None:
    """Check a `to_hf` directory as `export_ct2` checks its output: transformers' float32 greedy decodes of
    the probe batch must equal tandem's own, token for token. Returns {"probe_sequences", "probe_match",
    "reference"}; None when transformers is not installed (it is optional); TandemError on a difference.

    `sp_size`: ids below it are real tokens (the tokenizer's size); default the model's vocabulary."""
    try:
        import transformers  # noqa: F401  (optional: without it the export is not checked)
    except ImportError:
        return None
    import copy

    from tandem.interop.ct2 import _first_difference, _torch_greedy, load_hf_dir, probe_batch

    c = model.config
    ref = model if next(model.parameters()).dtype == torch.float32 else copy.deepcopy(model).float()
    ref = ref.eval()
    hf = load_hf_dir(hf_dir)
    specials = (c.pad_token_id, c.bos_token_id, c.eos_token_id, c.decoder_start_token_id, 6)
    first_regular = max(i for i in specials if i is not None) + 1
    ids = probe_batch(sp_size or c.vocab_size, int(c.eos_token_id), first_regular)
    want = [_torch_greedy(ref, x, max_new_tokens, hf=False) for x in ids]
    got = [_torch_greedy(hf, x, max_new_tokens, hf=True) for x in ids]
    mismatches = [(k, a, b) for k, (a, b) in enumerate(zip(want, got)) if a != b]
    if mismatches:
        k, a, b = mismatches[0]
        j = _first_difference(a, b)
        raise TandemError(
            f"export check failed: the Hugging Face export's float32 greedy output (transformers) differs "
            f"from tandem's on {len(mismatches)}/{len(ids)} probe sequences; first: probe {k} position {j}: "
            f"reference {a[j : j + 5]} vs hf {b[j : j + 5]}; the conversion is not exact"
        )
    return {"probe_sequences": len(ids), "probe_match": True, "reference": "tandem (float32)"}
