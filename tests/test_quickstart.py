"""`tandem quickstart`: the report is rendered from results.json only, and a reduced end-to-end run works."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tandem.errors import TandemError
from tandem.quickstart.pipeline import STAGES, make_plan, run_quickstart
from tandem.quickstart.report import fmt, fmt_seconds, write_report

# A number in prose: not part of a word, a path, a date or a time (those are strings of results.json).
NUMBER = re.compile(r"(?<![\w.\-:/])-?\d+(?:\.\d+)?(?:e[-+]\d+)?(?![\w.:/\-])")


def _prose(md: str) -> str:
    """The report without code blocks, inline code and image/link targets."""
    md = re.sub(r"```.*?```", " ", md, flags=re.S)
    md = re.sub(r"`[^`]*`", " ", md)
    return re.sub(r"\]\([^)]*\)", "]", md)


def _leaves(x, nums: set[str], strs: list[str]) -> None:
    if isinstance(x, dict):
        for k, v in x.items():
            if k in ("seconds", "total_seconds") and isinstance(v, int | float):
                nums.update(NUMBER.findall(fmt_seconds(v)))  # durations are written by fmt_seconds
            _leaves(v, nums, strs)
    elif isinstance(x, list):
        for v in x:
            _leaves(v, nums, strs)
    elif isinstance(x, bool):
        return
    elif isinstance(x, int | float):
        nums.add(fmt(x))
    elif isinstance(x, str):
        strs.append(x)


def untraced_numbers(md: str, results: dict) -> list[str]:
    """Numbers in the report's prose that are neither a formatted number of results.json nor part of one of
    its strings (timestamps, platform, utterances)."""
    nums: set[str] = set()
    strs: list[str] = []
    _leaves(results, nums, strs)
    blob = "\n".join(strs)
    return [n for n in NUMBER.findall(_prose(md)) if n not in nums and n not in blob]


def _fake_results(tmp_path: Path) -> dict:
    """A results.json as every stage would write it (values made up for the renderer test)."""
    (tmp_path / "teacher-pretrained").mkdir()
    (tmp_path / "teacher-pretrained" / "metrics.jsonl").write_text(
        "".join(
            json.dumps({"step": s, "loss": 7 - s / 5, "loss_denoise": 7.1 - s / 5, "loss_clm": 6.9 - s / 6})
            + "\n"
            for s in range(1, 11)
        )
    )
    model = {"intent_acc": 81.25, "slot_f1": 64.5, "exact_match": 40.0, "latency_ms_p50": 12.5,
             "latency_ms_p95": 19.75, "peak_rss_mb": 333.3, "disk_mb": 14.05, "runtime": "torch fp32"}  # fmt: skip
    return {
        "tandem_version": "0.1.0",
        "started": "2026-01-02 03:04:05",
        "finished": "2026-01-02 03:14:05",
        "out": str(tmp_path),
        "synthetic_data": True,
        "data_note": "synthetic data",
        "machine": {"platform": "Linux-6.1-x86_64", "python": "3.11.7", "cpu_count": 2, "torch": "2.13.0"},
        "total_seconds": 598.25,
        "plan": {"minutes": 10.0},
        "stages": {
            "corpus": {
                "status": "ok",
                "seconds": 1.5,
                "commands": ["python -c 'x'"],
                "result": {
                    "frames": 2000,
                    "languages": 7,
                    "domains": 14,
                    "intents": 25,
                    "spoken_form": True,
                    "utterances_train": 11200,
                    "utterances_dev": 1400,
                    "utterances_test": 1400,
                    "documents": 1869,
                },
            },  # fmt: skip
            "tokenizer": {
                "status": "ok",
                "seconds": 9.5,
                "result": {"vocab_size": 2000, "spoken_ratio": 0.7},
            },
            "pretrain": {
                "status": "ok",
                "seconds": 201.0,
                "commands": ["tandem pretrain --config configs/p.json"],
                "result": {
                    "parameters": 3505920,
                    "steps": 10,
                    "first_loss": 6.8,
                    "final_loss": 5.0,
                    "final_loss_denoise": 5.1,
                    "final_loss_clm": 5.23,
                    "tokens_per_s": 4321.5,
                    "metrics_file": "teacher-pretrained/metrics.jsonl",
                },
            },  # fmt: skip
            "prompting": {
                "status": "ok",
                "seconds": 30.0,
                "result": {
                    "0shot": {"rte": {"acc": 55.5, "n": 50}},
                    "1shot": {"rte": {"acc": 57.25, "n": 50}},
                },
            },  # fmt: skip
            "finetune": {
                "status": "ok",
                "seconds": 90.0,
                "result": {"parameters": 3505920, "steps": 300, "final_loss": 0.42, "dev_exact_match": 44.0},
            },  # fmt: skip
            "distill": {
                "status": "skipped",
                "reason": "`tandem distill` is not available in this version of tandem",
            },
            "measure": {
                "status": "ok",
                "seconds": 40.0,
                "result": {
                    "test_examples": 350,
                    "latency_samples": 20,
                    "teacher": {
                        "label": "teacher",
                        "parameters": 3505920,
                        "share_of_teacher_pct": 100.0,
                        **model,
                    },
                },
            },  # fmt: skip
        },
    }


def test_report_numbers_all_come_from_results(tmp_path):
    res = _fake_results(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps(res))
    paths = write_report(tmp_path)
    md = paths["md"].read_text(encoding="utf-8")
    assert untraced_numbers(md, res) == []
    # the checker is not blind: an invented figure is caught, a figure of results.json is not
    assert untraced_numbers(md + "\nloss fell to 1.234 overnight\n", res) == ["1.234"]
    assert untraced_numbers(md + "\nit took 598 s\n", res) == []
    # structure: the synthetic data statement first, every stage in the table, skipped stages with reasons
    assert md.splitlines()[2].startswith("**About the data.**") and "synthetic" in md.splitlines()[2]
    for s in STAGES:
        assert re.search(rf"^\| {s.name} \|", md, flags=re.M), s.name
    assert "**distill** (skipped): `tandem distill` is not available" in md
    assert "| baseline | not run |" in md
    for heading in ("## Stages", "## Pretraining", "## Zero- and one-shot prompting", "## Teacher vs students",
                    "## Rerun each stage", "## On real data and real hardware"):  # fmt: skip
        assert heading in md
    assert "tandem pretrain --config configs/p.json" in md
    page = paths["html"].read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<table>" in page and "3505920" in page
    pytest.importorskip("matplotlib")
    assert (tmp_path / "plots" / "pretrain_loss.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "comparison.png").is_file()


def test_report_marks_stages_reused_from_an_earlier_run(tmp_path):
    """`--stages measure serve` reuses the other stages' results: the report must not present their numbers
    as measured in this run."""
    res = _fake_results(tmp_path)
    res["stages"]["pretrain"]["reused"] = True
    (tmp_path / "results.json").write_text(json.dumps(res))
    md = write_report(tmp_path)["md"].read_text(encoding="utf-8")
    assert re.search(r"^\| pretrain \| ok, reused from an earlier run \|", md, flags=re.M)
    assert re.search(r"^\| corpus \| ok \|", md, flags=re.M)
    assert "not run again" in md


def test_fmt():
    assert [fmt(3), fmt(1234.4), fmt(12.345), fmt(0.5), fmt(0.0), fmt(5e-5), fmt(True)] == [
        "3", "1234", "12.3", "0.50", "0", "5.00e-05", "yes"
    ]  # fmt: skip


def test_durations_are_written_as_seconds_not_in_scientific_notation(tmp_path):
    """A stage that was skipped at once took microseconds: the report says "<0.1", not "1.18e-05"."""
    assert [fmt_seconds(1.18e-05), fmt_seconds(0.0), fmt_seconds(0.04), fmt_seconds(0.05)] == [
        "<0.1", "0.0", "<0.1", "0.1"
    ]  # fmt: skip
    assert [fmt_seconds(9.5), fmt_seconds(61.26), fmt_seconds(598.25), fmt_seconds(12345.6)] == [
        "9.5", "61.3", "598", "12346"
    ]  # fmt: skip
    res = _fake_results(tmp_path)
    res["stages"]["distill"]["seconds"] = 1.18e-05
    (tmp_path / "results.json").write_text(json.dumps(res))
    md = write_report(tmp_path)["md"].read_text(encoding="utf-8")
    assert "e-05" not in md and re.search(r"^\| distill \| skipped \| <0\.1 \|", md, flags=re.M)
    assert re.search(r"^\| pretrain \| ok \| 201 \|", md, flags=re.M)
    assert untraced_numbers(md, res) == []


def test_plan_scales_with_minutes():
    full, small = make_plan(10), make_plan(1)
    assert full.pretrain_steps > small.pretrain_steps >= 6
    assert full.frames >= small.frames
    with pytest.raises(TandemError, match="minutes"):
        make_plan(0)


def test_minutes_that_are_not_a_finite_number_are_a_one_line_error(tmp_path, capsys):
    """`--minutes nan` / `inf` passed the `<= 0` check and died in the step arithmetic with a ValueError /
    OverflowError traceback."""
    from tandem.cli import main

    for bad in ("nan", "inf"):
        assert main(["quickstart", "--minutes", bad, "--out", str(tmp_path / bad)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: --minutes {bad}: give a positive number of minutes"), err


def test_student_is_at_most_a_tenth_of_the_teacher():
    import dataclasses

    from tandem.config import ModelConfig

    plan = make_plan(10)
    base = ModelConfig.preset("tiny")
    teacher = dataclasses.replace(base, vocab_size=plan.vocab_size, **plan.teacher).num_parameters()
    student = dataclasses.replace(base, vocab_size=plan.vocab_size, **plan.student).num_parameters()
    assert student <= 0.1 * teacher


def test_unknown_stage_is_an_error(tmp_path):
    with pytest.raises(TandemError, match="unknown"):
        run_quickstart(tmp_path, stages=["pretrain", "nope"], log=lambda s: None)


def test_prompting_scores_keep_how_many_requests_they_are_on():
    """`tandem evaluate` says how many examples a score is on as num_scored (rank-scored tasks) or n (parse
    tasks); the report shows it as n for every task, not only for the parse task."""
    from tandem.quickstart.pipeline import _eval_metrics

    metrics = {"results": {"rte": {"acc": 50.0, "num_scored": 6, "shots": 0, "seconds": 0.1},
                           "massive:en-US": {"exact_match": 0.0, "n": 6, "num_scored": 6}}}  # fmt: skip
    assert _eval_metrics(metrics) == {
        "rte": {"acc": 50.0, "n": 6},
        "massive:en-US": {"exact_match": 0.0, "n": 6},
    }


def test_data_globs_may_be_absolute_or_start_with_a_tilde(tmp_path, monkeypatch):
    """`tandem quickstart --data '/data/corpus/*.txt'`: an absolute glob (and one under ~) lists its files;
    Path().glob raised NotImplementedError ("Non-relative patterns are unsupported"), a traceback."""
    from tandem.quickstart.pipeline import Context, pretraining_files

    for name in ("en.txt", "de.txt", "notes.md"):
        (tmp_path / name).write_text("one document\n", encoding="utf-8")
    ctx = Context(tmp_path / "qs", make_plan(), data=[str(tmp_path / "*.txt")])
    assert pretraining_files(ctx) == [str((tmp_path / n).resolve()) for n in ("de.txt", "en.txt")]
    monkeypatch.setenv("HOME", str(tmp_path))
    ctx.data = ["~/e*.txt"]
    assert pretraining_files(ctx) == [str((tmp_path / "en.txt").resolve())]
    ctx.data = [str(tmp_path / "*.json")]
    with pytest.raises(TandemError, match="matched no files"):
        pretraining_files(ctx)
    # '**' spans folders (as Path().glob did before, and pretrain's --data does): not one '*'
    deep = tmp_path / "more" / "hi" / "wiki"
    deep.mkdir(parents=True)
    for f in (tmp_path / "more" / "ta.txt", deep / "hi.txt"):
        f.write_text("one document\n", encoding="utf-8")
    ctx.data = [str(tmp_path / "more" / "**" / "*.txt")]
    assert pretraining_files(ctx) == [
        str(f.resolve()) for f in (deep / "hi.txt", tmp_path / "more" / "ta.txt")
    ]


def test_real_data_commands_export_the_folder_distill_writes(tmp_path):
    """The report's "real data" commands: `tandem export` takes the model `tandem distill --out OUT` saves,
    OUT/student_1/final (there is no OUT/best), and `tandem serve` the folder the export writes."""
    import shlex

    from tandem.quickstart.report import REAL_DATA_COMMANDS

    cmds = [shlex.split(line) for line in REAL_DATA_COMMANDS.splitlines() if line.startswith("tandem ")]
    distill = next(c for c in cmds if c[1] == "distill")
    export = next(c for c in cmds if c[1] == "export")
    serve = next(c for c in cmds if c[1] == "serve")
    assert export[2] == f"{distill[distill.index('--out') + 1]}/student_1/final"
    assert serve[2] == export[export.index("--out") + 1]


def test_unwritable_out_is_a_one_line_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(TandemError, match="--out .*file/qs"):
        run_quickstart(tmp_path / "file" / "qs", stages=["corpus"], log=lambda s: None)


def test_a_stage_that_cannot_write_fails_with_the_reason(tmp_path, monkeypatch):
    """A full disk or a read-only file inside the run folder fails that stage (reported), not the run."""
    import tandem.quickstart.pipeline as pipeline

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline, "write_corpus", full)
    res = run_quickstart(tmp_path, minutes=0.05, stages=["corpus"], log=lambda s: None)
    assert res["stages"]["corpus"]["status"] == "failed"
    assert "No space left on device" in res["stages"]["corpus"]["reason"]
    assert (tmp_path / "report.md").is_file()


def test_ctrl_c_still_writes_the_report_and_exits_130(tmp_path, monkeypatch, capsys):
    """Ctrl-C during a stage: the stages done so far are reported, the interrupted one is marked so, the
    rest are not run, and the command exits 130 (as the shell reports SIGINT)."""
    import tandem.quickstart.pipeline as pipeline
    from tandem.cli import main

    def ctrl_c(ctx):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "pretraining_files", ctrl_c)  # the tokenizer stage's first step
    out = tmp_path / "qs"
    argv = ["quickstart", "--out", str(out), "--minutes", "0.05", "--quiet"]
    assert main(argv + ["--stages", "corpus", "tokenizer", "pretrain"]) == 130
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    st = res["stages"]
    assert st["corpus"]["status"] == "ok" and st["tokenizer"]["status"] == "interrupted"
    assert "status" not in st.get("pretrain", {}) and res["interrupted"] is True and "finished" in res
    md = (out / "report.md").read_text(encoding="utf-8")
    assert re.search(r"^\| tokenizer \| interrupted \|", md, flags=re.M)
    assert re.search(r"^\| pretrain \| not run \|", md, flags=re.M)
    assert "**tokenizer** (interrupted)" in md and (out / "report.html").is_file()
    assert untraced_numbers(md, res) == []
    assert "interrupted" in capsys.readouterr().err


def test_a_verb_stopped_by_ctrl_c_stops_the_quickstart(tmp_path, monkeypatch):
    """A verb that exits 130 (it got the Ctrl-C too and saved its work) ends the run like the Ctrl-C."""
    import tandem.quickstart.pipeline as pipeline

    class Proc:
        stdout = None

        def wait(self, timeout=None):
            return 130

        def poll(self):
            return 130

    monkeypatch.setattr(pipeline.subprocess, "Popen", lambda *a, **k: Proc())
    monkeypatch.setattr(pipeline, "_tee", lambda proc, log_path, quiet: log_path.write_text("interrupted\n"))
    res = run_quickstart(tmp_path, minutes=0.05, stages=["corpus", "tokenizer"], log=lambda s: None)
    assert res["stages"]["tokenizer"]["status"] == "interrupted" and res["interrupted"] is True
    assert (tmp_path / "report.md").is_file()


@pytest.mark.slow
# A dozen verbs, each its own process that imports torch, three of them twice: 210 s on a shared 2-core
# machine, 240 s with two busy loops beside it. The suite's 300 s per test would fail it on a slower CI
# machine; 900 s still stops a hang long before CI's limit.
@pytest.mark.timeout(900)
def test_quickstart_reduced_end_to_end(tmp_path):
    """The reduced mode CI runs: every stage either ran (and its numbers match the files its verb wrote) or is
    reported as skipped/failed with a reason; every number in the report comes from results.json."""
    out = tmp_path / "qs"
    res = run_quickstart(out, minutes=0.05, langs=["en", "de"], quiet=True, log=lambda s: None)
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert saved["stages"].keys() == {s.name for s in STAGES}
    md = (out / "report.md").read_text(encoding="utf-8")
    assert (out / "report.html").is_file()
    assert untraced_numbers(md, saved) == []
    st = saved["stages"]
    for name, e in st.items():
        assert e["status"] in ("ok", "skipped", "failed"), name
        if e["status"] != "ok":
            assert e["reason"] and "result" not in e
            assert f"**{name}** ({e['status']})" in md
        if e["status"] == "failed":  # only an optional dependency missing here may fail a stage
            assert "needs the Python package" in e["reason"], (name, e["reason"])
    # the stages that must work in any version with the corpus and tokenizer verbs
    assert st["corpus"]["status"] == "ok" and st["tokenizer"]["status"] == "ok"
    assert st["corpus"]["result"]["languages"] == 2
    assert (
        json.loads((out / "data" / "corpus.json").read_text())["frames"] == st["corpus"]["result"]["frames"]
    )
    from tandem.tokenizer import Tokenizer

    assert Tokenizer.load(out / "tokenizer").vocab_size == st["tokenizer"]["result"]["vocab_size"]
    # cross-check the numbers of every stage that ran against the files its verb wrote
    if st["pretrain"]["status"] == "ok":
        p = st["pretrain"]["result"]
        rows = [json.loads(line) for line in (out / p["metrics_file"]).read_text().splitlines()]
        rows = [r for r in rows if "loss" in r]
        assert (p["first_loss"], p["final_loss"], p["steps"]) == (
            rows[0]["loss"],
            rows[-1]["loss"],
            rows[-1]["step"],
        )
        assert fmt(p["final_loss"]) in md
    if st["prompting"]["status"] == "ok":
        for shots, tasks in st["prompting"]["result"].items():
            written = json.loads((out / "eval" / shots / "metrics.json").read_text())["results"]
            for task, metrics in tasks.items():
                for k, v in metrics.items():
                    key = "num_scored" if k == "n" and "n" not in written[task] else k
                    assert written[task][key] == v, (shots, task, k)
    if st["measure"]["status"] == "ok":
        m = st["measure"]["result"]
        for key in ("teacher", "student", "student_noteacher", "student_int8"):
            if key in m:
                written = json.loads((out / "measure" / key / "metrics.json").read_text())["results"]
                task = next(iter(written.values()))
                assert task["exact_match"] == m[key]["exact_match"]
                assert fmt(m[key]["latency_ms_p50"]) in md
    if st["serve"]["status"] == "ok":
        assert st["serve"]["result"]["requests_ok"] == len(st["serve"]["result"]["requests"])
    # every command of the report is one that ran, and its config file exists
    for e in st.values():
        for cmd in e.get("commands", []):
            assert cmd in md
            if "--config" in cmd:
                assert (out / cmd.split("--config ")[1].split()[0]).is_file()
    assert res["stages"]["corpus"]["status"] == "ok"
    # a stage run again into the same folder starts over instead of refusing the folder its first run wrote
    again = [n for n in ("pretrain", "finetune", "distill") if st[n]["status"] == "ok"]
    if again:
        res2 = run_quickstart(
            out, minutes=0.05, langs=["en", "de"], quiet=True, stages=again, log=lambda s: None
        )
        assert all(res2["stages"][n]["status"] == "ok" for n in again), {n: res2["stages"][n] for n in again}


def test_measure_maps_slu_tags_through_labels(tmp_path, monkeypatch):
    """A tag-format model's generations are written as `intent ; slot = value` text (via its labels.json), so
    `tandem evaluate --predictions` scores them like any other model's."""
    import tandem.finetune
    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM
    from tandem.quickstart.measure import measure
    from tandem.slu import SLULabels
    from tandem.tokenizer import Tokenizer

    labels = SLULabels(["alarm_set", "timer_set"], ["duration", "time"])
    words = [f"set an alarm for {w} please" for w in ("seven", "eight", "nine", "ten")] * 50
    tok = Tokenizer.train(iter(words), vocab_size=286, reserved_tags=len(labels), num_threads=1)
    cfg = ModelConfig.preset(
        "tiny", vocab_size=tok.vocab_size, pad_token_id=tok.pad_id, eos_token_id=tok.eos_id,
        decoder_start_token_id=tok.eos_id, d_model=16, encoder_layers=1, decoder_layers=1, num_heads=2,
        ffn_dim=32,
    )  # fmt: skip
    model_dir = tmp_path / "model"
    Seq2SeqLM(cfg).save_pretrained(model_dir, tokenizer=tok)
    labels.save(model_dir)
    data = tmp_path / "test.jsonl"
    data.write_text(
        "".join(json.dumps({"id": f"u{i}", "utt": w}) + "\n" for i, w in enumerate(words[:3])),
        encoding="utf-8",
    )
    raw = ["<tag_0><tag_3> seven", "<tag_1><tag_2> ten minutes", "no tags here"]
    monkeypatch.setattr(tandem.finetune, "generate_texts", lambda model, tok, enc, **kw: raw[: len(enc)])
    res = measure(model_dir, data, tmp_path / "preds.jsonl", latency_samples=1)
    got = [json.loads(line)["prediction"] for line in (tmp_path / "preds.jsonl").read_text().splitlines()]
    assert got == ["alarm_set ; time = seven", "timer_set ; duration = ten minutes", "no tags here"]
    assert res["slu_tags"] is True


def test_tag_format_flags_and_served_parse_text(tmp_path):
    from tandem.quickstart.pipeline import Context, _finetune_flags, _parse_text

    ctx = Context(tmp_path, make_plan(10))
    (tmp_path / "data" / "massive").mkdir(parents=True)
    (tmp_path / "data" / "massive" / "dev.jsonl").write_text('{"id": "0"}\n', encoding="utf-8")
    teacher = _finetune_flags(ctx, "teacher-pretrained/model", "teacher", student=False)
    assert teacher["task"] == "slu" and teacher["slu_tags"] and teacher["data"].startswith("data/massive/")
    student = _finetune_flags(ctx, None, "student-noteacher", student=True)
    assert student["lr"] == ctx.plan.student_lr and student["max_steps"] == ctx.plan.distill_steps
    parse = {
        "intent": "alarm_set",
        "slots": [{"slot": "time", "value": "nine a m"}],
        "text": "<tag_0><tag_3> nine a m",
    }
    assert _parse_text(parse) == "alarm_set ; time = nine a m"
    assert _parse_text({"text": "raw"}) == "raw"


def test_data_languages_come_from_the_name_or_lang_prefix_and_are_checked_first(tmp_path):
    """A file name that gives no language tag ("my corpus.txt") failed two stages in (the tokenizer's spoken
    form, then pretrain): it is refused before any stage, saying how to give the language, `LANG:FILE`."""
    from tandem.quickstart.pipeline import Context, pretraining_sources

    for name in ("de.txt", "my corpus.txt"):
        (tmp_path / name).write_text("one document\n", encoding="utf-8")
    odd = str((tmp_path / "my corpus.txt").resolve())
    ctx = Context(
        tmp_path / "qs", make_plan(), data=[str(tmp_path / "de.txt"), f"en:{tmp_path}/my corpus.txt"]
    )
    assert pretraining_sources(ctx) == [(str((tmp_path / "de.txt").resolve()), "de"), (odd, "en")]
    with pytest.raises(TandemError, match=r"guessed from the file name \('my corpus'\).*LANG:FILE"):
        run_quickstart(out=tmp_path / "qs", minutes=1, data=[odd], quiet=True)
    assert not (tmp_path / "qs" / "tokenizer").exists()
    with pytest.raises(TandemError, match="not a language tag"):
        pretraining_sources(Context(tmp_path / "qs", make_plan(), data=[f"e n:{odd}"]))
    # 'all' (Allar's ISO 639-3 code, but a common file name word) and 'foo' (no ISO 639 code) give no language
    for name in ("all", "foo"):
        (tmp_path / f"{name}.txt").write_text("one document\n", encoding="utf-8")
        with pytest.raises(
            TandemError, match=rf"file name \('{name}'\) is not taken as a language.*LANG:FILE"
        ):
            pretraining_sources(Context(tmp_path / "qs", make_plan(), data=[str(tmp_path / f"{name}.txt")]))
    # a code without a two-letter one is a language (Cantonese), as in `tandem pretrain`
    yue = tmp_path / "yue.txt"
    yue.write_text("one document\n", encoding="utf-8")
    assert pretraining_sources(Context(tmp_path / "qs", make_plan(), data=[str(yue)])) == [
        (str(yue.resolve()), "yue")
    ]


def test_stages_rerun_takes_the_earlier_runs_settings(tmp_path):
    """README: `tandem quickstart --out qs --minutes 2`, then `--out qs --stages measure serve` reuses the other
    stages. The rerun took the defaults instead (a 10-minute plan, all seven languages, seed 0): the stages it
    ran no longer fit the reused ones (a tokenizer rerun after `--langs en de` looked for data/text/fr.txt and
    failed). Settings left out now take the earlier run's; settings given still win."""
    out = tmp_path / "qs"
    quiet = {"quiet": True, "log": lambda s: None}
    run_quickstart(out, minutes=2, langs=["en", "de"], seed=3, stages=["corpus"], **quiet)
    first = json.loads((out / "data" / "corpus.json").read_text(encoding="utf-8"))

    res = run_quickstart(out, stages=["corpus"], **quiet)
    corpus = res["stages"]["corpus"]
    assert corpus["status"] == "ok"
    assert corpus["result"]["frames"] == make_plan(2).frames != make_plan(10).frames
    assert corpus["result"]["languages"] == 2
    assert json.loads((out / "data" / "corpus.json").read_text(encoding="utf-8")) == first  # same seed too
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert (saved["plan"]["minutes"], saved["langs"], saved["seed"]) == (2, ["en", "de"], 3)

    res = run_quickstart(out, minutes=10, stages=["corpus"], **quiet)  # a flag given is used
    assert res["stages"]["corpus"]["result"]["frames"] == make_plan(10).frames
    assert res["stages"]["corpus"]["result"]["languages"] == 2


def test_stages_rerun_from_another_directory_finds_the_earlier_data(tmp_path, monkeypatch):
    """`--data` given relative to the working directory was kept as written in results.json, so a `--stages`
    rerun from another directory looked for the files there ("--data de.txt: no such file")."""
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    (work / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    (work / "de.txt").write_text("ein Dokument\n", encoding="utf-8")
    (work / "sub" / "corpus.txt").write_text("one document\n", encoding="utf-8")
    out = tmp_path / "qs"
    quiet = {"quiet": True, "log": lambda s: None}
    monkeypatch.chdir(work)
    run_quickstart(out, minutes=1, data=["de.txt", "en:sub/*.txt"], stages=["corpus"], **quiet)
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert saved["user_data"] == [str(work / "de.txt"), f"en:{work / 'sub' / '*.txt'}"]
    monkeypatch.chdir(elsewhere)
    res = run_quickstart(out, stages=["corpus"], **quiet)
    assert res["stages"]["corpus"]["status"] == "ok"
    assert res["user_data"] == saved["user_data"]


def test_report_corpus_section_describes_the_users_data(tmp_path):
    """With --data the Corpus section still counted the built-in pretraining documents, which nothing was
    trained on. It now describes the user's files (files, languages, documents, bytes) and says what the
    built-in corpus is still used for; without --data it is as before."""
    import gzip

    (tmp_path / "de.txt").write_text("ein Dokument\n\nnoch eins\ndrei\n", encoding="utf-8")  # 3 documents
    (tmp_path / "en.txt.gz").write_bytes(gzip.compress(b"one document\ntwo\n", mtime=0))  # 2 documents
    out = tmp_path / "qs"
    quiet = {"quiet": True, "log": lambda s: None}
    data = [str(tmp_path / "de.txt"), str(tmp_path / "en.txt.gz")]
    res = run_quickstart(out, minutes=1, data=data, stages=["corpus"], **quiet)
    size = (tmp_path / "de.txt").stat().st_size + (tmp_path / "en.txt.gz").stat().st_size
    assert res["user_data_summary"] == {
        "files": 2,
        "languages": ["de", "en"],
        "documents": 5,
        "bytes": size,
        "estimated_files": 0,
        "sample_bytes": 1 << 20,
        "damaged_files": [],
    }
    md = (out / "report.md").read_text(encoding="utf-8")
    corpus = md.split("## Corpus\n", 1)[1].split("\n## ", 1)[0]
    assert f"2 files in languages de, en, 5 documents (non-blank lines), {fmt(size)} bytes on disk" in corpus
    assert "The built-in synthetic corpus, used for prompting" in corpus
    assert "pretraining documents" not in corpus
    assert untraced_numbers(md, res) == []
    res = run_quickstart(tmp_path / "plain", minutes=1, stages=["corpus"], **quiet)
    md = (tmp_path / "plain" / "report.md").read_text(encoding="utf-8")
    assert f"{fmt(res['stages']['corpus']['result']['documents'])} pretraining documents" in md
    assert "Your data" not in md and res["user_data_summary"] is None


def test_data_summary_reads_a_bounded_sample_and_a_damaged_file_is_reported_not_fatal(tmp_path, monkeypatch):
    """`tandem quickstart --data` counted every document of every file before any stage (a large corpus read
    whole at start), and a damaged .gz stopped the run there. The count now reads at most a sample of each
    file and estimates the rest from its size on disk, saying so in the report; a damaged .gz is listed,
    and the tokenizer stage trains on the lines before the damage, as `tandem pretrain` does."""
    import gzip
    import zlib

    from tandem.quickstart import pipeline
    from tandem.quickstart.pipeline import Context, data_summary

    big = tmp_path / "en.txt"
    lines = [f"line {k:05d} " + "word " * (k % 7) for k in range(20_000)]
    big.write_text("\n".join(lines) + "\n", encoding="utf-8")
    small = tmp_path / "de.txt"
    small.write_text("eins\n\nzwei\n", encoding="utf-8")
    got = data_summary([(str(big), "en"), (str(small), "de")], sample_bytes=4096)
    assert got["estimated_files"] == 1 and got["damaged_files"] == []
    assert abs(got["documents"] - (20_000 + 2)) < 0.05 * 20_000  # an estimate, from 4 KiB of 267 KB
    assert got["bytes"] == big.stat().st_size + small.stat().st_size  # measured
    # a .gz cut short far past the sample: the summary never reaches the damage (it read no further)
    whole = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    late = tmp_path / "fr.txt.gz"
    late.write_bytes(whole[: len(whole) * 9 // 10])
    got = data_summary([(str(late), "fr")], sample_bytes=4096)
    assert got["damaged_files"] == [] and got["estimated_files"] == 1
    # one cut within the sample: listed, its documents counted up to the damage (zlib says how many)
    early = tmp_path / "it.txt.gz"
    cut = gzip.compress(("\n".join(lines[:300]) + "\n").encode(), mtime=0)
    early.write_bytes(cut[: len(cut) // 2])
    readable = zlib.decompressobj(31).decompress(cut[: len(cut) // 2])
    before = readable.count(b"\n")  # whole lines before the damage
    got = data_summary([(str(early), "it")])
    assert got["estimated_files"] == 0 and got["documents"] == before > 0
    (msg,) = got["damaged_files"]
    assert str(early) in msg and "corrupt or truncated gzip" in msg
    # the run goes on: the report names the file; the tokenizer stage gets the lines before the damage
    monkeypatch.setattr(pipeline, "SUMMARY_SAMPLE_BYTES", 4096)
    out = tmp_path / "qs"
    quiet = {"quiet": True, "log": lambda s: None}
    res = run_quickstart(out, minutes=1, data=[str(small), str(early)], stages=["corpus"], **quiet)
    assert res["user_data_summary"]["damaged_files"] == [msg]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "Damaged files" in md and str(early) in md
    assert untraced_numbers(md, res) == []
    from tandem.quickstart.pipeline import _readable_text

    ctx = Context(out, make_plan(), data=[str(small), str(early)], log=lambda s: None)
    files, damaged = _readable_text(ctx, [str(small), str(early)])
    assert files[0] == str(small) and damaged == [msg]
    assert Path(files[1]).read_bytes() == readable[: readable.rindex(b"\n") + 1]
    # estimated counts are labelled as such
    res = run_quickstart(tmp_path / "qs2", minutes=1, data=[str(big)], stages=["corpus"], **quiet)
    md = (tmp_path / "qs2" / "report.md").read_text(encoding="utf-8")
    assert res["user_data_summary"]["estimated_files"] == 1
    assert f"about {fmt(res['user_data_summary']['documents'])} documents" in md and "estimated" in md
    assert untraced_numbers(md, res) == []
