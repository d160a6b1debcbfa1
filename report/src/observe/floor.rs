//! Observations about the noise floor: which route loses precision against f64, and whether
//! the drift stays within the dtype's own noise.

use crate::format::{inline, sig2, times};
use crate::model::floor::FloorRow;
use crate::model::Observation;
use crate::stats::max_nan;
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_sweep::noise_floor::{ratio, FloorRule};
use driftbench_sweep::records::PairRecord;
use driftbench_sweep::verdict::Verdict;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A route whose error against f64 is at least this many times the other's is called out:
/// below it, two routes in one dtype differ by ordinary rounding luck.
pub const ROUTE_RATIO_NOTABLE: f64 = 4.0;

/// Pairs with a floor, grouped by (dtype, kv_aligned).
type Groups<'a> = BTreeMap<(Dtype, KvMode), Vec<&'a PairRecord>>;

fn groups<'a>(pairs: &[&'a PairRecord]) -> Groups<'a> {
    let mut g: Groups<'a> = BTreeMap::new();
    for p in pairs {
        if p.floor.is_some() && p.metrics.is_some() {
            g.entry((p.key.dtype, p.key.kv_aligned))
                .or_default()
                .push(p);
        }
    }
    g
}

/// Every noise-floor observation of one backend; `rule` is the sweep's (the default when
/// the journal does not say).
pub fn generate(pairs: &[&PairRecord], rows: &[FloorRow], rule: FloorRule) -> Vec<Observation> {
    let g = groups(pairs);
    let mut out = Vec::new();
    if g.is_empty() {
        not_measured(rows, &mut out);
        return out;
    }
    route_precision(&g, &mut out);
    within_noise(&g, rule, &mut out);
    out
}

fn not_measured(rows: &[FloorRow], out: &mut Vec<Observation>) {
    let mut why: Vec<&str> = Vec::new();
    for r in rows {
        if let Some(w) = r.why_missing.as_deref() {
            if !why.contains(&w) {
                why.push(w);
            }
        }
    }
    if why.is_empty() {
        return; // no measured pair at all: nothing to judge
    }
    out.push(Observation {
        title: "Noise Floor Not Measured".to_string(),
        body: format!(
            "No pair has its routes compared with f64, so drift cannot be set against the \
             dtype's own noise: {}.",
            inline(&why.join("; "))
        ),
    });
}

/// (a): one route's error against f64 ≥ [`ROUTE_RATIO_NOTABLE`]× the other's.
fn route_precision(g: &Groups<'_>, out: &mut Vec<Observation>) {
    let mut body = String::new();
    let mut kv0 = false;
    for ((dtype, kv), ps) in g {
        let floors = ps.iter().filter_map(|p| p.floor.as_ref());
        let pre = max_nan(
            &floors
                .clone()
                .map(|f| f.prefill.max_abs_diff)
                .collect::<Vec<_>>(),
        );
        let dec = max_nan(&floors.map(|f| f.decode.max_abs_diff).collect::<Vec<_>>());
        let Some(r) = ratio(dec, pre).filter(|r| r.is_finite() || *r == f64::INFINITY) else {
            continue;
        };
        let (worse, better, w, b, x) = if r >= ROUTE_RATIO_NOTABLE {
            ("decode", "prefill", dec, pre, r)
        } else if r > 0.0 && 1.0 / r >= ROUTE_RATIO_NOTABLE {
            ("prefill", "decode", pre, dec, 1.0 / r)
        } else {
            continue;
        };
        kv0 |= !kv.is_aligned();
        let mut verdicts: BTreeMap<Verdict, usize> = BTreeMap::new();
        for p in ps {
            *verdicts.entry(p.verdict).or_default() += 1;
        }
        let counts: Vec<String> = verdicts.iter().map(|(v, n)| format!("{n} {v}")).collect();
        let _ = write!(
            body,
            "\n- **{dtype} kv_aligned={kv}**: {worse}'s error against f64 is {} {better}'s \
             ({} vs {}): the drift is the {worse} route losing precision, not the dtype's \
             noise ({} of {} pair(s))",
            times(Some(x)),
            sig2(w),
            sig2(b),
            counts.join(", "),
            ps.len()
        );
    }
    if body.is_empty() {
        return;
    }
    let mut text = format!(
        "Each route's largest max_abs_diff against the same route in f64, per dtype and KV \
         layout, where one is at least {ROUTE_RATIO_NOTABLE}× the other:\n{body}"
    );
    if kv0 {
        text.push_str(
            "\n\nThe f64 decode uses the aligned cache, so a kv_aligned=0 decode's error \
             includes its layout's own drift.",
        );
    }
    out.push(Observation {
        title: "One Route Loses Precision against f64".to_string(),
        body: text,
    });
}

/// (b): the drift as a multiple of the floor, against `k`.
fn within_noise(g: &Groups<'_>, rule: FloorRule, out: &mut Vec<Observation>) {
    let k = rule.k;
    let mut body = format!(
        "Largest prefill/decode max_abs_diff as a multiple of its pair's noise floor (the \
         smaller route error against f64); within k = {k} it is the dtype's own rounding \
         (tolerance mode {}):\n",
        rule.mode
    );
    for ((dtype, kv), ps) in g {
        let worst = ps
            .iter()
            .filter_map(|p| {
                let m = p.metrics.as_ref()?;
                Some((p, p.floor.as_ref()?.multiple(m.max_abs_diff)?))
            })
            .max_by(|a, b| crate::stats::cmp_nan_high(a.1, b.1));
        let line = match worst {
            None => "no drift and no error against f64 (bitwise)".to_string(),
            Some((_, x)) if x.is_nan() => {
                "NaN: a route produced non-finite values, the floor says nothing".to_string()
            }
            Some((_, 0.0)) => {
                "no drift: the routes agree exactly, whatever their error against f64".to_string()
            }
            Some((_, x)) if x <= k => format!(
                "within the dtype's noise: drift ≤ {} the floor",
                times(Some(x))
            ),
            Some((p, x)) => format!(
                "**beyond the dtype's noise**: drift up to {} the floor (span {}, seed {})",
                times(Some(x)),
                p.key.span,
                p.key.seed
            ),
        };
        let _ = write!(body, "\n- **{dtype} kv_aligned={kv}**: {line}");
    }
    out.push(Observation {
        title: "Drift against the Noise Floor".to_string(),
        body,
    });
}
