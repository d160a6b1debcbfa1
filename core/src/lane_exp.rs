//! `exp` for f64 written as plain lane arithmetic (no FMA, no table, no call), so a loop of
//! it vectorizes and every instruction set gives the same bits: the softmax sums of the KL
//! divergence (`metrics::compare`) and the cpu backend's f32 softmax and SiLU (computed
//! here in f64, rounded once) use it. libm's `exp` is a call per element and was a third of
//! `compare`'s time. Accuracy: within 2 ulp of the exact value for normal results (checked
//! against `f64::exp` in the tests).

const INV_LN2: f64 = std::f64::consts::LOG2_E;
// ln 2 split in two so that k·LN2_HI is exact for |k| < 2^11 (Cody–Waite reduction).
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// Adding then subtracting 1.5·2^52 rounds to the nearest integer (ties to even).
const ROUND: f64 = 6_755_399_441_055_744.0;
/// Below this, exp underflows to 0 even as a subnormal.
const FLOOR: f64 = -746.0;
/// Above this, exp overflows to +inf.
const CEILING: f64 = 710.0;

/// 1/n! for n = 2..=13: Taylor terms of exp on |r| ≤ ln2/2, where the first term left out
/// (r^14/14!) is below 0.06 ulp.
const INV_FACT: [f64; 12] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// eˣ. NaN gives NaN; values below −746 give 0, above 710 +inf.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    // NaN passes through `clamp` and stays NaN.
    let x = x.clamp(FLOOR, CEILING);
    let shifted = x * INV_LN2 + ROUND;
    let k = shifted - ROUND;
    // The low bits of `shifted` hold k in two's complement.
    let ki = shifted.to_bits() as i64 as i32 as i64;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut p = INV_FACT[11];
    for &c in INV_FACT[..11].iter().rev() {
        p = p * r + c;
    }
    let p = (p * r + 1.0) * r + 1.0;
    // 2^k in two factors, so a k from −1075 to 1024 never leaves the normal range in one
    // step (and k = 1024 overflows to +inf in the product, as it should).
    let k1 = ki >> 1;
    let k2 = ki - k1;
    let s1 = f64::from_bits(((k1 + 1023) as u64) << 52);
    let s2 = f64::from_bits(((k2 + 1023) as u64) << 52);
    p * s1 * s2
}

#[cfg(test)]
mod tests {
    use super::exp;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn matches_libm_within_two_ulp_over_the_normal_range() {
        let mut worst = 0;
        let mut x = 0.0f64;
        // A dense walk from 0 down to the edge of the normal range (exp(−708) ≈ 3e−308).
        while x > -708.0 {
            let (got, want) = (exp(x), x.exp());
            worst = worst.max(ulps(got, want));
            x -= 0.000_731;
        }
        for x in [
            0.0,
            -0.0,
            -1e-300,
            -1e-17,
            -0.5 * std::f64::consts::LN_2,
            -1.0,
        ] {
            worst = worst.max(ulps(exp(x), x.exp()));
        }
        assert!(worst <= 2, "worst error {worst} ulp");
    }

    #[test]
    fn positive_arguments_and_overflow() {
        let mut worst = 0;
        let mut x = 0.0f64;
        while x < 709.0 {
            worst = worst.max(ulps(exp(x), x.exp()));
            x += 0.000_913;
        }
        assert!(worst <= 2, "worst error {worst} ulp");
        assert_eq!(exp(709.9), f64::INFINITY);
        assert_eq!(exp(1e300), f64::INFINITY);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
    }

    #[test]
    fn the_reduction_constants_are_exact_splits_of_ln2() {
        // k·LN2_HI must be exact for |k| ≤ 1075: LN2_HI keeps its low 21 bits clear.
        assert_eq!(super::LN2_HI.to_bits() & 0x1f_ffff, 0);
        let sum = super::LN2_HI + super::LN2_LO;
        assert_eq!(sum, std::f64::consts::LN_2);
    }

    #[test]
    fn underflow_nan_and_zero() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-746.0), 0.0);
        assert_eq!(exp(-1e300), 0.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert!(exp(f64::NAN).is_nan());
        // Subnormal results stay close to libm's (relative error grows as bits run out).
        let (got, want) = (exp(-740.0), (-740.0f64).exp());
        assert!(((got - want) / want).abs() < 1e-10, "{got} vs {want}");
    }
}
