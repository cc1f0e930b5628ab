"""Time-domain strain waveforms of the 22 Gravity Spy glitch classes.

Each generator draws its physical parameters from ``rng`` and returns an un-normalised strain
``h(t)`` on the time grid ``t`` (seconds, event at 0). The simulator scales the whitened
waveform to a matched-filter SNR drawn from ``SNR_RANGE``, so amplitudes here only set the
relative weight of a glitch's components. Parameter ranges follow the Gravity Spy class
descriptions (Zevin et al. 2017, Bahaadini et al. 2018) and the physics of each coupling; the
table in docs/glitch-simulator.md lists them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Generator = Callable[[np.ndarray, np.random.Generator], np.ndarray]

#: Wavelength of the LIGO laser (m): scattered-light fringes are 2 v / lambda.
LASER_WAVELENGTH = 1.064e-6
#: G M_sun / c^3 (s): the chirp's time scale.
T_SUN = 4.925491e-6


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def sine_gaussian(t: np.ndarray, t0: float, f0: float, q: float, phase: float = 0.0,
                  out: np.ndarray | None = None, amp: float = 1.0) -> np.ndarray:
    """Add amp * exp(-(t-t0)^2/tau^2) cos(2 pi f0 (t-t0) + phase), tau = Q / (sqrt(2) pi f0).

    Only the +-4 tau support is evaluated, which keeps trains of many bursts cheap.
    """
    out = np.zeros_like(t) if out is None else out
    tau = q / (np.sqrt(2.0) * np.pi * f0)
    dt = t[1] - t[0]
    i0 = max(0, int((t0 - 4 * tau - t[0]) / dt))
    i1 = min(t.size, int((t0 + 4 * tau - t[0]) / dt) + 2)
    x = t[i0:i1] - t0
    out[i0:i1] += amp * np.exp(-((x / tau) ** 2)) * np.cos(2 * np.pi * f0 * x + phase)
    return out


def tone(t: np.ndarray, freq: np.ndarray | float, envelope: np.ndarray | float,
         phase: float = 0.0) -> np.ndarray:
    """A sinusoid with instantaneous frequency ``freq(t)``: phase = 2 pi cumulative integral."""
    f = np.broadcast_to(np.asarray(freq, dtype=float), t.shape)
    phi = 2 * np.pi * np.cumsum(f) * (t[1] - t[0]) + phase
    return envelope * np.sin(phi)


def gauss_env(t: np.ndarray, t0: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((t - t0) / width) ** 2)


def smooth_box(t: np.ndarray, start: float, stop: float, edge: float) -> np.ndarray:
    """1 between start and stop with tanh edges: a line that switches on and off."""
    return 0.25 * (1 + np.tanh((t - start) / edge)) * (1 - np.tanh((t - stop) / edge))


def _jitter(rng: np.random.Generator, scale: float = 0.02) -> float:
    """Small offset of the glitch peak from the Omicron trigger time."""
    return float(rng.normal(0.0, scale))


# --- short broadband transients -----------------------------------------------------------------


def blip(t, rng):
    """Blip: a very short (2-10 ms) low-Q sine-Gaussian, 30-150 Hz: a tall thin teardrop."""
    f0 = _loguniform(rng, 30, 150)
    return sine_gaussian(t, _jitter(rng, 0.01), f0, rng.uniform(0.7, 2.5), rng.uniform(0, 2 * np.pi))


def koi_fish(t, rng):
    """Koi fish: a loud blip with a very low Q, saturating from ~20 Hz to several hundred Hz."""
    f0 = _loguniform(rng, 40, 160)
    h = sine_gaussian(t, _jitter(rng, 0.01), f0, rng.uniform(1.0, 2.5))
    return sine_gaussian(t, _jitter(rng, 0.003), f0 * 2.5, rng.uniform(1.5, 3.0), out=h, amp=0.5)


def tomte(t, rng):
    """Tomte: a short low-frequency burst (20-60 Hz), triangular: wide at the bottom."""
    t0, f0 = _jitter(rng, 0.01), _loguniform(rng, 20, 55)
    h = sine_gaussian(t, t0, f0, rng.uniform(2.0, 4.0))
    return sine_gaussian(t, t0, f0 * 0.6, rng.uniform(1.5, 3.0), out=h, amp=1.5)


def repeating_blips(t, rng):
    """Repeating blips: 3-8 blips evenly spaced by 0.15-0.6 s (a periodic coupling)."""
    n, spacing = int(rng.integers(3, 9)), rng.uniform(0.15, 0.6)
    start = -spacing * rng.uniform(0, n - 1)
    f0, h = _loguniform(rng, 40, 200), np.zeros_like(t)
    for k in range(n):
        sine_gaussian(t, start + k * spacing + rng.normal(0, 0.005), f0 * rng.uniform(0.8, 1.25),
                      rng.uniform(2.0, 5.0), out=h, amp=rng.uniform(0.6, 1.0))
    return h


def extremely_loud(t, rng):
    """Extremely loud: a broadband burst 0.05-0.6 s long, SNR in the thousands (saturates)."""
    width = _loguniform(rng, 0.03, 0.3)
    noise = rng.standard_normal(t.size) * gauss_env(t, _jitter(rng), width)
    return noise + sine_gaussian(t, _jitter(rng, 0.005), _loguniform(rng, 20, 60), 2.0, amp=3.0)


def low_frequency_burst(t, rng):
    """Low-frequency burst: a 0.2-1 s hump of energy at 10-30 Hz (seismic/suspension)."""
    f0 = _loguniform(rng, 11, 28)
    return sine_gaussian(t, _jitter(rng, 0.05), f0, rng.uniform(4.0, 14.0))


# --- lines --------------------------------------------------------------------------------------


def power_line(t, rng):
    """Power line: a 60 Hz burst with harmonics at 120 and 180 Hz, 0.2-1.5 s long."""
    env = smooth_box(t, -rng.uniform(0.1, 0.75), rng.uniform(0.1, 0.75), 0.05)
    h = np.zeros_like(t)
    for k, amp in ((1, 1.0), (2, rng.uniform(0.3, 1.0)), (3, rng.uniform(0.2, 0.8))):
        h += amp * tone(t, 60.0 * k, env, rng.uniform(0, 2 * np.pi))
    return h


def air_compressor(t, rng):
    """Air compressor: vibration at 48-54 Hz, wobbling by ~1 Hz, 0.5-2.5 s, weak harmonic."""
    env = smooth_box(t, -rng.uniform(0.25, 1.25), rng.uniform(0.25, 1.25), 0.1)
    f = rng.uniform(48, 54) + rng.uniform(0.3, 1.5) * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t)
    return tone(t, f, env) + 0.2 * tone(t, 2 * f, env)


def violin_mode(t, rng):
    """Violin mode: suspension fibre resonances ~500 Hz (+ harmonics), narrow, ringing 1-3 s."""
    h, f1 = np.zeros_like(t), rng.uniform(480, 520)
    t0, tau = rng.uniform(-0.3, 0.1), rng.uniform(0.8, 3.0)
    env = smooth_box(t, t0 - rng.uniform(0.2, 0.6), t0 + 0.5, 0.05) * np.exp(
        -np.clip(t - t0, 0, None) / tau)
    for k, amp in ((1, 1.0), (2, rng.uniform(0.1, 0.6)), (3, rng.uniform(0.0, 0.4))):
        h += amp * tone(t, k * f1 + rng.normal(0, 1.0), env, rng.uniform(0, 2 * np.pi))
    return h


def low_frequency_lines(t, rng):
    """Low-frequency lines: 1-3 narrow lines between 10 and 40 Hz, on for 1-3 s."""
    h = np.zeros_like(t)
    for _ in range(int(rng.integers(1, 4))):
        env = smooth_box(t, -rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5), 0.1)
        h += rng.uniform(0.5, 1.0) * tone(t, _loguniform(rng, 11, 40), env, rng.uniform(0, 6))
    return h


def lines_1080(t, rng):
    """1080Lines: a dotted line near 1080 Hz: short high-Q packets spread over the window."""
    h, f0 = np.zeros_like(t), rng.uniform(1070, 1090)
    for t0 in rng.uniform(-2.2, 2.2, size=int(rng.integers(6, 20))):
        sine_gaussian(t, t0, f0 + rng.normal(0, 3), rng.uniform(20, 60), out=h,
                      amp=rng.uniform(0.4, 1.0))
    return h


def ripples_1400(t, rng):
    """1400Ripples: a 0.3-1.5 s burst near 1400 Hz, amplitude rippling at 5-20 Hz."""
    env = gauss_env(t, _jitter(rng, 0.1), rng.uniform(0.15, 0.7))
    env *= 1 + 0.9 * np.sin(2 * np.pi * rng.uniform(5, 20) * t)
    return tone(t, rng.uniform(1300, 1500) + rng.normal(0, 20) * t, env)


def wandering_line(t, rng):
    """Wandering line: a line (300-1800 Hz) whose frequency drifts by tens of percent."""
    f0 = _loguniform(rng, 300, 1800)
    walk = np.cumsum(rng.standard_normal(64))
    walk = np.interp(t, np.linspace(t[0], t[-1], walk.size), walk / (np.abs(walk).max() + 1e-9))
    f = f0 * (1 + rng.uniform(0.1, 0.35) * walk)
    return tone(t, f, smooth_box(t, -rng.uniform(1.5, 2.5), rng.uniform(1.5, 2.5), 0.2))


# --- frequency tracks ---------------------------------------------------------------------------


def chirp(t, rng):
    """Chirp: compact-binary inspiral, f = (5/tau)^(3/8) / (8 pi (G Mc/c^3)^(5/8)) up to ISCO.

    Chirp mass 3-30 M_sun (equal masses, M = 2^(6/5) Mc); the inspiral ends at the ISCO
    frequency 4400 Hz (M_sun / M); amplitude grows as f^(2/3).
    """
    mc = _loguniform(rng, 3.0, 30.0)
    tc = _jitter(rng, 0.05)
    f_isco = 4400.0 / (2 ** 1.2 * mc)
    tau = np.clip(tc - t, 1e-6, None)
    f = (5.0 / tau) ** 0.375 / (8 * np.pi * (mc * T_SUN) ** 0.625)
    on = (f < f_isco) & (t < tc)
    f = np.where(on, f, 0.0)
    ringdown = np.exp(-np.clip(t - tc, 0, None) / 0.004)
    env = np.where(on, (np.maximum(f, 1.0) / f_isco) ** (2 / 3), 0.0) * smooth_box(
        t, -3.8, tc + 0.5, 0.05)
    h = tone(t, f, env)
    return h + sine_gaussian(t, tc, f_isco, 3.0) * 0.3 * (t >= tc) * ringdown


def scattered_light(t, rng):
    """Scattered light: arches with |f| = n 2|v(t)|/lambda for a slowly swinging surface.

    A surface moving as x(t) = A sin(2 pi f_m t) recombines light with phase 4 pi n x / lambda
    (n bounces): arches peaking at 2 n A 2 pi f_m / lambda (20-90 Hz for n = 1).
    """
    fm = rng.uniform(0.1, 0.4)
    fmax = rng.uniform(20, 90)
    amp = fmax * LASER_WAVELENGTH / (2 * 2 * np.pi * fm)
    x = amp * np.sin(2 * np.pi * fm * t + rng.uniform(0, 2 * np.pi))
    h = np.zeros_like(t)
    for n in range(1, int(rng.integers(1, 5)) + 1):
        h += rng.uniform(0.4, 1.0) / n * np.sin(4 * np.pi * n * x / LASER_WAVELENGTH)
    return h


def whistle(t, rng):
    """Whistle: RF beat note |f_VCO(t) - f_ref| sweeping fast: V/U shape, 0.1-0.5 s, to ~2 kHz.

    The beat frequency sqrt(f_min^2 + (k t)^2) is a V (f_min small) or U (f_min large).
    """
    t0, fmin = _jitter(rng, 0.03), _loguniform(rng, 150, 900)
    k = _loguniform(rng, 3000, 15000)
    f = np.sqrt(fmin**2 + (k * (t - t0)) ** 2)
    env = (f < 2000) * gauss_env(t, t0, rng.uniform(0.05, 0.2))
    return tone(t, np.minimum(f, 2000), env)


def helix(t, rng):
    """Helix: a train of short bursts whose centre frequency winds up and down (helical)."""
    h, n = np.zeros_like(t), int(rng.integers(10, 25))
    spacing, f0 = rng.uniform(0.02, 0.06), _loguniform(rng, 40, 150)
    period = rng.uniform(4, 10)
    start = -spacing * n / 2 + _jitter(rng)
    for k in range(n):
        f = f0 * 2 ** (0.8 * np.sin(2 * np.pi * k / period))
        sine_gaussian(t, start + k * spacing, f, rng.uniform(4, 8), out=h)
    return h


def paired_doves(t, rng):
    """Paired doves: pairs of mirror-image short sweeps (rise then fall), 40-300 Hz."""
    h = np.zeros_like(t)
    pairs = int(rng.integers(2, 5))
    gap, length = rng.uniform(0.15, 0.4), rng.uniform(0.06, 0.15)
    f1, f2 = _loguniform(rng, 40, 90), _loguniform(rng, 130, 300)
    start = -gap * pairs / 2 + _jitter(rng)
    for p in range(pairs):
        for sign, t0 in ((1, start + p * gap), (-1, start + p * gap + length * 1.2)):
            x = np.clip((t - t0) / length, 0, 1)
            f = f1 + (f2 - f1) * (x if sign > 0 else 1 - x)
            env = gauss_env(t, t0 + length / 2, length / 3)
            h += tone(t, f, env)
    return h


def scratchy(t, rng):
    """Scratchy: many short low-Q bursts in a 90-250 Hz band, dense over 2-6 s (rubbing)."""
    h, fc = np.zeros_like(t), _loguniform(rng, 90, 250)
    span = rng.uniform(2.0, 6.0)
    for t0 in rng.uniform(-span / 2, span / 2, size=int(rng.integers(60, 160))):
        sine_gaussian(t, t0, fc * 2 ** rng.normal(0, 0.2), rng.uniform(3, 8), out=h,
                      amp=rng.uniform(0.3, 1.0), phase=rng.uniform(0, 2 * np.pi))
    return h


def light_modulation(t, rng):
    """Light modulation: periodic broadband pulses (intensity modulation) at 2-8 Hz, 10-200 Hz."""
    h, rate = np.zeros_like(t), rng.uniform(2.0, 8.0)
    phase = rng.uniform(0, 1 / rate)
    for t0 in np.arange(-2.5 + phase, 2.5, 1 / rate):
        sine_gaussian(t, t0, _loguniform(rng, 15, 60), rng.uniform(1.5, 3.0), out=h)
    return h + 0.5 * tone(t, rate * rng.integers(3, 8), smooth_box(t, -2.5, 2.5, 0.2))


def no_glitch(t, rng):
    """No glitch: detector noise only."""
    return np.zeros_like(t)


def none_of_the_above(t, rng):
    """None of the above: shapes outside the other classes (random tracks and burst clusters)."""
    h, kind = np.zeros_like(t), int(rng.integers(3))
    if kind == 0:  # a falling or rising track with an odd power law
        f0, f1 = _loguniform(rng, 30, 1500), _loguniform(rng, 30, 1500)
        dur = rng.uniform(0.1, 1.5)
        x = np.clip((t + dur / 2) / dur, 0, 1) ** rng.uniform(0.3, 3)
        h = tone(t, f0 * (f1 / f0) ** x, smooth_box(t, -dur / 2, dur / 2, 0.02))
    elif kind == 1:  # a cluster of unrelated bursts
        for _ in range(int(rng.integers(2, 6))):
            sine_gaussian(t, rng.normal(0, 0.3), _loguniform(rng, 20, 1500),
                          _loguniform(rng, 3, 40), out=h, amp=rng.uniform(0.3, 1))
    else:  # a band-limited noise blob
        g = rng.standard_normal(t.size) * gauss_env(t, _jitter(rng, 0.1), rng.uniform(0.05, 0.5))
        spec = np.fft.rfft(g)
        f = np.fft.rfftfreq(t.size, t[1] - t[0])
        fc = _loguniform(rng, 30, 1000)
        spec *= np.exp(-0.5 * (np.log(np.maximum(f, 1) / fc) / rng.uniform(0.2, 0.6)) ** 2)
        h = np.fft.irfft(spec, t.size)
    return h


#: Generator per class, in constants.CLASSES order.
GENERATORS: dict[str, Generator] = {
    "1080Lines": lines_1080, "1400Ripples": ripples_1400, "Air_Compressor": air_compressor,
    "Blip": blip, "Chirp": chirp, "Extremely_Loud": extremely_loud, "Helix": helix,
    "Koi_Fish": koi_fish, "Light_Modulation": light_modulation,
    "Low_Frequency_Burst": low_frequency_burst, "Low_Frequency_Lines": low_frequency_lines,
    "No_Glitch": no_glitch, "None_of_the_Above": none_of_the_above, "Paired_Doves": paired_doves,
    "Power_Line": power_line, "Repeating_Blips": repeating_blips,
    "Scattered_Light": scattered_light, "Scratchy": scratchy, "Tomte": tomte,
    "Violin_Mode": violin_mode, "Wandering_Line": wandering_line, "Whistle": whistle,
}

#: Matched-filter SNR range (after whitening) per class; drawn log-uniformly.
SNR_RANGE: dict[str, tuple[float, float]] = {
    "1080Lines": (40, 120), "1400Ripples": (40, 120), "Air_Compressor": (50, 150),
    "Blip": (10, 60), "Chirp": (12, 40), "Extremely_Loud": (1500, 8000), "Helix": (25, 100),
    "Koi_Fish": (80, 400), "Light_Modulation": (30, 120), "Low_Frequency_Burst": (15, 60),
    "Low_Frequency_Lines": (80, 250), "No_Glitch": (0, 0), "None_of_the_Above": (15, 80),
    "Paired_Doves": (20, 70), "Power_Line": (40, 120), "Repeating_Blips": (20, 90),
    "Scattered_Light": (60, 200), "Scratchy": (40, 140), "Tomte": (10, 50),
    "Violin_Mode": (20, 80), "Wandering_Line": (120, 400), "Whistle": (15, 60),
}
