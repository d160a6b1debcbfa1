//! The grid of a sweep: its cells, each run on every backend. A sweep expands its grid once
//! ([`Grid::of`]) and hands it to everything that needs the cells or their count.

use crate::config::SweepConfig;
use crate::records::PairKey;
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;

/// One cell of the grid: a pair key without its backend. The runner runs a cell on every
/// backend in turn, and `--resume` counts a cell done when every backend has its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cell {
    /// Dtype.
    pub dtype: Dtype,
    /// Span.
    pub span: usize,
    /// KV layout.
    pub kv_aligned: KvMode,
    /// Seed.
    pub seed: u64,
}

impl Cell {
    /// The cell of `key`.
    pub fn of(key: &PairKey) -> Cell {
        Cell {
            dtype: key.dtype,
            span: key.span,
            kv_aligned: key.kv_aligned,
            seed: key.seed,
        }
    }

    /// The pair of this cell on `backend`.
    pub fn pair(&self, backend: &str) -> PairKey {
        PairKey {
            backend: backend.to_string(),
            span: self.span,
            dtype: self.dtype,
            kv_aligned: self.kv_aligned,
            seed: self.seed,
        }
    }
}

/// The cells of a sweep in run order: dtype (config order), span (ascending), kv_aligned
/// (ascending), seed (config order). There are `dtypes × spans × kv_aligned × seeds` of
/// them (the config's lists are already deduplicated).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    cells: Vec<Cell>,
}

/// The cells of these lists in run order (see [`Grid`]): what a config and a journal's plan
/// both expand to.
pub fn cells_of(dtypes: &[Dtype], spans: &[usize], kv: &[KvMode], seeds: &[u64]) -> Vec<Cell> {
    let mut spans = spans.to_vec();
    spans.sort_unstable();
    let mut kv = kv.to_vec();
    kv.sort_unstable();
    let mut cells = Vec::with_capacity(dtypes.len() * spans.len() * kv.len() * seeds.len());
    for &dtype in dtypes {
        for &span in &spans {
            for &kv_aligned in &kv {
                for &seed in seeds {
                    cells.push(Cell {
                        dtype,
                        span,
                        kv_aligned,
                        seed,
                    });
                }
            }
        }
    }
    cells
}

impl Grid {
    /// Expand the grid of `cfg`.
    pub fn of(cfg: &SweepConfig) -> Grid {
        Grid {
            cells: cells_of(&cfg.dtypes, &cfg.spans, &cfg.kv_aligned, &cfg.seeds),
        }
    }

    /// A grid of these cells, in the order given (a shard's slice of a grid).
    pub fn from_cells(cells: Vec<Cell>) -> Grid {
        Grid { cells }
    }

    /// Every cell, in run order.
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// The cells of `dtype`, in run order.
    pub fn of_dtype(&self, dtype: Dtype) -> impl Iterator<Item = &Cell> {
        self.cells.iter().filter(move |c| c.dtype == dtype)
    }

    /// How many pairs the grid makes on `backends` backends.
    pub fn pair_count(&self, backends: usize) -> usize {
        self.cells.len() * backends
    }

    /// Every pair of the grid on `backends`, ordered backend (as given), then by cell.
    pub fn pairs(&self, backends: &[String]) -> Vec<PairKey> {
        backends
            .iter()
            .flat_map(|b| self.cells.iter().map(move |c| c.pair(b)))
            .collect()
    }
}
