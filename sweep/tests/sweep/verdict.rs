//! Tests of verdict classification, the global verdict, exit codes and counts.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics::Metrics;
use driftbench_sweep::verdict::DtypeTolerance;
use driftbench_sweep::verdict::Envelope;
use driftbench_sweep::verdict::GlobalVerdict;
use driftbench_sweep::verdict::Verdict;
use driftbench_sweep::verdict::{classify, count, global_verdict};

fn metrics(max_abs_diff: f64, top1_agreement: f64) -> Metrics {
    Metrics {
        max_abs_diff,
        p99_abs_diff: max_abs_diff,
        mean_abs_diff: max_abs_diff,
        top1_agreement,
        nonfinite_prefill: 0,
        nonfinite_decode: 0,
        positions: 16,
        vocab: 32,
        ..Default::default()
    }
}

/// equiv: max_abs 0.25, min_top1 0.95; drift: max_abs 0.5, min_top1 0.9.
fn tol() -> DtypeTolerance {
    DtypeTolerance {
        equiv: Envelope {
            max_abs: 0.25,
            min_top1: 0.95,
        },
        drift: Envelope {
            max_abs: 0.5,
            min_top1: 0.9,
        },
    }
}

fn verdict(kv: u8, m: &Metrics, t: &DtypeTolerance) -> Verdict {
    let (v, reason) = classify(KvMode::from_flag(kv.into()).unwrap(), Dtype::F16, m, t);
    // A reason comes with every FAIL and never with a pass.
    let is_fail = matches!(v, Verdict::FailEquiv | Verdict::FailDrift);
    assert_eq!(reason.is_some(), is_fail, "{v}: {reason:?}");
    v
}

#[test]
fn equiv_max_abs_at_below_above() {
    let t = tol();
    assert_eq!(verdict(1, &metrics(0.25, 1.0), &t), Verdict::PassEquiv);
    assert_eq!(verdict(1, &metrics(0.2499, 1.0), &t), Verdict::PassEquiv);
    assert_eq!(verdict(1, &metrics(0.2501, 1.0), &t), Verdict::FailEquiv);
    let (_, reason) = classify(KvMode::Aligned, Dtype::F16, &metrics(0.2501, 1.0), &t);
    assert_eq!(
        reason.as_deref(),
        Some("max_abs_diff 0.2501 > 0.25 (f16 equiv)")
    );
}

#[test]
fn equiv_min_top1_at_below_above() {
    let t = tol();
    assert_eq!(verdict(1, &metrics(0.0, 0.95), &t), Verdict::PassEquiv);
    assert_eq!(verdict(1, &metrics(0.0, 0.9501), &t), Verdict::PassEquiv);
    assert_eq!(verdict(1, &metrics(0.0, 0.9499), &t), Verdict::FailEquiv);
    // 7 of the 16 positions agree.
    let (_, reason) = classify(KvMode::Aligned, Dtype::F16, &metrics(0.0, 0.4375), &t);
    let reason = reason.unwrap();
    assert!(
        reason.contains("top1_agreement 7 of 16 positions (0.4375) < 0.95"),
        "{reason}"
    );
}

#[test]
fn drift_max_abs_at_below_above() {
    let t = tol();
    assert_eq!(verdict(0, &metrics(0.5, 1.0), &t), Verdict::ExpectedDrift);
    assert_eq!(
        verdict(0, &metrics(0.4999, 1.0), &t),
        Verdict::ExpectedDrift
    );
    assert_eq!(verdict(0, &metrics(0.5001, 1.0), &t), Verdict::FailDrift);
    // 0.4 breaks the equiv bound but sits in the drift envelope: the envelopes are not mixed.
    assert_eq!(verdict(0, &metrics(0.4, 1.0), &t), Verdict::ExpectedDrift);
    assert_eq!(verdict(1, &metrics(0.4, 1.0), &t), Verdict::FailEquiv);
    let (_, reason) = classify(KvMode::Padded, Dtype::Bf16, &metrics(0.5001, 1.0), &t);
    assert_eq!(
        reason.as_deref(),
        Some("max_abs_diff 0.5001 > 0.5 (bf16 drift)")
    );
}

#[test]
fn drift_min_top1_at_below_above() {
    let t = tol();
    assert_eq!(verdict(0, &metrics(0.0, 0.9), &t), Verdict::ExpectedDrift);
    assert_eq!(
        verdict(0, &metrics(0.0, 0.9001), &t),
        Verdict::ExpectedDrift
    );
    assert_eq!(verdict(0, &metrics(0.0, 0.8999), &t), Verdict::FailDrift);
    // 0.92 breaks the equiv bound only.
    assert_eq!(verdict(0, &metrics(0.0, 0.92), &t), Verdict::ExpectedDrift);
    assert_eq!(verdict(1, &metrics(0.0, 0.92), &t), Verdict::FailEquiv);
}

#[test]
fn zero_drift_is_expected_drift() {
    assert_eq!(
        verdict(0, &metrics(0.0, 1.0), &tol()),
        Verdict::ExpectedDrift
    );
}

#[test]
fn both_bounds_broken_are_both_reported() {
    let (v, reason) = classify(KvMode::Aligned, Dtype::F16, &metrics(0.31, 0.4375), &tol());
    assert_eq!(v, Verdict::FailEquiv);
    assert_eq!(
        reason.as_deref(),
        Some(
            "max_abs_diff 0.31 > 0.25 (f16 equiv); \
             top1_agreement 7 of 16 positions (0.4375) < 0.95 (f16 equiv)"
        )
    );
}

#[test]
fn default_f16_tolerance_reason() {
    let t = DtypeTolerance::default_for(Dtype::F16);
    let (v, reason) = classify(KvMode::Aligned, Dtype::F16, &metrics(0.31, 1.0), &t);
    assert_eq!(v, Verdict::FailEquiv);
    assert_eq!(
        reason.as_deref(),
        Some("max_abs_diff 0.31 > 0.25 (f16 equiv)")
    );
}

#[test]
fn bitwise_tolerance_zero() {
    let env = Envelope {
        max_abs: 0.0,
        min_top1: 1.0,
    };
    let t = DtypeTolerance {
        equiv: env,
        drift: env,
    };
    assert_eq!(verdict(1, &metrics(0.0, 1.0), &t), Verdict::PassEquiv);
    assert_eq!(verdict(0, &metrics(0.0, 1.0), &t), Verdict::ExpectedDrift);
    // The smallest positive diff fails.
    let tiny = f64::from_bits(1);
    assert_eq!(verdict(1, &metrics(tiny, 1.0), &t), Verdict::FailEquiv);
    assert_eq!(verdict(0, &metrics(tiny, 1.0), &t), Verdict::FailDrift);
    let (_, reason) = classify(KvMode::Aligned, Dtype::F32, &metrics(1e-7, 1.0), &t);
    let reason = reason.unwrap();
    assert!(reason.contains("max_abs_diff 0.0000001 > 0"), "{reason}");
    assert!(reason.contains("bitwise"), "{reason}");
}

#[test]
fn non_finite_fails_both_kinds_even_with_infinite_tolerance() {
    let env = Envelope {
        max_abs: f64::INFINITY,
        min_top1: f64::NEG_INFINITY,
    };
    let t = DtypeTolerance {
        equiv: env,
        drift: env,
    };
    // Counts alone fail the pair, even when the distances look fine.
    let mut m = metrics(0.0, 1.0);
    m.nonfinite_decode = 3;
    assert_eq!(verdict(1, &m, &t), Verdict::FailEquiv);
    assert_eq!(verdict(0, &m, &t), Verdict::FailDrift);
    let (_, reason) = classify(KvMode::Padded, Dtype::F32, &m, &t);
    assert_eq!(
        reason.as_deref(),
        Some("3 non-finite values in decode logits (NaN/Inf)")
    );

    let mut m = metrics(f64::NAN, 0.0);
    m.nonfinite_prefill = 1;
    assert_eq!(verdict(1, &m, &t), Verdict::FailEquiv);
    assert_eq!(verdict(0, &m, &t), Verdict::FailDrift);
    let (_, reason) = classify(KvMode::Aligned, Dtype::F32, &m, &t);
    let reason = reason.unwrap();
    assert!(
        reason.contains("1 non-finite value in prefill logits"),
        "{reason}"
    );
    assert!(reason.contains("max_abs_diff is NaN"), "{reason}");

    // An infinite max with counts fails too.
    let mut m = metrics(f64::INFINITY, 0.5);
    m.nonfinite_decode = 1;
    assert_eq!(verdict(1, &m, &t), Verdict::FailEquiv);
    assert_eq!(verdict(0, &m, &t), Verdict::FailDrift);
}

#[test]
fn nan_metric_without_counts_still_fails() {
    // Defensive: a NaN distance never satisfies a bound, even an infinite one.
    let env = Envelope {
        max_abs: f64::INFINITY,
        min_top1: 0.0,
    };
    let t = DtypeTolerance {
        equiv: env,
        drift: env,
    };
    assert_eq!(verdict(1, &metrics(f64::NAN, 1.0), &t), Verdict::FailEquiv);
    assert_eq!(verdict(0, &metrics(0.0, f64::NAN), &t), Verdict::FailDrift);
}

#[test]
fn global_verdict_precedence() {
    use Verdict::*;
    assert_eq!(global_verdict([]), GlobalVerdict::Pass);
    assert_eq!(global_verdict([Skipped, Skipped]), GlobalVerdict::Pass);
    assert_eq!(
        global_verdict([PassEquiv, ExpectedDrift, Skipped]),
        GlobalVerdict::Pass
    );
    assert_eq!(
        global_verdict([PassEquiv, Incomplete]),
        GlobalVerdict::Incomplete
    );
    assert_eq!(
        global_verdict([Incomplete, Skipped]),
        GlobalVerdict::Incomplete
    );
    assert_eq!(global_verdict([PassEquiv, FailEquiv]), GlobalVerdict::Fail);
    assert_eq!(
        global_verdict([ExpectedDrift, FailDrift]),
        GlobalVerdict::Fail
    );
    // FAIL beats INCOMPLETE whatever the order.
    assert_eq!(global_verdict([Incomplete, FailDrift]), GlobalVerdict::Fail);
    assert_eq!(global_verdict([FailEquiv, Incomplete]), GlobalVerdict::Fail);
    assert_eq!(
        global_verdict(vec![Skipped, Incomplete, PassEquiv, FailEquiv]),
        GlobalVerdict::Fail
    );
}

#[test]
fn global_verdict_names_and_exit_codes() {
    assert_eq!(GlobalVerdict::Pass.exit_code(), 0);
    assert_eq!(GlobalVerdict::Fail.exit_code(), 1);
    assert_eq!(GlobalVerdict::Incomplete.exit_code(), 3);
    assert_eq!(GlobalVerdict::Pass.as_str(), "PASS");
    assert_eq!(GlobalVerdict::Fail.as_str(), "FAIL");
    assert_eq!(GlobalVerdict::Incomplete.as_str(), "INCOMPLETE");
    assert_eq!(GlobalVerdict::Fail.to_string(), "FAIL");
    assert_eq!(format!("{}", GlobalVerdict::Incomplete), "INCOMPLETE");
}

#[test]
fn count_lists_every_verdict_with_zeros() {
    use Verdict::*;
    let c = count([PassEquiv, Skipped, PassEquiv, FailDrift]);
    assert_eq!(
        c,
        vec![
            (PassEquiv, 2),
            (FailEquiv, 0),
            (ExpectedDrift, 0),
            (FailDrift, 1),
            (Incomplete, 0),
            (Skipped, 1),
        ]
    );
    let empty = count(std::iter::empty());
    assert_eq!(empty.len(), Verdict::ALL.len());
    assert!(empty.iter().all(|&(_, n)| n == 0));
    assert_eq!(
        empty.iter().map(|&(v, _)| v).collect::<Vec<_>>(),
        Verdict::ALL.to_vec()
    );
}

#[test]
fn classify_end_to_end_from_compare() {
    use driftbench_core::metrics::compare;
    let prefill = [1.0, 2.0, 3.0, 4.0];
    let decode = [1.0, 2.0, 3.0, 4.125];
    let m = compare(&prefill, &decode, 4);
    let t = tol();
    assert_eq!(
        classify(KvMode::Aligned, Dtype::F16, &m, &t).0,
        Verdict::PassEquiv
    );
    let decode = [1.0, 2.0, 3.0, f32::NAN];
    let m = compare(&prefill, &decode, 4);
    assert_eq!(
        classify(KvMode::Aligned, Dtype::F16, &m, &t).0,
        Verdict::FailEquiv
    );
    assert_eq!(
        classify(KvMode::Padded, Dtype::F16, &m, &t).0,
        Verdict::FailDrift
    );
}

/// An f64 pair whose logits crossed as f32 lands its routes an f32 ulp apart where f64
/// agrees (9.5e-7 at logits below 10, as flex f64 did on SmolLM2). Judged by the f64
/// tolerance alone it is a false FAIL_EQUIV (what every such pair was before ABI v1.4);
/// judged at f32-transport precision it passes, labelled, and a real error still fails.
#[test]
fn f32_transport_widens_f64_bounds_to_f32_ulps_and_labels_the_pair() {
    use driftbench_sweep::noise_floor::{
        classify_transported, classify_with_floor, FloorRule, NoiseFloor, ToleranceMode,
    };
    use driftbench_sweep::verdict::{Transport, F32_TRANSPORT_ULPS};
    let tol = DtypeTolerance::default_for(Dtype::F64);
    let rule = FloorRule::default();
    let one_ulp = 2f64.powi(-20);
    let m = metrics(one_ulp, 1.0);
    let (v, _) = classify_with_floor(KvMode::Aligned, Dtype::F64, &m, &tol, &rule, Err("off"));
    assert_eq!(v, Verdict::FailEquiv, "the f64 bound alone fails it");
    let t = Transport::f32(9.83).judgement(Dtype::F64).unwrap();
    assert_eq!(t.bound, F32_TRANSPORT_ULPS * one_ulp);
    let judged = |m: &Metrics, kv: KvMode, rule: &FloorRule, floor: Result<&NoiseFloor, &str>| {
        classify_transported(kv, Dtype::F64, m, &tol, rule, floor, Some(&t))
    };
    let (v, reason) = judged(&m, KvMode::Aligned, &rule, Err("off"));
    assert_eq!(v, Verdict::PassEquiv);
    let reason = reason.unwrap();
    assert!(
        reason.contains("f32-transport precision") && reason.contains("9.83"),
        "{reason}"
    );
    // Drift too: the f64 drift envelope (1e-6) is below two ulps at 8..16.
    let (v, _) = judged(
        &metrics(1.5 * one_ulp, 1.0),
        KvMode::Padded,
        &rule,
        Err("off"),
    );
    assert_eq!(v, Verdict::ExpectedDrift);
    // Beyond two ulps it fails, still labelled; so does a top-1 flip.
    let (v, reason) = judged(
        &metrics(3.0 * one_ulp, 1.0),
        KvMode::Aligned,
        &rule,
        Err("off"),
    );
    assert_eq!(v, Verdict::FailEquiv);
    assert!(reason.unwrap().contains("f32-transport"));
    let (v, _) = judged(&metrics(one_ulp, 0.5), KvMode::Aligned, &rule, Err("off"));
    assert_eq!(v, Verdict::FailEquiv);
    // Bounds are never lowered, and a bitwise bound stays bitwise.
    assert_eq!(t.widen_bound(0.5), 0.5);
    assert_eq!(t.widen_bound(0.0), 0.0);
    // Not an f64 pair, or crossed as f64: nothing to widen.
    assert!(Transport::f32(9.83).judgement(Dtype::F32).is_none());
    let f64_wide = Transport {
        logits: Dtype::F64,
        max_abs_logit: 9.83,
    };
    assert!(f64_wide.judgement(Dtype::F64).is_none());
    // Under the noise-floor rule a floor of 0 (the reference as f32-rounded as the routes)
    // does not fail a one-ulp pair either; a NaN floor still does.
    let floor = NoiseFloor {
        reference: "x f64".into(),
        prefill: metrics(0.0, 1.0),
        decode: metrics(0.0, 1.0),
    };
    let by_floor = FloorRule {
        mode: ToleranceMode::NoiseFloor,
        k: 4.0,
    };
    let (v, _) = judged(&m, KvMode::Aligned, &by_floor, Ok(&floor));
    assert_eq!(v, Verdict::PassEquiv);
    let nan_floor = NoiseFloor {
        prefill: metrics(f64::NAN, 1.0),
        ..floor
    };
    let (v, _) = judged(&m, KvMode::Aligned, &by_floor, Ok(&nan_floor));
    assert_eq!(v, Verdict::FailEquiv);
}
