//! Helpers shared by the CLI tests: the built binary and plugin libraries.

// Each test binary uses a different subset of these.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The folder cargo put the binary and the plugin libraries in (`target/debug`).
pub fn artifacts() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_driftbench"))
        .parent()
        .expect("binary folder")
        .to_path_buf()
}

/// A built cdylib of this workspace, e.g. `driftbench_backend_flex`.
pub fn library(stem: &str) -> PathBuf {
    let file = format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let p = artifacts().join(&file);
    assert!(
        p.is_file(),
        "{} not built: run `cargo build --workspace` before the tests (scripts/test.sh does)",
        p.display()
    );
    p
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `driftbench ARGS` with a clean plugin environment. Backend caches (compiled kernels,
/// autotune results) go to a folder in the build tree, not the user's home.
pub fn driftbench(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_driftbench"));
    c.args(args)
        .env_remove("DRIFTBENCH_PLUGIN_PATH")
        .env_remove("DRIFTBENCH_TEST_PLUGIN_MODE")
        .env(
            "DRIFTBENCH_CACHE_DIR",
            artifacts().join("driftbench-test-cache"),
        );
    c
}

/// Write `text` as `name` in `dir` and return its path.
pub fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// stdout + stderr as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The records of the journal `results.jsonl` in `dir`; `context` (the command's output) is
/// shown when there is none.
pub fn journal(dir: &Path, context: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join("results.jsonl"))
        .unwrap_or_else(|e| panic!("no journal in {} ({e}); output:\n{context}", dir.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a journal line is JSON"))
        .collect()
}

/// The pair records of `backend`.
pub fn pairs<'a>(recs: &'a [Value], backend: &str) -> Vec<&'a Value> {
    recs.iter()
        .filter(|r| r["type"] == "pair" && r["backend"] == backend)
        .collect()
}

/// `driftbench sweep CONFIG --plugin LIB --backend testplugin,flex --out OUT`: the test
/// plugin beside the real flex, as the isolation, hostile and resume tests run them.
pub fn plugin_sweep(config: &Path, lib: &Path, out: &Path) -> Command {
    driftbench(&[
        "sweep",
        config.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        "testplugin,flex",
        "--out",
        out.to_str().unwrap(),
    ])
}
