//! Report sections built from hand-made records with the newer data: the noise floor against
//! f64 and its observations, the cross-backend matrix, the seed spread, first flips, and
//! journals or report.json files written before these existed.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::metrics::Flip;
use driftbench_core::metrics::Metrics;
use driftbench_core::route::Route;
use driftbench_report::{render_markdown, Report};
use driftbench_sweep::noise_floor::{FloorRule, NoiseFloor, ToleranceMode};
use driftbench_sweep::records::{
    CrossRecord, Environment, PairKey, PairRecord, Record, ReferenceInfo, ReferenceRecord,
    SweepHeader, SCHEMA_VERSION,
};
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

/// Metrics with the newer fields (KL, NMSE) set from `max`.
fn m(max: f64, top1: f64) -> Metrics {
    Metrics {
        max_abs_diff: max,
        p99_abs_diff: max / 2.0,
        mean_abs_diff: max / 10.0,
        top1_agreement: top1,
        positions: 8,
        vocab: 16,
        kl_mean: Some(max / 100.0),
        kl_p99: Some(max / 20.0),
        kl_max: Some(max / 10.0),
        nmse: Some(max / 1000.0),
        ..Default::default()
    }
}

fn floor(prefill: f64, decode: f64) -> NoiseFloor {
    NoiseFloor {
        reference: "flex f64".to_string(),
        prefill: m(prefill, 1.0),
        decode: m(decode, 1.0),
    }
}

fn pair(k: PairKey, v: Verdict, metrics: Metrics, fl: Option<NoiseFloor>) -> Record {
    Record::Pair(PairRecord {
        key: k,
        verdict: v,
        reason: None,
        metrics: Some(metrics),
        envelope: None,
        floor: fl.map(Box::new),
        repeat_mismatch: Vec::new(),
        transport: None,
    })
}

fn header(noise_floor: bool) -> Record {
    Record::Sweep(Box::new(SweepHeader {
        schema_version: SCHEMA_VERSION,
        name: "floor-sweep".to_string(),
        config_path: "configs/floor.toml".to_string(),
        started_unix: 1_770_595_200,
        model: "synthetic".to_string(),
        block_size: 16,
        tolerances: BTreeMap::new(),
        pairs_planned: 0,
        environment: Environment::default(),
        backends: vec![],
        origin: None,
        merged: None,
        plan: None,
        reference: Some(ReferenceInfo {
            cross_backend: Some("flex".to_string()),
            noise_floor,
            floor_backend: "flex".to_string(),
            rule: FloorRule {
                mode: ToleranceMode::Fixed,
                k: 4.0,
            },
        }),
    }))
}

fn reference(span: usize, seed: u64, error: Option<&str>) -> Record {
    Record::Reference(ReferenceRecord {
        backend: "flex".to_string(),
        span,
        seed,
        load_s: Some(0.5),
        prefill_wall_s: Some(0.25),
        decode_wall_s: Some(1.5),
        metrics: error.is_none().then(|| m(3e-12, 1.0)),
        error: error.map(str::to_string),
        peak_rss_bytes: error.is_none().then_some(1536 << 20),
    })
}

fn cross(backend: &str, dtype: Dtype, kv: u8, seed: u64, route: Route, max: f64) -> Record {
    Record::Cross(CrossRecord {
        key: key(backend, 32, dtype, kv, seed),
        reference: "flex".to_string(),
        route,
        metrics: m(max, 1.0),
    })
}

/// flex, span 32, seeds 0 and 1:
/// - f16 kv1: decode 0.56 vs f64, prefill 0.020: FAIL_EQUIV, drift 0.54 (27× the floor);
/// - f16 kv0: drift 0.042 = 2.1× the floor 0.020, a near-tie flip on seed 0;
/// - f32 kv1: seed 0 PASS_EQUIV, seed 1 FAIL_EQUIV with a confident flip;
/// - f32 kv0: the decode's error against f64 is NaN;
/// - f16 kv1 span 64: the f64 reference failed (no floor).
///
/// wgpu against flex: f16 on every route, f32 prefill only.
fn records() -> Vec<Record> {
    let mut v = vec![
        header(true),
        reference(32, 0, None),
        reference(32, 1, None),
        reference(64, 0, Some("flex f64: out of memory")),
    ];
    for seed in [0, 1] {
        v.push(pair(
            key("flex", 32, Dtype::F16, 1, seed),
            Verdict::FailEquiv,
            m(0.54, 1.0),
            Some(floor(0.020, 0.56)),
        ));
        let mut near = m(0.042, 0.875);
        if seed == 0 {
            near.first_flip = Some(Flip {
                position: 5,
                prefill_token: 1,
                decode_token: 2,
                prefill_margin: 0.01,
                decode_margin: 0.02,
            });
        }
        v.push(pair(
            key("flex", 32, Dtype::F16, 0, seed),
            Verdict::ExpectedDrift,
            near,
            Some(floor(0.020, 0.025)),
        ));
        v.push(pair(
            key("flex", 32, Dtype::F32, 0, seed),
            Verdict::ExpectedDrift,
            m(1e-5, 1.0),
            Some(floor(1e-6, f64::NAN)),
        ));
        for route in [Route::Prefill, Route::Decode] {
            for kv in [0, 1] {
                v.push(cross("wgpu", Dtype::F16, kv, seed, route, 1e-3));
            }
        }
        v.push(cross("wgpu", Dtype::F32, 1, seed, Route::Prefill, 2e-6));
    }
    v.push(pair(
        key("flex", 32, Dtype::F32, 1, 0),
        Verdict::PassEquiv,
        m(1e-6, 1.0),
        Some(floor(1e-6, 1e-6)),
    ));
    let mut confident = m(5e-3, 0.875);
    confident.first_flip = Some(Flip {
        position: 3,
        prefill_token: 7,
        decode_token: 9,
        prefill_margin: 0.5,
        decode_margin: 0.1,
    });
    v.push(pair(
        key("flex", 32, Dtype::F32, 1, 1),
        Verdict::FailEquiv,
        confident,
        Some(floor(1e-6, 1e-6)),
    ));
    v.push(pair(
        key("flex", 64, Dtype::F16, 1, 0),
        Verdict::FailEquiv,
        m(0.5, 1.0),
        None,
    ));
    v
}

/// Text from `heading` to the next heading of the same or a higher level.
fn part<'a>(md: &'a str, heading: &str) -> &'a str {
    let start = md
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no `{heading}` in:\n{md}"))
        + 1;
    let level = heading.chars().take_while(|c| *c == '#').count();
    let rest = &md[start + heading.len()..];
    let end = rest
        .match_indices("\n#")
        .find(|(i, _)| {
            let n = rest[i + 1..].chars().take_while(|c| *c == '#').count();
            n <= level
        })
        .map_or(md.len(), |(i, _)| start + heading.len() + i);
    &md[start..end]
}

/// Rows of the first markdown table in `text`.
fn rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect()
}

fn row<'a>(rows: &'a [Vec<&'a str>], lead: &[&str]) -> &'a [&'a str] {
    rows.iter()
        .find(|r| r.starts_with(lead))
        .unwrap_or_else(|| panic!("no row {lead:?} in {rows:?}"))
}

#[test]
fn floor_section_numbers_and_route_observations() {
    let md = render_markdown(&Report::from_records(&records()));
    let flex = part(&md, "## Backend: flex");
    let fl = part(flex, "### Noise Floor (vs f64)");
    assert!(fl.contains("tolerance mode **fixed**, k = 4"), "{fl}");
    let t = rows(fl);
    // span, dtype, kv, prefill vs f64, decode vs f64, ratio, drift, drift/floor, KL pre, KL
    // dec, seeds, why
    let f16 = row(&t, &["32", "f16", "1"]);
    assert_eq!(
        &f16[3..11],
        ["2.00e-2", "5.60e-1", "28×", "5.40e-1", "27×", "2.00e-3", "5.60e-2", "2"]
    );
    let kv0 = row(&t, &["32", "f16", "0"]);
    assert_eq!(kv0[7], "2.1×");
    let lost = row(&t, &["64", "f16", "1"]);
    assert_eq!(&lost[3..5], ["—", "—"]);
    assert_eq!(lost[11], "1: flex f64: out of memory");

    let per_dtype = rows(part(fl, "#### Noise Floor per Dtype"));
    let f16 = row(&per_dtype, &["f16"]);
    assert_eq!(f16[1], "2.00e-2 / 2.00e-2");
    assert_eq!(f16[2], "2.50e-2 / 5.60e-1");
    assert_eq!(f16[3], "27×");
    assert_eq!(f16[4], "4");

    let obs = part(flex, "### Observations");
    assert!(obs.contains("#### Observation: One Route Loses Precision against f64"));
    assert!(
        obs.contains(
            "**f16 kv_aligned=1**: decode's error against f64 is 28× prefill's (0.56 vs \
             0.020): the drift is the decode route losing precision, not the dtype's noise \
             (2 FAIL_EQUIV of 2 pair(s))"
        ),
        "{obs}"
    );
    // f16 kv0 routes are within 4× of each other: not called out.
    assert!(!obs.contains("**f16 kv_aligned=0**: decode's error"));
    assert!(obs.contains("#### Observation: Drift against the Noise Floor"));
    assert!(obs.contains("**f16 kv_aligned=0**: within the dtype's noise: drift ≤ 2.1× the floor"));
    assert!(obs
        .contains("**f16 kv_aligned=1**: **beyond the dtype's noise**: drift up to 27× the floor"));

    // The f64 reference runs, once, in the cross-backend part.
    assert_eq!(md.matches("### f64 Reference Runs").count(), 1);
    let refs = rows(part(&md, "### f64 Reference Runs (noise floor)"));
    assert_eq!(refs.len(), 3);
    assert_eq!(
        row(&refs, &["32", "0"])[2..9],
        [
            "flex",
            "3.00e-12",
            "3.00e-13",
            "250.00ms",
            "1.50s",
            "500.00ms",
            "1536.0 MiB"
        ]
    );
    assert_eq!(
        row(&refs, &["64", "0"])[8],
        "—",
        "no memory for a failed reference"
    );
    assert_eq!(row(&refs, &["64", "0"])[9], "flex f64: out of memory");
    let cfg = part(&md, "## Configuration");
    assert!(cfg.contains("cross-backend reference: flex"), "{cfg}");
}

#[test]
fn nan_in_a_floor_metric_surfaces_as_nan() {
    let r = Report::from_records(&records());
    let md = render_markdown(&r);
    let flex = part(&md, "## Backend: flex");
    let fl = part(flex, "### Noise Floor (vs f64)");
    let t = rows(fl);
    let nan = row(&t, &["32", "f32", "0"]);
    assert_eq!(&nan[3..6], ["1.00e-6", "NaN", "NaN×"]);
    assert_eq!(nan[7], "NaN×");
    let per_dtype = rows(part(fl, "#### Noise Floor per Dtype"));
    assert_eq!(row(&per_dtype, &["f32"])[2], "1.00e-6 / NaN");
    assert!(part(flex, "### Observations")
        .contains("**f32 kv_aligned=0**: NaN: a route produced non-finite values"));
    // And the JSON keeps it.
    let json = serde_json::to_value(&r).unwrap();
    let row = json["backends"][0]["noise_floor"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["dtype"] == "f32" && f["kv_aligned"] == 0)
        .unwrap();
    assert_eq!(row["decode_err"], "NaN");
}

#[test]
fn cross_backend_matrix_per_dtype() {
    let md = render_markdown(&Report::from_records(&records()));
    let mx = part(&md, "### Cross-backend Matrix (vs flex)");
    let f16 = rows(part(mx, "#### f16"));
    assert_eq!(f16.len(), 1);
    let cell = "1.00e-3 / 1.00e-4 / 1.0000 / 0";
    assert_eq!(f16[0][0], "wgpu vs flex");
    assert_eq!(f16[0][1], format!("{cell} / 4"));
    assert_eq!(f16[0][2], format!("{cell} / 2"));
    assert_eq!(f16[0][3], format!("{cell} / 2"));
    let f32 = rows(part(mx, "#### f32"));
    assert_eq!(f32[0][1], "2.00e-6 / 2.00e-7 / 1.0000 / 0 / 2");
    assert_eq!(&f32[0][2..4], ["—", "—"]);
}

#[test]
fn seed_spread_and_disagreement() {
    let r = Report::from_records(&records());
    let flex = r.backend("flex").unwrap();
    // report.json holds every cell, single-seed ones included.
    assert_eq!(flex.seed_spread.len(), 5);
    let one = flex.seed_spread.iter().find(|s| s.span == 64).unwrap();
    assert_eq!(one.verdicts.len(), 1);

    let md = render_markdown(&r);
    let sp = part(&md, "### Seed Spread");
    let t = rows(sp);
    assert_eq!(t.len(), 4, "only cells with more than one seed: {sp}");
    let split = row(&t, &["32", "f32", "1"]);
    assert_eq!(split[3], "1.00e-6 / 2.50e-3 / 5.00e-3");
    assert_eq!(split[6], "0.8750 / 0.9375 / 1.0000");
    assert_eq!(split[7], "0: PASS_EQUIV, 1: FAIL_EQUIV");
    assert_eq!(split[8], "**yes**");
    assert_eq!(row(&t, &["32", "f16", "1"])[8], "no");

    let obs = part(&md, "#### Observation: Seeds Disagree on the Verdict");
    assert!(obs.contains(
        "span 32, f32, kv_aligned=1: seed 0 PASS_EQUIV, seed 1 FAIL_EQUIV; max_abs_diff \
         1.0e-6 … 0.0050 over seeds"
    ));
}

#[test]
fn first_flips_near_ties_and_confident() {
    let md = render_markdown(&Report::from_records(&records()));
    let flex = part(&md, "## Backend: flex");
    let obs = part(
        flex,
        "#### Observation: Confident Top-1 Flips (Likely Bugs)",
    );
    assert!(obs.contains("- near-ties: 1\n- confident: 1"), "{obs}");
    assert!(obs.contains(
        "span 32, f32, kv_aligned=1, seed 1: position 3, token 7 → 9, margin 0.50 > \
         max_abs_diff 0.0050"
    ));
    let t = rows(part(flex, "### Comparison Results"));
    // span, dtype, kv, seed, max, p99, mean, KL mean, KL max, NMSE, top1, first flip, ...
    let near = row(&t, &["32", "f16", "0", "0"]);
    assert_eq!(
        &near[7..12],
        [
            "4.20e-4",
            "4.20e-3",
            "4.20e-5",
            "0.8750",
            "pos 5 (margin 0.020)"
        ]
    );
    assert_eq!(row(&t, &["32", "f16", "0", "1"])[11], "—");
    let drift = rows(part(flex, "### Drift Characterization (kv_aligned=0)"));
    assert_eq!(row(&drift, &["32", "f16"])[5], "4.20e-3");
}

#[test]
fn noise_floor_off_is_said() {
    let recs = vec![
        header(false),
        pair(
            key("flex", 32, Dtype::F16, 1, 0),
            Verdict::PassEquiv,
            m(0.0, 1.0),
            None,
        ),
    ];
    let md = render_markdown(&Report::from_records(&recs));
    assert!(
        md.contains("_Noise floor not measured: noise floor off._"),
        "{md}"
    );
    assert!(md.contains("#### Observation: Noise Floor Not Measured"));
    assert!(md.contains("Noise floor off (f64 on flex)"));
    assert!(md.contains("_No f64 reference run in the journal"));
}

#[test]
fn report_json_without_the_new_fields_still_reads() {
    let r = Report::from_records(&records());
    let mut v = serde_json::to_value(&r).unwrap();
    for b in v["backends"].as_array_mut().unwrap() {
        let b = b.as_object_mut().unwrap();
        for f in ["noise_floor", "floor_summary", "seed_spread"] {
            assert!(b.remove(f).is_some(), "{f}");
        }
        for d in b["drift"].as_array_mut().unwrap() {
            d.as_object_mut().unwrap().remove("kl_max");
        }
    }
    let cross = v["cross"].as_object_mut().unwrap();
    cross.remove("references").unwrap();
    for a in cross["agreement"].as_array_mut().unwrap() {
        let a = a.as_object_mut().unwrap();
        a.remove("kl_max").unwrap();
        a.remove("nmse_max").unwrap();
    }
    v["header"]
        .as_object_mut()
        .unwrap()
        .remove("reference")
        .unwrap();
    let old: Report = serde_json::from_value(v).unwrap();
    assert!(old.backends[0].noise_floor.is_empty());
    assert_eq!(old.cross.agreement[0].kl_max, None);
    let md = render_markdown(&old);
    assert!(md.contains("Tolerance mode and k: not recorded in this journal"));
    let mx = part(&md, "### Cross-backend Matrix (vs flex)");
    assert_eq!(
        rows(part(mx, "#### f32"))[0][1],
        "2.00e-6 / — / 1.0000 / 0 / 2"
    );
}
