r"""Vectorised Friedmann-Lemaître-Robertson-Walker distances for (w)CDM with curvature.

The expansion rate, with :math:`a = 1/(1+z)`,

.. math::

    E(z)^2 = \frac{H(z)^2}{H_0^2} = \Omega_r (1+z)^4 + \Omega_m (1+z)^3 + \Omega_k (1+z)^2
             + \Omega_\Lambda (1+z)^{3(1+w)}, \qquad
    \Omega_k = 1 - \Omega_m - \Omega_\Lambda - \Omega_r,

the line-of-sight comoving distance :math:`D_C = D_H \int_0^z dz'/E(z')` with the Hubble
distance :math:`D_H = c/H_0`, the transverse comoving distance (Hogg 1999, astro-ph/9905116,
eq. 16)

.. math::

    D_M = \begin{cases}
      D_H \sinh(\sqrt{\Omega_k} D_C/D_H)/\sqrt{\Omega_k} & \Omega_k > 0 \text{ (open)}\\
      D_C & \Omega_k = 0\\
      D_H \sin(\sqrt{-\Omega_k} D_C/D_H)/\sqrt{-\Omega_k} & \Omega_k < 0 \text{ (closed)}
    \end{cases}

the luminosity distance :math:`D_L = (1+z) D_M` and the distance modulus
:math:`\mu = 5\log_{10}(D_L/\mathrm{Mpc}) + 25`.

Why not astropy.cosmology: it is the reference these functions are tested against (to 1e-6),
but it carries units, builds one model object per parameter set, and integrates numerically
(one scipy ``quad`` per redshift) whenever no closed form applies (wCDM, or radiation); ΛCDM
without radiation it evaluates in closed form (elliptic and hypergeometric functions). Here
the integral is done once for all redshifts: ~130 knots (geometric below z = 0.1, every 0.02
above) cut [0, z_max] into intervals, each integrated with 4-point Gauss-Legendre; a
cumulative sum gives D_C at the knots and a cubic Hermite interpolation (with the exact
derivative D_H/E) gives it at every redshift. The knots and the powers of (1+z) there are
cached per z_max; for fixed redshifts (an MCMC) :class:`DistanceGrid` also precomputes the
interpolation. The cosmological parameters broadcast, so one call evaluates all walkers of an
ensemble. Speed against astropy: ``benchmarks/distances.py`` (docs/cosmo-supernovae.md).

ΛCDM without radiation (w = −1) at z ≤ 2.5, one model or an ensemble of them, takes a
compiled kernel (:mod:`rediscovery.cosmo.distance_kernel`: Gauss-Legendre D_C on 64 knots
uniform in √z, the curvature branch there, cubic Hermite interpolation of D_L/z with its exact
derivative), which costs a few microseconds per model. It serves models with E(z)² ≥ 0.02 on
[0, z_max] and, for closed ones, before the antipode's half-way point (sine argument ≤ π/2);
tested against astropy and the general path over the whole prior box of the SN fits (largest
difference below 1e-7). Other models take the general path.

Radiation is ignored by default (``omega_r=0``), as in astropy with ``Tcmb0=0``: at z < 2 it
changes distances by < 0.05% (Ω_r ≈ 9e-5). Pass ``omega_r`` to include it as a massless
(relativistic) component; :func:`omega_radiation` computes it from T_CMB and N_eff.

The distance to last scattering — :func:`z_star` (Hu & Sugiyama 1996), :func:`sound_horizon`
and :func:`cmb_distances` (z*, r_s(z*), D_M(z*), radiation always included) — is defined here
once, for the CMB distance priors (:mod:`rediscovery.cosmo.joint`) and the curved CMB emulator's
acoustic scale (:mod:`rediscovery.cosmo.cmb.curved`); the formulas are in
:mod:`rediscovery.cosmo.joint`'s docstring and validated against CAMB in tests/cosmo/test_joint.py.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from rediscovery.constants import C_KM_S, N_EFF, T_CMB
from rediscovery.core.errors import InputError

__all__ = [
    "DistanceGrid",
    "cmb_distances",
    "comoving_distance",
    "distance_modulus",
    "efunc",
    "hubble_free_luminosity_distance",
    "luminosity_distance",
    "omega_radiation",
    "sound_horizon",
    "z_star",
]

#: Integration knots: 0, then _N_GEO geometric knots from _Z_GEO0 to _Z_LIN, then one every
#: _MAX_DZ; 4-point Gauss-Legendre per interval. Between knots D_C is interpolated by a cubic
#: Hermite polynomial with its exact derivative dD_C/dz = D_H/E(z) (error ∝ Δz⁴ / 384, below
#: 1e-8 relative for 0 < z < 10, tested against astropy to 1e-6).
_GL_ORDER = 4
_MAX_DZ = 0.02
_Z_GEO0, _Z_LIN, _N_GEO = 1e-5, 0.1, 40
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_GL_ORDER)
#: |Ω_k| below which the curvature branch is replaced by its Taylor expansion.
_FLAT_TOL = 1e-8


def omega_radiation(h0: float, tcmb0: float = T_CMB, n_eff: float = N_EFF) -> float:
    """Radiation density today (photons + massless neutrinos) for H0 in km/s/Mpc, T_CMB in K.

    Computed from the Stefan-Boltzmann law as in astropy: Ω_γ = 4σT⁴/c³ / ρ_crit (Ω_γ h² ≈
    2.47e-5 at the default :data:`~rediscovery.constants.T_CMB`); neutrinos add
    7/8 (4/11)^{4/3} N_eff Ω_γ (default :data:`~rediscovery.constants.N_EFF`).
    """
    from scipy import constants as k

    sigma_sb = k.physical_constants["Stefan-Boltzmann constant"][0]
    g = k.G
    h0_si = h0 * 1e3 / (k.parsec * 1e6)  # 1/s
    rho_crit = 3 * h0_si**2 / (8 * np.pi * g)  # kg/m^3
    rho_gamma = 4 * sigma_sb * tcmb0**4 / k.c**3
    omega_gamma = rho_gamma / rho_crit
    return float(omega_gamma * (1 + 7 / 8 * (4 / 11) ** (4 / 3) * n_eff))


def efunc(z: np.ndarray | float, om: np.ndarray | float, ol: np.ndarray | float,
          w: np.ndarray | float = -1.0, omega_r: float = 0.0) -> np.ndarray:
    """E(z) = H(z)/H0; NaN where E² ≤ 0 (no Big Bang / bounce region). Parameters broadcast."""
    zp1 = 1.0 + np.asarray(z, dtype=float)
    om, ol, w = (np.asarray(v, dtype=float) for v in (om, ol, w))
    ok = 1.0 - om - ol - omega_r
    de = ol if np.all(w == -1.0) else ol * zp1 ** (3.0 * (1.0 + w))
    e2 = zp1**2 * (ok + zp1 * (om + omega_r * zp1)) + de
    return np.sqrt(np.where(e2 > 0, e2, np.nan))


@dataclass(frozen=True)
class _Knots:
    """The integration grid of [0, z_max]: knots, Gauss-Legendre weights per interval, and the
    powers of (1+z) at the nodes followed by the knots (one evaluation of 1/E serves both)."""

    knots: np.ndarray
    weights: np.ndarray  # (n_int, _GL_ORDER)
    zp2: np.ndarray
    zp3: np.ndarray
    lnzp1: np.ndarray
    n_nodes: int


@functools.lru_cache(maxsize=64)
def _knot_grid(zmax: float) -> _Knots:
    """:class:`_Knots` for [0, zmax] (cached: a model's fit calls it with the same z_max)."""
    # knots: geometric below _Z_LIN (relative accuracy at tiny z), then every _MAX_DZ
    n_lin = max(1, int(np.ceil((zmax - _Z_LIN) / _MAX_DZ))) if zmax > _Z_LIN else 0
    knots = np.concatenate([[0.0], np.geomspace(_Z_GEO0, _Z_LIN, _N_GEO)])
    if n_lin:
        knots = np.concatenate([knots, np.linspace(_Z_LIN, zmax, n_lin + 1)[1:]])
    knots = knots[knots <= max(zmax, _Z_GEO0) * (1 + 1e-12)]
    if knots[-1] < zmax:
        knots = np.append(knots, zmax)
    a, b = knots[:-1], knots[1:]
    half, mid = 0.5 * (b - a), 0.5 * (a + b)
    nodes = (mid[:, None] + half[:, None] * _GL_X[None, :]).ravel()
    zp1 = 1.0 + np.concatenate([nodes, knots])
    for arr in (knots, zp1):
        arr.setflags(write=False)
    weights = half[:, None] * _GL_W[None, :]
    weights.setflags(write=False)
    return _Knots(knots=knots, weights=weights, zp2=zp1 * zp1, zp3=zp1 * zp1 * zp1,
                  lnzp1=np.log(zp1), n_nodes=nodes.size)


def _inv_efunc(k: _Knots, om: np.ndarray, ol: np.ndarray, w: np.ndarray,
               omega_r: float) -> np.ndarray:
    """1/E at the nodes and knots of ``k`` (the hot loop of an MCMC); NaN where E² ≤ 0.
    Parameters carry a trailing axis of length 1 (they broadcast against the nodes)."""
    ok = 1.0 - om - ol - omega_r
    e2 = om * k.zp3 + ok * k.zp2
    if np.all(w == -1.0):
        e2 += ol
    else:  # w may broadcast beyond om, ol: not in place
        e2 = e2 + ol * np.exp(3.0 * (1.0 + w) * k.lnzp1)
    if omega_r:
        e2 += omega_r * k.zp2 * k.zp2
    if e2.min() > 0:  # the usual case: no mask needed
        return 1.0 / np.sqrt(e2)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = e2 ** -0.5
    return np.where(e2 > 0, inv, np.nan)


def _scalar(x) -> float | None:
    """``x`` as a float when it is one number (Python or NumPy scalar, 0-d array), else None."""
    if isinstance(x, (float, int, np.floating, np.integer)):
        return float(x)
    if isinstance(x, np.ndarray) and x.ndim == 0:
        return float(x)
    return None


def _is_lambda(w) -> bool:
    """True when ``w`` is −1: one number, or an array of −1 (what the fits' samplers pass for
    ΛCDM, one entry per walker)."""
    w_f = _scalar(w)
    if w_f is not None:
        return w_f == -1.0
    w = np.asarray(w)
    return w.size > 0 and bool(np.all(w == -1.0))


def _single_lcdm(om, ol, w, omega_r) -> tuple[float, float] | None:
    """(Ω_m, Ω_Λ) as floats when the arguments describe one ΛCDM model without radiation."""
    om_f, ol_f = _scalar(om), _scalar(ol)
    if omega_r or om_f is None or ol_f is None or _scalar(w) != -1.0:
        return None
    return om_f, ol_f


def _validated_z(z: np.ndarray | float) -> tuple[np.ndarray, float]:
    """``z`` as a float array and its maximum; InputError (as :class:`DistanceGrid`) unless all
    entries are finite and > 0."""
    z = np.asarray(z, dtype=float)
    if z.size == 0:
        raise InputError("no redshifts given", column="z")
    zmax = float(z.max())
    if not (z.min() > 0 and math.isfinite(zmax)):
        bad = np.flatnonzero(~(np.isfinite(z) & (z > 0)).ravel())[:5]
        raise InputError(f"redshifts must be finite and > 0; bad entries at index "
                         f"{bad.tolist()}", column="z")
    return z, zmax


def _lcdm_kernel(z: np.ndarray, om: float, ol: float) -> np.ndarray | None:
    """D_L H0/c of one ΛCDM model by the compiled kernel (same shape as ``z``), or None when
    the model is outside the kernel's accuracy domain; InputError for bad redshifts."""
    zf = z.reshape(-1)
    if not zf.flags.c_contiguous:
        zf = np.ascontiguousarray(zf)
    if zf.size == 0:
        _validated_z(z)  # raises: no redshifts
    # imported here: numba is not loaded by commands that never evaluate a distance
    from rediscovery.cosmo import distance_kernel

    out = np.empty(zf.size)
    status = distance_kernel.lcdm_hubble_free_dl(zf, om, ol, out, flat_tol=_FLAT_TOL)
    if status == distance_kernel.OK:
        return out.reshape(z.shape)
    if status == distance_kernel.BAD_Z:
        _validated_z(z)  # raises with the offending entries
    return None


def _hubble_free_dl_any(z: np.ndarray | float, om, ol, w, omega_r: float) -> np.ndarray:
    """D_L H0/c: the compiled single-ΛCDM kernel when it applies, else :class:`DistanceGrid`."""
    single = _single_lcdm(om, ol, w, omega_r)
    if single is not None:
        out = _lcdm_kernel(np.asarray(z, dtype=float), *single)
        if out is not None:
            return out
    return DistanceGrid(z).hubble_free_dl(om, ol, w, omega_r)


@dataclass(frozen=True)
class DistanceGrid:
    """Integration nodes for a fixed set of redshifts; build once, evaluate many cosmologies.

    Parameters
    ----------
    z
        Redshifts (any shape), all > 0.

    Examples
    --------
    >>> g = DistanceGrid(np.array([0.1, 0.5, 1.0]))
    >>> g.hubble_free_dl(0.3, 0.7).shape
    (3,)
    """

    z: np.ndarray
    _k: _Knots
    _gather: np.ndarray
    _basis: np.ndarray

    def __init__(self, z: np.ndarray | float) -> None:
        z = np.asarray(z, dtype=float)
        if z.size == 0:
            raise InputError("no redshifts given", column="z")
        if not np.all(np.isfinite(z)) or np.any(z <= 0):
            bad = np.flatnonzero(~(np.isfinite(z) & (z > 0)).ravel())[:5]
            raise InputError(f"redshifts must be finite and > 0; bad entries at index "
                             f"{bad.tolist()}", column="z")
        k = _knot_grid(float(z.max()))
        knots = k.knots
        n_int = knots.size - 1
        # cubic Hermite interpolation of D_C between knots with its exact derivative 1/E:
        # D_C(z) = Σ_j basis_j(z) v[gather_j(z)], v = [D_C at the knots, 1/E at the knots]
        zf = z.ravel()
        i = np.clip(np.searchsorted(knots, zf, side="right") - 1, 0, n_int - 1)
        h = knots[i + 1] - knots[i]
        t = (zf - knots[i]) / h
        t2 = t * t
        t3 = t2 * t
        basis = np.stack([2 * t3 - 3 * t2 + 1, (t3 - 2 * t2 + t) * h, -2 * t3 + 3 * t2,
                          (t3 - t2) * h])
        n_k = knots.size
        gather = np.stack([i, n_k + i, i + 1, n_k + i + 1])
        object.__setattr__(self, "z", z)
        object.__setattr__(self, "_k", k)
        object.__setattr__(self, "_gather", gather)
        object.__setattr__(self, "_basis", basis)

    def comoving_dimensionless(self, om, ol, w=-1.0, omega_r: float = 0.0) -> np.ndarray:
        """D_C / D_H = ∫₀ᶻ dz'/E(z'); shape ``broadcast(om, ol, w).shape + z.shape``."""
        om, ol, w = (np.asarray(v, dtype=float) for v in (om, ol, w))
        pshape = np.broadcast_shapes(om.shape, ol.shape, w.shape)
        k = self._k
        ex = (..., None)
        inv_e = _inv_efunc(k, om[ex], ol[ex], w[ex], omega_r)
        inv_e = np.broadcast_to(inv_e, (*pshape, inv_e.shape[-1]))
        n_int = k.weights.shape[0]
        seg = (inv_e[..., :k.n_nodes].reshape((*pshape, n_int, _GL_ORDER))
               * k.weights).sum(-1)
        # v = [D_C at the knots (cumulative sum, 0 at z = 0), 1/E at the knots]
        v = np.empty((*pshape, 2 * (n_int + 1)))
        v[..., 0] = 0.0
        np.cumsum(seg, axis=-1, out=v[..., 1:n_int + 1])
        v[..., n_int + 1:] = inv_e[..., k.n_nodes:]
        # Σ_j basis_j v[gather_j], accumulated in place (no (…, 4, N) temporary)
        dc = np.take(v, self._gather[0], axis=-1)
        dc *= self._basis[0]
        tmp = np.empty_like(dc)
        for j in range(1, 4):
            np.take(v, self._gather[j], axis=-1, out=tmp)
            tmp *= self._basis[j]
            dc += tmp
        return dc.reshape((*pshape, *self.z.shape))

    def transverse_dimensionless(self, om, ol, w=-1.0, omega_r: float = 0.0) -> np.ndarray:
        """D_M / D_H with the sinh/sin curvature branches (Hogg 1999, eq. 16)."""
        dc = self.comoving_dimensionless(om, ol, w, omega_r)
        ok = 1.0 - np.asarray(om, dtype=float) - np.asarray(ol, dtype=float) - omega_r
        if ok.ndim == 0:  # one model: evaluate only its branch
            okf = float(ok)
            if abs(okf) < _FLAT_TOL:
                return dc * (1.0 + okf * dc**2 / 6.0)
            sq = np.sqrt(abs(okf))
            return np.sinh(sq * dc) / sq if okf > 0 else np.sin(sq * dc) / sq
        ok = np.broadcast_to(ok, dc.shape[: dc.ndim - self.z.ndim])
        # evaluate each branch only on the models (rows) that need it
        out = np.empty_like(dc)
        flat = np.abs(ok) < _FLAT_TOL
        opened = ~flat & (ok > 0)
        closed = ~flat & (ok < 0)
        if flat.any():
            d, k = dc[flat], ok[flat][(...,) + (None,) * self.z.ndim]
            out[flat] = d * (1.0 + k * d * d / 6.0)
        if opened.any():
            sq = np.sqrt(ok[opened])[(...,) + (None,) * self.z.ndim]
            out[opened] = np.sinh(sq * dc[opened]) / sq
        if closed.any():
            sq = np.sqrt(-ok[closed])[(...,) + (None,) * self.z.ndim]
            out[closed] = np.sin(sq * dc[closed]) / sq
        return out

    def hubble_free_dl(self, om, ol, w=-1.0, omega_r: float = 0.0) -> np.ndarray:
        """Hubble-free luminosity distance D_L H0 / c = (1+z) D_M / D_H (dimensionless).

        NaN where the model has no Big Bang (E² ≤ 0 somewhere below z) and, for closed
        models, beyond the antipode (D_M ≤ 0).
        """
        single = _single_lcdm(om, ol, w, omega_r)
        if single is not None:
            fast = _lcdm_kernel(self.z, *single)
            if fast is not None:
                return fast
        elif not omega_r and _is_lambda(w):
            ensemble = self._lcdm_ensemble(om, ol, np.shape(w))
            if ensemble is not None:
                return ensemble
        return self._general_dl(om, ol, w, omega_r)

    def _general_dl(self, om, ol, w=-1.0, omega_r: float = 0.0) -> np.ndarray:
        """D_L H0/c by the general numpy path (any w, radiation); NaN where D_M ≤ 0."""
        dl = self.transverse_dimensionless(om, ol, w, omega_r)
        dl *= 1.0 + self.z
        if dl.min() > 0:  # the usual case (a NaN fails the test too)
            return dl
        return np.where(dl > 0, dl, np.nan)

    def _lcdm_ensemble(self, om, ol, w_shape: tuple[int, ...] = ()) -> np.ndarray | None:
        """D_L H0/c of many ΛCDM models (the compiled kernel, one loop over the models; the
        rows outside its domain by the general path); None for a single model. ``w_shape`` is
        the shape of the (all −1) w given, which takes part in the broadcast."""
        from rediscovery.cosmo import distance_kernel

        om, ol = (np.asarray(v, dtype=float) for v in (om, ol))
        pshape = np.broadcast_shapes(om.shape, ol.shape, w_shape)
        if not pshape:
            return None
        om_f = np.ascontiguousarray(np.broadcast_to(om, pshape)).reshape(-1)
        ol_f = np.ascontiguousarray(np.broadcast_to(ol, pshape)).reshape(-1)
        zf = np.ascontiguousarray(self.z).reshape(-1)
        out = np.empty((om_f.size, zf.size))
        inside = np.empty(om_f.size, dtype=bool)
        distance_kernel.lcdm_hubble_free_dl_many(zf, om_f, ol_f, out, inside, flat_tol=_FLAT_TOL)
        if not inside.all():
            rest = ~inside
            with np.errstate(invalid="ignore"):
                out[rest] = self._general_dl(om_f[rest], ol_f[rest]).reshape(-1, zf.size)
        return out.reshape((*pshape, *self.z.shape))

    def distance_modulus(self, h0, om, ol, w=-1.0, omega_r: float = 0.0) -> np.ndarray:
        """μ = 5 log10(D_L / Mpc) + 25 with H0 in km/s/Mpc (broadcast with the others)."""
        return _modulus(self.hubble_free_dl(om, ol, w, omega_r), h0, self.z.ndim)


def _modulus(dl: np.ndarray, h0, z_ndim: int) -> np.ndarray:
    """μ = 5 log10(D_L/Mpc) + 25 from D_L H0/c (H0 in km/s/Mpc, broadcast before z's axes);
    ``dl`` is positive or NaN (see :meth:`DistanceGrid.hubble_free_dl`) and is overwritten."""
    h0_f = _scalar(h0)
    if h0_f is not None and h0_f > 0:
        mu = np.log10(dl, out=dl)
        mu *= 5.0
        mu += 25.0 + 5.0 * math.log10(C_KM_S / h0_f)
        return mu
    h0 = np.asarray(h0, dtype=float)[(...,) + (None,) * z_ndim]
    if np.all(h0 > 0) and dl.min() > 0:
        mu = np.log10(dl * (C_KM_S / h0))
        mu *= 5.0
        mu += 25.0
        return mu
    with np.errstate(invalid="ignore"):
        return 5.0 * np.log10(dl * (C_KM_S / h0)) + 25.0


def comoving_distance(z, h0, om, ol, w=-1.0, omega_r: float = 0.0) -> np.ndarray:
    """Line-of-sight comoving distance D_C in Mpc (H0 in km/s/Mpc)."""
    h0 = np.asarray(h0, dtype=float)
    g = DistanceGrid(z)
    return g.comoving_dimensionless(om, ol, w, omega_r) * (C_KM_S / h0)[(...,) + (None,) * g.z.ndim]


def hubble_free_luminosity_distance(z, om, ol, w=-1.0, omega_r: float = 0.0) -> np.ndarray:
    """D_L H0 / c (dimensionless); see :meth:`DistanceGrid.hubble_free_dl`."""
    return _hubble_free_dl_any(z, om, ol, w, omega_r)


def luminosity_distance(z, h0, om, ol, w=-1.0, omega_r: float = 0.0) -> np.ndarray:
    """Luminosity distance D_L = (1+z) D_M in Mpc.

    Parameters
    ----------
    z
        Redshifts > 0 (any shape).
    h0
        Hubble constant in km/s/Mpc.
    om, ol
        Ω_m and Ω_Λ today (Ω_k = 1 − Ω_m − Ω_Λ − Ω_r).
    w
        Dark-energy equation of state (constant; −1 is a cosmological constant).
    omega_r
        Radiation density (default 0, i.e. ignored; see the module notes).

    Returns
    -------
    ndarray
        Shape ``broadcast(h0, om, ol, w).shape + z.shape``, in Mpc.
    """
    dl = _hubble_free_dl_any(z, om, ol, w, omega_r)
    if np.ndim(h0) == 0:
        dl *= C_KM_S / float(h0)
        return dl
    return dl * (C_KM_S / np.asarray(h0, dtype=float)[(...,) + (None,) * np.ndim(z)])


def distance_modulus(z, h0, om, ol, w=-1.0, omega_r: float = 0.0) -> np.ndarray:
    """Distance modulus μ = 5 log10(D_L/Mpc) + 25 in magnitudes."""
    return _modulus(_hubble_free_dl_any(z, om, ol, w, omega_r), h0, np.ndim(z))


# -- the CMB: decoupling redshift, sound horizon and the distance to last scattering ----------
# One definition, used by the distance priors (rediscovery.cosmo.joint) and by the curved CMB
# emulator's acoustic scale (rediscovery.cosmo.cmb.curved). Radiation (photons + massless
# neutrinos) is always included here: it matters at z ~ 1000.
# Gauss-Legendre nodes on [0, 1] for the quadratures (composite: _N_SEG segments x _CMB_GL_N).
_CMB_GL_N = 8
_CMB_GL_X, _CMB_GL_W = np.polynomial.legendre.leggauss(_CMB_GL_N)
_N_SEG_DM = 24
_N_SEG_RS = 8


def _unit_nodes(n_seg: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights on [0, 1]."""
    edges = np.linspace(0.0, 1.0, n_seg + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    u = (mid[:, None] + half[:, None] * _CMB_GL_X[None, :]).ravel()
    wt = (half[:, None] * _CMB_GL_W[None, :]).ravel()
    return u, wt


_U_DM, _W_DM = _unit_nodes(_N_SEG_DM)
_U_RS, _W_RS = _unit_nodes(_N_SEG_RS)


def _omega_gamma_h2(tcmb0: float) -> float:
    """Photon density ω_γ = Ω_γ h² (Ω_γ at H0 = 100 km/s/Mpc)."""
    return omega_radiation(100.0, tcmb0, 0.0)


def z_star(omega_b: np.ndarray | float, omega_m: np.ndarray | float) -> np.ndarray:
    r"""Photon-decoupling redshift z* (Hu & Sugiyama 1996, ApJ 471, 542, eq. E1).

    Parameters
    ----------
    omega_b, omega_m
        Physical baryon and matter densities Ω_b h², Ω_m h² (broadcast).

    Returns
    -------
    ndarray
        z*, accurate to ~0.1 % against CAMB's optical-depth definition for Planck-like
        cosmologies (tested).
    """
    wb = np.asarray(omega_b, dtype=float)
    wm = np.asarray(omega_m, dtype=float)
    if np.any(wb <= 0) or np.any(wm <= 0):
        raise InputError("omega_b and omega_m must be > 0", column="omega_b/omega_m")
    g1 = 0.0783 * wb**-0.238 / (1.0 + 39.5 * wb**0.763)
    g2 = 0.560 / (1.0 + 21.1 * wb**1.81)
    return 1048.0 * (1.0 + 0.00124 * wb**-0.738) * (1.0 + g1 * wm**g2)


def _a4e2(a: np.ndarray, om, ok, ol, w, orad) -> np.ndarray:
    """a⁴ E(a)² = Ω_r + Ω_m a + Ω_k a² + Ω_Λ a^{1−3w} (finite at a → 0)."""
    return orad + a * (om + ok * a) + ol * a ** (1.0 - 3.0 * w)


def _densities(h0, om, ol, w, tcmb0: float, n_eff: float):
    h0, om, ol, w = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (h0, om, ol, w)))
    if np.any(h0 <= 0):
        raise InputError("H0 must be > 0 km/s/Mpc", column="H0")
    if np.any(om <= 0):
        raise InputError("Om must be > 0", column="Om")
    h = h0 / 100.0
    orad = omega_radiation(100.0, tcmb0, n_eff) / h**2
    ok = 1.0 - om - ol - orad
    return h0, om, ol, w, h, orad, ok


def sound_horizon(z: np.ndarray | float, h0, om, ob_h2, ol=None, w=-1.0, *,
                  tcmb0: float = T_CMB, n_eff: float = N_EFF) -> np.ndarray:
    r"""Comoving sound horizon :math:`r_s(z) = \int_z^\infty c_s\,dz'/H(z')` in Mpc.

    Parameters
    ----------
    z
        Redshift (broadcast with the parameters; z ≳ 100, where the integral is dominated by
        matter and radiation).
    h0
        Hubble constant in km/s/Mpc.
    om
        Ω_m today (baryons + cold dark matter).
    ob_h2
        ω_b = Ω_b h².
    ol
        Ω_Λ (default 1 − Ω_m − Ω_r: flat); only enters through a negligible early term.
    w
        Dark-energy equation of state.
    tcmb0, n_eff
        CMB temperature (K) and effective number of massless neutrinos for Ω_r.

    Notes
    -----
    With :math:`a = 1/(1+z)`, :math:`r_s = \frac{c}{H_0}\int_0^{a_z}
    \frac{c_s/c}{\sqrt{a^4E^2}}\,da`, and the substitution :math:`s = \sqrt{\Omega_r + \Omega_m a}`
    removes the near-singular behaviour at a ≈ Ω_r/Ω_m, so a 64-node composite
    Gauss-Legendre rule reaches < 1e-6 relative accuracy, vectorised over all parameters.
    """
    if ol is None:
        orad0 = omega_radiation(100.0, tcmb0, n_eff) / (np.asarray(h0, dtype=float) / 100) ** 2
        ol = 1.0 - np.asarray(om, dtype=float) - orad0
    h0, om, ol, w, _h, orad, ok = _densities(h0, om, ol, w, tcmb0, n_eff)
    z = np.asarray(z, dtype=float)
    ob = np.asarray(ob_h2, dtype=float)
    if np.any(ob <= 0):
        raise InputError("ob_h2 must be > 0", column="ombh2")
    az = 1.0 / (1.0 + z)
    shape = np.broadcast_shapes(h0.shape, az.shape, ob.shape)
    ex = (..., None)
    omb, okb, olb, wb_, oradb = (np.broadcast_to(v, shape)[ex] for v in (om, ok, ol, w, orad))
    s0 = np.sqrt(oradb)
    s1 = np.sqrt(oradb + omb * np.broadcast_to(az, shape)[ex])
    s = s0 + (s1 - s0) * _U_RS
    a = (s * s - oradb) / omb
    rb = 0.75 * np.broadcast_to(ob, shape)[ex] / _omega_gamma_h2(tcmb0) * a
    cs = 1.0 / np.sqrt(3.0 * (1.0 + rb))
    integrand = cs * 2.0 * s / (omb * np.sqrt(_a4e2(a, omb, okb, olb, wb_, oradb)))
    integral = (s1 - s0)[..., 0] * np.sum(integrand * _W_RS, axis=-1)
    return integral * C_KM_S / np.broadcast_to(h0, shape)


def _comoving_to(a_end: np.ndarray, om, ok, ol, w, orad) -> np.ndarray:
    r"""D_C/D_H = ∫_{a_end}^1 da/(a²E) = ∫ a/\sqrt{a⁴E²} d\ln a (composite GL in ln a)."""
    ex = (..., None)
    lna = np.log(a_end)[ex] * (1.0 - _U_DM)
    a = np.exp(lna)
    e = _a4e2(a, om[ex], ok[ex], ol[ex], w[ex], orad[ex])
    with np.errstate(invalid="ignore"):
        integrand = a / np.sqrt(np.where(e > 0, e, np.nan))
    return -np.log(a_end) * np.sum(integrand * _W_DM, axis=-1)


def _transverse(dc: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """D_M/D_H from D_C/D_H with the sinh/sin curvature branches (Hogg 1999, eq. 16)."""
    sq = np.sqrt(np.abs(ok))
    x = sq * dc
    with np.errstate(invalid="ignore", divide="ignore"):
        curved = np.where(ok > 0, np.sinh(x), np.sin(x)) / np.where(sq > 0, sq, 1.0)
    series = dc * (1.0 + ok * dc * dc / 6.0)
    return np.where(sq * np.maximum(dc, 1.0) < 1e-4, series, curved)


def cmb_distances(h0, om, ol, ob_h2, w=-1.0, *, tcmb0: float = T_CMB,
                  n_eff: float = N_EFF) -> dict[str, np.ndarray]:
    """z*, r_s(z*) [Mpc] and D_M(z*) [Mpc] for (arrays of) cosmologies.

    Parameters
    ----------
    h0
        Hubble constant in km/s/Mpc.
    om, ol
        Ω_m and Ω_Λ today (Ω_k = 1 − Ω_m − Ω_Λ − Ω_r).
    ob_h2
        ω_b = Ω_b h².
    w
        Constant dark-energy equation of state.
    tcmb0, n_eff
        Radiation content (photons + massless neutrinos).

    Returns
    -------
    dict
        ``z_star``, ``r_s`` (Mpc), ``D_M`` (Mpc, NaN for models without a Big Bang or beyond
        a closed universe's antipode), ``Ok``, all broadcast to the parameters' shape.
    """
    h0, om, ol, w, h, orad, ok = _densities(h0, om, ol, w, tcmb0, n_eff)
    ob = np.broadcast_to(np.asarray(ob_h2, dtype=float), h0.shape)
    zs = z_star(ob, om * h * h)
    rs = sound_horizon(zs, h0, om, ob, ol, w, tcmb0=tcmb0, n_eff=n_eff)
    dc = _comoving_to(1.0 / (1.0 + zs), om, ok, ol, w, orad)
    dm = _transverse(dc, ok) * C_KM_S / h0
    dm = np.where(dm > 0, dm, np.nan)
    return {"z_star": zs, "r_s": rs, "D_M": dm, "Ok": ok}
