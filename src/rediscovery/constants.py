"""Published physical constants used by more than one module, each stored once with its unit and
its source.

Model choices (a simulated universe's ω_b, the SN absolute magnitude of the simulator, ...) are
not here: they live in the module that owns the model. Numbers that follow from these are
computed where they are needed, not typed.

References
----------
PDG 2022
    R.L. Workman et al. (Particle Data Group), "Review of Particle Physics", Prog. Theor. Exp.
    Phys. 2022, 083C01. (The PDG 2024 τ mass, 1776.93 ± 0.09 MeV, differs from the 2022 value
    used here by 0.6 standard deviations of the 2022 value; the event simulator and the
    missing-mass calculator were tuned with the 2022 value.)
Fixsen 2009
    D.J. Fixsen, "The temperature of the cosmic microwave background", ApJ 707 (2009) 916,
    arXiv:0911.1955.
Mangano 2005
    G. Mangano et al., "Relic neutrino decoupling including flavour oscillations", Nucl. Phys. B
    729 (2005) 221, arXiv:hep-ph/0506164; the value used by the Planck 2018 baseline
    (Planck 2018 results VI, A&A 641 (2020) A6).
SI 2019
    The speed of light in vacuum is exact by the definition of the metre (BIPM SI brochure,
    9th edition, 2019).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "C_KM_S",
    "N_EFF",
    "TAU_HADRONIC_MODES",
    "TAU_MASS",
    "T_CMB",
    "TauHadronicMode",
]

# ---------------------------------------------------------------------------------------------
# particle physics (GeV)
# ---------------------------------------------------------------------------------------------
#: τ lepton mass in GeV: 1776.86 ± 0.12 MeV (PDG 2022).
TAU_MASS = 1.77686


class TauHadronicMode(NamedTuple):
    """One hadronic τ decay mode τ → h ν: the hadronic system's mass and width (GeV) and the
    branching fraction of the mode."""

    name: str
    mass: float
    width: float
    branching_fraction: float


#: The three hadronic τ decay modes of the simulator and of the missing-mass calculator (PDG
#: 2022 τ listings and meson tables): τ→πν (m_π± = 139.57 MeV, B = 10.82 %); τ→ρν → ππ⁰ν
#: (ρ(770): m = 775.26 ± 0.25 MeV, rounded here to 0.7753 GeV, Γ = 149.1 MeV; B(τ→ππ⁰ν) =
#: 25.49 %); τ→a₁ν → 3πν (a₁(1260): m = 1230 ± 40 MeV, Γ = 420 MeV, the PDG's estimate inside
#: its 250-600 MeV range; B = 18.3 %, the one- and three-prong 3π channels summed). Together
#: 54.6 % of τ decays; users renormalise them to one (the other hadronic modes, with kaons or
#: more pions, are not modelled separately).
TAU_HADRONIC_MODES: tuple[TauHadronicMode, ...] = (
    TauHadronicMode("pi", 0.13957, 0.0, 0.1082),
    TauHadronicMode("rho", 0.7753, 0.1491, 0.2549),
    TauHadronicMode("a1", 1.230, 0.420, 0.183),
)

# ---------------------------------------------------------------------------------------------
# cosmology
# ---------------------------------------------------------------------------------------------
#: Speed of light in km/s (exact, SI 2019).
C_KM_S = 299792.458
#: CMB temperature today in K: 2.7255 ± 0.0006 K (Fixsen 2009).
T_CMB = 2.7255
#: Effective number of relativistic neutrino species in the standard model (Mangano 2005).
N_EFF = 3.046
