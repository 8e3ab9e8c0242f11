"""``graphc.nn.utils.rnn``: variable-length sequences for the recurrent layers.

The implementation lives beside the layers (``graphc.nn.modules._packed``) so that
the layers need not import ``graphc.nn.utils``; this is its public home.
"""

from __future__ import annotations

from ..modules._packed import (
    PackedSequence,
    invert_permutation,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

__all__ = [
    "PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "pack_sequence",
    "unpack_sequence", "unpad_sequence", "invert_permutation",
]
