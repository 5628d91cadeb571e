"""Readers and writers of binned CMB power spectra.

Three input formats (see ARCHITECTURE.md, "Cosmology contracts"):

* the package's ``spectrum.csv``: columns ``ell_min, ell_max, ell_eff, dl, dl_err`` with
  D_ℓ = ℓ(ℓ+1)C_ℓ/2π and its 1σ error in μK² (optional columns ``dl_err_lo, dl_err_hi`` for
  asymmetric errors); bins inclusive of both ends;
* Planck 2018's binned files ``COM_PowerSpect_CMB-{TT,TE,EE}-binned_R3.0x.txt`` (Planck
  Legacy Archive): whitespace columns ``l_eff, Dl, -dDl, +dDl[, BestFit]`` in μK². The files
  give only ℓ_eff; the bin edges are those of the Planck 2018 high-ℓ likelihood (Planck 2018 V,
  arXiv:1907.12875, §3.4 and the PLA explanatory supplement "CMB spectrum & Likelihood Code"):
  Δℓ = 30 bins starting at ℓ = 30 (30-59, 60-89, …), the last bin truncated at the
  likelihood's ℓ_max (2508 for TT, 1996 for TE/EE).
  We verify the reconstruction from the file itself: each ℓ_eff must equal the
  ℓ(ℓ+1)-weighted mean multipole of its bin (to 10⁻³), otherwise the file is rejected;
* an unbinned spectrum in three columns ``ℓ, D_ℓ, σ_noise`` (μK², one row per multipole, as
  school exercises hand it out; :func:`read_three_column`): binned in bins of Δℓ with the
  cosmic (sample) variance of a sky fraction f_sky added to the noise by the Knox formula.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rediscovery.constants import T_CMB
from rediscovery.core.checks import require_in_range, require_no_sentinel
from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.files import atomic_path, read_table

__all__ = [
    "CSV_COLUMNS",
    "TT_DL_RANGE",
    "BinnedSpectrum",
    "check_units",
    "planck_bin_edges",
    "read_covariance",
    "read_planck_binned",
    "read_spectrum",
    "read_spectrum_csv",
    "read_three_column",
    "write_spectrum_csv",
]

log = logging.getLogger(__name__)

#: Required columns of the spectrum CSV contract.
CSV_COLUMNS = ("ell_min", "ell_max", "ell_eff", "dl", "dl_err")
#: Generous bounds on CMB TT band powers D_ℓ in μK²: the median over the bins lies inside
#: (the spectrum is ≈ 10²-6×10³ μK² for 30 ≤ ℓ ≤ 2500), and no bin or error exceeds the upper
#: one (the first acoustic peak is ≈ 5.8×10³ μK², Planck 2018 results V).
TT_DL_RANGE = (10.0, 1e5)

# Planck 2018 high-ℓ binning (Planck 2018 V, arXiv:1907.12875): first multipole, width, last.
_PLANCK_LMIN, _PLANCK_DELTA, _PLANCK_LMAX = 30, 30, 2508


@dataclass(frozen=True)
class BinnedSpectrum:
    """A binned power spectrum D_b with errors, in μK².

    Attributes
    ----------
    ell_min, ell_max
        Inclusive multipole range of each bin, shape (n_bins,), int.
    ell_eff
        Effective multipole of each bin.
    dl
        Binned D_ℓ = ℓ(ℓ+1)C_ℓ/2π in μK².
    dl_err_lo, dl_err_hi
        Lower and upper 1σ errors in μK² (equal for symmetric errors).
    cov
        Optional full covariance (n_bins, n_bins) in μK⁴.
    kind
        ``"TT"``, ``"TE"`` or ``"EE"``.
    source
        Where the spectrum came from (file path).
    """

    ell_min: np.ndarray
    ell_max: np.ndarray
    ell_eff: np.ndarray
    dl: np.ndarray
    dl_err_lo: np.ndarray
    dl_err_hi: np.ndarray
    cov: np.ndarray | None = None
    kind: str = "TT"
    source: str = ""

    @property
    def dl_err(self) -> np.ndarray:
        """Symmetrised 1σ error (σ₋ + σ₊)/2 in μK²."""
        return 0.5 * (self.dl_err_lo + self.dl_err_hi)

    @property
    def n_bins(self) -> int:
        return len(self.dl)

    def select(self, mask: np.ndarray) -> BinnedSpectrum:
        """A new spectrum with only the bins where ``mask`` is true."""
        m = np.asarray(mask, dtype=bool)
        cov = None if self.cov is None else self.cov[np.ix_(m, m)]
        return BinnedSpectrum(self.ell_min[m], self.ell_max[m], self.ell_eff[m], self.dl[m],
                              self.dl_err_lo[m], self.dl_err_hi[m], cov, self.kind, self.source)


def _validate(s: BinnedSpectrum, path: str | os.PathLike[str] | None) -> BinnedSpectrum:
    for name in ("ell_min", "ell_max", "ell_eff", "dl", "dl_err_lo", "dl_err_hi"):
        a = getattr(s, name)
        bad = ~np.isfinite(a)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"non-finite value {a[i]} in row {i}", path=path, column=name)
    if np.any(s.ell_min < 2) or np.any(s.ell_max < s.ell_min):
        i = int(np.flatnonzero((s.ell_min < 2) | (s.ell_max < s.ell_min))[0])
        raise InputError(f"row {i}: bin [{s.ell_min[i]}, {s.ell_max[i]}] is invalid; expected "
                         "2 <= ell_min <= ell_max", path=path, column="ell_min")
    if np.any((s.ell_eff < s.ell_min) | (s.ell_eff > s.ell_max)):
        i = int(np.flatnonzero((s.ell_eff < s.ell_min) | (s.ell_eff > s.ell_max))[0])
        raise InputError(f"row {i}: ell_eff = {s.ell_eff[i]} lies outside its bin "
                         f"[{s.ell_min[i]}, {s.ell_max[i]}]", path=path, column="ell_eff")
    d = np.diff(s.ell_eff)
    if np.any(d == 0):
        i = int(np.flatnonzero(d == 0)[0]) + 1
        raise InputError(f"duplicated multipole ell = {s.ell_eff[i]} (rows {i - 1} and {i}); "
                         "expected one row per bin", path=path, column="ell_eff")
    if np.any(d < 0):
        i = int(np.flatnonzero(d < 0)[0]) + 1
        raise InputError(f"multipoles are not sorted: row {i} (ell = {s.ell_eff[i]}) comes after "
                         f"ell = {s.ell_eff[i - 1]}; sort the file by ell", path=path,
                         column="ell_eff")
    if np.any(s.ell_min[1:] <= s.ell_max[:-1]):
        i = int(np.flatnonzero(s.ell_min[1:] <= s.ell_max[:-1])[0]) + 1
        raise InputError(f"bins {i - 1} and {i} overlap ([{s.ell_min[i - 1]}, {s.ell_max[i - 1]}]"
                         f" and [{s.ell_min[i]}, {s.ell_max[i]}])", path=path, column="ell_min")
    for name in ("dl", "dl_err_lo", "dl_err_hi"):
        require_no_sentinel(getattr(s, name), column=name, path=path,
                            expected="a measured band power in μK² (no -999 sentinel)")
    if s.kind == "TT":
        for name in ("dl", "dl_err_lo", "dl_err_hi"):
            require_in_range(np.abs(getattr(s, name)), column=name, path=path,
                             hi=TT_DL_RANGE[1], unit="μK²", why="|value| of a CMB TT band "
                             "power or its error; the TT spectrum peaks near 6000 μK²")
    for name in ("dl_err_lo", "dl_err_hi"):
        a = getattr(s, name)
        if np.any(a <= 0):
            i = int(np.flatnonzero(a <= 0)[0])
            raise InputError(f"row {i} (ell = {s.ell_eff[i]}): error {a[i]} is not positive; "
                             "expected 1σ errors > 0 in μK²", path=path, column=name)
    if s.cov is not None:
        c = s.cov
        if c.shape != (s.n_bins, s.n_bins):
            raise InputError(f"covariance has shape {c.shape}, expected ({s.n_bins}, {s.n_bins})",
                             path=path)
        if not np.allclose(c, c.T, rtol=1e-8, atol=0):
            raise InputError("covariance is not symmetric", path=path)
        try:
            np.linalg.cholesky(c)
        except np.linalg.LinAlgError as exc:
            raise InputError("covariance is not positive definite", path=path) from exc
    return s


def check_units(spectrum: BinnedSpectrum, *, path: str | os.PathLike[str] | None = None) -> None:
    """Reject TT spectra whose magnitude says they are not D_ℓ in μK².

    The CMB TT spectrum has D_ℓ ≈ 10²-6×10³ μK² for 30 ≤ ℓ ≤ 2500. The median of ``dl`` over
    the bins is compared with that range, and the message names the likely mistake: C_ℓ instead
    of D_ℓ (D_ℓ = ℓ(ℓ+1)C_ℓ/2π), K² instead of μK² (×10¹²), or dimensionless ΔT/T (×T_CMB²).
    """
    if spectrum.kind != "TT":
        return
    lo, hi = TT_DL_RANGE
    med = float(np.median(spectrum.dl))
    if lo <= med <= hi:
        return
    ell = spectrum.ell_eff
    tcmb_uk = T_CMB * 1e6  # μK
    guesses = [
        ("C_ℓ in μK² (not D_ℓ); convert with D_ℓ = ℓ(ℓ+1)C_ℓ/2π",
         spectrum.dl * ell * (ell + 1) / (2 * np.pi)),
        ("D_ℓ in K² (not μK²); multiply by 1e12", spectrum.dl * 1e12),
        ("C_ℓ in K²; multiply by 1e12 and by ℓ(ℓ+1)/2π",
         spectrum.dl * 1e12 * ell * (ell + 1) / (2 * np.pi)),
        (f"dimensionless D_ℓ of ΔT/T; multiply by T_CMB² = ({tcmb_uk:.5g} μK)²",
         spectrum.dl * tcmb_uk**2),
        ("dimensionless C_ℓ of ΔT/T; multiply by T_CMB² ℓ(ℓ+1)/2π",
         spectrum.dl * tcmb_uk**2 * ell * (ell + 1) / (2 * np.pi)),
    ]
    hint = " or ".join(msg for msg, conv in guesses if lo <= np.median(conv) <= hi)
    expected = f"expected D_ℓ^TT = ℓ(ℓ+1)C_ℓ/2π in μK² (median {lo:g}-{hi:g})"
    raise InputError(
        f"median dl = {med:.3g} is not the magnitude of a CMB TT spectrum; {expected}"
        + (f"; the values look like {hint}" if hint else ""),
        path=path if path is not None else (spectrum.source or None),
        column="dl",
    )


def read_covariance(path: str | os.PathLike[str], n_bins: int) -> np.ndarray:
    """Read a covariance matrix in μK⁴: ``.npy``, or text (n×n, or n² numbers row-major)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("covariance file not found", path=p)
    try:
        c = np.load(p, allow_pickle=False) if p.suffix == ".npy" else np.loadtxt(p, ndmin=1)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"cannot read covariance: {exc}", path=p) from None
    c = np.asarray(c, dtype=float)
    if c.ndim == 1 and c.size == n_bins * n_bins:
        c = c.reshape(n_bins, n_bins)
    if c.shape != (n_bins, n_bins):
        raise InputError(f"covariance has {c.size} values (shape {c.shape}); expected "
                         f"{n_bins}×{n_bins} for {n_bins} bins", path=p)
    return c


def read_spectrum_csv(path: str | os.PathLike[str], *, kind: str = "TT",
                      cov: str | os.PathLike[str] | None = None) -> BinnedSpectrum:
    """Read the package's ``spectrum.csv`` (columns :data:`CSV_COLUMNS`, μK²).

    Parameters
    ----------
    path
        CSV file with a header. Optional ``dl_err_lo``/``dl_err_hi`` give asymmetric errors.
    kind
        Which spectrum the file holds (``TT``, ``TE`` or ``EE``); TT magnitudes are checked.
    cov
        Optional covariance file (see :func:`read_covariance`).
    """
    import pandas as pd

    p = Path(path)
    df = read_table(p, what="spectrum table", format="csv", comment="#")
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in CSV_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}; expected {list(CSV_COLUMNS)} "
                         f"(found {list(df.columns)})", path=p, column=missing[0])
    if len(df) == 0:
        raise InputError("no rows", path=p)
    cols = {}
    for c in [*CSV_COLUMNS, "dl_err_lo", "dl_err_hi"]:
        if c in df.columns:
            v = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
            if np.any(np.isnan(v)):
                i = int(np.flatnonzero(np.isnan(v))[0])
                raise InputError(f"row {i}: {df[c].iloc[i]!r} is not a number", path=p, column=c)
            cols[c] = v
    for c in ("ell_min", "ell_max"):
        if np.any(cols[c] != np.round(cols[c])):
            raise InputError("bin edges must be integers", path=p, column=c)
    lo = cols.get("dl_err_lo", cols["dl_err"])
    hi = cols.get("dl_err_hi", cols["dl_err"])
    s = BinnedSpectrum(cols["ell_min"].astype(int), cols["ell_max"].astype(int), cols["ell_eff"],
                       cols["dl"], lo, hi, None, kind.upper(), str(p))
    if np.any(cols["dl_err"] <= 0):
        i = int(np.flatnonzero(cols["dl_err"] <= 0)[0])
        raise InputError(f"row {i}: error {cols['dl_err'][i]} is not positive; expected 1σ > 0",
                         path=p, column="dl_err")
    if cov is not None:
        s = BinnedSpectrum(s.ell_min, s.ell_max, s.ell_eff, s.dl, lo, hi,
                           read_covariance(cov, len(s.dl)), s.kind, s.source)
    s = _validate(s, p)
    check_units(s, path=p)
    return s


def planck_bin_edges(n_bins: int, last_ell_eff: float | None = None,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Planck 2018 high-ℓ bin edges: Δℓ = 30 from ℓ = 30.

    The last bin is truncated at the likelihood's ℓ_max (2508 for TT, 1996 for TE and EE);
    given ``last_ell_eff``, the end whose ℓ(ℓ+1)-weighted mean multipole equals it is used.
    """
    ell_min = _PLANCK_LMIN + _PLANCK_DELTA * np.arange(n_bins)
    ell_max = np.minimum(ell_min + _PLANCK_DELTA - 1, _PLANCK_LMAX)
    if last_ell_eff is not None:
        start = int(ell_min[-1])
        ends = np.arange(start, start + _PLANCK_DELTA)
        eff = _weighted_ell_eff(np.full(len(ends), start), ends)
        j = int(np.argmin(np.abs(eff - last_ell_eff)))
        ell_max[-1] = ends[j]
    return ell_min, ell_max


def _weighted_ell_eff(ell_min: np.ndarray, ell_max: np.ndarray) -> np.ndarray:
    out = np.empty(len(ell_min))
    for i, (a, b) in enumerate(zip(ell_min, ell_max, strict=True)):
        ell = np.arange(a, b + 1, dtype=float)
        w = ell * (ell + 1)
        out[i] = np.sum(w * ell) / np.sum(w)
    return out


def read_planck_binned(path: str | os.PathLike[str], *, kind: str | None = None,
                       ) -> BinnedSpectrum:
    """Read a Planck 2018 binned spectrum (``COM_PowerSpect_CMB-TT-binned_R3.01.txt`` format).

    Parameters
    ----------
    path
        Whitespace table ``l_eff, Dl, -dDl, +dDl[, BestFit]`` in μK², ``#`` header.
    kind
        ``TT``/``TE``/``EE``; guessed from the file name when omitted (default TT).

    Notes
    -----
    Bin edges are reconstructed (see module docstring) and checked against the ℓ_eff column.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("spectrum file not found", path=p)
    if kind is None:
        kind = next((k for k in ("TT", "TE", "EE") if f"-{k}-" in p.name.upper()), "TT")
    try:
        a = np.loadtxt(p, comments="#", ndmin=2)
    except ValueError as exc:
        raise InputError(f"not a Planck binned spectrum (columns l, Dl, -dDl, +dDl): {exc}",
                         path=p) from exc
    if a.shape[1] < 4 or a.shape[0] == 0:
        raise InputError(f"expected at least 4 columns (l, Dl, -dDl, +dDl), got {a.shape[1]}",
                         path=p)
    ell_eff = a[:, 0]
    if np.any(np.diff(ell_eff) <= 0):
        i = int(np.flatnonzero(np.diff(ell_eff) <= 0)[0]) + 1
        raise InputError(f"row {i}: l = {ell_eff[i]} is not above the previous row's "
                         f"{ell_eff[i - 1]} (unsorted or duplicated ℓ)", path=p, column="l")
    ell_min, ell_max = planck_bin_edges(len(a), last_ell_eff=float(ell_eff[-1]))
    expect = _weighted_ell_eff(ell_min, ell_max)
    if np.max(np.abs(expect - ell_eff)) > 1e-3:
        i = int(np.argmax(np.abs(expect - ell_eff)))
        raise InputError(
            f"row {i}: l_eff = {ell_eff[i]} does not match the Planck 2018 binning (Δℓ = 30 from "
            f"ℓ = 30, expected {expect[i]:.4f}); use --format csv with explicit bin edges",
            path=p, column="l")
    s = BinnedSpectrum(ell_min, ell_max, ell_eff, a[:, 1], a[:, 2], a[:, 3], None, kind, str(p))
    s = _validate(s, p)
    check_units(s, path=p)
    return s


def read_three_column(path: str | os.PathLike[str], *, fsky: float, delta_ell: int,
                      lmin: int | None = None, lmax: int | None = None) -> BinnedSpectrum:
    r"""Read an unbinned TT spectrum ``ℓ, D_ℓ, σ_noise`` (μK²) and bin it with Knox errors.

    Each bin of ``delta_ell`` consecutive multipoles (from the first ℓ kept) gets the mean
    :math:`D_b = \frac{1}{n_b}\sum_{\ell \in b} D_\ell` and the Gaussian variance of
    Knox (1995, PRD 52, 4307) for a fraction ``fsky`` of the sky,

    .. math::

        \sigma_b^2 = \frac{1}{n_b^2}\sum_{\ell\in b} \frac{2}{(2\ell+1) f_{\rm sky}}
        \left(D_b + N_\ell\right)^2, \qquad
        N_\ell = \sigma_{{\rm noise},\ell}\sqrt{(2\ell+1) f_{\rm sky}/2},

    i.e. the given σ_noise is read as the noise part of Knox's error on one D_ℓ, and the sample
    variance of the signal is added (with the binned D_b as the signal, which is smoother than
    the single-ℓ D_ℓ). A last bin with fewer than ``delta_ell`` multipoles is kept.

    Parameters
    ----------
    path
        Text file, whitespace- or comma-separated, ``#`` comments, one row per multipole,
        contiguous integer ℓ ≥ 2.
    fsky
        Observed sky fraction, 0 < f_sky ≤ 1.
    delta_ell
        Bin width (≥ 1; 1 keeps single multipoles).
    lmin, lmax
        Optional multipole range kept before binning.

    Raises
    ------
    InputError
        Unreadable file, not three columns, non-finite values, ℓ not contiguous integers ≥ 2,
        negative σ_noise, or a spectrum that is not D_ℓ in μK².
    """
    p = Path(path)
    if not (isinstance(fsky, int | float) and 0.0 < fsky <= 1.0):
        raise ConfigError(f"--fsky {fsky}: expected a sky fraction 0 < f_sky <= 1")
    if int(delta_ell) != delta_ell or delta_ell < 1:
        raise ConfigError(f"--delta-ell {delta_ell}: expected an integer >= 1")
    delta_ell = int(delta_ell)
    if not p.is_file():
        raise InputError("spectrum file not found", path=p)
    try:
        with open(p, encoding="utf-8") as fh:
            text = fh.read()
        delim = "," if "," in next((ln for ln in text.splitlines()
                                    if ln.strip() and not ln.lstrip().startswith("#")), "") \
            else None
        a = np.loadtxt(p, comments="#", delimiter=delim, ndmin=2)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"not a three-column spectrum (ℓ, D_ℓ, σ_noise): {exc}", path=p) from None
    if a.size == 0:
        raise InputError("no rows", path=p)
    if a.shape[1] != 3:
        raise InputError(f"expected 3 columns (ℓ, D_ℓ, σ_noise in μK²), got {a.shape[1]}",
                         path=p)
    names = ("ell", "dl", "sigma_noise")
    for j, name in enumerate(names):
        bad = ~np.isfinite(a[:, j])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"row {i}: non-finite value {a[i, j]}", path=p, column=name)
    ell, dl, sig = a[:, 0], a[:, 1], a[:, 2]
    if np.any(ell != np.round(ell)) or np.any(ell < 2):
        i = int(np.flatnonzero((ell != np.round(ell)) | (ell < 2))[0])
        raise InputError(f"row {i}: ℓ = {ell[i]} is not an integer >= 2", path=p, column="ell")
    if np.any(sig < 0):
        i = int(np.flatnonzero(sig < 0)[0])
        raise InputError(f"row {i} (ℓ = {int(ell[i])}): σ_noise = {sig[i]:g} is negative; "
                         "expected the noise 1σ error on D_ℓ in μK², >= 0", path=p,
                         column="sigma_noise")
    step = np.diff(ell)
    if np.any(step != 1):
        i = int(np.flatnonzero(step != 1)[0]) + 1
        what = "not sorted or duplicated" if step[i - 1] < 1 else "not contiguous (a gap)"
        raise InputError(f"row {i}: ℓ = {int(ell[i])} follows ℓ = {int(ell[i - 1])}: "
                         f"multipoles {what}; expected one row per ℓ, increasing by 1",
                         path=p, column="ell")
    keep = np.ones(len(ell), dtype=bool)
    if lmin is not None:
        keep &= ell >= lmin
    if lmax is not None:
        keep &= ell <= lmax
    if not keep.any():
        raise InputError(f"no multipole left in [{lmin}, {lmax}]", path=p, column="ell")
    ell, dl, sig = ell[keep].astype(int), dl[keep], sig[keep]
    b = (ell - ell[0]) // delta_ell  # bin index of each multipole
    nb = np.bincount(b).astype(float)
    d_b = np.bincount(b, weights=dl) / nb
    knox = 2.0 / ((2.0 * ell + 1.0) * fsky)
    noise = sig / np.sqrt(knox)  # N_ℓ
    var_b = np.bincount(b, weights=knox * (d_b[b] + noise) ** 2) / nb**2
    ell_min = ell[0] + delta_ell * np.arange(len(nb))
    ell_max = np.minimum(ell_min + delta_ell - 1, ell[-1])
    err = np.sqrt(var_b)
    s = BinnedSpectrum(ell_min, ell_max, np.bincount(b, weights=ell) / nb, d_b, err, err, None,
                       "TT", str(p))
    check_units(s, path=p)
    return _validate(s, p)


def read_spectrum(path: str | os.PathLike[str], fmt: str = "csv", *, kind: str | None = None,
                  cov: str | os.PathLike[str] | None = None, fsky: float | None = None,
                  delta_ell: int | None = None) -> BinnedSpectrum:
    """Read a spectrum in ``fmt`` ``"csv"``, ``"planck-binned"`` or ``"three-column"`` (the
    last needs ``fsky`` and ``delta_ell``, see :func:`read_three_column`)."""
    if fmt == "three-column":
        if fsky is None or delta_ell is None:
            raise ConfigError("--format three-column needs --fsky F (observed sky fraction) and "
                              "--delta-ell N (bin width)")
        if cov is not None:
            raise ConfigError("--cov is not used with --format three-column (the bins are "
                              "independent, with Knox errors)")
        return read_three_column(path, fsky=fsky, delta_ell=delta_ell)
    if fmt == "csv":
        return read_spectrum_csv(path, kind=kind or "TT", cov=cov)
    if fmt == "planck-binned":
        s = read_planck_binned(path, kind=kind)
        if cov is not None:
            s = _validate(BinnedSpectrum(s.ell_min, s.ell_max, s.ell_eff, s.dl, s.dl_err_lo,
                                         s.dl_err_hi, read_covariance(cov, s.n_bins), s.kind,
                                         s.source), path)
        return s
    raise InputError(f"unknown spectrum format {fmt!r}; expected 'csv', 'planck-binned' or "
                     "'three-column'")


def write_spectrum_csv(spectrum: BinnedSpectrum, path: str | os.PathLike[str]) -> Path:
    """Write ``spectrum`` in the CSV contract (adds ``dl_err_lo, dl_err_hi`` if asymmetric)."""
    import pandas as pd

    df = pd.DataFrame({"ell_min": spectrum.ell_min, "ell_max": spectrum.ell_max,
                       "ell_eff": spectrum.ell_eff, "dl": spectrum.dl, "dl_err": spectrum.dl_err})
    if not np.array_equal(spectrum.dl_err_lo, spectrum.dl_err_hi):
        df["dl_err_lo"] = spectrum.dl_err_lo
        df["dl_err_hi"] = spectrum.dl_err_hi
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.10g")
    return Path(path)
