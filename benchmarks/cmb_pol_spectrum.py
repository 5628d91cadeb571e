"""TE and EE band powers of a polarised simulation against its hidden truth (unblinding).

Usage::

    PYTHONPATH=src python benchmarks/cmb_pol_spectrum.py --truth work/pol/truth \\
        --spectrum work/pol_spectrum

Reads ``truth.json`` (C_ℓ^TT, EE, TE of the realisation's cosmology, written by
``cmb-simulate --polarised``) and the output folder of ``cmb-spectrum`` on the I, Q, U maps
(``spectrum_te.csv``, ``spectrum_ee.csv``, ``spectrum.json``, ``window.fits``); rebuilds the
band-power windows of the same window and bands, and prints, for TE and EE, χ² = Σ_b
((D_b − ⟨D_b⟩_truth)/σ_b)² over the bands with the written (Knox) errors, the pulls, and the
same χ² against the fiducial (CAMB at the Planck 2018 best fit) that ``cmb-spectrum`` used.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import healpy as hp
import numpy as np

from rediscovery.cosmo.cmb.spectra import prepare_pol
from rediscovery.cosmo.cmb.spectra.window import Window


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", type=Path, required=True, help="cmb-simulate's truth/ folder")
    ap.add_argument("--spectrum", type=Path, required=True, help="cmb-spectrum's output")
    args = ap.parse_args()
    truth = json.loads((args.truth / "truth.json").read_text())
    if not truth.get("polarised"):
        raise SystemExit(f"{args.truth}/truth.json: not a polarised simulation")
    info = json.loads((args.spectrum / "spectrum.json").read_text())
    window = Window(hp.read_map(str(args.spectrum / "window.fits")), info["apod_deg"],
                    info["apod_type"])
    setup = prepare_pol(window, lmax=info["lmax"], delta_ell=info["delta_ell"],
                        fwhm_arcmin=info["fwhm_arcmin"], pixwin=info["pixwin"])
    ell = np.arange(len(truth["cl_tt_uK2"]))
    dfac = ell * (ell + 1) / (2 * np.pi)
    pad = max(0, setup.bbl["spin0xspin0"].shape[1] + 2 - len(ell))
    theory = {k: np.r_[dfac * np.asarray(truth[f"cl_{c}_uK2"]), np.zeros(pad)]
              for k, c in (("TT", "tt"), ("EE", "ee"), ("TE", "te"), ("ET", "te"))}
    expected = setup.expected(theory)
    for kind in ("te", "ee"):
        s = np.loadtxt(args.spectrum / f"spectrum_{kind}.csv", delimiter=",", skiprows=1)
        exp = 0.5 * (expected["TE"] + expected["ET"]) if kind == "te" else expected["EE"]
        pull = (s[:, 3] - exp) / s[:, 4]
        fid = np.asarray(info["polarisation"][kind]["expected"])
        chi2_fid = float((((s[:, 3] - fid) / s[:, 4]) ** 2).sum())
        print(f"{kind.upper()}: {len(pull)} bands, chi2 against the truth {np.sum(pull**2):.1f}, "
              f"against the fiducial {chi2_fid:.1f}; pulls {np.round(pull, 1).tolist()}")


if __name__ == "__main__":
    main()
