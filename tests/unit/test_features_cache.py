"""On-disk feature cache: round trip, streaming, header validation, atomicity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from alarmbench.features.cache import FeatureCache, FeatureCacheError, FeatureCacheWriter, checkpoint_sources
from alarmbench.fileio import read_json, write_json


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_round_trip_streaming_chunks(tmp_path: Path, dtype: str) -> None:
    g = torch.Generator().manual_seed(0)
    data = torch.randn(23, 3, 5, generator=g)
    ckpt = tmp_path / "snap.pt"
    ckpt.write_bytes(b"weights")
    path = tmp_path / "feats"
    with FeatureCacheWriter(
        path, (3, 5), dtype=dtype, names=["a", "b"], sources=checkpoint_sources([ckpt]), chunk_rows=4,
        expected_rows=23, meta={"split": "train"},
    ) as w:  # fmt: skip
        for lo, hi in [(0, 7), (7, 10), (10, 10), (10, 22), (22, 23)]:  # ragged blocks, one empty
            w.append(data[lo:hi])
    assert _leftovers(tmp_path) == ["feats", "snap.pt"]  # no temp dirs left
    cache = FeatureCache(path)
    assert len(cache) == 23 and cache.row_shape == (3, 5) and cache.dtype == dtype
    assert [rows for _, rows in cache.files] == [4, 4, 4, 4, 4, 3]
    assert cache.names == ["a", "b"] and cache.meta == {"split": "train"} and cache.chunk_rows == 4
    assert cache.matches_sources([ckpt])
    ckpt.write_bytes(b"other")
    assert not cache.matches_sources([ckpt])
    tdtype = torch.float16 if dtype == "float16" else torch.float32
    want = data.to(tdtype)
    loaded = cache.load()
    assert loaded.dtype == tdtype and torch.equal(loaded, want)
    assert torch.equal(torch.cat(list(cache.iter_chunks())), want)
    assert cache.load(dtype=torch.float32).dtype == torch.float32


def test_fp16_saturation_counted_and_nan_rejected(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="saturated"):
        with FeatureCacheWriter(tmp_path / "c", (2,)) as w:
            w.append(np.array([[1e6, -1.0], [0.5, -7e4]], dtype=np.float32))
    c = FeatureCache(tmp_path / "c")
    assert c.header["n_saturated"] == 2
    assert c.load().tolist() == [[65504.0, -1.0], [0.5, -65504.0]]
    with pytest.raises(ValueError, match="non-finite"):
        with FeatureCacheWriter(tmp_path / "d", (2,)) as w:
            w.append(np.array([[np.nan, 0.0]], dtype=np.float32))
    assert not (tmp_path / "d").exists()


def test_atomic_no_final_dir_when_writing_fails_midway(tmp_path: Path) -> None:
    path = tmp_path / "feats"
    with pytest.raises(RuntimeError, match="boom"):
        with FeatureCacheWriter(path, (4,), chunk_rows=2) as w:
            w.append(torch.zeros(5, 4))  # two chunk files already on disk (in the temp dir)
            raise RuntimeError("boom")
    assert not path.exists() and _leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="expected 10"):
        with FeatureCacheWriter(path, (4,), expected_rows=10) as w:
            w.append(torch.zeros(5, 4))
    assert not path.exists() and _leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="chunk rows have shape"):
        with FeatureCacheWriter(path, (4,)) as w:
            w.append(torch.zeros(5, 3))
    assert _leftovers(tmp_path) == []


def test_existing_cache_needs_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "feats"
    with FeatureCacheWriter(path, (2,), dtype="float32") as w:
        w.append(torch.ones(3, 2))
    with pytest.raises(FileExistsError):
        FeatureCacheWriter(path, (2,))
    with FeatureCacheWriter(path, (2,), dtype="float32", overwrite=True) as w:
        w.append(torch.full((1, 2), 7.0))
    assert FeatureCache(path).load().tolist() == [[7.0, 7.0]]
    assert _leftovers(tmp_path) == ["feats"]


def _write(path: Path) -> None:
    with FeatureCacheWriter(path, (3,), chunk_rows=2, fsync=False) as w:
        w.append(torch.arange(15.0).reshape(5, 3))


def _edit_header(path: Path, sealed: bool = True, **changes: object) -> None:
    """Change header entries; `sealed`: with a matching digest (as a buggy writer would)."""
    h = read_json(path / "header.json")
    h.update(changes)
    write_json(path / "header.json", h, sealed=sealed)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("corrupt", "match"),
    [
        (lambda p: (p / "header.json").unlink(), r"header\.json: no feature cache header"),
        (lambda p: (p / "header.json").write_text("{oops"), r"header\.json: not valid JSON, truncated or damaged"),
        (lambda p: _replace(p / "header.json", '"n_rows": 5', '"n_rows": 4'),
         r"header\.json: damaged: its content digest"),
        (lambda p: _edit_header(p, sealed=False, meta={"part": "val"}), r"header\.json: no content digest"),
        (lambda p: _flip(p / "chunk_000001.npy", -1),
         r"chunk_000001\.npy: damaged: its sha256 .* recorded in header"),
        (lambda p: _flip(p / "chunk_000001.npy", 129), r"chunk_000001\.npy: damaged: its sha256"),
        (lambda p: _edit_header(p, format="other"), r"header\.json: not an"),
        (lambda p: _edit_header(p, version=99), r"header\.json: unsupported version"),
        (lambda p: _edit_header(p, dtype="int8"), r"header\.json: unsupported dtype"),
        (lambda p: _edit_header(p, n_rows=6), r"header\.json: chunk files hold 5 rows but n_rows is 6"),
        (lambda p: _edit_header(p, row_shape=[4]), r"chunk_000000\.npy: holds float16 \(2, 3\), header says float16 \(2, 4\)"),
        (lambda p: (p / "chunk_000001.npy").unlink(), r"chunk_000001\.npy: chunk file listed in .* is missing"),
        (lambda p: (p / "chunk_000002.npy").write_bytes((p / "chunk_000002.npy").read_bytes()[:-2]), r"chunk_000002\.npy: .*truncated"),
        (lambda p: (p / "chunk_000000.npy").write_bytes(b"garbage"), r"chunk_000000\.npy: not a valid \.npy"),
    ],
)
def test_header_validation_errors_name_the_file(tmp_path: Path, corrupt, match: str) -> None:
    path = tmp_path / "feats"
    _write(path)
    FeatureCache(path)  # valid before corruption
    corrupt(path)
    with pytest.raises(FeatureCacheError, match=match) as err:
        FeatureCache(path).load()  # a chunk's digest is checked when it is read
    assert err.value.remove == (str(path),)  # the workflow rebuilds the whole folder
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("how", ["load", "iter_chunks", "disk_rows", "verify"])
def test_every_way_of_reading_checks_the_digests(tmp_path: Path, how: str) -> None:
    from alarmbench.features.cache import DiskRows

    path = tmp_path / "feats"
    _write(path)
    _flip(path / "chunk_000002.npy", -3)
    cache = FeatureCache(path)  # the structure is intact: only reading the rows finds the flip
    read = {"load": cache.load, "iter_chunks": lambda: list(cache.iter_chunks()),
            "disk_rows": lambda: DiskRows(cache), "verify": cache.verify}[how]
    with pytest.raises(FeatureCacheError, match=r"chunk_000002\.npy: damaged"):
        read()


def test_lead_slice_and_disk_rows_match_the_loaded_tensor(tmp_path: Path) -> None:
    from alarmbench.features.cache import DiskRows

    data = torch.randn(23, 4, 5, generator=torch.Generator().manual_seed(1))
    with FeatureCacheWriter(tmp_path / "f", (4, 5), chunk_rows=4, expected_rows=23) as w:
        w.append(data)
    cache = FeatureCache(tmp_path / "f")
    want = data.to(torch.float16)[:, :3]
    assert torch.equal(cache.load(lead=slice(0, 3)), want)
    assert cache.nbytes(lead=slice(0, 3)) == 23 * 3 * 5 * 2 and cache.nbytes(torch.float32) == 23 * 4 * 5 * 4
    rows = DiskRows(cache, lead=slice(0, 3))
    idx = torch.tensor([22, 0, 5, 5, 13, 3])  # across chunk files, repeated, unordered
    assert len(rows) == 23 and torch.equal(rows[idx], want[idx])
    assert DiskRows(cache, dtype=torch.float32)[idx].dtype == torch.float32
