"""``graphc.utils.tensorboard.SummaryWriter`` writes event files that TensorBoard's own reader
(``EventAccumulator``, ``EventFileLoader``) reads back: scalars, histograms, images, text, the
graph of a compiled function. Skipped where TensorBoard is not installed."""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np
import pytest

import graphc
import graphc.nn as nn
from graphc.utils.tensorboard import SummaryWriter
from graphc.utils.tensorboard._record import crc32c, masked_crc32c

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def _read(logdir):
    ea = event_accumulator.EventAccumulator(str(logdir), size_guidance={k: 0 for k in
                                                                        ("scalars", "histograms", "images", "tensors")})
    ea.Reload()
    return ea


def _decode_png(data: bytes) -> np.ndarray:
    """A minimal PNG reader for 8-bit images with filter type 0 (what the writer emits)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(kind + body)
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    w, h, _, color, *_ = header
    c = {0: 1, 2: 3, 6: 4}[color]
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * c)
    assert np.all(raw[:, 0] == 0)
    return raw[:, 1:].reshape(h, w, c)


def test_crc32c_known_values():
    # RFC 3720's test vectors for CRC-32C (iSCSI): 32 zero bytes, 32 0xff bytes
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(b"123456789") == 0xE3069283
    assert masked_crc32c(b"") == ((0 >> 15 | 0 << 17) + 0xA282EAD8) & 0xFFFFFFFF


def test_scalars_and_scalars_groups(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(5):
            w.add_scalar("loss/train", graphc.tensor(1.0 / (step + 1)), step)
        w.add_scalars("acc", {"train": 0.5, "val": 0.25}, 3)
    got = [(e.step, e.value) for e in _read(tmp_path).Scalars("loss/train")]
    assert [s for s, _ in got] == list(range(5))
    np.testing.assert_allclose([v for _, v in got], [1.0 / (s + 1) for s in range(5)], rtol=1e-7)
    assert sorted(d for d in os.listdir(tmp_path) if os.path.isdir(tmp_path / d)) == ["acc_train", "acc_val"]
    assert _read(tmp_path / "acc_val").Scalars("acc")[0].value == 0.25


def test_histogram_matches_numpy(tmp_path):
    values = np.random.default_rng(0).normal(size=5000)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("w", graphc.tensor(values), 7)
        w.add_histogram("w10", values, 8, bins=10)
    h = _read(tmp_path).Histograms("w")[0]
    hv = h.histogram_value
    assert h.step == 7 and hv.num == 5000
    assert hv.min == pytest.approx(values.min()) and hv.max == pytest.approx(values.max())
    assert hv.sum == pytest.approx(values.sum()) and hv.sum_squares == pytest.approx((values**2).sum())
    assert sum(hv.bucket) == 5000
    # every count is the number of values between the previous limit and its limit
    limits = list(hv.bucket_limit)
    for lo, hi, count in list(zip(limits, limits[1:], hv.bucket[1:]))[::25]:
        assert count == np.count_nonzero((values >= lo) & (values < hi))
    h10 = _read(tmp_path).Histograms("w10")[0].histogram_value
    counts, edges = np.histogram(values, bins=10)
    np.testing.assert_array_equal(list(h10.bucket), counts)
    np.testing.assert_allclose(list(h10.bucket_limit), edges[1:])


def test_images_round_trip(tmp_path):
    chw = np.random.default_rng(1).random((3, 6, 9)).astype(np.float32)
    batch = np.random.default_rng(2).integers(0, 256, size=(3, 4, 5, 1), dtype=np.uint8)
    with SummaryWriter(tmp_path) as w:
        w.add_image("chw", graphc.tensor(chw), 1)
        w.add_image("gray", chw[0], 2, dataformats="HW")
        w.add_images("batch", batch, 3, dataformats="NHWC")
    ea = _read(tmp_path)
    im = ea.Images("chw")[0]
    assert (im.width, im.height) == (9, 6)
    pixels = _decode_png(im.encoded_image_string)
    np.testing.assert_array_equal(pixels, np.clip(np.round(chw.transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8))
    assert _decode_png(ea.Images("gray")[0].encoded_image_string).shape == (6, 9, 1)
    grid = _decode_png(ea.Images("batch")[0].encoded_image_string)
    assert grid.shape == (4 + 2 * 2, 3 * 5 + 4 * 2, 1)  # three images in a row, 2-pixel padding
    np.testing.assert_array_equal(grid[2:6, 2 + 7 : 7 + 7], batch[1])
    with pytest.raises(ValueError, match="input format"):
        SummaryWriter(tmp_path / "x").add_image("bad", chw, dataformats="HW")


def test_text(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "lr **0.1**, ünïcode", 4)
    t = _read(tmp_path).Tensors("notes")[0]
    assert t.step == 4 and t.tensor_proto.string_val == ["lr **0.1**, ünïcode".encode()]
    assert _read(tmp_path).summary_metadata["notes"].plugin_data.plugin_name == "text"


def test_graph_of_a_compiled_function_and_a_module(tmp_path):
    f = graphc.compile(lambda x, w: (x @ w).relu().sum())
    with SummaryWriter(tmp_path) as w:
        w.add_graph(f, (graphc.randn(3, 4), graphc.randn(4, 2)))
    g = _read(tmp_path).Graph()
    ops = [n.op for n in g.node]
    assert ops[:2] == ["input", "input"] and "matmul" in ops and "relu" in ops and ops[-1] == "output"
    by_name = {n.name: n for n in g.node}
    mm = next(n for n in g.node if n.op == "matmul")
    assert [by_name[i].op for i in mm.input] == ["input", "input"]
    assert [d.size for d in mm.attr["_output_shapes"].list.shape[0].dim] == [3, 2]

    graphc.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    with SummaryWriter(tmp_path / "net") as w:
        w.add_graph(net, graphc.randn(2, 4))
    assert sum(n.op == "matmul" for n in _read(tmp_path / "net").Graph().node) >= 2


def test_default_logdir_and_flush(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp")
    assert w.get_logdir().startswith("runs") and w.get_logdir().endswith("_exp")
    w.add_scalar("x", 1.0, 0)
    w.flush()
    assert _read(w.get_logdir()).Scalars("x")[0].value == 1.0
    w.close()
