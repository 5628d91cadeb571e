"""Column names and conventions of the Higgs events table (HiggsML primary schema).

Reference: C. Adam-Bourdarios et al., "Learning to discover: the Higgs boson machine learning
challenge", documentation v1.8 (2014), appendix B.

Conventions inside the package: energies and momenta in GeV, angles in radians in (-π, π],
undefined values are NaN (the HiggsML sentinel -999.0 is converted at the I/O boundary).
"""

from __future__ import annotations

__all__ = [
    "ALWAYS_DEFINED_DER",
    "ALWAYS_DEFINED_PRI",
    "DER_COLUMNS",
    "DER_COLUMNS_TWO_JETS",
    "ETA_COLUMNS",
    "ETA_MAX",
    "EVENT_ID",
    "JET_COLUMNS_LEADING",
    "JET_COLUMNS_SUBLEADING",
    "JET_NUM_MAX",
    "LABEL",
    "MAX_MEDIAN_PT_GEV",
    "MOMENTUM_COLUMNS",
    "NON_NEGATIVE_DER",
    "PHI_COLUMNS",
    "PRI_COLUMNS",
    "PROCESS",
    "PROCESSES",
    "SENTINEL",
    "SET",
    "SIGNAL_PROCESSES",
    "SQRT_S_MAX_GEV",
    "SUM_PT_COLUMNS",
    "SUM_PT_MAX_GEV",
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

#: Primaries defined for every selected event (a τ_h, a lepton and the MET always exist; the
#: jet sum is 0 without jets). HiggsML allows the -999 sentinel only in the jet columns below
#: (and the DER_ columns built from jets, and DER_mass_MMC); ``PRI_met_sumet`` is also
#: required, except in Fair Universe files that have no such column at all.
ALWAYS_DEFINED_PRI: tuple[str, ...] = (
    "PRI_tau_pt", "PRI_tau_eta", "PRI_tau_phi", "PRI_lep_pt", "PRI_lep_eta", "PRI_lep_phi",
    "PRI_met", "PRI_met_phi", "PRI_met_sumet", "PRI_jet_num", "PRI_jet_all_pt",
)

#: Derived features defined for every event (HiggsML documentation v1.8, appendix B: the
#: others are undefined without jets, or, for DER_mass_MMC, when the MMC finds no solution).
ALWAYS_DEFINED_DER: tuple[str, ...] = (
    "DER_mass_transverse_met_lep", "DER_mass_vis", "DER_pt_h", "DER_deltar_tau_lep",
    "DER_pt_tot", "DER_sum_pt", "DER_pt_ratio_lep_tau", "DER_met_phi_centrality",
)

#: Derived features defined exactly when there are two jets (PRI_jet_num >= 2; HiggsML
#: documentation v1.8, appendix B).
DER_COLUMNS_TWO_JETS: tuple[str, ...] = (
    "DER_deltaeta_jet_jet", "DER_mass_jet_jet", "DER_prodeta_jet_jet", "DER_lep_eta_centrality",
)

#: Transverse momenta of single objects (GeV): never negative, never above
#: :data:`SQRT_S_MAX_GEV`.
MOMENTUM_COLUMNS: tuple[str, ...] = (
    "PRI_tau_pt", "PRI_lep_pt", "PRI_met", "PRI_jet_leading_pt", "PRI_jet_subleading_pt",
)

#: Scalar sums of transverse momenta (GeV): never negative; they include pile-up and the
#: underlying event, so they are bounded by :data:`SUM_PT_MAX_GEV` only.
SUM_PT_COLUMNS: tuple[str, ...] = ("PRI_met_sumet", "PRI_jet_all_pt")

#: Derived features that are masses, momenta, distances or ratios of them: never negative.
NON_NEGATIVE_DER: tuple[str, ...] = (
    "DER_mass_MMC", "DER_mass_transverse_met_lep", "DER_mass_vis", "DER_pt_h",
    "DER_deltaeta_jet_jet", "DER_mass_jet_jet", "DER_deltar_tau_lep", "DER_pt_tot",
    "DER_sum_pt", "DER_pt_ratio_lep_tau",
)

#: Pseudorapidity columns.
ETA_COLUMNS: tuple[str, ...] = tuple(c for c in PRI_COLUMNS if c.endswith("_eta"))

#: Upper bound of any transverse momentum or energy sum in an event, GeV: the LHC design
#: centre-of-mass energy, 14 TeV (LHC Design Report, CERN-2004-003). HiggsML events are at
#: 8 TeV; the bound is for any LHC data set, and catches values in MeV and absurd numbers.
SQRT_S_MAX_GEV = 14_000.0

#: Upper bound of the scalar p_T sums, GeV: ten times :data:`SQRT_S_MAX_GEV`, because pile-up
#: collisions add to them (the package's simulation, whose partons stop at 4 TeV, stays below
#: ~8 TeV); the bound only catches absurd values.
SUM_PT_MAX_GEV = 10 * SQRT_S_MAX_GEV

#: Largest jet count accepted. HiggsML and the simulation cap PRI_jet_num at 3 ("3 or more");
#: other formats count every jet, and no selected event has anywhere near 100 jets above the
#: 30 GeV threshold: a larger number is not a count.
JET_NUM_MAX = 100

#: Largest pseudorapidity a reconstructed object can have: the ATLAS forward calorimeter
#: reaches |η| = 4.9 (ATLAS Collaboration, JINST 3 (2008) S08003).
ETA_MAX = 4.9

#: Largest plausible median of the τ_h and lepton p_T, GeV. The HiggsML medians are ~40 GeV
#: (selection thresholds 20 and 26 GeV); a median above 1 TeV means the file is in MeV.
MAX_MEDIAN_PT_GEV = 1000.0
