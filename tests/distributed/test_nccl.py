"""The NCCL engine: the library binding everywhere the wheel is installed; collectives on a GPU.

What runs without a GPU: loading ``libnccl.so.2`` from the nvidia-nccl-cu12 wheel
and making a unique id. With a GPU (marker ``gpu``): a one-rank NCCL process group
(bootstrapped over MPI) reduces, broadcasts and gathers CUDA tensors in place.
Several ranks (one per GPU) run ``workers/collectives.py``-style checks only on a
multi-GPU machine, by hand: ``python -m graphc.distributed.run --nproc 2 --backend nccl ...``.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from backends.triton import nccl


def _nccl_missing():
    if nccl.library_path() is None:
        return "the nvidia-nccl-cu12 wheel is not installed (pip install 'graphc[nccl]')"
    return None


@pytest.mark.skipif(_nccl_missing() is not None, reason=_nccl_missing() or "")
def test_the_library_loads_and_makes_unique_ids():
    lib = nccl.lib()
    assert lib.version() >= 21000
    a, b = lib.unique_id(), lib.unique_id()
    assert len(a) == 128 and a != b
    assert bytes(nccl._UniqueId.of(a)) == a


@pytest.mark.gpu
@pytest.mark.skipif(not graphc.cuda.is_available(), reason="needs a CUDA GPU (graphc.cuda.is_available() is False)")
@pytest.mark.skipif(_nccl_missing() is not None, reason=_nccl_missing() or "")
def test_one_rank_nccl_group_on_cuda_tensors():
    pytest.importorskip("mpi4py")
    import graphc.distributed as dist

    dist.init_process_group("nccl", timeout=60)
    try:
        x = (graphc.arange(6.0).reshape(2, 3)).to("cuda")
        dist.all_reduce(x)
        np.testing.assert_allclose(x.cpu().numpy(), np.arange(6.0).reshape(2, 3))
        w = dist.all_reduce(x, dist.ReduceOp.MAX, async_op=True)
        assert w.wait()
        out = graphc.zeros(2, 3, device="cuda")
        dist.all_gather_into_tensor(out, x)
        np.testing.assert_allclose(out.cpu().numpy(), np.arange(6.0).reshape(2, 3))
        y = graphc.ones(4, dtype=graphc.bfloat16, device="cuda")
        dist.broadcast(y, 0)
        assert y.cpu().float().tolist() == [1.0] * 4
        cpu = graphc.ones(3)
        dist.all_reduce(cpu)  # CPU tensors in an NCCL job go through MPI
        assert cpu.tolist() == [1.0] * 3
    finally:
        dist.destroy_process_group()
