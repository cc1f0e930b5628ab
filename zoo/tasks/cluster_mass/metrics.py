"""Mass-estimate figures (numpy only): bias, scatter, sigma calibration, the count baseline.

Every estimate is (mu, sigma) in dex of M500. Scatter in % of M is ln(10) x scatter in dex,
the usual fractional-scatter convention (Ntampaka et al. 2019 quote it that way).
"""

from __future__ import annotations

from dataclasses import dataclass
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
#: Detection threshold of the classical method: net counts above 5 sigma of the background.
DETECTION_SNR = 5.0


def border_level(log1p_images: np.ndarray, border: int = 5) -> np.ndarray:
    """Mean counts per pixel (all bands) in the outer ``border`` pixels of each image."""
    frame = np.ones(log1p_images.shape[1:3], bool)
    frame[border:-border, border:-border] = False
    out = np.empty(len(log1p_images))
    for start in range(0, len(log1p_images), 512):  # chunked: float64 copies stay small
        counts = np.expm1(log1p_images[start:start + 512].astype(np.float64))
        out[start:start + 512] = counts[:, frame, :].sum(axis=-1).mean(axis=1)
    return out


#: Radius (pixels, 16" each) of the counting aperture: 2.7', about R500 of a 1e14 M_sun
#: cluster at z = 0.3; a fixed aperture keeps the estimator independent of the unknown mass.
APERTURE_PX = 10.0


def aperture_mask(npix: int) -> np.ndarray:
    yy, xx = np.mgrid[:npix, :npix] + 0.5 - npix / 2
    return xx**2 + yy**2 <= APERTURE_PX**2


def aperture_counts(log1p_images: np.ndarray) -> np.ndarray:
    """Counts (all bands) within APERTURE_PX of the image centre, per image."""
    mask = aperture_mask(log1p_images.shape[1])
    out = np.empty(len(log1p_images))
    for start in range(0, len(log1p_images), 512):
        counts = np.expm1(log1p_images[start:start + 512].astype(np.float64))
        out[start:start + 512] = counts[:, mask, :].sum(axis=(1, 2))
    return out


def features(log1p_images: np.ndarray, z: np.ndarray,
             background_per_pixel: float) -> tuple[np.ndarray, np.ndarray]:
    """(design matrix [1, log L proxy, log E(z), log D_L], detected mask).

    Net counts = aperture counts - background x aperture pixels; L proxy = net counts x D_L^2, luminosity up
    to constants (band and K-correction are absorbed by the fitted coefficients).
    """
    z = np.asarray(z, np.float64).reshape(-1)
    background = background_per_pixel * aperture_mask(log1p_images.shape[1]).sum()
    net = aperture_counts(log1p_images) - background
    detected = net > DETECTION_SNR * np.sqrt(max(background, 1.0))
    d_l = physics.luminosity_distance(z)
    design = np.column_stack([np.ones_like(z), np.log10(np.maximum(net, 1.0) * d_l**2),
                              np.log10(physics.e_of_z(z)), np.log10(d_l)])
    return design, detected


@dataclass
class LxMassFit:
    """Classical estimator: for detected clusters log M = a + b log L_X + c log E(z) (the
    inverted L_X-M relation, fitted as log M on log L so it is not biased by inversion); for
    undetected ones a distance-limited mean, log M = a' + c' log E(z) + d' log D_L."""

    background_per_pixel: float
    detected_coef: np.ndarray
    undetected_coef: np.ndarray
    detected_rms: float
    undetected_rms: float

    def predict(self, log1p_images: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        design, detected = features(log1p_images, z, self.background_per_pixel)
        mu = np.where(detected, design[:, :3] @ self.detected_coef,
                      design[:, [0, 2, 3]] @ self.undetected_coef)
        sigma = np.where(detected, self.detected_rms, self.undetected_rms)
        return mu, sigma


def fit_lx_mass(log1p_images: np.ndarray, z: np.ndarray, log_m: np.ndarray) -> LxMassFit:
    """Least-squares fits of both regimes on a training split.

    The background level is the median border level of the training images, i.e. a fixed
    background model, as a survey analysis has; a per-image border would be contaminated by
    nearby massive clusters that fill the field.
    """
    background = float(np.median(border_level(log1p_images)))
    design, detected = features(log1p_images, z, background)
    log_m = np.asarray(log_m, np.float64).reshape(-1)

    def lstsq(cols: list[int], sel: np.ndarray) -> tuple[np.ndarray, float]:
        if sel.sum() < len(cols) + 1:  # too few to fit: the mean of everything
            return np.array([log_m.mean()] + [0.0] * (len(cols) - 1)), float(log_m.std())
        coef, *_ = np.linalg.lstsq(design[sel][:, cols], log_m[sel], rcond=None)
        return coef, float(np.std(design[sel][:, cols] @ coef - log_m[sel]))

    det_coef, det_rms = lstsq([0, 1, 2], detected)
    und_coef, und_rms = lstsq([0, 2, 3], ~detected)
    return LxMassFit(background, det_coef, und_coef, det_rms, und_rms)
