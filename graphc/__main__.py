"""The ``graphc`` command line (also ``python -m graphc``).

::

    graphc dump SCRIPT.py [ARGS...] --out DIR   run a script with GRAPHC_DUMP=DIR: a dump folder
                                                per compiled function and signature, DIR/index.html
    graphc info                                  versions, backends and devices
    graphc viz FILE.json -o OUT.svg|html|dot|txt render a saved graph or report (graphc.viz.save)
    graphc run --nproc N SCRIPT.py [ARGS...]     run a script on N ranks via mpiexec (graphc.distributed.run)

In ``graphc dump``, ``--out DIR`` may come before or after the script; to
pass the script an option named ``--out`` itself, put the script's arguments
after ``--``: ``graphc dump --out DIR train.py -- --out model.bin``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import platform
import runpy
import sys
from importlib.metadata import PackageNotFoundError, version

import graphc

from . import cuda, viz
from .distributed import run as _distributed_run
from .viz._dump import write_listing

USAGE = __doc__


def _split_dump_args(argv: list) -> tuple[str | None, bool, list]:
    """(out dir, debug flag, [script, *script args]) from the words after ``dump``."""
    out = None
    debug = False
    rest: list = []
    i = 0
    script_seen = False
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest.extend(argv[i + 1 :])
            break
        if (a == "--out" or (a == "-o" and not script_seen)) and i + 1 < len(argv) and out is None:
            out = argv[i + 1]
            i += 2
            continue
        if a.startswith("--out=") and out is None:
            out = a.split("=", 1)[1]
            i += 1
            continue
        if a == "--debug" and not script_seen:
            debug = True
            i += 1
            continue
        if a in ("-h", "--help") and not script_seen:
            print(_dump_help())
            raise SystemExit(0)
        script_seen = True
        rest.append(a)
        i += 1
    return out, debug, rest


def _dump_help() -> str:
    return (
        "usage: graphc dump SCRIPT.py [ARGS...] --out DIR\n\n"
        "Run SCRIPT.py (with sys.argv = [SCRIPT.py, ARGS...]) with GRAPHC_DUMP=DIR: every\n"
        "compilation writes DIR/<function>_<hash>/ (each stage as .txt/.svg/.dot, the kernels,\n"
        "the program, an interactive report.html) and DIR/index.html lists them.\n\n"
        "options:\n  --out DIR, -o DIR  where to write (default: graphc_dump)\n"
        "  --debug            also set GRAPHC_DEBUG=1 (one log line per compilation)\n"
        "  --                 everything after it goes to the script unchanged"
    )


def cmd_dump(argv: list) -> int:
    out, debug, rest = _split_dump_args(argv)
    if not rest:
        print(_dump_help(), file=sys.stderr)
        return 2
    script, args = rest[0], rest[1:]
    if not os.path.isfile(script):
        print(f"graphc dump: no such script: {script}", file=sys.stderr)
        return 2
    out = os.path.abspath(out or "graphc_dump")
    if os.path.exists(out) and not os.path.isdir(out):
        print(f"graphc dump: --out {out} exists and is not a directory; give a folder for the dump", file=sys.stderr)
        return 2
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        print(f"graphc dump: cannot create the output folder {out}: {e.strerror or e}", file=sys.stderr)
        return 2
    saved_env = {k: os.environ.get(k) for k in ("GRAPHC_DUMP", "GRAPHC_DEBUG")}
    os.environ["GRAPHC_DUMP"] = out
    if debug:
        os.environ.setdefault("GRAPHC_DEBUG", "1")
    before = set(os.listdir(out))
    old_argv, old_path0 = sys.argv, sys.path[0] if sys.path else None
    sys.argv = [script] + list(args)
    script_dir = os.path.dirname(os.path.abspath(script))
    sys.path.insert(0, script_dir)
    status = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        code = e.code
        status = code if isinstance(code, int) else (0 if code is None else 1)
        if code not in (None, 0) and not isinstance(code, int):
            print(code, file=sys.stderr)
    finally:
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        sys.argv = old_argv
        if sys.path and sys.path[0] == script_dir:
            sys.path.pop(0)
        elif old_path0 is not None and script_dir in sys.path:
            sys.path.remove(script_dir)
    folders = sorted(d for d in os.listdir(out) if os.path.isfile(os.path.join(out, d, "meta.json")))
    new = [d for d in folders if d not in before]
    print(f"graphc dump: {len(folders)} compilation(s) in {out} ({len(new)} new)", file=sys.stderr)
    for d in folders:
        print(f"  {os.path.join(out, d, 'index.html')}", file=sys.stderr)
    if folders:
        print(f"  overview: {write_listing(out)}", file=sys.stderr)
    else:
        print(
            "  nothing was compiled: does the script call a @graphc.compile function? (its first call "
            "compiles; a function that runs eagerly says why in a graphc.CompileWarning)",
            file=sys.stderr,
        )
    return status


def _version(mod: str) -> str | None:
    try:
        try:
            return version(mod)
        except PackageNotFoundError:
            pass
        m = __import__(mod)
        return getattr(m, "__version__", "installed")
    except Exception:
        return None


def info_lines() -> list:
    lines = ["graphc " + graphc.__version__]
    lines.append(f"python {platform.python_version()} ({platform.python_implementation()}, {sys.executable})")
    lines.append(f"platform {platform.platform()}")
    for mod in ("numpy", "networkx", "triton"):
        v = _version(mod)
        lines.append(f"{mod} {v}" if v else f"{mod} not installed")
    lines.append("")
    lines.append("backends:")
    lines.append("  numpy  (cpu): available")
    triton_v = _version("triton")
    try:
        mod = importlib.import_module("backends.triton")  # optional backend: imports triton; may fail
        have_backend = hasattr(mod, "compile_schedule")
        backend_note = "" if have_backend else " (backends.triton has no compile_schedule yet)"
    except Exception as e:
        have_backend = False
        backend_note = f" ({type(e).__name__}: {e})"
    try:
        gpu_reason = None if cuda.is_available() else (cuda._unavailable_reason() or "no GPU")
    except Exception as e:
        gpu_reason = f"{type(e).__name__}: {e}"
    if triton_v is None:
        lines.append("  triton (cuda): unavailable (pip install 'graphc[triton]')")
    elif not have_backend:
        lines.append("  triton (cuda): unavailable: graphc's Triton backend is not available" + backend_note)
    elif gpu_reason is None:
        lines.append("  triton (cuda): available")
    else:
        lines.append(f"  triton (cuda): installed; no GPU here ({gpu_reason}); kernels can run under the interpreter")
    lines.append("")
    lines.append("devices:")
    lines.append(f"  cpu: available ({os.cpu_count()} cores)")
    try:
        if cuda.is_available():
            n = cuda.device_count() if hasattr(cuda, "device_count") else 1
            names = []
            for i in range(n):
                try:
                    names.append(cuda.get_device_name(i))
                except Exception:
                    names.append(f"cuda:{i}")
            lines.append(f"  cuda: available, {n} device(s): {', '.join(names)}")
        else:
            reason = cuda._unavailable_reason() if hasattr(cuda, "_unavailable_reason") else None
            lines.append("  cuda: unavailable" + (f" ({reason})" if reason else ""))
    except Exception as e:  # never fail `graphc info`
        lines.append(f"  cuda: unknown ({type(e).__name__}: {e})")
    lines.append("  triton interpreter (TRITON_INTERPRET=1, no GPU needed): " + _interpreter_status(triton_v))
    lines.append("")
    lines.append("environment:")
    for var in ("GRAPHC_DUMP", "GRAPHC_DEBUG", "GRAPHC_DEVICE", "TRITON_INTERPRET"):
        lines.append(f"  {var}={os.environ.get(var, '')}")
    return lines


def _interpreter_status(triton_v) -> str:
    if triton_v is None:
        return "unavailable (triton is not installed)"
    try:
        spec = importlib.util.find_spec("triton.runtime.interpreter")
    except Exception as e:
        return f"unknown ({type(e).__name__}: {e})"
    return "available" if spec is not None else "unavailable (this triton has no interpreter)"


def cmd_info(argv: list) -> int:
    argparse.ArgumentParser(prog="graphc info", description="versions, backends and devices").parse_args(argv)
    print("\n".join(info_lines()))
    return 0


def cmd_viz(argv: list) -> int:
    p = argparse.ArgumentParser(
        prog="graphc viz",
        description="render a graph or report saved as JSON (graphc.viz.save(obj, 'x.json'), or report.json of a dump)",
    )
    p.add_argument("file", help="a .json file written by graphc.viz")
    p.add_argument("-o", "--out", help="output file: .svg, .html, .dot, .txt or .json (default: FILE with .svg)")
    p.add_argument(
        "--stage",
        choices=["traced_forward", "after_autodiff", "after_simplify", "after_fusion"],
        help="for a report: which stage to draw (default after_fusion; .html shows every stage)",
    )
    a = p.parse_args(argv)
    try:
        obj = viz.load(a.file)
    except (OSError, ValueError) as e:
        print(f"graphc viz: cannot read {a.file}: {e}", file=sys.stderr)
        return 1
    out = a.out or os.path.splitext(a.file)[0] + ".svg"
    try:
        viz.save(obj, out, stage=a.stage)
    except ValueError as e:
        print(f"graphc viz: {e}", file=sys.stderr)
        return 2
    print(out)
    return 0


COMMANDS = {"dump": cmd_dump, "info": cmd_info, "viz": cmd_viz, "run": _distributed_run.main}


def main(argv: list | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE.strip())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        print("graphc " + graphc.__version__)
        return 0
    cmd = COMMANDS.get(argv[0])
    if cmd is None:
        print(f"graphc: unknown command {argv[0]!r}; expected one of: {', '.join(COMMANDS)}\n", file=sys.stderr)
        print(USAGE.strip(), file=sys.stderr)
        return 2
    return cmd(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
