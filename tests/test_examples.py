"""The example notebooks in ``examples/`` run from top to bottom (with small sizes).

No Jupyter kernel is needed: the code cells are executed in order in one namespace, as a
kernel would, after the cell tagged ``parameters`` (the papermill convention) is replaced by
the small values below. A notebook that no longer matches the package's API fails here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

#: per notebook: the parameter cell used in the test (small, seconds instead of minutes)
SMALL_PARAMETERS = {
    "higgs_analysis.ipynb": (
        "N_TRAIN = 20_000\nN_TEMPLATES = 40_000\nLUMI = 0.05\nSEED = 3\nN_THREADS = 1\n"
    ),
}


def code_cells(path: Path) -> list[tuple[list[str], str]]:
    """(tags, source) of every code cell of a notebook file (nbformat 4 JSON)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb.get("nbformat") == 4, f"{path.name}: expected nbformat 4"
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            src = cell["source"]
            out.append((cell.get("metadata", {}).get("tags", []),
                        "".join(src) if isinstance(src, list) else src))
    return out


def run_notebook(path: Path, parameters: str) -> dict:
    """Execute the code cells of ``path`` with the ``parameters`` cell replaced."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = code_cells(path)
    tagged = [i for i, (tags, _) in enumerate(cells) if "parameters" in tags]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    namespace: dict = {"__name__": "__main__"}
    for i, (_, src) in enumerate(cells):
        code = parameters if i == tagged[0] else src
        # IPython magics and shell escapes are not Python
        code = "\n".join(line for line in code.splitlines()
                         if not line.lstrip().startswith(("%", "!")))
        exec(compile(code, f"{path.name}[cell {i}]", "exec"), namespace)
        plt.close("all")
    return namespace


def test_every_notebook_is_covered():
    found = sorted(p.name for p in EXAMPLES.glob("*.ipynb"))
    assert found, "no notebooks in examples/"
    assert found == sorted(SMALL_PARAMETERS), "add the new notebook to SMALL_PARAMETERS"


def _check_higgs(ns: dict) -> None:
    fit = ns["fit"].payload
    assert fit["converged"]
    lo, hi = fit["mu_68"]
    assert lo < fit["mu_hat"] < hi and math.isfinite(fit["z_discovery_observed"])
    assert 0.8 < ns["training"].metrics["auc"] <= 1.0


#: per notebook: what its results must look like after the small run
CHECKS = {
    "higgs_analysis.ipynb": _check_higgs,
}


@pytest.mark.parametrize("name", sorted(SMALL_PARAMETERS))
def test_notebook_runs(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # notebooks write their outputs to the working directory
    ns = run_notebook(EXAMPLES / name, SMALL_PARAMETERS[name])
    CHECKS[name](ns)
