//! Replay bundles, `driftbench replay`, `driftbench diff` and `report --format csv`, end to
//! end with the test plugin.

use crate::common;
use common::{driftbench, library, text, write_config};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

const MODEL: &str = "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\n\
    kv_heads = 1\nffn = 32\nvocab = 32\n\n[sweep]\nspans = [3, 5]\ndtypes = [\"f32\"]\n\
    kv_aligned = [0, 1]\nseeds = [0]\n";

/// `sweep` of `config` (written into `dir`) on `backends` in test-plugin `mode`.
fn sweep(dir: &Path, config: &str, backends: &str, mode: &str) -> Output {
    let cfg = write_config(dir, "sweep.toml", config);
    let lib = library("driftbench_test_plugin");
    let out = dir.join("out");
    driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        backends,
        "--out",
        out.to_str().unwrap(),
    ])
    .env("DRIFTBENCH_TEST_PLUGIN_MODE", mode)
    .output()
    .unwrap()
}

fn replay(bundle: &Path, mode: &str) -> Output {
    let lib = library("driftbench_test_plugin");
    driftbench(&[
        "replay",
        bundle.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
    ])
    .env("DRIFTBENCH_TEST_PLUGIN_MODE", mode)
    .output()
    .unwrap()
}

#[test]
fn a_failing_pair_leaves_a_bundle_that_replays_with_identical_metrics() {
    let dir = tempfile::tempdir().unwrap();
    // The shifted instance's decode is off by 0.5 (an option the replay must restore).
    let config =
        format!("{MODEL}\n[backends.shifted]\nplugin = \"testplugin\"\ndecode_shift = 0.5\n");
    let o = sweep(dir.path(), &config, "testplugin,shifted", "ok");
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let replay_dir = dir.path().join("out").join("replay");
    let bundle = replay_dir.join("shifted-f32-span3-kv1-seed0");
    for f in ["bundle.json", "prefill.f32", "decode.f32"] {
        assert!(
            bundle.join(f).is_file(),
            "{f} missing from {}; {t}",
            bundle.display()
        );
    }
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("bundle.json")).unwrap())
            .unwrap();
    // 3 positions × the plugin's vocab × 4 bytes.
    let vocab = json["vocab"].as_u64().unwrap();
    assert_eq!(
        std::fs::metadata(bundle.join("decode.f32")).unwrap().len(),
        3 * vocab * 4
    );
    assert_eq!(json["record"]["verdict"], "FAIL_EQUIV");
    assert_eq!(json["configured"]["options"]["decode_shift"], 0.5);
    assert_eq!(json["tokens"].as_array().unwrap().len(), 3);
    // Passing pairs leave nothing.
    let names: Vec<String> = std::fs::read_dir(&replay_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.starts_with("shifted-")), "{names:?}");

    let r = replay(&bundle, "ok");
    let rt = text(&r);
    assert_eq!(
        r.status.code(),
        Some(1),
        "replay exits like the verdict: {rt}"
    );
    for needle in [
        "reproduced (identical metrics)",
        "prefill logits: bitwise identical",
        "decode logits: bitwise identical",
        "FAIL_EQUIV",
    ] {
        assert!(rt.contains(needle), "`{needle}` missing:\n{rt}");
    }
}

#[test]
fn an_incomplete_pair_replays_its_failure() {
    let dir = tempfile::tempdir().unwrap();
    let config = MODEL
        .replace("spans = [3, 5]", "spans = [3]")
        .replace("kv_aligned = [0, 1]", "kv_aligned = [1]");
    let o = sweep(dir.path(), &config, "testplugin", "unwritten-decode");
    let t = text(&o);
    assert_eq!(o.status.code(), Some(3), "{t}");
    let bundle = dir.path().join("out/replay/testplugin-f32-span3-kv1-seed0");
    assert!(bundle.join("prefill.f32").is_file(), "{t}");
    assert!(
        !bundle.join("decode.f32").exists(),
        "decode failed: no logits kept"
    );
    let r = replay(&bundle, "unwritten-decode");
    let rt = text(&r);
    assert_eq!(r.status.code(), Some(3), "{rt}");
    assert!(rt.contains("reproduced (identical metrics)"), "{rt}");
    // The same bundle where the plugin now works: said, and the exit code follows.
    let r = replay(&bundle, "ok");
    let rt = text(&r);
    assert_eq!(r.status.code(), Some(0), "{rt}");
    assert!(
        rt.contains("not reproduced: verdict INCOMPLETE → PASS_EQUIV"),
        "{rt}"
    );
}

#[test]
fn diff_and_csv_of_a_sweep_report() {
    let dir = tempfile::tempdir().unwrap();
    let o = sweep(dir.path(), MODEL, "testplugin", "ok");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = dir.path().join("out");
    let report = out.join("report.json");

    let d = driftbench(&["diff", report.to_str().unwrap(), out.to_str().unwrap()])
        .output()
        .unwrap();
    let dt = text(&d);
    assert_eq!(d.status.code(), Some(0), "{dt}");
    assert!(
        dt.contains("no change") && dt.contains("no regression"),
        "{dt}"
    );

    // One verdict changed in a copy.
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let rows = json["backends"][0]["comparisons"].as_array_mut().unwrap();
    let row = rows
        .iter_mut()
        .find(|r| r["span"] == 5 && r["kv_aligned"] == 1)
        .unwrap();
    row["verdict"] = "FAIL_EQUIV".into();
    let changed = dir.path().join("changed.json");
    std::fs::write(&changed, serde_json::to_string(&json).unwrap()).unwrap();
    let d = driftbench(&["diff", report.to_str().unwrap(), changed.to_str().unwrap()])
        .output()
        .unwrap();
    let dt = text(&d);
    assert_eq!(d.status.code(), Some(1), "{dt}");
    assert!(
        dt.contains("testplugin f32 span 5 kv_aligned 1 seed 0: PASS_EQUIV → FAIL_EQUIV"),
        "{dt}"
    );

    // Bad input: named, exit 2.
    let missing = dir.path().join("nope.json");
    let d = driftbench(&["diff", missing.to_str().unwrap(), report.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(d.status.code(), Some(2));
    assert!(text(&d).contains("nope.json"), "{}", text(&d));
    // A negative threshold reaches the value check (not clap's "unexpected argument"), which
    // names the option, the value and what was expected.
    for (option, value) in [
        ("--metric-rel", "-1"),
        ("--metric-abs", "-3"),
        ("--slowdown", "-0.5"),
    ] {
        let d = driftbench(&[
            "diff",
            report.to_str().unwrap(),
            report.to_str().unwrap(),
            option,
            value,
        ])
        .output()
        .unwrap();
        let t = text(&d);
        assert_eq!(d.status.code(), Some(2), "{t}");
        assert!(
            t.contains(&format!(
                "error: {option}: `{value}`: expected a finite number, 0 or more"
            )),
            "{t}"
        );
    }

    // The sweep wrote the CSV tables; `report --format csv` writes only them.
    assert!(out.join("pairs.csv").is_file());
    let csv_dir = dir.path().join("csv");
    let r = driftbench(&[
        "report",
        out.join("results.jsonl").to_str().unwrap(),
        "--format",
        "csv",
        "--out",
        csv_dir.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let rt = text(&r);
    assert_eq!(r.status.code(), Some(0), "{rt}");
    assert!(
        rt.contains("pairs.csv") && rt.contains("performance.csv"),
        "{rt}"
    );
    assert!(!csv_dir.join("report.md").exists());
    let pairs = std::fs::read_to_string(csv_dir.join("pairs.csv")).unwrap();
    let lines: Vec<&str> = pairs.lines().collect();
    assert!(
        lines[0].starts_with("backend,span,dtype,kv_aligned,seed,verdict"),
        "{pairs}"
    );
    for col in [
        "kl_mean",
        "kl_max",
        "nmse",
        "first_flip_position",
        "first_flip_prefill_margin",
    ] {
        assert!(lines[0].contains(col), "{col} missing: {}", lines[0]);
    }
    assert_eq!(lines.len(), 1 + 4, "header + one row per pair:\n{pairs}");
    assert!(lines[1..].iter().all(|l| l.starts_with("testplugin,")));
    let perf = std::fs::read_to_string(csv_dir.join("performance.csv")).unwrap();
    let lines: Vec<&str> = perf.lines().collect();
    assert!(
        lines[0].starts_with("backend,span,dtype,route,wall_mean_s"),
        "{perf}"
    );
    // (span 3, 5) × (prefill, decode).
    assert_eq!(lines.len(), 1 + 4, "{perf}");
}
