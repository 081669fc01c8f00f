"""A thin view of an encoder-decoder + tokenizer that prompting needs: encode once, decode many.

Works with `tandem.Seq2SeqLM` (cross-attention keys/values computed once per source and shared by every
continuation) and with Hugging Face seq2seq models (encoder states shared), and with a tandem
`Tokenizer` or a Hugging Face tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from tandem.errors import TandemError


class TextTokenizer:
    """Uniform tokenizer view: `encode` never adds special tokens; ids of EOS/pad/[CLM] (None when absent)."""

    def __init__(self, tok: Any) -> None:
        self.tok = tok
        self.is_hf = hasattr(tok, "convert_tokens_to_ids") and not hasattr(tok, "sp")
        if self.is_hf:
            self.eos_id = tok.eos_token_id
            self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
            clm = tok.convert_tokens_to_ids("[CLM]")
            self.clm_id = None if clm is None or clm == tok.unk_token_id else clm
        else:
            self.eos_id = tok.eos_id
            self.pad_id = tok.pad_id
            self.clm_id = getattr(tok, "clm_id", None)

    def encode(self, text: str) -> list[int]:
        if self.is_hf:
            return list(self.tok.encode(text, add_special_tokens=False))
        return list(self.tok.encode(text))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if not self.is_hf and hasattr(self.tok, "encode_batch"):
            return [list(x) for x in self.tok.encode_batch(list(texts))]
        return [self.encode(t) for t in texts]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=True)


@dataclass
class Memory:
    """What the decoder reads for a batch of sources: tandem cross K/V per layer, or HF encoder states."""

    kv: list[tuple[torch.Tensor, torch.Tensor]] | None
    states: torch.Tensor | None
    mask: torch.Tensor  # (B, S) 1 = real token

    def select(self, index: torch.Tensor) -> Memory:
        """Rows `index` (with repeats): one copy of a source per continuation scored against it."""
        kv = [(k.index_select(0, index), v.index_select(0, index)) for k, v in self.kv] if self.kv else None
        states = self.states.index_select(0, index) if self.states is not None else None
        return Memory(kv, states, self.mask.index_select(0, index))


class EncoderDecoder:
    """Model view used by rank scoring and generation."""

    def __init__(self, model: Any, tokenizer: Any, add_eos: bool = True) -> None:
        self.model = model.eval()
        self.tok = tokenizer if isinstance(tokenizer, TextTokenizer) else TextTokenizer(tokenizer)
        self.is_tandem = hasattr(model, "decoder") and hasattr(model.decoder, "cross_kv")
        cfg = model.config
        self.add_eos = add_eos
        if self.is_tandem:
            self.pad_id = cfg.pad_token_id
            self.start_id = cfg.decoder_start_token_id
            self.eos_id = cfg.eos_token_id
            learned = getattr(cfg, "position_type", "learned") == "learned"
            self.max_source_len = cfg.max_positions if learned else None
            self.max_target_len = cfg.max_positions if learned else None
        else:
            self.pad_id = cfg.pad_token_id
            self.start_id = cfg.decoder_start_token_id
            self.eos_id = cfg.eos_token_id
            n = getattr(cfg, "max_position_embeddings", None)
            self.max_source_len = n
            self.max_target_len = n
        if self.pad_id is None:
            self.pad_id = self.tok.pad_id if self.tok.pad_id is not None else 0
        if self.start_id is None:
            raise TandemError("the model config has no decoder_start_token_id; set it in config.json")

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def source_ids(self, text: str) -> list[int]:
        """Encoder input ids: an `[CLM] ` prefix becomes the [CLM] token when the vocabulary has one, else
        it is left out (models without the token were never trained with it); EOS appended if add_eos."""
        prefix = []
        if text.startswith("[CLM]"):
            text = text[len("[CLM]") :].lstrip(" ")
            if self.tok.clm_id is not None:
                prefix = [self.tok.clm_id]
        ids = prefix + self.tok.encode(text)
        if self.add_eos and self.eos_id is not None:
            ids.append(self.eos_id)
        return ids

    def pad(self, seqs: Sequence[Sequence[int]], value: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-pad to (B, L) ids and a (B, L) 1/0 mask."""
        L = max(1, max((len(s) for s in seqs), default=1))
        ids = torch.full((len(seqs), L), value, dtype=torch.long)
        mask = torch.zeros((len(seqs), L), dtype=torch.long)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(list(s), dtype=torch.long)
            mask[i, : len(s)] = 1
        dev = self.device
        return ids.to(dev), mask.to(dev)

    @torch.inference_mode()
    def encode(self, sources: Sequence[Sequence[int]]) -> Memory:
        ids, mask = self.pad(sources, self.pad_id)
        if self.is_tandem:
            states = self.model.encode(ids, mask)
            return Memory(self.model.decoder.cross_kv(states), None, mask)
        states = self.model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state
        return Memory(None, states, mask)

    @torch.inference_mode()
    def decoder_logprobs(self, memory: Memory, dec_in: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Log-softmax over the vocabulary at the (row, t) `positions` (M, 2) of decoder inputs (N, T): (M, V)."""
        rows, cols = positions[:, 0], positions[:, 1]
        if self.is_tandem:
            m = memory.mask
            hidden, _ = self.model.decoder(dec_in, memory.kv, encoder_attention_mask=m)
            # the LM head only where a continuation token is scored: padding costs no V-sized matmul
            logits = self.model.project(hidden[rows, cols])
        else:
            from transformers.modeling_outputs import BaseModelOutput

            out = self.model(
                encoder_outputs=BaseModelOutput(last_hidden_state=memory.states),
                attention_mask=memory.mask,
                decoder_input_ids=dec_in,
            )
            logits = out.logits[rows, cols]
        return torch.log_softmax(logits.float(), dim=-1)
