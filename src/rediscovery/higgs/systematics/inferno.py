r"""Inference-aware learning: INFERNO (de Castro & Dorigo 2019).

P. de Castro and T. Dorigo, "INFERNO: Inference-Aware Neural Optimisation", Comput. Phys.
Commun. 244 (2019) 170, arXiv:1806.04743. Instead of a classification loss, the network is
trained on the quantity the analysis reports: the expected variance of μ̂ with every nuisance
profiled.

The network ``f(x)`` has a softmax output over ``B`` bins. With a temperature ``τ``
(paper: τ = 0.1) the softmax is a *soft* assignment of each event to the bins, so the binned
yields of every sample are differentiable functions of the network's weights:

.. math:: ν_{s b} = \sum_{i ∈ s} w_i\, \mathrm{softmax}_b\big(f(x_i) / τ\big).

The nuisances enter as in the fit (:mod:`rediscovery.higgs.systematics.fit`):

* shape nuisances (``tes``, ``jes``, ``soft_met``): the same training events are shifted with
  the simulator's nuisance model at α = ±1
  (:func:`~rediscovery.higgs.systematics.variations.apply_systematics`, the soft-MET terms
  with common random numbers), passed through the network and soft-histogrammed; the slopes
  ``∂ν_b/∂α`` are the one-sided differences ``ν_b(+1) − ν_b(0)`` and ``ν_b(0) − ν_b(−1)``,
  and the loss averages the variance over the two (the fit's own slope at α = 0,
  ``(ν_b(+1) − ν_b(−1))/2``, is blind to curvature, which the network then exploits: see
  :func:`train_inferno`'s ``slopes``);
* normalisation nuisances (``ttbar_scale``, ``diboson_scale``, ``bkg_scale``): code 4 with the
  priors' factors, slope ``a_1 ν_{s b}``
  (:func:`~rediscovery.higgs.stats.likelihood.code4_coefficients`).

The Asimov Fisher information of the binned Poisson likelihood at ``(μ_0, α = 0)`` with unit
Gaussian constraints on the α's is

.. math:: I_{jk} = \sum_b \frac{∂_j ν_b\, ∂_k ν_b}{ν_b} + δ_{jk}\,[j, k ≠ μ],

and the loss is :math:`(I^{-1})_{μμ}`, the expected variance of μ̂ with the nuisances profiled
(Cramér–Rao; the paper's eq. 6–8). Each mini-batch estimates the yields of the full training
sample (weights scaled by the inverse batch fraction).

After training, each event goes to the bin of its largest output (hard assignment); the bins
are ordered by their signal-to-background ratio on the template events and neighbouring bins
with fewer than ``min_bkg`` background events merged. The scorer returns the bin's position in
[0, 1], so the templates, the fit and the challenge use it exactly like a classifier score
(:class:`~rediscovery.higgs.systematics.methods.TemplateInference`, HistoSys/NormSys, every
nuisance profiled).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.schema import LABEL, PROCESS, WEIGHT
from rediscovery.higgs.stats.likelihood import code4_coefficients
from rediscovery.higgs.systematics.methods import TemplateInference, event_features
from rediscovery.higgs.systematics.networks import (
    StoredNetwork,
    fit_standardisation,
    mlp,
    standardise,
)
from rediscovery.higgs.systematics.templates import (
    NORM_NUISANCES,
    SHAPE_NUISANCES,
    build_templates,
    nuisance_kwargs,
)
from rediscovery.higgs.systematics.variations import (
    FAIR_UNIVERSE_PRIORS,
    NuisancePrior,
    apply_systematics,
)

__all__ = [
    "INFERNO_TEMPERATURE",
    "InfernoScorer",
    "asimov_mu_variance",
    "calibrate_inferno",
    "merge_ranked_bins",
    "order_bins",
    "train_inferno",
]

log = logging.getLogger(__name__)

#: Softmax temperature τ of the soft histogram (de Castro & Dorigo 2019, arXiv:1806.04743,
#: their synthetic benchmark).
INFERNO_TEMPERATURE = 0.1
#: Column that keeps each training event's row through the shifts (dropped events vanish).
_ROW = "INFERNO_ROW"


def asimov_mu_variance(
    signal, background, grads, *, mu: float = 1.0, floor: float = 1e-6, mc_var=None
):
    """Expected variance of μ̂ with the nuisances profiled (inverse Asimov Fisher information).

    Parameters
    ----------
    signal, background
        torch tensors ``(B,)``: expected signal at μ = 1 and total background per bin.
    grads
        ``(K, B)``: ``∂ν_b/∂α_k`` at α = 0 (``K`` may be 0).
    mu
        μ_0 at which the Fisher information is evaluated.
    floor
        Added to ``ν_b`` (empty bins carry no information instead of dividing by zero).
    mc_var
        ``(B,)`` or ``None``: the templates' MC variance ``Σ w²`` per bin (all samples).
        The fit profiles one Barlow–Beeston-lite factor γ_b ~ N(1, Σw²/ν²) per bin; profiling
        it turns a bin's Fisher term ``∂ν ∂νᵀ / ν`` into ``∂ν ∂νᵀ / (ν + Σw²)`` (at μ = 1,
        where the fit's relative γ width is ``sqrt(Σw²)/ν``), so bins whose background
        the finite MC knows poorly carry less information.

    Returns
    -------
    torch scalar
        :math:`(I^{-1})_{μμ}` with ``I = Σ_b ∂ν ∂νᵀ / (ν_b + Σw²_b) + diag(0, 1, …, 1)``.
    """
    import torch

    nu = mu * signal + background + floor
    if mc_var is not None:
        nu = nu + mc_var
    g = torch.cat([signal[None, :], grads], dim=0)  # (1+K, B)
    info = (g / nu) @ g.T
    k = grads.shape[0]
    prior = torch.diag(torch.cat([torch.zeros(1, dtype=nu.dtype), torch.ones(k, dtype=nu.dtype)]))
    info = info + prior
    e0 = torch.zeros(k + 1, dtype=nu.dtype)
    e0[0] = 1.0
    return torch.linalg.solve(info, e0)[0]


@dataclass
class InfernoScorer(StoredNetwork):
    """The trained INFERNO network as a picklable ``scorer(df) -> scores`` in [0, 1].

    An event's score is ``(rank + 0.5) / n_bins``, ``rank`` the position of its bin (largest
    output) in the order of increasing signal-to-background ratio.

    Attributes
    ----------
    features, mean, std, missing
        Inputs and their standardisation
        (:func:`~rediscovery.higgs.systematics.networks.standardise`).
    state
        The network's ``state_dict`` (numpy arrays); ``width``, ``depth``, ``n_bins`` its shape.
    rank
        Bin → rank (identity until :func:`calibrate_inferno` orders the bins).
    history
        Per epoch: ``sigma_mu``, the mean over batches of the expected σ(μ̂) (the loss's root),
        and ``sigma_mu_valid`` on the held-out events.
    """

    n_bins: int
    rank: np.ndarray
    history: list[dict[str, float]] = field(default_factory=list)

    def bins(self, df: pd.DataFrame) -> np.ndarray:
        """The bin (largest network output, before ranking) of every event."""
        out = self.outputs(df, self.n_bins, "INFERNO network")
        return out.argmax(axis=-1).astype(np.int64)

    def __call__(self, df: pd.DataFrame) -> np.ndarray:
        return (self.rank[self.bins(df)] + 0.5) / self.n_bins


def _sample_index(df: pd.DataFrame, processes: Sequence[str]) -> np.ndarray:
    lab = df[LABEL].to_numpy()
    proc = df[PROCESS].astype(str).to_numpy()
    idx = np.zeros(len(df), dtype=np.int64)
    for j, p in enumerate(processes, start=1):
        idx[(lab == 0) & (proc == p)] = j
    return idx


def train_inferno(
    train: pd.DataFrame,
    features: Sequence[str],
    *,
    seed: int = 0,
    priors: Mapping[str, NuisancePrior] = FAIR_UNIVERSE_PRIORS,
    nuisances: Sequence[str] | None = None,
    n_bins: int = 10,
    temperature: float = INFERNO_TEMPERATURE,
    mu: float = 1.0,
    weight_scale: float = 1.0,
    epochs: int = 100,
    batch_size: int = 1000,
    width: int = 32,
    depth: int = 2,
    learning_rate: float = 3e-3,
    valid_fraction: float = 0.2,
    slopes: str = "one-sided",
    mc_events: int | None = None,
    progress: bool = False,
) -> InfernoScorer:
    """Train the INFERNO network on the expected profiled variance of μ̂.

    Parameters
    ----------
    train
        Nominal labelled events (``Weight`` in expected events, ``Label``, ``Process``, the
        ``features`` and the 17 primaries the shifts need).
    features
        Network input columns.
    seed
        Seed of the initial weights, the batch order and the soft-MET terms of the shifts.
    priors
        Nuisance model (default: the Fair Universe priors).
    nuisances
        Nuisances in the Fisher information (default: every one of ``priors`` that the fit
        knows: the shape and normalisation nuisances).
    n_bins
        ``B``, the softmax outputs (the analysis's bins before merging).
    temperature
        Softmax temperature τ of the soft histogram.
    mu
        μ_0 of the Asimov Fisher information.
    weight_scale
        Factor on the weights (luminosity ratio of the analysis).
    epochs, batch_size, width, depth, learning_rate
        Schedule and network shape (``depth`` hidden layers of ``width`` ReLU units; Adam).
        Defaults chosen on a small simulated configuration (1.5 × 10⁴ training events,
        4 bins, luminosity × 0.1): Asimov interval width on independent template events
        1.74 with batches of 1000 for 100 epochs, 1.79 with 4000 for 200, 2.69 with the
        full sample for 300 epochs, 3.2–3.4 with 40–100 epochs at learning rate 10⁻²
        (XGBoost, 20 trees: 2.43); measured with ``slopes="symmetric"``.
    valid_fraction
        Fraction of the events held out (not trained on); the weights of the epoch with the
        smallest expected σ(μ̂) on them are kept (early stopping: the network otherwise
        over-fits the training events' fluctuations). 0: keep the last epoch.
    slopes
        How the shape nuisances' slopes ``∂ν/∂α`` enter the Fisher information:
        ``"one-sided"`` (default): the variance is averaged over the two one-sided slopes
        ``ν(+1) − ν(0)`` and ``ν(0) − ν(−1)``; ``"symmetric"``: the fit's slope at α = 0,
        ``(ν(+1) − ν(−1))/2``. With the symmetric slope the network can hide a nuisance's
        effect in the curvature (``ν(±1)`` both moved the same way: zero slope, no cost);
        measured in the challenge configuration (N = 100): μ̂ biased by −0.60 (−1.08 without
        nuisances), coverage 0.28; the one-sided slopes (N = 300): −0.49 and 0.42, still
        biased (docs/higgs-systematics.md).
    mc_events
        Number of MC events the analysis's templates will be built from (default ``None``:
        infinite MC). The loss then includes the templates' MC-statistics variance per bin
        (``mc_var`` of :func:`asimov_mu_variance`: the training events' soft ``Σ w²`` scaled
        by ``len(train) / mc_events``, the weights of a sample of ``mc_events`` events that
        sums to the same yields), i.e. the information the fit's Barlow–Beeston-lite γ's
        leave. Measured (docs/higgs-systematics.md): it does not reduce the spread of μ̂
        between independent template/pool samples (±0.4 at 2 × 10⁵ events each, with or
        without it), so it is off by default.
    progress
        Show a progress bar over the epochs.
    """
    import torch

    from rediscovery.core.progress import progress_bar

    for name, v in (
        ("n_bins", n_bins),
        ("epochs", epochs),
        ("batch_size", batch_size),
        ("width", width),
        ("depth", depth),
    ):
        if int(v) < 1:
            raise ConfigError(f"INFERNO {name} must be >= 1, got {v}")
    if n_bins < 2:
        raise ConfigError(f"INFERNO n_bins must be >= 2 (a histogram), got {n_bins}")
    if slopes not in ("one-sided", "symmetric"):
        raise ConfigError(f"INFERNO slopes {slopes!r}: expected 'one-sided' or 'symmetric'")
    if not 0.0 <= valid_fraction < 1.0:
        raise ConfigError(f"INFERNO valid_fraction must be in [0, 1), got {valid_fraction}")
    if not (np.isfinite(temperature) and temperature > 0):
        raise ConfigError(f"INFERNO temperature must be > 0, got {temperature}")
    if mc_events is not None and int(mc_events) < 1:
        raise ConfigError(f"INFERNO mc_events must be >= 1 (or None), got {mc_events}")
    for c in (WEIGHT, LABEL, PROCESS, *features):
        if c not in train.columns:
            raise InputError("INFERNO training events lack a column", column=c)
    names = tuple(
        n
        for n in (priors if nuisances is None else nuisances)
        if n in SHAPE_NUISANCES or n in NORM_NUISANCES
    )
    unknown = sorted(set(nuisances or ()) - set(priors))
    if unknown:
        raise ConfigError(f"unknown nuisances {unknown}; known: {sorted(priors)}")
    shape = [n for n in names if n in SHAPE_NUISANCES]
    norm = [n for n in names if n in NORM_NUISANCES]
    feats = list(features)
    base = train.reset_index(drop=True).assign(**{_ROW: np.arange(len(train))})
    processes = list(dict.fromkeys(base.loc[base[LABEL] == 0, PROCESS].astype(str)))
    n_ev, n_s = len(base), 1 + len(processes)

    # nominal and ±1σ copies of the same events (events that leave the selection get weight 0)
    points: list[dict[str, float]] = [{}]
    for n in shape:
        points += [{n: -1.0}, {n: 1.0}]
    X = np.zeros((len(points), n_ev, len(feats)))
    W = np.zeros((len(points), n_ev))
    for c, alphas in enumerate(points):
        kw = nuisance_kwargs(alphas, priors)
        sh = apply_systematics(
            base,
            tes=kw.get("tes", 1.0),
            jes=kw.get("jes", 1.0),
            soft_met=kw.get("soft_met", 0.0),
            seed=seed,
            mmc=False,
        )
        rows = sh[_ROW].to_numpy()
        X[c] = np.nan
        X[c, rows] = sh[feats].to_numpy(dtype=float)
        W[c, rows] = sh[WEIGHT].to_numpy(dtype=float) * weight_scale
    mean, std, missing = fit_standardisation(X[0], W[0])
    Xs = torch.from_numpy(np.stack([standardise(x, mean, std, missing) for x in X]))
    Wt = torch.from_numpy(W)
    onehot = torch.nn.functional.one_hot(
        torch.from_numpy(_sample_index(base, processes)), n_s
    ).double()
    # normalisation slopes a_1 (code 4 at α = 0) per nuisance and sample
    norm_slopes = np.zeros((len(norm), n_s))
    for k, n in enumerate(norm):
        p = priors[n]
        lo, hi = float(p.value(-1.0)) / p.nominal, float(p.value(1.0)) / p.nominal
        a1 = float(code4_coefficients(np.array(lo), np.array(hi))[0])
        procs = NORM_NUISANCES[n] or processes
        for j, proc in enumerate(processes, start=1):
            if proc in procs:
                norm_slopes[k, j] = a1
    slopes_t = torch.from_numpy(norm_slopes)

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = mlp(Xs.shape[-1], n_bins, width, depth)
    opt = torch.optim.Adam(net.parameters(), lr=learning_rate)

    perm0 = torch.randperm(n_ev, generator=gen)
    n_val = round(valid_fraction * n_ev)
    val, fit_rows = perm0[:n_val], perm0[n_val:]

    def loss_of(b: torch.Tensor) -> torch.Tensor:
        p = torch.softmax(net(Xs[:, b]) / temperature, dim=-1).double()  # (C, nb, B)
        scale = n_ev / b.numel()
        y = torch.einsum("ci,is,cib->csb", Wt[:, b], onehot[b], p) * scale  # (C, S, B)
        sig, bkg = y[0, 0], y[0, 1:].sum(dim=0)
        mc_var = (
            None
            if mc_events is None
            else torch.einsum("i,ib->b", Wt[0, b] ** 2, p[0]) * scale * (n_ev / mc_events)
        )
        tot = y.sum(dim=1)  # (C, B)
        norm_g = [slopes_t[k] @ y[0] for k in range(len(norm))]
        sides = (
            [[0.5 * (tot[2 + 2 * k] - tot[1 + 2 * k]) for k in range(len(shape))]]
            if slopes == "symmetric"
            else [
                [tot[2 + 2 * k] - tot[0] for k in range(len(shape))],
                [tot[0] - tot[1 + 2 * k] for k in range(len(shape))],
            ]
        )
        out = 0.0
        for side in sides:
            grads = side + norm_g
            g = torch.stack(grads) if grads else torch.zeros((0, n_bins), dtype=torch.float64)
            out = out + asimov_mu_variance(sig, bkg, g, mu=mu, mc_var=mc_var)
        return out / len(sides)

    history: list[dict[str, float]] = []
    best: tuple[float, dict[str, np.ndarray]] = (np.inf, {})
    with progress_bar(enabled=progress) as bar:
        task = bar.add_task("INFERNO training", total=epochs)
        for ep in range(epochs):
            perm = fit_rows[torch.randperm(fit_rows.numel(), generator=gen)]
            tot, nb = 0.0, 0
            for i in range(0, perm.numel(), batch_size):
                b = perm[i : i + batch_size]
                if b.numel() < batch_size // 2 and nb:  # a small remainder is a noisy estimate
                    continue
                loss = loss_of(b)
                opt.zero_grad()
                loss.backward()
                opt.step()
                tot += float(loss.detach().sqrt())
                nb += 1
            row = {"epoch": ep, "sigma_mu": tot / max(nb, 1)}
            if n_val:
                with torch.no_grad():
                    row["sigma_mu_valid"] = float(loss_of(val).sqrt())
            history.append(row)
            crit = row.get("sigma_mu_valid", row["sigma_mu"])
            if not n_val or crit < best[0]:
                best = (crit, {k: v.detach().numpy().copy() for k, v in net.state_dict().items()})
            log.info(
                "INFERNO epoch %d: expected σ(μ) %.4f (held out %.4f)",
                ep,
                row["sigma_mu"],
                row.get("sigma_mu_valid", np.nan),
            )
            bar.advance(task)
    state = best[1]
    return InfernoScorer(
        features=feats,
        mean=mean,
        std=std,
        missing=missing,
        state=state,
        width=width,
        depth=depth,
        n_bins=n_bins,
        rank=np.arange(n_bins),
        history=history,
    )


def merge_ranked_bins(bkg: np.ndarray, min_bkg: float) -> np.ndarray:
    """Edges in [0, 1] that merge neighbouring ranked bins until each holds ``min_bkg``.

    ``bkg`` is the background per ranked bin (``B`` values, ranks at ``(r + 0.5) / B``).
    Bins are accumulated from the lowest rank; a group closes once it holds ``min_bkg``; a
    short last group joins the one before. Returns the increasing edges (at multiples of
    ``1/B``, first 0, last 1).
    """
    bkg = np.asarray(bkg, dtype=float)
    n = bkg.size
    cuts = [0]
    acc = 0.0
    for r in range(n):
        acc += bkg[r]
        if acc >= min_bkg and r < n - 1:
            cuts.append(r + 1)
            acc = 0.0
    if len(cuts) > 1 and acc < min_bkg:
        cuts.pop()  # the remainder is too small: merge it into the previous group
    return np.array([*cuts, n], dtype=float) / n


def order_bins(scorer: InfernoScorer, events: pd.DataFrame, *, min_bkg: float) -> np.ndarray:
    """Rank the scorer's bins by signal-to-background ratio on ``events`` (sets
    ``scorer.rank``) and return the score edges that merge bins short of ``min_bkg``
    background events (:func:`merge_ranked_bins`)."""
    nb = scorer.n_bins
    lab = events[LABEL].to_numpy() == 1
    w = events[WEIGHT].to_numpy(dtype=float)
    b = scorer.bins(events)
    s_b = np.bincount(b[lab], weights=w[lab], minlength=nb)
    b_b = np.bincount(b[~lab], weights=w[~lab], minlength=nb)
    ratio = s_b / np.maximum(b_b, 1e-12 * max(float(b_b.max()), 1e-300))
    order = np.argsort(ratio, kind="stable")
    scorer.rank = np.empty(nb, dtype=np.int64)
    scorer.rank[order] = np.arange(nb)
    return merge_ranked_bins(b_b[order], min_bkg)


def calibrate_inferno(
    train: pd.DataFrame,
    template_events: pd.DataFrame,
    *,
    seed: int,
    priors: Mapping[str, NuisancePrior],
    max_bins: int = 10,
    min_bkg: float = 100.0,
    weight_scale: float = 1.0,
    **options: Any,
) -> TemplateInference:
    """Train INFERNO (``n_bins = max_bins``), order and merge its bins on the template events,
    build templates; ``options`` go to :func:`train_inferno` (``epochs``, ``width``,
    ``mc_events``, …)."""
    for k in ("kind", "n_estimators", "max_depth", "n_copies", "n_groups"):
        options.pop(k, None)  # classifier options of the other methods
    scorer = train_inferno(
        train,
        event_features(train),
        seed=seed,
        priors=priors,
        n_bins=max_bins,
        weight_scale=weight_scale,
        **options,
    )
    edges = order_bins(scorer, template_events, min_bkg=min_bkg)
    log.info(
        "INFERNO: %d bins after merging (of %d), expected σ(μ) at the last epoch %.3f",
        edges.size - 1,
        max_bins,
        scorer.history[-1]["sigma_mu"],
    )
    t = build_templates(
        template_events, scorer, edges, priors=priors, seed=seed, weight_scale=weight_scale
    )
    return TemplateInference(scorer=scorer, templates=t)
