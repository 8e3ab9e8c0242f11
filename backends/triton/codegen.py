"""Triton code generation: a fused schedule becomes readable ``@triton.jit`` kernels.

One kernel per fused group (see :mod:`ir.passes.fusion`):

``pointwise``
    a flat block of ``XBLOCK`` elements of the output shape per program, with
    a mask for the tail; each input is read through index arithmetic from its
    own strides (passed as kernel arguments, so views — transposes, slices,
    broadcasts — never force a copy). An input whose layout is dense gets a
    ``C<j>`` constexpr flag at launch, and then its offsets are the flat index
    itself (no div/mod), which lets Triton vectorize the access.
``reduction``
    a row kernel: ``XBLOCK`` rows of the domain per program, reduced over
    ``axes``. Short rows use the *persistent* form (the whole row in
    registers: every reduction of the row — softmax's max and sum, layer
    norm's mean and variance — and the elementwise prologue and epilogue in
    one pass over memory); long rows the *looped* form (one loop over the row
    per stage of dependent reductions, recomputing the cheap prologue).
``matmul``
    ``tl.dot`` over ``BLOCK_M x BLOCK_N`` tiles with fp32 accumulation,
    grouped program order for L2 reuse, batch dims on ``program_id(1)``, the
    elementwise epilogue (bias, activation) applied to the accumulator tile
    before its only store.
``single``
    gather / index_select (pointwise with an indexed load), scatter_add /
    index_add (a copy, then ``tl.atomic_add``), index_copy, concat (strided
    copies into slices of the output), pad, cumsum (``tl.cumsum`` with a
    carry for long rows), full, iota, random (``tl.rand`` / ``tl.randn`` on
    the op's seed).

Generated source names every IR node it implements in a comment
(``# %5 = mul %3, %4 : f32[64,32]``); it is kept on the program
(``program.source``, ``program.kernel_infos()``) and can be compiled ahead of
time for a GPU target without a GPU (``kernel.compile_ahead("sm_90")``).

If a fused group holds a broadcast pattern the row/tile mapping cannot
express, the group is split into one kernel per node (logged on
``graphc.triton``) rather than computed wrongly.
"""

from __future__ import annotations

import hashlib
import linecache
import logging
import os
import threading
import warnings
from dataclasses import dataclass, field

import numpy as np

from ir import dtypes as dt
from ir import ops as ops_table
from ir.errors import UnsupportedError
from ir.graph import is_broadcast_view, is_scalar_constant, leaving_aliases
from ir.passes.fusion import MATMUL, POINTWISE, REDUCTION, SINGLE
from ir.printer import format_node

from . import _env
from . import exprs as E
from . import runtime as R

log = logging.getLogger("graphc.triton")

# Tunables (tests lower PERSISTENT_RBLOCK_MAX to exercise the looped form at small sizes).
CONFIG = {
    # rows up to this many elements (a power of two) are reduced in registers in one pass
    "persistent_rblock_max": int(os.environ.get("GRAPHC_TRITON_PERSISTENT_MAX", "8192")),
    # chunk of a long row per loop iteration
    "looped_rblock": 2048,
    # fp32 matmuls may use TF32 tensor cores (PyTorch's allow_tf32; off by default)
    "allow_tf32": os.environ.get("GRAPHC_TRITON_TF32", "0") == "1",
    # autotune matmul tiles on a GPU
    "autotune": os.environ.get("GRAPHC_TRITON_AUTOTUNE", "1") != "0",
}


# When a list, every generated kernel is appended to it (tests gather them to compile ahead of time).
RECORDED: list | None = None


def _next_pow2(n: int) -> int:
    n = max(int(n), 1)
    return 1 << (n - 1).bit_length()


def _prod(xs) -> int:
    n = 1
    for s in xs:
        n *= s
    return n




def _scalar_value(n):
    v = n.attrs["value"]
    if isinstance(v, np.ndarray):
        v = v.reshape(-1)[0] if v.size else 0
    return v


class _Split(Exception):
    """A fused group the tile mapping cannot express; it is emitted one node per kernel."""


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
        return R.contiguous_strides(self.shape)


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
                    self._fn = load_source(self.source, self.fn_name, self.name)
        return self._fn

    # -- launching --------------------------------------------------------------------
    def launch(self, ins, outs, scalars=()):
        """Run on arrays ``ins`` (read) and ``outs`` (written; preallocated)."""
        if self.numel == 0:
            return
        args = [R.kernel_arg(a) for a in ins] + [R.kernel_arg(o) for o in outs]
        flags = {}
        for spec, a in zip(self.inputs, ins):
            st = R.element_strides(a)
            args.extend(int(st[d]) for d in spec.stride_dims)
            if spec.flag:
                c = spec.contig
                flags[spec.flag] = all(st[d] == c[d] for d in spec.stride_dims)
        args.extend(int(s) for s in scalars)
        if self.libdevice:
            flags["LIBDEVICE"] = not R.interpreting()
        if self.on_gpu:
            flags["ON_GPU"] = not R.interpreting()
        cfg = self.configure(self)
        if self.tunable and not R.interpreting() and CONFIG["autotune"]:
            cfg = self._autotuned(args, flags, cfg)
        self._run(cfg, args, flags)

    def _run(self, cfg, args, flags):
        grid = self.grid(cfg)
        if R.interpreting():
            # masked-off lanes compute on padding (log(0), 0/0): numpy must not warn about them
            with np.errstate(all="ignore"):
                self.fn[grid](*args, **flags, **cfg)
        else:
            self.fn[grid](*args, **flags, **cfg)

    def _autotuned(self, args, flags, default):
        key = tuple(sorted(flags.items()))
        if key in self.autotuned:
            return self.autotuned[key]
        import time

        best, best_t = default, float("inf")
        for cfg in self.tunable:
            try:
                self._run(cfg, args, flags)  # compile + warm up
                R.synchronize()
                t0 = time.perf_counter()
                for _ in range(5):
                    self._run(cfg, args, flags)
                R.synchronize()
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
            sig[spec.name] = R.triton_pointer_type(spec.node.dtype)
        for pname, node in self.outputs:
            sig[pname] = R.triton_pointer_type(node.dtype)
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
        for k in list(consts):
            sig[k] = "constexpr"
        opts = {k: consts.pop(k) for k in ("num_warps", "num_stages") if k in consts}
        for k in opts:
            del sig[k]
        consts["__options__"] = opts
        return sig, consts

    def compile_ahead(self, target: str = "sm_90") -> str:
        """PTX for ``target`` (e.g. ``"sm_90"``), built without a GPU."""
        from .aot import compile_ahead

        return compile_ahead(self, target)

    def info(self):
        return KernelInfo(self)

    def __repr__(self) -> str:
        return f"<TritonKernel {self.name}: nodes {self.node_ids}>"


class KernelInfo:
    """What ``explain()`` lists for a Triton kernel (name, kind, source, nodes, node_text)."""

    def __init__(self, kernel: TritonKernel):
        self.kernel = kernel
        self.name = kernel.name
        self.kind = kernel.kind
        self.source = kernel.source
        self.nodes = list(kernel.node_ids)
        self.node_text = list(kernel.node_text)

    def compile_ahead(self, target: str = "sm_90") -> str:
        """Compile this kernel for ``target`` (``"sm_90"``, ``"sm_80"``...) and return its PTX."""
        return self.kernel.compile_ahead(target)

    def __repr__(self) -> str:
        return f"<Triton kernel {self.name} ({self.kind}): nodes {self.nodes}>"


_src_counter = [0]
_src_lock = threading.Lock()


def load_source(source: str, fn_name: str, tag: str):
    """Exec a kernel's source (registered with linecache so Triton can read it) and
    return its ``@triton.jit`` function (an interpreted one under TRITON_INTERPRET)."""
    import triton
    import triton.language as tl
    from triton.language.extra import libdevice

    if R.interpreting():
        _env.check_interpreter_usable()
    with _src_lock:
        _src_counter[0] += 1
        n = _src_counter[0]
    digest = hashlib.sha1(source.encode()).hexdigest()[:10]
    filename = f"<graphc-triton-{tag}-{digest}-{n}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    ns = {"triton": triton, "tl": tl, "libdevice": libdevice, "__name__": f"graphc_triton_{digest}"}
    exec(compile(source, filename, "exec"), ns)
    return ns[fn_name]


# ----------------------------------------------------------------------------
# the emitter shared by kernel kinds


class _Emitter:
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
        self.header_comment: list = []
        self.on_gpu = False

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
        raw = f"tl.load({ptr}, mask={mask}, other=0)" if mask else f"tl.load({ptr})"
        self.emit(
            f"{var} = {self.convert_loaded(raw, dtype)}  # {spec.name}: {spec.node.dtype.short}{list(spec.shape)} (%{spec.node.id})"
        )
        self.loads[key] = var
        return var

    @staticmethod
    def convert_loaded(raw: str, d: dt.DType) -> str:
        if d.is_bool:
            return f"{raw} != 0"
        if d is dt.bfloat16:
            return f"{raw}.to(tl.bfloat16).to(tl.float32)"
        if d.is_floating_point:
            return f"{raw}.to({E.tl_type(E.compute_type(d))})"
        return raw

    def store(self, out_name: str, offset: str, value: str, mask: str | None, node) -> None:
        m = f", mask={mask}" if mask else ""
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
                return _scalar_value(src) if is_scalar_constant(src) else None

            expr = E.elementwise(n.op, args, [i.dtype for i in n.inputs], n.dtype, self.use_helper, scalar_of)
        var = f"v{n.id}"
        self.comment_node(n)
        self.emit(f"{var} = {E.round_to(expr, n.dtype)}")
        self.values[n.id] = var
        return var


def _view_chain(node, inside):
    """Follow views from ``node`` to its root; returns (root, [views from root outwards])."""
    chain = []
    root = node
    while root.id not in inside and root.kind == ops_table.VIEW:
        chain.append(root)
        root = root.inputs[0]
    return root, list(reversed(chain))




def _broadcast_chain(node, inside):
    """Follow broadcast-like views (expand, reshapes of size-1 dims) from ``node`` back to a
    value that is inside the group, or outside it and materialized; (root, views outwards)."""
    chain = []
    root = node
    while root.id not in inside and root.kind == ops_table.VIEW and is_broadcast_view(root):
        chain.append(root)
        root = root.inputs[0]
    return root, list(reversed(chain))


def _vary_through_views(vary: tuple, views) -> tuple:
    """Which domain dim each dim of a value varies along, after broadcast-like views."""
    for v in views:
        in_shape, out_shape = v.inputs[0].shape, v.shape
        if v.op == "expand":
            lead = len(out_shape) - len(in_shape)
            vary = (None,) * lead + tuple(
                None if (s == 1 and t != 1) else x for s, t, x in zip(in_shape, out_shape[lead:], vary)
            )
        elif v.op == "reshape":
            entries = [x for s, x in zip(in_shape, vary) if s != 1]
            if [s for s in in_shape if s != 1] != [s for s in out_shape if s != 1]:
                raise _Split(f"view %{v.id} ({v.op}) inside the group is not a broadcast")
            it = iter(entries)
            vary = tuple(next(it) if s != 1 else None for s in out_shape)
        else:
            raise _Split(f"view %{v.id} ({v.op}) inside the group is not a broadcast")
    return vary


# ----------------------------------------------------------------------------
# pointwise and row (reduction) kernels share one node walker


class _TileKernel:
    """Pointwise (1-d flat tile) and reduction (XBLOCK x RBLOCK tile) kernels."""

    def __init__(self, group, name):
        self.g = group
        self.name = name
        self.domain = tuple(group.domain)
        axes = tuple(group.axes) if group.kind == REDUCTION else ()
        if len(self.domain) == 0:
            axes = ()
        self.axes = axes
        self.reduction = group.kind == REDUCTION
        self.rdims = [d for d in range(len(self.domain)) if d in axes]
        self.xdims = [d for d in range(len(self.domain)) if d not in axes]
        self.R = _prod(self.domain[d] for d in self.rdims)
        self.M = _prod(self.domain[d] for d in self.xdims)
        self.keep = tuple(1 if i in axes else s for i, s in enumerate(self.domain))
        self.nokeep = tuple(s for i, s in enumerate(self.domain) if i not in axes)
        self.trailing = self.rdims == list(range(len(self.domain) - len(self.rdims), len(self.domain)))
        self.e = _Emitter(name, group.kind, group.nodes)
        # Short rows stay in registers (persistent); a column reduction (reduced dims outside the
        # kept ones) only while its tile can still be wide along the contiguous kept dims.
        limit = CONFIG["persistent_rblock_max"] if self.trailing else min(CONFIG["persistent_rblock_max"], 64)
        self.persistent = (not self.reduction) or _next_pow2(self.R) <= limit
        self.RB = _next_pow2(self.R) if self.persistent else None

    def big(self) -> bool:
        """Whether offsets may pass 2**31 (then index math is int64)."""
        sizes = [_prod(self.domain)] + [_prod(n.shape) for n in self.g.inputs]
        return max(sizes) >= (1 << 31) - (1 << 20)

    def pid(self) -> str:
        return "tl.program_id(0).to(tl.int64)" if self.big() else "tl.program_id(0)"

    # -- spaces: which tile a value lives in -----------------------------------------------
    def space(self, n) -> str:
        if not self.reduction:
            return "dom"
        if n.kind == ops_table.REDUCE:
            return "row"
        shape = tuple(n.shape)
        if shape == self.domain:
            return "dom"
        if shape in (self.keep, self.nokeep):
            return "row"
        raise _Split(f"%{n.id} has shape {list(shape)}, neither the domain nor the reduced shape")

    def cdims(self, shape, space) -> tuple:
        """For each dim of a value of ``shape`` in ``space``: the domain dim it indexes (or None)."""
        D = self.domain
        if space == "dom":
            return tuple(d if D[d] != 1 else None for d in range(len(D)))
        if len(shape) == len(D):  # keepdim shape
            return tuple(d if (d not in self.axes and D[d] != 1) else None for d in range(len(D)))
        return tuple(d if D[d] != 1 else None for d in self.xdims)

    def node_vary(self, n) -> tuple:
        if n.kind == ops_table.REDUCE:
            return self.cdims(n.shape, "row")
        return self.cdims(n.shape, self.space(n))

    # -- coordinates ------------------------------------------------------------------------
    def coord(self, d: int) -> str:
        e = self.e
        key = ("c", d)
        if key in e.coords:
            return e.coords[key]
        D = self.domain
        if not self.reduction:
            flat, dims = "xoffs", list(range(len(D)))
        elif d in self.axes:
            flat, dims = "roffs", self.rdims
        else:
            flat, dims = "xoffs", self.xdims
        pos = dims.index(d)
        inner = _prod(D[k] for k in dims[pos + 1 :])
        expr = flat if inner == 1 else f"({flat} // {inner})"
        if pos > 0:
            expr = f"{expr} % {D[d]}"
        name = f"{'r' if (self.reduction and d in self.axes) else 'x'}{d}_"
        e.emit(f"{name} = {expr}")
        e.coords[key] = name
        return name

    def flat_of(self, omap) -> str | None:
        """The offset of a dense operand read with mapping ``omap`` when it is a tile's flat index."""
        used = [x for x in omap if x is not None]
        if not self.reduction:
            if used == [d for d in range(len(self.domain)) if self.domain[d] != 1]:
                return "xoffs"
            return None
        if used == [d for d in self.xdims if self.domain[d] != 1]:
            return "xoffs"
        if self.trailing and used == [d for d in range(len(self.domain)) if self.domain[d] != 1] and self.rdims:
            return f"xoffs * {self.R} + roffs" if self.M > 1 else "roffs"
        return None

    def masks_for(self, omap) -> str:
        """The mask of a load indexed by ``omap``: by rows only, along the row only (weights of a
        layer norm: one [1, RBLOCK] load a program), or both."""
        if not self.reduction:
            return "xmask"
        along_r = any(x is not None and x in self.axes for x in omap)
        along_x = any(x is not None and x not in self.axes for x in omap)
        if along_r:
            return "mask" if along_x else "rmask"
        return "xmask"

    # -- operands -------------------------------------------------------------------------------
    def operand(self, n, i) -> str:
        src = n.inputs[i]
        e = self.e
        if is_scalar_constant(src):
            return E.literal(_scalar_value(src), src.dtype)
        consumer_space = "dom" if n.kind == ops_table.REDUCE else self.space(n)
        consumer = self.cdims(n.shape if n.kind != ops_table.REDUCE else self.domain, consumer_space)
        cshape = tuple(n.shape) if n.kind != ops_table.REDUCE else self.domain
        root, views = _broadcast_chain(src, self.g.inside)
        T = tuple(src.shape)
        off = len(cshape) - len(T)
        if root.id in self.g.inside:
            vary = _vary_through_views(self.node_vary(root), views)
            for j, x in enumerate(vary):
                if x is not None and (T[j] != 1) and consumer[off + j] != x:
                    raise _Split(f"%{src.id} is broadcast against %{n.id} along another dim than it varies")
            return e.values[root.id]
        if is_scalar_constant(root):
            return E.literal(_scalar_value(root), root.dtype)
        # An external value, read through the broadcast views between it and the consumer:
        # each dim of the root buffer is indexed by the domain coordinate its dim maps to.
        labels = _vary_through_views(tuple(d if s != 1 else None for d, s in enumerate(root.shape)), views)
        omap_src = tuple(None if T[j] == 1 else consumer[off + j] for j in range(len(T)))
        rmap = [None] * len(root.shape)
        for j, lab in enumerate(labels):
            if lab is not None:
                rmap[lab] = omap_src[j]
        spec = e.add_input(root)
        omap = tuple(rmap)
        if any(omap[d] is None for d in spec.stride_dims):
            raise _Split(f"cannot index %{root.id} through the views to %{n.id}")
        coords = {d: self.coord(omap[d]) for d in spec.stride_dims}
        return e.load_operand(spec, coords, self.masks_for(omap), self.flat_of(omap), root.dtype)

    # -- reductions ----------------------------------------------------------------------------------
    @staticmethod
    def _red_type(n):
        """The type a reduction compares/accumulates its input in (bool argmax compares int32)."""
        ct = E.compute_type(n.inputs[0].dtype)
        return dt.int32 if ct.is_bool else ct

    def reduce_input(self, n) -> str:
        v = self.operand(n, 0)
        if n.inputs[0].dtype.is_bool and n.op in ("argmax", "argmin"):
            return f"{v}.to(tl.int32)"
        return v

    def reduce_init(self, n):
        """(identity, Triton type) of a max/min-style reduction's accumulator."""
        ct = self._red_type(n)
        tt = E.tl_type(ct)
        op = n.op
        if op in ("sum", "prod", "all", "any"):
            return None
        if op in ("amax", "argmax"):
            ident = '-float("inf")' if ct.is_floating_point else str(np.iinfo(ct.numpy_dtype).min)
        else:
            ident = 'float("inf")' if ct.is_floating_point else str(np.iinfo(ct.numpy_dtype).max)
        return ident, tt

    def emit_reduction_persistent(self, n) -> str:
        e = self.e
        v = self.reduce_input(n)
        var = f"v{n.id}"
        e.comment_node(n)
        e.emit(f"{var} = {self.reduce_expr(n, v, 'mask')}")
        self.finish_reduction(n, var)
        return var

    def reduce_expr(self, n, v, mask) -> str:
        """The reduction of tile ``v`` (lanes outside ``mask`` ignored) to an [XBLOCK, 1] value."""
        ct = self._red_type(n)
        op = n.op
        fl = ct.is_floating_point
        if op == "sum":
            src = v if not n.inputs[0].dtype.is_bool else f"{v}.to(tl.int64)"
            return f"tl.sum(tl.where({mask}, {src}, 0), axis=1, keep_dims=True)"
        if op == "prod":
            self.e.use_helper("_prod_combine")
            return f"tl.reduce(tl.where({mask}, {v}, 1), 1, _prod_combine, keep_dims=True)"
        if op == "all":
            return f"tl.min(tl.where({mask}, ({v} != 0).to(tl.int32), 1), axis=1, keep_dims=True) != 0"
        if op == "any":
            return f"tl.max(tl.where({mask}, ({v} != 0).to(tl.int32), 0), axis=1, keep_dims=True) != 0"
        ident, _ = self.reduce_init(n)
        fn = "tl.max" if op in ("amax", "argmax") else "tl.min"
        if op in ("amax", "amin"):
            expr = f"{fn}(tl.where({mask}, {v}, {ident}), axis=1, keep_dims=True)"
            if fl:
                self.e.emit(f"nan_{n.id} = tl.max(tl.where({mask} & ({v} != {v}), 1, 0), axis=1, keep_dims=True)")
                expr = f'tl.where(nan_{n.id} > 0, float("nan"), {expr})'
            return expr
        # argmax / argmin: first index of the extreme value (first NaN wins, as numpy)
        e = self.e
        e.emit(f"m_{n.id} = {fn}(tl.where({mask}, {v}, {ident}), axis=1, keep_dims=True)")
        e.emit(
            f"i_{n.id} = tl.min(tl.where({mask} & ({v} == m_{n.id}), roffs, {max(self.R, 1)}), axis=1, keep_dims=True)"
        )
        if fl:
            e.emit(
                f"n_{n.id} = tl.min(tl.where({mask} & ({v} != {v}), roffs, {max(self.R, 1)}), axis=1, keep_dims=True)"
            )
            e.emit(f"i_{n.id} = tl.where(n_{n.id} < {max(self.R, 1)}, n_{n.id}, i_{n.id})")
        e.emit(f"i_{n.id} = tl.where(i_{n.id} < {max(self.R, 1)}, i_{n.id}, 0)")
        return f"i_{n.id}.to(tl.int64)"

    def finish_reduction(self, n, var) -> None:
        e = self.e
        if n.op not in ("argmax", "argmin", "all", "any"):
            ct = E.compute_type(n.dtype)
            if n.op == "sum" and n.inputs[0].dtype.is_bool:
                e.emit(f"{var} = {var}.to({E.tl_type(ct)})")
            if n.dtype in (dt.float16, dt.bfloat16):
                e.emit(f"{var} = {E.round_to(var, n.dtype)}")
        e.values[n.id] = var

    # -- generation ------------------------------------------------------------------------------------
    def levels(self) -> dict:
        lv = {}
        for n in self.g.nodes:
            ins = []
            for i in n.inputs:
                root, _ = _view_chain(i, self.g.inside)
                ins.append(lv.get(root.id, 0))
            base = max(ins, default=0)
            lv[n.id] = base + 1 if n.kind == ops_table.REDUCE else base
        return lv

    def generate(self) -> TritonKernel:
        e = self.e
        g = self.g
        outputs = set(o.id for o in g.outputs)
        for n in g.nodes:
            self.space(n)  # validates shapes early
        if not self.reduction:
            N = _prod(self.domain)
            e.constexprs.append("XBLOCK")
            e.emit(f"xoffs = {self.pid()} * XBLOCK + tl.arange(0, XBLOCK)")
            e.emit(f"xmask = xoffs < {N}")
            self.out_names = {o.id: e.add_output(o) for o in g.outputs}
            for n in g.nodes:
                e.elementwise(n, self.operand)
                if n.id in outputs:
                    e.store(self.out_names[n.id], "xoffs", e.values[n.id], "xmask", n)
            return self.finish()
        e.constexprs.extend(["XBLOCK", "RBLOCK"])
        e.emit(f"xoffs = {self.pid()} * XBLOCK + tl.arange(0, XBLOCK)[:, None]")
        e.emit(f"xmask = xoffs < {self.M}")
        e.emit("rbase = tl.arange(0, RBLOCK)[None, :]")
        self.out_names = {o.id: e.add_output(o) for o in g.outputs}
        if self.persistent:
            e.emit("roffs = rbase")
            e.emit(f"rmask = roffs < {self.R}")
            e.emit("mask = xmask & rmask")
            for n in g.nodes:
                self.emit_node(n)
                if n.id in outputs:
                    self.store_node(n)
            return self.finish()
        self.generate_looped(outputs)
        return self.finish()

    def emit_node(self, n) -> None:
        if n.kind == ops_table.REDUCE:
            self.emit_reduction_persistent(n)
        else:
            self.e.elementwise(n, self.operand)

    def store_node(self, n) -> None:
        e = self.e
        if self.space(n) == "row":
            e.store(self.out_names[n.id], "xoffs", e.values[n.id], "xmask", n)
        else:
            off = self.flat_of(self.cdims(self.domain, "dom"))
            if off is None:
                c = R.contiguous_strides(self.domain)
                off = (
                    " + ".join(f"{self.coord(d)} * {c[d]}" for d in range(len(self.domain)) if self.domain[d] != 1)
                    or "0"
                )
            e.store(self.out_names[n.id], off, e.values[n.id], "mask", n)

    def generate_looped(self, outputs) -> None:
        e = self.e
        g = self.g
        lv = self.levels()
        by_id = {n.id: n for n in g.nodes}
        reds = [n for n in g.nodes if n.kind == ops_table.REDUCE]
        dom_out = [n for n in g.nodes if n.id in outputs and n.kind != ops_table.REDUCE and self.space(n) == "dom"]
        passes = max([lv[n.id] - 1 for n in reds] + [lv[n.id] for n in dom_out] + [0]) + 1
        done_rows = set()

        def emit_rows(level):
            for n in g.nodes:
                if (
                    n.kind != ops_table.REDUCE
                    and self.space(n) == "row"
                    and lv[n.id] <= level
                    and n.id not in done_rows
                ):
                    done_rows.add(n.id)
                    e.elementwise(n, self.operand)
                    if n.id in outputs:
                        self.store_node(n)

        def dom_deps(targets):
            need, stack = set(), list(targets)
            while stack:
                n = stack.pop()
                if n.id in need:
                    continue
                need.add(n.id)
                for i in n.inputs:
                    root, _ = _view_chain(i, g.inside)
                    if root.id in g.inside and root.kind != ops_table.REDUCE and self.space(root) == "dom":
                        stack.append(root)
            return need

        emit_rows(0)
        for p in range(passes):
            stage_reds = [n for n in reds if lv[n.id] == p + 1]
            stage_out = [n for n in dom_out if lv[n.id] == p]
            targets = [
                by_id[_view_chain(n.inputs[0], g.inside)[0].id]
                for n in stage_reds
                if _view_chain(n.inputs[0], g.inside)[0].id in g.inside
            ]
            need = dom_deps([t for t in targets if t.kind != ops_table.REDUCE and self.space(t) == "dom"] + stage_out)
            e.emit(f"# pass {p + 1} of {passes} over the row")
            for n in stage_reds:
                self.init_acc(n)
            e.emit(f"for roff in range(0, {self.R}, RBLOCK):")
            e.depth += 1
            e.push()
            e.emit("roffs = roff + rbase")
            e.emit(f"rmask = roffs < {self.R}")
            e.emit("mask = xmask & rmask")
            for n in g.nodes:
                if n.id in need:
                    e.elementwise(n, self.operand)
            for n in stage_reds:
                self.update_acc(n)
            for n in stage_out:
                self.store_node(n)
            e.pop()
            e.depth -= 1
            for n in stage_reds:
                self.final_acc(n)
                if n.id in outputs:
                    self.store_node(n)
            emit_rows(p + 1)

    def init_acc(self, n) -> None:
        e = self.e
        ct = self._red_type(n)
        op = n.op
        if op == "sum":
            tt = "tl.int64" if n.inputs[0].dtype.is_bool else E.tl_type(ct)
            e.emit(f"acc{n.id} = tl.zeros([XBLOCK, RBLOCK], {tt})")
        elif op == "prod":
            e.emit(f"acc{n.id} = tl.full([XBLOCK, RBLOCK], 1, {E.tl_type(ct)})")
        elif op in ("all", "any"):
            e.emit(f"acc{n.id} = tl.full([XBLOCK, RBLOCK], {1 if op == 'all' else 0}, tl.int32)")
        else:
            ident, tt = self.reduce_init(n)
            e.emit(f"acc{n.id} = tl.full([XBLOCK, RBLOCK], {ident}, {tt})")
            if ct.is_floating_point:
                e.emit(f"nan{n.id} = tl.full([XBLOCK, RBLOCK], {max(self.R, 1)}, tl.int32)")
            if op in ("argmax", "argmin"):
                e.emit(f"idx{n.id} = tl.full([XBLOCK, RBLOCK], {max(self.R, 1)}, tl.int32)")

    def update_acc(self, n) -> None:
        e = self.e
        v = self.reduce_input(n)
        ct = self._red_type(n)
        a = f"acc{n.id}"
        e.comment_node(n)
        op = n.op
        if op == "sum":
            src = v if not n.inputs[0].dtype.is_bool else f"{v}.to(tl.int64)"
            e.emit(f"{a} = {a} + tl.where(mask, {src}, 0)")
        elif op == "prod":
            e.emit(f"{a} = {a} * tl.where(mask, {v}, 1)")
        elif op == "all":
            e.emit(f"{a} = tl.minimum({a}, tl.where(mask, ({v} != 0).to(tl.int32), 1))")
        elif op == "any":
            e.emit(f"{a} = tl.maximum({a}, tl.where(mask, ({v} != 0).to(tl.int32), 0))")
        else:
            better = ">" if op in ("amax", "argmax") else "<"
            if ct.is_floating_point:
                e.emit(f"nan{n.id} = tl.minimum(nan{n.id}, tl.where(mask & ({v} != {v}), roffs, {max(self.R, 1)}))")
            if op in ("amax", "amin"):
                e.emit(f"{a} = tl.where(mask & ({v} {better} {a}), {v}, {a})")
            else:
                e.emit(f"take{n.id} = mask & (({v} {better} {a}) | (idx{n.id} == {max(self.R, 1)}))")
                e.emit(f"{a} = tl.where(take{n.id}, {v}, {a})")
                e.emit(f"idx{n.id} = tl.where(take{n.id}, roffs, idx{n.id})")

    def final_acc(self, n) -> None:
        e = self.e
        a = f"acc{n.id}"
        var = f"v{n.id}"
        ct = self._red_type(n)
        op = n.op
        big = max(self.R, 1)
        if op == "sum":
            e.emit(f"{var} = tl.sum({a}, axis=1, keep_dims=True)")
        elif op == "prod":
            e.use_helper("_prod_combine")
            e.emit(f"{var} = tl.reduce({a}, 1, _prod_combine, keep_dims=True)")
        elif op == "all":
            e.emit(f"{var} = tl.min({a}, axis=1, keep_dims=True) != 0")
        elif op == "any":
            e.emit(f"{var} = tl.max({a}, axis=1, keep_dims=True) != 0")
        elif op in ("amax", "amin"):
            fn = "tl.max" if op == "amax" else "tl.min"
            e.emit(f"{var} = {fn}({a}, axis=1, keep_dims=True)")
            if ct.is_floating_point:
                e.emit(f'{var} = tl.where(tl.min(nan{n.id}, axis=1, keep_dims=True) < {big}, float("nan"), {var})')
        else:
            fn = "tl.max" if op == "argmax" else "tl.min"
            e.emit(f"m{n.id} = {fn}({a}, axis=1, keep_dims=True)")
            e.emit(
                f"{var} = tl.min(tl.where(({a} == m{n.id}) & (idx{n.id} < {big}), idx{n.id}, {big}), axis=1, keep_dims=True)"
            )
            if ct.is_floating_point:
                e.emit(f"n{n.id} = tl.min(nan{n.id}, axis=1, keep_dims=True)")
                e.emit(f"{var} = tl.where(n{n.id} < {big}, n{n.id}, {var})")
            e.emit(f"{var} = tl.where({var} < {big}, {var}, 0).to(tl.int64)")
        self.finish_reduction(n, var)

    def finish(self) -> TritonKernel:
        g = self.g
        e = self.e
        fn_name = self.name
        D = self.domain
        if not self.reduction:
            doc = [f"pointwise over {list(D)} ({_prod(D)} elements), XBLOCK elements per program"]
        else:
            form = "persistent (whole row in registers)" if self.persistent else "looped"
            doc = [f"row kernel over {list(D)} reducing axes {list(self.axes)}: {self.M} rows of {self.R}, {form}"]
        source = e.source(fn_name, doc)
        k = TritonKernel(
            name=self.name,
            kind=g.kind,
            source=source,
            fn_name=fn_name,
            node_ids=[n.id for n in g.nodes],
            node_text=[format_node(n) for n in g.nodes],
            inputs=e.inputs,
            outputs=e.outputs,
            constexprs=e.constexprs,
            libdevice=any(h in E.LIBDEVICE_HELPERS for h in e.helpers),
        )
        if not self.reduction:
            N = _prod(D)
            k.numel = N
            k.configure = _pointwise_config(N)
            k.grid = lambda cfg, N=N: ((N + cfg["XBLOCK"] - 1) // cfg["XBLOCK"],)
            k.aot_config = {"XBLOCK": min(1024, _next_pow2(N)), "num_warps": 4}
        else:
            M, Rn = self.M, self.R
            k.numel = M  # rows; R may be 0 (reductions of empty rows still write their identity)
            k.configure = _row_config(M, Rn, self.persistent, self.trailing)
            k.grid = lambda cfg, M=M: ((M + cfg["XBLOCK"] - 1) // cfg["XBLOCK"],)
            cfg = _row_config(M, Rn, self.persistent, self.trailing, gpu=True)(k)
            k.aot_config = cfg
        return k


def _pointwise_config(N):
    def configure(kernel):
        if R.interpreting():
            return {"XBLOCK": min(_next_pow2(N), 1 << 14)}
        xb = min(1024, _next_pow2(N))
        return {"XBLOCK": xb, "num_warps": 4 if xb >= 512 else max(1, xb // 128)}

    return configure


def _row_config(M, Rn, persistent, trailing, gpu=False):
    def configure(kernel):
        interp = R.interpreting() and not gpu
        # Tiles of at most a few thousand elements per program keep every live value in registers.
        # Rows reduced over their trailing (contiguous) dims read along RBLOCK; "column" reductions
        # (kept dims inside the reduced ones) read along XBLOCK, so they take wide XBLOCKs.
        if persistent:
            rb = _next_pow2(Rn)
            if interp:
                xb = min(_next_pow2(M), max(1, (1 << 15) // rb))
            else:
                xb = min(_next_pow2(M), max(1, (2048 if trailing else 4096) // rb))
        elif interp:
            rb = _next_pow2(min(Rn, CONFIG["looped_rblock"]))
            xb = min(_next_pow2(M), max(1, (1 << 14) // rb))
        elif trailing:
            rb, xb = _next_pow2(min(Rn, CONFIG["looped_rblock"])), 1
        else:
            rb, xb = min(_next_pow2(Rn), 64), min(_next_pow2(M), 64)
        cfg = {"XBLOCK": xb, "RBLOCK": rb}
        if not interp:
            cfg["num_warps"] = max(1, min(16, _next_pow2(xb * rb // 512)))
        return cfg

    return configure


# ----------------------------------------------------------------------------
# matmul (+ epilogue)


class _MatmulKernel(_TileKernel):
    """``tl.dot`` tiles with fp32 accumulation and a fused elementwise epilogue."""

    def __init__(self, group, name):
        super().__init__(group, name)
        self.mm = group.nodes[0]
        if self.mm.op != "matmul":
            raise _Split("matmul group does not start with its matmul")
        self.reduction = False
        a, b = self.mm.inputs
        self.Mm, self.K = a.shape[-2], a.shape[-1]
        self.Nn = b.shape[-1]
        self.batch = tuple(self.mm.shape[:-2])

    def coord(self, d: int) -> str:
        e = self.e
        key = ("c", d)
        if key in e.coords:
            return e.coords[key]
        nd = len(self.domain)
        if d == nd - 2:
            name = "rm[:, None]"
        elif d == nd - 1:
            name = "rn[None, :]"
        else:
            inner = _prod(self.batch[d + 1 :])
            expr = "bid" if inner == 1 else f"(bid // {inner})"
            if d > 0:
                expr = f"{expr} % {self.batch[d]}"
            name = f"b{d}_"
            e.emit(f"{name} = {expr}")
        e.coords[key] = name
        return name

    def flat_of(self, omap):
        return None

    def masks_for(self, omap):
        nd = len(self.domain)
        if any(x is not None and x >= nd - 2 for x in omap):
            return "mask"
        return None  # indexed by batch coordinates only: a scalar load, in bounds

    def generate(self) -> TritonKernel:
        e = self.e
        g = self.g
        mm = self.mm
        a, b = mm.inputs
        ins = []
        for x in (a, b):
            if is_scalar_constant(x) or _view_chain(x, g.inside)[0].id in g.inside:
                raise _Split("matmul operand computed inside the group")
            ins.append(e.add_input(x, flag_ok=False))
        sa, sb = ins
        M, N, K = self.Mm, self.Nn, self.K
        in_dt = a.dtype
        ct = E.compute_type(in_dt)
        use_dot = in_dt.is_floating_point
        e.constexprs.extend(["BLOCK_M", "BLOCK_N", "BLOCK_K", "GROUP_M", "EVEN_K"])
        self.out_names = {o.id: e.add_output(o) for o in g.outputs}
        e.emit("pid = tl.program_id(0)")
        if self.batch:
            e.emit("bid = tl.program_id(1)")
        e.emit(f"num_pid_m = ({M} + BLOCK_M - 1) // BLOCK_M")
        e.emit(f"num_pid_n = ({N} + BLOCK_N - 1) // BLOCK_N")
        e.emit("# grouped order: GROUP_M row-tiles share their B columns in L2")
        e.emit("num_pid_in_group = GROUP_M * num_pid_n")
        e.emit("group_id = pid // num_pid_in_group")
        e.emit("first_pid_m = group_id * GROUP_M")
        e.emit("group_size_m = tl.minimum(num_pid_m - first_pid_m, GROUP_M)")
        e.emit("pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)")
        e.emit("pid_n = (pid % num_pid_in_group) // group_size_m")
        i64 = ".to(tl.int64)" if max(M * K, K * N, M * N * max(1, _prod(self.batch))) >= (1 << 31) - (1 << 20) else ""
        e.emit(f"rm = pid_m{i64} * BLOCK_M + tl.arange(0, BLOCK_M)")
        e.emit(f"rn = pid_n{i64} * BLOCK_N + tl.arange(0, BLOCK_N)")
        e.emit("rk = tl.arange(0, BLOCK_K)")
        e.emit(f"ram = rm % {M}  # wrapped rows/cols: loads stay in bounds, stores are masked")
        e.emit(f"rbn = rn % {N}")
        # batch offsets of A and B (their batch dims broadcast against the output's)
        for spec, x in ((sa, a), (sb, b)):
            xb = tuple(x.shape[:-2])
            lead = len(self.batch) - len(xb)
            terms = []
            for j, s in enumerate(xb):
                if s != 1:
                    terms.append(f"{self.coord(lead + j)} * {spec.name}_s{j}")
            e.emit(f"{spec.name}_boff = {' + '.join(terms) if terms else '0'}")
        nd_a, nd_b = len(a.shape), len(b.shape)

        def stride(spec, d, nd):
            return f"{spec.name}_s{d}" if spec.shape[d] != 1 else "0"

        am, ak = stride(sa, nd_a - 2, nd_a), stride(sa, nd_a - 1, nd_a)
        bk, bn = stride(sb, nd_b - 2, nd_b), stride(sb, nd_b - 1, nd_b)
        e.emit(f"a_ptrs = {sa.name} + {sa.name}_boff + ram[:, None] * {am} + rk[None, :] * {ak}")
        e.emit(f"b_ptrs = {sb.name} + {sb.name}_boff + rk[:, None] * {bk} + rbn[None, :] * {bn}")
        acc_t = "tl.float32" if ct.is_floating_point and ct is not dt.float64 else E.tl_type(ct)
        if in_dt.is_bool:
            raise UnsupportedError("matmul of bool tensors is not supported")
        e.emit(f"acc = tl.zeros((BLOCK_M, BLOCK_N), dtype={acc_t})")
        e.emit(f"# {format_node(mm)}")
        e.emit(f"for k in range(0, ({K} + BLOCK_K - 1) // BLOCK_K):")
        e.depth += 1
        load_t = E.tl_type(in_dt)
        e.emit("if EVEN_K:")
        e.emit(f"    av = tl.load(a_ptrs).to({load_t})")
        e.emit(f"    bv = tl.load(b_ptrs).to({load_t})")
        e.emit("else:")
        e.emit(f"    av = tl.load(a_ptrs, mask=rk[None, :] < {K} - k * BLOCK_K, other=0).to({load_t})")
        e.emit(f"    bv = tl.load(b_ptrs, mask=rk[:, None] < {K} - k * BLOCK_K, other=0).to({load_t})")
        if use_dot and in_dt is dt.bfloat16:
            e.on_gpu = True
            e.emit("if ON_GPU:")
            e.emit("    acc = tl.dot(av, bv, acc)")
            e.emit("else:  # Triton's interpreter multiplies bfloat16 tiles as raw bits: widen them first")
            e.emit('    acc = tl.dot(av.to(tl.float32), bv.to(tl.float32), acc, input_precision="ieee")')
        elif use_dot:
            prec = ""
            if in_dt is dt.float32 and not CONFIG["allow_tf32"]:
                prec = ', input_precision="ieee"'
            e.emit(f"acc = tl.dot(av, bv, acc{prec})")
        else:
            e.emit("acc += tl.sum(av[:, :, None] * bv[None, :, :], axis=1)")
        e.emit(f"a_ptrs += BLOCK_K * {ak}")
        e.emit(f"b_ptrs += BLOCK_K * {bk}")
        e.depth -= 1
        e.emit(f"mask = (rm[:, None] < {M}) & (rn[None, :] < {N})")
        conv = (
            f"acc.to({E.tl_type(E.compute_type(mm.dtype))})" if acc_t != E.tl_type(E.compute_type(mm.dtype)) else "acc"
        )
        e.emit(f"v{mm.id} = {E.round_to(conv, mm.dtype)}")
        e.values[mm.id] = f"v{mm.id}"
        out_off = f"rm[:, None] * {N} + rn[None, :]"
        if self.batch:
            out_off = f"bid * {M * N} + " + out_off
        outputs = set(self.out_names)
        if mm.id in outputs:
            e.store(self.out_names[mm.id], out_off, e.values[mm.id], "mask", mm)
        for n in g.nodes[1:]:
            if n.kind not in (ops_table.ELEMENTWISE, ops_table.CAST) or tuple(n.shape) != self.domain:
                raise _Split(f"%{n.id} cannot be a matmul epilogue")
            e.elementwise(n, self.operand)
            if n.id in outputs:
                e.store(self.out_names[n.id], out_off, e.values[n.id], "mask", n)
        doc = [
            f"matmul {a.dtype.short}{list(a.shape)} @ {b.dtype.short}{list(b.shape)} -> {list(mm.shape)}"
            + (" with a fused epilogue" if len(g.nodes) > 1 else "")
            + "; fp32 accumulation"
        ]
        source = e.source(self.name, doc)
        nb = _prod(self.batch)
        k = TritonKernel(
            name=self.name,
            kind=MATMUL,
            source=source,
            fn_name=self.name,
            node_ids=[n.id for n in g.nodes],
            node_text=[format_node(n) for n in g.nodes],
            inputs=e.inputs,
            outputs=e.outputs,
            constexprs=e.constexprs,
            libdevice=any(h in E.LIBDEVICE_HELPERS for h in e.helpers),
            on_gpu=e.on_gpu,
        )
        k.numel = M * N * nb
        small = not use_dot or in_dt is dt.float64

        def configure(kernel, M=M, N=N, K=K):
            if R.interpreting():
                bm = min(max(_next_pow2(M), 16), 64)
                bn = min(max(_next_pow2(N), 16), 64)
                bk = min(max(_next_pow2(K), 16), 64)
                if small:
                    bm, bn, bk = min(bm, 16), min(bn, 16), min(bk, 16)
                return {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "GROUP_M": 8, "EVEN_K": K % bk == 0}
            return _mm_default(M, N, K, small)

        k.configure = configure
        k.grid = lambda cfg, M=M, N=N, nb=nb: (
            ((M + cfg["BLOCK_M"] - 1) // cfg["BLOCK_M"]) * ((N + cfg["BLOCK_N"] - 1) // cfg["BLOCK_N"]),
            nb,
        )
        if not small and M * N * K >= (1 << 24):
            k.tunable = [dict(c, EVEN_K=K % c["BLOCK_K"] == 0) for c in _MM_CONFIGS]
        k.aot_config = _mm_default(M, N, K, small)
        return k


_MM_CONFIGS = [
    {"BLOCK_M": 128, "BLOCK_N": 256, "BLOCK_K": 64, "GROUP_M": 8, "num_warps": 8, "num_stages": 3},
    {"BLOCK_M": 128, "BLOCK_N": 128, "BLOCK_K": 64, "GROUP_M": 8, "num_warps": 8, "num_stages": 4},
    {"BLOCK_M": 128, "BLOCK_N": 128, "BLOCK_K": 32, "GROUP_M": 8, "num_warps": 4, "num_stages": 4},
    {"BLOCK_M": 64, "BLOCK_N": 128, "BLOCK_K": 32, "GROUP_M": 8, "num_warps": 4, "num_stages": 4},
    {"BLOCK_M": 128, "BLOCK_N": 64, "BLOCK_K": 32, "GROUP_M": 8, "num_warps": 4, "num_stages": 4},
    {"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32, "GROUP_M": 8, "num_warps": 4, "num_stages": 5},
]


def _mm_default(M, N, K, small):
    if small:
        return {
            "BLOCK_M": 32,
            "BLOCK_N": 32,
            "BLOCK_K": 16,
            "GROUP_M": 8,
            "EVEN_K": K % 16 == 0,
            "num_warps": 4,
            "num_stages": 2,
        }
    bm = 128 if M >= 128 else max(16, _next_pow2(M))
    bn = 128 if N >= 128 else max(16, _next_pow2(N))
    bk = 64 if K >= 64 else max(16, _next_pow2(K))
    return {
        "BLOCK_M": bm,
        "BLOCK_N": bn,
        "BLOCK_K": bk,
        "GROUP_M": 8,
        "EVEN_K": K % bk == 0,
        "num_warps": 8 if bm * bn >= 16384 else 4,
        "num_stages": 3,
    }


# ----------------------------------------------------------------------------
# single ops


class _SingleKernel:
    """Kernels for ops that fuse with nothing: gather/scatter, concat, pad, cumsum, creation, random.

    ``generate()`` returns (kernels, host lines) — the host lines allocate the
    output and launch the kernels (some ops take a copy and then a kernel)."""

    def __init__(self, node, name, codegen):
        self.n = node
        self.name = name
        self.cg = codegen

    def pointwise_emitter(self, domain):
        e = _Emitter(self.name, SINGLE, [self.n])
        e.constexprs.append("XBLOCK")
        e.emit("xoffs = tl.program_id(0) * XBLOCK + tl.arange(0, XBLOCK)")
        e.emit(f"xmask = xoffs < {_prod(domain)}")
        self.domain = tuple(domain)
        return e

    def coord(self, e, d):
        key = ("c", d)
        if key in e.coords:
            return e.coords[key]
        D = self.domain
        inner = _prod(D[d + 1 :])
        expr = "xoffs" if inner == 1 else f"(xoffs // {inner})"
        if d > 0:
            expr = f"{expr} % {D[d]}"
        name = f"x{d}_"
        e.emit(f"{name} = {expr}")
        e.coords[key] = name
        return name

    def load_full(self, e, node, coords: dict, mask="xmask", dense=None) -> str:
        """Load ``node`` (an input) at operand coordinates ``coords`` (dim -> expression)."""
        spec = e.add_input(node)
        cs = {d: coords[d] for d in spec.stride_dims}
        return e.load_operand(spec, cs, mask, dense, node.dtype)

    def make_kernel(self, e, doc, numel, kind=SINGLE) -> TritonKernel:
        n = self.n
        k = TritonKernel(
            name=self.name,
            kind=kind,
            source=e.source(self.name, doc),
            fn_name=self.name,
            node_ids=[n.id],
            node_text=[format_node(n)],
            inputs=e.inputs,
            outputs=e.outputs,
            scalars=e.scalars,
            constexprs=e.constexprs,
            libdevice=any(h in E.LIBDEVICE_HELPERS for h in e.helpers),
        )
        k.numel = numel
        k.configure = _pointwise_config(numel)
        k.grid = lambda cfg, N=numel: ((N + cfg["XBLOCK"] - 1) // cfg["XBLOCK"],)
        k.aot_config = {"XBLOCK": min(1024, _next_pow2(numel)), "num_warps": 4}
        return k

    def generate(self):
        n = self.n
        op = n.op
        fn = getattr(self, "gen_" + op, None)
        if fn is None:
            if n.kind == ops_table.REDUCE and n.numel == 0:
                return [], [f"{self.cg.v(n)} = R.empty({tuple(n.shape)!r}, D{n.id})"]
            raise UnsupportedError(f"Triton codegen: no kernel for op {op!r}")
        return fn()

    # -- creation and random -------------------------------------------------------------
    def gen_full(self):
        n = self.n
        e = self.pointwise_emitter(n.shape)
        out = e.add_output(n)
        e.comment_node(n)
        e.store(
            out,
            "xoffs",
            f"tl.full([XBLOCK], {E.literal(n.attrs['value'], n.dtype)}, {E.tl_type(E.compute_type(n.dtype))})",
            "xmask",
            n,
        )
        k = self.make_kernel(e, [f"fill {list(n.shape)}"], n.numel)
        return [k], self.alloc_launch(k, [])

    def gen_iota(self):
        n = self.n
        e = self.pointwise_emitter(n.shape)
        out = e.add_output(n)
        e.comment_node(n)
        axis = n.attrs["axis"]
        c = self.coord(e, axis) if n.shape[axis] != 1 else "(xoffs * 0)"
        e.store(out, "xoffs", f"{c}.to({E.tl_type(E.compute_type(n.dtype))})", "xmask", n)
        k = self.make_kernel(e, [f"iota along axis {axis} of {list(n.shape)}"], n.numel)
        return [k], self.alloc_launch(k, [])

    def gen_random_uniform(self):
        return self.gen_random("tl.rand")

    def gen_random_normal(self):
        return self.gen_random("tl.randn")

    def gen_random(self, fn):
        n = self.n
        e = self.pointwise_emitter(n.shape)
        out = e.add_output(n)
        e.scalars.append("seed")
        e.comment_node(n)
        e.emit(f"v = {fn}(seed, xoffs)  # Philox, counter = element index")
        e.store(out, "xoffs", E.round_to("v", n.dtype) if n.dtype is not dt.float64 else "v.to(tl.float64)", "xmask", n)
        k = self.make_kernel(e, [f"{fn} numbers for {list(n.shape)} from the seed input"], n.numel)
        seed = self.cg.v(n.inputs[0])
        return [k], self.alloc_launch(k, [], scalars=f"[R.scalar_int({seed}) & 0x7FFFFFFFFFFFFFFF]")

    # -- pad ----------------------------------------------------------------------------------
    def gen_pad(self):
        n = self.n
        x = n.inputs[0]
        e = self.pointwise_emitter(n.shape)
        out = e.add_output(n)
        pads = n.attrs["pads"]
        value = n.attrs.get("value", 0)
        e.comment_node(n)
        conds, coords = [], {}
        for d, (lo, hi) in enumerate(pads):
            if x.shape[d] == 1 and lo == 0 and hi == 0:
                continue
            c = self.coord(e, d) if n.shape[d] != 1 else "0"
            src = f"({c} - {lo})" if lo else c
            coords[d] = src
            if lo > 0:
                conds.append(f"({src} >= 0)")
            if hi > 0 or lo < 0 or True:
                conds.append(f"({src} < {x.shape[d]})")
            if lo < 0:
                conds.append(f"({src} >= 0)")
        e.emit("inside = xmask" + "".join(f" & {c}" for c in dict.fromkeys(conds)))
        v = self.load_full(e, x, coords, mask="inside")
        fill = E.literal(value, x.dtype)
        e.store(out, "xoffs", f"tl.where(inside, {v}, {fill})", "xmask", n)
        k = self.make_kernel(e, [f"pad {list(x.shape)} by {list(pads)} -> {list(n.shape)}"], n.numel)
        return [k], self.alloc_launch(k, [x])

    # -- gather / index_select -------------------------------------------------------------------
    def _index_value(self, e, idx_node, coords, size, mask="xmask"):
        iv = self.load_full(e, idx_node, coords, mask=mask)
        if not e.input_of[idx_node.id].stride_dims:
            iv = f"({iv} + xoffs * 0)"  # one index for every lane: make it a block like them
        e.emit(f"ix = {iv}.to(tl.int64)")
        e.emit(f"ix = tl.where(ix < 0, ix + {size}, ix)  # negative indices wrap")
        e.emit(f"ok = {mask} & (ix >= 0) & (ix < {size})  # out-of-range lanes are not read or written")
        return "ix"

    def gen_gather(self):
        n = self.n
        x, idx = n.inputs
        axis = n.attrs["axis"]
        e = self.pointwise_emitter(n.shape)
        out = e.add_output(n)
        e.comment_node(n)
        cs = {d: self.coord(e, d) for d in range(len(n.shape)) if n.shape[d] != 1}
        ix = self._index_value(e, idx, cs, x.shape[axis] if x.shape else 1)
        xc = {d: cs.get(d, "0") for d in range(len(x.shape))}
        xc[axis] = ix
        v = self.load_full(e, x, xc, mask="ok")
        e.store(out, "xoffs", v, "xmask", n)
        k = self.make_kernel(e, [f"gather along axis {axis}: out[i] = x[i with axis {axis} <- idx[i]]"], n.numel)
        return [k], self.alloc_launch(k, [x, idx])

    def gen_index_select(self):
        n = self.n
        x, idx = n.inputs
        axis = n.attrs["axis"]
        e = self.pointwise_emitter(n.shape)
        out = e.add_output(n)
        e.comment_node(n)
        k_idx = len(idx.shape)
        cs = {d: self.coord(e, d) for d in range(len(n.shape)) if n.shape[d] != 1}
        ic = {j: cs.get(axis + j, "0") for j in range(k_idx)}
        ix = self._index_value(e, idx, ic, x.shape[axis])
        xc = {}
        for d in range(len(x.shape)):
            if d < axis:
                xc[d] = cs.get(d, "0")
            elif d == axis:
                xc[d] = ix
            else:
                xc[d] = cs.get(d - 1 + k_idx, "0")
        v = self.load_full(e, x, xc, mask="ok")
        e.store(out, "xoffs", v, "xmask", n)
        k = self.make_kernel(e, [f"index_select along axis {axis}"], n.numel)
        return [k], self.alloc_launch(k, [x, idx])

    # -- scatter-style updates: out = copy(x), then a kernel over the updates ---------------------------
    def _update(self, src_shape, idx_coords_of, out_coords_of, mode):
        n = self.n
        x, idx, src = n.inputs
        axis = n.attrs["axis"]
        e = self.pointwise_emitter(src_shape)
        out = e.add_output(n)  # read-modify-write: the host code copies x into it first
        e.comment_node(n)
        cs = {d: self.coord(e, d) for d in range(len(src_shape)) if src_shape[d] != 1}
        size = x.shape[axis] if x.shape else 1
        ix = self._index_value(e, idx, idx_coords_of(cs), size)
        v = self.load_full(e, src, {d: cs.get(d, "0") for d in range(len(src.shape))}, mask="ok")
        oc = out_coords_of(cs, ix)
        c = R.contiguous_strides(x.shape)
        off = (
            " + ".join(
                f"{oc[d]} * {c[d]}" if c[d] != 1 else f"{oc[d]}"
                for d in range(len(x.shape))
                if x.shape[d] != 1 or d == axis
            )
            or "0"
        )
        val = f"{v}.to({out}.dtype.element_ty)"
        if mode == "add":
            e.emit(f"tl.atomic_add({out} + {off}, {val}, mask=ok)  # repeated indices accumulate")
        else:
            e.emit(f"tl.store({out} + {off}, {val}, mask=ok)")
        k = self.make_kernel(e, [f"{n.op} along axis {axis} over the {list(src_shape)} updates"], _prod(src_shape))
        v_out = self.cg.v(n)
        lines = [
            f"{v_out} = R.empty({tuple(n.shape)!r}, D{n.id})",
            f"R.copy_into({v_out}, {self.cg.v(x)})",
            f"{self.cg.kname(k)}.launch([{', '.join(self.cg.v(s.node) for s in k.inputs)}], [{v_out}])",
        ]
        return [k], lines

    def gen_scatter_add(self):
        n = self.n
        axis = n.attrs["axis"]
        shape = tuple(n.inputs[1].shape)
        return self._update(
            shape,
            lambda cs: {d: cs.get(d, "0") for d in range(len(shape))},
            lambda cs, ix: {d: (ix if d == axis else cs.get(d, "0")) for d in range(len(n.shape))},
            "add",
        )

    def _index_update(self, mode):
        n = self.n
        x, idx, src = n.inputs
        axis = n.attrs["axis"]
        k_idx = len(idx.shape)
        shape = tuple(src.shape)

        def out_coords(cs, ix):
            oc = {}
            for d in range(len(x.shape)):
                if d < axis:
                    oc[d] = cs.get(d, "0")
                elif d == axis:
                    oc[d] = ix
                else:
                    oc[d] = cs.get(d - 1 + k_idx, "0")
            return oc

        return self._update(shape, lambda cs: {j: cs.get(axis + j, "0") for j in range(k_idx)}, out_coords, mode)

    def gen_index_add(self):
        return self._index_update("add")

    def gen_index_copy(self):
        return self._index_update("store")

    # -- concat: strided copies into slices of the output --------------------------------------------------
    def gen_concat(self):
        n = self.n
        axis = n.attrs["axis"]
        v_out = self.cg.v(n)
        lines = [f"{v_out} = R.empty({tuple(n.shape)!r}, D{n.id})"]
        start = 0
        for x in n.inputs:
            size = x.shape[axis]
            if size:
                starts = [0] * len(n.shape)
                stops = list(n.shape)
                starts[axis], stops[axis] = start, start + size
                attrs = {"starts": tuple(starts), "stops": tuple(stops), "steps": (1,) * len(n.shape)}
                lines.append(f"R.copy_into(R.view({v_out}, 'slice', {attrs!r}, {tuple(x.shape)!r}), {self.cg.v(x)})")
            start += size
        return [], lines

    # -- cumsum: a row scan with a carry across chunks ----------------------------------------------------------
    def gen_cumsum(self):
        n = self.n
        x = n.inputs[0]
        D = tuple(x.shape)
        if not D:
            return [], [f"{self.cg.v(n)} = R.copy({self.cg.v(x)})"]
        axis = n.attrs["axis"]
        L = D[axis]
        others = [d for d in range(len(D)) if d != axis]
        M = _prod(D[d] for d in others)
        e = _Emitter(self.name, SINGLE, [n])
        e.constexprs.extend(["XBLOCK", "RBLOCK"])
        out = e.add_output(n)
        e.comment_node(n)
        e.emit("xoffs = tl.program_id(0) * XBLOCK + tl.arange(0, XBLOCK)[:, None]")
        e.emit(f"xmask = xoffs < {M}")
        xc = {}
        for pos, d in enumerate(others):
            inner = _prod(D[k] for k in others[pos + 1 :])
            expr = "xoffs" if inner == 1 else f"(xoffs // {inner})"
            if pos > 0:
                expr = f"{expr} % {D[d]}"
            if D[d] != 1:
                e.emit(f"x{d}_ = {expr}")
                xc[d] = f"x{d}_"
        ct = E.compute_type(n.dtype)
        e.emit(f"carry = tl.zeros([XBLOCK, 1], {E.tl_type(ct)})")
        e.emit(f"for roff in range(0, {L}, RBLOCK):")
        e.depth += 1
        e.emit("roffs = roff + tl.arange(0, RBLOCK)[None, :]")
        e.emit(f"mask = xmask & (roffs < {L})")
        coords = dict(xc)
        coords[axis] = "roffs"
        spec = e.add_input(x)
        v = e.load_operand(spec, {d: coords[d] for d in spec.stride_dims}, "mask", None, x.dtype)
        e.emit(f"s = tl.cumsum(tl.where(mask, {v}, 0), axis=1) + carry")
        c = R.contiguous_strides(D)
        off = " + ".join(f"{coords[d]} * {c[d]}" if c[d] != 1 else coords[d] for d in range(len(D)) if D[d] != 1) or "0"
        e.store(out, off, E.round_to("s", n.dtype), "mask", n)
        e.emit("carry = carry + tl.sum(tl.where(mask, " + v + ", 0), axis=1, keep_dims=True)")
        e.depth -= 1
        k = TritonKernel(
            name=self.name,
            kind=SINGLE,
            source=e.source(self.name, [f"cumsum along axis {axis}: {M} rows of {L}, RBLOCK-wide chunks with a carry"]),
            fn_name=self.name,
            node_ids=[n.id],
            node_text=[format_node(n)],
            inputs=e.inputs,
            outputs=e.outputs,
            constexprs=e.constexprs,
        )
        k.numel = M if L else 0

        def configure(kernel, M=M, L=L):
            rb = min(_next_pow2(L), 1024)
            if R.interpreting():
                return {"XBLOCK": min(_next_pow2(M), max(1, (1 << 14) // rb)), "RBLOCK": rb}
            return {"XBLOCK": max(1, min(_next_pow2(M), 2048 // rb)), "RBLOCK": rb, "num_warps": 4}

        k.configure = configure
        k.grid = lambda cfg, M=M: ((M + cfg["XBLOCK"] - 1) // cfg["XBLOCK"],)
        k.aot_config = {
            "XBLOCK": max(1, min(_next_pow2(M), 2048 // min(_next_pow2(L), 1024))),
            "RBLOCK": min(_next_pow2(L), 1024),
            "num_warps": 4,
        }
        return [k], self.alloc_launch(k, [x])

    # -- host code ------------------------------------------------------------------------------------------------
    def alloc_launch(self, k, ins, scalars=None):
        n = self.n
        v_out = self.cg.v(n)
        lines = [f"{v_out} = R.empty({tuple(n.shape)!r}, D{n.id})"]
        sc = f", {scalars}" if scalars else ""
        lines.append(f"{self.cg.kname(k)}.launch([{', '.join(self.cg.v(s.node) for s in k.inputs)}], [{v_out}]{sc})")
        return lines


# ----------------------------------------------------------------------------
# the strided copy kernel (runtime: contiguous(), copy_, concat, scatter's initial copy)

_COPY_RANK = 6
_copy_kernels: dict = {}
_copy_lock = threading.Lock()


def _copy_source(to_bool: bool) -> str:
    r = _COPY_RANK
    dims = ", ".join(f"d{i}" for i in range(r))
    ss = ", ".join(f"s{i}" for i in range(r))
    ts = ", ".join(f"t{i}" for i in range(r))
    lines = [
        "# graphc Triton kernel: strided copy (dst[...] = src[...], broadcast and cast)",
        "@triton.jit",
        f"def strided_copy(dst, src, n, {dims}, {ss}, {ts}, XBLOCK: tl.constexpr):",
        "    xoffs = tl.program_id(0).to(tl.int64) * XBLOCK + tl.arange(0, XBLOCK)",
        "    xmask = xoffs < n",
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
    lines.append(f"    tl.store(dst + {dst_off}, v.to(dst.dtype.element_ty), mask=xmask)")
    return "\n".join(lines) + "\n"


def _collapse(shape, *strides_list):
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


def copy_kernel(dst, src) -> None:
    """Launch the strided copy ``dst[...] = src`` (same shapes; any strides and dtypes)."""
    to_bool = (dst.storage == "bool") if isinstance(dst, R.DeviceArray) else dst.dtype == np.bool_
    src_bool = (src.storage == "bool") if isinstance(src, R.DeviceArray) else src.dtype == np.bool_
    to_bool = to_bool and not src_bool
    with _copy_lock:
        fn = _copy_kernels.get(to_bool)
        if fn is None:
            fn = _copy_kernels[to_bool] = load_source(_copy_source(to_bool), "strided_copy", "copy")
    n = 1
    for s in dst.shape:
        n *= s
    if n == 0:
        return
    dims = _collapse(dst.shape, R.element_strides(src), R.element_strides(dst))
    if len(dims) > _COPY_RANK:
        raise UnsupportedError(f"strided copy of a {len(dims)}-d non-contiguous array (at most {_COPY_RANK} dims)")
    dims = [(1, [0, 0])] * (_COPY_RANK - len(dims)) + dims
    sizes = [d[0] for d in dims]
    ss = [d[1][0] for d in dims]
    ts = [d[1][1] for d in dims]
    xb = min(_next_pow2(n), 1 << 14) if R.interpreting() else 1024
    grid = ((n + xb - 1) // xb,)
    kw = {"XBLOCK": xb}
    if not R.interpreting():
        kw["num_warps"] = 4
    fn[grid](R.kernel_arg(dst), R.kernel_arg(src), n, *sizes, *ss, *ts, **kw)


# ----------------------------------------------------------------------------
# the program


@dataclass
class _Group:
    kind: str
    nodes: list
    domain: tuple
    axes: tuple
    inputs: list
    outputs: list
    inside: set = field(default_factory=set)

    def __post_init__(self):
        self.inside = {n.id for n in self.nodes}


@dataclass
class Program:
    """A compiled Triton program: call ``program(inputs)`` like the numpy backend's.

    Inputs are numpy arrays (interpreter mode, or CPU tensors on a GPU
    machine: uploaded, and the outputs downloaded) or :class:`DeviceArray`
    values (cuda tensors). Returns the graph's outputs followed by the values
    of its mutations.
    """

    name: str
    source: str
    kernels: list
    host_source: str
    fn: object = None
    plan: object = None

    def __call__(self, inputs):
        if not R.device_memory():
            return self.fn([x if isinstance(x, np.ndarray) else np.asarray(x) for x in inputs])
        # CPU tensors compiled for the GPU: upload the inputs, download the results
        host = not any(isinstance(x, R.DeviceArray) for x in inputs)
        ins = [x if isinstance(x, (R.DeviceArray, np.generic)) else R.from_host(np.asarray(x)) for x in inputs]
        outs = self.fn(ins)
        if host:
            return [R.to_host(o) for o in outs]
        return outs

    def kernel_infos(self) -> list:
        """One :class:`KernelInfo` per generated kernel (with ``compile_ahead(target)``)."""
        return [k.info() for k in self.kernels]

    def __repr__(self) -> str:
        return f"<graphc Triton program {self.name}: {len(self.kernels)} kernels>"


class TritonCodegen:
    """Turns a :class:`~ir.passes.fusion.Schedule` into a :class:`Program`."""

    def __init__(self, schedule, name="graph"):
        self.schedule = schedule
        self.graph = schedule.graph
        self.name = name
        self.kernels: list[TritonKernel] = []
        self.knames: dict = {}
        self.consts: dict = {}
        self.run: list[str] = []
        self.ready: set = set()  # node ids with a value in run()'s scope

    @staticmethod
    def v(n) -> str:
        return f"v{n.id}"

    def kname(self, k: TritonKernel) -> str:
        if id(k) not in self.knames:
            self.knames[id(k)] = f"K{len(self.knames)}"
        return self.knames[id(k)]

    def _base_name(self, kind, nodes, kid):
        ops = "_".join(dict.fromkeys(n.op for n in nodes if n.kind != ops_table.VIEW))
        return f"k{kid}_{kind}_{ops[:40]}"

    # -- steps ------------------------------------------------------------------------------------------
    def value_of(self, n) -> str:
        """A name for node ``n``'s value in run(), emitting constants and views as needed."""
        if n.id in self.ready:
            return self.v(n)
        if n.op in ("constant", "full"):
            value = np.full(n.shape, _scalar_value(n)) if n.op == "full" else n.attrs["value"]
            self.consts[f"C{n.id}"] = (np.asarray(value, dtype=n.dtype.numpy_dtype), n.dtype)
            self.run.append(f"    {self.v(n)} = C{n.id}  # {format_node(n)}")
        elif n.kind == ops_table.VIEW:
            src = self.value_of(n.inputs[0])
            self.consts[f"A{n.id}"] = dict(n.attrs)
            self.run.append(
                f"    {self.v(n)} = R.view({src}, {n.op!r}, A{n.id}, {tuple(n.shape)!r})  # {format_node(n)}"
            )
        else:
            raise AssertionError(f"value of %{n.id} is used before it is computed")
        self.ready.add(n.id)
        return self.v(n)

    def emit_group(self, group: _Group, kid) -> None:
        name = self._base_name(group.kind, group.nodes, kid)
        try:
            if group.kind == MATMUL:
                k = _MatmulKernel(group, name).generate()
            elif group.kind in (POINTWISE, REDUCTION):
                k = _TileKernel(group, name).generate()
            else:
                self.emit_single(group.nodes[0], name)
                return
        except _Split as why:
            log.info("triton codegen: splitting %s into one kernel per node: %s", name, why)
            self.emit_split(group, kid)
            return
        for spec in k.inputs:
            self.value_of(spec.node)
        self.kernels.append(k)
        kn = self.kname(k)
        self.run.append(f"    # {k.name}: " + ", ".join(f"%{i}" for i in k.node_ids))
        for _, o in k.outputs:
            self.run.append(f"    {self.v(o)} = R.empty({tuple(o.shape)!r}, D{o.id})")
            self.consts[f"D{o.id}"] = o.dtype
        ins = ", ".join(self.v(s.node) for s in k.inputs)
        outs = ", ".join(self.v(o) for _, o in k.outputs)
        self.run.append(f"    {kn}.launch([{ins}], [{outs}])")
        for _, o in k.outputs:
            self.ready.add(o.id)

    def emit_split(self, group: _Group, kid) -> None:
        for j, n in enumerate(group.nodes):
            for i in n.inputs:
                if not is_scalar_constant(i):
                    self.value_of(i)
            kind = REDUCTION if n.kind == ops_table.REDUCE else (MATMUL if n.kind == ops_table.MATMUL else POINTWISE)
            domain = tuple(n.inputs[0].shape) if kind == REDUCTION else tuple(n.shape)
            axes = tuple(n.attrs["axes"]) if kind == REDUCTION else ()
            ins = [i for i in n.inputs if not is_scalar_constant(i)]
            sub = _Group(kind, [n], domain, axes, ins, [n])
            self.emit_group(sub, f"{kid}_{j}")

    def emit_single(self, n, name) -> None:
        for i in n.inputs:
            self.value_of(i)
        self.consts[f"D{n.id}"] = n.dtype
        try:
            kernels, lines = _SingleKernel(n, name, self).generate()
        except UnsupportedError:
            if R.device_memory():  # the numpy fallback exists for host buffers under the interpreter only
                raise
            kernels, lines = [], self.host_fallback(n)
        for k in kernels:
            self.kernels.append(k)
            self.kname(k)
        self.run.append(f"    # {name}: %{n.id} = {n.op}")
        self.run.extend("    " + line for line in lines)
        self.ready.add(n.id)

    def host_fallback(self, n) -> list:
        """Interpreter only: run an op the Triton codegen does not cover with numpy, labelled."""
        self.consts[f"A{n.id}"] = dict(n.attrs)
        ins = ", ".join(self.v(i) for i in n.inputs)
        return [
            f"# HOST FALLBACK (interpreter only): %{n.id} {n.op} runs in numpy, not as a Triton kernel",
            f"{self.v(n)} = R.host_op({n.op!r}, [{ins}], A{n.id}, {tuple(n.shape)!r}, D{n.id})",
        ]

    def groups(self):
        """The schedule's steps as (kind, item) with kernels turned into groups."""
        for kind, item in self.schedule.steps:
            if kind == "view":
                yield "view", item
            else:
                yield "group", item

    def generate(self) -> Program:
        g = self.graph
        self.run = ["def run(inputs):"]
        if g.inputs:
            self.run.append(
                "    " + ", ".join(self.v(n) for n in g.inputs) + ("," if len(g.inputs) == 1 else "") + " = inputs"
            )
        self.ready.update(n.id for n in g.inputs)
        for kind, item in self.schedule.steps:
            if kind == "view":
                continue  # views and constants are emitted where first used
            k = item
            group = _Group(k.kind, list(k.nodes), tuple(k.domain), tuple(k.axes), list(k.inputs), list(k.outputs))
            self.emit_group(group, k.id)
        results = []
        leaving = list(g.outputs) + [v for _, v in g.mutations]
        aliases = leaving_aliases(g)
        for o in leaving:
            name = self.value_of(o)
            results.append(f"R.copy({name})" if o.id in aliases else name)
        self.run.append("    return [" + ", ".join(results) + "]")
        host = "\n".join(self.run) + "\n"
        header = [
            f"# graphc Triton program for graph {self.name!r}: {len(self.kernels)} kernels",
            f"# mode: {'GPU' if not R.interpreting() else 'Triton interpreter on ' + ('device' if R.device_memory() else 'host') + ' buffers'}",
        ]
        parts = (
            ["\n".join(header)]
            + [k.source for k in self.kernels]
            + ["# host program (R = backends.triton.runtime)\n" + host]
        )
        source = "\n\n".join(p.rstrip("\n") + "\n" for p in parts)
        ns = {"R": _HostOps, "np": np}
        for k in self.kernels:
            ns[self.kname(k)] = k
        for cname, value in self.consts.items():
            if cname.startswith("C"):
                arr, dtype = value
                ns[cname] = R.constant(arr, dtype)
            else:
                ns[cname] = value
        filename = f"<graphc-triton-program-{self.name}-{id(self)}>"
        linecache.cache[filename] = (len(host), None, host.splitlines(True), filename)
        exec(compile(host, filename, "exec"), ns)
        if RECORDED is not None:
            RECORDED.extend(self.kernels)
        return Program(self.name, source, self.kernels, host, ns["run"])



class _HostOps:
    """What generated host programs call (``R.``): the runtime plus a few helpers."""

    empty = staticmethod(R.empty)
    view = staticmethod(R.view)

    copy_into = staticmethod(R.copy_into)

    @staticmethod
    def copy(a):
        if isinstance(a, R.DeviceArray):
            return a.copy()
        out = np.empty(np.shape(a), dtype=np.asarray(a).dtype)
        if out.size:
            copy_kernel(out, np.asarray(a))
        return out

    @staticmethod
    def scalar_int(a) -> int:
        if isinstance(a, R.DeviceArray):
            return int(a.to_host().reshape(-1)[0])
        return int(np.asarray(a).reshape(-1)[0])

    @staticmethod
    def host_op(op, arrays, attrs, shape, dtype):
        from backends.numpy.kernels import run_op

        return run_op(ops_table.OPS[op], [np.asarray(a) for a in arrays], attrs, shape, dtype)


_warned = [False]


def compile_schedule(schedule, name: str = "graph", quiet: bool = False) -> Program:
    """Generate the Triton kernels and host program for ``schedule``."""
    if R.interpreting():
        _env.check_interpreter_usable()
        if not _warned[0] and not quiet:
            _warned[0] = True
            warnings.warn(
                "graphc: no GPU here, so the Triton backend runs its generated kernels under Triton's "
                "interpreter (TRITON_INTERPRET=1) on host buffers. This is for testing and is slow.",
                RuntimeWarning,
                stacklevel=3,
            )
    return TritonCodegen(schedule, name).generate()
