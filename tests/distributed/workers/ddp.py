"""Run on N ranks by tests/distributed/test_mpi.py: DistributedDataParallel against one process.

Every rank trains on its shard of a batch; every rank also trains a plain copy
of the model on the whole batch in this same process (no communication). With
a mean loss and equal shards the averaged gradient is the full batch's, so the
parameters must agree, eagerly and under ``@graphc.compile``. Also checked:
rank 0's weights are broadcast at construction, ``no_sync`` accumulation,
``find_unused_parameters``, the state dict's keys, ``DistributedSampler``,
and the compiled step's graph (collective nodes, starts before the end of
backward). The last line is ``ALL OK``.
"""

import numpy as np

import graphc
import graphc.distributed as dist
import graphc.nn as nn
from graphc.nn.parallel import DistributedDataParallel as DDP
from graphc.utils.data import DataLoader, DistributedSampler, TensorDataset

dist.init_process_group("mpi", timeout=30)
R, N = dist.get_rank(), dist.get_world_size()
PER_RANK, STEPS = 4, 4
rng = np.random.default_rng(1)
X = graphc.tensor(rng.standard_normal((PER_RANK * N, 6)))
Y = graphc.tensor(rng.integers(0, 3, PER_RANK * N))
shard = slice(R * PER_RANK, (R + 1) * PER_RANK)
loss_fn = nn.CrossEntropyLoss()


class Net(nn.Module):
    def __init__(self, unused=False):
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 3)
        self.spare = nn.Linear(8, 3) if unused else None
        self.register_buffer("calls", graphc.zeros(1, dtype=graphc.float64))

    def forward(self, x):
        return self.fc2(graphc.tanh(self.fc1(x)))


def make(unused=False):
    graphc.manual_seed(0)
    return Net(unused).double()


def train(model, x, y, compiled, steps=STEPS):
    opt = graphc.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    fn = graphc.compile(step) if compiled else step
    for _ in range(steps):
        fn(x, y)
    return fn


def max_diff(a, b):
    return max(float((p - q).abs().max()) for p, q in zip(a.parameters(), b.parameters()))


refs = {}
for compiled in (False, True):
    ref = make()
    train(ref, X, Y, compiled)
    refs[compiled] = ref
    model = make()
    if R != 0:  # different starting weights and buffers: DDP must broadcast rank 0's
        with graphc.no_grad():
            for p in model.parameters():
                p.mul_(-2.0)
            model.calls.fill_(float(R))
    ddp = DDP(model, bucket_cap_mb=0.0005)  # several buckets
    assert len(ddp._buckets) > 1
    assert float(model.calls) == 0.0, "buffers broadcast from rank 0"
    fn = train(ddp, X[shard], Y[shard], compiled)
    err = max_diff(model, ref)
    assert err < 1e-12, f"DDP ({'compiled' if compiled else 'eager'}) differs from one process on the full batch by {err}"
    if compiled:
        assert fn.cache_info().hits >= 1, fn.cache_info()
        report = fn.explain(X[shard], Y[shard])
        nodes = report.optimized.nodes
        ops = [n.op for n in nodes]
        # one start/wait pair per bucket, plus the broadcast of the module's buffer in forward
        assert ops.count("all_reduce_start") == len(ddp._buckets) + 1 == ops.count("all_reduce_wait"), ops
        starts = [i for i, n in enumerate(nodes) if n.op == "all_reduce_start" and n.meta.get("phase") == "backward"]
        assert len(starts) == len(ddp._buckets)
        grad_matmuls = [i for i, n in enumerate(nodes) if n.op == "matmul" and n.meta.get("phase") == "backward"]
        assert starts[0] < grad_matmuls[-1], "the first bucket starts before backward's last matmul (overlap)"
        waits = [i for i, op in enumerate(ops) if op == "all_reduce_wait"]
        assert min(waits) > grad_matmuls[-1], "waits come after backward's work, where the optimizer reads"
assert max_diff(refs[False], refs[True]) < 1e-6, "compiled and eager training agree"

# no_sync: two half-batches accumulate locally, then one synchronized backward
ref = make()
ref_opt = graphc.optim.SGD(ref.parameters(), lr=0.1)
ref_opt.zero_grad()
(loss_fn(ref(X), Y) * 2).backward()
ref_opt.step()
model = make()
ddp = DDP(model)
opt = graphc.optim.SGD(ddp.parameters(), lr=0.1)
opt.zero_grad()
xs, ys = X[shard], Y[shard]
with ddp.no_sync():
    loss_fn(ddp(xs[:2]), ys[:2]).backward()
loss_fn(ddp(xs[2:]), ys[2:]).backward()
opt.step()
assert max_diff(model, ref) < 1e-12, f"no_sync accumulation differs by {max_diff(model, ref)}"

# find_unused_parameters: a layer no rank uses keeps grad None; without the flag the next forward raises
model = make(unused=True)
ddp = DDP(model, find_unused_parameters=True)
loss_fn(ddp(xs), ys).backward()
assert model.spare.weight.grad is None and model.fc1.weight.grad is not None
ddp_strict = DDP(make(unused=True))
loss_fn(ddp_strict(xs), ys).backward()
try:
    ddp_strict(xs)
except RuntimeError as e:
    assert "find_unused_parameters=True" in str(e) and "spare.weight" in str(e), e
else:
    raise AssertionError("a parameter without gradient did not make the next forward raise")

# state_dict without the wrapper's prefix; load_state_dict takes both forms
keys = list(ddp.state_dict().keys())
assert keys == list(model.state_dict().keys()) and not any(k.startswith("module.") for k in keys), keys
ddp.load_state_dict({"module." + k: v for k, v in make(unused=True).state_dict().items()})
assert ddp.module is model

# DistributedSampler: disjoint shards covering the data, same order on every rank per epoch
ds = TensorDataset(graphc.arange(10 * N))
sampler = DistributedSampler(ds, seed=3)
sampler.set_epoch(1)
mine = [int(b[0]) for (b,) in DataLoader(ds, batch_size=1, sampler=sampler)]
everyone = [None] * N
dist.all_gather_object(everyone, mine)
flat = sorted(i for part in everyone for i in part)
assert flat == list(range(10 * N)), flat
sampler.set_epoch(2)
assert list(sampler) != mine

dist.destroy_process_group()
print(f"ALL OK rank {R} of {N}")
