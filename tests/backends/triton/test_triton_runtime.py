"""The Triton runtime's host-side pieces, testable without a GPU: the interpreter's array
protocol, stride arithmetic, the copy kernel, bfloat16 conversion, the allocator's
buckets, target parsing, and the errors raised where a GPU is needed and absent."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from backends.triton import _env, aot, args, driver, eager, memory, strided_copy
from backends.triton.codegen import program, single
from ir.errors import DeviceError, UnsupportedError
from ir.ops.movement import reshape_strides

needs_interpreter = pytest.mark.skipif(not _env.interpreting(), reason="kernels run on a GPU here")


def test_host_array_answers_the_interpreter_protocol_without_copies():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)[:, 1:3]
    h = args.HostArray(a)
    assert h.data_ptr() == a.__array_interface__["data"][0]
    assert h.dtype == "float32" and h.size() == (3, 2) and h.stride() == (4, 1)
    st = h.untyped_storage()
    assert st.cpu() is st and st.data_ptr() == h.data_ptr()
    shell = h.new_empty(0, device="cpu")
    shell.set_(st, h.storage_offset(), h.size(), h.stride())
    assert shell.data_ptr() == h.data_ptr()
    assert args.HostArray(np.zeros(3, bool)).dtype == "uint8"  # bool buffers are bytes to Triton


def test_reshape_strides_follow_pytorch():
    """The reshape row's stride rule, which DeviceArray views use (ir.ops.movement)."""
    assert reshape_strides((4, 6), (6, 1), (24,)) == (1,)
    assert reshape_strides((4, 6), (6, 1), (2, 2, 6)) == (12, 6, 1)
    assert reshape_strides((6, 4), (1, 6), (24,)) is None  # transposed: needs a copy
    assert reshape_strides((6, 4), (1, 6), (6, 2, 2)) == (1, 12, 6)
    assert reshape_strides((4, 1, 6), (6, 99, 1), (4, 6)) == (6, 1)


def test_contiguity():
    assert memory.is_contiguous((3, 4), (4, 1)) and memory.is_contiguous((3, 1), (1, 7))
    assert not memory.is_contiguous((3, 4), (1, 3))
    assert memory.contiguous_strides((2, 3, 4)) == (12, 4, 1)


def test_copy_kernel_handles_strides_broadcast_and_casts():
    src = np.arange(24, dtype=np.float32).reshape(2, 3, 4).transpose(2, 0, 1)[::-1]
    dst = np.empty(src.shape, np.float64)
    memory.copy_kernel(dst, src)
    np.testing.assert_array_equal(dst, src)
    dst = np.empty((3, 5), np.int32)
    memory.copy_kernel(dst, np.broadcast_to(np.arange(5, dtype=np.float32) * 1.5, (3, 5)))
    np.testing.assert_array_equal(dst, np.broadcast_to((np.arange(5) * 1.5).astype(np.int32), (3, 5)))
    b = np.empty(4, bool)
    memory.copy_kernel(b, np.array([0.0, 0.5, -2.0, 0.0], np.float32))
    np.testing.assert_array_equal(b, [False, True, True, False])
    # the host op used by concat / scatter: broadcast copy into a strided view
    out = np.zeros((4, 6), np.float32)
    memory.copy_into(out[:, 1::2], np.float32(7))
    assert out[:, 1::2].sum() == 7 * 12 and out[:, ::2].sum() == 0


def test_collapse_merges_dense_dims():
    assert strided_copy.collapse((2, 3, 4), (12, 4, 1), (12, 4, 1)) == [(24, [1, 1])]
    assert strided_copy.collapse((2, 3, 4), (1, 8, 2), (12, 4, 1)) == [(2, [1, 12]), (12, [2, 1])]
    assert strided_copy.collapse((3, 4), (1, 3), (4, 1)) == [(3, [1, 4]), (4, [3, 1])]  # a transpose stays 2-d


def test_bfloat16_bits_round_to_nearest_even():
    x = np.array([1.0, 1.00390625, 1.01171875, -3.5, np.inf, np.nan], np.float32)
    bits = memory._to_bf16_bits(x)
    back = (bits.astype(np.uint32) << 16).view(np.float32)
    from backends.numpy.kernels import round_bf16

    np.testing.assert_array_equal(back, round_bf16(x))


def test_allocator_buckets():
    assert driver._bucket(1) == 512 and driver._bucket(513) == 1024
    assert driver._bucket(1 << 20) == 1 << 20
    assert driver._bucket((1 << 20) + 1) == 2 << 20
    assert driver._bucket(5 << 20) == 6 << 20


def test_device_array_views_are_metadata():
    class _FakeBlock:  # a view never touches the driver
        ptr, size = 4096, 4096

    a = memory.DeviceArray(_FakeBlock(), 0, (4, 6), (6, 1), "float32")
    t = memory.view(a, "permute", {"dims": (1, 0)}, (6, 4))
    assert t.estrides == (1, 6) and t.block is a.block and not t.is_contiguous()
    s = memory.view(a, "slice", {"starts": (3, 1), "stops": (-1, 6), "steps": (-1, 2)}, (4, 3))
    assert s.offset == 3 * 6 + 1 and s.estrides == (-6, 2)
    assert s.data_ptr() == 4096 + 19 * 4
    row = memory.view(a, "slice", {"starts": (0, 0), "stops": (1, 6), "steps": (1, 1)}, (1, 6))
    e = memory.view(row, "expand", {"shape": (5, 1, 6)}, (5, 1, 6))
    assert e.estrides[0] == 0
    r = memory.view(a, "reshape", {"shape": (2, 2, 6)}, (2, 2, 6))
    assert r.estrides == (12, 6, 1)
    assert a.strides == (24, 4) and a.itemsize == 4 and a.flags.c_contiguous
    assert np.may_share_memory(a, t) and not np.may_share_memory(
        a, memory.DeviceArray(_FakeBlock(), 0, (1,), (1,), "float32")
    )


def test_parse_target():
    assert aot.parse_target("sm_90") == ("cuda", 90, 32)
    assert aot.parse_target("sm_90a") == ("cuda", 90, 32)
    assert aot.parse_target("sm_80") == ("cuda", 80, 32)
    with pytest.raises(UnsupportedError):
        aot.parse_target("gfx942")


@pytest.mark.skipif(graphc.cuda.is_available(), reason="a GPU is present")
def test_cuda_requests_without_a_gpu_raise_clear_errors():
    assert not graphc.cuda.is_available()
    with pytest.raises(DeviceError, match="CUDA is not available"):
        graphc.randn(2, 2).to("cuda")
    with pytest.raises(DeviceError):
        eager.run_op(None, [], {}, (), None)


@needs_interpreter
def test_host_fallback_is_interpreter_only(monkeypatch):
    """An op the codegen cannot emit runs in numpy under the interpreter, clearly labelled;
    on a GPU the same op raises UnsupportedError at compile time."""
    from backends.triton import BACKEND
    from ir import dtypes as dt
    from ir.graph import Graph
    from ir.passes.fusion import fuse

    def no_kernel(self):
        raise UnsupportedError("no kernel")

    monkeypatch.setattr(single.SingleKernel, "gen_pad", no_kernel)
    g = Graph("fb")
    x = g.add_input((2, 3), dt.float32)
    g.outputs.append(g.add("pad", [x], pads=((1, 0), (0, 1)), value=0.0))
    compiled = program.compile_schedule(fuse(g, policy=BACKEND.fusion_policy()), "fb")
    assert "HOST FALLBACK (interpreter only)" in compiled.source
    (out,) = compiled([np.ones((2, 3), np.float32)])
    assert out.shape == (3, 4) and out.sum() == 6
    monkeypatch.setattr(program, "device_memory", lambda: True)
    with pytest.raises(UnsupportedError):
        program.TritonCodegen(fuse(g), "fb").generate()


@pytest.mark.skipif(_env.GPU_PRESENT, reason="a GPU is present")
def test_triton_imported_before_graphc_without_a_gpu_gives_the_interpreter_guidance():
    """Issue 11: with triton imported first (so TRITON_INTERPRET could not be set) and no GPU,
    backend="triton" used to fail in the CUDA allocator; it now says what to do."""
    import os
    import subprocess
    import sys

    code = (
        "import triton, graphc\n"
        "from ir.errors import UnsupportedError\n"
        "try:\n"
        "    graphc.compile(lambda x: x * 2, backend='triton', warmup=False)(graphc.ones(3))\n"
        "except UnsupportedError as e:\n"
        "    print('UnsupportedError:', e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert "UnsupportedError:" in out.stdout, out.stdout + out.stderr
    assert "set TRITON_INTERPRET=1" in out.stdout
