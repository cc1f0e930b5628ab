"""Training-time augmentation as numpy batch transforms (named in a recipe).

Only label-preserving symmetries are offered; the cluster-mass seed showed that arbitrary
rotations hurt, so flips and 90-degree rotations are the whole menu for images.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def flip(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random horizontal and vertical flips of (N, H, W, C) images."""
    out = images.copy()
    h = rng.random(len(out)) < 0.5
    v = rng.random(len(out)) < 0.5
    out[h] = out[h, :, ::-1]
    out[v] = out[v, ::-1]
    return out


def rot90(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random multiples of 90 degrees; only for square images."""
    out = images.copy()
    if out.shape[1] != out.shape[2]:
        return out
    turns = rng.integers(0, 4, len(out))
    for k in (1, 2, 3):
        sel = turns == k
        out[sel] = np.rot90(out[sel], k, axes=(1, 2))
    return out


AUGMENTATIONS: dict[str, Augment] = {"flip": flip, "rot90": rot90}


def balance(x: dict[str, np.ndarray], y: np.ndarray, rng: np.random.Generator,
            first_input: str) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Class balancing by augmentation (seed 004, section 11.2).

    Every minority class is topped up to the size of the largest class with flipped /
    rotated copies of its own images, so the network sees balanced classes without
    duplicated pixels. Returns the new inputs, labels and the index of each row's original.
    """
    labels = y.astype(int).reshape(-1)
    counts = np.bincount(labels)
    target = counts.max()
    extra_idx = [rng.choice(np.flatnonzero(labels == c), target - n) for c, n in enumerate(counts)
                 if 0 < n < target]
    if not extra_idx:
        return x, y, np.arange(len(y))
    extra = np.concatenate(extra_idx)
    out = {k: np.concatenate([v, v[extra]]) for k, v in x.items()}
    images = out[first_input][len(y):]
    out[first_input][len(y):] = rot90(flip(images, rng), rng)
    return out, np.concatenate([y, y[extra]]), np.concatenate([np.arange(len(y)), extra])


def apply(names: tuple[str, ...], images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    for name in names:
        if name in AUGMENTATIONS:
            images = AUGMENTATIONS[name](images, rng)
    return images
