//! The measured noise floor: each route of a pair against the same route computed in f64,
//! and a tolerance mode that judges prefill/decode drift against that floor.
//!
//! A dtype's own rounding sets how far two correct routes may drift apart. The floor of a
//! pair is the smaller of its two routes' errors against f64 (what this dtype achieves on this
//! backend); drift within `k ×` the floor is rounding noise, drift beyond it means one route
//! loses precision the other keeps, which is worth a look even when the fixed tolerance
//! passes. The larger route error over the smaller says which route that is.

use crate::verdict::DtypeTolerance;
use crate::verdict::F32Transport;
use crate::verdict::Verdict;
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics::Metrics;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The f64 reference logits of a pair's (span, seed), or why there are none.
#[derive(Debug, Clone, Copy)]
pub enum FloorRef<'a> {
    /// The reference routes' logits, computed in f64 and kept as f64 (f32 values widened
    /// where the reference backend hands its f64 logits over as f32).
    Logits {
        /// What computed them, e.g. `flex f64`.
        label: &'a str,
        /// f64 prefill.
        prefill: &'a [f64],
        /// f64 decode, aligned KV cache.
        decode: &'a [f64],
    },
    /// Not measured, and why.
    Missing(&'a str),
}

/// Default `k` of the noise-floor tolerance: by the triangle inequality two routes that each
/// stay within the floor of f64 differ by at most 2× the floor; 4 leaves room for the f64
/// runs' own rounding to f32 and for seed-to-seed spread.
pub const DEFAULT_FLOOR_K: f64 = 4.0;

/// How drift is judged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToleranceMode {
    /// The per-dtype `max_abs` and `min_top1` bounds of the config (the default).
    #[default]
    Fixed,
    /// `max_abs_diff ≤ k × floor` replaces the fixed `max_abs`; `min_top1` still applies.
    NoiseFloor,
    /// Both the fixed bounds and the floor bound.
    Both,
}

impl ToleranceMode {
    /// Name as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            ToleranceMode::Fixed => "fixed",
            ToleranceMode::NoiseFloor => "noise_floor",
            ToleranceMode::Both => "both",
        }
    }

    /// Parse a config value.
    pub fn parse(s: &str) -> Option<ToleranceMode> {
        match s {
            "fixed" => Some(ToleranceMode::Fixed),
            "noise_floor" => Some(ToleranceMode::NoiseFloor),
            "both" => Some(ToleranceMode::Both),
            _ => None,
        }
    }

    /// Whether the noise floor takes part in verdicts.
    pub fn uses_floor(self) -> bool {
        self != ToleranceMode::Fixed
    }
}

impl fmt::Display for ToleranceMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tolerance rule of a sweep: mode and `k`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FloorRule {
    /// How drift is judged.
    pub mode: ToleranceMode,
    /// Drift may reach `k ×` the floor.
    pub k: f64,
}

impl Default for FloorRule {
    fn default() -> Self {
        FloorRule {
            mode: ToleranceMode::Fixed,
            k: DEFAULT_FLOOR_K,
        }
    }
}

/// One pair's routes against the f64 reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseFloor {
    /// What computed the reference, e.g. `flex f64`.
    pub reference: String,
    /// The prefill route (reference on the "prefill" side of the metrics) against the f64
    /// prefill.
    pub prefill: Metrics,
    /// The decode route against the f64 decode (aligned KV cache).
    pub decode: Metrics,
}

impl NoiseFloor {
    /// The floor: the smaller of the two routes' max_abs errors against f64. NaN when either
    /// is NaN.
    pub fn floor(&self) -> f64 {
        let (p, d) = (self.prefill.max_abs_diff, self.decode.max_abs_diff);
        if p.is_nan() || d.is_nan() {
            f64::NAN
        } else {
            p.min(d)
        }
    }

    /// Decode's error over prefill's (> 1: decode is the less accurate route). `None` when
    /// both are exact.
    pub fn route_ratio(&self) -> Option<f64> {
        ratio(self.decode.max_abs_diff, self.prefill.max_abs_diff)
    }

    /// `drift` as a multiple of the floor; `None` when both are zero.
    pub fn multiple(&self, drift: f64) -> Option<f64> {
        ratio(drift, self.floor())
    }
}

/// `a / b` where `0 / 0` is `None` (nothing to compare) and `x / 0` is `+inf`.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    if a == 0.0 && b == 0.0 {
        None
    } else if b == 0.0 && !a.is_nan() {
        Some(f64::INFINITY)
    } else {
        Some(a / b)
    }
}

/// Classify a pair by `rule`: [`crate::verdict::classify`] for the fixed bounds, and the floor
/// bound `max_abs_diff ≤ k × floor` when the mode uses it. `floor` is `Err(why)` when the
/// floor was not measured; a mode that needs it then gives [`Verdict::Incomplete`].
pub fn classify_with_floor(
    kv: KvMode,
    dtype: Dtype,
    m: &Metrics,
    tol: &DtypeTolerance,
    rule: &FloorRule,
    floor: Result<&NoiseFloor, &str>,
) -> (Verdict, Option<String>) {
    classify_transported(kv, dtype, m, tol, rule, floor, None)
}

/// [`classify_with_floor`] of a pair whose logits crossed as `transport` describes: with
/// `Some`, an f64 pair whose logits crossed as f32, judged at f32-transport precision (its
/// `max_abs` bounds widened by [`F32Transport`]) and labelled so in its reason, on a pass
/// too.
pub fn classify_transported(
    kv: KvMode,
    dtype: Dtype,
    m: &Metrics,
    tol: &DtypeTolerance,
    rule: &FloorRule,
    floor: Result<&NoiseFloor, &str>,
    transport: Option<&F32Transport>,
) -> (Verdict, Option<String>) {
    let (verdict, reason) = classify_floor_at(kv, dtype, m, tol, rule, floor, transport);
    match transport {
        None => (verdict, reason),
        Some(t) => {
            let note = t.note();
            let reason = match reason {
                Some(r) => format!("{r}; {note}"),
                None => note,
            };
            (verdict, Some(reason))
        }
    }
}

/// The verdict of [`classify_transported`] before its label.
fn classify_floor_at(
    kv: KvMode,
    dtype: Dtype,
    m: &Metrics,
    tol: &DtypeTolerance,
    rule: &FloorRule,
    floor: Result<&NoiseFloor, &str>,
    transport: Option<&F32Transport>,
) -> (Verdict, Option<String>) {
    let widened = transport.map(|t| t.widen(tol));
    let tol = widened.as_ref().unwrap_or(tol);
    let fixed = crate::verdict::classify(kv, dtype, m, tol);
    if !rule.mode.uses_floor() {
        return fixed;
    }
    let floor = match floor {
        Ok(f) => f,
        Err(why) => {
            return (
                Verdict::Incomplete,
                Some(format!(
                    "tolerance_mode {} needs the noise floor, which was not measured: {why}",
                    rule.mode
                )),
            )
        }
    };
    let (pass, fail) = if kv.is_aligned() {
        (Verdict::PassEquiv, Verdict::FailEquiv)
    } else {
        (Verdict::ExpectedDrift, Verdict::FailDrift)
    };
    // In noise_floor mode the fixed max_abs bound is replaced: judge the rest with an
    // unbounded max_abs.
    let rest = if rule.mode == ToleranceMode::NoiseFloor {
        let mut t = *tol;
        t.equiv.max_abs = f64::INFINITY;
        t.drift.max_abs = f64::INFINITY;
        crate::verdict::classify(kv, dtype, m, &t)
    } else {
        fixed
    };
    let mut reasons: Vec<String> = rest.1.into_iter().collect();
    let bound = rule.k * floor.floor();
    // An f32-transport pair's floor is itself f32 rounding: never below the transport bound
    // (NaN stays NaN and fails).
    let bound = match transport {
        Some(t) if !bound.is_nan() => bound.max(t.bound),
        _ => bound,
    };
    // A NaN bound or drift never passes: `<=` is false for NaN.
    let within = m.max_abs_diff <= bound;
    if !within {
        reasons.push(format!(
            "max_abs_diff {} > {} × noise floor {} ({dtype}; prefill vs f64 {}, decode vs f64 {})",
            m.max_abs_diff,
            rule.k,
            floor.floor(),
            floor.prefill.max_abs_diff,
            floor.decode.max_abs_diff
        ));
    }
    if reasons.is_empty() {
        (pass, None)
    } else {
        (fail, Some(reasons.join("; ")))
    }
}
