"""Throughput of rediscovery.cosmo.cosmology distances vs astropy.cosmology (1,000 redshifts).

Run:  PYTHONPATH=src python benchmarks/distances.py
Prints calls per second for the luminosity distance and the distance modulus at 1,000
redshifts in 0 < z < 2.5 for a flat, an open and a closed ΛCDM model and a flat wCDM model
(astropy with Tcmb0=0, the same physics), the speed ratios, and the largest relative difference
of D_L (a correctness check beside the timing). ΛCDM models take the compiled kernel
(``rediscovery.cosmo.distance_kernel``); wCDM the general numpy path.
It also times one vectorised call for a 32-walker ensemble, the case an MCMC step sees.
Rates are in CPU time of this process (``time.process_time``): on a shared machine the wall
clock mostly measures the other jobs.

Reference: astropy.cosmology evaluates ΛCDM without radiation by closed forms (Carlson's
elliptic integral R_F for curved models, a hypergeometric function for flat ones), and wCDM
by one ``scipy.integrate.quad`` per redshift.
"""

from __future__ import annotations

import time

import numpy as np
from astropy import cosmology as ac

from rediscovery.cosmo.cosmology import DistanceGrid, distance_modulus, luminosity_distance


def cpu_rate(fn, min_time=1.0):
    fn()
    n, t0 = 0, time.process_time()
    while (dt := time.process_time() - t0) < min_time:
        fn()
        n += 1
    return n / dt


def main() -> None:
    z = np.sort(np.random.default_rng(0).uniform(0.01, 2.5, 1000))
    cases = [
        ("flat LCDM", ac.FlatLambdaCDM(H0=70, Om0=0.3, Tcmb0=0), (0.3, 0.7, -1.0)),
        ("open LCDM", ac.LambdaCDM(H0=70, Om0=0.3, Ode0=0.5, Tcmb0=0), (0.3, 0.5, -1.0)),
        ("closed LCDM", ac.LambdaCDM(H0=70, Om0=0.4, Ode0=0.9, Tcmb0=0), (0.4, 0.9, -1.0)),
        ("flat wCDM", ac.FlatwCDM(H0=70, Om0=0.3, w0=-0.9, Tcmb0=0), (0.3, 0.7, -0.9)),
    ]
    print("calls/s at 1,000 redshifts in (0.01, 2.5); CPU time; 'grid' = mu with a prebuilt "
          "DistanceGrid (fixed redshifts)")
    print(f"{'model':<12} {'D_L ours':>9} {'astropy':>8} {'ratio':>6} | {'mu ours':>8} "
          f"{'grid':>7} {'astropy':>8} {'ratio':>6} {'grid':>6} | {'max rel diff D_L':>16}")
    for name, cosmo, (om, ol, w) in cases:
        dl_ours = cpu_rate(lambda om=om, ol=ol, w=w: luminosity_distance(z, 70.0, om, ol, w))
        dl_ref = cpu_rate(lambda c=cosmo: c.luminosity_distance(z))
        ours = cpu_rate(lambda om=om, ol=ol, w=w: distance_modulus(z, 70.0, om, ol, w))
        grid = DistanceGrid(z)
        pre = cpu_rate(lambda om=om, ol=ol, w=w, g=grid: g.distance_modulus(70.0, om, ol, w))
        ref = cpu_rate(lambda c=cosmo: c.distmod(z))
        diff = np.max(np.abs(luminosity_distance(z, 70.0, om, ol, w)
                             / cosmo.luminosity_distance(z).to_value("Mpc") - 1))
        print(f"{name:<12} {dl_ours:>9.0f} {dl_ref:>8.0f} {dl_ours / dl_ref:>6.1f} | "
              f"{ours:>8.0f} {pre:>7.0f} {ref:>8.0f} {ours / ref:>6.1f} {pre / ref:>6.1f} | "
              f"{diff:>16.2e}")
    g = DistanceGrid(z)
    om = np.full(32, 0.3)
    ol = np.linspace(0.5, 0.9, 32)
    rate = cpu_rate(lambda: g.distance_modulus(70.0, om, ol))
    models = [ac.LambdaCDM(H0=70, Om0=0.3, Ode0=v, Tcmb0=0) for v in ol]
    ref = cpu_rate(lambda: [m.distmod(z) for m in models])
    print(f"ensemble of 32 curved models x 1,000 z (one MCMC step): ours {rate:.0f} calls/s, "
          f"astropy {ref:.1f} calls/s, ratio {rate / ref:.1f}")


if __name__ == "__main__":
    main()
