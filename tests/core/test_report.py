"""The self-contained HTML report (rediscovery.core.report)."""

from __future__ import annotations

import base64
import json

from rediscovery.core.plotting import savefig
from rediscovery.core.report import write_report
from rediscovery.core.runs import Run


def test_report_embeds_results_and_figures(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = Run.create(tmp_path / "run", config={"seed": 1}, seed=1)
    with run.stage("fit", config={}) as st:
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        ax.set_xlabel("μ")
        savefig(fig, st.dir / "scan.png")
        st.results["mu_hat"] = 1.02
    (run.path / "results.json").write_text(json.dumps({"mu_hat": 1.02, "mu_68": [0.8, 1.3]}))
    out = write_report(run.path)
    text = out.read_text()
    png = (run.path / "fit" / "scan.png").read_bytes()
    assert base64.b64encode(png).decode() in text
    assert "mu_hat" in text and "1.02" in text and "Stage: fit" in text
