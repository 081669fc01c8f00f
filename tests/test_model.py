"""ModelConfig presets, Seq2SeqLM behaviour, checkpoints and their errors."""

from __future__ import annotations

import json
import math

import pytest
import torch

from tandem import ModelConfig, Seq2SeqLM
from tandem.errors import TandemError


def tiny(**kw) -> ModelConfig:
    return ModelConfig.preset(
        "tiny", **{"vocab_size": 200, "d_model": 32, "num_heads": 4, "ffn_dim": 64, **kw}
    )


@pytest.mark.parametrize("name", ModelConfig.preset_names())
def test_num_parameters_matches_a_model_built_on_meta(name):
    config = ModelConfig.preset(name)
    with torch.device("meta"):  # nothing is allocated, even for alexatm-20b
        model = Seq2SeqLM(config)
    assert sum(p.numel() for p in model.parameters()) == config.num_parameters()


def test_alexatm_20b_preset_has_the_published_size():
    c = ModelConfig.preset("alexatm-20b")
    assert (c.encoder_layers, c.decoder_layers, c.d_model, c.num_heads, c.ffn_dim) == (
        46,
        32,
        4096,
        32,
        16384,
    )
    assert c.resolved_head_dim == 128 and c.norm_type == "alexatm" and c.norm_eps == 1e-12
    assert abs(c.num_parameters() - 19.75e9) / 19.75e9 < 0.01


def test_edge_presets_are_small_fractions_of_the_teacher():
    teacher = ModelConfig.preset("small").num_parameters()
    assert ModelConfig.preset("edge-17m").num_parameters() / 1e6 == pytest.approx(17, rel=0.05)
    assert ModelConfig.preset("edge-2m").num_parameters() / 1e6 == pytest.approx(2, rel=0.05)
    assert ModelConfig.preset("edge-2m").num_parameters() < 0.05 * teacher


def test_unknown_preset_and_bad_fields_are_clear_errors():
    with pytest.raises(TandemError, match="unknown preset 'huge'.*tiny"):
        ModelConfig.preset("huge")
    with pytest.raises(TandemError, match="norm_type 'batchnorm'"):
        tiny(norm_type="batchnorm")
    with pytest.raises(TandemError, match="not divisible"):
        tiny(num_heads=5)
    with pytest.raises(TandemError, match="unknown fields"):
        ModelConfig.from_dict({"d_modle": 3})
    with pytest.raises(TandemError, match=r"d_model must be int, got 12\.5"):
        ModelConfig.from_dict({"d_model": 12.5})
    with pytest.raises(TandemError, match=r"tie_lm_head must be bool, got 1"):
        tiny(tie_lm_head=1)


def test_initial_loss_is_near_uniform():
    # a badly scaled (e.g. std 1.0) untied LM head gives a loss far above ln V (nanoT5 #25)
    for tie in (True, False):
        model = Seq2SeqLM(tiny(tie_lm_head=tie, tie_embeddings=tie))
        x = torch.randint(3, 200, (4, 12))
        loss = model(x, labels=torch.randint(3, 200, (4, 9))).loss.item()
        assert abs(loss - math.log(200)) < 0.15 * math.log(200)


def test_labels_shift_right_and_ignore_index():
    model = Seq2SeqLM(tiny())
    x = torch.randint(3, 200, (2, 6))
    labels = torch.tensor([[5, 6, 7, 2], [8, 9, -100, -100]])
    out = model(x, labels=labels)
    dec = torch.tensor([[2, 5, 6, 7], [2, 8, 9, 1]])
    logits = model(x, decoder_input_ids=dec).logits
    ref = torch.nn.functional.cross_entropy(logits.reshape(-1, 200), labels.reshape(-1), ignore_index=-100)
    assert torch.allclose(out.loss, ref)


def test_cached_decoding_equals_full_forward():
    model = Seq2SeqLM(tiny()).eval()
    x = torch.randint(3, 200, (2, 8))
    seq = model.generate(x, max_new_tokens=6, eos_token_id=None)
    full = model(x, decoder_input_ids=seq[:, :-1]).logits.argmax(-1)
    assert torch.equal(full, seq[:, 1:])


def test_generation_sees_weights_changed_by_a_fused_optimizer_step():
    # greedy decoding caches a transposed LM head on CPU; a fused AdamW step changes the weight without
    # bumping its version counter, which once left generation on the stale head while training went on
    torch.manual_seed(0)
    model = Seq2SeqLM(tiny())
    x, y = torch.randint(3, 200, (2, 8)), torch.randint(3, 200, (2, 5))
    model.eval()
    model.generate(x, max_new_tokens=4, eos_token_id=None)  # fills the cache
    opt = torch.optim.AdamW(model.parameters(), lr=0.05, fused=True)
    head = model.lm_head.weight
    version = head._version
    model.train()
    model(x, labels=y).loss.backward()
    opt.step()
    assert head._version == version  # the premise: the counter did not move
    model.eval()
    seq = model.generate(x, max_new_tokens=6, eos_token_id=None)
    full = model(x, decoder_input_ids=seq[:, :-1]).logits.argmax(-1)
    assert torch.equal(full, seq[:, 1:])


def test_activation_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    model = Seq2SeqLM(tiny())
    x, y = torch.randint(3, 200, (2, 8)), torch.randint(3, 200, (2, 5))
    model(x, labels=y).loss.backward()
    ref = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model.set_activation_checkpointing(True)
    model.train()
    model(x, labels=y).loss.backward()
    assert all(torch.allclose(a, p.grad, atol=1e-6) for a, p in zip(ref, model.parameters()))


def test_sampling_is_seeded_and_min_new_tokens_holds():
    model = Seq2SeqLM(tiny()).eval()
    x = torch.randint(3, 200, (2, 5))
    kw = dict(max_new_tokens=8, do_sample=True, temperature=0.9, top_k=20, top_p=0.9)
    a = model.generate(x, generator=torch.Generator().manual_seed(1), **kw)
    b = model.generate(x, generator=torch.Generator().manual_seed(1), **kw)
    assert torch.equal(a, b)
    with torch.no_grad():
        model.final_logits_bias = torch.zeros(200)
        model.final_logits_bias[2] = 50.0  # EOS dominates
    assert model.generate(x, max_new_tokens=8)[:, 1].tolist() == [2, 2]
    out = model.generate(x, max_new_tokens=8, min_new_tokens=3)
    assert (out[:, 1:4] != 2).all() and (out[:, 4] == 2).all()


def test_per_row_generators_make_a_rows_samples_independent_of_its_batch():
    model = Seq2SeqLM(tiny()).eval()
    x = torch.randint(3, 200, (3, 5))
    kw = dict(max_new_tokens=8, do_sample=True, temperature=1.5, num_return_sequences=2, eos_token_id=None)

    def gens(*seeds):
        return [torch.Generator().manual_seed(s) for s in seeds]

    together = model.generate(x, generator=gens(7, 8, 9), **kw)
    alone = torch.cat(
        [model.generate(x[i : i + 1], generator=gens(s), **kw) for i, s in enumerate((7, 8, 9))]
    )
    assert torch.equal(together, alone)
    # ...and a row's two return sequences are two different draws
    assert not torch.equal(together[0], together[1])
    # one generator for the batch: row 1's samples depend on row 0 being there (what the CLI used to do)
    shared = model.generate(x, generator=torch.Generator().manual_seed(7), **kw)
    second = model.generate(x[1:2], generator=torch.Generator().manual_seed(7), **kw)
    assert not torch.equal(shared[2:4], second)
    with pytest.raises(TandemError, match=r"one per input row \(3\); got 2 items"):
        model.generate(x, generator=gens(1, 2), **kw)


def test_stop_strings_end_generation():
    class Tok:  # decodes id i as the letter chr(97 + i % 26)
        def decode(self, ids):
            return "".join(chr(97 + i % 26) for i in ids)

    model = Seq2SeqLM(tiny()).eval()
    x = torch.randint(3, 200, (1, 5))
    free = model.generate(x, max_new_tokens=10, eos_token_id=None)
    stop = Tok().decode(free[0, 1:4].tolist())[-1]  # the third generated letter
    cut = model.generate(x, max_new_tokens=10, eos_token_id=None, stop_strings=[stop], tokenizer=Tok())
    assert cut.shape[1] <= 4 and Tok().decode(cut[0, 1:].tolist()).endswith(stop)
    with pytest.raises(TandemError, match="need the tokenizer"):
        model.generate(x, stop_strings=["x"])


def test_out_of_range_ids_are_a_clear_error():
    model = Seq2SeqLM(tiny())
    with pytest.raises(TandemError, match=r"input ids must be in \[0, 200\)"):
        model.generate(torch.tensor([[5, 250]]))


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(num_beams=0), "num_beams must be at least 1 .*, got 0"),
        (dict(num_beams=-2), "num_beams must be at least 1 .*, got -2"),
        (dict(max_new_tokens=0), "max_new_tokens must be at least 1, got 0"),
        (dict(max_new_tokens=-5), "max_new_tokens must be at least 1, got -5"),
        (dict(min_new_tokens=-1), "min_new_tokens must be at least 0, got -1"),
        (dict(do_sample=True, temperature=-0.5), r"temperature must be .*, got -0.5"),
        (dict(do_sample=True, temperature=float("nan")), r"temperature must be .*, got nan"),
        (dict(do_sample=True, top_p=0.0), r"top_p must be in \(0, 1\] .*, got 0.0"),
        (dict(do_sample=True, top_p=1.5), r"top_p must be in \(0, 1\] .*, got 1.5"),
        (dict(do_sample=True, top_k=-1), "top_k must be at least 0 .*, got -1"),
        (dict(num_return_sequences=0), "num_return_sequences must be at least 1, got 0"),
        (dict(num_beams=2, num_return_sequences=3), "num_return_sequences 3 is more than num_beams 2"),
        (dict(num_beams=2, early_stopping="sometimes"), "early_stopping must be True, False or 'never'"),
    ],
)
def test_nonsensical_generation_settings_are_clear_errors(bad, message):
    # checked in the library, so the CLI, the server's torch backend and Python callers all get them
    model = Seq2SeqLM(tiny())
    with pytest.raises(TandemError, match=message):
        model.generate(torch.tensor([[5, 6, 2]]), **{"max_new_tokens": 3, **bad})


def test_more_new_tokens_than_decoder_positions_is_refused_before_decoding():
    # learned positions: the start token and new tokens 1..n-1 each take one, so n <= max_positions; more
    # failed with a ValueError from the decoder once a row got that long (only the CLI and server checked)
    model = Seq2SeqLM(tiny(max_positions=16))
    x = torch.tensor([[5, 6, 2]])
    assert model.generate(x, max_new_tokens=16, eos_token_id=None).shape == (1, 17)
    with pytest.raises(TandemError, match="max_new_tokens 17 is more than .* max_positions 16"):
        model.generate(x, max_new_tokens=17, eos_token_id=None)
    with pytest.raises(TandemError, match="max_new_tokens 17 is more than"):
        model.generate(x, max_new_tokens=17, num_beams=2)


def test_a_default_minimum_gives_way_to_a_shorter_limit_but_a_callers_is_an_error():
    # as on the edge runtime: a model's min_new_tokens over the call's max_new_tokens is cut to the limit;
    # the caller's own is refused with the edge runtime's message (torch used to decode it silently)
    model = Seq2SeqLM(tiny(generation={"min_new_tokens": 30, "max_new_tokens": 4}))  # a config may say so
    x = torch.tensor([[5, 6, 2]])
    assert model.generate(x).shape == (1, 5)
    assert model.generate(x, max_new_tokens=2).shape == (1, 3)
    assert Seq2SeqLM(tiny(generation={"min_new_tokens": 30})).generate(x).shape == (1, 21)  # 20: tandem's
    with pytest.raises(TandemError, match="min_new_tokens 4 is over max_new_tokens 3; lower it"):
        model.generate(x, max_new_tokens=3, min_new_tokens=4)


def test_save_load_is_bit_exact_and_sharded(tmp_path):
    model = Seq2SeqLM(tiny(tie_embeddings=False, tie_lm_head=False, final_logits_bias=True))
    with torch.no_grad():
        model.final_logits_bias.normal_()
    model.save_pretrained(tmp_path / "one")
    model.save_pretrained(tmp_path / "many", max_shard_size="100KB")
    assert (tmp_path / "many" / "model.safetensors.index.json").exists()
    assert len(list((tmp_path / "many").glob("model-*.safetensors"))) > 1
    for d in ("one", "many"):
        back = Seq2SeqLM.from_pretrained(tmp_path / d)
        a, b = model.state_dict(), back.state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        assert back.config == model.config


@pytest.mark.parametrize(
    "before,after", [("2GB", "100KB"), ("100KB", "2GB"), ("100KB", "60KB"), ("100KB", "100KB")]
)
def test_resaving_a_model_dir_never_leaves_it_unloadable(before, after, tmp_path, monkeypatch):
    """A save killed after any of its file writes leaves a directory that loads (old or new weights); a
    finished save leaves only the new layout's files."""
    import shutil

    import tandem.checkpoint as ck

    torch.manual_seed(0)
    old = Seq2SeqLM(tiny())
    torch.manual_seed(1)
    new = Seq2SeqLM(tiny())
    base = tmp_path / "base"
    old.save_pretrained(base, max_shard_size=before)
    real = {"_atomic_save_tensors": ck._atomic_save_tensors, "_atomic_write_json": ck._atomic_write_json}

    def states(m):
        return {k: v.clone() for k, v in m.state_dict().items()}

    want = {"old": states(old), "new": states(new)}
    writes_left = [0]

    def killable(name):
        def f(*a, **kw):
            if writes_left[0] == 0:
                raise KeyboardInterrupt  # stands for SIGKILL
            writes_left[0] -= 1
            return real[name](*a, **kw)

        return f

    kill_after = 0
    while True:
        d = tmp_path / f"kill{kill_after}"
        shutil.copytree(base, d)
        writes_left[0] = kill_after
        for name in real:
            monkeypatch.setattr(ck, name, killable(name))
        try:
            new.save_pretrained(d, max_shard_size=after)
            finished = True
        except KeyboardInterrupt:
            finished = False
        for name in real:
            monkeypatch.setattr(ck, name, real[name])
        got = Seq2SeqLM.from_pretrained(d).state_dict()
        match = [k for k, w in want.items() if all(torch.equal(got[n], w[n]) for n in w)]
        assert match, f"killed after {kill_after} writes: the directory holds neither model"
        if finished:
            assert match == ["new"]
            # only the new layout is left: its config, and its single file or its index and the shards
            # that index names (over the same layout these carry a suffix), as many as a fresh save writes
            ref = tmp_path / "ref"
            new.save_pretrained(ref, max_shard_size=after)
            index = d / "model.safetensors.index.json"
            named = set(json.loads(index.read_text())["weight_map"].values()) if index.exists() else set()
            want_files = {"config.json", *named} | ({index.name} if named else {"model.safetensors"})
            assert {p.name for p in d.iterdir()} == want_files
            assert len(list(d.iterdir())) == len(list(ref.iterdir()))
            break
        kill_after += 1
    assert kill_after >= 2


def test_tied_weights_stay_tied_after_loading(tmp_path):
    model = Seq2SeqLM(tiny())
    model.save_pretrained(tmp_path)
    back = Seq2SeqLM.from_pretrained(tmp_path)
    assert back.lm_head.weight is back.encoder.embed_tokens.weight
    assert back.decoder.embed_tokens is back.encoder.embed_tokens


def test_checkpoint_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(TandemError, match="not a directory"):
        Seq2SeqLM.from_pretrained(tmp_path / "nope")
    with pytest.raises(TandemError, match="no config.json"):
        Seq2SeqLM.from_pretrained(tmp_path)
    Seq2SeqLM(tiny()).save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(TandemError, match="corrupt"):
        Seq2SeqLM.from_pretrained(tmp_path)
    Seq2SeqLM(tiny()).save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["d_model"] = 64
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(TandemError, match="shapes do not match"):
        Seq2SeqLM.from_pretrained(tmp_path)


@pytest.mark.parametrize("buckets, distance", [(32, 16), (32, 8), (2, 128), (3, 128)])
def test_t5_bucket_settings_that_cannot_bucket_are_refused_with_the_config(buckets, distance):
    """relative_max_distance at or under half the buckets (or under 4 buckets) made T5's log-spaced buckets
    divide by zero or go negative: a ZeroDivisionError or IndexError mid-forward (in transformers too)."""
    with pytest.raises(TandemError, match="relative_buckets .* needs at least 4 buckets and a max distance"):
        ModelConfig.preset(
            "tiny", position_type="relative", relative_buckets=buckets, relative_max_distance=distance
        )


@pytest.mark.parametrize("buckets, distance", [(32, 128), (32, 17), (4, 3), (5, 3), (8, 5)])
def test_t5_bucket_settings_at_their_bounds_run(buckets, distance):
    cfg = ModelConfig.preset(
        "tiny", position_type="relative", relative_buckets=buckets, relative_max_distance=distance
    )
    x = torch.randint(4, 100, (1, 300))  # distances far over max_distance
    assert torch.isfinite(Seq2SeqLM(cfg)(x, decoder_input_ids=x[:, :200]).logits).all()
