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


def test_fast_sampling_gives_the_reference_events_and_weights(reweighted):
    """Generation's speed-ups change nothing: the coupling sampler (first pass on the distinct
    contexts) draws what ``zuko``'s own sampler draws from the same seed, and the in-place tree
    prediction gives the weights of XGBoost's DMatrix prediction."""
    import torch
    import xgboost as xgb

    from rediscovery.higgs.generate.reweight import reweight_features

    net = reweighted.net[0].inner  # whitened maf: the zuko flow inside
    ctx = torch.zeros(3000, 7)
    ctx[:, 0] = 0.3
    ctx[torch.arange(3000), 3 + torch.arange(3000) % 4] = 1.0  # the four jet classes
    with torch.inference_mode():
        torch.manual_seed(5)
        ours = net.sample(ctx)
        torch.manual_seed(5)
        ref = net.flow(ctx).sample()
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)

    nu = reweighted.nuisance_values({"tes": 1.0})
    gen = reweighted.sample(3000, seed=6, nuisances={"tes": 1.0})
    x = reweight_features(gen, nu)
    margin = reweighted.reweighter_.boosters["ztautau"].predict(xgb.DMatrix(x), output_margin=True)
    ref_w = np.exp(np.clip(margin.astype(float), -np.log(10.0), np.log(10.0)))
    np.testing.assert_allclose(
        reweighted.reweighter_.weights("ztautau", gen, nu), ref_w, rtol=1e-6, atol=0
    )


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
