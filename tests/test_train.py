"""Trainer components: fused cross-entropy vs plain CE, AdamW groups, schedule, clipping, accumulation,
checkpoint atomicity, encoder freezing, run outputs."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tandem.errors import TandemError
from tandem.train import (
    Checkpointer,
    LRSchedule,
    Seq2SeqTrainModule,
    TrainConfig,
    build_optimizer,
    clip_grad_norm,
    fused_linear_cross_entropy,
    param_groups,
    train,
)
from test_train_helpers import TOY_RUN, VOCAB, ToyStream, tiny_model


def _cfg(tmp_path, **kw) -> TrainConfig:
    return TrainConfig(**(TOY_RUN | {"out": str(tmp_path / "run")} | kw))


@pytest.mark.parametrize(
    "chunk,compiled,gpu_kernel", [(3, False, False), (1000, False, False), (3, False, True), (5, True, False)]
)
def test_fused_cross_entropy_equals_plain(chunk, compiled, gpu_kernel, monkeypatch):
    """Against F.cross_entropy in float64, with CPU's chunk kernel (one softmax into a kept block), the GPU's
    eager one (five in-place passes; run here on CPU) and the compiled one."""
    import tandem.train.loss as loss_mod

    if gpu_kernel:
        monkeypatch.setattr(loss_mod, "_softmax_kernel_for", lambda device: False)
    torch.manual_seed(0)
    h = torch.randn(3, 7, 16, dtype=torch.float64, requires_grad=True)
    w = torch.randn(50, 16, dtype=torch.float64, requires_grad=True)
    b = torch.randn(50, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 50, (3, 7))
    y[0, 4:] = -100
    y[2, 6] = -100
    loss, token_losses, valid = fused_linear_cross_entropy(
        h, w, y, bias=b, chunk_tokens=chunk, compiled=compiled
    )
    (2.5 * loss).backward()
    got = [t.grad.clone() for t in (h, w, b)]
    for t in (h, w, b):
        t.grad = None
    ref_tok = F.cross_entropy((h @ w.T + b).reshape(-1, 50), y.reshape(-1), reduction="none")
    ref = F.cross_entropy((h @ w.T + b).reshape(-1, 50), y.reshape(-1))
    (2.5 * ref).backward()
    assert torch.allclose(loss, ref, atol=1e-12, rtol=0)
    assert torch.allclose(token_losses, ref_tok[y.reshape(-1) != -100].detach(), atol=1e-12)
    assert int(valid.sum()) == int((y != -100).sum())
    for g, t in zip(got, (h, w, b)):
        assert torch.allclose(g, t.grad, atol=1e-12, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_cross_entropy_is_exact_for_a_target_far_below_the_best_logit(dtype):
    """On CPU the loss is -log p_y from one softmax kernel; where p_y underflows (a target logit 200 nats
    under the best) the row is recomputed, so its loss is finite and equals the plain cross-entropy."""
    torch.manual_seed(0)
    h = torch.randn(6, 8, dtype=dtype, requires_grad=True)
    w = torch.randn(30, 8, dtype=dtype, requires_grad=True)
    y = torch.randint(0, 30, (6,))
    with torch.no_grad():
        h[2] = 0.0
        h[2, 0] = 1.0
        w[:, 0] = 0.0
        w[5, 0], w[7, 0] = 100.0, -100.0  # row 2: logits 100 at word 5, -100 at word 7, 0 elsewhere
    y[2] = 7
    loss, token_losses, _ = fused_linear_cross_entropy(h, w, y, chunk_tokens=4)
    loss.backward()
    ref_tok = F.cross_entropy(h @ w.T, y, reduction="none")
    tol = 1e-12 if dtype == torch.float64 else 1e-4
    assert torch.isfinite(token_losses).all() and abs(float(token_losses[2]) - 200.0) < tol * 200
    assert torch.allclose(token_losses, ref_tok.detach(), rtol=tol, atol=tol)
    got = h.grad.clone(), w.grad.clone()
    h.grad = w.grad = None
    ref_tok.mean().backward()
    assert torch.allclose(got[0], h.grad, atol=tol) and torch.allclose(got[1], w.grad, atol=tol)


def test_the_train_module_keeps_its_cpu_loss_block_from_step_to_step():
    """A fresh 16 MiB block per chunk costs page faults inside the logit GEMM; the module's workspace keeps
    one block (the largest chunk's), and losses and gradients are those of a call without it."""
    from tandem.train.loss import LossWorkspace

    torch.manual_seed(0)
    h = torch.randn(2, 9, 16, requires_grad=True)
    w = torch.randn(40, 16, requires_grad=True)
    y = torch.randint(0, 40, (2, 9))
    y[1, 7:] = -100
    ws = LossWorkspace()
    runs = []
    for workspace in (None, ws, ws):
        loss, tok, _ = fused_linear_cross_entropy(h, w, y, chunk_tokens=5, workspace=workspace)
        loss.backward()
        runs.append((loss.detach(), tok, h.grad.clone(), w.grad.clone()))
        h.grad = w.grad = None
        if workspace is not None:
            ptr = ws._buf.data_ptr()
            assert ws._buf.numel() == 5 * 40  # 16 scored tokens: chunks of 5, 5, 5, 1 share one block
    assert ws._buf.data_ptr() == ptr
    for other in runs[1:]:
        assert all(torch.equal(a, b) for a, b in zip(runs[0], other, strict=True))
    model = tiny_model()
    assert Seq2SeqTrainModule(model).loss_workspace is not Seq2SeqTrainModule(model).loss_workspace


def test_fused_cross_entropy_refuses_a_second_backward_through_one_loss():
    """backward hands over the gradients computed in forward, scaled in place (no (V, d) copy); a second
    backward through the same graph (retain_graph) is refused with what to do, not answered wrongly."""
    torch.manual_seed(0)
    h = torch.randn(5, 8, requires_grad=True)
    w = torch.randn(20, 8, requires_grad=True)
    y = torch.randint(0, 20, (5,))
    loss, _, _ = fused_linear_cross_entropy(h, w, y)
    (3.0 * loss).backward(retain_graph=True)
    ref = F.cross_entropy(h @ w.T, y)
    gh, gw = torch.autograd.grad(3.0 * ref, (h, w))
    assert torch.allclose(h.grad, gh, atol=1e-6) and torch.allclose(w.grad, gw, atol=1e-6)
    with pytest.raises(RuntimeError, match="backward ran twice .* compute the loss again"):
        loss.backward()


def test_fused_cross_entropy_under_no_grad_runs_only_the_logit_gemm():
    """Validation scores under no_grad: the loss then computes no gradients (they were two more GEMMs per
    chunk, ~3.5x the loss's forward time), and its values are those of a run with gradients."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Gemms(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.n += func.overloadpacket.__name__ in ("mm", "addmm", "addmm_", "matmul", "bmm")
            return func(*args, **(kwargs or {}))

    torch.manual_seed(0)
    h = torch.randn(10, 8, requires_grad=True)
    w = torch.randn(30, 8, requires_grad=True)
    y = torch.randint(0, 30, (10,))
    with Gemms() as with_grad:
        ref, ref_tok, _ = fused_linear_cross_entropy(h, w, y, chunk_tokens=4)
    with torch.no_grad(), Gemms() as without:
        loss, tok, _ = fused_linear_cross_entropy(h, w, y, chunk_tokens=4)
    assert (with_grad.n, without.n) == (9, 3)  # 3 chunks: logits (+ the two gradient GEMMs)
    assert torch.equal(loss, ref.detach()) and torch.equal(tok, ref_tok)
    assert not loss.requires_grad


def test_train_module_fused_matches_model_loss():
    model = tiny_model().double()
    batch = next(ToyStream())
    fused = Seq2SeqTrainModule(model, fused_loss=True)
    plain = Seq2SeqTrainModule(model, fused_loss=False)
    assert fused.fused_loss and not plain.fused_loss
    logits = model(batch["input_ids"], batch["attention_mask"], labels=batch["labels"]).logits  # float64
    ref = F.cross_entropy(logits.reshape(-1, VOCAB), batch["labels"].reshape(-1))
    ref.backward()
    ref_grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    loss, ex_loss, ex_tok = fused(batch["input_ids"], batch["attention_mask"], batch["labels"])
    loss.backward()
    assert abs(loss.item() - ref.item()) < 1e-10
    assert abs(ex_loss.sum().item() / ex_tok.sum().item() - ref.item()) < 1e-10
    for n, p in model.named_parameters():
        assert torch.allclose(p.grad, ref_grads[n], atol=1e-10), n
    loss2, _, _ = plain(batch["input_ids"], batch["attention_mask"], batch["labels"])
    assert abs(loss2.item() - ref.item()) < 1e-10


def test_param_groups_skip_decay_on_biases_norms_embeddings():
    model = tiny_model()
    decay, no_decay = param_groups(model, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    nd = {names[id(p)] for p in no_decay["params"]}
    dec = {names[id(p)] for p in decay["params"]}
    assert all(p.ndim >= 2 for p in decay["params"])
    assert any(n.endswith(".bias") for n in nd) and not any(n.endswith(".bias") for n in dec)
    assert "encoder.embed_tokens.weight" in nd and "encoder.embed_positions.weight" in nd
    assert any("fc1.weight" in n for n in dec)
    assert len(dec) + len(nd) == len(list(model.parameters()))
    opt = build_optimizer(model, lr=1e-3, weight_decay=0.1)
    assert isinstance(opt, torch.optim.AdamW) and opt.defaults["fused"] is True  # plain CPU tensors: fused
    assert build_optimizer(model, lr=1e-3, fused=False).defaults["fused"] is None


def test_lr_schedule_values():
    s = LRSchedule(peak=1e-4, total=110, warmup=10, min_lr=5e-6, kind="linear")
    assert s(0) == pytest.approx(1e-5) and s(9) == pytest.approx(1e-4)
    assert s(10) == pytest.approx(1e-4)
    assert s(60) == pytest.approx(5e-6 + 0.5 * (1e-4 - 5e-6))
    assert s(110) == pytest.approx(5e-6) and s(10_000) == pytest.approx(5e-6)
    c = LRSchedule(peak=1.0, total=100, warmup=0, min_lr=0.1, kind="cosine")
    assert c(50) == pytest.approx(0.55) and c(100) == pytest.approx(0.1)


def test_clip_grad_norm_matches_torch():
    torch.manual_seed(0)
    a, b = torch.randn(5, 3, requires_grad=True), torch.randn(4, requires_grad=True)
    (a.sum() * 3 + (b**2).sum()).backward()
    ref = math.sqrt(float((a.grad**2).sum() + (b.grad**2).sum()))
    n = clip_grad_norm([a, b], 1.0)
    assert n == pytest.approx(ref, rel=1e-6)
    assert math.sqrt(float((a.grad**2).sum() + (b.grad**2).sum())) == pytest.approx(1.0, rel=1e-5)


class _Split:
    """Yields each ToyStream batch of 4 as two micro-batches of 2."""

    def __init__(self):
        self.inner, self.buf = ToyStream(batch=4), []

    def __iter__(self):
        return self

    def __next__(self):
        if not self.buf:
            b = next(self.inner)
            self.buf = [{k: v[i : i + 2] for k, v in b.items()} for i in (0, 2)]
        return self.buf.pop(0)


@pytest.mark.parametrize(
    "overrides", [{}, {"gated_ffn": True}, {"head_dim": 24}, {"gated_ffn": True, "head_dim": 24}]
)
def test_train_flops_equal_the_matmul_flops_torch_counts(overrides):
    """The MFU numerator: every matmul of forward+backward, counted by torch's FlopCounterMode (attention
    through the math kernel, which it can see); gated FFNs (mT5) and heads narrower than d_model count too."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM
    from tandem.train.flops import seq2seq_train_flops

    torch.manual_seed(0)
    c = ModelConfig.preset(
        "tiny", vocab_size=VOCAB, d_model=32, num_heads=2, ffn_dim=64, encoder_layers=2, decoder_layers=3,
        max_positions=64, **overrides,
    )  # fmt: skip
    module = Seq2SeqTrainModule(Seq2SeqLM(c), fused_loss=False)
    B, S, T = 2, 10, 7
    ids, labels = torch.randint(5, VOCAB, (B, S)), torch.randint(5, VOCAB, (B, T))
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        loss, _, _ = module(ids, torch.ones(B, S, dtype=torch.long), labels)
        loss.backward()
    est = seq2seq_train_flops(
        c.d_model, c.ffn_dim, c.encoder_layers, c.decoder_layers, c.vocab_size, B, S, T,
        kv_dim=c.kv_dim, gated_ffn=c.gated_ffn,
    )  # fmt: skip
    assert est == counter.get_total_flops()


def test_grad_accumulation_equals_big_batch(tmp_path):
    r1 = train(_cfg(tmp_path / "a", ckpt_every=100), model=tiny_model(), data=ToyStream(batch=4))
    r2 = train(_cfg(tmp_path / "b", ckpt_every=100, grad_accum=2), model=tiny_model(), data=_Split())
    l1, l2 = [r["loss"] for r in r1.records], [r["loss"] for r in r2.records]
    assert len(l1) == 6 and l1 == pytest.approx(l2, abs=1e-6)
    assert l1[-1] != pytest.approx(l1[0], abs=1e-3)  # it trained


def test_a_model_without_a_tandem_config_trains(tmp_path):
    """`train(model=...)` takes any Seq2SeqLM-like model; one whose config is not a tandem ModelConfig (here
    Hugging Face BART, whose config has no `ffn_dim`) trains without the FLOPs estimate instead of failing
    at the first step."""
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    c = transformers.BartConfig(
        vocab_size=VOCAB, d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64,
    )  # fmt: skip
    res = train(
        _cfg(tmp_path, steps=2, ckpt_every=100),
        model=transformers.BartForConditionalGeneration(c),
        data=ToyStream(),
    )
    assert res.step == 2 and all(math.isfinite(r["loss"]) for r in res.records)


def test_run_outputs_and_metrics(tmp_path):
    cfg = _cfg(tmp_path, plot=True, tensorboard=True)
    res = train(cfg, model=tiny_model(), data=ToyStream())
    out = tmp_path / "run"
    recs = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs] == [1, 2, 3, 4, 5, 6]
    for key in ("loss", "loss_denoise", "loss_clm", "lr", "tokens_per_s", "grad_norm", "tokens_seen"):
        assert key in recs[0]
    # the total is the token-weighted mean of the two objectives' losses
    r = recs[0]
    assert min(r["loss_denoise"], r["loss_clm"]) <= r["loss"] <= max(r["loss_denoise"], r["loss_clm"])
    # untrained: near uniform; logits of about unit variance at init (std d_model**-0.5) add about sigma^2/2
    assert math.log(VOCAB) <= recs[0]["loss"] <= math.log(VOCAB) + 1.0
    assert (out / "loss.png").stat().st_size > 1000
    assert json.loads((out / "train_config.json").read_text())["steps"] == 6
    assert res.step == 6 and (out / "model" / "config.json").is_file()


def test_checkpoints_keep_last_k_and_latest_fallback(tmp_path):
    cfg = _cfg(tmp_path, steps=8, ckpt_every=2, keep_ckpts=2)
    train(cfg, model=tiny_model(), data=ToyStream())
    ck = Checkpointer(tmp_path / "run" / "checkpoints")
    assert [p.name for p in ck.complete()] == ["step_00000006", "step_00000008"]
    assert ck.latest().name == "step_00000008"
    # a torn write (no trainer.json) and a pointer to a vanished checkpoint are both ignored
    (ck.root / "step_00000010" / "dcp").mkdir(parents=True)
    (ck.root / "latest").write_text("step_00000012\n")
    assert ck.latest().name == "step_00000008"


def test_resaving_a_step_never_leaves_it_without_a_complete_checkpoint(tmp_path, monkeypatch):
    """Re-saving step N (a resumed run stopped again at N) replaces the old copy; a process killed between
    moving the old copy aside and moving the new one in must still resume from step N."""
    model = nn.Linear(4, 4)
    opt = torch.optim.AdamW(model.parameters())
    ck = Checkpointer(tmp_path / "ck")
    ck.save(2, model, opt, {"tag": "first"}, None)
    real_rename = os.rename

    def killed_before_the_new_copy_lands(src, dst):
        if Path(src).name.startswith(".tmp-"):
            raise KeyboardInterrupt  # stands for SIGKILL: nothing after this line runs
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", killed_before_the_new_copy_lands)
    with pytest.raises(KeyboardInterrupt):
        ck.save(2, model, opt, {"tag": "second"}, None)
    monkeypatch.setattr(os, "rename", real_rename)
    assert not (ck.root / "step_00000002").exists()  # the old copy was moved aside ...
    ck = Checkpointer(tmp_path / "ck")
    found = ck.latest()  # ... and still counts as step 2
    assert found is not None and ck.complete() == [found]
    state, _ = ck.load(found, model, opt)
    assert state["step"] == 2 and state["tag"] == "first"
    ck.save(2, model, opt, {"tag": "third"}, None)  # the next save of step 2 cleans up
    assert [p.name for p in ck.complete()] == ["step_00000002"]
    assert not any(p.name.startswith((".old-", ".tmp-")) for p in ck.root.iterdir())
    assert ck.load(ck.latest(), model, opt)[0]["tag"] == "third"


def test_encoder_frozen_then_unfrozen(tmp_path):
    model = tiny_model()
    enc0 = {n: p.detach().clone() for n, p in model.encoder.layers.named_parameters()}
    dec0 = {n: p.detach().clone() for n, p in model.decoder.layers.named_parameters()}
    train(_cfg(tmp_path, steps=3, freeze_encoder_steps=3, ckpt_every=100), model=model, data=ToyStream())
    assert all(torch.equal(p, enc0[n]) for n, p in model.encoder.layers.named_parameters())
    assert not all(torch.equal(p, dec0[n]) for n, p in model.decoder.layers.named_parameters())
    model = tiny_model()
    train(
        _cfg(tmp_path / "b", steps=4, freeze_encoder_steps=3, ckpt_every=100), model=model, data=ToyStream()
    )
    assert not all(torch.equal(p, enc0[n]) for n, p in model.encoder.layers.named_parameters())


@pytest.mark.parametrize("freeze", [0, 1, 2])
def test_resume_with_a_shorter_encoder_freeze_matches_a_run_started_with_it(tmp_path, freeze):
    """A checkpoint written with the encoder frozen holds no optimizer state for it: resumed with a
    freeze_encoder_steps it is already past, it was refused ("cannot be loaded into this model ... resume with
    the run's own settings"). It loads as written and the encoder thaws at once: the weights of a run
    frozen for the checkpoint's steps (here 2), which is what the shorter freeze gives from there on."""
    cfg = _cfg(tmp_path / "a", steps=4, freeze_encoder_steps=3, ckpt_every=100)
    train(dataclasses.replace(cfg, stop_after=2), model=tiny_model(), data=ToyStream())
    resumed = tiny_model(seed=1)  # its weights come from the checkpoint
    res = train(
        dataclasses.replace(cfg, freeze_encoder_steps=freeze, resume=True), model=resumed, data=ToyStream()
    )
    assert res.step == 4 and not any(r.get("encoder_frozen") for r in res.records)
    ref = tiny_model()
    train(_cfg(tmp_path / "b", steps=4, freeze_encoder_steps=2, ckpt_every=100), model=ref, data=ToyStream())
    for (name, p), q in zip(resumed.named_parameters(), ref.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6), name


def test_resume_with_a_longer_encoder_freeze_freezes_it_from_there(tmp_path):
    """The other way round: a checkpoint of a run whose encoder trained, resumed with a freeze_encoder_steps
    beyond it, keeps the encoder frozen until that step (and loads the optimizer state the encoder has)."""
    cfg = _cfg(tmp_path, steps=5, ckpt_every=100)
    train(dataclasses.replace(cfg, stop_after=2), model=tiny_model(), data=ToyStream())
    model = tiny_model()
    res = train(dataclasses.replace(cfg, freeze_encoder_steps=4, resume=True), model=model, data=ToyStream())
    assert [r.get("encoder_frozen", False) for r in res.records] == [True, True, False]


def _toy_config(**overrides):
    from tandem.config import ModelConfig

    kw = dict(d_model=32, num_heads=2, ffn_dim=64, encoder_layers=1, decoder_layers=1, max_positions=64)
    return ModelConfig.preset("tiny", vocab_size=VOCAB, **(kw | overrides))


def test_encoder_init_copies_the_encoder_only_and_keeps_it_frozen(tmp_path):
    from tandem.model import Seq2SeqLM

    torch.manual_seed(1)
    src = Seq2SeqLM(_toy_config(tie_embeddings=False, tie_lm_head=False))
    src.save_pretrained(tmp_path / "src")
    torch.manual_seed(2)
    model = Seq2SeqLM(_toy_config(tie_embeddings=False, tie_lm_head=False))
    head0 = model.lm_head.weight.detach().clone()
    dec_emb0 = model.decoder.embed_tokens.weight.detach().clone()
    cfg = _cfg(tmp_path, steps=1, freeze_encoder_steps=1, encoder_init=str(tmp_path / "src"), ckpt_every=100)
    train(cfg, model=model, data=ToyStream())
    theirs = src.encoder.state_dict()
    for k, v in model.encoder.state_dict().items():  # copied, and unchanged by the frozen step
        assert torch.equal(v, theirs[k]), k
    # AlexaTM: the untied decoder input embeddings and LM head start from the encoder's token table (not
    # tied to it: they train on while the encoder is frozen); they used to keep their random init
    table = src.encoder.embed_tokens.weight
    for w, w0 in ((model.decoder.embed_tokens.weight, dec_emb0), (model.lm_head.weight, head0)):
        assert w is not model.encoder.embed_tokens.weight and not torch.equal(w, table)  # trained one step
        assert (w - table).abs().max() < (w0 - table).abs().max() / 10  # near the table, far from its init
        assert (w - table).abs().max() < 1e-2
    # a table the model shares with its decoder and LM head is the encoder's: it takes the source's values
    tied = Seq2SeqLM(_toy_config())
    cfg = _cfg(tmp_path / "tied", steps=1, encoder_init=str(tmp_path / "src"), lr=1e-9, min_lr=0.0)
    train(cfg, model=tied, data=ToyStream())
    assert torch.allclose(tied.lm_head.weight, src.encoder.embed_tokens.weight, atol=1e-6)


def test_resume_needs_no_encoder_init_source(tmp_path):
    """The checkpoint holds the warm-started (and since trained) encoder: --resume must not read the source
    again (it may be a 10B model on a scratch disk that is gone by then)."""
    import shutil

    from tandem.model import Seq2SeqLM

    Seq2SeqLM(_toy_config()).save_pretrained(tmp_path / "src")
    ref = train(
        _cfg(tmp_path / "ref", steps=4, encoder_init=str(tmp_path / "src")),
        model=tiny_model(),
        data=ToyStream(),
    )
    cfg = _cfg(tmp_path, steps=4, encoder_init=str(tmp_path / "src"), stop_after=2, ckpt_every=100)
    train(cfg, model=tiny_model(), data=ToyStream())
    shutil.rmtree(tmp_path / "src")
    res = train(dataclasses.replace(cfg, stop_after=None, resume=True), model=tiny_model(), data=ToyStream())
    assert [r["loss"] for r in res.records] == pytest.approx([r["loss"] for r in ref.records[2:]], abs=1e-6)


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"encoder_layers": 2}, "2 encoder layers vs this model's 1"),  # the extra layer was dropped silently
        ({"num_heads": 4}, "num_heads 4 vs this model's 2"),  # same shapes, another function
        ({"activation": "relu"}, "activation 'relu'"),
        ({"d_model": 48, "ffn_dim": 64}, "another shape"),
    ],
)
def test_encoder_init_from_another_architecture_is_refused(tmp_path, overrides, message):
    from tandem.model import Seq2SeqLM

    Seq2SeqLM(_toy_config(**overrides)).save_pretrained(tmp_path / "src")
    model = Seq2SeqLM(_toy_config())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = _cfg(tmp_path, steps=1, encoder_init=str(tmp_path / "src"))
    with pytest.raises(TandemError, match=f"--encoder-init .*{message}"):
        train(cfg, model=model, data=ToyStream())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_a_token_table_shared_with_the_decoder_trains_while_the_encoder_is_frozen(tmp_path):
    """The tiny preset ties the encoder's token table to the decoder's and to the LM head: freezing the
    encoder must not freeze the decoder's input embeddings and output layer."""
    model = tiny_model()
    assert model.lm_head.weight is model.encoder.embed_tokens.weight is model.decoder.embed_tokens.weight
    table0 = model.lm_head.weight.detach().clone()
    pos0 = model.encoder.embed_positions.weight.detach().clone()
    train(_cfg(tmp_path, steps=2, freeze_encoder_steps=2, ckpt_every=100), model=model, data=ToyStream())
    assert torch.equal(model.encoder.embed_positions.weight, pos0)  # the encoder's own: frozen
    assert not torch.equal(model.lm_head.weight, table0)  # shared with the decoder: trained


def test_fused_cross_entropy_under_bf16_autocast_matches_autocast_head():
    torch.manual_seed(0)
    h = torch.randn(40, 32, requires_grad=True)
    w = torch.randn(100, 32, requires_grad=True)
    y = torch.randint(0, 100, (40,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, _, _ = fused_linear_cross_entropy(h, w, y, chunk_tokens=16)
        ref = F.cross_entropy(F.linear(h, w).float(), y)  # what a bf16 LM head + fp32 CE computes
    assert loss.dtype == torch.float32 and abs(loss.item() - ref.item()) < 1e-4
    loss.backward()
    assert h.grad.dtype == torch.float32 and w.grad.dtype == torch.float32


@pytest.mark.parametrize(
    "field,value",
    [
        ("lr", -1.0),
        ("lr", 0.0),
        ("min_lr", -1e-5),
        ("alpha", -0.5),
        ("spoken_fraction", 1.5),
        ("clip", -1.0),
        ("weight_decay", -0.1),
        ("eps", 0.0),
        ("betas", (0.9, 1.5)),
        ("betas", 0.9),
        ("target_len", 0),
        ("num_workers", -1),
        ("keep_ckpts", 0),
        ("objective", "bert"),
        ("schedule", "step"),
        ("steps", 2.5),
        ("freeze_encoder_steps", -3),
        ("alpha", float("inf")),
        ("data", [5]),
        ("decontaminate", [5]),
        ("langs", "en"),
        # each of these ran: an infinite lr or eps gave NaN weights or no update at all, a seed out of numpy's
        # range and a mean span out of numpy's Poisson range a traceback, stop_after 0 a run doing nothing
        # and saying nothing, a negative loss_chunk_tokens a loss of 0 over no chunk at all
        ("lr", float("inf")),
        ("min_lr", float("inf")),
        ("eps", float("inf")),
        ("seed", -1),
        ("seed", 2**64),
        ("mean_span", float("inf")),
        ("vocab_size", 0),
        ("stop_after", 0),
        ("stop_after", -2),
        ("loss_chunk_tokens", -5),
        ("loss_chunk_tokens", 0),
    ],
)
def test_out_of_range_config_is_a_clear_error_before_anything_is_written(tmp_path, field, value):
    cfg = _cfg(tmp_path)
    setattr(cfg, field, value)
    with pytest.raises(TandemError, match=field):
        train(cfg, model=tiny_model(), data=ToyStream())
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("dropout", [-0.5, 1.0, float("nan")])
def test_dropout_outside_0_1_is_refused_naming_the_flag(tmp_path, dropout):
    """--dropout -0.5 stopped the run with torch's ValueError at the first forward pass (with --init-from
    too); 1.0 zeroed every activation and trained nothing."""
    from tandem.config import ModelConfig

    with pytest.raises(TandemError, match=r"dropout \(--dropout\) must be in \[0, 1\)"):
        _cfg(tmp_path, model_overrides={"dropout": dropout}).validate()
    with pytest.raises(TandemError, match=r"dropout \(--dropout\)"):
        _cfg(tmp_path, model_overrides={"dropout": dropout}, init_from=str(tmp_path / "m")).validate()
    with pytest.raises(TandemError, match="dropout must be in"):
        ModelConfig.preset("tiny", dropout=dropout)
    _cfg(tmp_path, model_overrides={"dropout": 0.0}).validate()
    assert ModelConfig.preset("tiny", dropout=0.99).dropout == 0.99


def test_betas_of_the_wrong_shape_in_a_config_file_are_a_clear_error():
    with pytest.raises(TandemError, match="betas"):
        TrainConfig.from_dict({"betas": 0.9})


def test_out_that_is_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    for out in (tmp_path / "afile", tmp_path / "afile" / "sub"):
        with pytest.raises(TandemError, match="afile"):
            train(_cfg(tmp_path, out=str(out)), model=tiny_model(), data=ToyStream())


def test_min_lr_above_lr_is_refused_only_for_schedules_that_decay_to_it(tmp_path):
    """min_lr is where linear and cosine decay end: above lr it is an error there, but the constant schedule
    never uses it, so `--lr 3e-6 --schedule constant` runs despite the default min_lr 5e-6."""
    cfg = _cfg(tmp_path, lr=3e-6, min_lr=5e-6, schedule="constant", steps=2, ckpt_every=2)
    res = train(cfg, model=tiny_model(), data=ToyStream())
    assert res is not None and (tmp_path / "run").is_dir()
    assert LRSchedule(peak=3e-6, total=10, warmup=2, min_lr=5e-6, kind="constant")(5) == 3e-6
    for kind in ("linear", "cosine"):
        with pytest.raises(TandemError, match="min_lr"):
            _cfg(tmp_path, lr=3e-6, min_lr=5e-6, schedule=kind).validate()


def test_compile_mode_auto_takes_cuda_graphs_only_on_one_gpu_with_one_micro_batch():
    from tandem.train.trainer import resolve_compile_mode, uses_cuda_graphs

    gpu, cpu = torch.device("cuda", 0), torch.device("cpu")
    assert resolve_compile_mode("auto", gpu, 1, 1) == "reduce-overhead"
    assert uses_cuda_graphs(resolve_compile_mode("auto", gpu, 1, 1))
    # FSDP2 over ranks, accumulated gradients (CUDA-graph outputs overwritten by the next micro-batch), CPU
    for args in ((gpu, 2, 1), (gpu, 1, 2), (cpu, 1, 1)):
        assert resolve_compile_mode("auto", *args) is None
    assert resolve_compile_mode("default", gpu, 1, 1) is None
    assert resolve_compile_mode("max-autotune-no-cudagraphs", gpu, 1, 1) == "max-autotune-no-cudagraphs"
    assert not uses_cuda_graphs("max-autotune-no-cudagraphs") and not uses_cuda_graphs(None)
    assert resolve_compile_mode("reduce-overhead", gpu, 2, 1) == "reduce-overhead"  # asked for: kept
    with pytest.raises(TandemError, match="compile_mode 'fast'"):
        TrainConfig(compile_mode="fast").validate()


def test_compile_passes_the_resolved_mode_to_parallelize(tmp_path, monkeypatch):
    """--compile compiles each block with the mode --compile-mode resolves to (here on CPU: auto is
    Inductor's default, None), and without --compile nothing is compiled whatever the mode."""
    import tandem.train.trainer as trainer

    seen = []
    real = trainer.parallelize

    def spy(module, device, **kw):
        seen.append((kw["compile"], kw["compile_mode"]))
        return real(module, device, **(kw | {"compile": False}))  # the mode is what is checked here

    monkeypatch.setattr(trainer, "parallelize", spy)
    for i, (compile_, mode) in enumerate(
        [(True, "auto"), (True, "max-autotune-no-cudagraphs"), (False, "auto")]
    ):
        train(
            _cfg(tmp_path / str(i), steps=1, compile=compile_, compile_mode=mode),
            model=tiny_model(),
            data=ToyStream(),
        )
    assert seen == [(True, None), (True, "max-autotune-no-cudagraphs"), (False, None)]


def test_the_training_loss_needs_one_data_dependent_shape_per_step(monkeypatch):
    """On a GPU every nonzero/item is a host sync that leaves the device idle until the host catches up. The
    train module's loss selects the scored tokens with one nonzero (boolean indexing of hidden states and
    labels took one each, the per-example sums a third) and reads no value back; an all-ones source mask is
    checked once (the encoder and the decoder's cross-attention each checked it)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops: list[str] = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = func.overloadpacket.__name__
            if name == "index" and any(t is not None and t.dtype == torch.bool for t in args[1]):
                name = "index(bool)"  # boolean indexing runs a nonzero inside the kernel
            self.ops.append(name)
            return func(*args, **(kwargs or {}))

    import tandem.train.loss as loss_mod

    # the GPU's chunk kernel (the CPU's reads back whether any target underflowed, free on CPU)
    monkeypatch.setattr(loss_mod, "_softmax_kernel_for", lambda device: False)
    torch.manual_seed(0)
    module = Seq2SeqTrainModule(tiny_model())
    ids = torch.randint(4, VOCAB, (3, 9))
    labels = torch.randint(4, VOCAB, (3, 5))
    labels[1, 3:] = -100
    for fused in (True, False):
        module.fused_loss = fused and module.fused_loss
        with Count() as c:
            loss, ex_loss, ex_tok = module(ids, None, labels)
        with Count() as c_mask:  # an all-ones source mask is checked once, not by each stack
            module(ids, torch.ones_like(ids), labels)
        mask_syncs = [op for op in c_mask.ops if op in ("is_nonzero", "_local_scalar_dense", "item")]
        assert len(mask_syncs) == 1, mask_syncs
        padded = torch.ones_like(ids)
        padded[0, 6:] = 0
        with Count() as c_pad:  # so is a mask that masks something (the stacks are told, not checking again)
            module(ids, padded, labels)
        pad_syncs = [op for op in c_pad.ops if op in ("is_nonzero", "_local_scalar_dense", "item")]
        assert len(pad_syncs) == 1, pad_syncs
        sync_ops = ("nonzero", "index(bool)", "masked_select", "_local_scalar_dense", "item", "is_nonzero")
        syncs = [op for op in c.ops if op in sync_ops]
        assert syncs == ["nonzero"], (fused, syncs)
        # the per-example sums are the token losses of each row (against an independent plain CE)
        from tandem.train.loss import shift_right

        dec = shift_right(labels, module.start_id, module.pad_id)
        logits = module.model(input_ids=ids, decoder_input_ids=dec).logits
        per_tok = F.cross_entropy(logits.transpose(1, 2), labels, reduction="none", ignore_index=-100)
        torch.testing.assert_close(ex_loss, per_tok.sum(1).detach(), rtol=1e-5, atol=1e-5)
        assert ex_tok.tolist() == [5, 3, 5]


def test_compile_mode_is_said_and_checked_before_training(tmp_path, capsys):
    """The run says how it compiles; CUDA graphs asked for with accumulated gradients are refused before
    anything is trained; a mode without --compile is warned about."""
    train(_cfg(tmp_path / "a", steps=1, compile=True), model=tiny_model(), data=ToyStream())
    assert "compile: each block with torch.compile, in Inductor's default mode (--compile-mode auto)" in (
        capsys.readouterr().out
    )
    with pytest.raises(TandemError, match="reduce-overhead .* does not work with --grad-accum 2"):
        train(
            _cfg(tmp_path / "b", compile=True, compile_mode="reduce-overhead", grad_accum=2),
            model=tiny_model(),
            data=ToyStream(),
        )
    assert not (tmp_path / "b" / "metrics.jsonl").exists()
    train(_cfg(tmp_path / "c", steps=1, compile_mode="default"), model=tiny_model(), data=ToyStream())
    assert "--compile-mode default has no effect without --compile" in capsys.readouterr().err
    # CUDA graphs are a GPU's: on CPU the mode compiles as Inductor's default, and the run says so
    train(
        _cfg(tmp_path / "d", steps=1, compile=True, compile_mode="reduce-overhead"),
        model=tiny_model(),
        data=ToyStream(),
    )
    assert "in reduce-overhead mode (--compile-mode reduce-overhead)" in capsys.readouterr().out


def test_matmul_peak_times_rounds_of_back_to_back_matmuls():
    """The MFU denominator: two untimed calls, then `iters` timed rounds; a round lasts at least `round_s`
    (several matmuls back to back, so that launch and synchronisation do not count on a GPU)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from tandem.train.flops import measure_matmul_peak

    class Count(TorchDispatchMode):
        mm = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Count.mm += func.overloadpacket.__name__ == "mm"
            return func(*args, **(kwargs or {}))

    with Count():
        peak = measure_matmul_peak("cpu", torch.float32, n=64, iters=3, warm_s=0.0, round_s=0.0)
    assert Count.mm == 2 + 3 and peak > 0
    Count.mm = 0
    with Count():
        measure_matmul_peak("cpu", torch.float32, n=64, iters=3, warm_s=0.0, round_s=0.05)
    assert Count.mm >= 2 + 3 * 4  # a 64x64 matmul takes far less than 12 ms: several per round


def test_a_training_step_reads_one_value_back_from_the_device(tmp_path, monkeypatch):
    """Each value read back from a GPU (item, tolist, a data-dependent shape) stalls the host until the device
    has caught up. A one-process training step read ten: the agreed token count (a tensor built on the device
    for an all-reduce there is none of), whether the source mask masks anything, the scored labels' indices
    (a nonzero), and six boolean selections for the per-objective loss sums. All are known on the host before
    the batch moves; what is left is the gradient norm (a step whose gradient is not finite is not applied).
    Counted as the difference between runs of 4 and 2 steps, so that setup, logging and the final
    checkpoint cancel out."""
    from torch.utils._python_dispatch import TorchDispatchMode

    reads: list[str] = []
    tolist = torch.Tensor.tolist

    def counting_tolist(self):
        reads.append("tolist")
        return tolist(self)

    class Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = func.overloadpacket.__name__
            if name == "index" and any(t is not None and t.dtype == torch.bool for t in args[1]):
                name = "index(bool)"
            if name in ("nonzero", "index(bool)", "masked_select", "_local_scalar_dense", "is_nonzero"):
                reads.append(name)
            return func(*args, **(kwargs or {}))

    monkeypatch.setattr(torch.Tensor, "tolist", counting_tolist)
    import tandem.train.loss as loss_mod

    # the GPU's chunk kernel (the CPU's reads back whether any target underflowed, free on CPU)
    monkeypatch.setattr(loss_mod, "_softmax_kernel_for", lambda device: False)
    counts = {}
    for steps in (2, 4):
        reads.clear()
        cfg = _cfg(tmp_path / str(steps), steps=steps, log_every=100, ckpt_every=100)
        model = tiny_model()
        with Count():
            res = train(cfg, model=model, data=ToyStream())
        assert res.step == steps
        counts[steps] = list(reads)
    per_step = (len(counts[4]) - len(counts[2])) / 2
    assert per_step == 1, (counts[2], counts[4])


def test_a_bf16_residual_stream_under_autocast(tmp_path, capsys):
    """`--residual-dtype bf16` (and auto, the default, under bf16 autocast): under bf16 autocast every layer gets (and the stream between layers keeps)
    bf16 hidden states, where autocast alone gives fp32 (a norm's output is fp32); the loss stays that of the
    fp32 stream to bf16 precision. Without autocast the setting changes nothing, and a fp32 run says so."""
    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM

    def layer_inputs(model):
        seen = []
        for layer in [*model.encoder.layers, *model.decoder.layers]:
            layer.register_forward_pre_hook(lambda _m, args: seen.append(args[0].dtype))
        return seen

    for pre_norm in (True, False):  # a post-LN layer ends with a norm: cast after it too
        torch.manual_seed(0)
        cfg = ModelConfig.preset("tiny", vocab_size=VOCAB, d_model=32, num_heads=2, ffn_dim=64, dropout=0.0)
        cfg.pre_norm = pre_norm
        model = Seq2SeqLM(cfg)
        module = Seq2SeqTrainModule(model)
        seen = layer_inputs(model)
        ids = torch.randint(4, VOCAB, (3, 9))
        mask = torch.ones_like(ids)
        mask[1, 6:] = 0
        labels = torch.randint(4, VOCAB, (3, 7))
        losses = {}
        for dtype in (None, torch.bfloat16):
            model.set_residual_dtype(dtype)
            seen.clear()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss, _, _ = module(ids, mask, labels)
            loss.backward()
            assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
            model.zero_grad()
            losses[dtype] = float(loss.detach())
            assert set(seen) == {torch.float32 if dtype is None else torch.bfloat16}, (pre_norm, dtype, seen)
        assert losses[torch.bfloat16] == pytest.approx(losses[None], rel=2e-2)
        model.set_residual_dtype(torch.bfloat16)
        with torch.no_grad():  # no autocast: unchanged, bit for bit
            on = module(ids, mask, labels)[0]
            model.set_residual_dtype(None)
            off = module(ids, mask, labels)[0]
        assert torch.equal(on, off)

    # the trainer: bf16 asked for, or by default (auto) under bf16 autocast; fp32 keeps the fp32 stream
    for setting, precision, want in (
        ("bf16", "bf16", torch.bfloat16),
        (None, "bf16", torch.bfloat16),
        ("fp32", "bf16", torch.float32),
        (None, "fp32", torch.float32),
    ):
        model = tiny_model()
        seen = layer_inputs(model)
        kw = {} if setting is None else {"residual_dtype": setting}
        run = tmp_path / f"{setting}-{precision}"
        train(_cfg(run, steps=1, precision=precision, **kw), model=model, data=ToyStream())
        assert seen and set(seen) == {want}, (setting, precision, set(seen))
        assert "residual" not in capsys.readouterr().err  # nothing to warn of
    train(_cfg(tmp_path / "fp32", steps=1, residual_dtype="bf16"), model=tiny_model(), data=ToyStream())
    assert "--residual-dtype bf16 has no effect without bf16 autocast" in capsys.readouterr().err
    with pytest.raises(TandemError, match="residual_dtype 'fp16'"):
        train(_cfg(tmp_path / "x", residual_dtype="fp16"), model=tiny_model(), data=ToyStream())


def test_clipping_with_a_fused_optimizer_is_folded_into_its_step():
    """With torch's fused AdamW the clipping factor goes to the step as its `grad_scale` (one pass over the
    gradients fewer): the gradients are untouched until the step, which then leaves them clipped, and the
    weights follow those of clipping first, over several steps; no clip, no scale."""
    torch.manual_seed(0)
    ref_model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    model.load_state_dict(ref_model.state_dict())
    opts = [build_optimizer(m, lr=1e-2, weight_decay=0.1, fused=True) for m in (ref_model, model)]
    for _ in range(4):
        x = torch.randn(32, 8) * 50  # large gradients: clipping active
        for m in (ref_model, model):
            m.zero_grad()
            m(x).pow(2).mean().backward()
        ref_params = [p for p in ref_model.parameters()]
        norm_ref = torch.nn.utils.get_total_norm([p.grad for p in ref_params])
        torch.nn.utils.clip_grads_with_norm_(ref_params, 1.0, norm_ref)
        clipped = [p.grad.clone() for p in ref_params]
        opts[0].step()
        before = [p.grad.clone() for p in model.parameters()]
        norm = clip_grad_norm(model.parameters(), 1.0, opts[1])
        assert norm == pytest.approx(float(norm_ref), rel=1e-6) and norm > 1.0
        assert all(torch.equal(p.grad, b) for p, b in zip(model.parameters(), before, strict=True))
        assert float(opts[1].grad_scale) == pytest.approx((norm + 1e-6) / 1.0, rel=1e-6)
        opts[1].step()
        for p, c in zip(model.parameters(), clipped, strict=True):
            torch.testing.assert_close(p.grad, c, rtol=1e-5, atol=1e-7)
        for p, q in zip(model.parameters(), ref_model.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    clip_grad_norm(model.parameters(), 0.0, opts[1])
    assert opts[1].grad_scale is None


def test_a_deferred_norm_skips_a_non_finite_step_on_the_device():
    """`clip_grad_norm(defer=True)`: the norm comes back as a tensor (nothing read to the host), the clipped
    step is the one `defer=False` makes, and a non-finite norm makes the fused step leave the weights, the
    moments and the step count as they were (torch's `found_inf`); the next finite step applies as usual.
    A non-fused optimizer cannot defer, and says so."""
    from tandem.train.optim import can_defer_norm

    torch.manual_seed(0)
    models = [nn.Linear(8, 4) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    opts = [build_optimizer(m, lr=1e-2, weight_decay=0.1, fused=True) for m in models]
    assert all(can_defer_norm(o) for o in opts)
    x = torch.randn(16, 8) * 50
    for m in models:
        m(x).pow(2).mean().backward()
    eager = clip_grad_norm(models[0].parameters(), 1.0, opts[0])
    late = clip_grad_norm(models[1].parameters(), 1.0, opts[1], defer=True)
    assert isinstance(late, torch.Tensor) and float(late) == pytest.approx(eager, rel=1e-6)
    assert float(opts[1].found_inf) == 0.0
    for o in opts:
        o.step()
    for p, q in zip(models[0].parameters(), models[1].parameters(), strict=True):
        assert torch.equal(p, q)
    m, o = models[1], opts[1]
    state = {k: [v.clone() for v in o.state[p].values()] for k, p in enumerate(m.parameters())}
    weights = [p.detach().clone() for p in m.parameters()]
    o.zero_grad()
    m(x * float("nan")).sum().backward()
    norm = clip_grad_norm(m.parameters(), 1.0, o, defer=True)
    assert not torch.isfinite(norm) and float(o.found_inf) == 1.0
    o.step()
    assert all(torch.equal(p, w) for p, w in zip(m.parameters(), weights, strict=True))
    for k, p in enumerate(m.parameters()):
        assert all(torch.equal(a, b) for a, b in zip(o.state[p].values(), state[k], strict=True))
    o.zero_grad()
    m(x).pow(2).mean().backward()
    clip_grad_norm(m.parameters(), 1.0, o, defer=True)
    o.step()
    assert not all(torch.equal(p, w) for p, w in zip(m.parameters(), weights, strict=True))
    assert float(o.state[next(iter(m.parameters()))]["step"]) == 2.0
    clip_grad_norm(m.parameters(), 1.0, o)  # not deferred: no found_inf left from the deferred steps
    assert o.found_inf is None
    plain = torch.optim.AdamW(nn.Linear(2, 2).parameters(), foreach=True)
    assert not can_defer_norm(plain)
    with pytest.raises(ValueError, match="fused"):
        clip_grad_norm([], 1.0, plain, defer=True)


def test_the_loss_chunk_on_cpu_stays_in_the_cache():
    """On CPU the fused loss works in chunks of ~16 MiB of fp32 logits (a 256 MiB block spilled every pass of
    the softmax to memory: 14% slower at 8192 tokens of an 8000-word vocabulary), never under 256 tokens;
    on a GPU, ~2 GiB."""
    from tandem.train.loss import _auto_chunk

    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert _auto_chunk(8000, cpu) == 16 * 2**20 // (4 * 8000) == 524
    assert _auto_chunk(250_000, cpu) == 256  # the floor: a big vocabulary's GEMMs need rows
    assert _auto_chunk(32_000, gpu) == 2 * 2**30 // (4 * 32_000)
