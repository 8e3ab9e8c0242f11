"""``Summary`` values TensorBoard displays: scalars, histograms, images (PNG), text, and graphs.

Each function returns an encoded ``Summary`` (or ``GraphDef``) message, built from numpy
values; :class:`SummaryWriter` wraps them in events. Layouts follow TensorFlow's
``summary.proto``/``tensor.proto``/``graph.proto`` and TensorBoard's text plugin.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from . import _proto as P

DT_FLOAT, DT_STRING = 1, 7


def _value(tag: str, *fields: bytes) -> bytes:
    return P.message(P.blob(1, tag), *fields)


def summary(*values: bytes) -> bytes:
    return P.message(*(P.blob(1, v) for v in values))


def scalar(tag: str, value: float) -> bytes:
    return summary(_value(tag, P.float32(2, value)))


def _default_bins() -> np.ndarray:
    """TensorFlow's histogram edges: +-1e-12 growing by 10% to 1e20, and 0."""
    v, pos = 1e-12, []
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    pos = np.array(pos)
    return np.concatenate([-pos[::-1], [0.0], pos])


def histogram_proto(values: np.ndarray, bins="tensorflow", max_bins=None) -> bytes:
    """A ``HistogramProto``: counts per bucket, each bucket ``(previous limit, limit]``, with the
    empty buckets at both ends dropped."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("The input has no element.")
    edges = _default_bins() if isinstance(bins, str) and bins == "tensorflow" else bins
    counts, limits = np.histogram(values, bins=edges)
    if max_bins is not None and len(counts) > max_bins:
        factor = -(-len(counts) // max_bins)
        pad = (-len(counts)) % factor
        counts = np.pad(counts, (0, pad)).reshape(-1, factor).sum(1)
        limits = np.concatenate([limits[:-1:factor], [limits[-1]]])
    nonzero = np.nonzero(counts)[0]
    lo, hi = (nonzero[0], nonzero[-1] + 1) if nonzero.size else (0, len(counts))
    counts, right = counts[lo:hi], limits[lo + 1 : hi + 1]
    if lo > 0:  # an empty bucket in front marks where the first one starts, as TensorFlow writes it
        counts, right = np.concatenate([[0], counts]), np.concatenate([[limits[lo]], right])
    return P.message(
        P.double(1, values.min()), P.double(2, values.max()), P.double(3, values.size),
        P.double(4, values.sum()), P.double(5, float(values.dot(values))),
        P.packed_doubles(6, right.tolist()), P.packed_doubles(7, counts.astype(np.float64).tolist()),
    )


def histogram(tag: str, values, bins="tensorflow", max_bins=None) -> bytes:
    return summary(_value(tag, P.blob(5, histogram_proto(values, bins, max_bins))))


def png(image: np.ndarray) -> bytes:
    """PNG bytes of an ``(H, W, C)`` uint8 image (C = 1, 3 or 4)."""
    h, w, c = image.shape
    color = {1: 0, 3: 2, 4: 6}[c]
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(h))  # filter type 0 on every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def to_hwc_uint8(img: np.ndarray, dataformats: str) -> np.ndarray:
    """An image array in ``dataformats`` (CHW, HWC, HW, ...) as ``(H, W, C)`` uint8; floats are
    taken as [0, 1] and scaled by 255, as PyTorch's ``add_image`` does."""
    img = np.asarray(img)
    dataformats = dataformats.upper()
    if img.ndim != len(dataformats):
        raise ValueError(f"size of input tensor and input format are different: tensor shape {img.shape}, input_format {dataformats}")
    if "C" not in dataformats:
        img, dataformats = img[..., None], dataformats + "C"
    img = np.transpose(img, [dataformats.index(k) for k in "HWC"])
    if img.shape[2] == 2 or img.shape[2] > 4:
        raise ValueError(f"an image needs 1, 3 or 4 channels, got {img.shape[2]}")
    if img.dtype != np.uint8:
        img = np.clip(np.asarray(img, dtype=np.float64) * 255.0, 0, 255).round().astype(np.uint8)
    return np.ascontiguousarray(img)


def image(tag: str, hwc: np.ndarray) -> bytes:
    h, w, c = hwc.shape
    img = P.message(P.varint(1, h), P.varint(2, w), P.varint(3, c), P.blob(4, png(hwc)))
    return summary(_value(tag, P.blob(4, img)))


def grid(images: np.ndarray, nrow: int = 8, padding: int = 2) -> np.ndarray:
    """``(N, H, W, C)`` images tiled ``nrow`` per row with ``padding`` pixels between (PyTorch's make_grid)."""
    n, h, w, c = images.shape
    cols = min(nrow, n)
    rows = -(-n // cols)
    out = np.zeros((rows * (h + padding) + padding, cols * (w + padding) + padding, c), dtype=images.dtype)
    for k in range(n):
        r, q = divmod(k, cols)
        y, x = r * (h + padding) + padding, q * (w + padding) + padding
        out[y : y + h, x : x + w] = images[k]
    return out


def text(tag: str, value: str) -> bytes:
    metadata = P.blob(1, P.message(P.blob(1, "text"), P.blob(2, b"")))  # PluginData(text, TextPluginData())
    shape = P.blob(2, P.message(P.blob(2, P.varint(1, 1))))  # TensorShapeProto(dim=[Dim(size=1)])
    tensor = P.message(P.varint(1, DT_STRING), shape, P.blob(8, value.encode("utf-8")))
    return summary(_value(tag, P.blob(9, metadata), P.blob(8, tensor)))


def _shape_proto(shape) -> bytes:
    return P.message(*(P.blob(2, P.varint(1, int(s))) for s in shape))


def _attr(key: str, value_message: bytes) -> bytes:
    return P.blob(5, P.message(P.blob(1, key), P.blob(2, value_message)))


def graph_def(graph) -> bytes:
    """A ``GraphDef`` of an ``ir.Graph``: one node per IR node (op, inputs, shape and dtype as
    attributes), nodes named ``<graph>/<op>_<id>``, so TensorBoard's graph view draws the dataflow."""
    names = {}
    nodes = []
    scope = graph.name or "graph"
    for n in graph.nodes:
        name = f"{scope}/{n.op}_{n.id}" if n.op != "input" else f"{scope}/{n.attrs.get('name', f'input_{n.id}')}"
        names[n.id] = name
        attrs = [
            _attr("_output_shapes", P.blob(1, P.blob(7, _shape_proto(n.shape)))),  # AttrValue(list=[shape])
            _attr("dtype", P.blob(2, n.dtype.name)),
        ]
        described = {k: v for k, v in n.attrs.items() if k not in ("name",)}
        if described:
            attrs.append(_attr("attr", P.blob(2, repr(described)[:4096])))
        fields = [P.blob(1, name), P.blob(2, n.op)] + [P.blob(3, names[i.id]) for i in n.inputs] + attrs
        nodes.append(P.blob(1, P.message(*fields)))
    for k, out in enumerate(graph.outputs):
        fields = [P.blob(1, f"{scope}/output_{k}"), P.blob(2, "output"), P.blob(3, names[out.id])]
        nodes.append(P.blob(1, P.message(*fields)))
    versions = P.blob(4, P.varint(1, 22))  # VersionDef(producer=22)
    return P.message(*nodes, versions)
