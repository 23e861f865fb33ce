"""Loaders for IDX images, NSL-KDD text, array containers, user files and embedded tables."""

import gzip

import numpy as np
import pandas as pd
import pytest

from alarmbench.data.loaders import DataFormatError, get_loader
from alarmbench.data.loaders.images import read_idx
from alarmbench.data.loaders.nsl_kdd import CATEGORIES, COLUMNS


def write_idx(path, array):
    codes = {np.uint8: 0x08, np.int32: 0x0C}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = array.astype(array.dtype.newbyteorder(">")).tobytes()
    with gzip.open(path, "wb") as fh:
        fh.write(header + payload)


@pytest.fixture
def idx_files(tmp_path):
    rng = np.random.default_rng(0)
    files = {}
    for prefix, n in (("train", 12), ("t10k", 5)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = np.arange(n, dtype=np.uint8) % 10
        for kind, arr in (("images-idx3", x), ("labels-idx1", y)):
            p = tmp_path / f"{prefix}-{kind}-ubyte.gz"
            write_idx(p, arr)
            files[p.name] = p
    return files


def test_idx_roundtrip_and_official_split(idx_files):
    table = get_loader("idx_official")(idx_files)
    assert table.X.shape == (17, 28, 28) and table.X.dtype == np.float32
    assert table.is_test.sum() == 5 and not table.is_test[:12].any()
    assert list(table.labels[:3]) == ["0", "1", "2"]
    t10k = get_loader("idx_t10k")(idx_files)
    assert t10k.X.shape == (5, 28, 28) and t10k.is_test is None


def test_idx_rejects_bad_header(tmp_path):
    bad = tmp_path / "bad-ubyte.gz"
    with gzip.open(bad, "wb") as fh:
        fh.write(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"\x00" * 7)
    with pytest.raises(DataFormatError, match="bad-ubyte.gz.*10 bytes.*7"):
        read_idx(bad)
    with pytest.raises(DataFormatError, match="not an IDX file"):
        bad.write_bytes(gzip.compress(b"PK\x03\x04hello"))
        read_idx(bad)


def kdd_line(protocol="tcp", service="http", flag="SF", label="normal"):
    values = ["0"] * 41
    values[1], values[2], values[3] = protocol, service, flag
    values[4] = "215"
    return ",".join(values + [label, "21"])


def test_nsl_kdd_has_122_features_with_fixed_categories(tmp_path):
    train = tmp_path / "KDDTrain+.txt"
    test = tmp_path / "KDDTest+.txt"
    train.write_text("\n".join([kdd_line(), kdd_line("udp", "private", "S0", "neptune")]) + "\n")
    test.write_text(kdd_line("icmp", "ecr_i", "REJ", "smurf") + "\n")
    table = get_loader("nsl_kdd")({"KDDTrain+.txt": train, "KDDTest+.txt": test})
    assert table.X.shape == (3, 122)
    assert len(COLUMNS) == 42 and sum(len(c) for c in CATEGORIES.values()) == 84
    names = table.feature_names
    assert "protocol_type_icmp" in names and "service_Z39_50" in names and "land" in names
    row = dict(zip(names, table.X[2]))
    assert row["protocol_type_icmp"] == 1 and row["protocol_type_tcp"] == 0 and row["flag_REJ"] == 1
    assert table.X[0, names.index("src_bytes")] == 215
    assert list(table.labels) == ["normal", "neptune", "smurf"]
    assert list(table.is_test) == [False, False, True]


def test_nsl_kdd_errors_name_file_and_problem(tmp_path):
    f = tmp_path / "KDDTest+.txt"
    f.write_text(kdd_line(service="gopherx") + "\n")
    with pytest.raises(DataFormatError, match=r"KDDTest\+\.txt.*'service'.*gopherx"):
        get_loader("nsl_kdd")({"KDDTrain+.txt": f, "KDDTest+.txt": f})
    f.write_text("1,2,3\n")
    with pytest.raises(DataFormatError, match="3 fields per line; expected 43"):
        get_loader("nsl_kdd")({"KDDTrain+.txt": f, "KDDTest+.txt": f})
    line = kdd_line().split(",")
    line[0] = "abc"
    f.write_text(",".join(line) + "\n")
    with pytest.raises(DataFormatError, match="'duration' has non-numeric value 'abc'"):
        get_loader("nsl_kdd")({"KDDTrain+.txt": f, "KDDTest+.txt": f})


def test_npz_and_mat_tables(tmp_path):
    from scipy.io import savemat

    X = np.arange(12, dtype=float).reshape(6, 2)
    y = np.array([0, 0, 1, 0, 1, 0])
    np.savez(tmp_path / "t.npz", X=X, y=y)
    savemat(tmp_path / "t.mat", {"X": X, "y": y.reshape(-1, 1)})
    for key, name in (("npz_xy", "t.npz"), ("odds_mat", "t.mat")):
        table = get_loader(key)({name: tmp_path / name})
        assert table.X.shape == (6, 2) and list(table.labels) == [str(v) for v in y]
    np.savez(tmp_path / "bad.npz", X=X, y=np.array([0, 2, 1, 0, 1, 0]))
    with pytest.raises(DataFormatError, match=r"bad.npz: y has values \[0, 1, 2\]"):
        get_loader("npz_xy")({"bad.npz": tmp_path / "bad.npz"})
    np.savez(tmp_path / "nox.npz", features=X, y=y)
    with pytest.raises(DataFormatError, match=r"missing arrays \['X'\]"):
        get_loader("npz_xy")({"nox.npz": tmp_path / "nox.npz"})
    Xn = X.copy()
    Xn[3, 1] = np.nan
    np.savez(tmp_path / "nan.npz", X=Xn, y=y)
    with pytest.raises(DataFormatError, match="NaN/inf"):
        get_loader("npz_xy")({"nan.npz": tmp_path / "nan.npz"})


def test_user_csv_and_errors(tmp_path):
    f = tmp_path / "mine.csv"
    pd.DataFrame({"id": [1, 2, 3], "a": [0.5, 1.0, 2.0], "b": [1, 2, 3], "label": [0, 1, 0]}).to_csv(f, index=False)
    table = get_loader("user_csv")({"mine.csv": f}, label_column="label", drop_columns=("id",))
    assert table.feature_names == ["a", "b"] and list(table.labels) == ["0", "1", "0"]
    with pytest.raises(DataFormatError, match="mine.csv: no label column 'class'"):
        get_loader("user_csv")({"mine.csv": f}, label_column="class")
    pd.DataFrame({"a": [0.5, "x"], "label": [0, 1]}).to_csv(f, index=False)
    with pytest.raises(DataFormatError, match="column 'a' has non-numeric value 'x'"):
        get_loader("user_csv")({"mine.csv": f})
    f.write_text("")
    with pytest.raises(DataFormatError, match="empty file"):
        get_loader("user_csv")({"mine.csv": f})


def test_embedded_tables():
    digits = get_loader("digits")({})
    assert digits.X.shape == (1797, 64) and set(digits.labels) == {str(i) for i in range(10)}
    cancer = get_loader("breast_cancer")({})
    assert cancer.X.shape == (569, 30)
    assert (cancer.labels == "benign").sum() == 357 and (cancer.labels == "malignant").sum() == 212
