"""Physics behind the cluster-mass simulator: cosmology, mass function, scaling relations, spectra.

Every number here is a documented, literature-grounded choice (see zoo/cards/cluster-mass.md,
"Simulator parameters"); nothing is fitted to make the network look good. Units: masses are
M500c in M_sun, distances in Mpc, energies in keV, luminosities in erg/s, h = 0.7 throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

# ---- cosmology: flat LCDM, Planck-like round numbers ---------------------------------------
H0 = 70.0  # km/s/Mpc
H = H0 / 100.0
OMEGA_M = 0.3
OMEGA_L = 0.7
SIGMA_8 = 0.81  # Planck 2018: 0.811
N_S = 0.965  # Planck 2018 spectral index
C_KM_S = 299_792.458
MPC_CM = 3.0857e24
KEV_ERG = 1.602177e-9
RHO_CRIT0 = 2.775e11 * H**2  # M_sun / Mpc^3

_Z_GRID = np.linspace(0.0, 3.0, 3001)


def e_of_z(z: np.ndarray | float) -> np.ndarray:
    """Dimensionless Hubble rate E(z) = H(z)/H0 of flat LCDM."""
    z = np.asarray(z, dtype=np.float64)
    return np.sqrt(OMEGA_M * (1 + z) ** 3 + OMEGA_L)


def _comoving_table() -> np.ndarray:
    inv = 1.0 / e_of_z(_Z_GRID)
    steps = 0.5 * (inv[1:] + inv[:-1]) * np.diff(_Z_GRID)
    return C_KM_S / H0 * np.concatenate([[0.0], np.cumsum(steps)])


_D_C = _comoving_table()


def comoving_distance(z: np.ndarray | float) -> np.ndarray:
    """Line-of-sight comoving distance in Mpc (trapezoid integral tabulated to z = 3)."""
    return np.interp(np.asarray(z, dtype=np.float64), _Z_GRID, _D_C)


def angular_diameter_distance(z: np.ndarray | float) -> np.ndarray:
    return comoving_distance(z) / (1 + np.asarray(z, dtype=np.float64))


def luminosity_distance(z: np.ndarray | float) -> np.ndarray:
    return comoving_distance(z) * (1 + np.asarray(z, dtype=np.float64))


def r500_mpc(mass: np.ndarray | float, z: np.ndarray | float) -> np.ndarray:
    """R500c: radius enclosing 500 times the critical density at z."""
    rho = RHO_CRIT0 * e_of_z(z) ** 2
    return np.cbrt(3.0 * np.asarray(mass, dtype=np.float64) / (4.0 * np.pi * 500.0 * rho))


# ---- halo mass function: Tinker et al. 2008 with a BBKS power spectrum ----------------------
#: Tinker et al. (2008) Table 2: (Delta w.r.t. the mean density, A, a, b, c); the fit is
#: interpolated in log Delta, as the paper prescribes for other overdensities.
TINKER_TABLE = np.array([
    [200, 0.186, 1.47, 2.57, 1.19], [300, 0.200, 1.52, 2.25, 1.27],
    [400, 0.212, 1.56, 2.05, 1.34], [600, 0.218, 1.61, 1.87, 1.45],
    [800, 0.248, 1.87, 1.59, 1.58], [1200, 0.255, 2.13, 1.51, 1.80],
    [1600, 0.260, 2.30, 1.46, 1.97], [2400, 0.260, 2.53, 1.44, 2.24],
    [3200, 0.260, 2.66, 1.41, 2.44],
])
#: Masses are M500c: 500 x the critical density at the cluster's own redshift.
DELTA_CRIT = 500.0
LOG_M_MIN, LOG_M_MAX = 13.0, 15.0
_LOGM_GRID = np.linspace(LOG_M_MIN, LOG_M_MAX, 241)


def delta_mean(z: float) -> float:
    """500 rho_c(z) expressed in units of the mean matter density at z: 500 / Omega_m(z).

    Omega_m(z) comes from astropy.cosmology (``_astropy_cosmology``). It is 1667 at z = 0
    and 646 at z = 1.
    """
    return DELTA_CRIT / float(_astropy_cosmology().Om(z))


@cache
def _astropy_cosmology():  # type: ignore[no-untyped-def]
    """The same flat LCDM in astropy, built on first use (prediction never needs it)."""
    from astropy.cosmology import FlatLambdaCDM

    return FlatLambdaCDM(H0=H0, Om0=OMEGA_M)


def tinker_parameters(delta: float) -> dict[str, float]:
    """A, a, b, c of Tinker et al. (2008) at overdensity ``delta`` (mean density units)."""
    log_delta = np.log10(TINKER_TABLE[:, 0])
    return {name: float(np.interp(np.log10(delta), log_delta, TINKER_TABLE[:, col]))
            for col, name in enumerate("Aabc", start=1)}


def _sigma_of_mass(log_m: np.ndarray) -> np.ndarray:
    """rms linear density fluctuation in top-hat spheres of mass M at z = 0 (sigma_8 normed).

    BBKS transfer function (Bardeen et al. 1986) with shape parameter Gamma = Omega_m h.
    """
    k = np.logspace(-4, 2, 3000)  # 1/Mpc
    q = k / (OMEGA_M * H**2)
    transfer = np.log1p(2.34 * q) / (2.34 * q) * (
        1 + 3.89 * q + (16.1 * q) ** 2 + (5.46 * q) ** 3 + (6.71 * q) ** 4) ** -0.25
    power = k**N_S * transfer**2
    rho_m = OMEGA_M * RHO_CRIT0

    def sigma_r(radius: np.ndarray) -> np.ndarray:
        x = np.outer(radius, k)
        window = 3 * (np.sin(x) - x * np.cos(x)) / x**3
        integrand = power * window**2 * k**3 / (2 * np.pi**2)
        return np.sqrt(np.trapezoid(integrand, np.log(k), axis=1))

    norm = SIGMA_8 / sigma_r(np.array([8.0 / H]))[0]
    radius = np.cbrt(3 * 10.0**log_m / (4 * np.pi * rho_m))
    return norm * sigma_r(radius)


@cache
def _sigma_grid() -> np.ndarray:
    """sigma(M) on the mass grid, computed on first use so importing the task stays cheap."""
    return _sigma_of_mass(_LOGM_GRID)


def growth_factor(z: np.ndarray | float) -> np.ndarray:
    """Linear growth D(z)/D(0), Carroll, Press & Turner (1992) approximation."""
    z = np.asarray(z, dtype=np.float64)
    e2 = e_of_z(z) ** 2
    om, ol = OMEGA_M * (1 + z) ** 3 / e2, OMEGA_L / e2

    def g(om_: np.ndarray, ol_: np.ndarray) -> np.ndarray:
        return 2.5 * om_ / (om_ ** (4 / 7) - ol_ + (1 + om_ / 2) * (1 + ol_ / 70))

    return g(om, ol) / (g(np.float64(OMEGA_M), np.float64(OMEGA_L)) * (1 + z))


def mass_function(z: float) -> tuple[np.ndarray, np.ndarray]:
    """(log10 M500c grid, dn/dlog10M up to a constant) of Tinker et al. (2008) at redshift z.

    The overdensity is 500 rho_c(z) converted to the mean density at z (``delta_mean``), so
    the multiplicity function is the one for M500c at every redshift.
    """
    delta = delta_mean(z)
    fit = tinker_parameters(delta)
    sigma = _sigma_grid() * growth_factor(z)
    alpha = 10 ** (-((0.75 / np.log10(delta / 75)) ** 1.2))
    big_a = fit["A"] * (1 + z) ** -0.14
    a = fit["a"] * (1 + z) ** -0.06
    b = fit["b"] * (1 + z) ** -alpha
    f = big_a * ((sigma / b) ** -a + 1) * np.exp(-fit["c"] / sigma**2)
    dlninv_sigma = -np.gradient(np.log(sigma), _LOGM_GRID)
    return _LOGM_GRID, f * dlninv_sigma / 10.0**_LOGM_GRID


def sample_log_mass(z: float, rng: np.random.Generator, power: float = 1.0) -> float:
    """One log10 M500 between 1e13 and 1e15 M_sun from (dn/dlog10M at z)^power.

    power = 1 is the true abundance; power < 1 flattens it so that rare massive clusters are
    represented in a training set (Ntampaka et al. 2019 train on a flattened mass function).
    """
    grid, density = mass_function(z)
    density = density**power
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
    return float(np.interp(rng.random() * cdf[-1], cdf, grid))


# ---- scaling relations (power laws with log-normal scatter) --------------------------------
#: Observed slope of bolometric L_X-M500 (REXCESS, Pratt et al. 2009: 1.8-2.1 depending on
#: the fit and core treatment; groups extend it, Lovisari et al. 2015); self-similar is 4/3.
OBSERVED_SLOPE_L = 1.8
SELF_SIMILAR_SLOPE_L = 4 / 3


@dataclass(frozen=True)
class ScalingRelations:
    """T-M (self-similar) and L_bol-M (observed slope by default) with redshift evolution.

    Normalisations: T = 5 keV at M500 = 3.84e14 M_sun and z = 0 (Arnaud, Pointecouteau &
    Pratt 2005); L_bol of the non-cool-core ICM = 3.5e44 erg/s at the same mass (order of
    REXCESS, Pratt et al. 2009), so a steeper slope makes groups fainter, not clusters.
    Scatter in ln: 0.10 for T (Arnaud+05); 0.25 by default for the luminosity (between the
    core-excised ~0.2 of Mantz+16 and Pratt+09's ~0.4 with cores; cool cores add a compact
    extra component on top, which is what makes total L_X a poorer mass proxy).
    """

    m_pivot: float = 3.84e14
    t_pivot_kev: float = 5.0
    l_pivot: float = 3.5e44
    slope_t: float = 2 / 3
    evol_t: float = 2 / 3
    slope_l: float = OBSERVED_SLOPE_L
    evol_l: float = 7 / 3
    scatter_ln_t: float = 0.10
    scatter_ln_l: float = 0.25

    def temperature(self, mass: float, z: float, rng: np.random.Generator) -> float:
        ez = float(e_of_z(z))
        mean = self.t_pivot_kev * (mass / self.m_pivot) ** self.slope_t * ez**self.evol_t
        return float(mean * np.exp(self.scatter_ln_t * rng.standard_normal()))

    def luminosity(self, mass: float, z: float, rng: np.random.Generator) -> float:
        ez = float(e_of_z(z))
        mean = self.l_pivot * (mass / self.m_pivot) ** self.slope_l * ez**self.evol_l
        return float(mean * np.exp(self.scatter_ln_l * rng.standard_normal()))


# ---- instrument: eROSITA-like bands, effective area, absorption -----------------------------
#: Ten contiguous bands, edges in keV (log-spaced-ish, 0.2-8 keV: eROSITA's useful range).
BAND_EDGES = np.array([0.2, 0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0])
#: Approximate on-axis effective area of the seven eROSITA telescopes (cm^2), read off
#: Predehl et al. (2021, A&A 647, A1, Fig. 9); the dip above 2.2 keV is the gold M edge.
AEFF_TABLE = np.array([
    [0.2, 150.0], [0.3, 550.0], [0.5, 1000.0], [0.7, 1200.0], [1.0, 1300.0], [1.5, 1350.0],
    [2.0, 1050.0], [2.3, 550.0], [3.0, 350.0], [4.0, 200.0], [5.0, 120.0], [6.0, 70.0],
    [7.0, 30.0], [8.0, 15.0],
])
NH_GALACTIC = 3e20  # cm^-2, a typical high-latitude column
_E_GRID = np.geomspace(BAND_EDGES[0], BAND_EDGES[-1], 600)


def effective_area(energy: np.ndarray) -> np.ndarray:
    return np.interp(np.log(energy), np.log(AEFF_TABLE[:, 0]), AEFF_TABLE[:, 1])


def absorption(energy: np.ndarray, nh: float = NH_GALACTIC) -> np.ndarray:
    """Photo-electric transmission with sigma(E) ~ 2.0e-22 (E/keV)^(-8/3) cm^2 per H atom,
    a power-law approximation to Morrison & McCammon (1983) between 0.3 and 8 keV."""
    return np.exp(-nh * 2.0e-22 * energy ** (-8 / 3))


def _band_weights() -> np.ndarray:
    """(bands, energies) matrix: counts/s in each band = W @ photon flux density on _E_GRID."""
    response = effective_area(_E_GRID) * absorption(_E_GRID)
    widths = np.gradient(_E_GRID)
    weights = np.zeros((len(BAND_EDGES) - 1, len(_E_GRID)))
    band = np.clip(np.searchsorted(BAND_EDGES, _E_GRID, side="right") - 1, 0, len(BAND_EDGES) - 2)
    weights[band, np.arange(len(_E_GRID))] = response * widths
    return weights


BAND_WEIGHTS = _band_weights()
_X = np.geomspace(1e-4, 60.0, 4000)
_GAUNT_NORM = float(np.trapezoid(_X**-0.4 * np.exp(-_X), _X))  # integral of x^-0.4 e^-x dx


def line_fraction(kt: float) -> float:
    """Fraction of the bolometric emission of a kT plasma radiated in lines (Z ~ 0.3 Z_sun).

    0.7 / (1 + (kT / 1.6 keV)^4): 0.6 at 1 keV, 0.3 at 1.7 keV, 0.08 at 2.7 keV, ~0 above
    5 keV, an approximate reading of the [Fe/H] = -0.5 cooling curves of Sutherland & Dopita
    (1993, ApJS 88, 253) against pure bremsstrahlung. Most groups here are below 2 keV.
    """
    return 0.7 / (1.0 + (kt / 1.6) ** 4)


#: Line blends of cool plasma (keV rest frame, Gaussian sigma, share of the line emission):
#: the Fe-L complex around 0.8-1.2 keV dominates, O VII/VIII near 0.6 keV, Si/S near 2 keV.
LINE_BLENDS = ((0.95, 0.12, 0.65), (0.60, 0.05, 0.20), (1.95, 0.15, 0.15))


def thermal_rates(lum_bol: float, kt: float, z: float, lines: float = 1.0) -> np.ndarray:
    """Expected count rate (counts/s) per band of a kT plasma: bremsstrahlung + line blends.

    Continuum: L_E ~ g(E, T) exp(-E/kT) with the velocity-averaged Gaunt factor approximated
    by (E/kT)^-0.4 (good to ~20% for 0.1 < E/kT < 10, Rybicki & Lightman 1979). Lines: a
    fraction ``lines`` x ``line_fraction(kT)`` of ``lum_bol`` in ``LINE_BLENDS`` (0 gives the
    pure continuum). Observed photons at E come from E(1+z) in the rest frame:
    n(E) = (1+z) L_E(E(1+z)) / (4 pi D_L^2 E).
    """
    e_rest = _E_GRID * (1 + z)
    continuum = (e_rest / kt) ** -0.4 * np.exp(-e_rest / kt) / (_GAUNT_NORM * kt)  # 1/keV
    f_line = lines * line_fraction(kt)
    line = sum(share * np.exp(-0.5 * ((e_rest - centre) / width) ** 2)
               / (np.sqrt(2 * np.pi) * width) for centre, width, share in LINE_BLENDS)
    shape = (1 - f_line) * continuum + f_line * line
    d_l = float(luminosity_distance(z)) * MPC_CM
    photon_flux = (1 + z) * lum_bol * shape / (4 * np.pi * d_l**2) / (_E_GRID * KEV_ERG)
    return BAND_WEIGHTS @ photon_flux


def vignetting(offaxis_arcmin: np.ndarray) -> np.ndarray:
    """Relative effective area (..., bands) at off-axis angles, 1 on axis.

    1 / (1 + (theta / theta_50(E))^2) with theta_50 = 16' (E / 1.5 keV)^-0.2 at each band's
    centre: about half the on-axis area at 16' and 1.5 keV, falling faster for harder
    photons, an approximation of eROSITA's vignetting curves (Predehl et al. 2021, Fig. 10).
    """
    centres = np.sqrt(BAND_EDGES[1:] * BAND_EDGES[:-1])
    theta_50 = 16.0 * (centres / 1.5) ** -0.2
    return 1.0 / (1.0 + (np.asarray(offaxis_arcmin)[..., None] / theta_50) ** 2)


def power_law_rates(flux_05_2: float, gamma: float) -> np.ndarray:
    """Count rate per band of an absorbed power law with 0.5-2 keV energy flux ``flux_05_2``."""
    e = np.geomspace(0.5, 2.0, 200)
    unit_energy_flux = np.trapezoid(e ** (1 - gamma), e) * KEV_ERG  # erg/cm^2/s for norm 1
    norm = flux_05_2 / unit_energy_flux
    return BAND_WEIGHTS @ (norm * _E_GRID**-gamma)


def sky_background_rates(arcmin2: float) -> np.ndarray:
    """Counts/s per band from the diffuse sky in a solid angle of ``arcmin2``.

    Unresolved cosmic X-ray background: 10.9 photons/cm^2/s/sr/keV at 1 keV, Gamma = 1.4
    (e.g. Gilli et al. 2007), of which 60% is taken as unresolved because bright AGN are
    drawn separately; Galactic foreground (Local Hot Bubble + halo): a kT = 0.2 keV
    thermal spectrum, 3x the CXB at 0.5 keV, dominating below 0.7 keV as in eROSITA's
    background (Freyberg et al. 2020).
    """
    sr = arcmin2 / 1.1818e7
    cxb = 0.6 * 10.9 * _E_GRID**-1.4
    foreground = 3.0 * 10.9 * 0.5**-1.4 * np.exp(-(_E_GRID - 0.5) / 0.2) * (_E_GRID / 0.5) ** -0.4
    return BAND_WEIGHTS @ ((cxb + foreground) * sr)


#: Non-vignetted particle background, counts/s/arcmin^2/keV, flat in energy (order of
#: eROSITA's in-orbit level, Freyberg et al. 2020).
PARTICLE_RATE = 3e-4


def particle_background_rates(arcmin2: float) -> np.ndarray:
    return PARTICLE_RATE * arcmin2 * np.diff(BAND_EDGES)
