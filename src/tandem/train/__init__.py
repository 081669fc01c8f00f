"""Pretraining: the trainer loop, optimizer and schedule, `parallelize()` (FSDP2, activation checkpointing,
compile, applied from outside the model), fused cross-entropy, atomic checkpoints and run logs."""

from tandem.train.checkpoint import Checkpointer, save_final_model
from tandem.train.loss import fused_linear_cross_entropy, token_cross_entropy
from tandem.train.module import Seq2SeqTrainModule
from tandem.train.optim import LRSchedule, build_optimizer, clip_grad_norm, param_groups
from tandem.train.parallelize import init_distributed, parallelize
from tandem.train.trainer import TrainConfig, TrainResult, train

__all__ = [
    "Checkpointer",
    "LRSchedule",
    "Seq2SeqTrainModule",
    "TrainConfig",
    "TrainResult",
    "build_optimizer",
    "clip_grad_norm",
    "fused_linear_cross_entropy",
    "init_distributed",
    "param_groups",
    "parallelize",
    "save_final_model",
    "token_cross_entropy",
    "train",
]
