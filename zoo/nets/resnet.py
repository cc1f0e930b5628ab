"""ResNet v1 and v2 (He et al. 2016a, 2016b) in the form of Keras' CIFAR-10 example.

v1 stacks basic residual blocks (conv-BN-ReLU x2 plus identity) with ``depth = 6n + 2``;
v2 uses pre-activation bottleneck blocks (BN-ReLU-conv, 1x1 / 3x3 / 1x1) with
``depth = 9n + 2``. Both have three stages whose width doubles while the resolution halves,
and end in global average pooling, so any input size works.
"""

from __future__ import annotations

from typing import Any

from zoo.errors import ZooError


def _conv(x: Any, filters: int, kernel: int = 3, strides: int = 1, activation: bool = True,
          batch_norm: bool = True, conv_first: bool = True, l2: float = 1e-4) -> Any:
    import keras

    conv = keras.layers.Conv2D(filters, kernel, strides=strides, padding="same",
                               kernel_initializer="he_normal",
                               kernel_regularizer=keras.regularizers.L2(l2) if l2 else None)
    if conv_first:
        x = conv(x)
    if batch_norm:
        x = keras.layers.BatchNormalization()(x)
    if activation:
        x = keras.layers.Activation("relu")(x)
    return x if conv_first else conv(x)


def resnet_v1_features(x: Any, depth: int = 20, filters: int = 16, l2: float = 1e-4) -> Any:
    """Basic-block ResNet v1 trunk; returns globally pooled features."""
    import keras

    if (depth - 2) % 6 or depth < 8:
        raise ZooError(f"ResNet v1 depth must be 6n + 2 (8, 14, 20, ...), got {depth}")
    blocks = (depth - 2) // 6
    x = _conv(x, filters, l2=l2)
    for stage in range(3):
        for block in range(blocks):
            strides = 2 if stage > 0 and block == 0 else 1
            y = _conv(x, filters, strides=strides, l2=l2)
            y = _conv(y, filters, activation=False, l2=l2)
            if strides > 1:
                x = _conv(x, filters, kernel=1, strides=strides, activation=False,
                          batch_norm=False, l2=l2)
            x = keras.layers.Activation("relu")(keras.layers.Add()([x, y]))
        filters *= 2
    return keras.layers.GlobalAveragePooling2D()(x)


def resnet_v2_features(x: Any, depth: int = 29, filters: int = 16, l2: float = 1e-4) -> Any:
    """Pre-activation bottleneck ResNet v2 trunk; returns globally pooled features."""
    import keras

    if (depth - 2) % 9 or depth < 11:
        raise ZooError(f"ResNet v2 depth must be 9n + 2 (11, 20, 29, ...), got {depth}")
    blocks = (depth - 2) // 9
    x = _conv(x, filters, l2=l2)
    width_in = filters
    for stage in range(3):
        width_out = width_in * (4 if stage == 0 else 2)
        for block in range(blocks):
            first = block == 0
            strides = 2 if stage > 0 and first else 1
            y = _conv(x, width_in, kernel=1, strides=strides, conv_first=False, l2=l2,
                      activation=not (stage == 0 and first), batch_norm=not (stage == 0 and first))
            y = _conv(y, width_in, conv_first=False, l2=l2)
            y = _conv(y, width_out, kernel=1, conv_first=False, l2=l2)
            if first:
                x = _conv(x, width_out, kernel=1, strides=strides, activation=False,
                          batch_norm=False, l2=l2)
            x = keras.layers.Add()([x, y])
        width_in = width_out
    x = keras.layers.Activation("relu")(keras.layers.BatchNormalization()(x))
    return keras.layers.GlobalAveragePooling2D()(x)
