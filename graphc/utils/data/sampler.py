"""Samplers: the order of indices a ``DataLoader`` visits.

Random samplers draw lazily, a chunk at a time: ``RandomSampler(ds, replacement=True,
num_samples=10**12)`` costs nothing until iterated (and then memory for one chunk).
"""

from __future__ import annotations

import collections.abc

import numpy as np

from ... import random as _random
from ..._factories import as_tensor
from ..._functional import multinomial

__all__ = [
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler",
]

# Indices drawn per chunk by the samplers that draw with replacement.
_CHUNK = 4096


class Sampler:
    """An iterable of dataset indices."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _generator(generator):
    """The given generator, or a fresh one seeded from the default generator (as PyTorch does)."""
    if generator is not None:
        return generator
    g = _random.Generator()
    g.manual_seed(_random.default_generator.next_seed())
    return g


class RandomSampler(Sampler):
    """A random permutation each epoch (or ``num_samples`` draws with replacement)."""

    def __init__(self, data_source, replacement: bool = False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        rng = _generator(self.generator).numpy_rng()
        if self.replacement:
            left = self.num_samples
            while left > 0:  # lazily, one chunk at a time
                chunk = min(left, _CHUNK)
                yield from rng.integers(0, n, size=chunk).tolist()
                left -= chunk
            return
        for _ in range(self.num_samples // n):
            yield from (int(i) for i in rng.permutation(n))
        rest = self.num_samples % n
        if rest:
            yield from (int(i) for i in rng.permutation(n)[:rest])

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        rng = _generator(self.generator).numpy_rng()
        for i in rng.permutation(len(self.indices)):
            yield self.indices[int(i)]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn in proportion to ``weights`` (with replacement by default),
    through ``graphc.multinomial``, as PyTorch's.

    >>> WeightedRandomSampler([0.1, 0.9, 0.4], 5, replacement=True)
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        if isinstance(weights, collections.abc.Sequence) or hasattr(weights, "shape"):
            w = np.asarray(weights, dtype=np.float64)
        else:
            raise TypeError(f"weights should be a sequence or a tensor, got {type(weights).__name__}")
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}")
        self.weights = as_tensor(w)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        drawn = multinomial(self.weights, self.num_samples, self.replacement, generator=_generator(self.generator))
        yield from drawn.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group another sampler's indices into lists of ``batch_size``."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
