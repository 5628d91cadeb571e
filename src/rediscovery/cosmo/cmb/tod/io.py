"""The TOD file (HDF5): writer and a validating, chunk-iterating reader.

Layout (format ``rediscovery-tod`` version 1; every array has one entry per sample, written
in chunks of ``chunk`` samples so that no step holds the whole TOD)::

    /                       attrs: format, format_version, sample_rate (Hz), n_samples,
                                   beam_fwhm_arcmin, nside_pointing, pixel_ordering ("NESTED"),
                                   coord ("C", equatorial), units ("uK"), time_start (s),
                                   site_latitude_deg, elevation_deg, az_center_deg,
                                   az_half_width_deg, az_speed_deg_s, lst_start_deg,
                                   noise_block (samples per independent noise realisation)
    /detectors/<name>/      attrs: net_uK (white σ per sample), fknee_hz, alpha,
                                   offset_x_rad, offset_y_rad
        signal              float32 (n_samples,)   μK, sky + noise
        pixels              int32   (n_samples,)   HEALPix NESTED index at nside_pointing
        theta, phi          float32 (n_samples,)   radians (optional: --no-angles omits them)
        psi                 float32 (n_samples,)   polarisation angle on the sky, radians
                                                   (polarisation-sensitive detectors only;
                                                   attribute pol_angle_rad in the focal plane)

Sample i is at time time_start + i / sample_rate (seconds). Sizes: 8 bytes per sample
without angles, 16 with (the default 3.46 × 10⁶ samples: 55 MB; 10⁸ samples: 0.8 / 1.6 GB).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.files import atomic_path
from rediscovery.cosmo.cmb.tod.scan import Detector
from rediscovery.cosmo.cmb.tod.simulate import TODChunk, TODConfig

__all__ = ["FORMAT", "FORMAT_VERSION", "TODFile", "write_tod"]

FORMAT = "rediscovery-tod"
FORMAT_VERSION = 1
_ROOT_ATTRS = ("format", "format_version", "sample_rate", "n_samples", "beam_fwhm_arcmin",
               "nside_pointing", "pixel_ordering", "units")
_DET_ATTRS = ("net_uK", "fknee_hz", "alpha", "offset_x_rad", "offset_y_rad")


def write_tod(path: str | os.PathLike[str], config: TODConfig, chunks: Iterable[TODChunk], *,
              angles: bool = True, progress: Any = None) -> Path:
    """Write the chunks of :func:`~rediscovery.cosmo.cmb.tod.simulate.simulate_chunks` to an
    HDF5 file (atomically: a failure leaves no partial file).

    ``progress``: optional callable ``advance(n_samples)`` called after every chunk.
    """
    import h5py

    n = config.n_samples
    hchunk = (min(config.chunk, n),)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        s = config.scan
        f.attrs.update({
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "sample_rate": config.sample_rate, "n_samples": n,
            "beam_fwhm_arcmin": config.fwhm_arcmin, "nside_pointing": config.nside_pointing,
            "pixel_ordering": "NESTED", "coord": "C", "units": "uK", "time_start": 0.0,
            "site_latitude_deg": s.site_latitude, "elevation_deg": s.elevation,
            "az_center_deg": s.az_center, "az_half_width_deg": s.az_half_width,
            "az_speed_deg_s": s.az_speed, "lst_start_deg": s.lst_start,
            "noise_block": config.noise_block})
        dets = f.create_group("detectors")
        dsets: dict[str, dict[str, Any]] = {}
        for d in config.detectors:
            g = dets.create_group(d.name)
            g.attrs.update({"net_uK": d.net, "fknee_hz": d.fknee, "alpha": d.alpha,
                            "offset_x_rad": d.dx, "offset_y_rad": d.dy})
            names = [("signal", "f4"), ("pixels", "i4")]
            if angles:
                names += [("theta", "f4"), ("phi", "f4")]
            if d.polarised:
                g.attrs["pol_angle_rad"] = d.pol_angle
                names.append(("psi", "f4"))
            dsets[d.name] = {k: g.create_dataset(k, shape=(n,), dtype=dt, chunks=hchunk)
                             for k, dt in names}
        for c in chunks:
            sl = slice(c.start, c.start + len(c.signal))
            ds = dsets[c.detector]
            ds["signal"][sl] = c.signal
            ds["pixels"][sl] = c.pixels
            if "psi" in ds:
                if c.psi is None:
                    raise ConfigError(f"detector {c.detector} is polarised but its chunk at "
                                      f"{c.start} has no psi")
                ds["psi"][sl] = c.psi
            if angles:
                ds["theta"][sl] = c.theta
                ds["phi"][sl] = c.phi
            if progress is not None:
                progress(len(c.signal))
    return Path(path)


class TODFile:
    """Read a TOD file, validating its structure on opening and every chunk as it is read.

    Use as a context manager::

        with TODFile("tod.h5") as tod:
            for chunk in tod.iter_chunks():
                ...

    Raises
    ------
    InputError
        Naming the file, the dataset or attribute, and what was expected: not an HDF5 file,
        missing attributes, a detector without ``signal``/``pixels``, datasets whose length is
        not ``n_samples``, pixel indices outside the sphere, NaN or infinite samples.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import h5py

        self.path = Path(path)
        if not self.path.is_file():
            raise InputError("no such file; expected a TOD written by `rediscovery cosmo "
                             "cmb-simulate` (HDF5)", path=self.path)
        try:
            self._f = h5py.File(self.path, "r")
        except OSError as exc:
            raise InputError(f"not a readable HDF5 file ({exc})", path=self.path) from exc
        try:
            self._validate()
        except Exception:
            self._f.close()
            raise

    # -- structure -------------------------------------------------------------------------
    def _err(self, msg: str, dataset: str | None = None) -> InputError:
        return InputError(msg, path=self.path, column=dataset)

    def _validate(self) -> None:
        a = self._f.attrs
        missing = [k for k in _ROOT_ATTRS if k not in a]
        if missing:
            raise self._err(f"missing root attribute(s) {missing}; expected a {FORMAT} file "
                            f"with attributes {list(_ROOT_ATTRS)}")
        if a["format"] != FORMAT:
            raise self._err(f"attribute format = {a['format']!r}, expected {FORMAT!r}")
        self.sample_rate = float(a["sample_rate"])
        self.n_samples = int(a["n_samples"])
        self.fwhm_arcmin = float(a["beam_fwhm_arcmin"])
        self.nside_pointing = int(a["nside_pointing"])
        if not (math.isfinite(self.sample_rate) and self.sample_rate > 0):
            raise self._err(f"attribute sample_rate = {self.sample_rate}: expected > 0 Hz")
        if a["pixel_ordering"] != "NESTED":
            raise self._err(f"attribute pixel_ordering = {a['pixel_ordering']!r}, expected "
                            "'NESTED'")
        if self.nside_pointing < 1 or self.nside_pointing & (self.nside_pointing - 1):
            raise self._err(f"attribute nside_pointing = {self.nside_pointing}: expected a "
                            "power of 2")
        if "detectors" not in self._f or not len(self._f["detectors"]):
            raise self._err("no group /detectors with at least one detector")
        self.detectors: list[Detector] = []
        for name, g in self._f["detectors"].items():
            where = f"/detectors/{name}"
            miss = [k for k in _DET_ATTRS if k not in g.attrs]
            if miss:
                raise self._err(f"missing attribute(s) {miss}; expected {list(_DET_ATTRS)}",
                                where)
            for k in ("signal", "pixels"):
                if k not in g:
                    raise self._err(f"missing dataset {k!r}", where)
            if "pol_angle_rad" in g.attrs and "psi" not in g:
                raise self._err("polarised detector (attribute pol_angle_rad) without the "
                                "dataset 'psi'", where)
            for k in ("signal", "pixels", "theta", "phi", "psi"):
                if k in g and g[k].shape != (self.n_samples,):
                    raise self._err(f"shape {g[k].shape}, expected ({self.n_samples},) "
                                    "(n_samples): samples and pointing must have the same "
                                    "length", f"{where}/{k}")
            if np.dtype(g["pixels"].dtype).kind not in "iu":
                raise self._err(f"dtype {g['pixels'].dtype}, expected integer HEALPix indices",
                                f"{where}/pixels")
            ga = g.attrs
            pol = float(ga["pol_angle_rad"]) if "pol_angle_rad" in ga else None
            self.detectors.append(Detector(name, float(ga["offset_x_rad"]),
                                           float(ga["offset_y_rad"]), net=float(ga["net_uK"]),
                                           fknee=float(ga["fknee_hz"]),
                                           alpha=float(ga["alpha"]), pol_angle=pol))

    @property
    def attrs(self) -> dict[str, Any]:
        """The root attributes as plain Python values."""
        return {k: (v.item() if hasattr(v, "item") else v) for k, v in self._f.attrs.items()}

    @property
    def has_angles(self) -> bool:
        return all("theta" in g for g in self._f["detectors"].values())

    # -- data ------------------------------------------------------------------------------
    def _group(self, name: str) -> Any:
        if name not in self._f["detectors"]:
            raise self._err(f"no detector {name!r}; the file has "
                            f"{[d.name for d in self.detectors]}")
        return self._f["detectors"][name]

    def _check_pixels(self, pix: np.ndarray, name: str) -> np.ndarray:
        npix = 12 * self.nside_pointing**2
        if pix.size and (pix.min() < 0 or pix.max() >= npix):
            raise self._err(f"pixel index outside [0, {npix}) for nside "
                            f"{self.nside_pointing}", f"/detectors/{name}/pixels")
        return pix

    def iter_chunks(self, chunk: int | None = None, *, detectors: Iterable[str] | None = None,
                    angles: bool = False) -> Iterator[TODChunk]:
        """Yield :class:`TODChunk` of ``chunk`` samples (default: the file's HDF5 chunk),
        detector after detector; signal (and ψ of polarised detectors) as float64."""
        names = [d.name for d in self.detectors] if detectors is None else list(detectors)
        for name in names:
            g = self._group(name)
            signal, pixels = g["signal"], g["pixels"]  # a dataset lookup costs ~0.1 ms
            psi = g.get("psi")
            theta, phi = (g.get("theta"), g.get("phi")) if angles else (None, None)
            step = chunk or (signal.chunks or (1 << 20,))[0]
            for c0 in range(0, self.n_samples, step):
                c1 = min(c0 + step, self.n_samples)
                sig = signal[c0:c1].astype(np.float64)
                bad = ~np.isfinite(sig)
                if bad.any():
                    raise self._err(f"{int(bad.sum())} non-finite sample(s) (first at index "
                                    f"{c0 + int(np.argmax(bad))}); expected finite μK values",
                                    f"/detectors/{name}/signal")
                pix = self._check_pixels(pixels[c0:c1].astype(np.int64), name)
                th = None if theta is None else theta[c0:c1]
                ph = None if phi is None else phi[c0:c1]
                ps = None if psi is None else psi[c0:c1].astype(np.float64)
                if ps is not None and not np.all(np.isfinite(ps)):
                    raise self._err("non-finite polarisation angle(s); expected radians",
                                    f"/detectors/{name}/psi")
                yield TODChunk(name, c0, sig, pix, th, ph, ps)

    def iter_pixels(self, chunk: int | None = None, *, detectors: Iterable[str] | None = None,
                    check: bool = True) -> Iterator[tuple[str, int, np.ndarray]]:
        """Yield ``(detector, start, pixels)`` like :meth:`iter_chunks` without reading the
        samples: the pointing alone, as stored (int32 NESTED indices at ``nside_pointing``),
        for the repeated passes of an iterative map-maker that only needs P.

        The yielded array is a view of one buffer, overwritten by the next chunk (no fresh
        allocation per chunk): copy it to keep it. ``check=False`` skips the range check of
        the indices (for passes after one that checked them).
        """
        for name, c0, pix, _ in self._iter_pointing(chunk, detectors, check, False):
            yield name, c0, pix

    def iter_pointing(self, chunk: int | None = None, *,
                      detectors: Iterable[str] | None = None, check: bool = True
                      ) -> Iterator[tuple[str, int, np.ndarray, np.ndarray | None]]:
        """Yield ``(detector, start, pixels, psi)``: :meth:`iter_pixels` with the polarisation
        angles as stored (float32 radians; ``None`` for a temperature-only detector), for an
        iterative I, Q, U map-maker. Both arrays are views of reused buffers."""
        yield from self._iter_pointing(chunk, detectors, check, True)

    def _iter_pointing(self, chunk: int | None, detectors: Iterable[str] | None, check: bool,
                       with_psi: bool
                       ) -> Iterator[tuple[str, int, np.ndarray, np.ndarray | None]]:
        names = [d.name for d in self.detectors] if detectors is None else list(detectors)
        bufs: dict[str, np.ndarray] = {}

        def read(dset: Any, key: str, step: int, c0: int, c1: int) -> np.ndarray:
            buf = bufs.get(key)
            if buf is None or buf.size < step or buf.dtype != dset.dtype:
                buf = bufs[key] = np.empty(step, dtype=dset.dtype)
            view = buf[: c1 - c0]
            dset.read_direct(view, np.s_[c0:c1], np.s_[0:c1 - c0])
            return view

        for name in names:
            g = self._group(name)
            pixels = g["pixels"]
            psi = g.get("psi") if with_psi else None
            step = min(chunk or (pixels.chunks or (1 << 20,))[0], self.n_samples)
            for c0 in range(0, self.n_samples, step):
                c1 = min(c0 + step, self.n_samples)
                view = read(pixels, "pixels", step, c0, c1)
                ps = None if psi is None else read(psi, "psi", step, c0, c1)
                if check and ps is not None and not np.all(np.isfinite(ps)):
                    raise self._err("non-finite polarisation angle(s); expected radians",
                                    f"/detectors/{name}/psi")
                yield name, c0, self._check_pixels(view, name) if check else view, ps

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> TODFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def simulate_to_files(out: str | os.PathLike[str], config: TODConfig, seed: int, *,
                      nside_sky: int = 256, cl: np.ndarray | None = None,
                      cosmology: dict[str, float] | None = None, angles: bool = True,
                      progress: bool = False) -> dict[str, Any]:
    """Simulate a hidden sky and the TOD that observes it; write them under ``out``.

    Writes ``out/tod.h5`` (the data) and the hidden truth ``out/truth/truth.json`` (cosmology,
    seed, C_ℓ^TT in μK²) and ``out/truth/truth_sky.fits`` (RING maps in μK: column
    ``SKY_SMOOTHED`` seen by the detectors, column ``SKY`` before the beam). When a detector
    of ``config`` is polarised the sky is I, Q, U (:func:`~rediscovery.cosmo.cmb.tod.sky
    .gaussian_sky_iqu` of CAMB's TT, EE, TE): ``truth.json`` also holds C_ℓ^EE, BB, TE and
    ``truth_sky.fits`` the columns ``Q_SMOOTHED``, ``U_SMOOTHED``, ``Q``, ``U`` after the two
    temperature ones (I). No analysis stage reads ``truth/``.

    Parameters
    ----------
    cl
        C_ℓ^TT (μK², ℓ = 0 … lmax) to use instead of CAMB at the hidden cosmology; for
        polarised detectors rows TT, EE, BB, TE (shape (4, lmax + 1)).
    cosmology
        CAMB parameters to use instead of the hidden draw (ignored when ``cl`` is given).

    Returns
    -------
    dict
        A small summary: paths, samples, detectors, whether polarised (no hidden values).
    """
    import healpy as hp

    from rediscovery.core.files import write_json
    from rediscovery.core.progress import progress_bar
    from rediscovery.cosmo.cmb.tod.simulate import simulate_chunks
    from rediscovery.cosmo.cmb.tod.sky import (
        draw_sky_cosmology,
        gaussian_sky,
        gaussian_sky_iqu,
        iqu_cl,
        tt_cl,
    )

    out = Path(out)
    lmax = 3 * nside_sky - 1
    hidden = cl is None and cosmology is None
    polarised = any(d.polarised for d in config.detectors)
    if cl is None:
        cosmology = cosmology if cosmology is not None else draw_sky_cosmology(seed)
        cl = (iqu_cl if polarised else tt_cl)(cosmology, lmax)
    cl = np.asarray(cl, dtype=float)[..., : lmax + 1]
    if cl.shape[:-1] != ((4,) if polarised else ()):
        raise ConfigError(f"cl of shape {cl.shape}: expected "
                          + ("(4, lmax + 1) rows TT, EE, BB, TE for polarised detectors"
                             if polarised else "(lmax + 1,) C_ell^TT"))
    rng = np.random.default_rng([seed, 0x534B59])  # "SKY"
    if polarised:
        sky, smooth = gaussian_sky_iqu(cl, nside_sky, config.fwhm_arcmin, rng)
        columns = [smooth[0], sky[0], smooth[1], smooth[2], sky[1], sky[2]]
        names = ["SKY_SMOOTHED", "SKY", "Q_SMOOTHED", "U_SMOOTHED", "Q", "U"]
        spectra = {"cl_tt_uK2": cl[0].tolist(), "cl_ee_uK2": cl[1].tolist(),
                   "cl_bb_uK2": cl[2].tolist(), "cl_te_uK2": cl[3].tolist()}
    else:
        sky, smooth = gaussian_sky(cl, nside_sky, config.fwhm_arcmin, rng)
        columns, names = [smooth, sky], ["SKY_SMOOTHED", "SKY"]
        spectra = {"cl_tt_uK2": cl.tolist()}
    truth_dir = out / "truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(truth_dir / "truth_sky.fits") as tmp:
        hp.write_map(str(tmp), columns, column_names=names, column_units="uK", coord="C",
                     overwrite=True, dtype=np.float64)
    write_json(truth_dir / "truth.json", {
        "cosmology": cosmology, "hidden": hidden, "seed": seed, "nside_sky": nside_sky,
        "fwhm_arcmin": config.fwhm_arcmin, "polarised": polarised, **spectra,
        "note": "C_ell (uK^2, ell = 0..lmax) of the realisation in truth_sky.fits; the TOD "
                "samples SKY_SMOOTHED (and Q_SMOOTHED, U_SMOOTHED) at the nearest pixel"})
    total = config.n_samples * len(config.detectors)
    with progress_bar(enabled=progress) as bar:
        task = bar.add_task("TOD samples", total=total)
        write_tod(out / "tod.h5", config, simulate_chunks(config, smooth, seed, angles=angles),
                  angles=angles, progress=lambda k: bar.advance(task, k))
    return {"tod": str(out / "tod.h5"), "n_samples_per_detector": config.n_samples,
            "n_detectors": len(config.detectors), "n_samples_total": total,
            "hidden": hidden, "polarised": polarised}
