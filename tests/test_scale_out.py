"""Scale-out: the Dask engine on a real 2-process LocalCluster gives the local engine's results;
sharded output resumes; manifests stream. One cluster serves the whole module."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from core_helpers import write_digit_run
from PIL import Image

from zoo.errors import ZooError
from zoo.io.manifest import read_manifest
from zoo.io.shards import read_folder
from zoo.jobs import predict_to_folder
from zoo.predictor import load

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as dask_client:
        yield dask_client


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory) -> Path:
    """~200 digit PNGs (copies of held-out digits) plus every kind of bad file."""
    return write_digit_run(tmp_path_factory.mktemp("digits"), copies=4)


@pytest.fixture(scope="module")
def glitch_files(tmp_path_factory, gravityspy_dir) -> Path:
    """Real raw scans (4 events x 4 durations: multi-view samples), 40 cropped-size gray
    spectrograms (single-view samples), a too-small image and a text file."""
    folder = tmp_path_factory.mktemp("glitch")
    shutil.copytree(gravityspy_dir, folder / "real")
    rng = np.random.default_rng(0)
    (folder / "cropped").mkdir()
    for i in range(40):
        image = (rng.random((140, 170)) ** 3 * 255).astype(np.uint8)
        Image.fromarray(image, "L").save(folder / "cropped" / f"spec{i:03d}.png")
    Image.new("L", (10, 10)).save(folder / "cropped" / "tiny.png")
    (folder / "cropped" / "notes.png").write_text("not a png")
    return folder


def by_key(preds) -> dict[str, tuple]:
    return {p.key: (p.result.get("label"), p.result.get("probability"), p.error) for p in preds}


def assert_same(local: dict[str, tuple], other: dict[str, tuple]) -> None:
    assert set(local) == set(other)
    for key, (label, prob, error) in local.items():
        assert other[key][0] == label and other[key][2] == error, key
        if prob is not None:
            assert abs(other[key][1] - prob) <= 1e-6, key


@pytest.mark.parametrize("task,files", [("digits", "digit_files"), ("glitch", "glitch_files")])
def test_dask_engine_equals_local_engine(client, request, task, files):
    folder = request.getfixturevalue(files)
    predictor = load(task, device="cpu")
    local = by_key(predictor.predict([folder], top_k=3))
    remote = predictor.predict([folder], top_k=3, engine="dask", client=client)
    assert_same(local, by_key(remote))
    assert sum(p.ok for p in remote) > 40 and sum(not p.ok for p in remote) >= 2
    if task == "glitch":  # both weight sets ran on the workers: 4 multi-view samples
        assert {p.weights for p in remote if p.ok} == {"glitch-singleview", "glitch-multiview"}


def test_sharded_run_resumes_and_the_union_is_complete(client, digit_files, tmp_path):
    predictor = load("digits", device="cpu")
    local = by_key(predictor.predict([digit_files]))
    out = tmp_path / "out"
    first = predict_to_folder(predictor, [digit_files], out, files_per_job=32)
    parts = sorted(out.glob("part-*.parquet"))
    assert first.jobs == len(parts) >= 6 and first.skipped_jobs == 0
    for lost in parts[1::2]:  # as if the run had been killed before these jobs ended
        lost.unlink()
    second = predict_to_folder(predictor, [digit_files], out, engine="dask", client=client,
                               files_per_job=32)
    assert second.skipped_jobs == first.jobs - len(parts[1::2])
    assert (second.ok, second.failed) == (first.ok, first.failed)
    rows = read_folder(out)
    errors = read_folder(out, "errors")
    assert len(rows) == len({r["key"] for r in rows})  # nothing written twice
    assert {r["key"]: (r["label"], r["probability"], None) for r in rows} | \
        {r["key"]: (None, None, r["error"]) for r in errors} == local
    summary = (out / "summary.json").read_text()
    assert predictor.model.meta.sha256 in summary
    assert f'"skipped_jobs": {second.skipped_jobs}' in summary


def test_rerun_over_other_inputs_is_refused(digit_files, tmp_path):
    predictor = load("digits", device="cpu")
    predict_to_folder(predictor, [digit_files], tmp_path, "csv", files_per_job=50)
    with pytest.raises(ZooError, match="other inputs"):
        predict_to_folder(predictor, [digit_files], tmp_path, "csv", files_per_job=40)


def test_manifest_is_streamed_not_listed(client, digit_files, tmp_path):
    """The client reads the manifest only a window of jobs ahead of the finished ones."""
    paths = sorted(str(p) for p in (digit_files / "a").glob("*.png"))
    lines = ["# a comment", ""] + [paths[i % len(paths)] for i in range(3000)] + ["missing.png"]
    manifest = tmp_path / "paths.txt"
    manifest.write_text("\n".join(lines) + "\n")
    read = 0

    def counted():
        nonlocal read
        for path in read_manifest(manifest):
            read += 1
            yield path

    seen_at_first_job: list[int] = []
    summary = predict_to_folder(load("digits", device="cpu"), counted(), tmp_path / "out", "jsonl",
                                engine="dask", client=client, files_per_job=100,
                                on_job=lambda n, bad: seen_at_first_job.append(read))
    window = 2 * 2  # jobs in flight: two per worker thread
    assert seen_at_first_job[0] <= (window + 1) * 100 < 3001
    assert (summary.samples, summary.failed) == (3001, 1)
    assert read_folder(tmp_path / "out", "errors")[0]["key"] == str(tmp_path / "missing.png")


def test_cli_dask_engine_with_a_scheduler_address(client, digit_files, tmp_path):
    from typer.testing import CliRunner

    from zoo.cli.app import app

    manifest = tmp_path / "m.txt"
    manifest.write_text("\n".join(str(p) for p in sorted((digit_files / "a").glob("*.png"))[:70]))
    args = ["predict", "digits", "--manifest", str(manifest), "--engine", "dask", "--scheduler",
            client.scheduler.address, "-o", f"{tmp_path / 'out'}/", "-f", "csv",
            "--files-per-job", "30"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "70 predicted, 0 failed; 0 of 3 jobs" in result.output
    again = CliRunner().invoke(app, args)
    assert "3 of 3 jobs were already written" in again.output
    assert len(read_folder(tmp_path / "out")) == 70


@pytest.mark.parametrize("extra,message", [
    ([], "--scheduler needs --engine dask"),
    (["--engine", "dask", "--workers", "2"], "--workers starts a local cluster"),
])
def test_cli_refuses_conflicting_engine_options(digit_files, extra, message):
    from typer.testing import CliRunner

    from zoo.cli.app import app

    result = CliRunner().invoke(app, ["predict", "digits", str(digit_files), "--scheduler", "x:1",
                                      *extra])
    assert result.exit_code != 0 and message in result.output


def test_predictors_are_never_pickled():
    with pytest.raises(TypeError, match="never pickled"):
        pickle.dumps(load("digits", device="cpu"))



@pytest.mark.parametrize("make", ["missing", "folder"])
def test_cli_bad_manifest_is_one_line(tmp_path, make):
    from typer.testing import CliRunner

    from zoo.cli.app import app

    manifest = tmp_path / "paths.txt"
    if make == "folder":
        manifest.mkdir()
    result = CliRunner().invoke(app, ["predict", "digits", "--manifest", str(manifest)])
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)  # no traceback
    assert ("no such manifest file" if make == "missing" else "not a file") in result.output
