"""Display names, orderings and number formats shared by tables, figures and the paper comparison."""

from __future__ import annotations

import math
import re

from alarmbench.methods.catalog import METHODS

#: Our method ids → the names printed in the papers (Unicode; see `latex_method` for LaTeX), from
#: the method declarations (methods/catalog.py).
#: `r2ad2-3` (the same model as `r2ad2`) is no method id any more; results files from before keep it.
DISPLAY_NAMES = {m.id: m.display for m in METHODS.values()} | {"r2ad2-3": "R2-AD2-3"}
#: Methods that appear in the R2-AD2 or A³ result tables; everything else gets a dagger.
PAPER_METHODS = frozenset(m.id for m in METHODS.values() if m.in_papers) | {"r2ad2-3"}
_METHOD_ORDER = ("r2ad2", "ae", "gradcon", "deepsad", "devnet", "a3", "a3-2020", "a3-2020-preprint", "deepsvdd",
                 "r2ad2-1", "r2ad2-2", "r2ad2-3", "r2ad2-4")
DAGGER_NOTE = "not in the papers"
EPOCHS_NOTE = ("(k ep.): every training loop of that data set ran k epochs instead of the papers' "
               "schedule (a CPU run); not comparable with the published numbers.")
#: The snapshot ablation (R2-AD2 Table 5): method id → number of AE snapshots; `r2ad2` is 3.
ABLATION = {f"r2ad2-{k}": k for k in (1, 2, 3, 4)}

#: R2-AD2 tables' data-set order (paper_results/README.md).
PAPER_DATASETS = ("CC", "CoverType", "DarkNet", "DoH", "FMNIST", "IDS", "KDD", "MNIST", "Mammography", "URL")
#: Smaller or re-packaged copies of a paper data set: compared, but flagged "variant".
VARIANTS = {"nsl_kdd_20": "KDD", "mnist_t10k": "MNIST", "adbench_mammography": "Mammography"}
#: The A³ paper's data per our registry name (its IDS is `ids_a3`, R2-AD2's `ids` is a variant).
A3_DATASETS = {"mnist": ("MNIST", False), "mnist_t10k": ("MNIST", True), "ids_a3": ("IDS", False),
               "ids": ("IDS", True), "mnist_emnist": ("MNIST+EMNIST", False)}


def method_name(method: str) -> str:
    """Display name; `pyod:XGBOD` → `XGBOD (PyOD)`, unknown ids unchanged."""
    if method in DISPLAY_NAMES:
        return DISPLAY_NAMES[method]
    if ":" in method:
        lib, name = method.split(":", 1)
        return f"{name} ({'PyOD' if lib == 'pyod' else lib})"
    return method


def method_label(method: str) -> str:
    """Display name plus † for methods outside the papers (plots, CSV headers)."""
    return method_name(method) + ("" if method in PAPER_METHODS else "†")


def latex_method(method: str) -> str:
    text = latex_escape(method_name(method)).replace("³", r"\textsuperscript{3}")
    return text + ("" if method in PAPER_METHODS else r"\textsuperscript{\dag}")


def method_sort_key(method: str) -> tuple:
    return (_METHOD_ORDER.index(method), "") if method in _METHOD_ORDER else (len(_METHOD_ORDER), method)


def paper_dataset(dataset: str, table: str = "r2ad2") -> tuple[str | None, bool]:
    """(name in the paper's tables, is-a-variant) for our registry name; (None, False) if unmatched.

    `table` is "r2ad2" (Tables 3–5) or "a3" (Table V, which used its own IDS preprocessing).
    """
    if table == "a3":
        return A3_DATASETS.get(dataset, (None, False))
    if dataset in VARIANTS:
        return VARIANTS[dataset], True
    try:
        from alarmbench.data import registry

        return registry.get(dataset).paper_name, False
    except KeyError:  # a user data set: never in the papers
        return None, False


def papers_data(datasets) -> bool:
    """Whether any of `datasets` is one of the papers' (or a variant of one): else a report is
    about the user's own grid and is not labelled as the papers' tables and figures."""
    return any(paper_dataset(d)[0] or paper_dataset(d, "a3")[0] for d in set(datasets))


def dataset_label(dataset: str) -> str:
    """The paper's name for exact matches, our registry name otherwise."""
    name, variant = paper_dataset(dataset)
    return name if name and not variant else dataset


def dataset_sort_key(dataset: str) -> tuple:
    name, variant = paper_dataset(dataset)
    rank = PAPER_DATASETS.index(name) if name in PAPER_DATASETS else len(PAPER_DATASETS)
    return (rank, variant, dataset)


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
                  "±": r"$\pm$", "†": r"\textsuperscript{\dag}", "³": r"\textsuperscript{3}", "–": "--",
                  "Δ": r"$\Delta$", "≤": r"$\le$", "|": r"$|$", "−": "-", "×": r"$\times$"}


def latex_escape(text: str) -> str:
    return re.sub("|".join(map(re.escape, _LATEX_SPECIAL)), lambda m: _LATEX_SPECIAL[m.group()], str(text))


def fmt_num(x: float, decimals: int = 2) -> str:
    """The papers' style: two decimals, no leading zero (.98, -.03, 1.00); NaN → '–'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    s = f"{x:.{decimals}f}"
    return s.replace("0.", ".", 1) if s.lstrip("-").startswith("0.") else s


def fmt_pm(mean: float, std: float, decimals: int = 2) -> str:
    """'mean ± std'; a single seed (std NaN) prints the mean only."""
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return fmt_num(mean, decimals)
    return f"{fmt_num(mean, decimals)} ± {fmt_num(std, decimals)}"


def safe_stem(text: str) -> str:
    """A file-name stem that LaTeX's \\includegraphics accepts (no dots, spaces or colons)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text))


def fmt_pvalue(p: float) -> str:
    """'p = .012', 'p < .001' (the papers' number style)."""
    if p is None or math.isnan(p):
        return "p undefined"
    return "p < .001" if p < 0.001 else f"p = {fmt_num(p, 3)}"
