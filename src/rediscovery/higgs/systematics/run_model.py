r"""Systematic uncertainties inside ``rediscovery higgs run`` (``systematics: true``).

The run's fit model gets one nuisance parameter α per systematic uncertainty, with a standard
normal constraint: the physical value at α is :meth:`NuisancePrior.value` of
:data:`~rediscovery.higgs.systematics.variations.FAIR_UNIVERSE_PRIORS` (the priors from which
the hidden values of the pseudo-data are drawn).

* **Detector nuisances** ``tes``, ``jes``, ``soft_met`` (:data:`DETECTOR_NUISANCES`): shape and
  normalisation (pyhf ``histosys``) from template samples simulated at α = −1 and α = +1 with
  common random numbers (:func:`~rediscovery.higgs.events.simulate.simulate_events` with
  ``crn_tes``): the same generated events through the shifted detector, so migrations across
  the selection are included and the difference to the nominal sample carries no independent
  MC fluctuation. ``tes`` and ``jes`` are Gaussian (1 ± 1 %): points 0.99 and 1.01. ``soft_met``
  (extra Gaussian MET noise in GeV) has a one-sided log-normal prior, :math:`\exp(α)` GeV with
  α ~ N(0, 1): its α = 0 is the prior's median, 1 GeV (the nominal sample of a systematic run
  is simulated there, not at 0, which the prior never gives), and its points α = ∓1 are
  :math:`e^{∓1}` = 0.37 and 2.72 GeV, the prior's 15.9 % and 84.1 % quantiles, so that the
  Gaussian constraint on α is the prior exactly.
* **Normalisations** ``ttbar_scale``, ``diboson_scale``, ``bkg_scale``
  (:data:`NORM_PROCESSES`): pyhf ``normsys`` with the factors 1 ∓ σ_prior at α = ∓1.

Per bin and sample the α = ±1 yields are the nominal template times the ratio of the shifted
sample to the *whole* nominal sample (both halves of ``higgs run``'s template sample, the same
generated events as the shifted one), :func:`run_systematics`; by default the relative shift is
then smoothed across the bins (:func:`smooth_shift`).

Beyond ±1 the model extrapolates (pyhf's defaults): ``histosys`` linearly (code 4p), ``normsys``
exponentially (code 4, :math:`(1 ± σ)^{|α|}`). The simulator's τ/jet scales change the yields
nearly linearly, and its normalisation factors exactly linearly (1 + σα), so at α = 2 the
``normsys`` factor is off by σ² (0.04 % for tt̄, 6 % for diboson).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import InputError
from rediscovery.higgs.stats.histograms import model_from_scores
from rediscovery.higgs.stats.model import BinnedModel, HistoSys, NormSys
from rediscovery.higgs.systematics.variations import FAIR_UNIVERSE_PRIORS

__all__ = [
    "CRN_TES",
    "DETECTOR_NUISANCES",
    "NORM_PROCESSES",
    "RUN_NUISANCES",
    "describe",
    "nominal_values",
    "run_systematics",
    "smooth_shift",
    "truth_alphas",
    "variation_values",
]

#: Nuisances with shifted template samples (detector response).
DETECTOR_NUISANCES = ("tes", "jes", "soft_met")

#: Normalisation nuisances and the background processes they scale (``None``: every one).
NORM_PROCESSES: Mapping[str, tuple[str, ...] | None] = {
    "ttbar_scale": ("ttbar",),
    "diboson_scale": ("diboson",),
    "bkg_scale": None,
}

#: Every nuisance parameter of a systematic run (besides the MC-statistics γ's).
RUN_NUISANCES = (*DETECTOR_NUISANCES, *NORM_PROCESSES)


def nominal_values() -> dict[str, float]:
    """Physical values at α = 0 of every nuisance of the run (``soft_met``: 1 GeV)."""
    return {n: float(FAIR_UNIVERSE_PRIORS[n].value(0.0)) for n in RUN_NUISANCES}


def variation_values() -> dict[str, dict[str, float]]:
    """The template samples' settings: ``{"tes_lo": {..., "tes": 0.99}, "tes_hi": ...}``
    (α = ∓1 of one detector nuisance, the others at α = 0)."""
    out = {}
    for name in DETECTOR_NUISANCES:
        for side, alpha in (("lo", -1.0), ("hi", 1.0)):
            out[f"{name}_{side}"] = {**nominal_values(),
                                     name: float(FAIR_UNIVERSE_PRIORS[name].value(alpha))}
    return out


#: τ energy scale of the generator-level pre-cuts shared by all template samples of a run
#: (the largest ``tes`` among them), so that they hold the same generated events.
CRN_TES = max(v["tes"] for v in variation_values().values())


def truth_alphas(values: Mapping[str, float]) -> dict[str, float]:
    """The α of each physical nuisance value (:meth:`NuisancePrior.alpha`: (v − nominal)/σ for
    the Gaussian priors, ln(v)/σ for the log-normal ``soft_met``; clipped values stay as
    drawn)."""
    return {n: float(FAIR_UNIVERSE_PRIORS[n].alpha(values[n])) for n in RUN_NUISANCES
            if n in values}


def _per_sample(scores: pd.DataFrame, edges: np.ndarray) -> dict[str, np.ndarray]:
    model, _ = model_from_scores(scores, edges=edges, mc_stat=False)
    return {"signal": model.signal, **model.backgrounds}


def smooth_shift(nominal: np.ndarray, varied: np.ndarray, *, degree: int = 2) -> np.ndarray:
    """``varied`` with its relative shift from ``nominal`` smoothed across the bins.

    The relative shift ``varied / nominal − 1`` is fitted by a polynomial of ``degree`` in the
    bin index, weighted by the nominal yield (the migration noise of a bin's shift falls as
    1/√events), and rescaled so that the summed shift (the normalisation effect) is kept
    exactly. Bin-to-bin structure finer than the polynomial is taken as MC noise: with common
    random numbers the shift of a bin is still the net of the few events that migrate across
    its edges, comparable to the data's statistical error in small bins.
    """
    nominal = np.asarray(nominal, dtype=float)
    varied = np.asarray(varied, dtype=float)
    ok = nominal > 0
    if ok.sum() <= degree + 1:
        return varied.copy()
    x = np.arange(nominal.size, dtype=float)
    rel = np.where(ok, varied / np.where(ok, nominal, 1.0) - 1.0, 0.0)
    coef = np.polynomial.polynomial.polyfit(x[ok], rel[ok], degree, w=np.sqrt(nominal[ok]))
    smooth = np.polynomial.polynomial.polyval(x, coef) * nominal
    total, fitted = float(np.sum(varied - nominal)), float(np.sum(smooth))
    if abs(fitted) > 0:
        smooth *= total / fitted
    return np.maximum(nominal + smooth, 0.0)


def run_systematics(model: BinnedModel, reference: pd.DataFrame,
                    shifted: Mapping[str, pd.DataFrame], *,
                    smooth: bool = False) -> list[NormSys | HistoSys]:
    """The modifiers of a systematic run for the nominal ``model`` (its binning and samples).

    Parameters
    ----------
    model
        The nominal template model (signal and one background per process, with ``edges``).
    reference
        Scores of the whole nominal sample (``score``, ``Weight``, ``Label``, ``Process``), the
        same generated events as the shifted samples.
    shifted
        ``{"tes_lo": scores, "tes_hi": ..., ...}`` for every detector nuisance
        (:func:`variation_values`), scored like ``reference``.
    smooth
        Smooth each sample's relative shift across the bins (:func:`smooth_shift`).

    Returns
    -------
    list
        One :class:`HistoSys` per detector nuisance (every sample) and one :class:`NormSys`
        per normalisation nuisance.

    Raises
    ------
    InputError
        A shifted sample is missing.
    """
    assert model.edges is not None
    ref = _per_sample(reference, model.edges)
    mods: list[NormSys | HistoSys] = []
    for name in DETECTOR_NUISANCES:
        sides = []
        for side in ("lo", "hi"):
            key = f"{name}_{side}"
            if key not in shifted:
                raise InputError(f"the template sample at {key} is missing: a systematic run "
                                 f"needs {sorted(variation_values())}")
            var = _per_sample(shifted[key], model.edges)
            sides.append(var)
        templates = {}
        for sample in model.sample_names:
            nom = model.sample_yields(sample)
            r = ref.get(sample)
            pair = []
            for var in sides:
                v = var.get(sample)
                if r is None or v is None:
                    pair.append(nom.copy())
                    continue
                ratio = np.where(r > 0, v / np.where(r > 0, r, 1.0), 1.0)
                pair.append(smooth_shift(nom, nom * ratio) if smooth else nom * ratio)
            templates[sample] = (pair[0], pair[1])
        mods.append(HistoSys(name, templates))
    backgrounds = [s for s in model.sample_names if s != "signal"]
    for name, procs in NORM_PROCESSES.items():
        sigma = FAIR_UNIVERSE_PRIORS[name].sigma
        targets = backgrounds if procs is None else [p for p in procs if p in backgrounds]
        if targets:
            mods.append(NormSys(name, {p: (1.0 - sigma, 1.0 + sigma) for p in targets}))
    return mods


def describe() -> dict[str, Any]:
    """JSON-ready description of the run's nuisance parameters (values at α = −1, 0, +1)."""
    return {n: {"kind": "histosys" if n in DETECTOR_NUISANCES else "normsys",
                "prior": FAIR_UNIVERSE_PRIORS[n].kind,
                "values_at_alpha": [float(FAIR_UNIVERSE_PRIORS[n].value(a))
                                    for a in (-1.0, 0.0, 1.0)]}
            for n in RUN_NUISANCES}
