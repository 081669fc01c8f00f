"""Hugging Face generation settings: forced BOS/EOS, no-repeat n-grams, repetition penalty, and the decoding
defaults a checkpoint's generation_config.json (or config.json) carries, token-identical to `transformers`'
generate() on tiny random BART/mBART models with padded batches."""

from __future__ import annotations

import json
import re

import pytest
import torch

from _hf_tiny import TINY_BART_DIMS
from tandem import Seq2SeqLM
from tandem.cli import main
from tandem.errors import TandemError
from tandem.interop import to_hf
from tandem.interop.hf import generation_from_hf, generation_to_hf
from tandem.model import Ensemble

transformers = pytest.importorskip("transformers")

V, EOS, PAD, LOOP = 96, 2, 1, 30  # LOOP: a token the models favour, so limits, bans and penalties matter

# what a summarisation checkpoint's generation_config.json says (bart-large-cnn's, scaled down)
HUB_DEFAULTS = dict(
    max_length=14,
    min_length=5,
    num_beams=4,
    length_penalty=2.0,
    early_stopping=True,
    no_repeat_ngram_size=3,
    repetition_penalty=1.3,
    forced_bos_token_id=7,
    forced_eos_token_id=EOS,
)


def _hf_model(kind: str, seed: int = 0, **generation):
    torch.manual_seed(seed)
    mbart = kind == "mbart"
    cls = transformers.MBartConfig if mbart else transformers.BartConfig
    cfg = cls(
        vocab_size=V,
        **TINY_BART_DIMS,
        scale_embedding=mbart,
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        init_std=0.1,  # larger than the 0.02 default, so each input gets its own outputs
    )
    model_cls = (
        transformers.MBartForConditionalGeneration if mbart else transformers.BartForConditionalGeneration
    )
    model = model_cls(cfg).eval()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(torch.randn(p.shape, generator=g) * 0.2)
        model.final_logits_bias.normal_(0, 0.1, generator=g)
        model.final_logits_bias[0, LOOP] += 1.0
        model.final_logits_bias[0, EOS] += 0.5
    model.generation_config.forced_eos_token_id = None  # BartConfig's default 2 unless a test sets it
    for k, v in generation.items():
        setattr(model.generation_config, k, v)
    return model


def _batch():
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(3, V, (3, 11), generator=g)
    mask = torch.ones_like(ids)
    for row, n in ((1, 7), (2, 4)):  # right padding
        ids[row, n:] = PAD
        mask[row, n:] = 0
    ids[ids == EOS] = 5
    return ids, mask


def _both(hf, ours, **kw):
    ids, mask = _batch()
    with torch.no_grad():
        ref = hf.generate(input_ids=ids, attention_mask=mask, **kw)
    return ours.generate(ids, attention_mask=mask, **kw).tolist(), ref.tolist()


@pytest.fixture(scope="module", params=["bart", "mbart"])
def hub(request, tmp_path_factory):
    """(kind, HF model with HUB_DEFAULTS in its generation config, the tandem model loaded from its directory)."""
    hf = _hf_model(request.param, **HUB_DEFAULTS)
    d = tmp_path_factory.mktemp(f"hub-{request.param}")
    hf.save_pretrained(d)
    return request.param, hf, Seq2SeqLM.from_pretrained(d), d


def test_checkpoint_defaults_are_read_with_lengths_mapped(hub):
    _, _, ours, _ = hub
    want = {k: v for k, v in HUB_DEFAULTS.items() if k not in ("max_length", "min_length")}
    # max_length and min_length count the decoder start token
    # top_k: transformers' 50 when the checkpoint leaves it unset
    assert ours.config.generation == {**want, "max_new_tokens": 13, "min_new_tokens": 4, "top_k": 50}


def test_checkpoint_defaults_give_hf_outputs(hub):
    # no options at all: both sides decode with the checkpoint's beam search, lengths, penalties, forcing
    _, hf, ours, _ = hub
    got, ref = _both(hf, ours)
    assert got == ref
    assert all(row[1] == 7 for row in ref)  # forced BOS


@pytest.mark.parametrize(
    "kw",
    [
        dict(num_beams=1, max_new_tokens=12),
        dict(num_beams=1, max_new_tokens=9, min_new_tokens=0, repetition_penalty=0.8),
        dict(num_beams=4, max_new_tokens=12, num_return_sequences=2, length_penalty=0.6),
        dict(
            num_beams=4, max_new_tokens=10, num_return_sequences=2, length_penalty=1.5, early_stopping=False
        ),
        dict(num_beams=3, max_new_tokens=10, no_repeat_ngram_size=2, early_stopping="never"),
    ],
    ids=["greedy", "greedy-penalty<1", "beam4-ret2-lp0.6", "beam4-ret2-lp1.5", "beam3-ngram2-never"],
)
def test_call_options_over_checkpoint_defaults_give_hf_outputs(hub, kw):
    _, hf, ours, _ = hub
    got, ref = _both(hf, ours, **kw)
    assert got == ref


@pytest.mark.parametrize("kind", ["bart", "mbart"])
@pytest.mark.parametrize("num_beams", [1, 4])
def test_library_options_without_checkpoint_defaults_give_hf_outputs(tmp_path, kind, num_beams):
    hf = _hf_model(kind, seed=5)
    hf.save_pretrained(tmp_path)
    ours = Seq2SeqLM.from_pretrained(tmp_path)
    assert ours.config.generation == {"top_k": 50}
    kw = dict(
        max_new_tokens=11,
        num_beams=num_beams,
        num_return_sequences=2 if num_beams > 1 else 1,
        length_penalty=0.8,
        min_new_tokens=3,
        forced_bos_token_id=9,
        forced_eos_token_id=EOS,
        no_repeat_ngram_size=3,
        repetition_penalty=1.25,
    )
    got, ref = _both(hf, ours, **kw)
    assert got == ref
    plain, plain_ref = _both(hf, ours, max_new_tokens=11, num_beams=num_beams)
    assert plain == plain_ref and plain != got  # the options change the output, on both sides alike


@pytest.mark.parametrize("num_beams", [1, 4])
def test_forced_eos_ends_a_row_that_reaches_the_limit(tmp_path, num_beams):
    # BartConfig's default forced_eos_token_id=2: a row cut by the length limit ends with EOS in transformers
    # ([2, 30, ..., 30, 2]), where ignoring it gives [2, 30, ..., 30, 30]
    hf = _hf_model("bart", seed=0, forced_eos_token_id=EOS)
    with torch.no_grad():
        hf.final_logits_bias[0, LOOP] += 6.0  # every row repeats LOOP until the limit
    hf.save_pretrained(tmp_path)
    ours = Seq2SeqLM.from_pretrained(tmp_path)
    assert ours.config.generation == {"forced_eos_token_id": EOS, "top_k": 50}
    got, ref = _both(hf, ours, max_new_tokens=8, num_beams=num_beams)
    assert got == ref
    assert ref[0] == [EOS] + [LOOP] * 7 + [EOS]
    ids, mask = _batch()
    unforced = ours.generate(ids, attention_mask=mask, max_new_tokens=8, forced_eos_token_id=None)
    assert unforced[0].tolist() == [EOS] + [LOOP] * 8


def test_generation_keys_in_config_json_are_used_without_generation_config(tmp_path):
    # older hub checkpoints keep num_beams, max_length... in config.json; transformers falls back to them
    hf = _hf_model("bart", seed=2)
    hf.save_pretrained(tmp_path)
    (tmp_path / "generation_config.json").unlink()
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg.update(HUB_DEFAULTS)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    ours = Seq2SeqLM.from_pretrained(tmp_path)
    assert ours.config.generation["max_new_tokens"] == 13 and ours.config.generation["num_beams"] == 4
    again = transformers.BartForConditionalGeneration.from_pretrained(tmp_path).eval()
    assert again.generation_config.no_repeat_ngram_size == 3  # transformers read them too
    got, ref = _both(again, ours)
    assert got == ref


def test_convert_round_trips_keep_the_defaults(hub, tmp_path, capsys):
    kind, hf, ours, d = hub
    assert main(["convert", str(d), "--to", "tandem", "--out", str(tmp_path / "t")]) == 0
    assert json.loads((tmp_path / "t" / "config.json").read_text())["generation"] == ours.config.generation
    back = Seq2SeqLM.from_pretrained(tmp_path / "t")
    assert back.config.generation == ours.config.generation
    assert main(["convert", str(tmp_path / "t"), "--to", "hf", "--out", str(tmp_path / "h")]) == 0
    written = json.loads((tmp_path / "h" / "generation_config.json").read_text())
    assert {k: written[k] for k in HUB_DEFAULTS} == HUB_DEFAULTS
    exported = transformers.AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "h").eval()
    got, ref = _both(hf, Seq2SeqLM.from_pretrained(tmp_path / "h"))
    assert got == ref
    ids, mask = _batch()
    with torch.no_grad():
        assert exported.generate(input_ids=ids, attention_mask=mask).tolist() == ref


def test_tandem_model_without_defaults_writes_the_config_it_always_wrote(tmp_path):
    hf = _hf_model("mbart", seed=4)
    hf.save_pretrained(tmp_path / "hf")
    ours = Seq2SeqLM.from_pretrained(tmp_path / "hf")
    assert ours.config.generation == {"top_k": 50}  # transformers' default, kept for the converted model
    ours.config.generation = {}  # as tandem's own models have it
    ours.save_pretrained(tmp_path / "t")
    assert "generation" not in json.loads((tmp_path / "t" / "config.json").read_text())


def test_ensemble_applies_the_rules_and_the_first_members_defaults(hub, tmp_path):
    kind, _, ours, d = hub
    other = _hf_model(kind, seed=7)
    other.save_pretrained(tmp_path)
    ens = Ensemble([ours, Seq2SeqLM.from_pretrained(tmp_path)])
    ids, mask = _batch()
    for kw in (
        dict(num_beams=1),
        dict(num_beams=4, num_return_sequences=2),
        dict(num_beams=1, do_sample=True, top_k=0, generator=torch.Generator().manual_seed(0)),
    ):
        out = ens.generate(ids, attention_mask=mask, max_new_tokens=10, min_new_tokens=0, **kw).tolist()
        for row in out:
            assert row[1] == 7  # forced BOS (the first member's default)
            body = row[1:]
            n = body.index(EOS) + 1 if EOS in body else len(body)
            assert n == len(body) or all(t == PAD for t in body[n:])
            assert len(body) < 10 or body[9] == EOS  # at the limit: forced EOS
            seq = row[: 1 + n]
            trigrams = list(zip(seq, seq[1:], seq[2:]))
            assert len(trigrams) == len(set(trigrams))  # no_repeat_ngram_size 3


def test_sampling_keeps_the_forced_tokens_and_the_ngram_ban(hub):
    _, _, ours, _ = hub
    ids, mask = _batch()
    g = torch.Generator().manual_seed(1)
    out = ours.generate(
        ids, attention_mask=mask, do_sample=True, num_beams=1, max_new_tokens=9, min_new_tokens=0, generator=g
    )
    for row in out.tolist():
        assert row[1] == 7
        if EOS not in row[1:-1]:
            assert row[-1] == EOS
        trigrams = [t for t in zip(row, row[1:], row[2:]) if PAD not in t]
        assert len(trigrams) == len(set(trigrams))


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(no_repeat_ngram_size=-1), "no_repeat_ngram_size must be at least 0"),
        (dict(no_repeat_ngram_size=2.5), "no_repeat_ngram_size must be a whole number"),
        (dict(repetition_penalty=0.0), "repetition_penalty must be a finite number > 0"),
        (dict(repetition_penalty=float("inf")), "repetition_penalty must be a finite number > 0"),
        (dict(forced_bos_token_id=V), rf"forced_bos_token_id must be None or a token id in \[0, {V}\)"),
        (dict(forced_eos_token_id=-3), "forced_eos_token_id must be None or a token id"),
        (dict(length_penalty=float("nan")), "length_penalty must be a finite number"),
    ],
)
def test_bad_new_settings_are_clear_errors(hub, bad, message):
    _, _, ours, _ = hub
    with pytest.raises(TandemError, match=message):
        ours.generate(torch.tensor([[5, 6, 2]]), **{"max_new_tokens": 3, **bad})


def test_bad_checkpoint_defaults_are_errors_naming_the_directory(tmp_path):
    hf = _hf_model("bart", seed=2)
    hf.save_pretrained(tmp_path)
    gen = json.loads((tmp_path / "generation_config.json").read_text())
    (tmp_path / "generation_config.json").write_text(json.dumps({**gen, "no_repeat_ngram_size": -2}))
    with pytest.raises(TandemError, match=f"{tmp_path}.*no_repeat_ngram_size must be at least 0"):
        Seq2SeqLM.from_pretrained(tmp_path)


def test_settings_tandem_does_not_apply_are_named_in_a_warning(tmp_path):
    hf = _hf_model("bart", seed=2)
    hf.save_pretrained(tmp_path)
    gen = json.loads((tmp_path / "generation_config.json").read_text())
    gen.update(num_beam_groups=2, diversity_penalty=0.5, typical_p=1.0)
    (tmp_path / "generation_config.json").write_text(json.dumps(gen))
    with pytest.warns(UserWarning, match=r"\['diversity_penalty', 'num_beam_groups'\]"):
        Seq2SeqLM.from_pretrained(tmp_path)


@pytest.mark.parametrize("where", ["generation_config.json", "config.json"])
def test_several_eos_ids_end_at_the_first_with_a_warning(tmp_path, where):
    # transformers' generate() stops at any id of an eos_token_id list; tandem decodes with one EOS id, so
    # a list must neither break loading (config.json: it did, with a raw TypeError) nor be dropped silently
    # (generation_config.json: it was, and outputs ran past the other ids)
    hf = _hf_model("bart", seed=2)
    hf.save_pretrained(tmp_path)
    if where == "config.json":  # without generation_config.json, transformers reads config.json's ids
        (tmp_path / "generation_config.json").unlink()
    path = tmp_path / where
    data = json.loads(path.read_text())
    data["eos_token_id"] = [EOS, LOOP]
    path.write_text(json.dumps(data))
    with pytest.warns(
        UserWarning, match=rf"{where}: eos_token_id \[{EOS}, {LOOP}\]: tandem ends a sequence at one id"
    ):
        ours = Seq2SeqLM.from_pretrained(tmp_path)
    assert ours.config.eos_token_id == EOS
    one = tmp_path / "one"
    hf.save_pretrained(one)
    gen = json.loads((one / "generation_config.json").read_text())
    (one / "generation_config.json").write_text(json.dumps({**gen, "eos_token_id": [LOOP]}))
    assert Seq2SeqLM.from_pretrained(one).config.eos_token_id == LOOP  # a one-id list is that id


def test_length_mapping_both_ways():
    ours, ignored = generation_from_hf(
        {"max_length": 142, "min_length": 56, "do_sample": True, "top_k": None}
    )
    assert ours == {"max_new_tokens": 141, "min_new_tokens": 55, "do_sample": True, "top_k": 50}
    assert not ignored
    assert generation_from_hf({"max_length": 20, "max_new_tokens": 5, "min_length": 0})[0] == {
        "max_new_tokens": 5,
        "min_new_tokens": 0,
        "top_k": 50,
    }
    assert generation_to_hf({"max_new_tokens": 141, "min_new_tokens": 55}) == {
        "max_length": 142,
        "min_length": 56,
        "top_k": 0,
    }
    assert generation_to_hf({"min_new_tokens": 0, "do_sample": True}) == {
        "min_length": 0,
        "do_sample": True,
        "top_k": 0,
    }


def test_explicit_export_writes_forced_eos_into_both_files(hub, tmp_path):
    _, _, ours, _ = hub
    to_hf(ours, tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["forced_eos_token_id"] == EOS
    assert json.loads((tmp_path / "generation_config.json").read_text())["forced_eos_token_id"] == EOS


_WORDS = "set an alarm timer for six seven eight nine am pm tonight in the kitchen play some jazz music"
_SENTENCES = [" ".join(_WORDS.split()[(i * 7 + j * 3) % 19] for j in range(3 + i % 6)) for i in range(300)]


def _cli_out(argv, capsys) -> str:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])["output"]


@pytest.mark.filterwarnings("ignore:token id .* is past this tokenizer's pieces")
def test_cli_uses_the_checkpoint_defaults_and_the_new_flags(hub, tmp_path, capsys):
    from tandem.tokenizer import Tokenizer

    kind, _, ours, d = hub
    tok = Tokenizer.train(iter(_SENTENCES), vocab_size=48, byte_fallback=False)
    assert (tok.eos_id, tok.pad_id) == (EOS, PAD)
    model_dir = tmp_path / "m"
    ours.save_pretrained(model_dir, tokenizer=tok)
    prompt = "set an alarm for six am"
    ids = torch.tensor([tok.encode(prompt, add_eos=True)])

    def library(**kw):
        return tok.decode(ours.generate(ids, eos_token_id=tok.eos_id, **kw)[0, 1:].tolist())

    # no decoding flags: the checkpoint's beam search, lengths and forcing (and not tandem's 64 tokens)
    assert _cli_out(["generate", str(model_dir), "--prompt", prompt, "--json"], capsys) == library()
    flags = ["--num-beams", "1", "--max-new-tokens", "6", "--no-repeat-ngram-size", "2"]
    flags += ["--repetition-penalty", "1.5", "--forced-bos-token", "9", "--forced-eos-token", "none"]
    want = library(
        num_beams=1,
        max_new_tokens=6,
        no_repeat_ngram_size=2,
        repetition_penalty=1.5,
        forced_bos_token_id=9,
        forced_eos_token_id=None,
    )
    assert _cli_out(["generate", str(model_dir), "--prompt", prompt, "--json", *flags], capsys) == want
    piece = tok.id_to_token(9)
    flags[flags.index("9")] = piece  # a piece names the same token
    assert _cli_out(["generate", str(model_dir), "--prompt", prompt, "--json", *flags], capsys) == want
    assert main(["generate", str(model_dir), "--prompt", prompt, "--forced-bos-token", "no-such-piece"]) == 2
    assert "not an id and not a piece" in capsys.readouterr().err
    # --decoder-start-token: the decoder starts from another token, as transformers' decoder_start_token_id
    start = ["--decoder-start-token", tok.id_to_token(11), "--num-beams", "1", "--max-new-tokens", "6"]
    got = _cli_out(["generate", str(model_dir), "--prompt", prompt, "--json", *start], capsys)
    hf = hub[1].generate(ids, decoder_start_token_id=11, num_beams=1, max_new_tokens=6)
    assert got == tok.decode(hf[0, 1:].tolist())
    assert got == library(decoder_start_token_id=11, num_beams=1, max_new_tokens=6)
    assert hf[0, 0] == 11 != ours.config.decoder_start_token_id  # the flag changed the start
    assert main(["generate", str(model_dir), "--prompt", prompt, "--decoder-start-token", "99"]) == 2


def test_a_caller_sampling_or_pairing_rows_is_not_overridden_by_checkpoint_beams(hub):
    """Checkpoint beams do not turn a sampling call into an error, and a checkpoint's num_return_sequences
    never changes how many rows come back per input (callers pair outputs with inputs)."""
    _, _, ours, _ = hub
    ids, mask = _batch()
    saved = dict(ours.config.generation)
    try:
        ours.config.generation = {**saved, "num_beams": 4, "num_return_sequences": 2}
        out = ours.generate(
            ids, attention_mask=mask, do_sample=True, generator=torch.Generator().manual_seed(0)
        )
        assert out.shape[0] == ids.shape[0]
        assert ours.generate(ids, attention_mask=mask).shape[0] == ids.shape[0]  # beam 4, one row per input
        assert ours.generate(ids, attention_mask=mask, num_return_sequences=2).shape[0] == 2 * ids.shape[0]
    finally:
        ours.config.generation = saved


def test_checkpoint_num_return_sequences_is_named_in_a_warning(tmp_path):
    # transformers' generate() would return num_return_sequences rows per input; tandem deliberately keeps
    # one row per input (see the test above), so loading says so instead of differing silently
    hf = _hf_model("bart", seed=2, num_beams=4, num_return_sequences=2, max_length=8)
    hf.save_pretrained(tmp_path)
    with pytest.warns(
        UserWarning, match=r"generation_config\.json: num_return_sequences 2 is kept for export"
    ):
        ours = Seq2SeqLM.from_pretrained(tmp_path)
    ids, mask = _batch()
    with torch.no_grad():
        assert hf.generate(input_ids=ids, attention_mask=mask).shape[0] == 2 * ids.shape[0]
    assert ours.generate(ids, attention_mask=mask).shape[0] == ids.shape[0]
    assert ours.config.generation["num_return_sequences"] == 2  # written back by convert --to hf


@pytest.mark.parametrize(
    "kw",
    [
        dict(max_length=9, min_length=6),
        dict(max_length=9, min_length=6, num_beams=3),
        dict(max_length=30, max_new_tokens=7),  # max_new_tokens wins, as in transformers
        dict(min_length=1, max_length=2),  # min 1 counts only the start token; one new token
    ],
    ids=["greedy", "beam3", "max_new_tokens-wins", "shortest"],
)
def test_hf_max_length_and_min_length_count_the_start_token(tmp_path, kw):
    # transformers code passes max_length / min_length; they used to be a TypeError here
    hf = _hf_model("bart", seed=5)
    hf.save_pretrained(tmp_path)
    ours = Seq2SeqLM.from_pretrained(tmp_path)
    got, ref = _both(hf, ours, **kw)
    assert got == ref
    want_len = 1 + kw.get("max_new_tokens", kw["max_length"] - 1)
    assert max(len(row) for row in ref) <= want_len


def test_hf_options_tandem_does_not_apply_are_named_errors(hub):
    _, _, ours, _ = hub
    ids, mask = _batch()
    for kw in (dict(typical_p=0.5), dict(sequence_bias=[[[5], -1.0]]), dict(num_beam_groups=2)):
        with pytest.raises(TandemError, match=f"{next(iter(kw))}: transformers generate\\(\\) option"):
            ours.generate(ids, attention_mask=mask, **kw)
    # their "off" values are accepted, as transformers accepts them
    off = ours.generate(ids, attention_mask=mask, typical_p=1.0, sequence_bias=None, num_beams=1)
    assert off.tolist() == ours.generate(ids, attention_mask=mask, num_beams=1).tolist()
    with pytest.raises(TandemError, match="max_length must be a whole number >= 2"):
        ours.generate(ids, attention_mask=mask, max_length=1)


def test_greedy_num_return_sequences_is_refused_as_transformers_does(hub):
    # greedy search returned N identical copies of each row; transformers raises a ValueError
    _, hf, ours, _ = hub
    ids, mask = _batch()
    with pytest.raises(ValueError, match="num_return_sequences"):
        hf.generate(input_ids=ids, attention_mask=mask, num_beams=1, num_return_sequences=2)
    with pytest.raises(TandemError, match="num_return_sequences 2 with greedy search"):
        ours.generate(ids, attention_mask=mask, num_beams=1, num_return_sequences=2)
    sampled = ours.generate(
        ids, attention_mask=mask, num_beams=1, num_return_sequences=2, do_sample=True, max_new_tokens=4
    )
    assert sampled.shape[0] == 2 * ids.shape[0]


# ------------------------------------------------------------------ token bans and transformers' sampling default
def _hf_t5(seed: int = 0):
    torch.manual_seed(seed)
    cfg = transformers.T5Config(
        vocab_size=V,
        d_model=32,
        d_kv=8,
        d_ff=48,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        relative_attention_max_distance=20,
        dropout_rate=0.0,
        feed_forward_proj="relu",
        tie_word_embeddings=True,
    )
    model = transformers.T5ForConditionalGeneration(cfg).eval()
    model.generation_config.decoder_start_token_id = 0  # T5 starts decoding with its pad id 0
    return model


@pytest.fixture(scope="module", params=["bart", "t5"])
def plain(request, tmp_path_factory):
    """(HF model without generation defaults, the tandem model loaded from its directory, its EOS, pad and
    decoder start ids)."""
    hf = _hf_model("bart", seed=0) if request.param == "bart" else _hf_t5()
    d = tmp_path_factory.mktemp(f"plain-{request.param}")
    hf.save_pretrained(d)
    ours = Seq2SeqLM.from_pretrained(d)
    c = ours.config
    return hf, ours, c.eos_token_id, c.pad_token_id, c.decoder_start_token_id


@pytest.fixture(scope="module")
def plain_bart(plain):
    return plain[:2]


_BAN_KW = dict(max_new_tokens=10, min_new_tokens=6, no_repeat_ngram_size=2)  # long, varied rows


def _pair(rows: list[list[int]], skip) -> tuple[int, int]:
    """Two different tokens generated one after the other (past the start token), neither in `skip`."""
    for row in rows:
        body = row[1:]
        for a, b in zip(body, body[1:]):
            if a != b and a not in skip and b not in skip:
                return a, b
    raise AssertionError(f"no pair of generated tokens in {rows}")


@pytest.mark.parametrize("num_beams", [1, 4])
@pytest.mark.parametrize(
    "ban",
    [
        "bad-word-one",
        "bad-word-two",
        "bad-word-after-start",
        "bad-word-eos",
        "suppress",
        "begin",
        "begin-forced",
    ],
)
def test_token_bans_give_hf_outputs(plain, ban, num_beams):
    hf, ours, eos, pad, start = plain
    plain_out, plain_ref = _both(hf, ours, num_beams=num_beams, **_BAN_KW)
    assert plain_out == plain_ref
    a, b = _pair(plain_out, (eos, pad, start))
    first = plain_out[0][1]
    kw = {
        "bad-word-one": dict(bad_words_ids=[[b], [77, 78, 79]]),
        # a two-token bad word bans b only right after a
        "bad-word-two": dict(bad_words_ids=[[a, b]]),
        # transformers matches against the decoder input, start token included: banned at step 0 only
        "bad-word-after-start": dict(bad_words_ids=[[start, first]]),
        "bad-word-eos": dict(bad_words_ids=[[eos]], min_new_tokens=0),  # dropped, as transformers drops it
        "suppress": dict(suppress_tokens=[first, LOOP]),
        "begin": dict(begin_suppress_tokens=[first]),
        # after a forced first token, the tokens are suppressed at the second step
        "begin-forced": dict(begin_suppress_tokens=[first, 9], forced_bos_token_id=9),
    }[ban]
    got, ref = _both(hf, ours, num_beams=num_beams, **{**_BAN_KW, **kw})
    assert got == ref
    if ban != "bad-word-eos":
        assert got != plain_out  # the ban changed the output, on both sides alike
    if ban == "bad-word-two":
        assert not any((a, b) in set(zip(row, row[1:])) for row in got)


def test_bans_in_the_checkpoint_apply_and_none_turns_them_off_as_in_transformers(tmp_path):
    hf = _hf_model(
        "bart", seed=0, suppress_tokens=[LOOP], bad_words_ids=[[5, 6]], begin_suppress_tokens=[EOS]
    )
    hf.save_pretrained(tmp_path)
    ours = Seq2SeqLM.from_pretrained(tmp_path)
    bans = {"suppress_tokens": [LOOP], "bad_words_ids": [[5, 6]], "begin_suppress_tokens": [EOS]}
    assert {k: ours.config.generation[k] for k in bans} == bans
    got, ref = _both(hf, ours, max_new_tokens=8)
    assert got == ref and not any(LOOP in row for row in got)
    off = dict(max_new_tokens=8, suppress_tokens=None, bad_words_ids=None, begin_suppress_tokens=None)
    got_off, ref_off = _both(hf, ours, **off)
    assert got_off == ref_off and got_off != got
    # written back by convert --to hf
    assert {k: generation_to_hf(ours.config.generation)[k] for k in bans} == bans


@pytest.mark.parametrize(
    "kw",
    [dict(), dict(top_p=0.9, temperature=0.7), dict(bad_words_ids=[[LOOP, LOOP]], suppress_tokens=[7])],
    ids=["defaults", "top-p", "bans"],
)
def test_sampling_draws_as_transformers_does(plain_bart, kw):
    """One generator for the batch consumes randomness as transformers' sampler does (one multinomial
    draw per row and step), so with the same seed the same tokens come out; a model loaded from Hugging Face
    samples with transformers' top_k=50 unless told."""
    hf, ours = plain_bart
    ids, mask = _batch()
    torch.manual_seed(11)
    with torch.no_grad():
        ref = hf.generate(input_ids=ids, attention_mask=mask, do_sample=True, max_new_tokens=12, **kw)
    torch.manual_seed(11)
    got = ours.generate(ids, attention_mask=mask, do_sample=True, max_new_tokens=12, **kw)
    assert got.tolist() == ref.tolist()


@pytest.mark.parametrize("kind", ["bart", "t5"])
@pytest.mark.parametrize(
    "kw", [dict(), dict(do_sample=True), dict(num_beams=3)], ids=["greedy", "sample", "beam"]
)
def test_a_checkpoint_without_a_pad_token_pads_with_eos_as_transformers(tmp_path, kind, kw):
    # config "pad_token_id": null: transformers fills the rows that ended with EOS; tandem's greedy search
    # and sampling raised TypeError (full_like ... not NoneType)
    hf = _hf_model("bart", seed=0) if kind == "bart" else _hf_t5()
    with torch.no_grad():  # EOS more likely, so that rows end at different steps
        if kind == "bart":
            hf.final_logits_bias[0, EOS] += 1.0
        else:
            hf.lm_head.weight[hf.config.eos_token_id] *= 2.0
    hf.config.pad_token_id = hf.generation_config.pad_token_id = None
    hf.save_pretrained(tmp_path)
    ours = Seq2SeqLM.from_pretrained(tmp_path)
    assert ours.config.pad_token_id is None
    eos = ours.config.eos_token_id
    ids, mask = _batch()
    ids[ids == PAD] = 5  # a whole batch (the tokenizer pads with something; the mask says what)
    kw = dict(max_new_tokens=12, min_new_tokens=1, **kw)
    torch.manual_seed(0)
    with torch.no_grad():
        ref = hf.generate(input_ids=ids, attention_mask=mask, **kw).tolist()
    torch.manual_seed(0)
    assert ours.generate(ids, attention_mask=mask, **kw).tolist() == ref
    if "num_beams" not in kw:  # a row that ended before the others, filled with EOS
        assert any(eos in row[1:] and row.index(eos, 1) < len(row) - 1 for row in ref)


@pytest.mark.parametrize("num_beams", [1, 3])
def test_an_eos_list_of_one_id_ends_rows_as_transformers(plain_bart, num_beams):
    # transformers takes eos_token_id as a list; tandem compared a row's token with the list itself, so no
    # row ever ended: [2, 2, 2, 2, 2, 61] where transformers wrote [2, 2]
    hf, ours = plain_bart
    kw = dict(max_new_tokens=8, num_beams=num_beams)
    for eos in ([EOS], (EOS,), [EOS, EOS]):
        got, ref = _both(hf, ours, eos_token_id=eos, **kw)
        assert got == ref == _both(hf, ours, eos_token_id=EOS, **kw)[1]
    with pytest.raises(TandemError, match=r"eos_token_id \[2, 30\]: tandem ends a sequence at one id"):
        ours.generate(torch.tensor([[5, 6, 2]]), eos_token_id=[EOS, LOOP], **kw)


@pytest.mark.parametrize("top_p", [0.3, 1e-300])
def test_top_p_keeps_transformers_token_of_two_tied_ones(tmp_path, top_p):
    """Two tokens with the same logit (frequent in bf16/fp16 logits), each with about half the mass: a top_p
    below one half keeps one of them, and it must be transformers' one for a seeded draw to give its tokens
    (a descending sort kept the other: [2, 40, 41, 41, ...] where transformers wrote [2, 41, 41, 41, ...])."""
    hf = _hf_model("bart", seed=0)
    with torch.no_grad():
        hf.model.shared.weight[41] = hf.model.shared.weight[40]  # tied embeddings: the same LM-head row
        hf.final_logits_bias[0, 40:42] = 8.0
    hf.save_pretrained(tmp_path)
    ours = Seq2SeqLM.from_pretrained(tmp_path)
    ids, mask = _batch()
    kw = dict(do_sample=True, top_p=top_p, max_new_tokens=6)
    torch.manual_seed(0)
    with torch.no_grad():
        ref = hf.generate(input_ids=ids, attention_mask=mask, **kw)
    torch.manual_seed(0)
    got = ours.generate(ids, attention_mask=mask, **kw)
    assert got.tolist() == ref.tolist()
    assert set(ref[:, 1:].flatten().tolist()) == {40, 41}


def test_a_hf_model_samples_with_transformers_top_k_50(plain):
    # the distribution itself: tandem's own default (0) keeps all tokens, a HF model's keeps the 50 best
    hf, ours, *_ = plain
    assert ours.config.generation == {"top_k": 50}
    ids, mask = _batch()
    start = torch.full((3, 1), ours.config.decoder_start_token_id)
    with torch.no_grad():
        first = hf(input_ids=ids, attention_mask=mask, decoder_input_ids=start).logits[:, -1]
    top50 = first.topk(50, -1).indices.tolist()
    g = [torch.Generator().manual_seed(i) for i in range(3)]
    drawn = [
        ours.generate(
            ids, attention_mask=mask, do_sample=True, max_new_tokens=1, temperature=50.0, generator=g
        )
        for _ in range(40)
    ]
    for row in range(3):  # near-uniform over the 50 best: every draw among them, and many of them drawn
        seen = {int(out[row, 1]) for out in drawn}
        assert seen <= set(top50[row]) and len(seen) > 15, row


@pytest.mark.parametrize(
    "bad, message",
    [
        (
            dict(bad_words_ids=[[5, V]]),
            rf"bad_words_ids must be None or a list of non-empty lists of token ids in \[0, {V}\)",
        ),
        (dict(bad_words_ids=[[]]), "bad_words_ids must be None or a list of non-empty lists"),
        (dict(bad_words_ids=[5]), "bad_words_ids must be None or a list of non-empty lists"),
        (dict(suppress_tokens=[-1]), rf"suppress_tokens must be None or a list of token ids in \[0, {V}\)"),
        (dict(begin_suppress_tokens=5), "begin_suppress_tokens must be None or a list of token ids"),
        (dict(suppress_tokens=[7], forced_bos_token_id=7), "forced_bos_token_id 7 is in suppress_tokens"),
    ],
)
def test_bad_token_bans_are_clear_errors(plain_bart, bad, message):
    _, ours = plain_bart
    with pytest.raises(TandemError, match=message):
        ours.generate(torch.tensor([[5, 6, 2]]), **{"max_new_tokens": 3, **bad})


@pytest.mark.filterwarnings("ignore:token id .* is past this tokenizer's pieces")
@pytest.mark.parametrize("plain", ["bart"], indirect=True)  # the trained tokenizer has BART's special ids
def test_cli_token_ban_flags(plain, tmp_path, capsys):
    from tandem.tokenizer import Tokenizer

    _, ours, *_ = plain
    tok = Tokenizer.train(iter(_SENTENCES), vocab_size=48, byte_fallback=False)
    model_dir = tmp_path / "m"
    ours.save_pretrained(model_dir, tokenizer=tok)
    prompt = "set an alarm for six am"
    ids = torch.tensor([tok.encode(prompt, add_eos=True)])
    base = dict(max_new_tokens=8, min_new_tokens=4, no_repeat_ngram_size=2)

    def library(**kw):
        return tok.decode(ours.generate(ids, eos_token_id=tok.eos_id, **base, **kw)[0, 1:].tolist())

    def cli(*flags):
        argv = ["generate", str(model_dir), "--prompt", prompt, "--json", "--max-new-tokens", "8"]
        return _cli_out([*argv, "--min-new-tokens", "4", "--no-repeat-ngram-size", "2", *flags], capsys)

    row = ours.generate(ids, eos_token_id=tok.eos_id, **base)[0, 1:].tolist()
    a, b = _pair([[0, *row]], (EOS, PAD))
    piece = tok.id_to_token(9)  # a piece names the same token as its id
    want = library(bad_words_ids=[[a, b]], suppress_tokens=[row[0], 9], begin_suppress_tokens=[11])
    assert want != library()
    flags = ["--bad-words-ids", f"[[{a}, {b}]]", "--suppress-tokens", f"{row[0]},{piece}"]
    assert cli(*flags, "--begin-suppress-tokens", "11") == want
    assert cli("--bad-words-ids", json.dumps([[piece, b]])) == library(bad_words_ids=[[9, b]])
    for flags, words in (
        (["--bad-words-ids", "[[5,"], "--bad-words-ids '\\[\\[5,': not JSON"),
        (["--bad-words-ids", "[5]"], "--bad-words-ids '\\[5\\]': give a JSON list of non-empty lists"),
        (["--bad-words-ids", f"[[{V}]]"], rf"bad_words_ids must be .* token ids in \[0, {V}\)"),
        (["--suppress-tokens", "5,,6"], "--suppress-tokens '5,,6': give comma-separated ids or pieces"),
        (["--begin-suppress-tokens", "no-such-piece"], "not an id and not a piece"),
    ):
        assert main(["generate", str(model_dir), "--prompt", prompt, *flags]) == 2, flags
        assert re.search(words, capsys.readouterr().err), flags
