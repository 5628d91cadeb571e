r"""Simulate a rolling supernova search (SNLS / DES-SN like): catalogues, conditions, images.

Pure computation: :func:`draw_scene` draws every catalogue and every exposure's conditions
(tables), :func:`render_images` turns them into arrays with header dictionaries, one image at
a time (a generator, so memory stays one image). Files are written by
:mod:`rediscovery.cosmo.sn.images.io`.

**Survey.** ``n_fields`` fields (CCDs of ``size`` × ``size`` pixels at ``pixel_scale``
arcsec, TAN projection, north up, east left) observed in each band ``n_epochs`` times over a
season (``season_start``, ``season_length``: those of the light-curve simulator's
:class:`~rediscovery.cosmo.sn.simulate.Survey`), evenly spaced with a jitter of ±¼ of the
cadence; the bands of one visit follow each other by 0.01 d. Each exposure has its own
seeing (FWHM = reference FWHM × U(``seeing_ratio``), one draw per visit for all bands),
Moffat β ~ U(:data:`~rediscovery.cosmo.sn.images.render.MOFFAT_BETA_RANGE`), sky brightness
(nominal + N(0, 0.2) mag), transparency (ZP − |N(0, 0.05)| mag) and pointing offset
(dx, dy ~ U(−``max_shift``, ``max_shift``) pixels, encoded in the WCS's CRPIX). One deep
reference per field and band: a stack of ``n_stack`` exposures from the previous season on
the field grid (no offset), at the reference seeing, ZP + 2.5 log10(n_stack), sky and
saturation × n_stack, read noise × sqrt(n_stack); without transients, cosmic rays or hot
pixels (a stack rejects them) and with variable stars at their mean flux.

**Sky.** Stars (``star_density`` per arcmin², r from a dN/dm ∝ 10^(0.2 m) law in
``star_mag_range``, toy colours g−r ~ U(0.3, 1.4), r−i = 0.45(g−r), i−z = 0.25(g−r)); galaxies
(``galaxy_density`` per arcmin², redshifts from the SN rate law of
:func:`~rediscovery.cosmo.sn.simulate.sample_redshifts` up to z = 1, M_r ~ N(−20.5, 1),
m = M + μ(z) without K-correction, g−r = 0.8, r−i = 0.4, i−z = 0.25; R_e = U(1, 5) kpc at the
angular-diameter distance; Sérsic n ~ U(0.8, 4), b/a ~ U(0.3, 1)); the SN Ia hosts are
galaxies of the same kind at the SN's redshift.

**Supernovae** (``sne_per_field`` per field): the hidden cosmology of
:func:`~rediscovery.cosmo.sn.simulate.draw_truth` and the population of
:func:`~rediscovery.cosmo.sn.simulate.draw_population` (Tripp relation, σ_int, peculiar
velocities) with redshifts from :func:`~rediscovery.cosmo.sn.simulate.sample_redshifts`
limited to where SALT2 (2000–9200 Å rest frame) covers every band (z ≈ 0.21–0.8 for griz).
Peak dates t0 ~ U(season start − 10 d, season end − 10 d). The SN sits in its host at a
radius drawn from the light of an exponential disc (Γ(2, R_e/1.678)) along the host's
ellipse. Fluxes: SALT2 ``bandflux`` through the registered SDSS bandpasses
(:mod:`~rediscovery.cosmo.sn.images.bands`) at ``TRUTH_ZP`` (AB), converted to counts with
each image's ZP.

**Impostors.** Variable stars (``variable_fraction`` of the stars: sinusoidal magnitude,
period log-U(0.3, 30) d, peak-to-peak U(0.2, 1.0) mag); non-Ia transients
(``transients_per_field``, alternating a Gaussian-in-time flux with σ_t ~ U(3, 20) d and a
power-law decline f ∝ (1 + (t − t_s)/2 d)^(−γ), γ ~ U(1, 2), peak r ~ U(20.5, 23), half of
them on a galaxy); cosmic rays (``cosmic_rays`` per exposure on average, Poisson, scaled by
the CCD area); hot pixels (``hot_pixels`` per CCD at fixed pixel positions, 0.2–1 ×
SATURATE); saturation (pixels clipped at ``SATURATE``).

Randomness: each step draws from its own stream ``default_rng([seed, STREAM, ...])``, so the
output is a function of the seed alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.constants import C_KM_S
from rediscovery.core.errors import ConfigError
from rediscovery.cosmo.sn.images import render as _render
from rediscovery.cosmo.sn.images.bands import BANDPASSES, bandpass
from rediscovery.cosmo.sn.simulate import SNPopulation, Survey, Truth

__all__ = [
    "ARCSEC_PER_DEG",
    "BYTES_PER_GRID_PIXEL",
    "TRUTH_ZP",
    "ImageSurvey",
    "Scene",
    "SimImage",
    "draw_scene",
    "field_wcs",
    "image_path",
    "render_images",
]

log = logging.getLogger(__name__)

ARCSEC_PER_DEG = 3600.0
#: AB zero point of the fluxes in ``truth_fluxes.csv`` (SNANA's convention, 27.5).
TRUTH_ZP = 27.5
_KPC_PER_MPC = 1000.0
_RAD_TO_ARCSEC = 180.0 / np.pi * ARCSEC_PER_DEG
#: Peak memory per pixel of the padded rendering grid, bytes: ~92 measured (peak RSS above the
#: imports, 2048² image), rounded up. :meth:`ImageSurvey.memory_bytes` uses it.
BYTES_PER_GRID_PIXEL = 128
#: Random streams (second element of the seed sequence).
_S_FIELDS, _S_STARS, _S_GAL, _S_SNE, _S_IMP, _S_OBS, _S_HOT, _S_NOISE = range(101, 109)


def _default_season() -> tuple[float, float]:
    s = Survey()
    return s.season_start, s.season_length


@dataclass(frozen=True)
class ImageSurvey:
    """Survey design and instrument (stored as given; checked on creation).

    Magnitudes AB; ``zp`` is the AB magnitude of 1 ADU in a single exposure (per band,
    order of ``BANDPASSES``); ``sky_mag`` the dark-sky brightness (mag/arcsec²) per band.
    The zero points, gain and sky are round values of the order of a 4-m telescope's wide-field
    camera; they give single-exposure 5σ point-source depths of about 24.9, 24.5, 24.0 and
    23.3 mag in g, r, i, z at 0.9″ seeing (PSF-weighted photometry, Gaussian PSF
    approximation).
    """

    n_fields: int = 4
    bands: str = "griz"
    n_epochs: int = 16
    size: int = 512
    pixel_scale: float = 0.26
    season_start: float = field(default_factory=lambda: _default_season()[0])
    season_length: float = field(default_factory=lambda: _default_season()[1])
    zp: dict[str, float] = field(default_factory=lambda: {"g": 30.5, "r": 30.7, "i": 30.5,
                                                          "z": 30.0})
    sky_mag: dict[str, float] = field(default_factory=lambda: {"g": 22.1, "r": 21.1,
                                                               "i": 20.2, "z": 19.3})
    gain: float = 4.0
    rdnoise: float = 7.0
    saturate: float = 60000.0
    seeing_ref: float = 0.8
    seeing_ratio: tuple[float, float] = (0.6, 1.6)
    n_stack: int = 16
    max_shift: float = 1.0
    star_density: float = 5.0
    star_mag_range: tuple[float, float] = (16.0, 24.0)
    galaxy_density: float = 8.0
    sne_per_field: int = 5
    z_max: float = 0.8
    variable_fraction: float = 0.1
    transients_per_field: int = 2
    cosmic_rays: float = 8.0
    hot_pixels: int = 10

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, value: Any, expected: str) -> None:
            if not ok:
                raise ConfigError(f"{name} {value!r}: expected {expected}")

        need(isinstance(self.bands, str) and len(self.bands) > 0
             and all(b in BANDPASSES for b in self.bands)
             and len(set(self.bands)) == len(self.bands), "--bands", self.bands,
             f"distinct filter letters among {''.join(BANDPASSES)} (e.g. griz)")
        for name, value, lo in (("--fields", self.n_fields, 1), ("--epochs", self.n_epochs, 1),
                                ("--size", self.size, 16), ("n_stack", self.n_stack, 1)):
            need(int(value) == value and value >= lo, name, value, f"an integer >= {lo}")
        for name, value in (("--pixel-scale", self.pixel_scale), ("gain", self.gain),
                            ("saturate", self.saturate), ("seeing_ref", self.seeing_ref),
                            ("season_length", self.season_length)):
            need(np.isfinite(value) and value > 0, name, value, "a positive number")
        for name, value in (("rdnoise", self.rdnoise), ("max_shift", self.max_shift),
                            ("star_density", self.star_density),
                            ("galaxy_density", self.galaxy_density),
                            ("cosmic_rays", self.cosmic_rays)):
            need(np.isfinite(value) and value >= 0, name, value, "a number >= 0")
        for name, value in (("--sne-per-field", self.sne_per_field),
                            ("transients_per_field", self.transients_per_field),
                            ("hot_pixels", self.hot_pixels)):
            need(int(value) == value and value >= 0, name, value, "an integer >= 0")
        lo, hi = self.seeing_ratio
        need(0 < lo <= hi, "seeing_ratio", self.seeing_ratio, "0 < low <= high")
        need(0 <= self.variable_fraction <= 1, "variable_fraction", self.variable_fraction,
             "a fraction in [0, 1]")
        need(self.max_shift <= 0.25 * self.size, "max_shift", self.max_shift,
             "at most a quarter of --size")
        for b in self.bands:
            need(b in self.zp and b in self.sky_mag, "zp/sky_mag", b, "a value for every band")
        zlo, _zhi = self.sn_redshift_range()
        need(self.z_max > zlo, "--z-max", self.z_max,
             f"> {zlo:.3f}, the lowest redshift at which SALT2 covers every band "
             f"{self.bands} (drop the reddest band to go lower)")

    @property
    def band_list(self) -> list[str]:
        """The filter letters in order."""
        return list(self.bands)

    @property
    def area_arcmin2(self) -> float:
        """Area of one CCD, arcmin²."""
        return (self.size * self.pixel_scale / 60.0) ** 2

    def sn_redshift_range(self) -> tuple[float, float]:
        """Redshifts at which SALT2 (rest 2000–9200 Å) covers every band: SNe are drawn in
        this range intersected with (0, z_max]."""
        from rediscovery.cosmo.sn.salt2 import salt2_model

        src = salt2_model().source
        bps = [bandpass(b) for b in self.bands]
        zlo = max(max(bp.maxwave() for bp in bps) / src.maxwave() - 1.0, 0.01)
        zhi = min(bp.minwave() for bp in bps) / src.minwave() - 1.0
        return float(zlo), float(min(zhi, self.z_max))

    def grid_size(self) -> int:
        """Side of the padded, odd-sized rendering grid (pixels): the image plus the PSF
        radius of the worst seeing and the largest pointing offset on each side."""
        max_fwhm = max(self.seeing(b) for b in self.bands) * max(1.0, self.seeing_ratio[1])
        pad = int(np.ceil(_render.PSF_RADIUS_FWHM * max_fwhm / self.pixel_scale
                          + self.max_shift)) + 1
        return _render.odd_fast_len(self.size + 2 * pad)

    def memory_bytes(self) -> int:
        """Peak memory of rendering (one image at a time), bytes."""
        return BYTES_PER_GRID_PIXEL * self.grid_size() ** 2

    def disk_bytes(self) -> int:
        """Size of the written images, bytes (float32 pixels and one 2880-byte FITS header
        block each, rounded to FITS's 2880-byte records)."""
        per_image = 2880 * (1 + int(np.ceil(4 * self.size**2 / 2880)))
        return self.n_fields * len(self.bands) * (self.n_epochs + 1) * per_image

    def seeing(self, band: str) -> float:
        """Reference FWHM (arcsec) in ``band``: ``seeing_ref`` in r, × (λ/λ_r)^(−0.2)."""
        lam = bandpass(band).wave_eff
        return float(self.seeing_ref * (lam / bandpass("r").wave_eff) ** -0.2)


@dataclass
class Scene:
    """Every catalogue of a simulated survey (pandas tables; see the module notes).

    ``fields``: field, ra, dec (deg, centre). ``stars``: star_id, field, ra, dec, mag_<b>
    (mean magnitudes), variable, period, amplitude, phase. ``galaxies``: host_id, field, ra,
    dec, z, mag_<b>, r_eff (arcsec), n, q, theta (rad from +x). ``sne``: sn_id, field, ra, dec,
    host_id, z, z_cos, mu, t0, x0, x1, c, mb, delta_int. ``transients``: transient_id, kind,
    field, ra, dec, host_id, t_peak, width (σ_t or γ), mag_<b> (peak). ``images``: one row per
    exposure (field, band, kind ``reference``/``epoch``, epoch, mjd, zp, seeing, beta,
    skylevel, dx, dy, saturate, gain, rdnoise, n_combine, path). ``sn_fluxes``: sn_id, time,
    band, flux, zp, zpsys, field, image, counts. ``hot_pixels``: field -> (x, y, adu) arrays.
    """

    config: ImageSurvey
    truth: Truth
    seed: int
    fields: pd.DataFrame
    stars: pd.DataFrame
    galaxies: pd.DataFrame
    sne: pd.DataFrame
    transients: pd.DataFrame
    images: pd.DataFrame
    sn_fluxes: pd.DataFrame
    hot_pixels: dict[str, dict[str, np.ndarray]]
    population: SNPopulation = field(default_factory=SNPopulation)

    def truth_dict(self) -> dict[str, Any]:
        """The content of ``truth.json``: cosmology, population, SNe and impostors."""
        sne = self.sne[["sn_id", "field", "ra", "dec", "host_id", "z", "z_cos", "mu", "t0",
                        "x0", "x1", "c", "mb", "delta_int"]]
        var = self.stars[self.stars["variable"]]
        impostors = [{"kind": "variable_star", "star_id": r.star_id, "field": r.field,
                      "ra": r.ra, "dec": r.dec, "period": r.period,
                      "amplitude": r.amplitude, "phase": r.phase} for r in var.itertuples()]
        impostors += [{"kind": r.kind, "transient_id": r.transient_id, "field": r.field,
                       "ra": r.ra, "dec": r.dec, "host_id": r.host_id, "t_peak": r.t_peak,
                       "width": r.width, **{f"mag_{b}": getattr(r, f"mag_{b}")
                                            for b in self.config.bands}}
                      for r in self.transients.itertuples()]
        impostors += [{"kind": "hot_pixels", "field": f, "x": hp["x"], "y": hp["y"],
                       "adu": hp["adu"]} for f, hp in self.hot_pixels.items()]
        return {**self.truth.to_dict(), "population": asdict(self.population),
                "truth_zp": TRUTH_ZP, "zpsys": "ab",
                "note": "pixel coordinates 0-based; cosmic rays are listed per image in the "
                        "images table of truth.json (n_cosmic_rays); SN and transient "
                        "magnitudes AB",
                "sne": sne.to_dict(orient="records"), "impostors": impostors}


@dataclass
class SimImage:
    """One rendered exposure: ``data`` (float32 ADU, shape (size, size)), ``header`` (FITS
    keywords without the WCS), ``wcs`` (astropy WCS), ``path`` (relative to the survey
    folder), ``n_cosmic_rays``."""

    field: str
    band: str
    kind: str
    epoch: int
    data: np.ndarray
    header: dict[str, Any]
    wcs: Any
    path: str
    n_cosmic_rays: int = 0


def image_path(field_name: str, band: str, epoch: int | None) -> str:
    """Relative path of an image: ``field00/g/epoch003.fits`` or ``field00/g/reference.fits``
    (``epoch=None``)."""
    name = "reference.fits" if epoch is None else f"epoch{epoch:03d}.fits"
    return f"{field_name}/{band}/{name}"


def field_wcs(ra: float, dec: float, size: int, pixel_scale: float,
              shift: tuple[float, float] = (0.0, 0.0)) -> Any:
    """TAN WCS of a field (north up, east left, CRVAL = centre).

    ``shift`` (dx, dy) is the pointing offset in pixels: the sky at field pixel p lands on
    image pixel p − shift, so CRPIX = centre − shift (CRVAL unchanged).
    """
    from astropy.wcs import WCS

    w = WCS(naxis=2)
    centre = (size + 1) / 2.0  # FITS pixels are 1-based
    w.wcs.crpix = [centre - shift[0], centre - shift[1]]
    w.wcs.crval = [ra, dec]
    s = pixel_scale / ARCSEC_PER_DEG
    w.wcs.cd = np.array([[-s, 0.0], [0.0, s]])
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.cunit = ["deg", "deg"]
    w.wcs.radesys = "ICRS"
    return w


def _rng(seed: int, stream: int, *more: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, *more])


def _uniform_positions(rng: np.random.Generator, n: int, wcs: Any, size: int,
                       margin: float) -> tuple[np.ndarray, np.ndarray]:
    """ra, dec of ``n`` points uniform over the field grid extended by ``margin`` pixels."""
    x = rng.uniform(-margin, size - 1 + margin, n)
    y = rng.uniform(-margin, size - 1 + margin, n)
    ra, dec = wcs.wcs_pix2world(x, y, 0)
    return ra, dec


def _galaxies(rng: np.random.Generator, z: np.ndarray, truth: Truth, bands: str
              ) -> dict[str, np.ndarray]:
    """Magnitudes and shapes of galaxies at redshifts ``z`` (module notes)."""
    from rediscovery.cosmo.cosmology import luminosity_distance

    n = len(z)
    if n == 0:
        return {k: np.zeros(0) for k in (*[f"mag_{b}" for b in bands], "r_eff", "n", "q",
                                         "theta")}
    dl = luminosity_distance(z, truth.H0, truth.Om, truth.OL, truth.w)   # Mpc
    mu = 5.0 * np.log10(dl) + 25.0
    d_a_kpc = dl / (1.0 + z) ** 2 * _KPC_PER_MPC
    m_r = rng.normal(-20.5, 1.0, n) + mu
    colour = {"g": 0.8, "r": 0.0, "i": -0.4, "z": -0.65}       # m_b - m_r
    out = {f"mag_{b}": m_r + colour[b] for b in bands}
    out["r_eff"] = rng.uniform(1.0, 5.0, n) / d_a_kpc * _RAD_TO_ARCSEC
    out["n"] = rng.uniform(0.8, 4.0, n)
    out["q"] = rng.uniform(0.3, 1.0, n)
    out["theta"] = rng.uniform(0.0, np.pi, n)
    return out


def _offsets_in_host(rng: np.random.Generator, gal: pd.DataFrame, pixel_scale: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets (dx, dy) from each galaxy's centre, drawn from an exponential disc's
    light along its ellipse."""
    n = len(gal)
    r = rng.gamma(2.0, gal["r_eff"].to_numpy() / 1.678, n) / pixel_scale
    phi = rng.uniform(0, 2 * np.pi, n)
    a, b = r * np.cos(phi), gal["q"].to_numpy() * r * np.sin(phi)
    th = gal["theta"].to_numpy()
    return a * np.cos(th) - b * np.sin(th), a * np.sin(th) + b * np.cos(th)


def draw_scene(config: ImageSurvey, truth: Truth, *, seed: int,
               population: SNPopulation | None = None) -> Scene:
    """Draw every catalogue, SN, impostor and exposure condition of the survey.

    Parameters
    ----------
    config
        The survey design.
    truth
        The (hidden) cosmology, from :func:`~rediscovery.cosmo.sn.simulate.draw_truth`.
    seed
        Seed of every random step.
    population
        SN Ia population (default :class:`~rediscovery.cosmo.sn.simulate.SNPopulation`).
    """
    from rediscovery.cosmo.cosmology import DistanceGrid
    from rediscovery.cosmo.sn.salt2 import salt2_model, x0_from_mb
    from rediscovery.cosmo.sn.simulate import draw_population, sample_redshifts

    cfg = config
    pop = population or SNPopulation()
    bands = cfg.bands
    size, scale = cfg.size, cfg.pixel_scale
    margin = 10.0  # pixels: sources just outside the CCD still shine in
    area = cfg.area_arcmin2

    # fields: centres spread over a patch of sky around (150, +2) deg (a COSMOS-like patch)
    rng = _rng(seed, _S_FIELDS)
    names = [f"field{i:02d}" for i in range(cfg.n_fields)]
    fields = pd.DataFrame({"field": names,
                           "ra": 150.0 + rng.uniform(-5, 5, cfg.n_fields),
                           "dec": 2.0 + rng.uniform(-5, 5, cfg.n_fields)})
    wcs = {r.field: field_wcs(r.ra, r.dec, size, scale) for r in fields.itertuples()}

    star_rows, gal_rows, sn_rows, tr_rows = [], [], [], []
    hot: dict[str, dict[str, np.ndarray]] = {}
    zlo, zhi = cfg.sn_redshift_range()
    sn_survey = Survey(z_min=zlo, low_z_max=zhi, z_max=zhi, low_z_fraction=0.0)
    gal_survey = Survey(z_min=0.02, low_z_max=1.0, z_max=1.0, low_z_fraction=0.0)
    for fi, fname in enumerate(names):
        w = wcs[fname]
        # stars: dN/dm ∝ 10^(0.2 m) by inverse CDF
        rng = _rng(seed, _S_STARS, fi)
        n_st = round(cfg.star_density * area)
        m0, m1 = cfg.star_mag_range
        u = rng.uniform(0, 1, n_st)
        mag_r = np.log10(10 ** (0.2 * m0) + u * (10 ** (0.2 * m1) - 10 ** (0.2 * m0))) / 0.2
        gr = rng.uniform(0.3, 1.4, n_st)
        mags = {"g": mag_r + gr, "r": mag_r, "i": mag_r - 0.45 * gr,
                "z": mag_r - 0.45 * gr - 0.25 * gr}
        ra, dec = _uniform_positions(rng, n_st, w, size, margin)
        variable = rng.uniform(0, 1, n_st) < cfg.variable_fraction
        star_rows.append(pd.DataFrame({
            "star_id": [f"{fname}_S{k:04d}" for k in range(n_st)], "field": fname,
            "ra": ra, "dec": dec, **{f"mag_{b}": mags[b] for b in bands},
            "variable": variable,
            "period": np.where(variable, np.exp(rng.uniform(np.log(0.3), np.log(30.0), n_st)),
                               np.nan),
            "amplitude": np.where(variable, rng.uniform(0.2, 1.0, n_st), np.nan),
            "phase": np.where(variable, rng.uniform(0, 2 * np.pi, n_st), np.nan)}))
        # field galaxies
        rng = _rng(seed, _S_GAL, fi)
        n_gal = round(cfg.galaxy_density * area)
        zg = (sample_redshifts(n_gal, rng, gal_survey, truth.Om, truth.OL) if n_gal
              else np.zeros(0))
        ra, dec = _uniform_positions(rng, n_gal, w, size, margin)
        gal_rows.append(pd.DataFrame({"host_id": [f"{fname}_F{k:04d}" for k in range(n_gal)],
                                      "field": fname, "ra": ra, "dec": dec, "z": zg,
                                      **_galaxies(rng, zg, truth, bands)}))
        # SNe Ia and their hosts
        rng = _rng(seed, _S_SNE, fi)
        n_sn = cfg.sne_per_field
        if n_sn:
            z_cos = sample_redshifts(n_sn, rng, sn_survey, truth.Om, truth.OL)
            mu = DistanceGrid(z_cos).distance_modulus(truth.H0, truth.Om, truth.OL, truth.w)
            draws = draw_population(n_sn, rng, pop, mu)
            z_obs = (1 + z_cos) * (1 + rng.normal(0.0, pop.sigma_v_kms, n_sn) / C_KM_S) - 1
            # hosts inside the CCD, away from the edge by 5% of its size
            hx = rng.uniform(0.05 * size, 0.95 * size, n_sn)
            hy = rng.uniform(0.05 * size, 0.95 * size, n_sn)
            hra, hdec = w.wcs_pix2world(hx, hy, 0)
            host = pd.DataFrame({"host_id": [f"{fname}_H{k:03d}" for k in range(n_sn)],
                                 "field": fname, "ra": hra, "dec": hdec, "z": z_obs,
                                 **_galaxies(rng, z_obs, truth, bands)})
            gal_rows.append(host)
            dx, dy = _offsets_in_host(rng, host, scale)
            sra, sdec = w.wcs_pix2world(hx + dx, hy + dy, 0)
            t0 = rng.uniform(cfg.season_start - 10.0,
                             cfg.season_start + cfg.season_length - 10.0, n_sn)
            sn_rows.append(pd.DataFrame({
                "sn_id": [f"{fname}_SN{k:02d}" for k in range(n_sn)], "field": fname,
                "ra": sra, "dec": sdec, "host_id": host["host_id"], "z": z_obs,
                "z_cos": z_cos, "mu": mu, "t0": t0, "x0": x0_from_mb(draws["mb"]),
                "x1": draws["x1"], "c": draws["c"], "mb": draws["mb"],
                "delta_int": draws["delta_int"]}))
        # non-Ia transients: half on a field galaxy, half anywhere
        rng = _rng(seed, _S_IMP, fi)
        n_tr = cfg.transients_per_field
        if n_tr:
            kinds = np.where(np.arange(n_tr) % 2 == 0, "gaussian_transient", "power_law_decline")
            tx = rng.uniform(0.05 * size, 0.95 * size, n_tr)
            ty = rng.uniform(0.05 * size, 0.95 * size, n_tr)
            fg = gal_rows[-2] if n_sn else gal_rows[-1]
            on_gal = (rng.uniform(0, 1, n_tr) < 0.5) & (len(fg) > 0)
            pick = rng.integers(0, max(len(fg), 1), n_tr)
            host_id = np.where(on_gal, fg["host_id"].to_numpy()[pick] if len(fg) else "", "")
            if on_gal.any():
                gx, gy = w.wcs_world2pix(fg["ra"].to_numpy()[pick], fg["dec"].to_numpy()[pick], 0)
                ox, oy = _offsets_in_host(rng, fg.iloc[pick], scale)
                tx = np.where(on_gal, gx + ox, tx)
                ty = np.where(on_gal, gy + oy, ty)
            tra, tdec = w.wcs_pix2world(tx, ty, 0)
            peak_r = rng.uniform(20.5, 23.0, n_tr)
            col = rng.normal(0.0, 0.3, (len(bands), n_tr))
            width = np.where(kinds == "gaussian_transient", rng.uniform(3.0, 20.0, n_tr),
                             rng.uniform(1.0, 2.0, n_tr))
            tr_rows.append(pd.DataFrame({
                "transient_id": [f"{fname}_T{k:02d}" for k in range(n_tr)], "kind": kinds,
                "field": fname, "ra": tra, "dec": tdec, "host_id": host_id,
                "t_peak": rng.uniform(cfg.season_start, cfg.season_start + cfg.season_length,
                                      n_tr),
                "width": width,
                **{f"mag_{b}": peak_r + (0 if b == "r" else col[j])
                   for j, b in enumerate(bands)}}))
        # hot pixels: fixed on the CCD
        rng = _rng(seed, _S_HOT, fi)
        hot[fname] = {"x": rng.integers(0, size, cfg.hot_pixels),
                      "y": rng.integers(0, size, cfg.hot_pixels),
                      "adu": rng.uniform(0.2, 1.0, cfg.hot_pixels) * cfg.saturate}

    stars = pd.concat(star_rows, ignore_index=True)
    galaxies = pd.concat(gal_rows, ignore_index=True)
    sne = (pd.concat(sn_rows, ignore_index=True) if sn_rows else
           pd.DataFrame(columns=["sn_id", "field", "ra", "dec", "host_id", "z", "z_cos", "mu",
                                 "t0", "x0", "x1", "c", "mb", "delta_int"]))
    transients = (pd.concat(tr_rows, ignore_index=True) if tr_rows else
                  pd.DataFrame(columns=["transient_id", "kind", "field", "ra", "dec", "host_id",
                                        "t_peak", "width", *[f"mag_{b}" for b in bands]]))
    # catalogue order and names: by field and ra, so a host_id does not tell an SN host
    galaxies = galaxies.sort_values(["field", "ra"], kind="stable", ignore_index=True)
    new_ids = [f"{f}_G{k:04d}" for f, k in zip(galaxies["field"],
                                               galaxies.groupby("field").cumcount(), strict=True)]
    rename = dict(zip(galaxies["host_id"], new_ids, strict=True))
    galaxies["host_id"] = new_ids
    sne["host_id"] = sne["host_id"].map(rename)
    transients["host_id"] = transients["host_id"].map(lambda h: rename.get(h, ""))
    images = _draw_conditions(cfg, names, seed)
    sn_fluxes = _sn_fluxes(sne, images, salt2_model())
    log.info("scene: %d fields, %d stars, %d galaxies, %d SNe Ia, %d transients, %d images",
             len(names), len(stars), len(galaxies), len(sne), len(transients), len(images))
    return Scene(config=cfg, truth=truth, seed=seed, fields=fields, stars=stars,
                 galaxies=galaxies, sne=sne, transients=transients, images=images,
                 sn_fluxes=sn_fluxes, hot_pixels=hot, population=pop)


def _draw_conditions(cfg: ImageSurvey, names: list[str], seed: int) -> pd.DataFrame:
    """One row per exposure (references first): dates, seeing, β, ZP, sky, offsets."""
    rows = []
    scale2 = cfg.pixel_scale**2
    cadence = cfg.season_length / cfg.n_epochs
    for fi, fname in enumerate(names):
        rng = _rng(seed, _S_OBS, fi)
        base = (cfg.season_start + (np.arange(cfg.n_epochs) + 0.5) * cadence
                + rng.uniform(-0.25, 0.25, cfg.n_epochs) * cadence)
        ratio = rng.uniform(*cfg.seeing_ratio, cfg.n_epochs)
        for bi, b in enumerate(cfg.bands):
            see = cfg.seeing(b)
            zp_ref = cfg.zp[b] + 2.5 * np.log10(cfg.n_stack)
            rows.append({"field": fname, "band": b, "kind": "reference", "epoch": -1,
                         "mjd": cfg.season_start - 365.25 + cfg.season_length / 2,
                         "zp": zp_ref, "seeing": see,
                         "beta": float(np.mean(_render.MOFFAT_BETA_RANGE)),
                         "skylevel": cfg.n_stack * 10 ** (0.4 * (cfg.zp[b] - cfg.sky_mag[b]))
                         * scale2, "dx": 0.0, "dy": 0.0,
                         "saturate": cfg.n_stack * cfg.saturate, "gain": cfg.gain,
                         "rdnoise": cfg.rdnoise * np.sqrt(cfg.n_stack),
                         "n_combine": cfg.n_stack, "path": image_path(fname, b, None)})
            n = cfg.n_epochs
            zp = cfg.zp[b] - np.abs(rng.normal(0.0, 0.05, n))
            sky = 10 ** (0.4 * (zp - cfg.sky_mag[b] - rng.normal(0.0, 0.2, n))) * scale2
            beta = rng.uniform(*_render.MOFFAT_BETA_RANGE, n)
            shift = rng.uniform(-cfg.max_shift, cfg.max_shift, (2, n))
            for e in range(n):
                rows.append({"field": fname, "band": b, "kind": "epoch", "epoch": e,
                             "mjd": base[e] + 0.01 * bi, "zp": zp[e], "seeing": see * ratio[e],
                             "beta": beta[e], "skylevel": sky[e], "dx": shift[0, e],
                             "dy": shift[1, e], "saturate": cfg.saturate, "gain": cfg.gain,
                             "rdnoise": cfg.rdnoise, "n_combine": 1,
                             "path": image_path(fname, b, e)})
    return pd.DataFrame(rows)


def _sn_fluxes(sne: pd.DataFrame, images: pd.DataFrame, model: Any) -> pd.DataFrame:
    """Noiseless SALT2 fluxes of every SN in every epoch image of its field (``TRUTH_ZP``,
    AB) and the counts they put in that image."""
    frames = []
    epochs = images[images["kind"] == "epoch"]
    for r in sne.itertuples():
        model.set(z=r.z, t0=r.t0, x0=r.x0, x1=r.x1, c=r.c)
        mine = epochs[epochs["field"] == r.field]
        for b, grp in mine.groupby("band", sort=False):
            t = grp["mjd"].to_numpy()
            flux = model.bandflux(bandpass(b), t, zp=TRUTH_ZP, zpsys="ab")
            frames.append(pd.DataFrame({
                "sn_id": r.sn_id, "time": t, "band": BANDPASSES[b], "flux": flux,
                "zp": TRUTH_ZP, "zpsys": "ab", "field": r.field, "image": grp["path"].to_numpy(),
                "counts": flux * 10 ** (0.4 * (grp["zp"].to_numpy() - TRUTH_ZP))}))
    cols = ["sn_id", "time", "band", "flux", "zp", "zpsys", "field", "image", "counts"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def _transient_mag(tr: pd.DataFrame, band: str, t: float) -> np.ndarray:
    """Magnitudes of the non-Ia transients at time ``t`` (inf where they emit nothing)."""
    peak = tr[f"mag_{band}"].to_numpy(dtype=float)
    dt = t - tr["t_peak"].to_numpy(dtype=float)
    w = tr["width"].to_numpy(dtype=float)
    gauss = np.exp(-0.5 * (dt / w) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        plaw = np.where(dt >= 0, (1.0 + np.clip(dt, 0, None) / 2.0) ** (-w), 0.0)
        frac = np.where(tr["kind"].to_numpy() == "gaussian_transient", gauss, plaw)
        return peak - 2.5 * np.log10(frac)


def render_images(scene: Scene, *, fields: list[str] | None = None) -> Iterator[SimImage]:
    """Render every exposure of ``scene`` (references first in each field and band).

    Galaxies are rendered once per field and band on the padded field grid and shifted to
    each exposure's pointing in Fourier space; point sources (stars, variables, SNe,
    transients) are placed at their exact sub-pixel positions; then sky, Poisson and read
    noise, cosmic rays, hot pixels and saturation (:mod:`~rediscovery.cosmo.sn.images.render`).
    """
    import scipy.fft

    cfg = scene.config
    size = cfg.size
    n = cfg.grid_size()
    pad = (n - size) // 2
    shape = (n, n)
    for fi, frow in enumerate(scene.fields.itertuples()):
        if fields is not None and frow.field not in fields:
            continue
        w0 = field_wcs(frow.ra, frow.dec, size, cfg.pixel_scale)
        stars = scene.stars[scene.stars["field"] == frow.field]
        gal = scene.galaxies[scene.galaxies["field"] == frow.field]
        sne = scene.sne[scene.sne["field"] == frow.field]
        trans = scene.transients[scene.transients["field"] == frow.field]
        sx, sy = (np.asarray(a) for a in w0.wcs_world2pix(stars["ra"], stars["dec"], 0))
        gx, gy = (np.asarray(a) for a in w0.wcs_world2pix(gal["ra"], gal["dec"], 0))
        nx_, ny_ = (np.asarray(a) for a in w0.wcs_world2pix(sne["ra"], sne["dec"], 0))
        tx, ty = (np.asarray(a) for a in w0.wcs_world2pix(trans["ra"], trans["dec"], 0))
        fluxes = scene.sn_fluxes.set_index(["sn_id", "image"])["counts"]
        hot = scene.hot_pixels[frow.field]
        for bi, b in enumerate(cfg.bands):
            unit = 10 ** (-0.4 * gal[f"mag_{b}"].to_numpy())   # flux at ZP = 0
            gal_img = _render.sersic_image(
                shape, gx + pad, gy + pad, unit, gal["r_eff"].to_numpy() / cfg.pixel_scale,
                gal["n"].to_numpy(), gal["q"].to_numpy(), gal["theta"].to_numpy())
            gal_fft = scipy.fft.rfft2(gal_img)
            rows = scene.images[(scene.images["field"] == frow.field)
                                & (scene.images["band"] == b)]
            for im in rows.itertuples():
                ref = im.kind == "reference"
                f0 = 10 ** (0.4 * im.zp)
                smag = stars[f"mag_{b}"].to_numpy()
                if not ref:
                    var = stars["variable"].to_numpy()
                    osc = 0.5 * stars["amplitude"].to_numpy() * np.sin(
                        2 * np.pi * (im.mjd - cfg.season_start) / stars["period"].to_numpy()
                        + stars["phase"].to_numpy())
                    smag = np.where(var, smag + np.nan_to_num(osc), smag)
                px = [sx - im.dx, *(() if ref else (nx_ - im.dx, tx - im.dx))]
                py = [sy - im.dy, *(() if ref else (ny_ - im.dy, ty - im.dy))]
                pf = [f0 * 10 ** (-0.4 * smag)]
                if not ref:
                    pf.append(np.array([fluxes.get((s, im.path), 0.0) for s in sne["sn_id"]],
                                       dtype=float))
                    pf.append(f0 * 10 ** (-0.4 * _transient_mag(trans, b, im.mjd)))
                x = np.concatenate(px) + pad
                y = np.concatenate(py) + pad
                flux = np.concatenate(pf)
                psf = _render.moffat_stamp(im.seeing / cfg.pixel_scale, im.beta)
                model = _render.render(shape, psf, x, y, flux, f0 * gal_fft,
                                       (im.dx, im.dy))[pad:pad + size, pad:pad + size]
                rng = _rng(scene.seed, _S_NOISE, fi, bi, im.epoch + 1)
                data = _render.add_noise(model + im.skylevel, im.gain, im.rdnoise, rng)
                n_cr = 0
                if not ref:
                    n_cr = int(rng.poisson(cfg.cosmic_rays * (size / 512.0) ** 2))
                    cr, _ = _render.cosmic_rays((size, size), n_cr, rng)
                    data += cr
                    data[hot["y"], hot["x"]] += hot["adu"]
                data = np.minimum(data, im.saturate).astype(np.float32)
                wcs = field_wcs(frow.ra, frow.dec, size, cfg.pixel_scale, (im.dx, im.dy))
                header = {
                    "MJD": (float(im.mjd), "mid-exposure date [MJD, days]"),
                    "BAND": (BANDPASSES[b], "sncosmo bandpass name"),
                    "FILTER": (b, "filter letter"),
                    "ZP": (float(im.zp), "AB: m = ZP - 2.5 log10(ADU)"),
                    "ZPSYS": ("ab", "magnitude system of ZP"),
                    "SEEING": (float(im.seeing), "PSF FWHM [arcsec]"),
                    "PSFBETA": (float(im.beta), "Moffat beta of the PSF"),
                    "GAIN": (float(im.gain), "electrons per ADU"),
                    "SKYLEVEL": (float(im.skylevel), "sky background [ADU/pixel]"),
                    "RDNOISE": (float(im.rdnoise), "read noise [electrons]"),
                    "SATURATE": (float(im.saturate), "saturation level [ADU]"),
                    "NCOMBINE": (int(im.n_combine), "exposures stacked"),
                    "IMAGETYP": (im.kind, "reference (deep stack) or epoch"),
                    "EPOCH": (int(im.epoch), "epoch index (-1: reference)"),
                    "FIELD": (frow.field, "survey field"),
                    "BUNIT": ("adu", "pixel unit"),
                }
                yield SimImage(field=frow.field, band=b, kind=im.kind, epoch=int(im.epoch),
                               data=data, header=header, wcs=wcs, path=im.path,
                               n_cosmic_rays=n_cr)
