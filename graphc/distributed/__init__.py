"""``graphc.distributed``: data-parallel training across processes, with ``torch.distributed``'s API.

>>> import graphc.distributed as dist
>>> dist.init_process_group("mpi")          # rank and size from the launcher / MPI
>>> t = graphc.ones(4) * (dist.get_rank() + 1)
>>> dist.all_reduce(t)                      # in place: every rank now holds the sum
>>> dist.destroy_process_group()

Start a script on N processes with ``python -m graphc.distributed.run --nproc N
script.py`` (or ``graphc run``), ``mpiexec -n N python script.py`` or ``srun``.
CPU tensors move through MPI (mpi4py; ``pip install 'graphc[distributed]'``
brings mpi4py and MPICH), CUDA tensors through NCCL (``backend="nccl"``, the
``nvidia-nccl-cu12`` wheel). ``graphc.nn.parallel.DistributedDataParallel``
averages gradients during backward, and inside ``@graphc.compile`` the
gradient all-reduce is part of the compiled step. See docs/distributed.md.

Calls never hang: each waits at most the group's timeout
(``init_process_group(timeout=...)``, ``GRAPHC_DIST_TIMEOUT``, default 300 s)
and ranks that pass different shapes, dtypes or ops to one collective get a
:class:`DistributedError` naming each rank's arguments (``GRAPHC_DIST_CHECKS=0``
skips that check).
"""

from ir.errors import DistributedError, DistributedTimeoutError

from ._collectives import (
    ReduceOp,
    Work,
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object_list,
    irecv,
    isend,
    recv,
    reduce_scatter,
    reduce_scatter_tensor,
    send,
)
from ._state import (
    ProcessGroup,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
)

__all__ = [
    "DistributedError",
    "DistributedTimeoutError",
    "ProcessGroup",
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "destroy_process_group",
    "get_backend",
    "get_rank",
    "get_world_size",
    "group",
    "init_process_group",
    "irecv",
    "is_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "isend",
    "recv",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "send",
]
