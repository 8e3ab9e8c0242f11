"""A helper process that compiles Triton kernels ahead of time (run by ``backends.triton.aot``).

Triton's interpreter patches ``triton.language`` for good once it has run a
kernel that calls one of Triton's own ``@jit`` helpers (``tl.rand``...), and
the compiler then fails in that process. So when the parent process runs
kernels under the interpreter, ahead-of-time compilation happens here, in a
process started without ``TRITON_INTERPRET``.

Protocol: one JSON request per stdin line
``{"source", "fn", "signature", "constexprs", "options", "target": [backend, arch, warp]}``,
one JSON reply per stdout line ``{"ok": true, "ptx": ...}`` or ``{"ok": false, "error": ...}``.
This file imports only triton (not graphc).
"""

import json
import linecache
import os
import sys
import traceback


def _compile(req, cache):
    import triton  # optional heavy dependency: only the worker process imports it, on its first request
    import triton.language as tl  # (the same)
    from triton.language.extra import libdevice  # (the same)

    src = req["source"]
    fn = cache.get(src)
    if fn is None:
        filename = f"<graphc-aot-{len(cache)}>"
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        ns = {"triton": triton, "tl": tl, "libdevice": libdevice, "__name__": f"graphc_aot_{len(cache)}"}
        exec(compile(src, filename, "exec"), ns)
        fn = cache[src] = ns[req["fn"]]
    backend, arch, warp = req["target"]
    target = triton.backends.compiler.GPUTarget(backend, arch, warp)
    # constexprs keyed by argument position: what every Triton 3.x accepts (3.9 also takes names)
    consts = {(fn.arg_names.index(k),): v for k, v in req["constexprs"].items()}
    ast = triton.compiler.ASTSource(fn=fn, signature=req["signature"], constexprs=consts)
    compiled = triton.compile(ast, target=target, options=req.get("options") or None)
    return compiled.asm["ptx"]


def main():
    os.environ.pop("TRITON_INTERPRET", None)
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    cache = {}
    out = sys.stdout
    sys.stdout = sys.stderr  # anything Triton prints stays off the reply channel
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            reply = {"ok": True, "ptx": _compile(req, cache)}
        except Exception as e:  # reported to the parent, which raises it
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-4000:]}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
