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


def blip(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blip: a short broadband teardrop: a low-Q sine-Gaussian at 30-150 Hz whose energy spans
    about three octaves, plus a weaker, shorter component an octave or two up (the tail towards
    ~1 kHz that real blips show)."""
    t0, f0 = _jitter(rng, 0.01), _loguniform(rng, 30, 150)
    h = sine_gaussian(t, t0, f0, rng.uniform(0.7, 2.0), rng.uniform(0, 2 * np.pi))
    return sine_gaussian(t, t0 + rng.normal(0, 0.001), f0 * 2 ** rng.uniform(1.5, 3.0),
                         rng.uniform(0.7, 1.5), out=h, amp=rng.uniform(0.2, 0.6))


def koi_fish(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Koi fish: a thin broadband spike reaching ~1 kHz on top of a saturated, broad
    low-frequency body (10-40 Hz, 0.15-0.5 s wide) that fills much of the short windows."""
    t0 = _jitter(rng, 0.01)
    h = rng.standard_normal(t.size) * gauss_env(t, t0, _loguniform(rng, 0.06, 0.2))
    h = _band(t, h, _loguniform(rng, 12, 25), rng.uniform(0.4, 0.6))
    h *= rng.uniform(1.5, 3.0) / (np.abs(h).max() + 1e-12)
    return blip(t, rng) * rng.uniform(1.0, 2.0) + sine_gaussian(
        t, t0, _loguniform(rng, 30, 60), rng.uniform(1.0, 2.0), out=h, amp=1.5)


def tomte(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Tomte: a short low-frequency burst, triangular: its brightest part touches the bottom rows
    (14-26 Hz) and it narrows upwards to a tip at 80-280 Hz (a blip's teardrop stands higher,
    its bright core at 30 Hz and above)."""
    t0, f0 = _jitter(rng, 0.01), _loguniform(rng, 14, 26)
    h = sine_gaussian(t, t0, f0, rng.uniform(1.5, 3.0), amp=1.5)
    h = sine_gaussian(t, t0, f0 * rng.uniform(1.8, 2.6), rng.uniform(1.0, 2.0), out=h)
    return sine_gaussian(t, t0 + rng.normal(0, 0.002), f0 * 2 ** rng.uniform(2.5, 3.5),
                         rng.uniform(0.7, 1.2), out=h, amp=rng.uniform(0.15, 0.4))


def repeating_blips(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Repeating blips: 2-8 blips (the field guide's have 2-3 close together), evenly spaced by
    0.08-0.6 s (a periodic coupling), each a full blip with its high-frequency tail."""
    n = int(rng.choice(np.arange(2, 9), p=[0.3, 0.25, 0.15, 0.1, 0.08, 0.07, 0.05]))
    spacing = _loguniform(rng, 0.08, 0.6)
    start = -spacing * rng.uniform(0, n - 1)
    h = np.zeros_like(t)
    for k in range(n):
        h += blip(t - (start + k * spacing + rng.normal(0, 0.005)), rng) * rng.uniform(0.6, 1.0)
    return h


def extremely_loud(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Extremely loud: broadband energy at SNR in the thousands (saturates): a burst 0.05-0.6 s
    long, or (one in three, as the field guide's GIF) a disturbance that starts near the trigger
    and lasts 0.5-3 s, filling one side of the windows (the run-up to a lock loss)."""
    if rng.random() < 1 / 3:
        start = rng.uniform(-0.3, 0.3)
        env = smooth_box(t, start, start + rng.uniform(0.5, 3.0), rng.uniform(0.01, 0.05))
        return rng.standard_normal(t.size) * env
    width = _loguniform(rng, 0.03, 0.3)
    noise = rng.standard_normal(t.size) * gauss_env(t, _jitter(rng), width)
    return noise + sine_gaussian(t, _jitter(rng, 0.005), _loguniform(rng, 20, 60), 2.0, amp=3.0)


def low_frequency_burst(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Low-frequency burst: a 0.3-1.5 s hump of noisy energy below ~30 Hz (seismic/suspension),
    saturated at the bottom rows with a ragged top."""
    g = rng.standard_normal(t.size) * gauss_env(t, _jitter(rng, 0.05), rng.uniform(0.1, 0.5))
    return _band(t, g, _loguniform(rng, 11, 22), rng.uniform(0.3, 0.6))


# --- lines --------------------------------------------------------------------------------------


def power_line(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Power line: a narrow 60 Hz line with a Gaussian envelope (sigma 0.1-0.6 s), whose smooth
    onset lets the high-Q planes win as in real scans; faint 120/180 Hz harmonics."""
    env = gauss_env(t, _jitter(rng, 0.05), rng.uniform(0.1, 0.6))
    h = tone(t, 60.0 + rng.normal(0, 0.2), env, rng.uniform(0, 2 * np.pi))
    for k in (2, 3):
        h += rng.uniform(0.0, 0.1) * tone(t, 60.0 * k, env, rng.uniform(0, 2 * np.pi))
    return h


def air_compressor(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Air compressor: a short (0.1-0.4 s) narrow vibration burst at 45-55 Hz, weak harmonic."""
    env = gauss_env(t, _jitter(rng, 0.05), rng.uniform(0.05, 0.2))
    f = rng.uniform(45, 55) + rng.uniform(0.0, 1.0) * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t)
    return tone(t, f, env) + rng.uniform(0.0, 0.3) * tone(t, 2 * f, env)


def violin_mode(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Violin mode: short bright packets at the fibre resonance f1 ~500 Hz and its harmonics
    (closely spaced modes beat), 1.5-4 a second and unevenly spaced (the field guide's: about
    3), brightest at 1 kHz in most events. The harmonics get a factor k on top of their
    amplitude because the detector noise rises about as f above 500 Hz: whitened, a 1 kHz line
    as loud as the 500 Hz one in strain would look half as bright."""
    f1, rate = rng.uniform(480, 520), rng.uniform(1.5, 4.0)
    width = rng.uniform(0.008, 0.025)
    env = np.zeros_like(t)
    start = t[0] + rng.uniform(0, 1 / rate)
    while start < t[-1]:
        lo, hi = np.searchsorted(t, [start - 5 * width, start + 5 * width])
        env[lo:hi] += rng.uniform(0.5, 1.0) * np.exp(-0.5 * ((t[lo:hi] - start) / width) ** 2)
        start += rng.uniform(0.7, 1.3) / rate
    amps = np.array([rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.8), rng.uniform(0.0, 0.4),
                     rng.uniform(0.0, 0.6)])
    amps[1 if rng.random() < 0.7 else 0] = 1.0  # the 1 kHz harmonic leads in most events
    h = np.zeros_like(t)
    for k, amp in enumerate(amps, start=1):
        if amp > 0.05:
            h += k * amp * tone(t, k * f1 + rng.normal(0, 1.0), env, rng.uniform(0, 2 * np.pi))
    return h


def low_frequency_lines(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Low-frequency lines: 1-3 narrow lines at 10-30 Hz across the whole window, their
    amplitude swelling smoothly over seconds (so they stand out of the row normalisation)."""
    h = np.zeros_like(t)
    for _ in range(int(rng.integers(1, 4))):
        env = gauss_env(t, rng.normal(0, 0.5), rng.uniform(1.0, 2.5))
        h += rng.uniform(0.5, 1.0) * tone(t, _loguniform(rng, 10.5, 30), env, rng.uniform(0, 6))
    return h


def lines_1080(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1080Lines: a dotted line near 1080 Hz: short high-Q packets spread over the window."""
    h, f0 = np.zeros_like(t), rng.uniform(1070, 1090)
    for t0 in rng.uniform(-2.2, 2.2, size=int(rng.integers(15, 50))):
        sine_gaussian(t, t0, f0 + rng.normal(0, 3), rng.uniform(40, 120), out=h,
                      amp=rng.uniform(0.4, 1.0))
    return h


def ripples_1400(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1400Ripples: a short (0.05-0.4 s) burst near 1400 Hz, amplitude rippling at 5-20 Hz."""
    env = gauss_env(t, _jitter(rng, 0.05), rng.uniform(0.02, 0.15))
    env *= 1 + 0.9 * np.sin(2 * np.pi * rng.uniform(5, 20) * t)
    return tone(t, rng.uniform(1300, 1500) + rng.normal(0, 20) * t, env)


def wandering_line(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Wandering line: a line high in the band (800-1400 Hz, where 1080Lines' dotted line also
    sits: the field guide's are at 0.8-1.3 kHz) whose frequency wanders slowly by a few per cent,
    jitters fast, and steps down in short notches (1-6 a second, 3-12 % down for 20-80 ms, sharp
    edges): a continuous, ragged line where 1080Lines is dotted and steady."""
    f0 = _loguniform(rng, 800, 1400)
    walk = np.cumsum(rng.standard_normal(int(rng.integers(32, 160))))
    walk = np.interp(t, np.linspace(t[0], t[-1], walk.size), walk / (np.abs(walk).max() + 1e-9))
    fast = np.interp(t, np.linspace(t[0], t[-1], 800), rng.standard_normal(800))
    f = f0 * (1 + rng.uniform(0.02, 0.08) * walk + rng.uniform(0.002, 0.008) * fast)
    for th in rng.uniform(t[0], t[-1], size=int(rng.uniform(1, 6) * (t[-1] - t[0]))):
        f *= 1 - rng.uniform(0.03, 0.12) * smooth_box(t, th, th + rng.uniform(0.02, 0.08), 0.002)
    return tone(t, np.minimum(f, 2000.0),
                smooth_box(t, -rng.uniform(1.5, 2.5), rng.uniform(1.5, 2.5), 0.2))


# --- frequency tracks ---------------------------------------------------------------------------


def chirp(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
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


def scattered_light(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scattered light: arches with |f| = n 2|v(t)|/lambda for a slowly swinging surface.

    A surface moving as x(t) = A sin(2 pi f_m t) recombines light with phase 4 pi n x / lambda
    (n bounces): arches peaking at 2 n A 2 pi f_m / lambda (10-35 Hz for n = 1, n <= 3).
    """
    fm = rng.uniform(0.05, 0.3)
    fmax = rng.uniform(10, 35)
    amp = fmax * LASER_WAVELENGTH / (2 * 2 * np.pi * fm)
    x = amp * np.sin(2 * np.pi * fm * t + rng.uniform(0, 2 * np.pi))
    h = np.zeros_like(t)
    for n in range(1, int(rng.integers(1, 4)) + 1):
        h += rng.uniform(0.5, 1.0) / n * np.sin(4 * np.pi * n * x / LASER_WAVELENGTH)
    return h


def whistle(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whistle: RF beat note |f_VCO(t) - f_ref| sweeping through the band: thin V, U, arch or
    multi-branch W tracks from several hundred Hz to ~2 kHz, 0.1-0.6 s long.

    A V/U is sqrt(f_min^2 + (k t)^2); an arch is its mirror f_max - ...; a W is two V's side by
    side (the VCO crossing the reference twice).
    """
    t0, span = _jitter(rng, 0.05), rng.uniform(0.1, 0.6)
    fmin, fmax = _loguniform(rng, 300, 1000), rng.uniform(1300, 2000)
    k = (fmax - fmin) / (span / 2) * rng.uniform(0.8, 1.5)
    shape = rng.choice(["V", "U", "arch", "W"], p=[0.35, 0.25, 0.2, 0.2])
    if shape == "W":
        d = span / 4
        x = np.minimum(np.abs(t - t0 - d), np.abs(t - t0 + d)) * 2
    else:
        x = t - t0
    u_shape = fmin + (fmax - fmin) * (2 * x / span) ** 4
    f = u_shape if shape == "U" else np.sqrt(fmin**2 + (k * x) ** 2)
    if shape == "arch":
        f = fmax + fmin - f
    env = (f < 2000) * (f > 0.8 * fmin) * smooth_box(t, t0 - span / 2, t0 + span / 2, 0.01)
    return tone(t, np.clip(f, 10, 2000), env)


def helix(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Helix: groups of 2-5 short, faint bursts (0.03-0.08 s apart) whose centre frequency winds
    up and down (a helix in the short windows), the groups repeating every 0.2-0.6 s: thin
    vertical stripes in clusters in the long windows."""
    h = np.zeros_like(t)
    groups, period = int(rng.integers(2, 9)), rng.uniform(0.2, 0.6)
    f0 = _loguniform(rng, 50, 200)
    start = -period * rng.uniform(0, groups - 1) + _jitter(rng)
    for g in range(groups):
        size, step = int(rng.integers(2, 6)), rng.uniform(0.03, 0.08)
        for k in range(size):
            f = f0 * 2 ** (rng.uniform(0.5, 1.2) * np.sin(np.pi * k / max(size - 1, 1)))
            sine_gaussian(t, start + g * period + k * step, f, rng.uniform(0.8, 2.5), out=h,
                          amp=rng.uniform(0.5, 1.0))
    return h


def paired_doves(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Paired doves: pairs of thin mirror-image sweeps, a rising one and a falling one 0.05-0.2 s
    later (a bracket ')(' shape), each 0.03-0.1 s long between ~18-30 Hz and 45-100 Hz; the pair
    recurs every 0.6-1.6 s, so the long windows show a row of narrow curved streaks."""
    h = np.zeros_like(t)
    pairs, period = int(rng.integers(1, 5)), rng.uniform(0.6, 1.6)
    gap, length = rng.uniform(0.05, 0.2), rng.uniform(0.03, 0.1)
    f1, f2 = _loguniform(rng, 18, 30), _loguniform(rng, 45, 100)
    start = -period * rng.uniform(0, max(pairs - 1, 0.5)) + _jitter(rng)
    for p in range(pairs):
        for rising, t0 in ((True, start + p * period), (False, start + p * period + gap)):
            x = np.clip((t - t0) / length, 0, 1)
            f = f1 * (f2 / f1) ** (x if rising else 1 - x)
            h += tone(t, f, smooth_box(t, t0, t0 + length, length / 8) * rng.uniform(0.7, 1.0))
    return h


def scratchy(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scratchy: many short low-Q bursts in a 100-250 Hz band, dense over 2-6 s (rubbing)."""
    h, fc = np.zeros_like(t), _loguniform(rng, 100, 250)
    span = rng.uniform(2.0, 6.0)
    for t0 in rng.uniform(-span / 2, span / 2, size=int(rng.integers(60, 160))):
        sine_gaussian(t, t0, fc * 2 ** rng.normal(0, 0.2), rng.uniform(3, 8), out=h,
                      amp=rng.uniform(0.3, 1.0), phase=rng.uniform(0, 2 * np.pi))
    return h


def light_modulation(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light modulation: a thin broadband spike to ~1 kHz over a saturated band below ~30 Hz that
    starts at the spike and lasts 0.2-1.5 s to one side (the light-power modulation), bumpier and
    longer than a koi fish's body, as in the field guide."""
    t0, length = _jitter(rng, 0.01), _loguniform(rng, 0.2, 1.5)
    side = rng.choice([-1.0, 1.0]) if rng.random() < 0.7 else 0.0
    a, b = sorted((t0 - length * (0.5 - 0.5 * side), t0 + length * (0.5 + 0.5 * side)))
    g = rng.standard_normal(t.size) * smooth_box(t, a, b, 0.05)
    h = _band(t, g, _loguniform(rng, 10, 18), rng.uniform(0.3, 0.5))
    h *= rng.uniform(1.0, 2.0) / (np.abs(h).max() + 1e-12)
    spike = sine_gaussian(t, t0, _loguniform(rng, 150, 400), rng.uniform(0.5, 1.0))
    return h + spike * rng.uniform(0.5, 1.5)


def _band(t: np.ndarray, x: np.ndarray, fc: float, width: float) -> np.ndarray:
    """``x`` filtered to a log-Gaussian band around ``fc`` (width in e-folds of frequency)."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(t.size, t[1] - t[0])
    spec *= np.exp(-0.5 * (np.log(np.maximum(f, 1.0) / fc) / width) ** 2)
    return np.fft.irfft(spec, t.size)


def no_glitch(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """No glitch: detector noise only."""
    return np.zeros_like(t)


def none_of_the_above(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
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
        h = _band(t, g, _loguniform(rng, 30, 1000), rng.uniform(0.2, 0.6))
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
    "1080Lines": (40, 120), "1400Ripples": (40, 150), "Air_Compressor": (15, 60),
    "Blip": (10, 80), "Chirp": (12, 40), "Extremely_Loud": (1500, 8000), "Helix": (15, 50),
    "Koi_Fish": (150, 600), "Light_Modulation": (60, 200), "Low_Frequency_Burst": (30, 120),
    "Low_Frequency_Lines": (150, 500), "No_Glitch": (0, 0), "None_of_the_Above": (15, 80),
    "Paired_Doves": (20, 70), "Power_Line": (10, 40), "Repeating_Blips": (20, 90),
    "Scattered_Light": (150, 400), "Scratchy": (40, 140), "Tomte": (10, 50),
    "Violin_Mode": (60, 200), "Wandering_Line": (100, 300), "Whistle": (12, 45),
}
