"""onnxruntime predictions on files: labels, batching, streaming and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from core_helpers import write_bad_files, write_digit_pngs
from PIL import Image

import zoo
from zoo.io.files import expand_inputs


@pytest.fixture(scope="module")
def model():
    return zoo.load("digits")


def test_shipped_model_classifies_real_digit_files(tmp_path, model):
    files = write_digit_pngs(tmp_path, 40)
    preds = model.predict([str(p) for p, _ in files], top_k=3)
    correct = sum(p.result["label"] == str(y) for p, (_, y) in zip(preds, files, strict=True))
    assert correct >= 37  # the shipped model's held-out accuracy is 0.98
    for pred in preds:
        probs = [t["probability"] for t in pred.result["top"]]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True)


def test_dark_ink_on_white_is_inverted_to_the_data_convention(tmp_path, model):
    files = write_digit_pngs(tmp_path, 10)
    for path, _ in files:
        Image.fromarray(255 - np.asarray(Image.open(path))).convert("RGB").save(path.with_suffix(".inv.png"))
    plain = [p.result["label"] for p in model.predict([str(p) for p, _ in files])]
    inverted = [p.result["label"] for p in model.predict([str(p.with_suffix(".inv.png")) for p, _ in files])]
    assert inverted == plain


def test_directories_and_globs_expand_lazily(tmp_path):
    write_digit_pngs(tmp_path / "a", 3)
    write_digit_pngs(tmp_path / "b" / "c", 2)
    assert len(list(expand_inputs([str(tmp_path)]))) == 5
    assert len(list(expand_inputs([str(tmp_path / "a" / "*.png")]))) == 3
    assert len(list(expand_inputs([str(tmp_path / "**" / "*.png")]))) == 5


def test_bad_files_give_one_line_each_and_the_rest_is_predicted(tmp_path, model):
    files = write_digit_pngs(tmp_path, 2)
    bad = write_bad_files(tmp_path / "bad", files[0][0])
    preds = model.predict([str(files[0][0]), *map(str, bad.values()), str(files[1][0])])
    errors = {p.key: p.error for p in preds if not p.ok}
    assert [p.result["label"] for p in preds if p.ok] == [str(files[0][1]), str(files[1][1])]
    expected = {
        "not_image": "not an image file",
        "truncated": "corrupt or truncated image",
        "wrong_size": "image is 28x28, digits needs 8x8",
        "wrong_mode": "unsupported image mode 'CMYK'",
        "missing": "no such file",
    }
    for kind, text in expected.items():
        message = errors[str(bad[kind])]
        assert message.startswith(str(bad[kind])) and text in message and "\n" not in message


def test_batches_and_streaming_agree_with_single_calls(tmp_path, model):
    files = [str(p) for p, _ in write_digit_pngs(tmp_path, 20)]
    one_by_one = [model.predict([f])[0].result for f in files]
    batched = [p.result for p in model.iter_predict(files, batch_size=7, workers=3)]
    assert [r["label"] for r in batched] == [r["label"] for r in one_by_one]
    np.testing.assert_allclose([r["probability"] for r in batched],
                               [r["probability"] for r in one_by_one], atol=1e-6)


def test_predict_arrays_matches_file_path(tmp_path, model):
    (path, _), = write_digit_pngs(tmp_path, 1)
    x = np.asarray(Image.open(path), dtype=np.float32)[None, ..., None] / 255.0
    from_array = model.predict_arrays(x)[0]
    from_file = model.predict([str(path)])[0].result
    assert from_array["label"] == from_file["label"]
    assert from_array["probability"] == pytest.approx(from_file["probability"], abs=1e-6)
