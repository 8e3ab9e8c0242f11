"""Fusion asks the Triton backend while it forms kernels: groups the tile mapping cannot express
are refused (and logged with the reason) instead of being split by the code generator after the
fact. The programs below are the ones the old codegen split (a row value broadcast along
another dim than it varies); each now fuses into legal groups and equals the numpy reference.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import backends.triton as BT
import graphc
from backends import backend_for_device
from backends.numpy.interpreter import interpret
from backends.triton.codegen import CodegenError
from ir import dtypes as dt
from ir.graph import Graph
from ir.passes.fusion import FusionPolicy, fuse

f32 = dt.float32


def _row_sum_broadcast_along_columns(g, a):  # x - x.sum(1)[None, :] on a square x
    n = a.shape[0]
    s = g.add("sum", [a], axes=(1,), keepdim=False)
    return [g.add("sub", [a, g.add("expand", [g.add("reshape", [s], shape=(1, n))], shape=(n, n))])]


def _column_sum_broadcast_along_rows(g, a):  # x - x.sum(0)[:, None]
    n = a.shape[0]
    s = g.add("sum", [a], axes=(0,), keepdim=False)
    return [g.add("sub", [a, g.add("expand", [g.add("reshape", [s], shape=(n, 1))], shape=(n, n))])]


def _keepdim_sum_transposed_by_reshape(g, a):  # x * x.sum(1, keepdim=True).reshape(1, n)
    n = a.shape[0]
    s = g.add("sum", [a], axes=(1,), keepdim=True)
    return [g.add("mul", [a, g.add("expand", [g.add("reshape", [s], shape=(1, n))], shape=(n, n))])]


def _three_d_row_value_on_the_wrong_axis(g, a):  # x + x.sum(2)[:, None, :] on a cube
    n = a.shape[0]
    s = g.add("sum", [a], axes=(2,), keepdim=False)
    return [g.add("add", [a, g.add("expand", [g.add("reshape", [s], shape=(n, 1, n))], shape=(n, n, n))])]


def _max_then_exp_on_the_wrong_axis(g, a):  # (x - x.amax(0)[:, None]).exp(), and the max
    n = a.shape[0]
    m = g.add("amax", [a], axes=(0,), keepdim=False)
    e = g.add("exp", [g.add("sub", [a, g.add("expand", [g.add("reshape", [m], shape=(n, 1))], shape=(n, n))])])
    return [e, m]


PROGRAMS = {
    "row_sum_along_columns": (_row_sum_broadcast_along_columns, (5, 5)),
    "column_sum_along_rows": (_column_sum_broadcast_along_rows, (6, 6)),
    "keepdim_sum_reshaped": (_keepdim_sum_transposed_by_reshape, (4, 4)),
    "three_d": (_three_d_row_value_on_the_wrong_axis, (3, 3, 3)),
    "max_exp": (_max_then_exp_on_the_wrong_axis, (5, 5)),
}


def _graph(build, shape):
    g = Graph("policy")
    a = g.add_input(shape, f32)
    g.outputs.extend(build(g, a))
    return g


@pytest.mark.parametrize("case", sorted(PROGRAMS))
def test_programs_that_used_to_split_fuse_legally_and_equal_the_reference(case, caplog):
    build, shape = PROGRAMS[case]
    g = _graph(build, shape)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with caplog.at_level(logging.DEBUG, logger="graphc.fusion"):
        schedule = fuse(g, policy=BT.BACKEND.fusion_policy())
    refusals = [r.getMessage() for r in caplog.records if "the triton backend refuses" in r.getMessage()]
    assert refusals and "along another dim than it varies" in refusals[0], refusals
    assert [k.kind for k in schedule.kernels] == ["reduction", "pointwise"]
    program = BT.compile_schedule(schedule, case)
    for got, want in zip(program([x]), interpret(g, [x])):
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)


def test_without_the_policy_the_codegen_raises_an_internal_error_and_never_splits():
    """A group the tiles cannot express reaching the codegen is a bug: a loud error naming the
    kernel and the reason, not a silent split into one kernel per node."""
    g = _graph(_row_sum_broadcast_along_columns, (5, 5))
    schedule = fuse(g, policy=FusionPolicy())  # what the numpy backend accepts: one row kernel
    assert [k.kind for k in schedule.kernels] == ["reduction"]
    with pytest.raises(CodegenError, match=r"k0_reduction_sum_sub .*along another dim than it varies"):
        BT.compile_schedule(schedule, "bad")


def test_the_numpy_backend_fuses_as_before():
    g = _graph(_row_sum_broadcast_along_columns, (5, 5))
    assert [k.kind for k in fuse(g).kernels] == ["reduction"]
    assert [k.kind for k in fuse(g, policy=backend_for_device("cpu").fusion_policy()).kernels] == ["reduction"]


def test_compiled_function_with_such_a_broadcast_equals_eager():
    x = graphc.randn(6, 6)

    def f(x):
        return x - x.sum(1)[None, :], (x - x.amax(0)[:, None]).exp().sum(1)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = graphc.compile(f, backend="triton")
        got = [compiled(x) for _ in range(2)][-1]
    for o, e in zip(got, f(x)):
        np.testing.assert_allclose(o.numpy(), e.numpy(), rtol=1e-5, atol=1e-5)


def test_a_slice_of_a_kernel_value_read_by_a_sibling_is_not_merged_into_it():
    """``a + sin(a[:, :1])`` broadcast back: merging the sibling kernel into ``a``'s would read
    ``a`` through a slice inside the kernel that writes it (it crashed both backends)."""

    def f(x):
        a = x.exp()
        return a + a[:, :1].expand(5, 5).sin()

    x = graphc.randn(5, 5)
    for backend in ("numpy", "triton"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = graphc.compile(f, backend=backend)
            outs = [compiled(x) for _ in range(3)]
        np.testing.assert_allclose(outs[-1].numpy(), f(x).numpy(), rtol=1e-6, err_msg=backend)
