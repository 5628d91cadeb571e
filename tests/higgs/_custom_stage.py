"""A team's replacement 'fit' stage, used by test_pipeline (same signature as the built-in)."""

from __future__ import annotations

import json


def counting_fit(inputs, out, config):
    """Write a fit.json with the counting-experiment answer only."""
    (out / "fit.json").write_text(json.dumps({"mu_hat": 1.0, "mu_68": [0.5, 1.5],
                                              "converged": True, "team": "counting"}))
    return {"team": "counting"}


def features_plus(inputs, out, config):
    """The built-in features stage plus one NEW_ column (the recipe of docs/architecture.md)."""
    from rediscovery.higgs.events.io import write_events
    from rediscovery.higgs.pipeline import read_with_features, stage_features

    summary = stage_features(inputs, out, config)
    for name in inputs:
        df = read_with_features(inputs[name], out / f"{name}.parquet")
        df["NEW_my_feature"] = df["PRI_tau_pt"] / df["PRI_lep_pt"]
        derived = [c for c in df.columns if c.startswith(("DER_", "NEW_"))]
        write_events(df[["EventId", *derived]], out / f"{name}.parquet", compact=True)
    return summary
