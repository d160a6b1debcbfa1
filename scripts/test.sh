#!/usr/bin/env bash
# The whole test suite: fetch the real model (idempotent, checked by sha256), then every
# test of every crate — unit, integration, the plugin loaded from its built cdylib, the CLI
# end to end, and the real-model check against transformers.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/fetch-model.sh
# The CLI and plugin tests load the built binary and cdylibs from the target folder. All
# targets, so dev-dependency features are unified as `cargo test` will see them and the burn
# stack is compiled once, not once for the plugins and again for the tests.
cargo build --workspace --all-targets
cargo test --workspace "$@"
