"""Within-file document shuffling (Source.shuffle_docs) and what shapes a token cache's documents."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from tandem.data import PretrainStream, Reader, Source, build_cache
from tandem.data.sources import MAX_DOC_CHARS
from tandem.errors import TandemError
from tandem.objectives import AlexaTMObjective, CLMObjective

PAD, EOS, CLM, DOC = 1, 2, 4, 5


class NumTok:
    """Tokenizer stand-in: a text of integers encodes to those integers."""

    pad_id, eos_id, clm_id, doc_id, vocab_size = PAD, EOS, CLM, DOC, 10**7

    def encode(self, text: str, add_eos: bool = False) -> list[int]:
        return [int(w) for w in text.split()] + ([EOS] if add_eos else [])


TOK = NumTok()


def doc(src: int, k: int, n: int) -> str:
    """Document k of file src: n ids that say where they came from (origin() reads them back)."""
    return " ".join(str(src * 1_000_000 + k * 1000 + j + 7) for j in range(n))


def origin(token: int) -> tuple[int, int]:
    return (token - 7) // 1_000_000, ((token - 7) // 1000) % 1000


def write(path: Path, src: int, n: int, length=lambda k: 4 + k % 5) -> None:
    path.write_text("".join(doc(src, k, length(k)) + "\n" for k in range(n)))


def read_pass(src: Source, seed: int = 0, rank: int = 0, world_size: int = 1, cursor=None, **kw) -> list:
    """The items of one pass of a reader (from `cursor`), the epoch end excluded."""
    r = Reader(src, 0, seed=seed, rank=rank, world_size=world_size, cursor=cursor, **kw)
    out = []
    while (it := r.next()).kind != "epoch_end":
        out.append(it)
    r.close()
    return out


def firsts(items: list) -> list[tuple[int, int]]:
    return [origin(int(it.payload.split()[0])) for it in items if it.kind == "doc"]


def rows(batch: dict, key: str) -> list[list[int]]:
    return [[t for t in row if t not in (PAD, -100)] for row in batch[key].tolist()]


def batches_equal(a: list[dict], b: list[dict]) -> bool:
    return all(
        all(np.array_equal(x[k].numpy(), y[k].numpy()) for k in ("input_ids", "attention_mask", "labels"))
        and x["kind"] == y["kind"]
        for x, y in zip(a, b, strict=True)
    )


def test_each_block_of_a_file_is_a_seeded_permutation_of_its_records_new_each_epoch(tmp_path):
    """shuffle_docs=K: the first K records of the file come first, in another order, then the next K, ...
    Same seed, same order; another epoch or seed, another order. Before, documents came in file order."""
    write(tmp_path / "a.txt", 0, 50)
    src = Source(tmp_path / "a.txt", "en", shuffle_docs=8)
    got = [k for _, k in firsts(read_pass(src))]
    assert sorted(got) == list(range(50)) and got != list(range(50))
    for b in range(0, 50, 8):  # blocks of 8 consecutive records (the last one shorter), each permuted
        assert sorted(got[b : b + 8]) == list(range(b, min(b + 8, 50)))
    assert got == [k for _, k in firsts(read_pass(src))]  # deterministic
    assert got != [k for _, k in firsts(read_pass(src, seed=1))]
    r = Reader(src, 0, seed=0)
    epochs: list[list[int]] = [[], []]
    while len(epochs[1]) < 50:
        it = r.next()
        if it.kind == "doc":
            epochs[it.record[0]].append(origin(int(it.payload.split()[0]))[1])
    assert epochs[0] == got and sorted(epochs[1]) == list(range(50)) and epochs[1] != got
    assert [k for _, k in firsts(read_pass(Source(tmp_path / "a.txt", "en")))] == list(range(50))  # 0: off


def _same(a, b) -> bool:
    key = lambda it: (it.kind, it.payload, it.cursor, it.record, it.where)  # noqa: E731
    return key(a) == key(b)


def test_a_reader_reopened_at_any_cursor_continues_exactly_mid_block(tmp_path):
    """Whatever the cursor (mid-block, mid-piece of a split document, in a .gz file, before a damaged .gz
    file, for either rank), a reader reopened there gives exactly the items an uninterrupted pass gives."""
    d = tmp_path / "d"
    d.mkdir()
    write(d / "a.txt", 0, 23)
    write(d / "b.txt", 1, 17, length=lambda k: 60 if k == 5 else 4)  # a long document: split in pieces
    write(d / "c.txt", 2, 19)
    (d / "c.txt.gz").write_bytes(gzip.compress((d / "c.txt").read_bytes(), mtime=0))
    (d / "c.txt").unlink()
    data = gzip.compress("".join(doc(3, k, 12) + "\n" for k in range(900)).encode(), mtime=0)
    (d / "d.txt.gz").write_bytes(data[: len(data) // 2])  # cut short: some documents, then a bad file
    notes = 0
    for rank in (0, 1):
        src = Source(d, "en", shuffle_docs=6)
        items = read_pass(src, seed=4, rank=rank, world_size=2, max_doc_chars=100)
        assert sum(it.kind == "bad" and it.payload[0] == "bad_files" for it in items) == 1
        assert len({n for n, _ in firsts(items)}) == 4
        notes += sum(it.note is not None for it in items)
        for k in [*range(0, 80), *range(80, len(items) - 1, 97)]:
            cursor = json.loads(json.dumps(items[k].cursor))
            r = Reader(src, 0, seed=4, rank=rank, world_size=2, cursor=cursor, max_doc_chars=100)
            assert _same(r.next(), items[k + 1]), k
            r.close()
        whole = read_pass(src, seed=4, rank=rank, world_size=2, max_doc_chars=100)
        assert [it.payload for it in whole] == [it.payload for it in items]
    assert notes == 1  # b.txt's document 5, split on the rank it belongs to


def test_ranks_get_disjoint_documents_that_together_are_the_file_in_one_shuffled_order(tmp_path):
    """Records keep their number (and so their rank) when shuffled: ranks read disjoint documents whose
    union is the whole file, each rank in the order of the single-rank pass."""
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"text": doc(0, k, 4)}) + "\n" for k in range(61)))
    src = Source(tmp_path / "a.jsonl", "en", shuffle_docs=10)
    one = [k for _, k in firsts(read_pass(src, seed=2))]
    parts = [[k for _, k in firsts(read_pass(src, seed=2, rank=r, world_size=3))] for r in range(3)]
    assert sorted(k for p in parts for k in p) == list(range(61))
    for r, p in enumerate(parts):
        assert p == [k for k in one if k % 3 == r]


def _stream(path, rank=0, world_size=2, **kw):
    src = Source(path, "en", shuffle_docs=kw.pop("shuffle_docs", 16))
    return PretrainStream(
        [src], TOK, CLMObjective(CLM), 64, 6, seed=3, rank=rank, world_size=world_size, **kw
    )


@pytest.mark.parametrize("workers", [0, 2])
def test_two_ranks_with_tokeniser_workers_cover_the_file_once_and_resume_exactly(tmp_path, workers):
    """2 ranks x 2 tokeniser workers: every document of the file once, on one rank, not in file order; a
    checkpoint taken mid-block continues with the batches an uninterrupted run gives."""
    write(tmp_path / "a.txt", 0, 60)
    got: list[list[int]] = []
    for rank in range(2):
        s = _stream(tmp_path / "a.txt", rank, num_workers=workers)
        got.append([origin(r[1])[1] for _ in range(5) for r in rows(next(s), "input_ids")])  # 30 docs each
        s.close()
    assert not set(got[0]) & set(got[1]) and sorted(got[0] + got[1]) == list(range(60))
    assert got[0] != sorted(got[0])
    ref = _stream(tmp_path / "a.txt", 1)
    want = [next(ref) for _ in range(25)]  # five epochs of rank 1
    run = _stream(tmp_path / "a.txt", 1, num_workers=workers, prefetch_docs=5)
    for _ in range(7):
        next(run)
    cursor = run.state_dict()["cursors"][0]
    assert cursor["slot"] not in (0, 16)  # mid-block
    state = json.loads(json.dumps(run.state_dict()))
    run.close()
    resumed = _stream(tmp_path / "a.txt", 1, num_workers=workers, prefetch_docs=3)
    resumed.load_state_dict(state)
    assert batches_equal([next(resumed) for _ in range(18)], want[7:])
    resumed.close()


@pytest.mark.parametrize("rank, gz", [(0, False), (1, True)])
def test_a_token_cache_gives_the_shuffled_stream_of_its_text(tmp_path, rank, gz):
    """With shuffle_docs, a cache (of a folder of shards, with a skipped record, a decontaminated one and a
    long document cut in pieces) gives the batches its text gives, on every rank, and resumes exactly."""
    d = tmp_path / "shards"
    d.mkdir()
    for i in range(3):
        write(d / f"part{i}.txt", i, 25, length=lambda k, i=i: 70 if k == 3 + i else 5 + k % 6)
    lines = (d / "part1.txt").read_text().splitlines(True)
    (d / "part1.txt").write_text("".join(lines[:2] + ["\n"] + lines[2:]))  # a blank line: a skipped record
    if gz:
        for f in sorted(d.iterdir()):
            f.with_name(f.name + ".gz").write_bytes(gzip.compress(f.read_bytes(), mtime=0))
            f.unlink()
    evals = [doc(2, 9, 13)]  # part2's document 9 shares a 13-gram: removed
    build_cache(
        Source(d, "en", shuffle_docs=7), TOK, tmp_path / "cache", decontaminate=evals, max_doc_chars=200
    )

    def stream(path):
        src = Source(path, "en", shuffle_docs=7)
        obj = AlexaTMObjective(CLM)
        return PretrainStream(
            [src], TOK, obj, 24, 3, seed=4, rank=rank, world_size=2, decontaminate=evals, max_doc_chars=200
        )

    text, cache = stream(d), stream(tmp_path / "cache")
    assert batches_equal([next(text) for _ in range(40)], [next(cache) for _ in range(40)])
    src = Source(tmp_path / "cache", "en", shuffle_docs=7)
    items = read_pass(src, seed=4, rank=rank, world_size=2)
    assert len(items) > len({it.record for it in items})  # pieces of long documents
    for k in range(len(items) - 1):  # a cache reader reopened anywhere, pieces included, reads on exactly
        r = Reader(src, 0, seed=4, rank=rank, world_size=2, cursor=json.loads(json.dumps(items[k].cursor)))
        assert np.array_equal(r.next().payload, items[k + 1].payload)
    assert text.stats["epochs"]["en:shards"] >= 3 and text.stats["split_docs"] > 0
    plain = PretrainStream(
        [Source(d, "en")],
        TOK,
        AlexaTMObjective(CLM),
        24,
        3,
        seed=4,
        rank=rank,
        world_size=2,
        max_doc_chars=200,
    )
    assert not batches_equal([next(plain) for _ in range(10)], [next(stream(d)) for _ in range(10)])
    for _ in range(3):  # checkpoints at several places inside blocks
        next(text), next(cache)
        state = json.loads(json.dumps(cache.state_dict()))
        resumed = stream(tmp_path / "cache")
        resumed.load_state_dict(state)
        ref = [next(text) for _ in range(4)]
        assert batches_equal(ref, [next(resumed) for _ in range(4)])
        assert batches_equal(ref, [next(cache) for _ in range(4)])


def test_cursors_saved_without_shuffle_docs_still_resume(tmp_path):
    """A cursor from before shuffle_docs (or with it off) in the middle of a file reads the rest of that
    file in file order, then shuffles; one at a file's start shuffles at once."""
    d = tmp_path / "d"
    d.mkdir()
    write(d / "a.txt", 0, 20)
    write(d / "b.txt", 1, 20)
    old = read_pass(Source(d, "en", shuffle_files=False))
    mid = old[5].cursor
    assert "block" not in mid and "slot" not in mid
    src = Source(d, "en", shuffle_files=False, shuffle_docs=5)
    rest = firsts(read_pass(src, cursor=mid))
    assert rest[:14] == [(0, k) for k in range(6, 20)]  # as before
    assert sorted(rest[14:]) == [(1, k) for k in range(20)] and rest[14:] != sorted(rest[14:])
    assert firsts(read_pass(src, cursor=old[19].cursor)) == firsts(read_pass(src))[20:]  # b.txt's start
    build_cache(Source(d, "en"), TOK, tmp_path / "cache")
    cache = Source(tmp_path / "cache", "en", format="tokens", shuffle_files=False, shuffle_docs=5)
    items = read_pass(Source(tmp_path / "cache", "en", format="tokens", shuffle_files=False))
    rest = [origin(int(it.payload[0])) for it in read_pass(cache, cursor=items[5].cursor)]
    assert rest[:14] == [(0, k) for k in range(6, 20)] and sorted(rest[14:]) == [(1, k) for k in range(20)]


def test_a_flat_token_cache_and_a_dataset_are_shuffled_in_blocks_too(tmp_path):
    """Sources read by row (a Hugging Face dataset, a cache built before caches recorded their files) are
    shuffled in blocks of rows and resume mid-block."""
    write(tmp_path / "a.txt", 0, 30)
    build_cache(Source(tmp_path / "a.txt", "en"), TOK, tmp_path / "cache")
    meta = json.loads((tmp_path / "cache" / "meta.json").read_text())
    del meta["files"]  # an older cache: read in cache order
    (tmp_path / "cache" / "meta.json").write_text(json.dumps(meta))
    src = Source(tmp_path / "cache", "en", format="tokens", shuffle_docs=8)
    items = read_pass(src)
    got = [origin(int(it.payload[0]))[1] for it in items]
    assert sorted(got) == list(range(30)) and got != list(range(30)) and sorted(got[:8]) == list(range(8))
    for k in range(len(items) - 1):
        r = Reader(src, 0, seed=0, cursor=items[k].cursor)
        assert np.array_equal(r.next().payload, items[k + 1].payload)
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_dict({"text": [doc(0, k, 4) for k in range(30)]}).save_to_disk(tmp_path / "ds")
    src = Source(tmp_path / "ds", "en", format="hf", shuffle_docs=8)
    items = read_pass(src, rank=1, world_size=2)
    got = [k for _, k in firsts(items)]
    assert sorted(got) == list(range(1, 30, 2)) and got != sorted(got)
    for k in range(len(items) - 1):
        r = Reader(src, 0, seed=0, rank=1, world_size=2, cursor=items[k].cursor)
        assert r.next().payload == items[k + 1].payload


def test_a_token_cache_read_in_another_order_than_its_text_source_is_refused(tmp_path):
    """A cache built from a source with shuffle_docs (or shuffle_files) gave, read with other values (the
    cache source's defaults), other batches than its text source, silently. meta.json records them now, and a
    stream refuses the mismatch saying what to give; with the values, it gives the text's batches."""
    write(tmp_path / "a.txt", 0, 40)
    text = Source(tmp_path / "a.txt", "en", shuffle_docs=8)
    build_cache(text, TOK, tmp_path / "cache")
    meta = json.loads((tmp_path / "cache" / "meta.json").read_text())
    assert (meta["shuffle_docs"], meta["shuffle_files"]) == (8, True)

    def make(src):
        return PretrainStream([src], TOK, CLMObjective(CLM), 16, 4, seed=3)

    with pytest.raises(
        TandemError, match=r"shuffle_docs=8 \(this source: 0\).*give the cache source shuffle_docs=8"
    ):
        make(Source(tmp_path / "cache", "en"))
    with pytest.raises(TandemError, match=r"shuffle_files=True \(this source: False\)"):
        make(Source(tmp_path / "cache", "en", shuffle_docs=8, shuffle_files=False))
    ref = make(text)
    cache = make(Source(tmp_path / "cache", "en", shuffle_docs=8))
    assert batches_equal([next(ref) for _ in range(8)], [next(cache) for _ in range(8)])
    del meta["shuffle_docs"], meta["shuffle_files"]  # a cache built before caches recorded them
    (tmp_path / "cache" / "meta.json").write_text(json.dumps(meta))
    make(Source(tmp_path / "cache", "en"))


@pytest.mark.parametrize("value", [-1, "1000", 2.5, True])
def test_a_bad_shuffle_docs_is_a_clear_error(value):
    with pytest.raises(TandemError, match=r"source x.txt: shuffle_docs must be an integer >= 0"):
        Source.coerce({"path": "x.txt", "lang": "en", "shuffle_docs": value})
    assert Source.coerce({"path": "x.txt", "lang": "en", "shuffle_docs": 1000}).shuffle_docs == 1000
    from tandem.train.trainer import TrainConfig  # a pretrain config's data entry is checked as it loads

    cfg = TrainConfig.from_dict({"data": [{"path": "x.txt", "lang": "en", "shuffle_docs": value}]})
    with pytest.raises(TandemError, match="shuffle_docs must be an integer >= 0"):
        cfg.validate()


def test_a_token_cache_cut_at_another_max_doc_chars_is_refused(tmp_path):
    """A cache holds documents cut at the max_doc_chars it was built with: a stream with another one gave
    other documents from the cache than from the text. Now it is refused (saying what to do), unless no
    document is long enough to be cut by either; a cache built with the stream's value gives its batches."""
    f = tmp_path / "a.txt"
    write(f, 0, 20, length=lambda k: 60 if k == 4 else 5)  # document 4: 299 characters
    build_cache(Source(f, "en"), TOK, tmp_path / "default")
    meta = json.loads((tmp_path / "default" / "meta.json").read_text())
    assert meta["max_doc_chars"] == MAX_DOC_CHARS and meta["longest_doc_chars"] == len(doc(0, 4, 60)) == 299

    def make(path, n):
        return PretrainStream([Source(path, "en")], TOK, CLMObjective(CLM), 16, 4, max_doc_chars=n)

    with pytest.raises(
        TandemError, match=r"max_doc_chars=1,000,000.*max_doc_chars=100; rebuild it with build_cache"
    ):
        make(tmp_path / "default", 100)
    make(tmp_path / "default", 299)  # no document is cut either way
    build_cache(Source(f, "en"), TOK, tmp_path / "cut", max_doc_chars=100)
    with pytest.raises(TandemError, match="max_doc_chars=100"):
        make(tmp_path / "cut", MAX_DOC_CHARS)
    text, cache = make(f, 100), make(tmp_path / "cut", 100)
    assert batches_equal([next(text) for _ in range(8)], [next(cache) for _ in range(8)])
    assert text.stats["split_docs"] == 1
    del meta["max_doc_chars"], meta["longest_doc_chars"]  # a cache built before caches recorded them
    (tmp_path / "default" / "meta.json").write_text(json.dumps(meta))
    make(tmp_path / "default", MAX_DOC_CHARS)
    with pytest.raises(TandemError, match="does not record the max_doc_chars"):
        make(tmp_path / "default", 100)
    with pytest.raises(TandemError, match="max_doc_chars must be an integer"):
        build_cache(Source(f, "en"), TOK, tmp_path / "x", max_doc_chars=0)
