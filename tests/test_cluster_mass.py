"""cluster-mass: simulator determinism and physics, formats, bad input, loss, model, ONNX."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.errors import InputError
from zoo.registry import get_task
from zoo.task import Sample
from zoo.tasks.cluster_mass import formats, metrics, physics, simulator

SMALL = simulator.SimOptions(n=24)


@pytest.fixture(scope="module")
def task():
    return get_task("cluster-mass")


def _fixed_cluster(log_m: float, z: float, seed: int = 3) -> float:
    """Expected (noise-free) cluster counts at given mass and redshift, same scatter draws."""
    rng = np.random.default_rng(seed)
    rel = physics.ScalingRelations()
    kt = rel.temperature(10**log_m, z, rng)
    lum = rel.luminosity(10**log_m, z, rng)
    return float(physics.bremsstrahlung_rates(lum, kt, z).sum())


def test_simulator_is_deterministic_for_any_worker_count():
    one = list(simulator.iter_simulate(SMALL, seed=7, workers=1))
    two = list(simulator.iter_simulate(SMALL, seed=7, workers=2))
    other = list(simulator.iter_simulate(SMALL, seed=8, workers=1))
    assert np.array_equal(one[0][0], two[0][0])
    assert np.array_equal(one[0][1]["log_mass"], two[0][1]["log_mass"])
    assert not np.array_equal(one[0][0], other[0][0])
    images, params = one[0]
    assert images.shape == (24, 50, 50, 10) and images.dtype == np.int32
    assert images.min() >= 0
    assert np.all((params["log_mass"] >= 13) & (params["log_mass"] <= 15))
    assert np.all((params["redshift"] >= 0.05) & (params["redshift"] <= 1.0))


def test_more_massive_clusters_give_more_counts_at_fixed_z():
    counts = [_fixed_cluster(m, 0.3) for m in (13.5, 14.0, 14.5)]
    assert counts[0] < counts[1] < counts[2]


def test_higher_redshift_gives_fewer_counts_at_fixed_mass():
    counts = [_fixed_cluster(14.3, z) for z in (0.1, 0.4, 0.9)]
    assert counts[0] > counts[1] > counts[2]


def _simulated_counts(log_m: float, z: float) -> float:
    """Mean total counts of full simulated images (background included) over a few seeds."""
    opts = simulator.SimOptions(n=10)
    return float(np.mean([simulator.simulate_cluster(opts, np.random.default_rng(s), z, log_m)[0]
                          .sum() for s in range(4)]))


def test_simulated_images_brighter_for_massive_and_nearby_clusters():
    assert _simulated_counts(14.8, 0.3) > _simulated_counts(14.3, 0.3) > _simulated_counts(13.8, 0.3)
    assert _simulated_counts(14.5, 0.1) > _simulated_counts(14.5, 0.5) > _simulated_counts(14.5, 0.9)


def test_mass_function_falls_with_mass_and_redshift():
    grid, low_z = physics.mass_function(0.1)
    _, high_z = physics.mass_function(0.9)
    assert np.all(np.diff(low_z) < 0)
    assert high_z[-1] / high_z[0] < low_z[-1] / low_z[0]  # massive haloes rarer at high z


def test_gaussian_nll_matches_hand_computation():
    y, mu, log_sigma = 14.2, 14.0, np.log(0.25)
    hand = 0.5 * (0.2 / 0.25) ** 2 + np.log(0.25) + 0.5 * np.log(2 * np.pi)
    assert metrics.gaussian_nll(np.array([y]), np.array([mu]), np.array([log_sigma]))[0] == \
        pytest.approx(hand)
    pytest.importorskip("keras")
    from zoo.tasks.cluster_mass.models import gaussian_nll, mse_with_sigma

    pred = np.array([[mu, log_sigma]], np.float32)
    assert float(np.asarray(gaussian_nll(np.array([[y]], np.float32), pred))[0]) == \
        pytest.approx(hand, rel=1e-5)
    assert float(np.asarray(mse_with_sigma(np.array([[y]], np.float32), pred))[0]) == \
        pytest.approx(0.04 + hand, rel=1e-5)


def test_mass_report_calibration():
    rng = np.random.default_rng(1)
    y = rng.uniform(13, 15, 20000)
    mu = y + rng.normal(0, 0.2, y.size)
    report = metrics.mass_report(y, mu, np.full_like(y, 0.2))
    assert report["scatter_dex"] == pytest.approx(0.2, abs=0.01)
    assert report["scatter_pct"] == pytest.approx(46.05, abs=2.5)
    assert report["within_1sigma"] == pytest.approx(0.683, abs=0.01)
    assert report["within_2sigma"] == pytest.approx(0.954, abs=0.01)


# ---- formats ------------------------------------------------------------------------------
def test_fits_round_trip(tmp_path, task):
    counts = np.random.default_rng(0).poisson(3.0, (50, 50, 10)).astype(np.float32)
    path = formats.write_fits_cluster(tmp_path / "c.fits", counts, 0.42)
    image, z = formats.read_fits_cluster(path)
    assert z == pytest.approx(0.42) and np.array_equal(image, counts)
    arrays = task.read(Sample(str(path), (str(path),)), {"z": 0.3})
    assert arrays["redshift"][0] == pytest.approx(0.3)  # --z wins over the header
    assert np.allclose(arrays["image"], np.log1p(counts))


def _fits(tmp_path, data, **header):
    from astropy.io import fits

    hdu = fits.PrimaryHDU(np.asarray(data, np.float32))
    for key, value in header.items():
        hdu.header[key] = value
    path = tmp_path / "bad.fits"
    hdu.writeto(path, overwrite=True)
    return path


@pytest.mark.parametrize(("data", "header", "z", "message"), [
    (np.zeros((8, 50, 50)), {"REDSHIFT": 0.3}, None, "energy bands"),
    (np.zeros((10, 40, 40)), {"REDSHIFT": 0.3}, None, "needs 10 bands of 50x50"),
    (np.zeros((10, 50, 50)), {}, None, "no redshift: pass --z"),
    (np.zeros((10, 50, 50)), {"REDSHIFT": -0.2}, None, "must be positive"),
    (np.zeros((10, 50, 50)), {}, -1.0, "must be positive"),
    (np.full((10, 50, 50), np.nan), {"REDSHIFT": 0.3}, None, "NaN"),
])
def test_bad_fits_gives_one_clear_line(tmp_path, task, data, header, z, message):
    path = _fits(tmp_path, data, **header)
    options = {} if z is None else {"z": z}
    with pytest.raises(InputError, match=message) as info:
        task.read(Sample(str(path), (str(path),)), options)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_fits_without_image_data(tmp_path, task):
    from astropy.io import fits

    path = tmp_path / "empty.fits"
    fits.PrimaryHDU().writeto(path)
    with pytest.raises(InputError, match="no image data"):
        task.read(Sample(str(path), (str(path),)), {})
    text = tmp_path / "notfits.fits"
    text.write_text("hello")
    with pytest.raises(InputError, match="not a readable FITS"):
        task.read(Sample(str(text), (str(text),)), {})


@pytest.mark.parametrize("suffix", [".h5", ".npz"])
def test_catalogue_round_trip_and_split(tmp_path, task, suffix):
    rng = np.random.default_rng(0)
    counts = rng.poisson(1.0, (12, 10, 50, 50)).astype(np.int32)  # bands-first is accepted
    split = np.array(["train"] * 8 + ["validation"] * 2 + ["test"] * 2)
    path = formats.write_catalogue(tmp_path / f"cat{suffix}", counts, rng.uniform(0.1, 1, 12),
                                   rng.uniform(13, 15, 12), split)
    data = task.load_data(str(path), seed=0)
    assert (len(data.train), len(data.validation), len(data.test)) == (8, 2, 2)
    assert data.train.x["image"].shape == (8, 50, 50, 10)
    assert np.allclose(data.test.x["image"], np.log1p(np.moveaxis(counts[10:], 1, -1)))
    assert data.source["type"] == "file" and len(data.source["sha256"]) == 64


def test_catalogue_missing_column(tmp_path, task):
    path = tmp_path / "bad.npz"
    np.savez(path, images=np.zeros((3, 50, 50, 10)), redshift=np.ones(3))
    with pytest.raises(InputError, match="log_mass"):
        task.load_data(str(path), seed=0)


def test_simulator_catalogue_is_cached_and_read_back(tmp_path, monkeypatch, task):
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path))
    data = task.load_data(None, seed=1, n=30)
    assert data.source["simulated"] is True and data.source["options"]["n"] == 30
    files = list((tmp_path / "cluster-mass").glob("sim-*.h5"))
    assert len(files) == 1
    again = task.load_data(None, seed=1, n=30)
    assert np.array_equal(again.test.y, data.test.y)
    with pytest.raises(InputError, match="unknown option"):
        task.load_data(None, seed=1, n=30, bogus=1)
