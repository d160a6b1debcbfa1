//! The fuzz target `gguf` replayed on every test run (its corpus and regressions, then seeded
//! mutations: see `fuzz/replay.rs`), and its seed corpus checked current.

#[path = "../../../fuzz/replay.rs"]
mod replay;
#[path = "../../../fuzz/targets/gguf.rs"]
mod target;

#[test]
fn fuzz_gguf() {
    replay::fuzz("gguf", target::gguf);
}

/// The GGUF seeds of `fuzz/corpus/gguf/` are what this reader's writer makes.
#[test]
fn gguf_seed_corpus_is_current() {
    use driftbench_gguf::{GgmlType, GgufWriter, Value, ValueType};

    // GGUF: every metadata value type, every dequantizable tensor type, v2 and v3.
    let mut w = GgufWriter::new();
    w.add_metadata("general.architecture", Value::String("llama".into()))
        .add_metadata("llama.context_length", Value::U32(64))
        .add_metadata("llama.block_count", Value::U64(1))
        .add_metadata("llama.rope.freq_base", Value::F32(10000.0))
        .add_metadata("a.u8", Value::U8(1))
        .add_metadata("a.i8", Value::I8(-1))
        .add_metadata("a.u16", Value::U16(2))
        .add_metadata("a.i16", Value::I16(-2))
        .add_metadata("a.i32", Value::I32(-3))
        .add_metadata("a.bool", Value::Bool(true))
        .add_metadata("a.i64", Value::I64(-4))
        .add_metadata("a.f64", Value::F64(0.5))
        .add_metadata(
            "tokenizer.ggml.tokens",
            Value::Array(
                ValueType::String,
                vec![Value::String("<s>".into()), Value::String("a".into())],
            ),
        )
        .add_metadata(
            "a.nested",
            Value::Array(
                ValueType::Array,
                vec![Value::Array(ValueType::I32, vec![Value::I32(1)])],
            ),
        )
        .add_f32_tensor("f32", &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        .add_tensor("f16", GgmlType::F16, &[2], vec![0, 0x3C, 0, 0xC0])
        .add_tensor("bf16", GgmlType::BF16, &[2], vec![0x80, 0x3F, 0, 0])
        .add_tensor("q4_0", GgmlType::Q4_0, &[32], vec![0x11; 18])
        .add_tensor("q4_1", GgmlType::Q4_1, &[32], vec![0x22; 20])
        .add_tensor("q8_0", GgmlType::Q8_0, &[32, 1], vec![0x33; 34])
        .add_tensor("q4_k", GgmlType::Q4_K, &[256], vec![0x44; 144]);
    replay::check_seed("gguf", "all-types.gguf", &w.to_bytes().unwrap());

    let mut w = GgufWriter::new();
    w.set_version(2)
        .set_alignment(8)
        .add_f32_tensor("x", &[2], &[1.0, -1.0]);
    replay::check_seed("gguf", "v2-align8.gguf", &w.to_bytes().unwrap());

    replay::check_seed("gguf", "empty.gguf", &GgufWriter::new().to_bytes().unwrap());
}
