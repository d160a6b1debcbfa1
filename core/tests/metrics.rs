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
