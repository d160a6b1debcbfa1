//! `report.md`: the seed spread of a backend, cells with more than one seed.

use crate::format::{sci, top1, NONE};
use crate::model::spread::{SeedSpreadRow, Spread};
use crate::render::markdown::writer::{Md, Strong, Text};

fn span3(s: Option<Spread>, f: fn(f64) -> String) -> String {
    s.map_or_else(
        || NONE.to_string(),
        |s| format!("{} / {} / {}", f(s.min), f(s.mean), f(s.max)),
    )
}

/// "Seed Spread": min/mean/max over seeds per (span, dtype, kv_aligned), verdict per seed.
pub(crate) fn spread_section(md: &mut Md, rows: &[SeedSpreadRow]) {
    md.heading(3, "Seed Spread");
    let multi: Vec<&SeedSpreadRow> = rows.iter().filter(|r| r.verdicts.len() > 1).collect();
    if multi.is_empty() {
        md.line("_No cell ran more than one seed._");
        md.blank();
        return;
    }
    md.line(
        "Cells run with more than one seed: min / mean / max over the seeds with metrics, and \
         each seed's verdict (report.json holds every cell).",
    );
    md.blank();
    let body: Vec<Vec<Text>> = multi
        .iter()
        .map(|r| {
            let verdicts: Vec<String> = r
                .verdicts
                .iter()
                .map(|v| format!("{}: {}", v.seed, v.verdict))
                .collect();
            let mut row: Vec<Text> = [
                r.span.to_string(),
                r.dtype.to_string(),
                r.kv_aligned.to_string(),
                span3(r.max_abs, sci),
                span3(r.p99, sci),
                span3(r.kl_mean, sci),
                span3(r.top1, top1),
                verdicts.join(", "),
            ]
            .into_iter()
            .map(Text::Plain)
            .collect();
            row.push(if r.disagrees() {
                Text::Strong(Strong("yes".to_string()))
            } else {
                Text::Plain("no".to_string())
            });
            row
        })
        .collect();
    md.table(
        &[
            "span",
            "dtype",
            "kv_aligned",
            "max_abs_diff (min/mean/max)",
            "p99_abs_diff (min/mean/max)",
            "KL mean (min/mean/max)",
            "top1 (min/mean/max)",
            "verdict per seed",
            "seeds disagree",
        ],
        &body,
    );
}
