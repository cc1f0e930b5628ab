"""jet-quench data side: simulator, physics sanity, pixelisation, formats, bad input."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from core_helpers import assert_all_flagged, flagged_share

from zoo.errors import InputError
from zoo.registry import get_task
from zoo.tasks.jet_quench import formats, simulator
from zoo.tasks.jet_quench.observables import observables
from zoo.tasks.jet_quench.pixelise import pixelise

#: the simulator reconstructs jets with FastJet (train extra)
needs_fastjet = pytest.mark.skipif(importlib.util.find_spec("fastjet") is None,
                                   reason="the jet simulator needs fastjet (train extra)")

SMALL = simulator.SimOptions(n_jets=2 * simulator.CHUNK + 100)


@pytest.fixture(scope="module")
def sample() -> dict[str, np.ndarray]:
    return simulator.generate(SMALL, seed=7, workers=2)


@needs_fastjet
def test_simulator_is_deterministic_and_independent_of_workers(sample):
    again = simulator.generate(SMALL, seed=7, workers=1)
    for key in sample:
        np.testing.assert_array_equal(sample[key], again[key], err_msg=key)
    other = simulator.generate(simulator.SimOptions(n_jets=200), seed=8, workers=1)
    assert not np.array_equal(other["images"], sample["images"][:200])


@needs_fastjet
def test_simulated_sample_is_well_formed(sample):
    images, labels, weights = sample["images"], sample["labels"], sample["weights"]
    assert images.shape == (SMALL.n_jets, 33, 33, 2)
    np.testing.assert_allclose(images.sum(axis=(1, 2, 3)), 1.0, rtol=1e-4)
    assert set(np.unique(labels)) == {0, 1} and abs(labels.mean() - 0.5) < 0.01
    assert (weights > 0).all()
    for label in (0, 1):  # normalised weights: mean 1 per class
        assert weights[labels == label].mean() == pytest.approx(1.0)
    assert images[..., 0].sum() > images[..., 1].sum() > 0  # charged and neutral both filled
    assert (sample["path_length"][labels == 0] == 0).all()
    assert (sample["path_length"][labels == 1] > 0).all()


@needs_fastjet
def test_quenched_jets_lose_energy_relative_to_vacuum_at_same_initial_pt():
    opt = simulator.SimOptions()
    rng = np.random.default_rng(3)
    pt0, n = 150.0, 300
    vacuum = [simulator.simulate_jet(pt0, i % 2 == 0, None, opt, rng).subtracted_pt
              for i in range(n)]
    quenched = [simulator.simulate_jet(pt0, i % 2 == 0, simulator.path_length(opt, rng), opt,
                                       rng).subtracted_pt for i in range(n)]
    assert np.mean(vacuum) <= pt0
    assert np.mean(quenched) < np.mean(vacuum) - 0.05 * pt0
    # path-length fluctuations: some quenched jets keep as much energy as typical vacuum jets
    assert np.mean(np.asarray(quenched) > np.median(vacuum)) > 0.1
    short = [simulator.simulate_jet(pt0, True, 0.5, opt, rng).subtracted_pt for _ in range(n)]
    long = [simulator.simulate_jet(pt0, True, 8.0, opt, rng).subtracted_pt for _ in range(n)]
    assert np.mean(long) < np.mean(short)


@needs_fastjet
def test_jets_are_selected_on_reconstructed_pt_in_the_window(sample):
    jet_pt, labels = sample["jet_pt"], sample["labels"]
    assert np.all((jet_pt >= SMALL.select_pt_min) & (jet_pt < SMALL.select_pt_max))
    assert (sample["events_drawn"] >= 1).all()
    # selection bias: quenched jets in the window come from harder partons than vacuum jets
    w = sample["weights"]
    initial = [np.average(sample["initial_pt"][labels == c], weights=w[labels == c])
               for c in (0, 1)]
    assert initial[1] > initial[0] + 5


@needs_fastjet
def test_reconstruction_finds_the_anti_kt_jet_of_a_hand_made_event():
    from zoo.tasks.jet_quench import reconstruct

    # a 60 GeV pair 0.1 apart is one R = 0.4 jet; a 20 GeV particle 1.0 away is another
    event = reconstruct.Event(np.array([40.0, 20.0, 20.0]), np.array([0.0, 0.1, 1.0]),
                              np.array([0.0, 0.0, 0.0]), np.array([True, False, True]))
    (jet,) = reconstruct.leading_jets([event], subtract=False)
    assert jet.raw_pt == pytest.approx(60.0, rel=1e-3) and jet.subtracted_pt == jet.raw_pt
    assert sorted(jet.constituents.pt.tolist()) == [20.0, 40.0]


@needs_fastjet
def test_subtraction_removes_the_underlying_event_on_average():
    """The same jets with and without a thermal UE: rho x area subtraction restores their pT
    on average (within 2 GeV), while the unsubtracted jets carry ~rho pi R^2 extra."""
    from zoo.tasks.jet_quench import reconstruct

    opt = simulator.SimOptions(ue_rho=80.0)
    rng = np.random.default_rng(11)
    clean, busy = [], []
    for i in range(60):
        seed = int(rng.integers(1 << 30))
        jet_rng = np.random.default_rng(seed)
        event = simulator.simulate_event(150.0, i % 2 == 0, None, simulator.SimOptions(), jet_rng)
        ue = simulator.underlying_event(opt, np.random.default_rng(seed + 1))
        clean.append(event)
        busy.append(reconstruct.Event(*(np.concatenate([a, b]) for a, b in zip(
            (event.pt, event.eta, event.phi, event.charged), ue, strict=True))))
    reference = np.array([j.raw_pt for j in reconstruct.leading_jets(clean, subtract=False)])
    with_ue = reconstruct.leading_jets(busy, subtract=True)
    subtracted = np.array([j.subtracted_pt for j in with_ue])
    raw = np.array([j.raw_pt for j in with_ue])
    rho = np.array([j.rho_charged + j.rho_neutral for j in with_ue])
    assert rho.mean() == pytest.approx(80.0, rel=0.15)
    assert (raw - reference).mean() == pytest.approx(80.0 * reconstruct.JET_AREA, rel=0.2)
    assert abs((subtracted - reference).mean()) < 2.0
    image = simulator.jet_image(with_ue[0])
    assert image.sum() == pytest.approx(1.0, rel=1e-5) and image.min() >= 0


@needs_fastjet
def test_classes_overlap_but_observables_separate_them(sample):
    from sklearn.metrics import roc_auc_score

    feats, y, w = observables(sample["images"]), sample["labels"], sample["weights"]
    aucs = [roc_auc_score(y, f, sample_weight=w) for f in feats.T]
    best = max(max(a, 1 - a) for a in aucs)
    assert 0.55 < best < 0.9
    assert feats[y == 1, 3].mean() > feats[y == 0, 3].mean()  # more constituents when quenched


def test_pixelisation_of_a_hand_made_jet():
    # pT-weighted centroid at (eta, phi) = (1.0, 3.1); the pair lies along eta.
    pt = np.array([3.0, 1.0, 0.0])
    eta = np.array([1.1, 0.7, 1.0])
    phi = np.array([3.1, 3.1, 3.1])
    charged = np.array([True, False, True])
    image = pixelise(pt, eta, phi, charged)
    # rows: principal axis, harder half at positive u -> +0.1 -> row 20, -0.3 -> row 4
    assert image[20, 16, 0] == pytest.approx(0.75)
    assert image[4, 16, 1] == pytest.approx(0.25)
    assert image.sum() == pytest.approx(1.0)
    # across the phi = +-pi seam, rotated 90 degrees: the same picture
    seam = pixelise(pt, np.full(3, 0.5), np.array([-3.0416, 2.8416, 3.1416]), charged)
    assert seam[20, 16, 0] == pytest.approx(0.75, abs=1e-6)
    assert seam[4, 16, 1] == pytest.approx(0.25, abs=1e-6)
    plain = pixelise(pt, eta, phi, charged, rotate=False, flip=False, normalise=False)
    assert plain[20, 16, 0] == pytest.approx(3.0) and plain[4, 16, 1] == pytest.approx(1.0)


def _write_h5(path, **fields):
    import h5py

    with h5py.File(path, "w") as h5:
        for key, value in fields.items():
            h5[key] = value


def _good(n: int = 40) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.random((n, 33, 33, 2)).astype(np.float32) * (rng.random((n, 33, 33, 2)) > 0.95)
    return {"images": images, "labels": np.arange(n) % 2, "weights": rng.random(n) + 0.5}


@pytest.mark.parametrize("change, field, words", [
    ({"images": np.zeros((40, 32, 32, 2))}, "images", "expected (N, 33, 33, 2)"),
    ({"images": np.zeros((40, 33, 33, 3))}, "images", "3 channels"),
    ({"images": np.full((40, 33, 33, 2), np.nan)}, "images", "NaN/inf"),
    ({"labels": np.arange(40) % 3}, "labels", "outside {0, 1}"),
    ({"weights": -np.ones(40)}, "weights", "negative"),
    ({"split": np.full(40, "holdout")}, "split", "unknown split"),
])
@pytest.mark.parametrize("suffix", [".h5", ".npz"])
def test_bad_image_files_name_file_and_field(tmp_path, change, field, words, suffix):
    path = tmp_path / f"bad{suffix}"
    fields = {**_good(), **change}
    if suffix == ".h5":
        _write_h5(path, **{k: (v.astype("S") if v.dtype.kind == "U" else v)
                           for k, v in fields.items()})
    else:
        np.savez(path, **fields)
    with pytest.raises(InputError) as info:
        get_task("jet-quench").load_data(str(path), seed=0)
    message = str(info.value)
    assert str(path) in message and f"'{field}'" in message and words in message
    assert "\n" not in message


def test_image_file_loads_with_split_weights_and_baseline(tmp_path):
    path = tmp_path / "jets.h5"
    data = _good(200)
    split = np.array([b"train"] * 140 + [b"validation"] * 30 + [b"test"] * 30)
    _write_h5(path, **data, split=split)
    ds = get_task("jet-quench").load_data(str(path), seed=0)
    assert (len(ds.train), len(ds.validation), len(ds.test)) == (140, 30, 30)
    assert ds.source["type"] == "file" and len(ds.source["sha256"]) == 64
    assert ds.train.weights.mean() == pytest.approx(1.0)
    np.testing.assert_allclose(ds.test.x["image"].sum(axis=(1, 2, 3)), 1.0, rtol=1e-5)
    assert ds.test.x["baseline_score"].shape == (30,)
    assert get_task("jet-quench").baseline(ds)["roc_auc"] > 0


def test_constituent_csv_and_npz_are_pixelised(tmp_path):
    rows = ["jet,pt,eta,phi,charge,label,weight"]
    rows += [f"7,{pt},{eta},{phi},{q},1,2.0" for pt, eta, phi, q in
             ((3.0, 1.1, 3.1, 1), (1.0, 0.7, 3.1, 0))]
    rows += ["2,5.0,0.0,0.0,-1,0,1.0", "2,5.0,0.0,0.1,0,0,1.0"]
    csv_path = tmp_path / "jets.csv"
    csv_path.write_text("\n".join(rows) + "\n")
    jets = formats.read_any(csv_path)
    assert jets.images.shape == (2, 33, 33, 2)
    assert jets.labels.tolist() == [1, 0] and jets.weights.tolist() == [2.0, 1.0]
    assert jets.images[0, 20, 16, 0] == pytest.approx(0.75)
    npz_path = tmp_path / "jets.npz"
    np.savez(npz_path, jet=[1, 1], pt=[3.0, 1.0], eta=[1.1, 0.7], phi=[3.1, 3.1], pid=[211, 22],
             label=[1, 1])
    assert formats.read_any(npz_path).images[0, 4, 16, 1] == pytest.approx(0.25)
    (tmp_path / "bad.csv").write_text("jet,pt,eta,phi,charge,label\n1,-2,0,0,1,0\n")
    with pytest.raises(InputError, match="bad.csv: column 'pt' has negative"):
        formats.read_any(tmp_path / "bad.csv")


@needs_fastjet
def test_simulator_writes_the_image_format_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path))
    task = get_task("jet-quench")
    ds = task.load_data(None, seed=1, n_jets=400)
    assert ds.source["simulated"] is True and ds.source["options"]["n_jets"] == 400
    files = list(tmp_path.rglob("*.h5"))
    assert len(files) == 1 and not list(tmp_path.rglob("*.tmp"))
    again = formats.read_images_file(files[0])
    assert len(again.labels) == 400
    assert len(ds.train) + len(ds.validation) + len(ds.test) == 400
    with pytest.raises(Exception, match="unknown simulator option"):
        task.load_data(None, seed=1, n_jet=400)


def test_predict_reads_one_sample_per_jet(tmp_path):
    task = get_task("jet-quench")
    path = tmp_path / "jets.h5"
    _write_h5(path, **_good(5))
    samples = list(task.samples([str(path), str(tmp_path / "missing.h5")], {}))
    assert [s.key for s in samples][:2] == [f"{path}#0", f"{path}#1"] and len(samples) == 6
    image = task.read(samples[3], {})["image"]
    assert image.shape == (33, 33, 2) and image.sum() == pytest.approx(1.0)
    with pytest.raises(InputError, match="missing.h5: no such file"):
        task.read(samples[5], {})


@pytest.fixture(scope="module")
def jet_predictor():
    import zoo

    predictor = zoo.load("jet-quench")
    assert predictor.model.ood is not None, "the shipped jet weights carry an ood section"
    return predictor


def test_ood_calibration_is_on_a_seed_the_training_never_saw(jet_predictor):
    meta = jet_predictor.model.meta
    calibrated_on = (meta.ood or {})["calibrated_on"]
    assert calibrated_on["type"] == "simulator"
    assert calibrated_on["seed"] != meta.data_source["seed"]
    assert calibrated_on["generator"] == meta.data_source["generator"]


def _units(images: np.ndarray) -> np.ndarray:
    return (images / images.sum(axis=(1, 2, 3), keepdims=True)).astype(np.float32)


@needs_fastjet
def test_ood_flag_quiet_on_unseen_jets_and_fires_on_non_jets(jet_predictor, sample):
    jets = _units(sample["images"][:400])
    assert flagged_share(jet_predictor, jets) <= 0.03  # calibrated to flag 0.5% of jets
    noise = _units(np.random.default_rng(0).random((20, 33, 33, 2)))
    off_centre = np.roll(jets[:20], 8, axis=1)  # not centred on the jet axis
    assert_all_flagged(jet_predictor, {"noise": noise, "off-centre": off_centre})


def test_ood_evidence_sees_the_preprocessing():
    """Each check reads what the preprocessing guarantees: centred, harder halves at positive
    coordinates, principal axis along the rows."""
    from zoo.tasks.jet_quench.observables import EVIDENCE, ood_evidence

    image = np.zeros((1, 33, 33, 2), np.float32)
    image[0, 16, 16, 0], image[0, 19, 16, 1], image[0, 14, 17, 0] = 0.6, 0.3, 0.1
    evidence = ood_evidence(image)
    assert tuple(evidence) == EVIDENCE
    assert evidence["charged_share"][0] == pytest.approx(0.7)
    assert evidence["row_asymmetry"][0] == pytest.approx(0.2)
    assert evidence["col_asymmetry"][0] == pytest.approx(0.1)
    assert evidence["row_spread_share"][0] > 0.5
    assert ood_evidence(image[:, ::-1])["row_asymmetry"][0] == pytest.approx(-0.2)
    assert ood_evidence(np.roll(image, 5, axis=2))["centroid_offset"][0] > 0.1


def test_eval_reports_the_lead_over_the_baseline_and_how_precisely_the_sample_measures_it():
    from zoo.task import Split

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 3000).astype(np.float32)
    weights = rng.uniform(0.2, 2.0, 3000)
    base = y + rng.normal(0, 1.5, 3000)  # a weaker scorer
    split = Split({"image": np.zeros((3000, 1)), "baseline_score": base}, y, weights)
    task = get_task("jet-quench")

    model = 1 / (1 + np.exp(-(y + rng.normal(0, 1.0, 3000) - 0.5)))
    lead = task.evaluate(split, [model.reshape(-1, 1)])["lead_over_baseline"]
    assert lead["roc_auc"] > 0.05
    assert 0.002 < lead["bootstrap_std"] < 0.03  # a few thousand jets measure it to about 1%
    same = task.evaluate(split, [base.reshape(-1, 1)])["lead_over_baseline"]
    assert same == {"roc_auc": 0.0, "bootstrap_std": 0.0}


def test_baseline_keeps_the_trees_the_validation_split_favours():
    """On few noisy jets the long fit overfits; the baseline stops where validation peaks and
    so scores higher on jets it never saw than all MAX_TREES trees do."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    from zoo.tasks.jet_quench import observables

    rng = np.random.default_rng(0)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = rng.normal(size=(n, 4)).astype(np.float32)
        y = (x[:, 0] + 0.5 * x[:, 1] + 2.0 * rng.normal(size=n) > 0).astype(np.float32)
        return x, y, rng.uniform(0.5, 1.5, n)

    train, validation, test = sample(1000), sample(1000), sample(20000)
    model = observables.fit_baseline(train, validation, seed=0)
    assert 1 <= model.n_iter_ < observables.MAX_TREES
    every = HistGradientBoostingClassifier(
        max_iter=observables.MAX_TREES, early_stopping=False, random_state=0,
        **observables.TREE_SETTINGS).fit(*train[:2], sample_weight=train[2])
    val_aucs = [roc_auc_score(validation[1], p[:, 1], sample_weight=validation[2])
                for p in every.staged_predict_proba(validation[0])]
    assert model.n_iter_ == int(np.argmax(val_aucs)) + 1

    def auc(m: HistGradientBoostingClassifier) -> float:
        return roc_auc_score(test[1], m.predict_proba(test[0])[:, 1], sample_weight=test[2])

    assert auc(model) > auc(every) + 0.01
