"""``graphc.distributed`` in one process, without MPI: the IR rows, the schedule, errors, helpers.

The collective nodes run here over the built-in one-process group ``"self"``,
where every all-reduce is the identity.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

import graphc
import graphc.distributed as dist
from backends.numpy.interpreter import interpret
from graphc._compiler import build
from graphc.distributed import _worker, run
from graphc.utils.data import DistributedSampler
from ir import dtypes as dt
from ir.errors import AutogradError, DistributedError, DTypeError
from ir.graph import Graph
from ir.passes.autodiff import grad_graph
from ir.passes.collectives import order_collectives
from ir.passes.fusion import SINGLE, fuse
from ir.passes.simplify import simplify

F32 = dt.float32


def _reduce(g, x, op="sum", group="self"):
    s = g.add("all_reduce_start", [x], reduce_op=op, group=group)
    return g.add("all_reduce_wait", [s], reduce_op=op, group=group)


# ----------------------------------------------------------------------------
# errors before init_process_group


@pytest.mark.parametrize("call", ["all_reduce", "broadcast", "barrier", "get_rank", "get_world_size"])
def test_calls_before_init_process_group_raise_naming_the_call(call):
    assert not dist.is_initialized()
    fn = getattr(dist, call)
    args = {"all_reduce": (graphc.ones(2),), "broadcast": (graphc.ones(2), 0)}.get(call, ())
    with pytest.raises(DistributedError, match=rf"^{call}: Default process group has not been initialized"):
        fn(*args)


def test_a_compiled_collective_before_init_names_the_group():
    g = Graph()
    x = g.add_input((3,), F32)
    g.outputs = [_reduce(g, x, group="world")]
    with pytest.raises(DistributedError, match="all_reduce_start: process group 'world' is not initialized"):
        interpret(g, [np.ones(3, np.float32)])


# ----------------------------------------------------------------------------
# the IR rows


def test_rows_check_reduce_op_and_dtype():
    g = Graph()
    b = g.add_input((2,), dt.bool_)
    i = g.add_input((2,), dt.int32)
    with pytest.raises(DTypeError, match="ReduceOp.SUM is not defined for bool"):
        g.add("all_reduce_start", [b], reduce_op="sum", group="self")
    with pytest.raises(DTypeError, match="ReduceOp.AVG needs a floating-point tensor, got graphc.int32"):
        g.add("all_reduce_start", [i], reduce_op="avg", group="self")
    with pytest.raises(ValueError, match="unknown reduce op 'mean'"):
        g.add("all_reduce_start", [i], reduce_op="mean", group="self")
    assert g.add("all_reduce_start", [b], reduce_op="max", group="self").dtype is dt.bool_


def test_gradient_is_the_all_reduce_of_the_gradient_and_max_is_not_differentiable():
    g = Graph()
    x = g.add_input((3,), F32)
    y = _reduce(g, x, "avg")
    loss = g.add("sum", [g.add("mul", [y, y])], axes=(0,), keepdim=False)
    (gx,) = grad_graph(g, [loss], [x])
    back = [n.op for n in g.nodes[g.nodes.index(loss) :]]
    assert back.count("all_reduce_start") == 1 and back.count("all_reduce_wait") == 1
    v = np.array([1.0, -2.0, 3.0], np.float32)
    g.outputs = [gx]
    np.testing.assert_allclose(interpret(g, [v])[0], 2 * v)  # one rank: identity, d(y.y)/dx = 2x
    g2 = Graph()
    x2 = g2.add_input((3,), F32)
    loss2 = g2.add("sum", [_reduce(g2, x2, "max")], axes=(0,), keepdim=False)
    with pytest.raises(AutogradError, match="ReduceOp.MAX is not differentiable"):
        grad_graph(g2, [loss2], [x2])


def test_printer_and_networkx_show_collectives():
    g = Graph()
    x = g.add_input((2, 3), F32)
    g.outputs = [_reduce(g, x)]
    text = str(g)
    assert "all_reduce_start %0 {reduce_op='sum', group='self'} : f32[2,3]" in text
    kinds = {d["op"]: d["kind"] for _, d in g.to_networkx().nodes(data=True)}
    assert kinds["all_reduce_wait"] == "collective"


# ----------------------------------------------------------------------------
# schedule, fusion, simplify


def _bucketed_graph():
    """Two 'layers': gradients a then b; b's reduction is read by an update, a's by another."""
    g = Graph()
    x = g.add_input((4,), F32)
    w1 = g.add_input((4,), F32)
    w2 = g.add_input((4,), F32)
    grad_b = g.add("mul", [x, w2])  # the last layer's gradient exists first
    grad_a = g.add("tanh", [g.add("mul", [grad_b, w1])])
    late = g.add("exp", [grad_a])  # unrelated work recorded before the starts
    rb = _reduce(g, grad_b)
    ra = _reduce(g, grad_a)
    new_w2 = g.add("sub", [w2, rb])
    new_w1 = g.add("sub", [w1, ra])
    g.outputs = [late]
    g.mutations = [(w1, new_w1), (w2, new_w2)]
    return g


def test_order_collectives_starts_early_waits_late_and_chains_the_starts():
    g = _bucketed_graph()
    order_collectives(g)
    ops = [n.op for n in g.nodes]
    starts = [i for i, op in enumerate(ops) if op == "all_reduce_start"]
    waits = [i for i, op in enumerate(ops) if op == "all_reduce_wait"]
    assert starts[0] < ops.index("tanh"), "b's bucket starts before a's gradient is computed"
    assert max(starts) < ops.index("exp") < min(waits), "work that needs no reduction runs while they fly"
    second = g.nodes[starts[1]]
    assert second.inputs[1] is g.nodes[starts[0]], "the second start carries the first as its order token"
    pos = {n.id: i for i, n in enumerate(g.nodes)}
    assert all(pos[i.id] < pos[n.id] for n in g.nodes for i in n.inputs), "still topological"


def test_collectives_are_fusion_barriers_and_the_program_equals_the_interpreter():
    g = _bucketed_graph()
    schedule = fuse(simplify(g))
    for k in schedule.kernels:
        if any(n.kind == "collective" for n in k.nodes):
            assert k.kind == SINGLE and len(k.nodes) == 1, k
    vals = [np.arange(4, dtype=np.float32) / 4 + i for i in range(3)]
    want = interpret(g, vals)
    got = build(g, "bucketed")._program([v.copy() for v in vals])
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_simplify_never_folds_a_collective_of_constants():
    g = Graph()
    c = g.add_constant(np.ones(3, np.float32), F32)
    g.outputs = [_reduce(g, c)]
    assert [n.op for n in simplify(g).nodes].count("all_reduce_start") == 1


# ----------------------------------------------------------------------------
# post-accumulate-grad hooks (what DDP builds on)


@pytest.mark.parametrize("compiled", [False, True])
def test_post_accumulate_grad_hook_sees_the_accumulated_grad(compiled):
    w = graphc.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad * 1))

    def step(x):
        (w * x).sum().backward()
        return w.grad * 1

    fn = graphc.compile(step, fullgraph=True) if compiled else step
    w.grad = graphc.tensor([10.0, 10.0])
    out = fn(graphc.tensor([3.0, 4.0]))
    np.testing.assert_allclose(out.numpy(), [13.0, 14.0])
    assert len(seen) == 1 and seen[0].shape == (2,)
    if not compiled:
        np.testing.assert_allclose(seen[0].numpy(), [13.0, 14.0])
    handle.remove()
    w.grad = None
    (w * 2).sum().backward()
    assert len(seen) == 1


def test_post_accumulate_grad_hook_needs_a_leaf():
    x = graphc.ones(2, requires_grad=True)
    with pytest.raises(AutogradError, match="leaf tensors that require grad"):
        (x * 2).register_post_accumulate_grad_hook(lambda p: None)


# ----------------------------------------------------------------------------
# DistributedSampler (explicit rank and size: no process group needed)


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (9, 3, False), (2, 4, False)])
def test_distributed_sampler_shards_cover_the_data(n, replicas, drop_last):
    shards = [list(DistributedSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last)) for r in range(replicas)]
    assert len({len(s) for s in shards}) == 1
    assert len(shards[0]) == len(DistributedSampler(range(n), replicas, 0, drop_last=drop_last))
    flat = [i for s in shards for i in s]
    if drop_last:
        assert len(set(flat)) == len(flat) == (n // replicas) * replicas
    else:
        assert set(flat) == set(range(n)) and len(flat) == -(-n // replicas) * replicas
    assert shards[1][:2] == ([1, 4] if replicas == 3 else [1])


def test_distributed_sampler_shuffles_per_epoch_alike_on_every_rank():
    def order(rank, epoch):
        s = DistributedSampler(range(12), 2, rank, seed=5)
        s.set_epoch(epoch)
        return list(s)

    assert sorted(order(0, 0) + order(1, 0)) == list(range(12))
    assert order(0, 0) == order(0, 0) and order(0, 0) != order(0, 1)
    with pytest.raises(ValueError, match="Invalid rank 3"):
        DistributedSampler(range(4), 2, 3)


# ----------------------------------------------------------------------------
# launcher helpers


def test_prefixed_output_writes_whole_lines_only():
    out = io.StringIO()
    p = _worker.Prefixed(out, "[rank 1] ")
    p.write("a")
    p.write("b\nc")
    assert out.getvalue() == "[rank 1] ab\n"
    p.write("\n\nd\n")
    p.write("tail")
    p.flush()
    assert out.getvalue() == "[rank 1] ab\n[rank 1] c\n[rank 1] \n[rank 1] d\n[rank 1] tail"


def test_worker_sets_torchrun_variables_from_the_mpi_launcher(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "2")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "0")
    assert _worker.set_environment() == 2
    assert (os.environ["RANK"], os.environ["WORLD_SIZE"], os.environ["LOCAL_RANK"]) == ("2", "4", "0")


def test_launcher_builds_mpiexec_commands():
    a = run.parse_args(["--nproc", "3", "--hosts", "n1,n2", "train.py", "--lr", "0.1"])
    cmd = run.build_command(a, "/x/mpiexec", "mpich")
    assert cmd[:5] == ["/x/mpiexec", "-n", "3", "-hosts", "n1,n2"]
    assert cmd[-5:] == ["-m", "graphc.distributed._worker", "train.py", "--lr", "0.1"]
    ompi = run.build_command(a, "/x/mpiexec", "openmpi")
    assert "--oversubscribe" in ompi and "--host" in ompi


def test_launcher_refuses_a_missing_script(capsys):
    assert run.main(["--nproc", "2", "no_such_script.py"]) == 2
    assert "no such script" in capsys.readouterr().err


def test_launcher_shares_the_cores_between_local_ranks(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    assert run.thread_env(2) == {name: "4" for name in run.THREAD_VARIABLES}
    assert run.thread_env(3)["OPENBLAS_NUM_THREADS"] == "2"
    assert run.thread_env(16)["OMP_NUM_THREADS"] == "1"  # oversubscribed: never 0
    assert run.thread_env(4, hosts="n1,n2")["MKL_NUM_THREADS"] == "4"  # 2 ranks per machine
    assert run.thread_env(4, hostfile="hosts.txt") == {}  # ranks per machine unknown: leave it
