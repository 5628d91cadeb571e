"""Throughput of rediscovery.cosmo.cosmology distances vs astropy.cosmology (1,000 redshifts).

Run:  PYTHONPATH=src python benchmarks/distances.py
Prints calls per second for the distance modulus at 1,000 redshifts in 0 < z < 2 for a flat,
an open and a closed ΛCDM model and a flat wCDM model (astropy with Tcmb0=0, the same physics),
the speed ratio, and the largest relative difference (a correctness check beside the timing).
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

from rediscovery.cosmo.cosmology import DistanceGrid, distance_modulus


def _rate(fn, min_time=1.0):
    fn()
    n, t0 = 0, time.process_time()
    while (dt := time.process_time() - t0) < min_time:
        fn()
        n += 1
    return n / dt


def main() -> None:
    z = np.sort(np.random.default_rng(0).uniform(0.01, 2.0, 1000))
    cases = [
        ("flat LCDM", ac.FlatLambdaCDM(H0=70, Om0=0.3, Tcmb0=0), (0.3, 0.7, -1.0)),
        ("open LCDM", ac.LambdaCDM(H0=70, Om0=0.3, Ode0=0.5, Tcmb0=0), (0.3, 0.5, -1.0)),
        ("closed LCDM", ac.LambdaCDM(H0=70, Om0=0.4, Ode0=0.9, Tcmb0=0), (0.4, 0.9, -1.0)),
        ("flat wCDM", ac.FlatwCDM(H0=70, Om0=0.3, w0=-0.9, Tcmb0=0), (0.3, 0.7, -0.9)),
    ]
    print("calls/s for mu(z) at 1,000 redshifts; 'grid' = with a prebuilt DistanceGrid (the MCMC "
          "case, fixed redshifts)")
    print(f"{'model':<12} {'ours':>15} {'ours (grid)':>14} {'astropy':>18} {'ratio':>7} "
          f"{'ratio':>7} {'max rel diff':>13}")
    for name, cosmo, (om, ol, w) in cases:
        ours = _rate(lambda om=om, ol=ol, w=w: distance_modulus(z, 70.0, om, ol, w))
        grid = DistanceGrid(z)
        pre = _rate(lambda om=om, ol=ol, w=w, g=grid: g.distance_modulus(70.0, om, ol, w))
        ref = _rate(lambda c=cosmo: c.distmod(z))
        dl_ref = cosmo.luminosity_distance(z).to_value("Mpc")
        dl = 10 ** ((distance_modulus(z, 70.0, om, ol, w) - 25) / 5)
        diff = np.max(np.abs(dl / dl_ref - 1))
        print(f"{name:<12} {ours:>15.0f} {pre:>14.0f} {ref:>18.1f} {ours / ref:>7.1f} "
              f"{pre / ref:>7.1f} {diff:>13.2e}")
    g = DistanceGrid(z)
    om = np.full(32, 0.3)
    ol = np.linspace(0.5, 0.9, 32)
    rate = _rate(lambda: g.distance_modulus(70.0, om, ol))
    models = [ac.LambdaCDM(H0=70, Om0=0.3, Ode0=v, Tcmb0=0) for v in ol]
    ref = _rate(lambda: [m.distmod(z) for m in models])
    print(f"ensemble of 32 curved models x 1,000 z (one MCMC step): ours {rate:.0f} calls/s, "
          f"astropy {ref:.1f} calls/s, ratio {rate / ref:.1f}")


if __name__ == "__main__":
    main()
