"""Keras models and losses of cluster-mass (Keras is imported inside functions only).

Every architecture outputs ONE tensor (N, 2) = [mu, log_sigma] in dex of M500, so that
Keras' single target works with the Gaussian negative log-likelihood and ONNX has one output.
"""

from __future__ import annotations

from typing import Any

from zoo.registry import register_model
from zoo.task import Task

LOG_SIGMA_MIN, LOG_SIGMA_MAX = -7.0, 3.0


def _columns(y_true: Any, y_pred: Any) -> tuple[Any, Any, Any]:
    from keras import ops

    y = ops.reshape(ops.cast(y_true, y_pred.dtype), (-1,))
    mu = y_pred[:, 0]
    log_sigma = ops.clip(y_pred[:, 1], LOG_SIGMA_MIN, LOG_SIGMA_MAX)
    return y, mu, log_sigma


def gaussian_nll(y_true: Any, y_pred: Any) -> Any:
    """-log N(y | mu, sigma^2) per sample, sigma = exp(log_sigma) (seed 003, section 5)."""


    y, mu, log_sigma = _columns(y_true, y_pred)
    return _nll(y, mu, log_sigma)


def _nll(y: Any, mu: Any, log_sigma: Any) -> Any:
    import math

    from keras import ops

    half_log_2pi = 0.5 * math.log(2 * math.pi)
    return 0.5 * ops.square((y - mu) * ops.exp(-log_sigma)) + log_sigma + half_log_2pi


def mse_with_sigma(y_true: Any, y_pred: Any) -> Any:
    """The seed's MSE loss for mu; sigma is fitted by the NLL to mu's (frozen) residuals.

    The stop-gradient keeps the mass estimate a pure MSE fit, while every model still
    reports a calibrated uncertainty.
    """

    from keras import ops

    y, mu, log_sigma = _columns(y_true, y_pred)
    return ops.square(y - mu) + _nll(y, ops.stop_gradient(mu), log_sigma)


def mu_mae(y_true: Any, y_pred: Any) -> Any:
    """Mean absolute error of the mass column (dex), a loss-independent progress figure."""
    from keras import ops

    y, mu, _ = _columns(y_true, y_pred)
    return ops.abs(y - mu)


def make_loss(name: str) -> Any:
    """Keras loss for a recipe's ``loss`` name: gaussian_nll (default) or mse."""
    import keras

    fns = {"gaussian_nll": gaussian_nll, "nll": gaussian_nll, "mse": mse_with_sigma}
    if name not in fns:
        from zoo.errors import ZooError

        raise ZooError(f"cluster-mass loss {name!r} unknown; valid: gaussian_nll, mse")
    # Registered so that model.keras files with this loss load back in a fresh process.
    return keras.saving.register_keras_serializable(package="zoo_cluster_mass")(fns[name])


def make_metrics() -> list[Any]:
    import keras

    return [keras.metrics.MeanMetricWrapper(mu_mae, name="mu_mae")]


@register_model("cluster-mass", "cnn", description="Seed 003's CNN: 3+2 conv (LeakyReLU, "
                "max-pool 4), redshift joined at the dense head 512-256-128-64, dropout 0.2, "
                "L2 1e-4, heads mu and log sigma; Gaussian NLL")
def cnn(task: Task, filters: int = 20, kernel: int = 2, dropout: float = 0.2, l2: float = 1e-4,
        mu_init: float = 13.4, sigma_init: float = 0.3) -> Any:
    """Seed 003's setup (sections 6-8): 20 filters of 2x2, pooling 4, dense 512-256-128-64.

    The output biases start at the typical mass and scatter ("state initializers" of the
    seed's log-loss section), which makes the likelihood training converge from epoch one.
    """
    import math

    import keras

    from zoo.nets.common import task_inputs

    image, redshift = task_inputs(task)
    reg = keras.regularizers.L2(l2)

    def conv(x: Any) -> Any:
        x = keras.layers.Conv2D(filters, kernel, padding="same", kernel_regularizer=reg)(x)
        return keras.layers.LeakyReLU(negative_slope=0.1)(x)

    x = image
    for _ in range(3):
        x = conv(x)
    x = keras.layers.MaxPooling2D(4)(x)
    for _ in range(2):
        x = conv(x)
    x = keras.layers.MaxPooling2D(4)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Concatenate()([x, redshift])
    for units in (512, 256, 128, 64):
        x = keras.layers.Dense(units, kernel_regularizer=reg)(x)
        x = keras.layers.LeakyReLU(negative_slope=0.1)(x)
        x = keras.layers.Dropout(dropout)(x)
    mu = keras.layers.Dense(1, bias_initializer=keras.initializers.Constant(mu_init),
                            name="mu")(x)
    log_sigma = keras.layers.Dense(1, kernel_initializer="zeros",
                                   bias_initializer=keras.initializers.Constant(math.log(sigma_init)),
                                   name="log_sigma")(x)
    out = keras.layers.Concatenate(name="log10_M500")([mu, log_sigma])
    return keras.Model([image, redshift], out, name="cluster_mass_cnn")


register_model("cluster-mass", "cnn-mse", recipe={"loss": "mse"},
               description="The same CNN trained with the seed's MSE loss on mu (sigma head "
                           "fitted to frozen residuals), for comparison with the NLL model")(cnn)
