"""The cosmology pipeline: supernovae and the CMB to (H0, Ωm, ΩΛ)."""
