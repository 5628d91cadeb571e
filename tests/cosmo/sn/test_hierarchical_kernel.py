"""The compiled sums of the hierarchical likelihood against numpy's linear algebra."""

from __future__ import annotations

import numpy as np

from rediscovery.cosmo.sn.hierarchical_kernel import hierarchical_sums


def _reference(cmeas, d, mu, alpha, beta, si2, rx2, rc2):
    """q, W, u by numpy.linalg per parameter set (the module notes' formulas, uncompiled)."""
    out_q, out_w, out_u = [], [], []
    for p in range(mu.shape[0]):
        amat = np.array([[1.0, -alpha[p], beta[p]], [0, 1, 0], [0, 0, 1]])
        s = cmeas + amat @ np.diag([si2[p], rx2[p], rc2[p]]) @ amat.T
        r = d.copy()
        r[:, 0] -= mu[p]
        s_inv = np.linalg.inv(s)
        sr = np.einsum("nij,nj->ni", s_inv, r)
        out_q.append(np.einsum("ni,ni->", r, sr) + np.linalg.slogdet(s)[1].sum())
        out_w.append(s_inv.sum(axis=0))
        out_u.append(sr.sum(axis=0))
    return np.array(out_q), np.array(out_w), np.array(out_u)


def _inputs(n_par=7, n_sn=40, seed=3):
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(n_sn, 3, 3)) * np.array([0.05, 0.3, 0.03])[:, None]
    cmeas = g @ g.transpose(0, 2, 1) + np.diag([1e-4, 1e-3, 1e-5])
    d = rng.normal([19.0, 0.0, 0.0], [1.0, 1.0, 0.1], size=(n_sn, 3))
    mu = rng.normal(19.0, 1.0, size=(n_par, n_sn))
    alpha, beta = rng.uniform(0.0, 0.3, n_par), rng.uniform(1.0, 4.0, n_par)
    si2, rx2, rc2 = (rng.uniform(lo, hi, n_par) ** 2 for lo, hi in
                     ((0.0, 0.3), (0.5, 1.5), (0.05, 0.15)))
    return cmeas, d, mu, alpha, beta, si2, rx2, rc2


def test_sums_equal_numpy_linear_algebra():
    args = _inputs()
    q, w, u, ok = hierarchical_sums(*args)
    assert ok.all()
    rq, rw, ru = _reference(*args)
    np.testing.assert_allclose(q, rq, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(w, rw, rtol=1e-11)
    np.testing.assert_allclose(u, ru, rtol=1e-11, atol=1e-9)
    assert np.array_equal(w, w.transpose(0, 2, 1))


def test_bad_rows_are_flagged_and_neutral():
    cmeas, d, mu, alpha, beta, si2, rx2, rc2 = _inputs(n_par=4)
    mu = mu.copy()
    mu[1, 5] = np.nan  # a cosmology without a distance
    rc2 = rc2.copy()
    rc2[2] = -1.0  # a population "variance" that makes S indefinite
    q, w, u, ok = hierarchical_sums(cmeas, d, mu, alpha, beta, si2, rx2, rc2)
    assert ok.tolist() == [True, False, False, True]
    for p in (1, 2):
        assert q[p] == 0 and np.array_equal(w[p], np.eye(3)) and not u[p].any()
    rq, _, _ = _reference(cmeas, d, mu[[0, 3]], alpha[[0, 3]], beta[[0, 3]], si2[[0, 3]],
                          rx2[[0, 3]], rc2[[0, 3]])
    np.testing.assert_allclose(q[[0, 3]], rq, rtol=1e-12)


def test_one_cosmology_broadcasts_over_parameter_sets():
    cmeas, d, mu, alpha, beta, si2, rx2, rc2 = _inputs()
    q, _, _, _ = hierarchical_sums(cmeas, d, mu[:1], alpha, beta, si2, rx2, rc2)
    rq, _, _ = _reference(cmeas, d, np.repeat(mu[:1], alpha.size, axis=0), alpha, beta, si2,
                          rx2, rc2)
    np.testing.assert_allclose(q, rq, rtol=1e-12)
