"""From score images to candidates: thresholded detection, real/bogus morphology, clustering of
detections across epochs (DBSCAN) and host-galaxy matching.

References
----------
Ester 1996
    M. Ester, H.-P. Kriegel, J. Sander, X. Xu, "A density-based algorithm for discovering
    clusters in large spatial databases with noise", KDD-96 (1996) 226 (DBSCAN, as implemented
    by scikit-learn).
ZOGY16
    Zackay, Ofek & Gal-Yam, ApJ 830 (2016) 27 (see :mod:`.subtract`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.spatial import cKDTree

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.cosmo.sn.detect.psf import FWHM_PER_SIGMA, fourier_shift
from rediscovery.cosmo.sn.detect.validation import check_image, check_positive

__all__ = [
    "DETECTION_COLUMNS",
    "FIT_EXCESS_CUT",
    "NEG_FRACTION_CUT",
    "cluster_detections",
    "detect_sources",
    "match_hosts",
    "real_bogus_features",
    "real_bogus_score",
]

#: Columns of :func:`detect_sources`' table.
DETECTION_COLUMNS = ("x", "y", "significance", "flux", "flux_err", "npix")
#: Negative-lobe cut of :func:`real_bogus_score`: centre and width (fraction of |D|).
NEG_FRACTION_CUT = (0.3, 0.05)
#: Bad-fit cut of :func:`real_bogus_score`: centre and width of the point fit's excess χ²
#: (beyond its 3 σ noise range) as a fraction of the source's χ² (snr_fit²).
FIT_EXCESS_CUT = (0.5, 0.1)
_ARCSEC = np.pi / (180.0 * 3600.0)


def detect_sources(score: np.ndarray, threshold: float = 5.0, *,
                   flux: np.ndarray | None = None, flux_err: np.ndarray | float | None = None,
                   border: int = 0) -> pd.DataFrame:
    """Detections: connected regions (8-neighbours) of ``score > threshold``, one per region,
    at the region's maximum refined to sub-pixel by a parabola through it and its neighbours
    in x and in y.

    Parameters
    ----------
    score
        A significance image in σ (ZOGY's S_corr, or a matched-filter score).
    threshold
        Detection threshold in σ.
    flux, flux_err
        Images (or a scalar error) read at each peak pixel (ZOGY's ``flux``, ``flux_err``).
    border
        Pixels within ``border`` of an edge are not searched (circular-FFT edges).

    Returns
    -------
    DataFrame
        ``x, y`` (pixels), ``significance`` (peak of ``score``), ``flux``, ``flux_err`` (NaN
        when not given) and ``npix`` (pixels above threshold), strongest first.
    """
    s = check_image(score, "score")
    thr = check_positive(threshold, "threshold")
    mask = s > thr
    if border > 0:
        mask[:border] = mask[-border:] = False
        mask[:, :border] = mask[:, -border:] = False
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in DETECTION_COLUMNS})
    idx = np.arange(1, n + 1)
    pos = np.array(ndimage.maximum_position(s, labels, idx), dtype=int).reshape(n, 2)
    py, px = pos[:, 0], pos[:, 1]
    npix = np.asarray(ndimage.sum_labels(mask, labels, idx), dtype=int)
    ny, nx = s.shape

    def vertex(lo: np.ndarray, mid: np.ndarray, hi: np.ndarray) -> np.ndarray:
        curv = lo - 2 * mid + hi
        with np.errstate(divide="ignore", invalid="ignore"):
            off = np.where(curv < 0, 0.5 * (lo - hi) / curv, 0.0)
        return np.clip(off, -0.5, 0.5)

    xm, xp = np.clip(px - 1, 0, nx - 1), np.clip(px + 1, 0, nx - 1)
    ym, yp = np.clip(py - 1, 0, ny - 1), np.clip(py + 1, 0, ny - 1)
    x = px + vertex(s[py, xm], s[py, px], s[py, xp])
    y = py + vertex(s[ym, px], s[py, px], s[yp, px])
    fl = np.full(n, np.nan) if flux is None else np.asarray(flux)[py, px]
    if flux_err is None:
        fe = np.full(n, np.nan)
    elif np.ndim(flux_err) == 0:
        fe = np.full(n, float(flux_err))
    else:
        fe = np.asarray(flux_err)[py, px]
    out = pd.DataFrame({"x": x, "y": y, "significance": s[py, px], "flux": fl,
                        "flux_err": fe, "npix": npix})
    return out.sort_values("significance", ascending=False, ignore_index=True)


def _centred_stamp(kernel: np.ndarray, half: int) -> np.ndarray:
    """``kernel`` cropped or zero-padded to ``(2 half + 1)²`` around its central pixel."""
    k = np.asarray(kernel, float)
    out = np.zeros((2 * half + 1, 2 * half + 1))
    hy, hx = k.shape[0] // 2, k.shape[1] // 2
    a, b = min(half, hy), min(half, hx)
    out[half - a:half + a + 1, half - b:half + b + 1] = k[hy - a:hy + a + 1, hx - b:hx + b + 1]
    return out


def real_bogus_features(diff: np.ndarray, psf: np.ndarray, cr_kernel: np.ndarray,
                        x: object, y: object, *, sigma: float = 1.0,
                        radius: float | None = None) -> pd.DataFrame:
    """Morphology of each detection on the difference image, all detections at once.

    Two linear one-parameter models are fitted to the pixels within ``radius`` of the
    detection: a point source (``psf`` moved to the sub-pixel position ``(x, y)``) and a
    single-pixel cosmic ray of the new image (``cr_kernel`` at the brightest pixel within one
    pixel of ``(x, y)``).

    Parameters
    ----------
    diff
        The difference image (ZOGY's D, or N − K ⊗ R).
    psf
        The shape of a point source in ``diff`` (ZOGY's P_D, or the new image's PSF).
    cr_kernel
        The shape of a single hot pixel of the new image in ``diff`` (ZOGY's ``cr_kernel``;
        a unit delta for Alard–Lupton).
    sigma
        Noise per pixel of ``diff`` (1 for ZOGY's D).
    radius
        Fit aperture in pixels; default the PSF's FWHM estimated from its peak as for a
        Gaussian (2.355 √(1 / (2π peak))), at least 3.

    Returns
    -------
    DataFrame
        ``chi2_point``, ``chi2_cr`` (χ² of the two fits), ``n_fit`` (pixels fitted),
        ``snr_fit`` (point-fit amplitude over its error) and ``neg_fraction`` (Σ|D| of
        pixels below −2σ over Σ|D| of pixels beyond ±2σ: a dipole or an over-subtracted star
        has ≈ 0.5, a point source ≈ 0).
    """
    d = check_image(diff, "diff")
    sig = check_positive(sigma, "sigma")
    xs = np.atleast_1d(np.asarray(x, float))
    ys = np.atleast_1d(np.asarray(y, float))
    p = np.asarray(psf, float)
    if radius is None:
        radius = max(3.0, FWHM_PER_SIGMA * np.sqrt(1.0 / (2.0 * np.pi * p.max())))
    half = int(np.ceil(radius)) + 1
    cols = ["chi2_point", "chi2_cr", "n_fit", "snr_fit", "neg_fraction"]
    if xs.size == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    pad = half + 2
    dp = np.pad(d, pad)
    xi, yi = np.round(xs).astype(int), np.round(ys).astype(int)
    off = np.arange(-half, half + 1)
    st = dp[(yi + pad)[:, None, None] + off[None, :, None],
            (xi + pad)[:, None, None] + off[None, None, :]] / sig
    r2 = off[None, :, None] ** 2 + off[None, None, :] ** 2
    ap = np.broadcast_to(r2 <= radius**2, st.shape)
    # point model at the sub-pixel position
    pm = fourier_shift(np.broadcast_to(_centred_stamp(p, half + 2), (xs.size, 2 * half + 5,
                                                                      2 * half + 5)),
                       xs - xi, ys - yi)[:, 2:-2, 2:-2]
    # cosmic ray at the brightest pixel of the 3 × 3 core
    core = st[:, half - 1:half + 2, half - 1:half + 2].reshape(xs.size, 9)
    k = np.argmax(core, axis=1)
    cdy, cdx = k // 3 - 1, k % 3 - 1
    crm = fourier_shift(np.broadcast_to(_centred_stamp(cr_kernel, half + 2),
                                        (xs.size, 2 * half + 5, 2 * half + 5)),
                        cdx, cdy)[:, 2:-2, 2:-2]

    def fit(model: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mm = np.where(ap, model, 0.0)
        norm = np.sum(mm**2, axis=(1, 2))
        amp = np.sum(mm * st, axis=(1, 2)) / np.where(norm > 0, norm, 1.0)
        chi2 = np.sum(np.where(ap, (st - amp[:, None, None] * model) ** 2, 0.0), axis=(1, 2))
        return amp, chi2, np.sqrt(np.where(norm > 0, norm, np.inf))

    amp_p, chi2_p, inv_err = fit(pm)
    _, chi2_c, _ = fit(crm)
    neg = np.sum(np.where(ap & (st < -2), -st, 0.0), axis=(1, 2))
    tot = np.sum(np.where(ap & (np.abs(st) > 2), np.abs(st), 0.0), axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        negf = np.where(tot > 0, neg / tot, 0.0)
    return pd.DataFrame({"chi2_point": chi2_p, "chi2_cr": chi2_c,
                         "n_fit": ap.sum(axis=(1, 2)).astype(int),
                         "snr_fit": amp_p * inv_err, "neg_fraction": negf})


def real_bogus_score(features: pd.DataFrame) -> np.ndarray:
    """``real_bogus_score`` in [0, 1] from :func:`real_bogus_features`.

    The product of three factors:

    - the posterior probability of the point-source model against the cosmic-ray model for
      equal priors and Gaussian noise, 1 / (1 + exp(−(χ²_cr − χ²_point) / 2));
    - a soft negative-lobe cut, 1 / (1 + exp((f_neg − 0.3) / 0.05))
      (:data:`NEG_FRACTION_CUT`), against dipoles and over-subtracted stars;
    - a soft bad-fit cut on e = max(0, χ²_point − ν − 3 √(2ν)) / snr_fit², ν = n_fit − 1,
      the point fit's χ² beyond its noise range relative to the source's own χ²:
      1 / (1 + exp((e − 0.5) / 0.1)) (:data:`FIT_EXCESS_CUT`), against residuals that are
      not point-like (dipoles of misregistered stars, extended residuals). A point source
      with a PSF good to a few per cent has e ≈ 0 at any S/N.
    """
    for col in ("chi2_point", "chi2_cr", "neg_fraction", "n_fit", "snr_fit"):
        if col not in features:
            raise InputError("expected the columns of real_bogus_features", column=col)
    dchi2 = features["chi2_cr"].to_numpy(float) - features["chi2_point"].to_numpy(float)
    p_point = 0.5 * (1.0 + np.tanh(dchi2 / 4.0))  # = 1 / (1 + exp(-Δχ²/2)), overflow-free
    c, w = NEG_FRACTION_CUT
    f_neg = 0.5 * (1.0 - np.tanh((features["neg_fraction"].to_numpy(float) - c) / (2 * w)))
    nu = np.maximum(features["n_fit"].to_numpy(float) - 1.0, 1.0)
    snr2 = np.maximum(features["snr_fit"].to_numpy(float), 1e-3) ** 2
    excess = np.maximum(features["chi2_point"].to_numpy(float) - nu - 3 * np.sqrt(2 * nu), 0.0)
    c, w = FIT_EXCESS_CUT
    f_fit = 0.5 * (1.0 - np.tanh((excess / snr2 - c) / (2 * w)))
    return np.clip(p_point * f_neg * f_fit, 0.0, 1.0)


def _unit_vectors(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def _chord(arcsec: float) -> float:
    return float(2.0 * np.sin(0.5 * arcsec * _ARCSEC))


def cluster_detections(detections: pd.DataFrame, *, eps: float = 1.5, min_samples: int = 2,
                       coords: Literal["pixel", "sky"] = "pixel"
                       ) -> tuple[np.ndarray, pd.DataFrame]:
    """Group detections of one source over epochs with DBSCAN (Ester 1996).

    Parameters
    ----------
    detections
        One row per detection with ``x, y`` (pixels; for ``coords="pixel"``) or ``ra, dec``
        (degrees; for ``coords="sky"``), and ``mjd``; optional ``significance``, ``flux``,
        ``real_bogus_score``, ``ra``, ``dec``.
    eps
        Neighbourhood radius: pixels, or arcseconds for ``coords="sky"`` (chord distance of
        unit vectors, exact on the sphere).
    min_samples
        Detections (the point itself included) needed within ``eps`` to form a candidate;
        detections left alone get label −1 and no candidate.

    Returns
    -------
    labels, candidates
        The candidate index of each detection (−1: none), and one row per candidate:
        ``cand_id, x, y, [ra, dec,] first_mjd, n_detections, max_significance,
        real_bogus_score`` (positions are significance-weighted means when ``significance``
        is present; the score is the median of the detections').
    """
    from sklearn.cluster import DBSCAN

    eps = check_positive(eps, "eps")
    if int(min_samples) < 1:
        raise ConfigError(f"min_samples: expected an integer >= 1, got {min_samples}")
    need = ("x", "y") if coords == "pixel" else ("ra", "dec")
    if coords not in ("pixel", "sky"):
        raise ConfigError(f"coords: expected 'pixel' or 'sky', got {coords!r}")
    for c in (*need, "mjd"):
        if c not in detections:
            raise InputError(f"expected a column {c!r} in the detections table", column=c)
    cols = ["cand_id", "x", "y", "ra", "dec", "first_mjd", "n_detections", "max_significance",
            "real_bogus_score"]
    if len(detections) == 0:
        return np.empty(0, int), pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    if coords == "pixel":
        pts = detections[["x", "y"]].to_numpy(float)
        radius = eps
    else:
        pts = _unit_vectors(detections["ra"].to_numpy(float), detections["dec"].to_numpy(float))
        radius = _chord(eps)
    if not np.all(np.isfinite(pts)):
        raise InputError("expected finite detection coordinates", column=", ".join(need))
    labels = DBSCAN(eps=radius, min_samples=int(min_samples)).fit_predict(pts)
    df = detections.reset_index(drop=True).assign(_label=labels)
    df = df[df["_label"] >= 0]
    if len(df) == 0:  # every detection alone: no candidate (groupby.apply would give a frame)
        return labels, pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    w = df["significance"] if "significance" in df else pd.Series(1.0, index=df.index)
    df = df.assign(_w=w.clip(lower=1e-12))
    g = df.groupby("_label", sort=True)
    out = pd.DataFrame({"cand_id": np.arange(g.ngroups)})

    def wmean(col: str) -> np.ndarray:
        return (g.apply(lambda t: np.average(t[col], weights=t["_w"]), include_groups=False)
                .to_numpy())

    for c in ("x", "y", "ra", "dec"):
        out[c] = wmean(c) if c in df else np.nan
    out["first_mjd"] = g["mjd"].min().to_numpy()
    out["n_detections"] = g.size().to_numpy()
    out["max_significance"] = (g["significance"].max().to_numpy() if "significance" in df
                               else np.nan)
    out["real_bogus_score"] = (g["real_bogus_score"].median().to_numpy()
                               if "real_bogus_score" in df else np.nan)
    # candidates numbered in order of first appearance
    order = np.argsort(out["first_mjd"].to_numpy(), kind="stable")
    remap = np.empty(len(order), int)
    remap[order] = np.arange(len(order))
    out["cand_id"] = remap[out["cand_id"].to_numpy()]
    new_labels = np.where(labels >= 0, remap[np.maximum(labels, 0)], -1)
    return new_labels, out.sort_values("cand_id", ignore_index=True)


def match_hosts(ra: object, dec: object, hosts: pd.DataFrame, *,
                radius_arcsec: float = 2.0) -> pd.DataFrame:
    """The nearest host galaxy of each position within ``radius_arcsec``.

    Parameters
    ----------
    ra, dec
        Candidate positions in degrees.
    hosts
        The spectroscopic catalogue, columns ``host_id, ra, dec, z`` (degrees).

    Returns
    -------
    DataFrame
        ``host_id`` (integer ids: −1 when no host lies within the radius; other ids, such as
        the survey simulator's ``field00_G0009``: missing then), ``z`` (NaN then) and
        ``host_sep_arcsec``, one row per position (nearest neighbour of unit vectors in a
        KD-tree; chord distances are exact great-circle separations).
    """
    r = check_positive(radius_arcsec, "radius_arcsec")
    for c in ("host_id", "ra", "dec", "z"):
        if c not in hosts:
            raise InputError(f"expected a column {c!r} in the hosts table (host_id, ra, dec, z)",
                             column=c)
    ra_a = np.atleast_1d(np.asarray(ra, float))
    dec_a = np.atleast_1d(np.asarray(dec, float))
    ids = hosts["host_id"].to_numpy()
    numeric = np.issubdtype(ids.dtype, np.integer)
    out = pd.DataFrame({"host_id": (np.full(ra_a.size, -1, dtype=np.int64) if numeric
                                    else pd.array([None] * ra_a.size, dtype=object)),
                        "z": np.full(ra_a.size, np.nan),
                        "host_sep_arcsec": np.full(ra_a.size, np.nan)})
    if len(hosts) == 0 or ra_a.size == 0:
        return out
    tree = cKDTree(_unit_vectors(hosts["ra"].to_numpy(float), hosts["dec"].to_numpy(float)))
    dist, idx = tree.query(_unit_vectors(ra_a, dec_a), distance_upper_bound=_chord(r))
    ok = np.isfinite(dist)
    out.loc[ok, "host_id"] = ids[idx[ok]]
    out.loc[ok, "z"] = hosts["z"].to_numpy(float)[idx[ok]]
    out.loc[ok, "host_sep_arcsec"] = 2.0 * np.arcsin(0.5 * dist[ok]) / _ARCSEC
    return out
