"""Cheap input evidence of a glitch view for the out-of-distribution score (:mod:`zoo.ood`).

Every pixel of a real Omega scan is a viridis colour, whose luminance lies between 0.083
(dark purple) and 0.869 (yellow); the noise floor sits low with a spread set by the
whitening, and the Q-transform smooths the plane so neighbouring pixels are correlated,
more along time than along frequency at high frequency. A gray photo, a blank or flat image,
pixel noise or a plot of something else breaks some of these, which the Mahalanobis distance
over the features below picks up. The features work on any input shape (single view or the
multi-view mosaic) and cost a few milliseconds per batch.
"""

from __future__ import annotations

import numpy as np

#: Luminance (skimage rgb2gray) of viridis' darkest and brightest colours, with a margin for
#: the anti-aliasing of the resize.
VIRIDIS_LUMA = (0.083, 0.869)
LUMA_MARGIN = 0.02


def _lag1(a: np.ndarray, axis: int) -> np.ndarray:
    """Correlation of each image with itself shifted by one pixel along ``axis``."""
    a = a - a.mean(axis=(1, 2), keepdims=True)
    head = np.take(a, np.arange(a.shape[axis] - 1), axis=axis)
    tail = np.take(a, np.arange(1, a.shape[axis]), axis=axis)
    num = (head * tail).sum(axis=(1, 2))
    den = np.sqrt((head ** 2).sum(axis=(1, 2)) * (tail ** 2).sum(axis=(1, 2)))
    return np.where(den > 1e-12, num / np.maximum(den, 1e-12), 0.0)


def view_features(images: np.ndarray) -> dict[str, np.ndarray]:
    """{name: (n,) feature} of a batch of gray views (n, H, W) or (n, H, W, 1) in [0, 1]."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 4:
        x = x[..., 0]
    flat = x.reshape(len(x), -1)
    q10, q50, q90 = np.quantile(flat, [0.1, 0.5, 0.9], axis=1)
    return {
        "below_map": (flat < VIRIDIS_LUMA[0] - LUMA_MARGIN).mean(axis=1),
        "above_map": (flat > VIRIDIS_LUMA[1] + LUMA_MARGIN).mean(axis=1),
        "q10": q10,
        "q50": q50,
        "q90": q90,
        "row_profile_std": x.mean(axis=2).std(axis=1),
        "col_profile_std": x.mean(axis=1).std(axis=1),
        "lag1_time": _lag1(x, 2),
        "lag1_freq": _lag1(x, 1),
    }
