//! Which shards planned pairs without a verdict belong to, in a merged journal: what a user
//! resubmits (`sbatch --array=2`) to complete it.

use crate::grid::{cells_of, Cell};
use crate::identity::split_instance;
use crate::records::{MergeInfo, PairKey};
use crate::shard::assign;
use std::collections::BTreeMap;

/// One line per machine and shard holding `missing` pairs: `shard 2/4 on h100 (12 pairs)`.
/// Only machines whose sources were all cut into one shard count are named by shard; the
/// others by their pair count (`a100: 3 pairs`).
pub fn missing_shards(info: &MergeInfo, missing: &[PairKey]) -> Vec<String> {
    let plan = &info.plan;
    let cells = cells_of(&plan.dtypes, &plan.spans, &plan.kv_aligned, &plan.seeds);
    let mut owners: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut by_shard: BTreeMap<(String, Option<(usize, usize)>), usize> = BTreeMap::new();
    for key in missing {
        let machine = match split_instance(&key.backend).1 {
            Some(m) => m.to_string(),
            None => info.machines.first().cloned().unwrap_or_default(),
        };
        let shard = shard_count(info, &machine).and_then(|n| {
            let at = cells.iter().position(|c| *c == Cell::of(key))?;
            let owner = owners.entry(n).or_insert_with(|| assign(&cells, n));
            Some((owner[at], n))
        });
        *by_shard.entry((machine, shard)).or_default() += 1;
    }
    by_shard
        .into_iter()
        .map(|((machine, shard), n)| match shard {
            Some((k, count)) => format!("shard {k}/{count} on {machine} ({n} pairs)"),
            None => format!("{machine}: {n} pairs"),
        })
        .collect()
}

/// The shard count every source of `machine` was cut into, if they share one.
fn shard_count(info: &MergeInfo, machine: &str) -> Option<usize> {
    let mut counts = info
        .sources
        .iter()
        .filter(|s| s.machine == machine)
        .map(|s| s.shard.map(|s| s.count));
    let first = counts.next()??;
    counts.all(|c| c == Some(first)).then_some(first)
}
