//! The one-input function of the cargo-fuzz target `protocol`, shared by `fuzz/fuzz_targets/protocol.rs`
//! and the stable replay test of the crate it exercises (`plugins/host/tests/`), both of which include this file
//! with `#[path]`. It must return normally on any input: errors are the expected outcome of
//! garbage; a panic (or an abort, or an allocation driven by an untrusted length) is a bug.

use driftbench_plugin_host::worker::protocol::{
    decode_reply, decode_request, read_frame, write_json, MAX_MESSAGE,
};

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
