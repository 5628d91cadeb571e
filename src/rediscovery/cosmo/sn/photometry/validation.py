"""Detection and photometry against the simulator's hidden truth (``truth.json``,
``truth_fluxes.csv``).

For validation only: benchmarks, tests and ``rediscovery unblind``; no analysis stage calls
these functions. Candidates are matched to the true sources by position.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MATCH_RADIUS_ARCSEC", "PULL_SNR_EDGES", "detection_summary", "match_candidates",
           "photometry_pulls", "pull_summary", "run_summary", "summary_rows", "truth_sources"]

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
                      mag_edges: Sequence[float] = (20.0, 22.0, 23.0, 24.0, 25.0, 30.0),
                      z_edges: Sequence[float] = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 2.0)
                      ) -> dict[str, Any]:
    """Efficiency and purity of a candidate list.

    Parameters
    ----------
    n_field_epochs
        Number of epoch images searched (fields × bands × epochs): the false-candidate rate is
        per epoch image.
    mag_edges
        Bins of the SN's peak magnitude (brightest epoch of any band, AB) for the efficiency.
    z_edges
        Bins of the SN's redshift (``truth.json``'s ``z``) for the efficiency.

    Returns
    -------
    dict
        ``n_sne, n_found, efficiency`` (fraction of true SNe Ia with a candidate),
        ``efficiency_vs_peak_mag`` and ``efficiency_vs_z`` (lists of ``{lo, hi, n, found,
        efficiency}``),
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
    z = pd.Series({sn["sn_id"]: float(sn["z"]) for sn in truth.get("sne", [])},
                  dtype=float).reindex(sne["source_id"])

    def binned(values: pd.Series, edges: Sequence[float]) -> list[dict[str, Any]]:
        out = []
        for lo, hi in pairwise(edges):
            ids = values.index[(values >= lo) & (values < hi)]
            k = sum(i in found for i in ids)
            out.append({"lo": lo, "hi": hi, "n": len(ids), "found": k,
                        "efficiency": k / len(ids) if len(ids) else float("nan")})
        return out

    n_false = int((m["kind"] == "false").sum())
    n_ia = int((m["kind"] == "sn_ia").sum())
    return {
        "n_sne": len(sne), "n_found": len(found),
        "efficiency": len(found) / len(sne) if len(sne) else float("nan"),
        "efficiency_vs_peak_mag": binned(peak_mag, mag_edges),
        "efficiency_vs_z": binned(z, z_edges),
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


def run_summary(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Detection and photometry of a ``cosmo run --from images`` directory against its hidden
    truth: :func:`detection_summary` of ``detect/candidates.csv`` against
    ``images/truth.json`` and ``images/truth_fluxes.csv`` (the epoch images counted from
    ``images/survey.json``), plus ``photometry`` (:func:`pull_summary` of
    ``photometry/lightcurves_all.csv`` at the candidate nearest each SN Ia) when the
    photometry ran.
    ``None`` for a run without those files (a run from light curves)."""
    root = Path(run_dir)
    images, cands_path = root / "images", root / "detect" / "candidates.csv"
    needed = [images / "truth.json", images / "truth_fluxes.csv", images / "survey.json",
              cands_path]
    if not all(p.is_file() for p in needed):
        return None
    truth = json.loads((images / "truth.json").read_text(encoding="utf-8"))
    survey = json.loads((images / "survey.json").read_text(encoding="utf-8"))
    n_epochs = sum(len(eps) for bands in survey["epochs"].values() for eps in bands.values())
    truth_fluxes = pd.read_csv(images / "truth_fluxes.csv")
    cands = pd.read_csv(cands_path, dtype={"host_id": str})
    summary = detection_summary(cands, truth, truth_fluxes, n_epochs)
    summary["n_field_epochs"] = n_epochs
    lc_path = root / "photometry" / "lightcurves_all.csv"
    if lc_path.is_file() and len(cands):
        m = match_candidates(cands, truth_sources(truth))
        # the candidate nearest each SN: a second one a few pixels away is measured off the SN
        on_ia = m[m["kind"] == "sn_ia"].sort_values("sep_arcsec").drop_duplicates("source_id")
        pulls = photometry_pulls(pd.read_csv(lc_path),
                                 truth_fluxes,
                                 dict(zip(on_ia["cand_id"].astype(str), on_ia["source_id"],
                                          strict=True)))
        summary["photometry"] = pull_summary(pulls).to_dict(orient="records")
    return summary


def summary_rows(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(quantity, value)`` rows of :func:`run_summary` for a printed table."""

    def frac(k: int, n: int) -> str:
        return f"{k}/{n} = {k / n:.2f}" if n else "-"

    rows = [("SNe Ia found (a candidate within 1\")",
             frac(summary["n_found"], summary["n_sne"]))]
    for key, label, fmt in (("efficiency_vs_peak_mag", "peak mag", "{:g}-{:g}"),
                            ("efficiency_vs_z", "z", "{:g}-{:g}")):
        for b in summary[key]:
            if b["n"]:
                rows.append((f"  {label} {fmt.format(b['lo'], b['hi'])}", frac(b["found"], b["n"])))
    n = summary["n_candidates"]
    rows += [
        ("candidates", str(n)),
        ("  on SNe Ia (purity)", frac(summary["n_sn_ia"], n)),
        ("  on other transients / variable stars", str(summary["n_impostor"])),
        ("  on no true source (false)", str(summary["n_false"])),
        ("false candidates per epoch image",
         f"{summary['false_per_field_epoch']:.3f} ({summary.get('n_field_epochs', '?')} images)"),
    ]
    for r in summary.get("photometry", []):
        if r["n"] > 1:
            label = str(r["snr_bin"]).replace("-inf-", "< ").replace("-inf", "")
            label = f"> {label}" if str(r["snr_bin"]).endswith("-inf") else label
            rows.append((f"photometry pulls, true S/N {label}",
                         f"n {r['n']}, mean {r['mean']:+.3f} ± {r['mean_err']:.3f}, "
                         f"width {r['width']:.3f} ± {r['width_err']:.3f}"))
    return rows
