"""The analysis window: an apodised binary mask built from the hit map (and an optional user
mask), and the effective sky fractions of a window.

The apodisation is pspy's (Simons Observatory power-spectrum code, ``so_window``): the
distance d of every observed pixel to the nearest unobserved one (pixell's HEALPix distance
transform) turned into a taper over ``apod_deg``,

* ``C1``: w = ½ − ½ cos(π d / d_apo) for d < d_apo, 1 beyond;
* ``C2``: w = d/d_apo − sin(2π d/d_apo)/(2π) for d < d_apo, 1 beyond

(Grain et al. 2009, arXiv:0903.2350, eqs. 31-32). A window with no unobserved pixel (full
sky) is returned unchanged.

Effective sky fractions (Hivon et al. 2002, ApJ 567, 2, eq. 17): with w_i = ⟨w^i⟩ over the
whole sphere, f_sky,eff = w₂²/w₄ is the fraction that sets the sample variance of a
pseudo-C_ℓ estimate (the Knox formula), and w₂ the mean power of the windowed sky.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rediscovery.core.errors import ConfigError, InputError

__all__ = ["APODISATIONS", "Window", "apodised_window", "window_from_hits"]

#: Apodisation kernels of pspy's ``so_window.create_apodization`` accepted here.
APODISATIONS = ("C1", "C2")


@dataclass(frozen=True)
class Window:
    """A HEALPix window (RING, values in [0, 1]) with its moments.

    Attributes
    ----------
    weights
        The window w_p, shape (12 nside²,).
    apod_deg, apod_type
        How it was apodised (0 for none).
    """

    weights: np.ndarray
    apod_deg: float = 0.0
    apod_type: str = "C1"
    # moments computed once per window (the spectrum stage asks for them several times)
    _moments: dict[int, float] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def nside(self) -> int:
        import healpy as hp

        return int(hp.npix2nside(len(self.weights)))

    def moment(self, i: int) -> float:
        """w_i = ⟨w^i⟩ over the whole sphere (computed once per ``i``)."""
        if i not in self._moments:
            self._moments[i] = float(np.mean(self.weights**i))
        return self._moments[i]

    @property
    def fsky(self) -> float:
        """Fraction of the sphere where w > 0."""
        return float(np.mean(self.weights > 0))

    @property
    def fsky_eff(self) -> float:
        """f_sky,eff = w₂²/w₄ (Hivon et al. 2002, eq. 17): sets the Knox sample variance."""
        return self.moment(2) ** 2 / self.moment(4)


def apodised_window(binary: np.ndarray, apod_deg: float, apod_type: str = "C1") -> Window:
    """Apodise a binary mask (1 observed, 0 masked; RING) with pspy's ``create_apodization``.

    Parameters
    ----------
    binary
        Mask, shape (12 nside²,), values 0 or 1.
    apod_deg
        Apodisation scale in degrees (0: the binary mask itself).
    apod_type
        ``"C1"`` or ``"C2"`` (see the module docstring).
    """
    from pspy import so_map, so_window

    binary = np.asarray(binary, dtype=float)
    if apod_type not in APODISATIONS:
        raise ConfigError(f"apodisation {apod_type!r}: expected one of {', '.join(APODISATIONS)}")
    if not np.isfinite(apod_deg) or apod_deg < 0:
        raise ConfigError(f"--apod-deg {apod_deg}: expected a finite angle >= 0 in degrees")
    if not np.isin(binary, (0.0, 1.0)).all():
        raise InputError("the binary mask has values other than 0 and 1")
    if not binary.any():
        raise InputError("the mask leaves no observed pixel")
    if apod_deg == 0 or binary.all():
        return Window(binary.copy(), 0.0 if binary.all() else float(apod_deg), apod_type)
    nside = int(np.sqrt(len(binary) / 12))
    template = so_map.healpix_template(ncomp=1, nside=nside)
    template.data[:] = binary
    win = so_window.create_apodization(template, apod_type, float(apod_deg))
    weights = np.clip(np.asarray(win.data, dtype=float), 0.0, 1.0) * binary
    if not weights.any():
        raise ConfigError(
            f"--apod-deg {apod_deg}: the apodisation erases the whole observed "
            "region (narrower than the taper); use a smaller --apod-deg"
        )
    return Window(weights, float(apod_deg), apod_type)


def window_from_hits(
    hits: np.ndarray | list[np.ndarray],
    apod_deg: float,
    *,
    mask: np.ndarray | None = None,
    apod_type: str = "C1",
) -> Window:
    """The window of one or several hit maps: pixels observed in all of them (and inside
    ``mask`` > 0, if given), apodised over ``apod_deg`` degrees."""
    hit_list = [np.asarray(h) for h in (hits if isinstance(hits, list) else [hits])]
    binary = np.ones(len(hit_list[0]), dtype=bool)
    for h in hit_list:
        binary &= h > 0
    if mask is not None:
        binary &= np.asarray(mask) > 0
    return apodised_window(binary.astype(float), apod_deg, apod_type)
