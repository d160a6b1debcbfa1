//! Check 1: the probe's rules and its JSON round trip.

use crate::fake::{Fake, Faults};
use crate::{assert_clean, lines};
use driftbench_conformance::{check_probe, Check};
use driftbench_core::{Backend, BackendError, Dtype, ModelSpec, Probe, Session};

#[test]
fn a_conforming_probe_passes_its_rules_and_round_trip() {
    let r = check_probe(&Fake::default());
    assert_clean(&r);
    assert_eq!(r.passed.len(), 2, "{r}");
    assert!(r.passed[0].message.contains("backend \"fake\""), "{r}");
}

#[test]
fn a_dtype_both_supported_and_unsupported_fails() {
    let r = check_probe(&Fake::with(Faults {
        dtype_both_ways: true,
        ..Faults::default()
    }));
    assert_eq!(
        lines(&r.failed, Check::Probe),
        ["probe [rules]: device 0 (\"nowhere\") lists f32 as both supported and unsupported"]
    );
}

/// The fake's probe under another backend name.
struct Renamed(Fake);

impl Backend for Renamed {
    fn name(&self) -> &str {
        "renamed"
    }
    fn probe(&self) -> Probe {
        self.0.probe()
    }
    fn open(&self, model: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        self.0.open(model, dtype)
    }
}

#[test]
fn a_probe_naming_another_backend_fails() {
    let r = check_probe(&Renamed(Fake::default()));
    assert_eq!(
        lines(&r.failed, Check::Probe),
        ["probe [rules]: the probe names backend \"fake\", but the backend is \"renamed\""]
    );
}
