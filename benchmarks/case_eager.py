"""Eager graphc against eager PyTorch: the cost of one small op, and of a small training step.

Tutorials run eager code on small tensors, where the time is the framework's
per-op overhead, not arithmetic. Two cases, each timing graphc and PyTorch in
the same process on the same data, interleaved:

* ``eager_ops`` -- five rows: ``a + b``, ``(a * b).sum()``, ``relu(a)`` on 8
  float32 elements, ``m[1:5, 2]`` of a 32x32 matrix, and a small backward
  ``(w * a).sum().backward()`` (``w.grad`` cleared before each). Each call is
  a few microseconds, so calls are timed in batches (``inner``) and divided.
* ``eager_train_step`` -- the classifier training step of
  ``examples/train_classifier.py`` (:mod:`benchmarks.case_classifier`), op by op.

In these rows the ``graphc`` column is graphc **eager** (nothing is compiled).
Registered in :data:`benchmarks.cases_cpu.CASES`.
"""

from __future__ import annotations

import numpy as np

from . import case_classifier as cc
from .common import Impls, _note_mismatch, _np, compare
from .harness import Config, Measurement, Row, Target
from .peers import Peers

EAGER_NOTE = "the graphc column is graphc eager here (op by op, nothing compiled)"


def _op_rows(lib, rng_seed: int = 0) -> dict:
    """The five eager calls for ``lib`` (graphc or torch), on the same values, and their references."""
    rng = np.random.default_rng(rng_seed)
    a_np = rng.standard_normal(8, dtype=np.float32)
    b_np = rng.standard_normal(8, dtype=np.float32)
    m_np = rng.standard_normal((32, 32), dtype=np.float32)
    w_np = rng.standard_normal(8, dtype=np.float32)
    a, b, m = lib.from_numpy(a_np), lib.from_numpy(b_np), lib.from_numpy(m_np)
    w = lib.from_numpy(w_np.copy()).requires_grad_()

    def backward():
        w.grad = None
        (w * a).sum().backward()
        return w.grad

    a64, b64 = a_np.astype(np.float64), b_np.astype(np.float64)
    return {
        "a + b": (lambda: a + b, a64 + b64),
        "(a * b).sum()": (lambda: (a * b).sum(), np.sum(a64 * b64)),
        "relu(a)": (lambda: lib.relu(a), np.maximum(a64, 0)),
        "m[1:5, 2] (32x32)": (lambda: m[1:5, 2], m_np[1:5, 2].astype(np.float64)),
        "(w * a).sum().backward()": (backward, a64),  # d/dw sum(w * a) = a
    }


def case_eager_ops(cfg: Config, peers: Peers) -> list:
    """Eager per-op time: a + b, (a*b).sum(), relu, basic indexing, a small backward, against PyTorch eager."""
    import graphc

    inner, reps = cfg.pick(300, 100, 10), cfg.pick(30, 10, 3)
    budget = cfg.pick(2.0, 0.5, 0.1)
    g_ops = _op_rows(graphc)
    t_ops = _op_rows(peers.torch) if peers.torch is not None else None
    rows = []
    for name, (g_fn, ref) in g_ops.items():
        row = Row("eager_ops", f"{name}, 8 f32" if "32x32" not in name else name, unit="us", what="per-op time")
        backward = name.endswith("backward()")
        ratio = 0.5 if backward else 1 / 3
        row.targets = [Target(f"within {int(round(1 / ratio))}x of torch eager", "torch", ratio)]
        if not rows:
            row.notes.append(EAGER_NOTE)
        impls = Impls(row, cfg)

        def g_setup(g_fn=g_fn, ref=ref, row=row):
            row.check = compare(g_fn(), ref, 1e-6, 1e-6)
            return g_fn

        impls.add("graphc", g_setup)
        row.graphc_eager = Measurement.not_applicable()
        if t_ops is None:
            impls.set("torch", peers.torch_missing())
        else:
            t_fn = t_ops[name][0]

            def t_setup(t_fn=t_fn, ref=ref, row=row):
                _note_mismatch(row, "torch eager", compare(t_fn(), ref, 1e-6, 1e-6))
                return t_fn

            impls.add("torch", t_setup)
        for key in ("numpy", "torch.compile", "jax", "tinygrad"):
            impls.set(key, Measurement.not_applicable())
        impls.run(warmup=inner, repeats=reps, inner=inner, max_seconds=budget)
        rows.append(row)
    return rows


def case_eager_train_step(cfg: Config, peers: Peers) -> Row:
    """The classifier training step (examples/train_classifier.py) op by op, against PyTorch eager."""
    import graphc

    batch = cfg.pick(32, 32, 4)
    row = Row("eager_train_step", f"CNN 1x8x8 b{batch}", flops=cc.step_flops(batch))
    row.targets = [Target("within 2x of torch eager", "torch", 0.5)]
    row.notes.append(EAGER_NOTE + "; the step of classifier_train_step: zero_grad, forward, loss, backward, SGD momentum")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((batch, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    init = cc.init_params()
    ref = {k: v.astype(np.float64) for k, v in init.items()}
    ref_loss = cc.numpy_step(ref, {}, x.astype(np.float64), y)

    def check_loss(loss) -> str:
        return compare(np.asarray(_np(loss), dtype=np.float64), ref_loss, 1e-4, 1e-5)

    impls = Impls(row, cfg)
    row.graphc_eager = Measurement.not_applicable()
    gx, gy = graphc.from_numpy(x), graphc.from_numpy(y)

    def g_setup():
        net, step, _ = cc.build(graphc, init)
        row.check = check_loss(step(gx, gy))  # the first step from init: its loss
        return lambda: step(gx, gy)

    impls.add("graphc", g_setup)

    def numpy_setup():
        ps = {k: v.copy() for k, v in init.items()}
        bufs: dict = {}
        _note_mismatch(row, "numpy eager", check_loss(cc.numpy_step(ps, bufs, x, y)))
        return lambda: cc.numpy_step(ps, bufs, x, y)

    impls.add("numpy", numpy_setup)
    torch = peers.torch
    if torch is None:
        impls.set("torch", peers.torch_missing())
    else:
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def t_setup():
            net, step, _ = cc.build(torch, init)
            _note_mismatch(row, "torch eager", check_loss(step(tx, ty)))
            return lambda: step(tx, ty)

        impls.add("torch", t_setup)
    for key in ("torch.compile", "jax", "tinygrad"):
        impls.set(key, Measurement.not_applicable())
    impls.run()
    return row
