"""Small image files for core tests, written the way users' files look."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image


def write_digit_pngs(folder: Path, n: int = 6) -> list[tuple[Path, int]]:
    """PNG files of held-out scikit-learn digits (ink bright, 8x8 gray) with their labels."""
    from sklearn.datasets import load_digits

    import zoo

    digits = load_digits()
    test_ids = zoo.get_task("digits").load_data(None, seed=0).test.ids
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in test_ids[:n]:
        path = folder / f"digit_{i:03d}.png"
        Image.fromarray(np.round(digits.images[i] / 16 * 255).astype(np.uint8)).save(path)
        files.append((path, int(digits.target[i])))
    return files


def write_bad_files(folder: Path, good: Path) -> dict[str, Path]:
    """A non-image, a truncated PNG, a wrong-size image and a missing path."""
    folder.mkdir(parents=True, exist_ok=True)
    bad = {
        "not_image": folder / "notes.png",
        "truncated": folder / "truncated.png",
        "wrong_size": folder / "big.png",
        "wrong_mode": folder / "cmyk.jpg",
        "missing": folder / "missing.png",
    }
    bad["not_image"].write_text("this is not an image\n")
    raw = good.read_bytes()
    bad["truncated"].write_bytes(raw[: len(raw) // 2])
    Image.new("L", (28, 28)).save(bad["wrong_size"])
    Image.new("CMYK", (8, 8)).save(bad["wrong_mode"])
    return bad


def write_digit_run(folder: Path, copies: int) -> Path:
    """A run-sized folder: 40 held-out digit PNGs in ``a/`` with ``copies`` more copies of each,
    and every kind of bad file (:func:`write_bad_files`) in ``bad/``."""
    files = write_digit_pngs(folder / "a", 40)
    for i in range(copies):
        for path, _ in files:
            shutil.copyfile(path, folder / "a" / f"copy{i}_{path.name}")
    write_bad_files(folder / "bad", files[0][0])
    return folder


def many_copies(folder: Path, source: Path, n: int) -> Path:
    """``folder`` holding ``n`` names of ``source`` (``d00000.png`` ...): hard links, so that
    a run of tens of thousands of files costs one file's disk space."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        os.link(source, folder / f"d{i:05d}.png")
    return folder


def flagged_share(predictor, inputs) -> float:
    """Share of ``inputs`` (an array, or a dict of arrays per input) flagged out of distribution."""
    return float(np.mean([r["ood_flag"] for r in predictor.predict_arrays(inputs)]))


def assert_all_flagged(predictor, strangers: dict) -> None:
    """Every sample of every named batch in ``strangers`` is flagged (scores shown if not)."""
    for name, inputs in strangers.items():
        results = predictor.predict_arrays(inputs)
        assert all(r["ood_flag"] for r in results), (name, [r["ood"] for r in results])

