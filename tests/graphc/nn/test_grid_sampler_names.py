"""``torch.grid_sampler_2d/3d``: ``F.grid_sample`` with integer modes (PyTorch's aten spellings)."""

import numpy as np
import pytest

import graphc
import graphc.nn.functional as F


@pytest.mark.parametrize("mode,pad", [(0, 0), (1, 1), (2, 2), (0, 2)])
def test_grid_sampler_2d_is_grid_sample_with_integer_modes(mode, pad):
    rng = np.random.default_rng(0)
    x = graphc.tensor(rng.standard_normal((2, 3, 5, 4)))
    grid = graphc.tensor(rng.uniform(-1.2, 1.2, (2, 3, 6, 2)))
    names = (("bilinear", "nearest", "bicubic")[mode], ("zeros", "border", "reflection")[pad])
    want = F.grid_sample(x, grid, *names, align_corners=True).numpy()
    np.testing.assert_array_equal(graphc.grid_sampler_2d(x, grid, mode, pad, True).numpy(), want)


def test_grid_sampler_3d_and_errors():
    rng = np.random.default_rng(1)
    x = graphc.tensor(rng.standard_normal((1, 2, 3, 4, 5)))
    grid = graphc.tensor(rng.uniform(-1, 1, (1, 2, 2, 2, 3)))
    want = F.grid_sample(x, grid, "bilinear", "border", align_corners=False).numpy()
    np.testing.assert_array_equal(graphc.grid_sampler_3d(x, grid, 0, 1, False).numpy(), want)
    with pytest.raises(ValueError, match="interpolation_mode"):
        graphc.grid_sampler_2d(x[0], grid[0, 0], 5, 0, True)
    with pytest.raises(RuntimeError, match="4-D input"):
        graphc.grid_sampler_2d(x, grid, 0, 0, True)
