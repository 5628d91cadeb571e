"""The models plots: what they draw, read back from the returned artists."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from rediscovery.core.errors import InputError
from rediscovery.models import find_model
from rediscovery.models.plots import plot_held_out, plot_validity_box


def test_validity_box_and_points():
    card = find_model("cmb-emulator-tt").card
    fig, ax = plt.subplots()
    pts = {"H0": np.array([65.0, 70.0, 80.0]), "ombh2": np.array([0.022, 0.023, 0.022])}
    out = plot_validity_box(card, "H0", "ombh2", points=pts, ax=ax)
    rect = out["box"]
    assert (rect.get_x(), rect.get_width()) == (61.0, 13.0)
    assert rect.get_y() == pytest.approx(0.0208) and rect.get_height() == pytest.approx(0.0032)
    assert len(out["inside"].get_offsets()) == 2 and len(out["outside"].get_offsets()) == 1
    assert ax.get_xlabel() == "H0 [km/s/Mpc]"
    with pytest.raises(InputError, match="no bounded input 'Om'"):
        plot_validity_box(card, "H0", "Om", ax=ax)
    plt.close(fig)


def test_held_out_bars_are_the_cards_figures():
    card = find_model("cmb-emulator-tt").card
    fig, ax = plt.subplots()
    bars = plot_held_out(card, ax=ax)
    table = card.held_out["max_rel_err_per_ell_bin"]
    heights = [b.get_height() for b in bars]
    np.testing.assert_allclose(heights, [100 * v for v in table.values()])
    with pytest.raises(InputError, match="no held-out table"):
        plot_held_out(card, "nope", ax=ax)
    plt.close(fig)
