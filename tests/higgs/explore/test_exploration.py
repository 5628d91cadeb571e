"""The exploration against independent references: numpy SVD for the PCA, scikit-learn for the
silhouette, the truth of well-separated synthetic blobs for the clusterings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.explore import (
    ExploreConfig,
    explore_events,
    feature_matrix,
    purity_table,
    select_features,
    silhouette,
)

FAST = {"tsne": False, "umap": False}


def _blobs(n_per: int = 150, seed: int = 0) -> pd.DataFrame:
    """Three Gaussian blobs 12σ apart in 4 features, one process per blob (the truth)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0, 0], [12, 0, 0, 0], [0, 12, 0, 0]], dtype=float)
    x = np.concatenate([c + rng.normal(size=(n_per, 4)) for c in centres])
    df = pd.DataFrame(x, columns=["PRI_a", "PRI_b", "DER_c", "NEW_d"])
    df["PRI_x_phi"] = rng.uniform(-np.pi, np.pi, len(df))  # left out by default
    df["Process"] = np.repeat(["ztautau", "ttbar", "htautau"], n_per)
    df["EventId"] = np.arange(len(df))
    return df


def test_standardised_features_have_zero_mean_unit_variance_and_nan_at_the_mean():
    df = _blobs()
    df.loc[:9, "DER_c"] = np.nan  # undefined in 10 events
    fm = feature_matrix(df, log_transform=False)
    assert fm.features == ["PRI_a", "PRI_b", "DER_c", "NEW_d"]  # no *_phi
    defined = ~df["DER_c"].isna().to_numpy()
    z = fm.x[:, 2]
    np.testing.assert_allclose(z[defined].mean(), 0, atol=1e-12)
    np.testing.assert_allclose(z[defined].std(), 1, rtol=1e-12)
    assert np.all(z[~defined] == 0)
    assert fm.nan_fraction["DER_c"] == pytest.approx(10 / len(df))


def test_long_tailed_non_negative_features_are_log_transformed():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"PRI_pt": rng.exponential(30, 2000) ** 2, "PRI_eta": rng.normal(0, 1, 2000)})
    fm = feature_matrix(df)
    assert fm.log_features == ["PRI_pt"]
    v = np.log1p(df["PRI_pt"].to_numpy())
    np.testing.assert_allclose(fm.x[:, 0], (v - v.mean()) / v.std())


def test_constant_and_undefined_features_are_dropped_with_a_reason():
    df = _blobs()
    df["PRI_const"] = 3.0
    df["PRI_never"] = np.nan
    fm = feature_matrix(df)
    assert fm.dropped == {"PRI_const": "constant", "PRI_never": "never defined"}


def test_pca_matches_numpy_svd_of_the_standardised_features():
    df = _blobs(seed=3)
    res = explore_events(df, ExploreConfig(n_sample=100, **FAST), progress=False)
    z = feature_matrix(df).x
    zc = z - z.mean(axis=0)
    _, sv, vt = np.linalg.svd(zc, full_matrices=False)
    np.testing.assert_allclose(res.explained_variance_ratio, sv**2 / np.sum(sv**2), rtol=1e-10)
    # components are defined up to a sign
    load = res.loadings.to_numpy()
    np.testing.assert_allclose(np.abs(np.sum(load * vt, axis=1)), 1.0, rtol=1e-9)
    assert list(res.loadings.columns) == ["PRI_a", "PRI_b", "DER_c", "NEW_d"]


@pytest.mark.parametrize("ignore", [None, -1])
def test_silhouette_matches_scikit_learn(ignore):
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 3))
    lab = rng.integers(-1, 4, 300)
    lab[0] = 3
    lab[1] = 7  # a singleton cluster: s = 0 for its point
    keep = lab != -1 if ignore == -1 else np.ones(300, bool)
    ref = silhouette_score(x[keep], lab[keep])
    assert silhouette(x, lab, ignore=ignore, chunk=64) == pytest.approx(ref, rel=1e-10)


def test_silhouette_of_one_cluster_is_nan():
    assert np.isnan(silhouette(np.zeros((5, 2)), np.zeros(5, int)))


def test_purity_table_fractions_sum_to_one_and_sizes_to_the_events():
    clusters = np.array([0, 0, 0, 1, 1, -1])
    classes = np.array(["a", "a", "b", "b", "b", "a"])
    t = purity_table(clusters, classes, clustering="km")
    assert list(t["cluster"]) == [-1, 0, 1]
    assert t["n_events"].sum() == len(clusters)
    np.testing.assert_allclose(t[["a", "b"]].sum(axis=1), 1.0)
    np.testing.assert_allclose(t["a"], [1.0, 2 / 3, 0.0])
    assert list(t["majority"]) == ["a", "a", "b"]
    np.testing.assert_allclose(t["purity"], [1.0, 2 / 3, 1.0])
    no_class = purity_table(clusters, None)
    assert list(no_class.columns) == ["clustering", "cluster", "n_events"]


def test_clusters_recover_well_separated_blobs():
    df = _blobs(seed=5)
    res = explore_events(df, ExploreConfig(n_sample=300, seed=1, **FAST), progress=False)
    s = res.summary["clusters"]
    assert res.summary["settings"]["n_clusters_used"] == 3  # one per process
    assert s["kmeans"]["adjusted_rand_index"] == pytest.approx(1.0)
    assert s["hdbscan"]["n_clusters"] == 3
    assert s["hdbscan"]["adjusted_rand_index"] > 0.9  # a few points may be noise
    # k-means found the truth: its silhouette is scikit-learn's of the true partition
    from sklearn.metrics import silhouette_score

    ids = res.sample["EventId"].to_numpy()  # EventId = row number here
    ref = silhouette_score(feature_matrix(df).x[ids], df["Process"].to_numpy()[ids])
    assert s["kmeans"]["silhouette"] == pytest.approx(ref, rel=1e-9)
    km = res.purity[res.purity["clustering"] == "kmeans"]
    np.testing.assert_allclose(km["purity"], 1.0)
    assert km["n_events"].sum() == 300
    assert sorted(km["majority"]) == ["htautau", "ttbar", "ztautau"]


def test_exploration_is_seeded_and_keeps_event_ids():
    df = _blobs(seed=6)
    cfg = ExploreConfig(n_sample=60, seed=9, tsne=True, umap=False, perplexity=10)
    a = explore_events(df, cfg, progress=False)
    b = explore_events(df, cfg, progress=False)
    pd.testing.assert_frame_equal(a.sample, b.sample)
    assert len(a.sample) == 60 and a.sample["EventId"].is_unique
    assert set(a.sample["EventId"]) <= set(df["EventId"])
    assert {"tsne_1", "tsne_2", "pca_1", "kmeans", "hdbscan", "class"} <= set(a.sample.columns)


def test_umap_embedding_separates_the_blobs():
    df = _blobs(n_per=60, seed=7)
    res = explore_events(df, ExploreConfig(n_sample=180, tsne=False), progress=False)
    s = res.sample
    centres = s.groupby("class")[["umap_1", "umap_2"]].mean().to_numpy()
    spread = s.groupby("class")[["umap_1", "umap_2"]].std().to_numpy().max()
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1)[np.triu_indices(3, 1)]
    assert gaps.min() > 3 * spread


def test_labels_without_process_give_signal_and_background():
    df = _blobs().drop(columns="Process")
    df["Label"] = (np.arange(len(df)) % 2).astype(np.int8)
    res = explore_events(df, ExploreConfig(n_sample=50, **FAST), progress=False)
    assert set(res.sample["class"]) == {"signal", "background"}
    assert res.summary["settings"]["n_clusters_used"] == 2


def test_pseudo_data_without_classes_has_sizes_only():
    df = _blobs().drop(columns="Process")
    res = explore_events(df, ExploreConfig(n_sample=50, **FAST), progress=False)
    assert "class" not in res.sample.columns
    assert list(res.purity.columns) == ["clustering", "cluster", "n_events"]
    assert res.summary["settings"]["n_clusters_used"] == 5
    assert "adjusted_rand_index" not in res.summary["clusters"]["kmeans"]


def test_bad_input_is_refused_with_the_reason():
    df = _blobs()
    with pytest.raises(InputError, match="no numeric feature columns"):
        select_features(df[["Process", "EventId"]])
    with pytest.raises(InputError, match=r"'PRI_nope'.*not in the events table"):
        select_features(df, ["PRI_nope"])
    with pytest.raises(InputError, match=r"'Process'.*not numeric"):
        select_features(df, ["Process"])
    with pytest.raises(InputError, match="expected at least 10"):
        explore_events(df.iloc[:5], ExploreConfig(**FAST), progress=False)
    inf = df.copy()
    inf.loc[3, "PRI_a"] = np.inf
    with pytest.raises(InputError, match=r"'PRI_a'.*infinite"):
        feature_matrix(inf)
    with pytest.raises(InputError, match="no usable feature"):
        feature_matrix(df.assign(PRI_a=1.0), ["PRI_a"])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"n_sample": 9}, "n_sample 9: expected at least 10"),
        ({"n_clusters": 1}, "n_clusters 1"),
        ({"min_cluster_size": 1}, "min_cluster_size 1"),
        ({"perplexity": 0.0}, "perplexity"),
        ({"n_neighbors": 1}, "n_neighbors"),
        ({"min_dist": 2.0}, "min_dist"),
    ],
)
def test_bad_settings_are_refused(kw, match):
    with pytest.raises(ConfigError, match=match):
        ExploreConfig(**kw)


def test_real_higgsml_sample_with_official_der_features(reference_data):
    from rediscovery.higgs.events.io import read_events

    folder = reference_data / "higgsml"
    df = pd.concat(
        [read_events(folder / "train_sml_sig.csv"), read_events(folder / "train_sml_bg.csv")],
        ignore_index=True,
    )
    res = explore_events(df, ExploreConfig(n_sample=1000, **FAST), progress=False)
    s = res.summary
    assert len(s["features"]) == 25  # 12 PRI_ without the 5 azimuths + 13 DER_
    assert "DER_mass_MMC" in s["log_features"] and not s["dropped_features"]
    assert s["classes"] == {
        "background": int((res.sample["class"] == "background").sum()),
        "signal": int((res.sample["class"] == "signal").sum()),
    }
    assert s["settings"]["n_clusters_used"] == 2
    np.testing.assert_allclose(res.purity[["background", "signal"]].sum(axis=1), 1.0)
    assert s["undefined_fraction"]["PRI_jet_leading_pt"] == pytest.approx(
        df["PRI_jet_leading_pt"].isna().mean(), abs=1e-12
    )


def test_a_clustering_without_two_clusters_has_a_null_silhouette():
    df = _blobs(n_per=20, seed=8)
    # HDBSCAN cannot form a cluster of 100 out of 60 events: all noise
    res = explore_events(
        df, ExploreConfig(n_sample=60, min_cluster_size=100, **FAST), progress=False
    )
    h = res.summary["clusters"]["hdbscan"]
    assert h["n_clusters"] == 0 and h["noise_fraction"] == 1.0 and h["silhouette"] is None
