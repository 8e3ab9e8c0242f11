"""A five-minute tour of graphc, in eager mode on the CPU (runs in about a second).

    python examples/quickstart.py

graphc speaks PyTorch: a script ports by changing ``import torch`` to
``import graphc as torch``. Every op below is an IR node that the numpy
backend runs at once; autograd keeps the same nodes to differentiate.
"""

from __future__ import annotations

import numpy as np

import graphc as torch


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 60 - len(title)))


# -----------------------------------------------------------------------------
section("1. Tensors")
# Factories take PyTorch's arguments; float32 is the default float dtype.
torch.manual_seed(0)  # reproducible random numbers
x = torch.tensor([5.5, 3])
print("torch.tensor([5.5, 3])  ->", x)
z = torch.zeros(2, 3, dtype=torch.float64)
print("zeros(2, 3, float64)    ->", z.shape, z.dtype)
r = torch.rand(2, 3)  # uniform in [0, 1)
print("rand(2, 3):\n", r)
# Arithmetic broadcasts like numpy, and promotes dtypes like PyTorch.
print("r * 10 + z  ->  dtype", (r * 10 + z).dtype)
print("matmul: (2x3) @ (3x2) ->", (r @ r.T).shape)

# -----------------------------------------------------------------------------
section("2. Views share memory")
# view / reshape / slicing / .T are views of the same buffer, as in PyTorch,
# so writing through one is seen through the others.
base = torch.arange(8.0)
v = base.view(2, 4)
col = v[:, 1]  # a strided view: column 1
col.fill_(-1)  # in-place ops end with "_"
print("base after v[:, 1].fill_(-1):", base)
v.add_(100)
print("base after v.add_(100):      ", base)

# -----------------------------------------------------------------------------
section("3. The numpy bridge")
# .numpy() and graphc.from_numpy share memory both ways: no copies.
t = torch.ones(5)
n = t.numpy()
t.add_(1)
print("t.add_(1)  -> numpy sees:", n)
a = np.ones(3)
b = torch.from_numpy(a)  # keeps numpy's float64
np.add(a, 1, out=a)
print("np.add(a, 1, out=a) -> tensor sees:", b)

# -----------------------------------------------------------------------------
section("4. Autograd (the seed tutorial's example)")
x = torch.ones(2, 2, requires_grad=True)
y = x + 2
z = y * y * 3
out = z.mean()
print("y   =", y)  # grad_fn=<AddBackward0>
print("out =", out)  # tensor(27., grad_fn=<MeanBackward0>)
out.backward()  # d(out)/dx = 6 * (x + 2) / 4 = 4.5
print("x.grad =", x.grad)
with torch.no_grad():  # no recording inside
    print("(x ** 2).requires_grad under no_grad:", (x**2).requires_grad)

# -----------------------------------------------------------------------------
section("5. Linear regression with manual SGD (eager)")
# Data: y = X @ w_true + b_true + noise.
X = torch.randn(256, 3)
w_true = torch.tensor([[2.0], [-3.0], [0.5]])
b_true = 1.0
Y = X @ w_true + b_true + 0.01 * torch.randn(256, 1)

# Parameters are leaves that require grad.
w = torch.zeros(3, 1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
lr = 0.1


def train_step() -> float:
    """One step of gradient descent on the mean squared error; returns the loss."""
    loss = ((X @ w + b - Y) ** 2).mean()
    loss.backward()  # fills w.grad and b.grad
    with torch.no_grad():  # the update itself must not be recorded
        for p in (w, b):
            p -= lr * p.grad  # in place: p stays the same leaf tensor
            p.grad.zero_()  # .grad accumulates, so clear it for the next step
    return loss.item()


for step in range(101):
    loss = train_step()
    if step % 25 == 0:
        print(f"step {step:3d}  loss {loss:.6f}")

print("learned w:", [round(v, 3) for v in w.detach().reshape(-1).tolist()], " true: [2.0, -3.0, 0.5]")
print("learned b:", round(b.item(), 3), " true:", b_true)
assert torch.allclose(w.detach(), w_true, atol=0.05), "the fit did not converge"

# -----------------------------------------------------------------------------
section("6. @graphc.compile: the whole training step as one fused graph")
# The same step, compiled: the first call traces forward, backward and the
# in-place update into one IR graph, fuses it into kernels, generates numpy code
# and runs it; later calls replay that code (the second traces once more: the
# first call created w.grad, which the step reads from then on).
w.detach().zero_(), b.detach().zero_()


@torch.compile
def compiled_step(X, Y):
    loss = ((X @ w + b - Y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        for p in (w, b):
            p -= lr * p.grad
            p.grad.zero_()
    return loss


for step in range(101):
    loss = compiled_step(X, Y)
print("compiled fit: w =", [round(v, 3) for v in w.detach().reshape(-1).tolist()], " loss", round(loss.item(), 6))
print("cache:", compiled_step.cache_info())  # traced once, replayed 99 times
report = compiled_step.explain(X, Y)
print(f"traced {len(report.traced)} IR nodes -> {len(report.optimized)} after simplify -> {len(report.kernels)} kernels")
print("the first generated kernel:\n" + report.kernels[0].source)
# GRAPHC_DUMP=dump_dir python examples/quickstart.py writes every stage as text, SVG and HTML.

# -----------------------------------------------------------------------------
print("\nDone.")
