"""The CMB branch of ``rediscovery cosmo run`` (``cmb: tod``, the default).

The hidden universe of the run (the same (H0, Ω_m, Ω_Λ) draw that makes the supernovae) is
observed by a scanning telescope; four stages turn its time-ordered data into (h, Ω_m, Ω_Λ):

=========== ======================================== =========================================
stage       reads                                    writes (in ``<run>/<stage>/``)
=========== ======================================== =========================================
tod         (config only)                            ``tod.h5`` (``cosmo cmb-simulate``),
                                                     hidden ``truth/`` (never read here)
map         ``tod/tod.h5``                           ``split1/``, ``split2/``: destriped
                                                     maps of the odd and even detectors
                                                     (``cosmo cmb-mapmake --split K/2``),
                                                     ``maps.png``
spectrum    ``map/split{1,2}/map.fits``              ``spectrum.csv``, ``covariance.npy``,
                                                     … (``cosmo cmb-spectrum --splits``),
                                                     ``spectrum.png``
cmb_fit     ``spectrum/spectrum.csv``                ``cmb_posterior.json``,
                                                     ``cmb_chain.parquet``: (h, Ω_m, Ω_Λ),
                                                     derived H0, Ω_k (``cosmo cmb-fit``)
=========== ======================================== =========================================

``joint`` then combines the spectrum likelihood with the SN Hubble diagram
(:func:`~rediscovery.cosmo.joint_spectrum.fit_joint_spectrum`) instead of the mock distance
priors. n_s, ln 10¹⁰A_s and τ are the hidden universe's (:data:`CMB_FIXED`) and held fixed in
the fits, as in the school exercise; ω_b and Σm_ν are those of the curved emulator.

The error bars of the spectrum come from Monte-Carlo simulations of a fiducial spectrum; a
fiducial far from the hidden one (the Planck best fit for a universe with Ω_m = 0.2) would
misstate the sample variance, so the spectrum stage makes it in two passes: Knox errors for
the Planck spectrum, the curved emulator's best fit to those band powers (a search, no
MCMC), then the simulations of that best-fit spectrum.
"""

from __future__ import annotations

import functools
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from rediscovery.cosmo.cmb.theory import PLANCK2018_BEST_FIT

#: The stages take the run's configuration, a :class:`rediscovery.cosmo.pipeline
#: .CosmoRunConfig` (not imported here: the pipeline imports this module).
CosmoRunConfig = Any

__all__ = [
    "CMB_FIXED",
    "CMB_OUTPUTS",
    "CMB_STAGES",
    "JOINT_MAX_STEPS_FACTOR",
    "MAPS_PIXEL_WINDOW",
    "beam_lmax",
    "hidden_ombh2",
    "joint_steps",
    "spectrum_of_splits",
    "stage_cmb_fit",
    "stage_joint_spectrum",
    "stage_map",
    "stage_spectrum",
    "stage_tod",
]

log = logging.getLogger(__name__)

#: The parameters of the hidden universe that the CMB fits hold fixed (the school exercise
#: fits h, Ω_m, Ω_Λ only): the Planck 2018 best fit (:data:`~rediscovery.cosmo.cmb.theory
#: .PLANCK2018_BEST_FIT`), also used to simulate the sky.
CMB_FIXED: dict[str, float] = {k: PLANCK2018_BEST_FIT[k] for k in ("ns", "ln10As", "tau")}

#: Whether the maps of the run's ``tod → map`` stages carry the HEALPix pixel window: they do
#: not. The ``tod`` stage simulates the sky at the maps' nside and every sample reads the sky
#: pixel that contains it (``cosmo cmb-simulate``'s convention), so a map is the beam-smoothed
#: sky at its pixel centres, exactly as the spectrum's Monte-Carlo simulations are without
#: p_ℓ. The ``spectrum`` stage therefore deconvolves the beam only: dividing by p_ℓ² as well
#: raised the band powers by 1/p_ℓ² (+50 % at ℓ = 2 nside, 4σ in the top bands at nside 128).
MAPS_PIXEL_WINDOW = False

#: Squared beam transfer b_ℓ² at the default largest multipole: above it the beam-deconvolved
#: noise grows by more than a factor 10 (:func:`beam_lmax`).
_BEAM_FLOOR = 0.1


def beam_lmax(fwhm_arcmin: float, nside: int) -> int:
    """Largest multipole matched to the beam and the pixels: ``min(2 nside, ℓ_b)`` with
    b_ℓ² = exp(−ℓ²σ²) = 0.1 at ℓ_b (Gaussian beam, σ = FWHM/√(8 ln 2))."""
    sigma = math.radians(fwhm_arcmin / 60.0) / math.sqrt(8.0 * math.log(2.0))
    return int(min(2 * nside, math.sqrt(-math.log(_BEAM_FLOOR)) / sigma))


def hidden_ombh2(cfg: CosmoRunConfig) -> float:
    """The hidden universe's ω_b: ``ombh2_true``, else Planck 2018's (the distance priors'
    mean with ``cmb: priors``; the curved emulator's fixed value with ``cmb: tod``, which the
    spectrum fits cannot vary)."""
    if cfg.ombh2_true is not None:
        return cfg.ombh2_true
    if cfg.cmb == "tod":
        from rediscovery.cosmo.cmb.curved import CURVED_FIXED

        return CURVED_FIXED["ombh2"]
    from rediscovery.cosmo.joint import PLANCK2018_OMBH2

    return PLANCK2018_OMBH2


def joint_steps(cfg: CosmoRunConfig) -> int:
    """MCMC steps per walker of the joint fit: ``joint_steps``, else the default of the CMB
    data (20,000 for the distance priors' banana; 8,000 with the spectrum likelihood, where
    τ ≈ 40 steps and split-R̂ − 1 was ≈ 0.017 at 4,000)."""
    if cfg.joint_steps is not None:
        return cfg.joint_steps
    return 8000 if cfg.cmb == "tod" else 20000


def _seed(cfg: CosmoRunConfig, stream: int) -> int:
    return int(np.random.SeedSequence([cfg.seed, stream]).generate_state(1)[0])


def _quiet_healpy() -> None:
    logging.getLogger("healpy").setLevel(max(logging.getLogger().level, logging.WARNING))


def stage_tod(inputs: dict[str, Path], out: Path, cfg: CosmoRunConfig) -> dict[str, Any]:
    """The hidden universe's CMB sky observed by a scanning telescope (as ``cosmo
    cmb-simulate``): ``tod.h5``; the sky and its cosmology in the hidden ``truth/``.

    The sky is simulated at the maps' nside (no pixel window in the maps:
    :data:`MAPS_PIXEL_WINDOW`)."""
    from rediscovery.cosmo.cmb.theory import densities_to_physical
    from rediscovery.cosmo.cmb.tod import (
        ScanStrategy,
        TODConfig,
        default_focal_plane,
        simulate_to_files,
    )
    from rediscovery.cosmo.sn.simulate import draw_truth

    _quiet_healpy()
    truth = draw_truth(cfg.seed, cfg.h0_true, cfg.om_true, cfg.ol_true, flat=cfg.flat)
    cosmology = {
        **densities_to_physical(truth.H0 / 100.0, truth.Om, truth.OL, ombh2=hidden_ombh2(cfg)),
        **CMB_FIXED,
        "Om": truth.Om,
        "OL": truth.OL,
    }
    config = TODConfig(
        detectors=tuple(
            default_focal_plane(cfg.cmb_detectors, net=cfg.cmb_net, fknee=cfg.cmb_fknee)
        ),
        scan=ScanStrategy(),
        sample_rate=cfg.cmb_sample_rate,
        days=cfg.cmb_days,
        fwhm_arcmin=cfg.cmb_fwhm,
    )
    info = simulate_to_files(
        out,
        config,
        _seed(cfg, 0x544F44),
        nside_sky=cfg.cmb_nside,
        cosmology=cosmology,
        progress=cfg.progress,
    )
    return {"n_detectors": info["n_detectors"], "n_samples_total": info["n_samples_total"]}


def stage_map(inputs: dict[str, Path], out: Path, cfg: CosmoRunConfig) -> dict[str, Any]:
    """Destriped maps of two detector splits (odd, even; independent noise), as ``cosmo
    cmb-mapmake --split K/2``: ``split1/``, ``split2/`` (map, hits, variance FITS). A split
    of more than :data:`~rediscovery.cosmo.cmb.mapmaking.STREAM_ABOVE_SAMPLES` samples is
    destriped streamed from the file (the same solution, in bounded memory)."""
    from rediscovery.core.plotting import savefig
    from rediscovery.cosmo.cmb.mapmaking import destripe, destripe_file, load_tod, write_maps
    from rediscovery.cosmo.cmb.mapmaking.plots import plot_maps
    from rediscovery.cosmo.cmb.mapmaking.streaming import STREAM_ABOVE_SAMPLES
    from rediscovery.cosmo.cmb.tod import TODFile

    _quiet_healpy()
    info: dict[str, Any] = {}
    with TODFile(inputs["tod"]) as f:
        names = [d.name for d in f.detectors]
        block = int(f.attrs.get("noise_block", f.n_samples))
        length = max(1, round(cfg.cmb_baseline_seconds * f.sample_rate))
        for k in (1, 2):
            dets = names[k - 1 :: 2]
            streamed = f.n_samples * len(dets) > STREAM_ABOVE_SAMPLES
            if streamed:
                result, _ = destripe_file(f, cfg.cmb_nside, length, detectors=dets)
            else:
                data = load_tod(
                    f.iter_chunks(chunk=block, detectors=dets),
                    cfg.cmb_nside,
                    f.nside_pointing,
                    f.detectors,
                    f.sample_rate,
                )
                result, _ = destripe(data, length)
            result.info.update(
                {
                    "tod": str(inputs["tod"]),
                    "beam_fwhm_arcmin": f.fwhm_arcmin,
                    "detectors": dets,
                    "split": f"{k}/2",
                }
            )
            write_maps(out / f"split{k}", result)
            info[f"split{k}"] = {
                "cg_iterations": result.info.get("cg_iterations"),
                "pixels_seen": result.info.get("n_pixels_seen"),
                "streamed": streamed,
            }
            if k == 1:
                savefig(plot_maps(result), out / "maps.png", dpi=90)
    return info


@functools.lru_cache(maxsize=4)
def _planck_cl(lmax: int) -> np.ndarray:
    """C_ℓ^TT (μK², ℓ = 0 … ``lmax``) of the Planck 2018 best fit from CAMB, the first pass's
    fiducial; cached (one CAMB call per process instead of one per spectrum)."""
    from rediscovery.cosmo.cmb.tod import tt_cl

    cl = tt_cl(dict(PLANCK2018_BEST_FIT), lmax)
    cl.flags.writeable = False
    return cl


def spectrum_of_splits(
    sets: list[Any],
    *,
    lmax: int,
    delta_ell: int,
    apod_deg: float,
    fwhm_arcmin: float,
    n_sims: int,
    seed: int,
    n_workers: int | None = 1,
    progress: bool = False,
    pixwin: bool = MAPS_PIXEL_WINDOW,
) -> tuple[Any, Any, np.ndarray, dict[str, float]]:
    """Cross-spectrum of data splits with Monte-Carlo errors of a fitted fiducial.

    Pass 1: band powers with Knox errors of the Planck 2018 spectrum, and the curved emulator's
    best (h, Ω_m, Ω_Λ) for them (:func:`~rediscovery.cosmo.cmb.likelihood.find_start`, no
    MCMC; n_s, A_s, τ at :data:`CMB_FIXED`). Pass 2: ``n_sims`` simulations of that best-fit
    spectrum through the same estimator give the errors and the covariance.

    Parameters
    ----------
    sets
        :class:`~rediscovery.cosmo.cmb.spectra.MapSet` of each split (independent noise).
    lmax, delta_ell, apod_deg, fwhm_arcmin
        Largest multipole, band width, apodisation of the hit-map mask (degrees), beam FWHM.
    n_sims, seed, n_workers, progress
        Simulations of pass 2 and where they run.
    pixwin
        Deconvolve the HEALPix pixel window of the maps' nside: not for maps of the run's
        ``tod`` stage (:data:`MAPS_PIXEL_WINDOW`); yes for maps of a continuous sky.

    Returns
    -------
    tuple
        ``(SpectrumResult, Window, fiducial C_ℓ (μK², ℓ = 0 … 3 nside − 1), best-fit dict)``.
    """
    from rediscovery.core.errors import InputError
    from rediscovery.cosmo.cmb.curved import load_curved_emulator
    from rediscovery.cosmo.cmb.likelihood import CMBLikelihood, find_start
    from rediscovery.cosmo.cmb.spectra import measure_spectrum, prepare, window_from_hits

    nside = sets[0].nside
    for s in sets[1:]:
        if s.nside != nside:
            raise InputError(
                f"nside {s.nside}; the first split has nside {nside}; expected the same",
                path=s.source,
            )
    window = window_from_hits([s.hits for s in sets], apod_deg)
    setup = prepare(window, lmax=lmax, delta_ell=delta_ell, fwhm_arcmin=fwhm_arcmin, pixwin=pixwin)
    maps, variances = [s.map for s in sets], [s.variance for s in sets]
    lsim = 3 * nside - 1
    first = measure_spectrum(
        maps,
        variances,
        setup,
        _planck_cl(lsim),
        n_sims=0,
        noise_model="splits",
        progress=False,
    )
    emu = load_curved_emulator()
    lk = CMBLikelihood(
        first.to_binned_spectrum(),
        emu,
        free=["h", "Om", "OL"],
        fixed=CMB_FIXED,
        weighting="uniform",
    )
    best = find_start(lk, seed=seed)
    dl = emu(lk.params([best[k] for k in lk.free]))
    ell = np.asarray(emu.ell)
    fid = np.zeros(lsim + 1)
    keep = (ell >= 2) & (ell <= lsim)
    fid[ell[keep]] = dl[keep] * 2.0 * math.pi / (ell[keep] * (ell[keep] + 1.0))
    result = measure_spectrum(
        maps,
        variances,
        setup,
        fid,
        n_sims=n_sims,
        seed=seed,
        n_workers=n_workers,
        progress=progress,
        noise_model="splits",
    )
    return result, window, fid, best


def stage_spectrum(inputs: dict[str, Path], out: Path, cfg: CosmoRunConfig) -> dict[str, Any]:
    """Cross-spectrum of the two splits with Monte-Carlo errors (as ``cosmo cmb-spectrum
    --splits``), the simulations drawn from a first-pass best fit (:func:`spectrum_of_splits`)."""
    from rediscovery.core.plotting import savefig
    from rediscovery.cosmo.cmb.spectra import read_map_set, write_outputs
    from rediscovery.cosmo.cmb.spectra.plots import plot_spectrum

    _quiet_healpy()
    sets = [read_map_set(inputs[k]) for k in ("split1", "split2")]
    fwhm = float(sets[0].info.get("beam_fwhm_arcmin", cfg.cmb_fwhm))
    lmax = cfg.cmb_lmax or beam_lmax(fwhm, sets[0].nside)
    result, window, fid, best = spectrum_of_splits(
        sets,
        lmax=lmax,
        delta_ell=cfg.cmb_delta_ell,
        apod_deg=cfg.cmb_apod_deg,
        fwhm_arcmin=fwhm,
        n_sims=cfg.cmb_n_sims,
        seed=_seed(cfg, 0x53494D),
        n_workers=cfg.n_workers,
        progress=cfg.progress,
        pixwin=MAPS_PIXEL_WINDOW,
    )
    write_outputs(
        out,
        result,
        window,
        {
            "map": str(inputs["split1"]),
            "splits": [str(inputs[k]) for k in ("split1", "split2")],
            "mask": None,
            "fwhm_arcmin": fwhm,
            "pixwin": MAPS_PIXEL_WINDOW,
            "fiducial": f"curved emulator at the first-pass best fit {best} (fixed {CMB_FIXED})",
        },
    )
    ells = np.arange(2, lmax + 1)
    savefig(
        plot_spectrum(result, theory=(ells, ells * (ells + 1) / (2 * math.pi) * fid[ells])),
        out / "spectrum.png",
    )
    return {
        "n_bands": int(result.binning.n_bins),
        "lmax": int(lmax),
        "fsky_eff": float(window.fsky_eff),
        "n_sims": cfg.cmb_n_sims,
    }


def _cmb_extra(fit: Any) -> dict[str, Any]:
    """Derived H0 and Ω_k (posterior-summary contract) and the fit's χ² for the JSON."""
    from rediscovery.cosmo.mcmc import interval_summary

    d = fit.derived_density()
    return {
        **{k: {**interval_summary(d[k]), "derived": True} for k in ("H0", "Ok")},
        "chi2_best": fit.chi2_best,
        "n_bins": fit.n_bins,
        "fixed": fit.likelihood.fixed,
        "best_fit": fit.best_fit,
    }


def stage_cmb_fit(inputs: dict[str, Path], out: Path, cfg: CosmoRunConfig) -> dict[str, Any]:
    """CMB-only MCMC of (h, Ω_m, Ω_Λ) with the curved emulator (as ``cosmo cmb-fit --params
    h,Om,OL``): ``cmb_posterior.json``, ``cmb_chain.parquet``."""
    from rediscovery.cosmo.cmb.io import read_spectrum
    from rediscovery.cosmo.cmb.likelihood import fit_cmb_spectrum
    from rediscovery.cosmo.mcmc import write_posterior

    spec = read_spectrum(inputs["spectrum"])
    fit = fit_cmb_spectrum(
        spec,
        params=("h", "Om", "OL"),
        fixed=CMB_FIXED,
        seed=_seed(cfg, 0x434654),
        n_walkers=cfg.n_walkers,
        n_steps=cfg.cmb_steps,
        progress=cfg.progress,
    )
    extra = _cmb_extra(fit)
    write_posterior(
        fit.result,
        out / "cmb_posterior.json",
        extra={
            **extra,
            "model": "lcdm (curved), TT spectrum",
            "P_OL_positive": float(np.mean(fit.result.samples[:, 2] > 0)),
        },
    )
    return {
        "H0": extra["H0"]["mean"],
        "Ok": extra["Ok"]["mean"],
        "converged": bool(fit.result.converged),
    }


#: An unconverged joint chain is extended (by half its length at a time) up to this many times
#: the configured number of steps (:func:`rediscovery.cosmo.mcmc.run_mcmc`, ``max_steps``).
JOINT_MAX_STEPS_FACTOR = 3


def stage_joint_spectrum(inputs: dict[str, Path], out: Path, cfg: CosmoRunConfig) -> dict[str, Any]:
    """SN Hubble diagram + CMB spectrum MCMC of (h, Ω_m, Ω_Λ): ``joint_posterior.json`` (with
    the profile-likelihood intervals of H0, Ω_m, Ω_Λ, Ω_k under ``profile68``),
    ``joint_chain.parquet`` and ``om_ol_joint.png`` (SN, CMB and joint contours)."""
    import pandas as pd

    from rediscovery.core.errors import InputError
    from rediscovery.core.plotting import savefig
    from rediscovery.cosmo.cmb.io import read_spectrum
    from rediscovery.cosmo.joint_spectrum import fit_joint_spectrum, profile_joint
    from rediscovery.cosmo.mcmc import write_posterior
    from rediscovery.cosmo.plots import plot_om_ol_joint
    from rediscovery.cosmo.sn.io import read_hubble_table

    table = read_hubble_table(inputs["hubble"], "csv")
    spec = read_spectrum(inputs["spectrum"])
    fit = fit_joint_spectrum(
        table,
        spec,
        fixed=CMB_FIXED,
        seed=_seed(cfg, 0x4A54),
        n_walkers=cfg.n_walkers,
        n_steps=joint_steps(cfg),
        max_steps=JOINT_MAX_STEPS_FACTOR * joint_steps(cfg),
        progress=cfg.progress,
    )
    extra = _cmb_extra(fit)
    write_posterior(
        fit.result,
        out / "joint_posterior.json",
        extra={
            **extra,
            "profile68": {k: v.to_dict() for k, v in profile_joint(fit).items()},
            "model": "lcdm (curved)",
            "cmb": "TT spectrum",
            "spectrum": inputs["spectrum"].name,
            "hubble_table": inputs["hubble"].name,
        },
    )
    planes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for label, key in (("SN only", "sn_chain"), ("CMB only", "cmb_chain")):
        chain = pd.read_parquet(inputs[key])
        missing = [c for c in ("Om", "OL") if c not in chain.columns]
        if missing:
            raise InputError(f"{label} chain lacks columns {missing}", path=inputs[key])
        planes[label] = (chain["Om"].to_numpy(), chain["OL"].to_numpy())
    s = fit.result.samples
    planes["SN + CMB"] = (
        s[:, fit.likelihood.free.index("Om")],
        s[:, fit.likelihood.free.index("OL")],
    )
    savefig(
        plot_om_ol_joint(planes, title="SN Ia + CMB TT spectrum, curved ΛCDM"),
        out / "om_ol_joint.png",
    )
    return {
        "H0": extra["H0"]["mean"],
        "Om": float(planes["SN + CMB"][0].mean()),
        "OL": float(planes["SN + CMB"][1].mean()),
        "converged": bool(fit.result.converged),
    }


#: Stage name -> (function, {input name: path relative to the run}) of the CMB branch.
CMB_STAGES: dict[str, tuple[Any, dict[str, str]]] = {
    "tod": (stage_tod, {}),
    "map": (stage_map, {"tod": "tod/tod.h5"}),
    "spectrum": (
        stage_spectrum,
        {"split1": "map/split1/map.fits", "split2": "map/split2/map.fits"},
    ),
    "cmb_fit": (stage_cmb_fit, {"spectrum": "spectrum/spectrum.csv"}),
}

#: Files whose fingerprints a re-run checks before skipping a stage.
CMB_OUTPUTS: dict[str, list[str]] = {
    "tod": ["tod.h5"],
    "map": ["split1/map.fits", "split2/map.fits"],
    "spectrum": ["spectrum.csv"],
    "cmb_fit": ["cmb_posterior.json", "cmb_chain.parquet"],
}
