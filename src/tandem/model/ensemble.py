"""An ensemble of seq2seq models that share a vocabulary, used as one model: the mean of their next-token
probabilities.

Its main use is as a distillation teacher (Hinton et al. 2015, "Distilling the knowledge in a neural
network", §3: an ensemble's averaged predictions are a better teacher than any of its members, and the
student then runs at one member's cost or less). `forward` returns log-probabilities where a model
returns logits, so everything that applies a softmax (KL at a temperature, top-k caching, scoring) reads
them unchanged; `generate` decodes with all members together (greedy, sampling, beam search).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tandem.errors import TandemError
from tandem.model.seq2seq import Seq2SeqLM, Seq2SeqOutput, shift_right

# What must agree between members for their distributions to be averaged token by token.
_SHARED = ("vocab_size", "pad_token_id", "eos_token_id", "bos_token_id", "decoder_start_token_id")


class Ensemble(nn.Module):
    """Members' mean next-token probability. `config` is the first member's (the shared ids and vocabulary
    are checked to agree); `members` may differ in every other respect (width, depth, training run)."""

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        if len(members) < 2:
            raise TandemError(f"an ensemble needs at least two models; got {len(members)}")
        first = members[0].config
        for k, m in enumerate(members[1:], start=2):
            for field in _SHARED:
                a, b = getattr(first, field), getattr(m.config, field)
                if a != b:
                    raise TandemError(
                        f"ensemble member {k} has {field}={b} but member 1 has {a}: members must share "
                        "one tokenizer (the same vocabulary and special token ids)"
                    )
        self.members = nn.ModuleList(members)
        self.config = first

    @classmethod
    def from_pretrained(
        cls, paths: Sequence[str], device: str | torch.device = "cpu", dtype: torch.dtype | None = None
    ) -> Ensemble:
        """Load each path with `Seq2SeqLM.from_pretrained` (tandem, Hugging Face or AlexaTM directories)."""
        return cls([Seq2SeqLM.from_pretrained(p, device=device, dtype=dtype) for p in paths])

    @property
    def device(self) -> torch.device:
        return self.members[0].device

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool = False,
        **kwargs,
    ) -> Seq2SeqOutput:
        """`logits` are log mean probabilities (B, T, V), float32; `loss` is their cross-entropy on `labels`."""
        if output_hidden_states:
            raise TandemError(
                "an ensemble has no single hidden state to match: use hidden-state distillation with one "
                "teacher model, or set the hidden-state loss weight to 0"
            )
        if decoder_input_ids is None and labels is not None:  # shifted once; members compute no loss
            c = self.config
            decoder_input_ids = shift_right(labels, c.decoder_start_token_id, c.pad_token_id)
        logps = [
            F.log_softmax(
                m(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    decoder_input_ids=decoder_input_ids,
                    **kwargs,
                ).logits.float(),
                -1,
            )
            for m in self.members
        ]
        logits = torch.stack(logps).logsumexp(0) - math.log(len(logps))
        loss = None
        if labels is not None:
            loss = F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100
            )
        return Seq2SeqOutput(logits=logits, loss=loss)

    @torch.no_grad()
    def generate(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **kwargs
    ) -> torch.Tensor:
        """Decoding with the members' mean probability; the options of `tandem.model.generation.generate`.

        Options not passed come from `config.generation` (the first member's decoding defaults, e.g. read
        from a Hugging Face generation_config.json), then from `generate`'s own defaults."""
        from tandem.model.generation import generate, with_model_defaults

        return generate(self, input_ids, attention_mask, **with_model_defaults(self.config, kwargs))
