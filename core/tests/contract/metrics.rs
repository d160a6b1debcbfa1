//! Tests of `metrics::compare`: values are computed by hand (or by a sorted reference).

use driftbench_core::metrics::compare;

const INF: f32 = f32::INFINITY;

#[test]
fn identical_inputs_give_zero_diffs_and_full_agreement() {
    let a: Vec<f32> = (0..24).map(|i| (i as f32 * 0.37).sin()).collect();
    let m = compare(&a, &a, 6);
    assert_eq!(m.max_abs_diff, 0.0);
    assert_eq!(m.p99_abs_diff, 0.0);
    assert_eq!(m.mean_abs_diff, 0.0);
    assert_eq!(m.top1_agreement, 1.0);
    assert_eq!(m.nonfinite_prefill, 0);
    assert_eq!(m.nonfinite_decode, 0);
    assert_eq!(m.positions, 4);
    assert_eq!(m.vocab, 6);
    assert!(m.all_finite());
}

#[test]
fn hand_made_two_by_four() {
    // Row 0: diffs 0, 0.5, 0, 0.25; argmax 3 on both sides (agree).
    // Row 1: diffs 0, 0, 0, 4; argmax 0 vs 3 (disagree).
    let prefill = [1.0, 2.0, 3.0, 4.0, 4.0, 3.0, 2.0, 1.0];
    let decode = [1.0, 2.5, 3.0, 3.75, 4.0, 3.0, 2.0, 5.0];
    let m = compare(&prefill, &decode, 4);
    assert_eq!(m.max_abs_diff, 4.0);
    // (0.5 + 0.25 + 4) / 8
    assert_eq!(m.mean_abs_diff, 0.59375);
    // n = 8: rank ceil(7.92) = 8, the largest diff.
    assert_eq!(m.p99_abs_diff, 4.0);
    assert_eq!(m.top1_agreement, 0.5);
    assert_eq!((m.positions, m.vocab), (2, 4));
    assert!(m.all_finite());
}

#[test]
fn nearest_rank_p99_of_200_known_diffs() {
    // Diffs are 0.25 * i for i in 0..200, placed in a scrambled order (7 is prime to 200).
    let n = 200;
    let prefill = vec![0.0f32; n];
    let mut decode = vec![0.0f32; n];
    for i in 0..n {
        let d = 0.25 * i as f32;
        // Alternate the sign: |a - b| is what counts.
        decode[(i * 7) % n] = if i % 2 == 0 { d } else { -d };
    }
    let m = compare(&prefill, &decode, 10);
    // Nearest rank: ceil(0.99 * 200) = 198, i.e. the 198th smallest, i = 197.
    // (Linear interpolation would give 49.2525; an off-by-one rank 49.0 or 49.5.)
    assert_eq!(m.p99_abs_diff, 49.25);
    assert_eq!(m.max_abs_diff, 49.75);
    // 0.25 * (199 * 200 / 2) / 200
    assert_eq!(m.mean_abs_diff, 24.875);
    assert_eq!(m.positions, 20);
}

#[test]
fn p99_rank_for_a_size_not_multiple_of_100() {
    // n = 150: rank ceil(148.5) = 149, i.e. diff index 148 (0-based) of 0..150.
    let prefill = vec![0.0f32; 150];
    let decode: Vec<f32> = (0..150).rev().map(|i| i as f32).collect();
    let m = compare(&prefill, &decode, 15);
    assert_eq!(m.p99_abs_diff, 148.0);
    assert_eq!(m.max_abs_diff, 149.0);
}

#[test]
fn nan_on_prefill_is_counted_and_poisons_max_and_row() {
    let prefill = [f32::NAN, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0];
    let decode = [0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0];
    let m = compare(&prefill, &decode, 4);
    assert!(
        m.max_abs_diff.is_nan(),
        "max must be NaN, got {}",
        m.max_abs_diff
    );
    assert!(m.mean_abs_diff.is_nan());
    assert_eq!(m.nonfinite_prefill, 1);
    assert_eq!(m.nonfinite_decode, 0);
    // Row 0 holds the NaN (argmax would agree otherwise); row 1 agrees.
    assert_eq!(m.top1_agreement, 0.5);
    assert!(!m.all_finite());
}

#[test]
fn nan_in_last_position_is_not_lost() {
    // The NaN comes after a large finite diff: a naive running max would keep 10.
    let prefill = [0.0, 10.0, 0.0, 1.0];
    let decode = [0.0, 0.0, 0.0, f32::NAN];
    let m = compare(&prefill, &decode, 4);
    assert!(m.max_abs_diff.is_nan());
    assert_eq!(m.nonfinite_decode, 1);
}

#[test]
fn inf_on_decode_gives_infinite_max_and_disagreeing_row() {
    // argmax is index 3 on both sides, but the row is non-finite, so it disagrees.
    let prefill = [0.0, 1.0, 2.0, 3.0];
    let decode = [0.0, 1.0, 2.0, INF];
    let m = compare(&prefill, &decode, 4);
    assert_eq!(m.max_abs_diff, f64::INFINITY);
    assert_eq!(m.mean_abs_diff, f64::INFINITY);
    assert_eq!(m.nonfinite_prefill, 0);
    assert_eq!(m.nonfinite_decode, 1);
    assert_eq!(m.top1_agreement, 0.0);
}

#[test]
fn inf_against_inf_is_nan_and_opposite_infs_are_inf() {
    let m = compare(&[INF, 0.0], &[INF, 0.0], 2);
    assert!(
        m.max_abs_diff.is_nan(),
        "inf - inf must be NaN, got {}",
        m.max_abs_diff
    );
    assert_eq!((m.nonfinite_prefill, m.nonfinite_decode), (1, 1));
    assert_eq!(m.top1_agreement, 0.0);

    let m = compare(&[-INF, 0.0], &[INF, 0.0], 2);
    assert_eq!(m.max_abs_diff, f64::INFINITY);
}

#[test]
fn nan_against_nan_is_still_nan() {
    let m = compare(&[f32::NAN, 1.0], &[f32::NAN, 1.0], 2);
    assert!(
        m.max_abs_diff.is_nan(),
        "NaN vs NaN must not be 0, got {}",
        m.max_abs_diff
    );
    assert!(m.mean_abs_diff.is_nan());
    assert_eq!((m.nonfinite_prefill, m.nonfinite_decode), (1, 1));
    assert_eq!(m.top1_agreement, 0.0);
}

#[test]
fn nan_ranks_above_inf_in_p99() {
    // n = 100: rank 99 (0-based index 98).
    let prefill = vec![0.0f32; 100];
    let mut decode = vec![1.0f32; 100];
    // One NaN and one +inf: sorted tail is [.., inf, NaN] -> index 98 is inf.
    decode[10] = f32::NAN;
    decode[20] = INF;
    let m = compare(&prefill, &decode, 10);
    assert_eq!(m.p99_abs_diff, f64::INFINITY);
    assert!(m.max_abs_diff.is_nan());

    // Two NaN: index 98 is NaN.
    decode[20] = f32::NAN;
    let m = compare(&prefill, &decode, 10);
    assert!(m.p99_abs_diff.is_nan());
}

#[test]
fn argmax_ties_go_to_lowest_index() {
    // Row 0: prefill tie at 0 and 1 -> 0; decode -> 0: agree (highest-index ties: 1 vs 0).
    // Row 1: prefill tie at 1 and 2 -> 1; decode -> 2: disagree.
    let prefill = [3.0, 3.0, 1.0, 1.0, 3.0, 3.0];
    let decode = [3.0, 2.0, 1.0, 1.0, 2.0, 3.0];
    let m = compare(&prefill, &decode, 3);
    assert_eq!(m.top1_agreement, 0.5);

    // All-equal rows agree (both pick index 0).
    let m = compare(&[5.0; 8], &[5.0; 8], 4);
    assert_eq!(m.top1_agreement, 1.0);
}

#[test]
fn p99_never_exceeds_a_finite_max() {
    // The f64 diff 6e38 is finite but overflows f32; p99 must stay at the max.
    let m = compare(&[3e38], &[-3e38], 1);
    assert!(m.max_abs_diff.is_finite());
    assert_eq!(m.max_abs_diff, 3e38f32 as f64 * 2.0);
    assert_eq!(m.p99_abs_diff, m.max_abs_diff);
    assert_eq!(m.top1_agreement, 1.0);
    assert!(m.all_finite());
}

/// xorshift64*: deterministic values for the reference test.
fn rand_stream(mut s: u64) -> impl FnMut() -> u64 {
    move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn large_input_matches_sorted_reference() {
    let (positions, vocab): (usize, usize) = (512, 1000);
    let n = positions * vocab;
    let mut next = rand_stream(0x9E37_79B9_7F4A_7C15);
    // Multiples of 1/64 in [-32, 32): every diff is exact in f32 and f64, sums are exact.
    let prefill: Vec<f32> = (0..n)
        .map(|_| (next() % 4096) as f32 / 64.0 - 32.0)
        .collect();
    let decode: Vec<f32> = prefill
        .iter()
        .map(|&a| {
            let r = next() % 100;
            // Mostly small noise, a 3 % tail of larger errors.
            let d = if r < 97 {
                (next() % 16) as f32
            } else {
                (next() % 2048) as f32
            };
            a + (d - 8.0) / 64.0
        })
        .collect();

    let mut diffs: Vec<f64> = prefill
        .iter()
        .zip(&decode)
        .map(|(&a, &b)| (a as f64 - b as f64).abs())
        .collect();
    diffs.sort_by(|x, y| x.total_cmp(y));
    let rank = (99 * n).div_ceil(100); // 506880
    let want_p99 = diffs[rank - 1];
    let want_max = *diffs.last().unwrap();
    let want_mean = diffs.iter().sum::<f64>() / n as f64;
    let mut agree = 0;
    for (ra, rb) in prefill.chunks(vocab).zip(decode.chunks(vocab)) {
        let argmax = |r: &[f32]| {
            let mut best = 0;
            for (j, &v) in r.iter().enumerate() {
                if v > r[best] {
                    best = j;
                }
            }
            best
        };
        agree += (argmax(ra) == argmax(rb)) as usize;
    }

    let m = compare(&prefill, &decode, vocab);
    assert_eq!(m.p99_abs_diff, want_p99);
    assert_eq!(m.max_abs_diff, want_max);
    assert_eq!(m.mean_abs_diff, want_mean);
    assert_eq!(m.top1_agreement, agree as f64 / positions as f64);
    assert_eq!((m.positions, m.vocab), (positions, vocab));
    // The reference p99 must be a tail value, not the max or the median, so that a wrong
    // rank would be caught.
    assert!(want_p99 > diffs[n / 2] && want_p99 < want_max);
}

#[test]
fn empty_input_is_vacuous() {
    let m = compare(&[], &[], 8);
    assert_eq!(m.positions, 0);
    assert_eq!(m.max_abs_diff, 0.0);
    assert_eq!(m.p99_abs_diff, 0.0);
    assert_eq!(m.mean_abs_diff, 0.0);
    assert_eq!(m.top1_agreement, 1.0);
}

#[test]
#[should_panic(expected = "prefill has 4 logits but decode has 3")]
fn length_mismatch_panics() {
    compare(&[0.0; 4], &[0.0; 3], 1);
}

#[test]
#[should_panic(expected = "not a multiple of vocab")]
fn length_not_multiple_of_vocab_panics() {
    compare(&[0.0; 6], &[0.0; 6], 4);
}

#[test]
#[should_panic(expected = "vocab must be >= 1")]
fn zero_vocab_panics() {
    compare(&[], &[], 0);
}

// ---- Known perturbations: each metric finds exactly what was injected. ----

const V: usize = 8;
const ROWS: usize = 6;

/// Rows with a clear top-1 (token `(3 r + 1) % V` at 5.0, the rest below 2.0).
fn base() -> Vec<f32> {
    let mut x = vec![0f32; ROWS * V];
    for r in 0..ROWS {
        for j in 0..V {
            x[r * V + j] = ((r * 5 + j * 3) % 7) as f32 * 0.25;
        }
        x[r * V + (3 * r + 1) % V] = 5.0;
    }
    x
}

/// KL(softmax(p) ‖ softmax(q)) of one row, the textbook way.
fn kl(p: &[f32], q: &[f32]) -> f64 {
    let soft = |x: &[f32]| {
        let z: f64 = x.iter().map(|&v| f64::from(v).exp()).sum();
        x.iter()
            .map(|&v| f64::from(v).exp() / z)
            .collect::<Vec<f64>>()
    };
    let (p, q) = (soft(p), soft(q));
    p.iter().zip(&q).map(|(a, b)| a * (a / b).ln()).sum()
}

#[test]
fn a_shifted_row_shows_in_the_curve_and_not_in_kl_or_top1() {
    let a = base();
    let mut b = a.clone();
    for v in &mut b[2 * V..3 * V] {
        *v += 0.5;
    }
    let m = compare(&a, &b, V);
    assert_eq!(m.max_abs_diff, 0.5);
    assert_eq!(m.drift_curve, vec![0.0, 0.0, 0.5, 0.0, 0.0, 0.0]);
    assert_eq!(m.mean_abs_diff, 0.5 * V as f64 / (ROWS * V) as f64);
    // A uniform shift leaves the distribution unchanged: no divergence, no flip.
    assert!(m.kl_max.unwrap() < 1e-12, "{:?}", m.kl_max);
    assert_eq!(m.top1_agreement, 1.0);
    assert_eq!(m.first_flip, None);
    let energy: f64 = a.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    let nmse = m.nmse.unwrap();
    assert!((nmse - V as f64 * 0.25 / energy).abs() < 1e-12, "{nmse}");
}

#[test]
fn a_confident_flip_is_found_with_its_large_margins() {
    let a = base();
    let mut b = a.clone();
    // Row 4: its top-1 is token 5 (5.0); token 0 jumps to 9.0 on the decode side.
    let (top, other) = ((3 * 4 + 1) % V, 0);
    b[4 * V + other] = 9.0;
    let m = compare(&a, &b, V);
    let f = m.first_flip.clone().expect("a flip");
    assert_eq!(f.position, 4);
    assert_eq!(
        (f.prefill_token, f.decode_token),
        (top as u32, other as u32)
    );
    assert_eq!(f.prefill_margin, 5.0 - f64::from(a[4 * V + other]));
    assert_eq!(f.decode_margin, 9.0 - 5.0);
    assert_eq!(f.margin(), 4.0, "the larger of the two margins");
    assert_eq!(m.flips(), 1);
    assert_eq!(m.top1_agreement, 5.0 / 6.0);
    let want = kl(&a[4 * V..5 * V], &b[4 * V..5 * V]);
    assert!(
        want > 1.0,
        "a confident flip moves the distribution: {want}"
    );
    assert!((m.kl_max.unwrap() - want).abs() < 1e-9);
    assert!((m.kl_mean.unwrap() - want / ROWS as f64).abs() < 1e-9);
    // Nearest-rank p99 of 6 values is the largest.
    assert!((m.kl_p99.unwrap() - want).abs() < 1e-9);
    assert_eq!(m.drift_curve[4], 9.0 - a[4 * V + other]);
}

#[test]
fn a_near_tie_flip_is_found_with_its_tiny_margins() {
    let mut a = base();
    // Row 1: top-1 token 4 at 5.0, token 6 at 4.999 (a near tie).
    let (top, other) = ((3 + 1) % V, 6);
    a[V + other] = 4.999;
    let mut b = a.clone();
    b[V + other] = 5.001;
    let m = compare(&a, &b, V);
    let f = m.first_flip.clone().expect("a flip");
    assert_eq!(f.position, 1);
    assert_eq!(
        (f.prefill_token, f.decode_token),
        (top as u32, other as u32)
    );
    assert!(
        (f.prefill_margin - 0.001).abs() < 1e-6,
        "{}",
        f.prefill_margin
    );
    assert!(
        (f.decode_margin - 0.001).abs() < 1e-6,
        "{}",
        f.decode_margin
    );
    assert!(f.margin() < 0.002);
    let kl_max = m.kl_max.unwrap();
    assert!(
        kl_max < 1e-5,
        "a near-tie flip barely moves the distribution: {kl_max}"
    );
    assert!((kl_max - kl(&a[V..2 * V], &b[V..2 * V])).abs() < 1e-9);
}

#[test]
fn the_first_flip_is_the_earliest_of_several() {
    let mut a = base();
    a[V + 6] = 4.999;
    let mut b = a.clone();
    b[V + 6] = 5.001; // near tie at row 1
    b[4 * V] = 9.0; // confident flip at row 4
    let m = compare(&a, &b, V);
    assert_eq!(m.first_flip.as_ref().unwrap().position, 1);
    assert_eq!(m.flips(), 2);
}

#[test]
fn new_metrics_keep_nan_visible() {
    let a = base();
    let mut b = a.clone();
    b[3 * V + 2] = f32::NAN;
    let m = compare(&a, &b, V);
    assert!(m.kl_mean.unwrap().is_nan());
    assert!(m.kl_max.unwrap().is_nan());
    assert!(m.kl_p99.unwrap().is_nan(), "NaN ranks highest");
    assert!(m.nmse.unwrap().is_nan());
    assert!(m.drift_curve[3].is_nan());
    assert_eq!(m.drift_curve[2], 0.0);
    let f = m.first_flip.clone().unwrap();
    assert_eq!(f.position, 3);
    assert!(f.prefill_margin.is_nan());
    // And survive JSON.
    let back: driftbench_core::metrics::Metrics =
        serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert!(back.drift_curve[3].is_nan());
    assert!(back.kl_max.unwrap().is_nan());
}

#[test]
fn journals_without_the_new_metrics_still_read() {
    let old = r#"{"max_abs_diff":0.5,"p99_abs_diff":0.1,"mean_abs_diff":0.01,
        "top1_agreement":1.0,"nonfinite_prefill":0,"nonfinite_decode":0,"positions":4,"vocab":8}"#;
    let m: driftbench_core::metrics::Metrics = serde_json::from_str(old).unwrap();
    assert_eq!(m.kl_mean, None);
    assert_eq!(m.nmse, None);
    assert!(m.drift_curve.is_empty());
}

/// f64 logits are compared in f64: differences far below f32 precision are measured, not
/// rounded away or up to an f32 ulp. (Before `compare_f64`, f64 logits crossed as f32: two
/// values 2e-13 apart either compared equal or one f32 ulp, ~1e-6 at 10, apart.)
#[test]
fn f64_logits_are_compared_at_f64_precision() {
    use driftbench_core::logits::LogitsRef;
    use driftbench_core::metrics::{compare_f64, compare_logits};
    // Values that straddle f32 rounding midpoints: x + half an f32 ulp ∓ 1e-13.
    let base: Vec<f64> = (0..40).map(|i| 8.0 + i as f64 * 0.0625).collect();
    let half_ulp = 2f64.powi(-21);
    let p: Vec<f64> = base.iter().map(|x| x + half_ulp - 1e-13).collect();
    let d: Vec<f64> = base.iter().map(|x| x + half_ulp + 1e-13).collect();
    let m = compare_f64(&p, &d, 8);
    // 2e-13 up to the f64 rounding of the inputs (an f64 ulp is 1.8e-15 at 8..16).
    let near = |x: f64| (x - 2e-13).abs() < 1e-14;
    assert!(near(m.max_abs_diff), "{}", m.max_abs_diff);
    assert!(near(m.mean_abs_diff), "{}", m.mean_abs_diff);
    assert!(near(m.p99_abs_diff) && m.p99_abs_diff <= m.max_abs_diff);
    assert_eq!(m.top1_agreement, 1.0);
    assert_eq!((m.positions, m.vocab), (5, 8));
    // Rounded to f32 they land one ulp (2^-20 at 8..16) apart.
    let (p32, d32): (Vec<f32>, Vec<f32>) = (
        p.iter().map(|&x| x as f32).collect(),
        d.iter().map(|&x| x as f32).collect(),
    );
    assert_eq!(compare(&p32, &d32, 8).max_abs_diff, 2f64.powi(-20));
    // Mixed widths: the f32 side widened exactly, the same numbers as widening by hand.
    let mixed = compare_logits(LogitsRef::F64(&p), LogitsRef::F32(&d32), 8);
    let d_wide: Vec<f64> = d32.iter().map(|&x| f64::from(x)).collect();
    assert_eq!(mixed, compare_f64(&p, &d_wide, 8));
    // f32 against f32 through compare_logits is compare itself, bit for bit.
    assert_eq!(
        compare_logits(LogitsRef::F32(&p32), LogitsRef::F32(&d32), 8),
        compare(&p32, &d32, 8)
    );
    // Non-finite f64 values are counted and poison the distances, as for f32.
    let mut bad = d.clone();
    bad[3] = f64::NAN;
    bad[9] = f64::INFINITY;
    let m = compare_f64(&p, &bad, 8);
    assert_eq!(m.nonfinite_decode, 2);
    assert!(m.max_abs_diff.is_nan() && !m.all_finite());
}
