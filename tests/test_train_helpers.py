"""Stand-ins for the trainer tests (no test functions here): a micro model, a deterministic batch stream,
and a `main()` that subprocess tests (SIGKILL, torchrun) launch with a JSON TrainConfig."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

VOCAB = 64

# the settings of the trainer tests' short runs (6 steps, a checkpoint at 3, a row per step, no progress bar,
# TensorBoard or plot), as TrainConfig fields; a test overrides what it is about
TOY_RUN = dict(
    steps=6,
    warmup=2,
    lr=3e-3,
    min_lr=1e-4,
    log_every=1,
    ckpt_every=3,
    progress=False,
    tensorboard=False,
    plot=False,
    device="cpu",
)


def tiny_model(dropout: float = 0.0, seed: int = 0):
    """A 2-layer tandem Seq2SeqLM small enough for sub-second steps on one CPU core."""
    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM

    torch.manual_seed(seed)
    cfg = ModelConfig.preset(
        "tiny",
        vocab_size=VOCAB,
        d_model=32,
        num_heads=2,
        ffn_dim=64,
        encoder_layers=1,
        decoder_layers=1,
        max_positions=64,
        dropout=dropout,
    )
    return Seq2SeqLM(cfg)


class ToyStream:
    """Batch `i` of the global stream is a pure function of (seed, i); rank r gets its slice of the rows.

    Targets copy the source (a denoising-like task the model can learn); lengths vary so padding and -100
    labels are exercised; `kind` alternates between the objectives.
    """

    def __init__(
        self,
        batch: int = 4,
        src: int = 12,
        tgt: int = 12,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        limit: int | None = None,
        fail_at: int | None = None,
    ):
        self.batch, self.src, self.tgt, self.seed, self.rank, self.world = batch, src, tgt, seed, rank, world
        self.limit = limit  # batches before the stream runs out (None: never)
        self.fail_at = fail_at  # drawing batch `fail_at` raises a TandemError (bad data it cannot skip)
        self.pos = 0

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        if self.limit is not None and self.pos >= self.limit:
            raise StopIteration
        if self.fail_at is not None and self.pos == self.fail_at:
            from tandem.errors import TandemError

            raise TandemError(f"rank {self.rank}: batch {self.pos} is unreadable (test)")
        rng = np.random.default_rng([self.seed, self.pos])
        self.pos += 1
        n = self.batch * self.world
        ids = rng.integers(7, VOCAB, (n, self.src))
        lens = rng.integers(self.src // 2, self.src + 1, n)
        mask = np.arange(self.src)[None, :] < lens[:, None]
        ids = np.where(mask, ids, 1)
        labels = np.full((n, self.tgt), -100)
        for i in range(n):
            k = min(int(lens[i]), self.tgt)
            labels[i, :k] = ids[i, :k]
        kinds = ["denoise" if i % 2 == 0 else "clm" for i in range(n)]
        sl = slice(self.rank * self.batch, (self.rank + 1) * self.batch)
        return {
            "input_ids": torch.from_numpy(ids[sl]),
            "attention_mask": torch.from_numpy(mask[sl].astype(np.int64)),
            "labels": torch.from_numpy(labels[sl]),
            "kind": kinds[sl],
        }

    def state_dict(self) -> dict:
        return {"pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.pos = int(state["pos"])

    def load_resharded(self, states: list[dict]) -> None:
        """The saved ranks' states under another number of ranks: every rank was at the same global batch."""
        assert len({s["pos"] for s in states}) == 1, states
        self.pos = int(states[0]["pos"])


def val_batches(n: int, batch: int = 3) -> list[dict]:
    """`n` fixed validation batches of `batch` rows (a ToyStream of its own seed; lengths vary)."""
    stream = ToyStream(batch=batch, seed=99)
    return [next(stream) for _ in range(n)]


def record_dropout_masks(path: str) -> None:
    """Append a digest of the mask of every training-time `F.dropout` call to `path`, one line each."""
    import hashlib

    import torch.nn.functional as F

    plain = F.dropout

    def dropout(x, p=0.5, training=True, inplace=False):
        y = plain(x, p, training, inplace)
        if training and p > 0:
            with open(path, "a") as fh:
                fh.write(hashlib.sha1(((y == 0) & (x != 0)).numpy().tobytes()).hexdigest()[:16] + "\n")
        return y

    F.dropout = dropout


def main() -> None:
    """`python tests/test_train_helpers.py '{"out": ..., "steps": ...}' [global_batch] [dropout]`."""
    from tandem.train import TrainConfig, train

    torch.set_num_threads(1)
    cfg = TrainConfig.from_dict(json.loads(sys.argv[1]))
    global_batch = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    dropout = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    # TANDEM_TEST_RUN_OUT="R:N": rank R's data runs out after N batches (the other ranks' never does)
    out_rank, _, out_after = os.environ.get("TANDEM_TEST_RUN_OUT", "").partition(":")
    limit = int(out_after) if out_rank and int(out_rank) == rank else None
    # TANDEM_TEST_DATA_ERROR="R:N": rank R's stream raises a TandemError when drawing batch N
    err_rank, _, err_at = os.environ.get("TANDEM_TEST_DATA_ERROR", "").partition(":")
    fail_at = int(err_at) if err_rank and int(err_rank) == rank else None
    data = ToyStream(batch=global_batch // world, rank=rank, world=world, limit=limit, fail_at=fail_at)
    if os.environ.get("TANDEM_TEST_PID_DIR"):  # lets a test signal one rank
        pid_dir = os.environ["TANDEM_TEST_PID_DIR"]
        os.makedirs(pid_dir, exist_ok=True)
        with open(os.path.join(pid_dir, f"rank{rank}.pid"), "w") as fh:
            fh.write(str(os.getpid()))
    model = tiny_model(dropout)
    if os.environ.get("TANDEM_TEST_MASKS"):  # a digest of every dropout mask, one line each, per rank
        os.makedirs(os.environ["TANDEM_TEST_MASKS"], exist_ok=True)
        record_dropout_masks(os.path.join(os.environ["TANDEM_TEST_MASKS"], f"rank{rank}.txt"))
    # TANDEM_TEST_NAN="R:N": rank R's encoder output is NaN in its N-th training forward (step N)
    nan_rank, _, nan_at = os.environ.get("TANDEM_TEST_NAN", "").partition(":")
    if nan_rank and int(nan_rank) == rank:
        calls = [0]

        def poison(module, args, out):
            if module.training:
                calls[0] += 1
                if calls[0] == int(nan_at):
                    return (out[0] * float("nan"), *out[1:])
            return out

        model.encoder.register_forward_hook(poison)
    # TANDEM_TEST_VAL="N": validation on the N batches of `val_batches(N)` (every rank is given all of them)
    val = val_batches(int(os.environ["TANDEM_TEST_VAL"])) if os.environ.get("TANDEM_TEST_VAL") else None
    try:
        train(cfg, model=model, data=data, val=val)
    except KeyboardInterrupt as e:  # as `tandem pretrain` exits: 130 (SIGINT), 143 (SIGTERM)
        sys.exit(getattr(e, "exit_code", 130))


if __name__ == "__main__":
    main()
