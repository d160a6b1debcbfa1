//! The grid of a sweep: every pair to run, and how pairs group into sessions.

use crate::config::SweepConfig;
use crate::records::PairKey;
use driftbench_core::dtype::Dtype;
use std::collections::HashMap;

/// Every pair of the sweep for these backends, ordered backend (as given), dtype (config
/// order), span (ascending), kv_aligned (ascending), seed (config order).
///
/// The count is `backends × dtypes × spans × kv_aligned × seeds` (the config lists are
/// already deduplicated; `backends` is taken as given).
pub fn expand(cfg: &SweepConfig, backends: &[String]) -> Vec<PairKey> {
    let mut spans = cfg.spans.clone();
    spans.sort_unstable();
    let mut kv = cfg.kv_aligned.clone();
    kv.sort_unstable();
    let mut pairs = Vec::with_capacity(
        backends.len() * cfg.dtypes.len() * spans.len() * kv.len() * cfg.seeds.len(),
    );
    for backend in backends {
        for &dtype in &cfg.dtypes {
            for &span in &spans {
                for &kv_aligned in &kv {
                    for &seed in &cfg.seeds {
                        pairs.push(PairKey {
                            backend: backend.clone(),
                            span,
                            dtype,
                            kv_aligned,
                            seed,
                        });
                    }
                }
            }
        }
    }
    pairs
}

/// Groups of pairs sharing (backend, dtype): the unit a model is loaded for once.
/// Order preserved: groups in order of their first pair, pairs in their order in `pairs`
/// (pairs of one group need not be contiguous in the input).
pub fn sessions(pairs: &[PairKey]) -> Vec<((String, Dtype), Vec<PairKey>)> {
    let mut groups: Vec<((String, Dtype), Vec<PairKey>)> = Vec::new();
    let mut index: HashMap<(String, Dtype), usize> = HashMap::new();
    for pair in pairs {
        let key = (pair.backend.clone(), pair.dtype);
        let i = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(pair.clone());
    }
    groups
}
