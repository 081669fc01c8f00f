"""tandem.edge: the torch-free runtime against Hugging Face transformers on the same random weights."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

pytest.importorskip("ctranslate2")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from _edge_scoring import check_scores  # noqa: E402
from _hf_tiny import TINY_BART_DIMS  # noqa: E402
from tandem.edge import EdgeModel, cut_at_stop, parse_output, remove_trimming, trim_vocabulary  # noqa: E402
from tandem.errors import TandemError  # noqa: E402
from tandem.interop.ct2 import build_random_hf, export_ct2, train_tiny_tokenizer  # noqa: E402
from tandem.tokenizer import Tokenizer  # noqa: E402

TEXTS = ["play the music by queen", "wake me up at seven am", "what is the weather in paris", "stop"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("edge")
    tok_dir = train_tiny_tokenizer(root / "tok", vocab_size=256)
    hf = build_random_hf(root / "hf", arch="mbart", vocab_size=256, seed=1)
    export_ct2(hf, root / "fp32", quantize="float32", tokenizer=tok_dir / "tokenizer.model")
    ref = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(hf)).eval()
    return {"root": root, "export": root / "fp32", "hf": ref, "tok": Tokenizer.load(tok_dir)}


@pytest.fixture(scope="module")
def edge(built):
    return EdgeModel.load(built["export"])


@pytest.mark.parametrize("threads", [-1, "cpus+1", True, 2.0])
def test_edge_model_refuses_threads_outside_the_cpus_naming_the_argument(built, threads):
    # only `tandem serve --threads` was checked: EdgeModel(threads=-1) raised pybind11's TypeError listing
    # CTranslate2's signature, a count past the CPUs was taken, and 99999 crashed the process (segfault)
    import os

    cpus = os.cpu_count() or 1
    threads = cpus + 1 if threads == "cpus+1" else threads
    want = (
        f"EdgeModel threads must be an integer in [0, {cpus}] (0: the runtime's default; this machine has "
        f"{cpus} CPUs), got {threads!r}"
    )
    with pytest.raises(TandemError) as e:
        EdgeModel(built["export"], threads=threads)
    assert str(e.value) == want
    assert EdgeModel(built["export"], threads=0).threads == 0  # 0: CTranslate2's own choice


def _hf_generate(built, text: str, **kw) -> list[int]:
    ids = torch.tensor([built["tok"].encode(text, add_eos=True)])
    with torch.no_grad():
        out = built["hf"].generate(ids, do_sample=False, forced_eos_token_id=None, **kw)
    return out[0].tolist()


def test_edge_imports_no_torch(built):
    code = textwrap.dedent(
        f"""
        import sys, json
        import tandem.edge
        m = tandem.edge.EdgeModel.load({str(built["export"])!r})
        out = m.generate("play the music", max_new_tokens=5)
        best = m.rank("play the music", ["yes", "no"]).best
        heavy = sorted(k for k in ("torch", "transformers", "tandem.model") if k in sys.modules)
        print(json.dumps({{"heavy": heavy, "out": out, "best": best}}))
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["heavy"] == [], f"the edge runtime imported {got['heavy']}"
    assert isinstance(got["out"], str) and got["best"] in (0, 1)


@pytest.mark.parametrize("num_beams", [1, 3])
def test_generate_matches_transformers(built, edge, num_beams):
    for text in TEXTS:
        want = built["tok"].decode(_hf_generate(built, text, max_new_tokens=12, num_beams=num_beams))
        assert edge.generate(text, max_new_tokens=12, num_beams=num_beams) == want
    # a batch gives the same as one at a time
    assert edge.generate(TEXTS, max_new_tokens=12) == [edge.generate(t, max_new_tokens=12) for t in TEXTS]


def test_finish_reason_and_lengths(edge):
    g = edge.generate_batch(["play the music"], max_new_tokens=3)[0]
    assert g.finish_reason in ("length", "stop") and 1 <= g.output_tokens <= 3
    assert g.input_tokens == len(edge.encode("play the music"))
    with pytest.raises(TandemError, match="max_new_tokens"):
        edge.generate("x", max_new_tokens=0)


def test_an_input_with_no_tokens_is_refused_not_answered_empty(edge):
    """CTranslate2 decodes nothing for a source that is only EOS: an empty input came back as "" with
    finish_reason "length" and 0 tokens (the torch model decodes from it); it is an error."""
    with pytest.raises(TandemError, match=r"inputs\[1\].*no tokens"):
        edge.generate_batch([TEXTS[0], ""], max_new_tokens=4)
    with pytest.raises(TandemError, match="no tokens"):
        edge.parse("")
    assert edge.generate_batch(["   "], max_new_tokens=4)[0].output_tokens >= 1  # spaces are tokens here
    # [CLM] is a token: an empty prompt in CLM mode decodes
    assert edge.generate_batch([""], clm=True, max_new_tokens=4)[0].output_tokens >= 1


def test_a_lone_surrogate_is_an_error_naming_it(edge):
    """A lone surrogate (from a JSON "\\ud800" escape, or bad decoding) failed in SentencePiece with
    "RuntimeError: Unable to cast Python instance of type <class 'str'> to C++ type '?'"."""
    with pytest.raises(TandemError, match=r"lone surrogate '\\ud800' at character 1"):
        edge.generate(["ok", "a\ud800b"], max_new_tokens=2)
    with pytest.raises(TandemError, match="lone surrogate"):
        edge.rank("is it raining?", ["yes", "\udc00"])


def test_stop_strings_cut_output(edge):
    full = edge.generate(TEXTS[1], max_new_tokens=16)
    assert len(full) > 4
    stop = full[3:5]  # cut in the middle of the unconstrained output
    want = full[: full.find(stop)]
    single = edge.generate_batch([TEXTS[1]], max_new_tokens=16, stop=[stop])[0]
    assert single.text == want and single.finish_reason == "stop"
    # the streaming early stop (single greedy input) decodes fewer tokens than the full run
    assert single.output_tokens < edge.generate_batch([TEXTS[1]], max_new_tokens=16)[0].output_tokens
    batch = edge.generate_batch([TEXTS[1], TEXTS[0]], max_new_tokens=16, stop=stop)
    assert batch[0].text == want
    assert cut_at_stop("a;b;c", [";", "b"]) == ("a", True) and cut_at_stop("abc", ["x"]) == ("abc", False)


def test_stop_string_token_count_does_not_depend_on_batching(edge):
    """A stop-string cut counts the tokens up to the stop, whether the input ran alone or in a batch."""
    full = edge.generate(TEXTS[1], max_new_tokens=16)
    stop = full[3:5]
    single = edge.generate_batch([TEXTS[1]], max_new_tokens=16, stop=[stop])[0]
    batch = edge.generate_batch([TEXTS[1], TEXTS[0]], max_new_tokens=16, stop=[stop])[0]
    assert batch.text == single.text and batch.output_tokens == single.output_tokens
    # the counted tokens are the ones that produced the stop: one fewer does not contain it
    toks = edge.translator.translate_batch(
        [edge.encode(TEXTS[1])], beam_size=1, max_decoding_length=16, max_input_length=0
    )[0].hypotheses[0]
    assert stop in edge.decode(toks[: single.output_tokens])
    assert stop not in edge.decode(toks[: single.output_tokens - 1])


def test_clm_prompting(built, edge):
    tok = built["tok"]
    assert edge.encode("play", clm=True)[0] == "[CLM]"
    assert edge.encode("play", clm=True) == edge.encode(
        "[CLM] play"
    )  # not doubled, same ids as the text form
    ids = tok.encode("[CLM] play the music", add_eos=True)
    with torch.no_grad():
        out = built["hf"].generate(
            torch.tensor([ids]), max_new_tokens=8, do_sample=False, forced_eos_token_id=None
        )
    assert edge.generate("play the music", clm=True, max_new_tokens=8) == tok.decode(out[0].tolist())


def test_rank_scores_match_transformers_loss(built, edge):
    # sequence=True: each choice a whole output, alone then EOS (the default scores continuations)
    tok, hf = built["tok"], built["hf"]
    prompt, choices = "play the music", ["yes", "no", "play the music by queen"]
    res = edge.rank(prompt, choices, sequence=True)
    src = torch.tensor([tok.encode(prompt, add_eos=True)])
    want_losses, want_lp = [], []
    for c in choices:
        labels = torch.tensor([tok.encode(c) + [tok.eos_id]])
        with torch.no_grad():
            out = hf(input_ids=src, labels=labels)
        want_losses.append(out.loss.item())  # mean NLL over the choice + EOS
        want_lp.append(-out.loss.item() * labels.shape[1])
    assert res.losses == pytest.approx(want_losses, abs=1e-4)
    assert res.logprobs == pytest.approx(want_lp, abs=1e-3)
    assert res.best == min(range(3), key=lambda i: want_losses[i])
    summed = edge.rank(prompt, choices, normalize="sum", sequence=True)
    assert summed.best == max(range(3), key=lambda i: want_lp[i])


def test_parse_reads_the_slu_format(edge):
    assert parse_output("play_music ; artist = queen ; time = seven am") == {
        "intent": "play_music",
        "slots": [{"slot": "artist", "value": "queen"}, {"slot": "time", "value": "seven am"}],
        "text": "play_music ; artist = queen ; time = seven am",
    }
    out = edge.parse(["play the music", "stop"], max_new_tokens=8)
    assert [o["text"] for o in out] == edge.generate(["play the music", "stop"], max_new_tokens=8)
    assert all(set(o) == {"intent", "slots", "text"} for o in out)


def test_vocabulary_trimming_restricts_outputs(built, tmp_path):
    import shutil

    d = tmp_path / "trim"
    shutil.copytree(built["export"], d)
    tok = built["tok"]
    labels = ["play_music ; artist =", "set_alarm ; time ="]
    rep = trim_vocabulary(d, labels)
    assert rep.fixed_tokens < rep.vocab_size and (d / "vmap.txt").is_file()
    m = EdgeModel.load(d)
    assert m.use_vmap
    full_model = EdgeModel.load(built["export"])
    escaped = 0
    for text in TEXTS:
        allowed = {i for lab in labels for i in tok.encode(lab) + tok.encode(" " + lab)} | set(
            tok.encode(text)
        )
        allowed |= {0, 1, 2, 3}
        g = m.generate_batch([text], max_new_tokens=12)[0]
        res = m.translator.translate_batch(
            [m.encode(text)], beam_size=1, max_decoding_length=12, min_decoding_length=0, use_vmap=True
        )
        ids = [m.index[t] for t in res[0].hypotheses[0]]
        assert set(ids) <= allowed, set(ids) - allowed
        assert g.text == tok.decode(ids)
        free = full_model.translator.translate_batch([m.encode(text)], beam_size=1, max_decoding_length=12)
        free_ids = [m.index[t] for t in free[0].hypotheses[0]]
        escaped += bool(set(free_ids) - allowed)
        if set(free_ids) <= allowed:  # trimming only removes candidates: an allowed argmax stays the argmax
            assert ids == free_ids, (text, ids, free_ids)
    assert escaped, "the untrimmed model never left the allowed set: this test would not see trimming fail"
    # without the map the model decodes over the whole vocabulary again
    full = full_model.generate(TEXTS[1], max_new_tokens=12)
    assert EdgeModel.load(d, use_vmap=False).generate(TEXTS[1], max_new_tokens=12) == full
    remove_trimming(d)
    assert not EdgeModel.load(d).use_vmap


def test_a_trimmed_rows_output_does_not_depend_on_its_batch(built, tmp_path):
    """A map that allows each source's own words: CTranslate2 allows every row of a batch the words of all the
    batch's sources, so a row wrote another row's input words (5 of these 6 rows greedily, with "queen"'s
    token; in `tandem serve`, words of another client's request) and changed with what it was batched with.
    Each row must decode as it does alone, greedily and in beam search."""
    import shutil

    d = tmp_path / "trim"
    shutil.copytree(built["export"], d)
    trim_vocabulary(d, ["play_music ; artist =", "set_alarm ; time ="])
    m = EdgeModel.load(d)
    texts = [*TEXTS, "turn on the kitchen lights", "eight eggs in the living room"]
    for kw in (dict(max_new_tokens=8), dict(max_new_tokens=8, num_beams=3)):
        alone = [m.generate_batch([t], **kw)[0].token_ids for t in texts]
        assert [g.token_ids for g in m.generate_batch(texts, **kw)] == alone, kw


def test_a_trimmed_export_scores_over_the_full_vocabulary(built, tmp_path):
    """Scoring never applies a vocabulary map: on a trimmed export a choice of tokens the map leaves out (a
    newline, which no map can hold; words neither in the labels nor in the prompt) gets transformers' log-probs
    over the whole vocabulary, as on the untrimmed export, also one filling all 128 decoder positions (its last
    token scored by a decoding step without the map) and a whole output with EOS (`sequence`)."""
    import shutil

    tok, hf = built["tok"], built["hf"]
    d = tmp_path / "trim"
    shutil.copytree(built["export"], d)
    labels = ["play_music ; artist =", "set_alarm ; time ="]
    trim_vocabulary(d, labels)
    m, full = EdgeModel.load(d), EdgeModel.load(built["export"])
    assert m.use_vmap and m.max_positions == 128
    prompt = "wake me up"
    ctx = tok.encode(prompt)
    src = torch.tensor([tok.encode(prompt, add_eos=True)])

    def reference(ids: list[int]) -> list[float]:
        dec = torch.tensor([[hf.config.decoder_start_token_id, *ids[:-1]]])
        with torch.no_grad():
            lp = torch.log_softmax(hf(input_ids=src, decoder_input_ids=dec).logits[0].double(), -1)
        return [lp[i, t].item() for i, t in enumerate(ids)]

    def cont(c: str) -> list[int]:
        whole = tok.encode(prompt + c)
        assert whole[: len(ctx)] == ctx
        return whole[len(ctx) :]

    fill = next(
        c for c in (" zebra" + " q" * k + "z" * j for k in range(64) for j in range(2)) if len(cont(c)) == 128
    )
    seq = next(
        c
        for c in ("zebra" + " q" * k + "z" * j for k in range(64) for j in range(2))
        if len(tok.encode(c)) == 127
    )
    choices = [" yes", "\nzebra", fill]
    allowed = {i for lab in labels for i in tok.encode(lab) + tok.encode(" " + lab)} | set(ctx)
    assert all(set(cont(c)) - allowed for c in choices)  # each has a token the map leaves out
    want = [reference(cont(c)) for c in choices]
    want_seq = reference(tok.encode(seq) + [tok.eos_id])
    m.generate("play the music", max_new_tokens=4)  # a call with the map first
    for model in (m, full):
        got = model.score_batch([prompt] * 3, choices)
        for g, w in zip(got, want):
            assert g == pytest.approx(w, abs=1e-4)
        (got,) = model.score_batch([prompt], [seq], sequence=True)
        assert len(got) == 128 and got == pytest.approx(want_seq, abs=1e-4)


def test_lengths_over_the_model_positions_are_refused(edge):
    """The mbart export has 128 learned positions: longer sources, targets or decodes raise InputTooLong."""
    from tandem.errors import InputTooLong

    assert edge.max_positions == 128
    long = "wake " * 150
    with pytest.raises(InputTooLong, match="of 15[0-9] tokens.*128 positions"):
        edge.generate(long, max_new_tokens=2)
    with pytest.raises(InputTooLong, match="128 positions"):
        edge.rank(long, ["yes"])
    with pytest.raises(InputTooLong, match="128 positions"):
        edge.rank("play", ["yes", long])
    with pytest.raises(TandemError, match="max_new_tokens 129 .*128 positions"):
        edge.generate("play", max_new_tokens=129)
    assert edge.generate_batch(["play"], max_new_tokens=128, min_new_tokens=128)[0].output_tokens == 128


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        (dict(min_new_tokens=-1), "min_new_tokens"),
        (dict(min_new_tokens=4), "min_new_tokens 4 is over max_new_tokens 3"),  # the server's 422, too
        (dict(temperature=-0.5), "temperature"),
        (dict(temperature=0.7, num_beams=2), "num_beams 2 with sampling"),  # was silently beam_size 1
        (dict(temperature=1.0, top_k=-1), "top_k"),
        (dict(temperature=1.0, top_p=0.0), "top_p"),
        (dict(temperature=1.0, top_p=1.5), "top_p"),
        (dict(stop=5), "stop"),
        (dict(stop=["a", None]), "stop"),
    ],
)
def test_bad_decoding_arguments_say_which(edge, kw, words):
    with pytest.raises(TandemError, match=words):
        edge.generate("play the music", max_new_tokens=3, **kw)


_NAN, _INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "edge_kw, torch_kw",
    [
        # the same bad setting for each backend: the edge runtime samples when temperature > 0, torch on
        # do_sample; everything else has the same name on both
        (dict(max_new_tokens=0), None),
        (dict(max_new_tokens=2.5), None),
        (dict(min_new_tokens=-1), None),
        (dict(min_new_tokens=4), None),  # over max_new_tokens 3: refused on torch too (was decoded)
        (dict(num_beams=0), None),
        (dict(num_beams=1.5), None),
        (dict(temperature=-0.5), None),
        (dict(temperature=_NAN), None),
        (dict(top_k=-1), None),
        (dict(top_k=2.5), None),
        (dict(top_p=0.0), None),
        (dict(top_p=1.5), None),
        (dict(temperature=0.7, num_beams=2), dict(do_sample=True, temperature=0.7, num_beams=2)),
        (dict(early_stopping="sometimes"), None),
        (dict(no_repeat_ngram_size=-1), None),
        (dict(no_repeat_ngram_size=2.5), None),
        (dict(repetition_penalty=0.0), None),
        (dict(repetition_penalty=_INF), None),
        (dict(length_penalty=_NAN), None),
        (dict(forced_bos_token_id=256), None),
        (dict(forced_eos_token_id=-3), None),
        (dict(forced_eos_token_id=[2, "x"]), None),
    ],
)
def test_both_backends_refuse_bad_decoding_settings_with_one_message(built, edge, edge_kw, torch_kw):
    """One validator (`tandem.decoding`) for the torch model and the edge runtime: the same bad setting is
    the same TandemError text on both (the server answers either with a 422 carrying it)."""
    model = _torch_model(built)
    assert model.config.vocab_size == len(edge.pieces) == 256  # so "[0, 256)" is the same range on both
    with pytest.raises(TandemError) as on_edge:
        edge.generate_batch(["play the music"], **{"max_new_tokens": 3, **edge_kw})
    ids = torch.tensor([built["tok"].encode("play the music", add_eos=True)])
    with pytest.raises(TandemError) as on_torch:
        model.generate(ids, **{"max_new_tokens": 3, **(edge_kw if torch_kw is None else torch_kw)})
    assert str(on_edge.value) == str(on_torch.value)


def _torch_model(built):
    """tandem's torch model on the weights the edge export was made from (loaded once per module)."""
    from tandem.model import Seq2SeqLM

    if "torch_model" not in built:
        built["torch_model"] = Seq2SeqLM.from_pretrained(built["root"] / "hf")
    return built["torch_model"]


def test_rank_refuses_a_string_of_choices(edge):
    with pytest.raises(TandemError, match="choices: expected a list of strings"):
        edge.rank("is it raining?", "yes")  # would rank the characters y, e, s
    with pytest.raises(TandemError, match="choices"):
        edge.rank("is it raining?", ["yes", 3])


def test_load_errors(tmp_path):
    with pytest.raises(TandemError, match="not a tandem edge export"):
        EdgeModel.load(tmp_path)


def _cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1000])


def _drop_eos(path: Path) -> None:
    meta = json.loads(path.read_text())
    del meta["eos_token_id"]
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("name", "damage", "words"),
    [
        ("tandem_edge.json", lambda p: p.write_text("{not json"), "not valid JSON"),
        ("tandem_edge.json", lambda p: p.write_text("[]"), "expected an object"),
        ("tandem_edge.json", lambda p: p.write_bytes(b"\xff{}"), "not UTF-8"),
        ("tandem_edge.json", _drop_eos, "'eos_token_id' is missing"),
        ("shared_vocabulary.json", lambda p: p.unlink(), "not found"),
        ("shared_vocabulary.json", lambda p: p.write_text("[1, 2"), "not valid JSON"),
        ("shared_vocabulary.json", lambda p: p.write_text('["<s>", "</s>"]'), "2 tokens, the model has 256"),
        ("config.json", lambda p: p.unlink(), "not found"),
        ("config.json", lambda p: p.write_text("{"), "not valid JSON"),
        ("model.bin", lambda p: p.unlink(), "not found"),
        ("model.bin", _cut, "CTranslate2 cannot load it"),
        ("tokenizer.model", lambda p: p.unlink(), "not found"),  # was: "pass a SentencePiece .model file"
    ],
)
def test_a_damaged_export_file_is_named(built, tmp_path, name, damage, words):
    """A missing or damaged export file is an error naming it: json's, Python's and CTranslate2's own errors
    (a JSONDecodeError, KeyError 'eos_token_id', IndexError, "invalid payload size") named none."""
    import shutil

    d = tmp_path / "e"
    shutil.copytree(built["export"], d)
    damage(d / name)
    with pytest.raises(TandemError) as e:
        EdgeModel.load(d)
    msg = str(e.value)
    assert str(d / name) in msg and words in msg and "export the model again" in msg, msg


def test_trimming_a_damaged_export_names_its_metadata(built, tmp_path):
    import shutil

    shutil.copytree(built["export"], tmp_path / "e")
    (tmp_path / "e" / "tandem_edge.json").write_text("{not json")
    with pytest.raises(TandemError, match=r"tandem_edge\.json: not valid JSON"):
        trim_vocabulary(tmp_path / "e", ["queen"])


def test_int8_export_loads_and_is_smaller(built, tmp_path):
    hf_dir = built["root"] / "hf"
    tok_file = built["root"] / "tok" / "tokenizer.model"
    rep = export_ct2(hf_dir, tmp_path / "int8", quantize="int8", tokenizer=tok_file)
    assert rep.size_bytes < sum(p.stat().st_size for p in Path(built["export"]).iterdir())
    m = EdgeModel.load(tmp_path / "int8")
    assert m.meta["quantization"] == "int8"
    assert isinstance(m.generate("play", max_new_tokens=4), str)


# tiny-preset tandem model, int8 export: the per-token tolerance and the rank check (see the docstring)
INT8_PROMPTS = ["play the music by", "wake me up at", "what is the weather in"]
INT8_CHOICES = [" queen", " seven am", " paris", " stop the music", " yes", " no"]


def test_int8_scores_of_a_tandem_model_match_its_torch_forward(tmp_path):
    """Scoring on an int8 export of a tandem model (tiny preset, default init, vocabulary 256, tandem's
    SentencePiece tokenizer) against the model's own float forward, teacher-forced after the decoder start:
    each choice as a continuation (its tokens in the prompt's context, no EOS) and as a whole output
    (`sequence`: encoded alone, then EOS). int8 weight quantisation moves each log-prob a little: measured over
    weight seeds 0-4 (3 prompts x 6 choices), the largest per-token |difference| was 0.037-0.049 nats (mean
    0.011-0.014) for continuations (72 tokens) and 0.039-0.056 (mean 0.011-0.014) for sequences (108 tokens
    with EOS), the largest difference of a choice's mean loss 0.014-0.043 and 0.010-0.020. Allowed: 0.15 per
    token, 0.1 per loss, 0.03 mean. `rank` must pick the reference's choice where the reference's two best
    losses differ by more than twice the loss tolerance (the int8 losses cannot swap them); a prompt with such
    a margin is required in each mode."""
    model = _tiny_tandem_model(seed=0)
    tok_dir = train_tiny_tokenizer(tmp_path / "tok", vocab_size=256)
    tok = Tokenizer.load(tok_dir)
    model.save_pretrained(tmp_path / "m")
    tok.save(tmp_path / "m")
    rep = export_ct2(tmp_path / "m", tmp_path / "int8", quantize="int8")
    m = EdgeModel.load(tmp_path / "int8")
    assert rep.quantization == "int8" and m.meta["quantization"] == "int8"
    start = model.config.decoder_start_token_id
    for sequence in (False, True):
        diffs, checked = [], 0
        for prompt in INT8_PROMPTS:
            src = torch.tensor([tok.encode(prompt, add_eos=True)])
            ctx = tok.encode(prompt)
            want = []
            for c in INT8_CHOICES:
                if sequence:  # the choice alone, then EOS
                    ids = tok.encode(c) + [tok.eos_id]
                else:
                    whole = tok.encode(prompt + c)
                    ids = whole[len(ctx) :] if whole[: len(ctx)] == ctx else tok.encode(c)
                with torch.no_grad():
                    logits = model(input_ids=src, decoder_input_ids=torch.tensor([[start, *ids[:-1]]])).logits
                lp = torch.log_softmax(logits[0].double(), -1)
                want.append([lp[i, t].item() for i, t in enumerate(ids)])
            d, clear = check_scores(m, prompt, INT8_CHOICES, want, sequence, (0.15, 0.1))
            diffs += d
            checked += clear is not None
        assert sum(diffs) / len(diffs) < 0.03, sequence
        assert checked, f"sequence={sequence}: no prompt's reference margin was clear of the int8 error"


def _tiny_tandem_model(seed: int):
    import dataclasses

    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM

    torch.manual_seed(seed)
    return Seq2SeqLM(dataclasses.replace(ModelConfig.preset("tiny"), vocab_size=256)).eval()


# ---------------------------------------------------------------------------------- SLU tags (labels.json)
TAG_TEXTS = ["play the music by queen", "wake me up at seven am", "turn on the lights in kitchen", "stop"]


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    """An export of a model whose tokenizer reserves tags, with a labels.json taken from the model dir.

    The map restricts outputs to the tags and three words, so this random model writes tag-format parses."""
    from tandem.finetune import SLULabels

    root = tmp_path_factory.mktemp("tags")
    tok_dir = train_tiny_tokenizer(root / "tok", vocab_size=256, reserved_tags=6)
    hf = build_random_hf(root / "hf", arch="mbart", vocab_size=256, seed=6)
    labels = SLULabels(["play_music"], ["artist", "room", "time", "device"])
    labels.save(hf)  # beside the model, as `tandem finetune --slu-tags` leaves it
    export_ct2(hf, root / "fp32", quantize="float32", tokenizer=tok_dir / "tokenizer.model")
    trim_vocabulary(root / "fp32", ["queen", "seven am", "kitchen"], copy_source=False)
    return {"export": root / "fp32", "labels": labels}


def test_slu_labels_round_trip_and_map_tags_back(tmp_path):
    from tandem.edge import SLULabels  # the edge runtime reads labels.json without torch

    ref = SLULabels(["play_music", "set_alarm"], ["artist", "time"])
    assert ref.to_target("set_alarm", [("time", "seven  am")]) == "<tag_1><tag_3> seven am"
    ref.save(tmp_path)
    got = SLULabels.load(tmp_path)
    assert (got.intents, got.slots) == (ref.intents, ref.slots) and len(got) == 4
    assert got.tags() == ["<tag_0>", "<tag_1>", "<tag_2>", "<tag_3>"]
    for text, want in [
        ("<tag_1><tag_3> seven  am", "set_alarm ; time = seven am"),
        ("<tag_0><tag_2> queen<tag_3> seven am", "play_music ; artist = queen ; time = seven am"),
        ("<tag_0><tag_9> out of range<tag_2>", "play_music"),  # unknown tag and an empty value are dropped
        ("set_alarm ; time = seven am", "set_alarm ; time = seven am"),  # already linearised
        ("", ""),
    ]:
        assert got.to_linearized(text) == want, text
    assert SLULabels.load(tmp_path / "missing") is None
    (tmp_path / "labels.json").write_text('{"format": "other"}')
    with pytest.raises(TandemError, match="format"):
        SLULabels.load(tmp_path)


def test_parse_names_slu_tags(tagged):
    from tandem.slu import parse_linearized

    m = EdgeModel.load(tagged["export"])
    assert (tagged["export"] / "labels.json").is_file() and m.labels is not None
    assert m.use_vmap
    raw = m.generate(TAG_TEXTS, max_new_tokens=12)
    parses = m.parse(TAG_TEXTS, max_new_tokens=12)
    for text, p in zip(raw, parses):
        intent, slots = parse_linearized(tagged["labels"].to_linearized(text))
        assert p == {"intent": intent, "slots": [{"slot": s, "value": v} for s, v in slots], "text": text}
    # the test sees real tags: some parse names an intent, some a slot with a copied value
    assert sum("<tag_" in t for t in raw) >= 2, raw
    assert any(p["intent"] == "play_music" for p in parses), parses
    assert any(p["slots"] for p in parses), parses
    assert all(s["slot"] in tagged["labels"].slots for p in parses for s in p["slots"])
    # without labels the same text is read as plain linearised text: the tags themselves become the intent
    k = next(i for i, p in enumerate(parses) if p["intent"])
    assert parse_output(raw[k])["intent"] == raw[k].strip() != parses[k]["intent"]


def test_a_map_allowing_every_token_changes_nothing(built, tmp_path):
    """Every listable piece allowed: greedy outputs must equal the untrimmed model's. The identity rule of a
    piece holding a line break (tandem's newline piece "\\n") once wrote a bare "\\t" line, which CTranslate2
    read as a new, empty always-allowed list replacing the real one."""
    import shutil

    d = tmp_path / "all"
    shutil.copytree(built["export"], d)
    full = EdgeModel.load(built["export"])
    everything = [p for p in full.pieces if p and not set(p) & set(" \t\n\r")]
    assert "\n" in full.pieces  # the case the map writer must handle
    trim_vocabulary(d, [], extra_tokens=everything)
    lines = (d / "vmap.txt").read_text(encoding="utf-8").split("\n")
    assert len(lines[0].split(" ")) == len(everything)
    assert sum(line.startswith("\t") for line in lines) == 1  # one always-allowed list
    m = EdgeModel.load(d)
    assert m.use_vmap
    for text in TEXTS:
        assert m.generate(text, max_new_tokens=12) == full.generate(text, max_new_tokens=12), text


def test_a_suppressed_token_with_a_vocabulary_map_stays_suppressed(built, tmp_path):
    """CTranslate2 keeps the id -> candidate position table of its first call with a map and only adds to it:
    a suppressed token's position from an earlier call suppressed another token in a later one, and the banned
    token came out. Each output must be the one a freshly loaded model gives, without the banned token."""
    import shutil
    from collections import Counter

    d = tmp_path / "trim"
    shutil.copytree(built["export"], d)
    trim_vocabulary(d, ["play_music ; artist =", "set_alarm ; time ="])
    texts = TEXTS + ["play queen now", "set an alarm for seven", "what time is it in paris"]
    m = EdgeModel.load(d)
    free = [m.generate_batch([t], max_new_tokens=8)[0].token_ids for t in texts]
    banned = Counter(i for row in free for i in row).most_common(1)[0][0]  # a token the texts produce
    got = [m.generate_batch([t], max_new_tokens=8, suppress_tokens=[banned])[0].token_ids for t in texts]
    fresh = [
        EdgeModel.load(d).generate_batch([t], max_new_tokens=8, suppress_tokens=[banned])[0].token_ids
        for t in texts
    ]
    assert got == fresh and all(banned not in row for row in got), (banned, got, fresh)


def test_trimming_keeps_slu_tags(tagged):
    vmap = (tagged["export"] / "vmap.txt").read_text().splitlines()[0].split()
    assert {f"<tag_{i}>" for i in range(5)} <= set(vmap) and "<tag_5>" not in vmap


# --------------------------------------------------------------------- ids the tokenizer has no piece for
def test_ids_past_the_tokenizer_decode_as_unk_like_the_torch_path(tmp_path):
    """A model vocabulary larger than its tokenizer: generated ids with no piece read as <unk> (" ⁇ "), one
    warning, exactly the text `Tokenizer.decode` (the torch backend) gives, not silently dropped."""
    tok_dir = train_tiny_tokenizer(tmp_path / "tok", vocab_size=256)
    hf_dir = build_random_hf(tmp_path / "hf", arch="mbart", vocab_size=300, seed=2)
    hf = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(hf_dir)).eval()
    with torch.no_grad():  # make the model write id 280 (no piece) among ordinary tokens
        hf.final_logits_bias[0, 280] += 4.0
    hf.save_pretrained(str(hf_dir))
    export_ct2(hf_dir, tmp_path / "fp32", quantize="float32", tokenizer=tok_dir / "tokenizer.model")
    m = EdgeModel.load(tmp_path / "fp32")
    tok = Tokenizer.load(tok_dir)
    want_piece = Tokenizer.load(tok_dir)  # a fresh tokenizer: its one warning is still to come
    assert m.decode([m.pieces[40], m.pieces[280], m.pieces[41]]) == want_piece.decode([40, 280, 41])
    assert " ⁇ " in m.decode([m.pieces[40], m.pieces[280], m.pieces[41]])
    m = EdgeModel.load(tmp_path / "fp32")
    seen = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for text in TEXTS:
            ids = tok.encode(text, add_eos=True)
            with torch.no_grad():
                out = hf.generate(
                    torch.tensor([ids]), do_sample=False, max_new_tokens=10, forced_eos_token_id=None
                )
            row = [i for i in out[0].tolist()[1:] if i != tok.eos_id]
            seen += 280 in row
            assert m.generate(text, max_new_tokens=10) == want_piece.decode(row), text
    assert seen, "the test model never wrote an id past the tokenizer"
    assert sum("past this tokenizer" in str(w.message) for w in caught) == 1  # once per model, as torch's


# -------------------------------------------------------------- the checkpoint's decoding defaults (HF)
GEN_TEXTS = [*TEXTS, "add milk eggs to shopping list call mom dad", "volume up down"]
GREEDY_DEFAULTS = dict(  # what CTranslate2 expresses exactly when decoding greedily
    max_length=14, min_length=5, no_repeat_ngram_size=3, forced_bos_token_id=7, forced_eos_token_id=2
)
BEAM_DEFAULTS = dict(max_length=14, num_beams=4, length_penalty=2.0, early_stopping=True)
HUB_DEFAULTS = dict(  # bart-large-cnn's kind of settings: beam search with rules CTranslate2 cannot match
    max_length=14,
    min_length=5,
    num_beams=4,
    length_penalty=2.0,
    early_stopping=True,
    no_repeat_ngram_size=3,
    repetition_penalty=1.3,
    forced_bos_token_id=7,
    forced_eos_token_id=2,
)


def _hub_export(root: Path, tok_dir: Path, seed: int = 0, **generation):
    """A random HF BART carrying `generation` in its generation_config.json, the tandem model loaded from
    it, and its float32 edge export."""
    from tandem import Seq2SeqLM

    torch.manual_seed(seed)
    cfg = transformers.BartConfig(
        vocab_size=256,
        **TINY_BART_DIMS,
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        init_std=0.1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
    )
    hf = transformers.BartForConditionalGeneration(cfg).eval()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if "norm" in name:
                p.add_(torch.randn(p.shape, generator=g) * 0.2)
        hf.final_logits_bias.normal_(0, 0.1, generator=g)
        hf.final_logits_bias[0, 30] += 1.0  # a favoured token: limits, bans and penalties matter
        hf.final_logits_bias[0, 2] += 0.5
    hf.generation_config.forced_eos_token_id = None
    for k, v in generation.items():
        setattr(hf.generation_config, k, v)
    hf.save_pretrained(root / "hf")
    ours = Seq2SeqLM.from_pretrained(root / "hf")
    export_ct2(root / "hf", root / "fp32", quantize="float32", tokenizer=tok_dir / "tokenizer.model")
    return ours, root / "fp32"


def _torch_ids(model, tok, texts, **kw) -> list[list[int]]:
    """Seq2SeqLM.generate (the model's defaults unless overridden), one input at a time: ids after the
    start token, up to and with EOS."""
    rows = []
    for t in texts:
        with torch.no_grad():
            out = model.generate(torch.tensor([tok.encode(t, add_eos=True)]), **kw)[0].tolist()[1:]
        rows.append(out[: out.index(2) + 1] if 2 in out else out)
    return rows


@pytest.fixture(scope="module")
def gen_tok(tmp_path_factory):
    return train_tiny_tokenizer(tmp_path_factory.mktemp("gentok"), vocab_size=256)


@pytest.mark.parametrize("seed", [0, 1])
def test_greedy_checkpoint_defaults_match_torch(tmp_path, gen_tok, seed):
    ours, export = _hub_export(tmp_path, gen_tok, seed=seed, **GREEDY_DEFAULTS)
    tok = Tokenizer.load(gen_tok)
    m = EdgeModel.load(export)
    assert m.meta["generation"] == ours.config.generation
    assert m.meta["generation_edge"]["not_exact"] == {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # everything applies exactly: no warning
        got = [g.token_ids for g in m.generate_batch(GEN_TEXTS)]
    want = _torch_ids(ours, tok, GEN_TEXTS)
    assert got == want
    assert all(r[0] == 7 for r in want) and all(r[-1] == 2 for r in want)  # forced BOS; EOS at the latest
    assert any(len(r) == 13 for r in want)  # some row reached the limit: its EOS was forced
    # caller arguments win over the defaults, as in Seq2SeqLM.generate; None turns forcing off
    for kw in (
        dict(max_new_tokens=6),
        dict(max_new_tokens=1),
        dict(max_new_tokens=2, min_new_tokens=0),
        dict(forced_bos_token_id=None, forced_eos_token_id=None, no_repeat_ngram_size=0),
        dict(no_repeat_ngram_size=2, min_new_tokens=0, max_new_tokens=20),
    ):
        assert [g.token_ids for g in m.generate_batch(GEN_TEXTS, **kw)] == _torch_ids(
            ours, tok, GEN_TEXTS, **kw
        ), kw
    # text and finish reasons follow the tokens
    g = m.generate_batch(GEN_TEXTS[:1], max_new_tokens=4)[0]  # EOS forced at the limit: "length"
    assert g.finish_reason == "length" and g.output_tokens == 4 and g.token_ids[-1] == 2


@pytest.mark.parametrize("seed", [0, 1])
def test_beam_checkpoint_defaults_match_torch(tmp_path, gen_tok, seed):
    ours, export = _hub_export(tmp_path, gen_tok, seed=seed, **BEAM_DEFAULTS)
    tok = Tokenizer.load(gen_tok)
    m = EdgeModel.load(export)
    assert m.meta["generation_edge"]["not_exact"] == {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = [g.token_ids for g in m.generate_batch(GEN_TEXTS)]
    assert got == _torch_ids(ours, tok, GEN_TEXTS)
    for kw in (dict(length_penalty=0.6), dict(length_penalty=0.0, early_stopping=False), dict(num_beams=2)):
        assert [g.token_ids for g in m.generate_batch(GEN_TEXTS, **kw)] == _torch_ids(
            ours, tok, GEN_TEXTS, **kw
        ), kw


def test_a_beam_search_without_early_stopping_is_named_as_not_the_torch_models(tmp_path, gen_tok):
    """Seq2SeqLM.generate (as transformers) ends a beam search with early_stopping=False unless told
    otherwise; CTranslate2 ends it as early_stopping=True does. Left unset, it was taken for True without a
    word: a plain num_beams=4 gave other tokens than the torch model (3 of these 4 rows, on a model whose
    outputs end at different lengths). Now a one-time warning names it, and early_stopping=True gives the
    torch model's tokens without one."""
    import dataclasses

    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM

    torch.manual_seed(2)
    cfg = dataclasses.replace(
        ModelConfig.preset("tiny"),
        vocab_size=256,
        max_positions=64,
        final_logits_bias=True,
        tie_lm_head=False,
    )
    model = Seq2SeqLM(cfg).eval()
    with torch.no_grad():
        model.final_logits_bias[cfg.eos_token_id] = 2.0  # the rows end at different lengths
    tok = Tokenizer.load(gen_tok)
    model.save_pretrained(tmp_path / "m")
    tok.save(tmp_path / "m")
    export_ct2(tmp_path / "m", tmp_path / "fp32", quantize="float32")
    m = EdgeModel.load(tmp_path / "fp32")
    texts = ["kitchen the am is", "in turn what lights", "wake me up", "play queen"]
    kw = dict(max_new_tokens=12, num_beams=4)
    with pytest.warns(UserWarning, match="early_stopping .*unset, the torch model .* uses False"):
        got = [g.token_ids for g in m.generate_batch(texts, **kw)]
    assert got != _torch_ids(model, tok, texts, **kw)  # the case the warning is for
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exact = [g.token_ids for g in m.generate_batch(texts, **kw, early_stopping=True)]
    assert exact == got == _torch_ids(model, tok, texts, **kw, early_stopping=True)


def test_defaults_ctranslate2_cannot_match_are_reported_and_left_out(tmp_path, gen_tok):
    ours, export = _hub_export(tmp_path, gen_tok, **HUB_DEFAULTS)
    tok = Tokenizer.load(gen_tok)
    m = EdgeModel.load(export)
    not_exact = m.meta["generation_edge"]["not_exact"]
    assert sorted(not_exact) == [
        "forced_bos_token_id",
        "forced_eos_token_id",
        "min_new_tokens",
        "no_repeat_ngram_size",
        "repetition_penalty",
    ]
    assert any("repetition_penalty" in n for n in m.meta["export"]["notes"])
    with pytest.warns(UserWarning, match="not applied") as rec:
        got = [g.token_ids for g in m.generate_batch(GEN_TEXTS)]
    assert all(name in str(rec[0].message) for name in not_exact)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.generate_batch(GEN_TEXTS[:1])  # once per model
    off = dict(
        min_new_tokens=0,
        no_repeat_ngram_size=0,
        repetition_penalty=1.0,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
    )
    assert got == _torch_ids(ours, tok, GEN_TEXTS, **off)  # the rest (beam 4, lp 2, lengths) exactly
    # greedy: everything but the repetition penalty (transformers counts the decoder start token) applies
    greedy = [g.token_ids for g in m.generate_batch(GEN_TEXTS, num_beams=1)]
    assert greedy == _torch_ids(ours, tok, GEN_TEXTS, num_beams=1, repetition_penalty=1.0)
    # asked for explicitly: a forced last token in beam search is refused, not approximated
    with pytest.raises(TandemError, match="forced_eos_token_id"):
        m.generate_batch(GEN_TEXTS[:1], forced_eos_token_id=2)
    # generation_defaults="off": tandem's plain decoding (greedy, 64 tokens), as before
    plain = EdgeModel.load(export, generation_defaults="off")
    assert [g.token_ids for g in plain.generate_batch(GEN_TEXTS, max_new_tokens=12)] == _torch_ids(
        ours, tok, GEN_TEXTS, max_new_tokens=12, num_beams=1, **off
    )
    # "nearest": CTranslate2's own rules for what it can approximate, named in the warning
    near = EdgeModel.load(export, generation_defaults="nearest")
    with pytest.warns(UserWarning, match="applied with CTranslate2's rule") as rec:
        near.generate_batch(GEN_TEXTS[:2])
    assert "forced_eos_token_id" in str(rec[0].message).split("applied with")[0]  # still left out
    with pytest.raises(TandemError, match="generation_defaults"):
        EdgeModel.load(export, generation_defaults="sometimes")


# ------------------------------------------------------------------------------------------ token bans
def _first_pair(rows: list[list[int]]) -> tuple[int, int]:
    for row in rows:
        for a, b in zip(row, row[1:]):
            if a != b and 2 not in (a, b):
                return a, b
    raise AssertionError(f"no pair in {rows}")


@pytest.fixture(scope="module")
def bans_export(tmp_path_factory, gen_tok):
    ours, export = _hub_export(tmp_path_factory.mktemp("bans"), gen_tok, seed=0, suppress_tokens=[88])
    return ours, export, Tokenizer.load(gen_tok)


def test_token_bans_match_torch_greedy(bans_export):
    """bad_words_ids and suppress_tokens go to CTranslate2's suppress_sequences, exact for greedy search
    (the checkpoint's suppress_tokens too); what it cannot match is refused by name."""
    ours, export, tok = bans_export
    m = EdgeModel.load(export)
    assert m.meta["generation"]["suppress_tokens"] == [88]
    base = dict(num_beams=1, max_new_tokens=10, min_new_tokens=4, no_repeat_ngram_size=2)
    plain = _torch_ids(ours, tok, GEN_TEXTS, **base)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # everything applies exactly: no warning
        assert [g.token_ids for g in m.generate_batch(GEN_TEXTS, **base)] == plain
    a, b = _first_pair(plain)
    first = plain[0][0]
    for kw in (
        dict(bad_words_ids=[[a, b]]),  # bans b right after a only
        dict(bad_words_ids=[[b], [2]]),  # a lone EOS is dropped, as transformers drops it
        dict(suppress_tokens=[first, 30]),
        dict(forced_bos_token_id=a, bad_words_ids=[[a, b]]),  # the forced token counts
        dict(suppress_tokens=None),  # None turns the checkpoint's ban off
    ):
        want = _torch_ids(ours, tok, GEN_TEXTS, **base, **kw)
        assert want != plain, kw  # the ban matters
        assert [g.token_ids for g in m.generate_batch(GEN_TEXTS, **base, **kw)] == want, kw
    refused = (
        (dict(num_beams=2, bad_words_ids=[[a]]), "bad_words_ids: .* in beam search CTranslate2 bans"),
        (dict(num_beams=2), "suppress_tokens: .* in beam search"),  # the checkpoint's, kept in beam search
        (dict(begin_suppress_tokens=[first]), "begin_suppress_tokens: .* no tokens suppressed at the first"),
        (dict(bad_words_ids=[[2, first]]), "bad_words_ids: .* starting with the decoder start token"),
        (dict(suppress_tokens=[256]), r"suppress_tokens must be None or a list of token ids in \[0, 256\)"),
    )
    for kw, words in refused:
        with pytest.raises(TandemError, match=words):
            m.generate_batch(GEN_TEXTS[:1], **{**base, "suppress_tokens": [88], **kw})
    beam = dict(num_beams=2, max_new_tokens=10, suppress_tokens=None)  # without bans, beam search matches
    assert [g.token_ids for g in m.generate_batch(GEN_TEXTS, **beam)] == _torch_ids(
        ours, tok, GEN_TEXTS, **beam
    )


def test_token_bans_hold_when_sampling_and_the_model_top_k_applies(bans_export, monkeypatch):
    ours, export, tok = bans_export
    m = EdgeModel.load(export)
    drawn = [t for _ in range(5) for g in m.generate_batch(GEN_TEXTS, temperature=1.0) for t in g.token_ids]
    assert 88 not in drawn and 30 in drawn  # the checkpoint's ban holds; the favoured token is drawn
    drawn = m.generate_batch(GEN_TEXTS, temperature=1.0, suppress_tokens=[30], max_new_tokens=12)
    assert not any(30 in g.token_ids for g in drawn)
    # top_k left out: the model's (transformers' 50 for a Hugging Face model), given: the caller's
    seen = []
    real = m.translator.translate_batch
    monkeypatch.setattr(
        m,
        "translator",
        type("T", (), {"translate_batch": lambda self, *a, **k: seen.append(k) or real(*a, **k)})(),
    )
    m.generate_batch(GEN_TEXTS[:1], temperature=1.0)
    m.generate_batch(GEN_TEXTS[:1], temperature=1.0, top_k=0)
    assert [k["sampling_topk"] for k in seen] == [50, 0]
    assert seen[0]["suppress_sequences"] == [[m.pieces[88]]]


def test_checkpoint_bans_ctranslate2_cannot_match_are_left_out_with_a_warning(tmp_path, gen_tok):
    ours, export = _hub_export(
        tmp_path, gen_tok, begin_suppress_tokens=[2], bad_words_ids=[[7, 8]], num_beams=3
    )
    m = EdgeModel.load(export)
    # (and the 3 beams end by CTranslate2's rule, early_stopping=True's, where the model's is unset: False)
    assert sorted(m.meta["generation_edge"]["not_exact"]) == [
        "bad_words_ids",
        "begin_suppress_tokens",
        "early_stopping",
    ]
    with pytest.warns(UserWarning, match="not applied: bad_words_ids .*; begin_suppress_tokens"):
        got = [g.token_ids for g in m.generate_batch(GEN_TEXTS, max_new_tokens=8)]
    tok = Tokenizer.load(gen_tok)
    off = dict(bad_words_ids=None, begin_suppress_tokens=None)
    assert got == _torch_ids(ours, tok, GEN_TEXTS, max_new_tokens=8, **off)


def test_plan_refuses_multi_token_bad_words_with_a_vocabulary_map():
    # with a vocabulary map CTranslate2 drops a bad word's tokens outside the map ([7, 8] could become [8])
    from tandem.edge.runtime import plan_generation

    kw = dict(eos_id=2, start_id=2, vocab_size=256)
    plan = plan_generation(None, {"bad_words_ids": [[7, 8], [9]], "suppress_tokens": [4]}, **kw)
    assert plan.ct2["suppress_sequences"] == [[4], [7, 8], [9]]
    assert plan_generation(None, {"bad_words_ids": [[9]]}, use_vmap=True, **kw).ct2["suppress_sequences"] == [
        [9]
    ]
    with pytest.raises(TandemError, match="bad_words_ids: .* vocabulary map .* use_vmap=False"):
        plan_generation(None, {"bad_words_ids": [[7, 8]]}, use_vmap=True, **kw)
