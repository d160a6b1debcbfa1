//! `run`: every check at once, and the rule that a run where nothing ran fails.

use crate::fake::{Fake, Faults, TraceMode};
use crate::kit;
use driftbench_conformance::{run, Check, Kit};

#[test]
fn a_conforming_backend_passes_every_check() {
    let mut fake = Fake::with(Faults {
        trace: TraceMode::Good,
        ..Faults::default()
    });
    let r = run(&mut fake, &kit()).unwrap();
    assert!(r.skipped.is_empty(), "{r}");
    for (check, n) in [
        (Check::Probe, 2),
        (Check::Agreement, 4),
        (Check::Unwritten, 9),
        (Check::Options, 2),
        (Check::Trace, 6),
    ] {
        assert_eq!(r.of(check).passed.len(), n, "{check}: {r}");
    }
}

#[test]
fn failures_are_listed_one_per_line_in_what_unwrap_prints() {
    let mut fake = Fake::with(Faults {
        decode_bias: 1.0,
        accepts_options: true,
        ..Faults::default()
    });
    let e = run(&mut fake, &kit()).unwrap_err();
    assert_eq!(e.failed().len(), 5, "{e}");
    let printed = format!("{e:?}");
    assert!(
        printed.starts_with("the backend failed 5 conformance check(s)"),
        "{printed}"
    );
    assert!(
        printed
            .lines()
            .any(|l| l.starts_with("FAIL agreement [f64, decode, kv_aligned=1]: max_abs_diff 1e0")),
        "{printed}"
    );
    assert!(
        printed.lines().any(|l| l.starts_with("FAIL options")),
        "{printed}"
    );
    assert!(
        printed.lines().any(|l| l.starts_with("SKIP trace")),
        "{printed}"
    );
}

#[test]
fn a_run_where_nothing_ran_fails_unless_allowed() {
    let mut fake = Fake::with(Faults {
        nothing_opens: true,
        ..Faults::default()
    });
    let e = run(&mut fake, &kit()).unwrap_err();
    let checks: Vec<Check> = e.failed().iter().map(|f| f.check).collect();
    assert_eq!(checks, [Check::Agreement, Check::Unwritten], "{e}");
    assert!(e.failed()[0].message.starts_with("no route ran"), "{e}");
    assert!(
        e.report.skipped[0]
            .message
            .contains("cannot open this dtype: no f32 here"),
        "{e}"
    );
    let mut allowed = kit();
    allowed.require_runs = false;
    let r = run(&mut fake, &allowed).unwrap();
    assert_eq!(r.skipped.len(), 6, "two dtypes, three checks: {r}");
}

#[test]
fn a_kit_without_dtypes_fails() {
    let e = run(&mut Fake::default(), &Kit::synthetic()).unwrap_err();
    assert_eq!(e.failed().len(), 3, "agreement, unwritten, trace: {e}");
    assert!(e.failed()[0].message.contains("lists no dtype"), "{e}");
}
