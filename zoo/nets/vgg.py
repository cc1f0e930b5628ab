"""VGG (Simonyan & Zisserman 2014) with a configurable depth, sized for small images.

``depth`` counts weight layers as the VGG paper does: convolutions plus the three dense
layers of the classifier (the last one is the task's head), so depth 16 means 13
convolutions. The convolutions (3x3, stride 1) are spread over ``blocks`` blocks, each
ended by 2x2 max-pooling, and the width doubles per block (capped at ``max_width``).
"""

from __future__ import annotations

from typing import Any

from zoo.errors import ZooError


def vgg_layout(depth: int, blocks: int = 4) -> list[int]:
    """Convolutions per block for a VGG of ``depth`` weight layers (later blocks get more)."""
    convs = depth - 3
    if convs < blocks:
        raise ZooError(f"VGG depth {depth} is too small for {blocks} blocks (need >= {blocks + 3})")
    base, rest = divmod(convs, blocks)
    return [base + (1 if i >= blocks - rest else 0) for i in range(blocks)]


def vgg_features(x: Any, depth: int = 16, width: int = 16, max_width: int = 128,
                 blocks: int = 4, dense_units: int = 128, dropout: float = 0.5,
                 batch_norm: bool = False) -> Any:
    """VGG convolutional blocks and the two hidden dense layers; returns features."""
    import keras

    for block, n_convs in enumerate(vgg_layout(depth, blocks)):
        filters = min(max_width, width * 2 ** block)
        for _ in range(n_convs):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm)(x)
            if batch_norm:
                x = keras.layers.BatchNormalization()(x)
            x = keras.layers.Activation("relu")(x)
        x = keras.layers.MaxPooling2D(2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    for _ in range(2):
        x = keras.layers.Dense(dense_units, activation="relu")(x)
        x = keras.layers.Dropout(dropout)(x)
    return x
