"""cluster-mass models: build, brief training beats the mean predictor, ONNX parity, shipped."""

from __future__ import annotations

import numpy as np
import pytest

from zoo.registry import get_task
from zoo.task import Sample
from zoo.tasks.cluster_mass import formats, simulator
from zoo.weights import list_weights


@pytest.fixture(scope="module")
def task():
    return get_task("cluster-mass")


@pytest.fixture(scope="module")
def bright_data(tmp_path_factory, task):
    """Nearby clusters, flat in log M: counts carry the mass, so a short fit must learn it."""
    import os

    cache = tmp_path_factory.mktemp("cache")
    old = os.environ.get("ZOO_CACHE")
    os.environ["ZOO_CACHE"] = str(cache)
    try:
        return task.load_data(None, seed=3, n=500, z_min=0.05, z_max=0.3,
                              mass_function_power=0.0)
    finally:
        if old is None:
            os.environ.pop("ZOO_CACHE")
        else:
            os.environ["ZOO_CACHE"] = old


def test_model_builds_trains_and_beats_mean_predictor(task, bright_data):
    keras = pytest.importorskip("keras")
    from zoo.training import create_model

    keras.utils.set_random_seed(0)
    model = create_model("cluster-mass", "cnn", filters=8)
    assert [t.name for t in model.inputs] == ["image", "redshift"]
    assert tuple(model.outputs[0].shape) == (None, 2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=task.loss(task.recipe))
    train, test = bright_data.train, bright_data.test
    model.fit([train.x["image"], train.x["redshift"]], task.fit_targets(train), epochs=12,
              batch_size=32, verbose=0)
    out = model.predict([test.x["image"], test.x["redshift"]], verbose=0)
    report = task.evaluate(test, [out])
    mean_rmse = float(np.sqrt(np.mean((test.y - train.y.mean()) ** 2)))
    assert report["rmse_dex"] < 0.7 * mean_rmse
    decoded = task.decode([out[:2]])
    assert set(decoded[0]) == {"log10_M500", "sigma_dex", "M500_Msun"}
    assert decoded[0]["M500_Msun"] == pytest.approx(10 ** decoded[0]["log10_M500"])


def test_onnx_parity_of_the_two_input_model(tmp_path):
    pytest.importorskip("keras")
    import onnxruntime as ort

    from zoo.onnx_export import export_onnx
    from zoo.training import create_model

    model = create_model("cluster-mass", "cnn-mse", filters=8)
    path = tmp_path / "m.onnx"
    assert export_onnx(model, path) <= 1e-4
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image", "redshift"]
    rng = np.random.default_rng(0)
    image = np.log1p(rng.poisson(2.0, (3, 50, 50, 10))).astype(np.float32)
    z = np.array([[0.1], [0.5], [0.9]], np.float32)
    expected = np.asarray(model([image, z], training=False))
    actual = session.run(None, {"image": image, "redshift": z})[0]
    assert actual.shape == (3, 2) and np.max(np.abs(actual - expected)) <= 1e-4


def test_shipped_weights_predict_a_fits_file(tmp_path):
    if not list_weights("cluster-mass"):
        pytest.skip("no shipped cluster-mass weights")
    import zoo

    opts = simulator.SimOptions(n=10)
    counts, truth = simulator.simulate_cluster(opts, np.random.default_rng(5), 0.2, 14.6)
    path = formats.write_fits_cluster(tmp_path / "cluster.fits", counts, 0.2)
    model = zoo.load("cluster-mass", device="cpu")
    (pred,) = model.predict([path])
    assert pred.ok, pred.error
    assert abs(pred.result["log10_M500"] - 14.6) < 0.5
    assert 0.01 < pred.result["sigma_dex"] < 1.0
    bad = model.predict([path], z=-1.0)[0]
    assert not bad.ok and "must be positive" in bad.error
    assert get_task("cluster-mass").read(Sample(str(path), (str(path),)), {})["_redshift"] == 0.2


def test_sigma_calibration_recovers_a_mass_dependent_scale():
    from zoo.tasks.cluster_mass.calibration import PIVOT_LOG_M, fit_scale

    rng = np.random.default_rng(0)
    mu = rng.uniform(13.0, 14.8, 20000)
    log_sigma = np.full_like(mu, np.log(0.1))
    true = log_sigma - 0.06 - 0.17 * (mu - PIVOT_LOG_M)  # too wide at high mass, as v3 was
    y = mu + np.exp(true) * rng.standard_normal(len(mu))
    a, b = fit_scale(y, mu, log_sigma)
    assert a == pytest.approx(-0.06, abs=0.02) and b == pytest.approx(-0.17, abs=0.03)
    assert fit_scale(y, mu, true) == pytest.approx((0.0, 0.0), abs=0.03)


def test_sigma_calibration_folds_exactly_into_the_log_sigma_unit():
    pytest.importorskip("keras")
    from zoo.tasks.cluster_mass.calibration import PIVOT_LOG_M, fold_into_head
    from zoo.training import create_model

    model = create_model("cluster-mass", "cnn", filters=4)
    rng = np.random.default_rng(1)
    inputs = [np.log1p(rng.poisson(2.0, (4, 50, 50, 10))).astype(np.float32),
              np.array([[0.1], [0.3], [0.6], [0.9]], np.float32)]
    model.get_layer("log_sigma").kernel.assign(rng.normal(0, 0.05, (64, 1)).astype(np.float32))
    before = np.asarray(model(inputs, training=False), np.float64)
    fold_into_head(model, 0.2, -0.5)
    after = np.asarray(model(inputs, training=False), np.float64)
    assert np.allclose(after[:, 0], before[:, 0])
    expected = before[:, 1] + 0.2 - 0.5 * (before[:, 0] - PIVOT_LOG_M)
    assert np.allclose(after[:, 1], expected, atol=1e-5)
