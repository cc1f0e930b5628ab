"""Big prediction runs cut into jobs of a few hundred samples, for any engine.

The client walks the inputs lazily (files, folders, globs, manifests), groups them into
samples with the task's own rules, and cuts the sample stream into :class:`Job` s. A job is
what an engine runs in one go: the local engine in this process, the Dask engine
(:mod:`zoo.dask_engine`) on a worker. A job carries only sample keys and paths; the worker
gets the weights from a :class:`PredictorSpec` and keeps one predictor (one onnxruntime
session per weight set) per process, so that sessions are loaded once and never pickled.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import WeightsError, ZooError
from zoo.io.shards import SUMMARY, ShardFolder, check_format, fingerprint, write_shard
from zoo.task import Sample

if TYPE_CHECKING:
    from zoo.predictor import Prediction, Predictor

#: samples per job: big enough that scheduling costs nothing next to decoding (~1 s of work
#: per job on one core for raw Omega scans), small enough that a lost job costs little
FILES_PER_JOB = 256


@dataclass(frozen=True)
class Job:
    """One unit of work: consecutive samples, numbered in input order."""

    index: int
    samples: tuple[Sample, ...]

    @property
    def files(self) -> int:
        return sum(len(s.sources) for s in self.samples)

    @property
    def fingerprint(self) -> str:
        return fingerprint(s.key for s in self.samples)


@dataclass(frozen=True)
class PredictorSpec:
    """What a worker needs to build the client's predictor: names and settings, no session.

    ``sha256`` is the client's default weight file; a worker whose copy differs (another zoo
    version, a changed run folder) refuses to predict instead of mixing weight versions.
    """

    task: str
    weights: str
    arch: str | None
    device: str
    sha256: str
    fp16: bool = False
    micro_batch: int | None = None
    threads: int = 1


@dataclass
class JobSettings:
    """Per-job prediction settings, the same for every job of a run."""

    top_k: int = 1
    batch_size: int = 64
    #: file readers per job, processes or threads (None: the predictor's default for this
    #: machine; see :meth:`Predictor.iter_samples`)
    readers: int | None = 2
    options: dict[str, Any] = field(default_factory=dict)


def cut_jobs(samples: Iterable[Sample], size: int = FILES_PER_JOB) -> Iterator[Job]:
    """Consecutive jobs of ``size`` samples, drawn lazily (the client holds one at a time)."""
    part: list[Sample] = []
    index = 0
    for sample in samples:
        part.append(sample)
        if len(part) >= size:
            yield Job(index, tuple(part))
            index, part = index + 1, []
    if part:
        yield Job(index, tuple(part))


def spec_of(predictor: Predictor, threads: int = 1) -> PredictorSpec:
    return PredictorSpec(predictor.task.name, str(predictor.weights), predictor.arch,
                         predictor.device, predictor.model.meta.sha256, predictor.fp16,
                         predictor.micro_batch, threads)


_PREDICTORS: dict[PredictorSpec, Predictor] = {}
_PREDICTORS_LOCK = threading.Lock()


def predictor_for(spec: PredictorSpec) -> Predictor:
    """This process's predictor for ``spec``: built (and its weights' sha256 checked) once."""
    with _PREDICTORS_LOCK:
        predictor = _PREDICTORS.get(spec)
        if predictor is None:
            from zoo.predictor import Predictor
            from zoo.registry import get_task

            predictor = Predictor(get_task(spec.task), spec.weights, spec.arch, spec.device,
                                  spec.threads, fp16=spec.fp16, micro_batch=spec.micro_batch)
            if predictor.model.meta.sha256 != spec.sha256:
                raise WeightsError(
                    f"weights {predictor.model.meta.name} on this worker have sha256 "
                    f"{predictor.model.meta.sha256[:12]}..., the client's {spec.sha256[:12]}...: "
                    "install the same zoo version and weights everywhere")
            _PREDICTORS[spec] = predictor
        return predictor


def run_job(predictor: Predictor, job: Job, settings: JobSettings, *,
            processes: bool | None = None) -> list[Prediction]:
    """Predictions for every sample of ``job`` (failures carry their one-line reason).

    ``processes``: read in reader processes or threads (None: by the job's size, see
    :meth:`Predictor.iter_samples`); a Dask worker, one process per core, reads in threads.
    """
    options = predictor.sample_options(settings.options)
    return list(predictor.iter_samples(job.samples, settings.top_k, settings.batch_size,
                                       settings.readers, processes=processes, **options))


@dataclass
class JobResult:
    """What travels back from a job written to a shard: counts, not predictions."""

    ok: int
    errors: list[str]
    #: name -> sha256 of the weight sets this job's predictor had loaded
    weights: dict[str, str]


def run_job_to_shard(predictor: Predictor, job: Job, settings: JobSettings,
                     folder: str, fmt: str, *, processes: bool | None = None) -> JobResult:
    """Run ``job`` and write its shard; only counts and error lines travel back."""
    ok, errors = write_shard(folder, fmt, job.index, job.fingerprint,
                             run_job(predictor, job, settings, processes=processes))
    return JobResult(ok, errors, predictor.loaded_weights())


@dataclass
class RunSummary:
    """What a sharded run did; written to ``summary.json`` beside the shards."""

    samples: int = 0
    ok: int = 0
    failed: int = 0
    jobs: int = 0
    skipped_jobs: int = 0
    seconds: float = 0.0
    #: name -> sha256 of every weight set used, on the client or any worker
    weights: dict[str, str] = field(default_factory=dict)

    def add(self, samples: int, ok: int, failed: int) -> None:
        self.samples, self.ok, self.failed = self.samples + samples, self.ok + ok, \
            self.failed + failed


#: callback(files finished, failed samples among them) after each job, for progress bars
OnJob = Callable[[int, int], None]
#: callback(one-line error) for each failed input, as the local engine reports them
OnError = Callable[[str], None]


def predict_to_folder(predictor: Predictor, items: Iterable[str | Path], folder: str | Path,
                      fmt: str = "parquet", *, engine: str = "local", client: Any = None,
                      files_per_job: int = FILES_PER_JOB, settings: JobSettings | None = None,
                      on_job: OnJob | None = None, on_error: OnError | None = None,
                      command: str | None = None) -> RunSummary:
    """Predict ``items`` into one shard per job under ``folder``; jobs already there are skipped.

    ``engine="local"`` runs jobs one after another in this process with ``predictor``'s
    threads; ``engine="dask"`` sends them to ``client``'s cluster (see :mod:`zoo.dask_engine`).
    """
    if engine not in ("local", "dask"):
        raise ZooError(f"unknown engine {engine!r}; valid: local, dask")
    settings = settings or JobSettings()
    shards = ShardFolder(folder, check_format(fmt))
    summary = RunSummary()
    started = time.perf_counter()

    def todo() -> Iterator[Job]:
        options = predictor.sample_options(settings.options)
        for job in cut_jobs(predictor.task.samples((str(i) for i in items), options),
                            files_per_job):
            summary.jobs += 1
            if shards.is_done(job.index, job.fingerprint):
                failed = shards.failures(job.index)
                summary.skipped_jobs += 1
                summary.add(len(job.samples), len(job.samples) - failed, failed)
                if on_job:
                    on_job(job.files, failed)
                continue
            yield job

    def finished(job: Job, result: JobResult) -> None:
        summary.add(len(job.samples), result.ok, len(result.errors))
        summary.weights.update(result.weights)
        for line in result.errors:
            if on_error:
                on_error(line)
        if on_job:
            on_job(job.files, len(result.errors))

    summary.weights.update(predictor.loaded_weights())
    if engine == "dask":
        from zoo.dask_engine import run_to_folder

        for job, result in run_to_folder(client, spec_of(predictor), todo(), settings,
                                         str(shards.folder), fmt):
            finished(job, result)
    else:
        for job in todo():
            finished(job, run_job_to_shard(predictor, job, settings, str(shards.folder), fmt))
    summary.seconds = time.perf_counter() - started
    write_summary(shards.folder, predictor, summary, fmt, engine, command)
    return summary


def write_summary(folder: Path, predictor: Predictor, summary: RunSummary, fmt: str,
                  engine: str, command: str | None) -> None:
    import json

    from zoo.io.files import atomic_write_text

    record = {
        "command": command if command is not None else " ".join(sys.argv),
        "task": predictor.task.name,
        "weights": summary.weights,
        "engine": engine,
        "format": fmt,
        "samples": summary.samples,
        "ok": summary.ok,
        "failed": summary.failed,
        "jobs": summary.jobs,
        "skipped_jobs": summary.skipped_jobs,
        "seconds": round(summary.seconds, 3),
    }
    atomic_write_text(folder / SUMMARY, json.dumps(record, indent=2) + "\n")
