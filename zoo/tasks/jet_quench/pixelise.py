"""Jet constituents -> 33x33x2 jet images (the standard jet-image preprocessing).

The steps follow the jet-image literature (Cogan et al. 2015; de Oliveira et al. 2016;
Komiske et al. 2017) so that images made here from a user's constituents match the ones
the shipped models were trained on:

1. **Centre**: shift (eta, phi) so that the pT-weighted centroid is at the origin (phi is
   wrapped into (-pi, pi] first, so jets near phi = +-pi are not torn apart).
2. **Rotate**: turn the plane so that the principal axis of the pT-weighted second-moment
   tensor lies along image axis 0 (the rows): removes the arbitrary azimuthal orientation.
3. **Flip**: mirror each axis so that the half with more pT lies at positive coordinates
   (higher row / column indices).
4. **Pixelate**: a 33x33 grid spanning [-R, R] in both coordinates (R = 0.4, pixel 0.0242);
   constituents outside the grid are dropped. Channel 0 holds charged-particle pT, channel
   1 neutral pT (photons and neutral hadrons).
5. **Normalise**: divide by the summed pT of the image (both channels), so each image sums
   to 1 and the network sees the shape of the jet, not its energy scale.
"""

from __future__ import annotations

import numpy as np

GRID = 33
RADIUS = 0.4
EDGES = np.linspace(-RADIUS, RADIUS, GRID + 1)
PIXEL = float(EDGES[1] - EDGES[0])


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Angles into (-pi, pi]."""
    return np.pi - np.mod(np.pi - np.asarray(phi, dtype=np.float64), 2 * np.pi)


def standardise(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, *, rotate: bool = True,
                flip: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Centred (and optionally rotated and flipped) coordinates ``(u, v)`` of constituents.

    ``u`` becomes image axis 0 (rows), ``v`` axis 1 (columns).
    """
    pt = np.asarray(pt, dtype=np.float64)
    total = pt.sum()
    eta = np.asarray(eta, dtype=np.float64)
    # phi relative to the leading constituent first, so the centroid is taken on one side of
    # the +-pi seam; then relative to the pT-weighted centroid.
    phi = wrap_phi(np.asarray(phi, dtype=np.float64) - phi[np.argmax(pt)])
    u = eta - np.dot(pt, eta) / total
    v = phi - np.dot(pt, phi) / total
    if rotate and len(pt) > 1:
        cov = np.array([[np.dot(pt, u * u), np.dot(pt, u * v)],
                        [np.dot(pt, u * v), np.dot(pt, v * v)]])
        _, vectors = np.linalg.eigh(cov)
        major = vectors[:, 1]  # eigenvector of the largest eigenvalue
        u, v = major[0] * u + major[1] * v, -major[1] * u + major[0] * v
    if flip:
        if pt[u > 0].sum() < pt[u < 0].sum():
            u = -u
        if pt[v > 0].sum() < pt[v < 0].sum():
            v = -v
    return u, v


def pixelise(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, charged: np.ndarray, *,
             rotate: bool = True, flip: bool = True, normalise: bool = True) -> np.ndarray:
    """One jet's constituents -> a (33, 33, 2) float32 image (see the module docstring)."""
    pt = np.asarray(pt, dtype=np.float64)
    image = np.zeros((GRID, GRID, 2), dtype=np.float64)
    if len(pt) == 0 or pt.sum() <= 0:
        return image.astype(np.float32)
    u, v = standardise(pt, eta, phi, rotate=rotate, flip=flip)
    row = np.floor((u + RADIUS) / PIXEL).astype(np.int64)
    col = np.floor((v + RADIUS) / PIXEL).astype(np.int64)
    inside = (row >= 0) & (row < GRID) & (col >= 0) & (col < GRID)
    channel = np.where(np.asarray(charged, dtype=bool), 0, 1)
    np.add.at(image, (row[inside], col[inside], channel[inside]), pt[inside])
    if normalise and image.sum() > 0:
        image /= image.sum()
    return image.astype(np.float32)
