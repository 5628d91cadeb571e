"""Throughput of the hierarchical SALT2 likelihood (one MCMC step of 32 walkers, 100 SNe).

Run:  PYTHONPATH=src python benchmarks/sn_hierarchical.py [--n-sne 100] [--walkers 32]
Prints, in CPU time of this process (``time.process_time``; on a shared machine the wall clock
mostly measures the other jobs):

* the compiled likelihood sums (``rediscovery.cosmo.sn.hierarchical_kernel``) against the same
  sums by numpy's batched linear algebra (``numpy.linalg.inv`` and ``slogdet`` over the
  (walkers × SNe × 3 × 3) covariances: the plain-library baseline), their ratio and largest
  difference;
* a whole −2 ln L call (distances by the ΛCDM kernel included) and the steps per second an
  ensemble sampler can take with it.
"""

from __future__ import annotations

import argparse

import numpy as np

from distances import cpu_rate  # the sibling benchmark's CPU-time rate (run from benchmarks/)
from rediscovery.cosmo.sn.hierarchical import HierarchicalLikelihood
from rediscovery.cosmo.sn.hierarchical_kernel import hierarchical_sums
from rediscovery.cosmo.sn.hubble import model_params
from rediscovery.cosmo.sn.simulate import draw_truth, simulate_salt2_table


def _numpy_sums(cmeas, d, mu, alpha, beta, si2, rx2, rc2):
    """The baseline: the same (q, W, u) with numpy.linalg on the stacked 3×3 covariances."""
    p = alpha.size
    pop = np.zeros((p, 3, 3))
    pop[:, 0, 0] = si2 + alpha**2 * rx2 + beta**2 * rc2
    pop[:, 0, 1] = pop[:, 1, 0] = -alpha * rx2
    pop[:, 0, 2] = pop[:, 2, 0] = beta * rc2
    pop[:, 1, 1], pop[:, 2, 2] = rx2, rc2
    s = cmeas[None] + pop[:, None]
    s_inv = np.linalg.inv(s)
    r = np.broadcast_to(d, (p, *d.shape)).copy()
    r[:, :, 0] -= mu
    sr = np.einsum("pnij,pnj->pni", s_inv, r)
    q = np.einsum("pni,pni->p", r, sr) + np.linalg.slogdet(s)[1].sum(axis=1)
    return q, s_inv.sum(axis=1), sr.sum(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sne", type=int, default=100)
    ap.add_argument("--walkers", type=int, default=32)
    a = ap.parse_args()
    truth = draw_truth(5, flat=False)
    fits, _ = simulate_salt2_table(a.n_sne, truth, seed=5)
    fits = fits[fits["quality"]].reset_index(drop=True)
    like = HierarchicalLikelihood(fits)
    rng = np.random.default_rng(0)
    p = a.walkers
    om, ol, w = model_params("lcdm", np.column_stack([rng.uniform(0.2, 0.4, p),
                                                       rng.uniform(0.6, 0.8, p)]))
    alpha, beta = rng.uniform(0.12, 0.16, p), rng.uniform(2.8, 3.2, p)
    sig = rng.uniform(0.08, 0.12, p), rng.uniform(0.9, 1.1, p), rng.uniform(0.08, 0.12, p)
    si2, rx2, rc2 = (s**2 for s in sig)
    mu = like.mu70(om, ol, w)
    args = (like.cmeas, like.d, mu, alpha, beta, si2, rx2, rc2)
    ours = hierarchical_sums(*args)
    ref = _numpy_sums(*args)
    diff = max(float(np.max(np.abs(x - y) / np.maximum(np.abs(y), 1.0)))
               for x, y in zip(ours[:3], ref, strict=True))
    r_ours = cpu_rate(lambda: hierarchical_sums(*args))
    r_ref = cpu_rate(lambda: _numpy_sums(*args))
    r_full = cpu_rate(lambda: like.minus2_log_like(om, ol, w, alpha, beta, *sig))
    print(f"{like.n} SNe, {p} walkers per call (CPU time)")
    print(f"likelihood sums, compiled       {r_ours:10.0f} calls/s")
    print(f"likelihood sums, numpy.linalg   {r_ref:10.0f} calls/s   ratio {r_ours / r_ref:.1f}x"
          f"   largest relative difference {diff:.1e}")
    print(f"whole -2 ln L (distances too)   {r_full:10.0f} calls/s   "
          f"= {r_full:.0f} ensemble steps/s, {1e3 / r_full:.3f} ms per step")


if __name__ == "__main__":
    main()
