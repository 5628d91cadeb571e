r"""Fast physics-based simulation of the HiggsML lepton + hadronic-tau channel.

Every event is built from physics, fully vectorised with NumPy (no loop over events):

1. **Production.** A boson (H, Z, W, a tt̄ or WW system) recoils against initial-state
   radiation: a geometric number of radiated partons (staircase scaling) with a power-law
   transverse-momentum spectrum plus an unclustered soft term; the boson transverse momentum
   is minus their vector sum ("boson pT from recoil"). Its mass follows a Breit–Wigner (Z, W,
   and the W's inside tt̄ and WW) or is fixed (H, m_H = 125 GeV); its rapidity is Gaussian,
   truncated at the kinematic limit. VBF Higgs production adds two forward tagging jets with
   large Δη and m_jj that take the Higgs recoil.
2. **Decays** are done exactly with two-body decays in the parent rest frame plus Lorentz
   boosts: H/Z → ττ (isotropic, resp. 1 + cos²θ), W → ℓν, t → bW. Tau decays: leptonic
   τ → ℓνν with the Michel spectrum of the charged-lepton energy, :math:`dΓ/dx ∝ x^2(3 - 2x)`,
   :math:`x = 2E_ℓ/m_τ` (unpolarised, massless lepton); hadronic τ → hν with h = π, ρ or a1
   (masses, widths and branching fractions from the PDG), isotropic in the τ rest frame,
   giving the flat visible-energy fraction of a two-body decay. All neutrinos go to the missing
   transverse momentum.
3. **Fake taus.** In W+jets and in half of the tt̄ events the hadronic tau is a mis-identified
   quark/gluon jet carrying a fraction ~ N(0.8, 0.12) of the jet momentum; the rest of the jet
   joins the soft term.
4. **Detector.** Gaussian smearing of τ_h (8 %), lepton (2 %) and jets (stochastic ⊕ noise ⊕
   constant terms); the soft term is smeared with a resolution :math:`σ = k\sqrt{ΣE_T}` per
   component. The reconstructed MET is minus the vector sum of every reconstructed object and
   the soft term, so mis-measurements and lost forward jets propagate to it, and
   ``PRI_met_sumet`` is the scalar sum of all reconstructed objects plus the soft term plus the
   pile-up/underlying-event activity.
5. **Selection**: the thresholds of :data:`SELECTION` (checked against the minima of the real
   HiggsML sample: τ p_T > 20 GeV, lepton p_T > 26 GeV, |η| < 2.5 for both, jets counted with
   p_T > 30 GeV and |η| < 4.5, ΔR(τ, ℓ) > 0.2, b-jet veto). Events failing it are not returned;
   each process is generated in batches until the requested number passes.

Weights are cross-section weights :math:`w_p = μ_p T_p / N_p`: :math:`T_p` is the expected
number of selected events of process *p* at the HiggsML luminosity (see :data:`PROCESS_YIELDS`)
and :math:`N_p` the number generated, so the summed weights do not depend on the number of
events (signal 691.989, background 410,999.847, the totals of the HiggsML training set).

References
----------
C. Adam-Bourdarios et al., *The Higgs boson machine learning challenge*, HiggsML documentation
v1.8 (2014). Particle Data Group, R.L. Workman et al., PTEP 2022, 083C01 (masses, widths,
τ branching fractions). LHC Higgs Cross Section WG, CERN-2013-004 (8 TeV cross sections).
ATLAS Collaboration, JHEP 04 (2015) 117 (H→ττ evidence, lepton–hadron selection).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from rediscovery.core.checks import require_memory, require_parameter_in_range
from rediscovery.core.errors import ConfigError, InputError
from rediscovery.core.files import round_significand
from rediscovery.higgs.events.generator import (
    BACKGROUND_TOTAL,
    DETECTOR,
    SELECTION,
    SIGNAL_TOTAL,
    SUBPROCESSES,
    DetectorModel,
    Selection,
    SubProcess,
    generate_truth,
    resonance_subprocess,
    simulate_detector,
)
from rediscovery.higgs.events.kinematics import Draw
from rediscovery.higgs.schema import (
    EVENT_ID,
    LABEL,
    PHI_COLUMNS,
    PRI_COLUMNS,
    PROCESS,
    PROCESSES,
    SIGNAL_PROCESSES,
    WEIGHT,
)

__all__ = [
    "BACKGROUND_TOTAL",
    "DETECTOR",
    "MIN_SELECTION_EFFICIENCY",
    "NUISANCE_DEFAULTS",
    "NUISANCE_PRIORS",
    "PRI_SIGNIFICAND_BITS",
    "PROCESS_YIELDS",
    "SELECTION",
    "SIGNAL_TOTAL",
    "SIM_BYTES_PER_EVENT",
    "DetectorModel",
    "Selection",
    "check_nuisance",
    "draw_nuisances",
    "simulate_events",
    "simulate_pseudo_data",
    "simulate_resonance",
]

log = logging.getLogger(__name__)

#: Nuisance parameters understood by the simulator and their nominal values: τ energy scale,
#: jet energy scale, extra soft-MET noise σ in GeV, and background normalisation factors
#: (used by :func:`simulate_pseudo_data`).
NUISANCE_DEFAULTS: dict[str, float] = {
    "tes": 1.0,
    "jes": 1.0,
    "soft_met": 0.0,
    "bkg_scale": 1.0,
    "ttbar_scale": 1.0,
    "diboson_scale": 1.0,
}

#: Priors from which :func:`draw_nuisances` draws hidden nuisance values: (kind, centre, width,
#: low clip, high clip); ``lognormal`` draws exp(N(log centre, width)). They follow the
#: test-time draws of the Fair Universe HiggsML Uncertainty Challenge (2024): τ and jet energy
#: scales 1 ± 1 %, soft MET LogNormal(0, 1) clipped to [0, 5] GeV, total background ± 0.1 %,
#: tt̄ ± 2 %, diboson ± 25 %. The single definition of these numbers:
#: :data:`rediscovery.higgs.systematics.variations.FAIR_UNIVERSE_PRIORS` is built from it.
NUISANCE_PRIORS: dict[str, tuple[str, float, float, float, float]] = {
    "tes": ("normal", 1.0, 0.01, 0.9, 1.1),
    "jes": ("normal", 1.0, 0.01, 0.9, 1.1),
    "soft_met": ("lognormal", 1.0, 1.0, 0.0, 5.0),
    "bkg_scale": ("normal", 1.0, 0.001, 0.99, 1.01),
    "ttbar_scale": ("normal", 1.0, 0.02, 0.8, 1.2),
    "diboson_scale": ("normal", 1.0, 0.25, 0.0, 2.0),
}


#: Stored significand bits of the simulated ``PRI_*`` values (float32 has 23): relative rounding
#: error ≤ 2⁻¹⁶ = 1.5e-5, the precision of the HiggsML challenge files, which print three
#: decimals (1e-5 of a 100 GeV p_T, 5e-4 of a typical η or φ; Adam-Bourdarios et al. 2014,
#: "Learning to discover: the Higgs boson machine learning challenge"). The low byte of every
#: value is then zero, which the run directory's Parquet tables store for free (~28 % smaller).
PRI_SIGNIFICAND_BITS = 15

#: The largest value ≤ π with :data:`PRI_SIGNIFICAND_BITS` stored bits (π truncated).
_PI_STORED = float(np.array(
    np.array(np.pi, dtype=np.float32).view(np.uint32)
    & np.uint32((0xFFFFFFFF << (23 - PRI_SIGNIFICAND_BITS)) & 0xFFFFFFFF)).view(np.float32))

#: Peak memory per simulated event, bytes, generation and writing included: measured with
#: ``tracemalloc`` at 4·10^5 events (450 B: float32 batches, the float64 table, the shuffle)
#: plus the copy a writer makes (~160 B), rounded up. Requests beyond the available memory are
#: refused up front.
SIM_BYTES_PER_EVENT = 650

#: Lowest selection efficiency the generation accepts. The sub-processes select 6-19 % of
#: their generated events (``SubProcess.eff_guess``); a measured efficiency below 10^-3 after
#: :data:`_MIN_TRIED` generated events means the settings select (almost) nothing, and the
#: generation stops with an error instead of looping.
MIN_SELECTION_EFFICIENCY = 1e-3
_MIN_TRIED = 100_000


def draw_nuisances(seed: int | np.random.Generator) -> dict[str, float]:
    """Draw one set of nuisance values from :data:`NUISANCE_PRIORS` (for hidden truths)."""
    rng = _rng(seed)
    out = {}
    for name, (kind, centre, width, lo, hi) in NUISANCE_PRIORS.items():
        z = rng.standard_normal()
        value = centre * np.exp(width * z) if kind == "lognormal" else centre + width * z
        out[name] = float(np.clip(value, lo, hi))
    return out


#: Expected number of selected events per internal sub-process at the HiggsML luminosity
#: (the summed weight of that sub-process for μ = 1).
PROCESS_YIELDS: dict[str, float] = {
    p.name: p.share * (SIGNAL_TOTAL if p.signal else BACKGROUND_TOTAL) for p in SUBPROCESSES
}


_SHAPE_NUISANCES = ("tes", "jes", "soft_met")


def _shifted(nuis: Mapping[str, float]) -> bool:
    """True if a nuisance that changes the event kinematics is away from nominal."""
    return any(nuis[k] != NUISANCE_DEFAULTS[k] for k in _SHAPE_NUISANCES)


@dataclass
class _Batches:
    """Selected events of one generation task and the counts that fix the yield ratio."""

    chunks: list[dict[str, np.ndarray]]
    passed: int  # events passing with the requested nuisances, in all generated batches
    passed_nominal: int  # the same events through the nominal detector


def _generate_selected(
    rng, proc: SubProcess, n: int, nuis: Mapping[str, float], *, stop_on_nominal: bool = False,
    crn_tes: float | None = None,
) -> _Batches:
    """Generate batches of ``proc`` until ``n`` events pass the selection.

    With nuisances away from nominal, every batch also goes through the nominal detector with
    the same random numbers (common random numbers), so that the yield ratio
    ``passed / passed_nominal`` is measured on identical events: a τ energy scale above 1
    lets more events pass the p_T thresholds, as it would in data. The generator-level cuts
    then cover both settings. With ``stop_on_nominal`` the generation stops at the n-th event
    passing the *nominal* selection and returns the events passing the shifted one among the
    same generated events (used for pseudo-data, whose counts are drawn at nominal).
    ``crn_tes`` fixes the τ energy scale of the generator-level pre-cuts (instead of
    ``max(tes, 1)``), so that samples at different ``tes`` generate the same truth events.
    """
    rng = Draw(rng)
    shifted = _shifted(nuis)
    gen_nuis = dict(nuis, tes=max(nuis["tes"], 1.0)) if shifted else nuis
    if crn_tes is not None:
        gen_nuis = dict(nuis, tes=crn_tes)
    nominal = dict(NUISANCE_DEFAULTS)
    chunks: list[dict[str, np.ndarray]] = []
    have, tried, passed, passed_nom = 0, 0, 0, 0
    eff = proc.eff_guess
    while have < n:
        need = n - have
        # a batch just large enough on average (events beyond ``need`` are wasted work); a
        # short fall is made up by a second, small batch
        batch = int(min(max(need / max(eff, 1e-3) * 1.03 + 64, 256), 2_000_000))
        truth = generate_truth(rng, batch, proc, gen_nuis)
        if shifted:
            state = rng.rng.bit_generator.state
            _, ok_nom = simulate_detector(rng, truth, nominal)
            rng.rng.bit_generator.state = state
        cols, ok = simulate_detector(rng, truth, nuis)
        if not shifted:
            ok_nom = ok
        # ``cols`` hold the selected events in batch order: the first k of them are the
        # first k events of the batch that pass
        if stop_on_nominal:
            nom_idx = np.flatnonzero(ok_nom)
            end = nom_idx[need - 1] + 1 if nom_idx.size >= need else batch
            k = int(np.count_nonzero(ok[:end]))
            have += min(nom_idx.size, need)
        else:
            k = min(int(np.count_nonzero(ok)), need)
            have += k
        tried += batch
        passed += int(ok.sum())
        passed_nom += int(ok_nom.sum())
        measured = (passed_nom if stop_on_nominal else passed) / tried
        if tried >= _MIN_TRIED and measured < MIN_SELECTION_EFFICIENCY:
            changed = {k: v for k, v in nuis.items() if v != NUISANCE_DEFAULTS[k]}
            raise InputError(
                f"{proc.name}: only {passed:,} of {tried:,} generated events pass the selection "
                f"(efficiency {measured:.1e} < {MIN_SELECTION_EFFICIENCY:g}; about "
                f"{proc.eff_guess:.2f} at nominal) with nuisances {changed or 'nominal'}: "
                "these settings select (almost) no events", column="nuisances")
        eff = max(measured, 1e-3)
        if k:
            chunks.append({c: cols[c][:k] for c in PRI_COLUMNS})
    log.debug("%s: %d events, selection efficiency %.3f", proc.name, n, eff)
    return _Batches(chunks, passed, passed_nom)


#: events per independent generation task (each with its own spawned random stream), so the
#: result does not depend on the number of threads
_CHUNK = 50_000


def _generate_processes(
    rng: np.random.Generator,
    procs: tuple[SubProcess, ...],
    counts,
    nuis: Mapping[str, float],
    n_threads: int | None,
    *,
    stop_on_nominal: bool = False,
    crn_tes: float | None = None,
) -> list[tuple[SubProcess, list[dict[str, np.ndarray]], float]]:
    """Generate ``counts[i]`` selected events of each process, in chunks run on threads.

    Returns (process, chunks, yield ratio shifted/nominal) per process with events. NumPy
    releases the GIL in its array kernels and random generators, so threads give a real
    speed-up on several cores without copying the arrays between processes.
    """
    tasks = []
    streams = rng.spawn(len(procs))
    for proc, n_p, stream in zip(procs, counts, streams, strict=True):
        n_p = int(n_p)
        if n_p <= 0:
            continue
        sizes = [_CHUNK] * (n_p // _CHUNK) + ([n_p % _CHUNK] if n_p % _CHUNK else [])
        for size, child in zip(sizes, stream.spawn(len(sizes)), strict=True):
            tasks.append((proc, size, child))

    def run(task):
        proc, size, child = task
        return _generate_selected(child, proc, size, nuis, stop_on_nominal=stop_on_nominal,
                                  crn_tes=crn_tes)

    workers = n_threads if n_threads is not None else min(2, os.cpu_count() or 1)
    if workers > 1 and len(tasks) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(run, tasks))
    else:
        results = [run(t) for t in tasks]
    parts = []
    for proc in procs:
        mine = [r for (p, _, _), r in zip(tasks, results, strict=True) if p is proc]
        chunks = [c for r in mine for c in r.chunks]
        if chunks:
            nom = sum(r.passed_nominal for r in mine)
            ratio = sum(r.passed for r in mine) / nom if nom else 1.0
            parts.append((proc, chunks, ratio))
    return parts


# --------------------------------------------------------------------------------------------
# public API


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"seed: expected an integer or numpy Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def _select_procs(processes: Iterable[str] | None) -> tuple[SubProcess, ...]:
    if processes is None:
        return SUBPROCESSES
    wanted = [processes] if isinstance(processes, str) else list(processes)
    unknown = sorted(set(wanted) - set(PROCESSES))
    if unknown or not wanted:
        raise ConfigError(
            f"processes: unknown {unknown or 'empty list'}; expected names from {list(PROCESSES)}"
        )
    return tuple(p for p in SUBPROCESSES if p.process in wanted)


def check_nuisance(name: str, value: float, *, source: str = "nuisance") -> float:
    """Return ``value`` as a float if it lies in the allowed range of nuisance ``name``.

    The allowed range is the clip range of the nuisance's prior in :data:`NUISANCE_PRIORS`
    (the Fair Universe challenge's test-time range: τ and jet energy scales 0.9-1.1, soft MET
    0-5 GeV, total background 0.99-1.01, tt̄ 0.8-1.2, diboson 0-2). Beyond it the simulation
    is not validated, and some values are unphysical (a negative energy scale or weight).

    Raises
    ------
    InputError
        Unknown name, a value that is not finite or outside the range (names the nuisance).
    """
    if name not in NUISANCE_PRIORS:
        raise InputError(f"{source} {name!r} is unknown; expected one of "
                         f"{sorted(NUISANCE_PRIORS)}", column=name)
    _, _, _, lo, hi = NUISANCE_PRIORS[name]
    return require_parameter_in_range(name, value, lo, hi, source=source,
                                      why="the clip range of its prior, NUISANCE_PRIORS")


def _nuisances(given: Mapping[str, float] | None) -> dict[str, float]:
    out = dict(NUISANCE_DEFAULTS)
    for key, value in (given or {}).items():
        if key not in out:
            raise ConfigError(
                f"nuisance {key!r} is unknown; expected one of {sorted(NUISANCE_DEFAULTS)}"
            )
        out[key] = check_nuisance(key, value)
    return out


def _check_memory(n_events: float) -> None:
    require_memory(n_events * SIM_BYTES_PER_EVENT, what=f"simulating {n_events:,.0f} events",
                   hint=f"about {SIM_BYTES_PER_EVENT} bytes per event; "
                   "simulate fewer events (several files with different seeds if needed)")


def _allocate(n: int, shares: np.ndarray) -> np.ndarray:
    """Split n events by ``shares`` (largest remainder), at least one per process if n allows."""
    raw = shares / shares.sum() * n
    counts = np.floor(raw).astype(np.int64)
    if n >= len(shares):
        counts = np.maximum(counts, 1)
    while counts.sum() > n:
        counts[np.argmax(counts)] -= 1
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    i = 0
    while counts.sum() < n:
        counts[order[i % len(order)]] += 1
        i += 1
    return counts


def _assemble(
    parts: list[tuple[SubProcess, list[dict[str, np.ndarray]], float]],
    rng: np.random.Generator,
    n_threads: int | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Shuffle the events of all processes into one table numbered 0..N-1.

    Each chunk is scattered straight to its shuffled rows of the output columns (one pass, no
    intermediate concatenation); the 17 columns are independent and are filled on up to
    ``n_threads`` threads (NumPy releases the GIL in the scatter and the cast), so the result
    does not depend on the thread count. Returns the table and, per row, the index in
    ``parts`` of its sub-process.
    """
    n = sum(len(ch["PRI_tau_pt"]) for _, chunks, _ in parts for ch in chunks)
    perm = rng.permutation(n)  # row j of the table is event perm[j] of the concatenation
    dest = np.empty(n, dtype=np.int64)
    dest[perm] = np.arange(n)
    part_of = np.empty(n, dtype=np.int16)
    pieces = []  # (destination rows, chunk)
    start = 0
    for k, (_, chunks, _) in enumerate(parts):
        for ch in chunks:
            rows = dest[start:start + len(ch["PRI_tau_pt"])]
            part_of[rows] = k
            pieces.append((rows, ch))
            start += len(rows)
    # one (17, n) float64 block; each column is shuffled in the working precision (half the
    # memory traffic of the random-access scatter), then widened; pandas keeps it without a copy
    block = np.empty((len(PRI_COLUMNS), n), dtype=np.float64)

    def fill(j):
        c = PRI_COLUMNS[j]
        col32 = np.empty(n, dtype=np.float32)
        for rows, ch in pieces:
            col32[rows] = ch[c]
        block[j] = col32

    workers = n_threads if n_threads is not None else min(2, os.cpu_count() or 1)
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(fill, range(len(PRI_COLUMNS))))
    else:
        for j in range(len(PRI_COLUMNS)):
            fill(j)
    for c in PHI_COLUMNS:  # wrap again in double precision: float32(π) > π
        x = block[PRI_COLUMNS.index(c)]
        x[x > np.pi] -= 2 * np.pi
        x[x <= -np.pi] += 2 * np.pi
    # the precision of the HiggsML files (PRI_SIGNIFICAND_BITS); a φ rounded past ±π goes back
    # to the largest stored value inside
    for j in range(len(PRI_COLUMNS)):
        block[j] = round_significand(block[j], PRI_SIGNIFICAND_BITS)
    for c in PHI_COLUMNS:
        x = block[PRI_COLUMNS.index(c)]
        np.clip(x, -_PI_STORED, _PI_STORED, out=x)
    df = pd.DataFrame(block.T, columns=list(PRI_COLUMNS), copy=False)
    df["PRI_jet_num"] = df["PRI_jet_num"].astype(np.int64)
    df.insert(0, EVENT_ID, np.arange(n, dtype=np.int64))
    return df, part_of


def simulate_events(
    n_events: int,
    *,
    seed: int | np.random.Generator,
    mu: float = 1.0,
    processes: Iterable[str] | None = None,
    nuisances: Mapping[str, float] | None = None,
    count_shares: Mapping[str, float] | None = None,
    n_threads: int | None = None,
    crn_tes: float | None = None,
) -> pd.DataFrame:
    """Simulate ``n_events`` selected lepton + hadronic-tau events with cross-section weights.

    Parameters
    ----------
    n_events
        Number of events returned (all pass :data:`SELECTION`).
    seed
        Integer seed or ``numpy.random.Generator``; the output is a deterministic function of it.
    mu
        Signal strength: signal weights are multiplied by μ (the event kinematics do not change).
    processes
        Subset of :data:`rediscovery.higgs.schema.PROCESSES` to generate (default: all). Each
        process keeps its own total weight, so the sums describe that subset at full luminosity.
    nuisances
        Values of :data:`NUISANCE_DEFAULTS` keys. ``tes``, ``jes``, ``soft_met`` change the
        detector response, and the weights follow the change of selected yield (measured with
        the same random numbers through the nominal detector: w = μ T_p R_p / N_p);
        ``bkg_scale``, ``ttbar_scale``, ``diboson_scale`` scale the weights.
    count_shares
        Fraction of generated events per internal sub-process (``ggH``, ``VBFH``, ``ztautau``,
        ``wjets``, ``ttbar``, ``diboson``); default close to the HiggsML training set (34 %
        signal). Weights are rescaled accordingly, so sums do not depend on it.
    n_threads
        Threads used for generation (default: up to 2). The result does not depend on it.
    crn_tes
        Common random numbers for a family of samples at different detector settings
        (systematic templates). Default ``None``: ``n_events`` events pass the selection with
        ``nuisances`` (the behaviour described above). With a value (at least the largest
        ``tes`` of the family), the truth is generated with the generator-level τ pre-cut of
        that τ energy scale and ``n_events`` counts the events passing the *nominal*
        detector; the sample holds those of the same generated events that pass with
        ``nuisances``, each with the nominal per-event weight μ_p T_p / N_p. Samples with the
        same ``seed``, ``count_shares`` and ``crn_tes`` then hold the same generated events
        (the same truth, detector random numbers and, for the lepton, the same reconstructed
        values), so their differences are the detector shifts alone, migrations across the
        selection included; their number of rows differs.

    Returns
    -------
    pandas.DataFrame
        ``EventId`` (int64), the 17 ``PRI_*`` columns (GeV, radians in (-π, π], NaN where
        undefined, ``PRI_jet_num`` integer-valued float), ``Weight`` (float64:
        :math:`w = μ_p T_p / N_p`), ``Label`` (int8, 1 = signal), ``Process`` (categorical).
        Summed weights: 691.989 μ for signal, 410,999.847 for background (all processes).
    """
    if isinstance(n_events, bool) or not isinstance(n_events, (int, np.integer)) or n_events < 1:
        raise ConfigError(f"n_events: expected a positive integer, got {n_events!r}")
    if not np.isfinite(mu) or mu < 0:
        raise ConfigError(f"mu: expected a finite non-negative signal strength, got {mu!r}")
    rng = _rng(seed)
    procs = _select_procs(processes)
    nuis = _nuisances(nuisances)
    _check_memory(int(n_events))
    shares = dict((p.name, p.count_share) for p in procs)
    if count_shares is not None:
        bad = sorted(set(count_shares) - set(shares))
        if bad:
            raise ConfigError(
                f"count_shares: unknown sub-processes {bad}; expected {sorted(shares)}"
            )
        shares.update({k: float(v) for k, v in count_shares.items()})
    counts = _allocate(int(n_events), np.array([shares[p.name] for p in procs], dtype=float))
    gen_rng, shuffle_rng = rng.spawn(2)
    crn = crn_tes is not None
    if crn and not (np.isfinite(crn_tes) and crn_tes >= max(nuis["tes"], 1.0)):
        raise ConfigError(f"crn_tes: expected a finite value >= max(tes, 1) = "
                          f"{max(nuis['tes'], 1.0)}, got {crn_tes!r}")
    parts = _generate_processes(gen_rng, procs, counts, nuis, n_threads, stop_on_nominal=crn,
                                crn_tes=crn_tes)
    df, part_of = _assemble(parts, shuffle_rng, n_threads)
    if crn:
        # every event stands for the same expected yield as at the nominal detector
        n_nominal = {p.name: int(k) for p, k in zip(procs, counts, strict=True)}
        weight = np.array([_yield(p, mu, nuis) / n_nominal[p.name] for p, _, _ in parts])
    else:
        # w = μ T_p R_p / N_p, with R_p the yield ratio of shifted to nominal detector (1 at
        # nominal)
        weight = np.array([
            _yield(p, mu, nuis) * ratio / sum(len(ch["PRI_tau_pt"]) for ch in chunks)
            for p, chunks, ratio in parts
        ])
    df[WEIGHT] = weight[part_of]
    df[LABEL] = np.array([p.signal for p, _, _ in parts], dtype=np.int8)[part_of]
    codes = np.array([PROCESSES.index(p.process) for p, _, _ in parts], dtype=np.int8)
    df[PROCESS] = pd.Categorical.from_codes(codes[part_of], categories=list(PROCESSES))
    return df


def _yield(proc: SubProcess, mu: float, nuis: Mapping[str, float]) -> float:
    """Expected selected events of ``proc`` at the HiggsML luminosity, given μ and nuisances."""
    y = PROCESS_YIELDS[proc.name]
    if proc.signal:
        return y * mu
    y *= nuis["bkg_scale"]
    if proc.process == "ttbar":
        y *= nuis["ttbar_scale"]
    elif proc.process == "diboson":
        y *= nuis["diboson_scale"]
    return y


def simulate_pseudo_data(
    *,
    lumi_factor: float = 1.0,
    mu: float = 1.0,
    seed: int | np.random.Generator,
    nuisances: Mapping[str, float] | str | None = None,
    processes: Iterable[str] | None = None,
    n_threads: int | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Simulate an unlabelled "observed" data set with Poisson-fluctuated process counts.

    For each sub-process the number of events is drawn as
    :math:`N_p \\sim \\mathrm{Poisson}(ν_p)`, :math:`ν_p = L\\,μ_p T_p` (the summed weight of
    :func:`simulate_events` times ``lumi_factor``), then that many selected events are
    generated. With τ/jet energy scales or soft term away from nominal, N_p is drawn for the
    nominal selection and the events passing the shifted selection among the same generated
    events are kept, so the observed yield moves with the nuisances as it would in data. The
    result has unit weights and no ``Label``/``Process``.

    Parameters
    ----------
    lumi_factor
        Luminosity relative to the HiggsML one (1: ≈ 411,700 expected events).
    mu
        True signal strength.
    seed
        Integer seed or Generator (the truth records an integer seed).
    nuisances
        Nuisance values (keys of :data:`NUISANCE_DEFAULTS`; default nominal), or ``"draw"``
        to draw hidden values from :data:`NUISANCE_PRIORS` with the seed's random stream.
    processes, n_threads
        As in :func:`simulate_events`.

    Returns
    -------
    data, truth
        ``data``: ``EventId``, the 17 ``PRI_*`` columns and ``Weight`` (= 1.0).
        ``truth``: ``mu``, ``lumi_factor``, ``seed``, ``nuisances``, per sub-process
        ``expected_events`` (ν_p, including the yield change of the shifted τ/jet scales),
        ``nominal_selection_events`` (the Poisson draw at nominal selection) and
        ``generated_events`` (the events in the data), ``n_events`` — to be written to
        ``truth.json`` beside the data and never read by analysis code.
    """
    if not np.isfinite(lumi_factor) or lumi_factor <= 0:
        raise ConfigError(f"lumi_factor: expected a positive number, got {lumi_factor!r}")
    if not np.isfinite(mu) or mu < 0:
        raise ConfigError(f"mu: expected a finite non-negative signal strength, got {mu!r}")
    rng = _rng(seed)
    procs = _select_procs(processes)
    gen_rng, count_rng, shuffle_rng, nuisance_rng = rng.spawn(4)
    if isinstance(nuisances, str):
        if nuisances != "draw":
            raise ConfigError(f"nuisances: expected a mapping or 'draw', got {nuisances!r}")
        nuis = _nuisances(draw_nuisances(nuisance_rng))
    else:
        nuis = _nuisances(nuisances)
    # counts are drawn for the nominal selection; with shifted τ/jet scales or soft term the
    # events passing the shifted selection among the same generated events are kept, so the
    # observed yield follows the nuisances as it would in data
    nominal_expected = {p.name: lumi_factor * _yield(p, mu, nuis) for p in procs}
    _check_memory(sum(nominal_expected.values()))
    counts = count_rng.poisson([nominal_expected[p.name] for p in procs])
    parts = _generate_processes(gen_rng, procs, counts, nuis, n_threads, stop_on_nominal=True)
    ratios = {p.name: r for p, _, r in parts}
    expected = {k: v * ratios.get(k, 1.0) for k, v in nominal_expected.items()}
    if parts:
        df, _ = _assemble(parts, shuffle_rng, n_threads)
    else:
        df = pd.DataFrame(
            {EVENT_ID: np.zeros(0, np.int64), **{c: np.zeros(0) for c in PRI_COLUMNS}}
        )
        df["PRI_jet_num"] = df["PRI_jet_num"].astype(np.int64)
    df[WEIGHT] = 1.0
    truth = {
        "mu": float(mu),
        "lumi_factor": float(lumi_factor),
        "seed": seed if not isinstance(seed, np.random.Generator) else None,
        "nuisances": nuis,
        "expected_events": expected,
        "nominal_selection_events": {p.name: int(k) for p, k in zip(procs, counts, strict=True)},
        "generated_events": {
            p.name: sum(len(ch["PRI_tau_pt"]) for ch in chunks) for p, chunks, _ in parts
        },
        "n_events": len(df),
        "selection": asdict(SELECTION),
        "signal_processes": list(SIGNAL_PROCESSES),
    }
    return df, truth


def simulate_resonance(
    n_events: int,
    *,
    mass: float,
    seed: int | np.random.Generator,
    width: float | None = None,
    vbf: bool = False,
    n_threads: int | None = None,
) -> pd.DataFrame:
    """Selected events of a hypothetical scalar X → ττ of a given mass (not a SM process).

    The generator and detector are those of :func:`simulate_events` (the resonance is produced
    like the Higgs boson, see :func:`~rediscovery.higgs.events.generator.resonance_subprocess`),
    so the events differ from the Standard Model ones only by their physics.

    Parameters
    ----------
    n_events
        Number of selected events returned.
    mass
        Pole mass of X (GeV).
    seed
        Integer seed or ``numpy.random.Generator``.
    width
        Total width (GeV); default 3 % of the mass (narrow next to the ~20 % resolution of
        the reconstructed ττ mass).
    vbf
        Produce X in vector-boson fusion (two forward tagging jets) instead of gluon fusion.
    n_threads
        As in :func:`simulate_events`.

    Returns
    -------
    pandas.DataFrame
        ``EventId`` (0..n-1), the 17 ``PRI_*`` columns, ``Weight`` (1.0) and ``Label`` (1).
    """
    if isinstance(n_events, bool) or not isinstance(n_events, (int, np.integer)) or n_events < 1:
        raise ConfigError(f"n_events: expected a positive integer, got {n_events!r}")
    proc = resonance_subprocess(mass, 0.03 * mass if width is None else width, vbf=vbf)
    rng = _rng(seed)
    _check_memory(int(n_events))
    gen_rng, shuffle_rng = rng.spawn(2)
    parts = _generate_processes(gen_rng, (proc,), [int(n_events)], dict(NUISANCE_DEFAULTS),
                                n_threads)
    df, _ = _assemble(parts, shuffle_rng, n_threads)
    df[WEIGHT] = 1.0
    df[LABEL] = np.int8(1)
    return df
