"""``graphc.utils.tensorboard.SummaryWriter``: TensorBoard event files, as PyTorch's.

>>> from graphc.utils.tensorboard import SummaryWriter
>>> writer = SummaryWriter("runs/exp1")
>>> writer.add_scalar("loss/train", loss.item(), step)
>>> writer.add_histogram("fc1.weight", net.fc1.weight, step)
>>> writer.add_graph(graphc.compile(step_fn), (x, y))
>>> writer.close()

The event files are written by graphc itself (TFRecord framing, CRC-32C and the protobuf
messages, in :mod:`._record`, :mod:`._proto`, :mod:`._summary`), so writing needs no other
package; viewing them needs TensorBoard (``pip install tensorboard``, the ``tensorboard``
extra), whose reader the tests use to read them back.
"""

from __future__ import annotations

import datetime
import os
import socket
import time

import numpy as np

from ... import _compiler
from ..._tensor import Tensor
from . import _proto as P
from . import _summary
from ._record import EventFileWriter, event

__all__ = ["SummaryWriter"]


def _numpy(x) -> np.ndarray:
    if isinstance(x, Tensor):
        return np.asarray(x.detach()._host())
    return np.asarray(x)


def _number(x) -> float:
    if isinstance(x, Tensor):
        return float(x.item())
    return float(np.asarray(x).reshape(()).item()) if not isinstance(x, (int, float)) else float(x)


class SummaryWriter:
    """Write scalars, histograms, images, text and graphs for TensorBoard into ``log_dir``
    (default ``runs/<date>_<host><comment>``)."""

    def __init__(self, log_dir=None, comment: str = "", purge_step=None, max_queue: int = 10,
                 flush_secs: int = 120, filename_suffix: str = ""):
        if log_dir is None:
            stamp = datetime.datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue, self.flush_secs, self.filename_suffix = max_queue, flush_secs, filename_suffix
        self.file_writer = EventFileWriter(self.log_dir, max_queue, flush_secs, filename_suffix)
        self.all_writers = {self.file_writer.path: self.file_writer}
        self._scalar_writers: dict[str, EventFileWriter] = {}

    def get_logdir(self) -> str:
        return self.log_dir

    def _add(self, summary: bytes, global_step, walltime) -> None:
        wall = time.time() if walltime is None else float(walltime)
        self.file_writer.add_event(event(wall, int(global_step or 0), summary=summary))

    # -- what TensorBoard shows ------------------------------------------------------------------
    def add_scalar(self, tag: str, scalar_value, global_step=None, walltime=None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        """One point of the curve ``tag``."""
        self._add(_summary.scalar(tag, _number(scalar_value)), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step=None, walltime=None) -> None:
        """Several curves on one chart: each goes to its own run ``<log_dir>/<main_tag>_<tag>``."""
        wall = time.time() if walltime is None else float(walltime)
        for tag, value in tag_scalar_dict.items():
            path = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            writer = self._scalar_writers.get(path)
            if writer is None:
                writer = self._scalar_writers[path] = EventFileWriter(path, self.max_queue, self.flush_secs,
                                                                      self.filename_suffix)
                self.all_writers[writer.path] = writer
            writer.add_event(event(wall, int(global_step or 0), summary=_summary.scalar(main_tag, _number(value))))

    def add_histogram(self, tag: str, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None) -> None:
        """The distribution of ``values`` (TensorFlow's exponential buckets by default, or any
        ``numpy.histogram`` ``bins``)."""
        self._add(_summary.histogram(tag, _numpy(values), bins, max_bins), global_step, walltime)

    def add_histogram_raw(self, tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts,  # noqa: A002
                          global_step=None, walltime=None) -> None:
        histo = P.message(P.double(1, min), P.double(2, max), P.double(3, num), P.double(4, sum),
                          P.double(5, sum_squares), P.packed_doubles(6, bucket_limits),
                          P.packed_doubles(7, bucket_counts))
        self._add(_summary.summary(P.message(P.blob(1, tag), P.blob(5, histo))), global_step, walltime)

    def add_image(self, tag: str, img_tensor, global_step=None, walltime=None, dataformats: str = "CHW") -> None:
        """An image (float in [0, 1] or uint8; ``CHW`` by default, or ``HWC``/``HW``/...) as PNG."""
        self._add(_summary.image(tag, _summary.to_hwc_uint8(_numpy(img_tensor), dataformats)), global_step, walltime)

    def add_images(self, tag: str, img_tensor, global_step=None, walltime=None, dataformats: str = "NCHW") -> None:
        """A batch of images, tiled into one grid (8 per row)."""
        imgs = _numpy(img_tensor)
        fmt = dataformats.upper()
        if imgs.ndim != len(fmt) or "N" not in fmt:
            raise ValueError(f"add_images expects a batch in {dataformats} format, got shape {imgs.shape}")
        imgs = np.moveaxis(imgs, fmt.index("N"), 0)
        per = fmt.replace("N", "")
        hwc = np.stack([_summary.to_hwc_uint8(im, per) for im in imgs])
        self._add(_summary.image(tag, _summary.grid(hwc)), global_step, walltime)

    def add_figure(self, tag: str, figure, global_step=None, close: bool = True, walltime=None) -> None:
        """A matplotlib figure (or a list of them), rendered to an image."""
        figures = figure if isinstance(figure, list) else [figure]
        images = []
        for fig in figures:
            fig.canvas.draw()
            images.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())
            if close:
                fig.clf()
        img = images[0] if len(images) == 1 else _summary.grid(np.stack(images))
        self._add(_summary.image(tag, img), global_step, walltime)

    def add_text(self, tag: str, text_string: str, global_step=None, walltime=None) -> None:
        """Text (markdown) shown in TensorBoard's text tab."""
        self._add(_summary.text(tag, str(text_string)), global_step, walltime)

    def add_graph(self, model, input_to_model=None, verbose: bool = False, use_strict_trace: bool = True) -> None:
        """The dataflow graph of ``model`` on ``input_to_model``: a ``@graphc.compile`` function, an
        ``nn.Module`` or any function of tensors, traced as ``graphc.compiler.trace`` does
        (or an ``ir.Graph`` directly)."""
        graph = model
        if not hasattr(model, "nodes"):
            args = input_to_model if isinstance(input_to_model, (tuple, list)) else (input_to_model,)
            fn = model.__wrapped__ if isinstance(model, _compiler.CompiledFunction) else model
            graph = _compiler.trace(fn, *args)
        self.file_writer.add_event(event(time.time(), graph_def=_summary.graph_def(graph)))

    def add_hparams(self, hparam_dict: dict, metric_dict: dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None) -> None:
        """Hyper-parameters as text and each metric as a scalar (in run ``run_name``, by default a
        timestamp under ``log_dir``)."""
        run = os.path.join(self.log_dir, run_name or str(time.time()))
        with SummaryWriter(run) as w:
            w.add_text("hparams", "\n".join(f"- **{k}**: {v}" for k, v in hparam_dict.items()), global_step)
            for k, v in metric_dict.items():
                w.add_scalar(k, v, global_step)

    # -- lifetime ----------------------------------------------------------------------------------
    def flush(self) -> None:
        for w in self.all_writers.values():
            w.flush()

    def close(self) -> None:
        for w in self.all_writers.values():
            w.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
