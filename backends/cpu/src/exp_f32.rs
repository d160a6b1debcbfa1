//! eˣ over f32 slices for the softmax and SiLU, vectorized.
//!
//! libm's `expf` is a call per value and, with the softmax around it, took a quarter of a
//! bf16 prefill. This one evaluates in f64 lanes (Cody–Waite reduction, degree-11 Taylor on
//! |r| ≤ ln2/2, error about 1e-14 relative) and rounds once to f32, so it returns the
//! correctly rounded value except within 1e-14 of a rounding boundary: the same results as
//! a correctly rounded `expf` on all but a vanishing share of inputs (checked in the tests).
//! The lane code has no FMA and is compiled for the widest vector unit found at run time;
//! every unit gives the same bits.

const LANES: usize = 8;
const INV_LN2: f64 = std::f64::consts::LOG2_E;
// ln 2 in two parts, the first with its low bits clear so k·LN2_HI is exact.
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// Adding then subtracting 1.5·2^52 rounds to the nearest integer.
const ROUND: f64 = 6_755_399_441_055_744.0;
/// Beyond ±200 the f32 result is 0 or +inf whatever the rest of the range does.
const CLAMP: f64 = 200.0;
/// 1/n! for n = 2..=11.
const INV_FACT: [f64; 10] = [
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
];

#[inline(always)]
fn exp1(x: f32) -> f32 {
    let x = f64::from(x);
    // NaN passes through `clamp` and stays NaN.
    let x = x.clamp(-CLAMP, CLAMP);
    let shifted = x * INV_LN2 + ROUND;
    let k = shifted - ROUND;
    let ki = shifted.to_bits() as i64 as i32 as i64;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut p = INV_FACT[9];
    for &c in INV_FACT[..9].iter().rev() {
        p = p * r + c;
    }
    let p = (p * r + 1.0) * r + 1.0;
    // |k| ≤ 289 keeps 2^k a normal f64.
    let scale = f64::from_bits(((ki + 1023) as u64) << 52);
    (p * scale) as f32
}

#[inline(always)]
fn exp_body(xs: &mut [f32]) {
    let mut chunks = xs.chunks_exact_mut(LANES);
    for c in &mut chunks {
        for v in c.iter_mut() {
            *v = exp1(*v);
        }
    }
    for v in chunks.into_remainder() {
        *v = exp1(*v);
    }
}

struct ExpJob<'a>(&'a mut [f32]);

impl pulp::WithSimd for ExpJob<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        exp_body(self.0)
    }
}

/// `x ← eˣ` for every value (NaN stays NaN, −inf gives 0, +inf gives +inf).
pub fn exp_in_place(xs: &mut [f32]) {
    pulp::Arch::new().dispatch(ExpJob(xs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_libm_and_keeps_the_edges() {
        // Every 97th f32 bit pattern between −104 and 89 (where results are neither 0 nor
        // inf), both signs.
        let mut xs = Vec::new();
        let mut b = 0u32;
        while b < 0x42b2_0000 {
            xs.push(f32::from_bits(b));
            xs.push(-f32::from_bits(b));
            b += 97;
        }
        let mut got = xs.clone();
        exp_in_place(&mut got);
        let (mut off_f64, mut off_libm) = (0usize, 0usize);
        for (&x, &g) in xs.iter().zip(&got) {
            // f64's exp rounded to f32: correctly rounded but for double-rounding ties.
            let want = f64::from(x).exp() as f32;
            let libm = x.exp();
            let ulps = |a: f32, b: f32| (a.to_bits() as i64 - b.to_bits() as i64).abs();
            assert!(ulps(g, libm) <= 1, "exp({x}) = {g}, libm {libm}");
            off_f64 += (g != want) as usize;
            off_libm += (g != libm) as usize;
        }
        eprintln!("differ from f64 exp: {off_f64}, from libm expf: {off_libm}");
        // Almost never off the correctly rounded value.
        assert!(
            off_f64 * 1_000_000 < xs.len(),
            "{off_f64} of {} differ",
            xs.len()
        );
        let mut edge = [
            0.0,
            -0.0,
            f32::NAN,
            f32::NEG_INFINITY,
            f32::INFINITY,
            -200.0,
            100.0,
            88.72,
            -103.9,
        ];
        exp_in_place(&mut edge);
        assert_eq!(edge[0], 1.0);
        assert_eq!(edge[1], 1.0);
        assert!(edge[2].is_nan());
        assert_eq!(edge[3], 0.0);
        assert_eq!(edge[4], f32::INFINITY);
        assert_eq!(edge[5], 0.0);
        assert_eq!(edge[6], f32::INFINITY);
        assert_eq!(edge[7], 88.72f32.exp());
        assert_eq!(edge[8], (-103.9f32).exp());
    }

    #[test]
    fn the_vector_path_matches_the_baseline_build() {
        let xs: Vec<f32> = (0..1037).map(|i| (i as f32 - 500.0) * 0.173).collect();
        let mut fast = xs.clone();
        exp_in_place(&mut fast);
        let mut base = xs.clone();
        exp_body(&mut base);
        assert_eq!(
            fast.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            base.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
}
