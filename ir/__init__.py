"""graphc's graph IR: dtypes, the op table, graphs, the printer and the passes.

This package imports only numpy and networkx; the frontend (``graphc``) and
the backends (``backends``) build on it, never the other way round.
"""

from . import dtypes, errors, ops
from .dtypes import DType
from .graph import Graph, Node
from .ops import OPS, OpDef
from .printer import format_graph, format_node

__all__ = ["DType", "Graph", "Node", "OPS", "OpDef", "dtypes", "errors", "ops", "format_graph", "format_node"]
