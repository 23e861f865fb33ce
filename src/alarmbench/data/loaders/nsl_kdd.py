"""NSL-KDD text files (41 features, attack name, difficulty), one-hot with fixed categories (docs/protocol.md#data-nsl-kdd)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from alarmbench.data.loaders._checks import DataFormatError, numeric_matrix
from alarmbench.data.table import RawTable

COLUMNS = (
    "duration protocol_type service flag src_bytes dst_bytes land wrong_fragment urgent hot "
    "num_failed_logins logged_in num_compromised root_shell su_attempted num_root num_file_creations "
    "num_shells num_access_files num_outbound_cmds is_host_login is_guest_login count srv_count "
    "serror_rate srv_serror_rate rerror_rate srv_rerror_rate same_srv_rate diff_srv_rate "
    "srv_diff_host_rate dst_host_count dst_host_srv_count dst_host_same_srv_rate "
    "dst_host_diff_srv_rate dst_host_same_src_port_rate dst_host_srv_diff_host_rate "
    "dst_host_serror_rate dst_host_srv_serror_rate dst_host_rerror_rate dst_host_srv_rerror_rate class"
).split()

# Full category lists (from KDDTest+.arff), so train and test get identical one-hot columns.
CATEGORIES = {
    "protocol_type": ["tcp", "udp", "icmp"],
    "service": (
        "aol auth bgp courier csnet_ns ctf daytime discard domain domain_u echo eco_i ecr_i efs exec "
        "finger ftp ftp_data gopher harvest hostnames http http_2784 http_443 http_8001 imap4 IRC "
        "iso_tsap klogin kshell ldap link login mtp name netbios_dgm netbios_ns netbios_ssn netstat nnsp "
        "nntp ntp_u other pm_dump pop_2 pop_3 printer private red_i remote_job rje shell smtp sql_net ssh "
        "sunrpc supdup systat telnet tftp_u tim_i time urh_i urp_i uucp uucp_path vmnet whois X11 Z39_50"
    ).split(),
    "flag": "OTH REJ RSTO RSTOS0 RSTR S0 S1 S2 S3 SF SH".split(),
}


def read_kdd_txt(path: Path) -> RawTable:
    """One NSL-KDD .txt file -> 122 features (38 numeric + 84 one-hot) and attack names."""
    df = pd.read_csv(path, header=None, dtype=str, skipinitialspace=True)
    if df.shape[1] not in (42, 43):
        raise DataFormatError(f"{path}: {df.shape[1]} fields per line; expected 43 (41 features, class, difficulty)")
    df = df.iloc[:, :42]  # the trailing difficulty level is not a feature (the original drops it too)
    df.columns = COLUMNS
    for col, cats in CATEGORIES.items():
        unknown = sorted(set(df[col]) - set(cats))
        if unknown:
            raise DataFormatError(f"{path}: column {col!r} has undeclared categories {unknown}")
    labels = df.pop("class").to_numpy()
    numeric = df.drop(columns=list(CATEGORIES))
    dummies = [
        pd.get_dummies(pd.Categorical(df[col], categories=cats), prefix=col, prefix_sep="_", dtype=np.float32)
        for col, cats in CATEGORIES.items()
    ]
    X = np.hstack([numeric_matrix(numeric, path)] + [d.to_numpy() for d in dummies])
    names = list(numeric.columns) + [c for d in dummies for c in d.columns]
    return RawTable(X, labels, names)


OFFICIAL_TEST = "KDDTest+.txt"


def load_nsl_kdd(files: Mapping[str, Path], train_file: str = "KDDTrain+.txt",
                 test_file: str = OFFICIAL_TEST) -> RawTable:
    """Official train file (full or 20 %) plus the official test set: KDDTest+, or an alternative
    test file of the same format (e.g. the hard KDDTest-21) declared in the config."""
    return RawTable.concat_official(read_kdd_txt(files[train_file]), read_kdd_txt(files[test_file]))


def load_nsl_kdd_20(files: Mapping[str, Path], test_file: str = OFFICIAL_TEST) -> RawTable:
    return load_nsl_kdd(files, train_file="KDDTrain+_20Percent.txt", test_file=test_file)
