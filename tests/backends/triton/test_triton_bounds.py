"""Out-of-range indices under ``backend="triton"`` never give garbage: under the interpreter the
host program checks them before the launch (IndexError naming the op, the index and the size,
as the numpy backend raises); on a GPU the kernels carry a device-side assert that
``GRAPHC_TRITON_DEBUG=1`` compiles in (PyTorch's "device-side assert triggered")."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import graphc
import graphc.nn.functional as F
from backends.triton import _env
from backends.triton.codegen import CONFIG

needs_interpreter = pytest.mark.skipif(not _env.interpreting(), reason="kernels run on a GPU here")

ROWS = [[0, 1], [1, 1], [2, 0], [3, 3]]

# name: (function of (x, idx), valid indices, out-of-range indices, the message expected)
CASES = {
    "gather": (lambda x, i: x.gather(1, i), ROWS, [[0, 7], [1, 1], [2, 0], [3, 3]], "gather: index 7 .* dimension 1 with size 5"),
    "index_select": (lambda x, i: x.index_select(0, i), [1, 3], [1, 4], "index_select: index 4 .* dimension 0 with size 4"),
    "getitem": (lambda x, i: x[i] * 2, [0, -1], [0, 9], "index 9 is out of bounds for dimension 0 with size 4"),
    "embedding": (lambda x, i: F.embedding(i, x), [1, 3], [1, -6], "index -6 is out of bounds for dimension 0 with size 4"),
    "scatter_add": (
        lambda x, i: x.scatter_add(1, i, x[:, :2]),
        ROWS,
        [[0, -7], [1, 1], [2, 0], [3, 3]],
        "scatter_add: index -7 .* dimension 1 with size 5",
    ),
    # PyTorch's index_add refuses negative indices (-1 included), unlike x[i]
    "index_add": (lambda x, i: x.index_add(0, i, x[:2]), [0, 3], [0, -1], "index_add: index -1 .* dimension 0 with size 4"),
    "index_copy": (lambda x, i: x.index_copy(0, i, x[:2]), [0, 1], [0, 5], "index_copy: index 5 .* dimension 0 with size 4"),
}


@needs_interpreter
@pytest.mark.parametrize("case", sorted(CASES))
def test_out_of_range_indices_raise_index_error(case):
    fn, good, bad, message = CASES[case]
    x = graphc.randn(4, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = graphc.compile(fn, backend="triton", warmup=False)
        got = compiled(x, graphc.tensor(good))  # negative indices in range count from the end
        np.testing.assert_allclose(got.numpy(), fn(x, graphc.tensor(good)).numpy(), rtol=1e-6)
        with pytest.raises(IndexError, match=message):
            compiled(x, graphc.tensor(bad))
    assert compiled.cache_info().traces == 1  # the compiled program raised, not a retrace


def _gather_kernel():
    idx = graphc.tensor(ROWS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = graphc.compile(lambda x: x.gather(1, idx), backend="triton").explain(graphc.randn(4, 5))
    (k,) = [k for k in report.kernels if k.kind == "single"]
    return report, k


def test_index_kernels_carry_a_device_side_assert():
    report, k = _gather_kernel()
    assert re.search(r'tl\.device_assert\(.*"gather: index out of bounds for dimension 1 with size 5"\)', k.source)
    # under the interpreter the host program checks the indices before the launch
    assert ("R.check_index(" in report.program_source) == _env.interpreting()


def test_debug_mode_compiles_the_assert_in_for_a_gpu(monkeypatch):
    """GRAPHC_TRITON_DEBUG=1 (CONFIG["debug"]): the PTX calls the CUDA assert handler; without it
    the assert costs nothing."""
    _, k = _gather_kernel()
    plain = k.compile_ahead("sm_90")
    monkeypatch.setitem(CONFIG, "debug", True)
    debug = k.compile_ahead("sm_90")
    assert "__assertfail" not in plain
    assert "__assertfail" in debug


@needs_interpreter
def test_compiled_binary_cross_entropy_checks_its_input_on_triton():
    """The value check row runs on the host before the loss kernels (a HOST CALL)."""
    step = graphc.compile(lambda x, y: F.binary_cross_entropy(x, y), backend="triton", warmup=False)
    y = graphc.tensor([1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = graphc.tensor([0.25, 0.75], requires_grad=True)
        loss = step(x, y)
        loss.backward()
        np.testing.assert_allclose(loss.item(), -np.log(0.25), rtol=1e-6)
        np.testing.assert_allclose(x.grad.numpy(), [-2.0, 2.0], rtol=1e-6)
        with pytest.raises(RuntimeError, match="between 0 and 1"):
            step(graphc.tensor([0.5, 1.5]), y)
    assert step.cache_info().traces == 1
