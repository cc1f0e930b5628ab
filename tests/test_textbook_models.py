"""Every textbook architecture: the book's parameter count, one training step, ONNX parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")

from zoo.onnx_export import export_onnx  # noqa: E402
from zoo.registry import get_task, list_models  # noqa: E402
from zoo.training import create_model, make_optimizer, task_loss, task_metrics  # noqa: E402

#: (task, arch) -> parameter count printed in (or computed from) the books
BOOK_PARAMS = {
    ("mnist", "dense-sigmoid"): 7_960,
    ("mnist", "dense-relu"): 7_960,
    ("mnist", "dense-512"): 407_050,
    ("mnist", "cnn"): 62_346,
    ("cifar10", "cnn"): 3_692_938,
    ("imdb", "dense"): 160_305,
    ("imdb", "l2"): 80_089,
    ("imdb", "dropout"): 160_305,
    ("reuters", "dense"): 647_214,
    ("boston-housing", "dense"): 5_121,  # trainable; + 26 normalisation statistics
}


def trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_registry_lists_the_book_models() -> None:
    assert list_models(task="mnist") == ["cnn", "dense-512", "dense-relu", "dense-sigmoid"]
    assert list_models(task="fashion-mnist") == list_models(task="mnist")
    assert {(t, a) for t in ("mnist", "cifar10", "imdb", "reuters", "boston-housing")
            for a in list_models(task=t)} == set(BOOK_PARAMS)
    assert get_task("imdb").kind == "binary" and get_task("imdb").classes == ("negative", "positive")
    assert get_task("boston-housing").kind == "regression"


@pytest.mark.parametrize(("task", "arch"), sorted(BOOK_PARAMS))
def test_builds_trains_and_exports(task: str, arch: str, tmp_path: Path) -> None:
    spec = get_task(task)
    model = create_model(task, arch)
    assert trainable(model) == BOOK_PARAMS[(task, arch)]
    recipe = spec.recipe
    model.compile(optimizer=make_optimizer(recipe, 1), loss=task_loss(spec, recipe),
                  metrics=task_metrics(spec, recipe, model))
    rng = np.random.default_rng(0)
    shape = spec.inputs[0].shape
    x = rng.random((4, *shape)).astype(np.float32)
    if spec.kind == "regression":
        y = rng.random(4).astype(np.float32) * 30
    else:
        y = np.arange(4) % max(2, len(spec.classes))
    before = [w.numpy().copy() for w in model.trainable_weights]
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights,
                                                               strict=True))
    error = export_onnx(model, tmp_path / "m.onnx", {"task": task, "arch": arch})
    assert error <= 1e-4


def test_boston_normalisation_travels_in_onnx(tmp_path: Path) -> None:
    """The standardisation set from the training features is part of the exported graph."""
    import onnxruntime as ort

    from zoo.tasks.textbook.boston import adapt_normalization_callback

    rng = np.random.default_rng(1)
    features = (rng.normal(size=(64, 13)) * 50 + 300).astype(np.float32)
    model = create_model("boston-housing")
    callback = adapt_normalization_callback(features)
    callback.set_model(model)
    callback.on_train_begin()
    normalised = model.get_layer("normalization")(features).numpy()
    np.testing.assert_allclose(normalised.mean(axis=0), 0, atol=1e-3)
    np.testing.assert_allclose(normalised.std(axis=0), 1, atol=1e-2)
    export_onnx(model, tmp_path / "b.onnx")
    session = ort.InferenceSession(str(tmp_path / "b.onnx"), providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {session.get_inputs()[0].name: features})[0]
    np.testing.assert_allclose(onnx_out, model(features).numpy(), atol=1e-4)
