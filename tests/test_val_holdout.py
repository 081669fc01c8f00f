"""A validation set held out of `--data` (`--val-holdout F`): which documents are held out is a function of
their text and the seed alone, the training stream never gives one of them (text or token cache, any ranks or
workers, across a resume), the validation set is drawn from them only, and the share is F."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from tandem.cli import main
from tandem.data import PretrainStream, Source, build_cache
from tandem.data.stream import is_held_out
from tandem.errors import TandemError
from tandem.objectives import DenoiseObjective
from test_data import DOC, EOS, TOK, batches_equal, origin, rows, write_docs

F, SEED = 0.2, 3


def _text(doc: list[int]) -> str:
    return " ".join(map(str, doc))


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, list[list[int]], set[int]]:
    """300 documents of distinct ids (`origin` names each) and the indices of those held out."""
    path = tmp_path / "en.txt"
    docs = write_docs(path, 0, [4 + k % 11 for k in range(300)])
    held = {k for k, d in enumerate(docs) if is_held_out(_text(d), F, SEED)}
    assert 30 < len(held) < 90  # both sides of the split are well populated
    return path, docs, held


def _stream(src, split: str = "train", rank: int = 0, world: int = 2, **kw) -> PretrainStream:
    return PretrainStream(
        [src],
        TOK,
        DenoiseObjective(drop_rate=0.0),  # labels are the packed documents themselves
        seq_len=48,
        batch_size=4,
        seed=SEED,
        rank=rank,
        world_size=world,
        holdout=F,
        holdout_split=split,
        **kw,
    )


def _documents_of_one_pass(stream: PretrainStream) -> set[int]:
    """The documents (by content) in the labels of the batches of one pass over the source, and a few past."""
    seen: set[int] = set()
    extra = 3
    while extra:
        for row in rows(next(stream), "labels"):
            seen |= {origin(t)[1] for t in row if t not in (DOC, EOS)}
        if sum(stream.stats["epochs"].values()) >= 1:
            extra -= 1
    stream.close()
    return seen


@pytest.mark.parametrize(
    "how", ["text", "2 workers", "shuffled blocks", "token cache", "token cache, 2 workers"]
)
def test_the_training_stream_never_gives_a_held_out_document_and_the_split_is_the_same_however_read(
    tmp_path, corpus, how
):
    """Under 1 and 2 ranks, 0 or 2 tokeniser workers, shuffled reading and from a token cache: the training
    batches hold exactly the documents not held out, the validation side exactly the held-out ones (each
    checked by content), and each held-out document is counted once as held_out."""
    path, docs, held = corpus
    src = Source(path, "en", shuffle_docs=16 if how == "shuffled blocks" else 0)
    if "cache" in how:
        build_cache(src, TOK, tmp_path / "cache")
        src = Source(tmp_path / "cache", "en", format="tokens")
    kw = {"num_workers": 2} if "2 workers" in how else {}
    everything = set(range(len(docs)))
    for world in (1, 2):
        trained, counted = set(), 0
        for rank in range(world):
            stream = _stream(src, rank=rank, world=world, **kw)
            trained |= _documents_of_one_pass(stream)
            counted += stream.stats["held_out"]
        assert trained == everything - held, (how, world)
        assert counted == len(held)
    val = _stream(src, "val", world=1, **kw)
    assert _documents_of_one_pass(val) == held
    assert (val.stats["held_out"], val.stats["not_held_out"]) == (len(held), len(docs) - len(held))


def test_the_held_out_share_is_within_binomial_bounds_and_follows_the_seed():
    """Over 20,000 distinct texts the held-out count is Binomial(n, F): within 5 standard deviations of n F
    for F = 0.1 and 0.005 (a stream over a file counts the same); another seed holds out another set, as
    independent as two draws (overlap about n F^2)."""
    rng = random.Random(0)
    texts = [f"{k} " + " ".join(str(rng.randrange(10**6)) for _ in range(5)) for k in range(20_000)]
    n = len(texts)
    for frac in (0.1, 0.005):
        got = sum(is_held_out(t, frac, SEED) for t in texts)
        assert abs(got - n * frac) <= 5 * math.sqrt(n * frac * (1 - frac)), (frac, got)
    a = {t for t in texts if is_held_out(t, 0.1, SEED)}
    b = {t for t in texts if is_held_out(t, 0.1, SEED + 1)}
    assert a != b
    assert abs(len(a & b) - n * 0.01) <= 5 * math.sqrt(n * 0.01)
    assert not any(is_held_out(t, 0.0, SEED) for t in texts[:100])


def test_a_stream_with_a_held_out_split_resumes_exactly_and_refuses_another_split(tmp_path, corpus):
    path, _, _ = corpus
    for workers in (0, 2):
        ref = _stream(Source(path, "en"), world=1, num_workers=workers)
        want = [next(ref) for _ in range(40)]  # several passes
        assert sum(ref.stats["epochs"].values()) >= 2
        ref.close()
        run = _stream(Source(path, "en"), world=1, num_workers=workers)
        got = [next(run) for _ in range(13)]
        state = json.loads(json.dumps(run.state_dict()))
        run.close()
        resumed = _stream(Source(path, "en"), world=1, num_workers=workers)
        resumed.load_state_dict(state)
        got += [next(resumed) for _ in range(27)]
        resumed.close()
        assert batches_equal(got, want)
        assert resumed.stats["held_out"] == ref.stats["held_out"]
    other = PretrainStream(
        [Source(path, "en")], TOK, DenoiseObjective(drop_rate=0.0), seq_len=48, batch_size=4, seed=SEED
    )
    with pytest.raises(TandemError, match="holdout=0.2"):
        other.load_state_dict(state)


def test_a_token_cache_without_text_hashes_is_refused_for_a_held_out_split(tmp_path, corpus):
    path, _, _ = corpus
    build_cache(Source(path, "en"), TOK, tmp_path / "cache")
    (tmp_path / "cache" / "hashes.npy").unlink()  # as a cache built by an older tandem
    src = Source(tmp_path / "cache", "en", format="tokens")
    with pytest.raises(TandemError, match="text hashes.*rebuild it with build_cache"):
        _stream(src)
    PretrainStream([src], TOK, DenoiseObjective(), seq_len=48, batch_size=4)  # without one: read as before


def test_the_tokenizer_is_trained_without_the_held_out_documents(corpus):
    from tandem.train.trainer import _source_texts

    path, docs, held = corpus
    texts = list(_source_texts([Source(path, "en")], holdout=(F, SEED)))
    assert texts == [_text(d) for k, d in enumerate(docs) if k not in held]


# -- tandem pretrain --val-holdout ------------------------------------------------------------------------------

WORDS = "the cat sat on a mat and looked at one small red bird in the old green tree today".split()


def _lines(path: Path, n: int, seed: int) -> str:
    rng = random.Random(seed)
    lines = {" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))) for _ in range(3 * n)}
    path.write_text("".join(x + "\n" for x in sorted(lines)[:n]), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def tokdir(tmp_path_factory):
    from tandem.tokenizer import Tokenizer

    rng = random.Random(1)
    lines = [" ".join(rng.choice(WORDS) for _ in range(10)) for _ in range(200)]
    d = tmp_path_factory.mktemp("tok") / "tok"
    Tokenizer.train(iter(lines), vocab_size=40, byte_fallback=False).save(d)
    return str(d)


def _argv(tokdir: str, data: str, out: Path, *more: str) -> list[str]:
    argv = ["pretrain", "--model-overrides", '{"d_model": 32, "ffn_dim": 64, "num_heads": 2}']
    argv += ["--data", f"en:{data}", "--tokenizer", tokdir, "--batch-size", "4", "--seq-len", "24"]
    argv += ["--steps", "6", "--ckpt-every", "3", "--log-every", "1", "--val-every", "2", "--seed", "7"]
    argv += ["--no-progress", "--no-tensorboard", "--no-plot", "--out", str(out)]
    return argv + list(more)


def _rows(out: Path) -> list[dict]:
    timing = ("tokens_per_s", "target_tokens_per_s", "time_per_step_s", "val_time_s")
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(x).items() if k not in timing} for x in lines]


def test_pretrain_val_holdout_validates_from_step_0_and_resumes_exactly(tmp_path, tokdir, capsys):
    """The run logs val rows at step 0 and every --val-every steps; stopped after 3 steps and resumed it logs
    the uninterrupted run's rows (step 0 once); data_stats.json counts the held-out documents, which are
    as many as is_held_out picks."""
    data = _lines(tmp_path / "en.txt", 60, 0)
    held = sum(is_held_out(x, 0.25, 7) for x in Path(data).read_text().splitlines())
    flags = ("--val-holdout", "0.25", "--val-examples", "8", "--batch-size", "8")
    assert main(_argv(tokdir, data, tmp_path / "whole", *flags)) == 0
    whole = _rows(tmp_path / "whole")
    assert [r["step"] for r in whole if "val_loss" in r] == [0, 2, 4, 6]
    assert all(r["val_examples"] == 8 for r in whole if "val_loss" in r)
    assert sum(r["val_loss"] < whole[0]["val_loss"] for r in whole[1:] if "val_loss" in r) >= 2  # it learns
    stats = json.loads((tmp_path / "whole" / "data_stats.json").read_text())
    assert stats["held_out"] == held > 0  # the run read its file through: every held-out document once
    assert "documents held out" in capsys.readouterr().err

    part = _argv(tokdir, data, tmp_path / "resumed", *flags)
    assert main([*part, "--stop-after", "3"]) == 0
    assert main([*part, "--resume"]) == 0
    assert _rows(tmp_path / "resumed") == whole
    # started over in the same folder: one step-0 row, not the earlier run's as well
    assert main([*part, "--overwrite"]) == 0
    assert _rows(tmp_path / "resumed") == whole


def test_pretrain_val_holdout_refuses_val_data_and_says_when_too_few_are_held_out(tmp_path, tokdir, capsys):
    data = _lines(tmp_path / "en.txt", 120, 0)
    out = tmp_path / "both"
    assert main(_argv(tokdir, data, out, "--val-holdout", "0.1", "--val-data", f"en:{data}")) == 2
    assert "--val-holdout" in capsys.readouterr().err and not (out / "metrics.jsonl").exists()
    for bad in ("0", "1", "1.5"):
        assert main(_argv(tokdir, data, tmp_path / f"bad{bad}", "--val-holdout", bad)) == 2
        assert "val_holdout (--val-holdout) must be a share" in capsys.readouterr().err

    # few documents held out: a warning with their count, and the run goes on with what they give
    lines = Path(data).read_text().splitlines()
    held = sum(is_held_out(x, 0.05, 7) for x in lines)
    assert 0 < held < 10
    few = _argv(
        tokdir, data, tmp_path / "few", "--val-holdout", "0.05", "--val-examples", "500", "--steps", "2"
    )
    assert main(few) == 0
    out_err = capsys.readouterr()
    err = out_err.err
    assert f"holds out only {held} documents" in err and "not --val-examples 500" in err, err
    # to find them it read the whole file: said with the count (a small share of a big corpus takes long)
    assert f"from {held} held-out documents of {data} (found among 120 documents read in " in out_err.out

    # none held out: a clear error before training
    tiny = tmp_path / "tiny.txt"
    kept = [x for x in lines if not is_held_out(x, 0.01, 7)][:5]
    tiny.write_text("".join(x + "\n" for x in kept))
    out = tmp_path / "none"
    assert main(_argv(tokdir, str(tiny), out, "--val-holdout", "0.01")) == 2
    err = capsys.readouterr().err
    assert "none of the 5 documents" in err and "raise --val-holdout" in err, err
    assert not (out / "checkpoints").exists()
