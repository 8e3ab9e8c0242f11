"""The generated Triton source carries no noise: loads convert only where the storage type
differs from the compute type, and pointwise kernels load and store without masks when the
blocks tile the size exactly (``EVEN``, decided at launch)."""

from __future__ import annotations

import re

import numpy as np

import backends.triton as BT
from backends.numpy.interpreter import interpret
from ir import dtypes as dt
from ir.graph import Graph
from ir.passes.fusion import fuse


def _pointwise(shape, d):
    g = Graph("src")
    x, y = g.add_input(shape, d), g.add_input(shape, d)
    g.outputs.append(g.add("tanh", [g.add("mul", [x, y])]))
    return g, BT.compile_schedule(fuse(g, policy=BT.BACKEND.fusion_policy()), "src")


def test_float32_and_float64_loads_and_stores_are_not_converted():
    for d, t in ((dt.float32, "tl.float32"), (dt.float64, "tl.float64")):
        _, p = _pointwise((8, 8), d)
        (k,) = p.kernel_infos()
        assert f".to({t})" not in k.source, k.source
        assert "element_ty" not in k.source, k.source
    _, p = _pointwise((8, 8), dt.float16)  # half values compute in float32 and are stored as half
    (k,) = p.kernel_infos()
    assert ".to(tl.float32)" in k.source and ".to(out0.dtype.element_ty)" in k.source


def test_even_sizes_run_unmasked_and_uneven_ones_masked():
    rng = np.random.default_rng(0)
    for shape in ((64, 64), (50, 80), (7,), ()):
        g, p = _pointwise(shape, dt.float32)
        (k,) = p.kernel_infos()
        assert "xmask = None if EVEN else xoffs <" in k.source
        x, y = rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
        np.testing.assert_allclose(p([x, y])[0], interpret(g, [x, y])[0], rtol=1e-6, atol=1e-7)


def _guarded_loads(ptx: str) -> tuple[int, int]:
    loads = [line for line in ptx.splitlines() if "ld.global" in line]
    return sum(1 for line in loads if re.match(r"\s*@%p", line)), len(loads)


def test_even_kernels_compile_to_unpredicated_loads_for_sm_90():
    _, even = _pointwise((64, 64), dt.float32)  # 4096 elements: the GPU block (1024) tiles them
    _, uneven = _pointwise((50, 80), dt.float32)  # 4000 elements: a tail
    guarded, total = _guarded_loads(even.kernel_infos()[0].compile_ahead("sm_90"))
    assert total and guarded == 0
    guarded, total = _guarded_loads(uneven.kernel_infos()[0].compile_ahead("sm_90"))
    assert guarded == total > 0
