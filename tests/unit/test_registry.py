"""The registry covers both papers' data sets with the papers' classes, presets and hyperparameters."""

import csv
from pathlib import Path

import pytest

from alarmbench.data import registry
from alarmbench.data.adbench import FILES, dataset_name
from alarmbench.data.loaders import LOADERS, get_loader
from alarmbench.data.spec import default_hparams

PAPER = Path(__file__).resolve().parents[2].parent / "shared" / "paper_results"

PAPER_SETS = ["mnist", "fashion_mnist", "mnist_emnist", "creditcard", "covtype", "darknet", "doh", "ids",
              "nsl_kdd", "mammography", "url"]


@pytest.mark.parametrize("name", PAPER_SETS + ["mnist_t10k", "nsl_kdd_20", "digits", "breast_cancer", "ids_a3"])
def test_every_required_dataset_is_registered_with_a_working_loader(name):
    spec = registry.get(name)
    assert spec.sources
    for source in spec.sources:
        assert source.loader in LOADERS
        assert callable(get_loader(source.loader))
        for f in source.files:
            assert f.urls or source.manual or f.archive is not None, f"{name}: {f.name} has no way to be obtained"
            assert f.sha256 is None or len(f.sha256) == 64


def test_all_adbench_tables_registered():
    assert len(FILES) == 47
    names = {dataset_name(stem) for stem in FILES}
    assert {"adbench_mammography", "adbench_satimage_2", "adbench_magic_gamma"} <= names
    assert names <= set(registry.REGISTRY)


@pytest.mark.parametrize("name,encoder,alarm,batch,transfer,pollution", [
    ("mnist", "conv", (1000, 500, 200, 75), 256, True, True),
    ("fashion_mnist", "conv", (1000, 500, 200, 75), 512, True, True),
    ("creditcard", (20, 10, 5), (1000, 500, 200, 75), 4096, False, False),
    ("covtype", (40, 20, 10), (1000, 500, 200, 75), 2048, True, True),
    ("darknet", (60, 30, 15), (1000, 500, 200, 75), 1024, True, True),
    ("doh", (20, 10, 5), (1000, 500, 200, 75), 512, False, True),
    ("ids", (60, 40, 20), (1000, 500, 200, 75), 8192, True, True),
    ("nsl_kdd", (40, 20, 10), (1000, 500, 200, 75), 512, True, True),
    ("mammography", (5, 3, 2), (100, 50, 25, 10), 128, False, False),
    ("url", (60, 30, 15), (1000, 500, 200, 75), 64, True, True),
])
def test_hyperparameters_and_experiments_match_spec_table(name, encoder, alarm, batch, transfer, pollution):
    spec = registry.get(name)
    assert spec.hparams.encoder == encoder
    assert spec.hparams.alarm == alarm
    assert spec.hparams.batch_size == batch
    assert spec.has_transfer == transfer
    assert spec.pollution == pollution


def test_class_presets_follow_the_papers():
    kdd = registry.get("nsl_kdd").preset("transfer")
    assert kdd.normal == ("normal",) and kdd.train_anomalies == ("DoS", "Probe")
    assert set(kdd.test_anomalies) == {"DoS", "Probe", "R2L", "U2R"}
    mnist = registry.get("mnist")
    assert mnist.preset("known").normal == ("0", "1", "2", "3")
    assert mnist.preset("transfer").train_anomalies == ("4", "5", "6")
    assert mnist.preset("a3-2b").test_anomalies == ("0", "1", "2", "3")
    ids = registry.get("ids").preset("transfer")
    assert ids.train_anomalies == ("Bot", "BruteForce")
    assert registry.get("ids_a3").preset("a3-2d").test_anomalies[-1] == "BruteForce"
    assert registry.get("mnist_emnist").preset("a3-3b").train_anomalies == ("10", "11", "12", "13", "14")


def test_families_map_every_attack_name():
    kdd = registry.get("nsl_kdd").families
    assert kdd["neptune"] == "DoS" and kdd["mscan"] == "Probe" and kdd["snmpguess"] == "R2L"
    assert kdd["sqlattack"] == "U2R" and kdd["normal"] == "normal"
    assert sum(v == "U2R" for v in kdd.values()) == 8
    ids = registry.get("ids").families
    assert ids["Infilteration"] == "Infiltration" and ids["SQL Injection"] == "WebAttacks"
    assert set(ids.values()) == set(registry.get("ids").classes)


def test_registration_gated_sources_name_their_portal():
    for name in ("nsl_kdd", "darknet", "doh", "url"):
        assert all(s.portal and s.portal.startswith("https://") for s in registry.get(name).sources)


def test_paper_names_exist_in_the_published_tables():
    path = PAPER / "r2ad2_table3_known.csv"
    if not path.exists():
        pytest.skip("paper_results not present")
    published = {row["dataset"] for row in csv.DictReader(path.open())}
    ours = {s.paper_name for s in registry.REGISTRY.values() if s.paper_name}
    assert ours == published


def test_unknown_names_give_a_helpful_error():
    with pytest.raises(KeyError, match="unknown data set 'mnsit'"):
        registry.get("mnsit")
    with pytest.raises(KeyError, match="available"):
        registry.get("mammography").preset("transfer")


def test_default_hparams_reproduce_mammography_choice():
    hp = default_hparams(6, 11183)
    assert hp.encoder == (5, 3, 2) and hp.alarm == (100, 50, 25, 10) and hp.batch_size == 128
    wide = default_hparams(122, 50_000)
    assert wide.encoder == (60, 30, 15) and wide.alarm == (1000, 500, 200, 75)
