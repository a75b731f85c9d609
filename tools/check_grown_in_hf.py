#!/usr/bin/env python3
"""Load a source state and its grown state into Hugging Face transformers and
compare them: the grown model, built by transformers from the grown /config,
must score the same tokens with the same loss when the growth claims exactness.

Run by hand with torch and transformers installed (never by CI):

    growkit grow fixtures/hf/llama_gqa.h5 /tmp/grown.h5 --depth identity:2 --width duplicate:2
    python3 tools/check_grown_in_hf.py fixtures/hf/llama_gqa.h5 /tmp/grown.h5

It prints both losses, |dloss| and max |dlogit| on seeded random tokens and exits
1 when the grown file's last provenance record claims an exact growth
(`growth.exact`) and a figure misses DESIGN section 6's float32 tolerances
(max |dlogit| <= 1e-4, |dloss| <= 1e-5 max(1, loss)). The model is built and
loaded by tools/make_hf_reference.py's functions (the GPT-2 Conv1D transposes
and c_attn fusion included), so this checks growkit's grown layout against
transformers' own forward pass, independently of growkit's.
"""

import argparse
import json
import os
import sys
from collections import OrderedDict

import h5py
import hdf5plugin  # noqa: F401  (zstd filter 32015 for compressed states)
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_hf_reference as ref  # noqa: E402


def read_state(path):
    """The config dict and every parameter as float32 numpy arrays (bfloat16 widened)."""
    with h5py.File(path, "r") as f:
        c = f["config"].attrs
        cfg = {}
        for k in ref.STRING_KEYS:
            v = c[k]
            cfg[k] = v.decode() if isinstance(v, bytes) else str(v)
        for k in ref.INT_KEYS:
            cfg[k] = int(c[k])
        for k in ref.REAL_KEYS:
            cfg[k] = float(c[k])
        for k in ref.BOOL_KEYS:
            cfg[k] = bool(int(c[k]))
        params = OrderedDict()
        for name, shape in ref.parameter_table(cfg).items():
            d = f["params"][ref.storage_path(name)]
            a = d[...]
            if d.attrs.get("dtype") in (b"bfloat16", "bfloat16"):
                a = (a.astype(np.uint32) << 16).view(np.float32)
            assert a.shape == shape, (name, a.shape, shape)
            params[name] = a.astype(np.float32)
        records = [json.loads(r) for r in f["provenance"]["records"][...]]
    return cfg, params, records


def logits_and_loss(path, tokens, targets):
    cfg, params, records = read_state(path)
    model = ref.build_hf_model(cfg)
    ref.load_growkit_params(model, cfg, params)
    with torch.no_grad():
        logits, loss = ref.forward_loss(model, tokens, targets, cfg["vocab_size"])
    return cfg, logits, float(loss), records


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("small")
    parser.add_argument("grown")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with h5py.File(args.small, "r") as f:
        vocab = int(f["config"].attrs["vocab_size"])
    gen = torch.Generator().manual_seed(args.seed)
    seq = torch.randint(0, vocab, (args.batch, args.seq_len + 1), generator=gen, dtype=torch.int64)
    tokens, targets = seq[:, :-1].clone(), seq[:, 1:].clone()

    small_cfg, small_logits, small_loss, _ = logits_and_loss(args.small, tokens, targets)
    grown_cfg, grown_logits, grown_loss, records = logits_and_loss(args.grown, tokens, targets)
    dloss = abs(grown_loss - small_loss)
    dlogit = float((grown_logits - small_logits).abs().max())
    growth = (records[-1].get("growth") or {}) if records else {}
    exact = bool(growth.get("exact", False))
    ok = dlogit <= 1e-4 and dloss <= 1e-5 * max(1.0, small_loss)

    def describe(c):
        return (f"{c['family']} {c['num_layers']} layers, hidden {c['hidden_size']}, {c['num_heads']} heads "
                f"({c['num_kv_heads']} kv), intermediate {c['intermediate_size']}")
    print(f"small  {describe(small_cfg)}: HF loss {small_loss:.7f}")
    print(f"grown  {describe(grown_cfg)}: HF loss {grown_loss:.7f}")
    print(f"|dloss| {dloss:.3e}  max |dlogit| {dlogit:.3e}  (transformers {ref.transformers.__version__}, torch {torch.__version__})")
    print(f"growth {', '.join(growth.get('operators', [])) or 'not recorded'}; claims exact: {exact}")
    if exact and not ok:
        print("FAIL: the growth claims exactness but Hugging Face's forward pass disagrees beyond float32 tolerance")
        return 1
    print("PASS: same loss in transformers" if ok else "changed by design (the growth does not claim exactness)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
