"""Reader of the twin exchange file written by bench.WriteArrays (see bench/twinfile.go).

Layout, little-endian: 8 bytes magic "SL1TWIN1", uint32 header length H, H bytes of JSON
{"meta": {...}, "arrays": [{"name", "shape", "offset"}, ...]}, then the float32 data.
"""
import json
import struct

import torch

MAGIC = b"SL1TWIN1"


def read(path):
    """Returns (meta, {name: float32 tensor}) with the arrays in the file's order."""
    with open(path, "rb") as f:
        b = f.read()
    if len(b) < 12 or b[:8] != MAGIC:
        raise ValueError(f"{path}: not a twin exchange file")
    (hl,) = struct.unpack("<I", b[8:12])
    if 12 + hl > len(b):
        raise ValueError(f"{path}: truncated header")
    h = json.loads(b[12 : 12 + hl].decode("utf-8"))
    data = b[12 + hl :]
    arrays = {}
    end = 0
    for a in h["arrays"]:
        n = 1
        for d in a["shape"]:
            n *= d
        off = a["offset"]
        if off != end or off + 4 * n > len(data):
            raise ValueError(f"{path}: array {a['name']} out of place or truncated")
        t = torch.frombuffer(bytearray(data[off : off + 4 * n]), dtype=torch.float32)
        arrays[a["name"]] = t.reshape(a["shape"]).clone()
        end = off + 4 * n
    if end != len(data):
        raise ValueError(f"{path}: {len(data) - end} trailing bytes")
    return h["meta"], arrays
