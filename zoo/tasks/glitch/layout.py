"""Where the plot area of an Omega-scan figure is, at whatever scale it was drawn.

Users hold the same matplotlib figure at several sizes: 800x600 (Gravity Spy's PNGs),
600x450 (the figure drawn at 0.75 scale: the field guide, many Zooniverse subjects), 752x564,
1600x1200. Fixed pixel offsets only fit the first, so the figure is found from its layout: a
large viridis plot area framed by white margins, with a narrow viridis colour bar to its right
(yellow at the top). Gravity Spy's crop (rows 66:532, columns 105:671 of the 800x600 figure) is
then placed in proportion to the plot area found. An 800x600 figure drawn at the reference
place, as Gravity Spy's own PNGs are, is recognised from a sample of its pixels instead
(:func:`reference_layout`), for ~1% of the search's cost.

"On viridis" means within :data:`ON_MAP_TOLERANCE` (RGB distance) of one of the 256 viridis
colours, which survives JPEG (quality ~90) and GIF palette quantisation; a 32-level RGB lookup
table keeps the test to one indexing operation per pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from zoo.tasks.glitch.constants import CROP_COLS, CROP_ROWS, RAW_SIZE

#: RGB distance to the nearest viridis colour below which a pixel counts as "on the colour map".
ON_MAP_TOLERANCE = 40.0
#: Plot-area interior of the 800x600 figure (the black frame lines lie at x 100 and 674, y 60
#: and 540), measured on every PNG of shared/data/gravityspy: columns 101:674, rows 61:540.
REFERENCE_COLS: tuple[int, int] = (101, 674)
REFERENCE_ROWS: tuple[int, int] = (61, 540)
#: ... and its colour bar, columns 692:720 (the same measurement).
REFERENCE_COLOUR_BAR: tuple[int, int] = (692, 720)
#: A plot area found within this many pixels of the reference on an 800x600 image is the
#: reference itself, so Gravity Spy's fixed crop applies unchanged there.
SNAP_PIXELS = 2
#: Layout of a Gravity Spy figure, as fractions: plot width/height of the image, colour-bar
#: width and gap as fractions of the plot width (5% and 3% in omega.py, 4.9% and 3.1% measured).
PLOT_MIN_FRACTION = (0.5, 0.6)
COLOUR_BAR_WIDTH = (0.02, 0.10)
COLOUR_BAR_GAP = (0.0, 0.08)
#: A run of columns counts as plot or colour bar when this share of its pixels is on viridis.
COLUMN_ON_MAP = 0.3
ROW_ON_MAP = 0.5
#: Outside the plot area and colour bar, this share of the figure is white margin (>= 0.85 gray).
MIN_MARGIN_WHITE = 0.6
#: :func:`reference_layout` looks at every this-many rows and columns, and asks its samples
#: to clear the search's thresholds by this share, so that a sample cannot pass where the
#: search over every pixel would not.
SAMPLE_STEP = 8
SAMPLE_MARGIN = 0.1


@lru_cache(maxsize=1)
def _on_map_lut() -> tuple[np.ndarray, np.ndarray]:
    """(32, 32, 32) distance to the nearest viridis colour, and that colour's index (0-255).

    Built one red plane at a time: the distances of all 32,768 cells to the 256 colours at once
    peaked at ~270 MB on every process that reads a scan (each Dask worker among them); a plane
    is 6 MB, and each cell's arithmetic, hence the table, is the same.
    """
    from matplotlib import colormaps

    viridis = np.round(colormaps["viridis"](np.arange(256))[:, :3] * 255)
    centres = np.arange(32) * 8 + 3.5
    plane = np.stack(np.meshgrid(centres, centres, indexing="ij"), -1).reshape(-1, 2)
    distance = np.empty((32, 32 * 32), np.float32)
    nearest = np.empty((32, 32 * 32), np.int64)
    for red, centre in enumerate(centres):
        grid = np.column_stack([np.full(len(plane), centre), plane])
        dist2 = ((grid[:, None, :] - viridis[None]) ** 2).sum(-1)
        nearest[red] = dist2.argmin(1)
        distance[red] = np.sqrt(dist2[np.arange(len(grid)), nearest[red]])
    return distance.reshape(32, 32, 32), nearest.reshape(32, 32, 32)


@lru_cache(maxsize=1)
def _on_map_flat() -> np.ndarray:
    """The on-viridis test of every 5-bit (r, g, b) cell, flat: index (r << 10) | (g << 5) | b."""
    return (_on_map_lut()[0] < ON_MAP_TOLERANCE).reshape(-1)


def on_map(rgb: np.ndarray) -> np.ndarray:
    """Boolean mask of the pixels of an (H, W, 3) uint8 image that lie on the viridis map.

    One flat lookup per pixel: a third of the cost of indexing the 3-D table with three arrays.
    """
    q = rgb >> 3
    index = q[..., 0].astype(np.uint16) << 10
    index |= q[..., 1].astype(np.uint16) << 5
    index |= q[..., 2]
    return np.take(_on_map_flat(), index)


def viridis_level(rgb: np.ndarray) -> np.ndarray:
    """Index (0-255) of the nearest viridis colour of each pixel: the plotted energy level."""
    _, nearest = _on_map_lut()
    q = rgb >> 3
    return nearest[q[..., 0], q[..., 1], q[..., 2]]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of every run of True in a 1-D mask."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


@dataclass(frozen=True)
class Layout:
    """The plot area found in a figure (interior of the frame, [start, stop) pixels)."""

    cols: tuple[int, int]
    rows: tuple[int, int]
    colour_bar: tuple[int, int]

    def crop_box(self, size: tuple[int, int]) -> tuple[int, int, int, int]:
        """Gravity Spy's crop placed in proportion to this plot area: (left, top, right, bottom).

        On an 800x600 figure whose plot area is the reference one this is exactly
        (105, 66, 671, 532).
        """
        if size == RAW_SIZE and self.matches_reference():
            return CROP_COLS[0], CROP_ROWS[0], CROP_COLS[1], CROP_ROWS[1]
        sx = (self.cols[1] - self.cols[0]) / (REFERENCE_COLS[1] - REFERENCE_COLS[0])
        sy = (self.rows[1] - self.rows[0]) / (REFERENCE_ROWS[1] - REFERENCE_ROWS[0])

        def place(start: int, ref_start: int, value: int, scale: float) -> int:
            return int(round(start + (value - ref_start) * scale))

        return (place(self.cols[0], REFERENCE_COLS[0], CROP_COLS[0], sx),
                place(self.rows[0], REFERENCE_ROWS[0], CROP_ROWS[0], sy),
                place(self.cols[0], REFERENCE_COLS[0], CROP_COLS[1], sx),
                place(self.rows[0], REFERENCE_ROWS[0], CROP_ROWS[1], sy))

    @property
    def scale(self) -> float:
        """Size of this figure relative to Gravity Spy's 800x600 one (0.75 for 600x450)."""
        return (self.cols[1] - self.cols[0]) / (REFERENCE_COLS[1] - REFERENCE_COLS[0])

    def matches_reference(self) -> bool:
        return all(abs(a - b) <= SNAP_PIXELS for a, b in
                   zip((*self.cols, *self.rows), (*REFERENCE_COLS, *REFERENCE_ROWS), strict=True))


def reference_layout(rgb: np.ndarray) -> Layout | None:
    """The reference :class:`Layout` of an 800x600 figure drawn exactly at the reference place;
    None for any other figure, which :func:`find_plot_area` then searches.

    Why: the search masks all 480,000 pixels and scans the mask (~2 ms a file, a sixth of a
    file's way to a label), while nearly every file of a big run is one of Gravity Spy's own
    PNGs, drawn at the reference place. The tests are the search's, on every
    :data:`SAMPLE_STEP`-th row and column and at the expected edges, each cleared by
    :data:`SAMPLE_MARGIN`: every row and column of the plot area on viridis, the frame lines
    around it off it; the colour bar on viridis after a gap off it, bright at the top; white
    margins. The crop is then Gravity Spy's fixed box, as the search would give.
    """
    if rgb.shape[:2] != (RAW_SIZE[1], RAW_SIZE[0]):
        return None
    (c0, c1), (r0, r1), (b0, b1) = REFERENCE_COLS, REFERENCE_ROWS, REFERENCE_COLOUR_BAR
    on, off = ROW_ON_MAP + SAMPLE_MARGIN, COLUMN_ON_MAP - SAMPLE_MARGIN
    rows = np.r_[r0:r1:SAMPLE_STEP, r1 - 1]
    plot = on_map(rgb[np.ix_(rows, np.r_[c0:c1:SAMPLE_STEP, c1 - 1])])
    if plot.mean(axis=0).min() < on or plot.mean(axis=1).min() < on:
        return None
    frame_rows = on_map(rgb[np.ix_([r0 - 1, r1], np.r_[c0:c1:SAMPLE_STEP])])
    beside = on_map(rgb[np.ix_(rows, [c0 - 1, c1, (c1 + b0) // 2, b0 - 1, b1])])
    bar = rgb[np.ix_(rows, np.r_[b0:b1:4, b1 - 1])]
    if frame_rows.mean(axis=1).max() > off or beside.mean(axis=0).max() > off \
            or on_map(bar).mean(axis=0).min() < on:
        return None
    bar_level = bar.astype(np.float32).mean(axis=(1, 2))
    third = max(1, len(rows) // 3)
    if bar_level[:third].mean() <= bar_level[-third:].mean():
        return None
    sample = rgb[::SAMPLE_STEP, ::SAMPLE_STEP]
    white = np.minimum(np.minimum(sample[..., 0], sample[..., 1]), sample[..., 2]) >= 217
    inside = white[-(-r0 // SAMPLE_STEP):-(-r1 // SAMPLE_STEP),
                   -(-c0 // SAMPLE_STEP):-(-b1 // SAMPLE_STEP)]
    margin = (white.sum() - inside.sum()) / max(1, white.size - inside.size)
    if margin < MIN_MARGIN_WHITE + SAMPLE_MARGIN:
        return None
    return Layout(REFERENCE_COLS, REFERENCE_ROWS, REFERENCE_COLOUR_BAR)


def find_plot_area(rgb: np.ndarray, mask: np.ndarray | None = None) -> Layout | str:
    """Locate the Omega-scan plot area in an (H, W, 3) uint8 figure.

    Returns the :class:`Layout`, or a short reason why the image is not such a figure.
    """
    height, width = rgb.shape[:2]
    mask = on_map(rgb) if mask is None else mask
    columns = _runs(mask.mean(axis=0) > COLUMN_ON_MAP)
    if not columns:
        return "no viridis plot area"
    c0, c1 = max(columns, key=lambda r: r[1] - r[0])
    if c1 - c0 < PLOT_MIN_FRACTION[0] * width:
        return f"the widest viridis area spans {(c1 - c0) / width:.0%} of the width"
    good_rows = np.flatnonzero(mask[:, c0:c1].mean(axis=1) > ROW_ON_MAP)
    if good_rows.size == 0:
        return "no viridis plot area"
    r0, r1 = int(good_rows[0]), int(good_rows[-1]) + 1
    if r1 - r0 < PLOT_MIN_FRACTION[1] * height or good_rows.size < 0.9 * (r1 - r0):
        return "no rectangular viridis plot area"
    plot_width = c1 - c0
    bars = [(a, b) for a, b in columns if a >= c1
            and COLOUR_BAR_GAP[0] * plot_width <= a - c1 <= COLOUR_BAR_GAP[1] * plot_width
            and COLOUR_BAR_WIDTH[0] * plot_width <= b - a <= COLOUR_BAR_WIDTH[1] * plot_width]
    if not bars:
        return "no colour bar beside the plot area"
    b0, b1 = bars[0]
    bar = rgb[r0:r1, b0:b1].astype(np.float32).mean(axis=(1, 2))
    third = max(1, (r1 - r0) // 3)
    if bar[:third].mean() <= bar[-third:].mean():
        return "the colour bar does not run from dark (bottom) to bright (top)"
    half = rgb[::2, ::2]  # np.minimum over the channels: min(axis=2) is ~20x slower
    white = np.minimum(np.minimum(half[..., 0], half[..., 1]), half[..., 2]) >= 217
    inside = white[r0 // 2:(r1 + 1) // 2, c0 // 2:(b1 + 1) // 2]
    if (white.sum() - inside.sum()) / max(1, white.size - inside.size) < MIN_MARGIN_WHITE:
        return "no white margins around the plot"
    return Layout((c0, c1), (r0, r1), (b0, b1))
