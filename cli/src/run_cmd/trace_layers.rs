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

/// Backend that computes the reference trace (in f64).
pub const REFERENCE_BACKEND: &str = driftbench_sweep::default_backend::DEFAULT_BACKEND;

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
    /// Decode's per-position relative error (max over positions) over prefill's, both
    /// floored at half an f32 ulp.
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

/// Relative errors below half an f32 ulp count as that, so ratios of values at rounding-noise
/// level do not read as findings.
const REL_FLOOR: f64 = f32::EPSILON as f64 / 2.0;

/// The per-position relative error's largest value, floored at [`REL_FLOOR`]; at a point
/// whose reference is all zero, any absolute error is infinitely large and none is the floor.
fn floored(e: &PointError) -> f64 {
    match e.rel_max {
        Some(r) => r.max(REL_FLOOR),
        None if e.max_abs > 0.0 => f64::INFINITY,
        None => REL_FLOOR,
    }
}

/// `a`'s relative error over `b`'s, both floored.
fn ratio(a: &PointError, b: &PointError) -> f64 {
    let (a, b) = (floored(a), floored(b));
    if a.is_infinite() && b.is_infinite() {
        1.0
    } else {
        a / b
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

/// A relative-error cell: `max / median` over positions, and the non-finite count that
/// neither figure shows.
fn rel_cell(e: &PointError) -> String {
    let fig = |x: Option<f64>| x.map(|v| format!("{v:.2e}")).unwrap_or_else(|| "—".into());
    let mut cell = format!("{} / {}", fig(e.rel_max), fig(e.rel_median));
    if !e.all_finite() {
        cell.push_str(&format!(
            " + {} NaN/Inf",
            e.nonfinite_candidate + e.nonfinite_reference
        ));
    }
    cell
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
    println!(
        "relative error per position: ‖candidate − reference‖ / ‖reference‖ over the hidden width; max / median over positions"
    );
    let mut t = Table::new();
    t.load_preset(comfy_table::presets::ASCII_MARKDOWN);
    t.set_header([
        "point",
        "prefill rel (max / median)",
        "decode rel (max / median)",
        "decode / prefill",
        "prefill max_abs",
        "decode max_abs",
        "|reference| max",
    ]);
    for p in &r.points {
        t.add_row([
            terminal(&p.point),
            rel_cell(&p.prefill),
            rel_cell(&p.decode),
            format!("{:.1}×", p.decode_over_prefill),
            format!("{:.3e}", p.prefill.max_abs),
            format!("{:.3e}", p.decode.max_abs),
            format!(
                "{:.3e}",
                p.decode.reference_max.max(p.prefill.reference_max)
            ),
        ]);
    }
    println!("{t}");
    println!("finding: {}", terminal(&r.finding));
}

/// The one-line finding, on the per-position relative errors: the first non-finite value,
/// else the first point where decode's error exceeds prefill's by [`FACTOR`], else the first
/// point where a route's error grows by [`FACTOR`] over the previous point's, else that
/// nothing stands out.
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
    let rel = |e: &PointError| e.rel_max.map(sig3).unwrap_or_else(|| "—".into());
    if let Some(p) = points.iter().find(|p| p.decode_over_prefill >= FACTOR) {
        return format!(
            "decode's relative error against f64 first exceeds prefill's at {} ({} vs {}, max over positions, {:.0}×)",
            p.point,
            rel(&p.decode),
            rel(&p.prefill),
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
                    "{route}'s relative error against f64 first jumps at {} ({} after {} at {}, {:.0}×); decode stays within {FACTOR}× of prefill at every point",
                    w[1].point, rel(cur), rel(prev), w[0].point, jump
                );
            }
        }
    }
    let worst = points
        .iter()
        .flat_map(|p| [p.prefill.rel_max, p.decode.rel_max])
        .flatten()
        .fold(0.0, f64::max);
    format!(
        "no point where decode's relative error exceeds prefill's by {FACTOR}× or a route's jumps {FACTOR}×; largest relative error {}",
        sig3(worst)
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
            rel_max: Some(max_abs),
            rel_median: Some(max_abs / 3.0),
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
        assert!(
            f.contains("relative error against f64 first exceeds prefill's at L0.attn"),
            "{f}"
        );
        assert!(
            f.contains("(0.310 vs 0.0120, max over positions, 26×)"),
            "{f}"
        );
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
