//! ABI v1.4's f64 logits through the built plugins: the cpu and flex plugins and the test
//! plugin hand an f64 session's logits over as f64; a v1.3 table, and a v1.4 session that
//! does not say it computes f64 logits, still load and hand them over as f32 (widened).

use driftbench_core::unwritten::{find64, UNWRITTEN64};
use driftbench_core::{Backend, Dtype, KvLayout, ModelSpec, Session, SyntheticModel};
use driftbench_plugin_host::{LoadedPlugin, PluginBackend};
use std::path::PathBuf;

fn library(stem: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let p = dir.join(format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(
        p.is_file(),
        "{} not built: run `cargo build --workspace` before the tests (scripts/test.sh does)",
        p.display()
    );
    p
}

fn model() -> ModelSpec {
    ModelSpec::Synthetic(SyntheticModel {
        layers: 2,
        hidden: 32,
        heads: 4,
        kv_heads: 2,
        ffn: 64,
        vocab: 97,
        rope_base: 10000.0,
        norm_eps: 1e-5,
        weight_seed: 5,
    })
}

/// Both f64 routes of `s` on `tokens` (aligned cache), each buffer filled with the f64
/// sentinel first, as the host does.
fn routes64(s: &mut dyn Session, tokens: &[u32]) -> (Vec<f64>, Vec<f64>) {
    let n = tokens.len() * s.info().vocab;
    let (mut p, mut d) = (vec![UNWRITTEN64; n], vec![UNWRITTEN64; n]);
    s.prefill_f64(tokens, &mut p).unwrap();
    s.decode_f64(tokens, KvLayout::Aligned, &mut d).unwrap();
    assert_eq!(find64(&p), None);
    assert_eq!(find64(&d), None);
    (p, d)
}

/// Values of `v` that no f32 holds: f64 precision that crossed the ABI.
fn beyond_f32(v: &[f64]) -> usize {
    v.iter().filter(|x| f64::from(**x as f32) != **x).count()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// cpu and flex in f64: the logits cross as f64, and the two routes agree to f64 precision,
/// and so do the two backends: both compute in f64 throughout, RMSNorm statistics and the
/// softmax included. (Through ABI v1.3 they crossed as f32: every value was an f32, and the
/// routes sat up to an f32 ulp apart where their f64 values straddled a rounding boundary;
/// and flex's f64 kept f32 statistics, 1e-5 from cpu's on SmolLM2.)
#[test]
fn cpu_and_flex_hand_f64_logits_over_as_f64() {
    let tokens: Vec<u32> = (0..24).map(|i| (i * 7 + 3) % 97).collect();
    let mut prefills = Vec::new();
    for stem in ["driftbench_backend_cpu", "driftbench_backend_flex"] {
        let plugin = LoadedPlugin::load(&library(stem)).unwrap();
        assert_eq!(plugin.abi, "1.4");
        let backend = PluginBackend::new(plugin);
        let mut s = backend.open(&model(), Dtype::F64).unwrap();
        assert!(
            s.logits_f64(),
            "{stem}: an f64 session says it hands over f64"
        );
        let (p, d) = routes64(s.as_mut(), &tokens);
        assert!(
            beyond_f32(&p) > p.len() / 2,
            "{stem}: prefill logits are f32 values"
        );
        assert!(
            beyond_f32(&d) > d.len() / 2,
            "{stem}: decode logits are f32 values"
        );
        let diff = max_diff(&p, &d);
        assert!(diff < 1e-10, "{stem}: f64 routes {diff} apart");
        // The f32 routes of the same session are those values rounded.
        let mut p32 = vec![0f32; p.len()];
        s.prefill(&tokens, &mut p32).unwrap();
        assert!(p32.iter().zip(&p).all(|(a, b)| *a == *b as f32), "{stem}");
        // An f32 session keeps f32 logits.
        let s32 = backend.open(&model(), Dtype::F32).unwrap();
        assert!(!s32.logits_f64(), "{stem}");
        prefills.push(p);
    }
    let across = max_diff(&prefills[0], &prefills[1]);
    assert!(across < 1e-10, "cpu f64 vs flex f64: {across}");
}

/// The test plugin's f64 model straddles f32 rounding boundaries: through its v1.4 table the
/// routes are 2e-13 apart; an unwritten f64 logit is still caught.
#[test]
fn the_test_plugin_hands_over_f64_through_v1_4() {
    let _mode = crate::test_plugin_mode("ok");
    let plugin = LoadedPlugin::load(&library("driftbench_test_plugin")).unwrap();
    assert_eq!(plugin.abi, "1.4");
    let mut s = PluginBackend::new(plugin)
        .open(&model(), Dtype::F64)
        .unwrap();
    assert!(s.logits_f64());
    let (p, d) = routes64(s.as_mut(), &[1, 2, 3, 4]);
    let diff = max_diff(&p, &d);
    assert!(diff > 1e-13 && diff < 1e-12, "{diff}");
    drop(_mode);
    let _mode = crate::test_plugin_mode("unwritten-decode");
    let mut out = vec![UNWRITTEN64; 2 * s.info().vocab];
    s.decode_f64(&[1, 2], KvLayout::Aligned, &mut out).unwrap();
    assert_eq!(find64(&out).map(|u| u.count), Some(out.len()));
}

/// A v1.3 table loads in a v1.4 host; its f64 routes are its f32 routes widened (f32
/// transport): every value an f32, the routes one f32 ulp apart. So is a v1.4 session that
/// does not say it hands over f64 logits.
#[test]
fn a_v1_3_table_and_a_session_without_f64_routes_hand_over_f32() {
    for (mode, abi) in [("v1.3", "1.3"), ("f32-logits", "1.4")] {
        let _mode = crate::test_plugin_mode(mode);
        let plugin = LoadedPlugin::load(&library("driftbench_test_plugin"))
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
        assert_eq!(plugin.abi, abi);
        let mut s = PluginBackend::new(plugin)
            .open(&model(), Dtype::F64)
            .unwrap();
        assert!(!s.logits_f64(), "{mode}");
        let (p, d) = routes64(s.as_mut(), &[1, 2, 3, 4]);
        assert_eq!(beyond_f32(&p) + beyond_f32(&d), 0, "{mode}");
        let diff = max_diff(&p, &d);
        // One f32 ulp at logits below 10: at most 2^-20.
        assert!(diff > 1e-8 && diff <= 2f64.powi(-20), "{mode}: {diff}");
        // An unwritten f32 logit becomes the f64 sentinel.
        drop(_mode);
        let _mode = crate::test_plugin_mode("unwritten-decode");
        let mut out = vec![0f64; 2 * s.info().vocab];
        s.decode_f64(&[1, 2], KvLayout::Aligned, &mut out).unwrap();
        assert_eq!(find64(&out).map(|u| u.count), Some(out.len()), "{mode}");
    }
}
