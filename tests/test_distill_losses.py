"""Distillation losses against hand-computed values and the reference KD formula."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tandem.distill.losses import (
    HiddenStateProjector,
    hard_label_ce,
    hidden_mse,
    hidden_pairs,
    kd_loss,
    layer_map,
    mix_losses,
    topk_kd_loss,
)

LN3 = math.log(3.0)
# teacher p = [1/4, 3/4]; student q = [1/2, 1/2] (one position, two-word vocabulary)
TEACHER = torch.tensor([[[0.0, LN3]]])
STUDENT = torch.tensor([[[0.0, 0.0]]])


def test_hard_label_ce_hand_value_and_ignore_index():
    logits = torch.tensor([[[0.0, LN3], [5.0, -5.0]]])
    labels = torch.tensor([[1, -100]])
    # p(label 1) = 3/4 at the first position; the second is ignored
    assert hard_label_ce(logits, labels).item() == pytest.approx(math.log(4 / 3), rel=1e-5)


def test_forward_kl_hand_value():
    expected = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    assert kd_loss(STUDENT, TEACHER).item() == pytest.approx(expected, rel=1e-5)


def test_reverse_kl_hand_value():
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert kd_loss(STUDENT, TEACHER, divergence="reverse").item() == pytest.approx(expected, rel=1e-5)


def test_jsd_hand_value_and_symmetry_at_half():
    m = [0.375, 0.625]
    kl_pm = 0.25 * math.log(0.25 / m[0]) + 0.75 * math.log(0.75 / m[1])
    kl_qm = 0.5 * math.log(0.5 / m[0]) + 0.5 * math.log(0.5 / m[1])
    got = kd_loss(STUDENT, TEACHER, divergence="jsd", beta=0.5).item()
    assert got == pytest.approx(0.5 * kl_pm + 0.5 * kl_qm, rel=1e-5)
    swapped = kd_loss(TEACHER, STUDENT, divergence="jsd", beta=0.5).item()
    assert swapped == pytest.approx(got, rel=1e-5)
    # beta = 0.9: M = 0.9 p + 0.1 q
    m9 = [0.9 * 0.25 + 0.1 * 0.5, 0.9 * 0.75 + 0.1 * 0.5]
    kl_pm9 = 0.25 * math.log(0.25 / m9[0]) + 0.75 * math.log(0.75 / m9[1])
    kl_qm9 = 0.5 * math.log(0.5 / m9[0]) + 0.5 * math.log(0.5 / m9[1])
    got9 = kd_loss(STUDENT, TEACHER, divergence="jsd", beta=0.9).item()
    assert got9 == pytest.approx(0.9 * kl_pm9 + 0.1 * kl_qm9, rel=1e-5)


def test_temperature_scales_logits_and_multiplies_by_t_squared():
    # logits [0, 2 ln 3] at T = 2 give the same p = [1/4, 3/4]; the loss is then scaled by T^2 = 4
    expected = 4 * (0.25 * math.log(0.5) + 0.75 * math.log(1.5))
    assert kd_loss(STUDENT, TEACHER * 2, temperature=2.0).item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.5])
def test_kl_at_temperature_equals_hinton_reference(temperature):
    g = torch.Generator().manual_seed(1)
    s = torch.randn(3, 5, 11, generator=g)
    t = torch.randn(3, 5, 11, generator=g) * 3
    # reference: Hinton et al.: T^2 * KL(softmax(t/T) || softmax(s/T)), averaged over positions
    ref = F.kl_div(F.log_softmax(s / temperature, -1), F.softmax(t / temperature, -1), reduction="sum") / 15
    ref = ref * temperature**2
    assert kd_loss(s, t, temperature=temperature).item() == pytest.approx(ref.item(), rel=1e-5)


def test_mask_excludes_positions():
    s = torch.cat([STUDENT, torch.tensor([[[9.0, -9.0]]])], dim=1)
    t = torch.cat([TEACHER, torch.tensor([[[-9.0, 9.0]]])], dim=1)
    mask = torch.tensor([[1, 0]])
    expected = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    assert kd_loss(s, t, mask=mask).item() == pytest.approx(expected, rel=1e-5)
    assert kd_loss(s, t).item() > expected + 1  # the unmasked second position is very far apart


def test_kd_loss_is_zero_for_identical_and_rejects_shape_mismatch():
    x = torch.randn(2, 3, 7)
    for div in ("forward", "reverse", "jsd"):
        assert kd_loss(x, x, divergence=div).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="same vocabulary"):
        kd_loss(torch.zeros(1, 1, 5), torch.zeros(1, 1, 6))


def test_topk_forward_kl_hand_value_and_equals_full_kl_when_tail_is_empty():
    student = torch.zeros(1, 1, 4)  # q = 1/4 everywhere
    values = torch.tensor([[[LN3, 0.0]]])  # teacher top-2, renormalised: 3/4 on id 1, 1/4 on id 0
    idx = torch.tensor([[[1, 0]]])
    expected = 0.75 * math.log(0.75 / 0.25) + 0.25 * math.log(0.25 / 0.25)
    assert topk_kd_loss(student, values, idx).item() == pytest.approx(expected, rel=1e-5)
    full_teacher = torch.tensor([[[0.0, LN3, -1e4, -1e4]]])
    assert kd_loss(student, full_teacher).item() == pytest.approx(expected, rel=1e-5)


def test_topk_reverse_renormalises_student_over_the_k_ids():
    student = torch.tensor([[[0.0, LN3, 5.0, 5.0]]])  # over ids {1, 0}: q = [3/4, 1/4]
    values = torch.tensor([[[0.0, 0.0]]])  # p = [1/2, 1/2]
    idx = torch.tensor([[[1, 0]]])
    expected = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert topk_kd_loss(student, values, idx, divergence="reverse").item() == pytest.approx(
        expected, rel=1e-5
    )


def test_hidden_mse_and_projector_hand_values():
    s = torch.tensor([[[1.0, 2.0], [7.0, 7.0]]])
    t = torch.zeros(1, 2, 2)
    mask = torch.tensor([[1, 0]])
    assert hidden_mse(s, t, mask).item() == pytest.approx(2.5)
    proj = HiddenStateProjector(2, 3, [(1, 2)])
    with torch.no_grad():
        proj.proj[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
        proj.proj[0].bias.zero_()
    student_states = [torch.zeros(1, 2, 2), s]
    teacher_states = [torch.zeros(1, 2, 3)] * 3
    # projected first position: [1, 2, 3] -> mean square (1 + 4 + 9) / 3
    assert proj(student_states, teacher_states, mask).item() == pytest.approx(14 / 3, rel=1e-5)
    loss = proj(student_states, teacher_states, mask)
    loss.backward()
    assert proj.proj[0].weight.grad is not None


def test_layer_map_keeps_first_and_last_spread_evenly():
    assert layer_map(12, 1) == [0]
    assert layer_map(12, 3) == [0, 6, 11]
    assert layer_map(12, 4) == [0, 4, 7, 11]
    assert layer_map(6, 6) == list(range(6))
    assert layer_map(4, 2) == [0, 3]
    with pytest.raises(ValueError):
        layer_map(2, 3)
    assert hidden_pairs(2, 4) == [(1, 1), (2, 4)]


def test_mix_losses_weights_and_all_zero_error():
    terms = {"ce": torch.tensor(2.0), "kd": torch.tensor(3.0), "hidden": torch.tensor(100.0)}
    assert mix_losses(terms, {"ce": 0.5, "kd": 2.0}).item() == pytest.approx(7.0)
    with pytest.raises(ValueError, match="weight"):
        mix_losses(terms, {})
