//! ggml tensor types and the dequantizers for the ones this crate supports.
//!
//! Block layouts (all little-endian, blocks of 32 elements unless noted):
//!
//! | type | id | bytes per block | element `j` of a block |
//! |---|---|---|---|
//! | F32  | 0  | 4 (1 element)  | the `f32` |
//! | F16  | 1  | 2 (1 element)  | the IEEE half |
//! | Q4_0 | 2  | 18: `f16 d`, 16 bytes `qs` | `(q − 8)·d`, `q` = low nibble of `qs[j]` for `j < 16`, high nibble of `qs[j − 16]` otherwise |
//! | Q4_1 | 3  | 20: `f16 d`, `f16 m`, 16 bytes `qs` | `q·d + m`, same nibble order as Q4_0 |
//! | Q8_0 | 8  | 34: `f16 d`, 32 × `i8 q` | `q[j]·d` |
//! | BF16 | 30 | 2 (1 element)  | the bfloat16 (upper half of an `f32`) |

use std::fmt;

use half::f16;
use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};
use thiserror::Error;

/// A ggml tensor type id, as stored in a GGUF tensor info.
///
/// Any `u32` can be represented (files may carry types newer than this crate); the associated
/// constants name the ids known here. Only [`F32`](Self::F32), [`F16`](Self::F16),
/// [`BF16`](Self::BF16), [`Q4_0`](Self::Q4_0), [`Q4_1`](Self::Q4_1) and [`Q8_0`](Self::Q8_0)
/// can be dequantized; the others have known block sizes, so their bytes can still be located.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct GgmlType(pub u32);

impl GgmlType {
    /// 32-bit float.
    pub const F32: GgmlType = GgmlType(0);
    /// IEEE 754 half.
    pub const F16: GgmlType = GgmlType(1);
    /// 4-bit, symmetric, 32-element blocks.
    pub const Q4_0: GgmlType = GgmlType(2);
    /// 4-bit with minimum, 32-element blocks.
    pub const Q4_1: GgmlType = GgmlType(3);
    /// 5-bit, 32-element blocks (not dequantized here).
    pub const Q5_0: GgmlType = GgmlType(6);
    /// 5-bit with minimum (not dequantized here).
    pub const Q5_1: GgmlType = GgmlType(7);
    /// 8-bit, 32-element blocks.
    pub const Q8_0: GgmlType = GgmlType(8);
    /// 8-bit with sum (not dequantized here).
    pub const Q8_1: GgmlType = GgmlType(9);
    /// K-quant, 2-bit (not dequantized here).
    pub const Q2_K: GgmlType = GgmlType(10);
    /// K-quant, 3-bit (not dequantized here).
    pub const Q3_K: GgmlType = GgmlType(11);
    /// K-quant, 4-bit (not dequantized here).
    pub const Q4_K: GgmlType = GgmlType(12);
    /// K-quant, 5-bit (not dequantized here).
    pub const Q5_K: GgmlType = GgmlType(13);
    /// K-quant, 6-bit (not dequantized here).
    pub const Q6_K: GgmlType = GgmlType(14);
    /// K-quant, 8-bit (not dequantized here).
    pub const Q8_K: GgmlType = GgmlType(15);
    /// 8-bit integer (not dequantized here).
    pub const I8: GgmlType = GgmlType(24);
    /// 16-bit integer (not dequantized here).
    pub const I16: GgmlType = GgmlType(25);
    /// 32-bit integer (not dequantized here).
    pub const I32: GgmlType = GgmlType(26);
    /// 64-bit integer (not dequantized here).
    pub const I64: GgmlType = GgmlType(27);
    /// 64-bit float (not dequantized here).
    pub const F64: GgmlType = GgmlType(28);
    /// bfloat16.
    pub const BF16: GgmlType = GgmlType(30);

    /// The numeric type id.
    pub fn id(self) -> u32 {
        self.0
    }

    /// The ggml name (`"Q4_1"`), or `None` for ids unknown to this crate.
    pub fn name(self) -> Option<&'static str> {
        self.traits().map(|t| t.0)
    }

    /// Elements per block (1 for plain float/int types), or `None` for unknown ids.
    pub fn block_size(self) -> Option<u64> {
        self.traits().map(|t| t.1)
    }

    /// Bytes per block, or `None` for unknown ids.
    pub fn type_size(self) -> Option<u64> {
        self.traits().map(|t| t.2)
    }

    /// Bytes that `n_elements` elements occupy, or `None` for unknown ids, for counts that are
    /// not a multiple of the block size, or on overflow.
    pub fn bytes_for(self, n_elements: u64) -> Option<u64> {
        let (_, block, size) = self.traits()?;
        if !n_elements.is_multiple_of(block) {
            return None;
        }
        (n_elements / block).checked_mul(size)
    }

    /// Whether [`dequantize`] supports this type.
    pub fn is_dequantizable(self) -> bool {
        matches!(
            self,
            GgmlType::F32
                | GgmlType::F16
                | GgmlType::BF16
                | GgmlType::Q4_0
                | GgmlType::Q4_1
                | GgmlType::Q8_0
        )
    }

    /// (name, elements per block, bytes per block), from ggml's block structs.
    fn traits(self) -> Option<(&'static str, u64, u64)> {
        Some(match self.0 {
            0 => ("F32", 1, 4),
            1 => ("F16", 1, 2),
            2 => ("Q4_0", 32, 18),
            3 => ("Q4_1", 32, 20),
            6 => ("Q5_0", 32, 22),
            7 => ("Q5_1", 32, 24),
            8 => ("Q8_0", 32, 34),
            9 => ("Q8_1", 32, 36),
            10 => ("Q2_K", 256, 84),
            11 => ("Q3_K", 256, 110),
            12 => ("Q4_K", 256, 144),
            13 => ("Q5_K", 256, 176),
            14 => ("Q6_K", 256, 210),
            15 => ("Q8_K", 256, 292),
            16 => ("IQ2_XXS", 256, 66),
            17 => ("IQ2_XS", 256, 74),
            18 => ("IQ3_XXS", 256, 98),
            19 => ("IQ1_S", 256, 50),
            20 => ("IQ4_NL", 32, 18),
            21 => ("IQ3_S", 256, 110),
            22 => ("IQ2_S", 256, 82),
            23 => ("IQ4_XS", 256, 136),
            24 => ("I8", 1, 1),
            25 => ("I16", 1, 2),
            26 => ("I32", 1, 4),
            27 => ("I64", 1, 8),
            28 => ("F64", 1, 8),
            29 => ("IQ1_M", 256, 56),
            30 => ("BF16", 1, 2),
            34 => ("TQ1_0", 256, 54),
            35 => ("TQ2_0", 256, 66),
            39 => ("MXFP4", 32, 17),
            _ => return None,
        })
    }
}

impl fmt::Display for GgmlType {
    /// `Q4_K (id 12)`, or `unknown (id 99)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (id {})", self.name().unwrap_or("unknown"), self.0)
    }
}

impl fmt::Debug for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "GgmlType::{name}"),
            None => write!(f, "GgmlType({})", self.0),
        }
    }
}

/// Why [`dequantize`] refused its input (no file context; [`crate::Gguf`] reports the richer
/// [`crate::GgufError`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DequantError {
    /// The type cannot be dequantized by this crate.
    #[error("ggml type {0} cannot be dequantized (supported: F32, F16, BF16, Q4_0, Q4_1, Q8_0)")]
    Unsupported(GgmlType),
    /// The output length is not a whole number of blocks, or the input is not exactly the bytes
    /// of that many elements.
    #[error(
        "ggml type {ggml_type}: {out_len} output elements need {expected_bytes} input bytes (a whole number of {block_size}-element blocks), got {data_len}"
    )]
    Length {
        /// The type.
        ggml_type: GgmlType,
        /// Input bytes given.
        data_len: usize,
        /// Output elements asked for.
        out_len: usize,
        /// Input bytes those elements need (`None`-like `u64::MAX` if not a whole block count).
        expected_bytes: u64,
        /// Elements per block.
        block_size: u64,
    },
}

/// Dequantizes `data` (the raw bytes of `out.len()` elements of type `ty`) into `out`.
///
/// Elements come out in storage order: for a tensor with dims `[ne0, ne1]` that is `ne1` rows of
/// `ne0` values, i.e. row-major `[ne1, ne0]`.
pub fn dequantize(ty: GgmlType, data: &[u8], out: &mut [f32]) -> Result<(), DequantError> {
    if !ty.is_dequantizable() {
        return Err(DequantError::Unsupported(ty));
    }
    let block_size = ty.block_size().unwrap_or(1);
    let expected = ty.bytes_for(out.len() as u64);
    if expected != Some(data.len() as u64) {
        return Err(DequantError::Length {
            ggml_type: ty,
            data_len: data.len(),
            out_len: out.len(),
            expected_bytes: expected.unwrap_or(u64::MAX),
            block_size,
        });
    }
    match ty {
        GgmlType::F32 => dequant_f32(data, out),
        GgmlType::F16 => dequant_f16(data, out),
        GgmlType::BF16 => dequant_bf16(data, out),
        GgmlType::Q4_0 => dequant_q4_0(data, out),
        GgmlType::Q4_1 => dequant_q4_1(data, out),
        GgmlType::Q8_0 => dequant_q8_0(data, out),
        _ => return Err(DequantError::Unsupported(ty)),
    }
    Ok(())
}

#[inline]
fn half_at(bytes: &[u8], at: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([bytes[at], bytes[at + 1]])).to_f32()
}

fn dequant_f32(data: &[u8], out: &mut [f32]) {
    for (o, b) in out.iter_mut().zip(data.chunks_exact(4)) {
        *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
}

fn dequant_f16(data: &[u8], out: &mut [f32]) {
    // Gather the bits into a small stack buffer so that `half` can convert whole slices (it
    // uses F16C/NEON when the CPU has them).
    const CHUNK: usize = 256;
    let mut bits = [0u16; CHUNK];
    for (o, b) in out.chunks_mut(CHUNK).zip(data.chunks(CHUNK * 2)) {
        let n = o.len();
        for (dst, src) in bits[..n].iter_mut().zip(b.chunks_exact(2)) {
            *dst = u16::from_le_bytes([src[0], src[1]]);
        }
        bits[..n].reinterpret_cast::<f16>().convert_to_f32_slice(o);
    }
}

fn dequant_bf16(data: &[u8], out: &mut [f32]) {
    for (o, b) in out.iter_mut().zip(data.chunks_exact(2)) {
        *o = f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16);
    }
}

fn dequant_q4_0(data: &[u8], out: &mut [f32]) {
    for (block, o) in data.chunks_exact(18).zip(out.chunks_exact_mut(32)) {
        let d = half_at(block, 0);
        let qs = &block[2..18];
        let (lo, hi) = o.split_at_mut(16);
        for ((&q, l), h) in qs.iter().zip(lo.iter_mut()).zip(hi.iter_mut()) {
            *l = (i32::from(q & 0x0F) - 8) as f32 * d;
            *h = (i32::from(q >> 4) - 8) as f32 * d;
        }
    }
}

fn dequant_q4_1(data: &[u8], out: &mut [f32]) {
    for (block, o) in data.chunks_exact(20).zip(out.chunks_exact_mut(32)) {
        let d = half_at(block, 0);
        let m = half_at(block, 2);
        let qs = &block[4..20];
        let (lo, hi) = o.split_at_mut(16);
        for ((&q, l), h) in qs.iter().zip(lo.iter_mut()).zip(hi.iter_mut()) {
            *l = f32::from(q & 0x0F) * d + m;
            *h = f32::from(q >> 4) * d + m;
        }
    }
}

fn dequant_q8_0(data: &[u8], out: &mut [f32]) {
    for (block, o) in data.chunks_exact(34).zip(out.chunks_exact_mut(32)) {
        let d = half_at(block, 0);
        for (&q, v) in block[2..34].iter().zip(o.iter_mut()) {
            *v = f32::from(q as i8) * d;
        }
    }
}
