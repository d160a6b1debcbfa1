//! eˣ over f32 slices for the softmax and SiLU, vectorized.
//!
//! libm's `expf` is a call per value and, with the softmax around it, took a quarter of a
//! bf16 prefill. This one evaluates `driftbench_core::lane_exp::exp` in f64 lanes (within
//! 2 ulp of f64) and rounds once to f32, so it returns the correctly rounded value except
//! within about 1e-16 of a rounding boundary: the same results as a correctly rounded
//! `expf` on all but a vanishing share of inputs (checked in the tests). The lane code has
//! no FMA and is compiled for the widest vector unit found at run time; every unit gives the
//! same bits.

const LANES: usize = 8;

#[inline(always)]
fn exp1(x: f32) -> f32 {
    // Every f32 argument is an f64 one; results beyond f32's range round to 0 or +inf.
    driftbench_core::lane_exp::exp(f64::from(x)) as f32
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
