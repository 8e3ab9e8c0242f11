"""JSON of graphs (:mod:`ir.serialize`) and of compile reports, and back."""

from __future__ import annotations

import json

from ir import serialize

from .._report import KernelInfo, Report
from ._model import kind_of


def to_json(obj, indent: int | None = 1) -> str:
    """JSON of a graph (:mod:`ir.serialize`), or of a report (its traced and
    optimized graphs, kernels with their sources, the program)."""
    what = kind_of(obj)
    if what == "graph":
        return serialize.dumps(obj, indent=indent)
    if what == "report":
        data = {
            "format": "graphc.report",
            "version": 1,
            "function": obj.function,
            "signature": obj.signature,
            "backend": obj.backend,
            "timings": dict(obj.timings or {}),
            "traced": serialize.graph_to_dict(obj.traced),
            "optimized": serialize.graph_to_dict(obj.optimized),
            "kernels": [
                {
                    "name": k.name,
                    "kind": k.kind,
                    "source": k.source,
                    "nodes": list(k.nodes),
                    "node_text": list(k.node_text or []),
                }
                for k in obj.kernels
            ],
            "program_source": obj.program_source,
        }
        return json.dumps(data, indent=indent, allow_nan=False)
    raise TypeError("JSON export covers ir.Graph and compile reports; for autograd graphs use to_dot or to_svg")


def from_json(text: str):
    """The ``ir.Graph`` (or report) that :func:`to_json` wrote."""
    data = json.loads(text) if isinstance(text, (str, bytes)) else text
    if isinstance(data, dict) and data.get("format") == "graphc.report":
        kernels = [
            KernelInfo(k["name"], k["kind"], k["source"], list(k["nodes"]), list(k.get("node_text", [])))
            for k in data["kernels"]
        ]
        return Report(
            data["function"],
            data["signature"],
            serialize.graph_from_dict(data["traced"]),
            serialize.graph_from_dict(data["optimized"]),
            kernels,
            data.get("program_source", ""),
            data.get("backend", ""),
            dict(data.get("timings", {})),
        )
    return serialize.graph_from_dict(data)
