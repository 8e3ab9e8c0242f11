"""A small protocol-buffer encoder for the messages TensorBoard's event files hold.

Only what the writer needs: varints, 64-bit and 32-bit fixed fields, length-delimited
fields and nested messages, in proto3's wire format. Field numbers are those of
TensorFlow's ``event.proto``, ``summary.proto``, ``tensor.proto``, ``graph.proto`` and
TensorBoard's plugin protos, so TensorBoard's own reader parses the result.
"""

from __future__ import annotations

import struct

VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5


def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64  # int64 negatives are ten-byte two's complement varints
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint((field << 3) | wire)


def varint(field: int, value: int) -> bytes:
    return _key(field, VARINT) + _varint(int(value))


def double(field: int, value: float) -> bytes:
    return _key(field, FIXED64) + struct.pack("<d", float(value))


def float32(field: int, value: float) -> bytes:
    return _key(field, FIXED32) + struct.pack("<f", float(value))


def blob(field: int, value) -> bytes:
    """A length-delimited field: bytes, a str (UTF-8) or an already encoded message."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    return _key(field, BYTES) + _varint(len(value)) + bytes(value)


def packed_doubles(field: int, values) -> bytes:
    values = list(values)
    return blob(field, struct.pack(f"<{len(values)}d", *values)) if values else b""


def message(*fields: bytes) -> bytes:
    return b"".join(fields)
