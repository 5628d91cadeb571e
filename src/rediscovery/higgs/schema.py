"""Column names and conventions of the Higgs events table (HiggsML primary schema).

Reference: C. Adam-Bourdarios et al., "Learning to discover: the Higgs boson machine learning
challenge", documentation v1.8 (2014), appendix B.

Conventions inside the package: energies and momenta in GeV, angles in radians in (-π, π],
undefined values are NaN (the HiggsML sentinel -999.0 is converted at the I/O boundary).
"""

from __future__ import annotations

__all__ = [
    "DER_COLUMNS",
    "EVENT_ID",
    "JET_COLUMNS_LEADING",
    "JET_COLUMNS_SUBLEADING",
    "LABEL",
    "PHI_COLUMNS",
    "PRI_COLUMNS",
    "PROCESS",
    "PROCESSES",
    "SENTINEL",
    "SET",
    "SIGNAL_PROCESSES",
    "WEIGHT",
]

#: The HiggsML "undefined" sentinel, converted to/from NaN at the I/O boundary.
SENTINEL = -999.0

EVENT_ID = "EventId"
WEIGHT = "Weight"
LABEL = "Label"
PROCESS = "Process"
SET = "Set"

#: The 17 primary features, in the order of the HiggsML documentation.
PRI_COLUMNS: tuple[str, ...] = (
    "PRI_tau_pt",
    "PRI_tau_eta",
    "PRI_tau_phi",
    "PRI_lep_pt",
    "PRI_lep_eta",
    "PRI_lep_phi",
    "PRI_met",
    "PRI_met_phi",
    "PRI_met_sumet",
    "PRI_jet_num",
    "PRI_jet_leading_pt",
    "PRI_jet_leading_eta",
    "PRI_jet_leading_phi",
    "PRI_jet_subleading_pt",
    "PRI_jet_subleading_eta",
    "PRI_jet_subleading_phi",
    "PRI_jet_all_pt",
)

#: The 13 derived features with their official names.
DER_COLUMNS: tuple[str, ...] = (
    "DER_mass_MMC",
    "DER_mass_transverse_met_lep",
    "DER_mass_vis",
    "DER_pt_h",
    "DER_deltaeta_jet_jet",
    "DER_mass_jet_jet",
    "DER_prodeta_jet_jet",
    "DER_deltar_tau_lep",
    "DER_pt_tot",
    "DER_sum_pt",
    "DER_pt_ratio_lep_tau",
    "DER_met_phi_centrality",
    "DER_lep_eta_centrality",
)

#: Columns undefined (NaN) when PRI_jet_num == 0.
JET_COLUMNS_LEADING: tuple[str, ...] = (
    "PRI_jet_leading_pt",
    "PRI_jet_leading_eta",
    "PRI_jet_leading_phi",
)
#: Columns undefined (NaN) when PRI_jet_num <= 1.
JET_COLUMNS_SUBLEADING: tuple[str, ...] = (
    "PRI_jet_subleading_pt",
    "PRI_jet_subleading_eta",
    "PRI_jet_subleading_phi",
)

#: Azimuthal angles (radians, in (-π, π]).
PHI_COLUMNS: tuple[str, ...] = tuple(c for c in PRI_COLUMNS if c.endswith("_phi"))

#: Process names used in the ``Process`` column.
SIGNAL_PROCESSES: tuple[str, ...] = ("htautau",)
PROCESSES: tuple[str, ...] = ("htautau", "ztautau", "ttbar", "wjets", "diboson")
