"""User data sets: the config entry check, the file checks (shared with the prepare job's loader),
and the one-line report of an input error in a workflow job."""

from __future__ import annotations

import re
import zipfile

import numpy as np
import pytest

from alarmbench.data.loaders import DataFormatError, get_loader
from alarmbench.data.userdata import UserDataError, check_user_config, check_user_data, user_spec
from alarmbench.errors import InputError
from alarmbench.workflow_log import logged

HEADER = "id,a,b,label"


def _csv(tmp_path, rows, header=HEADER, name="mine.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n" if header or rows else "")
    return path


def _good_rows(n_normal=6, n_anom=3):
    rows = [f"{i},{i * 0.5},{i},0" for i in range(n_normal)]
    rows += [f"{100 + i},{9.5 + i},{-i},{1 + i % 2}" for i in range(n_anom)]
    return rows


def _cfg(path, **extra):
    return {"path": str(path), "normal": [0], "anomalies": [1, 2], **extra}


def _npz(tmp_path, name="mine.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def _xy(n=8, f=3):
    X = np.arange(n * f, dtype=np.float64).reshape(n, f)
    y = np.array([0] * (n - 3) + [1, 2, 1])
    return X, y


def _raises(cls, *fragments, call):
    with pytest.raises(cls) as info:
        call()
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in {msg!r}"
    return msg


# ------------------------------------------------------------------------------ the error classes
def test_both_errors_share_one_base():
    assert issubclass(DataFormatError, InputError) and issubclass(UserDataError, InputError)
    assert issubclass(InputError, ValueError)


# ------------------------------------------------------------------------------ valid files
def test_valid_csv_summary(tmp_path):
    path = _csv(tmp_path, _good_rows())
    summary = check_user_data("mine", _cfg(path, drop_columns=["id"], transfer_train_anomalies=[1]))
    assert summary == {"dataset": "mine", "path": str(path), "rows": 9, "features": 2, "normal_rows": 6,
                       "anomaly_rows": 3, "classes": {"0": 6, "1": 2, "2": 1}}
    spec = user_spec("mine", _cfg(path, drop_columns=["id"], transfer_train_anomalies=[1]))
    assert set(spec.presets) == {"known", "transfer"} and spec.classes == ("0", "1", "2")


def test_valid_npz_summary_and_string_labels(tmp_path):
    X, y = _xy()
    path = _npz(tmp_path, X=X, y=y.astype(float))  # 1.0 labels match the config's 1
    assert check_user_data("arr", _cfg(path)) == {
        "dataset": "arr", "path": str(path), "rows": 8, "features": 3, "normal_rows": 5, "anomaly_rows": 3,
        "classes": {"0": 5, "1": 2, "2": 1}}
    labels = np.array(["ok"] * 5 + ["bad", "worse", "bad"])
    path = _npz(tmp_path, name="s.npz", X=X.reshape(8, 3, 1), y=labels)
    summary = check_user_data("s", {"path": str(path), "normal": ["ok"], "anomalies": ["bad", "worse"]})
    assert (summary["rows"], summary["features"], summary["anomaly_rows"]) == (8, 3, 3)


# ------------------------------------------------------------------------------ the config entry
def test_unknown_key_suggests_the_closest(tmp_path):
    path = _csv(tmp_path, _good_rows())
    msg = _raises(UserDataError, "user_datasets.mine", "'label_colum'", "did you mean 'label_column'",
                  "accepted keys: path, label_column, drop_columns", call=lambda: check_user_config(
                      "mine", _cfg(path, label_colum="label")))
    assert "pollution" in msg


def test_config_types(tmp_path):
    path = _csv(tmp_path, _good_rows())
    _raises(UserDataError, "user_datasets.mine.path", "123", call=lambda: check_user_config(
        "mine", {"path": 123, "normal": [0], "anomalies": [1]}))
    _raises(UserDataError, "user_datasets.mine.normal", "non-empty list", call=lambda: check_user_config(
        "mine", {**_cfg(path), "normal": []}))
    _raises(UserDataError, "user_datasets.mine.anomalies", "non-empty list", call=lambda: check_user_config(
        "mine", {**_cfg(path), "anomalies": 1}))
    _raises(UserDataError, "user_datasets.mine.pollution", "'yes'", call=lambda: check_user_config(
        "mine", _cfg(path, pollution="yes")))
    _raises(UserDataError, "user_datasets.mine.drop_columns", call=lambda: check_user_config(
        "mine", _cfg(path, drop_columns="id")))
    _raises(UserDataError, "user_datasets.mine", "normal without anomalies", call=lambda: check_user_config(
        "mine", {"path": str(path), "normal": [0]}))
    _raises(UserDataError, "user_datasets.mine", "missing key path", call=lambda: check_user_config(
        "mine", {"normal": [0], "anomalies": [1]}))
    _raises(UserDataError, "user_datasets.mine", "['1']", "both normal and anomalies",
            call=lambda: check_user_config("mine", {**_cfg(path), "normal": [0, 1]}))
    _raises(UserDataError, "user_datasets.mine.transfer_train_anomalies", "['3']",
            call=lambda: check_user_config("mine", _cfg(path, transfer_train_anomalies=[3])))
    _raises(UserDataError, "user_datasets.mine", "expected a mapping", call=lambda: check_user_config("mine", "x"))


def test_path_must_exist_and_be_csv_or_npz(tmp_path):
    missing = tmp_path / "nope.csv"
    _raises(UserDataError, "user_datasets.mine.path", str(missing), "does not exist",
            call=lambda: check_user_config("mine", _cfg(missing)))
    other = tmp_path / "data.parquet"
    other.write_text("x")
    _raises(UserDataError, "user_datasets.mine.path", str(other), ".csv or .npz",
            call=lambda: check_user_config("mine", _cfg(other)))
    with pytest.raises(UserDataError, match="does not exist"):
        user_spec("mine", _cfg(missing))  # user_spec runs the check


def test_csv_only_keys_rejected_for_npz(tmp_path):
    X, y = _xy()
    path = _npz(tmp_path, X=X, y=y)
    _raises(UserDataError, "user_datasets.arr.label_column", "CSV files only", str(path),
            call=lambda: check_user_config("arr", _cfg(path, label_column="y")))
    _raises(UserDataError, "user_datasets.arr.drop_columns", "CSV files only",
            call=lambda: check_user_config("arr", _cfg(path, drop_columns=["a"])))


# ------------------------------------------------------------------------------ CSV files
def test_csv_missing_label_column(tmp_path):
    path = _csv(tmp_path, _good_rows(), header="id,a,b,lable")
    _raises(DataFormatError, str(path), "no label column 'label'", "did you mean 'lable'",
            "['id', 'a', 'b', 'lable']", call=lambda: check_user_data("mine", _cfg(path)))


def test_csv_wrong_separator_hint(tmp_path):
    path = _csv(tmp_path, [r.replace(",", ";") for r in _good_rows()], header=HEADER.replace(",", ";"))
    _raises(DataFormatError, str(path), "no label column", "';'", call=lambda: check_user_data("mine", _cfg(path)))


def test_csv_non_numeric_feature(tmp_path):
    rows = _good_rows()
    rows[2] = "2,abc,2,0"  # line 4 of the file (header = line 1)
    path = _csv(tmp_path, rows)
    _raises(DataFormatError, str(path), "column 'a'", "'abc'", "line 4",
            call=lambda: check_user_data("mine", _cfg(path)))


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_csv_nan_and_inf(tmp_path):
    rows = _good_rows()
    rows[4] = "4,,4,0"  # empty cell at line 6
    path = _csv(tmp_path, rows)
    _raises(DataFormatError, str(path), "column 'a'", "NaN", "line 6", "empty cell",
            call=lambda: check_user_data("mine", _cfg(path)))
    rows = _good_rows()
    rows[1] = "1,0.5,inf,0"  # line 3
    path = _csv(tmp_path, rows)
    _raises(DataFormatError, str(path), "column 'b'", "inf", "line 3",
            call=lambda: check_user_data("mine", _cfg(path)))
    rows = _good_rows()
    rows[0] = "0,1e40,0,0"  # finite, but beyond float32
    path = _csv(tmp_path, rows)
    _raises(DataFormatError, str(path), "column 'a'", "line 2", "float32",
            call=lambda: check_user_data("mine", _cfg(path)))


def test_csv_empty_file_and_no_rows(tmp_path):
    path = _csv(tmp_path, [], header="")
    _raises(DataFormatError, str(path), "empty file", call=lambda: check_user_data("mine", _cfg(path)))
    path = _csv(tmp_path, [])
    _raises(DataFormatError, str(path), "no data rows", "label", call=lambda: check_user_data("mine", _cfg(path)))


def test_csv_empty_label(tmp_path):
    rows = _good_rows()
    rows[3] = "3,1.5,3,"  # line 5
    path = _csv(tmp_path, rows)
    _raises(DataFormatError, str(path), "column 'label'", "1 empty label,", "line 5",
            call=lambda: check_user_data("mine", _cfg(path)))


def test_csv_malformed(tmp_path):
    path = _csv(tmp_path, ["1,2,3,0", "1,2,3,0,9"])
    msg = _raises(DataFormatError, str(path), "malformed CSV", "line 3",
                  call=lambda: check_user_data("mine", _cfg(path)))
    assert not msg.endswith("\n")


def test_csv_missing_drop_column(tmp_path):
    path = _csv(tmp_path, _good_rows())
    _raises(DataFormatError, str(path), "['idx']", "did you mean 'id'",
            call=lambda: check_user_data("mine", _cfg(path, drop_columns=["idx"])))


def test_undeclared_labels_listed_with_counts(tmp_path):
    rows = _good_rows() + ["7,1,1,7", "8,1,1,7", "9,1,1,x"]
    path = _csv(tmp_path, rows)
    _raises(DataFormatError, str(path), "column 'label'", "2 undeclared labels", "'7' (2 rows)", "'x' (1 row)",
            call=lambda: check_user_data("mine", _cfg(path)))


def test_declared_class_never_occurs(tmp_path):
    path = _csv(tmp_path, _good_rows())
    _raises(DataFormatError, str(path), "classes ['3'] declared in the config never occur", "column 'label'",
            "'0' (6 rows)", call=lambda: check_user_data("mine", {**_cfg(path), "anomalies": [1, 2, 3]}))


def test_no_normal_rows(tmp_path):
    path = _csv(tmp_path, _good_rows(n_normal=0, n_anom=4))
    _raises(DataFormatError, str(path), "no normal rows", "['0']", "column 'label'",
            call=lambda: check_user_data("mine", _cfg(path)))


def test_too_few_anomalies(tmp_path):
    path = _csv(tmp_path, _good_rows(n_anom=1))
    _raises(DataFormatError, str(path), "too few anomalies", "1 row of column 'label'", "at least 2",
            call=lambda: check_user_data("mine", {**_cfg(path), "anomalies": [1]}))


def test_prepare_loader_reports_the_same_message(tmp_path):
    """The loader options of user_spec carry the class lists, so the prepare job fails alike."""
    path = _csv(tmp_path, _good_rows() + ["7,1,1,7"])
    spec = user_spec("mine", _cfg(path))
    options = {k: v for k, v in spec.loader_options.items() if k != "path"}
    with pytest.raises(DataFormatError) as in_job:
        get_loader("user_csv")({path.name: path}, **options)
    with pytest.raises(DataFormatError) as at_dag:
        check_user_data("mine", _cfg(path))
    assert str(in_job.value) == str(at_dag.value)


# ------------------------------------------------------------------------------ NPZ files
def test_npz_missing_arrays(tmp_path):
    X, y = _xy()
    path = _npz(tmp_path, X=X, labels=y)
    _raises(DataFormatError, str(path), "missing arrays ['y']", "['X', 'labels']",
            call=lambda: check_user_data("arr", _cfg(path)))


def test_npz_object_arrays(tmp_path):
    X, _ = _xy()
    path = _npz(tmp_path, X=X, y=np.array(["ok"] * 5 + ["bad"] * 3, dtype=object))
    _raises(DataFormatError, str(path), "'y'", "object arrays are not supported",
            call=lambda: check_user_data("arr", _cfg(path)))


def test_npz_not_a_zip(tmp_path):
    path = tmp_path / "mine.npz"
    path.write_text("X,y\n1,0\n")
    _raises(DataFormatError, str(path), "not a zip archive", call=lambda: check_user_data("arr", _cfg(path)))
    np.save(tmp_path / "single.npy", np.zeros(3))
    (tmp_path / "single.npy").rename(path)
    _raises(DataFormatError, str(path), "single .npy array", call=lambda: check_user_data("arr", _cfg(path)))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("X.npy", b"not an array")
    _raises(DataFormatError, str(path), call=lambda: check_user_data("arr", _cfg(path)))


def test_npz_1d_x(tmp_path):
    path = _npz(tmp_path, X=np.arange(8.0), y=_xy()[1])
    _raises(DataFormatError, str(path), "X must be 2-D (rows × features) or more; got shape (8,)",
            call=lambda: check_user_data("arr", _cfg(path)))


def test_npz_row_mismatch(tmp_path):
    X, y = _xy()
    path = _npz(tmp_path, X=X, y=y[:-1])
    _raises(DataFormatError, str(path), "X has 8 rows but y has 7", call=lambda: check_user_data("arr", _cfg(path)))


def test_npz_nan_and_empty(tmp_path):
    X, y = _xy()
    X[4, 2] = np.nan
    path = _npz(tmp_path, X=X, y=y)
    _raises(DataFormatError, str(path), "NaN", "row 5", "X[4, 2]", call=lambda: check_user_data("arr", _cfg(path)))
    path = _npz(tmp_path, X=np.zeros((0, 3)), y=np.zeros(0))
    _raises(DataFormatError, str(path), "no data rows", call=lambda: check_user_data("arr", _cfg(path)))


def test_npz_undeclared_labels(tmp_path):
    X, y = _xy()
    y[0] = 5
    path = _npz(tmp_path, X=X, y=y)
    _raises(DataFormatError, str(path), "y has 1 undeclared label", "'5' (1 row)",
            call=lambda: check_user_data("arr", _cfg(path)))


# ------------------------------------------------------------------------------ job logs
def test_logged_reports_an_input_error_in_one_line(tmp_path, capsys):
    log = tmp_path / "logs" / "prepare.log"
    with pytest.raises(SystemExit) as info:
        with logged(str(log)):
            raise DataFormatError("data/mine.csv: column 'a' has non-numeric value 'x' (line 3); expected numbers")
    assert info.value.code == 1
    line = "alarmbench: error: data/mine.csv: column 'a' has non-numeric value 'x' (line 3); expected numbers"
    text = log.read_text()  # the job's header and footer lines, then the error, without a traceback
    assert text.endswith("\n" + line + "\n") and text.count("alarmbench: error:") == 1 and "Traceback" not in text
    err = capsys.readouterr().err
    assert err.strip() == line and "Traceback" not in err


def test_logged_keeps_the_traceback_of_other_errors(tmp_path, capsys):
    log = tmp_path / "job.log"
    with pytest.raises(RuntimeError):
        with logged(str(log)):
            raise RuntimeError("a bug")
    assert re.search(r"Traceback .*RuntimeError: a bug", log.read_text(), re.S)
    assert "Traceback" in capsys.readouterr().err
