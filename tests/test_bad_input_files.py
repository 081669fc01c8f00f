"""Data files the CLI reads (finetune/distill jsonl, distill --generic/--transfer text, generate --input and
stdin), malformed in ways a JSON or UTF-8 decoder reports with something other than its usual error: a one-line
error naming the file, line and field, exit 2, never a traceback."""

from __future__ import annotations

import io
import json

import pytest

from tandem.cli import main
from tandem.config import ModelConfig
from tandem.data.seq2seq import read_pairs
from tandem.errors import TandemError
from tandem.finetune import load_jsonl_pairs
from tandem.jsonl import iter_jsonl
from tandem.model import Seq2SeqLM
from tandem.tokenizer import Tokenizer

GOOD = "".join(json.dumps({"source": f"set an alarm {i}", "target": f"alarm {i}"}) + "\n" for i in range(4))
# line 5 of each: what json.loads refuses with RecursionError / a plain ValueError (a traceback before), or
# valid JSON whose string the tokenizer cannot encode (an error naming neither the file nor the line before)
BAD_LINES = {
    "nested": (
        '{"source": "a", "target": "b", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "nested too deeply",
    ),
    "long-int": ('{"source": "a", "target": "b", "x": ' + "9" * 5000 + "}", "4300 digits"),
    "surrogate-source": ('{"source": "a\\ud800b", "target": "b"}', "field 'source' has the lone surrogate"),
    "surrogate-target": ('{"source": "a", "target": "\\udfff"}', "field 'target' has the lone surrogate"),
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("m")
    words = (
        "set an alarm timer for six seven eight nine am pm play some jazz music turn on off lights".split()
    )
    lines = [" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(3 + i % 6)) for i in range(300)]
    tok = Tokenizer.train(iter(lines), vocab_size=48, byte_fallback=False)
    cfg = ModelConfig.preset("tiny", vocab_size=tok.vocab_size, d_model=32, num_heads=4, ffn_dim=64)
    Seq2SeqLM(cfg).save_pretrained(d, tokenizer=tok)
    return d


def _assert_one_line_error(capsys, *words):
    out, err = capsys.readouterr()
    assert "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1, err
    for w in words:
        assert w in err, err


@pytest.mark.parametrize("kind", list(BAD_LINES))
def test_a_bad_jsonl_line_is_named_by_the_pair_readers(tmp_path, kind):
    line, words = BAD_LINES[kind]
    p = tmp_path / "d.jsonl"
    p.write_text(GOOD + line + "\n", encoding="utf-8")
    with pytest.raises(TandemError, match="d.jsonl line 5: ") as e:
        load_jsonl_pairs(p)
    assert words in str(e.value)
    pairs, counts, problems = read_pairs(p)  # Seq2SeqStream's reader: skipped and counted
    assert len(pairs) == 4 and sum(counts.values()) == 1
    assert problems[0].startswith(f"{p} line 5: ") and words in problems[0]
    with pytest.raises(TandemError, match="d.jsonl line 5: "):
        read_pairs(p, strict=True)


@pytest.mark.parametrize("kind", ["nested", "long-int"])
def test_json_that_json_loads_cannot_read_is_named_by_iter_jsonl(tmp_path, kind):
    p = tmp_path / "d.jsonl"
    p.write_text(GOOD + BAD_LINES[kind][0] + "\n", encoding="utf-8")
    with pytest.raises(TandemError, match=rf"d.jsonl line 5: not valid JSON \(.*{BAD_LINES[kind][1]}"):
        list(iter_jsonl(p))


@pytest.mark.parametrize("kind", list(BAD_LINES))
@pytest.mark.parametrize("flag", ["--data", "--dev"])
def test_finetune_names_the_bad_line_without_a_traceback(tmp_path, capsys, model_dir, kind, flag):
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text(GOOD + BAD_LINES[kind][0] + "\n", encoding="utf-8")
    files = {"--data": good, "--dev": good, flag: bad}
    args = [
        "finetune",
        "--model",
        str(model_dir),
        "--data",
        str(files["--data"]),
        "--dev",
        str(files["--dev"]),
    ]
    assert main([*args, "--out", str(tmp_path / "o"), "--device", "cpu", "--max-steps", "1"]) == 2
    _assert_one_line_error(capsys, f"{bad} line 5: ", BAD_LINES[kind][1])
    assert not (tmp_path / "o" / "best").exists()


def test_a_folder_given_as_a_data_file_is_named_as_a_folder(tmp_path, capsys, model_dir):
    folder = tmp_path / "train.jsonl"
    folder.mkdir()
    args = ["finetune", "--model", str(model_dir), "--data", str(folder), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    _assert_one_line_error(capsys, f"{folder}: is a folder, not a file")  # was "file not found"
    assert main(["generate", str(model_dir), "--input", str(folder)]) == 2
    _assert_one_line_error(capsys, f"--input {folder}: is a folder, not a file")


@pytest.mark.parametrize("flag", ["--generic", "--transfer"])
def test_distill_text_files_not_utf8_are_named_by_line(tmp_path, capsys, model_dir, flag):
    """--generic/--transfer files were read with Path.read_text: invalid UTF-8 was a UnicodeDecodeError
    traceback, a folder "file not found"."""
    data = tmp_path / "d.jsonl"
    data.write_text(GOOD, encoding="utf-8")
    text = tmp_path / "u.txt"
    text.write_bytes(b"set an alarm\ncaf\xe9 au lait\n")
    args = ["distill", "--teacher", str(model_dir), "--student", "shrink:1,1", "--data", str(data)]
    args += ["--dev-holdout", "1", "--max-steps", "1", "--out", str(tmp_path / "o"), "--device", "cpu"]
    assert main([*args, flag, str(text)]) == 2
    _assert_one_line_error(capsys, f"{flag} {text} line 2: not valid UTF-8")
    assert main([*args, flag, str(tmp_path)]) == 2
    _assert_one_line_error(capsys, f"{flag} {tmp_path}: is a folder, not a file")


def test_export_trim_to_list_is_read_as_other_text_files(tmp_path, capsys, monkeypatch):
    """`export --trim-to LIST` read LIST with Path.read_text: invalid UTF-8 was a UnicodeDecodeError traceback,
    a byte-order mark stayed on the first output and a U+2028 split an output in two (str.splitlines)."""
    from types import SimpleNamespace

    import tandem.edge

    bad = tmp_path / "labels.txt"
    bad.write_bytes(b"play_music\ncaf\xe9_order\n")
    assert main(["export", str(tmp_path / "e"), "--trim-to", str(bad)]) == 2
    _assert_one_line_error(capsys, f"--trim-to {bad} line 2: not valid UTF-8")
    assert main(["export", str(tmp_path / "e"), "--trim-to", str(tmp_path)]) == 2
    _assert_one_line_error(capsys, f"--trim-to {tmp_path}: is a folder, not a file")
    assert main(["export", str(tmp_path / "e"), "--trim-to", "/dev/null"]) == 2  # a device is read (empty)
    _assert_one_line_error(capsys, "--trim-to /dev/null: no outputs in it")
    seen = []
    monkeypatch.setattr(
        tandem.edge, "trim_vocabulary", lambda d, outputs, **kw: seen.append(outputs) or SimpleNamespace()
    )
    good = tmp_path / "good.txt"
    good.write_text("\ufeffplay_music\r\n\n  set alarm\u2028now \r\n", encoding="utf-8")
    assert main(["export", str(tmp_path / "e"), "--trim-to", str(good)]) == 0
    assert seen == [["play_music", "set alarm\u2028now"]]


def test_generate_names_the_line_that_is_not_utf8(tmp_path, capsys, model_dir, monkeypatch):
    """The file's error gave a byte offset and no line; stdin's named neither the line nor stdin."""
    f = tmp_path / "in.txt"
    f.write_bytes(b"set an alarm\nplay\nturn on caf\xe9 lights\n")
    assert main(["generate", str(model_dir), "--input", str(f), "--max-new-tokens", "2"]) == 2
    _assert_one_line_error(capsys, f"--input {f} line 3: not valid UTF-8")
    stdin = io.TextIOWrapper(io.BytesIO(f.read_bytes()), encoding="utf-8", errors="surrogateescape")
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(["generate", str(model_dir), "--max-new-tokens", "2"]) == 2
    _assert_one_line_error(capsys, "stdin line 3: ", "lone surrogate '\\udce9'")


@pytest.mark.parametrize("kind", ["nested", "long-int"])
def test_tokenizer_training_jsonl_names_the_line(tmp_path, kind):
    from tandem.tokenizer import _iter_file_lines

    p = tmp_path / "t.jsonl"
    p.write_text(
        '{"text": "hello"}\n' + BAD_LINES[kind][0].replace('"source"', '"text"') + "\n", encoding="utf-8"
    )
    with pytest.raises(TandemError, match=rf"t.jsonl line 2: not a JSON object \(.*{BAD_LINES[kind][1]}"):
        list(_iter_file_lines(p))


@pytest.mark.parametrize("kind", ["nested", "long-int"])
def test_a_squad_file_json_cannot_read_is_named(tmp_path, kind):
    from tandem.evaluation.tasks import _load_squad

    p = tmp_path / "dev.json"
    p.write_text('{"data": [], "x": ' + BAD_LINES[kind][0] + "}", encoding="utf-8")
    with pytest.raises(TandemError, match=rf"dev.json: not valid JSON \(.*{BAD_LINES[kind][1]}"):
        _load_squad(tmp_path, str(p))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("c.json", b'{"batch_size": 2, "stop": "caf\xe9"}', "c.json line 1: not valid UTF-8"),
        (
            "c.json",
            b'{"batch_size": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            "not valid JSON: arrays or objects",
        ),
        (
            "c.json",
            b'{"batch_size": ' + b"9" * 5000 + b"}",
            "not valid JSON: Exceeds the limit (4300 digits)",
        ),
        ("c.toml", b"stop = " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "not valid TOML: arrays or objects"),
    ],
    ids=["not-utf8", "json-nested", "json-long-int", "toml-nested"],
)
def test_a_config_file_json_cannot_read_is_named(tmp_path, capsys, model_dir, name, content, message):
    """Each was a traceback (UnicodeDecodeError, RecursionError, ValueError)."""
    cfg = tmp_path / name
    cfg.write_bytes(content)
    assert main(["generate", str(model_dir), "--config", str(cfg), "--prompt", "hi"]) == 2
    _assert_one_line_error(capsys, f"config file {cfg}", message)


def test_a_config_file_with_a_byte_order_mark_is_read(tmp_path, capsys, model_dir):
    """Notepad's UTF-8 starts with a byte-order mark: it was "not valid JSON: Unexpected UTF-8 BOM"."""
    cfg = tmp_path / "c.json"
    cfg.write_bytes(b'\xef\xbb\xbf{"max_new_tokens": 2, "json": true}')
    assert main(["generate", str(model_dir), "--config", str(cfg), "--prompt", "hi"]) == 0
    assert json.loads(capsys.readouterr().out)["input"] == "hi"
    assert main(["generate", str(model_dir), "--config", str(tmp_path), "--prompt", "hi"]) == 2
    _assert_one_line_error(capsys, f"config file {tmp_path}: is a folder, not a file")


NESTED = "[" * 5000 + "]" * 5000


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    """A random tiny mBART checkpoint in Hugging Face's format, with tandem's tokenizer."""
    pytest.importorskip("transformers")
    from tandem.interop.ct2 import build_random_hf, train_tiny_tokenizer

    root = tmp_path_factory.mktemp("hf")
    tok = train_tiny_tokenizer(root / "tok", vocab_size=256)
    hf = build_random_hf(root / "hf", arch="mbart", vocab_size=256, seed=2)
    Tokenizer.load(tok).save(hf)
    assert (hf / "generation_config.json").is_file()
    return hf


@pytest.mark.parametrize(
    "name", ["config.json", "tokenizer_config.json", "hf/config.json", "hf/generation_config.json"]
)
@pytest.mark.parametrize(
    "content",
    [b'{"d_model": "caf\xe9"}', b'{"d_model": ' + NESTED.encode() + b"}"],
    ids=["not-utf8", "nested"],
)
def test_a_model_folders_json_files_unreadable_are_named(tmp_path, capsys, request, name, content):
    """A model folder's config.json, generation_config.json or tokenizer_config.json not in UTF-8 or nested
    too deeply was a UnicodeDecodeError / RecursionError traceback."""
    import shutil

    kind, _, name = name.rpartition("/")
    d = tmp_path / "m"
    shutil.copytree(request.getfixturevalue("hf_dir" if kind else "model_dir"), d)
    (d / name).write_bytes(content)
    capsys.readouterr()  # the fixture's progress bars
    assert main(["generate", str(d), "--prompt", "hi", "--max-new-tokens", "2"]) == 2
    _assert_one_line_error(capsys, f"{d / name}")


@pytest.mark.parametrize("kind", ["tandem", "hf"])
@pytest.mark.parametrize("content", [b"[1, 2]", b'"bart"', b"null"], ids=["list", "string", "null"])
def test_a_config_json_that_is_not_an_object_is_named(tmp_path, capsys, request, kind, content):
    """Valid JSON that is not an object in a model folder's config.json was an AttributeError traceback
    ('list' object has no attribute 'get')."""
    import shutil

    d = tmp_path / "m"
    shutil.copytree(request.getfixturevalue("hf_dir" if kind == "hf" else "model_dir"), d)
    (d / "config.json").write_bytes(content)
    capsys.readouterr()  # the fixture's progress bars
    assert main(["generate", str(d), "--prompt", "hi", "--max-new-tokens", "2"]) == 2
    _assert_one_line_error(capsys, f"{d / 'config.json'}: expected a JSON object")
    with pytest.raises(TandemError, match="expected a JSON object"):
        Seq2SeqLM.from_pretrained(d)


def test_json_flag_values_nested_too_deeply_are_named(tmp_path, capsys, model_dir):
    assert main(["generate", str(model_dir), "--prompt", "hi", "--bad-words-ids", NESTED]) == 2
    _assert_one_line_error(capsys, "--bad-words-ids", "not JSON (arrays or objects nested too deeply)")
    with pytest.raises(SystemExit):  # argparse's usage error, exit 2
        main(["finetune", "--model", "tiny", "--model-overrides", '{"d_model": ' + NESTED + "}"])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--model-overrides: not valid JSON (nested too deeply)" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"d_model": 32,\n"num_heads": 2,\n"ffn_dim": "caf\xe9"}', "s.json line 3: not valid UTF-8"),
        (
            b'{"d_model": ' + NESTED.encode() + b"}",
            "s.json: not valid JSON (arrays or objects nested too deeply)",
        ),
    ],
    ids=["not-utf8", "nested"],
)
def test_a_student_config_file_unreadable_is_named(tmp_path, capsys, model_dir, content, message):
    """Bytes that are not UTF-8 were named by byte offset, nesting too deep was a RecursionError traceback."""
    data = tmp_path / "d.jsonl"
    data.write_text(GOOD, encoding="utf-8")
    student = tmp_path / "s.json"
    student.write_bytes(content)
    args = ["distill", "--teacher", str(model_dir), "--student", str(student), "--data", str(data)]
    assert main([*args, "--dev-holdout", "1", "--out", str(tmp_path / "o"), "--device", "cpu"]) == 2
    _assert_one_line_error(capsys, f"student config {tmp_path}/{message}")


def test_a_lone_surrogate_in_any_jsonl_field_is_named_by_line_and_field(tmp_path):
    """Task files (and every other jsonl tandem reads through iter_jsonl): the tokenizer failed on the prompt
    after the model was loaded, naming neither the file, the line nor the field."""
    from tandem.evaluation.tasks import get_task

    f = tmp_path / "xsum.jsonl"
    f.write_text(
        '{"id": "0", "text": "\\ud83d\\ude00 ok", "summary": "s"}\n{"id": "1", "text": "a\\ud800"}\n'
    )
    with pytest.raises(
        TandemError, match=r"xsum.jsonl line 2: field 'text' has the lone surrogate '\\ud800'"
    ):
        get_task(f"xsum={f}")[0].load(tmp_path, str(f))
    row = {"passage": {"text": "t", "questions": [{"answers": [{"text": "ok"}, {"text": "x\udc00"}]}]}}
    f.write_text(json.dumps(row) + "\n")  # json.dumps escapes it as \udc00
    with pytest.raises(
        TandemError, match=r"line 1: field 'passage.questions\[0\].answers\[1\].text' has the"
    ):
        list(iter_jsonl(f))
    f.write_text('{"ok": 1}\n{"\\udfff": 1}\n')
    with pytest.raises(TandemError, match=r"line 2: field '\\udfff \(the key\)' has the lone surrogate"):
        list(iter_jsonl(f))
    f.write_text('{"text": "\\ud83d\\ude00 and \\\\ud800 as text"}\n')  # a pair, and an escaped backslash
    assert [o["text"] for _, o in iter_jsonl(f)] == ["\U0001f600 and \\ud800 as text"]


def test_a_lone_surrogate_in_a_squad_file_is_named(tmp_path):
    from tandem.evaluation.tasks import get_task

    qas = [{"id": "q1", "question": "Who\udc00?", "answers": [{"text": "Ann"}]}]
    f = tmp_path / "dev.json"
    f.write_text(json.dumps({"data": [{"paragraphs": [{"context": "Ann came.", "qas": qas}]}]}))
    with pytest.raises(
        TandemError, match=r"dev.json \(question 'q1'\): field 'question' has the lone surrogate"
    ):
        get_task(f"squad2={f}")[0].load(tmp_path, str(f))
