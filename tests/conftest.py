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
