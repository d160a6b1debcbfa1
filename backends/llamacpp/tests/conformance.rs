//! The plugin conformance kit on llama.cpp, in process, on SmolLM2 (Q4_1): the probe, prefill
//! against decode in the layouts the probe allows (kv_aligned=1 is ruled out: skipped), every
//! logit written, unknown options refused by name, and the layer trace's shape.

mod common;

use driftbench_backend_llamacpp::LlamaCppBackend;
use driftbench_conformance::{Check, Kit, Tolerance};
use driftbench_core::{Dtype, ModelSpec};

#[test]
fn llamacpp_passes_the_conformance_kit_on_smollm2() {
    let model = common::smollm2();
    // llama.cpp's own prefill/decode drift: with flash attention (its default on the CPU) the
    // routes agree bit for bit; without it they drift by up to 1.3 at spans 32-512 (max_abs,
    // top-1 0.9 and above). The kit's span is 11: allow that drift and one top-1 flip.
    let drift = Tolerance::new(1.5, 0.9);
    let kit = Kit::with_model(ModelSpec::Gguf { path: model })
        .dtype(Dtype::F32, drift)
        .dtype(Dtype::F16, drift)
        .dtype(Dtype::Bf16, drift);
    let report = driftbench_conformance::run(&mut LlamaCppBackend::default(), &kit).unwrap();
    println!("{report}");
    let agreement = report.of(Check::Agreement);
    assert_eq!(
        agreement.passed.len(),
        3,
        "one padded layout per dtype:\n{report}"
    );
    assert_eq!(
        agreement.skipped.len(),
        3,
        "kv_aligned=1 per dtype:\n{report}"
    );
    assert!(
        !report.of(Check::Trace).passed.is_empty(),
        "the trace was checked:\n{report}"
    );
}
