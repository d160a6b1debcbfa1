//! The one-input function of the cargo-fuzz target `gguf`, shared by `fuzz/fuzz_targets/gguf.rs`
//! and the stable replay test of the crate it exercises (`gguf/tests/`), both of which include this file
//! with `#[path]`. It must return normally on any input: errors are the expected outcome of
//! garbage; a panic (or an abort, or an allocation driven by an untrusted length) is a bug.

use driftbench_gguf::{Gguf, Value};

/// The GGUF reader on arbitrary bytes: parse, then use every accessor on what parsed.
pub fn gguf(data: &[u8]) {
    let gguf = match Gguf::from_bytes(data.to_vec()) {
        Ok(gguf) => gguf,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = format!("{gguf:?}");
    let _ = (
        gguf.version(),
        gguf.alignment(),
        gguf.data_offset(),
        gguf.file_len(),
    );
    for (key, value) in gguf.metadata() {
        let _ = value.describe();
        let _ = (
            value.as_u32(),
            value.as_u64(),
            value.as_i64(),
            value.as_f32(),
        );
        let _ = gguf.get_u32(key).map_err(|e| e.to_string());
        let _ = gguf.get_f32(key).map_err(|e| e.to_string());
        let _ = gguf.get_str(key).map_err(|e| e.to_string());
        let _ = gguf.get_bool(key).map_err(|e| e.to_string());
        let _ = gguf.get_array_len(key).map_err(|e| e.to_string());
        let _ = gguf.get_str_array(key).map_err(|e| e.to_string());
        if let Value::Array(_, items) = value {
            let _ = items.iter().map(Value::describe).count();
        }
    }
    for info in gguf.tensors() {
        let _ = (info.shape(), info.n_bytes(), info.ggml_type().name());
        let _ = gguf.tensor_bytes(info).map_err(|e| e.to_string());
        let _ = gguf.dequantize(info.name()).map_err(|e| e.to_string());
    }
    let _ = gguf.dequantize("no such tensor").map_err(|e| e.to_string());
}
