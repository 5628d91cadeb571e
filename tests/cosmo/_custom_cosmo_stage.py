"""A team's replacement 'joint' stage, used by tests/cosmo/test_pipeline.py (same signature)."""

from __future__ import annotations

import json


def fixed_joint(inputs, out, config):
    """Write a joint_posterior.json with fixed numbers (the posterior contract only)."""
    row = {"mean": 0.3, "std": 0.05, "lo68": 0.25, "hi68": 0.35}
    (out / "joint_posterior.json").write_text(json.dumps(
        {"Om": row, "OL": {**row, "mean": 0.7, "lo68": 0.65, "hi68": 0.75},
         "H0": {**row, "mean": 70.0, "std": 1.0, "lo68": 69.0, "hi68": 71.0},
         "converged": True, "team": "fixed"}))
    return {"team": "fixed"}
