//! Findings written from the data of one backend, each a short titled paragraph.

pub(crate) mod floor;
pub(crate) mod pairs;

use crate::format::{diff, inline, top1};
use crate::model::Observation;
use crate::stats::{cmp_nan_high, cmp_nan_low, mean};
use driftbench_core::dtype::Dtype;
use driftbench_core::metrics::Metrics;
use driftbench_sweep::records::{BackendEntry, PairRecord};
use driftbench_sweep::verdict::Verdict;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Every observation for one backend's pairs (sorted by key), in report order.
pub fn generate(
    pairs: &[&PairRecord],
    entry: Option<&BackendEntry>,
    block_size: Option<usize>,
) -> Vec<Observation> {
    let mut out = Vec::new();
    availability(entry, pairs, &mut out);
    let measured: Vec<(&PairRecord, &Metrics)> = pairs
        .iter()
        .filter_map(|p| p.metrics.as_ref().map(|m| (*p, m)))
        .collect();
    let kv0: Vec<_> = measured
        .iter()
        .copied()
        .filter(|(p, _)| !p.key.kv_aligned.is_aligned())
        .collect();
    let kv1: Vec<_> = measured
        .iter()
        .copied()
        .filter(|(p, _)| p.key.kv_aligned.is_aligned())
        .collect();
    let unmeasured_kv0 = pairs
        .iter()
        .filter(|p| !p.key.kv_aligned.is_aligned() && p.metrics.is_none())
        .count();
    let padding = entry
        .and_then(|e| e.probe.as_ref())
        .and_then(|p| p.kv_padding.clone());
    let layout = padding.unwrap_or_else(|| {
        block_size.map_or_else(
            || "block-padded KV cache".to_string(),
            |b| format!("KV cache padded to blocks of {b}"),
        )
    });
    drift_observed(&kv0, unmeasured_kv0, &layout, &mut out);
    equivalence(&kv1, &mut out);
    nonfinite(&measured, &mut out);
    failures(pairs, &mut out);
    grouped(pairs, Verdict::Incomplete, "Incomplete Pairs", &mut out);
    grouped(pairs, Verdict::Skipped, "Skipped Pairs", &mut out);
    drift_vs_span(&kv0, &mut out);
    out
}

fn obs(out: &mut Vec<Observation>, title: impl Into<String>, body: String) {
    out.push(Observation {
        title: title.into(),
        body,
    });
}

/// `span 128, f16, kv_aligned=0, seed 1`.
fn at(p: &PairRecord) -> String {
    format!(
        "span {}, {}, kv_aligned={}, seed {}",
        p.key.span, p.key.dtype, p.key.kv_aligned, p.key.seed
    )
}

/// Bitwise-identical logits: no diff at all and every argmax agrees.
fn identical(m: &Metrics) -> bool {
    m.all_finite() && m.max_abs_diff == 0.0 && m.top1_agreement == 1.0
}

fn slash_list<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("/")
}

fn availability(entry: Option<&BackendEntry>, pairs: &[&PairRecord], out: &mut Vec<Observation>) {
    if let Some(e) = entry {
        if let Some(err) = &e.error {
            obs(
                out,
                "Backend Failed to Load",
                format!(
                    "The backend could not be loaded ({}): {}",
                    inline(&e.source),
                    inline(err)
                ),
            );
        } else if let Some(why) = e.probe.as_ref().and_then(|p| p.unavailable.as_ref()) {
            obs(
                out,
                "Backend Unavailable",
                format!(
                    "The probe reports the backend unavailable here: {}",
                    inline(why)
                ),
            );
        }
    }
    if pairs.is_empty() {
        obs(
            out,
            "No Pairs Classified",
            "The journal holds no verdict for this backend: no pair was run to completion."
                .to_string(),
        );
    }
}

fn drift_observed(
    kv0: &[(&PairRecord, &Metrics)],
    unmeasured: usize,
    layout: &str,
    out: &mut Vec<Observation>,
) {
    if kv0.is_empty() {
        return;
    }
    let note = if unmeasured > 0 {
        format!(
            "\n\n{unmeasured} other kv_aligned=0 pair(s) produced no metrics (see the \
             skipped and incomplete pairs below)."
        )
    } else {
        String::new()
    };
    if kv0.iter().all(|(_, m)| identical(m)) {
        let spans: BTreeSet<usize> = kv0.iter().map(|(p, _)| p.key.span).collect();
        let dtypes: BTreeSet<Dtype> = kv0.iter().map(|(p, _)| p.key.dtype).collect();
        let layout = inline(layout);
        let body = format!(
            "In this sweep, **kv_aligned=0** produced identical logits (max_abs_diff=0.0, \
             top1=1.0) for all spans ({}) and dtypes ({}): {} pair(s).\n\n\
             **Interpretation:**\n\n\
             - The drift permitted by contract for kv_aligned=0 ({layout}) was **not observed**: \
             the prefill and decode routes are numerically equivalent for this model/config\n\
             - These pairs count as EXPECTED_DRIFT because drift was allowed, not because it \
             happened{note}",
            slash_list(spans),
            slash_list(dtypes),
            kv0.len(),
        );
        obs(
            out,
            "kv_aligned=0 Produced Identical Logits (diff=0.0)",
            body,
        );
        return;
    }
    let drifting = kv0.iter().filter(|(_, m)| !identical(m)).count();
    let mut body = format!(
        "Prefill and decode logits differ in {drifting} of {} kv_aligned=0 pair(s). \
         Per dtype:\n",
        kv0.len()
    );
    let mut by_dtype: BTreeMap<Dtype, Vec<(&PairRecord, &Metrics)>> = BTreeMap::new();
    for &(p, m) in kv0 {
        by_dtype.entry(p.key.dtype).or_default().push((p, m));
    }
    for (dtype, ps) in by_dtype {
        let (pmax, mmax) = ps
            .iter()
            .max_by(|a, b| cmp_nan_high(a.1.max_abs_diff, b.1.max_abs_diff))
            .expect("non-empty group");
        // NaN top-1 ranks lowest so it surfaces.
        let (pmin, mmin) = ps
            .iter()
            .min_by(|a, b| cmp_nan_low(a.1.top1_agreement, b.1.top1_agreement))
            .expect("non-empty group");
        let within = ps
            .iter()
            .filter(|(p, _)| p.verdict == Verdict::ExpectedDrift)
            .count();
        let _ = write!(
            body,
            "\n- **{dtype}**: largest max_abs_diff {} ({}); lowest top1_agreement {} ({}); \
             {within} of {} within the drift envelope",
            diff(mmax.max_abs_diff),
            at(pmax),
            top1(mmin.top1_agreement),
            at(pmin),
            ps.len()
        );
    }
    body.push_str(&note);
    obs(out, "kv_aligned=0 Drift Observed", body);
}

fn equivalence(kv1: &[(&PairRecord, &Metrics)], out: &mut Vec<Observation>) {
    if kv1.is_empty() {
        return;
    }
    let n = kv1.len();
    let bitwise = kv1.iter().filter(|(_, m)| identical(m)).count();
    if bitwise == n {
        obs(
            out,
            "kv_aligned=1 Bitwise Identical",
            format!(
                "All {n} kv_aligned=1 pair(s) produced bitwise identical logits \
                 (max_abs_diff=0.0, top1=1.0)."
            ),
        );
        return;
    }
    let pass = kv1
        .iter()
        .filter(|(p, _)| p.verdict == Verdict::PassEquiv)
        .count();
    let (p, m) = kv1
        .iter()
        .max_by(|a, b| cmp_nan_high(a.1.max_abs_diff, b.1.max_abs_diff))
        .expect("non-empty");
    let bound = p
        .envelope
        .map(|e| format!(" (tolerance max_abs {})", e.max_abs))
        .unwrap_or_default();
    let (title, verb) = if pass == n {
        ("kv_aligned=1 Within Tolerance (Not Bitwise)", "all within")
    } else {
        ("kv_aligned=1 Equivalence Broken", "not all within")
    };
    obs(
        out,
        title,
        format!(
            "{bitwise} of {n} kv_aligned=1 pair(s) are bitwise identical; {pass} of {n} \
             pass ({verb} the equivalence tolerance). Largest max_abs_diff {} at {}{bound}.",
            diff(m.max_abs_diff),
            at(p)
        ),
    );
}

fn nonfinite(measured: &[(&PairRecord, &Metrics)], out: &mut Vec<Observation>) {
    if measured.is_empty() {
        return;
    }
    let bad: Vec<_> = measured
        .iter()
        .filter(|(_, m)| {
            !m.all_finite()
                || !m.max_abs_diff.is_finite()
                || !m.p99_abs_diff.is_finite()
                || !m.mean_abs_diff.is_finite()
        })
        .collect();
    if bad.is_empty() {
        obs(
            out,
            "All Logits Finite",
            format!(
                "No NaN or Inf in the logits of any of the {} compared pair(s).",
                measured.len()
            ),
        );
        return;
    }
    let mut body = format!(
        "{} pair(s) hold NaN/Inf values; a non-finite value fails its pair whatever the \
         tolerance:\n",
        bad.len()
    );
    for (p, m) in bad {
        let _ = write!(
            body,
            "\n- {}: {} non-finite in prefill, {} in decode; max_abs_diff {} — {}",
            at(p),
            m.nonfinite_prefill,
            m.nonfinite_decode,
            diff(m.max_abs_diff),
            p.verdict
        );
    }
    obs(out, "Non-finite Values (NaN/Inf)", body);
}

fn failures(pairs: &[&PairRecord], out: &mut Vec<Observation>) {
    let failed: Vec<_> = pairs
        .iter()
        .filter(|p| matches!(p.verdict, Verdict::FailEquiv | Verdict::FailDrift))
        .collect();
    if failed.is_empty() {
        return;
    }
    let mut body = format!("{} pair(s) failed:\n", failed.len());
    for p in failed {
        let _ = write!(
            body,
            "\n- **{}** {}: {}",
            p.verdict,
            at(p),
            inline(p.reason.as_deref().unwrap_or("(no reason recorded)"))
        );
    }
    obs(out, "Failures", body);
}

/// Pairs with verdict `v`, grouped by reason (first-seen order).
fn grouped(pairs: &[&PairRecord], v: Verdict, title: &str, out: &mut Vec<Observation>) {
    let mut groups: Vec<(String, Vec<&PairRecord>)> = Vec::new();
    for p in pairs.iter().filter(|p| p.verdict == v) {
        let reason = inline(p.reason.as_deref().unwrap_or("(no reason recorded)"));
        match groups.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, ps)) => ps.push(p),
            None => groups.push((reason, vec![p])),
        }
    }
    if groups.is_empty() {
        return;
    }
    let total: usize = groups.iter().map(|(_, ps)| ps.len()).sum();
    let mut body = format!("{total} pair(s) are {v}, by reason:\n");
    for (reason, ps) in groups {
        let which: Vec<String> = ps.iter().map(|p| at(p)).collect();
        let _ = write!(
            body,
            "\n- {reason} — {} pair(s): {}",
            ps.len(),
            which.join("; ")
        );
    }
    obs(out, title, body);
}

fn drift_vs_span(kv0: &[(&PairRecord, &Metrics)], out: &mut Vec<Observation>) {
    let mut by: BTreeMap<Dtype, BTreeMap<usize, Vec<f64>>> = BTreeMap::new();
    for (p, m) in kv0 {
        by.entry(p.key.dtype)
            .or_default()
            .entry(p.key.span)
            .or_default()
            .push(m.max_abs_diff);
    }
    if by.values().all(|spans| spans.len() < 2) {
        return; // one span per dtype: nothing to compare
    }
    let mut body =
        "Mean max_abs_diff of kv_aligned=0 pairs per span, for each dtype:\n".to_string();
    for (dtype, spans) in by {
        let means: Vec<(usize, f64)> = spans.iter().map(|(s, v)| (*s, mean(v))).collect();
        let series = means
            .iter()
            .map(|(s, m)| format!("{s} → {}", diff(*m)))
            .collect::<Vec<_>>()
            .join(", ");
        let verdict = if means.len() < 2 {
            "single span".to_string()
        } else if means.iter().any(|(_, m)| !m.is_finite()) {
            "non-finite at some span, trend undefined".to_string()
        } else if means.iter().all(|(_, m)| *m == 0.0) {
            "no drift at any span".to_string()
        } else if means.windows(2).all(|w| w[1].1 >= w[0].1)
            && means.last().map(|l| l.1) > means.first().map(|f| f.1)
        {
            "**grows with span**".to_string()
        } else {
            "does not grow monotonically with span".to_string()
        };
        let _ = write!(body, "\n- **{dtype}**: {series}: {verdict}");
    }
    obs(out, "Drift vs Span", body);
}
