//! The latency profile end to end through worker processes: decode step times, read-back
//! and the worker's peak memory in the journal, repetitions, the harness summary, device
//! peaks cached per machine (`--remeasure-peaks` to measure again), and a v1.2 plugin that
//! has no profile.

use crate::common;
use common::{driftbench, journal, library, text, write_config};
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
spans = [3, 5]
dtypes = ["f32"]
kv_aligned = [1]
seeds = [0]
repetitions = 2

[reference]
noise_floor = false
"#;

fn sweep(cfg: &Path, out: &Path, cache: &Path, extra: &[&str], mode: &str) -> (i32, String) {
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
        "--cache-dir",
        cache.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = driftbench(&args)
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", mode)
        .output()
        .unwrap();
    (o.status.code().unwrap_or(-1), text(&o))
}

fn of_type<'a>(recs: &'a [Value], ty: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["type"] == ty).collect()
}

fn peaks_source(recs: &[Value]) -> String {
    let s = of_type(recs, "session");
    assert_eq!(s.len(), 1, "{recs:?}");
    s[0]["peaks"]["source"].as_str().unwrap().to_string()
}

#[test]
fn workers_carry_the_profile_and_peaks_are_cached_per_machine() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "profile.toml", CONFIG);
    let cache = dir.path().join("cache");
    let out = dir.path().join("out");
    let (code, t) = sweep(&cfg, &out, &cache, &[], "ok");
    assert_eq!(code, 0, "{t}");
    assert!(t.contains("harness: "), "{t}");
    assert!(t.contains("report written in"), "{t}");
    let recs = journal(&out, &t);
    assert_eq!(peaks_source(&recs), "measured");
    assert!(cache.join("peaks.json").is_file());
    let runs = of_type(&recs, "run");
    // 2 pairs × 2 routes × 2 repetitions.
    assert_eq!(runs.len(), 8, "{runs:?}");
    assert_eq!(runs.iter().filter(|r| r["rep"] == 1).count(), 4);
    for r in &runs {
        let span = r["span"].as_u64().unwrap() as usize;
        if r["route"] == "decode" {
            let steps = r["step_s"].as_array().expect("decode steps travel");
            assert_eq!(steps.len(), span, "{r}");
        } else {
            assert!(r.get("step_s").is_none(), "{r}");
        }
        assert!(r["readback_s"].as_f64().is_some(), "{r}");
        if cfg!(target_os = "linux") {
            // The worker's peak memory, read in the worker after the run.
            assert!(r["peak_rss_bytes"].as_u64().unwrap() > 0, "{r}");
        }
    }
    let summary = of_type(&recs, "summary");
    assert_eq!(summary.len(), 1);
    assert!(summary[0]["sweep_wall_s"].as_f64().unwrap() > 0.0);
    assert!(summary[0]["harness"]["journal_s"].as_f64().unwrap() > 0.0);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("#### Latency Profile"), "{md}");
    assert!(md.contains("### Sweep Time and Harness Share"), "{md}");
    assert!(md.contains("measured by this sweep"), "{md}");
    let perf = std::fs::read_to_string(out.join("performance.csv")).unwrap();
    assert!(
        perf.lines().next().unwrap().contains(",step_p99_s,"),
        "{perf}"
    );

    // The next sweep on this machine reads the peaks from the cache...
    let (code, t) = sweep(&cfg, &out, &cache, &[], "ok");
    assert_eq!(code, 0, "{t}");
    assert_eq!(peaks_source(&journal(&out, &t)), "cached");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("read from this machine's peaks cache"), "{md}");
    // ...unless asked to measure again.
    let (code, t) = sweep(&cfg, &out, &cache, &["--remeasure-peaks"], "ok");
    assert_eq!(code, 0, "{t}");
    assert_eq!(peaks_source(&journal(&out, &t)), "measured");
}

#[test]
fn a_v1_2_plugin_in_a_worker_runs_without_a_profile() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "profile.toml", CONFIG);
    let out = dir.path().join("out");
    let (code, t) = sweep(&cfg, &out, &dir.path().join("cache"), &[], "v1.2");
    assert_eq!(code, 0, "{t}");
    let recs = journal(&out, &t);
    let s = of_type(&recs, "session");
    assert_eq!(s[0]["peaks"]["source"], "failed", "{s:?}");
    assert!(
        s[0]["peaks"]["error"]
            .as_str()
            .unwrap()
            .contains("ABI v1.2"),
        "{s:?}"
    );
    for r in of_type(&recs, "run") {
        assert!(
            r.get("step_s").is_none() && r.get("readback_s").is_none(),
            "{r}"
        );
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("#### Latency Profile"), "{md}");
    assert!(md.contains("not measured: not available"), "{md}");
}

/// Rewrite each line of the JSON-lines file at `path` with `f`.
fn edit_json_lines(path: &Path, f: impl Fn(&mut Value)) {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            f(&mut v);
            v.to_string()
        })
        .collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn invalid_peaks_are_reported_never_rendered_as_figures_nor_cached() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "profile.toml", CONFIG);
    let out = dir.path().join("out");
    for mode in [
        "peaks-nan",
        "peaks-zero",
        "peaks-negative",
        "peaks-huge",
        "peaks-reps0",
    ] {
        let cache = dir.path().join(mode);
        let (code, t) = sweep(&cfg, &out, &cache, &[], mode);
        assert_eq!(code, 0, "{mode}: {t}");
        let recs = journal(&out, &t);
        let s = of_type(&recs, "session");
        assert_eq!(s[0]["peaks"]["source"], "failed", "{mode}: {s:?}");
        let error = s[0]["peaks"]["error"].as_str().unwrap();
        assert!(error.contains("peaks are not valid"), "{mode}: {error}");
        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        assert!(md.contains("peaks are not valid"), "{mode}: {md}");
        for figure in ["inf %", "NaN %", "-0.0 %", "e+3"] {
            assert!(!md.contains(figure), "{mode}: `{figure}` rendered: {md}");
        }
        let cached = std::fs::read_to_string(cache.join("peaks.json")).unwrap_or_default();
        assert!(!cached.contains("testplugin"), "{mode}: cached: {cached}");
    }

    // Invalid figures in the machine's cache are measured again, and replaced.
    let cache = dir.path().join("cache");
    let (code, t) = sweep(&cfg, &out, &cache, &[], "ok");
    assert_eq!(code, 0, "{t}");
    let peaks = cache.join("peaks.json");
    let mut cached: Value =
        serde_json::from_str(&std::fs::read_to_string(&peaks).unwrap()).unwrap();
    cached["entries"][0]["peaks"]["bandwidth_gbs"] = Value::from(1e308);
    std::fs::write(&peaks, cached.to_string()).unwrap();
    let bandwidth = || -> f64 {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&peaks).unwrap()).unwrap();
        v["entries"][0]["peaks"]["bandwidth_gbs"].as_f64().unwrap()
    };
    assert_eq!(bandwidth(), 1e308);
    let (code, t) = sweep(&cfg, &out, &cache, &[], "ok");
    assert_eq!(code, 0, "{t}");
    assert_eq!(peaks_source(&journal(&out, &t)), "measured", "{t}");
    assert_eq!(
        bandwidth(),
        2.0,
        "the cache holds the figure measured again"
    );

    // A journal whose session carries invalid peaks: the report says so, shows no figure.
    let results = out.join("results.jsonl");
    edit_json_lines(&results, |v| {
        if v["type"] == "session" {
            v["peaks"]["peaks"]["bandwidth_gbs"] = Value::from(-5.0);
        }
    });
    let o = driftbench(&["report", results.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("recorded peaks are not valid"), "{md}");
    assert!(!md.contains("-0.0 %"), "{md}");
}
