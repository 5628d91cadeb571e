"""Supernova cosmology stages: simulate, detect, photometry, light curves, Hubble diagram."""
