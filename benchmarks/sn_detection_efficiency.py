"""Detection efficiency vs injected S/N, false detections, residuals: ZOGY vs Alard–Lupton.

Run:  PYTHONPATH=src python benchmarks/sn_detection_efficiency.py [--size 512] [--images 6]
          [--snr 3 4 4.5 5 5.5 6 7 8 10] [--threshold 5] [--noise-images 30] [--seed 0]
          [--measured-psf] [--plot efficiency.png]

On synthetic (new, reference) pairs (the test suite's ``_synth`` module: Moffat PSFs, sky,
Poisson + read noise as Gaussian of the exact variance, a deep reference with 4× lower noise,
stars in both images), point sources are injected on a grid at random sub-pixel positions
with the flux whose optimal matched-filter S/N (``optimal_snr``: α √F_S of ZOGY, the best any
detector can reach on the pair) is each requested value. ``--measured-psf`` gives both
methods the PSFs measured on the image's stars (``measure_psf``) instead of the true ones.
The new image's seeing alternates between 3.5 and 4.5 px FWHM, the reference's is 3 px.
Both methods detect at ``threshold`` σ on their score (ZOGY: S_corr with source noise; AL:
P_n-matched filter of N − K ⊗ R normalised by its background noise) and a detection within
``--radius`` (3 px, about the new image's FWHM: near threshold the peak of a faint source is
displaced by noise by up to ~2.5 px) of an injection recovers it.

Printed: the efficiency per S/N with its binomial error, the S/N at 50 % (linear
interpolation), false detections per image on pure-noise images (no stars: ZOGY only, AL needs
stars to fit its kernel) and on the star fields (both methods), and residual RMS of the
difference in units of the expected background noise (whole image) and of the score in 2-FWHM
apertures around the stars.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

from rediscovery.cosmo.sn.detect import (
    alard_lupton,
    detect_sources,
    flux_for_snr,
    match_injections,
    measure_psf,
    real_bogus_features,
    real_bogus_score,
    zogy,
)


def load_synth():
    """The test suite's synthetic-image module (tests/cosmo/sn/detect/_synth.py)."""
    path = Path(__file__).resolve().parents[1] / "tests/cosmo/sn/detect/_synth.py"
    spec = importlib.util.spec_from_file_location("_sn_detect_synth", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _nearest(det, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance of each detection to the nearest of the points (x, y)."""
    return np.hypot(det.x.to_numpy()[:, None] - x[None], det.y.to_numpy()[:, None] - y[None]
                    ).min(axis=1)


def snr_at(eff: dict[float, float], level: float) -> float:
    s = np.array(sorted(eff))
    e = np.array([eff[k] for k in s])
    above = np.nonzero(e >= level)[0]
    if above.size == 0 or above[0] == 0:
        return float("nan")
    i = above[0]
    return float(s[i - 1] + (level - e[i - 1]) * (s[i] - s[i - 1]) / (e[i] - e[i - 1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--images", type=int, default=6, help="images per S/N value")
    ap.add_argument("--snr", type=float, nargs="+",
                    default=[3.0, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, 8.0, 10.0])
    ap.add_argument("--threshold", type=float, default=5.0)
    ap.add_argument("--noise-images", type=int, default=30)
    ap.add_argument("--radius", type=float, default=3.0,
                    help="matching radius (pixels) of a detection to an injection")
    ap.add_argument("--measured-psf", action="store_true",
                    help="measure both PSFs on the stars of each image instead of using the "
                    "true ones")
    ap.add_argument("--plot", default=None, help="write the efficiency curves to this PNG")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    synth = load_synth()
    rng = np.random.default_rng(a.seed)
    shape = (a.size, a.size)
    t0 = time.perf_counter()
    spacing = 48.0
    g = np.arange(32, a.size - 32, spacing)
    gx, gy = np.meshgrid(g, g)
    # stars between the injection sites (for Alard-Lupton's kernel fit, and to test that they
    # cancel); 2e4-2e5 counts: S/N 100-1000 in the new image
    sx = (gx[:-1, :-1] + spacing / 2).ravel()
    sy = (gy[:-1, :-1] + spacing / 2).ravel()
    eff = {"zogy": {}, "al": {}}
    false = {"zogy": 0, "al": 0}
    on_star = {"zogy": 0, "al": 0}
    false_real = 0
    n_img = 0
    rms = {"zogy_D": [], "al_diff": [], "zogy_Scorr_stars": [], "al_score_stars": []}
    print(f"{a.size}² images, threshold {a.threshold} σ, {gx.size} injections per image, "
          f"{sx.size} stars, {'measured' if a.measured_psf else 'true'} PSFs, seed {a.seed}")
    print(f"{'S/N':>5} {'n':>5} {'ZOGY eff':>14} {'AL eff':>14}")
    for snr in a.snr:
        hit = {"zogy": [], "al": []}
        for i in range(a.images):
            fwhm_new = (3.5, 4.5)[i % 2]
            x = gx.ravel() + rng.uniform(-0.5, 0.5, gx.size)
            y = gy.ravel() + rng.uniform(-0.5, 0.5, gy.size)
            f_star = np.exp(rng.uniform(np.log(2e4), np.log(2e5), sx.size))
            p0 = synth.make_pair(rng, (64, 64), fwhm_new=fwhm_new)
            flux = flux_for_snr(snr, p0.psf_new, p0.psf_ref, p0.sigma_new, p0.sigma_ref)
            p = synth.make_pair(rng, shape, fwhm_new=fwhm_new, stars=(sx, sy, f_star),
                                transients=(x, y, flux))
            if a.measured_psf:
                psf_n = measure_psf(p.new, sx, sy, size=31).psf
                psf_r = measure_psf(p.ref, sx, sy, size=31).psf
            else:
                psf_n, psf_r = p.psf_new, p.psf_ref
            z = zogy(p.new, p.ref, psf_n, psf_r, p.sigma_new, p.sigma_ref,
                     var_new=p.var_new, var_ref=p.var_ref)
            al = alard_lupton(p.new, p.ref, x=sx, y=sy, psf_new=psf_n,
                              sigma_new=p.sigma_new, sigma_ref=p.sigma_ref)
            for name, score in (("zogy", z.S_corr), ("al", al.score)):
                det = detect_sources(score, a.threshold, border=16)
                m = match_injections(det, x, y, radius=a.radius)
                hit[name].append(m >= 0)
                if len(det):
                    far = _nearest(det, x, y) > a.radius
                    false[name] += int(np.sum(far))
                    on_star[name] += int(np.sum(far & (_nearest(det, sx, sy) <= a.radius)))
                    if name == "zogy" and far.any():
                        f = real_bogus_features(z.D, z.P_D, z.cr_kernel, det.x[far], det.y[far])
                        false_real += int(np.sum(real_bogus_score(f) >= 0.5))
            n_img += 1
            # residuals: whole image (sources included) and the score around stars
            rms["zogy_D"].append(z.D.std())
            k = al.kernel
            rms["al_diff"].append(al.diff.std() / np.sqrt(p.sigma_new**2
                                                          + p.sigma_ref**2 * np.sum(k**2)))
            yy, xx = np.indices((17, 17)) - 8
            ap = np.hypot(xx, yy) <= 2 * fwhm_new
            iy = np.round(sy).astype(int)[:, None, None] + yy[None]
            ix = np.round(sx).astype(int)[:, None, None] + xx[None]
            rms["zogy_Scorr_stars"].append(np.sqrt(np.mean(z.S_corr[iy, ix][:, ap] ** 2)))
            rms["al_score_stars"].append(np.sqrt(np.mean(al.score[iy, ix][:, ap] ** 2)))
        n = sum(h.size for h in hit["zogy"])
        for name in eff:
            eff[name][snr] = float(np.mean(np.concatenate(hit[name])))
        ez, ea = eff["zogy"][snr], eff["al"][snr]
        print(f"{snr:>5.1f} {n:>5d} {ez:>7.3f} ± {np.sqrt(ez * (1 - ez) / n):.3f} "
              f"{ea:>7.3f} ± {np.sqrt(ea * (1 - ea) / n):.3f}")
    for name, label in (("zogy", "ZOGY"), ("al", "AL")):
        print(f"{label}: 50 % at S/N {snr_at(eff[name], 0.5):.2f}, 95 % at S/N "
              f"{snr_at(eff[name], 0.95):.2f}")
    print(f"false detections on the star fields (farther than {a.radius:g} px from any "
          f"injection): ZOGY {false['zogy'] / n_img:.3f}, AL {false['al'] / n_img:.3f} per "
          f"image ({n_img} images); of which on a star (within {a.radius:g} px): ZOGY "
          f"{on_star['zogy']}, AL {on_star['al']}; ZOGY's with real_bogus_score >= 0.5: "
          f"{false_real}")
    n_false = 0
    for _ in range(a.noise_images):
        p = synth.make_pair(rng, shape, fwhm_new=4.0)
        z = zogy(p.new, p.ref, p.psf_new, p.psf_ref, p.sigma_new, p.sigma_ref)
        n_false += len(detect_sources(z.S_corr, a.threshold))
    rate = n_false / max(a.noise_images, 1)
    print(f"false detections from noise alone (ZOGY, {a.noise_images} images of {a.size}²): "
          f"{n_false} → {rate:.3f} ± {np.sqrt(max(n_false, 1)) / max(a.noise_images, 1):.3f} "
          "per image")
    print(f"residual RMS / expected background noise, whole image with sources: ZOGY D "
          f"{np.mean(rms['zogy_D']):.3f}, AL {np.mean(rms['al_diff']):.3f}")
    print(f"score RMS in 2-FWHM apertures on the stars (expected 1): ZOGY S_corr "
          f"{np.mean(rms['zogy_Scorr_stars']):.3f}, AL score "
          f"{np.mean(rms['al_score_stars']):.3f}")
    if a.plot:
        from rediscovery.cosmo.sn.detect.plots import plot_efficiency

        snrs = sorted(eff["zogy"])
        ax = plot_efficiency(snrs, {"ZOGY": [eff["zogy"][s] for s in snrs],
                                    "Alard-Lupton": [eff["al"][s] for s in snrs]},
                             n_injected=a.images * gx.size, threshold=a.threshold)
        ax.figure.savefig(a.plot, dpi=120, bbox_inches="tight")
        print(f"wrote {a.plot}")
    print(f"wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
