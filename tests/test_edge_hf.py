"""The edge runtime for models with a Hugging Face tokenizer (BART's byte-level BPE, mBART-cc25's and mBART-50's
shifted SentencePiece): exported with their tokenizer.json, read by `tokenizers` alone, and decoding and
scoring as tandem's torch path (`tandem generate`, the torch serve backend) does on the same checkpoint.
Tiny random checkpoints and tokenizers are built here; nothing is downloaded."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("ctranslate2")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
pytest.importorskip("sentencepiece")

from _edge_scoring import check_scores  # noqa: E402
from _hf_tiny import TINY_BART_DIMS  # noqa: E402
from tandem.cli import main as cli_main  # noqa: E402
from tandem.edge import EdgeModel  # noqa: E402
from tandem.errors import TandemError  # noqa: E402
from tandem.tokenizer import Tokenizer, affixes, frame  # noqa: E402
from test_framing import _mbart50_dir  # noqa: E402
from test_hf_tokenizer import _auto, _bart_tokenizer_dir, _mbart_tokenizer_dir, _random_texts  # noqa: E402

KINDS = ("bart", "mbart", "mbart50")
WORDS = "the quick brown fox jumps over lazy dog hello world numbers punctuation héllo wörld ✓ 日本語".split()


def _texts(tok) -> list[str]:
    """24 inputs: sentences, punctuation, newlines, unicode, odd spellings; each with some text tokens."""
    import random

    rng = random.Random(5)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 9))) for _ in range(12)]
    texts += [
        "Is it raining? Yes , it is .",
        "first line\nsecond line",
        "  two spaces  ",
        "Numbers 123 and 4.5!",
    ]
    texts += [t for t in _random_texts(40, seed=2) if t.strip()][:12]
    return [t for t in texts if tok.encode(t)][:24]


def _checkpoint(kind: str, d: Path, seed: int = 0) -> Path:
    if kind in ("bart", "bart-forced"):
        tok_dir, cls, cfg_cls, extra = _bart_tokenizer_dir(d), "Bart", transformers.BartConfig, {}
    elif kind == "mbart":
        tok_dir, cls, cfg_cls = _mbart_tokenizer_dir(d)[0], "MBart", transformers.MBartConfig
        extra = {"scale_embedding": True}
    else:
        tok_dir = _mbart50_dir(d, d.parent / f"{d.name}-sp")
        cls, cfg_cls, extra = "MBart", transformers.MBartConfig, {"scale_embedding": True}
    ref = _auto(tok_dir)
    torch.manual_seed(seed)
    cfg = cfg_cls(vocab_size=len(ref), **TINY_BART_DIMS, dropout=0.0, init_std=0.2, **extra)
    model = getattr(transformers, f"{cls}ForConditionalGeneration")(cfg).eval()
    with torch.no_grad():  # wide random weights: each input gets its own output, no near-ties
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.3 if p.shape[0] != len(ref) else 0.5)
    ro = None if kind.startswith("bart") else ref.convert_tokens_to_ids("ro_RO")
    if kind == "mbart":  # mBART-cc25: the decoder starts from the target-language code
        model.generation_config.decoder_start_token_id = ro
    if kind == "mbart50":  # mBART-50: the code is forced as the first generated token
        model.generation_config.decoder_start_token_id = 2
        model.generation_config.forced_bos_token_id = ro
    if kind == "bart-forced":  # BART-large: <s> is forced as the first generated token
        model.generation_config.forced_bos_token_id = ref.bos_token_id
    model.save_pretrained(str(d))
    ref.save_pretrained(str(d))
    return d


class _Exports(dict):
    """kind -> (checkpoint dir, fp32 export dir), each built on first use."""

    def __init__(self, root: Path):
        super().__init__()
        self.root = root

    def __missing__(self, kind: str) -> tuple[Path, Path]:
        d = _checkpoint(kind, self.root / kind)
        out = self.root / f"{kind}-ct2"
        # was: "no SentencePiece model found ... cannot run in the edge runtime" (BART); mBART's export failed
        # its check (the decoder start from config.json, not generation_config.json's code, and its
        # sentencepiece.bpe.model taken for tandem's, ids off by one from the model's)
        assert (
            cli_main(["export", str(d), "--format", "ct2", "--quantize", "float32", "--out", str(out)]) == 0
        )
        self[kind] = (d, out)
        return self[kind]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return _Exports(tmp_path_factory.mktemp("edge-hf"))


def _torch_ids(model, tok, text: str, max_new_tokens: int) -> list[int]:
    """Greedy ids after the decoder start, EOS included when produced: tandem's torch model, input framed as
    `tandem generate` frames it."""
    src = torch.tensor([frame(tok.encode(text), affixes(tok))[0]])
    with torch.no_grad():
        row = model.generate(src, max_new_tokens=max_new_tokens, num_beams=1).tolist()[0][1:]
    return row[: row.index(tok.eos_id) + 1] if tok.eos_id in row else row


@pytest.mark.parametrize("kind", KINDS)
def test_greedy_outputs_equal_tandem_generate(exported, kind, capsys):
    from tandem import Seq2SeqLM

    d, ct2 = exported[kind]
    meta = json.loads((ct2 / "tandem_edge.json").read_text())
    assert meta["tokenizer"] == "tokenizer.json" and (ct2 / "tokenizer.json").is_file()
    assert not (ct2 / "tokenizer.model").exists()
    tok = Tokenizer.load(d)
    texts = _texts(tok)
    assert len(texts) >= 20
    capsys.readouterr()
    args = ["generate", str(d), "--max-new-tokens", "10", "--num-beams", "1", "--json"]
    assert cli_main(args + [x for t in texts for x in ("--prompt", t)]) == 0
    want = [json.loads(line)["output"] for line in capsys.readouterr().out.splitlines()]
    assert len(set(want)) >= 5  # the inputs get different outputs
    edge = EdgeModel.load(ct2)
    gens = edge.generate_batch(texts, max_new_tokens=10)
    assert [g.text for g in gens] == want
    model = Seq2SeqLM.from_pretrained(d).eval()
    for text, g in zip(texts, gens):
        assert g.token_ids == _torch_ids(model, tok, text, 10), text
        # the source as `tok(text)` frames it: BART <s> ... </s>, mBART ... </s> en_XX, mBART-50 en_XX ... </s>
        assert g.input_tokens == len(_auto(d)(text).input_ids)
    if kind == "mbart":
        assert edge.encode("Hello")[-2:] == ["</s>", "en_XX"]
        assert edge.pieces[edge.decoder_start_id] == "ro_RO"  # the model's start, from generation_config.json
    if kind == "mbart50":
        assert edge.encode("Hello")[0] == "en_XX" and edge.encode("Hello")[-1] == "</s>"
        assert all(g.token_ids[0] == tok.token_to_id("ro_RO") for g in gens)  # forced first token
    if kind == "bart":
        assert edge.encode("Hello")[0] == "<s>" and edge.encode("Hello")[-1] == "</s>"


@pytest.mark.parametrize("kind", KINDS)
def test_scores_and_serving_equal_the_torch_backend(exported, kind):
    from tandem.serve.backends import EdgeBackend, GenerateParams, TorchBackend

    d, ct2 = exported[kind]
    torch_b, edge_b = TorchBackend(d, threads=1, device="cpu"), EdgeBackend(ct2)
    prompts = ["Is the fox quick? Answer:", "The quick brown fox", "héllo wörld"]
    targets = [" yes", "The lazy dog.", "✓ 日本"]
    want, got = torch_b.score(prompts, targets, False), edge_b.score(prompts, targets, False)
    for w, g in zip(want, got):
        assert g == pytest.approx(w, abs=1e-4)
    choices = [" yes", " no", " maybe so"]
    ranked = edge_b.model.rank(prompts[0], choices)
    ref = torch_b.score([prompts[0]] * 3, choices, False)
    assert ranked.losses == pytest.approx([-sum(r) / len(r) for r in ref], abs=1e-4)
    assert ranked.num_tokens == [len(r) for r in ref]
    params = GenerateParams(max_new_tokens=6, num_beams=1, stop=("o",))
    for w, g in zip(torch_b.generate(prompts, params), edge_b.generate(prompts, params)):
        assert (g.text, g.finish_reason, g.input_tokens, g.output_tokens) == (
            w.text,
            w.finish_reason,
            w.input_tokens,
            w.output_tokens,
        )
    # the SLU parse reads the same generation
    assert edge_b.model.parse(prompts[1])["text"] == edge_b.model.generate(prompts[1])


def _decoder_prefix(hf) -> list[int]:
    """The decoder's start token and, where the model forces one (mBART-50's code, BART-large's <s>), the
    forced first token: what every scored output follows."""
    gen = hf.generation_config
    return [gen.decoder_start_token_id] + (
        [] if gen.forced_bos_token_id is None else [gen.forced_bos_token_id]
    )


def _hf_logprobs(hf, ref, prefix, prompt, scored, text):
    """transformers' log-prob of each of `scored`, the decoder reading `prefix + text` (teacher forcing)."""
    with torch.no_grad():
        logits = hf(
            input_ids=torch.tensor([ref(prompt).input_ids]), decoder_input_ids=torch.tensor([prefix + text])
        ).logits[0]
    lp = torch.log_softmax(logits.double(), -1)[len(prefix) - 1 :]
    return [lp[i, s].item() for i, s in enumerate(scored)]


@pytest.mark.parametrize("kind", ["mbart50", "bart-forced", "bart", "mbart"])
def test_score_rank_and_evaluate_read_the_same_tokens(exported, kind):
    """/v1/score (torch and edge, through the app), `EdgeModel.rank` and `tandem evaluate`'s rank scoring give
    the log-probs of a choice's tokens in its prompt's context (those of prompt + choice after the prompt's
    own, with Hugging Face's tokenizer), no EOS, read after what the model is forced to emit before them (the
    decoder start, then a forced first token: mBART-50's ro_RO, BART-large's <s>), as transformers' forward
    computes them. Was: the serving paths scored the choice encoded alone, then EOS (now `sequence`), and
    evaluate the in-context tokens without EOS, so one pair got two scores."""
    from fastapi.testclient import TestClient

    from tandem import Seq2SeqLM
    from tandem.prompting.lm import EncoderDecoder
    from tandem.prompting.scoring import rank_choices, score_continuations
    from tandem.serve import ServeSettings, create_app
    from tandem.serve.backends import EdgeBackend, TorchBackend

    d, ct2 = exported[kind]
    ref = _auto(d)
    hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(d)).eval()
    prefix = _decoder_prefix(hf)
    assert len(prefix) == (2 if kind in ("mbart50", "bart-forced") else 1)
    prompt = "Is the fox quick? Answer:"
    choices = [" yes", " no", "✓ 日本", "es, it is."]  # the last one glued to "Answer:"
    ctx = ref(prompt, add_special_tokens=False).input_ids
    want = []
    for c in choices:
        whole = ref(prompt + c, add_special_tokens=False).input_ids
        cont = whole[len(ctx) :] if whole[: len(ctx)] == ctx else ref(c, add_special_tokens=False).input_ids
        want.append(sum(_hf_logprobs(hf, ref, prefix, prompt, cont, cont[:-1])))
    torch_b, edge_b = TorchBackend(d, threads=1, device="cpu"), EdgeBackend(ct2)
    for b in (torch_b, edge_b):
        with TestClient(create_app(b, ServeSettings())) as client:
            req = {"prompt": prompt, "choices": choices, "normalize": "sum"}
            body = client.post("/v1/score", json=req).json()
        assert body["logprobs"] == pytest.approx(want, abs=1e-4), b.kind
    assert edge_b.model.rank(prompt, choices, normalize="sum").logprobs == pytest.approx(want, abs=1e-4)
    lm = EncoderDecoder(Seq2SeqLM.from_pretrained(d).eval(), Tokenizer.load(d))
    assert lm.prefix == prefix
    (res,) = rank_choices(lm, [prompt], [choices])  # evaluate's scorer (no [CLM]: these tokenizers lack it)
    assert res.scores == pytest.approx(want, abs=1e-4)

    # `sequence`: each target alone, then EOS (a whole output); evaluate's scorer on the same ids agrees
    prompts = ["Is the fox quick? Answer:", "The quick brown fox", "héllo wörld"]
    targets = [" yes", "The lazy dog.", "✓ 日本"]
    want = []
    for p, t in zip(prompts, targets):
        text = ref(t, add_special_tokens=False).input_ids
        want.append(_hf_logprobs(hf, ref, prefix, p, text + [ref.eos_token_id], text))
    for got in (torch_b.score(prompts, targets, False, True), edge_b.score(prompts, targets, False, True)):
        assert [len(g) for g in got] == [len(w) for w in want]  # the target's tokens, then EOS
        for w, g in zip(want, got):
            assert g == pytest.approx(w, abs=1e-4)
    ranked = edge_b.model.rank(prompts[0], targets, sequence=True)
    lone = [want[0]] + [torch_b.score([prompts[0]], [t], False, True)[0] for t in targets[1:]]
    assert ranked.losses == pytest.approx([-sum(w) / len(w) for w in lone], abs=1e-4)
    tok = Tokenizer.load(d)
    for p, t, w in zip(prompts, targets, want):
        scored = tok.encode(t) + [tok.eos_id]
        res = score_continuations(lm, [lm.source_ids(p)], [[scored[: k + 1] for k in range(len(scored))]])[0]
        sums = [0.0] + [r.logprob for r in res]
        assert [b - a for a, b in zip(sums, sums[1:])] == pytest.approx(w, abs=1e-4)


def test_a_distilled_or_finetuned_tandem_student_exports_with_its_hf_tokenizer(exported, tmp_path, capsys):
    """A tandem-format model whose tokenizer is a Hugging Face one (what `tandem finetune` / `distill` of a BART
    teacher write) goes through the direct CTranslate2 spec path, with the same tokenizer handling."""
    d, _ = exported["bart"]
    conv = tmp_path / "student"
    assert cli_main(["convert", str(d), "--to", "tandem", "--out", str(conv)]) == 0
    args = ["export", str(conv), "--format", "ct2", "--quantize", "float32", "--out", str(tmp_path / "e")]
    assert cli_main(args) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["architecture"] == "ct2-transformer"
    texts = _texts(Tokenizer.load(conv))[:6]
    args = ["generate", str(conv), "--max-new-tokens", "8", "--json"]
    assert cli_main(args + [x for t in texts for x in ("--prompt", t)]) == 0
    want = [json.loads(line)["output"] for line in capsys.readouterr().out.splitlines()]
    assert EdgeModel.load(tmp_path / "e").generate(texts, max_new_tokens=8) == want


def test_int8_export_runs_without_torch(exported, tmp_path):
    d, _ = exported["mbart"]
    out = tmp_path / "int8"
    assert cli_main(["export", str(d), "--format", "ct2", "--out", str(out)]) == 0
    code = textwrap.dedent(
        f"""
        import sys, json
        import tandem.edge
        m = tandem.edge.EdgeModel.load({str(out)!r})
        out = m.generate(["Hello world", "The quick brown fox"], max_new_tokens=5)
        best = m.rank("Is the fox quick?", [" yes", " no"]).best
        heavy = sorted(k for k in ("torch", "transformers", "tandem.model") if k in sys.modules)
        print(json.dumps({{"heavy": heavy, "out": out, "best": best, "q": m.meta["quantization"]}}))
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["heavy"] == [] and got["q"] == "int8", got
    assert all(isinstance(t, str) for t in got["out"]) and got["best"] in (0, 1)


def test_int8_scores_of_mbart50_match_transformers_after_the_forced_code(exported, tmp_path):
    """Scoring on an int8 export (`tandem export --quantize int8`) of the mBART-50 checkpoint: each choice's
    tokens read after the decoder start and the forced ro_RO (never scored), against transformers' float
    forward on the same weights, as a continuation (its tokens in the prompt's context, no EOS) and as a whole
    output (`sequence`: encoded alone, then EOS). int8 weight quantisation of these wide random weights (std
    0.3-0.5) moves log-probs by tenths of a nat: measured over weight seeds 0-4 (3 prompts x 6 choices), the
    largest per-token |difference| was 0.30-0.55 (mean 0.08-0.13) for continuations (84 tokens) and 0.30-0.55
    (mean 0.08-0.13) for sequences (102 tokens with EOS), the largest difference of a choice's mean loss
    0.09-0.15 and 0.08-0.14. Allowed: 1.0 per token, 0.3 per loss, 0.25 mean. A shifted or forced-token-scored
    position is off by nats (mean log-prob about -8.5). `rank` and /v1/score through the edge serving backend
    must pick the reference's choice where its two best losses differ by more than twice the loss tolerance;
    a prompt with such a margin is required in each mode."""
    from fastapi.testclient import TestClient

    from tandem.serve import ServeSettings, create_app
    from tandem.serve.backends import EdgeBackend

    d, _ = exported["mbart50"]
    out = tmp_path / "int8"
    assert cli_main(["export", str(d), "--format", "ct2", "--quantize", "int8", "--out", str(out)]) == 0
    m = EdgeModel.load(out)
    assert m.meta["quantization"] == "int8"
    ref = _auto(d)
    hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(d)).eval()
    prefix = _decoder_prefix(hf)
    assert prefix == [2, ref.convert_tokens_to_ids("ro_RO")]
    prompts = ["Is the fox quick? Answer:", "The quick brown fox", "héllo wörld"]
    choices = [" yes", " no", " the lazy dog", "✓ 日本", " jumps over", " hello world"]
    for sequence in (False, True):
        diffs, checked = [], []
        for prompt in prompts:
            ctx = ref(prompt, add_special_tokens=False).input_ids
            want = []
            for c in choices:
                alone = ref(c, add_special_tokens=False).input_ids
                if sequence:  # the choice alone, then EOS; the decoder reads all but EOS
                    scored, read = alone + [ref.eos_token_id], alone
                else:
                    whole = ref(prompt + c, add_special_tokens=False).input_ids
                    scored = whole[len(ctx) :] if whole[: len(ctx)] == ctx else alone
                    read = scored[:-1]
                want.append(_hf_logprobs(hf, ref, prefix, prompt, scored, read))
            d, clear = check_scores(m, prompt, choices, want, sequence, (1.0, 0.3))
            diffs += d
            if clear is not None:
                checked.append((prompt, *clear))
        assert sum(diffs) / len(diffs) < 0.25, sequence
        assert checked, f"sequence={sequence}: no prompt's reference margin was clear of the int8 error"
        # /v1/score through tandem serve's edge backend on the int8 export: the same scores and choice
        prompt, best, sums = checked[0]
        req = {"prompt": prompt, "choices": choices, "normalize": "mean", "sequence": sequence}
        with TestClient(create_app(EdgeBackend(out), ServeSettings())) as client:
            r = client.post("/v1/score", json=req)
        assert r.status_code == 200, r.text
        assert r.json()["best"] == best and r.json()["choice"] == choices[best], sequence
        assert r.json()["logprobs"] == pytest.approx(sums, abs=1e-6), sequence


def test_an_input_with_no_text_is_refused(exported):
    edge = EdgeModel.load(exported["bart"][1])
    with pytest.raises(TandemError, match="has no tokens"):  # CTranslate2 decodes nothing from <s> </s>
        edge.generate("")


@pytest.mark.parametrize("kind", KINDS)
def test_a_map_allowing_every_token_changes_nothing(exported, kind, tmp_path):
    """Vocabulary trimming of an export with a Hugging Face tokenizer (was refused: "needs a SentencePiece
    export"): a map allowing every token gives exactly the untrimmed greedy ids."""
    from tandem.edge import trim_vocabulary

    d, ct2 = exported[kind]
    full = EdgeModel.load(ct2)
    trimmed = tmp_path / "all"
    shutil.copytree(ct2, trimmed)
    everything = [p for p in full.pieces if p and not set(p) & set(" \t\n\r")]
    assert len(everything) == len(full.pieces)  # byte-level BPE and SentencePiece tokens hold no separator
    trim_vocabulary(trimmed, [], extra_tokens=everything, copy_source=False)
    lines = (trimmed / "vmap.txt").read_text(encoding="utf-8").split("\n")
    assert lines == ["\t" + " ".join(everything), ""]  # in id order, one always-allowed list
    m = EdgeModel.load(trimmed)
    assert m.use_vmap and not full.use_vmap
    texts = _texts(Tokenizer.load(d))
    want = full.generate_batch(texts, max_new_tokens=10)
    got = m.generate_batch(texts, max_new_tokens=10)
    assert [g.token_ids for g in got] == [w.token_ids for w in want]
    assert [g.text for g in got] == [w.text for w in want]


@pytest.mark.parametrize("kind", KINDS)
def test_trimmed_outputs_use_the_tasks_tokens_and_the_source(exported, kind, tmp_path, capsys):
    """`tandem export EXPORT --trim-to labels.txt` on a BART/mBART export: the map lists the outputs' tokens
    bare and after a space, as the model's own tokenizer (transformers) writes them, and the specials the model
    decodes with; every generated token is one of those or of the source. `EdgeModel` and the edge serving
    backend pick the map up."""
    from tandem.serve.backends import EdgeBackend

    d, ct2 = exported[kind]
    ref = _auto(d)  # transformers' tokenizer of the checkpoint: the reference ids
    trimmed = tmp_path / "trim"
    shutil.copytree(ct2, trimmed)
    labels = ["line", "and", "the lazy dog", "héllo"]
    (tmp_path / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    assert cli_main(["export", str(trimmed), "--trim-to", str(tmp_path / "labels.txt")]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert report["copy_source"] is True and report["fixed_tokens"] < report["vocab_size"]

    fixed = {i for lab in labels for t in (lab, " " + lab) for i in ref.encode(t, add_special_tokens=False)}
    gen = transformers.GenerationConfig.from_pretrained(str(d))
    cfg = transformers.AutoConfig.from_pretrained(str(d))
    specials = {ref.eos_token_id, ref.pad_token_id, ref.bos_token_id, ref.unk_token_id}
    specials |= {cfg.bos_token_id, gen.decoder_start_token_id, gen.forced_bos_token_id}
    specials.discard(None)
    # what framing adds to a target: mBART's ... </s> ro_RO, mBART-50's ro_RO ... </s>
    specials |= set(ref(text_target="yes").input_ids) - set(ref.encode("yes", add_special_tokens=False))
    if kind != "bart":
        assert ref.convert_tokens_to_ids("ro_RO") in specials
    always = (trimmed / "vmap.txt").read_text(encoding="utf-8").split("\n")[0]
    assert always.startswith("\t")
    assert set(always[1:].split(" ")) == set(ref.convert_ids_to_tokens(sorted(fixed | specials)))
    if kind == "bart":  # byte-level BPE: the bare word and the word after a space
        assert {"l", "ine", "Ġline", "a", "nd", "Ġand"} <= set(always.split())
    else:  # SentencePiece: the word-initial form
        assert {"▁line", "▁a", "nd"} <= set(always.split())

    m = EdgeModel.load(trimmed)
    assert m.use_vmap and EdgeBackend(trimmed).model.use_vmap
    full = EdgeModel.load(ct2)
    texts = _texts(Tokenizer.load(d))
    escaped, outputs = 0, {}
    for text in texts:  # one at a time: CTranslate2 allows the source tokens of the whole batch
        allowed = fixed | specials | set(ref(text).input_ids)
        got = outputs[text] = m.generate_batch([text], max_new_tokens=10)[0].token_ids
        assert set(got) <= allowed, (text, ref.convert_ids_to_tokens(got))
        want = full.generate_batch([text], max_new_tokens=10)[0].token_ids
        escaped += not set(want) <= allowed
        if set(want) <= allowed:  # trimming only removes candidates: an allowed argmax stays the argmax
            assert got == want, text
    assert escaped, "the untrimmed model never left the allowed set: this test would not see trimming fail"
    # an output does not depend on the calls before it (CTranslate2 keeps a table from its first call with the
    # map: a later decoder start or forced language code was placed by it, wrongly or out of range)
    for text in reversed(texts):
        assert m.generate_batch([text], max_new_tokens=10)[0].token_ids == outputs[text], text


class _Recorder:
    """A CTranslate2 translator that records the options of each call it forwards."""

    def __init__(self, translator):
        self.translator, self.calls = translator, []

    def translate_batch(self, source, **kwargs):
        self.calls.append(kwargs)
        return self.translator.translate_batch(source, **kwargs)


@pytest.mark.parametrize("kind", ["mbart", "mbart50"])
def test_clearing_stale_vmap_positions_decodes_no_full_vocabulary_step(exported, kind, tmp_path):
    """Between trimmed calls that read a language code (mBART-cc25's decoder start, mBART-50's forced first
    token) the runtime clears CTranslate2's stale position table with a call that decodes nothing: was a
    one-step call without the map, an encoder pass plus a decoder step over all 250k tokens of a real mBART.
    The outputs are those of a freshly loaded trimmed model (no table yet) for each input."""
    from tandem.edge import trim_vocabulary

    d, ct2 = exported[kind]
    trimmed = tmp_path / "trim"
    shutil.copytree(ct2, trimmed)
    trim_vocabulary(trimmed, ["line", "the lazy dog"])
    texts = _texts(Tokenizer.load(d))[:8]
    want = [EdgeModel.load(trimmed).generate_batch([t], max_new_tokens=6)[0].token_ids for t in texts]
    m = EdgeModel.load(trimmed)
    m.translator = rec = _Recorder(m.translator)
    got = [m.generate_batch([t], max_new_tokens=6)[0].token_ids for t in texts]
    assert got == want
    full_vocab = [c for c in rec.calls if not c.get("use_vmap")]
    assert len(full_vocab) == len(texts) - 1  # one before every trimmed call but the first
    assert [c["max_decoding_length"] for c in full_vocab] == [0] * len(full_vocab)  # was 1


def _of_length(cont, n: int, word: str, filler: str = " a", pads: tuple[str, ...] = (" a", "a")) -> str:
    """A choice of exactly `n` continuation tokens (`cont`: a choice's ids after the prompt): `word`, `filler`
    repeated, then up to three of one of `pads`."""
    for k in range(n + 1):
        for pad, j in [(p, j) for j in range(4) for p in pads]:
            choice = word + filler * k + pad * j
            if len(cont(choice)) == n:
                return choice
    raise AssertionError(f"no choice of {n} tokens from {word!r} and {filler!r}")


@pytest.mark.parametrize("kind", ["mbart50", "bart-forced", "mbart"])
def test_full_and_out_of_map_choices_score_as_transformers_on_trimmed_exports(exported, kind, tmp_path):
    """Scoring on a trimmed export (a vocabulary map) and after a forced first token (mBART-50's ro_RO,
    BART-large's <s>; mBART-cc25 starts from ro_RO, a high id whose map position moves between calls):
    `score_batch`, `rank` and /v1/score give transformers' log-probs, over the full vocabulary, for a choice
    that fills every decoder position (its last token's log-prob comes from a decoding step of its own), one
    a position short, and choices whose tokens the map leaves out (scoring never applies the map: a trimmed
    export scores as the untrimmed one). Generation before and after a scoring call decodes as a freshly
    loaded trimmed model does, and a choice one token over the positions is a 413 on both exports."""
    from fastapi.testclient import TestClient

    from tandem.edge import trim_vocabulary
    from tandem.serve import ServeSettings, create_app
    from tandem.serve.backends import EdgeBackend

    d, ct2 = exported[kind]
    ref = _auto(d)
    hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(d)).eval()
    prefix = _decoder_prefix(hf)
    trimmed = tmp_path / "trim"
    shutil.copytree(ct2, trimmed)
    trim_vocabulary(trimmed, ["line", "the lazy dog"])
    full, m = EdgeModel.load(ct2), EdgeModel.load(trimmed)
    assert m.use_vmap and full.max_positions == 64
    positions = full.max_positions - (len(prefix) - 1)  # the tokens a choice may have: the forced one counts

    prompt = "Is the fox quick? Answer:"
    ctx = ref(prompt, add_special_tokens=False).input_ids

    def cont(c: str) -> list[int]:
        whole = ref(prompt + c, add_special_tokens=False).input_ids
        return whole[len(ctx) :] if whole[: len(ctx)] == ctx else ref(c, add_special_tokens=False).input_ids

    choices = [
        " yes",
        "✓ 日本",
        _of_length(cont, positions, " zebra"),  # fills every position
        _of_length(cont, positions - 1, " zebra"),
        _of_length(
            cont, positions, " line", " the lazy dog", (" line", " dog", " the")
        ),  # fills them with the map's tokens
    ]
    # the map's candidates for this prompt: its always-allowed tokens and the prompt's (copied source) tokens
    vmap = (trimmed / "vmap.txt").read_text(encoding="utf-8").split("\n")
    allowed = set(vmap[0][1:].split(" ")) | set(ref.convert_ids_to_tokens(ref(prompt).input_ids))
    outside = [not set(ref.convert_ids_to_tokens(cont(c))) <= allowed for c in choices]
    assert outside == [True, True, True, True, False], [ref.convert_ids_to_tokens(cont(c)) for c in choices]
    want = [_hf_logprobs(hf, ref, prefix, prompt, cont(c), cont(c)[:-1]) for c in choices]
    sums = [sum(w) for w in want]
    texts = _texts(Tokenizer.load(d))[:4]
    decoded = [EdgeModel.load(trimmed).generate_batch([t], max_new_tokens=6)[0].token_ids for t in texts]

    for model in (m, full):
        model.generate_batch([texts[0]], max_new_tokens=6)  # a call with the map (if any) before scoring
        got = model.score_batch([prompt] * len(choices), choices)
        assert [len(g) for g in got] == [len(w) for w in want]
        for g, w in zip(got, want):
            assert g == pytest.approx(w, abs=1e-4)
        # sums of up to 64 tokens within 1e-4 each: 1e-3, as the rank test of test_edge.py allows
        assert model.rank(prompt, choices, normalize="sum").logprobs == pytest.approx(sums, abs=1e-3)
        if (
            model is m
        ):  # a scoring call (the full one decodes a step without the map) leaves decoding as it was
            for t, w in zip(texts, decoded):
                assert m.generate_batch([t], max_new_tokens=6)[0].token_ids == w, t
        with TestClient(create_app(EdgeBackend(model.path), ServeSettings())) as client:
            r = client.post("/v1/score", json={"prompt": prompt, "choices": choices, "normalize": "sum"})
            assert r.status_code == 200, r.text
            assert r.json()["logprobs"] == pytest.approx(sums, abs=1e-3)
            assert r.json()["num_tokens"] == [len(w) for w in want]
            over = _of_length(cont, positions + 1, " zebra")
            r = client.post("/v1/score", json={"prompt": prompt, "choices": [" yes", over]})
            assert r.status_code == 413, r.text
            what = "a target (with the forced first token)" if len(prefix) == 2 else "a target"
            assert (
                r.json()["error"]["message"]
                == f"{what} of 65 tokens is over this model's 64 positions; shorten it"
            )


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda d: (d / "tokenizer.json").unlink(), "tokenizer.json: not found"),
        (lambda d: (d / "tokenizer.json").write_text("{not json"), "cannot read it"),
    ],
)
def test_a_missing_or_damaged_tokenizer_json_is_named(exported, tmp_path, damage, words):
    d = tmp_path / "e"
    shutil.copytree(exported["bart"][1], d)
    damage(d)
    with pytest.raises(TandemError) as e:
        EdgeModel.load(d)
    msg = str(e.value)
    assert str(d / "tokenizer.json") in msg and words in msg and "export the model again" in msg, msg


def test_a_damaged_tokenizer_description_is_named(exported, tmp_path):
    d = tmp_path / "e"
    shutil.copytree(exported["mbart"][1], d)
    meta = json.loads((d / "tandem_edge.json").read_text())
    meta["hf_tokenizer"]["source_affixes"] = "</s> en_XX"
    (d / "tandem_edge.json").write_text(json.dumps(meta))
    with pytest.raises(
        TandemError, match=r"tandem_edge.json: 'source_affixes' must be \[ids before, ids after\]"
    ):
        EdgeModel.load(d)


def test_a_tokenizer_that_cleans_up_spaces_decodes_the_same_on_the_edge(tmp_path):
    """transformers' decode may remove spaces before punctuation (`clean_up_tokenization_spaces`, honoured for
    non-BPE tokenizers such as WordPiece); `tokenizers` alone does not, so the export records it."""
    import tokenizers
    from tokenizers import decoders, models, pre_tokenizers, trainers

    from tandem.edge.hf_tokens import EdgeHFTokenizer
    from tandem.interop.ct2 import _write_hf_tokenizer

    corpus = ["Hello world, this is a tiny corpus.", "Is it raining? Yes , it is . I'm sure they've gone!"]
    pipe = tokenizers.Tokenizer(models.WordPiece(unk_token="[UNK]"))
    pipe.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    pipe.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[SEP]"]
    pipe.train_from_iterator(corpus * 20, trainers.WordPieceTrainer(vocab_size=200, special_tokens=specials))
    hf = transformers.PreTrainedTokenizerFast(
        tokenizer_object=pipe,
        unk_token="[UNK]",
        pad_token="[PAD]",
        eos_token="[SEP]",
        clean_up_tokenization_spaces=True,
    )
    hf.save_pretrained(str(tmp_path / "tok"))
    tok = Tokenizer.load(tmp_path / "tok")
    (tmp_path / "stage").mkdir()
    spec = _write_hf_tokenizer(tok, tmp_path / "stage", tmp_path)
    assert spec["clean_up_tokenization_spaces"] is True
    edge = EdgeHFTokenizer(tmp_path / "stage" / "tokenizer.json", spec, where="test", damaged="")
    for text in corpus + ["Hello , world ! it is ."]:
        ids = tok.encode(text)
        assert edge.encode(text) == ids
        assert edge.decode(ids) == tok.decode(ids) == hf.decode(ids, skip_special_tokens=True)
    assert edge.decode(tok.encode("Yes , it is .")) == "Yes, it is."  # without the clean-up: "Yes , it is ."
