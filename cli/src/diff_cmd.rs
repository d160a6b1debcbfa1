//! `driftbench diff OLD NEW`: compare two reports (before and after a driver or burn
//! update); exit code 1 on a regression. Both files are read and proven to be driftbench
//! reports ([`ReportView::read`]) before anything is compared: anything else is one
//! `error: <file>: …` line and exit code 2, whichever side it is on.

use crate::args::DiffArgs;
use crate::text::terminal;
use anyhow::{anyhow, Result};
use driftbench_report::diff::{
    diff_reports, p_text, pair_label, perf_label, seconds, Center, Change, ReportDiff, ReportView,
    SpeedRatio, Thresholds, MIN_RUNS, SIGNIFICANCE,
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
        print_speed(d);
    }
    if !d.unusable_speed.is_empty() {
        // A median is unusable when one of its runs' times is (a hand-edited report).
        let what = if d.unusable_speed.iter().any(|u| u.center == Center::Median) {
            "a mean or median"
        } else {
            "a mean"
        };
        println!(
            "unusable speed ratios ({}): {what} wall time is missing, NaN, infinite, zero or negative{}",
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

/// The speed rows: the judged ones beyond the threshold (each with its Mann–Whitney p),
/// then those with too few runs to judge, whose ratios are shown and never fail the diff.
fn print_speed(d: &ReportDiff) {
    let th = &d.thresholds;
    let limit = 1.0 + th.slowdown;
    let n = d.speed.len();
    let geo = (d.speed.iter().map(|s| s.ratio.ln()).sum::<f64>() / n as f64).exp();
    let medians = d
        .speed
        .iter()
        .filter(|s| s.center == Center::Median)
        .count();
    let center = match medians {
        0 => "mean",
        m if m == n => "median",
        _ => "median (mean where a report has no per-run times)",
    };
    let slower = d.speed.iter().filter(|s| s.slowdown).count();
    let faster = d.speed.iter().filter(|s| s.speedup).count();
    println!(
        "speed: new/old {center} wall time over {n} (backend, span, dtype, route) rows: geometric mean {geo:.3}; {slower} slower, {faster} faster beyond {limit:.2}× with Mann–Whitney p < {SIGNIFICANCE}"
    );
    for s in d.speed.iter().filter(|s| s.judged() && s.beyond) {
        let p = s.p_value.unwrap_or(f64::NAN);
        let verdict = if s.slowdown || s.speedup {
            String::new()
        } else {
            ": not significant".to_string()
        };
        println!(
            "  {}: {} ({:.2}× {}, p = {}{verdict}, n = {}/{})",
            terminal(&perf_label(&s.key)),
            times(s),
            s.ratio,
            direction(s),
            p_text(p),
            s.old_runs,
            s.new_runs
        );
    }
    let unjudged: Vec<&SpeedRatio> = d.speed.iter().filter(|s| !s.judged()).collect();
    if !unjudged.is_empty() {
        println!(
            "not enough repetitions to judge {} of {n} rows (fewer than {MIN_RUNS} timed runs on a side; their ratios never fail the diff){}",
            unjudged.len(),
            if unjudged.iter().any(|s| s.beyond) {
                ", beyond the threshold:"
            } else {
                ""
            }
        );
        for s in unjudged.iter().filter(|s| s.beyond) {
            println!(
                "  {}: {} ({:.2}× {}: not enough repetitions to judge, {})",
                terminal(&perf_label(&s.key)),
                times(s),
                s.ratio,
                direction(s),
                runs(s)
            );
        }
    }
}

/// `20.1ms ± 0.2ms → 60.3ms ± 0.4ms` (median ± MAD), or `20.1ms → 60.3ms` (means, or
/// medians of fewer than [`MIN_RUNS`] runs, whose spread says little).
fn times(s: &SpeedRatio) -> String {
    let side = |t: f64, mad: Option<f64>, runs: usize| match mad {
        Some(m) if runs >= MIN_RUNS => format!("{} ± {}", seconds(t), seconds(m)),
        _ => seconds(t),
    };
    format!(
        "{} → {}",
        side(s.old_s, s.old_mad_s, s.old_runs),
        side(s.new_s, s.new_mad_s, s.new_runs)
    )
}

/// `n = 1/1`, or which report has no per-run wall times (an older driftbench's).
fn runs(s: &SpeedRatio) -> String {
    match (s.old_runs, s.new_runs) {
        (0, 0) => "no per-run times in either report".to_string(),
        (0, _) => "no per-run times in the old report".to_string(),
        (_, 0) => "no per-run times in the new report".to_string(),
        (o, n) => format!("n = {o}/{n}"),
    }
}

fn direction(s: &SpeedRatio) -> &'static str {
    if s.ratio > 1.0 {
        "slower"
    } else {
        "faster"
    }
}
