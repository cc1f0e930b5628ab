"""cluster-mass: log10 M500 with an uncertainty from eROSITA-like 10-band X-ray images + z.

Seed 003's study as a task: a two-input CNN (image, redshift) trained with the Gaussian
negative log-likelihood (or MSE), against the classical estimate from total counts and
redshift through a fitted L_X-M relation. Data: the built-in simulator (default) or the
user's HDF5/NPZ catalogue through the same reader; prediction reads FITS cubes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InputError
from zoo.registry import register_task
from zoo.task import Dataset, InputSpec, OutputSpec, Recipe, Sample, Split, Task, option_types
from zoo.tasks.cluster_mass import calibration, evidence, formats, metrics, simulator
from zoo.tasks.cluster_mass import models as _models  # noqa: F401  (registers architectures)

Z_TRAINED = (0.05, 1.0)


@register_task
class ClusterMass(Task):
    name = "cluster-mass"
    kind = "regression"
    description = ("Galaxy-cluster mass log10 M500 with a predicted uncertainty from "
                   "eROSITA-like X-ray images (50x50 pixels, 10 energy bands) and redshift")
    inputs = (
        InputSpec("image", formats.IMAGE_SHAPE,
                  description="log(1 + photon counts), 16\" pixels, bands 0.2-8 keV"),
        InputSpec("redshift", (1,), description="cluster redshift"),
    )
    preprocessing = formats.PREPROCESSING
    outputs = (OutputSpec("log10_M500", "gaussian", 2,
                          "mean and natural-log standard deviation of log10 M500 [Msun]"),)
    preprocessing_doc = (
        "A FITS cube of photon counts, (10, 50, 50) or (50, 50, 10), 16 arcsec pixels, bands "
        "with edges 0.2,0.3,0.5,0.7,1.0,1.4,2.0,2.8,4.0,5.6,8.0 keV, is put bands-last and "
        "transformed to log(1 + counts); the redshift comes from --z or the REDSHIFT header."
    )
    data_sources = {
        "default": "built-in eROSITA-like simulator (zoo.tasks.cluster_mass.simulator), HDF5",
        "file": "HDF5/NPZ catalogue: images, redshift, log_mass, optional split",
    }
    recipe = Recipe(optimizer="adam", learning_rate=1e-3, lr_schedule="plateau", epochs=40,
                    batch_size=128, loss="gaussian_nll", metrics=(), monitor="val_loss",
                    early_stopping_patience=8, augmentation=("flip", "rot90"), seed=0)
    default_arch = "cnn"
    default_weights = "cluster-mass-cnn"
    headline_metric = "scatter_dex"
    headline_higher_is_better = False
    predict_options = {"z": float}
    data_options = option_types(simulator.SimOptions)
    reference = ("Seed 003: residual std ~0.20 dex (dropout 0.2, L2 1e-4). Ntampaka et al. 2019: "
                 "CNN 12% scatter vs 15-18% for core-excised L_X; Ho et al. 2023: 16-18%.")

    # ---- inference ------------------------------------------------------------------------
    def read(self, sample: Sample, options: Mapping[str, Any]) -> dict[str, Any]:
        path = sample.sources[0]
        counts, z = formats.read_fits_cluster(path, options.get("z"))
        out: dict[str, Any] = {"image": formats.preprocess(counts),
                               "redshift": np.array([z], np.float32), "_redshift": z}
        if not Z_TRAINED[0] <= z <= Z_TRAINED[1]:
            out["_note"] = f"z={z:g} outside the training range {Z_TRAINED[0]}-{Z_TRAINED[1]}"
        return out

    def decode(self, outputs: list[np.ndarray], top_k: int = 1,
               meta: Any = None) -> list[dict[str, Any]]:
        raw = np.asarray(outputs[0], np.float64).reshape(-1, 2)
        results = []
        for mu, log_sigma in raw:
            sigma = float(np.exp(np.clip(log_sigma, -7, 3)))
            results.append({"log10_M500": float(mu), "sigma_dex": sigma,
                            "M500_Msun": float(10.0**mu)})
        return results

    def ood_features(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Brightness, spectrum, shape, background and redshift (:mod:`.evidence`)."""
        return evidence.ood_evidence(inputs)

    def ood_output_features(self, outputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        """The predicted mass and log sigma: a mass far outside the training range, or a
        sigma unlike the training's, is evidence too."""
        raw = np.asarray(outputs[0], np.float64).reshape(-1, 2)
        return {"mu": raw[:, 0], "log_sigma": raw[:, 1]}

    # ---- training -------------------------------------------------------------------------
    def load_data(self, source: str | None, seed: int, **options: Any) -> Dataset:
        if source is None:
            opts = simulator.SimOptions.from_mapping(options)
            path = simulator.cached_catalogue(opts, seed)
            described = {"type": "simulator", "simulated": True, "seed": seed,
                         "generator": simulator.SIMULATOR_VERSION,
                         "options": {k: v for k, v in vars(opts).items()}}
            power = opts.mass_function_power
        else:
            if options:
                raise InputError(source, f"data options {', '.join(options)} only apply to the "
                                         "built-in simulator")
            path = Path(source)
            described = None
            power = 1.0  # a user's catalogue is taken as drawn from the prior it is used under
        catalogue = formats.read_catalogue(path)
        if described is None:
            from zoo.weights import sha256_file

            described = {"type": "file", "path": str(path), "sha256": sha256_file(path),
                         "simulated": bool(catalogue.attrs.get("generator")),
                         "n": len(catalogue)}
        return self._split(catalogue, seed, described, power)

    @staticmethod
    def _split(catalogue: formats.Catalogue, seed: int, source: dict[str, Any],
               power: float) -> Dataset:
        """The file's split column, or a seeded 80/10/10 split.

        Each split carries ``x["prior_weight"]`` (not a model input): the weight that takes a
        cluster from the mass function it was drawn from, (dn/dlogM)^power, to the physical
        one, so that ``evaluate`` reports figures under the physical prior for any sample.
        """
        n = len(catalogue)
        if catalogue.split is not None:
            codes = catalogue.split
            source["split"] = "from the file's split column"
        else:
            order = np.random.default_rng(seed).permutation(n)
            codes = np.empty(n, np.int64)
            n_test = n_val = max(1, n // 10)
            codes[order[:n_test]] = 2
            codes[order[n_test:n_test + n_val]] = 1
            codes[order[n_test + n_val:]] = 0
            source["split"] = f"seeded (seed {seed}) 80/10/10 train/validation/test"

        def part(code: int) -> Split:
            sel = np.flatnonzero(codes == code)
            if len(sel) == 0:
                raise InputError(source.get("path", "simulator"),
                                 f"split {formats.SPLIT_NAMES[code]!r} is empty")
            weight = metrics.physical_prior_weight(catalogue.log_mass[sel],
                                                   catalogue.redshift[sel], power)
            return Split({"image": catalogue.images[sel],
                          "redshift": catalogue.redshift[sel].reshape(-1, 1),
                          "prior_weight": weight},
                         catalogue.log_mass[sel], ids=sel)

        return Dataset(part(0), part(1), part(2), source=source)

    def loss(self, recipe: Recipe) -> Any:
        return _models.make_loss(recipe.loss)

    def keras_metrics(self, recipe: Recipe) -> list[Any]:
        return _models.make_metrics()

    def callbacks(self, data: Dataset, recipe: Recipe) -> list[Any]:
        """The sigma recalibration on the validation split, folded in when training ends."""
        return [calibration.calibration_callback(data.validation)]

    def fit_targets(self, split: Split) -> np.ndarray:
        return np.asarray(split.y, np.float32).reshape(-1, 1)

    def evaluate(self, split: Split, outputs: list[np.ndarray],
                 out_dir: Path | None = None) -> dict[str, Any]:
        raw = np.asarray(outputs[0], np.float64).reshape(-1, 2)
        mu, sigma = raw[:, 0], np.exp(np.clip(raw[:, 1], -7, 3))
        y = np.asarray(split.y, np.float64).reshape(-1)
        weight = split.x.get("prior_weight", np.ones_like(y))
        report = metrics.mass_report(y, mu, sigma)
        report["nll"] = float(np.mean(metrics.gaussian_nll(y, mu, np.log(sigma))))
        report["physical_prior"] = metrics.physical_prior_report(y, mu, sigma, weight)
        report["by_mass_bin"] = metrics.by_mass_bin(y, mu, sigma)
        pit = metrics.pit(y, mu, sigma)
        report["pit_histogram"] = [float(c) for c in np.histogram(
            pit, bins=metrics.PIT_BINS, range=(0, 1), weights=weight)[0] / np.sum(weight)]
        if out_dir is not None:
            metrics.scatter_plot(y, mu, sigma, Path(out_dir) / "mass_scatter.png")
            metrics.pit_plot(pit, weight, Path(out_dir) / "pit.png")
        return report

    def baseline(self, data: Dataset) -> dict[str, Any]:
        train, test = data.train, data.test
        fit = metrics.fit_lx_mass(train.x["image"], train.x["redshift"], train.y)
        mu, sigma = fit.predict(test.x["image"], test.x["redshift"])
        y = np.asarray(test.y, np.float64).reshape(-1)
        report = {"method": "inverted L_X-M relation, log M = a + b log10(net counts x D_L^2) "
                            "+ c log10 E(z), net counts inside R500 (local border background), "
                            "R500 iterated from the mass estimate; calibrated by least squares "
                            "on the train split with true-R500 apertures; sigma = intrinsic "
                            "(train) + Poisson error of the counts",
                  "lx_m_coefficients": [float(c) for c in fit.coef],
                  "intrinsic_scatter_dex": fit.intrinsic_dex}
        report.update(metrics.mass_report(y, mu, sigma))
        weight = test.x.get("prior_weight", np.ones_like(y))
        report["physical_prior"] = metrics.physical_prior_report(y, mu, sigma, weight)
        report["by_mass_bin"] = metrics.by_mass_bin(y, mu, sigma)
        return report
