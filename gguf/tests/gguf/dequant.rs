//! Dequantizers on blocks built byte by byte, with expected values worked out by hand.

use crate::common;

use common::f32_bytes;
use driftbench_gguf::{dequantize, DequantError, GgmlType, Gguf, GgufError, GgufWriter};

/// Writes one tensor into a GGUF file in a tempdir, reopens it and dequantizes it.
fn roundtrip(ty: GgmlType, dims: &[u64], data: Vec<u8>) -> (Vec<usize>, Vec<f32>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.gguf");
    let mut w = GgufWriter::new();
    w.add_f32_tensor("pad", &[3], &[9.0, 9.0, 9.0]) // so that `w` does not sit at offset 0
        .add_tensor("w", ty, dims, data);
    w.write(&path).unwrap();
    let g = Gguf::open(&path).unwrap();
    let info = g.tensor("w").unwrap();
    assert_eq!(info.offset(), 32);
    let out = g.dequantize("w").unwrap();
    let mut again = vec![f32::NAN; out.len()];
    g.dequantize_into(info, &mut again).unwrap();
    assert_eq!(
        out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        again.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    (info.shape(), out)
}

fn le16(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Nibble bytes with low nibble `j` and high nibble `15 - j`.
fn nibbles_up_down() -> Vec<u8> {
    (0..16u8).map(|j| j | ((15 - j) << 4)).collect()
}

#[test]
fn f32_matrix_comes_back_row_major() {
    // dims [3, 2]: 2 rows of 3.
    let (shape, out) = roundtrip(
        GgmlType::F32,
        &[3, 2],
        f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
    );
    assert_eq!(shape, vec![2, 3]);
    assert_eq!(out, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}

#[test]
fn f16_known_bit_patterns() {
    let bits = [
        0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x7C00, 0x8000, 0x3555,
    ];
    let (_, out) = roundtrip(GgmlType::F16, &[8], le16(&bits));
    assert_eq!(out[0], 1.0);
    assert_eq!(out[1], -2.0);
    assert_eq!(out[2], 0.5);
    assert_eq!(out[3], 65504.0);
    assert_eq!(out[4], 1.0 / 16_777_216.0); // smallest subnormal, 2^-24
    assert_eq!(out[5], f32::INFINITY);
    assert_eq!(out[6].to_bits(), 0x8000_0000); // -0.0
    assert_eq!(out[7], 1365.0 / 4096.0); // exponent 2^-2, mantissa 1 + 341/1024
}

#[test]
fn f16_longer_than_one_conversion_chunk() {
    // Integers 0..300 as halves, encoded by hand: n = 2^e + r  ->  ((e + 15) << 10) | r << (10 - e).
    let bits: Vec<u16> = (0u16..300)
        .map(|n| {
            if n == 0 {
                return 0;
            }
            let e = 15 - n.leading_zeros() as u16;
            ((e + 15) << 10) | ((n - (1 << e)) << (10 - e))
        })
        .collect();
    assert_eq!(bits[1], 0x3C00);
    assert_eq!(bits[2], 0x4000);
    assert_eq!(bits[3], 0x4200);
    let (shape, out) = roundtrip(GgmlType::F16, &[100, 3], le16(&bits));
    assert_eq!(shape, vec![3, 100]);
    let expected: Vec<f32> = (0..300).map(|n| n as f32).collect();
    assert_eq!(out, expected);
}

#[test]
fn bf16_known_bit_patterns() {
    let bits = [0x3F80, 0xC040, 0x4049, 0xBF00, 0x0000, 0x7F80, 0x3E80];
    let (_, out) = roundtrip(GgmlType::BF16, &[7], le16(&bits));
    assert_eq!(
        out,
        vec![1.0, -3.0, 3.140625, -0.5, 0.0, f32::INFINITY, 0.25]
    );
}

#[test]
fn q4_0_block_with_the_minus_8_offset() {
    let mut block = le16(&[0x3800]); // d = 0.5
    block.extend(nibbles_up_down());
    assert_eq!(block.len(), 18);
    let (_, out) = roundtrip(GgmlType::Q4_0, &[32], block);
    // Elements 0..16: (j - 8) * 0.5; elements 16..32: ((15 - j) - 8) * 0.5.
    let expected = [
        -4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0,
        3.5, //
        3.5, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -1.5, -2.0, -2.5, -3.0, -3.5, -4.0,
    ];
    assert_eq!(out, expected);
}

#[test]
fn q4_1_block_with_scale_and_min() {
    let mut block = le16(&[0x3800, 0xBC00]); // d = 0.5, m = -1.0
    block.extend(nibbles_up_down());
    assert_eq!(block.len(), 20);
    let (_, out) = roundtrip(GgmlType::Q4_1, &[32], block);
    // q * 0.5 - 1 with q = 0..15 (low nibbles), then q = 15..0 (high nibbles).
    let expected = [
        -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, //
        6.5, 6.0, 5.5, 5.0, 4.5, 4.0, 3.5, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0,
    ];
    assert_eq!(out, expected);
}

#[test]
fn q8_0_block_with_negative_quants() {
    let mut block = le16(&[0x3400]); // d = 0.25
    let mut q: Vec<i8> = (0..32).map(|j| j - 16).collect();
    q[0] = -128;
    q[31] = 127;
    block.extend(q.iter().map(|&v| v as u8));
    assert_eq!(block.len(), 34);
    let (_, out) = roundtrip(GgmlType::Q8_0, &[32], block);
    let expected = [
        -32.0, -3.75, -3.5, -3.25, -3.0, -2.75, -2.5, -2.25, -2.0, -1.75, -1.5, -1.25, -1.0, -0.75,
        -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25,
        3.5, 31.75,
    ];
    assert_eq!(out, expected);
}

#[test]
fn q8_0_multi_block_matrix_orientation() {
    // dims [64, 3]: 3 rows of 64 = 2 blocks per row, 6 blocks. Block b has d = 2^b and
    // quants j - 16 for j = 0..32, so row r, column c holds (c % 32 - 16) * 2^(2r + c / 32).
    let scales = [0x3C00u16, 0x4000, 0x4400, 0x4800, 0x4C00, 0x5000]; // 1, 2, 4, 8, 16, 32
    let mut data = Vec::new();
    for d in scales {
        data.extend(le16(&[d]));
        data.extend((0..32i8).map(|j| (j - 16) as u8));
    }
    let (shape, out) = roundtrip(GgmlType::Q8_0, &[64, 3], data);
    assert_eq!(shape, vec![3, 64]);
    assert_eq!(out.len(), 192);
    for r in 0..3 {
        for c in 0..64 {
            let expected = ((c % 32) as f32 - 16.0) * (1u32 << (2 * r + c / 32)) as f32;
            assert_eq!(out[r * 64 + c], expected, "row {r} col {c}");
        }
    }
    assert_eq!(
        (out[0], out[63], out[64], out[191]),
        (-16.0, 30.0, -64.0, 480.0)
    );
}

#[test]
fn q4_1_and_q4_0_multi_block_rows() {
    // Q4_1 dims [32, 2]: row 0 = block (d 1, m 0), row 1 = block (d 2, m 0.5); all nibbles 0x31
    // (low 1, high 3).
    let mut data = le16(&[0x3C00, 0x0000]);
    data.extend([0x31u8; 16]);
    data.extend(le16(&[0x4000, 0x3800]));
    data.extend([0x31u8; 16]);
    let (shape, out) = roundtrip(GgmlType::Q4_1, &[32, 2], data);
    assert_eq!(shape, vec![2, 32]);
    assert!(out[..16].iter().all(|&v| v == 1.0));
    assert!(out[16..32].iter().all(|&v| v == 3.0));
    assert!(out[32..48].iter().all(|&v| v == 2.5)); // 1 * 2 + 0.5
    assert!(out[48..].iter().all(|&v| v == 6.5)); // 3 * 2 + 0.5

    // Q4_0 dims [64]: two blocks in one row, d = 1 then d = -1; nibbles 0x0F (low 15, high 0).
    let mut data = le16(&[0x3C00]);
    data.extend([0x0Fu8; 16]);
    data.extend(le16(&[0xBC00]));
    data.extend([0x0Fu8; 16]);
    let (shape, out) = roundtrip(GgmlType::Q4_0, &[64], data);
    assert_eq!(shape, vec![64]);
    assert!(out[..16].iter().all(|&v| v == 7.0));
    assert!(out[16..32].iter().all(|&v| v == -8.0));
    assert!(out[32..48].iter().all(|&v| v == -7.0));
    assert!(out[48..].iter().all(|&v| v == 8.0));
}

#[test]
fn raw_dequantize_checks_its_inputs() {
    let mut out = [0.0f32; 32];
    let mut block = le16(&[0x3C00]);
    block.extend([2u8; 32]);
    dequantize(GgmlType::Q8_0, &block, &mut out).unwrap();
    assert!(out.iter().all(|&v| v == 2.0));

    let e = dequantize(GgmlType::Q4_K, &[0u8; 144], &mut [0.0; 256]).unwrap_err();
    assert_eq!(e, DequantError::Unsupported(GgmlType::Q4_K));
    assert!(e.to_string().contains("Q4_K (id 12)"), "{e}");

    let e = dequantize(GgmlType::Q8_0, &block[..33], &mut out).unwrap_err();
    assert!(
        matches!(
            e,
            DequantError::Length {
                data_len: 33,
                out_len: 32,
                expected_bytes: 34,
                ..
            }
        ),
        "{e}"
    );
    // 16 elements are not a whole Q8_0 block.
    let e = dequantize(GgmlType::Q8_0, &block[..17], &mut out[..16]).unwrap_err();
    assert!(matches!(e, DequantError::Length { .. }), "{e}");
    let e = dequantize(GgmlType::F16, &[0u8; 3], &mut out[..2]).unwrap_err();
    assert!(
        matches!(
            e,
            DequantError::Length {
                expected_bytes: 4,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn dequantize_into_rejects_wrong_output_length() {
    let mut w = GgufWriter::new();
    w.add_f32_tensor("x", &[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let g = Gguf::from_bytes(w.to_bytes().unwrap()).unwrap();
    let mut out = vec![0.0; 5];
    let e = g
        .dequantize_into(g.tensor("x").unwrap(), &mut out)
        .unwrap_err();
    assert!(
        matches!(
            e,
            GgufError::OutputLength {
                expected: 4,
                got: 5,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("`x`"), "{e}");
}

#[test]
fn ggml_type_table() {
    assert_eq!(GgmlType::Q4_1.type_size(), Some(20));
    assert_eq!(GgmlType::Q4_0.type_size(), Some(18));
    assert_eq!(GgmlType::Q8_0.type_size(), Some(34));
    assert_eq!(GgmlType::Q8_0.block_size(), Some(32));
    assert_eq!(GgmlType::BF16.bytes_for(3), Some(6));
    assert_eq!(GgmlType::Q4_1.bytes_for(64), Some(40));
    assert_eq!(GgmlType::Q4_1.bytes_for(48), None);
    assert_eq!(GgmlType(99).name(), None);
    assert_eq!(GgmlType(12).to_string(), "Q4_K (id 12)");
    assert!(GgmlType::Q4_1.is_dequantizable());
    assert!(!GgmlType::Q6_K.is_dequantizable());
}
