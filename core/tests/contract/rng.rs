//! The prompt generator: SplitMix64 and the documented prompt recipe.

use driftbench_core::rng::{prompt_tokens, SplitMix64};

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
