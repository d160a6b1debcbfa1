//! Worker-process isolation: a backend that aborts, segfaults, is SIGKILLed or hangs costs
//! only its own runs (INCOMPLETE, with the reason), and the sweep finishes with the other
//! backends' results intact.

mod common;
use common::{driftbench, library, root, text};
use serde_json::Value;

fn sweep(mode: &str, config: &std::path::Path) -> (Option<i32>, Vec<Value>, String) {
    let out = tempfile::tempdir().unwrap();
    let lib = library("driftbench_test_plugin");
    let o = driftbench(&[
        "sweep",
        config.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        "testplugin,flex",
        "--out",
        out.path().to_str().unwrap(),
    ])
    .env("DRIFTBENCH_TEST_PLUGIN_MODE", mode)
    .output()
    .unwrap();
    let recs = std::fs::read_to_string(out.path().join("results.jsonl"))
        .unwrap_or_else(|e| panic!("no journal ({e}); output:\n{}", text(&o)))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap_or_default();
    (o.status.code(), recs, md)
}

fn pairs<'a>(recs: &'a [Value], backend: &str) -> Vec<&'a Value> {
    recs.iter()
        .filter(|r| r["type"] == "pair" && r["backend"] == backend)
        .collect()
}

fn check_crash(mode: &str, reason: &str) {
    let (code, recs, md) = sweep(mode, &root().join("configs/ci.toml"));
    assert_eq!(code, Some(3), "INCOMPLETE exits 3");
    let t = pairs(&recs, "testplugin");
    assert_eq!(
        t.len(),
        12,
        "every pair of the crashing backend is recorded"
    );
    for p in &t {
        assert_eq!(p["verdict"], "INCOMPLETE", "{p}");
        let why = p["reason"].as_str().unwrap();
        assert!(why.contains(reason), "`{reason}` not in `{why}`");
    }
    // Prefill runs still succeed: each crash cost one worker, and a fresh one took over.
    let ok_prefills = recs
        .iter()
        .filter(|r| {
            r["type"] == "run"
                && r["backend"] == "testplugin"
                && r["route"] == "prefill"
                && r["status"] == "ok"
        })
        .count();
    assert_eq!(ok_prefills, 12);
    let f = pairs(&recs, "flex");
    assert_eq!(f.len(), 12);
    assert!(
        f.iter()
            .all(|p| p["verdict"] == "PASS_EQUIV" || p["verdict"] == "EXPECTED_DRIFT"),
        "flex results intact"
    );
    assert!(md.contains(reason), "the reason reaches the report");
}

#[test]
fn abort_costs_only_its_runs() {
    check_crash("abort", "SIGABRT");
}

#[test]
fn segfault_costs_only_its_runs() {
    check_crash("segfault", "SIGSEGV");
}

#[test]
fn sigkill_mid_sweep_costs_only_its_runs() {
    check_crash("sigkill", "SIGKILL");
}

#[test]
fn a_hang_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("hang.toml");
    std::fs::write(
        &cfg,
        "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\nkv_heads = 1\nffn = 32\nvocab = 32\n\
         [sweep]\nspans = [4]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\nwarmup = false\ntimeout_s = 1.5\n",
    )
    .unwrap();
    let (code, recs, _) = sweep("hang", &cfg);
    assert_eq!(code, Some(3));
    let t = pairs(&recs, "testplugin");
    assert_eq!(t[0]["verdict"], "INCOMPLETE");
    assert!(
        t[0]["reason"]
            .as_str()
            .unwrap()
            .contains("timed out after 1.5s"),
        "{}",
        t[0]
    );
    assert_eq!(pairs(&recs, "flex")[0]["verdict"], "PASS_EQUIV");
}

#[test]
fn in_process_mode_still_runs() {
    let out = tempfile::tempdir().unwrap();
    let cfg = root().join("configs/ci.toml");
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--in-process",
        "--out",
        out.path().to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(
        md.contains("in process"),
        "the report says how the backend ran"
    );
}
