"""Vocabulary trimming: restrict the output layer to the tokens a task can emit (CTranslate2 vocabulary map).

A task such as SLU parsing only ever writes its label names, separators and words copied from the input.
The map written here lists those fixed tokens plus an identity rule per source token, so CTranslate2
computes the output projection over (fixed tokens + this batch's source tokens) instead of the whole
vocabulary. It needs no re-export: the file sits in the export directory and `EdgeModel` picks it up.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tandem.edge.runtime import VMAP_FILE
from tandem.errors import TandemError

_MAP_SEPARATORS = frozenset(" \t\n\r")


@dataclass
class TrimReport:
    """What a vocabulary map allows."""

    path: str
    fixed_tokens: int  # always allowed (specials + tokens of the task's outputs)
    vocab_size: int
    copy_source: bool


def trim_vocabulary(
    export_dir: str | os.PathLike,
    outputs: Iterable[str],
    *,
    copy_source: bool = True,
    extra_tokens: Iterable[str] = (),
) -> TrimReport:
    """Write `vmap.txt` into an edge export: the task's outputs' tokens always, source tokens when copied.

    An export with a `labels.json` (tag-format SLU) always allows its intent/slot tags as well."""
    from tandem.edge.runtime import _read_json, load_tokenizer, read_vocabulary
    from tandem.slu import SLULabels

    d = Path(export_dir)
    meta_path = d / "tandem_edge.json"
    if not meta_path.is_file():
        raise TandemError(f"{d}: not a tandem edge export (no tandem_edge.json)")
    meta = _read_json(meta_path, dict, "an object")
    # the tokenizer the edge runtime encodes with (SentencePiece, or a Hugging Face tokenizer.json), and the
    # token strings CTranslate2 reads the map's tokens as: its vocabulary's, up to the tokenizer's size
    tok = load_tokenizer(d, meta)
    n = tok.vocab_size
    pieces = read_vocabulary(d, meta)[:n]
    index = {p: i for i, p in enumerate(pieces)}
    fixed: set[int] = {int(meta[k]) for k in ("eos_token_id", "pad_token_id", "decoder_start_token_id")}
    fixed |= {int(meta["bos_token_id"])} if meta.get("bos_token_id") is not None else set()
    fixed |= {tok.unk_id} if tok.unk_id is not None else set()
    if meta.get("hf_tokenizer") is not None:
        # what framing puts around a target (BART <s> ... </s>, mBART ... </s> ro_RO, mBART-50 ro_RO ... </s>)
        fixed.update(i for ids in tok.target_affixes for i in ids)
    # tokens the model's decoding forces (mBART-50's target language code first)
    generation = meta.get("generation") or {}
    for key in ("forced_bos_token_id", "forced_eos_token_id"):
        value = generation.get(key)
        fixed.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int))
    for text in outputs:
        fixed.update(tok.encode(text))
        # The same text after a separator is tokenised with a leading word boundary: allow both forms.
        fixed.update(tok.encode(" " + text))
    labels = SLULabels.load(d)
    for tag in labels.tags() if labels else []:
        if tag not in index:
            raise TandemError(
                f"{d / 'labels.json'}: {len(labels)} labels but the tokenizer has no {tag}; export the "
                "tokenizer the model was fine-tuned with"
            )
        fixed.add(index[tag])
    for piece in extra_tokens:
        if piece not in index:
            raise TandemError(f"extra token {piece!r} is not in the tokenizer of {d}")
        fixed.add(index[piece])
    # CTranslate2 reads the map line by line (tab between key and candidates, spaces between tokens). A
    # piece holding one of these characters cannot be written: the identity rule of tandem's newline piece
    # "\n" became a bare "\t" line, an empty always-allowed list that replaced the real one. Such pieces
    # are left out, so a trimmed model never emits them.
    usable = [p for p in pieces if p and not _MAP_SEPARATORS.intersection(p)]
    listable = set(usable)
    lines = ["\t" + " ".join(pieces[i] for i in sorted(fixed) if i < n and pieces[i] in listable)]
    if copy_source:
        lines += [f"{p}\t{p}" for p in usable]
    out = d / VMAP_FILE
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return TrimReport(str(out), len(fixed), int(meta.get("vocab_size", n)), copy_source)


def remove_trimming(export_dir: str | os.PathLike) -> None:
    """Delete an export's vocabulary map (the model then decodes over its full vocabulary)."""
    (Path(export_dir) / VMAP_FILE).unlink(missing_ok=True)
