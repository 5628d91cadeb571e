"""Shared fixtures.

``reference_data`` locates the real public data (``../shared/data`` next to the repository, or
``$REDISCOVERY_REFERENCE_DATA``). Tests that need it skip with a clear reason where it is absent
(a user's clone); ``.ci/run`` sets the variable and fails if the folder is missing, so in CI they
always run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _reference_dir() -> Path:
    return Path(os.environ.get("REDISCOVERY_REFERENCE_DATA", _DEFAULT))


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """Folder of the real public reference data (HiggsML sample, SN tables, Planck spectra)."""
    path = _reference_dir()
    if not path.is_dir():
        pytest.skip(
            f"reference data not found at {path}; set REDISCOVERY_REFERENCE_DATA to the "
            "folder holding higgsml/, jla/, union2.1/ and planck2018/"
        )
    return path


@pytest.fixture
def check_png():
    """``check_png(path)``: ``path`` decodes as a PNG image with something drawn on it.

    For command tests, which can only see the files a command wrote; what the plot functions
    draw is tested on their returned axes (the ``test_plots.py`` files).
    """
    import matplotlib.image as mpimg
    import numpy as np

    def check(path: Path) -> np.ndarray:
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
        img = mpimg.imread(path)
        assert img.ndim == 3 and min(img.shape[:2]) >= 100, f"{path}: image {img.shape}"
        assert np.ptp(img[..., :3]) > 0, f"{path} is blank"
        return img

    return check
