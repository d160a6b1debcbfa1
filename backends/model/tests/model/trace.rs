//! Layer traces on a synthetic model on burn-flex: tracing changes nothing the routes compute,
//! has the documented shape, and an f32 trace is close to an f64 one at every point.

use burn_flex::{Flex, FlexDevice};
use burn_tensor::{DType, Tensor};
use driftbench_core::route::Route;
use driftbench_core::trace::{compare_traces, point_names};
use driftbench_core::{rng::prompt_tokens, Dtype, KvLayout, Session, SyntheticModel};
use driftbench_model::{synthetic, BurnSession, LinearMode, Precision};

const LAYERS: usize = 2;
const HIDDEN: usize = 64;
const VOCAB: usize = 97;

fn tiny() -> SyntheticModel {
    SyntheticModel {
        layers: LAYERS,
        hidden: HIDDEN,
        heads: 4,
        kv_heads: 2,
        ffn: 128,
        vocab: VOCAB,
        rope_base: 10000.0,
        norm_eps: 1e-5,
        weight_seed: 7,
    }
}

fn session(dtype: Dtype) -> BurnSession<Flex> {
    let host = synthetic::build(&tiny()).expect("synthetic weights");
    let prec = Precision {
        dtype,
        linear: LinearMode::WidenBf16,
    };
    BurnSession::<Flex>::from_host(&host, prec, &FlexDevice, "cpu")
}

/// Bit patterns of a tensor widened to f32 (exact for every compute dtype but f64, whose
/// values are compared as rounded by the same cast on both sides).
fn bits<const D: usize>(t: Tensor<Flex, D>) -> Vec<u32> {
    let data = t.cast(DType::F32).into_data();
    data.as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn traced_routes_compute_the_same_logits_bitwise() {
    let tokens = prompt_tokens(5, 13, VOCAB);
    for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
        let s = session(dtype);
        let m = s.model();
        let (logits, states) = m.prefill_traced(&tokens);
        assert_eq!(bits(logits), bits(m.prefill(&tokens)), "{dtype} prefill");
        assert_eq!(states.dims(), [2 * LAYERS + 2, tokens.len(), HIDDEN]);
        for layout in [KvLayout::Aligned, KvLayout::Padded { block: 8 }] {
            let (logits, states) = m.decode_traced(&tokens, layout);
            assert_eq!(
                bits(logits),
                bits(m.decode(&tokens, layout)),
                "{dtype} decode {layout:?}"
            );
            assert_eq!(states.dims(), [2 * LAYERS + 2, tokens.len(), HIDDEN]);
        }
    }
}

#[test]
fn session_trace_has_every_point_and_position() {
    let tokens = prompt_tokens(1, 9, VOCAB);
    let mut s = session(Dtype::F32);
    for route in [Route::Prefill, Route::Decode] {
        let t = s.trace(route, &tokens, KvLayout::Aligned).unwrap();
        t.check().unwrap();
        assert_eq!(t.points, point_names(LAYERS));
        assert_eq!(t.points.len(), 2 * LAYERS + 2);
        assert_eq!((t.positions, t.hidden), (tokens.len(), HIDDEN));
        assert!(t.data.iter().all(|v| v.is_finite()), "{route:?}");
        // Not degenerate: the residual stream changes from layer to layer.
        assert_ne!(t.point(0), t.point(1));
    }
    // The last point of a route is the final norm of its last position, which decode reaches
    // through the cache: both routes must agree there in f32.
    let p = s.trace(Route::Prefill, &tokens, KvLayout::Aligned).unwrap();
    let d = s
        .trace(Route::Decode, &tokens, KvLayout::Padded { block: 4 })
        .unwrap();
    let e = compare_traces(&d, &p).unwrap();
    assert!(e.iter().all(|e| e.max_abs < 1e-4), "{e:?}");
    let err = s.trace(Route::Prefill, &[], KvLayout::Aligned).unwrap_err();
    assert!(err.to_string().contains("empty prompt"), "{err}");
}

#[test]
fn f32_trace_is_close_to_f64_at_every_point() {
    let tokens = prompt_tokens(3, 17, VOCAB);
    let mut f32s = session(Dtype::F32);
    let mut f64s = session(Dtype::F64);
    for route in [Route::Prefill, Route::Decode] {
        let c = f32s.trace(route, &tokens, KvLayout::Aligned).unwrap();
        let r = f64s.trace(route, &tokens, KvLayout::Aligned).unwrap();
        for e in compare_traces(&c, &r).unwrap() {
            assert!(e.all_finite(), "{route:?} {e:?}");
            assert!(e.max_abs < 1e-4, "{route:?} {e:?}");
            assert!(e.reference_max > 0.0, "{route:?} {e:?}");
        }
    }
}
