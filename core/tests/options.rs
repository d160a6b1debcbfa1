//! Backend options: the strict reader plugins use, and `[backends.<name>]` tables.

use driftbench_core::config::SweepConfig;
use driftbench_core::options::{describe, OptionReader};
use driftbench_core::{BackendError, BackendOptions, OptionValue};
use std::path::Path;

fn opts(pairs: &[(&str, OptionValue)]) -> BackendOptions {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn invalid(e: BackendError) -> String {
    match e {
        BackendError::Invalid(m) => m,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn reader_fills_defaults_and_records_what_is_in_force() {
    let given = opts(&[("fusion", OptionValue::Bool(false))]);
    let mut r = OptionReader::new(&given);
    assert!(!r.bool("fusion", true).unwrap());
    assert_eq!(
        r.choice("autotune", &["minimal", "balanced"], "balanced")
            .unwrap(),
        "balanced"
    );
    assert_eq!(r.index("device", 0, 3).unwrap(), 0);
    assert_eq!(r.number("shift", 0.5).unwrap(), 0.5);
    let in_force = r.finish().unwrap();
    assert_eq!(
        describe(&in_force),
        "autotune = \"balanced\", device = 0, fusion = false, shift = 0.5"
    );
    assert_eq!(describe(&BackendOptions::new()), "defaults");
}

#[test]
fn reader_names_the_option_and_what_it_expected() {
    let given = opts(&[("fusion", OptionValue::Text("yes".into()))]);
    let m = invalid(OptionReader::new(&given).bool("fusion", true).unwrap_err());
    assert_eq!(
        m,
        "option `fusion`: invalid value \"yes\": expected true or false"
    );

    let given = opts(&[("autotune", OptionValue::Text("max".into()))]);
    let m = invalid(
        OptionReader::new(&given)
            .choice("autotune", &["minimal", "balanced"], "balanced")
            .unwrap_err(),
    );
    assert!(
        m.contains("`autotune`") && m.contains("one of minimal, balanced"),
        "{m}"
    );

    let given = opts(&[("device", OptionValue::Int(4))]);
    let m = invalid(OptionReader::new(&given).index("device", 0, 1).unwrap_err());
    assert!(m.contains("an integer from 0 to 1"), "{m}");

    let given = opts(&[("shift", OptionValue::Float(f64::NAN))]);
    let m = invalid(OptionReader::new(&given).number("shift", 0.0).unwrap_err());
    assert!(m.contains("a finite number"), "{m}");
}

#[test]
fn reader_rejects_unknown_keys_listing_the_known_ones() {
    let given = opts(&[
        ("fusion", OptionValue::Bool(true)),
        ("fusoin", OptionValue::Bool(false)),
    ]);
    let mut r = OptionReader::new(&given);
    r.bool("fusion", true).unwrap();
    r.index("device", 0, 0).unwrap();
    let m = invalid(r.finish().unwrap_err());
    assert_eq!(
        m,
        "unknown option `fusoin`; this backend takes: device, fusion"
    );
}

const BASE: &str = r#"
[model]
kind = "synthetic"
layers = 1
hidden = 8
heads = 2
kv_heads = 1
ffn = 16
vocab = 16

[sweep]
spans = [4]
dtypes = ["f32"]
kv_aligned = [1]
seeds = [0]
"#;

fn parse(extra: &str) -> Result<SweepConfig, String> {
    SweepConfig::parse(&format!("{BASE}{extra}"), Path::new("cfg.toml")).map_err(|e| e.to_string())
}

#[test]
fn backend_tables_become_instances() {
    let cfg = parse(
        r#"
[backends.cuda]
autotune = "minimal"

[backends.cuda-nofusion]
plugin = "cuda"
fusion = false
device = 1
scale = 0.5
"#,
    )
    .unwrap();
    let plain = cfg.instance("cuda");
    assert_eq!(plain.plugin, "cuda");
    assert_eq!(
        plain.options,
        opts(&[("autotune", OptionValue::Text("minimal".into()))])
    );
    let nofusion = cfg.instance("cuda-nofusion");
    assert_eq!(nofusion.plugin, "cuda");
    assert_eq!(
        nofusion.options,
        opts(&[
            ("device", OptionValue::Int(1)),
            ("fusion", OptionValue::Bool(false)),
            ("scale", OptionValue::Float(0.5)),
        ])
    );
    // No table: the plugin of that name, no options.
    let flex = cfg.instance("flex");
    assert_eq!(flex.plugin, "flex");
    assert!(flex.options.is_empty());
}

#[test]
fn backend_tables_reject_what_cannot_be_an_option() {
    let e = parse("[backends.cuda]\nlevels = [1, 2]\n").unwrap_err();
    assert!(
        e.starts_with("cfg.toml: key `backends.cuda.levels`: invalid value [1, 2]"),
        "{e}"
    );
    let e = parse("[backends.\"a b\"]\nfusion = true\n").unwrap_err();
    assert!(
        e.contains("key `backends.a b`") && e.contains("letters, digits"),
        "{e}"
    );
    let e = parse("[backends.x]\nplugin = 3\n").unwrap_err();
    assert!(
        e.contains("key `backends.x.plugin`: invalid value 3"),
        "{e}"
    );
    let e = parse("").and_then(|_| {
        SweepConfig::parse(
            &BASE.replace("seeds = [0]", "seeds = [0]\nbackends = [\"../x\"]"),
            Path::new("cfg.toml"),
        )
        .map_err(|e| e.to_string())
    });
    let e = e.unwrap_err();
    assert!(
        e.contains("key `sweep.backends`: invalid value \"../x\""),
        "{e}"
    );
}
