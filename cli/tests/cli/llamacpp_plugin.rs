//! The llamacpp plugin (llama.cpp, an engine driftbench did not write) on SmolLM2 beside `cpu`:
//! listed with its dtypes and what it cannot do, its prefill logits close to `cpu` f32 within a
//! tolerance reasoned from llama.cpp's quantized activation path, a copy of the model with one
//! tensor perturbed caught by the same comparison, and a sweep where kv_aligned=1 is SKIPPED
//! with the probe's reason while llama.cpp's own log stays on stderr.
//!
//! The plugin needs llama.cpp's C++ build (cmake, g++, libclang); scripts/test.sh builds it
//! where those exist. Without it these tests say SKIPPED, except under
//! `DRIFTBENCH_REQUIRE_LLAMACPP=1` (set by CI), where a missing plugin fails.

use crate::common;
use common::{artifacts, driftbench, journal, pairs, root, text, write_config};
use driftbench_core::metrics::{compare, Metrics};
use std::path::{Path, PathBuf};

/// The built plugin, or `None` (with the reason printed) where it was not built and CI did
/// not ask for it.
fn llamacpp_plugin(test: &str) -> Option<PathBuf> {
    let lib = artifacts().join(format!(
        "{}driftbench_backend_llamacpp{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    if lib.is_file() {
        return Some(lib);
    }
    if std::env::var_os("DRIFTBENCH_REQUIRE_LLAMACPP").is_some_and(|v| v == "1") {
        panic!(
            "DRIFTBENCH_REQUIRE_LLAMACPP=1 but {} is not built (scripts/test.sh builds it)",
            lib.display()
        );
    }
    eprintln!(
        "SKIPPED {test}: the llamacpp plugin is not built (needs cmake, g++, libclang-dev; \
         scripts/test.sh builds it where they are)"
    );
    None
}

/// The real model (scripts/fetch-model.sh puts it there; scripts/test.sh runs it first).
fn smollm2() -> PathBuf {
    let m = root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        m.is_file(),
        "{} missing: run scripts/fetch-model.sh",
        m.display()
    );
    m
}

/// The f32 values of a `[rows, cols]` float32 npy file, with its column count.
fn read_npy_f32(path: &Path) -> (Vec<f32>, usize) {
    let bytes = std::fs::read(path).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.contains("'<f4'"), "{}: {header}", path.display());
    let shape = header.split("'shape': (").nth(1).unwrap();
    let cols: usize = shape
        .split(',')
        .nth(1)
        .unwrap()
        .trim()
        .trim_end_matches(')')
        .parse()
        .unwrap();
    let values = bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (values, cols)
}

/// `driftbench run` of one f32 pair (span 16, seed 0, padded cache) on `backend` with `model`;
/// returns its prefill logits and their width.
fn prefill_logits(backend: &str, model: &Path, dir: &Path) -> (Vec<f32>, usize) {
    let save = dir.join(backend);
    let o = driftbench(&[
        "run",
        "--backend",
        backend,
        "--model",
        model.to_str().unwrap(),
        "--span",
        "16",
        "--dtype",
        "f32",
        "--kv-aligned",
        "0",
        "--save-logits",
        save.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let t = text(&o);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "run on {backend} did not finish:\n{t}"
    );
    read_npy_f32(&save.join("prefill.npy"))
}

// The tolerance of llamacpp's f32 prefill against `cpu` f32, both on the same Q4_1 file.
//
// `cpu` dequantizes the weights once and multiplies f32 activations by them (its f32 logits are
// within 1e-4 of f64). llama.cpp keeps the weights in Q4_1 and quantizes each matrix product's
// activations to Q8_1 (32-value blocks, 8-bit, one scale): each activation carries a rounding
// error of up to 1/254 of its block's largest value, so every product of every layer is off by
// a few parts in a thousand, and 30 layers compound it. Measured on this model (span 32, seeds
// 0-2, and span 16 seed 0, f32 KV cache): max_abs 1.06-1.43, mean_abs 0.14-0.24, top-1
// agreement 0.875-0.94, on logits of standard deviation 4.0. The bounds below are about twice those: wide enough for
// another CPU's kernels, and still far below what a wrong weight does (the perturbed copy below).
const MAX_ABS: f64 = 3.0;
const MEAN_ABS: f64 = 0.5;
const MIN_TOP1: f64 = 0.75;

/// Which bounds `m` breaks (empty when it is within all).
fn outside_tolerance(m: &Metrics) -> Vec<String> {
    let mut out = Vec::new();
    if m.max_abs_diff.is_nan() || m.max_abs_diff > MAX_ABS {
        out.push(format!("max_abs {} > {MAX_ABS}", m.max_abs_diff));
    }
    if m.mean_abs_diff.is_nan() || m.mean_abs_diff > MEAN_ABS {
        out.push(format!("mean_abs {} > {MEAN_ABS}", m.mean_abs_diff));
    }
    if m.top1_agreement.is_nan() || m.top1_agreement < MIN_TOP1 {
        out.push(format!("top-1 {} < {MIN_TOP1}", m.top1_agreement));
    }
    if m.nonfinite_prefill + m.nonfinite_decode > 0 {
        out.push("non-finite logits".into());
    }
    out
}

/// A copy of `model` in `dir` whose `blk.0.ffn_down.weight` (Q4_1) has every block's scale
/// negated: the file still loads (same types, sizes, finite values), the first layer's MLP
/// output is wrong.
fn perturbed_copy(model: &Path, dir: &Path) -> PathBuf {
    let gguf = driftbench_gguf::Gguf::open(model).unwrap();
    let info = gguf
        .tensor("blk.0.ffn_down.weight")
        .expect("tensor present");
    assert_eq!(
        info.ggml_type().name(),
        Some("Q4_1"),
        "the perturbation assumes Q4_1 blocks"
    );
    let start = (gguf.data_offset() + info.offset()) as usize;
    let len = info.n_bytes().unwrap() as usize;
    let mut bytes = std::fs::read(model).unwrap();
    // A Q4_1 block: f16 scale d, f16 minimum m, 16 bytes of 4-bit values. Flip d's sign bit.
    for block in bytes[start..start + len].chunks_exact_mut(20) {
        block[1] ^= 0x80;
    }
    let copy = dir.join("perturbed.gguf");
    std::fs::write(&copy, bytes).unwrap();
    copy
}

#[test]
fn llamacpp_prefill_agrees_with_cpu_f32_and_a_perturbed_model_does_not() {
    let Some(_) = llamacpp_plugin("llamacpp_prefill_agrees_with_cpu_f32") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let model = smollm2();
    let (cpu, vocab) = prefill_logits("cpu", &model, dir.path());
    let (llama, llama_vocab) = prefill_logits("llamacpp", &model, dir.path());
    assert_eq!(vocab, llama_vocab);
    let m = compare(&cpu, &llama, vocab);
    eprintln!(
        "llamacpp vs cpu f32 prefill: max_abs {:.3} mean_abs {:.3} top-1 {:.3}",
        m.max_abs_diff, m.mean_abs_diff, m.top1_agreement
    );
    let broken = outside_tolerance(&m);
    assert!(broken.is_empty(), "llamacpp vs cpu: {broken:?}");
    // Some distance is expected: identical logits would mean llama.cpp did not run its own
    // quantized kernels (or the comparison compared a file with itself).
    assert!(
        m.max_abs_diff > 0.0,
        "llamacpp's logits equal cpu's bit for bit"
    );

    let copy = perturbed_copy(&model, dir.path());
    let (perturbed, _) = prefill_logits("llamacpp", &copy, &dir.path().join("perturbed"));
    let p = compare(&cpu, &perturbed, vocab);
    eprintln!(
        "perturbed llamacpp vs cpu f32 prefill: max_abs {:.3} mean_abs {:.3} top-1 {:.3}",
        p.max_abs_diff, p.mean_abs_diff, p.top1_agreement
    );
    assert!(
        !outside_tolerance(&p).is_empty(),
        "a model with one tensor perturbed passes the comparison: {p:?}"
    );
}

#[test]
fn plugins_lists_llamacpp_with_its_dtypes_and_what_it_cannot_do() {
    let Some(_) = llamacpp_plugin("plugins_lists_llamacpp") else {
        return;
    };
    // Wide enough that no cell wraps: the row is read as text.
    let o = driftbench(&["plugins"])
        .env("COLUMNS", "400")
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let row: String = t
        .lines()
        .skip_while(|l| !l.contains("llamacpp"))
        .take_while(|l| !l.starts_with(['+', '├', '└']) || l.contains("llamacpp"))
        .collect::<Vec<_>>()
        .join("\n");
    for want in ["f32", "f16", "bf16", "no f64", "available", "kv_aligned=1"] {
        assert!(
            row.contains(want),
            "`{want}` missing from the llamacpp row:\n{t}"
        );
    }
}

#[test]
fn sweep_beside_cpu_skips_aligned_pairs_with_the_probes_reason_and_compares_backends() {
    let Some(_) = llamacpp_plugin("sweep_beside_cpu") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "llamacpp.toml",
        &format!(
            "name = \"llamacpp\"\n[model]\nkind = \"gguf\"\npath = {:?}\n\
             [sweep]\nbackends = [\"cpu\", \"llamacpp\"]\nspans = [16]\ndtypes = [\"f16\"]\n\
             kv_aligned = [0, 1]\nseeds = [0]\nblock_size = 16\nwarmup = false\n\
             [reference]\nnoise_floor = false\n\
             [backends.llamacpp]\nverbose = true\n",
            smollm2().to_str().unwrap()
        ),
    );
    let out = dir.path().join("out");
    let o = driftbench(&[
        "sweep",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let t = text(&o);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{t}");
    // `verbose` makes llama.cpp log every step of loading; all of it goes to the worker's
    // stderr, none to stdout (the worker's protocol channel, and the user's terminal).
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        !stdout.contains("llama_model_loader"),
        "llama.cpp logged to stdout:\n{stdout}"
    );
    let recs = journal(&out, &t);
    let llama = pairs(&recs, "llamacpp");
    assert_eq!(llama.len(), 2, "{t}");
    for p in &llama {
        let (kv, verdict) = (p["kv_aligned"].as_u64(), p["verdict"].as_str().unwrap());
        if kv == Some(1) {
            assert_eq!(verdict, "SKIPPED", "{p}");
            let why = p["reason"].as_str().unwrap();
            assert!(why.contains("padded to 256 cells"), "{why}");
        } else {
            assert!(
                ["EXPECTED_DRIFT", "FAIL_DRIFT"].contains(&verdict),
                "a padded pair is judged by the drift envelope: {p}"
            );
        }
    }
    // No decode ran on the aligned layout: its runs are unrun, not failed.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let agreement = report["cross"]["agreement"].as_array().unwrap();
    assert!(
        agreement.iter().any(|a| a["backend"] == "llamacpp"
            && a["reference"] == "cpu"
            && a["route"] == "prefill"
            && a["max_abs_max"].as_f64().is_some_and(|x| x > 0.0)),
        "no llamacpp vs cpu agreement row: {agreement:?}"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("llama.cpp system info"),
        "the report says which CPU features it uses"
    );
    assert!(
        md.contains("f16 → KV cache f16"),
        "the report says what the dtype maps to"
    );
    // The padded layout is llama.cpp's own, and the report says so instead of the block size.
    assert!(
        md.contains("kv_aligned=0 layout:** llama.cpp's own padding: 256 cells"),
        "the report says how llama.cpp pads its cache"
    );
}
