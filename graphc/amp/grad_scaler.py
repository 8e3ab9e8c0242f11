"""``graphc.amp.GradScaler``: dynamic loss scaling for float16 training, with PyTorch's rules.

``scale(loss)`` multiplies by the scale; ``step(optimizer)`` unscales the gradients (once,
``unscale_``), and runs ``optimizer.step()`` only when every gradient is finite;
``update()`` halves the scale after an overflow (``backoff_factor``) and doubles it after
``growth_interval`` clean steps (``growth_factor``).

The scale and the growth counter are tensors updated with tensor ops, and under
``@graphc.compile`` the skip is made of tensor ops too: the optimizer steps into the
parameters and its state, then every value it wrote is selected back to its value before
the step where an overflow was found. So a whole scaled training step (forward, backward,
unscale, conditional step, scale update) compiles into one graph. Eagerly, the skip is a
plain ``if`` on the overflow flag, as in PyTorch.
"""

from __future__ import annotations

import enum
from collections import defaultdict

import numpy as np

from ir import dtypes as dt

from .. import _functional as _F
from .._dispatch import active_tracer
from .._factories import _from_array, full, zeros
from .._grad_mode import no_grad
from .._tensor import Tensor

__all__ = ["GradScaler", "OptState"]


def _real(arr, dtype, device) -> Tensor:
    t = _from_array(arr, dtype)
    return t if device is None or device.type == "cpu" else t.to(device)


class OptState(enum.Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _tensors_of(value):
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors_of(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors_of(v)


class GradScaler:
    """Scale the loss so float16 gradients do not underflow; skip steps whose gradients overflowed.

    >>> scaler = graphc.amp.GradScaler("cuda")
    >>> with graphc.autocast("cuda"):
    ...     loss = model(x).sum()
    >>> scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True):
        self._device = device
        self._enabled = enabled
        if growth_factor <= 1.0:
            raise ValueError("The growth factor must be > 1.0.")
        if backoff_factor >= 1.0:
            raise ValueError("The backoff factor must be < 1.0.")
        self._init_scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._scale = None
        self._growth_tracker = None
        self._per_optimizer = defaultdict(lambda: {"stage": OptState.READY, "found_inf": None})

    # -- the scale ---------------------------------------------------------------------------
    def _lazy_init(self, like: Tensor) -> None:
        """Create the scale and growth counter as real tensors on ``like``'s device (also while
        tracing: they persist across calls and are lifted into the trace like parameters)."""
        if self._scale is None:
            self._scale = _real(np.array(self._init_scale, dtype=np.float32), dt.float32, like.device)
            self._growth_tracker = _real(np.array(0, dtype=np.int32), dt.int32, like.device)

    def scale(self, outputs):
        """``outputs`` (a tensor or an iterable of them) multiplied by the current scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            self._lazy_init(outputs)
            return _F.mul(outputs, _F._to(self._scale, outputs.dtype))
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if hasattr(outputs, "__iter__"):
            return map(self.scale, outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale.item())

    def is_enabled(self) -> bool:
        return self._enabled

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, value: float) -> None:
        self._growth_factor = float(value)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, value: float) -> None:
        self._backoff_factor = float(value)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, value: int) -> None:
        self._growth_interval = int(value)

    # -- unscale / step / update ---------------------------------------------------------------
    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale in place and note whether any is inf/NaN."""
        if not self._enabled:
            return
        state = self._per_optimizer[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        if self._scale is None:
            raise RuntimeError("Attempted unscale_ but _scale is None.  This may indicate your script did not use "
                               "scaler.scale(loss or outputs) earlier in the iteration.")
        found = zeros((), dtype=dt.float32, device=self._scale.device if self._scale._data is not None else None)
        with no_grad():
            inv = _F.reciprocal(_F._to(self._scale, dt.float64))
            for group in optimizer.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if g.dtype is dt.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    g.mul_(_F._to(_F._to(inv, dt.float32), g.dtype))  # float32(1 / scale), as PyTorch
                    bad = _F.logical_not(_F.all(_F.isfinite(g)))
                    found = _F.maximum(found, _F._to(bad, dt.float32))
        state["found_inf"] = found
        state["stage"] = OptState.UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step(*args, **kwargs)`` unless the unscaled gradients hold inf/NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        state = self._per_optimizer[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        found = state["found_inf"]
        if active_tracer() is None:
            result = optimizer.step(*args, **kwargs) if not found.item() else None
        else:
            result = self._traced_step(optimizer, found, args, kwargs)
        state["stage"] = OptState.STEPPED
        return result

    @staticmethod
    def _traced_step(optimizer, found, args, kwargs):
        """The step as data: every tensor the optimizer writes is put back where ``found`` is set."""
        targets = []
        for group in optimizer.param_groups:
            for p in group["params"]:
                targets.append(p)
                targets.extend(_tensors_of(optimizer.state.get(p, {})))
        with no_grad():
            before = [t.detach().clone() for t in targets]
            result = optimizer.step(*args, **kwargs)
            skip = _F.ne(found, 0)
            for t, old in zip(targets, before):
                t.copy_(_F.where(skip, old, t))
        return result

    def update(self, new_scale=None) -> None:
        """Back the scale off after an overflow, grow it after ``growth_interval`` clean steps
        (or set it to ``new_scale``)."""
        if not self._enabled:
            return
        if self._scale is None:
            return
        with no_grad():
            if new_scale is not None:
                value = new_scale if isinstance(new_scale, Tensor) else full((), float(new_scale), dtype=dt.float32)
                self._scale.copy_(value)
            else:
                founds = [s["found_inf"] for s in self._per_optimizer.values() if s["found_inf"] is not None]
                if not founds:
                    raise AssertionError("No inf checks were recorded prior to update.")
                found = founds[0]
                for f in founds[1:]:
                    found = _F.maximum(found, f)
                overflow = _F.ne(found, 0)
                tracker = _F.add(self._growth_tracker, 1)
                grow = _F.logical_and(_F.logical_not(overflow), _F.ge(tracker, self._growth_interval))
                scale = self._scale
                new = _F.where(overflow, _F.mul(scale, self._backoff_factor),
                               _F.where(grow, _F.mul(scale, self._growth_factor), scale))
                new_tracker = _F.where(_F.logical_or(overflow, grow), _F.mul(tracker, 0), tracker)
                self._scale.copy_(new)
                self._growth_tracker.copy_(new_tracker)
        self._per_optimizer.clear()

    # -- state dicts ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {
            "scale": self.get_scale(),
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": 0 if self._growth_tracker is None else int(self._growth_tracker.item()),
        }

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        if self._scale is not None:
            with no_grad():
                self._scale.fill_(self._init_scale)
                self._growth_tracker.fill_(int(state_dict["_growth_tracker"]))
        else:
            self._scale = _real(np.array(self._init_scale, dtype=np.float32), dt.float32, None)
            self._growth_tracker = _real(np.array(int(state_dict["_growth_tracker"]), dtype=np.int32), dt.int32, None)
