//! Reading GGUF files: metadata, tensor infos, alignment, and every kind of bad input.

use crate::common;

use std::path::{Path, PathBuf};

use common::{f32_bytes, Raw};
use driftbench_gguf::{GgmlType, Gguf, GgufError, GgufWriter, Value, ValueType};

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn open_bytes(bytes: &[u8]) -> Result<Gguf, GgufError> {
    let dir = tempfile::tempdir().unwrap();
    Gguf::open(write_file(dir.path(), "t.gguf", bytes))
}

/// Every metadata value type, encoded field by field, in the order of this list.
fn all_types_raw() -> Raw {
    let mut r = Raw::new();
    r.header(3, 0, 17);
    r.str("u8").u32(0).u8(200);
    r.str("i8").u32(1).u8(0xFB); // -5
    r.str("u16").u32(2).u16(65000);
    r.str("i16").u32(3).u16(0xFED4); // -300
    r.str("u32").u32(4).u32(4_000_000_000);
    r.str("i32").u32(5).u32(0xFFFE_1DC0); // -123456
    r.str("f32").u32(6).u32(0x3FC0_0000); // 1.5
    r.str("bool.t").u32(7).u8(1);
    r.str("bool.f").u32(7).u8(0);
    r.str("str")
        .u32(8)
        .u64(6)
        .bytes(&[b'h', 0xC3, 0xA9, b'l', b'l', b'o']); // "héllo"
    r.str("arr.str")
        .u32(9)
        .u32(8)
        .u64(3)
        .str("a")
        .str("")
        .str("<0x0A>");
    r.str("arr.u32").u32(9).u32(4).u64(2).u32(1).u32(2);
    r.str("arr.empty").u32(9).u32(6).u64(0);
    r.str("arr.nested").u32(9).u32(9).u64(2);
    r.u32(5).u64(1).u32(0xFFFF_FFFF); // [-1]
    r.u32(5).u64(0); // []
    r.str("u64").u32(10).u64((1 << 40) + 1);
    r.str("i64").u32(11).u64(0xFFFF_FF00_0000_0000); // -(2^40)
    r.str("f64").u32(12).u64(0x3FB9_9999_9999_999A); // 0.1
    r.pad(32);
    r
}

fn all_types_expected() -> Vec<(String, Value)> {
    let s = |x: &str| Value::String(x.to_string());
    vec![
        ("u8".into(), Value::U8(200)),
        ("i8".into(), Value::I8(-5)),
        ("u16".into(), Value::U16(65000)),
        ("i16".into(), Value::I16(-300)),
        ("u32".into(), Value::U32(4_000_000_000)),
        ("i32".into(), Value::I32(-123456)),
        ("f32".into(), Value::F32(1.5)),
        ("bool.t".into(), Value::Bool(true)),
        ("bool.f".into(), Value::Bool(false)),
        ("str".into(), s("héllo")),
        (
            "arr.str".into(),
            Value::Array(ValueType::String, vec![s("a"), s(""), s("<0x0A>")]),
        ),
        (
            "arr.u32".into(),
            Value::Array(ValueType::U32, vec![Value::U32(1), Value::U32(2)]),
        ),
        ("arr.empty".into(), Value::Array(ValueType::F32, vec![])),
        (
            "arr.nested".into(),
            Value::Array(
                ValueType::Array,
                vec![
                    Value::Array(ValueType::I32, vec![Value::I32(-1)]),
                    Value::Array(ValueType::I32, vec![]),
                ],
            ),
        ),
        ("u64".into(), Value::U64((1 << 40) + 1)),
        ("i64".into(), Value::I64(-(1 << 40))),
        ("f64".into(), Value::F64(0.1)),
    ]
}

#[test]
fn metadata_of_every_value_type_reads_back() {
    let gguf = open_bytes(&all_types_raw().finish()).unwrap();
    assert_eq!(gguf.version(), 3);
    assert_eq!(gguf.metadata(), all_types_expected().as_slice());
    assert!(gguf.tensors().is_empty());
    // Header 24 + entries 15+15+17+17+19+19+19+19+19+29+62+39+33+62+23+23+23 = 477 bytes,
    // so the data section (empty here) starts at 480.
    assert_eq!(gguf.data_offset(), 480);
    assert_eq!(gguf.file_len(), 480);
}

#[test]
fn writer_encodes_every_value_type_like_the_spec() {
    let mut w = GgufWriter::new();
    for (k, v) in all_types_expected() {
        w.add_metadata(k, v);
    }
    assert_eq!(w.to_bytes().unwrap(), all_types_raw().finish());
    // And through a real file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.gguf");
    w.write(&path).unwrap();
    let gguf = Gguf::open(&path).unwrap();
    assert_eq!(gguf.metadata(), all_types_expected().as_slice());
    assert_eq!(gguf.path(), path.as_path());
}

#[test]
fn typed_getters_accept_any_integer_width_that_fits() {
    let gguf = Gguf::from_bytes(all_types_raw().finish()).unwrap();
    assert_eq!(gguf.get_u32("u8").unwrap(), 200);
    assert_eq!(gguf.get_u32("u16").unwrap(), 65000);
    assert_eq!(gguf.get_u32("u32").unwrap(), 4_000_000_000);
    assert_eq!(gguf.get_u64("u32").unwrap(), 4_000_000_000);
    assert_eq!(gguf.get_u64("u64").unwrap(), (1 << 40) + 1);
    assert_eq!(gguf.get_f32("f32").unwrap(), 1.5);
    assert_eq!(gguf.get_f32("f64").unwrap(), 0.1f32);
    assert_eq!(gguf.get_f32("u16").unwrap(), 65000.0);
    assert!(gguf.get_bool("bool.t").unwrap());
    assert!(!gguf.get_bool("bool.f").unwrap());
    assert_eq!(gguf.get_str("str").unwrap(), "héllo");
    assert_eq!(gguf.get_array_len("arr.str").unwrap(), 3);
    assert_eq!(gguf.get_array_len("arr.empty").unwrap(), 0);
    assert_eq!(
        gguf.get_str_array("arr.str").unwrap(),
        vec!["a", "", "<0x0A>"]
    );
    assert_eq!(
        gguf.get_array("arr.u32").unwrap(),
        &[Value::U32(1), Value::U32(2)]
    );
    assert_eq!(gguf.get("i8"), Some(&Value::I8(-5)));
    assert_eq!(gguf.get("nope"), None);

    // Positive i32 and u64 small values are fine as u32 (llama.cpp files mix widths).
    let mut w = GgufWriter::new();
    w.add_metadata("a", Value::I32(42))
        .add_metadata("b", Value::U64(7))
        .add_metadata("c", Value::I64(9));
    let g = Gguf::from_bytes(w.to_bytes().unwrap()).unwrap();
    assert_eq!(g.get_u32("a").unwrap(), 42);
    assert_eq!(g.get_u32("b").unwrap(), 7);
    assert_eq!(g.get_u32("c").unwrap(), 9);
}

#[test]
fn typed_getters_report_missing_and_wrong_types() {
    let gguf = Gguf::from_bytes(all_types_raw().finish()).unwrap();
    let e = gguf.get_u32("u64").unwrap_err();
    assert!(
        matches!(e, GgufError::WrongType { ref key, .. } if key == "u64"),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("`u64`") && msg.contains("u64 value 1099511627777"),
        "{msg}"
    );
    assert!(msg.contains("expected u32"), "{msg}");

    let e = gguf.get_u32("i32").unwrap_err();
    assert!(e.to_string().contains("i32 value -123456"), "{e}");
    let e = gguf.get_u64("i64").unwrap_err();
    assert!(matches!(e, GgufError::WrongType { .. }), "{e}");

    let e = gguf.get_str("u8").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("`u8`") && msg.contains("expected string"),
        "{msg}"
    );
    assert!(gguf.get_f32("str").is_err());
    assert!(gguf.get_bool("u8").is_err());
    assert!(gguf.get_array_len("u32").is_err());
    assert!(gguf.get_str_array("arr.u32").is_err());

    let e = gguf.get_u32("llama.block_count").unwrap_err();
    assert!(matches!(e, GgufError::MissingKey { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("`llama.block_count`") && msg.contains("missing"),
        "{msg}"
    );
    assert!(msg.contains("<in-memory GGUF>"), "{msg}");
}

#[test]
fn version_2_files_read() {
    let mut w = GgufWriter::new();
    w.set_version(2).add_metadata("x", Value::U32(1));
    let bytes = w.to_bytes().unwrap();
    assert_eq!(&bytes[4..8], &[2, 0, 0, 0]);
    let g = Gguf::from_bytes(bytes).unwrap();
    assert_eq!(g.version(), 2);
    assert_eq!(g.get_u32("x").unwrap(), 1);
}

/// Two tensors, default alignment, built by hand:
/// header 24; info `a` = 8+1+4+8+4+8 = 33 (ends 57); info `bb` = 8+2+4+16+4+8 = 42 (ends 99);
/// data section at 128; `a` (12 bytes) at 0, `bb` (8 bytes) at 32; file ends at 128+64 = 192.
fn two_tensor_raw() -> Raw {
    let mut r = Raw::new();
    r.header(3, 2, 0);
    r.tensor_info("a", &[3], 0, 0);
    r.tensor_info("bb", &[2, 2], 1, 32);
    r.pad(32);
    r.bytes(&f32_bytes(&[1.0, 2.0, 3.0])).pad(32);
    r.u16(0x3C00).u16(0x4000).u16(0x4200).u16(0x4400).pad(32);
    r
}

#[test]
fn tensor_infos_offsets_and_padding() {
    let raw = two_tensor_raw().finish();
    assert_eq!(raw.len(), 192);

    let mut w = GgufWriter::new();
    w.add_f32_tensor("a", &[3], &[1.0, 2.0, 3.0]).add_tensor(
        "bb",
        GgmlType::F16,
        &[2, 2],
        vec![0x00, 0x3C, 0x00, 0x40, 0x00, 0x42, 0x00, 0x44],
    );
    assert_eq!(
        w.to_bytes().unwrap(),
        raw,
        "writer layout differs from the hand-built file"
    );

    let g = open_bytes(&raw).unwrap();
    assert_eq!(g.alignment(), 32);
    assert_eq!(g.data_offset(), 128);
    assert_eq!(g.file_len(), 192);
    let names: Vec<&str> = g.tensors().iter().map(|t| t.name()).collect();
    assert_eq!(names, ["a", "bb"]);
    let a = g.tensor("a").unwrap();
    assert_eq!(
        (a.dims(), a.ggml_type(), a.offset()),
        (&[3u64][..], GgmlType::F32, 0)
    );
    assert_eq!((a.n_elements(), a.n_bytes()), (3, Some(12)));
    let bb = g.tensor("bb").unwrap();
    assert_eq!(
        (bb.dims(), bb.ggml_type(), bb.offset()),
        (&[2u64, 2][..], GgmlType::F16, 32)
    );
    assert_eq!((bb.n_elements(), bb.n_bytes()), (4, Some(8)));
    assert_eq!(bb.shape(), vec![2, 2]);
    assert!(g.tensor("c").is_none());
    assert_eq!(
        g.tensor_bytes(a).unwrap(),
        f32_bytes(&[1.0, 2.0, 3.0]).as_slice()
    );
    assert_eq!(
        g.tensor_bytes(bb).unwrap(),
        &[0x00, 0x3C, 0x00, 0x40, 0x00, 0x42, 0x00, 0x44]
    );
    assert_eq!(g.dequantize("bb").unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn general_alignment_is_honoured() {
    // header 24 + "general.alignment" entry (8+17 key, 4 type, 4 value = 33) = 57;
    // infos 33 + 42 -> 132; data at 192; `a` at 0, `bb` at 64; end 192+128 = 320.
    let mut w = GgufWriter::new();
    w.set_alignment(64)
        .add_f32_tensor("a", &[3], &[1.0, 2.0, 3.0])
        .add_tensor("bb", GgmlType::BF16, &[2, 2], vec![0u8; 8]);
    let bytes = w.to_bytes().unwrap();
    assert_eq!(bytes.len(), 320);
    assert!(bytes[132..192].iter().all(|&b| b == 0));
    let g = Gguf::from_bytes(bytes).unwrap();
    assert_eq!(g.alignment(), 64);
    assert_eq!(g.data_offset(), 192);
    assert_eq!(g.tensor("bb").unwrap().offset(), 64);
    assert_eq!(g.dequantize("a").unwrap(), vec![1.0, 2.0, 3.0]);

    // Any integer width is accepted for the alignment.
    let mut w = GgufWriter::new();
    w.add_metadata("general.alignment", Value::U64(16))
        .add_f32_tensor("a", &[1], &[5.0]);
    let g = Gguf::from_bytes(w.to_bytes().unwrap()).unwrap();
    assert_eq!(g.alignment(), 16);
    assert!(g.data_offset().is_multiple_of(16));
    assert_eq!(g.dequantize("a").unwrap(), vec![5.0]);
}

#[test]
fn invalid_alignment_is_rejected() {
    for (value, shown) in [
        (Value::U32(3), "u32 value 3"),
        (Value::U32(0), "u32 value 0"),
        (Value::String("32".into()), "string"),
    ] {
        let mut r = Raw::new();
        r.header(3, 0, 1).str("general.alignment");
        match value {
            Value::U32(v) => r.u32(4).u32(v),
            Value::String(s) => r.u32(8).str(&s),
            _ => unreachable!(),
        };
        let e = Gguf::from_bytes(r.finish()).unwrap_err();
        assert!(matches!(e, GgufError::InvalidAlignment { .. }), "{e}");
        assert!(e.to_string().contains(shown), "{e}");
    }
}

#[test]
fn not_a_gguf_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(
        dir.path(),
        "model.bin",
        b"GGML\x03\x00\x00\x00 and more bytes",
    );
    let e = Gguf::open(&path).unwrap_err();
    assert!(matches!(e, GgufError::BadMagic { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("not a GGUF file: magic 0x47 0x47 0x4d 0x4c"),
        "{msg}"
    );
    assert!(msg.contains(&path.display().to_string()), "{msg}");

    // Shorter than the magic: a prefix of "GGUF" is a truncation, anything else bad magic.
    assert!(matches!(open_bytes(b""), Err(GgufError::Truncated { .. })));
    assert!(matches!(
        open_bytes(b"GG"),
        Err(GgufError::Truncated { .. })
    ));
    assert!(matches!(open_bytes(b"PK"), Err(GgufError::BadMagic { .. })));
}

#[test]
fn unsupported_versions() {
    let good = two_tensor_raw().finish();
    for version in [1u32, 4, 0] {
        let mut bytes = good.clone();
        bytes[4..8].copy_from_slice(&version.to_le_bytes());
        let e = open_bytes(&bytes).unwrap_err();
        assert!(matches!(e, GgufError::UnsupportedVersion { version: v, .. } if v == version));
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("unsupported GGUF version {version}")),
            "{msg}"
        );
        assert!(
            msg.contains("expected 2 or 3") && msg.contains("t.gguf"),
            "{msg}"
        );
    }
    // A big-endian v3 file stores the version as 00 00 00 03.
    let mut bytes = good;
    bytes[4..8].copy_from_slice(&[0, 0, 0, 3]);
    let e = open_bytes(&bytes).unwrap_err();
    assert!(e.to_string().contains("big-endian"), "{e}");
}

/// One metadata entry and one F32 tensor. Layout worked out by hand:
/// 0..24 header; 24..32 key length; 32 "k"; 33..37 type; 37..45 string length; 45..50 "hello";
/// 50..58 name length; 58 "t"; 59..63 n_dims; 63..71 dim 0; 71..75 type; 75..83 offset;
/// padding to 96; data 96..112; padding to 128.
fn small_file() -> Vec<u8> {
    let mut w = GgufWriter::new();
    w.add_metadata("k", Value::String("hello".into()))
        .add_f32_tensor("t", &[4], &[1.0, 2.0, 3.0, 4.0]);
    w.to_bytes().unwrap()
}

#[test]
fn truncated_at_several_points() {
    let full = small_file();
    assert_eq!(full.len(), 128);
    let cases: &[(usize, u64, &str)] = &[
        (6, 4, "header version"),
        (12, 8, "header tensor_count"),
        (20, 16, "header metadata_kv_count"),
        (30, 24, "length of key of metadata entry 0"),
        (32, 32, "key of metadata entry 0"),
        (35, 33, "value type of metadata key `k`"),
        (40, 37, "length of string value of metadata key `k`"),
        (47, 45, "string value of metadata key `k`"),
        (55, 50, "length of name of tensor info 0"),
        (61, 59, "n_dims of tensor `t`"),
        (65, 63, "dim 0 of tensor `t`"),
        (73, 71, "ggml type of tensor `t`"),
        (80, 75, "data offset of tensor `t`"),
    ];
    for &(cut, offset, what) in cases {
        let e = open_bytes(&full[..cut]).unwrap_err();
        match &e {
            GgufError::Truncated {
                offset: o,
                what: w,
                available,
                ..
            } => {
                assert_eq!((*o, w.as_str()), (offset, what), "cut at {cut}: {e}");
                assert_eq!(*available, cut as u64 - offset, "cut at {cut}: {e}");
            }
            other => panic!("cut at {cut}: expected Truncated, got {other}"),
        }
        let msg = e.to_string();
        assert!(msg.contains("truncated") && msg.contains("t.gguf"), "{msg}");
        assert!(msg.contains(&format!("offset {offset}")), "{msg}");
    }
    // Cut inside the padding before the data, and inside the data.
    for cut in [90usize, 100, 111] {
        let e = open_bytes(&full[..cut]).unwrap_err();
        match &e {
            GgufError::TensorOutOfBounds {
                tensor,
                start,
                end,
                file_len,
                ..
            } => {
                assert_eq!(
                    (tensor.as_str(), *start, *end, *file_len),
                    ("t", 96, 112, cut as u64)
                );
            }
            other => panic!("cut at {cut}: expected TensorOutOfBounds, got {other}"),
        }
        assert!(e.to_string().contains("tensor data out of bounds"), "{e}");
    }
    // The trailing padding after the last tensor is optional.
    let g = Gguf::from_bytes(full[..112].to_vec()).unwrap();
    assert_eq!(g.dequantize("t").unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let full = small_file();
    for cut in 0..full.len() {
        let r = Gguf::from_bytes(full[..cut].to_vec());
        assert_eq!(r.is_ok(), cut >= 112, "cut at {cut}: {:?}", r.err());
    }
}

#[test]
fn absurd_counts_and_lengths() {
    let full = small_file();
    let patch = |at: usize, v: u64| {
        let mut b = full.clone();
        b[at..at + 8].copy_from_slice(&v.to_le_bytes());
        open_bytes(&b).unwrap_err()
    };
    let e = patch(8, 1 << 60);
    assert!(
        matches!(e, GgufError::AbsurdCount { count, offset: 8, .. } if count == 1 << 60),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("tensor_count") && msg.contains("1152921504606846976"),
        "{msg}"
    );
    assert!(msg.contains("128 bytes"), "{msg}");

    let e = patch(16, u64::MAX);
    assert!(
        matches!(e, GgufError::AbsurdCount { offset: 16, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("metadata_kv_count"), "{e}");

    let e = patch(24, 1 << 50);
    assert!(
        matches!(e, GgufError::AbsurdCount { offset: 24, .. }),
        "{e}"
    );
    assert!(
        e.to_string().contains("length of key of metadata entry 0"),
        "{e}"
    );

    let e = patch(37, u64::MAX);
    assert!(
        matches!(e, GgufError::AbsurdCount { offset: 37, .. }),
        "{e}"
    );

    let e = patch(50, 1 << 40);
    assert!(e.to_string().contains("name of tensor info 0"), "{e}");

    // An array of u64 whose count times 8 overflows.
    let mut r = Raw::new();
    r.header(3, 0, 1)
        .str("arr")
        .u32(9)
        .u32(10)
        .u64(1 << 61)
        .u64(0);
    let e = open_bytes(&r.finish()).unwrap_err();
    assert!(
        matches!(
            e,
            GgufError::AbsurdCount { count, .. } if count == 1 << 61
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("array length of metadata key `arr`"),
        "{e}"
    );

    // Plausible count, too few bytes: truncated at the first missing element.
    let mut r = Raw::new();
    r.header(3, 0, 1)
        .str("arr")
        .u32(9)
        .u32(4)
        .u64(10)
        .u32(1)
        .u32(2)
        .u32(3);
    // header 24, key 8+3, value type 4, element type 4, count 8: elements start at 51.
    let b = r.finish();
    assert_eq!(b.len(), 63);
    let e = open_bytes(&b).unwrap_err();
    assert!(matches!(e, GgufError::Truncated { offset: 63, .. }), "{e}");
}

#[test]
fn unknown_value_types_and_deep_nesting() {
    let mut r = Raw::new();
    r.header(3, 0, 1).str("weird").u32(13).u32(0);
    let e = open_bytes(&r.finish()).unwrap_err();
    assert!(
        matches!(
            e,
            GgufError::UnknownValueType {
                type_id: 13,
                offset: 37,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("`weird`"), "{e}");

    let mut r = Raw::new();
    r.header(3, 0, 1).str("arr").u32(9).u32(77).u64(0);
    let e = open_bytes(&r.finish()).unwrap_err();
    assert!(
        matches!(e, GgufError::UnknownValueType { type_id: 77, .. }),
        "{e}"
    );

    // 100 000 nested arrays: rejected at the depth limit, no stack overflow.
    let mut r = Raw::new();
    r.header(3, 0, 1).str("deep").u32(9);
    for _ in 0..100_000 {
        r.u32(9).u64(1);
    }
    r.u32(0).u64(0);
    let e = Gguf::from_bytes(r.finish()).unwrap_err();
    assert!(matches!(e, GgufError::ArrayTooDeep { .. }), "{e}");
    assert!(e.to_string().contains("`deep`"), "{e}");

    // Two levels are fine (see `metadata_of_every_value_type_reads_back`); eight too.
    let mut r = Raw::new();
    r.header(3, 0, 1).str("ok").u32(9);
    for _ in 0..7 {
        r.u32(9).u64(1);
    }
    r.u32(0).u64(1).u8(42);
    let g = Gguf::from_bytes(r.finish()).unwrap();
    let mut v = g.get("ok").unwrap();
    for _ in 0..8 {
        v = &v.as_array().unwrap()[0];
    }
    assert_eq!(v, &Value::U8(42));
}

#[test]
fn duplicate_keys_and_tensors() {
    let mut r = Raw::new();
    r.header(3, 0, 2)
        .str("k")
        .u32(4)
        .u32(1)
        .str("k")
        .u32(4)
        .u32(2);
    let e = open_bytes(&r.finish()).unwrap_err();
    assert!(
        matches!(e, GgufError::DuplicateKey { ref key, .. } if key == "k"),
        "{e}"
    );

    let mut r = Raw::new();
    r.header(3, 2, 0)
        .tensor_info("w", &[1], 0, 0)
        .tensor_info("w", &[1], 0, 32)
        .pad(32);
    r.bytes(&[0; 64]);
    let e = open_bytes(&r.finish()).unwrap_err();
    assert!(
        matches!(e, GgufError::DuplicateTensor { ref tensor, .. } if tensor == "w"),
        "{e}"
    );
}

#[test]
fn bad_tensor_shapes() {
    let one = |dims: &[u64], ty: u32, offset: u64| {
        let mut r = Raw::new();
        r.header(3, 1, 0)
            .tensor_info("w", dims, ty, offset)
            .pad(32)
            .bytes(&[0; 64]);
        open_bytes(&r.finish()).unwrap_err()
    };
    let e = one(&[1, 1, 1, 1, 1], 0, 0);
    assert!(matches!(e, GgufError::BadShape { .. }), "{e}");
    assert!(e.to_string().contains("n_dims is 5"), "{e}");

    let e = one(&[1 << 32, 1 << 32], 0, 0);
    assert!(e.to_string().contains("overflows"), "{e}");

    let e = one(&[16], 8, 0); // Q8_0 rows must be whole 32-element blocks
    assert!(
        e.to_string()
            .contains("not a multiple of the Q8_0 (id 8) block size 32"),
        "{e}"
    );

    let e = one(&[4], 0, 4);
    assert!(
        matches!(
            e,
            GgufError::MisalignedTensor {
                offset: 4,
                alignment: 32,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn out_of_bounds_data_offsets() {
    let full = small_file();
    for offset in [1u64 << 40, 32, u64::MAX - 31] {
        let mut b = full.clone();
        b[75..83].copy_from_slice(&offset.to_le_bytes());
        let e = open_bytes(&b).unwrap_err();
        assert!(
            matches!(e, GgufError::TensorOutOfBounds { ref tensor, .. } if tensor == "t"),
            "{e}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("tensor data out of bounds") && msg.contains("`t`"),
            "{msg}"
        );
    }
}

#[test]
fn unsupported_ggml_type_fails_only_when_dequantized() {
    let q4k: Vec<u8> = (0..288u32).map(|i| (i * 7) as u8).collect();
    let mut w = GgufWriter::new();
    w.add_tensor(
        "blk.0.ffn_up.weight",
        GgmlType::Q4_K,
        &[256, 2],
        q4k.clone(),
    )
    .add_f32_tensor("norm", &[2], &[0.5, -0.5]);
    let g = Gguf::from_bytes(w.to_bytes().unwrap()).unwrap();
    assert_eq!(g.tensors().len(), 2);
    let info = g.tensor("blk.0.ffn_up.weight").unwrap();
    assert_eq!(info.ggml_type(), GgmlType(12));
    assert_eq!(info.n_bytes(), Some(288)); // 2 blocks of 256 elements, 144 bytes each
    assert_eq!(g.tensor_bytes(info).unwrap(), q4k.as_slice());
    assert_eq!(g.dequantize("norm").unwrap(), vec![0.5, -0.5]);

    let e = g.dequantize("blk.0.ffn_up.weight").unwrap_err();
    assert!(matches!(e, GgufError::UnsupportedTensorType { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("`blk.0.ffn_up.weight`") && msg.contains("Q4_K (id 12)"),
        "{msg}"
    );
    let mut out = vec![0.0; 512];
    assert!(g.dequantize_into(info, &mut out).is_err());
}

#[test]
fn unknown_ggml_type_id() {
    let mut w = GgufWriter::new();
    w.add_tensor("mystery", GgmlType(99), &[4], vec![1u8; 7])
        .add_f32_tensor("after", &[1], &[2.5]);
    let g = Gguf::from_bytes(w.to_bytes().unwrap()).unwrap();
    let info = g.tensor("mystery").unwrap();
    assert_eq!(info.n_bytes(), None);
    let e = g.tensor_bytes(info).unwrap_err();
    assert!(
        matches!(e, GgufError::UnknownTensorType { type_id: 99, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("`mystery`"), "{e}");
    let e = g.dequantize("mystery").unwrap_err();
    assert!(e.to_string().contains("unknown (id 99)"), "{e}");
    assert_eq!(g.dequantize("after").unwrap(), vec![2.5]);
}

#[test]
fn lookup_and_output_errors() {
    let g = Gguf::from_bytes(small_file()).unwrap();
    let e = g.dequantize("nope").unwrap_err();
    assert!(matches!(e, GgufError::TensorNotFound { .. }), "{e}");
    assert!(e.to_string().contains("`nope`"), "{e}");
    let mut out = vec![0.0; 3];
    let e = g
        .dequantize_into(g.tensor("t").unwrap(), &mut out)
        .unwrap_err();
    assert!(
        matches!(
            e,
            GgufError::OutputLength {
                expected: 4,
                got: 3,
                ..
            }
        ),
        "{e}"
    );

    let e = Gguf::open("/definitely/not/here.gguf").unwrap_err();
    assert!(matches!(e, GgufError::Io { .. }), "{e}");
    assert!(e.to_string().contains("/definitely/not/here.gguf"), "{e}");
}

#[test]
fn writer_rejects_invalid_files() {
    let reason = |w: &GgufWriter| match w.to_bytes() {
        Err(GgufError::Writer { reason, .. }) => reason,
        other => panic!("expected a writer error, got {other:?}"),
    };
    let mut w = GgufWriter::new();
    w.set_version(1);
    assert!(reason(&w).contains("version 1"));

    let mut w = GgufWriter::new();
    w.add_metadata(
        "m",
        Value::Array(ValueType::U32, vec![Value::U32(1), Value::I32(2)]),
    );
    assert!(reason(&w).contains("element 1"));

    let mut w = GgufWriter::new();
    w.add_tensor("q", GgmlType::Q8_0, &[32], vec![0u8; 33]);
    assert!(reason(&w).contains("needs 34 bytes, got 33"));

    let mut w = GgufWriter::new();
    w.add_f32_tensor("d", &[1], &[1.0])
        .add_f32_tensor("d", &[1], &[1.0]);
    assert!(reason(&w).contains("duplicate"));

    let mut w = GgufWriter::new();
    w.set_alignment(24);
    assert!(reason(&w).contains("power of two"));

    // Replacing a key keeps one entry.
    let mut w = GgufWriter::new();
    w.add_metadata("k", Value::U8(1))
        .add_metadata("k", Value::U8(2));
    let g = Gguf::from_bytes(w.to_bytes().unwrap()).unwrap();
    assert_eq!(g.metadata(), &[("k".to_string(), Value::U8(2))]);
}

/// Deterministic byte corruption of a valid file: every outcome must be a value, never a panic,
/// and whatever opens must dequantize (or refuse to) without panicking.
#[test]
fn corrupted_files_never_panic() {
    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", Value::String("llama".into()))
        .add_metadata(
            "tokens",
            Value::Array(
                ValueType::String,
                vec![Value::String("a".into()), Value::String("bc".into())],
            ),
        )
        .add_metadata("n", Value::U32(3))
        .add_f32_tensor("f", &[2, 2], &[1.0, 2.0, 3.0, 4.0])
        .add_tensor("q", GgmlType::Q8_0, &[32], vec![1u8; 34])
        .add_tensor("h", GgmlType::Q4_1, &[32, 2], vec![0x11u8; 40]);
    let good = w.to_bytes().unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut opened = 0;
    for _ in 0..3000 {
        let mut b = good.clone();
        for _ in 0..1 + next() % 3 {
            let at = (next() % b.len() as u64) as usize;
            b[at] = match next() % 4 {
                0 => 0xFF,
                1 => 0,
                _ => next() as u8,
            };
        }
        if next().is_multiple_of(4) {
            let cut = (next() % b.len() as u64) as usize;
            b.truncate(cut);
        }
        if let Ok(g) = Gguf::from_bytes(b) {
            opened += 1;
            for t in g.tensors() {
                let _ = g.dequantize(t.name());
                let _ = g.tensor_bytes(t);
            }
        }
    }
    assert!(
        opened > 0,
        "some corruptions (e.g. in tensor data) must still open"
    );
}
