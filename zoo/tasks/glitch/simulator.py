"""Physically grounded Gravity Spy glitch simulator: strain -> noise -> Q-transform -> images.

One sample: a class waveform (``waveforms.GENERATORS``) scaled to an SNR drawn per class, added
to 8 s of Gaussian noise with the aLIGO PSD shape, whitened once, Q-transformed (gwpy's tiling,
loudest of the Q planes 4..64 near the event), interpolated onto the pixel grid of Gravity Spy's
cropped plot area at the four durations and coloured the way the Omega scans are (viridis over
normalized energy 0-25.5, PNG bytes, luminance). ``simulate_h5`` writes the result in the layout
of Gravity Spy's ``trainingsetv1d1.h5`` so training reads simulated and real data alike.
"""

from __future__ import annotations

import multiprocessing
import os
import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from zoo.tasks.glitch import constants, omega
from zoo.tasks.glitch.waveforms import GENERATORS, SNR_RANGE

T = TypeVar("T")

SIMULATOR_VERSION = "4"
#: Domain randomisation (where real scans vary between runs and detectors):
#: plotted frequency span (bottom, top edge in Hz; O1 scans reach 2048 Hz, v1d1 ~1920 Hz),
AXIS_BOTTOM, AXIS_TOP = (10.0, 11.0), (1850.0, 2048.0)
#: relative error of the estimated noise ASD (smooth in log frequency),
PSD_ERROR = 0.15
#: chance of an unrelated weak glitch away from the event, and of an unrelated steady line,
BACKGROUND_GLITCH, BACKGROUND_LINE = 0.25, 0.25
#: and how the figure reached the user: (probability, scale, format) of its rendering.
DISPLAYS = ((0.25, 1.0, "png"), (0.25, 1.0, "jpeg"), (0.25, 0.75, "jpeg"), (0.25, 0.75, "gif"))
_ID_ALPHABET = np.array(list(string.ascii_letters + string.digits))
_TIME = np.arange(int(omega.SEGMENT * omega.SAMPLE_RATE)) / omega.SAMPLE_RATE - omega.SEGMENT / 2


def simulate_energy(label: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Normalized-energy maps (140 x 170, high frequency on the top row) per duration."""
    if label not in GENERATORS:
        raise ValueError(f"unknown glitch class {label!r}; known: {', '.join(constants.CLASSES)}")
    strain = GENERATORS[label](_TIME, rng)
    lo, hi = SNR_RANGE[label]
    data = omega.coloured_noise(rng)
    if hi > 0:
        data = data + _scaled(strain, _loguniform(rng, lo, hi))
    data = data + _background(rng)
    white = _misestimated_whitening(omega.whiten(data), rng)
    plane, energies = omega.q_planes(white)
    frange = (rng.uniform(*AXIS_BOTTOM), rng.uniform(*AXIS_TOP))
    grids = [omega.pixel_grid(float(d), frange=frange, subsamples=omega.SUBSAMPLES)
             for d in constants.DURATIONS]
    times = np.concatenate([g[0] for g in grids])
    maps = omega.interpolate(plane, energies, times, grids[0][1])
    rows, cols = constants.IMAGE_SHAPE
    k = omega.SUBSAMPLES
    maps = maps.reshape(rows, k, len(grids), cols, k).mean(axis=(1, 4))
    return {d: maps[:, i].astype(np.float32) for i, d in enumerate(constants.DURATIONS)}


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _scaled(strain: np.ndarray, snr: float) -> np.ndarray:
    """``strain`` scaled to matched-filter ``snr`` against the whitened (unit-variance) noise."""
    norm = float(np.sqrt(np.sum(omega.whiten(strain) ** 2)))
    return strain * (snr / max(norm, 1e-300))


def _background(rng: np.random.Generator) -> np.ndarray:
    """Unrelated features real scans carry: a weak glitch away from the event (seen in the
    longer windows only) and a steady line at a random frequency."""
    h = np.zeros_like(_TIME)
    if rng.random() < BACKGROUND_GLITCH:
        t0 = rng.choice([-1, 1]) * rng.uniform(0.6, 2.0)
        glitch = GENERATORS["Blip"](_TIME - t0, rng)
        h += _scaled(glitch, _loguniform(rng, 8, 25))
    if rng.random() < BACKGROUND_LINE:
        line = np.sin(2 * np.pi * _loguniform(rng, 15, 1500) * _TIME + rng.uniform(0, 6.3))
        h += _scaled(line, _loguniform(rng, 20, 60))
    return h


def _misestimated_whitening(white: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whitened data as if the ASD were estimated with a smooth relative error (PSD_ERROR)."""
    freqs = np.fft.rfftfreq(white.size, 1.0 / omega.SAMPLE_RATE)
    knots = np.log(np.geomspace(1.0, omega.SAMPLE_RATE / 2, 12))
    error = np.interp(np.log(np.maximum(freqs, 1.0)), knots, rng.normal(0, PSD_ERROR, knots.size))
    return np.fft.irfft(np.fft.rfft(white) * np.exp(error), white.size)


def energy_to_gray(energy: np.ndarray) -> np.ndarray:
    """Gray image in [0, 1] of a normalized-energy map, as Gravity Spy reads its PNGs.

    Viridis over 0-25.5 quantised to PNG bytes, then skimage's rgb2gray luminance.
    """
    _, gray = omega.colour_tables()
    return gray[omega.energy_index(energy)].astype(np.float32)


def gray_to_energy(gray: np.ndarray) -> np.ndarray:
    """Inverse of ``energy_to_gray`` (centre of each colour level): viridis luminance is monotonic."""
    _, table = omega.colour_tables()
    lo, hi = constants.ENERGY_RANGE
    level = np.interp(np.asarray(gray, dtype=np.float64), table, np.arange(256))
    return lo + (np.round(level) + 0.5) / 256 * (hi - lo)


def simulate_sample(label: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One glitch of class ``label``: {"0.5": gray (140, 170) float32 in [0, 1], "1.0": ...},
    as read back from a figure drawn at a random scale and format (``DISPLAYS``)."""
    pick = rng.choice(len(DISPLAYS), p=[p for p, _, _ in DISPLAYS])
    _, scale, fmt = DISPLAYS[pick]
    quality = int(rng.integers(85, 96))
    return {d: display_roundtrip(e, scale, fmt, quality)
            for d, e in simulate_energy(label, rng).items()}


def display_roundtrip(energy: np.ndarray, scale: float = 1.0, fmt: str = "png",
                      quality: int = 90) -> np.ndarray:
    """Gray image of ``energy`` as a reader gets it back from a figure drawn at ``scale``
    (1.0: 800x600, 0.75: 600x450) and saved as PNG, JPEG (``quality``) or GIF (palette).

    The plot area is drawn at the figure's pixel size, coloured with viridis, encoded and read
    back: crop, rgb2gray luminance, antialiased resize to 140x170 (Gravity Spy's preprocessing).
    """
    import io

    from PIL import Image

    rgb, _ = omega.colour_tables()
    rows, cols = constants.IMAGE_SHAPE
    if fmt == "png" and scale == 1.0:
        return energy_to_gray(energy)
    size = (round((constants.CROP_COLS[1] - constants.CROP_COLS[0]) * scale),
            round((constants.CROP_ROWS[1] - constants.CROP_ROWS[0]) * scale))
    image = Image.fromarray(rgb[omega.energy_index(energy)]).resize(size, Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    if fmt == "gif":
        image.quantize(256, method=Image.Quantize.MEDIANCUT).save(buffer, "GIF")
    else:
        image.save(buffer, "JPEG" if fmt == "jpeg" else "PNG", quality=quality)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), np.float32)
    gray = decoded @ np.array([0.2125, 0.7154, 0.0721], np.float32) / 255.0
    resized = Image.fromarray(gray, mode="F").resize((cols, rows), Image.Resampling.BILINEAR,
                                                   reducing_gap=None)
    return np.clip(np.asarray(resized), 0.0, 1.0).astype(np.float32)


def _sample_job(job: tuple[str, np.random.SeedSequence]) -> dict[str, np.ndarray]:
    label, seq = job
    return simulate_sample(label, np.random.default_rng(seq))


def _plan(n_per_class: int, seed: int, classes: Sequence[str],
          split_fractions: Sequence[float]) -> list[tuple[str, str, str, np.random.SeedSequence]]:
    """(label, split, gravityspy_id, seed sequence) per sample: fixed by the seed alone."""
    fractions = np.asarray(split_fractions, dtype=float)
    if fractions.shape != (3,) or np.any(fractions < 0) or fractions.sum() <= 0:
        raise ValueError("split_fractions must be three non-negative numbers (train, val, test)")
    bounds = np.round(np.cumsum(fractions / fractions.sum()) * n_per_class).astype(int)
    splits = np.searchsorted(bounds, np.arange(n_per_class), side="right")
    root = np.random.SeedSequence(seed)
    ids_rng = np.random.default_rng(root.spawn(1)[0])
    seqs = root.spawn(len(classes) * n_per_class + 1)[1:]
    plan, seen = [], set()
    for c, label in enumerate(classes):
        for i in range(n_per_class):
            while True:
                gid = "".join(ids_rng.choice(_ID_ALPHABET, 10))
                if gid not in seen:
                    seen.add(gid)
                    break
            plan.append((label, constants.SPLITS[splits[i]], gid, seqs[c * n_per_class + i]))
    return plan


def _results(jobs: list[tuple[str, np.random.SeedSequence]],
             workers: int) -> Iterator[dict[str, np.ndarray]]:
    if workers <= 1:
        yield from map(_sample_job, jobs)
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(workers) as pool:
        yield from pool.imap(_sample_job, jobs, chunksize=4)


def simulate_h5(path: str | Path, n_per_class: int, seed: int = 0, workers: int | None = None,
                classes: Sequence[str] = constants.CLASSES,
                split_fractions: Sequence[float] = (0.7, 0.15, 0.15),
                progress: bool = True) -> Path:
    """Write ``n_per_class`` simulated glitches per class in the trainingsetv1d1.h5 layout.

    ``f[label][split][gravityspy_id]["0.5.png" | ... | "4.0.png"]``, each (1, 140, 170) float32.
    Every sample has its own seed spawned from ``seed``, so the file is identical whatever the
    worker count. Written to a temporary file and moved into place, so no half file remains.
    """
    import h5py

    path = Path(path)
    unknown = [c for c in classes if c not in GENERATORS]
    if unknown:
        raise ValueError(f"unknown glitch classes {unknown}")
    plan = _plan(n_per_class, seed, classes, split_fractions)
    workers = min(os.cpu_count() or 1, 2) if workers is None else max(1, int(workers))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with h5py.File(tmp, "w", track_order=True) as f:
            f.attrs["simulator"] = "zoo.tasks.glitch.simulator"
            f.attrs["simulator_version"] = SIMULATOR_VERSION
            f.attrs["seed"] = int(seed)
            f.attrs["n_per_class"] = int(n_per_class)
            f.attrs["simulated"] = True
            for label in classes:
                group = f.create_group(label, track_order=True)
                for split in constants.SPLITS:
                    group.create_group(split, track_order=True)
            jobs = [(label, seq) for label, _, _, seq in plan]
            stream = zip(plan, _results(jobs, workers), strict=True)
            for (label, split, gid, _), images in _progress(stream, len(plan), progress):
                sample = f[label][split].create_group(gid)
                for d in constants.DURATIONS:
                    # gray levels come from 256 colours: shuffle + gzip shrinks them ~3x
                    sample.create_dataset(f"{d}.png", data=images[d][None], shuffle=True,
                                          compression="gzip", compression_opts=1, track_times=False)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _progress(items: Iterable[T], total: int, show: bool) -> Iterator[T]:
    if not show:
        yield from items
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("simulating glitches", total=total)
        for item in items:
            yield item
            bar.advance(task)


def render_omega_scan(images_or_energy: np.ndarray | Mapping[str, np.ndarray], path: str | Path,
                      duration: str, title: str = "Hanford", kind: str = "auto") -> Path:
    """Draw a full 800x600 RGBA Omega-scan PNG the way Gravity Spy plots it.

    Same figure (8x6 in, 100 dpi), axes position, appended colour bar, viridis over 0-25.5,
    log2 frequency axis and time ticks as the real scans, so Gravity Spy's crop
    [66:532, 105:671] + rgb2gray + rescale(0.3) of the PNG returns the simulated image.
    ``images_or_energy`` is one (140, 170) map or a per-duration dict; ``kind`` says whether it
    holds gray images or normalized energy ("auto": gray when its maximum is <= 1, which a
    median-normalized energy map never is).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import ScalarFormatter
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    values = images_or_energy[duration] if isinstance(images_or_energy, Mapping) \
        else images_or_energy
    values = np.asarray(values, dtype=np.float64).reshape(constants.IMAGE_SHAPE)
    if kind == "auto":
        kind = "gray" if values.max() <= 1.0 else "energy"
    energy = gray_to_energy(values) if kind == "gray" else values
    dur = float(duration)
    times, freqs = omega.pixel_grid(dur)
    # The pixels sample the crop; pad by edge values so the image fills the whole plot area.
    pad = 4
    energy = np.pad(energy, pad, mode="edge")
    dt = times[1] - times[0]
    dlf = np.log(freqs[0] / freqs[1])
    extent = (times[0] - (pad + 0.5) * dt, times[-1] + (pad + 0.5) * dt,
              freqs[-1] * np.exp(-(pad + 0.5) * dlf), freqs[0] * np.exp((pad + 0.5) * dlf))
    fig = pyplot.figure(figsize=omega.FIG_SIZE, dpi=omega.DPI)
    try:
        ax = fig.add_axes(omega.AX_POSITION)
        lo, hi = constants.ENERGY_RANGE
        edges_t = np.linspace(extent[0], extent[1], energy.shape[1] + 1)
        edges_f = np.geomspace(extent[2], extent[3], energy.shape[0] + 1)
        mesh = ax.pcolormesh(edges_t, edges_f, energy[::-1], cmap="viridis", vmin=lo, vmax=hi,
                             shading="flat", rasterized=True, antialiased=False)
        ax.set_yscale("log", base=2)
        ax.grid(False)
        ax.set_xlim(-dur / 2, dur / 2)
        ax.set_ylim(*omega.AXIS_FRANGE)
        ax.set_xticks(np.linspace(-dur / 2, dur / 2, 5))
        ax.set_xticklabels([str(x) for x in np.linspace(-dur / 2, dur / 2, 5)])
        ax.yaxis.set_major_formatter(ScalarFormatter())
        # As in the real scans: black 1 px frame, 6 px inward ticks left/right/bottom, none on top.
        for spine in ax.spines.values():
            spine.set_linewidth(1.0)
            spine.set_snap(True)
        ax.tick_params(which="major", direction="in", length=4.32, width=1.0, top=False,
                       right=True, bottom=True, left=True)
        ax.tick_params(axis="x", which="major", labelsize=15)
        ax.tick_params(axis="y", which="major", labelsize=12)
        ax.tick_params(which="minor", left=False, right=False, top=False, bottom=False)
        ax.set_xlabel("Time (s)", labelpad=0.1, fontsize=20)
        ax.set_ylabel("Frequency (Hz)", fontsize=20)
        ax.set_title(title, fontsize=20, y=1.05)
        cax = make_axes_locatable(ax).append_axes("right", size=omega.CBAR_SIZE,
                                                  pad=omega.CBAR_PAD)
        cbar = fig.colorbar(mesh, cax=cax, label="Normalized energy")
        cbar.ax.tick_params(labelsize=12)
        cbar.ax.yaxis.label.set_fontsize(15)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.png")
        fig.savefig(tmp, dpi=omega.DPI, format="png")
        os.replace(tmp, path)
    finally:
        pyplot.close(fig)
    return path
