"""A whole training step (forward, backward, optimizer, LR scheduler) compiled as one graph
must match the eager step exactly and never retrace, even as the scheduler changes lr."""

import numpy as np
import pytest

import graphc
import graphc.nn as nn
import graphc.optim as optim

OPTIMIZERS = [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (optim.SGD, dict(lr=0.1, weight_decay=0.01)),
    (optim.Adam, dict(lr=0.01)),
    (optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5)),
    (optim.Adagrad, dict(lr=0.1)),
]


def _train(opt_cls, kwargs, compiled, steps=6):
    graphc.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = opt_cls(net.parameters(), **kwargs)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    x, y = graphc.randn(16, 4), graphc.randint(0, 3, (16,))

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss

    fn = graphc.compile(step) if compiled else step
    losses = []
    for _ in range(steps):
        losses.append(fn(x, y).item())
        sched.step()
    return np.array(losses), [p.detach().numpy().copy() for p in net.parameters()], fn


@pytest.mark.parametrize("opt_cls,kwargs", OPTIMIZERS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_compiled_step_matches_eager_with_scheduler(opt_cls, kwargs):
    eager_losses, eager_params, _ = _train(opt_cls, kwargs, compiled=False)
    losses, params, fn = _train(opt_cls, kwargs, compiled=True)
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-5, atol=1e-6)
    for a, b in zip(params, eager_params):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The first call traces; optimizers with state (momentum buffers, Adam's moments) create
    # it on that call, so the second call traces once more with the state in place. The lr
    # changes from StepLR are read per call: no retrace after that.
    lazy_state = kwargs.get("momentum") or opt_cls in (optim.Adam, optim.AdamW)  # Adagrad's is made in __init__
    assert fn.cache_info().traces == (2 if lazy_state else 1)
    assert fn.cache_info().hits == 6 - fn.cache_info().traces
