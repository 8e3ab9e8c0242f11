"""The pieces every Triton kernel kind shares: tunables, the kernel object (launch, autotune,
ahead-of-time signature) and the emitter that writes a kernel's text.

A :class:`TritonKernel` is one generated ``@triton.jit`` function and how to launch it: its
pointer arguments (:class:`ArgSpec`, each with the strides passed for it), scalar arguments,
tuning constexprs and how to pick them (``configure``), the grid, and flags decided at each
launch: ``C<j>`` (input j is dense: read it by the flat index), ``EVEN`` (the blocks tile the
size exactly: no masks), ``LIBDEVICE`` / ``ON_GPU`` (GPU-only code paths).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from backends.base import KernelInfo
from ir import dtypes as dt
from ir import ops as ops_table
from ir.graph import is_scalar_constant
from ir.printer import format_node

from .. import _env, aot, memory
from .. import exprs as E
from ..args import triton_pointer_type
from ..driver import synchronize
from ..jit import load_kernel

log = logging.getLogger("graphc.triton")

# Tunables (tests lower persistent_rblock_max to exercise the looped form at small sizes).
CONFIG = {
    # rows up to this many elements (a power of two) are reduced in registers in one pass
    "persistent_rblock_max": int(os.environ.get("GRAPHC_TRITON_PERSISTENT_MAX", "8192")),
    # chunk of a long row per loop iteration
    "looped_rblock": 2048,
    # fp32 matmuls may use TF32 tensor cores (PyTorch's allow_tf32; off by default)
    "allow_tf32": os.environ.get("GRAPHC_TRITON_TF32", "0") == "1",
    # autotune matmul tiles on a GPU
    "autotune": os.environ.get("GRAPHC_TRITON_AUTOTUNE", "1") != "0",
    # compile kernels that check indices with Triton's debug flag, so their device-side
    # asserts fire on a GPU (PyTorch's "device-side assert triggered")
    "debug": os.environ.get("GRAPHC_TRITON_DEBUG", "0") == "1",
}


class CodegenError(AssertionError):
    """A fused group reached the Triton codegen that it cannot express: the fusion policy
    (:mod:`backends.triton.policy`) should have refused it. A bug in graphc, never the user's."""

    def __init__(self, kernel: str, reason: str):
        super().__init__(
            f"internal error: Triton kernel {kernel} cannot be generated: {reason}; the Triton fusion "
            "policy should have kept this group apart (please report it)"
        )


def next_pow2(n: int) -> int:
    n = max(int(n), 1)
    return 1 << (n - 1).bit_length()


def prod(xs) -> int:
    n = 1
    for s in xs:
        n *= s
    return n


def scalar_value(n):
    """The value of a one-element constant node (inlined as a literal)."""
    v = n.attrs["value"]
    if isinstance(v, np.ndarray):
        v = v.reshape(-1)[0] if v.size else 0
    return v


# ----------------------------------------------------------------------------
# kernel objects


@dataclass
class ArgSpec:
    """A pointer argument read by a kernel: its node, shape and which strides are passed."""

    name: str
    node: object
    shape: tuple
    stride_dims: list
    flag: str | None = None  # constexpr set when the buffer is dense in its own shape

    @property
    def contig(self) -> tuple:
        return memory.contiguous_strides(self.shape)


@dataclass
class TritonKernel:
    """One generated ``@triton.jit`` kernel and how to launch it."""

    name: str
    kind: str
    source: str
    fn_name: str
    node_ids: list
    node_text: list
    inputs: list  # ArgSpec for each input pointer
    outputs: list  # (param name, node) for each output pointer (written contiguously)
    scalars: list = field(default_factory=list)  # names of scalar (i64) parameters
    constexprs: list = field(default_factory=list)  # tuning constexpr names (XBLOCK, ...)
    libdevice: bool = False
    on_gpu: bool = False  # takes an ON_GPU constexpr (true on a GPU, false under the interpreter)
    even: tuple | None = None  # (size, block constexpr): takes EVEN = size % block == 0
    checks: bool = False  # holds device-side asserts (compiled in under CONFIG["debug"])
    configure: object = None  # fn(kernel) -> dict of constexprs + num_warps/num_stages
    grid: object = None  # fn(config) -> grid tuple
    aot_config: dict = field(default_factory=dict)
    numel: int = 1  # 0: nothing to launch
    _fn: object = None
    _lock: object = field(default_factory=threading.Lock)
    autotuned: dict = field(default_factory=dict)
    tunable: list = field(default_factory=list)  # candidate configs (matmul autotune)

    # -- compiling the source -------------------------------------------------------
    @property
    def fn(self):
        if self._fn is None:
            with self._lock:
                if self._fn is None:
                    self._fn = load_kernel(self.source, self.fn_name, self.name, owner=self)
        return self._fn

    # -- launching --------------------------------------------------------------------
    def launch(self, ins, outs, scalars=()):
        """Run on arrays ``ins`` (read) and ``outs`` (written; preallocated)."""
        if self.numel == 0:
            return
        interp = _env.interpreting()
        args = [memory.kernel_arg(a) for a in ins] + [memory.kernel_arg(o) for o in outs]
        flags = {}
        for spec, a in zip(self.inputs, ins):
            st = memory.element_strides(a)
            args.extend(int(st[d]) for d in spec.stride_dims)
            if spec.flag:
                c = spec.contig
                flags[spec.flag] = all(st[d] == c[d] for d in spec.stride_dims)
        args.extend(int(s) for s in scalars)
        if self.libdevice:
            flags["LIBDEVICE"] = not interp
        if self.on_gpu:
            flags["ON_GPU"] = not interp
        cfg = self.configure(self)
        if self.tunable and not interp and CONFIG["autotune"]:
            cfg = self._autotuned(args, flags, cfg)
        self._run(cfg, args, flags)

    def _flags_for(self, cfg, flags) -> dict:
        if self.even is not None:
            size, block = self.even
            flags = dict(flags, EVEN=size % cfg[block] == 0)
        if self.checks and CONFIG["debug"] and not _env.interpreting():
            flags = dict(flags, debug=True)
        return flags

    def _run(self, cfg, args, flags):
        grid = self.grid(cfg)
        flags = self._flags_for(cfg, flags)
        if _env.interpreting():
            # masked-off lanes compute on padding (log(0), 0/0): numpy must not warn about them
            with np.errstate(all="ignore"):
                self.fn[grid](*args, **flags, **cfg)
        else:
            self.fn[grid](*args, **flags, **cfg)

    def _autotuned(self, args, flags, default):
        key = tuple(sorted(flags.items()))
        if key in self.autotuned:
            return self.autotuned[key]
        best, best_t = default, float("inf")
        for cfg in self.tunable:
            try:
                self._run(cfg, args, flags)  # compile + warm up
                synchronize()
                t0 = time.perf_counter()
                for _ in range(5):
                    self._run(cfg, args, flags)
                synchronize()
                t = time.perf_counter() - t0
            except Exception as e:  # a config that does not fit (shared memory): skip it
                log.debug("autotune %s: config %s failed: %s", self.name, cfg, e)
                continue
            if t < best_t:
                best, best_t = cfg, t
        log.info("autotune %s: picked %s", self.name, best)
        self.autotuned[key] = best
        return best

    # -- ahead-of-time compilation --------------------------------------------------------
    def aot_signature(self) -> tuple[dict, dict]:
        """(signature, constexprs) for ``triton.compile`` with dense inputs."""
        sig = {}
        for spec in self.inputs:
            sig[spec.name] = triton_pointer_type(spec.node.dtype)
        for pname, node in self.outputs:
            sig[pname] = triton_pointer_type(node.dtype)
        for spec in self.inputs:
            for d in spec.stride_dims:
                sig[f"{spec.name}_s{d}"] = "i32"
        for s in self.scalars:
            sig[s] = "i64"
        consts = dict(self.aot_config)
        for spec in self.inputs:
            if spec.flag:
                consts[spec.flag] = True
        if self.libdevice:
            consts["LIBDEVICE"] = True
        if self.on_gpu:
            consts["ON_GPU"] = True
        if self.even is not None:
            size, block = self.even
            consts["EVEN"] = size % self.aot_config[block] == 0
        for k in list(consts):
            sig[k] = "constexpr"
        opts = {k: consts.pop(k) for k in ("num_warps", "num_stages") if k in consts}
        for k in opts:
            del sig[k]
        if self.checks and CONFIG["debug"]:
            opts["debug"] = True
        consts["__options__"] = opts
        return sig, consts

    def compile_ahead(self, target: str = "sm_90") -> str:
        """PTX for ``target`` (e.g. ``"sm_90"``), built without a GPU."""
        return aot.compile_ahead(self, target)

    def info(self) -> KernelInfo:
        return KernelInfo(self.name, self.kind, self.source, list(self.node_ids), list(self.node_text), self)

    def __repr__(self) -> str:
        return f"<TritonKernel {self.name}: nodes {self.node_ids}>"



# ----------------------------------------------------------------------------
# the emitter shared by kernel kinds


class Emitter:
    """Writes one kernel: parameters, body lines, coordinates, loads, node values."""

    def __init__(self, name: str, kind: str, nodes: list):
        self.name = name
        self.kind = kind
        self.nodes = nodes
        self.inside = {n.id for n in nodes}
        self.lines: list[str] = []
        self.depth = 1
        self.helpers: set = set()
        self.inputs: list[ArgSpec] = []
        self.input_of: dict = {}  # node id -> ArgSpec
        self.outputs: list = []
        self.scalars: list = []
        self.constexprs: list = []
        self.values: dict = {}  # node id -> variable name (current scope)
        self.scopes: list = []
        self.coords: dict = {}
        self.loads: dict = {}
        self.on_gpu = False
        self.even = False  # takes an EVEN constexpr: xmask is None when the blocks tile the size

    # -- text ---------------------------------------------------------------------
    def emit(self, line: str = "") -> None:
        self.lines.append(("    " * self.depth + line) if line else "")

    def comment_node(self, n) -> None:
        self.emit("# " + format_node(n))

    def push(self) -> None:
        self.scopes.append((dict(self.values), dict(self.coords), dict(self.loads)))

    def pop(self) -> None:
        self.values, self.coords, self.loads = self.scopes.pop()

    def use_helper(self, name: str) -> None:
        self.helpers.add(name)

    # -- parameters -----------------------------------------------------------------
    def add_input(self, node, flag_ok=True) -> ArgSpec:
        if node.id in self.input_of:
            return self.input_of[node.id]
        j = len(self.inputs)
        shape = tuple(node.shape)
        dims = [d for d, s in enumerate(shape) if s != 1]
        spec = ArgSpec(f"in{j}", node, shape, dims, f"C{j}" if flag_ok and len(dims) >= 2 else None)
        self.inputs.append(spec)
        self.input_of[node.id] = spec
        return spec

    def add_output(self, node) -> str:
        name = f"out{len(self.outputs)}"
        self.outputs.append((name, node))
        return name

    def signature(self) -> str:
        params = [s.name for s in self.inputs] + [p for p, _ in self.outputs]
        for s in self.inputs:
            params.extend(f"{s.name}_s{d}" for d in s.stride_dims)
        params.extend(self.scalars)
        consts = list(self.constexprs) + [s.flag for s in self.inputs if s.flag]
        if any(h in E.LIBDEVICE_HELPERS for h in self.helpers):
            consts.append("LIBDEVICE")
        if self.on_gpu:
            consts.append("ON_GPU")
        if self.even:
            consts.append("EVEN")
        params.extend(f"{c}: tl.constexpr" for c in consts)
        return ", ".join(params)

    def source(self, fn_name: str, doc: list) -> str:
        out = [f"# graphc Triton kernel {self.name}"]
        for h in E.helper_closure(self.helpers):
            out.append(E.HELPERS[h][0])
            out.append("")
            out.append("")
        out.append("@triton.jit")
        out.append(f"def {fn_name}({self.signature()}):")
        out.extend("    # " + d for d in doc)
        out.extend(self.lines)
        return "\n".join(out) + "\n"

    # -- loads ----------------------------------------------------------------------------
    def load_operand(self, spec: ArgSpec, coord_exprs: dict, mask: str, contig_expr: str | None, dtype) -> str:
        """Emit a load of input ``spec`` where operand dim d is at ``coord_exprs[d]``.

        ``contig_expr`` is the offset to use when the buffer is dense (under the
        ``C<j>`` flag) — typically the tile's own flat index."""
        key = (spec.name, tuple(sorted(coord_exprs.items())), mask)
        if key in self.loads:
            return self.loads[key]
        var = (
            f"x{spec.node.id}"
            if not any(k[0] == spec.name for k in self.loads)
            else f"x{spec.node.id}_{len(self.loads)}"
        )
        generic = " + ".join(f"{coord_exprs[d]} * {spec.name}_s{d}" for d in spec.stride_dims) or "0"
        if spec.flag:
            c = spec.contig
            dense = contig_expr or (
                " + ".join(f"{coord_exprs[d]} * {c[d]}" if c[d] != 1 else coord_exprs[d] for d in spec.stride_dims)
            )
            self.emit(f"if {spec.flag}:")
            self.emit(f"    o_{var} = {dense}")
            self.emit("else:")
            self.emit(f"    o_{var} = {generic}")
            off = f"o_{var}"
        else:
            off = generic
        ptr = f"{spec.name} + {off}" if off != "0" else spec.name
        if mask and all(coord_exprs.get(d, "0") == "0" for d in spec.stride_dims):
            # one element for the whole tile: every lane (row) reads the same address, so the
            # value is a block like the tile's other values
            ptr = f"{spec.name} + xoffs * 0"
            mask = "xmask" if mask == "mask" else mask
        if not mask:
            raw = f"tl.load({ptr})"
        elif self.even and mask == "xmask":  # None under EVEN; masked-off lanes are never stored
            raw = f"tl.load({ptr}, mask=xmask)"
        else:
            raw = f"tl.load({ptr}, mask={mask}, other=0)"
        self.emit(
            f"{var} = {self.convert_loaded(raw, dtype)}  # {spec.name}: {spec.node.dtype.short}{list(spec.shape)} (%{spec.node.id})"
        )
        self.loads[key] = var
        return var

    @staticmethod
    def convert_loaded(raw: str, d: dt.DType) -> str:
        """A loaded value in its compute type: converted only where the storage type differs
        (half types compute in float32; bfloat16 buffers are float32 under the interpreter)."""
        if d.is_bool:
            return f"{raw} != 0"
        if d is dt.bfloat16:
            return f"{raw}.to(tl.bfloat16).to(tl.float32)"
        if d.is_floating_point and E.compute_type(d) is not d:
            return f"{raw}.to({E.tl_type(E.compute_type(d))})"
        return raw

    def store(self, out_name: str, offset: str, value: str, mask: str | None, node) -> None:
        m = f", mask={mask}" if mask else ""
        if node.dtype in (dt.float32, dt.float64):  # computed in the stored type: no conversion
            self.emit(f"tl.store({out_name} + {offset}, {value}{m})  # -> %{node.id}")
            return
        self.emit(f"tl.store({out_name} + {offset}, {value}.to({out_name}.dtype.element_ty){m})  # -> %{node.id}")

    # -- elementwise nodes --------------------------------------------------------------------
    def elementwise(self, n, operand) -> str:
        """Emit node ``n`` (elementwise or cast); ``operand(n, i)`` gives input i's value."""
        args = [operand(n, i) for i in range(len(n.inputs))]
        if n.kind == ops_table.CAST:
            expr = E.cast(args[0], n.inputs[0].dtype, n.dtype)
        else:

            def scalar_of(i):
                src = n.inputs[i]
                return scalar_value(src) if is_scalar_constant(src) else None

            expr = E.elementwise(n.op, args, [i.dtype for i in n.inputs], n.dtype, self.use_helper, scalar_of)
        var = f"v{n.id}"
        self.comment_node(n)
        self.emit(f"{var} = {E.round_to(expr, n.dtype)}")
        self.values[n.id] = var
        return var



def pointwise_config(N):
    """Launch configuration of a flat kernel over ``N`` elements."""

    def configure(kernel):
        if _env.interpreting():
            return {"XBLOCK": min(next_pow2(N), 1 << 14)}
        xb = min(1024, next_pow2(N))
        return {"XBLOCK": xb, "num_warps": 4 if xb >= 512 else max(1, xb // 128)}

    return configure
