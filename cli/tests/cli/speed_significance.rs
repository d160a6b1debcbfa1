//! `diff --fail-on-slowdown` calls a slowdown only when the median wall time moved beyond the
//! threshold and a Mann–Whitney test of the runs agrees, which needs 5 timed runs a side.
//! The test plugin's `steady` mode sleeps 50 ms in every route call, so its wall times are
//! the sleep's and two sweeps of it time alike on a loaded machine; `steady-slow` plants a
//! 3× slower decode.

use crate::common;
use common::{driftbench, library, text, write_config};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One pair (span 3, f32, aligned cache, seed 0): each route's row holds exactly the
/// repetitions.
fn config(repetitions: usize) -> String {
    format!(
        "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 8\nheads = 2\nkv_heads = 1\n\
         ffn = 16\nvocab = 11\n\n[sweep]\nspans = [3]\ndtypes = [\"f32\"]\nkv_aligned = [1]\n\
         seeds = [0]\nrepetitions = {repetitions}\n\n[reference]\nnoise_floor = false\n"
    )
}

/// A sweep of the test plugin in `mode` into `dir/name`; its report.json.
fn sweep(dir: &Path, name: &str, repetitions: usize, mode: &str) -> PathBuf {
    let cfg = write_config(dir, &format!("{name}.toml"), &config(repetitions));
    let lib = library("driftbench_test_plugin");
    let out = dir.join(name);
    let o = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        "testplugin",
        "--out",
        out.to_str().unwrap(),
    ])
    .env("DRIFTBENCH_TEST_PLUGIN_MODE", mode)
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    out.join("report.json")
}

/// `diff OLD NEW --fail-on-slowdown`: exit code and output.
fn diff(old: &Path, new: &Path) -> (Option<i32>, String) {
    let o = driftbench(&[
        "diff",
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        "--fail-on-slowdown",
    ])
    .output()
    .unwrap();
    (o.status.code(), text(&o))
}

/// The testplugin decode row's per-run wall times in a report.json.
fn decode_samples(report: &Path) -> Vec<f64> {
    let json: Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    let row = json["backends"][0]["performance"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["route"] == "decode")
        .unwrap()
        .clone();
    row["profile"]["wall_samples_s"]
        .as_array()
        .unwrap_or_else(|| panic!("no per-run wall times: {row}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// The number after `what` in `line`, up to the next character that cannot be in it.
fn number_after(line: &str, what: &str) -> f64 {
    let rest = &line[line
        .find(what)
        .unwrap_or_else(|| panic!("`{what}` in {line}"))
        + what.len()..];
    let n: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e' || *c == '-')
        .collect();
    n.parse()
        .unwrap_or_else(|_| panic!("a number after `{what}`: {line}"))
}

#[test]
fn two_sweeps_of_one_binary_are_not_a_slowdown() {
    let dir = tempfile::tempdir().unwrap();
    let old = sweep(dir.path(), "old", 5, "steady");
    let new = sweep(dir.path(), "new", 5, "steady");
    assert_eq!(decode_samples(&old).len(), 5);
    let md = std::fs::read_to_string(old.with_file_name("report.md")).unwrap();
    assert!(
        md.contains("| wall median ± MAD |") && md.contains("ms ± "),
        "median ± MAD from 5 runs: {md}"
    );
    let (code, t) = diff(&old, &new);
    assert_eq!(code, Some(0), "{t}");
    assert!(
        t.contains("speed: new/old median wall time over 2 (backend, span, dtype, route) rows")
            && t.contains("0 slower, 0 faster beyond 1.25× with Mann–Whitney p < 0.05"),
        "{t}"
    );
    assert!(!t.contains("not enough repetitions"), "{t}");
    assert!(t.contains("no regression"), "{t}");
}

#[test]
fn a_planted_slowdown_is_flagged_with_its_ratio_and_p_value() {
    let dir = tempfile::tempdir().unwrap();
    let old = sweep(dir.path(), "old", 5, "steady");
    let new = sweep(dir.path(), "new", 5, "steady-slow");
    let (code, t) = diff(&old, &new);
    assert_eq!(code, Some(1), "{t}");
    let regressions: Vec<&str> = t
        .split("1 regression(s):\n")
        .nth(1)
        .unwrap_or_else(|| panic!("one regression: {t}"))
        .lines()
        .collect();
    assert_eq!(regressions.len(), 1, "only decode slowed down: {t}");
    let line = regressions[0];
    assert!(
        line.starts_with("  testplugin f32 span 3 decode: "),
        "{line}\n{t}"
    );
    // 150 ms against 50 ms of sleep, plus the same small overhead on both.
    let ratio = number_after(line, "decode: ");
    assert!((2.0..=3.5).contains(&ratio), "{ratio}: {line}");
    assert!(line.contains("× slower"), "{line}");
    // Every new run slower than every old one: the exact p of 5 against 5, 2/252.
    let p = number_after(line, "Mann–Whitney p = ");
    assert!(p < 0.05, "{p}: {line}");
    assert!(line.contains("5 and 5 runs"), "{line}");
    // The listing says the same, with medians ± MAD.
    assert!(
        t.lines()
            .any(|l| l.starts_with("  testplugin f32 span 3 decode: ")
                && l.contains("ms ± ")
                && l.contains("× slower, p = ")
                && l.ends_with("n = 5/5)")),
        "{t}"
    );
}

#[test]
fn one_repetition_is_not_enough_to_judge_and_never_fails() {
    let dir = tempfile::tempdir().unwrap();
    let old = sweep(dir.path(), "old", 1, "steady");
    // Even a planted 3× slowdown: one run a side says nothing about the spread.
    let new = sweep(dir.path(), "new", 1, "steady-slow");
    let (code, t) = diff(&old, &new);
    assert_eq!(code, Some(0), "{t}");
    assert!(
        t.contains(
            "not enough repetitions to judge 2 of 2 rows (fewer than 5 timed runs on a side"
        ),
        "{t}"
    );
    let line = t
        .lines()
        .find(|l| l.starts_with("  testplugin f32 span 3 decode: "))
        .unwrap_or_else(|| panic!("the decode ratio is shown: {t}"));
    assert!(
        line.contains("× slower: not enough repetitions to judge, n = 1/1)"),
        "{line}"
    );
    assert!((2.0..=3.5).contains(&number_after(line, "ms (")), "{line}");
    assert!(t.contains("no regression"), "{t}");
}
