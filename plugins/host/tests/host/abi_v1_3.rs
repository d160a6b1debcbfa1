//! ABI v1.3's run profile, model cost and peaks through the built plugins: the flex plugin
//! reports them, and a plugin with a v1.2 table still loads and runs, with no profile.

use driftbench_core::{Backend, BackendError, Dtype, KvLayout, ModelSpec, SyntheticModel};
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
        layers: 1,
        hidden: 16,
        heads: 2,
        kv_heads: 1,
        ffn: 32,
        vocab: 11,
        rope_base: 10000.0,
        norm_eps: 1e-5,
        weight_seed: 3,
    })
}

#[test]
fn the_flex_plugin_reports_steps_read_back_cost_and_peaks() {
    let plugin = LoadedPlugin::load(&library("driftbench_backend_flex")).unwrap();
    let backend = PluginBackend::new(plugin);
    let mut s = backend.open(&model(), Dtype::F32).unwrap();
    let tokens = [1u32, 2, 3, 4, 5];
    let mut out = vec![0f32; tokens.len() * s.info().vocab];
    s.decode(&tokens, KvLayout::Padded { block: 4 }, &mut out)
        .unwrap();
    let p = s.last_profile();
    assert_eq!(p.step_s.len(), tokens.len(), "{p:?}");
    assert!(p.step_s.iter().all(|t| t.is_finite() && *t > 0.0), "{p:?}");
    assert!(p.readback_s.is_some_and(|r| r >= 0.0));
    if cfg!(target_os = "linux") {
        assert!(p.peak_rss_bytes.is_some_and(|b| b > 0), "{p:?}");
    }
    s.prefill(&tokens, &mut out).unwrap();
    let p = s.last_profile();
    assert!(p.step_s.is_empty() && p.readback_s.is_some(), "{p:?}");
    let cost = s.cost().expect("a burn session says what its model costs");
    // 1 layer: Q, K, V, O (16×16, 16×8, 16×8, 16×16), gate, up, down (3 × 16×32), output
    // 11×16.
    assert_eq!(cost.product_params, 256 + 128 + 128 + 256 + 3 * 512 + 176);
    assert_eq!(cost.weight_bytes, cost.product_params * 4);
    let peaks = s.peaks().unwrap();
    assert_eq!(peaks.dtype, Dtype::F32);
    assert_eq!(peaks.product_dtype, "f32");
    assert!(peaks.gemm_gflops > 0.0 && peaks.gemm_gflops.is_finite());
    assert!(peaks.bandwidth_gbs > 0.0 && peaks.bandwidth_gbs.is_finite());
    assert!(peaks.bandwidth_method.contains("256 MiB"), "{peaks:?}");
    // The session still runs after its probes.
    s.decode(&tokens, KvLayout::Aligned, &mut out).unwrap();
    assert_eq!(s.last_profile().step_s.len(), tokens.len());
}

#[test]
fn a_v1_2_table_loads_in_a_v1_3_host_and_reports_no_profile() {
    let _mode = crate::test_plugin_mode("v1.2");
    let plugin = LoadedPlugin::load(&library("driftbench_test_plugin")).expect("load a v1.2 table");
    assert_eq!(plugin.abi, "1.2");
    let backend = PluginBackend::new(plugin);
    let mut s = backend.open(&model(), Dtype::F32).unwrap();
    let vocab = s.info().vocab;
    let mut out = vec![0f32; 3 * vocab];
    s.decode(&[1, 2, 3], KvLayout::Aligned, &mut out).unwrap();
    // v1.2 has counters and nothing of v1.3: no steps, no read-back.
    assert!(!s.last_counters().is_empty());
    let p = s.last_profile();
    assert!(p.step_s.is_empty() && p.readback_s.is_none(), "{p:?}");
    let err = s.peaks().unwrap_err();
    assert!(matches!(err, BackendError::Unavailable(_)), "{err}");
    assert!(err.to_string().contains("ABI v1.2"), "{err}");
    assert!(err.to_string().contains("v1.3"), "{err}");
}
