//! A verdict is derived, never trusted from a file: `report` and `--resume` judge each pair
//! again from its metrics and the header's rules, check the pairs against the plan's keys and
//! keep each pair identity once. A journal is edited here the way a careless script (or a
//! bad merge) would, and every such journal is INCOMPLETE (exit 3) with the finding named.

use crate::common;
use common::{driftbench, library, text, write_config};
use serde_json::Value;
use std::path::Path;

const CONFIG: &str = "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\n\
    kv_heads = 1\nffn = 32\nvocab = 32\n\n[sweep]\nspans = [3, 5]\ndtypes = [\"f32\"]\n\
    kv_aligned = [1]\nseeds = [0, 1]\n";

/// A passing sweep of the test plugin (4 pairs) into `out`.
fn passing_sweep(dir: &Path, out: &Path, resume: bool) -> (Option<i32>, String) {
    let cfg = write_config(dir, "c.toml", CONFIG);
    let lib = library("driftbench_test_plugin");
    let mut c = driftbench(&[
        "sweep",
        cfg.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
        "--backend",
        "testplugin",
        "--out",
        out.to_str().unwrap(),
    ]);
    if resume {
        c.arg("--resume");
    }
    let o = c.output().unwrap();
    (o.status.code(), text(&o))
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_lines(path: &Path, lines: &[Value]) {
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(path, text.join("\n") + "\n").unwrap();
}

/// `report` of the journal after `edit`: its exit code and report.md.
fn report_after(edit: impl Fn(&mut Vec<Value>)) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (code, t) = passing_sweep(dir.path(), &out, false);
    assert_eq!(code, Some(0), "{t}");
    let journal = out.join("results.jsonl");
    let mut lines = read_lines(&journal);
    edit(&mut lines);
    write_lines(&journal, &lines);
    let o = driftbench(&["report", journal.to_str().unwrap()])
        .output()
        .unwrap();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    (o.status.code(), text(&o), md)
}

fn is_pair(v: &Value) -> bool {
    v["type"] == "pair"
}

/// The first pair record.
fn first_pair(lines: &mut [Value]) -> &mut Value {
    lines.iter_mut().find(|v| is_pair(v)).unwrap()
}

fn assert_incomplete_naming(result: (Option<i32>, String, String), needle: &str) {
    let (code, t, md) = result;
    assert_eq!(code, Some(3), "{t}");
    assert!(md.contains(needle), "`{needle}` not in report.md:\n{md}");
    assert!(md.contains("INCOMPLETE"), "{md}");
}

#[test]
fn a_pass_its_metrics_contradict_is_incomplete() {
    for (field, value) in [
        ("max_abs_diff", Value::from("NaN")),
        ("top1_agreement", Value::from(0.0)),
        ("nonfinite_decode", Value::from(3)),
    ] {
        let r = report_after(|l| {
            let p = first_pair(l);
            assert_eq!(p["verdict"], "PASS_EQUIV");
            p["metrics"][field] = value.clone();
        });
        assert_incomplete_naming(
            r,
            "the journal says PASS_EQUIV, its metrics and the rules in force say FAIL_EQUIV",
        );
    }
}

#[test]
fn a_pair_journaled_twice_with_other_metrics_is_incomplete_and_identical_twice_collapses() {
    let r = report_after(|l| {
        let mut again = first_pair(l).clone();
        again["metrics"]["max_abs_diff"] = Value::from(1e-9);
        l.push(again);
    });
    assert_incomplete_naming(r, "is journaled twice with different results");
    let (code, t, md) = report_after(|l| {
        let again = first_pair(l).clone();
        l.push(again);
    });
    assert_eq!(code, Some(0), "{t}");
    assert!(
        md.contains("| 4 |") || md.contains("4 pair(s) classified"),
        "{md}"
    );
}

#[test]
fn a_pass_without_its_runs_is_incomplete() {
    let r = report_after(|l| {
        let key = first_pair(l).clone();
        l.retain(|v| {
            !(v["type"] == "run"
                && v["route"] == "decode"
                && v["span"] == key["span"]
                && v["seed"] == key["seed"])
        });
    });
    assert_incomplete_naming(r, "PASS_EQUIV journaled without its decode run");
}

#[test]
fn records_outside_the_plan_never_make_up_for_missing_ones() {
    // Every pair moved to a backend the sweep did not plan: the counts still add up.
    let r = report_after(|l| {
        for v in l.iter_mut().filter(|v| is_pair(v)) {
            v["backend"] = Value::from("foreign");
        }
    });
    let (_, _, md) = &r;
    assert!(md.contains("4 of 4 planned pairs have no verdict"), "{md}");
    assert_incomplete_naming(r, "4 pair record(s) outside the sweep's plan");
}

#[test]
fn resume_runs_again_what_its_evidence_does_not_support() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (code, t) = passing_sweep(dir.path(), &out, false);
    assert_eq!(code, Some(0), "{t}");
    let journal = out.join("results.jsonl");
    let mut lines = read_lines(&journal);
    // One PASS contradicted by its metrics, one pair outside the plan.
    first_pair(&mut lines)["metrics"]["max_abs_diff"] = Value::from("NaN");
    let mut foreign = lines.iter().find(|v| is_pair(v)).unwrap().clone();
    foreign["seed"] = Value::from(99);
    lines.push(foreign);
    write_lines(&journal, &lines);
    let (code, t) = passing_sweep(dir.path(), &out, true);
    assert_eq!(code, Some(0), "{t}");
    assert!(t.contains("3 of 4 cells already done"), "{t}");
    assert!(
        t.contains("its metrics and the rules in force say FAIL_EQUIV"),
        "{t}"
    );
    let lines = read_lines(&journal);
    let pairs: Vec<&Value> = lines.iter().filter(|v| is_pair(v)).collect();
    assert_eq!(pairs.len(), 4, "{t}");
    assert!(pairs
        .iter()
        .all(|p| p["verdict"] == "PASS_EQUIV" && p["seed"] != 99));
}

#[test]
fn replay_checks_the_bundles_recorded_verdict_against_its_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}\n[backends.shifted]\nplugin = \"testplugin\"\ndecode_shift = 0.5\n",
        CONFIG
            .replace("spans = [3, 5]", "spans = [3]")
            .replace("seeds = [0, 1]", "seeds = [0]")
    );
    let cfg = write_config(dir.path(), "c.toml", &config);
    let lib = library("driftbench_test_plugin");
    let out = dir.path().join("out");
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
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let bundle = out.join("replay/shifted-f32-span3-kv1-seed0");
    let file = bundle.join("bundle.json");
    let mut b: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(b["record"]["verdict"], "FAIL_EQUIV");
    b["record"]["verdict"] = Value::from("PASS_EQUIV");
    b["record"]["reason"] = Value::Null;
    std::fs::write(&file, b.to_string()).unwrap();
    let o = driftbench(&[
        "replay",
        bundle.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "the new run fails as before: {t}");
    assert!(
        t.contains("the bundle's recorded verdict is not what its metrics say: PASS_EQUIV, its metrics and the rules in force say FAIL_EQUIV"),
        "{t}"
    );
}

#[test]
fn a_journal_without_its_plan_is_checked_by_counts_with_a_warning() {
    let (code, t, _) = report_after(|l| {
        let header = l.iter_mut().find(|v| v["type"] == "sweep").unwrap();
        header.as_object_mut().unwrap().remove("plan");
    });
    assert_eq!(code, Some(0), "{t}");
    assert!(
        t.contains("does not record its plan (written by an older driftbench): its completeness is checked by counts only"),
        "{t}"
    );
}
