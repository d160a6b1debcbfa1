//! f64 judged at f64 precision, end to end through worker processes: the test plugin's f64
//! model puts the two routes 2e-13 apart, on either side of f32 rounding boundaries (see
//! `plugins/testing`). Through ABI v1.4 the logits cross as f64 and the pairs pass with
//! max_abs ~2e-13. A plugin that hands f64 over as f32 (a v1.3 table, or a session that does
//! not say it computes f64 logits) lands its routes one f32 ulp (up to 9.5e-7) apart: such
//! pairs are judged at f32-transport precision and labelled `transport: "f32"`, never failed
//! against the f64 tolerance of 1e-9, which before ABI v1.4 made every such pair FAIL_EQUIV.

use crate::common;
use common::{driftbench, journal, library, pairs, text, write_config};
use serde_json::Value;
use std::path::Path;

const CONFIG: &str = r#"
[model]
kind = "synthetic"
layers = 1
hidden = 8
heads = 2
kv_heads = 1
ffn = 16
vocab = 11

[sweep]
spans = [4, 9]
dtypes = ["f64"]
kv_aligned = [0, 1]
seeds = [0, 1]
block_size = 4

[reference]
noise_floor = false
"#;

/// Sweep the test plugin in `mode` (with `extra` arguments); exit code, output, journal.
fn sweep(dir: &Path, mode: &str, extra: &[&str]) -> (i32, String, Vec<Value>) {
    let cfg = write_config(dir, "f64.toml", CONFIG);
    let out = dir.join(format!("out-{mode}"));
    let lib = library("driftbench_test_plugin");
    let mut args = vec![
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        "testplugin",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = driftbench(&args)
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", mode)
        .output()
        .unwrap();
    let t = text(&o);
    let recs = journal(&out, &t);
    (o.status.code().unwrap_or(-1), t, recs)
}

fn max_abs(p: &Value) -> f64 {
    p["metrics"]["max_abs_diff"].as_f64().unwrap()
}

/// Through ABI v1.4 the f64 logits cross as f64: every pair passes at f64 precision, with no
/// transport label, and its runs' logits are 8 bytes a value.
#[test]
fn f64_logits_cross_as_f64_and_pass_at_f64_precision() {
    let dir = tempfile::tempdir().unwrap();
    let (code, t, recs) = sweep(dir.path(), "ok", &[]);
    assert_eq!(code, 0, "{t}");
    let ps = pairs(&recs, "testplugin");
    assert_eq!(ps.len(), 8, "{t}");
    for p in &ps {
        let v = p["verdict"].as_str().unwrap();
        assert!(v == "PASS_EQUIV" || v == "EXPECTED_DRIFT", "{p}");
        let m = max_abs(p);
        // 2e-13 apart in f64: unreachable through f32 (one ulp is ~1e-6 here).
        assert!(m > 1e-13 && m < 1e-12, "{p}");
        assert!(p.get("transport").is_none(), "{p}");
        assert!(p["reason"].is_null(), "{p}");
    }
    for r in recs.iter().filter(|r| r["type"] == "run") {
        let n = r["span"].as_u64().unwrap() * 11;
        assert_eq!(r["logits_bytes"].as_u64(), Some(n * 8), "{r}");
    }
}

/// A v1.3 table (no f64 routes) and a v1.4 session without f64 logits: the f64 pairs cross
/// as f32, land one f32 ulp apart, and pass at f32-transport precision, labelled in the
/// journal, in report.md and in report.json. Their runs' logits are 4 bytes a value.
#[test]
fn f64_logits_handed_over_as_f32_are_labelled_and_not_failed() {
    for mode in ["v1.3", "f32-logits"] {
        let dir = tempfile::tempdir().unwrap();
        let (code, t, recs) = sweep(dir.path(), mode, &[]);
        assert_eq!(code, 0, "{mode}: an f32-transport pair must not fail: {t}");
        let ps = pairs(&recs, "testplugin");
        assert_eq!(ps.len(), 8, "{t}");
        let mut aligned = 0;
        for p in &ps {
            let v = p["verdict"].as_str().unwrap();
            assert!(v == "PASS_EQUIV" || v == "EXPECTED_DRIFT", "{mode}: {p}");
            aligned += usize::from(v == "PASS_EQUIV");
            assert_eq!(p["transport"]["logits"], "f32", "{mode}: {p}");
            let scale = p["transport"]["max_abs_logit"].as_f64().unwrap();
            assert!(scale > 1.0 && scale < 10.0, "{mode}: {p}");
            // The routes sit an f32 ulp apart (logits below 10: at most 2^-20), far beyond
            // the f64 tolerance (1e-9) they are no longer judged by alone.
            let m = max_abs(p);
            assert!(m > 1e-9 && m <= 2f64.powi(-20), "{mode}: {p}");
            let reason = p["reason"].as_str().unwrap();
            assert!(
                reason.contains("f32-transport precision"),
                "{mode}: {reason}"
            );
            // The envelope judged against: raised to 2 f32 ulps, never below the f64 one.
            let bound = p["envelope"]["max_abs"].as_f64().unwrap();
            assert!(bound >= m && bound <= 2.0 * 2f64.powi(-20), "{mode}: {p}");
        }
        assert_eq!(aligned, 4, "{mode}");
        for r in recs.iter().filter(|r| r["type"] == "run") {
            let n = r["span"].as_u64().unwrap() * 11;
            assert_eq!(r["logits_bytes"].as_u64(), Some(n * 4), "{r}");
        }
        let out = dir.path().join(format!("out-{mode}"));
        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        assert!(md.contains("f32-transport precision"), "{mode}: {md}");
        let json = std::fs::read_to_string(out.join("report.json")).unwrap();
        assert!(json.contains("f32-transport precision"), "{mode}");
    }
}

/// `driftbench run` of an f64 pair saves float64 npy files (`<f8`) and the manifest says
/// so; in process, a v1.3 plugin's f64 pair is labelled there too.
#[test]
fn run_saves_f64_logits_as_float64_and_labels_f32_transport() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "f64.toml", CONFIG);
    let lib = library("driftbench_test_plugin");
    for (mode, transport) in [("ok", Value::Null), ("v1.3", Value::from("f32"))] {
        let save = dir.path().join(format!("saved-{mode}"));
        let o = driftbench(&[
            "run",
            "--config",
            cfg.to_str().unwrap(),
            "--plugin",
            lib.to_str().unwrap(),
            "--backend",
            "testplugin",
            "--dtype",
            "f64",
            "--span",
            "5",
            "--in-process",
            "--save-logits",
            save.to_str().unwrap(),
        ])
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", mode)
        .output()
        .unwrap();
        let t = text(&o);
        assert_eq!(o.status.code(), Some(0), "{mode}: {t}");
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(save.join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(manifest["logits"]["dtype"], "float64", "{mode}");
        assert_eq!(manifest["transport"]["logits"], transport, "{mode}");
        let npy = std::fs::read(save.join("decode.npy")).unwrap();
        let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
        let header = std::str::from_utf8(&npy[10..10 + header_len]).unwrap();
        assert!(header.contains("'descr': '<f8'"), "{header}");
        assert_eq!(npy.len() - 10 - header_len, 5 * 11 * 8, "{mode}");
        let beyond_f32 = npy[10 + header_len..]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .filter(|x| f64::from(*x as f32) != *x)
            .count();
        // Native f64 keeps values no f32 holds; through v1.3 every value is an f32.
        assert_eq!(beyond_f32 > 0, mode == "ok", "{mode}: {beyond_f32}");
    }
}
