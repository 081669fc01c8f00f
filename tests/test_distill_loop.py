"""Student init (shrink), vocabulary/empty-data/memory checks before compute, and the distillation loop."""

from __future__ import annotations

import dataclasses
import json
import os
import re

import pytest
import torch

from tandem.config import ModelConfig
from tandem.distill import (
    DistillConfig,
    build_student,
    check_teacher_fits,
    check_vocab,
    distill,
    distill_chain,
    labels_from_generation,
    shrink_init,
    student_config,
)
from tandem.errors import TandemError
from tandem.finetune import Encoded
from tandem.model import Seq2SeqLM

V = 40


def tiny(**kw) -> ModelConfig:
    base = dict(
        vocab_size=V,
        d_model=32,
        num_heads=2,
        ffn_dim=64,
        encoder_layers=4,
        decoder_layers=4,
        max_positions=32,
    )
    base.update(kw)
    return ModelConfig.preset("tiny", **base)


def toy_data(n: int = 24, seed: int = 0) -> list[Encoded]:
    """Copy task: target = source reversed, ids 7..V-1, EOS (2) at the end."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        L = int(torch.randint(3, 7, (1,), generator=g))
        src = torch.randint(7, V, (L,), generator=g).tolist()
        out.append(Encoded(i, src + [2], src[::-1] + [2]))
    return out


def fast_cfg(**kw) -> DistillConfig:
    base = dict(epochs=2, batch_size=8, lr=3e-3, log_every=1000, device="cpu", warmup_ratio=0.0)
    base.update(kw)
    return DistillConfig(**base)


def test_shrink_copies_the_intended_layers():
    teacher = Seq2SeqLM(tiny(encoder_layers=6, decoder_layers=4))
    student = Seq2SeqLM(student_config("shrink:3,2", teacher.config))
    report = shrink_init(teacher, student)
    assert report["copied"] and report["encoder_map"] == [0, 3, 5] and report["decoder_map"] == [0, 3]
    assert report["skipped"] == []
    for s_i, t_i in zip([0, 1, 2], [0, 3, 5]):
        for (ks, vs), (kt, vt) in zip(
            student.encoder.layers[s_i].state_dict().items(), teacher.encoder.layers[t_i].state_dict().items()
        ):
            assert ks == kt and torch.equal(vs, vt)
    # a layer that was not chosen differs (teacher layer 1 is not student layer 1)
    assert not torch.equal(
        student.encoder.layers[1].self_attn.q_proj.weight, teacher.encoder.layers[1].self_attn.q_proj.weight
    )
    assert torch.equal(student.decoder.layers[1].ffn.fc1.weight, teacher.decoder.layers[3].ffn.fc1.weight)
    assert torch.equal(student.encoder.embed_tokens.weight, teacher.encoder.embed_tokens.weight)
    assert torch.equal(student.lm_head.weight, teacher.lm_head.weight)


def test_shrink_leaves_narrower_students_random():
    teacher = Seq2SeqLM(tiny())
    student = Seq2SeqLM(dataclasses.replace(tiny(), d_model=16, ffn_dim=32))
    before = student.encoder.embed_tokens.weight.clone()
    report = shrink_init(teacher, student)
    assert not report["copied"] and "widths differ" in report["reason"]
    assert torch.equal(before, student.encoder.embed_tokens.weight)


def test_preset_student_adopts_teacher_vocab_and_explicit_mismatch_is_refused(tmp_path):
    teacher_cfg = tiny()
    s = student_config("edge-2m", teacher_cfg)
    assert s.vocab_size == V and s.d_model == ModelConfig.preset("edge-2m").d_model
    with pytest.raises(TandemError, match="vocab_size 40 vs 8000"):
        student_config(ModelConfig.preset("tiny"), teacher_cfg)
    with pytest.raises(TandemError, match="neither a preset"):
        student_config(str(tmp_path / "nope.json"), teacher_cfg)


class FakeTok:
    def __init__(self, pieces):
        self.pieces = pieces
        self.vocab_size = len(pieces)

    def id_to_token(self, i):
        return self.pieces[i]


def test_tokenizer_vocab_check_names_the_first_difference():
    check_vocab(FakeTok(["a", "b"]), FakeTok(["a", "b"]))
    with pytest.raises(TandemError, match="2 pieces but student tokenizer has 3"):
        check_vocab(FakeTok(["a", "b"]), FakeTok(["a", "b", "c"]))
    with pytest.raises(TandemError, match="differ at id 1"):
        check_vocab(FakeTok(["a", "b"]), FakeTok(["a", "x"]))


def _no_compute(monkeypatch):
    """Make any model forward fail loudly, to prove checks run before compute."""

    def boom(*a, **k):
        raise AssertionError("compute ran before the input checks")

    monkeypatch.setattr(Seq2SeqLM, "forward", boom)


def test_mismatched_vocab_and_empty_data_fail_before_compute(monkeypatch):
    teacher = Seq2SeqLM(tiny())
    other = Seq2SeqLM(tiny(vocab_size=V + 1))
    student = Seq2SeqLM(tiny(encoder_layers=1, decoder_layers=1))
    _no_compute(monkeypatch)
    with pytest.raises(TandemError, match="vocabularies differ"):
        distill(teacher, other, toy_data(), fast_cfg(), log=None)
    with pytest.raises(TandemError, match="is empty"):
        distill(teacher, student, [], fast_cfg(), log=None)
    with pytest.raises(TandemError, match="--divergence"):
        distill(teacher, student, toy_data(), fast_cfg(divergence="kl"), log=None)


def test_teacher_too_big_names_the_offload_option(monkeypatch):
    import tandem.distill.loop as loop

    monkeypatch.setattr(loop, "_free_bytes", lambda device: 10 * 2**30)
    check_teacher_fits(1_000_000_000, torch.device("cpu"), torch.float32)  # 4 GB fits in 10 GiB
    with pytest.raises(TandemError, match="--teacher-device cpu"):
        check_teacher_fits(20_000_000_000, torch.device("cuda"), torch.bfloat16)
    teacher, student = Seq2SeqLM(tiny()), Seq2SeqLM(tiny(encoder_layers=1, decoder_layers=1))
    monkeypatch.setattr(loop, "_free_bytes", lambda device: 1000)
    _no_compute(monkeypatch)
    with pytest.raises(TandemError, match="free"):
        distill(teacher, student, toy_data(), fast_cfg(), log=None)


def test_labels_from_generation_masks_after_first_eos():
    seqs = torch.tensor([[2, 9, 8, 2, 5, 1], [2, 7, 7, 7, 7, 7]])
    assert labels_from_generation(seqs, 2).tolist() == [[9, 8, 2, -100, -100], [7, 7, 7, 7, 7]]


def test_topk_cache_means_later_epochs_skip_the_teacher(tmp_path):
    torch.manual_seed(0)
    teacher = Seq2SeqLM(tiny())
    student, _ = build_student(teacher, "shrink:2,1")
    data = toy_data(24)
    r = distill(teacher, student, data, fast_cfg(epochs=3, topk=5), out_dir=tmp_path, log=None)
    assert r.teacher_forwards == 3 and r.cache_hits == 6  # 3 batches per epoch, teacher only in epoch 1
    assert (tmp_path / "teacher_topk" / "index.json").is_file()
    # a second run over the same teacher and data reuses the cache from disk
    student2, _ = build_student(teacher, "shrink:2,1")
    r2 = distill(teacher, student2, data, fast_cfg(epochs=1, topk=5), out_dir=tmp_path, log=None)
    assert r2.teacher_forwards == 0 and r2.cache_hits == 3


def test_distillation_moves_the_student_towards_the_teacher():
    from tandem.distill.losses import kd_loss
    from tandem.finetune import collate

    torch.manual_seed(0)
    teacher = Seq2SeqLM(tiny())
    data = toy_data(32)
    batch = collate(data, 1)

    def gap(m):
        with torch.no_grad():
            s = m(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
            )
            t = teacher(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]
            )
        return float(kd_loss(s.logits, t.logits, batch["labels"] != -100))

    student = Seq2SeqLM(tiny(d_model=16, ffn_dim=32, encoder_layers=1, decoder_layers=1))
    before = gap(student)
    distill(
        teacher, student, data, fast_cfg(epochs=16, ce_weight=0.0, kd_weight=1.0, temperature=1.0), log=None
    )
    after = gap(student)
    assert after < 0.5 * before, (before, after)


@pytest.mark.parametrize(
    "opts",
    [
        dict(divergence="reverse", hidden_weight=1.0),
        dict(divergence="jsd", beta=0.3, onpolicy=1.0, onpolicy_max_new_tokens=4),
        dict(seq_kd="add", seq_kd_max_new_tokens=6),
    ],
)
def test_loss_options_run_and_stay_finite(opts, tmp_path):
    teacher = Seq2SeqLM(tiny())
    student = Seq2SeqLM(tiny(d_model=16, ffn_dim=32, encoder_layers=2, decoder_layers=1))
    r = distill(teacher, student, toy_data(16), fast_cfg(epochs=1, **opts), out_dir=tmp_path, log=None)
    assert r.stages["task"].steps >= 2
    if opts.get("seq_kd"):
        assert (tmp_path / "seqkd_targets.jsonl").is_file()


def test_two_stage_and_chain(tmp_path):
    class Tok:
        clm_id, eos_id, vocab_size, pad_id = 4, 2, V, 1

        def encode(self, text):
            return [7 + (ord(c) % (V - 7)) for c in text.replace(" ", "")]

    from tandem.distill import generic_examples

    generic = generic_examples(["hello world again", "tandem distills students", "x"], Tok())
    assert len(generic) == 2 and all(e.target[-1] == 2 for e in generic)
    teacher = Seq2SeqLM(tiny())
    rs = distill_chain(
        teacher,
        ["shrink:2,2", "shrink:1,1"],
        toy_data(16),
        fast_cfg(epochs=1),
        out_dir=tmp_path,
        generic=generic,
        log=None,
    )
    assert len(rs) == 2 and rs[0].init["copied"] and rs[1].student.config.encoder_layers == 1
    assert set(rs[0].stages) == {"generic", "task"}
    assert (tmp_path / "student_2" / "final" / "config.json").is_file()


def test_a_warmup_covering_the_run_is_warned_about_once_per_chain(tmp_path, capsys):
    """Each `fit` warned: a chain of two students with a generic stage printed the warning four times."""
    from tandem.distill import generic_examples
    from tandem.finetune import fit

    class Tok:
        clm_id, eos_id, vocab_size, pad_id = 4, 2, V, 1

        def encode(self, text):
            return [7 + (ord(c) % (V - 7)) for c in text.replace(" ", "")]

    generic = generic_examples([f"hello world number {i} again" for i in range(8)], Tok())
    cfg = fast_cfg(epochs=1, warmup_ratio=1.0, batch_size=4)  # 2 generic steps, 4 task steps per student
    rs = distill_chain(
        Seq2SeqLM(tiny()), ["shrink:2,2", "shrink:1,1"], toy_data(16), cfg, generic=generic, log=None
    )
    assert len(rs) == 2 and all(set(r.stages) == {"generic", "task"} for r in rs)
    err = capsys.readouterr().err
    assert err.count("warning: --warmup-ratio 1 covers all") == 1, err
    assert "covers all 2 steps (warmup 2 >= steps 2)" in err  # the first stage it applies to
    fit(Seq2SeqLM(tiny()), toy_data(8), dataclasses.replace(cfg, batch_size=4), log=None)  # one run: warned
    assert capsys.readouterr().err.count("covers all") == 1


def test_generic_examples_of_a_tandem_tokenizer_are_alexatm_mixtures():
    """A tokenizer with [CLM]: per text, the AlexaTM mixture's draw (80% denoising, else a [CLM] continuation)
    from one seeded generator, EOS after source and target, the text cut for [CLM] and EOS (pinned as it was
    before tokenizers without [CLM] got denoising-only examples)."""
    import numpy as np

    from tandem.distill import generic_examples
    from tandem.objectives import clm, denoise

    class Tok:
        clm_id, eos_id, vocab_size, pad_id = 4, 2, V, 1

        def encode(self, text):
            return [7 + (ord(c) % (V - 7)) for c in text.replace(" ", "")]

    texts = [f"text number {i} " * (1 + i % 4) for i in range(40)] + ["x"]
    got = generic_examples(texts, Tok(), max_len=24, seed=5)
    rng, want = np.random.default_rng(5), []
    for i, text in enumerate(texts):
        ids = Tok().encode(text)[:22]
        if len(ids) < 2:
            continue
        ex = denoise(ids, rng) if rng.random() < 0.8 else clm(ids, rng, 4)
        want.append(Encoded(1_000_000_000 + i, [*ex.source, 2], [*ex.target, 2]))
    assert got == want
    assert 0 < sum(e.source[0] == 4 for e in got) < len(got)  # both kinds drawn


def test_generic_teacher_teaches_only_the_generic_stage():
    """KDD 2022: the pretrained checkpoint teaches stage 1, the fine-tuned one stage 2."""

    class Tok:
        clm_id, eos_id, vocab_size, pad_id = 4, 2, V, 1

        def encode(self, text):
            return [7 + (ord(c) % (V - 7)) for c in text.replace(" ", "")]

    from tandem.distill import generic_examples

    generic = generic_examples(["hello world again", "tandem distills students", "spoken form text"], Tok())
    torch.manual_seed(0)
    teacher, pretrained = Seq2SeqLM(tiny()), Seq2SeqLM(tiny())
    calls = {"teacher": 0, "pretrained": 0}
    for name, m in (("teacher", teacher), ("pretrained", pretrained)):
        m.register_forward_hook(lambda *_, n=name: calls.__setitem__(n, calls[n] + 1))
    student = Seq2SeqLM(tiny(encoder_layers=1, decoder_layers=1))
    r = distill(
        teacher,
        student,
        toy_data(8),
        fast_cfg(epochs=1, batch_size=8, shrink=False),
        generic=generic,
        log=None,
        generic_teacher=pretrained,
    )
    g, t = r.stages["generic"].steps, r.stages["task"].steps
    assert g >= 1 and t >= 1
    assert calls == {"teacher": t, "pretrained": g}  # one forward per batch, each from its own teacher
    with pytest.raises(TandemError, match="without unlabelled text"):
        distill(teacher, student, toy_data(8), fast_cfg(), log=None, generic_teacher=pretrained)
    with pytest.raises(TandemError, match="generic teacher"):
        other = Seq2SeqLM(tiny(vocab_size=V + 8))
        distill(teacher, student, toy_data(8), fast_cfg(), generic=generic, log=None, generic_teacher=other)


def test_transfer_set_is_labelled_by_the_teacher_once(tmp_path):
    """Unlabelled inputs get the teacher's greedy generations as targets (cached) and join the task data."""
    torch.manual_seed(0)
    teacher = Seq2SeqLM(tiny())
    student = Seq2SeqLM(tiny(encoder_layers=1, decoder_layers=1))
    train = toy_data(8)
    unlabelled = [Encoded(100 + e.index, e.source, []) for e in toy_data(6, seed=1)]
    cfg = fast_cfg(epochs=1, batch_size=4, shrink=False, seq_kd_max_new_tokens=5)
    r = distill(teacher, student, train, cfg, out_dir=tmp_path, log=None, transfer=unlabelled)
    assert r.stages["task"].steps == 4  # (8 gold + 6 teacher-labelled) / 4, rounded up
    lines = (tmp_path / "transfer_targets.jsonl").read_text().splitlines()
    got = {o["index"]: o["target"] for o in map(json.loads, lines[1:])}
    for e in unlabelled:
        ids = torch.tensor([e.source])
        out = teacher.generate(ids, torch.ones_like(ids), max_new_tokens=5)[0].tolist()
        want = [t for t in out[1:] if t != teacher.config.pad_token_id]
        want = want[: want.index(2) + 1] if 2 in want else want + [2]
        assert got[e.index] == want, (e.index, got[e.index], want)
    with pytest.raises(TandemError, match="transfer set"):
        distill(teacher, student, train, cfg, log=None, transfer=[])


def test_a_student_deeper_than_the_teacher_is_refused_or_left_random_with_a_clear_reason():
    teacher_cfg = tiny(encoder_layers=2, decoder_layers=2)
    with pytest.raises(TandemError, match=r"shrink:3,1 asks for 3 encoder layers.*has 2"):
        student_config("shrink:3,1", teacher_cfg)
    with pytest.raises(TandemError, match=r"shrink:2,4 asks for 4 decoder layers"):
        student_config("shrink:2,4", teacher_cfg)
    # the teacher's width but more layers (e.g. a config file): nothing to copy layer for layer
    teacher = Seq2SeqLM(teacher_cfg)
    student, report = build_student(teacher, tiny(encoder_layers=3, decoder_layers=2))
    assert not report["copied"] and "more layers" in report["reason"]
    # hidden-state matching pairs each student layer with a teacher layer: refused before compute
    cfg = fast_cfg(hidden_weight=1.0)
    with pytest.raises(TandemError, match="hidden-state matching.*more layers"):
        distill(teacher, student, toy_data(8), cfg, log=None)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_a_signal_ends_fit_after_the_step_with_the_model_and_logit_cache_saved(signame, tmp_path):
    """Ctrl-C / SIGTERM (preemption) stop a fine-tune or distillation after the step in progress: the
    model so far is saved to best/, fit.json says where it stopped, the logit cache is flushed, and
    TrainingInterrupted carries 128 + the signal as `tandem finetune`/`distill` exit code."""
    import os
    import signal

    from tandem.train.trainer import TrainingInterrupted

    sig = getattr(signal, signame)

    def log(line: str) -> None:
        if line.startswith("step 2/"):
            os.kill(os.getpid(), sig)

    teacher = Seq2SeqLM(tiny(encoder_layers=2, decoder_layers=2))
    student = Seq2SeqLM(tiny(encoder_layers=1, decoder_layers=1))
    cfg = fast_cfg(epochs=5, batch_size=4, log_every=1, topk=4)
    with pytest.raises(TrainingInterrupted) as e:
        distill(teacher, student, toy_data(16), cfg, out_dir=tmp_path, log=log)
    assert e.value.exit_code == 128 + sig and e.value.step == 2
    task = tmp_path / "task"
    assert json.loads((task / "fit.json").read_text())["steps"] == 2
    assert json.loads((task / "fit.json").read_text())["interrupted"] == signame
    saved = Seq2SeqLM.from_pretrained(task / "best")
    assert all(torch.equal(a, b) for a, b in zip(saved.state_dict().values(), student.state_dict().values()))
    index = json.loads((tmp_path / "teacher_topk" / "index.json").read_text())
    assert len(index["examples"]) == 8  # the two batches the teacher scored
    assert signal.getsignal(sig) is not None and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_sigterm_while_a_stopped_fit_saves_its_model_is_only_recorded(tmp_path, monkeypatch):
    """A preemption's SIGTERM delivered again while the stopped fit writes best/ and fit.json must not get the
    default action, which would kill the process half-way through the save (the handlers used to be
    restored before it)."""
    import os
    import signal

    import tandem.finetune as ft
    from tandem.train.trainer import TrainingInterrupted

    real_save = ft.save_model

    def save_model(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return real_save(*args, **kwargs)

    def log(line: str) -> None:
        if line.startswith("step 2/"):
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(ft, "save_model", save_model)
    teacher = Seq2SeqLM(tiny(encoder_layers=2, decoder_layers=2))
    student = Seq2SeqLM(tiny(encoder_layers=1, decoder_layers=1))
    cfg = fast_cfg(epochs=5, batch_size=4, log_every=1, topk=4)
    reached: list[int] = []  # SIGTERMs that got past fit: SIG_DFL would have killed the process there
    prev = signal.signal(signal.SIGTERM, lambda signum, frame: reached.append(signum))
    try:
        with pytest.raises(TrainingInterrupted) as e:
            distill(teacher, student, toy_data(16), cfg, out_dir=tmp_path, log=log)
    finally:
        signal.signal(signal.SIGTERM, prev)
    assert reached == [] and e.value.exit_code == 143 and e.value.step == 2
    fit = json.loads((tmp_path / "task" / "fit.json").read_text())
    assert fit["steps"] == 2 and fit["interrupted"] == "SIGTERM"
    assert (tmp_path / "task" / "best").is_dir()


def test_the_cache_fingerprint_sees_a_change_in_any_layer_of_the_teacher():
    """A teacher that differs only in a deep layer must not reuse another teacher's logit cache."""
    from tandem.distill.loop import _fingerprint

    a = Seq2SeqLM(tiny())
    b = Seq2SeqLM(tiny())
    b.load_state_dict(a.state_dict())
    data = toy_data(4)
    assert _fingerprint(a, data) == _fingerprint(b, data)
    with torch.no_grad():
        b.decoder.layers[3].ffn.fc2.weight.mul_(0.5)
    assert _fingerprint(a, data) != _fingerprint(b, data)


def test_the_cache_fingerprint_handles_tensors_past_two_to_the_24_elements():
    """Sample positions are integers: float32 positions round past the end of a 2**24 + 4 element tensor."""
    from tandem.distill.loop import _fingerprint

    model = Seq2SeqLM(tiny())
    model.big = torch.nn.Parameter(torch.zeros(2**24 + 4))
    fp = _fingerprint(model, toy_data(2))
    with torch.no_grad():
        model.big[-1] = 1.0  # the last element is one of the sampled ones
    assert _fingerprint(model, toy_data(2)) != fp


def test_bad_settings_fail_before_compute(monkeypatch):
    teacher = Seq2SeqLM(tiny())
    student = Seq2SeqLM(tiny(encoder_layers=1, decoder_layers=1))
    _no_compute(monkeypatch)
    bad = [
        (dict(topk=V + 1), f"--topk {V + 1} is larger than the teacher's vocabulary"),  # was a RuntimeError
        (dict(topk=-1), "--topk must be >= 0"),
        (dict(temperature=float("nan")), "--temperature must be a finite number"),
        (dict(batch_size=0), "--batch-size must be >= 1"),
        (dict(epochs=float("inf")), "--epochs must be a finite number"),
        (dict(generic_epochs=0.0), "--generic-epochs"),
        # on-policy batches had a loss without a gradient: "element 0 of tensors does not require grad"
        (dict(onpolicy=0.5, kd_weight=0.0, ce_weight=1.0), "--onpolicy 0.5 needs --kd-weight > 0"),
        # were torch's RuntimeError / "Torch not compiled with CUDA enabled" tracebacks
        (dict(teacher_device="gpu"), "--teacher-device 'gpu' is not a torch device"),
        # were refused by generate only once reached: after the teacher was placed or a generic stage trained
        (dict(seq_kd="add", seq_kd_beams=0), "seq_kd_beams must be an integer >= 1"),
        (dict(onpolicy=0.5, onpolicy_temperature=0.0), "onpolicy_temperature must be a finite number > 0"),
        (dict(onpolicy=0.5, onpolicy_max_new_tokens=0), "onpolicy_max_new_tokens must be an integer >= 1"),
        (dict(teacher_device="cuda:99"), "--teacher-device 'cuda:99' is not available here"),
        # the T^2-scaled divergence was exactly 0 at 1e-30 (the run trained on CE alone, silently) and NaN at
        # 1e30 (the error blamed --lr)
        (dict(temperature=1e-30), r"--temperature must be in \[0\.01, 1000\], got 1e-30"),
        (dict(temperature=0.009), r"--temperature must be in \[0\.01, 1000\]"),
        (dict(temperature=1e30), r"--temperature must be in \[0\.01, 1000\], got 1e\+30"),
        (dict(temperature=1001.0), r"--temperature must be in \[0\.01, 1000\]"),
        # a numpy ValueError traceback with --generic (-1), torch's OverflowError (2**64)
        (dict(seed=-1), r"--seed must be an integer in \[0, 2\*\*64\)"),
        (dict(seed=2**64), r"--seed must be an integer in \[0, 2\*\*64\)"),
    ]
    for kw, message in bad:
        with pytest.raises(TandemError, match=message):
            distill(teacher, student, toy_data(), fast_cfg(**kw), log=None)
    for t in (0.01, 1000.0):  # the ends of the range are taken
        fast_cfg(temperature=t).validate()
    # the generic stage's step count, named as its flag (was an OverflowError from the float inf)
    with pytest.raises(TandemError, match=r"--generic-epochs 1\.7e\+308 over 24 examples .*more than a run"):
        distill(teacher, student, toy_data(), fast_cfg(generic_epochs=1.7e308), generic=toy_data(), log=None)


def test_a_chain_seeds_each_student_within_torchs_range():
    """Student k of a chain is seeded with --seed + k - 1: --seed 2**64 - 1 failed with torch's OverflowError
    at student 2, after student 1 had trained. It wraps to 0, as 2**64 would."""
    teacher = Seq2SeqLM(tiny())
    seen = []
    real = torch.manual_seed
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch, "manual_seed", lambda s: (seen.append(s), real(s))[1])
        rs = distill_chain(
            teacher,
            ["shrink:1,1", "shrink:1,1"],
            toy_data(8),
            fast_cfg(max_steps=1, seed=2**64 - 1),
            log=None,
        )
    assert len(rs) == 2
    assert seen[:1] == [2**64 - 1] and 0 in seen


def test_student_config_file_with_a_wrong_type_is_named(tmp_path):
    teacher = tiny()
    p = tmp_path / "s.json"
    p.write_text(json.dumps({**teacher.to_dict(), "d_model": "wide"}))
    with pytest.raises(TandemError, match=r"student config .*s.json: d_model must be int"):
        student_config(str(p), teacher)  # was a TypeError from the '<=' in validate
    p.write_text("[1, 2]")
    with pytest.raises(TandemError, match="expected a JSON object"):
        student_config(str(p), teacher)


def test_a_chain_link_is_resolved_against_its_own_teacher_before_any_training(monkeypatch):
    """Link k's shrink:E,D copies student k-1, so it is checked against student k-1, up front: a link deeper
    than the student before it failed only after the links before it had trained."""
    teacher = Seq2SeqLM(tiny())
    with monkeypatch.context() as m:
        _no_compute(m)
        with pytest.raises(
            TandemError, match=r"chain link 2, taught by student 1: student shrink:2,1 .* has 1"
        ):
            distill_chain(teacher, ["shrink:1,1", "shrink:2,1"], toy_data(8), fast_cfg(epochs=1), log=None)
    from tandem.distill import chain_configs

    narrow = dataclasses.replace(tiny(encoder_layers=3, decoder_layers=2), d_model=16, ffn_dim=32).to_dict()
    configs = chain_configs(teacher.config, [narrow, "shrink:2,1"])
    assert [(c.d_model, c.encoder_layers, c.decoder_layers) for c in configs] == [(16, 3, 2), (16, 2, 1)]


def test_a_chain_with_one_cache_dir_gives_each_link_its_own_logit_cache(tmp_path):
    """Every link has another teacher: one --cache-dir for all of them refused link 2 as a stale cache, after
    link 1 had trained."""
    teacher = Seq2SeqLM(tiny())
    cfg = fast_cfg(epochs=2, topk=4, cache_dir=str(tmp_path / "cache"))
    rs = distill_chain(
        teacher, ["shrink:2,2", "shrink:1,1"], toy_data(16), cfg, out_dir=tmp_path / "out", log=None
    )
    assert len(rs) == 2 and all(r.cache_hits == 2 for r in rs)  # epoch 2 of each link reads its own cache
    for k in (1, 2):
        assert (tmp_path / "cache" / f"student_{k}" / "index.json").is_file()


def test_a_cut_short_teacher_generation_cache_is_generated_again(tmp_path):
    """seqkd_targets.jsonl cut short (a run killed while writing it) was read with the right fingerprint and
    failed with a JSONDecodeError; it is now written atomically, and an unreadable one is regenerated."""
    torch.manual_seed(0)
    teacher = Seq2SeqLM(tiny())
    cfg = fast_cfg(epochs=1, seq_kd="replace", seq_kd_max_new_tokens=4, shrink=False)

    def run():
        student = Seq2SeqLM(tiny(encoder_layers=1, decoder_layers=1))
        distill(teacher, student, toy_data(8), cfg, out_dir=tmp_path, log=None)

    run()
    path = tmp_path / "seqkd_targets.jsonl"
    whole = path.read_text()
    assert not list(tmp_path.glob("*.tmp"))
    path.write_text(whole[: len(whole) - 5])  # the last line cut in the middle
    run()
    assert path.read_text() == whole


def test_teacher_generations_are_greedy_whatever_the_teachers_decoding_defaults(tmp_path):
    """Sequence-KD targets are the teacher's greedy (or beam) outputs (Kim & Rush 2016): a checkpoint's own
    decoding defaults (a Hugging Face generation_config.json that samples) made them random samples."""
    from tandem.model.generation import GREEDY

    torch.manual_seed(0)
    teacher = Seq2SeqLM(tiny(generation={"do_sample": True, "top_k": 5, "min_new_tokens": 2}))
    student = Seq2SeqLM(tiny(encoder_layers=1, decoder_layers=1))
    data = toy_data(8)
    cfg = fast_cfg(epochs=1, seq_kd="replace", seq_kd_max_new_tokens=5, shrink=False)
    distill(teacher, student, data, cfg, out_dir=tmp_path, log=None)
    lines = (tmp_path / "seqkd_targets.jsonl").read_text().splitlines()
    got = {o["index"]: o["target"] for o in map(json.loads, lines[1:])}
    for e in data:
        ids = torch.tensor([e.source])
        out = teacher.generate(ids, torch.ones_like(ids), max_new_tokens=5, **GREEDY)[0].tolist()
        want = [t for t in out[1:] if t != teacher.config.pad_token_id]
        want = want[: want.index(2) + 1] if 2 in want else want + [2]
        assert got[e.index] == want, (e.index, got[e.index], want)


def test_onpolicy_samples_come_from_the_students_full_distribution(monkeypatch):
    """A shrink student inherits its teacher's decoding defaults (here top-k 1 and a minimum length): the
    on-policy samples must still be plain samples at --onpolicy-temperature, not greedy-like ones."""
    import tandem.model.generation as generation

    seen = []
    real = generation.generate

    def spy(model, input_ids, attention_mask=None, **kw):
        seen.append(kw)
        return real(model, input_ids, attention_mask, **kw)

    monkeypatch.setattr(generation, "generate", spy)
    teacher = Seq2SeqLM(tiny(generation={"top_k": 1, "top_p": 0.5, "min_new_tokens": 2, "num_beams": 3}))
    student, _ = build_student(teacher, "shrink:1,1")
    cfg = fast_cfg(epochs=1, onpolicy=1.0, onpolicy_max_new_tokens=3, onpolicy_temperature=0.7)
    distill(teacher, student, toy_data(8), cfg, log=None)
    assert seen and all(
        kw["do_sample"]
        and kw["top_k"] == 0
        and kw["top_p"] == 1.0
        and kw["min_new_tokens"] == 0
        and kw["num_beams"] == 1
        and kw["temperature"] == 0.7
        for kw in seen
    ), seen


@pytest.mark.parametrize("opts", [dict(seq_kd="replace"), dict(onpolicy=1.0)])
def test_generated_targets_fit_the_models_position_tables(opts, tmp_path):
    """Teacher generations (64 new tokens + EOS by default) and on-policy samples (64) past max_positions 8
    failed in the student's forward with "target length ... exceeds max_positions"; they are capped."""
    torch.manual_seed(0)
    teacher = Seq2SeqLM(tiny(max_positions=8, final_logits_bias=True))
    student = Seq2SeqLM(tiny(encoder_layers=1, decoder_layers=1, max_positions=8, final_logits_bias=True))
    for m in (teacher, student):
        m.final_logits_bias[2] = -1e4  # EOS never comes: every generation runs to its length limit
    r = distill(teacher, student, toy_data(8), fast_cfg(epochs=1, **opts), out_dir=tmp_path, log=None)
    assert r.stages["task"].steps == 1
    if "seq_kd" in opts:
        lines = (tmp_path / "seqkd_targets.jsonl").read_text().splitlines()[1:]
        assert {len(json.loads(line)["target"]) for line in lines} == {8}  # 7 new tokens + EOS


def test_a_student_not_smaller_than_its_teacher_is_warned_about_and_the_chain_logs_its_share():
    import warnings

    teacher = Seq2SeqLM(tiny(encoder_layers=1, decoder_layers=1))
    bigger = Seq2SeqLM(tiny(encoder_layers=3, decoder_layers=3))
    with pytest.warns(UserWarning, match=r"student \(0\.\d+M parameters\) is not smaller than its teacher"):
        distill(teacher, bigger, toy_data(8), fast_cfg(epochs=1), log=None)
    lines: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a smaller student: no warning
        distill_chain(Seq2SeqLM(tiny()), ["shrink:1,1"], toy_data(8), fast_cfg(epochs=1), log=lines.append)
    assert re.search(r"chain link 1/1: 0\.\d+M-parameter student \(\d+(\.\d+)?% of its teacher\)", lines[0])


def test_sequence_level_kd_alone_runs_no_teacher_forward_per_batch(tmp_path):
    """--seq-kd replace with --kd-weight 0 (Kim & Rush: cross-entropy on the teacher's generations) needs the
    teacher once, to generate; its per-batch forward, whose logits no loss read, doubled the cost of a step."""
    teacher = Seq2SeqLM(tiny())
    student = Seq2SeqLM(tiny(encoder_layers=1, decoder_layers=1))
    calls = []
    teacher.register_forward_hook(lambda *_: calls.append(1))
    cfg = fast_cfg(epochs=2, seq_kd="replace", seq_kd_max_new_tokens=4, kd_weight=0.0, ce_weight=1.0)
    r = distill(teacher, student, toy_data(16), cfg, out_dir=tmp_path, log=None)
    assert r.stages["task"].steps == 4 and r.teacher_forwards == 0 and calls == []


@pytest.mark.skipif(not os.path.isfile("/proc/meminfo"), reason="Linux /proc/meminfo")
def test_cpu_memory_check_counts_the_page_cache_the_kernel_gives_back(monkeypatch):
    """Free pages alone (SC_AVPHYS_PAGES, MemFree) leave out the page cache, most of a busy machine's memory:
    a teacher that fits in MemAvailable was refused."""
    import tandem.distill.loop as loop

    with open("/proc/meminfo") as f:
        available = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    real_sysconf = os.sysconf
    monkeypatch.setattr(os, "sysconf", lambda n: 1 if n == "SC_AVPHYS_PAGES" else real_sysconf(n))
    got = loop._free_bytes(torch.device("cpu"))
    assert abs(got - available) < 2**30  # MemAvailable (give or take what moved since), not one free page
    check_teacher_fits(available // 8, torch.device("cpu"), torch.float32)  # 0.6x of it in fp32 fits


def test_a_teacher_already_on_the_gpu_counts_as_there(monkeypatch):
    """The memory check credits a teacher's weights already on the target device; the target is a bare
    "cuda" and the weights sit on "cuda:0", which `==` does not equate, so the teacher was counted twice
    (once as used memory, once as needed) and a teacher over ~45% of the GPU was refused."""
    import tandem.distill.loop as loop

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    cuda, cuda0, cuda1 = torch.device("cuda"), torch.device("cuda:0"), torch.device("cuda:1")
    assert cuda0 != cuda  # what the check compared with before
    assert loop.same_device(cuda0, cuda) and loop.same_device(cuda, cuda0) and loop.same_device(cuda1, cuda1)
    assert not loop.same_device(cuda1, cuda) and not loop.same_device(torch.device("cpu"), cuda)
    assert loop.same_device(torch.device("cpu"), torch.device("cpu"))


def test_a_chain_links_hidden_state_layers_are_checked_before_any_training(monkeypatch):
    """With hidden-state matching, a later link deeper than the student teaching it failed only after the
    links before it had trained (README: every link is checked before any training)."""
    teacher = Seq2SeqLM(tiny())
    with monkeypatch.context() as m:
        _no_compute(m)
        with pytest.raises(TandemError, match=r"chain link 2, taught by student 1: hidden-state matching"):
            distill_chain(
                teacher,
                ["shrink:1,1", tiny(encoder_layers=2, decoder_layers=1).to_dict()],
                toy_data(8),
                fast_cfg(epochs=1, hidden_weight=1.0),
                log=None,
            )
