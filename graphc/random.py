"""Random state: ``manual_seed``, ``seed``, ``Generator`` and per-op seeds.

Random primitives take their seed as an input (``random_uniform(seed)``), so a
compiled function can be fed a fresh seed on every call. The default
generator hands out those seeds: a counter-based stream started by
``manual_seed``, so a seeded program draws the same numbers every run.
"""

from __future__ import annotations

import ast
import contextlib

import numpy as np

from ir import dtypes as dt

from . import _state
from ._tensor import Tensor


def _traced(gen, what: str) -> None:
    """``what`` changes or reads a generator's state while a compiled function traces: the
    trace remembers the state (restored if it is abandoned), and the function runs eagerly
    from its next call on (a replay would not repeat it: graphc._state.note_effect)."""
    trace = _state.active_tracer()
    if trace is not None:
        trace.save_rng(gen)
        _state.note_effect(what)


class Generator:
    """A source of seeds for random ops, like ``torch.Generator``."""

    def __init__(self, device="cpu"):
        self.device = device
        self.manual_seed(np.random.SeedSequence().entropy % (2**63))

    def manual_seed(self, seed: int) -> "Generator":
        """Restart the stream from ``seed``: an int in [-2**63, 2**64), as PyTorch (a negative
        seed is taken modulo 2**64, which ``initial_seed`` reports)."""
        if _state._STATE.traces:
            _traced(self, "graphc.manual_seed()")
        if isinstance(seed, Tensor):
            seed = seed.item()
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        seed = int(seed)
        if not -(2**63) <= seed < 2**64:
            raise ValueError("Overflow when unpacking long long")
        self._initial = seed % 2**64
        self._rng = np.random.default_rng(self._initial)
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._initial

    def next_seed(self) -> int:
        """A 63-bit seed for the next random op."""
        return int(self._rng.integers(0, 2**63 - 1))

    def numpy_rng(self) -> np.random.Generator:
        """A numpy generator drawn from this stream (for host-side shuffles)."""
        if _state._STATE.traces:
            _traced(self, "a host-side random draw (a sampler's shuffle)")
        return np.random.default_rng(self.next_seed())

    def get_state(self):
        """The generator's state as a uint8 tensor (its text, as bytes)."""
        if _state._STATE.traces:
            _traced(self, "graphc.get_rng_state()")
        state = self._rng.bit_generator.state
        return Tensor._wrap(np.frombuffer(repr(state).encode(), dtype=np.uint8).copy(), dt.uint8)

    def set_state(self, new_state) -> None:
        """Restore a state from ``get_state``; anything else raises PyTorch's TypeError (not a
        uint8 tensor) or RuntimeError (not a state this generator wrote)."""
        if _state._STATE.traces:
            _traced(self, "graphc.set_rng_state()")
        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a graphc.ByteTensor, but got {type(new_state).__name__}")
        if new_state.dtype is not dt.uint8:
            raise TypeError("RNG state must be a graphc.ByteTensor")
        try:
            state = ast.literal_eval(bytes(np.asarray(new_state._host(), dtype=np.uint8)).decode())
            self._rng.bit_generator.state = state
        except (ValueError, TypeError, SyntaxError, KeyError, UnicodeDecodeError, MemoryError, RecursionError):
            raise RuntimeError(
                f"Invalid RNG state: expected a state from Generator.get_state() ({len(self.get_state())} bytes), "
                f"got {new_state.numel()} bytes"
            ) from None


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator so random ops repeat their numbers."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


def next_seed(generator: Generator | None = None) -> int:
    return (generator or default_generator).next_seed()


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller="fork_rng", _devices_kw="devices", device_type="cuda"):
    """Restore the default generator's state on exit, so random draws inside the block do not
    change the numbers drawn after it (``torch.random.fork_rng``; graphc has one generator for
    every device, so ``devices`` is accepted and ignored)."""
    if not enabled:
        yield
        return
    state = default_generator.get_state()
    try:
        yield
    finally:
        default_generator.set_state(state)
