"""Hugging Face tokenizers in tandem: reading them (`HFTokenizer`) and writing tandem's for transformers.

Reading. A model directory that holds a Hugging Face tokenizer and no SentencePiece model tandem reads itself
(BART's byte-level BPE: `vocab.json` + `merges.txt` or `tokenizer.json`; mBART's `sentencepiece.bpe.model`,
whose ids fairseq shifts by one; any `tokenizer.json`) is read with `transformers.AutoTokenizer` from the local
files (nothing is downloaded) and wrapped in `HFTokenizer`, which offers the part of `tandem.Tokenizer`
that generation, evaluation, fine-tuning and distillation use. Its ids are the Hugging Face tokenizer's own:
`encode(text, add_eos=True)` is `tok(text).input_ids`, with the model's special-token template (BART:
`<s> ... </s>`; T5: `... </s>`; mBART: `... </s> <src_lang>`); `encode(text)` adds nothing.

Writing. `write_for_transformers` writes a `tokenizer.json` (a `tokenizers` pipeline built from the
SentencePiece model) and a `tokenizer_config.json` beside tandem's `tokenizer.model`, so that
`transformers.AutoTokenizer.from_pretrained(dir)(text).input_ids == tok.encode(text, add_eos=True)`.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tandem.errors import TandemError
from tandem.tokenizer import _coerce_ids, _TokenizerBase, check_config_fields

# What marks a directory as holding a Hugging Face tokenizer (when it has no SentencePiece model tandem reads)
HF_TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "sentencepiece.bpe.model")
_SPACE = "\u2581"  # SentencePiece's whitespace marker
_LANG_CODE = re.compile(r"[a-z]{2,3}_[A-Z]{2}")  # mBART's language codes: en_XX, ro_RO, ...
# symbols `add_symbols` adds with the whitespace after them stripped: a prompt is written "[CLM] text", and
# tandem reads it as [CLM] + the ids of "text" alone (the CLM objective's examples, `split_clm`); a byte-level
# BPE (BART) would otherwise read the space into the text's first token
_RSTRIP_SYMBOLS = frozenset({"[CLM]"})


class UnsupportedByHF(TandemError, AttributeError):
    """What a wrapped Hugging Face tokenizer cannot do (an AttributeError too, so `hasattr` says False)."""


def _transformers():
    try:
        import transformers
    except ImportError as e:
        raise TandemError(
            "this directory holds a Hugging Face tokenizer, which tandem reads through transformers: "
            "pip install 'tandem[interop]' (or transformers)"
        ) from e
    return transformers


def is_hf_tokenizer_dir(directory: Path) -> bool:
    """Whether `directory` holds a Hugging Face tokenizer's files."""
    if any((directory / name).is_file() for name in HF_TOKENIZER_FILES):
        return True
    cfg = directory / "tokenizer_config.json"
    if not cfg.is_file():
        return False
    try:
        meta = json.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("tokenizer_class") not in (None, "tandem.Tokenizer")


class HFTokenizer(_TokenizerBase):
    """A Hugging Face tokenizer behind `tandem.Tokenizer`'s interface; build it with `Tokenizer.load(dir)`.

    Special ids are the tokenizer's (`pad_id` falls back to `eos_id` when it has none); `clm_id`, `doc_id`,
    `newline_id` and tags are found by their pieces (`[CLM]`, `[DOC]`, `"\\n"`, `<tag_i>`), None/0 when
    absent. `decode(..., skip_special_tokens=True)` is the tokenizer's own `decode`, which drops every special
    token it knows (for mBART also the language codes; unlike tandem's tokenizers, also `<unk>`).

    mBART-style tokenizers put the source language code after `</s>` (mBART-50: before the text): `src_lang`
    (initially the tokenizer_config.json's, transformers' default `en_XX`) says which; set it
    (`tok.src_lang = "ro_RO"`) to encode another language. `tgt_lang` frames fine-tuning targets as
    `tok(text_target=...)` does (`target_affixes`); at generation the target language is the model's business
    (its `decoder_start_token_id` or generation_config.json's `forced_bos_token_id`).

    Not available: training (`tandem tokenizer train` makes SentencePiece tokenizers), the SentencePiece
    model itself (`sp`, `model_proto`: edge export and vocabulary trimming read one).
    """

    _units = "tokens"

    is_tandem_layout = False

    def __init__(self, hf: Any, *, source: str = "", newline: str | None = None, meta: dict | None = None):
        self.hf = hf
        self.source = source
        self.meta: dict = dict(meta or {})
        self.num_threads = 1
        self._warned_beyond_vocab = False
        self.vocab_size: int = len(hf)
        self.unk_id: int | None = hf.unk_token_id
        self.bos_id: int | None = hf.bos_token_id
        self.eos_id: int | None = hf.eos_token_id
        pad = hf.pad_token_id
        self.has_pad: bool = pad is not None
        self.pad_id: int | None = pad if pad is not None else self.eos_id
        mask = getattr(hf, "mask_token_id", None)
        self.mask_id: int | None = mask if mask is not None else self._find("[MASK]")
        self._find_symbols()
        self._special_ids = self._specials()
        # does the tokenizer's own template end a text with EOS? (BART, T5, mBART do; some have no template)
        probe = list(hf.encode("a", add_special_tokens=True))
        self._template_eos = self.eos_id is not None and self.eos_id in probe
        if newline is None:
            newline = self.meta.get("newline_replacement")
        if newline is not None and "\n" in newline:
            raise TandemError("the newline replacement must not itself contain a newline")
        self._newline_repl: str | None = newline
        self._affix_cache: dict[tuple, tuple[list[int], list[int]]] = {}

    # -- construction --------------------------------------------------------------------------------

    @classmethod
    def load(cls, directory: str | os.PathLike, newline: str | None = None) -> HFTokenizer:
        """`transformers.AutoTokenizer.from_pretrained(directory, local_files_only=True)`, wrapped."""
        d = Path(directory)
        transformers = _transformers()
        logging = transformers.utils.logging
        verbosity = logging.get_verbosity()
        try:
            # quiet: transformers logs about a tandem config.json beside the tokenizer, which it does not need
            logging.set_verbosity_error()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                hf = transformers.AutoTokenizer.from_pretrained(str(d), local_files_only=True)
        except Exception as e:  # transformers raises ValueError, OSError, KeyError... for what it cannot read
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise TandemError(
                f"{d}: transformers could not load the Hugging Face tokenizer here ({type(e).__name__}: "
                f"{first}); a BART directory needs vocab.json + merges.txt (or tokenizer.json), an mBART one "
                "sentencepiece.bpe.model, each with the tokenizer_config.json (or config.json) naming its class"
            ) from e
        finally:
            logging.set_verbosity(verbosity)
        if isinstance(hf, bool) or not hasattr(hf, "convert_tokens_to_ids"):
            raise TandemError(f"{d}: transformers loaded no text tokenizer from this directory")
        meta: dict = {}
        cfg = d / "tokenizer_config.json"
        if cfg.is_file():
            try:
                raw = json.loads(cfg.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raw = {}
            if isinstance(raw, dict) and isinstance(raw.get("tandem"), dict):
                meta = raw["tandem"]
                check_config_fields(meta, cfg)
        return cls(hf, source=str(d), newline=newline, meta=meta)

    def _specials(self) -> frozenset[int]:
        """`all_special_ids`, and the tokens added as special (`add_symbols`: transformers lists those only
        among its added tokens), which the tokenizer's `decode` skips too."""
        added = getattr(self.hf, "added_tokens_decoder", {}) or {}
        extra = (i for i, t in added.items() if getattr(t, "special", False))
        return frozenset(int(i) for i in (*self.hf.all_special_ids, *extra))

    def add_symbols(self, symbols: Sequence[str]) -> list[int]:
        """Add those of `symbols` this tokenizer lacks as special tokens (never split, never normalised,
        skipped by `decode`), through transformers' `add_tokens`: they take the ids from `vocab_size` on, in
        the order given, and `save` writes them with the tokenizer. The space after `[CLM]` is stripped, so
        that `tok("[CLM] text")` is [CLM] + the ids of "text", as tandem reads such a prompt. Returns the new ids ([] when none was
        missing). The model reading these ids needs rows for them (`Seq2SeqLM.add_token_rows`)."""
        from tokenizers import AddedToken

        missing = [s for s in dict.fromkeys(symbols) if self._find(s) is None]
        if not missing:
            return []
        start = len(self.hf)
        new = [AddedToken(s, special=True, normalized=False, rstrip=s in _RSTRIP_SYMBOLS) for s in missing]
        self.hf.add_tokens(new, special_tokens=True)
        ids = [int(self.hf.convert_tokens_to_ids(s)) for s in missing]
        if ids != list(range(start, start + len(missing))) or len(self.hf) != start + len(missing):
            raise TandemError(
                f"{type(self.hf).__name__}: adding {missing} gave ids {ids}, not {start}..{start + len(missing) - 1}"
            )
        self.vocab_size = len(self.hf)
        self._find_symbols()
        self._special_ids = self._specials()
        self._affix_cache.clear()
        return ids

    @classmethod
    def train(cls, *args: Any, **kwargs: Any) -> Any:
        raise UnsupportedByHF(
            "a Hugging Face tokenizer is not trained by tandem: `tandem tokenizer train` (Tokenizer.train) "
            "makes SentencePiece tokenizers"
        )

    def save(self, directory: str | os.PathLike) -> Path:
        """Write the Hugging Face tokenizer's files (`save_pretrained`) into `directory`."""
        d = Path(directory)
        try:
            d.mkdir(parents=True, exist_ok=True)
            self.hf.save_pretrained(str(d))
            if self._newline_repl is not None:
                cfg_path = d / "tokenizer_config.json"
                cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
                cfg["tandem"] = {"newline_replacement": self._newline_repl}
                cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as e:
            raise TandemError(f"cannot write the tokenizer to {d}: {e.strerror or e}") from e
        return d

    def config(self) -> dict:
        """The special ids and newline policy (as `Tokenizer.config`), and the Hugging Face class."""
        return {
            "tokenizer_class": "transformers.AutoTokenizer",
            "hf_class": type(self.hf).__name__,
            **self._id_config(),
            **({"src_lang": self.src_lang} if self.src_lang is not None else {}),
        }

    # -- what only a SentencePiece tokenizer has -----------------------------------------------------

    def _no_sentencepiece(self, what: str) -> UnsupportedByHF:
        return UnsupportedByHF(
            f"{what} needs a SentencePiece tokenizer; {self.source or 'this tokenizer'} is a Hugging Face "
            f"tokenizer ({type(self.hf).__name__}) read through transformers"
        )

    @property
    def sp(self) -> Any:
        raise self._no_sentencepiece("the SentencePiece processor (edge export, vocabulary trimming)")

    @property
    def model_proto(self) -> bytes:
        raise self._no_sentencepiece("the serialized SentencePiece model (edge export)")

    # -- properties ----------------------------------------------------------------------------------

    @property
    def src_lang(self) -> str | None:
        """mBART-style tokenizers: the language code the template appends to a source; else None."""
        return getattr(self.hf, "src_lang", None)

    @src_lang.setter
    def src_lang(self, lang: str) -> None:
        self._set_lang("src_lang", "source", lang, "en_XX")

    @property
    def tgt_lang(self) -> str | None:
        """mBART-style tokenizers: the language code that frames a target (`target_affixes`, as
        `tok(text_target=...)` writes labels); else None."""
        return getattr(self.hf, "tgt_lang", None)

    @tgt_lang.setter
    def tgt_lang(self, lang: str) -> None:
        self._set_lang("tgt_lang", "target", lang, "ro_RO")

    def _set_lang(self, attr: str, side: str, lang: str, example: str) -> None:
        if not hasattr(self.hf, attr):
            raise TandemError(f"{type(self.hf).__name__} has no {side} language to set")
        if self._find(lang) is None:
            raise TandemError(
                f"{attr} {lang!r} is not a token of this tokenizer (a language code like {example})"
            )
        setattr(self.hf, attr, lang)

    def source_affixes(self) -> tuple[list[int], list[int]]:
        """(ids before, ids after) a source's own ids, as the tokenizer's template frames them in `tok(text)`
        (BART `([<s>], [</s>])`, mBART `([], [</s>, src_lang])`, mBART-50 `([src_lang], [</s>])`)."""
        return self._affixes(False)

    def target_affixes(self) -> tuple[list[int], list[int]]:
        """(ids before, ids after) a target's own ids in labels, as `tok(text_target=...)` frames them (BART
        `([<s>], [</s>])`, mBART `([], [</s>, tgt_lang])`, mBART-50 `([tgt_lang], [</s>])`)."""
        return self._affixes(True)

    def _affixes(self, target: bool) -> tuple[list[int], list[int]]:
        key = (target, self.src_lang, self.tgt_lang)
        if key not in self._affix_cache:
            self._affix_cache[key] = hf_affixes(self.hf, target)
        pre, post = self._affix_cache[key]
        return list(pre), list(post)

    @property
    def language_codes(self) -> list[str]:
        """mBART-style tokenizers: the language codes among its special tokens (`en_XX`, `ro_RO`, ...), in the
        tokenizer's order; [] for a tokenizer without a source language."""
        if self.src_lang is None:
            return []
        return [t for t in self.hf.all_special_tokens if _LANG_CODE.fullmatch(str(t))]

    def language_affixes(self, code: str) -> tuple[tuple[list[int], list[int]], tuple[list[int], list[int]]]:
        """(source affixes, target affixes) of a text in language `code` on both sides, as pretraining frames
        its examples (mBART's denoising: `... </s> code` on both sides; mBART-50: `code ... </s>`). `src_lang`
        and `tgt_lang` are left as they were."""
        has_tgt = hasattr(self.hf, "tgt_lang")
        before = (self.hf.src_lang, getattr(self.hf, "tgt_lang", None))
        try:
            self.src_lang = code
            if has_tgt:
                self.tgt_lang = code
            return self.source_affixes(), self.target_affixes()
        finally:
            self.hf.src_lang = before[0]
            if has_tgt:
                self.hf.tgt_lang = before[1]

    @property
    def newline_mode(self) -> str:
        """ "native" when `\\n` round-trips; else what it becomes (the given replacement, or a space)."""
        if self._newline_repl is not None:
            return self._newline_repl
        ids = self.hf.encode("a\nb", add_special_tokens=False)
        return "native" if self.hf.decode(ids) == "a\nb" else " "

    @property
    def train_stats(self) -> dict:
        return {}

    @property
    def special_ids(self) -> frozenset[int]:
        """The tokenizer's special ids (`all_special_ids`), which `decode` skips by default."""
        return self._special_ids

    def _tag_piece_id(self, piece: str) -> int:
        return int(self.hf.convert_tokens_to_ids(piece))

    def __repr__(self) -> str:
        return (
            f"HFTokenizer({type(self.hf).__name__}, vocab_size={self.vocab_size}, bos={self.bos_id}, "
            f"pad={self.pad_id}, eos={self.eos_id}, unk={self.unk_id}, newline={self.newline_mode!r})"
        )

    # -- encode / decode -----------------------------------------------------------------------------

    def _finish(self, ids: list[int], add_eos: bool, add_bos: bool) -> list[int]:
        if add_eos and not self._template_eos:
            ids = ids + [self.eos_id]
        if add_bos and (not ids or ids[0] != self.bos_id):
            ids = [self.bos_id, *ids]
        return ids

    def _check_specials(self, add_eos: bool, add_bos: bool) -> None:
        if add_eos and self.eos_id is None:
            raise TandemError("add_eos=True but this tokenizer has no EOS token")
        if add_bos and self.bos_id is None:
            raise TandemError("add_bos=True but this tokenizer has no BOS token")

    def encode(self, text: str, add_eos: bool = False, add_bos: bool = False) -> list[int]:
        """Token ids of `text`: with `add_eos`, the tokenizer's special-token template (as `tok(text)`),
        EOS appended when the template has none; `add_bos` puts BOS first when the template did not."""
        self._check_specials(add_eos, add_bos)
        ids = list(self.hf.encode(self._prepare(text), add_special_tokens=add_eos))
        return self._finish(ids, add_eos, add_bos)

    def encode_batch(
        self,
        texts: Sequence[str],
        add_eos: bool = False,
        add_bos: bool = False,
        num_threads: int | None = None,
    ) -> list[list[int]]:
        """`encode` over many texts (a fast tokenizer batches them in its own threads)."""
        self._check_specials(add_eos, add_bos)
        prepared = [self._prepare(t) for t in texts]
        if not prepared:
            return []
        out = self.hf(prepared, add_special_tokens=add_eos)["input_ids"]
        return [self._finish(list(ids), add_eos, add_bos) for ids in out]

    def tokenize(self, text: str) -> list[str]:
        """The pieces `encode` would produce, as strings."""
        return list(self.hf.convert_ids_to_tokens(self.encode(text)))

    def _checked(self, ids: list[int]) -> list[int]:
        n = self.vocab_size
        for pos, i in enumerate(ids):
            if i < 0:
                raise TandemError(
                    f"token id {i} (position {pos}) is out of range for this tokenizer (vocab size {n}); "
                    "the ids come from a different vocabulary, or labels still hold -100"
                )
        if any(i >= n for i in ids):  # a model vocabulary larger than the tokenizer's: see Tokenizer.decode
            if not self._warned_beyond_vocab:
                self._warned_beyond_vocab = True
                pos, i = next((p, i) for p, i in enumerate(ids) if i >= n)
                warnings.warn(
                    f"token id {i} (position {pos}) is past this tokenizer's tokens (vocab size {n}): decoded "
                    "as <unk>; the model's vocabulary is larger than its tokenizer's. Shown once.",
                    UserWarning,
                    stacklevel=3,
                )
            ids = [self.unk_id if i >= n else i for i in ids]
        return ids

    def decode(self, ids: Sequence[int] | Any, skip_special_tokens: bool = True) -> str:
        """Text of `ids`, as the Hugging Face tokenizer decodes them (`skip_special_tokens`: drop the
        tokenizer's special tokens)."""
        ids = self._checked(_coerce_ids(ids))
        return self.hf.decode(ids, skip_special_tokens=skip_special_tokens)

    def id_to_token(self, i: int) -> str:
        i = int(i)
        if not 0 <= i < self.vocab_size:
            raise TandemError(
                f"token id {i} is out of range for this tokenizer (vocab size {self.vocab_size})"
            )
        return self.hf.convert_ids_to_tokens(i)

    def _find(self, *pieces: str) -> int | None:
        for piece in pieces:
            i = self.hf.convert_tokens_to_ids(piece)
            if isinstance(i, int) and 0 <= i < len(self.hf) and self.hf.convert_ids_to_tokens(i) == piece:
                return i
        return None


_AFFIX_PROBE = "a"  # a text whose ids are the same alone and inside the template


def hf_affixes(hf: Any, target: bool = False) -> tuple[list[int], list[int]]:
    """(ids before, ids after) the text's own ids in what a `transformers` tokenizer `hf` gives for `tok(text)`
    (`target`: `tok(text_target=text)`, labels), read by encoding a probe text with and without special
    tokens. EOS is added after when the template has none (as `HFTokenizer.encode(text, add_eos=True)`)."""
    kw = {"text_target": _AFFIX_PROBE} if target else {"text": _AFFIX_PROBE}
    body = list(hf(**kw, add_special_tokens=False)["input_ids"])
    full = list(hf(**kw)["input_ids"])
    eos = hf.eos_token_id
    at = next((i for i in range(len(full) - len(body) + 1) if full[i : i + len(body)] == body), None)
    if not body or at is None:
        raise TandemError(
            f"cannot tell how {type(hf).__name__} frames a text with special tokens: {_AFFIX_PROBE!r} is "
            f"{body} alone and {full} with them"
        )
    pre, post = full[:at], full[at + len(body) :]
    if eos is not None and eos not in full:
        post.append(eos)
    return pre, post


# ---------------------------------------------------------------------------------------------------------
# Writing tandem's SentencePiece tokenizers for transformers
# ---------------------------------------------------------------------------------------------------------


def _pipeline(tok: Any) -> Any:
    """A `tokenizers.Tokenizer` giving `tok.encode(text)`'s ids for a tandem (SentencePiece) tokenizer.

    SentencePiece with `add_dummy_prefix` puts one "▁" before the whole text, then matches user-defined
    symbols anywhere, and tandem drops the lone "▁" before a symbol the text starts with. So: normalise the
    whole text (no symbol is pulled out first: `tokenizers` would then prefix every segment), then cut the
    symbols out as their own words (the model reads a word that is a vocabulary entry as that entry), and
    remove a leading lone "▁" before one. With byte fallback, "<" before "0xHH>" is cut off too, so that the
    text "<0x41>" is not read as the byte piece SentencePiece uses only for bytes it has no piece for."""
    from sentencepiece import sentencepiece_model_pb2 as pb
    from tokenizers import Regex, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers import Tokenizer as Pipeline

    proto = pb.ModelProto()
    proto.ParseFromString(tok.model_proto)
    kind = pb.ModelProto.SentencePiece
    pieces = list(proto.pieces)
    byte_fallback = bool(proto.trainer_spec.byte_fallback)
    if proto.trainer_spec.model_type == pb.TrainerSpec.UNIGRAM:
        model = models.Unigram(
            [(p.piece, p.score) for p in pieces], unk_id=tok.unk_id, byte_fallback=byte_fallback
        )
    elif proto.trainer_spec.model_type == pb.TrainerSpec.BPE:
        vocab = {p.piece: i for i, p in enumerate(pieces)}
        normal = {i for i, p in enumerate(pieces) if p.type == kind.NORMAL}
        merges = []  # ranked as SentencePiece merges: the higher-scoring (earlier) result first
        for i, p in enumerate(pieces):
            if i not in normal:
                continue
            for k in range(1, len(p.piece)):
                a, b = vocab.get(p.piece[:k]), vocab.get(p.piece[k:])
                if a in normal and b in normal:
                    merges.append((i, a, b))
        merges.sort()
        model = models.BPE(
            vocab,
            [(pieces[a].piece, pieces[b].piece) for _, a, b in merges],
            unk_token=pieces[tok.unk_id].piece,
            byte_fallback=byte_fallback,
            fuse_unk=True,  # SentencePiece writes a run of unknown characters as one <unk>
            ignore_merges=True,  # a word that is a vocabulary entry ([CLM], <tag_3>) is that entry
        )
    else:
        raise TandemError(
            f"a {pb.TrainerSpec.ModelType.Name(proto.trainer_spec.model_type).lower()} SentencePiece model "
            "has no Hugging Face tokenizer.json form here (unigram and bpe do)"
        )
    spec = proto.normalizer_spec
    norm = []
    if tok.newline_mode != "native":  # what tandem's encode does before SentencePiece sees the text
        norm.append(normalizers.Replace("\n", tok.newline_mode))
    if spec.name != "identity" and spec.precompiled_charsmap:
        norm.append(normalizers.Precompiled(spec.precompiled_charsmap))
    if spec.remove_extra_whitespaces:
        norm += [normalizers.Strip(left=True, right=True), normalizers.Replace(Regex(" {2,}"), " ")]
    if spec.add_dummy_prefix:
        norm.append(normalizers.Prepend(_SPACE))
    norm.append(normalizers.Replace(" ", _SPACE))
    pipe = Pipeline(model)
    pipe.normalizer = normalizers.Sequence(norm)
    users = sorted((p.piece for p in pieces if p.type == kind.USER_DEFINED), key=len, reverse=True)
    split = []
    if users:
        alt = "|".join(re.escape(u) for u in users)
        # tandem drops the lone prefix before [CLM], [DOC], [MASK], "\n" and tags (`Tokenizer._user_ids`)
        lead = sorted((pieces[i].piece for i in getattr(tok, "_user_ids", ())), key=len, reverse=True)
        if getattr(tok, "_lone_prefix", None) is not None and lead:
            lead_alt = "|".join(re.escape(u) for u in lead)
            split.append(pre_tokenizers.Split(Regex(rf"\A{_SPACE}(?={lead_alt})"), behavior="removed"))
        split.append(pre_tokenizers.Split(Regex(alt), behavior="isolated"))
    if byte_fallback:
        split.append(pre_tokenizers.Split(Regex("<(?=0x[0-9A-F]{2}>)"), behavior="isolated"))
    if split:
        pipe.pre_tokenizer = pre_tokenizers.Sequence(split)
    decode = [decoders.Replace(_SPACE, " "), decoders.ByteFallback(), decoders.Fuse()]
    if spec.add_dummy_prefix:
        decode.append(decoders.Strip(" ", 1, 0))
    pipe.decoder = decoders.Sequence(decode)
    pre, post = tok.source_affixes()  # tandem's `... </s>`; AlexaTM's `<s> ... </s>` as its own template
    if pre or post:
        head, tail = [pieces[i].piece for i in pre], [pieces[i].piece for i in post]
        pipe.post_processor = processors.TemplateProcessing(
            single=" ".join([*head, "$A", *tail]),
            pair=" ".join([*head, "$A", *tail, "$B", *tail]),
            special_tokens=sorted({(pieces[i].piece, i) for i in (*pre, *post)}, key=lambda t: t[1]),
        )
    return pipe


# Texts a written tokenizer is checked on: newlines, [CLM] prompts, tags, whitespace runs, unicode, bytes
PROBE_TEXTS = (
    "Hello world.",
    "[CLM] Sentence: the cat sat on the mat.\nAnswer:",
    "first line\nsecond line\n\nafter a blank line",
    "  two leading spaces, two trailing  ",
    "tabs\tand\tmore",
    "unicode: é ü ß 日本語 🙂 ｆｕｌｌ ﬁ",
    "<tag_0> tagged <tag_1>",
    "x[CLM]y [MASK] [DOC]",
    "\n",
    "",
)


def write_for_transformers(tok: Any, out: str | os.PathLike) -> Path:
    """Write tandem tokenizer `tok` into `out` for both tandem and transformers: tandem's `tokenizer.model`,
    a `tokenizer.json` that reproduces `tok`'s ids, and a `tokenizer_config.json` that transformers reads
    (tandem's own settings kept under its "tandem" key). A wrapped Hugging Face tokenizer writes its own files.

    Checked after writing on `PROBE_TEXTS` when transformers is installed: a text whose ids differ is named in
    a warning. Known differences (see README): a text holding a special token's spelling (`</s>`), which
    transformers reads as that token; stretches that two segmentations score exactly alike (SentencePiece and
    `tokenizers` break the tie differently, unigram models only); text starting with "▁" before a symbol.
    Without `tokenizers` (or for a char/word model) only tandem's files are written, with a warning."""
    if isinstance(tok, HFTokenizer):
        return tok.save(out)
    d = Path(out)
    tok.save(d)
    try:
        from tokenizers import AddedToken  # a dependency of transformers; tandem's interop extra brings both

        pipe = _pipeline(tok)
    except (ImportError, TandemError) as e:  # no tokenizers/protobuf, or a model type with no such form
        why = (
            f"{e}"
            if isinstance(e, TandemError)
            else f"{e.name or e} is not installed (pip install 'tandem[interop]')"
        )
        warnings.warn(
            f"{d}: wrote tandem's tokenizer.model only, no tokenizer.json for transformers: {why}",
            UserWarning,
            stacklevel=2,
        )
        return d
    proto_pieces = [tok.sp.id_to_piece(i) for i in range(tok.vocab_size)]
    specials: dict[str, str] = {}
    for key, i in (("bos_token", tok.bos_id), ("eos_token", tok.eos_id), ("unk_token", tok.unk_id)):
        if i is not None:
            specials[key] = proto_pieces[i]
    if tok.has_pad and tok.pad_id is not None:
        specials["pad_token"] = proto_pieces[tok.pad_id]
    pipe.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials.values()])
    pipe.save(str(d / "tokenizer.json"))
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **specials,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1_000_000_000_000,
        "tandem": tok.config(),
    }
    (d / "tokenizer_config.json").write_text(
        json.dumps(cfg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (d / "special_tokens_map.json").write_text(json.dumps(specials, indent=2, ensure_ascii=False) + "\n")
    mismatched = check_for_transformers(tok, d)
    if mismatched:
        warnings.warn(
            f"{d}: transformers' tokenizer gives other ids than tandem's for {len(mismatched)} of "
            f"{len(PROBE_TEXTS)} check texts, first {mismatched[0]!r}; use tandem's tokenizer.model for "
            "exact ids",
            UserWarning,
            stacklevel=2,
        )
    return d


def check_for_transformers(tok: Any, directory: Path, texts: Sequence[str] = PROBE_TEXTS) -> list[str]:
    """The texts whose `AutoTokenizer.from_pretrained(directory)` ids differ from `tok`'s framed ids
    (`frame(tok.encode(text), tok.source_affixes())`: `... </s>`, AlexaTM's `<s> ... </s>`); [] when
    transformers is not installed (nothing to check with)."""
    try:
        import transformers
    except ImportError:
        return []
    from tandem.tokenizer import frame

    hf = transformers.AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    framing = tok.source_affixes()
    return [t for t in texts if list(hf(t).input_ids) != frame(tok.encode(t), framing)[0]]


__all__ = [
    "HFTokenizer",
    "hf_affixes",
    "write_for_transformers",
    "check_for_transformers",
    "is_hf_tokenizer_dir",
]
