"""CLI: the verb list, `tandem convert` and `tandem generate` end to end on tiny models."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
import torch

from tandem import ModelConfig, Seq2SeqLM
from tandem.cli import VERBS, main
from tandem.errors import TandemError
from tandem.tokenizer import Tokenizer

_WORDS = "set an alarm timer for six seven eight nine am pm tonight in the kitchen bedroom office hall play some jazz "
_WORDS += "music turn on off lights weather tomorrow remind me to call mum buy milk bread eggs"
SENTENCES = [" ".join(_WORDS.split()[(i * 7 + j * 3) % 37] for j in range(3 + i % 6)) for i in range(600)]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("m")
    tok = Tokenizer.train(iter(SENTENCES), vocab_size=64, byte_fallback=False)
    cfg = ModelConfig.preset("tiny", vocab_size=tok.vocab_size, d_model=32, num_heads=4, ffn_dim=64)
    Seq2SeqLM(cfg).save_pretrained(d, tokenizer=tok)
    return d


def test_help_lists_every_verb(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for verb in (
        "pretrain",
        "finetune",
        "distill",
        "generate",
        "evaluate",
        "export",
        "serve",
        "normalize",
        "convert",
        "tokenizer",
        "quickstart",
    ):
        assert verb in out and verb in VERBS


def _defaults_shown(default: object) -> set[str]:
    """The ways a help text may write a flag's default: 0.0005 / 5e-04, 5.0 / 5, a list as '0.9 0.98'."""
    if isinstance(default, list):
        return {" ".join(map(str, default))}
    if isinstance(default, float):
        return {str(default), f"{default:g}", f"{default:.0e}".replace("e-0", "e-")}
    return {str(default)}


def test_every_flag_has_help_stating_its_default():
    """`tandem pretrain --help` listed --betas, --eps, --weight-decay, --device, --seed, --no-plot ... with no
    text at all, and --batch-size, --clip, --ckpt-every ... without their defaults (so did finetune, distill,
    generate, tokenizer and serve). Each flag now says what it does and, where it has one, its default."""
    import argparse

    from tandem.cli import build_parser

    _, subs = build_parser()
    missing, no_default = [], []
    for verb, sp in subs.items():
        for a in sp._actions:
            if not a.option_strings or isinstance(a, argparse._HelpAction):
                continue
            shown = a.help % {**vars(a), "default": a.default} if a.help else ""
            if not shown.strip():
                missing.append(f"{verb} {a.option_strings[-1]}")
            elif a.default not in (None, True, False, [], {}) and not any(
                d in shown for d in _defaults_shown(a.default)
            ):
                no_default.append(f"{verb} {a.option_strings[-1]} ({a.default!r})")
    assert missing == [] and no_default == []


_NO_TORCH = """
import sys
class _NoTorch:  # the base install (`pip install tandem`): no torch
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "safetensors"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NoTorch())
from tandem.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def test_torch_free_verbs_work_without_torch_and_the_others_say_what_to_install():
    def tandem(*argv: str, stdin: str = "") -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-c", _NO_TORCH, *argv]
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)

    out = tandem("normalize", "--lang", "de", stdin="am 3. Mai\n")
    assert (out.returncode, out.stdout) == (0, "am dritten mai\n"), out.stderr
    assert tandem("--help").returncode == 0
    assert tandem("tokenizer", "--help").returncode == 0
    out = tandem("pretrain", "--help")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: tandem pretrain needs") and "tandem[torch]" in out.stderr
    out = tandem("generate", "some/model", "--prompt", "hi")  # flags parse, running needs torch
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: tandem generate needs") and "tandem[torch]" in out.stderr


def test_generate_matches_the_library(model_dir, capsys):
    assert (
        main(["generate", str(model_dir), "--prompt", "set an alarm", "--max-new-tokens", "5", "--json"]) == 0
    )
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    model, tok = Seq2SeqLM.from_pretrained(model_dir), Tokenizer.load(model_dir)
    ids = torch.tensor([tok.encode("set an alarm", add_eos=True)])
    want = tok.decode(model.generate(ids, max_new_tokens=5, eos_token_id=tok.eos_id)[0, 1:].tolist())
    assert got == {"input": "set an alarm", "output": want}


def test_convert_to_hf_and_back(model_dir, tmp_path, capsys):
    transformers = pytest.importorskip("transformers")
    assert main(["convert", str(model_dir), "--to", "hf", "--out", str(tmp_path / "hf")]) == 0
    hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "hf")
    assert type(hf).__name__ == "MBartForConditionalGeneration"
    assert main(["convert", str(tmp_path / "hf"), "--to", "tandem", "--out", str(tmp_path / "back")]) == 0
    a = Seq2SeqLM.from_pretrained(model_dir).state_dict()
    b = Seq2SeqLM.from_pretrained(tmp_path / "back").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_convert_refuses_an_out_that_is_a_file_or_another_kind_of_directory(model_dir, tmp_path, capsys):
    """--out a file was a FileExistsError traceback; a folder holding something else (an edge export, other
    files) was written into, its config.json replaced: the edge export no longer loaded."""
    (tmp_path / "f.txt").write_text("keep\n")
    assert main(["convert", str(model_dir), "--to", "tandem", "--out", str(tmp_path / "f.txt")]) == 2
    assert "--out" in capsys.readouterr().err and (tmp_path / "f.txt").read_text() == "keep\n"
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text('{"model_type": "transformer"}')  # as CTranslate2 writes it
    for to in ("tandem", "hf"):
        assert main(["convert", str(model_dir), "--to", to, "--out", str(other)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: --out {other} exists and is not a") and "Traceback" not in err
    assert sorted(p.name for p in other.iterdir()) == ["config.json"]
    assert json.loads((other / "config.json").read_text()) == {"model_type": "transformer"}
    # a directory an earlier convert to the same format wrote is replaced, as before
    assert main(["convert", str(model_dir), "--to", "tandem", "--out", str(tmp_path / "t")]) == 0
    assert main(["convert", str(model_dir), "--to", "tandem", "--out", str(tmp_path / "t")]) == 0
    a, b = (
        Seq2SeqLM.from_pretrained(model_dir).state_dict(),
        Seq2SeqLM.from_pretrained(tmp_path / "t").state_dict(),
    )
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_convert_names_an_out_that_cannot_be_made(model_dir, tmp_path, capsys):
    """--out under a file (or on a read-only filesystem) was a NotADirectoryError/OSError traceback from mkdir,
    for both targets; it is one line naming --out."""
    (tmp_path / "f.txt").write_text("keep\n")
    out = tmp_path / "f.txt" / "model"
    for to in ("tandem", "hf"):
        assert main(["convert", str(model_dir), "--to", to, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: --out {out}: cannot write there") and err.count("\n") == 1, err


def test_bad_model_dir_is_a_one_line_error(tmp_path, capsys):
    assert main(["generate", str(tmp_path / "missing"), "--prompt", "x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "not a directory" in err and len(err.strip().splitlines()) == 1


def test_config_file_values_are_overridden_by_flags(model_dir, tmp_path, capsys):
    cfg = tmp_path / "gen.json"
    cfg.write_text(json.dumps({"max_new_tokens": 1, "json": True}))
    assert (
        main(["generate", str(model_dir), "--config", str(cfg), "--prompt", "hi", "--max-new-tokens", "3"])
        == 0
    )
    assert json.loads(capsys.readouterr().out.strip())["input"] == "hi"
    cfg.write_text(json.dumps({"max_new_tokenz": 1}))
    assert main(["generate", str(model_dir), "--config", str(cfg), "--prompt", "hi"]) == 2
    assert "unknown keys ['max_new_tokenz']" in capsys.readouterr().err


def test_generate_unreadable_input_file_is_a_one_line_error(model_dir, tmp_path, capsys):
    assert main(["generate", str(model_dir), "--input", str(tmp_path / "nope.txt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "nope.txt" in err and len(err.strip().splitlines()) == 1
    good = tmp_path / "in.txt"
    good.write_text("set an alarm\n\nplay some jazz\n", encoding="utf-8")
    assert main(["generate", str(model_dir), "--input", str(good), "--max-new-tokens", "2", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["input"] for r in rows] == ["set an alarm", "play some jazz"]


def _eight_position_model(tmp_path):
    """(tokenizer, model dir) of a tiny model with 8 learned positions."""
    tok = Tokenizer.train(iter(SENTENCES), vocab_size=64, byte_fallback=False)
    cfg = ModelConfig.preset(
        "tiny", vocab_size=tok.vocab_size, d_model=32, num_heads=4, ffn_dim=64, max_positions=8
    )
    d = tmp_path / "m"
    Seq2SeqLM(cfg).save_pretrained(d, tokenizer=tok)
    return tok, d


def test_generate_input_longer_than_the_model_is_an_error_naming_the_line(tmp_path, capsys):
    # The prompt must not be cut (that loses its end and the EOS): like `tandem evaluate`, which skips a
    # query the model cannot hold rather than truncating it, generate refuses it and says which one.
    tok, d = _eight_position_model(tmp_path)
    long = "set an alarm for six am in the kitchen tonight and play some jazz music"
    assert len(tok.encode(long, add_eos=True)) > 8
    inp = tmp_path / "in.txt"
    inp.write_text(f"set an alarm\n\n{long}\n", encoding="utf-8")
    assert main(["generate", str(d), "--input", str(inp), "--max-new-tokens", "2"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error:") and len(err.strip().splitlines()) == 1
    n = len(tok.encode(long, add_eos=True))
    assert f"{inp} line 3" in err and f"{n} tokens" in err and "max_positions 8" in err
    assert main(["generate", str(d), "--prompt", "hi", "--prompt", long, "--max-new-tokens", "2"]) == 2
    assert "--prompt 2" in capsys.readouterr().err
    with pytest.raises(TandemError, match=r"row 0 .* max_positions 8"):
        Seq2SeqLM.from_pretrained(d).generate(
            torch.tensor([tok.encode(long, add_eos=True)]), max_new_tokens=2
        )


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--num-beams", "0"], "num_beams must be at least 1"),
        (["--max-new-tokens", "-1"], "max_new_tokens must be at least 1"),
        (["--do-sample", "--temperature", "-1"], "temperature must be"),
        (["--do-sample", "--top-p", "0"], "top_p must be in (0, 1]"),
    ],
)
def test_generate_nonsensical_settings_are_one_line_errors(model_dir, capsys, flags, message):
    assert main(["generate", str(model_dir), "--prompt", "set an alarm", *flags]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error:") and message in err and len(err.strip().splitlines()) == 1


def test_generate_with_a_model_vocabulary_larger_than_the_tokenizer(shared_fixtures, capsys):
    # 512 model ids, 22 SentencePiece pieces: an id past the tokenizer is <unk> in the text, with a warning,
    # instead of an error that ended the whole run.
    fx = shared_fixtures / "alexatm-tiny"
    spm = str(fx / "alexatm-format-spm.model")
    prompts = ["this is fake data", "hello", "is it"]
    args = ["generate", str(fx), "--tokenizer", spm, "--max-new-tokens", "4", "--json"]
    with pytest.warns(UserWarning, match="vocab size 22"):
        assert main([*args, *(x for p in prompts for x in ("--prompt", p))]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["input"] for r in rows] == prompts


def test_config_file_values_of_repeatable_flags(tmp_path):
    """A repeatable flag (--teacher, --stop) takes one value or a list from a config file; given on the command
    line it replaces the file's value instead of being appended to it."""
    from tandem.cli import _apply_config, build_parser

    _, subs = build_parser()
    cfg = tmp_path / "d.json"
    cfg.write_text(json.dumps({"teacher": "teacher/best", "data": "x.jsonl"}))
    args = _apply_config(subs["distill"], ["--config", str(cfg)])
    assert args.teacher == ["teacher/best"]
    cfg.write_text(json.dumps({"teacher": ["a", "b"], "data": "x.jsonl"}))
    assert _apply_config(subs["distill"], ["--config", str(cfg)]).teacher == ["a", "b"]
    assert _apply_config(subs["distill"], ["--config", str(cfg), "--teacher", "c"]).teacher == ["c"]
    cfg.write_text(json.dumps({"stop": ";"}))
    assert _apply_config(subs["generate"], ["m", "--config", str(cfg)]).stop == [";"]


def test_config_file_values_of_multi_value_flags(tmp_path):
    """A nargs="+"/"*" flag takes one value or a list from a config file, its items converted with the flag's
    type; an empty list for "+" is an error naming the file and the key; null keeps the flag's default."""
    import argparse

    from tandem.cli import _apply_config

    cfg = tmp_path / "c.json"

    def parse(values, *argv):  # a fresh parser each time: _apply_config sets the file's values as defaults
        p = argparse.ArgumentParser()
        p.add_argument("--config")
        p.add_argument("--ids", nargs="+", type=int)
        p.add_argument("--files", nargs="*", default=["a.txt"])
        p.add_argument("--steps", type=int, default=7)
        cfg.write_text(json.dumps(values))
        return _apply_config(p, ["--config", str(cfg), *argv])

    assert parse({"ids": ["1", "2"]}).ids == [1, 2]
    assert parse({"ids": "3"}).ids == [3]
    assert parse({"ids": 4}).ids == [4]
    assert parse({"files": "x.txt"}).files == ["x.txt"]
    assert parse({"ids": ["1"]}, "--ids", "5").ids == [5]
    with pytest.raises(TandemError, match=rf"{cfg}: ids must be a list of at least one value"):
        parse({"ids": []})
    assert parse({"files": []}).files == []
    args = parse({"files": None, "steps": None, "ids": None})
    assert args.files == ["a.txt"] and args.steps == 7 and args.ids is None
    with pytest.raises(TandemError, match=rf"{cfg}: ids must be an integer"):
        parse({"ids": ["1", "x"]})


@pytest.mark.parametrize("flag", ["--forced-bos-token", "--forced-eos-token"])
def test_generate_negative_forced_token_id_is_an_error(model_dir, capsys, flag):
    assert main(["generate", str(model_dir), "--prompt", "hi", "--max-new-tokens", "2", flag, "-1"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"{flag} -1: a token id must be >= 0" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("size", ["0", "-1"])
def test_generate_batch_size_below_one_is_an_error(model_dir, capsys, size):
    # 0 was a ValueError traceback from range(); a negative size printed nothing and exited 0
    assert main(["generate", str(model_dir), "--prompt", "set an alarm", "--batch-size", size]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: --batch-size must be at least 1")


def test_generate_reads_stdin_and_files_alike(model_dir, tmp_path, capsys, monkeypatch):
    # CRLF line ends, a byte-order mark and a form feed / U+2028 inside a line: the file used str.splitlines
    # (which splits at \x0c and U+2028 too, shifting the line numbers) and kept the BOM; stdin kept the "\r"
    raw = "\ufeffset an alarm\r\n\r\nplay\x0csome jazz\u2028music\r\nturn on lights\r\n"
    want = ["set an alarm", "play\x0csome jazz\u2028music", "turn on lights"]
    flags = ["--max-new-tokens", "2", "--json"]
    f = tmp_path / "in.txt"
    f.write_bytes(raw.encode("utf-8"))
    assert main(["generate", str(model_dir), "--input", str(f), *flags]) == 0
    from_file = [json.loads(x) for x in capsys.readouterr().out.split("\n")[:-1]]
    monkeypatch.setattr(
        "sys.stdin", io.TextIOWrapper(io.BytesIO(raw.encode("utf-8")), encoding="utf-8", newline="")
    )
    assert main(["generate", str(model_dir), *flags]) == 0
    from_stdin = [json.loads(x) for x in capsys.readouterr().out.split("\n")[:-1]]
    assert [r["input"] for r in from_file] == want and from_stdin == from_file
    assert main(["generate", str(model_dir), *flags, *(x for t in want for x in ("--prompt", t))]) == 0
    assert [json.loads(x) for x in capsys.readouterr().out.split("\n")[:-1]] == from_file


def test_generate_samples_a_line_the_same_whatever_the_batch_size(model_dir, capsys):
    prompts = [x for t in ("set an alarm", "play some jazz", "turn on lights") for x in ("--prompt", t)]
    flags = ["--do-sample", "--temperature", "2.0", "--max-new-tokens", "6", "--seed", "3", "--json"]
    outs = []
    for batch in ("1", "2", "8"):
        assert main(["generate", str(model_dir), *prompts, *flags, "--batch-size", batch]) == 0
        outs.append([json.loads(x)["output"] for x in capsys.readouterr().out.split("\n")[:-1]])
    assert outs[0] == outs[1] == outs[2] and len(set(outs[0])) == 3
    assert main(["generate", str(model_dir), *prompts, *flags[:-2], "4", "--json"]) == 0
    assert [json.loads(x)["output"] for x in capsys.readouterr().out.split("\n")[:-1]] != outs[0]


def test_generate_empty_stop_string(model_dir, capsys):
    # "" is in every text: the stop check ended every row after its first token
    assert main(["generate", str(model_dir), "--prompt", "set an alarm", "--stop", ""]) == 2
    assert "--stop: a stop string must not be empty" in capsys.readouterr().err
    model, tok = Seq2SeqLM.from_pretrained(model_dir), Tokenizer.load(model_dir)
    ids = torch.tensor([tok.encode("set an alarm", add_eos=True)])
    for beams in (1, 2):
        plain = model.generate(ids, max_new_tokens=6, num_beams=beams, min_new_tokens=6)
        empty = model.generate(ids, max_new_tokens=6, num_beams=beams, min_new_tokens=6, stop_strings=[""])
        assert plain.shape[1] == 7 and torch.equal(empty, plain)


@pytest.mark.parametrize("device", ["cuda:99", "nonsense"])
def test_generate_unavailable_device_is_a_one_line_error(model_dir, capsys, device):
    # a CUDA device on a machine without one was an AssertionError traceback from torch, exit 1
    assert main(["generate", str(model_dir), "--prompt", "set an alarm", "--device", device]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"error: --device {device!r}") and len(err.strip().splitlines()) == 1


def test_generate_more_new_tokens_than_decoder_positions(tmp_path, capsys):
    # past the decoder's learned positions generation died mid-way with a ValueError traceback
    tok, d = _eight_position_model(tmp_path)
    for beams in ("1", "2"):
        flags = ["--prompt", "set an alarm", "--num-beams", beams, "--min-new-tokens", "8"]
        assert main(["generate", str(d), *flags, "--max-new-tokens", "8"]) == 0
        capsys.readouterr()
        assert main(["generate", str(d), *flags, "--max-new-tokens", "9"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.startswith("error: --max-new-tokens 9") and "max_positions 8" in err
        assert len(err.strip().splitlines()) == 1
    # the CLI's own default (64) gives way to the model's 8 positions
    assert main(["generate", str(d), "--prompt", "set an alarm", "--min-new-tokens", "8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["input"] == "set an alarm"


def _help_examples(parser) -> list[str]:
    """The example lines of a verb's rendered `--help` (everything after its `examples:` line)."""
    text = parser.format_help()
    return text.split("\nexamples:\n", 1)[1].splitlines() if "\nexamples:\n" in text else []


def test_help_examples_keep_their_line_breaks_and_parse():
    """Every verb's `--help` examples show a continued command on its own lines (a `\\` ending a line in the
    source must reach the help, not join the next line onto it), and each `tandem VERB ...` example, its
    continuation lines joined as a shell joins them, parses with that verb's own flags."""
    import re
    import shlex

    from tandem.cli import build_parser

    _, subs = build_parser()
    checked = 0
    for verb, parser in subs.items():
        lines = _help_examples(parser)
        for line in lines:
            # a swallowed `\`+newline leaves the next line's indentation inside this one
            assert not re.search(r"\S {6,}-", line.split("#")[0]), (
                f"tandem {verb} --help joined two lines: {line}"
            )
        commands = "\n".join(lines).replace("\\\n", " ").splitlines()
        for command in commands:
            command = command.strip()
            if " -m tandem " in command:
                command = command[command.index("-m tandem ") + 3 :]
            if not command.startswith(f"tandem {verb} "):
                continue
            args = shlex.split(command.split(" > ")[0], comments=True)[2:]
            try:
                parser.parse_args(args)
            except SystemExit:
                pytest.fail(f"tandem {verb} --help example does not parse: {command}")
            checked += 1
    assert checked >= 40


def test_readme_commands_parse():
    """Every `tandem VERB ...` command in README.md's bash blocks (continuation lines joined, `...` placeholders
    dropped) parses with that verb's flags, so a renamed or removed flag cannot stay in the README."""
    import re
    import shlex
    from pathlib import Path

    from tandem.cli import build_parser

    readme = Path(__file__).resolve().parents[1] / "README.md"
    if not readme.is_file():
        pytest.skip("README.md is not beside tests/ (an installed copy of the tests)")
    _, subs = build_parser()
    checked = 0
    for block in re.findall(r"```bash\n(.*?)```", readme.read_text(encoding="utf-8"), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if " -m tandem " in line:
                line = line[line.index("-m tandem ") + 3 :]
            elif "| tandem " in line:
                line = line[line.index("| tandem ") + 2 :]
            if not line.startswith("tandem "):
                continue
            words = [w for w in shlex.split(line.split(" > ")[0], comments=True) if w != "..."]
            verb, args = words[1], words[2:]
            assert verb in subs, f"README runs an unknown verb: {line}"
            try:
                subs[verb].parse_args(args)
            except SystemExit:
                pytest.fail(f"README command does not parse: {line}")
            checked += 1
    assert checked >= 40
