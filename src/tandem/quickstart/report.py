"""report.md, report.html and PNG plots of a quickstart run, rendered from its results.json alone.

Every number in the report is a value of results.json passed through `fmt` (the prose itself has no
digits), so a reader (and the test) can trace each figure back to the stage that measured it. Curves in
the plots are read from the metrics.jsonl files that results.json points to.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

Block = tuple[
    str, Any
]  # ("h2", text) | ("p", text) | ("table", (header, rows)) | ("code", text) | ("img", (path, alt))


def fmt(v: Any) -> str:
    """How the report writes a number (also used by the test to trace numbers back to results.json)."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if v == 0:
            return "0"
        a = abs(v)
        if a >= 100:
            return f"{v:.0f}"
        if a >= 10:
            return f"{v:.1f}"
        if a >= 0.01:
            return f"{v:.2f}"
        return f"{v:.2e}"
    return str(v)


def fmt_seconds(v: Any) -> str:
    """How the report writes a duration in seconds: one decimal under 100 s, whole seconds above; a duration
    that rounds to 0.0 but is not zero (a stage skipped at once) is "<0.1", never scientific notation."""
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return fmt(v)
    if abs(v) >= 100:
        return f"{v:.0f}"
    if 0 < v < 0.05:
        return "<0.1"
    return f"{v:.1f}"


def _get(d: dict, *keys: str, default: Any = None) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


# ------------------------------------------------------------------------------------------------ plots
def _plots(res: dict, out: Path, plot_dir: Path) -> dict[str, str]:
    """PNG plots; returns {name: path relative to out}. Empty (with a note) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    plot_dir.mkdir(parents=True, exist_ok=True)
    made: dict[str, str] = {}
    stages = res.get("stages", {})

    def rows(stage: str) -> list[dict]:
        f = _get(stages, stage, "result", "metrics_file")
        if not f or not (out / f).is_file():
            return []
        got = []
        for line in (out / f).read_text(encoding="utf-8").splitlines():
            try:
                got.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return got

    pre = [r for r in rows("pretrain") if "loss" in r]
    if pre:
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        for key, label in (("loss", "all"), ("loss_denoise", "denoising"), ("loss_clm", "causal LM")):
            pts = [(r["step"], r[key]) for r in pre if key in r]
            if pts:
                ax.plot(*zip(*pts), label=label)
        ax.set(xlabel="step", ylabel="cross-entropy", title="Teacher pretraining loss by objective")
        ax.legend()
        fig.tight_layout()
        fig.savefig(plot_dir / "pretrain_loss.png", dpi=110)
        plt.close(fig)
        made["pretrain_loss"] = str((plot_dir / "pretrain_loss.png").relative_to(out))
    fits = [(s, lbl) for s, lbl in (("finetune", "teacher fine-tuning"), ("distill", "distillation"),
                                    ("baseline", "student without teacher")) if rows(s)]  # fmt: skip
    if fits:
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        for s, lbl in fits:
            pts = [(r["step"], r["loss"]) for r in rows(s) if "loss" in r]
            if pts:
                ax.plot(*zip(*pts), label=lbl)
        ax.set(xlabel="step", ylabel="training loss", title="Parsing: fine-tuning and distillation")
        ax.legend()
        fig.tight_layout()
        fig.savefig(plot_dir / "parse_loss.png", dpi=110)
        plt.close(fig)
        made["parse_loss"] = str((plot_dir / "parse_loss.png").relative_to(out))
    models = _measured(res)
    if models:
        names = [m["label"].replace(" (", "\n(") for m in models]
        panels = [("parameters", "parameters"), ("exact_match", "exact match (%)"),
                  ("intent_acc", "intent accuracy (%)"), ("latency_ms_p50", "latency p50 (ms)")]  # fmt: skip
        fig, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 4.2))
        for ax, (key, title) in zip(axes, panels):
            vals = [m.get(key, float("nan")) for m in models]
            ax.bar(range(len(vals)), vals, color=["#4c72b0", "#dd8452", "#55a868", "#c44e52"][: len(vals)])
            ax.set_xticks(range(len(vals)), names, fontsize=7)
            ax.set_title(title, fontsize=10)
        fig.suptitle("Teacher vs students (held-out test requests)")
        fig.tight_layout()
        fig.savefig(plot_dir / "comparison.png", dpi=110)
        plt.close(fig)
        made["comparison"] = str((plot_dir / "comparison.png").relative_to(out))
    return made


def _measured(res: dict) -> list[dict]:
    from tandem.quickstart.pipeline import MEASURED

    m = _get(res, "stages", "measure", "result", default={}) or {}
    return [m[k] for k, _, _ in MEASURED if isinstance(m.get(k), dict)]


# ----------------------------------------------------------------------------------------------- blocks
def _blocks(res: dict, plots: dict[str, str]) -> list[Block]:
    from tandem.quickstart.pipeline import STAGES

    st = res.get("stages", {})
    plan = res.get("plan", {})
    b: list[Block] = [("h1", "tandem quickstart report")]
    if res.get("synthetic_data", True):
        b.append(("p", "**About the data.** " + res.get("data_note", "")))
    else:
        b.append(("p", "**About the data.** Pretraining used your files (see the pretrain command below); "
                       "the parsing, prompting and serving stages still use tandem's synthetic corpus. "
                       + res.get("data_note", "")))  # fmt: skip
    m = res.get("machine", {})
    b.append(("p", f"tandem {res.get('tandem_version')}, run {res.get('started')} to {res.get('finished', '?')}: "
                   f"{fmt_seconds(res.get('total_seconds', 0.0))} s in all, for a budget of {fmt(plan.get('minutes'))} "
                   f"minutes. Machine: {m.get('platform')}, {fmt(m.get('cpus_available', m.get('cpu_count')))} "
                   f"CPUs available, Python {m.get('python')}, torch {m.get('torch')}."))  # fmt: skip
    # ----------------------------------------------------------------------------------- stage table
    rows = []
    for s in STAGES:
        e = st.get(s.name, {})
        status = e.get("status", "not run") + (", reused from an earlier run" if e.get("reused") else "")
        rows.append(
            [s.name, status, fmt_seconds(e["seconds"]) if "seconds" in e else "", _summary(s.name, e)]
        )
    b += [("h2", "Stages"), ("table", (["stage", "status", "seconds", "result"], rows))]
    if any(e.get("reused") for e in st.values()):
        b.append(("p", "Stages reused from an earlier run were not run again (`--stages`): their numbers, "
                       "here and below, were measured by that run in this folder."))  # fmt: skip
    skipped = [
        (s.name, st[s.name])
        for s in STAGES
        if st.get(s.name, {}).get("status") in ("skipped", "failed", "interrupted")
    ]
    if skipped:
        b.append(("p", "Stages that did not run, and why (nothing is filled in for them):"))
        b.append(("ul", [f"**{n}** ({e['status']}): {e.get('reason', '')}" for n, e in skipped]))
    # ---------------------------------------------------------------------------------------- corpus
    c = _get(st, "corpus", "result")
    u = res.get("user_data_summary") if not res.get("synthetic_data", True) else None
    if c or isinstance(u, dict):
        b.append(("h2", "Corpus"))
    if isinstance(u, dict):  # --data: the user's files trained the tokenizer and the teacher
        est = u.get("estimated_files", 0)
        docs = (
            f"about {fmt(u['documents'])} documents (non-blank lines; estimated: counted in the first "
            f"{fmt(u['sample_bytes'])} bytes of text of {fmt(est)} of the files and scaled to their size on "
            "disk, the others counted whole)"
            if est
            else f"{fmt(u['documents'])} documents (non-blank lines)"
        )
        b.append(("p", (
            f"Your data (`--data`), on which the tokenizer and the teacher were trained: {fmt(u['files'])} "
            f"files in languages {', '.join(u['languages'])}, {docs}, {fmt(u['bytes'])} bytes on disk "
            "(measured).")))  # fmt: skip
        t = _get(st, "tokenizer", "result") or {}
        bad = list(dict.fromkeys([*u.get("damaged_files", []), *t.get("damaged_files", [])]))
        if bad:
            b.append(("p", "Damaged files: the tokenizer and the teacher were trained on what could be read of "
                           "them, as `tandem pretrain` reads them (the teacher's stream counts one in `bad_files` "
                           "when it reaches the damage):"))  # fmt: skip
            b.append(("ul", bad))
    if c:
        what = (
            "The built-in synthetic corpus, used for prompting, fine-tuning (parsing), distillation and serving: "
            if isinstance(u, dict)
            else ""
        )
        docs = "" if isinstance(u, dict) else f"; {fmt(c['documents'])} pretraining documents"
        b.append(("p", (
            f"{what}{fmt(c['frames'])} requests, each in {fmt(c['languages'])} languages, across "
            f"{fmt(c['domains'])} domains and {fmt(c['intents'])} intents: {fmt(c['utterances_train'])} training, "
            f"{fmt(c['utterances_dev'])} dev and {fmt(c['utterances_test'])} test utterances{docs}. The test "
            f"split uses only held-out templates and held-out slot values. Spoken form: "
            f"{fmt(c['spoken_form'])}.")))  # fmt: skip
    t = _get(st, "tokenizer", "result")
    if t:
        b += [("h2", "Tokenizer"), ("p", f"SentencePiece unigram, {fmt(t['vocab_size'])} pieces (with [CLM], [DOC] "
                                        f"and [MASK]); spoken-form share of its training text: "
                                        f"{fmt(t['spoken_ratio'])}.")]  # fmt: skip
    p = _get(st, "pretrain", "result")
    if p:
        parts = [f"Teacher: {fmt(p['parameters'])} parameters, {fmt(p['steps'])} steps; loss from "
                 f"{fmt(p['first_loss'])} to {fmt(p['final_loss'])}"]  # fmt: skip
        if "final_loss_denoise" in p or "final_loss_clm" in p:
            parts.append(f" (last logged: denoising {fmt(p.get('final_loss_denoise', float('nan')))}, causal LM "
                         f"{fmt(p.get('final_loss_clm', float('nan')))})")  # fmt: skip
        if "tokens_per_s" in p:
            parts.append(f"; {fmt(p['tokens_per_s'])} tokens/s")
        b += [("h2", "Pretraining"), ("p", "".join(parts) + ".")]
        if "pretrain_loss" in plots:
            b.append(("img", (plots["pretrain_loss"], "pretraining loss by objective")))
    pr = _get(st, "prompting", "result")
    if pr:
        b += [("h2", "Zero- and one-shot prompting"),
              ("p", "The pretrained teacher, prompted with [CLM] and scored on held-out test requests: intent "
                    "recognition as entailment (rte) and yes/no questions (boolq), parsing (massive) and "
                    "translation (flores). Nothing here was trained on these tasks; n is the number of "
                    "requests each task was scored on.")]  # fmt: skip
        header, trows = ["task", "metric"], {}
        for shots, tasks in pr.items():
            header.append(shots.replace("0shot", "zero-shot").replace("1shot", "one-shot"))
            for task, metrics in tasks.items():
                for k, v in metrics.items():
                    trows.setdefault((task, k), {})[shots] = v
        rows = [
            [task, k, *[fmt(vals[s]) if s in vals else "" for s in pr]] for (task, k), vals in trows.items()
        ]
        b.append(("table", (header, rows)))
    # --------------------------------------------------------------------------------- fine-tuning
    fit_rows = []
    for name, label in (
        ("finetune", "teacher"),
        ("distill", "distilled student"),
        ("baseline", "student, no teacher"),
    ):
        r = _get(st, name, "result")
        if r:
            fit_rows.append([label, fmt(r.get("parameters", "")), fmt(r.get("steps", "")),
                             fmt(r.get("final_loss", "")), fmt(r.get("dev_loss", "")),
                             fmt(r.get("dev_intent_acc", "")), fmt(r.get("dev_exact_match", ""))])  # fmt: skip
    if fit_rows:
        b.append(("h2", "Fine-tuning and distillation"))
        if _get(res, "plan", "slu_tags"):
            b.append(("p", "Parse targets use SLU tags (`--slu-tags`): each intent and slot name is one reserved "
                            "tokenizer tag, followed by the copied slot values; `labels.json` beside each model "
                            "maps the tags back to names for scoring, the edge runtime and the server."))  # fmt: skip
        b.append(("p", "The dev set (which picks the best checkpoint) uses the training templates and values; "
                       "the test set below uses only held-out templates and held-out values, so its scores are "
                       "much lower: they measure generalisation to new phrasings."))  # fmt: skip
        header = ["model", "parameters", "steps", "final training loss", "dev loss", "dev intent acc"]
        b.append(("table", ([*header, "dev exact match"], fit_rows)))
        if "parse_loss" in plots:
            b.append(("img", (plots["parse_loss"], "fine-tuning and distillation loss")))
    ms = _measured(res)
    if ms:
        mres = st["measure"]["result"]
        b += [("h2", "Teacher vs students"),
              ("p", f"On {fmt(mres['test_examples'])} held-out test requests (all languages; unseen templates and "
                    f"values). Latency: greedy parse of one request, batch one, one thread, median and "
                    f"95th percentile over {fmt(mres['latency_samples'])} requests; memory: peak resident set "
                    f"of the measuring process.")]  # fmt: skip
        rows = [[x["label"], fmt(x.get("parameters", "")), fmt(x["share_of_teacher_pct"]) if "share_of_teacher_pct" in x else "",
                 fmt(x.get("intent_acc", "")), fmt(x.get("slot_f1", "")), fmt(x.get("exact_match", "")),
                 fmt(x["latency_ms_p50"]), fmt(x["latency_ms_p95"]), fmt(x["peak_rss_mb"]), fmt(x["disk_mb"])]
                for x in ms]  # fmt: skip
        b.append(("table", (["model", "parameters", "% of teacher", "intent acc", "slot F1", "exact match",
                             "p50 ms", "p95 ms", "peak RSS MB", "disk MB"], rows)))  # fmt: skip
        if "comparison" in plots:
            b.append(("img", (plots["comparison"], "teacher vs students")))
    ex = _get(st, "export", "result")
    if ex:
        b += [("h2", "Edge export"), ("p", f"CTranslate2 {ex.get('quantization')} export of the distilled student: "
                                           f"{fmt(ex['disk_mb'])} MB on disk." + _export_check(ex))]  # fmt: skip
    sv = _get(st, "serve", "result")
    if sv:
        b += [("h2", "Serving"), ("p", f"`tandem serve` answered /healthz after {fmt(sv['startup_s'])} s; "
                                       f"{fmt(sv['requests_ok'])} of {fmt(len(sv['requests']))} parse requests "
                                       f"succeeded; /metrics exposed {fmt(sv['metrics_lines'])} samples; stopped with "
                                       f"Ctrl-C (SIGINT), exit code {fmt(sv['exit_code'])}.")]  # fmt: skip
        b.append(
            (
                "table",
                (
                    ["input", "HTTP", "ms", "output"],
                    [
                        [r["input"], fmt(r["status"]), fmt(r["latency_ms"]), r["output"]]
                        for r in sv["requests"]
                    ],
                ),
            )
        )
        if _get(st, "serve", "http_commands"):
            b.append(("code", "\n".join(st["serve"]["http_commands"])))
    # ---------------------------------------------------------------------------------------- rerun
    b += [("h2", "Rerun each stage"),
          ("p", "From the run folder (`cd " + res.get("out", ".") + "`), these are the commands that ran, with "
                "the config files they read:")]  # fmt: skip
    for s in STAGES:
        e = st.get(s.name, {})
        if e.get("commands"):
            b.append(("h3", f"{s.name}: {s.title}"))
            b.append(("code", "\n".join(e["commands"])))
    b += [("h2", "On real data and real hardware"), ("p", REAL_DATA_INTRO), ("code", REAL_DATA_COMMANDS)]
    return b


def _export_check(ex: dict) -> str:
    parts = []
    if "probe_match" in ex:
        parts.append(
            f"greedy outputs of the float export equal tandem's on the probe inputs: {fmt(ex['probe_match'])}"
        )
    if "quantized_agreement" in ex:
        parts.append(f"agreement of the quantized export with them: {fmt(ex['quantized_agreement'])}")
    return (" Verified on export: " + "; ".join(parts) + ".") if parts else ""


def _summary(name: str, e: dict) -> str:
    r = e.get("result") or {}
    if e.get("status") != "ok":
        return e.get("reason", "")
    if name == "corpus":
        return f"{fmt(r['frames'])} requests x {fmt(r['languages'])} languages"
    if name == "tokenizer":
        return f"vocabulary {fmt(r['vocab_size'])}"
    if name == "pretrain":
        return f"{fmt(r['parameters'])} parameters, loss {fmt(r['first_loss'])} -> {fmt(r['final_loss'])}"
    if name in ("finetune", "distill", "baseline"):
        s = f"{fmt(r.get('parameters', ''))} parameters"
        if "dev_exact_match" in r:
            s += f", dev exact match {fmt(r['dev_exact_match'])}"
        return s
    if name == "export":
        return f"{fmt(r['disk_mb'])} MB"
    if name == "serve":
        return f"{fmt(r['requests_ok'])} of {fmt(len(r['requests']))} requests answered"
    if name == "prompting":
        parts = []
        for shots, tasks in r.items():
            task, metrics = next(iter(tasks.items()), ("", {}))
            key = next((k for k in ("acc", "exact_match", "chrf++") if k in metrics), None)
            if key:
                parts.append(
                    f"{task} {key} {fmt(metrics[key])} ({shots.replace('0shot', 'zero-shot').replace('1shot', 'one-shot')})"
                )
        return ", ".join(parts)
    if name == "measure":
        return f"{fmt(r['test_examples'])} test requests"
    return ""


REAL_DATA_INTRO = (
    "The same verbs take real corpora and bigger models. Point --data at text files (one document per line; "
    "the language comes from the file name, or give lang:path), pick a bigger preset, and launch with "
    "torchrun for several GPUs or nodes (FSDP2 is applied automatically when there is more than one process)."
)

REAL_DATA_COMMANDS = """\
# tokenizer on your text, 70% of it converted to spoken form as in AlexaTM
tandem tokenizer train --input corpus/en.txt corpus/de.txt --lang en de --spoken-ratio 0.7 --vocab-size 32000 --out tok/

# pretrain on your corpus (one document per line; a language per file): one GPU, several GPUs, several nodes
tandem pretrain --preset base --data en:corpus/en.txt de:corpus/de.txt --tokenizer tok/ --spoken-fraction 0.7 --steps 100000 --batch-size 32 --seq-len 512 --out runs/base
torchrun --nproc_per_node 8 -m tandem pretrain --preset 2b --data 'corpus/*.txt' --tokenizer tok/ --batch-size 8 --seq-len 1024 --activation-checkpointing --out runs/2b
torchrun --nnodes 4 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint HOST0:29500 -m tandem pretrain --preset 2b --data 'corpus/*.txt' --tokenizer tok/ --out runs/2b   # on every node

# few-shot evaluation on the public sets under ../shared/data
tandem evaluate --model runs/base/model --tasks copa,rte,cb,boolq --shots 1 --out runs/base/eval
tandem evaluate --model runs/base/model --tasks flores:en-de,xnli:de,xsid:de --shots 1 --limit 200 --out runs/base/eval-more

# fine-tune on real intent/slot data, distill an edge student
tandem finetune --model runs/base/model --task slu --data ../shared/data/snips --train-split train --dev ../shared/data/snips --dev-split valid --out runs/teacher
tandem distill --teacher runs/teacher/best --student edge-17m --task slu --data ../shared/data/snips --train-split train --dev-holdout 500 --out runs/student

# ship it
tandem export runs/student/student_1/final --format ct2 --quantize int8 --out student-int8/
tandem serve student-int8/ --port 8000
"""


# ---------------------------------------------------------------------------------------------- render
def _md_inline(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block]) -> str:
    out = []
    for kind, x in blocks:
        if kind in ("h1", "h2", "h3"):
            out.append("#" * int(kind[1]) + " " + x)
        elif kind == "p":
            out.append(x)
        elif kind == "ul":
            out.append("\n".join(f"- {item}" for item in x))
        elif kind == "code":
            out.append("```\n" + x.rstrip("\n") + "\n```")
        elif kind == "img":
            out.append(f"![{x[1]}]({x[0]})")
        elif kind == "table":
            header, rows = x
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(_md_inline(c) for c in r) + " |" for r in rows]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def _html_inline(text: str) -> str:
    import re

    s = html.escape(str(text))
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", s)


def to_html(blocks: list[Block]) -> str:
    body = []
    for kind, x in blocks:
        if kind in ("h1", "h2", "h3"):
            body.append(f"<{kind}>{html.escape(x)}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{_html_inline(x)}</p>")
        elif kind == "ul":
            body.append("<ul>" + "".join(f"<li>{_html_inline(i)}</li>" for i in x) + "</ul>")
        elif kind == "code":
            body.append(f"<pre><code>{html.escape(x)}</code></pre>")
        elif kind == "img":
            body.append(
                f'<p><img src="{html.escape(x[0])}" alt="{html.escape(x[1])}" style="max-width:100%"></p>'
            )
        elif kind == "table":
            header, rows = x
            h = "".join(f"<th>{html.escape(c)}</th>" for c in header)
            r = "".join(
                "<tr>" + "".join(f"<td>{_html_inline(c)}</td>" for c in row) + "</tr>" for row in rows
            )
            body.append(f"<table><thead><tr>{h}</tr></thead><tbody>{r}</tbody></table>")
    style = (
        "body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;line-height:1.45}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;font-size:.9em}"
        "pre{background:#f4f4f4;padding:.8em;overflow-x:auto}code{font-size:.9em}"
    )
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8"><title>tandem quickstart report</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_report(out: str | Path) -> dict[str, Path]:
    """Render `<out>/results.json` to report.md, report.html and plots/*.png; returns their paths."""
    out = Path(out)
    res = json.loads((out / "results.json").read_text(encoding="utf-8"))
    plots = _plots(res, out, out / "plots")
    blocks = _blocks(res, plots)
    if not plots:
        blocks.insert(
            2, ("p", "Plots were not drawn: matplotlib is not installed (`pip install tandem[train]`).")
        )
    md, page = out / "report.md", out / "report.html"
    md.write_text(to_markdown(blocks), encoding="utf-8")
    page.write_text(to_html(blocks), encoding="utf-8")
    return {"md": md, "html": page, "plots": out / "plots"}
