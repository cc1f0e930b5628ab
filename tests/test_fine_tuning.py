"""Fine-tuning (`zoo train --init`): training starts from given weights and says so."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("keras")

from zoo.errors import WeightsError  # noqa: E402
from zoo.training import fit, initial_weights  # noqa: E402


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return fit("digits", "dense", tmp_path_factory.mktemp("base"), recipe_overrides={"epochs": 2},
               progress=False)


def _outputs(run_dir) -> np.ndarray:
    import keras

    model = keras.models.load_model(run_dir / "model.keras", compile=False)
    x = np.random.default_rng(0).random((4, *model.inputs[0].shape[1:]), dtype=np.float32)
    return np.asarray(model.predict(x, verbose=0))


def test_init_starts_from_the_given_weights(base, tmp_path):
    # a learning rate of 0 leaves the starting weights as they are: the same outputs
    tuned = fit("digits", "dense", tmp_path, recipe_overrides={"epochs": 1, "learning_rate": 0.0},
                progress=False, init=str(base.out))
    np.testing.assert_allclose(_outputs(tmp_path), _outputs(base.out), atol=1e-6)
    assert tuned.meta.fine_tuning["from"] == base.meta.tag
    assert tuned.meta.fine_tuning["sha256"] == base.meta.sha256


def test_init_refuses_another_architecture(base):
    with pytest.raises(WeightsError, match="architecture 'dense'"):
        initial_weights("digits", "cnn", str(base.out))
