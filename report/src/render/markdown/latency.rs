//! `report.md`'s latency profile: per-route latency and roofline table, each backend's loads,
//! memory and peaks, and where the sweep's time went.

use crate::diff::MIN_RUNS;
use crate::format::{fixed, inline, mib, opt_secs, secs, thousands, NONE};
use crate::model::latency::{DtypeResources, HarnessShare, LatencyRow, LatencyStats};
use crate::model::{BackendReport, Report};
use crate::render::markdown::writer::{Md, Strong, Text};
use driftbench_core::route::Route;
use driftbench_sweep::records::PeaksSource;

/// A fraction as a percentage with one decimal.
fn pct(x: f64) -> String {
    format!("{} %", fixed(x * 100.0, 1))
}

/// `value (xx.x % of peak)`, or the value alone without a peak.
fn of_peak(value: f64, frac: Option<f64>) -> String {
    match frac {
        Some(f) => format!("{} ({})", fixed(value, 2), pct(f)),
        None => fixed(value, 2),
    }
}

/// The "Latency Profile" subsection of a backend's Performance Profiling.
pub(crate) fn latency_section(md: &mut Md, b: &BackendReport) {
    md.heading(4, "Latency Profile");
    if b.latency.is_empty() {
        md.line("_No successful run with a wall time._");
        md.blank();
    } else {
        md.line(&format!(
            "Per (span, dtype, route, KV layout): decode rows per kv_aligned, prefill rows over \
             both layouts' prefills. `runs` counts every repetition; `steps` every decode step \
             of the runs that timed them. TTFT is the prefill's wall time. A decode step is \
             timed where the backend runs and ends when the device has finished it (GPU \
             backends wait for the device after every step, as token-by-token serving does); \
             percentiles by nearest rank. Median ± MAD (the median absolute deviation of the \
             runs' wall times from their median) from {MIN_RUNS} runs on: `driftbench diff` \
             judges speed by medians and a rank test of the runs, which needs {MIN_RUNS} a \
             side (`[sweep] repetitions = {MIN_RUNS}`). Read-back: logits copied to host \
             memory (widened to f32). Achieved GFLOP/s and GB/s: the model's FLOPs and bytes \
             (formulas below) over the compute time (decode: Σ step times; prefill: wall − \
             read-back), and their share of the device's peak in this dtype.",
        ));
        md.blank();
        let body: Vec<Vec<String>> = b.latency.iter().map(latency_cells).collect();
        md.table(
            &[
                "span",
                "dtype",
                "route",
                "kv_aligned",
                "runs",
                "wall mean / p95 (TTFT for prefill)",
                "wall median ± MAD",
                "step p50 / p90 / p95 / p99",
                "steps",
                "decode tok/s (steps)",
                "read-back mean (runs)",
                "read-back bytes",
                "GFLOP/s (of peak)",
                "GB/s (of peak)",
            ],
            &body,
        );
    }
    resources_lines(md, &b.resources);
}

/// `1.01ms ± 0.05ms` from [`MIN_RUNS`] runs on; fewer give no spread worth reading.
fn median_cell(s: &LatencyStats) -> String {
    match (s.wall_median_s, s.wall_mad_s) {
        (Some(m), Some(d)) if s.runs >= MIN_RUNS => format!("{} ± {}", secs(m), secs(d)),
        _ => NONE.to_string(),
    }
}

fn latency_cells(l: &LatencyRow) -> Vec<String> {
    let s = &l.stats;
    let steps = match (s.step_p50_s, s.step_p90_s, s.step_p95_s, s.step_p99_s) {
        (Some(a), Some(b), Some(c), Some(d)) => {
            format!("{} / {} / {} / {}", secs(a), secs(b), secs(c), secs(d))
        }
        _ => NONE.to_string(),
    };
    let (gflops, gbs) = match &s.roofline {
        Some(r) => (
            of_peak(r.gflops, r.gflops_of_peak),
            of_peak(r.gbs, r.gbs_of_peak),
        ),
        None => (NONE.to_string(), NONE.to_string()),
    };
    vec![
        l.span.to_string(),
        l.dtype.to_string(),
        l.route.as_str().to_string(),
        l.kv_aligned
            .map_or_else(|| "any".to_string(), |k| k.to_string()),
        s.runs.to_string(),
        format!("{} / {}", secs(s.wall_mean_s), secs(s.wall_p95_s)),
        median_cell(s),
        steps,
        if l.route == Route::Decode {
            let odd = if s.step_nonfinite > 0 {
                format!(", {} non-finite", s.step_nonfinite)
            } else {
                String::new()
            };
            format!("{} ({} runs{odd})", s.steps, s.step_runs)
        } else {
            NONE.to_string()
        },
        s.step_tokens_per_s
            .map_or_else(|| NONE.to_string(), |t| fixed(t, 1)),
        match s.readback_mean_s {
            Some(r) => format!("{} ({})", secs(r), s.readback_runs),
            None => NONE.to_string(),
        },
        s.readback_bytes_mean
            .map_or_else(|| NONE.to_string(), thousands),
        gflops,
        gbs,
    ]
}

/// Loads, peak memory, device peaks and model cost per dtype, and the formulas.
fn resources_lines(md: &mut Md, rs: &[DtypeResources]) {
    if rs.is_empty() {
        return;
    }
    let loads: Vec<String> = rs
        .iter()
        .map(|r| match r.load_mean_s {
            Some(l) => format!("{} {} (mean of {})", r.dtype, secs(l), r.loads),
            None => format!("{} {NONE}", r.dtype),
        })
        .collect();
    md.line(&format!("- **Model load:** {}", loads.join("; ")));
    let mem: Vec<String> = rs
        .iter()
        .map(|r| match r.peak_rss_bytes {
            Some(b) => format!("{} {} (max over {} runs)", r.dtype, mib(b), r.peak_rss_runs),
            None => format!("{} {NONE}", r.dtype),
        })
        .collect();
    md.line(&format!(
        "- **Peak memory** (VmHWM of the process that ran the backend, read after each run: \
         the worker's, or the host's with --in-process): {}",
        mem.join("; ")
    ));
    for r in rs {
        md.line(&format!(
            "- **Device peaks, {}:** {}",
            r.dtype,
            peaks_text(r)
        ));
    }
    let costs: Vec<String> = rs
        .iter()
        .filter_map(|r| {
            let c = r.cost.as_ref()?;
            Some(format!(
                "{}: P = {} weights multiplied per token, held as {} ({} B each: {} MB \
                 streamed per decode step), KV values of {} B",
                r.dtype,
                thousands(c.product_params as f64),
                inline(&c.weight_dtype),
                fixed(c.bytes_per_weight(), 0),
                fixed(c.weight_bytes as f64 / 1e6, 1),
                c.kv_value_bytes
            ))
        })
        .collect();
    if !costs.is_empty() {
        md.line(&format!("- **Model cost:** {}", costs.join("; ")));
        md.line(
            "- **Formulas:** prefill of s tokens: FLOPs = 2·P·s + 4·layers·q_dim·s² (the whole \
             s×s score matrix), bytes ≥ W + 2·layers·kv_dim·s·e; decode step over k keys (t+1 \
             aligned, the padded capacity otherwise): FLOPs = 2·P + 4·layers·q_dim·k, bytes = \
             W + 2·layers·kv_dim·k·e; W = bytes of the P weights as held, e = bytes per KV \
             value.",
        );
    }
    md.blank();
}

fn peaks_text(r: &DtypeResources) -> String {
    let how = match r.peaks_source {
        Some(PeaksSource::Measured) => {
            format!("measured by this sweep in {}", opt_secs(r.peaks_probe_s))
        }
        Some(PeaksSource::Cached) => "read from this machine's peaks cache".to_string(),
        Some(PeaksSource::Off) => return "not measured ([profile] roofline = false)".to_string(),
        Some(PeaksSource::Failed) => {
            return format!(
                "not measured: {}",
                inline(r.peaks_error.as_deref().unwrap_or("unknown error"))
            )
        }
        None => return "not recorded".to_string(),
    };
    let Some(p) = &r.peaks else {
        return match &r.peaks_error {
            Some(why) => format!("none: {} ({how})", inline(why)),
            None => format!("none ({how})"),
        };
    };
    let [m, k, n] = p.gemm_shape;
    format!(
        "GEMM {m}×{k}×{n} in {}: {} GFLOP/s; bandwidth by {}: {} GB/s (best of {} each; {how})",
        inline(&p.product_dtype),
        fixed(p.gemm_gflops, 1),
        inline(&p.bandwidth_method),
        fixed(p.bandwidth_gbs, 1),
        p.reps
    )
}

/// Where the sweep's time went: the backends' work and the harness's share.
pub(crate) fn harness_section(md: &mut Md, r: &Report) {
    md.heading(3, "Sweep Time and Harness Share");
    let Some(h) = &r.harness else {
        md.line("_The journal records no sweep time (an older journal, or a sweep cut short)._");
        md.blank();
        return;
    };
    md.line(&harness_line(h));
    md.blank();
    let mut body = vec![
        ("model loads", h.loads_s),
        ("peak probes", h.peaks_s),
        ("warm-up runs", h.warmup_s),
        ("measured runs", h.runs_s),
        ("f64 reference", h.reference_s),
        ("harness: prefill vs decode compare", h.parts.compare_s),
        ("harness: noise-floor compare", h.parts.floor_compare_s),
        ("harness: cross-backend compare", h.parts.cross_compare_s),
        ("harness: buffer checks", h.parts.checks_s),
        ("harness: journal writes", h.parts.journal_s),
        ("harness: replay bundles", h.parts.bundles_s),
        ("other", h.other_s),
    ]
    .into_iter()
    .map(|(what, s)| {
        vec![
            Text::Plain(what.to_string()),
            Text::Plain(secs(s)),
            Text::Plain(pct(s / h.sweep_wall_s)),
        ]
    })
    .collect::<Vec<_>>();
    body.push(vec![
        Text::Strong(Strong("sweep".to_string())),
        Text::Plain(secs(h.sweep_wall_s)),
        Text::Plain(pct(1.0)),
    ]);
    md.table(&["part", "seconds", "share"], &body);
    if let Some(b) = h.host_peak_rss_bytes {
        md.line(&format!(
            "Host process (driftbench itself) peak memory: {} (VmHWM at the end of the sweep; \
             the backends' own processes are in the profile above and the f64 reference table).",
            mib(b)
        ));
        md.blank();
    }
    md.line(
        "Host clock. The sweep is the runner's wall time: plugin discovery and worker start-up \
         before it are not in it, and neither is writing this report (its time is printed at \
         the end of `driftbench sweep`). Buffer checks: poisoning logits buffers, checking \
         every logit was written, comparing repetitions bitwise.",
    );
    md.blank();
}

/// `harness: X s of Y s sweep (Z %)`.
pub fn harness_line(h: &HarnessShare) -> String {
    let over = if h.invocations > 1 {
        format!(
            " over {} invocations (resumed, or sweeps merged)",
            h.invocations
        )
    } else {
        String::new()
    };
    format!(
        "harness: {} of {} sweep ({}){over}",
        secs(h.harness_s),
        secs(h.sweep_wall_s),
        pct(h.harness_fraction)
    )
}
