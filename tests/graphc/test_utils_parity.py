"""User-facing utilities as PyTorch 2.13 has them: Python sequences as operator operands, numpy
scalars in factories, f-string formatting, membership, deepcopy and numpy() refusals.

Expected values are PyTorch's observed behaviour written as literals (no torch import)."""

import copy
import operator

import numpy as np
import pytest

import graphc

# -- operators with Python lists and tuples ------------------------------------

_NOT_OPERANDS = ["add", "sub", "truediv", "floordiv", "mod", "pow", "matmul", "lt", "le", "gt", "ge",
                 "and_", "or_", "xor", "lshift", "rshift", "iadd", "isub", "itruediv", "iand"]


@pytest.mark.parametrize("name", _NOT_OPERANDS)
@pytest.mark.parametrize("seq", [[1, 2], (1, 2)])
def test_sequence_operands_raise_typeerror_both_ways(name, seq):
    op = getattr(operator, name)
    with pytest.raises(TypeError):
        op(graphc.tensor([1, 2]), seq)
    if not name.startswith("i"):
        with pytest.raises(TypeError):
            op(seq, graphc.tensor([1, 2]))


def test_sequence_times_tensor_repeats_the_sequence():
    # Python's sequence repeat through Tensor.__index__, as PyTorch
    assert [1, 2] * graphc.tensor(2) == [1, 2, 1, 2]
    assert graphc.tensor(2) * [1, 2] == [1, 2, 1, 2]
    assert (1, 2) * graphc.tensor(2) == (1, 2, 1, 2)
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        [1, 2] * graphc.tensor([1, 2])


def test_sequence_equality_is_identity():
    t = graphc.tensor([1, 2])
    assert (t == (1, 2)) is False and ([1, 2] == t) is False
    assert (t != [1, 2]) is True and ((1, 2) != t) is True


def test_tensor_number_and_array_operands_still_work():
    t = graphc.tensor([1, 2])
    assert (t * 2).tolist() == [2, 4]
    assert (t + np.array([1, 1])).tolist() == [2, 3]
    assert (t == np.int64(1)).tolist() == [True, False]


# -- numpy scalars keep their dtype ----------------------------------------------


@pytest.mark.parametrize(
    "value, dtype",
    [(np.float64(1.5), graphc.float64), (np.int32(1), graphc.int32), (np.float16(1), graphc.float16),
     (np.uint8(1), graphc.uint8), (np.int8(1), graphc.int8), (np.complex128(1), graphc.complex128),
     (np.complex64(1), graphc.complex64), (np.bool_(True), graphc.bool)],
)
def test_numpy_scalar_dtype_kept(value, dtype):
    assert graphc.tensor(value).dtype is dtype
    assert graphc.as_tensor(value).dtype is dtype
    assert graphc.asarray(value).dtype is dtype
    assert graphc.tensor(value).item() == value.item()


@pytest.mark.parametrize(
    "data, dtype",
    [([np.float64(1)] * 2, graphc.float64), ([np.float32(1), np.float32(2)], graphc.float32),
     ([np.int32(1)] * 2, graphc.int32), ([np.float64(1), 2.0], graphc.float64),
     ([1.0, np.float64(1)], graphc.float64), ([np.int32(1), 2], graphc.int64),
     ([np.int32(1), np.float32(2)], graphc.float32), ([np.float32(1), np.float64(2)], graphc.float64),
     ([[np.float64(1)]], graphc.float64), ([np.int64(1), 1.5], graphc.float32),
     ([np.uint8(1)], graphc.uint8), ([1.0, 2.0], graphc.float32), ([[1, 2], [3, 4]], graphc.int64)],
)
def test_sequence_of_numpy_scalars_promotes_as_pytorch(data, dtype):
    assert graphc.tensor(data).dtype is dtype
    assert graphc.as_tensor(data).dtype is dtype


@pytest.mark.parametrize(
    "fill, dtype",
    [(np.int64(3), graphc.int64), (np.int32(3), graphc.int64), (np.float64(3), graphc.float32),
     (np.bool_(True), graphc.float32), (np.complex128(3), graphc.complex64), (True, graphc.bool)],
)
def test_full_with_numpy_scalar(fill, dtype):
    assert graphc.full((2,), fill).dtype is dtype


def test_asarray_copy_argument():
    a = np.array([1.0, 2.0])
    shared, copied, default = graphc.asarray(a, copy=False), graphc.asarray(a, copy=True), graphc.asarray(a)
    a[0] = 5
    assert shared.tolist() == [5.0, 2.0] and default.tolist() == [5.0, 2.0]
    assert copied.tolist() == [1.0, 2.0]
    t = graphc.tensor([1.0, 2.0])
    assert graphc.asarray(t) is t and graphc.asarray(t, copy=True) is not t
    with pytest.raises(ValueError, match="can't alias arbitrary sequence"):
        graphc.asarray([1, 2], copy=False)
    with pytest.raises(RuntimeError, match="can't alias NumPy scalars"):
        graphc.asarray(np.float64(1), copy=False)
    with pytest.raises(ValueError, match="can't alias tensor with dtype"):
        graphc.asarray(t, dtype=graphc.float64, copy=False)
    assert graphc.asarray(t, requires_grad=True).requires_grad and not t.requires_grad


# -- formatting, membership, deepcopy, numpy() -----------------------------------


def test_format_of_zero_dim_tensor_is_its_number():
    assert f"{graphc.tensor(0.1234568)}" == "0.12345679849386215"  # the float32 value, as PyTorch
    assert format(graphc.tensor(3)) == "3" and f"{graphc.tensor(True)}" == "True"
    assert f"{graphc.tensor(0.5):.2f}" == "0.50"
    assert f"{graphc.tensor([1.0, 2.0])}" == "tensor([1., 2.])"
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{graphc.tensor([1.0, 2.0]):.2f}"
    p = graphc.nn.Parameter(graphc.tensor(0.5))  # subclasses keep their str, as PyTorch
    assert f"{p}" == "Parameter containing:\ntensor(0.5000, requires_grad=True)"


def test_contains_rejects_non_scalars():
    t = graphc.tensor([1, 2])
    for value in ("a", None, [1]):
        with pytest.raises(RuntimeError, match="only supports Tensor or scalar"):
            value in t  # noqa: B015
    assert 1 in t and 3 not in t and graphc.tensor(1) in t


def test_deepcopy_of_non_leaf_raises():
    x = graphc.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)
    assert copy.deepcopy(x).requires_grad


def test_numpy_of_bfloat16_raises():
    b = graphc.tensor([1.5], dtype=graphc.bfloat16)
    with pytest.raises(TypeError, match="BFloat16"):
        b.numpy()
    assert np.asarray(b).tolist() == [1.5] and b.float().numpy().tolist() == [1.5]


# -- serialization ---------------------------------------------------------------


def _roundtrip(obj):
    import io

    buf = io.BytesIO()
    graphc.save(obj, buf)
    buf.seek(0)
    return graphc.load(buf)


@pytest.mark.parametrize("dtype", [graphc.complex64, graphc.complex128])
def test_complex_tensors_round_trip(dtype):
    t = _roundtrip(graphc.tensor([1 + 2j, -3j], dtype=dtype))
    assert t.dtype is dtype and t.tolist() == [1 + 2j, -3j]


def test_views_saved_together_share_storage_after_load():
    base = graphc.arange(6.0)
    a, v = _roundtrip([base, base[2:5]])
    a[3] = 100
    assert v.tolist() == [2.0, 100.0, 4.0]
    x = graphc.arange(6.0).reshape(2, 3)
    m, t = _roundtrip([x, x.t()])
    assert t.stride() == (1, 3)
    m[0, 1] = 7
    assert t[1, 0].item() == 7
    p, q = _roundtrip([base[1:3], base[4:6]])  # two views without their base: one saved span
    assert (p.tolist(), q.tolist(), q.storage_offset() - p.storage_offset()) == ([1.0, 2.0], [4.0, 5.0], 3)
    r = _roundtrip([base, base])
    assert r[0] is r[1]


def test_non_leaf_reloads_requiring_grad():
    x = graphc.ones(2, requires_grad=True)
    y = _roundtrip(x * 2)
    assert y.requires_grad and y.is_leaf and y.tolist() == [2.0, 2.0]


# -- random-op argument checks -----------------------------------------------------


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: graphc.zeros(3).normal_(0, -1), RuntimeError, "normal expects std >= 0.0, but found std -1"),
        (lambda: graphc.normal(0.0, -1.0, size=(2,)), RuntimeError, "normal expects std >= 0.0"),
        (lambda: graphc.normal(0.0, graphc.tensor([-1.0, 1.0])), RuntimeError, "all elements of std >= 0.0"),
        (lambda: graphc.zeros(3).uniform_(1, -1), RuntimeError, r"\[from, to\) range, but found from=1 > to=-1"),
        (lambda: graphc.zeros(3).bernoulli_(1.3), RuntimeError, r"p to be in \[0, 1\], but got p=1.3"),
        (lambda: graphc.zeros(3).bernoulli_(graphc.tensor([1.5, 0, 0])), RuntimeError, "p_in >= 0"),
        (lambda: graphc.randint(0, 300, (3,), dtype=graphc.uint8), RuntimeError, "to - 1 is out of bounds for unsigned char"),
        (lambda: graphc.randint(-1, 3, (3,), dtype=graphc.uint8), RuntimeError, "from is out of bounds for unsigned char"),
        (lambda: graphc.randint(0, 2**31 + 1, (3,), dtype=graphc.int32), RuntimeError, "to - 1 is out of bounds for int"),
        (lambda: graphc.rand(2, dtype=graphc.int64), NotImplementedError, "not implemented for 'Long'"),
        (lambda: graphc.randn(2, dtype=graphc.int32), NotImplementedError, "not implemented for 'Int'"),
        (lambda: graphc.rand(-1), RuntimeError, r"negative dimension -1: \[-1\]"),
        (lambda: graphc.Generator().manual_seed(1.5), RuntimeError, "expected a long, but got float"),
        (lambda: graphc.Generator().manual_seed(2**64), ValueError, "Overflow"),
        (lambda: graphc.Generator().manual_seed(-(2**63) - 1), ValueError, "Overflow"),
        (lambda: graphc.Generator().set_state([1]), TypeError, "expected a graphc.ByteTensor"),
        (lambda: graphc.Generator().set_state(graphc.zeros(3)), TypeError, "RNG state must be"),
        (lambda: graphc.Generator().set_state(graphc.zeros(3, dtype=graphc.uint8)), RuntimeError, "Invalid RNG state"),
    ],
)
def test_random_argument_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_random_argument_edges_still_accepted():
    assert graphc.zeros(3).uniform_(1, 1).tolist() == [1.0, 1.0, 1.0]
    assert graphc.zeros(3).bernoulli_(1.0).tolist() == [1.0, 1.0, 1.0]
    assert graphc.randint(0, 2**31, (3,), dtype=graphc.int32).dtype is graphc.int32
    assert graphc.zeros(2).normal_(0, 0).tolist() == [0.0, 0.0]
    g = graphc.Generator()
    assert g.manual_seed(-1).initial_seed() == 2**64 - 1 and g.manual_seed(-(2**63)).initial_seed() == 2**63
    state = g.get_state()
    a = graphc.rand(3, generator=g)
    g.set_state(state)
    assert graphc.rand(3, generator=g).tolist() == a.tolist()


@pytest.mark.parametrize(
    "dtype, high",
    [(graphc.int8, 2**7), (graphc.int16, 2**15), (graphc.int32, 2**31), (graphc.int64, 2**63), (graphc.uint8, 2**8),
     (graphc.bool, 2), (graphc.float16, 2**11 + 1), (graphc.bfloat16, 2**8 + 1), (graphc.float32, 2**24 + 1)],
)
def test_random_fills_the_dtypes_range_without_negatives(dtype, high):
    graphc.manual_seed(0)
    t = graphc.empty(4000, dtype=dtype).random_()
    lo, hi = int(t.min().item()), int(t.max().item())
    assert 0 <= lo and hi < high and hi >= high // 2  # spans the upper half, never wraps negative


# -- printing --------------------------------------------------------------------


@pytest.mark.parametrize(
    "sci, values, text",
    [
        (True, [-1.5, 2.5], "tensor([-1.5000e+00,  2.5000e+00])"),
        (True, [1e-5, -1.0], "tensor([ 1.0000e-05, -1.0000e+00])"),
        (True, [1.0, float("nan")], "tensor([1.0000e+00,        nan])"),
        (False, [1e10, 1e-10], "tensor([10000000000.0000,           0.0000])"),
        (False, [1e-5, -1.0], "tensor([ 0.0000, -1.0000])"),
        (False, [1.0, 1e9], "tensor([         1., 1000000000.])"),
        (False, [123456.0, 1.0], "tensor([123456.,      1.])"),
    ],
)
def test_forced_sci_mode_pads_in_the_chosen_style(sci, values, text):
    graphc.set_printoptions(sci_mode=sci)
    try:
        assert repr(graphc.tensor(values)) == text
    finally:
        graphc.set_printoptions(sci_mode=None)


def test_return_types_print_as_pytorch():
    x = graphc.tensor([[1.0, 5.0], [3.0, 2.0]])
    assert repr(x.max(1)) == "graphc.return_types.max(\nvalues=tensor([5., 3.]),\nindices=tensor([1, 0]))"
    assert repr(x.aminmax()) == "graphc.return_types.aminmax(\nmin=tensor(1.),\nmax=tensor(5.))"
    assert str(x.sort(1)).startswith("graphc.return_types.sort(\nvalues=tensor([[1., 5.],")
    for r, name in [(x.min(1), "min"), (x.topk(1), "topk"), (x.kthvalue(1), "kthvalue"), (x.mode(1), "mode"),
                    (x.median(1), "median"), (x.cummax(0), "cummax"), (graphc.linalg.qr(x), "linalg_qr")]:
        assert repr(r).startswith(f"graphc.return_types.{name}(\n")
    values, indices = x.max(1)
    assert indices.tolist() == [1, 0] and x.max(1).values.tolist() == [5.0, 3.0]
    import pickle

    assert pickle.loads(pickle.dumps(x.max(1))).indices.tolist() == [1, 0]


def test_grad_fn_names_as_pytorch():
    x = graphc.ones(4, 2, requires_grad=True)
    assert (1 - x).grad_fn.name() == "RsubBackward1"
    assert [t.grad_fn.name() for t in x.split(2)] == ["SplitBackward0"] * 2
    assert [t.grad_fn.name() for t in x.chunk(2)] == ["SplitBackward0"] * 2
    assert x.split([1, 3])[0].grad_fn.name() == "SplitWithSizesBackward0"
    assert x.unbind()[0].grad_fn.name() == "UnbindBackward0"
    assert x.sort(0)[0].grad_fn.name() == "SortBackward0"
    assert x.topk(1, 0)[0].grad_fn.name() == "TopkBackward0" and x.topk(3, 0)[0].grad_fn.name() == "TopkBackward0"
    assert x.masked_fill(x > 0, 1.0).grad_fn.name() == "MaskedFillBackward0"
    assert x.masked_fill(x > 0, graphc.tensor(1.0)).grad_fn.name() == "MaskedFillBackward1"


def test_renamed_grad_fns_keep_their_gradients():
    y = graphc.arange(8.0).reshape(4, 2).requires_grad_()
    loss = sum((p * (i + 1)).sum() for i, p in enumerate(y.split(1))) + (1 - y).sum() * 3
    loss = loss + y.sort(0, descending=True)[0][0].sum() + y.topk(1, 0)[0].sum() * 10
    loss = loss + y.masked_fill(y > 5, 0.0).sum() + sum(u.sum() * 5 for u in y.unbind(1))
    loss.backward()
    # by hand: row weights 1..4, -3 from rsub, +1 sort max row, +10 topk max row, +1 unmasked, +5 unbind
    assert y.grad.tolist() == [[4.0, 4.0], [5.0, 5.0], [6.0, 6.0], [17.0, 17.0]]


# -- small API gaps ----------------------------------------------------------------


def test_tensor_constructor_and_legacy_types():
    t = graphc.Tensor([1, 2])
    assert t.dtype is graphc.float32 and t.tolist() == [1.0, 2.0]
    assert graphc.Tensor(2, 3).shape == (2, 3) and graphc.Tensor().shape == (0,)
    assert graphc.Tensor(graphc.Size([2])).shape == (2,) and graphc.Tensor((1, 2)).tolist() == [1.0, 2.0]
    assert graphc.Tensor(graphc.tensor([1, 2])).dtype is graphc.int64  # an alias keeps its dtype
    assert graphc.FloatTensor([1, 2]).dtype is graphc.float32 and graphc.LongTensor(2).shape == (2,)
    for name, dtype in [("DoubleTensor", graphc.float64), ("IntTensor", graphc.int32), ("BoolTensor", graphc.bool),
                        ("ByteTensor", graphc.uint8), ("HalfTensor", graphc.float16)]:
        assert getattr(graphc, name)([1]).dtype is dtype
    assert isinstance(graphc.zeros(2), graphc.FloatTensor) and not isinstance(graphc.zeros(2), graphc.LongTensor)
    assert graphc.zeros(2).type(graphc.LongTensor).dtype is graphc.int64
    assert repr(graphc.FloatTensor) == "<class 'graphc.FloatTensor'>"
    with pytest.raises(TypeError, match="data must be a sequence"):
        graphc.FloatTensor(2.5)


def test_size_validation_and_arithmetic():
    s = graphc.Size([2, 3])
    with pytest.raises(TypeError, match="item 0 is 'float'"):
        graphc.Size([2.5])
    with pytest.raises(TypeError, match="can only concatenate tuple"):
        s + [1]
    assert graphc.Size([graphc.tensor(2)]) == (2,) and graphc.Size([True]) == (1,)
    for r, want in [(s * 2, (2, 3, 2, 3)), (2 * s, (2, 3, 2, 3)), ((1,) + s, (1, 2, 3)), (s + (1,), (2, 3, 1))]:
        assert type(r) is graphc.Size and r == want


def test_threads_determinism_generator_and_small_attributes():
    before = graphc.get_num_threads()
    try:
        graphc.set_num_threads(1)
        assert graphc.get_num_threads() == 1
        assert (graphc.ones(300, 300) @ graphc.ones(300, 300))[0, 0].item() == 300.0
    finally:
        graphc.set_num_threads(before)
    with pytest.raises(RuntimeError):
        graphc.set_num_threads(0)
    assert not graphc.are_deterministic_algorithms_enabled()
    graphc.use_deterministic_algorithms(True)
    assert graphc.are_deterministic_algorithms_enabled()
    graphc.use_deterministic_algorithms(False)
    assert graphc.default_generator is graphc.random.default_generator
    with graphc.random.fork_rng():
        inside = graphc.rand(3)
    assert graphc.rand(3).tolist() == inside.tolist()  # the block's draws did not advance the stream
    x = graphc.zeros(2, 3)
    assert (x.nbytes, x.itemsize, x.is_cpu, x[:, 1].nbytes) == (24, 4, True, 8)
    assert graphc.zeros(3, dtype=graphc.bfloat16).nbytes == 6
    assert graphc.complex64.to_real() is graphc.float32 and graphc.float64.to_complex() is graphc.complex128
    assert graphc.int32.to_real() is graphc.int32 and graphc.float32.itemsize == 4
    assert graphc.int8.is_signed and not graphc.uint8.is_signed


def test_data_utilities():
    from graphc.utils.data import (
        ChainDataset,
        DataLoader,
        IterableDataset,
        StackDataset,
        TensorDataset,
        default_collate,
        default_convert,
    )

    converted = default_convert((1, np.float32(2)))
    assert type(converted) is list and converted[0] == 1 and converted[1].dtype is graphc.float32
    assert default_convert({"a": np.float64(2)})["a"].dtype is graphc.float64
    assert default_collate([("a", 1), ("b", 2)])[0] == ("a", "b")
    it = iter(DataLoader(TensorDataset(graphc.arange(10.0)), batch_size=3))
    assert len(it) == 4 and len(list(it)) == 4

    class Stream(IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.n

    chain = ChainDataset([Stream(2), Stream(3)])
    assert list(chain) == [0, 1, 0, 1, 2] and len(chain) == 5
    stack = StackDataset([1, 2, 3], [5, 6, 7])
    assert stack[1] == (2, 6) and len(stack) == 3
    assert StackDataset(x=[1, 2], y=[3, 4])[0] == {"x": 1, "y": 3}
    with pytest.raises(ValueError, match="Size mismatch"):
        StackDataset([1], [1, 2])
