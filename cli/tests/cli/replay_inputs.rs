//! `driftbench replay` on a bundle whose values the config would refuse: each is refused with
//! one `error:` line naming `bundle.json`, the key and what was expected, exit 2, before any
//! backend starts; never a panic, an abort or a verdict from a bound nobody could have set.
//!
//! Every test edits a real bundle: one sweep of the test plugin (its `shifted` instance fails
//! its kv_aligned = 1 pair) runs once per test binary, and each test gets its own copy.

use crate::common;
use common::{driftbench, library, mkfifo, output_within, text, write_config, LIMIT};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

const CONFIG: &str = "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\n\
    kv_heads = 1\nffn = 32\nvocab = 32\n\n[sweep]\nspans = [3]\ndtypes = [\"f32\"]\n\
    kv_aligned = [1]\nseeds = [0]\ntimeout_s = 30\n\n[reference]\nnoise_floor = false\n\n\
    [backends.shifted]\nplugin = \"testplugin\"\ndecode_shift = 0.5\n";

/// The bundle's folder name.
const PAIR: &str = "shifted-f32-span3-kv1-seed0";

/// The files of the failing pair's bundle (name, bytes), from one sweep.
fn swept_bundle() -> &'static [(String, Vec<u8>)] {
    static FILES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write_config(dir.path(), "sweep.toml", CONFIG);
        let out = dir.path().join("out");
        let lib = library("driftbench_test_plugin");
        let o = driftbench(&[
            "sweep",
            cfg.to_str().unwrap(),
            "--plugin",
            lib.to_str().unwrap(),
            "--backend",
            "shifted",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let bundle = out.join("replay").join(PAIR);
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&bundle)
            .unwrap_or_else(|e| panic!("{}: {e}; {}", bundle.display(), text(&o)))
            .map(|e| {
                let e = e.unwrap();
                let name = e.file_name().to_string_lossy().into_owned();
                (name, std::fs::read(e.path()).unwrap())
            })
            .collect();
        files.sort();
        files
    })
}

/// A copy of the swept bundle in `dir`, its `bundle.json` changed by `edit`.
fn bundle_with(dir: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let bundle = dir.join(PAIR);
    std::fs::create_dir(&bundle).unwrap();
    for (name, bytes) in swept_bundle() {
        std::fs::write(bundle.join(name), bytes).unwrap();
    }
    let path = bundle.join("bundle.json");
    let mut json: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut json);
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    bundle
}

/// `driftbench replay BUNDLE --plugin <test plugin> EXTRA...`, killed if it hangs.
fn replay(bundle: &Path, extra: &[&str]) -> Output {
    let lib = library("driftbench_test_plugin");
    let mut args = vec![
        "replay",
        bundle.to_str().unwrap(),
        "--plugin",
        lib.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    output_within(driftbench(&args), LIMIT)
}

/// Exit 2 and one `error:` line that starts with the bundle's `bundle.json`, names `key`
/// and holds every `needle`; no panic, nothing replayed.
fn assert_refused(o: &Output, bundle: &Path, key: &str, needles: &[&str]) {
    let all = text(o);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(o.status.code(), Some(2), "exit code; output:\n{all}");
    assert_eq!(lines.len(), 1, "expected one error line, got:\n{all}");
    let file = bundle.join("bundle.json").display().to_string();
    assert!(
        lines[0].starts_with(&format!("error: {file}: key `{key}`: ")),
        "`{file}` and key `{key}` missing from: {}",
        lines[0]
    );
    for n in needles {
        assert!(lines[0].contains(n), "`{n}` missing from: {}", lines[0]);
    }
    assert!(!all.contains("panicked"), "{all}");
    assert!(!all.contains("replaying"), "nothing may run: {all}");
}

/// The value at the JSON pointer `at` set to `v`.
fn set(at: &'static str, v: Value) -> impl FnOnce(&mut Value) {
    move |json: &mut Value| {
        *json
            .pointer_mut(at)
            .unwrap_or_else(|| panic!("no `{at}` in the bundle")) = v;
    }
}

/// `bundle.json` with the value at `at` set to `v`, replayed.
fn replay_with(dir: &Path, at: &'static str, v: Value) -> (PathBuf, Output) {
    let bundle = bundle_with(dir, set(at, v));
    let o = replay(&bundle, &[]);
    (bundle, o)
}

const SECONDS: &str =
    "expected a finite number of seconds greater than 0 and at most 604800 (7 days)";
const BLOCK: &str = "expected a block size of at least 1 token and at most 1048576 (2^20)";
const MAX_ABS: &str = "expected a finite number >= 0 and at most 1e6 (0 means bitwise)";
const POSITIVE: &str = "expected a finite number greater than 0";

#[test]
fn the_unedited_bundle_still_replays() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle_with(dir.path(), |_| {});
    let o = replay(&bundle, &[]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("reproduced (identical metrics)"), "{t}");
}

#[test]
fn a_run_timeout_of_1e300_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (b, o) = replay_with(dir.path(), "/run_timeout_s", json!(1e300));
    assert_refused(&o, &b, "run_timeout_s", &["invalid value 1e300", SECONDS]);
}

#[test]
fn a_negative_open_timeout_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (b, o) = replay_with(dir.path(), "/open_timeout_s", json!(-1.0));
    assert_refused(&o, &b, "open_timeout_s", &["invalid value -1.0", SECONDS]);
}

#[test]
fn a_zero_run_timeout_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (b, o) = replay_with(dir.path(), "/run_timeout_s", json!(0.0));
    assert_refused(&o, &b, "run_timeout_s", &["invalid value 0.0", SECONDS]);
}

#[test]
fn a_block_size_of_0_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (b, o) = replay_with(dir.path(), "/plan/block_size", json!(0));
    assert_refused(&o, &b, "plan.block_size", &["invalid value 0:", BLOCK]);
}

#[test]
fn a_block_size_of_2_pow_62_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (b, o) = replay_with(dir.path(), "/plan/block_size", json!(1u64 << 62));
    assert_refused(
        &o,
        &b,
        "plan.block_size",
        &["invalid value 4611686018427387904", BLOCK],
    );
}

#[test]
fn a_negative_max_abs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (b, o) = replay_with(dir.path(), "/plan/tolerance/equiv/max_abs", json!(-1.0));
    assert_refused(
        &o,
        &b,
        "plan.tolerance.equiv.max_abs",
        &["invalid value -1.0", MAX_ABS],
    );
}

#[test]
fn a_min_top1_above_1_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (b, o) = replay_with(dir.path(), "/plan/tolerance/equiv/min_top1", json!(1.5));
    assert_refused(
        &o,
        &b,
        "plan.tolerance.equiv.min_top1",
        &["invalid value 1.5", "expected a fraction in [0, 1]"],
    );
}

/// Before: the replay judged the pair against 1e308, so the bundle's FAIL became a PASS,
/// exit 0.
#[test]
fn a_max_abs_of_1e308_is_refused_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (b, o) = replay_with(dir.path(), "/plan/tolerance/equiv/max_abs", json!(1e308));
    assert_refused(
        &o,
        &b,
        "plan.tolerance.equiv.max_abs",
        &["invalid value 1e308", MAX_ABS],
    );
    assert!(!text(&o).contains("PASS"), "{}", text(&o));
}

#[test]
fn a_negative_floor_k_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (b, o) = replay_with(dir.path(), "/plan/rule/k", json!(-1.0));
    assert_refused(
        &o,
        &b,
        "plan.rule.k",
        &[
            "invalid value -1.0",
            "expected a finite multiple of the noise floor, > 0 and at most 1e6",
        ],
    );
}

#[test]
fn a_negative_rope_base_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (b, o) = replay_with(dir.path(), "/model/rope_base", json!(-1.0));
    assert_refused(&o, &b, "model.rope_base", &["invalid value -1.0", POSITIVE]);
}

#[test]
fn a_negative_norm_eps_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (b, o) = replay_with(dir.path(), "/model/norm_eps", json!(-1.0));
    assert_refused(&o, &b, "model.norm_eps", &["invalid value -1.0", POSITIVE]);
}

/// Before: the cpu backend, in the driftbench process, tried to allocate the model and the
/// process aborted (exit 134).
#[test]
fn an_absurd_synthetic_model_is_refused_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle_with(dir.path(), |json| {
        json["backend"] = json!("cpu");
        json["plugin"] = json!("cpu");
        json["pair"]["backend"] = json!("cpu");
        json["record"]["backend"] = json!("cpu");
        json["configured"] = Value::Null;
        json["model"]["vocab"] = json!(1_000_000_000_000u64);
    });
    let cpu = library("driftbench_backend_cpu");
    let o = replay(
        &bundle,
        &["--plugin", cpu.to_str().unwrap(), "--in-process"],
    );
    assert_refused(
        &o,
        &bundle,
        "model.vocab",
        &[
            "invalid value 1000000000000",
            "expected an integer of at least 2 and at most 1048576",
        ],
    );
}

/// A gguf bundle whose model is `path`.
fn gguf_bundle(dir: &Path, path: &Path) -> PathBuf {
    let p = path.to_str().unwrap().to_string();
    bundle_with(dir, move |json| {
        json["model"] = json!({ "kind": "gguf", "path": p });
    })
}

#[test]
fn a_model_path_that_is_a_fifo_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("model.gguf");
    mkfifo(&fifo);
    let bundle = gguf_bundle(dir.path(), &fifo);
    let o = replay(&bundle, &[]);
    assert_refused(
        &o,
        &bundle,
        "model.path",
        &[
            &format!("model file {}", fifo.display()),
            "is not a regular file (a fifo)",
        ],
    );
}

#[test]
fn a_model_path_that_is_a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.gguf");
    std::fs::create_dir(&model).unwrap();
    let bundle = gguf_bundle(dir.path(), &model);
    let o = replay(&bundle, &[]);
    assert_refused(
        &o,
        &bundle,
        "model.path",
        &[
            &format!("model file {}", model.display()),
            "is not a regular file (a directory)",
        ],
    );
}
