//! Check 5: trace shape, where a session traces.

use crate::fake::{Fake, Faults, TraceMode};
use crate::{assert_clean, kit, lines};
use driftbench_conformance::{check_trace, Check};

fn tracing(trace: TraceMode) -> Fake {
    Fake::with(Faults {
        trace,
        ..Faults::default()
    })
}

#[test]
fn a_good_trace_passes_and_no_trace_is_skipped() {
    let r = check_trace(&tracing(TraceMode::Good), &kit());
    assert_clean(&r);
    assert_eq!(r.passed.len(), 6, "{r}");
    assert!(
        r.passed[0]
            .message
            .starts_with("6 points × 11 positions × 32 wide"),
        "{r}"
    );
    let r = check_trace(&tracing(TraceMode::Absent), &kit());
    assert_clean(&r);
    assert_eq!(r.skipped.len(), 6, "{r}");
    assert!(
        r.skipped[0].message.contains("the fake does not trace"),
        "{r}"
    );
}

#[test]
fn a_trace_with_too_few_positions_fails() {
    let r = check_trace(&tracing(TraceMode::ShortPositions), &kit());
    let got = lines(&r.failed, Check::Trace);
    assert_eq!(got.len(), 6, "{r}");
    assert_eq!(
        got[0],
        "trace [f32, prefill]: the trace has 10 positions, the prompt 11 tokens"
    );
}

#[test]
fn a_non_finite_trace_value_fails_with_its_place() {
    let r = check_trace(&tracing(TraceMode::NonFinite), &kit());
    let got = lines(&r.failed, Check::Trace);
    assert_eq!(got.len(), 6, "{r}");
    assert_eq!(
        got[1],
        "trace [f32, decode, kv_aligned=1]: 1 non-finite value(s), the first at point \
         \"final_norm\", position 10"
    );
}

#[test]
fn a_trace_the_probe_does_not_declare_fails_and_so_does_a_declared_one_that_is_missing() {
    let undeclared = Fake::with(Faults {
        trace: TraceMode::Good,
        undeclared_trace: true,
        ..Faults::default()
    });
    let r = check_trace(&undeclared, &kit());
    let got = lines(&r.failed, Check::Trace);
    assert_eq!(got.len(), 6, "{r}");
    assert!(
        got[0].ends_with(
            "the probe does not declare `traces`: the host refuses --trace-layers on this backend"
        ),
        "{r}"
    );
    let missing = Fake::with(Faults {
        trace: TraceMode::Absent,
        declared_trace: true,
        ..Faults::default()
    });
    let r = check_trace(&missing, &kit());
    let got = lines(&r.failed, Check::Trace);
    assert_eq!(got.len(), 6, "{r}");
    assert!(
        got[0].contains("the probe declares `traces`, but the session does not trace"),
        "{r}"
    );
}
