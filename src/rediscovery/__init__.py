"""rediscovery: rebuild the Higgs (H->tautau) and dark-energy analyses from data.

Two pipelines, each a chain of stages with documented file contracts
(see ``docs/architecture.md``):

* :mod:`rediscovery.higgs` -- events, features, classifiers, binned likelihood fit, systematics;
* :mod:`rediscovery.cosmo` -- supernova and CMB cosmology, joint fits.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
