//! Building a [`Report`] from the records of a journal.

mod date;
mod floor;
mod latency;
mod merge;
mod required;
mod spread;

use crate::model::*;
use crate::observe as observations;
use crate::observe::floor as obs_floor;
use crate::observe::pairs as obs_pairs;
use crate::stats::{max_nan, mean, min_nan, percentile_nearest_rank};
pub use date::format_utc;
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::route::Route;
use driftbench_sweep::audit::{audit, describe_missing, Audit};
use driftbench_sweep::records::{
    CrossRecord, PairKey, PairRecord, Record, RunRecord, RunStatus, SessionRecord, SummaryRecord,
    SweepHeader, WarmupRecord, SCHEMA_VERSION,
};
use driftbench_sweep::verdict::GlobalVerdict;
use driftbench_sweep::verdict::Verdict;
use driftbench_sweep::verdict::{count, global_verdict};
use std::collections::{BTreeMap, BTreeSet};

/// Placeholder where the journal does not say (no sweep header).
const UNKNOWN: &str = "unknown";

impl Report {
    /// Build the report of a sweep from its journal records, in journal order.
    ///
    /// Every pair's verdict is derived from its evidence ([`audit`]): a pair identity
    /// journaled twice counts once, and what the evidence contradicts is a gap. A journal
    /// without a sweep header still renders, with "unknown" placeholders.
    pub fn from_records(records: &[Record]) -> Report {
        let audited = audit(records);
        let mut header: Option<&SweepHeader> = None;
        let mut order: Vec<String> = Vec::new();
        let mut sessions: Vec<&SessionRecord> = Vec::new();
        let mut runs: Vec<&RunRecord> = Vec::new();
        let mut warmups: Vec<&WarmupRecord> = Vec::new();
        let mut pairs: BTreeMap<&PairKey, &PairRecord> = BTreeMap::new();
        let mut crosses: BTreeMap<(&PairKey, &str, Route), &CrossRecord> = BTreeMap::new();
        let mut refs: floor::Refs<'_> = BTreeMap::new();
        let mut summaries: Vec<&SummaryRecord> = Vec::new();
        let seen = |name: &str, order: &mut Vec<String>| {
            if !order.iter().any(|n| n == name) {
                order.push(name.to_string());
            }
        };
        for rec in records {
            match rec {
                Record::Sweep(h) => {
                    // The first header is the journal's (a second one is a finding).
                    header = header.or(Some(h));
                    for b in &h.backends {
                        seen(&b.name, &mut order);
                    }
                }
                Record::Session(s) => {
                    seen(&s.backend, &mut order);
                    sessions.push(s);
                }
                Record::Warmup(w) => {
                    seen(&w.backend, &mut order);
                    warmups.push(w);
                }
                Record::Run(r) => {
                    seen(&r.key.backend, &mut order);
                    runs.push(r);
                }
                Record::Pair(p) => seen(&p.key.backend, &mut order),
                Record::Cross(c) => {
                    crosses.insert((&c.key, c.reference.as_str(), c.route), c);
                }
                Record::Reference(r) => {
                    refs.insert(floor::ref_key(&r.backend, r.span, r.seed), r);
                }
                Record::Summary(s) => summaries.push(s),
            }
        }

        for p in &audited.pairs {
            pairs.insert(&p.key, p);
        }
        let backends: Vec<BackendReport> = order
            .iter()
            .map(|name| {
                // BTreeMap order is (backend, span, dtype, kv_aligned, seed): spans numeric.
                let bp: Vec<&PairRecord> = pairs
                    .values()
                    .filter(|p| &p.key.backend == name)
                    .copied()
                    .collect();
                let br: Vec<&RunRecord> = runs
                    .iter()
                    .filter(|r| &r.key.backend == name)
                    .copied()
                    .collect();
                let bs: Vec<&SessionRecord> = sessions
                    .iter()
                    .filter(|s| &s.backend == name)
                    .copied()
                    .collect();
                let bw: Vec<&WarmupRecord> = warmups
                    .iter()
                    .filter(|w| &w.backend == name)
                    .copied()
                    .collect();
                let mut b = backend_report(name, header, &bp, &br, &bs, &bw);
                add_floor_and_spread(&mut b, header, &bp, &refs);
                b
            })
            .collect();

        let all: Vec<Verdict> = pairs.values().map(|p| p.verdict).collect();
        let mut cross = cross_backend(&backends);
        cross.agreement = agreement(crosses.values().copied(), &order);
        cross.references = floor::references(&refs);
        let sweep = SweepInfo {
            name: header.map_or_else(|| UNKNOWN.to_string(), |h| h.name.clone()),
            date_utc: header.map_or_else(|| UNKNOWN.to_string(), |h| format_utc(h.started_unix)),
            started_unix: header.map(|h| h.started_unix),
            mode: mode(pairs.keys().copied(), backends.len()),
            pairs_planned: header.map(|h| h.pairs_planned),
            pairs_classified: pairs.len(),
        };
        let unanswered = required::unanswered(header, &pairs.values().copied().collect::<Vec<_>>());
        let mut gaps = gaps(header, pairs.len(), &audited);
        gaps.extend(unanswered.gaps);
        let global = match global_verdict(all.iter().copied()) {
            GlobalVerdict::Pass if !gaps.is_empty() => GlobalVerdict::Incomplete,
            g => g,
        };
        Report {
            schema_version: SCHEMA_VERSION,
            sweep,
            global,
            gaps,
            not_run: unanswered.not_run,
            counts: to_counts(all),
            backends,
            cross,
            header: header.cloned(),
            harness: latency::harness(&summaries),
            merge: merge::merge_view(header, &runs),
        }
    }
}

/// Why the records do not make a whole sweep (see [`Report::gaps`]): planned pairs without a
/// verdict (by the plan's keys; by counts in journals that do not record their plan), and
/// every finding of the audit.
fn gaps(header: Option<&SweepHeader>, classified: usize, audited: &Audit) -> Vec<String> {
    let mut out = Vec::new();
    match (header, audited.planned) {
        (None, _) => out.push(
            "the journal has no sweep header: what was planned is unknown".to_string(),
        ),
        (Some(_), Some(planned)) if !audited.missing.is_empty() => out.push(format!(
            "{} of {planned} planned pairs have no verdict: the sweep stopped early or the journal is partial (missing: {})",
            audited.missing.len(),
            describe_missing(header, &audited.missing)
        )),
        (Some(_), Some(_)) => {}
        (Some(h), None) if h.pairs_planned > classified => out.push(format!(
            "{} of {} planned pairs have no verdict: the sweep stopped early or the journal is partial",
            h.pairs_planned - classified,
            h.pairs_planned
        )),
        (Some(_), None) => {}
    }
    out.extend(audited.findings.iter().cloned());
    if classified == 0 {
        out.push("no pair was classified".to_string());
    }
    out
}

fn to_counts(verdicts: Vec<Verdict>) -> Vec<VerdictCount> {
    count(verdicts)
        .into_iter()
        .map(|(verdict, count)| VerdictCount { verdict, count })
        .collect()
}

/// What the grid varies, named as the reference report does.
fn mode<'a>(keys: impl Iterator<Item = &'a PairKey>, n_backends: usize) -> String {
    let mut spans = BTreeSet::new();
    let mut dtypes = BTreeSet::new();
    let mut kv0 = false;
    for k in keys {
        spans.insert(k.span);
        dtypes.insert(k.dtype);
        kv0 |= !k.kv_aligned.is_aligned();
    }
    let mut parts = Vec::new();
    if spans.len() > 1 {
        parts.push("Span Escalation");
    }
    if dtypes.len() > 1 {
        parts.push("Dtype Sweep");
    }
    if kv0 {
        parts.push("Drift Characterization");
    }
    if n_backends > 1 {
        parts.push("Cross-Backend Comparison");
    }
    if parts.is_empty() {
        "Single Configuration".to_string()
    } else {
        parts.join(" + ")
    }
}

fn backend_report(
    name: &str,
    header: Option<&SweepHeader>,
    pairs: &[&PairRecord],
    runs: &[&RunRecord],
    sessions: &[&SessionRecord],
    warmups: &[&WarmupRecord],
) -> BackendReport {
    let verdicts: Vec<Verdict> = pairs.iter().map(|p| p.verdict).collect();
    let mut rc = RunCounts::default();
    for r in runs {
        rc.total += 1;
        match r.status {
            RunStatus::Ok => rc.ok += 1,
            RunStatus::Failed => rc.failed += 1,
            RunStatus::Skipped => rc.skipped += 1,
        }
    }
    let comparisons = pairs
        .iter()
        .map(|p| ComparisonRow {
            span: p.key.span,
            dtype: p.key.dtype,
            kv_aligned: p.key.kv_aligned,
            seed: p.key.seed,
            verdict: p.verdict,
            reason: p.reason.clone(),
            metrics: p.metrics.clone(),
            repeat_mismatch: p.repeat_mismatch.clone(),
        })
        .collect();
    let models = latency::cost_models(sessions, header.map(|h| h.block_size));
    let performance = performance(runs, &models);
    let route_ratios = route_ratios(&performance);
    let mut model_loads: Vec<ModelLoad> = sessions
        .iter()
        .map(|s| ModelLoad {
            dtype: s.dtype,
            load_s: s.load_s,
            device: s.device.clone(),
            model: s.model.clone(),
            error: s.error.clone(),
        })
        .collect();
    model_loads.sort_by_key(|m| m.dtype); // stable: repeated loads keep journal order
    let entry = header.and_then(|h| h.backends.iter().find(|b| b.name == name));
    BackendReport {
        name: name.to_string(),
        global: global_verdict(verdicts.iter().copied()),
        counts: to_counts(verdicts),
        runs: rc,
        pairs: pairs.len(),
        observations: observations::generate(pairs, entry, header.map(|h| h.block_size)),
        comparisons,
        drift: drift(pairs),
        performance,
        route_ratios,
        model_loads,
        warmups: warmup_rows(warmups, runs),
        noise_floor: Vec::new(),
        floor_summary: Vec::new(),
        seed_spread: Vec::new(),
        latency: latency::rows(runs, &models),
        resources: latency::resources(runs, sessions),
        timing: timing(warmups.len(), runs),
    }
}

/// What the measured runs say about their temperature.
fn timing(warmups: usize, runs: &[&RunRecord]) -> Timing {
    let mut t = Timing {
        warmups,
        ..Timing::default()
    };
    for n in runs
        .iter()
        .filter_map(|r| driftbench_core::options::compiled(&r.counters))
    {
        t.counted += 1;
        t.compiling += usize::from(n > 0);
        t.compiled += n;
    }
    t
}

/// The noise floor, the seed spread and the observations drawn from them.
fn add_floor_and_spread(
    b: &mut BackendReport,
    header: Option<&SweepHeader>,
    pairs: &[&PairRecord],
    refs: &floor::Refs<'_>,
) {
    let rule = header
        .and_then(|h| h.reference.as_ref())
        .map(|i| i.rule)
        .unwrap_or_default();
    b.noise_floor = floor::rows(pairs, header, refs);
    b.floor_summary = floor::summary(pairs);
    b.seed_spread = spread::rows(pairs);
    b.observations
        .extend(obs_floor::generate(pairs, &b.noise_floor, rule));
    b.observations.extend(obs_pairs::flips(pairs));
    b.observations
        .extend(obs_pairs::seed_disagreement(&b.seed_spread));
    b.observations.extend(obs_pairs::repeat_mismatch(pairs));
}

fn warmup_rows(warmups: &[&WarmupRecord], runs: &[&RunRecord]) -> Vec<WarmupRow> {
    let mut rows: Vec<WarmupRow> = warmups
        .iter()
        .map(|w| {
            let measured: Vec<f64> = runs
                .iter()
                .filter(|r| {
                    r.status == RunStatus::Ok
                        && r.key.span == w.span
                        && r.key.dtype == w.dtype
                        && r.route == w.route
                        && (w.route == Route::Prefill || r.key.kv_aligned == w.kv_aligned)
                })
                .filter_map(|r| r.wall_s)
                .collect();
            WarmupRow {
                span: w.span,
                dtype: w.dtype,
                kv_aligned: w.kv_aligned,
                route: w.route,
                wall_s: w.wall_s,
                measured_mean_s: (!measured.is_empty()).then(|| mean(&measured)),
                error: w.error.clone(),
                counters: w.counters.clone(),
            }
        })
        .collect();
    rows.sort_by_key(|r| (r.span, r.dtype, r.route, r.kv_aligned));
    rows
}

fn drift(pairs: &[&PairRecord]) -> Vec<DriftRow> {
    let mut groups: BTreeMap<(usize, Dtype), Vec<&driftbench_core::metrics::Metrics>> =
        BTreeMap::new();
    for p in pairs.iter().filter(|p| !p.key.kv_aligned.is_aligned()) {
        if let Some(m) = &p.metrics {
            groups.entry((p.key.span, p.key.dtype)).or_default().push(m);
        }
    }
    groups
        .into_iter()
        .map(|((span, dtype), ms)| {
            let col = |f: fn(&driftbench_core::metrics::Metrics) -> f64| {
                ms.iter().map(|m| f(m)).collect::<Vec<_>>()
            };
            let max_abs = col(|m| m.max_abs_diff);
            let p99 = col(|m| m.p99_abs_diff);
            let top1 = col(|m| m.top1_agreement);
            DriftRow {
                span,
                dtype,
                max_abs_max: max_nan(&max_abs),
                max_abs_mean: mean(&max_abs),
                p99_max: max_nan(&p99),
                p99_mean: mean(&p99),
                top1_min: min_nan(&top1),
                top1_mean: mean(&top1),
                kl_max: opt_max(ms.iter().filter_map(|m| m.kl_max)),
                samples: ms.len(),
            }
        })
        .collect()
}

fn performance(
    runs: &[&RunRecord],
    models: &BTreeMap<Dtype, latency::CostModel<'_>>,
) -> Vec<PerfRow> {
    let mut groups: BTreeMap<(usize, Dtype, Route), Vec<&RunRecord>> = BTreeMap::new();
    for r in runs {
        // Only measured, successful runs say anything about speed.
        if r.status == RunStatus::Ok && r.wall_s.is_some() {
            groups
                .entry((r.key.span, r.key.dtype, r.route))
                .or_default()
                .push(r);
        }
    }
    groups
        .into_iter()
        .map(|((span, dtype, route), rs)| {
            let wall: Vec<f64> = rs.iter().filter_map(|r| r.wall_s).collect();
            let tokens = span.max(1) as f64;
            let per_token: Vec<f64> = wall.iter().map(|w| w / tokens).collect();
            let tps: Vec<f64> = wall.iter().map(|w| tokens / w).collect();
            let bytes: Vec<f64> = rs
                .iter()
                .filter_map(|r| r.logits_bytes.map(|b| b as f64))
                .collect();
            PerfRow {
                span,
                dtype,
                route,
                wall_mean_s: mean(&wall),
                wall_p95_s: percentile_nearest_rank(&wall, 95.0),
                per_token_mean_s: mean(&per_token),
                tokens_per_s_mean: mean(&tps),
                logits_bytes_mean: (!bytes.is_empty()).then(|| mean(&bytes)),
                samples: wall.len(),
                profile: Some(latency::stats(
                    &rs,
                    models.get(&dtype).copied().unwrap_or_default(),
                )),
            }
        })
        .collect()
}

fn route_ratios(perf: &[PerfRow]) -> Vec<RouteRatio> {
    let find = |span, dtype, route| {
        perf.iter()
            .find(|p| p.span == span && p.dtype == dtype && p.route == route)
            .map(|p| p.wall_mean_s)
    };
    let keys: BTreeSet<(usize, Dtype)> = perf.iter().map(|p| (p.span, p.dtype)).collect();
    keys.into_iter()
        .filter_map(|(span, dtype)| {
            let prefill = find(span, dtype, Route::Prefill)?;
            let decode = find(span, dtype, Route::Decode)?;
            Some(RouteRatio {
                span,
                dtype,
                prefill_mean_s: prefill,
                decode_mean_s: decode,
                ratio: decode / prefill,
            })
        })
        .collect()
}

fn cross_backend(backends: &[BackendReport]) -> CrossBackend {
    let keys: BTreeSet<(usize, Dtype, Route)> = backends
        .iter()
        .flat_map(|b| b.performance.iter().map(|p| (p.span, p.dtype, p.route)))
        .collect();
    let mean_of = |b: &BackendReport, (span, dtype, route): (usize, Dtype, Route)| {
        b.performance
            .iter()
            .find(|p| p.span == span && p.dtype == dtype && p.route == route)
            .map(|p| p.wall_mean_s)
    };
    let performance = keys
        .into_iter()
        .map(|k| {
            let first = backends.first().and_then(|b| mean_of(b, k));
            let mean_wall_s = backends
                .iter()
                .map(|b| {
                    let m = mean_of(b, k);
                    Cell {
                        mean_s: m,
                        ratio_to_first: m.zip(first).map(|(m, f)| m / f),
                    }
                })
                .collect();
            CrossPerfRow {
                span: k.0,
                dtype: k.1,
                route: k.2,
                mean_wall_s,
            }
        })
        .collect();
    CrossBackend {
        backends: backends.iter().map(|b| b.name.clone()).collect(),
        performance,
        agreement: Vec::new(),
        references: Vec::new(),
    }
}

/// Cross-backend agreement rows: one per (backend, reference, dtype, route, decode layout),
/// in the sweep's backend order.
fn agreement<'a>(
    crosses: impl Iterator<Item = &'a CrossRecord>,
    order: &[String],
) -> Vec<AgreementRow> {
    type Key = (usize, usize, Dtype, Route, Option<KvMode>);
    let pos = |name: &str| order.iter().position(|n| n == name).unwrap_or(usize::MAX);
    let mut groups: BTreeMap<Key, Vec<&CrossRecord>> = BTreeMap::new();
    for c in crosses {
        let kv = (c.route == Route::Decode).then_some(c.key.kv_aligned);
        let key = (
            pos(&c.reference),
            pos(&c.key.backend),
            c.key.dtype,
            c.route,
            kv,
        );
        groups.entry(key).or_default().push(c);
    }
    groups
        .into_iter()
        .map(|((_, _, dtype, route, kv_aligned), cs)| {
            let col = |f: fn(&driftbench_core::metrics::Metrics) -> f64| {
                cs.iter().map(|c| f(&c.metrics)).collect::<Vec<_>>()
            };
            let max_abs = col(|m| m.max_abs_diff);
            let worst = cs
                .iter()
                .max_by(|a, b| a.metrics.max_abs_diff.total_cmp(&b.metrics.max_abs_diff))
                .expect("groups are non-empty");
            AgreementRow {
                backend: cs[0].key.backend.clone(),
                reference: cs[0].reference.clone(),
                dtype,
                route,
                kv_aligned,
                max_abs_max: max_nan(&max_abs),
                worst_span: worst.key.span,
                p99_max: max_nan(&col(|m| m.p99_abs_diff)),
                mean_abs_mean: mean(&col(|m| m.mean_abs_diff)),
                top1_min: min_nan(&col(|m| m.top1_agreement)),
                kl_max: opt_max(cs.iter().filter_map(|c| c.metrics.kl_max)),
                nmse_max: opt_max(cs.iter().filter_map(|c| c.metrics.nmse)),
                nonfinite: cs
                    .iter()
                    .map(|c| c.metrics.nonfinite_prefill + c.metrics.nonfinite_decode)
                    .sum(),
                samples: cs.len(),
            }
        })
        .collect()
}

/// Largest of the values a journal recorded (NaN surfacing); `None` when it recorded none.
fn opt_max(v: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = v.collect();
    (!v.is_empty()).then(|| max_nan(&v))
}
