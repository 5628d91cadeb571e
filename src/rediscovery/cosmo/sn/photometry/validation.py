"""Detection and photometry against the simulator's hidden truth (``truth.json``,
``truth_fluxes.csv``).

For validation only: benchmarks, tests and ``rediscovery unblind``; no analysis stage calls
these functions. Candidates are matched to the true sources by position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MATCH_RADIUS_ARCSEC", "PULL_SNR_EDGES", "detection_summary", "match_candidates",
           "photometry_pulls", "pull_summary", "truth_sources"]

#: Candidate ↔ true source match radius (arcsec): 4 pixels of 0.26″, ≫ the candidates'
#: position errors (≤ 0.5 px) and ≪ the typical distance between transients.
MATCH_RADIUS_ARCSEC = 1.0
#: S/N bins of the pull summary (true flux / fluxerr).
PULL_SNR_EDGES = (-np.inf, 3.0, 10.0, 30.0, 100.0, 300.0, np.inf)


def truth_sources(truth: Mapping[str, Any]) -> pd.DataFrame:
    """Every true transient or variable source of ``truth.json`` with a sky position:
    ``source_id, kind`` (``sn_ia``, ``variable_star``, ``gaussian_transient``,
    ``power_law_decline``), ``field, ra, dec``. Hot pixels (fixed on the CCD) are not
    sources: a candidate on one counts as false."""
    rows = [{"source_id": sn["sn_id"], "kind": "sn_ia", "field": sn["field"], "ra": sn["ra"],
             "dec": sn["dec"]} for sn in truth.get("sne", [])]
    for i, imp in enumerate(truth.get("impostors", [])):
        if "ra" in imp and "dec" in imp:
            rows.append({"source_id": f"impostor{i:03d}", "kind": imp.get("kind", "other"),
                         "field": imp.get("field", ""), "ra": imp["ra"], "dec": imp["dec"]})
    return pd.DataFrame(rows, columns=["source_id", "kind", "field", "ra", "dec"])


def match_candidates(candidates: pd.DataFrame, sources: pd.DataFrame, *,
                     radius_arcsec: float = MATCH_RADIUS_ARCSEC) -> pd.DataFrame:
    """``candidates`` plus ``source_id``, ``kind`` (of the nearest true source within
    ``radius_arcsec``; empty / ``"false"`` when none) and ``sep_arcsec``."""
    from rediscovery.cosmo.sn.survey import match_hosts_sky

    src = sources.rename(columns={"source_id": "host_id"}).assign(z=np.arange(len(sources)))
    m = match_hosts_sky(candidates["ra"], candidates["dec"], src, radius_arcsec)
    out = candidates.copy()
    ok = m["host_id"].to_numpy() != "-1"
    idx = np.nan_to_num(m["z"].to_numpy(), nan=0).astype(int)
    out["source_id"] = np.where(ok, m["host_id"].to_numpy(), "")
    out["kind"] = np.where(ok, sources["kind"].to_numpy()[idx] if len(sources) else "", "false")
    out["sep_arcsec"] = m["host_sep_arcsec"].to_numpy()
    return out


def detection_summary(candidates: pd.DataFrame, truth: Mapping[str, Any],
                      truth_fluxes: pd.DataFrame, n_field_epochs: int, *,
                      radius_arcsec: float = MATCH_RADIUS_ARCSEC,
                      mag_edges: Sequence[float] = (20.0, 22.0, 23.0, 24.0, 25.0, 30.0)
                      ) -> dict[str, Any]:
    """Efficiency and purity of a candidate list.

    Parameters
    ----------
    n_field_epochs
        Number of epoch images searched (fields × bands × epochs): the false-candidate rate is
        per epoch image.
    mag_edges
        Bins of the SN's peak magnitude (brightest epoch of any band, AB) for the efficiency.

    Returns
    -------
    dict
        ``n_sne, n_found, efficiency`` (fraction of true SNe Ia with a candidate),
        ``efficiency_vs_peak_mag`` (list of ``{lo, hi, n, found, efficiency}``),
        ``n_candidates, n_sn_ia, n_impostor`` (candidates on a non-Ia transient or variable
        star), ``n_false`` (on no true source), ``false_per_field_epoch``, ``purity_ia``
        (fraction of candidates on an SN Ia).
    """
    sources = truth_sources(truth)
    m = match_candidates(candidates, sources, radius_arcsec=radius_arcsec)
    sne = sources[sources["kind"] == "sn_ia"]
    found = set(m.loc[m["kind"] == "sn_ia", "source_id"])
    peak = truth_fluxes.groupby("sn_id")["flux"].max()
    zp = truth_fluxes.groupby("sn_id")["zp"].first()
    with np.errstate(divide="ignore", invalid="ignore"):
        peak_mag = (zp - 2.5 * np.log10(peak.clip(lower=1e-30))).reindex(sne["source_id"])
    bins = []
    for lo, hi in pairwise(mag_edges):
        ids = peak_mag.index[(peak_mag >= lo) & (peak_mag < hi)]
        k = sum(i in found for i in ids)
        bins.append({"lo": lo, "hi": hi, "n": len(ids), "found": k,
                     "efficiency": k / len(ids) if len(ids) else float("nan")})
    n_false = int((m["kind"] == "false").sum())
    n_ia = int((m["kind"] == "sn_ia").sum())
    return {
        "n_sne": len(sne), "n_found": len(found),
        "efficiency": len(found) / len(sne) if len(sne) else float("nan"),
        "efficiency_vs_peak_mag": bins,
        "n_candidates": len(m), "n_sn_ia": n_ia,
        "n_impostor": int(len(m) - n_ia - n_false), "n_false": n_false,
        "false_per_field_epoch": n_false / n_field_epochs if n_field_epochs else float("nan"),
        "purity_ia": n_ia / len(m) if len(m) else float("nan"),
    }


def photometry_pulls(lightcurves: pd.DataFrame, truth_fluxes: pd.DataFrame,
                     cand_to_sn: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Forced-photometry points joined with the true fluxes.

    ``lightcurves``: sn_id, time, band, flux, fluxerr, zp (other columns kept); ``cand_to_sn``
    maps candidate ids to the true ``sn_id`` (identity when None); points of candidates on no
    SN are dropped. Times are matched to 10⁻⁵ d. Returns the points with ``true_sn_id``,
    ``true_flux`` (at the row's zp), ``pull = (flux − true_flux) / fluxerr``, ``snr =
    true_flux / fluxerr`` and ``ratio = flux / true_flux``.
    """
    lc = lightcurves.copy()
    ids = lc["sn_id"].astype(str)
    lc["true_sn_id"] = ids if cand_to_sn is None else ids.map(dict(cand_to_sn))
    lc = lc[lc["true_sn_id"].notna()]
    tf = truth_fluxes.assign(key_t=np.round(truth_fluxes["time"].to_numpy(float), 5))
    lc = lc.assign(key_t=np.round(lc["time"].to_numpy(float), 5))
    j = lc.merge(tf[["sn_id", "band", "key_t", "flux", "zp"]].rename(
        columns={"sn_id": "true_sn_id", "flux": "true_flux", "zp": "true_zp"}),
        on=["true_sn_id", "band", "key_t"], how="inner")
    j["true_flux"] = j["true_flux"] * 10.0 ** (0.4 * (j["zp"] - j["true_zp"]))
    j["pull"] = (j["flux"] - j["true_flux"]) / j["fluxerr"]
    j["snr"] = j["true_flux"] / j["fluxerr"]
    with np.errstate(divide="ignore", invalid="ignore"):
        j["ratio"] = j["flux"] / j["true_flux"]
    return j.drop(columns=["key_t", "true_zp"])


def pull_summary(pulls: pd.DataFrame, edges: Sequence[float] = PULL_SNR_EDGES) -> pd.DataFrame:
    """Per S/N bin (and all): ``n``, pull ``mean`` ± ``mean_err``, ``width`` (std) ±
    ``width_err`` (Gaussian: σ/√(2(n−1))), ``median_ratio`` (flux / true flux)."""
    rows = []
    groups = [(f"{lo:g}-{hi:g}", (pulls["snr"] >= lo) & (pulls["snr"] < hi))
              for lo, hi in pairwise(edges)]
    groups.append(("all", np.ones(len(pulls), bool)))
    for name, sel in groups:
        p = pulls.loc[sel, "pull"].to_numpy(float)
        n = p.size
        w = float(np.std(p, ddof=1)) if n > 1 else float("nan")
        rows.append({"snr_bin": name, "n": n, "mean": float(np.mean(p)) if n else float("nan"),
                     "mean_err": w / np.sqrt(n) if n > 1 else float("nan"), "width": w,
                     "width_err": w / np.sqrt(2 * (n - 1)) if n > 1 else float("nan"),
                     "median_ratio": float(np.median(pulls.loc[sel, "ratio"]))
                     if n else float("nan")})
    return pd.DataFrame(rows)
