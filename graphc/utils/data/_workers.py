"""``DataLoader(num_workers > 0)``: batches loaded in worker processes, as PyTorch does.

The main process keeps up to ``prefetch_factor * num_workers`` batches in flight: it
sends each batch's indices to a worker (round robin) over that worker's index queue, and
the workers put ``(task, batch)`` on one shared result queue. Batches come back in sampler
order (``in_order=True``, the default) or as they finish. A worker seeds ``graphc``,
``random`` and numpy's global generator with ``base_seed + worker_id`` (the base seed is
drawn from the loader's ``generator`` each epoch), sets ``get_worker_info()``, then calls
``worker_init_fn(worker_id)``.

With an ``IterableDataset`` each worker iterates its own copy of the dataset (use
``get_worker_info()`` to give each a share); the main process asks the workers in turn for
their next batch until every one is exhausted.

A worker's exception comes back and is raised in the main process with the worker's
traceback; a worker that dies is detected while waiting; ``timeout`` bounds each wait. With
``persistent_workers=True`` the processes outlive the epoch and the next ``iter(loader)``
reuses them. Tensors travel pickled (their values, not their memory). Workers run graphc's
kernels on one thread (``GRAPHC_NUM_THREADS=1``): the parent's thread pool does not survive
``fork``, and the processes already run in parallel.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import queue
import random
import traceback
from dataclasses import dataclass

import numpy as np

from ... import random as _random

__all__ = ["WorkerInfo", "get_worker_info"]

_POLL_S = 1.0  # how often a wait checks that the workers are alive


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker process."""

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: list = [None]


def get_worker_info():
    """In a DataLoader worker process: its ``WorkerInfo`` (id, num_workers, seed, dataset); else None."""
    return _worker_info[0]


class _Failure:
    """An exception raised in a worker, carried back to the main process with its traceback."""

    def __init__(self, worker_id: int, exc: BaseException):
        self.worker_id = worker_id
        self.exc_type = type(exc)
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def reraise(self):
        message = f"Caught {self.exc_type.__name__} in DataLoader worker process {self.worker_id}.\nOriginal {self.text}"
        try:
            err = self.exc_type(message)
        except Exception:  # an exception class whose constructor wants other arguments
            err = RuntimeError(message)
        raise err


class _IterationEnd:
    """A worker's answer when its copy of an IterableDataset is exhausted."""


def _seed_worker(seed: int) -> None:
    _random.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % (2**32))


def _worker_loop(fetch, dataset, index_queue, result_queue, worker_id, num_workers, seed, init_fn, iterable):
    """The body of a worker process: answer index requests until told to stop (None)."""
    os.environ["GRAPHC_NUM_THREADS"] = "1"
    _seed_worker(seed)
    _worker_info[0] = WorkerInfo(worker_id, num_workers, seed, dataset)
    init_error = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
    except Exception as e:  # reported with the first request
        init_error = _Failure(worker_id, e)
    stream = iter(dataset) if iterable and init_error is None else None
    while True:
        try:
            message = index_queue.get(timeout=_POLL_S)
        except queue.Empty:
            if os.getppid() == 1:  # the main process is gone
                return
            continue
        except (EOFError, OSError):
            return
        if message is None:
            return
        kind, task, payload = message
        if kind == "reseed":  # persistent workers: a new epoch
            _seed_worker(payload + worker_id)
            _worker_info[0] = WorkerInfo(worker_id, num_workers, payload + worker_id, dataset)
            if iterable:
                stream = iter(dataset)
            continue
        if init_error is not None:
            result_queue.put((task, init_error))
            continue
        try:
            data = fetch(stream) if iterable else fetch(payload)
        except StopIteration:
            data = _IterationEnd()
        except Exception as e:
            data = _Failure(worker_id, e)
        result_queue.put((task, data))


class _WorkerPool:
    """The worker processes of one DataLoader and their queues."""

    def __init__(self, loader, base_seed: int):
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = multiprocessing.get_context()
        elif isinstance(ctx, str):
            ctx = multiprocessing.get_context(ctx)
        self.n = loader.num_workers
        self.result_queue = ctx.Queue()
        self.index_queues, self.procs = [], []
        iterable = loader._iterable
        fetch = loader._fetcher()
        for wid in range(self.n):
            iq = ctx.Queue()
            p = ctx.Process(
                target=_worker_loop,
                args=(fetch, loader.dataset, iq, self.result_queue, wid, self.n, base_seed + wid,
                      loader.worker_init_fn, iterable),
                daemon=True,
            )
            p.start()
            self.index_queues.append(iq)
            self.procs.append(p)
        self.alive = True

    def reseed(self, base_seed: int) -> None:
        for iq in self.index_queues:
            iq.put(("reseed", None, base_seed))

    def get(self, timeout: float):
        """The next ``(task, data)`` from any worker; raises if a worker died or ``timeout`` passed."""
        waited = 0.0
        while True:
            wait = _POLL_S if timeout <= 0 else min(_POLL_S, timeout - waited)
            try:
                return self.result_queue.get(timeout=max(wait, 1e-3))
            except queue.Empty:
                waited += wait
                dead = [p.pid for p in self.procs if not p.is_alive()]
                if dead:
                    self.shutdown()
                    raise RuntimeError(
                        f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) exited unexpectedly"
                    ) from None
                if timeout > 0 and waited >= timeout:
                    raise RuntimeError(f"DataLoader timed out after {timeout} seconds") from None

    def shutdown(self) -> None:
        if not self.alive:
            return
        self.alive = False
        for iq in self.index_queues:
            try:
                iq.put(None)
            except (OSError, ValueError):
                pass
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        for q in [*self.index_queues, self.result_queue]:
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        self.shutdown()


class MultiProcessIter:
    """One epoch over a DataLoader whose batches come from worker processes."""

    def __init__(self, loader, pool: _WorkerPool):
        self.loader = loader
        self.pool = pool
        self.in_order = loader.in_order
        self.prefetch = loader.prefetch_factor * pool.n
        self.timeout = loader.timeout
        self._tasks = itertools.count()
        self._sent: dict[int, int] = {}  # task -> worker
        self._ready: dict[int, object] = {}
        self._next_task = 0
        self._worker_cycle = itertools.cycle(range(pool.n))
        self._exhausted: set = set()  # iterable datasets: workers that ran dry
        if loader._iterable:
            self._indices = None
        else:
            self._indices = iter(loader._index_sampler)
        for _ in range(self.prefetch):
            if not self._send():
                break

    def _send(self) -> bool:
        """Queue one more task; False when there is nothing left to ask for."""
        if self._indices is None:
            active = [w for w in range(self.pool.n) if w not in self._exhausted]
            if not active:
                return False
            worker = next(w for w in self._worker_cycle if w not in self._exhausted)
            payload = None
        else:
            try:
                payload = next(self._indices)
            except StopIteration:
                return False
            worker = next(self._worker_cycle)
        task = next(self._tasks)
        self.pool.index_queues[worker].put(("fetch", task, payload))
        self._sent[task] = worker
        return True

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            data = self._take()
            if data is _DONE:
                self._finish()
                raise StopIteration
            if isinstance(data, _IterationEnd):
                continue
            if isinstance(data, _Failure):
                self._finish()
                data.reraise()
            return data

    def _take(self):
        """The next reply to hand out (in task order, or as they come), receiving as needed."""
        while True:
            if self.in_order:
                if self._next_task in self._ready:
                    self._next_task += 1
                    return self._ready.pop(self._next_task - 1)
            elif self._ready:
                return self._ready.pop(next(iter(self._ready)))
            if not self._sent:
                return _DONE
            task, data = self.pool.get(self.timeout)
            worker = self._sent.pop(task)
            if isinstance(data, _IterationEnd):
                self._exhausted.add(worker)
            self._ready[task] = data
            self._send()

    def _finish(self) -> None:
        if not self.loader.persistent_workers:
            self.pool.shutdown()
            self.loader._pool = None

    def __len__(self) -> int:
        return len(self.loader)


_DONE = object()
