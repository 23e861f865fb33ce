"""Every intermediate carries its content digest and is checked when read (issue 23): a flipped
byte or a truncation anywhere in a sealed .npz, .pt or JSON file, or in a split, raises one
`DamagedFileError` line naming the file; a workflow job deletes a damaged declared input before it
fails; a full disk or a missing permission is one `WriteError` line with the path and free space,
and leaves nothing behind."""

from __future__ import annotations

import builtins
import errno
import json
import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from alarmbench import fileio
from alarmbench.errors import DamagedFileError, WriteError
from alarmbench.features import cache as cache_module
from alarmbench.features.cache import FeatureCacheWriter
from alarmbench.fileio import load_npz, load_torch, read_json, save_torch, write_json, write_npz
from alarmbench.runtime.loop import Checkpoint, fit_epochs
from alarmbench.workflow_log import logged
from toydata import toy_split


def flipped(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x04
    path.write_bytes(bytes(data))


def write_sample(path: Path) -> None:
    arrays = {"a": np.arange(1000, dtype=np.float32), "b": np.array(["x", "y"])}
    if path.suffix == ".pt":
        save_torch(path, {"fingerprint": "f", "state": {"w": torch.from_numpy(arrays["a"])}})
    else:
        write_npz(path, **arrays)


def read_sample(path: Path):
    return load_torch(path) if path.suffix == ".pt" else load_npz(path)


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
def test_sealed_archives_read_back_and_stay_valid_zips(tmp_path, suffix):
    path = tmp_path / f"x{suffix}"
    write_sample(path)
    back = read_sample(path)
    values = back["state"]["w"].numpy() if suffix == ".pt" else back["a"]
    assert np.array_equal(values, np.arange(1000, dtype=np.float32))
    # still an ordinary archive for NumPy/torch: the digest is the zip comment
    plain = torch.load(path, weights_only=True) if suffix == ".pt" else dict(np.load(path))
    assert plain is not None
    import zipfile

    assert zipfile.ZipFile(path).comment.startswith(b"alarmbench-sha256:")


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
@pytest.mark.parametrize("where", [0, 40, 0.5, -100, -40, -1])  # header, data, central directory, digest
def test_a_flipped_byte_anywhere_is_caught(tmp_path, suffix, where):
    path = tmp_path / f"x{suffix}"
    write_sample(path)
    size = path.stat().st_size
    flipped(path, int(size * where) if isinstance(where, float) else where)
    with pytest.raises(DamagedFileError, match=rf"^{path}: (damaged: its sha256|.*without the content digest)"):
        read_sample(path)


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
@pytest.mark.parametrize("keep", [0, 10, 0.5, -1])
def test_a_truncated_archive_is_caught(tmp_path, suffix, keep):
    path = tmp_path / f"x{suffix}"
    write_sample(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    with pytest.raises(DamagedFileError, match=rf"^{path}: .* bytes without the content digest at their end"):
        read_sample(path)


def test_an_archive_without_a_digest_is_refused(tmp_path):
    np.savez(tmp_path / "plain.npz", a=np.arange(3))
    with pytest.raises(DamagedFileError, match="not written by this version of alarmbench"):
        load_npz(tmp_path / "plain.npz")


@pytest.mark.parametrize("obj", [{"a": 1.5, "b": [1, 2], "c": {"d": None}}, [{"m": "ae", "v": 0.25}, {"m": "x"}]])
def test_sealed_json_round_trip_and_damage(tmp_path, obj):
    path = tmp_path / "r.json"
    write_json(path, obj, sealed=True)
    assert read_json(path) == obj
    text = path.read_text()
    path.write_text(text.replace("0.25" if "0.25" in text else "1.5", "0.35" if "0.25" in text else "1.6"))
    with pytest.raises(DamagedFileError, match=rf"^{path}: damaged: its content digest differs"):
        read_json(path)
    path.write_text(text[: len(text) // 2])
    with pytest.raises(DamagedFileError, match=rf"^{path}: not valid JSON, truncated or damaged"):
        read_json(path)
    path.write_text(json.dumps(obj))
    with pytest.raises(DamagedFileError, match="no content digest"):
        read_json(path)


@pytest.mark.parametrize("which", ["npz", "json"])
@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_split_names_the_file_and_both_to_remove(tmp_path, which, damage):
    split = toy_split(n_anomalies=5)
    npz, js = tmp_path / "split.npz", tmp_path / "split.json"
    split.save(npz, js)
    path = npz if which == "npz" else js
    if damage == "flip":
        flipped(path, path.stat().st_size // 2)
    else:
        path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(DamagedFileError, match=rf"^{path}: ") as err:
        type(split).load(npz)
    assert err.value.remove == (str(npz), str(js))


# ---------------------------------------------------------------------- the job deletes it
def test_a_job_removes_a_damaged_declared_input_and_fails_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the removal record goes to ./.snakemake
    folder = tmp_path / "features" / "train"
    with FeatureCacheWriter(folder, (3,), chunk_rows=2, fsync=False) as w:
        w.append(torch.arange(12.0).reshape(4, 3))
    flipped(folder / "chunk_000001.npy", -2)
    job = SimpleNamespace(input=[str(tmp_path / "split.npz"), str(folder)], wildcards={}, rule="fit_score",
                          threads=1, resources={})
    job.wildcards = SimpleNamespace(items=lambda: [])
    job.resources = SimpleNamespace(items=lambda: [])
    with pytest.raises(SystemExit), logged(str(tmp_path / "job.log"), job):
        cache_module.FeatureCache(folder).load()
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith(f"alarmbench: error: {folder / 'chunk_000001.npy'}: damaged: its sha256")
    assert line.endswith(f"removed {folder}: run the workflow again to rebuild it")
    assert not folder.exists() and tmp_path.joinpath("features").is_dir()
    assert "Traceback" not in (tmp_path / "job.log").read_text()


def test_a_damaged_file_that_is_no_declared_input_is_left_for_the_user(tmp_path, capsys):
    path = tmp_path / "scores.npz"
    write_sample(path)
    flipped(path, 5)
    for job in (None, SimpleNamespace(input=[str(tmp_path / "other.npz")], rule="r",
                                      wildcards=SimpleNamespace(items=lambda: []), threads=1,
                                      resources=SimpleNamespace(items=lambda: []))):
        with pytest.raises(SystemExit), logged(str(tmp_path / "job.log"), job):
            load_npz(path)
        assert path.exists()
        assert capsys.readouterr().err.strip().endswith(f"delete {path} and run again to rebuild it")


def test_a_damaged_checkpoint_is_discarded_and_training_starts_over(tmp_path, caplog):
    net = torch.nn.Linear(2, 1)
    ckpt = Checkpoint(tmp_path / "c.ckpt", "fp", every_s=0)

    def train(epochs):
        fit_epochs(lambda idx: None, 8, batch_size=4, epochs=epochs, generator=torch.Generator().manual_seed(0),
                   state={"net": net}, checkpoint=ckpt, keep_checkpoint=True)

    train(1)
    flipped(ckpt.path, ckpt.path.stat().st_size // 2)
    with caplog.at_level(logging.WARNING):
        train(2)
    assert "discarding checkpoint" in caplog.text and "damaged" in caplog.text
    assert "resumed" not in caplog.text


# ---------------------------------------------------------------------- disk full, no permission
def dev_full(*args, **kwargs):
    """`open` that writes to /dev/full: every write fails with the kernel's ENOSPC."""
    return builtins.open("/dev/full", "wb")


def test_a_full_disk_is_one_line_with_the_path_and_free_space_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(fileio, "open", dev_full, raising=False)
    out = tmp_path / "cell" / "scores.npz"
    with pytest.raises(WriteError) as err:
        write_npz(out, val=np.zeros(10_000))
    msg = str(err.value)
    assert msg.startswith(f"cannot write {out}: No space left on device (") and "\n" not in msg
    assert " free of " in msg and msg.endswith("free some space there and run again")
    assert list(out.parent.iterdir()) == []  # no temporary file, no half-written file


def test_a_full_disk_while_caching_features_leaves_no_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "open", dev_full, raising=False)
    out = tmp_path / "features" / "train"
    with pytest.raises(WriteError, match=rf"^cannot write {out}: No space left on device \(.* free of .*\)"):
        with FeatureCacheWriter(out, (3,), chunk_rows=2, fsync=False) as w:
            w.append(torch.arange(12.0).reshape(4, 3))
    assert list(out.parent.iterdir()) == []


def test_an_unwritable_folder_is_one_line(tmp_path, monkeypatch):
    def refuse(*args, dir=None, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(dir))

    monkeypatch.setattr(fileio.tempfile, "mkstemp", refuse)
    out = tmp_path / "r.json"
    with pytest.raises(WriteError, match=rf"^cannot write {out}: Permission denied \(.* free of .*\); make "
                                         rf"{tmp_path} writable and run again$"):
        write_json(out, {"a": 1})


def test_other_os_errors_are_not_disguised(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(fileio, "open", broken, raising=False)
    with pytest.raises(OSError, match="Input/output error") as err:
        write_npz(tmp_path / "x.npz", a=np.zeros(3))
    assert not isinstance(err.value, WriteError)


def _job(*inputs):
    return SimpleNamespace(input=[str(p) for p in inputs], rule="fit_score", threads=1,
                           wildcards=SimpleNamespace(items=lambda: []), resources=SimpleNamespace(items=lambda: []))


def test_an_input_removed_by_another_job_of_the_run_is_one_line(tmp_path, capsys):
    """Jobs of one run that read the same damaged file: the first removes it, the later ones find
    a declared input missing and say so in one line (a file that is no input keeps its traceback)."""
    split = tmp_path / "split.npz"
    with pytest.raises(SystemExit), logged(str(tmp_path / "a.log"), _job(split)):
        load_npz(split)
    assert capsys.readouterr().err.strip() == (f"alarmbench: error: {split}: missing (a job of this run found it "
                                               f"damaged and removed it, or it was deleted); run the workflow again "
                                               f"to rebuild it")
    with pytest.raises(FileNotFoundError), logged(str(tmp_path / "b.log"), _job(tmp_path / "other.npz")):
        load_npz(split)
    assert "Traceback" in capsys.readouterr().err


def test_a_raw_file_changed_after_fetch_removes_the_manifest_not_the_file(tmp_path, monkeypatch):
    from alarmbench.stages.data import fetch_stage, prepare_stage

    monkeypatch.chdir(tmp_path)
    rows = "f0,f1,label\n" + "".join(f"{i},{i % 7},{int(i % 5 == 0)}\n" for i in range(60))
    Path("mine.csv").write_text(rows)
    user = {"mine": {"path": "mine.csv", "label_column": "label", "normal": [0], "anomalies": [1]}}
    manifest = tmp_path / "raw" / "mine" / "manifest.json"
    fetch_stage(dataset="mine", raw_dir=str(tmp_path / "raw"), mirror=None, manifest=str(manifest), user=user)
    raw = Path(read_json(manifest)["files"].popitem()[1]["path"])
    raw.write_text(rows.replace("3,3,0", "3,4,0"))
    with pytest.raises(DamagedFileError, match=rf"^{raw}: changed since it was fetched") as err:
        prepare_stage(dataset="mine", manifest=str(manifest), out=str(tmp_path / "mine.npz"), user=user)
    assert err.value.remove == (str(manifest),)


def test_a_removal_is_recorded_for_the_jobs_that_read_the_file(tmp_path, monkeypatch, capsys):
    """The record changes the `damaged` param of exactly the jobs whose inputs it names."""
    from alarmbench import repairs

    monkeypatch.chdir(tmp_path)
    repairs._records.cache_clear()
    assert repairs.history(["cell/split.npz"]) is None
    write_sample(Path("scores.npz"))
    flipped(Path("scores.npz"), 7)
    job = _job("scores.npz", "fit.json")
    job.output = ["metrics.json"]  # removed by Snakemake as the job fails: its readers rerun too
    with pytest.raises(SystemExit), logged("job.log", job):
        load_npz("scores.npz", remove=("scores.npz", "not-an-input.json"))
    repairs._records.cache_clear()
    found = repairs.history(["./scores.npz", "fit.json", "metrics.json"])
    assert set(found) == {"scores.npz", "metrics.json"} and all(len(t) == 1 for t in found.values())
    assert repairs.history(["fit.json", "not-an-input.json"]) is None
    repairs._records.cache_clear()
