"""Light curves given as magnitudes, one file per supernova, and ``name z`` redshift lists.

The form school courses hand out (see :func:`read_mag_lightcurves`), the conversions between
magnitudes and the sncosmo flux convention of :mod:`rediscovery.cosmo.sn.io`, and writers for
simulated course data sets. Every reader raises :class:`~rediscovery.core.errors.InputError`
naming the file and the line at fault.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import InputError
from rediscovery.cosmo.sn.io import BRIGHTEST_MAG, SN_Z_MAX, PathLike, read_redshifts

__all__ = [
    "MAG_FILE_ZP",
    "MIN_SNR_FOR_MAG",
    "fluxes_to_mags",
    "mags_to_fluxes",
    "read_mag_lightcurves",
    "read_redshift_list",
    "write_mag_lightcurves",
    "write_redshift_list",
]

#: Header names accepted for the columns of a magnitude light-curve file (case-insensitive).
_MAG_HEADER = {"time": ("time", "mjd", "jd", "t", "date"), "mag": ("mag", "m", "magnitude"),
               "mag_err": ("mag_err", "magerr", "err", "error", "dmag", "sigma", "mag_error",
                           "e_mag"),
               "band": ("band", "filter", "flt")}
#: Zero point (AB) used to turn magnitudes into sncosmo fluxes (and back).
MAG_FILE_ZP = 25.0
#: Smallest signal-to-noise of a flux point turned into a magnitude.
MIN_SNR_FOR_MAG = 3.0


def _mag_files(source: PathLike) -> list[Path]:
    """The files of a folder (sorted, hidden ones left out) or of a glob pattern."""
    import glob

    s = str(source)
    p = Path(s)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
        if not files:
            raise InputError("folder holds no light-curve files", path=p)
        return files
    if p.is_file():
        return [p]
    if any(ch in s for ch in "*?["):
        files = sorted(Path(f) for f in glob.glob(s) if Path(f).is_file())
        if not files:
            raise InputError("no file matches this pattern", path=s)
        return files
    raise InputError("not found: expected a folder of light-curve files, a file or a glob "
                     "pattern such as 'lc/*.dat'", path=p)


def _mag_header(fields: list[str], path: Path, lineno: int) -> list[str] | None:
    """Column names if ``fields`` is a header line (no number in it), else None."""
    for f in fields:
        try:
            float(f)
            return None
        except ValueError:
            pass
    names = []
    for f in fields:
        key = next((k for k, al in _MAG_HEADER.items() if f.lower() in al), None)
        if key is None or key in names:
            raise InputError(f"line {lineno}: header field {f!r} not understood; expected "
                             "time, mag, mag_err and optionally band (or no header)", path=path)
        names.append(key)
    if set(names) < {"time", "mag", "mag_err"}:
        raise InputError(f"line {lineno}: the header needs time, mag and mag_err columns, got "
                         f"{fields}", path=path)
    return names


def _read_mag_file(path: Path) -> pd.DataFrame:
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise InputError("not a text file; expected lines 'time mag mag_err [band]'",
                         path=path) from None
    names: list[str] | None = None
    rows: list[dict[str, Any]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        s = line.split("#", 1)[0].strip()
        if not s:
            continue
        fields = s.replace(",", " ").split()
        if names is None and not rows:
            header = _mag_header(fields, path, lineno)
            if header is not None:
                names = header
                continue
        cols = names or (["time", "mag", "mag_err", "band"][: len(fields)]
                         if len(fields) in (3, 4) else None)
        if cols is None or len(fields) != len(cols):
            want = len(names) if names else "3 (time mag mag_err) or 4 (… band)"
            raise InputError(f"line {lineno}: {len(fields)} fields, expected {want}: "
                             f"{line.strip()!r}", path=path)
        rec: dict[str, Any] = {"line": lineno}
        for c, v in zip(cols, fields, strict=True):
            if c == "band":
                rec[c] = v
                continue
            try:
                x = float(v)
            except ValueError:
                raise InputError(f"line {lineno}: {c} {v!r} is not a number: {line.strip()!r}",
                                 path=path) from None
            if not np.isfinite(x):
                raise InputError(f"line {lineno}: {c} is {v}", path=path)
            rec[c] = x
        if rec["mag_err"] <= 0:
            raise InputError(f"line {lineno}: mag_err {rec['mag_err']:g} must be > 0", path=path)
        if rec["mag"] == -999.0 or rec["mag"] < BRIGHTEST_MAG:
            raise InputError(f"line {lineno}: mag {rec['mag']:g} is not a supernova magnitude "
                             "(missing-value sentinel or a flux?)", path=path)
        rows.append(rec)
    if not rows:
        raise InputError("no data lines (empty, or only comments); expected lines "
                         "'time mag mag_err [band]'", path=path)
    df = pd.DataFrame(rows)
    if "band" not in df:
        df["band"] = "B"
    if df["band"].isna().any():
        i = int(np.flatnonzero(df["band"].isna().to_numpy())[0])
        raise InputError(f"line {df['line'].iloc[i]}: no band while other lines give one",
                         path=path)
    dup = df.duplicated(["time", "band"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"line {df['line'].iloc[i]}: time {df['time'].iloc[i]:g} in band "
                         f"{df['band'].iloc[i]} listed twice", path=path)
    return df


def read_mag_lightcurves(source: PathLike, *, exclude: tuple[PathLike, ...] = ()) -> pd.DataFrame:
    """Read light curves given as magnitudes, one file per supernova.

    Parameters
    ----------
    source
        A folder (every non-hidden file in it), one file, or a glob pattern (``"lc/*.dat"``).
        The SN name is the file name without its last extension (``sn1997ap.dat`` →
        ``sn1997ap``).
    exclude
        Files to leave out (e.g. the redshift list when it sits in the same folder).

    Each file has whitespace (or comma) separated columns ``time mag mag_err`` and optionally
    ``band`` (time in days, e.g. MJD; magnitudes in mag); ``#`` starts a comment; an optional
    first line names the columns in any order (``mjd``, ``filter``, ``err`` … are understood).
    Without a band column the band is ``B``.

    Returns
    -------
    DataFrame
        ``sn_id, time, band, mag, mag_err`` (the stretch model's input).

    Raises
    ------
    InputError
        Naming the file and line: a line with the wrong number of fields, a non-numeric
        value, mag_err ≤ 0, an empty file, the same time and band twice, two files with the
        same SN name.
    """
    skip = {Path(e).resolve() for e in exclude}
    files = [f for f in _mag_files(source) if f.resolve() not in skip]
    if not files:
        raise InputError("no light-curve files besides the excluded ones", path=source)
    frames = []
    seen: dict[str, Path] = {}
    for f in files:
        name = f.stem
        if name in seen:
            raise InputError(f"SN name {name!r} comes from two files ({seen[name].name} and "
                             f"{f.name}): one file per supernova", path=f)
        seen[name] = f
        df = _read_mag_file(f)
        df.insert(0, "sn_id", name)
        frames.append(df.drop(columns="line"))
    out = pd.concat(frames, ignore_index=True)
    out["band"] = out["band"].astype(str)
    return out[["sn_id", "time", "band", "mag", "mag_err"]]


def read_redshift_list(path: PathLike) -> pd.DataFrame:
    """Read a redshift list: whitespace lines ``name z`` (``#`` comments, an optional header
    line ``name z``), or ``redshifts.csv`` (``sn_id, z``; recognised by its comma).

    Raises InputError naming the file and line for a wrong number of fields, a non-numeric
    or out-of-range redshift, a name listed twice, or no lines at all.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("redshift list not found", path=p)
    try:
        text = p.read_text()
    except UnicodeDecodeError:
        raise InputError("not a text file; expected lines 'name z'", path=p) from None
    lines = [(i, ln.split("#", 1)[0].strip()) for i, ln in enumerate(text.splitlines(), 1)]
    lines = [(i, s) for i, s in lines if s]
    if lines and "," in lines[0][1]:
        return read_redshifts(p)
    ids, zs = [], []
    for k, (lineno, s) in enumerate(lines):
        fields = s.split()
        if len(fields) < 2:
            raise InputError(f"line {lineno}: expected 'name z', got {s!r}", path=p)
        try:
            z = float(fields[1])
        except ValueError:
            if k == 0:  # a header line such as "name z"
                continue
            raise InputError(f"line {lineno}: redshift {fields[1]!r} of {fields[0]} is not a "
                             "number", path=p) from None
        if not (np.isfinite(z) and 0 < z <= SN_Z_MAX):
            raise InputError(f"line {lineno}: redshift {fields[1]} of {fields[0]} outside "
                             f"(0, {SN_Z_MAX:g}]", path=p, column="z")
        if fields[0] in ids:
            raise InputError(f"line {lineno}: {fields[0]!r} listed twice", path=p)
        ids.append(fields[0])
        zs.append(z)
    if not ids:
        raise InputError("no redshifts (empty, or only comments); expected lines 'name z'",
                         path=p)
    return pd.DataFrame({"sn_id": ids, "z": zs})


def mags_to_fluxes(mags: pd.DataFrame, zp: float = MAG_FILE_ZP) -> pd.DataFrame:
    """Magnitude light curves (``sn_id, time, band, mag, mag_err``) in the sncosmo columns
    :data:`LIGHTCURVE_COLUMNS` (AB, zero point ``zp``): flux = 10^(−0.4 (mag − zp)),
    fluxerr = 0.4 ln 10 · flux · mag_err (first order)."""
    flux = 10.0 ** (-0.4 * (mags["mag"].to_numpy() - zp))
    return pd.DataFrame({"sn_id": mags["sn_id"].astype(str), "time": mags["time"],
                         "band": mags["band"].astype(str), "flux": flux,
                         "fluxerr": 0.4 * np.log(10.0) * flux * mags["mag_err"].to_numpy(),
                         "zp": zp, "zpsys": "ab"})


def fluxes_to_mags(lcs: pd.DataFrame, min_snr: float = MIN_SNR_FOR_MAG) -> pd.DataFrame:
    """sncosmo-convention photometry as magnitudes (mag = zp − 2.5 log10 flux, mag_err =
    1.0857 fluxerr/flux); points with flux/fluxerr < ``min_snr`` are left out (their
    magnitude errors are not Gaussian)."""
    snr = lcs["flux"].to_numpy() / lcs["fluxerr"].to_numpy()
    keep = snr >= min_snr
    g = lcs[keep]
    return pd.DataFrame({"sn_id": g["sn_id"].astype(str), "time": g["time"],
                         "band": g["band"].astype(str),
                         "mag": g["zp"].to_numpy() - 2.5 * np.log10(g["flux"].to_numpy()),
                         "mag_err": 2.5 / np.log(10.0) / snr[keep]}).reset_index(drop=True)


def write_mag_lightcurves(mags: pd.DataFrame, folder: PathLike, *, ext: str = ".dat") -> Path:
    """Write magnitude light curves as one ``<sn_id><ext>`` file per SN in ``folder`` (lines
    ``time mag mag_err band`` under a ``#`` header line), the form :func:`read_mag_lightcurves`
    reads."""
    from rediscovery.core.files import write_text

    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    for sn_id, g in mags.groupby(mags["sn_id"].astype(str), sort=False):
        lines = ["# time mag mag_err band"] + [
            f"{t:.4f} {m:.4f} {e:.4f} {b}" for t, m, e, b in
            zip(g["time"], g["mag"], g["mag_err"], g["band"], strict=True)]
        write_text(d / f"{sn_id}{ext}", "\n".join(lines) + "\n")
    return d


def write_redshift_list(redshifts: pd.DataFrame, path: PathLike) -> Path:
    """Write ``name z`` lines (the form :func:`read_redshift_list` reads)."""
    from rediscovery.core.files import write_text

    lines = ["# name z"] + [f"{n} {z:.6f}" for n, z in
                            zip(redshifts["sn_id"], redshifts["z"], strict=True)]
    return write_text(path, "\n".join(lines) + "\n")
