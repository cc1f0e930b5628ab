"""Reading files for the local engine: reader processes for big runs, threads for small ones.

Decoding and cropping a raw Omega scan is ~7-10 ms of CPU, mostly under Python's global lock
(libspng holds it while it decodes; the reader's crop, layout checks and resample hold it in
part). Reader threads of one process therefore decode about one file at a time, whatever
the number of cores: measured on 2 idle cores, the threaded local engine ran at 0.53-0.57 of
the decode bound, against 0.83 for the Dask engine, whose workers are processes
(docs/benchmarks.md). So a run of :data:`PROCESS_MIN_SAMPLES` samples or more is read by a
pool of reader processes, while this process keeps inference (onnxruntime releases the lock).

A reader process gets only the task's registry name and module, the samples (keys and paths)
and the options; it rebuilds the task once from the registry. Predictors and onnxruntime
sessions never leave this process. The pool is started on first use (spawn: ~0.4 s of
imports per process, paid once per process lifetime) and kept for later runs, until
:func:`shutdown` or interpreter exit. Smaller runs, tasks defined in ``__main__`` and
one-core machines use threads, where that start-up would cost more than it saves.
"""

from __future__ import annotations

import ctypes
import dataclasses
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import Any

import numpy as np

from zoo.errors import InputError, ZooError
from zoo.io.limits import Limits, limits, set_limits
from zoo.task import Sample, Task

#: samples below which a run is read by threads: starting the reader processes (~0.8 s on 2
#: cores, once) would cost more than the ~100 files/s the threads lose against them
PROCESS_MIN_SAMPLES = 200

#: what a reader hands back for each sample: the model inputs, or the one-line failure
Read = tuple[Sample, dict[str, np.ndarray] | str]


def read_chunk(task: Task, samples: list[Sample], options: Mapping[str, Any]) -> list[Read]:
    """Read ``samples`` one after another; a failure becomes its one-line message."""
    out: list[Read] = []
    for sample in samples:
        try:
            out.append((sample, task.read(sample, options)))
        except InputError as exc:
            out.append((sample, str(exc)))
        except ZooError as exc:
            out.append((sample, f"{sample.key}: {exc}"))
        except Exception as exc:  # a reader bug must not kill a million-file run
            out.append((sample, f"{sample.key}: {type(exc).__name__}: {exc}"))
    return out


def use_processes(task: Task, samples: int) -> bool:
    """Whether a run of at least ``samples`` samples is read in processes (see the module)."""
    return (samples >= PROCESS_MIN_SAMPLES and (os.cpu_count() or 1) >= 2
            and type(task).__module__ != "__main__")


def default_workers(processes: bool) -> int:
    """Reader processes: one per core (inference runs beside them in this process);
    threads: one more than the cores, at most 4, as the lock lets few of them run at once."""
    cores = os.cpu_count() or 1
    return cores if processes else min(4, cores + 1)


class ProcessReader:
    """Submits chunks of samples to the shared pool of reader processes.

    A reader process that dies (killed, out of memory, a crash in a decoder) breaks the pool:
    the chunks in flight fail (:func:`zoo.predictor._read_result` turns them into one line
    per sample) and the next chunk goes to a new pool, so the run goes on.
    """

    def __init__(self, task: Task, workers: int):
        self.workers = workers
        self.task_ref = (task.name, type(task).__module__)

    def submit(self, samples: list[Sample], options: Mapping[str, Any]) -> Future[list[Read]]:
        try:
            return self._submit(samples, options)
        except BrokenProcessPool:  # a reader died: this chunk and the next go to a new pool
            shutdown()
            return self._submit(samples, options)

    def _submit(self, samples: list[Sample], options: Mapping[str, Any]) -> Future[list[Read]]:
        # Making a pool starts multiprocessing's resource tracker, which unblocks SIGINT when
        # it is up: so outside the signals held while a reader process may be started.
        pool = _pool(self.workers)
        with _signals_held():
            return pool.submit(_read_in_process, self.task_ref, limits(), samples,
                               dict(options))


_POOL: tuple[int, ProcessPoolExecutor] | None = None
_POOL_LOCK = threading.Lock()


def _pool(workers: int) -> Executor:
    """The pool of ``workers`` reader processes, started once and reused by later runs."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None and _POOL[0] != workers:
            _POOL[1].shutdown(wait=True, cancel_futures=True)
            _POOL = None
        if _POOL is None:
            _POOL = (workers, ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_reader_started))
        return _POOL[1]


def shutdown() -> None:
    """Stop the reader processes (each finishes the chunk it is reading); the next big run
    starts new ones. The CLI calls this when a command ends, however it ends."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL[1].shutdown(wait=True, cancel_futures=True)
            _POOL = None


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM held back while a reader process may be started.

    A process started meanwhile inherits this thread's signal mask, so Ctrl-C (sent to the
    whole foreground group) cannot interrupt it while it imports, before
    :func:`_reader_started` ignores it. And this process handles SIGINT/SIGTERM only after the
    start is complete: stopped halfway, between starting a reader and sending it its
    instructions, the reader would die with a traceback. A signal that came meanwhile is
    handled right after, as it would have been.
    """
    wanted = (signal.SIGINT, signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or \
            not hasattr(signal, "pthread_sigmask") or \
            any(signal.getsignal(sig) is None for sig in wanted):
        # Python handles signals in the main thread only; Windows has no signal masks; a
        # handler installed outside Python could not be put back.
        yield
        return
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _: caught.append(signum)) for sig in wanted}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum in caught[:1]:
            handler = previous[signal.Signals(signum)]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)


def _reader_started() -> None:
    """In each reader process: Ctrl-C is for the parent, which stops the pool (a reader
    that took it would print a traceback); and a reader whose parent died exits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    heap_for_image_buffers()
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True,
                         name="zoo-parent-watch").start()


def _exit_with(parent: Any) -> None:
    parent.join()  # returns when the parent process has gone, however it ended
    os._exit(1)


@lru_cache(maxsize=1)
def heap_for_image_buffers() -> None:
    """Undo, in a reading process, what distributed's ``MALLOC_TRIM_THRESHOLD_`` does to
    image buffers.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, and a LocalCluster
    leaves it in its own process's environment, so reader processes started there later
    inherit it too. It also pins glibc's mmap threshold at 128 KiB: every decoded scan
    (1.9 MB) then comes from a fresh ``mmap`` and is zero-filled page by page. That doubled
    a Dask worker's CPU per raw Omega scan (8.4 s against 4.2 s for a job of 256, measured
    here), and a reader process's (19-21 ms against ~11 ms a file end to end). ``mallopt``
    puts buffers up to 32 MiB back on the heap and trims it only past 64 MiB free. Only where
    the variable is set, on glibc.
    """
    if sys.platform != "linux" or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)
    libc.mallopt(m_trim_threshold, 64 << 20)


@cache
def _task(name: str, module: str) -> Task:
    """The task, rebuilt from the registry in a reader process: importing its module
    registers it (tasks added outside ``zoo.tasks`` included). A broken task module was
    already reported by the parent; the readers do not repeat it."""
    from zoo.registry import get_task

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        importlib.import_module(module)
        return get_task(name)


def _read_in_process(task_ref: tuple[str, str], given: Limits, samples: list[Sample],
                     options: dict[str, Any]) -> list[Read]:
    """The reader processes' unit of work: one chunk, under the parent's input limits."""
    if limits() != given:
        set_limits(**dataclasses.asdict(given))
    return read_chunk(_task(*task_ref), samples, options)
