"""The edge runtime: a `tandem export --format ct2` directory served by CTranslate2 + SentencePiece, no torch.

One `EdgeModel` owns one CTranslate2 `Translator` (CPU, int8 by default as exported) and the SentencePiece
model. Text goes in and out; token strings are only used at the CTranslate2 boundary.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tandem.errors import InputTooLong, TandemError
from tandem.slu import SLULabels

EDGE_META = "tandem_edge.json"
VMAP_FILE = "vmap.txt"


@dataclass
class Generation:
    """One generated continuation."""

    text: str
    finish_reason: str  # "stop" (EOS or a stop string) or "length"
    input_tokens: int  # tokens the encoder read: [CLM] when added, the text, the source EOS
    output_tokens: int
    score: float | None = None  # cumulative log-probability when asked for


@dataclass
class ChoiceScores:
    """Rank scoring of verbalised choices for one prompt: the best choice has the lowest loss."""

    best: int
    losses: list[float]  # per choice: mean (or summed) negative log-likelihood of the choice + EOS
    logprobs: list[float]  # per choice: summed log-probability
    num_tokens: list[int]


def _as_list(x: str | Sequence[str], what: str) -> tuple[list[str], bool]:
    if isinstance(x, str):
        return [x], True
    if not isinstance(x, Sequence) or not all(isinstance(t, str) for t in x):
        raise TandemError(f"{what}: expected a string or a list of strings")
    return list(x), False


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Text up to the earliest occurrence of any stop string, and whether one occurred."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def tokens_to_stop(decode: Callable[[Sequence[Any]], str], tokens: Sequence[Any], stop: Sequence[str]) -> int:
    """How many of `tokens` were generated up to and including the one that completed a stop string.

    A batch decodes past a row's stop string; counting only these tokens makes the count (the `usage` the
    server reports) the same as for the same input decoded alone, which stops at that token."""
    for k in range(1, len(tokens) + 1):
        if cut_at_stop(decode(tokens[:k]), stop)[1]:
            return k
    return len(tokens)


class EdgeModel:
    """A torch-free seq2seq model for CPU inference over a tandem edge export directory."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        threads: int = 1,
        compute_type: str = "default",
        device: str = "cpu",
        use_vmap: bool | None = None,
    ):
        from tandem.edge.isa import configure_ct2_isa

        configure_ct2_isa()  # before CTranslate2 loads: AVX-512 on AMD parts that have it
        import ctranslate2

        from tandem.tokenizer import Tokenizer  # torch-free; same text handling as the torch path

        self.path = Path(path)
        meta_path = self.path / EDGE_META
        if not meta_path.is_file():
            raise TandemError(
                f"{self.path}: no {EDGE_META}; this is not a tandem edge export "
                "(create one with `tandem export MODEL --format ct2 --out DIR`)"
            )
        self.meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        self.tok = Tokenizer.load(self.path)
        vocab_file = self.path / "shared_vocabulary.json"
        if vocab_file.is_file():
            self.pieces: list[str] = json.loads(vocab_file.read_text(encoding="utf-8"))
        else:  # older CTranslate2 versions write one token per line
            self.pieces = (self.path / "shared_vocabulary.txt").read_text(encoding="utf-8").split("\n")[:-1]
        self.index = {p: i for i, p in enumerate(self.pieces)}
        self.eos_id = int(self.meta["eos_token_id"])
        self.pad_id = int(self.meta["pad_token_id"])
        self.bos_id = self.meta.get("bos_token_id")
        self.clm_id = self.meta.get("clm_token_id")
        self.decoder_start_id = int(self.meta["decoder_start_token_id"])
        self.source_eos = bool(self.meta.get("source_eos", True))
        self.max_positions: int | None = _max_positions(self.meta)
        # Ids that never appear in decoded text (control tokens). Placeholder ids past the SentencePiece
        # pieces (a model vocabulary larger than the tokenizer's) decode as <unk>, as on the torch path.
        self._skip = {
            i for i in (self.eos_id, self.pad_id, self.bos_id, self.decoder_start_id) if i is not None
        }
        self.has_vmap = (self.path / VMAP_FILE).is_file()
        self.use_vmap = self.has_vmap if use_vmap is None else bool(use_vmap)
        if self.use_vmap and not self.has_vmap:
            raise TandemError(
                f"{self.path}: use_vmap=True but there is no {VMAP_FILE}; build one with trim_vocabulary"
            )
        # SLU tag names (labels.json from `tandem finetune --slu-tags`), used by `parse`.
        self.labels: SLULabels | None = SLULabels.load(self.path)
        self.threads = threads
        self.translator = ctranslate2.Translator(
            str(self.path), device=device, compute_type=compute_type, inter_threads=1, intra_threads=threads
        )

    @classmethod
    def load(cls, path: str | os.PathLike, **kwargs: Any) -> EdgeModel:
        """Load an export directory (see `EdgeModel.__init__` for threads/compute_type/use_vmap)."""
        return cls(path, **kwargs)

    # ------------------------------------------------------------------------------------------ tokens
    def encode(self, text: str, *, clm: bool = False) -> list[str]:
        """Source token strings for CTranslate2: optional [CLM] first, then the text, then EOS (as trained).

        Text is tokenised by `tandem.tokenizer.Tokenizer`, exactly as the torch model sees it."""
        ids = self.tok.encode(text)
        if clm:
            if self.clm_id is None:
                raise TandemError(f"{self.path}: this model's tokenizer has no [CLM] token; drop clm=True")
            if not ids or ids[0] != self.clm_id:
                ids = [self.clm_id, *ids]
        if self.source_eos:
            ids = [*ids, self.eos_id]
        return [self.pieces[i] for i in ids]

    def decode(self, tokens: Sequence[str]) -> str:
        """Text of generated token strings: control tokens dropped; ids past the tokenizer's pieces (the
        export's placeholders) read as `<unk>` (" ⁇ ") with one warning, the text `Tokenizer.decode` gives
        on the torch path."""
        ids = [self.index[t] for t in tokens if t in self.index]
        return self.tok.decode([i for i in ids if i not in self._skip])

    def count_tokens(self, text: str, *, clm: bool = False) -> int:
        """Tokens the encoder reads for `text` ([CLM], EOS included as `encode` adds them): the count
        `Generation.input_tokens` and the server's `usage.prompt_tokens` report."""
        return len(self.encode(text, clm=clm))

    def _check_length(self, n: int, what: str) -> None:
        if self.max_positions is not None and n > self.max_positions:
            raise InputTooLong(
                f"{what} of {n} tokens is over this model's {self.max_positions} positions; shorten it"
            )

    # -------------------------------------------------------------------------------------- generation
    def generate(
        self,
        inputs: str | Sequence[str],
        *,
        max_new_tokens: int = 64,
        num_beams: int = 1,
        min_new_tokens: int = 0,
        stop: Sequence[str] | str | None = None,
        clm: bool = False,
        temperature: float = 0.0,
        top_k: int = 0,
        top_p: float = 1.0,
    ) -> str | list[str]:
        """Generated text for one input (a str) or a batch (a list of str). Greedy unless num_beams/temperature."""
        texts, single = _as_list(inputs, "inputs")
        out = [
            g.text
            for g in self.generate_batch(
                texts,
                max_new_tokens=max_new_tokens,
                num_beams=num_beams,
                min_new_tokens=min_new_tokens,
                stop=stop,
                clm=clm,
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
            )
        ]
        return out[0] if single else out

    def generate_batch(
        self,
        texts: Sequence[str],
        *,
        max_new_tokens: int = 64,
        num_beams: int = 1,
        min_new_tokens: int = 0,
        stop: Sequence[str] | str | None = None,
        clm: bool = False,
        temperature: float = 0.0,
        top_k: int = 0,
        top_p: float = 1.0,
        return_scores: bool = False,
    ) -> list[Generation]:
        """One `Generation` per input text, decoded as one CTranslate2 batch."""
        if max_new_tokens < 1:
            raise TandemError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        if num_beams < 1:
            raise TandemError(f"num_beams must be >= 1, got {num_beams}")
        if min_new_tokens < 0:
            raise TandemError(f"min_new_tokens must be >= 0, got {min_new_tokens}")
        if min_new_tokens > max_new_tokens:
            raise TandemError(
                f"min_new_tokens {min_new_tokens} is over max_new_tokens {max_new_tokens}; lower it"
            )
        if temperature < 0:
            raise TandemError(f"temperature must be >= 0 (0 is greedy), got {temperature}")
        if temperature > 0 and num_beams > 1:
            raise TandemError(
                f"num_beams {num_beams} with sampling (temperature {temperature:g}): beam search and "
                "sampling do not combine here; use num_beams=1 or temperature=0"
            )
        if top_k < 0:
            raise TandemError(f"top_k must be >= 0 (0 is no limit), got {top_k}")
        if not 0 < top_p <= 1:
            raise TandemError(f"top_p must be in (0, 1], got {top_p}")
        if stop is not None and not isinstance(stop, str):
            _as_list(stop, "stop")
        if self.max_positions is not None and max_new_tokens > self.max_positions:
            raise TandemError(
                f"max_new_tokens {max_new_tokens} is over this model's {self.max_positions} positions"
            )
        if not texts:
            return []
        stops = [stop] if isinstance(stop, str) else [s for s in (stop or []) if s]
        source = [self.encode(t, clm=clm) for t in texts]
        for src in source:
            self._check_length(len(src), "an input")
        sampling = temperature > 0
        kwargs: dict[str, Any] = dict(
            beam_size=num_beams,
            max_decoding_length=max_new_tokens,
            min_decoding_length=min_new_tokens,
            return_end_token=True,
            return_scores=return_scores,
            max_input_length=0,
            use_vmap=self.use_vmap,
        )
        if sampling:
            kwargs.update(sampling_temperature=temperature, sampling_topk=top_k, sampling_topp=top_p)
        # A single greedy stream stops as soon as a stop string shows up (batches are cut afterwards).
        if stops and len(texts) == 1 and kwargs["beam_size"] == 1:
            seen: list[str] = []

            def _on_token(step) -> bool:
                seen.append(step.token)
                return cut_at_stop(self.decode(seen), stops)[1]

            kwargs["callback"] = _on_token
        results = _positions_checked(self.translator.translate_batch, source, **kwargs)
        gens = []
        eos_piece = self.pieces[self.eos_id]
        for src, res in zip(source, results):
            toks = list(res.hypotheses[0])
            ended = bool(toks) and toks[-1] == eos_piece
            text, stopped = cut_at_stop(self.decode(toks), stops)
            gens.append(
                Generation(
                    text=text,
                    finish_reason="stop" if (ended or stopped) else "length",
                    input_tokens=len(src),
                    output_tokens=tokens_to_stop(self.decode, toks, stops) if stopped else len(toks),
                    score=float(res.scores[0]) if return_scores and res.scores else None,
                )
            )
        return gens

    # ----------------------------------------------------------------------------------------- scoring
    def score_batch(
        self, prompts: Sequence[str], targets: Sequence[str], *, clm: bool = False
    ) -> list[list[float]]:
        """Per-token log-probabilities of each target (then EOS) given its prompt, teacher-forced."""
        if len(prompts) != len(targets):
            raise TandemError(f"score_batch: {len(prompts)} prompts but {len(targets)} targets")
        if not prompts:
            return []
        src = [self.encode(p, clm=clm) for p in prompts]
        tgt = [[self.pieces[i] for i in self.tok.encode(t)] for t in targets]
        for s, t in zip(src, tgt):
            self._check_length(len(s), "a prompt")
            self._check_length(len(t) + 1, "a target (with EOS)")  # the decoder reads start + target
        res = _positions_checked(self.translator.score_batch, src, tgt, max_input_length=0)
        return [list(r.log_probs) for r in res]

    def rank(
        self, prompt: str, choices: Sequence[str], *, normalize: str = "mean", clm: bool = False
    ) -> ChoiceScores:
        """Score each choice as the continuation of `prompt`; the lowest loss wins (AlexaTM's rank scoring)."""
        if normalize not in ("mean", "sum"):
            raise TandemError(f"normalize must be 'mean' or 'sum', got {normalize!r}")
        if isinstance(choices, str):  # a str is a Sequence of characters: never what was meant
            raise TandemError(f"choices: expected a list of strings, got the string {choices!r:.80}")
        choices = list(choices)
        if not all(isinstance(c, str) for c in choices):
            raise TandemError(f"choices: expected a list of strings, got {choices!r:.80}")
        if not choices:
            raise TandemError("rank: give at least one choice")
        scores = self.score_batch([prompt] * len(choices), choices, clm=clm)
        logprobs = [float(sum(s)) for s in scores]
        losses = [-lp / (len(s) if normalize == "mean" else 1) for lp, s in zip(logprobs, scores)]
        best = min(range(len(choices)), key=lambda i: (losses[i], i))
        return ChoiceScores(best, losses, logprobs, [len(s) for s in scores])

    # ---------------------------------------------------------------------------------------------- SLU
    def parse(self, utterances: str | Sequence[str], *, max_new_tokens: int = 64) -> dict | list[dict]:
        """Intent and slots of utterances, decoded greedily and read with `tandem.slu.parse_linearized`.

        A model with a `labels.json` (tag-format SLU) has its tags mapped back to intent/slot names first."""
        texts, single = _as_list(utterances, "utterances")
        gens = self.generate_batch(texts, max_new_tokens=max_new_tokens)
        out = [parse_output(g.text, self.labels) for g in gens]
        return out[0] if single else out

    def __repr__(self) -> str:
        q = self.meta.get("quantization", "?")
        return (
            f"EdgeModel({str(self.path)!r}, quantization={q}, vmap={self.use_vmap}, threads={self.threads})"
        )


def _max_positions(meta: dict[str, Any]) -> int | None:
    """The export's learned-position limit (exports made before it was recorded: from tandem_config)."""
    if "max_positions" in meta:
        return None if meta["max_positions"] is None else int(meta["max_positions"])
    cfg = meta.get("tandem_config") or {}
    return int(cfg["max_positions"]) if cfg.get("position_type") == "learned" else None


def _positions_checked(fn, *args: Any, **kwargs: Any) -> Any:
    """Call CTranslate2, turning its out-of-positions error (an export without a recorded limit) into ours."""
    try:
        return fn(*args, **kwargs)
    except RuntimeError as e:
        if "No position encodings are defined" in str(e):
            raise InputTooLong(f"input or decode longer than this model's positions ({e})") from e
        raise


def parse_output(text: str, labels: SLULabels | None = None) -> dict:
    """The SLU parse of a model output: {"intent", "slots": [{"slot", "value"}], "text"}.

    With `labels`, tag tokens (`<tag_3><tag_17> queen`) are read as the intent and slot names they stand for;
    "text" stays the raw generation."""
    from tandem.slu import parse_linearized

    intent, slots = parse_linearized(labels.to_linearized(text) if labels else text)
    return {"intent": intent, "slots": [{"slot": s, "value": v} for s, v in slots], "text": text}
