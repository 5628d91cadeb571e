"""SALT2 light-curve fits, quality cuts and the Hubble table (stage SN3).

Each supernova's light curve is fitted with sncosmo's ``fit_lc`` (a chi-square fit with
iminuit, including the SALT2 model covariance) for t0, x0, x1 and c at the known redshift.
Fits run in parallel through :func:`rediscovery.core.executor.map_tasks` (local processes or
a dask cluster). m_B is derived from x0 (:mod:`rediscovery.cosmo.sn.salt2`) and its covariance
with x1 and c propagated with the Jacobian ∂m_B/∂x0 = −2.5/(x0 ln 10).

Quality cuts (as in JLA, Betoule et al. 2014 §4.4, adapted): the fit succeeded with a
positive-definite covariance, |x1| < 3, −0.3 < c < 0.3, σ_x1 < 1, σ_t0 < 2 days (rest frame),
χ²/dof < 5, and at least one point before and one after peak. Failing SNe are kept in
``salt2_fits.csv`` with ``quality=False`` and the reason, and left out of ``hubble.csv``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import InputError

__all__ = [
    "MIN_POINTS",
    "QualityCuts",
    "check_bandpasses",
    "fit_lightcurve",
    "fit_lightcurves",
    "sampling_cut_reasons",
]

log = logging.getLogger(__name__)

#: Fewest photometric points a SALT2 fit (4 free parameters) accepts.
MIN_POINTS = 5
_LN10 = np.log(10.0)


@dataclass(frozen=True)
class QualityCuts:
    """Light-curve quality cuts (module notes)."""

    x1_max: float = 3.0
    c_min: float = -0.3
    c_max: float = 0.3
    x1_err_max: float = 1.0
    t0_err_max: float = 2.0
    chi2_dof_max: float = 5.0


def _register_survey_bands(bands: Any) -> None:
    """Register the image survey's SDSS bandpasses in sncosmo (offline, from the installed
    files: :func:`rediscovery.cosmo.sn.images.register_bandpasses`) when ``bands`` uses them;
    sncosmo would otherwise try to download them. Called in each worker process too."""
    from rediscovery.cosmo.sn.images.bands import BANDPASSES, register_bandpasses

    if set(map(str, bands)) & set(BANDPASSES.values()):
        register_bandpasses()


def check_bandpasses(bands: Any, *, source: str = "lightcurves") -> None:
    """Refuse band names sncosmo does not know (InputError naming them), before any fit."""
    import sncosmo

    _register_survey_bands(bands)
    bad = []
    for b in sorted(set(map(str, bands))):
        try:
            sncosmo.get_bandpass(b)
        except Exception:  # sncosmo raises several types for unknown names
            bad.append(b)
    if bad:
        raise InputError(f"band(s) {bad} are not sncosmo bandpass names (e.g. bessellb, "
                         "sdssg); SALT2 needs them. Rename the bands, or fit magnitudes "
                         "with --model stretch", path=source, column="band")


def _fit_one(task: tuple[str, float, dict[str, np.ndarray], bool]) -> dict[str, Any]:
    """Fit one SN; returns a flat dict (module-level so worker processes can pickle it)."""
    import warnings

    import sncosmo
    from astropy.table import Table

    from rediscovery.cosmo.sn.salt2 import mb_from_x0, salt2_model

    sn_id, z, cols, modelcov = task
    out: dict[str, Any] = {"sn_id": sn_id, "z": z, "n_points": len(cols["time"])}
    model = salt2_model()
    model.set(z=z)
    bands = np.asarray(cols["band"])
    _register_survey_bands(np.unique(bands))
    keep = np.zeros(bands.size, dtype=bool)
    for b in np.unique(bands):
        try:
            ok = bool(model.bandoverlap(b))
        except Exception as exc:  # unknown bandpass name
            raise InputError(f"SN {sn_id}: unknown bandpass {b!r} ({exc})", column="band") from None
        keep |= (bands == b) & ok
    out["n_points_used"] = int(keep.sum())
    out["bands_dropped"] = ",".join(sorted(set(bands[~keep])))
    data = Table({k: np.asarray(v)[keep] for k, v in cols.items()})
    t_guess = float(data["time"][np.argmax(data["flux"] / data["fluxerr"])]) if len(data) else 0.0
    model.set(t0=t_guess, x0=1e-5, x1=0.0, c=0.0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res, _fitted = sncosmo.fit_lc(
                data, model, ["t0", "x0", "x1", "c"],
                bounds={"t0": (t_guess - 20 * (1 + z), t_guess + 20 * (1 + z)),
                        "x1": (-5.0, 5.0), "c": (-0.5, 1.0)},
                guess_amplitude=True, guess_t0=True, modelcov=modelcov, minsnr=3.0)
    except (RuntimeError, ValueError, sncosmo.fitting.DataQualityError) as exc:
        out.update(success=False, message=f"fit failed: {exc}")
        return out
    p = dict(zip(res.param_names, res.parameters, strict=True))
    cov = np.asarray(res.covariance) if res.covariance is not None else np.full((4, 4), np.nan)
    order = list(res.vparam_names)  # t0, x0, x1, c
    i_t0, i_x0, i_x1, i_c = (order.index(k) for k in ("t0", "x0", "x1", "c"))
    jac = -2.5 / (p["x0"] * _LN10)
    out.update(
        success=bool(res.success), message=str(res.message), t0=p["t0"], x0=p["x0"],
        x1=p["x1"], c=p["c"], mb=float(mb_from_x0(p["x0"])), chisq=float(res.chisq),
        ndof=int(res.ndof),
        t0_err=float(np.sqrt(cov[i_t0, i_t0])), x0_err=float(np.sqrt(cov[i_x0, i_x0])),
        x1_err=float(np.sqrt(cov[i_x1, i_x1])), c_err=float(np.sqrt(cov[i_c, i_c])),
        mb_err=float(abs(jac) * np.sqrt(cov[i_x0, i_x0])),
        cov_mb_x1=float(jac * cov[i_x0, i_x1]), cov_mb_c=float(jac * cov[i_x0, i_c]),
        cov_x1_c=float(cov[i_x1, i_c]),
    )
    try:
        np.linalg.cholesky(cov)
        out["cov_pd"] = True
    except np.linalg.LinAlgError:
        out["cov_pd"] = False
    phase = (data["time"] - p["t0"]) / (1 + z)
    out["n_before_peak"] = int(np.sum(phase < 0))
    out["n_after_peak"] = int(np.sum(phase > 0))
    return out


def sampling_cut_reasons(r: Any, *, t0_err_max: float, chi2_dof_max: float) -> list[str]:
    """Why the fit ``r`` of a light curve fails the cuts every light-curve model shares (SALT2
    and the stretch template): the peak date's rest-frame error, χ²/dof, and points on both
    sides of the peak. ``r`` holds ``t0_err, z, chisq, ndof, n_before_peak, n_after_peak``."""
    why = []
    if not r["t0_err"] / (1 + r["z"]) < t0_err_max:
        why.append(f"t0_err >= {t0_err_max} d (rest)")
    if r["ndof"] > 0 and r["chisq"] / r["ndof"] >= chi2_dof_max:
        why.append(f"chi2/dof >= {chi2_dof_max}")
    if r["n_before_peak"] < 1 or r["n_after_peak"] < 1:
        why.append("no points on both sides of peak")
    return why


def _quality(df: pd.DataFrame, cuts: QualityCuts) -> pd.DataFrame:
    reasons = []
    for _, r in df.iterrows():  # one row per SN (hundreds): clarity over vectorisation
        why = []
        if not r.get("success", False):
            why.append("fit failed")
        else:
            if not r.get("cov_pd", False):
                why.append("covariance not positive definite")
            if abs(r["x1"]) >= cuts.x1_max:
                why.append(f"|x1| >= {cuts.x1_max}")
            if not cuts.c_min < r["c"] < cuts.c_max:
                why.append(f"c outside ({cuts.c_min}, {cuts.c_max})")
            if not r["x1_err"] < cuts.x1_err_max:
                why.append(f"x1_err >= {cuts.x1_err_max}")
            why += sampling_cut_reasons(r, t0_err_max=cuts.t0_err_max,
                                        chi2_dof_max=cuts.chi2_dof_max)
        reasons.append("; ".join(why))
    df = df.copy()
    df["quality"] = [not w for w in reasons]
    df["quality_reason"] = reasons
    return df


def fit_lightcurves(lightcurves: pd.DataFrame, redshifts: pd.DataFrame, *,
                    cuts: QualityCuts | None = None, drop_sparse: bool = False,
                    modelcov: bool = False, n_workers: int | None = None,
                    scheduler: Any = None, progress: bool = True,
                    source: str = "lightcurves") -> pd.DataFrame:
    """Fit SALT2 to every supernova's light curve.

    Parameters
    ----------
    lightcurves
        sncosmo-convention photometry (``sn_id, time, band, flux, fluxerr, zp, zpsys``).
    redshifts
        ``sn_id, z``; every SN in ``lightcurves`` must have one.
    cuts
        Quality cuts (default :class:`QualityCuts`).
    drop_sparse
        SNe with fewer than :data:`MIN_POINTS` points raise an :class:`InputError` naming them
        unless this is True; then they are kept in the output with ``quality=False``.
    modelcov
        Include the SALT2 model covariance in the fit (sncosmo ``modelcov``; right for real
        photometry, ~10x slower). Off by default: the simulator draws light curves from the
        SALT2 mean model without model scatter, so the photometric errors are complete.
    n_workers, scheduler, progress
        Passed to :func:`~rediscovery.core.executor.map_tasks`.
    source
        Name of the input for error messages.

    Returns
    -------
    DataFrame
        One row per SN: ``sn_id, z, t0, x0, x1, c, mb`` and their errors, ``cov_mb_x1,
        cov_mb_c, cov_x1_c``, ``chisq, ndof, n_points, n_points_used, bands_dropped, success,
        quality, quality_reason``.
    """
    from rediscovery.core.executor import map_tasks

    cuts = cuts or QualityCuts()
    zmap = dict(zip(redshifts["sn_id"].astype(str), redshifts["z"].astype(float), strict=True))
    ids = pd.unique(lightcurves["sn_id"].astype(str))
    missing = [s for s in ids if s not in zmap]
    if missing:
        raise InputError(f"no redshift for SN(s) {missing[:5]}{' …' if len(missing) > 5 else ''}",
                         path=source, column="sn_id")
    counts = lightcurves.groupby(lightcurves["sn_id"].astype(str)).size()
    sparse = counts[counts < MIN_POINTS]
    if len(sparse) and not drop_sparse:
        raise InputError(
            f"SN(s) {sparse.index.tolist()[:5]} have fewer than {MIN_POINTS} points "
            f"({sparse.tolist()[:5]}); a SALT2 fit needs at least {MIN_POINTS}. Use "
            "--drop-sparse to flag and skip them", path=source)
    cols = ["time", "band", "flux", "fluxerr", "zp", "zpsys"]
    tasks = []
    sparse_rows = []
    for sn_id, g in lightcurves.groupby(lightcurves["sn_id"].astype(str), sort=False):
        if sn_id in sparse.index:
            sparse_rows.append({"sn_id": sn_id, "z": zmap[sn_id], "n_points": len(g),
                                "success": False, "message": "too few points"})
            continue
        tasks.append((sn_id, zmap[sn_id], {c: g[c].to_numpy() for c in cols}, modelcov))
    results = map_tasks(_fit_one, tasks, scheduler=scheduler, n_workers=n_workers,
                        progress=progress, desc="SALT2 fits")
    df = pd.DataFrame(results + sparse_rows)
    df = _quality(df, cuts)
    n_bad = int((~df["quality"]).sum())
    log.info("SALT2: %d SNe fitted, %d pass the quality cuts, %d rejected", len(df),
             len(df) - n_bad, n_bad)
    return df


def fit_lightcurve(sn_id: str, z: float, photometry: pd.DataFrame, *,
                   modelcov: bool = False) -> dict[str, Any]:
    """Fit one SN (photometry with the sncosmo columns) in-process; returns the result dict."""
    if len(photometry) < MIN_POINTS:
        raise InputError(f"SN {sn_id}: {len(photometry)} points, a SALT2 fit needs at least "
                         f"{MIN_POINTS}")
    cols = ["time", "band", "flux", "fluxerr", "zp", "zpsys"]
    return _fit_one((sn_id, float(z), {c: photometry[c].to_numpy() for c in cols}, modelcov))
