"""Real labelled events added to a simulator file: train split only, augmented, same layout."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from PIL import Image

from zoo.tasks.glitch import constants, omega, realmix, simulator
from zoo.tasks.glitch.formats import read_gravityspy_h5

pytest.importorskip("gwpy")  # simulated scans take gwpy's Q tiling (train extra)


def _viridis(energy: np.ndarray) -> Image.Image:
    rgb, _ = omega.colour_tables()
    return Image.fromarray(rgb[omega.energy_index(energy)])


def _real_folder(root):
    """Blip/: one 4-frame event GIF and one single scan (bare viridis spectrograms)."""
    energies = simulator.simulate_energy("Blip", np.random.default_rng(0))
    frames = [_viridis(energies[d]) for d in constants.DURATIONS]
    (root / "Blip").mkdir(parents=True)
    frames[0].save(root / "Blip" / "blip-2.gif", save_all=True, append_images=frames[1:])
    frames[1].save(root / "Blip" / "blip-1.png")
    return root


def test_real_events_join_the_train_split_only(tmp_path):
    classes = ("Blip", "Chirp")
    sim = simulator.simulate_h5(tmp_path / "sim.h5", 3, seed=1, workers=1, classes=classes,
                                split_fractions=(1, 1, 1), progress=False)
    real = _real_folder(tmp_path / "real")
    single = realmix.write_mixed_h5(sim, real, tmp_path / "single.h5", copies=2, classes=classes)
    multi = realmix.write_mixed_h5(sim, real, tmp_path / "multi.h5", copies=2,
                                   view="multiview", classes=classes)
    assert sorted(single["events"]) == ["Blip/blip-1.png", "Blip/blip-2.gif"]
    assert multi["events"] == ["Blip/blip-2.gif"] and multi["skipped"] == ["Blip/blip-1.png"]
    with h5py.File(sim) as before, h5py.File(tmp_path / "single.h5") as after:
        added = set(after["Blip"]["train"]) - set(before["Blip"]["train"])
        assert len(added) == 4  # 2 events x 2 copies
        for split in ("validation", "test"):
            assert set(after["Blip"][split]) == set(before["Blip"][split])
        copies = [after["Blip"]["train"][k]["1.0.png"][0] for k in sorted(added)]
    assert all(c.shape == constants.IMAGE_SHAPE and c.min() >= 0 and c.max() <= 1 for c in copies)
    assert not np.array_equal(copies[0], copies[1])  # augmented, not duplicated
    data = read_gravityspy_h5(tmp_path / "multi.h5", "multiview", classes)
    # 1 simulated event per class and split, plus the GIF's 2 copies in Blip's train split
    assert (len(data.train), len(data.validation), len(data.test)) == (2 + 2, 2, 2)


def test_augmentation_is_deterministic_per_seed():
    views = [simulator.simulate_sample("Whistle", np.random.default_rng(3))[d]
             for d in constants.DURATIONS]
    a = realmix.augment_views(views, np.random.default_rng(5))
    b = realmix.augment_views(views, np.random.default_rng(5))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
