//! The defaults the prose states are the code's. Every phrase of the README, the book and the
//! plugin template's comments that names a default backend ("default: X", "X by default",
//! "defaults to X", "X (…, the default)") names `driftbench_sweep::default_backend::DEFAULT_BACKEND`, the one
//! constant behind `run --backend`, the trace reference, the f64 floor and the cross-backend
//! reference; and every sweep config the template's comments suggest runs a dtype the
//! template computes (an f64-only plugin on `quick.toml` gets every pair SKIPPED).

use crate::common::root;
use driftbench_sweep::default_backend::DEFAULT_BACKEND;
use regex::Regex;
use std::path::{Path, PathBuf};

/// Backend names a sentence may call the default.
const BACKENDS: &str = "(cpu|flex|wgpu|cuda|llamacpp)";

/// Markdown files of the README and the book, and the template's sources and manifest.
fn documents() -> Vec<PathBuf> {
    let r = root();
    let mut out = vec![r.join("README.md"), r.join("plugins/template/Cargo.toml")];
    collect(&r.join("book/src"), "md", &mut out);
    collect(&r.join("plugins/template/src"), "rs", &mut out);
    out
}

fn collect(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// `(line, backend)` of every phrase in `text` that states a default backend. Line breaks
/// count as spaces, so a phrase wrapped over two lines is found.
fn stated_defaults(text: &str) -> Vec<(usize, String)> {
    let flat = text.replace('\n', " ");
    let patterns = [
        format!(r"(?i)\bdefault(?:s to|:| is| backend(?: is)?)?\s+`?{BACKENDS}\b"),
        format!(r"(?i)`?\b{BACKENDS}\b`?\s+by default"),
        format!(r"(?i)`?\b{BACKENDS}\b`?\s*\((?:[^()]*,\s*)?the default\)"),
    ];
    let mut out = Vec::new();
    for p in patterns {
        for c in Regex::new(&p).unwrap().captures_iter(&flat) {
            let m = c.get(1).unwrap();
            let line = text[..m.start()].matches('\n').count() + 1;
            out.push((line, m.as_str().to_lowercase()));
        }
    }
    out
}

#[test]
fn every_stated_default_backend_is_the_constant() {
    let mut wrong = Vec::new();
    let mut seen = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for (line, backend) in stated_defaults(&text) {
            seen += 1;
            if backend != DEFAULT_BACKEND {
                wrong.push(format!(
                    "{}:{line}: states the default backend is {backend}, the code says {DEFAULT_BACKEND}",
                    doc.strip_prefix(root()).unwrap_or(&doc).display()
                ));
            }
        }
    }
    // The README, `run --help` in the CLI reference and the config reference state it.
    assert!(
        seen >= 3,
        "only {seen} statements of a default backend found"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_phrases_are_found_and_a_wrong_one_is_caught() {
    let text = "a reference backend, flex by\ndefault; floor_backend = \"cpu\" # default cpu\n\
                driftbench ships `cpu` (its own kernels,\nthe default) and [default: wgpu]";
    let found = stated_defaults(text);
    let names: Vec<&str> = found.iter().map(|(_, b)| b.as_str()).collect();
    assert_eq!(names, ["cpu", "wgpu", "flex", "cpu"], "{found:?}");
    assert_eq!(found[2].0, 1, "flex by default is on line 1");
}

/// The dtypes a config's `[sweep] dtypes` names.
fn config_dtypes(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value: toml::Value = toml::from_str(&text).unwrap();
    value["sweep"]["dtypes"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no [sweep] dtypes", path.display()))
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn configs_the_template_suggests_run_a_dtype_it_computes() {
    let r = root();
    let src = std::fs::read_to_string(r.join("plugins/template/src/lib.rs")).unwrap();
    let dtypes = Regex::new(r"backend_dtypes:\s*vec!\[([^\]]*)\]")
        .unwrap()
        .captures(&src)
        .expect("the template's probe lists backend_dtypes")[1]
        .split(',')
        .filter_map(|d| d.trim().strip_prefix("Dtype::"))
        .map(str::to_lowercase)
        .collect::<Vec<_>>();
    assert!(!dtypes.is_empty());
    let configs = Regex::new(r"configs/[\w.-]+\.toml").unwrap();
    let mut suggested = 0;
    for doc in [
        r.join("plugins/template/Cargo.toml"),
        r.join("plugins/template/src/lib.rs"),
    ] {
        let text = std::fs::read_to_string(&doc).unwrap();
        for m in configs.find_iter(&text) {
            suggested += 1;
            let runs = config_dtypes(&r.join(m.as_str()));
            assert!(
                runs.iter().any(|d| dtypes.contains(d)),
                "{} suggests {}, which runs {runs:?}; the template computes {dtypes:?} only",
                doc.display(),
                m.as_str()
            );
        }
    }
    assert!(suggested > 0, "the template's comments suggest no config");
}

#[test]
fn the_quick_start_config_runs_the_default_backend_only() {
    // Every backend found, wgpu on a software adapter included, made the "few seconds" of
    // the quick start take two minutes.
    let path = root().join("configs/quick.toml");
    let value: toml::Value = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let backends: Vec<&str> = value["sweep"]["backends"]
        .as_array()
        .expect("quick.toml names its backends")
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert_eq!(backends, [DEFAULT_BACKEND]);
}
