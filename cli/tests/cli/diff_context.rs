//! `diff` says what changed between the runs before any verdict: committed pairs of
//! report.json (made by two sweeps of the test plugin each) and the output expected of each,
//! verbatim after the two lines naming the files. Rewrite the expectations after a wanted
//! change with `DRIFTBENCH_BLESS=1 cargo test -p driftbench --test cli diff_context`.
//!
//! - `new-tolerance`: the config's f32 equivalence `max_abs` from 0.01 to 0.0001, the
//!   `shifted` instance's decode off by 0.001: the verdict changes, the metrics do not;
//! - `new-plugin`: the same config, the plugin library a copy with one byte appended;
//! - `new-plan`: spans `[3]` → `[3, 5]`;
//! - `new-machine`: `--machine-label ci-a` → `ci-b`, nothing else.

use crate::common;
use common::{driftbench, root, text};
use std::path::Path;

fn fixture(name: &str) -> std::path::PathBuf {
    root().join("cli/tests/fixtures/diff").join(name)
}

/// `diff old.json <new>.json`: exit code and stdout without the two path lines.
fn diff(new: &str) -> (Option<i32>, String) {
    let o = driftbench(&[
        "diff",
        fixture("old.json").to_str().unwrap(),
        fixture(&format!("{new}.json")).to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let body: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.starts_with("old: ") && !l.starts_with("new: "))
        .collect();
    assert!(o.stderr.is_empty(), "{}", text(&o));
    (o.status.code(), body.join("\n") + "\n")
}

fn check(new: &str, code: i32, first: &str) {
    let (got_code, got) = diff(new);
    assert_eq!(got_code, Some(code), "{got}");
    let expected = fixture(&format!("{new}.expected.txt"));
    if std::env::var_os("DRIFTBENCH_BLESS").is_some() {
        std::fs::write(&expected, &got).unwrap();
    }
    let want = std::fs::read_to_string(&expected)
        .unwrap_or_else(|e| panic!("{}: {e}", Path::new(&expected).display()));
    assert_eq!(got, want, "diff output of {new} changed");
    // What changed between the runs comes first, before any verdict.
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[0], "what changed besides the results:", "{got}");
    assert!(lines[1].starts_with(first), "`{first}` not first: {got}");
}

#[test]
fn a_tolerance_change_is_said_first_and_marks_the_verdict_it_moved() {
    check("new-tolerance", 1, "  config: sha256 ");
    let (_, got) = diff("new-tolerance");
    assert!(
        got.contains("  tolerance f32 equiv.max_abs: 0.01 → 0.0001\n"),
        "{got}"
    );
    assert!(
        got.contains(
            "PASS_EQUIV → FAIL_EQUIV (regressed; the tolerance moved, the metrics did not)"
        ),
        "{got}"
    );
}

#[test]
fn a_plugin_swapped_behind_an_instance_name_is_said() {
    check(
        "new-plugin",
        0,
        "  backend testplugin: plugin file libdriftbench_test_plugin.so sha256 ",
    );
}

#[test]
fn different_grids_say_the_plans_differ() {
    check("new-plan", 0, "  config: sha256 ");
    let (_, got) = diff("new-plan");
    assert!(
        got.contains("  the plans differ: spans [3] → [3,5]\n"),
        "{got}"
    );
    // Swapped: pairs the new plan no longer has are not regressions.
    let o = driftbench(&[
        "diff",
        fixture("new-plan.json").to_str().unwrap(),
        fixture("old.json").to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("PASS_EQUIV → missing (no longer planned)"),
        "{t}"
    );
}

#[test]
fn two_machines_diff_as_matched_pairs_saying_the_machine() {
    check("new-machine", 0, "  machine: ci-a → ci-b");
    let (_, got) = diff("new-machine");
    assert!(
        !got.contains("missing"),
        "pairs matched across machines: {got}"
    );
}
