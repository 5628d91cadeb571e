"""Readers and writers for supernova artifacts: Hubble tables, light curves, redshifts.

Hubble tables on input (all give redshift ``z``, distance modulus ``mu`` in mag and its
covariance in mag²):

``csv``
    Columns ``z, mu, mu_err`` (optionally ``sn_id`` and more), one row per SN; an optional
    covariance file (``--cov``) replaces ``diag(mu_err²)``: a CSV/whitespace N×N matrix, or N²
    values (optionally preceded by N) flattened row-major.
``union2.1``
    The Supernova Cosmology Project's ``SCPUnion2.1_mu_vs_z.txt`` (Suzuki et al. 2012,
    arXiv:1105.3470): tab-separated ``name, z, mu, sigma_mu, P_lowmass``, ``#`` comments;
    μ computed for h = 0.7.
``jla-binned``
    JLA's ``jla_mub.txt`` (``z mu``, 31 log-spaced bins; Betoule et al. 2014, arXiv:1401.4064,
    appendix E) with ``jla_mub_covmatrix.txt`` (31×31 flattened row-major, no size line),
    which is required: the binned moduli are strongly correlated.

Also read here: JLA's light-curve parameters ``jla_lcparams.txt`` (:func:`read_jla_lcparams`,
for :mod:`rediscovery.cosmo.sn.jla`), ``lightcurves.csv`` and ``redshifts.csv``. Magnitude
light-curve files are in :mod:`rediscovery.cosmo.sn.io_magnitudes`.

Every reader validates as it reads and raises :class:`~rediscovery.core.errors.InputError`
naming the file and the row (1-based data row) or column at fault. Besides the format, the
values must be those of supernovae: redshifts in (0, :data:`SN_Z_MAX`], distance moduli in
:data:`MU_RANGE` mag (distances in Mpc are refused), no ``-999`` sentinel, each row within
:data:`MAX_HUBBLE_RESIDUAL_MAG` of a fiducial Hubble relation once the table's median offset
is removed, errors between :data:`MU_ERR_MIN` and :data:`MU_ERR_MAX` mag, and no supernova
listed twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rediscovery.core.checks import (
    require_in_range,
    require_no_sentinel,
    require_unique,
    require_unique_rows,
)
from rediscovery.core.errors import InputError
from rediscovery.core.files import atomic_path, read_table
from rediscovery.cosmo.cosmology import distance_modulus

__all__ = [
    "BRIGHTEST_MAG",
    "HUBBLE_FORMATS",
    "JLA_LCPARAMS_COLUMNS",
    "LIGHTCURVE_COLUMNS",
    "MAX_HUBBLE_RESIDUAL_MAG",
    "MU_ERR_MAX",
    "MU_ERR_MIN",
    "MU_RANGE",
    "SALT2_FIT_COLUMNS",
    "SN_Z_MAX",
    "HubbleTable",
    "read_covariance",
    "read_hubble_table",
    "read_jla_lcparams",
    "read_lightcurves",
    "read_redshifts",
    "read_salt2_fits",
    "write_csv",
]

HUBBLE_FORMATS = ("csv", "union2.1", "jla-binned")
#: sncosmo's photometric-table convention (time in MJD days, flux with zero point zp in zpsys).
LIGHTCURVE_COLUMNS = ("sn_id", "time", "band", "flux", "fluxerr", "zp", "zpsys")

PathLike = str | os.PathLike[str]

#: Largest redshift accepted for a supernova. The most distant supernovae found so far are at
#: z ≈ 2-4 (JWST deep fields); 10 leaves room for any of them and refuses values that cannot
#: be supernova redshifts (the distance integrals are not meant for them either).
SN_Z_MAX = 10.0
#: Plausible distance moduli, mag: μ = 5 log10(D_L / 10 pc). 10 mag is 1 kpc (inside the Milky
#: Way); 60 mag is 10^7 Gpc, far beyond z = 10 (≈ 50 mag). Larger values are usually
#: distances in Mpc written in the ``mu`` column.
MU_RANGE = (10.0, 60.0)
#: Largest accepted distance-modulus error, mag (a factor 100 in distance: no information).
MU_ERR_MAX = 10.0
#: Smallest accepted distance-modulus error, mag: 0.05 % in distance, far below the ~0.1 mag
#: intrinsic scatter of standardised SNe Ia; a smaller error would give one row all the weight.
MU_ERR_MIN = 1e-3
#: Largest accepted deviation of one supernova from a fiducial Hubble relation (flat ΛCDM,
#: Ω_m = 0.3, H0 = 70) after removing the table's median offset, mag: 5 mag is a factor 10 in
#: distance, far more than any cosmology allowed by the priors or a peculiar velocity changes.
MAX_HUBBLE_RESIDUAL_MAG = 5.0
_FIDUCIAL = {"h0": 70.0, "om": 0.3, "ol": 0.7}
#: Brightest plausible supernova, AB mag: brighter than any seen from Earth (SN 1006 reached
#: about -7.5); a flux above it is a unit or parsing error.
BRIGHTEST_MAG = -10.0


@dataclass
class HubbleTable:
    """Distance moduli with their covariance.

    Attributes
    ----------
    z
        Redshifts, shape (n,).
    mu
        Distance moduli in mag, shape (n,).
    cov
        Covariance of ``mu`` in mag², shape (n, n) (diagonal when only errors were given).
    sn_id
        Names (or bin labels), shape (n,).
    source
        Where it was read from (for messages and provenance).
    extra
        Other columns of the input, aligned with the rows.
    """

    z: np.ndarray
    mu: np.ndarray
    cov: np.ndarray
    sn_id: np.ndarray
    source: str = "<memory>"
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __post_init__(self) -> None:
        self.z = np.asarray(self.z, dtype=float)
        self.mu = np.asarray(self.mu, dtype=float)
        self.cov = np.asarray(self.cov, dtype=float)
        self.sn_id = np.asarray(self.sn_id).astype(str)
        _validate_hubble(self)

    @property
    def n(self) -> int:
        return int(self.z.size)

    @property
    def mu_err(self) -> np.ndarray:
        """Square root of the covariance diagonal (mag)."""
        return np.sqrt(np.diag(self.cov))

    @property
    def is_diagonal(self) -> bool:
        return bool(np.all(self.cov == np.diag(np.diag(self.cov))))

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, cov: np.ndarray | None = None,
                   source: str = "<memory>") -> HubbleTable:
        """A table from a DataFrame with columns ``z``, ``mu``, ``mu_err`` (mag) and optionally
        ``sn_id`` (e.g. the output of :func:`rediscovery.cosmo.sn.simulate.simulate_hubble_table`).

        ``cov`` (mag², (n, n)) replaces the diagonal ``mu_err²``; other columns go to ``extra``.
        Raises :class:`InputError` naming ``source`` and the column for missing, non-numeric
        or non-positive-error values.
        """
        df = df.copy()
        df.columns = [str(c).strip() for c in df.columns]
        missing = [c for c in ("z", "mu", "mu_err") if c not in df.columns]
        if missing:
            raise InputError(f"missing column(s) {missing}; a Hubble table needs z, mu, mu_err "
                             f"(found {list(df.columns)})", path=source)
        for c in ("z", "mu", "mu_err"):
            vals = pd.to_numeric(df[c], errors="coerce")
            if vals.isna().any():
                raise InputError("non-numeric or empty values in "
                                 f"{_row_list(vals.isna().to_numpy())}", path=source, column=c)
            df[c] = vals.astype(float)
        err = df["mu_err"].to_numpy()
        if np.any(err <= 0):
            raise InputError(f"errors must be > 0; {_row_list(err <= 0)}", path=source,
                             column="mu_err")
        require_in_range(err, column="mu_err", path=source, lo=MU_ERR_MIN, hi=MU_ERR_MAX,
                         unit="mag", row_base=1, why="a supernova distance-modulus error")
        ids = (df["sn_id"].astype(str) if "sn_id" in df.columns
               else pd.Series([f"row{i + 1}" for i in range(len(df))]))
        extra = df.drop(columns=[k for k in ("sn_id", "z", "mu", "mu_err") if k in df.columns])
        return cls(df["z"].to_numpy(), df["mu"].to_numpy(),
                   np.diag(err**2) if cov is None else cov, ids.to_numpy(), source=source,
                   extra=extra.reset_index(drop=True))

    def to_frame(self) -> pd.DataFrame:
        df = pd.DataFrame({"sn_id": self.sn_id, "z": self.z, "mu": self.mu, "mu_err": self.mu_err})
        if not self.extra.empty:
            df = pd.concat([df, self.extra.reset_index(drop=True)], axis=1)
        return df


def _row_list(mask: np.ndarray, limit: int = 5) -> str:
    rows = (np.flatnonzero(mask) + 1)[:limit].tolist()
    more = " …" if mask.sum() > limit else ""
    return f"row(s) {rows}{more}"


def _validate_hubble(t: HubbleTable) -> None:
    n = t.z.size
    src = t.source
    if t.z.ndim != 1 or n == 0:
        raise InputError("a Hubble table needs at least one row", path=src)
    if t.mu.shape != (n,):
        raise InputError(f"mu has {t.mu.size} values for {n} redshifts", path=src, column="mu")
    for name, arr in (("z", t.z), ("mu", t.mu)):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise InputError(f"non-finite values in {_row_list(bad)}", path=src, column=name)
    bad = t.z <= 0
    if bad.any():
        raise InputError(f"redshifts must be > 0; {_row_list(bad)} have z <= 0", path=src,
                         column="z")
    require_in_range(t.z, column="z", path=src, hi=SN_Z_MAX, row_base=1,
                      why="supernova redshifts; the distance model is not meant beyond")
    require_no_sentinel(t.mu, column="mu", path=src, row_base=1,
                        expected="a distance modulus in mag (no -999 'missing' sentinel)")
    if np.median(t.mu) > MU_RANGE[1]:
        raise InputError(f"median {np.median(t.mu):.4g} is not a distance modulus in mag "
                         f"(expected {MU_RANGE[0]:g}-{MU_RANGE[1]:g}); these look like "
                         "distances in Mpc: mu = 5 log10(d / Mpc) + 25", path=src, column="mu")
    require_in_range(t.mu, column="mu", path=src, lo=MU_RANGE[0], hi=MU_RANGE[1], unit="mag",
                     row_base=1, why="a supernova distance modulus")
    if t.cov.shape != (n, n):
        raise InputError(f"covariance has shape {t.cov.shape}, expected ({n}, {n}) for {n} "
                         "rows", path=src, column="cov")
    if not np.all(np.isfinite(t.cov)):
        raise InputError("covariance has non-finite entries", path=src, column="cov")
    d = np.diag(t.cov)
    bad = d <= 0
    if bad.any():
        raise InputError(f"errors must be > 0; {_row_list(bad)} have a non-positive variance",
                         path=src, column="mu_err")
    require_in_range(np.sqrt(d), column="mu_err", path=src, lo=MU_ERR_MIN, hi=MU_ERR_MAX,
                     unit="mag", row_base=1, why="a supernova distance-modulus error")
    _check_hubble_relation(t)
    require_unique(t.sn_id, column="sn_id", path=src, row_base=1,
                   hint="a supernova listed twice is counted twice")
    require_unique_rows(pd.DataFrame({"z": t.z, "mu": t.mu}), path=src, row_base=1,
                        hint="a supernova listed twice is counted twice")
    if not np.allclose(t.cov, t.cov.T, rtol=1e-8, atol=1e-12 * d.max()):
        raise InputError("covariance is not symmetric", path=src, column="cov")
    try:
        np.linalg.cholesky(t.cov)
    except np.linalg.LinAlgError:
        ev = np.linalg.eigvalsh(t.cov).min()
        raise InputError(f"covariance is not positive definite (smallest eigenvalue {ev:.3g})",
                         path=src, column="cov") from None


def _check_hubble_relation(t: HubbleTable) -> None:
    """Refuse rows far off a fiducial Hubble relation (after the table's median offset, which
    the fits marginalise): distances in the wrong unit, or a wrong redshift or modulus."""
    with np.errstate(invalid="ignore", divide="ignore"):
        resid = t.mu - distance_modulus(t.z, **_FIDUCIAL)
    dev = resid - np.median(resid)
    bad = np.abs(dev) > MAX_HUBBLE_RESIDUAL_MAG
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{int(bad.sum())} row(s) off the Hubble relation by more than "
            f"{MAX_HUBBLE_RESIDUAL_MAG:g} mag (a factor 10 in distance), first row {row + 1}: "
            f"z = {t.z[row]:.4g}, mu = {t.mu[row]:.4g} ({dev[row]:+.1f} mag from the table's "
            "median offset); expected distance moduli in mag that grow with z as "
            "5 log10(D_L / 10 pc)", path=t.source, column="mu")


def read_covariance(path: PathLike, n: int) -> np.ndarray:
    """Read an n×n covariance: a square text matrix, or n² values (optionally after ``n``).

    Raises
    ------
    InputError
        If the file cannot be parsed or its size does not match ``n``.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("covariance file not found", path=p)
    try:
        text = p.read_text().replace(",", " ")
        vals = np.array([float(v) for line in text.splitlines()
                         if line.strip() and not line.lstrip().startswith("#")
                         for v in line.split()])
    except ValueError as exc:
        raise InputError(f"cannot parse covariance ({exc})", path=p) from None
    if vals.size == n * n + 1 and int(vals[0]) == n:
        vals = vals[1:]
    if vals.size != n * n:
        raise InputError(f"covariance has {vals.size} values, expected {n}x{n} = {n * n} for the "
                         f"{n} rows of the table", path=p)
    return vals.reshape(n, n)


def _read_csv_table(path: Path, cov: PathLike | None) -> HubbleTable:
    df = read_table(path, what="Hubble table (z, mu, mu_err)", format="csv", comment="#")
    cmat = None if cov is None else read_covariance(cov, len(df))
    return HubbleTable.from_frame(df, cov=cmat,
                                  source=str(path if cov is None else f"{path} (+ {cov})"))


def _read_union(path: Path, cov: PathLike | None) -> HubbleTable:
    rows = []
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise InputError("not a text file; expected SCPUnion2.1_mu_vs_z.txt rows (name, z, mu, "
                         "sigma_mu)", path=path) from None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 4:
            raise InputError(f"line {lineno}: expected name, z, mu, sigma_mu[, P_lowmass], got "
                             f"{len(parts)} fields", path=path)
        try:
            vals = [float(v) for v in parts[1:5]]
        except ValueError:
            raise InputError(f"line {lineno}: non-numeric value in {parts[1:5]}",
                             path=path) from None
        rows.append((parts[0], *vals, *([np.nan] * (4 - len(vals)))))
    if not rows:
        raise InputError("no data rows (is this SCPUnion2.1_mu_vs_z.txt?)", path=path)
    df = pd.DataFrame(rows, columns=["sn_id", "z", "mu", "mu_err", "p_lowmass"])
    err = df["mu_err"].to_numpy()
    if np.any(err <= 0):
        raise InputError(f"sigma_mu must be > 0; {_row_list(err <= 0)}", path=path,
                         column="sigma_mu")
    c = np.diag(err**2) if cov is None else read_covariance(cov, len(df))
    return HubbleTable(df["z"].to_numpy(), df["mu"].to_numpy(), c, df["sn_id"].to_numpy(),
                       source=str(path), extra=df[["p_lowmass"]])


def _read_jla_binned(path: Path, cov: PathLike | None) -> HubbleTable:
    if cov is None:
        guess = path.with_name("jla_mub_covmatrix.txt")
        if not guess.is_file():
            raise InputError("the JLA binned moduli are correlated: give their covariance "
                             "(jla_mub_covmatrix.txt) with --cov", path=path)
        cov = guess
    try:
        a = np.loadtxt(path, comments="#", ndmin=2)
    except ValueError as exc:
        raise InputError(f"cannot parse 'z mu' rows ({exc})", path=path) from None
    if a.shape[1] != 2:
        raise InputError(f"expected 2 columns (z, mu), found {a.shape[1]}", path=path)
    c = read_covariance(cov, a.shape[0])
    return HubbleTable(a[:, 0], a[:, 1], c, np.array([f"bin{i + 1}" for i in range(len(a))]),
                       source=f"{path} (+ {cov})")


def read_hubble_table(path: PathLike, format: str = "csv",
                      cov: PathLike | None = None) -> HubbleTable:
    """Read a Hubble table in one of :data:`HUBBLE_FORMATS`.

    Parameters
    ----------
    path
        The table.
    format
        ``"csv"``, ``"union2.1"`` or ``"jla-binned"`` (see the module notes).
    cov
        Optional covariance file (required for ``jla-binned``; by default looked for as
        ``jla_mub_covmatrix.txt`` beside the table).
    """
    p = Path(path)
    if format not in HUBBLE_FORMATS:
        raise InputError(f"unknown Hubble-table format {format!r}; expected one of "
                         f"{list(HUBBLE_FORMATS)}", path=p)
    if not p.is_file():
        raise InputError("file not found", path=p)
    reader = {"csv": _read_csv_table, "union2.1": _read_union, "jla-binned": _read_jla_binned}
    return reader[format](p, cov)


def read_lightcurves(path: PathLike) -> pd.DataFrame:
    """Read ``lightcurves.csv`` (:data:`LIGHTCURVE_COLUMNS`) and validate it.

    Raises InputError for missing columns, non-numeric or non-finite values, or
    non-positive ``fluxerr`` (naming the rows and SNe).
    """
    p = Path(path)
    df = read_table(p, what="light-curve table", format="csv",
                    dtype={"sn_id": str, "band": str, "zpsys": str})
    missing = [c for c in LIGHTCURVE_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}; light curves need "
                         f"{list(LIGHTCURVE_COLUMNS)}", path=p)
    if len(df) == 0:
        raise InputError("no light-curve points (a header and no rows)", path=p)
    for c in ("time", "flux", "fluxerr", "zp"):
        vals = pd.to_numeric(df[c], errors="coerce")
        bad = ~np.isfinite(vals.to_numpy(dtype=float))
        if bad.any():
            raise InputError(f"non-numeric or non-finite values in {_row_list(bad)} (SN "
                             f"{df.loc[bad, 'sn_id'].iloc[0]})", path=p, column=c)
        df[c] = vals.astype(float)
    bad = df["fluxerr"].to_numpy() <= 0
    if bad.any():
        raise InputError(f"fluxerr must be > 0; {_row_list(bad)} (SN "
                         f"{df.loc[bad, 'sn_id'].iloc[0]})", path=p, column="fluxerr")
    for c in ("time", "flux", "fluxerr", "zp"):
        require_no_sentinel(df[c], column=c, path=p, row_base=1,
                            expected="a measured value (no -999 'missing' sentinel)")
    for c in ("flux", "fluxerr"):
        with np.errstate(divide="ignore"):
            mag = df["zp"].to_numpy() - 2.5 * np.log10(np.abs(df[c].to_numpy()))
        require_in_range(mag, column=c, path=p, lo=BRIGHTEST_MAG, unit="AB mag", row_base=1,
                         why=f"|{c}| as a magnitude at the row's zp (value shown): no "
                         "supernova is that bright; check the flux units and zp")
    require_unique_rows(df, columns=["sn_id", "time", "band"], path=p, row_base=1,
                        hint="one photometric point per SN, time and band")
    return df


def read_redshifts(path: PathLike) -> pd.DataFrame:
    """Read ``redshifts.csv`` (``sn_id, z`` [, ``z_err``]) and validate z > 0."""
    p = Path(path)
    df = read_table(p, what="redshift table", format="csv", dtype={"sn_id": str})
    missing = [c for c in ("sn_id", "z") if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}; redshifts need sn_id, z", path=p)
    if len(df) == 0:
        raise InputError("no redshifts (a header and no rows)", path=p)
    z = pd.to_numeric(df["z"], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(z) & (z > 0))
    if bad.any():
        raise InputError(f"redshifts must be > 0; {_row_list(bad)} (SN "
                         f"{df.loc[bad, 'sn_id'].iloc[0]})", path=p, column="z")
    require_in_range(z, column="z", path=p, hi=SN_Z_MAX, row_base=1,
                     why="supernova redshifts; the distance model is not meant beyond")
    df["z"] = z
    dup = df["sn_id"].duplicated()
    if dup.any():
        raise InputError(f"duplicate sn_id {df.loc[dup, 'sn_id'].iloc[0]!r}", path=p,
                         column="sn_id")
    return df


#: Columns of ``salt2_fits.csv`` the standardisation needs (``cosmo sn-lightcurves`` writes
#: them, with ``quality`` and ``quality_reason``).
SALT2_FIT_COLUMNS = ("sn_id", "z", "mb", "x1", "c", "mb_err", "x1_err", "c_err", "cov_mb_x1",
                     "cov_mb_c", "cov_x1_c")


def read_salt2_fits(path: PathLike) -> tuple[pd.DataFrame, int]:
    """Read ``salt2_fits.csv`` and keep the SNe that passed the quality cuts.

    Returns the kept rows (index reset) and the number of rows in the file. A ``quality``
    column, when present, selects the rows (the others are reported by the caller, never
    silently lost); every kept row must have finite values and positive errors.
    """
    p = Path(path)
    df = read_table(p, what="SALT2 fit table", format="csv", dtype={"sn_id": str})
    missing = [c for c in SALT2_FIT_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}; a SALT2 fit table needs "
                         f"{list(SALT2_FIT_COLUMNS)} (as `cosmo sn-lightcurves` writes)",
                         path=p)
    n_all = len(df)
    if "quality" in df.columns:
        q = df["quality"].astype(str).str.lower().isin(("true", "1"))
        df = df[q.to_numpy()]
    df = df.reset_index(drop=True)
    if len(df) < 5:
        raise InputError(f"{len(df)} of {n_all} SNe pass the quality cuts; the standardisation "
                         "needs at least 5", path=p)
    for c in SALT2_FIT_COLUMNS[1:]:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(v)
        if c.endswith("_err"):
            bad |= ~(v > 0)
        if bad.any():
            raise InputError(f"{_row_list(bad)} of the quality-passing SNe: expected a finite "
                             f"{'positive ' if c.endswith('_err') else ''}number (SN "
                             f"{df.loc[bad, 'sn_id'].iloc[0]})", path=p, column=c)
        df[c] = v
    require_in_range(df["z"].to_numpy(), column="z", path=p, lo=0.0, lo_open=True, hi=SN_Z_MAX,
                     row_base=1, why="supernova redshifts")
    return df, n_all


def write_csv(df: pd.DataFrame, path: PathLike, *, float_format: str | None = None) -> Path:
    """Write a DataFrame to CSV atomically (no index)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format)
    return Path(path)


# ------------------------------------------------------------------- JLA light-curve parameters
#: Columns of JLA's ``jla_lcparams.txt`` that :func:`read_jla_lcparams` needs (Betoule et al.
#: 2014, arXiv:1401.4064; the JLA likelihood release). ``3rdvar`` is log10 of the host's
#: stellar mass in solar masses; ``biascor`` (already applied to ``mb``) and the others are
#: kept as they are.
JLA_LCPARAMS_COLUMNS = ("name", "zcmb", "zhel", "mb", "dmb", "x1", "dx1", "color", "dcolor",
                        "3rdvar", "cov_m_s", "cov_m_c", "cov_s_c")


def read_jla_lcparams(path: PathLike) -> pd.DataFrame:
    """Read JLA's light-curve parameter file ``jla_lcparams.txt``.

    Whitespace columns named by a first line ``#name zcmb zhel dz mb dmb x1 dx1 color dcolor
    3rdvar d3rdvar [tmax dtmax] cov_m_s cov_m_c cov_s_c set ra dec [biascor]``; further ``#``
    lines are comments. Columns are looked up by name, so both layouts of the public releases
    (with and without ``tmax``) are read.

    Returns
    -------
    DataFrame
        One row per SN with at least :data:`JLA_LCPARAMS_COLUMNS` (``name`` as str, the rest
        float); magnitudes in mag, ``3rdvar`` in log10(M*/M_sun).

    Raises
    ------
    InputError
        Naming the file and the line: no header, missing columns, a line with the wrong
        number of fields or a non-numeric value, redshifts outside (0, :data:`SN_Z_MAX`],
        non-positive errors, a SN listed twice.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", path=p)
    try:
        lines = p.read_text().splitlines()
    except UnicodeDecodeError:
        raise InputError("not a text file; expected JLA's jla_lcparams.txt", path=p) from None
    header: list[str] | None = None
    rows: list[list[str]] = []
    linenos: list[int] = []
    for lineno, line in enumerate(lines, start=1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            if header is None and s[1:].split()[:1] == ["name"]:
                header = s[1:].split()
            continue
        if header is None:
            raise InputError(f"line {lineno}: data before the '#name zcmb zhel ...' header line "
                             "(is this JLA's jla_lcparams.txt?)", path=p)
        parts = s.split()
        if len(parts) != len(header):
            raise InputError(f"line {lineno}: {len(parts)} fields, the header names "
                             f"{len(header)}", path=p)
        rows.append(parts)
        linenos.append(lineno)
    if header is None:
        raise InputError("no '#name zcmb zhel ...' header line; expected JLA's "
                         "jla_lcparams.txt", path=p)
    missing = [c for c in JLA_LCPARAMS_COLUMNS if c not in header]
    if missing:
        raise InputError(f"missing column(s) {missing} in the header; JLA light-curve "
                         f"parameters need {list(JLA_LCPARAMS_COLUMNS)}", path=p)
    if not rows:
        raise InputError("no data rows after the header", path=p)
    df = pd.DataFrame(rows, columns=header)
    lineno_arr = np.asarray(linenos)
    for c in header:
        if c == "name":
            continue
        vals = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(vals)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"line {lineno_arr[i]}: non-numeric value {df[c].iloc[i]!r} "
                             f"(SN {df['name'].iloc[i]})", path=p, column=c)
        df[c] = vals
    for c in ("zcmb", "zhel"):
        bad = ~((df[c] > 0) & (df[c] <= SN_Z_MAX)).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"line {lineno_arr[i]}: redshift {df[c].iloc[i]:g} of SN "
                             f"{df['name'].iloc[i]} outside (0, {SN_Z_MAX:g}]", path=p, column=c)
    for c in ("dmb", "dx1", "dcolor"):
        bad = (df[c] <= 0).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"line {lineno_arr[i]}: error {df[c].iloc[i]:g} of SN "
                             f"{df['name'].iloc[i]} must be > 0", path=p, column=c)
    dup = df["name"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"line {lineno_arr[i]}: SN {df['name'].iloc[i]!r} listed twice",
                         path=p, column="name")
    return df.reset_index(drop=True)

