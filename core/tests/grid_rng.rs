//! The grid of a sweep and the documented PRNG.

use driftbench_core::config::SweepConfig;
use driftbench_core::grid::{expand, sessions};
use driftbench_core::records::PairKey;
use driftbench_core::rng::{prompt_tokens, SplitMix64};
use driftbench_core::{Dtype, KvMode};
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

#[test]
fn splitmix64_matches_the_reference_outputs() {
    let mut rng = SplitMix64::new(0);
    assert_eq!(rng.next_u64(), 0xE220A8397B1DCDAF);
    assert_eq!(rng.next_u64(), 0x6E789E6AA1B965F4);
    assert_eq!(rng.next_u64(), 0x06C45D188009454F);
}

#[test]
fn next_f64_uses_the_top_53_bits() {
    let mut a = SplitMix64::new(123);
    let mut b = SplitMix64::new(123);
    for _ in 0..1000 {
        let x = a.next_f64();
        let bits = b.next_u64() >> 11;
        assert_eq!(x, bits as f64 / (1u64 << 53) as f64);
        assert!((0.0..1.0).contains(&x));
    }
}

#[test]
fn uniform_stays_in_range() {
    let mut rng = SplitMix64::new(9);
    for _ in 0..10_000 {
        let x = rng.uniform(-0.5, 0.25);
        assert!((-0.5..0.25).contains(&x), "{x}");
    }
    // One output per call, computed in f64 then rounded once.
    let mut a = SplitMix64::new(4);
    let mut b = SplitMix64::new(4);
    let u = b.next_f64();
    assert_eq!(a.uniform(-1.0, 3.0), (-1.0 + 4.0 * u) as f32);
    assert_eq!(a.next_u64(), b.next_u64());
}

#[test]
fn below_is_in_range_and_unbiased_enough() {
    let mut rng = SplitMix64::new(1);
    let mut counts = [0u32; 7];
    for _ in 0..70_000 {
        counts[rng.below(7) as usize] += 1;
    }
    for c in counts {
        assert!((9_000..11_000).contains(&c), "{counts:?}");
    }
    assert_eq!(rng.below(1), 0);
    // Powers of two consume exactly one output: x % n.
    let mut a = SplitMix64::new(77);
    let mut b = SplitMix64::new(77);
    assert_eq!(a.below(1 << 20), b.next_u64() % (1 << 20));
    // A huge n rejects the low zone [0, 2^64 mod n): results stay below n.
    let n = (1u64 << 63) + 12345;
    for _ in 0..100 {
        assert!(rng.below(n) < n);
    }
}

#[test]
fn prompt_tokens_follow_the_documented_recipe() {
    let seed = 3;
    let tokens = prompt_tokens(seed, 64, 1000);
    let mut rng = SplitMix64::new(seed ^ 0x70726F6D7074);
    let expected: Vec<u32> = (0..64).map(|_| rng.below(1000) as u32).collect();
    assert_eq!(tokens, expected);
}

#[test]
fn prompt_tokens_are_deterministic_in_range_and_seed_dependent() {
    let a = prompt_tokens(0, 512, 49152);
    assert_eq!(a.len(), 512);
    assert_eq!(a, prompt_tokens(0, 512, 49152));
    assert!(a.iter().all(|&t| t < 49152));
    let b = prompt_tokens(1, 512, 49152);
    assert_ne!(a, b);
    assert_eq!(
        &a[..32],
        &prompt_tokens(0, 32, 49152)[..],
        "shorter span is a prefix"
    );
    assert!(prompt_tokens(5, 0, 10).is_empty());
    let small = prompt_tokens(2, 200, 3);
    assert!(small.iter().all(|&t| t < 3));
    assert!((0..3).all(|v| small.contains(&v)));
}
