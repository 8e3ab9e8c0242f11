"""Tensor ``repr`` formatting that reproduces PyTorch 2.x output.

graphc aims to be a drop-in look-alike of PyTorch, and users (and doctests,
tutorials, notebooks) compare printed tensors character for character.  This
module therefore re-implements the algorithm of PyTorch's
``torch/_tensor_str.py`` on top of plain numpy arrays, including its quirks
(for example the slightly odd line-length bookkeeping used when deciding
whether to wrap suffixes, or the fact that ``nan`` is never padded in a
tensor whose finite values are all integers).

The only intentional textual difference from PyTorch is that dtypes are
spelled ``graphc.float64`` rather than ``torch.float64``.

Public API
----------
``format_tensor(values, dtype_name, *, is_default_float=False, suffixes=(),
printoptions=None)``
    Render a numpy array the way ``repr(torch_tensor)`` would.
``set_printoptions(...)`` / ``get_printoptions()``
    Module-level print options mirroring ``torch.set_printoptions``.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["format_tensor", "set_printoptions", "get_printoptions"]


# ---------------------------------------------------------------------------
# Print options
# ---------------------------------------------------------------------------

#: The values PyTorch starts with (``profile="default"``).
_DEFAULT_OPTIONS: dict[str, Any] = {
    "precision": 4,
    "threshold": 1000,
    "edgeitems": 3,
    "linewidth": 80,
    "sci_mode": None,
}

#: Named profiles accepted by ``set_printoptions(profile=...)``.  Note that,
#: as in PyTorch, a profile never touches ``sci_mode``.
_PROFILES: dict[str, dict[str, Any]] = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}

#: The current global options (module-level state, like ``torch``'s PRINT_OPTS).
_PRINT_OPTS: dict[str, Any] = dict(_DEFAULT_OPTIONS)


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set global options for printing tensors (mirrors ``torch.set_printoptions``).

    Args:
        precision: digits after the decimal point for floats (default 4).
        threshold: number of elements above which the output is summarized
            with ``...`` (default 1000).
        edgeitems: items shown at the beginning and end of each summarized
            dimension (default 3).
        linewidth: characters per line used for wrapping (default 80).
        profile: ``"default"``, ``"short"`` or ``"full"``; applied first, the
            other explicit arguments then override it.
        sci_mode: force (True) or forbid (False) scientific notation; ``None``
            lets the formatter decide.  Exactly like PyTorch, this argument is
            *always* assigned, so calling ``set_printoptions(precision=2)``
            resets a previously forced ``sci_mode`` back to ``None``.
    """
    if profile is not None:
        if profile not in _PROFILES:
            # PyTorch silently ignores unknown profiles; being loud here is
            # friendlier and has no effect on printed output.
            raise ValueError(
                f"unknown print profile {profile!r}; expected one of {sorted(_PROFILES)}"
            )
        _PRINT_OPTS.update(_PROFILES[profile])
    if precision is not None:
        _PRINT_OPTS["precision"] = precision
    if threshold is not None:
        _PRINT_OPTS["threshold"] = threshold
    if edgeitems is not None:
        _PRINT_OPTS["edgeitems"] = edgeitems
    if linewidth is not None:
        _PRINT_OPTS["linewidth"] = linewidth
    _PRINT_OPTS["sci_mode"] = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Return a copy of the current global print options as a dict."""
    return dict(_PRINT_OPTS)


def _resolve_options(printoptions: dict | None) -> dict[str, Any]:
    """Merge per-call ``printoptions`` over the current global options.

    Keys that are missing from ``printoptions`` fall back to the module-level
    state (which itself defaults to PyTorch's defaults).
    """
    opts = dict(_PRINT_OPTS)
    if printoptions:
        unknown = set(printoptions) - set(_DEFAULT_OPTIONS)
        if unknown:
            raise TypeError(f"unknown print option(s): {sorted(unknown)}")
        opts.update(printoptions)
    return opts


# ---------------------------------------------------------------------------
# dtype handling
# ---------------------------------------------------------------------------

_FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})

#: numpy dtype used to hold the values of each graphc dtype while printing.
#: float16/bfloat16 are widened to float32 because PyTorch does the same
#: (``self.float()``) before formatting.
_NUMPY_DTYPES: dict[str, Any] = {
    "bool": np.bool_,
    "uint8": np.uint8,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "float16": np.float32,
    "bfloat16": np.float32,
    "float32": np.float32,
    "float64": np.float64,
    "complex64": np.complex64,
    "complex128": np.complex128,
}
_COMPLEX_DTYPES = frozenset({"complex64", "complex128"})


def _has_default_dtype(dtype_name: str, is_default_float: bool) -> bool:
    """Whether PyTorch would omit the ``dtype=`` suffix for a non-empty tensor.

    PyTorch omits it for the default float dtype, int64 and bool.  The caller
    tells us through ``is_default_float`` whether float32 is the default.
    """
    if dtype_name in ("int64", "bool"):
        return True
    return dtype_name in ("float32", "complex64") and is_default_float


# ---------------------------------------------------------------------------
# Element formatter
# ---------------------------------------------------------------------------


class _Formatter:
    """Decides how every element of one tensor is rendered and how wide it is.

    PyTorch inspects the (possibly summarized) data once, picks one of three
    float styles -- integer style (``1.``), fixed (``0.1827``) or scientific
    (``1.6591e-42``) -- and a common width so that all elements line up.
    Only *finite, nonzero* values take part in that decision; ``0``, ``nan``
    and ``inf`` are merely padded (or not, if they are wider) afterwards.
    """

    def __init__(self, data: np.ndarray, is_float: bool, opts: dict[str, Any]):
        self.is_float = is_float
        self.precision = opts["precision"]
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1

        flat = data.reshape(-1)
        if not is_float:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(str(value)))
            return

        nonzero_finite = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero_finite.size == 0:
            # Nothing to infer a style from.  PyTorch returns early here, which
            # also means a forced ``sci_mode`` option is *not* applied.
            return

        # Magnitude statistics are computed in double precision (float16
        # would overflow at 1e8), as PyTorch does.
        abs_vals = np.abs(nonzero_finite.astype(np.float64))
        vmin = float(abs_vals.min())
        vmax = float(abs_vals.max())
        self.int_mode = bool(np.all(nonzero_finite == np.ceil(nonzero_finite)))
        values = nonzero_finite.tolist()
        p = self.precision

        # A forced sci_mode option decides the style before the widths are measured (PyTorch
        # 2.13), so the padding is that of the style actually printed.
        if opts["sci_mode"] is not None:
            self.sci_mode = bool(opts["sci_mode"])
        else:
            self.sci_mode = vmax / vmin > 1000.0 or vmax > 1.0e8 or (not self.int_mode and vmin < 1.0e-4)
        if self.sci_mode:
            widths = (len(f"{v:.{p}e}") for v in values)
        elif self.int_mode:  # all integers: print like ``3.``; the "+1" accounts for the dot
            widths = (len(f"{v:.0f}") + 1 for v in values)
        else:
            widths = (len(f"{v:.{p}f}") for v in values)
        self.max_width = max(self.max_width, max(widths))

    def width(self) -> int:
        return self.max_width

    def format(self, value: Any) -> str:
        """Render one Python scalar, right-aligned to the common width."""
        p = self.precision
        if self.is_float:
            if self.sci_mode:
                text = f"{value:{self.max_width}.{p}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    text += "."
            else:
                text = f"{value:.{p}f}"
        else:
            text = str(value)
        return " " * (self.max_width - len(text)) + text


class _ComplexFormatter:
    """PyTorch's complex style: one formatter for the real parts, one for the imaginary parts,
    each choosing its own style; an element is ``real`` then the signed imaginary part and ``j``
    (``1.0000+2.j``). The width counts both parts and the ``j``; the imaginary text is not padded."""

    def __init__(self, data: np.ndarray, opts: dict[str, Any]):
        self.real = _Formatter(np.ascontiguousarray(data.real), True, opts)
        self.imag = _Formatter(np.ascontiguousarray(data.imag), True, opts)

    def width(self) -> int:
        return self.real.width() + self.imag.width() + 1

    def format(self, value: Any) -> str:
        value = complex(value)
        real = self.real.format(value.real)
        imag = (self.imag.format(value.imag) + "j").lstrip()
        return real + imag if imag[0] in "+-" else real + "+" + imag


# ---------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------


def _summarized_data(arr: np.ndarray, edgeitems: int) -> np.ndarray:
    """Keep only the elements that will actually be shown when summarizing.

    The formatter must only look at visible elements (a huge hidden value
    must not force scientific notation), so along every axis longer than
    ``2 * edgeitems`` we keep the first and last ``edgeitems`` entries.
    """
    for axis in range(arr.ndim):
        n = arr.shape[axis]
        if n > 2 * edgeitems:
            idx = list(range(n))
            keep = idx[:edgeitems] + idx[-edgeitems:]
            arr = np.take(arr, keep, axis=axis)
    return arr


def _vector_str(
    vec: np.ndarray, indent: int, summarize: bool, fmt: _Formatter, opts: dict[str, Any]
) -> str:
    """Render a 1-d slice, wrapping it into lines of equal item count.

    The number of items per line is derived from the common element width
    (plus ``", "``) and the space left after ``indent``; continuation lines
    are indented by ``indent + 1`` so they line up after the ``[``.
    """
    element_length = fmt.width() + 2
    per_line = max(1, int(math.floor((opts["linewidth"] - indent) / element_length)))
    edge = opts["edgeitems"]

    if summarize and vec.shape[0] > 2 * edge:
        items = vec.tolist()
        data = (
            [fmt.format(v) for v in items[:edge]]
            + [" ..."]
            + [fmt.format(v) for v in items[-edge:]]
        )
    else:
        data = [fmt.format(v) for v in vec.tolist()]

    lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(
    arr: np.ndarray, indent: int, summarize: bool, fmt: _Formatter, opts: dict[str, Any]
) -> str:
    """Recursively render ``arr`` (ndim >= 1) with PyTorch's bracket layout.

    Sub-tensors of an n-d tensor are separated by ``",`` followed by
    ``n - 1`` newlines (so 3-d+ tensors get blank lines between slices) and
    an indentation of ``indent + 1``.
    """
    if arr.ndim == 1:
        return _vector_str(arr, indent, summarize, fmt, opts)

    n = arr.shape[0]
    edge = opts["edgeitems"]
    if summarize and n > 2 * edge:
        idx = list(range(n))
        slices = (
            [_nested_str(arr[i], indent + 1, summarize, fmt, opts) for i in idx[:edge]]
            + ["..."]
            + [_nested_str(arr[i], indent + 1, summarize, fmt, opts) for i in idx[-edge:]]
        )
    else:
        slices = [_nested_str(arr[i], indent + 1, summarize, fmt, opts) for i in range(n)]

    sep = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    return "[" + sep.join(slices) + "]"


def _tensor_str(arr: np.ndarray, indent: int, is_float: bool, opts: dict[str, Any]) -> str:
    """Render the contents (no prefix/suffixes) of a non-empty array."""
    summarize = arr.size > opts["threshold"]
    shown = _summarized_data(arr, opts["edgeitems"]) if summarize else arr
    fmt = _ComplexFormatter(shown, opts) if np.iscomplexobj(arr) else _Formatter(shown, is_float, opts)
    if arr.ndim == 0:
        return fmt.format(arr.item())
    return _nested_str(arr, indent, summarize, fmt, opts)


def _add_suffixes(text: str, suffixes: Sequence[str], indent: int, linewidth: int) -> str:
    """Append ``, key=value`` suffixes and the closing parenthesis.

    A suffix that would push the current last line past ``linewidth`` goes
    onto its own line, indented to align with the opening bracket.  The
    ``+ 1`` in the last-line length (which over-counts by two for
    single-line strings) is PyTorch's bookkeeping, kept verbatim so that the
    wrapping decision matches it exactly.
    """
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def format_tensor(
    values: "np.ndarray",
    dtype_name: str,
    *,
    is_default_float: bool = False,
    suffixes: Iterable[str] = (),
    printoptions: dict | None = None,
) -> str:
    """Return the ``repr`` PyTorch would print for a tensor holding ``values``.

    Args:
        values: numpy array (any shape, including 0-d and size 0) with the
            tensor's values.  For bfloat16 pass the values as float32.
        dtype_name: one of ``bool, uint8, int8, int16, int32, int64,
            float16, bfloat16, float32, float64``.
        is_default_float: True when float32 is the default floating dtype, in
            which case a float32 (or complex64) tensor gets no ``dtype=`` suffix.
            (int64 and bool never get one for non-empty tensors; all others
            always do. Empty tensors show every dtype but the default float.)
        suffixes: extra ``key=value`` strings, appended in order.  Any
            ``device=...`` entries are placed *before* the dtype suffix,
            because that is where PyTorch prints the device
            (``tensor([1, 2], device='cuda:0', dtype=torch.int32)``); all
            other entries follow the dtype suffix.
        printoptions: optional per-call overrides of the global print options
            (keys ``precision``, ``threshold``, ``edgeitems``, ``linewidth``,
            ``sci_mode``).

    Returns:
        e.g. ``"tensor([[1., 1.],\\n        [1., 1.]], requires_grad=True)"``.
    """
    if dtype_name not in _NUMPY_DTYPES:
        raise ValueError(f"unsupported dtype for printing: {dtype_name!r}")
    opts = _resolve_options(printoptions)
    arr = np.asarray(values).astype(_NUMPY_DTYPES[dtype_name], copy=False)
    is_float = dtype_name in _FLOAT_DTYPES

    prefix = "tensor("
    indent = len(prefix)
    extra = list(suffixes)
    all_suffixes = [s for s in extra if s.startswith("device=")]
    dtype_suffix = f"dtype=graphc.{dtype_name}"

    if arr.size == 0:
        # An empty tensor shows its shape unless it is plain 1-d, and, since
        # no element can hint at the dtype, shows every dtype except the
        # default float one (so empty int64/bool tensors *do* get a suffix).
        if arr.ndim != 1:
            all_suffixes.append("size=" + str(tuple(int(d) for d in arr.shape)))
        if not (dtype_name == "float32" and is_default_float):
            all_suffixes.append(dtype_suffix)
        body = "[]"
    else:
        if not _has_default_dtype(dtype_name, is_default_float):
            all_suffixes.append(dtype_suffix)
        body = _tensor_str(arr, indent, is_float, opts)

    all_suffixes.extend(s for s in extra if not s.startswith("device="))
    return _add_suffixes(prefix + body, all_suffixes, indent, opts["linewidth"])
