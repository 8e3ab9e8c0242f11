"""Every Triton kernel the suite generated compiles ahead of time for Hopper (sm_90), no GPU needed.

Named ``test_zz_*`` so that it runs after the other Triton tests in this
directory, whose kernels the conftest records. It also generates a fixed set
of representative kernels itself (every kernel kind), so it means something
when run alone. Kernels are deduplicated by source and capped
(``GRAPHC_AOT_MAX``, default 120, picked round-robin over kernel kinds and op
compositions; about 0.1 s a kernel once the compile worker runs). With
``GRAPHC_AOT_MAX=100000`` every distinct kernel is compiled (about 1100 of
them, ~2 minutes): all compile.
"""

from __future__ import annotations

import os
import re
import warnings

import numpy as np

import graphc
import graphc.nn.functional as F
from backends.triton.codegen import program

AOT_MAX = int(os.environ.get("GRAPHC_AOT_MAX", "120"))


def _conv_grad(img, weight):
    """A strided, padded convolution and the gradient of its input (im2col, then col2im)."""
    out = F.conv2d(img, weight, stride=2, padding=1)
    return out.detach(), graphc.autograd.grad(out.sum(), img)[0]


def _representative_kernels():
    """Compile a few functions that cover every kernel kind, and return their kernels."""
    graphc.manual_seed(0)
    x, w = graphc.randn(8, 32), graphc.randn(16, 32)
    idx = graphc.tensor([[0, 3], [1, 1], [2, 0], [7, 4], [5, 5], [6, 2], [4, 7], [3, 6]])
    fns = [
        (lambda x, w: F.gelu(x @ w.t() + 1.0, approximate="tanh"), (x, w)),  # matmul + epilogue
        (lambda x: F.layer_norm(x, (32,)).softmax(-1), (x,)),  # persistent row kernels
        (lambda x: (x.t().exp() * 2, x.argmax(0), x.amax(1)), (x,)),  # pointwise, reductions
        (lambda x: (x.gather(1, idx), graphc.cat([x, x], 0), F.pad(x, (1, 2)), x.cumsum(1)), (x,)),
        (lambda x: x.scatter_add(1, idx, x[:, :2]) + graphc.rand(8, 32), (x,)),
        (lambda x: x.to(graphc.bfloat16) @ x.t().to(graphc.bfloat16), (x,)),
        (_conv_grad, (graphc.randn(2, 3, 9, 8, requires_grad=True), graphc.randn(4, 3, 3, 3))),  # im2col and col2im
    ]
    kernels = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn, args in fns:
            report = graphc.compile(fn, backend="triton").explain(*args)
            kernels.extend(k.kernel for k in report.kernels)
    return kernels


def _round_robin(lists):
    lists = [list(x) for x in lists]
    out = []
    while any(lists):
        for x in lists:
            if x:
                out.append(x.pop(0))
    return out


def _diverse(kernels, cap):
    """Distinct sources, picked round-robin over kernel kinds and, within a kind, over op
    compositions: with a cap of at least 4, every kind present is compiled however many
    kernels of one kind the suite generated (a failing hypothesis run makes thousands)."""
    by_kind = {}
    for k in kernels:
        groups = by_kind.setdefault(k.kind, {})
        groups.setdefault(re.sub(r"^k[0-9_]+_", "", k.name), []).append(k)
    per_kind = [_round_robin(groups[key] for key in sorted(groups)) for _, groups in sorted(by_kind.items())]
    return _round_robin(per_kind)[:cap]


def test_the_pick_covers_every_kind_however_many_kernels_of_one_kind():
    class K:
        def __init__(self, kind, name):
            self.kind, self.name = kind, name

    many = [K("pointwise", f"k{i}_pointwise_op{i}") for i in range(3000)]
    few = [K("matmul", "k9_matmul_matmul"), K("reduction", "k3_reduction_sum"), K("single", "k4_single_gather")]
    picked = _diverse(many + few, 120)
    assert len(picked) == 120 and {k.kind for k in picked} == {"pointwise", "matmul", "reduction", "single"}


def test_every_generated_kernel_compiles_for_sm_90():
    kernels = list(program.RECORDED or []) + _representative_kernels()
    unique = {}
    for k in kernels:
        unique.setdefault(k.source, k)
    picked = _diverse(list(unique.values()), AOT_MAX)
    print(f"{len(kernels)} kernels generated, {len(unique)} distinct sources; compiling {len(picked)}")
    kinds = {k.kind for k in picked}
    assert {"pointwise", "reduction", "matmul", "single"} <= kinds
    failures = []
    for k in picked:
        try:
            ptx = k.compile_ahead("sm_90")
        except Exception as e:  # collect them all, then fail once with the list
            failures.append(f"{k.name}: {str(e)[:1500]}\n{k.source}")
            continue
        assert re.search(r"^\.target sm_90a?\b", ptx, re.MULTILINE), k.name
        assert f".entry {k.fn_name}" in ptx or k.fn_name in ptx
    assert not failures, "\n\n".join(failures)


def test_compile_ahead_from_an_explain_report_gives_hopper_ptx():
    x = graphc.randn(4, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = graphc.compile(lambda x: (x * x).sum(1), backend="triton").explain(x)
    (k,) = report.kernels
    ptx = k.compile_ahead("sm_90")
    assert ".target sm_90a" in ptx
    assert "ld.global" in ptx and "st.global" in ptx


def test_matmul_kernel_uses_hopper_tensor_cores():
    """A bf16 matmul tile compiled for sm_90 issues wgmma (Hopper's warpgroup MMA)."""
    a = graphc.randn(256, 256).to(graphc.bfloat16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = graphc.compile(lambda a, b: a @ b, backend="triton").explain(a, a)
    (k,) = report.kernels
    ptx = k.compile_ahead("sm_90")
    assert "wgmma" in ptx or "mma" in ptx
    np.testing.assert_equal(k.kind, "matmul")
