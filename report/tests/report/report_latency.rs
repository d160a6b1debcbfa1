//! The report's latency profile from hand-made records: the Latency Profile table with its
//! sample counts, the per-dtype load, memory and peaks lines, the harness share, the new
//! performance.csv columns, and report.json with and without the new fields.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::profile::Peaks;
use driftbench_core::profile::RunProfile;
use driftbench_core::roofline::ModelCost;
use driftbench_core::route::Route;
use driftbench_report::render::csv::{performance_csv, PERF_COLUMNS};
use driftbench_report::{render_markdown, Report};
use driftbench_sweep::records::{
    Environment, HarnessTimes, PairKey, PeaksOutcome, PeaksSource, Record, RunRecord, RunStatus,
    SessionRecord, SummaryRecord, SweepHeader, SCHEMA_VERSION,
};
use std::collections::BTreeMap;

fn key(kv: KvMode, seed: u64) -> PairKey {
    PairKey {
        backend: "flex".into(),
        span: 4,
        dtype: Dtype::F32,
        kv_aligned: kv,
        seed,
    }
}

fn run(route: Route, kv: KvMode, seed: u64, rep: u32, steps: Vec<f64>, wall: f64) -> Record {
    Record::Run(RunRecord {
        key: key(kv, seed),
        route,
        status: RunStatus::Ok,
        wall_s: Some(wall),
        host_wall_s: None,
        logits_bytes: Some(4 * 4 * 10),
        reason: None,
        counters: Default::default(),
        rep,
        fingerprint: None,
        profile: RunProfile {
            step_s: steps,
            readback_s: Some(0.001),
            peak_rss_bytes: Some((100 + u64::from(rep)) << 20),
        },
    })
}

fn records() -> Vec<Record> {
    let mut v = vec![
        Record::Sweep(Box::new(SweepHeader {
            schema_version: SCHEMA_VERSION,
            name: "lat".into(),
            config_path: "lat.toml".into(),
            started_unix: 0,
            model: "m".into(),
            block_size: 8,
            tolerances: BTreeMap::new(),
            pairs_planned: 2,
            environment: Environment::default(),
            backends: vec![],
            origin: None,
            merged: None,
            plan: None,
            reference: None,
        })),
        Record::Session(SessionRecord {
            backend: "flex".into(),
            dtype: Dtype::F32,
            load_s: Some(0.25),
            device: Some("cpu".into()),
            model: None,
            error: None,
            cost: Some(ModelCost {
                layers: 2,
                q_dim: 8,
                kv_dim: 4,
                product_params: 1_000_000,
                weight_bytes: 4_000_000,
                weight_dtype: "f32".into(),
                kv_value_bytes: 4,
            }),
            peaks: Some(PeaksOutcome {
                source: PeaksSource::Cached,
                peaks: Some(Peaks {
                    dtype: Dtype::F32,
                    product_dtype: "f32".into(),
                    gemm_gflops: 100.0,
                    gemm_shape: [512, 576, 1536],
                    bandwidth_gbs: 20.0,
                    bandwidth_method: "one-row product 1×4096 · 4096×16384 over 256 MiB of f32"
                        .into(),
                    reps: 5,
                }),
                probe_s: None,
                error: None,
            }),
        }),
    ];
    for kv in [KvMode::Padded, KvMode::Aligned] {
        for rep in 0..2 {
            v.push(run(Route::Prefill, kv, 0, rep, vec![], 0.011));
            let steps = vec![0.001, 0.002, 0.003, 0.004 + f64::from(rep) * 0.001];
            v.push(run(Route::Decode, kv, 0, rep, steps, 0.02));
        }
    }
    v.push(Record::Summary(SummaryRecord {
        sweep_wall_s: 4.0,
        loads_s: 0.25,
        runs_s: 2.0,
        harness: HarnessTimes {
            compare_s: 0.5,
            journal_s: 0.5,
            ..Default::default()
        },
        host_peak_rss_bytes: Some(768 << 20),
        ..Default::default()
    }));
    v
}

/// Rows of the first markdown table after `heading` inside `text`.
fn table_rows<'a>(text: &'a str, heading: &str) -> Vec<Vec<&'a str>> {
    let at = text.find(heading).expect("table heading");
    text[at..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect()
}

#[test]
fn the_latency_profile_says_how_many_samples_each_figure_has() {
    let r = Report::from_records(&records());
    let md = render_markdown(&r);
    let rows = table_rows(&md, "#### Latency Profile");
    // Prefill over both layouts, then decode per layout.
    assert_eq!(rows.len(), 3, "{rows:?}");
    let prefill = &rows[0];
    assert_eq!(prefill[..5], ["4", "f32", "prefill", "any", "4"]);
    assert_eq!(prefill[5], "11.00ms / 11.00ms");
    assert_eq!(prefill[6], "—", "no median ± MAD from fewer than 5 runs");
    assert_eq!(prefill[10], "1.00ms (4)", "read-back mean over 4 runs");
    assert_eq!(prefill[11], "160");
    let decode = rows
        .iter()
        .find(|r| r[2] == "decode" && r[3] == "1")
        .unwrap();
    assert_eq!(decode[4], "2", "two repetitions");
    // Steps 1, 2, 3, 4 ms and 1, 2, 3, 5 ms: p50 rank 4, p90 rank 8.
    assert_eq!(decode[7], "2.00ms / 5.00ms / 5.00ms / 5.00ms");
    assert_eq!(decode[8], "8 (2 runs)");
    // 8 steps over 21 ms.
    assert_eq!(decode[9], format!("{:.1}", 8.0 / 0.021));
    // Roofline against the cached peaks: a percentage of them.
    assert!(decode[12].ends_with("%)"), "{}", decode[12]);
    assert!(decode[13].ends_with("%)"), "{}", decode[13]);
    // The per-backend lines.
    assert!(
        md.contains("- **Model load:** f32 250.00ms (mean of 1)"),
        "{md}"
    );
    assert!(md.contains("f32 101.0 MiB (max over 8 runs)"), "{md}");
    assert!(
        md.contains("GEMM 512×576×1536 in f32: 100.0 GFLOP/s"),
        "{md}"
    );
    assert!(md.contains("read from this machine's peaks cache"), "{md}");
    assert!(
        md.contains("P = 1,000,000 weights multiplied per token"),
        "{md}"
    );
    assert!(md.contains("FLOPs = 2·P·s + 4·layers·q_dim·s²"), "{md}");
    // The sweep's harness share: 1 s of 4 s.
    assert!(
        md.contains("harness: 1.00s of 4.00s sweep (25.0 %)"),
        "{md}"
    );
    let h = table_rows(&md, "### Sweep Time and Harness Share");
    assert!(
        h.iter().any(|r| r[0] == "other" && r[1] == "750.00ms"),
        "{h:?}"
    );
    assert!(
        md.contains("Host process (driftbench itself) peak memory: 768.0 MiB"),
        "{md}"
    );
}

#[test]
fn five_runs_show_median_and_mad_and_report_json_keeps_every_run() {
    // Prefill runs of 10, 11, 12, 13 and 20 ms: median 12 ms; deviations 2, 1, 0, 1, 8 ms:
    // MAD 1 ms (the 20 ms run moves the mean to 13.2 ms, not the median nor the MAD).
    let walls = [0.010, 0.011, 0.012, 0.013, 0.020];
    let recs: Vec<Record> = walls
        .iter()
        .enumerate()
        .map(|(rep, &w)| run(Route::Prefill, KvMode::Aligned, 0, rep as u32, vec![], w))
        .collect();
    let r = Report::from_records(&recs);
    let md = render_markdown(&r);
    let rows = table_rows(&md, "#### Latency Profile");
    assert_eq!(rows[0][4], "5");
    assert_eq!(rows[0][5], "13.20ms / 20.00ms");
    assert_eq!(rows[0][6], "12.00ms ± 1.00ms");
    let b = r.backend("flex").unwrap();
    let s = &b.latency[0].stats;
    assert_eq!(s.wall_samples_s, walls);
    assert_eq!(s.wall_median_s, Some(0.012));
    assert!((s.wall_mad_s.unwrap() - 0.001).abs() < 1e-15);
    // The performance row's profile carries them too: what `diff` tests speed with.
    let json = serde_json::to_value(&r).unwrap();
    let p = &json["backends"][0]["performance"][0]["profile"];
    assert_eq!(p["wall_samples_s"], serde_json::json!(walls));
    assert_eq!(p["wall_median_s"], serde_json::json!(0.012));
}

#[test]
fn roofline_figures_follow_the_formulas() {
    let r = Report::from_records(&records());
    let b = r.backend("flex").unwrap();
    let prefill = b
        .latency
        .iter()
        .find(|l| l.route == Route::Prefill)
        .unwrap();
    let roof = prefill.stats.roofline.as_ref().unwrap();
    // 2·P·s + 4·layers·q_dim·s² over wall − read-back (10 ms per run).
    let flops = 2.0 * 1e6 * 4.0 + 4.0 * 2.0 * 8.0 * 16.0;
    assert!((roof.gflops - flops / 0.010 / 1e9).abs() < 1e-9, "{roof:?}");
    assert!((roof.gflops_of_peak.unwrap() - roof.gflops / 100.0).abs() < 1e-12);
    let padded = b
        .latency
        .iter()
        .find(|l| l.route == Route::Decode && l.kv_aligned == Some(KvMode::Padded))
        .unwrap();
    let roof = padded.stats.roofline.as_ref().unwrap();
    // Every step over the 8 padded keys: W + 2·layers·kv_dim·8·e bytes, 4 steps per run.
    let bytes = 2.0 * 4.0 * (4e6 + 2.0 * 2.0 * 4.0 * 8.0 * 4.0);
    assert!((roof.gbs - bytes / 0.021 / 1e9).abs() < 1e-9, "{roof:?}");
    assert_eq!(roof.runs, 2);
}

#[test]
fn performance_csv_has_the_latency_columns() {
    let r = Report::from_records(&records());
    let csv = performance_csv(&r);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], PERF_COLUMNS.join(","));
    let col = |name: &str| PERF_COLUMNS.iter().position(|c| *c == name).unwrap();
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2, "one row per (span, dtype, route)");
    let decode = rows.iter().find(|r| r[col("route")] == "decode").unwrap();
    assert_eq!(decode[col("steps")], "16");
    assert_eq!(decode[col("step_runs")], "4");
    assert_eq!(decode[col("step_p50_s")], "0.002");
    assert_eq!(decode[col("ttft_mean_s")], "");
    assert_eq!(decode[col("peak_rss_bytes")], (101u64 << 20).to_string());
    assert!(decode[col("gbs_of_peak")].parse::<f64>().unwrap() > 0.0);
    let prefill = rows.iter().find(|r| r[col("route")] == "prefill").unwrap();
    assert_eq!(prefill[col("ttft_mean_s")], "0.011");
    assert_eq!(prefill[col("steps")], "0");
    assert_eq!(prefill[col("step_p99_s")], "");
}

#[test]
fn report_json_round_trips_and_older_reports_still_read() {
    let r = Report::from_records(&records());
    let json = serde_json::to_string(&r).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
    // A report.json written before the latency profile: no latency, resources, harness or
    // per-row profile.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v.as_object_mut().unwrap().remove("harness");
    for b in v["backends"].as_array_mut().unwrap() {
        let b = b.as_object_mut().unwrap();
        b.remove("latency");
        b.remove("resources");
        for p in b["performance"].as_array_mut().unwrap() {
            p.as_object_mut().unwrap().remove("profile");
        }
    }
    // And one written before the median, the MAD and the per-run wall times.
    let mut before: serde_json::Value = serde_json::from_str(&json).unwrap();
    for p in before["backends"][0]["performance"].as_array_mut().unwrap() {
        let profile = p["profile"].as_object_mut().unwrap();
        for k in ["wall_median_s", "wall_mad_s", "wall_samples_s"] {
            assert!(profile.remove(k).is_some(), "{k}");
        }
    }
    let before: Report = serde_json::from_value(before).unwrap();
    let profile = before.backends[0].performance[0].profile.as_ref().unwrap();
    assert!(profile.wall_median_s.is_none() && profile.wall_samples_s.is_empty());
    let old: Report = serde_json::from_value(v).unwrap();
    assert!(old.harness.is_none());
    assert!(old.backends[0].latency.is_empty());
    assert!(old.backends[0].performance[0].profile.is_none());
    // And a journal without profiles renders without one.
    let plain: Vec<Record> = records()
        .into_iter()
        .filter(|r| !matches!(r, Record::Summary(_)))
        .collect();
    let md = render_markdown(&Report::from_records(&plain));
    assert!(md.contains("_The journal records no sweep time"), "{md}");
}
