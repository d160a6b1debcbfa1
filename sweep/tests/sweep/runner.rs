//! The sweep runner with in-process fake backends: backends interleaved cell by cell, every
//! cell compared across backends, counters journaled with warm-ups and runs, unrunnable
//! backends costing only their own pairs.

use driftbench_core::backend::Backend;
use driftbench_core::backend::Session;
use driftbench_core::dtype::Dtype;
use driftbench_core::error::BackendError;
use driftbench_core::kv::KvLayout;
use driftbench_core::kv::KvMode;
use driftbench_core::model_spec::ModelSpec;
use driftbench_core::options::Counters;
use driftbench_core::probe::DeviceInfo;
use driftbench_core::probe::Probe;
use driftbench_core::route::Route;
use driftbench_core::session_info::SessionInfo;
use driftbench_sweep::config::SweepConfig;
use driftbench_sweep::grid::Grid;
use driftbench_sweep::journal::Journal;
use driftbench_sweep::plan::PairPlan;
use driftbench_sweep::records::{
    BackendEntry, CrossRecord, PairKey, PairRecord, Record, SweepHeader, SCHEMA_VERSION,
};
use driftbench_sweep::runner::{
    run_pair, run_sweep, FloorSource, OpenSession, PlannedBackend, Silent, Sweep, SweepControl,
};
use driftbench_sweep::verdict::DtypeTolerance;
use driftbench_sweep::verdict::Verdict;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const VOCAB: usize = 5;

/// Logits that depend on the prefix only; `decode_shift` is added on the decode route and
/// `prefill_shift` on the prefill route.
#[derive(Clone)]
struct Fake {
    name: &'static str,
    prefill_shift: f32,
    decode_shift: f32,
    no_f16: bool,
    /// The probe says kv_aligned=1 cannot be expressed (and decode panics if asked).
    no_aligned: bool,
}

struct FakeSession {
    fake: Fake,
    calls: u64,
}

fn fill(tokens: &[u32], out: &mut [f32], shift: f32) {
    let mut h = 0u64;
    for (t, &tok) in tokens.iter().enumerate() {
        h = h.wrapping_mul(31).wrapping_add(tok as u64 + 1);
        for v in 0..VOCAB {
            out[t * VOCAB + v] = ((h.rotate_left(v as u32 * 7) % 97) as f32) / 10.0 + shift;
        }
    }
}

impl Backend for Fake {
    fn name(&self) -> &str {
        self.name
    }
    fn probe(&self) -> Probe {
        let mut dtypes = vec![Dtype::F32, Dtype::F64];
        let mut unsupported = vec![];
        if self.no_f16 {
            unsupported.push((Dtype::F16, "fake device has no f16".to_string()));
        } else {
            dtypes.push(Dtype::F16);
        }
        Probe {
            backend: self.name.into(),
            version: "0".into(),
            burn_version: None,
            unavailable: None,
            devices: vec![DeviceInfo {
                name: "fake".into(),
                kind: "cpu".into(),
                driver: None,
                dtypes,
                unsupported,
                details: vec![],
            }],
            backend_dtypes: vec![],
            kv_unsupported: if self.no_aligned {
                vec![(KvMode::Aligned, "fake cache always pads".to_string())]
            } else {
                Vec::new()
            },
            kv_padding: None,
            traces: false,
        }
    }
    fn open(&self, _: &ModelSpec, _: Dtype) -> Result<Box<dyn Session>, BackendError> {
        Ok(Box::new(FakeSession {
            fake: self.clone(),
            calls: 0,
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
        self.calls += 1;
        fill(tokens, out, self.fake.prefill_shift);
        Ok(())
    }
    fn decode(
        &mut self,
        tokens: &[u32],
        layout: KvLayout,
        out: &mut [f32],
    ) -> Result<(), BackendError> {
        assert!(
            !(self.fake.no_aligned && layout == KvLayout::Aligned),
            "decode asked for a layout the probe ruled out"
        );
        self.calls += 1;
        fill(tokens, out, self.fake.decode_shift);
        Ok(())
    }
    fn last_counters(&self) -> Counters {
        [("calls".to_string(), self.calls)].into()
    }
}

fn planned(f: Fake) -> PlannedBackend {
    PlannedBackend {
        entry: BackendEntry {
            name: f.name.into(),
            source: "test".into(),
            probe: Some(f.probe()),
            error: None,
            plugin: None,
            configured: None,
        },
        backend: Box::new(f),
    }
}

fn config() -> SweepConfig {
    SweepConfig::parse(
        r#"
[model]
kind = "synthetic"
layers = 1
hidden = 8
heads = 2
kv_heads = 1
ffn = 16
vocab = 5

[sweep]
spans = [3, 6]
dtypes = ["f32", "f16"]
kv_aligned = [0, 1]
seeds = [0, 1]
"#,
        Path::new("fake.toml"),
    )
    .unwrap()
}

#[test]
fn the_configured_reference_backend_is_the_matrix_reference() {
    let mut cfg = config();
    cfg.reference.backend = Some("b".into());
    let planned: Vec<PlannedBackend> = [fake("a", 0.0, 0.0), fake("b", 0.0, 0.25)]
        .into_iter()
        .map(planned)
        .collect();
    let recs = sweep_with(&cfg, &planned, FloorSource::Off);
    let cs = crosses(&recs);
    assert_eq!(cs.len(), 16 * 2);
    assert!(cs
        .iter()
        .all(|c| c.reference == "b" && c.key.backend == "a"));
}

#[test]
fn the_noise_floor_is_measured_once_per_span_and_seed_and_judges_drift() {
    // The f64 reference has no shift; the backend is off by 0.1 in prefill and 0.3 in
    // decode, so its floor is 0.1 and its drift 0.2 = 2 × the floor.
    let reference = planned(fake("ref", 0.0, 0.0));
    let backend = vec![planned(fake("a", 0.1, 0.3))];
    for (mode, k, pass) in [
        ("noise_floor", 4.0, true),
        ("noise_floor", 1.5, false),
        ("both", 4.0, true),
    ] {
        let mut cfg = config();
        cfg.reference.rule.mode =
            driftbench_sweep::noise_floor::ToleranceMode::parse(mode).unwrap();
        cfg.reference.rule.k = k;
        // By default the f64 prefill stands for both routes; "both" runs the f64 decode too.
        let decode_ref = mode == "both";
        cfg.reference.floor_decode = decode_ref;
        // f32's fixed bound (1e-3) would fail a drift of 0.2: widen it so "both" can pass.
        for t in cfg.tolerances.values_mut() {
            t.equiv.max_abs = 1.0;
            t.drift.max_abs = 1.0;
        }
        let recs = sweep_with(&cfg, &backend, FloorSource::Backend(&reference));
        let refs: Vec<_> = recs
            .iter()
            .filter_map(|r| match r {
                Record::Reference(x) => Some(x),
                _ => None,
            })
            .collect();
        // 2 spans × 2 seeds, once for both dtypes and both layouts.
        assert_eq!(refs.len(), 4, "{mode}");
        assert!(refs.iter().all(|r| r.error.is_none() && r.backend == "ref"));
        assert!(refs.iter().all(|r| r.prefill_wall_s.is_some()));
        if decode_ref {
            assert_eq!(refs[0].metrics.as_ref().unwrap().max_abs_diff, 0.0);
            assert!(refs.iter().all(|r| r.decode_wall_s.is_some()));
        } else {
            assert!(refs
                .iter()
                .all(|r| r.metrics.is_none() && r.decode_wall_s.is_none()));
        }
        for p in recs.iter().filter_map(|r| match r {
            Record::Pair(p) => Some(p),
            _ => None,
        }) {
            let f = p.floor.as_ref().expect("every pair has its floor");
            assert_eq!(f.reference, "ref f64");
            assert!((f.prefill.max_abs_diff - 0.1).abs() < 1e-6);
            assert!((f.decode.max_abs_diff - 0.3).abs() < 1e-6);
            assert!((f.floor() - 0.1).abs() < 1e-6);
            assert!((f.route_ratio().unwrap() - 3.0).abs() < 1e-4);
            let multiple = f
                .multiple(p.metrics.as_ref().unwrap().max_abs_diff)
                .unwrap();
            assert!((multiple - 2.0).abs() < 1e-4);
            let passed = matches!(p.verdict, Verdict::PassEquiv | Verdict::ExpectedDrift);
            assert_eq!(passed, pass, "{mode} k={k}: {:?} {:?}", p.verdict, p.reason);
            if !pass {
                assert!(
                    p.reason.as_deref().unwrap().contains("noise floor"),
                    "{:?}",
                    p.reason
                );
            }
        }
    }
}

#[test]
fn a_floor_mode_without_a_floor_is_incomplete() {
    let mut cfg = config();
    cfg.reference.rule.mode = driftbench_sweep::noise_floor::ToleranceMode::NoiseFloor;
    let backend = vec![planned(fake("a", 0.0, 0.0))];
    let recs = sweep_with(
        &cfg,
        &backend,
        FloorSource::Missing("no backend named flex".into()),
    );
    let pairs: Vec<_> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Pair(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(pairs.len(), 16);
    for p in pairs {
        assert_eq!(p.verdict, Verdict::Incomplete);
        assert!(p
            .reason
            .as_deref()
            .unwrap()
            .contains("no backend named flex"));
    }
}

fn sweep_with(cfg: &SweepConfig, planned: &[PlannedBackend], floor: FloorSource) -> Vec<Record> {
    let dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir.path().join("results.jsonl")).unwrap();
    run_sweep(
        Sweep {
            cfg,
            grid: &Grid::of(cfg),
            backends: planned,
            floor,
        },
        None,
        &mut journal,
        &Silent,
        &SweepControl::default(),
    )
    .unwrap()
    .records
}

fn sweep(backends: Vec<Fake>) -> Vec<Record> {
    sweep_planned(backends.into_iter().map(planned).collect())
}

fn sweep_planned(planned: Vec<PlannedBackend>) -> Vec<Record> {
    let dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir.path().join("results.jsonl")).unwrap();
    let cfg = config();
    let header = Record::Sweep(Box::new(SweepHeader {
        schema_version: SCHEMA_VERSION,
        name: cfg.name.clone(),
        config_path: "fake.toml".into(),
        started_unix: 0,
        model: cfg.model.describe(),
        block_size: cfg.block_size,
        tolerances: cfg.tolerances.clone(),
        pairs_planned: 0,
        environment: Default::default(),
        backends: planned.iter().map(|p| p.entry.clone()).collect(),
        origin: None,
        merged: None,
        plan: None,
        reference: None,
    }));
    run_sweep(
        Sweep {
            cfg: &cfg,
            grid: &Grid::of(&cfg),
            backends: &planned,
            floor: FloorSource::Off,
        },
        Some(header),
        &mut journal,
        &Silent,
        &SweepControl::default(),
    )
    .unwrap()
    .records
}

fn fake(name: &'static str, prefill_shift: f32, decode_shift: f32) -> Fake {
    Fake {
        name,
        prefill_shift,
        decode_shift,
        no_f16: false,
        no_aligned: false,
    }
}

fn crosses(records: &[Record]) -> Vec<&CrossRecord> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Cross(c) => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn every_cell_is_compared_across_backends_route_by_route() {
    let recs = sweep(vec![
        fake("a", 0.0, 0.0),
        fake("b", 0.0, 0.25),
        fake("c", 0.5, 0.5),
    ]);
    let cs = crosses(&recs);
    // 2 dtypes × 2 spans × 2 layouts × 2 seeds cells, 2 backends against the reference (no
    // flex here, so the first backend), 2 routes.
    assert_eq!(cs.len(), 16 * 2 * 2);
    assert!(cs.iter().all(|c| c.reference == "a"));
    let diff = |b: &str, r: &str, route| {
        let ms: Vec<f64> = cs
            .iter()
            .filter(|c| c.key.backend == b && c.reference == r && c.route == route)
            .map(|c| c.metrics.max_abs_diff)
            .collect();
        assert_eq!(ms.len(), 16);
        ms.iter().cloned().fold(f64::NAN, f64::max)
    };
    assert_eq!(diff("b", "a", Route::Prefill), 0.0);
    assert!((diff("b", "a", Route::Decode) - 0.25).abs() < 1e-6);
    assert!((diff("c", "a", Route::Prefill) - 0.5).abs() < 1e-6);
    assert!((diff("c", "a", Route::Decode) - 0.5).abs() < 1e-6);
    // The groups the report aggregates them by: (backend, reference, dtype, route, decode
    // layout), prefill over both layouts. The report's own aggregation of such groups is
    // tested on hand-made records in report/tests/report/report_aggregation.rs.
    type Group<'a> = (&'a str, &'a str, Dtype, Route, Option<KvMode>);
    let mut groups: BTreeMap<Group, Vec<&CrossRecord>> = BTreeMap::new();
    for c in &cs {
        let kv = (c.route == Route::Decode).then_some(c.key.kv_aligned);
        groups
            .entry((
                c.key.backend.as_str(),
                c.reference.as_str(),
                c.key.dtype,
                c.route,
                kv,
            ))
            .or_default()
            .push(c);
    }
    assert_eq!(groups.len(), 2 * 2 * 3); // backends × dtypes × (prefill, decode kv 0, decode kv 1)
    for ((_, _, _, route, _), g) in &groups {
        // 2 spans × 2 seeds, prefill over both layouts.
        let expect = if *route == Route::Prefill { 8 } else { 4 };
        assert_eq!(g.len(), expect, "{route:?}");
    }
    let g = &groups[&("b", "a", Dtype::F16, Route::Decode, Some(KvMode::Aligned))];
    let max_abs_max = g
        .iter()
        .map(|c| c.metrics.max_abs_diff)
        .fold(f64::NAN, f64::max);
    assert!((max_abs_max - 0.25).abs() < 1e-6);
    assert_eq!(g.len(), 4);
    let top1_min = g
        .iter()
        .map(|c| c.metrics.top1_agreement)
        .fold(f64::NAN, f64::min);
    assert_eq!(top1_min, 1.0);
}

#[test]
fn backends_are_interleaved_cell_by_cell() {
    let recs = sweep(vec![fake("a", 0.0, 0.0), fake("b", 0.0, 0.0)]);
    let order: Vec<(&str, usize, u8, u64)> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Pair(p) => Some((
                p.key.backend.as_str(),
                p.key.span,
                p.key.kv_aligned.flag(),
                p.key.seed,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(order.len(), 32);
    assert_eq!(
        &order[..4],
        &[
            ("a", 3, 0, 0),
            ("b", 3, 0, 0),
            ("a", 3, 0, 1),
            ("b", 3, 0, 1)
        ]
    );
    // Each dtype's sessions open before its first run.
    let first_run = recs
        .iter()
        .position(|r| matches!(r, Record::Run(_)))
        .unwrap();
    let sessions_before = recs[..first_run]
        .iter()
        .filter(|r| matches!(r, Record::Session(s) if s.dtype == Dtype::F32))
        .count();
    assert_eq!(sessions_before, 2);
}

#[test]
fn counters_are_journaled_with_warm_ups_and_runs() {
    let recs = sweep(vec![fake("a", 0.0, 0.0)]);
    let warm: Vec<u64> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Warmup(w) => w.counters.get("calls").copied(),
            _ => None,
        })
        .collect();
    // Per dtype: prefill + decode kv 0 + decode kv 1 warm-ups at each of 2 spans.
    assert_eq!(warm.len(), 2 * 2 * 3);
    assert_eq!(warm[0], 1, "the first call of a session counts 1");
    let runs_with_counters = recs
        .iter()
        .filter(|r| matches!(r, Record::Run(run) if run.counters.contains_key("calls")))
        .count();
    assert_eq!(runs_with_counters, 2 * 16);
}

#[test]
fn an_unavailable_dtype_skips_only_that_backend_and_is_not_compared() {
    let mut b = fake("b", 0.0, 0.0);
    b.no_f16 = true;
    let recs = sweep(vec![fake("a", 0.0, 0.0), b]);
    let pairs: Vec<&PairRecord> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Pair(p) => Some(p),
            _ => None,
        })
        .collect();
    // Each pair is journaled once (so no later record replaces a verdict).
    let keys: BTreeSet<&PairKey> = pairs.iter().map(|p| &p.key).collect();
    assert_eq!(keys.len(), pairs.len());
    let count = |backend: &str, v: Verdict| {
        pairs
            .iter()
            .filter(|p| p.key.backend == backend && p.verdict == v)
            .count()
    };
    assert_eq!(count("b", Verdict::Skipped), 8);
    assert_eq!(count("b", Verdict::PassEquiv), 4);
    assert_eq!(count("a", Verdict::PassEquiv), 8);
    assert!(pairs
        .iter()
        .filter(|p| p.key.backend == "b" && p.verdict == Verdict::Skipped)
        .all(|p| p.key.dtype == Dtype::F16));
    assert!(crosses(&recs).iter().all(|c| c.key.dtype == Dtype::F32));
    assert_eq!(crosses(&recs).len(), 8 * 2);
}

#[test]
fn a_layout_the_probe_rules_out_is_skipped_with_its_reason_and_never_run() {
    let mut b = fake("b", 0.0, 0.0);
    b.no_aligned = true;
    let recs = sweep(vec![fake("a", 0.0, 0.0), b]);
    let b_pairs: Vec<&PairRecord> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Pair(p) if p.key.backend == "b" => Some(p),
            _ => None,
        })
        .collect();
    assert!(b_pairs.iter().any(|p| p.key.kv_aligned == KvMode::Padded));
    for p in &b_pairs {
        if p.key.kv_aligned == KvMode::Aligned {
            assert_eq!(p.verdict, Verdict::Skipped, "{p:?}");
            let why = p.reason.as_deref().unwrap_or("");
            assert!(
                why.contains("kv_aligned=1 unsupported: fake cache always pads"),
                "{why}"
            );
        } else {
            assert_eq!(
                p.verdict,
                Verdict::ExpectedDrift,
                "padded pairs still run: {p:?}"
            );
        }
    }
    // The skipped cells leave nothing for b to be compared with.
    assert!(crosses(&recs)
        .iter()
        .filter(|c| c.key.kv_aligned == KvMode::Aligned)
        .all(|c| c.key.backend != "b" && c.reference != "b"));
}

/// A session whose decode reports success but writes only its first `rows` rows, into a
/// buffer that held the prefill's logits just before (as a reused buffer would).
struct Lazy {
    rows: usize,
    vocab: usize,
}

impl Session for Lazy {
    fn info(&self) -> SessionInfo {
        SessionInfo {
            vocab: self.vocab,
            max_span: 64,
            device: "lazy".into(),
            model: "lazy".into(),
        }
    }
    fn prefill(&mut self, tokens: &[u32], out: &mut [f32]) -> Result<(), BackendError> {
        fill(tokens, out, 0.0);
        Ok(())
    }
    fn decode(&mut self, tokens: &[u32], _: KvLayout, out: &mut [f32]) -> Result<(), BackendError> {
        let mut full = vec![0.0; out.len()];
        fill(tokens, &mut full, 0.0);
        let n = (self.rows * VOCAB).min(out.len());
        out[..n].copy_from_slice(&full[..n]);
        Ok(())
    }
}

fn pair_of(rows: usize) -> PairRecord {
    let plan = PairPlan {
        block_size: 4,
        tolerance: DtypeTolerance::default_for(Dtype::F32),
        warmup: false,
        rule: Default::default(),
        repetitions: 1,
        prompt: Default::default(),
    };
    let key = PairKey {
        backend: "lazy".into(),
        span: 6,
        dtype: Dtype::F32,
        kv_aligned: KvMode::Aligned,
        seed: 0,
    };
    let mut open = OpenSession::new(Box::new(Lazy { rows, vocab: VOCAB }), VOCAB);
    let out = run_pair(&plan, &key, &mut open, None);
    out.records
        .into_iter()
        .find_map(|r| match r {
            Record::Pair(p) => Some(p),
            _ => None,
        })
        .expect("a pair record")
}

#[test]
fn a_decode_that_leaves_logits_unwritten_is_incomplete_never_pass() {
    assert_eq!(pair_of(6).verdict, Verdict::PassEquiv, "all rows written");
    for rows in [0, 1, 5] {
        let p = pair_of(rows);
        assert_eq!(p.verdict, Verdict::Incomplete, "{rows} rows written");
        let why = p.reason.unwrap();
        assert!(why.contains("unwritten"), "{why}");
        assert!(
            why.contains(&format!("first: position {rows}, vocab index 0")),
            "{why}"
        );
    }
}

#[test]
fn a_session_reporting_an_impossible_vocab_costs_only_its_pairs() {
    #[derive(Clone)]
    struct Huge(usize);
    impl Backend for Huge {
        fn name(&self) -> &str {
            "huge"
        }
        fn probe(&self) -> Probe {
            Fake {
                name: "huge",
                prefill_shift: 0.0,
                decode_shift: 0.0,
                no_f16: false,
                no_aligned: false,
            }
            .probe()
        }
        fn open(&self, _: &ModelSpec, _: Dtype) -> Result<Box<dyn Session>, BackendError> {
            Ok(Box::new(Lazy {
                rows: 0,
                vocab: self.0,
            }))
        }
    }
    for vocab in [0, 1 << 31, 1 << 62] {
        let mut p = planned(Fake {
            name: "flex",
            prefill_shift: 0.0,
            decode_shift: 0.0,
            no_f16: false,
            no_aligned: false,
        });
        let huge = PlannedBackend {
            entry: BackendEntry {
                name: "huge".into(),
                ..p.entry.clone()
            },
            backend: Box::new(Huge(vocab)),
        };
        p.entry.name = "flex".into();
        let recs = sweep_planned(vec![huge, p]);
        for r in &recs {
            if let Record::Pair(p) = r {
                if p.key.backend == "huge" {
                    assert_eq!(p.verdict, Verdict::Incomplete, "vocab {vocab}");
                    assert!(p.reason.as_deref().unwrap().contains("vocab"));
                } else {
                    assert!(
                        matches!(p.verdict, Verdict::PassEquiv | Verdict::ExpectedDrift),
                        "flex intact"
                    );
                }
            }
        }
    }
}

/// Every progress message, in order.
#[derive(Default)]
struct Recorded(std::cell::RefCell<Vec<String>>);

impl driftbench_sweep::runner::Progress for Recorded {
    fn start(&self, _: u64) {}
    fn message(&self, msg: &str) {
        self.0.borrow_mut().push(msg.to_string());
    }
    fn advance(&self, _: u64) {}
    fn println(&self, _: &str) {}
}

#[test]
fn warm_ups_say_which_shape_of_how_many_and_what_compiled_so_far() {
    let cfg = config();
    let dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::create(&dir.path().join("results.jsonl")).unwrap();
    let progress = Recorded::default();
    let planned = vec![planned(fake("a", 0.0, 0.0))];
    run_sweep(
        Sweep {
            cfg: &cfg,
            grid: &Grid::of(&cfg),
            backends: &planned,
            floor: FloorSource::Off,
        },
        None,
        &mut journal,
        &progress,
        &SweepControl::default(),
    )
    .unwrap();
    let said = progress.0.borrow();
    let warming: Vec<&String> = said.iter().filter(|m| m.contains("warming up")).collect();
    // Per dtype: 2 spans' prefill and 2 × 2 decode layouts = 6 shapes; the first pair of a
    // span warms its prefill and one decode layout, the second the other layout.
    for dtype in ["f32", "f16"] {
        let of_dtype: Vec<&&String> = warming
            .iter()
            .filter(|m| m.starts_with(&format!("a {dtype}:")))
            .collect();
        let shapes: Vec<&str> = of_dtype
            .iter()
            .map(|m| m.split(" of 6").next().unwrap().rsplit(' ').next().unwrap())
            .collect();
        assert_eq!(shapes, ["1", "3", "4", "6"], "{dtype}: {of_dtype:?}");
    }
    assert!(
        warming[0].ends_with("(span 3), 0 kernels compiled so far"),
        "{}",
        warming[0]
    );
    // Pairs whose shapes are warm show the pair, not a warm-up.
    assert!(
        said.iter().any(|m| m == "a f32 span 3 kv_aligned 0 seed 1"),
        "{said:?}"
    );
}
