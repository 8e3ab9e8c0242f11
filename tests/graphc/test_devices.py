"""Default device: set_default_device and GRAPHC_DEVICE decide where factories put tensors."""

import pytest

import graphc


def test_default_device_is_cpu_and_can_be_set_back():
    assert graphc.get_default_device() == graphc.device("cpu")
    assert graphc.zeros(2).device == graphc.device("cpu")


def test_default_cuda_without_gpu_raises_at_the_factory():
    if graphc.cuda.is_available():
        pytest.skip("a GPU is present")
    graphc.set_default_device("cuda")
    try:
        with pytest.raises(graphc.DeviceError, match="CUDA is not available"):
            graphc.ones(3)
    finally:
        graphc.set_default_device("cpu")
    assert graphc.ones(3).device.type == "cpu"
