"""Held-out estimate on a small labelled set of real scans: event-level 2-fold cross-validation.

With one or two real events per class (the Gravity Spy field guide), a recipe that trains on
simulated data plus real events can only be scored on real events it did not see. The folds
follow the field guide's layout: fold 1 holds the single scans (``*-1.jpg``/``*-1.png``),
fold 2 everything else (the 4-frame event GIFs ``*-2.gif`` and the extra None_of_the_Above
GIFs). Each fold's model is trained on the simulator file plus the *other* fold's events
(:mod:`zoo.tasks.glitch.realmix`, ``zoo train glitch --arch singleview``) and scores this fold;
an event's views (a GIF's 4 frames, a Gravity Spy PNG set's 4 durations) go through the
single-view model and their probabilities are averaged: one prediction per event.

    python -m zoo.tasks.glitch.heldout SIM.h5 FIELD_GUIDE OUT_DIR --init INIT.weights.h5 [--seed 1]

This is how the model card's cross-validation tables were made (about 3 CPU-minutes per fold
on 2 cores). It needs the train extra.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.tasks.glitch.constants import CLASSES
from zoo.tasks.glitch.formats import group_scans, read_event

FOLDS = ("1", "2")


def fold_of(path: Path) -> str:
    """"1" for a field-guide single scan (``name-1.ext``), "2" for anything else."""
    return "1" if path.stem.endswith("-1") else "2"


def make_folds(real: Path, out: Path, classes: Sequence[str] = CLASSES) -> dict[str, Path]:
    """Symlink trees ``out/fold1/<Class>/`` and ``out/fold2/<Class>/`` of ``real``'s class
    folders (other folders, such as the field guide's ``o3-classes``, are left out)."""
    folders = {fold: out / f"fold{fold}" for fold in FOLDS}
    for label in classes:
        source = real / label
        if not source.is_dir():
            continue
        for path in sorted(p for p in source.iterdir() if p.is_file()):
            target = folders[fold_of(path)] / label / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.is_symlink():
                target.symlink_to(path.resolve())
    return folders


def score_events(onnx: Path, folder: Path, classes: Sequence[str] = CLASSES
                 ) -> list[dict[str, Any]]:
    """One row per event of ``folder`` (``<Class>/`` subfolders): true and predicted class and
    the averaged probability, through the single-view model ``onnx``; and how many of the
    event's views are right on their own (``views_correct`` of ``views``), the held-out figure
    for images classified one at a time, as Zooniverse subjects are."""
    import onnxruntime as ort

    from zoo.io.files import walk_files

    session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    rows = []
    for (_, label, gid), files in sorted(group_scans(walk_files(folder), folder, classes).items()):
        views = np.stack(read_event(files).views)[..., None].astype(np.float32)
        per_view = session.run(None, {name: views})[0]
        probs = per_view.mean(axis=0)
        best = int(probs.argmax())
        rows.append({"event": f"{label}/{gid}", "label": label, "predicted": classes[best],
                     "probability": float(probs[best]), "views": len(per_view),
                     "views_correct": int(np.sum(per_view.argmax(axis=1) == classes.index(label)))})
    return rows


def run(sim: Path, real: Path, out: Path, init: Path, seed: int = 0, copies: int = 12,
        epochs: int = 2) -> dict[str, Any]:
    """Both folds: mix, train (``zoo train`` in a subprocess, so the run folder records the
    command), score the other fold. Returns and writes ``out/heldout.json``."""
    folders = make_folds(real, out)
    report: dict[str, Any] = {"sim": str(sim), "real": str(real), "seed": seed, "folds": {}}
    for fold, folder in folders.items():
        other = folders[FOLDS[1 - FOLDS.index(fold)]]
        mix = out / f"mix-train-on-{other.name}.h5"
        if not mix.exists():
            from zoo.tasks.glitch.realmix import write_mixed_h5

            write_mixed_h5(sim, other, mix, copies=copies, view="single")
        run_dir = out / f"run-train-on-{other.name}-seed{seed}"
        subprocess.run([sys.executable, "-m", "zoo.cli.app", "train", "glitch", "--arch",
                        "singleview", "--data", str(mix), "--init", str(init), "--epochs",
                        str(epochs), "--seed", str(seed), "--out", str(run_dir)], check=True)
        rows = score_events(run_dir / "model.onnx", folder)
        report["folds"][folder.name] = {
            "trained_on": other.name, "correct": sum(r["label"] == r["predicted"] for r in rows),
            "events": len(rows), "views_correct": sum(r["views_correct"] for r in rows),
            "views": sum(r["views"] for r in rows), "rows": rows}
    report["correct"] = sum(f["correct"] for f in report["folds"].values())
    report["events"] = sum(f["events"] for f in report["folds"].values())
    (out / "heldout.json").write_text(json.dumps(report, indent=1))
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sim", type=Path)
    parser.add_argument("real", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--init", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--copies", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    report = run(args.sim, args.real, args.out, args.init, args.seed, args.copies, args.epochs)
    for name, fold in report["folds"].items():
        print(f"{name} (trained on {fold['trained_on']}): {fold['correct']}/{fold['events']} "
              f"events, {fold['views_correct']}/{fold['views']} images one at a time")
        for row in fold["rows"]:
            if row["label"] != row["predicted"]:
                print(f"  miss {row['event']}: {row['predicted']} ({row['probability']:.2f})")
    print(f"all: {report['correct']}/{report['events']} events")


if __name__ == "__main__":
    main()
