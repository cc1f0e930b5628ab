"""jet-quench training: a briefly trained CNN beats chance, Optuna tuning runs, and the
CLI reports a bad data file in one line without writing a run."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")

from zoo.registry import get_task  # noqa: E402
from zoo.task import Dataset, Split  # noqa: E402


def _head(split: Split, n: int) -> Split:
    return Split({k: v[:n] for k, v in split.x.items()}, split.y[:n],
                 None if split.weights is None else split.weights[:n])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    import os

    os.environ["ZOO_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    return get_task("jet-quench").load_data(None, seed=0, n_jets=3000)


def test_briefly_trained_cnn_beats_chance(data, tmp_path):
    """A one-module Inception trained for seconds (6 epochs on 2,100 jets) separates the
    classes: the intensity encoding lets it count the soft constituents."""
    from zoo.training import fit

    run = fit("jet-quench", "inception", tmp_path / "run", dataset=data, progress=False,
              hparams={"modules": 1, "towers": 3, "filters": 8},
              recipe_overrides={"epochs": 6, "batch_size": 64, "learning_rate": 3e-3})
    assert run.metrics["roc_auc"] > 0.6
    assert run.metrics["unweighted"]["roc_auc"] > 0.65
    assert run.meta.baseline["roc_auc"] > 0.56
    assert run.meta.trained_on_simulation
    assert (tmp_path / "run" / "roc.png").stat().st_size > 0


def test_tune_runs_trials_and_names_the_best(data):
    from zoo.tuning import tune

    small = Dataset(*(_head(s, 400) for s in (data.train, data.validation, data.test)),
                    source=data.source)
    result = tune("jet-quench", "cnn", 2, data=small, epochs=1)
    assert len(result.trials) == 2 and result.best is not None
    assert 0.0 <= result.best.value <= 1.0
    assert result.train_command().startswith("zoo train jet-quench --arch cnn --learning-rate")


def test_cli_bad_file_is_one_line_and_writes_nothing(tmp_path):
    import h5py
    from typer.testing import CliRunner

    from zoo.cli.app import app

    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as h5:
        h5["images"] = np.zeros((10, 33, 33, 2))
        h5["labels"] = np.arange(10) % 2
        h5["weights"] = -np.ones(10)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "jet-quench", "--data", str(bad), "--out", str(out),
                                      "--epochs", "1"])
    assert result.exit_code == 1
    assert f"{bad}: field 'weights' has negative values" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))
