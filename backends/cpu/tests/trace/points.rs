//! Each trace point holds the state its name says, in every route and dtype.

use crate::reference::{assert_close, attn_block_first, mlp_block, rms_norm};
use crate::{routes, session_trace, DTYPES, HIDDEN, LAYERS, VOCAB};
use driftbench_core::route::Route;
use driftbench_core::trace::{compare_traces, LayerTrace};
use driftbench_core::{rng::prompt_tokens, Dtype, KvLayout};
use driftbench_model::synthetic;

/// The embed point of both routes is the embedding row of each token, in the dtype.
#[test]
fn embed_point_is_the_embedding_rows() {
    let host = synthetic::build(&crate::spec()).unwrap();
    let tokens = prompt_tokens(3, 11, VOCAB);
    for dtype in DTYPES {
        let in_dtype = |v: f32| match dtype {
            Dtype::F16 => half::f16::from_f32(v).to_f32(),
            Dtype::Bf16 => half::bf16::from_f32(v).to_f32(),
            // f32 as it is; f64 widens the f32 weights exactly and is rounded back exactly.
            _ => v,
        };
        let want: Vec<u32> = tokens
            .iter()
            .flat_map(|&t| &host.embed[t as usize * HIDDEN..(t as usize + 1) * HIDDEN])
            .map(|&v| in_dtype(v).to_bits())
            .collect();
        for (route, layout) in routes() {
            let t = session_trace(dtype, route, &tokens, layout);
            let got: Vec<u32> = t.point(0).iter().map(|v| v.to_bits()).collect();
            assert_eq!(got, want, "{dtype} {route:?} {layout:?}");
        }
    }
}

/// Every `L{i}.mlp` point is its `L{i}.attn` point plus the MLP block, `final_norm` is the
/// RMSNorm of the last `L{i}.mlp`, and at position 0 (where attention is the values alone)
/// every `L{i}.attn` is the point before it plus the attention block; recomputed in f64
/// from each point the trace holds. A point captured at the wrong place (before a residual
/// add, the norm's input for its output, two points swapped) fails.
#[test]
fn each_point_is_its_block_applied_to_the_point_before() {
    let host = synthetic::build(&crate::spec()).unwrap();
    let (a, eps) = (&host.arch, host.arch.norm_eps);
    let tokens = prompt_tokens(4, 10, VOCAB);
    // f32 kernels against f64: a few f32 roundings of the largest value.
    let rel = 1e-5;
    for dtype in [Dtype::F32, Dtype::F64] {
        for (route, layout) in routes() {
            let t = session_trace(dtype, route, &tokens, layout);
            for pos in 0..tokens.len() {
                let row = |p: usize| &t.point(p)[pos * HIDDEN..(pos + 1) * HIDDEN];
                let wide = |p: usize| row(p).iter().map(|&v| f64::from(v)).collect::<Vec<_>>();
                let what =
                    |p: usize| format!("{dtype} {route:?} {layout:?} {} @{pos}", t.points[p]);
                for (i, l) in host.layers.iter().enumerate() {
                    let (attn, mlp) = (1 + 2 * i, 2 + 2 * i);
                    if pos == 0 {
                        let want = attn_block_first(a, l, &wide(attn - 1));
                        assert_close(row(attn), &want, rel, &what(attn));
                    }
                    assert_close(row(mlp), &mlp_block(l, eps, &wide(attn)), rel, &what(mlp));
                }
                let last = 2 * LAYERS + 1;
                let want = rms_norm(&wide(last - 1), &host.final_norm, eps);
                assert_close(row(last), &want, rel, &what(last));
            }
        }
    }
}

/// The padded cache adds exact zeros for its masked slots, so its decode trace is the
/// aligned one bitwise; prefill against decode, and f32 against f64, differ only by
/// summation order and rounding, at every point.
#[test]
fn traces_agree_across_layouts_routes_and_dtypes() {
    let tokens = prompt_tokens(9, 24, VOCAB);
    let f32_trace = |route, layout| session_trace(Dtype::F32, route, &tokens, layout);
    let aligned = f32_trace(Route::Decode, KvLayout::Aligned);
    let padded = f32_trace(Route::Decode, KvLayout::Padded { block: 7 });
    let bits = |t: &LayerTrace| t.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&aligned), bits(&padded));
    let prefill = f32_trace(Route::Prefill, KvLayout::Aligned);
    let f64_prefill = session_trace(Dtype::F64, Route::Prefill, &tokens, KvLayout::Aligned);
    let f64_decode = session_trace(Dtype::F64, Route::Decode, &tokens, KvLayout::Aligned);
    for (what, c, r) in [
        ("f32 prefill vs f64", &prefill, &f64_prefill),
        ("f32 decode vs f64", &aligned, &f64_decode),
        ("f32 decode vs prefill", &aligned, &prefill),
    ] {
        for e in compare_traces(c, r).unwrap() {
            assert!(e.all_finite(), "{what}: {e:?}");
            assert!(e.reference_max > 0.0, "{what}: {e:?}");
            assert!(e.relative.unwrap() < 1e-5, "{what}: {e:?}");
        }
    }
}
