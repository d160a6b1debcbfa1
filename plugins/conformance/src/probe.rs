//! Check 1: the probe keeps the contract: the rules of
//! [`driftbench_core::probe_check::problems`] (names, reasons, disjoint dtype lists...), and
//! its JSON (what crosses the ABI) reads back as the same probe.

use crate::report::{Check, Finding, Report};
use driftbench_core::probe_check::problems;
use driftbench_core::{Backend, Probe};

/// Probe the backend and check the answer: every rule of
/// [`driftbench_core::probe_check::problems`] (with the backend's [`Backend::name`]), and a
/// JSON round trip through serde that gives back an equal probe. Each broken rule is its own
/// failure.
pub fn check_probe(backend: &dyn Backend) -> Report {
    let mut report = Report::default();
    let probe = backend.probe();
    let f = |at: &str, m: String| Finding::new(Check::Probe, None, at, m);
    let found = problems(&probe, backend.name());
    if found.is_empty() {
        report.pass(f(
            "rules",
            format!(
                "backend {:?} version {:?}, {} device(s), {}",
                probe.backend,
                probe.version,
                probe.devices.len(),
                match &probe.unavailable {
                    Some(why) => format!("unavailable: {why}"),
                    None => "available".into(),
                }
            ),
        ));
    }
    for p in found {
        report.fail(f("rules", p));
    }
    match round_trip(&probe) {
        Ok(()) => report.pass(f("json", "reads back as the same probe".into())),
        Err(why) => report.fail(f("json", why)),
    }
    report
}

/// The probe written as JSON and read back, compared with itself.
fn round_trip(probe: &Probe) -> Result<(), String> {
    let json = serde_json::to_string(probe).map_err(|e| format!("cannot be written: {e}"))?;
    let back: Probe =
        serde_json::from_str(&json).map_err(|e| format!("does not read back: {e}: {json}"))?;
    if &back != probe {
        return Err(format!("reads back different: {back:?}, not {probe:?}"));
    }
    Ok(())
}
