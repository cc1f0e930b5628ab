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

The multi-view model reads only four-duration events, so the single scans of fold 1 cannot
train it and the folds above cannot score it. ``--multiview-init MV_INIT.weights.h5`` runs
the other scheme, **class halves**: the event GIFs of every other class (``CLASSES[0::2]``,
``CLASSES[1::2]``) train a multi-view and a single-view model (with the simulator file, by
the shipped recipes) and the GIFs of the other half's classes, none of which the training
saw a real example of, are scored by the multi-view model, by the single-view model averaged
over the four durations, and by the average of the two (what the ``multiview-ensemble``
architecture computes). It writes ``OUT_DIR/class-halves.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from zoo.tasks.glitch.constants import CLASSES
from zoo.tasks.glitch.formats import group_scans, read_event

FOLDS = ("1", "2")


class MixRecipe(NamedTuple):
    """How a shipped glitch model was made from the simulator file and real events."""

    copies: int  # augmented copies of each real event in the train split
    epochs: int
    view: str  # the realmix view


#: the shipped weights' recipes, per architecture
RECIPES = {"singleview": MixRecipe(copies=12, epochs=2, view="single"),
           "multiview": MixRecipe(copies=20, epochs=4, view="multiview")}
#: the event scores of the class-halves scheme
SCORERS = ("multiview", "singleview", "ensemble")


def fold_of(path: Path) -> str:
    """"1" for a field-guide single scan (``name-1.ext``), "2" for anything else."""
    return "1" if path.stem.endswith("-1") else "2"


def _link(source: Path, target: Path) -> None:
    """``target`` -> ``source`` (kept if it is already there: a rerun reuses the tree)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_symlink():
        target.symlink_to(source.resolve())


def make_folds(real: Path, out: Path, classes: Sequence[str] = CLASSES) -> dict[str, Path]:
    """Symlink trees ``out/fold1/<Class>/`` and ``out/fold2/<Class>/`` of ``real``'s class
    folders (other folders, such as the field guide's ``o3-classes``, are left out)."""
    folders = {fold: out / f"fold{fold}" for fold in FOLDS}
    for label in classes:
        source = real / label
        if not source.is_dir():
            continue
        for path in sorted(p for p in source.iterdir() if p.is_file()):
            _link(path, folders[fold_of(path)] / label / path.name)
    return folders


def make_class_halves(real: Path, out: Path, classes: Sequence[str] = CLASSES
                      ) -> list[Path]:
    """Symlink trees ``out/half0/<Class>/`` and ``out/half1/<Class>/``: the event GIFs (fold 2)
    of ``classes[0::2]`` and of ``classes[1::2]``."""
    halves = [out / "half0", out / "half1"]
    for half, folder in enumerate(halves):
        for label in classes[half::2]:
            source = real / label
            if not source.is_dir():
                continue
            for path in sorted(p for p in source.iterdir() if p.is_file()):
                if fold_of(path) != "2" or path.suffix.lower() != ".gif":
                    continue
                _link(path, folder / label / path.name)
    return halves


def _events(folder: Path, classes: Sequence[str]) -> Iterator[tuple[str, str, tuple[np.ndarray, ...]]]:
    """(class, event id, views) for every event of a ``<Class>/`` folder, in sorted order."""
    from zoo.io.files import walk_files

    for (_, label, gid), files in sorted(group_scans(walk_files(folder), folder, classes).items()):
        yield label, gid, tuple(read_event(files).views)


def score_events(onnx: Path, folder: Path, classes: Sequence[str] = CLASSES
                 ) -> list[dict[str, Any]]:
    """One row per event of ``folder`` (``<Class>/`` subfolders): true and predicted class and
    the averaged probability, through the single-view model ``onnx``; and how many of the
    event's views are right on their own (``views_correct`` of ``views``), the held-out figure
    for images classified one at a time, as Zooniverse subjects are."""
    from zoo.predictor import make_session

    session = make_session(onnx, "cpu")
    name = session.get_inputs()[0].name
    rows = []
    for label, gid, event_views in _events(folder, classes):
        views = np.stack(event_views)[..., None].astype(np.float32)
        per_view = session.run(None, {name: views})[0]
        probs = per_view.mean(axis=0)
        best = int(probs.argmax())
        rows.append({"event": f"{label}/{gid}", "label": label, "predicted": classes[best],
                     "probability": float(probs[best]), "views": len(per_view),
                     "views_correct": int(np.sum(per_view.argmax(axis=1) == classes.index(label)))})
    return rows


def score_by_three(multiview: Path, singleview: Path, folder: Path,
                   classes: Sequence[str] = CLASSES) -> list[dict[str, Any]]:
    """One row per four-duration event of ``folder``: the class predicted by the multi-view
    model on the mosaic, by the single-view model averaged over the durations, and by the
    average of the two."""
    from zoo.predictor import make_session
    from zoo.tasks.glitch.formats import tile_views

    sessions = {arch: make_session(path, "cpu")
                for arch, path in (("multiview", multiview), ("singleview", singleview))}
    rows = []
    for label, gid, views in _events(folder, classes):
        if len(views) != 4:
            continue
        inputs = {"multiview": tile_views(views)[None, ..., None],
                  "singleview": np.stack(views)[..., None]}
        probs = {arch: session.run(None, {session.get_inputs()[0].name:
                                          inputs[arch].astype(np.float32)})[0].mean(axis=0)
                 for arch, session in sessions.items()}
        probs["ensemble"] = (probs["multiview"] + probs["singleview"]) / 2
        rows.append({"event": f"{label}/{gid}", "label": label,
                     **{name: classes[int(probs[name].argmax())] for name in SCORERS}})
    return rows


def _train(arch: str, mix: Path, init: Path, epochs: int, seed: int, run_dir: Path) -> Path:
    """``zoo train`` in a subprocess (so the run folder records the command); its ONNX file."""
    subprocess.run([sys.executable, "-m", "zoo.cli.app", "train", "glitch", "--arch", arch,
                    "--data", str(mix), "--init", str(init), "--epochs", str(epochs),
                    "--seed", str(seed), "--out", str(run_dir)], check=True)
    return run_dir / "model.onnx"


def class_halves(sim: Path, real: Path, out: Path, init: Path, multiview_init: Path,
                 seed: int = 0) -> dict[str, Any]:
    """The class-halves scheme (module docstring). Returns and writes
    ``out/class-halves.json``."""
    from zoo.tasks.glitch.realmix import write_mixed_h5

    halves = make_class_halves(real, out)
    inits = {"singleview": init, "multiview": multiview_init}
    report: dict[str, Any] = {"sim": str(sim), "real": str(real), "seed": seed, "halves": {}}
    for half, folder in enumerate(halves):
        onnx = {}
        for arch, recipe in RECIPES.items():
            mix = out / f"mix-{arch}-{folder.name}.h5"
            if not mix.exists():
                write_mixed_h5(sim, folder, mix, copies=recipe.copies, view=recipe.view)
            onnx[arch] = _train(arch, mix, inits[arch], recipe.epochs, seed,
                                out / f"run-{arch}-{folder.name}-seed{seed}")
        scored = halves[1 - half]
        rows = score_by_three(onnx["multiview"], onnx["singleview"], scored)
        report["halves"][scored.name] = {
            "trained_on": folder.name, "events": len(rows), "rows": rows,
            "correct": {name: sum(r[name] == r["label"] for r in rows) for name in SCORERS}}
    report["events"] = sum(h["events"] for h in report["halves"].values())
    report["correct"] = {name: sum(h["correct"][name] for h in report["halves"].values())
                         for name in SCORERS}
    (out / "class-halves.json").write_text(json.dumps(report, indent=1))
    return report


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
        onnx = _train("singleview", mix, init, epochs, seed,
                      out / f"run-train-on-{other.name}-seed{seed}")
        rows = score_events(onnx, folder)
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
    parser.add_argument("--multiview-init", type=Path, default=None,
                        help="run the class-halves scheme, the multi-view model starting here")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.multiview_init is not None:
        halves = class_halves(args.sim, args.real, args.out, args.init, args.multiview_init,
                              args.seed)
        for name, half in halves["halves"].items():
            counts = ", ".join(f"{k} {v}/{half['events']}" for k, v in half["correct"].items())
            print(f"{name} (trained on {half['trained_on']}): {counts}")
            for row in half["rows"]:
                misses = [f"{k} {row[k]}" for k in SCORERS if row[k] != row["label"]]
                if misses:
                    print(f"  {row['event']}: {'; '.join(misses)}")
        print("all: " + ", ".join(f"{k} {v}/{halves['events']}"
                                  for k, v in halves["correct"].items()) + " events")
        return
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
