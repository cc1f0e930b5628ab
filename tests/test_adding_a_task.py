"""docs/architecture.md's "Adding a task" recipe, run as written: its module is imported from a
temporary folder, registers a task and an architecture, trains through `zoo train` and predicts
through `zoo predict` and the Python API - with no change to the core."""

from __future__ import annotations

import importlib
import re
import sys

import numpy as np
import pytest
from conftest import REPO
from PIL import Image
from typer.testing import CliRunner

import zoo
from zoo import registry
from zoo.cli.app import app
from zoo.errors import DuplicateNameError

runner = CliRunner()


def recipe_code() -> str:
    """The python block of the "Adding a task" section of docs/architecture.md."""
    text = (REPO / "docs" / "architecture.md").read_text()
    section = text.split("## Adding a task", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S)[1]  # type: ignore[index]


@pytest.fixture
def toy_task(tmp_path, monkeypatch):
    """The recipe's module imported from ``tmp_path``; the registry is restored afterwards."""
    registry.discover()
    monkeypatch.setattr(registry, "_TASKS", dict(registry._TASKS))
    monkeypatch.setattr(registry, "_ARCHS", {t: dict(a) for t, a in registry._ARCHS.items()})
    (tmp_path / "toy_dots_task.py").write_text(recipe_code())
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("toy_dots_task")
    yield module
    sys.modules.pop("toy_dots_task", None)


def write_dots(folder, seed: int = 1, n: int = 12) -> list[tuple[str, str]]:
    """4x4 PNGs with one bright dot, and the half it is in."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        side = int(rng.integers(0, 2))
        pixels = (rng.random((4, 4)) * 50).astype(np.uint8)
        pixels[rng.integers(0, 4), 2 * side + rng.integers(0, 2)] = 255
        path = folder / f"dot_{i:02d}.png"
        Image.fromarray(pixels).save(path)
        files.append((str(path), ("left", "right")[side]))
    return files


def test_the_recipe_registers_a_task_without_touching_the_core(toy_task):
    assert "toy-dots" in zoo.list_tasks()
    assert zoo.list_models("toy-*") == ["toy-dots/dense"]
    task = zoo.get_task("toy-dots")
    assert task.output_specs([("probabilities", 2)])[0]["kind"] == "softmax"
    data = task.load_data(None, seed=0)
    assert data.train.x["image"].shape == (512, 4, 4, 1) and data.source["simulated"]
    with pytest.raises(DuplicateNameError, match="toy-dots"):
        importlib.reload(toy_task)  # registering the same names again is an error
    result = runner.invoke(app, ["info", "toy-dots", "--no-card"])
    assert result.exit_code == 0 and "toy-dots-gray4x4-v1" in result.output


def test_the_recipe_trains_and_predicts(toy_task, tmp_path):
    pytest.importorskip("keras")
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "toy-dots", "--out", str(run)])
    assert result.exit_code == 0, result.output
    meta = zoo.WeightsMeta.from_file(run / "model.json")
    assert (meta.task, meta.preprocessing, meta.outputs[0]["kind"]) == (
        "toy-dots", "toy-dots-gray4x4-v1", "softmax")
    assert meta.metrics["accuracy"] > 0.9

    files = write_dots(tmp_path / "dots")
    (tmp_path / "dots" / "big.png").write_bytes(b"")  # a bad file among them: one line
    result = runner.invoke(app, ["predict", "toy-dots", str(tmp_path / "dots"), "-w", str(run),
                                 "-f", "csv"])
    assert result.exit_code == 1 and result.output.count("big.png") >= 1
    predictor = zoo.load("toy-dots", weights=run)
    labels = [p.result["label"] for p in predictor([path for path, _ in files])]
    assert sum(a == b for a, b in zip(labels, [side for _, side in files], strict=True)) >= 11
