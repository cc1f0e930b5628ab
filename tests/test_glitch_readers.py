"""glitch readers: every form a Gravity Spy user holds goes through ``read_scan`` to one view.

Files are made here from a scan drawn as Gravity Spy draws it (800x600 RGBA PNG) and turned
into the other forms users meet: the same figure at 0.75 scale and at 2x, JPEG quality 90,
an animated palette GIF of the four durations, 16-bit and RGBA bare spectrograms.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.errors import InputError
from zoo.registry import get_task
from zoo.tasks.glitch.constants import DURATIONS
from zoo.tasks.glitch.formats import read_scan, read_scan_folder

FIELD_GUIDE = Path(__file__).resolve().parents[2] / "shared" / "data" / "gravityspy-fieldguide"
#: mean |difference| of two readings of the same scan in different forms (views in [0, 1])
SAME_SCAN = 0.01


def blob(seed: int) -> np.ndarray:
    """A (140, 170) gray view with a noise floor and a blob at a seed-dependent place."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:140, 0:170]
    y0, x0 = 30 + 20 * (seed % 4), 40 + 25 * (seed % 3)
    return np.clip(rng.random((140, 170)) * 0.25 + 0.12
                   + 0.6 * np.exp(-((yy - y0) ** 2 / 60 + (xx - x0) ** 2 / 40)), 0, 1)


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> dict[str, Path]:
    """Four 800x600 renderings (one per duration) of one event."""
    from zoo.tasks.glitch.simulator import render_omega_scan

    folder = tmp_path_factory.mktemp("scans")
    return {d: render_omega_scan(blob(k), folder / f"H1_abc_spectrogram_{d}.png", d)
            for k, d in enumerate(DURATIONS)}


def resized(path: Path, out: Path, size: tuple[int, int], **save: object) -> Path:
    Image.open(path).convert("RGB").resize(size, Image.LANCZOS).save(out, **save)
    return out


def test_800x600_scan_is_found_and_cropped_like_gravity_spy(scans):
    scan = read_scan(scans["1.0"])
    assert scan.form == "Omega scan 800x600 (Gravity Spy crop)"
    assert scan.durations == ("1.0",) and scan.views[0].shape == (140, 170)
    assert scan.on_map > 0.99
    assert np.abs(scan.views[0] - blob(1)).mean() < 0.03  # the renderer round-trips the view


@pytest.mark.parametrize("size, suffix", [((600, 450), "png"), ((600, 450), "jpg"),
                                          ((752, 564), "png"), ((1600, 1200), "png")])
def test_other_scales_and_jpeg_give_the_same_view(tmp_path, scans, size, suffix):
    reference = read_scan(scans["1.0"]).views[0]
    save = {"quality": 90} if suffix == "jpg" else {}
    scan = read_scan(resized(scans["1.0"], tmp_path / f"scan.{suffix}", size, **save))
    assert scan.form == f"Omega scan {size[0]}x{size[1]} (crop scaled {size[0] / 800:.2f})"
    assert np.abs(scan.views[0] - reference).mean() < SAME_SCAN


def write_event_gif(scans: dict[str, Path], path: Path, size: tuple[int, int] = (600, 450)) -> Path:
    frames = [Image.open(scans[d]).convert("RGB").resize(size, Image.LANCZOS).quantize(256)
              for d in DURATIONS]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=800, loop=0)
    return path


def test_event_gif_is_four_durations_of_one_event(tmp_path, scans):
    gif = write_event_gif(scans, tmp_path / "blip-2.gif")
    assert Image.open(gif).mode == "P"
    event = read_scan(gif)
    assert event.durations == DURATIONS and event.form.startswith("event GIF of 4 durations")
    for duration, view in zip(DURATIONS, event.views, strict=True):
        assert np.abs(view - read_scan(scans[duration]).views[0]).mean() < 2 * SAME_SCAN
    task = get_task("glitch")
    [sample] = task.samples([str(gif)], {})
    assert sample.group == "multiview"
    assert task.read(sample, {})["image"].shape == (280, 340, 1)
    [single] = task.samples([str(gif)], {"view": "single"})
    one = task.read(single, {})
    assert "its 1.0 s frame" in one["_input"]
    np.testing.assert_array_equal(one["image"][..., 0], event.views[DURATIONS.index("1.0")])


def test_16_bit_gray_is_scaled_by_full_range(tmp_path):
    view = blob(0) * 0.2  # a faint spectrogram must stay faint
    path = tmp_path / "faint.png"
    Image.fromarray(np.round(view * 65535).astype(np.uint16)).save(path)
    assert Image.open(path).mode.startswith("I")
    scan = read_scan(path)
    assert scan.form == "gray spectrogram 170x140"
    np.testing.assert_allclose(scan.views[0], view, atol=1e-4)


def test_rgba_bare_viridis_spectrogram(tmp_path, scans):
    from matplotlib import colormaps

    from zoo.tasks.glitch.simulator import gray_to_energy

    energy = gray_to_energy(blob(2))
    rgba = np.round(colormaps["viridis"](np.clip(energy / 25.5, 0, 1)) * 255).astype(np.uint8)
    path = tmp_path / "bare.png"
    Image.fromarray(rgba, "RGBA").resize((566, 466), Image.NEAREST).save(path)
    scan = read_scan(path)
    assert scan.form == "bare viridis spectrogram 566x466" and scan.on_map > 0.99
    assert np.abs(scan.views[0] - blob(2)).mean() < 0.03


@pytest.mark.parametrize("case, message", [
    ("photo", "not an Omega scan"),
    ("screenshot", "is no bare spectrogram"),
    ("blank", "blank"),
    ("frames", "animated image of 3 frames"),
])
def test_non_scans_are_refused_in_one_line(tmp_path, case, message):
    rng = np.random.default_rng(0)
    path = tmp_path / f"{case}.png"
    if case == "photo":  # smooth colourful picture, nothing like viridis
        yy, xx = np.mgrid[0:450, 0:600] / 450.0
        rgb = np.stack([np.sin(3 * xx) * 0.5 + 0.5, yy, 0.9 - 0.5 * xx * yy], -1)
        Image.fromarray((rgb * 255 + rng.normal(0, 3, rgb.shape)).clip(0, 255).astype(np.uint8)
                        ).save(path)
    elif case == "screenshot":  # a 4:3 gray window capture
        Image.fromarray((rng.random((600, 800)) * 255).astype(np.uint8)).save(path)
    elif case == "blank":
        Image.new("RGB", (566, 466), (255, 255, 255)).save(path)
    else:
        path = tmp_path / "three.gif"
        frames = [Image.new("P", (600, 450), k) for k in range(3)]
        frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.raises(InputError) as info:
        read_scan(path)
    text = str(info.value)
    assert message in text and str(path) in text and "\n" not in text


def test_folder_of_mixed_forms(tmp_path, scans):
    import shutil

    blip, chirp = tmp_path / "Blip", tmp_path / "Chirp"
    blip.mkdir()
    chirp.mkdir()
    for path in scans.values():
        shutil.copy(path, blip)
    write_event_gif(scans, chirp / "chirp-2.gif")
    resized(scans["1.0"], chirp / "chirp-1.jpg", (600, 450), quality=90)
    (tmp_path / "README.md").write_text("not a scan")
    every = read_scan_folder(tmp_path, "single", fractions=(0, 0, 1))
    assert len(every.test) == 4 + 4 + 1 and len(every.train) == 0
    assert every.source["n_events"] == 3
    multi = read_scan_folder(tmp_path, "multiview", fractions=(0, 0, 1))
    assert len(multi.test) == 2 and multi.source["skipped"] == ["Chirp/chirp-1.jpg"]


@pytest.mark.skipif(not FIELD_GUIDE.is_dir(), reason="../shared/data/gravityspy-fieldguide absent")
def test_every_field_guide_file_reads():
    files = [p for p in sorted(FIELD_GUIDE.rglob("*")) if p.suffix.lower() in (".png", ".jpg", ".gif")]
    forms = [read_scan(p).form for p in files]
    assert len(files) >= 55  # 22 classes + 5 O3 classes, 2+ events each
    assert all(f.startswith(("Omega scan", "event GIF of 4 durations")) for f in forms)
    assert sum(f.startswith("event GIF") for f in forms) >= 30


def test_every_training_set_png_reads(gravityspy_dir):
    files = sorted(gravityspy_dir.rglob("*.png"))
    assert files and all("Gravity Spy crop" in read_scan(p).form for p in files)


def test_eval_scores_a_labelled_folder_whole(tmp_path, scans):
    import json
    import shutil

    from typer.testing import CliRunner

    from zoo.cli.app import app

    data = tmp_path / "data"
    (data / "Blip").mkdir(parents=True)
    (data / "Chirp").mkdir()
    for path in scans.values():
        shutil.copy(path, data / "Blip")
    write_event_gif(scans, data / "Chirp" / "chirp-2.gif")
    resized(scans["1.0"], data / "Chirp" / "chirp-1.jpg", (600, 450), quality=90)
    out = tmp_path / "eval"
    result = CliRunner().invoke(app, ["eval", "glitch", "--weights", "glitch-singleview",
                                      "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "eval.json").read_text())["metrics"]
    assert metrics["n"] == 9 and metrics["classes_present"] == 2
    assert set(metrics["per_class_recall"]) == {"Blip", "Chirp"}
    assert {"accuracy", "macro_f1_present", "ood_rate"} <= set(metrics)
    assert (out / "confusion_matrix.png").is_file()
    assert "per_class_recall/Chirp" in result.output and "ood_rate" in result.output


def _read_both(path: Path, monkeypatch) -> tuple[object, object]:
    """read_scan as shipped and with the reference-layout fast path switched off."""
    from zoo.tasks.glitch import formats

    fast = read_scan(path)
    with monkeypatch.context() as patch:
        patch.setattr(formats, "reference_layout", lambda rgb: None)
        searched = read_scan(path)
    return fast, searched


def _assert_same_read(fast, searched) -> None:
    assert fast.form == searched.form and fast.durations == searched.durations
    assert all(np.array_equal(a, b) for a, b in zip(fast.views, searched.views, strict=True))
    assert fast.on_map == searched.on_map


def test_reference_layout_fast_path_equals_the_search_on_simulated_scans(scans, monkeypatch):
    from zoo.tasks.glitch.layout import reference_layout

    for path in scans.values():
        assert reference_layout(np.asarray(Image.open(path).convert("RGB"))) is not None
        _assert_same_read(*_read_both(path, monkeypatch))


def test_reference_layout_fast_path_equals_the_search_on_real_scans(gravityspy_dir, monkeypatch):
    from zoo.tasks.glitch.layout import reference_layout

    files = sorted(gravityspy_dir.rglob("*.png"))
    if FIELD_GUIDE.is_dir():
        files += [p for p in sorted(FIELD_GUIDE.rglob("*")) if p.suffix.lower() in
                  (".png", ".jpg", ".gif") and Image.open(p).size == (800, 600)]
    for path in files:
        assert reference_layout(np.asarray(Image.open(path).convert("RGB"))) is not None, path
        _assert_same_read(*_read_both(path, monkeypatch))


@pytest.mark.parametrize("shift, form", [(1, "Gravity Spy crop"), (6, "crop scaled 1.00")])
def test_a_shifted_figure_takes_the_search(tmp_path, scans, monkeypatch, shift, form):
    """A figure moved right and down (white filling in) is not at the reference place: the
    full search finds it, snapping to Gravity Spy's box within 2 pixels, in proportion beyond."""
    from zoo.tasks.glitch.layout import reference_layout

    rgb = np.asarray(Image.open(scans["1.0"]).convert("RGB"))
    moved = np.full_like(rgb, 255)
    moved[shift:, shift:] = rgb[:-shift, :-shift]
    path = tmp_path / "H1_moved_spectrogram_1.0.png"
    Image.fromarray(moved).save(path)
    assert reference_layout(moved) is None
    fast, searched = _read_both(path, monkeypatch)
    _assert_same_read(fast, searched)
    assert fast.form == f"Omega scan 800x600 ({form})"


def test_on_map_table_matches_the_nearest_viridis_colour():
    """The lookup table built plane by plane gives each cell's nearest viridis colour."""
    from matplotlib import colormaps

    from zoo.tasks.glitch.layout import ON_MAP_TOLERANCE, _on_map_lut, on_map

    viridis = np.round(colormaps["viridis"](np.arange(256))[:, :3] * 255)
    distance, nearest = _on_map_lut()
    cells = np.random.default_rng(0).integers(0, 32, (300, 3))
    centres = cells * 8 + 3.5
    dist2 = ((centres[:, None, :] - viridis[None]) ** 2).sum(-1)
    r, g, b = cells.T
    assert np.array_equal(nearest[r, g, b], dist2.argmin(1))
    assert np.allclose(distance[r, g, b], np.sqrt(dist2.min(1)), atol=1e-4)
    pixels = (cells * 8 + 3).astype(np.uint8)[None]
    assert np.array_equal(on_map(pixels)[0], np.sqrt(dist2.min(1)) < ON_MAP_TOLERANCE)
