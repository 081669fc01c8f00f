"""Ensembles: the mean of the members' probabilities, in forward and in every decoding mode, and as a
distillation teacher."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tandem.config import ModelConfig
from tandem.distill import DistillConfig, build_student, distill
from tandem.distill.loop import _fingerprint
from tandem.errors import TandemError
from tandem.finetune import Encoded, collate
from tandem.model import Ensemble, Seq2SeqLM

V = 40


def tiny(**kw) -> ModelConfig:
    base = dict(vocab_size=V, d_model=32, num_heads=2, ffn_dim=64, encoder_layers=2, decoder_layers=2)
    base.update(max_positions=32, **kw)
    return ModelConfig.preset("tiny", **base)


def members(n: int = 3, **kw) -> list[Seq2SeqLM]:
    out = []
    for k in range(n):
        torch.manual_seed(100 + k)
        out.append(Seq2SeqLM(tiny(**{"init_std": 1.0, **kw})).eval())  # wide init: members disagree
    return out


def toy_data(n: int = 16, seed: int = 0) -> list[Encoded]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        src = torch.randint(7, V, (int(torch.randint(3, 7, (1,), generator=g)),), generator=g).tolist()
        out.append(Encoded(i, src + [2], src[::-1] + [2]))
    return out


def test_forward_is_the_log_of_the_mean_probability():
    ms = members(3)
    batch = collate(toy_data(4), 1)
    ens = Ensemble(ms)
    with torch.no_grad():
        out = ens(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
        )
        probs = [
            F.softmax(
                m(
                    input_ids=batch["input_ids"],
                    attention_mask=batch["attention_mask"],
                    labels=batch["labels"],
                ).logits,
                -1,
            )
            for m in ms
        ]
    want = torch.log((probs[0] + probs[1] + probs[2]) / 3)
    assert torch.allclose(out.logits, want, atol=1e-5)
    assert torch.allclose(out.logits.exp().sum(-1), torch.ones(out.logits.shape[:2]), atol=1e-5)
    mask = batch["labels"] != -100
    nll = -want.gather(-1, batch["labels"].clamp(min=0)[..., None])[..., 0][mask].mean()
    assert math.isclose(float(out.loss), float(nll), rel_tol=1e-5)


def test_greedy_decoding_equals_step_by_step_argmax_of_the_mean():
    """The incremental (cached) ensemble decoder against recomputing the whole prefix at every step."""
    ms = members(3)
    ens = Ensemble(ms)
    data = toy_data(6, seed=1)
    batch = collate(data, 1)
    ids, am = batch["input_ids"], batch["attention_mask"]
    got = ens.generate(ids, am, max_new_tokens=8)
    c = ms[0].config
    seq = torch.full((ids.shape[0], 1), c.decoder_start_token_id)
    done = torch.zeros(ids.shape[0], dtype=torch.bool)
    with torch.no_grad():
        for _ in range(8):
            p = sum(
                F.softmax(m(input_ids=ids, attention_mask=am, decoder_input_ids=seq).logits[:, -1], -1)
                for m in ms
            )
            nxt = torch.where(done, c.pad_token_id, p.argmax(-1))
            seq = torch.cat([seq, nxt[:, None]], 1)
            done |= nxt == c.eos_token_id
            if done.all():
                break
    assert torch.equal(got, seq)
    # and it is not simply one member's decoding
    assert any(not torch.equal(got, m.generate(ids, am, max_new_tokens=8)) for m in ms)


@pytest.mark.parametrize("opts", [dict(), dict(num_beams=3), dict(num_beams=3, num_return_sequences=2)])
def test_copies_of_one_model_decode_as_that_model(opts):
    """The mean of identical distributions is that distribution: greedy and beam search agree exactly."""
    (m,) = members(1)
    twin = Seq2SeqLM(m.config).eval()
    twin.load_state_dict(m.state_dict())
    batch = collate(toy_data(5, seed=2), 1)
    ids, am = batch["input_ids"], batch["attention_mask"]
    want = m.generate(ids, am, max_new_tokens=7, **opts)
    got = Ensemble([m, twin]).generate(ids, am, max_new_tokens=7, **opts)
    assert torch.equal(got, want)


def test_members_must_share_the_vocabulary():
    a, b = members(2)
    with pytest.raises(TandemError, match="vocab_size=41 but member 1 has 40"):
        Ensemble([a, Seq2SeqLM(tiny(vocab_size=41))])
    with pytest.raises(TandemError, match="eos_token_id"):
        Ensemble([a, Seq2SeqLM(tiny(eos_token_id=3))])
    with pytest.raises(TandemError, match="at least two"):
        Ensemble([a])
    Ensemble([a, Seq2SeqLM(tiny(d_model=16, ffn_dim=32, encoder_layers=1))])  # other shapes are fine


def test_an_ensemble_teaches_a_student(tmp_path):
    ms = members(2)
    ens = Ensemble(ms)
    student, report = build_student(ens, "shrink:1,1")
    assert report["copied"] and report["source"] == "ensemble member 1"
    assert torch.equal(student.encoder.layers[0].ffn.fc1.weight, ms[0].encoder.layers[0].ffn.fc1.weight)
    cfg = DistillConfig(epochs=1, batch_size=8, lr=3e-3, log_every=1000, device="cpu", topk=5)
    r = distill(ens, student, toy_data(16), cfg, out_dir=tmp_path, log=None)
    assert r.teacher_forwards == 2 and r.stages["task"].steps == 2
    # the logit cache is keyed on every member: another second member means another cache
    other = Ensemble([ms[0], members(3)[2]])
    assert _fingerprint(ens, toy_data(4)) != _fingerprint(other, toy_data(4))
    with pytest.raises(TandemError, match="hidden-state matching needs one teacher"):
        distill(ens, student, toy_data(16), DistillConfig(epochs=1, hidden_weight=1.0), log=None)
