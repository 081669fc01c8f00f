"""Files read outside a pretraining source (decontamination files, fine-tuning data) are read as a source's
are: .gz through gzip, other compressions and archives refused, a damaged .gz file named."""

from __future__ import annotations

import gzip
import json
import re
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from tandem.cli import main
from tandem.data import Decontaminator, Seq2SeqStream, read_pairs, sources
from tandem.data.sources import Reader, Source, split_text
from tandem.errors import TandemError
from tandem.finetune import load_pairs


class CharTok:
    pad_id, eos_id = 0, 1

    def encode(self, text: str) -> list[int]:
        return [ord(c) + 2 for c in text]


def sentence(k: int) -> str:
    return " ".join(f"w{k}x{j}" for j in range(15))


def eval_files(folder: Path) -> dict[str, bytes]:
    """Evaluation files of each kind decontamination reads, as bytes."""
    rows = [{"id": k, "passage": {"text": sentence(k)}, "question": sentence(100 + k)} for k in range(30)]
    return {
        "dev.txt": "".join(sentence(200 + k) + "\n" for k in range(30)).encode(),
        "dev.jsonl": "".join(json.dumps(r) + "\n" for r in rows).encode(),
        "squad.json": json.dumps({"data": rows}).encode(),
        "lines.json": "".join(json.dumps(r) + "\n" for r in rows).encode(),  # JSON lines named .json
    }


@pytest.mark.parametrize("name", ["dev.txt", "dev.jsonl", "squad.json", "lines.json"])
def test_decontamination_files_may_be_gzipped(tmp_path, name):
    """A .gz evaluation file gives the n-grams of the file it holds (it was read as text: garbage, or a
    JSON error, and no n-gram of the evaluation set)."""
    data = eval_files(tmp_path)[name]
    (tmp_path / name).write_bytes(data)
    (tmp_path / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
    plain = Decontaminator.from_files([tmp_path / name])
    gz = Decontaminator.from_files([tmp_path / f"{name}.gz"])
    assert plain.grams and gz.grams == plain.grams and gz.num_texts == plain.num_texts
    doc = f"some words before {sentence(203 if name == 'dev.txt' else 3)} after"
    assert gz.contaminated(doc)


def gz_damaged(data: bytes) -> dict[str, bytes]:
    blob = gzip.compress(data, mtime=0)
    return {
        "cut": blob[: len(blob) // 2],
        "crc": blob[:-8] + bytes([blob[-8] ^ 1]) + blob[-7:],
        "plain": data,  # named .gz, not gzip
    }


def test_damaged_or_unread_decontamination_files_are_named_errors(tmp_path):
    data = eval_files(tmp_path)["dev.jsonl"] * 50
    for kind, blob in gz_damaged(data).items():
        for name in (f"{kind}.jsonl.gz", f"{kind}.json.gz"):
            (tmp_path / name).write_bytes(blob)
            with pytest.raises(TandemError, match="corrupt or truncated gzip file") as e:
                Decontaminator.from_files([tmp_path / name])
            assert str(e.value).startswith(f"decontamination file {tmp_path / name}: "), e.value
    (tmp_path / "dev.jsonl.zst").write_bytes(b"\x28\xb5\x2f\xfd" + bytes(range(256)))
    with pytest.raises(TandemError, match=r"dev\.jsonl\.zst is zstd-compressed, which is not read.*zstd -dc"):
        Decontaminator.from_files([tmp_path / "dev.jsonl.zst"])
    (tmp_path / "dev.tar.gz").write_bytes(gzip.compress(b"x"))
    with pytest.raises(TandemError, match=r"dev\.tar\.gz is an archive"):
        Decontaminator.from_files([tmp_path / "dev.tar.gz"])
    (tmp_path / "gz.txt").write_bytes(gzip.compress(data))
    with pytest.raises(TandemError, match=r"gz\.txt: gzip-compressed data in a file whose name does not end"):
        Decontaminator.from_files([tmp_path / "gz.txt"])


def pair_rows(n: int = 40) -> bytes:
    rows = [{"source": f"question {k}?", "target": f"answer {k}"} for k in range(n)]
    rows.insert(5, {"source": "no target"})  # a bad row, counted (or an error when strict)
    return ("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + "\n").encode()


def test_fine_tuning_data_may_be_gzipped(tmp_path):
    """Seq2SeqStream / read_pairs and `tandem finetune --data/--dev` (load_pairs) read a .jsonl.gz file as the
    file it holds (they read its compressed bytes: invalid UTF-8 lines, or an error)."""
    data = pair_rows()
    (tmp_path / "train.jsonl").write_bytes(data)
    (tmp_path / "train.jsonl.gz").write_bytes(gzip.compress(data, mtime=0))
    (tmp_path / "train.json.gz").write_bytes(gzip.compress(data, mtime=0))
    plain = read_pairs(tmp_path / "train.jsonl")
    assert len(plain[0]) == 40 and plain[1] == {"missing_field": 1}
    for name in ("train.jsonl.gz", "train.json.gz"):
        pairs, counts, problems = read_pairs(tmp_path / name)
        assert pairs == plain[0] and counts == plain[1]
        assert problems == [p.replace("train.jsonl", name) for p in plain[2]]
        a = Seq2SeqStream(tmp_path / "train.jsonl", CharTok(), 4, epochs=1)
        b = Seq2SeqStream(tmp_path / name, CharTok(), 4, epochs=1)
        assert a.examples == b.examples
    good = data.replace(b'{"source": "no target"}\n', b"")
    (tmp_path / "ft.jsonl").write_bytes(good)
    (tmp_path / "ft.jsonl.gz").write_bytes(gzip.compress(good, mtime=0))
    assert load_pairs(tmp_path / "ft.jsonl.gz") == load_pairs(tmp_path / "ft.jsonl")


def test_damaged_or_unread_fine_tuning_files_are_named_errors(tmp_path):
    data = pair_rows(2000).replace(b'{"source": "no target"}\n', b"")
    for kind, blob in gz_damaged(data).items():
        f = tmp_path / f"{kind}.jsonl.gz"
        f.write_bytes(blob)
        with pytest.raises(
            TandemError, match=rf"^fine-tuning data {re.escape(str(f))}: corrupt or truncated gzip file"
        ):
            read_pairs(f)
        with pytest.raises(TandemError, match=rf"^{re.escape(str(f))}: corrupt or truncated gzip file"):
            load_pairs(f)
    with pytest.raises(TandemError, match=r"(after line [1-9][0-9,]*|at its start);"):
        read_pairs(tmp_path / "cut.jsonl.gz")
    (tmp_path / "train.jsonl.xz").write_bytes(b"\xfd7zXZ\x00" + bytes(range(256)))
    for read in (read_pairs, load_pairs, lambda f: Seq2SeqStream(f, CharTok(), 4)):
        with pytest.raises(
            TandemError, match=r"train\.jsonl\.xz is xz-compressed, which is not read.*xz -dc"
        ):
            read(tmp_path / "train.jsonl.xz")


# -- long records read piecewise --------------------------------------------------------------------------------


def all_items(reader: Reader) -> list[tuple]:
    out = []
    while True:
        it = reader.next()
        out.append((it.kind, it.payload, it.cursor, it.record, it.where, it.note))
        if it.kind == "epoch_end":
            return out


def awkward_records(rng: np.random.Generator, bad: bool = True) -> list[bytes]:
    """Lines of multi-byte characters, spaces, tabs and ideographic spaces (cut points and strips), some
    invalid UTF-8 (deep inside, or a sequence cut at the end), holding NUL, blank, or with CRLF endings."""
    alphabet = np.asarray(list("ab é語😀  \t\u3000\r"))
    out = []
    for k in range(24):
        b = "".join(rng.choice(alphabet, size=int(rng.integers(0, 900)))).encode()
        if k % 5 == 2:
            b = b""  # a blank line: between paragraphs
        elif not bad:
            pass
        elif k % 10 == 1:
            b = b[: len(b) * 3 // 4] + b"\xff" + b[len(b) * 3 // 4 :]
        elif k % 10 == 4:
            b += b"\xe2\x82"
        elif k % 10 == 6:
            b += b"\x00"
        elif k % 10 == 9:
            b = b" \t" * int(rng.integers(1, 400))
        out.append(b + (b"\r\n" if k % 3 == 0 else b"\n"))
    return out


@pytest.mark.parametrize("mode", ["line", "file", "paragraph"])
@pytest.mark.parametrize("gz", [False, True])
def test_long_records_read_piecewise_give_the_documents_and_cursors_of_a_whole_read(
    tmp_path, monkeypatch, mode, gz
):
    """A line, paragraph or file of more than 4 * max_doc_chars bytes is read in chunks (3 bytes here: multi-byte
    characters and invalid sequences straddle them) and split as it is read: the items (pieces, notes, bad
    records with the byte of their invalid UTF-8, cursors) are those of the whole record read at once and cut
    by split_text, for every rank, also given out of order in shuffle_docs blocks, and a reader reopened at
    any cursor goes on with the next item."""
    monkeypatch.setattr(sources, "_CHUNK", 3)
    rng = np.random.default_rng(1)
    d = tmp_path / "d"
    d.mkdir()
    for f in range(3):
        data = b"\xef\xbb\xbf" * (f == 1) + b"".join(awkward_records(rng, mode != "file" or f == 2))
        name = f"f{f}.txt"
        if gz:
            (d / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            (d / name).write_bytes(data)
    for limit, world, shuffle in ((40, 1, 0), (150, 2, 0), (40, 2, 5)):  # shuffle_docs: records given later
        src = Source(d, "en", txt_docs=mode, shuffle_docs=shuffle)
        for rank in range(world):
            piecewise = Reader(src, 0, seed=3, rank=rank, world_size=world, max_doc_chars=limit)
            whole = Reader(src, 0, seed=3, rank=rank, world_size=world, max_doc_chars=limit)
            whole._read_cap = 1 << 30  # every record read at once
            got, want = all_items(piecewise), all_items(whole)
            assert got == want
            assert sum(1 for it in want if it[5]) >= {"file": 1, "paragraph": 2, "line": 10}[mode]  # split
            if mode == "line" and world == 1:
                assert {it[1][0] for it in want if it[0] == "bad"} == {
                    "invalid_utf8",
                    "nul_docs",
                    "empty_docs",
                }
            for k in range(0, len(got) - 1, 1 if mode == "line" else 7):
                r = Reader(src, 0, seed=3, rank=rank, world_size=world, cursor=got[k][2], max_doc_chars=limit)
                nxt = r.next()
                assert (nxt.kind, nxt.payload, nxt.cursor) == got[k + 1][:3], k
                r.close()


@pytest.mark.parametrize("mode", ["line", "paragraph", "file"])
def test_a_huge_record_is_read_in_bounded_memory(tmp_path, mode):
    """An 8 MB line, paragraph or file is read a chunk and max_doc_chars characters at a time (it was read
    whole, as bytes and then as text), and its pieces are split_text's of the whole."""
    text = " ".join(f"w{k}" for k in range(1_200_000))
    f = tmp_path / "big.txt"
    f.write_text("1 2 3\n\n" + text + "\n\n4 5 6\n")
    pieces = split_text(f.read_text().strip() if mode == "file" else text, 20_000)
    want = pieces if mode == "file" else ["1 2 3", *pieces, "4 5 6"]
    reader = Reader(Source(f, "en", txt_docs=mode), 0, seed=0, max_doc_chars=20_000)
    same = docs = 0
    tracemalloc.start()  # what is allocated from here on: the reader's, and one document at a time
    try:
        while (it := reader.next()).kind != "epoch_end":
            if it.kind == "doc":  # (line mode: the blank lines are bad records)
                same += docs < len(want) and it.payload == want[docs]
                docs += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert same == docs == len(want) and len(pieces) > 400
    assert len(text) > 8_000_000 and peak < 1_000_000, peak


def test_finetune_cli_reads_gzipped_data_and_refuses_xz(tmp_path, capsys):
    """`tandem finetune --data d.jsonl.gz` reads its 6 pairs (the --dev-holdout check that fails then names
    them, before any tokenizer or model); `--dev dev.jsonl.xz` is refused naming the file."""
    rows = "".join(json.dumps({"source": f"hi {i}", "target": f"yo {i}"}) + "\n" for i in range(6))
    data = tmp_path / "d.jsonl.gz"
    data.write_bytes(gzip.compress(rows.encode(), mtime=0))
    (tmp_path / "dev.jsonl.xz").write_bytes(b"\xfd7zXZ\x00" + bytes(range(256)))
    args = ["finetune", "--model", "tiny", "--data", str(data), "--out", str(tmp_path / "o")]
    args += ["--tokenizer", str(tmp_path / "tok"), "--vocab-size", "300"]
    assert main([*args, "--dev-holdout", "50"]) == 2
    assert "--dev-holdout 50: cannot hold out 50 of 6" in capsys.readouterr().err
    assert main([*args, "--dev", str(tmp_path / "dev.jsonl.xz")]) == 2
    err = capsys.readouterr().err
    assert "dev.jsonl.xz is xz-compressed, which is not read" in err and "Traceback" not in err
    assert not (tmp_path / "tok").exists()


@pytest.mark.parametrize("gz", [False, True])
def test_a_jsonl_line_too_long_to_parse_is_skipped_and_counted_with_its_line(tmp_path, monkeypatch, gz):
    """A jsonl line of more than 4 * max_doc_chars bytes was read as a txt record: its JSON syntax became
    text and, with no txt line end to stop at, the rest of the file went into that one document. Now a line
    up to 16 * max_doc_chars bytes is parsed (its text split as usual); a longer one is read to its end in
    chunks, skipped as a "long_records" bad record naming file and line, counted and warned about, and the
    lines after it are read, with cursors that resume exactly (every rank, also in shuffle_docs blocks)."""
    monkeypatch.setattr(sources, "_CHUNK", 3)
    texts = [f"doc {k} é" for k in range(9)]
    texts[2] = "mid " * 25  # a 100-character text: parsed, then split in pieces of at most 40
    texts[5] = "huge " * 200  # a 1,000-character text: more than 16 * 40 bytes, skipped
    data = "".join(json.dumps({"id": k, "text": t}) + "\n" for k, t in enumerate(texts)).encode()
    f = tmp_path / ("a.jsonl.gz" if gz else "a.jsonl")
    f.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    items = all_items(Reader(Source(f, "en"), 0, seed=0, max_doc_chars=40))
    docs = [it[1] for it in items if it[0] == "doc"]
    assert docs == [*texts[:2], *split_text(texts[2], 40), texts[3], texts[4], *texts[6:]]
    bad = [it for it in items if it[0] == "bad"]
    assert [(b[1][0], b[4]) for b in bad] == [("long_records", f"{f} line 6")]
    assert re.search(r"line 6: a JSON line of 1,0\d\d bytes, more than the 656 read whole", bad[0][1][1])
    for world, shuffle in ((1, 0), (2, 0), (2, 3)):
        src = Source(f, "en", shuffle_docs=shuffle)
        for rank in range(world):
            got = all_items(Reader(src, 0, seed=1, rank=rank, world_size=world, max_doc_chars=40))
            for k in range(len(got) - 1):
                r = Reader(src, 0, seed=1, rank=rank, world_size=world, cursor=got[k][2], max_doc_chars=40)
                nxt = r.next()
                assert (nxt.kind, nxt.payload, nxt.cursor) == got[k + 1][:3], (world, shuffle, k)
                r.close()
    from tandem.data import PretrainStream
    from tandem.objectives import CLMObjective

    class Chars:
        pad_id, eos_id, clm_id, doc_id, vocab_size = 0, 1, 2, 3, 300

        def encode(self, text, add_eos=False):
            return [4 + ord(c) % 290 for c in text] + [1] * add_eos

    stream = PretrainStream([Source(f, "en")], Chars(), CLMObjective(2), 16, 4, max_doc_chars=40)
    with pytest.warns(UserWarning, match=rf"{re.escape(str(f))} line 6: a JSON line of"):
        for _ in range(6):
            next(stream)
    assert stream.stats["long_records"] == 1 and stream.stats["epochs"]["en:" + f.name] >= 1


def test_a_huge_jsonl_line_is_skipped_in_bounded_memory(tmp_path):
    """An 8 MB jsonl line (more than 16 * max_doc_chars bytes) is read a chunk at a time to its end, never
    whole, and the records after it are read."""
    f = tmp_path / "big.jsonl"
    body = json.dumps({"text": " ".join(f"w{k}" for k in range(1_200_000))})
    f.write_text('{"text": "first"}\n' + body + '\n{"text": "last"}\n')
    reader = Reader(Source(f, "en"), 0, seed=0, max_doc_chars=20_000)
    tracemalloc.start()
    try:
        got = []
        while (it := reader.next()).kind != "epoch_end":
            got.append(it.payload if it.kind == "doc" else it.payload[0])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == ["first", "long_records", "last"]
    assert len(body) > 8_000_000 and peak < 2_000_000, peak
