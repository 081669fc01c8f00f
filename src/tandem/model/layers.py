"""Building blocks of the encoder-decoder: norms, positions, attention, feed-forward, layers.

Shapes: B batch, S source length, T target length, H heads, Dh head dim, D d_model, F ffn dim.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tandem.config import ModelConfig


class Norm(nn.Module):
    """LayerNorm, AlexaTM's LayerNorm, or T5's RMSNorm, chosen by `config.norm_type`.

    AlexaTM's released code subtracts the mean but divides by the *uncentred* second moment:
    (x - mean(x)) * rsqrt(mean(x^2) + eps). A faithful loader must reproduce it, so it is a kind here.
    """

    def __init__(self, dim: int, kind: str, eps: float, bias: bool = True):
        super().__init__()
        self.kind, self.eps = kind, eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if bias and kind != "rmsnorm" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "layernorm":
            return F.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)
        if self.kind == "rmsnorm":
            # T5 computes the statistic in fp32 and casts back to the weight's dtype
            var = x.float().pow(2).mean(-1, keepdim=True)
            y = (x.float() * torch.rsqrt(var + self.eps)).to(self.weight.dtype)
            return y * self.weight
        # alexatm
        mean = x.mean(-1, keepdim=True)
        second_moment = x.pow(2).mean(-1, keepdim=True)
        y = (x - mean) * torch.rsqrt(second_moment + self.eps)
        y = y * self.weight
        return y + self.bias if self.bias is not None else y


def make_norm(config: ModelConfig) -> Norm:
    return Norm(config.d_model, config.norm_type, config.norm_eps, config.norm_bias)


class RelativePositionBias(nn.Module):
    """T5's bucketed relative position bias (one table per stack, shared by all its layers)."""

    def __init__(self, config: ModelConfig, bidirectional: bool):
        super().__init__()
        self.bidirectional = bidirectional
        self.num_buckets = config.relative_buckets
        self.max_distance = config.relative_max_distance
        self.embedding = nn.Embedding(config.relative_buckets, config.num_heads)

    def _bucket(self, relative_position: torch.Tensor) -> torch.Tensor:
        num_buckets, buckets = self.num_buckets, 0
        if self.bidirectional:
            num_buckets //= 2
            buckets = (relative_position > 0).long() * num_buckets
            relative_position = relative_position.abs()
        else:
            relative_position = -torch.clamp(relative_position, max=0)
        max_exact = num_buckets // 2
        is_small = relative_position < max_exact
        # log-spaced buckets for distances beyond max_exact, up to max_distance
        large = (
            max_exact
            + (
                torch.log(relative_position.float() / max_exact + 1e-30)  # 1e-30: log(0) guard, masked below
                / math.log(self.max_distance / max_exact)
                * (num_buckets - max_exact)
            ).long()
        )
        large = torch.clamp(large, max=num_buckets - 1)
        return buckets + torch.where(is_small, relative_position, large)

    def pairwise(self, positions: torch.Tensor) -> torch.Tensor:
        """Bias of shape (B, H, T, T) among tokens at `positions` (B, T), each its own sequence position
        (tree decoding: tokens of one row belong to different continuations)."""
        relative = positions[:, None, :] - positions[:, :, None]  # key minus query, as in forward()
        return self.embedding(self._bucket(relative)).permute(0, 3, 1, 2)

    def forward(self, q_len: int, k_len: int, q_offset: int = 0) -> torch.Tensor:
        """Bias of shape (1, H, q_len, k_len) for queries at positions q_offset.. and keys at 0.."""
        device = self.embedding.weight.device
        q_pos = torch.arange(q_offset, q_offset + q_len, device=device)[:, None]
        k_pos = torch.arange(k_len, device=device)[None, :]
        values = self.embedding(self._bucket(k_pos - q_pos))  # (q, k, H)
        return values.permute(2, 0, 1).unsqueeze(0)


class Attention(nn.Module):
    """Multi-head attention through `scaled_dot_product_attention`; self- or cross-attention."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        d, kv = config.d_model, config.kv_dim
        self.num_heads, self.head_dim = config.num_heads, config.resolved_head_dim
        self.scale = config.attention_scale  # None -> SDPA's default 1/sqrt(Dh)
        self.q_proj = nn.Linear(d, kv, bias=config.bias)
        self.k_proj = nn.Linear(d, kv, bias=config.bias)
        self.v_proj = nn.Linear(d, kv, bias=config.bias)
        self.out_proj = nn.Linear(kv, d, bias=config.bias)
        self.dropout = config.dropout

    def split(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, H*Dh) -> (B, H, L, Dh)
        B, L, _ = x.shape
        return x.view(B, L, self.num_heads, self.head_dim).transpose(1, 2)

    def project_kv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.split(self.k_proj(x)), self.split(self.v_proj(x))

    def forward(
        self,
        x: torch.Tensor,
        kv: tuple[torch.Tensor, torch.Tensor] | None = None,
        mask: torch.Tensor | None = None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        """x: (B, L, D). kv: precomputed (k, v) each (B, H, Lk, Dh), else self-attention over x.

        mask: additive float mask broadcastable to (B, H, L, Lk) (padding, causality, position bias).
        """
        q = self.split(self.q_proj(x))
        k, v = kv if kv is not None else self.project_kv(x)
        out = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=is_causal and mask is None,
            scale=self.scale,
        )
        B, _, L, _ = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(B, L, self.num_heads * self.head_dim))


_ACT = {
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
}


class FeedForward(nn.Module):
    """Two-layer MLP, or the gated variant of T5 v1.1 / mT5 when `config.gated_ffn`."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        d, f = config.d_model, config.ffn_dim
        self.act = _ACT[config.activation]
        self.fc1 = nn.Linear(d, f, bias=config.bias)
        self.gate = nn.Linear(d, f, bias=config.bias) if config.gated_ffn else None
        self.fc2 = nn.Linear(f, d, bias=config.bias)
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gate is not None:  # T5 v1.1: act(x W_gate) * (x W_1)
            h = self.act(self.gate(x)) * self.fc1(x)
        else:
            h = self.act(self.fc1(x))
        h = F.dropout(h, self.dropout, self.training)
        return self.fc2(h)


class EncoderLayer(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.pre_norm = config.pre_norm
        self.self_attn_norm = make_norm(config)
        self.self_attn = Attention(config)
        self.ffn_norm = make_norm(config)
        self.ffn = FeedForward(config)
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        drop = self.dropout if self.training else 0.0
        if self.pre_norm:
            x = x + F.dropout(self.self_attn(self.self_attn_norm(x), mask=mask), drop)
            return x + F.dropout(self.ffn(self.ffn_norm(x)), drop)
        x = self.self_attn_norm(x + F.dropout(self.self_attn(x, mask=mask), drop))
        return self.ffn_norm(x + F.dropout(self.ffn(x), drop))


class DecoderLayer(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.pre_norm = config.pre_norm
        self.self_attn_norm = make_norm(config)
        self.self_attn = Attention(config)
        self.cross_attn_norm = make_norm(config)
        self.cross_attn = Attention(config)
        self.ffn_norm = make_norm(config)
        self.ffn = FeedForward(config)
        self.dropout = config.dropout

    def forward(
        self,
        x: torch.Tensor,
        self_mask: torch.Tensor | None,
        cross_kv: tuple[torch.Tensor, torch.Tensor] | None,
        cross_mask: torch.Tensor | None,
        cache: dict[str, torch.Tensor] | None = None,
        is_causal: bool = False,
        encoder_states: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """cross_kv: this layer's cross-attention keys/values, precomputed once per source (generation);
        None: projected here from encoder_states (training, so the layer owns all of its compute).
        cache (generation): holds this layer's self-attention "k"/"v" so far; extended in place."""
        drop = self.dropout if self.training else 0.0
        if cross_kv is None:
            cross_kv = self.cross_attn.project_kv(encoder_states)

        def self_attention(h: torch.Tensor) -> torch.Tensor:
            if cache is None:
                return self.self_attn(h, mask=self_mask, is_causal=is_causal)
            k, v = self.self_attn.project_kv(h)
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
            return self.self_attn(h, kv=(k, v), mask=self_mask, is_causal=is_causal)

        if self.pre_norm:
            x = x + F.dropout(self_attention(self.self_attn_norm(x)), drop)
            x = x + F.dropout(self.cross_attn(self.cross_attn_norm(x), kv=cross_kv, mask=cross_mask), drop)
            return x + F.dropout(self.ffn(self.ffn_norm(x)), drop)
        x = self.self_attn_norm(x + F.dropout(self_attention(x), drop))
        x = self.cross_attn_norm(x + F.dropout(self.cross_attn(x, kv=cross_kv, mask=cross_mask), drop))
        return self.ffn_norm(x + F.dropout(self.ffn(x), drop))
