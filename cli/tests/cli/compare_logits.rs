//! `driftbench compare A [B]`: the report's metrics between two `run --save-logits` folders,
//! or between one folder's two routes. One folder's prefill against its decode is the run's
//! own pair, so its metrics are the ones the run printed and saved; other folders are checked
//! against the same computation on the same files. Folders of different runs, and corrupt or
//! mismatched files, are one `error:` line naming the file and exit code 2.

use crate::common;
use common::{driftbench, library, root, text, write_config};
use driftbench_core::logits::LogitsRef;
use driftbench_core::metrics::{compare_logits, Metrics};
use driftbench_report::format::{diff, opt_sci, sci, sig2, top1};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// `driftbench run` of one pair of the cpu backend on the CI synthetic model, saved to
/// `dir/name`; returns the folder and the run's output.
fn save_cpu(dir: &Path, name: &str, args: &[&str]) -> (PathBuf, String) {
    library("driftbench_backend_cpu");
    let save = dir.join(name);
    let cfg = root().join("configs/ci.toml");
    let mut all = vec![
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--backend",
        "cpu",
        "--span",
        "9",
        "--save-logits",
        save.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let o = driftbench(&all).output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    (save, t)
}

/// `driftbench compare ARGS`.
fn compare(args: &[&str]) -> Output {
    let mut all = vec!["compare"];
    all.extend_from_slice(args);
    driftbench(&all).output().unwrap()
}

/// `driftbench compare ARGS --json`, which must succeed; its document.
fn compare_json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let o = compare(&all);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
}

/// `driftbench compare ARGS`, which must fail as bad input; its stderr.
fn compare_fails(args: &[&str]) -> String {
    let o = compare(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    assert!(o.stdout.is_empty(), "nothing compared: {}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        err.starts_with("error: ") && err.lines().count() == 1,
        "{err}"
    );
    err
}

/// A folder path as a string argument.
fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The header (magic to padding) and the values of a float32 or float64 `.npy` file the run
/// wrote, the values widened to f64.
fn read_npy(path: &Path) -> (Vec<u8>, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap();
    let start = 10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..start]).unwrap();
    let values = if header.contains("'<f8'") {
        bytes[start..]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    } else {
        bytes[start..]
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap())))
            .collect()
    };
    (bytes[..start].to_vec(), values)
}

/// The f32 values of a float32 `.npy` file.
fn read_f32(path: &Path) -> Vec<f32> {
    read_npy(path).1.into_iter().map(|v| v as f32).collect()
}

/// Write `values` as a float32 (`wide` false) or float64 `.npy` of `shape`.
fn write_npy(path: &Path, shape: (usize, usize), values: &[f64], wide: bool) {
    let descr = if wide { "<f8" } else { "<f4" };
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}, {}), }}",
        shape.0, shape.1
    );
    header.push_str(&" ".repeat(63 - (10 + header.len()) % 64));
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    for v in values {
        if wide {
            bytes.extend(v.to_le_bytes());
        } else {
            bytes.extend((*v as f32).to_le_bytes());
        }
    }
    std::fs::write(path, bytes).unwrap();
}

/// A copy of the folder `from` as `dir/name`.
fn copy_folder(from: &Path, dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::create_dir_all(&to).unwrap();
    for f in ["prefill.npy", "decode.npy", "manifest.json"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
    to
}

/// The manifest of `folder`.
fn manifest(folder: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(folder.join("manifest.json")).unwrap()).unwrap()
}

/// Rewrite the manifest of `folder` with `edit`.
fn edit_manifest(folder: &Path, edit: impl FnOnce(&mut Value)) {
    let mut m = manifest(folder);
    edit(&mut m);
    std::fs::write(folder.join("manifest.json"), m.to_string()).unwrap();
}

/// The metrics of the JSON document `doc`, as the report's type.
fn metrics(doc: &Value) -> Metrics {
    serde_json::from_value(doc["metrics"].clone()).unwrap()
}

/// The word after `key` on the line of `out` where `run` (and `compare`) print the metrics.
fn printed(out: &str, key: &str) -> String {
    let line = out
        .lines()
        .find(|l| l.starts_with("max_abs_diff "))
        .unwrap_or_else(|| panic!("no metrics line:\n{out}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == key).unwrap();
    words[at + 1].to_string()
}

#[test]
fn one_folder_is_the_runs_own_pair_and_two_folders_compare_by_route() {
    let dir = tempfile::tempdir().unwrap();
    let (a, run_out) = save_cpu(dir.path(), "f16", &["--dtype", "f16", "--kv-aligned", "0"]);
    let saved: Metrics = serde_json::from_value(manifest(&a)["metrics"].clone()).unwrap();

    // One folder: its prefill against its decode, exactly the run's metrics.
    let own = compare_json(&[s(&a)]);
    assert_eq!(own["metrics"], manifest(&a)["metrics"], "{own}");
    assert_eq!(metrics(&own), saved);
    assert!(saved.max_abs_diff > 0.0, "f16 drifts: {run_out}");
    assert_eq!(
        (own["a"]["route"].as_str(), own["b"]["route"].as_str()),
        (Some("prefill"), Some("decode"))
    );
    assert_eq!(own["a"]["dtype"], "f16");
    assert_eq!(own["b"]["shape"], serde_json::json!([9, 128]));
    // The same pair named explicitly, as two folders or by route.
    let named = compare_json(&[s(&a), s(&a), "--route-b", "decode"]);
    assert_eq!(named["metrics"], own["metrics"]);
    // The text shows the same numbers through the report's formatter, as the run did.
    let o = compare(&[s(&a)]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    for key in [
        "max_abs_diff",
        "p99_abs_diff",
        "mean_abs_diff",
        "NMSE",
        "top1_agreement",
        "nonfinite",
    ] {
        assert_eq!(
            printed(&t, key),
            printed(&run_out, key),
            "{key}: {t}\n{run_out}"
        );
    }
    for want in [
        format!("A: {}", a.join("prefill.npy").display()),
        format!("B: {}", a.join("decode.npy").display()),
        format!(
            "max_abs_diff {} p99_abs_diff {} mean_abs_diff {} KL mean {} KL max {} NMSE {} \
             top1_agreement {} nonfinite 0/0\n",
            diff(saved.max_abs_diff),
            diff(saved.p99_abs_diff),
            diff(saved.mean_abs_diff),
            opt_sci(saved.kl_mean),
            opt_sci(saved.kl_max),
            opt_sci(saved.nmse),
            top1(saved.top1_agreement)
        ),
        format!(
            "to 3 significant digits: max_abs_diff {} p99_abs_diff {} mean_abs_diff {} KL p99 {}\n",
            sci(saved.max_abs_diff),
            sci(saved.p99_abs_diff),
            sci(saved.mean_abs_diff),
            opt_sci(saved.kl_p99)
        ),
        "first flip: none (top-1 agrees at every position)\n".to_string(),
        "run: backend cpu, dtype f16, kv_aligned 0, seed 0".to_string(),
    ] {
        assert!(t.contains(&want), "want {want:?} in:\n{t}");
    }
    assert!(!t.contains("non-finite values"), "{t}");

    // Two runs of the same prompt: prefill against prefill by default, any route by name.
    let (b, _) = save_cpu(dir.path(), "f32", &["--dtype", "f32", "--kv-aligned", "0"]);
    let file = |f: &Path, name: &str| read_f32(&f.join(name));
    for (args, fa, fb) in [
        (vec![], "prefill.npy", "prefill.npy"),
        (vec!["--route", "decode"], "decode.npy", "decode.npy"),
        (vec!["--route-a", "decode"], "decode.npy", "prefill.npy"),
        (
            vec!["--route", "decode", "--route-b", "prefill"],
            "decode.npy",
            "prefill.npy",
        ),
    ] {
        let mut all = vec![s(&a), s(&b)];
        all.extend(args.iter().copied());
        let doc = compare_json(&all);
        let (xa, xb) = (file(&a, fa), file(&b, fb));
        let want = compare_logits(LogitsRef::F32(&xa), LogitsRef::F32(&xb), 128);
        assert_eq!(metrics(&doc), want, "{args:?}");
        assert_eq!(doc["a"]["file"], fa);
        assert_eq!(doc["b"]["file"], fb);
        assert_eq!(doc["b"]["dtype"], "f32");
    }
    let f16_vs_f32 = metrics(&compare_json(&[s(&a), s(&b)]));
    assert!(f16_vs_f32.max_abs_diff > 0.0, "{f16_vs_f32:?}");
}

#[test]
fn folders_of_different_runs_are_refused_naming_the_key_and_both_values() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = save_cpu(dir.path(), "seed0", &[]);
    let (seed1, _) = save_cpu(dir.path(), "seed1", &["--seed", "1"]);
    let tokens = |f: &Path| manifest(f)["tokens"].as_array().unwrap().clone();
    let (ta, t1) = (tokens(&a), tokens(&seed1));
    let first = ta.iter().zip(&t1).position(|(x, y)| x != y).unwrap();
    let err = compare_fails(&[s(&a), s(&seed1)]);
    for want in [
        "manifest key `tokens` differs".to_string(),
        format!("A ({})", a.join("manifest.json").display()),
        format!("B ({})", seed1.join("manifest.json").display()),
        format!("token {} at position {first} (of 9 tokens)", ta[first]),
        format!("token {} at position {first} (of 9 tokens)", t1[first]),
    ] {
        assert!(err.contains(&want), "want {want:?} in {err}");
    }
    // Another model (weights of another seed) and another vocab, in the manifest.
    let other = copy_folder(&a, dir.path(), "model");
    edit_manifest(&other, |m| m["model"]["weight_seed"] = 2.into());
    let err = compare_fails(&[s(&a), s(&other)]);
    assert!(
        err.contains("`model` differs") && err.contains("\"weight_seed\":2"),
        "{err}"
    );
    let other = copy_folder(&a, dir.path(), "vocab");
    edit_manifest(&other, |m| {
        m["vocab"] = 100.into();
        m["logits"]["shape"] = serde_json::json!([9, 100]);
    });
    let err = compare_fails(&[s(&a), s(&other)]);
    assert!(
        err.contains("`vocab` differs")
            && err.contains("has 128, B (")
            && err.ends_with("has 100\n"),
        "{err}"
    );

    // A manifest at odds with its own files.
    let odd = copy_folder(&a, dir.path(), "shape");
    let (_, values) = read_npy(&a.join("decode.npy"));
    write_npy(&odd.join("decode.npy"), (9 * 128 / 64, 64), &values, false);
    let err = compare_fails(&[s(&odd)]);
    let decode = odd.join("decode.npy").display().to_string();
    assert!(
        err.contains(&format!("{decode}: shape (18, 64), but"))
            && err.contains("[span, vocab] = [9, 128]"),
        "{err}"
    );
    let odd = copy_folder(&a, dir.path(), "dtype");
    write_npy(&odd.join("decode.npy"), (9, 128), &values, true);
    let err = compare_fails(&[s(&a), s(&odd), "--route", "decode"]);
    assert!(
        err.contains(&format!(
            "{}: float64, but",
            odd.join("decode.npy").display()
        )),
        "{err}"
    );
    let odd = copy_folder(&a, dir.path(), "span");
    edit_manifest(&odd, |m| m["span"] = 8.into());
    let err = compare_fails(&[s(&odd)]);
    assert!(
        err.contains("`span` is 8 but `tokens` holds 9 tokens"),
        "{err}"
    );
    let odd = copy_folder(&a, dir.path(), "vocab-zero");
    edit_manifest(&odd, |m| m["vocab"] = 0.into());
    let err = compare_fails(&[s(&odd)]);
    assert!(
        err.contains("`vocab` is 0, expected an integer >= 1"),
        "{err}"
    );
    let odd = copy_folder(&a, dir.path(), "no-tokens");
    edit_manifest(&odd, |m| {
        m.as_object_mut().unwrap().remove("tokens");
    });
    let err = compare_fails(&[s(&a), s(&odd)]);
    assert!(
        err.contains(&format!(
            "{}: no `tokens` key",
            odd.join("manifest.json").display()
        )),
        "{err}"
    );
}

#[test]
fn corrupt_or_missing_files_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = save_cpu(dir.path(), "a", &[]);
    let full = std::fs::read(a.join("prefill.npy")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "prefill.npy",
            full[..full.len() - 3].to_vec(),
            "truncated: shape (9, 128) of <f4 needs 4608 bytes of data, the file holds 4605",
        ),
        (
            "prefill.npy",
            full[..20].to_vec(),
            "truncated: the header says",
        ),
        ("decode.npy", Vec::new(), "not an npy file"),
        (
            "decode.npy",
            b"garbage, not numpy".to_vec(),
            "not an npy file",
        ),
        (
            "decode.npy",
            [full.clone(), vec![0; 4]].concat(),
            "trailing bytes",
        ),
        ("manifest.json", b"{not json".to_vec(), "not JSON"),
        (
            "manifest.json",
            b"[1, 2]".to_vec(),
            "not a --save-logits manifest",
        ),
    ];
    for (i, (file, bytes, why)) in cases.into_iter().enumerate() {
        let bad = copy_folder(&a, dir.path(), &format!("bad{i}"));
        std::fs::write(bad.join(file), bytes).unwrap();
        let path = bad.join(file).display().to_string();
        // The broken file on either side, and alone; a decode file is read only where a
        // decode is compared.
        let arg_sets = match file {
            "decode.npy" => vec![vec![s(&a), s(&bad), "--route", "decode"], vec![s(&bad)]],
            _ => vec![vec![s(&bad), s(&a)], vec![s(&a), s(&bad)], vec![s(&bad)]],
        };
        for args in arg_sets {
            let err = compare_fails(&args);
            assert!(
                err.contains(&path) && err.contains(why),
                "{args:?}: want {path}: {why} in {err}"
            );
        }
    }
    let gone = copy_folder(&a, dir.path(), "gone");
    std::fs::remove_file(gone.join("decode.npy")).unwrap();
    let err = compare_fails(&[s(&gone)]);
    assert!(
        err.contains(&format!(
            "cannot read {}",
            gone.join("decode.npy").display()
        )),
        "{err}"
    );
    let err = compare_fails(&[s(&dir.path().join("nowhere"))]);
    assert!(err.contains("nowhere/manifest.json"), "{err}");
}

#[test]
fn nan_and_inf_are_counted_and_the_first_flip_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = save_cpu(dir.path(), "a", &[]);
    let odd = copy_folder(&a, dir.path(), "odd");
    let (_, mut prefill) = read_npy(&a.join("prefill.npy"));
    let (_, mut decode) = read_npy(&a.join("decode.npy"));
    // Row 2 of decode votes for another token; row 5 holds a NaN, row 7 of prefill an Inf.
    let row2 = &prefill[2 * 128..3 * 128];
    let top = (0..128)
        .max_by(|&i, &j| row2[i].total_cmp(&row2[j]))
        .unwrap();
    let other = (top + 1) % 128;
    decode[2 * 128 + other] = 100.0;
    decode[5 * 128 + 3] = f64::NAN;
    prefill[7 * 128 + 9] = f64::INFINITY;
    write_npy(&odd.join("prefill.npy"), (9, 128), &prefill, false);
    write_npy(&odd.join("decode.npy"), (9, 128), &decode, false);

    let doc = compare_json(&[s(&odd)]);
    let m = metrics(&doc);
    let (p32, d32) = (
        read_f32(&odd.join("prefill.npy")),
        read_f32(&odd.join("decode.npy")),
    );
    let want = compare_logits(LogitsRef::F32(&p32), LogitsRef::F32(&d32), 128);
    // Metrics holds NaNs, which are never equal: compare the documents.
    assert_eq!(doc["metrics"], serde_json::to_value(&want).unwrap());
    assert_eq!(doc["metrics"]["max_abs_diff"], "NaN");
    assert_eq!((m.nonfinite_prefill, m.nonfinite_decode), (1, 1));
    let flip = m.first_flip.clone().unwrap();
    assert_eq!(
        (flip.position, flip.prefill_token, flip.decode_token),
        (2, top as u32, other as u32)
    );
    assert_eq!(doc["flips"], 3, "rows 2, 5 and 7 disagree: {doc}");
    let o = compare(&[s(&odd)]);
    let t = text(&o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "a measurement, not a verdict: {t}"
    );
    for want in [
        "max_abs_diff NaN p99_abs_diff ".to_string(),
        " KL mean NaN ".to_string(),
        " top1_agreement 0.6667 nonfinite 1/1\n".to_string(),
        format!(
            "first flip: pos 2: A token {top} (margin {}), B token {other} (margin {}); 3 of 9 \
             positions flip\n",
            sig2(flip.prefill_margin),
            sig2(flip.decode_margin)
        ),
        "non-finite values: 1 in A, 1 in B (of 1152 each)".to_string(),
    ] {
        assert!(t.contains(&want), "want {want:?} in:\n{t}");
    }
}

/// The test plugin's f64 model, whose routes are 2e-13 apart in f64.
const F64_CONFIG: &str = r#"
[model]
kind = "synthetic"
layers = 1
hidden = 8
heads = 2
kv_heads = 1
ffn = 16
vocab = 11

[sweep]
spans = [5]
dtypes = ["f64", "f32"]
kv_aligned = [1]
seeds = [0]
"#;

#[test]
fn float64_files_are_compared_in_f64_and_against_float32_widened() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "f64.toml", F64_CONFIG);
    let lib = library("driftbench_test_plugin");
    let save = |dtype: &str| {
        let out = dir.path().join(dtype);
        let o = driftbench(&[
            "run",
            "--config",
            s(&cfg),
            "--plugin",
            s(&lib),
            "--backend",
            "testplugin",
            "--dtype",
            dtype,
            "--span",
            "5",
            "--in-process",
            "--save-logits",
            s(&out),
        ])
        .output()
        .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        out
    };
    let (wide, narrow) = (save("f64"), save("f32"));
    assert_eq!(manifest(&wide)["logits"]["dtype"], "float64");
    // The f64 pair again: 2e-13 apart, nothing rounded to f32 on the way.
    let own = compare_json(&[s(&wide)]);
    assert_eq!(own["metrics"], manifest(&wide)["metrics"]);
    let m = metrics(&own);
    assert!(m.max_abs_diff > 1e-14 && m.max_abs_diff < 1e-12, "{m:?}");
    assert_eq!(own["a"]["npy_dtype"], "float64");
    // float64 against float32: the f32 side widened exactly, A still the reference.
    let doc = compare_json(&[s(&wide), s(&narrow)]);
    let (_, pw) = read_npy(&wide.join("prefill.npy"));
    let pn = read_f32(&narrow.join("prefill.npy"));
    let want = compare_logits(LogitsRef::F64(&pw), LogitsRef::F32(&pn), 11);
    assert_eq!(metrics(&doc), want);
    assert_eq!(
        (
            doc["a"]["npy_dtype"].as_str(),
            doc["b"]["npy_dtype"].as_str()
        ),
        (Some("float64"), Some("float32"))
    );
    // The f64 model's values sit half an f32 ulp off the f32 ones.
    assert!(
        want.max_abs_diff > 0.0 && want.max_abs_diff < 1e-5,
        "{want:?}"
    );
    let back = compare_json(&[s(&narrow), s(&wide)]);
    assert_eq!(metrics(&back).max_abs_diff, want.max_abs_diff);
}
