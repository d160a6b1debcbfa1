//! `[backends.<name>]` tables: parsed into backend instances and their options.

use driftbench_core::options::{BackendOptions, OptionValue};
use driftbench_sweep::config::SweepConfig;
use std::path::Path;

fn opts(pairs: &[(&str, OptionValue)]) -> BackendOptions {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
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
