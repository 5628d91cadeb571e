"""The thumbnails show the images' own pixels, labelled."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from rediscovery.cosmo.sn.images import list_survey, read_image
from rediscovery.cosmo.sn.images.plots import (
    naive_difference,
    plot_field_epoch,
    plot_thumbnails,
)


def test_field_epoch_thumbnails_show_the_pixels(survey_dir):
    files = list_survey(survey_dir)["field00"]["r"]
    ref, ep = read_image(files.reference), read_image(files.epochs[1])
    fig, artists = plot_field_epoch(ref, ep, marks=[(ref.wcs.wcs.crval[0],
                                                      ref.wcs.wcs.crval[1])])
    assert len(artists) == 3
    np.testing.assert_array_equal(artists[0].get_array(), ref.data)
    np.testing.assert_array_equal(artists[1].get_array(), ep.data)
    np.testing.assert_allclose(artists[2].get_array(), naive_difference(ep, ref))
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert "reference" in titles[0] and "sdssr" in titles[0] and "MJD" in titles[1]
    # the mark is drawn at the WCS position of the field centre
    offsets = fig.axes[0].collections[0].get_offsets()
    assert np.allclose(offsets[0], np.array(ref.wcs.wcs.crpix) - 1)
    plt.close(fig)


def test_thumbnails_on_given_axes():
    fig, axes = plt.subplots(1, 2)
    imgs = [np.zeros((5, 5)), np.arange(25.0).reshape(5, 5)]
    fig2, artists = plot_thumbnails(imgs, axes=list(axes), titles=["a", "b"])
    assert fig2 is fig and axes[1].get_title() == "b"
    np.testing.assert_array_equal(artists[1].get_array(), imgs[1])
    plt.close(fig)
