"""examples/gpt_char.py (a character-level GPT: causal -inf mask, AdamW, warm-up + cosine
schedule, compiled training step, multinomial sampling) trains to its stated loss."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_gpt_char_trains_below_half_a_nat():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "gpt_char.py"), "150"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    losses = [float(v) for v in re.findall(r"loss (\d+\.\d+)", proc.stdout)]
    assert losses[0] > 3.0  # ~ln(29) at the start
    assert float(re.search(r"final loss (\d+\.\d+)", proc.stdout).group(1)) < 0.5
    sample = re.search(r"sample: (.*)", proc.stdout).group(1)
    text = ("the quick brown fox jumps over the lazy dog. a stitch in time saves nine. "
            "all that glitters is not gold. the early bird catches the worm. ")
    assert len(sample) == 61 and set(sample) <= set(text)
