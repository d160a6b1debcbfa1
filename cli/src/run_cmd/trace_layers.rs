//! `driftbench run --trace-layers`: trace both routes of the pair on its backend and dtype,
//! and the same routes on the f64 reference (flex), then say per layer where each route's
//! error against f64 enters.

use crate::text::terminal;
use anyhow::{anyhow, Context, Result};
use comfy_table::Table;
use driftbench_core::backend::Backend;
use driftbench_core::backend::Session;
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvLayout;
use driftbench_core::model_spec::ModelSpec;
use driftbench_core::route::Route;
use driftbench_core::trace::{compare_traces, LayerTrace, PointError};
use std::path::Path;

/// Backend that computes the reference trace.
pub const REFERENCE_BACKEND: &str = "flex";

/// Factor by which decode's error must exceed prefill's (or a point's error the previous
/// point's) to be named in the finding.
pub const FACTOR: f64 = 4.0;

/// What to trace.
pub struct Job<'a> {
    /// Backend name of the pair.
    pub backend: &'a str,
    /// Its dtype.
    pub dtype: Dtype,
    /// The model, for the reference session.
    pub model: &'a ModelSpec,
    /// The pair's prompt.
    pub tokens: &'a [u32],
    /// The pair's decode layout.
    pub layout: KvLayout,
}

/// One row of the table and of `trace.json`.
#[derive(Debug)]
pub struct PointRow {
    /// Point name.
    pub point: String,
    /// Prefill against the f64 prefill.
    pub prefill: PointError,
    /// Decode against the f64 decode (aligned cache).
    pub decode: PointError,
    /// Decode's max_abs over prefill's, both floored at one f32 ulp of the point's scale.
    pub decode_over_prefill: f64,
}

/// What `trace.json` holds.
#[derive(Debug)]
pub struct TraceReport {
    /// Backend traced.
    pub backend: String,
    /// Its dtype.
    pub dtype: Dtype,
    /// What the reference ran on, e.g. `flex f64`.
    pub reference: String,
    /// Positions traced.
    pub span: usize,
    /// The candidate decode's KV layout.
    pub layout: KvLayout,
    /// One row per point, in forward order.
    pub points: Vec<PointRow>,
    /// The one-line finding.
    pub finding: String,
}

impl TraceReport {
    /// The `trace.json` form.
    pub fn to_json(&self) -> serde_json::Value {
        let points: Vec<serde_json::Value> = self
            .points
            .iter()
            .map(|p| {
                serde_json::json!({
                    "point": p.point,
                    "prefill": p.prefill,
                    "decode": p.decode,
                    "decode_over_prefill": p.decode_over_prefill,
                })
            })
            .collect();
        serde_json::json!({
            "backend": self.backend,
            "dtype": self.dtype,
            "reference": self.reference,
            "span": self.span,
            "layout": self.layout,
            "points": points,
            "finding": self.finding,
        })
    }
}

/// Errors below one f32 ulp of a point's scale count as that ulp, so ratios of values at
/// rounding-noise level do not read as findings.
fn floor(e: &PointError) -> f64 {
    e.max_abs
        .max(e.reference_max * f64::from(f32::EPSILON) / 2.0)
}

/// `a`'s error over `b`'s, floored; 1 where both are exactly zero at an all-zero point.
fn ratio(a: &PointError, b: &PointError) -> f64 {
    let (a, b) = (floor(a), floor(b));
    if b > 0.0 {
        a / b
    } else if a > 0.0 {
        f64::INFINITY
    } else {
        1.0
    }
}

fn trace_both(
    s: &mut dyn Session,
    tokens: &[u32],
    layout: KvLayout,
    who: &str,
) -> Result<(LayerTrace, LayerTrace)> {
    let p = s
        .trace(Route::Prefill, tokens, layout)
        .map_err(|e| anyhow!("--trace-layers: {who}: prefill trace: {e}"))?;
    let d = s
        .trace(Route::Decode, tokens, layout)
        .map_err(|e| anyhow!("--trace-layers: {who}: decode trace: {e}"))?;
    Ok((p, d))
}

/// Trace the candidate on `session`, the reference on a session of `reference` opened here
/// (called only once the candidate traced), compare, print, and save into `save` if given.
pub fn run(
    job: &Job,
    session: &mut dyn Session,
    reference: impl FnOnce() -> Result<Box<dyn Backend>>,
    save: Option<&Path>,
) -> Result<TraceReport> {
    let who = format!("{} {}", job.backend, job.dtype);
    let (cand_p, cand_d) = trace_both(session, job.tokens, job.layout, &who)?;
    let ref_backend = reference()?;
    let label = format!("{REFERENCE_BACKEND} {}", Dtype::F64);
    let mut ref_session = ref_backend
        .open(job.model, Dtype::F64)
        .map_err(|e| anyhow!("--trace-layers: reference {label}: {e}"))?;
    // The reference decode uses the aligned cache: the exact computation the pair approximates.
    let (ref_p, ref_d) = trace_both(ref_session.as_mut(), job.tokens, KvLayout::Aligned, &label)?;
    let pe =
        compare_traces(&cand_p, &ref_p).map_err(|e| anyhow!("--trace-layers: prefill: {e}"))?;
    let de = compare_traces(&cand_d, &ref_d).map_err(|e| anyhow!("--trace-layers: decode: {e}"))?;
    let points: Vec<PointRow> = pe
        .into_iter()
        .zip(de)
        .map(|(prefill, decode)| PointRow {
            point: prefill.point.clone(),
            decode_over_prefill: ratio(&decode, &prefill),
            prefill,
            decode,
        })
        .collect();
    let report = TraceReport {
        backend: job.backend.to_string(),
        dtype: job.dtype,
        reference: label,
        span: job.tokens.len(),
        layout: job.layout,
        finding: finding(&points),
        points,
    };
    print(&report);
    if let Some(dir) = save {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join("trace.json");
        std::fs::write(&path, serde_json::to_string_pretty(&report.to_json())?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("saved {}", path.display());
        let prefill: Vec<PointError> = report.points.iter().map(|p| p.prefill.clone()).collect();
        let decode: Vec<PointError> = report.points.iter().map(|p| p.decode.clone()).collect();
        let title = format!(
            "{} {}: error against {} per layer point",
            report.backend, report.dtype, report.reference
        );
        let svg = driftbench_report::per_layer_plot(
            &title,
            &[("prefill", &prefill[..]), ("decode", &decode[..])],
        );
        let path = dir.join("trace.svg");
        std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
        println!("saved {}", path.display());
    } else {
        println!("(give --save-logits DIR to keep trace.json and trace.svg)");
    }
    Ok(report)
}

/// `x` to three significant digits, plainly where that reads well (0.00835, 12.3).
fn sig3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let mag = x.abs().log10().floor();
    if (-3.0..4.0).contains(&mag) {
        format!("{x:.*}", (2.0 - mag).max(0.0) as usize)
    } else {
        format!("{x:.2e}")
    }
}

/// A cell: the error, or the non-finite count that a max would hide.
fn cell(e: &PointError) -> String {
    if e.all_finite() {
        format!("{:.3e}", e.max_abs)
    } else {
        format!(
            "{:.3e} + {} NaN/Inf",
            e.max_abs,
            e.nonfinite_candidate + e.nonfinite_reference
        )
    }
}

fn print(r: &TraceReport) {
    println!(
        "layer trace: {} {} against {} ({} positions, decode {:?})",
        terminal(&r.backend),
        r.dtype,
        r.reference,
        r.span,
        r.layout
    );
    let mut t = Table::new();
    t.load_preset(comfy_table::presets::ASCII_MARKDOWN);
    t.set_header([
        "point",
        &format!("prefill max_abs vs {}", Dtype::F64),
        &format!("decode max_abs vs {}", Dtype::F64),
        "decode / prefill",
    ]);
    for p in &r.points {
        t.add_row([
            terminal(&p.point),
            cell(&p.prefill),
            cell(&p.decode),
            format!("{:.1}×", p.decode_over_prefill),
        ]);
    }
    println!("{t}");
    println!("finding: {}", terminal(&r.finding));
}

/// The one-line finding: the first non-finite value, else the first point where decode's
/// error exceeds prefill's by [`FACTOR`], else the first point where a route's error grows
/// by [`FACTOR`] over the previous point's, else that nothing stands out.
pub fn finding(points: &[PointRow]) -> String {
    for p in points {
        for (route, e) in [("prefill", &p.prefill), ("decode", &p.decode)] {
            if e.nonfinite_candidate > 0 {
                return format!(
                    "{route} first produces NaN/Inf at {} ({} values)",
                    p.point, e.nonfinite_candidate
                );
            }
        }
    }
    if let Some(p) = points.iter().find(|p| p.decode_over_prefill >= FACTOR) {
        return format!(
            "decode's error against f64 first exceeds prefill's at {} ({} vs {}, {:.0}×)",
            p.point,
            sig3(p.decode.max_abs),
            sig3(p.prefill.max_abs),
            p.decode_over_prefill
        );
    }
    for w in points.windows(2) {
        for (route, prev, cur) in [
            ("prefill", &w[0].prefill, &w[1].prefill),
            ("decode", &w[0].decode, &w[1].decode),
        ] {
            let jump = ratio(cur, prev);
            if jump >= FACTOR {
                return format!(
                    "{route}'s error against f64 first jumps at {} ({:.3e} after {:.3e} at {}, {:.0}×); decode stays within {FACTOR}× of prefill at every point",
                    w[1].point, cur.max_abs, prev.max_abs, w[0].point, jump
                );
            }
        }
    }
    let worst = points
        .iter()
        .map(|p| p.prefill.max_abs.max(p.decode.max_abs))
        .fold(0.0, f64::max);
    format!(
        "no point where decode's error exceeds prefill's by {FACTOR}× or a route's error jumps {FACTOR}×; largest error {worst:.3e}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(max_abs: f64) -> PointError {
        PointError {
            point: String::new(),
            max_abs,
            mean_abs: max_abs / 2.0,
            reference_max: 1.0,
            relative: Some(max_abs),
            nonfinite_candidate: 0,
            nonfinite_reference: 0,
        }
    }

    fn row(point: &str, p: f64, d: f64) -> PointRow {
        PointRow {
            point: point.into(),
            decode_over_prefill: ratio(&err(d), &err(p)),
            prefill: err(p),
            decode: err(d),
        }
    }

    #[test]
    fn finding_names_the_first_decode_excess_then_jumps() {
        let rows = [
            row("embed", 1e-3, 1e-3),
            row("L0.attn", 0.012, 0.31),
            row("L0.mlp", 0.02, 0.5),
        ];
        let f = finding(&rows);
        assert!(f.contains("first exceeds prefill's at L0.attn"), "{f}");
        assert!(f.contains("(0.310 vs 0.0120, 26×)"), "{f}");
        assert_eq!(sig3(0.008351), "0.00835");
        assert_eq!(sig3(134.56), "135");
        assert_eq!(sig3(2.5e-7), "2.50e-7");
        let rows = [row("embed", 1e-3, 1e-3), row("L0.attn", 0.01, 0.012)];
        let f = finding(&rows);
        assert!(f.contains("first jumps at L0.attn"), "{f}");
        let rows = [row("embed", 0.0, 0.0), row("L0.attn", 1e-8, 2e-8)];
        assert!(finding(&rows).starts_with("no point"), "{}", finding(&rows));
    }
}
