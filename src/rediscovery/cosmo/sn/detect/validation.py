"""Checks of the arrays and numbers that enter the detection library.

Each check raises :class:`~rediscovery.core.errors.InputError` (bad data) or
:class:`~rediscovery.core.errors.ConfigError` (bad setting) naming the parameter and what was
expected, and returns the value converted to what the library computes with.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rediscovery.core.errors import ConfigError, InputError

__all__ = [
    "PSF_SUM_TOLERANCE",
    "check_image",
    "check_positive",
    "check_psf",
    "check_same_shape",
    "check_variance",
]

#: A PSF must sum to one within this relative tolerance (its normalisation carries the flux).
PSF_SUM_TOLERANCE = 1e-3


def check_image(image: object, name: str, *, allow_nan: bool = False) -> np.ndarray:
    """``image`` as a 2-D float64 array; finite unless ``allow_nan``."""
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim != 2:
        raise InputError(f"expected a 2-D image, got an array of shape {arr.shape}", column=name)
    if arr.size == 0:
        raise InputError("expected a non-empty image", column=name)
    if not allow_nan and not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise InputError(
            f"{bad} pixel(s) are NaN or infinite; expected finite values (replace masked pixels, "
            "e.g. by the background level, and pass their positions separately)", column=name)
    return arr


def check_same_shape(arrays: Sequence[np.ndarray], names: Sequence[str]) -> None:
    """All ``arrays`` have the shape of the first one."""
    shape = arrays[0].shape
    for a, n in zip(arrays[1:], names[1:], strict=True):
        if a.shape != shape:
            raise InputError(
                f"shape {a.shape} differs from {names[0]}'s shape {shape}; expected images on "
                "the same pixel grid (resample one of them first, e.g. with resample_to)",
                column=n)


def check_psf(psf: object, name: str, *, max_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """``psf`` as a 2-D float64 array of odd sides, finite, summing to one (±1e-3)."""
    arr = check_image(psf, name)
    if arr.shape[0] % 2 == 0 or arr.shape[1] % 2 == 0:
        raise InputError(
            f"PSF stamp of shape {arr.shape}; expected odd sides so that the centre is a pixel "
            "(crop or pad it by one row/column)", column=name)
    total = float(arr.sum())
    if abs(total - 1.0) > PSF_SUM_TOLERANCE:
        raise InputError(
            f"PSF sums to {total:.6g}; expected a unit-sum PSF (divide it by its sum)", column=name)
    if max_shape is not None and (arr.shape[0] > max_shape[0] or arr.shape[1] > max_shape[1]):
        raise InputError(f"PSF stamp of shape {arr.shape} is larger than the image {max_shape}",
                         column=name)
    return arr


def check_positive(value: object, name: str) -> float:
    """``value`` as a finite float > 0."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected a positive number, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ConfigError(f"{name}: expected a positive finite number, got {v}")
    return v


def check_variance(var: object, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """A variance image (or a scalar broadcast to ``shape``): finite and > 0 everywhere."""
    arr = np.asarray(var, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(shape, check_positive(arr, name))
    arr = check_image(arr, name)
    check_same_shape([np.empty(shape), arr], ["the image", name])
    if np.any(arr <= 0):
        raise InputError(f"{int(np.count_nonzero(arr <= 0))} pixel(s) have a variance <= 0; "
                         "expected a positive variance everywhere", column=name)
    return arr
