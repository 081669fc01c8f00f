"""`Seq2SeqLM`: the encoder-decoder, readable top to bottom. No I/O and no training logic in here.

Shapes: B batch, S source length, T target length, D d_model, V vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from tandem.config import ModelConfig
from tandem.model.layers import DecoderLayer, EncoderLayer, RelativePositionBias, make_norm


@dataclass
class Seq2SeqOutput:
    logits: torch.Tensor | None  # (B, T, V); None when forward(compute_logits=False)
    loss: torch.Tensor | None = None  # mean cross-entropy over labels != -100
    encoder_hidden_states: torch.Tensor | None = None  # (B, S, D), final encoder output
    decoder_hidden_states: torch.Tensor | None = None  # (B, T, D), input of the LM head
    encoder_layer_states: list[torch.Tensor] | None = None  # embeddings, then each layer's output
    decoder_layer_states: list[torch.Tensor] | None = None


def to_residual(x: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    """The residual stream in `dtype` while autocast runs on x's device (None, or no autocast: unchanged).
    Under bf16 autocast the stream is fp32 by default (a norm's output is fp32, so each residual sum is);
    a bf16 stream halves the bytes every elementwise kernel between the GEMMs reads and writes, as in
    Megatron-LM's default and in FSDP2 with bf16 parameters."""
    if dtype is None or x.dtype == dtype or not torch.is_autocast_enabled(x.device.type):
        return x
    return x.to(dtype)


def padding_mask(
    attention_mask: torch.Tensor | None, dtype: torch.dtype, padded: bool | None = None
) -> torch.Tensor | None:
    """(B, S) 1/0 keep mask -> additive (B, 1, 1, S) mask; None when nothing is masked. `padded`: whether the
    mask masks anything, where the caller knows (None: checked here, a host sync on GPU)."""
    if attention_mask is None:
        return None
    if padded is None:
        padded = not bool(attention_mask.all())
    if not padded:
        return None
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def source_positions(attention_mask: torch.Tensor | None, S: int, device: torch.device) -> torch.Tensor:
    """Positions 0.. of the real tokens of each row, for right *and* left padding: (B or 1, S)."""
    pos = torch.arange(S, device=device)[None, :]
    if attention_mask is None:
        return pos
    left_pad = (attention_mask.cumsum(-1) == 0).sum(-1, keepdim=True)
    return (pos - left_pad).clamp(min=0)


class Encoder(nn.Module):
    def __init__(self, config: ModelConfig, embed_tokens: nn.Embedding):
        super().__init__()
        c = config
        self.config = c
        self.embed_tokens = embed_tokens
        self.embed_positions = (
            nn.Embedding(c.max_positions + c.encoder_position_offset, c.d_model)
            if c.position_type == "learned"
            else None
        )
        self.embed_token_types = nn.Embedding(c.type_vocab_size, c.d_model) if c.type_vocab_size else None
        self.embed_norm = make_norm(c) if c.embedding_norm else None
        self.relative_bias = (
            RelativePositionBias(c, bidirectional=True) if c.position_type == "relative" else None
        )
        self.layers = nn.ModuleList(EncoderLayer(c) for _ in range(c.encoder_layers))
        self.final_norm = make_norm(c) if c.final_norm else None
        self.gradient_checkpointing = False
        self.residual_dtype: torch.dtype | None = None  # see to_residual

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        output_hidden_states: bool = False,
        padded: bool | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        """`padded`: whether `attention_mask` masks anything, where the caller knows (None: checked here)."""
        c = self.config
        B, S = input_ids.shape
        x = self.embed_tokens(input_ids) * c.embed_scale
        if self.embed_positions is not None:
            if S > c.max_positions:
                raise ValueError(f"source length {S} exceeds max_positions {c.max_positions}")
            x = x + self.embed_positions(
                source_positions(attention_mask, S, x.device) + c.encoder_position_offset
            )
        if self.embed_token_types is not None:
            types = token_type_ids if token_type_ids is not None else torch.zeros_like(input_ids)
            x = x + self.embed_token_types(types)
        if self.embed_norm is not None:
            x = self.embed_norm(x)
        x = to_residual(F.dropout(x, c.dropout, self.training), self.residual_dtype)

        mask = padding_mask(attention_mask, x.dtype, padded)
        if self.relative_bias is not None:
            bias = self.relative_bias(S, S).to(x.dtype)
            mask = bias if mask is None else bias + mask
        states = [x] if output_hidden_states else None
        for layer in self.layers:
            if self.gradient_checkpointing and self.training:
                x = checkpoint(layer, x, mask, use_reentrant=False)
            else:
                x = layer(x, mask)
            x = to_residual(x, self.residual_dtype)  # a post-LN layer ends with a norm (fp32 under autocast)
            if states is not None:
                states.append(x)
        if self.final_norm is not None:
            x = F.dropout(self.final_norm(x), c.dropout, self.training)
        return x, states


class Decoder(nn.Module):
    def __init__(self, config: ModelConfig, embed_tokens: nn.Embedding):
        super().__init__()
        c = config
        self.config = c
        self.embed_tokens = embed_tokens
        self.embed_positions = (
            nn.Embedding(c.max_positions + c.decoder_position_offset, c.d_model)
            if c.position_type == "learned"
            else None
        )
        self.embed_norm = make_norm(c) if c.embedding_norm else None
        self.relative_bias = (
            RelativePositionBias(c, bidirectional=False) if c.position_type == "relative" else None
        )
        self.layers = nn.ModuleList(DecoderLayer(c) for _ in range(c.decoder_layers))
        self.final_norm = make_norm(c) if c.final_norm else None
        self.gradient_checkpointing = False
        self.residual_dtype: torch.dtype | None = None  # see to_residual

    def cross_kv(self, encoder_states: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each layer's cross-attention keys and values, computed once per source."""
        return [layer.cross_attn.project_kv(encoder_states) for layer in self.layers]

    def forward(
        self,
        input_ids: torch.Tensor,
        cross_kv: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        cache: list[dict[str, torch.Tensor]] | None = None,
        past_length: int = 0,
        output_hidden_states: bool = False,
        encoder_states: torch.Tensor | None = None,
        positions: torch.Tensor | None = None,
        tree_mask: torch.Tensor | None = None,
        encoder_padded: bool | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        """input_ids (B, T) continue `past_length` cached positions; returns (B, T, D) before the LM head.
        `encoder_padded`: whether `encoder_attention_mask` masks anything, where the caller knows.

        Cross-attention reads `cross_kv` (from `cross_kv()`, computed once when decoding step by step) or,
        when that is None, each layer projects `encoder_states` itself.

        Tree decoding (several continuations of one source in one row, shared prefixes computed once):
        `tree_mask` (B, T, T) bool says which keys each query may attend to (its ancestors and itself) and
        `positions` (B, T) each token's position in its own sequence; no cache, no `attention_mask`."""
        if cross_kv is None and encoder_states is None:
            raise ValueError("the decoder needs cross_kv or encoder_states")
        if tree_mask is not None and (positions is None or cache is not None or past_length):
            raise ValueError("tree_mask needs positions and works without a cache")
        c = self.config
        B, T = input_ids.shape
        x = self.embed_tokens(input_ids) * c.embed_scale
        if self.embed_positions is not None:
            if positions is not None:
                if positions.numel() and int(positions.max()) >= c.max_positions:
                    raise ValueError(f"target position {int(positions.max())} exceeds max_positions")
                x = x + self.embed_positions(positions + c.decoder_position_offset)
            else:
                if past_length + T > c.max_positions:
                    raise ValueError(
                        f"target length {past_length + T} exceeds max_positions {c.max_positions}"
                    )
                pos = torch.arange(past_length, past_length + T, device=x.device) + c.decoder_position_offset
                x = x + self.embed_positions(pos)[None]
        if self.embed_norm is not None:
            x = self.embed_norm(x)
        x = to_residual(F.dropout(x, c.dropout, self.training), self.residual_dtype)

        # Self-attention mask: causal over [past; new], plus relative bias and target padding when given.
        L = past_length + T
        need_explicit = (
            self.relative_bias is not None or attention_mask is not None or (past_length and T > 1)
        )
        self_mask, is_causal = None, False
        if tree_mask is not None:
            self_mask = torch.zeros(B, 1, T, T, dtype=x.dtype, device=x.device)
            self_mask = self_mask.masked_fill(~tree_mask[:, None], torch.finfo(x.dtype).min)
            if self.relative_bias is not None:
                self_mask = self_mask + self.relative_bias.pairwise(positions).to(x.dtype)
        elif need_explicit:
            q_pos = torch.arange(past_length, L, device=x.device)[:, None]
            k_pos = torch.arange(L, device=x.device)[None, :]
            self_mask = torch.zeros(T, L, dtype=x.dtype, device=x.device)
            self_mask = self_mask.masked_fill(k_pos > q_pos, torch.finfo(x.dtype).min)[None, None]
            if self.relative_bias is not None:
                self_mask = self_mask + self.relative_bias(T, L, q_offset=past_length).to(x.dtype)
            pad = padding_mask(attention_mask, x.dtype)
            if pad is not None:
                self_mask = self_mask + pad
        elif T > 1:
            is_causal = True  # no cache or a fresh cache: SDPA's fused causal path
        cross_mask = padding_mask(encoder_attention_mask, x.dtype, encoder_padded)

        states = [x] if output_hidden_states else None
        kv = cross_kv if cross_kv is not None else [None] * len(self.layers)
        for i, layer in enumerate(self.layers):
            layer_cache = cache[i] if cache is not None else None
            if self.gradient_checkpointing and self.training and layer_cache is None:
                x = checkpoint(
                    layer,
                    x,
                    self_mask,
                    kv[i],
                    cross_mask,
                    None,
                    is_causal,
                    encoder_states,
                    use_reentrant=False,
                )
            else:
                x = layer(x, self_mask, kv[i], cross_mask, layer_cache, is_causal, encoder_states)
            x = to_residual(x, self.residual_dtype)
            if states is not None:
                states.append(x)
        if self.final_norm is not None:
            x = F.dropout(self.final_norm(x), c.dropout, self.training)
        return x, states


def shift_right(labels: torch.Tensor, start_id: int, pad_id: int) -> torch.Tensor:
    """Teacher-forcing decoder inputs: [start] + labels[:-1], with -100 replaced by pad."""
    out = labels.new_full(labels.shape, pad_id)
    out[:, 1:] = labels[:, :-1]
    out[:, 0] = start_id
    return out.masked_fill(out == -100, pad_id)


class Seq2SeqLM(nn.Module):
    """An encoder-decoder LM covering AlexaTM, BART, mBART, T5/mT5 and tandem's presets."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        c = config
        self.config = c
        shared = nn.Embedding(c.vocab_size, c.d_model)
        self.encoder = Encoder(c, shared)
        self.decoder = Decoder(c, shared if c.tie_embeddings else nn.Embedding(c.vocab_size, c.d_model))
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.tie_weights()
        if c.final_logits_bias:
            self.register_buffer("final_logits_bias", torch.zeros(c.vocab_size))
        else:
            self.final_logits_bias = None
        self.reset_parameters()

    def tie_weights(self) -> None:
        """Share the token embeddings (encoder/decoder) and the LM head as the config says."""
        if self.config.tie_embeddings:
            self.decoder.embed_tokens = self.encoder.embed_tokens
        if self.config.tie_lm_head:
            self.lm_head.weight = self.decoder.embed_tokens.weight

    @torch.no_grad()
    def add_token_rows(self, new_ids: Sequence[int], known: int) -> None:
        """Give tokens added to the tokenizer (`HFTokenizer.add_symbols`) rows of their own: every token table
        (a tied one once, an untied decoder table and LM head each) grows to cover `new_ids` (rows already
        there, a padded vocabulary's, are reused) and each new row starts at the mean of that table's rows
        of the `known` ids the tokenizer had (a common initialisation: the new tokens start as an average
        token, not as random vectors the model never saw); `final_logits_bias` gets 0 there (as
        transformers' `resize_token_embeddings`). Ties stay ties; `config.vocab_size` is updated."""
        ids = sorted({int(i) for i in new_ids})
        c = self.config
        if not ids:
            return
        if ids[0] < known or not 0 < known <= c.vocab_size:
            raise ValueError(
                f"new token ids {ids} must come after the {known} known ids (vocab {c.vocab_size})"
            )
        size = max(c.vocab_size, ids[-1] + 1)

        def grown(w: torch.Tensor) -> nn.Parameter:
            out = w.new_zeros(size, w.shape[1])  # rows no id names (none: added ids are consecutive) stay 0
            out[: w.shape[0]] = w
            out[ids] = w[:known].float().mean(0).to(w.dtype)
            return nn.Parameter(out, requires_grad=w.requires_grad)

        enc = self.encoder.embed_tokens
        dec = self.decoder.embed_tokens
        head = self.lm_head.weight
        self.encoder.embed_tokens = nn.Embedding(size, c.d_model, _weight=grown(enc.weight))
        if not c.tie_embeddings:
            self.decoder.embed_tokens = nn.Embedding(size, c.d_model, _weight=grown(dec.weight))
        self.lm_head = nn.Linear(c.d_model, size, bias=False, device=head.device, dtype=head.dtype)
        if not c.tie_lm_head:
            self.lm_head.weight = grown(head)
        c.vocab_size = size  # the config the encoder and decoder share
        self.tie_weights()
        if self.final_logits_bias is not None:
            bias = self.final_logits_bias.new_zeros(size)
            bias[: self.final_logits_bias.shape[0]] = self.final_logits_bias
            bias[ids] = 0
            self.final_logits_bias = bias  # a registered buffer: replaced as a buffer

    # ------------------------------------------------------------------ init
    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Initialisation, written out.

        Every linear and embedding weight ~ N(0, std) and biases 0, std = `init_std` or d_model**-0.5 by
        default (with 0.02, models of width <= 256 sat on a long loss plateau before learning to copy, in
        tandem and HF BART alike; d^-0.5 does not); norms weight 1, bias 0. The LM head,
        tied or not, gets the same std (HF T5's untied head was initialised with std 1.0, giving an initial
        loss far above ln V; nanoT5 #25). Projections that write into the residual stream (attention output,
        FFN output) are scaled by 1/sqrt(2 * layers) so the residual variance does not grow with depth.
        """
        c = self.config
        base = c.resolved_init_std
        depth = max(1, c.encoder_layers + c.decoder_layers)
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear):
                std = base
                if name.endswith(("out_proj", "fc2")):
                    std = base / (2 * depth) ** 0.5
                nn.init.normal_(module.weight, 0.0, std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, 0.0, base)
            elif hasattr(module, "kind") and hasattr(module, "eps"):  # Norm
                nn.init.ones_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        if self.final_logits_bias is not None:
            self.final_logits_bias.zero_()

    def set_activation_checkpointing(self, enabled: bool = True) -> None:
        """Recompute each layer's activations in the backward pass (memory for compute)."""
        self.encoder.gradient_checkpointing = enabled
        self.decoder.gradient_checkpointing = enabled

    def set_residual_dtype(self, dtype: torch.dtype | None) -> None:
        """Keep the residual stream between layers in `dtype` (e.g. torch.bfloat16) while autocast is on;
        None: autocast's own (fp32). Without autocast it has no effect."""
        self.encoder.residual_dtype = dtype
        self.decoder.residual_dtype = dtype

    # ------------------------------------------------------------------ pieces
    def encode(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Final encoder states (B, S, D)."""
        return self.encoder(input_ids, attention_mask, token_type_ids)[0]

    def project(self, decoder_hidden: torch.Tensor) -> torch.Tensor:
        """LM head: (…, D) decoder output -> (…, V) logits."""
        logits = self.lm_head(decoder_hidden * self.config.lm_head_scale)
        if self.final_logits_bias is not None:
            logits = logits + self.final_logits_bias
        return logits

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        decoder_input_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        decoder_attention_mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        output_hidden_states: bool = False,
        compute_logits: bool = True,
        padded: bool | None = None,
    ) -> Seq2SeqOutput:
        """`padded`: whether `attention_mask` masks anything, where the caller knows it (a trainer that read
        the mask on the host); None: checked here."""
        c = self.config
        enc_states = None
        # whether the source mask masks anything: checked once here (a host sync on GPU), not in each stack
        if attention_mask is None:
            padded = False
        elif padded is None:
            padded = not bool(attention_mask.all())
        if encoder_hidden_states is None:
            if input_ids is None:
                raise ValueError("forward needs input_ids or encoder_hidden_states")
            encoder_hidden_states, enc_states = self.encoder(
                input_ids, attention_mask, token_type_ids, output_hidden_states, padded=padded
            )
        if decoder_input_ids is None:
            if labels is None:
                raise ValueError("forward needs decoder_input_ids or labels")
            decoder_input_ids = shift_right(labels, c.decoder_start_token_id, c.pad_token_id)
        hidden, dec_states = self.decoder(
            decoder_input_ids,
            encoder_attention_mask=attention_mask,
            encoder_states=encoder_hidden_states,
            attention_mask=decoder_attention_mask,
            output_hidden_states=output_hidden_states,
            encoder_padded=padded,
        )
        logits = self.project(hidden) if compute_logits or labels is not None else None
        loss = None
        if labels is not None:
            loss = F.cross_entropy(
                logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100
            )
        return Seq2SeqOutput(
            logits=logits if compute_logits else None,
            loss=loss,
            encoder_hidden_states=encoder_hidden_states,
            decoder_hidden_states=hidden,
            encoder_layer_states=enc_states,
            decoder_layer_states=dec_states,
        )

    # ------------------------------------------------------------------ generation and I/O (delegated)
    @torch.no_grad()
    def generate(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **kwargs
    ) -> torch.Tensor:
        """Greedy, beam search or sampling; see `tandem.model.generation.generate` for the options.

        Options not passed come from `config.generation` (the model's decoding defaults, e.g. read from a
        Hugging Face generation_config.json), then from `generate`'s own defaults."""
        from tandem.model.generation import generate, with_model_defaults

        return generate(self, input_ids, attention_mask, **with_model_defaults(self.config, kwargs))

    def save_pretrained(self, out_dir, tokenizer=None, max_shard_size: int | str = "2GB") -> None:
        """Write config.json + model.safetensors (sharded when large) (+ the tokenizer) into out_dir."""
        from tandem.checkpoint import save_pretrained

        save_pretrained(self, out_dir, tokenizer=tokenizer, max_shard_size=max_shard_size)

    @classmethod
    def from_pretrained(cls, path, device: str | torch.device = "cpu", dtype: torch.dtype | None = None):
        """Load a tandem directory, or a Hugging Face BART/mBART/T5/mT5 or AlexaTM one (converted on load)."""
        from tandem.checkpoint import load_pretrained

        return load_pretrained(path, device=device, dtype=dtype)

    @property
    def device(self) -> torch.device:
        return self.lm_head.weight.device
