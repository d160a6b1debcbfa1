//! What wrapping llama.cpp must not cost the worker model: no thread of llama.cpp outlives a
//! call (built without OpenMP, ggml makes and joins its threads inside each `llama_decode`),
//! and its log goes to stderr only (checked end to end in the CLI tests).
//!
//! A test binary of its own, with one test: another test running beside it would make and end
//! threads of its own and move the count.

mod common;

use driftbench_backend_llamacpp::LlamaCppBackend;
use driftbench_core::options::{BackendOptions, BackendSetup, OptionValue};
use driftbench_core::{Backend, Dtype, KvLayout, ModelSpec};

/// Threads of this process (Linux: entries of /proc/self/task).
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

#[test]
fn no_llama_cpp_thread_outlives_a_call() {
    let model = common::smollm2();
    let mut backend = LlamaCppBackend::default();
    // Two threads: each computation makes one more thread beside the caller's, which must be
    // gone when the call returns. (More threads than cores would only make ggml's spinning
    // barriers slow.)
    let options: BackendOptions = [("threads".to_string(), OptionValue::Int(2))].into();
    backend
        .configure(&BackendSetup {
            options,
            cache_dir: None,
        })
        .unwrap();
    let mut session = backend
        .open(&ModelSpec::Gguf { path: model }, Dtype::F16)
        .unwrap();
    let vocab = session.info().vocab;
    let before = threads();
    assert!(before > 0, "/proc/self/task is readable");
    let tokens = [1u32, 2, 3, 4, 5, 6, 7, 8];
    let mut out = vec![0f32; tokens.len() * vocab];
    session.prefill(&tokens, &mut out).unwrap();
    assert_eq!(threads(), before, "threads left after a prefill");
    session
        .decode(&tokens, KvLayout::Padded { block: 16 }, &mut out)
        .unwrap();
    assert_eq!(threads(), before, "threads left after a decode");
    drop(session);
    assert!(threads() <= before, "threads left after the session");
}
