"""The host program: a fused schedule becomes kernels plus the Python code that runs them.

One kernel per fused group (:mod:`ir.passes.fusion`, with the Triton policy's say in what
fuses): :mod:`.tiles` (pointwise, reduction), :mod:`.matmul`, :mod:`.single`. The host
program (``def run(inputs)``) allocates outputs, applies views (strided metadata, no copies),
launches the kernels and returns the outputs. Generated source names every IR node it
implements in a comment (``# %5 = mul %3, %4 : f32[64,32]``); it is kept on the program
(``program.source``, ``program.kernel_infos()``), and each kernel can be compiled ahead of
time for a GPU target without a GPU (``kernel.compile_ahead("sm_90")``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from backends.base import KernelInfo
from backends.base import Program as BaseProgram
from backends.loader import load_source
from backends.numpy import kernels as numpy_kernels
from ir import ops as ops_table
from ir.errors import UnsupportedError
from ir.graph import leaving_aliases
from ir.passes.fusion import MATMUL, POINTWISE, REDUCTION
from ir.printer import format_node

from .. import _env
from ..driver import device_memory
from ..memory import DeviceArray, constant, copy_into, copy_kernel, empty, from_host, to_host, view
from .emitter import CodegenError, TritonKernel, scalar_value
from .layout import LayoutError
from .matmul import MatmulKernel
from .single import SingleKernel
from .tiles import TileKernel

# When a list, every generated kernel is appended to it (tests gather them to compile ahead of time).
RECORDED: list | None = None


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


class Program(BaseProgram):
    """A compiled Triton program: ``program(inputs)`` like the numpy backend's.

    Inputs are numpy arrays (interpreter mode, or CPU tensors on a GPU machine: uploaded, and
    the outputs downloaded) or :class:`~backends.triton.memory.DeviceArray` values (cuda
    tensors). Returns the graph's outputs followed by the values of its mutations.
    ``host_source`` is the host program alone (``source`` holds the kernels too).
    """

    def __init__(self, name, source, kernels, host_source, fn, infos=None):
        super().__init__(name, source, kernels, fn)
        self.host_source = host_source
        self._infos = infos

    def kernel_infos(self) -> list:
        """The Triton kernels and the labelled host calls (library rows), in execution order."""
        if self._infos is None:
            return super().kernel_infos()
        return [k.info() if not isinstance(k, KernelInfo) else k for k in self._infos]

    def __call__(self, inputs):
        if not device_memory():
            return self.fn([x if isinstance(x, np.ndarray) else np.asarray(x) for x in inputs])
        # CPU tensors compiled for the GPU: upload the inputs, download the results
        host = not any(isinstance(x, DeviceArray) for x in inputs)
        ins = [x if isinstance(x, (DeviceArray, np.generic)) else from_host(np.asarray(x)) for x in inputs]
        outs = self.fn(ins)
        if host:
            return [to_host(o) for o in outs]
        return outs


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
        self.infos: list = []  # kernels and host calls in execution order (KernelInfo for host calls)

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
            value = np.full(n.shape, scalar_value(n)) if n.op == "full" else n.attrs["value"]
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
                k = MatmulKernel(group, name).generate()
            elif group.kind in (POINTWISE, REDUCTION):
                k = TileKernel(group, name).generate()
            else:
                self.emit_single(group.nodes[0], name)
                return
        except LayoutError as why:  # the fusion policy accepted what the tiles cannot express
            raise CodegenError(name, str(why)) from None
        for spec in k.inputs:
            self.value_of(spec.node)
        self.kernels.append(k)
        self.infos.append(k)
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

    def emit_single(self, n, name) -> None:
        for i in n.inputs:
            self.value_of(i)
        self.consts[f"D{n.id}"] = n.dtype
        if n.kind == ops_table.LIBRARY:
            kernels, lines = [], self.host_call(n)
            self.infos.append(KernelInfo(f"{name}_host", "host", "\n".join(lines), [n.id], [format_node(n)]))
        else:
            try:
                kernels, lines = SingleKernel(n, name, self).generate()
            except UnsupportedError:
                if device_memory():  # the numpy fallback exists for host buffers under the interpreter only
                    raise
                kernels, lines = [], self.host_fallback(n)
        for k in kernels:
            self.kernels.append(k)
            self.infos.append(k)
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

    def host_call(self, n) -> list:
        """A library row (LAPACK, FFT) has no Triton kernel: it runs with numpy on the host, its
        inputs copied from the device and its result copied back, and the program says so."""
        self.consts[f"A{n.id}"] = dict(n.attrs)
        ins = ", ".join(self.v(i) for i in n.inputs)
        return [
            f"# HOST CALL (library row): %{n.id} {n.op} runs with numpy/LAPACK on the host "
            "(device -> host -> device copies; no Triton kernel)",
            f"{self.v(n)} = R.host_call({n.op!r}, [{ins}], A{n.id}, {tuple(n.shape)!r}, D{n.id})",
        ]

    def generate(self) -> Program:
        g = self.graph
        _refuse_complex(g)
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
            f"# mode: {'GPU' if not _env.interpreting() else 'Triton interpreter on ' + ('device' if device_memory() else 'host') + ' buffers'}",
        ]
        parts = (
            ["\n".join(header)]
            + [k.source for k in self.kernels]
            + ["# host program (R = backends.triton.codegen.program.HostOps)\n" + host]
        )
        source = "\n\n".join(p.rstrip("\n") + "\n" for p in parts)
        ns = {"R": HostOps, "np": np, "__name__": "graphc_triton_program"}
        for k in self.kernels:
            ns[self.kname(k)] = k
        for cname, value in self.consts.items():
            if cname.startswith("C"):
                arr, dtype = value
                ns[cname] = constant(arr, dtype)
            else:
                ns[cname] = value
        fn = load_source(host, "triton-program", ns, "run")
        if RECORDED is not None:
            RECORDED.extend(self.kernels)
        return Program(self.name, source, self.kernels, host, fn, self.infos)


class HostOps:
    """What generated host programs call (``R.``): memory, views and copies, and a few helpers."""

    empty = staticmethod(empty)
    view = staticmethod(view)
    copy_into = staticmethod(copy_into)

    @staticmethod
    def copy(a):
        if isinstance(a, DeviceArray):
            return a.copy()
        out = np.empty(np.shape(a), dtype=np.asarray(a).dtype)
        if out.size:
            copy_kernel(out, np.asarray(a))
        return out

    @staticmethod
    def scalar_int(a) -> int:
        return int(to_host(a).reshape(-1)[0])

    @staticmethod
    def check_index(idx, size: int, op: str, axis: int) -> None:
        """Raise IndexError when an index lies outside ``[0, size)``, as the row says (see
        ``ir.ops.index.check_index``: the frontend wraps negative indices where PyTorch does)."""
        a = to_host(idx)
        if a.size and (a.max() >= size or a.min() < 0):
            bad = a.max() if a.max() >= size else a.min()
            raise IndexError(f"{op}: index {bad} is out of bounds for dimension {axis} with size {size}")

    @staticmethod
    def host_op(op, arrays, attrs, shape, dtype):
        return numpy_kernels.run_op(ops_table.OPS[op], [np.asarray(a) for a in arrays], attrs, shape, dtype)

    @staticmethod
    def host_call(op, arrays, attrs, shape, dtype):
        """Run a library row with numpy: device inputs come to the host, the result goes back."""
        on_device = any(isinstance(a, DeviceArray) for a in arrays)
        host = [to_host(a) if isinstance(a, DeviceArray) else np.asarray(a) for a in arrays]
        out = numpy_kernels.run_op(ops_table.OPS[op], host, attrs, shape, dtype)
        return from_host(out, dtype) if on_device else out


def _refuse_complex(graph) -> None:
    """The kernels do not lower complex values (to pairs of reals) yet: say so by op."""
    for n in graph.nodes:
        if n.kind == ops_table.SOURCE:
            continue  # name the first op that computes with complex values
        if n.dtype.is_complex or any(i.dtype.is_complex for i in n.inputs):
            raise UnsupportedError(
                f"the Triton backend does not support complex dtypes yet: %{n.id} = {n.op} ({n.dtype}) in graph "
                f"{graph.name!r}; run complex computations on the CPU (the numpy backend)"
            )


_warned = [False]


def compile_schedule(schedule, name: str = "graph", quiet: bool = False) -> Program:
    """Generate the Triton kernels and host program for ``schedule``."""
    _env.check_usable()
    if _env.interpreting() and not _warned[0] and not quiet:
        _warned[0] = True
        warnings.warn(
            "graphc: no GPU here, so the Triton backend runs its generated kernels under Triton's "
            "interpreter (TRITON_INTERPRET=1) on host buffers. This is for testing and is slow.",
            RuntimeWarning,
            stacklevel=3,
        )
    return TritonCodegen(schedule, name).generate()
