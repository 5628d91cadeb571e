"""A tiny Higgs run directory with a trained classifier, shared by the models tests."""

from __future__ import annotations

from pathlib import Path

import pytest

#: a few features, one of them NaN for events without jets
FEATURES = ["PRI_tau_pt", "PRI_lep_pt", "PRI_met", "PRI_jet_leading_pt", "DER_mass_vis"]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """``RUN/`` with ``manifest.json``, ``simulate/mc.parquet``, ``features/mc.parquet`` and
    ``train/{model/, metrics.json}``: the layout of ``rediscovery higgs run``, made with the
    same library calls (:class:`~rediscovery.core.runs.Run`, the simulator, the features, the
    classifier workflow) on 3000 events and a 20-tree XGBoost."""
    from rediscovery.core.files import write_json
    from rediscovery.core.runs import Run
    from rediscovery.higgs.classifiers import train_classifier
    from rediscovery.higgs.events import simulate_events, write_events
    from rediscovery.higgs.features import add_derived_features
    from rediscovery.higgs.pipeline import read_with_features

    root = tmp_path_factory.mktemp("run") / "tiny"
    run = Run.create(root, config={"higgs": {"seed": 5}}, seed=5)
    mc = simulate_events(3000, seed=5)
    raw, feat = root / "simulate" / "mc.parquet", root / "features" / "mc.parquet"
    write_events(mc, raw)
    der = add_derived_features(mc, mmc=False)
    write_events(der[["EventId", "DER_mass_vis"]], feat)
    cfg = {"config": {"seed": 5, "model": "xgboost", "features": ",".join(FEATURES)}}
    with run.stage("train", inputs=[raw, feat], config=cfg) as ctx:
        res = train_classifier(
            read_with_features(raw, feat),
            "xgboost",
            features=FEATURES,
            params={"n_estimators": 20, "max_depth": 3},
            seed=5,
            n_bootstrap=5,
        )
        res.model.save(ctx.dir / "model")
        write_json(ctx.dir / "metrics.json", res.metrics)
        ctx.results = {"auc": res.metrics["auc"]}
    return root
