"""Prompt building, truncation, k-shot selection, rank scoring (vs brute-force HF forward), generation."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from tandem.errors import TandemError
from tandem.prompting import PromptFormat, build_prompt, fit_prompt, select_demonstrations
from tandem.prompting.generation import postprocess


def test_prompt_format_and_build():
    fmt = PromptFormat.named("semicolon")
    p = build_prompt(["Sentence: a; Translation in German: A"], "Sentence: b; Translation in German:", fmt)
    assert p == "[CLM] Sentence: a; Translation in German: A; Sentence: b; Translation in German:"
    assert PromptFormat.named("br", clm_prefix=False).delimiter == " <br> "
    assert PromptFormat.named("newline").stop == "\n" and fmt.stop == ";"
    with pytest.raises(TandemError):
        PromptFormat.named("")


def test_fit_prompt_drops_whole_demos_and_never_cuts_the_query():
    fmt = PromptFormat(prefix="", delimiter="|")
    demos = ["aaaa", "bb", "cccccc"]
    length = len  # one "token" per character
    full = fit_prompt(demos, "qq", fmt, length, 100)
    assert full.text == "aaaa|bb|cccccc|qq" and full.dropped == 0
    # 12 chars allow the two most recent demos: "bb|cccccc|qq" (12)
    f = fit_prompt(demos, "qq", fmt, length, 12)
    assert f.text == "bb|cccccc|qq" and f.num_demos == 2 and f.dropped == 1
    f = fit_prompt(demos, "qq", fmt, length, 5)
    assert f.text == "qq" and f.dropped == 3
    skip = fit_prompt(demos, "a very long query", fmt, length, 5)
    assert skip.text is None and skip.length == len("a very long query")


def test_selection_seeded_balanced_and_excluding():
    pool = [{"id": str(i), "y": "a" if i < 30 else "b"} for i in range(40)]
    s1 = select_demonstrations(pool, 4, seed=1, query_index=3)
    assert s1 == select_demonstrations(pool, 4, seed=1, query_index=3)
    assert s1 != select_demonstrations(pool, 4, seed=2, query_index=3)
    bal = select_demonstrations(pool, 6, seed=0, query_index=0, label_of=lambda d: d["y"])
    assert Counter(d["y"] for d in bal) == {"a": 3, "b": 3} and len({d["id"] for d in bal}) == 6
    odd = select_demonstrations(pool, 5, seed=0, label_of=lambda d: d["y"])
    assert sorted(Counter(d["y"] for d in odd).values()) == [2, 3]
    # a class short of examples is topped up from the others
    short = [{"id": "x", "y": "c"}] + pool[:10]
    got = select_demonstrations(short, 6, seed=0, label_of=lambda d: d["y"])
    assert len(got) == 6 and sum(d["y"] == "c" for d in got) == 1
    ex = select_demonstrations(pool, 39, seed=0, exclude=lambda d: d["id"] == "7")
    assert len(ex) == 39 and all(d["id"] != "7" for d in ex)
    assert select_demonstrations(pool, 0, seed=0) == []


def test_postprocess():
    assert postprocess(" Haus ; Sentence: x", [";"]) == "Haus"
    assert postprocess("a <br> b\nc", ["<br>", "\n"]) == "a"
    assert postprocess("  plain  ", []) == "plain"


class _Tok:
    """Character-level stand-in tokenizer over a 50-id vocabulary (ids 4..)."""

    eos_token_id, pad_token_id, unk_token_id = 1, 0, 2

    def convert_tokens_to_ids(self, t):
        return 3 if t == "[CLM]" else 2

    def encode(self, text, add_special_tokens=False):
        return [4 + (ord(c) % 46) for c in text]

    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(97 + (i - 4) % 26) for i in ids if i >= 4)


@pytest.fixture(scope="module")
def hf_lm():
    transformers = pytest.importorskip("transformers")
    from tandem.prompting.lm import EncoderDecoder

    torch.manual_seed(0)
    cfg = transformers.T5Config(
        vocab_size=50, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
        decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
    )  # fmt: skip
    model = transformers.T5ForConditionalGeneration(cfg).eval()
    return model, EncoderDecoder(model, _Tok())


def _brute(model, src, cont):
    with torch.no_grad():
        out = model(input_ids=torch.tensor([src]), labels=torch.tensor([cont]))
    return torch.log_softmax(out.logits[0], -1).gather(1, torch.tensor(cont)[:, None]).sum().item()


def test_rank_scores_match_one_forward_per_choice(hf_lm):
    from tandem.prompting.scoring import continuation_ids, rank_choices

    model, lm = hf_lm
    prompts = ["[CLM] short", "[CLM] a much longer prompt here", "[CLM] mid size"]
    choices = [[" yes", " no"], [" x", " longer choice", " z"], [" one"]]
    res = rank_choices(lm, prompts, choices, batch_size=2)
    for p, cs, r in zip(prompts, choices, res):
        src = lm.source_ids(p)
        assert src[0] == 3 and src[-1] == 1  # [CLM] token and EOS
        for c, s in zip(cs, r.raw):
            assert s.logprob == pytest.approx(_brute(model, src, continuation_ids(lm, c)), abs=1e-4)
        assert r.prediction == max(range(len(cs)), key=lambda i: r.raw[i].logprob)
    tok = rank_choices(lm, prompts, choices, normalization="token")
    assert tok[1].scores[1] == pytest.approx(res[1].raw[1].logprob / len(" longer choice"))
    ch = rank_choices(lm, prompts, choices, normalization="char")
    assert ch[0].scores[0] == pytest.approx(res[0].raw[0].logprob / len(" yes"))
    # bytes, not characters: " très" is 5 characters and 6 UTF-8 bytes
    raw = rank_choices(lm, prompts[:1], [[" très", " no"]])[0].raw
    by = rank_choices(lm, prompts[:1], [[" très", " no"]], normalization="byte")[0]
    assert by.scores == pytest.approx([raw[0].logprob / 6, raw[1].logprob / 3])
    cal = rank_choices(lm, prompts, choices, normalization="calibrated", unconditional_prompt="[CLM] Answer:")
    usrc = lm.source_ids("[CLM] Answer:")
    want = res[0].raw[1].logprob - _brute(model, usrc, continuation_ids(lm, " no"))
    assert cal[0].scores[1] == pytest.approx(want, abs=1e-4)
    with pytest.raises(TandemError, match="normalisation"):
        rank_choices(lm, prompts, choices, normalization="bogus")
    assert all(math.isfinite(s) for r in cal for s in r.scores)


def test_tandem_model_scoring_and_generation():
    import dataclasses

    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM
    from tandem.prompting.generation import generate_texts
    from tandem.prompting.lm import EncoderDecoder
    from tandem.prompting.scoring import score_continuations

    torch.manual_seed(0)
    cfg = dataclasses.replace(
        ModelConfig.preset("tiny"), vocab_size=60, d_model=32, ffn_dim=64, max_positions=64
    )
    model = Seq2SeqLM(cfg).eval()

    class Tok(_Tok):
        eos_token_id, pad_token_id = 2, 1

    lm = EncoderDecoder(model, Tok())
    srcs, conts = [[5, 6, 7, 2], [8, 2]], [[[9, 10], [11]], [[12, 13, 14]]]
    for s, cs, rs in zip(srcs, conts, score_continuations(lm, srcs, conts, batch_size=1)):
        for c, r in zip(cs, rs):
            lab = torch.tensor([c])
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([s]), labels=lab).logits
            assert r.logprob == pytest.approx(
                torch.log_softmax(logits[0], -1).gather(1, lab.T).sum().item(), abs=1e-4
            )
    outs = generate_texts(lm, ["[CLM] abc", "[CLM] abcdefg"], max_new_tokens=5, stop=["q"], batch_size=2)
    ids = lm.pad([lm.source_ids("[CLM] abc")], lm.pad_id)
    ref = model.generate(*ids, max_new_tokens=5)[0, 1:].tolist()
    ref = ref[: ref.index(2)] if 2 in ref else ref
    assert outs[0] == postprocess(lm.tok.decode(ref), ["q"])


def test_plan_batches_minimises_padding_plus_pass_cost():
    from tandem.prompting.scoring import plan_batches

    lengths = [10, 9, 2, 1, 1]
    cuts = plan_batches(lengths, 4, pass_cost=0)
    cost = sum((b - a) * lengths[a] for a, b in zip(cuts, cuts[1:]))
    assert cuts[0] == 0 and cuts[-1] == 5 and cost == 10 + 9 + 2 + 1 + 1  # no padding at all
    assert plan_batches(lengths, 5, pass_cost=100) == [0, 5]  # 50 positions + 1 pass beats 23 + 4 passes
    assert plan_batches(lengths, 2, pass_cost=100) == [0, 2, 3, 5]  # cap 2: {10,9} {2} {1,1} = 24 + 3 passes
    assert plan_batches([], 4) == [0]


def test_scores_independent_of_windows_and_batching(monkeypatch):
    import dataclasses

    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM
    from tandem.prompting import scoring
    from tandem.prompting.lm import EncoderDecoder

    torch.manual_seed(0)
    cfg = dataclasses.replace(
        ModelConfig.preset("tiny"), vocab_size=60, d_model=32, ffn_dim=64, max_positions=64
    )
    lm = EncoderDecoder(Seq2SeqLM(cfg).eval(), _Tok())
    g = torch.Generator().manual_seed(1)
    srcs = [
        torch.randint(5, 60, (int(n),), generator=g).tolist() for n in torch.randint(1, 20, (9,), generator=g)
    ]
    conts = [
        [torch.randint(5, 60, (int(n),), generator=g).tolist() for n in torch.randint(1, 6, (k % 3 + 1,))]
        for k in range(9)
    ]
    ref = scoring.score_continuations(lm, srcs, conts, batch_size=64)
    monkeypatch.setattr(scoring, "WINDOW_BYTES", 1)  # every window = one encoder batch
    for bs in (1, 2, 4):
        got = scoring.score_continuations(lm, srcs, conts, batch_size=bs)
        for r_row, g_row in zip(ref, got):
            assert [x.num_tokens for x in g_row] == [x.num_tokens for x in r_row]
            assert [x.logprob for x in g_row] == pytest.approx([x.logprob for x in r_row], abs=1e-4)
    # one source alone, unbatched, through the model's own forward
    s, c = srcs[3], conts[3][0]
    with torch.no_grad():
        logits = lm.model(input_ids=torch.tensor([s]), labels=torch.tensor([c])).logits
    want = torch.log_softmax(logits[0], -1).gather(1, torch.tensor([c]).T).sum().item()
    assert ref[3][0].logprob == pytest.approx(want, abs=1e-4)


def test_continuation_tree_shares_prefixes():
    from tandem.prompting.lm import ContinuationTree

    t = ContinuationTree.build(0, [[5, 6, 7], [5, 6, 8], [5, 9], [4]])
    # nodes: root(start), "5", "5 6"; "5 9" and "4" end at their last token, which is only a target
    assert t.inputs == [0, 5, 6] and t.parents == [0, 0, 1] and t.depths == [0, 1, 2]
    assert t.nodes == [0, 1, 2, 0, 1, 2, 0, 1, 0] and t.targets == [5, 6, 7, 5, 6, 8, 5, 9, 4]
    assert t.owners == [0, 0, 0, 1, 1, 1, 2, 2, 3]
    assert t.is_chain  # the continuations branch only at targets: one causal row, several targets per node
    b = ContinuationTree.build(0, [[5, 6, 7], [5, 8, 9]])
    assert b.inputs == [0, 5, 6, 8] and b.parents == [0, 0, 1, 1] and b.depths == [0, 1, 2, 2]
    assert b.nodes == [0, 1, 2, 0, 1, 3] and not b.is_chain


@pytest.mark.parametrize("position_type", ["relative", "learned"])
def test_tree_scoring_equals_one_forward_per_continuation(position_type, monkeypatch):
    import dataclasses

    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM
    from tandem.prompting import scoring
    from tandem.prompting.lm import ContinuationTree, EncoderDecoder

    torch.manual_seed(0)
    cfg = dataclasses.replace(
        ModelConfig.preset("tiny"), vocab_size=60, d_model=32, ffn_dim=64, max_positions=64,
        position_type=position_type, relative_buckets=8, relative_max_distance=16,
    )  # fmt: skip
    model = Seq2SeqLM(cfg).eval()
    with torch.no_grad():  # make positions matter: at init_std their effect is below the tolerance
        for p in model.decoder.parameters():
            if p.dim() > 1:
                p.normal_(0, 0.5)
    lm = EncoderDecoder(model, _Tok())
    srcs = [[5, 6, 7, 2], [8, 2], [9, 10, 11, 12, 13, 2]]
    conts = [
        [[20, 21, 22], [20, 21, 23, 24], [20, 26, 27], [31, 32], [30], [20, 21, 22]],  # branches, dup
        [[40, 41], [40, 41, 42, 43]],  # one a prefix of the other: a chain
        [[7], [8], [9, 10, 11, 12, 13, 14, 15, 16, 17, 18]],  # deeper than the relative buckets' exact range
    ]
    assert not ContinuationTree.build(0, conts[0]).is_chain  # the tree-mask path runs
    for tree_cap in (256, 4):  # 4: the long continuation alone in its row, the rest split over rows
        monkeypatch.setattr(scoring, "MAX_TREE_NODES", tree_cap)
        for bs in (1, 3):
            got = scoring.score_continuations(lm, srcs, conts, batch_size=bs)
            for s, cs, rs in zip(srcs, conts, got):
                for c, r in zip(cs, rs):
                    lab = torch.tensor([c])
                    with torch.no_grad():
                        logits = model(input_ids=torch.tensor([s]), labels=lab).logits[0]
                    want = torch.log_softmax(logits, -1).gather(1, lab.T).sum().item()
                    assert r.logprob == pytest.approx(want, abs=1e-4) and r.num_tokens == len(c)
                    assert r.is_greedy == bool((logits.argmax(-1) == lab[0]).all())


def test_packed_linears_match_f_linear_and_leave_the_model_alone():
    import dataclasses

    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM
    from tandem.prompting.lm import EncoderDecoder, PackedLinears
    from tandem.prompting.scoring import score_continuations

    torch.manual_seed(0)
    cfg = dataclasses.replace(
        ModelConfig.preset("tiny"), vocab_size=60, d_model=32, ffn_dim=64, max_positions=64
    )
    model = Seq2SeqLM(cfg).eval()
    packed = PackedLinears(model, enabled=True)
    if not packed.enabled:
        pytest.skip("this PyTorch build has no oneDNN linear")
    lin = model.decoder.layers[0].ffn.fc1
    with torch.no_grad():  # the tiny preset has biases (zero at init): they go through the packed op too
        lin.bias.normal_()
    x = torch.randn(2, 5, 32)
    with torch.inference_mode(), packed.active():
        assert "forward" in lin.__dict__
        got = lin(x)
    assert "forward" not in lin.__dict__  # the model is as it was
    assert torch.allclose(got, torch.nn.functional.linear(x, lin.weight, lin.bias), atol=1e-5)
    with torch.no_grad():
        lin.weight.mul_(2)  # a changed weight is packed again
    with torch.inference_mode(), packed.active():
        got = lin(x)
    assert torch.allclose(got, torch.nn.functional.linear(x, lin.weight, lin.bias), atol=1e-5)
    with packed.active():  # autograd on: the ordinary kernel, gradients flow
        lin(x).sum().backward()
    assert lin.weight.grad is not None
    # a fused AdamW step changes the weight without bumping its version counter: the pack must still notice
    version = lin.weight._version
    torch.optim.AdamW([lin.weight], lr=0.1, fused=True).step()
    assert lin.weight._version == version
    with torch.inference_mode(), packed.active():
        got = lin(x)
    assert torch.allclose(got, torch.nn.functional.linear(x, lin.weight, lin.bias), atol=1e-5)
    srcs, conts = [[5, 6, 7, 2], [8, 2]], [[[9, 10], [9, 11, 12]], [[12, 13, 14]]]
    fast = score_continuations(EncoderDecoder(model, _Tok(), prepack=True), srcs, conts)
    plain = score_continuations(EncoderDecoder(model, _Tok(), prepack=False), srcs, conts)
    for f_row, p_row in zip(fast, plain):
        assert [r.logprob for r in f_row] == pytest.approx([r.logprob for r in p_row], abs=1e-5)


def test_model_vocabulary_larger_than_the_tokenizer_decodes_and_smaller_is_an_error(shared_fixtures):
    # The AlexaTM fixture: 512 model ids, a 22-piece SentencePiece model. Greedy generation may pick an id
    # the tokenizer has no piece for; it decodes as <unk> (one warning) and the evaluation goes on.
    import dataclasses

    from tandem.model import Seq2SeqLM
    from tandem.prompting.generation import generate_texts
    from tandem.prompting.lm import EncoderDecoder
    from tandem.tokenizer import Tokenizer

    fx = shared_fixtures / "alexatm-tiny"
    tok = Tokenizer.load(fx / "alexatm-format-spm.model")
    model = Seq2SeqLM.from_pretrained(fx)
    lm = EncoderDecoder(model, tok)
    prompts = ["this is fake data", "hello", "is it", "tea"]
    ids = lm.pad([lm.source_ids(p) for p in prompts], lm.pad_id)
    assert int(model.generate(*ids, max_new_tokens=4).max()) >= tok.vocab_size  # the case under test
    with pytest.warns(UserWarning, match="vocab size 22"):
        outs = generate_texts(lm, prompts, max_new_tokens=4, stop=[], batch_size=4)
    assert len(outs) == 4 and all(isinstance(o, str) for o in outs)
    small = Seq2SeqLM(dataclasses.replace(model.config, vocab_size=16))
    with pytest.raises(TandemError, match=r"22 pieces .* 16"):
        EncoderDecoder(small, tok)


def test_prompted_generation_is_greedy_whatever_the_checkpoints_decoding_defaults(hf_lm):
    """A checkpoint's decoding defaults (a summariser's beams, n-gram blocking, minimum length, read from
    its generation_config.json) must not turn the documented greedy evaluation into another search; the
    transformers branch likewise."""
    import dataclasses

    from tandem.config import ModelConfig
    from tandem.model import Seq2SeqLM
    from tandem.prompting.generation import generate_texts
    from tandem.prompting.lm import EncoderDecoder

    torch.manual_seed(0)
    base = dataclasses.replace(
        ModelConfig.preset("tiny"), vocab_size=60, d_model=32, ffn_dim=64, max_positions=64
    )
    defaults = {"num_beams": 3, "no_repeat_ngram_size": 1, "repetition_penalty": 3.0, "min_new_tokens": 6}
    plain = Seq2SeqLM(base).eval()
    fancy = Seq2SeqLM(dataclasses.replace(base, generation=defaults)).eval()
    fancy.load_state_dict(plain.state_dict())

    class Tok(_Tok):
        eos_token_id, pad_token_id = 2, 1

    prompts = ["[CLM] abc", "[CLM] abcdefg", "[CLM] zz"]
    want = generate_texts(EncoderDecoder(plain, Tok()), prompts, max_new_tokens=8, stop=[])
    assert generate_texts(EncoderDecoder(fancy, Tok()), prompts, max_new_tokens=8, stop=[]) == want
    lm = EncoderDecoder(fancy, Tok())
    ids = lm.pad([lm.source_ids(p) for p in prompts], lm.pad_id)
    searched = fancy.generate(*ids, max_new_tokens=8)  # the defaults do change this model's output
    assert [lm.tok.decode(r[1:]) for r in searched.tolist()] != want

    model, hlm = hf_lm
    want = generate_texts(hlm, prompts, max_new_tokens=8, stop=[])
    old = model.generation_config
    model.generation_config = type(old)(
        **{**old.to_dict(), "num_beams": 3, "no_repeat_ngram_size": 1, "min_length": 7}
    )
    try:
        assert generate_texts(hlm, prompts, max_new_tokens=8, stop=[]) == want
    finally:
        model.generation_config = old


#: the corpus of the whitespace-keeping tokenizer of `tiny_tandem_lm` (conftest) in the tests below
_LINES = [
    f"The {a} {b} sat on the {c} mat. Is it {c}? Answer: {'yes' if (a + b) < c else 'no'}"
    for a in ("big", "small", "red", "old")
    for b in ("cat", "dog")
    for c in ("blue", "green")
]


def test_choices_are_tokenized_in_the_context_of_their_prompt(tiny_tandem_lm):
    # The causal-LM objective splits a document's tokens between encoder and decoder, so after "Answer:" the
    # decoder continues with the tokens " yes" has INSIDE "...Answer: yes" (as in the demonstrations). Encoded
    # alone, a whitespace-keeping SentencePiece model turns the choice's leading space plus its dummy prefix
    # into an extra lone "▁" token that the model never sees there; rank scoring scored that.
    from tandem.prompting.lm import EncoderDecoder
    from tandem.prompting.scoring import continuation_ids, rank_choices

    tok, model = tiny_tandem_lm(_LINES, 40, max_positions=128)
    lm = EncoderDecoder(model, tok)
    query = "The big cat sat on the blue mat. Is it blue? Answer:"
    prompt = "[CLM] The old dog sat on the green mat. Is it green? Answer: yes; " + query
    body = prompt[len("[CLM] ") :]
    in_context = {c: tok.encode(body + c)[len(tok.encode(body)) :] for c in (" yes", " no")}
    assert tok.encode(" yes") != in_context[" yes"]  # the case under test: alone it is one token longer
    res = rank_choices(lm, [prompt], [[" yes", " no"]])[0]
    src = lm.source_ids(prompt)
    for c, s in zip((" yes", " no"), res.raw):
        assert s.num_tokens == len(in_context[c])
        assert s.logprob == pytest.approx(_brute(model, src, in_context[c]), abs=1e-4)
    assert continuation_ids(lm, " yes", prompt) == in_context[" yes"]
    assert continuation_ids(lm, " yes") == tok.encode(" yes")  # no context: alone
    # calibration subtracts the score of the same ids after the unconditional prompt
    cal = rank_choices(
        lm, [prompt], [[" yes", " no"]], normalization="calibrated", unconditional_prompt="[CLM]"
    )
    usrc = lm.source_ids("[CLM]")
    for c, s, r in zip((" yes", " no"), cal[0].scores, res.raw):
        assert s == pytest.approx(r.logprob - _brute(model, usrc, in_context[c]), abs=1e-4)


def test_generation_batch_size_below_one_still_generates(tiny_tandem_lm):
    # batch_size 0 stepped through the prompts one at a time but sliced empty batches: every answer was ""
    from tandem.prompting.generation import generate_texts
    from tandem.prompting.lm import EncoderDecoder

    tok, model = tiny_tandem_lm(_LINES, 40, max_positions=128)
    lm = EncoderDecoder(model, tok)
    prompts = ["[CLM] The big cat sat on the", "[CLM] Is it blue? Answer:"]
    want = generate_texts(lm, prompts, max_new_tokens=6, stop=[], batch_size=1)
    assert all(want)  # the random model writes something (EOS cannot win in 6 tokens here)
    assert generate_texts(lm, prompts, max_new_tokens=6, stop=[], batch_size=0) == want


def test_generation_uses_every_decoder_position(tiny_tandem_lm):
    # A decoder with P learned positions reads the start token and P - 1 new tokens, so it writes P new
    # tokens (as model.generate and the lm-eval bridge allow); generate_texts stopped one short, at P - 1.
    from tandem.prompting.generation import generate_texts
    from tandem.prompting.lm import EncoderDecoder

    tok, model = tiny_tandem_lm(_LINES, 40, max_positions=16)
    lm = EncoderDecoder(model, tok)
    prompt = "[CLM] The big cat"
    ids = lm.pad([lm.source_ids(prompt)], lm.pad_id)
    full = model.generate(*ids, max_new_tokens=16)[0, 1:].tolist()
    assert len(full) == 16 and tok.eos_id not in full
    assert generate_texts(lm, [prompt], max_new_tokens=100, stop=[]) == [tok.decode(full).strip()]


def test_clm_prefix_without_a_clm_token_is_left_out_with_one_warning(shared_fixtures):
    # The AlexaTM-format test tokenizer has no [CLM] piece: an AlexaTM model would silently read "[CLM] "
    # prompts in denoising mode. The prefix is still left out (T5/BART never had the token), but said once.
    import warnings

    from tandem.model import Seq2SeqLM
    from tandem.prompting.lm import EncoderDecoder
    from tandem.tokenizer import Tokenizer

    fx = shared_fixtures / "alexatm-tiny"
    tok = Tokenizer.load(fx / "alexatm-format-spm.model")
    assert tok.clm_id is None  # the case under test
    lm = EncoderDecoder(Seq2SeqLM.from_pretrained(fx), tok)
    with pytest.warns(UserWarning, match=r"no \[CLM\] token.*--no-clm-prefix"):
        ids = lm.source_ids("[CLM] is it")
    assert ids == lm.source_ids("is it") == tok.encode("is it") + [lm.eos_id]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lm.source_ids("[CLM] tea")  # once per model view, not once per prompt


def test_newline_stop_also_stops_at_the_tokenizers_newline_replacement():
    # An AlexaTM-style tokenizer cannot represent "\n" and encodes it as "<br>": a newline-delimited prompt
    # reaches the model with "<br>" and the model writes "<br>" back, which decodes as "<br>", never "\n".
    # A "\n" stop string (FLORES' own, or --delimiter newline) then never fired.
    from _br_tokenizer import br_model
    from tandem.prompting.generation import generate_texts
    from tandem.prompting.lm import EncoderDecoder

    tok, model = br_model()
    lm = EncoderDecoder(model, tok)
    prompts = ["the big cat sat\nanswer yes\nthe red dog sat"]
    assert tok.decode(
        model.generate(*lm.pad([lm.source_ids(prompts[0])], lm.pad_id), max_new_tokens=3)[0]
    ) == ("<br><br><br>")
    assert generate_texts(lm, prompts, max_new_tokens=3, stop=["\n"]) == [""]
    assert generate_texts(lm, prompts, max_new_tokens=3, stop=[";"]) == ["<br><br><br>"]  # no newline stop


def test_an_example_without_choices_is_a_named_error(tmp_path, tiny_tandem_lm):
    # A ReCoRD row whose passage lists no entities has nothing to rank: the run ended, after scoring every
    # other example, in a bare "max() arg is an empty sequence" from RankResult.prediction.
    import json

    from tandem.evaluation.runner import run_task
    from tandem.evaluation.tasks import get_task
    from tandem.prompting.lm import EncoderDecoder
    from tandem.prompting.scoring import rank_choices

    tok, model = tiny_tandem_lm(_LINES, 40, max_positions=256)
    lm = EncoderDecoder(model, tok)
    with pytest.raises(TandemError, match="prompt 1 has no choices"):
        rank_choices(lm, ["The big cat sat. Answer:", "Is it blue? Answer:"], [[" yes", " no"], []])
    rows = [
        {"passage": "The big cat sat.", "query": "The @placeholder sat.", "entities": ["cat", "dog"],
         "answers": ["cat"], "idx": {"passage": 0, "query": 0}},
        {"passage": "The big dog sat.", "query": "The @placeholder sat.", "entities": [], "answers": ["dog"],
         "idx": {"passage": 1, "query": 0}},
    ]  # fmt: skip
    path = tmp_path / "record.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    task, explicit = get_task(f"record={path}")
    with pytest.raises(TandemError, match=r"example '1-0' in .*record\.jsonl has no choices"):
        run_task(lm, task, tmp_path, explicit)


def test_rank_scores_of_the_alexatm_fixture_match_the_reference_code(shared_fixtures):
    # Parity with the released AlexaTM code, not with our own forward: each continuation's summed
    # log-probability from the reference logits, for every batch size (padding must not move a score).
    from safetensors.torch import load_file

    from tandem.model import Seq2SeqLM
    from tandem.prompting.lm import EncoderDecoder
    from tandem.prompting.scoring import score_continuations
    from tandem.tokenizer import Tokenizer

    fx = shared_fixtures / "alexatm-tiny"
    ref = load_file(str(fx / "reference_outputs.safetensors"))
    lm = EncoderDecoder(Seq2SeqLM.from_pretrained(fx), Tokenizer.load(fx / "alexatm-format-spm.model"))
    logp = torch.log_softmax(ref["logits"].double(), -1)
    srcs, conts, want = [], [], []
    for i in range(ref["input_ids"].shape[0]):
        n = int(ref["attention_mask"][i].sum())
        srcs.append(ref["input_ids"][i, :n].tolist())
        dec = ref["decoder_input_ids"][i].tolist()
        assert dec[0] == lm.start_id  # the decoder start the reference used is the one we prepend
        cs = [dec[1 : t + 1] for t in (1, 3, len(dec) - 1)] + [
            dec[1:4] + [dec[5]]
        ]  # shared prefixes, a branch
        conts.append(cs)
        want.append([sum(logp[i, j, c[j]].item() for j in range(len(c))) for c in cs])
    for bs in (1, 2, 3):
        got = score_continuations(lm, srcs, conts, batch_size=bs)
        for g_row, w_row in zip(got, want):
            assert [g.logprob for g in g_row] == pytest.approx(w_row, abs=1e-4)


def _forced_mbart50(tmp_path):
    """A tiny random mBART-50-like HF model whose decoding forces a first token (a target-language code),
    and its tandem conversion."""
    transformers = pytest.importorskip("transformers")
    from _hf_tiny import TINY_BART_DIMS
    from tandem.model import Seq2SeqLM

    torch.manual_seed(0)
    cfg = transformers.MBartConfig(
        vocab_size=96, **TINY_BART_DIMS, scale_embedding=True, dropout=0.0, attention_dropout=0.0,
        activation_dropout=0.0, init_std=0.1, decoder_start_token_id=2,
    )  # fmt: skip
    hf = transformers.MBartForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        hf.final_logits_bias.normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
    hf.generation_config.forced_bos_token_id = 90  # mBART-50: the target language's code
    hf.save_pretrained(str(tmp_path / "hf"))
    model = Seq2SeqLM.from_pretrained(tmp_path / "hf").eval()
    assert model.config.generation["forced_bos_token_id"] == 90
    return hf, model


def _forced_reference(hf, src, cont, prefix):
    """Summed log-probs of `cont` from transformers, its decoder reading `prefix + cont[:-1]`, and whether every
    token of it is the argmax."""
    dec = torch.tensor([[*prefix, *cont[:-1]]])
    with torch.no_grad():
        logits = hf(input_ids=torch.tensor([src]), decoder_input_ids=dec).logits[0, len(prefix) - 1 :].float()
    lp = torch.log_softmax(logits, -1).gather(1, torch.tensor(cont)[:, None]).sum().item()
    return lp, bool((logits.argmax(-1) == torch.tensor(cont)).all())


def test_scoring_puts_a_forced_first_token_first(tmp_path):
    """A model whose decoding forces a first token (mBART-50's target-language code) generates, and is
    fine-tuned, with `[start, forced, ...]`: choices are scored after the forced token (not scored itself),
    on the prefix-tree path (tandem), the row path (tandem and HF models) and with the lm-eval opt-out not."""
    from tandem.prompting.lm import EncoderDecoder
    from tandem.prompting.scoring import score_continuations

    hf, model = _forced_mbart50(tmp_path)
    g = torch.Generator().manual_seed(2)
    srcs = [torch.randint(4, 90, (n,), generator=g).tolist() + [2, 91] for n in (7, 3, 11)]
    # shared prefixes (a branching tree), a single choice (a chain), a one-token choice
    conts = [[[10, 11, 12], [10, 11, 13], [14]], [[20, 21, 22, 23]], [[30], [31, 30], [30, 32]]]
    tandem_lm, hf_lm = EncoderDecoder(model, _Tok()), EncoderDecoder(hf, _Tok())
    assert tandem_lm.prefix == hf_lm.prefix == [2, 90]
    want = [[_forced_reference(hf, s, c, [2, 90]) for c in cs] for s, cs in zip(srcs, conts)]
    for lm in (tandem_lm, hf_lm):  # tandem: prefix trees; HF: one row per choice
        got = score_continuations(lm, srcs, conts, batch_size=2)
        for cs, rs, ws in zip(conts, got, want):
            assert [r.num_tokens for r in rs] == [len(c) for c in cs]
            assert [r.logprob for r in rs] == pytest.approx([w[0] for w in ws], abs=1e-4)
            assert [r.is_greedy for r in rs] == [w[1] for w in ws]
    # tandem's row path
    flat = [(i, j) for i, cs in enumerate(conts) for j in range(len(cs))]
    memory = tandem_lm.encode([srcs]).rows(torch.tensor([i for i, _ in flat]))
    sums, greedy = tandem_lm.score_rows(memory, [conts[i][j] for i, j in flat])
    assert sums.tolist() == pytest.approx([want[i][j][0] for i, j in flat], abs=1e-4)
    assert greedy.tolist() == [want[i][j][1] for i, j in flat]
    # opted out (the lm-eval bridge, as lm-eval's `hf`): right after the start token, whatever is forced
    for lm in (
        EncoderDecoder(model, _Tok(), forced_first=False),
        EncoderDecoder(hf, _Tok(), forced_first=False),
    ):
        assert lm.prefix == [2]
        got = score_continuations(lm, srcs, conts, batch_size=2)
        for s, cs, rs in zip(srcs, conts, got):
            ref = [_forced_reference(hf, s, c, [2])[0] for c in cs]
            assert [r.logprob for r in rs] == pytest.approx(ref, abs=1e-4)
