"""lm-eval bridge: the "tandem" model agrees with lm-eval's own `hf` seq2seq model on a random tiny T5."""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import pytest

lm_eval = pytest.importorskip("lm_eval")
pytest.importorskip("accelerate")
transformers = pytest.importorskip("transformers")


def build_t5_dir(tmp: Path, d_model: int = 64, layers: int = 2) -> Path:
    """A random tiny HF T5 with a SentencePiece tokenizer trained here (T5 ids: pad 0, eos 1, unk 2)."""
    import sentencepiece as spm
    import torch

    lines = [
        f"The {a} {b} sat on the {c} mat near {n} houses; answer: {'yes' if n % 2 else 'no'}."
        for n, (a, b, c) in enumerate(
            (a, b, c)
            for a in ("big", "small", "red", "old")
            for b in ("cat", "dog", "bird")
            for c in ("blue", "green")
        )
    ] + ["Question: is the answer yes or no? Hello world again, translate an empty context: d e f g h i j k."]
    (tmp / "corpus.txt").write_text("\n".join(lines), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(tmp / "corpus.txt"),
        model_prefix=str(tmp / "sp"),
        vocab_size=120,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    tokdir = tmp / "tok"
    tokdir.mkdir()
    shutil.copy(tmp / "sp.model", tokdir / "spiece.model")
    tok = transformers.T5Tokenizer.from_pretrained(str(tokdir), extra_ids=0)
    torch.manual_seed(0)
    cfg = transformers.T5Config(
        vocab_size=len(tok),
        d_model=d_model,
        d_kv=16,
        d_ff=2 * d_model,
        num_layers=layers,
        num_decoder_layers=layers,
        num_heads=4,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        tie_word_embeddings=False,
        initializer_factor=0.1,  # keeps random log-likelihoods in a realistic range
    )
    out = tmp / "t5"
    transformers.T5ForConditionalGeneration(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    shutil.copy(tmp / "sp.model", out / "spiece.model")
    return out


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from lm_eval.models.huggingface import HFLM

    import tandem.integrations.lm_eval as bridge

    d = build_t5_dir(tmp_path_factory.mktemp("t5"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hf = HFLM(pretrained=str(d), backend="seq2seq", batch_size=3, device="cpu", dtype="float32")
    return hf, bridge.TandemLM(pretrained=str(d), batch_size=2)


def _instances(kind, args):
    from lm_eval.api.instance import Instance

    return [Instance(request_type=kind, doc={}, arguments=a, idx=i) for i, a in enumerate(args)]


REQUESTS = [
    ("The big cat sat on the mat.", " yes"),
    ("The big cat sat on the mat.", " no"),
    ("The big cat sat on the mat.", " maybe not"),
    ("Question: is the dog red? Answer:", " The dog is red."),
    ("Hello world ", "again"),  # trailing context space moves to the continuation
    ("", "an empty context"),  # scored after the prefix token
    ("near 12 houses;", " answer: yes, near the old blue mat"),
]


def test_registered():
    from lm_eval.api.registry import get_model

    import tandem.integrations.lm_eval as bridge

    assert get_model("tandem") is bridge.TandemLM


def test_tokenisation_matches_hf(models):
    hf, td = models
    for ctx, cont in REQUESTS[:5]:
        assert td._encode_pair(ctx, cont) == hf._encode_pair(ctx, cont)


def test_a_clm_context_is_split_as_the_bridge_encodes_it(models):
    # the bridge encodes contexts as written; a "[CLM]" that T5's tokenizer lacks stays text. Splitting the
    # continuation went through `source_ids`' [CLM] handling, which warned that the prefix was dropped.
    hf, td = models
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for ctx, cont in [("[CLM] Question: is it red? Answer:", " yes"), ("[CLM]", " a whole text")]:
            assert td._encode_pair(ctx, cont) == hf._encode_pair(ctx, cont)


def test_loglikelihood_parity(models):
    hf, td = models
    a = hf.loglikelihood(_instances("loglikelihood", REQUESTS), disable_tqdm=True)
    b = td.loglikelihood(_instances("loglikelihood", REQUESTS), disable_tqdm=True)
    assert len(a) == len(b) == len(REQUESTS)
    for (la, ga), (lb, gb) in zip(a, b):
        assert lb == pytest.approx(la, abs=1e-4)
        assert ga == gb
    # different continuations of one context really differ (the check would catch a shared-score bug)
    assert abs(b[0][0] - b[1][0]) > 1e-3


def test_loglikelihood_parity_when_the_model_forces_a_first_token(models, tmp_path):
    # lm-eval's `hf` scores a continuation right after the decoder start token, whatever the model's decoding
    # forces first (mBART-50's language code); the bridge keeps that (`tandem evaluate` puts the token first)
    import json

    import tandem.integrations.lm_eval as bridge

    hf, _ = models
    d = tmp_path / "forced"
    shutil.copytree(hf.model.name_or_path, d)
    gen = json.loads((d / "generation_config.json").read_text())
    (d / "generation_config.json").write_text(json.dumps({**gen, "forced_bos_token_id": 5}))
    td = bridge.TandemLM(pretrained=str(d), batch_size=2)
    assert td.lm.model.config.generation["forced_bos_token_id"] == 5 and td.lm.prefix == [0]
    a = hf.loglikelihood(_instances("loglikelihood", REQUESTS[:4]), disable_tqdm=True)
    b = td.loglikelihood(_instances("loglikelihood", REQUESTS[:4]), disable_tqdm=True)
    assert [x for x, _ in b] == pytest.approx([x for x, _ in a], abs=1e-4)


def test_rolling_and_generation_parity(models):
    hf, td = models
    texts = [("The small bird sat on the green mat near 3 houses. " * 3,), ("answer: no",)]
    a = hf.loglikelihood_rolling(_instances("loglikelihood_rolling", texts), disable_tqdm=True)
    b = td.loglikelihood_rolling(_instances("loglikelihood_rolling", texts), disable_tqdm=True)
    assert b == pytest.approx(a, abs=1e-4)
    gen = [
        ("The big cat sat on the", {"until": ["."], "max_gen_toks": 6}),
        ("near 3", {"until": [";"], "max_gen_toks": 4}),
    ]
    assert td.generate_until(_instances("generate_until", gen), disable_tqdm=True) == hf.generate_until(
        _instances("generate_until", gen), disable_tqdm=True
    )


def test_generate_until_cuts_at_until_and_max_gen_toks(tmp_path):
    # The tiny T5 above emits its pad id at every step, so every generation there decodes to "" and the
    # generation comparison cannot fail. Here its decoder is re-drawn (and pad/EOS can never win) so it
    # writes text: each output is checked against transformers' own greedy generate(max_new_tokens=
    # max_gen_toks) cut at the first `until` string, at several batch sizes.
    import torch
    from lm_eval.models.utils import postprocess_generated_text

    import tandem.integrations.lm_eval as bridge

    d = build_t5_dir(tmp_path)
    model = transformers.T5ForConditionalGeneration.from_pretrained(d)
    with torch.no_grad():
        torch.manual_seed(0)
        model.lm_head.weight[:2] = 0
        for p in model.decoder.parameters():
            if p.dim() > 1:
                p.normal_(0, 1.0)
    model.save_pretrained(d)
    td = bridge.TandemLM(pretrained=str(d), batch_size=2)

    def reference(ctx: str, max_gen_toks: int) -> str:
        with torch.no_grad():
            out = model.generate(input_ids=torch.tensor([td.tok_encode(ctx)]), max_new_tokens=max_gen_toks)
        out = out[0, 1:].tolist()
        return td.tok_decode(out[: out.index(1)] if 1 in out else out)

    contexts = [
        ("near 3; near 4;", 10),
        ("The old", 8),
        ("Question: is", 20),
        ("Hello world", 3),
        ("The red dog", 5),
        ("The small bird sat on the green mat near 3 houses;", 6),
    ]
    gen, want = [], []
    for j, (ctx, n) in enumerate(contexts):
        full = reference(ctx, n)
        assert len(full) >= (4 if j % 2 == 0 else 1)  # the model writes text
        # even requests stop inside their text; odd ones at max_gen_toks (";" is in some contexts: no cut)
        until = [full[2:4]] if j % 2 == 0 else [";", "\u00a7"]
        gen.append((ctx, {"until": until, "max_gen_toks": n}))
        want.append(postprocess_generated_text(full, until, None))
    assert [len(w) < len(reference(c, n)) for w, (c, n) in zip(want, contexts)][::2] == [True] * 3
    for bs in (1, 2, 4):
        td._batch_size = bs
        assert td.generate_until(_instances("generate_until", gen), disable_tqdm=True) == want


#: the corpus of the whitespace-keeping tokenizer of `tiny_tandem_lm` (conftest) in the tests below
_LINES = [
    f"The {a} {b} sat on the {c} mat near {n} houses; answer: {'yes' if n % 2 else 'no'}. Answer:"
    for n, (a, b, c) in enumerate(
        (a, b, c) for a in ("big", "small", "red", "old") for b in ("cat", "dog") for c in ("blue", "green")
    )
]


@pytest.fixture(scope="module")
def tandem_dir(tmp_path_factory, tiny_tandem_lm):
    tok, model = tiny_tandem_lm(_LINES, 48, max_positions=32)
    out = tmp_path_factory.mktemp("tandem") / "model"
    model.save_pretrained(out, tokenizer=tok)
    return out


def test_generate_until_stays_within_the_decoder_positions(tandem_dir):
    # lm-eval's default max_gen_toks (256) and task values such as 1024 are more than a learned-position
    # decoder holds: generation stops at the last position instead of raising mid-run
    import tandem.integrations.lm_eval as bridge

    td = bridge.TandemLM(pretrained=str(tandem_dir), batch_size=2)
    assert td.lm.max_target_len == 32
    full = [("The big cat", {"until": ["\u00a7"], "max_gen_toks": 32})]
    want = td.generate_until(_instances("generate_until", full), disable_tqdm=True)
    assert len(td.tok_encode(want[0], add_special_tokens=False)) >= 20  # it did write to the end
    for gen_kwargs in ({"until": ["\u00a7"], "max_gen_toks": 1024}, {"until": ["\u00a7"]}):
        got = td.generate_until(
            _instances("generate_until", [("The big cat", gen_kwargs)]), disable_tqdm=True
        )
        assert got == want


def test_generate_until_applies_or_refuses_every_gen_kwarg(tiny_tandem_lm):
    # top_k / num_beams reach the search (they used to be dropped silently: sampling ran without top_k,
    # beam search ran greedy); a key the model has no use for is an error, as in transformers' generate
    import torch

    import tandem.integrations.lm_eval as bridge
    from tandem.errors import TandemError

    tok, model = tiny_tandem_lm(_LINES, 48, max_positions=32)
    td = bridge.TandemLM(model=model, tokenizer=tok, batch_size=2)
    ctxs = ["The big cat", "near 3 houses; answer:", "The old dog sat"]

    def run(**kw):
        reqs = [(c, {"until": ["\u00a7"], "max_gen_toks": 8, **kw}) for c in ctxs]
        return td.generate_until(_instances("generate_until", reqs), disable_tqdm=True)

    def reference(**kw):
        out = []
        for c in ctxs:
            row = model.generate(torch.tensor([td.tok_encode(c)]), max_new_tokens=8, **kw)[0, 1:].tolist()
            out.append(td.tok_decode(row))
        return out

    greedy = run()
    assert greedy == reference()
    torch.manual_seed(0)
    assert run(do_sample=True, temperature=5.0, top_k=1) == greedy  # top_k=1 sampling is greedy
    torch.manual_seed(0)
    assert run(do_sample=True, temperature=5.0) != greedy  # ...and without it, it is not
    beams = run(num_beams=3)
    assert beams == reference(num_beams=3) and beams != greedy
    # token bans reach the search too (they were refused as unknown keys): the first greedy tokens banned
    first = [model.generate(torch.tensor([td.tok_encode(c)]), max_new_tokens=1)[0, 1].item() for c in ctxs]
    bans = {"suppress_tokens": sorted(set(first)), "bad_words_ids": [[first[0]]]}
    banned = run(**bans)
    assert banned == reference(**bans) and banned != greedy
    for bad in ({"bogus_option": 1}, {"max_length": 5}, {"num_return_sequences": 2}):
        with pytest.raises(TandemError, match=next(iter(bad))):
            run(**bad)


def test_model_args_parse_and_bad_values_are_clear_errors(tandem_dir):
    import torch
    from lm_eval.api.registry import get_model

    import tandem.integrations.lm_eval  # noqa: F401  (registers "tandem")
    from tandem.errors import TandemError

    cls = get_model("tandem")
    harness = {"batch_size": None, "max_batch_size": 4, "device": None}  # what simple_evaluate adds
    td = cls.create_from_arg_string(
        f"pretrained={tandem_dir},batch_size=16,device=cpu,dtype=bfloat16,add_eos=false,max_length=20,"
        "max_gen_toks=7,trust_remote_code=True",
        harness,
    )
    assert (td.batch_size, td.device, td.max_length, td.max_gen_toks) == (16, torch.device("cpu"), 20, 7)
    assert next(td.lm.model.parameters()).dtype == torch.bfloat16 and td.lm.add_eos is False
    assert cls.create_from_arg_string(f"pretrained={tandem_dir},batch_size=auto:4", harness).batch_size == 8
    bad = {
        "batch_size=0": "batch_size=0",
        "batch_size=-2": "batch_size=-2",
        "batch_size=abc": "batch_size='abc'",
        "batch_size=2.5": "batch_size=2.5",
        "max_gen_toks=0": "max_gen_toks",
        "max_length=0": "max_length",
        "max_length=33": "32 learned positions",
        "dtype=fp16": "dtype='fp16'",
        "dtype=Tensor": "dtype='Tensor'",
        "add_eos=maybe": "add_eos",
        "device=gpu": "device='gpu'",
        "dtyp=float16": "dtyp not understood",
    }
    if not torch.cuda.is_available():
        bad["device=cuda:0"] = "--device cpu"
    for arg, msg in bad.items():
        with pytest.raises(TandemError, match=re.escape(msg)):
            cls.create_from_arg_string(f"pretrained={tandem_dir},{arg}", harness)


def test_loglikelihood_truncates_long_contexts_on_the_left_and_refuses_long_continuations(tandem_dir):
    import torch

    import tandem.integrations.lm_eval as bridge
    from tandem.errors import TandemError

    td = bridge.TandemLM(pretrained=str(tandem_dir), batch_size=2)
    long_text = "The big cat sat on the blue mat near 3 houses. " * 4
    ctx, cont = td._encode_pair(long_text, " yes")
    assert len(ctx) > td.max_length == 32
    (lp, _), (same, _) = td.loglikelihood(
        _instances("loglikelihood", [(long_text, " yes"), ("x" + long_text, " yes")]), disable_tqdm=True
    )
    with torch.no_grad():  # the last max_length context tokens (EOS included), as lm-eval's hf seq2seq keeps
        logits = td.lm.model(input_ids=torch.tensor([ctx[-32:]]), labels=torch.tensor([cont])).logits[0]
    assert lp == pytest.approx(torch.log_softmax(logits, -1)[range(len(cont)), cont].sum().item(), abs=1e-4)
    assert same == pytest.approx(lp, abs=1e-6)  # the cut-off head does not matter
    with pytest.raises(TandemError, match="more than max_length 32"):
        td.loglikelihood(_instances("loglikelihood", [("The big cat", long_text)]), disable_tqdm=True)


def test_rank_scoring_agrees_with_the_bridge_on_the_same_prompt(tiny_tandem_lm):
    # tandem's own k-shot rank scoring and the bridge score the same (encoder input, continuation) pairs
    # alike: [CLM] prompt with demonstrations, EOS appended, each choice tokenized in its prompt's context.
    # (lm-eval's own seq2seq requests encode a choice alone, which with this whitespace-keeping tokenizer gave
    # " yes" an extra dummy-prefix token: the bridge's string requests scored other tokens than tandem.)
    import tandem.integrations.lm_eval as bridge
    from tandem.prompting import PromptFormat, build_prompt
    from tandem.prompting.scoring import choice_ids, rank_choices

    tok, model = tiny_tandem_lm(_LINES, 48, max_positions=256)
    td = bridge.TandemLM(model=model, tokenizer=tok, batch_size=2)
    demos = ["The big cat sat on the blue mat. Answer: yes", "The old dog sat near 3 houses. Answer: no"]
    prompts = [
        build_prompt(demos, "The red cat sat on the green mat. Answer:", PromptFormat.named("semicolon")),
        build_prompt([], "The small dog sat. Answer:", PromptFormat.named("br", clm_prefix=False)),
    ]
    choices = [[" yes", " no", " the big cat"], [" yes", " no"]]
    assert td.tok_encode(prompts[0]) == td.lm.source_ids(prompts[0])  # [CLM] token first, EOS last
    ranked = rank_choices(td.lm, prompts, choices, batch_size=2)
    reqs = [
        (None, td.tok_encode(p), ids) for p, cs in zip(prompts, choices) for ids in choice_ids(td.lm, p, cs)
    ]
    got = td._loglikelihood_tokens(reqs, disable_tqdm=True)
    want = [(s.logprob, s.is_greedy) for r in ranked for s in r.raw]
    assert [g for _, g in got] == [g for _, g in want]
    assert [lp for lp, _ in got] == pytest.approx([lp for lp, _ in want], abs=1e-5)
    # the same through lm-eval's string requests
    strings = td.loglikelihood(
        _instances("loglikelihood", [(p, c) for p, cs in zip(prompts, choices) for c in cs]),
        disable_tqdm=True,
    )
    assert [lp for lp, _ in strings] == pytest.approx([lp for lp, _ in want], abs=1e-5)
    alone = tok.encode(" yes")
    assert td._encode_pair(prompts[1], " yes")[1] == choice_ids(td.lm, prompts[1], [" yes"])[0] != alone


def test_prefix_token_of_a_transformers_tokenizer_is_its_bos_as_in_lm_eval_hf(tmp_path):
    """With a transformers tokenizer object, the rolling-window prefix token is its BOS when it has one (BART),
    else EOS (T5), as lm-eval's `hf` model picks it; the bridge looked only for a tandem tokenizer's bos_id."""
    from lm_eval.models.huggingface import HFLM

    import tandem.integrations.lm_eval as bridge

    d = build_t5_dir(tmp_path)
    model = transformers.T5ForConditionalGeneration.from_pretrained(d)
    for bos in (None, "<pad>"):
        tok = transformers.T5Tokenizer.from_pretrained(str(d), extra_ids=0)
        if bos is not None:
            tok.bos_token = bos
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hf = HFLM(pretrained=model, tokenizer=tok, backend="seq2seq", batch_size=1, device="cpu")
        td = bridge.TandemLM(model=model, tokenizer=tok, batch_size=1)
        assert td.prefix_token_id == hf.prefix_token_id == (tok.eos_token_id if bos is None else 0)


def test_generate_until_newline_stops_also_cut_at_the_tokenizers_newline_replacement():
    # An AlexaTM-style tokenizer cannot represent "\n" and encodes it as "<br>", so the model writes "<br>"
    # where a task's few-shot context had its line breaks, and decoding gives "<br>", never "\n". A task's
    # "\n" / "\n\n" stop (TriviaQA, CoQA, ...) never fired: answers ran on to max_gen_toks. `tandem evaluate`
    # cuts at the replacement too (test_prompting).
    import tandem.integrations.lm_eval as bridge
    from _br_tokenizer import br_model

    tok, model = br_model()
    td = bridge.TandemLM(model=model, tokenizer=tok, batch_size=2)
    ctx = "the big cat sat\nanswer yes\n\nthe red dog sat\nanswer"
    reqs = [
        (ctx, {"until": ["\n"], "max_gen_toks": 3}),
        (ctx, {"until": ["\n\n", "."], "max_gen_toks": 3}),
        (ctx, {"until": [";"], "max_gen_toks": 3}),  # no newline stop: nothing to cut
    ]
    got = td.generate_until(_instances("generate_until", reqs), disable_tqdm=True)
    assert got == ["", "", "<br><br><br>"]  # was: "<br><br><br>" for all three


def test_a_continuation_glued_to_its_context_is_scored_as_its_in_context_t5_ids(models):
    # What the README says of a continuation without leading whitespace (a task's target_delimiter "", CJK
    # text): the bridge scores the ids `tok(context + continuation)` has after `tok(context)`'s, where lm-eval's
    # `hf` encodes it alone and T5's dummy prefix makes it a word-initial piece; reference: transformers
    import torch

    hf, td = models
    ctx, cont = "The big cat sat on the mat.", "yes"
    tok, model = hf.tokenizer, hf.model
    ctx_ids = tok(ctx, add_special_tokens=False).input_ids
    whole = tok(ctx + cont, add_special_tokens=False).input_ids
    assert whole[: len(ctx_ids)] == ctx_ids
    in_context = whole[len(ctx_ids) :]
    assert in_context != tok(cont, add_special_tokens=False).input_ids == hf._encode_pair(ctx, cont)[1]
    ((got, _),) = td.loglikelihood(_instances("loglikelihood", [(ctx, cont)]), disable_tqdm=True)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([tok(ctx).input_ids]), labels=torch.tensor([in_context])).logits
    want = torch.log_softmax(logits[0], -1)[range(len(in_context)), in_context].sum().item()
    assert got == pytest.approx(want, abs=1e-4)
