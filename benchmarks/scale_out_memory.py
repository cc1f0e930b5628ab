"""Memory of a million-file run: the client's RSS while it streams a 1,000,000-line manifest
through the Dask engine, and the workers' peak RSS on jobs of real scans.

Client side: a manifest of ``--lines`` paths that do not exist (every one fails at once on a
worker with "no such file", so the run costs only the client's streaming, scheduling and the
errors shards) is predicted into a shard folder on a 2-worker LocalCluster while a thread
samples the client's RSS every 20 ms. Worker side: jobs of real 800x600 scans, then each
worker's peak RSS (``ru_maxrss``) and its RSS with the model loaded and idle.

    python benchmarks/scale_out_memory.py --lines 1000000 --json benchmarks/results/scale_out_memory.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil
from scale_out import SCANS, make_folder


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


class RssSampler(threading.Thread):
    """Highest RSS of this process seen every ``period`` seconds."""

    def __init__(self, period: float = 0.02):
        super().__init__(daemon=True)
        self.period, self.peak, self.stop = period, _rss_mb(), threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.period):
            self.peak = max(self.peak, _rss_mb())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--real-files", type=int, default=1024, help="real scans for the workers")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--scans", type=Path, nargs="+", default=SCANS)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from zoo.io.files import atomic_write_text
    from zoo.io.manifest import read_manifest
    from zoo.jobs import JobSettings, predict_to_folder
    from zoo.predictor import load

    predictor = load("glitch", device="cpu")
    record: dict = {"benchmark": "scale_out_memory",
                    "date": datetime.now(timezone.utc).isoformat(timespec="minutes"),
                    "load_average_1min": round(os.getloadavg()[0], 2), "lines": args.lines}
    with tempfile.TemporaryDirectory(prefix="zoo-scale-mem-") as tmp, \
            LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                         dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        manifest = Path(tmp) / "paths.txt"
        with manifest.open("w") as fh:
            for i in range(args.lines):
                fh.write(f"/nonexistent/run/H1_{i:09d}_spectrogram_1.0.png\n")
        record["manifest_mb"] = round(manifest.stat().st_size / 2**20, 1)
        real = make_folder(args.real_files, Path(tmp) / "scans", args.scans)
        # workers: sessions loaded, then jobs of real scans
        settings = JobSettings(options={"view": "single"})
        predict_to_folder(predictor, [real], Path(tmp) / "real", engine="dask", client=client,
                          settings=settings)
        record["worker_rss_mb_after_real_jobs"] = [round(v, 1) for v in
                                                   client.run(_rss_mb).values()]
        record["worker_peak_rss_mb_real_jobs"] = [round(v, 1) for v in
                                                  client.run(_peak_rss_mb).values()]
        # client: the million-line manifest, streamed
        sampler = RssSampler()
        record["client_rss_mb_before"] = round(sampler.peak, 1)
        sampler.start()
        start = time.perf_counter()
        summary = predict_to_folder(predictor, read_manifest(manifest), Path(tmp) / "million",
                                    engine="dask", client=client)
        record["client_seconds"] = round(time.perf_counter() - start, 1)
        sampler.stop.set()
        sampler.join()
        record["client_rss_mb_peak"] = round(sampler.peak, 1)
        record["client_rss_mb_growth"] = round(sampler.peak - record["client_rss_mb_before"], 1)
        record["jobs"] = summary.jobs
        record["failed"] = summary.failed
        record["worker_peak_rss_mb_after_million"] = [round(v, 1) for v in
                                                      client.run(_peak_rss_mb).values()]
    print(json.dumps(record, indent=2))
    if args.json:
        atomic_write_text(args.json, json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
