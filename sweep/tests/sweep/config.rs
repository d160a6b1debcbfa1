//! The sweep config: parsing, defaults, validation and error messages.

use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::model_spec::ModelSpec;
use driftbench_core::model_spec::SyntheticModel;
use driftbench_sweep::config::error::ConfigError;
use driftbench_sweep::config::{SweepConfig, DEFAULT_BLOCK_SIZE};
use driftbench_sweep::verdict::DtypeTolerance;
use driftbench_sweep::verdict::Envelope;
use std::path::{Path, PathBuf};

const SYNTHETIC: &str = r#"
[model]
kind = "synthetic"
layers = 2
hidden = 64
heads = 4
kv_heads = 2
ffn = 128
vocab = 256
weight_seed = 7
"#;

/// A minimal valid config with `sweep` as the [sweep] table body.
fn with_sweep(sweep: &str) -> String {
    format!("{SYNTHETIC}\n[sweep]\n{sweep}\n")
}

const MIN_SWEEP: &str = "spans = [32]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]";

fn parse(text: &str) -> Result<SweepConfig, ConfigError> {
    SweepConfig::parse(text, Path::new("configs/test-sweep.toml"))
}

/// Parse, expect an error, and check it names the file and every needle.
fn parse_err(text: &str, needles: &[&str]) -> ConfigError {
    let err = parse(text).expect_err("config should be rejected");
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "message is not one line: {msg:?}");
    assert!(
        msg.starts_with("configs/test-sweep.toml: "),
        "message does not start with the file: {msg}"
    );
    for needle in needles {
        assert!(msg.contains(needle), "message lacks {needle:?}: {msg}");
    }
    err
}

fn assert_invalid(err: &ConfigError, want_key: &str, want_value: &str) {
    match err {
        ConfigError::Invalid { key, value, .. } => {
            assert_eq!(key, want_key);
            assert_eq!(value, want_value);
        }
        other => panic!("expected ConfigError::Invalid, got {other:?}"),
    }
}

#[test]
fn valid_config_round_trips_every_field() {
    let text = r#"
name = "b3-sweep"
description = "the reference sweep"

[model]
kind = "synthetic"
layers = 3
hidden = 96
heads = 6
kv_heads = 3
ffn = 160
vocab = 300
rope_base = 500000.0
norm_eps = 1e-6
weight_seed = 42

[sweep]
backends = ["flex", "wgpu", "flex"]
spans = [512, 32, 128, 32]
dtypes = ["bf16", "f16", "f32", "f64", "bf16"]
kv_aligned = [1, 0, 1]
seeds = [2, 0, 1, 2]
block_size = 32
warmup = false
timeout_s = 600

[tolerances.bf16]
equiv = { max_abs = 1.5, min_top1 = 0.9 }
drift = { max_abs = 3.0, min_top1 = 0.8 }
"#;
    let cfg = parse(text).unwrap();
    assert_eq!(cfg.name, "b3-sweep");
    assert_eq!(cfg.description.as_deref(), Some("the reference sweep"));
    assert_eq!(cfg.path, PathBuf::from("configs/test-sweep.toml"));
    assert_eq!(
        cfg.model,
        ModelSpec::Synthetic(SyntheticModel {
            layers: 3,
            hidden: 96,
            heads: 6,
            kv_heads: 3,
            ffn: 160,
            vocab: 300,
            rope_base: 500000.0,
            norm_eps: 1e-6,
            weight_seed: 42,
        })
    );
    assert_eq!(cfg.backends, ["flex", "wgpu"]);
    assert_eq!(cfg.spans, [32, 128, 512]);
    assert_eq!(
        cfg.dtypes,
        [Dtype::Bf16, Dtype::F16, Dtype::F32, Dtype::F64]
    );
    assert_eq!(cfg.kv_aligned, [KvMode::Padded, KvMode::Aligned]);
    assert_eq!(cfg.seeds, [2, 0, 1]);
    assert_eq!(cfg.block_size, 32);
    assert!(!cfg.warmup);
    assert_eq!(cfg.timeout_s, Some(600.0));
    let bf16 = DtypeTolerance {
        equiv: Envelope {
            max_abs: 1.5,
            min_top1: 0.9,
        },
        drift: Envelope {
            max_abs: 3.0,
            min_top1: 0.8,
        },
    };
    assert_eq!(cfg.tolerance(Dtype::Bf16), bf16);
    assert_eq!(cfg.tolerances[&Dtype::Bf16], bf16);
    assert_eq!(
        cfg.tolerance(Dtype::F16),
        DtypeTolerance::default_for(Dtype::F16)
    );
}

#[test]
fn defaults_are_applied() {
    let cfg = parse(&with_sweep(MIN_SWEEP)).unwrap();
    assert_eq!(cfg.name, "test-sweep", "name defaults to the file stem");
    assert_eq!(cfg.description, None);
    assert!(cfg.backends.is_empty(), "no backends = every backend found");
    assert_eq!(cfg.block_size, DEFAULT_BLOCK_SIZE);
    assert_eq!(cfg.block_size, 16);
    assert!(cfg.warmup);
    assert_eq!(cfg.timeout_s, None);
    match &cfg.model {
        ModelSpec::Synthetic(m) => {
            assert_eq!(m.rope_base, 10000.0);
            assert_eq!(m.norm_eps, 1e-5);
            assert_eq!(m.weight_seed, 7);
        }
        other => panic!("expected a synthetic model, got {other:?}"),
    }
    assert_eq!(cfg.tolerances.len(), Dtype::ALL.len());
    for d in Dtype::ALL {
        assert_eq!(cfg.tolerances[&d], DtypeTolerance::default_for(d));
        assert_eq!(cfg.tolerance(d), DtypeTolerance::default_for(d));
    }
}

#[test]
fn fp16_alias_is_f16() {
    let cfg = parse(&with_sweep(
        "spans = [8]\ndtypes = [\"fp16\", \"f16\", \"BF16\"]\nkv_aligned = [0]\nseeds = [0]",
    ))
    .unwrap();
    assert_eq!(cfg.dtypes, [Dtype::F16, Dtype::Bf16]);

    let text = format!(
        "{}\n[tolerances.fp16]\nequiv = {{ max_abs = 0.5 }}\n",
        with_sweep(MIN_SWEEP)
    );
    let cfg = parse(&text).unwrap();
    assert_eq!(cfg.tolerance(Dtype::F16).equiv.max_abs, 0.5);
}

#[test]
fn relative_gguf_path_resolves_against_the_config_folder() {
    let sweep = format!("[sweep]\n{MIN_SWEEP}\n");
    let text = format!("[model]\nkind = \"gguf\"\npath = \"../models/m.gguf\"\n{sweep}");
    let cfg = SweepConfig::parse(&text, Path::new("/srv/bench/configs/b3.toml")).unwrap();
    assert_eq!(
        cfg.model,
        ModelSpec::Gguf {
            path: PathBuf::from("/srv/bench/configs/../models/m.gguf")
        }
    );

    let text = format!("[model]\nkind = \"gguf\"\npath = \"/abs/m.gguf\"\n{sweep}");
    let cfg = SweepConfig::parse(&text, Path::new("/srv/bench/configs/b3.toml")).unwrap();
    assert_eq!(
        cfg.model,
        ModelSpec::Gguf {
            path: PathBuf::from("/abs/m.gguf")
        }
    );

    // A config named without a folder: the path stays relative to the working directory.
    let text = format!("[model]\nkind = \"gguf\"\npath = \"m.gguf\"\n{sweep}");
    let cfg = SweepConfig::parse(&text, Path::new("b3.toml")).unwrap();
    assert_eq!(
        cfg.model,
        ModelSpec::Gguf {
            path: PathBuf::from("m.gguf")
        }
    );
}

#[test]
fn load_reads_a_file_and_resolves_against_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quick.toml");
    let text = format!("[model]\nkind = \"gguf\"\npath = \"m.gguf\"\n[sweep]\n{MIN_SWEEP}\n");
    std::fs::write(&path, text).unwrap();
    let cfg = SweepConfig::load(&path).unwrap();
    assert_eq!(cfg.name, "quick");
    assert_eq!(cfg.path, path);
    assert_eq!(
        cfg.model,
        ModelSpec::Gguf {
            path: dir.path().join("m.gguf")
        }
    );
}

#[test]
fn tolerance_override_of_one_field_keeps_the_others() {
    let text = format!(
        "{}\n[tolerances.f16]\ndrift = {{ min_top1 = 0.5 }}\n",
        with_sweep(MIN_SWEEP)
    );
    let cfg = parse(&text).unwrap();
    let default = DtypeTolerance::default_for(Dtype::F16);
    let got = cfg.tolerance(Dtype::F16);
    assert_eq!(got.drift.min_top1, 0.5);
    assert_ne!(default.drift.min_top1, 0.5);
    assert_eq!(got.drift.max_abs, default.drift.max_abs);
    assert_eq!(got.equiv, default.equiv);
    for d in [Dtype::F32, Dtype::Bf16, Dtype::F64] {
        assert_eq!(cfg.tolerance(d), DtypeTolerance::default_for(d));
    }
}

#[test]
fn unknown_top_level_key_is_rejected() {
    let text = format!("bogus_key = 3\n{}", with_sweep(MIN_SWEEP));
    let err = parse_err(&text, &["`bogus_key`", "unknown field", "line 1"]);
    assert!(matches!(err, ConfigError::Parse { .. }), "{err:?}");
}

#[test]
fn unknown_key_in_sweep_is_rejected() {
    let text = with_sweep(&format!("{MIN_SWEEP}\nspanz = [64]"));
    parse_err(&text, &["key `sweep.spanz`", "unknown field `spanz`"]);
}

#[test]
fn unknown_key_in_model_and_tolerances_is_rejected() {
    let text = format!("{SYNTHETIC}layerz = 4\n[sweep]\n{MIN_SWEEP}\n");
    parse_err(&text, &["key `model.layerz`", "unknown field `layerz`"]);

    let text = format!(
        "{}\n[tolerances.f16]\nequiv = {{ max_ab = 1.0 }}\n",
        with_sweep(MIN_SWEEP)
    );
    parse_err(
        &text,
        &["key `tolerances.f16.equiv.max_ab`", "unknown field"],
    );
}

#[test]
fn wrong_type_names_key_value_and_expectation() {
    let text = with_sweep("spans = \"32\"\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]");
    parse_err(
        &text,
        &["key `sweep.spans`", "\"32\"", "expected an array", "line "],
    );

    let text = with_sweep(&format!("{MIN_SWEEP}\nblock_size = \"big\""));
    parse_err(
        &text,
        &["key `sweep.block_size`", "\"big\"", "expected an integer"],
    );

    let text = format!(
        "{}\n[tolerances.f16]\nequiv = {{ max_abs = \"tight\" }}\n",
        with_sweep(MIN_SWEEP)
    );
    parse_err(
        &text,
        &[
            "key `tolerances.f16.equiv.max_abs`",
            "\"tight\"",
            "expected a number",
        ],
    );
}

#[test]
fn empty_list_is_rejected() {
    for key in ["spans", "dtypes", "kv_aligned", "seeds"] {
        let sweep = MIN_SWEEP
            .lines()
            .map(|l| {
                if l.starts_with(&format!("{key} =")) {
                    format!("{key} = []")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let full_key = format!("sweep.{key}");
        let err = parse_err(
            &with_sweep(&sweep),
            &[&full_key, "[]", "expected a non-empty list"],
        );
        assert_invalid(&err, &full_key, "[]");
    }
}

#[test]
fn span_zero_is_rejected() {
    let text = with_sweep("spans = [32, 0]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]");
    let err = parse_err(
        &text,
        &[
            "key `sweep.spans`",
            "invalid value 0",
            "expected a span of at least 1 token",
        ],
    );
    assert_invalid(&err, "sweep.spans", "0");
}

#[test]
fn kv_aligned_two_is_rejected() {
    let text = with_sweep("spans = [32]\ndtypes = [\"f32\"]\nkv_aligned = [0, 2]\nseeds = [0]");
    let err = parse_err(
        &text,
        &[
            "key `sweep.kv_aligned`",
            "invalid value 2",
            "expected 0 or 1",
        ],
    );
    assert_invalid(&err, "sweep.kv_aligned", "2");
}

#[test]
fn unknown_dtype_is_rejected() {
    let text =
        with_sweep("spans = [32]\ndtypes = [\"f32\", \"fp8\"]\nkv_aligned = [1]\nseeds = [0]");
    let err = parse_err(&text, &["key `sweep.dtypes`", "\"fp8\"", "bf16"]);
    assert_invalid(&err, "sweep.dtypes", "\"fp8\"");
}

#[test]
fn unknown_dtype_in_tolerances_is_rejected() {
    let text = format!(
        "{}\n[tolerances.fp8]\nequiv = {{ max_abs = 1.0 }}\n",
        with_sweep(MIN_SWEEP)
    );
    let err = parse_err(&text, &["key `tolerances.fp8`", "\"fp8\"", "dtype"]);
    assert_invalid(&err, "tolerances.fp8", "\"fp8\"");
}

#[test]
fn same_dtype_twice_in_tolerances_is_rejected() {
    let text = format!(
        "{}\n[tolerances.f16]\nequiv = {{ max_abs = 1.0 }}\n[tolerances.fp16]\nequiv = {{ max_abs = 2.0 }}\n",
        with_sweep(MIN_SWEEP)
    );
    parse_err(&text, &["tolerances.fp16", "at most once"]);
}

#[test]
fn negative_max_abs_is_rejected() {
    let text = format!(
        "{}\n[tolerances.f16]\nequiv = {{ max_abs = -1.0 }}\n",
        with_sweep(MIN_SWEEP)
    );
    let err = parse_err(
        &text,
        &["key `tolerances.f16.equiv.max_abs`", "-1.0", ">= 0"],
    );
    assert_invalid(&err, "tolerances.f16.equiv.max_abs", "-1.0");

    let text = format!(
        "{}\n[tolerances.bf16.drift]\nmin_top1 = 1.5\n",
        with_sweep(MIN_SWEEP)
    );
    let err = parse_err(&text, &["key `tolerances.bf16.drift.min_top1`", "1.5"]);
    assert_invalid(&err, "tolerances.bf16.drift.min_top1", "1.5");
}

#[test]
fn missing_model_is_rejected() {
    let text = format!("name = \"x\"\n[sweep]\n{MIN_SWEEP}\n");
    let err = parse_err(&text, &["key `model`", "missing field `model`"]);
    assert!(matches!(err, ConfigError::Parse { .. }), "{err:?}");
}

#[test]
fn missing_spans_names_the_key() {
    let text = with_sweep("dtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]");
    parse_err(&text, &["key `sweep.spans`", "missing field `spans`"]);
}

#[test]
fn other_sweep_values_are_validated() {
    let err = parse_err(
        &with_sweep(&format!("{MIN_SWEEP}\nblock_size = 0")),
        &["sweep.block_size", "invalid value 0"],
    );
    assert_invalid(&err, "sweep.block_size", "0");
    let err = parse_err(
        &with_sweep(&format!("{MIN_SWEEP}\ntimeout_s = -5")),
        &["sweep.timeout_s", "-5"],
    );
    assert_invalid(&err, "sweep.timeout_s", "-5.0");
    let err = parse_err(
        &with_sweep("spans = [8]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [-1]"),
        &["sweep.seeds", "-1"],
    );
    assert_invalid(&err, "sweep.seeds", "-1");
}

#[test]
fn synthetic_model_shape_is_validated() {
    let sweep = format!("[sweep]\n{MIN_SWEEP}\n");
    let model = |fields: &str| format!("[model]\nkind = \"synthetic\"\n{fields}\n{sweep}");
    let cases = [
        (
            "layers = 0\nhidden = 64\nheads = 4\nkv_heads = 2\nffn = 128\nvocab = 256",
            "model.layers",
            "0",
        ),
        (
            "layers = 1\nhidden = 64\nheads = 4\nkv_heads = 3\nffn = 128\nvocab = 256",
            "model.heads",
            "4",
        ),
        (
            "layers = 1\nhidden = 66\nheads = 4\nkv_heads = 2\nffn = 128\nvocab = 256",
            "model.hidden",
            "66",
        ),
        (
            "layers = 1\nhidden = 12\nheads = 4\nkv_heads = 2\nffn = 128\nvocab = 256",
            "model.hidden",
            "12",
        ),
        (
            "layers = 1\nhidden = 64\nheads = 4\nkv_heads = 2\nffn = 128\nvocab = 1",
            "model.vocab",
            "1",
        ),
    ];
    for (fields, key, value) in cases {
        let err = parse_err(&model(fields), &[key, value]);
        assert_invalid(&err, key, value);
    }
}

#[test]
fn missing_file_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-sweep.toml");
    let err = SweepConfig::load(&path).expect_err("missing file");
    assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("no-such-sweep.toml"), "{msg}");
    assert!(msg.contains("cannot read config"), "{msg}");
    assert_eq!(err.file(), path.display().to_string());
}

#[test]
fn syntax_error_is_one_line_with_position() {
    let text = with_sweep("spans = [32\ndtypes = [\"f32\"]");
    let err = parse_err(&text, &["line "]);
    assert!(matches!(err, ConfigError::Parse { .. }), "{err:?}");
}

#[test]
fn unknown_subtable_of_sweep_names_the_full_key() {
    let text = format!("{}[sweep.extra]\nx = 1\n", with_sweep(MIN_SWEEP));
    parse_err(&text, &["key `sweep.extra`", "unknown field `extra`"]);
}

#[test]
fn wrong_type_in_model_names_the_model_key() {
    let text = format!(
        "{}\n[sweep]\n{MIN_SWEEP}\n",
        SYNTHETIC.replace("layers = 2", "layers = -2")
    );
    parse_err(
        &text,
        &[
            "key `model.layers`",
            "-2",
            "expected a non-negative integer",
        ],
    );

    let text = format!(
        "{}\n[sweep]\n{MIN_SWEEP}\n",
        SYNTHETIC.replace("vocab = 256", "vocab = \"256\"")
    );
    parse_err(&text, &["key `model.vocab`", "\"256\""]);

    let text = format!("[model]\nkind = \"onnx\"\n[sweep]\n{MIN_SWEEP}\n");
    parse_err(&text, &["key `model.kind`", "onnx", "gguf"]);

    let text = format!("[model]\npath = \"m.gguf\"\n[sweep]\n{MIN_SWEEP}\n");
    parse_err(&text, &["key `model.kind`", "missing field `kind`"]);
}

#[test]
fn spans_beyond_max_span_are_rejected() {
    for span in ["1000000000", "9223372036854775807", "1048577"] {
        let text = with_sweep(&format!(
            "spans = [32, {span}]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]"
        ));
        let err = parse_err(
            &text,
            &["key `sweep.spans`", span, "at most 1048576", "2^20"],
        );
        assert_invalid(&err, "sweep.spans", span);
    }
    // The cap itself is accepted, for a model whose logits stay within budget.
    let text = format!(
        "{}\n[sweep]\nspans = [1048576]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\n",
        SYNTHETIC.replace("vocab = 256", "vocab = 2")
    );
    assert_eq!(parse(&text).unwrap().spans, [1 << 20]);
}

#[test]
fn synthetic_spans_keep_logits_within_budget() {
    // vocab 256: 2^28 / 2^8 = 2^20 = MAX_SPAN; vocab 2^20 allows 256 tokens.
    let text = format!(
        "{}\n[sweep]\nspans = [257]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\n",
        SYNTHETIC.replace("vocab = 256", "vocab = 1048576")
    );
    let err = parse_err(
        &text,
        &[
            "key `sweep.spans`",
            "257",
            "at most 256",
            "268435456 logits",
        ],
    );
    assert_invalid(&err, "sweep.spans", "257");
}

#[test]
fn block_size_beyond_max_span_is_rejected() {
    let err = parse_err(
        &with_sweep(&format!("{MIN_SWEEP}\nblock_size = 9223372036854775807")),
        &["sweep.block_size", "9223372036854775807", "at most 1048576"],
    );
    assert_invalid(&err, "sweep.block_size", "9223372036854775807");
}

#[test]
fn timeouts_are_bounded() {
    for (key, value, shown) in [
        ("timeout_s", "1e300", "1e300"),
        ("timeout_s", "604801", "604801.0"),
        ("timeout_s", "nan", "nan"),
        ("open_timeout_s", "1e300", "1e300"),
        ("open_timeout_s", "0", "0.0"),
    ] {
        let full = format!("sweep.{key}");
        let err = parse_err(
            &with_sweep(&format!("{MIN_SWEEP}\n{key} = {value}")),
            &[&full, shown, "at most 604800 (7 days)"],
        );
        assert_invalid(&err, &full, shown);
    }
    let cfg = parse(&with_sweep(&format!(
        "{MIN_SWEEP}\ntimeout_s = 604800\nopen_timeout_s = 0.5"
    )))
    .unwrap();
    assert_eq!(cfg.timeout_s, Some(604800.0));
    assert_eq!(cfg.open_timeout_s, 0.5);
}

#[test]
fn synthetic_sizes_are_bounded() {
    let sweep = format!("[sweep]\n{MIN_SWEEP}\n");
    let model = |fields: &str| format!("[model]\nkind = \"synthetic\"\n{fields}\n{sweep}");
    let cases = [
        (
            "layers = 2\nhidden = 64\nheads = 4\nkv_heads = 2\nffn = 128\nvocab = 1000000000000",
            "model.vocab",
            "1000000000000",
            "at most 1048576",
        ),
        (
            "layers = 100000000\nhidden = 64\nheads = 4\nkv_heads = 2\nffn = 128\nvocab = 256",
            "model.layers",
            "100000000",
            "at most 256",
        ),
        (
            "layers = 2\nhidden = 131072\nheads = 4\nkv_heads = 2\nffn = 128\nvocab = 256",
            "model.hidden",
            "131072",
            "at most 65536",
        ),
        (
            "layers = 2\nhidden = 64\nheads = 4\nkv_heads = 2\nffn = 9223372036854775807\nvocab = 256",
            "model.ffn",
            "9223372036854775807",
            "at most 65536",
        ),
        (
            "layers = 2\nhidden = 4096\nheads = 2048\nkv_heads = 2\nffn = 128\nvocab = 256",
            "model.heads",
            "2048",
            "at most 1024",
        ),
        // Each size in range, but 256 × (4 × 65536² + 3 × 65536 × 65536) parameters.
        (
            "layers = 256\nhidden = 65536\nheads = 4\nkv_heads = 2\nffn = 65536\nvocab = 256",
            "model",
            "7696614948864",
            "at most 2147483648 parameters (2^31)",
        ),
    ];
    for (fields, key, value, limit) in cases {
        let err = parse_err(&model(fields), &[key, value, limit]);
        assert_invalid(&err, key, value);
    }
}

#[test]
fn unsafe_names_are_rejected() {
    for (name, shown) in [
        ("/abs", "\"/abs\""),
        ("../..", "\"../..\""),
        ("a\\nb", "\"a\\nb\""),
        ("a/b", "\"a/b\""),
        (".hidden", "\".hidden\""),
        ("", "\"\""),
        ("white space", "\"white space\""),
    ] {
        let text = format!("name = \"{name}\"\n{}", with_sweep(MIN_SWEEP));
        let err = parse_err(&text, &["key `name`", shown, "out/<name>"]);
        assert_invalid(&err, "name", shown);
    }
    let long = "x".repeat(65);
    let text = format!("name = \"{long}\"\n{}", with_sweep(MIN_SWEEP));
    parse_err(&text, &["key `name`", "at most 64"]);
    let text = format!("name = \"a-b_c.1\"\n{}", with_sweep(MIN_SWEEP));
    assert_eq!(parse(&text).unwrap().name, "a-b_c.1");
}

#[test]
fn default_name_from_the_file_stem_is_made_safe() {
    let text = with_sweep(MIN_SWEEP);
    for (file, name) in [
        ("configs/my sweep\n.toml", "my_sweep_"),
        ("configs/.hidden.toml", "_hidden"),
        ("configs/ok-1.toml", "ok-1"),
        ("/", "sweep"),
    ] {
        let cfg = SweepConfig::parse(&text, Path::new(file)).unwrap();
        assert_eq!(cfg.name, name, "{file:?}");
    }
    let long = format!("{}.toml", "y".repeat(100));
    let cfg = SweepConfig::parse(&text, Path::new(&long)).unwrap();
    assert_eq!(cfg.name, "y".repeat(64));
}

#[test]
fn description_with_control_characters_is_rejected() {
    for (desc, shown) in [
        ("line\\nheading", "\"line\\nheading\""),
        ("red \\u001b[31m", "\"red \\u{1b}[31m\""),
    ] {
        let text = format!("description = \"{desc}\"\n{}", with_sweep(MIN_SWEEP));
        let err = parse_err(&text, &["key `description`", shown, "control characters"]);
        assert_invalid(&err, "description", shown);
    }
}

#[cfg(unix)]
#[test]
fn non_regular_config_is_refused_without_opening_it() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.toml");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    // Opening the FIFO would block until a writer comes: this returns at once.
    for (path, kind) in [(fifo, "a fifo"), (dir.path().to_path_buf(), "a directory")] {
        let err = SweepConfig::load(&path).expect_err("not a regular file");
        assert!(matches!(err, ConfigError::NotRegularFile { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("not a regular file ({kind})")),
            "{msg}"
        );
        assert!(msg.starts_with(&path.display().to_string()), "{msg}");
        assert!(!msg.contains("not found"), "{msg}");
    }
}

#[test]
fn reference_table_defaults_and_values() {
    use driftbench_sweep::noise_floor::{ToleranceMode, DEFAULT_FLOOR_K};
    let cfg = parse(&with_sweep(MIN_SWEEP)).unwrap();
    assert_eq!(cfg.reference.backend, None);
    assert!(
        cfg.reference.noise_floor,
        "the noise floor is measured by default"
    );
    assert_eq!(cfg.reference.floor_backend, "cpu");
    assert!(
        !cfg.reference.floor_decode,
        "the f64 prefill is both routes' reference"
    );
    assert_eq!(cfg.reference.rule.k, DEFAULT_FLOOR_K);
    assert_eq!(cfg.reference.rule.mode, ToleranceMode::Fixed);

    let cfg = parse(&format!(
        "{}\n[reference]\nbackend = \"wgpu\"\nfloor_backend = \"my-cpu\"\nfloor_k = 2.5\n\
         tolerance_mode = \"both\"\nfloor_routes = \"both\"\n",
        with_sweep(MIN_SWEEP)
    ))
    .unwrap();
    assert_eq!(cfg.reference.backend.as_deref(), Some("wgpu"));
    assert_eq!(cfg.reference.floor_backend, "my-cpu");
    assert!(cfg.reference.floor_decode);
    assert_eq!(cfg.reference.rule.k, 2.5);
    assert_eq!(cfg.reference.rule.mode, ToleranceMode::Both);
}

#[test]
fn reference_table_errors_name_key_value_and_expectation() {
    for (body, key, shown, expected) in [
        ("floor_k = 0", "reference.floor_k", "0.0", "> 0"),
        ("floor_k = nan", "reference.floor_k", "nan", "> 0"),
        (
            "floor_k = 1e9",
            "reference.floor_k",
            "1000000000.0",
            "at most 1e6",
        ),
        (
            "tolerance_mode = \"loose\"",
            "reference.tolerance_mode",
            "\"loose\"",
            "\"noise_floor\"",
        ),
        (
            "floor_routes = \"decode\"",
            "reference.floor_routes",
            "\"decode\"",
            "\"prefill\"",
        ),
        (
            "backend = \"a/b\"",
            "reference.backend",
            "\"a/b\"",
            "backend name",
        ),
        (
            "noise_floor = false\ntolerance_mode = \"noise_floor\"",
            "reference.noise_floor",
            "false",
            "judges drift against the noise floor",
        ),
    ] {
        let text = format!("{}\n[reference]\n{body}\n", with_sweep(MIN_SWEEP));
        let err = parse_err(&text, &[key, shown, expected]);
        assert_invalid(&err, key, shown);
    }
    parse_err(
        &format!("{}\n[reference]\nfloor = 3\n", with_sweep(MIN_SWEEP)),
        &["floor"],
    );
}

#[test]
fn repetitions_default_to_one_and_take_a_count() {
    let cfg = parse(&with_sweep(MIN_SWEEP)).unwrap();
    assert_eq!(cfg.repetitions, 1);
    assert!(cfg.profile.roofline, "roofline is on by default");
    let cfg = parse(&format!(
        "{}\n[profile]\nroofline = false\n",
        with_sweep(&format!("{MIN_SWEEP}\nrepetitions = 3"))
    ))
    .unwrap();
    assert_eq!(cfg.repetitions, 3);
    assert!(!cfg.profile.roofline);
    // The plan a resumed journal is checked against records them.
    let plan = driftbench_sweep::plan::SweepPlan::of(&cfg, &["flex".to_string()]);
    assert_eq!(plan.repetitions, 3);
    let mut other = plan.clone();
    other.repetitions = 1;
    assert!(plan
        .changes(&other)
        .iter()
        .any(|c| c.starts_with("repetitions")));
}

#[test]
fn repetitions_out_of_range_name_file_key_and_value() {
    for (value, shown) in [("0", "0"), ("-2", "-2"), ("1001", "1001")] {
        let err = parse_err(
            &with_sweep(&format!("{MIN_SWEEP}\nrepetitions = {value}")),
            &["sweep.repetitions", shown, "1 to 1000"],
        );
        assert_invalid(&err, "sweep.repetitions", shown);
    }
    parse_err(
        &with_sweep(&format!("{MIN_SWEEP}\nrepetitions = 2.5")),
        &["repetitions"],
    );
    parse_err(
        &format!("{}\n[profile]\nroofline = 1\n", with_sweep(MIN_SWEEP)),
        &["roofline"],
    );
    parse_err(
        &format!("{}\n[profile]\nrofline = true\n", with_sweep(MIN_SWEEP)),
        &["rofline"],
    );
}

/// `line L, column C` of the first `needle` in `text` (1-based, column in characters).
fn position_of(text: &str, needle: &str) -> String {
    let at = text.find(needle).expect("needle in text");
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    format!("line {line}, column {column}")
}

#[test]
fn wrong_type_deep_in_tables_names_the_key_path_and_position() {
    let text = format!(
        "{}\n[tolerances.f16]\nequiv = {{ max_abs = \"x\" }}\n",
        with_sweep(MIN_SWEEP)
    );
    let want = format!(
        "configs/test-sweep.toml: {}: key `tolerances.f16.equiv.max_abs`: \
         invalid type: string \"x\", expected a number",
        position_of(&text, "\"x\"")
    );
    assert_eq!(parse_err(&text, &[]).to_string(), want);

    // The same key written as a dotted key, and as nested inline tables.
    let text = format!(
        "{}\n[tolerances.f16]\nequiv.max_abs = \"x\"\n",
        with_sweep(MIN_SWEEP)
    );
    parse_err(
        &text,
        &[
            &position_of(&text, "\"x\""),
            "key `tolerances.f16.equiv.max_abs`",
        ],
    );
    let text = format!(
        "tolerances = {{ f16 = {{ equiv = {{ max_abs = \"x\" }} }} }}\n{}",
        with_sweep(MIN_SWEEP)
    );
    parse_err(
        &text,
        &[
            &position_of(&text, "\"x\""),
            "key `tolerances.f16.equiv.max_abs`",
        ],
    );
}

#[test]
fn wrong_type_in_an_array_names_the_element() {
    let text = with_sweep("spans = [1, \"2\"]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]");
    let want = format!(
        "configs/test-sweep.toml: {}: key `sweep.spans[1]`: \
         invalid type: string \"2\", expected an integer",
        position_of(&text, "\"2\"")
    );
    assert_eq!(parse_err(&text, &[]).to_string(), want);

    let text = with_sweep("spans = [32]\ndtypes = [\"f32\", 16]\nkv_aligned = [1]\nseeds = [0]");
    parse_err(
        &text,
        &[
            &position_of(&text, "16"),
            "key `sweep.dtypes[1]`",
            "expected a string",
        ],
    );
}

#[test]
fn unknown_or_missing_keys_below_dotted_keys_and_subtables_name_the_full_path() {
    // `equiv.foo` is a key of the `equiv` table, not of `f16`.
    let text = format!(
        "{}\n[tolerances.f16]\nequiv.max_abs = 1.0\nequiv.foo = 1\n",
        with_sweep(MIN_SWEEP)
    );
    parse_err(
        &text,
        &[
            &position_of(&text, "foo"),
            "key `tolerances.f16.equiv.foo`",
            "unknown field `foo`",
            "`max_abs` or `min_top1`",
        ],
    );
    // A header below an unknown key, and a `[model]` table that only has a subtable.
    let text = format!("{}\n[sweep.extra.deeper]\nx = 1\n", with_sweep(MIN_SWEEP));
    parse_err(&text, &["key `sweep.extra`", "unknown field `extra`"]);
    let text = format!("[model.sub]\nkind = \"gguf\"\n[sweep]\n{MIN_SWEEP}\n");
    parse_err(&text, &["key `model.kind`", "missing field `kind`"]);
    // In the `kind`-tagged [model] table, an unknown key named like the table.
    let text = format!(
        "{}model = 1\n[sweep]\n{MIN_SWEEP}\n",
        SYNTHETIC.trim_start()
    );
    parse_err(&text, &["key `model.model`", "unknown field `model`"]);
}
