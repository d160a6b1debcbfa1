//! `report::diff`: a report against itself, changed verdicts, metric and speed moves
//! beyond the thresholds, missing pairs, and a `report.json` of an older driftbench; what
//! `ReportView::read` refuses (JSON that is not a report, a run identity twice) and speed
//! ratios of NaN, infinite, zero or negative wall times; slowdowns judged by medians and a
//! Mann–Whitney test of 5 or more runs a side.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics::Metrics;
use driftbench_core::route::Route;
use driftbench_report::diff::{
    diff_reports, Center, Change, ReportError, ReportView, Thresholds, MIN_RUNS,
};
use driftbench_report::Report;
use driftbench_sweep::records::{PairKey, PairRecord, Record, RunRecord, RunStatus};
use driftbench_sweep::verdict::GlobalVerdict;
use driftbench_sweep::verdict::Verdict;
use serde_json::Value;

fn key(span: usize, kv: u8) -> PairKey {
    PairKey {
        backend: "flex".into(),
        span,
        dtype: Dtype::F32,
        kv_aligned: KvMode::from_flag(kv.into()).unwrap(),
        seed: 0,
    }
}

fn metrics(max: f64) -> Metrics {
    Metrics {
        max_abs_diff: max,
        p99_abs_diff: max / 2.0,
        mean_abs_diff: max / 10.0,
        top1_agreement: 1.0,
        positions: 8,
        vocab: 16,
        kl_mean: Some(1e-9),
        ..Default::default()
    }
}

/// Records of four pairs (spans 8 and 16, both layouts) with runs of `wall` seconds; the
/// span-16 aligned pair gets `v16` and max_abs `m16`.
fn records(v16: Verdict, m16: f64, wall: f64) -> Vec<Record> {
    let mut out = Vec::new();
    for (span, kv) in [(8, 1), (8, 0), (16, 1), (16, 0)] {
        let k = key(span, kv);
        for route in [Route::Prefill, Route::Decode] {
            out.push(Record::Run(RunRecord {
                key: k.clone(),
                route,
                status: RunStatus::Ok,
                wall_s: Some(wall),
                host_wall_s: None,
                logits_bytes: Some(512),
                reason: None,
                counters: Default::default(),
                rep: 0,
                profile: Default::default(),
                fingerprint: None,
            }));
        }
        let (verdict, max) = match (span, kv) {
            (16, 1) => (v16, m16),
            (_, 1) => (Verdict::PassEquiv, 1e-6),
            _ => (Verdict::ExpectedDrift, 1e-3),
        };
        out.push(Record::Pair(PairRecord {
            key: k,
            verdict,
            reason: None,
            metrics: Some(metrics(max)),
            envelope: None,
            floor: None,
            repeat_mismatch: Vec::new(),
            transport: None,
        }));
    }
    out
}

fn view(v16: Verdict, m16: f64, wall: f64) -> ReportView {
    ReportView::of(&Report::from_records(&records(v16, m16, wall)))
}

#[test]
fn a_report_against_itself_has_no_change() {
    let r = Report::from_records(&records(Verdict::PassEquiv, 1e-6, 0.01));
    let json = serde_json::to_string(&r).unwrap();
    let a = ReportView::parse(&json).unwrap();
    let d = diff_reports(&a, &a, Thresholds::default());
    assert!(d.no_change(), "{d:?}");
    assert!(d.regressions().is_empty());
    assert_eq!(
        d.speed.len(),
        4,
        "one ratio per (span, route): {:?}",
        d.speed
    );
    assert!(d.speed.iter().all(|s| s.ratio == 1.0));
}

#[test]
fn a_worse_verdict_is_a_regression_naming_the_pair() {
    let old = view(Verdict::PassEquiv, 1e-6, 0.01);
    let new = view(Verdict::FailEquiv, 0.5, 0.01);
    let d = diff_reports(&old, &new, Thresholds::default());
    assert!(!d.no_change());
    assert_eq!(d.verdicts.len(), 1, "{:?}", d.verdicts);
    assert_eq!(d.verdicts[0].key, key(16, 1));
    assert_eq!(d.verdicts[0].change, Change::Regressed);
    let regs = d.regressions();
    assert!(
        regs.iter()
            .any(|r| r.contains("flex f32 span 16 kv_aligned 1 seed 0")
                && r.contains("PASS_EQUIV → FAIL_EQUIV")),
        "{regs:?}"
    );
    assert_eq!(d.new_global, Some(GlobalVerdict::Fail));
    assert!(d.global_regressed());

    // The other way round is an improvement, not a regression.
    let back = diff_reports(&new, &old, Thresholds::default());
    assert_eq!(back.verdicts[0].change, Change::Improved);
    assert!(back.regressions().is_empty(), "{:?}", back.regressions());
}

#[test]
fn metric_moves_beyond_both_thresholds_are_reported() {
    let old = view(Verdict::PassEquiv, 1e-4, 0.01);
    // Same verdict, max_abs tripled: beyond 25% and beyond 1e-6.
    let new = view(Verdict::PassEquiv, 3e-4, 0.01);
    let d = diff_reports(&old, &new, Thresholds::default());
    assert!(d.verdicts.is_empty());
    let m = d
        .metrics
        .iter()
        .find(|m| m.metric == "max_abs_diff")
        .unwrap_or_else(|| panic!("{:?}", d.metrics));
    assert_eq!(
        (m.key.clone(), m.old, m.new, m.worse),
        (key(16, 1), 1e-4, 3e-4, true)
    );
    assert!(!d.no_change());
    // Reported, but a regression only when asked.
    assert!(d.regressions().is_empty());
    let strict = Thresholds {
        fail_on_metrics: true,
        ..Thresholds::default()
    };
    assert!(!diff_reports(&old, &new, strict).regressions().is_empty());

    // 10% more: within the relative threshold.
    let small = view(Verdict::PassEquiv, 1.1e-4, 0.01);
    assert!(diff_reports(&old, &small, Thresholds::default())
        .metrics
        .is_empty());
    // Tripled but tiny: within the absolute threshold.
    let (a, b) = (
        view(Verdict::PassEquiv, 1e-8, 0.01),
        view(Verdict::PassEquiv, 3e-8, 0.01),
    );
    assert!(diff_reports(&a, &b, Thresholds::default())
        .metrics
        .is_empty());
    // A metric turning NaN is always reported, as worse.
    let nan = view(Verdict::FailEquiv, f64::NAN, 0.01);
    let d = diff_reports(&old, &nan, Thresholds::default());
    assert!(d
        .metrics
        .iter()
        .any(|m| m.metric == "max_abs_diff" && m.worse && m.new.is_nan()));
}

/// The four-pair report with `reps` repetitions of every run, repetition `r` timed
/// `wall(r)`: each (span, route) row holds 2 × `reps` runs (both KV layouts).
fn timed(reps: u32, wall: impl Fn(u32) -> f64) -> ReportView {
    let recs: Vec<Record> = records(Verdict::PassEquiv, 1e-6, 0.0)
        .into_iter()
        .flat_map(|r| match r {
            Record::Run(run) => (0..reps)
                .map(|rep| {
                    Record::Run(RunRecord {
                        rep,
                        wall_s: Some(wall(rep)),
                        ..run.clone()
                    })
                })
                .collect::<Vec<_>>(),
            other => vec![other],
        })
        .collect();
    ReportView::of(&Report::from_records(&recs))
}

#[test]
fn slowdowns_are_flagged_and_fail_only_when_asked() {
    let strict = Thresholds {
        fail_on_slowdown: true,
        ..Thresholds::default()
    };
    // 3 repetitions of both layouts: 6 runs a row, each new one twice as slow.
    let old = timed(3, |r| 0.010 + f64::from(r) * 1e-4);
    let new = timed(3, |r| 0.020 + f64::from(r) * 2e-4);
    let d = diff_reports(&old, &new, Thresholds::default());
    assert_eq!(d.speed.len(), 4);
    for s in &d.speed {
        assert_eq!((s.center, s.old_runs, s.new_runs), (Center::Median, 6, 6));
        assert!(s.slowdown && (s.ratio - 2.0).abs() < 1e-9, "{s:?}");
        // Every new run above every old one, with ties in pairs: far below 0.05.
        assert!(s.p_value.unwrap() < 0.01, "{s:?}");
    }
    assert!(d.regressions().is_empty());
    assert_eq!(diff_reports(&old, &new, strict).regressions().len(), 4);
    // 10% slower is within the default 25%.
    let near = timed(3, |r| 0.011 + f64::from(r) * 1e-4);
    assert!(diff_reports(&old, &near, Thresholds::default()).no_change());

    // One run per layout: two a row, too few to judge. The ratio is shown, never a
    // slowdown, and not "no change" either.
    let (old, new) = (
        view(Verdict::PassEquiv, 1e-6, 0.01),
        view(Verdict::PassEquiv, 1e-6, 0.02),
    );
    let d = diff_reports(&old, &new, strict);
    assert!(d
        .speed
        .iter()
        .all(|s| s.beyond && !s.slowdown && s.p_value.is_none() && (s.ratio - 2.0).abs() < 1e-9));
    assert!(d.regressions().is_empty(), "{:?}", d.regressions());
    assert!(!d.no_change());
}

/// A report of one row (flex f32 span 8 decode) whose runs took `runs` seconds; `None`:
/// no per-run times (an older report), mean `mean`.
fn one_row(runs: Option<&[f64]>, mean: f64) -> ReportView {
    let mut row = serde_json::json!({"span": 8, "dtype": "f32", "route": "decode",
        "wall_mean_s": mean});
    if let Some(runs) = runs {
        // As report.json writes floats: non-finite ones as strings.
        let runs: Vec<Value> = runs
            .iter()
            .map(|&x| match x {
                x if x.is_nan() => "NaN".into(),
                x if x == f64::INFINITY => "inf".into(),
                x => x.into(),
            })
            .collect();
        row["profile"] = serde_json::json!({ "wall_samples_s": runs });
    }
    let json = serde_json::json!({"schema_version": 1, "sweep": {}, "global": "PASS",
        "backends": [{"name": "flex", "comparisons": [], "performance": [row]}]});
    ReportView::read(&json.to_string()).unwrap()
}

fn ms(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| x / 1e3).collect()
}

const STRICT: Thresholds = Thresholds {
    metric_rel: 0.25,
    metric_abs: 1e-6,
    slowdown: 0.25,
    fail_on_metrics: false,
    fail_on_slowdown: true,
};

#[test]
fn a_slowdown_is_the_median_ratio_and_the_rank_test_agreeing() {
    let old = ms(&[10.0, 11.0, 12.0, 13.0, 14.0]);
    let slow = ms(&[20.0, 21.0, 22.0, 23.0, 24.0]);
    let d = diff_reports(
        &one_row(Some(&old[..]), 0.012),
        &one_row(Some(&slow[..]), 0.022),
        STRICT,
    );
    let s = &d.speed[0];
    // Medians 12 → 22 ms; every new run above every old one: exact p = 2/252.
    assert!((s.ratio - 22.0 / 12.0).abs() < 1e-12, "{s:?}");
    assert!((s.p_value.unwrap() - 2.0 / 252.0).abs() < 1e-12, "{s:?}");
    // Deviations from 12 ms: 2, 1, 0, 1, 2 ms: MAD 1 ms.
    assert!((s.old_mad_s.unwrap() - 1e-3).abs() < 1e-12, "{s:?}");
    assert!(s.slowdown && !s.speedup);
    assert_eq!(
        d.regressions(),
        vec![
            "flex f32 span 8 decode: 1.83× slower (median 12.000ms → 22.000ms, \
              Mann–Whitney p = 0.0079, 5 and 5 runs)"
                .to_string()
        ]
    );
    // The other way round: a speedup, not a regression.
    let d = diff_reports(
        &one_row(Some(&slow[..]), 0.022),
        &one_row(Some(&old[..]), 0.012),
        STRICT,
    );
    assert!(d.speed[0].speedup && !d.speed[0].slowdown);
    assert!(d.regressions().is_empty());
    assert!(!d.no_change());
}

#[test]
fn a_median_beyond_the_threshold_that_the_runs_do_not_bear_out_is_noise() {
    // Medians 12 → 16 ms (1.33×), but two new runs are the fastest of all: U = 15 of 25,
    // exact p = 2 · 87/252 = 0.69.
    let old = ms(&[10.0, 11.0, 12.0, 13.0, 14.0]);
    let noisy = ms(&[5.0, 6.0, 16.0, 17.0, 18.0]);
    let d = diff_reports(
        &one_row(Some(&old[..]), 0.012),
        &one_row(Some(&noisy[..]), 0.0124),
        STRICT,
    );
    let s = &d.speed[0];
    assert!((s.ratio - 16.0 / 12.0).abs() < 1e-12, "{s:?}");
    assert!((s.p_value.unwrap() - 174.0 / 252.0).abs() < 1e-12, "{s:?}");
    assert!(s.beyond && !s.slowdown, "{s:?}");
    assert!(d.regressions().is_empty());
    assert!(d.no_change(), "judged and not significant: no change");
}

#[test]
fn fewer_than_five_runs_a_side_are_never_judged() {
    let four = ms(&[10.0, 11.0, 12.0, 13.0]);
    let five = ms(&[10.0, 11.0, 12.0, 13.0, 14.0]);
    let slow = ms(&[30.0, 31.0, 32.0, 33.0, 34.0]);
    assert_eq!(MIN_RUNS, 5);
    for (old, new) in [(&four, &slow), (&slow, &four), (&five, &slow[..4].to_vec())] {
        let d = diff_reports(
            &one_row(Some(&old[..]), 0.01),
            &one_row(Some(&new[..]), 0.03),
            STRICT,
        );
        let s = &d.speed[0];
        assert_eq!(s.center, Center::Median);
        assert!(
            s.beyond && s.p_value.is_none() && !s.slowdown && !s.speedup,
            "{s:?}"
        );
        assert!(d.regressions().is_empty());
        assert!(!d.no_change());
    }
    // A report without per-run times is compared by its mean, and never judged.
    let d = diff_reports(
        &one_row(None, 0.01),
        &one_row(Some(&slow[..]), 0.032),
        STRICT,
    );
    let s = &d.speed[0];
    assert_eq!((s.center, s.old_runs, s.new_runs), (Center::Mean, 0, 5));
    assert!((s.ratio - 3.2).abs() < 1e-12 && s.p_value.is_none() && !s.slowdown);
    assert!(s.old_mad_s.is_none());
    assert!(d.regressions().is_empty());
}

#[test]
fn a_run_time_that_is_not_a_positive_number_leaves_no_median() {
    let good = ms(&[10.0, 11.0, 12.0, 13.0, 14.0]);
    for bad in [f64::NAN, f64::INFINITY, 0.0, -0.01] {
        let mut runs = good.clone();
        runs[2] = bad;
        let d = diff_reports(
            &one_row(Some(&good[..]), 0.012),
            &one_row(Some(&runs[..]), 0.012),
            STRICT,
        );
        assert!(d.speed.is_empty(), "{bad}: {d:?}");
        assert_eq!(d.unusable_speed[0].center, Center::Median);
        assert_eq!(
            d.regressions(),
            vec![format!(
                "flex f32 span 8 decode: unusable speed ratio: wall_median_s old 0.012, new NaN"
            )],
            "{bad}"
        );
    }
}

#[test]
fn read_checks_the_per_run_wall_times() {
    let row = |profile: Value| {
        edited(Verdict::PassEquiv, 0.01, |j| {
            j["backends"][0]["performance"][0]["profile"] = profile;
        })
    };
    // Absent, null, an object without them: an older report, read.
    for profile in [Value::Null, serde_json::json!({})] {
        let v = ReportView::read(&row(profile)).unwrap();
        assert!(v.backends[0].performance[0].samples().is_empty());
    }
    let v = ReportView::read(&row(serde_json::json!({"wall_samples_s": [0.01, "NaN"]}))).unwrap();
    let s = v.backends[0].performance[0].samples();
    assert!(s[0] == 0.01 && s[1].is_nan(), "{s:?}");
    for (profile, want) in [
        (
            serde_json::json!(3),
            "`backends[0].performance[0].profile` is 3, expected an object or null",
        ),
        (
            serde_json::json!({"wall_samples_s": "fast"}),
            "`backends[0].performance[0].profile.wall_samples_s` is \"fast\", expected an array",
        ),
        (
            serde_json::json!({"wall_samples_s": [0.01, null]}),
            "`backends[0].performance[0].profile.wall_samples_s[1]` is null, expected a number, \"NaN\", \"inf\" or \"-inf\"",
        ),
    ] {
        assert_eq!(refused(&row(profile)), format!("not a driftbench report: {want}"));
    }
}

#[test]
fn a_missing_pair_is_a_regression_unless_it_was_skipped() {
    let full = records(Verdict::PassEquiv, 1e-6, 0.01);
    let fewer: Vec<Record> = full
        .iter()
        .filter(|r| !matches!(r, Record::Pair(p) if p.key == key(16, 1)))
        .cloned()
        .collect();
    let (a, b) = (
        ReportView::of(&Report::from_records(&full)),
        ReportView::of(&Report::from_records(&fewer)),
    );
    let d = diff_reports(&a, &b, Thresholds::default());
    assert_eq!(d.verdicts[0].change, Change::Missing);
    assert!(!d.regressions().is_empty());
    // Appearing is not a regression.
    assert!(diff_reports(&b, &a, Thresholds::default())
        .verdicts
        .iter()
        .all(|v| v.change == Change::Added && !v.is_regression()));

    let skipped = view(Verdict::Skipped, 1e-6, 0.01);
    let d = diff_reports(&skipped, &b, Thresholds::default());
    assert!(d.verdicts.iter().all(|v| !v.is_regression()), "{d:?}");
}

/// A `report.json` as an early driftbench wrote it: no gaps, warm-ups, noise floor, KL or
/// NMSE, no cross-backend section, no header.
const OLD_REPORT: &str = r#"{
  "schema_version": 1,
  "sweep": {"name": "old", "date_utc": "unknown", "mode": "x", "pairs_classified": 1},
  "global": "PASS",
  "counts": [],
  "backends": [{
    "name": "flex",
    "global": "PASS",
    "comparisons": [{"span": 8, "dtype": "f32", "kv_aligned": 1, "seed": 0,
      "verdict": "PASS_EQUIV", "reason": null,
      "metrics": {"max_abs_diff": 0.0, "p99_abs_diff": 0.0, "mean_abs_diff": 0.0,
        "top1_agreement": 1.0, "nonfinite_prefill": 0, "nonfinite_decode": 0,
        "positions": 8, "vocab": 16}}],
    "performance": [{"span": 8, "dtype": "f32", "route": "prefill", "wall_mean_s": 0.01,
      "wall_p95_s": 0.01, "per_token_mean_s": 0.001, "tokens_per_s_mean": 800.0,
      "logits_bytes_mean": null, "samples": 1}]
  }]
}"#;

#[test]
fn an_older_report_without_new_fields_parses_and_compares() {
    let old = ReportView::parse(OLD_REPORT).expect("an old report.json parses");
    assert!(diff_reports(&old, &old, Thresholds::default()).no_change());
    // Against a current report of the same pair: the KL the old one lacks is not compared.
    let new = view(Verdict::PassEquiv, 1e-6, 0.01);
    let d = diff_reports(&old, &new, Thresholds::default());
    assert!(
        d.metrics.iter().all(|m| m.metric != "kl_mean"),
        "{:?}",
        d.metrics
    );
    assert!(
        !d.verdicts.iter().any(|v| v.key == key(8, 1)),
        "{:?}",
        d.verdicts
    );
    // Nearly nothing at all still parses.
    let bare = ReportView::parse(r#"{"backends": []}"#).unwrap();
    assert!(diff_reports(&bare, &bare, Thresholds::default()).no_change());
}

/// The JSON of the four-pair report, through `edit`.
fn edited(v16: Verdict, wall: f64, edit: impl FnOnce(&mut Value)) -> String {
    // Metrics that bear the verdict out: a report derives its verdicts from them.
    let m16 = if v16 == Verdict::FailEquiv { 0.5 } else { 1e-6 };
    let r = Report::from_records(&records(v16, m16, wall));
    let mut json = serde_json::to_value(&r).unwrap();
    edit(&mut json);
    json.to_string()
}

fn refused(json: &str) -> String {
    match ReportView::read(json) {
        Ok(v) => panic!("read as a report: {v:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn read_accepts_a_written_report_and_an_older_one() {
    let json = edited(Verdict::PassEquiv, 0.01, |_| {});
    let checked = ReportView::read(&json).expect("a report as driftbench writes it");
    let lenient = ReportView::parse(&json).unwrap();
    assert!(diff_reports(&checked, &lenient, Thresholds::default()).no_change());
    // Every key the check needs was in the first report.json already.
    let old = ReportView::read(OLD_REPORT).expect("an old report.json");
    assert!(diff_reports(&old, &old, Thresholds::default()).no_change());
}

#[test]
fn read_refuses_a_package_json() {
    let package = r#"{"name": "left-pad", "version": "1.3.0", "main": "index.js",
        "scripts": {"test": "node test.js"}, "dependencies": {}}"#;
    assert_eq!(
        refused(package),
        "not a driftbench report: missing keys `schema_version`, `sweep`, `global`, `backends`"
    );
}

#[test]
fn read_refuses_a_replay_bundle() {
    // The top-level keys of a replay bundle.json (abridged values).
    let bundle = r#"{"format": 1, "driftbench_version": "0.1.0", "schema_version": 1,
        "model": {}, "backend": "flex", "plugin": "flex", "source": "x", "configured": null,
        "open_timeout_s": null, "run_timeout_s": null,
        "pair": {"backend": "flex", "span": 8, "dtype": "f32", "kv_aligned": 1, "seed": 0},
        "vocab": 16, "tokens": [1, 2], "plan": {}, "floor": {},
        "record": {"verdict": "FAIL_EQUIV"}, "logits": {}}"#;
    assert_eq!(
        refused(bundle),
        "not a driftbench report: missing keys `sweep`, `global`, `backends`"
    );
}

#[test]
fn read_refuses_an_empty_object_and_an_array() {
    assert_eq!(
        refused("{}"),
        "not a driftbench report: missing keys `schema_version`, `sweep`, `global`, `backends`"
    );
    assert_eq!(
        refused("[]"),
        "not a driftbench report: the top level is an array, expected an object"
    );
    assert_eq!(
        refused(r#"{"backends": []}"#),
        "not a driftbench report: missing keys `schema_version`, `sweep`, `global`"
    );
    assert!(refused("").starts_with("not a driftbench report: not JSON ("));
}

#[test]
fn read_refuses_another_schema_version_and_wrong_types() {
    let v2 = edited(Verdict::PassEquiv, 0.01, |j| j["schema_version"] = 2.into());
    assert_eq!(
        refused(&v2),
        "report schema_version 2 is not supported: this driftbench reads schema_version 1"
    );
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit, &str); 5] = [
        (
            "backends",
            |j| j["backends"] = "flex".into(),
            "`backends` is \"flex\", expected an array",
        ),
        (
            "dtype",
            |j| j["backends"][0]["comparisons"][1]["dtype"] = "f17".into(),
            "`backends[0].comparisons[1].dtype` is \"f17\", expected a dtype (f32, f16, bf16, f64)",
        ),
        (
            "span",
            |j| j["backends"][0]["performance"][0]["span"] = "8".into(),
            "`backends[0].performance[0].span` is \"8\", expected a non-negative integer",
        ),
        (
            "wall time",
            |j| j["backends"][0]["performance"][0]["wall_mean_s"] = true.into(),
            "`backends[0].performance[0].wall_mean_s` is true, expected a number, \"NaN\", \"inf\" or \"-inf\" or null",
        ),
        (
            "comparisons",
            |j| {
                j["backends"][0].as_object_mut().unwrap().remove("comparisons");
            },
            "missing key `backends[0].comparisons`",
        ),
    ];
    for (what, edit, want) in cases {
        let json = edited(Verdict::PassEquiv, 0.01, edit);
        assert_eq!(
            refused(&json),
            format!("not a driftbench report: {want}"),
            "{what}"
        );
    }
}

#[test]
fn read_refuses_a_backend_twice() {
    // A passing copy of a backend after its failing entry: read into one map, the copy hid
    // the FAIL pair.
    let old = view(Verdict::PassEquiv, 1e-6, 0.01);
    let twice = edited(Verdict::FailEquiv, 0.01, |j| {
        let pass = serde_json::to_value(Report::from_records(&records(
            Verdict::PassEquiv,
            1e-6,
            0.01,
        )))
        .unwrap();
        j["backends"]
            .as_array_mut()
            .unwrap()
            .push(pass["backends"][0].clone());
    });
    let lenient = ReportView::parse(&twice).unwrap();
    assert!(
        !diff_reports(&old, &lenient, Thresholds::default())
            .verdicts
            .iter()
            .any(|v| v.is_regression()),
        "the duplicate hides the FAIL pair from the lenient view"
    );
    let e = ReportView::read(&twice).unwrap_err();
    assert!(matches!(e, ReportError::Duplicate(_)), "{e:?}");
    assert_eq!(e.to_string(), "backend `flex` appears twice");
}

#[test]
fn read_refuses_a_pair_or_a_performance_row_twice() {
    let pair = edited(Verdict::FailEquiv, 0.01, |j| {
        let rows = j["backends"][0]["comparisons"].as_array_mut().unwrap();
        // A passing copy of the failing pair.
        let mut copy = rows
            .iter()
            .find(|r| r["span"] == 16 && r["kv_aligned"] == 1)
            .unwrap()
            .clone();
        assert_eq!(copy["verdict"], "FAIL_EQUIV");
        copy["verdict"] = "PASS_EQUIV".into();
        rows.push(copy);
    });
    assert_eq!(
        refused(&pair),
        "pair `flex f32 span 16 kv_aligned 1 seed 0` appears twice"
    );
    let perf = edited(Verdict::PassEquiv, 0.01, |j| {
        let rows = j["backends"][0]["performance"].as_array_mut().unwrap();
        let copy = rows[0].clone();
        rows.push(copy);
    });
    assert_eq!(
        refused(&perf),
        "performance row `flex f32 span 8 prefill` appears twice"
    );
}

/// The four-pair report with the span-8 prefill row's mean wall time set to `wall`.
fn with_wall(wall: Value) -> ReportView {
    let json = edited(Verdict::PassEquiv, 0.01, |j| {
        let row = &mut j["backends"][0]["performance"][0];
        assert_eq!(
            (&row["span"], &row["route"]),
            (&8.into(), &"prefill".into())
        );
        row["wall_mean_s"] = wall;
    });
    ReportView::read(&json).unwrap()
}

/// Wall times that give no speed ratio, as report.json writes them, and as the line shows them.
fn unusable_walls() -> [(Value, &'static str); 6] {
    [
        ("NaN".into(), "NaN"),
        ("inf".into(), "inf"),
        ("-inf".into(), "-inf"),
        ((-0.01).into(), "-0.01"),
        (0.0.into(), "0.0"),
        (Value::Null, "null"),
    ]
}

#[test]
fn unusable_speed_ratios_are_regressions_under_fail_on_slowdown() {
    let good = view(Verdict::PassEquiv, 1e-6, 0.01);
    let strict = Thresholds {
        fail_on_slowdown: true,
        ..Thresholds::default()
    };
    for (wall, shown) in unusable_walls() {
        let bad = with_wall(wall);
        for (old, new, values) in [
            (&good, &bad, format!("wall_mean_s old 0.01, new {shown}")),
            (&bad, &good, format!("wall_mean_s old {shown}, new 0.01")),
        ] {
            let regs = diff_reports(old, new, strict).regressions();
            assert_eq!(
                regs,
                vec![format!(
                    "flex f32 span 8 prefill: unusable speed ratio: {values}"
                )],
                "{shown}"
            );
        }
    }
}

#[test]
fn unusable_speed_ratios_are_listed_without_fail_on_slowdown() {
    let good = view(Verdict::PassEquiv, 1e-6, 0.01);
    for (wall, shown) in unusable_walls() {
        let bad = with_wall(wall);
        let d = diff_reports(&good, &bad, Thresholds::default());
        assert_eq!(d.unusable_speed.len(), 1, "{shown}: {d:?}");
        let u = &d.unusable_speed[0];
        assert_eq!(
            (u.key.span, u.key.route, u.values()),
            (
                8,
                Route::Prefill,
                format!("wall_mean_s old 0.01, new {shown}")
            )
        );
        // The other three rows still have their ratio; the unusable one is not among them.
        assert_eq!(d.speed.len(), 3, "{shown}");
        assert!(d.regressions().is_empty(), "{shown}");
        assert!(
            !d.no_change(),
            "{shown}: a row without a ratio is not `no change`"
        );
    }
    // Overflowing ratios of finite times are unusable too.
    let (tiny, huge) = (with_wall(1e-300.into()), with_wall(1e300.into()));
    let d = diff_reports(&tiny, &huge, Thresholds::default());
    assert_eq!(d.unusable_speed.len(), 1, "{d:?}");
}

/// An f64 pair's metrics move at f64 precision: the default absolute threshold (1e-6, one
/// f32 ulp at 8) hid every f64 change; for f64 pairs it is scaled to f64 precision (1.9e-15),
/// while the same move in an f32 pair stays below the threshold.
#[test]
fn f64_metric_moves_are_judged_at_f64_precision() {
    use driftbench_report::diff::{DEFAULT_METRIC_ABS, F64_METRIC_ABS_SCALE};
    assert!((DEFAULT_METRIC_ABS * F64_METRIC_ABS_SCALE - 1.86e-15).abs() < 1e-17);
    let with = |dtype: Dtype, max: f64| {
        let recs: Vec<Record> = records(Verdict::PassEquiv, max, 0.01)
            .into_iter()
            .map(|r| match r {
                Record::Run(mut r) => {
                    r.key.dtype = dtype;
                    Record::Run(r)
                }
                Record::Pair(mut p) => {
                    p.key.dtype = dtype;
                    Record::Pair(p)
                }
                other => other,
            })
            .collect();
        ReportView::of(&Report::from_records(&recs))
    };
    // 2e-13 → 8e-13 on the span-16 aligned pair: a 4× move, far below 1e-6.
    let d = diff_reports(
        &with(Dtype::F64, 2e-13),
        &with(Dtype::F64, 8e-13),
        Thresholds::default(),
    );
    let moved: Vec<_> = d.metrics.iter().map(|m| (m.metric, m.worse)).collect();
    assert!(moved.contains(&("max_abs_diff", true)), "{moved:?}");
    assert!(d.metrics.iter().all(|m| m.key.dtype == Dtype::F64));
    let d = diff_reports(
        &with(Dtype::F32, 2e-13),
        &with(Dtype::F32, 8e-13),
        Thresholds::default(),
    );
    assert!(
        !d.metrics.iter().any(|m| m.metric == "max_abs_diff"),
        "{:?}",
        d.metrics
    );
}
