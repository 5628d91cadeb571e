"""SN survey images, owned by the SN survey/detection teams: the pixel-level search simulator.
Reads: configuration (ImageSurvey, seed, optional H0/Ωm/ΩΛ); survey folders and FITS images.
Writes: fieldNN/<band>/{reference,epochEEE}.fits, stars.csv, hosts.csv, survey.json, truth.json.

A rolling search (SNLS / DES-SN like) in griz: stars, Sérsic host galaxies, SALT2 SNe Ia from
the hidden cosmology of :func:`rediscovery.cosmo.sn.draw_truth`, variable stars, non-Ia
transients, cosmic rays, hot pixels and saturation; image headers MJD, BAND, ZP (AB), SEEING
(arcsec), GAIN (e-/ADU), SKYLEVEL (ADU), RDNOISE (e-), SATURATE (ADU) and a TAN WCS; hidden
``truth_fluxes.csv`` (sn_id, time, band, flux, zp, zpsys). docs/cosmo-sn-images.md has the
layout, units and measured figures.

The readers for the detection and photometry stages::

    read_image(path) -> SurveyImage       # .data (float32 ADU, [y, x]), .mjd, .band, .zp,
                                          # .seeing, .gain, .skylevel, .rdnoise, .saturate,
                                          # .wcs (astropy), .header, .path, .pixel_scale
    list_survey(root) -> {field: {band: BandImages(reference: Path, epochs: list[Path])}}
    read_stars(path) -> DataFrame; read_hosts(path) -> DataFrame

Both raise :class:`~rediscovery.core.errors.InputError` naming the file (and the missing key,
or the two images of one field whose sizes differ).

The simulator (pure; arrays, header dicts and tables)::

    scene = draw_scene(ImageSurvey(n_fields=1, bands="gr", n_epochs=3, size=128),
                       draw_truth(seed), seed=seed)
    for img in render_images(scene): ...          # SimImage(data, header, wcs, path, ...)
    write_survey(out, scene)                      # all the files named above
"""

from __future__ import annotations

from rediscovery.cosmo.sn.images.bands import BANDPASSES, register_bandpasses
from rediscovery.cosmo.sn.images.io import (
    REQUIRED_KEYS,
    BandImages,
    SurveyImage,
    list_survey,
    read_hosts,
    read_image,
    read_stars,
    write_image,
    write_survey,
)
from rediscovery.cosmo.sn.images.simulate import (
    TRUTH_ZP,
    ImageSurvey,
    Scene,
    SimImage,
    draw_scene,
    field_wcs,
    render_images,
)

__all__ = [
    "BANDPASSES",
    "REQUIRED_KEYS",
    "TRUTH_ZP",
    "BandImages",
    "ImageSurvey",
    "Scene",
    "SimImage",
    "SurveyImage",
    "draw_scene",
    "field_wcs",
    "list_survey",
    "read_hosts",
    "read_image",
    "read_stars",
    "register_bandpasses",
    "render_images",
    "write_image",
    "write_survey",
]
