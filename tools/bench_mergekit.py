#!/usr/bin/env python3
"""growkit grow --depth stack:2 against a mergekit passthrough merge of the same slices (issue 13).

Makes a random Llama Hugging Face folder (~130M parameters by default, numpy only), stacks it
x2 with `growkit grow IN OUT/ --depth stack:2` and with `mergekit-yaml` (passthrough of
layer_range [0, L] twice), prints both wall times and peak RSS, and checks that the two
outputs hold the same tensors (names, shapes, values bit for bit).

mergekit is not a dependency: with --install it is pip-installed into a venv (--venv DIR);
without it, `mergekit-yaml` is looked up in that venv and on PATH. When it cannot be found
or installed, the growkit half still runs and the comparison is skipped with the reason.

    python3 tools/bench_mergekit.py --growkit .build/release/growkit [--install] [--venv DIR]
        [--work DIR] [--hidden 768 --layers 12 --intermediate 2048 --vocab 32000]
"""
import argparse
import json
import multiprocessing
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np


def write_safetensors(path, tensors):
    """tensors: list of (name, float32 array); the safetensors layout, header padded to 8 bytes."""
    header, offset = {}, 0
    for name, array in tensors:
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, array in tensors:
            f.write(np.ascontiguousarray(array, dtype="<f4").tobytes())


def read_safetensors(folder):
    """Every tensor of a folder (model.safetensors or the shards of the index) as name -> (shape, bytes)."""
    files = sorted(name for name in os.listdir(folder) if name.endswith(".safetensors"))
    out = {}
    for name in files:
        with open(os.path.join(folder, name), "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
            base = 8 + n
            for key, entry in header.items():
                if key == "__metadata__":
                    continue
                begin, end = entry["data_offsets"]
                f.seek(base + begin)
                data = np.frombuffer(f.read(end - begin), dtype={"F32": "<f4", "F16": "<f2", "BF16": "<u2"}[entry["dtype"]])
                out[key] = (tuple(entry["shape"]), entry["dtype"], data.tobytes())
    return out


def make_model(folder, hidden, layers, heads, intermediate, vocab, seed=0):
    os.makedirs(folder)
    rng = np.random.default_rng(seed)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
        "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": heads,
        "head_dim": hidden // heads, "intermediate_size": intermediate, "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu", "attention_bias": False,
        "mlp_bias": False, "tie_word_embeddings": False, "vocab_size": vocab, "torch_dtype": "float32",
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

    def w(*shape):
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype("<f4")

    tensors = [("model.embed_tokens.weight", w(vocab, hidden))]
    for i in range(layers):
        p = f"model.layers.{i}."
        tensors += [
            (p + "input_layernorm.weight", np.ones(hidden, "<f4")),
            (p + "self_attn.q_proj.weight", w(hidden, hidden)), (p + "self_attn.k_proj.weight", w(hidden, hidden)),
            (p + "self_attn.v_proj.weight", w(hidden, hidden)), (p + "self_attn.o_proj.weight", w(hidden, hidden)),
            (p + "post_attention_layernorm.weight", np.ones(hidden, "<f4")),
            (p + "mlp.gate_proj.weight", w(intermediate, hidden)), (p + "mlp.up_proj.weight", w(intermediate, hidden)),
            (p + "mlp.down_proj.weight", w(hidden, intermediate)),
        ]
    tensors += [("model.norm.weight", np.ones(hidden, "<f4")), ("lm_head.weight", w(vocab, hidden))]
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors)
    return sum(a.size for _, a in tensors)


def timed(command, env=None):
    """Runs command; returns (exit status, wall seconds, peak RSS in MB, stderr tail)."""
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, time.monotonic() - start, usage.ru_maxrss / 1024, stderr.decode(errors="replace")[-2000:]


def find_mergekit(args):
    candidate = os.path.join(args.venv, "bin", "mergekit-yaml")
    if os.access(candidate, os.X_OK):
        return candidate, None
    if args.install:
        print(f"installing mergekit into {args.venv} (pip; pulls torch)", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", args.venv], check=True)
            subprocess.run([os.path.join(args.venv, "bin", "pip"), "install", "-q", "mergekit"], check=True)
        except (subprocess.CalledProcessError, OSError) as error:
            return None, f"pip could not install mergekit into {args.venv} ({error})"
        if os.access(candidate, os.X_OK):
            return candidate, None
        return None, f"mergekit installed but {candidate} is missing"
    found = shutil.which("mergekit-yaml")
    if found:
        return found, None
    return None, f"mergekit-yaml is neither in {args.venv} nor on PATH; rerun with --install to pip-install it"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--growkit", default=".build/release/growkit")
    parser.add_argument("--install", action="store_true", help="pip-install mergekit into --venv when missing")
    parser.add_argument("--venv", default=os.path.join(tempfile.gettempdir(), "growkit-mergekit-venv"))
    parser.add_argument("--work", help="folder for the models (default: a temporary one, removed)")
    parser.add_argument("--hidden", type=int, default=768)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--intermediate", type=int, default=2048)
    parser.add_argument("--vocab", type=int, default=32000)
    args = parser.parse_args()

    work = args.work or tempfile.mkdtemp(prefix="growkit-mergekit-")
    try:
        source = os.path.join(work, "source")
        # The model is made in a child process: a child's peak RSS (wait4) counts what it
        # inherited at fork, so this process must stay small while the commands run.
        with multiprocessing.Pool(1) as pool:
            count = pool.apply(make_model, (source, args.hidden, args.layers, args.heads, args.intermediate, args.vocab))
        print(f"source: random Llama, {count / 1e6:.1f} M parameters, {args.layers} layers ({source})")

        grown = os.path.join(work, "growkit_2x") + "/"
        status, seconds, rss, err = timed([args.growkit, "grow", source, grown, "--depth", "stack:2"])
        if status != 0:
            print(f"growkit grow failed (exit {status}): {err.strip()}")
            return 1
        print(f"growkit grow --depth stack:2   wall {seconds:7.2f} s   peak RSS {rss:8.1f} MB")

        mergekit, reason = find_mergekit(args)
        if mergekit is None:
            print(f"mergekit: skipped: {reason}")
            return 0
        recipe = os.path.join(work, "passthrough.yml")
        with open(recipe, "w") as f:
            f.write("slices:\n"
                    f"  - sources: [{{model: {source}, layer_range: [0, {args.layers}]}}]\n"
                    f"  - sources: [{{model: {source}, layer_range: [0, {args.layers}]}}]\n"
                    "merge_method: passthrough\ndtype: float32\n")
        merged = os.path.join(work, "mergekit_2x")
        status, seconds, rss, err = timed([mergekit, recipe, merged, "--out-shard-size", "5B"])
        if status != 0:
            print(f"mergekit: failed (exit {status}): {err.strip().splitlines()[-1] if err.strip() else ''}")
            return 1
        print(f"mergekit-yaml passthrough      wall {seconds:7.2f} s   peak RSS {rss:8.1f} MB")

        ours, theirs = read_safetensors(grown), read_safetensors(merged)
        if set(ours) != set(theirs):
            print(f"outputs differ in names: only growkit {sorted(set(ours) - set(theirs))[:5]}, "
                  f"only mergekit {sorted(set(theirs) - set(ours))[:5]}")
            return 1
        different = [name for name in ours if ours[name] != theirs[name]]
        if different:
            print(f"outputs differ: {len(different)} of {len(ours)} tensors, first {different[0]}")
            return 1
        print(f"outputs: the same {len(ours)} tensors, bit for bit")
        return 0
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
