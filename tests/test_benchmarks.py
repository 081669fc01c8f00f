"""Benchmark scripts: argument checks and missing optional dependencies end in one-line errors."""

from __future__ import annotations

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
