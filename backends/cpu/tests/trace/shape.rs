//! What `Session::trace` returns, and what it refuses.

use crate::{routes, session_trace, spec, DTYPES, HIDDEN, LAYERS, VOCAB};
use driftbench_backend_cpu::CpuBackend;
use driftbench_core::route::Route;
use driftbench_core::trace::point_names;
use driftbench_core::{rng::prompt_tokens, Backend, Dtype, KvLayout, ModelSpec};

#[test]
fn session_trace_has_every_point_and_position() {
    let tokens = prompt_tokens(1, 9, VOCAB);
    for dtype in DTYPES {
        for (route, layout) in routes() {
            let what = format!("{dtype} {route:?} {layout:?}");
            let t = session_trace(dtype, route, &tokens, layout);
            t.check().unwrap();
            assert_eq!(t.points, point_names(LAYERS), "{what}");
            assert_eq!(t.points.len(), 2 * LAYERS + 2, "{what}");
            assert_eq!((t.positions, t.hidden), (tokens.len(), HIDDEN), "{what}");
            assert!(t.data.iter().all(|v| v.is_finite()), "{what}");
            // Every point was written, and each op changes the residual stream.
            for i in 1..t.points.len() {
                assert_ne!(t.point(i - 1), t.point(i), "{what}: point {i}");
            }
        }
    }
}

#[test]
fn session_trace_refuses_bad_requests() {
    let mut s = CpuBackend
        .open(&ModelSpec::Synthetic(spec()), Dtype::F32)
        .unwrap();
    let e = s.trace(Route::Prefill, &[], KvLayout::Aligned).unwrap_err();
    assert!(e.to_string().contains("empty prompt"), "{e}");
    let e = s
        .trace(Route::Decode, &[1, VOCAB as u32], KvLayout::Aligned)
        .unwrap_err();
    assert!(e.to_string().contains("outside the vocabulary"), "{e}");
    let bad = KvLayout::Padded { block: 0 };
    let e = s.trace(Route::Decode, &[1, 2], bad).unwrap_err();
    assert!(e.to_string().contains("block size"), "{e}");
    // Prefill has no cache: the layout is not its concern.
    s.trace(Route::Prefill, &[1, 2], bad).unwrap();
}
