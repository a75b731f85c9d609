#!/usr/bin/env python3
"""PyTorch eager baseline throughput for growkit-bench.

Measures tokens per second of Hugging Face `GPT2LMHeadModel` and
`LlamaForCausalLM` on CPU, float32, eager attention, eval mode (no dropout),
with `torch.set_num_threads(N)`:

- default: forward only, under `torch.inference_mode()`;
- `--train`: forward + cross-entropy + backward + `torch.optim.AdamW` step.

Each configuration is warmed up, then timed `--runs` times; the figure is
`batch * seq / median(seconds)`. One JSON line per configuration goes to
stdout (growkit-bench spawns this script and parses those lines):

    {"config": "gpt2", "mode": "forward", "tokens_per_second": 12345.6, "threads": 2, "torch": "2.x", ...}

`median_cpu_seconds` is the median process CPU time (all threads) of one timed run.

Weights are random (the seed is fixed); throughput does not depend on values.
"""

import argparse
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
import transformers
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

VOCAB, HIDDEN, LAYERS, HEADS, SEQ, BATCH = 256, 384, 6, 6, 256, 8


def build(name):
    common = dict(attn_implementation="eager", bos_token_id=None, eos_token_id=None, pad_token_id=None)
    if name == "gpt2":
        cfg = GPT2Config(vocab_size=VOCAB, n_embd=HIDDEN, n_layer=LAYERS, n_head=HEADS, n_positions=SEQ,
                         activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                         tie_word_embeddings=True, **common)
        return GPT2LMHeadModel(cfg)
    cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                      num_key_value_heads=2, intermediate_size=1024, max_position_embeddings=SEQ,
                      rms_norm_eps=1e-5, tie_word_embeddings=False, **common)
    return LlamaForCausalLM(cfg)


def make_step(name, train):
    """One timed unit of work for `name`: a forward, or forward + backward + AdamW step."""
    torch.manual_seed(0)
    model = build(name).to(torch.float32).eval()
    tokens = torch.randint(0, VOCAB, (BATCH, SEQ + 1))
    inputs, targets = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()

    if train:
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1, foreach=True)

        def step():
            optimizer.zero_grad(set_to_none=True)
            logits = model(input_ids=inputs).logits
            F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1)).backward()
            optimizer.step()
    else:
        def step():
            with torch.inference_mode():
                model(input_ids=inputs)
    return step


def timed(step):
    """(wall seconds, process CPU seconds) of one call of `step`."""
    start, cpu_start = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - start, time.process_time() - cpu_start


def serve(names, train, warmup):
    """Paired mode for growkit-bench: builds every model, warms each up, prints `{"ready": true}`,
    then for each config name read from stdin runs one step and prints
    `{"config": name, "seconds": s, "cpu_seconds": c}`; stops at end of input."""
    steps = {name: make_step(name, train) for name in names}
    for step in steps.values():
        for _ in range(warmup):
            step()
    print(json.dumps({"ready": True, "torch": str(torch.__version__), "threads": torch.get_num_threads()}),
          flush=True)
    for line in sys.stdin:
        name = line.strip()
        if name not in steps:
            print(json.dumps({"error": f"unknown config {name!r}"}), flush=True)
            continue
        seconds, cpu_seconds = timed(steps[name])
        print(json.dumps({"config": name, "seconds": seconds, "cpu_seconds": cpu_seconds,
                          "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)


def measure(name, train, warmup, runs):
    step = make_step(name, train)
    for _ in range(warmup):
        step()
    seconds, cpu_seconds = [], []
    for _ in range(runs):
        wall, cpu = timed(step)
        seconds.append(wall)
        cpu_seconds.append(cpu)
    median = statistics.median(seconds)
    return dict(config=name, mode="train" if train else "forward",
                tokens_per_second=round(BATCH * SEQ / median, 1), threads=torch.get_num_threads(),
                torch=str(torch.__version__), transformers=str(transformers.__version__),
                batch=BATCH, seq_len=SEQ, median_seconds=round(median, 6),
                median_cpu_seconds=round(statistics.median(cpu_seconds), 6), runs=runs)


def main():
    parser = argparse.ArgumentParser(description="PyTorch eager CPU throughput (tokens/s) for growkit-bench.")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--train", action="store_true", help="forward + backward + AdamW step instead of forward")
    parser.add_argument("--config", choices=["gpt2", "llama"], action="append", help="only these (repeatable)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs; the median is reported (default 5)")
    parser.add_argument("--serve", action="store_true",
                        help="paired mode: run one step per config name read from stdin (see serve())")
    args = parser.parse_args()
    if args.threads < 1 or args.runs < 1 or args.warmup < 0:
        parser.error("--threads and --runs must be at least 1 and --warmup at least 0")
    torch.set_num_threads(args.threads)
    if args.serve:
        serve(args.config or ["gpt2", "llama"], args.train, args.warmup)
        return
    for name in args.config or ["gpt2", "llama"]:
        print(json.dumps(measure(name, args.train, args.warmup, args.runs)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
