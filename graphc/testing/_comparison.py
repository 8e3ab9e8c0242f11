"""``assert_close``: PyTorch's closeness check of tensors, numpy arrays, Python scalars and nested
sequences/mappings of them, with its default tolerances per dtype and its mismatch messages.

The comparison runs on host numpy copies of the values; a tensor pair must agree on shape and
(by default) dtype and device first, as in PyTorch.
"""

from __future__ import annotations

import collections.abc
import warnings

import numpy as np

from ir import dtypes as dt

from .._factories import tensor
from .._tensor import Tensor

__all__ = ["assert_close", "assert_allclose"]

# (rtol, atol) per dtype: PyTorch's table; integer and bool dtypes compare for equality.
_DEFAULT_TOLERANCES = {
    dt.float16: (1e-3, 1e-5),
    dt.bfloat16: (1.6e-2, 1e-5),
    dt.float32: (1.3e-6, 1e-5),
    dt.float64: (1e-7, 1e-7),
    dt.complex64: (1.3e-6, 1e-5),
    dt.complex128: (1e-7, 1e-7),
}
_PY_SCALAR_DTYPES = {bool: dt.bool_, int: dt.int64, float: dt.float64, complex: dt.complex128}


def _tolerances(*dtypes, rtol, atol):
    if (rtol is None) != (atol is None):
        raise ValueError(
            f"Both 'rtol' and 'atol' must be either specified or omitted, but got no {'rtol' if rtol is None else 'atol'}."
        )
    if rtol is not None:
        return rtol, atol
    tols = [_DEFAULT_TOLERANCES.get(d, (0.0, 0.0)) for d in dtypes]
    return max(r for r, _ in tols), max(a for _, a in tols)


def _mismatch_text(what: str, extra: str, absolute: tuple, relative: tuple) -> str:
    """The report of a failed comparison, worded as PyTorch's (scripts and tests match on it):
    ``absolute``/``relative`` are ``(difference, index or None, tolerance)``."""
    rtol, atol = relative[2], absolute[2]
    exact = rtol == 0 and atol == 0
    lines = [f"{what} are not {'equal' if exact else 'close'}!", "", extra.strip()]
    for kind, (diff, at, tol) in (("absolute", absolute), ("relative", relative)):
        line = f"{kind.title()} difference: {diff}" if at is None else f"Greatest {kind} difference: {diff} at index {at}"
        lines.append(line if exact else f"{line} (up to {tol} allowed)")
    return "\n".join(lines)


class _Mismatch(AssertionError):
    """A failed comparison; ``path`` names the nested item, as PyTorch's message does."""


def _fail(msg: str, path: str):
    if path:
        msg += f"\n\nThe failure occurred for item {path}"
    raise _Mismatch(msg)


def _final_message(generated: str, msg) -> str:
    """A string ``msg`` replaces the message; a callable edits it (item path included)."""
    if isinstance(msg, str):
        return msg
    return msg(generated) if callable(msg) else generated


def _compare_scalars(actual, expected, *, rtol, atol, equal_nan, check_dtype, msg, path):
    if check_dtype and type(actual) is not type(expected):
        _fail(f"The (d)types do not match: {type(actual)} != {type(expected)}.", path)
    rtol, atol = _tolerances(_PY_SCALAR_DTYPES[type(actual)], _PY_SCALAR_DTYPES[type(expected)], rtol=rtol, atol=atol)
    _check_scalar_values(actual, expected, rtol, atol, equal_nan, msg, path)


def _check_scalar_values(actual, expected, rtol, atol, equal_nan, msg, path):
    a, e = complex(actual), complex(expected)
    both_nan = (a != a) and (e != e)
    if a == e or (equal_nan and both_nan) or (np.isfinite(a) and np.isfinite(e) and abs(a - e) <= atol + rtol * abs(e)):
        return
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    text = _mismatch_text("Scalars", f"Expected {expected} but got {actual}.", (abs_diff, None, atol),
                          (rel_diff, None, rtol))
    _fail(text, path)


def _host(x):
    if isinstance(x, Tensor):
        return np.asarray(x.detach()._host()), x.dtype
    return np.asarray(x), dt.from_numpy(np.asarray(x).dtype)


def _compare_tensors(actual, expected, *, rtol, atol, equal_nan, check_device, check_dtype, check_stride, msg,
                     path):
    for attr in ("shape", "device", "dtype"):
        if (attr == "device" and (not check_device or not isinstance(actual, Tensor))) or (attr == "dtype" and not check_dtype):
            continue
        if getattr(actual, attr) != getattr(expected, attr):
            _fail(f"The values for attribute '{attr}' do not match: {getattr(actual, attr)} != "
                  f"{getattr(expected, attr)}.", path)
    if check_stride and isinstance(actual, Tensor) and actual.stride() != expected.stride():
        _fail(f"The values for attribute 'stride()' do not match: {actual.stride()} != {expected.stride()}.", path)
    a, adt = _host(actual)
    e, edt = _host(expected)
    rtol, atol = _tolerances(adt, edt, rtol=rtol, atol=atol)
    common = np.result_type(a.dtype, e.dtype)
    if common == np.bool_ or np.issubdtype(common, np.integer):  # upcast, as PyTorch, to avoid overflow
        common = np.dtype(np.int64)
    a, e = a.astype(common), e.astype(common)
    if a.ndim == 0:
        return _check_scalar_values(a.item(), e.item(), rtol, atol, equal_nan, msg, path)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        matches = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan) if common.kind in "fc" else a == e
        if matches.all():
            return
        abs_diff = np.abs(a - e).reshape(-1)
        rel_type = abs_diff.dtype if abs_diff.dtype.kind == "f" else np.float32
        rel_diff = (abs_diff / np.abs(e).reshape(-1)).astype(rel_type)
    flat = matches.reshape(-1)
    abs_diff[flat] = 0
    rel_diff[flat] = 0
    ia, ir = _argmax_nan(abs_diff), _argmax_nan(rel_diff)
    n, bad = flat.size, int((~flat).sum())
    where = lambda i: tuple(int(k) for k in np.unravel_index(i, a.shape))  # noqa: E731
    text = _mismatch_text("Tensor-likes", f"Mismatched elements: {bad} / {n} ({bad / n:.1%})",
                          (abs_diff[ia].item(), where(ia), atol), (rel_diff[ir].item(), where(ir), rtol))
    _fail(text, path)


def _argmax_nan(x):
    """The index of the largest value, NaN counting as largest (as torch.max)."""
    nans = np.flatnonzero(np.isnan(x)) if x.dtype.kind == "f" else ()
    return int(nans[0]) if len(nans) else int(np.argmax(x))


def _is_tensor_like(x) -> bool:
    return isinstance(x, (Tensor, np.ndarray))


def _compare(actual, expected, path, options):
    if isinstance(actual, Tensor) and isinstance(expected, Tensor):
        if not options["allow_subclasses"] and type(actual) is not type(expected):
            raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")
        return _compare_tensors(actual, expected, path=path, **_without(options, "allow_subclasses"))
    if isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray):
        return _compare_tensors(actual, expected, path=path, **_without(options, "allow_subclasses"))
    scalar = (bool, int, float, complex)
    if isinstance(actual, scalar) and isinstance(expected, scalar):
        keep = {k: options[k] for k in ("rtol", "atol", "equal_nan", "check_dtype", "msg")}
        return _compare_scalars(actual, expected, path=path, **keep)
    if _is_tensor_like(actual) or _is_tensor_like(expected):
        raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        if set(actual) != set(expected):
            missing = sorted(set(expected) - set(actual), key=repr)
            extra = sorted(set(actual) - set(expected), key=repr)
            _fail(f"The keys of the mappings do not match:\nMissing keys in the actual mapping: {missing}\n"
                  f"Additional keys in the actual mapping: {extra}", path)
        for key in expected:
            _compare(actual[key], expected[key], f"{path}[{key!r}]", options)
        return None
    seq = collections.abc.Sequence
    if isinstance(actual, seq) and isinstance(expected, seq) and not isinstance(actual, str) and not isinstance(expected, str):
        if len(actual) != len(expected):
            _fail(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", path)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{path}[{i}]", options)
        return None
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")


def _without(d, key):
    return {k: v for k, v in d.items() if k != key}


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol=None, atol=None, equal_nan: bool = False,
                 check_device: bool = True, check_dtype: bool = True, check_layout: bool = True,
                 check_stride: bool = False, msg=None) -> None:
    """Assert that ``actual`` and ``expected`` are close: ``|actual - expected| <= atol + rtol * |expected|``
    elementwise, after checking shape, and by default dtype and device.

    Tolerances default per dtype as PyTorch's (float32: rtol 1.3e-6, atol 1e-5; float64: 1e-7,
    1e-7; float16: 1e-3, 1e-5; bfloat16: 1.6e-2, 1e-5; integers and bool: equality); give both
    or neither. Inputs may be tensors, numpy arrays, Python scalars, or sequences and mappings of
    them, compared item by item. ``msg`` replaces the failure message (a string) or edits it (a
    callable). ``check_layout`` is accepted: graphc tensors are strided.

    >>> graphc.testing.assert_close(graphc.tensor([1.0, 2.0]), graphc.tensor([1.0, 2.0 + 1e-7]))
    """
    options = dict(allow_subclasses=allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan,
                   check_device=check_device, check_dtype=check_dtype, check_stride=check_stride, msg=msg)
    try:
        _compare(actual, expected, "", options)
    except _Mismatch as err:
        raise AssertionError(_final_message(str(err), msg)) from None


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan: bool = True, msg: str = "") -> None:
    """Deprecated since PyTorch 1.12: :func:`assert_close` without the dtype check, ``expected``
    converted to ``actual``'s type, NaNs equal by default."""
    warnings.warn(
        "`graphc.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a future release. Please use "
        "`graphc.testing.assert_close()` instead. You can find detailed upgrade instructions in "
        "https://github.com/pytorch/pytorch/issues/61844.",
        FutureWarning,
        stacklevel=2,
    )
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = _tolerances(actual.dtype, expected.dtype, rtol=None, atol=None)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True, check_dtype=False,
                 check_stride=False, msg=msg or None)
