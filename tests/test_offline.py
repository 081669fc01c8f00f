"""Model paths that are not usable local directories fail at once, naming the path, and never touch the network.

transformers, given a name that is not a local directory, asks the Hugging Face Hub and, offline (as here and
in CI), retries for ~25 s before failing. tandem reads models from local directories only: every verb that
takes a model path refuses a missing one, an empty folder or a Hub name straight away with what to do, and
where transformers itself reads a local directory it does so with local files only.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

# imported up front (transformers loads its model classes lazily), so the timed calls below do no imports
from transformers import AutoModelForSeq2SeqLM, BartForConditionalGeneration  # noqa: E402, F401

import tandem.interop.ct2  # noqa: E402, F401
from tandem.cli import main  # noqa: E402
from tandem.errors import TandemError  # noqa: E402
from tandem.model import Seq2SeqLM  # noqa: E402

HUB_NAME = "facebook/bart-base"  # a Hub name, not a local folder: tandem never downloads


@pytest.fixture
def no_network(monkeypatch):
    """Every name lookup fails as it does offline, and is recorded: the tests assert there was none."""
    lookups: list[str] = []

    def offline(host, *args, **kwargs):
        lookups.append(str(host))
        raise socket.gaierror(socket.EAI_NONAME, "no network in this test")

    monkeypatch.setattr(socket, "getaddrinfo", offline)
    return lookups


@pytest.fixture
def bad_paths(tmp_path, monkeypatch):
    """(path as typed, what the error must name): a Hub name, a missing folder, an empty folder, a file, and a
    Hugging Face folder with config.json but no weights."""
    monkeypatch.chdir(tmp_path)  # HUB_NAME is relative: make sure no such folder is there
    (tmp_path / "empty").mkdir()
    (tmp_path / "weights.bin").write_bytes(b"\0")
    noweights = tmp_path / "noweights"
    noweights.mkdir()
    cfg = transformers.MBartConfig(vocab_size=64, d_model=16, encoder_layers=1, decoder_layers=1)
    (noweights / "config.json").write_text(json.dumps(cfg.to_dict()))
    return [HUB_NAME, str(tmp_path / "missing"), str(tmp_path / "empty"), "weights.bin", str(noweights)]


def _argv(verb: str, model: str, tmp_path) -> list[str]:
    data = tmp_path / "train.jsonl"
    if not data.exists():
        data.write_text('{"source": "set an alarm", "target": "alarm"}\n' * 4)
    copa = tmp_path / "copa.jsonl"  # a good task file: evaluate reads its tasks before the model loads
    if not copa.exists():
        row = {"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "label": 0, "idx": 0}
        copa.write_text(json.dumps(row) + "\n")
    out = str(tmp_path / f"out-{verb}")
    return {
        "evaluate": ["evaluate", "--model", model, "--tasks", f"copa={copa}", "--limit", "1"],
        "generate": ["generate", model, "--prompt", "set an alarm"],
        "convert": ["convert", model, "--to", "tandem", "--out", out],
        "export-ct2": ["export", model, "--format", "ct2", "--out", out],
        "export-hf": ["export", model, "--format", "hf", "--out", out],
        "finetune": ["finetune", "--model", model, "--data", str(data), "--out", out],
        "distill": ["distill", "--teacher", model, "--student", "tiny", "--data", str(data), "--out", out],
        "serve-torch": ["serve", model, "--backend", "torch"],
        "serve-edge": ["serve", model],
    }[verb]


@pytest.mark.parametrize(
    "verb",
    [
        "evaluate",
        "generate",
        "convert",
        "export-ct2",
        "export-hf",
        "finetune",
        "distill",
        "serve-torch",
        "serve-edge",
    ],
)
def test_cli_refuses_a_model_path_at_once_naming_it(verb, bad_paths, tmp_path, capsys, no_network):
    for model in bad_paths:
        start = time.monotonic()
        rc = main(_argv(verb, model, tmp_path))
        took = time.monotonic() - start
        err = capsys.readouterr().err
        assert rc == 2, (model, err)
        assert err.startswith("error:") and model in err and len(err.strip().splitlines()) == 1, err
        assert took < 3.0, f"{verb} {model}: {took:.1f} s to refuse"  # offline, the Hub retries took ~25 s
        assert not (tmp_path / f"out-{verb}").exists()
    assert no_network == []


def test_a_hub_name_is_told_how_to_download_it(tmp_path, monkeypatch, capsys, no_network):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        TandemError, match=r"facebook/bart-base: not a directory; .*never downloads.*hf download"
    ):
        Seq2SeqLM.from_pretrained(HUB_NAME)
    assert main(["finetune", "--model", "t5-small", "--data", "x.jsonl", "--out", "o"]) == 2
    err = capsys.readouterr().err
    assert "neither a checkpoint directory nor a preset" in err and "hf download t5-small" in err, err
    with pytest.raises(TandemError, match="give a model directory") as e:  # a path, not a Hub name: no hint
        Seq2SeqLM.from_pretrained(tmp_path / "missing")
    assert "hf download" not in str(e.value)
    assert no_network == []


def test_transformers_reads_local_directories_with_local_files_only(tmp_path, monkeypatch, no_network):
    """Where tandem hands a directory to transformers (export checks), a missing file is an immediate error
    naming the directory, and a name that is no directory never reaches transformers (which would look it up
    on the Hub)."""
    from tandem.interop.ct2 import load_hf_dir

    monkeypatch.chdir(tmp_path)
    d = tmp_path / "noweights"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(transformers.BartConfig(vocab_size=64, d_model=16).to_dict()))
    for path, words in ((d, "transformers cannot load this directory"), (HUB_NAME, "hf download")):
        start = time.monotonic()
        with pytest.raises(TandemError, match=words) as e:
            load_hf_dir(path)
        assert str(path) in str(e.value) and time.monotonic() - start < 3.0
    assert no_network == []
