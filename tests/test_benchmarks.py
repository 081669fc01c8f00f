"""Benchmark scripts: argument checks and missing optional dependencies end in one-line errors."""

from __future__ import annotations

import json
import math
import runpy
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def run_script(name: str, argv: list[str], monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.setattr(sys, "argv", [name, *argv])
    runpy.run_path(str(BENCH / name), run_name="__main__")


def test_serve_load_rejects_bad_levels(monkeypatch, capsys):
    with pytest.raises(SystemExit) as e:
        run_script("serve_load.py", ["--levels", "1,x"], monkeypatch)
    assert e.value.code == 2
    assert "--levels: expected comma-separated integers, got '1,x'" in capsys.readouterr().err


def test_serve_load_refuses_a_model_dir_that_is_no_export(monkeypatch, tmp_path):
    # before: it built a random edge-17m export in --workdir and then failed to load --model
    with pytest.raises(SystemExit) as e:
        run_script("serve_load.py", ["--model", str(tmp_path), "--workdir", str(tmp_path / "w")], monkeypatch)
    assert "no tandem_edge.json" in str(e.value.code)
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize(
    "script,argv",
    [
        ("generate_cpu.py", ["--repeats", "0"]),
        ("decontam_throughput.py", ["--eval-every", "0"]),
        ("objectives_throughput.py", ["--rounds", "0"]),
        ("edge_latency.py", ["--iters", "0"]),
        ("edge_trim_reset.py", ["--iters", "0"]),
        ("train_throughput.py", ["--steps", "0"]),
        ("tokenizer_long_lines.py", ["--chars", "0"]),
    ],
)
def test_counts_below_one_are_rejected(script, argv, monkeypatch, capsys):
    with pytest.raises(SystemExit) as e:
        run_script(script, argv, monkeypatch)
    assert e.value.code == 2
    assert "must be at least" in capsys.readouterr().err


def test_missing_optional_dependency_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "num2words", None)  # import num2words now raises ImportError
    with pytest.raises(SystemExit) as e:
        run_script("spoken_throughput.py", ["--sentences", "1"], monkeypatch)
    assert "spoken_throughput.py needs num2words" in str(e.value.code)
    assert "pip install num2words" in str(e.value.code)


def test_the_profile_names_where_the_device_idled(monkeypatch):
    """train_throughput --profile on CUDA: the gaps between device work in the trace, merged over
    overlapping kernels, with the host call that spanned each (what kept the host from launching)."""
    monkeypatch.syspath_prepend(str(BENCH))
    tt = runpy.run_path(str(BENCH / "train_throughput.py"), run_name="not_main")
    events = [
        {"ph": "X", "cat": "kernel", "name": "gemm_a", "ts": 0, "dur": 100},
        {"ph": "X", "cat": "kernel", "name": "overlapping", "ts": 50, "dur": 100},  # busy until 150
        {"ph": "X", "cat": "gpu_memcpy", "name": "Memcpy HtoD", "ts": 180, "dur": 10},  # gap 30 us
        {"ph": "X", "cat": "kernel", "name": "gelu", "ts": 390, "dur": 10},  # gap 200 us
        {"ph": "X", "cat": "cpu_op", "name": "aten::nonzero", "ts": 185, "dur": 210},
        {"ph": "X", "cat": "cuda_runtime", "name": "cudaStreamSynchronize", "ts": 195, "dur": 190},
        {"ph": "X", "cat": "cpu_op", "name": "aten::add", "ts": 200, "dur": 5},  # too short to explain it
        {"ph": "i", "cat": "kernel", "name": "not a span", "ts": 500},
    ]
    out = tt["_device_gaps"](events, steps=2)
    assert out["idle_ms_per_step"] == pytest.approx((30 + 200) / 1e3 / 2)
    assert out["gaps_over_50us_per_step"] == 0.5
    first = out["longest_gaps"][0]
    assert first["us"] == 200 and first["after"] == "Memcpy HtoD" and first["before"] == "gelu"
    assert first["host"] == ["cudaStreamSynchronize", "aten::nonzero"]
    assert out["longest_gaps"][1] == {"us": 30, "after": "overlapping", "before": "Memcpy HtoD", "host": []}
    assert tt["_device_gaps"]([{"ph": "X", "cat": "cpu_op", "name": "x", "ts": 0, "dur": 1}], 1) == {}


def test_padded_rows_like_the_trainers(monkeypatch, capsys):
    """train_throughput --source-fill/--target-fill: rows whose real lengths average the share asked for,
    from full rows down (packed denoising rows) or from part of a row down to one token; a fill outside (0, 1]
    is refused before anything runs."""
    monkeypatch.syspath_prepend(str(BENCH))
    tt = runpy.run_path(str(BENCH / "train_throughput.py"), run_name="not_main")
    fill = tt["fill_lengths"]
    assert fill(512, 32, 1.0) == [512] * 32
    for n, rows, share in ((512, 32, 0.78), (128, 8, 0.3), (128, 8, 0.5), (1024, 7, 0.9)):
        lens = fill(n, rows, share)
        assert len(lens) == rows and all(1 <= x <= n for x in lens)
        assert sum(lens) / (rows * n) == pytest.approx(share, abs=0.01), (n, rows, share, lens)
        assert lens == sorted(lens, reverse=True) and len(set(lens)) > 1
    assert fill(512, 32, 0.78)[0] == 512  # the longest row is full, as a packed row is
    assert fill(10, 1, 0.5) == [5]
    for bad in ("0", "1.5", "-0.2"):
        with pytest.raises(SystemExit):
            run_script("train_throughput.py", ["--source-fill", bad], monkeypatch)
        assert "a share in (0, 1]" in capsys.readouterr().err


def _tiny_tandem_record(flags: str, monkeypatch, capsys) -> dict:
    """The JSON record of `train_throughput.py --impl tandem --preset tiny --device cpu --warmup 1 FLAGS`."""
    with pytest.raises(SystemExit) as done:
        run_script(
            "train_throughput.py",
            f"--impl tandem --preset tiny --device cpu --warmup 1 {flags}".split(),
            monkeypatch,
        )
    assert done.value.code == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_a_padded_benchmark_counts_the_real_tokens(monkeypatch, capsys):
    """A tandem run on padded rows: tokens/s counts the real source and target tokens, not the padded shape."""
    rec = _tiny_tandem_record("--steps 1 --source-fill 0.5 --target-fill 0.75", monkeypatch, capsys)
    real = 8 * (128 * 0.5 + 128 * 0.75)
    assert rec["fill"] == pytest.approx(real / (8 * 256), abs=0.01)
    assert rec["tokens_per_s"] * rec["median_step_s"] == pytest.approx(real, rel=0.02)
    assert math.isfinite(rec["final_loss"])


def test_the_ratio_line_gives_the_best_rounds_and_the_median_of_paired_rounds(monkeypatch):
    """train_throughput --impl both: `tokens_per_s` divides the best round of each implementation (which one
    lucky round moves), `tokens_per_s_paired_median` is the median of each back-to-back pair's own ratio."""
    monkeypatch.syspath_prepend(str(BENCH))
    tt = runpy.run_path(str(BENCH / "train_throughput.py"), run_name="not_main")

    def rec(tps, mem):
        return {
            "tokens_per_s": tps,
            "tokens_per_cpu_s": tps,
            "mfu": tps / 1e5,
            "peak_rss_gib": mem,
            "device_name": "Some CPU, AVX512",
        }

    pairs = [(rec(100, 1.0), rec(130, 0.5)), (rec(160, 1.0), rec(140, 0.5)), (rec(90, 1.0), rec(126, 0.5))]
    out = tt["summarize"](pairs, "tiny", "cpu", "peak_rss_gib")
    assert out["tokens_per_s"] == pytest.approx(140 / 160)  # the lucky hf round decides it
    assert out["tokens_per_s_paired_median"] == pytest.approx(1.3)  # 1.3, 0.875, 1.4
    assert out["rounds"] == 3 and out["peak_mem"] == 0.5
    assert out["tokens_per_s_tandem"] == 140 and out["tokens_per_s_hf"] == 160
    assert out["device_name"] == "Some CPU, AVX512"  # ratios move with the CPU: the line names it


def test_a_cpu_record_names_the_cpu_model(monkeypatch, capsys):
    """A CPU row's `device_name` is the CPU's model and torch's vector ISA, not just "cpu": the tandem/HF
    ratio differs between an Intel and an AMD machine (MKL's GEMMs take slower paths on AMD)."""
    import platform

    rec = _tiny_tandem_record("--steps 1", monkeypatch, capsys)
    assert rec["device_name"] != "cpu"
    assert rec["device_name"].endswith(", " + __import__("torch").backends.cpu.get_cpu_capability())
    try:
        text = open("/proc/cpuinfo", encoding="utf-8").read()
    except OSError:
        text = ""
    model = next(
        (line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), ""
    )
    assert rec["device_name"].startswith(model or platform.processor() or platform.machine())


def test_the_back_to_back_window_is_timed_with_one_sync(monkeypatch, capsys):
    """--window (always on CUDA): the timed steps once more back to back with one sync at the end, where the
    per-step syncs hide the host queueing a step while the device runs the one before."""
    rec = _tiny_tandem_record("--steps 2 --window", monkeypatch, capsys)
    assert rec["window_step_s"] > 0
    assert rec["window_tokens_per_s"] == pytest.approx(8 * 256 / rec["window_step_s"])
    assert rec["window_mfu"] == pytest.approx(rec["mfu"] * rec["median_step_s"] / rec["window_step_s"])


def test_the_page_faults_of_the_timed_steps_are_counted(monkeypatch, capsys):
    """`minor_faults_per_step`: the process's minor page faults over the timed steps, per step (HF's CPU step
    takes ~30,000: fresh logits and gradients every step)."""
    import resource

    real = resource.getrusage
    calls = []

    class Usage:
        def __init__(self, u, n):
            self._u, self.ru_minflt = u, n

        def __getattr__(self, name):
            return getattr(self._u, name)

    def counting(who):  # 1000 more faults at every call from the first timed step on
        calls.append(who)
        return Usage(real(who), 1000 * len(calls))

    monkeypatch.setattr(resource, "getrusage", counting)
    rec = _tiny_tandem_record("--steps 4", monkeypatch, capsys)
    # read once before and once after the 4 timed steps: 1000 faults over 4 steps
    assert rec["minor_faults_per_step"] == pytest.approx(1000 / 4)
