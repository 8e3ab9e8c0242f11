"""The classifier of ``train_classifier.py``, trained data-parallel on N processes.

Each rank loads the digits, takes its shard of every epoch through a
``DistributedSampler``, and trains a replica of the same small CNN wrapped in
``DistributedDataParallel``, which averages the gradients across ranks during
backward. The whole step -- forward, loss, backward, the gradient all-reduce,
``optimizer.step()`` -- is one ``@graphc.compile`` program on every rank. With a
per-rank batch of 32/N the global batch is the single-process example's 32,
so the run follows the same trajectory and reaches the same accuracy
(about 98% after 10 epochs).

Run on 2 processes (MPI from PyPI: ``pip install -e '.[distributed,examples]'``)::

    python -m graphc.distributed.run --nproc 2 examples/train_classifier_ddp.py
    python -m graphc.distributed.run --nproc 2 examples/train_classifier_ddp.py --quick
    mpiexec -n 2 python examples/train_classifier_ddp.py      # or srun, on a cluster

Every rank prints with a ``[rank R]`` prefix; rank 0 reports the loss, the
time per step and the test accuracy.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the single-process example's data and Net
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # graphc from a checkout

from train_classifier import Net, load_data  # noqa: E402

import graphc as torch  # noqa: E402
import graphc.distributed as dist  # noqa: E402
import graphc.nn as nn  # noqa: E402
import graphc.optim as optim  # noqa: E402
from graphc.nn.parallel import DistributedDataParallel as DDP  # noqa: E402
from graphc.utils.data import DataLoader, DistributedSampler  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train the digits CNN data-parallel with graphc.distributed.")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default 10; 1 with --quick)")
    p.add_argument("--quick", action="store_true", help="a CI-sized run on a subset")
    p.add_argument("--no-compile", action="store_true", help="run every step eagerly")
    p.add_argument("--batch-size", type=int, default=32, help="global batch size, split over the ranks (default 32)")
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = 1 if args.quick else 10
    return args


def accuracy(net, dataset) -> float:
    """Percent of ``dataset`` classified right (every rank evaluates the same replica)."""
    correct = total = 0
    with torch.no_grad():
        for images, labels in DataLoader(dataset, batch_size=256):
            correct += int((net(images).argmax(1) == labels).sum())
            total += len(labels)
    return 100.0 * correct / total


def main(argv=None) -> float:
    args = parse_args(argv)
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        sys.exit(f"--batch-size {args.batch_size} must be a multiple of the number of ranks ({world})")
    trainset, testset = load_data(args)
    sampler = DistributedSampler(trainset, shuffle=True, seed=args.seed, drop_last=True)
    loader = DataLoader(trainset, batch_size=args.batch_size // world, sampler=sampler, drop_last=True)

    torch.manual_seed(args.seed + rank)  # different initial weights per rank: DDP broadcasts rank 0's
    net = DDP(Net())
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)

    def train_step(inputs, labels):
        optimizer.zero_grad()
        loss = criterion(net(inputs), labels)
        loss.backward()
        optimizer.step()
        return loss

    step = train_step if args.no_compile else torch.compile(train_step)
    steps, t_steps = 0, 0.0
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        losses = []
        for inputs, labels in loader:
            t0 = time.perf_counter()
            losses.append(float(step(inputs, labels)))
            t_steps += time.perf_counter() - t0 if epoch > 0 or steps > 2 else 0.0
            steps += 1
        mean = np.array([np.mean(losses)])
        total = torch.from_numpy(mean)
        dist.all_reduce(total, dist.ReduceOp.AVG)
        if rank == 0:
            print(f"epoch {epoch + 1}/{args.epochs}: loss {float(total):.4f} (mean over {world} ranks)")
    counted = max(1, steps - 3)
    acc = accuracy(net.module, testset)
    if rank == 0:
        mode = "eager" if args.no_compile else "compiled"
        print(f"{world} ranks, {mode} step: {1e3 * t_steps / counted:.2f} ms per global batch of {args.batch_size}")
        print(f"accuracy of the network on the {len(testset)} test images: {acc:.1f} %")
    dist.destroy_process_group()
    return acc


if __name__ == "__main__":
    main()
