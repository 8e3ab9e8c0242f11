"""The graphc command line: `graphc dump`, `graphc info`, `graphc viz` (and `python -m graphc`)."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

import graphc
from graphc.__main__ import main

REPO = pathlib.Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import graphc

    @graphc.compile
    def f(x, w):
        return ((x @ w).relu() * 2.0).sum(dim=1)

    x = graphc.randn(6, 5)
    w = graphc.randn(5, 3)
    for _ in range(2):  # the first call of a signature runs eagerly, the second compiles
        out = f(x, w)
    with open(sys.argv[1], "w") as fh:
        json.dump({"argv": sys.argv, "name": __name__, "out": out.tolist()}, fh)
    """
)


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(SCRIPT)
    return path


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("GRAPHC_DUMP", None)
    env.pop("GRAPHC_DEBUG", None)
    return env


def _check_dump(out_dir: pathlib.Path, n_functions: int = 1):
    folders = [d for d in out_dir.iterdir() if (d / "meta.json").is_file()]
    assert len(folders) == n_functions, sorted(out_dir.iterdir())
    folder = folders[0]
    assert folder.name.startswith("f_")
    for i, stage in enumerate(["traced_forward", "after_autodiff", "after_simplify", "after_fusion"], 1):
        assert (folder / f"{i}_{stage}.txt").is_file()
        ET.parse(folder / f"{i}_{stage}.svg")
    assert list((folder / "kernels").glob("*.py"))
    assert (folder / "program.py").is_file() and (folder / "index.html").is_file()
    assert folder.name in (out_dir / "index.html").read_text()
    return folder


def test_dump_runs_script_as_subprocess(script, tmp_path):
    out_dir = tmp_path / "dumps"
    result_file = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, "-m", "graphc", "dump", str(script), str(result_file), "--flag", "--out", str(out_dir)],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(result_file.read_text())
    assert result["argv"] == [str(script), str(result_file), "--flag"]
    assert result["name"] == "__main__"
    _check_dump(out_dir)
    assert "1 compilation(s)" in proc.stderr and "index.html" in proc.stderr


def test_dump_in_process_with_double_dash(script, tmp_path):
    out_dir = tmp_path / "d"
    result_file = tmp_path / "r.json"
    before = os.environ.get("GRAPHC_DUMP")
    rc = main(["dump", "--out", str(out_dir), str(script), "--", str(result_file), "--out", "x"])
    assert rc == 0
    assert os.environ.get("GRAPHC_DUMP") == before  # restored
    assert json.loads(result_file.read_text())["argv"][1:] == [str(result_file), "--out", "x"]
    _check_dump(out_dir)


def test_dump_propagates_exit_status_and_reports_nothing_compiled(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nsys.exit(3)\n")
    assert main(["dump", str(bad), "--out", str(tmp_path / "o")]) == 3
    assert "nothing was compiled" in capsys.readouterr().err
    assert main(["dump", str(tmp_path / "missing.py")]) == 2


def test_info_lists_versions_backends_devices(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"graphc {graphc.__version__}\n")
    for word in (
        "python ",
        "numpy ",
        "networkx ",
        "triton",
        "backends:",
        "numpy  (cpu): available",
        "devices:",
        "cpu: available",
        "cuda:",
        "triton interpreter",
    ):
        assert word in out, word
    if not graphc.cuda.is_available():
        assert "cuda: unavailable" in out


def test_viz_renders_saved_graph(tmp_path, capsys):
    def f(x):
        return (x.exp() + 1).log().sum()

    g = graphc.compiler.trace(f, graphc.randn(4, 4))
    src = tmp_path / "g.json"
    graphc.viz.save(g, src)
    for ext in ("svg", "html", "dot", "txt"):
        out = tmp_path / f"out.{ext}"
        assert main(["viz", str(src), "-o", str(out)]) == 0
        assert out.is_file() and out.stat().st_size > 100
    root = ET.parse(tmp_path / "out.svg").getroot()
    nodes = [e for e in root.iter() if "node" in (e.get("class") or "").split()]
    assert len(nodes) == len(g.nodes)
    assert "exp" in (tmp_path / "out.txt").read_text()
    assert main(["viz", str(src)]) == 0  # default output: next to the input, as .svg
    assert (tmp_path / "g.svg").is_file()
    assert main(["viz", str(tmp_path / "nope.json")]) == 1
    assert main(["viz", str(src), "-o", str(tmp_path / "x.png")]) == 2


def test_viz_renders_a_report_json_from_a_dump(script, tmp_path):
    out_dir = tmp_path / "d"
    assert main(["dump", str(script), str(tmp_path / "r.json"), "--out", str(out_dir)]) == 0
    folder = _check_dump(out_dir)
    html = tmp_path / "report.html"
    assert main(["viz", str(folder / "report.json"), "-o", str(html)]) == 0
    assert "after fusion" in html.read_text()
    svg = tmp_path / "fwd.svg"
    assert main(["viz", str(folder / "report.json"), "--stage", "traced_forward", "-o", str(svg)]) == 0
    ET.parse(svg)


def test_usage_and_unknown_command(capsys):
    assert main([]) == 2
    assert main(["--help"]) == 0
    assert "graphc dump" in capsys.readouterr().out
    assert main(["frobnicate"]) == 2
    assert main(["--version"]) == 0


def test_console_script_declared():
    text = (REPO / "pyproject.toml").read_text()
    assert 'graphc = "graphc.__main__:main"' in text
    exe = shutil.which("graphc")
    if exe is None:
        pytest.skip("the graphc console script is not installed (pip install -e .)")
    proc = subprocess.run([exe, "info"], capture_output=True, text=True, timeout=60, env=_env())
    assert proc.returncode == 0 and proc.stdout.startswith("graphc ")
