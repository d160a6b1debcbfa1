//! Interruption and `--resume`: a sweep killed with SIGKILL at a random run and resumed
//! gives the verdicts and metrics of a clean sweep, each pair journaled once; SIGINT stops
//! after the pair in progress with a journal, a report marked INCOMPLETE and exit 3.
#![cfg(unix)]

use crate::common;
use common::{journal, library, plugin_sweep, root, text};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Pairs planned by configs/ci.toml on two backends.
const PLANNED: usize = 24;

/// `sweep configs/ci.toml` on the test plugin (150 ms per decode: a window to interrupt
/// in) and flex, into `out`.
fn sweep(out: &Path, extra: &[&str]) -> std::process::Command {
    let lib = library("driftbench_test_plugin");
    let mut c = plugin_sweep(&root().join("configs/ci.toml"), &lib, out);
    c.args(extra).env("DRIFTBENCH_TEST_PLUGIN_MODE", "slow");
    c
}

/// Pair records in a journal's text (a torn last line is not a record).
fn pair_count(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("results.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with('{') && l.ends_with('}') && l.contains("\"type\":\"pair\""))
        .count()
}

/// Wait until the journal in `dir` holds `n` pairs (or the sweep ended).
fn wait_for_pairs(child: &mut Child, dir: &Path, n: usize) {
    let t0 = Instant::now();
    while pair_count(dir) < n {
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended early");
        assert!(t0.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What a verdict depends on, per pair and per cross-backend comparison.
fn outcomes(recs: &[Value]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for r in recs {
        let key = format!(
            "{} {} {} {} {} {} {}",
            r["type"], r["backend"], r["span"], r["dtype"], r["kv_aligned"], r["seed"], r["route"]
        );
        let value = match r["type"].as_str() {
            Some("pair") => format!("{} {} {}", r["verdict"], r["metrics"], r["reason"]),
            Some("cross") => format!("{} {}", r["reference"], r["metrics"]),
            _ => continue,
        };
        assert!(
            out.insert(key.clone(), value).is_none(),
            "{key} journaled twice"
        );
    }
    out
}

#[test]
fn sigkill_at_a_random_run_then_resume_matches_a_clean_sweep() {
    let clean = tempfile::tempdir().unwrap();
    let o = sweep(clean.path(), &[]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let clean_recs = journal(clean.path(), &text(&o));
    assert_eq!(
        clean_recs.iter().filter(|r| r["type"] == "pair").count(),
        PLANNED
    );

    // A run picked at random (printed, to reproduce a failure).
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let kill_after = 1 + nanos as usize % (PLANNED - 2);
    eprintln!("SIGKILL once {kill_after} pairs are journaled");

    let out = tempfile::tempdir().unwrap();
    let mut child = sweep(out.path(), &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_pairs(&mut child, out.path(), kill_after);
    child.kill().unwrap();
    child.wait().unwrap();
    let cut = pair_count(out.path());
    assert!(cut < PLANNED, "killed before the end ({cut} pairs)");
    assert!(
        !out.path().join("report.md").exists(),
        "no report after SIGKILL"
    );

    let o = sweep(out.path(), &["--resume"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("resuming"), "{}", text(&o));
    let resumed = journal(out.path(), &text(&o));
    assert_eq!(
        outcomes(&resumed),
        outcomes(&clean_recs),
        "same verdicts and metrics, no pair lost or duplicated"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["global"], "PASS");
    assert_eq!(report["sweep"]["pairs_classified"], PLANNED);
}

#[test]
fn sigint_stops_after_the_pair_in_progress() {
    let out = tempfile::tempdir().unwrap();
    let mut child = sweep(out.path(), &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_pairs(&mut child, out.path(), 3);
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let o = child.wait_with_output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(3), "INCOMPLETE: {t}");
    assert!(t.contains("interrupted"), "{t}");
    let recs = journal(out.path(), &t);
    let pairs = recs.iter().filter(|r| r["type"] == "pair").count();
    assert!((3..PLANNED).contains(&pairs), "{pairs} pairs");
    // Every pair that started also finished: each has both of its runs.
    let runs = recs.iter().filter(|r| r["type"] == "run").count();
    assert_eq!(runs, 2 * pairs);
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(md.contains("**INCOMPLETE**"), "{md}");
    assert!(md.contains("the sweep was interrupted"));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["global"], "INCOMPLETE");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.path().join("report.md"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o044,
            0o044,
            "a report is readable by others: {mode:o}"
        );
    }

    // And the interrupted sweep resumes to a whole one.
    let o = sweep(out.path(), &["--resume"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let recs = journal(out.path(), &text(&o));
    assert_eq!(recs.iter().filter(|r| r["type"] == "pair").count(), PLANNED);
}

#[test]
fn resume_refuses_another_sweep_naming_what_changed() {
    let out = tempfile::tempdir().unwrap();
    let o = sweep(out.path(), &[]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let dir = tempfile::tempdir().unwrap();
    let cfg = std::fs::read_to_string(root().join("configs/ci.toml"))
        .unwrap()
        .replace("seeds = [0]", "seeds = [0, 7]");
    let changed = common::write_config(dir.path(), "ci.toml", &cfg);
    let lib = library("driftbench_test_plugin");
    let o = plugin_sweep(&changed, &lib, out.path())
        .arg("--resume")
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("error: --resume"), "{t}");
    assert!(t.contains("seeds: [0] in the journal, [0,7] now"), "{t}");
}
