"""jet-quench models: every architecture builds, trains a step and exports with ONNX parity,
and every search space yields buildable hyper-parameters."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")

import zoo  # noqa: E402
from zoo.onnx_export import export_onnx  # noqa: E402
from zoo.registry import get_architecture  # noqa: E402

SMALL = {  # the smallest member of each family keeps the test fast on a shared CPU
    "cnn": {"filters": 8}, "cnn_bn": {"filters": 8}, "alexnet": {"base_filters": 4},
    "vgg": {"depth": 10, "width": 4}, "resnet": {"depth": 8, "filters": 4},
    "resnet_v1": {"depth": 8, "filters": 4}, "resnet_v2": {"depth": 11, "filters": 4},
    "inception": {"modules": 2, "towers": 4, "filters": 8}, "xception": {"middle_blocks": 1},
}


def test_every_seed_architecture_is_registered():
    assert set(SMALL) == set(zoo.list_models(task="jet-quench"))
    for arch in SMALL:
        assert get_architecture("jet-quench", arch).search_space is not None


@pytest.mark.parametrize("arch", sorted(SMALL))
def test_architecture_builds_steps_and_exports(arch, tmp_path):
    import keras

    model = zoo.create_model("jet-quench", arch, **SMALL[arch])
    assert model.output_shape == (None, 1)
    model.compile(optimizer="nadam", loss="binary_crossentropy", run_eagerly=True)
    rng = np.random.default_rng(0)
    x = rng.random((8, 33, 33, 2), dtype=np.float32)
    loss = model.train_on_batch(x, (np.arange(8) % 2).astype("float32"),
                                sample_weight=np.ones(8, "float32"))
    assert np.isfinite(loss)
    error = export_onnx(model, tmp_path / f"{arch}.onnx")
    assert error <= 1e-4
    keras.utils.clear_session()


def test_search_spaces_give_buildable_params():
    import optuna

    from zoo.tuning import split_params

    for arch in ("resnet", "resnet_v2", "inception", "xception"):
        trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
        recipe, hparams = split_params(get_architecture("jet-quench", arch).search_space(trial))
        assert set(recipe) == {"learning_rate", "batch_size"}
        assert zoo.create_model("jet-quench", arch, **hparams).count_params() > 0
