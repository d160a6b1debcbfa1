//! Report built from hand-made records: counts, verdicts, sections, ordering, NaN,
//! observations, performance aggregates, JSON round trip and atomic writes.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics::Metrics;
use driftbench_core::probe::DeviceInfo;
use driftbench_core::probe::Probe;
use driftbench_core::route::Route;
use driftbench_report::{render_markdown, summary_table, write_reports, Report};
use driftbench_sweep::records::{
    BackendEntry, Environment, PairKey, PairRecord, Record, RunRecord, RunStatus, SessionRecord,
    SweepHeader, WarmupRecord, SCHEMA_VERSION,
};
use driftbench_sweep::verdict::DtypeTolerance;
use driftbench_sweep::verdict::GlobalVerdict;
use driftbench_sweep::verdict::Verdict;
use std::collections::BTreeMap;

fn key(backend: &str, span: usize, dtype: Dtype, kv: u8, seed: u64) -> PairKey {
    PairKey {
        backend: backend.to_string(),
        span,
        dtype,
        kv_aligned: KvMode::from_flag(kv.into()).unwrap(),
        seed,
    }
}

fn metrics(max: f64, p99: f64, mean: f64, top1: f64, nf_pre: u64, nf_dec: u64) -> Metrics {
    Metrics {
        max_abs_diff: max,
        p99_abs_diff: p99,
        mean_abs_diff: mean,
        top1_agreement: top1,
        nonfinite_prefill: nf_pre,
        nonfinite_decode: nf_dec,
        positions: 8,
        vocab: 16,
        ..Default::default()
    }
}

fn zero() -> Metrics {
    metrics(0.0, 0.0, 0.0, 1.0, 0, 0)
}

fn pair(k: PairKey, v: Verdict, reason: Option<&str>, m: Option<Metrics>) -> Record {
    Record::Pair(PairRecord {
        key: k,
        verdict: v,
        reason: reason.map(str::to_string),
        metrics: m,
        envelope: None,
        floor: None,
        repeat_mismatch: Vec::new(),
        transport: None,
    })
}

fn run(k: PairKey, route: Route, status: RunStatus, wall: Option<f64>) -> Record {
    Record::Run(RunRecord {
        key: k,
        route,
        status,
        wall_s: wall,
        host_wall_s: None,
        logits_bytes: wall.map(|_| 512),
        reason: (status != RunStatus::Ok).then(|| "why".to_string()),
        counters: Default::default(),
        rep: 0,
        profile: Default::default(),
        fingerprint: None,
    })
}

fn probe(backend: &str, device: &str) -> Probe {
    Probe {
        backend: backend.to_string(),
        version: "0.1.0".to_string(),
        burn_version: Some("0.21.0".to_string()),
        unavailable: None,
        devices: vec![DeviceInfo {
            name: device.to_string(),
            kind: "cpu".to_string(),
            driver: Some("test-driver 1.2".to_string()),
            dtypes: vec![Dtype::F32, Dtype::F16],
            unsupported: vec![(Dtype::Bf16, "adapter has no bf16".to_string())],
            details: vec![("threads".to_string(), "2".to_string())],
        }],
        backend_dtypes: vec![],
        kv_unsupported: Vec::new(),
        kv_padding: None,
        traces: false,
    }
}

fn header() -> Record {
    let mut tolerances = BTreeMap::new();
    for d in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
        tolerances.insert(d, DtypeTolerance::default_for(d));
    }
    Record::Sweep(Box::new(SweepHeader {
        schema_version: SCHEMA_VERSION,
        name: "unit-sweep".to_string(),
        config_path: "configs/unit.toml".to_string(),
        started_unix: 1_770_595_200 + 3723, // 2026-02-09 01:02:03 UTC
        model: "synthetic llama 2 layers".to_string(),
        block_size: 64,
        tolerances,
        pairs_planned: 8,
        environment: Environment {
            driftbench_version: "0.1.0".to_string(),
            commit: Some("abc1234".to_string()),
            os: "linux x86_64".to_string(),
            cpu: "Test CPU".to_string(),
            threads: 2,
            extra: BTreeMap::from([("RAYON_NUM_THREADS".to_string(), "2".to_string())]),
        },
        backends: vec![
            BackendEntry {
                name: "flex".to_string(),
                source: "embedded".to_string(),
                probe: Some(probe("flex", "cpu")),
                error: None,
                plugin: None,
                configured: None,
            },
            BackendEntry {
                name: "wgpu".to_string(),
                source: "plugin libdriftbench_wgpu.so".to_string(),
                probe: Some(probe("wgpu", "llvmpipe")),
                error: None,
                plugin: None,
                configured: None,
            },
        ],
        origin: None,
        merged: None,
        plan: None,
        reference: None,
    }))
}

/// flex: PASS_EQUIV (512), EXPECTED_DRIFT with zero diff (32), FAIL_DRIFT with NaN (128).
/// wgpu: SKIPPED (32), INCOMPLETE (512), EXPECTED_DRIFT with zero diff (128), the last one
/// first journaled as FAIL_DRIFT then replaced (the last record wins).
/// `flex_fail_zero`: make flex's kv0 span-128 pair zero-drift too.
fn records(flex_all_zero: bool) -> Vec<Record> {
    let f512 = key("flex", 512, Dtype::F32, 1, 0);
    let f32_ = key("flex", 32, Dtype::F32, 0, 0);
    let f128 = key("flex", 128, Dtype::F32, 0, 0);
    let w32 = key("wgpu", 32, Dtype::Bf16, 0, 0);
    let w512 = key("wgpu", 512, Dtype::F16, 1, 0);
    let w128 = key("wgpu", 128, Dtype::F16, 0, 1);
    let mut v = vec![
        header(),
        Record::Session(SessionRecord {
            backend: "flex".to_string(),
            dtype: Dtype::F32,
            load_s: Some(1.25),
            device: Some("cpu".to_string()),
            model: Some("synthetic".to_string()),
            error: None,
            cost: None,
            peaks: None,
        }),
        Record::Session(SessionRecord {
            backend: "wgpu".to_string(),
            dtype: Dtype::F16,
            load_s: Some(2.5),
            device: Some("llvmpipe".to_string()),
            model: Some("synthetic".to_string()),
            error: None,
            cost: None,
            peaks: None,
        }),
    ];
    // flex, spans out of order: 512, 32, 128.
    for (k, pre, dec) in [(&f512, 0.5, 1.5), (&f32_, 0.25, 0.75), (&f128, 0.3, 0.9)] {
        v.push(run(k.clone(), Route::Prefill, RunStatus::Ok, Some(pre)));
        v.push(run(k.clone(), Route::Decode, RunStatus::Ok, Some(dec)));
    }
    v.push(pair(
        f512,
        Verdict::PassEquiv,
        None,
        Some(metrics(1e-6, 5e-7, 1e-7, 1.0, 0, 0)),
    ));
    v.push(pair(f32_, Verdict::ExpectedDrift, None, Some(zero())));
    if flex_all_zero {
        v.push(pair(f128, Verdict::ExpectedDrift, None, Some(zero())));
    } else {
        v.push(pair(
            f128,
            Verdict::FailDrift,
            Some("7 non-finite values in decode logits (NaN/Inf)"),
            Some(metrics(f64::NAN, f64::NAN, f64::NAN, 0.5, 0, 7)),
        ));
    }
    // wgpu
    v.push(run(w32.clone(), Route::Prefill, RunStatus::Skipped, None));
    v.push(run(w32.clone(), Route::Decode, RunStatus::Skipped, None));
    v.push(pair(
        w32,
        Verdict::Skipped,
        Some("wgpu: adapter has no bf16"),
        None,
    ));
    v.push(run(w512.clone(), Route::Prefill, RunStatus::Ok, Some(2.0)));
    v.push(run(w512.clone(), Route::Decode, RunStatus::Failed, None));
    v.push(pair(
        w512,
        Verdict::Incomplete,
        Some("decode: worker timed out"),
        None,
    ));
    v.push(run(w128.clone(), Route::Prefill, RunStatus::Ok, Some(0.6)));
    v.push(run(w128.clone(), Route::Decode, RunStatus::Ok, Some(1.8)));
    v.push(pair(w128, Verdict::ExpectedDrift, None, Some(zero())));
    v
}

/// The top-level (`## `) section of `md` whose heading is exactly `heading`.
fn section<'a>(md: &'a str, heading: &str) -> &'a str {
    let start = md
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no section `{heading}` in:\n{md}"))
        + 1;
    let rest = &md[start + heading.len()..];
    let end = rest
        .find("\n## ")
        .map_or(md.len(), |i| start + heading.len() + i);
    &md[start..end]
}

/// Rows of the first markdown table after `heading` inside `text`.
fn table_rows<'a>(text: &'a str, heading: &str) -> Vec<Vec<&'a str>> {
    let at = text.find(heading).expect("table heading");
    text[at..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // header + separator
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect()
}

#[test]
fn counts_per_backend_and_global_verdict() {
    let r = Report::from_records(&records(false));
    assert_eq!(r.schema_version, SCHEMA_VERSION);
    let names: Vec<&str> = r.backends.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["flex", "wgpu"]);

    let flex = r.backend("flex").unwrap();
    let expect_flex = [
        (Verdict::PassEquiv, 1),
        (Verdict::FailEquiv, 0),
        (Verdict::ExpectedDrift, 1),
        (Verdict::FailDrift, 1),
        (Verdict::Incomplete, 0),
        (Verdict::Skipped, 0),
    ];
    for (v, n) in expect_flex {
        assert_eq!(flex.count(v), n, "flex {v}");
    }
    assert_eq!(flex.global, GlobalVerdict::Fail);

    let wgpu = r.backend("wgpu").unwrap();
    let expect_wgpu = [
        (Verdict::PassEquiv, 0),
        (Verdict::FailEquiv, 0),
        (Verdict::ExpectedDrift, 1),
        (Verdict::FailDrift, 0),
        (Verdict::Incomplete, 1),
        (Verdict::Skipped, 1),
    ];
    for (v, n) in expect_wgpu {
        assert_eq!(wgpu.count(v), n, "wgpu {v}");
    }
    assert_eq!(wgpu.global, GlobalVerdict::Incomplete);

    assert_eq!(r.global(), GlobalVerdict::Fail);
    assert_eq!(r.counts.len(), 6, "every verdict listed, zeros included");
    assert_eq!(r.sweep.pairs_classified, 6);
    assert_eq!(r.sweep.pairs_planned, Some(8));
    assert_eq!(r.sweep.date_utc, "2026-02-09 01:02:03 UTC");

    let table = summary_table(&r).to_string();
    for s in [
        "flex",
        "wgpu",
        "all",
        "FAIL",
        "INCOMPLETE",
        "PASS_EQUIV",
        "SKIPPED",
    ] {
        assert!(table.contains(s), "summary table lacks {s}:\n{table}");
    }
}

#[test]
fn runs_versus_pairs() {
    let r = Report::from_records(&records(false));
    let flex = r.backend("flex").unwrap();
    assert_eq!(
        (
            flex.runs.total,
            flex.runs.ok,
            flex.runs.failed,
            flex.runs.skipped
        ),
        (6, 6, 0, 0)
    );
    assert_eq!(flex.pairs, 3);
    let wgpu = r.backend("wgpu").unwrap();
    assert_eq!(
        (
            wgpu.runs.total,
            wgpu.runs.ok,
            wgpu.runs.failed,
            wgpu.runs.skipped
        ),
        (6, 3, 1, 2)
    );
    assert_eq!(wgpu.pairs, 3);
    let md = render_markdown(&r);
    let flex_md = section(&md, "## Backend: flex");
    assert!(flex_md.contains("- **Total runs:** 6 (ok 6, failed 0, skipped 0)"));
    assert!(flex_md.contains("- **Total pairs:** 3 (runs / 2)"));
    let wgpu_md = section(&md, "## Backend: wgpu");
    assert!(wgpu_md.contains("- **Total runs:** 6 (ok 3, failed 1, skipped 2)"));
}

#[test]
fn every_section_heading_is_present() {
    let r = Report::from_records(&records(false));
    let md = render_markdown(&r);
    assert!(md.starts_with("# Sweep Report: unit-sweep\n"));
    assert!(md.contains("**Date:** 2026-02-09 01:02:03 UTC"));
    assert!(md.contains("**Mode:** Span Escalation + Dtype Sweep + Drift Characterization"));
    assert!(md.contains("\n## Global Verdict\n\n**FAIL**\n"));
    for b in ["flex", "wgpu"] {
        let s = section(&md, &format!("## Backend: {b}"));
        for h in [
            "### Global Verdict",
            "### Counting Semantics: Runs vs Pairs",
            "### Observations",
            "### Comparison Results",
            "### Drift Characterization (kv_aligned=0)",
            "### Performance Profiling",
            "#### Decode/Prefill Wall-time Ratio",
            "#### Model Load",
        ] {
            assert!(s.contains(&format!("\n{h}\n")), "{b} lacks `{h}`");
        }
    }
    for h in [
        "## Cross-backend Summary",
        "### Verdicts per Backend",
        "### Mean Wall Time per Backend",
        "## Environment",
        "## Configuration",
    ] {
        assert!(md.contains(&format!("\n{h}\n")), "report lacks `{h}`");
    }
    let env = section(&md, "## Environment");
    for s in [
        "abc1234",
        "Test CPU",
        "RAYON_NUM_THREADS",
        "llvmpipe",
        "test-driver 1.2",
        "unsupported bf16: adapter has no bf16",
        "0.21.0",
    ] {
        assert!(env.contains(s), "environment lacks {s}");
    }
    let cfg = section(&md, "## Configuration");
    assert!(cfg.contains("configs/unit.toml"));
    assert!(cfg.contains("8 planned, 6 classified (2 missing"));
    assert!(cfg.contains("| f16 | 0.25 |"));
}

#[test]
fn spans_sort_numerically_and_nan_is_printed() {
    let r = Report::from_records(&records(false));
    let md = render_markdown(&r);
    let flex = section(&md, "## Backend: flex");
    let rows = table_rows(flex, "### Comparison Results");
    let spans: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(spans, ["32", "128", "512"]);
    let nan_row = rows.iter().find(|r| r[0] == "128").unwrap();
    assert_eq!(&nan_row[4..7], ["NaN", "NaN", "NaN"]);
    // A journal without KL, NMSE or flips (older schema) shows "—" there.
    assert_eq!(&nan_row[7..10], ["—"; 3]);
    assert_eq!(nan_row[11], "—");
    assert_eq!(nan_row[12], "0/7");
    assert_eq!(nan_row[13], "FAIL_DRIFT");
    assert!(nan_row[14].contains("non-finite"));
    let pass = rows.iter().find(|r| r[0] == "512").unwrap();
    assert_eq!(pass[4], "0.000001");
    assert_eq!(pass[10], "1.0000");

    let wgpu = section(&md, "## Backend: wgpu");
    let rows = table_rows(wgpu, "### Comparison Results");
    let spans: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(spans, ["32", "128", "512"]);
    let skipped = rows.iter().find(|r| r[0] == "32").unwrap();
    assert_eq!(&skipped[4..13], ["—"; 9]);
    assert_eq!(skipped[14], "wgpu: adapter has no bf16");

    // Drift table: NaN surfaces in max and mean.
    let drift = table_rows(flex, "### Drift Characterization");
    let spans: Vec<&str> = drift.iter().map(|r| r[0]).collect();
    assert_eq!(spans, ["32", "128"]);
    assert_eq!(drift[1][2], "NaN / NaN");
    // The NaN pair is also named in the observations.
    assert!(flex.contains("#### Observation: Non-finite Values (NaN/Inf)"));
    assert!(flex.contains("0 non-finite in prefill, 7 in decode"));
    assert!(flex.contains("#### Observation: Failures"));
    let wgpu_obs = section(&md, "## Backend: wgpu");
    assert!(wgpu_obs.contains("#### Observation: Skipped Pairs"));
    assert!(wgpu_obs.contains("- wgpu: adapter has no bf16 — 1 pair(s)"));
    assert!(wgpu_obs.contains("#### Observation: Incomplete Pairs"));
    assert!(wgpu_obs.contains("decode: worker timed out"));
}

#[test]
fn zero_drift_observation_only_when_all_kv0_pairs_are_zero() {
    const ZERO: &str = "Observation: kv_aligned=0 Produced Identical Logits (diff=0.0)";
    let md = render_markdown(&Report::from_records(&records(false)));
    // flex has a NaN kv0 pair: drift observed, never "identical".
    let flex = section(&md, "## Backend: flex");
    assert!(!flex.contains(ZERO), "{flex}");
    assert!(flex.contains("Observation: kv_aligned=0 Drift Observed"));
    assert!(flex.contains("largest max_abs_diff NaN (span 128"));
    // wgpu's only measured kv0 pair is zero.
    let wgpu = section(&md, "## Backend: wgpu");
    assert!(wgpu.contains(ZERO), "{wgpu}");
    assert!(wgpu.contains("**not observed**"));

    let md = render_markdown(&Report::from_records(&records(true)));
    let flex = section(&md, "## Backend: flex");
    assert!(flex.contains(ZERO), "{flex}");
    assert!(flex.contains("for all spans (32/128) and dtypes (f32)"));
    assert!(!flex.contains("Drift Observed"));
    assert!(flex.contains("- **f32**: 32 → 0.000000, 128 → 0.000000: no drift at any span"));
}

#[test]
fn performance_aggregates() {
    // 6 prefill runs (2 kv × 3 seeds, as the reference) with hand-picked wall times,
    // 20 decode runs to tell p95 from max, and ignored failed/skipped runs.
    let mut recs = vec![header()];
    let walls = [1.0, 2.0, 3.0, 4.0, 5.0, 20.0];
    for (i, w) in walls.iter().enumerate() {
        let k = key("flex", 64, Dtype::F16, (i % 2) as u8, (i / 2) as u64);
        recs.push(run(k, Route::Prefill, RunStatus::Ok, Some(*w)));
    }
    for i in 1..=20 {
        let k = key("flex", 64, Dtype::F16, 0, i);
        recs.push(run(
            k,
            Route::Decode,
            RunStatus::Ok,
            Some(f64::from(i as u32)),
        ));
    }
    let k = key("flex", 64, Dtype::F16, 0, 99);
    recs.push(run(
        k.clone(),
        Route::Prefill,
        RunStatus::Failed,
        Some(1000.0),
    ));
    recs.push(run(k, Route::Prefill, RunStatus::Skipped, None));
    // Second backend, to check ratios side by side.
    for w in [2.0, 4.0] {
        recs.push(run(
            key("wgpu", 64, Dtype::F16, 1, 0),
            Route::Prefill,
            RunStatus::Ok,
            Some(w),
        ));
    }
    let r = Report::from_records(&recs);
    let flex = r.backend("flex").unwrap();
    assert_eq!(flex.performance.len(), 2);
    let pre = flex
        .performance
        .iter()
        .find(|p| p.route == Route::Prefill)
        .unwrap();
    assert_eq!(pre.samples, 6);
    assert!((pre.wall_mean_s - 35.0 / 6.0).abs() < 1e-12);
    assert_eq!(pre.wall_p95_s, 20.0); // rank ceil(0.95 × 6) = 6
    assert!((pre.per_token_mean_s - 35.0 / 6.0 / 64.0).abs() < 1e-12);
    let tps = walls.iter().map(|w| 64.0 / w).sum::<f64>() / 6.0;
    assert!((pre.tokens_per_s_mean - tps).abs() < 1e-9);
    assert_eq!(pre.logits_bytes_mean, Some(512.0));
    let dec = flex
        .performance
        .iter()
        .find(|p| p.route == Route::Decode)
        .unwrap();
    assert_eq!(dec.samples, 20);
    assert_eq!(dec.wall_mean_s, 10.5);
    assert_eq!(dec.wall_p95_s, 19.0); // rank ceil(0.95 × 20) = 19
    let ratio = &flex.route_ratios[0];
    assert!((ratio.ratio - 10.5 / (35.0 / 6.0)).abs() < 1e-12);

    let md = render_markdown(&r);
    let flex_md = section(&md, "## Backend: flex");
    let rows = table_rows(flex_md, "### Performance Profiling");
    assert_eq!(rows[0][..4], ["64", "f16", "prefill", "5.83s / 20.00s"]);
    assert_eq!(rows[0][7], "6");
    assert_eq!(rows[1][..4], ["64", "f16", "decode", "10.50s / 19.00s"]);
    assert_eq!(rows[1][7], "20");

    // Cross-backend: wgpu prefill mean 3.0 against flex 35/6.
    let row = r
        .cross
        .performance
        .iter()
        .find(|p| p.route == Route::Prefill)
        .unwrap();
    assert_eq!(row.mean_wall_s[0].ratio_to_first, Some(1.0));
    let q = row.mean_wall_s[1].ratio_to_first.unwrap();
    assert!((q - 3.0 / (35.0 / 6.0)).abs() < 1e-12);
    assert!(md.contains("| 64 | f16 | prefill | 5.83s (×1.00) | 3.00s (×0.51) |"));
}

#[test]
fn model_load_is_reported_apart() {
    let r = Report::from_records(&records(false));
    let flex = r.backend("flex").unwrap();
    assert_eq!(flex.model_loads.len(), 1);
    assert_eq!(flex.model_loads[0].load_s, Some(1.25));
    let md = render_markdown(&r);
    let rows = table_rows(section(&md, "## Backend: flex"), "#### Model Load");
    assert_eq!(rows[0][..3], ["f32", "1.25s", "cpu"]);
}

#[test]
fn warm_up_is_reported_apart_per_shape() {
    let k = |kv, seed| key("gpu", 8, Dtype::F32, kv, seed);
    let warm = |route, kv: i64, wall: Option<f64>, error: Option<&str>| {
        Record::Warmup(WarmupRecord {
            backend: "gpu".into(),
            dtype: Dtype::F32,
            span: 8,
            kv_aligned: KvMode::from_flag(kv).unwrap(),
            route,
            wall_s: wall,
            error: error.map(str::to_string),
            counters: Default::default(),
        })
    };
    let recs = vec![
        warm(Route::Prefill, 1, Some(2.0), None),
        warm(Route::Decode, 1, Some(3.0), None),
        run(k(1, 0), Route::Prefill, RunStatus::Ok, Some(0.5)),
        run(k(1, 0), Route::Decode, RunStatus::Ok, Some(1.0)),
        warm(Route::Decode, 0, None, Some("worker died")),
        run(k(0, 0), Route::Prefill, RunStatus::Ok, Some(1.5)),
        run(k(0, 0), Route::Decode, RunStatus::Ok, Some(4.0)),
    ];
    let r = Report::from_records(&recs);
    let gpu = r.backend("gpu").unwrap();
    assert_eq!(gpu.warmups.len(), 3);
    // Prefill is compared with every measured prefill of the span; decode only with its layout.
    assert_eq!(gpu.warmups[0].route, Route::Prefill);
    assert_eq!(gpu.warmups[0].measured_mean_s, Some(1.0));
    let dec1 = gpu
        .warmups
        .iter()
        .find(|w| w.route == Route::Decode && w.kv_aligned == KvMode::Aligned);
    assert_eq!(dec1.unwrap().measured_mean_s, Some(1.0));
    // Warm-up time never leaks into the measured performance table.
    let perf = gpu
        .performance
        .iter()
        .find(|p| p.route == Route::Decode)
        .unwrap();
    assert_eq!(perf.wall_mean_s, 2.5);
    let md = render_markdown(&r);
    let rows = table_rows(section(&md, "## Backend: gpu"), "#### Warm-up");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][..4], ["8", "f32", "prefill", "any"]);
    assert_eq!(rows[1][..7], ["8", "f32", "decode", "0", "—", "4.00s", "—"]);
    assert_eq!(rows[1][7], "worker died");
    assert_eq!(rows[2][2..5], ["decode", "1", "3.00s"]);
}

fn assert_json_close(a: &serde_json::Value, b: &serde_json::Value, at: &str) {
    use serde_json::Value as V;
    match (a, b) {
        (V::Number(x), V::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-12 * x.abs().max(1.0),
                "{at}: {x} != {y}"
            );
        }
        (V::Array(x), V::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: length");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_json_close(x, y, &format!("{at}[{i}]"));
            }
        }
        (V::Object(x), V::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (k, x) in x {
                assert_json_close(x, &y[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

#[test]
fn report_json_round_trips_with_schema_version() {
    let r = Report::from_records(&records(false));
    let json = serde_json::to_string(&r).unwrap();
    assert!(
        json.starts_with(&format!("{{\"schema_version\":{SCHEMA_VERSION},")),
        "{}",
        &json[..60]
    );
    let back: Report = serde_json::from_str(&json).unwrap();
    // NaN != NaN, so compare through the serialized form and check NaN explicitly.
    // serde_json (without `float_roundtrip`) may read a float back 1 ULP off: compare
    // numbers with a relative tolerance, everything else exactly.
    let a: serde_json::Value = serde_json::from_str(&json).unwrap();
    let b = serde_json::to_value(&back).unwrap();
    assert_json_close(&a, &b, "$");
    let flex = back.backend("flex").unwrap();
    let nan = flex.comparisons.iter().find(|c| c.span == 128).unwrap();
    assert!(nan.metrics.as_ref().unwrap().max_abs_diff.is_nan());
    assert!(flex
        .drift
        .iter()
        .find(|d| d.span == 128)
        .unwrap()
        .max_abs_max
        .is_nan());
    assert_eq!(back.global(), GlobalVerdict::Fail);
    assert_eq!(render_markdown(&back), render_markdown(&r));
}

#[test]
fn write_reports_is_atomic_and_leaves_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let r = Report::from_records(&records(false));
    write_reports(dir.path(), &r).unwrap();
    write_reports(dir.path(), &r).unwrap(); // overwrite in place
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // Other writers (plots, CSV, HTML) may add files; none is a leftover temporary file.
    for n in ["report.json", "report.md"] {
        assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
    }
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with('.') || n.ends_with(".tmp")),
        "{names:?}"
    );
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert_eq!(md, render_markdown(&r));
    let json = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema_version"], SCHEMA_VERSION);
    assert_eq!(v["global"], "FAIL");
}

#[test]
fn journal_without_header_renders_with_placeholders() {
    let recs: Vec<Record> = records(false)
        .into_iter()
        .filter(|r| !matches!(r, Record::Sweep(_)))
        .collect();
    let r = Report::from_records(&recs);
    assert!(r.header.is_none());
    assert_eq!(r.sweep.name, "unknown");
    assert_eq!(r.sweep.date_utc, "unknown");
    let md = render_markdown(&r);
    assert!(md.starts_with("# Sweep Report: unknown\n"));
    assert!(md.contains("**Date:** unknown"));
    assert!(md.contains("_unknown: the journal has no sweep header._"));
    assert!(md.contains("- **config:** unknown"));
    assert_eq!(r.global(), GlobalVerdict::Fail);

    let empty = Report::from_records(&[]);
    assert_eq!(
        empty.global(),
        GlobalVerdict::Incomplete,
        "nothing ran: never PASS"
    );
    assert!(render_markdown(&empty).contains("**Backends:** none"));
    assert!(empty.gaps.iter().any(|g| g.contains("no sweep header")));
    assert!(empty
        .gaps
        .iter()
        .any(|g| g.contains("no pair was classified")));
}

#[test]
fn journals_that_are_not_a_whole_sweep_are_incomplete() {
    // A header alone: planned pairs, none run.
    let header_only = Report::from_records(&[header()]);
    assert_eq!(header_only.global(), GlobalVerdict::Incomplete);
    assert!(render_markdown(&header_only).contains("**Not a whole sweep:**"));
    // A passing sweep cut short: every pair present passes, yet pairs are missing.
    let passing: Vec<Record> = records(false)
        .into_iter()
        .filter(|r| match r {
            Record::Pair(p) => p.verdict == Verdict::PassEquiv,
            Record::Run(_) => false,
            _ => true,
        })
        .collect();
    let r = Report::from_records(&passing);
    assert!(r.sweep.pairs_classified < 8);
    assert_eq!(r.global(), GlobalVerdict::Incomplete);
    assert!(
        r.gaps
            .iter()
            .any(|g| g.contains("planned pairs have no verdict")),
        "{:?}",
        r.gaps
    );
}

#[test]
fn text_from_plugins_cannot_forge_markdown() {
    let mut recs = records(false);
    for r in &mut recs {
        if let Record::Pair(p) = r {
            p.reason = Some("boom\n# Fake heading\n| fake | row |\n\x1b[31mred\x1b[0m <b>".into());
        }
    }
    let md = render_markdown(&Report::from_records(&recs));
    assert!(!md.lines().any(|l| l.starts_with("# Fake")), "{md}");
    assert!(!md.lines().any(|l| l.starts_with("| fake")), "{md}");
    assert!(!md.contains('\x1b'));
    // A CommonMark backslash escape, never raw HTML (and never an entity).
    assert!(!md.contains("<b>") || md.matches("<b>").count() == md.matches("\\<b>").count());
    assert!(md.contains("\\<b>") && !md.contains("&lt;"), "{md}");
}
