"""The strided copy kernel: ``dst[...] = src`` (or ``dst[...] += src``) for any strides and
element types, broadcast included.

It serves ``contiguous()``, ``copy_``, concat, the initial copy of scatter-style updates,
uploads of strided values and ``+=`` on device arrays (the autograd engine accumulates
``.grad`` so). Arguments are already launch arguments (:mod:`.args`); :mod:`.memory` prepares
them. One kernel handles every rank up to ``COPY_RANK`` after adjacent dense dims are merged.
"""

from __future__ import annotations

import threading

from ir.errors import UnsupportedError

from . import _env
from .jit import load_kernel

COPY_RANK = 6
_kernels: dict = {}
_lock = threading.Lock()


def copy_source(to_bool: bool, accumulate: str | None = None) -> str:
    """The kernel's text: a cast to bool compares with 0; ``accumulate`` (a Triton type such
    as ``"tl.float32"``) adds the source to the destination in that type instead of storing it."""
    r = COPY_RANK
    dims = ", ".join(f"d{i}" for i in range(r))
    ss = ", ".join(f"s{i}" for i in range(r))
    ts = ", ".join(f"t{i}" for i in range(r))
    what = "dst[...] += src[...]" if accumulate else "dst[...] = src[...]"
    lines = [
        f"# graphc Triton kernel: strided copy ({what}, broadcast and cast)",
        "@triton.jit",
        f"def strided_copy(dst, src, n, {dims}, {ss}, {ts}, EVEN: tl.constexpr, XBLOCK: tl.constexpr):",
        "    xoffs = tl.program_id(0).to(tl.int64) * XBLOCK + tl.arange(0, XBLOCK)",
        "    xmask = None if EVEN else xoffs < n  # EVEN: the blocks tile n exactly",
        "    rest = xoffs",
    ]
    for i in reversed(range(r)):
        lines.append(f"    i{i} = rest % d{i}")
        lines.append(f"    rest = rest // d{i}")
    src_off = " + ".join(f"i{i} * s{i}" for i in range(r))
    dst_off = " + ".join(f"i{i} * t{i}" for i in range(r))
    lines.append(f"    v = tl.load(src + {src_off}, mask=xmask)")
    if to_bool:
        lines.append("    v = v != 0")
    if accumulate:
        lines.append(f"    w = tl.load(dst + {dst_off}, mask=xmask)")
        lines.append(f"    v = w.to({accumulate}) + v.to({accumulate})")
    lines.append(f"    tl.store(dst + {dst_off}, v.to(dst.dtype.element_ty), mask=xmask)")
    return "\n".join(lines) + "\n"


def collapse(shape, *strides_list):
    """Merge adjacent dims that are contiguous in every stride list (fewer index ops)."""
    dims = [(s, [st[i] for st in strides_list]) for i, s in enumerate(shape) if s != 1]
    out = []
    for s, sts in dims:
        if out:
            ps, psts = out[-1]
            if all(p == q * s for p, q in zip(psts, sts)):
                out[-1] = (ps * s, sts)
                continue
        out.append((s, sts))
    return out


def _kernel(to_bool: bool, accumulate: str | None):
    key = (to_bool, accumulate)
    with _lock:
        fn = _kernels.get(key)
        if fn is None:
            fn = _kernels[key] = load_kernel(copy_source(to_bool, accumulate), "strided_copy", "copy")
    return fn


def launch_copy(dst, src, shape, dst_strides, src_strides, to_bool=False, accumulate=None) -> None:
    """Launch the copy over ``shape`` between launch arguments ``dst`` and ``src`` (strides in
    elements; a broadcast source has stride 0 along its broadcast dims)."""
    n = 1
    for s in shape:
        n *= s
    if n == 0:
        return
    dims = collapse(shape, src_strides, dst_strides)
    if len(dims) > COPY_RANK:
        raise UnsupportedError(f"strided copy of a {len(dims)}-d non-contiguous array (at most {COPY_RANK} dims)")
    dims = [(1, [0, 0])] * (COPY_RANK - len(dims)) + dims
    sizes = [d[0] for d in dims]
    ss = [d[1][0] for d in dims]
    ts = [d[1][1] for d in dims]
    interp = _env.interpreting()
    xb = min(1 << (n - 1).bit_length(), 1 << 14) if interp else 1024
    kw = {"XBLOCK": xb, "EVEN": n % xb == 0}
    if not interp:
        kw["num_warps"] = 4
    _kernel(to_bool, accumulate)[((n + xb - 1) // xb,)](dst, src, n, *sizes, *ss, *ts, **kw)
