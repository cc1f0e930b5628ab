"""The Dask engine: prediction jobs on a ``distributed`` cluster.

The client cuts the input stream into jobs (:mod:`zoo.jobs`) and keeps at most ``window``
of them in flight, so it never holds the whole input list whatever its length. Each job is a
plain function call on a worker that looks up its process's predictor for the run's
:class:`~zoo.jobs.PredictorSpec` (built once per process, weights' sha256 checked, sessions
kept), reads and predicts the job's files, and sends back either the predictions or, for
sharded output, only counts and error lines.

Cores are shared out, not oversubscribed: a worker process per core with one Dask thread,
one onnxruntime intra-op thread and ``readers`` decoding threads that overlap file decoding
(which releases the GIL) with inference in the same process.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import ZooError
from zoo.jobs import (
    FILES_PER_JOB,
    Job,
    JobResult,
    JobSettings,
    PredictorSpec,
    cut_jobs,
    predictor_for,
    run_job,
    run_job_to_shard,
    spec_of,
)
from zoo.readers import heap_for_image_buffers

if TYPE_CHECKING:
    from zoo.predictor import Prediction, Predictor


@contextmanager
def cluster_client(client: Any = None, scheduler: str | None = None,
                   workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: the one given, one connected to ``scheduler``, the current
    default client, or a LocalCluster of ``workers`` processes (default: one per core) with
    one thread each. Clients and clusters made here are closed on exit."""
    if client is not None:
        yield client
        return
    try:
        from distributed import Client, LocalCluster, default_client
    except ImportError:
        from zoo.errors import MissingExtraError

        raise MissingExtraError("--engine dask", "dask") from None
    if scheduler:
        try:
            remote = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise ZooError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        with remote:
            yield remote
        return
    if workers is None:
        try:
            yield default_client()
            return
        except ValueError:  # no client in this process: start a local cluster
            pass
    n = workers or os.cpu_count() or 1
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as local:
        yield local


def window_for(client: Any) -> int:
    """Jobs in flight: two per worker thread, so every worker has its next job waiting."""
    return max(2, 2 * sum(client.nthreads().values()))


def _predictions(job: Job, spec: PredictorSpec, settings: JobSettings) -> list[Prediction]:
    heap_for_image_buffers()
    return run_job(predictor_for(spec), job, settings, processes=False)


def _shard(job: Job, spec: PredictorSpec, settings: JobSettings, folder: str,
           fmt: str) -> JobResult:
    heap_for_image_buffers()
    return run_job_to_shard(predictor_for(spec), job, settings, folder, fmt, processes=False)


def _submit_window(client: Any, fn: Callable[..., Any], jobs: Iterable[Job], args: tuple[Any, ...],
                   ordered: bool) -> Iterator[tuple[Job, Any]]:
    """(job, result) for every job, with at most ``window_for(client)`` jobs submitted and
    not yet handed out; in job order when ``ordered``, else as they finish."""
    from distributed import as_completed

    run = uuid.uuid4().hex[:8]
    todo = iter(jobs)

    def submit(job: Job) -> Any:
        return client.submit(fn, job, *args, key=f"zoo-{run}-{job.index}", pure=False)

    window = window_for(client)
    if ordered:
        inflight: deque[tuple[Job, Any]] = deque()
        for job in todo:
            inflight.append((job, submit(job)))
            if len(inflight) >= window:
                head, future = inflight.popleft()
                yield head, future.result()
        while inflight:
            head, future = inflight.popleft()
            yield head, future.result()
        return
    jobs_of: dict[Any, Job] = {}
    pending = as_completed()
    for job in todo:
        future = submit(job)
        jobs_of[future] = job
        pending.add(future)
        if len(jobs_of) >= window:
            break
    for future in pending:
        job = jobs_of.pop(future)
        result = future.result()
        following = next(todo, None)
        if following is not None:
            nxt = submit(following)
            jobs_of[nxt] = following
            pending.add(nxt)
        yield job, result


def iter_predict(predictor: Predictor, items: Iterable[str | Path], *, client: Any = None,
                 scheduler: str | None = None, workers: int | None = None, top_k: int = 1,
                 batch_size: int = 64, readers: int = 2, files_per_job: int = FILES_PER_JOB,
                 **options: Any) -> Iterator[Prediction]:
    """Predictions for ``items`` computed on a cluster, in input order (job by job)."""
    settings = JobSettings(top_k, batch_size, readers, dict(options))
    samples = predictor.task.samples((str(i) for i in items), predictor.sample_options(options))
    with cluster_client(client, scheduler, workers) as active:
        for _, predictions in _submit_window(active, _predictions, cut_jobs(samples, files_per_job),
                                             (spec_of(predictor), settings), ordered=True):
            yield from predictions


def run_to_folder(client: Any, spec: PredictorSpec, jobs: Iterable[Job], settings: JobSettings,
                  folder: str, fmt: str) -> Iterator[tuple[Job, JobResult]]:
    """Run ``jobs`` on ``client``'s cluster, each writing its shard into ``folder``."""
    with cluster_client(client) as active:
        yield from _submit_window(active, _shard, jobs, (spec, settings, folder, fmt),
                                  ordered=False)
