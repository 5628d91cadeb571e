"""The Higgs pipeline: H→ττ events (HiggsML schema) to a measured signal strength μ."""
