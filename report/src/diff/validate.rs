//! Whether a JSON text is a driftbench `report.json` the diff can compare, checked before
//! anything is compared ([`ReportView::read`]).
//!
//! A report is a JSON object with the keys `schema_version` (the journal/report schema,
//! [`SCHEMA_VERSION`]), `sweep` (an object), `global` (a global verdict) and `backends` (an
//! array); together they tell a report from any other JSON driftbench writes (a replay
//! bundle has `schema_version` but none of the others). Every backend has a `name`,
//! `comparisons` and `performance`; every comparison row its `span`, `dtype`, `kv_aligned`,
//! `seed` and `verdict` (and `metrics`, if present, null or an object of numbers); every
//! performance row its `span`, `dtype`, `route` and `wall_mean_s`, and, if present, a
//! `profile` that is null or an object whose `wall_samples_s` (the per-run wall times the
//! speed test needs; absent before they were recorded) is an array of numbers. Other keys
//! are not read, so a report of any earlier driftbench (they all have these keys) still
//! compares. No
//! field was added to tell a report: `report.json` has had its `schema_version` (equal to
//! the journal's) from the start, and no other file driftbench writes has those four keys.
//!
//! One run identity appears once: a backend name, a pair (backend, span, dtype, kv_aligned,
//! seed), a performance row (backend, span, dtype, route). Read into maps, a second entry
//! would silently replace the first, e.g. a passing copy hiding a backend's FAIL pairs.

use super::{
    pair_label, perf_label, BackendView, MetricsView, PairView, PerfKey, PerfProfileView, PerfView,
    ReportView,
};
use driftbench_core::float_serde;
use driftbench_sweep::records::{PairKey, SCHEMA_VERSION};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt;

/// Why a text is not a report the diff compares; shown after the file's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportError {
    /// Not JSON, not an object, a required key missing or of the wrong type:
    /// ``not a driftbench report: missing key `backends` ``.
    NotAReport(String),
    /// A report of a `schema_version` this driftbench does not read.
    Schema(u64),
    /// A run identity twice: ``backend `cpu` appears twice``.
    Duplicate(String),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::NotAReport(what) => write!(f, "not a driftbench report: {what}"),
            ReportError::Schema(v) => write!(
                f,
                "report schema_version {v} is not supported: this driftbench reads schema_version {SCHEMA_VERSION}"
            ),
            ReportError::Duplicate(what) => write!(f, "{what} appears twice"),
        }
    }
}

impl std::error::Error for ReportError {}

/// The keys that make a JSON object a report, in the order the report writes them.
const REPORT_KEYS: [&str; 4] = ["schema_version", "sweep", "global", "backends"];

fn not_a_report(what: String) -> ReportError {
    ReportError::NotAReport(what)
}

/// What a JSON value is, for a message: scalars as they are written (long strings cut).
fn describe(v: &Value) -> String {
    match v {
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        Value::String(s) if s.chars().count() > 40 => {
            let head: String = s.chars().take(40).collect();
            format!("{}…", Value::from(head))
        }
        other => other.to_string(),
    }
}

fn wrong(at: &str, v: &Value, expected: &str) -> ReportError {
    not_a_report(format!("`{at}` is {}, expected {expected}", describe(v)))
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, ReportError> {
    v.as_object().ok_or_else(|| wrong(at, v, "an object"))
}

fn array<'a>(v: &'a Value, at: &str) -> Result<&'a [Value], ReportError> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| wrong(at, v, "an array"))
}

/// `obj[key]`, which must be there.
fn field<'a>(obj: &'a Map<String, Value>, key: &str, at: &str) -> Result<&'a Value, ReportError> {
    obj.get(key)
        .ok_or_else(|| not_a_report(format!("missing key `{at}.{key}`")))
}

/// `v` read as `T`, or what it is and what was `expected`.
fn typed<'a, T: Deserialize<'a>>(v: &'a Value, at: &str, expected: &str) -> Result<T, ReportError> {
    T::deserialize(v).map_err(|_| wrong(at, v, expected))
}

/// `obj[key]` read as `T`; the key must be there.
fn required<'a, T: Deserialize<'a>>(
    obj: &'a Map<String, Value>,
    key: &str,
    at: &str,
    expected: &str,
) -> Result<T, ReportError> {
    typed(field(obj, key, at)?, &format!("{at}.{key}"), expected)
}

const FLOAT: &str = "a number, \"NaN\", \"inf\" or \"-inf\"";
const COUNT: &str = "a non-negative integer";

/// A float as report.json writes it (non-finite values as strings); null is `None`.
fn float(v: &Value, at: &str) -> Result<Option<f64>, ReportError> {
    if v.is_null() {
        return Ok(None);
    }
    float_serde::deserialize(v)
        .map(Some)
        .map_err(|_| wrong(at, v, &format!("{FLOAT} or null")))
}

/// `obj[key]` as an optional float, absent meaning `None`.
fn optional_float(
    obj: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<f64>, ReportError> {
    obj.get(key)
        .map_or(Ok(None), |v| float(v, &format!("{at}.{key}")))
}

/// `obj[key]` as an optional count, absent meaning `None`.
fn optional_count(
    obj: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<u64>, ReportError> {
    obj.get(key).map_or(Ok(None), |v| {
        typed(v, &format!("{at}.{key}"), &format!("{COUNT} or null"))
    })
}

fn metrics(v: Option<&Value>, at: &str) -> Result<Option<MetricsView>, ReportError> {
    let at = format!("{at}.metrics");
    let m = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v
            .as_object()
            .ok_or_else(|| wrong(&at, v, "an object or null"))?,
    };
    Ok(Some(MetricsView {
        max_abs_diff: optional_float(m, "max_abs_diff", &at)?,
        p99_abs_diff: optional_float(m, "p99_abs_diff", &at)?,
        mean_abs_diff: optional_float(m, "mean_abs_diff", &at)?,
        top1_agreement: optional_float(m, "top1_agreement", &at)?,
        kl_mean: optional_float(m, "kl_mean", &at)?,
        kl_max: optional_float(m, "kl_max", &at)?,
        nmse: optional_float(m, "nmse", &at)?,
        nonfinite_prefill: optional_count(m, "nonfinite_prefill", &at)?,
        nonfinite_decode: optional_count(m, "nonfinite_decode", &at)?,
    }))
}

fn pair(v: &Value, at: &str) -> Result<PairView, ReportError> {
    let o = object(v, at)?;
    Ok(PairView {
        span: required(o, "span", at, COUNT)?,
        dtype: required(o, "dtype", at, "a dtype (f32, f16, bf16, f64)")?,
        kv_aligned: required(o, "kv_aligned", at, "0 or 1")?,
        seed: required(o, "seed", at, COUNT)?,
        verdict: required(
            o,
            "verdict",
            at,
            "a verdict (PASS_EQUIV, FAIL_EQUIV, EXPECTED_DRIFT, FAIL_DRIFT, INCOMPLETE, SKIPPED)",
        )?,
        metrics: metrics(o.get("metrics"), at)?,
    })
}

/// A performance row's `profile`: absent or null (an older report), else an object whose
/// `wall_samples_s`, when present, is an array of floats.
fn perf_profile(v: Option<&Value>, at: &str) -> Result<Option<PerfProfileView>, ReportError> {
    let at = format!("{at}.profile");
    let p = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v
            .as_object()
            .ok_or_else(|| wrong(&at, v, "an object or null"))?,
    };
    let wall_samples_s = match p.get("wall_samples_s") {
        None => Vec::new(),
        Some(v) => {
            let at = format!("{at}.wall_samples_s");
            array(v, &at)?
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    let at = format!("{at}[{i}]");
                    float_serde::deserialize(x).map_err(|_| wrong(&at, x, FLOAT))
                })
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    Ok(Some(PerfProfileView { wall_samples_s }))
}

fn perf(v: &Value, at: &str) -> Result<PerfView, ReportError> {
    let o = object(v, at)?;
    Ok(PerfView {
        span: required(o, "span", at, COUNT)?,
        dtype: required(o, "dtype", at, "a dtype (f32, f16, bf16, f64)")?,
        route: required(o, "route", at, "a route (prefill or decode)")?,
        wall_mean_s: float(field(o, "wall_mean_s", at)?, &format!("{at}.wall_mean_s"))?,
        profile: perf_profile(o.get("profile"), at)?,
    })
}

fn backend(v: &Value, at: &str) -> Result<BackendView, ReportError> {
    let o = object(v, at)?;
    let name: String = required(o, "name", at, "a string")?;
    let comparisons = array(field(o, "comparisons", at)?, &format!("{at}.comparisons"))?
        .iter()
        .enumerate()
        .map(|(i, r)| pair(r, &format!("{at}.comparisons[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let performance = array(field(o, "performance", at)?, &format!("{at}.performance"))?
        .iter()
        .enumerate()
        .map(|(i, r)| perf(r, &format!("{at}.performance[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(BackendView {
        name,
        comparisons,
        performance,
    })
}

/// Each backend, pair and performance row once.
fn check_unique(backends: &[BackendView]) -> Result<(), ReportError> {
    let mut names = BTreeSet::new();
    let mut pairs = BTreeSet::new();
    let mut rows = BTreeSet::new();
    for b in backends {
        if !names.insert(b.name.as_str()) {
            return Err(ReportError::Duplicate(format!("backend `{}`", b.name)));
        }
        for c in &b.comparisons {
            let key = PairKey {
                backend: b.name.clone(),
                span: c.span,
                dtype: c.dtype,
                kv_aligned: c.kv_aligned,
                seed: c.seed,
            };
            if !pairs.insert(key.clone()) {
                return Err(ReportError::Duplicate(format!(
                    "pair `{}`",
                    pair_label(&key)
                )));
            }
        }
        for p in &b.performance {
            let key = PerfKey {
                backend: b.name.clone(),
                span: p.span,
                dtype: p.dtype,
                route: p.route,
            };
            if !rows.insert(key.clone()) {
                return Err(ReportError::Duplicate(format!(
                    "performance row `{}`",
                    perf_label(&key)
                )));
            }
        }
    }
    Ok(())
}

/// Which JSON type `v` is, for the top level.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl ReportView {
    /// Read a `report.json` that must be a driftbench report: the checks of this module,
    /// then the view. `diff` reads its files through this; [`ReportView::parse`] checks
    /// nothing.
    pub fn read(json: &str) -> Result<ReportView, ReportError> {
        let v: Value =
            serde_json::from_str(json).map_err(|e| not_a_report(format!("not JSON ({e})")))?;
        let top = v.as_object().ok_or_else(|| {
            not_a_report(format!(
                "the top level is {}, expected an object",
                json_type(&v)
            ))
        })?;
        let missing: Vec<String> = REPORT_KEYS
            .iter()
            .filter(|k| !top.contains_key(**k))
            .map(|k| format!("`{k}`"))
            .collect();
        match missing.len() {
            0 => {}
            1 => return Err(not_a_report(format!("missing key {}", missing[0]))),
            _ => return Err(not_a_report(format!("missing keys {}", missing.join(", ")))),
        }
        let version: u64 = typed(&top["schema_version"], "schema_version", COUNT)?;
        if version != u64::from(SCHEMA_VERSION) {
            return Err(ReportError::Schema(version));
        }
        object(&top["sweep"], "sweep")?;
        let global = typed(
            &top["global"],
            "global",
            "a global verdict (PASS, FAIL or INCOMPLETE)",
        )?;
        let backends = array(&top["backends"], "backends")?
            .iter()
            .enumerate()
            .map(|(i, b)| backend(b, &format!("backends[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        check_unique(&backends)?;
        // The header says what ran; a report without one (or with one of another shape)
        // still compares, with its run details "not recorded".
        let header = top
            .get("header")
            .and_then(|h| serde_json::from_value(h.clone()).ok());
        Ok(ReportView {
            global: Some(global),
            backends,
            header,
        })
    }
}
