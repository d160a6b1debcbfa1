#!/usr/bin/env bash
# Pack what scripts/gpu-check.sh needs on a rented GPU machine that has no Rust toolchain and
# maybe no network: the release binary and backend plugins (stripped: about 18 MB packed),
# the check script, the configs and the PyTorch baseline script. The model (98 MB) travels
# beside it, as does a gguf wheel for the baseline where that machine lacks the package.
#
#   ./scripts/gpu-pack.sh [BUNDLE]          # default out/gpu-bundle.tar.gz
#
# On the GPU machine: tar -xzf gpu-bundle.tar.gz && cd driftbench && cp MODEL models/ &&
# DRIFTBENCH_BIN=bin ./scripts/gpu-check.sh out/gpu-check (the book's "Running on GPUs"
# chapter has the whole recipe). LLAMACPP_PLUGIN=FILE packs a llamacpp plugin built with
# `--features cuda` for that GPU (scripts/build-llamacpp.sh); the CPU build in target/release
# is left out, as it would not measure llama.cpp's CUDA path.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=${1:-out/gpu-bundle.tar.gz}
cargo build --release -p driftbench -p driftbench-backend-cpu -p driftbench-backend-flex \
    -p driftbench-backend-wgpu -p driftbench-backend-cuda
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/driftbench"
mkdir -p "$root/bin" "$root/scripts" "$root/configs" "$root/benches" "$root/models"
for b in cpu flex wgpu cuda; do
    cp "target/release/libdriftbench_backend_$b.so" "$root/bin/"
done
cp target/release/driftbench "$root/bin/"
if [ -n "${LLAMACPP_PLUGIN:-}" ]; then
    cp "$LLAMACPP_PLUGIN" "$root/bin/libdriftbench_backend_llamacpp.so"
fi
# Debug symbols are most of a plugin's size; the check needs none.
strip "$root"/bin/*
cp scripts/gpu-check.sh "$root/scripts/"
cp configs/*.toml "$root/configs/"
cp benches/pytorch_baseline.py "$root/benches/"
cp -r prompts "$root/"
mkdir -p "$(dirname "$bundle")"
tar -czf "$bundle" -C "$stage" driftbench
echo "packed $(du -h "$bundle" | cut -f1) into $bundle:"
tar -tzf "$bundle" | sed 's/^/  /'
