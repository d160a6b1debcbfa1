//! The plugin template as a user gets it: `plugins/template` copied out of the tree, its
//! path dependencies pointed at this checkout, built with cargo on its own, loaded with
//! `--plugin` and swept. Its f64 logits are the independent reference the other backends
//! are checked against: here flex f64 and flex f32, on the synthetic model and on SmolLM2.

use crate::common;
use common::{driftbench, root, sweep_beside_flex, text, write_config};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Copy the template to `dir/my-backend`, point its path dependencies at this checkout
/// (the one edit the book asks for), and build it in release. Returns the plugin library.
fn build_template(dir: &Path) -> PathBuf {
    let src = root().join("plugins/template");
    let dst = dir.join("my-backend");
    let checkout = root().canonicalize().unwrap();
    // `../../x` is the checkout's `x`; then `../x` is a sibling under plugins/ (the ABI
    // crate, the conformance kit): the first replacement leaves no `../../` for the second.
    let manifest = std::fs::read_to_string(src.join("Cargo.toml"))
        .unwrap()
        .replace(
            "path = \"../../",
            &format!("path = \"{}/", checkout.display()),
        )
        .replace(
            "path = \"../",
            &format!("path = \"{}/plugins/", checkout.display()),
        );
    assert!(
        !manifest.contains("\"../") && manifest.contains("driftbench-conformance"),
        "a relative path is left, or the conformance kit is gone: {manifest}"
    );
    std::fs::create_dir_all(&dst).unwrap();
    std::fs::write(dst.join("Cargo.toml"), manifest).unwrap();
    // Its sources and its own tests (the conformance kit's among them).
    for sub in ["src", "tests"] {
        std::fs::create_dir_all(dst.join(sub)).unwrap();
        for f in std::fs::read_dir(src.join(sub)).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), dst.join(sub).join(f.file_name())).unwrap();
        }
    }
    // The workspace's lock file: the same dependency versions as the workspace, so nothing
    // new is downloaded (cargo drops the entries the template does not use).
    std::fs::copy(root().join("Cargo.lock"), dst.join("Cargo.lock")).unwrap();
    // A target folder that outlives the test, so later runs rebuild only the template.
    let target = root().join("target/template-test");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    // Its own tests first (routes and layouts agree in f64; the conformance kit passes),
    // then the plugin.
    for step in [
        &["test", "--release", "--quiet"][..],
        &["build", "--release", "--quiet"],
    ] {
        let out = Command::new(&cargo)
            .current_dir(&dst)
            .args(step)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`cargo {}` of the template out of the tree failed:\n{}{}",
            step.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let lib = target.join(format!(
        "release/{}driftbench_backend_template{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(lib.is_file(), "{} not built", lib.display());
    lib
}

/// The values of a `.npy` file `driftbench run --save-logits` wrote (C order): float32
/// widened, or float64 (an f64 pair's logits, as they crossed from the plugin).
fn npy(path: &Path) -> Vec<f64> {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..6], b"\x93NUMPY", "{}", path.display());
    let header = u16::from_le_bytes([b[8], b[9]]) as usize;
    let descr = std::str::from_utf8(&b[10..10 + header]).unwrap();
    let data = &b[10 + header..];
    if descr.contains("'<f8'") {
        data.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    } else {
        assert!(descr.contains("'<f4'"), "{descr}");
        data.chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap())))
            .collect()
    }
}

/// `driftbench run` of one pair, logits saved; the prefill and decode logits.
fn run_pair(args: &[&str], lib: &Path, dir: &Path) -> (Vec<f64>, Vec<f64>) {
    let mut all = vec!["run", "--plugin", lib.to_str().unwrap(), "--save-logits"];
    all.push(dir.to_str().unwrap());
    all.extend_from_slice(args);
    let o = driftbench(&all).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    (npy(&dir.join("prefill.npy")), npy(&dir.join("decode.npy")))
}

/// Largest |a − b| over both routes, and the largest |a|.
fn distance(a: &(Vec<f64>, Vec<f64>), b: &(Vec<f64>, Vec<f64>)) -> (f64, f64) {
    let pairs = a.0.iter().zip(&b.0).chain(a.1.iter().zip(&b.1));
    let (mut diff, mut max) = (0f64, 0f64);
    for (x, y) in pairs {
        diff = diff.max((x - y).abs());
        max = max.max(x.abs());
    }
    assert_eq!(a.0.len(), b.0.len());
    (diff, max)
}

const SYNTHETIC: &str = "[model]\nkind = \"synthetic\"\nlayers = 2\nhidden = 64\nheads = 4\n\
    kv_heads = 2\nffn = 128\nvocab = 256\nweight_seed = 7\n";

#[test]
fn the_template_builds_out_of_tree_sweeps_and_is_a_reference() {
    let dir = tempfile::tempdir().unwrap();
    let lib = build_template(dir.path());

    // A sweep: f64 on the template (its only dtype) beside flex, f16 SKIPPED with the
    // probe's reason.
    let cross = sweep_beside_flex(
        dir.path(),
        &lib,
        "template",
        SYNTHETIC,
        "f64",
        "f16",
        "f64 only",
    );
    // Against flex f64, both routes of every cell. Both are f64 to about 1e-13 and cross the
    // ABI as f64 (v1.4); what is left is RoPE (flex holds cos and sin rounded to f32, 6e-8
    // relative: ~6e-8 of these logits). Bound: 2e-5.
    for r in &cross {
        let max = r["metrics"]["max_abs_diff"].as_f64().unwrap();
        assert!(max <= 2e-5, "template vs flex f64: {max}: {r}");
    }

    // Against flex f32, prefill and decode, span 33. flex f32 sums in f32 over at most 128
    // terms per product: errors near 1e-5 of logits below 30. Bound: 1e-4.
    let synth = write_config(
        dir.path(),
        "s.toml",
        &format!("{SYNTHETIC}\n[sweep]\nspans = [33]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\n"),
    );
    let cfg_arg = ["--config", synth.to_str().unwrap(), "--span", "33"];
    let reference = run_pair(
        &[&cfg_arg[..], &["--backend", "template", "--dtype", "f64"]].concat(),
        &lib,
        &dir.path().join("t64"),
    );
    let flex = run_pair(
        &[&cfg_arg[..], &["--backend", "flex", "--dtype", "f32"]].concat(),
        &lib,
        &dir.path().join("f32"),
    );
    let (d, max) = distance(&reference, &flex);
    assert!(
        d <= 1e-4,
        "synthetic: template f64 vs flex f32 {d} (logits up to {max})"
    );
    assert!(
        d > 0.0,
        "flex f32 is not bitwise an f64 model: the comparison ran"
    );
}

/// SmolLM2 (Q4_1 GGUF, dequantized by both): the template's f64 logits against flex f32 at
/// span 8. flex f32 accumulates over 576 and 1536 terms in 30 layers: measured, its logits
/// sit 1.6e-4 from the template's (largest |logit| 31), the size of the f32 noise floor in
/// the reference sweeps. The bound, 5e-5 of the largest |logit| (1.6e-3 here), leaves 10×
/// room for other machines' f32 kernels and still catches any error in the template's
/// loading or forward pass, which moves logits by 1e-2 or more.
#[test]
fn the_template_agrees_with_flex_f32_on_smollm2() {
    let model = root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        model.is_file(),
        "{} is missing: run scripts/fetch-model.sh (scripts/test.sh does)",
        model.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let lib = build_template(dir.path());
    let m = model.to_str().unwrap();
    let base = ["--model", m, "--span", "8"];
    let reference = run_pair(
        &[&base[..], &["--backend", "template", "--dtype", "f64"]].concat(),
        &lib,
        &dir.path().join("t64"),
    );
    let flex = run_pair(
        &[&base[..], &["--backend", "flex", "--dtype", "f32"]].concat(),
        &lib,
        &dir.path().join("f32"),
    );
    let (d, max) = distance(&reference, &flex);
    eprintln!("SmolLM2 span 8: template f64 vs flex f32: max |diff| {d:.3e}, max |logit| {max:.3}");
    assert!(
        d <= 5e-5 * max,
        "template f64 vs flex f32: {d} (logits up to {max})"
    );
    assert!(d > 0.0);
}
