//! The grid of a sweep: its cells in run order, and every pair on a list of backends.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_sweep::config::SweepConfig;
use driftbench_sweep::grid::{Cell, Grid};
use driftbench_sweep::records::PairKey;
use std::path::Path;

fn config(sweep: &str) -> SweepConfig {
    let text = format!(
        "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\nkv_heads = 1\n\
         ffn = 32\nvocab = 64\n[sweep]\n{sweep}\n"
    );
    SweepConfig::parse(&text, Path::new("grid.toml")).unwrap()
}

fn backends(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_pair_count_is_the_product_of_the_lists() {
    let cfg = config(
        "spans = [32, 128, 512]\ndtypes = [\"bf16\", \"f16\"]\nkv_aligned = [0, 1]\nseeds = [0, 1, 2]",
    );
    let b = backends(&["flex", "wgpu"]);
    let pairs = Grid::of(&cfg).pairs(&b);
    assert_eq!(pairs.len(), 2 * 3 * 2 * 2 * 3);
    let unique: std::collections::BTreeSet<_> = pairs.iter().collect();
    assert_eq!(unique.len(), pairs.len(), "no pair twice");
    assert!(Grid::of(&cfg).pairs(&[]).is_empty());
}

#[test]
fn pairs_order_backend_dtype_span_kv_seed() {
    let cfg =
        config("spans = [64, 8]\ndtypes = [\"f16\", \"f32\"]\nkv_aligned = [1, 0]\nseeds = [5, 3]");
    let pairs = Grid::of(&cfg).pairs(&backends(&["wgpu", "flex"]));
    let key = |backend: &str, dtype, span, kv_aligned, seed| PairKey {
        backend: backend.to_string(),
        span,
        dtype,
        kv_aligned: KvMode::from_flag(kv_aligned).unwrap(),
        seed,
    };
    assert_eq!(pairs[0], key("wgpu", Dtype::F16, 8, 0, 5));
    assert_eq!(pairs[1], key("wgpu", Dtype::F16, 8, 0, 3));
    assert_eq!(pairs[2], key("wgpu", Dtype::F16, 8, 1, 5));
    assert_eq!(pairs[4], key("wgpu", Dtype::F16, 64, 0, 5));
    assert_eq!(pairs[8], key("wgpu", Dtype::F32, 8, 0, 5));
    assert_eq!(pairs[16], key("flex", Dtype::F16, 8, 0, 5));
    assert_eq!(pairs[31], key("flex", Dtype::F32, 64, 1, 3));
    assert_eq!(pairs.len(), 32);
}

#[test]
fn spans_sort_numerically() {
    let cfg = config("spans = [512, 32, 128]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]");
    assert_eq!(cfg.spans, [32, 128, 512]);
    let spans: Vec<usize> = Grid::of(&cfg)
        .pairs(&backends(&["flex"]))
        .iter()
        .map(|p| p.span)
        .collect();
    assert_eq!(spans, [32, 128, 512]);
}

#[test]
fn cells_run_dtype_by_dtype_and_count_the_pairs() {
    let cfg =
        config("spans = [32, 128]\ndtypes = [\"bf16\", \"f32\"]\nkv_aligned = [0, 1]\nseeds = [0]");
    let grid = Grid::of(&cfg);
    let dtypes: Vec<Dtype> = grid.cells().iter().map(|c| c.dtype).collect();
    assert_eq!(dtypes, [[Dtype::Bf16; 4], [Dtype::F32; 4]].concat());
    assert_eq!(grid.of_dtype(Dtype::F32).count(), 4);
    assert!(grid.of_dtype(Dtype::F16).next().is_none());
    assert_eq!(grid.pair_count(3), 24);
    assert_eq!(
        grid.pairs(&backends(&["flex", "cuda"])).len(),
        grid.pair_count(2)
    );
}

#[test]
fn a_cell_is_a_pair_key_without_its_backend() {
    let cfg = config("spans = [8]\ndtypes = [\"f16\"]\nkv_aligned = [1]\nseeds = [7]");
    let cell = Grid::of(&cfg).cells()[0];
    let key = cell.pair("wgpu");
    assert_eq!(
        key,
        PairKey {
            backend: "wgpu".to_string(),
            span: 8,
            dtype: Dtype::F16,
            kv_aligned: KvMode::Aligned,
            seed: 7,
        }
    );
    assert_eq!(Cell::of(&key), cell);
}
