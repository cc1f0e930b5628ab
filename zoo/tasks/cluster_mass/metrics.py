"""Mass-estimate figures (numpy only): bias, scatter, sigma calibration, the count baseline.

Every estimate is (mu, sigma) in dex of M500. Scatter in % of M is ln(10) x scatter in dex,
the usual fractional-scatter convention (Ntampaka et al. 2019 quote it that way).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zoo.tasks.cluster_mass import physics

LN10 = float(np.log(10.0))
#: Subset with detectable emission in most images, where the image carries mass information.
MASSIVE_LOG_M = 14.0


def gaussian_nll(y: np.ndarray, mu: np.ndarray, log_sigma: np.ndarray) -> np.ndarray:
    """Per-sample -log N(y | mu, exp(log_sigma)^2), the seed's "log loss"."""
    return 0.5 * ((y - mu) / np.exp(log_sigma)) ** 2 + log_sigma + 0.5 * np.log(2 * np.pi)


def mass_report(y: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> dict[str, Any]:
    """Bias, scatter (dex, %), RMSE and 1/2-sigma coverage, overall and for M >= 1e14."""
    y, mu, sigma = (np.asarray(a, np.float64).reshape(-1) for a in (y, mu, sigma))

    def figures(sel: np.ndarray, suffix: str) -> dict[str, Any]:
        if not sel.any():
            return {}
        d = mu[sel] - y[sel]
        pull = np.abs(d) / np.maximum(sigma[sel], 1e-6)
        return {
            f"n{suffix}": int(sel.sum()),
            f"bias_dex{suffix}": float(d.mean()),
            f"scatter_dex{suffix}": float(d.std()),
            f"scatter_pct{suffix}": float(100 * LN10 * d.std()),
            f"rmse_dex{suffix}": float(np.sqrt(np.mean(d * d))),
            f"within_1sigma{suffix}": float(np.mean(pull <= 1)),
            f"within_2sigma{suffix}": float(np.mean(pull <= 2)),
        }

    report = figures(np.ones_like(y, bool), "")
    report["mean_sigma_dex"] = float(sigma.mean())
    report.update(figures(y >= MASSIVE_LOG_M, "_M500>1e14"))
    return report


def scatter_plot(y: np.ndarray, mu: np.ndarray, sigma: np.ndarray, path: Path,
                 title: str = "cluster-mass: held-out test split") -> None:
    """Predicted vs true log M500 (coloured by predicted sigma) and residuals vs true mass."""
    from zoo.reports import _pyplot, save_figure

    plt = _pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.6))
    lo, hi = float(min(y.min(), mu.min())) - 0.05, float(max(y.max(), mu.max())) + 0.05
    points = ax.scatter(y, mu, c=sigma, s=5, cmap="viridis", alpha=0.7)
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="true log10 M500 [M_sun]",
           ylabel="predicted log10 M500", title=title)
    fig.colorbar(points, ax=ax, label="predicted sigma [dex]")
    edges = np.linspace(physics.LOG_M_MIN, physics.LOG_M_MAX, 9)
    centres = 0.5 * (edges[1:] + edges[:-1])
    d = mu - y
    idx = np.digitize(y, edges) - 1
    stats = [(d[idx == i].mean(), d[idx == i].std(), sigma[idx == i].mean()) if np.any(idx == i)
             else (np.nan, np.nan, np.nan) for i in range(len(centres))]
    bias, spread, mean_sigma = (np.array(s) for s in zip(*stats, strict=True))
    bx.scatter(y, d, s=3, alpha=0.3, color="grey")
    bx.errorbar(centres, bias, yerr=spread, fmt="o-", color="C3", label="bias +- scatter")
    bx.plot(centres, mean_sigma, "s--", color="C0", label="mean predicted sigma")
    bx.axhline(0, color="k", lw=1)
    bx.set(xlabel="true log10 M500 [M_sun]", ylabel="predicted - true [dex]",
           title="residuals by mass")
    bx.legend()
    fig.tight_layout()
    save_figure(fig, path)


# ---- classical baseline: inverted luminosity-mass relation -----------------------------------
def net_counts(log1p_images: np.ndarray, border: int = 5) -> np.ndarray:
    """Total counts minus the background level of the outer ``border`` pixels, per image."""
    frame = np.ones(log1p_images.shape[1:3], bool)
    frame[border:-border, border:-border] = False
    out = np.empty(len(log1p_images))
    for start in range(0, len(log1p_images), 512):  # chunked: float64 copies stay small
        counts = np.expm1(log1p_images[start:start + 512].astype(np.float64))
        background = counts[:, frame, :].sum(axis=-1).mean(axis=1) * frame.size
        out[start:start + 512] = counts.sum(axis=(1, 2, 3)) - background
    return out


def _design(log1p_images: np.ndarray, z: np.ndarray) -> np.ndarray:
    """[1, log counts D_L^2 (luminosity up to constants), log E(z)]: a power-law L_X-M-z fit."""
    z = np.asarray(z, np.float64).reshape(-1)
    lum = np.maximum(net_counts(log1p_images), 1.0) * physics.luminosity_distance(z) ** 2
    return np.column_stack([np.ones_like(z), np.log10(lum), np.log10(physics.e_of_z(z))])


def fit_lx_mass(log1p_images: np.ndarray, z: np.ndarray, log_m: np.ndarray
                ) -> tuple[np.ndarray, float]:
    """Least-squares log M = a + b log L_X + c log E(z) on a training split; (coef, rms)."""
    design = _design(log1p_images, z)
    coef, *_ = np.linalg.lstsq(design, np.asarray(log_m, np.float64), rcond=None)
    rms = float(np.std(design @ coef - log_m))
    return coef, rms


def predict_lx_mass(coef: np.ndarray, log1p_images: np.ndarray, z: np.ndarray) -> np.ndarray:
    return _design(log1p_images, z) @ coef
