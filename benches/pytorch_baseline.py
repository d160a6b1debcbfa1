#!/usr/bin/env python3
"""PyTorch eager baseline: prefill and decode speed of the same model, same token ids, same
spans and dtypes as a driftbench sweep, on this machine, now.

Every speed claim driftbench makes about its CPU backend is a ratio against this baseline
measured on the same machine in the same hour (the development machines differ by 5-8x from
day to day), so the baseline is one command away:

    python3 benches/pytorch_baseline.py                      # SmolLM2, spans 32/128/512, f32/f16/bf16
    python3 benches/pytorch_baseline.py --spans 512 --dtypes bf16 --reps 3 --json out/pt.json

On first use it makes a virtual environment (.venv-baseline beside the repository's README,
git-ignored; $DRIFTBENCH_BASELINE_VENV names another) and installs torch, transformers, gguf, numpy and accelerate (transformers wants it for GGUF) from PyPI into it, then reruns
itself there. On a machine without the network (a rented GPU) `--system` uses the torch and
transformers this Python already has, and `--gguf-wheel FILE` puts a carried `gguf` wheel on
the import path when that package is missing (it is pure Python):

    python3 benches/pytorch_baseline.py --system --gguf-wheel gguf-0.17.1-py3-none-any.whl \
        --device cuda --spans 32,128,512 --dtypes f32,bf16 --reps 3 --json out/pt-cuda.json

On `--device cuda` every timed region ends with a device synchronize, so a route's time is
its kernels' (as driftbench's clock stops once the logits are back). Every row also says how
far this engine's own decode drifts from its prefill (max |prefill - decode| over the logits):
the yardstick for a driftbench backend's drift on the same GPU. Routes are timed as driftbench times them:
  prefill: all `span` tokens in one forward with a causal mask, logits for every position;
  decode:  one token per step through the KV cache (transformers' DynamicCache), the logits of
           every step, starting from an empty cache.
Token ids come from driftbench's own prompt generator (SplitMix64, ported below); give
--check-tokens MANIFEST (the manifest.json of `driftbench run --save-logits DIR`) to prove
they match.
"""

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The venv: $DRIFTBENCH_BASELINE_VENV, else .venv-baseline in the repository (git-ignored).
VENV = Path(os.environ.get("DRIFTBENCH_BASELINE_VENV", ROOT / ".venv-baseline"))
PACKAGES = ["torch", "transformers", "gguf", "numpy", "accelerate"]
DEFAULT_MODEL = ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
PROMPT_SALT = 0x70726F6D7074


def splitmix64(state):
    """One SplitMix64 step: (new state, output), as core/src/rng.rs computes it."""
    state = (state + GAMMA) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def prompt_tokens(seed, span, vocab):
    """driftbench's `rng::prompt_tokens`: unbiased draws below `vocab` (rejection sampling)."""
    state = (seed ^ PROMPT_SALT) & MASK
    threshold = ((1 << 64) - vocab) % vocab
    out = []
    while len(out) < span:
        state, x = splitmix64(state)
        if x >= threshold:
            out.append(x % vocab)
    return out


def in_venv():
    return Path(sys.prefix).resolve() == VENV.resolve()


def use_system(gguf_wheel):
    """Import from this Python as it is; a carried gguf wheel joins the path when needed."""
    try:
        import gguf  # noqa: F401
        return
    except ImportError:
        pass
    if gguf_wheel is None:
        sys.exit("error: --system: the gguf package is not installed here; carry its wheel "
                 "and name it with --gguf-wheel FILE")
    if not gguf_wheel.is_file():
        sys.exit(f"error: --gguf-wheel {gguf_wheel}: no such file")
    # A wheel is a zip with the package at its top: importable as it is.
    sys.path.insert(0, str(gguf_wheel.resolve()))
    try:
        import gguf  # noqa: F401,F811
    except ImportError as e:
        sys.exit(f"error: --gguf-wheel {gguf_wheel}: cannot import gguf from it: {e}")


def ensure_venv():
    """Create the venv and install the packages once, then rerun this script inside it."""
    if in_venv():
        return
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"creating {VENV} and installing {' '.join(PACKAGES)} (once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    os.execv(str(py), [str(py), *sys.argv])


def cpu_facts():
    model, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ["avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile", "fma"]
    return model, [f for f in wanted if f in flags]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="GGUF file")
    ap.add_argument("--spans", default="32,128,512")
    ap.add_argument("--dtypes", default="f32,f16,bf16")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reps", type=int, default=1, help="measured runs per route (median kept)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--check-tokens", type=Path, metavar="MANIFEST",
                    help="manifest.json of `driftbench run --save-logits`: its tokens must match")
    ap.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda")
    ap.add_argument("--system", action="store_true",
                    help="use this Python's torch and transformers: no venv, no network")
    ap.add_argument("--gguf-wheel", type=Path, metavar="FILE",
                    help="with --system: a gguf wheel to import from when gguf is missing")
    args = ap.parse_args()
    if not args.model.is_file():
        sys.exit(f"error: model file {args.model} not found (./scripts/fetch-model.sh fetches it)")
    spans = [int(s) for s in args.spans.split(",")]
    dtypes = args.dtypes.split(",")
    if any(s < 1 for s in spans) or args.reps < 1:
        sys.exit("error: spans and --reps must be at least 1")
    if args.system:
        use_system(args.gguf_wheel)
    else:
        ensure_venv()

    try:
        import torch
        from transformers import AutoModelForCausalLM
        from transformers.cache_utils import DynamicCache
    except ImportError as e:
        where = "this Python (--system)" if args.system else f"the venv {VENV}"
        sys.exit(f"error: {where} lacks what the baseline needs: {e}")

    torch_dtypes = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
    for d in dtypes:
        if d not in torch_dtypes:
            sys.exit(f"error: --dtypes: unknown dtype {d!r}: expected f32, f16 or bf16")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit(f"error: --device {args.device}: torch {torch.__version__} sees no CUDA device")
    device = torch.device(args.device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    base = AutoModelForCausalLM.from_pretrained(
        str(args.model.parent), gguf_file=args.model.name, dtype=torch.float32
    ).eval()
    load_s = time.perf_counter() - t0
    vocab = base.config.vocab_size

    if args.check_tokens:
        manifest = json.loads(args.check_tokens.read_text())
        want = manifest["tokens"]
        got = prompt_tokens(manifest.get("seed", args.seed), len(want), vocab)
        if got != want:
            sys.exit(f"error: token ids differ from {args.check_tokens}: the port is wrong")
        print(f"token ids match {args.check_tokens} ({len(want)} tokens)")

    cpu, flags = cpu_facts()
    print(f"machine: {cpu}; {os.cpu_count()} logical CPUs; flags {' '.join(flags) or '-'}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"model {args.model.name} dequantized to f32 in {load_s:.1f}s; vocab {vocab}")
    gpu = None
    if device.type == "cuda":
        gpu = torch.cuda.get_device_name(device)
        print(f"device: {gpu}; CUDA {torch.version.cuda}; TF32 in matmul "
              f"{torch.backends.cuda.matmul.allow_tf32}, in cuDNN {torch.backends.cudnn.allow_tf32}")

    rows = []
    with torch.no_grad():
        for d in dtypes:
            # From the f32 weights each time: no double rounding through another dtype.
            model = copy.deepcopy(base).to(torch_dtypes[d]).to(device)
            for span in spans:
                ids = torch.tensor([prompt_tokens(args.seed, span, vocab)], dtype=torch.long,
                                   device=device)
                # Warm-up of both routes: first-call allocations and kernel choices stay out.
                model(ids[:, : min(span, 8)])
                model(ids[:, :1], past_key_values=DynamicCache(), use_cache=True)
                sync()
                pre, dec = [], []
                for _ in range(args.reps):
                    t = time.perf_counter()
                    prefill_logits = model(ids).logits[0]
                    sync()
                    pre.append(time.perf_counter() - t)
                    cache = DynamicCache()
                    steps = []
                    t = time.perf_counter()
                    for i in range(span):
                        out = model(ids[:, i : i + 1], past_key_values=cache, use_cache=True)
                        cache = out.past_key_values
                        steps.append(out.logits[0, -1])
                    sync()
                    dec.append(time.perf_counter() - t)
                drift = (prefill_logits.float() - torch.stack(steps).float()).abs().max().item()
                p, q = statistics.median(pre), statistics.median(dec)
                row = {"dtype": d, "span": span, "prefill_s": p, "decode_s": q,
                       "prefill_tok_s": span / p, "decode_tok_s": span / q, "reps": args.reps,
                       "max_abs_drift": drift}
                rows.append(row)
                print(f"{d:>5} span {span:>5}: prefill {p * 1e3:9.1f} ms ({span / p:8.1f} tok/s)"
                      f"   decode {q:7.2f} s ({span / q:6.1f} tok/s)"
                      f"   prefill vs decode max_abs {drift:.3e}", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        facts = {"cpu": cpu, "flags": flags, "logical_cpus": os.cpu_count(),
                 "threads": torch.get_num_threads(), "torch": torch.__version__,
                 "python": platform.python_version(), "model": args.model.name,
                 "device": args.device, "gpu": gpu,
                 "seed": args.seed, "rows": rows}
        args.json.write_text(json.dumps(facts, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
