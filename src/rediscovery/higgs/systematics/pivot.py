r"""Adversarial decorrelation of the classifier from the nuisances ("pivot").

Louppe, Kagan & Cranmer, "Learning to Pivot with Adversarial Networks", NeurIPS 2017,
arXiv:1611.01046. A classifier ``f(x)`` is trained together with an adversary ``r`` that
tries to predict the nuisance parameters ``z`` (here the standardised α of ``tes``, ``jes``,
``soft_met``) from the classifier's output alone. The classifier minimises

.. math:: E(θ_f, θ_r) = L_f(θ_f) − λ\, L_r(θ_f, θ_r),

the adversary minimises ``L_r``; at the saddle point the output distribution does not depend on
``z`` (a *pivot*) and λ trades classification power for that independence.

Choices here:

* ``L_f``: weighted binary cross-entropy with the classes balanced
  (:func:`rediscovery.higgs.classifiers.base.training_weights`).
* the adversary models ``p(z_k | f)`` for each nuisance as a Gaussian whose mean and log-width
  are functions of the classifier output (a one-component mixture density network; the paper
  uses a mixture of Gaussians); ``L_r`` is its weighted negative log-likelihood.
* training events: copies of the training set altered with prior draws of the nuisances in
  many independent groups (:func:`~rediscovery.higgs.systematics.training.augment`), their α
  the adversary's targets; the classifier never sees α.
* schedule: the classifier alone for ``pretrain_epochs``, the adversary alone for one epoch,
  then per mini-batch one adversary step and one classifier step on ``E``.

The trained classifier is then used exactly like the nominal one: templates with HistoSys and
NormSys nuisances, every nuisance profiled
(:class:`~rediscovery.higgs.systematics.methods.TemplateInference`).
Its benefit is smaller shape templates (less profiled shape freedom), not a different fit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.classifiers.base import training_weights
from rediscovery.higgs.schema import LABEL, WEIGHT
from rediscovery.higgs.systematics.methods import (
    TemplateInference,
    event_features,
    template_inference,
)
from rediscovery.higgs.systematics.networks import (
    StoredNetwork,
    fit_standardisation,
    mlp,
    standardise,
)
from rediscovery.higgs.systematics.training import (
    PARAMETERISED_NUISANCES,
    alpha_column,
    augment,
)
from rediscovery.higgs.systematics.variations import NuisancePrior

__all__ = ["PivotScorer", "calibrate_pivot", "train_pivot"]

log = logging.getLogger(__name__)


def _networks(n_in: int, n_z: int, width: int, depth: int):
    from torch import nn

    adv = nn.Sequential(
        nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2 * n_z)
    )
    return mlp(n_in, 1, width, depth), adv


@dataclass
class PivotScorer(StoredNetwork):
    """The pivot classifier as a picklable ``scorer(df) -> scores`` in [0, 1].

    Attributes
    ----------
    features
        Event feature columns.
    mean, std, missing
        Standardisation (weighted training means and widths) and the features whose NaN
        indicator is an extra input (:func:`~rediscovery.higgs.systematics.networks.standardise`).
    state
        The classifier's ``state_dict`` (numpy arrays); ``width``, ``depth`` its shape.
    history
        Per epoch: ``clf_loss`` (L_f) and ``adv_loss`` (L_r) on the training set.
    """

    history: list[dict[str, float]] = field(default_factory=list)

    def __call__(self, df: pd.DataFrame) -> np.ndarray:
        import torch

        logit = self.outputs(df, 1, "pivot classifier")[:, 0]
        return torch.sigmoid(torch.from_numpy(logit)).numpy().astype(float)


def train_pivot(
    train: pd.DataFrame,
    features: Sequence[str],
    *,
    lam: float = 10.0,
    seed: int = 0,
    priors: Mapping[str, NuisancePrior] | None = None,
    n_copies: int = 5,
    n_groups: int = 20,
    epochs: int = 12,
    pretrain_epochs: int = 4,
    batch_size: int = 1024,
    width: int = 64,
    depth: int = 3,
    learning_rate: float = 1e-3,
    nuisances: Sequence[str] = PARAMETERISED_NUISANCES,
    progress: bool = False,
) -> PivotScorer:
    """Train a classifier against an adversary that predicts the nuisances from its output.

    Parameters
    ----------
    train
        Nominal labelled events (``Weight``, ``Label``, the ``features``).
    features
        Event feature columns.
    lam
        λ, the weight of the adversary's loss (0: a plain classifier on augmented data).
    seed
        Seed of the augmentation, the initial weights and the batch order.
    priors
        Nuisance priors of the augmentation (default: the challenge's).
    n_copies, n_groups
        Augmentation (:func:`~rediscovery.higgs.systematics.training.augment`).
    epochs, pretrain_epochs, batch_size, width, depth, learning_rate
        Training schedule and network shape (``depth`` hidden layers of ``width`` ReLU units).
    nuisances
        The adversary's targets (their α).
    progress
        Show a progress bar over the epochs.
    """
    import torch

    from rediscovery.core.progress import progress_bar
    from rediscovery.higgs.systematics.variations import FAIR_UNIVERSE_PRIORS

    if not (np.isfinite(lam) and lam >= 0):
        raise ConfigError(f"pivot λ must be a finite number >= 0, got {lam}")
    for name, v in (
        ("epochs", epochs),
        ("batch_size", batch_size),
        ("width", width),
        ("depth", depth),
    ):
        if v < 1:
            raise ConfigError(f"pivot {name} must be >= 1, got {v}")
    for c in (WEIGHT, LABEL, *features):
        if c not in train.columns:
            raise InputError("pivot training events lack a column", column=c)
    aug = augment(
        train,
        n_copies=n_copies,
        seed=seed,
        priors=priors or FAIR_UNIVERSE_PRIORS,
        parameterised=tuple(nuisances),
        n_groups=n_groups,
    )
    feats = list(features)
    X = aug[feats].to_numpy(dtype=float)
    y = aug[LABEL].to_numpy().astype(np.int8)
    w = training_weights(y, aug[WEIGHT].to_numpy(dtype=float), balance_classes=True)
    Z = aug[[alpha_column(n) for n in nuisances]].to_numpy(dtype=float)
    mean, std, missing = fit_standardisation(X, w)
    Xs = torch.from_numpy(standardise(X, mean, std, missing))
    yt = torch.from_numpy(y.astype(np.float32))
    wt = torch.from_numpy(w.astype(np.float32))
    zt = torch.from_numpy(Z.astype(np.float32))

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    clf, adv = _networks(Xs.shape[1], Z.shape[1], width, depth)
    opt_f = torch.optim.Adam(clf.parameters(), lr=learning_rate)
    opt_r = torch.optim.Adam(adv.parameters(), lr=learning_rate)
    bce = torch.nn.BCEWithLogitsLoss(reduction="none")

    def l_f(logit, yb, wb):
        return (bce(logit, yb) * wb).sum() / wb.sum()

    def l_r(logit, zb, wb):
        out = adv(torch.sigmoid(logit)[:, None])
        mu, log_s = out[:, : zb.shape[1]], out[:, zb.shape[1] :].clamp(-5.0, 5.0)
        nll = 0.5 * ((zb - mu) / torch.exp(log_s)) ** 2 + log_s  # Gaussian NLL − const
        return (nll.sum(dim=1) * wb).sum() / wb.sum()

    n = Xs.shape[0]
    history: list[dict[str, float]] = []
    total = pretrain_epochs + 1 + epochs
    with progress_bar(enabled=progress) as bar:
        task = bar.add_task("pivot training", total=total)
        for ep in range(total):
            phase = "clf" if ep < pretrain_epochs else "adv" if ep == pretrain_epochs else "both"
            perm = torch.randperm(n, generator=gen)
            sf = sr = sw = 0.0
            for i in range(0, n, batch_size):
                b = perm[i : i + batch_size]
                xb, yb, wb, zb = Xs[b], yt[b], wt[b], zt[b]
                if phase in ("adv", "both"):
                    with torch.no_grad():
                        logit = clf(xb).squeeze(-1)
                    loss_r = l_r(logit, zb, wb)
                    opt_r.zero_grad()
                    loss_r.backward()
                    opt_r.step()
                if phase in ("clf", "both"):
                    logit = clf(xb).squeeze(-1)
                    loss_f = l_f(logit, yb, wb)
                    loss = loss_f - lam * l_r(logit, zb, wb) if phase == "both" else loss_f
                    opt_f.zero_grad()
                    loss.backward()
                    opt_f.step()
                with torch.no_grad():
                    logit = clf(xb).squeeze(-1)
                    sf += float(l_f(logit, yb, wb)) * float(wb.sum())
                    sr += float(l_r(logit, zb, wb)) * float(wb.sum())
                    sw += float(wb.sum())
            history.append({"epoch": ep, "phase": phase, "clf_loss": sf / sw, "adv_loss": sr / sw})
            log.info("pivot epoch %d (%s): L_f %.4f L_r %.4f", ep, phase, sf / sw, sr / sw)
            bar.advance(task)
    state = {k: v.detach().numpy().copy() for k, v in clf.state_dict().items()}
    return PivotScorer(
        features=feats,
        mean=mean,
        std=std,
        missing=missing,
        state=state,
        width=width,
        depth=depth,
        history=history,
    )


def calibrate_pivot(
    train: pd.DataFrame,
    template_events: pd.DataFrame,
    *,
    seed: int,
    priors: Mapping[str, NuisancePrior],
    pivot_lambda: float = 10.0,
    max_bins: int = 10,
    min_bkg: float = 100.0,
    weight_scale: float = 1.0,
    **options: Any,
) -> TemplateInference:
    """Train the pivot classifier (:func:`train_pivot`, ``lam = pivot_lambda``), bin, build
    templates; options go to :func:`train_pivot`."""
    options.pop("kind", None)
    scorer = train_pivot(
        train, event_features(train), lam=pivot_lambda, seed=seed, priors=priors, **options
    )
    return template_inference(
        scorer,
        template_events,
        seed=seed,
        priors=priors,
        max_bins=max_bins,
        min_bkg=min_bkg,
        weight_scale=weight_scale,
    )
