"""nn.utils.parametrize, weight_norm/spectral_norm parametrizations, and the new nn.init functions."""

import copy

import numpy as np
import pytest

import graphc
import graphc.nn as nn
from graphc.nn.utils import parameters_to_vector, parametrizations, parametrize, vector_to_parameters

from ._helpers import close

RNG = np.random.default_rng(3)


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)

    def right_inverse(self, A):
        return A.triu()


def test_register_and_remove_parametrization():
    lin = nn.Linear(4, 4).double()
    w0 = lin.weight.detach().numpy().copy()
    parametrize.register_parametrization(lin, "weight", Symmetric())
    assert type(lin).__name__ == "ParametrizedLinear"
    assert parametrize.type_before_parametrizations(lin) is nn.Linear
    assert parametrize.is_parametrized(lin) and parametrize.is_parametrized(lin, "weight")
    assert not parametrize.is_parametrized(lin, "bias")
    assert list(lin.state_dict()) == ["bias", "parametrizations.weight.original"]
    sym = np.triu(w0) + np.triu(w0, 1).T
    close(lin.weight, sym)
    x = graphc.tensor(RNG.standard_normal((3, 4)))
    lin(x).sum().backward()
    g = np.tile(x.numpy().sum(0), (4, 1))  # d(sum xW^T)/dW
    close(lin.parametrizations.weight.original.grad, np.triu(g) + np.tril(g, -1).T)
    lin.weight = graphc.tensor(np.eye(4) * 3.0)  # goes through right_inverse
    close(lin.weight, np.eye(4) * 3.0)
    with parametrize.cached():
        assert lin.weight is lin.weight
    clone = copy.deepcopy(lin)
    close(clone.weight, lin.weight)
    parametrize.remove_parametrizations(lin, "weight")
    assert type(lin) is nn.Linear and list(lin.state_dict()) == ["bias", "weight"]  # as PyTorch: re-registered last
    close(lin.weight, np.eye(4) * 3.0)
    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(nn.Linear(2, 3), "weight", _Transpose())


class _Transpose(nn.Module):
    def forward(self, X):
        return X.t()


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm(dim):
    lin = nn.Linear(4, 3).double()
    w = lin.weight.detach().numpy().copy()
    parametrizations.weight_norm(lin, dim=dim)
    assert list(lin.state_dict()) == ["bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    g = lin.parametrizations.weight.original0.detach().numpy()
    if dim is None:
        close(g, np.linalg.norm(w))
    else:
        close(g, np.linalg.norm(w, axis=1 - dim, keepdims=True))
    close(lin.weight, w)  # the reparametrized weight starts equal to the original
    with graphc.no_grad():
        lin.parametrizations.weight.original0.mul_(2.0)
    close(lin.weight, 2 * w)  # g scales the weight
    lin(graphc.randn(2, 4, dtype=graphc.float64)).sum().backward()
    assert lin.parametrizations.weight.original1.grad is not None


def test_spectral_norm_divides_by_the_largest_singular_value():
    graphc.manual_seed(0)
    lin = nn.Linear(6, 5).double()
    parametrizations.spectral_norm(lin, n_power_iterations=3)
    assert list(lin.state_dict()) == ["bias", "parametrizations.weight.original", "parametrizations.weight.0._u",
                                      "parametrizations.weight.0._v"]
    x = graphc.randn(2, 6, dtype=graphc.float64)
    for _ in range(10):
        lin(x)
    w = lin.weight.detach().numpy()
    sv = np.linalg.svd(w, compute_uv=False)
    assert abs(sv[0] - 1.0) < 1e-6
    orig = lin.parametrizations.weight.original.detach().numpy()
    close(w, orig / np.linalg.svd(orig, compute_uv=False)[0], atol=1e-6)
    lin.eval()
    u_before = lin.parametrizations.weight[0]._u.numpy().copy()
    lin(x)
    close(lin.parametrizations.weight[0]._u, u_before)  # no power iteration in eval


def test_init_orthogonal_and_sparse():
    w = graphc.empty(3, 5, dtype=graphc.float64)
    nn.init.orthogonal_(w, gain=2.0)
    close(w.numpy() @ w.numpy().T, 4 * np.eye(3), atol=1e-10)
    w = graphc.empty(6, 2, 2, dtype=graphc.float64)
    nn.init.orthogonal_(w)
    m = w.numpy().reshape(6, 4)
    close(m.T @ m, np.eye(4), atol=1e-10)
    s = graphc.empty(10, 4)
    nn.init.sparse_(s, 0.3, std=0.5)
    assert ((s.numpy() == 0).sum(0) == 3).all()
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        nn.init.sparse_(graphc.empty(3), 0.1)


def test_parameters_vector_round_trip():
    m = nn.Linear(3, 2)
    v = parameters_to_vector(m.parameters())
    assert tuple(v.shape) == (8,)
    vector_to_parameters(v * 2, m.parameters())
    close(parameters_to_vector(m.parameters()), v * 2)
