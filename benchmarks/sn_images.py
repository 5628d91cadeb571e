"""Accuracy and speed of the SN survey image simulator (``rediscovery cosmo sn-images``).

Run:  PYTHONPATH=src python benchmarks/sn_images.py [--seeds 3] [--epochs 8] [--default-run]

Accuracy: in surveys of one 256×256 field in griz holding only a grid of 16 isolated stars
(r = 17.5–19.5), every star of every exposure is fitted with a pixel-integrated Moffat
(:func:`rediscovery.cosmo.sn.images.measure.fit_moffat`) and prints

* the offset between the fitted centre and the WCS position of the catalogue ra/dec (pixels);
* the pull of the sky-subtracted counts in a 25-pixel aperture against 10^(0.4 (ZP − m)),
  with the Poisson + read-noise error (expected mean 0, width 1);
* the fitted FWHM over SEEING / pixel scale;
* the standard deviation of empty exposures over sqrt(SKYLEVEL·GAIN + RDNOISE²)/GAIN.

``--default-run`` also times the default survey (4 fields, griz, 16 epochs, 512²) written to
a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import pandas as pd

from rediscovery.cosmo.sn.images import ImageSurvey, draw_scene, field_wcs, render_images
from rediscovery.cosmo.sn.images.io import write_survey
from rediscovery.cosmo.sn.images.measure import fit_moffat, star_stamp
from rediscovery.cosmo.sn.simulate import draw_truth

SIZE = 256


def _grid_scene(seed: int, epochs: int, empty: bool = False):
    cfg = ImageSurvey(n_fields=1, bands="griz", n_epochs=epochs, size=SIZE, star_density=0.0,
                      galaxy_density=0.0, sne_per_field=0, transients_per_field=0,
                      cosmic_rays=0.0, hot_pixels=0)
    scene = draw_scene(cfg, draw_truth(seed), seed=seed)
    if empty:
        return scene
    rng = np.random.default_rng(seed)
    g = np.arange(4) * 60 + 38.0
    x, y = (a.ravel() + rng.uniform(-0.5, 0.5, 16) for a in np.meshgrid(g, g))
    f = scene.fields.iloc[0]
    ra, dec = field_wcs(f.ra, f.dec, SIZE, cfg.pixel_scale).wcs_pix2world(x, y, 0)
    r = rng.uniform(17.5, 19.5, 16)
    gr = rng.uniform(0.3, 1.0, 16)
    scene.stars = pd.DataFrame({"star_id": [f"s{k}" for k in range(16)], "field": f.field,
                                "ra": ra, "dec": dec, "mag_g": r + gr, "mag_r": r,
                                "mag_i": r - 0.45 * gr, "mag_z": r - 0.7 * gr,
                                "variable": False, "period": np.nan, "amplitude": np.nan,
                                "phase": np.nan})
    return scene


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--default-run", action="store_true")
    a = ap.parse_args()
    yy, xx = np.mgrid[:SIZE, :SIZE]
    off, pulls, ratio, noise = [], [], [], []
    for seed in range(a.seeds):
        scene = _grid_scene(seed, a.epochs)
        for im in render_images(scene):
            h = {k: v[0] for k, v in im.header.items()}
            xs, ys = im.wcs.wcs_world2pix(scene.stars["ra"], scene.stars["dec"], 0)
            for x, y, m in zip(xs, ys, scene.stars[f"mag_{h['FILTER']}"], strict=True):
                stamp, x0, y0 = star_stamp(im.data, x, y)
                fit = fit_moffat(stamp, h["SKYLEVEL"])
                off.append((fit["x"] + x0 - x, fit["y"] + y0 - y))
                ratio.append(fit["fwhm"] * 0.26 / h["SEEING"])
                ap_ = np.hypot(xx - x, yy - y) < 25
                exp = 10 ** (0.4 * (h["ZP"] - m))
                var = (exp * h["GAIN"] + ap_.sum() * (h["SKYLEVEL"] * h["GAIN"]
                                                      + h["RDNOISE"] ** 2)) / h["GAIN"] ** 2
                pulls.append(((im.data[ap_] - h["SKYLEVEL"]).sum() - exp) / np.sqrt(var))
        for im in render_images(_grid_scene(seed, a.epochs, empty=True)):
            h = {k: v[0] for k, v in im.header.items()}
            noise.append(im.data.std() * h["GAIN"] / np.sqrt(h["SKYLEVEL"] * h["GAIN"]
                                                             + h["RDNOISE"] ** 2))
    off, pulls, ratio, noise = map(np.asarray, (off, pulls, ratio, noise))
    dist = np.hypot(*off.T)
    print(f"{a.seeds} seeds x 4 bands x ({a.epochs} epochs + reference) x 16 stars = "
          f"{len(pulls)} star measurements")
    print(f"centre - WCS position: mean dx {off[:, 0].mean():+.4f}, dy {off[:, 1].mean():+.4f}"
          f" px; rms {np.sqrt((dist**2).mean()):.4f} px, max {dist.max():.4f} px")
    print(f"aperture counts vs 10^(0.4(ZP-m)): pull mean {pulls.mean():+.3f} ± "
          f"{pulls.std() / np.sqrt(len(pulls)):.3f}, width {pulls.std():.3f}")
    print(f"fitted FWHM / SEEING: median {np.median(ratio):.4f}, 1-99% "
          f"[{np.percentile(ratio, 1):.4f}, {np.percentile(ratio, 99):.4f}]")
    print(f"empty-exposure std / expected: mean {noise.mean():.4f}, min {noise.min():.4f}, "
          f"max {noise.max():.4f} ({len(noise)} images of {SIZE}²)")
    if a.default_run:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            cfg = ImageSurvey()
            scene = draw_scene(cfg, draw_truth(1), seed=1)
            summary = write_survey(os.path.join(tmp, "s"), scene, progress=False)
            dt = time.perf_counter() - t0
        print(f"default survey: {summary['n_images']} images of {cfg.size}² in {dt:.1f} s "
              f"({dt / summary['n_images'] * 1000:.0f} ms per image), "
              f"{cfg.disk_bytes() / 1e6:.0f} MB; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
