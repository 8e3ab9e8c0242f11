"""``graphc.utils.hooks``: the handle ``register_*_hook`` returns (PyTorch's ``torch.utils.hooks``)."""

from .._hooks import RemovableHandle

__all__ = ["RemovableHandle"]
