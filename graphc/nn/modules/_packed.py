"""Variable-length sequences (public as ``graphc.nn.utils.rnn``): ``PackedSequence``, ``pack_padded_sequence``,
``pad_packed_sequence``, ``pad_sequence``, ``pack_sequence`` and their inverses.

Packing and unpacking are one ``index_select`` each (the positions come from the
lengths, which PyTorch also requires on the host), so gradients flow through
them and a recurrent layer can run on either form.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ir import dtypes as dt
from ir.errors import ValueCheckError

from ... import _functional as _F
from ..._factories import full
from ..._factories import tensor as _tensor
from ..._tensor import Tensor

__all__ = [
    "PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "pack_sequence",
    "unpack_sequence", "unpad_sequence", "invert_permutation",
]


class PackedSequence(NamedTuple):
    """A batch of variable-length sequences packed time step by time step.

    ``data`` holds, for each time step, the entries of the sequences still
    running (longest first); ``batch_sizes[t]`` says how many; ``sorted_indices``
    maps packed order to the original batch order (``unsorted_indices`` back).
    """

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args, **kwargs) -> "PackedSequence":
        return self._replace(data=self.data.to(*args, **kwargs))

    def cpu(self) -> "PackedSequence":
        return self._replace(data=self.data.cpu())

    def double(self) -> "PackedSequence":
        return self._replace(data=self.data.double())

    def float(self) -> "PackedSequence":
        return self._replace(data=self.data.float())

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation):
    """The inverse of a permutation given as a 1-d int64 tensor (None stays None)."""
    if permutation is None:
        return None
    p = np.asarray(permutation.numpy(), dtype=np.int64)
    inv = np.empty_like(p)
    inv[p] = np.arange(len(p), dtype=np.int64)
    return _tensor(inv, dtype=dt.int64)


def _host_lengths(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        return np.asarray(lengths.numpy(), dtype=np.int64).reshape(-1)
    return np.asarray(list(lengths), dtype=np.int64).reshape(-1)


def _batch_sizes(sorted_lengths: np.ndarray) -> np.ndarray:
    t_max = int(sorted_lengths[0]) if len(sorted_lengths) else 0
    return np.array([(sorted_lengths > t).sum() for t in range(t_max)], dtype=np.int64)


def _pack_index(batch_sizes: np.ndarray, order: np.ndarray, n: int) -> np.ndarray:
    """Row of the (T*N) flattened time-major padded tensor for each packed row."""
    rows = []
    for t, b in enumerate(batch_sizes):
        rows.extend(t * n + order[: int(b)])
    return np.asarray(rows, dtype=np.int64)


def pack_padded_sequence(input, lengths, batch_first: bool = False, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded (T, B, *) batch (``batch_first``: (B, T, *)) of sequences with the given lengths.

    With ``enforce_sorted`` the lengths must be decreasing; otherwise the batch is
    sorted here and the permutation kept in the result.
    """
    x = input
    lens = _host_lengths(lengths)
    if batch_first:
        x = _F.transpose(x, 0, 1)
    t, n = x.shape[0], x.shape[1]
    if len(lens) != n:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} (batch_size={n})")
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass "
                "`enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this requirement "
                "if you do not need ONNX exportability."
            )
        order = np.arange(n, dtype=np.int64)
        sorted_indices = None
    else:
        order = np.argsort(-lens, kind="stable").astype(np.int64)
        sorted_indices = _tensor(order, dtype=dt.int64)
    if n and lens.min() <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0"
        )
    if n and lens.max() > t:
        raise RuntimeError(f"pack_padded_sequence: a length ({lens.max()}) exceeds the padded length ({t})")
    bs = _batch_sizes(lens[order])
    flat = _F.reshape(x, (t * n,) + tuple(x.shape[2:]))
    data = _F.index_select(flat, 0, _tensor(_pack_index(bs, order, n), dtype=dt.int64))
    return PackedSequence(data, _tensor(bs, dtype=dt.int64), sorted_indices, invert_permutation(sorted_indices))


def repack(padded: Tensor, like: PackedSequence) -> PackedSequence:
    """Pack a time-major padded batch (in the original batch order) as ``like`` is packed."""
    bs = np.asarray(like.batch_sizes.numpy(), dtype=np.int64)
    n = padded.shape[1]
    order = (
        np.asarray(like.sorted_indices.numpy(), dtype=np.int64) if like.sorted_indices is not None else np.arange(n)
    )
    flat = _F.reshape(padded, (padded.shape[0] * n,) + tuple(padded.shape[2:]))
    data = _F.index_select(flat, 0, _tensor(_pack_index(bs, order, n), dtype=dt.int64))
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0, total_length=None):
    """The inverse of :func:`pack_padded_sequence`: ``(padded, lengths)`` in the original batch order."""
    data, batch_sizes = sequence.data, np.asarray(sequence.batch_sizes.numpy(), dtype=np.int64)
    t_max = len(batch_sizes)
    n = int(batch_sizes[0]) if t_max else 0
    if total_length is not None:
        if total_length < t_max:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in input, but got "
                f"total_length={total_length} and max sequence length being {t_max}"
            )
        t_max = int(total_length)
    order = (
        np.asarray(sequence.sorted_indices.numpy(), dtype=np.int64)
        if sequence.sorted_indices is not None
        else np.arange(n, dtype=np.int64)
    )
    # Position in `data` of each padded (t, b) slot; the padding slots read an appended row.
    src = np.full((t_max, n), data.shape[0], dtype=np.int64)
    row = 0
    for t, b in enumerate(batch_sizes):
        src[t, order[: int(b)]] = np.arange(row, row + int(b))
        row += int(b)
    pad_row = full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    rows = _F.cat([data, pad_row], 0)
    out = _F.index_select(rows, 0, _tensor(src.reshape(-1), dtype=dt.int64))
    out = _F.reshape(out, (t_max, n) + tuple(data.shape[1:]))
    lengths = np.zeros(n, dtype=np.int64)
    for b in batch_sizes:
        lengths[order[: int(b)]] += 1
    if batch_first:
        out = _F.transpose(out, 0, 1)
    return out, _tensor(lengths, dtype=dt.int64)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0, padding_side: str = "right"):
    """Stack variable-length (L_i, *) tensors into (L_max, B, *) (``batch_first``: (B, L_max, *)), padded."""
    seqs = list(sequences)
    if padding_side not in ("left", "right"):
        raise ValueCheckError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    l_max = max(s.shape[0] for s in seqs)
    rest = tuple(seqs[0].shape[1:])
    padded = []
    for s in seqs:
        extra = l_max - s.shape[0]
        if extra:
            fill = full((extra,) + rest, padding_value, dtype=s.dtype, device=s.device)
            s = _F.cat([s, fill] if padding_side == "right" else [fill, s], 0)
        padded.append(s)
    return _F.stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False):
    """The list of unpadded sequences of a padded batch."""
    x = padded_sequences if batch_first else _F.transpose(padded_sequences, 0, 1)
    lens = _host_lengths(lengths)
    return [_F.narrow(x[i], 0, 0, int(k)) for i, k in enumerate(lens)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of variable-length (L_i, *) tensors."""
    seqs = list(sequences)
    lengths = [s.shape[0] for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence):
    """The list of sequences of a :class:`PackedSequence`."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
