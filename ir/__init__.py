"""graphc's graph IR: dtypes, the op table, graphs, the printer and the passes.

This package imports only numpy and networkx; the frontend (``graphc``) and
the backends (``backends``) build on it, never the other way round.
"""

from . import collective, dtypes, errors, ops  # collective: the all_reduce_start/wait rows and their gradients
from .dtypes import DType
from .graph import Graph, Node
from .ops import OPS, OpDef
from .printer import format_graph, format_node

__all__ = ["collective", "DType", "Graph", "Node", "OPS", "OpDef", "dtypes", "errors", "ops", "format_graph", "format_node"]
