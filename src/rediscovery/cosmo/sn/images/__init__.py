"""Survey images for the supernova search, owned by the SN survey and detection teams.

A rolling search (SNLS / DES-SN like) simulated at the pixel level: fields observed in griz
over a season, one FITS image per field, band and epoch plus a deep reference per field and
band, with stars, Sérsic host galaxies, SALT2 SNe Ia from the hidden cosmology of
:func:`rediscovery.cosmo.sn.draw_truth`, and the impostors a real search meets (variable
stars, non-Ia transients, cosmic rays, hot pixels, saturation). docs/cosmo-sn-images.md has
the details and measured figures.

Reads: configuration only (:class:`ImageSurvey`, a seed, optionally given H0/Ωm/ΩΛ).
Writes (``rediscovery cosmo sn-images --out DIR``): ``DIR/survey.json``, ``DIR/stars.csv``
(star_id, field, ra, dec, mag_<band>), ``DIR/hosts.csv`` (host_id, field, ra, dec, z),
``DIR/fieldNN/<band>/reference.fits`` and ``DIR/fieldNN/<band>/epochEEE.fits`` (header MJD,
BAND, ZP (AB), SEEING (arcsec), GAIN (e-/ADU), SKYLEVEL (ADU), RDNOISE (e-), SATURATE (ADU),
TAN WCS); hidden: ``DIR/truth.json``, ``DIR/truth_fluxes.csv`` (sn_id, time, band, flux, zp,
zpsys).

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
    write_survey(out, scene)                      # every file of the layout above
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
