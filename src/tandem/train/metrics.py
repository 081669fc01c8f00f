"""Run logs: metrics.jsonl (one JSON object per logged step), TensorBoard (optional) and a PNG plot."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

__all__ = ["MetricsLogger", "plot_metrics", "read_metrics"]


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl file (a torn last line from a killed run is skipped)."""
    out = []
    p = Path(path)
    if not p.is_file():
        return out
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


class MetricsLogger:
    """Appends metrics to `<out>/metrics.jsonl` and, if the package is installed, TensorBoard event files.

    `resume_step` drops records after that step (they belong to steps that are about to be redone), from
    metrics.jsonl and, through a TensorBoard purge event, from what TensorBoard shows.
    """

    def __init__(self, out_dir: str | os.PathLike, tensorboard: bool = True, resume_step: int | None = None):
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.path = self.out / "metrics.jsonl"
        if resume_step is not None and self.path.exists():
            keep = [r for r in read_metrics(self.path) if int(r.get("step", 0)) <= resume_step]
            # replaced, not rewritten in place: a run stopped while it writes (a SIGTERM as a preempted job
            # restarts, a full disk) would otherwise leave the log of the steps before it cut short
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text("".join(json.dumps(r) + "\n" for r in keep), encoding="utf-8")
            os.replace(tmp, self.path)
        elif resume_step is None and self.path.exists():
            self.path.unlink()
        self._f = open(self.path, "a", encoding="utf-8")
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                # events of the steps after `resume_step` (a run killed past its last checkpoint) are
                # dropped from the earlier event files by TensorBoard's purge, as their metrics.jsonl rows are
                purge = None if resume_step is None else resume_step + 1
                self._tb = SummaryWriter(log_dir=str(self.out / "tensorboard"), purge_step=purge)
            except ImportError:  # tensorboard is optional (the `train` extra)
                self._tb = None

    def log(self, record: dict[str, Any]) -> None:
        """Write one record (must contain `step`); in TensorBoard its `val_*` values (a validation row) are
        `val/*` scalars, the others `train/*`."""
        self._f.write(json.dumps(record) + "\n")
        self._f.flush()
        if self._tb is not None:
            step = int(record["step"])
            for k, v in record.items():
                if k != "step" and isinstance(v, int | float) and math.isfinite(v):
                    tag = f"val/{k[4:]}" if k.startswith("val_") else f"train/{k}"
                    self._tb.add_scalar(tag, v, step)

    def close(self) -> None:
        """Flush and close the files."""
        self._f.close()
        if self._tb is not None:
            self._tb.close()


def plot_metrics(metrics_path: str | os.PathLike, png_path: str | os.PathLike) -> Path | None:
    """Plot loss (total, denoise, clm; validation rows' `val_loss` ... as dashed lines with markers) and
    learning rate by step into a PNG; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    recs = read_metrics(metrics_path)
    if not recs:
        return None
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, height_ratios=(3, 1))
    for key, label in (("loss", "total"), ("loss_denoise", "denoise"), ("loss_clm", "CLM")):
        pts = [(r["step"], r[key]) for r in recs if isinstance(r.get(key), int | float)]
        if pts:
            ax1.plot(*zip(*pts), label=label, lw=1)
    for key, label, color in (
        ("val_loss", "val total", "tab:blue"),
        ("val_denoise_loss", "val denoise", "tab:orange"),
        ("val_clm_loss", "val CLM", "tab:green"),
    ):
        pts = [(r["step"], r[key]) for r in recs if isinstance(r.get(key), int | float)]
        if pts:
            ax1.plot(*zip(*pts), label=label, lw=1.5, ls="--", marker="o", ms=3, color=color)
    ax1.set_ylabel("loss (nats/token)")
    ax1.legend()
    ax1.grid(alpha=0.3)
    pts = [(r["step"], r["lr"]) for r in recs if "lr" in r]
    if pts:
        ax2.plot(*zip(*pts), color="tab:gray", lw=1)
    ax2.set_ylabel("lr")
    ax2.set_xlabel("step")
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    png = Path(png_path)
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png
