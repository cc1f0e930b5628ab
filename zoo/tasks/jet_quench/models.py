"""The seed's architectures for jet-quench, each with an Optuna search space.

Every builder takes the task and hyper-parameters and returns a Keras model with one
sigmoid output ("probabilities" = P(quenched)). The trunks come from ``zoo.nets`` so other
tasks can reuse them. Each ``search_space(trial)`` returns hyper-parameters plus recipe
fields (``learning_rate``, ``batch_size``); ``zoo.tuning`` tells them apart by name.
"""

from __future__ import annotations

from typing import Any

from zoo.registry import register_model
from zoo.task import Task

TASK = "jet-quench"


#: Gains of the intensity encoding: a pixel holding the pT fraction x enters the network as
#: tanh(s x) for each s; at 1e4 that is the pixel occupancy (0.995 for a 0.05 GeV hadron, the
#: softest the simulator makes, in a 160 GeV jet), at 10 the hard core.
INTENSITY_GAINS = (1e1, 1e2, 1e3, 1e4)


def intensity_channels(image: Any) -> Any:
    """Unit-sum (33, 33, 2) images -> 8 channels tanh(s x), s in ``INTENSITY_GAINS``.

    Why: in unit-sum images the soft constituents, where quenched and vacuum jets differ
    most here (the number of occupied pixels alone separates the simulator's classes with an
    unweighted ROC AUC of 0.66), hold pT fractions of 0.002 to 0.02 beside a hardest pixel
    of 0.2 to 0.7; linearly scaled, the core drowns them. Saturating copies at four gains
    are a log-like encoding whose top channel is the occupancy, so a network can count
    constituents (Komiske, Metodiev & Schwartz, JHEP 01 (2017) 110, add a multiplicity
    channel to jet images for the same reason). Built from stock layers: saved models load
    without custom code and export to ONNX like any other layer.
    """
    import keras

    return keras.layers.Concatenate(name="intensity")([
        keras.layers.Activation("tanh", name=f"tanh_{gain:g}")(
            keras.layers.Rescaling(gain, name=f"gain_{gain:g}")(image))
        for gain in INTENSITY_GAINS])


def _model(task: Task, trunk: Any, name: str) -> Any:
    """Wrap ``trunk(encoded input) -> features`` with the task's input, the intensity
    encoding (:func:`intensity_channels`) and the sigmoid head."""
    import keras

    from zoo.nets.common import classifier_head, task_inputs

    (inp,) = task_inputs(task)
    return keras.Model(inp, classifier_head(trunk(intensity_channels(inp)), task), name=name)


def _recipe_space(trial: Any) -> dict[str, Any]:
    return {"learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
            "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256])}


# ------------------------------------------------------------------------ basic CNNs
def _basic_trunk(x: Any, filters: int, kernel_size: int, batch_norm: bool, dense_units: int,
                 dropout: float) -> Any:
    import keras

    for i in range(3):
        x = keras.layers.Conv2D(filters if i < 2 else 2 * filters, kernel_size, padding="same",
                                use_bias=not batch_norm)(x)
        if batch_norm:
            x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("relu")(x)
    if batch_norm:
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(dense_units, activation="relu")(x)
    return keras.layers.Dropout(dropout)(x)


def _cnn_space(trial: Any) -> dict[str, Any]:
    return {"filters": trial.suggest_categorical("filters", [32, 64]),
            "kernel_size": trial.suggest_categorical("kernel_size", [3, 5]),
            **_recipe_space(trial)}


@register_model(TASK, "cnn", search_space=_cnn_space)
def cnn(task: Task, filters: int = 32, kernel_size: int = 3, dense_units: int = 64,
        dropout: float = 0.3) -> Any:
    """Seed's basic CNN: 3 conv layers (filters 32/64, kernel 3/5), dense, sigmoid."""
    return _model(task, lambda x: _basic_trunk(x, filters, kernel_size, False, dense_units,
                                               dropout), "jet_cnn")


@register_model(TASK, "cnn_bn", search_space=_cnn_space)
def cnn_bn(task: Task, filters: int = 32, kernel_size: int = 3, dense_units: int = 64,
           dropout: float = 0.3) -> Any:
    """Basic CNN with batch normalisation between convolutions and max-pooling before dense."""
    return _model(task, lambda x: _basic_trunk(x, filters, kernel_size, True, dense_units,
                                               dropout), "jet_cnn_bn")


# ------------------------------------------------------------------------ AlexNet
def _alexnet_space(trial: Any) -> dict[str, Any]:
    return {"base_filters": trial.suggest_categorical("base_filters", [16, 32]),
            "dropout": trial.suggest_float("dropout", 0.3, 0.6),
            "l2": trial.suggest_float("l2", 1e-5, 1e-3, log=True), **_recipe_space(trial)}


@register_model(TASK, "alexnet", search_space=_alexnet_space)
def alexnet(task: Task, base_filters: int = 16, dense_units: int = 128, dropout: float = 0.5,
            l2: float = 1e-4) -> Any:
    """Tweaked AlexNet: 4 convolutions of growing width, pooling, dropout-regularised dense."""
    from zoo.nets.alexnet import alexnet_features

    widths = tuple(int(base_filters * m) for m in (1, 2, 3, 4))
    return _model(task, lambda x: alexnet_features(x, widths, 3, dense_units, dropout, l2),
                  "jet_alexnet")


# ------------------------------------------------------------------------ VGG
def _vgg_space(trial: Any) -> dict[str, Any]:
    return {"depth": trial.suggest_categorical("depth", [10, 16, 21]),
            "width": trial.suggest_categorical("width", [8, 16]), **_recipe_space(trial)}


@register_model(TASK, "vgg", search_space=_vgg_space)
def vgg(task: Task, depth: int = 16, width: int = 16, dense_units: int = 128,
        dropout: float = 0.5, batch_norm: bool = True) -> Any:
    """VGG with configurable depth (seed: 10, 16, 21 weight layers)."""
    from zoo.nets.vgg import vgg_features

    return _model(task, lambda x: vgg_features(x, depth, width, 128, 4, dense_units, dropout,
                                               bool(batch_norm)), f"jet_vgg{depth}")


# ------------------------------------------------------------------------ ResNet
def _resnet_space(trial: Any) -> dict[str, Any]:
    version = trial.suggest_categorical("version", [1, 2])
    depth = trial.suggest_categorical(f"depth_v{version}", [8, 14, 20] if version == 1
                                      else [11, 20])
    return {"version": version, "depth": depth,
            "filters": trial.suggest_categorical("filters", [8, 16]),
            "l2": trial.suggest_float("l2", 1e-5, 1e-3, log=True), **_recipe_space(trial)}


def _resnet(task: Task, version: int, depth: int, filters: int, l2: float) -> Any:
    from zoo.nets.resnet import resnet_v1_features, resnet_v2_features

    trunk = resnet_v1_features if int(version) == 1 else resnet_v2_features
    return _model(task, lambda x: trunk(x, int(depth), int(filters), l2),
                  f"jet_resnet_v{version}_{depth}")


@register_model(TASK, "resnet", search_space=_resnet_space)
def resnet(task: Task, version: int = 1, depth: int = 14, filters: int = 16,
           l2: float = 1e-4) -> Any:
    """ResNet v1 (depth 6n+2) or v2 (depth 9n+2) by --hp-version; tuning searches both."""
    return _resnet(task, version, depth, filters, l2)


def _resnet_v2_space(trial: Any) -> dict[str, Any]:
    return {"depth": trial.suggest_categorical("depth", [11, 20]),
            "filters": trial.suggest_categorical("filters", [8, 16]),
            "l2": trial.suggest_float("l2", 1e-5, 1e-3, log=True), **_recipe_space(trial)}


def _resnet_v1_space(trial: Any) -> dict[str, Any]:
    return {"depth": trial.suggest_categorical("depth", [8, 14, 20]),
            "filters": trial.suggest_categorical("filters", [8, 16]),
            "l2": trial.suggest_float("l2", 1e-5, 1e-3, log=True), **_recipe_space(trial)}


@register_model(TASK, "resnet_v1", search_space=_resnet_v1_space)
def resnet_v1(task: Task, depth: int = 14, filters: int = 16, l2: float = 1e-4) -> Any:
    """ResNet v1: basic residual blocks, depth 6n+2."""
    return _resnet(task, 1, depth, filters, l2)


@register_model(TASK, "resnet_v2", search_space=_resnet_v2_space)
def resnet_v2(task: Task, depth: int = 11, filters: int = 16, l2: float = 1e-4) -> Any:
    """ResNet v2: pre-activation bottleneck blocks, depth 9n+2."""
    return _resnet(task, 2, depth, filters, l2)


# ------------------------------------------------------------------------ Inception
def _inception_space(trial: Any) -> dict[str, Any]:
    return {"modules": trial.suggest_int("modules", 1, 2),
            "towers": trial.suggest_int("towers", 3, 4),
            "filters": trial.suggest_categorical("filters", [16, 32]),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "batch_norm": trial.suggest_categorical("batch_norm", [0, 1]), **_recipe_space(trial)}


@register_model(TASK, "inception", search_space=_inception_space)
def inception(task: Task, modules: int = 2, towers: int = 3, filters: int = 16,
              dropout: float = 0.3, batch_norm: int = 0) -> Any:
    """Inception: modules (1-2) of parallel towers (3-4); seed's best: 2 modules, 3 towers.

    Without batch normalisation by default: with it, the running statistics of these sparse
    images differ from the batch statistics and the probabilities come out shifted (test
    accuracy 0.55 at the same ROC AUC).
    """
    from zoo.nets.inception import inception_features

    return _model(task, lambda x: inception_features(x, int(modules), int(towers), int(filters),
                                                     32, dropout, bool(batch_norm)),
                  f"jet_inception_{modules}m{towers}t")


# ------------------------------------------------------------------------ Xception
def _xception_space(trial: Any) -> dict[str, Any]:
    return {"middle_blocks": trial.suggest_int("middle_blocks", 0, 4),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "l2": trial.suggest_float("l2", 1e-5, 1e-3, log=True), **_recipe_space(trial)}


@register_model(TASK, "xception", search_space=_xception_space)
def xception(task: Task, middle_blocks: int = 2, dropout: float = 0.3, l2: float = 1e-4) -> Any:
    """Xception: separable convolutions with residual links (entry/middle/exit flows)."""
    from zoo.nets.xception import xception_features

    return _model(task, lambda x: xception_features(x, (32, 64), int(middle_blocks), 16, 128,
                                                    dropout, l2), "jet_xception")
