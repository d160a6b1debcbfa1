use super::*;
use crate::metrics::compare;
use crate::rng::SplitMix64;

const VOCAB: usize = 2048;
const ROWS: usize = 24;

/// Logits shaped like a language model's: a few confident tokens over a long tail.
fn model_like(seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    let mut v: Vec<f32> = (0..VOCAB * ROWS).map(|_| rng.uniform(-4.0, 4.0)).collect();
    for row in v.chunks_exact_mut(VOCAB) {
        for j in 0..6 {
            let at = rng.below(VOCAB as u64) as usize;
            row[at] = 12.0 - 1.5 * j as f32 + rng.uniform(0.0, 0.5);
        }
    }
    v
}

/// `base` with every value moved by up to `scale`.
fn perturbed(base: &[f32], scale: f32, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    base.iter()
        .map(|&x| x + rng.uniform(-scale, scale))
        .collect()
}

/// Mean over rows of the softmax mass outside each row's top-k.
fn tail_mass(v: &[f32]) -> f64 {
    let c = compact(LogitsRef::F32(v), VOCAB, TOP_K);
    let rows = c.lse.len();
    let mut sum = 0.0;
    for r in 0..rows {
        let top: f64 = c.values[r * c.k..(r + 1) * c.k]
            .iter()
            .map(|&x| (f64::from(x) - c.lse[r]).exp())
            .sum();
        sum += 1.0 - top;
    }
    sum / rows as f64
}

fn both(a: &[f32], b: &[f32]) -> (crate::metrics::Metrics, CompactMetrics) {
    let ca = compact(LogitsRef::F32(a), VOCAB, TOP_K);
    let cb = compact(LogitsRef::F32(b), VOCAB, TOP_K);
    (compare(a, b, VOCAB), compare_compact(&ca, &cb).unwrap())
}

#[test]
fn top_k_is_ordered_and_its_first_is_the_exact_argmax() {
    let row = [1.0f32, 5.0, 3.0, 5.0, f32::NAN, -1.0, 4.0];
    let c = compact(LogitsRef::F32(&row), row.len(), 3);
    assert_eq!(
        c.ids,
        vec![1, 3, 6],
        "ties keep the lower id first, NaN is never kept"
    );
    assert_eq!(c.values, vec![5.0, 5.0, 4.0]);
    assert_eq!(c.nonfinite_rows, vec![0]);
    assert!(c.lse[0].is_nan());
    let finite = [0.0f64, 0.0];
    let c = compact(LogitsRef::F64(&finite), 2, 8);
    assert_eq!(c.k, 2, "k is cut to the vocabulary");
    assert!((c.lse[0] - 2f64.ln()).abs() < 1e-15);
}

#[test]
fn identical_logits_give_zero_everywhere() {
    let a = model_like(1);
    let (exact, approx) = both(&a, &a);
    assert_eq!(exact.max_abs_diff, 0.0);
    assert_eq!(approx.top1_agreement, 1.0);
    assert_eq!(approx.max_abs_topk, 0.0);
    assert_eq!(approx.kl_mean_approx, 0.0);
    assert_eq!(approx.first_flip, None);
}

/// The figures the module says are exact are exact, the bounds hold, and the approximate KL
/// is measured against the exact KL: with differences spread evenly over the vocabulary its
/// relative error is about twice the probability mass outside the top-k (within 3 times).
#[test]
fn exact_figures_match_and_approximations_bound_the_exact_ones() {
    let a = model_like(2);
    for (scale, seed) in [(1e-4f32, 3u64), (1e-2, 4), (0.3, 5), (3.0, 6)] {
        let b = perturbed(&a, scale, seed);
        let (exact, approx) = both(&a, &b);
        assert_eq!(
            approx.top1_agreement, exact.top1_agreement,
            "top-1 is exact at scale {scale}"
        );
        assert_eq!(
            approx.first_flip,
            exact.first_flip.as_ref().map(|f| f.position),
            "the first flip is exact at scale {scale}"
        );
        assert!(
            approx.max_abs_topk <= exact.max_abs_diff && approx.max_abs_topk > 0.0,
            "max_abs over the top-k bounds the full one at scale {scale}: {} vs {}",
            approx.max_abs_topk,
            exact.max_abs_diff
        );
        let kl_mean = exact.kl_mean.unwrap();
        let kl_max = exact.kl_max.unwrap();
        assert!(
            approx.kl_mean_approx <= kl_mean * (1.0 + 1e-9) + 1e-15,
            "coarse KL is a lower bound at scale {scale}: {} vs {kl_mean}",
            approx.kl_mean_approx
        );
        assert!(approx.kl_max_approx <= kl_max * (1.0 + 1e-9) + 1e-15);
        let rel = (kl_mean - approx.kl_mean_approx) / kl_mean;
        eprintln!(
            "scale {scale}: KL mean exact {kl_mean:.3e}, approx {:.3e} (relative error {rel:.2e}); max_abs exact {:.3e}, top-k {:.3e}",
            approx.kl_mean_approx, exact.max_abs_diff, approx.max_abs_topk
        );
        let tail = tail_mass(&a);
        eprintln!("  probability mass outside the top-{TOP_K}: {tail:.3e}");
        if scale <= 1e-2 {
            // Drift-sized differences: the tail's share of the KL is about its mass.
            assert!(
                rel < 3.0 * tail,
                "scale {scale}: relative KL error {rel:.3e}, tail mass {tail:.3e}"
            );
        }
    }
}

#[test]
fn a_row_with_nan_never_agrees_and_its_kl_is_nan() {
    let a = model_like(7);
    let mut b = a.clone();
    b[VOCAB * 3 + 17] = f32::NAN;
    let (exact, approx) = both(&a, &b);
    assert_eq!(approx.top1_agreement, exact.top1_agreement);
    assert_eq!(approx.first_flip, Some(3));
    assert!(approx.kl_max_approx.is_nan() && approx.kl_mean_approx.is_nan());
}

#[test]
fn shapes_that_differ_are_not_compared() {
    let a = compact(LogitsRef::F32(&model_like(8)), VOCAB, TOP_K);
    let b = compact(LogitsRef::F32(&model_like(8)), VOCAB, 4);
    assert_eq!(compare_compact(&a, &b), None);
}

#[test]
fn values_survive_json_bit_for_bit() {
    let mut v = model_like(9);
    v[5] = f32::INFINITY;
    v[VOCAB + 9] = 1.0e-38 * 3.3;
    let c = compact(LogitsRef::F32(&v), VOCAB, TOP_K);
    let back: CompactLogits = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(
        back.values.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        c.values.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(back.ids, c.ids);
    assert_eq!(back.nonfinite_rows, c.nonfinite_rows);
    // Every f32 pattern of a wide sample reads back as itself.
    let mut rng = SplitMix64::new(10);
    let sample: Vec<f32> = (0..20_000)
        .map(|_| f32::from_bits(rng.next_u64() as u32))
        .filter(|x| x.is_finite())
        .collect();
    let c = CompactLogits {
        k: 1,
        vocab: 1,
        ids: vec![0; sample.len()],
        values: sample.clone(),
        lse: vec![0.0; sample.len()],
        nonfinite_rows: vec![],
    };
    let back: CompactLogits = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    for (x, y) in sample.iter().zip(&back.values) {
        assert_eq!(x.to_bits(), y.to_bits(), "{x:e}");
    }
}
