"""The multi-view ensemble: the multi-view CNN and the single-view CNN on the four durations,
averaged in one graph, filled from two trained weight sets."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("keras")  # the train extra

from test_glitch_task import write_h5  # noqa: E402

from zoo.errors import WeightsError  # noqa: E402
from zoo.registry import get_task  # noqa: E402
from zoo.tasks.glitch import ensemble  # noqa: E402
from zoo.tasks.glitch.formats import tile_views  # noqa: E402
from zoo.training import create_model  # noqa: E402


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """Two differently initialised member models and their saved ``.weights.h5`` files."""
    import keras

    folder = tmp_path_factory.mktemp("members")
    models, files = {}, {}
    for seed, arch in enumerate(ensemble.MEMBERS, start=1):
        keras.utils.set_random_seed(seed)
        models[arch] = create_model("glitch", arch)
        files[arch] = folder / f"{arch}.weights.h5"
        models[arch].save_weights(files[arch])
    return models, files


def test_ensemble_averages_the_multiview_and_the_four_singleview_outputs(members):
    models, files = members
    filled, record = ensemble.fill("glitch", {k: str(v) for k, v in files.items()})
    views = np.random.default_rng(0).random((4, 2, 140, 170), dtype=np.float32)
    mosaic = np.stack([tile_views(list(views[:, i])) for i in range(2)])[..., None]
    single = np.mean([models["singleview"].predict(v[..., None], verbose=0) for v in views], axis=0)
    expected = (models["multiview"].predict(mosaic, verbose=0) + single) / 2
    np.testing.assert_allclose(filled.predict(mosaic, verbose=0), expected, atol=1e-5)
    assert set(record) == {"multiview", "singleview"}
    assert all(len(r["sha256"]) == 64 for r in record.values())


def test_a_member_of_the_wrong_architecture_is_refused(members):
    _, files = members
    with pytest.raises(WeightsError, match="not weights of the 'multiview' architecture"):
        ensemble.fill("glitch", {"multiview": str(files["singleview"]),
                                 "singleview": str(files["singleview"])})


def test_run_writes_a_run_folder_that_predicts_events(members, tmp_path):
    _, files = members
    data = write_h5(tmp_path / "set.h5", per_split=2)
    out = tmp_path / "run"
    ensemble.main([str(files["multiview"]), str(files["singleview"]), "--data", str(data),
                   "--out", str(out), "--name", "glitch-event-test"])
    meta = json.loads((out / "model.json").read_text())
    assert meta["arch"] == "multiview-ensemble" and meta["name"] == "glitch-event-test"
    assert meta["inputs"][0]["shape"] == [280, 340, 1]
    assert meta["command"].startswith("python -m zoo.tasks.glitch.ensemble ")
    assert set(meta["extra"]["members"]) == {"multiview", "singleview"}
    assert meta["metrics"]["n"] == 6  # the test split, read as mosaics
    assert get_task("glitch").prediction_view({"weights": str(out)}) == "multiview"
    with pytest.raises(WeightsError, match="pass --arch multiview-ensemble"):
        from zoo.training import initial_weights

        initial_weights("glitch", "multiview", str(out))


def test_a_bad_member_is_one_line_from_the_command(members, tmp_path):
    _, files = members
    with pytest.raises(SystemExit, match="^error: .*glitch-nonesuch"):
        ensemble.main(["glitch-nonesuch", str(files["singleview"]), "--data", "x.h5",
                       "--out", str(tmp_path / "run")])
    assert not (tmp_path / "run" / "model.json").exists()
