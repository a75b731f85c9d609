#!/usr/bin/env bash
# Heap blocks allocated per forward pass (llama reference config, batch 2 x 64),
# counted by valgrind: the difference between 3 and 1 forward passes in the same
# program, halved. Not run by CI (valgrind takes a few minutes); CI runs
# Tests/GrowkitModelTests/ForwardAllocationTests.swift, which counts on the real
# CPU. Valgrind's virtual CPU has no AVX-512, so OpenBLAS picks other kernels
# here than on an AVX-512 machine (see docs/DECISIONS.md, "Forward pass").
# Usage: bash tools/check_forward_allocations.sh   (after swift build -c release)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=.build/release/growkit-bench
[ -x "$bench" ] || { echo "build first: swift build -c release" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install -y valgrind)" >&2; exit 2; }
allocs() {
  valgrind --tool=memcheck --leak-check=no "$bench" forward --forwards-only "$1" 2>&1 \
    | sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' | tr -d ,
}
one=$(allocs 1)
three=$(allocs 3)
echo "heap blocks: 1 forward ${one}, 3 forwards ${three}; per forward $(( (three - one) / 2 ))"
