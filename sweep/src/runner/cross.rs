//! The cross-backend comparison of one cell: every backend's logits against the reference
//! backend's, route by route.

use crate::grid::Cell;
use crate::records::{CrossRecord, Record};
use driftbench_core::logits::LogitsRef;
use driftbench_core::metrics;
use driftbench_core::route::Route;

/// Logits one backend left for the current cell, for the cross-backend comparison.
pub(crate) struct CellLogits<'a> {
    /// The backend's instance name.
    pub(crate) backend: &'a str,
    /// Width of its logits rows.
    pub(crate) vocab: usize,
    /// Its prefill logits, where the route succeeded.
    pub(crate) prefill: Option<LogitsRef<'a>>,
    /// Its decode logits, where the route succeeded.
    pub(crate) decode: Option<LogitsRef<'a>>,
}

/// Compare every backend's logits of `cell` with the reference backend's, route by route.
pub(crate) fn cross_records(
    cell: &Cell,
    logits: &[CellLogits],
    reference: Option<&str>,
) -> Vec<Record> {
    let mut out = Vec::new();
    let Some(r) = logits.iter().find(|l| Some(l.backend) == reference) else {
        return out;
    };
    for b in logits {
        if r.vocab != b.vocab || b.backend == r.backend {
            continue;
        }
        for (route, x, y) in [
            (Route::Prefill, r.prefill, b.prefill),
            (Route::Decode, r.decode, b.decode),
        ] {
            let (Some(x), Some(y)) = (x, y) else { continue };
            out.push(Record::Cross(CrossRecord {
                key: cell.pair(b.backend),
                reference: r.backend.to_string(),
                route,
                metrics: metrics::compare_logits(x, y, b.vocab),
            }));
        }
    }
    out
}
