"""Minimal safetensors writer for emlab's reference fixtures.

The format (8-byte little-endian header length, JSON header with dtype,
shape and data_offsets, raw little-endian data) is written by hand so the
fixture scripts need only Debian's python3-torch and python3-numpy.
"""
import json
import struct

import numpy as np

_DTYPES = {
    np.dtype("float32"): "F32",
    np.dtype("float64"): "F64",
    np.dtype("int32"): "I32",
    np.dtype("int64"): "I64",
    np.dtype("uint8"): "U8",
    np.dtype("float16"): "F16",
}


def save(path, tensors, metadata=None, dtypes=None):
    """Write tensors (name -> numpy array) to path, in sorted name order.

    dtypes overrides the dtype label of some tensors: {"w": "BF16"} stores
    the uint16 array tensors["w"] as raw bfloat16 bit patterns (numpy has no
    bfloat16; bf16_bits makes them)."""
    dtypes = dtypes or {}
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    off = 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        if name in dtypes:
            if dtypes[name] != "BF16" or a.dtype != np.uint16:
                raise TypeError(f"{name}: override {dtypes[name]} needs uint16 bf16 bits")
            label = "BF16"
        elif a.dtype in _DTYPES:
            label = _DTYPES[a.dtype]
        else:
            raise TypeError(f"{name}: unsupported dtype {a.dtype}")
        b = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": label, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    js = json.dumps(header, sort_keys=True).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)


def bf16_bits(t):
    """The bfloat16 bit patterns (uint16 numpy array) of a torch tensor
    already in torch.bfloat16."""
    import torch
    return t.contiguous().view(torch.int16).numpy().view(np.uint16)
