"""Simulated vs real Omega scans, class by class: frequency band, time extent, peak energy,
saturated fraction (the table of docs/glitch-simulator.md).

    python -m zoo.tasks.glitch.scanstats [--real FOLDER] [--n 6] [--seed 0]

Each scan's 1.0 s view (the lone view of a single scan) is turned back into normalized energy
through the colour map; "bright" pixels are those at energy >= 12 (half the colour scale). Band:
10th-90th percentile of the bright pixels' frequency (Hz); extent: 10th-90th percentile of their
time (s); peak: 99.5th percentile of energy; saturated: share of pixels at >= 24 (top of the
colour scale). Real scans go through the same reader as ``zoo predict``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from zoo.tasks.glitch import constants, omega, simulator
from zoo.tasks.glitch.formats import ScanRead

#: The field guide beside a checkout of the repository (../shared/data/gravityspy-fieldguide).
FIELD_GUIDE = Path(__file__).resolve().parents[4] / "shared" / "data" / "gravityspy-fieldguide"
BRIGHT, SATURATED = 12.0, 24.0


def scan_stats(gray: np.ndarray, duration: float = 1.0) -> dict[str, float]:
    """The four statistics of one (140, 170) gray view."""
    energy = simulator.gray_to_energy(gray)
    times, freqs = omega.pixel_grid(duration)
    rows, cols = np.nonzero(energy >= BRIGHT)
    nan = float("nan")
    band = np.percentile(freqs[rows], [10, 90]) if rows.size else (nan, nan)
    extent = float(np.subtract(*np.percentile(times[cols], [90, 10]))) if cols.size else 0.0
    return {"f_lo": float(band[0]), "f_hi": float(band[1]), "extent_s": extent,
            "peak": float(np.percentile(energy, 99.5)),
            "saturated": float(np.mean(energy >= SATURATED))}


def one_second_view(scan: ScanRead) -> np.ndarray:
    """A scan's 1.0 s view, or its lone view when it has no named durations."""
    view = scan.view("1.0")
    return scan.views[0] if view is None else view


def simulated_stats(label: str, n: int, seed: int) -> list[dict[str, float]]:
    seqs = np.random.SeedSequence([seed, constants.CLASSES.index(label)]).spawn(n)
    return [scan_stats(simulator.simulate_sample(label, np.random.default_rng(s))["1.0"])
            for s in seqs]


def real_stats(folder: Path, label: str) -> list[dict[str, float]]:
    from zoo.tasks.glitch.formats import read_scan

    out = []
    for path in sorted((folder / label).glob("*")):
        out.append(scan_stats(one_second_view(read_scan(path))))
    return out


def summary(stats: list[dict[str, float]]) -> str:
    """``f_lo-f_hi Hz | extent | peak | saturated`` as medians over the scans."""
    if not stats:
        return "- | - | - | -"
    med = {k: float(np.nanmedian([s[k] for s in stats])) for k in stats[0]}
    band = "-" if np.isnan(med["f_lo"]) else f"{med['f_lo']:.0f}-{med['f_hi']:.0f}"
    return f"{band} | {med['extent_s']:.2f} | {med['peak']:.1f} | {med['saturated']:.3f}"


def contact_sheet(real: Path, classes: list[str], path: Path, n_sim: int = 3, seed: int = 0,
                  shrink: int = 2) -> Path:
    """A PNG with one row per class: its real 1.0 s views (left, after the reader) and
    ``n_sim`` simulated 1.0 s scans (right), in viridis, each tile shrunk by ``shrink``."""
    from PIL import Image, ImageDraw

    from zoo.tasks.glitch.formats import read_scan

    rgb, _ = omega.colour_tables()
    rows_h, cols_w = constants.IMAGE_SHAPE[0] // shrink, constants.IMAGE_SHAPE[1] // shrink
    label_w, gap, n_real = 120, 3, 2
    sheet = Image.new("RGB", (label_w + (n_real + n_sim) * (cols_w + gap) + gap,
                              len(classes) * (rows_h + gap) + 16), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((label_w, 2), "field guide (1.0 s)", fill="black")
    draw.text((label_w + n_real * (cols_w + gap) + gap, 2), "simulated (1.0 s)", fill="black")
    for r, label in enumerate(classes):
        views: list[np.ndarray | None] = [one_second_view(read_scan(file))
                                          for file in sorted((real / label).glob("*"))[:n_real]]
        views += [None] * (n_real - len(views))
        seqs = np.random.SeedSequence([seed, constants.CLASSES.index(label)]).spawn(n_sim)
        views += [simulator.simulate_sample(label, np.random.default_rng(q))["1.0"] for q in seqs]
        y = 16 + r * (rows_h + gap)
        draw.text((4, y + rows_h // 2 - 6), label, fill="black")
        for c, view in enumerate(views):
            if view is None:
                continue
            tile = Image.fromarray(rgb[omega.energy_index(simulator.gray_to_energy(view))])
            sheet.paste(tile.resize((cols_w, rows_h), Image.Resampling.BILINEAR),
                        (label_w + c * (cols_w + gap) + (gap if c >= n_real else 0), y))
    # viridis, white and black text fit a 256-colour palette: a third of the RGB file's size
    sheet.convert("P", palette=Image.Palette.ADAPTIVE, colors=256).save(path, optimize=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=FIELD_GUIDE)
    parser.add_argument("--n", type=int, default=6, help="simulated scans per class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sheet", type=Path, nargs="*", default=[],
                        help="also draw contact sheets: PNG paths, the classes split among them")
    args = parser.parse_args()
    parts = np.array_split(np.array(constants.CLASSES), max(1, len(args.sheet)))
    for classes, path in zip(parts, args.sheet, strict=False):
        contact_sheet(args.real, [str(c) for c in classes], path, seed=args.seed)
    print("| class | sim band (Hz) | sim extent (s) | sim peak | sim saturated "
          "| real band (Hz) | real extent (s) | real peak | real saturated |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label in constants.CLASSES:
        real = real_stats(args.real, label) if (args.real / label).is_dir() else []
        print(f"| {label} | {summary(simulated_stats(label, args.n, args.seed))} "
              f"| {summary(real)} |")


if __name__ == "__main__":
    main()
