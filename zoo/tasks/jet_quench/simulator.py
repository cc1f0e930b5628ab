"""A small, physically grounded jet simulator: parton shower, hadronisation, quenching.

Why a simulator: no machine here reaches JEWEL or a data hub, so the task ships its own
producer of the jet-image file format (see ``formats.py``); training then reads simulated
and real files through the same reader.

Vacuum jet (per jet, in the small-angle approximation around the jet axis):

* **Spectrum**: the initiating parton's pT is drawn log-uniformly in [pt_min, pt_max] and
  carries the physical weight pT^-n (n = ``spectrum_index``, 5 by default, as the steeply
  falling LHC jet spectrum) divided by the sampling density; weights are normalised to mean
  1 in each class. Quark or gluon initiator with probability ``quark_fraction``.
* **Parton shower**: 1->2 splittings q->qg, g->gg, g->qqbar drawn from the leading-order
  QCD splitting functions P(z) with the one-loop running coupling alpha_s(kT), ordered in
  opening angle (each daughter may only split at smaller angles: angular ordering), by the
  Sudakov veto algorithm; emissions need kT = z(1-z) E theta > ``kt_min`` (1 GeV cutoff).
* **Hadronisation**: each final parton fragments into hadrons that take energy fractions
  z ~ Beta(1, b) (softer for gluons) until less than 0.4 GeV is left, each with a Gaussian
  transverse kick (0.35 GeV) about the parton direction; 2/3 are charged (pions), 1/3
  neutral (pi0 photons, neutral hadrons).
* **Jet**: hadrons within R = 0.4 of the pT-weighted axis; pixelised by ``pixelise.py``.

Quenched jet: the same, then before hadronisation every parton crosses a medium of path
length L, with L the chord from a production point uniform in a disk of radius
``medium_radius`` (5 fm) along a random direction. Short chords give vacuum-like quenched
jets, so the classes overlap as in nature. In the medium a parton of colour charge C_R

* **broadens**: receives a 2-D Gaussian transverse kick with <kT^2> = qhat L;
* **radiates**: emits N ~ Poisson(``medium_strength`` (C_R / C_A) L / 1 fm) soft gluons with
  energies from the BDMPS spectrum dN/domega ~ omega^-3/2 between 1 GeV and
  omega_c = qhat L^2 / 2 (capped at half the parton energy), at angles kT / omega with
  kT^2 ~ qhat L: soft gluons go to large angles, many outside the cone (energy loss);
* **thermalises**: a fraction ``thermalised_fraction`` of each radiated gluon's energy is
  lost to the medium (it never reaches the detector).

Generation is split into chunks with SeedSequence-spawned seeds, so the output does not
depend on how many worker processes run the chunks.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo.tasks.jet_quench import reconstruct
from zoo.tasks.jet_quench.pixelise import GRID, pixelise

CF, CA, TR, NF = 4.0 / 3.0, 3.0, 0.5, 5
LAMBDA_QCD = 0.2  # GeV
HBARC = 0.1973  # GeV fm
CHUNK = 500
VERSION = "jetsim-v2"
JET_MAX_ETA = 1.0
UE_MAX_ETA = 1.5


@dataclass(frozen=True)
class SimOptions:
    """Every physics knob of the simulator (stored with the data and the weights)."""

    n_jets: int = 20000
    pt_min: float = 80.0  # initiating parton pT range (generation)
    pt_max: float = 320.0
    select_pt_min: float = 100.0  # window on the reconstructed, UE-subtracted jet pT
    select_pt_max: float = 160.0
    ue_rho: float = 0.0  # thermal underlying event, GeV per unit area; 0 = none (pp-like)
    ue_temperature: float = 0.3  # GeV; mean UE particle pT = 2T
    spectrum_index: float = 5.0
    quark_fraction: float = 0.5
    kt_min: float = 1.0
    theta_max: float = 0.8
    qhat: float = 1.5  # GeV^2 / fm
    medium_radius: float = 5.0  # fm
    medium_strength: float = 1.0
    thermalised_fraction: float = 0.2

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> SimOptions:
        known = cls.__dataclass_fields__
        unknown = set(options) - set(known)
        if unknown:
            from zoo.errors import ZooError

            raise ZooError(f"unknown simulator option(s) {', '.join(sorted(unknown))}; "
                           f"valid: {', '.join(known)}")
        return cls(**{k: type(getattr(cls, k))(v) for k, v in options.items()})


def alpha_s(kt: float) -> float:
    """One-loop running coupling at scale kT (five flavours)."""
    b0 = (33 - 2 * NF) / (12 * math.pi)
    return 1.0 / (b0 * math.log(kt * kt / (LAMBDA_QCD * LAMBDA_QCD)))


# --------------------------------------------------------------------------- shower
def shower(energy: float, quark: bool, opt: SimOptions, rng: np.random.Generator
           ) -> list[tuple[float, float, float, bool]]:
    """Angular-ordered 1->2 shower of one parton; final partons as (E, x, y, is_quark)."""
    as_max = alpha_s(opt.kt_min)
    kt_min = opt.kt_min
    final: list[tuple[float, float, float, bool]] = []
    stack = [(energy, 0.0, 0.0, quark, opt.theta_max)]
    rand = rng.random
    while stack:
        e, x, y, q, theta = stack.pop()
        while True:
            eps = kt_min / (e * theta)
            if eps >= 0.25:  # z(1-z) E theta <= E theta / 4 < kt_min: nothing resolvable
                final.append((e, x, y, q))
                break
            log_range = 2.0 * math.log((1.0 - eps) / eps)
            soft = (CF if q else CA) * log_range
            hard = 0.0 if q else TR * NF * (1.0 - 2.0 * eps)
            rate = as_max / math.pi * (soft + hard)
            theta *= rand() ** (1.0 / rate)
            if e * theta < 4.0 * kt_min:
                final.append((e, x, y, q))
                break
            if q or rand() * (soft + hard) < soft:
                one_minus_z = eps * ((1.0 - eps) / eps) ** rand()
                z = 1.0 - one_minus_z
                if q:
                    accept = (1.0 + z * z) / 2.0
                    kinds = (True, False)
                else:
                    if rand() < 0.5:
                        z, one_minus_z = one_minus_z, z
                    over = 1.0 / z + 1.0 / one_minus_z
                    accept = (z / one_minus_z + one_minus_z / z + z * one_minus_z) / over
                    kinds = (False, False)
            else:
                z = eps + (1.0 - 2.0 * eps) * rand()
                one_minus_z = 1.0 - z
                accept = z * z + one_minus_z * one_minus_z
                kinds = (True, True)
            kt = z * one_minus_z * e * theta
            if kt < kt_min or rand() * as_max > accept * alpha_s(kt):
                continue
            azimuth = 2.0 * math.pi * rand()
            ux, uy = math.cos(azimuth) * theta, math.sin(azimuth) * theta
            stack.append((z * e, x + one_minus_z * ux, y + one_minus_z * uy, kinds[0], theta))
            stack.append((one_minus_z * e, x - z * ux, y - z * uy, kinds[1], theta))
            break
    return final


# --------------------------------------------------------------------------- medium
def path_length(opt: SimOptions, rng: np.random.Generator) -> float:
    """Chord length (fm) from a point uniform in a disk to its edge along a random direction."""
    r = opt.medium_radius * math.sqrt(rng.random())
    cos_a = math.cos(2.0 * math.pi * rng.random())
    return -r * cos_a + math.sqrt(opt.medium_radius ** 2 - r * r + (r * cos_a) ** 2)


def quench(partons: list[tuple[float, float, float, bool]], length: float, opt: SimOptions,
           rng: np.random.Generator) -> list[tuple[float, float, float, bool]]:
    """Broadening, medium-induced soft radiation and thermalisation over path ``length``."""
    qhat_l = opt.qhat * length  # <kT^2> in GeV^2
    omega_c = opt.qhat * length * length / (2.0 * HBARC)  # GeV
    qhat_gev3 = opt.qhat * HBARC
    out: list[tuple[float, float, float, bool]] = []
    for e, x, y, q in partons:
        colour = CF if q else CA
        kick = rng.normal(0.0, math.sqrt(qhat_l / 2.0), 2) if qhat_l > 0 else (0.0, 0.0)
        x, y = x + kick[0] / e, y + kick[1] / e
        n_gluons = rng.poisson(opt.medium_strength * colour / CA * length)
        upper = min(omega_c, 0.5 * e)
        for _ in range(n_gluons):
            if upper <= 1.0 or e <= 2.0:
                break
            # omega^-3/2 between 1 GeV and ``upper`` by inverting the cumulative
            a, b = 1.0, upper ** -0.5
            omega = (a - rng.random() * (a - b)) ** -2.0
            omega = min(omega, 0.5 * e)
            # formation-time kT^2 ~ sqrt(qhat omega): theta ~ (qhat / omega^3)^(1/4)
            kt = math.sqrt(rng.exponential(math.sqrt(qhat_gev3 * omega)))
            angle = min(kt / omega, 1.5)
            azimuth = 2.0 * math.pi * rng.random()
            e -= omega
            kept = omega * (1.0 - opt.thermalised_fraction)
            out.append((kept, x + angle * math.cos(azimuth), y + angle * math.sin(azimuth), False))
        out.append((e, x, y, q))
    return out


# --------------------------------------------------------------------------- hadrons
def hadronise(partons: list[tuple[float, float, float, bool]], rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Independent fragmentation: (pt, x, y, charged) arrays of final-state hadrons."""
    pts: list[float] = []
    xs: list[float] = []
    ys: list[float] = []
    for e, x, y, q in partons:
        b = 1.2 if q else 2.0
        remaining = e
        while remaining > 0.0:
            if remaining < 0.4:
                share = remaining
            else:
                share = remaining * rng.beta(1.0, b)
                if remaining - share < 0.4:
                    share = remaining
            remaining -= share
            if share < 0.05:
                continue
            kick = rng.normal(0.0, 0.35, 2) / share
            pts.append(share)
            xs.append(x + kick[0])
            ys.append(y + kick[1])
    pt = np.asarray(pts)
    charged = rng.random(len(pt)) < 2.0 / 3.0
    return pt, np.asarray(xs), np.asarray(ys), charged


def underlying_event(opt: SimOptions, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Thermal underlying event: (pt, eta, phi, charged) uniform in |eta| < UE_MAX_ETA.

    pT from a 2-D Boltzmann spectrum pT exp(-pT / T) (mean 2T), their number Poisson with
    mean ``ue_rho`` x area / 2T, so the pT density is ``ue_rho`` GeV per unit area (central
    Pb-Pb at the LHC: rho ~ 100-250 GeV; ALICE, JHEP 03 (2012) 053); 2/3 charged.
    """
    area = 2 * UE_MAX_ETA * 2 * math.pi
    n = rng.poisson(opt.ue_rho * area / (2 * opt.ue_temperature)) if opt.ue_rho > 0 else 0
    pt = rng.gamma(2.0, opt.ue_temperature, n)
    return (pt, rng.uniform(-UE_MAX_ETA, UE_MAX_ETA, n), rng.uniform(-math.pi, math.pi, n),
            rng.random(n) < 2.0 / 3.0)


def simulate_event(pt_initial: float, quark: bool, length: float | None, opt: SimOptions,
                   rng: np.random.Generator) -> reconstruct.Event:
    """Final-state particles of one event (vacuum if ``length`` is None): the parton's
    hadrons around a random direction with |eta| < 1 (so the jet cone stays inside the
    underlying event's acceptance) plus the underlying event."""
    partons = shower(pt_initial, quark, opt, rng)
    if length is not None:
        partons = quench(partons, length, opt, rng)
    pt, x, y, charged = hadronise(partons, rng)
    eta = rng.uniform(-JET_MAX_ETA, JET_MAX_ETA) + x
    phi = reconstruct.wrap(rng.uniform(-math.pi, math.pi) + y)
    ue = underlying_event(opt, rng)
    return reconstruct.Event(*(np.concatenate([a, b]) for a, b in
                               zip((pt, eta, phi, charged), ue, strict=True)))


def simulate_jet(pt_initial: float, quark: bool, length: float | None, opt: SimOptions,
                 rng: np.random.Generator) -> reconstruct.Jet | None:
    """One event reconstructed as data: its leading anti-kt R = 0.4 jet (UE-subtracted pT)."""
    event = simulate_event(pt_initial, quark, length, opt, rng)
    return reconstruct.leading_jets([event], subtract=opt.ue_rho > 0)[0]


def jet_image(jet: reconstruct.Jet) -> np.ndarray:
    """Unit-sum (33, 33, 2) image of a reconstructed jet, UE pedestal subtracted per pixel."""
    c = jet.constituents
    image = pixelise(c.pt, c.eta, c.phi, c.charged, normalise=False)
    image = reconstruct.subtract_image(image, jet.rho_charged, jet.rho_neutral)
    total = image.sum()
    return (image / total if total > 0 else image).astype(np.float32)


def _selected(label: int, count: int, opt: SimOptions, rng: np.random.Generator
              ) -> list[tuple[reconstruct.Jet, float, float, int]]:
    """``count`` jets of one class whose subtracted pT lies in the selection window, as
    (jet, initial pT, path length, events drawn for it), from batches of events."""
    log_lo, log_hi = math.log(opt.pt_min), math.log(opt.pt_max)
    kept: list[tuple[reconstruct.Jet, float, float, int]] = []
    drawn = 0
    while len(kept) < count:
        batch = []
        for _ in range(2 * (count - len(kept)) + 8):
            pt0 = math.exp(log_lo + (log_hi - log_lo) * rng.random())
            quark = bool(rng.random() < opt.quark_fraction)
            length = path_length(opt, rng) if label else None
            batch.append((pt0, length, simulate_event(pt0, quark, length, opt, rng)))
        jets = reconstruct.leading_jets([b[2] for b in batch], subtract=opt.ue_rho > 0)
        for (pt0, length, _), jet in zip(batch, jets, strict=True):
            drawn += 1
            if jet is not None and opt.select_pt_min <= jet.subtracted_pt < opt.select_pt_max \
                    and len(kept) < count:
                kept.append((jet, pt0, length or 0.0, drawn))
                drawn = 0
    return kept


def _chunk(args: tuple[int, int, np.random.SeedSequence, SimOptions]) -> dict[str, np.ndarray]:
    """Jets ``start .. start+count`` (even index vacuum, odd quenched) from one seed.

    Both classes are selected on the reconstructed, UE-subtracted jet pT in the window
    [select_pt_min, select_pt_max), as an analysis selects them, not matched at parton pT.
    """
    start, count, seq, opt = args
    rng = np.random.default_rng(seq)
    labels = ((start + np.arange(count)) % 2).astype(np.int8)
    pools = {label: iter(_selected(label, int((labels == label).sum()), opt, rng))
             for label in (0, 1)}
    images = np.zeros((count, GRID, GRID, 2), dtype=np.float32)
    fields = {k: np.zeros(count) for k in ("initial_pt", "jet_pt", "path_length", "weights",
                                            "rho", "events_drawn")}
    for i, label in enumerate(labels):
        jet, pt0, length, drawn = next(pools[int(label)])
        images[i] = jet_image(jet)
        fields["initial_pt"][i] = pt0
        fields["jet_pt"][i] = jet.subtracted_pt
        fields["path_length"][i] = length
        fields["rho"][i] = jet.rho_charged + jet.rho_neutral
        fields["events_drawn"][i] = drawn
        # physical weight pT^-n over the log-uniform sampling density 1/pT
        fields["weights"][i] = (pt0 / opt.pt_min) ** (1.0 - opt.spectrum_index)
    return {"images": images, "labels": labels, **fields}


def generate(opt: SimOptions, seed: int, workers: int | None = None) -> dict[str, np.ndarray]:
    """All jets of a sample, in chunks over ``workers`` processes (2 by default)."""
    starts = list(range(0, opt.n_jets, CHUNK))
    seqs = np.random.SeedSequence(seed).spawn(len(starts))
    jobs = [(s, min(CHUNK, opt.n_jets - s), q, opt) for s, q in zip(starts, seqs, strict=True)]
    workers = max(1, min(workers or min(2, os.cpu_count() or 1), len(jobs)))
    if workers == 1:
        parts = [_chunk(job) for job in jobs]
    else:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            parts = pool.map(_chunk, jobs, chunksize=1)
    data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    for label in (0, 1):  # normalised weights: mean 1 within each class
        sel = data["labels"] == label
        if sel.any():
            data["weights"][sel] /= data["weights"][sel].mean()
    return data


def cache_dir() -> Path:
    return Path(os.environ.get("ZOO_CACHE") or Path.home() / ".cache" / "zoo")


def cached_sample(opt: SimOptions, seed: int) -> Path:
    """Path of the simulated HDF5 file for ``opt``/``seed``, generating it on first use."""
    from zoo.tasks.jet_quench.formats import write_images_file

    key = json.dumps({"version": VERSION, "seed": seed, **asdict(opt)}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = cache_dir() / "jet-quench" / f"sim-{seed}-{opt.n_jets}-{digest}.h5"
    if not path.is_file():
        data = generate(opt, seed)
        write_images_file(path, data, attrs={"generator": VERSION, "seed": seed,
                                             "options": json.dumps(asdict(opt))})
    return path
