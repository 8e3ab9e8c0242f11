"""The numpy backend's eager kernels: the op table's numpy evaluation (:mod:`ir.ops.evaluate`).

Rows carry their numpy implementations, so the backend's eager path is the reference
evaluator itself; generated code calls the same functions (``K.round_bf16``, ``O.<op>``).
"""

from ir.ops.evaluate import KIND_IMPLS, check_divisor, finish, reduce_kwargs, round_bf16, row_functions, run_op

__all__ = ["KIND_IMPLS", "check_divisor", "finish", "reduce_kwargs", "round_bf16", "row_functions", "run_op"]
