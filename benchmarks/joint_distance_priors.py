"""CMB distance priors: accuracy against CAMB and throughput against CAMB's background.

Usage::

    PYTHONPATH=src python benchmarks/joint_distance_priors.py [--n-models 4096]

Prints, for four cosmologies (Planck 2018 best fit with massless neutrinos, Ω_k = ±0.05, and
H0 = 73 / ω_b = 0.021 / ω_c = 0.11 / Ω_k = 0.02), z*, r_s(z*) and ℓ_A = π D_M/r_s from
:mod:`rediscovery.cosmo.joint` next to CAMB's ``zstar``, ``rstar`` and π/θ*, with relative
differences; then the time per model of :func:`distance_priors` on a batch (as in an MCMC
ensemble) against one ``camb.get_background`` + ``get_derived_params`` call.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rediscovery.cosmo.cosmology import cmb_distances
from rediscovery.cosmo.joint import distance_priors

POINTS = [(67.36, 0.02237, 0.1200, 0.0), (67.36, 0.02237, 0.1200, 0.05),
          (67.36, 0.02237, 0.1200, -0.05), (73.0, 0.0210, 0.1100, 0.02)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-models", type=int, default=4096)
    args = ap.parse_args()
    import camb

    print(f"{'H0':>6} {'ombh2':>8} {'omch2':>7} {'Ok':>6} | {'z* CAMB':>8} {'ours':>8} {'rel':>8}"
          f" | {'r_s CAMB':>8} {'ours':>8} {'rel':>8} | {'lA CAMB':>8} {'ours':>8} {'rel':>8}")
    t_camb = []
    for h0, ob, oc, ok in POINTS:
        t0 = time.perf_counter()
        pars = camb.set_params(H0=h0, ombh2=ob, omch2=oc, omk=ok, mnu=0.0,
                               num_massive_neutrinos=0, nnu=3.046, TCMB=2.7255)
        res = camb.get_background(pars)
        d = res.get_derived_params()
        t_camb.append(time.perf_counter() - t0)
        om = (ob + oc) / (h0 / 100) ** 2
        m = cmb_distances(h0, om, res.omega_de, ob)
        la_c = np.pi / (d["thetastar"] / 100)
        la = float(np.pi * m["D_M"] / m["r_s"])
        zs, rs = float(m["z_star"]), float(m["r_s"])
        print(f"{h0:6.2f} {ob:8.5f} {oc:7.4f} {ok:6.2f} | {d['zstar']:8.2f} {zs:8.2f} "
              f"{zs / d['zstar'] - 1:+8.2e} | {d['rstar']:8.3f} {rs:8.3f} "
              f"{rs / d['rstar'] - 1:+8.2e} | {la_c:8.3f} {la:8.3f} {la / la_c - 1:+8.2e}")
    rng = np.random.default_rng(0)
    p = rng.uniform([60, 0.2, 0.5, 0.020], [80, 0.4, 0.9, 0.024], (args.n_models, 4))
    distance_priors(p[:8, 0], p[:8, 1], p[:8, 2], p[:8, 3])
    t0 = time.perf_counter()
    distance_priors(p[:, 0], p[:, 1], p[:, 2], p[:, 3])
    t_ours = (time.perf_counter() - t0) / args.n_models
    t_c = float(np.median(t_camb))
    print(f"distance_priors: {t_ours * 1e6:.1f} µs/model ({1 / t_ours:.0f} models/s, batch of "
          f"{args.n_models}); CAMB background + derived: {t_c * 1e3:.1f} ms/model; "
          f"ratio {t_c / t_ours:.0f}x")


if __name__ == "__main__":
    main()
