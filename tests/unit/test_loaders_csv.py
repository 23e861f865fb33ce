"""CSV loaders of the R2-AD2 / A³ data sets on small synthetic files with the real layouts.

The header lines below are copied from the public files' layouts (independently of the loader
constants): CSE-CIC-IDS2018 processed CSVs (80 columns; the Tuesday-20-02 file has 84), the
CICFlowMeter-V4 header of Darknet.CSV (85 columns, `Label` twice), the DoHLyzer layer-2 CSV header
(5 identifiers + 29 statistics + Label) and ISCX-URL2016 All.csv (80 columns).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from alarmbench.data.loaders._checks import DataFormatError
from alarmbench.data.loaders.cic import (
    IDS_DAY_FILES_A3,
    IDS_DAY_FILES_R2AD2,
    load_darknet,
    load_doh,
    load_ids,
    load_url,
)
from alarmbench.data.loaders.covtype import load_covtype
from alarmbench.data.loaders.creditcard import load_creditcard

IDS_HEADER = (
    "Dst Port,Protocol,Timestamp,Flow Duration,Tot Fwd Pkts,Tot Bwd Pkts,TotLen Fwd Pkts,TotLen Bwd Pkts,"
    "Fwd Pkt Len Max,Fwd Pkt Len Min,Fwd Pkt Len Mean,Fwd Pkt Len Std,Bwd Pkt Len Max,Bwd Pkt Len Min,"
    "Bwd Pkt Len Mean,Bwd Pkt Len Std,Flow Byts/s,Flow Pkts/s,Flow IAT Mean,Flow IAT Std,Flow IAT Max,"
    "Flow IAT Min,Fwd IAT Tot,Fwd IAT Mean,Fwd IAT Std,Fwd IAT Max,Fwd IAT Min,Bwd IAT Tot,Bwd IAT Mean,"
    "Bwd IAT Std,Bwd IAT Max,Bwd IAT Min,Fwd PSH Flags,Bwd PSH Flags,Fwd URG Flags,Bwd URG Flags,"
    "Fwd Header Len,Bwd Header Len,Fwd Pkts/s,Bwd Pkts/s,Pkt Len Min,Pkt Len Max,Pkt Len Mean,Pkt Len Std,"
    "Pkt Len Var,FIN Flag Cnt,SYN Flag Cnt,RST Flag Cnt,PSH Flag Cnt,ACK Flag Cnt,URG Flag Cnt,"
    "CWE Flag Count,ECE Flag Cnt,Down/Up Ratio,Pkt Size Avg,Fwd Seg Size Avg,Bwd Seg Size Avg,"
    "Fwd Byts/b Avg,Fwd Pkts/b Avg,Fwd Blk Rate Avg,Bwd Byts/b Avg,Bwd Pkts/b Avg,Bwd Blk Rate Avg,"
    "Subflow Fwd Pkts,Subflow Fwd Byts,Subflow Bwd Pkts,Subflow Bwd Byts,Init Fwd Win Byts,"
    "Init Bwd Win Byts,Fwd Act Data Pkts,Fwd Seg Size Min,Active Mean,Active Std,Active Max,Active Min,"
    "Idle Mean,Idle Std,Idle Max,Idle Min,Label"
)
DARKNET_HEADER = (
    "Flow ID,Src IP,Src Port,Dst IP,Dst Port,Protocol,Timestamp,Flow Duration,Total Fwd Packet,"
    "Total Bwd packets,Total Length of Fwd Packet,Total Length of Bwd Packet,Fwd Packet Length Max,"
    "Fwd Packet Length Min,Fwd Packet Length Mean,Fwd Packet Length Std,Bwd Packet Length Max,"
    "Bwd Packet Length Min,Bwd Packet Length Mean,Bwd Packet Length Std,Flow Bytes/s,Flow Packets/s,"
    "Flow IAT Mean,Flow IAT Std,Flow IAT Max,Flow IAT Min,Fwd IAT Total,Fwd IAT Mean,Fwd IAT Std,"
    "Fwd IAT Max,Fwd IAT Min,Bwd IAT Total,Bwd IAT Mean,Bwd IAT Std,Bwd IAT Max,Bwd IAT Min,Fwd PSH Flags,"
    "Bwd PSH Flags,Fwd URG Flags,Bwd URG Flags,Fwd Header Length,Bwd Header Length,Fwd Packets/s,"
    "Bwd Packets/s,Packet Length Min,Packet Length Max,Packet Length Mean,Packet Length Std,"
    "Packet Length Variance,FIN Flag Count,SYN Flag Count,RST Flag Count,PSH Flag Count,ACK Flag Count,"
    "URG Flag Count,CWE Flag Count,ECE Flag Count,Down/Up Ratio,Average Packet Size,Fwd Segment Size Avg,"
    "Bwd Segment Size Avg,Fwd Bytes/Bulk Avg,Fwd Packet/Bulk Avg,Fwd Bulk Rate Avg,Bwd Bytes/Bulk Avg,"
    "Bwd Packet/Bulk Avg,Bwd Bulk Rate Avg,Subflow Fwd Packets,Subflow Fwd Bytes,Subflow Bwd Packets,"
    "Subflow Bwd Bytes,FWD Init Win Bytes,Bwd Init Win Bytes,Fwd Act Data Pkts,Fwd Seg Size Min,"
    "Active Mean,Active Std,Active Max,Active Min,Idle Mean,Idle Std,Idle Max,Idle Min,Label,Label"
)
DOH_HEADER = (
    "SourceIP,DestinationIP,SourcePort,DestinationPort,TimeStamp,Duration,FlowBytesSent,FlowSentRate,"
    "FlowBytesReceived,FlowReceivedRate,PacketLengthVariance,PacketLengthStandardDeviation,PacketLengthMean,"
    "PacketLengthMedian,PacketLengthMode,PacketLengthSkewFromMedian,PacketLengthSkewFromMode,"
    "PacketLengthCoefficientofVariation,PacketTimeVariance,PacketTimeStandardDeviation,PacketTimeMean,"
    "PacketTimeMedian,PacketTimeMode,PacketTimeSkewFromMedian,PacketTimeSkewFromMode,"
    "PacketTimeCoefficientofVariation,ResponseTimeTimeVariance,ResponseTimeTimeStandardDeviation,"
    "ResponseTimeTimeMean,ResponseTimeTimeMedian,ResponseTimeTimeMode,ResponseTimeTimeSkewFromMedian,"
    "ResponseTimeTimeSkewFromMode,ResponseTimeTimeCoefficientofVariation,Label"
)
URL_HEADER = (
    "Querylength,domain_token_count,path_token_count,avgdomaintokenlen,longdomaintokenlen,avgpathtokenlen,"
    "tld,charcompvowels,charcompace,ldl_url,ldl_domain,ldl_path,ldl_filename,ldl_getArg,dld_url,dld_domain,"
    "dld_path,dld_filename,dld_getArg,urlLen,domainlength,pathLength,subDirLen,fileNameLen,this.fileExtLen,"
    "ArgLen,pathurlRatio,ArgUrlRatio,argDomanRatio,domainUrlRatio,pathDomainRatio,argPathRatio,executable,"
    "isPortEighty,NumberofDotsinURL,ISIpAddressInDomainName,CharacterContinuityRate,LongestVariableValue,"
    "URL_DigitCount,host_DigitCount,Directory_DigitCount,File_name_DigitCount,Extension_DigitCount,"
    "Query_DigitCount,URL_Letter_Count,host_letter_count,Directory_LetterCount,Filename_LetterCount,"
    "Extension_LetterCount,Query_LetterCount,LongestPathTokenLength,Domain_LongestWordLength,"
    "Path_LongestWordLength,sub-Directory_LongestWordLength,Arguments_LongestWordLength,URL_sensitiveWord,"
    "URLQueries_variable,spcharUrl,delimeter_Domain,delimeter_path,delimeter_Count,NumberRate_URL,"
    "NumberRate_Domain,NumberRate_DirectoryName,NumberRate_FileName,NumberRate_Extension,"
    "NumberRate_AfterPath,SymbolCount_URL,SymbolCount_Domain,SymbolCount_Directoryname,SymbolCount_FileName,"
    "SymbolCount_Extension,SymbolCount_Afterpath,Entropy_URL,Entropy_Domain,Entropy_DirectoryName,"
    "Entropy_Filename,Entropy_Extension,Entropy_Afterpath,URL_Type_obf_Type"
)
COVTYPE_HEADER = ",".join(
    [
        "Elevation", "Aspect", "Slope", "Horizontal_Distance_To_Hydrology", "Vertical_Distance_To_Hydrology",
        "Horizontal_Distance_To_Roadways", "Hillshade_9am", "Hillshade_Noon", "Hillshade_3pm",
        "Horizontal_Distance_To_Fire_Points", *(f"Wilderness_Area{i}" for i in range(1, 5)),
        *(f"Soil_Type{i}" for i in range(1, 41)), "Cover_Type",
    ]
)  # fmt: skip


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _num(i: int, j: int) -> str:
    """A distinct, exactly representable value for row i, column j."""
    return str(i * 100 + j)


# ---------------------------------------------------------------------------------------------- CreditCard


def _creditcard(tmp_path: Path, *, time: bool = True, quote: str = '"', rows=((0, 0), (1, 1), (2, 0))) -> Path:
    cols = (["Time"] if time else []) + [f"V{i}" for i in range(1, 29)] + ["Amount", "Class"]
    lines = [",".join(f'"{c}"' for c in cols)]
    for i, cls in rows:
        values = ([str(1000 + i)] if time else []) + [f"{i}.{j}" for j in range(1, 29)] + [f"{i}.5"]
        lines.append(",".join(values + [f"{quote}{cls}{quote}"]))
    return _write(tmp_path / "creditcard.csv", lines)


@pytest.mark.parametrize("time, quote", [(True, '"'), (False, "'"), (False, "")])
def test_creditcard_kaggle_and_openml_layouts(tmp_path, time, quote):
    t = load_creditcard({"creditcard.csv": _creditcard(tmp_path, time=time, quote=quote)})
    assert t.X.shape == (3, 29) and t.X.dtype == np.float32
    assert t.feature_names == [f"V{i}" for i in range(1, 29)] + ["Amount"]
    assert t.labels.tolist() == ["0", "1", "0"]
    assert t.X[1, 0] == np.float32(1.1) and t.X[2, -1] == np.float32(2.5)  # Time not a feature
    assert t.is_test is None


def test_creditcard_errors(tmp_path):
    path = _creditcard(tmp_path)
    text = path.read_text()
    path.write_text(text.replace('"V5",', ""))
    with pytest.raises(DataFormatError, match=r"creditcard\.csv: missing columns \['V5'\]"):
        load_creditcard({"creditcard.csv": path})
    lines = text.splitlines()
    lines[2] = lines[2].replace("1.7,", "abc,")
    _write(path, lines)
    with pytest.raises(DataFormatError, match=r"creditcard\.csv: column 'V7' has non-numeric value 'abc' \(row 1\)"):
        load_creditcard({"creditcard.csv": path})
    _creditcard(tmp_path, rows=((0, 0), (1, 2)))
    with pytest.raises(DataFormatError, match=r"column 'Class' has invalid class '2'"):
        load_creditcard({"creditcard.csv": path})
    path.write_text("")
    with pytest.raises(DataFormatError, match=r"creditcard\.csv: file is empty"):
        load_creditcard({"creditcard.csv": path})
    _write(path, lines[:1])
    with pytest.raises(DataFormatError, match=r"creditcard\.csv: no data rows"):
        load_creditcard({"creditcard.csv": path})
    with pytest.raises(DataFormatError, match=r"'creditcard\.csv' not given"):
        load_creditcard({})


# ---------------------------------------------------------------------------------------------- CoverType


def _covtype_rows(n: int = 14) -> list[str]:
    rows = []
    for i in range(n):
        numeric = [str(2000 + i), str(i), str(i % 60), "30", "-5", "100", "200", "220", "140", "1500"]
        wild = ["1" if k == i % 4 else "0" for k in range(4)]
        soil = ["1" if k == i % 40 else "0" for k in range(40)]
        rows.append(",".join(numeric + wild + soil + [str(i % 7 + 1)]))
    return rows


def test_covtype_uci_and_kaggle_agree(tmp_path):
    gz = tmp_path / "covtype.data.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("\n".join(_covtype_rows()) + "\n")
    kaggle = _write(tmp_path / "covtype.csv", [COVTYPE_HEADER, *_covtype_rows()])
    uci = load_covtype({"covtype.data.gz": gz})
    kag = load_covtype({"covtype.csv": kaggle})
    assert uci.X.shape == (14, 54) and uci.X.dtype == np.float32
    assert uci.feature_names == COVTYPE_HEADER.split(",")[:54]
    assert sorted(set(uci.labels)) == [str(k) for k in range(1, 8)]
    assert uci.labels.dtype.kind == "U"
    np.testing.assert_array_equal(uci.X, kag.X)
    np.testing.assert_array_equal(uci.labels, kag.labels)
    assert uci.feature_names == kag.feature_names


def test_covtype_errors(tmp_path):
    gz = tmp_path / "covtype.data.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("\n".join(r.rsplit(",", 1)[0] for r in _covtype_rows()) + "\n")  # label column missing
    with pytest.raises(DataFormatError, match=r"covtype\.data\.gz: 54 fields per row; expected 55"):
        load_covtype({"covtype.data.gz": gz})
    kaggle = _write(tmp_path / "covtype.csv", [COVTYPE_HEADER.replace(",Soil_Type7", ""), *_covtype_rows()])
    with pytest.raises(DataFormatError, match=r"covtype\.csv: (missing columns \['Soil_Type7'\]|malformed)"):
        load_covtype({"covtype.csv": kaggle})
    rows = _covtype_rows()
    rows[3] = rows[3].replace("2003,", "high,", 1)
    _write(kaggle, [COVTYPE_HEADER, *rows])
    msg = r"covtype\.csv: column 'Elevation' has non-numeric value 'high' \(row 3\)"
    with pytest.raises(DataFormatError, match=msg):
        load_covtype({"covtype.csv": kaggle})
    rows = _covtype_rows()
    rows[2] = rows[2][: rows[2].rindex(",")] + ",9"
    _write(kaggle, [COVTYPE_HEADER, *rows])
    with pytest.raises(DataFormatError, match=r"column 'Cover_Type' has invalid class 9\.0 \(row 2\)"):
        load_covtype({"covtype.csv": kaggle})


# ---------------------------------------------------------------------------------------------- URL


def test_url_drops_nan_and_inf_columns_not_rows(tmp_path):
    cols = URL_HEADER.split(",")
    assert len(cols) == 80
    classes = ["benign", "Defacement", "malware", "phishing", "spam", "benign"]
    lines = [URL_HEADER]
    for i, cls in enumerate(classes):
        values = [_num(i, j) for j in range(79)]
        if i == 1:
            values[cols.index("argPathRatio")] = "Infinity"  # inf → NaN → column dropped
        if i == 2:
            values[cols.index("NumberRate_Extension")] = ""  # NaN → column dropped
        if i == 4:
            values[cols.index("Entropy_DirectoryName")] = "-1"  # fine: kept
        lines.append(",".join(values + [cls]))
    t = load_url({"All.csv": _write(tmp_path / "All.csv", lines)})
    assert t.X.shape == (6, 77)  # all rows kept, 2 of 79 feature columns dropped
    assert "argPathRatio" not in t.feature_names and "NumberRate_Extension" not in t.feature_names
    assert t.feature_names == [c for c in cols[:-1] if c not in ("argPathRatio", "NumberRate_Extension")]
    assert t.labels.tolist() == classes
    assert t.X[4, t.feature_names.index("Entropy_DirectoryName")] == -1


def test_url_errors(tmp_path):
    lines = [URL_HEADER, ",".join([_num(0, j) for j in range(79)] + ["benign"])]
    path = _write(tmp_path / "All.csv", [*lines, ",".join([_num(1, j) for j in range(79)] + ["ransomware"])])
    msg = r"All\.csv: column 'URL_Type_obf_Type' has unknown classes \['ransomware'\]"
    with pytest.raises(DataFormatError, match=msg):
        load_url({"All.csv": path})
    _write(path, [URL_HEADER.replace(",URL_Type_obf_Type", ",Type"), *lines[1:]])
    with pytest.raises(DataFormatError, match=r"All\.csv: missing columns \['URL_Type_obf_Type'\]"):
        load_url({"All.csv": path})
    _write(path, [lines[0], lines[1].replace("0,", "x,", 1)])
    with pytest.raises(DataFormatError, match=r"All\.csv: column 'Querylength' has non-numeric value 'x'"):
        load_url({"All.csv": path})
    path.write_text("")
    with pytest.raises(DataFormatError, match=r"All\.csv: file is empty"):
        load_url({"All.csv": path})


# ---------------------------------------------------------------------------------------------- DarkNet


def _darknet_row(i: int, label: str, *, flow_bytes: str | None = None, flow_id: str | None = None) -> str:
    ident = [flow_id if flow_id is not None else f"10.0.0.{i}-8.8.8.8-{4000 + i}-443-6", f"10.0.0.{i}",
             str(4000 + i), "8.8.8.8", "443", "6", "24/07/2015 04:09:48 PM"]  # fmt: skip
    features = [_num(i, j) for j in range(76)]
    if flow_bytes is not None:
        features[13] = flow_bytes  # Flow Bytes/s
    return ",".join(ident + features + [label, "AUDIO-STREAMING"])


def test_darknet_layout_and_row_dropping(tmp_path):
    assert len(DARKNET_HEADER.split(",")) == 85
    lines = [
        DARKNET_HEADER,
        _darknet_row(0, "Non-Tor"),
        _darknet_row(1, "NonVPN", flow_bytes="Infinity"),  # inf → NaN → row dropped
        _darknet_row(2, "Tor", flow_bytes="NaN"),  # row dropped
        _darknet_row(3, "VPN", flow_id=""),  # NaN in an identifier column: dropped too (before column drop)
        _darknet_row(4, "Tor"),
        _darknet_row(5, "VPN", flow_bytes="-Infinity"),
        _darknet_row(6, "NonVPN"),
    ]
    t = load_darknet({"Darknet.CSV": _write(tmp_path / "Darknet.CSV", lines)})
    assert t.X.shape == (3, 79)
    assert t.labels.tolist() == ["Non-Tor", "Tor", "NonVPN"]
    names = DARKNET_HEADER.split(",")
    assert t.feature_names == [c for c in names[:-2] if c not in ("Flow ID", "Src IP", "Dst IP", "Timestamp")]
    assert t.feature_names[:3] == ["Src Port", "Dst Port", "Protocol"]  # numeric, no one-hot
    assert "Label" not in t.feature_names and "Label.1" not in t.feature_names
    np.testing.assert_array_equal(t.X[:, 0], [4000, 4004, 4006])


def test_darknet_errors(tmp_path):
    path = tmp_path / "Darknet.CSV"
    _write(path, [DARKNET_HEADER, _darknet_row(0, "Non-Tor"), _darknet_row(1, "I2P")])
    with pytest.raises(DataFormatError, match=r"Darknet\.CSV: column 'Label' has unknown classes \['I2P'\]"):
        load_darknet({"Darknet.CSV": path})
    _write(path, [DARKNET_HEADER.rsplit(",", 1)[0], _darknet_row(0, "Tor").rsplit(",", 1)[0]])
    with pytest.raises(DataFormatError, match=r"Darknet\.CSV: missing columns \['Label\.1'\]"):
        load_darknet({"Darknet.CSV": path})
    _write(path, [DARKNET_HEADER, _darknet_row(0, "Tor").replace(",4000,", ",port,", 1)])
    with pytest.raises(DataFormatError, match=r"Darknet\.CSV: column 'Src Port' has non-numeric value 'port'"):
        load_darknet({"Darknet.CSV": path})
    _write(path, [DARKNET_HEADER, _darknet_row(0, "Tor", flow_bytes="Infinity")])
    with pytest.raises(DataFormatError, match=r"Darknet\.CSV: all 1 rows contain NaN/inf"):
        load_darknet({"Darknet.CSV": path})


# ---------------------------------------------------------------------------------------------- DoH


def _doh_row(i: int, label: str, *, rate: str | None = None) -> str:
    stats = [_num(i, j) for j in range(29)]
    if rate is not None:
        stats[2] = rate  # FlowSentRate
    return ",".join([f"192.168.20.{i}", "1.1.1.1", str(50000 + i), "443", "2020-01-14 15:46:12"] + stats + [label])


def test_doh_concatenates_benign_then_malicious(tmp_path):
    assert len(DOH_HEADER.split(",")) == 35
    benign = _write(tmp_path / "l2-benign.csv", [DOH_HEADER, _doh_row(0, "Benign"), _doh_row(1, "Benign", rate="")])
    malicious = _write(
        tmp_path / "l2-malicious.csv",
        [DOH_HEADER, _doh_row(2, "Malicious", rate="inf"), _doh_row(3, "Malicious"), _doh_row(4, "Malicious")],
    )
    t = load_doh({"l2-malicious.csv": malicious, "l2-benign.csv": benign})
    assert t.X.shape == (3, 29)
    assert t.labels.tolist() == ["Benign", "Malicious", "Malicious"]
    assert t.feature_names == DOH_HEADER.split(",")[5:-1]
    assert "TimeStamp" not in t.feature_names and "SourcePort" not in t.feature_names
    np.testing.assert_array_equal(t.X[:, 0], [0, 300, 400])  # Duration of rows 0, 3, 4


def test_doh_errors(tmp_path):
    benign = _write(tmp_path / "l2-benign.csv", [DOH_HEADER, _doh_row(0, "Benign")])
    malicious = tmp_path / "l2-malicious.csv"
    malicious.write_text("")
    files = {"l2-benign.csv": benign, "l2-malicious.csv": malicious}
    with pytest.raises(DataFormatError, match=r"l2-malicious\.csv: file is empty"):
        load_doh(files)
    _write(malicious, [DOH_HEADER.replace("FlowBytesSent,", ""), _doh_row(0, "Malicious").replace(",1,", ",", 1)])
    with pytest.raises(DataFormatError, match=r"l2-malicious\.csv: missing columns \['FlowBytesSent'\]"):
        load_doh(files)
    _write(malicious, [DOH_HEADER, _doh_row(0, "Malicious").replace(",1,", ",fast,", 1)])
    msg = r"l2-malicious\.csv: column 'FlowBytesSent' has non-numeric value 'fast'"
    with pytest.raises(DataFormatError, match=msg):
        load_doh(files)
    with pytest.raises(DataFormatError, match=r"'l2-malicious\.csv' not given"):
        load_doh({"l2-benign.csv": benign})


# ---------------------------------------------------------------------------------------------- IDS

IDS_LABEL_OF_DAY = {
    "Wednesday-14-02-2018": ("FTP-BruteForce", "SSH-Bruteforce"),
    "Thursday-15-02-2018": ("DoS attacks-GoldenEye", "DoS attacks-Slowloris"),
    "Friday-16-02-2018": ("DoS attacks-SlowHTTPTest", "DoS attacks-Hulk"),
    "Thuesday-20-02-2018": ("DDoS attacks-LOIC-HTTP",),
    "Thursday-22-02-2018": ("Brute Force -Web", "Brute Force -XSS", "SQL Injection"),
    "Friday-23-02-2018": ("Brute Force -Web", "SQL Injection"),
    "Wednesday-28-02-2018": ("Infilteration",),
    "Thursday-01-03-2018": ("Infilteration",),
    "Friday-02-03-2018": ("Bot",),
}


def _ids_row(day_no: int, i: int, label: str, protocol: int, *, byts: str | None = None, ids: bool = False) -> str:
    features = [_num(day_no * 10 + i, j) for j in range(77)]  # Dst Port, Flow Duration, ...
    if byts is not None:
        features[14] = byts  # Flow Byts/s
    row = [features[0], str(protocol), f"{day_no:02d}/02/2018 08:{i:02d}:00", *features[1:], label]
    if ids:
        row = [f"flow{i}", "172.31.69.25", str(50000 + i), "18.219.211.138", *row]
    return ",".join(row)


def _ids_day(tmp_path: Path, day_no: int, day: str) -> Path:
    """Four clean rows (Benign + the day's attacks, protocols 6/17/0), a repeated header, an Infinity row."""
    attacks = IDS_LABEL_OF_DAY[day]
    tuesday = day.startswith("Thuesday")
    header = ("Flow ID,Src IP,Src Port,Dst IP," if tuesday else "") + IDS_HEADER
    lines = [
        header,
        _ids_row(day_no, 0, "Benign", 6, ids=tuesday),
        _ids_row(day_no, 1, attacks[0], 17, ids=tuesday),
        header,  # repeated header row inside the file
        _ids_row(day_no, 2, attacks[-1], 6, byts="Infinity", ids=tuesday),  # dropped
        _ids_row(day_no, 3, "Benign", 0, byts="NaN", ids=tuesday),  # dropped
        _ids_row(day_no, 4, attacks[-1], 0, ids=tuesday),
        _ids_row(day_no, 5, "Benign", 6, ids=tuesday),
    ]
    return _write(tmp_path / f"{day}_TrafficForML_CICFlowMeter.csv", lines)


@pytest.fixture
def ids_files(tmp_path):
    days = [f.split("_")[0] for f in IDS_DAY_FILES_A3] + ["Thuesday-20-02-2018"]
    return {p.name: p for k, day in enumerate(days) for p in [_ids_day(tmp_path, k + 1, day)]}


def test_ids_default_six_days(ids_files):
    assert len(IDS_HEADER.split(",")) == 80
    assert len(IDS_DAY_FILES_R2AD2) == 6 and len(IDS_DAY_FILES_A3) == 8
    assert set(IDS_DAY_FILES_A3) - set(IDS_DAY_FILES_R2AD2) == {
        "Thursday-15-02-2018_TrafficForML_CICFlowMeter.csv",
        "Friday-16-02-2018_TrafficForML_CICFlowMeter.csv",
    }
    t = load_ids(ids_files)
    assert t.X.shape == (6 * 4, 80) and t.X.dtype == np.float32
    header = IDS_HEADER.split(",")
    assert t.feature_names == [c for c in header if c not in ("Protocol", "Timestamp", "Label")] + [
        "Protocol_0", "Protocol_6", "Protocol_17",
    ]  # fmt: skip
    # files in sorted name order: Friday-02-03, Friday-23-02, Thursday-01-03, Thursday-22-02, Wednesday-14, -28
    day_no = {f.split("_")[0]: k + 1 for k, f in enumerate(IDS_DAY_FILES_A3)}
    order = sorted(IDS_DAY_FILES_R2AD2)
    expected_dst = [(day_no[f.split("_")[0]] * 10 + i) * 100 for f in order for i in (0, 1, 4, 5)]
    np.testing.assert_array_equal(t.X[:, 0], expected_dst)
    assert t.labels[:4].tolist() == ["Benign", "Bot", "Bot", "Benign"]  # Friday-02-03 first
    assert set(t.labels) == {"Benign", "Bot", "FTP-BruteForce", "SSH-Bruteforce", "Brute Force -Web",
                             "SQL Injection", "Infilteration"}  # fmt: skip
    onehot = t.X[:, -3:]
    np.testing.assert_array_equal(onehot.sum(axis=1), 1)
    np.testing.assert_array_equal(onehot[:4], [[0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert np.isfinite(t.X).all()
    assert t.is_test is None


def test_ids_other_days_drop_src_port_and_undeclared_classes(ids_files):
    tuesday = "Thuesday-20-02-2018_TrafficForML_CICFlowMeter.csv"
    days = [*IDS_DAY_FILES_A3, tuesday]
    t = load_ids(ids_files, day_files=days)
    assert t.X.shape == (9 * 4, 80)  # Src Port and the other identifier columns never become features
    assert "Src Port" not in t.feature_names and "Flow ID" not in t.feature_names
    assert {"DoS attacks-Hulk", "DDoS attacks-LOIC-HTTP"} <= set(t.labels)
    declared = {"Benign", "Bot", "FTP-BruteForce", "SSH-Bruteforce", "Infilteration", "Brute Force -Web",
                "Brute Force -XSS", "SQL Injection"}  # fmt: skip
    kept = load_ids(ids_files, day_files=days, keep_labels=declared)
    assert set(kept.labels) <= declared
    np.testing.assert_array_equal(kept.X, t.X[np.isin(t.labels, list(declared))])
    # bare day names (as the registry passes them) stand for their files
    bare = load_ids(ids_files, day_files=[f.split("_")[0] for f in days], keep_labels=declared)
    np.testing.assert_array_equal(bare.X, kept.X)
    np.testing.assert_array_equal(bare.labels, kept.labels)
    # a subset without protocol-0 rows still has all three protocol columns
    only_tcp = load_ids(ids_files, day_files=[IDS_DAY_FILES_R2AD2[0]], keep_labels={"Benign"})
    assert only_tcp.X.shape[1] == 80 and only_tcp.feature_names[-3:] == ["Protocol_0", "Protocol_6", "Protocol_17"]


def test_ids_errors(tmp_path):
    name = IDS_DAY_FILES_R2AD2[0]
    path = _ids_day(tmp_path, 1, "Wednesday-14-02-2018")
    lines = path.read_text().splitlines()
    files = {name: path}
    with pytest.raises(DataFormatError, match=r"'Friday-02-03-2018_TrafficForML_CICFlowMeter\.csv' not given"):
        load_ids(files)
    _write(path, [lines[0].replace("Flow IAT Max,", ""), lines[1]])
    msg = r"Wednesday-14-02-2018_TrafficForML_CICFlowMeter\.csv: missing columns \['Flow IAT Max'\]"
    with pytest.raises(DataFormatError, match=msg):
        load_ids(files, day_files=[name])
    bad = lines.copy()
    bad[6] = bad[6].replace(",1402,", ",lots,", 1)
    _write(path, bad)
    msg = r"CICFlowMeter\.csv: column 'Tot Fwd Pkts' has non-numeric value 'lots' \(row 5\)"
    with pytest.raises(DataFormatError, match=msg):
        load_ids(files, day_files=[name])
    bad = lines.copy()
    bad[1] = bad[1].replace("Benign", "Heartbleed")
    _write(path, bad)
    with pytest.raises(DataFormatError, match=r"column 'Label' has unknown classes \['Heartbleed'\]"):
        load_ids(files, day_files=[name])
    path.write_text("")
    with pytest.raises(DataFormatError, match=r"Wednesday-14-02-2018_TrafficForML_CICFlowMeter\.csv: file is empty"):
        load_ids(files, day_files=[name])
    _write(path, [lines[0].replace(",Label", ",Extra,Label")] + [r.replace(",Benign", ",1,Benign") for r in lines[1:2]])
    with pytest.raises(DataFormatError, match=r"unexpected columns \['Extra'\]"):
        load_ids(files, day_files=[name])
