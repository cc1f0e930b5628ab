"""Classify a manifest of Gravity Spy scans on SLURM: whole nodes, one Dask worker per core.

    python slurm.py paths.txt results/ --nodes 4 --cores 32 --account myproj --queue cpu
    python slurm.py paths.txt results/ --dry-run                # prints the sbatch script only

Each SLURM job takes ``--cores`` cores and runs as many single-threaded worker processes
(``processes=cores``), each with one onnxruntime thread: N workers on N cores, no
oversubscription. The client reads the manifest lazily with a bounded window of zoo jobs in
flight, and each zoo job writes its own shard into ``results/`` (shared file system).
Rerunning the same command after a time-out skips the shards already written.
"""

from __future__ import annotations

import argparse

from dask_jobqueue import SLURMCluster
from distributed import Client

import zoo
from zoo.io.manifest import read_manifest
from zoo.jobs import JobSettings, predict_to_folder


def make_cluster(cores: int, memory: str, queue: str | None, account: str | None,
                 walltime: str) -> SLURMCluster:
    return SLURMCluster(
        cores=cores,
        processes=cores,              # one single-threaded worker per core
        memory=memory,                # per SLURM job: ~1 GB per worker is ample
        queue=queue,
        account=account,
        walltime=walltime,
        job_script_prologue=["export OMP_NUM_THREADS=1"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", help="text file: one scan path per line")
    parser.add_argument("out", help="folder for the shards and summary.json")
    parser.add_argument("--task", default="glitch")
    parser.add_argument("--nodes", type=int, default=2, help="SLURM jobs")
    parser.add_argument("--cores", type=int, default=32, help="cores per SLURM job")
    parser.add_argument("--memory", default="32GB", help="memory per SLURM job")
    parser.add_argument("--queue", default=None)
    parser.add_argument("--account", default=None)
    parser.add_argument("--walltime", default="02:00:00")
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv", "jsonl"])
    parser.add_argument("--dry-run", action="store_true", help="print the job script and stop")
    args = parser.parse_args()

    with make_cluster(args.cores, args.memory, args.queue, args.account, args.walltime) as cluster:
        if args.dry_run:
            print(cluster.job_script())
            return
        cluster.scale(jobs=args.nodes)
        with Client(cluster) as client:
            client.wait_for_workers(1)
            predictor = zoo.load(args.task, device="cpu")
            summary = predict_to_folder(predictor, read_manifest(args.manifest), args.out,
                                        args.format, engine="dask", client=client,
                                        settings=JobSettings(readers=2),
                                        on_error=lambda line: print("error:", line))
    print(f"{summary.ok} predicted, {summary.failed} failed, "
          f"{summary.skipped_jobs} of {summary.jobs} jobs already written")


if __name__ == "__main__":
    main()
