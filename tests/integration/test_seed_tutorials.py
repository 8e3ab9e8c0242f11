"""Every code snippet of the two seed tutorials, run on graphc.

The tutorials live in ``shared/seeds/``:

* ``000_*.txt`` — "PyTorch 学习笔记" (PyTorch study notes), IPython sessions
  (``In [n]: ...`` / ``Out[n]: ...``);
* ``003_*.txt`` — "60分钟入门PyTorch（一）——Tensors", the tensors chapter of
  the 60-minute blitz, scripts with ``print``.

Each test holds one snippet (or a small group that shares state) with its
text unchanged except ``import torch`` -> ``import graphc as torch`` (done once,
below). Where the tutorial shows an ``Out[n]`` we compare ``repr``; where it
prints, we capture stdout with ``capsys``. Expected texts are the tutorial's,
with ``torch.`` spelled ``graphc.`` (``torch.Size`` -> ``graphc.Size``,
``dtype=torch.float64`` -> ``dtype=graphc.float64``).

Deterministic outputs are compared exactly. Random ones (``rand``, ``randn``,
``empty``) are checked for shape, dtype, range and the layout of the printed
text (one line a row, PyTorch's indentation, four decimals), and the printed
numbers are checked against the tensor's values.

Two differences from the tutorial text are deliberate:

* 000's ``Out[67]`` shows ``grad_fn=<MeanBackward1>`` (PyTorch 1.1); PyTorch
  2.x prints ``MeanBackward0``, and so does graphc.
* The web copy of 003 lost some characters: ``data = [[12],[34]]`` is the
  blitz's ``data = [[1, 2],[3, 4]]`` and ``torch.ones(44)`` is
  ``torch.ones(4, 4)`` (the shown outputs are 2x2 and 4x4), and the printed
  outputs lost their continuation-line indentation. We use the original code
  and PyTorch's real (indented) output.
"""

# fmt: off
# (The snippets keep the tutorials' spelling, and expected outputs stay one
# printed line per source line: the formatter would rewrite both.)

from __future__ import annotations

import re

import numpy as np
import pytest

import graphc as torch  # the tutorials' `import torch`, and the only change

# ----------------------------------------------------------------------------
# helpers


def assert_tensor_text(text: str, t, decimals: int = 4, suffix: str = "") -> None:
    """Check the printed form of a random 1-d or 2-d float tensor ``t``.

    The text must be ``tensor(`` + rows, one line a row (2-d), continuation
    lines indented under the first ``[``, every number with ``decimals``
    decimals, then ``suffix`` and ``)``; the numbers must be ``t``'s values
    rounded to those decimals.
    """
    assert text.startswith("tensor(["), text
    assert text.endswith(suffix + ")"), text
    body = text[len("tensor(") : len(text) - len(suffix) - 1]
    assert body.endswith("]"), text  # nothing printed after the values but ``suffix``
    lines = body.split("\n")
    shape = tuple(t.shape)
    if len(shape) == 2:
        assert len(lines) == shape[0], text
        assert lines[0].startswith("[["), text
        for line in lines[1:]:
            assert line.startswith(" " * len("tensor([") + "["), text
            assert not line.startswith(" " * (len("tensor([") + 1)), text
        for line in lines:
            assert len(re.findall(r"-?\d+\.\d+", line)) == shape[1], text
    else:
        assert len(shape) == 1, shape
        assert lines[0].startswith("[") and not lines[0].startswith("[["), text
        for line in lines[1:]:
            assert line.startswith(" " * len("tensor([")), text
    numbers = re.findall(r"-?\d+\.\d+(?:e[+-]\d+)?", body)
    assert all(re.fullmatch(rf"-?\d+\.\d{{{decimals}}}", n) for n in numbers), text
    printed = np.array([float(n) for n in numbers])
    values = np.asarray(t.detach().numpy(), dtype=np.float64).reshape(-1)
    assert printed.shape == values.shape, text
    np.testing.assert_allclose(printed, values, atol=0.6 * 10.0**-decimals)


@pytest.fixture(autouse=True)
def _seed():
    """Random snippets become reproducible; the checks do not depend on the seed."""
    torch.manual_seed(0)
    yield


# ============================================================================
# 000 — PyTorch 学习笔记
# ============================================================================

# -- Tensor ------------------------------------------------------------------


def test_000_empty():
    # 构造一个 5x3 的矩阵
    x = torch.empty(5, 3)  # In [2]
    out = repr(x)  # In [3]: x  (uninitialized memory: any values)
    assert x.size() == torch.Size([5, 3])
    assert x.dtype == torch.float32
    assert out.startswith("tensor([[") and out.endswith("]])")
    assert out.count("\n") == 4  # one line a row
    assert len(re.findall(r"-?\d+\.?\d*(?:e[+-]\d+)?|nan|inf", out)) == 15


def test_000_rand():
    # 创建一个随机初始化的矩阵
    x = torch.rand(5, 3)  # In [4]
    assert x.shape == (5, 3) and x.dtype == torch.float32
    v = x.numpy()
    assert ((v >= 0) & (v < 1)).all()
    assert_tensor_text(repr(x), x)  # In [5]: x


def test_000_tensor_from_data():
    # 直接创建一个 tensor
    x = torch.tensor([5.5, 3])  # In [8]
    assert repr(x) == "tensor([5.5000, 3.0000])"  # Out[9]


def test_000_new_ones_randn_like_size():
    x = torch.tensor([5.5, 3])
    # 也可以在已存在的 tensor 的基础上创建一个变量
    x = x.new_ones(5, 3, dtype=torch.double)  # In [11]
    assert repr(x) == (  # Out[12]
        "tensor([[1., 1., 1.],\n"
        "        [1., 1., 1.],\n"
        "        [1., 1., 1.],\n"
        "        [1., 1., 1.],\n"
        "        [1., 1., 1.]], dtype=graphc.float64)"
    )

    x = torch.randn_like(x, dtype=torch.float)  # In [13]
    assert x.dtype == torch.float32 and x.shape == (5, 3)
    assert_tensor_text(repr(x), x)  # Out[14]
    assert abs(float(x.mean())) < 2 and 0 < float(x.std()) < 3

    assert x.size() == torch.Size([5, 3])  # In [15]
    assert repr(x.size()) == "graphc.Size([5, 3])"  # Out[15]: torch.Size([5, 3])


# -- 原地计算 (in-place) ---------------------------------------------------------


def test_000_inplace_add_():
    x = torch.randn_like(torch.ones(5, 3, dtype=torch.double), dtype=torch.float)
    x = x.new_ones(5, 3)  # In [16]
    assert repr(x) == (  # Out[17]: float32, so no dtype suffix
        "tensor([[1., 1., 1.],\n"
        "        [1., 1., 1.],\n"
        "        [1., 1., 1.],\n"
        "        [1., 1., 1.],\n"
        "        [1., 1., 1.]])"
    )

    y = torch.rand(5, 3)  # In [19]
    assert_tensor_text(repr(y), y)  # Out[20]
    before = y.numpy().copy()

    result = y.add_(x)  # In [21]
    assert result is y  # in-place: returns the mutated tensor itself
    np.testing.assert_allclose(y.numpy(), before + 1)
    assert ((y.numpy() >= 1) & (y.numpy() < 2)).all()
    assert_tensor_text(repr(result), y)  # Out[21]: 1.xxxx values


# -- 调整 shape (view) -----------------------------------------------------------


def test_000_view():
    x = torch.randn(4, 4)  # In [22]
    assert_tensor_text(repr(x), x)  # Out[23]

    y = x.view(16)  # In [24]
    text = repr(y)  # Out[25]: 16 values, 8 on each of two lines
    assert_tensor_text(text, y)
    assert len(text.split("\n")) == 2
    assert y.size() == torch.Size([16])  # In [26]
    assert repr(y.size()) == "graphc.Size([16])"

    z = x.view(-1, 8)  # In [27]
    assert_tensor_text(repr(z), z)  # Out[28]
    assert repr(z.size()) == "graphc.Size([2, 8])"  # Out[29]

    np.testing.assert_array_equal(y.numpy(), x.numpy().reshape(16))
    np.testing.assert_array_equal(z.numpy(), x.numpy().reshape(2, 8))
    # a view shares its base's memory
    x.add_(1)
    np.testing.assert_array_equal(y.numpy(), x.numpy().reshape(16))
    np.testing.assert_array_equal(z.numpy(), x.numpy().reshape(2, 8))


# -- NumPy Array 与 PyTorch Tensor 互换 (the numpy bridge) ----------------------


def test_000_tensor_to_numpy_shares_memory():
    a = torch.ones(5)  # In [30]
    assert repr(a) == "tensor([1., 1., 1., 1., 1.])"  # Out[31]

    b = a.numpy()  # In [32]
    assert repr(b) == "array([1., 1., 1., 1., 1.], dtype=float32)"  # Out[33]

    # 且在 a 的基础上修改，b 的值也会变化
    assert repr(a.add_(a)) == "tensor([2., 2., 2., 2., 2.])"  # In [34] / Out[34]
    assert repr(b) == "array([2., 2., 2., 2., 2.], dtype=float32)"  # Out[35]


def test_000_numpy_to_tensor():
    import numpy as np  # In [36]

    a = np.ones(5)  # In [37]
    assert repr(a) == "array([1., 1., 1., 1., 1.])"  # Out[38]

    b = torch.from_numpy(a)  # In [39]
    assert repr(b) == "tensor([1., 1., 1., 1., 1.], dtype=graphc.float64)"  # Out[40]

    a += 1  # shares memory the other way too
    assert repr(b) == "tensor([2., 2., 2., 2., 2.], dtype=graphc.float64)"


# -- CUDA Tensors ------------------------------------------------------------------


def test_000_cuda():
    x = torch.randn(4, 4)
    available = torch.cuda.is_available()  # In [41]
    assert isinstance(available, bool)

    device = torch.device("cuda")  # In [42]: naming the device needs no GPU
    assert device.type == "cuda"

    if torch.cuda.is_available():
        y = torch.ones_like(x, device=device)  # In [43]
        assert repr(y) == (  # Out[44]
            "tensor([[1., 1., 1., 1.],\n"
            "        [1., 1., 1., 1.],\n"
            "        [1., 1., 1., 1.],\n"
            "        [1., 1., 1., 1.]], device='cuda:0')"
        )
    else:
        with pytest.raises(torch.DeviceError, match="CUDA is not available"):
            torch.ones_like(x, device=device)  # In [43]


# -- 自动求导机制 (autograd) ---------------------------------------------------------


def test_000_requires_grad():
    # 设定 requires_grad = True
    x = torch.ones(2, 2, requires_grad=True)  # In [45]
    assert repr(x) == "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"  # Out[46]


def test_000_requires_grad_(capsys):
    # 原地修改 requires_grad 属性
    a = torch.randn(2, 2)  # In [55]
    a = ((a*3)/(a-1))  # In [56]
    print(a.requires_grad)  # In [57]
    assert capsys.readouterr().out == "False\n"

    out = a.requires_grad_(True)  # In [58]
    assert out is a
    assert_tensor_text(repr(out), a, suffix=", requires_grad=True")  # Out[58]
    assert a.requires_grad is True  # In [59] / Out[59]: True
    assert a.is_leaf and a.grad_fn is None


def test_000_backward(capsys):
    # 求梯度
    x = torch.ones(2, 2, requires_grad=True)  # In [60]
    assert repr(x) == "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"  # Out[61]

    y = x + 2  # In [62]
    assert repr(y) == "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)"  # Out[63]

    print(y.grad_fn)  # In [64]
    assert re.fullmatch(r"<AddBackward0 object at 0x[0-9a-fA-F]+>\n", capsys.readouterr().out)

    z = y * y * 3  # In [65]
    out = z.mean()  # In [66]
    # Out[67]: the tutorial (PyTorch 1.1) shows MeanBackward1; PyTorch 2.x prints MeanBackward0
    assert repr(out) == "tensor(27., grad_fn=<MeanBackward0>)"

    out.backward()  # In [68]

    print(x.grad)  # In [69]
    assert capsys.readouterr().out == "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])\n"
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 4.5, np.float32))


def test_000_no_grad(capsys):
    x = torch.ones(2, 2, requires_grad=True)
    # 使用 with torch.no_grad() 关闭 requires_grad
    assert x.requires_grad is True  # In [70] / Out[70]: True
    assert (x ** 2).requires_grad is True  # In [71] / Out[71]: True

    with torch.no_grad():  # In [72]
        print((x ** 2).requires_grad)
    assert capsys.readouterr().out == "False\n"


def test_000_detach():
    # The notes' text: .detach() takes a tensor out of the computation history.
    x = torch.ones(2, 2, requires_grad=True)
    y = (x * 2).detach()
    assert y.requires_grad is False and y.grad_fn is None
    assert repr(y) == "tensor([[2., 2.],\n        [2., 2.]])"


# ============================================================================
# 003 — 60分钟入门PyTorch（一）——Tensors
# ============================================================================


def test_003_tensor_from_data_and_numpy():
    import numpy as np

    # 直接从数据创建 (the web copy shows `[[12],[34]]`: commas lost)
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    assert x_data.dtype == torch.int64
    assert repr(x_data) == "tensor([[1, 2],\n        [3, 4]])"

    # 从Numpy创建
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    assert x_np.dtype == torch.int64
    np.testing.assert_array_equal(x_np.numpy(), np_array)


def test_003_from_other_tensor(capsys):
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)

    x_ones = torch.ones_like(x_data)  # retains the properties of x_data
    print(f"Ones Tensor: \n {x_ones} \n")

    x_rand = torch.rand_like(x_data, dtype=torch.float)  # overrides the datatype of x_data
    print(f"Random Tensor: \n {x_rand} \n")

    out = capsys.readouterr().out
    ones_part, rand_part = out.split("Random Tensor: \n ")
    assert ones_part == "Ones Tensor: \n tensor([[1, 1],\n        [1, 1]]) \n\n"
    assert x_ones.dtype == torch.int64
    assert x_rand.dtype == torch.float32 and x_rand.shape == (2, 2)
    assert ((x_rand.numpy() >= 0) & (x_rand.numpy() < 1)).all()
    assert rand_part.endswith(" \n\n")
    assert_tensor_text(rand_part[: -len(" \n\n")], x_rand)


def test_003_from_shape(capsys):
    shape = (2,3,)
    rand_tensor = torch.rand(shape)
    ones_tensor = torch.ones(shape)
    zeros_tensor = torch.zeros(shape)

    print(f"Random Tensor: \n {rand_tensor} \n")
    print(f"Ones Tensor: \n {ones_tensor} \n")
    print(f"Zeros Tensor: \n {zeros_tensor}")

    out = capsys.readouterr().out
    rand_part, rest = out.split(" \n\nOnes Tensor: \n ")
    assert rand_part.startswith("Random Tensor: \n ")
    assert_tensor_text(rand_part[len("Random Tensor: \n ") :], rand_tensor)
    assert rand_tensor.shape == (2, 3)
    assert rest == (
        "tensor([[1., 1., 1.],\n"
        "        [1., 1., 1.]]) \n"
        "\n"
        "Zeros Tensor: \n"
        " tensor([[0., 0., 0.],\n"
        "        [0., 0., 0.]])\n"
    )


def test_003_attributes(capsys):
    tensor = torch.rand(3,4)

    print(f"Shape of tensor: {tensor.shape}")
    print(f"Datatype of tensor: {tensor.dtype}")
    print(f"Device tensor is stored on: {tensor.device}")

    assert capsys.readouterr().out == (
        "Shape of tensor: graphc.Size([3, 4])\n"
        "Datatype of tensor: graphc.float32\n"
        "Device tensor is stored on: cpu\n"
    )


def test_003_move_to_gpu_if_available():
    tensor = torch.rand(3, 4)

    # We move our tensor to the GPU if available
    if torch.cuda.is_available():
        tensor = tensor.to('cuda')

    assert tensor.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert tensor.shape == (3, 4)


def test_003_to_cuda_without_gpu_raises():
    if torch.cuda.is_available():
        pytest.skip("a GPU is available here")
    with pytest.raises(torch.DeviceError, match="CUDA is not available"):
        torch.rand(3, 4).to('cuda')


ONES_COL1_ZERO = (
    "tensor([[1., 0., 1., 1.],\n"
    "        [1., 0., 1., 1.],\n"
    "        [1., 0., 1., 1.],\n"
    "        [1., 0., 1., 1.]])"
)


def _ones_col1_zero():
    tensor = torch.ones(4, 4)
    tensor[:, 1] = 0
    return tensor


def test_003_indexing_and_slicing(capsys):
    tensor = torch.ones(4, 4)  # the web copy shows `torch.ones(44)`
    tensor[:,1] = 0
    print(tensor)
    assert capsys.readouterr().out == ONES_COL1_ZERO + "\n"


def test_003_cat(capsys):
    tensor = _ones_col1_zero()
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    print(t1)
    assert capsys.readouterr().out == (
        "tensor([[1., 0., 1., 1., 1., 0., 1., 1., 1., 0., 1., 1.],\n"
        "        [1., 0., 1., 1., 1., 0., 1., 1., 1., 0., 1., 1.],\n"
        "        [1., 0., 1., 1., 1., 0., 1., 1., 1., 0., 1., 1.],\n"
        "        [1., 0., 1., 1., 1., 0., 1., 1., 1., 0., 1., 1.]])\n"
    )


def test_003_stack():
    # The text: torch.stack joins tensors along a new dim, unlike torch.cat.
    tensor = _ones_col1_zero()
    s = torch.stack([tensor, tensor, tensor])
    assert s.shape == torch.Size([3, 4, 4])
    assert repr(torch.stack([tensor, tensor], dim=1).shape) == "graphc.Size([4, 2, 4])"


def test_003_mul(capsys):
    tensor = _ones_col1_zero()
    # This computes the element-wise product
    print(f"tensor.mul(tensor) \n  {tensor.mul(tensor)} \n")
    # Alternative syntax:
    print(f"tensor * tensor \n {tensor * tensor}")
    assert capsys.readouterr().out == (
        "tensor.mul(tensor) \n  " + ONES_COL1_ZERO + " \n\n"
        "tensor * tensor \n " + ONES_COL1_ZERO + "\n"
    )


def test_003_matmul(capsys):
    tensor = _ones_col1_zero()
    print(f"tensor.matmul(tensor.T) \n {tensor.matmul(tensor.T)} \n")
    # Alternative syntax:
    print(f"tensor @ tensor.T \n {tensor @ tensor.T}")
    threes = (
        "tensor([[3., 3., 3., 3.],\n"
        "        [3., 3., 3., 3.],\n"
        "        [3., 3., 3., 3.],\n"
        "        [3., 3., 3., 3.]])"
    )
    assert capsys.readouterr().out == (
        "tensor.matmul(tensor.T) \n " + threes + " \n\n"
        "tensor @ tensor.T \n " + threes + "\n"
    )


def test_003_inplace_add_(capsys):
    tensor = _ones_col1_zero()
    print(tensor, "\n")
    tensor.add_(5)
    print(tensor)
    assert capsys.readouterr().out == (
        ONES_COL1_ZERO + " \n\n"
        "tensor([[6., 5., 6., 6.],\n"
        "        [6., 5., 6., 6.],\n"
        "        [6., 5., 6., 6.],\n"
        "        [6., 5., 6., 6.]])\n"
    )


def test_003_tensor_to_numpy(capsys):
    t = torch.ones(5)
    print(f"t: {t}")
    n = t.numpy()
    print(f"n: {n}")
    assert capsys.readouterr().out == "t: tensor([1., 1., 1., 1., 1.])\nn: [1. 1. 1. 1. 1.]\n"

    # tensor的变化反映在NumPy数组中
    t.add_(1)
    print(f"t: {t}")
    print(f"n: {n}")
    assert capsys.readouterr().out == "t: tensor([2., 2., 2., 2., 2.])\nn: [2. 2. 2. 2. 2.]\n"


def test_003_numpy_to_tensor(capsys):
    n = np.ones(5)
    t = torch.from_numpy(n)

    # NumPy数组的变化反映在tensor中
    np.add(n, 1, out=n)
    print(f"t: {t}")
    print(f"n: {n}")
    assert capsys.readouterr().out == (
        "t: tensor([2., 2., 2., 2., 2.], dtype=graphc.float64)\n"
        "n: [2. 2. 2. 2. 2.]\n"
    )
