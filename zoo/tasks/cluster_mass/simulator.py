"""Built-in eROSITA-like cluster simulator: one more producer of the HDF5 catalogue format.

Each cluster: (z, M500c) from a flat redshift prior and the Tinker et al. (2008) mass
function for 500 rho_c(z) (the true abundance by default; a power < 1 flattens it) -> T
(self-similar) and L_bol (observed slope 1.8 by default) with log-normal scatter ->
beta-model surface brightness (core radius tied to R500, ellipticity, centroid offset, and
for 40% of clusters a compact cool core at half the temperature) -> bremsstrahlung + line
emission in ten bands through an eROSITA-like effective area -> a survey-like detection
cut on the cluster's 0.5-2 keV counts (undetected clusters are redrawn, so the catalogue is
what a survey would list) -> AGN (field log N-log S plus an occasional central AGN) ->
vignetting at a random off-axis position -> Gaussian PSF -> sky + particle background ->
Poisson counts.

Determinism: clusters are made in fixed chunks, each from its own ``SeedSequence`` child,
so the catalogue depends only on ``seed`` and the options, never on the worker count.
Every parameter is documented in zoo/cards/cluster-mass.md ("Simulator parameters").
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import InputError
from zoo.tasks.cluster_mass import physics
from zoo.tasks.cluster_mass.formats import CatalogueWriter

SIMULATOR_VERSION = "cluster-mass-sim-v2"
CHUNK = 200


@dataclass(frozen=True)
class SimOptions:
    """Everything that shapes a simulated catalogue (stored in the weights' data source)."""

    n: int = 12000  # number of clusters
    z_min: float = 0.05
    z_max: float = 1.0
    mass_function_power: float = 1.0  # 1 = Tinker+08 abundance (the survey prior); < 1 flattens
    lx_m_slope: float = physics.OBSERVED_SLOPE_L  # 4/3 is self-similar
    lx_m_scatter_ln: float = 0.25
    line_emission: float = 1.0  # scale of the line fraction of cool plasma; 0 = continuum only
    max_offaxis_arcmin: float = 15.0  # cluster uniform in this disk of the FoV; 0 = on axis
    detect_min_counts: float = 50.0  # cluster counts (0.5-2 keV) to enter the catalogue; 0 = all
    exposure_s: float = 2000.0  # vignetting-corrected exposure, eFEDS-like depth
    pixel_arcsec: float = 16.0
    npix: int = 50
    psf_fwhm_arcsec: float = 30.0  # eROSITA survey-averaged PSF (HEW ~ 26-30")
    cool_core_fraction: float = 0.4  # Andrade-Santos et al. 2017
    central_agn_fraction: float = 0.1
    centroid_sigma_px: float = 1.5

    @classmethod
    def from_mapping(cls, options: dict[str, Any]) -> SimOptions:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise InputError("simulator", f"unknown option(s) {', '.join(unknown)}; valid: "
                             f"{', '.join(known)}")
        typed: dict[str, Any] = {k: (int(v) if known[k].type in ("int", int) else float(v))
                 for k, v in options.items()}
        opts = cls(**typed)
        if opts.n < 10:
            raise InputError("simulator", f"n={opts.n}: need at least 10 clusters")
        if not 0 < opts.z_min < opts.z_max <= 3:
            raise InputError("simulator",
                             f"redshift range {opts.z_min}-{opts.z_max} must lie in (0, 3]")
        return opts


def _beta_fraction_map(opts: SimOptions, center: np.ndarray, rc_px: float, beta: float,
                       q: float, angle: float, rmax_px: float) -> np.ndarray:
    """Fraction of an elliptical beta model's flux falling in each pixel (4x4 supersampled).

    Sigma(R) ~ (1 + R^2/rc^2)^(1/2 - 3 beta), normalised analytically out to ``rmax_px``.
    """
    sub = 4
    coords = (np.arange(opts.npix * sub) + 0.5) / sub - opts.npix / 2
    yy, xx = np.meshgrid(coords - center[0], coords - center[1], indexing="ij")
    cos, sin = np.cos(angle), np.sin(angle)
    u, v = cos * xx + sin * yy, (-sin * xx + cos * yy) / q
    profile = (1 + (u * u + v * v) / rc_px**2) ** (0.5 - 3 * beta)
    p = 1.5 - 3 * beta
    total = np.pi * rc_px**2 * q * ((1 + (rmax_px / rc_px) ** 2) ** p - 1) / p
    per_pixel = profile.reshape(opts.npix, sub, opts.npix, sub).mean(axis=(1, 3))
    return per_pixel / total


def _point_sources(opts: SimOptions, rng: np.random.Generator) -> list[tuple[float, float, float]]:
    """Field AGN (x, y, 0.5-2 keV flux): broken power-law log N-log S, 100 deg^-2 above
    1e-14 erg/s/cm^2, slope 1.5 above and 0.6 below that break, down to 2e-15."""
    area_deg2 = (opts.npix * opts.pixel_arcsec / 3600) ** 2
    s_b, s_min, k_b = 1e-14, 2e-15, 100.0
    n_bright = rng.poisson(k_b * area_deg2)
    n_faint = rng.poisson(k_b * ((s_min / s_b) ** -0.6 - 1) * area_deg2)
    bright = s_b * rng.random(n_bright) ** (-1 / 1.5)
    faint = (s_b**-0.6 + rng.random(n_faint) * (s_min**-0.6 - s_b**-0.6)) ** (-1 / 0.6)
    flux = np.concatenate([bright, faint])
    pos = rng.random((len(flux), 2)) * opts.npix
    return [(float(x), float(y), float(f)) for (x, y), f in zip(pos, flux, strict=True)]


#: Bands 2-5 span 0.5-2 keV, the detection band of eROSITA cluster surveys.
DETECTION_BANDS = slice(2, 6)


def simulate_cluster(opts: SimOptions, rng: np.random.Generator, z: float | None = None,
                     log_m: float | None = None) -> tuple[np.ndarray, dict[str, float]] | None:
    """One cluster: Poisson counts (npix, npix, 10) as int32 and its true parameters.

    ``z`` and ``log_m`` pin the redshift and mass (for studies at fixed z or M); by default
    both are drawn from the priors. None when the cluster fails the detection cut: its
    0.5-2 keV counts, a Poisson draw of the vignetted cluster emission in the image, fall
    below ``detect_min_counts`` (eFEDS-like extent selection needs some tens of counts,
    Brunner et al. 2022, Liu et al. 2022).
    """
    from scipy.ndimage import gaussian_filter

    drawn_z = float(rng.uniform(opts.z_min, opts.z_max))
    z = drawn_z if z is None else float(z)
    drawn_m = physics.sample_log_mass(z, rng, opts.mass_function_power)
    log_m = drawn_m if log_m is None else float(log_m)
    mass = 10.0**log_m
    relations = physics.ScalingRelations(slope_l=opts.lx_m_slope,
                                         scatter_ln_l=opts.lx_m_scatter_ln)
    kt = relations.temperature(mass, z, rng)
    lum = relations.luminosity(mass, z, rng)
    r500_px = float(physics.r500_mpc(mass, z) / physics.angular_diameter_distance(z)) \
        * 206264.8 / opts.pixel_arcsec
    center = np.clip(rng.normal(0.0, opts.centroid_sigma_px, 2), -5, 5)
    q, angle = float(rng.uniform(0.6, 1.0)), float(rng.uniform(0, np.pi))
    beta = float(np.clip(rng.normal(2 / 3, 0.06), 0.55, 0.85))
    x_core = 0.18 * float(np.exp(0.3 * rng.standard_normal()))  # r_c / R500
    # Optical axis: the image centre lies uniformly in a disk of radius max_offaxis_arcmin.
    phase = 2 * np.pi * rng.random()
    axis = opts.max_offaxis_arcmin * np.sqrt(rng.random()) * np.array([np.sin(phase),
                                                                       np.cos(phase)])
    pix = (np.arange(opts.npix) + 0.5 - opts.npix / 2) * opts.pixel_arcsec / 60
    offaxis = np.hypot(pix[:, None] + axis[0], pix[None, :] + axis[1])
    vignetted = physics.vignetting(offaxis)  # (npix, npix, bands)

    def component(lum_c: float, kt_c: float, x_c: float) -> np.ndarray:
        rc_px = max(0.5, x_c * r500_px)
        frac = _beta_fraction_map(opts, center, rc_px, beta, q, angle, 5 * r500_px)
        counts = physics.thermal_rates(lum_c, kt_c, z, opts.line_emission) * opts.exposure_s
        return frac[..., None] * counts[None, None, :] * vignetted

    expected = component(lum, kt, x_core)
    cool_core = bool(rng.random() < opts.cool_core_fraction)
    lum_cc = 0.0
    if cool_core:
        lum_cc = lum * 0.5 * float(np.exp(0.5 * rng.standard_normal()))
        expected += component(lum_cc, 0.5 * kt, 0.04 * float(np.exp(0.3 * rng.standard_normal())))
    detection_counts = int(rng.poisson(expected[..., DETECTION_BANDS].sum()))
    if detection_counts < opts.detect_min_counts:
        return None

    sources = _point_sources(opts, rng)
    if rng.random() < opts.central_agn_fraction:
        lum_agn = 3e42 * float(np.exp(rng.standard_normal()))
        flux = lum_agn / (4 * np.pi * (float(physics.luminosity_distance(z)) * physics.MPC_CM) ** 2)
        mid = opts.npix / 2
        sources.append((mid + center[1], mid + center[0], flux))
    for x, y, flux in sources:
        gamma = float(rng.normal(1.9, 0.2))
        col, row = min(int(x), opts.npix - 1), min(int(y), opts.npix - 1)
        expected[row, col] += physics.power_law_rates(flux, gamma) * opts.exposure_s \
            * vignetted[row, col]

    sigma_px = opts.psf_fwhm_arcsec / opts.pixel_arcsec / 2.3548
    expected = gaussian_filter(expected, sigma=(sigma_px, sigma_px, 0), mode="constant")
    arcmin2 = (opts.pixel_arcsec / 60) ** 2
    background = (physics.sky_background_rates(arcmin2)[None, None, :] * vignetted
                  + physics.particle_background_rates(arcmin2)) * opts.exposure_s
    counts = rng.poisson(expected + background).astype(np.int32)
    truth = {"kT_keV": kt, "L_bol": lum + lum_cc, "cool_core": float(cool_core),
             "n_agn": float(len(sources)), "r500_px": r500_px,
             "offaxis_arcmin": float(np.hypot(*axis)), "detection_counts": float(detection_counts)}
    return counts, {"redshift": z, "log_mass": log_m, **truth}


def simulate_chunk(opts: SimOptions, seed: np.random.SeedSequence,
                   count: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``count`` clusters from one seed-sequence child (the unit of parallel work)."""
    rng = np.random.default_rng(seed)
    images = np.empty((count, opts.npix, opts.npix, len(physics.BAND_EDGES) - 1), np.int32)
    columns: dict[str, list[float]] = {}
    for i in range(count):
        cluster = None
        while cluster is None:  # undetected clusters are redrawn: the survey never lists them
            cluster = simulate_cluster(opts, rng)
        images[i], params = cluster
        for key, value in params.items():
            columns.setdefault(key, []).append(value)
    return images, {k: np.asarray(v) for k, v in columns.items()}


def _chunks(opts: SimOptions, seed: int) -> list[tuple[np.random.SeedSequence, int]]:
    children = np.random.SeedSequence(seed).spawn(-(-opts.n // CHUNK))
    return [(child, min(CHUNK, opts.n - i * CHUNK)) for i, child in enumerate(children)]


def iter_simulate(opts: SimOptions, seed: int, workers: int = 2
                  ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Chunks of the catalogue in order, made by ``workers`` processes.

    Workers are forked: a spawned worker would re-run a caller's unguarded script, and the
    children only run numpy/scipy, never TensorFlow, so forking a Keras process is safe.
    """
    jobs = _chunks(opts, seed)
    if workers <= 1:
        for child, count in jobs:
            yield simulate_chunk(opts, child, count)
        return
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        yield from pool.map(simulate_chunk, [opts] * len(jobs), *zip(*jobs, strict=True))


def cache_dir() -> Path:
    return Path(os.environ.get("ZOO_CACHE") or Path.home() / ".cache" / "zoo") / "cluster-mass"


def catalogue_path(opts: SimOptions, seed: int) -> Path:
    key = json.dumps({"version": SIMULATOR_VERSION, "seed": seed, **asdict(opts)}, sort_keys=True)
    return cache_dir() / f"sim-{hashlib.sha256(key.encode()).hexdigest()[:16]}.h5"


def write_catalogue(opts: SimOptions, seed: int, path: str | Path, workers: int = 2) -> Path:
    """Simulate and write the HDF5 catalogue atomically (chunk by chunk, bounded memory)."""
    with CatalogueWriter(path, attrs={"generator": SIMULATOR_VERSION, "seed": seed,
                                      "options": json.dumps(asdict(opts))}) as writer:
        for images, params in iter_simulate(opts, seed, workers):
            writer.append(images, params.pop("redshift"), params.pop("log_mass"), extra=params)
    return Path(path)


def cached_catalogue(opts: SimOptions, seed: int, workers: int = 2) -> Path:
    """Path of the simulated catalogue for (options, seed), simulating it on first use."""
    path = catalogue_path(opts, seed)
    if not path.exists():
        write_catalogue(opts, seed, path, workers)
    return path
