#!/usr/bin/env python3
"""Write the Hugging Face folder fixtures of `growkit convert`'s tests (fixtures/hf-folders/).

Run by hand with the torch venv (never by CI; the Swift tests never need Python):

    /work/venv-torch/bin/python tools/make_hf_folder_fixture.py [--out DIR]

From the reference models in fixtures/hf/ (weights in growkit layout, written by
tools/make_hf_reference.py) it rebuilds the transformers model through that
script's own inverse mapping (`growkit_to_hf`) and saves it with
`save_pretrained(safe_serialization=True)`, so the files are written by the
`safetensors` package exactly as Hugging Face writes them:

- `gpt2_tied/`: GPT2LMHeadModel, float32, one `model.safetensors` (tied head, so
  no `lm_head.weight`), against which conversion must be bit-identical to
  fixtures/hf/gpt2_tied.h5 and give the loss of gpt2_tied.reference.h5.
- `llama_gqa_bf16_sharded/`: LlamaForCausalLM in bfloat16, sharded with a small
  `max_shard_size` (several `model-0000i-of-0000n.safetensors` and
  `model.safetensors.index.json`).
- `dtypes.safetensors`: written with `safetensors.torch.save_file`: the same
  values as F32 (`x`), F16 (`x_f16`) and BF16 (`x_bf16`), and the float32 values
  torch itself widens those to (`x_f16_as_f32`, `x_bf16_as_f32`): an independent
  reference for the Swift F16/BF16 decoders (subnormals, infinities, rounding).
"""
import argparse
import os
import shutil
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_hf_reference as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def model_from_fixture(case):
    cfg, ours = ref.read_params(os.path.join(ROOT, "fixtures", "hf", f"{case}.h5"))
    model = ref.build_hf_model(cfg)
    ref.load_growkit_params(model, cfg, ours)
    return model


def save(model, folder, **kwargs):
    if os.path.exists(folder):
        shutil.rmtree(folder)
    model.save_pretrained(folder, safe_serialization=True, **kwargs)
    # Keep the fixture to what growkit reads: config.json and the weights.
    for name in os.listdir(folder):
        if name == "generation_config.json":
            os.remove(os.path.join(folder, name))


def dtypes_file(path):
    values = torch.tensor([0.0, -0.0, 1.0, -2.5, 3.14159265, 1e-3, -7.25e-6, 6.1e-5, 5.96e-8, 1e-9,
                           65504.0, 70000.0, -1e30, float("inf"), float("-inf"), 0.333333343,
                           1.00390625, 1.001953125, 255.5, -0.1], dtype=torch.float32).reshape(4, 5)
    f16 = values.to(torch.float16)
    bf16 = values.to(torch.bfloat16)
    save_file({"x": values, "x_f16": f16, "x_bf16": bf16,
               "x_f16_as_f32": f16.to(torch.float32), "x_bf16_as_f32": bf16.to(torch.float32)},
              path, metadata={"format": "pt"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(ROOT, "fixtures", "hf-folders"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    save(model_from_fixture("gpt2_tied"), os.path.join(args.out, "gpt2_tied"))
    llama = model_from_fixture("llama_gqa").to(torch.bfloat16)
    save(llama, os.path.join(args.out, "llama_gqa_bf16_sharded"), max_shard_size="80KB")
    dtypes_file(os.path.join(args.out, "dtypes.safetensors"))
    for root, _, files in sorted(os.walk(args.out)):
        for name in sorted(files):
            path = os.path.join(root, name)
            print(f"{os.path.getsize(path):8d}  {os.path.relpath(path, args.out)}")


if __name__ == "__main__":
    main()
