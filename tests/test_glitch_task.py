"""glitch / glitch-chirp: preprocessing parity with Gravity Spy, readers, bad input, models."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.errors import InputError
from zoo.registry import get_task, list_models
from zoo.tasks.glitch.constants import CLASSES, DURATIONS, SPLITS
from zoo.tasks.glitch.formats import (
    read_gravityspy_h5,
    read_metadata_csv,
    read_scan,
    read_scan_folder,
)

#: zoo (Pillow decode, 709 luma, scipy Gaussian + bilinear zoom) vs scikit-image rescale(0.3):
#: mean / max |diff|. Measured on the real scans: max ~1e-7 (float64 vs float32 rounding).
MEAN_TOL, MAX_TOL = 1e-6, 1e-5


def skimage_reference(path: Path) -> np.ndarray:
    """Gravity Spy's ``read_grayscale``, written independently with scikit-image."""
    from skimage import io
    from skimage.color import rgb2gray
    from skimage.transform import rescale

    pixels = io.imread(path)[66:532, 105:671, :3]
    return rescale(rgb2gray(pixels), 0.3, mode="constant", preserve_range=True)


def write_omega_scan(path: Path, seed: int = 0) -> Path:
    """An 800x600 RGBA Omega-scan PNG drawn as Gravity Spy draws it, of a noisy blob."""
    from zoo.tasks.glitch.simulator import render_omega_scan

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:140, 0:170]
    gray = rng.random((140, 170)) * 0.3 + 0.6 * np.exp(-((yy - 60) ** 2 / 80 + (xx - 85) ** 2 / 30))
    return render_omega_scan(np.clip(gray, 0, 1), path, "1.0")


def write_h5(path: Path, per_split: int = 2, classes: tuple[str, ...] = ("Blip", "Chirp", "Whistle"),
             seed: int = 0, drop: str | None = None) -> Path:
    """A small file in the trainingsetv1d1 layout: f[label][split][id]['0.5.png'] (1, 140, 170)."""
    import h5py

    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        for k, label in enumerate(classes):
            for split in SPLITS:
                for i in range(per_split):
                    group = f.create_group(f"{label}/{split}/{label[:3]}{split[:2]}{i:04d}")
                    for d, dur in enumerate(DURATIONS):
                        if f"{dur}.png" == drop:
                            continue
                        img = rng.random((1, 140, 170)).astype(np.float32) * 0.2
                        img[0, 10 * k:10 * k + 10] += 0.5 + 0.1 * d
                        group[f"{dur}.png"] = img
    return path


# ---- preprocessing -------------------------------------------------------------------------

def test_raw_omega_scan_matches_gravityspy_recipe(tmp_path):
    path = write_omega_scan(tmp_path / "H1_abc_spectrogram_1.0.png")
    ours = read_scan(path).views[0]
    ref = skimage_reference(path)
    assert ours.shape == ref.shape == (140, 170) and ours.dtype == np.float32
    diff = np.abs(ours - ref)
    assert diff.mean() < MEAN_TOL and diff.max() < MAX_TOL


def test_real_scan_matches_gravityspy_recipe(gravityspy_dir):
    path = sorted((gravityspy_dir / "Blip").glob("*_1.0.png"))[0]
    scan = read_scan(path)
    diff = np.abs(scan.views[0] - skimage_reference(path))
    assert scan.form == "Omega scan 800x600 (Gravity Spy crop)"
    assert diff.mean() < MEAN_TOL and diff.max() < MAX_TOL


def test_cropped_spectrogram_is_resized(tmp_path):
    path = tmp_path / "crop.png"
    Image.fromarray((np.random.default_rng(0).random((233, 283)) * 255).astype(np.uint8)).save(path)
    scan = read_scan(path)
    image = scan.views[0]
    assert image.shape == (140, 170) and scan.form == "gray spectrogram 283x233"
    assert 0 <= image.min() <= image.max() <= 1


# ---- readers -------------------------------------------------------------------------------

def test_h5_reader_keeps_split_and_views(tmp_path):
    path = write_h5(tmp_path / "set.h5")
    single = read_gravityspy_h5(path, "single", duration="1.0")
    assert [len(s) for s in (single.train, single.validation, single.test)] == [6, 6, 6]
    assert single.train.x["image"].shape == (6, 140, 170, 1)
    assert set(single.test.y) == {CLASSES.index(c) for c in ("Blip", "Chirp", "Whistle")}
    everything = read_gravityspy_h5(path, "single", duration="all")
    assert len(everything.train) == 24 and everything.train.ids[0].endswith("/0.5")
    multi = read_gravityspy_h5(path, "multiview", positive="Chirp")
    assert multi.train.x["image"].shape == (6, 280, 340, 1) and multi.train.y.sum() == 2
    tile = multi.train.x["image"][0, :, :, 0]
    with __import__("h5py").File(path) as f:
        gid = multi.train.ids[0]
        label = next(lab for lab in f if gid in f[lab]["train"])
        np.testing.assert_allclose(tile[140:, 170:], f[label]["train"][gid]["4.0.png"][0])
    assert multi.source["sha256"] and multi.source["options"]["view"] == "multiview"


def test_png_folder_reader(gravityspy_dir):
    data = read_scan_folder(gravityspy_dir, "multiview", seed=0)
    total = len(data.train) + len(data.validation) + len(data.test)
    assert total == 4 and data.train.x["image"].shape[1:] == (280, 340, 1)


def test_metadata_csv(tmp_path):
    good = tmp_path / "meta.csv"
    good.write_text("gravityspy_id,label,sample_type,ifo,event_time\nBlitr0000,Blip,train,H1,1.0\n")
    assert read_metadata_csv(good) == {"Blitr0000": "Blip"}
    read_gravityspy_h5(write_h5(tmp_path / "set.h5"), metadata_csv=good)


@pytest.mark.parametrize("case, message", [
    ("truncated", "corrupt or truncated image"),
    ("text", "not an image file"),
    ("tiny", "too small for a spectrogram"),
    ("other_h5", "not the trainingsetv1d1 layout: top-level keys ['foo']"),
    ("missing_h5", "lacks 4.0.png"),
    ("csv_class", "line 2: unknown class 'Blipp' in column label"),
    ("not_h5", "not an HDF5 file"),
])
def test_bad_inputs_give_one_line_errors(tmp_path, case, message):
    import h5py

    path = tmp_path / "x.png"
    if case == "truncated":
        write_omega_scan(path)
        path.write_bytes(path.read_bytes()[:5000])
    elif case == "text":
        path.write_text("not a png")
    elif case == "tiny":
        Image.new("L", (10, 12)).save(path)
    elif case in ("other_h5", "not_h5"):
        path = tmp_path / "x.h5"
        if case == "other_h5":
            with h5py.File(path, "w") as f:
                f["foo/bar"] = np.zeros(3)
        else:
            path.write_text("plain text")
    elif case == "missing_h5":
        path = write_h5(tmp_path / "x.h5", drop="4.0.png")
    else:
        path = tmp_path / "meta.csv"
        path.write_text("gravityspy_id,label\nabc,Blipp\n")
    with pytest.raises(InputError) as info:
        if case.endswith("h5"):
            read_gravityspy_h5(path)
        elif case == "csv_class":
            read_metadata_csv(path)
        else:
            read_scan(path)
    text = str(info.value)
    assert message in text and str(path) in text and "\n" not in text


def test_sample_missing_a_duration_is_one_error_and_batch_goes_on(tmp_path, gravityspy_dir):
    import shutil

    folder = tmp_path / "Blip"
    shutil.copytree(gravityspy_dir / "Blip", folder)
    next(folder.glob("*0Sug0tqkoL*_4.0.png")).unlink()
    task = get_task("glitch")
    samples = list(task.samples([str(folder)], {"view": "multiview"}))
    assert [s.key for s in samples] == ["0PgqDFdHPl", "0Sug0tqkoL"]
    assert task.read(samples[0], {})["image"].shape == (280, 340, 1)
    with pytest.raises(InputError, match=r"sample 0Sug0tqkoL lacks 4.0 s"):
        task.read(samples[1], {})


def test_samples_group_by_id(gravityspy_dir):
    task = get_task("glitch")
    grouped = list(task.samples([str(gravityspy_dir)], {"view": "multiview"}))
    assert len(grouped) == 4 and {s.group for s in grouped} == {"multiview"}
    assert all(len(s.sources) == 4 and s.sources[0].endswith("_0.5.png") for s in grouped)
    alone = list(task.samples([str(gravityspy_dir)], {"view": "single"}))
    assert len(alone) == 16 and {s.group for s in alone} == {"single"}
    one = sorted(gravityspy_dir.glob("Blip/*_1.0.png"))[0]
    (sample,) = task.samples([str(one)], {})
    assert sample.group == "single" and task.read(sample, {})["image"].shape == (140, 170, 1)


def test_arch_or_view_option_picks_the_view():
    glitch, chirp = get_task("glitch"), get_task("glitch-chirp")
    assert glitch.prediction_view({}) == "auto" and chirp.prediction_view({}) == "single"
    assert glitch.prediction_view({"arch": "singleview"}) == "single"
    assert glitch.prediction_view({"arch": "multiview"}) == "multiview"
    assert glitch.prediction_view({"view": "single", "arch": "multiview"}) == "single"
    assert glitch.weights_for_group("multiview") == "glitch-multiview"
    assert glitch.weights_for_group("single") == "glitch-singleview"
    with pytest.raises(InputError, match="unknown view 'both'"):
        glitch.prediction_view({"view": "both"})


# ---- models --------------------------------------------------------------------------------

@pytest.mark.parametrize("task, arch", [("glitch", a) for a in list_models(task="glitch")]
                         + [("glitch-chirp", "small-cnn")])
def test_architecture_builds_runs_and_exports(tmp_path, task, arch):
    pytest.importorskip("keras")  # the train extra
    from zoo.onnx_export import export_onnx
    from zoo.training import create_model

    model = create_model(task, arch)
    view = get_task(task).data_options_for(arch)["view"]
    shape = (280, 340, 1) if view == "multiview" else (140, 170, 1)
    assert tuple(model.input_shape[1:]) == shape
    out = model.predict(np.zeros((2, *shape), np.float32), verbose=0)
    assert out.shape == ((2, 22) if task == "glitch" else (2, 1))
    assert export_onnx(model, tmp_path / "m.onnx", check_samples=2) <= 1e-4


@pytest.mark.slow
def test_small_cnn_beats_chance_on_simulated_data(tmp_path, monkeypatch):
    from zoo.training import fit

    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    result = fit("glitch", "small-cnn", tmp_path / "run", data_options={"n_per_class": 12,
                 "duration": "1.0"}, recipe_overrides={"epochs": 6}, progress=False)
    assert result.meta.data_source["simulated"] is True
    assert result.metrics["accuracy"] > 5 / 22


def test_multiview_training_gets_mosaic_data(tmp_path):
    pytest.importorskip("keras")  # the train extra
    from zoo.training import fit

    path = write_h5(tmp_path / "set.h5", per_split=3)
    result = fit("glitch-chirp", "multiview", tmp_path / "run", data=str(path),
                 recipe_overrides={"epochs": 1, "batch_size": 8}, progress=False)
    assert result.meta.data_source["options"]["view"] == "multiview"
    assert result.metrics["chirps_found"].endswith("/3") and "threshold" in result.metrics
    assert result.meta.threshold == result.metrics["threshold"]  # kept in the weights' metadata


def test_predict_real_scans_with_shipped_weights(gravityspy_dir):
    import zoo
    from zoo.weights import list_weights

    names = {r.meta.name for r in list_weights("glitch")}
    if not {"glitch-multiview", "glitch-singleview"} <= names:
        pytest.skip("glitch weights not shipped yet")
    grouped = zoo.load("glitch").predict([gravityspy_dir])
    assert sorted(p.key for p in grouped) == ["0BydFQWn2G", "0NcTUtcUQE", "0PgqDFdHPl", "0Sug0tqkoL"]
    assert all(p.ok and p.weights == "glitch-multiview" and p.result["label"] in CLASSES for p in grouped)
    alone = zoo.load("glitch", weights="glitch-singleview").predict([gravityspy_dir], view="single")
    assert len(alone) == 16 and all(p.ok and p.weights == "glitch-singleview" for p in alone)


def test_csv_written_by_gravity_spy_tools_reads(tmp_path):
    path = tmp_path / "meta.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["event_time", "ifo", "gravityspy_id", "label", "sample_type"])
        writer.writerow([1.0, "L1", "abc", "Chirp", "test"])
    assert read_metadata_csv(path) == {"abc": "Chirp"}


def test_predict_says_which_input_kind_it_saw_only_when_verbose(gravityspy_dir):
    from typer.testing import CliRunner

    from zoo.cli.app import app

    scan = str(next(iter(sorted((gravityspy_dir / "Blip").glob("*_1.0.png")))))
    runner = CliRunner()
    quiet = runner.invoke(app, ["predict", "glitch", scan, "--format", "csv"])
    loud = runner.invoke(app, ["predict", "glitch", scan, "--verbose"])
    assert quiet.exit_code == 0 and loud.exit_code == 0
    assert "Omega scan 800x600" in quiet.output  # machine-readable output keeps every field
    table = runner.invoke(app, ["predict", "glitch", scan])
    assert "Omega" not in table.output and "Omega" in loud.output  # (a wrapped table cell)
