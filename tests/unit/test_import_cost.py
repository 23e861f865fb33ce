"""What a process imports before it works (issue 25): the Snakefile parses, and jobs that train
nothing run, without torch (≈ 3 s CPU each time); the Snakefile also without scipy and pandas.

Each check runs its imports in a fresh interpreter and reads its `sys.modules`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_FILES = [ROOT / "Snakefile", ROOT / "workflow" / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]


def loaded_after(code: str) -> set[str]:
    """The top-level packages in sys.modules after a fresh interpreter runs `code`."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, cwd=ROOT)
    return set(json.loads(out.stdout.splitlines()[-1]))


def snakefile_imports() -> list[str]:
    """Every import statement in the Snakefile and its rule files (also those inside functions)."""
    found = []
    for path in WORKFLOW_FILES:
        for line in path.read_text().splitlines():
            if re.match(r"\s*(import \w|from [\w.]+ import )", line):
                found.append(line.strip())
    return found


def test_the_snakefile_parses_without_torch_scipy_or_pandas() -> None:
    imports = snakefile_imports()
    assert any("alarmbench.methods" in s for s in imports) and any("peer" in s for s in imports)  # the probe sees them
    # gpu_claim("auto") runs at parse time too: it must answer without torch
    loaded = loaded_after("\n".join([*imports, "from alarmbench import device", "device.gpu_claim('auto')"]))
    assert "alarmbench" in loaded
    assert not loaded & {"torch", "scipy", "pandas", "sklearn"}, sorted(loaded & {"torch", "scipy", "pandas", "sklearn"})
