//! `[backends.<name>]` tables: one backend instance each, a plugin and its options.
//!
//! ```toml
//! [backends.cuda]              # options of the `cuda` plugin
//! autotune = "minimal"
//!
//! [backends.cuda-nofusion]     # a second instance of the same plugin, reported apart
//! plugin = "cuda"
//! fusion = false
//! ```
//!
//! The host does not know what the options mean: the plugin checks them before any run (an
//! unknown key or a wrong value is an error naming the file, the table and the option).

use crate::config::checker::Checker;
use crate::config::error::ConfigError;
use driftbench_core::options::{BackendOptions, OptionValue};
use std::collections::BTreeMap;

/// One backend instance of the sweep: which plugin runs it and with which options.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendInstance {
    /// Name of the plugin (its backend name, e.g. `cuda`); the table's name by default.
    pub plugin: String,
    /// Options handed to the plugin.
    pub options: BackendOptions,
}

impl BackendInstance {
    /// The instance called `name` in `instances`: its table, or else the plugin of that name
    /// with no options.
    pub fn lookup(instances: &BTreeMap<String, BackendInstance>, name: &str) -> BackendInstance {
        instances
            .get(name)
            .cloned()
            .unwrap_or_else(|| BackendInstance {
                plugin: name.to_string(),
                options: BackendOptions::new(),
            })
    }
}

/// Whether `name` may name a backend instance: it becomes part of report headings and
/// file names, so letters, digits, `-`, `_` and `.` only.
pub fn valid_instance_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

const NAME_RULE: &str = "a name of 1 to 64 letters, digits, `-`, `_` or `.`";

pub(super) fn check_backends(
    c: &Checker<'_>,
    raw: BTreeMap<String, toml::Table>,
) -> Result<BTreeMap<String, BackendInstance>, ConfigError> {
    let mut out = BTreeMap::new();
    for (name, table) in raw {
        if !valid_instance_name(&name) {
            return Err(c.invalid(format!("backends.{name}"), name.as_str(), NAME_RULE));
        }
        let mut plugin = name.clone();
        let mut options = BackendOptions::new();
        for (key, value) in table {
            let full = format!("backends.{name}.{key}");
            if key == "plugin" {
                match value {
                    toml::Value::String(p) if valid_instance_name(&p) => plugin = p,
                    other => return Err(c.invalid(full, other, NAME_RULE)),
                }
                continue;
            }
            let v = match value {
                toml::Value::Boolean(b) => OptionValue::Bool(b),
                toml::Value::Integer(i) => OptionValue::Int(i),
                toml::Value::Float(f) => OptionValue::Float(f),
                toml::Value::String(s) => OptionValue::Text(s),
                other => {
                    return Err(c.invalid(
                        full,
                        other,
                        "a boolean, a number or a string (backend options are plain values)",
                    ))
                }
            };
            options.insert(key, v);
        }
        out.insert(name, BackendInstance { plugin, options });
    }
    Ok(out)
}
