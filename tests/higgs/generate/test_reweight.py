"""The classifier reweighting of generated events against fresh simulated ones: a generator
trained for a second is visibly wrong, its weighted events much less so."""

from __future__ import annotations

import numpy as np
import pytest

from rediscovery.core.errors import ModelFileError
from rediscovery.higgs.generate import FlowConfig, simulate_training_set, train_flow
from rediscovery.higgs.generate.io import load_flow, save_flow
from rediscovery.higgs.generate.validation import two_sample_auc

PROCESS = ["ztautau"]


@pytest.fixture(scope="module")
def reweighted():
    train = simulate_training_set(8_000, [{"tes": 0.98}, {"tes": 1.02}], seed=21, processes=PROCESS)
    cfg = FlowConfig(architecture="maf", transforms=2, hidden=16, epochs=2, seed=21, reweight=True)
    return train_flow(train, cfg, progress=False)


def test_weights_move_the_generator_towards_fresh_simulated_events(reweighted):
    """On events neither network nor classifier saw: the classifier two-sample AUC with the
    weights is well below the AUC without them (a perfect generator: 0.5), and each process
    still sums to its yield."""
    sim = simulate_training_set(6_000, [{"tes": 1.0}], seed=22, processes=PROCESS)
    gen = reweighted.sample(6_000, seed=23, nuisances={"tes": 1.0})
    assert gen["Weight"].sum() == pytest.approx(reweighted.yields({"tes": 1.0})["ztautau"])
    assert gen["Weight"].std() > 0
    flat = gen.assign(Weight=1.0)
    raw = two_sample_auc(sim, flat, seed=0, weight_column="Weight")
    fixed = two_sample_auc(sim, gen, seed=0, weight_column="Weight")
    info = reweighted.training_info_["reweighter"]["ztautau"]
    assert info["held_out_auc_weighted"] < info["held_out_auc"]
    assert raw["auc"] > 0.6  # two epochs of a tiny network
    assert fixed["auc"] < raw["auc"] - 0.05


def test_reweighter_round_trips_and_is_checked(reweighted, tmp_path):
    d = save_flow(reweighted, tmp_path / "rw")
    back = load_flow(d)
    a = back.sample(500, seed=4, nuisances={"tes": 1.0})
    assert a.equals(reweighted.sample(500, seed=4, nuisances={"tes": 1.0}))
    (d / "reweight_ztautau.json").write_text("{}")
    with pytest.raises(ModelFileError, match="reweighting classifier"):
        load_flow(d)


def test_weighted_two_sample_auc_of_identical_distributions_is_one_half():
    """Simulator against simulator with random weights of mean 1 on one side: 0.5 within
    its error (the weights are those of the test itself, not a shape)."""
    a = simulate_training_set(4_000, [{}], seed=31, processes=PROCESS)
    b = simulate_training_set(4_000, [{}], seed=32, processes=PROCESS)
    b["Weight"] = np.random.default_rng(0).uniform(0.5, 1.5, len(b))
    res = two_sample_auc(a, b, seed=0, weight_column="Weight")
    assert abs(res["auc"] - 0.5) < 4 * res["auc_err"] + 0.01
