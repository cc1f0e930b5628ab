"""jet-quench: quenched vs vacuum jets from 33x33x2 calorimeter jet images (seed 001).

The seed (F. Cunha, IST 2020, after Apolinario et al., JHEP 2021) trained CNNs on simulated
jet images with binary cross-entropy, Nadam, per-jet physical weights as sample weights,
early stopping on validation ROC AUC (patience 10, at most 100 epochs) and Optuna searches;
its best validation AUC was about 0.72 (Inception, 2 modules, 3 towers).

Data come from a user's file (``formats.py``: images or constituents) or, by default, from
the built-in simulator (``simulator.py``), which writes the same HDF5 format and is read
back by the same reader. The classical baseline is gradient boosting on four jet
observables (``observables.py``); its per-jet scores travel with each split under
``x["baseline_score"]`` (not a model input) so the ROC plot shows both curves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InputError, ZooError
from zoo.registry import register_task
from zoo.task import Dataset, InputSpec, Recipe, Sample, Split, Task, option_types
from zoo.tasks.jet_quench import formats, observables, simulator
from zoo.tasks.jet_quench.pixelise import GRID, RADIUS

SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
BASELINE_METHOD = ("scikit-learn HistGradientBoosting on jet mass/pT, girth, pT_D and "
                   "multiplicity, computed from the images of the same (reconstructed, "
                   "pT-selected) jets the model sees, weighted, fitted on the train split "
                   "with the number of trees that maximises the validation ROC AUC")


@register_task
class JetQuench(Task):
    name = "jet-quench"
    kind = "binary"
    description = "Quenched (heavy-ion) vs vacuum jets from 33x33x2 calorimeter jet images"
    inputs = (InputSpec("image", (GRID, GRID, 2),
                        description="jet image: channel 0 charged pT, 1 neutral pT, sum 1"),)
    classes = ("vacuum", "quenched")
    preprocessing = "jetimage-33x33x2-centre-rotate-flip-ptnorm-v1"
    preprocessing_doc = (
        f"Constituents are centred on the pT-weighted centroid, rotated so the principal axis "
        f"lies along the rows, flipped so the harder halves lie at positive coordinates, and "
        f"binned on a {GRID}x{GRID} grid spanning +-{RADIUS} in (eta, phi) with charged pT in "
        "channel 0 and neutral pT in channel 1; every image is scaled to unit total pT."
    )
    data_sources = {
        "default": "built-in simulator (parton shower + hadronisation + medium; simulated)",
        "images": ".h5/.hdf5/.npz with images (N,33,33,2), labels, optional weights, split",
        "constituents": ".csv/.npz rows jet,pt,eta,phi,charge|pid,label[,weight,split]",
    }
    recipe = Recipe(optimizer="nadam", learning_rate=1e-3, epochs=100, batch_size=128,
                    loss="binary_crossentropy", metrics=("auc",), monitor="val_auc",
                    early_stopping_patience=10, seed=0)
    default_arch = "inception"
    default_weights = "jet-quench-inception"
    data_options = option_types(simulator.SimOptions)
    headline_metric = "roc_auc"
    reference = ("seed 001: best validation ROC AUC ~0.72 (Inception, 2 modules, 3 towers), "
                 "VGG 0.63-0.69, on JEWEL-like samples; see zoo/cards/jet-quench.md")

    # ---- inference ----------------------------------------------------------------------
    def samples(self, items: Iterable[str], options: Mapping[str, Any]) -> Iterator[Sample]:
        """One sample per jet of every file (HDF5 is only opened for its length)."""
        from zoo.io.files import expand_inputs

        for path in expand_inputs(items):
            text = str(path)
            try:
                count = formats.count_jets(text)
            except InputError:
                count = -1
            if count < 0:  # read() reports the problem for this item; the rest goes on
                yield Sample(key=text, sources=(text, "-1"))
                continue
            for i in range(count):
                yield Sample(key=f"{text}#{i}", sources=(text, str(i)))

    def read(self, sample: Sample, options: Mapping[str, Any]) -> dict[str, np.ndarray]:
        path, index = sample.sources[0], int(sample.sources[1])
        if index < 0:
            formats.count_jets(path)  # raises the file's own problem
            formats.read_any(path, need_labels=False)
        return {"image": formats.image_at(path, index)}

    def ood_features(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Jet observables and preprocessing checks (:func:`observables.ood_evidence`)."""
        return observables.ood_evidence(inputs["image"])

    # ---- training -----------------------------------------------------------------------
    def load_data(self, source: str | None, seed: int, **options: Any) -> Dataset:
        if source is None:
            opt = simulator.SimOptions.from_mapping(options)
            path = simulator.cached_sample(opt, seed)
            info: dict[str, Any] = {"type": "simulator", "simulated": True, "seed": seed,
                                    "generator": simulator.VERSION,
                                    "options": dataclasses.asdict(opt)}
        else:
            if options:
                raise ZooError(f"--data-* options ({', '.join(options)}) only apply to the "
                               "built-in simulator, not to --data files")
            path = Path(source)
            info = {"type": "file", "path": str(path), "simulated": _written_by_simulator(path)}
        jets = formats.read_any(path)
        labels = jets.labels
        assert labels is not None  # read_any refuses a file without labels
        if source is not None:
            from zoo.weights import sha256_file

            info["sha256"] = sha256_file(path)
        split = jets.split if jets.split is not None else _random_split(labels, seed)
        info.update(n_jets=int(len(labels)),
                    split="from the file's 'split' field" if jets.split is not None else
                    f"stratified random 70/15/15 (seed {seed})")
        feats = observables.observables(jets.images)
        parts = []
        for code, name in enumerate(formats.SPLITS):
            sel = np.flatnonzero(split == code)
            if len(sel) == 0 or len(np.unique(labels[sel])) < 2:
                raise InputError(str(path), f"field 'split': the {name} split needs jets of both "
                                            "classes")
            w = None if jets.weights is None else jets.weights[sel] / jets.weights[sel].mean()
            parts.append(Split({"image": jets.images[sel], "observables": feats[sel]},
                               labels[sel].astype(np.float32), w, ids=sel))
        train, validation, test = parts
        model = observables.fit_baseline(
            (train.x["observables"], train.y, train.weights),
            (validation.x["observables"], validation.y, validation.weights), seed)
        for part in parts:
            part.x["baseline_score"] = model.predict_proba(part.x["observables"])[:, 1]
        return Dataset(train, validation, test, source=info)

    def keras_metrics(self, recipe: Recipe) -> list[Any]:
        import keras

        return [keras.metrics.AUC(name="auc")]

    def evaluate(self, split: Split, outputs: list[np.ndarray], out_dir: Path | None = None
                 ) -> dict[str, Any]:
        """Weighted ROC AUC etc. of the model; ROC curves of model and baseline in one PNG."""
        from sklearn.metrics import roc_auc_score

        from zoo.reports import classification_report, roc_plot

        report = classification_report(self, split, outputs, out_dir)
        report["weighting"] = ("weighted by the per-jet physical weights (the confusion "
                               "matrix PNG too)" if split.weights is not None else "unweighted")
        score = outputs[0].reshape(-1)
        unweighted = {"roc_auc": float(roc_auc_score(split.y, score)),
                      "accuracy": float(np.mean((score >= 0.5) == (split.y > 0.5)))}
        extra = {}
        if "baseline_score" in split.x:
            base = split.x["baseline_score"]
            report["baseline_roc_auc"] = float(roc_auc_score(split.y, base,
                                                             sample_weight=split.weights))
            unweighted["baseline_roc_auc"] = float(roc_auc_score(split.y, base))
            report["lead_over_baseline"] = {
                "roc_auc": report["roc_auc"] - report["baseline_roc_auc"],
                "bootstrap_std": _lead_bootstrap_std(split.y, score, base, split.weights)}
            extra["baseline (GBDT on jet observables)"] = base
        if split.weights is not None:
            report["unweighted"] = unweighted
            if out_dir is not None:
                roc_plot(split.y.astype(int), score, split.weights, Path(out_dir) / "roc.png",
                         extra=extra)
        return report

    def baseline(self, data: Dataset) -> dict[str, Any]:
        from sklearn.metrics import accuracy_score, roc_auc_score

        test = data.test
        score = test.x["baseline_score"]
        return {"method": BASELINE_METHOD, "observables": list(observables.NAMES),
                "weighting": "weighted" if test.weights is not None else "unweighted",
                "roc_auc": float(roc_auc_score(test.y, score, sample_weight=test.weights)),
                "accuracy": float(accuracy_score(test.y, score >= 0.5,
                                                 sample_weight=test.weights)),
                "unweighted_roc_auc": float(roc_auc_score(test.y, score))}


def _lead_bootstrap_std(y: np.ndarray, score: np.ndarray, base: np.ndarray,
                        weights: np.ndarray | None, resamples: int = 200) -> float:
    """Spread of the model's ROC AUC minus the baseline's over bootstrap resamples of the jets.

    Both are scored on the same jets, so the spread says how precisely this one test sample
    measures the lead (about 0.007 for 6,000 weighted jets): a difference smaller than it is
    not a model's edge but the sample's luck.
    """
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    leads = []
    for _ in range(resamples):
        i = rng.integers(0, len(y), len(y))
        w = None if weights is None else weights[i]
        if len(np.unique(y[i])) == 2:
            leads.append(roc_auc_score(y[i], score[i], sample_weight=w)
                         - roc_auc_score(y[i], base[i], sample_weight=w))
    return float(np.std(leads))


def _random_split(labels: np.ndarray, seed: int) -> np.ndarray:
    """Stratified 70/15/15 split codes (0 train, 1 validation, 2 test)."""
    rng = np.random.default_rng(seed)
    codes = np.zeros(len(labels), dtype=np.int64)
    for label in (0, 1):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n_train = int(round(SPLIT_FRACTIONS[0] * len(idx)))
        n_val = int(round(SPLIT_FRACTIONS[1] * len(idx)))
        codes[idx[n_train:n_train + n_val]] = 1
        codes[idx[n_train + n_val:]] = 2
    return codes


def _written_by_simulator(path: Path) -> bool:
    """True for HDF5 files our simulator wrote (its attrs say so)."""
    if path.suffix not in (".h5", ".hdf5") or not path.is_file():  # a FIFO would block h5py
        return False
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return "generator" in h5.attrs
    except OSError:
        return False


from zoo.tasks.jet_quench import models  # noqa: E402,F401  (registers the architectures)
