"""The user weights folder ($ZOO_HOME): shipping into it, name collisions, what every command
sees, `zoo export` metadata, and the Hub model card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from core_helpers import write_digit_pngs
from typer.testing import CliRunner

import zoo
from zoo import home
from zoo.cli.app import app
from zoo.errors import WeightsError
from zoo.hub import model_card, upload_files
from zoo.publish import ship
from zoo.weights import list_weights, resolve

runner = CliRunner()


@pytest.fixture
def zoo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")  # `zoo list` rows on one line each
    return tmp_path / "home"


def run_folder(folder: Path, shipped_name: str) -> Path:
    """A run folder (model.onnx + model.json) holding the bytes of a shipped digits weight set."""
    (source,) = [s for s in list_weights("digits") if s.meta.name == shipped_name]
    folder.mkdir(parents=True)
    shutil.copyfile(source.onnx, folder / "model.onnx")
    meta = json.loads(source.onnx.with_suffix(".json").read_text())
    meta["file"] = "model.onnx"
    (folder / "model.json").write_text(json.dumps(meta))
    return folder


def test_zoo_home_defaults_to_the_platform_user_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    from platformdirs import user_data_dir

    monkeypatch.delenv("ZOO_HOME")
    assert home.weights_root() == Path(user_data_dir("zoo", appauthor=False)) / "weights"


def test_shipped_weights_are_used_by_name_everywhere(zoo_home: Path, tmp_path: Path) -> None:
    run = run_folder(tmp_path / "run", "digits-dense")
    result = runner.invoke(app, ["ship", str(run), "--name", "digits-mine"])
    assert result.exit_code == 0, result.output
    installed = zoo_home / "weights" / "digits" / "digits-mine.onnx"
    assert installed.is_file() and installed.with_suffix(".json").is_file()

    assert resolve("digits", "digits-mine").onnx == installed
    (path, label), = write_digit_pngs(tmp_path / "img", n=1)
    assert zoo.load("digits", weights="digits-mine").predict([str(path)])[0].result["label"] == str(label)
    listed = runner.invoke(app, ["list", "digits"])
    assert "digits-mine.v1 (dense, user)" in listed.output
    info = runner.invoke(app, ["info", "digits", "--json", "--no-card"])
    origins = {w["name"]: w["origin"] for w in json.loads(info.output)["weights"]}
    assert origins == {"digits-cnn": "shipped", "digits-dense": "shipped", "digits-mine": "user"}
    predicted = runner.invoke(app, ["predict", "digits", str(path), "-w", "digits-mine",
                                    "--format", "json"])
    assert json.loads(predicted.output)[0]["weights"] == "digits-mine"


def test_names_never_collide_silently(zoo_home: Path, tmp_path: Path) -> None:
    dense = run_folder(tmp_path / "dense", "digits-dense")
    cnn = run_folder(tmp_path / "cnn", "digits-cnn")
    first = ship(dense, "digits-mine")
    assert ship(dense, "digits-mine") == first  # the same bytes again: nothing to do

    with pytest.raises(WeightsError, match=r"digits-mine.v1 already exist with other bytes; "
                                           r"pass --force to install these as digits-mine.v2"):
        ship(cnn, "digits-mine")
    second = ship(cnn, "digits-mine", force=True)
    assert second.name == "digits-mine.v2.onnx" and first.is_file()
    assert resolve("digits", "digits-mine").meta.arch == "cnn"
    assert resolve("digits", "digits-mine.v1").meta.arch == "dense"

    result = runner.invoke(app, ["ship", str(cnn), "--name", "digits-dense"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: digits-dense: a shipped weight set of digits has this name and the user's would "
        "shadow it; pass --force to shadow it or pick another name")
    assert runner.invoke(app, ["ship", str(cnn), "--name", "digits-dense", "--force"]).exit_code == 0
    (shadow,) = [s for s in list_weights("digits") if s.meta.name == "digits-dense"]
    assert home.is_user_weights(shadow.onnx) and shadow.meta.arch == "cnn"
    assert "digits-dense.v1 (cnn, user, shadows shipped)" in runner.invoke(app, ["list", "digits"]).output


def test_ship_into_another_folder(zoo_home: Path, tmp_path: Path) -> None:
    run = run_folder(tmp_path / "run", "digits-dense")
    target = ship(run, "digits-elsewhere", dest=tmp_path / "pretrained")
    assert target == tmp_path / "pretrained" / "digits" / "digits-elsewhere.onnx"
    assert not (zoo_home / "weights").exists()


def test_model_card_has_the_hub_yaml_metadata() -> None:
    yaml = pytest.importorskip("yaml")
    pytest.importorskip("huggingface_hub")
    (real,) = [s for s in list_weights("digits") if s.meta.name == "digits-cnn"]
    card = model_card(real.meta, "me/digits")
    header, body = card.split("\n---\n", 1)
    data = yaml.safe_load(header.removeprefix("---\n"))
    assert data["license"] == "mit" and data["library_name"] == "physzoo"
    assert {"zoo", "onnx", "digits", "cnn"} <= set(data["tags"]) and "simulated" not in data["tags"]
    assert data["datasets"] == [real.meta.data_source["type"]]
    (result,) = data["model-index"][0]["results"]
    assert data["model-index"][0]["name"] == "digits-cnn"
    metrics = {m["type"]: m["value"] for m in result["metrics"]}
    assert metrics["accuracy"] == pytest.approx(real.meta.metrics["accuracy"])
    assert "zoo predict digits INPUT --weights hf://me/digits/digits-cnn" in body
    assert real.meta.sha256 in body

    simulated = [s for s in list_weights("jet-quench")][0].meta
    data = yaml.safe_load(model_card(simulated).split("\n---\n", 1)[0].removeprefix("---\n"))
    assert "simulated" in data["tags"] and "datasets" not in data


def test_upload_includes_the_files_fine_tuning_needs(tmp_path: Path) -> None:
    onnx = tmp_path / "digits-mine.v2.onnx"
    assert [p.name for p in upload_files(onnx)] == [
        "digits-mine.v2.onnx", "digits-mine.v2.json", "digits-mine.v2.weights.h5"]


def test_export_writes_metadata_beside_the_onnx(zoo_home: Path, tmp_path: Path) -> None:
    pytest.importorskip("keras")
    run = run_folder(tmp_path / "run", "digits-dense")
    zoo.create_model("digits", "dense").save(run / "model.keras")
    out = tmp_path / "out" / "d1.onnx"
    result = runner.invoke(app, ["export", str(run / "model.keras"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    ref = resolve("digits", out)
    assert ref.meta.name == "d1" and ref.meta.file == "d1.onnx"
    ref.verify()


@pytest.mark.parametrize("command", ["pull", "ship", "predict", "bench", "eval"])
def test_help_of_the_weights_options_renders(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
