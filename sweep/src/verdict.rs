//! Verdicts per pair and for the whole sweep, with per-dtype tolerances.
//! (Helper-owned: implementation and tests.)

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics::Metrics;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Verdict of one pair (the book's Concepts chapter, "Verdicts", gives the rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// kv_aligned=1, all finite, within the equivalence tolerance.
    PassEquiv,
    /// kv_aligned=1, otherwise.
    FailEquiv,
    /// kv_aligned=0, all finite, within the drift envelope (zero drift included).
    ExpectedDrift,
    /// kv_aligned=0, drift outside the envelope or non-finite values.
    FailDrift,
    /// A run of the pair failed, crashed or timed out.
    Incomplete,
    /// The backend, device or dtype is not available here.
    Skipped,
}

impl Verdict {
    /// Every verdict, in report order.
    pub const ALL: [Verdict; 6] = [
        Verdict::PassEquiv,
        Verdict::FailEquiv,
        Verdict::ExpectedDrift,
        Verdict::FailDrift,
        Verdict::Incomplete,
        Verdict::Skipped,
    ];
    /// Name as printed in reports (`PASS_EQUIV`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::PassEquiv => "PASS_EQUIV",
            Verdict::FailEquiv => "FAIL_EQUIV",
            Verdict::ExpectedDrift => "EXPECTED_DRIFT",
            Verdict::FailDrift => "FAIL_DRIFT",
            Verdict::Incomplete => "INCOMPLETE",
            Verdict::Skipped => "SKIPPED",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Verdict of the whole sweep. The CLI's exit code follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GlobalVerdict {
    /// No FAIL_* and no INCOMPLETE.
    Pass,
    /// At least one FAIL_EQUIV or FAIL_DRIFT.
    Fail,
    /// No FAIL_*, at least one INCOMPLETE.
    Incomplete,
}

/// Bounds a pair must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Largest allowed max_abs_diff (`0` means bitwise).
    pub max_abs: f64,
    /// Smallest allowed top1_agreement.
    pub min_top1: f64,
}

/// Equivalence tolerance (kv_aligned=1) and drift envelope (kv_aligned=0) of one dtype.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DtypeTolerance {
    /// For kv_aligned=1 pairs.
    pub equiv: Envelope,
    /// For kv_aligned=0 pairs.
    pub drift: Envelope,
}

impl DtypeTolerance {
    /// Documented default tolerance of `dtype` (see the config reference in the book).
    ///
    /// Equivalence (kv_aligned=1) allows the reassociation noise of the dtype's arithmetic:
    /// the decode route multiplies one row at a time where the prefill multiplies a matrix,
    /// so summation order differs even with identical keys, and in a half-precision dtype one
    /// rounding flipped early is carried through every layer. The bounds are about twice the
    /// noise floor measured between two correct routes on SmolLM2-135M with seeded random
    /// prompts (logits of magnitude ~30): f32 max_abs_diff ~1e-4; bf16 (both routes
    /// accumulating in f32) max_abs_diff up to ~1.0 with top-1 agreement down to ~0.90; f16
    /// has 8× the precision of bf16, so ~0.15 (its prefill against an f32 prefill: 0.15,
    /// top-1 0.98). The drift envelope (kv_aligned=0) is wider but still catches a broken
    /// route, whose top-1 agreement collapses towards 1/vocab.
    pub fn default_for(dtype: Dtype) -> DtypeTolerance {
        let (equiv, drift) = match dtype {
            Dtype::F64 => ((1e-9, 1.0), (1e-6, 1.0)),
            Dtype::F32 => ((1e-3, 0.99), (1e-2, 0.98)),
            Dtype::F16 => ((0.25, 0.95), (2.0, 0.8)),
            Dtype::Bf16 => ((2.0, 0.85), (3.0, 0.75)),
        };
        DtypeTolerance {
            equiv: Envelope {
                max_abs: equiv.0,
                min_top1: equiv.1,
            },
            drift: Envelope {
                max_abs: drift.0,
                min_top1: drift.1,
            },
        }
    }
}

/// f32 ulps (at the pair's largest |logit|) an f64 pair whose logits crossed as f32 may be
/// apart on top of its f64 tolerance: each route's values were rounded to f32 once (half an
/// ulp each), so two routes that agree in f64 can land one ulp apart where they straddle a
/// rounding boundary; two leaves room for a value rounded across a binade.
pub const F32_TRANSPORT_ULPS: f64 = 2.0;

/// How an f64 pair whose logits crossed from the backend as f32 is judged: at f32-transport
/// precision. Its non-bitwise `max_abs` bounds are raised to [`F32_TRANSPORT_ULPS`] f32 ulps
/// at the pair's largest |logit| where they are below that (never lowered; a bitwise bound,
/// 0, stays bitwise: f32 values of equal f64 values are equal too), and so is a noise-floor
/// bound; `min_top1` is unchanged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct F32Transport {
    /// The largest finite |logit| of the pair (both routes).
    pub max_abs_logit: f64,
    /// The smallest `max_abs` bound at that scale: [`F32_TRANSPORT_ULPS`] ulps.
    pub bound: f64,
}

/// How a pair's logits crossed from the backend, when narrower than its dtype: an f64 pair
/// whose plugin handed its logits over as f32. Journaled with the pair (`transport`), so every
/// reader judges it again as the runner did ([`Transport::judgement`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Transport {
    /// The width the logits crossed in: `f32`.
    pub logits: Dtype,
    /// The largest finite |logit| of the pair (both routes): the scale of the f32 rounding.
    #[serde(with = "driftbench_core::float_serde")]
    pub max_abs_logit: f64,
}

impl Transport {
    /// An f64 pair whose logits crossed as f32, the largest |logit| `max_abs_logit`.
    pub fn f32(max_abs_logit: f64) -> Transport {
        Transport {
            logits: Dtype::F32,
            max_abs_logit,
        }
    }

    /// The f32-transport judgement of a pair of `dtype` that crossed so: `Some` for an f64
    /// pair whose logits crossed as f32, `None` otherwise (nothing to widen).
    pub fn judgement(&self, dtype: Dtype) -> Option<F32Transport> {
        (dtype == Dtype::F64 && self.logits == Dtype::F32)
            .then(|| F32Transport::at(self.max_abs_logit))
    }
}

impl F32Transport {
    /// The judgement of a pair whose largest finite |logit| is `max_abs_logit`.
    pub fn at(max_abs_logit: f64) -> F32Transport {
        F32Transport {
            max_abs_logit,
            bound: F32_TRANSPORT_ULPS * driftbench_core::logits::f32_ulp(max_abs_logit),
        }
    }

    /// `max_abs` raised to the transport bound, unless bitwise (0) or already above it.
    pub fn widen_bound(&self, max_abs: f64) -> f64 {
        if max_abs == 0.0 {
            0.0
        } else {
            max_abs.max(self.bound)
        }
    }

    /// `tol` with both envelopes' `max_abs` widened ([`F32Transport::widen_bound`]).
    pub fn widen(&self, tol: &DtypeTolerance) -> DtypeTolerance {
        let mut t = *tol;
        t.equiv.max_abs = self.widen_bound(t.equiv.max_abs);
        t.drift.max_abs = self.widen_bound(t.drift.max_abs);
        t
    }

    /// The label a pair judged so carries in its reason.
    pub fn note(&self) -> String {
        format!(
            "f64 logits crossed as f32 (plugin ABI v1.3 or older, or a session without f64 \
             routes): judged at f32-transport precision, max_abs bound at least {:.3e} \
             ({F32_TRANSPORT_ULPS} f32 ulps at |logit| {:.4})",
            self.bound, self.max_abs_logit
        )
    }
}

impl GlobalVerdict {
    /// Name as printed in reports: `"PASS"`, `"FAIL"`, `"INCOMPLETE"`.
    pub fn as_str(self) -> &'static str {
        match self {
            GlobalVerdict::Pass => "PASS",
            GlobalVerdict::Fail => "FAIL",
            GlobalVerdict::Incomplete => "INCOMPLETE",
        }
    }

    /// Process exit code of the CLI: PASS 0, FAIL 1, INCOMPLETE 3
    /// (2 is reserved for usage and input errors).
    pub fn exit_code(self) -> i32 {
        match self {
            GlobalVerdict::Pass => 0,
            GlobalVerdict::Fail => 1,
            GlobalVerdict::Incomplete => 3,
        }
    }
}

impl fmt::Display for GlobalVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Classify one pair from its metrics.
///
/// `kv_aligned = 1` uses the equivalence tolerance `tol.equiv`: [`Verdict::PassEquiv`] iff
/// all values are finite, `max_abs_diff <= max_abs` and `top1_agreement >= min_top1`, else
/// [`Verdict::FailEquiv`]. `kv_aligned = 0` uses the drift envelope `tol.drift`:
/// [`Verdict::ExpectedDrift`] under the same conditions (zero drift included), else
/// [`Verdict::FailDrift`]. Any non-zero `kv_aligned` is treated as aligned (the stricter
/// envelope).
///
/// Both bounds are inclusive; `max_abs = 0` means bitwise: a diff of `0.0` passes, any
/// positive diff fails. A NaN metric never satisfies a bound, and non-finite logits fail
/// the pair whatever the tolerance (infinite bounds included).
///
/// Returns the reason of a FAIL, naming every broken bound with its numbers, joined by
/// `"; "` (e.g. `"max_abs_diff 0.31 > 0.25 (f16 equiv)"`, `"top1_agreement 0.42 < 0.95
/// (f16 drift)"`, `"3 non-finite values in decode logits (NaN/Inf)"`); `None` on a pass.
pub fn classify(
    kv: KvMode,
    dtype: Dtype,
    m: &Metrics,
    tol: &DtypeTolerance,
) -> (Verdict, Option<String>) {
    let (env, kind, pass, fail) = if kv.is_aligned() {
        (&tol.equiv, "equiv", Verdict::PassEquiv, Verdict::FailEquiv)
    } else {
        (
            &tol.drift,
            "drift",
            Verdict::ExpectedDrift,
            Verdict::FailDrift,
        )
    };
    let mut reasons: Vec<String> = Vec::new();
    for (count, side) in [
        (m.nonfinite_prefill, "prefill"),
        (m.nonfinite_decode, "decode"),
    ] {
        if count > 0 {
            let noun = if count == 1 { "value" } else { "values" };
            reasons.push(format!(
                "{count} non-finite {noun} in {side} logits (NaN/Inf)"
            ));
        }
    }
    let bitwise = if env.max_abs == 0.0 { ", bitwise" } else { "" };
    // Comparisons are false for NaN, so a NaN metric is never within its bound.
    let within_max = m.max_abs_diff <= env.max_abs;
    let within_top1 = m.top1_agreement >= env.min_top1;
    if !within_max {
        if m.max_abs_diff.is_nan() {
            reasons.push(format!(
                "max_abs_diff is NaN (bound {}, {dtype} {kind}{bitwise})",
                env.max_abs
            ));
        } else {
            reasons.push(format!(
                "max_abs_diff {} > {} ({dtype} {kind}{bitwise})",
                m.max_abs_diff, env.max_abs
            ));
        }
    }
    if !within_top1 {
        // The positions that agree, exactly, rather than the fraction's 16 digits.
        let agree = (m.top1_agreement * m.positions as f64).round();
        reasons.push(format!(
            "top1_agreement {agree} of {} positions ({:.4}) < {} ({dtype} {kind})",
            m.positions, m.top1_agreement, env.min_top1
        ));
    }
    if reasons.is_empty() {
        (pass, None)
    } else {
        (fail, Some(reasons.join("; ")))
    }
}

/// Global verdict of a sweep: [`GlobalVerdict::Fail`] if any verdict is FAIL_EQUIV or
/// FAIL_DRIFT, else [`GlobalVerdict::Incomplete`] if any is INCOMPLETE, else
/// [`GlobalVerdict::Pass`] (SKIPPED pairs and an empty list are PASS).
pub fn global_verdict<I: IntoIterator<Item = Verdict>>(verdicts: I) -> GlobalVerdict {
    let mut incomplete = false;
    for v in verdicts {
        match v {
            Verdict::FailEquiv | Verdict::FailDrift => return GlobalVerdict::Fail,
            Verdict::Incomplete => incomplete = true,
            Verdict::PassEquiv | Verdict::ExpectedDrift | Verdict::Skipped => {}
        }
    }
    if incomplete {
        GlobalVerdict::Incomplete
    } else {
        GlobalVerdict::Pass
    }
}

/// Count of each verdict: every [`Verdict`] is listed (zero counts included), in
/// [`Verdict::ALL`] order.
pub fn count(verdicts: impl IntoIterator<Item = Verdict>) -> Vec<(Verdict, usize)> {
    let mut counts: Vec<(Verdict, usize)> = Verdict::ALL.iter().map(|&v| (v, 0)).collect();
    for v in verdicts {
        if let Some(slot) = counts.iter_mut().find(|(w, _)| *w == v) {
            slot.1 += 1;
        }
    }
    counts
}
