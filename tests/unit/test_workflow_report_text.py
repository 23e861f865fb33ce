"""The texts of `snakemake --report`: the workflow description named by the Snakefile's `report:`
and the rule captions render (Jinja2 as Snakemake renders them, then docutils, warnings fatal)
and describe the comparison's AP verdicts and authors'-code columns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
docutils = pytest.importorskip("docutils.core")
jinja2 = pytest.importorskip("jinja2")


class _Snakemake:
    config = {"datasets": ["digits", "breast_cancer"], "seeds": [110, 210]}


def _html(path: Path) -> str:
    text = jinja2.Environment().from_string(path.read_text()).render(snakemake=_Snakemake)
    return docutils.publish_parts(text, writer_name="html", settings_overrides={"halt_level": 2})["html_body"]


def test_workflow_description_renders_and_names_the_comparison():
    directive = re.search(r'^report:\s*"([^"]+)"', (ROOT / "workflow" / "Snakefile").read_text(), flags=re.M)
    assert directive, "workflow/Snakefile has no global report: description"
    html = _html(ROOT / "workflow" / directive.group(1))
    assert "digits, breast_cancer" in html and "110, 210" in html
    assert "AUC and AP" in html and "Welch" in html and "Mann" in html


@pytest.mark.parametrize("caption", sorted((ROOT / "workflow" / "report").glob("*.rst")), ids=lambda p: p.name)
def test_captions_render(caption):
    assert _html(caption)
    if caption.name == "comparison.rst":
        assert "AUC or AP" in caption.read_text() and "welch_p" in caption.read_text()
