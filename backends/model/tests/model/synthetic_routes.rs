//! Prefill vs decode on a synthetic model on burn-flex.

use burn_flex::{Flex, FlexDevice};
use driftbench_core::{metrics, KvLayout, Session, SyntheticModel};
use driftbench_core::{rng::prompt_tokens, Dtype};
use driftbench_model::{synthetic, BurnSession, LinearMode, Precision};

fn tiny() -> SyntheticModel {
    SyntheticModel {
        layers: 2,
        hidden: 64,
        heads: 4,
        kv_heads: 2,
        ffn: 128,
        vocab: 97,
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

fn run(s: &mut BurnSession<Flex>, tokens: &[u32], layout: Option<KvLayout>) -> Vec<f32> {
    let mut out = vec![0f32; tokens.len() * 97];
    match layout {
        None => s.prefill(tokens, &mut out).unwrap(),
        Some(l) => s.decode(tokens, l, &mut out).unwrap(),
    }
    out
}

#[test]
fn f32_prefill_matches_decode_aligned_and_padded() {
    let mut s = session(Dtype::F32);
    let tokens = prompt_tokens(3, 37, 97);
    let p = run(&mut s, &tokens, None);
    assert!(p.iter().all(|v| v.is_finite()));
    // Logits must not be degenerate (a constant output would trivially "match").
    let spread =
        p.iter().cloned().fold(f32::MIN, f32::max) - p.iter().cloned().fold(f32::MAX, f32::min);
    assert!(spread > 1.0, "logit spread {spread}");
    for layout in [KvLayout::Aligned, KvLayout::Padded { block: 16 }] {
        let d = run(&mut s, &tokens, Some(layout));
        let m = metrics::compare(&p, &d, 97);
        eprintln!("{layout:?}: {m:?}");
        assert!(m.max_abs_diff < 1e-4, "{layout:?}: {m:?}");
        assert_eq!(m.top1_agreement, 1.0, "{layout:?}");
    }
}

#[test]
fn decode_of_one_token_equals_prefill_of_it() {
    for dtype in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
        let mut s = session(dtype);
        let tokens = [42u32];
        let p = run(&mut s, &tokens, None);
        let d = run(&mut s, &tokens, Some(KvLayout::Aligned));
        let m = metrics::compare(&p, &d, 97);
        eprintln!("{dtype}: {m:?}");
        assert!(m.all_finite());
        assert_eq!(m.top1_agreement, 1.0, "{dtype}");
        assert!(m.max_abs_diff <= 1e-6, "{dtype}: {m:?}");
    }
}

#[test]
fn half_precisions_stay_close_to_f32() {
    let tokens = prompt_tokens(1, 24, 97);
    let reference = run(&mut session(Dtype::F32), &tokens, None);
    for (dtype, tol) in [(Dtype::F16, 0.05), (Dtype::Bf16, 0.3)] {
        let mut s = session(dtype);
        let p = run(&mut s, &tokens, None);
        let m = metrics::compare(&reference, &p, 97);
        eprintln!("{dtype} vs f32: {m:?}");
        assert!(m.all_finite() && m.max_abs_diff < tol, "{dtype}: {m:?}");
        for layout in [KvLayout::Aligned, KvLayout::Padded { block: 16 }] {
            let d = run(&mut s, &tokens, Some(layout));
            let m = metrics::compare(&p, &d, 97);
            eprintln!("{dtype} {layout:?}: {m:?}");
            assert!(m.all_finite(), "{dtype}");
        }
    }
}
