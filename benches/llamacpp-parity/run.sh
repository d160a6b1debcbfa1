#!/usr/bin/env bash
# Speed parity: the llamacpp plugin against llama.cpp's own build of the same sources, on this
# machine, now. Builds llama.cpp from the sources llama-cpp-sys-2 vendors (found through cargo)
# with llama.cpp's own cmake defaults (GGML_NATIVE, OpenMP) and once without OpenMP (as the
# plugin is built), links parity.cpp (the plugin's calls: one llama_decode of the whole prompt
# with every position's logits; then one llama_decode per token), then for every span and KV
# type runs, three times interleaved, both builds and the plugin through a driftbench sweep.
# Needs cmake, g++, the release binary and plugin (scripts/build-llamacpp.sh --release) and
# the model (scripts/fetch-model.sh). Usage: benches/llamacpp-parity/run.sh [SPANS] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/../.."
spans=${1:-"32 128 512"}
threads=${2:-2}
model=$PWD/models/SmolLM2-135M-Instruct.Q4_1.gguf
exe=$PWD/target/release/driftbench
src=$(cargo metadata --format-version 1 --manifest-path backends/llamacpp/Cargo.toml |
    python3 -c 'import json,sys,os; m=json.load(sys.stdin); print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"]=="llama-cpp-sys-2"))')/llama.cpp
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for omp in ON OFF; do
    cmake -S "$src" -B "$work/omp-$omp" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DGGML_OPENMP=$omp \
        -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_COMMON=OFF \
        -DBUILD_SHARED_LIBS=OFF >/dev/null
    cmake --build "$work/omp-$omp" --target llama -j"$(nproc)" >/dev/null
    b=$work/omp-$omp
    g++ -O2 -std=c++17 benches/llamacpp-parity/parity.cpp -I"$src/include" -I"$src/ggml/include" \
        -o "$work/parity-$omp" "$b/src/libllama.a" "$b/ggml/src/libggml.a" "$b/ggml/src/libggml-cpu.a" \
        "$b/ggml/src/libggml-base.a" $([ $omp = ON ] && echo -fopenmp) -lpthread -ldl
done
for kv in f16 bf16; do for s in $spans; do for round in 1 2 3; do
    for omp in ON OFF; do echo "own-openmp-$omp $("$work/parity-$omp" "$model" "$s" "$threads" "$kv" 3)"; done
    cat >"$work/c.toml" <<TOML
name = "parity"
[model]
kind = "gguf"
path = "$model"
[sweep]
backends = ["llamacpp"]
spans = [$s]
dtypes = ["$kv"]
kv_aligned = [0]
seeds = [0, 1, 2]
block_size = 16
warmup = true
[reference]
noise_floor = false
[backends.llamacpp]
threads = $threads
TOML
    rm -rf "$work/out"
    "$exe" sweep "$work/c.toml" --out "$work/out" >/dev/null 2>&1 || true
    python3 - "$work/out/report.json" "$s" "$threads" "$kv" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s = int(sys.argv[2])
t = {row["route"]: s / row["mean_wall_s"][0]["mean_s"] for row in r["cross"]["performance"]}
print(f"plugin span {s} threads {sys.argv[3]} kv {sys.argv[4]}: prefill {t['prefill']:.1f} tok/s, decode {t['decode']:.1f} tok/s (mean of 3)")
PY
done; done; done
