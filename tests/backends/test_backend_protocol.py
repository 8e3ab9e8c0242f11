"""The backend protocol: the registry by device, one Program and KernelInfo type for both
backends, the shared source loader (which must not leak ``linecache`` entries), and no import
cycle among the backends' modules."""

from __future__ import annotations

import ast
import gc
import linecache
import os
import warnings

import networkx as nx
import numpy as np
import pytest

import backends
import graphc
from backends import Backend, KernelInfo, Program, backend_for_device, backend_named, register_backend
from backends.base import _registry
from backends.loader import load_source, registered_sources
from graphc.device import backend_for
from ir import dtypes as dt
from ir.errors import UnsupportedError
from ir.graph import Graph
from ir.passes.fusion import FusionPolicy, fuse

try:
    import triton  # noqa: F401

    HAVE_TRITON = True
except ImportError:  # pragma: no cover
    HAVE_TRITON = False


def test_registry_finds_backends_by_device_and_by_name():
    cpu = backend_for_device("cpu")
    assert isinstance(cpu, Backend) and cpu.name == "numpy" and cpu.device_type == "cpu"
    assert backend_named("numpy") is cpu
    assert backend_for(graphc.device("cpu")) is cpu
    assert backends.registered_backends() == {"numpy": "cpu", "triton": "cuda"}
    with pytest.raises(UnsupportedError, match=r"unknown backend 'jax'; expected 'numpy' or 'triton'"):
        backend_named("jax")
    with pytest.raises(UnsupportedError, match="no backend serves device type 'tpu'"):
        backend_for_device("tpu")


@pytest.mark.skipif(not HAVE_TRITON, reason="needs triton")
def test_the_triton_backend_serves_cuda():
    b = backend_for_device("cuda")
    assert b.name == "triton" and backend_named("triton") is b
    assert b.fusion_policy().name == "triton"


def test_a_registered_backend_is_created_once_on_first_use():
    made = []

    class Doubling(Backend):
        name, device_type = "doubling", "meta"

        def run_op(self, opdef, arrays, attrs, shape, dtype):
            return backend_named("numpy").run_op(opdef, arrays, attrs, shape, dtype) * 2

        def compile(self, schedule, name="graph"):
            return backend_named("numpy").compile(schedule, name)

    def factory():
        made.append(1)
        return Doubling()

    try:
        register_backend("doubling", "meta", factory)
        assert made == []
        b = backend_for_device("meta")
        assert backend_named("doubling") is b and made == [1]
        assert isinstance(b.fusion_policy(), FusionPolicy)
        np.testing.assert_array_equal(b.to_host(np.arange(3)), [0, 1, 2])
    finally:
        _registry.pop("doubling", None)


def _small_graph(c: float):
    g = Graph("small")
    x = g.add_input((3, 4), dt.float32)
    g.outputs.append(g.add("mul", [g.add("exp", [x]), g.add_constant(c, dt.float32)]))
    return g


def test_both_backends_return_one_program_and_kernel_info_type():
    g = _small_graph(2.0)
    x = np.ones((3, 4), np.float32)
    names = ["numpy"] + (["triton"] if HAVE_TRITON else [])
    for name in names:
        b = backend_named(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = b.compile(fuse(g, policy=b.fusion_policy()), "small")
            (out,) = program([x])
        assert isinstance(program, Program) and program.name == "small"
        np.testing.assert_allclose(np.asarray(out), np.exp(x) * 2, rtol=1e-6)
        (info,) = program.kernel_infos()
        assert isinstance(info, KernelInfo) and info.kind == "pointwise"
        assert info.nodes and info.node_text and info.source in program.source
    with pytest.raises(UnsupportedError, match="applies to Triton kernels"):
        backend_named("numpy").compile(fuse(g), "small").kernel_infos()[0].compile_ahead("sm_90")


def test_explain_reports_kernel_infos_for_either_backend():
    x = graphc.randn(4, 5)
    report = graphc.compile(lambda x: (x * 2).sum(1)).explain(x)
    assert report.backend == "numpy" and all(isinstance(k, KernelInfo) for k in report.kernels)
    assert report.kernels[0].node_text


# ----------------------------------------------------------------------------
# the loader


def test_loaded_source_is_readable_while_it_lives_and_dropped_after():
    fn = load_source("def f(x):\n    return x + 1\n", "test", {}, "f")
    assert fn(1) == 2
    filename = fn.__code__.co_filename
    assert linecache.getline(filename, 2).strip() == "return x + 1"
    del fn
    gc.collect()
    assert filename not in linecache.cache


def test_a_failing_source_leaves_no_entry():
    before = registered_sources()
    with pytest.raises(ZeroDivisionError):
        load_source("x = 1 / 0\n", "test", {}, "x")
    assert registered_sources() == before


def test_two_thousand_compiled_and_dropped_programs_leave_linecache_bounded():
    """Issue 11: every compile left its source in linecache (~3.6 KB each, unbounded)."""
    gc.collect()
    before = registered_sources()
    x = np.ones((3, 4), np.float32)
    numpy_backend = backend_named("numpy")
    for i in range(2000):
        program = numpy_backend.compile(fuse(_small_graph(float(i))), f"p{i}")
        program([x])
        del program
    gc.collect()
    assert registered_sources() <= before + 10


def test_compiling_fresh_closures_keeps_linecache_bounded():
    gc.collect()
    before = registered_sources()
    x = graphc.randn(3, 4)
    for i in range(400):
        c = float(i)
        graphc.compile(lambda x: x * c + 1, warmup=False)(x)
    gc.collect()
    # the compile cache keeps at most PROGRAM_CACHE_SIZE programs alive; the rest are released
    assert registered_sources() <= before + 256 + 10


@pytest.mark.skipif(not HAVE_TRITON, reason="needs triton")
def test_triton_programs_and_kernels_release_their_sources(monkeypatch):
    from backends.triton.codegen import program as triton_program

    monkeypatch.setattr(triton_program, "RECORDED", None)  # the AOT test's record keeps kernels alive
    gc.collect()
    before = registered_sources()
    x = np.ones((3, 4), np.float32)
    triton_backend = backend_named("triton")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(100):
            program = triton_backend.compile(fuse(_small_graph(float(i)), policy=triton_backend.fusion_policy()), "t")
            program([x])  # loads the kernel's source too
            del program
    gc.collect()  # the kernels go, and their finalizers release Triton's references to them
    gc.collect()  # then the kernels' functions and sources
    assert registered_sources() <= before + 10


# ----------------------------------------------------------------------------
# imports


def _module_imports(root):
    """``{module: {imported project modules}}`` for the ``backends`` package, from the source."""
    base = os.path.dirname(os.path.dirname(os.path.abspath(backends.__file__)))
    mods = {}
    for dirpath, _, files in os.walk(os.path.join(base, root)):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, base)[:-3].replace(os.sep, ".")
                mods[rel.removesuffix(".__init__")] = path
    graph = {m: set() for m in mods}
    for mod, path in mods.items():
        package = mod if path.endswith("__init__.py") else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(open(path).read())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = package
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    stem = f"{anchor}.{node.module}" if node.module else anchor
                else:
                    stem = node.module
                targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in mods else stem for a in node.names]
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != mod and not mod.startswith(t + "."):
                    graph[mod].add(t)
    return graph


def test_backends_modules_import_no_cycle():
    graph = nx.DiGraph([(a, b) for a, deps in _module_imports("backends").items() for b in deps])
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, cycles
