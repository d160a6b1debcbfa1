//! The cpu backend against burn-flex running the shared burn model, on a synthetic model:
//! same architecture, weights and prompt, independent kernels.

use burn_flex::{Flex, FlexDevice};
use driftbench_backend_cpu::{CpuBackend, CpuModel};
use driftbench_core::rng::prompt_tokens;
use driftbench_core::{Backend, Dtype, KvLayout, ModelSpec, Session, SyntheticModel};
use driftbench_model::{synthetic, BurnSession, Precision};

fn spec() -> SyntheticModel {
    SyntheticModel {
        layers: 2,
        hidden: 64,
        heads: 4,
        kv_heads: 2,
        ffn: 160,
        vocab: 300,
        rope_base: 10000.0,
        norm_eps: 1e-5,
        weight_seed: 3,
    }
}

const SPAN: usize = 40;

fn cpu_logits(dtype: Dtype, layout: Option<KvLayout>) -> Vec<f32> {
    let host = synthetic::build(&spec()).unwrap();
    let vocab = host.arch.vocab;
    let model = CpuModel::new(host, dtype);
    let tokens = prompt_tokens(7, SPAN, vocab);
    let mut out = vec![0f32; SPAN * vocab];
    match layout {
        None => model.prefill(&tokens, &mut out),
        Some(l) => model.decode(&tokens, l, &mut out, |_| {}),
    }
    out
}

fn flex_logits(dtype: Dtype, layout: Option<KvLayout>) -> Vec<f32> {
    let host = synthetic::build(&spec()).unwrap();
    let vocab = host.arch.vocab;
    let mut s = BurnSession::<Flex>::from_host(&host, Precision::native(dtype), &FlexDevice, "cpu");
    let tokens = prompt_tokens(7, SPAN, vocab);
    let mut out = vec![0f32; SPAN * vocab];
    match layout {
        None => s.prefill(&tokens, &mut out).unwrap(),
        Some(l) => s.decode(&tokens, l, &mut out).unwrap(),
    }
    out
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn max_mag(a: &[f32]) -> f32 {
    a.iter().map(|x| x.abs()).fold(0.0, f32::max)
}

/// f32: both routes agree with burn-flex to f32 rounding. The kernels sum in different
/// orders (gemm blocking, 32-lane dot products), so agreement is to a few ulps of the
/// largest logit, not bitwise: 1e-5 relative to the largest logit is ~100 ulps of headroom
/// over two layers.
#[test]
fn f32_routes_match_burn_flex() {
    for layout in [
        None,
        Some(KvLayout::Aligned),
        Some(KvLayout::Padded { block: 16 }),
    ] {
        let cpu = cpu_logits(Dtype::F32, layout);
        let flex = flex_logits(Dtype::F32, layout);
        assert!(cpu.iter().all(|v| v.is_finite()));
        let tol = 1e-5 * max_mag(&flex);
        let d = max_abs(&cpu, &flex);
        assert!(d <= tol, "{layout:?}: max_abs {d} > {tol}");
    }
}

/// f16 and bf16: each route stays within a few roundings of the f32 logits (the dtype's
/// relative precision, 2^-11 and 2^-8, times a margin of 16 for the ops compounding over
/// two layers), and the two routes agree with each other at least as well — the
/// accumulation is f32 on both routes.
#[test]
fn half_precision_routes_stay_near_f32() {
    let reference = cpu_logits(Dtype::F32, None);
    let scale = max_mag(&reference);
    for (dtype, eps) in [(Dtype::F16, 2f32.powi(-11)), (Dtype::Bf16, 2f32.powi(-8))] {
        let prefill = cpu_logits(dtype, None);
        let decode = cpu_logits(dtype, Some(KvLayout::Aligned));
        let tol = 16.0 * eps * scale;
        for (route, got) in [("prefill", &prefill), ("decode", &decode)] {
            let d = max_abs(got, &reference);
            assert!(d <= tol, "{dtype} {route}: max_abs vs f32 {d} > {tol}");
        }
        let pd = max_abs(&prefill, &decode);
        assert!(pd <= tol, "{dtype}: prefill vs decode {pd} > {tol}");
    }
}

/// In this backend a masked slot adds an exact zero in the same lane as the aligned
/// layout's sum, so the padded layout gives bitwise the aligned logits. If a change to the
/// reduction made them differ, the report's "kv_aligned=0 produced identical logits" would
/// change with it: this test says which.
#[test]
fn padded_layout_equals_aligned_bitwise() {
    for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
        let a = cpu_logits(dtype, Some(KvLayout::Aligned));
        let p = cpu_logits(dtype, Some(KvLayout::Padded { block: 16 }));
        assert!(
            a.iter().zip(&p).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{dtype}"
        );
    }
}

/// A NaN in the weights reaches the logits of both routes (it is data, never swallowed).
#[test]
fn nan_weights_surface_in_both_routes() {
    let mut host = synthetic::build(&spec()).unwrap();
    host.layers[0].w_up[5] = f32::NAN;
    let vocab = host.arch.vocab;
    let model = CpuModel::new(host, Dtype::F16);
    let tokens = prompt_tokens(7, 8, vocab);
    let mut out = vec![0f32; 8 * vocab];
    model.prefill(&tokens, &mut out);
    assert!(out.iter().any(|v| v.is_nan()), "prefill");
    model.decode(&tokens, KvLayout::Aligned, &mut out, |_| {});
    assert!(out.iter().any(|v| v.is_nan()), "decode");
}

/// f64: two independent f64 implementations agree to the f32 rounding of their logits
/// (each is exact to ~1e-13 relative; rounding to f32 can still differ by an ulp at ties).
#[test]
fn f64_routes_match_burn_flex_f64() {
    let b = CpuBackend;
    let model = ModelSpec::Synthetic(spec());
    let mut s = b.open(&model, Dtype::F64).unwrap();
    let vocab = s.info().vocab;
    let tokens = prompt_tokens(7, SPAN, vocab);
    for layout in [None, Some(KvLayout::Aligned)] {
        let mut out = vec![0f32; SPAN * vocab];
        match layout {
            None => s.prefill(&tokens, &mut out).unwrap(),
            Some(l) => s.decode(&tokens, l, &mut out).unwrap(),
        }
        let flex = flex_logits(Dtype::F64, layout);
        let tol = 2f32.powi(-22) * max_mag(&flex);
        let d = max_abs(&out, &flex);
        assert!(d <= tol, "{layout:?}: max_abs {d} > {tol}");
    }
}

/// The session refuses bad requests with the shared wording.
#[test]
fn session_refuses_bad_requests() {
    let b = CpuBackend;
    let model = ModelSpec::Synthetic(spec());
    let mut s = b.open(&model, Dtype::F32).unwrap();
    let vocab = s.info().vocab;
    let mut out = vec![0f32; 2 * vocab];
    let e = s.prefill(&[1, vocab as u32], &mut out).unwrap_err();
    assert!(e.to_string().contains("outside the vocabulary"), "{e}");
    let e = s
        .decode(&[1, 2], KvLayout::Padded { block: 0 }, &mut out)
        .unwrap_err();
    assert!(e.to_string().contains("block size"), "{e}");
    let e = s.prefill(&[1, 2], &mut out[..vocab]).unwrap_err();
    assert!(e.to_string().contains("output buffer"), "{e}");
    s.decode(&[1, 2], KvLayout::Aligned, &mut out).unwrap();
}

/// Decode reports one time per step, prefill none; both report the process's peak memory.
/// The cost counts weights at their stored width (2 bytes in bf16: no widened copy).
#[test]
fn profile_and_cost_describe_the_runs() {
    let b = CpuBackend;
    let mut s = b.open(&ModelSpec::Synthetic(spec()), Dtype::Bf16).unwrap();
    let vocab = s.info().vocab;
    let tokens = prompt_tokens(1, 12, vocab);
    let mut out = vec![0f32; 12 * vocab];
    s.decode(&tokens, KvLayout::Aligned, &mut out).unwrap();
    let p = s.last_profile();
    assert_eq!(p.step_s.len(), 12);
    assert!(p.step_s.iter().all(|t| t.is_finite() && *t >= 0.0));
    s.prefill(&tokens, &mut out).unwrap();
    let p = s.last_profile();
    assert!(p.step_s.is_empty());
    if cfg!(target_os = "linux") {
        assert!(p.peak_rss_bytes.unwrap_or(0) > 0);
    }
    let c = s.cost().unwrap();
    assert_eq!(c.weight_bytes, 2 * c.product_params);
    assert_eq!(c.weight_dtype, "bf16");
}
