//! `driftbench diff OLD NEW`: compare two reports (before and after a driver or burn
//! update); exit code 1 on a regression. Both files are read and proven to be driftbench
//! reports ([`ReportView::read`]) before anything is compared: anything else is one
//! `error: <file>: …` line and exit code 2, whichever side it is on.

use crate::args::DiffArgs;
use crate::text::terminal;
use anyhow::{anyhow, Result};
use driftbench_report::diff::{
    diff_reports, pair_label, perf_label, Change, ReportDiff, ReportView, Thresholds,
};
use driftbench_sweep::input_file;
use std::path::{Path, PathBuf};

/// Exit code of a diff that found a regression.
const EXIT_REGRESSION: i32 = 1;

/// `report.json` itself, or the one inside a sweep's output folder.
fn report_path(p: &Path) -> PathBuf {
    if p.is_dir() {
        p.join("report.json")
    } else {
        p.to_path_buf()
    }
}

fn load(p: &Path) -> Result<(PathBuf, ReportView)> {
    let path = report_path(p);
    let text = input_file::read_text(&path, input_file::REPORT_CAP)?;
    let view = ReportView::read(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok((path, view))
}

/// Compare; returns 0, or 1 on a regression.
pub fn run(a: &DiffArgs) -> Result<i32> {
    let (old_path, old) = load(&a.old)?;
    let (new_path, new) = load(&a.new)?;
    let th = Thresholds {
        metric_rel: a.metric_rel,
        metric_abs: a.metric_abs,
        slowdown: a.slowdown,
        fail_on_metrics: a.fail_on_metrics,
        fail_on_slowdown: a.fail_on_slowdown,
    };
    let d = diff_reports(&old, &new, th);
    println!("old: {}\nnew: {}", old_path.display(), new_path.display());
    print_diff(&d);
    let regressions = d.regressions();
    if d.no_change() {
        println!("no change");
    }
    if regressions.is_empty() {
        println!("no regression");
        Ok(0)
    } else {
        println!("{} regression(s):", regressions.len());
        for r in &regressions {
            println!("  {}", terminal(r));
        }
        Ok(EXIT_REGRESSION)
    }
}

fn show<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "missing".to_string(), |v| v.to_string())
}

fn print_diff(d: &ReportDiff) {
    if d.context.is_empty() {
        println!(
            "what changed besides the results: nothing (same config, tolerances, plan, plugins, driftbench version and machine)"
        );
    } else {
        println!("what changed besides the results:");
        for c in &d.context {
            println!("  {}", terminal(c));
        }
    }
    println!(
        "global verdict: {} → {}",
        show(d.old_global),
        show(d.new_global)
    );
    if !d.verdicts.is_empty() {
        println!("verdicts changed ({}):", d.verdicts.len());
        for v in &d.verdicts {
            let what = match v.change {
                Change::Regressed => "regressed",
                Change::Improved => "improved",
                Change::Changed => "changed",
                Change::Missing if v.is_regression() => "missing (regressed)",
                Change::Missing => "missing",
                Change::Added => "added",
                Change::Unplanned => "no longer planned",
            };
            let what = if v.tolerance_moved {
                format!("{what}; the tolerance moved, the metrics did not")
            } else {
                what.to_string()
            };
            println!(
                "  {}: {} → {} ({what})",
                terminal(&pair_label(&v.key)),
                show(v.old),
                show(v.new)
            );
        }
    }
    let th = &d.thresholds;
    if !d.metrics.is_empty() {
        println!(
            "metrics moved beyond {}% and {} ({}):",
            th.metric_rel * 100.0,
            th.metric_abs,
            d.metrics.len()
        );
        for m in &d.metrics {
            println!(
                "  {}: {} {:?} → {:?} ({})",
                terminal(&pair_label(&m.key)),
                m.metric,
                m.old,
                m.new,
                if m.worse { "worse" } else { "better" }
            );
        }
    }
    if !d.speed.is_empty() {
        let flagged: Vec<_> = d.speed.iter().filter(|s| s.slowdown || s.speedup).collect();
        let geo = (d.speed.iter().map(|s| s.ratio.ln()).sum::<f64>() / d.speed.len() as f64).exp();
        println!(
            "speed: new/old mean wall time over {} (backend, span, dtype, route) rows: geometric mean {geo:.3}; {} beyond {:.2}× either way",
            d.speed.len(),
            flagged.len(),
            1.0 + th.slowdown
        );
        for s in flagged {
            println!(
                "  {}: {} → {} ({:.2}× {})",
                terminal(&perf_label(&s.key)),
                seconds(s.old_s),
                seconds(s.new_s),
                s.ratio,
                if s.slowdown { "slower" } else { "faster" }
            );
        }
    }
    if !d.unusable_speed.is_empty() {
        println!(
            "unusable speed ratios ({}): a mean wall time is missing, NaN, infinite, zero or negative{}",
            d.unusable_speed.len(),
            if th.fail_on_slowdown {
                " (regressions under --fail-on-slowdown)"
            } else {
                ""
            }
        );
        for u in &d.unusable_speed {
            println!("  {}: {}", terminal(&perf_label(&u.key)), u.values());
        }
    }
}

/// A wall time with a unit that keeps three significant digits readable.
fn seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3}s")
    } else if s >= 1e-3 {
        format!("{:.3}ms", s * 1e3)
    } else {
        format!("{:.3}µs", s * 1e6)
    }
}
