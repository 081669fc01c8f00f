"""Data pipeline: sources, language sampling, packing, determinism, exact resume, sharding, bad input."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import subprocess
import sys
import types
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from tandem.data import (
    Decontaminator,
    PretrainStream,
    Reader,
    Seq2SeqStream,
    Source,
    build_cache,
    language_weights,
)
from tandem.data.decontam import ngrams, words
from tandem.data.sources import resolve_files, source_size
from tandem.errors import TandemError
from tandem.objectives import AlexaTMObjective, CLMObjective, DenoiseObjective

PAD, EOS, CLM, DOC = 1, 2, 4, 5


class NumTok:
    """Tokenizer stand-in: a text of integers encodes to those integers (reversible, process-independent)."""

    pad_id, eos_id, clm_id, doc_id, vocab_size = PAD, EOS, CLM, DOC, 10**7

    def encode(self, text: str, add_eos: bool = False) -> list[int]:
        return [int(w) for w in text.split()] + ([EOS] if add_eos else [])

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        return " ".join(str(i) for i in ids if not (skip_special_tokens and i < 7))


TOK = NumTok()


def doc_tokens(src: int, k: int, n: int) -> list[int]:
    """Document k of source src: n unique ids that say where they came from."""
    return [src * 1_000_000 + k * 1000 + j + 7 for j in range(n)]


def write_docs(path: Path, src: int, lengths: list[int]) -> list[list[int]]:
    docs = [doc_tokens(src, k, n) for k, n in enumerate(lengths)]
    path.write_text("".join(" ".join(map(str, d)) + "\n" for d in docs))
    return docs


def gzip_files(folder: Path, members: int = 1) -> None:
    """Replace every file of `folder` by its gzip (NAME.gz), written as `members` gzip members one after
    another (a valid gzip file, as appending or pigz make them)."""
    for f in sorted(folder.iterdir()):
        data = f.read_bytes()
        cuts = [len(data) * k // members for k in range(members + 1)]
        f.with_name(f.name + ".gz").write_bytes(
            b"".join(gzip.compress(data[a:b], compresslevel=1, mtime=0) for a, b in itertools.pairwise(cuts))
        )
        f.unlink()


def origin(token: int) -> tuple[int, int]:
    return (token - 7) // 1_000_000, ((token - 7) // 1000) % 1000


def rows(batch: dict, key: str) -> list[list[int]]:
    out = []
    for row in batch[key].tolist():
        out.append([t for t in row if t not in (PAD, -100)])
    return out


def batches_equal(a: list[dict], b: list[dict]) -> bool:
    return all(
        all(np.array_equal(x[k].numpy(), y[k].numpy()) for k in ("input_ids", "attention_mask", "labels"))
        and x["kind"] == y["kind"]
        for x, y in zip(a, b, strict=True)
    )


@pytest.fixture
def corpus(tmp_path: Path) -> dict:
    rng = np.random.default_rng(0)
    out = {}
    for s, lang in enumerate(["en", "de", "fr"]):
        lengths = rng.integers(3, 40, size=60).tolist()
        out[lang] = (tmp_path / f"{lang}.txt", write_docs(tmp_path / f"{lang}.txt", s, lengths))
    return out


# -- language weights -----------------------------------------------------------------------------------------
def test_language_weights_hand_computed():
    w = language_weights({"en": 100, "sw": 25}, 0.5)  # sqrt: 10 and 5
    assert w == pytest.approx({"en": 2 / 3, "sw": 1 / 3})
    assert language_weights({"a": 9, "b": 1}, 1.0) == pytest.approx({"a": 0.9, "b": 0.1})
    assert language_weights({"a": 9, "b": 1}, 0.0) == pytest.approx({"a": 0.5, "b": 0.5})
    assert language_weights({"a": 4, "b": 0}, 0.5) == {"a": 1.0, "b": 0.0}
    with pytest.raises(TandemError):
        language_weights({"a": 0}, 0.5)
    with pytest.raises(TandemError):
        language_weights({"a": -1, "b": 2}, 0.5)


def test_stream_samples_languages_with_alpha_and_sources_with_upsampling(corpus, tmp_path):
    web = tmp_path / "en_web.txt"
    write_docs(web, 3, [10] * 60)
    sources = [
        Source(corpus["en"][0], "en", size=100, upsample=10, name="en-wiki"),  # 100 x 10 = 1000
        Source(web, "en", size=1000, name="en-web"),
        Source(corpus["de"][0], "de", size=500),
    ]
    # language sizes 2000 vs 500 -> sqrt -> 2/3, 1/3; within en, wiki and web 1/2 each
    stream = PretrainStream(sources, TOK, CLMObjective(CLM), seq_len=64, batch_size=50, seed=1)
    assert stream.lang_probs == pytest.approx({"en": 2 / 3, "de": 1 / 3})
    counts = {0: 0, 1: 0, 3: 0}
    for _ in range(12):
        for r in rows(next(stream), "labels"):
            counts[origin(r[0])[0]] += 1
    n = sum(counts.values())
    assert abs((counts[0] + counts[3]) / n - 2 / 3) < 0.05  # binomial sd 0.014
    assert abs(counts[0] / (counts[0] + counts[3]) - 0.5) < 0.06


# -- packing ----------------------------------------------------------------------------------------------------
def test_denoise_rows_pack_documents_with_doc_separators(corpus):
    path, docs = corpus["en"]
    stream = PretrainStream(
        [Source(path, "en")], TOK, DenoiseObjective(drop_rate=0.0), seq_len=48, batch_size=4
    )
    stream_tokens: list[int] = []
    for _ in range(6):
        b = next(stream)
        assert b["input_ids"].shape == (4, 48) and b["labels"].shape == (4, 48)
        for src, tgt, m in zip(
            rows(b, "input_ids"), rows(b, "labels"), b["attention_mask"].tolist(), strict=True
        ):
            assert tgt[-1] == EOS and src[-1] == EOS  # EOS after target and source
            assert len(tgt) == 48 and src == tgt  # full rows: 47 packed tokens + EOS; drop_rate 0
            assert sum(m) == len(src)
            stream_tokens.extend(tgt[:-1])
    expected: list[int] = []
    for d in docs:
        expected.extend([*d, DOC])
    assert stream_tokens == expected[: len(stream_tokens)]  # consecutive chunks of d1 [DOC] d2 [DOC] ...
    assert len(stream_tokens) > 400  # the chunks crossed many document boundaries
    assert stream.stats["examples"]["denoise"] == 24


def test_clm_rows_are_single_documents_never_packed(corpus):
    path, docs = corpus["en"]
    stream = PretrainStream(
        [Source(path, "en")], TOK, CLMObjective(CLM), seq_len=32, batch_size=8, pad_to_max=False
    )
    seen = []
    for _ in range(5):
        b = next(stream)
        for src, tgt in zip(rows(b, "input_ids"), rows(b, "labels"), strict=True):
            assert src[0] == CLM and src[-1] == EOS and tgt[-1] == EOS
            text = src[1:-1] + tgt[:-1]
            assert DOC not in text
            assert len({origin(t) for t in text}) == 1  # one document
            k = origin(text[0])[1]
            start = docs[k].index(text[0])
            assert text == docs[k][start : start + len(text)]
            assert len(text) <= 32 - 2  # [CLM] and EOS on the source leave 30
            seen.extend(text)
    # in file order: a document longer than a row goes on in the next row (its rest is not lost)
    assert seen == [t for d in docs for t in d][: len(seen)]


def test_long_clm_document_leftover_feeds_packing(tmp_path):
    write_docs(tmp_path / "a.txt", 0, [100])
    doc = doc_tokens(0, 0, 100)
    obj = AlexaTMObjective(CLM, denoise_prob=0.5, drop_rate=0.0)
    stream = PretrainStream([Source(tmp_path / "a.txt", "en")], TOK, obj, seq_len=40, batch_size=1, seed=3)
    seen = []
    for _ in range(20):
        b = next(stream)
        src, tgt = rows(b, "input_ids")[0], rows(b, "labels")[0]
        seen.append((b["kind"][0], src[1:-1] + tgt[:-1] if b["kind"][0] == "clm" else tgt[:-1]))
    first_clm = next(i for i, (k, _) in enumerate(seen) if k == "clm")
    assert seen[first_clm][1] == doc[:38]  # a fresh document, cut to fit (40 - [CLM] - EOS)
    assert first_clm == 0  # with this seed, so the packing buffer was empty before the CLM row
    # the cut-off rest is the next document, not dropped: a CLM row goes on with it (38 tokens; with this seed),
    # and the packed row after that packs what is left of it (24 tokens, [DOC], the next document)
    assert seen[1] == ("clm", doc[38:76])
    following = next(t for k, t in seen[2:] if k == "denoise")
    assert following[:25] == doc[76:100] + [DOC]


def test_clm_rows_go_on_with_the_rest_of_a_long_document_and_the_state_stays_small(tmp_path):
    """--objective clm never packs: the rests of long documents used to pile up in the packing buffer (and in
    every checkpoint) without bound and were never trained on. A rest is the next CLM row's document."""
    docs = write_docs(tmp_path / "a.txt", 0, [100, 51, 7, 90])
    make = lambda: PretrainStream(  # noqa: E731
        [Source(tmp_path / "a.txt", "en")], TOK, CLMObjective(CLM), seq_len=24, batch_size=3, seed=1
    )
    stream = make()
    pieces = []
    for n in range(40):
        if n == 7:  # a checkpoint inside a document's rests resumes exactly
            state = json.loads(json.dumps(stream.state_dict()))
            resumed = make()
            resumed.load_state_dict(state)
            ahead = [next(resumed) for _ in range(5)]
        b = next(stream)
        if 7 <= n < 12:
            assert batches_equal([b], [ahead[n - 7]])
        for src, tgt in zip(rows(b, "input_ids"), rows(b, "labels"), strict=True):
            pieces.append(src[1:-1] + tgt[:-1])  # [CLM] ... EOS, ... EOS
        state = stream.state_dict()
        held = sum(map(len, state["buffers"].values())) + sum(
            len(r) for v in state.get("rests", {}).values() for r in v
        )
        assert held < 100  # at most one document's rest
    text = [t for p in pieces for t in p]
    one_pass = [t for d in docs for t in d]
    assert text[: 3 * len(one_pass)] == one_pass * 3  # every token, in order, epoch after epoch
    assert all(3 <= len(p) <= 22 for p in pieces)  # no rest shorter than min_doc_tokens (100 = 4 x 22 + 12)


def test_alexatm_on_documents_much_longer_than_a_row_keeps_its_packing_buffer_bounded(tmp_path):
    """With documents many rows long, 20% CLM rows cut off more than 80% packed rows use: the rests filled the
    packing buffer without bound (FLORES paragraphs of 20 sentences at --seq-len 128: 880k tokens after 300
    batches of 16)."""
    write_docs(tmp_path / "a.txt", 0, [900] * 5)
    stream = PretrainStream(
        [Source(tmp_path / "a.txt", "en")], TOK, AlexaTMObjective(CLM), seq_len=24, batch_size=8, seed=0
    )
    for _ in range(60):
        next(stream)
        state = stream.state_dict()
        buffered = sum(map(len, state["buffers"].values()))
        rests = sum(len(r) for v in state.get("rests", {}).values() for r in v)
        assert buffered <= 22 + 900 and rests <= 900
    assert stream.stats["examples"]["clm"] > 50


# -- determinism, resume ---------------------------------------------------------------------------------------
def _alexatm_stream(corpus, **kw):
    sources = [Source(p, lang) for lang, (p, _) in corpus.items()]
    kw.setdefault("seed", 5)
    return PretrainStream(sources, TOK, AlexaTMObjective(CLM), seq_len=40, batch_size=6, **kw)


def test_same_seed_same_batches_other_seed_other_batches(corpus):
    s1, s2 = _alexatm_stream(corpus), _alexatm_stream(corpus)
    assert batches_equal([next(s1) for _ in range(5)], [b for _, b in zip(range(5), s2)])
    assert not batches_equal([next(_alexatm_stream(corpus))], [next(_alexatm_stream(corpus, seed=6))])


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_from_state_dict_continues_exactly(corpus, workers):
    ref = _alexatm_stream(corpus)
    ref_batches = [next(ref) for _ in range(30)]  # several epochs of every source
    run = _alexatm_stream(corpus, num_workers=workers, prefetch_docs=7)
    for _ in range(11):
        next(run)
    state = json.loads(json.dumps(run.state_dict()))  # a checkpoint round-trip
    run.close()
    resumed = _alexatm_stream(corpus, num_workers=workers, prefetch_docs=5)
    resumed.load_state_dict(state)
    got = [next(resumed) for _ in range(19)]
    resumed.close()
    assert batches_equal(got, ref_batches[11:])
    assert resumed.stats["examples"] == ref.stats["examples"]
    assert resumed.stats["docs"] == ref.stats["docs"]
    assert sum(ref.stats["epochs"].values()) >= 3  # the resume crossed epoch boundaries


def test_resume_rejects_other_settings(corpus):
    state = _alexatm_stream(corpus).state_dict()
    with pytest.raises(TandemError, match="rank"):
        _alexatm_stream(corpus, rank=1, world_size=2).load_state_dict(state)
    other = PretrainStream([Source(corpus["en"][0], "en")], TOK, AlexaTMObjective(CLM), 40, 6, seed=5)
    with pytest.raises(TandemError, match="sources"):
        other.load_state_dict(state)


@pytest.mark.parametrize("gz", [False, True])
def test_multi_file_source_resumes_across_files(tmp_path, gz):
    d = tmp_path / "shards"
    d.mkdir()
    for i in range(4):
        write_docs(d / f"part{i}.txt", i, [5 + i] * 7)
    if gz:  # .txt.gz shards: the cursor's offset is in the decompressed text
        gzip_files(d)
    make = lambda: PretrainStream([Source(d, "en")], TOK, CLMObjective(CLM), seq_len=20, batch_size=3, seed=2)  # noqa: E731
    ref = make()
    ref_b = [next(ref) for _ in range(25)]
    run = make()
    for _ in range(8):
        next(run)
    resumed = make()
    resumed.load_state_dict(run.state_dict())
    assert batches_equal([next(resumed) for _ in range(17)], ref_b[8:])
    # file order is reshuffled each epoch (seeded), so the second pass differs from the first
    first = [origin(r[1])[0] for b in ref_b[:10] for r in rows(b, "input_ids")][:28]
    second = [origin(r[1])[0] for b in ref_b[10:20] for r in rows(b, "input_ids")][-28:]
    assert first != second


# -- sharding --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["txt", "jsonl"])
def test_ranks_read_disjoint_documents_whose_union_is_complete(tmp_path, fmt):
    path = tmp_path / f"c.{fmt}"
    docs = [doc_tokens(0, k, 4) for k in range(50)]
    if fmt == "txt":
        path.write_text("".join(" ".join(map(str, d)) + "\n" for d in docs))
    else:
        path.write_text("".join(json.dumps({"body": " ".join(map(str, d))}) + "\n" for d in docs))
    seen = []
    for rank in range(3):
        r = Reader(Source(path, "en", field="body"), 0, seed=0, rank=rank, world_size=3)
        mine = []
        while (it := r.next()).kind != "epoch_end":
            mine.append(TOK.encode(it.payload if fmt == "txt" else it.payload)[0])
        seen.append({origin(t)[1] for t in mine})
    assert all(not (seen[i] & seen[j]) for i in range(3) for j in range(i + 1, 3))
    assert set().union(*seen) == set(range(50))


def test_stream_ranks_cover_the_corpus_once(corpus):
    path, docs = corpus["en"]
    got: list[int] = []
    for rank in range(2):
        s = PretrainStream(
            [Source(path, "en")], TOK, CLMObjective(CLM), seq_len=64, batch_size=6, rank=rank, world_size=2
        )
        for _ in range(5):  # 30 rows = this rank's 30 documents
            got.extend(origin(r[1])[1] for r in rows(next(s), "input_ids"))
    assert sorted(got) == list(range(len(docs)))


def test_a_stream_resharded_to_another_number_of_ranks_skips_no_document(corpus):
    """load_resharded (a resume under another world size) goes on from the slowest saved rank's position:
    no document is skipped, only those a faster rank had read since are seen again; buffers and counts
    carry over once."""
    path, docs = corpus["en"]
    make = lambda rank, world: PretrainStream(  # noqa: E731
        [Source(path, "en")], TOK, CLMObjective(CLM), 64, 6, rank=rank, world_size=world
    )

    def draw(s, n):  # the documents of n batches (one per CLM row)
        return [origin(r[1])[1] for _ in range(n) for r in rows(next(s), "input_ids")]

    # 2 -> 1: rank 0 read records 0, 2, ..., 34, rank 1 (slower) 1, 3, ..., 23
    old = [make(0, 2), make(1, 2)]
    before = draw(old[0], 3) + draw(old[1], 2)
    states = [json.loads(json.dumps(s.state_dict())) for s in old]
    one = make(0, 1)
    one.load_resharded(states)
    after = draw(one, 6)
    assert after == list(range(24, 60))  # from the slowest rank's position on, in order
    assert sorted(set(before) | set(after)) == list(range(len(docs)))
    assert one.stats["docs"]["en"] == 30 + 36 and one.stats["batches"] == 3 + 6
    # 1 -> 2: the two ranks share the rest of the epoch, one document each
    single = make(0, 1)
    before = draw(single, 4)
    state = json.loads(json.dumps(single.state_dict()))
    two = [make(0, 2), make(1, 2)]
    for s in two:
        s.load_resharded([state])
    after = [draw(s, 3) for s in two]
    assert after == [list(range(24, 60, 2)), list(range(25, 60, 2))]
    assert two[0].stats["docs"]["en"] == 24 + 18 and two[1].stats["docs"]["en"] == 18
    # packing buffers (documents read, not yet used) go to one new rank each: nothing lost or doubled
    packed = [_alexatm_stream(corpus, rank=r, world_size=2) for r in range(2)]
    for s in packed:
        draw(s, 3)
    merged = _alexatm_stream(corpus)
    merged.load_resharded([s.state_dict() for s in packed])
    for lang in merged.languages:
        assert merged._buffers[lang] == packed[0]._buffers[lang] + packed[1]._buffers[lang]
    # so do the rests of documents CLM rows cut (the next documents of their language)
    write_docs(path.with_name("long.txt"), 5, [100] * 4)
    cut = lambda rank, world: PretrainStream(  # noqa: E731
        [Source(path.with_name("long.txt"), "en")], TOK, CLMObjective(CLM), 24, 1, rank=rank, world_size=world
    )
    halves = [cut(0, 2), cut(1, 2)]
    states = [(next(s), json.loads(json.dumps(s.state_dict())))[1] for s in halves]
    one = cut(0, 1)
    one.load_resharded(states)
    assert one._rests["en"] == states[0]["rests"]["en"] + states[1]["rests"]["en"]
    b = next(one)
    assert rows(b, "input_ids")[0][1:-1] + rows(b, "labels")[0][:-1] == states[0]["rests"]["en"][0][:22]
    with pytest.raises(TandemError, match="every rank, rank 0 first"):
        merged.load_resharded([packed[1].state_dict()])


def test_a_resharded_stream_reads_a_shuffled_block_again_whole(corpus):
    """With shuffle_docs a cursor is a block's start and a slot: how many of the saved rank's records of the
    block it had given. Under another number of ranks that count means other records: the block is read
    again whole, so no document of it is skipped."""
    path, docs = corpus["en"]
    make = lambda rank, world: PretrainStream(  # noqa: E731
        [Source(path, "en", shuffle_docs=8)], TOK, CLMObjective(CLM), 64, 6, rank=rank, world_size=world
    )

    def draw(s, n):
        return [origin(r[1])[1] for _ in range(n) for r in rows(next(s), "input_ids")]

    # blocks of 8 records hold 4 of each rank's: rank 1's 6 documents end inside the block at record 8
    old = [make(0, 2), make(1, 2)]
    draw(old[0], 3), draw(old[1], 1)
    states = [json.loads(json.dumps(s.state_dict())) for s in old]
    assert states[1]["cursors"][0]["block"] == 8 and states[1]["cursors"][0]["slot"] > 0
    one = make(0, 1)
    one.load_resharded(states)
    rest = len(docs) - 8
    after = draw(one, -(-rest // 6))[:rest]
    assert sorted(after) == list(range(8, len(docs)))


# -- formats ---------------------------------------------------------------------------------------------------
def test_jsonl_parquet_and_hf_sources_give_the_same_documents(tmp_path, corpus):
    _, docs = corpus["en"]
    texts = [" ".join(map(str, d)) for d in docs]
    (tmp_path / "x.jsonl").write_text("".join(json.dumps({"content": t}) + "\n" for t in texts))
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"content": texts}), tmp_path / "x.parquet", row_group_size=16)
    srcs = [
        Source(tmp_path / "x.jsonl", "en", field="content"),
        Source(tmp_path / "x.parquet", "en", field="content"),
    ]
    try:
        import datasets

        datasets.Dataset.from_dict({"content": texts}).save_to_disk(str(tmp_path / "hfds"))
        srcs.append(Source(tmp_path / "hfds", "en", format="hf", field="content"))
    except ImportError:
        pass
    out = []
    for src in srcs:
        s = PretrainStream([src], TOK, CLMObjective(CLM), seq_len=64, batch_size=10)
        b = [next(s) for _ in range(3)]
        out.append(b)
        assert s.stats["missing_field"] == 0
    for b in out[1:]:
        assert batches_equal(out[0], b)


def test_sources_weigh_the_bytes_of_their_text_whatever_the_format(tmp_path):
    """The default weight basis is the UTF-8 bytes of the documents' text in every format: it was rows for
    a Hugging Face dataset (about 100 times less than the same text in a .txt file), the compressed size for
    parquet and, for jsonl, also the keys, the other fields and the \\u escapes of non-ASCII text."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    datasets = pytest.importorskip("datasets")
    texts = [f"पाठ संख्या {i} " + "शब्द " * (5 + i % 40) for i in range(400)]
    (tmp_path / "t.txt").write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    text_bytes = (tmp_path / "t.txt").stat().st_size
    rows = [{"url": f"https://example.org/{i}", "text": t, "ts": "2020-01-01"} for i, t in enumerate(texts)]
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))  # \\u escapes
    pq.write_table(pa.table({"text": texts}), tmp_path / "t.parquet", row_group_size=64)
    datasets.Dataset.from_dict({"text": texts, "id": list(range(400))}).save_to_disk(str(tmp_path / "hf"))
    for name in ("t.txt", "t.jsonl", "t.parquet", "hf"):
        src = Source(tmp_path / name, "hi")
        fmt, files = resolve_files(src)
        assert source_size(src, files, fmt) == pytest.approx(text_bytes, rel=0.05), name
    # the same text as .txt in one language and as a saved dataset in another: sampled alike
    s = PretrainStream(
        [Source(tmp_path / "t.txt", "en"), Source(tmp_path / "hf", "hi")], TOK, CLMObjective(CLM), 32, 2
    )
    assert s.lang_probs == pytest.approx({"en": 0.5, "hi": 0.5}, abs=0.01)


def test_a_jsonl_source_with_a_misnamed_field_reports_the_field(tmp_path):
    """Weighed by its field's text, a jsonl file whose rows lack the field weighed 0: the source was dropped as
    having "no data" (a lone one: "every source is empty") before the reader could say the field is missing."""
    f = tmp_path / "x.jsonl"
    f.write_text("".join(json.dumps({"content": f"{k} {k + 1} {k + 2}"}) + "\n" for k in range(50)))
    src = Source(f, "en")
    fmt, files = resolve_files(src)
    assert source_size(src, files, fmt) == f.stat().st_size  # as parquet without the column: its size
    with pytest.raises(TandemError, match=r"x\.jsonl line 1: field 'text' missing"):
        next(PretrainStream([src], TOK, CLMObjective(CLM), 16, 2))


def test_a_saved_dataset_dict_is_read_from_disk_by_split(tmp_path, monkeypatch):
    """save_to_disk of a DatasetDict (dataset_dict.json + one folder per split) loads with load_from_disk:
    load_dataset would build a copy under ~/.cache/huggingface. The split is Source.split (default train)."""
    datasets = pytest.importorskip("datasets")
    splits = {"train": ["10 11 12", "13 14 15"], "validation": ["20 21 22"]}
    dd = datasets.DatasetDict({k: datasets.Dataset.from_dict({"text": v}) for k, v in splits.items()})
    dd.save_to_disk(str(tmp_path / "dd"))

    def no_cache_copy(*a, **kw):
        raise AssertionError("load_dataset writes a cache copy of a dataset saved with save_to_disk")

    monkeypatch.setattr(datasets, "load_dataset", no_cache_copy)

    def texts(src: Source) -> list[str]:
        r = Reader(src, 0, seed=0)
        got = []
        while (it := r.next()).kind != "epoch_end":
            got.append(it.payload)
        return sorted(got)

    assert texts(Source(tmp_path / "dd", "en", format="hf")) == splits["train"]
    assert texts(Source(tmp_path / "dd", "en", format="hf", split="validation")) == splits["validation"]
    assert texts(Source(tmp_path / "dd", "en")) == splits["train"]  # recognised without format="hf"
    assert texts(Source(tmp_path / "dd" / "validation", "en")) == splits["validation"]
    with pytest.raises(TandemError, match="no split 'test'.*train, validation"):
        texts(Source(tmp_path / "dd", "en", format="hf", split="test"))


def test_token_cache_matches_text_source(tmp_path, corpus):
    path, _ = corpus["de"]
    meta = build_cache(Source(path, "de"), TOK, tmp_path / "cache")
    assert meta["documents"] == 60
    a = PretrainStream([Source(path, "de")], TOK, AlexaTMObjective(CLM), seq_len=32, batch_size=4, seed=9)
    b = PretrainStream(
        [Source(tmp_path / "cache", "de", format="tokens")], TOK, AlexaTMObjective(CLM), 32, 4, seed=9
    )
    assert batches_equal([next(a) for _ in range(8)], [next(b) for _ in range(8)])


@pytest.mark.parametrize("rank, gz", [(0, False), (1, False), (1, True)])
def test_a_token_cache_gives_the_stream_of_its_text_across_files_ranks_and_bad_records(tmp_path, rank, gz):
    """A cache of a folder is read in the text's file order, reshuffled each epoch, and its documents go to
    the ranks the text's records go to, skipped records (a blank line, a decontaminated one) included: the
    cache used to read its documents in one fixed order and deal them to ranks by their index in the cache.
    The same holds for a folder of .txt.gz shards."""
    d = tmp_path / "shards"
    d.mkdir()
    for i in range(4):
        write_docs(d / f"part{i}.txt", i, [5 + 3 * i + k % 7 for k in range(9)])
    lines = (d / "part1.txt").read_text().splitlines(True)
    (d / "part1.txt").write_text("".join(lines[:2] + ["\n"] + lines[2:]))  # a blank line: a skipped record
    if gz:
        gzip_files(d, members=2)
    evals = [" ".join(map(str, doc_tokens(2, 4, 13)))]  # part2's document 4 shares a 13-gram: removed
    meta = build_cache(Source(d, "en"), TOK, tmp_path / "cache", decontaminate=evals)
    assert meta["skipped"] == {"empty_docs": 1, "decontaminated": 1} and meta["documents"] == 35

    def stream(path):
        src = Source(path, "en")
        return PretrainStream(
            [src], TOK, AlexaTMObjective(CLM), 24, 3, seed=4, rank=rank, world_size=2, decontaminate=evals
        )

    text, cache = stream(d), stream(tmp_path / "cache")
    assert batches_equal([next(text) for _ in range(30)], [next(cache) for _ in range(30)])
    assert text.stats["epochs"]["en:shards"] >= 3 and cache.stats["problems"] == []
    state = json.loads(json.dumps(cache.state_dict()))
    resumed = stream(tmp_path / "cache")
    resumed.load_state_dict(state)
    assert batches_equal([next(text) for _ in range(5)], [next(resumed) for _ in range(5)])


def test_a_token_cache_says_what_it_cannot_do_with_text(tmp_path, corpus):
    """Spoken form and decontamination need text: a stream asked for them over a cache says so."""
    build_cache(Source(corpus["de"][0], "de"), TOK, tmp_path / "cache")
    src = Source(tmp_path / "cache", "de", format="tokens")
    s = PretrainStream([src], TOK, CLMObjective(CLM), 32, 2, spoken_fraction=0.5, decontaminate=["1 2 3"])
    assert any(
        "de:cache is a token cache: its documents stay in written form" in p for p in s.stats["problems"]
    )
    assert any("built without decontamination" in p for p in s.stats["problems"])
    # no evaluation files (pretrain's resolved config holds decontaminate: []) asks for no decontamination
    s = PretrainStream([src], TOK, CLMObjective(CLM), 32, 2, decontaminate=[])
    assert s.decontaminator is None and not any("decontamination" in p for p in s.stats["problems"])
    with pytest.raises(TandemError, match="is a token cache already"):
        build_cache(src, TOK, tmp_path / "again")


def test_a_token_cache_is_weighted_like_its_text_source(tmp_path, corpus):
    """Among other sources, a cache weighs what its text does: weighted by its token count (here about 8
    times fewer than its bytes), a cached language was sampled far less often than the same text."""
    build_cache(Source(corpus["de"][0], "de"), TOK, tmp_path / "cache")
    text = [Source(corpus["en"][0], "en"), Source(corpus["de"][0], "de")]
    cached = [text[0], Source(tmp_path / "cache", "de", format="tokens")]
    a = PretrainStream(text, TOK, AlexaTMObjective(CLM), seq_len=32, batch_size=4, seed=9)
    b = PretrainStream(cached, TOK, AlexaTMObjective(CLM), seq_len=32, batch_size=4, seed=9)
    assert b.lang_probs == a.lang_probs
    assert batches_equal([next(a) for _ in range(8)], [next(b) for _ in range(8)])
    assert not any("does not record the size" in p for p in b.stats["problems"])
    meta = json.loads((tmp_path / "cache" / "meta.json").read_text())
    del meta["size"]  # a cache built before caches recorded their text's size
    (tmp_path / "cache" / "meta.json").write_text(json.dumps(meta))
    old = PretrainStream(cached, TOK, AlexaTMObjective(CLM), seq_len=32, batch_size=4, seed=9)
    assert any(
        p.startswith("source de:cache:") and "does not record the size" in p for p in old.stats["problems"]
    )


# -- bad input -------------------------------------------------------------------------------------------------
def test_bad_input_is_counted_and_reported_never_a_crash(tmp_path):
    good = tmp_path / "good.txt"
    write_docs(good, 0, [10] * 5)
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes(
        b" ".join(str(t).encode() for t in doc_tokens(1, 0, 8))
        + b"\n\n"  # an empty line
        + b"7 8 \xff\xfe 9\n"  # invalid UTF-8 on line 3
        + b"7\n"  # shorter than min_doc_tokens
        + b"7 8 \x00\x00 9\n"  # NUL characters: binary data (line 5)
        + b" ".join(str(t).encode() for t in doc_tokens(1, 4, 8))
        + b"\n"
    )
    js = tmp_path / "rows.jsonl"
    js.write_text(
        json.dumps({"text": " ".join(map(str, doc_tokens(2, 0, 6)))})
        + "\n{not json\n"
        + json.dumps({"title": "no text"})
        + "\n"
        + json.dumps({"text": 5})
        + "\n"
        + json.dumps({"text": "7 8 \u0000 9"})  # an escaped NUL (line 5)
        + "\n"
    )
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    sources = [Source(good, "en"), Source(mixed, "de"), Source(js, "fr"), Source(empty, "sw")]
    stream = PretrainStream(sources, TOK, AlexaTMObjective(CLM), seq_len=24, batch_size=4, seed=0)
    for _ in range(10):
        next(stream)
    st = stream.stats
    assert st["empty_languages"] == ["sw"]
    assert stream.lang_probs["sw"] == 0
    # every bad record is counted exactly once, although the sources were read several times
    assert st["epochs"]["de:mixed.txt"] >= 2 and st["epochs"]["fr:rows.jsonl"] >= 2
    assert (st["empty_docs"], st["invalid_utf8"], st["short_docs"]) == (1, 1, 1)
    assert (st["bad_json"], st["missing_field"], st["empty_files"], st["nul_docs"]) == (1, 2, 1, 2)
    problems = "\n".join(st["problems"])
    assert "mixed.txt line 5: NUL characters" in problems and "rows.jsonl line 5: NUL characters" in problems
    assert "mixed.txt line 3: invalid UTF-8" in problems
    assert "rows.jsonl line 2: invalid JSON" in problems
    assert "rows.jsonl line 3: field 'text' missing" in problems
    assert "language 'sw' has no data" in problems


def test_problems_are_listed_up_to_max_problems_of_each_kind(tmp_path):
    """data_stats.json lists the first problems with file and line. It listed the first max_problems of any
    kind, so a corpus with many short documents (or decontaminated ones) before an invalid UTF-8 line or a
    JSON row without the field counted those but never said where they were. Now up to max_problems of each
    kind are listed, also after a resume."""
    mixed = tmp_path / "mixed.txt"
    short = [b"7\n"] * 8  # shorter than min_doc_tokens: lines 1-8
    good = [" ".join(map(str, doc_tokens(0, k, 8))).encode() + b"\n" for k in range(4)]
    mixed.write_bytes(b"".join([*short, b"7 8 \xff 9\n", *good]))  # invalid UTF-8 on line 9
    js = tmp_path / "rows.jsonl"
    js.write_text("".join(json.dumps({"text": "7"}) + "\n" for _ in range(5)) + json.dumps({"t": 1}) + "\n")
    sources = [Source(mixed, "de"), Source(js, "fr")]

    def make() -> PretrainStream:
        return PretrainStream(sources, TOK, CLMObjective(CLM), seq_len=16, batch_size=2, max_problems=3)

    stream = make()
    next(stream)
    state = stream.state_dict()
    stream = make()
    stream.load_state_dict(state)
    for _ in range(4):
        next(stream)
    st = stream.stats
    assert (st["short_docs"], st["invalid_utf8"], st["missing_field"]) == (13, 1, 1)
    problems = st["problems"]
    short_listed = [m for m in problems if "1 tokens (skipped)" in m]
    assert len(short_listed) == 3 and len(set(short_listed)) == 3  # max_problems of the kind
    assert any(m.startswith(f"{mixed} line 9: invalid UTF-8") for m in problems), problems
    assert any(f"{js} line 6: field 'text' missing" in m for m in problems), problems
    assert st["problems_listed"]["short_docs"] == 3


def test_a_resharded_stream_lists_problems_of_each_kind(tmp_path):
    """load_resharded keeps max_problems listed problems of each kind from the saved ranks: it cut their
    joined lists to max_problems times the number of kinds, which dropped a rare kind found late on a later
    rank (rank 1's invalid UTF-8 line after both ranks' short documents)."""
    mixed = tmp_path / "mixed.txt"
    short = [b"7\n"] * 8  # shorter than min_doc_tokens: lines 1-8, 4 on each rank
    good = [" ".join(map(str, doc_tokens(0, k, 8))).encode() + b"\n" for k in range(40)]
    mixed.write_bytes(b"".join([*short, good[0], b"7 8 \xff 9\n", *good[1:]]))  # line 10: rank 1's

    def make(rank: int, world: int) -> PretrainStream:
        return PretrainStream(
            [Source(mixed, "de")], TOK, CLMObjective(CLM), 16, 2, rank=rank, world_size=world, max_problems=3
        )

    old = [make(0, 2), make(1, 2)]
    for s in old:
        for _ in range(3):
            next(s)
    assert [s.stats["short_docs"] for s in old] == [4, 4] and old[1].stats["invalid_utf8"] == 1
    one = make(0, 1)
    one.load_resharded([json.loads(json.dumps(s.state_dict())) for s in old])
    problems = one.stats["problems"]
    assert any(m.startswith(f"{mixed} line 10: invalid UTF-8") for m in problems), problems
    short_listed = [m for m in problems if "1 tokens (skipped)" in m]
    assert len(short_listed) == 3  # max_problems of the kind, as a stream that read them all lists
    assert one.stats["problems_listed"] == {"short_docs": 3, "invalid_utf8": 1}
    # a state written before kinds were recorded (no "problem_kinds", no "problems_listed") still loads
    legacy = [json.loads(json.dumps(s.state_dict())) for s in old]
    for st in legacy:
        st.pop("problem_kinds", None)
        st["stats"].pop("problems_listed")
    one = make(0, 1)
    one.load_resharded(legacy)
    assert len(one.stats["problems"]) == 3  # max_problems of messages of unknown kinds, as before
    again = make(0, 2)
    again.load_state_dict(legacy[0])
    assert again.stats["problems"] == legacy[0]["stats"]["problems"]


def test_exact_bad_counts_after_one_pass(tmp_path):
    f = tmp_path / "f.jsonl"
    lines = [
        json.dumps({"text": "11 12 13"}),
        "",
        "{",
        json.dumps({"x": 1}),
        json.dumps({"text": "14 15 16 17"}),
    ]
    f.write_text("\n".join(lines) + "\n")
    stream = PretrainStream([Source(f, "en")], TOK, CLMObjective(CLM), seq_len=16, batch_size=2)
    for _ in range(3):  # six documents: three passes over the file
        next(stream)
    st = stream.stats
    assert st["epochs"]["en:f.jsonl"] == 2
    assert (st["empty_docs"], st["bad_json"], st["missing_field"]) == (1, 1, 1)
    assert st["docs"]["en"] == 6


def test_source_with_no_usable_documents_is_dropped_mid_run(tmp_path):
    write_docs(tmp_path / "ok.txt", 0, [6] * 10)
    (tmp_path / "bad.txt").write_bytes(b"\xff\xff\n\xfe\n")
    stream = PretrainStream(
        [Source(tmp_path / "ok.txt", "en"), Source(tmp_path / "bad.txt", "de")],
        TOK,
        AlexaTMObjective(CLM),
        24,
        4,
    )
    for _ in range(8):
        b = next(stream)
    assert stream.stats["dead_sources"] == ["de:bad.txt"]
    assert {origin(r[0])[0] for r in rows(b, "labels")} == {0}


def test_clear_errors_for_missing_or_all_empty_data(tmp_path):
    with pytest.raises(TandemError, match="nope.txt"):
        PretrainStream([Source(tmp_path / "nope.txt", "en")], TOK, "alexatm", 32, 2)
    (tmp_path / "e.txt").write_text("")
    with pytest.raises(TandemError, match="every source is empty"):
        PretrainStream([Source(tmp_path / "e.txt", "en")], TOK, "alexatm", 32, 2)
    (tmp_path / "bad.txt").write_bytes(b"\xff\n")
    s = PretrainStream([Source(tmp_path / "bad.txt", "en")], TOK, "alexatm", 32, 2)
    with pytest.raises(TandemError, match="no source has any usable document.*invalid UTF-8"):
        next(s)
    with pytest.raises(TandemError, match="LANG:PATH"):
        Source.coerce("just-a-path.txt")


def test_no_usable_document_names_every_dead_source_first(tmp_path):
    """The error listed the first three problems, which could all be one source's: the other dead source
    (a failed file) went unnamed. Each dead source now comes first, with the first problem naming it."""
    (tmp_path / "en.txt").write_bytes(b"\xff\n" * 4)  # 4 invalid UTF-8 lines
    (tmp_path / "de.txt").write_text("7\n" * 4)  # 4 documents of 1 token (min_doc_tokens 3)
    (tmp_path / "fr.txt").write_text("")
    srcs = [Source(tmp_path / n, lang) for n, lang in (("en.txt", "en"), ("de.txt", "de"), ("fr.txt", "fr"))]
    s = PretrainStream(srcs, TOK, "alexatm", 32, 2)
    with pytest.raises(TandemError, match="no source has any usable document") as e:
        next(s)
    msg = str(e.value)
    assert "every problem is listed in stream.stats['problems']" in msg
    for name, why in (
        ("en:en.txt", f"{tmp_path / 'en.txt'} line 1: invalid UTF-8"),
        ("de:de.txt", f"{tmp_path / 'de.txt'} line 1: 1 tokens (skipped)"),
        ("fr:fr.txt", f"{tmp_path / 'fr.txt'}: empty file"),
    ):
        assert f"{name}: {why}" in msg, msg
    assert msg.index("Sources without one:") < msg.index("en.txt line 1")
    assert {name for name, _ in e.value.dead} == {"en:en.txt", "de:de.txt", "fr:fr.txt"}


# -- adversarial input ----------------------------------------------------------------------------------------
def read_all(src: Source, **kw) -> list:
    """Every item of one pass of a reader, the epoch end excluded."""
    r = Reader(src, 0, seed=0, **kw)
    out = []
    while (it := r.next()).kind != "epoch_end":
        out.append(it)
    r.close()
    return out


def test_a_directory_of_mixed_files_reads_each_in_its_own_format(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    d = tmp_path / "mixed"
    d.mkdir()
    write_docs(d / "a.txt", 0, [5, 5])
    (d / "b.jsonl").write_text("".join(json.dumps({"text": "11 12 13"}) + "\n" for _ in range(2)))
    pq.write_table(pa.table({"text": ["21 22 23"]}), d / "c.parquet")
    items = read_all(Source(d, "en", shuffle_files=False))
    assert [it.kind for it in items] == ["doc"] * 5
    docs = [it.payload for it in items]
    assert docs[2:] == ["11 12 13", "11 12 13", "21 22 23"]  # not '{"text": ...}', not parquet bytes


def test_byte_order_marks_utf16_and_deeply_nested_json(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf11 12 13\n14 15 16\n")
    (tmp_path / "bom.jsonl").write_bytes(b'\xef\xbb\xbf{"text": "11 12 13"}\n')
    (tmp_path / "u16.txt").write_bytes("11 12 13\n".encode("utf-16"))
    (tmp_path / "deep.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n" + json.dumps({"text": "7 8 9"}))
    assert [it.payload for it in read_all(Source(tmp_path / "bom.txt", "en"))] == ["11 12 13", "14 15 16"]
    assert [it.payload for it in read_all(Source(tmp_path / "bom.jsonl", "en"))] == ["11 12 13"]
    (u16,) = read_all(Source(tmp_path / "u16.txt", "en"))
    assert u16.kind == "bad" and u16.payload[0] == "bad_files"
    assert "u16.txt: UTF-16" in u16.payload[1] and "convert it to UTF-8" in u16.payload[1]
    deep = read_all(Source(tmp_path / "deep.jsonl", "en"))
    assert [it.kind for it in deep] == ["bad", "doc"]
    assert deep[0].payload[0] == "bad_json" and "deep.jsonl line 1: invalid JSON" in deep[0].payload[1]
    # through the stream (the tokenizer would choke on a BOM glued to the first number)
    s = PretrainStream(
        [
            Source(tmp_path / p, lang)
            for p, lang in zip(("bom.txt", "bom.jsonl", "u16.txt", "deep.jsonl"), "abcd")
        ],
        TOK,
        AlexaTMObjective(CLM),
        16,
        4,
        alpha=0,
    )
    for _ in range(8):
        next(s)
    assert (s.stats["bad_files"], s.stats["bad_json"]) == (1, 1)


def test_a_file_with_bare_carriage_returns_is_reported_not_read_as_one_document(tmp_path):
    (tmp_path / "mac.txt").write_bytes(b"11 12 13\r14 15 16\r17 18 19\r")
    (tmp_path / "crlf.txt").write_bytes(b"11 12 13\r\n14 15 16\r\n")  # Windows line ends read as usual
    (mac,) = read_all(Source(tmp_path / "mac.txt", "en"))
    assert mac.kind == "bad" and mac.payload[0] == "bad_files" and "bare carriage return" in mac.payload[1]
    assert [it.payload for it in read_all(Source(tmp_path / "crlf.txt", "en"))] == ["11 12 13", "14 15 16"]


def test_rows_that_are_not_objects_say_so(tmp_path):
    (tmp_path / "r.jsonl").write_text('[1, 2]\n"text"\n3\nnull\n{"text": [1]}\n')
    msgs = [it.payload[1] for it in read_all(Source(tmp_path / "r.jsonl", "en"))]
    assert "r.jsonl line 1: an array where a JSON object was expected" in msgs[0]
    assert "line 4: null where a JSON object was expected" in msgs[3]
    assert "line 5: field 'text' is list, not a string" in msgs[4]


def test_a_huge_line_is_split_into_documents_and_resumes_inside_it(tmp_path):
    tokens = list(range(100, 400))
    f = tmp_path / "big.txt"
    f.write_text("7 8 9\n" + " ".join(map(str, tokens)) + "\n10 11 12\n")
    items = read_all(Source(f, "en"), max_doc_chars=100)
    assert all(len(it.payload) <= 100 for it in items) and len(items) > 5
    assert " ".join(it.payload for it in items[1:-1]).split() == list(map(str, tokens))  # nothing lost
    assert items[1].note[0] == "split_docs" and "big.txt line 2: 1,199 characters" in items[1].note[1]
    # a reader reopened at any item's cursor continues with exactly the next item
    for k in range(len(items) - 1):
        r = Reader(Source(f, "en"), 0, seed=0, cursor=items[k].cursor, max_doc_chars=100)
        assert r.next().payload == items[k + 1].payload
    s = PretrainStream([Source(f, "en")], TOK, CLMObjective(CLM), 16, 2, max_doc_chars=100)
    next(s)
    assert s.stats["split_docs"] == 1
    assert max(len(v) for v in s.state_dict()["buffers"].values()) < 100  # not the whole line


def test_files_changed_or_gone_before_a_resume_are_reported_and_read_from_a_line_start(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    write_docs(d / "a.txt", 0, [4] * 20)
    write_docs(d / "b.txt", 1, [4] * 20)

    def stream():
        return PretrainStream([Source(d, "en", shuffle_files=False)], TOK, CLMObjective(CLM), 16, 2)

    s = stream()
    for _ in range(3):
        next(s)
    state = s.state_dict()
    assert state["cursors"][0]["path"] == str(d / "a.txt")
    # truncated in the middle of a line: the saved offset would now start a document mid-line
    (d / "a.txt").write_bytes((d / "a.txt").read_bytes()[:50])
    r = stream()
    r.load_state_dict(state)
    b = next(r)
    assert r.stats["changed_files"] == 1
    assert any("a.txt: changed since the checkpoint" in p for p in r.stats["problems"])
    assert origin(rows(b, "input_ids")[0][1]) == (0, 0)  # a.txt from its first line
    # gone: continue with the next file of the source
    (d / "a.txt").unlink()
    r = stream()
    r.load_state_dict(state)
    b = next(r)
    assert any("a.txt: gone since the checkpoint" in p for p in r.stats["problems"])
    assert {origin(t)[0] for row in rows(b, "labels") for t in row if t > 6} == {1}


@pytest.mark.parametrize("mode", ["line", "paragraph"])
def test_a_file_appended_to_reads_on_and_one_rewritten_to_the_same_size_restarts(tmp_path, mode):
    """The cursor keeps a checksum of the bytes before its offset: a file that only grew after it (a corpus
    being appended to) continues at the offset instead of being read twice; one rewritten before it, even
    to the same size, is read again from its start rather than from the middle of some line."""
    f = tmp_path / "a.txt"
    sep = "\n\n" if mode == "paragraph" else "\n"
    docs = [f"doc {k}" + " x" * (k % 5) for k in range(12)]
    f.write_text(sep.join(docs) + sep)
    src = Source(f, "en", txt_docs=mode)
    items = read_all(src)
    assert [it.payload for it in items] == docs
    cursor = items[4].cursor
    f.write_text(f.read_text() + sep.join(["new 1", "new 2"]) + sep)
    r = Reader(src, 0, seed=0, cursor=cursor)
    note = r.next()
    assert note.kind == "bad" and "after the position reached, which is unchanged" in note.payload[1]
    assert [r.next().payload for _ in range(3)] == docs[5:8]  # on from the offset, nothing twice
    f.write_text(sep.join(docs[::-1] + ["new 1", "new 2"]) + sep)  # rewritten to the same size
    r = Reader(src, 0, seed=0, cursor=cursor)
    note = r.next()
    assert note.kind == "bad" and "other bytes before the position reached" in note.payload[1]
    assert r.next().payload == docs[-1]  # from its start (the rewritten file starts with the last doc)


# -- gzip ------------------------------------------------------------------------------------------------------
def _same_items(a: list, b: list) -> bool:
    """Items equal but for the file name and size their cursors and messages carry."""

    def key(it):
        cursor = {k: v for k, v in it.cursor.items() if k not in ("path", "size")}
        payload = it.payload if it.kind == "doc" else (it.payload[0], it.payload[1].split(": ", 1)[1])
        return it.kind, payload, cursor, it.record, it.where.split(" ", 1)[-1]

    return [key(it) for it in a] == [key(it) for it in b]


@pytest.mark.parametrize("mode", ["line", "paragraph", "file", "jsonl"])
def test_gzip_files_are_read_like_the_text_they_hold(tmp_path, mode):
    """A .txt.gz / .jsonl.gz file gives the documents, bad records, lines and cursors of the text it holds
    (offsets in the decompressed text); it was read as its compressed bytes, every line invalid UTF-8."""
    plain = tmp_path / "plain"
    plain.mkdir()
    if mode == "jsonl":
        rows = [json.dumps({"text": f"{k} {k + 1} é"}) for k in range(40)]
        rows[7] = "{not json"
        (plain / "x.jsonl").write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")
    else:
        sep = "\n\n" if mode == "paragraph" else "\n"
        docs = [f"doc {k}" + " x" * (k % 5) for k in range(40)]
        docs[5] = ""
        bad = b"\n7 \xff\n" if mode != "file" else b"\n"  # invalid UTF-8 (in "file" mode: the whole file)
        (plain / "x.txt").write_bytes(sep.join(docs).encode() + bad + sep.encode() + b"end\n")
    gz = tmp_path / "gz"
    gz.mkdir()
    for f in plain.iterdir():
        (gz / f.name).write_bytes(f.read_bytes())
    gzip_files(gz, members=3)
    (f_gz,) = gz.iterdir()
    docs_mode = mode if mode != "jsonl" else "line"
    got = read_all(Source(f_gz, "en", txt_docs=docs_mode))
    want = read_all(Source(next(plain.iterdir()), "en", txt_docs=docs_mode))
    assert len(got) == len(want) and any(it.kind == "doc" for it in got)
    assert _same_items(got, want)
    assert resolve_files(Source(f_gz, "en"))[0] == ("jsonl" if mode == "jsonl" else "txt")
    # a reader reopened at any cursor goes on with the next record
    for k in range(0, len(got) - 1, 7):
        r = Reader(Source(f_gz, "en", txt_docs=docs_mode), 0, seed=0, cursor=got[k].cursor)
        assert _same_items([r.next()], [got[k + 1]])
        r.close()


def test_folders_and_globs_read_gzip_files_in_their_own_format(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.txt.gz").write_bytes(gzip.compress(b"11 12 13\n14 15 16\n"))
    (d / "b.jsonl.gz").write_bytes(gzip.compress(b'{"text": "21 22 23"}\n'))
    (d / "c.json.gz").write_bytes(gzip.compress(b'{"text": "31 32 33"}\n'))  # JSON lines, as mC4 ships
    (d / "d.txt").write_text("41 42 43\n")
    (d / "e.txt.gz").write_bytes(gzip.compress(b""))  # empty once decompressed
    want = ["11 12 13", "14 15 16", "21 22 23", "31 32 33", "41 42 43"]
    assert [it.payload for it in read_all(Source(d, "en", shuffle_files=False))] == want
    got = read_all(Source(str(d / "*.gz"), "en", shuffle_files=False))
    assert [it.payload for it in got] == want[:4]
    s = PretrainStream([Source(d, "en")], TOK, CLMObjective(CLM), 16, 2)
    assert s.stats["empty_files"] == 1 and any("e.txt.gz: empty file" in p for p in s.stats["problems"])


@pytest.mark.parametrize("mode", ["line", "paragraph"])
def test_a_gzip_file_appended_to_reads_on_and_one_rewritten_restarts(tmp_path, mode):
    """As for plain files (the checksum is of the decompressed bytes before the offset): a second gzip member
    appended is new text after the position reached; a file recompressed from other text is read again."""
    f = tmp_path / "a.txt.gz"
    sep = "\n\n" if mode == "paragraph" else "\n"
    docs = [f"doc {k}" + " x" * (k % 5) for k in range(12)]
    f.write_bytes(gzip.compress((sep.join(docs) + sep).encode()))
    src = Source(f, "en", txt_docs=mode)
    items = read_all(src)
    assert [it.payload for it in items] == docs
    cursor = items[4].cursor
    with open(f, "ab") as fh:  # a second member
        fh.write(gzip.compress((sep.join(["new 1", "new 2"]) + sep).encode()))
    r = Reader(src, 0, seed=0, cursor=cursor)
    note = r.next()
    assert note.kind == "bad" and "after the position reached, which is unchanged" in note.payload[1]
    assert [r.next().payload for _ in range(9)] == docs[5:] + ["new 1", "new 2"]  # nothing twice
    r.close()
    f.write_bytes(gzip.compress((sep.join(docs[::-1]) + sep).encode(), compresslevel=1))
    r = Reader(src, 0, seed=0, cursor=cursor)
    note = r.next()
    assert note.kind == "bad" and "other bytes before the position reached" in note.payload[1]
    assert r.next().payload == docs[-1]  # from its start
    r.close()
    f.write_bytes(gzip.compress(b"doc 0\n")[:-12])  # now shorter than the position reached, and cut short
    r = Reader(src, 0, seed=0, cursor=cursor)
    assert "other bytes before the position reached" in r.next().payload[1]
    assert r.next().payload[0] == "bad_files"
    r.close()


def test_a_damaged_gzip_file_is_reported_with_how_far_it_got_and_its_documents_kept(tmp_path):
    """Cut short, corrupt compressed data, a failed CRC check, not gzip at all: one counted `bad_files`
    problem naming the file and how far it was read, after the documents before the damage; never a crash."""
    docs = [" ".join(map(str, doc_tokens(0, k, 4 + k % 9))) for k in range(900)]
    data = gzip.compress("".join(d + "\n" for d in docs).encode(), mtime=0)
    damaged = {
        "cut.txt.gz": data[: len(data) // 2],
        "corrupt.txt.gz": data[: len(data) // 2] + b"\xff" * 64 + data[len(data) // 2 + 64 :],
        "crc.txt.gz": data[:-8] + bytes([data[-8] ^ 1]) + data[-7:],
        "plain.txt.gz": b"11 12 13\n",
    }
    for name, blob in damaged.items():
        (tmp_path / name).write_bytes(blob)
        items = read_all(Source(tmp_path / name, "en"))
        *good, bad = items
        assert [it.payload for it in good] == docs[: len(good)], name  # what came before the damage
        assert bad.kind == "bad" and bad.payload[0] == "bad_files", name
        msg = bad.payload[1]
        assert msg.startswith(f"{tmp_path / name}: corrupt or truncated gzip file"), msg
        if name == "plain.txt.gz":
            assert not good and "Not a gzipped file" in msg and "at its start; file skipped" in msg
        else:
            assert len(good) > (len(docs) - 1 if name == "crc.txt.gz" else 300), name
            assert f"its first {len(good):,} lines were read, the rest is skipped" in msg
    assert "EOFError" in damaged_msg(tmp_path / "cut.txt.gz") and "CRC" in damaged_msg(
        tmp_path / "crc.txt.gz"
    )
    assert "zlib.error" in damaged_msg(tmp_path / "corrupt.txt.gz")
    sources = [Source(tmp_path / n, lang) for n, lang in zip(damaged, "abcd", strict=True)]
    s = PretrainStream(sources, TOK, CLMObjective(CLM), 16, 64, alpha=0)
    for _ in range(100):
        next(s)
        if min(s.stats["epochs"].get(src.name, 0) for src in sources[:3]) >= 2:
            break
    assert min(s.stats["epochs"].get(src.name, 0) for src in sources[:3]) >= 2
    assert s.stats["bad_files"] == 4  # once each, though read several times
    assert s.stats["invalid_utf8"] == 0 and s.stats["dead_sources"] == ["d:plain.txt.gz"]


def damaged_msg(path: Path) -> str:
    return read_all(Source(path, "en"))[-1].payload[1]


def test_gzip_sources_weigh_their_decompressed_text(tmp_path):
    """A .gz source weighs the text it holds, as the plain file does (it weighed its compressed size, a
    third or less), also when its size cannot be read off the gzip trailer (several members, each of whose
    trailers has the size of that member only)."""
    rng = np.random.default_rng(0)
    words = np.asarray(["शब्द", "पाठ", "word", "mot", "Wort", "語"] + [str(k) for k in range(300)])
    sizes = {}
    for name, n in (("small", 200), ("big", 30_000)):
        cuts = np.cumsum(rng.integers(5, 40, size=n))[:-1]
        lines = [" ".join(x) for x in np.split(rng.choice(words, size=int(cuts[-1]) + 20), cuts)]
        text = "".join(x + "\n" for x in lines).encode()
        sizes[name] = len(text)
        rows = "".join(json.dumps({"id": k, "text": x}) + "\n" for k, x in enumerate(lines)).encode()
        d = tmp_path / name
        d.mkdir()
        (d / "t.txt").write_bytes(text)
        (d / "t.jsonl").write_bytes(rows)
        gzip_files(d, members=1 if name == "small" else 4)
        assert len(text) > (2 << 20 if name == "big" else 0)  # beyond the first MiB the estimate measures
        for f in ("t.txt.gz", "t.jsonl.gz"):
            src = Source(d / f, "hi")
            fmt, files = resolve_files(src)
            rel = 1e-9 if (name, f) == ("small", "t.txt.gz") else 0.03  # exact when decompressed whole
            assert source_size(src, files, fmt) == pytest.approx(len(text), rel=rel), (name, f)
    s = PretrainStream(
        [Source(tmp_path / "small" / "t.txt.gz", "hi"), Source(tmp_path / "big" / "t.txt.gz", "en")],
        TOK,
        CLMObjective(CLM),
        32,
        2,
        alpha=1.0,
    )
    assert s.lang_sizes["en"] / s.lang_sizes["hi"] == pytest.approx(sizes["big"] / sizes["small"], rel=0.03)


def test_zstd_xz_and_misnamed_compressed_files_are_clear_errors(tmp_path):
    """Compressions that are not read are refused naming the file and what to do; compressed data in a file
    not named for it is one bad file. Both were read as text: a flood of invalid UTF-8 lines."""
    (tmp_path / "en.txt.zst").write_bytes(b"\x28\xb5\x2f\xfd" + bytes(range(256)))
    with pytest.raises(TandemError, match=r"en\.txt\.zst is zstd-compressed, which is not read.*zstd -dc"):
        Reader(Source(tmp_path / "en.txt.zst", "en"), 0, seed=0)
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.txt").write_text("11 12 13\n")
    (d / "b.jsonl.xz").write_bytes(b"\xfd7zXZ\x00" + bytes(range(256)))
    with pytest.raises(TandemError, match=r"b\.jsonl\.xz is xz-compressed.*xz -dc.*gzip.*with a glob"):
        PretrainStream([Source(d, "en")], TOK, CLMObjective(CLM), 16, 2)
    (tmp_path / "gz.txt").write_bytes(gzip.compress(b"11 12 13\n" * 50))
    (tmp_path / "zst.jsonl").write_bytes(b"\x28\xb5\x2f\xfd" + bytes(range(256)) * 4)
    (bad,) = read_all(Source(tmp_path / "gz.txt", "en"))
    assert bad.payload[0] == "bad_files" and "gzip-compressed data" in bad.payload[1]
    assert "rename it to end in .gz" in bad.payload[1]
    (bad,) = read_all(Source(tmp_path / "zst.jsonl", "en"))
    assert bad.payload[0] == "bad_files" and "zstd-compressed data" in bad.payload[1]


def test_parquet_is_read_one_row_group_at_a_time_and_resumes_inside_one(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    texts = [f"{100 + k} {200 + k}" if k != 7 else None for k in range(20)]
    pq.write_table(pa.table({"text": texts}), tmp_path / "x.parquet", row_group_size=6)
    src = Source(tmp_path / "x.parquet", "en")
    r = Reader(src, 0, seed=0)
    items = []
    while (it := r.next()).kind != "epoch_end":
        items.append(it)
        assert r._table is None or len(r._table.rows) <= 6  # one row group in memory at a time
    assert [it.payload for it in items if it.kind == "doc"] == [t for t in texts if t is not None]
    assert [it.payload[0] for it in items if it.kind == "bad"] == ["missing_field"]  # row 7 is null
    for k in (4, 5, 6, 12):  # before, at and after row-group boundaries
        resumed = Reader(src, 0, seed=0, cursor=items[k].cursor)
        assert resumed.next().payload == items[k + 1].payload


def test_problems_found_when_the_stream_is_built_survive_a_resume(tmp_path):
    write_docs(tmp_path / "en.txt", 0, [6] * 10)
    write_docs(tmp_path / "de.txt", 1, [6] * 10)
    srcs = [Source(tmp_path / "en.txt", "en"), Source(tmp_path / "de.txt", "de")]
    s = PretrainStream(srcs, TOK, AlexaTMObjective(CLM), 24, 2)
    next(s)
    state = s.state_dict()
    (tmp_path / "de.txt").write_text("")
    r = PretrainStream(srcs, TOK, AlexaTMObjective(CLM), 24, 2)
    r.load_state_dict(state)
    assert r.stats["empty_files"] == 1 and r.stats["empty_languages"] == ["de"]
    assert any("de.txt: empty file" in p for p in r.stats["problems"])


def test_a_resumed_stream_counts_its_setup_problems_as_an_uninterrupted_one(tmp_path):
    """Setup problems past max_problems are not listed, so a resume took them for new ones and counted them
    again (4 empty files, 3 of them unlisted, counted 10 times after two resumes). A resumed run's statistics are now an
    uninterrupted run's, through a resharded resume too."""
    en = tmp_path / "en"
    en.mkdir()
    write_docs(en / "a.txt", 0, [6] * 10)
    for name in ("b.txt", "c.txt", "d.txt"):
        (en / name).write_text("")
    write_docs(tmp_path / "de.txt", 1, [6] * 10)
    (tmp_path / "fr.txt").write_text("")
    srcs = [Source(en, "en"), Source(tmp_path / "de.txt", "de"), Source(tmp_path / "fr.txt", "fr")]

    def stream(**kw):
        return PretrainStream(srcs, TOK, AlexaTMObjective(CLM), 24, 2, max_problems=1, **kw)

    ref = stream()
    ref_batches = [next(ref) for _ in range(6)]
    assert ref.stats["empty_files"] == 4 and ref.stats["empty_sources"] == 1
    run = stream()
    got = [next(run) for _ in range(2)]
    for _ in range(2):  # resumed twice, each time from a checkpoint round-trip
        state = json.loads(json.dumps(run.state_dict()))
        run = stream()
        run.load_state_dict(state)
        got += [next(run) for _ in range(2)]
    assert batches_equal(got, ref_batches)
    assert json.loads(json.dumps(run.state_dict()["stats"])) == json.loads(
        json.dumps(ref.state_dict()["stats"])
    )
    # the states of two ranks resumed by one: each rank's counters held the setup problems once
    ranks = [stream(rank=r, world_size=2) for r in range(2)]
    for s in ranks:
        next(s)
    one = stream()
    one.load_resharded([json.loads(json.dumps(s.state_dict())) for s in ranks])
    assert one.stats["empty_files"] == 4 and one.stats["empty_sources"] == 1


def test_short_and_decontaminated_documents_are_named_by_file_and_line(tmp_path):
    f = tmp_path / "f.txt"
    f.write_text("7 8 9 10\n7\n" + " ".join(str(100 + i) for i in range(13)) + "\n11 12 13 14\n")
    s = PretrainStream(
        [Source(f, "en")],
        TOK,
        CLMObjective(CLM),
        16,
        2,
        decontaminate=[" ".join(str(100 + i) for i in range(13))],
    )
    next(s)
    problems = "\n".join(s.stats["problems"])
    assert "f.txt line 2: 1 tokens (skipped)" in problems
    assert "f.txt line 3: document shares a 13-gram" in problems


def test_language_weights_with_huge_or_infinite_alpha():
    w = language_weights({"a": 1e12, "b": 10.0, "c": 0.0}, 400.0)
    assert w == {"a": 1.0, "b": 0.0, "c": 0.0}
    assert language_weights({"a": 1e300, "b": 1e300}, 1e6) == {"a": 0.5, "b": 0.5}
    for alpha in (float("inf"), float("nan"), -1.0):
        with pytest.raises(TandemError, match="alpha must be a finite number"):
            language_weights({"a": 1.0}, alpha)


@pytest.mark.parametrize(
    "entry,match",
    [
        ({"path": "x.txt", "lang": "en", "upsample": "10"}, "upsample must be a finite number"),
        ({"path": "x.txt", "lang": "en", "upsample": None}, "upsample must be"),
        ({"path": "x.txt", "lang": "en", "upsample": float("inf")}, "upsample must be"),
        ({"path": "x.txt", "lang": "en", "upsample": -1}, "upsample must be"),
        ({"path": "x.txt", "lang": "en", "size": "big"}, "size must be"),
        ({"path": "x.txt", "lang": "en", "size": -5}, "size must be"),
        ({"path": "x.txt", "lang": 5}, "lang must be a language code"),
        ({"path": "x.txt", "lang": "en", "field": 3}, "field must be a string"),
        ({"path": "x.txt", "lang": "en", "shuffle_files": "no"}, "shuffle_files must be true or false"),
        ({"path": None, "lang": "en"}, "path must be"),
        ({"path": "x.txt"}, "missing lang"),
        ({"path": "x.txt", "lang": "en", "upsampel": 2}, r"unknown keys \['upsampel'\]"),
    ],
)
def test_source_entries_of_the_wrong_type_are_clear_errors(entry, match):
    with pytest.raises(TandemError, match=match):
        Source.coerce(entry)


def test_a_token_cache_of_another_vocabulary_is_refused_or_its_documents_skipped(tmp_path, corpus):
    path, _ = corpus["de"]
    build_cache(Source(path, "de"), TOK, tmp_path / "cache")  # ids up to ~2M

    class SmallTok(NumTok):
        vocab_size = 1000

    src = Source(tmp_path / "cache", "de", format="tokens")
    with pytest.raises(TandemError, match="vocabulary of 10000000, this tokenizer has 1000"):
        PretrainStream([src], SmallTok(), AlexaTMObjective(CLM), 32, 2)
    (tmp_path / "cache" / "meta.json").unlink()  # no record of the vocabulary: checked per document
    (tmp_path / "ok.txt").write_text("7 8 9 10 11\n" * 20)
    s = PretrainStream([src, Source(tmp_path / "ok.txt", "en")], SmallTok(), AlexaTMObjective(CLM), 32, 2)
    next(s)
    assert s.stats["foreign_tokens"] > 0 and s.stats["dead_sources"] == ["de:cache"]


def test_build_cache_into_a_path_it_cannot_write_is_a_clear_error(tmp_path, corpus):
    path, _ = corpus["de"]
    (tmp_path / "afile").write_text("x")
    with pytest.raises(TandemError, match="cannot write the cache in .*afile"):
        build_cache(Source(path, "de"), TOK, tmp_path / "afile")


@pytest.mark.parametrize(
    "last,match",
    [
        ("tokens.bin", r"offsets.npy ends at token \d+, tokens.bin holds"),
        ("offsets.npy", r"meta.json, records.npy and offsets.npy disagree"),
        ("records.npy", r"meta.json, records.npy and offsets.npy disagree"),
    ],
)
def test_a_rebuild_of_a_token_cache_killed_midway_is_refused_not_read_with_the_old_offsets(
    tmp_path, corpus, monkeypatch, last, match
):
    """build_cache over an existing cache, killed after `last` was replaced: files of two builds would cut
    documents in the wrong places or number them wrong; the stream refuses them, and a rebuild mends it."""
    import tandem.data.cache as cache_mod

    path, _ = corpus["de"]
    short = tmp_path / "short.txt"
    short.write_text("".join(line for line in path.read_text().splitlines(True)[:10]))
    build_cache(Source(short, "de"), TOK, tmp_path / "cache")
    real_replace = os.replace

    def killed(src, dst):
        real_replace(src, dst)
        if str(dst).endswith(last):
            raise KeyboardInterrupt  # the process dies here

    monkeypatch.setattr(cache_mod.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        build_cache(Source(path, "de"), TOK, tmp_path / "cache")
    monkeypatch.setattr(cache_mod.os, "replace", real_replace)
    with pytest.raises(TandemError, match=r"cache.*inconsistent \(" + match):
        PretrainStream([Source(tmp_path / "cache", "de", format="tokens")], TOK, AlexaTMObjective(CLM), 32, 4)
    build_cache(Source(path, "de"), TOK, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.tmp"))
    stream = PretrainStream(
        [Source(tmp_path / "cache", "de", format="tokens")], TOK, AlexaTMObjective(CLM), 32, 4
    )
    next(stream)
    stream.close()


def test_decontamination_files_empty_a_directory_or_with_a_bom(tmp_path):
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.warns(UserWarning, match="empty.txt holds no evaluation text"):
        d = Decontaminator.from_files([tmp_path / "empty.txt"])
    assert d.empty_files == [str(tmp_path / "empty.txt")]
    with pytest.raises(TandemError, match="is a directory"):
        Decontaminator.from_files([tmp_path])
    text = " ".join(str(100 + i) for i in range(13))
    (tmp_path / "e.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps({"q": text}).encode() + b"\n")
    assert Decontaminator.from_files([tmp_path / "e.jsonl"]).contaminated(text)


def test_a_file_path_given_as_an_evaluation_text_is_an_error(tmp_path):
    """Decontaminator(texts), build_cache(decontaminate=texts) and PretrainStream(decontaminate=texts) take
    texts: a path given there was a text of no 13-gram, and the decontamination silently removed nothing
    (meta.json still called the cache decontaminated)."""
    text = " ".join(str(100 + i) for i in range(13))
    (tmp_path / "dev.jsonl").write_text(json.dumps({"q": text}) + "\n")
    (tmp_path / "a.txt").write_text(text + "\nsome other words\n")
    for given in ([str(tmp_path / "dev.jsonl")], [tmp_path.as_posix() + "/dev.jsonl"]):
        with pytest.raises(TandemError, match="is a file, not an evaluation text.*from_files"):
            Decontaminator(given)
    with pytest.raises(TandemError, match="is a file, not an evaluation text"):
        build_cache(
            Source(tmp_path / "a.txt", "en"),
            TOK,
            tmp_path / "cache",
            decontaminate=[str(tmp_path / "dev.jsonl")],
        )
    assert not (tmp_path / "cache").exists()
    # texts (short ones too) are texts, and a path in a file of texts is read as words
    assert Decontaminator(["dev.jsonl", "no such/file.txt", text]).contaminated(text)
    assert Decontaminator.from_files([tmp_path / "dev.jsonl"]).contaminated(text)


def test_decontamination_reads_nested_jsonl_and_json_files(tmp_path):
    """SuperGLUE MultiRC/ReCoRD rows hold the passage in {"passage": {"text": ...}} and SQuAD is one JSON
    value: only top-level strings were read ("CNN", an id) and a .json file was read as text, its \\u
    escapes and keys inside the n-grams; a file that gives no 13-gram at all removes nothing, and says so."""
    # 16 words, every 13 of them in a row hold one written with \\u escapes in JSON
    passage = "Zürich café owners said on Thursday that the new rules would hurt the crème brûlée trade"
    question = "what did the café owners say about the rules"
    (tmp_path / "record.jsonl").write_text(
        json.dumps({"source": "CNN", "passage": {"text": passage}, "qas": [{"query": question}]}) + "\n"
    )
    squad = {"data": [{"title": "T", "paragraphs": [{"context": passage, "qas": [{"question": question}]}]}]}
    (tmp_path / "squad.json").write_text(json.dumps(squad))  # ensure_ascii: Zürich is Z\\u00fcrich
    doc = f"Reports: {passage}. More later."
    for name in ("record.jsonl", "squad.json"):
        deco = Decontaminator.from_files([tmp_path / name])
        assert deco.contaminated(doc), name
        assert not deco.contaminated("owners said on Thursday that the new rules would hurt the trade")
    (tmp_path / "lines.json").write_text(
        json.dumps({"text": passage}) + "\n" + json.dumps({"text": "x"}) + "\n"
    )
    assert Decontaminator.from_files([tmp_path / "lines.json"]).contaminated(doc)  # JSON lines named .json
    (tmp_path / "short.jsonl").write_text(json.dumps({"source": "CNN", "id": "a1"}) + "\n")
    with pytest.warns(UserWarning, match="short.jsonl holds no evaluation text of 13 or more words"):
        assert Decontaminator.from_files([tmp_path / "short.jsonl"]).empty_files == [
            str(tmp_path / "short.jsonl")
        ]


# -- decontamination and spoken form ---------------------------------------------------------------------------
def test_13gram_decontamination_removes_overlapping_documents(tmp_path):
    eval_text = " ".join(str(100 + i) for i in range(20))
    docs = [
        " ".join(str(100 + i) for i in range(3, 16)),  # shares a 13-gram: removed
        " ".join(str(100 + i) for i in range(3, 15)) + " 999",  # only a 12-gram: kept
        "500 501 502",
    ]
    (tmp_path / "d.txt").write_text("\n".join(docs) + "\n")
    deco = Decontaminator([eval_text])
    assert deco.contaminated(docs[0]) and not deco.contaminated(docs[1])
    s = PretrainStream(
        [Source(tmp_path / "d.txt", "en")], TOK, CLMObjective(CLM), 32, 2, decontaminate=[eval_text]
    )
    firsts = [r[1] for r in rows(next(s), "input_ids")]
    assert firsts == [103, 500]
    assert s.stats["decontaminated"] == 1


def test_13gram_decisions_do_not_depend_on_the_process_hash_seed(tmp_path):
    """The n-grams of evaluation texts built in one process (say the main one) decide identically in another
    with another PYTHONHASHSEED (a spawned worker, another node): the hashes do not use Python's `hash`."""
    words = [f"w{i}" for i in range(40)]
    evals = [" ".join(words[:20]), "今日は良い天気ですね、散歩に行きましょう。"]
    docs = [
        " ".join(words[5:18]),  # shares a 13-gram: removed
        " ".join(words[5:17]) + " other",  # only a 12-gram
        " ".join(reversed(words)),
        "彼は言った：今日は良い天気ですね、散歩に行きましょう。",
        " ".join(words[20:40]),
    ]
    script = (
        "import json, pickle, sys\n"
        "from tandem.data import Decontaminator\n"
        "from tandem.data.decontam import ngrams\n"
        "mode, path, evals, docs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])\n"
        "if mode == 'build':\n"
        "    open(path, 'wb').write(pickle.dumps(Decontaminator(evals)))\n"
        "    print(json.dumps(sorted(ngrams(evals[0]))))\n"
        "else:\n"
        "    deco = pickle.loads(open(path, 'rb').read())\n"
        "    print(json.dumps([deco.contaminated(d) for d in docs]))\n"
    )
    path = str(tmp_path / "deco.pkl")

    def run(mode: str, seed: str) -> object:
        env = dict(os.environ, PYTHONHASHSEED=seed)
        argv = [sys.executable, "-c", script, mode, path, json.dumps(evals), json.dumps(docs)]
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr[-2000:]
        return json.loads(p.stdout)

    grams = run("build", "1")
    assert grams == sorted(ngrams(evals[0])) and len(grams) == 8  # the same hashes in every process
    assert run("check", "2") == [True, False, False, True, False]
    assert [Decontaminator(evals).contaminated(d) for d in docs] == [True, False, False, True, False]


def test_13gram_works_for_japanese_without_spaces():
    deco = Decontaminator(["今日は良い天気ですね、散歩に行きましょう。"])
    assert deco.contaminated("彼は言った：今日は良い天気ですね、散歩に行きましょう。")
    assert not deco.contaminated("今日は良い天気ですね")


def test_13gram_words_keep_combining_marks_and_text_is_normalised():
    """A Devanagari word is one word, vowel signs and virama included: `\\w+` alone cut "संयुक्त" into
    consonants, so a 13-"word" n-gram spanned 4-5 real words and a shared 7-word name removed a document.
    Text is NFKC-normalised and invisible joiners dropped, so other encodings of the same words still match."""
    phrase = "संयुक्त राज्य अमेरिका की राष्ट्रीय विज्ञान अकादमी"  # 7 words
    eval_text = f"पिछले साल {phrase} ने कहा था कि यह अध्ययन बहुत ज़रूरी है और इसे जारी रखना चाहिए"
    deco = Decontaminator([eval_text])
    assert not deco.contaminated(f"इस बार {phrase} की रिपोर्ट में नए आंकड़े दिए गए हैं जो पहले कभी नहीं देखे")
    shared13 = " ".join(eval_text.split()[1:14])
    assert deco.contaminated(f"शुरुआत {shared13} अंत")
    precomposed = eval_text.replace("ज\u093c", "\u095b")  # ज़ as one code point (NFC decomposes it)
    assert precomposed != eval_text and deco.contaminated(precomposed)
    en = "the national academy of sciences said last year that this study is very important and should go on"
    deco = Decontaminator([en])
    variant = (
        unicodedata.normalize("NFD", "Thé " + en).replace("study", "stu\u00addy").replace("year", "ｙｅａｒ")
    )
    assert deco.contaminated(variant)
    assert words("हिन्दी தமிழ் తెలుగు café, ok.") == ["हिन्दी", "தமிழ்", "తెలుగు", "café", "ok"]


def test_spoken_fraction_passes_documents_through_the_hook(tmp_path, monkeypatch):
    fake = types.ModuleType("tandem.spoken")
    fake.to_spoken = lambda text, lang: " ".join(str(int(w) + 500_000) for w in text.split())
    monkeypatch.setitem(sys.modules, "tandem.spoken", fake)
    write_docs(tmp_path / "a.txt", 0, [5] * 400)
    s = PretrainStream(
        [Source(tmp_path / "a.txt", "en")], TOK, CLMObjective(CLM), 16, 50, spoken_fraction=0.7
    )
    spoken = [r[1] >= 500_000 for _ in range(8) for r in rows(next(s), "input_ids")]
    assert abs(np.mean(spoken) - 0.7) < 0.06
    assert s.stats["spoken_docs"] == sum(spoken)
    # the choice is a function of the document, not of the stream position: a second stream agrees
    s2 = PretrainStream(
        [Source(tmp_path / "a.txt", "en")], TOK, CLMObjective(CLM), 16, 50, spoken_fraction=0.7
    )
    assert [r[1] >= 500_000 for _ in range(8) for r in rows(next(s2), "input_ids")] == spoken


# -- fine-tuning stream ----------------------------------------------------------------------------------------
def test_seq2seq_stream_batches_state_and_sharding(tmp_path):
    f = tmp_path / "pairs.jsonl"
    rows_ = [{"source": f"{10 + i} {20 + i}", "target": f"{30 + i}"} for i in range(11)]
    f.write_text("\n".join(json.dumps(r) for r in rows_) + "\n{bad\n" + json.dumps({"source": "1"}) + "\n")
    s = Seq2SeqStream(f, TOK, batch_size=4, max_source_len=8, max_target_len=4, seed=1, epochs=2)
    assert s.stats["bad_json"] == 1 and s.stats["missing_field"] == 1
    assert len(s) == 3
    all_b = list(s)
    assert len(all_b) == 6
    b = all_b[0]
    assert b["input_ids"].shape == (4, 3) and b["kind"] == ["seq2seq"] * 4
    for src, tgt in zip(rows(b, "input_ids"), rows(b, "labels"), strict=True):
        assert src[-1] == EOS and tgt[-1] == EOS and tgt[0] == src[0] + 20
    firsts = sorted(r[0] for bb in all_b[:3] for r in rows(bb, "input_ids"))
    assert firsts == list(range(10, 21))  # one epoch = every example once
    # resume mid-epoch
    s2 = Seq2SeqStream(f, TOK, 4, 8, 4, seed=1, epochs=2)
    it = iter(s2)
    head = [next(it) for _ in range(4)]
    s3 = Seq2SeqStream(f, TOK, 4, 8, 4, seed=1, epochs=2)
    s3.load_state_dict(s2.state_dict())
    assert batches_equal(head + list(s3), all_b)
    # ranks: equal counts, disjoint except the wrap-around padding, union complete
    per_rank = [
        [
            r[0]
            for bb in Seq2SeqStream(f, TOK, 4, 8, 4, seed=1, epochs=1, rank=k, world_size=2)
            for r in rows(bb, "input_ids")
        ]
        for k in range(2)
    ]
    assert len(per_rank[0]) == len(per_rank[1]) == 6
    assert set(per_rank[0]) | set(per_rank[1]) == set(range(10, 21))


def test_seq2seq_truncates_and_keeps_eos():
    s = Seq2SeqStream(
        [("11 12 13 14 15", "16 17 18 19")], TOK, 1, max_source_len=3, max_target_len=2, shuffle=False
    )
    b = next(iter(s))
    assert b["input_ids"].tolist() == [[11, 12, EOS]] and b["labels"].tolist() == [[16, EOS]]
    assert s.stats["truncated_sources"] == 1 and s.stats["truncated_targets"] == 1
    with pytest.raises(TandemError, match="no usable"):
        Seq2SeqStream([{"src": "1"}], TOK, 1)


# -- the real tokenizer ----------------------------------------------------------------------------------------
def test_with_the_real_tokenizer(tmp_path):
    tokmod = pytest.importorskip("tandem.tokenizer")
    lines = [
        f"the quick brown fox number {i} jumps over the lazy dog near the river bank" for i in range(300)
    ]
    tok = tokmod.Tokenizer.train(iter(lines), vocab_size=320, num_threads=1)
    assert tok.clm_id is not None and tok.doc_id is not None
    (tmp_path / "t.txt").write_text("\n".join(lines) + "\n")
    s = PretrainStream([Source(tmp_path / "t.txt", "en")], tok, "alexatm", seq_len=48, batch_size=4, seed=0)
    for _ in range(5):
        b = next(s)
        for kind, src, tgt in zip(b["kind"], rows(b, "input_ids"), rows(b, "labels"), strict=True):
            assert tgt[-1] == tok.eos_id and src[-1] == tok.eos_id
            if kind == "clm":
                assert src[0] == tok.clm_id and "the" in tok.decode(src[1:-1] + tgt[:-1])
            else:
                assert len(src) < len(tgt)
    assert s.stats["examples"]["denoise"] + s.stats["examples"]["clm"] == 20


def test_real_spoken_form_hook(tmp_path):
    spoken = pytest.importorskip("tandem.spoken")
    if not hasattr(spoken, "to_spoken"):
        pytest.skip("tandem.spoken.to_spoken is not written yet")
    (tmp_path / "en.txt").write_text("I have 3 cats and 25 dogs.\n" * 4)

    class WordTok(NumTok):
        def encode(self, text, add_eos=False):
            return [7 + sum(map(ord, w)) for w in text.split()]

    s = PretrainStream(
        [Source(tmp_path / "en.txt", "en")], WordTok(), CLMObjective(CLM), 32, 4, spoken_fraction=1.0
    )
    b = next(s)
    three = 7 + sum(map(ord, "three"))
    assert all(three in src + tgt for src, tgt in zip(rows(b, "input_ids"), rows(b, "labels"), strict=True))
    assert s.stats["spoken_docs"] == 4 and s.stats["spoken_errors"] == 0


def test_a_language_without_spoken_rules_is_noted_once_and_stays_written(tmp_path):
    """spoken_fraction over a language tandem.spoken has no rules for: one note when the stream is built,
    not a spoken-form error for every document drawn for conversion."""
    pytest.importorskip("tandem.spoken")
    (tmp_path / "sw.txt").write_text("".join(f"{7 + k} {8 + k} {9 + k}\n" for k in range(40)))
    (tmp_path / "en.txt").write_text("".join(f"{7 + k} {8 + k} {9 + k}\n" for k in range(40)))
    srcs = [Source(tmp_path / "sw.txt", "sw"), Source(tmp_path / "en.txt", "en")]

    class WordTok(NumTok):
        def encode(self, text, add_eos=False):
            return [7 + sum(map(ord, w)) for w in text.split()]

    # and warned when the stream is built: the spoken form asked for is never made for that language
    with pytest.warns(UserWarning, match="spoken_fraction=1.0: language 'sw': no spoken form") as caught:
        s = PretrainStream(srcs, WordTok(), CLMObjective(CLM), 16, 20, spoken_fraction=1.0)
    assert not [w for w in caught if "'en'" in str(w.message)]
    for _ in range(3):
        next(s)
    assert s.stats["spoken_errors"] == 0
    assert s.stats["spoken_docs"] == s.stats["docs"]["en"] > 0  # every English document, no Swahili one
    notes = [p for p in s.stats["problems"] if "'sw'" in p]
    assert len(notes) == 1 and "stay in written form" in notes[0]


def test_duplicate_source_names_are_made_unique(tmp_path):
    for d in ("wiki", "web"):
        (tmp_path / d).mkdir()
        write_docs(tmp_path / d / "en.txt", 0, [5] * 4)
    srcs = [Source(tmp_path / "wiki" / "en.txt", "en"), Source(tmp_path / "web" / "en.txt", "en")]
    s = PretrainStream(srcs, TOK, CLMObjective(CLM), 16, 2)
    assert len({src.name for src in s.sources}) == 2


def _worker_pids(stream) -> list[int]:
    return sorted(stream._pool._processes)


def _caught_signals(pid: int) -> set[int] | None:
    """The signals process `pid` has a handler for (Linux /proc), or None where that cannot be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return {n for n in range(1, 65) if mask >> (n - 1) & 1}


def test_tokeniser_workers_ignore_ctrl_c_and_end_on_sigterm(corpus):
    """Workers forked while the trainer defers signals must not inherit its handlers: Ctrl-C is the main
    process's to handle, and SIGTERM ends a worker (it used to be ignored for the worker's whole life). A
    worker's death must not hang the stream (multiprocessing.Pool lost the task and could deadlock in
    terminate()): the documents are redone by fresh workers and the batches are the ones a run without the
    death gives."""
    import os
    import signal
    import time

    ref = _alexatm_stream(corpus, num_workers=0, prefetch_docs=5)
    want = [next(ref) for _ in range(12)]
    prev = signal.signal(signal.SIGTERM, lambda *a: None)  # as the trainer's deferred handler
    try:
        stream = _alexatm_stream(corpus, num_workers=2, prefetch_docs=5)
        got = [next(stream)]
    finally:
        signal.signal(signal.SIGTERM, prev)
    workers = _worker_pids(stream)
    # A worker starts with its parent's handlers (Python's for SIGINT, the trainer's for SIGTERM) and drops
    # them first thing; a slow machine may not have run that yet in a worker that got no task so far.
    deadline = time.monotonic() + 60
    for pid in workers:
        while (caught := _caught_signals(pid)) and caught & {signal.SIGINT, signal.SIGTERM}:
            assert time.monotonic() < deadline, f"worker {pid} still has handlers for {sorted(caught)}"
            time.sleep(0.01)
    os.kill(workers[0], signal.SIGINT)
    time.sleep(0.2)
    assert stream._pool._processes[workers[0]].is_alive()  # Ctrl-C ignored
    os.kill(workers[1], signal.SIGTERM)
    killed = stream._pool._processes[workers[1]]
    deadline = time.monotonic() + 60  # the executor's own thread may reap it first: poll, don't join
    while killed.exitcode is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert killed.exitcode == -signal.SIGTERM  # ended
    got += [next(stream) for _ in range(11)]  # several refills: the dead pool is noticed and replaced
    assert batches_equal(got, want)
    assert not set(_worker_pids(stream)) & set(workers)
    stream.close()
    assert stream._pool is None


def _killed_by_the_oom_killer(task):
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def test_workers_that_keep_dying_are_an_error_that_says_what_to_do(corpus, monkeypatch):
    import tandem.data.stream as stream_mod

    monkeypatch.setattr(stream_mod, "_process", _killed_by_the_oom_killer)
    stream = _alexatm_stream(corpus, num_workers=2, prefetch_docs=5)
    with pytest.raises(TandemError, match=r"died 3 times in a row.*-9.*--num-workers"):
        next(stream)
    assert stream._pool is None


def test_a_resharded_stream_counts_what_one_run_counts(tmp_path):
    """load_resharded summed every counter of the saved ranks, but each rank reads every file (keeping its
    own records), so a damaged file is counted by each rank, and each rank completes its own passes over a
    source: two ranks resumed by one said 2 bad files and 2 epochs for one damaged file and one pass. Counters
    of records (invalid UTF-8 lines, documents) are each rank's own and still add up; a source no rank could
    use is the only one listed as dead."""
    en = tmp_path / "en"
    en.mkdir()
    lines = [" ".join(map(str, doc_tokens(0, k, 6))).encode() + b"\n" for k in range(20)]
    whole = gzip.compress(b"".join(lines) * 20, compresslevel=1, mtime=0)
    lines[4:4] = [b"7 8 \xff 9\n", b"7 \xfe 9\n"]  # records 4 and 5: one of each rank
    (en / "a.txt").write_bytes(b"".join(lines))
    (en / "b.txt.gz").write_bytes(whole[: len(whole) // 2])  # cut short: a bad file
    de = tmp_path / "de.txt"  # record 0 (rank 0's) is a document, the rest too short: dead on rank 1 only
    de.write_text(" ".join(map(str, doc_tokens(1, 0, 6))) + "\n" + "7\n" * 5)
    fr = tmp_path / "fr.txt"  # nothing usable on any rank
    fr.write_text("7\n" * 4)

    def make(rank: int, world: int, srcs) -> PretrainStream:
        return PretrainStream(srcs, TOK, CLMObjective(CLM), 16, 2, rank=rank, world_size=world)

    srcs = [Source(en, "en")]
    old = [make(r, 2, srcs) for r in range(2)]
    for s in old:
        for _ in range(40):
            next(s)
    name = old[0].sources[0].name
    assert [s.stats["bad_files"] for s in old] == [1, 1]
    assert [s.stats["invalid_utf8"] for s in old] == [1, 1]
    epochs = [s.stats["epochs"][name] for s in old]
    assert min(epochs) >= 1
    one = make(0, 1, srcs)
    one.load_resharded([json.loads(json.dumps(s.state_dict())) for s in old])
    # one damaged file, counted on the first pass only, as by one uninterrupted run
    assert one.stats["bad_files"] == 1
    assert one.stats["invalid_utf8"] == 2  # the two invalid lines, one read by each rank
    assert one.stats["docs"]["en"] == sum(s.stats["docs"]["en"] for s in old)
    # the passes completed before the position it goes on from (the slowest rank's): a pass it then completes
    # is one more, as for one run
    done = one._cursors[0]["epoch"]
    assert one.stats["epochs"][name] == done == min(epochs)
    while one._cursors[0]["epoch"] == done:
        next(one)
    assert one.stats["epochs"][name] == done + 1 and one.stats["bad_files"] == 1
    # a source dead on one saved rank only is not dead after the merge, nor listed as such
    srcs = [Source(en, "en"), Source(de, "de"), Source(fr, "fr")]
    old = [make(r, 2, srcs) for r in range(2)]
    for s in old:
        for _ in range(40):
            next(s)
    dead = lambda s: [s.sources[i].name for i in range(3) if s._dead[i]]  # noqa: E731
    assert dead(old[0]) == [old[0].sources[2].name] and len(dead(old[1])) == 2
    one = make(0, 1, srcs)
    one.load_resharded([json.loads(json.dumps(s.state_dict())) for s in old])
    assert one.stats["dead_sources"] == dead(one) == [one.sources[2].name]
    assert one.stats["bad_files"] == 1


@pytest.mark.parametrize(
    "objective,seq_len,target_len,need",
    [  # tandem's framing: EOS after source and target; AlexaTM's [CLM] adds one to the source
        (AlexaTMObjective(CLM), 4, None, (5, 4)),
        (DenoiseObjective(), 3, None, (4, 4)),
        (AlexaTMObjective(CLM), 32, 3, (5, 4)),
    ],
)
def test_too_short_sequences_name_the_lengths_that_fit(tmp_path, objective, seq_len, target_len, need):
    """seq_len/target_len too short for one example: the error says which lengths are enough, and those
    lengths build a stream."""
    write_docs(tmp_path / "a.txt", 0, [6] * 4)
    src = [Source(tmp_path / "a.txt", "en")]
    with pytest.raises(TandemError, match=f"use seq_len >= {need[0]} and target_len >= {need[1]}"):
        PretrainStream(src, TOK, objective, seq_len=seq_len, target_len=target_len, batch_size=2)
    s = PretrainStream(src, TOK, objective, seq_len=need[0], target_len=need[1], batch_size=2)
    assert next(s)["input_ids"].shape[1] <= need[0]


_TOKENISED_LOG: list[str] = []  # set before the pool forks: its workers append each document they are handed


def _logging_process(task):
    import tandem.data.stream as stream_mod

    with open(_TOKENISED_LOG[0], "a", encoding="utf-8") as f:
        f.write(task[0] + "\n")
    return stream_mod._real_process(task)


def test_workers_tokenise_the_next_chunks_before_the_stream_needs_them(tmp_path, monkeypatch):
    """The stream handed a source's next chunk to the workers only once it had run out, then waited for them:
    a trainer stood still while they tokenised (and made spoken form). Now the chunks after the one waited for
    are handed over first, so the workers run ahead while the batches are used; the batches stay those of
    a stream without workers."""
    import time

    import tandem.data.stream as stream_mod

    path = tmp_path / "en.txt"
    write_docs(path, 0, [12] * 400)

    def make(workers):
        obj = AlexaTMObjective(CLM)
        return PretrainStream(
            [Source(path, "en")], TOK, obj, seq_len=40, batch_size=4, num_workers=workers, prefetch_docs=5
        )

    ref = make(0)
    want = [next(ref) for _ in range(6)]
    ref.close()
    log = tmp_path / "tokenised.txt"
    _TOKENISED_LOG[:] = [str(log)]
    monkeypatch.setattr(stream_mod, "_real_process", stream_mod._process, raising=False)
    monkeypatch.setattr(stream_mod, "_process", _logging_process)
    stream = make(2)
    got = [next(stream) for _ in range(6)]
    assert batches_equal(got, want)
    # every document of the chunks used so far (consumed or still queued) was handed over, and two chunks more
    used_docs = stream.stats["docs"]["en"] + len(stream._queues[0])
    assert used_docs % 5 == 0 and used_docs > 0
    deadline = time.monotonic() + 60
    while len(log.read_text().splitlines()) < used_docs + 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(log.read_text().splitlines()) == used_docs + 10
    stream.close()


def test_batches_built_in_a_background_thread_are_the_streams(corpus):
    """BackgroundBatches hands out the stream's batches in order; its state and stats are those after the
    batches handed out (a stream resumed from them continues exactly), whatever it built ahead; an error is
    raised where its batch was asked for; stop() ends the thread."""
    import threading
    import time

    from tandem.data.prefetch import BackgroundBatches

    ref = _alexatm_stream(corpus, num_workers=0, prefetch_docs=5)
    want = [next(ref) for _ in range(10)]
    ref5 = _alexatm_stream(corpus, num_workers=0, prefetch_docs=5)
    for _ in range(5):
        next(ref5)
    before = sys.getswitchinterval()
    bg = BackgroundBatches(_alexatm_stream(corpus, num_workers=2, prefetch_docs=5), depth=3)
    got = [next(bg) for _ in range(5)]
    # while it runs, a thread waking from a wait gets the GIL back within 0.2 ms, not the default 5 ms
    assert sys.getswitchinterval() == pytest.approx(2e-4)
    deadline = time.monotonic() + 60
    while bg.stream.batches < 5 + 3 and time.monotonic() < deadline:  # the thread fills its queue
        time.sleep(0.01)
    assert bg.stream.batches >= 5 + 3
    state, stats = bg.state_dict(), bg.stats
    assert state == ref5.state_dict() and stats == ref5.stats  # not the stream's, which has run ahead
    resumed = _alexatm_stream(corpus, num_workers=0, prefetch_docs=5)
    resumed.load_state_dict(json.loads(json.dumps(state)))
    assert batches_equal(got + [next(resumed) for _ in range(5)], want)
    got += [next(bg) for _ in range(5)]
    assert batches_equal(got, want)
    bg.close()
    assert sys.getswitchinterval() == before
    assert not any(t.name == "tandem-batches" for t in threading.enumerate())
    assert bg.stream._pool is None

    class Failing:
        def __init__(self):
            self.n = 0

        def __iter__(self):
            return self

        def __next__(self):
            self.n += 1
            if self.n == 4:
                raise TandemError("batch 4 is unreadable")
            return self.n

    listed = BackgroundBatches([{"a": 1}, {"a": 2}], depth=1)  # an iterable, as train() takes
    assert list(listed) == [{"a": 1}, {"a": 2}]
    listed.stop()

    bg = BackgroundBatches(Failing(), depth=2)
    assert not hasattr(bg, "state_dict")  # as the stream: a trainer checks for it
    assert [next(bg) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(TandemError, match="batch 4"):
        next(bg)
    with pytest.raises(StopIteration):
        next(bg)
    bg.stop()
