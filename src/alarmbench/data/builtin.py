"""The built-in data sets: one entry per data set of both papers, plus small official variants, ADBench
tables and embedded data. Looked up with the user's data sets through `alarmbench.data.registry`.

Checksums: a sha256 given here is either published upstream (Keras' file_hash, scikit-learn's
RemoteFileMetadata) or was verified by us against the local mirror's SHA256SUMS (the comment below says which).
Where none is known, the downloader records the hash at first download in the lock file.
"""

from __future__ import annotations

from dataclasses import replace

from alarmbench.data.adbench import adbench_specs
from alarmbench.data.families import KDD_FAMILIES
from alarmbench.data.sources import RemoteFile, Source
from alarmbench.data.spec import ClassSetup, DatasetSpec, DeclaredShape, HyperParams

KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")
IDS_BASE = "https://cse-cic-ids2018.s3.amazonaws.com/Processed+Traffic+Data+for+ML+Algorithms/"

# Where each sha256 below comes from:
# - mnist.npz: published (Keras mnist.load_data file_hash);
# - covtype.data.gz: published (scikit-learn fetch_covtype RemoteFileMetadata);
# - *-ubyte.gz, gzip.zip: md5 published (LeCun, Zalando, NIST); sha256 recorded in the lock file;
# - t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz: the mirror's SHA256SUMS; md5 9fb629c4... and
#   ec29112d... published by LeCun/torchvision;
# - KDDTest+.txt, KDDTrain+_20Percent.txt: the mirror's SHA256SUMS (verified 22,544 and 25,192 rows, 43 fields).


def _idx_files(bases: tuple[str, ...], md5: dict[str, str], prefixes=("train", "t10k"), known: dict | None = None):
    """The IDX files of an image set; MNIST and Fashion-MNIST share file names, so the
    published md5 (checked when no sha256 is known) is what tells them apart in a mirror."""
    known = known or {}
    return tuple(
        RemoteFile(name, tuple(b + name for b in bases), *known.get(name, (None, None)), md5=md5[name])
        for p in prefixes for kind in ("images-idx3", "labels-idx1") for name in [f"{p}-{kind}-ubyte.gz"]
    )


T10K = {
    "t10k-images-idx3-ubyte.gz": ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
    "t10k-labels-idx1-ubyte.gz": ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
}
MNIST_MD5 = {  # published by LeCun et al. (as listed by torchvision)
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
FASHION_MD5 = {  # published in zalandoresearch/fashion-mnist's README
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
MNIST_IDX = _idx_files(MNIST_MIRRORS, MNIST_MD5, known=T10K)
MNIST_NPZ = RemoteFile("mnist.npz", (KERAS + "mnist.npz",),
                       "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1", 11490434)
EMNIST_ZIP = RemoteFile("gzip.zip", ("https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip",
                                     "http://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/gzip.zip"),
                        md5="58c8d27c78d21e728a6bc7b3cc06412e")  # published md5 (torchvision's EMNIST)
EMNIST_LETTERS = tuple(
    RemoteFile(f"emnist-letters-{s}-{k}-ubyte.gz", archive=EMNIST_ZIP, member=f"gzip/emnist-letters-{s}-{k}-ubyte.gz")
    for s in ("train", "test") for k in ("images-idx3", "labels-idx1")
)

IMAGE_HP = dict(encoder="conv", alarm=(1000, 500, 200, 75), a3_target="conv", a3_batch_size=256)
DIGITS = tuple(range(10))
# R2-AD2 (docs/protocol.md#data-images): normal 0-3, anomalies 4-9, transfer trains on 4-6.
# A3 (docs/protocol.md#a3-split): 1-a/2-a normal 0-5 with 6,7 known; 1-b/2-b normal 4-9 with 0,1 known.
MNIST_PRESETS = {
    "known": ClassSetup(range(4), range(4, 10)),
    "transfer": ClassSetup(range(4), range(4, 10), (4, 5, 6)),
    "a3-1a": ClassSetup(range(6), (6, 7)),
    "a3-2a": ClassSetup(range(6), range(6, 10), (6, 7)),
    "a3-1b": ClassSetup(range(4, 10), (0, 1)),
    "a3-2b": ClassSetup(range(4, 10), range(4), (0, 1)),
}
LETTERS_AE, LETTERS_VZ = tuple(range(10, 15)), tuple(range(31, 36))

IDS_FAMILIES = {
    "Benign": "Benign", "Bot": "Bot",
    "FTP-BruteForce": "BruteForce", "SSH-Bruteforce": "BruteForce",
    "DDoS attacks-LOIC-HTTP": "DDoS", "DDOS attack-LOIC-UDP": "DDoS", "DDOS attack-HOIC": "DDoS",
    "DoS attacks-GoldenEye": "DoS", "DoS attacks-Slowloris": "DoS", "DoS attacks-SlowHTTPTest": "DoS",
    "DoS attacks-Hulk": "DoS", "Infilteration": "Infiltration",
    "Brute Force -Web": "WebAttacks", "Brute Force -XSS": "WebAttacks", "SQL Injection": "WebAttacks",
}
IDS_CLASSES = ("Benign", "Bot", "BruteForce", "DDoS", "DoS", "Infiltration", "WebAttacks")
IDS_R2AD2_DAYS = ("Wednesday-14-02-2018", "Thursday-22-02-2018", "Friday-23-02-2018",
                  "Wednesday-28-02-2018", "Thursday-01-03-2018", "Friday-02-03-2018")
IDS_A3_DAYS = IDS_R2AD2_DAYS + ("Thursday-15-02-2018", "Friday-16-02-2018")


def _ids_source(days: tuple[str, ...]) -> Source:
    names = sorted(f"{d}_TrafficForML_CICFlowMeter.csv" for d in days)
    return Source(tuple(RemoteFile(n, (IDS_BASE + n,)) for n in names), loader="ids",
                  note="public AWS bucket; no credentials needed")


def _portal(files: tuple[RemoteFile, ...], loader: str, portal: str, note: str = "") -> Source:
    return Source(files, loader=loader, portal=portal, note=note)


# Kaggle's description: 284,807 transactions; Time, V1-V28, Amount and Class (no checksum published).
CREDITCARD_SHAPE = (284_807, 31)

KDD_PORTAL = "https://www.unb.ca/cic/datasets/nsl.html"
KDD_TEST = RemoteFile("KDDTest+.txt", (), "86b5ec03d20c040bdbeeb7eb68ae7df37e27a16c5b66a6ba2b62b8fed0e5cdfa", 3441513)
KDD_CLASSES = ("normal", "DoS", "Probe", "R2L", "U2R")
KDD_PRESETS = {
    "known": ClassSetup(["normal"], ["DoS", "Probe", "R2L", "U2R"]),
    "transfer": ClassSetup(["normal"], ["DoS", "Probe", "R2L", "U2R"], ["DoS", "Probe"]),
}
KDD_HP = HyperParams(encoder=(40, 20, 10), batch_size=512, a3_target=(200, 100, 50, 25))

# Documented sizes (DeclaredShape): what `alarmbench plan` projects from before any download.
MNIST_DIGIT_ROWS = dict(zip(DIGITS, (6903, 7877, 6990, 7141, 6824, 6313, 6876, 7293, 6825, 6958)))  # LeCun et al.
MNIST_T10K_ROWS = dict(zip(DIGITS, (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)))
KDD_TEST_ROWS = {"normal": 9711, "DoS": 7458, "Probe": 2421, "R2L": 2754, "U2R": 200}  # KDDTest+, families


def _kdd_shape(train: dict[str, int], source: str) -> DeclaredShape:
    return DeclaredShape(sum(train.values()) + 22544, (122,), test_rows=22544,  # 38 numeric + 84 one-hot (docs/protocol.md#data-nsl-kdd)
                         class_rows={c: train[c] + KDD_TEST_ROWS[c] for c in KDD_CLASSES}, test_class_rows=KDD_TEST_ROWS,
                         source=source)


SHAPES = {
    "mnist": DeclaredShape(70000, (28, 28), 10000, MNIST_DIGIT_ROWS, MNIST_T10K_ROWS,
                           source="LeCun et al.: 60,000 + 10,000 test"),
    "mnist_t10k": DeclaredShape(10000, (28, 28), None, MNIST_T10K_ROWS, source="LeCun et al.: the 10,000 test images"),
    "fashion_mnist": DeclaredShape(70000, (28, 28), 10000, {d: 7000 for d in DIGITS}, {d: 1000 for d in DIGITS},
                                   source="Xiao et al.: 60,000 + 10,000 test, 7,000 per class"),
    "mnist_emnist": DeclaredShape(126000, (28, 28), 18000, {**MNIST_DIGIT_ROWS, **{c: 5600 for c in LETTERS_AE + LETTERS_VZ}},
                                  {**MNIST_T10K_ROWS, **{c: 800 for c in LETTERS_AE + LETTERS_VZ}},
                                  source="MNIST + EMNIST letters (Cohen et al.: 4,800 train + 800 test per letter)"),
    "creditcard": DeclaredShape(284807, (29,), None, {"0": 284315, "1": 492},
                                source="Kaggle mlg-ulb: 284,807 rows, 492 frauds; Time dropped (docs/protocol.md#data-creditcard)"),
    "covtype": DeclaredShape(581012, (54,), None, dict(zip(map(str, range(1, 8)),
                                                           (211840, 283301, 35754, 2747, 9493, 17367, 20510))),
                             source="UCI Covertype: 581,012 rows, 54 features"),
    "mammography": DeclaredShape(11183, (6,), None, {"0": 10923, "1": 260}, source="ODDS: 11,183 x 6, 260 anomalies"),
    "nsl_kdd": _kdd_shape({"normal": 67343, "DoS": 45927, "Probe": 11656, "R2L": 995, "U2R": 52},
                          "UNB NSL-KDD: KDDTrain+ 125,973 + KDDTest+ 22,544 rows"),
    "nsl_kdd_20": _kdd_shape({"normal": 13449, "DoS": 9234, "Probe": 2289, "R2L": 209, "U2R": 11},
                             "UNB NSL-KDD: KDDTrain+_20Percent 25,192 + KDDTest+ 22,544 rows"),
    # Day files of the processed CSVs (rows before the loader drops NaN/Infinity rows: an upper bound).
    "ids": DeclaredShape(4 * 1048575 + 613104 + 331125, (80,), exact=False,
                         source="CSE-CIC-IDS2018 processed CSVs, 6 days; 77 numeric + 3 protocol dummies (docs/protocol.md#data-ids)"),
    "ids_a3": DeclaredShape(6 * 1048575 + 613104 + 331125, (80,), exact=False,
                            source="CSE-CIC-IDS2018 processed CSVs, 8 days"),
    "darknet": DeclaredShape(141530, (79,), None, {"Non-Tor": 93356, "NonVPN": 23863, "Tor": 1392, "VPN": 22919},
                             exact=False, source="CIC-Darknet2020: 141,530 rows, 85 columns (before NaN rows are dropped)"),
    "doh": DeclaredShape(269643, (29,), None, {"Benign": 19807, "Malicious": 249836}, exact=False,
                         source="CIRA-CIC-DoHBrw-2020 layer 2: 19,807 + 249,836 rows (before NaN rows are dropped)"),
    "url": DeclaredShape(36707, (78,), None, {"benign": 7781, "Defacement": 7930, "malware": 6712, "phishing": 7586,
                                              "spam": 6698}, exact=False,
                         source="ISCX-URL2016 All.csv: 36,707 rows, 79 columns (features: fewer once NaN columns go)"),
    "digits": DeclaredShape(1797, (64,), None, dict(zip(DIGITS, (178, 182, 177, 183, 181, 182, 181, 179, 174, 180))),
                            source="scikit-learn load_digits"),
    "breast_cancer": DeclaredShape(569, (30,), None, {"benign": 357, "malignant": 212},
                                   source="scikit-learn load_breast_cancer"),
}

_SPECS: list[DatasetSpec] = [
    DatasetSpec(
        "mnist", "MNIST", (Source((MNIST_NPZ,), "keras_mnist_npz"), Source(MNIST_IDX, "idx_official")),
        DIGITS, MNIST_PRESETS, HyperParams(batch_size=256, **IMAGE_HP), scaling="divide255",
        image_shape=(28, 28), paper_name="MNIST", citation="LeCun et al. 1998"),
    DatasetSpec(
        "mnist_t10k", "MNIST (official 10k test images only)", (Source(_idx_files(MNIST_MIRRORS, MNIST_MD5, ("t10k",), T10K),
                                                                      "idx_t10k"),),
        DIGITS, MNIST_PRESETS, HyperParams(batch_size=256, **IMAGE_HP), scaling="divide255", image_shape=(28, 28),
        notes="Re-split with the generic 20/4/76 protocol; smaller than the paper's MNIST."),
    DatasetSpec(
        "fashion_mnist", "Fashion-MNIST",
        (Source(_idx_files((KERAS, "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                            "data/fashion/"), FASHION_MD5), "idx_official"),),
        DIGITS, {k: MNIST_PRESETS[k] for k in ("known", "transfer")},
        HyperParams(batch_size=512, **IMAGE_HP), scaling="divide255", image_shape=(28, 28), paper_name="FMNIST",
        notes="Upstream file names equal MNIST's; the published md5 picks the right copy in a mirror."),
    DatasetSpec(
        "mnist_emnist", "MNIST + EMNIST letters a-e, v-z (A3 experiment 3)",
        (Source(MNIST_IDX + EMNIST_LETTERS, "mnist_emnist"),),
        DIGITS + LETTERS_AE + LETTERS_VZ,
        {"a3-3a": ClassSetup(DIGITS, LETTERS_AE), "a3-3b": ClassSetup(DIGITS, LETTERS_AE + LETTERS_VZ, LETTERS_AE),
         "a3-3c": ClassSetup(DIGITS, LETTERS_VZ), "a3-3d": ClassSetup(DIGITS, LETTERS_AE + LETTERS_VZ, LETTERS_VZ)},
        HyperParams(batch_size=256, **IMAGE_HP), scaling="divide255", image_shape=(28, 28), pollution=False,
        notes="EMNIST letters relabelled +9: a-e -> 10-14, v-z -> 31-35 (docs/protocol.md#data-images)."),
    DatasetSpec(
        "creditcard", "Credit-card fraud",
        (Source((RemoteFile("creditcard.csv", ("https://storage.googleapis.com/download.tensorflow.org/data/"
                                               "creditcard.csv",), shape=CREDITCARD_SHAPE),), "creditcard"),
         _portal((RemoteFile("creditcard.csv", shape=CREDITCARD_SHAPE),), "creditcard",
                 "https://www.kaggle.com/datasets/mlg-ulb/creditcardfraud")),
        ("0", "1"), {"known": ClassSetup([0], [1])},
        HyperParams(encoder=(20, 10, 5), batch_size=4096, a3_target=(50, 25, 10, 5)), pollution=False,
        paper_name="CC"),
    DatasetSpec(
        "covtype", "Forest CoverType",
        (Source((RemoteFile("covtype.data.gz", ("https://ndownloader.figshare.com/files/5976039",
                                                "https://archive.ics.uci.edu/ml/machine-learning-databases/covtype/"
                                                "covtype.data.gz"),
                            "614360d0257557dd1792834a85a1cdebfadc3c4f30b011d56afee7ffb5b15771"),), "covtype"),
         _portal((RemoteFile("covtype.csv"),), "covtype", "https://www.kaggle.com/datasets/uciml/forest-cover-type-dataset")),
        tuple(str(i) for i in range(1, 8)),
        {"known": ClassSetup([1, 2, 3], [4, 5, 6, 7]), "transfer": ClassSetup([1, 2, 3], [4, 5, 6, 7], [4, 5])},
        HyperParams(encoder=(40, 20, 10), batch_size=2048), paper_name="CoverType"),
    DatasetSpec(
        "mammography", "Mammography (ODDS)",
        (Source((RemoteFile("23_mammography.npz",
                            ("https://github.com/Minqi824/ADBench/raw/main/adbench/datasets/Classical/23_mammography.npz",),
                            "a0308ac9712d78321073b1c2dc98dc37665c0f35c1cc33019416fe8f8d7de7ea", 166764),), "npz_xy",
                note="ADBench copy of the ODDS table; row order may differ from the .mat"),
         _portal((RemoteFile("mammography.mat"),), "odds_mat", "http://odds.cs.stonybrook.edu/mammography-dataset/")),
        ("0", "1"), {"known": ClassSetup([0], [1])},
        HyperParams(encoder=(5, 3, 2), alarm=(100, 50, 25, 10), batch_size=128, a3_target=(5, 3, 2)),
        pollution=False, paper_name="Mammography"),
    DatasetSpec(
        "nsl_kdd", "NSL-KDD", (_portal((RemoteFile("KDDTrain+.txt"), KDD_TEST), "nsl_kdd", KDD_PORTAL),),
        KDD_CLASSES, KDD_PRESETS, KDD_HP, families=KDD_FAMILIES, paper_name="KDD"),
    DatasetSpec(
        "nsl_kdd_20", "NSL-KDD (20 % training file)",
        (_portal((RemoteFile("KDDTrain+_20Percent.txt", (),
                             "1a1559ff163a1dfa7ad1fba6b00ac6a408cc16741588831b66f043b918881e53", 3822033), KDD_TEST),
                 "nsl_kdd_20", KDD_PORTAL),),
        KDD_CLASSES, KDD_PRESETS, KDD_HP, families=KDD_FAMILIES,
        notes="KDDTrain+_20Percent as training data, KDDTest+ as official test set."),
    DatasetSpec(
        "ids", "CSE-CIC-IDS2018 (6 non-DoS days)", (_ids_source(IDS_R2AD2_DAYS),), IDS_CLASSES,
        {"known": ClassSetup(["Benign"], ["Bot", "BruteForce", "Infiltration", "WebAttacks"]),
         "transfer": ClassSetup(["Benign"], ["Bot", "BruteForce", "Infiltration", "WebAttacks"], ["Bot", "BruteForce"])},
        HyperParams(encoder=(60, 40, 20), batch_size=8192, a3_target=(150, 80, 40, 20), a3_batch_size=2048),
        families=IDS_FAMILIES, paper_name="IDS",
        notes="Day files concatenated in sorted name order (the original's directory order is arbitrary)."),
    DatasetSpec(
        "ids_a3", "CSE-CIC-IDS2018 (A3: all but the DDoS days)", (_ids_source(IDS_A3_DAYS),), IDS_CLASSES,
        {"a3-1c": ClassSetup(["Benign"], ["BruteForce", "DoS", "WebAttacks", "Infiltration"]),
         "a3-2c": ClassSetup(["Benign"], ["BruteForce", "DoS", "WebAttacks", "Infiltration", "Bot"],
                             ["BruteForce", "DoS", "WebAttacks", "Infiltration"]),
         "a3-1d": ClassSetup(["Benign"], ["Bot", "Infiltration", "WebAttacks", "DoS"]),
         "a3-2d": ClassSetup(["Benign"], ["Bot", "Infiltration", "WebAttacks", "DoS", "BruteForce"],
                             ["Bot", "Infiltration", "WebAttacks", "DoS"])},
        HyperParams(encoder=(60, 40, 20), batch_size=8192, a3_target=(150, 80, 40, 20), a3_batch_size=2048),
        families=IDS_FAMILIES, pollution=False,
        loader_options={"day_files": tuple(f"{d}_TrafficForML_CICFlowMeter.csv" for d in IDS_A3_DAYS)}),
    DatasetSpec(
        "darknet", "CIC-Darknet2020",
        (_portal((RemoteFile("Darknet.CSV"),), "darknet", "https://www.unb.ca/cic/datasets/darknet2020.html",
                 "file server pattern http://cicresearch.ca/CICDataset/CICDarknet2020/Dataset/Darknet.CSV"),),
        ("Non-Tor", "NonVPN", "Tor", "VPN"),
        {"known": ClassSetup(["Non-Tor", "NonVPN"], ["Tor", "VPN"]),
         "transfer": ClassSetup(["Non-Tor", "NonVPN"], ["Tor", "VPN"], ["Tor"])},
        HyperParams(encoder=(60, 30, 15), batch_size=1024), paper_name="DarkNet"),
    DatasetSpec(
        "doh", "CIRA-CIC-DoHBrw-2020 (layer 2)",
        (_portal((RemoteFile("l2-benign.csv", archive=RemoteFile("Total_CSVs.zip"), member="CSVs/Total_CSVs/l2-benign.csv"),
                  RemoteFile("l2-malicious.csv", archive=RemoteFile("Total_CSVs.zip"),
                             member="CSVs/Total_CSVs/l2-malicious.csv")),
                 "doh", "https://www.unb.ca/cic/datasets/dohbrw-2020.html"),),
        ("Benign", "Malicious"), {"known": ClassSetup(["Benign"], ["Malicious"])},
        HyperParams(encoder=(20, 10, 5), batch_size=512), paper_name="DoH"),
    DatasetSpec(
        "url", "ISCX-URL2016",
        (_portal((RemoteFile("All.csv", archive=RemoteFile("ISCXURL2016.zip"), member="FinalDataset/All.csv"),),
                 "url", "https://www.unb.ca/cic/datasets/url-2016.html"),),
        ("benign", "Defacement", "malware", "phishing", "spam"),
        {"known": ClassSetup(["benign"], ["Defacement", "malware", "phishing", "spam"]),
         "transfer": ClassSetup(["benign"], ["Defacement", "malware", "phishing", "spam"], ["Defacement", "malware"])},
        HyperParams(encoder=(60, 30, 15), batch_size=64), paper_name="URL"),
    DatasetSpec(
        "digits", "scikit-learn digits (embedded, 8x8)", (Source((), "digits"),), DIGITS,
        {"known": ClassSetup(range(4), range(4, 10)), "transfer": ClassSetup(range(4), range(4, 10), (4, 5, 6)),
         **{k: v for k, v in MNIST_PRESETS.items() if k.startswith("a3-")}},
        HyperParams(encoder=(40, 20, 10), alarm=(100, 50, 25, 10), batch_size=128, a3_target=(50, 25, 10, 5),
                    a3_batch_size=256),
        notes="Bundled with scikit-learn; a small MNIST stand-in (dense networks, min-max scaling; the small "
              "alarm of the Mammography setting keeps the default suite fast on a CPU)."),
    DatasetSpec(
        "breast_cancer", "scikit-learn breast cancer (embedded)", (Source((), "breast_cancer"),),
        ("benign", "malignant"), {"known": ClassSetup(["benign"], ["malignant"])},
        HyperParams(encoder=(20, 10, 5), alarm=(100, 50, 25, 10), batch_size=64, a3_target=(20, 10, 5)),
        notes="Bundled with scikit-learn; 357 benign (normal) vs 212 malignant rows."),
]
_SPECS = [replace(s, shape=SHAPES[s.name]) for s in _SPECS] + adbench_specs()

REGISTRY: dict[str, DatasetSpec] = {s.name: s for s in _SPECS}

