"""``graphc.save`` / ``graphc.load``: tensors and plain data in a format that holds no code.

A file is a zip archive with

* ``graphc.json`` — the object tree as JSON: dicts (any JSON-able keys, order
  kept), lists, tuples, numbers, strings, None, dtypes and devices, and tensor
  references ``{"$tensor": i, "dtype": ..., "requires_grad": ...}``;
* ``tensors/<i>.npy`` — each tensor's values as a ``.npy`` array, read back
  with ``allow_pickle=False``.

Tensors that share memory (a tensor and its views, or several views of one
base) are saved once as the span of their storage they cover, and each entry
records ``"view": {"ref", "offset", "shape", "stride"}`` into it (archive
version 2): they load as views of one new storage, so a write through one shows
in the others, as with ``torch.load``. Known differences from PyTorch: a tensor
whose memory no other saved tensor shares is saved compactly, as its values
(a saved ``x.t()`` or a view of a large base reloads contiguous, and the file
holds only the view's elements), and a loaded view's ``storage_offset()``
counts from the saved span, not the original storage.

Loading never unpickles: anything that is not such an archive is refused with
a :class:`~ir.errors.GraphcError`. ``weights_only`` is accepted for PyTorch
compatibility (loading is always weights-only). Modules and optimizers are
saved through their ``state_dict()``.

>>> graphc.save(net.state_dict(), "net.pt")
>>> net.load_state_dict(graphc.load("net.pt", weights_only=True))
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from collections import OrderedDict

import numpy as np

from ir import dtypes as dt
from ir.errors import SerializationError
from ir.ops.windows import storage_root

from ._factories import _from_array, as_tensor
from ._tensor import Size, Tensor
from .device import as_device, backend_for
from .device import device as _device
from .nn.modules.module import Module
from .nn.parameter import Parameter

__all__ = ["save", "load", "SerializationError"]

_FORMAT = "graphc.save"
_VERSION = 2  # 2 adds "view" entries; an archive without any is written as version 1
_MANIFEST = "graphc.json"





class _Writer:
    def __init__(self):
        self.arrays: list[np.ndarray] = []
        self.index: dict[int, dict] = {}  # id(tensor) -> its entry in the tree
        self.tensors: list[Tensor] = []
        self.order: dict[int, int] = {}  # id(tensor) -> its position in self.tensors
        self.has_views = False

    def encode(self, obj, path="obj"):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return obj
        if isinstance(obj, float):
            if math.isfinite(obj):
                return obj
            return {"$float": repr(obj)}
        if isinstance(obj, np.generic):
            return self.encode(obj.item(), path)
        if isinstance(obj, Tensor):
            return self._tensor(obj, path)
        if isinstance(obj, dt.DType):
            return {"$dtype": obj.name}
        if isinstance(obj, _device):
            return {"$device": str(obj)}
        if isinstance(obj, Size):
            return {"$size": list(obj)}
        if isinstance(obj, np.ndarray):
            return {"$ndarray": self._tensor(as_tensor(obj), path)}
        if isinstance(obj, dict):
            tag = "$odict" if isinstance(obj, OrderedDict) else "$dict"
            return {tag: [[self.encode(k, f"{path} key"), self.encode(v, f"{path}[{k!r}]")] for k, v in obj.items()]}
        if isinstance(obj, tuple):
            return {"$tuple": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return {"$list": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
        hint = " Save its state_dict() instead." if isinstance(obj, Module) or hasattr(obj, "state_dict") else ""
        raise SerializationError(
            f"graphc.save: cannot save {path} of type {type(obj).__module__}.{type(obj).__qualname__}: only tensors, "
            f"numbers, strings, None, dtypes, devices and dicts/lists/tuples of them can be saved.{hint}"
        )

    def _tensor(self, t: Tensor, path: str):
        """The tensor's entry; its array index is filled in by ``finish`` once every tensor is
        known (tensors sharing a storage share one array)."""
        t._need_data("graphc.save")
        key = id(t)
        if key not in self.index:
            self.order[key] = len(self.tensors)
            self.tensors.append(t)
            self.index[key] = {
                "$tensor": None,
                "dtype": t.dtype.name,
                # a non-leaf reloads as a leaf that requires grad, as torch.load
                "requires_grad": bool(t.requires_grad),
                "parameter": isinstance(t, Parameter),
                "device": str(t.device),
            }
        return self.index[key]

    def finish(self) -> None:
        """Assign arrays: one per group of tensors sharing a storage, one per other tensor."""
        groups: dict[int, list[Tensor]] = {}
        for t in self.tensors:
            if _flat_storage(t._data) is not None:
                groups.setdefault(id(storage_root(t._data)), []).append(t)
        shared = {id(t): g for g in groups.values() if len(g) > 1 for t in g}
        done: set[int] = set()
        for t in self.tensors:
            group = shared.get(id(t))
            if group is None:
                self.index[id(t)]["$tensor"] = len(self.arrays)
                self.arrays.append(np.array(t._host(), order="C", copy=True))
            elif id(group[0]) not in done:
                done.add(id(group[0]))
                self._shared(group)

    def _shared(self, group: list[Tensor]) -> None:
        flat = _flat_storage(group[0]._data)
        start = flat.__array_interface__["data"][0]
        views = []
        for t in group:
            a = t._data
            offset = (a.__array_interface__["data"][0] - start) // a.itemsize
            stride = [st // a.itemsize for st in a.strides]
            extent = offset + sum((n - 1) * st for n, st in zip(a.shape, stride)) + 1 if a.size else offset
            views.append((t, offset, stride, extent))
        lo, hi = min(v[1] for v in views), max(v[3] for v in views)
        i = len(self.arrays)
        self.arrays.append(np.array(flat[lo:hi], copy=True))
        for t, offset, stride, _ in views:
            entry = self.index[id(t)]
            entry["$tensor"] = i
            entry["view"] = {"ref": self.order[id(t)], "offset": offset - lo,
                             "shape": list(t._data.shape), "stride": stride}
        self.has_views = True


def _flat_storage(a) -> np.ndarray | None:
    """The 1-D array of the storage holding host array ``a``, when ``a`` can be described as
    (offset, non-negative element strides) into it; None otherwise (saved as its values)."""
    if not isinstance(a, np.ndarray):
        return None
    root = storage_root(a)
    if root.dtype != a.dtype or any(st < 0 or st % a.itemsize for st in a.strides):
        return None
    if root.flags.c_contiguous:
        return root.reshape(-1)
    if root.flags.f_contiguous:
        return root.T.reshape(-1)
    return None


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True) -> None:
    """Write ``obj`` (tensors, numbers, strings and containers of them) to a path or binary file."""
    if pickle_module is not None:
        raise SerializationError("graphc.save does not pickle; pickle_module is not supported")
    w = _Writer()
    tree = w.encode(obj)
    w.finish()
    version = _VERSION if w.has_views else 1  # older graphc reads what has no views
    manifest = {"format": _FORMAT, "version": version, "arrays": len(w.arrays), "object": tree}
    own = isinstance(f, (str, os.PathLike))
    fh = open(f, "wb") if own else f
    try:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(_MANIFEST, json.dumps(manifest))
            for i, arr in enumerate(w.arrays):
                buf = io.BytesIO()
                np.lib.format.write_array(buf, arr, allow_pickle=False)
                zf.writestr(f"tensors/{i}.npy", buf.getvalue())
    finally:
        if own:
            fh.close()


# Limits a hostile or damaged archive cannot push past: nesting of the object tree (Python's
# recursion would fail deeper), and the bytes of one tensor header.
MAX_DEPTH = 200
_MAX_HEADER = 1 << 16
_ARRAY_KINDS = "biufc"  # bool, signed and unsigned ints, floats, complex: what graphc tensors hold


class _Reader:
    """Rebuilds the object tree; every malformed entry raises SerializationError naming it."""

    def __init__(self, zf: zipfile.ZipFile, map_location, n_arrays: int):
        self.zf = zf
        self.map_location = map_location
        self.n_arrays = n_arrays
        self.cache: dict = {}  # array index, or ("view", ref), -> the tensor loaded for it
        self.storages: dict[int, np.ndarray] = {}
        self.versions: dict = {}  # array index -> the version counter its views share

    def fail(self, path: str, what: str):
        raise SerializationError(f"graphc.load: malformed archive: {path}: {what}")

    def decode(self, obj, path="object", depth=0):
        if depth > MAX_DEPTH:
            self.fail(path, f"nested deeper than {MAX_DEPTH} levels")
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if not isinstance(obj, dict) or not obj:
            self.fail(path, f"unexpected {type(obj).__name__} entry {str(obj)[:60]}")
        if "$tensor" in obj:
            return self._tensor(obj, path)
        if len(obj) != 1:
            self.fail(path, f"an entry must have one tag, got {sorted(obj)[:5]}")
        ((tag, value),) = obj.items()
        handler = self._TAGS.get(tag)
        if handler is None:
            self.fail(path, f"unknown tag {tag[:40]!r}")
        try:
            return handler(self, value, path, depth + 1)
        except SerializationError:
            raise
        except Exception as e:  # noqa: BLE001 - a value the tag's reader refused: the archive's fault
            self.fail(path, f"bad {tag} entry ({type(e).__name__}: {e})")

    def _items(self, value, path, what):
        if not isinstance(value, list):
            self.fail(path, f"{what} must be a list, got {type(value).__name__}")
        return value

    def _float(self, value, path, depth):
        if not isinstance(value, str) or value not in ("inf", "-inf", "nan"):
            self.fail(path, f"$float must be 'inf', '-inf' or 'nan', got {str(value)[:40]!r}")
        return float(value)

    def _dtype(self, value, path, depth):
        return dt.by_name(value)

    def _device_tag(self, value, path, depth):
        if not isinstance(value, str):
            self.fail(path, "$device must be a string")
        return as_device(value)

    def _size(self, value, path, depth):
        sizes = self._items(value, path, "$size")
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in sizes):
            self.fail(path, f"$size must hold non-negative ints, got {str(sizes)[:60]}")
        return Size(sizes)

    def _ndarray(self, value, path, depth):
        if not isinstance(value, dict) or "$tensor" not in value:
            self.fail(path, "$ndarray must hold a tensor entry")
        return np.array(self._tensor(value, path)._host())

    def _pairs(self, value, path, depth):
        out = []
        for j, pair in enumerate(self._items(value, path, "a dict")):
            if not isinstance(pair, list) or len(pair) != 2:
                self.fail(f"{path} item {j}", "a dict item must be a [key, value] pair")
            key = self.decode(pair[0], f"{path} key {j}", depth)
            try:
                hash(key)
            except TypeError:
                self.fail(f"{path} key {j}", f"a dict key must be hashable, got {type(key).__name__}")
            out.append((key, self.decode(pair[1], f"{path}[{key!r}]", depth)))
        return out

    def _dict(self, value, path, depth):
        return dict(self._pairs(value, path, depth))

    def _odict(self, value, path, depth):
        return OrderedDict(self._pairs(value, path, depth))

    def _tuple(self, value, path, depth):
        return tuple(self.decode(v, f"{path}[{j}]", depth) for j, v in enumerate(self._items(value, path, "$tuple")))

    def _list(self, value, path, depth):
        return [self.decode(v, f"{path}[{j}]", depth) for j, v in enumerate(self._items(value, path, "$list"))]

    _TAGS = {
        "$float": _float, "$dtype": _dtype, "$device": _device_tag, "$size": _size, "$ndarray": _ndarray,
        "$dict": _dict, "$odict": _odict, "$tuple": _tuple, "$list": _list,
    }

    def _tensor(self, meta, path):
        i = meta.get("$tensor")
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < self.n_arrays:
            self.fail(path, f"tensor index {str(i)[:20]} is not one of the archive's {self.n_arrays} arrays")
        view = meta.get("view")
        key = i if view is None else ("view", i, view.get("ref") if isinstance(view, dict) else None)
        if key in self.cache:
            return self.cache[key]
        try:
            dtype = dt.by_name(meta.get("dtype"))
        except (TypeError, KeyError):
            self.fail(path, f"unknown dtype {str(meta.get('dtype'))[:40]!r}")
        if i not in self.storages:  # read once: every view of a storage must alias one array
            self.storages[i] = self._array(i, path)
        arr = self.storages[i]
        if view is not None:
            if arr.dtype != dtype.numpy_dtype:
                self.fail(path, f"a {dtype} view of array {i}, which holds {arr.dtype}")
            arr = self._view(arr, view, path)
        elif arr.dtype != dtype.numpy_dtype:
            arr = arr.astype(dtype.numpy_dtype)
        try:
            t = _from_array(arr, dtype)
            if view is not None:  # views of one storage share its version counter, as a base and its views
                t._version = self.versions.setdefault(i, t._version)
            device = self._device(meta.get("device", "cpu"))
            if device is not None and device != t.device:
                t = t.to(device)
            requires_grad = meta.get("requires_grad", False)
            if meta.get("parameter"):
                t = Parameter(t, bool(meta.get("requires_grad", True)))
            elif requires_grad:
                t.requires_grad_(True)
        except SerializationError:
            raise
        except Exception as e:  # noqa: BLE001 - any failure here is the archive's; name the entry
            self.fail(path, f"tensor {i} cannot be rebuilt ({type(e).__name__}: {e})")
        self.cache[key] = t
        return t

    def _view(self, storage: np.ndarray, view, path: str) -> np.ndarray:
        """The strided window ``view`` describes into a 1-D storage, checked to lie inside it."""
        ok = isinstance(view, dict) and storage.ndim == 1
        fields = [view.get(k) for k in ("offset", "shape", "stride")] if ok else []
        ints = lambda xs: isinstance(xs, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in xs)  # noqa: E731
        if not ok or not ints(fields[:1]) or not ints(fields[1]) or not ints(fields[2]) or len(fields[1]) != len(fields[2]):
            self.fail(path, f"bad view entry {str(view)[:80]}")
        offset, shape, stride = fields
        extent = offset + sum((n - 1) * st for n, st in zip(shape, stride)) + 1 if all(shape) else offset
        if extent > storage.size:
            self.fail(path, f"view {str(view)[:80]} reaches past its storage of {storage.size} elements")
        item = storage.itemsize
        return np.lib.stride_tricks.as_strided(storage[offset:], tuple(shape), tuple(st * item for st in stride))

    def _array(self, i: int, path: str) -> np.ndarray:
        """Entry ``tensors/<i>.npy``, its header checked against the entry's size before any
        memory is allocated (a header may claim 10**13 elements)."""
        name = f"tensors/{i}.npy"
        where = f"{path} ({name})"
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            self.fail(where, "the entry is missing")
        with self.zf.open(info) as fh:
            try:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh, max_header_size=_MAX_HEADER)
                elif version in ((2, 0), (3, 0)):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh, max_header_size=_MAX_HEADER)
                else:
                    self.fail(where, f"unsupported .npy version {version}")
            except SerializationError:
                raise
            except Exception as e:  # noqa: BLE001 - numpy's header errors are ValueError, EOFError, ...
                self.fail(where, f"not a .npy array ({type(e).__name__}: {e})")
            if dtype.kind not in _ARRAY_KINDS or dtype.hasobject or dtype.fields is not None:
                self.fail(where, f"arrays of {dtype} cannot be loaded (only bool, integer, float and complex arrays)")
            count = 1
            for n in shape:
                count *= n
            nbytes = count * dtype.itemsize
            available = info.file_size - fh.tell()
            if nbytes != available:
                self.fail(where, f"the header declares {list(shape)} {dtype} ({nbytes} bytes) but the entry holds {available} bytes")
            data = fh.read(nbytes)
        if len(data) != nbytes:
            self.fail(where, f"truncated: {len(data)} of {nbytes} bytes")
        arr = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
        return np.array(arr, order="C")  # writable, owned, row-major

    def _device(self, saved: str):
        loc = self.map_location
        if loc is None:
            return as_device(saved) if saved == "cpu" else _available(saved)
        if isinstance(loc, dict):
            return as_device(loc.get(saved, saved))
        if callable(loc):
            return None
        return as_device(loc)


def _available(saved: str):
    """The saved device if usable here, else CPU (PyTorch would raise; graphc keeps the data)."""
    try:
        d = as_device(saved)
        backend_for(d)
        return d
    except Exception:  # noqa: BLE001 - no CUDA here: load to the CPU
        return as_device("cpu")


def load(f, map_location=None, pickle_module=None, *, weights_only: bool = True, mmap=None, **pickle_load_args):
    """Read an object written by :func:`save` from a path or binary file.

    ``map_location`` ('cpu', a device, or a dict mapping saved to target devices)
    moves tensors as they load. Anything but a graphc archive is refused.
    """
    if pickle_module is not None:
        raise SerializationError("graphc.load never unpickles; pickle_module is not supported")
    own = isinstance(f, (str, os.PathLike))
    fh = open(f, "rb") if own else f
    try:
        obj = _read(fh, map_location, f if own else "the file")
    finally:
        if own:
            fh.close()
    if callable(map_location) and not isinstance(map_location, dict):
        obj = _map_callable(obj, map_location)
    return obj


def _read(fh, map_location, what):
    """The object of the archive in ``fh``; a damaged zip (whatever ``zipfile`` raises for it:
    BadZipFile, NotImplementedError for a bogus version, ValueError, zlib.error...) is a
    SerializationError too."""
    try:
        return _read_zip(fh, map_location, what)
    except (SerializationError, MemoryError):
        raise
    except Exception as e:  # noqa: BLE001 - every other failure comes from the file's bytes
        raise SerializationError(f"graphc.load: {what} is a damaged archive ({type(e).__name__}: {e})") from None


def _read_zip(fh, map_location, what):
    try:
        zf = zipfile.ZipFile(fh, "r")
    except zipfile.BadZipFile:
        raise SerializationError(
            f"graphc.load: {what} is not a graphc archive (graphc.load reads only files "
            "written by graphc.save, and never unpickles; files from torch.save or pickle are refused)"
        ) from None
    with zf:
        if _MANIFEST not in set(zf.namelist()):
            raise SerializationError(
                f"graphc.load: {what} is a zip archive but not a graphc one "
                f"(no {_MANIFEST}); graphc.load never unpickles, so torch.save files are refused"
            )
        try:
            manifest = json.loads(zf.read(_MANIFEST).decode("utf-8"))
        except (ValueError, RecursionError, zipfile.BadZipFile, EOFError, zlib.error) as e:
            raise SerializationError(f"graphc.load: corrupt manifest {_MANIFEST}: {type(e).__name__}: {e}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
            raise SerializationError("graphc.load: not a graphc archive (bad format tag)")
        version, n_arrays = manifest.get("version", 0), manifest.get("arrays")
        if not isinstance(version, int) or version > _VERSION:
            raise SerializationError(
                f"graphc.load: archive version {str(version)[:20]} is not one this graphc reads ({_VERSION})"
            )
        if not isinstance(n_arrays, int) or isinstance(n_arrays, bool) or n_arrays < 0 or "object" not in manifest:
            raise SerializationError(f"graphc.load: malformed archive: {_MANIFEST} lacks 'object' or 'arrays'")
        return _Reader(zf, map_location, n_arrays).decode(manifest["object"])


def _map_callable(obj, fn):
    if isinstance(obj, Tensor):
        r = fn(obj, "cpu")
        return obj if r is None else r
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, _map_callable(v, fn)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: _map_callable(v, fn) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_callable(v, fn) for v in obj)
    return obj
