//! `report.md`: what a merged journal joins, and the same runs across machines.

use crate::format::{cell, inline, sci, top1, NONE};
use crate::model::merge::{AcrossMachines, MergeView};
use crate::model::Report;
use crate::render::markdown::writer::Md;
use driftbench_core::compact::TOP_K;

/// Rows of the differing-runs table before "and N more".
const DIFFERING_AT_MOST: usize = 20;

/// "Merged Sources" and, with several machines, "Across Machines".
pub(crate) fn merge_sections(md: &mut Md, r: &Report) {
    let Some(m) = &r.merge else { return };
    sources(md, m);
    if let Some(a) = &m.across {
        across(md, a);
    }
}

fn sources(md: &mut Md, m: &MergeView) {
    md.heading(2, "Merged Sources");
    md.line(&format!(
        "This report joins {} sweep journal(s) (`driftbench merge`); every aggregate above is \
         computed again from their records.",
        m.sources.len()
    ));
    md.blank();
    let rows: Vec<Vec<String>> = m
        .sources
        .iter()
        .map(|s| {
            vec![
                cell(&s.machine),
                cell(&s.shard),
                cell(&s.started_utc),
                cell(s.host.as_deref().unwrap_or(NONE)),
                cell(&s.cpu),
                cell(if s.gpus.is_empty() { NONE } else { &s.gpus }),
                cell(&s.driftbench),
            ]
        })
        .collect();
    md.table(
        &[
            "Machine",
            "Shard",
            "Started (UTC)",
            "Host",
            "CPU",
            "GPUs (driver)",
            "driftbench",
        ],
        &rows,
    );
    if m.plugin_differences.is_empty() {
        md.line("Every source loaded the same plugin files (sha256).");
    } else {
        md.line("**Plugin files differ between sources:**");
        md.blank();
        for d in &m.plugin_differences {
            md.line(&format!("- {}", inline(d)));
        }
    }
    md.blank();
}

fn across(md: &mut Md, a: &AcrossMachines) {
    md.heading(2, "Across Machines");
    md.line(&format!(
        "Each backend's runs on each machine against the same runs (backend, dtype, span, \
         kv_aligned, seed, route) on {}. Exact: bitwise identity (sha256 of the logits) and \
         top-1 agreement. From the top-{TOP_K} logits and log-sum-exp kept per position: \
         max |Δ| over the token ids in both top-{TOP_K} lists (a lower bound of max_abs_diff) \
         and KL over those ids plus one bin for the rest of the vocabulary (an approximation \
         from below of the full KL).",
        inline(&a.reference)
    ));
    md.blank();
    let rows: Vec<Vec<String>> = a
        .summary
        .iter()
        .map(|s| {
            vec![
                cell(&format!(
                    "{} on {} vs {}",
                    s.backend, s.machine, s.reference
                )),
                s.dtype.to_string(),
                s.route.as_str().to_string(),
                s.runs.to_string(),
                if s.identical == s.runs {
                    "all bitwise identical".to_string()
                } else {
                    format!("{} of {}", s.identical, s.runs)
                },
                top1(s.top1_min),
                sci(s.max_abs_topk),
                sci(s.kl_mean_approx_max),
            ]
        })
        .collect();
    md.table(
        &[
            "Backend",
            "Dtype",
            "Route",
            "Runs",
            "Bitwise identical",
            "Top-1 (min, exact)",
            "max |Δ| top-k (≤ max_abs)",
            "KL mean (approx., max)",
        ],
        &rows,
    );
    if a.unmatched > 0 {
        md.line(&format!(
            "{} run(s) have no fingerprinted counterpart on {} and are not compared.",
            a.unmatched,
            inline(&a.reference)
        ));
        md.blank();
    }
    if a.differing.is_empty() {
        return;
    }
    md.heading(3, "Runs That Differ Across Machines");
    let rows: Vec<Vec<String>> = a
        .differing
        .iter()
        .take(DIFFERING_AT_MOST)
        .map(|d| {
            vec![
                cell(&format!(
                    "{} on {} vs {}",
                    d.backend, d.machine, d.reference
                )),
                d.dtype.to_string(),
                d.span.to_string(),
                d.kv_aligned.to_string(),
                d.seed.to_string(),
                d.route.as_str().to_string(),
                top1(d.metrics.top1_agreement),
                d.metrics
                    .first_flip
                    .map_or_else(|| NONE.to_string(), |p| p.to_string()),
                sci(d.metrics.max_abs_topk),
                sci(d.metrics.kl_mean_approx),
            ]
        })
        .collect();
    md.table(
        &[
            "Backend",
            "Dtype",
            "Span",
            "kv_aligned",
            "Seed",
            "Route",
            "Top-1",
            "First flip",
            "max |Δ| top-k",
            "KL mean (approx.)",
        ],
        &rows,
    );
    if a.differing.len() > DIFFERING_AT_MOST {
        md.line(&format!(
            "… and {} more in report.json.",
            a.differing.len() - DIFFERING_AT_MOST
        ));
        md.blank();
    }
}
