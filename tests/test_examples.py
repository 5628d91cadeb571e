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
    "cosmology_dark_energy.ipynb": (
        "SEED = 3\nN_SNE = 150\nMU_ERR = 0.15\nSN_WALKERS = 16\nSN_STEPS = 1000\n"
        "CMB_WALKERS = 16\nCMB_STEPS = 1000\nFIT_PLANCK = True\nPROGRESS = False\n"
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


def _within(samples, truth: float, n_sigma: float = 4.0) -> bool:
    return abs(float(samples.mean()) - truth) < n_sigma * float(samples.std())


def _check_cosmology(ns: dict) -> None:
    # simulation truth: posterior means within 4σ of the hidden universes (flat truth, so the
    # flat-ΛCDM fit is the right model), finite split-R̂ for every chain
    truth = ns["truth"]
    flat, curved = ns["flat_fit"], ns["curved_fit"]
    for res in (flat.mcmc, curved.mcmc, ns["cmb_fit"].result):
        assert all(math.isfinite(r) for r in res.rhat)
    assert _within(flat.mcmc.get("Om"), truth.Om)
    assert _within(flat.h0_samples, truth.H0)
    assert _within(curved.mcmc.get("Om"), truth.Om) and _within(curved.mcmc.get("OL"), truth.OL)
    assert 0.0 <= curved.p_lambda_positive <= 1.0 and curved.delta_chi2_no_de >= 0.0
    for name, value in ns["cmb_truth"].items():
        assert _within(ns["cmb_fit"].result.get(name), value)
    assert set(ns["sn_pulls"]) and all(math.isfinite(p) for p in ns["cmb_pulls"].values())
    planck = ns["planck_fit"]
    if planck is not None:  # reference data present: Planck 2018 VI, H0 = 67.36 ± 0.54
        assert abs(float(planck.result.get("H0").mean()) - 67.36) < 3.0


#: per notebook: what its results must look like after the small run
CHECKS = {
    "cosmology_dark_energy.ipynb": _check_cosmology,
    "higgs_analysis.ipynb": _check_higgs,
}


@pytest.mark.parametrize("name", sorted(SMALL_PARAMETERS))
def test_notebook_runs(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # notebooks write their outputs to the working directory
    ns = run_notebook(EXAMPLES / name, SMALL_PARAMETERS[name])
    CHECKS[name](ns)
