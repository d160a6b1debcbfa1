//! The one-input function of the cargo-fuzz target `diff`, shared by `fuzz/fuzz_targets/diff.rs`
//! and the stable replay test of the crate it exercises (`report/tests/`), both of which include this file
//! with `#[path]`. It must return normally on any input: errors are the expected outcome of
//! garbage; a panic (or an abort, or an allocation driven by an untrusted length) is a bug.

use driftbench_report::diff::{diff_reports, pair_label, perf_label, ReportView, Thresholds};

/// Separates the old report from the new one in an input: a NUL byte, which JSON text
/// cannot hold.
pub const SEPARATOR: u8 = 0;

/// `diff`'s reader on arbitrary text, and the comparison of what it accepts:
///
/// 1. the input split at the first [`SEPARATOR`] into an old and a new `report.json` (no
///    separator: one report, both sides), each decoded as lossy UTF-8 and read by
///    `ReportView::read` (a driftbench report: schema version, required keys and types, no
///    run identity twice) and by the lenient `ReportView::parse`;
/// 2. every report that reads diffed with itself, and old with new both ways when both
///    read, under the default thresholds and under every `--fail-on` flag with tight ones;
/// 3. what `diff` prints of the result: the regressions, the labels, the unusable speed
///    ratios' values and the geometric mean of the speed ratios.
pub fn diff(data: &[u8]) {
    let (old, new) = match data.iter().position(|&b| b == SEPARATOR) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    let read = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        let _ = ReportView::parse(&text).map(|v| format!("{v:?}"));
        match ReportView::read(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                let _ = e.to_string();
                None
            }
        }
    };
    let old = read(old);
    let new = read(new);
    let mut pairs = Vec::new();
    for v in old.iter().chain(&new) {
        pairs.push((v, v));
    }
    if let (Some(o), Some(n)) = (&old, &new) {
        pairs.push((o, n));
        pairs.push((n, o));
    }
    let strict = Thresholds {
        metric_rel: 0.0,
        metric_abs: 0.0,
        slowdown: 0.0,
        fail_on_metrics: true,
        fail_on_slowdown: true,
    };
    for (a, b) in pairs {
        for th in [Thresholds::default(), strict] {
            let d = diff_reports(a, b, th);
            let _ = (d.regressions(), d.no_change(), d.global_regressed());
            for v in &d.verdicts {
                let _ = (pair_label(&v.key), v.is_regression());
            }
            for m in &d.metrics {
                let _ = (pair_label(&m.key), m.metric, m.old, m.new);
            }
            for s in &d.speed {
                let _ = perf_label(&s.key);
            }
            for u in &d.unusable_speed {
                let _ = (perf_label(&u.key), u.values());
            }
            if !d.speed.is_empty() {
                let geo = (d.speed.iter().map(|s| s.ratio.ln()).sum::<f64>()
                    / d.speed.len() as f64)
                    .exp();
                let _ = format!("{geo:.3}");
            }
        }
    }
}
