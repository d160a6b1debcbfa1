//! The driftbench plugin conformance kit: the checks every backend must pass, run from the
//! backend's own tests against its [`Backend`] implementation (or, through the plugin host,
//! against a loaded plugin of any language).
//!
//! | check | function | what it asks of the backend |
//! |---|---|---|
//! | probe | [`check_probe`] | the probe keeps the rules of [`driftbench_core::probe_check`] and its JSON reads back the same |
//! | agreement | [`check_agreement`] | prefill and decode agree within your tolerance, in every dtype you list and both KV layouts |
//! | unwritten | [`check_unwritten`] | every route writes every logit of the buffer |
//! | options | [`check_options`] | an unknown option is refused by name, an empty set accepted |
//! | trace | [`check_trace`] | a layer trace, where offered, has the right shape and finite values |
//!
//! [`run`] runs them all. A dtype, route or trace the backend answers
//! `BackendError::Unavailable` for is skipped with its reason, never failed; every failure
//! names its check, dtype and route, and what was seen against what was expected.
//!
//! ```no_run
//! use driftbench_conformance::{Kit, Tolerance};
//! use driftbench_core::Dtype;
//! # #[derive(Default)] struct MyBackend;
//! # impl driftbench_core::Backend for MyBackend {
//! #     fn name(&self) -> &str { "mine" }
//! #     fn probe(&self) -> driftbench_core::Probe { unimplemented!() }
//! #     fn open(&self, _: &driftbench_core::ModelSpec, _: Dtype)
//! #         -> Result<Box<dyn driftbench_core::Session>, driftbench_core::BackendError> { unimplemented!() }
//! # }
//!
//! // In your plugin's tests/conformance.rs, under #[test]:
//! let kit = Kit::synthetic().dtype(Dtype::F32, Tolerance::new(1e-4, 1.0));
//! let report = driftbench_conformance::run(&mut MyBackend::default(), &kit).unwrap();
//! println!("{report}");
//! ```

mod agreement;
mod kit;
mod options;
mod probe;
mod report;
mod sessions;
mod trace;
mod unwritten;

pub use agreement::check_agreement;
pub use kit::{Kit, Tolerance};
pub use options::{check_options, UNKNOWN_OPTION};
pub use probe::check_probe;
pub use report::{Check, Failures, Finding, Report};
pub use trace::check_trace;
pub use unwritten::check_unwritten;

use driftbench_core::Backend;

/// Run every check on `backend` with `kit`: options first (they configure the backend, which
/// must happen before any session opens; it is left with its default options), then the
/// probe, agreement, unwritten logits and traces. `Ok` with the whole report when nothing
/// failed, else `Err` with it; its `Debug` form lists every failure, so `.unwrap()` in a test
/// says what broke.
pub fn run(backend: &mut dyn Backend, kit: &Kit) -> Result<Report, Failures> {
    let mut report = check_options(backend);
    report.merge(check_probe(backend));
    report.merge(check_agreement(backend, kit));
    report.merge(check_unwritten(backend, kit));
    report.merge(check_trace(backend, kit));
    report.into_result()
}
