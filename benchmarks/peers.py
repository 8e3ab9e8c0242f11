"""The peers graphc is measured against, and how each runs a case's function.

* **PyTorch** eager and ``torch.compile`` (inductor, C++/OpenMP on the CPU);
* **JAX** ``jax.jit`` (XLA's CPU backend), timed up to ``block_until_ready()``;
* **tinygrad** ``TinyJit`` (its CPU device compiles C with clang), timed up to
  the device's ``synchronize()``.

They are peers, never dependencies: each is imported only here, only when the
config asks for it, and a peer that cannot run is reported with the reason
(``n/a (jax not installed)``), never dropped. ``pip install -e '.[bench]'``
installs torch and jax; tinygrad is optional (``pip install tinygrad``) and
needs a ``clang`` on the PATH (a versioned ``clang-14``... is used through
``CC`` when plain ``clang`` is missing).
"""

from __future__ import annotations

import os
import shutil
import time

import numpy as np

from .harness import Config, Measurement


def _clang() -> str | None:
    """A clang for tinygrad's CPU device: ``$CC``, ``clang``, or the newest ``clang-N`` on the PATH."""
    if os.environ.get("CC"):
        return os.environ["CC"]
    if shutil.which("clang"):
        return "clang"
    for v in range(30, 9, -1):
        if shutil.which(f"clang-{v}"):
            return f"clang-{v}"
    return None


class Peers:
    """Which peers can run here, and why not when they cannot."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.torch = None
        self.torch_reason = ""
        if not cfg.torch:
            self.torch_reason = "disabled by --no-torch"
        else:
            try:
                import torch

                self.torch = torch
            except ModuleNotFoundError:
                self.torch_reason = "torch not installed"
            except Exception as e:  # a broken install is reported, not fatal
                self.torch_reason = f"torch import failed: {type(e).__name__}: {e}"
        self.compile_reason = ""
        if self.torch is None:
            self.compile_reason = self.torch_reason
        elif not cfg.use_torch_compile:
            self.compile_reason = (
                f"skipped: {cfg.mode} mode; --torch-compile adds it"
                if cfg.mode != "full"
                else "disabled by --no-torch-compile"
            )
        elif not any(shutil.which(c) for c in ("g++", "c++", "clang++", "gcc")):
            self.compile_reason = "no C++ compiler for torch.compile's CPU backend"
        self.jax, self.jax_reason = None, ""
        if not cfg.use_jax:
            self.jax_reason = "disabled by --no-jax" if cfg.jax is False else f"skipped: {cfg.mode} mode"
        else:
            try:
                import jax

                self.jax = jax
            except ModuleNotFoundError:
                self.jax_reason = "jax not installed"
            except Exception as e:
                self.jax_reason = f"jax import failed: {type(e).__name__}: {e}"
        self.tinygrad, self.tinygrad_reason = None, ""
        if not cfg.use_tinygrad:
            self.tinygrad_reason = "disabled by --no-tinygrad" if cfg.tinygrad is False else f"skipped: {cfg.mode} mode"
        else:
            cc = _clang()
            if cc is None:
                self.tinygrad_reason = "no clang for tinygrad's CPU device"
            else:
                os.environ.setdefault("CC", cc)
                try:
                    import tinygrad

                    self.tinygrad = tinygrad
                except ModuleNotFoundError:
                    self.tinygrad_reason = "tinygrad not installed"
                except Exception as e:
                    self.tinygrad_reason = f"tinygrad import failed: {type(e).__name__}: {e}"

    @staticmethod
    def _missing(reason: str) -> Measurement:
        if reason.startswith("skipped: "):
            return Measurement.skipped(reason[len("skipped: ") :])
        return Measurement.missing(reason)

    def torch_missing(self) -> Measurement | None:
        return None if self.torch is not None else Measurement.missing(self.torch_reason)

    def compile_missing(self) -> Measurement | None:
        if not self.compile_reason:
            return None
        return self._missing(self.compile_reason)

    def jax_missing(self) -> Measurement | None:
        return None if self.jax is not None else self._missing(self.jax_reason)

    def tinygrad_missing(self) -> Measurement | None:
        return None if self.tinygrad is not None else self._missing(self.tinygrad_reason)

    def env(self) -> dict:
        out = {}
        try:
            from backends.numpy import runtime

            out["graphc threads"] = runtime.num_threads()
        except Exception:
            pass
        if self.torch is not None:
            out["torch"] = self.torch.__version__
            out["torch threads"] = self.torch.get_num_threads()
        else:
            out["torch"] = self.torch_reason
        out["jax"] = self.jax.__version__ if self.jax is not None else self.jax_reason
        if self.tinygrad is not None:
            out["tinygrad"] = f"{getattr(self.tinygrad, '__version__', '?')} (CC={os.environ.get('CC')})"
        else:
            out["tinygrad"] = self.tinygrad_reason
        return out


def add_jax(impls, peers: Peers, jax_fn, inputs, check=None) -> None:
    """The ``jax`` implementation of ``impls``: ``jax.jit(jax_fn)`` on ``inputs`` (numpy arrays)
    placed on the device once, timed up to ``block_until_ready()``."""
    missing = peers.jax_missing()
    if missing is not None or jax_fn is None:
        impls.set("jax", missing or Measurement.missing("no JAX version of this case"))
        return

    def setup():
        jax = peers.jax
        fn = jax.jit(jax_fn)
        args = [jax.device_put(a) for a in inputs]
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        impls.notes["jax"] = f"first call (compiles) {time.perf_counter() - t0:.2f} s"
        if check is not None:
            verdict = check(np.asarray(out))
            if verdict.startswith("MISMATCH"):
                impls.row.notes.append(f"JAX jit result {verdict}")
        return lambda: jax.block_until_ready(fn(*args))

    impls.add("jax", setup)


def add_tinygrad(impls, peers: Peers, tg_fn, inputs, check=None) -> None:
    """The ``tinygrad`` implementation: ``TinyJit`` of ``tg_fn`` (tinygrad Tensors in, one Tensor
    out) on ``inputs`` realized on the CPU device once, timed up to the device's synchronize."""
    missing = peers.tinygrad_missing()
    if missing is not None or tg_fn is None:
        impls.set("tinygrad", missing or Measurement.missing("no tinygrad version of this case"))
        return

    def setup():
        from tinygrad import Device, Tensor, TinyJit

        args = [Tensor(np.ascontiguousarray(a)).realize() for a in inputs]
        fn = TinyJit(lambda *a: tg_fn(*a).realize())
        t0 = time.perf_counter()
        for _ in range(3):  # TinyJit captures its kernels on the second call
            out = fn(*args)
        dev = Device[out.device]
        dev.synchronize()
        impls.notes["tinygrad"] = f"first calls (compile, capture) {time.perf_counter() - t0:.2f} s"
        if check is not None:
            verdict = check(out.numpy())
            if verdict.startswith("MISMATCH"):
                impls.row.notes.append(f"tinygrad result {verdict}")

        def call():
            fn(*args)
            dev.synchronize()

        return call

    impls.add("tinygrad", setup)
