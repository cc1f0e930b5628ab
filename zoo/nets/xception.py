"""Xception (Chollet 2017): depthwise-separable convolutions with residual connections.

Entry flow: two plain convolutions, then residual blocks of two separable convolutions and
a strided max-pool (1x1 strided projection on the skip path), one per ``entry_filters``
entry. Middle flow: ``middle_blocks`` residual blocks of three separable convolutions at
constant width. Exit: one separable convolution, global average pooling, dropout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _sep(x: Any, filters: int, l2: float, activate_first: bool = True) -> Any:
    import keras

    if activate_first:
        x = keras.layers.Activation("relu")(x)
    reg = keras.regularizers.L2(l2) if l2 else None
    x = keras.layers.SeparableConv2D(filters, 3, padding="same", use_bias=False,
                                     depthwise_regularizer=reg, pointwise_regularizer=reg)(x)
    return keras.layers.BatchNormalization()(x)


def xception_features(x: Any, entry_filters: Sequence[int] = (32, 64), middle_blocks: int = 2,
                      stem_filters: int = 16, exit_filters: int = 128, dropout: float = 0.3,
                      l2: float = 1e-4) -> Any:
    """Entry, middle and exit flows; returns globally pooled features."""
    import keras

    x = keras.layers.Conv2D(stem_filters, 3, padding="same", use_bias=False)(x)
    x = keras.layers.Activation("relu")(keras.layers.BatchNormalization()(x))
    x = keras.layers.Conv2D(2 * stem_filters, 3, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    for filters in entry_filters:
        skip = keras.layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(x)
        skip = keras.layers.BatchNormalization()(skip)
        y = _sep(x, filters, l2)
        y = _sep(y, filters, l2)
        y = keras.layers.MaxPooling2D(3, strides=2, padding="same")(y)
        x = keras.layers.Add()([y, skip])
    width = entry_filters[-1] if entry_filters else 2 * stem_filters
    for _ in range(middle_blocks):
        y = x
        for _ in range(3):
            y = _sep(y, width, l2)
        x = keras.layers.Add()([x, y])
    x = _sep(x, exit_filters, l2)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.layers.Dropout(dropout)(x) if dropout else x
