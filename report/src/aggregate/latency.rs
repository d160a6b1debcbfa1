//! Building the latency profile from a backend's run and session records: step
//! percentiles, read-back, memory, roofline figures, and the sweep's harness share.

use crate::model::latency::{DtypeResources, HarnessShare, LatencyRow, LatencyStats, Roofline};
use crate::stats::{mad, mean, median, percentile_nearest_rank};
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::profile::Peaks;
use driftbench_core::roofline::ModelCost;
use driftbench_core::route::Route;
use driftbench_sweep::records::{
    HarnessTimes, PeaksOutcome, RunRecord, RunStatus, SessionRecord, SummaryRecord,
};
use std::collections::BTreeMap;

/// What the roofline figures of one dtype need: the model's cost, the device's peaks and
/// the padded cache's block size.
#[derive(Clone, Copy, Default)]
pub(crate) struct CostModel<'a> {
    pub(crate) cost: Option<&'a ModelCost>,
    pub(crate) peaks: Option<&'a Peaks>,
    pub(crate) block: Option<usize>,
}

/// The cost and peaks the sessions of each dtype reported (the last that did).
pub(crate) fn cost_models<'a>(
    sessions: &[&'a SessionRecord],
    block: Option<usize>,
) -> BTreeMap<Dtype, CostModel<'a>> {
    let mut out: BTreeMap<Dtype, CostModel<'a>> = BTreeMap::new();
    for s in sessions {
        let e = out.entry(s.dtype).or_insert(CostModel {
            block,
            ..CostModel::default()
        });
        if let Some(c) = &s.cost {
            e.cost = Some(c);
        }
        // Only valid figures are divided by: a journal's peaks are checked again here.
        if let Some(p) = s.peaks.as_ref().and_then(|p| p.peaks.as_ref()) {
            e.peaks = p.check().is_ok().then_some(p);
        }
    }
    out
}

/// Successful, measured runs: the only ones that say anything about speed.
fn measured(r: &RunRecord) -> bool {
    r.status == RunStatus::Ok && r.wall_s.is_some()
}

/// One row per (span, dtype, route, KV layout), prefill over both layouts.
pub(crate) fn rows(runs: &[&RunRecord], models: &BTreeMap<Dtype, CostModel>) -> Vec<LatencyRow> {
    type Key = (usize, Dtype, Route, Option<KvMode>);
    let mut groups: BTreeMap<Key, Vec<&RunRecord>> = BTreeMap::new();
    for r in runs.iter().filter(|r| measured(r)) {
        let kv = (r.route == Route::Decode).then_some(r.key.kv_aligned);
        groups
            .entry((r.key.span, r.key.dtype, r.route, kv))
            .or_default()
            .push(r);
    }
    groups
        .into_iter()
        .map(|((span, dtype, route, kv_aligned), rs)| LatencyRow {
            span,
            dtype,
            route,
            kv_aligned,
            stats: stats(&rs, models.get(&dtype).copied().unwrap_or_default()),
        })
        .collect()
}

/// The latency figures of `runs` (successful, measured; one span, dtype and route).
pub(crate) fn stats(runs: &[&RunRecord], model: CostModel) -> LatencyStats {
    let wall: Vec<f64> = runs.iter().filter_map(|r| r.wall_s).collect();
    let with_steps: Vec<&&RunRecord> = runs
        .iter()
        .filter(|r| !r.profile.step_s.is_empty())
        .collect();
    let steps: Vec<f64> = with_steps
        .iter()
        .flat_map(|r| r.profile.step_s.iter().copied())
        .collect();
    let pct = |p: f64| (!steps.is_empty()).then(|| percentile_nearest_rank(&steps, p));
    let readback: Vec<f64> = runs.iter().filter_map(|r| r.profile.readback_s).collect();
    let bytes: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.logits_bytes.map(|b| b as f64))
        .collect();
    LatencyStats {
        runs: wall.len(),
        wall_mean_s: mean(&wall),
        wall_p95_s: percentile_nearest_rank(&wall, 95.0),
        wall_median_s: (!wall.is_empty()).then(|| median(&wall)),
        wall_mad_s: (!wall.is_empty()).then(|| mad(&wall)),
        steps: steps.len(),
        step_runs: with_steps.len(),
        step_nonfinite: steps.iter().filter(|s| !s.is_finite()).count(),
        step_p50_s: pct(50.0),
        step_p90_s: pct(90.0),
        step_p95_s: pct(95.0),
        step_p99_s: pct(99.0),
        step_tokens_per_s: (!steps.is_empty())
            .then(|| steps.len() as f64 / steps.iter().sum::<f64>()),
        readback_mean_s: (!readback.is_empty()).then(|| mean(&readback)),
        readback_runs: readback.len(),
        readback_bytes_mean: (!bytes.is_empty()).then(|| mean(&bytes)),
        peak_rss_bytes: runs.iter().filter_map(|r| r.profile.peak_rss_bytes).max(),
        roofline: roofline(runs, model),
        wall_samples_s: wall,
    }
}

/// Seconds a run computed for: its decode steps' sum, else its wall less its read-back.
fn compute_s(r: &RunRecord) -> Option<f64> {
    if !r.profile.step_s.is_empty() {
        return Some(r.profile.step_s.iter().sum());
    }
    let wall = r.wall_s?;
    Some(match r.profile.readback_s {
        Some(rb) if rb < wall => wall - rb,
        _ => wall,
    })
}

/// Achieved GFLOP/s and GB/s of `runs`: Σ FLOPs (bytes) over Σ compute seconds.
fn roofline(runs: &[&RunRecord], model: CostModel) -> Option<Roofline> {
    let cost = model.cost?;
    let (mut flops, mut bytes, mut secs, mut n) = (0.0, 0.0, 0.0, 0);
    for r in runs {
        let span = r.key.span;
        let (f, b) = match r.route {
            Route::Prefill => (cost.prefill_flops(span), cost.prefill_bytes(span)),
            Route::Decode => {
                let steps = r.profile.step_s.len();
                if steps != 0 && steps != span {
                    continue; // steps of another prompt: nothing to set them against
                }
                let block = match (r.key.kv_aligned, model.block) {
                    (KvMode::Aligned, _) => 1,
                    (KvMode::Padded, Some(b)) => b,
                    (KvMode::Padded, None) => continue,
                };
                cost.decode_totals(span, r.key.kv_aligned, block)
            }
        };
        let Some(s) = compute_s(r) else { continue };
        flops += f;
        bytes += b;
        secs += s;
        n += 1;
    }
    if n == 0 {
        return None;
    }
    let gflops = flops / secs / 1e9;
    let gbs = bytes / secs / 1e9;
    Some(Roofline {
        runs: n,
        gflops,
        gbs,
        gflops_of_peak: model.peaks.map(|p| gflops / p.gemm_gflops),
        gbs_of_peak: model.peaks.map(|p| gbs / p.bandwidth_gbs),
    })
}

/// Per dtype: loads, peak memory, peaks, cost.
pub(crate) fn resources(runs: &[&RunRecord], sessions: &[&SessionRecord]) -> Vec<DtypeResources> {
    let mut out: BTreeMap<Dtype, DtypeResources> = BTreeMap::new();
    let blank = |dtype| DtypeResources {
        dtype,
        loads: 0,
        load_mean_s: None,
        peak_rss_bytes: None,
        peak_rss_runs: 0,
        peaks_source: None,
        peaks: None,
        peaks_probe_s: None,
        peaks_error: None,
        cost: None,
    };
    let mut loads: BTreeMap<Dtype, Vec<f64>> = BTreeMap::new();
    for s in sessions {
        let e = out.entry(s.dtype).or_insert_with(|| blank(s.dtype));
        if let Some(l) = s.load_s.filter(|_| s.error.is_none()) {
            loads.entry(s.dtype).or_default().push(l);
        }
        if let Some(PeaksOutcome {
            source,
            peaks,
            probe_s,
            error,
        }) = &s.peaks
        {
            e.peaks_source = Some(*source);
            let invalid = peaks.as_ref().and_then(|p| p.check().err());
            e.peaks = peaks.clone().filter(|_| invalid.is_none());
            e.peaks_probe_s = *probe_s;
            e.peaks_error = match invalid {
                Some(why) => Some(format!("the recorded peaks are not valid: {why}")),
                None => error.clone(),
            };
        }
        if s.cost.is_some() {
            e.cost = s.cost.clone();
        }
    }
    for (dtype, l) in loads {
        let e = out.entry(dtype).or_insert_with(|| blank(dtype));
        e.loads = l.len();
        e.load_mean_s = Some(mean(&l));
    }
    for r in runs.iter().filter(|r| measured(r)) {
        if let Some(b) = r.profile.peak_rss_bytes {
            let e = out.entry(r.key.dtype).or_insert_with(|| blank(r.key.dtype));
            e.peak_rss_runs += 1;
            e.peak_rss_bytes = e.peak_rss_bytes.max(Some(b));
        }
    }
    out.into_values().collect()
}

/// The harness share of the sweep, summed over its invocations; `None` without a summary
/// (an older journal, or a sweep cut short).
pub(crate) fn harness(summaries: &[&SummaryRecord]) -> Option<HarnessShare> {
    if summaries.is_empty() {
        return None;
    }
    let sum = |f: fn(&SummaryRecord) -> f64| summaries.iter().map(|s| f(s)).sum::<f64>();
    let part = |f: fn(&HarnessTimes) -> f64| summaries.iter().map(|s| f(&s.harness)).sum::<f64>();
    let parts = HarnessTimes {
        compare_s: part(|h| h.compare_s),
        floor_compare_s: part(|h| h.floor_compare_s),
        cross_compare_s: part(|h| h.cross_compare_s),
        checks_s: part(|h| h.checks_s),
        journal_s: part(|h| h.journal_s),
        bundles_s: part(|h| h.bundles_s),
    };
    let wall = sum(|s| s.sweep_wall_s);
    let harness_s = parts.total_s();
    let (loads_s, peaks_s, warmup_s, runs_s, reference_s) = (
        sum(|s| s.loads_s),
        sum(|s| s.peaks_s),
        sum(|s| s.warmup_s),
        sum(|s| s.runs_s),
        sum(|s| s.reference_s),
    );
    Some(HarnessShare {
        invocations: summaries.len(),
        sweep_wall_s: wall,
        harness_s,
        harness_fraction: harness_s / wall,
        loads_s,
        peaks_s,
        warmup_s,
        runs_s,
        reference_s,
        other_s: wall - harness_s - loads_s - peaks_s - warmup_s - runs_s - reference_s,
        parts,
        host_peak_rss_bytes: summaries.iter().filter_map(|s| s.host_peak_rss_bytes).max(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftbench_sweep::records::PairKey;

    fn run(route: Route, kv: KvMode, span: usize, steps: Vec<f64>, wall: f64) -> RunRecord {
        RunRecord {
            key: PairKey {
                backend: "b".into(),
                span,
                dtype: Dtype::F32,
                kv_aligned: kv,
                seed: 0,
            },
            route,
            status: RunStatus::Ok,
            wall_s: Some(wall),
            host_wall_s: None,
            logits_bytes: Some(400),
            reason: None,
            counters: Default::default(),
            rep: 0,
            fingerprint: None,
            profile: driftbench_core::profile::RunProfile {
                step_s: steps,
                readback_s: Some(0.5),
                peak_rss_bytes: Some(1000),
            },
        }
    }

    fn cost() -> ModelCost {
        ModelCost {
            layers: 1,
            q_dim: 2,
            kv_dim: 1,
            product_params: 1_000_000_000,
            weight_bytes: 4_000_000_000,
            weight_dtype: "f32".into(),
            kv_value_bytes: 4,
        }
    }

    #[test]
    fn step_percentiles_are_nearest_rank_over_every_step() {
        // Two runs of 50 steps: 1..=100 ms in all.
        let a = run(
            Route::Decode,
            KvMode::Aligned,
            50,
            (1..=50).map(|i| i as f64 / 1e3).collect(),
            2.0,
        );
        let b = run(
            Route::Decode,
            KvMode::Aligned,
            50,
            (51..=100).map(|i| i as f64 / 1e3).collect(),
            4.0,
        );
        let s = stats(&[&a, &b], CostModel::default());
        assert_eq!((s.runs, s.steps, s.step_runs), (2, 100, 2));
        assert_eq!(s.step_p50_s, Some(0.050));
        assert_eq!(s.step_p90_s, Some(0.090));
        assert_eq!(s.step_p95_s, Some(0.095));
        assert_eq!(s.step_p99_s, Some(0.099));
        // 100 steps over 5.05 s.
        let tps = s.step_tokens_per_s.unwrap();
        assert!((tps - 100.0 / 5.05).abs() < 1e-9, "{tps}");
        assert_eq!(s.wall_mean_s, 3.0);
        assert_eq!(s.wall_p95_s, 4.0);
        // Median of 2 and 4, and their deviations of 1 from it.
        assert_eq!((s.wall_median_s, s.wall_mad_s), (Some(3.0), Some(1.0)));
        assert_eq!(
            s.wall_samples_s,
            vec![2.0, 4.0],
            "every run's wall time, in order"
        );
        assert_eq!((s.readback_mean_s, s.readback_runs), (Some(0.5), 2));
        assert_eq!(s.peak_rss_bytes, Some(1000));
        assert!(s.roofline.is_none(), "no cost, no roofline");
    }

    #[test]
    fn a_nan_step_is_counted_ranks_highest_and_poisons_the_rate() {
        let mut steps: Vec<f64> = (1..=99).map(|i| i as f64 / 1e3).collect();
        steps.push(f64::NAN);
        let a = run(Route::Decode, KvMode::Aligned, 100, steps, 1.0);
        let s = stats(&[&a], CostModel::default());
        // Rank 99 of 100 is the last finite step; the NaN is the 100th.
        assert_eq!(s.step_p99_s, Some(0.099));
        assert_eq!(s.step_p50_s, Some(0.050));
        assert_eq!(s.step_nonfinite, 1);
        assert!(s.step_tokens_per_s.unwrap().is_nan());
        // With 10 steps, rank 10 (p95, p99) is the NaN itself; p90 is rank 9.
        let mut steps: Vec<f64> = (1..=9).map(|i| i as f64 / 1e3).collect();
        steps.insert(3, f64::NAN);
        let b = run(Route::Decode, KvMode::Aligned, 10, steps, 1.0);
        let s = stats(&[&b], CostModel::default());
        assert!(s.step_p95_s.unwrap().is_nan() && s.step_p99_s.unwrap().is_nan());
        assert_eq!(s.step_p90_s, Some(0.009));
        assert_eq!(s.step_p50_s, Some(0.005));
    }

    #[test]
    fn runs_without_steps_have_no_step_figures() {
        let a = run(Route::Prefill, KvMode::Aligned, 8, vec![], 1.0);
        let s = stats(&[&a], CostModel::default());
        assert_eq!((s.steps, s.step_runs), (0, 0));
        assert_eq!(s.step_p50_s, None);
        assert_eq!(s.step_tokens_per_s, None);
    }

    #[test]
    fn roofline_divides_the_model_work_by_compute_time() {
        let c = cost();
        let peaks = Peaks {
            dtype: Dtype::F32,
            product_dtype: "f32".into(),
            gemm_gflops: 100.0,
            gemm_shape: [1, 1, 1],
            bandwidth_gbs: 10.0,
            bandwidth_method: "test".into(),
            reps: 1,
        };
        let model = CostModel {
            cost: Some(&c),
            peaks: Some(&peaks),
            block: Some(4),
        };
        // Prefill of 2 tokens, wall 2.5 s less 0.5 s read-back: 2 s of compute.
        let p = run(Route::Prefill, KvMode::Aligned, 2, vec![], 2.5);
        let r = stats(&[&p], model).roofline.unwrap();
        assert_eq!(r.runs, 1);
        let flops = 2.0 * 1e9 * 2.0 + 4.0 * 2.0 * 4.0;
        assert!((r.gflops - flops / 2.0 / 1e9).abs() < 1e-9, "{}", r.gflops);
        assert!((r.gflops_of_peak.unwrap() - r.gflops / 100.0).abs() < 1e-12);
        // Decode of 2 steps of 1 s each, padded to 4 keys: 2 × (4e9 + 2·1·1·4·4) bytes.
        let d = run(Route::Decode, KvMode::Padded, 2, vec![1.0, 1.0], 9.0);
        let r = stats(&[&d], model).roofline.unwrap();
        let bytes = 2.0 * (4e9 + 32.0);
        assert!((r.gbs - bytes / 2.0 / 1e9).abs() < 1e-9, "{}", r.gbs);
        assert!((r.gbs_of_peak.unwrap() - r.gbs / 10.0).abs() < 1e-12);
        // Steps that do not match the span are not set against it.
        let odd = run(Route::Decode, KvMode::Aligned, 3, vec![1.0], 1.0);
        assert!(stats(&[&odd], model).roofline.is_none());
    }

    #[test]
    fn the_harness_share_sums_invocations() {
        let one = SummaryRecord {
            sweep_wall_s: 10.0,
            loads_s: 1.0,
            runs_s: 6.0,
            harness: HarnessTimes {
                compare_s: 0.5,
                journal_s: 0.5,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(harness(&[]).is_none());
        let h = harness(&[&one, &one]).unwrap();
        assert_eq!(h.invocations, 2);
        assert_eq!((h.sweep_wall_s, h.harness_s), (20.0, 2.0));
        assert_eq!(h.harness_fraction, 0.1);
        assert_eq!(h.other_s, 20.0 - 2.0 - 2.0 - 12.0);
    }
}
