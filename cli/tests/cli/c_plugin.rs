//! The ABI is language-neutral: the C plugin in `plugins/c-example` (the synthetic LLaMA in
//! C, against `plugins/abi/include/driftbench_plugin.h` only) is built with the system's C
//! compiler, loaded with `--plugin`, swept beside flex, and its logits agree with flex f32;
//! loaded through the host's `PluginBackend`, it passes the plugin conformance kit.

use crate::common;
use common::{root, sweep_beside_flex};
use driftbench_conformance::{Check, Kit, Tolerance};
use driftbench_core::Dtype;
use driftbench_plugin_host::{LoadedPlugin, PluginBackend};
use std::path::PathBuf;
use std::process::Command;

/// Build `plugins/c-example/plugin.c` into `dir`; `None` (with the reason printed) where
/// there is no C compiler and CI did not ask for one.
fn build_c_plugin(dir: &std::path::Path) -> Option<PathBuf> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    if let Err(e) = Command::new(&cc).arg("--version").output() {
        if std::env::var_os("DRIFTBENCH_REQUIRE_CC").is_some() {
            panic!("DRIFTBENCH_REQUIRE_CC is set but `{cc}` cannot run: {e}");
        }
        eprintln!("SKIPPED c_plugin test: no C compiler (`{cc}`: {e})");
        return None;
    }
    let lib = dir.join(format!(
        "{}driftbench_backend_c-example{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let r = root();
    let out = Command::new(&cc)
        .args([
            "-std=c11",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
        ])
        .args(["-shared", "-fPIC", "-I"])
        .arg(r.join("plugins/abi/include"))
        .arg(r.join("plugins/c-example/plugin.c"))
        .arg("-o")
        .arg(&lib)
        .arg("-lm")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the C plugin does not build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(lib)
}

/// The largest |c-example − flex| the cross-backend records may show. Both compute in f32
/// (the C plugin sums in double, flex in f32) on logits of magnitude below 10; flex's f32
/// sums over at most 128 terms carry errors near 1e-5, so 1e-4 leaves room for that and
/// still catches any real difference (a wrong weight, op order or mask moves logits by
/// 1e-2 or more).
const AGREE: f64 = 1e-4;

#[test]
fn a_c_plugin_loads_sweeps_and_agrees_with_flex() {
    let dir = tempfile::tempdir().unwrap();
    let Some(lib) = build_c_plugin(dir.path()) else {
        return;
    };
    let model = "[model]\nkind = \"synthetic\"\nlayers = 2\nhidden = 64\nheads = 4\n\
        kv_heads = 2\nffn = 128\nvocab = 256\nweight_seed = 7\n";
    let cross = sweep_beside_flex(
        dir.path(),
        &lib,
        "c-example",
        model,
        "f32",
        "f16",
        "f32 only",
    );
    for r in cross {
        let m = &r["metrics"];
        let max = m["max_abs_diff"].as_f64().unwrap();
        assert!(
            max <= AGREE,
            "c-example vs flex f32: max_abs_diff {max} > {AGREE}: {r}"
        );
        assert_eq!(m["top1_agreement"].as_f64(), Some(1.0), "{r}");
    }
}

/// The conformance kit on the C plugin, loaded in this process through the host's
/// `PluginBackend` (the wrapper a worker runs it through): the checks a Rust plugin's own
/// tests run, for a plugin in another language. It has no `configure` (the host refuses
/// options for it, by name) and no trace (skipped).
#[test]
fn the_c_plugin_passes_the_conformance_kit() {
    let dir = tempfile::tempdir().unwrap();
    let Some(lib) = build_c_plugin(dir.path()) else {
        return;
    };
    let mut backend = PluginBackend::new(LoadedPlugin::load(&lib).unwrap());
    // Both routes run the same C code, one position at a time with double sums, and the
    // padded cache only adds masked slots: they agree bit for bit today. 1e-5 (a few f32
    // ulps of these logits) lets the C code change its summation order per route.
    let kit = Kit::synthetic().dtype(Dtype::F32, Tolerance::new(1e-5, 1.0));
    let report = driftbench_conformance::run(&mut backend, &kit).unwrap();
    eprintln!("{report}");
    assert_eq!(report.of(Check::Agreement).passed.len(), 2, "{report}");
    assert_eq!(report.of(Check::Unwritten).passed.len(), 3, "{report}");
    assert_eq!(report.of(Check::Trace).skipped.len(), 3, "{report}");
}
