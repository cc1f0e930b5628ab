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
#: gray levels of the noise floor (10 %, 50 %) and of the loud part (90 %)
QUANTILES = (0.1, 0.5, 0.9)


def _lag1(a: np.ndarray, axis: int) -> np.ndarray:
    """Correlation of each (mean-removed) image with itself shifted one pixel along ``axis``."""
    head, tail = (a[:, :-1], a[:, 1:]) if axis == 1 else (a[:, :, :-1], a[:, :, 1:])
    num = np.einsum("nij,nij->n", head, tail)
    den = np.sqrt(np.einsum("nij,nij->n", head, head) * np.einsum("nij,nij->n", tail, tail))
    return np.where(den > 1e-12, num / np.maximum(den, 1e-12), 0.0)


def view_features(images: np.ndarray) -> dict[str, np.ndarray]:
    """{name: (n,) feature} of a batch of gray views (n, H, W) or (n, H, W, 1) in [0, 1].

    Float32 throughout and one partial sort per image: measured 2 ms a view and 6 ms a
    multi-view mosaic (batches of 64, 2 shared cores), against 5 and 37 ms in float64.
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 4:
        x = x[..., 0]
    flat = x.reshape(len(x), -1)
    size = flat.shape[1]
    ranks = [int(q * (size - 1)) for q in QUANTILES]
    q10, q50, q90 = np.partition(flat, ranks, axis=1)[:, ranks].T
    centred = x - x.mean(axis=(1, 2), keepdims=True)
    return {
        "below_map": (flat < VIRIDIS_LUMA[0] - LUMA_MARGIN).mean(axis=1),
        "above_map": (flat > VIRIDIS_LUMA[1] + LUMA_MARGIN).mean(axis=1),
        "q10": q10,
        "q50": q50,
        "q90": q90,
        "row_profile_std": x.mean(axis=2).std(axis=1),
        "col_profile_std": x.mean(axis=1).std(axis=1),
        "lag1_time": _lag1(centred, 2),
        "lag1_freq": _lag1(centred, 1),
    }
