//! `report.md`: the reference report's sections, once per backend, then the cross-backend
//! summary, the environment and the configuration.

mod cross;
mod floor;
pub(crate) mod latency;
mod merge;
mod spread;
mod writer;

use crate::format::{
    bound, diff, fixed, inline, metric_cells, opt_sci, opt_secs, ratio, sci, secs, sig2, thousands,
    top1, NONE,
};
use crate::model::*;
use crate::render::plots::Plot;
use driftbench_core::options::describe;
use driftbench_core::route::Route;
use driftbench_sweep::records::{BackendEntry, SweepHeader};
use driftbench_sweep::verdict::Verdict;
use std::fmt::Write as _;
use writer::{Md, Strong, Text};

/// Render the whole report as markdown.
pub fn render_markdown(r: &Report) -> String {
    markdown_with_plots(r, &crate::render::plots::report_plots(r))
}

/// [`render_markdown`] linking `plots`, already made by the caller (who writes them too).
pub(crate) fn markdown_with_plots(r: &Report, plots: &[Plot]) -> String {
    let mut md = Md::default();
    md.line(&format!("# Sweep Report: {}", inline(&r.sweep.name)));
    md.blank();
    md.line(&format!("**Date:** {}", r.sweep.date_utc));
    md.blank();
    md.line(&format!("**Mode:** {}", r.sweep.mode));
    md.blank();
    let names: Vec<&str> = r.backends.iter().map(|b| b.name.as_str()).collect();
    md.line(&format!(
        "**Backends:** {}",
        if names.is_empty() {
            "none".to_string()
        } else {
            inline(&names.join(", "))
        }
    ));
    md.blank();

    md.heading(2, "Global Verdict");
    verdict_block(&mut md, r.global.as_str(), &r.counts);
    if !r.gaps.is_empty() {
        md.line("**Not a whole sweep:**");
        md.blank();
        for g in &r.gaps {
            md.line(&format!("- {}", inline(g)));
        }
        md.blank();
    }
    if !r.not_run.is_empty() {
        md.line("**Not run (optional backends; the verdict ignores them):**");
        md.blank();
        for n in &r.not_run {
            md.line(&format!("- {}", inline(n)));
        }
        md.blank();
    }
    md.line(&format!(
        "Over every backend: {} pair(s) classified. Exit code {}.",
        r.sweep.pairs_classified,
        r.global.exit_code()
    ));
    md.blank();

    for b in &r.backends {
        backend_section(&mut md, b, r);
    }
    cross_section(&mut md, r);
    merge::merge_sections(&mut md, r);
    crate::render::markdown::latency::harness_section(&mut md, r);
    environment_section(&mut md, r.header.as_ref());
    configuration_section(&mut md, r);
    plots_section(&mut md, plots);
    md.0
}

/// Links to the SVG plots `write_reports` puts beside the report (see `plots.rs`).
fn plots_section(md: &mut Md, plots: &[Plot]) {
    if plots.is_empty() {
        return;
    }
    md.heading(2, "Plots");
    for p in plots {
        // Image syntax: viewers show the plot inline; the file name is already safe, and the
        // title (which names backends) is escaped like any text, brackets included.
        let alt = inline(&p.title);
        md.line(&format!("![{alt}](plots/{})", p.file));
        md.blank();
    }
}

fn verdict_block(md: &mut Md, global: &str, counts: &[VerdictCount]) {
    md.line(&format!("**{global}**"));
    md.blank();
    for c in counts {
        md.line(&format!("- {}: {}", c.verdict, c.count));
    }
    md.blank();
}

fn backend_section(md: &mut Md, b: &BackendReport, r: &Report) {
    md.heading(2, &format!("Backend: {}", inline(&b.name)));

    md.heading(3, "Global Verdict");
    verdict_block(md, b.global.as_str(), &b.counts);

    md.heading(3, "Counting Semantics: Runs vs Pairs");
    md.line("- A **run** = one execution (prefill OR decode) for a single config");
    md.line(
        "- A **pair** = (prefill, decode) for the same (backend, span, dtype, kv_aligned, seed)",
    );
    let rc = b.runs;
    md.line(&format!(
        "- **Total runs:** {} (ok {}, failed {}, skipped {})",
        rc.total, rc.ok, rc.failed, rc.skipped
    ));
    let reps = r
        .header
        .as_ref()
        .and_then(|h| h.plan.as_ref())
        .map_or(1, |p| p.repetitions.max(1));
    if rc.total == 2 * b.pairs {
        md.line(&format!("- **Total pairs:** {} (runs / 2)", b.pairs));
    } else if rc.total == 2 * reps * b.pairs {
        md.line(&format!(
            "- **Total pairs:** {} (runs / 2 / {reps} repetitions)",
            b.pairs
        ));
    } else {
        md.line(&format!(
            "- **Total pairs:** {} (not runs / 2: a pair skipped or cut short records fewer \
             than two runs, each repetition of a run (`[sweep] repetitions`) counts)",
            b.pairs
        ));
    }
    md.line("- Verdict counts (PASS_EQUIV, EXPECTED_DRIFT, etc.) are **per pair**, not per run");
    md.blank();

    md.heading(3, "Observations");
    if b.observations.is_empty() {
        md.line("_No observations._");
        md.blank();
    }
    for o in &b.observations {
        md.heading(4, &format!("Observation: {}", inline(&o.title)));
        md.line(&o.body);
        md.blank();
    }

    md.heading(3, "Comparison Results");
    comparison_table(md, &b.comparisons);

    md.heading(3, "Drift Characterization (kv_aligned=0)");
    drift_table(md, &b.drift);

    crate::render::markdown::floor::floor_section(md, b, r);
    crate::render::markdown::spread::spread_section(md, &b.seed_spread);

    md.heading(3, "Performance Profiling");
    perf_tables(md, b);
}

fn comparison_table(md: &mut Md, rows: &[ComparisonRow]) {
    if rows.is_empty() {
        md.line("_No pairs._");
        md.blank();
        return;
    }
    let header = [
        "span",
        "dtype",
        "kv_aligned",
        "seed",
        "max_abs_diff",
        "p99_abs_diff",
        "mean_abs_diff",
        "KL mean",
        "KL max",
        "NMSE",
        "top1_agreement",
        "first flip",
        "nonfinite (prefill/decode)",
        "verdict",
        "reason",
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|c| {
            let mut row = vec![
                c.span.to_string(),
                c.dtype.to_string(),
                c.kv_aligned.to_string(),
                c.seed.to_string(),
            ];
            match &c.metrics {
                Some(m) => {
                    row.extend(metric_cells(m));
                    row.extend([
                        m.first_flip.as_ref().map_or_else(
                            || NONE.to_string(),
                            |f| format!("pos {} (margin {})", f.position, sig2(f.margin())),
                        ),
                        format!("{}/{}", m.nonfinite_prefill, m.nonfinite_decode),
                    ]);
                }
                None => row.extend(std::iter::repeat_n(NONE.to_string(), 9)),
            }
            row.push(c.verdict.to_string());
            let pass = matches!(c.verdict, Verdict::PassEquiv | Verdict::ExpectedDrift);
            row.push(match (&c.reason, pass) {
                (Some(r), _) => r.clone(),
                (None, true) => String::new(),
                (None, false) => "(no reason recorded)".to_string(),
            });
            row
        })
        .collect();
    md.table(&header, &body);
}

fn drift_table(md: &mut Md, rows: &[DriftRow]) {
    if rows.is_empty() {
        md.line("_No kv_aligned=0 pair produced metrics._");
        md.blank();
        return;
    }
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|d| {
            vec![
                d.span.to_string(),
                d.dtype.to_string(),
                format!("{} / {}", diff(d.max_abs_max), diff(d.max_abs_mean)),
                format!("{} / {}", diff(d.p99_max), diff(d.p99_mean)),
                format!("{} / {}", top1(d.top1_min), top1(d.top1_mean)),
                opt_sci(d.kl_max),
                d.samples.to_string(),
            ]
        })
        .collect();
    md.table(
        &[
            "span",
            "dtype",
            "max_abs_diff (max/mean)",
            "p99_abs_diff (max/mean)",
            "top1_agreement (min/mean)",
            "KL max",
            "samples",
        ],
        &body,
    );
}

fn perf_tables(md: &mut Md, b: &BackendReport) {
    if b.performance.is_empty() {
        md.line("_No successful run with a wall time._");
        md.blank();
    } else {
        let body: Vec<Vec<String>> = b
            .performance
            .iter()
            .map(|p| {
                vec![
                    p.span.to_string(),
                    p.dtype.to_string(),
                    p.route.as_str().to_string(),
                    format!("{} / {}", secs(p.wall_mean_s), secs(p.wall_p95_s)),
                    secs(p.per_token_mean_s),
                    fixed(p.tokens_per_s_mean, 1),
                    p.logits_bytes_mean
                        .map_or_else(|| NONE.to_string(), thousands),
                    p.samples.to_string(),
                ]
            })
            .collect();
        md.line(&format!(
            "{} Successful runs only; wall time excludes model load and warm-up; p95 by nearest rank.",
            b.timing.sentence()
        ));
        md.blank();
        md.table(
            &[
                "span",
                "dtype",
                "route",
                "wall_time (mean/p95)",
                "per-token (mean)",
                "tokens/s (mean)",
                "logits_bytes (mean)",
                "samples",
            ],
            &body,
        );
    }

    md.heading(4, "Decode/Prefill Wall-time Ratio");
    if b.route_ratios.is_empty() {
        md.line("_No (span, dtype) with successful runs of both routes._");
        md.blank();
    } else {
        let body: Vec<Vec<String>> = b
            .route_ratios
            .iter()
            .map(|r| {
                vec![
                    r.span.to_string(),
                    r.dtype.to_string(),
                    secs(r.prefill_mean_s),
                    secs(r.decode_mean_s),
                    ratio(r.ratio),
                ]
            })
            .collect();
        md.table(
            &[
                "span",
                "dtype",
                "prefill (mean)",
                "decode (mean)",
                "decode/prefill",
            ],
            &body,
        );
    }

    crate::render::markdown::latency::latency_section(md, b);

    warmup_table(md, &b.warmups);

    md.heading(4, "Model Load");
    if b.model_loads.is_empty() {
        md.line("_No session recorded._");
        md.blank();
    } else {
        md.line(
            "Measured once per session (backend, dtype); not part of any run's wall time above.",
        );
        md.blank();
        let body: Vec<Vec<String>> = b
            .model_loads
            .iter()
            .map(|l| {
                vec![
                    l.dtype.to_string(),
                    opt_secs(l.load_s),
                    l.device.clone().unwrap_or_else(|| NONE.to_string()),
                    l.model.clone().unwrap_or_else(|| NONE.to_string()),
                    l.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        md.table(&["dtype", "load_s", "device", "model", "error"], &body);
    }
}

fn warmup_table(md: &mut Md, rows: &[WarmupRow]) {
    md.heading(4, "Warm-up (first call per shape)");
    if rows.is_empty() {
        md.line("_No warm-up run (`warmup = false`, or nothing ran)._");
        md.blank();
        return;
    }
    md.line(
        "One unmeasured run per (span, dtype, KV layout, route) before the measured ones: kernel \
         compilation, autotuning and first allocations land here, not in the tables above. \
         Prefill is warmed once per span.",
    );
    md.blank();
    // The backend's own counters (kernels compiled, autotune keys tuned...), one column each.
    let counters: std::collections::BTreeSet<&str> = rows
        .iter()
        .flat_map(|w| w.counters.keys().map(String::as_str))
        .collect();
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|w| {
            let mut row = vec![
                w.span.to_string(),
                w.dtype.to_string(),
                w.route.as_str().to_string(),
                if w.route == Route::Prefill {
                    "any".to_string()
                } else {
                    w.kv_aligned.to_string()
                },
                opt_secs(w.wall_s),
                opt_secs(w.measured_mean_s),
                match (w.wall_s, w.measured_mean_s) {
                    (Some(a), Some(m)) => ratio(a / m),
                    _ => NONE.to_string(),
                },
            ];
            row.extend(counters.iter().map(|c| {
                w.counters
                    .get(*c)
                    .map_or_else(|| NONE.to_string(), |n| thousands(*n as f64))
            }));
            row.push(w.error.clone().unwrap_or_default());
            row
        })
        .collect();
    let mut header = vec![
        "span",
        "dtype",
        "route",
        "kv_aligned",
        "warm-up",
        "measured (mean)",
        "warm-up/measured",
    ];
    header.extend(counters.iter().copied());
    header.push("error");
    md.table(&header, &body);
}

fn cross_section(md: &mut Md, r: &Report) {
    md.heading(2, "Cross-backend Summary");
    let names = &r.cross.backends;
    if names.is_empty() {
        md.line("_No backend._");
        md.blank();
        return;
    }

    md.heading(3, "Verdicts per Backend");
    let mut header: Vec<&str> = vec!["verdict"];
    header.extend(names.iter().map(String::as_str));
    let mut body: Vec<Vec<Text>> = Verdict::ALL
        .iter()
        .map(|&v| {
            let mut row = vec![Text::Plain(v.to_string())];
            row.extend(
                r.backends
                    .iter()
                    .map(|b| Text::Plain(b.count(v).to_string())),
            );
            row
        })
        .collect();
    let mut global = vec![Text::Strong(Strong("global".to_string()))];
    global.extend(
        r.backends
            .iter()
            .map(|b| Text::Strong(Strong(b.global.as_str().to_string()))),
    );
    body.push(global);
    md.table(&header, &body);

    crate::render::markdown::cross::matrix_tables(md, r);
    agreement_tables(md, &r.cross.agreement);
    crate::render::markdown::floor::references_table(md, r);

    md.heading(3, "Mean Wall Time per Backend");
    if r.cross.performance.is_empty() {
        md.line("_No successful run with a wall time._");
        md.blank();
        return;
    }
    md.line(&format!(
        "Mean wall time of successful runs; the ratio is to the first backend ({}), measured in this one sweep.",
        inline(&names[0])
    ));
    md.blank();
    let mut header: Vec<&str> = vec!["span", "dtype", "route"];
    header.extend(names.iter().map(String::as_str));
    let body: Vec<Vec<String>> = r
        .cross
        .performance
        .iter()
        .map(|p| {
            let mut row = vec![
                p.span.to_string(),
                p.dtype.to_string(),
                p.route.as_str().to_string(),
            ];
            row.extend(
                p.mean_wall_s
                    .iter()
                    .map(|c| match (c.mean_s, c.ratio_to_first) {
                        (Some(m), Some(q)) => format!("{} ({})", secs(m), ratio(q)),
                        (Some(m), None) => secs(m),
                        (None, _) => NONE.to_string(),
                    }),
            );
            row
        })
        .collect();
    md.table(&header, &body);
}

/// How closely backends agree on the same runs: the table that says "cuda f16 agrees with
/// wgpu f16 to X".
fn agreement_tables(md: &mut Md, rows: &[AgreementRow]) {
    md.heading(3, "Logits Agreement between Backends");
    if rows.is_empty() {
        md.line("_Fewer than two backends produced logits for the same run._");
        md.blank();
        return;
    }
    md.line(
        "The same run (span, dtype, seed, route, KV layout) on two backends, logits compared \
         element by element, then aggregated over spans and seeds: the largest max_abs_diff \
         (and the span where it occurred), the largest p99, the mean of mean_abs_diff, the \
         lowest top-1 agreement. Prefill rows cover both KV-layout pairs' prefills.",
    );
    md.blank();
    let mut dtypes: Vec<driftbench_core::dtype::Dtype> = rows.iter().map(|r| r.dtype).collect();
    dtypes.dedup();
    dtypes.sort();
    dtypes.dedup();
    for dtype in dtypes {
        md.heading(4, &format!("{dtype}"));
        let body: Vec<Vec<String>> = rows
            .iter()
            .filter(|r| r.dtype == dtype)
            .map(|r| {
                vec![
                    format!("{} vs {}", r.backend, r.reference),
                    r.route.as_str().to_string(),
                    r.kv_aligned
                        .map_or_else(|| "any".to_string(), |k| k.to_string()),
                    sci(r.max_abs_max),
                    r.worst_span.to_string(),
                    sci(r.p99_max),
                    sci(r.mean_abs_mean),
                    top1(r.top1_min),
                    r.nonfinite.to_string(),
                    r.samples.to_string(),
                ]
            })
            .collect();
        md.table(
            &[
                "backends",
                "route",
                "kv_aligned",
                "max_abs_diff (max)",
                "at span",
                "p99_abs_diff (max)",
                "mean_abs_diff (mean)",
                "top1 (min)",
                "nonfinite",
                "runs",
            ],
            &body,
        );
    }
}

fn environment_section(md: &mut Md, h: Option<&SweepHeader>) {
    md.heading(2, "Environment");
    let Some(h) = h else {
        md.line("_unknown: the journal has no sweep header._");
        md.blank();
        return;
    };
    let e = &h.environment;
    md.line(&format!(
        "- **driftbench:** {}",
        inline(&e.driftbench_version)
    ));
    md.line(&format!(
        "- **commit:** {}",
        inline(e.commit.as_deref().unwrap_or("unknown"))
    ));
    md.line(&format!("- **OS:** {}", inline(&e.os)));
    md.line(&format!("- **CPU:** {}", inline(&e.cpu)));
    md.line(&format!("- **threads:** {}", e.threads));
    for (k, v) in &e.extra {
        md.line(&format!("- **{}:** {}", inline(k), inline(v)));
    }
    md.blank();
    for b in &h.backends {
        backend_environment(md, b);
    }
}

fn backend_environment(md: &mut Md, b: &BackendEntry) {
    md.heading(3, &format!("Backend: {}", inline(&b.name)));
    md.line(&format!("- **source:** {}", inline(&b.source)));
    if let Some(p) = &b.plugin {
        md.line(&format!("- **plugin:** {}", inline(p)));
    }
    if let Some(c) = &b.configured {
        md.line(&format!(
            "- **options in force:** {}",
            inline(&describe(&c.options))
        ));
        for (k, v) in &c.details {
            md.line(&format!("- **{}:** {}", inline(k), inline(v)));
        }
    }
    if let Some(err) = &b.error {
        md.line(&format!("- **failed to load:** {}", inline(err)));
    }
    if let Some(p) = &b.probe {
        md.line(&format!("- **version:** {}", inline(&p.version)));
        md.line(&format!(
            "- **burn:** {}",
            inline(p.burn_version.as_deref().unwrap_or(NONE))
        ));
        if let Some(why) = &p.unavailable {
            md.line(&format!("- **unavailable:** {}", inline(why)));
        }
        if p.devices.is_empty() {
            md.line("- **devices:** none");
        }
        for (i, d) in p.devices.iter().enumerate() {
            md.line(&format!(
                "- **device {i}:** {} ({}), driver {}",
                inline(&d.name),
                inline(&d.kind),
                inline(d.driver.as_deref().unwrap_or("unknown"))
            ));
            let dts: Vec<&str> = d.dtypes.iter().map(|t| t.as_str()).collect();
            md.line(&format!(
                "  - dtypes: {}",
                if dts.is_empty() {
                    "none".to_string()
                } else {
                    dts.join(", ")
                }
            ));
            for (t, why) in &d.unsupported {
                md.line(&format!("  - unsupported {t}: {}", inline(why)));
            }
            for (k, v) in &d.details {
                md.line(&format!("  - {}: {}", inline(k), inline(v)));
            }
        }
        if let Some(how) = &p.kv_padding {
            md.line(&format!("- **kv_aligned=0 layout:** {}", inline(how)));
        }
        for (kv, why) in &p.kv_unsupported {
            md.line(&format!(
                "- **kv_aligned={} unsupported:** {}",
                kv.flag(),
                inline(why)
            ));
        }
    } else if b.error.is_none() {
        md.line("- **probe:** none recorded");
    }
    md.blank();
}

fn configuration_section(md: &mut Md, r: &Report) {
    md.heading(2, "Configuration");
    let h = r.header.as_ref();
    let unknown = || "unknown".to_string();
    md.line(&format!(
        "- **config:** {}",
        h.map_or_else(unknown, |h| inline(&h.config_path))
    ));
    md.line(&format!(
        "- **model:** {}",
        h.map_or_else(unknown, |h| inline(&h.model))
    ));
    md.line(&format!(
        "- **KV block size (kv_aligned=0):** {}",
        h.map_or_else(unknown, |h| h.block_size.to_string())
    ));
    md.line(&format!(
        "- **reference:** {}",
        crate::render::markdown::floor::reference_line(r)
    ));
    let planned = r.sweep.pairs_planned;
    let classified = r.sweep.pairs_classified;
    let mut pairs = format!(
        "- **pairs:** {} planned, {classified} classified",
        planned.map_or_else(unknown, |p| p.to_string())
    );
    if let Some(p) = planned.filter(|p| *p > classified) {
        let _ = write!(
            pairs,
            " ({} missing: the sweep stopped early or the journal is partial)",
            p - classified
        );
    }
    md.line(&pairs);
    md.blank();
    let Some(h) = h.filter(|h| !h.tolerances.is_empty()) else {
        md.line("_Tolerances: unknown._");
        md.blank();
        return;
    };
    md.line("Tolerances (max_abs = 0 means bitwise):");
    md.blank();
    let body: Vec<Vec<String>> = h
        .tolerances
        .iter()
        .map(|(d, t)| {
            vec![
                d.to_string(),
                bound(t.equiv.max_abs),
                fixed(t.equiv.min_top1, 4),
                bound(t.drift.max_abs),
                fixed(t.drift.min_top1, 4),
            ]
        })
        .collect();
    md.table(
        &[
            "dtype",
            "equiv max_abs (kv_aligned=1)",
            "equiv min_top1",
            "drift max_abs (kv_aligned=0)",
            "drift min_top1",
        ],
        &body,
    );
}
