"""The examples and the code shown in the docs must run as written."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def test_quickstart_runs():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "tensor(27., grad_fn=<MeanBackward0>)" in out
    assert "numpy sees: [2. 2. 2. 2. 2.]" in out
    assert out.rstrip().endswith("Done.")


def _python_blocks(path: pathlib.Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("doc", ["README.md", "docs/architecture.md"])
def test_doc_code_blocks_run(doc, capsys):
    blocks = _python_blocks(ROOT / doc)
    assert blocks, f"{doc} has no python code block"
    for i, code in enumerate(blocks):
        exec(compile(code, f"{doc} block {i}", "exec"), {"__name__": "__doc_example__"})
    out = capsys.readouterr().out
    assert "array([0., 2., 4.], dtype=float32)" in out
