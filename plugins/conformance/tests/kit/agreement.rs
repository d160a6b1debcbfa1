//! Check 2: prefill/decode agreement within the author's tolerances, both KV layouts.

use crate::fake::{Fake, Faults};
use crate::{assert_clean, kit, lines};
use driftbench_conformance::{check_agreement, Check, Kit, Tolerance};
use driftbench_core::Dtype;

fn biased(bias: f32) -> Fake {
    Fake::with(Faults {
        decode_bias: bias,
        ..Faults::default()
    })
}

#[test]
fn exact_routes_pass_in_both_dtypes_and_layouts() {
    let r = check_agreement(&Fake::default(), &kit());
    assert_clean(&r);
    assert_eq!(r.passed.len(), 4, "{r}");
    assert!(r.skipped.is_empty(), "{r}");
    assert!(r.passed[3].message.contains("(f64 logits)"), "{r}");
}

#[test]
fn a_decode_beyond_max_abs_fails_with_the_value_and_the_bound() {
    let k = Kit::synthetic().dtype(Dtype::F32, Tolerance::new(1e-6, 0.0));
    let r = check_agreement(&biased(0.5), &k);
    let got = lines(&r.failed, Check::Agreement);
    assert_eq!(got.len(), 2, "{r}");
    assert!(
        got[0].starts_with("agreement [f32, decode, kv_aligned=1]: max_abs_diff 5"),
        "{r}"
    );
    assert!(got[0].contains("exceeds max_abs 1e-6"), "{r}");
    assert!(
        got[1].starts_with("agreement [f32, decode, kv_aligned=0 (block 8)]"),
        "{r}"
    );
    // Within a looser bound, the same backend passes.
    let loose = Kit::synthetic().dtype(Dtype::F32, Tolerance::new(0.6, 0.0));
    assert_clean(&check_agreement(&biased(0.5), &loose));
}

#[test]
fn a_decode_whose_top_token_flips_fails_min_top1() {
    let k = Kit::synthetic().dtype(Dtype::F64, Tolerance::new(1e3, 1.0));
    let r = check_agreement(&biased(100.0), &k);
    let got = lines(&r.failed, Check::Agreement);
    assert_eq!(got.len(), 2, "{r}");
    assert!(
        got[0].contains("is below min_top1 1") && got[0].contains("first flip at position"),
        "{r}"
    );
    assert!(got[0].contains("decode token 0"), "{r}");
}

#[test]
fn a_route_answering_unavailable_is_skipped_with_its_reason() {
    let fake = Fake::with(Faults {
        padded_unavailable: true,
        ..Faults::default()
    });
    let r = check_agreement(&fake, &kit());
    assert_clean(&r);
    assert_eq!(r.passed.len(), 2, "{r}");
    assert_eq!(
        lines(&r.skipped, Check::Agreement),
        [
            "agreement [f32, decode, kv_aligned=0 (block 8)]: the backend refuses this route: no padded cache",
            "agreement [f64, decode, kv_aligned=0 (block 8)]: the backend refuses this route: no padded cache",
        ]
    );
}

#[test]
fn a_layout_the_probe_rules_out_is_skipped_and_never_run() {
    // The fake panics if its aligned decode runs.
    let fake = Fake::with(Faults {
        probe_refuses_aligned: true,
        ..Faults::default()
    });
    let r = check_agreement(&fake, &kit());
    assert_clean(&r);
    assert_eq!(r.passed.len(), 2, "{r}");
    assert!(
        r.skipped[0].message.contains("the probe rules it out")
            && r.skipped[0].message.contains("the cache always pads"),
        "{r}"
    );
}

#[test]
fn an_unwritten_logit_is_never_compared() {
    let fake = Fake::with(Faults {
        decode_unwritten: true,
        ..Faults::default()
    });
    let k = Kit::synthetic().dtype(Dtype::F32, Tolerance::new(1e9, 0.0));
    let got = lines(&check_agreement(&fake, &k).failed, Check::Agreement);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].ends_with("(not compared)"), "{got:?}");
}
