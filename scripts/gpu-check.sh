#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU, sized for a short lease (under 8 minutes from a
# cold start, every step under its own timeout):
#   1. quick     the quick synthetic sweep on flex, cuda and wgpu, from empty caches (cold);
#   2. b3-cold   the reference sweep (SmolLM2-135M, bf16/f16) on cuda and wgpu, caches as
#                step 1 left them (the real model's shapes are new: compile and autotune);
#   3. b3-warm   the same sweep on cuda again: everything cached (what a second run costs);
#   4. f32       SmolLM2 in f32 on cuda and flex (cuda's f32 drift and TF32, against the CPU).
# Each step writes one unified report under OUT/<step>/; OUT/summary.md gathers every
# step's exit code, wall time, verdicts and cross-backend tables; OUT/gpu-check.tar.gz
# holds everything.
#
# Build on any machine, copy the binary and the plugin libraries next to each other:
#   cargo build --release            # target/release/driftbench + libdriftbench_backend_*.so
# A llamacpp plugin next to them (on a CUDA machine: CMAKE_CUDA_ARCHITECTURES=90
# scripts/build-llamacpp.sh --release --features cuda) joins the b3-cold and f32 sweeps.
#   DRIFTBENCH_BIN=target/release ./scripts/gpu-check.sh [OUT]
# The cuda plugin finds NVRTC in the CUDA toolkit's folders by itself (CUDA_HOME,
# /usr/local/cuda*); no LD_LIBRARY_PATH needed.
# Environment:
#   DRIFTBENCH_BIN      folder holding `driftbench` and its plugins (default target/release)
#   GPU_CHECK_STEPS     steps to run (default "quick b3-cold b3-warm f32")
#   GPU_CHECK_OPTIONS   extra TOML appended to every config, e.g. $'[backends.cuda]\nautotune = "minimal"'
#   GPU_CHECK_LOG=1     also keep cubecl's compile/autotune log per step (large)
# The model must be in models/ (scripts/fetch-model.sh; copy it over on an offline machine).
# A sweep's verdict exit code (1 FAIL, 3 INCOMPLETE, 124 timed out) is a result, not a
# script failure: the script goes on and reports every step; it fails only on usage errors.
set -uo pipefail
cd "$(dirname "$0")/.."

bin=${DRIFTBENCH_BIN:-target/release}
out=${1:-out/gpu-check}
steps=${GPU_CHECK_STEPS:-quick b3-cold b3-warm f32}
exe="$bin/driftbench"
model=models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -x "$exe" ]; then
    echo "error: $exe not found: build with \`cargo build --release\` or set DRIFTBENCH_BIN" >&2
    exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
# One cache folder for the whole check, empty at the start: step 1 is a cold start.
cache="$out/cache"
rm -rf "$cache"
mkdir -p "$cache"
export DRIFTBENCH_CACHE_DIR="$cache"
# wgpu (Vulkan loader) wants a runtime folder; an empty private one is enough.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}

{
    echo "# gpu-check $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
    nproc
    "$exe" --version
} 2>&1 | tee "$out/machine.txt"
timeout 60 "$exe" plugins 2>&1 | tee "$out/plugins.txt"

# A config of `base` with the model path made absolute and GPU_CHECK_OPTIONS appended.
config() { # base name
    local f="$out/$2.toml"
    sed "s|^path = .*|path = \"$PWD/$model\"|" "$1" >"$f"
    [ -n "${GPU_CHECK_OPTIONS:-}" ] && printf '\n%s\n' "$GPU_CHECK_OPTIONS" >>"$f"
    echo "$f"
}

# The llamacpp plugin, when it is next to the binary (built with `--features cuda` on this
# machine: see the book's "Wrapping an existing engine"), joins the SmolLM2 sweeps.
llama=""
if grep -Eq '^(\||│) llamacpp ' "$out/plugins.txt" 2>/dev/null; then
    llama=",llamacpp"
fi

summary="$out/summary.md"
echo "# gpu-check summary" >"$summary"
run_step() { # name config backends timeout_s
    local name=$1 cfg=$2 list=$3 limit=$4 t0 rc
    echo "== $name: $list, at most ${limit}s"
    t0=$(date +%s%N)
    if [ "${GPU_CHECK_LOG:-0}" = 1 ]; then export CUBECL_DEBUG_LOG="$out/$name.cubecl.log"; fi
    timeout --kill-after=10 "$limit" "$exe" sweep "$cfg" --backend "$list" --out "$out/$name" \
        >"$out/$name.stdout.txt" 2>"$out/$name.stderr.txt"
    rc=$?
    unset CUBECL_DEBUG_LOG
    local wall
    wall=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        # Timed out: the journal holds what finished; render it.
        "$exe" report "$out/$name/results.jsonl" >/dev/null 2>&1
    fi
    cat "$out/$name.stdout.txt"
    {
        echo
        echo "## $name ($list): exit $rc, ${wall}s wall"
        echo
        grep -h "global verdict" "$out/$name.stdout.txt" || echo "(no verdict line: timed out or failed; see $name.stderr.txt)"
        echo
        # Cross-backend tables and warm-up costs of the report.
        if [ -f "$out/$name/report.md" ]; then
            sed -n '/^## Cross-backend Summary/,/^## Environment/p' "$out/$name/report.md" | sed '$d'
            awk '/^## Backend: /{b=$3} /^#### Warm-up/{p=1; print "### warm-up: " b; next} /^#### Model Load/{p=0} p' "$out/$name/report.md"
        fi
    } >>"$summary"
}

for step in $steps; do
    case $step in
    quick) run_step quick "$(config configs/quick.toml quick)" flex,cuda,wgpu 100 ;;
    b3-cold | b3-warm | f32)
        if [ ! -f "$model" ]; then
            echo -e "\n## $step: not run: $model missing (scripts/fetch-model.sh)" >>"$summary"
            continue
        fi
        case $step in
        b3-cold) run_step b3-cold "$(config configs/b3-sweep.toml b3)" "cuda,wgpu$llama" 210 ;;
        b3-warm) run_step b3-warm "$(config configs/b3-sweep.toml b3)" cuda 60 ;;
        f32) run_step f32 "$(config configs/smollm2-f32.toml f32)" "cuda,flex$llama" 90 ;;
        esac
        ;;
    *) echo "error: unknown step $step (quick, b3-cold, b3-warm, f32)" >&2; exit 2 ;;
    esac
done

echo
cat "$summary"
tar -czf "$out/gpu-check.tar.gz" -C "$out" --exclude=cache --exclude=gpu-check.tar.gz . 2>/dev/null
echo "everything: $out/gpu-check.tar.gz"
