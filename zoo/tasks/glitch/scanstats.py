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


def simulated_stats(label: str, n: int, seed: int) -> list[dict[str, float]]:
    seqs = np.random.SeedSequence([seed, constants.CLASSES.index(label)]).spawn(n)
    return [scan_stats(simulator.simulate_sample(label, np.random.default_rng(s))["1.0"])
            for s in seqs]


def real_stats(folder: Path, label: str) -> list[dict[str, float]]:
    from zoo.tasks.glitch.formats import read_scan

    out = []
    for path in sorted((folder / label).glob("*")):
        scan = read_scan(path)
        out.append(scan_stats(scan.view("1.0") if scan.view("1.0") is not None else scan.views[0]))
    return out


def summary(stats: list[dict[str, float]]) -> str:
    """``f_lo-f_hi Hz | extent | peak | saturated`` as medians over the scans."""
    if not stats:
        return "- | - | - | -"
    med = {k: float(np.nanmedian([s[k] for s in stats])) for k in stats[0]}
    band = "-" if np.isnan(med["f_lo"]) else f"{med['f_lo']:.0f}-{med['f_hi']:.0f}"
    return f"{band} | {med['extent_s']:.2f} | {med['peak']:.1f} | {med['saturated']:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=FIELD_GUIDE)
    parser.add_argument("--n", type=int, default=6, help="simulated scans per class")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| class | sim band (Hz) | sim extent (s) | sim peak | sim saturated "
          "| real band (Hz) | real extent (s) | real peak | real saturated |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label in constants.CLASSES:
        real = real_stats(args.real, label) if (args.real / label).is_dir() else []
        print(f"| {label} | {summary(simulated_stats(label, args.n, args.seed))} "
              f"| {summary(real)} |")


if __name__ == "__main__":
    main()
