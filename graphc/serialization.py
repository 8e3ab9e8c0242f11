"""``graphc.save`` / ``graphc.load``: tensors and plain data in a format that holds no code.

A file is a zip archive with

* ``graphc.json`` — the object tree as JSON: dicts (any JSON-able keys, order
  kept), lists, tuples, numbers, strings, None, dtypes and devices, and tensor
  references ``{"$tensor": i, "dtype": ..., "requires_grad": ...}``;
* ``tensors/<i>.npy`` — each tensor's values as a ``.npy`` array, read back
  with ``allow_pickle=False``.

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
from collections import OrderedDict

import numpy as np

from ir import dtypes as dt
from ir.errors import SerializationError

from ._factories import _from_array, as_tensor
from ._tensor import Size, Tensor
from .device import as_device, backend_for
from .device import device as _device
from .nn.modules.module import Module
from .nn.parameter import Parameter

__all__ = ["save", "load", "SerializationError"]

_FORMAT = "graphc.save"
_VERSION = 1
_MANIFEST = "graphc.json"





class _Writer:
    def __init__(self):
        self.arrays: list[np.ndarray] = []
        self.index: dict[int, int] = {}

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
        t._need_data("graphc.save")
        key = id(t)
        if key not in self.index:
            self.index[key] = len(self.arrays)
            self.arrays.append(np.array(t._host(), order="C", copy=True))
        return {
            "$tensor": self.index[key],
            "dtype": t.dtype.name,
            "requires_grad": bool(t.requires_grad) if t.is_leaf else False,
            "parameter": isinstance(t, Parameter),
            "device": str(t.device),
        }


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True) -> None:
    """Write ``obj`` (tensors, numbers, strings and containers of them) to a path or binary file."""
    if pickle_module is not None:
        raise SerializationError("graphc.save does not pickle; pickle_module is not supported")
    w = _Writer()
    tree = w.encode(obj)
    manifest = {"format": _FORMAT, "version": _VERSION, "arrays": len(w.arrays), "object": tree}
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


class _Reader:
    def __init__(self, zf: zipfile.ZipFile, map_location):
        self.zf = zf
        self.map_location = map_location
        self.cache: dict[int, Tensor] = {}

    def decode(self, obj):
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        if isinstance(obj, dict) and len(obj) >= 1:
            if "$tensor" in obj:
                return self._tensor(obj)
            ((tag, value),) = [(k, v) for k, v in obj.items()][:1]
            if tag == "$float":
                return float(value)
            if tag == "$dtype":
                return dt.by_name(value)
            if tag == "$device":
                return as_device(value)
            if tag == "$size":
                return Size(value)
            if tag == "$ndarray":
                return np.array(self._tensor(value)._host())
            if tag == "$dict":
                return {self.decode(k): self.decode(v) for k, v in value}
            if tag == "$odict":
                return OrderedDict((self.decode(k), self.decode(v)) for k, v in value)
            if tag == "$tuple":
                return tuple(self.decode(v) for v in value)
            if tag == "$list":
                return [self.decode(v) for v in value]
        raise SerializationError(f"graphc.load: malformed archive (unknown entry {str(obj)[:80]})")

    def _tensor(self, meta):
        i = int(meta["$tensor"])
        if i in self.cache:
            return self.cache[i]
        with self.zf.open(f"tensors/{i}.npy") as fh:
            arr = np.lib.format.read_array(io.BytesIO(fh.read()), allow_pickle=False)
        dtype = dt.by_name(meta["dtype"])
        if arr.dtype != dtype.numpy_dtype:
            arr = arr.astype(dtype.numpy_dtype)
        t = _from_array(arr, dtype)
        device = self._device(meta.get("device", "cpu"))
        if device is not None and device != t.device:
            t = t.to(device)
        if meta.get("parameter"):
            t = Parameter(t, bool(meta.get("requires_grad", True)))
        elif meta.get("requires_grad"):
            t.requires_grad_(True)
        self.cache[i] = t
        return t

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
        try:
            zf = zipfile.ZipFile(fh, "r")
        except zipfile.BadZipFile:
            raise SerializationError(
                f"graphc.load: {f if own else 'the file'} is not a graphc archive (graphc.load reads only files "
                "written by graphc.save, and never unpickles; files from torch.save or pickle are refused)"
            ) from None
        with zf:
            names = set(zf.namelist())
            if _MANIFEST not in names:
                raise SerializationError(
                    f"graphc.load: {f if own else 'the file'} is a zip archive but not a graphc one "
                    f"(no {_MANIFEST}); graphc.load never unpickles, so torch.save files are refused"
                )
            try:
                manifest = json.loads(zf.read(_MANIFEST).decode("utf-8"))
            except ValueError as e:
                raise SerializationError(f"graphc.load: corrupt manifest: {e}") from None
            if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
                raise SerializationError("graphc.load: not a graphc archive (bad format tag)")
            if manifest.get("version", 0) > _VERSION:
                raise SerializationError(
                    f"graphc.load: archive version {manifest.get('version')} is newer than this graphc reads ({_VERSION})"
                )
            reader = _Reader(zf, map_location)
            obj = reader.decode(manifest["object"])
            if callable(map_location) and not isinstance(map_location, dict):
                obj = _map_callable(obj, map_location)
            return obj
    finally:
        if own:
            fh.close()


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
