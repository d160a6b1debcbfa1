//! What the plugin's test binaries share.

use std::path::PathBuf;

/// The real model (scripts/fetch-model.sh puts it there; scripts/test.sh runs it first).
pub fn smollm2() -> PathBuf {
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        model.is_file(),
        "{} missing: run scripts/fetch-model.sh",
        model.display()
    );
    model
}
