//! Building the noise-floor rows of a backend and the f64 reference rows of the sweep.

use crate::model::floor::{FloorDtypeRow, FloorRow, ReferenceRow};
use crate::stats::{max_nan, percentile_nearest_rank};
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics::Metrics;
use driftbench_sweep::identity::split_instance;
use driftbench_sweep::noise_floor::{ratio, NoiseFloor};
use driftbench_sweep::records::{PairRecord, ReferenceRecord, SweepHeader};
use std::collections::BTreeMap;

/// The f64 reference records of a journal by (span, seed); the last one wins.
/// The f64 references by (machine, span, seed): the machine of a merged journal's instance
/// (`cpu@h100`), empty in a sweep's own journal.
pub(crate) type Refs<'a> = BTreeMap<(&'a str, usize, u64), &'a ReferenceRecord>;

/// The key of `backend`'s reference of (span, seed) in [`Refs`].
pub(crate) fn ref_key(backend: &str, span: usize, seed: u64) -> (&str, usize, u64) {
    (split_instance(backend).1.unwrap_or(""), span, seed)
}

/// Largest value, NaN surfacing; `None` for no value.
fn opt_max(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| max_nan(v))
}

/// Why a pair of (span, seed) has metrics but no floor.
fn why_missing(header: Option<&SweepHeader>, refs: &Refs<'_>, p: &PairRecord) -> String {
    let (span, seed) = (p.key.span, p.key.seed);
    let rec = refs.get(&ref_key(&p.key.backend, span, seed));
    if let Some(e) = rec.and_then(|r| r.error.as_deref()) {
        return e.to_string();
    }
    match header.and_then(|h| h.reference.as_ref()) {
        Some(i) if !i.noise_floor => "noise floor off".to_string(),
        None if refs.is_empty() => "noise floor off (the journal holds no f64 reference)".into(),
        _ if rec.is_some() => format!(
            "the f64 reference of span {span}, seed {seed} exists but this pair was not compared \
             with it"
        ),
        _ => format!("no f64 reference recorded for span {span}, seed {seed}"),
    }
}

/// One row per (span, dtype, kv_aligned) with measured pairs, in key order.
pub(crate) fn rows(
    pairs: &[&PairRecord],
    header: Option<&SweepHeader>,
    refs: &Refs<'_>,
) -> Vec<FloorRow> {
    type Group<'a> = Vec<(&'a PairRecord, &'a Metrics)>;
    let mut groups: BTreeMap<(usize, Dtype, KvMode), Group<'_>> = BTreeMap::new();
    for p in pairs {
        if let Some(m) = &p.metrics {
            groups
                .entry((p.key.span, p.key.dtype, p.key.kv_aligned))
                .or_default()
                .push((p, m));
        }
    }
    groups
        .into_iter()
        .map(|((span, dtype, kv_aligned), ps)| {
            let with: Vec<(&NoiseFloor, &Metrics)> = ps
                .iter()
                .filter_map(|(p, m)| p.floor.as_deref().map(|f| (f, *m)))
                .collect();
            let col = |f: &dyn Fn(&NoiseFloor, &Metrics) -> Option<f64>| {
                opt_max(
                    &with
                        .iter()
                        .filter_map(|(fl, m)| f(fl, m))
                        .collect::<Vec<_>>(),
                )
            };
            let prefill_err = col(&|f, _| Some(f.prefill.max_abs_diff));
            let decode_err = col(&|f, _| Some(f.decode.max_abs_diff));
            let mut reasons: Vec<String> = Vec::new();
            for (p, _) in ps.iter().filter(|(p, _)| p.floor.is_none()) {
                let why = why_missing(header, refs, p);
                if !reasons.contains(&why) {
                    reasons.push(why);
                }
            }
            let drift: Vec<f64> = ps.iter().map(|(_, m)| m.max_abs_diff).collect();
            FloorRow {
                span,
                dtype,
                kv_aligned,
                prefill_err,
                decode_err,
                route_ratio: prefill_err.zip(decode_err).and_then(|(p, d)| ratio(d, p)),
                drift: opt_max(&drift),
                multiple: col(&|f, m| f.multiple(m.max_abs_diff)),
                prefill_kl_max: col(&|f, _| f.prefill.kl_max),
                decode_kl_max: col(&|f, _| f.decode.kl_max),
                samples: with.len(),
                missing: ps.len() - with.len(),
                why_missing: (!reasons.is_empty()).then(|| reasons.join("; ")),
            }
        })
        .collect()
}

/// One row per dtype over every pair with a floor.
pub(crate) fn summary(pairs: &[&PairRecord]) -> Vec<FloorDtypeRow> {
    let mut groups: BTreeMap<Dtype, Vec<(&NoiseFloor, &Metrics)>> = BTreeMap::new();
    for p in pairs {
        if let (Some(f), Some(m)) = (&p.floor, &p.metrics) {
            groups.entry(p.key.dtype).or_default().push((f, m));
        }
    }
    groups
        .into_iter()
        .map(|(dtype, fs)| {
            let pre: Vec<f64> = fs.iter().map(|(f, _)| f.prefill.max_abs_diff).collect();
            let dec: Vec<f64> = fs.iter().map(|(f, _)| f.decode.max_abs_diff).collect();
            let mult: Vec<f64> = fs
                .iter()
                .filter_map(|(f, m)| f.multiple(m.max_abs_diff))
                .collect();
            FloorDtypeRow {
                dtype,
                prefill_median: percentile_nearest_rank(&pre, 50.0),
                prefill_max: max_nan(&pre),
                decode_median: percentile_nearest_rank(&dec, 50.0),
                decode_max: max_nan(&dec),
                multiple_max: opt_max(&mult),
                samples: fs.len(),
            }
        })
        .collect()
}

/// The f64 reference runs, by (machine, span, seed).
pub(crate) fn references(refs: &Refs<'_>) -> Vec<ReferenceRow> {
    refs.values()
        .map(|r| ReferenceRow {
            backend: r.backend.clone(),
            span: r.span,
            seed: r.seed,
            max_abs: r.metrics.as_ref().map(|m| m.max_abs_diff),
            kl_max: r.metrics.as_ref().and_then(|m| m.kl_max),
            prefill_wall_s: r.prefill_wall_s,
            decode_wall_s: r.decode_wall_s,
            load_s: r.load_s,
            error: r.error.clone(),
            peak_rss_bytes: r.peak_rss_bytes,
        })
        .collect()
}
