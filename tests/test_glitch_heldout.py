"""The held-out cross-validation helpers: fold split and per-event scoring."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

from zoo.tasks.glitch.constants import CLASSES
from zoo.tasks.glitch.formats import read_scan, tile_views
from zoo.tasks.glitch.heldout import make_class_halves, make_folds, score_by_three, score_events
from zoo.weights import shipped_dir

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "glitch"


def scored_folder(tmp_path: Path) -> Path:
    """A labelled folder of one 4-duration Blip event (real PNGs) and one lone Whistle scan."""
    folder = tmp_path / "scored"
    (folder / "Blip").mkdir(parents=True)
    (folder / "Whistle").mkdir()
    for png in EXAMPLES.glob("H1_0PgqDFdHPl_*.png"):
        shutil.copy(png, folder / "Blip")
    shutil.copy(EXAMPLES / "whistle-1.jpg", folder / "Whistle")
    return folder


def test_folds_split_single_scans_from_event_gifs_and_skip_other_folders(tmp_path):
    real = tmp_path / "real"
    for name in ("Blip/blip-1.jpg", "Blip/blip-2.gif", "None_of_the_Above/noa-4.gif",
                 "o3-classes/Crown/crown-1.jpg"):
        (real / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(real / name)
    folds = make_folds(real, tmp_path / "cv")
    listed = {fold: sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
              for fold, folder in folds.items()}
    assert listed == {"1": ["Blip/blip-1.jpg"],
                      "2": ["Blip/blip-2.gif", "None_of_the_Above/noa-4.gif"]}
    make_folds(real, tmp_path / "cv")  # again: the links are already there


def test_class_halves_hold_the_event_gifs_of_every_other_class(tmp_path):
    real = tmp_path / "real"
    for name in ("1080Lines/1080-1.png", "1080Lines/1080-2.gif", "1400Ripples/1400-2.gif",
                 "Air_Compressor/air-2.gif", "None_of_the_Above/noa-4.gif",
                 "o3-classes/Crown/crown-2.gif"):
        (real / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(real / name)
    halves = make_class_halves(real, tmp_path / "cv")
    listed = [sorted(str(p.relative_to(h)) for p in h.rglob("*") if p.is_file()) for h in halves]
    assert [CLASSES.index(c) for c in ("1080Lines", "1400Ripples", "Air_Compressor",
                                       "None_of_the_Above")] == [0, 1, 2, 12]
    assert listed == [["1080Lines/1080-2.gif", "Air_Compressor/air-2.gif",
                       "None_of_the_Above/noa-4.gif"], ["1400Ripples/1400-2.gif"]]


def test_an_event_is_scored_by_both_models_and_their_average(tmp_path):
    folder = scored_folder(tmp_path)  # the Whistle is one view: not an event
    multi = shipped_dir("glitch") / "glitch-multiview.onnx"
    single = shipped_dir("glitch") / "glitch-singleview.onnx"
    rows = score_by_three(multi, single, folder)
    assert [r["event"] for r in rows] == ["Blip/H1_0PgqDFdHPl"]
    views = [read_scan(p).views[0] for p in sorted((folder / "Blip").iterdir())]
    p_multi = ort.InferenceSession(str(multi)).run(
        None, {"image": tile_views(views)[None, ..., None]})[0][0]
    p_single = ort.InferenceSession(str(single)).run(
        None, {"image": np.stack(views)[..., None]})[0].mean(axis=0)
    assert rows[0]["multiview"] == CLASSES[int(p_multi.argmax())]
    assert rows[0]["singleview"] == CLASSES[int(p_single.argmax())]
    assert rows[0]["ensemble"] == CLASSES[int((p_multi + p_single).argmax())]


def test_the_class_halves_summary_counts_each_scorer(tmp_path, monkeypatch, capsys):
    from zoo.tasks.glitch import heldout

    row = {"event": "Blip/blip-2.gif", "label": "Blip", "multiview": "Tomte",
           "singleview": "Blip", "ensemble": "Blip"}
    half = {"trained_on": "half0", "events": 1, "rows": [row],
            "correct": {"multiview": 0, "singleview": 1, "ensemble": 1}}
    monkeypatch.setattr(heldout, "class_halves", lambda *args: {
        "halves": {"half1": half}, "events": 1, "correct": half["correct"]})
    heldout.main(["sim.h5", "real", str(tmp_path / "out"), "--init", "sv.weights.h5",
                  "--multiview-init", "mv.weights.h5"])
    printed = capsys.readouterr().out
    assert "half1 (trained on half0): multiview 0/1, singleview 1/1, ensemble 1/1" in printed
    assert "Blip/blip-2.gif: multiview Tomte" in printed
    assert "all: multiview 0/1, singleview 1/1, ensemble 1/1 events" in printed


def test_an_event_is_scored_once_on_its_averaged_views(tmp_path):
    folder = scored_folder(tmp_path)
    onnx = shipped_dir("glitch") / "glitch-singleview.onnx"
    rows = score_events(onnx, folder)
    assert [r["event"] for r in rows] == ["Blip/H1_0PgqDFdHPl", "Whistle/whistle-1.jpg"]
    views = np.stack([read_scan(p).views[0] for p in sorted((folder / "Blip").iterdir())])
    session = ort.InferenceSession(str(onnx))
    mean = session.run(None, {"image": views[..., None]})[0].mean(axis=0)
    assert rows[0]["predicted"] == CLASSES[int(mean.argmax())]
    assert abs(rows[0]["probability"] - float(mean.max())) < 1e-6
    assert rows[1]["label"] == "Whistle" and rows[1]["predicted"] in CLASSES
    alone = session.run(None, {"image": views[..., None]})[0].argmax(axis=1)
    assert rows[0]["views"] == 4 and rows[1]["views"] == 1
    assert rows[0]["views_correct"] == int(np.sum(alone == CLASSES.index("Blip")))
    assert rows[1]["views_correct"] == int(rows[1]["predicted"] == "Whistle")


def test_the_summary_counts_events_and_single_images(tmp_path, monkeypatch, capsys):
    from zoo.tasks.glitch import heldout

    row = {"event": "Blip/blip-2.gif", "label": "Blip", "predicted": "Tomte", "probability": 0.6,
           "views": 4, "views_correct": 1}
    fold = {"trained_on": "fold1", "correct": 0, "events": 1, "views_correct": 1, "views": 4,
            "rows": [row]}
    monkeypatch.setattr(heldout, "run", lambda *args: {"folds": {"fold2": fold}, "correct": 0,
                                                       "events": 1})
    heldout.main(["sim.h5", "real", str(tmp_path / "out"), "--init", "init.weights.h5"])
    printed = capsys.readouterr().out
    assert "fold2 (trained on fold1): 0/1 events, 1/4 images one at a time" in printed
    assert "miss Blip/blip-2.gif: Tomte (0.60)" in printed and "all: 0/1 events" in printed
