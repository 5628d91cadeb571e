"""The cosmology analysis (supernovae + CMB → H0, Ω_m, Ω_Λ) as a chain of stages in a run.

``rediscovery cosmo run --out runs/NAME`` runs, in order:

=========== ======================================== =========================================
stage       reads                                    writes (in ``<run>/<stage>/``)
=========== ======================================== =========================================
simulate    (config only)                            ``lightcurves.csv``, ``redshifts.csv``
                                                     (SALT2 photometry of ``n_sne`` SNe),
                                                     ``cmb_distance_priors.json`` (mock
                                                     Planck-2018-like R, ℓ_A, ω_b at the same
                                                     cosmology), ``truth.json`` and
                                                     ``truth_sne.csv`` (never read here)
lightcurves ``simulate/{lightcurves,redshifts}.csv`` ``salt2_fits.csv``, ``tripp.json``,
                                                     ``hubble.csv`` (distance moduli)
sn_fit      ``lightcurves/salt2_fits.csv``           ``sn_posterior.json``,
            (``sn_likelihood: hierarchical``) or     ``sn_chain.parquet`` (curved ΛCDM:
            ``lightcurves/hubble.csv`` (``hubble``)  Ω_m, Ω_Λ [, α, β, σ_int, R_x1, R_c]),
                                                     Hubble diagram, plots
joint       ``lightcurves/hubble.csv``,              ``joint_posterior.json``,
            ``simulate/cmb_distance_priors.json``,   ``joint_chain.parquet`` (curved ΛCDM:
            ``sn_fit/sn_chain.parquet``              ω_m, Ω_m, Ω_k, ω_b; derived H0, Ω_Λ),
                                                     ``om_ol_joint.png``
=========== ======================================== =========================================

then ``results.json`` (:func:`cosmo_results`) and ``report.html`` at the top of the run.

That is the run with ``cmb: priors`` (``--cmb priors``). By default (``cmb: tod``) the CMB is
measured instead: four stages of :mod:`rediscovery.cosmo.pipeline_cmb` run after ``sn_fit``
(``tod → map → spectrum → cmb_fit``: the hidden universe's CMB sky scanned, destriped, its
cross-spectrum measured and fitted with the curved emulator), and ``joint`` combines the SN
Hubble table with the spectrum likelihood (:func:`~rediscovery.cosmo.pipeline_cmb
.stage_joint_spectrum`; reads ``lightcurves/hubble.csv``, ``spectrum/spectrum.csv``,
``sn_fit/sn_chain.parquet``, ``cmb_fit/cmb_chain.parquet``).

With ``sn_source: images`` (``cosmo run --from images``) the supernovae come from pixels
instead: three stages run between ``simulate`` and ``lightcurves``, and ``lightcurves`` reads
the photometry's files (``simulate`` still provides the CMB priors and the truth):

=========== ======================================== =========================================
images      (config only)                            the survey of ``cosmo sn-images``
                                                     (FITS images, ``hosts.csv``,
                                                     ``survey.json``; ``truth.json`` and
                                                     ``truth_fluxes.csv`` never read here)
detect      ``images/survey.json`` (its folder)      ``candidates.csv``, ``cutouts.png``
                                                     (``cosmo sn-detect``)
photometry  ``images/survey.json``,                  ``lightcurves.csv``, ``redshifts.csv``,
            ``detect/candidates.csv``                ``lightcurves_all.csv``
                                                     (``cosmo sn-photometry``)
=========== ======================================== =========================================

The hidden cosmology is drawn by :func:`rediscovery.cosmo.sn.simulate.draw_truth` from the
run's seed (curved by default: H0 ~ U(60, 80), Ω_m ~ U(0.2, 0.4), Ω_Λ ~ U(0.5, 0.9)); the CMB
needs a baryon density too, fixed to Planck's ω_b = 0.02236 (Chen, Huang & Wang 2019, Table I)
unless configured. Both go to ``simulate/truth.json`` only, which no stage lists as an input;
``rediscovery unblind RUN`` compares them with the posteriors.

Every stage is a function ``stage(inputs: dict[str, Path], out: Path, config:
CosmoRunConfig) -> dict`` returning a small JSON-ready summary; ``--stage
joint=mypackage.module:function`` replaces one, ``--force STAGE`` re-runs it and every later
stage, unchanged stages are skipped (:mod:`rediscovery.core.pipeline`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from rediscovery.core.errors import InputError
from rediscovery.core.files import write_json
from rediscovery.core.pipeline import StageFunction, run_analysis
from rediscovery.cosmo.sn.simulate import ABS_MAG_B

__all__ = [
    "IMAGE_STAGES",
    "STAGES",
    "CosmoRunConfig",
    "cosmo_results",
    "read_cmb_priors",
    "run_pipeline",
    "stage_detect",
    "stage_images",
    "stage_joint",
    "stage_lightcurves",
    "stage_photometry",
    "stage_simulate",
    "stage_sn_fit",
    "stages_for",
    "summarise",
]

log = logging.getLogger(__name__)



class CosmoRunConfig(BaseModel):
    """Configuration of ``rediscovery cosmo run`` (written to ``config.yaml``).

    The hidden (H0, Ω_m, Ω_Λ) are drawn from the run's seed unless given (``h0_true`` etc.);
    they are written to ``simulate/truth.json`` only.
    """

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(default=1, ge=0, description="master seed of every random step")
    n_sne: int = Field(default=150, ge=10, description="simulated supernovae")
    z_max: float = Field(default=0.8, gt=0.1, le=2.0, description="largest SN redshift")
    cadence: float = Field(default=4.0, gt=0, description="days between visits per band")
    flat: bool = Field(default=False, description="hidden universe flat (Ω_Λ = 1 − Ω_m)")
    h0_true: float | None = Field(default=None, gt=0, description="true H0 in km/s/Mpc (hidden)")
    om_true: float | None = Field(default=None, gt=0, lt=1, description="true Ω_m (hidden)")
    ol_true: float | None = Field(default=None, ge=-0.5, lt=1.5,
                                  description="true Ω_Λ (hidden)")
    ombh2_true: float | None = Field(
        default=None, gt=0.015, lt=0.03, description="true ω_b = Ω_b h² (for the CMB); default "
        "Planck 2018: the distance priors' mean with cmb: priors, the curved emulator's value "
        "with cmb: tod")
    abs_mag: float = Field(default=ABS_MAG_B, description="calibrated M_B (AB mag); sets H0 of "
                           "the SN-only Hubble table only")
    n_workers: int = Field(default=2, ge=1, description="processes for the SALT2 fits")
    sn_steps: int = Field(default=10000, ge=200, description="SN-only MCMC steps per walker")
    sn_likelihood: Literal["hierarchical", "hubble"] = Field(
        default="hierarchical", description="SN-only fit: hierarchical samples the cosmology "
        "with alpha, beta, sigma_int and the x1, c population widths (salt2_fits.csv); hubble "
        "fits hubble.csv with the standardisation fixed at the Tripp fit's")
    joint_steps: int | None = Field(
        default=None, ge=200, description="joint MCMC steps per walker (default 20,000 with "
        "cmb: priors, 8,000 with cmb: tod, whose (h, ω_m, ω_k) sampling mixes faster)")
    n_walkers: int = Field(default=32, ge=8, description="MCMC walkers")
    cmb_only_in_figure: bool = Field(
        default=True, description="also sample the CMB-only posterior for the (Ω_m, Ω_Λ) "
        "figure (illustration only; cmb: priors — with cmb: tod it is the cmb_fit stage)")
    progress: bool = Field(default=True, description="progress bars")
    sn_source: Literal["lightcurves", "images"] = Field(
        default="lightcurves", description="lightcurves: SALT2 photometry simulated directly; "
        "images: a pixel survey -> detection -> forced photometry")
    image_fields: int = Field(default=4, ge=1, description="images: survey fields")
    image_epochs: int = Field(default=24, ge=3, description="images: epochs per band")
    image_size: int = Field(default=512, ge=64, description="images: image side, pixels")
    image_bands: str = Field(default="griz", min_length=1, description="images: bands")
    sne_per_field: int = Field(default=10, ge=1, description="images: SNe Ia per field")
    detect_threshold: float = Field(default=5.0, gt=0, description="images: detection "
                                    "threshold on ZOGY's S_corr, sigma")
    detect_method: Literal["zogy", "alard-lupton"] = Field(
        default="zogy", description="images: image subtraction of the detection stage")
    cmb: Literal["tod", "priors"] = Field(
        default="tod", description="tod: the CMB branch tod -> map -> spectrum -> cmb_fit and a "
        "joint fit with the spectrum likelihood; priors: mock Planck-like distance priors")
    cmb_nside: int = Field(default=128, ge=16, le=1024, description="tod: HEALPix nside of "
                           "the sky and the maps (power of 2)")
    cmb_days: float = Field(default=1.0, gt=0, le=30, description="tod: observing days")
    cmb_detectors: int = Field(default=4, ge=2, le=64, description="tod: detectors (two "
                               "splits of independent noise: odd and even)")
    cmb_sample_rate: float = Field(default=10.0, gt=0, le=1000, description="tod: Hz")
    cmb_net: float = Field(default=300.0, gt=0, description="tod: white noise per sample, μK")
    cmb_fknee: float = Field(default=1.0, ge=0, description="tod: 1/f knee frequency, Hz")
    cmb_fwhm: float = Field(default=30.0, gt=0, le=600, description="tod: beam FWHM, arcmin")
    cmb_baseline_seconds: float = Field(default=1.0, gt=0, description="tod: destriper "
                                        "baseline length, s")
    cmb_lmax: int | None = Field(default=None, ge=30, description="tod: largest multipole "
                                 "(default matched to the beam and nside, pipeline_cmb.beam_lmax)")
    cmb_delta_ell: int = Field(default=20, ge=5, description="tod: band width")
    cmb_apod_deg: float = Field(default=2.0, ge=0, description="tod: mask apodisation, degrees")
    cmb_n_sims: int = Field(default=40, ge=2, description="tod: Monte-Carlo simulations for "
                            "the spectrum's errors")
    cmb_steps: int = Field(default=6000, ge=200, description="tod: CMB-only MCMC steps per "
                           "walker")


#: Configuration fields of the image chain: outside the fingerprints of a run that does not
#: use it (``sn_source: lightcurves``), so that existing runs stay valid.
_IMAGE_FIELDS = {"sn_source", "image_fields", "image_epochs", "image_size", "image_bands",
                 "sne_per_field", "detect_threshold", "detect_method"}


#: Configuration fields of the CMB branch: outside the fingerprints of a run with
#: ``cmb: priors`` (as before the branch existed).
_CMB_FIELDS = {"cmb_nside", "cmb_days", "cmb_detectors", "cmb_sample_rate", "cmb_net",
               "cmb_fknee", "cmb_fwhm", "cmb_baseline_seconds", "cmb_lmax", "cmb_delta_ell",
               "cmb_apod_deg", "cmb_n_sims", "cmb_steps"}


def _joint_steps(cfg: CosmoRunConfig) -> int:
    from rediscovery.cosmo.pipeline_cmb import joint_steps

    return joint_steps(cfg)


def _seed(cfg: CosmoRunConfig, stream: int) -> int:
    """An integer seed of its own per random step (changing one never shifts the others)."""
    return int(np.random.SeedSequence([cfg.seed, stream]).generate_state(1)[0])


# -- stages -----------------------------------------------------------------------------------
def stage_simulate(inputs: dict[str, Path], out: Path, cfg: CosmoRunConfig) -> dict[str, Any]:
    """Draw the hidden cosmology; simulate SALT2 light curves and the CMB distance priors.

    Writes ``lightcurves.csv``, ``redshifts.csv``, ``truth_sne.csv``, ``truth.json`` and
    ``cmb_distance_priors.json`` (``{"names", "mean", "cov", "name"}``: a draw from
    N(x(truth), C) with the Planck 2018 covariance C, :meth:`CMBDistancePriorLikelihood
    .simulate`).
    """
    from rediscovery.cosmo.cosmology import omega_radiation
    from rediscovery.cosmo.joint import CMBDistancePriorLikelihood
    from rediscovery.cosmo.pipeline_cmb import hidden_ombh2
    from rediscovery.cosmo.sn.io import write_csv
    from rediscovery.cosmo.sn.simulate import Survey, draw_truth, simulate_lightcurves

    truth = draw_truth(cfg.seed, cfg.h0_true, cfg.om_true, cfg.ol_true, flat=cfg.flat)
    lcs, zs, params = simulate_lightcurves(cfg.n_sne, truth, seed=cfg.seed,
                                           survey=Survey(z_max=cfg.z_max, cadence=cfg.cadence))
    write_csv(lcs, out / "lightcurves.csv")
    write_csv(zs, out / "redshifts.csv")
    write_csv(params, out / "truth_sne.csv")
    ombh2 = hidden_ombh2(cfg)
    cosmo = {"H0": truth.H0, "Om": truth.Om, "OL": truth.OL, "ombh2": ombh2}
    cmb = CMBDistancePriorLikelihood.planck2018().simulate(cosmo, seed=_seed(cfg, 0x434D42))
    write_json(out / "cmb_distance_priors.json", {
        "names": ["R", "lA", "ombh2"], "mean": cmb.mean.tolist(), "cov": cmb.cov.tolist(),
        "name": cmb.name,
        "reference": "mock draw with the covariance of Chen, Huang & Wang 2019 (Table I)"})
    # curvature in the joint fit's convention, radiation included (Ω_r ~ 1e-4)
    o_rad = omega_radiation(100.0) / (truth.H0 / 100.0) ** 2
    write_json(out / "truth.json", {
        **truth.to_dict(), "ombh2": ombh2, "Ok": 1.0 - truth.Om - truth.OL - o_rad,
        "note": "ombh2 fixed by the run configuration (Planck 2018); Ok = 1 - Om - OL - "
                "Omega_r(H0)"})
    return {"n_sne": cfg.n_sne, "photometric_points": len(lcs), "hidden": truth.hidden}


def stage_lightcurves(inputs: dict[str, Path], out: Path, cfg: CosmoRunConfig
                      ) -> dict[str, Any]:
    """Fit SALT2 to every SN and standardise (Tripp): ``salt2_fits.csv``, ``tripp.json``,
    ``hubble.csv`` (as ``rediscovery cosmo sn-lightcurves``)."""
    from rediscovery.cosmo.sn.hubble import fit_tripp, standardise
    from rediscovery.cosmo.sn.io import read_lightcurves, read_redshifts, write_csv
    from rediscovery.cosmo.sn.lightcurves import fit_lightcurves

    fits = fit_lightcurves(read_lightcurves(inputs["lightcurves"]),
                           read_redshifts(inputs["redshifts"]), drop_sparse=True,
                           n_workers=cfg.n_workers, progress=cfg.progress,
                           source=str(inputs["lightcurves"]))
    write_csv(fits, out / "salt2_fits.csv")
    good = fits[fits["quality"]].reset_index(drop=True)
    if len(good) < 5:
        raise InputError(f"only {len(good)} of {len(fits)} SNe pass the SALT2 quality cuts; "
                         "need at least 5 for the Tripp fit", path=inputs["lightcurves"])
    tripp = fit_tripp(good)
    write_json(out / "tripp.json", {**tripp.to_dict(), "abs_mag": cfg.abs_mag,
                                    "n_fitted": len(fits), "n_pass_quality": len(good)})
    write_csv(standardise(good, tripp, cfg.abs_mag), out / "hubble.csv")
    return {"n_fitted": len(fits), "n_pass_quality": len(good), "alpha": tripp.alpha,
            "beta": tripp.beta, "sigma_int": tripp.sigma_int}


def stage_sn_fit(inputs: dict[str, Path], out: Path, cfg: CosmoRunConfig) -> dict[str, Any]:
    """SN-only curved-ΛCDM MCMC: ``sn_posterior.json``, ``sn_chain.parquet``, Hubble diagram,
    (Ω_m, Ω_Λ) and triangle plots. With ``sn_likelihood: hierarchical`` (default) the
    standardisation is sampled with the cosmology from ``salt2_fits.csv`` (as ``rediscovery
    cosmo sn-fit --format salt2 --model lcdm``); with ``hubble`` the Hubble table is fitted
    (as ``rediscovery cosmo sn-fit --model lcdm``)."""
    from rediscovery.cosmo.mcmc import write_posterior
    from rediscovery.cosmo.sn.plots import save_sn_fit_plots

    seed = _seed(cfg, 0x534E)
    extra: dict[str, Any] = {}
    if cfg.sn_likelihood == "hierarchical":
        from rediscovery.cosmo.sn.hierarchical import fit_hierarchical
        from rediscovery.cosmo.sn.io import read_salt2_fits

        fits, _ = read_salt2_fits(inputs["salt2"])
        res = fit_hierarchical(fits, "lcdm", abs_mag=cfg.abs_mag, seed=seed,
                               n_steps=cfg.sn_steps, n_walkers=cfg.n_walkers,
                               progress=cfg.progress)
        extra = {"likelihood": "hierarchical SALT2 (standardisation sampled)",
                 "abs_mag": cfg.abs_mag}
    else:
        from rediscovery.cosmo.sn.hubble import fit_hubble
        from rediscovery.cosmo.sn.io import read_hubble_table

        res = fit_hubble(read_hubble_table(inputs["hubble"], "csv"), "lcdm", seed=seed,
                         n_steps=cfg.sn_steps, n_walkers=cfg.n_walkers, progress=cfg.progress)
    summary = res.summary()
    write_posterior(res.mcmc, out / "sn_posterior.json",
                    extra={**{k: v for k, v in summary.items() if k not in res.mcmc.summary()},
                           **extra})
    save_sn_fit_plots(res, out, dpi=100)
    ev = summary["dark_energy_evidence"]
    return {"Om": summary["Om"]["mean"], "OL": summary["OL"]["mean"],
            "p_omega_lambda_positive": ev["p_omega_lambda_positive"],
            "converged": summary["converged"]}



def stage_images(inputs: dict[str, Path], out: Path, cfg: CosmoRunConfig) -> dict[str, Any]:
    """The pixel survey (as ``rediscovery cosmo sn-images``) of the run's hidden cosmology (the
    same draw as ``simulate``): FITS images, ``hosts.csv``, ``stars.csv``, ``survey.json``;
    ``truth.json``, ``truth_fluxes.csv`` hidden."""
    from rediscovery.cosmo.sn.images import ImageSurvey, draw_scene, write_survey
    from rediscovery.cosmo.sn.simulate import draw_truth

    truth = draw_truth(cfg.seed, cfg.h0_true, cfg.om_true, cfg.ol_true, flat=cfg.flat)
    scene = draw_scene(ImageSurvey(n_fields=cfg.image_fields, bands=cfg.image_bands,
                                   n_epochs=cfg.image_epochs, size=cfg.image_size,
                                   sne_per_field=cfg.sne_per_field, z_max=cfg.z_max),
                       truth, seed=cfg.seed)
    summary = write_survey(out, scene, progress=cfg.progress)
    return {k: summary[k] for k in ("n_images", "n_sne", "n_hosts")}


def stage_detect(inputs: dict[str, Path], out: Path, cfg: CosmoRunConfig) -> dict[str, Any]:
    """Difference imaging and detection on every field (as ``rediscovery cosmo sn-detect``):
    ``candidates.csv``."""
    from rediscovery.core.plotting import savefig
    from rediscovery.cosmo.sn.images import list_survey
    from rediscovery.cosmo.sn.io import write_csv
    from rediscovery.cosmo.sn.survey import DetectOptions, cutouts_figure, detect_survey

    root = inputs["survey"].parent
    survey = list_survey(root)
    cands = detect_survey(survey, root / "hosts.csv",
                          DetectOptions(method=cfg.detect_method,
                                        threshold=cfg.detect_threshold),
                          stars=root / "stars.csv", n_workers=cfg.n_workers,
                          progress=cfg.progress)
    write_csv(cands, out / "candidates.csv")
    fig = cutouts_figure(survey, cands, stars=root / "stars.csv")
    if fig is not None:
        savefig(fig, out / "cutouts.png", dpi=100)
    return {"n_candidates": len(cands),
            "n_with_host": int((cands["host_id"].astype(str) != "-1").sum())}


def stage_photometry(inputs: dict[str, Path], out: Path, cfg: CosmoRunConfig
                     ) -> dict[str, Any]:
    """Forced photometry of the candidates (as ``rediscovery cosmo sn-photometry``):
    ``lightcurves.csv``, ``redshifts.csv`` (candidates with a host redshift) and
    ``lightcurves_all.csv``."""
    from rediscovery.cosmo.sn.images import list_survey
    from rediscovery.cosmo.sn.io import write_csv
    from rediscovery.cosmo.sn.photometry.io import read_candidates
    from rediscovery.cosmo.sn.survey import lightcurve_tables, survey_photometry

    cands = read_candidates(inputs["candidates"])
    root = inputs["survey"].parent
    lc = survey_photometry(list_survey(root), cands, stars=root / "stars.csv",
                           n_workers=cfg.n_workers, progress=cfg.progress,
                           source=str(inputs["candidates"]))
    write_csv(lc, out / "lightcurves_all.csv")
    lcs, zs = lightcurve_tables(lc, cands)
    write_csv(lcs, out / "lightcurves.csv")
    write_csv(zs, out / "redshifts.csv")
    if len(lc):
        from rediscovery.core.plotting import savefig
        from rediscovery.cosmo.sn.photometry.plots import plot_lightcurves

        savefig(plot_lightcurves(lc, max_sne=6), out / "lightcurves.png", dpi=100)
    return {"n_candidates": len(cands), "n_with_redshift": len(zs), "points": len(lcs)}

def read_cmb_priors(path: Path) -> Any:
    """Read ``cmb_distance_priors.json`` back into a
    :class:`~rediscovery.cosmo.joint.CMBDistancePriorLikelihood`.

    Raises
    ------
    InputError
        Unreadable file, missing ``mean``/``cov`` or an invalid covariance.
    """
    from rediscovery.cosmo.joint import CMBDistancePriorLikelihood

    try:
        data = json.loads(Path(path).read_text())
        mean, cov = data["mean"], data["cov"]
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the CMB distance priors ({exc})", path=path) from None
    except (KeyError, TypeError):
        raise InputError("the CMB distance priors need 'mean' (R, lA, ombh2) and 'cov' (3x3)",
                         path=path) from None
    try:
        return CMBDistancePriorLikelihood(np.asarray(mean, dtype=float),
                                          np.asarray(cov, dtype=float),
                                          name=str(data.get("name", "custom")))
    except InputError as exc:
        raise InputError(str(exc), path=path) from None
    except (TypeError, ValueError) as exc:
        raise InputError(f"the CMB distance priors are not numeric ({exc})", path=path) from None


def _interval(x: np.ndarray) -> dict[str, Any]:
    from rediscovery.cosmo.mcmc import interval_summary

    return {**interval_summary(x), "derived": True}


def stage_joint(inputs: dict[str, Path], out: Path, cfg: CosmoRunConfig) -> dict[str, Any]:
    """Joint SN + CMB distance-prior MCMC in curved ΛCDM (as ``rediscovery cosmo joint-fit``).

    ``joint_posterior.json`` holds the sampled ω_m, Ω_m, Ω_k, ω_b and the derived H0 and Ω_Λ
    (:func:`~rediscovery.cosmo.joint.joint_params`) in the posterior contract, so that
    ``rediscovery unblind`` compares them with ``truth.json``. The (Ω_m, Ω_Λ) figure overlays
    the SN-only chain of ``sn_fit`` (and, if configured, a CMB-only chain).
    """
    import pandas as pd

    from rediscovery.core.plotting import savefig
    from rediscovery.cosmo.joint import (
        fit_cmb_only,
        fit_joint,
        joint_params,
        separate_fit_summary,
    )
    from rediscovery.cosmo.mcmc import write_posterior
    from rediscovery.cosmo.plots import plot_om_ol_joint
    from rediscovery.cosmo.sn.io import read_hubble_table

    table = read_hubble_table(inputs["hubble"], "csv")
    cmb = read_cmb_priors(inputs["cmb"])
    res = fit_joint(table, cmb, model="lcdm", seed=_seed(cfg, 0x4A54),
                    n_walkers=cfg.n_walkers, n_steps=_joint_steps(cfg), progress=cfg.progress)
    p = joint_params("lcdm", res.samples)
    derived = {k: _interval(p[k]) for k in ("H0", "OL")}
    sn_chain = pd.read_parquet(inputs["sn_chain"])
    missing = [c for c in ("Om", "OL") if c not in sn_chain.columns]
    if missing:
        raise InputError(f"SN-only chain lacks columns {missing}", path=inputs["sn_chain"])
    planes: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "SN only": (sn_chain["Om"].to_numpy(), sn_chain["OL"].to_numpy())}
    separate: dict[str, Any] = {}
    if cfg.cmb_only_in_figure:
        cmb_only = fit_cmb_only(cmb, model="lcdm", seed=_seed(cfg, 0x434F),
                                n_walkers=cfg.n_walkers, n_steps=_joint_steps(cfg),
                                progress=cfg.progress)
        pc = joint_params("lcdm", cmb_only.samples)
        planes["CMB only"] = (pc["Om"], pc["OL"])
        separate["CMB only"] = separate_fit_summary("lcdm", cmb_only)
    planes["SN + CMB"] = (p["Om"], p["OL"])
    write_posterior(res, out / "joint_posterior.json",
                    extra={**derived, "model": "lcdm", "cmb": cmb.name,
                           "hubble_table": inputs["hubble"].name, "separate_fits": separate})
    savefig(plot_om_ol_joint(planes), out / "om_ol_joint.png")
    return {"H0": derived["H0"]["mean"], "Om": float(p["Om"].mean()),
            "OL": derived["OL"]["mean"], "converged": bool(res.converged)}


#: Stage name -> (built-in function, {input name: path relative to the run}).
STAGES: dict[str, tuple[StageFunction, dict[str, str]]] = {
    "simulate": (stage_simulate, {}),
    "lightcurves": (stage_lightcurves, {"lightcurves": "simulate/lightcurves.csv",
                                        "redshifts": "simulate/redshifts.csv"}),
    "sn_fit": (stage_sn_fit, {"hubble": "lightcurves/hubble.csv",
                              "salt2": "lightcurves/salt2_fits.csv"}),
    "joint": (stage_joint, {"hubble": "lightcurves/hubble.csv",
                            "cmb": "simulate/cmb_distance_priors.json",
                            "sn_chain": "sn_fit/sn_chain.parquet"}),
}

#: The stages of the image chain (``sn_source: images``), inserted after ``simulate``.
IMAGE_STAGES: dict[str, tuple[StageFunction, dict[str, str]]] = {
    "images": (stage_images, {}),
    "detect": (stage_detect, {"survey": "images/survey.json"}),
    "photometry": (stage_photometry, {"survey": "images/survey.json",
                                      "candidates": "detect/candidates.csv"}),
}

_OUTPUTS = {
    "images": ["survey.json", "hosts.csv"],
    "detect": ["candidates.csv"],
    "photometry": ["lightcurves.csv", "redshifts.csv"],
    "simulate": ["lightcurves.csv", "redshifts.csv", "cmb_distance_priors.json", "truth.json"],
    "lightcurves": ["salt2_fits.csv", "tripp.json", "hubble.csv"],
    "sn_fit": ["sn_posterior.json", "sn_chain.parquet"],
    "joint": ["joint_posterior.json"],
}


def run_pipeline(out: str | Path, config: CosmoRunConfig | None = None, *,
                 replace: Mapping[str, str] | None = None, force: Sequence[str] = (),
                 until: str | None = None) -> dict[str, Any]:
    """Run (or resume) the cosmology analysis in the run directory ``out`` (created) with
    ``config`` (defaults otherwise); ``replace``, ``force`` and ``until`` as in
    :func:`rediscovery.core.pipeline.run_analysis`. Returns the content of ``results.json``
    (:func:`cosmo_results`; empty if stopped before the joint fit)."""
    cfg = config or CosmoRunConfig()
    stages = stages_for(cfg)
    # progress is presentation only: it must not change any stage's fingerprint; the image
    # chain's settings enter only the runs that use it
    exclude = ({"progress"} | (_IMAGE_FIELDS if cfg.sn_source == "lightcurves" else set())
               | ({"cmb", *_CMB_FIELDS} if cfg.cmb == "priors" else set()))
    outputs = dict(_OUTPUTS)
    if cfg.cmb == "tod":
        from rediscovery.cosmo.pipeline_cmb import CMB_OUTPUTS

        outputs.update(CMB_OUTPUTS)
    return run_analysis(out, stages, {k: outputs[k] for k in stages}, cfg, section="cosmo",
                        final="joint", results=cosmo_results,
                        title="rediscovery cosmology run",
                        config_json=cfg.model_dump(mode="json", exclude=exclude),
                        replace=replace, force=force, until=until)


def stages_for(cfg: CosmoRunConfig) -> dict[str, tuple[StageFunction, dict[str, str]]]:
    """The stages of a run: :data:`STAGES`, or with ``sn_source: images`` the image chain
    (:data:`IMAGE_STAGES`) after ``simulate`` and ``lightcurves`` reading the photometry."""
    if cfg.sn_source == "lightcurves":
        out = dict(STAGES)
    else:
        lc_fn, _ = STAGES["lightcurves"]
        out = {"simulate": STAGES["simulate"], **IMAGE_STAGES,
               "lightcurves": (lc_fn, {"lightcurves": "photometry/lightcurves.csv",
                                       "redshifts": "photometry/redshifts.csv"})}
        out.update({k: v for k, v in STAGES.items() if k not in out})
    if cfg.cmb == "priors":
        return out
    from rediscovery.cosmo.pipeline_cmb import CMB_STAGES, stage_joint_spectrum

    joint = out.pop("joint")
    out.update(CMB_STAGES)
    out["joint"] = (stage_joint_spectrum if joint[0] is stage_joint else joint[0],
                    {"hubble": "lightcurves/hubble.csv", "spectrum": "spectrum/spectrum.csv",
                     "sn_chain": "sn_fit/sn_chain.parquet",
                     "cmb_chain": "cmb_fit/cmb_chain.parquet"})
    return out


def _param_rows(post: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    keys = ("mean", "std", "lo68", "hi68")
    return {n: {k: post[n][k] for k in keys} for n in names
            if isinstance(post.get(n), dict) and set(keys) <= set(post[n])}


def cosmo_results(root: Path) -> dict[str, Any]:
    """The cosmology results contract of a run (``results.json``).

    Returns
    -------
    dict
        ``joint``: ``{H0, Om, OL, Ok, ombh2: {mean, std, lo68, hi68}}`` of the SN + CMB fit
        (H0 in km/s/Mpc; no ombh2 with ``cmb: tod``, where it is fixed); ``sn_only``:
        ``{Om, OL: ...}`` of the SN-only fit; ``cmb_only``: ``{H0, Om, OL, Ok: ...}`` of the
        CMB-spectrum fit and ``converged_cmb`` (``cmb: tod``; not part of ``converged``);
        ``p_omega_lambda_positive`` (SN only) and ``delta_chi2_no_dark_energy``;
        ``converged_joint``, ``converged_sn``, ``converged`` (both); ``tripp`` (α, β, σ_int)
        and ``n_sne`` when the light-curve stage wrote ``tripp.json``.
    """
    def load(rel: str) -> dict[str, Any]:
        path = root / rel
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {rel} ({exc})", path=path) from None

    joint = load("joint/joint_posterior.json")
    out: dict[str, Any] = {"model": "lcdm (curved)",
                           "joint": _param_rows(joint, ("H0", "Om", "OL", "Ok", "ombh2")),
                           "converged_joint": bool(joint.get("converged", False))}
    if (root / "sn_fit" / "sn_posterior.json").exists():
        sn = load("sn_fit/sn_posterior.json")
        ev = sn.get("dark_energy_evidence", {})
        out["sn_only"] = _param_rows(sn, ("Om", "OL"))
        out["p_omega_lambda_positive"] = ev.get("p_omega_lambda_positive")
        out["delta_chi2_no_dark_energy"] = ev.get("delta_chi2")
        out["converged_sn"] = bool(sn.get("converged", False))
    if (root / "cmb_fit" / "cmb_posterior.json").exists():
        cmb = load("cmb_fit/cmb_posterior.json")
        out["cmb_only"] = _param_rows(cmb, ("H0", "Om", "OL", "Ok"))
        out["converged_cmb"] = bool(cmb.get("converged", False))
    # the CMB-only chain (the degeneracy ridge, bounded by the emulator's box) is reported on
    # its own: like the distance priors' CMB-only chain, it is not a result of the run
    out["converged"] = out["converged_joint"] and out.get("converged_sn", True)
    if (root / "lightcurves" / "tripp.json").exists():
        tr = load("lightcurves/tripp.json")
        out["tripp"] = {k: tr[k] for k in ("alpha", "beta", "sigma_int") if k in tr}
        out["n_sne"] = {k: tr[k] for k in ("n_fitted", "n_pass_quality") if k in tr}
    return out


def summarise(results: Mapping[str, Any]) -> dict[str, str]:
    """The headline numbers of a results dict as printable strings."""
    rows: dict[str, str] = {}
    for label, key in (("SN + CMB", "joint"), ("SN only", "sn_only"), ("CMB only", "cmb_only")):
        for name, s in results.get(key, {}).items():
            if name in ("H0", "Om", "OL", "Ok"):
                rows[f"{name} ({label})"] = f"{s['mean']:.4g} ± {s['std']:.2g}"
    if results.get("p_omega_lambda_positive") is not None:
        rows["P(ΩΛ > 0) (SN only)"] = f"{results['p_omega_lambda_positive']:.4f}"
    rows["converged"] = str(results.get("converged"))
    return rows


# -- the report ---------------------------------------------------------------------------------
#: Parameter name -> (HTML symbol, unit for the table header).
_SYMBOLS = {"H0": ("H<sub>0</sub>", "km/s/Mpc"), "Om": ("Ω<sub>m</sub>", ""),
            "OL": ("Ω<sub>Λ</sub>", ""), "Ok": ("Ω<sub>k</sub>", ""),
            "ombh2": ("ω<sub>b</sub> = Ω<sub>b</sub>h²", ""),
            "ommh2": ("ω<sub>m</sub> = Ω<sub>m</sub>h²", ""), "q0": ("q<sub>0</sub>", "")}


def _central(summary: Mapping[str, Any] | None) -> tuple[float, float, float] | None:
    """``(median, up, down)`` of a posterior summary (mean when there is no median)."""
    if not isinstance(summary, Mapping):
        return None
    try:
        c = float(summary.get("median", summary["mean"]))
        return c, float(summary["hi68"]) - c, c - float(summary["lo68"])
    except (KeyError, TypeError, ValueError):
        return None


def build_cosmo_report(root: Path) -> Any:
    """The report of a cosmology run: the SN + CMB result in one sentence, the parameter
    table (SN + CMB and SN only), the dark-energy evidence, the (Ω_m, Ω_Λ) plane, the Hubble
    diagram and the SN-only posterior, the light-curve standardisation and the MCMC
    convergence (missing pieces are left out)."""
    from rediscovery.core.report import (
        Figure,
        Html,
        Report,
        Section,
        Table,
        fmt_asym,
        fmt_number,
        fmt_pm,
        read_json_mapping,
    )

    res = read_json_mapping(root / "results.json")
    joint = read_json_mapping(root / "joint" / "joint_posterior.json")
    sn = read_json_mapping(root / "sn_fit" / "sn_posterior.json")
    cmbp = read_json_mapping(root / "cmb_fit" / "cmb_posterior.json")
    tripp = read_json_mapping(root / "lightcurves" / "tripp.json")
    rep = Report(title="")

    def figure(rel: str, caption: str, wide: bool = False) -> list[Figure]:
        p = root / rel
        return [Figure(p, caption, wide)] if p.exists() else []

    def value(post: Mapping[str, Any], name: str) -> Html | None:
        key = "joint" if post is joint else "cmb_only" if post is cmbp else "sn_only"
        c = _central(post.get(name)) or _central((res.get(key) or {}).get(name))
        return fmt_asym(*c) if c else None

    # -- headline
    parts = []
    for name in ("H0", "Om", "OL", "Ok"):
        v = value(joint, name)
        if v is not None:
            sym, unit = _SYMBOLS[name]
            parts.append(f"{sym} = {v}" + (f" {unit}" if unit else ""))
    ev = sn.get("dark_energy_evidence") or {}
    p_pos = ev.get("p_omega_lambda_positive", res.get("p_omega_lambda_positive"))
    n_sn = (res.get("n_sne") or {}).get("n_pass_quality") or tripp.get("n_pass_quality")

    def p_text(p: float | None) -> str:
        if p is None:
            return "—"
        if p >= 1.0 and ev.get("p_omega_lambda_positive_lower_bound") is not None:
            n = sn.get("n_samples")
            # a lower bound is rounded down (0.99986 → 0.9998, never up to 0.9999)
            bound = math.floor(float(ev["p_omega_lambda_positive_lower_bound"]) * 1e4) / 1e4
            return (f"&gt; {bound:.4f}"
                    + (f" (all {n} posterior samples)" if n else ""))
        return f"{p:.4f}"

    if parts:
        text = ("Supernovae + CMB, curved ΛCDM: " + ", ".join(parts)
                + " (posterior medians, 68% credible intervals)")
        if p_pos is not None:
            pt = p_text(p_pos)
            text += ("; supernovae alone" + (f" ({n_sn} SNe)" if n_sn else "")
                     + f": P(Ω<sub>Λ</sub> &gt; 0) {pt if pt.startswith('&gt;') else '= ' + pt}")
        rep.headline = Html(text + ".")
    else:
        rep.warnings.append("No joint posterior: the run has not reached the joint fit yet.")
    for label, post in (("SN + CMB", joint), ("SN only", sn), ("CMB only", cmbp)):
        if post and post.get("converged") is False:
            rep.warnings.append(f"The {label} MCMC has NOT converged: "
                                + "; ".join(map(str, post.get("warnings") or []))
                                + ". Its numbers are not results; run longer chains"
                                + (" (cmb_steps)" if post is cmbp else "") + ".")
    cfg = read_json_mapping(root / "manifest.json").get("stages", {}).get(
        "simulate", {}).get("config", {}).get("config", {})
    cmb_text = ("the TT power spectrum of a simulated CMB survey (time-ordered data → "
                "destriped maps → pseudo-C<sub>ℓ</sub> → curved emulator)" if cmbp else
                "mock Planck-2018-like CMB distance priors (R, ℓ<sub>A</sub>, ω<sub>b</sub>)")
    sub = ["Dark energy from simulated type Ia supernovae (SALT2 light curves, Tripp "
           f"standardisation) and {cmb_text}"]
    if n_sn:
        sub.append(f"{n_sn} SNe")
    if "seed" in cfg:
        sub.append(f"seed {cfg['seed']}")
    sub.append("blinded: the true cosmology is only in simulate/truth.json (compare with "
               "rediscovery unblind RUN)")
    rep.subtitle = Html("; ".join(sub) + ".")

    # -- parameter table
    rows = []
    for name in ("H0", "Om", "OL", "Ok", "ombh2"):
        sym, unit = _SYMBOLS[name]
        j, s = value(joint, name), value(sn, name) if name != "H0" else None
        c = value(cmbp, name) if cmbp else None
        if j is None and s is None and c is None:
            continue
        label = Html(sym + (f" [{unit}]" if unit else ""))
        js = joint.get(name) or {}
        rows.append([label, j or "—",
                     fmt_pm(js.get("mean"), js.get("std")) if js else "—", s or "—",
                     *([c or "—"] if cmbp else [])])
    blocks: list[Any] = []
    if rows:
        h0_cal = _central(sn.get("H0_if_calibrated"))
        note = ("Posterior medians with the central 68.27% credible interval (16th–84th "
                "percentiles); mean ± standard deviation for comparison. Ω<sub>Λ</sub> and "
                "H<sub>0</sub> of the joint fit are derived (Ω<sub>Λ</sub> = 1 − Ω<sub>m</sub> "
                "− Ω<sub>k</sub> − Ω<sub>r</sub>). Supernovae alone do not measure H<sub>0</sub> "
                "(it is degenerate with their absolute magnitude)")
        if h0_cal:
            note += (f"; with M<sub>B</sub> fixed to "
                     f"{fmt_number(tripp.get('abs_mag', ABS_MAG_B))} they would give "
                     f"H<sub>0</sub> = {fmt_pm(h0_cal[0], 0.5 * (h0_cal[1] + h0_cal[2]))} "
                     "km/s/Mpc")
        if cmbp:
            note += ("; the CMB fits free H<sub>0</sub>, Ω<sub>m</sub>, Ω<sub>Λ</sub> with "
                     "n<sub>s</sub>, A<sub>s</sub>, τ, ω<sub>b</sub> fixed (Ω<sub>k</sub> "
                     "derived)")
        blocks.append(Table("Cosmological parameters, curved ΛCDM",
                            ["parameter", "SN + CMB (68% CI)", "SN + CMB (mean ± std)",
                             "SN only (68% CI)", *(["CMB only (68% CI)"] if cmbp else [])],
                            rows, notes=Html(note + ".")))
    erows = []
    if p_pos is not None:
        erows.append([Html("P(Ω<sub>Λ</sub> &gt; 0)"), Html(p_text(p_pos))])
    if ev.get("p_accelerating_q0_negative") is not None:
        erows.append([Html("P(q<sub>0</sub> &lt; 0): accelerating expansion today"),
                      Html(p_text(ev["p_accelerating_q0_negative"]))])
    q0 = _central(sn.get("q0"))
    if q0:
        erows.append([Html("deceleration parameter q<sub>0</sub>"), fmt_asym(*q0)])
    bf = sn.get("best_fit") or {}
    if bf.get("chi2") is not None:
        erows.append(["χ² / dof of the best fit", f"{bf['chi2']:.1f} / {bf.get('dof', '—')}"])
    if ev.get("delta_chi2") is not None:
        sig = ev.get("sigma_equivalent_1dof")
        erows.append([Html("Δχ² of the best fit without dark energy (Ω<sub>Λ</sub> = 0)"),
                      f"{ev['delta_chi2']:.1f}" + (f" (≈ {sig:.1f}σ for one parameter)"
                                                   if sig is not None else "")])
    if erows:
        blocks.append(Table("Evidence for dark energy, supernovae alone", ["quantity", "value"],
                            erows, notes="Probabilities are fractions of posterior samples; "
                                         "with all samples above 0, the bound 1 − 1/N is given."))
    if blocks:
        rep.sections.append(Section("Results", blocks, key="results"))

    # -- figures
    figs = [*figure("joint/om_ol_joint.png", Html(
                "Credible regions in the (Ω<sub>m</sub>, Ω<sub>Λ</sub>) plane: supernovae "
                "alone, CMB alone (if sampled) and combined; the solid diagonal is a flat "
                "universe (Ω<sub>k</sub> = 0).")),
            *figure("map/maps.png", "The CMB branch: destriped map of the first detector "
                    "split (μK), its hit counts and white-noise level."),
            *figure("spectrum/spectrum.png", Html(
                "The CMB branch: cross-spectrum of the two detector splits (pseudo-C<sub>ℓ</sub>"
                ", beam and pixel window deconvolved) with Monte-Carlo 1σ errors, and the "
                "fiducial spectrum of the simulations.")),
            *figure("sn_fit/hubble_diagram.png", "Hubble diagram: standardised distance moduli "
                    "of the supernovae against redshift with the best-fit curved ΛCDM and "
                    "residuals.")]
    if figs:
        rep.sections.append(Section("Constraints and Hubble diagram", figs, key="figures"))
    sfigs = [*figure("sn_fit/om_ol.png", Html(
                 "Supernovae alone: the (Ω<sub>m</sub>, Ω<sub>Λ</sub>) posterior with 68% and "
                 "95% credible regions.")),
             *figure("sn_fit/triangle.png", "Supernovae alone: one- and two-dimensional "
                     "marginal posteriors of the sampled parameters.")]
    if sfigs:
        rep.sections.append(Section("Supernova-only posterior", sfigs, key="sn-posterior"))

    # -- standardisation and convergence
    blocks = []
    if tripp:
        err = tripp.get("errors") or {}
        sampled = isinstance(sn.get("alpha"), dict)  # the hierarchical SN-only fit

        def row(label: str, key: str) -> list[Any]:
            r = [Html(label), fmt_pm(tripp.get(key), err.get(key))]
            if sampled:
                p = sn.get(key) or {}
                r.append(fmt_pm(p.get("mean"), p.get("std")) if p else "—")
            return r

        trows = [row("α (stretch coefficient)", "alpha"), row("β (colour coefficient)", "beta"),
                 row("σ<sub>int</sub> (intrinsic scatter) [mag]", "sigma_int")]
        if tripp.get("n_fitted") is not None:
            trows.append(["SNe fitted / passing the quality cuts",
                          f"{tripp['n_fitted']} / {tripp.get('n_pass_quality', '—')}",
                          *([""] if sampled else [])])
        header = ["quantity", "maximum likelihood (Tripp fit)" if sampled else "value",
                  *(["sampled with the cosmology (SN-only fit)"] if sampled else [])]
        blocks.append(Table(Html("Light-curve standardisation (Tripp: μ = m<sub>B</sub> − "
                                 "M<sub>B</sub> + α x<sub>1</sub> − β c)"), header, trows))
    crows = []
    for label, post in (("SN + CMB", joint), ("SN only", sn), ("CMB only", cmbp)):
        if not post:
            continue
        rhat = [float(v) for v in (post.get("rhat") or {}).values()]
        tau = [float(v) for v in (post.get("autocorr_tau") or {}).values()]
        crows.append([label, post.get("n_walkers", "—"), post.get("n_steps", "—"),
                      post.get("burn", "—"), post.get("n_samples", "—"),
                      f"{post['acceptance_fraction']:.2f}"
                      if post.get("acceptance_fraction") is not None else "—",
                      f"{max(rhat) - 1:.3f}" if rhat else "—",
                      f"{max(tau):.0f}" if tau else "—",
                      "yes" if post.get("converged") else "NO"])
    if crows:
        crit = (joint or sn).get("convergence_criteria") or {}
        blocks.append(Table("MCMC sampling and convergence (emcee)",
                            ["chain", "walkers", "steps", "burn-in", "samples", "acceptance",
                             "max R̂ − 1", "max τ [steps]", "converged"], crows,
                            notes="Converged means chains longer than "
                                  f"{crit.get('tau_factor', 50):g} autocorrelation times τ and "
                                  f"split-R̂ − 1 below {crit.get('rhat_threshold', 0.01):g}."))
    if blocks:
        rep.sections.append(Section("Standardisation and sampling", blocks, key="details"))
    return rep

