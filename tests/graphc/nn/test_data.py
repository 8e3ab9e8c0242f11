"""graphc.utils.data (datasets, samplers, DataLoader) and graphc.save / graphc.load."""

import io
import math
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import graphc
import graphc.nn as nn
from graphc.serialization import SerializationError
from graphc.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def make_ds(n=10):
    x = graphc.arange(n * 3, dtype=graphc.float32).reshape(n, 3)
    y = graphc.arange(n)
    return TensorDataset(x, y), x, y


# ----------------------------------------------------------------------------
# datasets and loaders


def test_tensor_dataset():
    ds, x, y = make_ds()
    assert len(ds) == 10
    xi, yi = ds[3]
    assert xi.tolist() == [9.0, 10.0, 11.0] and yi.item() == 3
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(graphc.zeros(3), graphc.zeros(4))


@pytest.mark.parametrize("drop_last, sizes", [(False, [4, 4, 2]), (True, [4, 4])])
def test_dataloader_batching(drop_last, sizes):
    ds, x, y = make_ds()
    dl = DataLoader(ds, batch_size=4, drop_last=drop_last, num_workers=2)
    assert len(dl) == len(sizes)
    batches = list(dl)
    assert [b[0].shape[0] for b in batches] == sizes
    assert isinstance(batches[0], list) and len(batches[0]) == 2
    np.testing.assert_array_equal(batches[0][0].numpy(), x.numpy()[:4])
    assert batches[1][1].tolist() == [4, 5, 6, 7] and batches[0][1].dtype == graphc.int64
    assert tuple(batches[0][0].shape) == (4, 3)


def test_dataloader_shuffle_is_deterministic_with_generator():
    ds, _, _ = make_ds(20)

    def epoch_orders(seed, epochs=2):
        dl = DataLoader(ds, batch_size=6, shuffle=True, generator=graphc.Generator().manual_seed(seed))
        return [[int(v) for b in dl for v in b[1].tolist()] for _ in range(epochs)]

    a, b = epoch_orders(0), epoch_orders(0)
    assert a == b
    assert sorted(a[0]) == list(range(20)) and sorted(a[1]) == list(range(20))
    assert a[0] != list(range(20)) and a[0] != a[1]
    assert epoch_orders(1)[0] != a[0]
    # without a generator: the global seed decides
    graphc.manual_seed(5)
    o1 = [int(v) for b in DataLoader(ds, batch_size=5, shuffle=True) for v in b[1].tolist()]
    graphc.manual_seed(5)
    o2 = [int(v) for b in DataLoader(ds, batch_size=5, shuffle=True) for v in b[1].tolist()]
    assert o1 == o2


def test_dataloader_generic_dataset_and_collate():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": graphc.full((2,), float(i)), "y": i * i, "name": f"s{i}", "w": 0.5 * i}

    batches = list(DataLoader(Squares(), batch_size=2))
    assert len(batches) == 3
    b = batches[0]
    assert b["x"].tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert b["y"].tolist() == [0, 1] and b["y"].dtype == graphc.int64
    assert b["w"].dtype == graphc.float64
    assert b["name"] == ["s0", "s1"]
    # batch_size=None: no batching
    items = list(DataLoader(Squares(), batch_size=None))
    assert items[2]["y"] == 4
    # collate of tuples, numpy arrays, custom collate_fn
    out = default_collate([(np.ones(2), 1), (np.zeros(2), 2)])
    assert out[0].tolist() == [[1.0, 1.0], [0.0, 0.0]] and out[1].tolist() == [1, 2]
    dl = DataLoader(Squares(), batch_size=3, collate_fn=lambda batch: len(batch))
    assert list(dl) == [3, 2]


def test_fast_and_slow_paths_agree():
    ds, _, _ = make_ds(9)

    class Wrapped(Dataset):
        def __len__(self):
            return len(ds)

        def __getitem__(self, i):
            return ds[i]

    g1, g2 = graphc.Generator().manual_seed(3), graphc.Generator().manual_seed(3)
    fast = list(DataLoader(ds, batch_size=4, shuffle=True, generator=g1))
    slow = list(DataLoader(Wrapped(), batch_size=4, shuffle=True, generator=g2))
    for (a, b), (c, d) in zip(fast, slow):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())


def test_random_split_and_subset():
    ds, _, y = make_ds(10)
    a, b = random_split(ds, [7, 3], generator=graphc.Generator().manual_seed(42))
    assert isinstance(a, Subset) and len(a) == 7 and len(b) == 3
    ids = sorted(a.indices + b.indices)
    assert ids == list(range(10))
    a2, _ = random_split(ds, [7, 3], generator=graphc.Generator().manual_seed(42))
    assert a2.indices == a.indices
    parts = random_split(ds, [0.5, 0.3, 0.2], generator=graphc.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [5, 3, 2]
    with pytest.raises(ValueError):
        random_split(ds, [4, 4])
    sub = Subset(ds, [2, 5])
    assert len(sub) == 2 and sub[1][1].item() == 5
    assert [t[1].tolist() for t in DataLoader(sub, batch_size=2)] == [[2, 5]]
    cat = ConcatDataset([sub, ds])
    assert len(cat) == 12 and cat[2][1].item() == 0 and cat[-1][1].item() == 9


def test_samplers():
    ds, _, _ = make_ds(7)
    assert list(SequentialSampler(ds)) == list(range(7))
    rs = list(RandomSampler(ds, generator=graphc.Generator().manual_seed(0)))
    assert sorted(rs) == list(range(7))
    assert len(list(RandomSampler(ds, replacement=True, num_samples=20))) == 20
    assert list(BatchSampler(SequentialSampler(ds), 3, drop_last=False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(BatchSampler(SequentialSampler(ds), 3, drop_last=True)) == 2


# ----------------------------------------------------------------------------
# save / load


def round_trip(obj, **load_kw):
    buf = io.BytesIO()
    graphc.save(obj, buf)
    buf.seek(0)
    return graphc.load(buf, **load_kw)


def test_save_load_nested(tmp_path):
    t = graphc.randn(3, 4)
    obj = {
        "a": t,
        "same": t,
        "ints": graphc.tensor([1, 2, 3], dtype=graphc.int16),
        "flags": graphc.tensor([True, False]),
        "nested": [1, 2.5, "text", None, True, (3, graphc.zeros(2, dtype=graphc.float64))],
        7: float("inf"),
        "nan": float("nan"),
        "dtype": graphc.float64,
        "size": graphc.Size([2, 3]),
        "od": OrderedDict([("z", 1), ("a", 2)]),
        "scalar": graphc.tensor(3.5),
        "req": graphc.ones(2, requires_grad=True),
    }
    path = tmp_path / "obj.pt"
    graphc.save(obj, str(path))
    assert zipfile.is_zipfile(path)
    got = graphc.load(path, weights_only=True)
    assert set(got) == set(obj)
    np.testing.assert_array_equal(got["a"].numpy(), t.numpy())
    assert got["a"] is got["same"]
    assert got["ints"].dtype == graphc.int16 and got["ints"].tolist() == [1, 2, 3]
    assert got["flags"].dtype == graphc.bool and got["flags"].tolist() == [True, False]
    assert got["nested"][:5] == [1, 2.5, "text", None, True]
    assert isinstance(got["nested"][5], tuple) and got["nested"][5][1].dtype == graphc.float64
    assert got[7] == math.inf and math.isnan(got["nan"])
    assert got["dtype"] is graphc.float64 and got["size"] == graphc.Size([2, 3])
    assert isinstance(got["od"], OrderedDict) and list(got["od"]) == ["z", "a"]
    assert got["scalar"].shape == graphc.Size([]) and got["scalar"].item() == 3.5
    assert got["req"].requires_grad and got["req"].is_leaf
    # loaded tensors own their memory
    got["a"].add_(1)
    assert not np.allclose(got["a"].numpy(), t.numpy())


def test_save_load_module_state_dict_and_parameters():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 2))
    net(graphc.randn(2, 1, 4, 4))  # update running stats
    sd = round_trip(net.state_dict())
    assert list(sd) == list(net.state_dict())
    assert sd["1.num_batches_tracked"].dtype == graphc.int64 and sd["1.num_batches_tracked"].item() == 1
    net2 = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 2))
    net2.load_state_dict(sd)
    net.eval()
    net2.eval()
    x = graphc.randn(3, 1, 4, 4)
    np.testing.assert_allclose(net(x).detach().numpy(), net2(x).detach().numpy())
    p = round_trip(nn.Parameter(graphc.ones(2)))
    assert isinstance(p, nn.Parameter) and p.requires_grad
    assert round_trip([1, "a"], map_location="cpu") == [1, "a"]
    assert round_trip(graphc.ones(1), map_location=graphc.device("cpu")).device.type == "cpu"


def test_load_refuses_pickles_and_foreign_archives(tmp_path):
    pkl = tmp_path / "evil.pt"
    pkl.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(SerializationError, match="not a graphc archive"):
        graphc.load(pkl)
    with pytest.raises(SerializationError):
        graphc.load(str(pkl), weights_only=False)
    z = tmp_path / "other.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("data.pkl", pickle.dumps([1]))
    with pytest.raises(SerializationError, match="not a graphc one"):
        graphc.load(z)
    bad = tmp_path / "bad.pt"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("graphc.json", '{"format": "something-else"}')
    with pytest.raises(SerializationError):
        graphc.load(bad)


def test_save_refuses_objects():
    with pytest.raises(SerializationError, match="state_dict"):
        graphc.save(nn.Linear(2, 2), io.BytesIO())
    with pytest.raises(SerializationError, match="cannot save"):
        graphc.save({"f": lambda: 0}, io.BytesIO())
