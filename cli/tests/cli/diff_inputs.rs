//! `driftbench diff` checks that both inputs are driftbench reports before comparing them
//! (a package.json, a replay bundle, `{}` or `[]` is refused as OLD and as NEW, exit 2,
//! naming the file; so is a report with a backend twice), and never drops a speed ratio of a
//! NaN, infinite, zero or negative wall time: listed, and a regression under
//! `--fail-on-slowdown`.

use crate::common;
use common::{driftbench, library, text, write_config};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Two backends (the test plugin and a shifted instance of it, whose pairs FAIL and leave
/// replay bundles), one span, both layouts.
const CONFIG: &str = "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\n\
    kv_heads = 1\nffn = 32\nvocab = 32\n\n[sweep]\nspans = [3]\ndtypes = [\"f32\"]\n\
    kv_aligned = [0, 1]\nseeds = [0]\n\n[backends.shifted]\nplugin = \"testplugin\"\n\
    decode_shift = 0.5\n";

/// A real sweep's `report.json` in `dir` (and its replay bundles beside it).
fn real_report(dir: &Path) -> PathBuf {
    let cfg = write_config(dir, "sweep.toml", CONFIG);
    let lib = library("driftbench_test_plugin");
    let out = dir.join("out");
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        "testplugin,shifted",
        "--out",
        out.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "the shifted pairs fail: {}",
        text(&o)
    );
    let report = out.join("report.json");
    assert!(report.is_file(), "{}", text(&o));
    report
}

fn diff(old: &Path, new: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["diff", old.to_str().unwrap(), new.to_str().unwrap()];
    args.extend_from_slice(extra);
    driftbench(&args).output().unwrap()
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn write(dir: &Path, name: &str, json: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, json).unwrap();
    p
}

/// Exit 2 with exactly one line, `error: <file>: …` containing `what`, and no comparison.
fn assert_refused(o: &Output, file: &Path, what: &str) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.is_empty(), "nothing compared: {t}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error line: {stderr}");
    let want = format!("error: {}: ", file.display());
    assert!(
        lines[0].starts_with(&want) && lines[0].contains(what),
        "`{want}…{what}` expected: {stderr}"
    );
}

const PACKAGE_JSON: &str = r#"{
  "name": "left-pad",
  "version": "1.3.0",
  "main": "index.js",
  "scripts": {"test": "node test.js"},
  "dependencies": {}
}"#;

/// An input that is refused on either side, with `what` in the message.
fn refused_both_ways(name: &str, json: Option<&str>, what: &str, as_new: bool) {
    let dir = tempfile::tempdir().unwrap();
    let report = real_report(dir.path());
    let bad = match json {
        Some(j) => write(dir.path(), name, j),
        // The real replay bundle of the first failing pair.
        None => dir
            .path()
            .join("out/replay/shifted-f32-span3-kv1-seed0/bundle.json"),
    };
    assert!(bad.is_file());
    let o = if as_new {
        diff(&report, &bad, &[])
    } else {
        diff(&bad, &report, &[])
    };
    assert_refused(&o, &bad, what);
}

const NOT_A_REPORT: &str = "not a driftbench report: missing keys";

#[test]
fn a_package_json_as_old_is_refused() {
    refused_both_ways(
        "package.json",
        Some(PACKAGE_JSON),
        "not a driftbench report: missing keys `schema_version`, `sweep`, `global`, `backends`",
        false,
    );
}

#[test]
fn a_package_json_as_new_is_refused() {
    refused_both_ways("package.json", Some(PACKAGE_JSON), NOT_A_REPORT, true);
}

#[test]
fn a_replay_bundle_as_old_is_refused() {
    refused_both_ways(
        "bundle.json",
        None,
        "not a driftbench report: missing keys `sweep`, `global`, `backends`",
        false,
    );
}

#[test]
fn a_replay_bundle_as_new_is_refused() {
    refused_both_ways("bundle.json", None, NOT_A_REPORT, true);
}

#[test]
fn an_empty_object_as_old_is_refused() {
    refused_both_ways("empty.json", Some("{}"), NOT_A_REPORT, false);
}

#[test]
fn an_empty_object_as_new_is_refused() {
    refused_both_ways("empty.json", Some("{}"), NOT_A_REPORT, true);
}

#[test]
fn an_array_as_old_is_refused() {
    refused_both_ways(
        "list.json",
        Some("[]"),
        "not a driftbench report: the top level is an array, expected an object",
        false,
    );
}

#[test]
fn an_array_as_new_is_refused() {
    refused_both_ways(
        "list.json",
        Some("[]"),
        "not a driftbench report: the top level is an array, expected an object",
        true,
    );
}

#[test]
fn a_backend_entry_twice_is_refused_on_either_side() {
    let dir = tempfile::tempdir().unwrap();
    let report = real_report(dir.path());
    // The failing backend's entry followed by a passing copy of it: read into one map, the
    // copy hid the FAIL pairs.
    let mut json = read(&report);
    let backends = json["backends"].as_array_mut().unwrap();
    let shifted = backends
        .iter()
        .position(|b| b["name"] == "shifted")
        .unwrap();
    let mut copy = backends[0].clone();
    copy["name"] = "shifted".into();
    backends.insert(shifted + 1, copy);
    let twice = write(dir.path(), "twice.json", &json.to_string());
    for o in [diff(&report, &twice, &[]), diff(&twice, &report, &[])] {
        assert_refused(&o, &twice, "backend `shifted` appears twice");
    }
}

/// A copy of `report` whose testplugin decode row at span 3 has mean wall time `wall`
/// (a JSON value as report.json writes it: a number, or "NaN", "inf", "-inf").
fn with_decode_wall(dir: &Path, report: &Path, wall: Value) -> PathBuf {
    let mut json = read(report);
    let b = json["backends"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|b| b["name"] == "testplugin")
        .unwrap();
    let row = b["performance"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["route"] == "decode" && r["span"] == 3)
        .unwrap();
    row["wall_mean_s"] = wall;
    write(dir, "timed.json", &json.to_string())
}

/// Under `--fail-on-slowdown` a decode time of `wall` in NEW is a regression naming the row
/// and both values; `shown` is how the new value is printed.
fn unusable_ratio_fails(wall: Value, shown: &str) {
    let dir = tempfile::tempdir().unwrap();
    let report = real_report(dir.path());
    let new = with_decode_wall(dir.path(), &report, wall);
    let o = diff(&report, &new, &["--fail-on-slowdown"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    let regressions = t.split("regression(s):").nth(1).unwrap_or_default();
    let line = regressions
        .lines()
        .find(|l| l.contains("testplugin f32 span 3 decode"))
        .unwrap_or_else(|| panic!("the row is a regression: {t}"));
    assert!(
        line.contains("unusable speed ratio")
            && line.contains(&format!(", new {shown}"))
            && line.contains("wall_mean_s old "),
        "{line}\n{t}"
    );
}

#[test]
fn a_nan_wall_time_fails_under_fail_on_slowdown() {
    unusable_ratio_fails("NaN".into(), "NaN");
}

#[test]
fn an_infinite_wall_time_fails_under_fail_on_slowdown() {
    unusable_ratio_fails("inf".into(), "inf");
}

#[test]
fn a_negative_wall_time_fails_under_fail_on_slowdown() {
    unusable_ratio_fails((-0.002).into(), "-0.002");
}

#[test]
fn a_zero_wall_time_fails_under_fail_on_slowdown() {
    unusable_ratio_fails(0.0.into(), "0.0");
}

#[test]
fn unusable_speed_ratios_are_listed_without_fail_on_slowdown() {
    let dir = tempfile::tempdir().unwrap();
    let report = real_report(dir.path());
    for (wall, shown) in [
        (Value::from("NaN"), "NaN"),
        ("inf".into(), "inf"),
        ("-inf".into(), "-inf"),
        ((-0.002).into(), "-0.002"),
        (0.0.into(), "0.0"),
    ] {
        let bad = with_decode_wall(dir.path(), &report, wall);
        // On either side.
        for (o, old_new) in [
            (diff(&report, &bad, &[]), format!(", new {shown}")),
            (diff(&bad, &report, &[]), format!("old {shown}, ")),
        ] {
            let t = text(&o);
            assert_eq!(o.status.code(), Some(0), "listed, not a regression: {t}");
            assert!(t.contains("unusable speed ratios (1)"), "{t}");
            assert!(
                t.lines()
                    .any(|l| l.contains("testplugin f32 span 3 decode") && l.contains(&old_new)),
                "{shown}: {t}"
            );
            assert!(!t.contains("no change"), "{t}");
            assert!(t.contains("no regression"), "{t}");
        }
    }
}
