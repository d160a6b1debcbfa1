//! Check 3: every route writes every logit of a poisoned buffer.

use crate::fake::{Fake, Faults};
use crate::{assert_clean, kit, lines};
use driftbench_conformance::{check_unwritten, Check};

#[test]
fn every_route_of_a_conforming_backend_writes_everything() {
    let r = check_unwritten(&Fake::default(), &kit());
    assert_clean(&r);
    // f32: prefill and two decodes; f64: those and their f64 routes.
    assert_eq!(r.passed.len(), 3 + 6, "{r}");
}

#[test]
fn a_decode_leaving_a_logit_unwritten_fails_with_where() {
    let fake = Fake::with(Faults {
        decode_unwritten: true,
        ..Faults::default()
    });
    let r = check_unwritten(&fake, &kit());
    // 11 tokens × 97 entries; the last one, in each f32 decode (both sessions).
    let want = "the backend reported success but left 1 of 1067 logits unwritten \
        (first: position 10, vocab index 96)";
    assert_eq!(
        lines(&r.failed, Check::Unwritten),
        [
            format!("unwritten [f32, decode, kv_aligned=1]: {want}"),
            format!("unwritten [f32, decode, kv_aligned=0 (block 8)]: {want}"),
            format!("unwritten [f64, decode, kv_aligned=1]: {want}"),
            format!("unwritten [f64, decode, kv_aligned=0 (block 8)]: {want}"),
        ]
    );
}

#[test]
fn the_f64_routes_are_checked_with_their_own_sentinel() {
    let fake = Fake::with(Faults {
        decode_f64_unwritten: true,
        ..Faults::default()
    });
    let r = check_unwritten(&fake, &kit());
    let got = lines(&r.failed, Check::Unwritten);
    assert_eq!(got.len(), 2, "{r}");
    assert!(
        got[0].starts_with("unwritten [f64, decode_f64, kv_aligned=1]: ")
            && got[0].ends_with("(first: position 0, vocab index 0)"),
        "{r}"
    );
}
