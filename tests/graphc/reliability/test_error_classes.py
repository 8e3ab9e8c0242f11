"""Errors raised with the Python class PyTorch 2.13 raises in the same case (so ``except
NotImplementedError`` / ``except IndexError`` written against PyTorch keeps working), and the
dtype and argument checks where PyTorch refuses what graphc used to compute.

The expected classes and message fragments were read from PyTorch 2.13 (CPU) by hand; this
file does not import torch.
"""

import pytest

import graphc
from graphc import nn
from ir.errors import DTypeError, DTypeNotImplementedError, EmptyReductionError, InputDTypeMismatchError, ShapeError

F = nn.functional
T = graphc.tensor


def _long(*shape):
    return graphc.zeros(*shape, dtype=graphc.long)


# ----------------------------------------------------------------------------
# the class hierarchy


def test_new_classes_keep_the_old_bases():
    assert issubclass(DTypeNotImplementedError, (DTypeError, NotImplementedError, RuntimeError, TypeError))
    assert issubclass(EmptyReductionError, ShapeError) and issubclass(EmptyReductionError, IndexError)
    assert issubclass(InputDTypeMismatchError, DTypeError) and issubclass(InputDTypeMismatchError, ValueError)
    for cls in (DTypeNotImplementedError, EmptyReductionError, InputDTypeMismatchError):
        assert cls.__doc__ and "Fix" in cls.__doc__


# ----------------------------------------------------------------------------
# no kernel for the dtype: NotImplementedError, as PyTorch


@pytest.mark.parametrize(
    "name, fn, match",
    [
        ("floor", lambda: graphc.floor(T([True])), "floor"),
        ("ceil", lambda: graphc.ceil(T([True])), "ceil"),
        ("round", lambda: graphc.round(T([True])), "round"),
        ("trunc", lambda: graphc.trunc(T([True])), "trunc"),
        ("abs", lambda: graphc.abs(T([True])), "abs"),
        ("pow", lambda: graphc.pow(T([True]), T([True])), "pow"),
        ("floordiv", lambda: T([True]) // T([True]), "floor_divide"),
        ("mod", lambda: T([True]) % T([True]), "remainder"),
        ("fmod", lambda: graphc.fmod(T([True]), T([True])), "fmod"),
        ("frac int", lambda: graphc.frac(T([1])), "frac"),
        ("round decimals int", lambda: graphc.round(T([1]), decimals=1), "round"),
        ("bitwise_and float", lambda: graphc.bitwise_and(T([1.0]), T([1.0])), "bitwise_and"),
        ("bitwise_not float", lambda: graphc.bitwise_not(T([1.0])), "bitwise_not"),
        ("lshift float", lambda: T([1.0]) << T([1.0]), "shift"),
        ("gcd float", lambda: graphc.gcd(T([1.0]), T([1.0])), "gcd"),
        ("nextafter int", lambda: graphc.nextafter(T([1]), T([2])), "nextafter"),
        ("matmul bool", lambda: graphc.matmul(graphc.ones(2, 2, dtype=graphc.bool), graphc.ones(2, 2, dtype=graphc.bool)),
         "matmul"),
        ("clamp complex", lambda: graphc.clamp(T([1j]), 0), "complex"),
    ],
)
def test_no_kernel_for_dtype_is_not_implemented(name, fn, match):
    with pytest.raises(NotImplementedError, match=match) as info:
        fn()
    assert isinstance(info.value, DTypeError)  # still a DTypeError (a RuntimeError and a TypeError)


@pytest.mark.parametrize(
    "fn, match",
    [
        (lambda: -T([True]), "neg"),
        (lambda: F.relu(T([True])), "relu"),
        (lambda: T([True]) - T([True]), "Subtraction"),
    ],
)
def test_bool_refusals_pytorch_raises_as_runtime_error_stay_so(fn, match):
    with pytest.raises(RuntimeError, match=match) as info:
        fn()
    assert not isinstance(info.value, NotImplementedError)


# ----------------------------------------------------------------------------
# IndexError / RuntimeError as PyTorch


@pytest.mark.parametrize(
    "fn, match",
    [
        (lambda: graphc.amax(graphc.zeros(0), 0), "amax"),
        (lambda: graphc.amin(graphc.zeros(2, 0), 1), "amin"),
        (lambda: graphc.max(graphc.zeros(0), 0), "size 0"),
        (lambda: graphc.min(graphc.zeros(0), 0), "size 0"),
        (lambda: graphc.aminmax(graphc.zeros(0), dim=0), "size 0"),
        (lambda: graphc.argmin(graphc.zeros(0)), "argmin"),
    ],
)
def test_reducing_an_empty_dim_is_an_index_error(fn, match):
    with pytest.raises(IndexError, match=match) as info:
        fn()
    assert isinstance(info.value, ShapeError)


def test_kthvalue_k_out_of_range_is_a_runtime_error():
    for k in (0, 4):
        with pytest.raises(RuntimeError, match="k out of range") as info:
            graphc.kthvalue(graphc.ones(3), k)
        assert not isinstance(info.value, IndexError)


@pytest.mark.parametrize(
    "fn, match",
    [
        (lambda: graphc.zeros(3).mT, "tensor.mT is only supported on matrices"),
        (lambda: graphc.zeros(3).mH, "only supported on matrices"),
        (lambda: graphc.adjoint(graphc.tensor(1.0)), "only supported on matrices"),
        (lambda: graphc.fliplr(graphc.zeros(3)), "Input must be >= 2-d"),
        (lambda: graphc.flipud(graphc.tensor(1.0)), "Input must be >= 1-d"),
    ],
)
def test_rank_too_low_is_a_runtime_error(fn, match):
    with pytest.raises(RuntimeError, match=match) as info:
        fn()
    assert not isinstance(info.value, IndexError)


def test_matrix_views_still_work():
    x = graphc.arange(6.0).reshape(2, 3)
    assert x.mT.shape == (3, 2) and x.mH.shape == (3, 2)
    assert graphc.fliplr(x)[0].tolist() == [2.0, 1.0, 0.0]
    assert graphc.flipud(graphc.arange(3.0)).tolist() == [2.0, 1.0, 0.0]


# ----------------------------------------------------------------------------
# losses, pad_sequence and RNNs (hunt_seq section 9)


@pytest.mark.parametrize(
    "fn, match",
    [
        (lambda: F.nll_loss(graphc.zeros(2, 3, 4), _long(2, 5)), "expected target of shape"),
        (lambda: F.cross_entropy(graphc.zeros(2, 3), _long(2, 1)), "multi-target not supported"),
        (lambda: F.cross_entropy(graphc.zeros(2, 3), _long(2), label_smoothing=1.5), "label_smoothing"),
        (lambda: F.cross_entropy(graphc.tensor(1.0), graphc.tensor(0)), "0-d"),
        (lambda: F.multi_margin_loss(graphc.zeros(2, 3), _long(2), weight=graphc.ones(4)), "inconsistent weight size"),
        (lambda: nn.utils.rnn.pad_sequence([graphc.ones(2)], padding_side="mid"), "padding_side"),
    ],
)
def test_loss_argument_errors_are_runtime_errors(fn, match):
    with pytest.raises(RuntimeError, match=match):
        fn()


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_rnn_input_dtype_must_match_the_weights(cls):
    with pytest.raises(ValueError, match="does not match weight dtype"):
        cls(2, 3)(graphc.zeros(4, 1, 2, dtype=graphc.float64))
    out = cls(2, 3).double()(graphc.zeros(4, 1, 2, dtype=graphc.float64))[0]
    assert out.dtype == graphc.float64


# ----------------------------------------------------------------------------
# dtype checks PyTorch makes (graphc used to compute)


@pytest.mark.parametrize(
    "name, fn, kernel",
    [
        ("gelu", lambda x: F.gelu(x), "GeluKernelImpl"),
        ("silu", lambda x: F.silu(x), "silu_cpu"),
        ("elu", lambda x: F.elu(x), "elu_cpu"),
        ("selu", lambda x: F.selu(x), "elu_cpu"),
        ("celu", lambda x: F.celu(x), "elu_cpu"),
        ("softplus", lambda x: F.softplus(x), "softplus_cpu"),
        ("mish", lambda x: F.mish(x), "mish_cpu"),
        ("hardswish", lambda x: F.hardswish(x), "hardswish_cpu"),
        ("hardsigmoid", lambda x: F.hardsigmoid(x), "hardsigmoid_cpu"),
        ("logsigmoid", lambda x: F.logsigmoid(x), "log_sigmoid_cpu"),
        ("leaky_relu", lambda x: F.leaky_relu(x), "leaky_relu_cpu"),
        ("rrelu", lambda x: F.rrelu(x), "leaky_relu_cpu"),
        ("hardshrink", lambda x: F.hardshrink(x), "hardshrink_cpu"),
        ("softshrink", lambda x: F.softshrink(x), "softshrink"),
        ("prelu", lambda x: F.prelu(x, graphc.ones(1, dtype=x.dtype)), "prelu_cpu"),
        ("glu", lambda x: F.glu(graphc.cat([x, x])), "glu_cpu"),
        ("softmax", lambda x: F.softmax(x, 0), "softmax_lastdim_kernel_impl"),
        ("log_softmax", lambda x: F.log_softmax(x, 0), "log_softmax_lastdim_kernel_impl"),
        ("logcumsumexp", lambda x: graphc.logcumsumexp(x, 0), "logcumsumexp"),
        ("hypot", lambda x: graphc.hypot(x, x), "hypot"),
        ("logaddexp", lambda x: graphc.logaddexp(x, x), "logaddexp"),
        ("logaddexp2", lambda x: graphc.logaddexp2(x, x), "logaddexp2"),
    ],
)
@pytest.mark.parametrize("dtype", ["long", "bool"])
def test_float_only_ops_refuse_integers(name, fn, kernel, dtype):
    x = T([1, 0]) if dtype == "long" else T([True, False])
    with pytest.raises(NotImplementedError, match=kernel):
        fn(x)
    fn(x.float())  # floating point is fine


def test_softmax_of_integers_with_a_dtype_is_fine():
    assert F.softmax(T([1, 2]), 0, dtype=graphc.float32).dtype == graphc.float32


@pytest.mark.parametrize(
    "fn, match",
    [
        (lambda x: graphc.std(x), "std and var only support floating point"),
        (lambda x: graphc.var(x), "std and var only support floating point"),
        (lambda x: graphc.var(x, 5), "std and var only support floating point"),  # dtype checked before dim
        (lambda x: graphc.std_mean(x), "only support floating point"),
        (lambda x: graphc.var_mean(x), "only support floating point"),
        (lambda x: x.std(), "only support floating point"),
        (lambda x: graphc.norm(x), "Expected a floating point or complex tensor"),
        (lambda x: graphc.nanmean(x), "expected input to have floating point"),
        (lambda x: graphc.nanmean(x, 5), "expected input to have floating point"),
    ],
)
@pytest.mark.parametrize("dtype", ["long", "bool"])
def test_moments_and_norms_refuse_integers(fn, match, dtype):
    x = T([1, 2]) if dtype == "long" else T([True, False])
    with pytest.raises(RuntimeError, match=match):
        fn(x)


def test_argmax_argmin_refuse_bool():
    b = T([True, False])
    for fn in (graphc.argmax, graphc.argmin):
        with pytest.raises(RuntimeError, match="does not support bool input"):
            fn(b)
        with pytest.raises(RuntimeError, match="does not support bool input"):
            fn(b, 0)
    assert graphc.max(b).item() is True  # max of bools stays allowed
    assert graphc.argmax(T([1, 3, 2])).item() == 1


def test_trace_refuses_bool():
    with pytest.raises(NotImplementedError, match="\"trace\" not implemented for 'Bool'"):
        graphc.trace(graphc.ones(2, 2, dtype=graphc.bool))
    assert graphc.trace(graphc.ones(2, 2, dtype=graphc.long)).item() == 2


def test_heaviside_needs_one_dtype():
    with pytest.raises(RuntimeError, match="heaviside is not yet implemented for tensors with different dtypes"):
        graphc.heaviside(T([1]), T([0.5]))
    with pytest.raises(RuntimeError, match="different dtypes"):
        T([1.0]).heaviside(T([0.5], dtype=graphc.float64))
    assert graphc.heaviside(T([1.0, 0.0, -1.0]), T([0.5])).tolist() == [1.0, 0.5, 0.0]


def test_cross_does_not_broadcast_the_cross_dim():
    with pytest.raises(RuntimeError, match="must have length 3. Got 3 and 1"):
        graphc.linalg.cross(graphc.ones(4, 3), graphc.ones(4, 1))
    with pytest.raises(RuntimeError, match="must have length 3. Got 3 and 1"):
        graphc.cross(graphc.ones(4, 3), graphc.ones(4, 1), dim=1)
    assert graphc.linalg.cross(graphc.ones(4, 3), graphc.ones(1, 3)).shape == (4, 3)  # other dims broadcast
