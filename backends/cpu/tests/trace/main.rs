//! Layer traces on the cpu backend, on a seeded synthetic model: tracing changes nothing the
//! routes compute (bitwise, in every dtype), a trace has the documented points and shape, and
//! each point holds the state the point's name says (recomputed in f64 from the weights).

mod bitwise;
mod points;
mod reference;
mod shape;

use driftbench_backend_cpu::CpuBackend;
use driftbench_core::route::Route;
use driftbench_core::trace::LayerTrace;
use driftbench_core::{Backend, Dtype, KvLayout, ModelSpec, SyntheticModel};

const LAYERS: usize = 2;
const HIDDEN: usize = 64;
const VOCAB: usize = 300;
const DTYPES: [Dtype; 4] = [Dtype::F32, Dtype::F16, Dtype::Bf16, Dtype::F64];

fn spec() -> SyntheticModel {
    SyntheticModel {
        layers: LAYERS,
        hidden: HIDDEN,
        heads: 4,
        kv_heads: 2,
        ffn: 160,
        vocab: VOCAB,
        rope_base: 10000.0,
        norm_eps: 1e-5,
        weight_seed: 11,
    }
}

/// Every route: prefill, and decode through both cache layouts (a block that does not
/// divide the spans used, so the padded cache has masked slots at its end).
fn routes() -> [(Route, KvLayout); 3] {
    [
        (Route::Prefill, KvLayout::Aligned),
        (Route::Decode, KvLayout::Aligned),
        (Route::Decode, KvLayout::Padded { block: 7 }),
    ]
}

/// The trace of `route` from a fresh session of the backend in `dtype`.
fn session_trace(dtype: Dtype, route: Route, tokens: &[u32], layout: KvLayout) -> LayerTrace {
    let mut s = CpuBackend
        .open(&ModelSpec::Synthetic(spec()), dtype)
        .unwrap();
    s.trace(route, tokens, layout).unwrap()
}
