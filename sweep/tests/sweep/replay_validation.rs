//! A replay bundle's values go through the config's own checks: every value a config refuses
//! is refused in `bundle.json` with the same words, under the bundle's key and naming the
//! bundle file; and the tolerance bound both share (`MAX_TOLERANCE_ABS`).

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_sweep::config::{SweepConfig, MAX_TOLERANCE_ABS};
use driftbench_sweep::plan::PairPlan;
use driftbench_sweep::records::{BackendEntry, PairKey, PairRecord};
use driftbench_sweep::replay::{write_bundle, Bundle, BundleError, BundleLogits, BUNDLE_FILE};
use driftbench_sweep::verdict::Verdict;
use serde_json::{json, Value};
use std::path::Path;

const MODEL: &str = "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 16\nheads = 2\n\
    kv_heads = 1\nffn = 32\nvocab = 32\n";
const SWEEP: &str = "\n[sweep]\nspans = [3]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [7]\n\
    timeout_s = 30\n";

/// A bundle of the failing pair (span 3, f32, kv_aligned 1, seed 7), written into `dir`.
fn write(dir: &Path) {
    let cfg = SweepConfig::parse(&format!("{MODEL}{SWEEP}"), Path::new("ok.toml")).unwrap();
    let key = PairKey {
        backend: "shifted".into(),
        span: 3,
        dtype: Dtype::F32,
        kv_aligned: KvMode::Aligned,
        seed: 7,
    };
    let record = PairRecord {
        key,
        verdict: Verdict::FailEquiv,
        reason: Some("max_abs_diff 0.5 > 0.001 (f32 equiv)".into()),
        metrics: None,
        envelope: None,
        floor: None,
        repeat_mismatch: Vec::new(),
        transport: None,
    };
    let entry = BackendEntry {
        name: "shifted".into(),
        source: "plugin libtest.so".into(),
        probe: None,
        error: None,
        plugin: Some("testplugin".into()),
        configured: None,
    };
    let plan = PairPlan::of(&cfg, Dtype::F32);
    let b = Bundle::new(&cfg, &entry, &plan, &record, 32, None);
    write_bundle(dir, &b, &BundleLogits::default()).unwrap();
}

/// The error of reading the bundle in `dir` after `edit` of its `bundle.json`.
fn read_edited(dir: &Path, edit: impl FnOnce(&mut Value)) -> BundleError {
    let path = dir.join(BUNDLE_FILE);
    let mut json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut json);
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    Bundle::read(dir).expect_err("the edited bundle should be refused")
}

/// What follows ``key `KEY`: `` in `msg`, which must start with `file`.
fn after_key<'a>(msg: &'a str, file: &str, key: &str) -> &'a str {
    let head = format!("{file}: key `{key}`: ");
    msg.strip_prefix(&head)
        .unwrap_or_else(|| panic!("`{head}` does not start: {msg}"))
}

/// One value both a config and a bundle can hold.
struct Case {
    /// The config with the value (TOML), and the key its error names.
    config: String,
    config_key: &'static str,
    /// Where the bundle holds it (a JSON pointer), the value, and the key its error names.
    pointer: &'static str,
    value: Value,
    bundle_key: &'static str,
}

fn sweep_with(line: &str) -> String {
    format!("{MODEL}{SWEEP}{line}\n")
}

fn model_with(line: &str) -> String {
    format!("{MODEL}{line}\n{SWEEP}")
}

fn cases() -> Vec<Case> {
    let case = |config: String, config_key, pointer, value: Value, bundle_key| Case {
        config,
        config_key,
        pointer,
        value,
        bundle_key,
    };
    vec![
        case(
            sweep_with("open_timeout_s = 1e300"),
            "sweep.open_timeout_s",
            "/open_timeout_s",
            json!(1e300),
            "open_timeout_s",
        ),
        case(
            MODEL.to_string() + &SWEEP.replace("timeout_s = 30", "timeout_s = -1.0"),
            "sweep.timeout_s",
            "/run_timeout_s",
            json!(-1.0),
            "run_timeout_s",
        ),
        case(
            MODEL.to_string() + &SWEEP.replace("timeout_s = 30", "timeout_s = 0.0"),
            "sweep.timeout_s",
            "/run_timeout_s",
            json!(0.0),
            "run_timeout_s",
        ),
        case(
            sweep_with("block_size = 0"),
            "sweep.block_size",
            "/plan/block_size",
            json!(0),
            "plan.block_size",
        ),
        case(
            sweep_with("block_size = 4611686018427387904"),
            "sweep.block_size",
            "/plan/block_size",
            json!(1u64 << 62),
            "plan.block_size",
        ),
        case(
            sweep_with("[tolerances.f32]\nequiv = { max_abs = -1.0 }"),
            "tolerances.f32.equiv.max_abs",
            "/plan/tolerance/equiv/max_abs",
            json!(-1.0),
            "plan.tolerance.equiv.max_abs",
        ),
        case(
            sweep_with("[tolerances.f32]\ndrift = { max_abs = 1e308 }"),
            "tolerances.f32.drift.max_abs",
            "/plan/tolerance/drift/max_abs",
            json!(1e308),
            "plan.tolerance.drift.max_abs",
        ),
        case(
            sweep_with("[tolerances.f32]\nequiv = { min_top1 = 1.5 }"),
            "tolerances.f32.equiv.min_top1",
            "/plan/tolerance/equiv/min_top1",
            json!(1.5),
            "plan.tolerance.equiv.min_top1",
        ),
        case(
            sweep_with("[tolerances.f32]\ndrift = { min_top1 = -0.5 }"),
            "tolerances.f32.drift.min_top1",
            "/plan/tolerance/drift/min_top1",
            json!(-0.5),
            "plan.tolerance.drift.min_top1",
        ),
        case(
            sweep_with("[reference]\nfloor_k = -1.0"),
            "reference.floor_k",
            "/plan/rule/k",
            json!(-1.0),
            "plan.rule.k",
        ),
        case(
            model_with("rope_base = -1.0"),
            "model.rope_base",
            "/model/rope_base",
            json!(-1.0),
            "model.rope_base",
        ),
        case(
            model_with("norm_eps = -1.0"),
            "model.norm_eps",
            "/model/norm_eps",
            json!(-1.0),
            "model.norm_eps",
        ),
        case(
            MODEL.replace("vocab = 32", "vocab = 1000000000000") + SWEEP,
            "model.vocab",
            "/model/vocab",
            json!(1_000_000_000_000u64),
            "model.vocab",
        ),
        case(
            MODEL.replace("hidden = 16", "hidden = 18") + SWEEP,
            "model.hidden",
            "/model/hidden",
            json!(18),
            "model.hidden",
        ),
        case(
            MODEL
                .replace("layers = 1", "layers = 256")
                .replace("hidden = 16", "hidden = 65536")
                + SWEEP,
            "model",
            "/model",
            json!({
                "kind": "synthetic", "layers": 256, "hidden": 65536, "heads": 2,
                "kv_heads": 1, "ffn": 32, "vocab": 32,
            }),
            "model",
        ),
    ]
}

#[test]
fn a_bundle_refuses_what_the_config_refuses_in_the_same_words() {
    let root = tempfile::tempdir().unwrap();
    for (i, case) in cases().into_iter().enumerate() {
        let cfg_err = SweepConfig::parse(&case.config, Path::new("case.toml"))
            .expect_err(&case.config)
            .to_string();
        let dir = root.path().join(i.to_string());
        write(&dir);
        let e = read_edited(&dir, |json| {
            *json.pointer_mut(case.pointer).unwrap() = case.value.clone();
        });
        assert!(matches!(e, BundleError::Invalid { .. }), "{e}");
        let bundle_err = e.to_string();
        let file = dir.join(BUNDLE_FILE).display().to_string();
        assert_eq!(
            after_key(&bundle_err, &file, case.bundle_key),
            after_key(&cfg_err, "case.toml", case.config_key),
            "the bundle's error ({bundle_err}) and the config's ({cfg_err}) differ"
        );
        assert!(!bundle_err.contains('\n'), "{bundle_err}");
    }
}

/// A span the model's logits budget refuses: the config's `sweep.spans`, the bundle's
/// `pair.span` (with as many tokens, so only the span is wrong).
#[test]
fn a_bundle_span_beyond_its_synthetic_model_is_refused_as_in_the_config() {
    let big = MODEL.replace("vocab = 32", "vocab = 1048576");
    let cfg_err = SweepConfig::parse(
        &format!("{big}{}", SWEEP.replace("spans = [3]", "spans = [300]")),
        Path::new("case.toml"),
    )
    .expect_err("span 300 × vocab 2^20 passes 2^28 logits")
    .to_string();
    let root = tempfile::tempdir().unwrap();
    write(root.path());
    let e = read_edited(root.path(), |json| {
        json["model"]["vocab"] = json!(1048576);
        json["pair"]["span"] = json!(300);
        json["tokens"] = json!(vec![0; 300]);
    })
    .to_string();
    let file = root.path().join(BUNDLE_FILE).display().to_string();
    let rest = after_key(&e, &file, "pair.span");
    assert_eq!(rest, after_key(&cfg_err, "case.toml", "sweep.spans"));
    assert!(
        rest.starts_with("invalid value 300: expected a span"),
        "{e}"
    );
}

/// Before, any finite `max_abs` was accepted: 1e308 passes every finite drift.
#[test]
fn a_config_tolerance_is_bounded_by_max_tolerance_abs() {
    assert_eq!(MAX_TOLERANCE_ABS, 1e6);
    for (v, ok) in [
        ("0.0", true),
        ("1e6", true),
        ("1000001.0", false),
        ("1e308", false),
    ] {
        let text = sweep_with(&format!("[tolerances.f16]\nequiv = {{ max_abs = {v} }}"));
        let got = SweepConfig::parse(&text, Path::new("t.toml"));
        assert_eq!(got.is_ok(), ok, "max_abs = {v}: {got:?}");
        if let Err(e) = got {
            let msg = e.to_string();
            assert!(
                msg.contains("key `tolerances.f16.equiv.max_abs`")
                    && msg.contains("expected a finite number >= 0 and at most 1e6"),
                "{msg}"
            );
        }
    }
}

/// A bundle the sweep wrote, every value within the config's bounds, is read as written.
#[test]
fn a_written_bundle_passes_its_checks() {
    let root = tempfile::tempdir().unwrap();
    write(root.path());
    let b = Bundle::read(root.path()).unwrap();
    assert_eq!(b.run_timeout_s, Some(30.0));
    assert_eq!(b.plan.block_size, 16);
}
