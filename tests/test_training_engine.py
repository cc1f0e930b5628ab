"""One training engine for train, tune and kfold; overrides checked before anything starts;
run folders locked, resumed with their whole history, never silently retrained."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from zoo.cli.app import app
from zoo.errors import ZooError
from zoo.overrides import check
from zoo.registry import get_architecture, get_task
from zoo.task import Dataset, Split

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


# ---- overrides: checked against recipe, data options and the builder's signature ---------
@pytest.mark.parametrize(("args", "expected"), [
    (["--epoch", "2"], "unknown training option --epoch; did you mean --epochs?"),
    (["--data-n", "8"], "unknown data option of digits --data-n"),
    (["--hp-filter", "8"], "unknown hyper-parameter of digits/dense --hp-filter"),
    (["--hp-unit", "8"], "did you mean --hp-units?"),
    (["--early-stopping-patience", "soon"], "--early-stopping-patience: 'soon' is not a valid int"),
    (["--hp-units", "many"], "--hp-units: 'many' is not a valid int"),
])
def test_train_refuses_unknown_or_mistyped_overrides_in_one_line(tmp_path, args, expected):
    out = tmp_path / "run"
    result = invoke("train", "digits", "--arch", "dense", "--out", str(out), *args)
    assert result.exit_code == 1
    assert expected in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("args", [
    ["kfold", "digits", "--epoch", "2"],
    ["kfold", "digits", "--data-n", "8"],
    ["tune", "jet-quench", "--arch", "cnn", "--hp-filters", "8"],
    ["tune", "jet-quench", "--arch", "cnn", "--data-n-jet", "100"],
    ["eval", "digits", "--fromat", "json"],
    ["eval", "digits", "--data-n", "8"],
])
def test_every_training_command_checks_its_extra_options(tmp_path, args):
    result = invoke(*args, "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "unknown" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_tune_refuses_to_train_its_best_trial_over_a_finished_run(tmp_path):
    (tmp_path / "best").mkdir()
    (tmp_path / "best" / "model.json").write_text("{}")
    result = invoke("tune", "jet-quench", "--arch", "cnn", "--train-best", "--out", str(tmp_path))
    assert result.exit_code == 1 and "holds a finished run" in result.output
    assert not (tmp_path / "tune.json").exists()


def test_overrides_are_converted_to_the_types_they_target():
    task = get_task("jet-quench")
    checked = check(task, get_architecture("jet-quench", "cnn"), {"epochs": "3"},
                    {"filters": 8.0}, {"n_jets": "500", "qhat": 2})
    assert checked.recipe.epochs == 3 and checked.hparams == {"filters": 8}
    assert checked.data_options == {"n_jets": 500, "qhat": 2.0}
    with pytest.raises(ZooError, match="did you mean --data-n-jets"):
        check(task, get_architecture("jet-quench", "cnn"), data_options={"n_jet": 5})


# ---- run folders --------------------------------------------------------------------------
keras = pytest.importorskip("keras")


def _fit(out, **kwargs):
    from zoo.training import fit

    kwargs.setdefault("recipe_overrides", {"epochs": 2})
    return fit("digits", kwargs.pop("arch", "dense"), out, progress=False, **kwargs)


class Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


def test_a_folder_being_written_is_refused_and_unlocked_afterwards(tmp_path):
    from zoo.run_folder import RunFolder

    with RunFolder(tmp_path, {"task": "someone else"}), \
            pytest.raises(ZooError, match="another run is writing to this folder"):
        _fit(tmp_path)
    assert not (tmp_path / "model.json").exists()
    run = _fit(tmp_path)  # the lock went with its holder
    assert run.meta.extra["epochs_run"] == 2 and not (tmp_path / ".lock").exists()


def test_a_second_training_into_a_busy_folder_fails_in_one_line(tmp_path):
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from zoo.run_folder import RunFolder\n"
         f"with RunFolder({str(tmp_path)!r}, {{}}):\n print('locked', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = invoke("train", "digits", "--arch", "dense", "--epochs", "1", "--out", str(tmp_path))
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert result.exit_code == 1 and len(errors) == 1 and "Traceback" not in result.output
        assert f"another run is writing to this folder (pid {holder.pid})" in result.output
    finally:
        holder.communicate("", timeout=60)
    assert holder.returncode == 0 and not (tmp_path / ".lock").exists()


def test_a_finished_run_is_kept_unless_forced(tmp_path):
    first = _fit(tmp_path)
    with pytest.raises(ZooError, match="finished run; pass --force"):
        _fit(tmp_path)
    assert json.loads((tmp_path / "model.json").read_text())["sha256"] == first.meta.sha256
    again = _fit(tmp_path, force=True, recipe_overrides={"epochs": 1})
    rows = (tmp_path / "history.csv").read_text().strip().splitlines()[1:]
    assert len(rows) == 1 == again.meta.extra["epochs_run"]


def test_finished_run_cli_says_so_in_one_line(tmp_path):
    _fit(tmp_path)
    result = invoke("train", "digits", "--arch", "dense", "--epochs", "2", "--out", str(tmp_path))
    assert result.exit_code == 1 and "--force" in result.output
    assert "Traceback" not in result.output


def test_a_resume_with_other_settings_is_refused(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path, recipe_overrides={"epochs": 4}, extra_callbacks=[Interrupt()])
    with pytest.raises(ZooError, match=r"interrupted run with other settings \(arch"):
        _fit(tmp_path, arch="cnn", recipe_overrides={"epochs": 4})
    with pytest.raises(ZooError, match=r"other settings \(recipe\)"):
        _fit(tmp_path, recipe_overrides={"epochs": 5})
    resumed = _fit(tmp_path, recipe_overrides={"epochs": 4})
    assert resumed.resumed_from == 2 and resumed.meta.extra["epochs_run"] == 4


def test_early_stopping_state_survives_an_interruption(tmp_path):
    from zoo.run_folder import read_history

    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path, recipe_overrides={"epochs": 4, "early_stopping_patience": 3},
             extra_callbacks=[Interrupt()])
    state = json.loads((tmp_path / "checkpoint" / "early_stopping.json").read_text())
    val_loss = read_history(tmp_path / "history.csv")["val_loss"]
    assert len(val_loss) == 2 and state["best"] == pytest.approx(min(val_loss))
    assert state["best_epoch"] == int(np.argmin(val_loss))
    assert (tmp_path / "checkpoint" / "early_stopping_best.npz").exists()
    resumed = _fit(tmp_path, recipe_overrides={"epochs": 4, "early_stopping_patience": 3})
    assert resumed.resumed_from == 2 and not (tmp_path / "checkpoint").exists()


def test_bad_data_leaves_no_run_folder(tmp_path):
    with pytest.raises(ZooError):
        _fit(tmp_path / "run", data=str(tmp_path / "nothing.npz"))
    assert not (tmp_path / "run").exists()


# ---- one engine -----------------------------------------------------------------------------
@pytest.fixture
def engine_calls(monkeypatch):
    import zoo.training

    calls = []
    real = zoo.training.train_model

    def spy(task, spec, recipe, data, hparams, **kwargs):
        calls.append(recipe)
        return real(task, spec, recipe, data, hparams, **kwargs)

    monkeypatch.setattr(zoo.training, "train_model", spy)
    return calls


def test_kfold_trains_every_fold_through_the_engine(tmp_path, engine_calls):
    from zoo.cross_validation import kfold

    report = kfold("digits", "dense", 2, tmp_path, recipe_overrides={"epochs": 2})
    assert len(engine_calls) == 2 and len(report["average_curve"]) == 2
    # the recipe is applied as zoo train applies it, without early stopping (curves align)
    assert all(r.lr_schedule == "plateau" and r.early_stopping_patience is None
               for r in engine_calls)


def test_tune_trains_every_trial_through_the_engine(engine_calls):
    from zoo.tuning import tune

    rng = np.random.default_rng(0)

    def split(n):
        return Split({"image": rng.random((n, 33, 33, 2), dtype=np.float32)},
                     (np.arange(n) % 2).astype(np.float32))

    data = Dataset(split(64), split(32), split(32), source={"type": "test"})
    result = tune("jet-quench", "cnn", 2, data=data, epochs=1,
                  recipe_overrides={"early_stopping_patience": 3})
    assert len(engine_calls) == 2 and all(r.early_stopping_patience == 3 for r in engine_calls)
    assert "--early-stopping-patience 3" in result.train_command()


# ---- tasks hold no state: glitch-chirp's threshold lives in the weights' metadata --------
def test_chirp_threshold_goes_to_the_callback_not_the_task():
    from zoo.tasks.glitch import GlitchChirp, threshold_callback

    inp = keras.Input((4,), name="image")
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(inp))
    x = np.random.default_rng(0).random((40, 4), dtype=np.float32)
    callback = threshold_callback(Split({"image": x}, (x[:, 0] > 0.5).astype(np.float32)))
    callback.set_model(model)
    callback.on_train_end()
    threshold = callback.weights_metadata["threshold"]
    assert 0 < threshold["raw_threshold"] < 1 and threshold["chosen_on"].startswith("validation")
    assert not hasattr(GlitchChirp, "last_threshold")
    assert threshold_callback(Split({"image": x}, x[:, 0])).weights_metadata == {}


def test_eval_reports_the_threshold_recorded_in_the_weights(tmp_path):
    import shutil

    import zoo
    from zoo.weights import resolve

    shipped = resolve("digits", "digits-dense")
    shutil.copy(shipped.onnx, tmp_path / "digits-dense.onnx")
    meta = json.loads(shipped.onnx.with_suffix(".json").read_text())
    meta["threshold"] = {"raw_threshold": 0.3, "chosen_on": "validation (max F1)"}
    (tmp_path / "digits-dense.json").write_text(json.dumps(meta))
    report = zoo.evaluate("digits", tmp_path / "digits-dense.onnx")
    assert report["metrics"]["threshold"] == meta["threshold"]


def test_eval_with_another_seed_measures_on_other_data():
    import zoo
    from zoo.weights import resolve

    meta = resolve("digits", "digits-dense").meta
    task = get_task("digits")
    own, fresh = task.load_data_for(meta), task.load_data_for(meta, seed=meta.recipe["seed"] + 1)
    assert own.source["split_seed"] == meta.recipe["seed"]
    assert set(fresh.test.ids) != set(own.test.ids)
    report = zoo.evaluate("digits", "digits-dense", seed=meta.recipe["seed"] + 1)
    default = zoo.evaluate("digits", "digits-dense")
    assert (report["seed"], default["seed"]) == (meta.recipe["seed"] + 1, meta.recipe["seed"])
    assert report["metrics"] != default["metrics"]
