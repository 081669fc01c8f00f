"""Distillation: losses, student initialisation, the top-k teacher-logit cache and the training loop."""

from tandem.distill.cache import TopKLogitCache
from tandem.distill.init import check_vocab, shrink_init, student_config, widths_match
from tandem.distill.loop import (
    DistillConfig,
    DistillLoss,
    DistillResult,
    Teacher,
    build_student,
    chain_configs,
    check_teacher_fits,
    distill,
    distill_chain,
    generic_examples,
    labels_from_generation,
)
from tandem.distill.losses import (
    HiddenStateProjector,
    hard_label_ce,
    hidden_mse,
    kd_loss,
    layer_map,
    token_divergence,
    topk_kd_loss,
)

__all__ = [
    "DistillConfig",
    "DistillLoss",
    "DistillResult",
    "HiddenStateProjector",
    "Teacher",
    "TopKLogitCache",
    "build_student",
    "chain_configs",
    "check_teacher_fits",
    "check_vocab",
    "distill",
    "distill_chain",
    "generic_examples",
    "hard_label_ce",
    "hidden_mse",
    "kd_loss",
    "labels_from_generation",
    "layer_map",
    "shrink_init",
    "student_config",
    "token_divergence",
    "topk_kd_loss",
    "widths_match",
]
