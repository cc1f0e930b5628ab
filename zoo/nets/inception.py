"""Inception (GoogLeNet, Szegedy et al. 2015) with configurable modules and towers.

Each module runs up to four parallel towers on the same input and concatenates them:
1x1; 1x1 -> 3x3; 1x1 -> 5x5 (bottlenecked); 3x3 max-pool -> 1x1. ``towers`` picks the
first 2-4 of these (the seed tried 3 and 4), ``modules`` how many modules follow the stem
(the seed tried 1 and 2); modules are separated by 2x2 max-pooling.
"""

from __future__ import annotations

from typing import Any

from zoo.errors import ZooError


def _conv_bn(x: Any, filters: int, kernel: int, batch_norm: bool = True) -> Any:
    import keras

    x = keras.layers.Conv2D(filters, kernel, padding="same", use_bias=not batch_norm)(x)
    if batch_norm:
        x = keras.layers.BatchNormalization()(x)
    return keras.layers.Activation("relu")(x)


def inception_module(x: Any, filters: int, towers: int = 3, batch_norm: bool = True) -> Any:
    """One module with ``towers`` (2-4) towers of ``filters`` channels each."""
    import keras

    if not 2 <= towers <= 4:
        raise ZooError(f"an Inception module has 2 to 4 towers, got {towers}")
    bn = batch_norm
    outs = [_conv_bn(x, filters, 1, bn),
            _conv_bn(_conv_bn(x, filters // 2, 1, bn), filters, 3, bn),
            _conv_bn(_conv_bn(x, filters // 4, 1, bn), filters // 2, 5, bn)]
    if towers == 4:
        pooled = keras.layers.MaxPooling2D(3, strides=1, padding="same")(x)
        outs.append(_conv_bn(pooled, filters // 2, 1, bn))
    return keras.layers.Concatenate()(outs[:towers])


def inception_features(x: Any, modules: int = 2, towers: int = 3, filters: int = 32,
                       stem_filters: int = 32, dropout: float = 0.3,
                       batch_norm: bool = True) -> Any:
    """Stem conv -> ``modules`` Inception modules (width doubling) -> global pool -> dropout.

    ``batch_norm=False`` drops batch normalisation: on very sparse, heavy-tailed inputs
    (jet images) batch statistics differ from the running averages used at inference,
    which shifts the output probabilities (the ranking, hence ROC AUC, is less affected).
    """
    import keras

    if modules < 1:
        raise ZooError(f"Inception needs at least one module, got {modules}")
    x = _conv_bn(x, stem_filters, 3, batch_norm)
    for i in range(modules):
        if i:
            x = keras.layers.MaxPooling2D(2, padding="same")(x)
        x = inception_module(x, filters * 2 ** i, towers, batch_norm)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.layers.Dropout(dropout)(x) if dropout else x
