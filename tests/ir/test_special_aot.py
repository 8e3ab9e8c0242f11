"""The special-function and representation rows' Triton code builds for a GPU (sm_90), no GPU needed.

Under the interpreter the rows run their helper formulas; a GPU build calls libdevice wherever a
row names a libdevice function and compiles the helpers for the rest. Both forms are generated
here — one fused kernel per group of rows, so a handful of compilations cover every row — and
compiled ahead of time for Hopper.
"""

from __future__ import annotations

import re

import pytest

import backends.triton._env  # noqa: F401  (sets TRITON_INTERPRET before triton is imported)
from ir import dtypes as dt
from ir.graph import Graph
from ir.ops import OPS, bits, special
from ir.passes.fusion import fuse

pytest.importorskip("triton")

ROWS = special.NAMES + bits.NAMES


def _accepts(name, d):
    try:
        OPS[name].infer([_Meta(d)] * OPS[name].arity, {})
        return True
    except Exception:
        return False


class _Meta:
    shape = (64,)

    def __init__(self, dtype):
        self.dtype = dtype


def _program(dtype):
    """Every row that takes ``dtype``, applied to the same inputs and summed: one fused kernel."""
    import backends.triton as BT  # optional dependency (skipped above without it)

    g = Graph("special_rows")
    x, y = g.add_input((64,), dtype), g.add_input((64,), dtype)
    names = [n for n in ROWS if _accepts(n, dtype)]
    total = None
    for n in names:
        v = g.add(n, [x, y][: OPS[n].arity])
        v = v if v.dtype is dtype else g.add("cast", [v], dtype=dtype)
        total = v if total is None else g.add("add", [total, v])
    g.outputs.append(total)
    return names, BT.compile_schedule(fuse(g), "special_rows", quiet=True)


@pytest.mark.parametrize("libdevice", [False, True], ids=["helpers", "libdevice"])
@pytest.mark.parametrize("dtype", [dt.float32, dt.float64, dt.int64, dt.int32], ids=lambda d: d.short)
def test_rows_compile_for_sm_90(dtype, libdevice, monkeypatch):
    from backends.triton import exprs  # optional dependency (skipped above without it)

    monkeypatch.setitem(exprs.CONFIG, "libdevice", libdevice)
    names, program = _program(dtype)
    assert names, f"no rows take {dtype}"
    source = "\n".join(k.source for k in program.kernels)
    for n in names:
        lib = OPS[n].libdevice
        if dtype.is_floating_point and lib:
            assert (f"libdevice.{lib}(" in source) == libdevice, f"{n}: libdevice.{lib} in a {'GPU' if libdevice else 'interpreter'} build"
    for k in program.kernels:
        ptx = k.compile_ahead("sm_90")
        assert re.search(r"^\.target sm_90a?\b", ptx, re.MULTILINE), k.name
