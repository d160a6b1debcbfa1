//! A small SVG writer for the report's plots: line plots with several series (linear or log
//! y axis) and grouped bar charts. Output is standalone SVG that can also be inlined into
//! HTML: no XML declaration, no `id` attributes (several plots share one page), no script.
//!
//! Non-finite values are data here as everywhere in driftbench: a NaN or ±Inf point is drawn
//! as a marker in a band above the plot area and counted in its series' legend entry, never
//! dropped. On a log axis, values ≤ 0 are drawn at a floor value that the legend names.
//!
//! A series whose points are exactly an earlier series' (kv_aligned=0 and =1 bitwise equal,
//! say) would hide under it: it is drawn with open circles on its points, and its legend
//! entry says which series it is identical to.

mod legend;
mod twins;

use legend::{legend, legend_height, Entry};
use std::fmt::Write as _;
use twins::{series_markers, twins};

/// Width of every plot, in SVG user units (pixels when shown 1:1).
const WIDTH: f64 = 760.0;
/// Height of the plot area.
const PLOT_H: f64 = 300.0;
/// Left margin (y tick labels and the y axis label).
const LEFT: f64 = 78.0;
/// Right margin.
const RIGHT: f64 = 20.0;
/// Space for the title.
const TITLE_H: f64 = 30.0;
/// Band above the plot area where non-finite values are marked.
const BAND_H: f64 = 18.0;
/// Height of one legend row.
const LEGEND_ROW: f64 = 18.0;

/// Series colours: distinguishable, also for the common colour-vision deficiencies.
const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22",
];

/// The colour of series `i`.
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Text made safe for SVG/HTML character data and attribute values: the five XML specials
/// become entities, and control characters (which XML 1.0 forbids) become spaces.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// [`escape`], appended to `out`.
pub(crate) fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

/// How the y axis maps values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum YScale {
    /// Linear from 0 (or the smallest value, when negative) to the largest.
    Linear,
    /// Base-10 logarithmic; values ≤ 0 are drawn at a floor one decade below the smallest
    /// positive value.
    Log,
}

/// How axis tick labels print values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    /// Plain numbers (`0.5`, `1e-3`).
    Plain,
    /// Durations in seconds (`12ms`, `1.5s`).
    Seconds,
}

/// One line of a [`LinePlot`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// `(x, y)` points in x order; `y` may be NaN or ±Inf.
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed (e.g. to set one family of lines apart).
    pub dashed: bool,
}

/// A line plot with several series.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    /// Title above the plot.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Y axis mapping.
    pub y_scale: YScale,
    /// Names of the x positions 0, 1, 2...; when set, the x axis is categorical and its
    /// ticks print these names instead of numbers.
    pub x_names: Option<Vec<String>>,
    /// The lines.
    pub series: Vec<Series>,
}

/// A grouped bar chart: one group per category, one bar per series in each group.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Title above the chart.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// Y axis mapping ([`YScale::Log`] when values span decades).
    pub y_scale: YScale,
    /// How tick labels print values.
    pub unit: Unit,
    /// Category names, one per group; a `\n` splits a name over two lines.
    pub groups: Vec<String>,
    /// Series names, one per bar of a group.
    pub series: Vec<String>,
    /// `values[group][series]`: `None` draws no bar; NaN/Inf draws a marker in the band.
    pub values: Vec<Vec<Option<f64>>>,
}

/// The y range of a plot and how it maps values to pixels.
struct YAxis {
    scale: YScale,
    lo: f64,
    hi: f64,
    /// Log scale: where values ≤ 0 are drawn.
    floor: Option<f64>,
    top: f64,
    height: f64,
}

impl YAxis {
    /// An axis covering the finite values `vals` (any order, non-finite ones ignored).
    fn new(scale: YScale, vals: impl Iterator<Item = f64>, top: f64, height: f64) -> YAxis {
        let finite: Vec<f64> = vals.filter(|v| v.is_finite()).collect();
        match scale {
            YScale::Linear => {
                let lo = finite.iter().copied().fold(0.0, f64::min);
                let mut hi = finite.iter().copied().fold(0.0, f64::max);
                if hi <= lo {
                    hi = lo + 1.0;
                }
                let step = nice_step((hi - lo) / 5.0);
                YAxis {
                    scale,
                    lo: (lo / step).floor() * step,
                    hi: (hi / step).ceil() * step,
                    floor: None,
                    top,
                    height,
                }
            }
            YScale::Log => {
                let pos = finite.iter().copied().filter(|&v| v > 0.0);
                let min_pos = pos.clone().fold(f64::INFINITY, f64::min);
                let max_pos = pos.fold(0.0, f64::max);
                let has_nonpos = finite.iter().any(|&v| v <= 0.0);
                let (lo_e, hi_e) = if max_pos > 0.0 {
                    let lo_e = min_pos.log10().floor() as i32;
                    let hi_e = (max_pos.log10().ceil() as i32).max(lo_e + 1);
                    // Room for the floor one decade below the smallest positive value.
                    (if has_nonpos { lo_e - 1 } else { lo_e }, hi_e)
                } else {
                    // Nothing positive to scale by (all zero): an arbitrary small decade.
                    (-12, -11)
                };
                let lo = 10f64.powi(lo_e);
                YAxis {
                    scale,
                    lo,
                    hi: 10f64.powi(hi_e),
                    floor: has_nonpos.then_some(lo),
                    top,
                    height,
                }
            }
        }
    }

    /// Pixel y of a finite value (values ≤ 0 on a log axis go to the floor).
    fn y(&self, v: f64) -> f64 {
        let f = match self.scale {
            YScale::Linear => (v - self.lo) / (self.hi - self.lo),
            YScale::Log => {
                let v = if v > 0.0 { v } else { self.lo };
                (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
            }
        };
        self.top + self.height * (1.0 - f.clamp(0.0, 1.0))
    }

    /// Tick values, bottom to top.
    fn ticks(&self) -> Vec<f64> {
        match self.scale {
            YScale::Linear => {
                let step = nice_step((self.hi - self.lo) / 5.0);
                let n = ((self.hi - self.lo) / step).round() as i64;
                (0..=n).map(|i| self.lo + i as f64 * step).collect()
            }
            YScale::Log => {
                let (lo, hi) = (
                    self.lo.log10().round() as i32,
                    self.hi.log10().round() as i32,
                );
                // At most about 8 labelled decades.
                let every = ((hi - lo) / 8 + 1).max(1);
                (lo..=hi)
                    .filter(|e| (e - lo) % every == 0)
                    .map(|e| 10f64.powi(e))
                    .collect()
            }
        }
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 || raw.is_infinite() {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// A tick label.
fn tick_label(v: f64, unit: Unit, log: bool) -> String {
    match unit {
        Unit::Seconds => seconds(v),
        Unit::Plain if log => {
            let e = v.log10().round() as i32;
            match e {
                0 => "1".to_string(),
                1 => "10".to_string(),
                _ => format!("1e{e}"),
            }
        }
        Unit::Plain => {
            if v == 0.0 {
                "0".to_string()
            } else if v.abs() >= 1e5 || v.abs() < 1e-3 {
                format!("{v:.0e}")
            } else {
                // Trim float noise such as 0.30000000000000004.
                let s = format!("{v:.6}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            }
        }
    }
}

/// A duration for an axis label.
fn seconds(v: f64) -> String {
    let (x, unit) = if v == 0.0 {
        return "0".to_string();
    } else if v >= 1.0 {
        (v, "s")
    } else if v >= 1e-3 {
        (v * 1e3, "ms")
    } else {
        (v * 1e6, "µs")
    };
    let s = format!("{x:.3}");
    format!("{}{unit}", s.trim_end_matches('0').trim_end_matches('.'))
}

/// A value as a tooltip prints it.
fn value_text(v: f64, unit: Unit) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        match unit {
            Unit::Seconds => seconds(v),
            Unit::Plain => format!("{v:e}"),
        }
    }
}

/// A coordinate, short.
fn n(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Open the `<svg>` element with its title (shown as a tooltip and read by screen readers).
fn open(out: &mut String, height: f64, title: &str) {
    let t = escape(title);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{t}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<title>{t}</title>\n\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n\
         <text x=\"{cx}\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" \
         font-weight=\"bold\">{t}</text>\n",
        w = n(WIDTH),
        h = n(height),
        cx = n(WIDTH / 2.0),
    );
}

/// Y grid lines, tick labels, the y label, and the non-finite band's caption when used.
fn y_axis(out: &mut String, ax: &YAxis, unit: Unit, label: &str, band: bool) {
    let right = WIDTH - RIGHT;
    for t in ax.ticks() {
        let y = ax.y(t);
        let _ = writeln!(
            out,
            "<line x1=\"{l}\" y1=\"{y}\" x2=\"{r}\" y2=\"{y}\" stroke=\"#dddddd\"/>\
             <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{s}</text>",
            l = n(LEFT),
            r = n(right),
            y = n(y),
            lx = n(LEFT - 6.0),
            ty = n(y + 4.0),
            s = escape(&tick_label(t, unit, ax.scale == YScale::Log)),
        );
    }
    let cy = ax.top + ax.height / 2.0;
    let _ = writeln!(
        out,
        "<text x=\"16\" y=\"{cy}\" text-anchor=\"middle\" \
         transform=\"rotate(-90 16 {cy})\">{}</text>",
        escape(label),
        cy = n(cy),
    );
    if let Some(f) = ax.floor {
        let y = ax.y(f);
        let _ = writeln!(
            out,
            "<text x=\"{x}\" y=\"{y}\" font-size=\"10\" fill=\"#666666\">0 at floor {}</text>",
            tick_label(f, unit, true),
            x = n(LEFT + 4.0),
            y = n(y - 3.0),
        );
    }
    if band {
        let top = ax.top - BAND_H;
        let _ = writeln!(
            out,
            "<rect x=\"{l}\" y=\"{t}\" width=\"{w}\" height=\"{h}\" fill=\"#fde0e0\"/>\
             <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" fill=\"#b00000\" \
             font-weight=\"bold\">NaN/Inf</text>",
            l = n(LEFT),
            t = n(top),
            w = n(right - LEFT),
            h = n(BAND_H - 2.0),
            lx = n(LEFT - 6.0),
            ty = n(top + 12.0),
        );
    }
    // The axes themselves.
    let bottom = ax.top + ax.height;
    let _ = writeln!(
        out,
        "<path d=\"M{l} {t} V{b} H{r}\" fill=\"none\" stroke=\"#333333\"/>",
        l = n(LEFT),
        t = n(ax.top),
        b = n(bottom),
        r = n(right),
    );
}

/// A marker for a non-finite value at `(x, y)`: a cross for NaN, a triangle for ±Inf.
fn nonfinite_marker(out: &mut String, x: f64, y: f64, v: f64, color: &str, tip: &str) {
    let shape = if v.is_nan() {
        format!(
            "<path d=\"M{a} {b} L{c} {d} M{a} {d} L{c} {b}\" stroke=\"{color}\" \
             stroke-width=\"2.5\"/>",
            a = n(x - 4.0),
            b = n(y - 4.0),
            c = n(x + 4.0),
            d = n(y + 4.0),
        )
    } else {
        format!(
            "<path d=\"M{x} {t} L{r} {b} L{l} {b} Z\" fill=\"{color}\"/>",
            x = n(x),
            t = n(y - 5.0),
            r = n(x + 5.0),
            l = n(x - 5.0),
            b = n(y + 4.0),
        )
    };
    let _ = writeln!(out, "<g><title>{}</title>{shape}</g>", escape(tip));
}

/// Render a line plot as an SVG document.
pub fn line_plot(p: &LinePlot) -> String {
    let has_nonfinite = points(p).any(|(_, y)| !y.is_finite());
    let plot_top = TITLE_H + if has_nonfinite { BAND_H + 4.0 } else { 8.0 };
    let ax = YAxis::new(p.y_scale, points(p).map(|&(_, y)| y), plot_top, PLOT_H);
    let xa = XAxis::new(p);
    let bottom = plot_top + PLOT_H;
    let x_axis_h = if p.x_names.is_some() { 70.0 } else { 40.0 };

    let twins = twins(&p.series);
    let entries = series_entries(p, &twins);
    let notes = line_notes(p, has_nonfinite, ax.floor);
    let height = bottom + x_axis_h + legend_height(&entries, notes.len()) + 10.0;

    let mut out = String::new();
    open(&mut out, height, &p.title);
    y_axis(&mut out, &ax, Unit::Plain, &p.y_label, has_nonfinite);
    x_axis(&mut out, p, &xa, bottom, x_axis_h);
    let band_y = plot_top - BAND_H / 2.0 - 1.0;
    for (i, s) in p.series.iter().enumerate() {
        series_line(&mut out, s, color(i), &xa, &ax);
        if twins[i].is_some() {
            series_markers(&mut out, s, color(i), &xa, &ax);
        }
        series_nonfinite_markers(&mut out, p, i, &xa, band_y);
    }
    all_zero_caption(&mut out, p, plot_top);
    legend(&mut out, bottom + x_axis_h + 6.0, &entries, &notes);
    out.push_str("</svg>\n");
    out
}

/// Every point of every series of `p`, series by series.
fn points(p: &LinePlot) -> impl Iterator<Item = &(f64, f64)> + Clone {
    p.series.iter().flat_map(|s| s.points.iter())
}

/// The x range of a line plot and how it maps x values to pixels.
struct XAxis {
    lo: f64,
    hi: f64,
}

impl XAxis {
    /// The category indices when `p` names its x positions, else the finite x values.
    fn new(p: &LinePlot) -> XAxis {
        let (lo, hi) = match &p.x_names {
            Some(names) => (0.0, names.len().saturating_sub(1).max(1) as f64),
            None => {
                let xs = points(p).map(|&(x, _)| x).filter(|x| x.is_finite());
                let lo = xs.clone().fold(f64::INFINITY, f64::min);
                let hi = xs.fold(f64::NEG_INFINITY, f64::max);
                if lo.is_finite() && hi > lo {
                    (lo, hi)
                } else if lo.is_finite() {
                    (lo, lo + 1.0)
                } else {
                    (0.0, 1.0)
                }
            }
        };
        XAxis { lo, hi }
    }

    /// Pixel x of an x value.
    fn x(&self, x: f64) -> f64 {
        let plot_w = WIDTH - LEFT - RIGHT;
        // A small inset keeps the first and last markers off the axes.
        let inset = 6.0;
        LEFT + inset + (x - self.lo) / (self.hi - self.lo) * (plot_w - 2.0 * inset)
    }

    /// Tick positions and labels: the names (thinned to about 24, the last always kept)
    /// on a categorical axis, else at most 40 values at a nice step.
    fn ticks(&self, x_names: Option<&[String]>) -> Vec<(f64, String)> {
        match x_names {
            Some(names) => {
                let every = names.len().div_ceil(24).max(1);
                names
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % every == 0 || *i + 1 == names.len())
                    .map(|(i, s)| (i as f64, s.clone()))
                    .collect()
            }
            None => {
                let (x_lo, x_hi) = (self.lo, self.hi);
                let step =
                    nice_step((x_hi - x_lo) / 8.0).max(if x_hi - x_lo >= 1.0 { 1.0 } else { 0.0 });
                let first = (x_lo / step).ceil() * step;
                let mut v = Vec::new();
                let mut x = first;
                while x <= x_hi + 1e-9 && v.len() < 40 {
                    v.push((x, tick_label(x, Unit::Plain, false)));
                    x += step;
                }
                v
            }
        }
    }
}

/// An x-axis label at (`cx`, `ty`), turned 45° so long labels do not overlap.
fn rotated_label(out: &mut String, cx: f64, ty: f64, label: &str) {
    let _ = writeln!(
        out,
        "<text x=\"{cx}\" y=\"{ty}\" text-anchor=\"end\" font-size=\"10\" \
         transform=\"rotate(-45 {cx} {ty})\">{}</text>",
        escape(label),
        cx = n(cx),
        ty = n(ty),
    );
}

/// Legend entries of a line plot: each series' label, with its non-finite counts if any
/// and the series it is identical to (`twins`, from [`twins`]).
fn series_entries(p: &LinePlot, twins: &[Option<usize>]) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (i, s) in p.series.iter().enumerate() {
        let nan = s.points.iter().filter(|(_, y)| y.is_nan()).count();
        let inf = s.points.iter().filter(|(_, y)| y.is_infinite()).count();
        let mut label = s.label.clone();
        if nan + inf > 0 {
            label.push_str(&format!(" ({nan} NaN, {inf} Inf)"));
        }
        let twin = twins.get(i).copied().flatten();
        if let Some(j) = twin {
            label.push_str(&format!(" (identical to {})", p.series[j].label));
        }
        entries.push(Entry {
            label,
            color: color(i),
            dashed: s.dashed,
            marker: twin.is_some(),
        });
    }
    entries
}

/// Legend notes of a line plot on how it draws special values (and when it has no data).
fn line_notes(p: &LinePlot, has_nonfinite: bool, floor: Option<f64>) -> Vec<String> {
    let mut notes = Vec::new();
    if has_nonfinite {
        notes.push("× NaN and ▲ ±Inf are drawn in the red band above the plot.".to_string());
    }
    if let Some(f) = floor {
        notes.push(format!(
            "Log scale: values of 0 are drawn at the floor {}.",
            tick_label(f, Unit::Plain, true)
        ));
    }
    if p.series.is_empty() {
        notes.push("No data.".to_string());
    }
    notes
}

/// X tick marks and labels (rotated on a categorical axis) and the x axis label.
fn x_axis(out: &mut String, p: &LinePlot, xa: &XAxis, bottom: f64, x_axis_h: f64) {
    let rotate = p.x_names.is_some();
    for (x, label) in &xa.ticks(p.x_names.as_deref()) {
        let cx = xa.x(*x);
        let _ = write!(
            out,
            "<line x1=\"{cx}\" y1=\"{b}\" x2=\"{cx}\" y2=\"{b5}\" stroke=\"#333333\"/>",
            cx = n(cx),
            b = n(bottom),
            b5 = n(bottom + 5.0),
        );
        if rotate {
            rotated_label(out, cx, bottom + 10.0, label);
        } else {
            let _ = writeln!(
                out,
                "<text x=\"{cx}\" y=\"{ty}\" text-anchor=\"middle\">{}</text>",
                escape(label),
                cx = n(cx),
                ty = n(bottom + 18.0),
            );
        }
    }
    let plot_w = WIDTH - LEFT - RIGHT;
    let _ = writeln!(
        out,
        "<text x=\"{cx}\" y=\"{y}\" text-anchor=\"middle\">{}</text>",
        escape(&p.x_label),
        cx = n(LEFT + plot_w / 2.0),
        y = n(bottom + x_axis_h - 6.0),
    );
}

/// One series as a path broken at non-finite points; a lone finite point gets a dot so it
/// shows. The dots come before the path.
fn series_line(out: &mut String, s: &Series, c: &str, xa: &XAxis, ax: &YAxis) {
    let mut d = String::new();
    let mut run = 0usize;
    for (k, &(x, y)) in s.points.iter().enumerate() {
        if !y.is_finite() || !x.is_finite() {
            run = 0;
            continue;
        }
        let _ = write!(
            d,
            "{}{} {} ",
            if run == 0 { "M" } else { "L" },
            n(xa.x(x)),
            n(ax.y(y))
        );
        let next_ok = s
            .points
            .get(k + 1)
            .is_some_and(|(x, y)| x.is_finite() && y.is_finite());
        if run == 0 && !next_ok {
            let _ = writeln!(
                out,
                "<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"{c}\"/>",
                n(xa.x(x)),
                n(ax.y(y))
            );
        }
        run += 1;
    }
    if !d.is_empty() {
        let dash = if s.dashed {
            " stroke-dasharray=\"6 3\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<path d=\"{}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"1.8\"{dash}>\
             <title>{}</title></path>",
            d.trim_end(),
            escape(&s.label),
        );
    }
}

/// Markers in the band for the non-finite values (at finite x) of series `i` of `p`.
fn series_nonfinite_markers(out: &mut String, p: &LinePlot, i: usize, xa: &XAxis, band_y: f64) {
    let s = &p.series[i];
    // Series sharing a position would hide each other's markers: spread them a little.
    let shift = (i as f64 - (p.series.len() as f64 - 1.0) / 2.0).clamp(-6.0, 6.0) * 3.0;
    for &(x, y) in &s.points {
        if !y.is_finite() && x.is_finite() {
            let at = match &p.x_names {
                Some(names) => names.get(x as usize).cloned().unwrap_or_default(),
                None => tick_label(x, Unit::Plain, false),
            };
            let tip = format!("{}: {} at {at}", s.label, value_text(y, Unit::Plain));
            nonfinite_marker(out, xa.x(x) + shift, band_y, y, color(i), &tip);
        }
    }
}

/// When every finite value is 0, say so in the plot, since lines on the floor say little.
fn all_zero_caption(out: &mut String, p: &LinePlot, plot_top: f64) {
    let mut finite = points(p)
        .map(|&(_, y)| y)
        .filter(|y| y.is_finite())
        .peekable();
    if finite.peek().is_some() && finite.all(|y| y == 0.0) {
        let plot_w = WIDTH - LEFT - RIGHT;
        let _ = writeln!(
            out,
            "<text x=\"{x}\" y=\"{y}\" text-anchor=\"middle\" font-size=\"14\" \
             fill=\"#444444\">every finite value is 0 (bitwise equal)</text>",
            x = n(LEFT + plot_w / 2.0),
            y = n(plot_top + PLOT_H / 2.0),
        );
    }
}

/// Render a grouped bar chart as an SVG document.
pub fn bar_chart(c: &BarChart) -> String {
    let vals = || c.values.iter().flatten().flatten().copied();
    let has_nonfinite = vals().any(|v| !v.is_finite());
    let plot_top = TITLE_H + if has_nonfinite { BAND_H + 4.0 } else { 8.0 };
    let ax = YAxis::new(c.y_scale, vals(), plot_top, PLOT_H);
    let bottom = plot_top + PLOT_H;
    let plot_w = WIDTH - LEFT - RIGHT;
    let groups = c.groups.len().max(1);
    let group_w = plot_w / groups as f64;
    let bars = c.series.len().max(1);
    let bar_w = (group_w * 0.8 / bars as f64).min(40.0);
    let rotate = groups > 12;
    let x_axis_h = if rotate { 70.0 } else { 44.0 };

    let entries: Vec<Entry> = c
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| Entry {
            label: s.clone(),
            color: color(i),
            dashed: false,
            marker: false,
        })
        .collect();
    let mut notes = Vec::new();
    if has_nonfinite {
        notes.push("× NaN and ▲ ±Inf are drawn in the red band above the plot.".to_string());
    }
    if c.y_scale == YScale::Log {
        notes.push("Log scale: the values span decades.".to_string());
    }
    if ax.floor.is_some() {
        notes.push("Values of 0 are drawn at the floor.".to_string());
    }
    if c.groups.is_empty() {
        notes.push("No data.".to_string());
    }
    let height = bottom + x_axis_h + legend_height(&entries, notes.len()) + 10.0;

    let mut out = String::new();
    open(&mut out, height, &c.title);
    y_axis(&mut out, &ax, c.unit, &c.y_label, has_nonfinite);
    let base = bottom;
    let band_y = plot_top - BAND_H / 2.0 - 1.0;
    for (g, name) in c.groups.iter().enumerate() {
        let gx = LEFT + g as f64 * group_w;
        let first = gx + (group_w - bar_w * bars as f64) / 2.0;
        for (s, v) in c
            .values
            .get(g)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let Some(v) = *v else { continue };
            let x = first + s as f64 * bar_w;
            let series = c.series.get(s).map_or("", String::as_str);
            let tip = format!(
                "{}, {}: {}",
                name.replace('\n', " "),
                series,
                value_text(v, c.unit)
            );
            if v.is_finite() {
                let top = ax.y(v);
                let _ = writeln!(
                    out,
                    "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{col}\">\
                     <title>{}</title></rect>",
                    escape(&tip),
                    x = n(x + 1.0),
                    y = n(top),
                    w = n((bar_w - 2.0).max(1.0)),
                    h = n((base - top).max(0.5)),
                    col = color(s),
                );
            } else {
                nonfinite_marker(&mut out, x + bar_w / 2.0, band_y, v, color(s), &tip);
            }
        }
        // Group label: one or two lines, or rotated when groups are many.
        let cx = gx + group_w / 2.0;
        if rotate {
            rotated_label(&mut out, cx, bottom + 10.0, &name.replace('\n', " "));
        } else {
            for (k, line) in name.split('\n').take(2).enumerate() {
                let _ = writeln!(
                    out,
                    "<text x=\"{cx}\" y=\"{ty}\" text-anchor=\"middle\">{}</text>",
                    escape(line),
                    cx = n(cx),
                    ty = n(bottom + 16.0 + 14.0 * k as f64),
                );
            }
        }
    }
    legend(&mut out, bottom + x_axis_h + 6.0, &entries, &notes);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_labels() {
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(tick_label(1e-3, Unit::Plain, true), "1e-3");
        assert_eq!(tick_label(0.25, Unit::Plain, false), "0.25");
        assert_eq!(seconds(0.0125), "12.5ms");
        assert_eq!(seconds(2.0), "2s");
        assert_eq!(escape("a<b&\"c'\u{1b}"), "a&lt;b&amp;&quot;c&#39; ");
    }

    #[test]
    fn log_axis_has_a_floor_only_for_zeros() {
        let ax = YAxis::new(YScale::Log, [0.0, 1e-3, 0.5].into_iter(), 0.0, 100.0);
        assert_eq!(ax.floor, Some(1e-4));
        assert_eq!(ax.hi, 1.0);
        let ax = YAxis::new(YScale::Log, [1e-3, 0.5].into_iter(), 0.0, 100.0);
        assert_eq!(ax.floor, None);
        assert_eq!(ax.y(1e-3), 100.0);
        assert_eq!(ax.y(1.0), 0.0);
    }
}
