//! The report's pair and performance tables as CSV (`pairs.csv`, `performance.csv`), for
//! spreadsheets and dataframes.
//!
//! Numbers are written as Rust's `{:?}` writes them: shortest text that reads back to the
//! same value, exponent form for very small or large ones (`1e-7`), `NaN`, `inf`, `-inf`
//! for non-finite values; an empty cell means "not measured". Numeric cells are written as
//! they are (a negative number stays a number).
//!
//! Text cells (backend, dtype, verdict, route, reason) may hold what a plugin, a config or a
//! journal wrote, and a spreadsheet program must not run it:
//!
//! - a text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return, which a
//!   spreadsheet would read as a formula (or as a cell to run, for the last two), gets a `'`
//!   in front (`'=HYPERLINK(…)`): the spreadsheet shows the text as it is, apostrophe
//!   hidden; a dataframe reader sees the apostrophe;
//! - control characters (C0 `U+0000`–`U+001F` including tab and line breaks, DEL `U+007F`,
//!   C1 `U+0080`–`U+009F`: an ANSI escape, say) are written as `\xHH`, the code point in two
//!   hex digits (`\x1b[31m`), so every row is one line and no escape sequence reaches a
//!   terminal that prints the file. A backslash of the text is not doubled: `\xHH` is for
//!   reading, not for decoding back.

use crate::model::Report;
use driftbench_core::route::Route;
use std::fmt::Write as _;

/// File name of the pair table.
pub const PAIRS_CSV: &str = "pairs.csv";
/// File name of the performance table.
pub const PERFORMANCE_CSV: &str = "performance.csv";

/// Columns of [`pairs_csv`].
pub const PAIR_COLUMNS: [&str; 24] = [
    "backend",
    "span",
    "dtype",
    "kv_aligned",
    "seed",
    "verdict",
    "reason",
    "max_abs_diff",
    "p99_abs_diff",
    "mean_abs_diff",
    "top1_agreement",
    "nonfinite_prefill",
    "nonfinite_decode",
    "positions",
    "vocab",
    "kl_mean",
    "kl_p99",
    "kl_max",
    "nmse",
    "first_flip_position",
    "first_flip_prefill_token",
    "first_flip_decode_token",
    "first_flip_prefill_margin",
    "first_flip_decode_margin",
];

/// Columns of [`performance_csv`]: the performance table, then the latency profile of the
/// same runs (decode over both KV layouts): TTFT (prefill wall mean), decode step
/// percentiles and their sample count, decode tokens/s over the steps, read-back, peak
/// memory, achieved GFLOP/s and GB/s and their share of the device's peaks.
pub const PERF_COLUMNS: [&str; 25] = [
    "backend",
    "span",
    "dtype",
    "route",
    "wall_mean_s",
    "wall_p95_s",
    "per_token_mean_s",
    "tokens_per_s_mean",
    "logits_bytes_mean",
    "samples",
    "ttft_mean_s",
    "step_p50_s",
    "step_p90_s",
    "step_p95_s",
    "step_p99_s",
    "steps",
    "step_runs",
    "decode_tokens_per_s",
    "readback_mean_s",
    "readback_runs",
    "peak_rss_bytes",
    "achieved_gflops",
    "gflops_of_peak",
    "achieved_gbs",
    "gbs_of_peak",
];

fn num(v: f64) -> String {
    format!("{v:?}")
}

fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_default()
}

/// A text cell: neutralised against formulas and with its control characters shown as
/// `\xHH` (see the module's documentation).
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    for c in s.chars() {
        if c.is_control() {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

fn to_text(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    // Writing to memory fails only on a row of the wrong width, which the callers never build.
    let fill = |w: &mut ::csv::Writer<Vec<u8>>| -> ::csv::Result<()> {
        w.write_record(header)?;
        rows.iter().try_for_each(|r| w.write_record(r))
    };
    fill(&mut w).expect("CSV rows have the header's width");
    let bytes = w.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8")
}

/// One row per pair of every backend, in report order, with every metric ([`PAIR_COLUMNS`]).
pub fn pairs_csv(r: &Report) -> String {
    let mut rows = Vec::new();
    for b in &r.backends {
        for c in &b.comparisons {
            let m = c.metrics.as_ref();
            let flip = m.and_then(|m| m.first_flip.as_ref());
            let row = vec![
                text(&b.name),
                c.span.to_string(),
                text(&c.dtype.to_string()),
                c.kv_aligned.to_string(),
                c.seed.to_string(),
                text(&c.verdict.to_string()),
                text(c.reason.as_deref().unwrap_or_default()),
                opt(m.map(|m| m.max_abs_diff)),
                opt(m.map(|m| m.p99_abs_diff)),
                opt(m.map(|m| m.mean_abs_diff)),
                opt(m.map(|m| m.top1_agreement)),
                m.map(|m| m.nonfinite_prefill.to_string())
                    .unwrap_or_default(),
                m.map(|m| m.nonfinite_decode.to_string())
                    .unwrap_or_default(),
                m.map(|m| m.positions.to_string()).unwrap_or_default(),
                m.map(|m| m.vocab.to_string()).unwrap_or_default(),
                opt(m.and_then(|m| m.kl_mean)),
                opt(m.and_then(|m| m.kl_p99)),
                opt(m.and_then(|m| m.kl_max)),
                opt(m.and_then(|m| m.nmse)),
                flip.map(|f| f.position.to_string()).unwrap_or_default(),
                flip.map(|f| f.prefill_token.to_string())
                    .unwrap_or_default(),
                flip.map(|f| f.decode_token.to_string()).unwrap_or_default(),
                opt(flip.map(|f| f.prefill_margin)),
                opt(flip.map(|f| f.decode_margin)),
            ];
            rows.push(row);
        }
    }
    to_text(&PAIR_COLUMNS, rows)
}

/// One row per (backend, span, dtype, route) of every backend's performance table
/// ([`PERF_COLUMNS`]).
pub fn performance_csv(r: &Report) -> String {
    let rows = r
        .backends
        .iter()
        .flat_map(|b| {
            b.performance.iter().map(|p| {
                let l = p.profile.as_ref();
                let roof = l.and_then(|l| l.roofline.as_ref());
                let count = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_default();
                vec![
                    text(&b.name),
                    p.span.to_string(),
                    text(&p.dtype.to_string()),
                    text(p.route.as_str()),
                    num(p.wall_mean_s),
                    num(p.wall_p95_s),
                    num(p.per_token_mean_s),
                    num(p.tokens_per_s_mean),
                    opt(p.logits_bytes_mean),
                    p.samples.to_string(),
                    opt((p.route == Route::Prefill).then_some(p.wall_mean_s)),
                    opt(l.and_then(|l| l.step_p50_s)),
                    opt(l.and_then(|l| l.step_p90_s)),
                    opt(l.and_then(|l| l.step_p95_s)),
                    opt(l.and_then(|l| l.step_p99_s)),
                    count(l.map(|l| l.steps)),
                    count(l.map(|l| l.step_runs)),
                    opt(l.and_then(|l| l.step_tokens_per_s)),
                    opt(l.and_then(|l| l.readback_mean_s)),
                    count(l.map(|l| l.readback_runs)),
                    l.and_then(|l| l.peak_rss_bytes)
                        .map(|b| b.to_string())
                        .unwrap_or_default(),
                    opt(roof.map(|r| r.gflops)),
                    opt(roof.and_then(|r| r.gflops_of_peak)),
                    opt(roof.map(|r| r.gbs)),
                    opt(roof.and_then(|r| r.gbs_of_peak)),
                ]
            })
        })
        .collect();
    to_text(&PERF_COLUMNS, rows)
}
