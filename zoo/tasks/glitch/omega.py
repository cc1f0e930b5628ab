"""Omega-scan machinery: detector noise, whitening, gwpy's Q-transform, Gravity Spy rendering.

Gravity Spy makes its images with ``TimeSeries.q_transform(qrange=(4, 64), frange=(10, 2048),
search=0.5, whiten=True, norm="median")``, plots the loudest Q plane with viridis over normalized
energy 0-25.5 on an 8x6 inch figure, crops rows 66:532 / columns 105:671 and rescales by 0.3.
This module reproduces that chain cheaply:

* the Q tiling (plane Qs, tile frequencies, bi-square windows, padding) comes from gwpy's own
  ``QTiling`` objects, so the geometry is gwpy's by construction;
* the per-row inverse FFTs are batched with numpy (gwpy loops over hundreds of rows building
  astropy objects, which is where its time goes);
* the interpolation onto the output grid uses the same cubic interpolating splines as
  ``QGram.interpolate`` (not-a-knot, per row in time, then across rows in frequency), but only on
  the samples near the window and straight onto the pixel grid of the cropped plot area.

``tests/test_glitch_simulator.py`` checks the result against ``TimeSeries.q_transform``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.interpolate import make_interp_spline

from zoo.tasks.glitch import constants

#: Sample rate of the simulated strain (Hz). 8192 Hz keeps every tile of gwpy's Q range (4, 64)
#: below Nyquist up to 2048 Hz (gwpy truncates the band otherwise).
SAMPLE_RATE = 8192
#: Length of simulated data (s), event at the centre: the 4 s window plus room for the median
#: normalisation of each frequency row.
SEGMENT = 8.0
QRANGE = (4.0, 64.0)
#: Gravity Spy's search frequency range (Hz): the band the Q tiles cover.
FRANGE = constants.FREQUENCY_RANGE
#: Gravity Spy's peak search window (s) around the event that picks the Q plane.
SEARCH = 0.5
MISMATCH = 0.2
#: Energy normalisation of each frequency row ("mean" or "median", gwpy's ``norm``). The v1d1
#: scans have noise energies distributed as an exponential of mean ~1 (median ~0.7 in the rows
#: below 20 Hz, measured on shared/data/gravityspy), i.e. normalised by the mean, not the median.
NORM = "mean-64s"
#: Length (s) of the data Gravity Spy's scans are normalised over. Only 8 s are simulated; the
#: rest is taken as noise-only, whose mean tile energy is the row median / ln 2 (exponential
#: energies). Over 8 s alone a line switched on for T seconds would cap its normalised energy at
#: ~8 s / T in every Q plane, so the low-Q planes always won and lines came out as boxes of
#: vertical stripes; over 64 s narrow high-Q lines win, as in the real scans.
NORM_SEGMENT = 64.0
#: Sub-samples per pixel and axis averaged into each pixel: the plotted spectrogram has structure
#: finer than a screen pixel at high frequency, which the rendering averages (the real scans'
#: noise above ~900 Hz spans only 0.35-1.5 in the 10-90 % quantiles).
SUBSAMPLES = 3

# Geometry of the real 800x600 Omega scans, measured on the PNGs in shared/data/gravityspy:
# ax.set_position([0.125, 0.1, 0.775, 0.8]) followed by a colour bar appended with
# make_axes_locatable (size 5%, pad 3%) leaves the data area at x 100..674.07, y 60..540
# (frame lines at those pixels). Gravity Spy's crop (rows 66:532, cols 105:671) lies inside it.
FIG_SIZE = (8.0, 6.0)
DPI = 100
AX_POSITION = (0.125, 0.1, 0.775, 0.8)
CBAR_SIZE, CBAR_PAD = "5%", "3%"
AX_X0, AX_X1 = 100.0, 100.0 + 620.0 / 1.08
AX_Y0, AX_Y1 = 60.0, 540.0
#: Frequency span of the plotted axis (Hz), measured from the tick positions of the real scans
#: (1024 Hz and 16 Hz ticks; 10.5-10.8 Hz at the bottom edge, 1890-1950 Hz at the top).
AXIS_FRANGE = (10.6, 1920.0)


@dataclass(frozen=True)
class _RowGroup:
    """Rows of one Q plane sharing a tile count, so their inverse FFTs run as one batch."""

    rows: np.ndarray  # indices of the rows within the plane
    ntiles: int
    take: np.ndarray  # (nrows, width) indices into the one-sided spectrum
    window: np.ndarray  # (nrows, width) bi-square windows, zero where the row is narrower
    offset: np.ndarray  # (nrows,) left padding of each row


@dataclass(frozen=True)
class _Plane:
    q: float
    frequencies: np.ndarray
    groups: tuple[_RowGroup, ...]


@lru_cache(maxsize=4)
def tiling(
    duration: float = SEGMENT, sampling: float = SAMPLE_RATE,
    qrange: tuple[float, float] = QRANGE, frange: tuple[float, float] = FRANGE,
) -> tuple[_Plane, ...]:
    """gwpy's Q tiling for these data, grouped for batched inverse FFTs (cached: fixed geometry)."""
    from gwpy.signal.qtransform import QTiling

    planes = []
    for plane in QTiling(duration, sampling, qrange=qrange, frange=frange, mismatch=MISMATCH):
        tiles = list(plane)
        by_size: dict[int, list[int]] = {}
        for i, tile in enumerate(tiles):
            by_size.setdefault(tile.ntiles, []).append(i)
        groups = []
        for ntiles, rows in by_size.items():
            width = max(tiles[i].windowsize for i in rows)
            take = np.zeros((len(rows), width), dtype=np.int64)
            window = np.zeros((len(rows), width))
            offset = np.zeros(len(rows), dtype=np.int64)
            for k, i in enumerate(rows):
                tile = tiles[i]
                size = tile.windowsize
                take[k, :size] = tile.get_data_indices()
                window[k, :size] = tile.get_window()
                offset[k] = tile.padding[0]
            groups.append(_RowGroup(np.array(rows), ntiles, take, window, offset))
        planes.append(_Plane(plane.q, plane.frequencies, tuple(groups)))
    return tuple(planes)


def _row_norm(energy: np.ndarray, norm: str) -> np.ndarray:
    """Per-row normalisation: gwpy's "mean" / "median", or "mean-64s" (see NORM_SEGMENT)."""
    if norm != "mean-64s":
        return getattr(np, norm)(energy, axis=1, keepdims=True)
    noise = np.median(energy, axis=1, keepdims=True) / np.log(2.0)
    mean = energy.mean(axis=1, keepdims=True)
    return (SEGMENT * mean + (NORM_SEGMENT - SEGMENT) * noise) / NORM_SEGMENT


def _plane_energies(fseries: np.ndarray, plane: _Plane, norm: str = NORM) -> list[np.ndarray]:
    """Normalised tile energies of every row of one plane (QTile.transform, batched)."""
    out: list[np.ndarray] = [np.empty(0)] * len(plane.frequencies)
    for g in plane.groups:
        padded = np.zeros((len(g.rows), g.ntiles), dtype=complex)
        cols = g.offset[:, None] + np.arange(g.take.shape[1])[None, :]
        valid = g.window != 0
        rows = np.broadcast_to(np.arange(len(g.rows))[:, None], cols.shape)
        padded[rows[valid], cols[valid]] = fseries[g.take[valid]] * g.window[valid]
        tdenergy = np.fft.ifft(np.fft.ifftshift(padded, axes=1), axis=1)
        energy = tdenergy.real**2 + tdenergy.imag**2
        energy /= _row_norm(energy, norm)
        for k, row in enumerate(g.rows):
            out[row] = energy[k].astype(np.float32)
    return out


def q_planes(white: np.ndarray, duration: float = SEGMENT, sampling: float = SAMPLE_RATE,
             t0: float = -SEGMENT / 2, search: float | None = SEARCH, norm: str = NORM
             ) -> tuple[_Plane, list[np.ndarray]]:
    """Loudest Q plane of whitened data, as gwpy's ``QTiling.transform`` picks it.

    Returns ``(plane, energies)``; the event is at time 0 and ``t0`` is the data start.
    """
    fseries = np.fft.rfft(white) / white.size
    fseries[1:] *= 2.0  # gwpy's TimeSeries.fft normalisation
    best, best_peak, best_energies = None, -1.0, None
    for plane in tiling(duration, float(sampling)):
        energies = _plane_energies(fseries, plane, norm)
        peak = 0.0
        for row in energies:
            if search is None:
                peak = max(peak, float(row.max()))
                continue
            times = t0 + np.arange(row.size) * (duration / row.size)
            inside = (times >= -search / 2) & (times < search / 2)
            if inside.any():
                peak = max(peak, float(row[inside].max()))
        if peak > best_peak:
            best, best_peak, best_energies = plane, peak, energies
    assert best is not None and best_energies is not None  # the tiling always has planes
    return best, best_energies


def interpolate(plane: _Plane, energies: list[np.ndarray], times: np.ndarray,
                freqs: np.ndarray, duration: float = SEGMENT,
                t0: float = -SEGMENT / 2) -> np.ndarray:
    """Energy at (freqs x times), the splines of ``QGram.interpolate``, fitted near ``times`` only.

    Cubic not-a-knot interpolation of each row in time, then across rows in frequency; the row
    samples used reach >= 16 samples and 0.5 s beyond the requested times, where the influence of
    the cut on a cubic interpolating spline has decayed below float32 precision.
    """
    lo, hi = float(times.min()), float(times.max())
    rows = np.empty((len(energies), times.size))
    by_size: dict[int, list[int]] = {}
    for i, row in enumerate(energies):
        by_size.setdefault(row.size, []).append(i)
    for size, idx in by_size.items():
        dt = duration / size
        margin = max(0.5, 16 * dt)
        first = max(0, int(np.floor((lo - margin - t0) / dt)))
        last = min(size, int(np.ceil((hi + margin - t0) / dt)) + 1)
        x = t0 + np.arange(first, last) * dt
        y = np.stack([energies[i][first:last] for i in idx], axis=1).astype(np.float64)
        rows[idx] = make_interp_spline(x, y, k=3)(times).T
    # FITPACK (RectBivariateSpline) holds the edge value outside the tile centres: clamp likewise.
    inside = np.clip(freqs, plane.frequencies[0], plane.frequencies[-1])
    return make_interp_spline(plane.frequencies, rows, k=3)(inside)


# --- noise -------------------------------------------------------------------------------------


def aligo_psd(freqs: np.ndarray) -> np.ndarray:
    """Analytic Advanced-LIGO design PSD shape (Ajith 2011 fit), relative units.

    Seismic wall (x^-4.14), suspension thermal (-5 x^-2) and shot noise (the rational term) with
    x = f / 215 Hz; below 10 Hz a steep wall (f^-8) stands in for seismic isolation.
    """
    f = np.maximum(np.asarray(freqs, dtype=float), 1.0)
    x = np.maximum(f, 10.0) / 215.0
    psd = x**-4.14 - 5.0 * x**-2 + 111.0 * (1 - x**2 + 0.5 * x**4) / (1 + 0.5 * x**2)
    return psd * np.where(f < 10.0, (10.0 / f) ** 8, 1.0)


@lru_cache(maxsize=2)
def _asd(n: int, sampling: float) -> np.ndarray:
    asd = np.sqrt(aligo_psd(np.fft.rfftfreq(n, 1.0 / sampling)))
    return asd / asd.min()


def coloured_noise(rng: np.random.Generator, n: int = int(SEGMENT * SAMPLE_RATE),
                   sampling: float = SAMPLE_RATE) -> np.ndarray:
    """Stationary Gaussian noise with the aLIGO PSD shape."""
    return np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * _asd(n, sampling), n)


def whiten(data: np.ndarray, sampling: float = SAMPLE_RATE) -> np.ndarray:
    """Divide by the noise ASD: unit-variance white noise where there is no glitch.

    Gravity Spy estimates the ASD from 64 s around the event, where a transient barely moves it;
    the simulator knows the true PSD and whitens with it once for all four durations.
    """
    return np.fft.irfft(np.fft.rfft(data) / _asd(data.size, sampling), data.size)


# --- pixel grid and colours --------------------------------------------------------------------


def pixel_grid(duration: float, shape: tuple[int, int] = constants.IMAGE_SHAPE,
               frange: tuple[float, float] = AXIS_FRANGE,
               subsamples: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and frequencies (Hz, top row first) of the pixels of a preprocessed image.

    skimage's ``rescale(crop, 0.3)`` samples crop pixel coordinate (i + 0.5) * 466 / 140 for
    output row i; that figure position is mapped through the measured plot-area geometry. With
    ``subsamples`` k > 1 each pixel becomes k evenly spread points over its footprint (pixel-major
    order), to be averaged.
    """
    (r0, r1), (c0, c1) = constants.CROP_ROWS, constants.CROP_COLS
    sub = (np.arange(subsamples) + 0.5) / subsamples - 0.5
    rows = (np.arange(shape[0])[:, None] + 0.5 + sub[None, :]).ravel()
    cols = (np.arange(shape[1])[:, None] + 0.5 + sub[None, :]).ravel()
    y = r0 + rows * (r1 - r0) / shape[0]
    x = c0 + cols * (c1 - c0) / shape[1]
    times = duration * ((x - AX_X0) / (AX_X1 - AX_X0) - 0.5)
    lf0, lf1 = np.log(frange[0]), np.log(frange[1])
    freqs = np.exp(lf1 - (y - AX_Y0) / (AX_Y1 - AX_Y0) * (lf1 - lf0))
    return times, freqs


@lru_cache(maxsize=1)
def colour_tables() -> tuple[np.ndarray, np.ndarray]:
    """Viridis as matplotlib writes it into a PNG (uint8 RGB, 256 levels) and its luminance."""
    from matplotlib import colormaps

    rgb = np.round(colormaps["viridis"](np.arange(256))[:, :3] * 255).astype(np.uint8)
    gray = (rgb / 255.0) @ np.array([0.2125, 0.7154, 0.0721])  # skimage.color.rgb2gray
    return rgb, gray


def energy_index(energy: np.ndarray) -> np.ndarray:
    """Colour-map index of normalized energy, as matplotlib's Normalize(0, 25.5) + viridis."""
    lo, hi = constants.ENERGY_RANGE
    x = (np.asarray(energy, dtype=np.float64) - lo) / (hi - lo)
    return np.clip((x * 256).astype(np.int64), 0, 255)
