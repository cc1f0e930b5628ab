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
#: The massive subset reported separately ("_M500>1e14").
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


#: Edges (log10 M500) of the 0.5 dex bins of ``by_mass_bin``.
MASS_BIN_EDGES = np.arange(physics.LOG_M_MIN, physics.LOG_M_MAX + 0.01, 0.5)
#: Bins of the PIT (probability integral transform) histogram.
PIT_BINS = 20


def pit(y: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Phi((y - mu) / sigma): uniform on [0, 1] when the predicted Gaussians are calibrated."""
    from scipy.special import ndtr

    return ndtr((np.asarray(y, np.float64) - mu) / np.maximum(sigma, 1e-6))


def physical_prior_weight(log_m: np.ndarray, z: np.ndarray, power: float) -> np.ndarray:
    """Importance weights (mean 1) from (dn/dlogM)^power to the mass function itself.

    n(M, z)^(1 - power) at each cluster's redshift; all ones for power = 1. Exact for the
    mass prior at fixed z; the redshift-dependent normalisation after the detection cut is
    neglected, so for power != 1 the figures are an approximation.
    """
    log_m = np.asarray(log_m, np.float64).reshape(-1)
    if power == 1.0:
        return np.ones_like(log_m)
    z = np.asarray(z, np.float64).reshape(-1)
    w = np.array([np.interp(m, *physics.mass_function(float(zi))) ** (1.0 - power)
                  for m, zi in zip(log_m, z, strict=True)])
    return w / w.mean()


def physical_prior_report(y: np.ndarray, mu: np.ndarray, sigma: np.ndarray,
                          weight: np.ndarray) -> dict[str, float]:
    """Bias, scatter and 1/2-sigma coverage under the physical mass function.

    ``weight`` re-weights each cluster from the prior it was drawn from to the unflattened
    mass function (all ones when the sample was drawn from it, the default).
    """
    y, mu, sigma, w = (np.asarray(a, np.float64).reshape(-1) for a in (y, mu, sigma, weight))
    w = w / w.sum()
    d = mu - y
    bias = float(w @ d)
    pull = np.abs(d) / np.maximum(sigma, 1e-6)
    return {"n": int(len(y)), "effective_n": float(1.0 / (w @ w)), "bias_dex": bias,
            "scatter_dex": float(np.sqrt(w @ (d - bias) ** 2)),
            "within_1sigma": float(w @ (pull <= 1)), "within_2sigma": float(w @ (pull <= 2))}


def by_mass_bin(y: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> dict[str, dict[str, Any]]:
    """Bias, scatter and 1-sigma coverage in 0.5 dex bins of true log M500 (key "13.0-13.5")."""
    y, mu, sigma = (np.asarray(a, np.float64).reshape(-1) for a in (y, mu, sigma))
    out: dict[str, dict[str, Any]] = {}
    for lo, hi in zip(MASS_BIN_EDGES[:-1], MASS_BIN_EDGES[1:], strict=True):
        sel = (y >= lo) & ((y < hi) if hi < MASS_BIN_EDGES[-1] else (y <= hi))
        if not sel.any():
            continue
        d = mu[sel] - y[sel]
        out[f"{lo:.1f}-{hi:.1f}"] = {
            "n": int(sel.sum()), "bias_dex": float(d.mean()), "scatter_dex": float(d.std()),
            "within_1sigma": float(np.mean(np.abs(d) <= sigma[sel]))}
    return out


def pit_plot(values: np.ndarray, weight: np.ndarray, path: Path,
             title: str = "cluster-mass: calibration (PIT) on the test split") -> None:
    """Histogram of PIT values (flat when sigma is calibrated) with its expected level."""
    from zoo.reports import _pyplot, save_figure

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(values, bins=PIT_BINS, range=(0, 1), weights=weight / weight.sum() * PIT_BINS,
            color="C0", alpha=0.8, label="test clusters (physical mass function)")
    ax.axhline(1.0, color="k", ls="--", lw=1, label="calibrated")
    ax.set(xlabel="PIT = Phi((true - mu) / sigma)", ylabel="density", title=title, xlim=(0, 1))
    ax.legend(loc="lower center")
    fig.tight_layout()
    save_figure(fig, path)


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


# ---- classical baseline: inverted luminosity-mass relation in an R500 aperture ---------------
#: Iterations of aperture -> mass -> R500 -> aperture (converges in a few for slopes < 2).
R500_ITERATIONS = 10


def border_level(log1p_images: np.ndarray, border: int = 5) -> np.ndarray:
    """Mean counts per pixel (all bands) in the outer ``border`` pixels of each image: the
    local background, which varies from image to image with the vignetting."""
    frame = np.ones(log1p_images.shape[1:3], bool)
    frame[border:-border, border:-border] = False
    out = np.empty(len(log1p_images))
    for start in range(0, len(log1p_images), 512):  # chunked: float64 copies stay small
        counts = np.expm1(log1p_images[start:start + 512].astype(np.float64))
        out[start:start + 512] = counts[:, frame, :].sum(axis=-1).mean(axis=1)
    return out


def _count_maps(log1p_images: np.ndarray) -> np.ndarray:
    """(N, npix, npix) counts summed over the bands."""
    return np.concatenate([np.expm1(log1p_images[i:i + 512].astype(np.float64)).sum(axis=-1)
                           for i in range(0, len(log1p_images), 512)])


def aperture_net_counts(maps: np.ndarray, background: np.ndarray, radius_px: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(net counts, background counts) within ``radius_px`` of each image centre."""
    npix = maps.shape[1]
    yy, xx = np.mgrid[:npix, :npix] + 0.5 - npix / 2
    r2 = (xx**2 + yy**2)[None]
    inside = r2 <= np.asarray(radius_px, np.float64).reshape(-1, 1, 1) ** 2
    area = inside.sum(axis=(1, 2))
    bkg = background * area
    return (maps * inside).sum(axis=(1, 2)) - bkg, bkg


def r500_px(log_m: np.ndarray, z: np.ndarray, pixel_arcsec: float = 16.0) -> np.ndarray:
    """R500c in pixels of a cluster of mass 10^log_m at redshift z."""
    rad = physics.r500_mpc(10.0 ** np.asarray(log_m), z) / physics.angular_diameter_distance(z)
    return rad * 206264.8 / pixel_arcsec


def design(net: np.ndarray, z: np.ndarray) -> np.ndarray:
    """[1, log10(net counts x D_L^2), log10 E(z)]: the L_X proxy (band and K-correction are
    absorbed by the fitted coefficients) and the self-similar evolution."""
    return np.column_stack([np.ones_like(z), np.log10(np.maximum(net, 1.0)
                                                      * physics.luminosity_distance(z) ** 2),
                            np.log10(physics.e_of_z(z))])


@dataclass
class LxMassFit:
    """Classical estimator as a survey analysis runs it: log M = a + b log L_X + c log E(z)
    with L_X from the net counts inside R500, and R500 iterated from the mass estimate.

    The relation is calibrated on the training split with apertures of the true R500 (a
    calibration sample with known masses), fitted as log M on log L so that it is free of
    inversion bias. sigma^2 = intrinsic^2 + the Poisson error of the counts, propagated.
    """

    coef: np.ndarray
    intrinsic_dex: float
    start_log_m: float

    def predict(self, log1p_images: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = np.asarray(z, np.float64).reshape(-1)
        maps, background = _count_maps(log1p_images), border_level(log1p_images)
        half = log1p_images.shape[1] / 2
        mu = np.full(len(z), self.start_log_m)
        for _ in range(R500_ITERATIONS):
            radius = np.clip(r500_px(mu, z), 2.0, half)
            net, bkg = aperture_net_counts(maps, background, radius)
            mu = design(net, z) @ self.coef
        return mu, np.sqrt(self.intrinsic_dex**2 + self._statistical(net, bkg) ** 2)

    def _statistical(self, net: np.ndarray, bkg: np.ndarray) -> np.ndarray:
        """Poisson error of log10(net counts) times the slope b, in dex."""
        net = np.maximum(net, 1.0)
        return abs(self.coef[1]) * np.sqrt(net + bkg) / net / LN10


def fit_lx_mass(log1p_images: np.ndarray, z: np.ndarray, log_m: np.ndarray) -> LxMassFit:
    """Least-squares calibration of the relation on a training split (true-R500 apertures)."""
    z = np.asarray(z, np.float64).reshape(-1)
    log_m = np.asarray(log_m, np.float64).reshape(-1)
    maps, background = _count_maps(log1p_images), border_level(log1p_images)
    radius = np.clip(r500_px(log_m, z), 2.0, log1p_images.shape[1] / 2)
    net, bkg = aperture_net_counts(maps, background, radius)
    x = design(net, z)
    coef, *_ = np.linalg.lstsq(x, log_m, rcond=None)
    fit = LxMassFit(coef, 0.0, float(np.median(log_m)))
    fit.intrinsic_dex = _intrinsic_scatter(x @ coef - log_m, fit._statistical(net, bkg))
    return fit


def _intrinsic_scatter(residual: np.ndarray, statistical: np.ndarray) -> float:
    """s with mean(residual^2 / (s^2 + statistical^2)) = 1 (bisection): the intrinsic scatter
    that makes the total sigma calibrated on the training split (at least 0.01 dex)."""
    def pull2(s: float) -> float:
        return float(np.mean(residual**2 / (s * s + statistical**2 + 1e-12)))

    lo, hi = 0.01, float(np.sqrt(np.mean(residual**2))) + 0.01
    if pull2(lo) <= 1.0:
        return lo
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if pull2(mid) > 1.0 else (lo, mid)
    return 0.5 * (lo + hi)
