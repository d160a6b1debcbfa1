//! The terminal summary printed at the end of a sweep.

use crate::model::Report;
use comfy_table::{presets::UTF8_FULL, Cell, CellAlignment, ContentArrangement, Table};
use driftbench_sweep::verdict::Verdict;

/// Terminal summary: one row per backend with its count of every verdict and its global
/// verdict, then a row for the whole sweep with the global verdict.
pub fn summary_table(r: &Report) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL)
        .set_content_arrangement(ContentArrangement::Dynamic);
    let mut header = vec![Cell::new("backend")];
    header.extend(Verdict::ALL.iter().map(|v| Cell::new(v.as_str())));
    header.push(Cell::new("verdict"));
    t.set_header(header);
    let num = |n: usize| Cell::new(n).set_alignment(CellAlignment::Right);
    for b in &r.backends {
        let mut row = vec![Cell::new(&b.name)];
        row.extend(Verdict::ALL.iter().map(|&v| num(b.count(v))));
        row.push(Cell::new(b.global.as_str()));
        t.add_row(row);
    }
    let mut row = vec![Cell::new("all")];
    row.extend(
        Verdict::ALL
            .iter()
            .map(|&v| num(crate::model::count_of(&r.counts, v))),
    );
    row.push(Cell::new(r.global.as_str()));
    t.add_row(row);
    t
}
