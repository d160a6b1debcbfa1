//! The report's aggregation of runner-shaped records, built by hand: the cross-backend
//! agreement rows per (backend, reference, dtype, route, decode layout), the latency rows per
//! (span, route, decode layout) with the roofline only where the block size is known, the
//! harness share of one invocation, the Latency Profile / harness / non-determinism parts of
//! report.md, and the per-dtype resources with their peaks (or `[profile] roofline = false`).
//!
//! These are the report-side halves of facts the sweep runner's tests (sweep/tests/sweep/runner.rs,
//! sweep/tests/sweep/runner_profile.rs) check on the records the runner writes.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics::Metrics;
use driftbench_core::profile::{Peaks, RunProfile};
use driftbench_core::roofline::ModelCost;
use driftbench_core::route::Route;
use driftbench_report::{render_markdown, Report};
use driftbench_sweep::records::{
    BackendEntry, CrossRecord, Environment, HarnessTimes, PairKey, PairRecord, PeaksOutcome,
    PeaksSource, Record, RepeatMismatch, RunRecord, RunStatus, SessionRecord, SummaryRecord,
    SweepHeader, SCHEMA_VERSION,
};
use driftbench_sweep::verdict::Verdict;
use std::collections::BTreeMap;

const SPANS: [usize; 2] = [3, 6];
const KVS: [KvMode; 2] = [KvMode::Padded, KvMode::Aligned];
const SEEDS: [u64; 2] = [0, 1];
const REPS: u32 = 3;

fn key(backend: &str, span: usize, dtype: Dtype, kv: KvMode, seed: u64) -> PairKey {
    PairKey {
        backend: backend.to_string(),
        span,
        dtype,
        kv_aligned: kv,
        seed,
    }
}

fn header(backends: &[&str], block_size: usize) -> Record {
    Record::Sweep(Box::new(SweepHeader {
        schema_version: SCHEMA_VERSION,
        name: "aggregation".into(),
        config_path: "fake.toml".into(),
        started_unix: 0,
        model: "synthetic".into(),
        block_size,
        tolerances: BTreeMap::new(),
        pairs_planned: 0,
        environment: Environment::default(),
        backends: backends
            .iter()
            .map(|name| BackendEntry {
                name: name.to_string(),
                source: "test".into(),
                probe: None,
                error: None,
                plugin: None,
                configured: None,
            })
            .collect(),
        origin: None,
        merged: None,
        plan: None,
        reference: None,
    }))
}

fn metrics(max: f64, top1: f64) -> Metrics {
    Metrics {
        max_abs_diff: max,
        p99_abs_diff: max / 2.0,
        mean_abs_diff: max / 10.0,
        top1_agreement: top1,
        positions: 6,
        vocab: 5,
        ..Default::default()
    }
}

// ---------------------------------------------------------------- cross-backend agreement

/// Backends a (the reference), b and c, as the runner's cross test has them: 2 dtypes × 2
/// spans × 2 layouts × 2 seeds cells, each route of b and c against a. b's f16 aligned decode
/// is 0.25 off at its worst (span 6, seed 1) and flips a top-1 once (span 3, seed 0).
fn cross_records() -> Vec<Record> {
    let mut v = vec![header(&["a", "b", "c"], 4)];
    for dtype in [Dtype::F32, Dtype::F16] {
        for span in SPANS {
            for kv in KVS {
                for seed in SEEDS {
                    for route in [Route::Prefill, Route::Decode] {
                        for backend in ["b", "c"] {
                            let (max, top1) = match (backend, route) {
                                ("b", Route::Prefill) => (0.0, 1.0),
                                ("b", Route::Decode)
                                    if dtype == Dtype::F16 && kv == KvMode::Aligned =>
                                {
                                    let max = if (span, seed) == (6, 1) { 0.25 } else { 0.125 };
                                    let top1 = if (span, seed) == (3, 0) { 0.75 } else { 1.0 };
                                    (max, top1)
                                }
                                ("b", Route::Decode) => (0.25, 1.0),
                                _ => (0.5, 1.0),
                            };
                            v.push(Record::Cross(CrossRecord {
                                key: key(backend, span, dtype, kv, seed),
                                reference: "a".into(),
                                route,
                                metrics: metrics(max, top1),
                            }));
                        }
                    }
                }
            }
        }
    }
    v
}

#[test]
fn cross_agreement_rows_per_backend_reference_dtype_route_and_layout() {
    let report = Report::from_records(&cross_records());
    let rows = &report.cross.agreement;
    // backends × dtypes × (prefill, decode kv 0, decode kv 1)
    assert_eq!(rows.len(), 2 * 2 * 3, "{rows:?}");
    for r in rows {
        assert_eq!(r.reference, "a");
        assert_eq!(r.kv_aligned.is_none(), r.route == Route::Prefill, "{r:?}");
        // 2 spans × 2 seeds; prefill over both layouts.
        let samples = if r.route == Route::Prefill { 8 } else { 4 };
        assert_eq!(r.samples, samples, "{r:?}");
    }
    let row = |backend: &str, dtype: Dtype, route: Route, kv: Option<KvMode>| {
        rows.iter()
            .find(|r| {
                r.backend == backend
                    && r.reference == "a"
                    && r.dtype == dtype
                    && r.route == route
                    && r.kv_aligned == kv
            })
            .unwrap_or_else(|| panic!("no row {backend} {dtype} {route:?} {kv:?}: {rows:?}"))
    };
    let b = row("b", Dtype::F16, Route::Decode, Some(KvMode::Aligned));
    assert!((b.max_abs_max - 0.25).abs() < 1e-6, "{b:?}");
    assert_eq!(b.worst_span, 6);
    assert_eq!(b.samples, 4);
    assert_eq!(b.top1_min, 0.75);
    // The other layout, dtype and route of b are rows of their own.
    let padded = row("b", Dtype::F16, Route::Decode, Some(KvMode::Padded));
    assert_eq!((padded.max_abs_max, padded.top1_min), (0.25, 1.0));
    let prefill = row("b", Dtype::F16, Route::Prefill, None);
    assert_eq!((prefill.max_abs_max, prefill.top1_min), (0.0, 1.0));
    let f32 = row("b", Dtype::F32, Route::Decode, Some(KvMode::Aligned));
    assert_eq!((f32.max_abs_max, f32.top1_min), (0.25, 1.0));
    let c = row("c", Dtype::F16, Route::Decode, Some(KvMode::Aligned));
    assert!((c.max_abs_max - 0.5).abs() < 1e-6);
    assert_eq!((c.samples, c.top1_min), (4, 1.0));
}

// ------------------------------------------------------------------ the latency profile

fn cost() -> ModelCost {
    ModelCost {
        layers: 1,
        q_dim: 4,
        kv_dim: 2,
        product_params: 1000,
        weight_bytes: 4000,
        weight_dtype: "f32".into(),
        kv_value_bytes: 4,
    }
}

fn peaks(dtype: Dtype) -> Peaks {
    Peaks {
        dtype,
        product_dtype: dtype.to_string(),
        gemm_gflops: 10.0,
        gemm_shape: [8, 8, 8],
        bandwidth_gbs: 5.0,
        bandwidth_method: "fake".into(),
        reps: 1,
    }
}

fn session(backend: &str, dtype: Dtype, source: PeaksSource) -> Record {
    let measured = matches!(source, PeaksSource::Measured | PeaksSource::Cached);
    Record::Session(SessionRecord {
        backend: backend.into(),
        dtype,
        load_s: Some(0.125),
        device: Some("fake".into()),
        model: Some("fake".into()),
        error: None,
        cost: Some(cost()),
        peaks: Some(PeaksOutcome {
            source,
            peaks: measured.then(|| peaks(dtype)),
            probe_s: (source == PeaksSource::Measured).then_some(0.01),
            error: None,
        }),
    })
}

/// A run as the profile runner's fake backend journals it: decode steps of 1, 2, … `span`
/// ms, a read-back and the process's peak memory.
fn run(backend: &str, span: usize, kv: KvMode, seed: u64, route: Route, rep: u32) -> Record {
    let decode = route == Route::Decode;
    Record::Run(RunRecord {
        key: key(backend, span, Dtype::F32, kv, seed),
        route,
        status: RunStatus::Ok,
        wall_s: Some(span as f64 * 2e-3),
        host_wall_s: None,
        logits_bytes: Some((span * 7 * 4) as u64),
        reason: None,
        counters: Default::default(),
        rep,
        fingerprint: None,
        profile: RunProfile {
            step_s: if decode {
                (1..=span).map(|i| i as f64 * 1e-3).collect()
            } else {
                vec![]
            },
            readback_s: Some(if decode { 2e-4 } else { 1e-4 }),
            peak_rss_bytes: Some(if decode { 2 << 20 } else { 1 << 20 }),
        },
    })
}

fn summary() -> SummaryRecord {
    SummaryRecord {
        sweep_wall_s: 2.0,
        loads_s: 0.25,
        peaks_s: 0.02,
        warmup_s: 0.125,
        runs_s: 1.0,
        reference_s: 0.0,
        harness: HarnessTimes {
            compare_s: 0.01,
            floor_compare_s: 0.02,
            cross_compare_s: 0.03,
            checks_s: 0.04,
            journal_s: 0.05,
            bundles_s: 0.06,
        },
        interrupted: false,
        host_peak_rss_bytes: Some(64 << 20),
    }
}

/// The profile runner's sweep, without its sweep header (as `run_sweep` returns it when given
/// none): backends steady and noisy, f32, 2 spans × 2 layouts × 2 seeds, 3 repetitions of each
/// route; noisy's decode repetitions differ bitwise from the first. One summary at the end.
fn profile_records() -> Vec<Record> {
    let mut v = vec![];
    for backend in ["steady", "noisy"] {
        v.push(session(backend, Dtype::F32, PeaksSource::Measured));
    }
    for span in SPANS {
        for kv in KVS {
            for seed in SEEDS {
                for backend in ["steady", "noisy"] {
                    for rep in 0..REPS {
                        for route in [Route::Prefill, Route::Decode] {
                            v.push(run(backend, span, kv, seed, route, rep));
                        }
                    }
                    let repeat_mismatch = if backend == "noisy" {
                        (1..REPS)
                            .map(|rep| RepeatMismatch {
                                route: Route::Decode,
                                rep,
                                differing: 1,
                                max_abs_diff: 1e-3,
                            })
                            .collect()
                    } else {
                        vec![]
                    };
                    v.push(Record::Pair(PairRecord {
                        key: key(backend, span, Dtype::F32, kv, seed),
                        verdict: if kv == KvMode::Aligned {
                            Verdict::PassEquiv
                        } else {
                            Verdict::ExpectedDrift
                        },
                        reason: None,
                        metrics: Some(metrics(0.0, 1.0)),
                        envelope: None,
                        floor: None,
                        repeat_mismatch,
                        transport: None,
                    }));
                }
            }
        }
    }
    v.push(Record::Summary(summary()));
    v
}

#[test]
fn latency_rows_per_span_and_layout_with_a_roofline_only_for_aligned_decode_without_a_header() {
    let report = Report::from_records(&profile_records());
    let noisy = report.backend("noisy").unwrap();
    let decode: Vec<_> = noisy
        .latency
        .iter()
        .filter(|l| l.route == Route::Decode)
        .collect();
    // Decode rows per (span, kv_aligned); prefill rows per span over both layouts.
    assert_eq!(decode.len(), 4);
    assert_eq!(noisy.latency.len(), 6);
    for l in &noisy.latency {
        if l.route == Route::Prefill {
            assert_eq!(l.kv_aligned, None);
            // 2 layouts × 2 seeds × 3 repetitions; prefill reports no steps.
            assert_eq!((l.stats.runs, l.stats.step_runs, l.stats.steps), (12, 0, 0));
            assert_eq!(l.stats.step_p99_s, None);
        }
    }
    for l in decode {
        // 2 seeds × 3 repetitions, `span` steps each.
        assert_eq!((l.stats.runs, l.stats.step_runs), (6, 6));
        assert_eq!(l.stats.steps, 6 * l.span);
        assert_eq!(l.stats.step_p99_s, Some(l.span as f64 * 1e-3));
        // Without a sweep header the padded cache's block size is unknown: no roofline.
        let aligned = l.kv_aligned == Some(KvMode::Aligned);
        assert_eq!(l.stats.roofline.is_some(), aligned, "{l:?}");
        if aligned {
            assert!(l.stats.roofline.as_ref().unwrap().gflops_of_peak.is_some());
        }
    }
    // With the header's block size, the padded decode has its roofline too.
    let mut with_header = vec![header(&["steady", "noisy"], 4)];
    with_header.extend(profile_records());
    let report = Report::from_records(&with_header);
    assert!(report
        .backend("noisy")
        .unwrap()
        .latency
        .iter()
        .all(|l| l.stats.roofline.is_some()));
}

#[test]
fn the_harness_share_of_one_invocation_is_its_summary() {
    let report = Report::from_records(&profile_records());
    let h = report.harness.as_ref().expect("harness share");
    let s = summary();
    assert_eq!(h.invocations, 1);
    assert!((h.harness_s - s.harness.total_s()).abs() < 1e-12, "{h:?}");
    assert_eq!(h.parts, s.harness);
    assert_eq!(h.sweep_wall_s, s.sweep_wall_s);
}

/// Text from `## Backend: {name}` to the next backend or the end.
fn backend_md<'a>(md: &'a str, name: &str) -> &'a str {
    let start = md
        .find(&format!("## Backend: {name}\n"))
        .unwrap_or_else(|| panic!("no backend {name} in:\n{md}"));
    let rest = &md[start + 1..];
    let end = rest.find("\n## ").map_or(md.len(), |i| start + 1 + i);
    &md[start..end]
}

#[test]
fn markdown_has_the_latency_profile_the_harness_and_bitwise_repetitions_only_where_they_differ() {
    let md = render_markdown(&Report::from_records(&profile_records()));
    assert!(md.contains("#### Latency Profile"), "{md}");
    assert!(md.contains("harness: "), "{md}");
    assert!(md.contains("Repetitions Differ Bitwise"));
    let steady = backend_md(&md, "steady");
    assert!(steady.contains("#### Latency Profile"), "{steady}");
    assert!(!steady.contains("Repetitions Differ Bitwise"), "{steady}");
    let noisy = backend_md(&md, "noisy");
    assert!(noisy.contains("Repetitions Differ Bitwise"), "{noisy}");
}

// -------------------------------------------------------------------- per-dtype resources

/// Backend a's sessions in f32 and f16 (one load each) with peaks from `source`, and a run of
/// each route per dtype.
fn resource_records(source: PeaksSource) -> Vec<Record> {
    let mut v = vec![];
    for dtype in [Dtype::F32, Dtype::F16] {
        v.push(session("a", dtype, source));
    }
    for dtype in [Dtype::F32, Dtype::F16] {
        for route in [Route::Prefill, Route::Decode] {
            let Record::Run(mut r) = run("a", 3, KvMode::Aligned, 0, route, 0) else {
                unreachable!()
            };
            r.key.dtype = dtype;
            v.push(Record::Run(r));
        }
        v.push(Record::Pair(PairRecord {
            key: key("a", 3, dtype, KvMode::Aligned, 0),
            verdict: Verdict::PassEquiv,
            reason: None,
            metrics: Some(metrics(0.0, 1.0)),
            envelope: None,
            floor: None,
            repeat_mismatch: vec![],
            transport: None,
        }));
    }
    v
}

#[test]
fn resources_per_dtype_have_their_peaks_and_one_load_each() {
    let r = Report::from_records(&resource_records(PeaksSource::Cached));
    let res = &r.backend("a").unwrap().resources;
    assert_eq!(res.len(), 2);
    assert!(res
        .iter()
        .all(|d| d.peaks.as_ref().unwrap().gemm_gflops == 10.0 && d.loads == 1));
    assert!(res
        .iter()
        .all(|d| d.peaks_source == Some(PeaksSource::Cached)));
}

#[test]
fn peaks_off_says_profile_roofline_false() {
    let md = render_markdown(&Report::from_records(&resource_records(PeaksSource::Off)));
    assert!(md.contains("[profile] roofline = false"), "{md}");
    for dtype in ["f32", "f16"] {
        assert!(
            md.contains(&format!(
                "- **Device peaks, {dtype}:** not measured ([profile] roofline = false)"
            )),
            "{md}"
        );
    }
    // With peaks, the line is not there.
    let md = render_markdown(&Report::from_records(&resource_records(
        PeaksSource::Cached,
    )));
    assert!(!md.contains("[profile] roofline = false"), "{md}");
}
