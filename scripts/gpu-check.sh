#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU: the reference sweep (real SmolLM2-135M) on cuda
# and wgpu, then the quick synthetic sweep on flex, cuda and wgpu, each into one unified
# report under OUT (default out/gpu-check).
#
# Build on any machine, copy the binary and the plugin libraries next to each other, run here:
#   cargo build --release            # target/release/driftbench + libdriftbench_backend_*.so
#   DRIFTBENCH_BIN=target/release ./scripts/gpu-check.sh [OUT]
# Environment:
#   DRIFTBENCH_BIN       folder holding `driftbench` and its plugins (default target/release)
#   GPU_CHECK_BACKENDS   backends of the reference sweep (default cuda,wgpu)
#   GPU_CHECK_SKIP_B3=1  run only the quick sweep
# The model must be in models/ (scripts/fetch-model.sh; copy it over on an offline machine).
# A sweep's verdict exit code (1 FAIL, 3 INCOMPLETE) is a result, not a script failure: the
# script goes on and prints every sweep's code at the end; it fails only on usage errors.
set -uo pipefail
cd "$(dirname "$0")/.."

bin=${DRIFTBENCH_BIN:-target/release}
out=${1:-out/gpu-check}
backends=${GPU_CHECK_BACKENDS:-cuda,wgpu}
exe="$bin/driftbench"
if [ ! -x "$exe" ]; then
    echo "error: $exe not found: build with \`cargo build --release\` or set DRIFTBENCH_BIN" >&2
    exit 2
fi
mkdir -p "$out"
# wgpu (Vulkan loader) wants a runtime folder; an empty private one is enough.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}

{
    echo "# gpu-check $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
    "$exe" --version
} 2>&1 | tee "$out/machine.txt"
"$exe" plugins 2>&1 | tee "$out/plugins.txt"

declare -a summary=()
run_sweep() { # name config backends
    local name=$1 config=$2 list=$3 t0 rc
    t0=$(date +%s)
    "$exe" sweep "$config" --backend "$list" --out "$out/$name" 2>"$out/$name.stderr.txt" \
        | tee "$out/$name.summary.txt"
    rc=${PIPESTATUS[0]}
    summary+=("$name ($list): exit $rc, $(( $(date +%s) - t0 ))s, report $out/$name/report.md")
}

if [ "${GPU_CHECK_SKIP_B3:-0}" != 1 ]; then
    if [ -f models/SmolLM2-135M-Instruct.Q4_1.gguf ]; then
        run_sweep b3-sweep configs/b3-sweep.toml "$backends"
    else
        summary+=("b3-sweep: not run: models/SmolLM2-135M-Instruct.Q4_1.gguf missing (scripts/fetch-model.sh)")
    fi
fi
run_sweep quick configs/quick.toml "flex,$backends"

echo
printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
