//! Verdicts per pair and for the whole sweep, with per-dtype tolerances.
//! (Helper-owned: implementation and tests.)

use crate::{Dtype, Metrics};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Verdict of one pair (see DESIGN.md).
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
    /// so summation order differs even with identical keys. The drift envelope is wider but
    /// still catches a broken route (a collapsed top-1, runaway error).
    pub fn default_for(dtype: Dtype) -> DtypeTolerance {
        let (equiv, drift) = match dtype {
            Dtype::F64 => ((1e-9, 1.0), (1e-6, 1.0)),
            Dtype::F32 => ((1e-3, 1.0), (1e-2, 0.99)),
            Dtype::F16 => ((0.25, 0.97), (0.5, 0.95)),
            Dtype::Bf16 => ((1.0, 0.95), (2.0, 0.9)),
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
