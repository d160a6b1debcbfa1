//! Bencher's JSON metric format (BMF), for a continuous-benchmarking store: one document per
//! testbed (machine label), one benchmark per pair, one measure per route's wall time and per
//! drift metric. Metrics come from the report's comparison rows (the pairs as the audit
//! derives them); wall times from every timed repetition in the journal (value: the median;
//! lower and upper: the fastest and slowest).
//!
//! BMF values are JSON numbers: a NaN or Inf metric cannot be written, so it is left out and
//! named in [`Bmf::left_out`] (the report says the same in its tables).

use crate::model::Report;
use crate::stats::{max_nan, median, min_nan};
use driftbench_core::route::Route;
use driftbench_sweep::identity::machine_of;
use driftbench_sweep::identity::split_instance;
use driftbench_sweep::records::{PairKey, Record, RunStatus, SweepHeader};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The measures written, by slug (create them in the Bencher project).
pub const MEASURES: [&str; 7] = [
    "prefill-wall-time-s",
    "decode-wall-time-s",
    "max-abs-diff",
    "p99-abs-diff",
    "kl-mean",
    "nmse",
    "top1-agreement",
];

/// The BMF documents of a journal.
#[derive(Debug, Default)]
pub struct Bmf {
    /// Machine label → its document (`{benchmark: {measure: {value, …}}}`).
    pub testbeds: BTreeMap<String, Value>,
    /// Non-finite values that could not be written, one line each.
    pub left_out: Vec<String>,
}

/// The BMF documents of `report`, built from `records` (a merged journal gives one per
/// machine).
pub fn bmf(report: &Report, records: &[Record]) -> Bmf {
    let header = records.iter().find_map(|r| match r {
        Record::Sweep(h) => Some(h.as_ref()),
        _ => None,
    });
    let mut out = Bmf::default();
    let mut docs: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for (key, route, walls) in wall_times(records) {
        let (machine, name) = benchmark(header, &key);
        let slug = match route {
            Route::Prefill => MEASURES[0],
            Route::Decode => MEASURES[1],
        };
        let value = json!({
            "value": median(&walls),
            "lower_value": min_nan(&walls),
            "upper_value": max_nan(&walls),
        });
        insert(&mut docs, machine, name, slug, value);
    }
    let pairs = report.backends.iter().flat_map(|b| {
        b.comparisons.iter().map(move |c| {
            let key = PairKey {
                backend: b.name.clone(),
                span: c.span,
                dtype: c.dtype,
                kv_aligned: c.kv_aligned,
                seed: c.seed,
            };
            (key, c.metrics.as_ref())
        })
    });
    for (key, metrics) in pairs {
        let Some(m) = metrics else { continue };
        let (machine, name) = benchmark(header, &key);
        let metrics = [
            (MEASURES[2], Some(m.max_abs_diff)),
            (MEASURES[3], Some(m.p99_abs_diff)),
            (MEASURES[4], m.kl_mean),
            (MEASURES[5], m.nmse),
            (MEASURES[6], Some(m.top1_agreement)),
        ];
        for (slug, v) in metrics {
            match v {
                Some(v) if v.is_finite() => insert(
                    &mut docs,
                    machine.clone(),
                    name.clone(),
                    slug,
                    json!({ "value": v }),
                ),
                Some(v) => out.left_out.push(format!(
                    "{machine}: {name}: {slug} is {v} (not a JSON number)"
                )),
                None => {}
            }
        }
    }
    out.testbeds = docs
        .into_iter()
        .map(|(k, v)| (k, Value::Object(v)))
        .collect();
    out
}

/// Every timed repetition's wall time, per (pair, route).
fn wall_times(records: &[Record]) -> Vec<(PairKey, Route, Vec<f64>)> {
    let mut walls: BTreeMap<(PairKey, Route), Vec<f64>> = BTreeMap::new();
    for r in records {
        if let Record::Run(r) = r {
            if let (RunStatus::Ok, Some(w)) = (r.status, r.wall_s) {
                walls.entry((r.key.clone(), r.route)).or_default().push(w);
            }
        }
    }
    walls.into_iter().map(|((k, r), w)| (k, r, w)).collect()
}

/// A pair's testbed (machine label) and benchmark name (the pair without its machine).
fn benchmark(header: Option<&SweepHeader>, key: &PairKey) -> (String, String) {
    let (plain, machine) = split_instance(&key.backend);
    let machine = machine.unwrap_or_else(|| machine_of(header)).to_string();
    let name = format!(
        "{plain} {} span {} kv_aligned {} seed {}",
        key.dtype, key.span, key.kv_aligned, key.seed
    );
    (machine, name)
}

fn insert(
    docs: &mut BTreeMap<String, Map<String, Value>>,
    machine: String,
    name: String,
    slug: &str,
    value: Value,
) {
    let bench = docs
        .entry(machine)
        .or_default()
        .entry(name)
        .or_insert_with(|| json!({}));
    if let Value::Object(m) = bench {
        m.insert(slug.to_string(), value);
    }
}
