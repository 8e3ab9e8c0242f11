"""``graphc.compile(module)`` is a Module that is the model (PyTorch's OptimizedModule):
modes, parameters, state dicts, submodules and attributes are the original's, calls are
compiled; ``module.compile()`` compiles in place."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
import graphc.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.config = {"width": 8}
        self.fc1 = nn.Linear(4, 8)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc2(self.drop(self.fc1(x).relu()))


def _arr(t):
    return np.array(t.detach().numpy())


def test_compiled_module_is_the_model():
    graphc.manual_seed(0)
    net = Net()
    model = graphc.compile(net)
    assert isinstance(model, nn.Module) and isinstance(model, graphc.OptimizedModule)
    assert model._orig_mod is net
    assert [id(p) for p in model.parameters()] == [id(p) for p in net.parameters()]
    assert [n for n, _ in model.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in model.named_modules()] == [n for n, _ in net.named_modules()]
    assert list(model.state_dict()) == list(net.state_dict())
    assert model.config == {"width": 8} and model.fc1 is net.fc1
    assert model.training and net.training
    assert model.eval() is model and not net.training and not net.drop.training and not model.training
    assert model.train() is model and net.drop.training
    assert model.to(graphc.float32) is model
    model.extra = 5  # attribute writes reach the original
    assert net.extra == 5
    assert "_orig_mod" in repr(model) and "Linear" in repr(model)


def test_eval_mode_and_state_dict_round_trip_through_the_compiled_model():
    graphc.manual_seed(0)
    net = Net()
    model = graphc.compile(net)
    x = graphc.randn(3, 4)
    model.eval()
    with graphc.no_grad():
        for _ in range(2):
            np.testing.assert_allclose(_arr(model(x)), _arr(net(x)), rtol=1e-6)
        other = Net()
        state = {k: v * 0 + 0.5 for k, v in other.state_dict().items()}
        model.load_state_dict({"_orig_mod." + k: v for k, v in state.items()})  # PyTorch's prefixed keys load
        np.testing.assert_allclose(_arr(net.fc1.weight), np.full((8, 4), 0.5, np.float32))
        np.testing.assert_allclose(_arr(model(x)), _arr(net(x)), rtol=1e-6)
        model.load_state_dict(state)
    assert model.cache_info().traces == 1  # new values in the same tensors: no retrace


def test_compiled_model_trains_like_eager():
    def run(compiled):
        graphc.manual_seed(1)
        net = Net()
        net.drop.p = 0.0
        model = graphc.compile(net) if compiled else net
        opt = graphc.optim.Adam(model.parameters(), lr=0.01)
        x, y = graphc.randn(8, 4), graphc.randint(0, 2, (8,))
        losses = []
        for _ in range(4):
            model.train()
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, model

    le, _ = run(False)
    lc, model = run(True)
    np.testing.assert_allclose(lc, le, rtol=1e-5)
    assert model.cache_info().eager_calls == 0


def test_module_compile_in_place():
    graphc.manual_seed(0)
    net = Net()
    net.eval()
    x = graphc.randn(3, 4)
    with graphc.no_grad():
        expected = _arr(net(x))
        assert net.compile() is None
        for _ in range(3):
            np.testing.assert_allclose(_arr(net(x)), expected, rtol=1e-6)
    compiled = net.__dict__["_compiled_call_impl"]
    assert compiled.cache_info().traces == 1 and compiled.cache_info().hits == 2
    assert isinstance(net, Net)  # still itself


def test_compiling_a_compiled_module_wraps_the_original_once():
    net = Net()
    model = graphc.compile(graphc.compile(net))
    assert model._orig_mod is net


@pytest.mark.parametrize("disable", [True])
def test_disable_returns_the_module_as_it_is(disable):
    net = Net()
    assert graphc.compile(net, disable=disable) is net
