//! The built plugin libraries loaded through libloading, as the CLI loads them.

use driftbench_core::{Backend, Dtype, KvLayout, ModelSpec, SyntheticModel};
use driftbench_plugin_abi::{ABI_MAJOR, ABI_MINOR};
use driftbench_plugin_host::{discovery::backend_name_of, LoadError, LoadedPlugin, PluginBackend};
use std::path::PathBuf;

/// `target/<profile>`, where cargo puts the workspace's cdylibs.
fn artifacts() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .to_path_buf()
}

fn library(stem: &str) -> PathBuf {
    let p = artifacts().join(format!(
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

#[test]
fn flex_plugin_loads_probes_and_runs_a_pair() {
    let plugin = LoadedPlugin::load(&library("driftbench_backend_flex")).expect("load flex plugin");
    assert_eq!(plugin.name, "flex");
    assert_eq!(plugin.abi, format!("{ABI_MAJOR}.{ABI_MINOR}"));
    let backend = PluginBackend::new(plugin);
    let probe = backend.probe();
    assert_eq!(probe.backend, "flex");
    assert!(probe.unavailable.is_none());
    for d in [Dtype::F32, Dtype::F16, Dtype::Bf16] {
        assert_eq!(probe.dtype_unavailable(d), None, "{d}");
    }
    let model = ModelSpec::Synthetic(SyntheticModel {
        layers: 1,
        hidden: 16,
        heads: 2,
        kv_heads: 1,
        ffn: 32,
        vocab: 23,
        rope_base: 10000.0,
        norm_eps: 1e-5,
        weight_seed: 3,
    });
    let mut s = backend
        .open(&model, Dtype::F32)
        .expect("open through the ABI");
    assert_eq!(s.info().vocab, 23);
    let tokens = [1u32, 5, 7, 22, 0];
    let mut p = vec![f32::NAN; tokens.len() * 23];
    let mut d = vec![f32::NAN; tokens.len() * 23];
    s.prefill(&tokens, &mut p).unwrap();
    s.decode(&tokens, KvLayout::Padded { block: 4 }, &mut d)
        .unwrap();
    let m = s.compare(&p, &d, 23);
    assert!(m.all_finite(), "{m:?}");
    assert!(m.max_abs_diff < 1e-4, "{m:?}");

    // Errors cross the boundary as errors, not crashes.
    let err = s.prefill(&[99], &mut [0.0; 23]).unwrap_err();
    assert!(err.to_string().contains("outside the vocabulary"), "{err}");
    let missing = ModelSpec::Gguf {
        path: "/no/such/model.gguf".into(),
    };
    let err = backend
        .open(&missing, Dtype::F32)
        .err()
        .expect("missing model fails");
    assert!(err.to_string().contains("/no/such/model.gguf"), "{err}");
}

#[test]
fn a_missing_file_and_a_foreign_library_are_clear_errors() {
    let err = LoadedPlugin::load(std::path::Path::new("/no/such/libdriftbench_backend_x.so"))
        .unwrap_err();
    assert!(matches!(err, LoadError::Missing { .. }), "{err}");
    // A shared library that is not a driftbench plugin: the C library itself.
    let libc = [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/lib64/libc.so.6",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file());
    match libc {
        Some(libc) => {
            let err = LoadedPlugin::load(&libc).unwrap_err();
            assert!(
                err.to_string()
                    .contains("no `driftbench_plugin_v1` entry symbol"),
                "{err}"
            );
        }
        None => eprintln!("skipped the foreign-library case: no libc.so.6 at the usual paths"),
    }
}

#[test]
fn plugin_file_naming_rule() {
    let name = |stem: &str| {
        format!(
            "{}{stem}{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        )
    };
    assert_eq!(
        backend_name_of(&name("driftbench_backend_flex")).as_deref(),
        Some("flex")
    );
    assert_eq!(
        backend_name_of(&name("driftbench_test_plugin")),
        None,
        "test plugin is never discovered"
    );
    assert_eq!(backend_name_of(&name("driftbench_backend_")), None);
    assert_eq!(backend_name_of("driftbench_backend_flex.txt"), None);
}

#[test]
fn flex_plugin_traces_through_the_abi_even_beyond_the_first_buffer() {
    use driftbench_core::route::Route;
    let plugin = LoadedPlugin::load(&library("driftbench_backend_flex")).expect("load flex plugin");
    let backend = PluginBackend::new(plugin);
    // 6 points × 200 positions × 256 wide × 4 bytes: over the host's first 1 MiB buffer, so
    // the plugin hands over the trace it kept on the second call.
    let model = ModelSpec::Synthetic(SyntheticModel {
        layers: 2,
        hidden: 256,
        heads: 4,
        kv_heads: 2,
        ffn: 64,
        vocab: 23,
        rope_base: 10000.0,
        norm_eps: 1e-5,
        weight_seed: 3,
    });
    let mut s = backend.open(&model, Dtype::F32).unwrap();
    let tokens: Vec<u32> = (0..200).map(|i| (i * 7 % 23) as u32).collect();
    let t = s
        .trace(Route::Decode, &tokens, KvLayout::Padded { block: 16 })
        .unwrap();
    assert_eq!(t.points.len(), 6);
    assert_eq!((t.positions, t.hidden), (200, 256));
    assert!(t.byte_len() > 1 << 20);
    assert!(t.data.iter().all(|v| v.is_finite()));
    let p = s
        .trace(Route::Prefill, &tokens[..3], KvLayout::Aligned)
        .unwrap();
    assert_eq!(p.positions, 3);
    let err = s
        .trace(Route::Prefill, &[99], KvLayout::Aligned)
        .unwrap_err();
    assert!(err.to_string().contains("outside the vocabulary"), "{err}");
}

#[test]
fn a_v1_1_table_without_trace_still_loads_and_runs() {
    use driftbench_core::route::Route;
    let _mode = crate::test_plugin_mode("v1.1");
    let plugin = LoadedPlugin::load(&library("driftbench_test_plugin")).expect("load a v1.1 table");
    assert_eq!(plugin.abi, "1.1");
    let backend = PluginBackend::new(plugin);
    let model = ModelSpec::Synthetic(SyntheticModel {
        layers: 1,
        hidden: 16,
        heads: 2,
        kv_heads: 1,
        ffn: 32,
        vocab: 11,
        rope_base: 10000.0,
        norm_eps: 1e-5,
        weight_seed: 3,
    });
    let mut s = backend.open(&model, Dtype::F32).unwrap();
    let vocab = s.info().vocab;
    let mut out = vec![0f32; 3 * vocab];
    s.prefill(&[1, 2, 3], &mut out).unwrap();
    // v1.1 has counters: the table's v1.1 fields were read.
    assert!(!s.last_counters().is_empty());
    let err = s
        .trace(Route::Prefill, &[1, 2, 3], KvLayout::Aligned)
        .unwrap_err();
    assert!(
        matches!(err, driftbench_core::BackendError::Unavailable(_)),
        "{err}"
    );
    assert!(err.to_string().contains("ABI v1.1"), "{err}");
}
