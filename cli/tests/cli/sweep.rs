//! The binary end to end with real plugins loaded through libloading: the flex plugin from
//! its built cdylib, and the test plugin for NaN, panic and unavailable dtypes.

use crate::common;
use common::{driftbench, library, plugin_sweep, root, text};
use serde_json::Value;

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn count(records: &[Value], ty: &str) -> usize {
    records.iter().filter(|r| r["type"] == ty).count()
}

#[test]
fn ci_sweep_on_flex_plugin_writes_every_output() {
    let out = tempfile::tempdir().unwrap();
    let cfg = root().join("configs/ci.toml");
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    // 2 spans × 3 dtypes × 2 kv_aligned × 1 seed.
    let recs = lines(&out.path().join("results.jsonl"));
    assert_eq!(count(&recs, "sweep"), 1);
    assert_eq!(count(&recs, "session"), 3, "one model load per dtype");
    assert_eq!(count(&recs, "run"), 24);
    assert_eq!(count(&recs, "pair"), 12);
    for p in recs.iter().filter(|r| r["type"] == "pair") {
        let v = p["verdict"].as_str().unwrap();
        let want = if p["kv_aligned"] == 1 {
            "PASS_EQUIV"
        } else {
            "EXPECTED_DRIFT"
        };
        assert_eq!(v, want, "{p}");
    }
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    for section in [
        "Global Verdict",
        "Counting Semantics",
        "Comparison Results",
        "Drift Characterization",
        "Performance Profiling",
        "Environment",
    ] {
        assert!(md.contains(section), "report.md lacks {section}");
    }
    assert!(
        md.contains("**Total runs:** 24") || md.contains("Total runs:** 24"),
        "runs count:\n{md}"
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["schema_version"], 1);
    assert!(t.contains("PASS"), "{t}");

    // `report` re-renders the same markdown from the journal alone.
    let again = tempfile::tempdir().unwrap();
    let o = driftbench(&[
        "report",
        out.path().join("results.jsonl").to_str().unwrap(),
        "--out",
        again.path().to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(again.path().join("report.md")).unwrap(),
        md
    );
}

#[test]
fn run_saves_logits_loadable_as_npy() {
    let out = tempfile::tempdir().unwrap();
    let cfg = root().join("configs/ci.toml");
    let o = driftbench(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--span",
        "7",
        "--dtype",
        "f16",
        "--kv-aligned",
        "0",
        "--seed",
        "3",
        "--save-logits",
        out.path().to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for name in ["prefill.npy", "decode.npy"] {
        let bytes = std::fs::read(out.path().join(name)).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
        assert!(
            header.contains("'descr': '<f4'") && header.contains("'shape': (7, 128)"),
            "{header}"
        );
        assert_eq!((10 + hlen) % 64, 0, "header padded to 64 bytes");
        assert_eq!(bytes.len(), 10 + hlen + 7 * 128 * 4);
    }
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["tokens"].as_array().unwrap().len(), 7);
    assert_eq!(m["dtype"], "f16");
    assert_eq!(m["kv_aligned"], 0);
    assert_eq!(m["seed"], 3);
}

#[test]
fn plugins_lists_flex_with_its_dtypes() {
    let o = driftbench(&["plugins"]).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("flex") && t.contains("bf16") && t.contains("f16") && t.contains("available"),
        "{t}"
    );
}

fn test_plugin_sweep(mode: &str) -> (Option<i32>, String, Vec<Value>) {
    let out = tempfile::tempdir().unwrap();
    let cfg = root().join("configs/ci.toml");
    let lib = library("driftbench_test_plugin");
    let o = plugin_sweep(&cfg, &lib, out.path())
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", mode)
        .output()
        .unwrap();
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap_or_default();
    let recs = lines(&out.path().join("results.jsonl"));
    assert!(!text(&o).contains("error:"), "{}", text(&o));
    (o.status.code(), md, recs)
}

fn verdicts(recs: &[Value], backend: &str) -> Vec<String> {
    recs.iter()
        .filter(|r| r["type"] == "pair" && r["backend"] == backend)
        .map(|r| r["verdict"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn nan_logits_fail_the_sweep_and_show_in_the_report() {
    let (code, md, recs) = test_plugin_sweep("nan");
    assert_eq!(code, Some(1), "global FAIL exits 1");
    let v = verdicts(&recs, "testplugin");
    assert_eq!(v.len(), 12);
    assert!(
        v.iter().all(|v| v == "FAIL_EQUIV" || v == "FAIL_DRIFT"),
        "{v:?}"
    );
    assert!(md.contains("NaN"), "NaN must surface in the report");
    // The other backend's results are intact.
    let f = verdicts(&recs, "flex");
    assert_eq!(f.len(), 12);
    assert!(
        f.iter().all(|v| v == "PASS_EQUIV" || v == "EXPECTED_DRIFT"),
        "{f:?}"
    );
}

#[test]
fn a_panicking_plugin_costs_its_runs_only() {
    let (code, _md, recs) = test_plugin_sweep("panic");
    assert_eq!(code, Some(3), "global INCOMPLETE exits 3");
    let v = verdicts(&recs, "testplugin");
    assert!(v.iter().all(|v| v == "INCOMPLETE"), "{v:?}");
    let reasons: Vec<&str> = recs
        .iter()
        .filter(|r| r["type"] == "pair" && r["backend"] == "testplugin")
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(reasons[0].contains("panicked"), "{reasons:?}");
    let f = verdicts(&recs, "flex");
    assert!(
        f.iter().all(|v| v == "PASS_EQUIV" || v == "EXPECTED_DRIFT"),
        "{f:?}"
    );
}

#[test]
fn an_unavailable_dtype_is_skipped_with_its_reason() {
    let (code, md, recs) = test_plugin_sweep("no-bf16");
    assert_eq!(code, Some(0), "SKIPPED does not fail a sweep");
    let skipped: Vec<&Value> = recs
        .iter()
        .filter(|r| r["type"] == "pair" && r["verdict"] == "SKIPPED")
        .collect();
    assert_eq!(skipped.len(), 4, "2 spans × 2 kv_aligned of bf16");
    assert!(skipped
        .iter()
        .all(|r| r["dtype"] == "bf16" && r["backend"] == "testplugin"));
    assert!(skipped[0]["reason"]
        .as_str()
        .unwrap()
        .contains("test adapter has no bf16"));
    assert!(
        md.contains("test adapter has no bf16"),
        "the reason is in the report"
    );
}
