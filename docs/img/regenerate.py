"""Regenerate the pictures of docs/debugging.md from a real compiled training step.

    python docs/img/regenerate.py

Runs ``graphc dump`` on the training step below, copies two stage SVGs,
draws an autograd graph, and screenshots the interactive report page with
headless Chromium (skipped without it); the screenshot is stored as an
indexed-color PNG (256 colors) so that it stays small.
"""

from __future__ import annotations

import glob
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

SCRIPT = textwrap.dedent(
    """
    import graphc
    import graphc.nn as nn
    import graphc.nn.functional as F

    graphc.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    opt = graphc.optim.SGD(model.parameters(), lr=0.1)


    @graphc.compile
    def train_step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss


    x, y = graphc.randn(32, 8), graphc.randint(0, 4, (32,))
    for i in range(5):
        loss = train_step(x, y)
    print(f"loss {loss.item():.4f}")
    """
).lstrip()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def write_indexed_png(path: str, rgb: np.ndarray, colors: int = 256) -> None:
    """Quantize to the most frequent ``colors`` colors (nearest match) and write a paletted PNG."""
    h, w, _ = rgb.shape
    flat = rgb.reshape(-1, 3)
    uniq, inv, counts = np.unique(flat, axis=0, return_inverse=True, return_counts=True)
    palette = uniq[np.argsort(counts)[::-1][:colors]].astype(np.int32)
    idx_of_uniq = np.empty(len(uniq), np.uint8)
    for lo in range(0, len(uniq), 4096):
        chunk = uniq[lo : lo + 4096].astype(np.int32)
        d = ((chunk[:, None, :] - palette[None, :, :]) ** 2).sum(axis=2)
        idx_of_uniq[lo : lo + 4096] = d.argmin(axis=1)
    idx = idx_of_uniq[inv.reshape(-1)].reshape(h, w)
    raw = b"".join(b"\x00" + idx[y].tobytes() for y in range(h))
    png = b"\x89PNG\r\n\x1a\n"
    png += _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
    png += _png_chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    png += _png_chunk(b"IDAT", zlib.compress(raw, 9))
    png += _png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main() -> None:
    sys.path.insert(0, REPO)
    sys.path.insert(0, os.path.join(REPO, "tests", "graphc"))
    work = tempfile.mkdtemp(prefix="graphc-docs-")
    script = os.path.join(work, "train_step.py")
    with open(script, "w") as f:
        f.write(SCRIPT)
    env = dict(os.environ, PYTHONPATH=REPO)
    subprocess.run(
        [sys.executable, "-m", "graphc", "dump", script, "--out", os.path.join(work, "dumps")],
        check=True,
        cwd=work,
        env=env,
    )
    (folder,) = glob.glob(os.path.join(work, "dumps", "train_step_*"))
    shutil.copy(os.path.join(folder, "1_traced_forward.svg"), os.path.join(HERE, "train_step_forward.svg"))
    shutil.copy(os.path.join(folder, "4_after_fusion.svg"), os.path.join(HERE, "train_step_fused.svg"))
    with open(os.path.join(folder, "4_after_fusion.txt")) as f:
        print(f.read())

    import graphc

    x = graphc.ones(2, 2, requires_grad=True)
    w = graphc.randn(2, 3, requires_grad=True)
    out = ((x + 2) * (x + 2) * 3).mean() + (x @ w).relu().sum()
    graphc.viz.save(out, os.path.join(HERE, "autograd.svg"), params={"x": x, "w": w})

    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        print("no chromium: the screenshot was not regenerated")
        return
    from test_viz import _decode_png

    shot = os.path.join(work, "page.png")
    profile = tempfile.mkdtemp()
    url = "file://" + os.path.join(folder, "report.html") + "#view=after_fusion&kernel=5"
    subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1100,680", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, check=True,
    )  # fmt: skip
    with open(shot, "rb") as f:
        write_indexed_png(os.path.join(HERE, "report_page.png"), _decode_png(f.read()))
    shutil.rmtree(profile, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    for name in ("train_step_forward.svg", "train_step_fused.svg", "autograd.svg", "report_page.png"):
        print(f"{name}: {os.path.getsize(os.path.join(HERE, name)) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
