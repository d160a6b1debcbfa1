//! No silent PASS without results: a backend named by `--backend` or the config that
//! classifies no pair (every pair SKIPPED or INCOMPLETE) makes the sweep INCOMPLETE, unless
//! it is marked optional; discovered backends are listed, not required; `run` exits 3 on
//! SKIPPED.

use crate::common;
use common::{artifacts, driftbench, library, root, text, write_config};
use std::path::Path;
use std::process::Output;

const CONFIG: &str = "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\n\
    kv_heads = 1\nffn = 32\nvocab = 32\n\n[sweep]\nspans = [3]\ndtypes = [\"f32\"]\n\
    kv_aligned = [0, 1]\nseeds = [0]\n";

/// The test plugin, whose probe says it is not available, swept beside cpu.
fn sweep_unavailable(cfg: &Path, out: &Path, extra: &[&str]) -> Output {
    let lib = library("driftbench_test_plugin");
    let mut args = vec![
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        "cpu,testplugin",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    driftbench(&args)
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", "unavailable")
        .output()
        .unwrap()
}

const WHY: &str = "testplugin: named but no pair was classified (every pair SKIPPED or INCOMPLETE): not available: no fake device on this machine";

#[test]
fn a_named_backend_that_gives_no_result_makes_the_sweep_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "c.toml", CONFIG);
    let out = dir.path().join("out");
    let o = sweep_unavailable(&cfg, &out, &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(3), "{t}");
    assert!(t.contains(WHY), "{t}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains(WHY), "{md}");
    assert!(md.contains("INCOMPLETE"), "{md}");
    // `report` derives the same from the journal.
    let o = driftbench(&["report", out.join("results.jsonl").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

#[test]
fn an_optional_backend_that_gives_no_result_is_not_run_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "c.toml", CONFIG);
    let with_key = write_config(
        dir.path(),
        "optional.toml",
        &CONFIG.replace(
            "seeds = [0]\n",
            "seeds = [0]\noptional_backends = [\"testplugin\"]\n",
        ),
    );
    let cases: [(&Path, &[&str]); 2] = [(&cfg, &["--optional", "testplugin"]), (&with_key, &[])];
    for (i, (config, extra)) in cases.into_iter().enumerate() {
        let out = dir.path().join(format!("out{i}"));
        let o = sweep_unavailable(config, &out, extra);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(0), "{t}");
        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        assert!(md.contains("**Not run (optional backends"), "{md}");
        assert!(
            md.contains("- testplugin: not available: no fake device on this machine"),
            "{md}"
        );
        assert!(!md.contains("named but no pair"), "{md}");
    }
    // An optional name that is not one of the sweep's backends is a mistake.
    let o = sweep_unavailable(&cfg, &dir.path().join("bad"), &["--optional", "cdua"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("--optional cdua: not one of the sweep's backends (cpu, testplugin)"),
        "{t}"
    );
}

/// Hard-link (or copy) `file` into `dir`.
fn place(file: &Path, dir: &Path) {
    let to = dir.join(file.file_name().unwrap());
    if std::fs::hard_link(file, &to).is_err() {
        std::fs::copy(file, &to).unwrap();
    }
}

#[test]
fn discovered_backends_are_listed_not_required() {
    // The binary beside cpu, flex and cuda only (wgpu's shader compiles would make this slow):
    // on a machine without CUDA, cuda is found, SKIPPED, and does not stop a PASS.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("driftbench");
    place(Path::new(env!("CARGO_BIN_EXE_driftbench")), dir.path());
    for b in ["cpu", "flex", "cuda"] {
        place(&library(&format!("driftbench_backend_{b}")), dir.path());
    }
    let out = dir.path().join("out");
    let o = std::process::Command::new(&bin)
        .args(["sweep", root().join("configs/quick.toml").to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .env_remove("DRIFTBENCH_PLUGIN_PATH")
        .env(
            "DRIFTBENCH_CACHE_DIR",
            artifacts().join("driftbench-test-cache"),
        )
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(!t.contains("named but no pair"), "{t}");
}

#[test]
fn run_exits_3_on_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "c.toml", CONFIG);
    let lib = library("driftbench_test_plugin");
    let o = driftbench(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        "testplugin",
        "--span",
        "3",
    ])
    .env("DRIFTBENCH_TEST_PLUGIN_MODE", "unavailable")
    .output()
    .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(3), "{t}");
    assert!(t.contains("SKIPPED"), "{t}");
}
