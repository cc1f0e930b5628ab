"""cluster-mass: simulator determinism and physics, formats, bad input, loss, model, ONNX."""

from __future__ import annotations

import numpy as np
import pytest
from core_helpers import assert_all_flagged, flagged_share

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
    return float(physics.thermal_rates(lum, kt, z).sum())


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
    opts = simulator.SimOptions(n=10, detect_min_counts=0)  # every cluster, detected or not
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


def test_lx_m_slope_option_sets_the_luminosity_scaling():
    """L ~ M^slope at fixed z: the observed slope (default) makes groups fainter than the
    self-similar 4/3, with the normalisation kept at the pivot mass."""
    rng = np.random.default_rng(0)

    def ratio(slope: float) -> float:
        rel = physics.ScalingRelations(slope_l=slope, scatter_ln_l=0.0)
        return rel.luminosity(1e15, 0.3, rng) / rel.luminosity(1e13, 0.3, rng)

    assert ratio(physics.SELF_SIMILAR_SLOPE_L) == pytest.approx(100 ** (4 / 3))
    assert ratio(1.8) == pytest.approx(100**1.8)
    assert physics.ScalingRelations().slope_l == physics.OBSERVED_SLOPE_L == 1.8
    pivot = physics.ScalingRelations(slope_l=2.0, scatter_ln_l=0.0)
    assert pivot.luminosity(pivot.m_pivot, 0.0, rng) == pytest.approx(pivot.l_pivot)
    scattered = physics.ScalingRelations(scatter_ln_l=0.5)
    draws = np.log([scattered.luminosity(1e14, 0.3, rng) for _ in range(2000)])
    assert draws.std() == pytest.approx(0.5, rel=0.1)


def test_line_emission_brightens_cool_plasma_in_the_fe_l_bands_only():
    cool_lines, cool_cont = (physics.thermal_rates(1e43, 1.0, 0.1, lines) for lines in (1, 0))
    hot_lines, hot_cont = (physics.thermal_rates(1e45, 8.0, 0.1, lines) for lines in (1, 0))
    fe_l = slice(3, 5)  # 0.7-1.4 keV observed
    assert cool_lines[fe_l].sum() > 1.5 * cool_cont[fe_l].sum()
    assert hot_lines.sum() == pytest.approx(hot_cont.sum(), rel=0.02)
    assert physics.line_fraction(1.0) > 0.5 > physics.line_fraction(2.5) > physics.line_fraction(6)


def test_delta_500_critical_converted_at_each_redshift():
    assert physics.delta_mean(0.0) == pytest.approx(500 / 0.3)
    assert physics.delta_mean(1.0) == pytest.approx(500 / (0.3 * 8 / (0.3 * 8 + 0.7)))
    assert physics.tinker_parameters(1600)["a"] == pytest.approx(2.30)
    assert physics.tinker_parameters(200)["A"] == pytest.approx(0.186)


def test_vignetting_is_one_on_axis_and_falls_faster_for_hard_photons():
    v = physics.vignetting(np.array([0.0, 16.0, 30.0]))
    assert np.allclose(v[0], 1.0)
    assert np.all(v[1] < 1.0) and np.all(v[2] < v[1])
    assert v[1, -1] < v[1, 0]  # 5.6-8 keV is vignetted more than 0.2-0.3 keV


def test_detection_selection_drops_faint_clusters_and_keeps_bright_ones():
    opts = simulator.SimOptions(n=10)
    rng = np.random.default_rng(1)
    assert all(simulator.simulate_cluster(opts, rng, 0.9, 13.0) is None for _ in range(5))
    bright = simulator.simulate_cluster(opts, rng, 0.1, 14.5)
    assert bright is not None and bright[1]["detection_counts"] >= opts.detect_min_counts
    everything = simulator.SimOptions(n=10, detect_min_counts=0)
    assert simulator.simulate_cluster(everything, rng, 0.9, 13.0) is not None
    images, params = next(simulator.iter_simulate(SMALL, seed=2, workers=1))
    assert np.all(params["detection_counts"] >= SMALL.detect_min_counts)


def test_evaluate_reports_physical_prior_mass_bins_and_pit(tmp_path, task):
    from zoo.task import Split

    rng = np.random.default_rng(0)
    y = np.concatenate([rng.uniform(13.0, 13.5, 300), rng.uniform(13.5, 14.0, 200)])
    sigma = np.full_like(y, 0.2)
    mu = y + 0.03 + sigma * rng.standard_normal(len(y))
    split = Split({"image": np.zeros((len(y), 1)), "redshift": np.full((len(y), 1), 0.3),
                   "prior_weight": np.ones(len(y))}, y)
    report = task.evaluate(split, [np.column_stack([mu, np.log(sigma)])], tmp_path)
    prior = report["physical_prior"]
    assert set(prior) >= {"bias_dex", "scatter_dex", "within_1sigma", "within_2sigma"}
    assert prior["bias_dex"] == pytest.approx(0.03, abs=0.03)
    assert prior["within_1sigma"] == pytest.approx(0.68, abs=0.06)
    bins = report["by_mass_bin"]
    assert set(bins) == {"13.0-13.5", "13.5-14.0"}
    assert bins["13.0-13.5"]["n"] == 300 and bins["13.5-14.0"]["n"] == 200
    assert set(bins["13.0-13.5"]) == {"n", "bias_dex", "scatter_dex", "within_1sigma"}
    assert len(report["pit_histogram"]) == metrics.PIT_BINS
    assert sum(report["pit_histogram"]) == pytest.approx(1.0)
    assert (tmp_path / "pit.png").stat().st_size > 1000


def test_physical_prior_weights_undo_a_flattened_mass_function():
    log_m = np.array([13.1, 14.5])
    z = np.array([0.3, 0.3])
    assert np.allclose(metrics.physical_prior_weight(log_m, z, 1.0), 1.0)
    w = metrics.physical_prior_weight(log_m, z, 0.5)
    assert w.mean() == pytest.approx(1.0) and w[0] > 5 * w[1]


def test_baseline_aperture_follows_r500():
    """The rebuilt baseline counts inside R500 iterated from its own mass estimate."""
    near, far = metrics.r500_px(np.array([14.0, 14.0]), np.array([0.1, 0.8]))
    assert near > 2 * far
    maps = np.ones((2, 50, 50))
    net, bkg = metrics.aperture_net_counts(maps, np.zeros(2), np.array([5.0, 10.0]))
    assert net[1] == pytest.approx(4 * net[0], rel=0.1) and np.all(bkg == 0)


@pytest.fixture(scope="module")
def unseen_clusters(tmp_path_factory, task) -> dict[str, np.ndarray]:
    """300 simulated clusters of a seed neither the training nor the OOD calibration used."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZOO_CACHE", str(tmp_path_factory.mktemp("cache")))
        data = task.load_data(None, 77, n=300)
    parts = (data.train, data.validation, data.test)
    return {key: np.concatenate([p.x[key] for p in parts]) for key in ("image", "redshift")}


def test_ood_flag_quiet_on_unseen_clusters_and_fires_on_non_clusters(unseen_clusters):
    import zoo

    predictor = zoo.load("cluster-mass")
    ood = predictor.model.meta.ood or {}
    assert ood["calibrated_on"]["seed"] != predictor.model.meta.data_source["seed"]
    assert flagged_share(predictor, unseen_clusters) <= 0.03  # calibrated to flag 0.5%
    image, z = unseen_clusters["image"][:20], unseen_clusters["redshift"][:20]
    star = np.zeros_like(image)
    star[:, 25, 25, :] = np.log1p(200.0)  # a bright point source, no extended emission
    strangers = {"blank exposure": (np.zeros_like(image), z), "point source": (star, z),
                 "z = 2.5": (image, np.full_like(z, 2.5)),
                 "no photons below 2 keV": (np.where(np.arange(10) < 6, 0, image), z)}
    assert_all_flagged(predictor, {name: {"image": img, "redshift": red}
                                   for name, (img, red) in strangers.items()})
