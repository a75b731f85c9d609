#!/usr/bin/env python3
"""Write Hugging Face reference fixtures for growkit's Swift tests.

Run by hand (never by CI; the Swift tests never need torch):

    python3 tools/make_hf_reference.py            # writes fixtures/hf/*.h5
    python3 tools/make_hf_reference.py --out DIR  # somewhere else

For every case below it builds a tiny `GPT2LMHeadModel` or `LlamaForCausalLM`
(float32, eval mode, no dropout, eager attention), re-initialises its weights
from a seeded normal with a spread large enough that logits are far from
uniform, and writes two files:

- `<case>.h5`: the model as a growkit checkpoint in format v1 (docs/FORMAT.md),
  with fresh optimizer moments, a constant schedule and a trainer at step 0.
- `<case>.reference.h5`: a token batch, its targets (some set to the ignore
  index -100), the logits, the mean cross-entropy loss and the gradient of that
  loss with respect to every parameter, in growkit names and `[out, in]` layout.

Then it checks itself: each checkpoint is read back with h5py, a fresh HF model
is rebuilt from its `/config` and `/params` through the inverse name mapping,
and its logits must equal the reference logits bit for bit.

GPT-2 conversion (HF `Conv1D` stores weights `[in, out]`; `c_attn` fuses q|k|v
along `out`): `c_attn.weight [d, 3d]` splits into three `[d, d]` blocks along
dim 1, each transposed to `[out, in]`; `c_attn.bias [3d]` splits into three;
`attn.c_proj -> o_proj`, `mlp.c_fc -> up_proj`, `mlp.c_proj -> down_proj`
(transposed); `ln_1 -> input_layernorm`, `ln_2 -> post_attention_layernorm`,
`ln_f -> model.norm`, `wte -> model.embed_tokens`, `wpe -> model.embed_positions`;
the head is tied to `wte`, so there is no `lm_head`. Llama names map 1:1.
"""

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import subprocess
import sys
from collections import OrderedDict

import h5py
import numpy as np
import torch
import torch.nn.functional as F
import transformers
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

IGNORE_INDEX = -100
BATCH = 2
SEQ_LEN = 16
SCRIPT_VERSION = "1"

# The growkit `/config` of each case (docs/FORMAT.md), plus its seed and purpose.
CASES = OrderedDict(
    gpt2_tied=dict(
        seed=1003,
        description="GPT-2: LayerNorm with bias, learned positions, gelu_new, biases, tied head",
        config=dict(family="gpt2", vocab_size=256, hidden_size=64, num_layers=2, num_heads=4,
                    num_kv_heads=4, head_dim=16, intermediate_size=256, max_position=32,
                    norm="layernorm", norm_eps=1e-5, activation="gelu_tanh", position="learned",
                    rope_theta=10000.0, tie_embeddings=True, attention_bias=True, mlp_bias=True),
    ),
    llama_gqa=dict(
        seed=1004,
        description="Llama: grouped-query attention (4 query heads, 2 key/value heads), RoPE theta 10000, untied head",
        config=dict(family="llama", vocab_size=256, hidden_size=64, num_layers=2, num_heads=4,
                    num_kv_heads=2, head_dim=16, intermediate_size=96, max_position=128,
                    norm="rmsnorm", norm_eps=1e-5, activation="swiglu", position="rope",
                    rope_theta=10000.0, tie_embeddings=False, attention_bias=False, mlp_bias=False),
    ),
    llama_mqa=dict(
        seed=1005,
        description="Llama: multi-query attention (4 query heads, 1 key/value head), RoPE theta 500 so rotation matters at short T, untied head",
        config=dict(family="llama", vocab_size=256, hidden_size=64, num_layers=2, num_heads=4,
                    num_kv_heads=1, head_dim=16, intermediate_size=96, max_position=128,
                    norm="rmsnorm", norm_eps=1e-5, activation="swiglu", position="rope",
                    rope_theta=500.0, tie_embeddings=False, attention_bias=False, mlp_bias=False),
    ),
    llama_head_dim=dict(
        seed=1006,
        description="Llama: head_dim 16 differs from hidden/heads = 12 (q_proj is [64, 48]), 2 key/value heads, untied head",
        config=dict(family="llama", vocab_size=256, hidden_size=48, num_layers=2, num_heads=4,
                    num_kv_heads=2, head_dim=16, intermediate_size=80, max_position=128,
                    norm="rmsnorm", norm_eps=1e-5, activation="swiglu", position="rope",
                    rope_theta=10000.0, tie_embeddings=False, attention_bias=False, mlp_bias=False),
    ),
)

INT_KEYS = ["vocab_size", "hidden_size", "num_layers", "num_heads", "num_kv_heads", "head_dim",
            "intermediate_size", "max_position"]
REAL_KEYS = ["norm_eps", "rope_theta"]
BOOL_KEYS = ["tie_embeddings", "attention_bias", "mlp_bias"]
STRING_KEYS = ["family", "norm", "activation", "position"]


# ---------------------------------------------------------------------------
# The parameter table: a line-for-line mirror of `ModelConfig.parameters()` in
# Sources/GrowkitState/ParameterTable.swift (the single source of truth).

def parameter_table(cfg):
    """Ordered {dotted name: shape} the config implies, in canonical order."""
    size = dict(vocab=cfg["vocab_size"], position=cfg["max_position"], hidden=cfg["hidden_size"],
                queryHeads=cfg["num_heads"] * cfg["head_dim"],
                keyValueHeads=cfg["num_kv_heads"] * cfg["head_dim"],
                intermediate=cfg["intermediate_size"])
    layernorm = cfg["norm"] == "layernorm"
    swiglu = cfg["activation"] == "swiglu"
    ab, mb = cfg["attention_bias"], cfg["mlp_bias"]
    block = [
        ("input_layernorm.weight", ["hidden"], True),
        ("input_layernorm.bias", ["hidden"], layernorm),
        ("self_attn.q_proj.weight", ["queryHeads", "hidden"], True),
        ("self_attn.q_proj.bias", ["queryHeads"], ab),
        ("self_attn.k_proj.weight", ["keyValueHeads", "hidden"], True),
        ("self_attn.k_proj.bias", ["keyValueHeads"], ab),
        ("self_attn.v_proj.weight", ["keyValueHeads", "hidden"], True),
        ("self_attn.v_proj.bias", ["keyValueHeads"], ab),
        ("self_attn.o_proj.weight", ["hidden", "queryHeads"], True),
        ("self_attn.o_proj.bias", ["hidden"], ab),
        ("post_attention_layernorm.weight", ["hidden"], True),
        ("post_attention_layernorm.bias", ["hidden"], layernorm),
        ("mlp.gate_proj.weight", ["intermediate", "hidden"], swiglu),
        ("mlp.gate_proj.bias", ["intermediate"], swiglu and mb),
        ("mlp.up_proj.weight", ["intermediate", "hidden"], True),
        ("mlp.up_proj.bias", ["intermediate"], mb),
        ("mlp.down_proj.weight", ["hidden", "intermediate"], True),
        ("mlp.down_proj.bias", ["hidden"], mb),
    ]
    table = OrderedDict()
    table["model.embed_tokens.weight"] = (size["vocab"], size["hidden"])
    if cfg["position"] == "learned":
        table["model.embed_positions.weight"] = (size["position"], size["hidden"])
    for layer in range(cfg["num_layers"]):
        for suffix, roles, present in block:
            if present:
                table[f"model.layers.{layer}.{suffix}"] = tuple(size[r] for r in roles)
    table["model.norm.weight"] = (size["hidden"],)
    if layernorm:
        table["model.norm.bias"] = (size["hidden"],)
    if not cfg["tie_embeddings"]:
        table["lm_head.weight"] = (size["vocab"], size["hidden"])
    return table


def storage_path(name):
    return name.replace(".", "/")


# ---------------------------------------------------------------------------
# Building the HF model from a growkit config.

def transformers_major():
    return int(transformers.__version__.split(".")[0])


def build_hf_model(cfg):
    """A fresh HF model (default init) whose architecture is exactly `cfg`."""
    common = dict(attn_implementation="eager", bos_token_id=None, eos_token_id=None, pad_token_id=None)
    if cfg["family"] == "gpt2":
        assert cfg["norm"] == "layernorm" and cfg["activation"] == "gelu_tanh" and cfg["position"] == "learned"
        assert cfg["attention_bias"] and cfg["mlp_bias"] and cfg["num_kv_heads"] == cfg["num_heads"]
        assert cfg["head_dim"] * cfg["num_heads"] == cfg["hidden_size"], "GPT-2 has head_dim = hidden/heads"
        hf_cfg = GPT2Config(
            vocab_size=cfg["vocab_size"], n_embd=cfg["hidden_size"], n_layer=cfg["num_layers"],
            n_head=cfg["num_heads"], n_inner=cfg["intermediate_size"], n_positions=cfg["max_position"],
            layer_norm_epsilon=cfg["norm_eps"], activation_function="gelu_new",
            resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, scale_attn_weights=True,
            scale_attn_by_inverse_layer_idx=False, reorder_and_upcast_attn=False,
            tie_word_embeddings=cfg["tie_embeddings"], **common)
        model = GPT2LMHeadModel(hf_cfg)
    else:
        assert cfg["norm"] == "rmsnorm" and cfg["activation"] == "swiglu" and cfg["position"] == "rope"
        # transformers 5 keeps rope_theta in `rope_parameters`; 4.x has a top-level `rope_theta`.
        if transformers_major() >= 5:
            rope = dict(rope_parameters={"rope_type": "default", "rope_theta": cfg["rope_theta"]})
        else:
            rope = dict(rope_theta=cfg["rope_theta"], rope_scaling=None)
        hf_cfg = LlamaConfig(
            vocab_size=cfg["vocab_size"], hidden_size=cfg["hidden_size"], num_hidden_layers=cfg["num_layers"],
            num_attention_heads=cfg["num_heads"], num_key_value_heads=cfg["num_kv_heads"],
            head_dim=cfg["head_dim"], intermediate_size=cfg["intermediate_size"],
            max_position_embeddings=cfg["max_position"], rms_norm_eps=cfg["norm_eps"], hidden_act="silu",
            attention_bias=cfg["attention_bias"], mlp_bias=cfg["mlp_bias"], attention_dropout=0.0,
            tie_word_embeddings=cfg["tie_embeddings"], **rope, **common)
        model = LlamaForCausalLM(hf_cfg)
        # Make sure RoPE really uses the theta we asked for: inv_freq_j = theta^(-2j/head_dim).
        hd = cfg["head_dim"]
        expected = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
        actual = model.model.rotary_emb.inv_freq.to(torch.float64)
        assert actual.shape == expected.shape and torch.allclose(actual, expected, rtol=1e-6, atol=0), \
            f"rotary inv_freq does not match rope_theta {cfg['rope_theta']}"
    assert model.config._attn_implementation == "eager"
    model = model.to(torch.float32).eval()
    tied = model.lm_head.weight is model.get_input_embeddings().weight
    assert tied == cfg["tie_embeddings"], "HF head tying disagrees with tie_embeddings"
    return model


def reinitialize(model, seed):
    """Seeded weights with spread: HF's std 0.02 makes logits nearly uniform and hides bugs.

    Matrices ~ N(0, 0.2^2); norm weights 1 + 0.1 N(0, 1); biases 0.1 N(0, 1).
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied parameters are listed once
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if name.endswith(".bias"):
                p.copy_(0.1 * noise)
            elif p.dim() == 1:
                p.copy_(1.0 + 0.1 * noise)
            else:
                p.copy_(0.2 * noise)


# ---------------------------------------------------------------------------
# Name mapping, both ways. `hf` is a {HF name: tensor} dict (parameters or grads).

def hf_to_growkit(cfg, hf):
    out = OrderedDict()
    used = set()

    def take(name):
        used.add(name)
        return hf[name].detach().to(torch.float32).cpu()

    if cfg["family"] == "gpt2":
        d = cfg["hidden_size"]
        out["model.embed_tokens.weight"] = take("transformer.wte.weight")
        out["model.embed_positions.weight"] = take("transformer.wpe.weight")
        for i in range(cfg["num_layers"]):
            h, o = f"transformer.h.{i}.", f"model.layers.{i}."
            out[o + "input_layernorm.weight"] = take(h + "ln_1.weight")
            out[o + "input_layernorm.bias"] = take(h + "ln_1.bias")
            w, b = take(h + "attn.c_attn.weight"), take(h + "attn.c_attn.bias")  # [d, 3d], [3d]
            for k, proj in enumerate(["q_proj", "k_proj", "v_proj"]):
                out[o + f"self_attn.{proj}.weight"] = w[:, k * d:(k + 1) * d].t()
                out[o + f"self_attn.{proj}.bias"] = b[k * d:(k + 1) * d]
            out[o + "self_attn.o_proj.weight"] = take(h + "attn.c_proj.weight").t()
            out[o + "self_attn.o_proj.bias"] = take(h + "attn.c_proj.bias")
            out[o + "post_attention_layernorm.weight"] = take(h + "ln_2.weight")
            out[o + "post_attention_layernorm.bias"] = take(h + "ln_2.bias")
            out[o + "mlp.up_proj.weight"] = take(h + "mlp.c_fc.weight").t()
            out[o + "mlp.up_proj.bias"] = take(h + "mlp.c_fc.bias")
            out[o + "mlp.down_proj.weight"] = take(h + "mlp.c_proj.weight").t()
            out[o + "mlp.down_proj.bias"] = take(h + "mlp.c_proj.bias")
        out["model.norm.weight"] = take("transformer.ln_f.weight")
        out["model.norm.bias"] = take("transformer.ln_f.bias")
    else:
        for name in hf:
            out[name] = take(name)
    unused = set(hf) - used
    assert not unused, f"HF tensors left unmapped: {sorted(unused)}"
    table = parameter_table(cfg)
    assert set(out) == set(table), f"name set differs from the parameter table: {set(out) ^ set(table)}"
    for name, shape in table.items():
        assert tuple(out[name].shape) == shape, f"{name}: {tuple(out[name].shape)} != {shape}"
    return OrderedDict((name, out[name].contiguous().numpy()) for name in table)


def growkit_to_hf(cfg, ours):
    """Inverse of `hf_to_growkit` for parameters: {HF name: tensor}."""
    t = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in ours.items()}
    if cfg["family"] != "gpt2":
        return t
    hf = {"transformer.wte.weight": t["model.embed_tokens.weight"],
          "transformer.wpe.weight": t["model.embed_positions.weight"],
          "transformer.ln_f.weight": t["model.norm.weight"],
          "transformer.ln_f.bias": t["model.norm.bias"]}
    for i in range(cfg["num_layers"]):
        h, o = f"transformer.h.{i}.", f"model.layers.{i}."
        hf[h + "ln_1.weight"] = t[o + "input_layernorm.weight"]
        hf[h + "ln_1.bias"] = t[o + "input_layernorm.bias"]
        hf[h + "attn.c_attn.weight"] = torch.cat(
            [t[o + f"self_attn.{p}.weight"].t() for p in ("q_proj", "k_proj", "v_proj")], dim=1)
        hf[h + "attn.c_attn.bias"] = torch.cat([t[o + f"self_attn.{p}.bias"] for p in ("q_proj", "k_proj", "v_proj")])
        hf[h + "attn.c_proj.weight"] = t[o + "self_attn.o_proj.weight"].t()
        hf[h + "attn.c_proj.bias"] = t[o + "self_attn.o_proj.bias"]
        hf[h + "ln_2.weight"] = t[o + "post_attention_layernorm.weight"]
        hf[h + "ln_2.bias"] = t[o + "post_attention_layernorm.bias"]
        hf[h + "mlp.c_fc.weight"] = t[o + "mlp.up_proj.weight"].t()
        hf[h + "mlp.c_fc.bias"] = t[o + "mlp.up_proj.bias"]
        hf[h + "mlp.c_proj.weight"] = t[o + "mlp.down_proj.weight"].t()
        hf[h + "mlp.c_proj.bias"] = t[o + "mlp.down_proj.bias"]
    return hf


def load_growkit_params(model, cfg, ours):
    hf = growkit_to_hf(cfg, ours)
    names = [n for n, _ in model.named_parameters()]
    assert set(names) == set(hf), f"HF parameter set mismatch: {set(names) ^ set(hf)}"
    with torch.no_grad():
        for name, p in model.named_parameters():
            assert tuple(p.shape) == tuple(hf[name].shape), name
            p.copy_(hf[name])


# ---------------------------------------------------------------------------
# Writing.

def chunk_shape(shape):
    """About 1 MiB per chunk along the first axis (docs/FORMAT.md)."""
    row_bytes = 4 * int(np.prod(shape[1:], dtype=np.int64))
    rows = max(1, min(shape[0], (1 << 20) // max(row_bytes, 1)))
    return (rows,) + tuple(shape[1:])


def write_tensor(group, path, array):
    array = np.ascontiguousarray(array, dtype="<f4")
    return group.create_dataset(path, data=array, chunks=chunk_shape(array.shape), fletcher32=True)


def write_zero_tensor(group, path, shape):
    # All-zero moments: the chunks are never written, so they take no space in
    # the file; every HDF5 reader returns the fill value 0 for them.
    return group.create_dataset(path, shape=shape, dtype="<f4", chunks=chunk_shape(shape),
                                fletcher32=True, fillvalue=np.float32(0))


def splitmix_xoshiro_state(seed):
    """The 32 little-endian state bytes of xoshiro256** seeded through splitmix64,
    as Sources/GrowkitRandom/Xoshiro256StarStar.swift `init(seed:)` computes them."""
    mask = (1 << 64) - 1
    s = seed & mask
    words = []
    for _ in range(4):
        s = (s + 0x9E3779B97F4A7C15) & mask
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        words.append(z ^ (z >> 31))
    return np.frombuffer(b"".join(w.to_bytes(8, "little") for w in words), dtype=np.uint8).copy()


@contextlib.contextmanager
def atomic_h5(path):
    """An h5py file written under a temporary name and renamed onto `path` only when complete."""
    tmp = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        with h5py.File(tmp, "w", libver=("v110", "v110")) as f:
            yield f
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def versions():
    return dict(torch=str(torch.__version__), transformers=str(transformers.__version__),
                numpy=str(np.__version__), h5py=str(h5py.__version__), python=sys.version.split()[0])


def write_checkpoint(path, case, spec, ours):
    cfg, seed = spec["config"], spec["seed"]
    rng_state = splitmix_xoshiro_state(seed)
    assert rng_state.all(), "rng_state must be 32 zero-free bytes; pick another seed"
    script = os.path.abspath(__file__)
    with open(script, "rb") as fh:
        script_sha = hashlib.sha256(fh.read()).hexdigest()
    record = dict(
        operator="hf-reference",
        arguments=dict(case=case, seed=seed, description=spec["description"],
                       hf_class="GPT2LMHeadModel" if cfg["family"] == "gpt2" else "LlamaForCausalLM",
                       init="matrices N(0,0.2^2), norm weights 1+0.1N(0,1), biases 0.1N(0,1)",
                       versions=versions()),
        source="tools/make_hf_reference.py",
        source_sha256=script_sha,
        verification=None,
        tool_version=f"make_hf_reference.py {SCRIPT_VERSION} (torch {torch.__version__}, "
                     f"transformers {transformers.__version__})",
        time=datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    )
    with atomic_h5(path) as f:
        f.attrs["format"] = "growkit.training-state"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["growkit_version"] = f"hf-reference (tools/make_hf_reference.py {SCRIPT_VERSION})"

        c = f.create_group("config")
        for k in STRING_KEYS:
            c.attrs[k] = str(cfg[k])
        for k in INT_KEYS:
            c.attrs[k] = np.int64(cfg[k])
        for k in REAL_KEYS:
            c.attrs[k] = np.float64(cfg[k])
        for k in BOOL_KEYS:
            c.attrs[k] = np.uint8(1 if cfg[k] else 0)

        params = f.create_group("params")
        opt = f.create_group("optimizer")
        opt.attrs["type"] = "adamw"
        for k, v in dict(lr=1e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1).items():
            opt.attrs[k] = np.float64(v)
        exp_avg = opt.create_group("exp_avg")
        exp_avg_sq = opt.create_group("exp_avg_sq")
        for name, array in ours.items():
            p = storage_path(name)
            write_tensor(params, p, array)
            m = write_zero_tensor(exp_avg, p, array.shape)
            m.attrs["step"] = np.int64(0)
            m.attrs["apply_weight_decay"] = np.uint8(1 if array.ndim >= 2 else 0)
            write_zero_tensor(exp_avg_sq, p, array.shape)

        s = f.create_group("schedule")
        s.attrs["kind"] = "constant"
        s.attrs["peak_lr"] = np.float64(1e-3)
        s.attrs["min_lr"] = np.float64(1e-3)
        s.attrs["warmup_steps"] = np.int64(0)
        s.attrs["total_steps"] = np.int64(1000)

        t = f.create_group("trainer")
        for k, v in dict(step=0, tokens_seen=0, batch_size=BATCH, seq_len=SEQ_LEN, seed=seed, data_cursor=0).items():
            t.attrs[k] = np.int64(v)
        r = t.create_dataset("rng_state", data=rng_state, dtype=np.uint8)
        r.attrs["generator"] = "xoshiro256**"

        h = f.create_group("history")
        h.create_dataset("step", shape=(0,), dtype="<i8")
        h.create_dataset("loss", shape=(0,), dtype="<f8")
        h.create_dataset("lr", shape=(0,), dtype="<f8")
        h.create_dataset("tokens", shape=(0,), dtype="<i8")

        prov = f.create_group("provenance")
        prov.create_dataset("records", data=[json.dumps(record, sort_keys=True)],
                            dtype=h5py.string_dtype("utf-8"))


def write_reference(path, case, spec, tokens, targets, logits, loss, grads):
    with atomic_h5(path) as f:
        f.attrs["case"] = case
        f.attrs["description"] = spec["description"]
        f.attrs["seed"] = np.int64(spec["seed"])
        f.attrs["torch_version"] = str(torch.__version__)
        f.attrs["transformers_version"] = str(transformers.__version__)
        f.attrs["ignore_index"] = np.int64(IGNORE_INDEX)
        f.create_dataset("tokens", data=tokens.astype("<i8"))
        f.create_dataset("targets", data=targets.astype("<i8"))
        f.create_dataset("logits", data=logits.astype("<f4"))
        f.create_dataset("loss", data=np.float64(loss))
        g = f.create_group("grad")
        for name, array in grads.items():
            g.create_dataset(storage_path(name), data=np.ascontiguousarray(array, dtype="<f4"))


# ---------------------------------------------------------------------------
# One case, end to end, and the self-check.

def make_batch(cfg, seed):
    """tokens [B, T] and next-token targets [B, T] with a few ignored positions."""
    gen = torch.Generator().manual_seed(seed + 7)
    seq = torch.randint(0, cfg["vocab_size"], (BATCH, SEQ_LEN + 1), generator=gen, dtype=torch.int64)
    tokens, targets = seq[:, :-1].clone(), seq[:, 1:].clone()
    for b, t in [(0, 0), (0, 9), (1, 4), (1, SEQ_LEN - 1)]:
        targets[b, t] = IGNORE_INDEX
    return tokens, targets


def forward_loss(model, tokens, targets, vocab):
    logits = model(input_ids=tokens).logits
    assert logits.dtype == torch.float32
    loss = F.cross_entropy(logits.view(-1, vocab), targets.view(-1), ignore_index=IGNORE_INDEX)
    return logits, loss


def read_params(path):
    with h5py.File(path, "r") as f:
        c = f["config"].attrs
        cfg = {}
        for k in STRING_KEYS:
            v = c[k]
            cfg[k] = v.decode() if isinstance(v, bytes) else str(v)
        for k in INT_KEYS:
            cfg[k] = int(c[k])
        for k in REAL_KEYS:
            cfg[k] = float(c[k])
        for k in BOOL_KEYS:
            cfg[k] = bool(int(c[k]))
        table = parameter_table(cfg)
        ours = OrderedDict()
        for name, shape in table.items():
            d = f["params"][storage_path(name)]
            assert d.dtype == np.dtype("<f4") and d.shape == shape and d.fletcher32, name
            ours[name] = d[...]
            for moment in ("exp_avg", "exp_avg_sq"):
                m = f["optimizer"][moment][storage_path(name)]
                assert m.shape == shape and m.dtype == np.dtype("<f4") and not m[...].any(), (moment, name)
    return cfg, ours


def numpy_forward(cfg, ours, tokens):
    """Logits [B, T, V] from growkit-layout weights, in float64 numpy, written from
    DESIGN.md section 4 rather than from HF code: an independent check that the
    mapping puts q, k, v, up and down where the growkit forward pass expects them
    (the HF round trip alone cannot tell a consistent swap of q and k)."""
    w = {k: np.asarray(v, dtype=np.float64) for k, v in ours.items()}
    B, T = tokens.shape
    H, KV, hd = cfg["num_heads"], cfg["num_kv_heads"], cfg["head_dim"]
    eps = cfg["norm_eps"]

    def norm(x, prefix):
        if cfg["norm"] == "layernorm":
            mu = x.mean(-1, keepdims=True)
            var = ((x - mu) ** 2).mean(-1, keepdims=True)
            return (x - mu) / np.sqrt(var + eps) * w[prefix + ".weight"] + w[prefix + ".bias"]
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w[prefix + ".weight"]

    def linear(x, prefix):
        y = x @ w[prefix + ".weight"].T
        return y + w[prefix + ".bias"] if prefix + ".bias" in w else y

    def rope(x):  # x [B, heads, T, hd]; rotate_half: first half pairs with second half
        half = hd // 2
        inv_freq = cfg["rope_theta"] ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
        angle = np.arange(T, dtype=np.float64)[:, None] * inv_freq[None, :]
        cos, sin = np.cos(np.concatenate([angle, angle], -1)), np.sin(np.concatenate([angle, angle], -1))
        rotated = np.concatenate([-x[..., half:], x[..., :half]], -1)
        return x * cos + rotated * sin

    h = w["model.embed_tokens.weight"][tokens]
    if cfg["position"] == "learned":
        h = h + w["model.embed_positions.weight"][np.arange(T)][None]
    causal = np.triu(np.full((T, T), -np.inf), k=1)
    for i in range(cfg["num_layers"]):
        p = f"model.layers.{i}."
        x = norm(h, p + "input_layernorm")
        q = linear(x, p + "self_attn.q_proj").reshape(B, T, H, hd).transpose(0, 2, 1, 3)
        k = linear(x, p + "self_attn.k_proj").reshape(B, T, KV, hd).transpose(0, 2, 1, 3)
        v = linear(x, p + "self_attn.v_proj").reshape(B, T, KV, hd).transpose(0, 2, 1, 3)
        if cfg["position"] == "rope":
            q, k = rope(q), rope(k)
        group = H // KV  # query head h reads key/value head h // group
        k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd) + causal
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attn = (scores / scores.sum(-1, keepdims=True)) @ v
        h = h + linear(attn.transpose(0, 2, 1, 3).reshape(B, T, H * hd), p + "self_attn.o_proj")
        x = norm(h, p + "post_attention_layernorm")
        if cfg["activation"] == "swiglu":
            g = linear(x, p + "mlp.gate_proj")
            a = g / (1.0 + np.exp(-g)) * linear(x, p + "mlp.up_proj")
        else:
            u = linear(x, p + "mlp.up_proj")
            a = 0.5 * u * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (u + 0.044715 * u ** 3)))
        h = h + linear(a, p + "mlp.down_proj")
    h = norm(h, "model.norm")
    head = w["model.embed_tokens.weight"] if cfg["tie_embeddings"] else w["lm_head.weight"]
    return h @ head.T


def numpy_loss(cfg, ours, tokens, targets):
    """Mean cross-entropy over the non-ignored targets, float64, from `numpy_forward`."""
    logits = numpy_forward(cfg, ours, tokens).reshape(-1, cfg["vocab_size"])
    targets = targets.reshape(-1)
    keep = targets != IGNORE_INDEX
    z = logits[keep] - logits[keep].max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return -logp[np.arange(keep.sum()), targets[keep]].mean()


def check_gradients(cfg, ours, tokens, targets, grads, seed, probes=3, h=1e-5):
    """Central differences of the float64 numpy loss at a few entries of every
    tensor against the torch float32 gradient. float64 differences with h = 1e-5
    are good to about 1e-9; float32 backprop to about 1e-7 of the largest
    gradient entries; 2e-6 + 1e-3 |g| leaves margin. Returns the largest error."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    for name, g in grads.items():
        base = np.asarray(ours[name], dtype=np.float64)
        # The largest-gradient entry plus random ones, so no tensor passes on zeros alone.
        picks = [np.unravel_index(np.abs(g).argmax(), g.shape)]
        picks += [tuple(int(rng.integers(0, n)) for n in g.shape) for _ in range(probes - 1)]
        for index in picks:
            plus, minus = dict(ours), dict(ours)
            plus[name], minus[name] = base.copy(), base.copy()
            plus[name][index] += h
            minus[name][index] -= h
            numeric = (numpy_loss(cfg, plus, tokens, targets) - numpy_loss(cfg, minus, tokens, targets)) / (2 * h)
            error = abs(numeric - float(g[index]))
            assert error <= 2e-6 + 1e-3 * abs(numeric), \
                f"{name}{index}: torch gradient {g[index]:.8g}, finite difference {numeric:.8g}"
            worst = max(worst, error)
    return worst


def run_case(out_dir, case, spec):
    cfg, seed = spec["config"], spec["seed"]
    model = build_hf_model(cfg)
    reinitialize(model, seed)
    tokens, targets = make_batch(cfg, seed)

    model.zero_grad(set_to_none=True)
    logits, loss = forward_loss(model, tokens, targets, cfg["vocab_size"])
    loss.backward()
    named = OrderedDict(model.named_parameters())
    params = hf_to_growkit(cfg, {n: p for n, p in named.items()})
    grads = hf_to_growkit(cfg, {n: p.grad for n, p in named.items()})

    ckpt = os.path.join(out_dir, f"{case}.h5")
    ref = os.path.join(out_dir, f"{case}.reference.h5")
    write_checkpoint(ckpt, case, spec, params)
    logits_np = logits.detach().numpy()
    write_reference(ref, case, spec, tokens.numpy(), targets.numpy(), logits_np, float(loss.item()), grads)

    # Self-check: rebuild the HF model from the checkpoint alone, via the inverse mapping.
    cfg2, ours2 = read_params(ckpt)
    assert cfg2 == cfg, f"{case}: /config round trip differs"
    model2 = build_hf_model(cfg2)
    load_growkit_params(model2, cfg2, ours2)
    with torch.no_grad():
        logits2, loss2 = forward_loss(model2, tokens, targets, cfg["vocab_size"])
    assert torch.equal(logits2, logits.detach()), f"{case}: logits differ after the round trip"
    assert loss2.item() == loss.item()
    with h5py.File(ref, "r") as f:
        assert np.array_equal(f["logits"][...], logits_np)
        for name, g in grads.items():
            assert np.array_equal(f["grad"][storage_path(name)][...], g), name
            assert np.abs(g).max() > 0, f"{case}: zero gradient for {name}"

    # Independent check of the layout: a float64 numpy forward from the growkit
    # weights must agree with HF's float32 logits (|logit| <~ 10, so float32
    # rounding through two blocks stays far below 1e-4).
    max_dlogit = np.abs(numpy_forward(cfg2, ours2, tokens.numpy()) - logits_np).max()
    assert max_dlogit < 1e-4, f"{case}: numpy forward differs from HF by {max_dlogit:.3g}"
    loss64 = numpy_loss(cfg2, ours2, tokens.numpy(), targets.numpy())
    assert abs(loss64 - loss.item()) < 1e-5, f"{case}: numpy loss {loss64} vs torch {loss.item()}"
    max_dgrad = check_gradients(cfg2, ours2, tokens.numpy(), targets.numpy(), grads, seed)

    probs = torch.softmax(logits.detach(), dim=-1)
    print(f"{case}: loss {loss.item():.6f} (uniform {np.log(cfg['vocab_size']):.3f}), "
          f"logit std {logits.detach().std().item():.3f}, max prob {probs.max().item():.3f}, "
          f"params {sum(a.size for a in params.values())}, "
          f"sizes {os.path.getsize(ckpt)} + {os.path.getsize(ref)} bytes; round trip exact, "
          f"numpy float64 forward max |dlogit| {max_dlogit:.2e}, |dloss| {abs(loss64 - loss.item()):.2e}, "
          f"finite-difference max |dgrad| {max_dgrad:.2e}")
    return ckpt


# ---------------------------------------------------------------------------
# Ten AdamW steps: `<case>.adamw.h5`, the reference for the Swift optimizer and trainer step.

TRAINING_CASES = ["gpt2_tied", "llama_gqa"]
TRAINING = dict(steps=10, peak_lr=1e-2, min_lr=1e-3, warmup_steps=3, total_steps=10,
                beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, max_grad_norm=1.0)


def schedule_lr(s, t=TRAINING):
    """docs/FORMAT.md `/schedule`, kind cosine: the LR of the update from step s to s + 1."""
    p, m, w, total = t["peak_lr"], t["min_lr"], t["warmup_steps"], t["total_steps"]
    if s < w:
        return p * (s + 1) / w
    progress = 1.0 if total <= w else min(1.0, (s - w) / (total - w))
    return m + (p - m) * (1 + np.cos(np.pi * progress)) / 2


def run_training_case(out_dir, case, spec):
    """Ten steps of `torch.optim.AdamW` (single-tensor CPU path) with `clip_grad_norm_` and the
    cosine schedule, from the weights of `<case>.h5`, each step on its own seeded batch. Matrices
    decay, vectors do not (docs/DECISIONS.md). Writes the batches, the loss before each update,
    the LR, the gradient norm before clipping, and the final weights and moments."""
    t = TRAINING
    cfg, ours = read_params(os.path.join(out_dir, f"{case}.h5"))
    model = build_hf_model(cfg)
    load_growkit_params(model, cfg, ours)
    named = OrderedDict(model.named_parameters())
    groups = [dict(params=[p for p in named.values() if p.dim() >= 2], weight_decay=t["weight_decay"]),
              dict(params=[p for p in named.values() if p.dim() < 2], weight_decay=0.0)]
    opt = torch.optim.AdamW(groups, lr=t["peak_lr"], betas=(t["beta1"], t["beta2"]), eps=t["eps"], foreach=False)
    all_tokens, all_targets, losses, lrs, norms = [], [], [], [], []
    for s in range(t["steps"]):
        tokens, targets = make_batch(cfg, spec["seed"] + 100 + s)
        lr = schedule_lr(s)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad(set_to_none=True)
        _, loss = forward_loss(model, tokens, targets, cfg["vocab_size"])
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(named.values()), t["max_grad_norm"], foreach=False)
        opt.step()
        all_tokens.append(tokens.numpy())
        all_targets.append(targets.numpy())
        losses.append(float(loss.item()))
        lrs.append(lr)
        norms.append(float(norm.item()))
    assert max(norms) > t["max_grad_norm"], "clipping never triggered: raise the weights' spread or lower max_grad_norm"
    params = hf_to_growkit(cfg, named)
    exp_avg = hf_to_growkit(cfg, {n: opt.state[p]["exp_avg"] for n, p in named.items()})
    exp_avg_sq = hf_to_growkit(cfg, {n: opt.state[p]["exp_avg_sq"] for n, p in named.items()})
    assert all(int(opt.state[p]["step"]) == t["steps"] for p in named.values())
    path = os.path.join(out_dir, f"{case}.adamw.h5")
    with atomic_h5(path) as f:
        f.attrs["case"] = case
        f.attrs["torch_version"] = str(torch.__version__)
        f.attrs["transformers_version"] = str(transformers.__version__)
        f.attrs["schedule_kind"] = "cosine"
        for k, v in t.items():
            f.attrs[k] = np.int64(v) if isinstance(v, int) else np.float64(v)
        f.create_dataset("tokens", data=np.stack(all_tokens).astype("<i8"))
        f.create_dataset("targets", data=np.stack(all_targets).astype("<i8"))
        f.create_dataset("loss", data=np.array(losses, dtype="<f8"))
        f.create_dataset("lr", data=np.array(lrs, dtype="<f8"))
        f.create_dataset("grad_norm", data=np.array(norms, dtype="<f8"))
        for group, arrays in (("params", params), ("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)):
            g = f.create_group(group)
            for name, array in arrays.items():
                g.create_dataset(storage_path(name), data=np.ascontiguousarray(array, dtype="<f4"))
    print(f"{case}: 10 AdamW steps, loss {losses[0]:.4f} -> {losses[-1]:.4f}, grad norms "
          f"{min(norms):.3f}..{max(norms):.3f} (clipped at {t['max_grad_norm']}), wrote {path}")
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "hf")
    parser.add_argument("--out", default=os.path.normpath(default_out), help="output folder (default fixtures/hf)")
    parser.add_argument("--case", action="append", choices=list(CASES), help="only these cases (repeatable)")
    parser.add_argument("--adamw-only", action="store_true",
                        help="only (re)write <case>.adamw.h5 from the existing <case>.h5 files")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # fixed reduction order, reproducible bits
    os.makedirs(args.out, exist_ok=True)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, h5py {h5py.__version__}")
    cases = args.case or list(CASES)
    written = [] if args.adamw_only else [run_case(args.out, case, CASES[case]) for case in cases]
    for case in cases:
        if case in TRAINING_CASES:
            run_training_case(args.out, case, CASES[case])
    # The format checker lives on another branch at first; use it when it is here.
    checker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_format.py")
    if not written:
        pass
    elif os.path.exists(checker):
        subprocess.run([sys.executable, checker, *written], check=True)
    else:
        print("tools/check_format.py not found: format check skipped")


if __name__ == "__main__":
    main()
