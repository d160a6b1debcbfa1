//! User mistakes give one clear error line and exit code 2 — never a panic.

mod common;
use common::{driftbench, library, root, text};
use std::process::Output;

fn assert_one_error_line(o: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(o.status.code(), Some(2), "exit code; output:\n{}", text(o));
    assert_eq!(lines.len(), 1, "expected one error line, got:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(lines[0].contains(n), "`{n}` missing from: {}", lines[0]);
    }
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn missing_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        &dir,
        "m.toml",
        "[model]\nkind = \"gguf\"\npath = \"nowhere/model.gguf\"\n[sweep]\nspans = [4]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\n",
    );
    let o = driftbench(&["sweep", &cfg]).output().unwrap();
    assert_one_error_line(&o, &["model.gguf", "not found", "fetch-model.sh"]);
}

#[test]
fn bad_config_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        &dir,
        "bad.toml",
        "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 8\nheads = 2\nkv_heads = 1\nffn = 8\nvocab = 16\n[sweep]\nspans = [4]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\nspanz = 3\n",
    );
    let o = driftbench(&["sweep", &cfg]).output().unwrap();
    assert_one_error_line(&o, &["bad.toml", "spanz"]);
}

#[test]
fn bad_config_value() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        &dir,
        "zero.toml",
        "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 8\nheads = 2\nkv_heads = 1\nffn = 8\nvocab = 16\n[sweep]\nspans = [4, 0]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\n",
    );
    let o = driftbench(&["sweep", &cfg]).output().unwrap();
    assert_one_error_line(&o, &["zero.toml", "sweep.spans", "0"]);
}

#[test]
fn missing_config_file() {
    let o = driftbench(&["sweep", "no/such/config.toml"])
        .output()
        .unwrap();
    assert_one_error_line(&o, &["no/such/config.toml"]);
}

#[test]
fn missing_plugin() {
    let cfg = root().join("configs/ci.toml");
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        "/no/such/libdriftbench_backend_x.so",
    ])
    .output()
    .unwrap();
    assert_one_error_line(&o, &["/no/such/libdriftbench_backend_x.so", "no such file"]);
}

#[test]
fn unknown_backend() {
    let cfg = root().join("configs/ci.toml");
    let o = driftbench(&["sweep", cfg.to_str().unwrap(), "--backend", "nosuch"])
        .output()
        .unwrap();
    assert_one_error_line(&o, &["nosuch", "no plugin found"]);
}

#[test]
fn plugin_of_the_wrong_abi_version() {
    let cfg = root().join("configs/ci.toml");
    let lib = library("driftbench_test_plugin");
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
    ])
    .env("DRIFTBENCH_TEST_PLUGIN_MODE", "wrong-abi")
    .output()
    .unwrap();
    assert_one_error_line(
        &o,
        &[
            "incompatible plugin ABI",
            "v2.0",
            "this driftbench speaks v1.1",
        ],
    );
}
