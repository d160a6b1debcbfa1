//! Check 4: options are refused by name. A backend reads its options with
//! [`driftbench_core::options::OptionReader`] (or keeps the default `configure`), so a typo in
//! a config's `[backends.<name>]` table is an error naming the key, never silently ignored.

use crate::report::{Check, Finding, Report};
use driftbench_core::{Backend, BackendError, BackendOptions, BackendSetup, OptionValue};

/// The option key the check offers: no backend takes it.
pub const UNKNOWN_OPTION: &str = "driftbench_conformance_no_such_option";

/// `configure` the backend with [`UNKNOWN_OPTION`], which it must refuse with
/// `BackendError::Invalid` whose message names the key; then with an empty option set, which
/// it must accept. The refused call comes first, so the backend is left configured with its
/// defaults, ready for sessions (a backend configures once; a refused call changes nothing).
pub fn check_options(backend: &mut dyn Backend) -> Report {
    let mut report = Report::default();
    let unknown = BackendSetup {
        options: BackendOptions::from([(UNKNOWN_OPTION.to_string(), OptionValue::Bool(true))]),
        cache_dir: None,
    };
    let at = format!("configure {{{UNKNOWN_OPTION} = true}}");
    let f = |m: String| Finding::new(Check::Options, None, at.clone(), m);
    match backend.configure(&unknown) {
        Ok(c) => report.fail(f(format!(
            "the backend accepted an option it does not take (options in force: {}); it \
             must refuse it with BackendError::Invalid naming `{UNKNOWN_OPTION}`",
            driftbench_core::options::describe(&c.options)
        ))),
        Err(BackendError::Invalid(m)) if m.contains(UNKNOWN_OPTION) => {
            report.pass(f(format!("refused by name: {m}")))
        }
        Err(BackendError::Invalid(m)) => report.fail(f(format!(
            "refused, but the message does not name the key `{UNKNOWN_OPTION}`: {m}"
        ))),
        Err(e) => report.fail(f(format!(
            "refused as {}, not as BackendError::Invalid: {e}",
            kind(&e)
        ))),
    }
    let f = |m: String| Finding::new(Check::Options, None, "configure {}", m);
    match backend.configure(&BackendSetup::default()) {
        Ok(c) => report.pass(f(format!(
            "an empty option set is accepted (in force: {})",
            driftbench_core::options::describe(&c.options)
        ))),
        Err(e) => report.fail(f(format!("an empty option set was refused: {e}"))),
    }
    report
}

/// The variant's name, for a refusal of the wrong kind.
fn kind(e: &BackendError) -> &'static str {
    match e {
        BackendError::Unavailable(_) => "BackendError::Unavailable",
        BackendError::Invalid(_) => "BackendError::Invalid",
        BackendError::Load(_) => "BackendError::Load",
        BackendError::Run(_) => "BackendError::Run",
        BackendError::Panic(_) => "BackendError::Panic",
    }
}
