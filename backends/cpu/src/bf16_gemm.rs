//! Many-row products with bf16 weights on CPUs with AVX512-BF16: `vdpbf16ps` multiplies
//! pairs of bf16 values and adds both exact products into f32 lanes, twice the rate of f32
//! FMAs and with no widened copy of the weights. This is how PyTorch's CPU bf16 matmul
//! (oneDNN) runs on these CPUs.
//!
//! Numerics: the activations are already bf16 values (every op rounds its result), so both
//! sides are exact bf16 inputs; each product is exact in f32 and accumulation is f32, as in
//! the portable path. The instruction flushes subnormal inputs and results to zero and adds
//! a pair's two products one after the other; the order over k differs from the portable
//! path's, so results agree with it to f32 accumulation error, not bitwise.
//!
//! Layout: a panel of [`PANEL`] weight rows (output columns) is repacked per call into
//! `[k/2][PANEL][2]`, so one 64-byte load holds a k-pair for 16 outputs and one broadcast
//! of an activation pair feeds them all: no horizontal sums. Panels are independent tasks.

use rayon::prelude::*;

/// Output columns per vector register.
const LANES: usize = 16;
/// Vector registers of output columns per micro-tile.
const NR: usize = 3;
/// Output columns per packed panel.
const PANEL: usize = LANES * NR;
/// Activation rows per micro-tile (8 × 3 accumulators fit the 32 registers with room for
/// the weight loads).
const MR: usize = 8;

/// True where this CPU has AVX-512F and AVX512-BF16 (checked once).
pub fn available() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bf16")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    })
}

/// `y[i, j] = Σ_c x[i, c] · w[j, c]` for `t` activation rows `x` (`[t, k]`, f32 holding
/// bf16 values; anything else is rounded to bf16 first) and `n` bf16 weight rows `w`
/// (`[n, k]` bit patterns), into `y` (`[t, n]`, f32 sums).
///
/// # Panics
/// If [`available`] is false or a slice is shorter than its shape.
pub fn matmul(w: &[u16], n: usize, k: usize, x: &[f32], t: usize, y: &mut [f32]) {
    assert!(available(), "bf16_gemm::matmul needs AVX512-BF16");
    assert!(w.len() >= n * k && x.len() >= t * k && y.len() >= t * n);
    // Activation rows as bf16 pairs; an odd k gets a zero pad so pairs never straddle rows.
    let kp = k.div_ceil(2);
    let mut xb = vec![0u16; t * 2 * kp];
    xb.par_chunks_mut(2 * kp)
        .zip(x.par_chunks(k))
        .for_each(|(dst, src)| {
            dst.iter_mut()
                .zip(src)
                .for_each(|(d, &v)| *d = crate::round::bf16_bits(v))
        });
    let out = SharedOut(y.as_mut_ptr());
    (0..n.div_ceil(PANEL)).into_par_iter().for_each_init(
        || vec![0u32; kp * PANEL],
        |panel, pi| {
            let j0 = pi * PANEL;
            let cols = PANEL.min(n - j0);
            pack(w, k, j0, cols, panel);
            let out = &out;
            let mut i0 = 0;
            while i0 < t {
                let rows = MR.min(t - i0);
                // SAFETY: `available()` was checked; x rows i0..i0+rows lie in `xb`, the
                // panel holds kp pairs of PANEL columns, and this task alone writes the
                // columns j0..j0+cols of rows i0..i0+rows of `y` (asserted long enough).
                unsafe {
                    tile(
                        rows,
                        xb.as_ptr().add(i0 * 2 * kp),
                        2 * kp,
                        panel.as_ptr(),
                        kp,
                        out.0.add(i0 * n + j0),
                        n,
                        cols,
                    )
                };
                i0 += rows;
            }
        },
    );
}

/// The output pointer, shared by tasks that write disjoint columns.
struct SharedOut(*mut f32);
// SAFETY: every task writes its own panel's columns only (see `matmul`).
unsafe impl Sync for SharedOut {}

/// Weight rows `j0..j0+cols` into `panel[p · PANEL + c]` (pair p of column c as one u32,
/// the lower k in the low half), zeros beyond `cols` and beyond `k`.
fn pack(w: &[u16], k: usize, j0: usize, cols: usize, panel: &mut [u32]) {
    if cols < PANEL {
        panel.fill(0);
    }
    let even = k / 2;
    for c in 0..cols {
        let row = &w[(j0 + c) * k..(j0 + c + 1) * k];
        for (p, pair) in row[..2 * even].chunks_exact(2).enumerate() {
            panel[p * PANEL + c] = u32::from(pair[0]) | (u32::from(pair[1]) << 16);
        }
        if k % 2 == 1 {
            panel[even * PANEL + c] = u32::from(row[k - 1]);
        }
    }
}

/// One micro-tile of `rows` (≤ [`MR`]) activation rows against a packed panel.
///
/// # Safety
/// AVX512-BF16 must be present; `x` must hold `rows` rows `x_rs` apart of `2·kp` values,
/// `panel` `kp · PANEL` pairs, and `y` `rows` rows `y_rs` apart of `cols` writable
/// values.
#[allow(clippy::too_many_arguments)]
unsafe fn tile(
    rows: usize,
    x: *const u16,
    x_rs: usize,
    panel: *const u32,
    kp: usize,
    y: *mut f32,
    y_rs: usize,
    cols: usize,
) {
    // SAFETY: forwarded; one monomorphized kernel per row count keeps the accumulators in
    // registers.
    unsafe {
        match rows {
            8 => kernel::<8>(x, x_rs, panel, kp, y, y_rs, cols),
            7 => kernel::<7>(x, x_rs, panel, kp, y, y_rs, cols),
            6 => kernel::<6>(x, x_rs, panel, kp, y, y_rs, cols),
            5 => kernel::<5>(x, x_rs, panel, kp, y, y_rs, cols),
            4 => kernel::<4>(x, x_rs, panel, kp, y, y_rs, cols),
            3 => kernel::<3>(x, x_rs, panel, kp, y, y_rs, cols),
            2 => kernel::<2>(x, x_rs, panel, kp, y, y_rs, cols),
            1 => kernel::<1>(x, x_rs, panel, kp, y, y_rs, cols),
            _ => unreachable!("tile of {rows} rows"),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn kernel<const R: usize>(
    x: *const u16,
    x_rs: usize,
    panel: *const u32,
    kp: usize,
    y: *mut f32,
    y_rs: usize,
    cols: usize,
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm512_setzero_ps(); NR]; R];
    // SAFETY (whole body): bounds as the caller promised; unaligned loads and stores.
    unsafe {
        for p in 0..kp {
            let wp = panel.add(p * PANEL);
            let wv: [__m512bh; NR] = std::array::from_fn(|c| {
                std::mem::transmute(_mm512_loadu_si512(wp.add(c * LANES).cast()))
            });
            for (i, acc_row) in acc.iter_mut().enumerate() {
                let pair = x.add(i * x_rs + 2 * p).cast::<i32>().read_unaligned();
                let xv: __m512bh = std::mem::transmute(_mm512_set1_epi32(pair));
                for c in 0..NR {
                    acc_row[c] = _mm512_dpbf16_ps(acc_row[c], xv, wv[c]);
                }
            }
        }
        for (i, acc_row) in acc.iter().enumerate() {
            for (c, v) in acc_row.iter().enumerate() {
                let live = cols.saturating_sub(c * LANES).min(LANES);
                let mask: __mmask16 = ((1u32 << live) - 1) as u16;
                _mm512_mask_storeu_ps(y.add(i * y_rs + c * LANES), mask, *v);
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn kernel<const R: usize>(
    _: *const u16,
    _: usize,
    _: *const u32,
    _: usize,
    _: *mut f32,
    _: usize,
    _: usize,
) {
    unreachable!("bf16_gemm is only called where available() is true")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shape edge (odd k, a partial panel, a partial row tile) against an f64 sum of
    /// the same bf16 values.
    #[test]
    fn matches_an_f64_reference() {
        if !available() {
            eprintln!("SKIPPED bf16_gemm test: this CPU has no AVX512-BF16");
            return;
        }
        let bf = |v: f32| half::bf16::from_f32(v);
        for (t, n, k) in [(13, 100, 37), (8, 48, 64), (1, 17, 3), (20, 96, 576)] {
            let w: Vec<u16> = (0..n * k)
                .map(|i| bf(((i * 7919 % 1000) as f32 - 500.0) / 512.0).to_bits())
                .collect();
            let x: Vec<f32> = (0..t * k)
                .map(|i| bf(((i * 31 % 17) as f32 - 8.0) / 16.0).to_f32())
                .collect();
            let mut y = vec![f32::NAN; t * n];
            matmul(&w, n, k, &x, t, &mut y);
            for i in 0..t {
                for j in 0..n {
                    let want: f64 = (0..k)
                        .map(|c| {
                            f64::from(x[i * k + c]) * half::bf16::from_bits(w[j * k + c]).to_f64()
                        })
                        .sum();
                    let got = f64::from(y[i * n + j]);
                    assert!(
                        (got - want).abs() <= 1e-5 * (1.0 + want.abs()),
                        "t {t} n {n} k {k} at ({i}, {j}): {got} vs {want}"
                    );
                }
            }
        }
    }
}
