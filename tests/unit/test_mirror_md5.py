"""Published md5 checks, and mirrors holding two data sets' files under one upstream name."""

import hashlib

import pytest

from alarmbench.data.download import ChecksumError, HashLock, fetch_file
from alarmbench.data.sources import RemoteFile


def test_md5_picks_the_right_copy_among_same_named_mirror_files(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "a_mnist").mkdir(parents=True)
    (mirror / "b_fashion").mkdir()
    (mirror / "a_mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"digits")
    (mirror / "b_fashion" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"clothes")
    fashion = RemoteFile("t10k-labels-idx1-ubyte.gz", ("http://127.0.0.1:9/none",),
                         md5=hashlib.md5(b"clothes").hexdigest())
    lock = HashLock(tmp_path / "lock.json")
    path = fetch_file(fashion, tmp_path / "raw", mirror=mirror, lock=lock, key="fashion_mnist/t10k-labels")
    assert path.read_bytes() == b"clothes"
    # the sha256 of the verified copy is recorded for later runs
    assert lock.get("fashion_mnist/t10k-labels")["sha256"] == hashlib.sha256(b"clothes").hexdigest()


def test_md5_mismatch_everywhere_is_an_error(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "gzip.zip").write_bytes(b"not emnist")
    remote = RemoteFile("gzip.zip", ("http://127.0.0.1:9/none",), md5="58c8d27c78d21e728a6bc7b3cc06412e")
    with pytest.raises(ChecksumError, match=r"gzip.zip: md5 mismatch .*expected 58c8d27c"):
        fetch_file(remote, tmp_path / "raw", mirror=mirror, retries=0, backoff=0)
    assert not (tmp_path / "raw" / "gzip.zip").exists()
