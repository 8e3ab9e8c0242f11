"""Data loading with PyTorch's semantics: worker processes (``num_workers``, ``persistent_workers``,
``prefetch_factor``, ``worker_init_fn``, ``generator``, ``get_worker_info``), lazy random
sampling, ``WeightedRandomSampler``, ``random_split``/``Subset``/``ConcatDataset`` and
``default_collate`` of dicts and namedtuples.

References: the single-process loader (itself checked in test_data.py), explicit index
lists, and frequencies against the weights within 6 standard errors."""

from __future__ import annotations

import collections
import itertools
import os
import random

import numpy as np
import pytest

import graphc
from graphc.utils.data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Subset,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    get_worker_info,
    random_split,
)

Pair = collections.namedtuple("Pair", ["x", "label"])


class Numbers(Dataset):
    """Sample i: a dict with i, the worker that loaded it, and draws from the seeded generators."""

    def __init__(self, n=23):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        info = get_worker_info()
        return {
            "i": graphc.tensor([float(i)]),
            "worker": -1 if info is None else info.id,
            "draw": graphc.rand(1),
            "py": random.random(),
            "init": os.environ.get("TEST_WORKER_INIT", ""),
        }


class Failing(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise KeyError(f"bad sample {i}")
        return i


class Dying(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 3:
            os._exit(3)
        return i


class Shards(IterableDataset):
    """0..n-1, split between workers by get_worker_info (PyTorch's documented pattern)."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


def _init(worker_id):
    os.environ["TEST_WORKER_INIT"] = f"w{worker_id}"


def _ids(batches):
    return [b["i"].reshape(-1).tolist() for b in batches]


def test_workers_give_the_single_process_batches_in_order():
    ref = list(DataLoader(Numbers(), batch_size=4, shuffle=True, generator=graphc.Generator().manual_seed(3)))
    got = list(DataLoader(Numbers(), batch_size=4, shuffle=True, num_workers=3, prefetch_factor=3,
                          generator=graphc.Generator().manual_seed(3), worker_init_fn=_init))
    assert _ids(got) == _ids(ref)
    assert sorted(itertools.chain(*_ids(got))) == list(range(23))
    workers = {int(w) for b in got for w in b["worker"].tolist()}
    assert workers == {0, 1, 2}
    assert {s for b in got for s in b["init"]} == {"w0", "w1", "w2"}
    assert os.environ.get("TEST_WORKER_INIT") is None  # worker_init_fn ran in the workers only


def test_worker_seeds_differ_between_workers_and_epochs():
    dl = DataLoader(Numbers(12), batch_size=1, num_workers=2, generator=graphc.Generator().manual_seed(0))
    e1 = [(b["draw"].item(), b["py"].item()) for b in dl]
    e2 = [(b["draw"].item(), b["py"].item()) for b in dl]
    assert e1 != e2  # a new base seed every epoch
    assert e1[0] != e1[1]  # worker 0 and worker 1 drew from different seeds
    again = DataLoader(Numbers(12), batch_size=1, num_workers=2, generator=graphc.Generator().manual_seed(0))
    assert [(b["draw"].item(), b["py"].item()) for b in again] == e1  # the loader's generator decides


def test_persistent_workers_survive_epochs():
    dl = DataLoader(Numbers(10), batch_size=3, num_workers=2, persistent_workers=True)
    first = list(dl)
    pids = [p.pid for p in dl._pool.procs]
    second = list(dl)
    assert [p.pid for p in dl._pool.procs] == pids and all(p.is_alive() for p in dl._pool.procs)
    assert _ids(first) == _ids(second) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    dl._pool.shutdown()
    transient = DataLoader(Numbers(4), batch_size=2, num_workers=2)
    list(transient)
    assert transient._pool is None


def test_iterable_dataset_shards_and_drop_last():
    got = [b.tolist() for b in DataLoader(Shards(10), batch_size=3, num_workers=2)]
    assert got == [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]
    dropped = [b.tolist() for b in DataLoader(Shards(10), batch_size=3, num_workers=2, drop_last=True)]
    assert dropped == [[0, 2, 4], [1, 3, 5]]
    assert sorted(x for b in DataLoader(Shards(7), batch_size=None, num_workers=3) for x in [int(b)]) == list(range(7))


def test_out_of_order_delivery_returns_every_batch():
    got = list(DataLoader(Numbers(20), batch_size=3, num_workers=3, in_order=False))
    assert sorted(itertools.chain(*_ids(got))) == list(range(20))


def test_worker_exception_is_raised_with_its_traceback():
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process") as info:
        list(DataLoader(Failing(), batch_size=2, num_workers=2))
    assert "bad sample 5" in str(info.value)


def test_dead_worker_is_detected():
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(DataLoader(Dying(), batch_size=1, num_workers=2))


def test_option_errors():
    ds = Numbers(4)
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="timeout"):
        DataLoader(ds, num_workers=1, timeout=-1)


def test_tensor_dataset_fast_path_in_workers():
    x = graphc.arange(30.0).reshape(10, 3)
    y = graphc.arange(10)
    got = list(DataLoader(TensorDataset(x, y), batch_size=4, num_workers=2))
    assert [b[1].tolist() for b in got] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    np.testing.assert_array_equal(got[2][0].numpy(), x.numpy()[8:])


# -- samplers ------------------------------------------------------------------------------------


def test_random_sampler_with_replacement_is_lazy():
    s = RandomSampler(range(7), replacement=True, num_samples=10**12, generator=graphc.Generator().manual_seed(0))
    assert len(s) == 10**12
    head = list(itertools.islice(iter(s), 20000))  # would need ~7 TiB if drawn up front
    assert min(head) >= 0 and max(head) <= 6
    counts = np.bincount(head, minlength=7) / len(head)
    assert np.all(np.abs(counts - 1 / 7) < 6 * np.sqrt((1 / 7) * (6 / 7) / len(head)))


def test_weighted_random_sampler():
    w = [0.0, 1.0, 3.0, 6.0]
    s = WeightedRandomSampler(w, 40000, generator=graphc.Generator().manual_seed(1))
    drawn = list(s)
    assert len(drawn) == len(s) == 40000
    f = np.bincount(drawn, minlength=4) / 40000
    p = np.array(w) / 10
    assert f[0] == 0 and np.all(np.abs(f - p) <= 6 * np.sqrt(p * (1 - p) / 40000) + 1e-12)
    no_rep = list(WeightedRandomSampler(graphc.tensor([1.0, 2.0, 3.0, 4.0]), 4, replacement=False))
    assert sorted(no_rep) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler(w, 0)
    with pytest.raises(ValueError, match="replacement"):
        WeightedRandomSampler(w, 3, replacement=1)
    batches = list(DataLoader(TensorDataset(graphc.arange(4)), batch_size=5,
                              sampler=WeightedRandomSampler([0, 0, 1, 0], 10)))
    assert [b[0].tolist() for b in batches] == [[2] * 5, [2] * 5]


# -- datasets and collation ------------------------------------------------------------------


def test_random_split_subset_concat():
    ds = TensorDataset(graphc.arange(10))
    a, b = random_split(ds, [0.7, 0.3], generator=graphc.Generator().manual_seed(5))
    a2, b2 = random_split(ds, [7, 3], generator=graphc.Generator().manual_seed(5))
    assert len(a) == 7 and len(b) == 3 and a.indices == a2.indices
    assert sorted(a.indices + b.indices) == list(range(10))
    sub = Subset(ds, [9, 0, 4])
    assert [int(sub[i][0]) for i in range(3)] == [9, 0, 4]
    cat = ConcatDataset([sub, Subset(ds, [1, 2])])
    assert len(cat) == 5 and [int(cat[i][0]) for i in range(5)] == [9, 0, 4, 1, 2] and int(cat[-1][0]) == 2
    assert [b[0].tolist() for b in DataLoader(cat, batch_size=2, num_workers=2)] == [[9, 0], [4, 1], [2]]


def test_default_collate_dicts_and_namedtuples():
    batch = [
        collections.OrderedDict(x=graphc.tensor([1.0, 2.0]), meta=Pair(np.float64(0.5), 1)),
        collections.OrderedDict(x=graphc.tensor([3.0, 4.0]), meta=Pair(np.float64(1.5), 0)),
    ]
    out = default_collate(batch)
    assert isinstance(out, collections.OrderedDict) and list(out) == ["x", "meta"]
    np.testing.assert_array_equal(out["x"].numpy(), [[1.0, 2.0], [3.0, 4.0]])
    assert isinstance(out["meta"], Pair)
    assert out["meta"].x.dtype is graphc.float64 and out["meta"].x.tolist() == [0.5, 1.5]
    assert out["meta"].label.tolist() == [1, 0]
