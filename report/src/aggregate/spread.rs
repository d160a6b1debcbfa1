//! Building the seed-spread rows of a backend.

use crate::model::spread::{SeedSpreadRow, SeedVerdict, Spread};
use crate::stats::{max_nan, mean, min_nan};
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_sweep::records::PairRecord;
use std::collections::BTreeMap;

/// Min/mean/max of `v`; `None` for no value.
fn spread(v: &[f64]) -> Option<Spread> {
    (!v.is_empty()).then(|| Spread {
        min: min_nan(v),
        mean: mean(v),
        max: max_nan(v),
    })
}

/// One row per (span, dtype, kv_aligned) with a pair, in key order; `pairs` sorted by key.
pub(crate) fn rows(pairs: &[&PairRecord]) -> Vec<SeedSpreadRow> {
    let mut groups: BTreeMap<(usize, Dtype, KvMode), Vec<&PairRecord>> = BTreeMap::new();
    for p in pairs {
        groups
            .entry((p.key.span, p.key.dtype, p.key.kv_aligned))
            .or_default()
            .push(p);
    }
    groups
        .into_iter()
        .map(|((span, dtype, kv_aligned), ps)| {
            let ms: Vec<&driftbench_core::metrics::Metrics> =
                ps.iter().filter_map(|p| p.metrics.as_ref()).collect();
            let col = |f: fn(&driftbench_core::metrics::Metrics) -> f64| {
                ms.iter().map(|m| f(m)).collect::<Vec<_>>()
            };
            let kl: Vec<f64> = ms.iter().filter_map(|m| m.kl_mean).collect();
            SeedSpreadRow {
                span,
                dtype,
                kv_aligned,
                verdicts: ps
                    .iter()
                    .map(|p| SeedVerdict {
                        seed: p.key.seed,
                        verdict: p.verdict,
                    })
                    .collect(),
                max_abs: spread(&col(|m| m.max_abs_diff)),
                p99: spread(&col(|m| m.p99_abs_diff)),
                kl_mean: spread(&kl),
                top1: spread(&col(|m| m.top1_agreement)),
                samples: ms.len(),
            }
        })
        .collect()
}
