"""``DistributedSampler``: each rank of a data-parallel job visits its own share of a dataset.

As in PyTorch: with ``shuffle=True`` the indices are permuted by a generator
seeded with ``seed + epoch`` (call ``set_epoch(epoch)`` at the start of each
epoch, or every epoch repeats the first one's order), the same permutation on
every rank; the list is then padded by repeating its start (or cut, with
``drop_last=True``) to a multiple of ``num_replicas``, and rank ``r`` takes
every ``num_replicas``-th index starting at ``r``. So the ranks' shares are
disjoint (apart from the padding) and together cover the dataset.
"""

from __future__ import annotations

import math

import numpy as np

from ...distributed import _state
from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """Indices of this rank's share of ``dataset`` (``num_replicas`` and ``rank`` default to the job's)."""

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None:
            num_replicas = _state.default_group("DistributedSampler").size()
        if rank is None:
            rank = _state.default_group("DistributedSampler").rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[: self.total_size]
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` in the shuffle's seed: a new order each epoch, the same on every rank."""
        self.epoch = epoch
