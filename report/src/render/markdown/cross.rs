//! `report.md`: the cross-backend matrix, one table per dtype.

use crate::format::{inline, opt_sci, sci, top1, NONE};
use crate::model::{AgreementRow, Report};
use crate::render::markdown::writer::Md;
use driftbench_core::route::Route;

/// The routes of the matrix's columns: (title, route, decode KV layout).
const COLUMNS: [(&str, Route, Option<bool>); 3] = [
    ("prefill", Route::Prefill, None),
    ("decode kv_aligned=0", Route::Decode, Some(false)),
    ("decode kv_aligned=1", Route::Decode, Some(true)),
];

fn matrix_cell(r: Option<&AgreementRow>) -> String {
    r.map_or_else(
        || NONE.to_string(),
        |r| {
            format!(
                "{} / {} / {} / {} / {}",
                sci(r.max_abs_max),
                opt_sci(r.kl_max),
                top1(r.top1_min),
                r.nonfinite,
                r.samples
            )
        },
    )
}

/// "Cross-backend Matrix": rows = backend (against its reference), columns = route.
pub(crate) fn matrix_tables(md: &mut Md, r: &Report) {
    let rows = &r.cross.agreement;
    if rows.is_empty() {
        return; // the agreement section says why
    }
    let mut refs: Vec<&str> = Vec::new();
    for a in rows {
        if !refs.contains(&a.reference.as_str()) {
            refs.push(&a.reference);
        }
    }
    md.heading(
        3,
        &format!("Cross-backend Matrix (vs {})", inline(&refs.join(", "))),
    );
    md.line(
        "Each backend's logits against the reference backend's for the same run, over spans \
         and seeds. Each cell: max_abs_diff (max) / KL max / top1 (min) / NaN+Inf count / runs.",
    );
    md.blank();
    let mut dtypes: Vec<driftbench_core::dtype::Dtype> = rows.iter().map(|a| a.dtype).collect();
    dtypes.sort();
    dtypes.dedup();
    for dtype in dtypes {
        md.heading(4, &dtype.to_string());
        let mut backends: Vec<(&str, &str)> = Vec::new();
        for a in rows.iter().filter(|a| a.dtype == dtype) {
            if !backends.contains(&(a.backend.as_str(), a.reference.as_str())) {
                backends.push((&a.backend, &a.reference));
            }
        }
        let body: Vec<Vec<String>> = backends
            .iter()
            .map(|(b, rf)| {
                let mut row = vec![format!("{b} vs {rf}")];
                row.extend(COLUMNS.iter().map(|(_, route, kv)| {
                    matrix_cell(rows.iter().find(|a| {
                        a.dtype == dtype
                            && a.backend == *b
                            && a.reference == *rf
                            && a.route == *route
                            && a.kv_aligned.map(|k| k.is_aligned()) == *kv
                    }))
                }));
                row
            })
            .collect();
        let mut header = vec!["backend"];
        header.extend(COLUMNS.iter().map(|c| c.0));
        md.table(&header, &body);
    }
}
