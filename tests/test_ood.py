"""zoo.ood: the out-of-distribution score on every prediction, its calibration and its flag."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from core_helpers import assert_all_flagged, flagged_share
from PIL import Image

import zoo
from zoo.ood import OODCalibration, calibrate_weights, fit
from zoo.weights import WeightsMeta, sha256_file


def test_threshold_flags_the_calibration_tail_and_far_points():
    rng = np.random.default_rng(0)
    cov = [[1.0, 0.8, 0.0], [0.8, 1.0, 0.0], [0.0, 0.0, 4.0]]
    draw = lambda n: rng.multivariate_normal([1.0, 2.0, 3.0], cov, size=n)  # noqa: E731
    calibration = fit(["a", "b", "c"], draw(3000), draw(3000), percentile=99.5)
    flagged = (calibration.score(draw(20000)) > calibration.threshold).mean()
    assert 0.001 < flagged < 0.015
    # far along the correlation's narrow axis: small per feature, far in Mahalanobis terms
    odd = np.array([[1.0 + 1.5, 2.0 - 1.5, 3.0]])
    assert calibration.score(odd)[0] > calibration.threshold


def test_section_round_trips_through_weights_metadata(tmp_path):
    rng = np.random.default_rng(1)
    calibration = fit(["x", "y"], rng.normal(size=(200, 2)), rng.normal(size=(200, 2)),
                      calibrated_on={"type": "test"})
    meta = zoo.load("glitch", weights="glitch-singleview").model.meta
    path = tmp_path / "m.json"
    WeightsMeta(**{**meta.to_dict(), "ood": calibration.to_meta()}).save(path)
    again = OODCalibration.from_meta(WeightsMeta.from_file(path).ood or {})
    rows = rng.normal(size=(5, 2))
    np.testing.assert_allclose(again.score(rows), calibration.score(rows))
    assert again.threshold == calibration.threshold and again.features == ("x", "y")


@pytest.fixture(scope="module")
def singleview():
    predictor = zoo.load("glitch", weights="glitch-singleview")
    assert predictor.model.ood is not None, "shipped glitch weights carry an ood section"
    return predictor


def non_scans() -> dict[str, np.ndarray]:
    """Gray 140x170 inputs a scan reader could hand over but no Omega scan looks like."""
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:140, 0:170] / 140.0
    return {
        "noise": rng.random((140, 170)),
        "blank": 0.09 + rng.normal(0, 1e-3, (140, 170)),
        "white": np.full((140, 170), 0.98),
        "gradient": np.clip(0.2 + 0.5 * yy + 0.2 * xx, 0, 1),
        "photo": np.clip(0.5 + 0.3 * np.sin(7 * xx) * np.cos(5 * yy)
                         + rng.normal(0, 0.05, xx.shape), 0, 1),
    }


def test_flag_fires_on_noise_blank_and_non_scans(singleview):
    images = non_scans()
    results = singleview.predict_arrays(np.stack(list(images.values()))[..., None].astype(np.float32))
    for name, result in zip(images, results, strict=True):
        assert result["ood_flag"] is True, (name, result["ood"])


def test_flag_stays_quiet_on_held_out_simulated_scans(singleview):
    pytest.importorskip("gwpy")  # the simulator takes gwpy's Q tiling (train extra)
    from zoo.tasks.glitch.simulator import simulate_sample

    rng = np.random.default_rng(424242)  # a seed no shipped weights were trained on
    views = [view for label in ("Blip", "Whistle", "Power_Line", "Koi_Fish", "Scattered_Light",
                                "No_Glitch")
             for view in simulate_sample(label, rng).values()]
    results = singleview.predict_arrays(np.stack(views)[..., None].astype(np.float32))
    flagged = [r["ood"] for r in results if r["ood_flag"]]
    assert len(flagged) <= 1, flagged


def test_real_scans_are_mostly_in_distribution(singleview, gravityspy_dir):
    preds = singleview.predict([gravityspy_dir], view="single")
    assert len(preds) == 16 and all(p.ok for p in preds)
    assert sum(p.result["ood_flag"] for p in preds) <= 2


def test_cli_shows_the_score_and_strict_refuses_flagged_files(tmp_path):
    from typer.testing import CliRunner

    from zoo.cli.app import app

    noise = tmp_path / "noise.png"
    Image.fromarray((non_scans()["noise"] * 255).astype(np.uint8)).save(noise)
    runner = CliRunner()
    shown = runner.invoke(app, ["predict", "glitch", str(noise), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    [row] = json.loads(shown.output)
    assert row["ood_flag"] is True and row["ood"] > 0
    strict = runner.invoke(app, ["predict", "glitch", str(noise), "--strict"])
    assert strict.exit_code == 1 and "out of distribution" in strict.output
    assert str(noise) in strict.output


def test_weights_without_a_section_give_no_score(tmp_path):
    from test_glitch_task import write_h5

    meta = zoo.load("glitch", weights="glitch-singleview").model.ref
    onnx = tmp_path / "w.onnx"
    shutil.copy(meta.onnx, onnx)
    data = meta.meta.to_dict()
    data["ood"] = None
    WeightsMeta(**data).save(tmp_path / "w.json")
    bare = zoo.load("glitch", weights=str(onnx))
    assert bare.model.ood is None
    assert "ood" not in bare.predict_arrays(np.full((1, 140, 170, 1), 0.1, np.float32))[0]
    # ... and one call calibrates it, on any data in the task's format, ONNX bytes untouched
    source = write_h5(tmp_path / "set.h5", per_split=6)
    section = calibrate_weights(onnx, source=str(source), view="single", duration="all")
    assert section["n_fit"] == section["n_threshold"] == 3 * 6 * 4
    assert np.isfinite(section["threshold"]) and section["calibrated_on"]["type"] == "gravityspy-h5"
    assert WeightsMeta.from_file(tmp_path / "w.json").ood == section
    assert sha256_file(onnx) == meta.meta.sha256
    assert "ood" in zoo.load("glitch", weights=str(onnx)).predict_arrays(
        np.full((1, 140, 170, 1), 0.1, np.float32))[0]


def test_calibrated_on_records_held_out_simulation():
    ood = zoo.load("glitch", weights="glitch-multiview").model.meta.ood or {}
    source = ood.get("calibrated_on", {})
    assert source.get("simulated") is True
    trained = zoo.load("glitch", weights="glitch-multiview").model.meta.data_source
    assert source["options"]["sim_seed"] != trained["options"]["sim_seed"]


@pytest.mark.parametrize("case", ["uniform", "mosaic", "flat", "two_levels", "out_of_range"])
def test_glitch_quantiles_equal_a_full_partition(case):
    """The histogram-narrowed order statistics of the glitch evidence are np.partition's."""
    from zoo.tasks.glitch.evidence import QUANTILES, order_statistics

    rng = np.random.default_rng(1)
    images = {"uniform": rng.random((9, 140, 170)),
              "mosaic": rng.beta(2, 8, (3, 280, 340)),
              "flat": np.full((2, 140, 170), 0.25),
              "two_levels": (rng.random((4, 140, 170)) > 0.7) * 0.8,
              "out_of_range": rng.normal(0.5, 1.0, (4, 140, 170))}[case]
    flat = images.astype(np.float32).reshape(len(images), -1)
    ranks = [int(q * (flat.shape[1] - 1)) for q in QUANTILES]
    assert np.array_equal(order_statistics(flat, ranks), np.partition(flat, ranks, axis=1)[:, ranks])


def test_calibration_data_is_the_recorded_file_only_while_unchanged(tmp_path, monkeypatch):
    """Weights fitted on a file record its (often relative) path and sha256: the file is
    re-read only while it is the same file, and a simulator seed asks for simulated scans
    (OOD calibration on unseen ones) even while it is there."""
    import dataclasses

    from zoo.registry import get_task
    from zoo.weights import resolve

    task = get_task("glitch")
    mix = tmp_path / "mix.h5"
    mix.write_bytes(b"the training mix")
    meta = dataclasses.replace(resolve("glitch", "glitch-singleview").meta, data_source={
        "type": "gravityspy-h5", "path": str(mix), "sha256": sha256_file(mix),
        "simulated": False, "options": {"n_per_class": 80, "sim_seed": 0}})
    calls = []
    monkeypatch.setattr(task, "load_data", lambda source, seed, **options: calls.append(
        (source, options["sim_seed"])))

    task.load_data_for(meta)
    task.load_data_for(meta, sim_seed=1000)
    mix.write_bytes(b"another file at the same path")
    task.load_data_for(meta)
    assert calls == [(str(mix), 0), (None, 1000), (None, 0)]


@pytest.mark.parametrize("weights", ["digits-cnn", "digits-dense"])
def test_digit_weights_flag_images_unlike_digits(weights):
    """The textbook weights carry a score too (generic image evidence + output evidence):
    quiet on held-out digits, flagged on noise, blank, flat gray and inverted digits - inputs
    on which these models can answer with confidence."""
    from zoo.registry import get_task

    predictor = zoo.load("digits", weights=weights)
    test = get_task("digits").load_data_for(predictor.model.meta).test.x["image"]
    assert flagged_share(predictor, test) <= 0.03
    rng = np.random.default_rng(0)
    strangers = {"noise": rng.random((20, 8, 8, 1)), "blank": np.zeros((3, 8, 8, 1)),
                 "gray": np.full((3, 8, 8, 1), 0.5), "inverted": 1.0 - test[:20]}
    assert_all_flagged(predictor, {k: v.astype(np.float32) for k, v in strangers.items()})


def test_boston_weights_flag_rows_unlike_the_training_table():
    """Tabular weights trained on nearly all their rows: the score is fitted on the training
    rows (``fit_on="train"``), thresholded on the held-out test rows."""
    pytest.importorskip("mlxtend")
    from zoo.registry import get_task

    predictor = zoo.load("boston-housing")
    meta = predictor.model.meta
    assert (meta.ood or {})["calibrated_on"]["fitted_on"] == "train"
    test = get_task("boston-housing").load_data_for(meta).test.x["features"]
    assert flagged_share(predictor, test) <= 0.03
    rooms = test[:10].copy()
    rooms[:, 5] = 30.0  # RM: 30 rooms a dwelling
    strangers = {"zeros": np.zeros((3, 13)), "30 rooms": rooms, "columns reversed": test[:10, ::-1],
                 "other units (x100)": test[:10] * 100}
    assert_all_flagged(predictor, {k: v.astype(np.float32) for k, v in strangers.items()})


@pytest.mark.parametrize("change", ["other features", "other version", "no features"])
def test_an_ood_section_this_zoo_cannot_use_is_one_line(tmp_path, change):
    """Weights calibrated by another zoo version (or edited by hand): one line naming the
    metadata file, never a traceback, and no prediction without the score it promises."""
    from typer.testing import CliRunner

    from zoo.cli.app import app
    from zoo.weights import resolve

    shipped = resolve("digits", "digits-cnn")
    shutil.copy(shipped.onnx, tmp_path / "w.onnx")
    data = shipped.meta.to_dict()
    ood = dict(data["ood"])
    if change == "other features":
        ood["features"] = ["renamed", *ood["features"][1:]]
    elif change == "other version":
        ood["version"] = 99
    else:
        del ood["features"]
    WeightsMeta(**{**data, "ood": ood, "file": "w.onnx"}).save(tmp_path / "w.json")
    digit = tmp_path / "digit.png"
    Image.fromarray(np.full((8, 8), 200, np.uint8)).save(digit)
    result = CliRunner().invoke(app, ["predict", "digits", str(digit), "-w",
                                      str(tmp_path / "w.onnx")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and result.output.count("\n") == 1
    assert result.output.startswith("error: ") and "w.json" in result.output
