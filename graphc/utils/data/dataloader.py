"""``DataLoader``: batches of samples from a dataset, collated into tensors.

With ``num_workers=0`` (the default) batches are loaded in the caller's thread;
with ``num_workers > 0`` in worker processes (:mod:`._workers`: ``prefetch_factor``,
``persistent_workers``, ``worker_init_fn``, ``get_worker_info``, per-epoch seeds from
``generator``), as in PyTorch. A ``TensorDataset`` (or a ``Subset`` of one) with the
default collate is batched with one ``index_select`` per tensor instead of stacking samples.
"""

from __future__ import annotations

import collections.abc
import numbers

import numpy as np

from ir import dtypes as dt

from ... import _functional as _F
from ... import random as _random
from ..._factories import as_tensor, tensor
from ..._tensor import Tensor
from ._workers import MultiProcessIter, _WorkerPool, get_worker_info
from .dataset import IterableDataset, _has_fast_batch
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]


def default_convert(data):
    """numpy arrays and scalars (and containers of them) to tensors; everything else unchanged.
    A plain tuple comes back as a list, as PyTorch's (kept there for backward compatibility)."""
    if isinstance(data, np.ndarray) and data.dtype.kind in "biufc":
        return as_tensor(data)
    if isinstance(data, np.generic) and data.dtype.kind in "biufc":
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return (
            type(data)({k: default_convert(v) for k, v in data.items()})
            if not isinstance(data, dict)
            else {k: default_convert(v) for k, v in data.items()}
        )
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data


def default_collate(batch):
    """Stack a list of samples: tensors along a new dim 0, numbers into a tensor, containers per field.

    >>> default_collate([(graphc.ones(2), 0), (graphc.zeros(2), 1)])
    [tensor([[1., 1.], [0., 0.]]), tensor([0, 1])]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _F.stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in "biuf":
            raise TypeError(
                f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {elem.dtype}"
            )
        return _F.stack([as_tensor(b) for b in batch], 0)
    if isinstance(elem, np.generic):
        return as_tensor(np.asarray(batch))
    if isinstance(elem, bool):
        return tensor(list(batch), dtype=dt.bool_)
    if isinstance(elem, int):
        return tensor(list(batch), dtype=dt.int64)
    if isinstance(elem, float):
        return tensor(list(batch), dtype=dt.float64)
    if isinstance(elem, (str, bytes)):
        return batch  # as given: a field of a tuple sample stays the tuple zip made, as PyTorch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:  # the batch keeps the samples' mapping type (OrderedDict, a dict subclass), as in PyTorch
            return collated if type(elem) is dict else type(elem)(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(samples) for samples in zip(*batch)]
    if isinstance(elem, numbers.Number):
        return tensor(list(batch))
    raise TypeError(
        f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {type(elem)}"
    )


class DataLoader:
    """Iterate over a dataset in batches.

    ``shuffle=True`` draws a new permutation every epoch from ``generator`` (a
    ``graphc.Generator``; by default one seeded from the global generator, so
    ``graphc.manual_seed`` makes shuffling repeatable). ``drop_last`` drops an
    incomplete last batch. ``num_workers > 0`` loads batches in that many worker
    processes (see :mod:`graphc.utils.data._workers`); ``pin_memory`` is accepted
    and ignored (graphc has no pinned host memory).
    """

    def __init__(
        self,
        dataset,
        batch_size=1,
        shuffle=None,
        sampler=None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn=None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor=None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 to enable "
                "multiprocessing, otherwise set prefetch_factor to None."
            )
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.prefetch_factor = 2 if num_workers > 0 and prefetch_factor is None else prefetch_factor
        if self.prefetch_factor is not None and self.prefetch_factor < 1:
            raise ValueError("prefetch_factor option should be a positive integer")
        self.persistent_workers = persistent_workers
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order
        self._pool = None
        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}"
                )
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler/batch_sampler options")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._auto_collation = batch_sampler is not None or (self._iterable and batch_size is not None)
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _index_sampler(self) -> Sampler:
        return self.batch_sampler if self._auto_collation else self.sampler

    def _fetcher(self):
        """What turns one sampler item (or, for an iterable dataset, a stream) into a batch; a
        picklable object, so worker processes can run it too."""
        return _Fetcher(self.dataset, self._auto_collation, self.collate_fn, self.batch_size, self.drop_last,
                        self._iterable)

    def __iter__(self):
        # Drawn in every mode (as PyTorch does), so a seeded generator gives the same order of
        # batches whatever num_workers is.
        base_seed = (self.generator or _random.default_generator).next_seed() % (2**62)
        if self.num_workers == 0:
            return _SingleProcessIter(self, self._single_process_iter())
        if self._pool is None or not self._pool.alive:
            self._pool = _WorkerPool(self, base_seed)
        else:  # persistent workers: a new epoch on the same processes
            self._pool.reseed(base_seed)
        return MultiProcessIter(self, self._pool)

    def _single_process_iter(self):
        fetch = self._fetcher()
        if self._iterable:
            stream = iter(self.dataset)
            while True:
                try:
                    yield fetch(stream)
                except StopIteration:
                    return
        for indices in self._index_sampler:
            yield fetch(indices)

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown()

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_sampler)


class _SingleProcessIter:
    """One epoch in this process: the batches, and ``len()`` as the loader's (PyTorch's
    ``_SingleProcessDataLoaderIter`` has one; a bare generator does not)."""

    def __init__(self, loader, batches):
        self._loader, self._batches = loader, batches

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._batches)

    def __len__(self) -> int:
        return len(self._loader)


class _Fetcher:
    """One batch: from sampler indices (map-style) or the next samples of a stream (iterable)."""

    def __init__(self, dataset, auto_collation, collate_fn, batch_size, drop_last, iterable):
        self.dataset, self.auto_collation, self.collate_fn = dataset, auto_collation, collate_fn
        self.batch_size, self.drop_last, self.iterable = batch_size, drop_last, iterable
        self.fast = collate_fn is default_collate and not iterable and _has_fast_batch(dataset)

    def __call__(self, item):
        if self.iterable:
            return self._from_stream(item)
        dataset = self.dataset
        if not self.auto_collation:
            return self.collate_fn(dataset[item])
        if self.fast:
            return list(dataset._get_batch(item))
        getitems = getattr(dataset, "__getitems__", None)
        if callable(getitems):
            return self.collate_fn(getitems(item))
        return self.collate_fn([dataset[i] for i in item])

    def _from_stream(self, stream):
        if not self.auto_collation:
            return self.collate_fn(next(stream))
        batch = []
        for sample in stream:
            batch.append(sample)
            if len(batch) == self.batch_size:
                return self.collate_fn(batch)
        if not batch or self.drop_last:
            raise StopIteration
        return self.collate_fn(batch)
