"""Evaluate an ``ir.Graph`` node by node with the eager kernels.

This is the reference executor: generated code must agree with it.
"""

from __future__ import annotations

import numpy as np

from ir import ops as ops_table

from .kernels import run_op


def interpret(graph, inputs) -> list:
    """Run ``graph`` on numpy ``inputs`` (one per ``graph.inputs``); returns its outputs
    followed by the values of its mutations, in order."""
    if len(inputs) != len(graph.inputs):
        raise TypeError(f"graph {graph.name}: expected {len(graph.inputs)} inputs, got {len(inputs)}")
    env = {}
    for node, value in zip(graph.inputs, inputs):
        env[node.id] = np.asarray(value)
    for node in graph.nodes:
        if node.id in env:
            continue
        arrays = [env[i.id] for i in node.inputs]
        env[node.id] = run_op(ops_table.OPS[node.op], arrays, node.attrs, node.shape, node.dtype)
    return [env[n.id] for n in graph.outputs] + [env[v.id] for _, v in graph.mutations]
