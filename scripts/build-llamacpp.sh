#!/usr/bin/env bash
# Build the llamacpp plugin (llama.cpp through llama-cpp-sys-2) for the CPU it runs on, next to
# the other plugins. Arguments go to cargo: `scripts/build-llamacpp.sh --release` for the
# release folder that README's main command uses. Needs cmake, g++ and libclang
# (Debian: `apt-get install cmake g++ libclang-dev`); nothing is downloaded.
# With `--features cuda` (on a machine with nvcc) it builds llama.cpp's CUDA backend; set
# CMAKE_CUDA_ARCHITECTURES (e.g. 90 for H100/H200) to build for your GPU only.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/llamacpp-env.sh
missing=$(llamacpp_missing)
if [ -n "$missing" ]; then
    echo "error: building the llamacpp plugin needs: $missing (Debian: apt-get install cmake g++ libclang-dev)" >&2
    exit 2
fi
echo "llama.cpp CPU options: $(env | grep '^GGML_' | sort | tr '\n' ' ')"
cargo build -p driftbench-backend-llamacpp "$@"
