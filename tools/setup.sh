#!/usr/bin/env bash
# Installs what building and testing growkit needs on a fresh Debian bookworm
# machine: the four C libraries (found by pkg-config), the zstd command line,
# and the small Python packages the format checks use (h5py, hdf5plugin,
# jsonschema, numpy). torch is never needed here: only tools/make_hf_reference.py
# and tools/bench_torch_forward.py use it, and they are run by hand.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(libhdf5-dev libzstd-dev libopenblas-dev libssl-dev pkg-config zstd)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for module in hdf5 libzstd openblas libcrypto; do
    pkg-config --exists "$module" || { echo "setup: pkg-config cannot find $module after installing; check the Debian packages above" >&2; exit 1; }
done

if ! python3 -c "import h5py, hdf5plugin, jsonschema, numpy" 2>/dev/null; then
    echo "setup: installing h5py hdf5plugin jsonschema numpy"
    python3 -m pip install -q h5py hdf5plugin jsonschema numpy
fi
echo "setup: ok (hdf5 $(pkg-config --modversion hdf5), zstd $(pkg-config --modversion libzstd), openblas $(pkg-config --modversion openblas))"
