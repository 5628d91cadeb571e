"""Detection efficiency against the injected sources' optimal S/N (the smaller version of
``benchmarks/sn_detection_efficiency.py``): ~150 injections per S/N on 256² pairs.

Expectation for an ideal matched filter at a 5 σ threshold: efficiency Φ(S/N − 5), i.e.
0.16, 0.84 and 1.00 at S/N 4, 6, 10 (a peak read at the nearest pixel loses a few per cent of
S/N; the maximum over a few correlated pixels gains a little). Bounds: ≥ 3 binomial σ
(σ ≤ 0.04 for 150 injections) around that. A detection within 3 px (about the FWHM) of an
injection recovers it: near threshold noise moves a faint source's peak by up to ~2.5 px.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from rediscovery.cosmo.sn.detect import detect_sources, flux_for_snr, match_injections, zogy

SHAPE = (256, 256)


@pytest.fixture(scope="module")
def efficiency(synth):
    rng = np.random.default_rng(20)
    g = np.arange(28, 256 - 28, 40.0)
    gx, gy = np.meshgrid(g, g)
    found, false = {}, 0
    for snr in (4.0, 6.0, 10.0):
        hits = []
        for i in range(6):
            x = gx.ravel() + rng.uniform(-0.5, 0.5, gx.size)
            y = gy.ravel() + rng.uniform(-0.5, 0.5, gy.size)
            fwhm_new = (3.5, 4.5)[i % 2]
            p0 = synth.make_pair(rng, SHAPE, fwhm_new=fwhm_new)
            flux = flux_for_snr(snr, p0.psf_new, p0.psf_ref, p0.sigma_new, p0.sigma_ref)
            p = synth.make_pair(rng, SHAPE, fwhm_new=fwhm_new, transients=(x, y, flux))
            z = zogy(p.new, p.ref, p.psf_new, p.psf_ref, p.sigma_new, p.sigma_ref,
                     var_new=p.var_new, var_ref=p.var_ref)
            det = detect_sources(z.S_corr, 5.0)
            hits.append(match_injections(det, x, y, radius=3.0) >= 0)
            if len(det):  # detections farther than 3 px from every injection
                d = np.hypot(det.x.to_numpy()[:, None] - x, det.y.to_numpy()[:, None] - y)
                false += int(np.sum(d.min(axis=1) > 3.0))
        found[snr] = np.concatenate(hits)
    return found, false


def test_efficiency_follows_the_matched_filter(efficiency):
    found, _ = efficiency
    eff = {s: f.mean() for s, f in found.items()}
    n = found[4.0].size
    assert n == 150
    ideal = {s: norm.cdf(s - 5.0) for s in found}
    err = {s: np.sqrt(max(ideal[s] * (1 - ideal[s]), 0.05**2) / n) for s in found}
    assert eff[4.0] == pytest.approx(ideal[4.0], abs=3 * err[4.0] + 0.05)
    assert eff[6.0] == pytest.approx(ideal[6.0], abs=3 * err[6.0] + 0.05)
    assert eff[10.0] >= 0.98


def test_false_detections_are_rare(efficiency):
    # 18 images of 256² at 5 σ: the expected count is ~0.1 (Gaussian random field peaks)
    _, false = efficiency
    assert false <= 2
