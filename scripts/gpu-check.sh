#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU, sized for a short lease: steps in order of
# priority, each under its own timeout, all under one budget (GPU_CHECK_BUDGET, 480 s), so a
# short lease measures the most important targets first:
#   1. cuda-cold  the reference sweep (SmolLM2-135M, bf16/f16, 72 runs) on cuda from empty
#                 caches: compile and autotune included (allowed 300 s);
#   2. cuda-warm  the same sweep again, every kernel cached (what a second run costs);
#   3. f32        SmolLM2 in f32 on cuda and flex, with cubecl's compile/autotune log (the
#                 kernels chosen: the TF32 question), then
#      trace      one cuda f32 pair traced layer by layer against cpu f64;
#   4. pytorch    the PyTorch eager baseline on the same GPU (installed torch and
#                 transformers, no network; GGUF_WHEEL names a carried gguf wheel);
#   5. wgpu-f16, wgpu-f32   wgpu beside cuda: the f16 half of the reference sweep, then f32;
#   6. llamacpp   llama.cpp's CUDA build beside cuda, when its plugin is next to the binary.
# A step cut short by its timeout still reports how far it got: its journal is rendered, and
# the summary says the pairs done and where the time went (warm-ups, kernels compiled,
# autotune keys, per backend). OUT/summary.md gathers every step; OUT/gpu-check.tar.gz
# holds everything. The book's "Running on GPUs" chapter has the recipe for a rented GPU
# (scripts/gpu-pack.sh makes the bundle to copy).
#
#   DRIFTBENCH_BIN=bin ./scripts/gpu-check.sh [OUT]
# Environment:
#   DRIFTBENCH_BIN      folder holding `driftbench` and its plugins (default target/release)
#   GPU_CHECK_STEPS     steps to run, in order (default: all of the above)
#   GPU_CHECK_BUDGET    seconds for the whole check (default 480)
#   GPU_CHECK_OPTIONS   extra TOML appended to every config, e.g. $'[backends.cuda]\nautotune = "minimal"'
#   GGUF_WHEEL          a gguf wheel for the PyTorch baseline where the package is missing
# The model must be in models/ (scripts/fetch-model.sh; copy it over on an offline machine).
# A sweep's verdict exit code (1 FAIL, 3 INCOMPLETE, 124 timed out) is a result, not a
# script failure: the script goes on and reports every step; it fails only on usage errors.
set -uo pipefail
cd "$(dirname "$0")/.."

bin=${DRIFTBENCH_BIN:-target/release}
out=${1:-out/gpu-check}
steps=${GPU_CHECK_STEPS:-cuda-cold cuda-warm f32 trace pytorch wgpu-f16 wgpu-f32 llamacpp}
budget=${GPU_CHECK_BUDGET:-480}
exe="$bin/driftbench"
model=models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -x "$exe" ]; then
    echo "error: $exe not found: build with \`cargo build --release\` or set DRIFTBENCH_BIN" >&2
    exit 2
fi
for step in $steps; do
    case $step in
    cuda-cold | cuda-warm | f32 | trace | pytorch | wgpu-f16 | wgpu-f32 | llamacpp) ;;
    *) echo "error: GPU_CHECK_STEPS: unknown step $step (cuda-cold cuda-warm f32 trace pytorch wgpu-f16 wgpu-f32 llamacpp)" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
deadline=$(($(date +%s) + budget))
# One cache folder for the whole check, empty at the start: the first step is a cold start.
cache="$out/cache"
rm -rf "$cache"
mkdir -p "$cache"
export DRIFTBENCH_CACHE_DIR="$cache"
# wgpu (Vulkan loader) wants a runtime folder; an empty private one is enough.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}

{
    echo "# gpu-check $(date -u '+%Y-%m-%d %H:%M:%S UTC'), budget ${budget}s"
    command -v nvidia-smi >/dev/null && timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
    nproc
    "$exe" --version
} 2>&1 | tee "$out/machine.txt"
timeout 60 "$exe" plugins 2>&1 | tee "$out/plugins.txt"

# A config of `base` with the model path made absolute, `sed_extra` applied and
# GPU_CHECK_OPTIONS appended.
config() { # base name [sed_extra]
    local f="$out/$2.toml"
    sed -e "s|^path = .*|path = \"$PWD/$model\"|" -e "${3:-}" "$1" >"$f"
    [ -n "${GPU_CHECK_OPTIONS:-}" ] && printf '\n%s\n' "$GPU_CHECK_OPTIONS" >>"$f"
    echo "$f"
}

summary="$out/summary.md"
echo "# gpu-check summary" >"$summary"

# Seconds a step may take: its cap, or what is left of the budget; 0 when too little is left.
allowance() { # cap
    local left=$((deadline - $(date +%s) - 5))
    [ "$left" -lt 15 ] && { echo 0; return; }
    [ "$1" -lt "$left" ] && echo "$1" || echo "$left"
}

# How far a journal got and where its time went, per backend (read from results.jsonl).
progress() { # journal
    python3 - "$1" <<'EOF' 2>/dev/null || echo "(no journal)"
import json, sys, collections
planned, pairs = None, 0
warm = collections.defaultdict(lambda: [0, 0.0, collections.Counter()])
runs = collections.Counter()
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    t = r.get("type")
    if t == "sweep":
        planned = r.get("pairs_planned")
    elif t == "pair":
        pairs += 1
    elif t == "warmup":
        w = warm[r["backend"]]
        w[0] += 1
        w[1] += r.get("wall_s") or 0.0
        w[2].update(r.get("counters") or {})
    elif t == "run":
        runs[r["backend"]] += 1
print(f"progress: {pairs} of {planned} pairs classified")
for b, (n, s, c) in sorted(warm.items()):
    counters = ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "no counters"
    print(f"- {b}: {runs[b]} runs; {n} warm-ups took {s:.1f}s ({counters})")
EOF
}

# Run one step's command under its allowance and write its part of the summary.
run_step() { # name cap command...
    local name=$1 cap=$2 limit t0 rc wall
    shift 2
    limit=$(allowance "$cap")
    if [ "$limit" = 0 ]; then
        printf '\n## %s: not run: the budget of %ss is spent\n' "$name" "$budget" >>"$summary"
        echo "== $name: not run (budget spent)"
        return
    fi
    echo "== $name: at most ${limit}s"
    t0=$(date +%s%N)
    timeout --kill-after=10 "$limit" "$@" >"$out/$name.stdout.txt" 2>"$out/$name.stderr.txt"
    rc=$?
    wall=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
    local journal="$out/$name/results.jsonl"
    if { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && [ -f "$journal" ]; then
        # Cut short: the journal holds what finished; render it.
        timeout 60 "$exe" report "$journal" >/dev/null 2>&1
    fi
    tail -n 40 "$out/$name.stdout.txt"
    {
        printf '\n## %s: exit %s, %ss wall (allowed %ss)\n\n' "$name" "$rc" "$wall" "$limit"
        grep -h "global verdict" "$out/$name.stdout.txt" || true
        [ -f "$journal" ] && progress "$journal"
        echo
        if [ -f "$out/$name/report.md" ]; then
            sed -n '/^## Cross-backend Summary/,/^## Environment/p' "$out/$name/report.md" | sed '$d'
            awk '/^## Backend: /{b=$3} /^#### Warm-up/{p=1; print "### warm-up: " b; next} /^#### Model Load/{p=0} p' "$out/$name/report.md"
        elif [ ! -f "$journal" ]; then
            tail -n 30 "$out/$name.stdout.txt"
            tail -n 10 "$out/$name.stderr.txt"
        fi
    } >>"$summary"
}

have_model() { # step
    [ -f "$model" ] && return 0
    printf '\n## %s: not run: %s missing (scripts/fetch-model.sh)\n' "$1" "$model" >>"$summary"
    return 1
}

b3=$(config configs/b3-sweep.toml b3)
f32=$(config configs/smollm2-f32.toml f32)
b3_f16=$(config configs/b3-sweep.toml b3-f16 's/^dtypes = .*/dtypes = ["f16"]/')
for step in $steps; do
    have_model "$step" || continue
    case $step in
    cuda-cold) run_step cuda-cold 300 "$exe" sweep "$b3" --backend cuda --out "$out/cuda-cold" ;;
    cuda-warm) run_step cuda-warm 60 "$exe" sweep "$b3" --backend cuda --out "$out/cuda-warm" ;;
    f32)
        # cubecl's log of the kernels compiled and the autotune choices: the TF32 evidence.
        export CUBECL_DEBUG_LOG="$out/f32.cubecl.log"
        run_step f32 90 "$exe" sweep "$f32" --backend cuda,flex --out "$out/f32"
        unset CUBECL_DEBUG_LOG
        ;;
    trace)
        run_step trace 45 "$exe" run --backend cuda --model "$PWD/$model" --dtype f32 \
            --span 128 --kv-aligned 1 --trace-layers --save-logits "$out/trace"
        ;;
    pytorch)
        run_step pytorch 90 python3 benches/pytorch_baseline.py --system \
            ${GGUF_WHEEL:+--gguf-wheel "$GGUF_WHEEL"} --device cuda --model "$PWD/$model" \
            --spans 32,128,512 --dtypes f32,bf16 --reps 3 --json "$out/pytorch.json"
        ;;
    wgpu-f16) run_step wgpu-f16 150 "$exe" sweep "$b3_f16" --backend cuda,wgpu --out "$out/wgpu-f16" ;;
    wgpu-f32) run_step wgpu-f32 90 "$exe" sweep "$f32" --backend cuda,wgpu --out "$out/wgpu-f32" ;;
    llamacpp)
        # Only a plugin built elsewhere (`--features cuda`) next to the binary joins.
        if grep -Eq '^(\||│) llamacpp ' "$out/plugins.txt" 2>/dev/null; then
            run_step llamacpp 90 "$exe" sweep "$b3" --backend cuda,llamacpp --out "$out/llamacpp"
        else
            printf '\n## llamacpp: not run: no llamacpp plugin next to the binary\n' >>"$summary"
        fi
        ;;
    esac
done

echo
cat "$summary"
tar -czf "$out/gpu-check.tar.gz" -C "$out" --exclude=cache --exclude=gpu-check.tar.gz . 2>/dev/null
echo "everything: $out/gpu-check.tar.gz"
