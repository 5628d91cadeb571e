"""A conditional generator of Higgs events like the simulator's (a normalizing flow or a
flow-matching network).

Model (per process: one network each, so that no process shares capacity with another):

* **jet multiplicity**: p(n_jet | process, ν), n_jet ∈ {0, 1, 2, ≥3}, ν = (tes, jes, soft_met)
  the detector nuisances — per process, log-probabilities linear in ν, fitted by least squares
  on the frequencies at the training points (exact at each point up to their statistics; a
  network learnt it worse, the worst feature of the first version);
* **kinematics**: p(y | process, ν, n_jet) on the 15-vector of
  :class:`~rediscovery.higgs.generate.transform.EventTransform` — by default an affine
  coupling flow from ``zuko``; the architectures (normalizing flows, flow matching, a
  diffusion model) are in :mod:`rediscovery.higgs.generate.networks`;
* **yields**: the summed weight of each process, log-linear in ν, fitted by least squares on
  the training points (the simulator's weights follow the selected yield).

The network is trained with Adam (maximum likelihood for the flows, the regression losses of
``fm`` and ``ddpm``), each event's loss weighted by its ``Weight`` relative to its process's
mean weight (a process made of sub-processes simulated in other proportions than their
yields, like H→ττ's gluon fusion and VBF, is learnt as the weighted mixture the fit sees), the
best epoch on a held-out tenth kept. Sampling draws n_jet, then y, maps back
to primaries, and drops the rare unphysical rows (a momentum below its threshold, the
sub-leading jet harder than the leading), drawing again until each process has its count.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.errors import ConfigError, InputError
from rediscovery.higgs.generate.networks import ADVERSARIAL, ARCHITECTURES, build_kinematics
from rediscovery.higgs.generate.transform import (
    FLOW_COLUMNS,
    MET_REPRESENTATIONS,
    N_JET_CLASSES,
    EventTransform,
)

__all__ = [
    "ARCHITECTURES",
    "NUISANCES",
    "EventFlow",
    "FlowConfig",
    "build_network",
    "equal_weight_count_shares",
    "simulate_training_set",
    "train_flow",
]

log = logging.getLogger(__name__)

#: Detector nuisances the flow is conditioned on (the simulator's shape nuisances).
NUISANCES: tuple[str, ...] = ("tes", "jes", "soft_met")
#: The cosine-annealed learning rate's floor, in units of ``FlowConfig.learning_rate``.
_FINAL_LR_RATIO = 1.0 / 20.0
#: Adam's decay rates for the adversarial architectures (Gulrajani et al. 2017, Algorithm 1).
_GAN_BETAS = (0.0, 0.9)


@dataclass(frozen=True)
class FlowConfig:
    """Hyper-parameters of the flow and its training.

    Attributes
    ----------
    architecture
        ``nsf``: rational-quadratic spline couplings (Durkan et al. 2019); ``maf``: affine
        couplings (RealNVP, Dinh et al. 2017, arXiv:1605.08803), less flexible but several
        times faster to sample on CPU (the spline's softmax dominates NSF's cost); ``fm``:
        conditional flow matching (Lipman et al. 2023), an MLP velocity field integrated
        in ``steps`` midpoint steps; ``ddpm``: a denoising diffusion model (Ho et al. 2020)
        sampled with ``steps`` DDIM steps; ``cgan``: a conditional Wasserstein GAN with
        gradient penalty (Gulrajani et al. 2017), sampled in one generator pass
        (:mod:`rediscovery.higgs.generate.networks`).
    transforms, hidden, bins
        Coupling layers (``nsf``, ``maf``; each with two hidden layers of width ``hidden``)
        or hidden layers of the MLP (``fm``, ``ddpm``; ``cgan``: of the generator and of the
        critic each); spline bins (``nsf`` only).
    steps
        Steps of the sampler (``fm``: midpoint ODE steps, ``ddpm``: DDIM steps).
    epochs, batch_size, learning_rate
        Adam training; the learning rate decays by cosine annealing to 1/20. The number of
        optimiser steps matters most: W+jets alone (22,000 training events, ``maf`` 8 × 64)
        gave a two-sample AUC of 0.785 with batches of 2048 at 2e-3 for 8 epochs, 0.648 with
        batches of 256 at 1e-3, 0.562 after 24 epochs and 0.550 after 48.
    validation_fraction
        Held-out share of the training events; the epoch with the lowest held-out loss is kept
        (``cgan``: the last epoch, a GAN's losses do not rank its epochs; the held-out events
        are left out all the same).
    critic_steps, gradient_penalty
        ``cgan`` only: critic updates per generator update and the penalty's weight λ (5 and
        10 in Gulrajani et al. 2017, arXiv:1704.00028, who also set Adam's decay rates to
        (0, 0.9), as here).
    seed
        Seed of the initialisation, the shuffles and the noise of undefined features.
    n_threads
        torch CPU threads while training and sampling, and the reweighting trees' threads.
    whiten
        Let each process's network learn its whitened vector (the training events' linear
        correlations removed: :mod:`rediscovery.higgs.generate.networks`).
    met
        How E_T^miss is learnt (:data:`~rediscovery.higgs.generate.transform.MET_REPRESENTATIONS`):
        ``balance``, the event's total transverse momentum (``DER_pt_tot``'s vector), from
        which E_T^miss follows as the balance minus the visible objects; ``arc`` (the first
        versions), E_T^miss and its position on the τ–lepton arc, where the neutrinos of τ
        decays put it. With ``arc`` the balance is left to the network (generated
        ``DER_pt_tot`` 20–30 % high for Z→ττ, W+jets and H→ττ, three times for tt̄; W+jets
        25 % too many events in the analysis's signal-like region); with ``balance``
        E_T^miss of the ττ processes is the worse part (transverse mass of H→ττ 16 → 26 GeV;
        30 % too few H→ττ events there), which the reweighting mends. Measured with
        ``benchmarks/generate_tails.py`` (docs/generative.md).
    reweight
        After training, fit a classifier per process that weights the generated events to
        the simulator's distribution (:mod:`rediscovery.higgs.generate.reweight`); sampled
        events then carry unequal weights within a process. The physics test's μ̂ shift
        went from +2.9 σ_stat to −1.6 σ_stat with it (``arc``: −12.0 to −4.8).
    """

    architecture: str = "maf"
    transforms: int = 8
    hidden: int = 64
    bins: int = 8
    steps: int = 8
    epochs: int = 40
    batch_size: int = 256
    learning_rate: float = 1e-3
    validation_fraction: float = 0.1
    seed: int = 0
    n_threads: int = 1
    whiten: bool = True
    met: str = "balance"
    reweight: bool = True
    critic_steps: int = 5
    gradient_penalty: float = 10.0

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(
                f"architecture: expected one of {ARCHITECTURES}, got {self.architecture!r}"
            )
        ints = ("transforms", "hidden", "bins", "steps", "epochs", "batch_size", "n_threads")
        for name in (*ints, "critic_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name}: expected an integer >= 1, got {v!r}")
        if not (np.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ConfigError(
                f"learning_rate: expected a positive number, got {self.learning_rate!r}"
            )
        if not (np.isfinite(self.gradient_penalty) and self.gradient_penalty >= 0):
            raise ConfigError(
                f"gradient_penalty: expected a number >= 0, got {self.gradient_penalty!r}"
            )
        if self.met not in MET_REPRESENTATIONS:
            raise ConfigError(f"met: expected one of {MET_REPRESENTATIONS}, got {self.met!r}")
        if not 0.0 < self.validation_fraction < 0.5:
            raise ConfigError(
                f"validation_fraction: expected a number in (0, 0.5), got "
                f"{self.validation_fraction!r}"
            )


def build_network(n_proc: int, cfg: FlowConfig) -> Any:
    """The untrained kinematic networks of :class:`EventFlow`: a ``torch.nn.ModuleList`` of
    one network per process (context: the scaled nuisances and the jet-multiplicity
    one-hot)."""
    import torch

    return torch.nn.ModuleList(
        [
            build_kinematics(len(FLOW_COLUMNS), len(NUISANCES) + N_JET_CLASSES, cfg)
            for _ in range(n_proc)
        ]
    )


def equal_weight_count_shares(processes: Sequence[str] | None = None) -> dict[str, float]:
    """Event shares per simulator sub-process (``count_shares`` of
    :func:`~rediscovery.higgs.events.simulate.simulate_events`) that keep the simulator's
    default share of each process but split it among the process's sub-processes in
    proportion to their yields, so that all events of a process carry the same weight and an
    unweighted sample of it is distributed as the weighted one (by default H→ττ is simulated
    with 55 % VBF events for a 9 % VBF yield)."""
    from rediscovery.higgs.events.generator import SUBPROCESSES
    from rediscovery.higgs.events.simulate import PROCESS_YIELDS

    subs = [p for p in SUBPROCESSES if processes is None or p.process in processes]
    out = {}
    for name in dict.fromkeys(p.process for p in subs):
        members = [p for p in subs if p.process == name]
        count = sum(p.count_share for p in members)
        total = sum(PROCESS_YIELDS[p.name] for p in members)
        out |= {p.name: count * PROCESS_YIELDS[p.name] / total for p in members}
    return out


def simulate_training_set(
    n_events: int,
    points: Sequence[Mapping[str, float]],
    *,
    seed: int,
    processes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Simulated events at several nuisance points, with the point in columns ``tes``,
    ``jes``, ``soft_met`` (nominal values where a point leaves them out), with the same weight
    for all events of a process at a point (:func:`equal_weight_count_shares`).

    ``n_events`` are split evenly over the points; point ``i`` uses the seed ``[seed, i]``.
    """
    from rediscovery.higgs.events.simulate import NUISANCE_DEFAULTS, simulate_events

    shares = equal_weight_count_shares(processes)

    if not points:
        raise ConfigError("give at least one nuisance point")
    per = max(1, int(n_events) // len(points))
    parts = []
    for i, point in enumerate(points):
        unknown = sorted(set(point) - set(NUISANCES))
        if unknown:
            raise ConfigError(f"nuisance(s) {unknown}: the flow is conditioned on {NUISANCES}")
        nu = {k: float(point.get(k, NUISANCE_DEFAULTS[k])) for k in NUISANCES}
        df = simulate_events(
            per,
            seed=np.random.default_rng([seed, i]),
            processes=processes,
            nuisances=nu,
            count_shares=shares,
        )
        for k, v in nu.items():
            df[k] = v
        parts.append(df)
    out = pd.concat(parts, ignore_index=True)
    out["EventId"] = np.arange(len(out), dtype=np.int64)
    return out


@dataclass
class EventFlow:
    """A trained generator of events (see the module docstring). Build with
    :func:`train_flow`, save and load with :mod:`rediscovery.higgs.generate.io`.

    Attributes
    ----------
    processes
        Process names, in the order of the context's one-hot part.
    box
        ``{nuisance: (lo, hi)}`` of the training points: the validity box.
    transform
        The fitted :class:`EventTransform`.
    config
        The :class:`FlowConfig` it was trained with.
    net
        The kinematic networks, one per process in the order of :attr:`processes`
        (:mod:`rediscovery.higgs.generate.networks`).
    jets_
        ``{process: 4 × 4 list}``: per jet class, its log-probability's coefficients
        ``[c0, c_tes, c_jes, c_soft_met]`` (nuisances scaled to [-1, 1] over :attr:`box`;
        normalised by a softmax).
    yields_
        ``{process: [c0, c_tes, c_jes, c_soft_met]}``: log summed weight, linear in the
        nuisances scaled to [-1, 1] over :attr:`box`.
    shares_
        Default share of generated events per process (as in the training sample).
    training_info_
        Sizes, epochs, losses, seconds.
    reweighter_
        The :class:`~rediscovery.higgs.generate.reweight.Reweighter` of the generated events
        (``FlowConfig.reweight``), or ``None``.
    """

    processes: list[str]
    box: dict[str, tuple[float, float]]
    transform: EventTransform
    config: FlowConfig
    net: Any
    jets_: dict[str, list[list[float]]] = field(default_factory=dict)
    yields_: dict[str, list[float]] = field(default_factory=dict)
    shares_: dict[str, float] = field(default_factory=dict)
    training_info_: dict[str, Any] = field(default_factory=dict)
    reweighter_: Any = None

    # ------------------------------------------------------------------ context

    def scaled_nuisances(self, values: np.ndarray) -> np.ndarray:
        """Nuisance rows (n, 3) mapped to [-1, 1] over :attr:`box` (0 for a fixed one)."""
        lo = np.array([self.box[k][0] for k in NUISANCES])
        hi = np.array([self.box[k][1] for k in NUISANCES])
        span = np.where(hi > lo, hi - lo, 1.0)
        return np.where(hi > lo, 2.0 * (values - lo) / span - 1.0, 0.0)

    def _context(self, nu: np.ndarray) -> np.ndarray:
        return self.scaled_nuisances(nu).astype(np.float32)

    def nuisance_values(
        self, nuisances: Mapping[str, float] | None, *, extrapolate: bool = False
    ) -> np.ndarray:
        """The (3,) nuisance vector (nominal values where not given), checked against
        :attr:`box` (with ``extrapolate``, only a nuisance held fixed in training must keep
        its value: the flow cannot respond to it).

        Raises
        ------
        InputError
            An unknown nuisance or a value outside the training box.
        """
        from rediscovery.higgs.events.simulate import NUISANCE_DEFAULTS

        given = dict(nuisances or {})
        unknown = sorted(set(given) - set(NUISANCES))
        if unknown:
            raise InputError(
                f"the flow is conditioned on {list(NUISANCES)}, not {unknown}", column=unknown[0]
            )
        out = []
        for k in NUISANCES:
            v = float(given.get(k, NUISANCE_DEFAULTS[k]))
            lo, hi = self.box[k]
            inside = lo - 1e-12 <= v <= hi + 1e-12
            if not np.isfinite(v) or not (inside or (extrapolate and hi > lo)):
                raise InputError(
                    f"{k} = {v:g} is outside the flow's training range "
                    f"[{lo:g}, {hi:g}]; retrain with points covering it",
                    column=k,
                )
            out.append(v)
        return np.array(out)

    def yields(
        self, nuisances: Mapping[str, float] | None = None, *, extrapolate: bool = False
    ) -> dict[str, float]:
        """Summed weight (expected events) of each process at ``nuisances``."""
        nu = self.nuisance_values(nuisances, extrapolate=extrapolate)
        u = self.scaled_nuisances(nu[None, :])[0]
        x = np.concatenate([[1.0], u])
        return {p: float(np.exp(np.dot(self.yields_[p], x))) for p in self.processes}

    def jet_probabilities(
        self,
        process: str,
        nuisances: Mapping[str, float] | None = None,
        *,
        extrapolate: bool = False,
    ) -> np.ndarray:
        """p(n_jet = 0, 1, 2, ≥3) of ``process`` at ``nuisances``."""
        return self._jet_p(process, self.nuisance_values(nuisances, extrapolate=extrapolate))

    def _jet_p(self, process: str, nu: np.ndarray) -> np.ndarray:
        x = np.concatenate([[1.0], self.scaled_nuisances(nu[None, :])[0]])
        logit = np.asarray(self.jets_[process]) @ x
        p = np.exp(logit - logit.max())
        return p / p.sum()

    # ------------------------------------------------------------------ sampling

    def sample(
        self,
        n_events: int,
        *,
        seed: int,
        nuisances: Mapping[str, float] | None = None,
        shares: Mapping[str, float] | None = None,
        batch_size: int = 200_000,
        extrapolate: bool = False,
    ) -> pd.DataFrame:
        """Generate ``n_events`` events at ``nuisances``.

        Parameters
        ----------
        n_events
            Events returned.
        seed
            Seed of every random draw (torch and numpy); the output is a function of it.
        nuisances
            ``tes``, ``jes``, ``soft_met`` (nominal where left out), inside :attr:`box`.
        shares
            Share of the events per process (default :attr:`shares_`); weights are set so that
            each process sums to its :meth:`yields`.
        batch_size
            Events per network call.
        extrapolate
            Allow nuisances outside :attr:`box` (for extrapolation studies; the flow was not
            trained there).

        Returns
        -------
        pandas.DataFrame
            The events table of the simulator: ``EventId``, the 17 ``PRI_*`` columns,
            ``Weight``, ``Label``, ``Process``.
        """
        import torch

        from rediscovery.higgs.schema import PROCESSES, SIGNAL_PROCESSES

        if (
            isinstance(n_events, bool)
            or not isinstance(n_events, (int, np.integer))
            or n_events < 1
        ):
            raise ConfigError(f"n_events: expected a positive integer, got {n_events!r}")
        nu = self.nuisance_values(nuisances, extrapolate=extrapolate)
        share = dict(self.shares_ if shares is None else shares)
        unknown = sorted(set(share) - set(self.processes))
        if unknown:
            raise ConfigError(
                f"processes {unknown} were not trained; the flow knows {self.processes}"
            )
        total = sum(share.values())
        if not total > 0:
            raise ConfigError(f"shares must be positive, got {share}")
        names = [p for p in self.processes if share.get(p, 0.0) > 0]
        counts = np.floor(np.array([share[p] / total for p in names]) * n_events).astype(int)
        counts[np.argmax(counts)] += n_events - counts.sum()
        rng = np.random.default_rng(seed)
        yields = self.yields(dict(zip(NUISANCES, nu, strict=True)), extrapolate=extrapolate)
        parts = []
        threads = torch.get_num_threads()
        torch.set_num_threads(self.config.n_threads)
        try:
            with torch.random.fork_rng(devices=[]), torch.inference_mode():
                torch.manual_seed(int(rng.integers(2**62)))
                self.net.eval()
                for name, n in zip(names, counts, strict=True):
                    if n == 0:
                        continue
                    df = self._sample_process(
                        self.processes.index(name), int(n), nu, rng, batch_size
                    )
                    if self.reweighter_ is None:
                        df["Weight"] = yields[name] / n
                    else:
                        w = self.reweighter_.weights(
                            name, df, nu, n_threads=self.config.n_threads
                        )
                        df["Weight"] = yields[name] * w / w.sum()
                    df["Label"] = np.int8(name in SIGNAL_PROCESSES)
                    df["Process"] = name
                    parts.append(df)
        finally:
            torch.set_num_threads(threads)
        out = pd.concat(parts, ignore_index=True)
        out["Process"] = pd.Categorical(out["Process"], categories=list(PROCESSES))
        out["Label"] = out["Label"].astype(np.int8)
        out.insert(0, "EventId", np.arange(len(out), dtype=np.int64))
        return out

    def _sample_process(
        self, proc: int, n: int, nu: np.ndarray, rng: np.random.Generator, batch_size: int
    ) -> pd.DataFrame:
        import torch

        p_jets = self._jet_p(self.processes[proc], nu)
        got: list[pd.DataFrame] = []
        have = 0
        while have < n:
            m = min(batch_size, int((n - have) * 1.1) + 16)
            njet = rng.choice(N_JET_CLASSES, size=m, p=p_jets)
            full = np.column_stack(
                [self._context(np.tile(nu, (m, 1))), np.eye(N_JET_CLASSES)[njet]]
            ).astype(np.float32)
            y = self.net[proc].sample(torch.from_numpy(full)).numpy().astype(np.float64)
            df, ok = self.transform.inverse(y, njet, seed=rng, tes=nu[0], jes=nu[1])
            ok &= np.all(np.isfinite(y), axis=1)
            df = df[ok]
            got.append(df)
            have += len(df)
            if len(df) == 0:
                raise InputError(
                    "the flow generated no physical event in a batch; it is not "
                    "trained (train more epochs)"
                )
        return pd.concat(got, ignore_index=True).iloc[:n].reset_index(drop=True)


def _loglinear_fit(u: np.ndarray, logy: np.ndarray) -> np.ndarray:
    """Least-squares coefficients ``[c0, c_tes, c_jes, c_soft_met]`` (one row per column of
    ``logy`` (m, k)) of ``logy`` linear in the scaled nuisances ``u`` (m, 3) of ``m`` training
    points; the coefficient of a nuisance that does not vary over the points is 0."""
    x = np.column_stack([np.ones(len(u)), u])
    varies = np.ptp(u, axis=0) > 0 if len(u) > 1 else np.zeros(u.shape[1], bool)
    cols = np.concatenate([[True], varies])
    coef = np.zeros((logy.shape[1], u.shape[1] + 1))
    sol, *_ = np.linalg.lstsq(x[:, cols], logy, rcond=None)
    coef[:, cols] = sol.T
    return coef


def _fit_yields(df: pd.DataFrame, flow: EventFlow) -> dict[str, list[float]]:
    """Least-squares log-linear fit of each process's summed weight over the nuisance points."""
    keys = list(NUISANCES)
    sums = df.groupby(["Process", *keys], observed=True)["Weight"].sum().reset_index()
    out = {}
    for p in flow.processes:
        rows = sums[sums["Process"] == p]
        u = flow.scaled_nuisances(rows[keys].to_numpy(dtype=float))
        out[p] = _loglinear_fit(u, np.log(rows["Weight"].to_numpy())[:, None])[0].tolist()
    return out


def _fit_jets(
    events: pd.DataFrame, njet: np.ndarray, flow: EventFlow
) -> dict[str, list[list[float]]]:
    """Per process and jet class, least-squares fit of the log-frequency (counts + 1/2) over
    the nuisance points, linear in the scaled nuisances."""
    keys = list(NUISANCES)
    table = events[["Process", *keys]].copy()
    table["Process"] = table["Process"].astype(str)
    table["njet"] = njet
    counts = table.groupby(["Process", *keys, "njet"]).size().unstack("njet", fill_value=0)
    counts = counts.reindex(columns=range(N_JET_CLASSES), fill_value=0)
    out = {}
    for p in flow.processes:
        rows = counts.loc[p]
        u = flow.scaled_nuisances(np.array([list(ix) for ix in rows.index], dtype=float))
        freq = rows.to_numpy(dtype=float) + 0.5
        out[p] = _loglinear_fit(u, np.log(freq / freq.sum(axis=1, keepdims=True))).tolist()
    return out


def _relative_weights(weight: np.ndarray, proc: np.ndarray) -> np.ndarray:
    """Each event's weight over the mean weight of its process (code ``proc``).

    Raises
    ------
    InputError
        A weight that is not finite and positive.
    """
    if not np.all(np.isfinite(weight) & (weight > 0)):
        bad = int(np.flatnonzero(~(np.isfinite(weight) & (weight > 0)))[0])
        raise InputError(
            f"training events: Weight must be finite and positive, row {bad} has {weight[bad]!r}",
            column="Weight",
        )
    mean = np.bincount(proc, weights=weight) / np.maximum(np.bincount(proc), 1)
    return weight / mean[proc]


def train_flow(
    events: pd.DataFrame, config: FlowConfig | None = None, *, progress: bool = True
) -> EventFlow:
    """Train the generator on simulated events.

    Parameters
    ----------
    events
        The simulator's table with the columns ``tes``, ``jes``, ``soft_met`` of the nuisance
        point each event was simulated at (:func:`simulate_training_set`).
    config
        Hyper-parameters (default :class:`FlowConfig`).
    progress
        Show a progress bar over the epochs.

    Returns
    -------
    EventFlow

    Raises
    ------
    InputError
        Missing columns, no events.
    """
    import time

    import torch

    from rediscovery.core.progress import progress_bar
    from rediscovery.core.training import train_torch

    cfg = config or FlowConfig()
    missing = [c for c in (*NUISANCES, "Process", "Weight") if c not in events.columns]
    if missing:
        raise InputError(
            f"the training events lack columns {missing} (simulate them with "
            "simulate_training_set)",
            column=missing[0],
        )
    if len(events) < 10:
        raise InputError(f"{len(events)} training events: too few to train a flow")
    t0 = time.perf_counter()
    procs = [str(p) for p in pd.unique(events["Process"].astype(str))]
    from rediscovery.higgs.schema import PROCESSES

    procs = [p for p in PROCESSES if p in procs] + sorted(set(procs) - set(PROCESSES))
    nu = events[list(NUISANCES)].to_numpy(dtype=float)
    box = {k: (float(nu[:, j].min()), float(nu[:, j].max())) for j, k in enumerate(NUISANCES)}
    transform = EventTransform(met=cfg.met).fit(events)
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.n_threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            net = build_network(len(procs), cfg)
            flow = EventFlow(processes=procs, box=box, transform=transform, config=cfg, net=net)
            rng = np.random.default_rng(cfg.seed)
            y, njet = transform.forward(events, seed=rng)
            proc = pd.Categorical(events["Process"].astype(str), categories=procs).codes
            ctx = flow._context(nu)
            weight = _relative_weights(events["Weight"].to_numpy(dtype=float), proc)
            tensors = [
                torch.from_numpy(a)
                for a in (
                    y.astype(np.float32),
                    ctx,
                    njet.astype(np.int64),
                    proc.astype(np.int64),
                    weight.astype(np.float32),
                )
            ]
            if cfg.whiten:
                y_all, p_all, w_all = tensors[0], tensors[3], tensors[4]
                for k in range(len(procs)):
                    m = p_all == k
                    if int(m.sum()) > len(FLOW_COLUMNS):
                        net[k].fit_whitening(y_all[m], w_all[m])
            n = len(y)
            order = rng.permutation(n)
            n_val = max(1, round(cfg.validation_fraction * n))
            val, train = order[:n_val], order[n_val:]

            def weighted_loss(idx: np.ndarray, method: str) -> Any:
                """The batch's mean of each event's ``method`` loss times its weight."""
                i = torch.from_numpy(idx)
                yy, cc, jj, pp, ww = (t[i] for t in tensors)
                full = torch.cat(
                    [cc, torch.nn.functional.one_hot(jj, N_JET_CLASSES).float()], dim=1
                )
                total = 0.0
                for k in torch.unique(pp).tolist():  # a few processes, each its own network
                    m = pp == k
                    total = total + torch.sum(getattr(net[k], method)(yy[m], full[m]) * ww[m])
                return total / len(i)

            def loss_of(idx: np.ndarray) -> Any:
                return weighted_loss(idx, "event_loss")

            def validation_loss() -> float:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(cfg.seed)  # the same noise each epoch (fm's loss)
                    return float(loss_of(val))

            adversarial = cfg.architecture in ADVERSARIAL
            gan: dict[str, Any] = {}
            if adversarial:  # a GAN's losses do not rank its epochs: the last one is kept
                from rediscovery.core.training import Adversary

                gan = {
                    "adversary": Adversary(
                        parameters=[p for k in net for p in k.critic.parameters()],
                        batch_loss=lambda idx: weighted_loss(idx, "critic_loss"),
                        ratio=cfg.critic_steps,
                    ),
                    "betas": _GAN_BETAS,
                }

            with progress_bar(enabled=progress) as bar:
                task = bar.add_task(f"training the {cfg.architecture} generator", total=cfg.epochs)
                hist = train_torch(
                    net,
                    loss_of,
                    train,
                    epochs=cfg.epochs,
                    batch_size=cfg.batch_size,
                    learning_rate=cfg.learning_rate,
                    rng=rng,
                    validation_loss=None if adversarial else validation_loss,
                    cosine="step",
                    final_lr_ratio=_FINAL_LR_RATIO,
                    epoch_done=lambda: bar.advance(task),
                    **gan,
                )
    finally:
        torch.set_num_threads(threads)
    flow.yields_ = _fit_yields(events, flow)
    flow.jets_ = _fit_jets(events, njet, flow)
    counts = events["Process"].astype(str).value_counts()
    flow.shares_ = {p: float(counts.get(p, 0)) / len(events) for p in procs}
    flow.training_info_ = {
        "n_train": len(train),
        "n_valid": int(n_val),
        "best_epoch": int(hist.best_epoch),
        "valid_loss": [round(h, 5) for h in hist.validation],
        **({"critic_loss": [round(h, 5) for h in hist.adversary]} if hist.adversary else {}),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    if cfg.reweight:
        from rediscovery.higgs.generate.reweight import fit_reweighter

        t1 = time.perf_counter()
        flow.reweighter_ = fit_reweighter(flow, events, seed=cfg.seed, n_threads=cfg.n_threads)
        flow.training_info_["reweighter"] = flow.reweighter_.info
        flow.training_info_["reweighter_seconds"] = round(time.perf_counter() - t1, 2)
    return flow
