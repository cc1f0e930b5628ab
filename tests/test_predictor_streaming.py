"""The streaming predictor: same results as the simple path, errors per file, bounded memory
on a long generated file list (measured as read-ahead, never as wall time)."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.predictor import Predictor
from zoo.readers import PROCESS_MIN_SAMPLES
from zoo.registry import get_task
from zoo.task import Sample
from zoo.weights import list_weights


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    if not any(r.meta.name == "digits-cnn" for r in list_weights("digits")):
        pytest.skip("shipped digits-cnn weights are not present")
    return Predictor(get_task("digits"), "digits-cnn", device="cpu")


def write_digits(folder: Path, n: int) -> list[Path]:
    from sklearn.datasets import load_digits

    folder.mkdir(parents=True, exist_ok=True)
    images = load_digits().images[-n:]
    paths = []
    for i, image in enumerate(images):
        path = folder / f"d{i:03d}.png"
        Image.fromarray((image * 255 / 16).astype(np.uint8), "L").save(path)
        paths.append(path)
    return paths


def simple_predict(predictor: Predictor, paths: list[Path]) -> dict[str, str]:
    """The obvious implementation: read each file, one call over the stacked arrays."""
    task = predictor.task
    arrays = [task.read(Sample(str(p), (str(p),)), {})["image"] for p in paths]
    results = predictor.predict_arrays(np.stack(arrays))
    return {str(p): r["label"] for p, r in zip(paths, results, strict=True)}


@pytest.mark.parametrize("batch_size,workers", [(1, 1), (7, 2), (64, 3)])
def test_streaming_equals_simple_path(predictor, tmp_path, batch_size, workers):
    paths = write_digits(tmp_path / "in", 45)
    expected = simple_predict(predictor, paths)
    preds = predictor.predict([tmp_path / "in"], batch_size=batch_size, workers=workers, top_k=3)
    assert {p.key: p.result["label"] for p in preds} == expected
    assert all(p.ok and len(p.result["top"]) == 3 for p in preds)


def test_streaming_probabilities_match_the_simple_path(predictor, tmp_path):
    paths = write_digits(tmp_path / "in", 20)
    arrays = np.stack([predictor.task.read(Sample(str(p), (str(p),)), {})["image"] for p in paths])
    simple = [r["probability"] for r in predictor.predict_arrays(arrays)]
    streamed = {p.key: p.result["probability"] for p in predictor.predict(paths, batch_size=6)}
    np.testing.assert_allclose([streamed[str(p)] for p in paths], simple, atol=1e-6)


def test_bad_files_are_reported_and_the_rest_still_predicted(predictor, tmp_path):
    paths = write_digits(tmp_path / "in", 10)
    (tmp_path / "in" / "broken.png").write_bytes(b"not a png")
    missing = tmp_path / "nope.png"
    preds = predictor.predict([tmp_path / "in", missing], batch_size=4)
    errors = {p.key: p.error for p in preds if not p.ok}
    assert set(errors) == {str(tmp_path / "in" / "broken.png"), str(missing)}
    assert "no such file" in errors[str(missing)]
    assert sum(p.ok for p in preds) == len(paths)


@pytest.mark.parametrize("processes", [False, True, None], ids=["threads", "processes", "auto"])
def test_memory_stays_bounded_on_a_long_file_list(predictor, tmp_path, processes):
    """A generator of 20,000 paths is consumed lazily: files read ahead of the predictions
    handed out never exceed a fixed window, however long the list is, whether threads or
    reader processes read them (deciding which draws up to PROCESS_MIN_SAMPLES names first)."""
    paths = write_digits(tmp_path / "in", 8)
    n, batch_size, workers = 20_000, 32, 2
    drawn = 0
    reads_alive = 0
    max_ahead = 0
    lock = threading.Lock()
    task = predictor.task
    original_read = task.read

    def counting_read(sample, options):  # seen by reader threads; processes read unpatched
        nonlocal reads_alive
        with lock:
            reads_alive += 1
        return original_read(sample, options)

    def items():
        nonlocal drawn
        for path in itertools.islice(itertools.cycle(paths), n):
            drawn += 1
            yield path

    task.read = counting_read  # instance attribute: shadows the method for this test only
    try:
        done = 0
        for pred in predictor.iter_predict(items(), batch_size=batch_size, workers=workers,
                                           processes=processes):
            assert pred.ok
            done += 1
            with lock:
                max_ahead = max(max_ahead, drawn - done, reads_alive - done)
    finally:
        del task.read
    assert done == n
    assert (reads_alive == n) is (processes is False)
    # Read-ahead window (2 x batch) plus one pending batch, independent of n.
    bound = 3 * batch_size + 16 * workers + (PROCESS_MIN_SAMPLES if processes is None else 0)
    assert max_ahead <= bound, max_ahead


def test_a_batch_of_the_wrong_shape_is_a_one_line_error(predictor):
    from zoo.errors import ZooError

    model = predictor.model
    with pytest.raises(ZooError, match=r"take image of shape \(8, 8, 1\).*\(16, 16, 1\)"):
        model.check_shapes({"image": np.zeros((2, 16, 16, 1), np.float32)}, "multiview")
    model.check_shapes({"image": np.zeros((2, 8, 8, 1), np.float32)})
