"""Features, owned by team FE: the 13 DER_ features, NEW_ features, collinear and missing mass.
Reads: an events DataFrame or Parquet table with the 17 PRI_ columns (GeV, radians, NaN).
Writes: the table plus DER_/NEW_ columns (Parquet/CSV), feature-study CSV/JSON; DataFrames.
"""

from __future__ import annotations

from rediscovery.higgs.features.collinear import collinear_fractions, collinear_mass
from rediscovery.higgs.features.derived import (
    DER_CLOSED_FORM,
    add_derived_features,
    derived_features,
    missing_mass,
)
from rediscovery.higgs.features.mmc import mmc_mass
from rediscovery.higgs.features.new import NEW_FEATURES, NewFeature, add_new_features
from rediscovery.higgs.features.primaries import validate_primaries
from rediscovery.higgs.features.selection import StudyConfig, StudyResult, feature_study

__all__ = [
    "DER_CLOSED_FORM",
    "NEW_FEATURES",
    "NewFeature",
    "StudyConfig",
    "StudyResult",
    "add_derived_features",
    "add_new_features",
    "collinear_fractions",
    "collinear_mass",
    "derived_features",
    "feature_study",
    "missing_mass",
    "mmc_mass",
    "validate_primaries",
]
