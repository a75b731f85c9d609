#!/usr/bin/env python3
"""Check that h5py + hdf5plugin read HDF5 files written by growkit.

Usage: tools/check_h5py_interop.py PLAIN.h5 ZSTD.h5 [PLAIN2.h5 ZSTD2.h5 ...]

Each pair holds the same datasets written twice by growkit: once uncompressed
(PLAIN) and once with zstd (ZSTD). For every dataset of each pair this checks,
through h5py and hdf5plugin only (no growkit code):
  - the dataset exists in both files with the same shape and dtype;
  - in the zstd file, every numeric dataset's creation pipeline holds HDF5 filter
    32015 (hdf5plugin's Zstd) with cd_values[0] = a level in 1..22, placed
    before fletcher32 (id 3) when fletcher32 is present (variable-length string
    datasets cannot be filtered in HDF5 1.10 and are only compared);
  - the values read from the zstd file equal those of the plain file exactly
    (NaN equal to NaN);
  - attributes on the dataset are equal.
It prints one line per failure and a closing line `interop: N passed, M failed`,
and exits non-zero on any failure.

Sample files to try it on: the storage benchmark keeps one pair with
  swift run -c release growkit-bench storage --quick --keep DIR
  python3 tools/check_h5py_interop.py DIR/plain.h5 DIR/zstd.h5
The integrator feeds it files written by the `growkit` CLI.
"""
import sys

import h5py
import hdf5plugin  # noqa: F401  (registers filter 32015 with HDF5)
import numpy as np

ZSTD_ID = 32015
FLETCHER32_ID = 3


def filters(dataset):
    plist = dataset.id.get_create_plist()
    return [plist.get_filter(i) for i in range(plist.get_nfilters())]


def equal(a, b):
    if a.dtype.kind == "f":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def datasets(file):
    names = []
    file.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names


def check_pair(plain_path, zstd_path, failures):
    passed = 0

    def fail(message):
        failures.append(f"{zstd_path}: {message}")

    with h5py.File(plain_path, "r") as plain, h5py.File(zstd_path, "r") as packed:
        names = datasets(packed)
        missing = sorted(set(datasets(plain)) - set(names))
        for name in missing:
            fail(f"dataset {name} is in {plain_path} but not in the zstd file")
        if not names:
            fail("no datasets in the zstd file")
        for name in names:
            ds = packed[name]
            if name not in plain:
                fail(f"dataset {name} is not in {plain_path}")
                continue
            ref = plain[name]
            ok = True
            if ds.shape != ref.shape or ds.dtype != ref.dtype:
                fail(f"dataset {name}: shape/dtype {ds.shape} {ds.dtype} vs plain {ref.shape} {ref.dtype}")
                ok = False
            is_string = h5py.check_string_dtype(ds.dtype) is not None
            if not is_string:
                pipeline = filters(ds)
                ids = [f[0] for f in pipeline]
                if ZSTD_ID not in ids:
                    fail(f"dataset {name}: filter {ZSTD_ID} not in pipeline {ids}")
                    ok = False
                else:
                    values = pipeline[ids.index(ZSTD_ID)][2]
                    if len(values) < 1 or not (1 <= values[0] <= 22):
                        fail(f"dataset {name}: zstd cd_values {values} do not start with a level in 1..22")
                        ok = False
                    if FLETCHER32_ID in ids and ids.index(FLETCHER32_ID) < ids.index(ZSTD_ID):
                        fail(f"dataset {name}: fletcher32 comes before zstd in {ids}")
                        ok = False
            if ok:
                a, b = ds[()], ref[()]
                if is_string:
                    same = list(np.atleast_1d(a)) == list(np.atleast_1d(b))
                else:
                    same = equal(np.asarray(a), np.asarray(b))
                if not same:
                    fail(f"dataset {name}: values differ from the plain file")
                    ok = False
            for key in ref.attrs:
                if key not in ds.attrs or not np.array_equal(np.asarray(ds.attrs[key]), np.asarray(ref.attrs[key])):
                    fail(f"dataset {name}: attribute {key} differs")
                    ok = False
            passed += ok
    return passed


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        print("error: give PLAIN ZSTD file pairs", file=sys.stderr)
        return 2
    failures = []
    passed = 0
    for plain_path, zstd_path in zip(argv[0::2], argv[1::2]):
        try:
            passed += check_pair(plain_path, zstd_path, failures)
        except (OSError, KeyError, ValueError) as error:
            failures.append(f"{zstd_path}: cannot be read with h5py + hdf5plugin: {error}")
    for line in failures:
        print(f"FAIL {line}")
    print(f"interop: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
