//! The runner's latency profile with in-process fake backends: repetitions and their timings,
//! non-determinism across repetitions, decode step times journaled and aggregated, the
//! sweep's harness summary, and device peaks measured once per machine.

use driftbench_core::backend::Backend;
use driftbench_core::backend::Session;
use driftbench_core::dtype::Dtype;
use driftbench_core::error::BackendError;
use driftbench_core::kv::{KvLayout, KvMode};
use driftbench_core::model_spec::ModelSpec;
use driftbench_core::probe::DeviceInfo;
use driftbench_core::probe::Probe;
use driftbench_core::profile::Peaks;
use driftbench_core::profile::RunProfile;
use driftbench_core::roofline::ModelCost;
use driftbench_core::route::Route;
use driftbench_core::session_info::SessionInfo;
use driftbench_sweep::config::SweepConfig;
use driftbench_sweep::grid::Grid;
use driftbench_sweep::journal::Journal;
use driftbench_sweep::peaks_cache::PeaksCache;
use driftbench_sweep::records::{
    PeaksSource, Record, RunRecord, RunStatus, SessionRecord, SummaryRecord,
};
use driftbench_sweep::runner::{
    bitwise_mismatch, run_sweep, FloorSource, PlannedBackend, Silent, Sweep, SweepControl,
};
use driftbench_sweep::verdict::Verdict;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const VOCAB: usize = 7;

/// Logits depend on the prefix only; a `noisy` backend's decode of a prompt (and layout)
/// it has decoded before is off by 1e-3 in its first value.
#[derive(Clone)]
struct Fake {
    name: &'static str,
    noisy: bool,
    peak_calls: Arc<AtomicUsize>,
}

struct FakeSession {
    fake: Fake,
    dtype: Dtype,
    seen: Vec<(Vec<u32>, KvLayout)>,
    profile: RunProfile,
}

fn fill(tokens: &[u32], out: &mut [f32]) {
    let mut h = 7u64;
    for (t, &tok) in tokens.iter().enumerate() {
        h = h.wrapping_mul(131).wrapping_add(tok as u64 + 1);
        for v in 0..VOCAB {
            out[t * VOCAB + v] = ((h.rotate_left(v as u32 * 5) % 89) as f32) / 8.0;
        }
    }
}

impl Backend for Fake {
    fn name(&self) -> &str {
        self.name
    }
    fn probe(&self) -> Probe {
        Probe {
            backend: self.name.into(),
            version: "9.9.9".into(),
            burn_version: None,
            unavailable: None,
            devices: vec![DeviceInfo {
                name: "fake".into(),
                kind: "cpu".into(),
                driver: None,
                dtypes: vec![Dtype::F32, Dtype::F16],
                unsupported: vec![],
                details: vec![],
            }],
            backend_dtypes: vec![],
            kv_unsupported: Vec::new(),
            kv_padding: None,
            traces: false,
        }
    }
    fn open(&self, _: &ModelSpec, dtype: Dtype) -> Result<Box<dyn Session>, BackendError> {
        Ok(Box::new(FakeSession {
            fake: self.clone(),
            dtype,
            seen: Vec::new(),
            profile: RunProfile::default(),
        }))
    }
}

impl Session for FakeSession {
    fn info(&self) -> SessionInfo {
        SessionInfo {
            vocab: VOCAB,
            max_span: 64,
            device: "fake".into(),
            model: "fake".into(),
        }
    }
    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError> {
        fill(tokens, out);
        self.profile = RunProfile {
            step_s: vec![],
            readback_s: Some(1e-4),
            peak_rss_bytes: Some(1 << 20),
        };
        Ok(())
    }
    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError> {
        fill(tokens, out);
        let call = (tokens.to_vec(), layout);
        if self.seen.contains(&call) {
            if self.fake.noisy {
                out[0] += 1e-3;
            }
        } else {
            self.seen.push(call);
        }
        self.profile = RunProfile {
            step_s: (1..=tokens.len()).map(|i| i as f64 * 1e-3).collect(),
            readback_s: Some(2e-4),
            peak_rss_bytes: Some(2 << 20),
        };
        Ok(())
    }
    fn last_profile(&self) -> RunProfile {
        self.profile.clone()
    }
    fn cost(&self) -> Option<ModelCost> {
        Some(ModelCost {
            layers: 1,
            q_dim: 4,
            kv_dim: 2,
            product_params: 1000,
            weight_bytes: 4000,
            weight_dtype: "f32".into(),
            kv_value_bytes: 4,
        })
    }
    fn peaks(&mut self) -> Result<Peaks, BackendError> {
        self.fake.peak_calls.fetch_add(1, Ordering::SeqCst);
        Ok(Peaks {
            dtype: self.dtype,
            product_dtype: self.dtype.to_string(),
            gemm_gflops: 10.0,
            gemm_shape: [8, 8, 8],
            bandwidth_gbs: 5.0,
            bandwidth_method: "fake".into(),
            reps: 1,
        })
    }
}

fn fake(name: &'static str, noisy: bool) -> Fake {
    Fake {
        name,
        noisy,
        peak_calls: Arc::new(AtomicUsize::new(0)),
    }
}

fn planned(f: &Fake) -> PlannedBackend {
    PlannedBackend {
        entry: driftbench_sweep::records::BackendEntry {
            name: f.name.into(),
            source: "test".into(),
            probe: Some(f.probe()),
            error: None,
            plugin: None,
            configured: None,
        },
        backend: Box::new(f.clone()),
    }
}

fn config(extra: &str) -> SweepConfig {
    SweepConfig::parse(
        &format!(
            r#"
[model]
kind = "synthetic"
layers = 1
hidden = 8
heads = 2
kv_heads = 1
ffn = 16
vocab = 7

[sweep]
spans = [3, 6]
dtypes = ["f32"]
kv_aligned = [0, 1]
seeds = [0, 1]
warmup = true
{extra}
"#
        ),
        Path::new("fake.toml"),
    )
    .unwrap()
}

fn sweep(cfg: &SweepConfig, fakes: &[&Fake], ctl: &SweepControl) -> Vec<Record> {
    let dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir.path().join("results.jsonl")).unwrap();
    let planned: Vec<PlannedBackend> = fakes.iter().map(|f| planned(f)).collect();
    run_sweep(
        Sweep {
            cfg,
            grid: &Grid::of(cfg),
            backends: &planned,
            floor: FloorSource::Off,
        },
        None,
        &mut journal,
        &Silent,
        ctl,
    )
    .unwrap()
    .records
}

fn runs<'a>(recs: &'a [Record], backend: &str) -> Vec<&'a RunRecord> {
    recs.iter()
        .filter_map(|r| match r {
            Record::Run(r) if r.key.backend == backend => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
fn repetitions_keep_every_timing_judge_the_first_and_catch_non_determinism() {
    let cfg = config("repetitions = 3");
    let (steady, noisy) = (fake("steady", false), fake("noisy", true));
    let recs = sweep(&cfg, &[&steady, &noisy], &SweepControl::default());

    for name in ["steady", "noisy"] {
        let rs = runs(&recs, name);
        // 2 spans × 2 layouts × 2 seeds pairs, 2 routes, 3 repetitions.
        assert_eq!(rs.len(), 8 * 2 * 3, "{name}");
        for rep in 0..3 {
            assert_eq!(rs.iter().filter(|r| r.rep == rep).count(), 16, "{name}");
        }
        for r in &rs {
            match r.route {
                Route::Decode => assert_eq!(r.profile.step_s.len(), r.key.span),
                Route::Prefill => assert!(r.profile.step_s.is_empty()),
            }
            assert!(r.profile.readback_s.is_some() && r.profile.peak_rss_bytes.is_some());
        }
    }
    let pairs: Vec<_> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Pair(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(pairs.len(), 16);
    for p in &pairs {
        // The first repetition is judged: both routes agree exactly there.
        assert!(
            matches!(p.verdict, Verdict::PassEquiv | Verdict::ExpectedDrift),
            "{p:?}"
        );
        assert_eq!(p.metrics.as_ref().unwrap().max_abs_diff, 0.0);
        if p.key.backend == "steady" {
            assert!(p.repeat_mismatch.is_empty(), "{p:?}");
        } else {
            assert!(!p.repeat_mismatch.is_empty(), "{p:?}");
            assert!(p
                .repeat_mismatch
                .iter()
                .all(|m| m.route == Route::Decode && m.rep >= 1 && m.differing == 1));
        }
    }

    // The last record says where the time went.
    let Some(Record::Summary(s)) = recs.last() else {
        panic!("no summary at the end: {:?}", recs.last());
    };
    let SummaryRecord {
        sweep_wall_s,
        runs_s,
        warmup_s,
        harness,
        ..
    } = s;
    assert!(
        *sweep_wall_s > 0.0 && *runs_s > 0.0 && *warmup_s > 0.0,
        "{s:?}"
    );
    assert!(harness.journal_s > 0.0 && harness.compare_s > 0.0, "{s:?}");
    assert!(
        harness.cross_compare_s > 0.0,
        "two backends are compared: {s:?}"
    );
    let accounted = harness.total_s() + s.loads_s + s.peaks_s + warmup_s + runs_s;
    assert!(accounted <= *sweep_wall_s * 1.0001, "{s:?}");

    // One invocation: one summary, the last record (the report's harness share sums the
    // summaries: its invocations and harness_s are checked on hand-made records in
    // report/tests/report/report_aggregation.rs).
    assert_eq!(
        recs.iter()
            .filter(|r| matches!(r, Record::Summary(_)))
            .count(),
        1
    );
    // No sweep header: the padded cache's block size is not in the journal, so the report
    // has a roofline only for the aligned decode (checked in report_aggregation.rs).
    assert!(!recs.iter().any(|r| matches!(r, Record::Sweep(_))));
    // What the roofline needs: every session carries the model's cost and the peaks.
    let noisy_sessions = sessions(&recs, "noisy");
    assert_eq!(noisy_sessions.len(), 1);
    for s in &noisy_sessions {
        assert!(s.error.is_none() && s.cost.is_some(), "{s:?}");
        let p = s.peaks.as_ref().and_then(|p| p.peaks.as_ref());
        assert!(p.is_some_and(|p| p.gemm_gflops > 0.0), "{s:?}");
    }
    // The noisy backend's measured runs per (span, route, decode layout), prefill over both
    // layouts: the report's latency rows.
    type Group = (usize, Route, Option<KvMode>);
    let mut groups: BTreeMap<Group, Vec<&RunRecord>> = BTreeMap::new();
    for r in runs(&recs, "noisy") {
        if r.status == RunStatus::Ok && r.wall_s.is_some() {
            let kv = (r.route == Route::Decode).then_some(r.key.kv_aligned);
            groups.entry((r.key.span, r.route, kv)).or_default().push(r);
        }
    }
    let decode: Vec<_> = groups
        .iter()
        .filter(|((_, route, _), _)| *route == Route::Decode)
        .collect();
    // Decode groups per (span, kv_aligned); prefill groups per span over both layouts.
    assert_eq!(decode.len(), 4);
    assert_eq!(groups.len(), 6);
    for ((span, _, kv), rs) in decode {
        // 2 seeds × 3 repetitions, `span` steps each: 1 ms, 2 ms, … `span` ms, so the
        // slowest step (the p99 of 6 × span steps) is `span` ms.
        assert!(kv.is_some());
        assert_eq!(rs.len(), 6);
        let expect: Vec<f64> = (1..=*span).map(|i| i as f64 * 1e-3).collect();
        assert!(rs.iter().all(|r| r.profile.step_s == expect), "{rs:?}");
        let steps: Vec<f64> = rs.iter().flat_map(|r| r.profile.step_s.clone()).collect();
        assert_eq!(steps.len(), 6 * span);
        assert_eq!(
            steps.iter().copied().fold(f64::NAN, f64::max),
            *span as f64 * 1e-3
        );
    }
    // The report's Latency Profile, harness line and "Repetitions Differ Bitwise"
    // observation (for the noisy backend only) come from the runs' profiles, the summary and
    // the pairs' `repeat_mismatch` checked above; their rendering is checked on hand-made
    // records in report/tests/report/report_aggregation.rs.
}

#[test]
fn bitwise_comparison_is_nan_aware() {
    let nan = f32::NAN;
    assert_eq!(bitwise_mismatch(&[1.0, nan], &[1.0, nan]), None);
    let (n, max) = bitwise_mismatch(&[1.0, nan], &[1.0, 2.0]).unwrap();
    assert_eq!(n, 1);
    assert!(max.is_nan(), "a NaN against a number is a NaN difference");
    assert_eq!(bitwise_mismatch(&[0.0, 3.0], &[-0.0, 3.5]), Some((2, 0.5)));
    let (n, max) = bitwise_mismatch(&[1.0, 2.0], &[1.0]).unwrap();
    assert_eq!(n, 1);
    assert!(max.is_nan());
}

fn sessions<'a>(recs: &'a [Record], backend: &str) -> Vec<&'a SessionRecord> {
    recs.iter()
        .filter_map(|r| match r {
            Record::Session(s) if s.backend == backend => Some(s),
            _ => None,
        })
        .collect()
}

fn peaks_sources(recs: &[Record]) -> Vec<PeaksSource> {
    recs.iter()
        .filter_map(|r| match r {
            Record::Session(s) => Some(s.peaks.as_ref().unwrap().source),
            _ => None,
        })
        .collect()
}

#[test]
fn peaks_are_measured_once_per_machine_then_read_from_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let mut cfg2 = config("");
    cfg2.dtypes = vec![Dtype::F32, Dtype::F16];
    let f = fake("a", false);
    let ctl = |remeasure| SweepControl {
        peaks: PeaksCache::in_dir(Some(cache.path()), remeasure),
        ..Default::default()
    };
    let first = sweep(&cfg2, &[&f], &ctl(false));
    assert_eq!(
        peaks_sources(&first),
        [PeaksSource::Measured, PeaksSource::Measured]
    );
    assert_eq!(f.peak_calls.load(Ordering::SeqCst), 2);
    // The second sweep reads the file: no probe runs.
    let second = sweep(&cfg2, &[&f], &ctl(false));
    assert_eq!(
        peaks_sources(&second),
        [PeaksSource::Cached, PeaksSource::Cached]
    );
    assert_eq!(f.peak_calls.load(Ordering::SeqCst), 2);
    // One successful load per dtype, each with the cached peaks (the report's per-dtype
    // resources: report/tests/report/report_aggregation.rs).
    let ss = sessions(&second, "a");
    assert_eq!(ss.len(), 2);
    let dtypes: BTreeSet<Dtype> = ss.iter().map(|s| s.dtype).collect();
    assert_eq!(dtypes, BTreeSet::from([Dtype::F32, Dtype::F16]));
    assert!(ss.iter().all(|s| s.error.is_none()
        && s.load_s.is_some()
        && s.peaks
            .as_ref()
            .unwrap()
            .peaks
            .as_ref()
            .unwrap()
            .gemm_gflops
            == 10.0));
    // Asked to measure again: it does, and replaces the cached figures.
    let third = sweep(&cfg2, &[&f], &ctl(true));
    assert_eq!(
        peaks_sources(&third),
        [PeaksSource::Measured, PeaksSource::Measured]
    );
    assert_eq!(f.peak_calls.load(Ordering::SeqCst), 4);
    // `[profile] roofline = false`: nothing measured, nothing read.
    let mut off = cfg2.clone();
    off.profile.roofline = false;
    let fourth = sweep(&off, &[&f], &ctl(false));
    assert_eq!(peaks_sources(&fourth), [PeaksSource::Off, PeaksSource::Off]);
    assert_eq!(f.peak_calls.load(Ordering::SeqCst), 4);
    // No peaks in the records either (the report then says `[profile] roofline = false`:
    // report/tests/report/report_aggregation.rs).
    assert!(sessions(&fourth, "a")
        .iter()
        .all(|s| s.peaks.as_ref().unwrap().peaks.is_none()));
}
