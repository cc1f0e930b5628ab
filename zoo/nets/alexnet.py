"""A tweaked AlexNet for small images: four convolutions of growing width, pooling, dense.

The seed's "tweaked AlexNet" (seed 001, table 3): four consecutive convolutional layers with
an increasing number of filters, one pooling layer, and a dropout-regularised dense
classifier; AlexNet's 11x11 stride-4 stem is dropped because 33x33 jet images are too small.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def alexnet_features(x: Any, filters: Sequence[int] = (32, 64, 96, 128), kernel_size: int = 3,
                     dense_units: int = 256, dropout: float = 0.5, l2: float = 1e-4) -> Any:
    """Conv x4 (ReLU, L2) -> 2x2 max-pool -> flatten -> dense/dropout twice; returns features."""
    import keras

    reg = keras.regularizers.L2(l2) if l2 else None
    for width in filters:
        x = keras.layers.Conv2D(width, kernel_size, padding="same", activation="relu",
                                kernel_regularizer=reg)(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    for _ in range(2):
        x = keras.layers.Dense(dense_units, activation="relu", kernel_regularizer=reg)(x)
        x = keras.layers.Dropout(dropout)(x)
    return x
