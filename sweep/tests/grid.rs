//! The grid of a sweep: every pair, in order, and pairs grouped into sessions.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_sweep::config::SweepConfig;
use driftbench_sweep::grid::{expand, sessions};
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
fn expand_count_is_the_product_of_the_lists() {
    let cfg = config(
        "spans = [32, 128, 512]\ndtypes = [\"bf16\", \"f16\"]\nkv_aligned = [0, 1]\nseeds = [0, 1, 2]",
    );
    let b = backends(&["flex", "wgpu"]);
    let pairs = expand(&cfg, &b);
    assert_eq!(pairs.len(), 2 * 3 * 2 * 2 * 3);
    let unique: std::collections::BTreeSet<_> = pairs.iter().collect();
    assert_eq!(unique.len(), pairs.len(), "no pair twice");
    assert!(expand(&cfg, &[]).is_empty());
}

#[test]
fn expand_orders_backend_dtype_span_kv_seed() {
    let cfg =
        config("spans = [64, 8]\ndtypes = [\"f16\", \"f32\"]\nkv_aligned = [1, 0]\nseeds = [5, 3]");
    let pairs = expand(&cfg, &backends(&["wgpu", "flex"]));
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
    let spans: Vec<usize> = expand(&cfg, &backends(&["flex"]))
        .iter()
        .map(|p| p.span)
        .collect();
    assert_eq!(spans, [32, 128, 512]);
}

#[test]
fn sessions_group_by_backend_and_dtype_in_order() {
    let cfg =
        config("spans = [32, 128]\ndtypes = [\"bf16\", \"f32\"]\nkv_aligned = [0, 1]\nseeds = [0]");
    let pairs = expand(&cfg, &backends(&["flex", "cuda"]));
    let groups = sessions(&pairs);
    let keys: Vec<(String, Dtype)> = groups.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(
        keys,
        [
            ("flex".to_string(), Dtype::Bf16),
            ("flex".to_string(), Dtype::F32),
            ("cuda".to_string(), Dtype::Bf16),
            ("cuda".to_string(), Dtype::F32),
        ]
    );
    for ((backend, dtype), group) in &groups {
        assert_eq!(group.len(), 4);
        assert!(group
            .iter()
            .all(|p| &p.backend == backend && p.dtype == *dtype));
    }
    let flat: Vec<PairKey> = groups.into_iter().flat_map(|(_, g)| g).collect();
    assert_eq!(flat, pairs, "grouping an expanded grid keeps its order");
}

#[test]
fn sessions_merge_non_contiguous_pairs() {
    let p = |backend: &str, dtype, span| PairKey {
        backend: backend.to_string(),
        span,
        dtype,
        kv_aligned: KvMode::Aligned,
        seed: 0,
    };
    let pairs = [
        p("flex", Dtype::F32, 8),
        p("flex", Dtype::F16, 8),
        p("flex", Dtype::F32, 16),
    ];
    let groups = sessions(&pairs);
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].0, ("flex".to_string(), Dtype::F32));
    assert_eq!(groups[0].1, [pairs[0].clone(), pairs[2].clone()]);
    assert_eq!(groups[1].1, [pairs[1].clone()]);
    assert!(sessions(&[]).is_empty());
}
