"""Process groups: ``init_process_group`` and the questions about the job (rank, size, backend).

A process group is an engine object from the backends — an MPI group
(:class:`backends.numpy.mpi.MPIGroup`) for CPU tensors, an NCCL group
(:class:`backends.triton.nccl.NCCLGroup`) for CUDA tensors — registered
under a name in :mod:`backends.numpy.collective`, which is how compiled
programs find it: a collective node's ``group`` attribute is that name.

The job's shape comes from MPI itself (``mpiexec``, ``srun`` with PMI, or
``python -m graphc.distributed.run``): ``RANK`` and ``WORLD_SIZE``, when a
launcher set them, must agree with it. NCCL is bootstrapped over MPI (rank 0
makes the unique id and broadcasts it), so an NCCL job is launched like an
MPI one, one rank per GPU.
"""

from __future__ import annotations

import datetime
import importlib.util
import os

from backends.numpy import collective as registry
from backends.numpy import mpi as mpi_engine
from ir.errors import DistributedError, UnsupportedError

WORLD_NAME = "world"
BACKENDS = ("mpi", "nccl")


class ProcessGroup:
    """A set of ranks that run collectives together (``graphc.distributed.group.WORLD``).

    ``engine`` runs the calls on CPU buffers (MPI); ``device_engine``, when
    the backend is NCCL, on CUDA buffers.
    """

    def __init__(self, name: str, backend: str, engine, device_engine=None):
        self.name = name
        self.backend = backend
        self.engine = engine
        self.device_engine = device_engine

    def rank(self) -> int:
        return self.engine.rank

    def size(self) -> int:
        return self.engine.size

    def engine_for(self, device, call: str):
        """The engine that moves tensors on ``device``."""
        if device.type == "cuda":
            if self.device_engine is None:
                raise DistributedError(
                    f"rank {self.rank()}: {call}: the tensor is on {device}, but process group {self.name!r} uses "
                    f"backend {self.backend!r}, which moves CPU tensors; use init_process_group(backend='nccl') for CUDA tensors"
                )
            return self.device_engine
        return self.engine

    def ir_name(self, device) -> str:
        """The name collective nodes use for this group on ``device`` (its engine's registry key)."""
        return self.name + ":cuda" if device.type == "cuda" else self.name

    def __repr__(self) -> str:
        return f"<ProcessGroup {self.name!r}: backend {self.backend}, rank {self.rank()} of {self.size()}>"


class _Default:
    group: ProcessGroup | None = None


def _timeout_seconds(timeout) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    return float(timeout)


def _mpi_comm():
    try:
        from mpi4py import MPI  # reason: optional dependency (graphc[distributed])
    except ImportError as e:
        raise DistributedError(
            "init_process_group: the 'mpi' backend needs mpi4py and an MPI library: pip install 'graphc[distributed]' "
            f"(mpi4py and the mpich wheel), or mpi4py built against the site's MPI ({e})"
        ) from None
    return MPI.COMM_WORLD


def _env_int(name: str):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else None


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout=None,
    world_size: int = -1,
    rank: int = -1,
    store=None,
    group_name: str = "",
    pg_options=None,
    device_id=None,
) -> None:
    """Join the job's default process group (PyTorch's signature).

    ``backend``: ``"mpi"`` (CPU tensors; the default, or ``GRAPHC_DIST_BACKEND``)
    or ``"nccl"`` (CUDA tensors, one rank per GPU; CPU tensors still go through
    MPI). ``timeout`` (a ``timedelta`` or seconds; default ``GRAPHC_DIST_TIMEOUT``
    or 300 s): how long any call waits for the other ranks before it raises.
    ``init_method`` may be ``None`` or ``"env://"``; rank and size come from MPI,
    and ``rank``/``world_size`` (or ``RANK``/``WORLD_SIZE``) are checked against it.
    """
    if _Default.group is not None:
        raise DistributedError("init_process_group: trying to initialize the default process group twice")
    backend = (backend or os.environ.get("GRAPHC_DIST_BACKEND") or "mpi").lower()
    if backend not in BACKENDS:
        raise UnsupportedError(f"init_process_group: backend {backend!r} is not available; graphc has {', '.join(map(repr, BACKENDS))}")
    if init_method not in (None, "env://") or store is not None:
        raise UnsupportedError(
            f"init_process_group: init_method {init_method!r} / store: graphc's process groups are formed by MPI "
            "(launch with `python -m graphc.distributed.run`, mpiexec or srun); leave init_method unset or 'env://'"
        )
    comm = _mpi_comm()
    seconds = _timeout_seconds(timeout)
    engine = mpi_engine.MPIGroup(comm, WORLD_NAME, seconds)
    for what, given, env in (("rank", rank, "RANK"), ("world_size", world_size, "WORLD_SIZE")):
        actual = engine.rank if what == "rank" else engine.size
        expected = given if given is not None and given >= 0 else _env_int(env)
        if expected is not None and expected != actual:
            engine.close()
            raise DistributedError(
                f"init_process_group: {what} {expected} (from {'the argument' if given is not None and given >= 0 else env}) "
                f"but MPI says this process is rank {engine.rank} of {engine.size}; start the job with "
                "`python -m graphc.distributed.run --nproc N`, mpiexec -n N or srun, which set both"
            )
    device_engine = None
    if backend == "nccl":
        from backends.triton import nccl  # reason: the NCCL engine needs the CUDA driver; only for backend='nccl'

        device_engine = nccl.NCCLGroup(engine, WORLD_NAME, seconds)
    group = ProcessGroup(WORLD_NAME, backend, engine, device_engine)
    registry.register_group(WORLD_NAME, engine)
    if device_engine is not None:
        registry.register_group(WORLD_NAME + ":cuda", device_engine)
    _Default.group = group


def destroy_process_group(group=None) -> None:
    """Leave the default process group (its communicators are freed)."""
    g = _Default.group
    if g is None:
        return
    if group is not None and group is not g:
        raise UnsupportedError("destroy_process_group: graphc has only the default process group")
    registry.unregister_group(g.name)
    registry.unregister_group(g.name + ":cuda")
    for e in (g.device_engine, g.engine):
        if e is not None:
            e.close()
    _Default.group = None


def is_initialized() -> bool:
    return _Default.group is not None


def is_available() -> bool:
    """``graphc.distributed`` is always importable; a backend may still be missing (see is_mpi_available)."""
    return True


def is_mpi_available() -> bool:
    try:
        import mpi4py  # noqa: F401  # reason: probing an optional dependency
    except ImportError:
        return False
    return True


def is_nccl_available() -> bool:
    """Whether an NCCL library is there (the nvidia-nccl-cu12 wheel, or ``GRAPHC_NCCL_LIBRARY``)."""
    if os.environ.get("GRAPHC_NCCL_LIBRARY"):
        return True
    try:
        return importlib.util.find_spec("nvidia.nccl") is not None
    except (ImportError, ValueError):
        return False


def default_group(call: str) -> ProcessGroup:
    g = _Default.group
    if g is None:
        raise DistributedError(
            f"{call}: Default process group has not been initialized, please make sure to call "
            "graphc.distributed.init_process_group() (on every rank, before any collective)"
        )
    return g


def resolve(group, call: str) -> ProcessGroup:
    g = default_group(call)
    if group is None or group is g or group is _WorldAlias:
        return g
    raise UnsupportedError(f"{call}: graphc has only the default process group (group=None or group.WORLD)")


class _WorldAlias:
    """``graphc.distributed.group.WORLD``: stands for the default group."""


class group:
    """PyTorch's ``torch.distributed.group``: ``group.WORLD`` is the default group."""

    WORLD = _WorldAlias


def get_rank(group=None) -> int:
    return resolve(group, "get_rank").rank()


def get_world_size(group=None) -> int:
    return resolve(group, "get_world_size").size()


def get_backend(group=None) -> str:
    return resolve(group, "get_backend").backend
