"""Classify a manifest of Gravity Spy scans on HTCondor: one Dask worker per Condor job.

    zoo predict-style run on a Condor pool through dask-jobqueue (pip install dask-jobqueue):

    python htcondor.py paths.txt results/ --jobs 200            # submits, runs, resumes
    python htcondor.py paths.txt results/ --dry-run             # prints the submit file only

Each job is one worker process with one thread and one onnxruntime thread (``cores=1``), so a
job uses exactly the core Condor gave it. The client (this script, on the submit node) reads
the manifest lazily and keeps a bounded window of zoo jobs in flight; every zoo job writes
its own shard into ``results/`` on the shared file system. If jobs are pre-empted, Dask
reruns their work elsewhere; if this script dies, run it again: shards already written are
skipped. Files, weights and results must be on a file system the execute nodes see (or
install zoo and the weights into the job's Python environment).
"""

from __future__ import annotations

import argparse

from dask_jobqueue import HTCondorCluster
from distributed import Client

import zoo
from zoo.io.manifest import read_manifest
from zoo.jobs import JobSettings, predict_to_folder


def make_cluster(memory: str, disk: str, log_directory: str | None) -> HTCondorCluster:
    return HTCondorCluster(
        cores=1,                      # one core per Condor job ...
        processes=1,                  # ... one worker process with one thread on it
        memory=memory,                # a worker holds one model + ~2 batches of images
        disk=disk,
        job_script_prologue=["export OMP_NUM_THREADS=1"],
        job_extra_directives={"+JobFlavour": '"workday"'},  # site-specific: edit or drop
        log_directory=log_directory,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", help="text file: one scan path per line")
    parser.add_argument("out", help="folder for the shards and summary.json")
    parser.add_argument("--task", default="glitch")
    parser.add_argument("--jobs", type=int, default=50, help="Condor jobs (= workers)")
    parser.add_argument("--memory", default="2GB")
    parser.add_argument("--disk", default="1GB")
    parser.add_argument("--log-directory", default=None)
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv", "jsonl"])
    parser.add_argument("--dry-run", action="store_true", help="print the job script and stop")
    args = parser.parse_args()

    with make_cluster(args.memory, args.disk, args.log_directory) as cluster:
        if args.dry_run:
            print(cluster.job_script())
            return
        cluster.adapt(minimum_jobs=1, maximum_jobs=args.jobs)
        with Client(cluster) as client:
            predictor = zoo.load(args.task, device="cpu")
            summary = predict_to_folder(predictor, read_manifest(args.manifest), args.out,
                                        args.format, engine="dask", client=client,
                                        settings=JobSettings(readers=2),
                                        on_error=lambda line: print("error:", line))
    print(f"{summary.ok} predicted, {summary.failed} failed, "
          f"{summary.skipped_jobs} of {summary.jobs} jobs already written")


if __name__ == "__main__":
    main()
