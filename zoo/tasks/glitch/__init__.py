"""glitch: Gravity Spy glitch classes (22) and the binary "Chirp vs rest" mode of seed 000.

Two registered tasks share one set of readers (:mod:`zoo.tasks.glitch.formats`):

* ``glitch`` - 22 classes of training set v1d1; softmax.
* ``glitch-chirp`` - Chirp (1) vs every other class (0); sigmoid, balanced class weights,
  decision threshold chosen on the validation split.

Views. A single-view model reads one (140, 170, 1) spectrogram; the multi-view model reads
the four durations tiled 2x2 (0.5 | 1.0 over 2.0 | 4.0) as one (280, 340, 1) image. The task
declares the single-view input; which view a sample gets is its ``Sample.group`` at
prediction time ("single" / "multiview", chosen by :meth:`GlitchTask.samples`) and the
``view`` data option at training time, which each architecture sets through its recipe.

Default data. Without ``--data`` the built-in simulator writes a ``trainingsetv1d1.h5``-layout
file into the cache (``$ZOO_CACHE`` or ``~/.cache/zoo``), which is then read by the same
reader as the real file.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from zoo.errors import InputError
from zoo.registry import get_architecture, register_task
from zoo.task import Dataset, InputSpec, Recipe, Sample, Split, Task
from zoo.tasks.glitch.constants import CLASSES, DURATIONS
from zoo.tasks.glitch.evidence import view_features
from zoo.tasks.glitch.formats import (
    GRAVITYSPY_REFERENCE,
    VIEWS,
    ScanName,
    check_duration,
    check_view,
    gravityspy_reference_read,
    is_event_gif,
    parse_scan_name,
    read_event,
    read_gravityspy_h5,
    read_scan,
    read_scan_folder,
    scan_files,
    tile_views,
)
from zoo.weights import WeightsMeta, sha256_file

#: At most this many adjacent files are buffered while grouping one ID's durations.
GROUP_BUFFER = 8
DEFAULT_N_PER_CLASS = 60
CHIRP = "Chirp"


def cache_dir() -> Path:
    return Path(os.environ.get("ZOO_CACHE") or Path.home() / ".cache" / "zoo")


def simulated_h5(n_per_class: int, seed: int) -> Path:
    """The cached simulator file for (n_per_class, seed) of this simulator version, generated
    once (simulate_h5 writes through a temporary file, so an interrupted run leaves no half file
    behind; the version in the name keeps files of an older simulator from being reused)."""
    from zoo.tasks.glitch.simulator import SIMULATOR_VERSION, simulate_h5

    path = cache_dir() / f"glitch-sim-v{SIMULATOR_VERSION}-seed{seed}-n{n_per_class}.h5"
    if not path.is_file():
        simulate_h5(path, n_per_class, seed=seed)
    return path


class GlitchTask(Task):
    """What both glitch tasks share: inputs, preprocessing, readers, sample grouping."""

    inputs = (InputSpec("image", (140, 170, 1), description=(
        "one Omega-scan duration, gray in [0, 1], 140 frequency rows x 170 time columns; the "
        "multi-view model takes the four durations tiled 2x2 as (280, 340, 1)")),)
    preprocessing = "gravityspy-gray140x170-v1"
    preprocessing_doc = (
        "Raw Omega scans at any scale: the plot area is found from the figure's layout; on "
        "800x600 keep rows 66:532 and columns 105:671 (elsewhere the same box in proportion), "
        "gray = 0.2125 R + 0.7154 G + 0.0721 B (skimage rgb2gray, as Gravity Spy), rescale "
        "to 140x170 as skimage.transform.rescale(0.3). Bare spectrograms (viridis, or gray "
        "8/16 bit) of the plot area's proportions are resized; other images are refused. "
        "Event GIFs: 4 frames = 0.5, 1, 2, 4 s. Multi-view: the four durations tiled "
        "0.5 | 1.0 over 2.0 | 4.0 into 280x340."
    )
    data_sources = {
        "default": "built-in simulator, trainingsetv1d1 layout, cached under $ZOO_CACHE",
        "h5": "trainingsetv1d1.h5 (Zenodo 1476551), optional --data-metadata CSV",
        "folder": "<Class>/<scans in any form> (optionally below train/validation/test)",
    }
    predict_options = {"view": str}
    data_options = {"view": str, "duration": str, "metadata": str, "n_per_class": int,
                    "sim_seed": int}
    reference = ("Bahaadini et al. 2018 multi-view CNN ~97-98% on real v1d1; George et al. 2018 "
                 "> 98.8% (transfer learning); seed 000 Chirp: 9/9 validation, 9/10 test")
    #: Gravity Spy's own per-file pipeline, what `zoo bench glitch --files` compares against
    reference_read = staticmethod(gravityspy_reference_read)
    reference_name = GRAVITYSPY_REFERENCE
    #: shipped weight set serving four-duration samples ("" = this task has none)
    multiview_weights: ClassVar[str] = ""
    #: class whose targets are 1 in binary mode (None: 22-class targets)
    positive: ClassVar[str | None] = None
    #: which duration a single-view training sample is ("all": each is its own sample)
    default_duration: ClassVar[str] = "all"

    # ---- inference ------------------------------------------------------------------------
    def weights_for_group(self, group: str) -> str:
        if group == "multiview" and self.multiview_weights:
            return self.multiview_weights
        return self.default_weights

    def prediction_view(self, options: Mapping[str, Any]) -> str:
        """"single", "multiview" or "auto" (group complete IDs when multi-view weights exist).

        An explicit ``view`` option wins; otherwise the architecture of ``arch`` or of the
        ``weights`` given decides; otherwise "auto".
        """
        view = options.get("view")
        if view:
            if view not in (*VIEWS, "auto"):
                valid = ", ".join(VIEWS)
                raise InputError("--view", f"unknown view {view!r}; valid: auto, {valid}")
            return str(view)
        arch = options.get("arch")
        weights = options.get("weights")
        if not arch and weights and str(weights) != "default":
            from zoo.weights import resolve

            arch = resolve(self.name, weights).meta.arch
        if arch:
            return self.data_options_for(arch)["view"]
        return "auto" if self.multiview_weights else "single"

    def samples(self, items: Iterable[str], options: Mapping[str, Any]) -> Iterator[Sample]:
        """Files -> samples. Adjacent files of one IFO_ID (sorted folder order keeps them
        together) form one "multiview" sample keyed by the ID, and so does an event GIF of
        four frames; a lone file is "single"."""
        view = self.prediction_view(options)
        pending: list[tuple[Path, ScanName]] = []
        for path in scan_files(items):
            name = parse_scan_name(path)
            if view != "single" and is_event_gif(path):
                yield from self._flush(pending, view)
                pending = []
                yield Sample(key=str(path), sources=(str(path),), group="multiview")
                continue
            if view == "single" or name is None:
                yield from self._flush(pending, view)
                pending = []
                yield Sample(key=str(path), sources=(str(path),))
                continue
            if pending and (pending[0][1].ifo, pending[0][1].gid, pending[0][0].parent) != \
                    (name.ifo, name.gid, path.parent) or len(pending) >= GROUP_BUFFER:
                yield from self._flush(pending, view)
                pending = []
            pending.append((path, name))
        yield from self._flush(pending, view)

    @staticmethod
    def _flush(pending: list[tuple[Path, ScanName]], view: str) -> Iterator[Sample]:
        if not pending:
            return
        if view == "auto" and len(pending) == 1:
            yield Sample(key=str(pending[0][0]), sources=(str(pending[0][0]),))
            return
        ordered = sorted(pending, key=lambda p: float(p[1].duration))
        yield Sample(key=pending[0][1].gid, sources=tuple(str(p) for p, _ in ordered),
                     group="multiview")

    def read(self, sample: Sample, options: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """One sample -> the model input, through :func:`read_scan` whatever the file's form.

        A single-view sample of an event GIF takes the frame of :attr:`frame_duration`; a
        multi-view sample is an event GIF or the four ``IFO_ID_spectrogram_DUR`` files.
        """
        if sample.group != "multiview":
            event = read_scan(sample.sources[0])
            if len(event.views) == 1:
                return {"image": event.views[0][..., None], "_input": event.form}  # type: ignore[dict-item]
            image = event.views[DURATIONS.index(self.frame_duration)]
            return {"image": image[..., None],
                    "_input": f"{event.form}; its {self.frame_duration} s frame"}  # type: ignore[dict-item]
        if len(sample.sources) == 1:
            event = read_scan(sample.sources[0])
            if len(event.views) != len(DURATIONS):
                raise InputError(sample.sources[0], "a single scan, not a 4-duration event")
        else:
            event = read_event(self._durations_of(sample))
        return {"image": tile_views(event.views)[..., None],
                "_input": f"4 durations tiled 2x2; {event.form}"}  # type: ignore[dict-item]

    def ood_features(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Colour-map range, noise floor, profiles and smoothness of each view or mosaic."""
        return view_features(inputs["image"])

    @property
    def frame_duration(self) -> str:
        """The duration a single-view model reads from a multi-duration event (1.0 s unless
        the task trains on one duration)."""
        return "1.0" if self.default_duration == "all" else self.default_duration

    @staticmethod
    def _durations_of(sample: Sample) -> dict[str | None, Path]:
        by_duration: dict[str | None, Path] = {}
        for source in sample.sources:
            name = parse_scan_name(source)
            if name is None or name.duration not in DURATIONS:
                raise InputError(source, f"duration not one of {', '.join(DURATIONS)} s")
            if name.duration in by_duration:
                raise InputError(source, f"sample {sample.key} has two files for {name.duration} s")
            by_duration[name.duration] = Path(source)
        lacking = [d for d in DURATIONS if d not in by_duration]
        if lacking:
            where = Path(sample.sources[0]).parent / f"*_{sample.key}_spectrogram_*"
            missing = ", ".join(d + " s" for d in lacking)
            raise InputError(where, f"sample {sample.key} lacks {missing} "
                                    "(multi-view needs 0.5, 1.0, 2.0 and 4.0)")
        return by_duration

    # ---- training -------------------------------------------------------------------------
    def load_data(self, source: str | None, seed: int, **options: Any) -> Dataset:
        """``source``: a trainingsetv1d1-layout .h5, a PNG folder, or None (simulator).

        Data options: ``view`` (single | multiview), ``duration`` (single view: all | 0.5 |
        1.0 | 2.0 | 4.0), ``metadata`` (CSV beside an .h5), ``n_per_class`` and ``sim_seed``
        (simulator; ``sim_seed`` defaults to the recipe seed).
        """
        view = check_view(str(options.get("view", "single")), "--data-view")
        duration = check_duration(str(options.get("duration", self.default_duration)),
                                  "--data-duration")
        classes = CLASSES
        if source is None:
            n = int(options.get("n_per_class", DEFAULT_N_PER_CLASS))
            sim_seed = int(options.get("sim_seed", seed))
            path = simulated_h5(n, sim_seed)
            data = read_gravityspy_h5(path, view, classes, duration=duration,
                                      positive=self.positive)
            data.source = {"type": "simulator", "simulated": True, "seed": sim_seed,
                           "generator": "zoo.tasks.glitch.simulator.simulate_h5", "path": str(path),
                           "sha256": sha256_file(path),
                           "content_sha256": data.source["content_sha256"],
                           "options": {"view": view, "duration": duration, "n_per_class": n,
                                       "sim_seed": sim_seed}}
            return data
        path = Path(source)
        if path.is_dir():
            return read_scan_folder(path, view, classes, duration, self.positive, seed)
        if path.suffix.lower() not in (".h5", ".hdf5", ".hdf"):
            raise InputError(path, "expected a trainingsetv1d1-layout .h5 file or a folder of PNGs")
        return read_gravityspy_h5(path, view, classes, options.get("metadata"), duration,
                                  self.positive)

    def load_data_for(self, meta: WeightsMeta, source: str | None = None,
                      seed: int | None = None, **overrides: Any) -> Dataset:
        """As :meth:`Task.load_data_for`, except that a user's labelled folder of scans is
        scored whole (``zoo eval glitch --data FOLDER``): every event is in the test split,
        unless the folder has its own train/validation/test subfolders; and a ``sim_seed``
        asks for the simulator, even for weights fitted on a file (simulated scans mixed with
        real ones), as OOD calibration on unseen simulated scans does."""
        if source is None and "sim_seed" in overrides:
            meta = dataclasses.replace(meta, data_source={**(meta.data_source or {}),
                                                          "simulated": True})
        if source is None or not Path(source).is_dir():
            return super().load_data_for(meta, source, seed, **overrides)
        options = {**self.data_options_for(meta.arch), **overrides}
        view = check_view(str(options.get("view", "single")), "--data-view")
        duration = check_duration(str(options.get("duration", self.default_duration)),
                                  "--data-duration")
        return read_scan_folder(source, view, CLASSES, duration, self.positive,
                                fractions=(0.0, 0.0, 1.0))

    def data_options_for(self, arch: str) -> dict[str, Any]:
        """The view an architecture reads (its recipe says "single" or "multiview")."""
        return {"view": str(get_architecture(self.name, arch).recipe.get("view", "single"))}

    def evaluate(self, split: Split, outputs: list[np.ndarray],
                 out_dir: Path | None = None) -> dict[str, Any]:
        """Accuracy, macro-F1, per-class recall, confusion matrix; Chirp ROC and chirps found."""
        from zoo.reports import classification_report, roc_plot

        report = classification_report(self, split, outputs, out_dir)
        probs = outputs[0]
        if probs.ndim == 2 and probs.shape[1] == len(CLASSES):
            report.update(present_class_scores(split.y, probs.argmax(axis=1)))
            chirp = CLASSES.index(CHIRP)
            is_chirp = np.asarray(split.y).astype(int) == chirp
            score = probs[:, chirp]
            found = probs.argmax(axis=1) == chirp
            if 0 < is_chirp.sum() < len(is_chirp):
                from sklearn.metrics import roc_auc_score

                report["roc_auc_chirp"] = float(roc_auc_score(is_chirp, score))
                if out_dir is not None:
                    roc_plot(is_chirp.astype(int), score, None, Path(out_dir) / "roc_chirp.png")
        else:
            is_chirp = np.asarray(split.y).astype(int).reshape(-1) == 1
            found = probs.reshape(-1) >= 0.5
        report.update(chirp_summary(split.ids, is_chirp, found))
        return report


def present_class_scores(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """Macro-F1 and recall over the classes the labels hold: a user's folder of real scans
    rarely has all 22, and classes it lacks would count as F1 = 0 in ``macro_f1`` and
    recall 0 (of nothing) in the per-class recall, which is replaced by theirs alone."""
    from sklearn.metrics import f1_score

    y = np.asarray(y).astype(int).reshape(-1)
    present = sorted(set(y.tolist()))
    return {"classes_present": len(present),
            "macro_f1_present": float(f1_score(y, pred, labels=present, average="macro",
                                               zero_division=0)),
            "per_class_recall": {CLASSES[c]: float((pred[y == c] == c).mean()) for c in present}}


def chirp_summary(ids: np.ndarray | None, is_chirp: np.ndarray,
                  found: np.ndarray) -> dict[str, Any]:
    """Seed 000's figure of merit: which Chirp IDs of the split the model finds."""
    names = np.asarray(ids if ids is not None else np.arange(len(is_chirp))).astype(str)
    return {"chirps_found": f"{int((is_chirp & found).sum())}/{int(is_chirp.sum())}",
            "chirp_ids_found": names[is_chirp & found].tolist(),
            "chirp_ids_missed": names[is_chirp & ~found].tolist(),
            "false_chirps": int((~is_chirp & found).sum())}


@register_task
class Glitch(GlitchTask):
    name = "glitch"
    kind = "classification"
    description = "Gravity Spy glitch classes (22) from Omega-scan spectrograms"
    classes = CLASSES
    recipe = Recipe(optimizer="adadelta", learning_rate=1.0, epochs=100, batch_size=32,
                    loss="sparse_categorical_crossentropy", metrics=("accuracy",),
                    monitor="val_loss", early_stopping_patience=10, seed=0)
    default_arch = "multiview"
    default_weights = "glitch-singleview"
    multiview_weights = "glitch-multiview"


@register_task
class GlitchChirp(GlitchTask):
    name = "glitch-chirp"
    kind = "binary"
    description = "Chirp (compact-binary inspiral) vs every other Gravity Spy class (seed 000)"
    classes = ("rest", CHIRP)
    positive = CHIRP
    default_duration = "0.5"  # seed 000 worked on the 0.5 s scans
    headline_metric = "roc_auc"
    recipe = Recipe(optimizer="rmsprop", learning_rate=1e-4, epochs=30, batch_size=32,
                    loss="binary_crossentropy", metrics=("accuracy",), monitor="val_loss",
                    early_stopping_patience=5, class_weight="balanced", seed=0)
    default_arch = "deep-cnn"
    default_weights = "glitch-chirp"

    def callbacks(self, data: Dataset, recipe: Recipe) -> list[Any]:
        return [*super().callbacks(data, recipe), threshold_callback(data.validation)]


def choose_threshold(y: np.ndarray, score: np.ndarray) -> float:
    """The score threshold maximising F1 on ``y`` (ties: the lowest, favouring recall)."""
    from sklearn.metrics import precision_recall_curve

    if y.sum() == 0:
        return 0.5
    precision, recall, thresholds = precision_recall_curve(y, score)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return float(thresholds[int(np.argmax(f1))])


def threshold_callback(validation: Split) -> Any:
    """At the end of training, pick the F1-optimal threshold t on the validation split and
    fold it into the output bias (logit -= logit(t)), so that 0.5 on the exported model's
    score is that operating point everywhere: ``zoo predict``, ``zoo eval`` and the ONNX file.
    The choice is the callback's ``weights_metadata["threshold"]``, which the training engine
    stores in the weights' metadata (the task itself keeps no state between runs).
    """
    import keras

    class ValidationThreshold(keras.callbacks.Callback):
        weights_metadata: dict[str, Any] = {}

        def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
            y = np.asarray(validation.y).astype(int).reshape(-1)
            score = np.asarray(self.model.predict(validation.x["image"], verbose=0)).reshape(-1)
            t = float(np.clip(choose_threshold(y, score), 1e-6, 1 - 1e-6))
            head = self.model.layers[-1]
            head.bias.assign(head.bias.numpy() - np.log(t / (1 - t)).astype(np.float32))
            self.weights_metadata = {"threshold": {
                "raw_threshold": t, "score_threshold": 0.5, "chosen_on": "validation (max F1)",
                "validation_chirps_found": f"{int(((score >= t) & (y == 1)).sum())}/{int(y.sum())}",
                "note": "folded into the output bias: score 0.5 = raw threshold"}}

    return ValidationThreshold()


from zoo.tasks.glitch import models as _models  # noqa: E402,F401  (registers architectures)
