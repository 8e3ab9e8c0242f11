"""Ahead-of-time compilation of generated kernels for a named GPU target, with no GPU present.

``compile_ahead(kernel, "sm_90")`` returns the PTX Triton builds for that
target (``.target sm_90a`` for Hopper). Dense inputs are assumed (the ``C<j>``
flags set), with the kernel's default tile configuration for a GPU.

Where kernels run on a GPU, compilation happens in this process. Under
``TRITON_INTERPRET=1`` it happens in a helper process
(:mod:`backends.triton._aot_worker`, started once and reused) without the
interpreter: Triton's interpreter permanently patches ``triton.language`` the
first time a kernel calls one of Triton's own jit helpers (``tl.rand``...),
after which ``triton.compile`` fails in that process (measured with Triton
3.9: ``'value' object has no attribute 'dtype'``). A fresh process with
``TRITON_INTERPRET=1`` set compiles fine; the worker clears it anyway.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading

import triton

from ir.errors import UnsupportedError

from . import _env
from .jit import load_kernel

_worker = None
_worker_lock = threading.Lock()


def parse_target(target: str):
    """``"sm_90"`` / ``"sm_90a"`` / ``"cuda:90"`` -> ("cuda", 90, 32)."""
    t = str(target).strip().lower()
    if t.startswith("sm_"):
        arch = int("".join(ch for ch in t[3:] if ch.isdigit()))
        return ("cuda", arch, 32)
    if t.startswith("cuda:"):
        return ("cuda", int(t[5:]), 32)
    raise UnsupportedError(f"unknown GPU target {target!r}; expected e.g. 'sm_90' or 'sm_80'")


def _request(kernel, target):
    sig, consts = kernel.aot_signature()
    options = consts.pop("__options__", {})
    return {
        "source": kernel.source,
        "fn": kernel.fn_name,
        "signature": sig,
        "constexprs": consts,
        "options": options,
        "target": list(parse_target(target)),
    }


def _in_process(req) -> str:
    fn = load_kernel(req["source"], req["fn"], "aot")
    backend, arch, warp = req["target"]
    # constexprs keyed by argument position: what every Triton 3.x accepts (3.9 also takes names)
    consts = {(fn.arg_names.index(k),): v for k, v in req["constexprs"].items()}
    ast = triton.compiler.ASTSource(fn=fn, signature=req["signature"], constexprs=consts)
    compiled = triton.compile(
        ast, target=triton.backends.compiler.GPUTarget(backend, arch, warp), options=req["options"] or None
    )
    return compiled.asm["ptx"]


class _Worker:
    def __init__(self):
        env = dict(os.environ)
        env.pop("TRITON_INTERPRET", None)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_aot_worker.py")
        self.proc = subprocess.Popen(
            [sys.executable, script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
            bufsize=1,
        )
        self.lock = threading.Lock()

    def compile(self, req) -> str:
        with self.lock:
            if self.proc.poll() is not None:
                raise RuntimeError("the AOT compile worker exited")
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the AOT compile worker exited without a reply")
        reply = json.loads(line)
        if not reply["ok"]:
            raise UnsupportedError(f"ahead-of-time compilation failed: {reply['error']}\n{reply.get('trace', '')}")
        return reply["ptx"]

    def close(self):
        try:
            if self.proc.poll() is None:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()
        finally:
            for f in (self.proc.stdin, self.proc.stdout):
                try:
                    f.close()
                except Exception:
                    pass


def _get_worker() -> _Worker:
    global _worker
    with _worker_lock:
        if _worker is None or _worker.proc.poll() is not None:
            _worker = _Worker()
            atexit.register(_worker.close)
        return _worker


def compile_ahead(kernel, target: str = "sm_90") -> str:
    """PTX text of ``kernel`` compiled for ``target`` (no GPU needed)."""
    req = _request(kernel, target)
    if _env.interpreting():
        return _get_worker().compile(req)
    return _in_process(req)
