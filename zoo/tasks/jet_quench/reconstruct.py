"""Jet reconstruction as an analysis does it: anti-kt R = 0.4 with FastJet, rho subtraction.

The simulator hands over every final-state particle of a batch of events (the jet's
hadrons and, optionally, a thermal underlying event); this module clusters them with the
anti-kt algorithm (Cacciari, Salam & Soyez 2008) through the scikit-hep ``fastjet`` package
(the FastJet C++ library's official Python bindings, many events per call), keeps each
event's leading jet, and subtracts the underlying event with the median pT density rho:

* rho from the grid-median method (Cacciari & Salam 2008; FastJet's
  GridMedianBackgroundEstimator): the median of pT / cell area over 0.5 x 0.5 cells in
  |eta| < 1.5, computed here with numpy, for charged and neutral particles separately;
* the jet pT by area subtraction, pT_sub = pT - rho A, with A = pi R^2 (anti-kt jets are
  rigid cones, so their area is pi R^2 up to a few per cent, Cacciari, Salam & Soyez 2008);
* the jet image pixel by pixel (``subtract_image``): rho x pixel area per channel, negative
  pixels set to zero.

``fastjet`` is only needed to simulate training data (the ``train`` extra); prediction reads
images and never imports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from zoo.tasks.jet_quench.pixelise import PIXEL, RADIUS

#: Acceptance of the rho estimate and its grid (cells of ~0.5 x 0.5 in eta, phi).
RHO_MAX_ETA = 1.5
RHO_ETA_CELLS, RHO_PHI_CELLS = 6, 12
JET_AREA = math.pi * RADIUS**2


@dataclass
class Event:
    """Final-state particles of one event."""

    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    charged: np.ndarray


@dataclass
class Jet:
    """An event's leading reconstructed jet: constituents and UE-subtracted pT."""

    constituents: Event
    raw_pt: float
    subtracted_pt: float
    rho_charged: float
    rho_neutral: float


def wrap(phi: np.ndarray | float) -> np.ndarray:
    """Azimuths into [-pi, pi)."""
    return np.mod(np.asarray(phi) + math.pi, 2 * math.pi) - math.pi


def rho(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> float:
    """Median pT per unit area over the grid cells of |eta| < RHO_MAX_ETA (grid median)."""
    grid, _, _ = np.histogram2d(eta, wrap(phi), weights=pt,
                                bins=(RHO_ETA_CELLS, RHO_PHI_CELLS),
                                range=((-RHO_MAX_ETA, RHO_MAX_ETA), (-math.pi, math.pi)))
    cell_area = (2 * RHO_MAX_ETA / RHO_ETA_CELLS) * (2 * math.pi / RHO_PHI_CELLS)
    return float(np.median(grid) / cell_area)


def _fastjet():  # type: ignore[no-untyped-def]
    try:
        import fastjet
    except ImportError as exc:  # pragma: no cover - the train extra installs it
        from zoo.errors import ZooError

        raise ZooError("the jet-quench simulator needs fastjet: pip install 'physzoo[train]'"
                       ) from exc
    return fastjet


def leading_jets(events: list[Event], subtract: bool) -> list[Jet | None]:
    """Anti-kt R = 0.4 clustering of every event in one FastJet call; each leading jet.

    With ``subtract`` False rho is zero (no underlying event to remove). None for an event
    without particles. FastJet prints its banner on first use (once per process).
    """
    import awkward as ak

    fj = _fastjet()
    counts = np.array([len(e.pt) for e in events])
    pt, eta, phi = (np.concatenate([getattr(e, k) for e in events]).astype(np.float64)
                    for k in ("pt", "eta", "phi"))
    particles = ak.unflatten(ak.zip({"px": pt * np.cos(phi), "py": pt * np.sin(phi),
                                     "pz": pt * np.sinh(eta), "E": pt * np.cosh(eta)}), counts)
    sequence = fj.ClusterSequence(particles, fj.JetDefinition(fj.antikt_algorithm, RADIUS))
    jets, index = sequence.inclusive_jets(), sequence.constituent_index()
    jet_pt = np.hypot(jets.px, jets.py)
    lead = ak.argmax(jet_pt, axis=1, keepdims=True)
    lead_pt = ak.to_list(ak.firsts(jet_pt[lead]))
    lead_members = ak.to_list(ak.firsts(index[lead]))
    out: list[Jet | None] = []
    for event, raw, members in zip(events, lead_pt, lead_members, strict=True):
        if raw is None:
            out.append(None)
            continue
        take = np.asarray(members, dtype=np.int64)
        ch = event.charged
        rho_ch = rho(event.pt[ch], event.eta[ch], event.phi[ch]) if subtract else 0.0
        rho_ne = rho(event.pt[~ch], event.eta[~ch], event.phi[~ch]) if subtract else 0.0
        out.append(Jet(Event(event.pt[take], event.eta[take], event.phi[take], ch[take]),
                       float(raw), float(raw) - (rho_ch + rho_ne) * JET_AREA, rho_ch, rho_ne))
    return out


def subtract_image(image: np.ndarray, rho_charged: float, rho_neutral: float) -> np.ndarray:
    """Remove rho x pixel area from each pixel of an un-normalised (33, 33, 2) jet image."""
    pedestal = np.array([rho_charged, rho_neutral]) * PIXEL**2
    return np.clip(image - pedestal, 0.0, None)
