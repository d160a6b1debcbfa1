//! Shards: a deterministic split of a sweep's grid into `N` slices, so an engine that already
//! runs jobs (a Slurm array, a Kubernetes Indexed Job, a CI matrix) can run slice `K` of `N`
//! anywhere and a merge can put the slices back together. driftbench plans; it never
//! schedules.
//!
//! A cell (dtype, span, kv_aligned, seed) goes to exactly one shard with all its backends, so
//! the cross-backend comparison of a cell stays inside one shard. Cells are balanced by an
//! estimated cost ([`cell_cost`]) with the longest-processing-time rule: costliest cell first,
//! each to the shard with the least cost so far (ties to the lowest index), which keeps the
//! largest shard close to the mean whenever cells are many and small beside a shard. A shard
//! opens one session per (backend, dtype) it holds, as a whole sweep does, so its model loads
//! are its distinct dtypes times its backends.

use crate::grid::{Cell, Grid};
pub use crate::shard_id::{Shard, INDEX_VARIABLES};
use driftbench_core::dtype::Dtype;

/// Relative cost of one element in `dtype` against f32: f64 products run at about half the
/// rate of f32 ones on CPUs and far less on GPUs; f16 and bf16 at about the same rate.
fn dtype_weight(dtype: Dtype) -> f64 {
    match dtype {
        Dtype::F64 => 2.0,
        _ => 1.0,
    }
}

/// A decode step against one prefill token: a step reads every weight for one token (on the
/// cpu backend, SmolLM2 f16 span 32: 19 ms a step, 13 ms a prefill token).
const DECODE_STEP: f64 = 2.0;

/// Positions of attention that cost as much as one token's weight products: about the
/// model's parameters over its hidden width (SmolLM2: 135M / 576).
const ATTENTION_SCALE: f64 = 200_000.0;

/// The estimated cost of a cell on one backend, in prefill-token units: its prefill (`span`
/// tokens) and its decode (`span` steps), each with attention over the positions so far
/// (`span²/2` per route). Only ratios between cells matter.
pub fn cell_cost(cell: &Cell) -> f64 {
    let s = cell.span as f64;
    let weights = s * (1.0 + DECODE_STEP);
    let attention = 2.0 * s * s / 2.0 / ATTENTION_SCALE;
    (weights + attention) * dtype_weight(cell.dtype)
}

/// The cells of `cells` (a grid, in run order) that `shard` runs, in run order. Every cell
/// lands in exactly one shard of `shard.count`, whatever the index; `count = 1` is the grid.
pub fn shard_cells(cells: &[Cell], shard: Shard) -> Vec<Cell> {
    let owner = assign(cells, shard.count);
    cells
        .iter()
        .zip(owner)
        .filter(|(_, o)| *o == shard.index)
        .map(|(c, _)| *c)
        .collect()
}

impl Grid {
    /// The cells of `shard`, in run order (the whole grid for one shard).
    pub fn shard(&self, shard: Shard) -> Grid {
        Grid::from_cells(shard_cells(self.cells(), shard))
    }
}

/// The shard of every cell of `cells` (same order), over `count` shards.
pub fn assign(cells: &[Cell], count: usize) -> Vec<usize> {
    let count = count.max(1);
    let mut order: Vec<usize> = (0..cells.len()).collect();
    let costs: Vec<f64> = cells.iter().map(cell_cost).collect();
    // Costliest first; equal costs in run order, so the split depends on the grid alone.
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
    let mut load = vec![0f64; count];
    let mut owner = vec![0usize; cells.len()];
    for i in order {
        let lightest = (0..count)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
            .unwrap_or(0);
        owner[i] = lightest;
        load[lightest] += costs[i];
    }
    owner
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftbench_core::kv::KvMode;
    use std::collections::BTreeSet;

    /// A grid of spans 32 … 4096 × four dtypes × both layouts × `seeds` seeds.
    fn grid(seeds: u64) -> Vec<Cell> {
        let spans = [
            32, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096,
        ];
        let seeds: Vec<u64> = (0..seeds).collect();
        crate::grid::cells_of(
            &[Dtype::F32, Dtype::F16, Dtype::Bf16, Dtype::F64],
            &spans,
            &[KvMode::Padded, KvMode::Aligned],
            &seeds,
        )
    }

    #[test]
    fn ten_thousand_cells_over_256_shards_each_once_and_balanced_within_ten_percent() {
        let cells = grid(90); // 4 × 14 × 2 × 90 = 10,080 cells
        assert!(cells.len() >= 10_000);
        let owner = assign(&cells, 256);
        let mut load = vec![0f64; 256];
        for (c, &o) in cells.iter().zip(&owner) {
            assert!(o < 256);
            load[o] += cell_cost(c);
        }
        let mean = load.iter().sum::<f64>() / 256.0;
        let max = load.iter().copied().fold(0.0, f64::max);
        eprintln!(
            "{} cells over 256 shards: largest {max:.0}, mean {mean:.0} (+{:.3} %)",
            cells.len(),
            (max / mean - 1.0) * 100.0
        );
        assert!(
            max <= mean * 1.10,
            "largest shard {max} against a mean of {mean}"
        );
        // The slices are a partition: every cell in exactly one of them.
        let mut seen = 0;
        let mut all = BTreeSet::new();
        for k in 0..256 {
            for c in shard_cells(
                &cells,
                Shard {
                    index: k,
                    count: 256,
                },
            ) {
                seen += 1;
                all.insert((c.dtype.to_string(), c.span, c.kv_aligned.flag(), c.seed));
            }
        }
        assert_eq!(seen, cells.len());
        assert_eq!(all.len(), cells.len());
    }

    #[test]
    fn one_shard_is_the_whole_grid_in_run_order() {
        let cells = grid(2);
        assert_eq!(shard_cells(&cells, Shard::WHOLE), cells);
    }

    #[test]
    fn the_split_depends_on_the_grid_alone() {
        let cells = grid(3);
        assert_eq!(assign(&cells, 7), assign(&cells, 7));
        let slice = shard_cells(&cells, Shard { index: 2, count: 4 });
        assert!(!slice.is_empty());
        // Run order kept inside a slice.
        let positions: Vec<usize> = slice
            .iter()
            .map(|c| cells.iter().position(|x| x == c).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn longer_spans_cost_more_and_f64_twice_as_much() {
        let cell = |span, dtype| Cell {
            dtype,
            span,
            kv_aligned: KvMode::Aligned,
            seed: 0,
        };
        assert!(cell_cost(&cell(4096, Dtype::F16)) > cell_cost(&cell(512, Dtype::F16)));
        let (a, b) = (
            cell_cost(&cell(128, Dtype::F64)),
            cell_cost(&cell(128, Dtype::F32)),
        );
        assert_eq!(a, 2.0 * b);
    }
}
