"""JSON (de)serialization of :class:`ir.graph.Graph`.

The IR owns its exchange format, so it lives here rather than in a frontend.
A graph becomes a plain JSON object::

    {"format": "graphc.ir", "version": 1, "name": "step",
     "nodes": [{"id": 3, "op": "matmul", "inputs": [0, 2], "attrs": {},
                "shape": [32, 16], "dtype": "float32", "meta": {"source": "train.py:6"}}, ...],
     "inputs": [0, 1, 2], "outputs": [20], "mutations": [[2, 48]]}

Attribute values keep their Python types through tagged objects: tuples
(``{"$tuple": [...]}``), dtypes (``{"$dtype": "float32"}``), numpy arrays
(``{"$array": [...], "dtype": "float32", "shape": [..]}`` as a list when
small and finite, else base64 bytes under ``"b64"``), numpy scalars and
non-finite floats. Loading re-adds every node through :meth:`Graph.add`, so
shapes and dtypes are re-inferred by the op table and checked against the
stored ones; node ids are kept, and the structural hash survives the round
trip::

    >>> g2 = loads(dumps(g))
    >>> g2.structural_hash() == g.structural_hash()
    True
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np

from . import dtypes as dt
from . import ops as ops_table
from .graph import Graph

FORMAT = "graphc.ir"
VERSION = 1

# Arrays up to this many elements are stored as readable lists; larger ones as base64 bytes.
SMALL_ARRAY = 4096

__all__ = ["graph_to_dict", "graph_from_dict", "dumps", "loads", "encode_value", "decode_value", "FORMAT"]


def encode_value(v):
    """A JSON-able form of an attribute (or meta) value; :func:`decode_value` inverts it."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, dt.DType):
        return {"$dtype": v.name}
    if isinstance(v, np.ndarray):
        out = {"$array": None, "dtype": v.dtype.str, "shape": list(v.shape)}
        finite = v.dtype.kind not in "fc" or bool(np.isfinite(v).all())
        if v.size <= SMALL_ARRAY and finite and v.dtype.kind in "biuf":
            out["$array"] = v.tolist()
        else:
            out["b64"] = base64.b64encode(np.ascontiguousarray(v).tobytes()).decode("ascii")
        return out
    if isinstance(v, np.generic):
        return {"$scalar": encode_value(v.item()), "dtype": v.dtype.str}
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isfinite(v):
            return v
        return {"$float": repr(v)}  # 'inf', '-inf', 'nan'
    if isinstance(v, tuple):
        return {"$tuple": [encode_value(x) for x in v]}
    if isinstance(v, list):
        return [encode_value(x) for x in v]
    if isinstance(v, dict):
        if all(isinstance(k, str) for k in v) and not any(k.startswith("$") for k in v):
            return {k: encode_value(x) for k, x in v.items()}
        return {"$dict": [[encode_value(k), encode_value(x)] for k, x in v.items()]}
    if isinstance(v, complex):
        return {"$complex": [v.real, v.imag]}
    if isinstance(v, slice):
        return {"$slice": [encode_value(v.start), encode_value(v.stop), encode_value(v.step)]}
    return {"$repr": repr(v)}


def decode_value(v):
    """Inverse of :func:`encode_value`."""
    if isinstance(v, list):
        return [decode_value(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "$tuple" in v:
        return tuple(decode_value(x) for x in v["$tuple"])
    if "$dtype" in v:
        return dt.by_name(v["$dtype"])
    if "$array" in v:
        dtype = np.dtype(v["dtype"])
        shape = tuple(v["shape"])
        if v.get("b64") is not None:
            return np.frombuffer(base64.b64decode(v["b64"]), dtype=dtype).reshape(shape).copy()
        return np.asarray(v["$array"], dtype=dtype).reshape(shape)
    if "$scalar" in v:
        return np.dtype(v["dtype"]).type(decode_value(v["$scalar"]))
    if "$float" in v:
        return float(v["$float"])
    if "$dict" in v:
        return {_hashable(decode_value(k)): decode_value(x) for k, x in v["$dict"]}
    if "$complex" in v:
        return complex(*v["$complex"])
    if "$slice" in v:
        return slice(*(decode_value(x) for x in v["$slice"]))
    if "$repr" in v:
        return v["$repr"]  # not reconstructible: kept as its text
    return {k: decode_value(x) for k, x in v.items()}


def _hashable(k):
    return tuple(_hashable(x) for x in k) if isinstance(k, list) else k


def _encode_meta(meta: dict) -> dict:
    out = {}
    for k, v in meta.items():
        try:
            enc = encode_value(v)
            json.dumps(enc)
        except (TypeError, ValueError):
            enc = {"$repr": repr(v)}
        out[str(k)] = enc
    return out


def graph_to_dict(graph: Graph) -> dict:
    """The graph as a JSON-able dict (see the module docstring for the layout)."""
    nodes = []
    for n in graph.nodes:
        entry = {
            "id": n.id,
            "op": n.op,
            "inputs": [i.id for i in n.inputs],
            "attrs": {k: encode_value(v) for k, v in n.attrs.items()},
            "shape": list(n.shape),
            "dtype": n.dtype.name,
        }
        if n.meta:
            entry["meta"] = _encode_meta(n.meta)
        nodes.append(entry)
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": graph.name,
        "nodes": nodes,
        "inputs": [n.id for n in graph.inputs],
        "outputs": [n.id for n in graph.outputs],
        "mutations": [[t.id, v.id] for t, v in graph.mutations],
    }


def graph_from_dict(data: dict) -> Graph:
    """Rebuild a :class:`Graph` from :func:`graph_to_dict`'s output.

    Raises ``ValueError`` when the data is not a graphc graph, names an op this
    version does not know, or a re-inferred shape or dtype differs from the
    stored one.
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not a serialized graphc graph (expected format {FORMAT!r})")
    if data.get("version", 1) > VERSION:
        raise ValueError(f"graph format version {data['version']} is newer than this graphc reads ({VERSION})")
    g = Graph(data.get("name", "graph"))
    by_id = {}
    for entry in data["nodes"]:
        op = entry["op"]
        if op not in ops_table.OPS:
            raise ValueError(f"node %{entry['id']}: unknown op {op!r}")
        try:
            inputs = [by_id[i] for i in entry["inputs"]]
        except KeyError as e:
            raise ValueError(f"node %{entry['id']} ({op}) reads %{e.args[0]}, which is not defined before it") from None
        attrs = {k: decode_value(v) for k, v in entry.get("attrs", {}).items()}
        g._next_id = entry["id"]
        node = g.add(op, inputs, **attrs)
        shape, dtype = tuple(entry["shape"]), dt.by_name(entry["dtype"])
        if node.shape != shape or node.dtype is not dtype:
            raise ValueError(
                f"node %{node.id} ({op}): stored type {dtype.short}{list(shape)} differs from the "
                f"re-inferred {node.dtype.short}{list(node.shape)}"
            )
        node.meta.update({k: decode_value(v) for k, v in entry.get("meta", {}).items()})
        by_id[node.id] = node
    g._next_id = max(by_id, default=-1) + 1
    g.inputs = [by_id[i] for i in data.get("inputs", [])]
    g.outputs = [by_id[i] for i in data.get("outputs", [])]
    g.mutations = [(by_id[t], by_id[v]) for t, v in data.get("mutations", [])]
    return g


def dumps(graph: Graph, indent: int | None = 1) -> str:
    """The graph as JSON text."""
    return json.dumps(graph_to_dict(graph), indent=indent, allow_nan=False)


def loads(text: str) -> Graph:
    """A graph from JSON text written by :func:`dumps`."""
    return graph_from_dict(json.loads(text))
