"""Facts of the Gravity Spy training set v1d1 shared by the glitch reader and simulator."""

from __future__ import annotations

#: The 22 classes of Gravity Spy training set v1d1, in the set's alphabetical order.
CLASSES: tuple[str, ...] = (
    "1080Lines", "1400Ripples", "Air_Compressor", "Blip", "Chirp", "Extremely_Loud", "Helix",
    "Koi_Fish", "Light_Modulation", "Low_Frequency_Burst", "Low_Frequency_Lines", "No_Glitch",
    "None_of_the_Above", "Paired_Doves", "Power_Line", "Repeating_Blips", "Scattered_Light",
    "Scratchy", "Tomte", "Violin_Mode", "Wandering_Line", "Whistle",
)
#: Omega-scan durations in seconds, as named in the HDF5 file ("0.5.png", ...).
DURATIONS: tuple[str, ...] = ("0.5", "1.0", "2.0", "4.0")
#: One spectrogram after Gravity Spy's preprocessing: rows (frequency) x columns (time).
IMAGE_SHAPE: tuple[int, int] = (140, 170)
#: Raw Omega-scan PNG as volunteers see it, and the plot area Gravity Spy crops.
RAW_SIZE: tuple[int, int] = (800, 600)  # width, height
CROP_ROWS: tuple[int, int] = (66, 532)
CROP_COLS: tuple[int, int] = (105, 671)
RESCALE: float = 0.3
#: Colour scale of the normalized energy in the plots.
ENERGY_RANGE: tuple[float, float] = (0.0, 25.5)
#: Frequency axis of the Omega scans (Hz, log scale).
FREQUENCY_RANGE: tuple[float, float] = (10.0, 2048.0)
SPLITS: tuple[str, ...] = ("train", "validation", "test")
