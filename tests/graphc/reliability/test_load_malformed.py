"""``graphc.load`` on malformed archives raises SerializationError naming the entry, checks
sizes before allocating and bounds nesting (issue 11): never a raw KeyError, TypeError,
RecursionError or a 10**13-element allocation."""

import io
import json
import zipfile

import numpy as np
import pytest

import graphc
from graphc.serialization import MAX_DEPTH
from ir.errors import SerializationError


def _archive(manifest, entries=None, raw_manifest=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("graphc.json", raw_manifest if raw_manifest is not None else json.dumps(manifest))
        for name, data in (entries or {}).items():
            zf.writestr(name, data)
    buf.seek(0)
    return buf


def _npy(arr):
    b = io.BytesIO()
    np.lib.format.write_array(b, arr, allow_pickle=False)
    return b.getvalue()


def _manifest(obj, arrays=1):
    return {"format": "graphc.save", "version": 1, "arrays": arrays, "object": obj}


TENSOR = {"$tensor": 0, "dtype": "float32", "requires_grad": False, "parameter": False, "device": "cpu"}
GOOD_NPY = _npy(np.arange(3, dtype=np.float32))


def _huge_header_npy():
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**13,)}
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(b, header)
    return b.getvalue() + b"\0" * 16


CASES = {
    "unknown tag": (_manifest({"$bogus": 1}), {}, "unknown tag"),
    "two tags": (_manifest({"$list": [], "$tuple": []}), {}, "one tag"),
    "list not a list": (_manifest({"$list": 5}), {}, r"\$list must be a list"),
    "dict item not a pair": (_manifest({"$dict": [[1, 2, 3]]}), {}, "pair"),
    "unhashable key": (_manifest({"$dict": [[{"$list": []}, 1]]}), {}, "hashable"),
    "bad float": (_manifest({"$float": "1e999x"}), {}, r"\$float"),
    "bad dtype tag": (_manifest({"$dtype": "complex512"}), {}, r"bad \$dtype"),
    "bad device tag": (_manifest({"$device": "cuda:abc"}), {}, r"\$device"),
    "bad size": (_manifest({"$size": [2, -1]}), {}, "non-negative"),
    "bare list": (_manifest([1, 2]), {}, "unexpected list"),
    "tensor index out of range": (_manifest(dict(TENSOR, **{"$tensor": 5})), {"tensors/0.npy": GOOD_NPY}, "not one of"),
    "tensor index not an int": (_manifest(dict(TENSOR, **{"$tensor": "0"})), {"tensors/0.npy": GOOD_NPY}, "not one of"),
    "tensor entry missing": (_manifest(TENSOR), {}, r"tensors/0.npy\): the entry is missing"),
    "tensor unknown dtype": (_manifest(dict(TENSOR, dtype="quaternion")), {"tensors/0.npy": GOOD_NPY}, "unknown dtype"),
    "npy garbage": (_manifest(TENSOR), {"tensors/0.npy": b"not an npy file at all"}, "not a .npy array"),
    "npy object array": (
        _manifest(TENSOR),
        {"tensors/0.npy": _npy(np.array(["a", "b"]))},
        "only bool, integer, float and complex",
    ),
    "npy huge header": (_manifest(TENSOR), {"tensors/0.npy": _huge_header_npy()}, "declares"),
    "npy truncated": (_manifest(TENSOR), {"tensors/0.npy": GOOD_NPY[:-4]}, "declares"),
    "npy trailing bytes": (_manifest(TENSOR), {"tensors/0.npy": GOOD_NPY + b"xxxx"}, "declares"),
    "requires_grad on ints": (
        _manifest(dict(TENSOR, dtype="int64", requires_grad=True)),
        {"tensors/0.npy": _npy(np.arange(3))},
        "cannot be rebuilt",
    ),
    "view past its storage": (
        _manifest(dict(TENSOR, view={"ref": 0, "offset": 2, "shape": [2], "stride": [1]})),
        {"tensors/0.npy": GOOD_NPY},
        "reaches past",
    ),
    "view negative stride": (
        _manifest(dict(TENSOR, view={"ref": 0, "offset": 2, "shape": [2], "stride": [-1]})),
        {"tensors/0.npy": GOOD_NPY},
        "bad view entry",
    ),
    "view not a dict": (_manifest(dict(TENSOR, view=[1])), {"tensors/0.npy": GOOD_NPY}, "bad view entry"),
    "view of another dtype": (
        _manifest(dict(TENSOR, dtype="int32", view={"ref": 0, "offset": 0, "shape": [2], "stride": [1]})),
        {"tensors/0.npy": GOOD_NPY},
        "view of array 0",
    ),
    "arrays missing": ({"format": "graphc.save", "version": 1, "object": None}, {}, "lacks"),
    "object missing": ({"format": "graphc.save", "version": 1, "arrays": 0}, {}, "lacks"),
    "version not an int": ({"format": "graphc.save", "version": "x", "arrays": 0, "object": 1}, {}, "version"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_entries_raise_serialization_error_naming_the_entry(case):
    manifest, entries, match = CASES[case]
    with pytest.raises(SerializationError, match=match) as info:
        graphc.load(_archive(manifest, entries))
    assert "graphc.load" in str(info.value)


def test_nesting_is_bounded():
    deep = 1
    for _ in range(MAX_DEPTH + 5):
        deep = {"$list": [deep]}
    with pytest.raises(SerializationError, match="nested deeper"):
        graphc.load(_archive(_manifest(deep, 0)))
    shallow = 1
    for _ in range(MAX_DEPTH - 5):
        shallow = {"$list": [shallow]}
    graphc.load(_archive(_manifest(shallow, 0)))


def test_json_nesting_beyond_the_parser_is_refused():
    raw = '{"format": "graphc.save", "version": 1, "arrays": 0, "object": ' + "[" * 100000 + "]" * 100000 + "}"
    with pytest.raises(SerializationError, match="corrupt manifest"):
        graphc.load(_archive(None, raw_manifest=raw))


def test_corrupt_manifest_json():
    with pytest.raises(SerializationError, match="corrupt manifest"):
        graphc.load(_archive(None, raw_manifest="{not json"))


def test_valid_archives_still_load(tmp_path):
    obj = {"w": graphc.arange(6.0).reshape(2, 3), "t": (1, 2.5, float("inf")), "n": None, "s": graphc.Size([2])}
    graphc.save(obj, tmp_path / "a.pt")
    back = graphc.load(tmp_path / "a.pt")
    assert back["w"].tolist() == obj["w"].tolist() and back["t"][:2] == (1, 2.5) and back["s"] == (2,)


def test_random_byte_damage_never_escapes_as_another_error(tmp_path):
    """Flip bytes all over a valid archive: every outcome is a load or a SerializationError."""
    buf = io.BytesIO()
    graphc.save({"a": graphc.arange(12.0).reshape(3, 4), "b": [graphc.tensor([1, 2]), {"c": 3}]}, buf)
    good = buf.getvalue()
    rng = np.random.default_rng(0)
    for trial in range(300):
        data = bytearray(good)
        for pos in rng.integers(0, len(data), size=int(rng.integers(1, 4))):
            data[pos] = int(rng.integers(0, 256))
        try:
            graphc.load(io.BytesIO(bytes(data)))
        except SerializationError:
            pass
