"""Files -> labels against the decode bound, side by side in one run: local and Dask engines.

On the same copies of the real 800x600 Omega scans and the same cores, it times

* the decode bound: Pillow decode + Gravity Spy's crop only, in ``--threads`` threads;
* zoo's local engine end to end (``Predictor.iter_predict``: read, crop, gray, rescale in
  reader processes, already started by a warm-up pass like the Dask workers; onnxruntime and
  decoding here), shipped single-view weights;
* the Dask engine end to end on a LocalCluster of ``--workers`` processes (1 thread each),
  sessions already loaded on the workers (a warm-up pass), results back on the client;

in rounds that alternate the three (load from other users hits all alike), and reports the
best round of each and the ratios. ``--pyspng`` adds the decode bound with pyspng. Beside
the wall-clock rates it records the CPU time per file of each (this process and its
children, the Dask workers): on a shared machine, where a many-threaded stage gets a bigger
share of the cores than the two decode threads, their ratio is the load-independent one.

    python benchmarks/scale_out.py --n 2000 --rounds 3 --json benchmarks/results/scale_out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANS = [ROOT.parent / "shared" / "data" / "gravityspy",
         ROOT.parent / "shared" / "data" / "gravityspy-fieldguide"]
CROP = (105, 66, 671, 532)  # Gravity Spy's plot area on an 800x600 scan (left, top, right, bottom)


def make_folder(n: int, dest: Path, scans: list[Path]) -> Path:
    """``n`` copies of every real 800x600 PNG scan, round-robin, named so that each is a
    single-view sample."""
    from PIL import Image

    sources = [p for root in scans for p in sorted(root.rglob("*.png"))
               if Image.open(p).size == (800, 600)]
    if not sources:
        raise SystemExit(f"no 800x600 PNG scans under {', '.join(map(str, scans))}")
    dest.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        shutil.copyfile(sources[i % len(sources)], dest / f"scan{i:06d}.png")
    return dest


def decode_bound(files: list[Path], threads: int, decoder: str = "pillow") -> float:
    """Files/s of decode + crop alone."""
    if decoder == "pyspng":
        import pyspng

        def work(path: Path) -> object:
            return pyspng.load(path.read_bytes())[CROP[1]:CROP[3], CROP[0]:CROP[2]]
    else:
        from PIL import Image

        def work(path: Path) -> object:
            with Image.open(path) as image:
                image.load()
                return image.crop(CROP)
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(work, files, chunksize=16):
            pass
    return len(files) / (time.perf_counter() - start)


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and all its children so far: the Dask
    workers are child processes of the LocalCluster started here."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def timed(run, n: int) -> tuple[float, float]:
    """(files/s wall clock, CPU ms per file) of ``run()`` over ``n`` files."""
    cpu = cpu_seconds()
    rate = run()
    return rate, 1000 * (cpu_seconds() - cpu) / n


def local_rate(predictor, folder: Path, n: int, batch_size: int) -> float:
    start = time.perf_counter()
    done = sum(p.ok for p in predictor.iter_predict([folder], batch_size=batch_size, view="single"))
    assert done == n, f"{n - done} files failed"
    return n / (time.perf_counter() - start)


def dask_rate(predictor, folder: Path, n: int, batch_size: int, client, readers: int,
              files_per_job: int = 256) -> float:
    from zoo.dask_engine import iter_predict

    start = time.perf_counter()
    done = sum(p.ok for p in iter_predict(predictor, [folder], client=client, batch_size=batch_size,
                                          readers=readers, files_per_job=files_per_job,
                                          view="single"))
    assert done == n, f"{n - done} files failed"
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="files in the generated folder")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="decode-bound threads (= cores)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="Dask workers")
    parser.add_argument("--readers", type=int, default=2, help="decoding threads per Dask worker")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--pyspng", action="store_true", help="also the pyspng decode bound")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--scans", type=Path, nargs="+", default=SCANS,
                        help="folders of real scans to copy")
    args = parser.parse_args()

    import logging

    from distributed import Client, LocalCluster

    from zoo.io.files import atomic_write_text
    from zoo.predictor import load
    from zoo.readers import PROCESS_MIN_SAMPLES

    predictor = load("glitch", device="cpu")
    rates: dict[str, list[float]] = {"decode_bound": [], "local": [], "dask": []}
    if args.pyspng:
        rates["decode_bound_pyspng"] = []
    cpu_ms: dict[str, list[float]] = {k: [] for k in rates}
    load_avg = []
    with tempfile.TemporaryDirectory(prefix="zoo-scale-out-") as tmp, \
            LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                         dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        folder = make_folder(args.n, Path(tmp) / "scans", args.scans)
        files = sorted(folder.iterdir())
        # Loads the sessions on every Dask worker and starts the local engine's reader
        # processes (a run that small would be read by threads otherwise).
        n_warm = max(64, PROCESS_MIN_SAMPLES)
        warm = make_folder(n_warm, Path(tmp) / "warm", args.scans)
        dask_rate(predictor, warm, n_warm, args.batch_size, client, args.readers, files_per_job=8)
        local_rate(predictor, warm, n_warm, args.batch_size)
        for _ in range(args.rounds):
            load_avg.append(os.getloadavg()[0])
            stages = {
                "decode_bound": lambda: decode_bound(files, args.threads),
                "decode_bound_pyspng": lambda: decode_bound(files, args.threads, "pyspng"),
                "local": lambda: local_rate(predictor, folder, args.n, args.batch_size),
                "dask": lambda: dask_rate(predictor, folder, args.n, args.batch_size, client,
                                          args.readers),
            }
            for name in rates:
                rate, cpu = timed(stages[name], args.n)
                rates[name].append(rate)
                cpu_ms[name].append(cpu)
            print({k: (round(v[-1], 1), round(cpu_ms[k][-1], 2)) for k, v in rates.items()},
                  flush=True)
    best = {k: max(v) for k, v in rates.items()}
    record = {
        "benchmark": "scale_out",
        "date": datetime.now(timezone.utc).isoformat(timespec="minutes"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average_1min": [round(x, 2) for x in load_avg],
        "files": args.n, "weights": predictor.model.meta.name, "batch_size": args.batch_size,
        "dask_workers": args.workers, "readers_per_worker": args.readers,
        "files_per_s": {k: [round(x, 1) for x in v] for k, v in rates.items()},
        "best_files_per_s": {k: round(v, 1) for k, v in best.items()},
        "local_vs_bound": round(best["local"] / best["decode_bound"], 3),
        "dask_vs_bound": round(best["dask"] / best["decode_bound"], 3),
        "per_round_local_vs_bound": [round(a / b, 3) for a, b in
                                     zip(rates["local"], rates["decode_bound"], strict=True)],
        "per_round_dask_vs_bound": [round(a / b, 3) for a, b in
                                    zip(rates["dask"], rates["decode_bound"], strict=True)],
        # load-independent: CPU per file of the bound over CPU per file end to end
        "cpu_ms_per_file": {k: [round(x, 2) for x in v] for k, v in cpu_ms.items()},
        "cpu_local_vs_bound": round(min(cpu_ms["decode_bound"]) / min(cpu_ms["local"]), 3),
        "cpu_dask_vs_bound": round(min(cpu_ms["decode_bound"]) / min(cpu_ms["dask"]), 3),
    }
    print(json.dumps(record, indent=2))
    if args.json:
        atomic_write_text(args.json, json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
