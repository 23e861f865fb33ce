"""CONTRIBUTING.md's worked example stays true: its module and declaration, pasted into a copy of
the package, give a method the workflow plans (its shared target first), validates and labels."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # starts Snakemake (tests/README.md)


def blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_worked_example_plans_through_a_dry_run(tmp_path):
    module, declaration = blocks((ROOT / "CONTRIBUTING.md").read_text())[:2]
    pkg = tmp_path / "src" / "alarmbench"
    shutil.copytree(ROOT / "src" / "alarmbench", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "methods" / "toy.py").write_text(module)
    catalog = pkg / "methods" / "catalog.py"
    text = catalog.read_text()
    anchor = "    # strong baselines not in the papers\n"
    assert anchor in text
    catalog.write_text(text.replace(anchor, declaration + anchor))
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config.update(datasets=["breast_cancer"], seeds=[110],
                  grids={"known": {"experiments": ["known"], "n_anomalies": [10], "methods": ["toy-ae"]}})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src"), "ALARMBENCH_CODE_ROOT": str(pkg)}
    cmd = [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--directory", str(tmp_path / "w"), "-s",
           str(ROOT / "Snakefile"), "--configfile", str(tmp_path / "c.yaml")]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "tfile=ae" in out.stdout and "method=toy-ae" in out.stdout
    config["method_options"] = {"toy-ae": {"toy_powr": 2}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    bad = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert bad.returncode != 0 and "unknown option 'toy_powr' (did you mean 'toy_power'?)" in bad.stdout + bad.stderr
    label = subprocess.run([sys.executable, "-c", "from alarmbench.report.labels import method_label;"
                            "print(method_label('toy-ae'))"], capture_output=True, text=True, env=env)
    assert label.stdout.strip() == "Toy AE†"
    built = subprocess.run([sys.executable, "-c", "from alarmbench.methods import build_method;"
                            "print(build_method('toy-ae').power, build_method('toy-ae', toy_power=2).power)"],
                           capture_output=True, text=True, env=env)
    assert built.stdout.split() == ["1.0", "2.0"], built.stderr[-2000:]
