"""Element types of the IR and PyTorch's type-promotion rules.

A :class:`DType` is a small immutable value shared by every layer: the IR
uses its short name in printed graphs (``f32``), backends map it to their own
storage type (``numpy_dtype`` here), and the frontend re-exports the
instances as ``graphc.float32`` and friends.

Promotion follows PyTorch (``torch.result_type``): operands are ranked by
*category* (bool < integer < floating < complex) and by *priority* (tensors with
dimensions > zero-dim tensors > Python scalars).  A lower-priority operand
only changes the result when its category is higher, so ``int32_tensor + 1``
stays int32 while ``int32_tensor + 1.5`` becomes the default float (float32),
and ``float64_tensor + 1j`` becomes complex128 (a complex operand of lower
priority keeps the higher group's precision, as PyTorch's ``combine_categories``).

Complex dtypes (``complex64``, ``complex128``) hold a pair of real numbers of
their *real dtype* (``float32``, ``float64``); ``to_real``/``to_complex`` map
between the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DType",
    "bool_",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "ALL_DTYPES",
    "to_real",
    "to_complex",
    "default_complex",
    "by_name",
    "from_numpy",
    "promote_types",
    "result_type",
    "default_float",
    "set_default_float",
]

# Categories, ordered: a higher number wins across priorities.
BOOL, INTEGER, FLOATING, COMPLEX = 0, 1, 2, 3


@dataclass(frozen=True, eq=False)
class DType:
    """An element type.

    ``name`` is PyTorch's (``float32``), ``short`` the printed IR form
    (``f32``), ``category`` one of BOOL/INTEGER/FLOATING/COMPLEX, ``itemsize`` in
    bytes. ``numpy_dtype`` is the type the numpy backend stores it in
    (bfloat16 has none in numpy, so it is stored as float32 and rounded).
    """

    name: str
    short: str
    category: int
    itemsize: int
    numpy_dtype: np.dtype
    signed: bool = True

    # The category tests are plain attributes, set once here: the dispatcher reads them on every
    # op, and an attribute read costs a fraction of a property call.
    is_floating_point: bool = field(init=False, repr=False)
    is_bool: bool = field(init=False, repr=False)
    is_integer: bool = field(init=False, repr=False)
    is_signed: bool = field(init=False, repr=False)
    is_complex: bool = field(init=False, repr=False)
    #: Floating or complex: the dtypes autograd tracks (PyTorch's ``isDifferentiableType``).
    is_differentiable: bool = field(init=False, repr=False)

    def __post_init__(self):
        category = self.category
        for name, value in (
            ("is_floating_point", category == FLOATING),
            ("is_bool", category == BOOL),
            ("is_integer", category == INTEGER),
            ("is_signed", self.signed),
            ("is_complex", category == COMPLEX),
            ("is_differentiable", category >= FLOATING),
        ):
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        return f"graphc.{self.name}"

    def to_real(self) -> "DType":
        """The real dtype of a complex one (``complex64.to_real()`` is float32), else itself."""
        return to_real(self)

    def to_complex(self) -> "DType":
        """The complex dtype of a float one (``float64.to_complex()`` is complex128; half
        precision gives complex64, as graphc has no complex32)."""
        return to_complex(self)

    __str__ = __repr__

    def __reduce__(self):
        return (by_name, (self.name,))


bool_ = DType("bool", "bool", BOOL, 1, np.dtype(np.bool_), signed=False)
uint8 = DType("uint8", "u8", INTEGER, 1, np.dtype(np.uint8), signed=False)
int8 = DType("int8", "i8", INTEGER, 1, np.dtype(np.int8))
int16 = DType("int16", "i16", INTEGER, 2, np.dtype(np.int16))
int32 = DType("int32", "i32", INTEGER, 4, np.dtype(np.int32))
int64 = DType("int64", "i64", INTEGER, 8, np.dtype(np.int64))
float16 = DType("float16", "f16", FLOATING, 2, np.dtype(np.float16))
bfloat16 = DType("bfloat16", "bf16", FLOATING, 2, np.dtype(np.float32))
float32 = DType("float32", "f32", FLOATING, 4, np.dtype(np.float32))
float64 = DType("float64", "f64", FLOATING, 8, np.dtype(np.float64))
complex64 = DType("complex64", "c64", COMPLEX, 8, np.dtype(np.complex64))
complex128 = DType("complex128", "c128", COMPLEX, 16, np.dtype(np.complex128))

ALL_DTYPES = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64, complex64, complex128)

_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NAME.update(
    {
        "float": float32,
        "double": float64,
        "half": float16,
        "int": int32,
        "long": int64,
        "short": int16,
        "bool_": bool_,
        "cfloat": complex64,
        "cdouble": complex128,
    }
)
_BY_NUMPY = {
    np.dtype(np.bool_): bool_,
    np.dtype(np.uint8): uint8,
    np.dtype(np.int8): int8,
    np.dtype(np.int16): int16,
    np.dtype(np.int32): int32,
    np.dtype(np.int64): int64,
    np.dtype(np.float16): float16,
    np.dtype(np.float32): float32,
    np.dtype(np.float64): float64,
    np.dtype(np.complex64): complex64,
    np.dtype(np.complex128): complex128,
}


def by_name(name: str) -> DType:
    """The dtype called ``name`` (PyTorch's names and aliases: 'float', 'long', ...)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise TypeError(f"unknown dtype name {name!r}; expected one of {sorted(_BY_NAME)}") from None


def from_numpy(dt) -> DType:
    """The dtype that stores numpy dtype ``dt`` (float64 for numpy's float64, ...)."""
    dt = np.dtype(dt)
    try:
        return _BY_NUMPY[dt]
    except KeyError:
        raise TypeError(
            f"numpy dtype {dt} has no graphc equivalent; supported: "
            f"{', '.join(str(k) for k in _BY_NUMPY)}"
        ) from None


_default_float = float32


def default_float() -> DType:
    """The dtype Python floats and float factories produce (float32 unless changed)."""
    return _default_float


def default_complex() -> DType:
    """The complex dtype of Python complex numbers: complex128 when the default float is
    float64, else complex64 (PyTorch's ``get_default_complex_dtype``)."""
    return complex128 if _default_float is float64 else complex64


def to_real(d: DType) -> DType:
    """The real dtype of complex ``d`` (complex64 -> float32); other dtypes are their own."""
    return {complex64: float32, complex128: float64}.get(d, d)


def to_complex(d: DType) -> DType:
    """The complex dtype whose parts are float ``d`` (float64 -> complex128; half precision and
    float32 -> complex64, graphc has no complex32); complex dtypes are their own."""
    if d.is_complex:
        return d
    return complex128 if d is float64 else complex64


def set_default_float(dt: DType) -> None:
    global _default_float
    if not dt.is_floating_point:
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dt}")
    _default_float = dt


def promote_types(a: DType, b: DType) -> DType:
    """The smallest dtype both ``a`` and ``b`` convert to without loss (PyTorch's table)."""
    if a is b:
        return a
    if a.is_complex or b.is_complex:
        # complex wins; its precision is the wider of the two parts (float64 + complex64 -> complex128)
        wide = [to_real(d) for d in (a, b) if d.category >= FLOATING]
        return complex128 if any(d is float64 for d in wide) else complex64
    if a.category != b.category:
        hi, lo = (a, b) if a.category > b.category else (b, a)
        if hi.category == FLOATING or lo.category == BOOL:
            return hi
    if a.is_bool:
        return b
    if b.is_bool:
        return a
    if a.is_floating_point and b.is_floating_point:
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a.itemsize > b.itemsize else b
    # Both integers: numpy's rule matches PyTorch's (uint8 + int8 -> int16).
    return _BY_NUMPY[np.promote_types(a.numpy_dtype, b.numpy_dtype)]


def _combine(higher: DType | None, lower: DType | None) -> DType | None:
    """PyTorch's combine_categories: a lower-priority group wins only by category."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.is_complex:
        return higher
    if lower.is_complex:
        # a complex operand of lower priority keeps a floating group's precision
        return to_complex(higher) if higher.is_floating_point else lower
    if higher.is_floating_point:
        return higher
    if higher.is_bool or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def _scalar_dtype(value) -> DType:
    if isinstance(value, (bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    if isinstance(value, (float, np.floating)):
        return _default_float
    if isinstance(value, (complex, np.complexfloating)):
        return default_complex()
    raise TypeError(f"expected a number, got {type(value).__name__}")


def result_type(*operands) -> DType:
    """The dtype of an elementwise op over ``operands``.

    Each operand is either a Python scalar (weak) or an object with ``dtype``
    and ``shape`` (a tensor, a tracer, an IR node). Zero-dim tensors rank
    below tensors with dimensions, as in PyTorch.
    """
    dim_result = zero_result = scalar_result = None
    traced_number = False
    for op in operands:
        weak = getattr(type(op), "weak_scalar", None)  # a traced Python number: promotes as one
        if weak is not None:
            traced_number = True
            dt = _scalar_dtype(weak)
            scalar_result = dt if scalar_result is None else promote_types(scalar_result, dt)
        elif isinstance(getattr(op, "dtype", None), DType) and hasattr(op, "shape"):  # numpy scalars are weak
            dt = op.dtype
            if len(op.shape) > 0:
                dim_result = dt if dim_result is None else promote_types(dim_result, dt)
            else:
                zero_result = dt if zero_result is None else promote_types(zero_result, dt)
        else:
            dt = _scalar_dtype(op)
            scalar_result = dt if scalar_result is None else promote_types(scalar_result, dt)
    if traced_number and dim_result is None and zero_result is None:
        # Python numbers only, one of them traced (a learning rate read per call): Python's
        # arithmetic, in double precision, as the untraced numbers would compute it
        return {FLOATING: float64, COMPLEX: complex128}.get(scalar_result.category, scalar_result)
    out = _combine(dim_result, _combine(zero_result, scalar_result))
    if out is None:
        raise TypeError("result_type: expected at least one operand")
    return out
