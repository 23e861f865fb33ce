"""Loaders for the CIC flow/URL tables (docs/protocol.md#datasets) and the CSV helpers all CSV loaders share.

Data sets (file keys are the upstream file names, docs/protocol.md#data-sources):

* URL (ISCX-URL2016) ``All.csv``: ±inf → NaN, then every *column* holding a NaN is dropped.
* DarkNet (CIC-Darknet2020) ``Darknet.CSV``: ±inf → NaN, *rows* with any NaN dropped (over all 85
  columns), then the identifier columns and the second ``Label`` column (pandas: ``Label.1``) dropped.
* DoH (CIRA-CIC-DoHBrw-2020, layer 2) ``l2-benign.csv`` + ``l2-malicious.csv`` (in this order):
  identifiers and ``TimeStamp`` dropped, then ±inf → NaN and *rows* with any NaN dropped.
* IDS (CSE-CIC-IDS2018) ``<day>_TrafficForML_CICFlowMeter.csv``: read per file in sorted name order,
  repeated header rows and rows with NaN/``Infinity`` dropped, ``Protocol`` one-hot encoded.

The CSV helpers shared with ``creditcard`` and ``covtype`` live in ``_csv``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np

from alarmbench.data.loaders._checks import DataFormatError, require_columns
from alarmbench.data.table import RawTable

from alarmbench.data.loaders._csv import (
    raw_file,
    check_header,
    read_csv_checked,
    nonfinite_to_nan,
    drop_nan_rows,
    feature_matrix,
    labels_checked,
    INF_STRINGS,
)


# --------------------------------------------------------------------------------------------------
# URL (ISCX-URL2016, FinalDataset/All.csv)
# --------------------------------------------------------------------------------------------------

URL_LABEL = "URL_Type_obf_Type"
URL_CLASSES = ("benign", "Defacement", "malware", "phishing", "spam")

def load_url(files: Mapping[str, Path]) -> RawTable:
    """ISCX-URL2016 ``All.csv``: drops every column with a NaN/inf; the label column must be complete."""
    path = raw_file(files, "All.csv")
    df = read_csv_checked(path)
    require_columns(df, [URL_LABEL], path)
    labels = labels_checked(df[URL_LABEL], path, URL_LABEL, URL_CLASSES)
    features = nonfinite_to_nan(df.drop(columns=[URL_LABEL]))
    features = features.dropna(axis=1, how="any")
    if features.shape[1] == 0:
        raise DataFormatError(f"{path}: every feature column contains NaN/inf values; no features left")
    return RawTable(X=feature_matrix(features, path), labels=labels, feature_names=[str(c) for c in features.columns])


# --------------------------------------------------------------------------------------------------
# DarkNet (CIC-Darknet2020, Darknet.CSV)
# --------------------------------------------------------------------------------------------------

DARKNET_CLASSES = ("Non-Tor", "NonVPN", "Tor", "VPN")
DARKNET_DROP = ("Flow ID", "Src IP", "Dst IP", "Timestamp")
# CICFlowMeter-V4 flow features of Darknet.CSV in file order (79, incl. Src Port, Dst Port, Protocol
# kept as numbers).
DARKNET_FEATURES = (
    "Src Port", "Dst Port", "Protocol", "Flow Duration", "Total Fwd Packet", "Total Bwd packets",
    "Total Length of Fwd Packet", "Total Length of Bwd Packet", "Fwd Packet Length Max",
    "Fwd Packet Length Min", "Fwd Packet Length Mean", "Fwd Packet Length Std", "Bwd Packet Length Max",
    "Bwd Packet Length Min", "Bwd Packet Length Mean", "Bwd Packet Length Std", "Flow Bytes/s",
    "Flow Packets/s", "Flow IAT Mean", "Flow IAT Std", "Flow IAT Max", "Flow IAT Min", "Fwd IAT Total",
    "Fwd IAT Mean", "Fwd IAT Std", "Fwd IAT Max", "Fwd IAT Min", "Bwd IAT Total", "Bwd IAT Mean",
    "Bwd IAT Std", "Bwd IAT Max", "Bwd IAT Min", "Fwd PSH Flags", "Bwd PSH Flags", "Fwd URG Flags",
    "Bwd URG Flags", "Fwd Header Length", "Bwd Header Length", "Fwd Packets/s", "Bwd Packets/s",
    "Packet Length Min", "Packet Length Max", "Packet Length Mean", "Packet Length Std",
    "Packet Length Variance", "FIN Flag Count", "SYN Flag Count", "RST Flag Count", "PSH Flag Count",
    "ACK Flag Count", "URG Flag Count", "CWE Flag Count", "ECE Flag Count", "Down/Up Ratio",
    "Average Packet Size", "Fwd Segment Size Avg", "Bwd Segment Size Avg", "Fwd Bytes/Bulk Avg",
    "Fwd Packet/Bulk Avg", "Fwd Bulk Rate Avg", "Bwd Bytes/Bulk Avg", "Bwd Packet/Bulk Avg",
    "Bwd Bulk Rate Avg", "Subflow Fwd Packets", "Subflow Fwd Bytes", "Subflow Bwd Packets",
    "Subflow Bwd Bytes", "FWD Init Win Bytes", "Bwd Init Win Bytes", "Fwd Act Data Pkts",
    "Fwd Seg Size Min", "Active Mean", "Active Std", "Active Max", "Active Min", "Idle Mean", "Idle Std",
    "Idle Max", "Idle Min",
)  # fmt: skip

def load_darknet(files: Mapping[str, Path]) -> RawTable:
    """CIC-Darknet2020: drop rows with NaN/inf anywhere, then identifiers and the duplicated `Label`."""
    path = raw_file(files, "Darknet.CSV")
    df = read_csv_checked(path)
    require_columns(df, [*DARKNET_DROP, *DARKNET_FEATURES, "Label", "Label.1"], path, exact=True)
    df = drop_nan_rows(nonfinite_to_nan(df), path)
    labels = labels_checked(df["Label"], path, "Label", DARKNET_CLASSES)
    X = feature_matrix(df[list(DARKNET_FEATURES)], path)
    return RawTable(X=X, labels=labels, feature_names=list(DARKNET_FEATURES))


# --------------------------------------------------------------------------------------------------
# DoH (CIRA-CIC-DoHBrw-2020, layer 2)
# --------------------------------------------------------------------------------------------------

DOH_FILES = ("l2-benign.csv", "l2-malicious.csv")
DOH_CLASSES = ("Benign", "Malicious")
DOH_DROP = ("SourceIP", "DestinationIP", "SourcePort", "DestinationPort", "TimeStamp")
# The 29 statistical flow features of the DoHLyzer layer-2 CSVs, in file order.
DOH_FEATURES = (
    "Duration", "FlowBytesSent", "FlowSentRate", "FlowBytesReceived", "FlowReceivedRate",
    *(f"PacketLength{s}" for s in ("Variance", "StandardDeviation", "Mean", "Median", "Mode",
                                   "SkewFromMedian", "SkewFromMode", "CoefficientofVariation")),
    *(f"PacketTime{s}" for s in ("Variance", "StandardDeviation", "Mean", "Median", "Mode",
                                 "SkewFromMedian", "SkewFromMode", "CoefficientofVariation")),
    *(f"ResponseTimeTime{s}" for s in ("Variance", "StandardDeviation", "Mean", "Median", "Mode",
                                       "SkewFromMedian", "SkewFromMode", "CoefficientofVariation")),
)  # fmt: skip
DOH_COLUMNS = (*DOH_DROP, *DOH_FEATURES, "Label")


def load_doh(files: Mapping[str, Path]) -> RawTable:
    """DoHBrw-2020 layer 2: benign then malicious file; identifiers/TimeStamp dropped, then NaN/inf rows."""
    parts = []
    for name in DOH_FILES:
        path = raw_file(files, name)
        df = read_csv_checked(path)
        require_columns(df, DOH_COLUMNS, path, exact=True)
        df = drop_nan_rows(nonfinite_to_nan(df[[*DOH_FEATURES, "Label"]]), path)
        parts.append(
            (feature_matrix(df[list(DOH_FEATURES)], path), labels_checked(df["Label"], path, "Label", DOH_CLASSES))
        )
    return RawTable(
        X=np.concatenate([X for X, _ in parts]),
        labels=np.concatenate([y for _, y in parts]),
        feature_names=list(DOH_FEATURES),
    )


# --------------------------------------------------------------------------------------------------
# IDS (CSE-CIC-IDS2018, "Processed Traffic Data for ML Algorithms")
# --------------------------------------------------------------------------------------------------

_IDS_SUFFIX = "_TrafficForML_CICFlowMeter.csv"
# R2-AD2: the six capture days without DoS/DDoS traffic (docs/protocol.md#data-ids), in chronological order.
IDS_DAY_FILES_R2AD2 = tuple(
    day + _IDS_SUFFIX
    for day in (
        "Wednesday-14-02-2018",
        "Thursday-22-02-2018",
        "Friday-23-02-2018",
        "Wednesday-28-02-2018",
        "Thursday-01-03-2018",
        "Friday-02-03-2018",
    )
)
# A³-2020: additionally the two DoS days (all days except the DDoS days, docs/protocol.md#a3-split).
IDS_DAY_FILES_A3 = IDS_DAY_FILES_R2AD2 + tuple(
    day + _IDS_SUFFIX for day in ("Thursday-15-02-2018", "Friday-16-02-2018")
)

# The fine labels written in the `Label` column of the day files.
IDS_RAW_LABELS = (
    "Benign", "Bot", "FTP-BruteForce", "SSH-Bruteforce", "DDoS attacks-LOIC-HTTP", "DDOS attack-LOIC-UDP",
    "DDOS attack-HOIC", "DoS attacks-GoldenEye", "DoS attacks-Slowloris", "DoS attacks-SlowHTTPTest",
    "DoS attacks-Hulk", "Infilteration", "Brute Force -Web", "Brute Force -XSS", "SQL Injection",
)  # fmt: skip
# The 77 numeric flow features (file order, `Protocol` and `Timestamp` left out).
IDS_NUMERIC_FEATURES = (
    "Dst Port", "Flow Duration", "Tot Fwd Pkts", "Tot Bwd Pkts", "TotLen Fwd Pkts", "TotLen Bwd Pkts",
    "Fwd Pkt Len Max", "Fwd Pkt Len Min", "Fwd Pkt Len Mean", "Fwd Pkt Len Std", "Bwd Pkt Len Max",
    "Bwd Pkt Len Min", "Bwd Pkt Len Mean", "Bwd Pkt Len Std", "Flow Byts/s", "Flow Pkts/s", "Flow IAT Mean",
    "Flow IAT Std", "Flow IAT Max", "Flow IAT Min", "Fwd IAT Tot", "Fwd IAT Mean", "Fwd IAT Std",
    "Fwd IAT Max", "Fwd IAT Min", "Bwd IAT Tot", "Bwd IAT Mean", "Bwd IAT Std", "Bwd IAT Max",
    "Bwd IAT Min", "Fwd PSH Flags", "Bwd PSH Flags", "Fwd URG Flags", "Bwd URG Flags", "Fwd Header Len",
    "Bwd Header Len", "Fwd Pkts/s", "Bwd Pkts/s", "Pkt Len Min", "Pkt Len Max", "Pkt Len Mean",
    "Pkt Len Std", "Pkt Len Var", "FIN Flag Cnt", "SYN Flag Cnt", "RST Flag Cnt", "PSH Flag Cnt",
    "ACK Flag Cnt", "URG Flag Cnt", "CWE Flag Count", "ECE Flag Cnt", "Down/Up Ratio", "Pkt Size Avg",
    "Fwd Seg Size Avg", "Bwd Seg Size Avg", "Fwd Byts/b Avg", "Fwd Pkts/b Avg", "Fwd Blk Rate Avg",
    "Bwd Byts/b Avg", "Bwd Pkts/b Avg", "Bwd Blk Rate Avg", "Subflow Fwd Pkts", "Subflow Fwd Byts",
    "Subflow Bwd Pkts", "Subflow Bwd Byts", "Init Fwd Win Byts", "Init Bwd Win Byts", "Fwd Act Data Pkts",
    "Fwd Seg Size Min", "Active Mean", "Active Std", "Active Max", "Active Min", "Idle Mean", "Idle Std",
    "Idle Max", "Idle Min",
)  # fmt: skip
# The 80 header fields of a regular day file, in file order.
IDS_COLUMNS = ("Dst Port", "Protocol", "Timestamp", *IDS_NUMERIC_FEATURES[1:], "Label")
# Extra leading fields of Thuesday-20-02-2018 (84 columns); never read.
IDS_ID_COLUMNS = ("Flow ID", "Src IP", "Src Port", "Dst IP")
# Protocol one-hot categories always present (TCP 6, UDP 17, 0 = other/ICMP): 77 + 3 = 80 features.
IDS_PROTOCOLS = (0, 6, 17)


def load_ids(
    files: Mapping[str, Path],
    day_files: Sequence[str] | None = None,
    *,
    keep_labels: Collection[str] | None = None,
) -> RawTable:
    """CSE-CIC-IDS2018 day files, read one by one in sorted file-name order and concatenated.

    Per file: repeated header rows and rows with NaN/inf dropped, 77 numeric features as float32,
    `Protocol` one-hot (`Protocol_0`, `Protocol_6`, `Protocol_17`, plus any other protocol number
    found) appended; `Timestamp`, `Flow ID`, `Src IP`, `Src Port`, `Dst IP` are never features.
    Labels are the raw `Label` strings (e.g. "FTP-BruteForce"). `day_files` defaults to the six
    R2-AD2 days; a bare day ("Friday-02-03-2018") stands for its file name. `keep_labels`, if
    given, drops the rows of every other label (instead of the original's coverage assert when
    DoS/DDoS days are included).
    """
    if isinstance(day_files, str):
        raise TypeError("load_ids: day_files must be a sequence of file names, not one string")
    names = sorted(ids_file_name(d) for d in (IDS_DAY_FILES_R2AD2 if day_files is None else day_files))
    if not names:
        raise ValueError("load_ids: no day files selected")
    if len(set(names)) != len(names):
        raise ValueError(f"load_ids: day files listed twice: {names}")
    keep = None if keep_labels is None else np.asarray(sorted(keep_labels), dtype=str)

    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for name in names:
        path = raw_file(files, name)
        X, protocol, labels = _read_ids_day(path)
        if keep is not None:
            mask = np.isin(labels, keep)
            X, protocol, labels = X[mask], protocol[mask], labels[mask]
        blocks.append((X, protocol, labels))

    protocols = sorted(set(IDS_PROTOCOLS).union(*(np.unique(p).tolist() for _, p, _ in blocks)))
    n_rows = sum(len(y) for _, _, y in blocks)
    if n_rows == 0:
        raise DataFormatError(f"no rows of the classes {sorted(keep_labels or ())} in {names}")
    n_num = len(IDS_NUMERIC_FEATURES)
    X_all = np.zeros((n_rows, n_num + len(protocols)), dtype=np.float32)
    labels_all = np.concatenate([y for _, _, y in blocks])
    start = 0
    while blocks:  # fill the output block by block, freeing each input block as soon as it is copied
        X, protocol, _ = blocks.pop(0)
        stop = start + len(X)
        X_all[start:stop, :n_num] = X
        X_all[np.arange(start, stop), n_num + np.searchsorted(protocols, protocol)] = 1.0
        start = stop
        del X, protocol
    names_out = [*IDS_NUMERIC_FEATURES, *(f"Protocol_{p}" for p in protocols)]
    return RawTable(X=X_all, labels=labels_all, feature_names=names_out)


def ids_file_name(day: str) -> str:
    """`<day>_TrafficForML_CICFlowMeter.csv` for a bare day name; a full file name is returned as is."""
    return day if day.lower().endswith(".csv") else day + _IDS_SUFFIX


def _read_ids_day(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One day file → (77 float32 features, integer Protocol, raw labels) of its clean rows."""
    check_header(path, IDS_COLUMNS, optional=IDS_ID_COLUMNS)

    numeric = [*IDS_NUMERIC_FEATURES, "Protocol"]
    # Repeated header rows inside a file read as NaN (each field equals its own column name) and are
    # dropped with the NaN/Infinity rows, as in the original conversion.
    na_values = {c: [c, *INF_STRINGS] for c in numeric} | {"Label": ["Label"]}
    df = read_csv_checked(
        path,
        dtype={**dict.fromkeys(numeric, np.float32), "Label": "category"},
        usecols=[*numeric, "Label"],
        na_values=na_values,
    )
    df = drop_nan_rows(nonfinite_to_nan(df), path)
    labels = labels_checked(df["Label"], path, "Label", IDS_RAW_LABELS)
    protocol = df["Protocol"].to_numpy()
    bad = (protocol != np.round(protocol)) | (protocol < 0)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataFormatError(
            f"{path}: column 'Protocol' has invalid value {float(protocol[row])!r} (row {df.index[row]}); "
            "expected an IP protocol number"
        )
    X = feature_matrix(df[list(IDS_NUMERIC_FEATURES)], path)
    return X, protocol.astype(np.int64), labels
