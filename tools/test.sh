#!/usr/bin/env bash
# The test suite: the Swift tests, then the Python checks that files growkit
# writes conform to schemas/ and open in h5py + hdf5plugin (zstd filter 32015).
# Run tools/setup.sh first (the README's test command does both).
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --build-tests
swift test --skip-build --disable-xctest

# Files written by this build of growkit, plain, zstd-compressed and bfloat16.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
growkit=$(swift build --show-bin-path)/growkit
for family in gpt2 llama; do
    "$growkit" make-fixture --family "$family" --seed 3 --out "$work/$family.h5"
    "$growkit" make-fixture --family "$family" --seed 3 --zstd 3 --out "$work/$family-zstd.h5"
    "$growkit" make-fixture --family "$family" --seed 3 --bf16 --out "$work/$family-bf16.h5"
done
python3 tools/check_format.py "$work"/*.h5 fixtures/*.h5 fixtures/hf/*[!e].h5
python3 tools/check_h5py_interop.py "$work/gpt2.h5" "$work/gpt2-zstd.h5"
python3 tools/check_h5py_interop.py "$work/llama.h5" "$work/llama-zstd.h5"
