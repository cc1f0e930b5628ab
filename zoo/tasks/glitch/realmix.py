"""Simulated plus real training data: a user's labelled scans, augmented, added to a simulator file.

The simulator gives every class in numbers; a few real labelled events (the field guide, a user's
folder) teach what the simulator misses. :func:`write_mixed_h5` copies a simulator file and adds
``copies`` augmented versions of every real event to its **train** split only, so the validation
and test splits stay simulated and their metrics stay comparable. The result has the
``trainingsetv1d1.h5`` layout and trains through ``zoo train glitch --data MIXED.h5``.

Augmentations mirror how real scans of one class differ: a shift of the event in time (a few
pixels, the trigger offset) and in frequency (one or two rows), a louder or quieter glitch (energy
scaled), and a fresh rendering at 800x600 or 600x450 as PNG, JPEG or GIF
(:func:`zoo.tasks.glitch.simulator.display_roundtrip`). A multi-view mix keeps only events with
all four durations (event GIFs, Gravity Spy PNG sets); a single-view mix keeps every view.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.tasks.glitch import constants, simulator

#: Largest shift of a real event in time (columns) and frequency (rows) of the 140x170 view.
MAX_SHIFT_T, MAX_SHIFT_F = 6, 2
#: Range of the energy scale (louder / quieter glitch over the same noise level).
ENERGY_SCALE = (0.75, 1.35)


def augment_views(views: Sequence[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """One augmented copy of an event's views (each (140, 170) gray in [0, 1]); the same
    shift, loudness and rendering for all its durations, as one event is drawn once."""
    dt = int(rng.integers(-MAX_SHIFT_T, MAX_SHIFT_T + 1))
    df = int(rng.integers(-MAX_SHIFT_F, MAX_SHIFT_F + 1))
    gain = float(rng.uniform(*ENERGY_SCALE))
    pick = rng.choice(len(simulator.DISPLAYS), p=[p for p, _, _ in simulator.DISPLAYS])
    _, scale, fmt = simulator.DISPLAYS[pick]
    quality = int(rng.integers(85, 96))
    out = []
    for view in views:
        energy = simulator.gray_to_energy(np.roll(view, (df, dt), axis=(0, 1)))
        lo, hi = constants.ENERGY_RANGE
        energy = np.clip(energy * gain, lo, hi)
        out.append(simulator.display_roundtrip(energy, scale, fmt, quality))
    return out


def write_mixed_h5(sim_path: str | Path, real_folder: str | Path, out: str | Path,
                   copies: int = 20, seed: int = 0, view: str = "single",
                   classes: Sequence[str] = constants.CLASSES) -> dict[str, Any]:
    """Copy ``sim_path`` to ``out`` and add ``copies`` augmented versions of each real event of
    ``real_folder`` (``<Class>/`` subfolders, any form :func:`formats.read_scan` takes) to the
    train split. Single scans of unknown duration fill all four duration slots with independent
    augmentations (a single-view sample each); ``view="multiview"`` skips them. Returns a summary
    (events used and skipped) for the weights' data source."""
    import h5py

    from zoo.io.files import walk_files
    from zoo.tasks.glitch.formats import group_scans, read_event

    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.copyfile(sim_path, tmp)
    rng = np.random.default_rng(seed)
    used: list[str] = []
    skipped: list[str] = []
    groups = group_scans(walk_files(Path(real_folder)), Path(real_folder), classes)
    with h5py.File(tmp, "a") as f:
        f.attrs["real_folder"] = str(real_folder)
        f.attrs["real_copies"] = int(copies)
        f.attrs["simulated"] = False
        for (_, label, gid), files in sorted(groups.items()):
            event = read_event(files)
            complete = all(d in event.durations for d in constants.DURATIONS)
            if view == "multiview" and not complete:
                skipped.append(f"{label}/{gid}")
                continue
            used.append(f"{label}/{gid}")
            for k in range(copies):
                if complete:
                    views = augment_views([event.views[event.durations.index(d)]
                                           for d in constants.DURATIONS], rng)
                else:
                    views = [augment_views([event.views[0]], rng)[0] for _ in constants.DURATIONS]
                sample = f[label]["train"].create_group(f"real-{gid}-{k:03d}")
                for d, image in zip(constants.DURATIONS, views, strict=True):
                    sample.create_dataset(f"{d}.png", data=image[None].astype(np.float32),
                                          shuffle=True, compression="gzip", compression_opts=1)
    tmp.replace(out)
    return {"real_folder": str(real_folder), "copies": copies, "seed": seed, "view": view,
            "events": used, "skipped": skipped}


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m zoo.tasks.glitch.realmix SIM.h5 REAL_FOLDER OUT.h5 [--copies N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sim", type=Path)
    parser.add_argument("real", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--view", choices=("single", "multiview"), default="single")
    args = parser.parse_args(argv)
    summary = write_mixed_h5(args.sim, args.real, args.out, args.copies, args.seed, args.view)
    print(f"{args.out}: {len(summary['events'])} real events x {args.copies} copies added to "
          f"train; skipped {len(summary['skipped'])}")


if __name__ == "__main__":
    main()
