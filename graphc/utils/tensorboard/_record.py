"""TFRecord framing and event files: what TensorBoard reads from a log directory.

Each record is ``length (uint64 LE) | masked crc32c of the length | data | masked crc32c of
the data``; an event file starts with an ``Event`` whose ``file_version`` is
``brain.Event:2``. CRC-32C (Castagnoli) is computed here, table-driven, with TensorFlow's
masking (rotate right by 15 bits, add 0xa282ead8).
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

from . import _proto

_POLY = 0x82F63B78
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


def event(wall_time: float, step: int = 0, **what) -> bytes:
    """An ``Event`` message: ``file_version=str``, ``graph_def=bytes`` or ``summary=bytes``."""
    fields = [_proto.double(1, wall_time)]
    if step:
        fields.append(_proto.varint(2, step))
    if "file_version" in what:
        fields.append(_proto.blob(3, what["file_version"]))
    if "graph_def" in what:
        fields.append(_proto.blob(4, what["graph_def"]))
    if "summary" in what:
        fields.append(_proto.blob(5, what["summary"]))
    return _proto.message(*fields)


_UID = [0]
_UID_LOCK = threading.Lock()


class EventFileWriter:
    """Appends events to ``events.out.tfevents.<time>.<host>.<pid>.<n><suffix>`` in ``logdir``;
    flushes every ``max_queue`` events or ``flush_secs`` seconds, and on ``flush``/``close``."""

    def __init__(self, logdir: str, max_queue: int = 10, flush_secs: float = 120, filename_suffix: str = ""):
        os.makedirs(logdir, exist_ok=True)
        with _UID_LOCK:
            _UID[0] += 1
            uid = _UID[0]
        name = f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{uid}{filename_suffix}"
        self.path = os.path.join(logdir, name)
        self._file = open(self.path, "wb")  # noqa: SIM115 - kept open for the writer's life
        self._lock = threading.Lock()
        self._pending = 0
        self._last_flush = time.time()
        self.max_queue, self.flush_secs = max_queue, flush_secs
        self.closed = False
        self.add_event(event(time.time(), file_version="brain.Event:2"))
        self.flush()

    def add_event(self, data: bytes) -> None:
        with self._lock:
            if self.closed:
                raise RuntimeError("the event file is closed")
            self._file.write(record(data))
            self._pending += 1
            if self._pending >= self.max_queue or time.time() - self._last_flush >= self.flush_secs:
                self._flush_locked()

    def _flush_locked(self) -> None:
        self._file.flush()
        self._pending = 0
        self._last_flush = time.time()

    def flush(self) -> None:
        with self._lock:
            if not self.closed:
                self._flush_locked()

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self._flush_locked()
                self._file.close()
                self.closed = True
