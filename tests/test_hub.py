"""Hub pull and offline use against a loopback Hub (tests/hub_server.py); nothing leaves the
machine. huggingface_hub reads HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE when it is imported,
so every step runs the real `zoo` command in a fresh process with its own environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from core_helpers import write_digit_pngs
from hub_server import FakeHub

from zoo.weights import WeightsMeta, list_weights

pytest.importorskip("huggingface_hub")

REPO_ID = "zoo-test/digits-hub"


def weight_set_files(name: str = "digits-hub") -> dict[str, bytes]:
    """The shipped digits-dense weight set renamed ``name``, as a zoo Hub repo holds it."""
    (shipped,) = [s for s in list_weights("digits") if s.meta.name == "digits-dense"]
    meta = json.loads(shipped.onnx.with_suffix(".json").read_text())
    meta.update(name=name, file=f"{name}.onnx")
    return {f"{name}.onnx": shipped.onnx.read_bytes(), f"{name}.json": json.dumps(meta).encode(),
            "README.md": b"---\nlibrary_name: physzoo\n---\n# digits-hub\n"}


@pytest.fixture
def hub(tmp_path: Path):
    server = FakeHub().start()
    server.commit(REPO_ID, weight_set_files())
    yield server
    server.stop()


@pytest.fixture
def env(tmp_path: Path, hub: FakeHub) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "ZOO_"))}
    return {**clean, "HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf"),
            "ZOO_HOME": str(tmp_path / "zoo"), "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1", "NO_PROXY": "127.0.0.1,localhost",
            "HF_HUB_ETAG_TIMEOUT": "3", "HF_HUB_DOWNLOAD_TIMEOUT": "3"}


def zoo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from zoo.cli.app import main; main()", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def predicted_labels(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    return [row["label"] for row in json.loads(result.stdout)]


@pytest.fixture
def digit(tmp_path: Path) -> tuple[Path, int]:
    return write_digit_pngs(tmp_path / "digits", n=1)[0]


def test_pull_installs_by_name_and_works_offline(hub: FakeHub, env: dict[str, str],
                                                tmp_path: Path, digit: tuple[Path, int]) -> None:
    commit = hub.refs[REPO_ID]["main"]
    pulled = zoo(env, "pull", REPO_ID)
    assert pulled.returncode == 0, pulled.stderr
    assert f"digits-hub.v1 (digits) at commit {commit[:12]}" in pulled.stdout
    installed = Path(env["ZOO_HOME"]) / "weights" / "digits"
    meta = WeightsMeta.from_file(installed / "digits-hub.json")
    assert meta.hub == {"repo": REPO_ID, "revision": "main", "commit": commit,
                        "uri": f"hf://{REPO_ID}@{commit}/digits-hub"}
    assert (installed / "digits-hub.md").read_text().startswith("---\nlibrary_name: physzoo")
    # The download went through huggingface_hub's own cache.
    assert (Path(env["HF_HOME"]) / "hub" / "models--zoo-test--digits-hub" / "refs" / "main").is_file()

    hub.stop()  # no network from here on: with HF_HUB_OFFLINE=1, and without it
    path, label = digit
    offline = {**env, "HF_HUB_OFFLINE": "1"}
    for run_env, weights in ((offline, "digits-hub"), (offline, f"hf://{REPO_ID}"),
                             (env, f"hf://{REPO_ID}@{commit}/digits-hub")):
        result = zoo(run_env, "predict", "digits", str(path), "-w", weights, "--format", "json")
        assert predicted_labels(result) == [str(label)], weights
    listed = zoo({**env, "HF_HUB_OFFLINE": "1"}, "list", "digits")
    assert "digits-hub" in listed.stdout


def test_pinned_revision_and_unknown_revision(hub: FakeHub, env: dict[str, str],
                                              digit: tuple[Path, int]) -> None:
    first = hub.refs[REPO_ID]["main"]
    files = weight_set_files()
    files["README.md"] = b"# a newer commit\n"
    second = hub.commit(REPO_ID, files)
    path, label = digit
    result = zoo(env, "predict", "digits", str(path), "-w", f"hf://{REPO_ID}@{first}", "--format", "json")
    assert predicted_labels(result) == [str(label)]

    error = one_line_error(zoo(env, "predict", "digits", str(path), "-w", f"hf://{REPO_ID}@v9"))
    assert error == f"error: hf://{REPO_ID}@v9: the Hub repository has no revision 'v9'"

    # Offline, the commit that was downloaded loads; the one that was not is named plainly.
    offline = {**env, "HF_HUB_OFFLINE": "1"}
    hub.stop()
    result = zoo(offline, "predict", "digits", str(path), "-w", f"hf://{REPO_ID}@{first}", "--format", "json")
    assert predicted_labels(result) == [str(label)]
    error = one_line_error(zoo(offline, "predict", "digits", str(path), "-w",
                               f"hf://{REPO_ID}@{second}"))
    assert f"hf://{REPO_ID}@{second}: not (completely) in the Hugging Face cache" in error
    assert "HF_HUB_OFFLINE is set" in error and f"zoo pull {REPO_ID}@{second}" in error


def test_corrupted_cached_file_is_refused(hub: FakeHub, env: dict[str, str], tmp_path: Path,
                                          digit: tuple[Path, int]) -> None:
    assert zoo(env, "pull", REPO_ID).returncode == 0
    cache = Path(env["HF_HOME"]) / "hub" / "models--zoo-test--digits-hub"
    (cached,) = (cache / "snapshots").glob("*/digits-hub.onnx")
    blob = cached.resolve()
    blob.write_bytes(blob.read_bytes()[:-16] + b"\0" * 16)
    other_home = {**env, "HF_HUB_OFFLINE": "1", "ZOO_HOME": str(tmp_path / "other")}
    path, _ = digit
    for args in (("predict", "digits", str(path), "-w", f"hf://{REPO_ID}/digits-hub"),
                 ("pull", REPO_ID)):
        error = one_line_error(zoo(other_home, *args))
        assert f"hf://{REPO_ID}@" in error and "digits-hub.onnx has sha256" in error
        assert "corrupt" in error
    assert not (tmp_path / "other" / "weights" / "digits" / "digits-hub.onnx").exists()


def test_offline_with_nothing_cached(env: dict[str, str], digit: tuple[Path, int]) -> None:
    path, _ = digit
    offline = {**env, "HF_HUB_OFFLINE": "1"}
    error = one_line_error(zoo(offline, "pull", REPO_ID))
    assert error.startswith(f"error: hf://{REPO_ID}: not (completely) in the Hugging Face cache (")
    assert "HF_HUB_OFFLINE is set" in error and "was not downloaded here" in error
    error = one_line_error(zoo(offline, "predict", "digits", str(path), "-w", "digits-hub"))
    assert "unknown weights of digits 'digits-hub'" in error


def test_unknown_repository_and_bad_reference(env: dict[str, str]) -> None:
    error = one_line_error(zoo(env, "pull", "zoo-test/nothing-here"))
    assert error.startswith("error: hf://zoo-test/nothing-here: no such Hub repository")
    error = one_line_error(zoo(env, "pull", "just-a-name"))
    assert "not a Hub reference; expected [hf://]ORG/REPO[@REVISION][/NAME]" in error


def test_ship_to_the_hub_then_pull_elsewhere(hub: FakeHub, env: dict[str, str], tmp_path: Path,
                                             digit: tuple[Path, int]) -> None:
    run = tmp_path / "run"
    run.mkdir()
    files = weight_set_files("digits-run")
    (run / "model.onnx").write_bytes(files["digits-run.onnx"])
    meta = json.loads(files["digits-run.json"])
    (run / "model.json").write_text(json.dumps({**meta, "file": "model.onnx"}))
    weights = tmp_path / "model.weights.h5"
    with h5py.File(weights, "w") as h5:  # a model's layers beside the optimizer's state
        h5.create_dataset("layers/dense/vars/0", data=np.arange(6.0))
        h5.create_dataset("optimizer/vars/0", data=np.zeros(3))
    with zipfile.ZipFile(run / "model.keras", "w") as archive:  # Keras 3 keeps its weights here
        archive.write(weights, "model.weights.h5")
    pushed = zoo({**env, "HF_TOKEN": "hf_loopback"}, "ship", str(run), "--name", "digits-pushed",
                 "--hub-repo", "zoo-test/pushed")
    assert pushed.returncode == 0, pushed.stderr
    commit = hub.refs["zoo-test/pushed"]["main"]
    assert f"uploaded to {hub.url}/zoo-test/pushed/commit/{commit}" in pushed.stdout.replace("\n", "")
    assert sorted(hub.commits["zoo-test/pushed"][commit]) == [
        "README.md", "digits-pushed.json", "digits-pushed.onnx", "digits-pushed.weights.h5"]
    card = hub.commits["zoo-test/pushed"][commit]["README.md"].decode()
    local = WeightsMeta.from_file(Path(env["ZOO_HOME"]) / "weights" / "digits" / "digits-pushed.json")
    assert local.hub == {"repo": "zoo-test/pushed", "revision": "main", "commit": commit,
                         "uri": f"hf://zoo-test/pushed@{commit}/digits-pushed"}
    assert card.startswith("---\n") and "library_name: physzoo" in card

    elsewhere = {**env, "ZOO_HOME": str(tmp_path / "elsewhere")}
    assert zoo(elsewhere, "pull", "zoo-test/pushed").returncode == 0
    installed = tmp_path / "elsewhere" / "weights" / "digits"
    with h5py.File(installed / "digits-pushed.weights.h5", "r") as h5:  # the optimizer left out
        assert list(h5) == ["layers"] and h5["layers/dense/vars/0"][()].tolist() == list(range(6))
    path, label = digit
    result = zoo({**elsewhere, "HF_HUB_OFFLINE": "1"}, "predict", "digits", str(path), "-w",
                 "digits-pushed", "--format", "json")
    assert predicted_labels(result) == [str(label)]
