//! Check 4: unknown options refused by name, an empty set accepted.

use crate::fake::{Fake, Faults};
use crate::{assert_clean, lines};
use driftbench_conformance::{check_options, Check, UNKNOWN_OPTION};

#[test]
fn refusing_by_name_and_accepting_nothing_passes() {
    let r = check_options(&mut Fake::default());
    assert_clean(&r);
    assert_eq!(r.passed.len(), 2, "{r}");
    assert!(r.passed[0].message.contains(UNKNOWN_OPTION), "{r}");
}

#[test]
fn a_backend_accepting_an_unknown_option_fails() {
    let r = check_options(&mut Fake::with(Faults {
        accepts_options: true,
        ..Faults::default()
    }));
    let got = lines(&r.failed, Check::Options);
    assert_eq!(got.len(), 1, "{r}");
    assert!(
        got[0].starts_with(&format!(
            "options [configure {{{UNKNOWN_OPTION} = true}}]: the backend accepted an option it does not take"
        )),
        "{r}"
    );
    // The empty set is still accepted: one failure, one pass.
    assert_eq!(r.passed.len(), 1, "{r}");
}

#[test]
fn a_refusal_that_does_not_name_the_key_fails() {
    let r = check_options(&mut Fake::with(Faults {
        refuses_anonymously: true,
        ..Faults::default()
    }));
    let got = lines(&r.failed, Check::Options);
    assert_eq!(got.len(), 1, "{r}");
    assert!(
        got[0].ends_with(&format!(
            "refused, but the message does not name the key `{UNKNOWN_OPTION}`: bad option"
        )),
        "{r}"
    );
}
