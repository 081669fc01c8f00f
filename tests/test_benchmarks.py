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
