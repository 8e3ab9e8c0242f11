"""Fusion: kernel counts for known patterns, readable generated source, and the
legality invariants (no duplicated matmul or reduction, an acyclic kernel
graph, refusals logged with a reason)."""

from __future__ import annotations

import logging
import re

import networkx as nx
import numpy as np
import pytest

import graphc
import graphc.nn.functional as F
from ir import ops as ops_table


def _arr(t):
    return np.array(t.detach().numpy())


def compiled_report(fn, *args, check=True):
    """The compile report of ``fn`` on ``args``; also checks compiled == eager."""
    cf = graphc.compile(fn)
    report = cf.explain(*args)
    if check:
        got, expected = cf(*args), fn(*args)
        got = got if isinstance(got, (tuple, list)) else [got]
        expected = expected if isinstance(expected, (tuple, list)) else [expected]
        for g, e in zip(got, expected):
            np.testing.assert_allclose(_arr(g), _arr(e), rtol=1e-5, atol=1e-6)
    return report


def kinds(report):
    return [k.kind for k in report.kernels]


def ops_in(kernel, report):
    by_id = {n.id: n for n in report.optimized.nodes}
    return [by_id[i].op for i in kernel.nodes]


X = graphc.randn(8, 16)
W = graphc.randn(16, 32)
B = graphc.randn(32)
G, BETA = graphc.randn(16), graphc.randn(16)


# ----------------------------------------------------------------------------
# kernel counts


def test_elementwise_chain_is_one_kernel():
    report = compiled_report(lambda x: ((x * 2 + 1).tanh() * x - 0.5).exp().relu(), X)
    assert kinds(report) == ["pointwise"]
    assert {"mul", "add", "tanh", "sub", "exp", "relu"} <= set(ops_in(report.kernels[0], report))


def test_broadcasting_elementwise_chain_is_one_kernel():
    row, col = graphc.randn(16), graphc.randn(8, 1)
    report = compiled_report(lambda x: (x * row + col).sigmoid() * 3, X)
    assert kinds(report) == ["pointwise"]


def test_gelu_tanh_is_one_kernel():
    assert kinds(compiled_report(lambda x: F.gelu(x, approximate="tanh"), X)) == ["pointwise"]


@pytest.mark.parametrize(
    "fn",
    [lambda x: graphc.softmax(x, -1), lambda x: graphc.log_softmax(x, -1), lambda x: graphc.logsumexp(x, -1)],
    ids=["softmax", "log_softmax", "logsumexp"],
)
def test_softmax_family_is_one_reduction_kernel(fn):
    report = compiled_report(fn, X)
    assert kinds(report) == ["reduction"]
    ops = ops_in(report.kernels[0], report)
    assert "amax" in ops and "sum" in ops and "exp" in ops  # max-subtracted, in one row kernel


def test_softmax_over_dim_0_is_one_reduction_kernel():
    assert kinds(compiled_report(lambda x: graphc.softmax(x, 0), X)) == ["reduction"]


@pytest.mark.parametrize("affine", [False, True])
def test_layer_norm_takes_at_most_two_kernels(affine):
    fn = (lambda x: F.layer_norm(x, (16,), G, BETA)) if affine else (lambda x: F.layer_norm(x, (16,)))
    report = compiled_report(fn, X)
    assert set(kinds(report)) == {"reduction"} and len(report.kernels) <= 2


def test_softmax_forward_and_backward_take_at_most_two_kernels():
    w = graphc.randn(8, 16)

    def f(x):
        (graphc.softmax(x, -1) * w).sum().backward()
        return x.grad

    x = graphc.randn(8, 16, requires_grad=True)
    report = graphc.compile(f).explain(x)
    assert len(report.kernels) <= 2 and set(kinds(report)) == {"reduction"}


def test_matmul_bias_relu_is_one_matmul_kernel_with_epilogue():
    report = compiled_report(lambda x: (x @ W + B).relu(), X)
    assert kinds(report) == ["matmul"]
    ops = ops_in(report.kernels[0], report)
    assert ops[0] == "matmul" and "add" in ops and "relu" in ops
    assert "_epilogue" in report.kernels[0].source


def test_linear_relu_is_one_matmul_kernel():
    weight = graphc.randn(32, 16)  # nn.Linear's layout: x @ weight.T
    report = compiled_report(lambda x: F.relu(F.linear(x, weight, B)), X)
    assert kinds(report) == ["matmul"]


def test_batched_matmul_with_epilogue_is_one_kernel():
    a, b = graphc.randn(3, 4, 5), graphc.randn(3, 5, 6)
    report = compiled_report(lambda a, b: (a @ b).tanh() * 2, a, b)
    assert kinds(report) == ["matmul"]


# ----------------------------------------------------------------------------
# readable generated source

NODE_LINE = re.compile(r"%(\d+) = (\w+)")


def _sample_reports():
    def step(x, w, b):
        loss = F.cross_entropy((x @ w + b).relu() @ w.t(), graphc.arange(8) % 8)
        loss.backward()
        return loss.detach(), w.grad, b.grad

    w = graphc.randn(16, 8, requires_grad=True)
    b = graphc.randn(8, requires_grad=True)
    return [
        compiled_report(lambda x: graphc.softmax(x * 2, -1) + 1, X),
        compiled_report(lambda x: (x @ W + B).relu().sum(0), X),
        compiled_report(lambda x: F.layer_norm(x, (16,), G, BETA).gather(1, graphc.zeros(8, 2, dtype=graphc.int64)), X),
        compiled_report(lambda x: (x.exp().sum(0), x.exp().t() * 2, graphc.cat([x, x], 0).cumsum(0)), X),
        graphc.compile(step).explain(graphc.randn(8, 16), w, b),
    ]


def test_kernel_docstrings_name_their_ir_nodes():
    for report in _sample_reports():
        by_id = {n.id: n for n in report.optimized.nodes}
        for k in report.kernels:
            named = {int(i): op for i, op in NODE_LINE.findall(k.source)}
            assert set(k.nodes) <= set(named), (k.name, k.source)
            for i in k.nodes:
                assert named[i] == by_id[i].op
            assert all(f"%{i} = " in line for i, line in zip(k.nodes, k.node_text))
        # the whole program is printable and names every kernel
        for k in report.kernels:
            assert f"def {k.name}(" in report.program_source or k.name.split("_")[0] in report.program_source
        assert "== kernels ==" in str(report)


# ----------------------------------------------------------------------------
# legality


def _kernel_graph(report):
    """Kernel dependency graph: an edge a -> b when kernel b reads a value of kernel a."""
    kernel_of = {i: k for k, kern in enumerate(report.kernels) for i in kern.nodes}
    by_id = {n.id: n for n in report.optimized.nodes}
    g = nx.DiGraph()
    g.add_nodes_from(range(len(report.kernels)))
    for b, kern in enumerate(report.kernels):
        for i in kern.nodes:
            stack = list(by_id[i].inputs)
            while stack:
                n = stack.pop()
                if n.id in kernel_of:
                    if kernel_of[n.id] != b:
                        g.add_edge(kernel_of[n.id], b)
                elif n.kind == ops_table.VIEW:
                    stack.extend(n.inputs)
    return g


def test_fusion_never_duplicates_nodes_and_the_kernel_graph_is_acyclic():
    for report in _sample_reports():
        seen = [i for k in report.kernels for i in k.nodes]
        assert len(seen) == len(set(seen)), "a node is in two kernels"
        heavy = [n.id for n in report.optimized.nodes if n.kind in (ops_table.MATMUL, ops_table.REDUCE) and n.numel > 0]
        assert sorted(i for i in seen if i in heavy) == sorted(heavy), "a matmul or reduction is missing or duplicated"
        by_id = {n.id: n for n in report.optimized.nodes}
        for k in report.kernels:
            matmuls = [i for i in k.nodes if by_id[i].op == "matmul"]
            assert len(matmuls) <= 1
            if k.kind == "matmul":
                assert by_id[k.nodes[0]].op == "matmul"  # its epilogue follows it
        g = _kernel_graph(report)
        assert nx.is_directed_acyclic_graph(g)
        # kernels are listed in an order that runs producers first
        assert all(a < b for a, b in g.edges), list(g.edges)


def test_fusion_refuses_a_join_that_would_make_a_cycle(caplog):
    w = graphc.randn(16, 16)
    caplog.set_level(logging.DEBUG, logger="graphc.fusion")
    x = graphc.randn(16, 16)
    report = compiled_report(lambda x: x.exp() + (x.exp() @ w), x)
    assert nx.is_directed_acyclic_graph(_kernel_graph(report))
    assert any("cycle" in r.getMessage() for r in caplog.records if r.name == "graphc.fusion")


REFUSALS = {
    "view": (lambda x: (x.exp().sum(0), x.exp().t() * 2), "not a broadcast"),
    "axes": (lambda x: (x.exp().sum(0), x.exp().sum(1)), "different domain or axes"),
    "shape": (lambda x: (x.exp(), x.exp().expand(2, 8, 16) * 3), "shape differs"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusal_to_fuse_is_logged_at_debug_with_a_reason(case, caplog):
    fn, reason = REFUSALS[case]
    caplog.set_level(logging.DEBUG, logger="graphc.fusion")
    compiled_report(fn, X)
    records = [r for r in caplog.records if r.name == "graphc.fusion" and "not fusing" in r.getMessage()]
    assert records, "no refusal logged"
    assert all(r.levelno == logging.DEBUG for r in records)
    assert any(reason in r.getMessage() for r in records), [r.getMessage() for r in records]
    assert all(re.search(r"%\d+", r.getMessage()) for r in records)  # names the node


def test_fusion_logger_is_silent_by_default(caplog):
    caplog.set_level(logging.INFO)
    compiled_report(REFUSALS["axes"][0], X)
    assert not [r for r in caplog.records if r.name == "graphc.fusion"]
