"""The ADBench "Classical" tables (Han et al., NeurIPS 2022): binary labels, one generic loader.

Registered as `adbench_<name>` (lower case, non-alphanumerics as '_'), e.g. `adbench_mammography`.
Hyperparameters follow `default_hparams` except for Mammography, which keeps the paper's values.
"""

from __future__ import annotations

import re

from alarmbench.data.sources import RemoteFile, Source
from alarmbench.data.spec import ClassSetup, DatasetSpec, DeclaredShape, HyperParams

BASE = "https://github.com/Minqi824/ADBench/raw/main/adbench/datasets/Classical/"

FILES = (
    "1_ALOI 2_annthyroid 3_backdoor 4_breastw 5_campaign 6_cardio 7_Cardiotocography 8_celeba 9_census "
    "10_cover 11_donors 12_fault 13_fraud 14_glass 15_Hepatitis 16_http 17_InternetAds 18_Ionosphere "
    "19_landsat 20_letter 21_Lymphography 22_magic.gamma 23_mammography 24_mnist 25_musk 26_optdigits "
    "27_PageBlocks 28_pendigits 29_Pima 30_satellite 31_satimage-2 32_shuttle 33_skin 34_smtp 35_SpamBase "
    "36_speech 37_Stamps 38_thyroid 39_vertebral 40_vowels 41_Waveform 42_WBC 43_WDBC 44_Wilt 45_wine "
    "46_WPBC 47_yeast"
).split()

# sha256 and size of the files verified against the local mirror's SHA256SUMS.
KNOWN = {
    "4_breastw": ("4f37ce07dbc25ddad8178fdc6d664ab46d2d0000ee28c2787c3c7ff3c03ef9f6", 3023),
    "6_cardio": ("bc5009bde6930b4d298b594f31b34485a9a17210cff0e8fb00a8c3068b885a2d", 68471),
    "10_cover": ("945a097c3542ae81a551bf1c06dcad78a755d94f84fcaf1d60687e42d1a656df", 2537258),
    "16_http": ("9d98710091551587f4740cfc851a6b064fff6319a337c2dc77ee6da4bcc2e02c", 2179269),
    "23_mammography": ("a0308ac9712d78321073b1c2dc98dc37665c0f35c1cc33019416fe8f8d7de7ea", 166764),
    "24_mnist": ("be7706272325fdd3592c1be555ae1a82f916a2f8545f4f8cbaa548ab102cc44c", 455359),
    "29_Pima": ("215454bb263a2f040945c9ea7bd7f06f1e89a61a3143bdb6f196e3887e801a7d", 11023),
    "31_satimage-2": ("1b056e357f801b8b20c3f380a30224a3c4088d7ed764ec5a24828dc9b1918d6f", 181405),
    "32_shuttle": ("26900b0f6be45d9ddb7a402c9b2f956ceda42d23a8ca4cf4406b8bc1352823d1", 332929),
    "34_smtp": ("d2569fc9bc12115419e3f5b37d19921e10e6c26e5ad1e61064cfb0fbc402dfdd", 496392),
    "38_thyroid": ("8de161b3f235b7647bb0b39a836d983ff61d67bf234edac461da2d71e889cb87", 39882),
    "42_WBC": ("650f9dcb129248f67a291be0974f533ef259fcbde50fce5c8ad2a1cb2652d03b", 1444),
}

# Anomalous rows (y = 1) per table, counted on the mirrored files: the grid caps the number of
# known training anomalies of tables with few anomalies by it (alarmbench.grid.effective_n).
ANOMALIES = {"4_breastw": 239, "6_cardio": 176, "10_cover": 2747, "16_http": 2211, "23_mammography": 260,
             "24_mnist": 700, "29_Pima": 268, "31_satimage-2": 71, "32_shuttle": 3511, "34_smtp": 30,
             "38_thyroid": 93, "42_WBC": 10}

# Rows, features and anomalies of every table, from the ADBench paper's table of data sets (Han et
# al. 2022, Table 1); the mirrored ones are checked against the files by the realdata tests.
SIZES = dict(zip(FILES, (
    (49534, 27, 1508), (7200, 6, 534), (95329, 196, 2329), (683, 9, 239), (41188, 62, 4640), (1831, 21, 176),
    (2114, 21, 466), (202599, 39, 4547), (299285, 500, 18568), (286048, 10, 2747), (619326, 10, 36710),
    (1941, 27, 673), (284807, 29, 492), (214, 7, 9), (80, 19, 13), (567498, 3, 2211), (1966, 1555, 368),
    (351, 32, 126), (6435, 36, 1333), (1600, 32, 100), (148, 18, 6), (19020, 10, 6688), (11183, 6, 260),
    (7603, 100, 700), (3062, 166, 97), (5216, 64, 150), (5393, 10, 510), (6870, 16, 156), (768, 8, 268),
    (6435, 36, 2036), (5803, 36, 71), (49097, 9, 3511), (245057, 3, 50859), (95156, 3, 30), (4207, 57, 1679),
    (3686, 400, 61), (340, 9, 31), (3772, 6, 93), (240, 6, 30), (1456, 12, 50), (3443, 21, 100), (223, 9, 10),
    (367, 30, 10), (4819, 5, 257), (129, 13, 10), (198, 33, 47), (1484, 8, 507),
)))


def declared_shape(stem: str) -> DeclaredShape:
    rows, features, anomalies = SIZES[stem]
    return DeclaredShape(rows, (features,), None, {"0": rows - anomalies, "1": anomalies},
                         source="ADBench (Han et al. 2022), Table 1")


MAMMOGRAPHY_HP = HyperParams(encoder=(5, 3, 2), alarm=(100, 50, 25, 10), batch_size=128, a3_target=(5, 3, 2))


def dataset_name(stem: str) -> str:
    """'31_satimage-2' -> 'adbench_satimage_2'."""
    return "adbench_" + re.sub(r"[^a-z0-9]+", "_", stem.split("_", 1)[1].lower()).strip("_")


def adbench_specs() -> list[DatasetSpec]:
    specs = []
    for stem in FILES:
        sha, size = KNOWN.get(stem, (None, None))
        file = RemoteFile(f"{stem}.npz", (f"{BASE}{stem}.npz",), sha, size)
        specs.append(DatasetSpec(
            dataset_name(stem), f"ADBench {stem.split('_', 1)[1]}", (Source((file,), "npz_xy"),),
            ("0", "1"), {"known": ClassSetup([0], [1])},
            MAMMOGRAPHY_HP if stem == "23_mammography" else None,
            pollution=False, citation="Han et al., ADBench, NeurIPS 2022", n_anomalies_total=ANOMALIES.get(stem),
            shape=declared_shape(stem),
        ))
    return specs
