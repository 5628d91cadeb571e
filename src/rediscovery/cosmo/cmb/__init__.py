"""CMB cosmology stages: simulate, map-making, spectra, theory, likelihood."""
