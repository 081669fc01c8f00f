"""The training-time wrapper: a seq2seq model plus its loss, as one module that FSDP2 can shard as root.

The loss needs the LM head weight outside the head's own forward (chunked cross-entropy), so the weight
must be gathered while it is used: computing the loss inside this wrapper's forward, with the wrapper as
the FSDP root, guarantees that.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from tandem.train.loss import LossWorkspace, fused_linear_cross_entropy, shift_right, token_cross_entropy

__all__ = ["Seq2SeqTrainModule"]


class Seq2SeqTrainModule(nn.Module):
    """Wraps a `Seq2SeqLM`-like model; `forward(input_ids, attention_mask, labels, scale, decoder_input_ids)`
    (the decoder input: by default the labels shifted right behind the model's start token) returns
    `(loss, example_loss_sum (B,), example_tokens (B,))`, the last two detached, for per-objective logs.
    What a trainer read on the host before the batch moved spares host syncs on the device: `padded`,
    whether the attention mask masks anything (given to a model whose forward takes it), and `scored`, the
    flat indices of the labels that are not -100 (`tandem.train.loss.scored_index`).

    With `fused_loss` and a model that can skip its logits (`forward(..., compute_logits=False)` returning
    `.decoder_hidden_states`, the LM head input), logits are never materialised in full; otherwise the
    model's logits feed a plain cross-entropy. `compile_loss` compiles the fused loss's per-chunk math
    (set with the trainer's compile switch). On CPU the fused loss computes in a block this module keeps
    (`loss_workspace`: one (chunk, V) fp32 block, ~16 MiB by default).
    """

    def __init__(
        self,
        model: nn.Module,
        fused_loss: bool = True,
        chunk_tokens: int | None = None,
        compile_loss: bool = False,
    ):
        super().__init__()
        self.model = model
        self.chunk_tokens = chunk_tokens
        self.compile_loss = compile_loss
        self.loss_workspace = LossWorkspace()  # the fused loss's CPU block, reused from step to step
        params = inspect.signature(model.forward).parameters
        self.fused_loss = bool(fused_loss) and "compute_logits" in params and hasattr(model, "lm_head")
        self.takes_padded = "padded" in params
        cfg = getattr(model, "config", None)
        self.start_id = int(getattr(cfg, "decoder_start_token_id", 2))
        self.pad_id = int(getattr(cfg, "pad_token_id", 1))

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None,
        labels: torch.Tensor,
        scale: float | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        padded: bool | None = None,
        scored: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # a batch whose rows start from tokens of their own (mBART-cc25) gives its decoder input
        if decoder_input_ids is None:
            decoder_input_ids = shift_right(labels, self.start_id, self.pad_id)
        known = {"padded": padded} if padded is not None and self.takes_padded else {}
        if self.fused_loss:
            out = self.model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                decoder_input_ids=decoder_input_ids,
                compute_logits=False,
                **known,
            )
            hidden = out.decoder_hidden_states
            scale_h = float(getattr(self.model.config, "lm_head_scale", 1.0))
            if scale_h != 1.0:
                hidden = hidden * scale_h
            head = self.model.lm_head
            bias = head.bias if getattr(head, "bias", None) is not None else None
            extra = getattr(self.model, "final_logits_bias", None)
            if extra is not None:
                extra = extra.reshape(-1)
                bias = extra if bias is None else bias + extra
            loss, losses, valid = fused_linear_cross_entropy(
                hidden,
                head.weight,
                labels,
                bias=bias,
                scale=scale,
                chunk_tokens=self.chunk_tokens,
                compiled=self.compile_loss,
                scored=scored,
                workspace=self.loss_workspace,
            )
        else:
            out = self.model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                decoder_input_ids=decoder_input_ids,
                **known,
            )
            loss, losses, valid = token_cross_entropy(out.logits, labels, scale=scale, scored=scored)
        # the scored tokens are row-major, ex_tok of row r in a row: their rows without another nonzero
        # (a host sync on GPU), as the number of losses is known here
        b = labels.shape[0]
        ex_tok = valid.sum(1)
        rows = torch.repeat_interleave(
            torch.arange(b, device=labels.device), ex_tok, output_size=losses.shape[0]
        )
        ex_loss = torch.zeros(b, dtype=losses.dtype, device=labels.device).index_add_(0, rows, losses)
        return loss, ex_loss, ex_tok
