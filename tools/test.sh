#!/usr/bin/env bash
# The test suite: the Swift tests, then the Python checks that files growkit
# writes conform to schemas/ and open in h5py + hdf5plugin (zstd filter 32015).
# Run tools/setup.sh first (the README's test command does both).
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --build-tests
# One test at a time: OpenBLAS's thread count is process-wide, and a test that sets it
# while another trains would make bit-exact resume and the allocation counts depend on
# timing (each passes alone; about 55 s in all on 2 cores).
swift test --skip-build --disable-xctest --no-parallel

# The bundled corpus and the fixtures are intact (their checksums are in fixtures/SHA256SUMS).
( cd fixtures && sha256sum --quiet -c SHA256SUMS )

# Files written by this build of growkit, plain, zstd-compressed and bfloat16.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
growkit=$(swift build --show-bin-path)/growkit
for family in gpt2 llama; do
    "$growkit" make-fixture --family "$family" --seed 3 --time 2026-01-01T00:00:00Z --out "$work/$family.h5"
    "$growkit" make-fixture --family "$family" --seed 3 --time 2026-01-01T00:00:00Z --zstd 3 --out "$work/$family-zstd.h5"
    "$growkit" make-fixture --family "$family" --seed 3 --time 2026-01-01T00:00:00Z --bf16 --out "$work/$family-bf16.h5"
done
# A checkpoint of the bundled trainer (a few steps of a tiny GPT-2 on the bundled corpus).
cat > "$work/gpt2-config.json" <<'JSON'
{"family": "gpt2", "vocab_size": 256, "hidden_size": 32, "num_layers": 1, "num_heads": 2, "num_kv_heads": 2,
 "head_dim": 16, "intermediate_size": 64, "max_position": 64, "norm": "layernorm", "norm_eps": 1e-5,
 "activation": "gelu_tanh", "position": "learned", "rope_theta": 10000, "tie_embeddings": true,
 "attention_bias": true, "mlp_bias": true}
JSON
"$growkit" train --config "$work/gpt2-config.json" --data fixtures/jargon-file-4.4.7.txt.zst --out "$work/trained.h5" \
    --steps 3 --batch-size 2 --seq-len 16 --zstd 3 --json > /dev/null
# fixtures/hf/*.reference.h5 and *.adamw.h5 are reference data, not checkpoints.
python3 tools/check_format.py "$work"/*.h5 fixtures/*.h5 $(ls fixtures/hf/*.h5 | grep -v -e "\.reference\.h5$" -e "\.adamw\.h5$")
python3 tools/check_h5py_interop.py "$work/gpt2.h5" "$work/gpt2-zstd.h5" "$work/llama.h5" "$work/llama-zstd.h5"

# Hostile input (issue 9): a bounded, seeded set of structural and byte-level mutants
# of the fixtures through every read command, under a timeout and a memory limit.
# A longer run: python3 tools/fuzz.py --growkit "$growkit" --seed N --mutants 5000 --keep DIR
python3 tools/fuzz.py --growkit "$growkit" --seed 1 --mutants 200 --jobs 2
