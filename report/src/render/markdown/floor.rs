//! `report.md`: the noise-floor section of a backend and the f64 reference runs.

use crate::format::{inline, mib, opt_sci, opt_secs, sci, times, NONE};
use crate::model::{BackendReport, Report};
use crate::render::markdown::writer::Md;
use driftbench_sweep::noise_floor::DEFAULT_FLOOR_K;

/// One sentence on what logits are measured against and how drift is judged.
pub(crate) fn reference_line(r: &Report) -> String {
    match r.header.as_ref().and_then(|h| h.reference.as_ref()) {
        Some(i) => format!(
            "Noise floor {} (f64 on {}); tolerance mode **{}**, k = {}{}; cross-backend \
             reference: {}.",
            if i.noise_floor { "on" } else { "off" },
            inline(&i.floor_backend),
            i.rule.mode,
            i.rule.k,
            if i.rule.mode.uses_floor() {
                " (drift > k × floor fails the pair)"
            } else {
                " (verdicts use the fixed tolerances; the floor is shown, not enforced)"
            },
            inline(i.cross_backend.as_deref().unwrap_or(NONE))
        ),
        None => format!(
            "Tolerance mode and k: not recorded in this journal (fixed and k = \
             {DEFAULT_FLOOR_K} assumed by the observations)."
        ),
    }
}

/// "Noise Floor (vs f64)": each route against f64 per (span, dtype, kv_aligned), then per
/// dtype.
pub(crate) fn floor_section(md: &mut Md, b: &BackendReport, r: &Report) {
    md.heading(3, "Noise Floor (vs f64)");
    md.line(
        "Each route against the same route computed in f64 (the decode reference uses the \
         aligned KV cache), max over seeds: the error a dtype makes on its own. The floor of a \
         pair is the smaller route error; drift/floor is the pair's drift as a multiple of it.",
    );
    md.blank();
    md.line(&reference_line(r));
    md.blank();
    if b.noise_floor.is_empty() {
        md.line("_No pair produced metrics._");
        md.blank();
        return;
    }
    if b.noise_floor.iter().all(|f| f.samples == 0) {
        let mut why: Vec<&str> = Vec::new();
        for w in b
            .noise_floor
            .iter()
            .filter_map(|f| f.why_missing.as_deref())
        {
            if !why.contains(&w) {
                why.push(w);
            }
        }
        md.line(&format!(
            "_Noise floor not measured: {}._",
            inline(&why.join("; "))
        ));
        md.blank();
        return;
    }
    let body: Vec<Vec<String>> = b
        .noise_floor
        .iter()
        .map(|f| {
            vec![
                f.span.to_string(),
                f.dtype.to_string(),
                f.kv_aligned.to_string(),
                opt_sci(f.prefill_err),
                opt_sci(f.decode_err),
                times(f.route_ratio),
                opt_sci(f.drift),
                times(f.multiple),
                opt_sci(f.prefill_kl_max),
                opt_sci(f.decode_kl_max),
                f.samples.to_string(),
                match &f.why_missing {
                    Some(w) if f.missing > 0 => format!("{}: {w}", f.missing),
                    _ => String::new(),
                },
            ]
        })
        .collect();
    md.table(
        &[
            "span",
            "dtype",
            "kv_aligned",
            "prefill vs f64 (max_abs)",
            "decode vs f64 (max_abs)",
            "decode/prefill",
            "drift (max_abs)",
            "drift/floor (max)",
            "KL prefill vs f64 (max)",
            "KL decode vs f64 (max)",
            "seeds",
            "no floor (why)",
        ],
        &body,
    );
    md.heading(4, "Noise Floor per Dtype");
    let body: Vec<Vec<String>> = b
        .floor_summary
        .iter()
        .map(|d| {
            vec![
                d.dtype.to_string(),
                format!("{} / {}", sci(d.prefill_median), sci(d.prefill_max)),
                format!("{} / {}", sci(d.decode_median), sci(d.decode_max)),
                times(d.multiple_max),
                d.samples.to_string(),
            ]
        })
        .collect();
    md.table(
        &[
            "dtype",
            "prefill vs f64 (median/max)",
            "decode vs f64 (median/max)",
            "drift/floor (max)",
            "pairs",
        ],
        &body,
    );
}

/// "f64 Reference Runs": one row per (span, seed), shown once for the whole sweep.
pub(crate) fn references_table(md: &mut Md, r: &Report) {
    md.heading(3, "f64 Reference Runs (noise floor)");
    if r.cross.references.is_empty() {
        md.line("_No f64 reference run in the journal (noise floor off or not reached)._");
        md.blank();
        return;
    }
    md.line(
        "The f64 prefill against the f64 decode of each (span, seed): how far apart the \
         reference routes themselves are (with `[reference] floor_routes = \"both\"`; by \
         default only the f64 prefill runs and stands for both routes, and these columns \
         are empty). Wall times are the f64 runs' own; peak memory is the VmHWM of the process \
         that ran the f64 session, read after the cell's runs.",
    );
    md.blank();
    let body: Vec<Vec<String>> = r
        .cross
        .references
        .iter()
        .map(|x| {
            vec![
                x.span.to_string(),
                x.seed.to_string(),
                x.backend.clone(),
                opt_sci(x.max_abs),
                opt_sci(x.kl_max),
                opt_secs(x.prefill_wall_s),
                opt_secs(x.decode_wall_s),
                opt_secs(x.load_s),
                x.peak_rss_bytes.map_or(NONE.to_string(), mib),
                x.error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    md.table(
        &[
            "span",
            "seed",
            "backend",
            "f64 prefill↔decode max_abs",
            "KL max",
            "prefill wall",
            "decode wall",
            "load",
            "peak memory",
            "error",
        ],
        &body,
    );
}
