"""Fuzz: misspelt, unknown and out-of-range options of every command, and user text in messages.

The contract: a typo is an error (non-zero exit) that suggests the right name, checked before
anything runs; a value out of range is a usage error naming the option; never a traceback.
User-supplied text (task names, file names) prints literally, Rich markup and all.
"""

from __future__ import annotations

import pytest
from fuzz_helpers import zoo
from typer.testing import CliRunner

from zoo.cli.app import app
from zoo.cli.common import friendly_errors
from zoo.errors import MissingExtraError

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def assert_refused(result, *needles: str) -> None:
    text = result.output
    assert result.exit_code != 0, text
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in text
    for needle in needles:
        assert needle in text, (needle, text)


TYPOS = [
    # (command line, the suggestion it must make)
    (["predict", "digits", "x.png", "--topk", "3"], "--top-k"),
    (["predict", "digits", "x.png", "--fromat", "json"], "--format"),
    (["predict", "digits", "x.png", "--outptu", "o.json"], "--output"),
    (["predict", "digits", "x.png", "--batchsize", "8"], "--batch-size"),
    (["predict", "digits", "x.png", "--max-pixel", "9"], "--max-pixels"),
    (["predict", "cluster-mass", "x.fits", "--zz", "0.3"], "--z"),
    (["predict", "glitch", "x.png", "--veiw", "single"], "--view"),
    (["predict", "glitch", "x.png", "--stict"], "did you mean --strict"),  # a flag, last
    (["predict", "cluster-mass", "x.fits", "--z"], "option --z needs a value"),
    (["info", "digits", "--jsno"], "--json"),
    (["list", "--tasks"], "No such option"),
    (["bench", "digits", "--batch-size-s", "1"], "--batch-sizes"),
    (["eval", "digits", "--fromat", "json"], "--fromat"),  # eval has no --format: named
]


@pytest.mark.parametrize(("args", "hint"), TYPOS, ids=[" ".join(a[:1] + a[2:3] + a[-2:-1])
                                                        for a, _ in TYPOS])
def test_a_misspelt_option_is_an_error_that_suggests_the_right_one(args, hint):
    assert_refused(invoke(*args), hint)


OUT_OF_RANGE = [
    ["predict", "digits", "x.png", "--workers", "-1"],
    ["predict", "digits", "x.png", "--workers", "0"],
    ["predict", "digits", "x.png", "--batch-size", "0"],
    ["predict", "digits", "x.png", "--top-k", "0"],
    ["predict", "digits", "x.png", "--max-pixels", "0"],
    ["predict", "digits", "x.png", "--max-bytes", "-5"],
    ["predict", "digits", "x.png", "--max-samples", "zero"],
    ["predict", "digits", "x.png", "--format", "xml"],
    ["predict", "digits", "x.png", "--device", "tpu"],
    ["predict", "cluster-mass", "x.fits", "--z", "abc"],
    ["predict", "glitch", "x.png", "--view", "sideways"],
    ["bench", "digits", "--threads", "-1"],
    ["bench", "digits", "--rounds", "0"],
    ["bench", "digits", "--min-time", "-1"],
    ["bench", "digits", "--limit", "0"],
    ["bench", "digits", "--repeats", "0"],
    ["bench", "digits", "--batch-size", "0"],
    ["bench", "digits", "--calibration-samples", "-3"],
    ["bench", "digits", "--batch-sizes", "0,x"],
    ["bench", "digits", "--int8-format", "qq"],
    ["bench", "digits", "--device", "tpu"],
]


@pytest.mark.parametrize("args", OUT_OF_RANGE, ids=[" ".join(a[2:] if a[0] == "bench" else a[3:])
                                                    for a in OUT_OF_RANGE])
def test_an_out_of_range_value_is_refused_before_anything_runs(args):
    option = next(a for a in args if a.startswith("--"))
    result = invoke(*args)
    assert_refused(result, option.split("=")[0])
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output


ZOO_ENV_LIMITS = ["ZOO_MAX_PIXELS=0", "ZOO_MAX_BYTES=lots"]


@pytest.mark.parametrize("setting", ZOO_ENV_LIMITS)
def test_a_bad_limit_in_the_environment_is_one_line(tmp_path, setting):
    from fuzz_helpers import quiet_env

    name, value = setting.split("=")
    run = zoo("predict", "digits", tmp_path / "x.png", env={**quiet_env(), name: value})
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert [line for line in run.stderr.splitlines() if name in line], run.stderr


TRAIN_TYPOS = [
    (["train", "digits", "--epoch", "2"], "--epochs"),
    (["train", "digits", "--data-n", "8"], "--data-n"),
    (["train", "digits", "--hp-filter", "8"], "--hp-filter"),
    (["eval", "digits", "--data-n", "8"], "--data-n"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("args", "hint"), TRAIN_TYPOS, ids=[" ".join(a[2:]) for a, _ in TRAIN_TYPOS])
def test_training_overrides_are_checked_before_training(tmp_path, args, hint):
    """(H6's override checker; here for the count.) A subprocess: a regression would train."""
    pytest.importorskip("keras")
    run = zoo(*args, "--out", tmp_path / "run")
    assert run.returncode != 0 and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert hint in run.stderr


@pytest.mark.parametrize("name", ["[red]digits", "dig[/]its", "[bold]x[/bold]"])
def test_user_text_in_errors_prints_literally(name):
    result = invoke("predict", name, "x.png")
    assert_refused(result, name)
    result = invoke("info", name)
    assert_refused(result, name)


def test_the_missing_extra_hint_shows_the_extra_in_brackets():
    @friendly_errors
    def needs_tensorflow() -> None:
        raise ModuleNotFoundError("No module named 'tensorflow'", name="tensorflow")

    @friendly_errors
    def needs_extra() -> None:
        raise MissingExtraError("zoo train")

    import typer

    probe = typer.Typer()
    probe.command("a")(needs_tensorflow)
    probe.command("b")(needs_extra)
    for command in ("a", "b"):
        result = runner.invoke(probe, [command])
        assert result.exit_code == 1
        assert "pip install 'physzoo[train]'" in result.output, result.output


def test_zoo_info_shows_data_source_labels(tmp_path):
    result = invoke("info", "jet-quench", "--no-card")
    assert result.exit_code == 0
    assert "data [images]:" in result.output and "data [constituents]:" in result.output


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_input_name_is_refused_not_read_as_this_folder(name):
    assert_refused(invoke("predict", "digits", name), "empty input name")


def test_an_empty_output_path_is_refused_not_read_as_this_folder(tmp_path):
    assert_refused(invoke("predict", "digits", str(tmp_path / "x.png"), "-o", ""), "empty path")


def test_an_output_that_is_an_input_is_refused(tmp_path):
    image = tmp_path / "x.png"
    image.write_bytes(b"precious")
    assert_refused(invoke("predict", "digits", str(image), "-o", str(image)), "one of the inputs")
    assert image.read_bytes() == b"precious"
