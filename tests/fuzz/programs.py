"""Random programs for the differential fuzzer, written twice: in graphc and in float64 numpy.

A program is drawn step by step from op families — pointwise (unary, binary with
broadcasting and Python scalars), reductions, softmax-like rows, matmul and linear layers,
views (reshape, permute, slices, expand, select, flip, squeeze), indexing (index_select,
gather, advanced indexing with negative indices, scatter_add, masked_fill, where) and
in-place writes (on clones of intermediates, through views of them, and in ``mutate`` mode
on the inputs and views of the inputs). Each step is a line of graphc source and the line
of numpy that defines the same value; the numpy line runs as the program is drawn, so its
shapes are the oracle that keeps every drawn line legal. A failing example prints both
programs, ready to paste.

Modes: ``grad`` (inputs require grad; gradients of a weighted sum of the outputs are
compared with central differences of the numpy program), ``mutate`` (the program may
write into its inputs; their final values are compared too).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from . import reference as R

SCALARS = (0.5, -1.5, 2.0, 3.0)

UNARY = [
    ("-{x}", "-{x}"),
    ("{x}.tanh()", "np.tanh({x})"),
    ("{x}.sigmoid()", "R.sigmoid({x})"),
    ("{x}.relu()", "np.maximum({x}, 0)"),
    ("{x}.abs()", "np.abs({x})"),
    ("{x}.sin()", "np.sin({x})"),
    ("{x}.cos()", "np.cos({x})"),
    ("{x}.clamp(-4, 4).exp()", "np.exp(np.clip({x}, -4, 4))"),
    ("{x}.abs().log1p()", "np.log1p(np.abs({x}))"),
    ("({x} * {x} + 1).sqrt()", "np.sqrt({x} * {x} + 1)"),
    ("{x}.square()", "{x} ** 2"),
    ("1 / ({x}.abs() + 1)", "1 / (np.abs({x}) + 1)"),
    ("F.gelu({x})", "R.gelu({x})"),
    ("F.gelu({x}, approximate='tanh')", "R.gelu_tanh({x})"),
    ("F.silu({x})", "{x} * R.sigmoid({x})"),
    ("F.softplus({x})", "R.softplus({x})"),
    ("F.leaky_relu({x}, 0.1)", "np.where({x} > 0, {x}, 0.1 * {x})"),
    ("F.elu({x})", "np.where({x} > 0, {x}, np.expm1(np.minimum({x}, 0)))"),
    ("{x}.atan()", "np.arctan({x})"),
    ("{x}.erf()", "R.erf({x})"),
    ("({x}.abs() + 0.5) ** 1.5", "(np.abs({x}) + 0.5) ** 1.5"),
    ("{x}.masked_fill({x} > 0.5, 0.0)", "np.where({x} > 0.5, 0.0, {x})"),
    ("{x} * ({x} > 0).to({x}.dtype)", "{x} * ({x} > 0)"),
    ("{x} * 2.5", "{x} * 2.5"),
    ("3.0 - {x}", "3.0 - {x}"),
    ("{x} / 4.0", "{x} / 4.0"),
]

BINARY = [
    ("{a} + {b}", "{a} + {b}"),
    ("{a} - {b}", "{a} - {b}"),
    ("{a} * {b}", "{a} * {b}"),
    ("{a} / ({b}.abs() + 0.5)", "{a} / (np.abs({b}) + 0.5)"),
    ("graphc.maximum({a}, {b})", "np.maximum({a}, {b})"),
    ("graphc.minimum({a}, {b})", "np.minimum({a}, {b})"),
    ("graphc.atan2({a}, {b}.abs() + 0.5)", "np.arctan2({a}, np.abs({b}) + 0.5)"),
    ("graphc.where({a} > {b}, {a}, {b} * 0.5)", "np.where({a} > {b}, {a}, {b} * 0.5)"),
]


class Gen:
    """Draws one program (see the module docstring)."""

    def __init__(self, data, mode: str, dtype: str = "float32"):
        self.data, self.mode, self.dtype = data, mode, dtype
        self.g_lines: list[str] = []
        self.n_lines: list[str] = []
        self.inputs: list[tuple[str, tuple]] = []
        self.consts: list[np.ndarray] = []
        self.values: list[str] = []  # float values, oldest first
        self.writable: set = set()  # names that alias an input's memory (mutate mode)
        self.shared: set = set()  # may share an input's memory but are never written (expand, reshape)
        self.ns = {"np": np, "R": R, "C": self.consts}
        self.rng = np.random.default_rng(self.draw(st.integers(0, 2**31), "data seed"))
        self.counter = 0

    # -- drawing -------------------------------------------------------------------
    def draw(self, strategy, label=None):
        return self.data.draw(strategy, label=label)

    def choice(self, items, label=None):
        return self.draw(st.sampled_from(list(items)), label)

    def flag(self, label=None) -> bool:
        return self.draw(st.booleans(), label)

    def integer(self, lo, hi, label=None) -> int:
        return self.draw(st.integers(lo, hi), label)

    def shape_of(self, name) -> tuple:
        return tuple(np.shape(self.ns[name]))

    def pick(self, min_ndim=0):
        """A value with at least ``min_ndim`` dims (most recent first, so shrinking keeps depth);
        a new input when there is none."""
        names = [n for n in reversed(self.values) if len(self.shape_of(n)) >= min_ndim]
        if not names:
            return self.new_input(self.random_shape(min_ndim, 3))
        return self.choice(names, "value")

    # -- emitting ------------------------------------------------------------------
    def emit(self, g_expr: str, n_expr: str, alias_of: str | None = None, shares: str | None = None) -> str:
        name = f"v{self.counter}"
        self.counter += 1
        self.stmt(f"{name} = {g_expr}", f"{name} = {n_expr}")
        self.values.append(name)
        if alias_of is not None and alias_of in self.writable:
            self.writable.add(name)
        src = shares or alias_of
        if src is not None and (src in self.shared or (shares is not None and src in self.writable)):
            self.shared.add(name)
        return name

    def stmt(self, g_line: str, n_line: str) -> None:
        with np.errstate(all="ignore"):
            exec(n_line, self.ns)
        self.g_lines.append(g_line)
        self.n_lines.append(n_line)

    def new_input(self, shape) -> str:
        name = f"x{len(self.inputs)}"
        self.inputs.append((name, tuple(shape)))
        self.ns[name] = self.rng.standard_normal(shape)
        self.values.append(name)
        if self.mode == "mutate":
            self.writable.add(name)
        return name

    def const(self, array) -> str:
        self.consts.append(np.asarray(array))
        return f"C[{len(self.consts) - 1}]"

    def random_shape(self, min_ndim=0, max_ndim=3) -> tuple:
        return tuple(self.integer(1, 4) for _ in range(self.integer(min_ndim, max_ndim)))

    def operand_for(self, shape, exact=False, exclude=()) -> str:
        """A second operand broadcasting with ``shape`` (to exactly ``shape`` when ``exact``)."""
        options = ["new", "scalar"]
        fits = [
            n for n in self.values
            if n not in exclude
            and (b := _broadcast(self.shape_of(n), shape)) is not None and (b == tuple(shape) or not exact)
        ]
        if fits:
            options.append("existing")
        how = self.choice(options, "operand")
        if how == "scalar":
            return repr(self.choice(SCALARS))
        if how == "existing":
            return self.choice(list(reversed(fits)))
        drop = self.integer(0, len(shape))
        new = [1 if self.flag() else s for s in shape[drop:]]
        if not exact and drop == 0 and len(shape) < 3 and self.flag():
            new = [self.integer(1, 3)] + new
        return self.new_input(tuple(new))

    # -- op families -----------------------------------------------------------------
    def op_unary(self):
        x = self.pick()
        g, n = self.choice(UNARY, "unary")
        return self.emit(g.format(x=x), n.format(x=x))

    def op_binary(self):
        x = self.pick()
        y = self.operand_for(self.shape_of(x))
        a, b = (x, y) if self.flag() else (y, x)
        if a[0] not in "vx":  # a Python scalar first: its own op forms
            a, b = b, a
        g, n = self.choice(BINARY, "binary")
        if b[0] not in "vx" and ".abs()" in g:
            g, n = "{a} / 2.5", "{a} / 2.5"
        return self.emit(g.format(a=a, b=b), n.format(a=a, b=b))

    def op_reduce(self):
        x = self.pick(min_ndim=1)
        shape = self.shape_of(x)
        d = self.integer(-len(shape), len(shape) - 1, "dim")
        k = self.flag("keepdim")
        kind = self.choice(["sum", "mean", "amax", "amin", "var", "std", "logsumexp", "norm", "max", "all_sum"], "reduce")
        if kind in ("var", "std") and shape[d] < 2:
            kind = "sum"
        table = {
            "sum": (f"{x}.sum(dim={d}, keepdim={k})", f"{x}.sum(axis={d}, keepdims={k})"),
            "mean": (f"{x}.mean(dim={d}, keepdim={k})", f"{x}.mean(axis={d}, keepdims={k})"),
            "amax": (f"{x}.amax(dim={d}, keepdim={k})", f"{x}.max(axis={d}, keepdims={k})"),
            "amin": (f"{x}.amin(dim={d}, keepdim={k})", f"{x}.min(axis={d}, keepdims={k})"),
            "var": (f"{x}.var(dim={d}, keepdim={k})", f"{x}.var(axis={d}, ddof=1, keepdims={k})"),
            "std": (f"{x}.std(dim={d}, keepdim={k})", f"{x}.std(axis={d}, ddof=1, keepdims={k})"),
            "logsumexp": (f"{x}.logsumexp({d}, keepdim={k})", f"R.logsumexp({x}, {d}, {k})"),
            "norm": (f"{x}.norm(dim={d}, keepdim={k})", f"np.sqrt(({x} * {x}).sum(axis={d}, keepdims={k}))"),
            "max": (f"{x}.max(dim={d}, keepdim={k}).values", f"{x}.max(axis={d}, keepdims={k})"),
            "all_sum": (f"{x}.sum()", f"{x}.sum()"),
        }
        g, n = table[kind]
        return self.emit(g, n)

    def op_row(self):
        x = self.pick(min_ndim=1)
        d = self.integer(-len(self.shape_of(x)), len(self.shape_of(x)) - 1, "dim")
        kind = self.choice(["softmax", "log_softmax", "cumsum", "layer_norm"], "row")
        table = {
            "softmax": (f"{x}.softmax({d})", f"R.softmax({x}, {d})"),
            "log_softmax": (f"{x}.log_softmax({d})", f"R.log_softmax({x}, {d})"),
            "cumsum": (f"{x}.cumsum({d})", f"np.cumsum({x}, axis={d})"),
            "layer_norm": (f"F.layer_norm({x}, {x}.shape[-1:])", f"R.layer_norm({x})"),
        }
        g, n = table[kind]
        return self.emit(g, n)

    def op_matmul(self):
        x = self.pick(min_ndim=1)
        shape = self.shape_of(x)
        k, m = shape[-1], self.integer(1, 4, "out features")
        if self.flag("linear"):
            w, b = self.new_input((m, k)), self.new_input((m,))
            return self.emit(f"F.linear({x}, {w}, {b})", f"{x} @ {w}.T + {b}")
        batch = () if len(shape) < 2 or self.flag() else shape[:-2][-1:]
        w = self.new_input(batch + (k, m))
        return self.emit(f"{x} @ {w}", f"{x} @ {w}")

    def op_view(self):
        x = self.pick()
        shape = self.shape_of(x)
        nd = len(shape)
        options = ["reshape", "unsqueeze"]
        if nd >= 1:
            options += ["slice", "select", "flip", "permute", "transpose", "contiguous_view"]
        if 1 in shape:
            options += ["expand", "squeeze"]
        kind = self.choice(options, "view")
        if kind == "reshape":
            size = int(np.prod(shape))
            divisors = [a for a in range(1, size + 1) if size % a == 0]
            target = self.choice([(size,), (-1,)] + [(a, size // a) for a in divisors], "shape")
            return self.emit(f"{x}.reshape{target}", f"{x}.reshape{target}", shares=x)  # never written through
        if kind == "unsqueeze":
            d = self.integer(-nd - 1, nd, "dim")
            return self.emit(f"{x}.unsqueeze({d})", f"np.expand_dims({x}, {d})", alias_of=x)
        if kind == "slice":
            d = self.integer(0, nd - 1, "dim")
            lo = self.integer(0, shape[d] - 1, "start")
            hi = self.integer(lo + 1, shape[d], "stop")
            step = self.integer(1, 2, "step")
            key = "[" + ":, " * d + f"{lo}:{hi}:{step}" + "]"
            return self.emit(f"{x}{key}", f"{x}{key}", alias_of=x)
        if kind == "select":
            i = self.integer(-shape[0], shape[0] - 1, "index")
            return self.emit(f"{x}[{i}]", f"{x}[{i}, ...]", alias_of=x)  # numpy: a 0-d view, not a scalar copy
        if kind == "flip":
            d = self.integer(-nd, nd - 1, "dim")
            return self.emit(f"{x}.flip({d})", f"np.flip({x}, {d}).copy()")  # a copy in both
        if kind == "permute":
            perm = tuple(self.draw(st.permutations(range(nd)), "perm"))
            return self.emit(f"{x}.permute{perm if nd > 1 else f'({perm[0]},)'}", f"{x}.transpose({perm})", alias_of=x)
        if kind == "transpose":
            a, b = self.integer(-nd, nd - 1), self.integer(-nd, nd - 1)
            return self.emit(f"{x}.transpose({a}, {b})", f"np.swapaxes({x}, {a}, {b})", alias_of=x)
        if kind == "contiguous_view":
            return self.emit(
                f"{x}.transpose(0, -1).contiguous().view(-1)", f"np.swapaxes({x}, 0, -1).reshape(-1)", shares=x
            )
        if kind == "expand":
            target = tuple(self.integer(2, 3) if s == 1 and self.flag() else s for s in shape)
            return self.emit(f"{x}.expand{target}", f"np.broadcast_to({x}, {target})", shares=x)  # read-only
        return self.emit(f"{x}.squeeze()", f"np.squeeze({x})", alias_of=x)

    def op_index(self):
        x = self.pick(min_ndim=1)
        shape = self.shape_of(x)
        nd = len(shape)
        d = self.integer(0, nd - 1, "dim")
        kind = self.choice(
            ["index_select", "gather", "getitem", "getitem2", "scatter_add", "masked_fill", "where", "argmax_gather"],
            "index",
        )
        n_idx = self.integer(1, 4, "count")
        if kind == "index_select":
            c = self.const(self.rng.integers(0, shape[d], n_idx))
            return self.emit(f"graphc.index_select({x}, {d}, {c})", f"np.take({x}, {c}, axis={d})")
        if kind == "gather":
            idx_shape = tuple(self.integer(1, s) if a != d else n_idx for a, s in enumerate(shape))
            c = self.const(self.rng.integers(0, shape[d], idx_shape))
            return self.emit(f"graphc.gather({x}, {d}, {c})", f"R.gather({x}, {d}, {c})")
        if kind == "getitem":  # negative indices wrap, as in PyTorch and numpy
            c = self.const(self.rng.integers(-shape[0], shape[0], n_idx))
            return self.emit(f"{x}[{c}]", f"{x}[{c}]")
        if kind == "getitem2" and nd >= 2:
            c0 = self.const(self.rng.integers(-shape[0], shape[0], n_idx))
            c1 = self.const(self.rng.integers(0, shape[1], n_idx))
            return self.emit(f"{x}[{c0}, {c1}]", f"{x}[{c0}, {c1}]")
        if kind == "argmax_gather":  # indices computed from the values (data-dependent under compile)
            return self.emit(
                f"graphc.gather({x}, {d}, {x}.argmax({d}, keepdim=True))",
                f"R.gather({x}, {d}, np.expand_dims(np.argmax({x}, axis={d}), {d}))",
            )
        if kind == "scatter_add":
            idx_shape = tuple(self.integer(1, s) for s in shape)
            c = self.const(self.rng.integers(0, shape[d], idx_shape))
            src = self.new_input(idx_shape)
            return self.emit(f"{x}.scatter_add({d}, {c}, {src})", f"R.scatter_add({x}, {d}, {c}, {src})")
        mask = self.const(self.rng.random(shape) < 0.5)
        if kind == "masked_fill":
            return self.emit(f"{x}.masked_fill({mask}, -1.5)", f"np.where({mask}, -1.5, {x})")
        y = self.operand_for(shape)
        return self.emit(f"graphc.where({mask}, {x}, {y})", f"np.where({mask}, {x}, {y})")

    def op_inplace(self):
        """An in-place write: on a clone of a value (any mode), or on an input or a view of one
        (mutate mode); sometimes through a view of the target."""
        targets = [n for n in self.values if n in self.writable]
        if self.mode == "mutate" and targets and self.flag("write an input"):
            t = self.choice(targets, "target")
        else:
            src = self.pick()
            t = self.emit(f"{src}.clone()", f"np.array({src}, copy=True)")
        shape = self.shape_of(t)
        view_g, view_n = t, t
        if len(shape) >= 1 and shape[0] > 1 and self.flag("through a view"):
            view_g = view_n = f"{t}[1:]"
        elif len(shape) == 2 and self.flag("through a transpose"):
            view_g, view_n = f"{t}.t()", f"{t}.T"
        vshape = np.shape(eval(view_n, self.ns))
        kind = self.choice(["mul", "add", "fill", "clamp", "setitem", "sub_div"], "inplace")
        if kind == "mul":
            s = self.choice(SCALARS)
            self.stmt(f"{view_g}.mul_({s})", f"{view_n}[...] *= {s}")
        elif kind == "add":
            y = self.operand_for(vshape, exact=True, exclude=self.writable | self.shared | {t})
            self.stmt(f"{view_g}.add_({y})", f"{view_n}[...] += {y}")
        elif kind == "fill":
            self.stmt(f"{view_g}.fill_(0.25)", f"{view_n}[...] = 0.25")
        elif kind == "clamp":
            self.stmt(f"{view_g}.clamp_(-1.0, 1.0)", f"{view_n}[...] = np.clip({view_n}, -1.0, 1.0)")
        elif kind == "setitem" and len(vshape) >= 1:
            i = self.integer(-vshape[0], vshape[0] - 1, "index")
            self.stmt(f"{view_g}[{i}] = -0.5", f"{view_n}[{i}] = -0.5")
        else:
            y = self.operand_for(vshape, exact=True, exclude=self.writable | self.shared | {t})
            self.stmt(f"{view_g}.sub_({y}).div_(2.0)", f"{view_n}[...] -= {y}; {view_n}[...] /= 2.0")
        return t

    # -- the program -----------------------------------------------------------------
    def program(self, max_outputs: int = 2) -> Program:
        self.new_input(self.random_shape(0, 3))
        families = [self.op_unary, self.op_binary, self.op_reduce, self.op_row, self.op_matmul, self.op_view,
                    self.op_index, self.op_inplace]
        for _ in range(self.integer(1, 7, "steps")):
            family = self.choice(range(len(families)), "family")
            families[family]()
        last = self.values[-1]
        others = [n for n in self.values if n != last and n.startswith("v")]
        two = max_outputs > 1 and others and self.flag("two outputs")
        outs = [last] + ([self.choice(others, "extra output")] if two else [])
        if self.mode == "mutate":
            outs = list(dict.fromkeys(outs))
        return Program(self.mode, self.dtype, self.inputs, self.consts, self.g_lines, self.n_lines, outs)


def _broadcast(a, b):
    try:
        return tuple(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        return None


class Program:
    """A drawn program: graphc source, numpy source, inputs, constants and outputs."""

    def __init__(self, mode, dtype, inputs, consts, g_lines, n_lines, outputs):
        self.mode, self.dtype = mode, dtype
        self.inputs, self.consts = inputs, consts
        self.g_lines, self.n_lines, self.outputs = g_lines, n_lines, outputs

    def graphc_source(self) -> str:
        args = ", ".join(n for n, _ in self.inputs)
        body = self.g_lines + [f"return [{', '.join(self.outputs)}]"]
        return f"def prog({args}):\n" + "\n".join("    " + b for b in body) + "\n"

    def numpy_source(self) -> str:
        args = ", ".join(n for n, _ in self.inputs)
        body = self.n_lines + [f"return [np.array(o, dtype=np.float64) for o in ({', '.join(self.outputs)},)]"]
        return f"def ref({args}):\n" + "\n".join("    " + b for b in body) + "\n"

    def __repr__(self) -> str:
        consts = "\n".join(f"C[{i}] = {c.tolist()!r}" for i, c in enumerate(self.consts))
        shapes = ", ".join(f"{n}: {list(s)}" for n, s in self.inputs)
        return f"\n# {self.mode}, {self.dtype}; inputs {shapes}\n{consts}\n{self.graphc_source()}\n{self.numpy_source()}"
