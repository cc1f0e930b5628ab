"""Fuzz: the ``-o`` output path, through the real CLI (a subprocess where it could hang or
needs signals or resource limits; in process otherwise).

The contract: results go to a temporary file beside the target, renamed over it only when the
run predicted something; an existing output survives a failed or empty run; only regular
files are replaced (a symlink's target is written and the link kept, permissions kept; a
device node or FIFO is refused unopened); every write failure is one line; no temporary file
is left on any exit path (SIGTERM and Ctrl-C included).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
from core_helpers import many_copies
from fuzz_helpers import IS_ROOT, ZOO, cli, interruptible, quiet_env, zoo
from test_fuzz_inputs import digit_png

from zoo.cli.output import TABLE_ROWS, Sink, checked
from zoo.predictor import Prediction

OLD = "precious old output\n"


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("digits")
    digit_png(folder, "good")
    return folder / "good.png"


def temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def assert_one_line(run, needle: str) -> None:
    assert "Traceback" not in run.stderr + run.stdout
    lines = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and needle in lines[0], run.stderr


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
@pytest.mark.parametrize("inputs", ["all-fail", "empty-folder", "glob-no-match"])
def test_a_run_that_predicts_nothing_leaves_the_old_output(tmp_path, fmt, inputs):
    out = tmp_path / f"out.{fmt}"
    out.write_text(OLD)
    if inputs == "all-fail":
        (tmp_path / "bad.png").write_text("not a png")
        named = [tmp_path / "bad.png", tmp_path / "missing.png"]
    elif inputs == "empty-folder":
        (tmp_path / "empty").mkdir()
        named = [tmp_path / "empty"]
    else:
        named = [tmp_path / "nothing-*.png"]
    run = cli("predict", "digits", *named, "-f", fmt, "-o", out)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert out.read_text() == OLD
    assert "left as it was" in run.stderr
    assert temporaries(tmp_path) == []


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_partly_failed_run_writes_the_results_and_the_failures(tmp_path, digits, fmt):
    out = tmp_path / f"out.{fmt}"
    out.write_text(OLD)
    run = cli("predict", "digits", digits, tmp_path / "missing.png", "-f", fmt, "-o", out)
    assert run.returncode == 1
    text = out.read_text()
    assert str(digits) in text and "missing.png: no such file" in text
    if fmt == "json":
        rows = json.loads(text)
        assert [r for r in rows if "error" in r] and [r for r in rows if "label" in r]


def test_all_failed_json_on_stdout_is_valid_json_with_the_errors(tmp_path):
    run = cli("predict", "digits", tmp_path / "missing.png", "-f", "json")
    assert run.returncode == 1
    assert json.loads(run.stdout)[0]["error"].endswith("no such file")


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_a_symlink_output_writes_its_target_and_keeps_the_link(tmp_path, digits, fmt):
    target = tmp_path / "real" / f"out.{fmt}"
    target.parent.mkdir()
    target.write_text(OLD)
    link = tmp_path / f"link.{fmt}"
    link.symlink_to(target)
    run = cli("predict", "digits", digits, "-f", fmt, "-o", link)
    assert run.returncode == 0, run.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() != OLD and "good.png" in target.read_text()
    assert temporaries(tmp_path) == [] and temporaries(target.parent) == []


def test_an_existing_output_keeps_its_permissions(tmp_path, digits):
    out = tmp_path / "private.json"
    out.write_text(OLD)
    out.chmod(0o600)
    assert cli("predict", "digits", digits, "-f", "json", "-o", out).returncode == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and out.read_text() != OLD


def test_a_new_output_gets_the_usual_permissions(tmp_path, digits):
    out = tmp_path / "new.json"
    assert cli("predict", "digits", digits, "-f", "json", "-o", out).returncode == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


@pytest.mark.skipif(not IS_ROOT, reason="mknod needs root")
def test_a_device_node_is_never_replaced(tmp_path, digits):
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    run = cli("predict", "digits", digits, "-f", "json", "-o", node)
    assert run.returncode == 1
    assert_one_line(run, "character device")
    assert stat.S_ISCHR(node.stat().st_mode) and temporaries(tmp_path) == []


def test_a_fifo_output_is_refused_without_opening_it(tmp_path, digits):
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    run = zoo("predict", "digits", digits, "-f", "json", "-o", pipe)  # hang guard: timeout
    assert run.returncode == 1
    assert_one_line(run, "FIFO")
    assert stat.S_ISFIFO(pipe.stat().st_mode)


@pytest.mark.parametrize("where", ["under-a-file", "unwritable-folder"])
def test_an_output_that_cannot_be_written_is_one_line_and_no_temporary(tmp_path, digits, where):
    if where == "under-a-file":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "out.json"
    else:
        out = Path("/proc/zoo-fuzz-output.json")  # a folder nobody may create files in
    run = cli("predict", "digits", digits, "-f", "json", "-o", out)
    assert run.returncode == 1
    assert_one_line(run, str(out))
    assert temporaries(tmp_path) == []


@pytest.mark.parametrize("fmt", ["json", pytest.param("csv", marks=pytest.mark.slow),
                                 pytest.param("table", marks=pytest.mark.slow)])
def test_a_full_disk_is_one_line_and_the_old_output_stays(tmp_path, digits, fmt):
    """RLIMIT_FSIZE stands in for a full disk: writes past it fail with EFBIG."""
    many = many_copies(tmp_path / "in", digits, 300)
    out = tmp_path / f"out.{fmt}"
    out.write_text(OLD)

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    run = zoo("predict", "digits", many, "-f", fmt, "-o", out, preexec=small_files)
    assert run.returncode == 1
    assert_one_line(run, "writing the output failed")
    assert out.read_text() == OLD and temporaries(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, pytest.param(signal.SIGINT, marks=pytest.mark.slow)],
                         ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_run_cleanly_and_leaves_no_temporary(tmp_path, digits, sig):
    many = many_copies(tmp_path / "in", digits, 1500)
    out = tmp_path / "out.json"
    out.write_text(OLD)
    proc = subprocess.Popen([*ZOO, "predict", "digits", str(many), "-f", "json", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=quiet_env(), preexec_fn=interruptible)
    deadline = time.monotonic() + 60
    while not temporaries(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)  # the first one must do it
    _, stderr = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert proc.returncode == (143 if sig == signal.SIGTERM else 130), stderr
    assert "Traceback" not in stderr
    assert out.read_text() == OLD and temporaries(tmp_path) == []


def test_a_huge_table_streams_in_a_compact_form(tmp_path, digits):
    many = many_copies(tmp_path / "in", digits, TABLE_ROWS + 50)
    out = tmp_path / "table.txt"
    run = cli("predict", "digits", many, "-o", out)
    assert run.returncode == 0, run.stderr
    lines = out.read_text().splitlines()
    assert lines[0].split() == ["key", "label", "probability", "ood", "ood_flag"]
    assert len(lines) == TABLE_ROWS + 51


def test_the_table_holds_a_bounded_number_of_rows(capsys):
    sink = Sink("table", None, verbose=False)
    for i in range(3 * TABLE_ROWS):
        sink.add(Prediction(f"f{i}.png", {"label": "3", "probability": 0.9}))
        assert len(sink.rows) <= TABLE_ROWS + 1
    sink.close()
    assert len(capsys.readouterr().out.splitlines()) == 3 * TABLE_ROWS + 1


def test_a_nan_output_becomes_a_failed_row_not_invalid_json():
    pred = checked(Prediction("x.png", {"value": float("nan")}))
    assert not pred.ok and "NaN" in (pred.error or "")
    assert checked(Prediction("y.png", {"value": 1.0})).ok


@pytest.mark.parametrize("rows", [3, TABLE_ROWS + 5], ids=["rich-table", "compact-table"])
def test_table_cells_show_control_characters_escaped(capsys, rows):
    """A file name holding an escape sequence or a newline prints as in error lines: one row,
    the bytes shown escaped, nothing sent to the terminal raw."""
    sink = Sink("table", None, verbose=False)
    for i in range(rows):
        sink.add(Prediction(f"evil\x1b[31m\n{i}.png", {"label": "3", "probability": 0.9}))
    sink.close()
    out = capsys.readouterr().out
    assert "\x1b" not in out
    cells = "".join(c for c in out if c not in " \n│")  # a Rich table may fold a long key
    assert all(f"evil\\x1b[31m\\n{i}.png" in cells for i in range(rows))
