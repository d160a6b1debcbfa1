//! Backend options end to end: `[backends.<name>]` tables reach the plugin, two instances of
//! one plugin run side by side in one report, the options in force are recorded, bad options
//! stop the command before anything runs, and a plugin built against ABI v1.0 still loads.

use crate::common;
use common::{driftbench, journal, library, text, write_config};
use serde_json::Value;
use std::path::Path;

const MODEL: &str = "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\n\
    kv_heads = 1\nffn = 32\nvocab = 32\n\n[sweep]\nspans = [3, 5]\ndtypes = [\"f32\"]\n\
    kv_aligned = [0, 1]\nseeds = [0]\n";

/// `sweep` with the test plugin; returns (exit code, output, out folder).
fn sweep(
    cfg: &Path,
    backends: &str,
    mode: &str,
    extra: &[&str],
) -> (Option<i32>, String, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let lib = library("driftbench_test_plugin");
    let mut args = vec![
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        backends,
        "--out",
        out.path().to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = driftbench(&args)
        .env("DRIFTBENCH_TEST_PLUGIN_MODE", mode)
        .output()
        .unwrap();
    (o.status.code(), text(&o), out)
}

fn two_instances(isolation: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "two.toml",
        &format!("{MODEL}\n[backends.shifted]\nplugin = \"testplugin\"\ndecode_shift = 0.5\n"),
    );
    let (code, t, out) = sweep(&cfg, "testplugin,shifted", "ok", isolation);
    // The shifted instance's decode is off by 0.5: its kv_aligned=1 pairs fail.
    assert_eq!(code, Some(1), "{t}");
    let recs = journal(out.path(), &t);
    let header = &recs[0];
    let entries = header["backends"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["name"], "shifted");
    assert_eq!(entries[1]["plugin"], "testplugin");
    assert_eq!(
        entries[1]["configured"]["options"]["decode_shift"], 0.5,
        "options in force are journaled"
    );
    assert_eq!(entries[0]["configured"]["options"]["decode_shift"], 0.0);

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    let rows = report["cross"]["agreement"].as_array().unwrap();
    let row = |route: &str, kv: Value| {
        rows.iter()
            .find(|r| {
                r["backend"] == "shifted"
                    && r["reference"] == "testplugin"
                    && r["route"] == route
                    && r["kv_aligned"] == kv
            })
            .unwrap_or_else(|| panic!("no {route} row in {rows:?}"))
    };
    assert_eq!(row("prefill", Value::Null)["max_abs_max"], 0.0);
    assert_eq!(row("prefill", Value::Null)["samples"], 4);
    let d = row("decode", 1.into())["max_abs_max"].as_f64().unwrap();
    assert!((d - 0.5).abs() < 1e-6, "{d}");

    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    for needle in [
        "- **plugin:** testplugin",
        "- **options in force:** decode_shift = 0.5",
        "- **fake detail:** configured",
        "### Logits Agreement between Backends",
        "| shifted vs testplugin | decode | 1 | 5.00e-1 |",
        "fake_compiles",
    ] {
        assert!(md.contains(needle), "`{needle}` missing from report.md");
    }
}

#[test]
fn two_instances_of_one_plugin_in_workers() {
    two_instances(&[]);
}

#[test]
fn two_instances_with_different_options_are_refused_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "two.toml",
        &format!("{MODEL}\n[backends.shifted]\nplugin = \"testplugin\"\ndecode_shift = 0.5\n"),
    );
    let (code, t, out) = sweep(&cfg, "testplugin,shifted", "ok", &["--in-process"]);
    assert_eq!(code, Some(2), "{t}");
    assert!(
        t.contains(
            "backends `testplugin` and `shifted` both run plugin testplugin with different options"
        ),
        "{t}"
    );
    assert!(!out.path().join("results.jsonl").exists(), "nothing ran");
}

#[test]
fn warm_up_counters_reach_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "c.toml", MODEL);
    let (code, t, out) = sweep(&cfg, "testplugin", "ok", &[]);
    assert_eq!(code, Some(0), "{t}");
    let recs = journal(out.path(), &t);
    let warm: Vec<&Value> = recs.iter().filter(|r| r["type"] == "warmup").collect();
    assert_eq!(warm.len(), 6, "prefill + 2 decode layouts at 2 spans");
    for w in &warm {
        // Every warm-up is the first call of its (route, span) in this fake: one compile.
        assert_eq!(w["counters"]["fake_compiles"], 1, "{w}");
    }
    let measured_compiles: u64 = recs
        .iter()
        .filter(|r| r["type"] == "run")
        .map(|r| r["counters"]["fake_compiles"].as_u64().unwrap())
        .sum();
    assert_eq!(measured_compiles, 0, "warm-ups absorbed every compile");
}

#[test]
fn a_bad_option_stops_the_sweep_naming_file_table_and_option() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "bad.toml",
        &format!("{MODEL}\n[backends.testplugin]\ndecode_shfit = 1\n"),
    );
    for isolation in [&[][..], &["--in-process"][..]] {
        let (code, t, out) = sweep(&cfg, "testplugin", "ok", isolation);
        assert_eq!(code, Some(2), "{t}");
        let line = t
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_default();
        assert!(
            line.contains("bad.toml: [backends.testplugin] (plugin testplugin): unknown option `decode_shfit`; this backend takes: decode_shift"),
            "{t}"
        );
        assert!(!out.path().join("results.jsonl").exists(), "nothing ran");
    }
    let cfg = write_config(
        dir.path(),
        "bad2.toml",
        &format!("{MODEL}\n[backends.testplugin]\ndecode_shift = \"big\"\n"),
    );
    let (code, t, _) = sweep(&cfg, "testplugin", "ok", &[]);
    assert_eq!(code, Some(2), "{t}");
    assert!(
        t.contains("option `decode_shift`: invalid value \"big\": expected a finite number"),
        "{t}"
    );
}

#[test]
fn a_v1_0_plugin_loads_runs_and_refuses_options() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "c.toml", MODEL);
    let (code, t, out) = sweep(&cfg, "testplugin", "v1.0", &[]);
    assert_eq!(code, Some(0), "{t}");
    let recs = journal(out.path(), &t);
    let source = recs[0]["backends"][0]["source"].as_str().unwrap();
    assert!(source.contains("ABI v1.0"), "{source}");
    // A v1.0 table has no counters.
    assert!(recs
        .iter()
        .filter(|r| r["type"] == "warmup")
        .all(|w| w.get("counters").is_none()));

    let cfg = write_config(
        dir.path(),
        "opts.toml",
        &format!("{MODEL}\n[backends.testplugin]\ndecode_shift = 1\n"),
    );
    let (code, t, _) = sweep(&cfg, "testplugin", "v1.0", &[]);
    assert_eq!(code, Some(2), "{t}");
    assert!(
        t.contains("unknown option `decode_shift`: plugin testplugin speaks ABI v1.0, which takes no options"),
        "{t}"
    );
}
