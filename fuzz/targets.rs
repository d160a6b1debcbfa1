//! The "one input" functions of the fuzz targets, shared by the cargo-fuzz binaries
//! (`fuzz/fuzz_targets/*.rs`) and the stable replay harness (`plugins/host/tests/fuzz_replay.rs`),
//! both of which include this file with `#[path]`.
//!
//! Each function must return normally on any input: errors are the expected outcome of garbage,
//! a panic (or an abort, or an allocation driven by an untrusted length) is a bug.

// Each fuzz binary uses one of the functions.
#![allow(dead_code)]

use std::path::Path;

use driftbench_core::config::SweepConfig;
use driftbench_gguf::{Gguf, Value};
use driftbench_plugin_host::worker::protocol::{
    decode_reply, decode_request, read_frame, write_json, MAX_MESSAGE,
};

/// The names of the targets, as the folders under `fuzz/corpus/` and `fuzz/regressions/`.
pub const TARGETS: [&str; 3] = ["gguf", "config", "protocol"];

/// The one-input function of target `name`.
pub fn by_name(name: &str) -> fn(&[u8]) {
    match name {
        "gguf" => gguf,
        "config" => config,
        "protocol" => protocol,
        other => panic!("no fuzz target named `{other}`"),
    }
}

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

/// The sweep config loader on arbitrary text (bytes decoded as lossy UTF-8).
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match SweepConfig::parse(&text, Path::new("fuzz.toml")) {
        Ok(config) => {
            let _ = format!("{config:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// The worker protocol decoder on an arbitrary byte stream: read frames (bounded by
/// [`MAX_MESSAGE`]) until the stream ends or is refused, decode each frame both as a reply and
/// as a request, and encode again whatever decoded.
pub fn protocol(data: &[u8]) {
    let mut reader = data;
    while let Ok(Some(frame)) = read_frame(&mut reader, MAX_MESSAGE) {
        if let Ok(reply) = decode_reply(&frame) {
            let _ = write_json(&mut Vec::new(), &reply);
        }
        if let Ok(request) = decode_request(&frame) {
            let _ = write_json(&mut Vec::new(), &request);
        }
    }
}
