//! Facts about the host for the report's Environment section.

use driftbench_core::machine::{cpu_model, cpu_threads};
use driftbench_sweep::records::Environment;
use std::collections::BTreeMap;

/// Collect the environment of this process.
pub fn collect() -> Environment {
    let mut extra = BTreeMap::new();
    for var in ["RAYON_NUM_THREADS", "DRIFTBENCH_PLUGIN_PATH"] {
        if let Ok(v) = std::env::var(var) {
            extra.insert(var.to_string(), v);
        }
    }
    if let Some(rustc) = option_env!("DRIFTBENCH_RUSTC") {
        extra.insert("rustc".into(), rustc.to_string());
    }
    extra.insert(
        "build profile".into(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
        .into(),
    );
    Environment {
        driftbench_version: env!("CARGO_PKG_VERSION").to_string(),
        commit: option_env!("DRIFTBENCH_COMMIT").map(str::to_string),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        cpu: cpu_model(),
        threads: cpu_threads(),
        extra,
    }
}
