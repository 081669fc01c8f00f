"""Files read outside a pretraining source (decontamination files, fine-tuning data) are read as a source's
are: .gz through gzip, other compressions and archives refused, a damaged .gz file named."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from tandem.data import Decontaminator, Seq2SeqStream, read_pairs
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
