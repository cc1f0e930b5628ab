"""Fuzz: hostile inputs for every task's reader, through the real CLI (``zoo predict``).

For each task with shipped weights, one CLI run gets every bad case of the task next to good
files (and good files with Rich markup in their names); each case is then checked on its own:
exactly one ``error:`` line naming it, a JSON row with its error, the good files predicted,
exit 1, no traceback, within the hang and memory guards. Readers of the recipe-only tasks
(no weights to predict with) are checked at the library level: ``samples()`` never raises and
``read()`` raises one InputError naming the file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fuzz_helpers import (
    IS_ROOT,
    Run,
    assert_contract,
    cli,
    generic_cases,
    gray_image,
    json_rows,
    npz_declaring,
    npz_object_array,
    png_with_size,
    quiet_env,
    text_file,
    truncated,
    zoo,
)
from PIL import Image

from zoo.errors import InputError


# ---- good files -----------------------------------------------------------------------------
def digit_png(folder: Path, stem: str) -> Path:
    from sklearn.datasets import load_digits

    path = folder / f"{stem}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(load_digits().images[7] / 16 * 255).astype(np.uint8)).save(path)
    return path


def spectrogram_png(folder: Path, stem: str) -> Path:
    path = folder / f"{stem}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((140, 170)) * 255).astype(np.uint8)).save(path)
    return path


def jet_h5(folder: Path, stem: str, n: int = 3) -> Path:
    from zoo.tasks.jet_quench.formats import write_images_file

    rng = np.random.default_rng(1)
    images = rng.random((n, 33, 33, 2)).astype(np.float32) * (rng.random((n, 33, 33, 2)) > 0.9)
    path = folder / f"{stem}.h5"
    write_images_file(path, {"images": images})
    return path


def cluster_fits(folder: Path, stem: str, shape: tuple[int, ...] = (50, 50, 10),
                 fill: float | None = None) -> Path:
    from zoo.tasks.cluster_mass.formats import write_fits_cluster

    counts = np.random.default_rng(2).poisson(3.0, shape).astype(np.float32)
    if fill is not None:
        counts[0, 0, 0] = fill
    return write_fits_cluster(folder / f"{stem}.fits", counts, 0.3)


def markup_named(make, folder: Path) -> list[Path]:
    """Good files with hostile names: Rich markup (``[red]``, a ``[/]`` across folders) and
    bytes that are not UTF-8."""
    return [make(folder, "[red]x[bold]"), make(folder / "a[", "]b"),
            make(folder, b"\xff\xfe-not-utf8".decode("utf-8", "surrogateescape"))]


# ---- bad files per task ---------------------------------------------------------------------
def image_cases(good: Path) -> dict:
    return {
        "truncated-png": lambda f: truncated(good, f, "half.png"),
        "huge-header-60Mpx": lambda f: png_with_size(f, "huge.png", 10_000, 6_000),
        "bomb-header-400Mpx": lambda f: png_with_size(f, "bomb.png", 20_000, 20_000),
        "huge-declared-4Gpx": lambda f: png_with_size(f, "giga.png", 65_000, 65_000),
        "truncated-jpeg": lambda f: truncated(gray_image(f, "full.jpg", (170, 140), "JPEG"), f,
                                              "half.jpg"),
        "gif-garbage": lambda f: text_file(f, ".gif"),
        "zero-width-header": lambda f: png_with_size(f, "zero.png", 0, 10),
    }


def digits_cases(good: Path) -> dict:
    return {**generic_cases(".png"), **image_cases(good),
            "wrong-size": lambda f: gray_image(f, "big28.png", (28, 28)),
            "huge-12000px": lambda f: png_with_size(f, "huge12k.png", 12_000, 12_000),
            "cmyk-mode": lambda f: _cmyk(f)}


def _cmyk(folder: Path) -> Path:
    path = folder / "cmyk.jpg"
    Image.new("CMYK", (8, 8)).save(path)
    return path


def glitch_cases(good: Path) -> dict:
    return {**generic_cases(".png"), **image_cases(good)}


def jet_cases(good: Path) -> dict:
    def group(f: Path) -> Path:
        import h5py

        with h5py.File(f / "group.h5", "w") as h5:
            h5.create_group("images")
        return f / "group.h5"

    def scalar(f: Path) -> Path:
        import h5py

        with h5py.File(f / "scalar.h5", "w") as h5:
            h5["images"] = 3.0
        return f / "scalar.h5"

    def ten_million(f: Path) -> Path:
        import h5py

        with h5py.File(f / "declares.h5", "w") as h5:
            h5.create_dataset("images", shape=(10_000_000, 33, 33, 2), dtype="f4",
                              chunks=(1, 33, 33, 2))
        return f / "declares.h5"

    def ten_million_one_chunk(f: Path) -> Path:
        import h5py

        with h5py.File(f / "sparse.h5", "w") as h5:
            data = h5.create_dataset("images", shape=(10_000_000, 33, 33, 2), dtype="f4",
                                     chunks=(64, 33, 33, 2), compression="gzip")
            data[:64] = np.random.default_rng(0).random((64, 33, 33, 2))
        return f / "sparse.h5"

    def truncated_npz(f: Path) -> Path:
        np.savez(f / "full.npz", images=np.zeros((50, 33, 33, 2), np.float32))
        return truncated(f / "full.npz", f, "half.npz")

    def garbage_csv(f: Path) -> Path:
        (f / "jets.csv").write_text("jet,pt,eta\n1,2\n")
        return f / "jets.csv"

    def string_csv(f: Path) -> Path:
        (f / "words.csv").write_text("jet,pt,eta,phi,charge\n1,abc,0,0,1\n")
        return f / "words.csv"

    return {**generic_cases(".h5"),
            "h5-images-group": group, "h5-images-scalar": scalar,
            "h5-3-channels-40-jets": _three_channels,
            "h5-declares-10M-jets": ten_million,
            "h5-10M-jets-one-chunk-stored": ten_million_one_chunk,
            "h5-text": lambda f: text_file(f, ".hdf5"),
            "npz-truncated": truncated_npz,
            "npz-object-array": lambda f: npz_object_array(f, "objects.npz"),
            "npz-zero-bytes": lambda f: _zero(f, "zero.npz"),
            "npz-declares-20GB": lambda f: npz_declaring(f, "bomb.npz", "images",
                                                         (1_000_000, 33, 33, 2)),
            "npz-constituents-object": lambda f: npz_object_array(f, "pt.npz", "pt"),
            "csv-short-rows": garbage_csv, "csv-not-numeric": string_csv,
            "unsupported-suffix": lambda f: text_file(f, ".txt")}


def _three_channels(folder: Path) -> Path:
    from zoo.tasks.jet_quench.formats import write_images_file

    write_images_file(folder / "rgb.h5", {"images": np.ones((40, 33, 33, 3), np.float32)})
    return folder / "rgb.h5"


def _zero(folder: Path, name: str) -> Path:
    (folder / name).write_bytes(b"")
    return folder / name


def cluster_cases(good: Path) -> dict:
    def header_only(f: Path) -> Path:
        from astropy.io import fits

        fits.PrimaryHDU().writeto(f / "header.fits")
        return f / "header.fits"

    def tile_compressed_bomb(f: Path) -> Path:
        from astropy.io import fits

        hdu = fits.CompImageHDU(np.zeros((1, 8_000, 8_000), np.int16))
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(f / "bomb.fits")
        return f / "bomb.fits"

    return {**generic_cases(".fits"),
            "fits-truncated": lambda f: truncated(good, f, "half.fits"),
            "fits-no-image": header_only,
            "fits-tile-compressed-64M": tile_compressed_bomb,
            "fits-wrong-shape": lambda f: cluster_fits(f, "small", (20, 20, 10)),
            "fits-nan": lambda f: cluster_fits(f, "nan", fill=np.nan),
            "fits-text": lambda f: text_file(f, ".fit")}


TASKS = {
    # task: (good-file writer (folder, stem), bad cases given a good file)
    "digits": (digit_png, digits_cases),
    "glitch": (spectrogram_png, glitch_cases),
    "jet-quench": (jet_h5, jet_cases),
    "cluster-mass": (cluster_fits, cluster_cases),
}


def _case_ids() -> list[tuple[str, str]]:
    ids = []
    for task, (_, make_cases) in TASKS.items():
        ids.extend((task, name) for name in make_cases(Path("/nonexistent")))
    return ids


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[Run, list[dict], dict[str, Path], list[str]]]:
    """One CLI run per task: every bad case of the task next to its good files."""
    out = {}
    for task, (make_good, make_cases) in TASKS.items():
        root = tmp_path_factory.mktemp(task)
        good_dir, bad_dir = root / "good", root / "bad"
        good = [make_good(good_dir, "one"), make_good(good_dir, "two"),
                *markup_named(make_good, good_dir)]
        bad_dir.mkdir()
        named, bad = [], {}
        for name, make in make_cases(good[0]).items():
            folder = bad_dir / name
            folder.mkdir()
            made = make(folder)
            arg, bad[name] = made if isinstance(made, tuple) else (made, made)
            named.append(arg)
        result = root / "out.json"
        run = zoo("predict", task, *good, *named, "-f", "json", "-o", result)
        rows = json_rows(result) if result.exists() else []
        out[task] = (run, rows, bad, [str(p) for p in good])
    return out


@pytest.mark.parametrize("task", list(TASKS))
def test_every_task_keeps_the_contract_on_a_mix_of_good_and_bad_files(runs, task):
    run, rows, bad, good = runs[task]
    assert_contract(run, list(bad.values()), good, rows)
    assert f"{len(bad)} of" in run.stderr  # the summary line counts the failures


@pytest.mark.parametrize(("task", "case"), _case_ids(), ids=[f"{t}-{c}" for t, c in _case_ids()])
def test_bad_input_is_one_line_naming_it_and_a_row_with_its_error(runs, task, case):
    run, rows, bad, _ = runs[task]
    path = bad[case]
    lines = run.lines_naming(path)
    assert len(lines) == 1, (case, run.error_lines)
    assert len(lines[0]) > len(f"error: {path}: ") + 3  # says what the problem is
    assert "Traceback" not in run.stderr
    assert [r for r in rows if r["key"] == str(path) and r.get("error")], case


def test_markup_in_file_names_is_printed_literally(runs):
    run, rows, _, good = runs["digits"]
    keys = {r["key"] for r in rows}
    assert {g for g in good if "[" in g} <= keys
    table = zoo("predict", "digits", *[g for g in good if "[" in g])  # 200 columns wide
    assert table.returncode == 0, table.stderr
    assert "[red]x[bold].png" in table.stdout and "a[/]b.png" in table.stdout


@pytest.mark.parametrize("task", list(TASKS))
def test_markup_named_files_are_predicted_for_every_task(runs, task):
    run, rows, _, good = runs[task]
    for name in (g for g in good if "[" in g):
        assert [r for r in rows if r["key"].split("#")[0] == name and "error" not in r], name
        assert not run.lines_naming(name)


def test_limits_are_raised_by_their_option(tmp_path):
    big = gray_image(tmp_path, "big.png", (3_000, 2_000))
    refused = cli("predict", "glitch", big, "--max-pixels", "1000000")
    assert refused.returncode == 1 and "--max-pixels" in refused.stderr
    env = {**quiet_env(), "ZOO_MAX_PIXELS": "1000000"}
    assert "ZOO_MAX_PIXELS" in zoo("predict", "glitch", big, env=env).stderr
    allowed = cli("predict", "glitch", big, "--max-pixels", "7000000", "-f", "json")
    assert "over the limit" not in allowed.stderr and "Traceback" not in allowed.stderr


@pytest.mark.parametrize("case", ["empty-folder", "glob-no-match"])
def test_no_input_is_a_clear_message_and_a_non_zero_exit(tmp_path, case):
    path = generic_cases(".png")[case](tmp_path)
    run = cli("predict", "digits", path)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert len(run.lines_naming(path)) == 1
    assert "no file" in run.stderr or "no input" in run.stderr


def test_a_successful_run_prints_nothing_on_stderr(tmp_path):
    """No astropy header warnings, no Pillow bomb warnings, no framework log lines."""
    fits_path = cluster_fits(tmp_path, "ok")
    raw = fits_path.read_bytes()  # a card without its "= ": astropy warns when it reads it
    fits_path.write_bytes(raw.replace(b"BUNIT   = ", b"BUNIT     ", 1))
    run = zoo("predict", "cluster-mass", fits_path)
    assert run.returncode == 0 and run.stderr == "", run.stderr


@pytest.mark.slow
def test_a_raised_pixel_limit_decodes_without_pillow_warnings(tmp_path):
    png = gray_image(tmp_path, "ok.png", (10_000, 9_500))  # above Pillow's warning threshold
    run = zoo("predict", "glitch", png, "--max-pixels", "100000000")
    assert "DecompressionBomb" not in run.stderr and "Traceback" not in run.stderr


def _nobody_can_run_python() -> bool:
    import subprocess
    import sys

    if not IS_ROOT:
        return False
    try:
        subprocess.run([sys.executable, "-c", "pass"], user=65534, check=True, timeout=30,
                       capture_output=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


@pytest.mark.skipif(not _nobody_can_run_python(),
                    reason="needs root, and an interpreter that user 'nobody' may run")
@pytest.mark.parametrize("case", ["unreadable-file", "unreadable-folder"])
def test_unreadable_inputs_are_one_line_each_as_a_normal_user(case):
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="zoo-fuzz-"))
    try:
        root.chmod(0o777)
        good = digit_png(root, "good")
        good.chmod(0o644)
        if case == "unreadable-file":
            bad = digit_png(root, "secret")
            bad.chmod(0o000)
            target = bad
        else:
            bad = root / "locked"
            digit_png(bad, "inside")
            bad.chmod(0o000)
            target = root  # the folder is met while walking its parent
        run = zoo("predict", "digits", target if case == "unreadable-folder" else good,
                  *([bad] if case == "unreadable-file" else []),
                  env=quiet_env(root), user=65534)
        assert "Traceback" not in run.stderr
        assert run.returncode == 1
        assert len(run.lines_naming(bad)) == 1, run.stderr
        assert "permission denied" in run.stderr
        assert "good.png" in run.stdout
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---- readers of the recipe-only tasks (library level) ----------------------------------------
def _read_all(task_name: str, items: list[str]) -> list[tuple[str, str | None]]:
    """(key, error or None) for every sample: samples() must not raise, read() one InputError."""
    import zoo as lib

    task = lib.get_task(task_name)
    out = []
    for sample in task.samples(items, {}):
        try:
            task.read(sample, {})
            out.append((sample.key, None))
        except InputError as exc:
            out.append((sample.key, str(exc)))
    return out


TEXTBOOK = {
    "mnist": ".png", "fashion-mnist": ".png", "cifar10": ".png", "imdb": ".txt",
    "reuters": ".txt", "boston-housing": ".txt",
}


@pytest.mark.parametrize("task", list(TEXTBOOK))
@pytest.mark.parametrize("case", ["missing-or-text", "empty-file", "fifo", "socket",
                                  "symlink-loop-pair", "broken-symlink", "empty-folder",
                                  "char-device"])
def test_recipe_only_readers_name_the_file_and_never_block(tmp_path, task, case):
    if case == "char-device" and not IS_ROOT:
        pytest.skip("mknod needs root")
    cases = generic_cases(TEXTBOOK[task])
    made = cases["missing" if case == "missing-or-text" else case](tmp_path)
    path = made[1] if isinstance(made, tuple) else made
    results = _read_all(task, [str(path)])
    assert results, "a bad path must still give a sample that reports it"
    for key, error in results:
        if TEXTBOOK[task] == ".txt" and case == "missing-or-text":
            continue  # a text task reads a non-file argument as the text itself
        assert error is not None and str(path) in error, (key, error)


@pytest.mark.parametrize("case", ["unreadable-file", "unreadable-folder", "unlistable-folder"])
def test_unreadable_inputs_are_one_line_each_for_any_user(tmp_path, monkeypatch, case):
    """Permissions as a normal user sees them, for a root test run too: os.access and
    os.scandir refuse the locked paths (the test above does it for real where it can)."""
    import os

    good = digit_png(tmp_path, "good")
    locked = digit_png(tmp_path, "secret") if case == "unreadable-file" else tmp_path / "locked"
    if case != "unreadable-file":
        digit_png(locked, "inside")
    real_access, real_scandir = os.access, os.scandir

    def access(path, mode, *args, **kwargs):
        return False if str(path).startswith(str(locked)) else real_access(path, mode, *args,
                                                                           **kwargs)

    def scandir(path="."):
        if str(path).startswith(str(locked)):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "access", access)
    if case == "unlistable-folder":
        monkeypatch.setattr(os, "scandir", scandir)
    run = cli("predict", "digits", tmp_path, "-f", "json")
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert len(run.lines_naming(locked)) == 1, run.stderr
    assert "permission denied" in run.lines_naming(locked)[0]
    assert [r for r in json.loads(run.stdout) if r["key"] == str(good) and "label" in r]


def test_16_bit_images_are_scaled_by_full_scale_not_their_own_maximum(tmp_path):
    from zoo.io.images import open_image, to_gray

    values = np.full((8, 8), 30_000, np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    gray = to_gray(open_image(tmp_path / "deep.png"))
    assert np.allclose(gray, 30_000 / 65_535)


# ---- training readers (--data FILE), each in a subprocess: a FIFO must not block them --------
LOAD_DATA = '''
import sys
import zoo
from zoo.errors import ZooError

try:
    zoo.get_task(sys.argv[1]).load_data(sys.argv[2], 0)
except ZooError as exc:
    print("refused:", exc)
    sys.exit(3)
'''

TRAINING_FILES = [("jet-quench", ".h5"), ("jet-quench", ".npz"), ("jet-quench", ".csv"),
                  ("cluster-mass", ".h5"), ("cluster-mass", ".npz"), ("glitch", ".h5"),
                  ("mnist", ".npz"), ("boston-housing", ".npz")]


@pytest.mark.parametrize("case", ["fifo", pytest.param("empty-file", marks=pytest.mark.slow),
                                  pytest.param("text-as-file", marks=pytest.mark.slow)])
@pytest.mark.parametrize(("task", "suffix"), TRAINING_FILES,
                         ids=[f"{t}{s}" for t, s in TRAINING_FILES])
def test_training_readers_refuse_bad_data_files_in_one_line(tmp_path, task, suffix, case):
    import subprocess
    import sys

    path = generic_cases(suffix)[case](tmp_path)
    done = subprocess.run([sys.executable, "-I", "-c", LOAD_DATA, task, str(path)],
                          capture_output=True, text=True, timeout=120, env=quiet_env())
    assert done.returncode == 3, (done.stdout, done.stderr[-2000:])
    assert str(path) in done.stdout
