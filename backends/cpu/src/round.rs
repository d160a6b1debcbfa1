//! Rounding to the compute dtype. Activations live in f32 buffers holding values that are
//! exactly representable in the session's dtype: every op computes in f32 and rounds its
//! result once, which is what an op computing natively in f16/bf16 with f32 accumulation
//! gives (f32 holds the exact product and sum of two 16-bit values before that rounding).

use driftbench_core::Dtype;
use half::f16;
use half::slice::HalfFloatSliceExt;

/// Round every value of `xs` to `dtype` (round to nearest even; NaN stays NaN, values past
/// the dtype's range become ±Inf). f32 is a no-op.
pub fn round(dtype: Dtype, xs: &mut [f32]) {
    match dtype {
        Dtype::F16 => {
            // Through a small f16 buffer: half converts slices with F16C where the CPU has it.
            let mut buf = [f16::ZERO; 256];
            for chunk in xs.chunks_mut(256) {
                let b = &mut buf[..chunk.len()];
                b.convert_from_f32_slice(chunk);
                b.convert_to_f32_slice(chunk);
            }
        }
        Dtype::Bf16 => pulp::Arch::new().dispatch(Bf16Job(xs)),
        Dtype::F32 | Dtype::F64 => {}
    }
}

/// bf16 rounding of a slice, compiled for the widest vector unit found at run time.
struct Bf16Job<'a>(&'a mut [f32]);

impl pulp::WithSimd for Bf16Job<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        self.0.iter_mut().for_each(|x| *x = bf16_round(*x))
    }
}

/// One value rounded to `dtype`.
pub fn round1(dtype: Dtype, x: f32) -> f32 {
    match dtype {
        Dtype::F16 => f16::from_f32(x).to_f32(),
        Dtype::Bf16 => bf16_round(x),
        Dtype::F32 | Dtype::F64 => x,
    }
}

/// f32 → bf16 bit pattern, round to nearest even (as `half::bf16::from_f32`, vectorizable).
#[inline]
pub fn bf16_bits(x: f32) -> u16 {
    (bf16_round(x).to_bits() >> 16) as u16
}

/// f32 → bf16 → f32 with round to nearest even, in integer ops the compiler vectorizes
/// (the same results as `half::bf16::from_f32`, NaN quieted as it does).
#[inline(always)]
fn bf16_round(x: f32) -> f32 {
    let b = x.to_bits();
    let r = if x.is_nan() {
        b | 0x0040_0000
    } else {
        b.wrapping_add(0x7FFF + ((b >> 16) & 1))
    };
    f32::from_bits(r & 0xFFFF_0000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::bf16;

    #[test]
    fn rounding_matches_half_and_keeps_non_finite() {
        let mut v = vec![1.000_976_6_f32 + 1e-4, f32::NAN, f32::INFINITY, 65520.0];
        round(Dtype::F16, &mut v);
        assert_eq!(v[0], f16::from_f32(1.000_976_6 + 1e-4).to_f32());
        assert!(v[1].is_nan());
        assert_eq!(v[2], f32::INFINITY);
        // Past f16's largest finite value: rounds to Inf, as an f16 op would.
        assert_eq!(v[3], f32::INFINITY);
        assert_eq!(round1(Dtype::F32, 0.1), 0.1);
    }

    /// The integer bf16 rounding agrees with `half` bit for bit over a spread of patterns:
    /// ties, carries into the exponent, subnormals, the largest finite values, Inf, NaN.
    #[test]
    fn bf16_rounding_matches_half_bitwise() {
        let mut bits: Vec<u32> = vec![
            0x3F80_8000,
            0x3F81_8000,
            0x3F80_7FFF,
            0x7F7F_FFFF,
            0x7F80_0000,
            0xFF80_0000,
            0x7FC0_0001,
            0x7F80_0001,
            0x0000_8000,
            0x8001_8000,
            0,
        ];
        let mut s = 0x9E37_79B9u32;
        for _ in 0..100_000 {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            bits.push(s);
        }
        for b in bits {
            let x = f32::from_bits(b);
            let want = bf16::from_f32(x).to_f32();
            let got = round1(Dtype::Bf16, x);
            if want.is_nan() {
                assert!(got.is_nan(), "{b:#x}");
            } else {
                assert_eq!(got.to_bits(), want.to_bits(), "{b:#x}");
            }
            let mut one = [x];
            round(Dtype::F16, &mut one);
            let want16 = f16::from_f32(x).to_f32();
            assert!(
                one[0].to_bits() == want16.to_bits() || (want16.is_nan() && one[0].is_nan()),
                "f16 {b:#x}"
            );
        }
    }
}
