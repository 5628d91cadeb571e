"""Readers, writers and splitting of the events table (rediscovery.higgs.events.io)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rediscovery.core.errors import InputError
from rediscovery.higgs.events.io import read_events, split_events, write_events
from rediscovery.higgs.schema import DER_COLUMNS, PRI_COLUMNS

# HiggsML 2014 full training set weight sums (shared/data/README.md, CERN Open Data record 328)
FULL_SIGNAL_WEIGHT = 691.989
FULL_BACKGROUND_WEIGHT = 410_999.847


@pytest.fixture(scope="module")
def real_sig(reference_data):
    return read_events(reference_data / "higgsml" / "train_sml_sig.csv")


@pytest.fixture(scope="module")
def real_bg(reference_data):
    return read_events(reference_data / "higgsml" / "train_sml_bg.csv")


def _toy_events(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({c: rng.uniform(20, 100, n) for c in PRI_COLUMNS})
    for c in PRI_COLUMNS:
        if c.endswith("_phi"):
            df[c] = rng.uniform(-np.pi, np.pi, n)
        if c.endswith("_eta"):
            df[c] = rng.uniform(-2.5, 2.5, n)
    df["PRI_jet_num"] = rng.integers(0, 4, n)
    lead = ["PRI_jet_leading_pt", "PRI_jet_leading_eta", "PRI_jet_leading_phi"]
    sub = ["PRI_jet_subleading_pt", "PRI_jet_subleading_eta", "PRI_jet_subleading_phi"]
    df.loc[df["PRI_jet_num"] == 0, lead] = np.nan
    df.loc[df["PRI_jet_num"] <= 1, sub] = np.nan
    df.insert(0, "EventId", np.arange(n) + 100000)
    df["Weight"] = rng.uniform(0.5, 2.0, n)
    df["Label"] = (np.arange(n) % 3 == 0).astype(np.int8)
    df["Process"] = np.where(df["Label"] == 1, "htautau", "ztautau")
    return df


def test_real_sample_loads(real_sig, real_bg):
    # CERN Open Data layout with CRLF line endings: 4,999 events per class
    assert len(real_sig) == 4999 and len(real_bg) == 4999
    assert (real_sig["Label"] == 1).all() and (real_bg["Label"] == 0).all()
    assert real_sig["Label"].dtype == np.int8
    assert real_sig["EventId"].dtype == np.int64
    for col in (*PRI_COLUMNS, *DER_COLUMNS):
        assert real_sig[col].dtype.kind in "fi", col
    # sentinel converted: no -999 left, NaN exactly where jets are missing
    assert not (real_bg[list(PRI_COLUMNS)] == -999.0).any().any()
    nojet = real_bg["PRI_jet_num"] == 0
    assert real_bg.loc[nojet, "PRI_jet_leading_pt"].isna().all()
    assert real_bg.loc[~nojet, "PRI_jet_leading_pt"].notna().all()
    assert real_bg.loc[real_bg["PRI_jet_num"] <= 1, "DER_mass_jet_jet"].isna().all()
    # extra columns of the CERN Open Data format are kept
    assert {"KaggleSet", "KaggleWeight"} <= set(real_sig.columns)
    # last column is clean despite CRLF endings
    assert set(real_sig["KaggleSet"].unique()) <= {"t", "b", "v", "u"}


def test_real_sample_weights_are_full_set_weights(real_sig, real_bg):
    # each signal event weight is a full-set weight of order 1e-3; mean weight x N_total ~ total
    assert 1e-4 < real_sig["Weight"].mean() < 1e-2
    assert real_bg["Weight"].min() > 0


def test_csv_roundtrip_and_kaggle_labels(tmp_path):
    df = _toy_events()
    path = write_events(df, tmp_path / "ev.csv")
    text = path.read_text()
    assert "-999" in text
    assert (",s," in text) or (",s\n" in text)
    back = read_events(path)
    np.testing.assert_allclose(back["PRI_tau_pt"], df["PRI_tau_pt"], rtol=1e-5)
    assert back["PRI_jet_leading_pt"].isna().sum() == df["PRI_jet_leading_pt"].isna().sum()
    assert (back["Label"].to_numpy() == df["Label"].to_numpy()).all()


def test_parquet_roundtrip_is_exact(tmp_path):
    df = _toy_events()
    back = read_events(write_events(df, tmp_path / "ev.parquet"))
    pd.testing.assert_frame_equal(back, df, check_dtype=False)


def test_compact_parquet_is_lossless_and_smaller(tmp_path):
    import pyarrow.parquet as pq

    df = _toy_events(2000)
    exact32 = ["PRI_tau_pt", "PRI_met"]  # values a float32 holds exactly, as the simulator's
    df[exact32] = df[exact32].astype(np.float32).astype(np.float64)
    plain = write_events(df, tmp_path / "plain.parquet")
    compact = write_events(df, tmp_path / "compact.parquet", compact=True)
    pd.testing.assert_frame_equal(read_events(compact), read_events(plain))
    assert compact.stat().st_size < 0.8 * plain.stat().st_size
    schema = pq.read_schema(compact)
    assert {str(schema.field(c).type) for c in exact32} == {"float"}
    assert str(schema.field("PRI_tau_eta").type) == "double"  # not exact in float32: kept
    assert str(schema.field("Weight").type) == "double"


def test_crlf_csv(tmp_path):
    df = _toy_events(10)
    p = write_events(df, tmp_path / "a.csv")
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(p.read_bytes().replace(b"\n", b"\r\n"))
    back = read_events(crlf)
    assert len(back) == 10 and back["Label"].dtype == np.int8


def test_fair_universe_naming(tmp_path):
    df = _toy_events(20).drop(columns=["PRI_met_sumet", "EventId"])
    df = df.rename(columns={
        "PRI_tau_pt": "PRI_had_pt", "PRI_tau_eta": "PRI_had_eta", "PRI_tau_phi": "PRI_had_phi",
        "PRI_jet_num": "PRI_n_jets", "Label": "labels", "Weight": "weights",
        "Process": "detailed_labels",
    })
    df.to_parquet(tmp_path / "fu.parquet")
    back = read_events(tmp_path / "fu.parquet")
    assert {"PRI_tau_pt", "PRI_jet_num", "Weight", "Label", "Process"} <= set(back.columns)
    assert back["PRI_met_sumet"].isna().all()
    assert (back["EventId"] == np.arange(20)).all()


def test_test_csv_without_labels(tmp_path):
    df = _toy_events(5).drop(columns=["Label", "Weight", "Process"])
    write_events(df, tmp_path / "test.csv")
    back = read_events(tmp_path / "test.csv")
    assert "Label" not in back.columns and len(back) == 5


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.drop(columns=["PRI_met"]), "PRI_met"),
        (lambda d: d.assign(PRI_tau_pt=["x", *list(d["PRI_tau_pt"][1:])]), "PRI_tau_pt.*'x'"),
        (lambda d: d.assign(Label=["q"] * len(d)), "Label.*unknown label"),
        (lambda d: d.assign(PRI_jet_num=1.5), "PRI_jet_num"),
        (lambda d: d.assign(Weight=np.nan), "Weight.*finite"),
    ],
)
def test_bad_input_names_file_and_column(tmp_path, mutate, match):
    p = tmp_path / "bad.csv"
    mutate(_toy_events(6)).to_csv(p, index=False)
    with pytest.raises(InputError, match=match) as err:
        read_events(p)
    assert str(p) in str(err.value)


def test_empty_and_non_table_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        read_events(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(PRI_COLUMNS) + "\n")
    with pytest.raises(InputError, match="no events"):
        read_events(header_only)
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"\x00\x01 not parquet at all")
    with pytest.raises(InputError, match="Parquet"):
        read_events(junk)
    with pytest.raises(InputError, match="does not exist"):
        read_events(tmp_path / "nope.csv")


def test_split_renormalises_weights_per_class():
    df = _toy_events(3000, seed=3)
    out = split_events(df, seed=7)
    assert list(out["Set"].cat.categories) == ["train", "valid", "test"]
    counts = out["Set"].value_counts()
    assert counts.min() >= 999 and counts.max() <= 1001
    for lab in (0, 1):
        total = df.loc[df.Label == lab, "Weight"].sum()
        for name in ("train", "valid", "test"):
            part = out.loc[(out.Label == lab) & (out.Set == name), "Weight"].sum()
            assert part == pytest.approx(total, rel=1e-12)
    # deterministic, input untouched
    again = split_events(df, seed=7)
    assert (again["Set"] == out["Set"]).all()
    assert "Set" not in df.columns


def test_split_rejects_bad_fractions():
    with pytest.raises(InputError, match="fractions"):
        split_events(_toy_events(), (0.5, 0.6, -0.1), seed=1)
