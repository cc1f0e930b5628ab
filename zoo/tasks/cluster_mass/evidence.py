"""Evidence for the out-of-distribution score of cluster-mass inputs (:mod:`zoo.ood`).

A regression network returns a mass for anything with the right shape: a FITS cube of another
instrument, a star field, an empty exposure, a cluster far off the image centre. These cheap
summaries of the counts cube place an input among the training clusters; the Mahalanobis
score of :mod:`zoo.ood` does the rest.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from zoo.tasks.cluster_mass.formats import NPIX

#: of the 10 bands (edges 0.2, 0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0 keV), those
#: below 0.7 keV and those above 2 keV
SOFT, HARD = slice(0, 3), slice(6, 10)
#: radius (pixels, 16") of the core aperture
CORE_RADIUS_PX = 6.0

_Y, _X = np.mgrid[:NPIX, :NPIX] - (NPIX - 1) / 2
_R = np.hypot(_Y, _X)


def ood_evidence(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """{name: (n,) float64} of a batch of log(1 + counts) cubes (n, 50, 50, 10) and redshifts.

    Brightness (log total counts), spectrum (soft and hard shares), shape of the counts above
    the background floor (share within the core aperture, centroid offset from the centre),
    the floor itself (median pixel) and the redshift.
    """
    counts = np.expm1(np.asarray(inputs["image"], dtype=np.float64))
    total = counts.sum(axis=(1, 2, 3))
    norm = np.where(total > 0, total, 1.0)
    bands = counts.sum(axis=(1, 2)) / norm[:, None]
    pixels = counts.sum(axis=3)
    floor = np.median(pixels.reshape(len(pixels), -1), axis=1)
    # shape from the counts above the background floor, which would pin the centroid at the
    # centre and dilute the core of a faint cluster
    excess = np.clip(pixels - floor[:, None, None], 0.0, None)
    excess_total = excess.sum(axis=(1, 2))
    share = excess / np.where(excess_total > 0, excess_total, 1.0)[:, None, None]
    return {
        "log_counts": np.log10(1.0 + total),
        "soft_share": bands[:, SOFT].sum(axis=1),
        "hard_share": bands[:, HARD].sum(axis=1),
        "core_share": share[:, _R <= CORE_RADIUS_PX].sum(axis=1),
        "centroid_offset_px": np.hypot((share * _Y).sum(axis=(1, 2)),
                                       (share * _X).sum(axis=(1, 2))),
        "log_background": np.log10(1.0 + floor),
        "redshift": np.asarray(inputs["redshift"], dtype=np.float64).reshape(-1),
    }
