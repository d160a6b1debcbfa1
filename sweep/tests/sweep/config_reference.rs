//! The configuration reference (`book/src/config.md`) against the parser: its example
//! parses, every key the parser accepts is documented, and every `table.key` the reference
//! names is one the parser accepts. The accepted keys come from the parser itself (the
//! "expected one of" list of its unknown-key error), so neither side can drift.

use driftbench_sweep::config::SweepConfig;
use std::collections::BTreeSet;
use std::path::Path;

fn reference() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/config.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const MODEL: &str = "[model]\nkind = \"synthetic\"\nlayers = 1\nhidden = 8\nheads = 2\n\
    kv_heads = 1\nffn = 16\nvocab = 8\n";
const SWEEP: &str = "[sweep]\nspans = [2]\ndtypes = [\"f32\"]\nkv_aligned = [1]\nseeds = [0]\n";

/// The keys the parser accepts in the table that `text` puts `zz_unknown` into.
fn accepted(text: &str) -> BTreeSet<String> {
    let err = SweepConfig::parse(text, Path::new("probe.toml"))
        .err()
        .unwrap_or_else(|| panic!("an unknown key was accepted:\n{text}"))
        .to_string();
    let list = err
        .split("expected one of ")
        .nth(1)
        .or_else(|| err.split("expected ").nth(1))
        .unwrap_or_else(|| panic!("no list of accepted keys in: {err}"));
    list.split(", ")
        .flat_map(|k| k.split(" or "))
        .map(|k| k.trim().trim_matches('`').to_string())
        .collect()
}

/// Every table of the config and the keys the parser accepts in it.
fn tables() -> Vec<(&'static str, BTreeSet<String>)> {
    vec![
        ("", accepted(&format!("zz_unknown = 1\n{MODEL}{SWEEP}"))),
        (
            "model",
            accepted(&format!("{MODEL}zz_unknown = 1\n{SWEEP}")),
        ),
        (
            "sweep",
            accepted(&format!("{MODEL}{SWEEP}zz_unknown = 1\n")),
        ),
        (
            "reference",
            accepted(&format!("{MODEL}{SWEEP}[reference]\nzz_unknown = 1\n")),
        ),
        (
            "profile",
            accepted(&format!("{MODEL}{SWEEP}[profile]\nzz_unknown = 1\n")),
        ),
        (
            "prompt",
            accepted(&format!(
                "{MODEL}{SWEEP}[prompt]\nkind = \"random\"\nzz_unknown = 1\n"
            )),
        ),
        (
            "tolerances.<dtype>",
            accepted(&format!("{MODEL}{SWEEP}[tolerances.f32]\nzz_unknown = 1\n")),
        ),
        (
            "tolerances.<dtype>.equiv",
            accepted(&format!(
                "{MODEL}{SWEEP}[tolerances.f32.equiv]\nzz_unknown = 1\n"
            )),
        ),
    ]
}

/// The first ```toml block of the reference.
fn example(doc: &str) -> &str {
    let start = doc.find("```toml\n").expect("a toml example") + "```toml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    &doc[start..end]
}

#[test]
fn the_reference_example_parses() {
    let doc = reference();
    let text = example(&doc);
    SweepConfig::parse(text, Path::new("book/src/config.md"))
        .unwrap_or_else(|e| panic!("the reference's example does not parse: {e}\n{text}"));
}

#[test]
fn every_accepted_key_is_documented() {
    let doc = reference();
    let toml_keys: BTreeSet<&str> = example(&doc)
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, _)| k.trim().trim_start_matches("# "))
        })
        .collect();
    let mut missing = Vec::new();
    for (table, keys) in tables() {
        assert!(!keys.is_empty(), "no keys found for [{table}]");
        for k in keys {
            // `kind` selects the model; the synthetic model's fields are listed in prose.
            let named = doc.contains(&format!("`{table}.{k}`"))
                || toml_keys.contains(k.as_str())
                || example(&doc).contains(&format!(" {k} = "))
                || (table.is_empty() && doc.contains(&format!("[{k}")))
                || (table == "model" && doc.contains(&format!(" {k}")));
            if !named {
                missing.push(format!("{table}.{k}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "accepted but not in book/src/config.md: {missing:?}"
    );
}

#[test]
fn every_documented_key_is_accepted() {
    let doc = reference();
    let known: BTreeSet<String> = tables()
        .into_iter()
        .flat_map(|(t, keys)| keys.into_iter().map(move |k| format!("{t}.{k}")))
        .collect();
    let mut stale = Vec::new();
    for table in ["sweep", "reference", "profile", "model", "prompt"] {
        let prefix = format!("`{table}.");
        for piece in doc.split(&prefix).skip(1) {
            let key: String = piece
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !key.is_empty() && !known.contains(&format!("{table}.{key}")) {
                stale.push(format!("{table}.{key}"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "book/src/config.md names keys the parser refuses: {stale:?}"
    );
}
