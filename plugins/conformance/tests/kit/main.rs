//! The kit against fakes (`fake.rs`): each check fails for the fault it is about, with a
//! message that says where and by how much, and a conforming fake passes them all.
//!
//! One test binary for the crate (each file a module): `cargo test -p driftbench-conformance
//! --test kit [FILTER]`.

mod agreement;
mod fake;
mod options;
mod probe;
mod run;
mod trace;
mod unwritten;

use driftbench_conformance::{Check, Finding, Kit, Report, Tolerance};
use driftbench_core::Dtype;

/// The kit the tests run: the kit's synthetic model in f32 and f64, both held to
/// agreement far tighter than the fake's exact routes need.
pub fn kit() -> Kit {
    Kit::synthetic()
        .dtype(Dtype::F32, Tolerance::new(1e-6, 1.0))
        .dtype(Dtype::F64, Tolerance::new(1e-12, 1.0))
}

/// The findings of `check` in `list`, printed.
pub fn lines(list: &[Finding], check: Check) -> Vec<String> {
    list.iter()
        .filter(|f| f.check == check)
        .map(|f| f.to_string())
        .collect()
}

/// Assert that `report` has no failure, printing it if it has.
pub fn assert_clean(report: &Report) {
    assert!(report.is_ok(), "{report}");
}
