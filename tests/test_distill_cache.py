"""Top-k teacher-logit cache: round-trip through disk, padding, stale-cache refusal."""

from __future__ import annotations

import pytest
import torch

from tandem.distill.cache import TopKLogitCache
from tandem.distill.losses import topk_kd_loss
from tandem.errors import TandemError


def test_round_trip_across_shards_and_reopen(tmp_path):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 6, 50, generator=g) * 4
    lengths = [6, 3, 1, 6, 4]
    mask = torch.zeros(5, 6, dtype=torch.long)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
    ids = [10, 11, 12, 13, 14]
    cache = TopKLogitCache(tmp_path / "c", k=8, fingerprint="teacher-A", shard_size=2)
    cache.put_batch(ids, logits, mask)
    cache.flush()
    assert len(list((tmp_path / "c").glob("shard-*.safetensors"))) == 3

    reopened = TopKLogitCache(tmp_path / "c", k=8, fingerprint="teacher-A")
    assert len(reopened) == 5 and 12 in reopened and 99 not in reopened
    ref_v, ref_i = logits.topk(8, dim=-1)
    for b, ex in enumerate(ids):
        v, i = reopened.get(ex)
        assert v.dtype == torch.float16 and v.shape == (lengths[b], 8)
        assert torch.equal(i, ref_i[b, : lengths[b]])
        assert torch.equal(v, ref_v[b, : lengths[b]].half())

    bv, bi = reopened.get_batch([11, 13], length=6)
    assert bv.shape == (2, 6, 8) and torch.all(bv[0, 3:] == 0) and torch.all(bi[0, 3:] == 0)
    assert torch.equal(bi[1], ref_i[3])


def test_kl_from_cache_matches_kl_from_fresh_topk(tmp_path):
    g = torch.Generator().manual_seed(1)
    teacher = torch.randn(2, 4, 30, generator=g)
    student = torch.randn(2, 4, 30, generator=g)
    mask = torch.ones(2, 4, dtype=torch.long)
    cache = TopKLogitCache(tmp_path, k=5)
    cache.put_batch([0, 1], teacher, mask)
    cache.flush()
    v, i = TopKLogitCache(tmp_path, k=5).get_batch([0, 1], 4)
    fresh_v, fresh_i = teacher.topk(5, dim=-1)
    a = topk_kd_loss(student, v, i, mask, temperature=2.0)
    b = topk_kd_loss(student, fresh_v, fresh_i, mask, temperature=2.0)
    assert a.item() == pytest.approx(b.item(), rel=2e-3)  # fp16 storage of the logits


def test_stale_cache_is_refused(tmp_path):
    cache = TopKLogitCache(tmp_path, k=4, fingerprint="teacher-A")
    cache.put(0, torch.zeros(2, 4), torch.zeros(2, 4, dtype=torch.long))
    cache.flush()
    with pytest.raises(TandemError, match="delete the folder"):
        TopKLogitCache(tmp_path, k=4, fingerprint="teacher-B")
    with pytest.raises(TandemError, match="k=4"):
        TopKLogitCache(tmp_path, k=8, fingerprint="teacher-A")
    with pytest.raises(KeyError):
        TopKLogitCache(tmp_path, k=4, fingerprint="teacher-A").get(5)


def test_a_cache_dir_that_cannot_be_made_is_refused_when_opened(tmp_path):
    """`tandem distill --topk 4 --cache-dir FILE` trained to the end and then died with a FileExistsError
    traceback at the first shard write: the folder is now made (or refused, naming it) when the cache opens."""
    (tmp_path / "f.txt").write_text("keep\n")
    for bad in (tmp_path / "f.txt", tmp_path / "f.txt" / "c"):
        with pytest.raises(TandemError, match=rf"^logit cache {bad}: it or a folder above it is a file"):
            TopKLogitCache(bad, k=4)
    assert (tmp_path / "f.txt").read_text() == "keep\n"
    TopKLogitCache(tmp_path / "new" / "c", k=4)
    assert (tmp_path / "new" / "c").is_dir()


@pytest.mark.parametrize("text", ["garbage\n", '{"k": 4, "fingerprint": "t"}', "[1, 2]", '{"examples": 3}'])
def test_a_damaged_index_is_a_one_line_error_naming_it(tmp_path, text):
    """An index.json that is not JSON, or JSON without the examples map, was a JSONDecodeError / KeyError /
    AttributeError traceback from `tandem distill --topk`."""
    (tmp_path / "index.json").write_text(text)
    with pytest.raises(TandemError, match=r"index\.json: not a cache index tandem wrote .*delete the folder"):
        TopKLogitCache(tmp_path, k=4, fingerprint="t")
