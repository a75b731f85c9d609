#!/usr/bin/env python3
"""Check a folder written by `growkit convert STATE OUT` in transformers (run by hand, torch venv).

    /work/venv-torch/bin/python tools/check_hf_export.py OUT fixtures/hf/gpt2_tied.reference.h5 [--atol 1e-4]

Loads OUT with `AutoModelForCausalLM.from_pretrained` (float32, eager attention), runs the
reference batch (`tokens`, `targets` of a fixtures/hf/*.reference.h5 written by
tools/make_hf_reference.py) and compares logits and loss with the stored reference:
prints max |dlogit| and |dloss| and exits 1 when either passes its tolerance
(default 1e-4 on logits, 1e-5 relative on the loss; pass larger ones for a bf16 export).
With --against FOLDER it also requires the two folders' models to give identical logits.
"""
import argparse
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F
import transformers
from transformers import AutoModelForCausalLM


def load(folder):
    # transformers 5 names the argument `dtype`, 4.x `torch_dtype` (5 still accepts it, deprecated).
    key = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", **{key: torch.float32})
    return model.eval()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("reference")
    parser.add_argument("--atol", type=float, default=1e-4)
    parser.add_argument("--loss-rtol", type=float, default=1e-5)
    parser.add_argument("--against")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with h5py.File(args.reference, "r") as f:
        tokens = torch.from_numpy(f["tokens"][...])
        targets = torch.from_numpy(f["targets"][...])
        ref_logits = f["logits"][...]
        ref_loss = float(f["loss"][()])
    model = load(args.folder)
    with torch.no_grad():
        logits = model(input_ids=tokens).logits
        loss = float(F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1), ignore_index=-100))
    dlogit = float(np.abs(logits.numpy().astype(np.float64) - ref_logits).max())
    dloss = abs(loss - ref_loss)
    print(f"{args.folder}: transformers {transformers.__version__}, {type(model).__name__}, loss {loss:.7f} (reference {ref_loss:.7f}), "
          f"|dloss| {dloss:.3g}, max |dlogit| {dlogit:.3g}")
    ok = dlogit <= args.atol and dloss <= args.loss_rtol * max(1.0, abs(ref_loss))
    if args.against:
        with torch.no_grad():
            other = load(args.against)(input_ids=tokens).logits
        same = torch.equal(other, logits)
        print(f"logits identical to {args.against}: {same}")
        ok = ok and same
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
