"""The local engine's reader processes: the same predictions and one-line failures as reader
threads, the parent's input limits, a killed reader costing only its chunk, and Ctrl-C
leaving no process behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from core_helpers import many_copies, write_digit_run
from fuzz_helpers import ZOO, interruptible, quiet_env
from PIL import Image

from zoo import readers
from zoo.io.limits import set_limits
from zoo.predictor import load


def results(preds) -> dict[str, tuple]:
    return {p.key: (p.result.get("label"), p.result.get("probability"), p.weights, p.error)
            for p in preds}


def assert_same(threads: dict[str, tuple], processes: dict[str, tuple]) -> None:
    assert set(threads) == set(processes)
    for key, (label, prob, weights, error) in threads.items():
        assert processes[key][0::2] == (label, weights) and processes[key][3] == error, key
        if prob is not None:
            assert abs(processes[key][1] - prob) <= 1e-6, key


def readers_of(parent: psutil.Process) -> list[psutil.Process]:
    """Reader processes (spawned pool workers; not multiprocessing's resource tracker)."""
    found = []
    for child in parent.children():
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:  # gone meanwhile
            pass
    return found


def reader_processes() -> list[psutil.Process]:
    return readers_of(psutil.Process())


@pytest.fixture(autouse=True)
def no_pool_left():
    readers.shutdown()
    yield
    readers.shutdown()
    assert not reader_processes()


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory) -> Path:
    """240 digit PNGs and every kind of bad file: a run big enough for reader processes."""
    return write_digit_run(tmp_path_factory.mktemp("digits"), copies=5)


def test_reader_processes_equal_threads_bad_files_included(digit_files):
    predictor = load("digits", device="cpu")
    inputs = [digit_files, digit_files / "bad" / "missing.png"]
    threads = results(predictor.iter_predict(inputs, top_k=3, processes=False))
    assert not reader_processes()
    auto = results(predictor.iter_predict(inputs, top_k=3))  # >= PROCESS_MIN_SAMPLES samples
    assert len(auto) >= readers.PROCESS_MIN_SAMPLES and len(reader_processes()) == os.cpu_count()
    assert_same(threads, auto)
    errors = {Path(k).name: e for k, (*_, e) in auto.items() if e}
    assert set(errors) == {"notes.png", "truncated.png", "big.png", "cmyk.jpg", "missing.png"}
    assert all("\n" not in e and e.startswith(str(digit_files)) for e in errors.values())
    assert "no such file" in errors["missing.png"]


def test_glitch_single_and_multiview_samples_read_in_processes(gravityspy_dir, tmp_path):
    shutil.copytree(gravityspy_dir, tmp_path / "real")
    rng = np.random.default_rng(0)
    (tmp_path / "cropped").mkdir()
    for i in range(12):
        Image.fromarray((rng.random((140, 170)) ** 3 * 255).astype(np.uint8), "L").save(
            tmp_path / "cropped" / f"spec{i:03d}.png")
    (tmp_path / "cropped" / "notes.png").write_text("not a png")
    predictor = load("glitch", device="cpu")
    threads = results(predictor.iter_predict([tmp_path], top_k=3, processes=False))
    processes = results(predictor.iter_predict([tmp_path], top_k=3, processes=True))
    assert_same(threads, processes)
    assert {w for _, _, w, e in processes.values() if not e} == {"glitch-singleview",
                                                                 "glitch-multiview"}


def test_reader_processes_apply_this_process_limits(tmp_path):
    Image.new("L", (170, 140), 9).save(tmp_path / "spec.png")
    predictor = load("glitch", device="cpu")
    set_limits(max_pixels=1000)  # as --max-pixels 1000 does
    try:
        (pred,) = predictor.iter_predict([tmp_path], processes=True)
    finally:
        set_limits()
    assert "(23,800) is over the limit of 1,000" in (pred.error or "")


def test_a_killed_reader_fails_only_samples_in_flight_and_the_run_goes_on(digit_files, tmp_path):
    folder = many_copies(tmp_path / "many", next((digit_files / "a").glob("*.png")), 3000)
    predictor = load("digits", device="cpu")
    preds = []
    for pred in predictor.iter_predict([folder], batch_size=16, processes=True):
        if not preds:
            os.kill(reader_processes()[0].pid, signal.SIGKILL)
        preds.append(pred)
    # Only chunks in flight when it died fail (none if it held none): at most the window.
    failed = [p.error for p in preds if not p.ok]
    assert len(preds) == 3000 and len(failed) <= 2 * 16
    assert all(e and "the process reading it died" in e and "\n" not in e for e in failed)
    again = list(predictor.iter_predict([folder], batch_size=16, processes=True))
    assert all(p.ok for p in again)


def test_ctrl_c_stops_the_cli_and_its_readers_without_a_traceback(digit_files, tmp_path):
    folder = many_copies(tmp_path / "many", next((digit_files / "a").glob("*.png")), 20_000)
    proc = subprocess.Popen([*ZOO, "predict", "digits", str(folder), "-f", "csv"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=quiet_env(), start_new_session=True,
                            preexec_fn=interruptible)
    zoo = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    started: list[psutil.Process] = []
    while not started and proc.poll() is None and time.monotonic() < deadline:
        started = readers_of(zoo)
        time.sleep(0.01)
    assert started, "no reader process started"
    # What Ctrl-C sends: the whole foreground group, here while the readers still start up.
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    _, alive = psutil.wait_procs(started, timeout=5)
    assert not alive
