"""Classical jet observables computed from jet images, and the baseline classifier on them.

They are computed from the images (each non-empty pixel a pseudo-constituent at the pixel
centre, carrying the pixel's pT fraction z_i), so the baseline works for every input format,
including image files that never had constituents:

* ``mass``: jet mass over jet pT, (m / pT)^2 = sum_{i<j} z_i z_j dR_ij^2 (small angles);
* ``girth``: width, sum_i z_i r_i with r_i the distance to the image centre (the jet axis);
* ``ptd``: pT_D = sqrt(sum_i z_i^2), high for hard fragmentation;
* ``multiplicity``: number of occupied pixels (the constituent multiplicity at the
  calorimeter's granularity).

The baseline is scikit-learn's histogram gradient boosting on these four numbers, fitted
with the per-jet weights on the train split; its per-jet scores are kept beside each split
so that the evaluation plots the model's and the baseline's ROC curves together.
"""

from __future__ import annotations

import numpy as np

from zoo.tasks.jet_quench.pixelise import EDGES

NAMES = ("mass", "girth", "ptd", "multiplicity")
_CENTRES = (EDGES[:-1] + EDGES[1:]) / 2


def observables(images: np.ndarray) -> np.ndarray:
    """(N, 33, 33, 2) images -> (N, 4) float32 observables in the order of ``NAMES``."""
    pt = images.sum(axis=-1).reshape(len(images), -1).astype(np.float64)
    total = pt.sum(axis=1, keepdims=True)
    z = np.divide(pt, total, out=np.zeros_like(pt), where=total > 0)
    u, v = np.meshgrid(_CENTRES, _CENTRES, indexing="ij")
    u, v = u.reshape(-1), v.reshape(-1)
    mean_u, mean_v = z @ u, z @ v
    # sum_{i<j} z_i z_j dR_ij^2 = sum_i z_i |r_i|^2 - |sum_i z_i r_i|^2  (for sum z = 1)
    mass2 = z @ (u * u + v * v) - mean_u ** 2 - mean_v ** 2
    girth = z @ np.hypot(u, v)
    ptd = np.sqrt((z * z).sum(axis=1))
    multiplicity = (pt > 0).sum(axis=1)
    return np.stack([np.sqrt(np.clip(mass2, 0, None)), girth, ptd, multiplicity],
                    axis=1).astype(np.float32)


def fit_baseline(features: np.ndarray, labels: np.ndarray, weights: np.ndarray | None,
                 seed: int):
    """Gradient-boosted trees on the observables (weighted), fitted on one split."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, max_leaf_nodes=15,
                                           early_stopping=False, random_state=seed)
    return model.fit(features, labels.astype(int).reshape(-1), sample_weight=weights)
