"""``cosmo sn-detect`` and ``cosmo sn-photometry`` end to end on the session's small survey,
their outputs read by the light-curve stage's readers, and their one-line errors."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from rediscovery.cli import main
from rediscovery.cosmo.sn.detect import CANDIDATE_COLUMNS
from rediscovery.cosmo.sn.io import read_lightcurves, read_redshifts
from rediscovery.cosmo.sn.lightcurves import fit_lightcurves
from rediscovery.cosmo.sn.photometry.validation import detection_summary, match_candidates


@pytest.fixture(scope="module")
def chain(survey_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("chain")
    det, phot = out / "det", out / "phot"
    assert main(["cosmo", "sn-detect", str(survey_dir), "--out", str(det), "--workers", "1",
                 "--no-progress"]) == 0
    assert main(["cosmo", "sn-photometry", str(survey_dir), "--candidates",
                 str(det / "candidates.csv"), "--out", str(phot), "--workers", "1",
                 "--no-progress"]) == 0
    return det, phot


def test_sn_detect_candidates(chain, truth, truth_fluxes, check_png):
    det, _ = chain
    cands = pd.read_csv(det / "candidates.csv")
    assert list(cands.columns[:len(CANDIDATE_COLUMNS)]) == list(CANDIDATE_COLUMNS)
    assert cands["cand_id"].is_unique
    s = detection_summary(cands, truth, truth_fluxes, n_field_epochs=2 * 6)
    # 8 SNe Ia peaking at r = 21.7-22.5 (6 epochs: a few are past peak all season)
    assert s["efficiency"] >= 0.75 and s["n_false"] == 0
    m = match_candidates(cands, __import__("rediscovery.cosmo.sn.photometry.validation",
                                           fromlist=["truth_sources"]).truth_sources(truth))
    ia = m[m["kind"] == "sn_ia"]
    assert ia["sep_arcsec"].max() < 0.3  # < 1.2 px
    # the host match gives the true SN's redshift (hosts.csv z = the SN's z)
    true_z = {sn["sn_id"]: sn["z"] for sn in truth["sne"]}
    np.testing.assert_allclose(ia["z"], [true_z[i] for i in ia["source_id"]], rtol=1e-9)
    check_png(det / "cutouts.png")


def test_sn_detect_alard_lupton(survey_dir, chain, truth, truth_fluxes, tmp_path):
    """The Alard-Lupton baseline on the same survey finds the SNe Ia that ZOGY finds (its
    score has no source-noise term: star residuals may add candidates, of low real/bogus
    score)."""
    out = tmp_path / "al"
    assert main(["cosmo", "sn-detect", str(survey_dir), "--out", str(out), "--method",
                 "alard-lupton", "--workers", "1", "--no-progress", "--no-plot"]) == 0
    al = pd.read_csv(out / "candidates.csv")
    zogy = pd.read_csv(chain[0] / "candidates.csv")
    s_al = detection_summary(al, truth, truth_fluxes, n_field_epochs=2 * 6)
    s_zogy = detection_summary(zogy, truth, truth_fluxes, n_field_epochs=2 * 6)
    assert s_al["n_found"] >= s_zogy["n_found"] - 1 and s_al["efficiency"] >= 0.75
    m = match_candidates(al, __import__("rediscovery.cosmo.sn.photometry.validation",
                                        fromlist=["truth_sources"]).truth_sources(truth))
    assert (m.loc[m["kind"] == "false", "real_bogus_score"] < 0.5).all()


def test_sn_photometry_feeds_sn_lightcurves(chain, check_png):
    _, phot = chain
    lc = read_lightcurves(phot / "lightcurves.csv")
    zs = read_redshifts(phot / "redshifts.csv")
    assert set(lc["sn_id"]) == set(zs["sn_id"]) and len(zs) >= 6
    assert set(lc["band"]) == {"sdssg", "sdssr"} and (lc["zp"] == 27.5).all()
    assert (lc["zpsys"] == "ab").all() and len(lc) == 12 * len(zs)
    check_png(phot / "lightcurves.png")
    # what `cosmo sn-lightcurves` does with them (two SNe, to stay fast)
    two = sorted(zs["sn_id"])[:2]
    fits = fit_lightcurves(lc[lc["sn_id"].isin(two)], zs[zs["sn_id"].isin(two)],
                           n_workers=1, progress=False)
    assert fits["success"].all() and len(fits) == 2


def _err(capsys):
    """The error lines of stderr (log lines filtered out)."""
    return "\n".join(line for line in capsys.readouterr().err.splitlines()
                     if not line.startswith(("INFO", "WARNING")))


def test_sn_photometry_bad_candidates(survey_dir, chain, tmp_path, capsys):
    det, _ = chain
    cands = pd.read_csv(det / "candidates.csv")
    p = tmp_path / "c.csv"
    cands.head(0).to_csv(p, index=False)
    args = ["cosmo", "sn-photometry", str(survey_dir), "--candidates", str(p), "--out",
            str(tmp_path / "o"), "--no-progress", "--workers", "1"]
    assert main(args) == 2
    err = _err(capsys)
    assert "c.csv" in err and "no candidates" in err and len(err.splitlines()) == 1
    cands.drop(columns=["dec"]).to_csv(p, index=False)
    assert main(args) == 2
    err = _err(capsys)
    assert "c.csv" in err and "'dec'" in err and len(err.splitlines()) == 1
    cands.assign(ra=cands["ra"] + 1.0).to_csv(p, index=False)
    assert main(args) == 2
    err = _err(capsys)
    assert "c.csv" in err and "outside every image" in err and len(err.splitlines()) == 1


def test_sn_detect_errors(survey_dir, tmp_path, capsys):
    out = ["--out", str(tmp_path / "o"), "--no-progress", "--workers", "1"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["cosmo", "sn-detect", str(empty), *out]) == 2
    err = _err(capsys)
    assert "no images found" in err and str(empty) in err and len(err.splitlines()) == 1
    assert main(["cosmo", "sn-detect", str(survey_dir), "--method", "al", *out]) == 2
    assert "--method 'al' unknown" in _err(capsys)
    assert main(["cosmo", "sn-detect", str(survey_dir), "--psf", "psfex", *out]) == 2
    assert "--psf 'psfex' unknown" in _err(capsys)
    # an epoch without its ZP header key: one line naming the file and the key
    from astropy.io import fits

    bad = tmp_path / "bad"
    shutil.copytree(survey_dir, bad)
    img = bad / "field00" / "r" / "epoch002.fits"
    with fits.open(img, mode="update") as h:
        del h[0].header["ZP"]
    assert main(["cosmo", "sn-detect", str(bad), *out]) == 2
    err = _err(capsys)
    assert "epoch002.fits" in err and "'ZP'" in err and len(err.splitlines()) == 1
    with fits.open(img, mode="update") as h:
        h[0].header["ZP"] = 30.0
        del h[0].header["PSFBETA"]
    assert main(["cosmo", "sn-photometry", str(bad), "--candidates", str(bad / "hosts.csv"),
                 *out]) == 2
    assert "'cand_id'" in _err(capsys)  # the candidates file is checked first
    assert main(["cosmo", "sn-detect", str(bad), *out]) == 2
    err = _err(capsys)
    assert "epoch002.fits" in err and "'PSFBETA'" in err and len(err.splitlines()) == 1
