"""What the server runs requests on: a small Backend protocol and its edge (CTranslate2) and torch versions.

Backends are synchronous and called from one worker thread with whole micro-batches; they never see HTTP.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tandem.edge.runtime import Generation, cut_at_stop, tokens_to_stop
from tandem.errors import InputTooLong, TandemError, check_threads, model_dir_error
from tandem.slu import SLULabels


@dataclass(frozen=True)
class GenerateParams:
    """Decoding settings; requests with equal params share one batch. None: the model's decoding default
    (its `generation`, e.g. a fine-tuned model's dev-scoring limit), else tandem's (64 new tokens, or the
    model's learned positions when fewer; one beam; no minimum)."""

    max_new_tokens: int | None = None
    num_beams: int | None = None
    min_new_tokens: int | None = None
    stop: tuple[str, ...] = ()
    clm: bool = False
    temperature: float = 0.0
    top_k: int | None = None  # None: the model's default, else 0 (no filter)
    top_p: float = 1.0
    # None: the model's (Seq2SeqLM.generate, as transformers: False; CTranslate2's beam search ends as True)
    early_stopping: bool | None = None
    # transformers' token bans (None: the model's; empty: off)
    bad_words_ids: tuple[tuple[int, ...], ...] | None = None
    suppress_tokens: tuple[int, ...] | None = None
    begin_suppress_tokens: tuple[int, ...] | None = None

    def bans(self) -> dict[str, Any]:
        """The token bans a request sets, as lists (those it leaves out are not in the dict)."""
        return {
            k: [list(w) for w in v] if k == "bad_words_ids" else list(v)
            for k in ("bad_words_ids", "suppress_tokens", "begin_suppress_tokens")
            if (v := getattr(self, k)) is not None
        }


@runtime_checkable
class Backend(Protocol):
    """A model the server can batch requests onto."""

    name: str  # shown in responses and /healthz
    kind: str  # "edge" or "torch"
    labels: SLULabels | None  # SLU tag names (labels.json) for /v1/parse, None for plain-text parses

    def generate(self, texts: list[str], params: GenerateParams) -> list[Generation]:
        """One Generation per text; its input_tokens (the server's usage.prompt_tokens) counts the tokens
        the encoder reads: [CLM] when added, the text, and the source EOS the model was trained with."""
        ...

    def score(
        self, prompts: list[str], targets: list[str], clm: bool, sequence: bool = False
    ) -> list[list[float]]:
        """Per-token log-probabilities of each target given its prompt, read after what the model is forced to
        emit before them (the decoder start token, then a forced first token when its decoding forces one:
        mBART-50's language code, BART-large's `<s>`; never scored). A target is the prompt's continuation,
        its tokens in the prompt's context and no EOS: the tokens `tandem evaluate` scores a choice by;
        `sequence`: a whole output, encoded alone, then EOS (see `EdgeModel.score_batch`)."""
        ...

    def default(self, name: str) -> Any:
        """The model's own decoding default for `name` (e.g. "max_new_tokens", "num_beams"), None if unset."""
        ...


class EdgeBackend:
    """The torch-free runtime (`tandem.edge.EdgeModel`) over a CTranslate2 export."""

    kind = "edge"

    def __init__(self, path: str | os.PathLike, threads: int = 1, use_vmap: bool | None = None):
        from tandem.edge import EdgeModel

        self.model = EdgeModel.load(path, threads=threads, use_vmap=use_vmap)
        self.name = _model_name(path)
        self.labels = self.model.labels
        self.vocab_size = len(self.model.pieces)
        self.max_positions = self.model.max_positions  # learned decoder positions; None: no limit

    def default(self, name: str) -> Any:
        return None if self.model.generation_defaults == "off" else self.model.generation.get(name)

    def generate(self, texts: list[str], params: GenerateParams) -> list[Generation]:
        return self.model.generate_batch(
            texts,
            max_new_tokens=params.max_new_tokens,
            num_beams=params.num_beams,
            min_new_tokens=params.min_new_tokens,
            stop=list(params.stop),
            clm=params.clm,
            temperature=params.temperature,
            top_k=params.top_k,
            top_p=params.top_p,
            early_stopping=params.early_stopping,
            **params.bans(),
        )

    def score(
        self, prompts: list[str], targets: list[str], clm: bool, sequence: bool = False
    ) -> list[list[float]]:
        return self.model.score_batch(prompts, targets, clm=clm, sequence=sequence)


class TorchBackend:
    """tandem's PyTorch model (`tandem.model.Seq2SeqLM` + `tandem.tokenizer.Tokenizer`) on CPU or GPU."""

    kind = "torch"

    def __init__(self, path: str | os.PathLike, threads: int = 1, device: str | None = None):
        import torch

        from tandem.model import Seq2SeqLM
        from tandem.tokenizer import Tokenizer

        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = Seq2SeqLM.from_pretrained(path).to(self.device).eval()
        self.tok = Tokenizer.load(path)
        self.tok.check_fits(self.model.config.vocab_size, f"the model in {path}")
        self.name = _model_name(path)
        self.labels = SLULabels.load(path)
        cfg = self.model.config
        self.vocab_size = cfg.vocab_size
        self.pad_id, self.eos_id = int(cfg.pad_token_id), int(cfg.eos_token_id)
        self.max_positions = cfg.max_positions if cfg.position_type == "learned" else None

    def _check_length(self, n: int, what: str) -> None:
        if self.max_positions is not None and n > self.max_positions:
            raise InputTooLong(
                f"{what} of {n} tokens is over this model's {self.max_positions} positions; shorten it"
            )

    def _encode(self, texts: list[str], clm: bool):
        torch = self.torch
        from tandem.tokenizer import affixes, frame

        rows = []
        framing = affixes(self.tok)  # as `tok(text)`: tandem's EOS after, BART's <s> ... </s>, mBART's code
        for t in texts:
            ids = self.tok.encode(t)
            if clm:
                if self.tok.clm_id is None:
                    raise TandemError("this model's tokenizer has no [CLM] token; drop clm")
                if not ids or ids[0] != self.tok.clm_id:
                    ids = [self.tok.clm_id, *ids]
            ids = frame(ids, framing)[0]
            self._check_length(len(ids), "an input")
            rows.append(ids)
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        return ids.to(self.device), mask.to(self.device), [len(r) for r in rows]

    def default(self, name: str) -> Any:
        return (self.model.config.generation or {}).get(name)

    def generate(self, texts: list[str], params: GenerateParams) -> list[Generation]:
        max_new = params.max_new_tokens
        if max_new is None:  # the model's default, else the edge runtime's (64, or fewer positions)
            max_new = (self.model.config.generation or {}).get("max_new_tokens")
            if max_new is None:
                max_new = 64 if self.max_positions is None else min(64, self.max_positions)
        if self.max_positions is not None and max_new > self.max_positions:
            raise TandemError(f"max_new_tokens {max_new} is over this model's {self.max_positions} positions")
        ids, mask, lengths = self._encode(texts, params.clm)
        sampling = params.temperature > 0
        # settings left out (None) are not passed: Seq2SeqLM.generate takes the model's defaults for them
        given = {
            "num_beams": params.num_beams,
            "min_new_tokens": params.min_new_tokens,
            "top_k": params.top_k,
            "early_stopping": params.early_stopping,
        }
        with self.torch.inference_mode():
            out = self.model.generate(
                ids,
                attention_mask=mask,
                max_new_tokens=max_new,
                do_sample=sampling,
                temperature=params.temperature if sampling else 1.0,
                top_p=params.top_p,
                eos_token_id=self.eos_id,
                stop_strings=list(params.stop) or None,
                tokenizer=self.tok,
                **{k: v for k, v in given.items() if v is not None},
                **params.bans(),
            )
        gens = []
        forced = (self.model.config.generation or {}).get("forced_eos_token_id") is not None
        for row, n_in in zip(out.tolist(), lengths):
            row = row[1:]  # the decoder start token
            has_eos = ended = self.eos_id in row
            if has_eos:
                # an EOS forced at the length limit (a checkpoint's forced_eos_token_id): the row ran to
                # the limit, so it finishes with "length", as the edge runtime reports it
                ended = not (forced and row.index(self.eos_id) == max_new - 1)
                row = row[: row.index(self.eos_id)]
            text, stopped = cut_at_stop(self.tok.decode(row), params.stop)
            # a row stopped by a stop string is padded up to the batch's longest: count its own tokens only
            n_out = tokens_to_stop(self.tok.decode, row, params.stop) if stopped else len(row) + int(has_eos)
            gens.append(Generation(text, "stop" if ended or stopped else "length", n_in, n_out))
        return gens

    def score(
        self, prompts: list[str], targets: list[str], clm: bool, sequence: bool = False
    ) -> list[list[float]]:
        torch = self.torch
        from tandem.decoding import forced_first_token
        from tandem.edge.runtime import describe_target
        from tandem.tokenizer import scored_target_ids

        ids, mask, _ = self._encode(prompts, clm)
        # a continuation's tokens in its prompt's context (a sequence's alone, then EOS; never the labels'
        # framing: BART's <s>, mBART-cc25's trailing code), after the start token and the token the model's
        # decoding forces first, as it generates and as evaluate scores; the forced token is read, not scored
        forced = forced_first_token(self.model.config)
        lead = [] if forced is None else [forced]
        texts = scored_target_ids(lambda ts: [self.tok.encode(t) for t in ts], prompts, targets, sequence)
        tgts = [[*lead, *t, *([self.eos_id] if sequence else [])] for t in texts]
        for t in tgts:
            self._check_length(len(t), describe_target(sequence, bool(lead)))
        width = max(len(t) for t in tgts)
        labels = torch.full((len(tgts), width), -100, dtype=torch.long)
        for i, t in enumerate(tgts):
            labels[i, : len(t)] = torch.tensor(t)
        labels = labels.to(self.device)
        with torch.inference_mode():
            logits = self.model(input_ids=ids, attention_mask=mask, labels=labels).logits.float()
        logp = torch.log_softmax(logits, dim=-1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        return [logp[i, len(lead) : len(t)].tolist() for i, t in enumerate(tgts)]


def _model_name(path: str | os.PathLike) -> str:
    """The name a model is served under: its folder's name as given, "." and ".." made absolute (they named
    it ""), a symlink's own name (`models/student` -> `runs/x/final` is "student", not "final")."""
    return Path(os.path.abspath(path)).name


def load_backend(model: str | os.PathLike, kind: str = "edge", threads: int = 1) -> Backend:
    """The backend for a model directory: "edge" needs a `tandem export --format ct2` dir, "torch" a tandem dir."""
    path = Path(model)
    if not path.is_dir():
        raise model_dir_error(path)
    check_threads(threads, "serve setting threads")
    if kind == "edge":
        if not (path / "tandem_edge.json").is_file():
            raise TandemError(
                f"{path} is not an edge export; run `tandem export {path} --format ct2 --out DIR` "
                "and serve DIR, or use --backend torch"
            )
        return EdgeBackend(path, threads=threads)
    if kind == "torch":
        return TorchBackend(path, threads=threads)
    raise TandemError(f"--backend {kind!r}: choose edge or torch")
