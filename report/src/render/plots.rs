//! Which plots a report gets, and the per-layer error plot of a layer trace.
//!
//! - `drift-<backend>-<dtype>.svg`: per position, max |prefill − decode| of each
//!   (span, kv_aligned), from the worst seed of that combination; log scale.
//! - `latency-<backend>.svg`: mean wall time per (span, dtype), prefill and decode bars.
//! - `latency-backends-<route>.svg` (two or more backends): mean wall time per (span, dtype),
//!   one bar per backend.
//!
//! File names are built from sanitized parts (backend names come from plugins) and made
//! unique, so no name can leave `plots/` or collide with another. Each plot names the
//! report section it illustrates ([`PlotSection`]), so `report.html` can show it there.

use crate::model::{BackendReport, ComparisonRow, Report};
use crate::render::svg::{bar_chart, line_plot, BarChart, LinePlot, Series, Unit, YScale};
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::route::Route;
use driftbench_core::trace::PointError;
use std::collections::{BTreeMap, BTreeSet};

/// One rendered plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// File name under `plots/`, e.g. `drift-flex-f32.svg`: `[a-z0-9_-]` and `.svg`.
    pub file: String,
    /// Title (as in the SVG), unescaped.
    pub title: String,
    /// The SVG document.
    pub svg: String,
    /// The report section the plot illustrates.
    pub section: PlotSection,
}

/// The report section a plot illustrates: `report.html` shows the plot right after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotSection {
    /// The drift characterization of backend `k` (its index in [`Report::backends`]).
    Drift(usize),
    /// The performance profiling of backend `k` (its index in [`Report::backends`]).
    Performance(usize),
    /// The cross-backend summary's mean wall time per backend.
    CrossPerformance,
}

/// Every plot of a report, in report order: per backend its drift curves (one plot per
/// dtype with curves) and its latency bars, then the cross-backend latency bars.
pub fn report_plots(r: &Report) -> Vec<Plot> {
    let mut names = Names::default();
    let mut out = Vec::new();
    let mut push = |parts: &[&str], section, (title, svg)| {
        let file = names.unique(parts);
        out.push(Plot {
            file,
            title,
            svg,
            section,
        });
    };
    for (k, b) in r.backends.iter().enumerate() {
        for dtype in Dtype::ALL {
            if let Some(p) = drift_plot(b, dtype) {
                push(
                    &["drift", &b.name, dtype.as_str()],
                    PlotSection::Drift(k),
                    p,
                );
            }
        }
        if let Some(p) = latency_plot(b) {
            push(&["latency", &b.name], PlotSection::Performance(k), p);
        }
    }
    if r.cross.backends.len() >= 2 {
        for route in [Route::Prefill, Route::Decode] {
            if let Some(p) = cross_latency_plot(r, route) {
                let parts = ["latency-backends", route.as_str()];
                push(&parts, PlotSection::CrossPerformance, p);
            }
        }
    }
    out
}

/// A plot's title and SVG document, before it is given a file name and a section.
type Drawn = (String, String);

/// File names handed out so far.
#[derive(Default)]
struct Names(BTreeSet<String>);

impl Names {
    /// `part1-part2-...svg` from sanitized parts, with a numeric suffix when taken.
    fn unique(&mut self, parts: &[&str]) -> String {
        let stem: Vec<String> = parts.iter().map(|p| sanitize(p)).collect();
        let stem = stem.join("-");
        let mut name = format!("{stem}.svg");
        let mut i = 2;
        while self.0.contains(&name) {
            name = format!("{stem}-{i}.svg");
            i += 1;
        }
        self.0.insert(name.clone());
        name
    }
}

/// A file-name part: lower-case ASCII letters, digits, `_` and `-`; anything else (dots,
/// slashes, spaces, non-ASCII) becomes `_`; at most 40 characters; never empty.
pub fn sanitize(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(40)
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_' | '-') => c,
            _ => '_',
        })
        .collect();
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// How bad a pair's drift is, for picking the worst seed: any non-finite value beats any
/// finite one, then the larger max |diff|.
fn badness(row: &ComparisonRow) -> (bool, f64) {
    let m = row.metrics.as_ref();
    let curve = m.map_or(&[][..], |m| &m.drift_curve[..]);
    let nonfinite =
        curve.iter().any(|v| !v.is_finite()) || m.is_some_and(|m| !m.max_abs_diff.is_finite());
    let max = m.map_or(0.0, |m| m.max_abs_diff);
    (nonfinite, if max.is_finite() { max } else { 0.0 })
}

/// The drift-curve plot of one (backend, dtype), or `None` when no pair has a curve.
fn drift_plot(b: &BackendReport, dtype: Dtype) -> Option<Drawn> {
    // Worst seed per (span, kv_aligned); BTreeMap keeps spans numeric and kv 0 before 1.
    let mut worst: BTreeMap<(usize, KvMode), &ComparisonRow> = BTreeMap::new();
    let mut seeds = BTreeSet::new();
    for row in &b.comparisons {
        let has_curve = row
            .metrics
            .as_ref()
            .is_some_and(|m| !m.drift_curve.is_empty());
        if row.dtype != dtype || !has_curve {
            continue;
        }
        seeds.insert(row.seed);
        let slot = worst.entry((row.span, row.kv_aligned)).or_insert(row);
        if badness(row) > badness(slot) {
            *slot = row;
        }
    }
    if worst.is_empty() {
        return None;
    }
    let several_seeds = seeds.len() > 1;
    let series = worst
        .iter()
        .map(|(&(span, kv), row)| {
            let curve = row.metrics.as_ref().map_or(&[][..], |m| &m.drift_curve[..]);
            let mut label = format!("span {span}, kv_aligned={kv}");
            if several_seeds {
                label.push_str(&format!(", worst seed {}", row.seed));
            }
            Series {
                label,
                points: curve
                    .iter()
                    .enumerate()
                    .map(|(p, &v)| (p as f64, f64::from(v)))
                    .collect(),
                // Aligned pairs are usually bitwise equal: dashed, so they read as the
                // reference line at the floor rather than as drift.
                dashed: kv.is_aligned(),
            }
        })
        .collect();
    let title = format!("{}: drift per position ({})", b.name, dtype);
    let svg = line_plot(&LinePlot {
        title: title.clone(),
        x_label: "position (prompt token)".to_string(),
        y_label: "max |prefill − decode|".to_string(),
        y_scale: YScale::Log,
        x_names: None,
        series,
    });
    Some((title, svg))
}

/// Log scale when the positive values span more than two decades.
fn scale_for(vals: impl Iterator<Item = f64>) -> YScale {
    let pos: Vec<f64> = vals.filter(|v| v.is_finite() && *v > 0.0).collect();
    let lo = pos.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = pos.iter().copied().fold(0.0, f64::max);
    if hi > 0.0 && hi / lo > 100.0 {
        YScale::Log
    } else {
        YScale::Linear
    }
}

/// A bar-chart group name for one (span, dtype).
fn group(span: usize, dtype: Dtype) -> String {
    format!("span {span}\n{dtype}")
}

/// Mean wall time of one backend per (span, dtype), prefill and decode side by side.
fn latency_plot(b: &BackendReport) -> Option<Drawn> {
    let mut rows: BTreeMap<(Dtype, usize), [Option<f64>; 2]> = BTreeMap::new();
    for p in &b.performance {
        let slot = rows.entry((p.dtype, p.span)).or_default();
        slot[route_index(p.route)] = Some(p.wall_mean_s);
    }
    if rows.is_empty() {
        return None;
    }
    let title = format!("{}: mean wall time per run", b.name);
    let chart = BarChart {
        title: title.clone(),
        y_label: "mean wall time".to_string(),
        y_scale: scale_for(rows.values().flatten().flatten().copied()),
        unit: Unit::Seconds,
        groups: rows.keys().map(|&(d, s)| group(s, d)).collect(),
        series: vec!["prefill".to_string(), "decode".to_string()],
        values: rows.values().map(|v| v.to_vec()).collect(),
    };
    Some((title, bar_chart(&chart)))
}

fn route_index(r: Route) -> usize {
    match r {
        Route::Prefill => 0,
        Route::Decode => 1,
    }
}

/// Mean wall time of one route per (span, dtype), one bar per backend.
fn cross_latency_plot(r: &Report, route: Route) -> Option<Drawn> {
    let mut rows: Vec<_> = r
        .cross
        .performance
        .iter()
        .filter(|p| p.route == route)
        .collect();
    if rows.is_empty() {
        return None;
    }
    rows.sort_by_key(|p| (p.dtype, p.span));
    let values: Vec<Vec<Option<f64>>> = rows
        .iter()
        .map(|p| p.mean_wall_s.iter().map(|c| c.mean_s).collect())
        .collect();
    let title = format!("{} wall time per backend", route.as_str());
    let chart = BarChart {
        title: title.clone(),
        y_label: "mean wall time".to_string(),
        y_scale: scale_for(values.iter().flatten().flatten().copied()),
        unit: Unit::Seconds,
        groups: rows.iter().map(|p| group(p.span, p.dtype)).collect(),
        series: r.cross.backends.clone(),
        values,
    };
    Some((title, bar_chart(&chart)))
}

/// The per-layer error plot of a layer trace (`trace.svg`): for each route (e.g.
/// `("prefill", errors)`, `("decode", errors)`), the per-position relative error
/// ‖route − reference‖ / ‖reference‖, max over positions, at every trace point, on a log
/// scale (an absolute error would grow with the residual stream's magnitude, not with the
/// error). A point where either side holds NaN/Inf, or whose reference is all zero, is drawn
/// as a NaN marker (its figures cover the finite values only, so they would hide the
/// problem).
pub fn per_layer_plot(title: &str, routes: &[(&str, &[PointError])]) -> String {
    let points: Vec<String> = routes
        .iter()
        .max_by_key(|(_, e)| e.len())
        .map(|(_, e)| e.iter().map(|p| p.point.clone()).collect())
        .unwrap_or_default();
    let series = routes
        .iter()
        .map(|(name, errs)| Series {
            label: name.to_string(),
            points: errs
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let y = match e.rel_max {
                        Some(r) if e.all_finite() => r,
                        _ => f64::NAN,
                    };
                    (i as f64, y)
                })
                .collect(),
            dashed: false,
        })
        .collect();
    per_layer_values(title, &points, series)
}

/// [`per_layer_plot`] over plain values: `series[k].1[i]` is route `k`'s error at
/// `points[i]` (NaN/Inf drawn as markers).
pub fn per_layer_plot_values(title: &str, points: &[String], series: &[(&str, &[f64])]) -> String {
    let series = series
        .iter()
        .map(|(name, vals)| Series {
            label: name.to_string(),
            points: vals
                .iter()
                .enumerate()
                .map(|(i, &v)| (i as f64, v))
                .collect(),
            dashed: false,
        })
        .collect();
    per_layer_values(title, points, series)
}

fn per_layer_values(title: &str, points: &[String], series: Vec<Series>) -> String {
    line_plot(&LinePlot {
        title: title.to_string(),
        x_label: "trace point".to_string(),
        y_label: "relative error (max over positions)".to_string(),
        y_scale: YScale::Log,
        x_names: Some(points.to_vec()),
        series,
    })
}
