"""A thin view of an encoder-decoder + tokenizer that prompting needs: encode once, decode many.

Works with `tandem.Seq2SeqLM` (cross-attention keys/values computed once per source and shared by every
continuation) and with Hugging Face seq2seq models (encoder states shared), and with a tandem
`Tokenizer` or a Hugging Face tokenizer.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tandem.decoding import forced_first_token
from tandem.errors import TandemError
from tandem.model.generation import weight_key
from tandem.tokenizer import affixes, frame

# Auto prepacking keeps a second copy of every linear weight: only for models whose linear weights fit here.
PREPACK_MAX_BYTES = 2**31


class TextTokenizer:
    """Uniform tokenizer view: `encode` never adds special tokens; ids of EOS/pad/[CLM] (None when absent)."""

    def __init__(self, tok: Any) -> None:
        self.tok = tok
        self._affixes: tuple[tuple, tuple[list[int], list[int]]] | None = None
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

    def affixes(self) -> tuple[list[int], list[int]]:
        """(ids before, ids after) a source's own ids, as the tokenizer frames it (`tandem.tokenizer.affixes`:
        tandem/T5 `([], [eos])`, BART `([bos], [eos])`, mBART `([], [eos, src_lang])`)."""
        key = (getattr(self.tok, "src_lang", None), getattr(self.tok, "tgt_lang", None))
        if self._affixes is None or self._affixes[0] != key:
            self._affixes = (key, affixes(self.tok))
        pre, post = self._affixes[1]
        return list(pre), list(post)

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
    """What the decoder reads for a batch of rows, padded: tandem cross K/V per layer (each (N, H, S, Dh)),
    or HF encoder states (N, S, D); `mask` (N, S) is 1 on real source tokens."""

    kv: list[tuple[torch.Tensor, torch.Tensor]] | None
    states: torch.Tensor | None
    mask: torch.Tensor


@dataclass
class PackedMemory:
    """Encoder output of many sources without padding: source i owns flat rows offsets[i] .. + lengths[i].

    tandem: `kv` holds each decoder layer's cross-attention keys and values, (n_tokens, H, Dh) each, projected
    once per source token; HF: `states` (n_tokens, D). `rows` expands it to one padded copy per scored row.
    """

    kv: list[tuple[torch.Tensor, torch.Tensor]] | None
    states: torch.Tensor | None
    offsets: torch.Tensor  # (n_sources,) long
    lengths: torch.Tensor  # (n_sources,) long

    def rows(self, owners: torch.Tensor) -> Memory:
        """Padded memory of the sources `owners` (with repeats: one row per continuation scored)."""
        lengths = self.lengths.index_select(0, owners)
        S = int(lengths.max())
        ar = torch.arange(S, device=owners.device)
        mask = ar[None, :] < lengths[:, None]
        # padded slots point at the row's last real token; the mask hides them
        index = self.offsets.index_select(0, owners)[:, None] + torch.minimum(
            ar[None, :], lengths[:, None] - 1
        )
        flat = index.reshape(-1)
        N = owners.numel()
        if self.kv is not None:
            kv = []
            for k, v in self.kv:
                _, H, Dh = k.shape
                kv.append(
                    (
                        k.index_select(0, flat).view(N, S, H, Dh).transpose(1, 2),
                        v.index_select(0, flat).view(N, S, H, Dh).transpose(1, 2),
                    )
                )
            return Memory(kv, None, mask.long())
        states = self.states.index_select(0, flat).view(N, S, -1)  # type: ignore[union-attr]
        return Memory(None, states, mask.long())


def _onednn_linear() -> bool:
    try:
        return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    except (AttributeError, RuntimeError):
        return False


class PackedLinears:
    """CPU fp32 inference kernels for a model's `nn.Linear` layers: oneDNN with each weight reordered ONCE
    into oneDNN's blocked layout (PyTorch's default MKL path re-packs the weight on every call), which makes
    the small matmuls of rank scoring 10-30% faster here. Same weights, same fp32 arithmetic (outputs agree
    with `F.linear` to ~1e-6; checked on every layer when it is packed).

    The layers take the packed path only inside `active()` and only without autograd, so the model object
    is not changed; a pack is dropped and rebuilt when its weight changed (`weight_key`: storage, version counter
    and exact sum, checked on entering `active()`)."""

    def __init__(self, model: nn.Module, enabled: bool | None = None) -> None:
        self.model = model
        params = list(model.parameters())
        fits = all(p.device.type == "cpu" and p.dtype == torch.float32 for p in params)
        linear_bytes = sum(
            m.weight.numel() * 4 for m in model.modules() if type(m) is nn.Linear and m.weight is not None
        )
        if enabled is None:
            enabled = linear_bytes <= PREPACK_MAX_BYTES
        self.enabled = bool(enabled) and fits and _onednn_linear()
        self._packs: dict[int, tuple[tuple, torch.Tensor]] = {}

    def _pack(self, m: nn.Linear) -> torch.Tensor | None:
        hit = self._packs.get(id(m))
        if hit is not None:
            return hit[1]
        w = m.weight
        with torch.no_grad():
            x = torch.randn(3, w.shape[1], generator=torch.Generator().manual_seed(0))
            want = F.linear(x, w, m.bias)
            try:  # private ops: a PyTorch build may lack them or change their signature
                packed = torch.ops.mkldnn._reorder_linear_weight(w.detach(), None)
                got = torch.ops.mkldnn._linear_pointwise(x, packed, m.bias, "none", [], "")
            except (RuntimeError, TypeError, AttributeError):
                self.enabled = False
                return None
            if not torch.allclose(got, want, rtol=1e-4, atol=1e-5):
                self.enabled = False  # this build's oneDNN disagrees: keep PyTorch's default kernels
                return None
        self._packs[id(m)] = (weight_key(w), packed)
        return packed

    def _forward(self, m: nn.Linear):
        def forward(x: torch.Tensor) -> torch.Tensor:
            if self.enabled and not torch.is_grad_enabled() and x.dtype == torch.float32 and x.is_cpu:
                packed = self._pack(m)
                if packed is not None:
                    return torch.ops.mkldnn._linear_pointwise(x, packed, m.bias, "none", [], "")
            return F.linear(x, m.weight, m.bias)

        return forward

    @contextmanager
    def active(self) -> Iterator[None]:
        """Route the model's linear layers through their packs for the duration (no-op when disabled)."""
        if not self.enabled:
            yield
            return
        patched = []
        for m in self.model.modules():
            # plain nn.Linear only, and never over a forward someone else set on the instance (or a nested use)
            if type(m) is nn.Linear and "forward" not in m.__dict__:
                hit = self._packs.get(id(m))
                if hit is not None and hit[0] != weight_key(m.weight):
                    del self._packs[id(m)]  # the weight changed since it was packed (checked once per use)
                m.forward = self._forward(m)
                patched.append(m)
        try:
            yield
        finally:
            for m in patched:
                m.__dict__.pop("forward", None)


@dataclass
class ContinuationTree:
    """Continuations of one source as a prefix tree, decoded as ONE row: continuations that share a prefix
    share its decoder positions (and the decoder prefix's, always). Nodes 0 .. k-1 read the k ids of the decoder
    prefix (the start token, then a forced first token when the model forces one; never scored); node n reads
    `inputs[n]` at position `depths[n]`, after its parent `parents[n]` (the root is its own parent). Entry m
    scores token `targets[m]` of continuation `owners[m]` from node `nodes[m]`'s next-token distribution."""

    inputs: list[int]
    parents: list[int]
    depths: list[int]
    nodes: list[int]
    targets: list[int]
    owners: list[int]
    num_continuations: int

    @classmethod
    def build(cls, prefix: int | Sequence[int], continuations: Sequence[Sequence[int]]) -> ContinuationTree:
        """`prefix`: the decoder start token, or the ids every continuation follows (`EncoderDecoder.prefix`)."""
        inputs = [prefix] if isinstance(prefix, int) else list(prefix)
        if not inputs:
            raise TandemError(
                "ContinuationTree.build: the decoder prefix is empty; give at least the start token"
            )
        k = len(inputs)
        parents, depths = [max(0, n - 1) for n in range(k)], list(range(k))
        children: list[dict[int, int]] = [{} for _ in range(k)]
        nodes: list[int] = []
        targets: list[int] = []
        owners: list[int] = []
        for j, cont in enumerate(continuations):
            node = k - 1
            for i, t in enumerate(cont):
                nodes.append(node)
                targets.append(t)
                owners.append(j)
                if i + 1 == len(cont):
                    break  # the last token is only a target, never a decoder input
                nxt = children[node].get(t)
                if nxt is None:
                    nxt = len(inputs)
                    children[node][t] = nxt
                    inputs.append(t)
                    parents.append(node)
                    depths.append(depths[node] + 1)
                    children.append({})
                node = nxt
        return cls(inputs, parents, depths, nodes, targets, owners, len(continuations))

    @property
    def is_chain(self) -> bool:
        """No branching: the tree is one ordinary causal sequence."""
        return all(p == n - 1 for n, p in enumerate(self.parents) if n)


class EncoderDecoder:
    """Model view used by rank scoring and generation."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        add_eos: bool = True,
        prepack: bool | None = None,
        forced_first: bool = True,
    ) -> None:
        """`prepack`: run the linear layers through `PackedLinears` while scoring (None: when on CPU in fp32
        and the linear weights fit in PREPACK_MAX_BYTES, as it keeps a packed copy of them).

        `forced_first`: when the model's decoding forces a first token (`forced_bos_token_id`: an mBART-50
        target-language code, BART-large's `<s>`), every scored continuation follows it, as the model generates
        and as fine-tuning trains it (`prefix` is `[start, forced]`; the forced token itself is not scored).
        False scores right after the start token whatever the model forces (lm-eval's `hf` convention)."""
        self.model = model.eval()
        self.packed = PackedLinears(self.model, prepack)
        self.tok = tokenizer if isinstance(tokenizer, TextTokenizer) else TextTokenizer(tokenizer)
        self.is_tandem = hasattr(model, "decoder") and hasattr(model.decoder, "cross_kv")
        cfg = model.config
        self.add_eos = add_eos
        self._warned_no_clm = False
        if self.is_tandem:
            if hasattr(self.tok.tok, "check_fits"):  # a tandem Tokenizer
                self.tok.tok.check_fits(cfg.vocab_size)
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
        forced = _forced_first_token(model, self.is_tandem) if forced_first else None
        # what every scored continuation follows in the decoder (read, never scored)
        self.prefix: list[int] = [self.start_id] if forced is None else [self.start_id, forced]

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def split_clm(self, text: str) -> tuple[list[int], str]:
        """(the ids an `[CLM] ` prefix of `text` stands for, the text after it): `[clm_id]` when the vocabulary
        has the token, [] when it has not (models without the token were never trained with it; warned once,
        since an AlexaTM-style model then silently reads its prompts in denoising mode) or when `text` has no
        such prefix."""
        if not text.startswith("[CLM]"):
            return [], text
        body = text[len("[CLM]") :].lstrip(" ")
        if self.tok.clm_id is not None:
            return [self.tok.clm_id], body
        if not self._warned_no_clm:
            self._warned_no_clm = True
            warnings.warn(
                "the prompt starts with [CLM] but this tokenizer has no [CLM] token: the prefix is left out, so "
                "the model does not read the prompt in causal-LM mode. Pass the tokenizer the model was trained "
                "with (--tokenizer), or prompts without the prefix (--no-clm-prefix) to silence this. Shown once.",
                UserWarning,
                stacklevel=3,
            )
        return [], body

    def source_ids(self, text: str) -> list[int]:
        """Encoder input ids: an `[CLM] ` prefix becomes the [CLM] token when the vocabulary has one, else
        it is left out (see `split_clm`); if add_eos, framed as the tokenizer frames a source (`tok(text)`:
        tandem/T5 EOS appended, BART `<s> ... </s>`, mBART `... </s> src_lang`; the [CLM] token after a
        leading `<s>`)."""
        prefix, text = self.split_clm(text)
        ids = prefix + self.tok.encode(text)
        if not self.add_eos:
            return ids
        return frame(ids, self.tok.affixes())[0]

    def pad(self, seqs: Sequence[Sequence[int]], value: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-pad to (B, L) ids and a (B, L) 1/0 mask."""
        L = max(1, max((len(s) for s in seqs), default=1))
        ids = torch.tensor([[*s, *([value] * (L - len(s)))] for s in seqs], dtype=torch.long).view(
            len(seqs), L
        )
        lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
        mask = (torch.arange(L)[None, :] < lengths[:, None]).long()
        dev = self.device
        return ids.to(dev), mask.to(dev)

    @torch.inference_mode()
    def encode(self, batches: Sequence[Sequence[Sequence[int]]]) -> PackedMemory:
        """Encode the sources of each batch (one encoder pass per batch) and pack their outputs; the sources
        are numbered in the order given, across batches. tandem: cross-attention K/V are projected once, for
        the real (non-padding) tokens of all batches together."""
        flats, lengths = [], []
        for sources in batches:
            ids, mask = self.pad(sources, self.pad_id)
            if self.is_tandem:
                states = self.model.encode(ids, mask)
            else:
                states = self.model.get_encoder()(input_ids=ids, attention_mask=mask).last_hidden_state
            flats.append(states[mask.bool()])  # (n_real, D), source by source
            lengths += [len(s) for s in sources]
        flat = flats[0] if len(flats) == 1 else torch.cat(flats)
        lens = torch.tensor(lengths, dtype=torch.long, device=flat.device)
        offsets = torch.cumsum(lens, 0) - lens
        if not self.is_tandem:
            return PackedMemory(None, flat, offsets, lens)
        # (1, H, n, Dh) views of (n, H*Dh) projections -> (n, H, Dh), contiguous
        kv = [
            (k[0].transpose(0, 1), v[0].transpose(0, 1)) for k, v in self.model.decoder.cross_kv(flat[None])
        ]
        return PackedMemory(kv, None, offsets, lens)

    @torch.inference_mode()
    def decode(self, memory: Memory, inputs: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """tandem only: decoder output (N, T, D) of right-padded `inputs` (row i reads memory row i) and their
        (N, T) 1/0 mask."""
        ids, mask = self.pad(inputs, self.pad_id)
        hidden, _ = self.model.decoder(ids, memory.kv, encoder_attention_mask=memory.mask)
        return hidden, mask

    @torch.inference_mode()
    def target_logprobs(
        self, logits: torch.Tensor, rows: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probability of token `targets[m]` under the next-token distribution `logits[rows[m]]` (one
        log-softmax per row, shared by every target read from it) and whether it is that row's argmax."""
        logits = logits.float()
        tok_lp = torch.log_softmax(logits, dim=-1)[rows, targets]
        # greedy iff the target's logit is the row maximum and no earlier id ties with it (argmax semantics);
        # amax is a cheap reduction, the exact argmax runs only on the (few) pairs where the target reaches it
        greedy = logits[rows, targets] >= logits.amax(-1)[rows]
        if bool(greedy.any()):
            hit = greedy.nonzero().squeeze(1)
            greedy[hit] = logits.index_select(0, rows[hit]).argmax(-1) == targets[hit]
        return tok_lp, greedy

    @torch.inference_mode()
    def score_trees(
        self, memory: Memory, trees: Sequence[ContinuationTree]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """tandem only: teacher-forced log-likelihood of every continuation of each tree (tree i reads memory
        row i), in tree order: summed log-probs (float64) and whether every token is the argmax.

        One decoder row per tree: each query attends to its ancestors only (and sees its own position), so
        every node's hidden state equals that of the same prefix decoded alone; the LM head runs once per node."""
        dev = self.device
        sizes = [len(t.inputs) for t in trees]
        B, T = len(trees), max(sizes)
        # one tensor per field for the whole pass (not one per tree)
        ids = torch.tensor([t.inputs + [self.pad_id] * (T - n) for t, n in zip(trees, sizes)])
        if all(t.is_chain for t in trees):
            # right-padded causal rows: the ordinary decoder pass
            hidden, _ = self.model.decoder(ids.to(dev), memory.kv, encoder_attention_mask=memory.mask)
        else:
            positions = torch.tensor([t.depths + [0] * (T - n) for t, n in zip(trees, sizes)])
            # padding slots are their own parents: they attend to themselves only
            parents = torch.tensor([t.parents + list(range(n, T)) for t, n in zip(trees, sizes)])
            # ancestor-or-self mask by pointer jumping, one step per level of the deepest tree
            allowed = torch.eye(T, dtype=torch.bool).repeat(B, 1, 1)
            cur = parents
            for _ in range(max(max(t.depths) for t in trees)):
                allowed.scatter_(2, cur[..., None], True)
                cur = parents.gather(1, cur)
            hidden, _ = self.model.decoder(
                ids.to(dev),
                memory.kv,
                encoder_attention_mask=memory.mask,
                positions=positions.to(dev),
                tree_mask=allowed.to(dev),
            )
        real = (torch.arange(T)[None, :] < torch.tensor(sizes)[:, None]).to(dev)
        # the LM head only on real nodes (row-major, so tree b's node n is row base[b] + n)
        logits = self.model.project(hidden[real])
        base, owner_base, rows, targets, owners = 0, 0, [], [], []
        for t in trees:
            rows += [base + n for n in t.nodes]
            targets += t.targets
            owners += [owner_base + o for o in t.owners]
            base += len(t.inputs)
            owner_base += t.num_continuations
        rows_t = torch.tensor(rows, device=dev)
        tok_lp, greedy = self.target_logprobs(logits, rows_t, torch.tensor(targets, device=dev))
        return _per_continuation(torch.tensor(owners, device=dev), owner_base, tok_lp, greedy)

    @torch.inference_mode()
    def score_rows(
        self, memory: Memory, continuations: Sequence[Sequence[int]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced log-likelihood of each continuation (row i reads memory row i; the decoder reads
        `prefix` first): summed log-probs (float64, (N,)) and whether every token is the argmax at its position
        ((N,) bool)."""
        dev = self.device
        dec_in = [[*self.prefix, *c[:-1]] for c in continuations]
        targets = torch.tensor([t for c in continuations for t in c], device=dev)
        skip = len(self.prefix) - 1  # prefix positions whose next token is still prefix: nothing scored there
        if self.is_tandem:
            hidden, mask = self.decode(memory, dec_in)
            mask[:, :skip] = 0
            positions = mask.nonzero()  # (M, 2) row-major: rows in order, positions ascending
            # the LM head only where a continuation token is scored: padding costs no V-sized matmul
            logits = self.model.project(hidden[positions[:, 0], positions[:, 1]])
        else:
            from transformers.modeling_outputs import BaseModelOutput

            ids, mask = self.pad(dec_in, self.pad_id)
            mask[:, :skip] = 0
            positions = mask.nonzero()
            out = self.model(
                encoder_outputs=BaseModelOutput(last_hidden_state=memory.states),
                attention_mask=memory.mask,
                decoder_input_ids=ids,
            )
            logits = out.logits[positions[:, 0], positions[:, 1]]
        tok_lp, greedy = self.target_logprobs(logits, torch.arange(len(targets), device=dev), targets)
        return _per_continuation(positions[:, 0], len(continuations), tok_lp, greedy)


def _forced_first_token(model: Any, is_tandem: bool) -> int | None:
    """The token the model's decoding forces first (`forced_bos_token_id`), else None: a tandem model's
    `config.generation` (`tandem.decoding.forced_first_token`), a Hugging Face model's generation_config."""
    token = forced_first_token(model.config)
    if token is None and not is_tandem:
        gen = getattr(model, "generation_config", None)
        token = getattr(gen if gen is not None else model.config, "forced_bos_token_id", None)
        if not isinstance(token, int) or isinstance(token, bool):
            token = None
    return token


def _per_continuation(
    owners: torch.Tensor, n: int, tok_lp: torch.Tensor, greedy: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token scores summed per continuation (`owners[m]` owns token m): float64 log-probs, and whether
    every token of it was the argmax."""
    sums = torch.zeros(n, dtype=torch.float64, device=tok_lp.device).index_add_(0, owners, tok_lp.double())
    misses = torch.zeros(n, dtype=torch.long, device=tok_lp.device).index_add_(0, owners, (~greedy).long())
    return sums, misses == 0
