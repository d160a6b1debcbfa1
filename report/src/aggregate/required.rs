//! Named backends that gave no result. A sweep that named a backend (`--backend`, the
//! config's `sweep.backends`) and got no classified pair from it did not test it: every pair
//! SKIPPED or INCOMPLETE is not a PASS. Optional backends are said to be "not run" instead.

use driftbench_sweep::records::{PairRecord, SweepHeader};
use driftbench_sweep::verdict::Verdict;

/// What the named backends without a classified pair mean for the report.
#[derive(Debug, Default)]
pub(crate) struct Unanswered {
    /// Required backends without a result: each a gap (the sweep is INCOMPLETE).
    pub(crate) gaps: Vec<String>,
    /// Optional backends without a result: "not run", with why.
    pub(crate) not_run: Vec<String>,
}

/// Check every backend the header's plan names against the pairs journaled.
pub(crate) fn unanswered(header: Option<&SweepHeader>, pairs: &[&PairRecord]) -> Unanswered {
    let mut out = Unanswered::default();
    let Some(plan) = header.and_then(|h| h.plan.as_ref()) else {
        return out;
    };
    for name in &plan.required {
        if let Some(why) = no_result(name, header, pairs) {
            out.gaps.push(format!(
                "{name}: named but no pair was classified (every pair SKIPPED or INCOMPLETE): {why}"
            ));
        }
    }
    for name in &plan.optional {
        if let Some(why) = no_result(name, header, pairs) {
            out.not_run.push(format!("{name}: {why}"));
        }
    }
    out
}

/// Why `name` has no classified pair, or `None` when it has one.
fn no_result(name: &str, header: Option<&SweepHeader>, pairs: &[&PairRecord]) -> Option<String> {
    let mine: Vec<&&PairRecord> = pairs.iter().filter(|p| p.key.backend == name).collect();
    if mine.iter().any(|p| classified(p.verdict)) {
        return None;
    }
    let entry = header.and_then(|h| h.backends.iter().find(|b| b.name == name));
    let why = entry
        .and_then(|e| {
            e.error.clone().or_else(|| {
                e.probe
                    .as_ref()
                    .and_then(|p| p.unavailable.as_ref())
                    .map(|u| format!("not available: {u}"))
            })
        })
        .or_else(|| mine.iter().find_map(|p| p.reason.clone()))
        .unwrap_or_else(|| "no pair was journaled".to_string());
    Some(why)
}

/// A verdict that says something about the backend's agreement.
fn classified(v: Verdict) -> bool {
    matches!(
        v,
        Verdict::PassEquiv | Verdict::FailEquiv | Verdict::ExpectedDrift | Verdict::FailDrift
    )
}
