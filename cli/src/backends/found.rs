//! What the plugin search path holds, found by file name alone: no plugin code runs here.

use anyhow::{bail, Result};
use driftbench_plugin_host::{discover, PluginCandidate};
use driftbench_sweep::config::valid_instance_name;
use std::path::PathBuf;

/// Every usable plugin file, first one per backend name.
#[derive(Debug, Clone)]
pub struct Found {
    /// Plugin files named `…driftbench_backend_<name>…` (first per name), then explicit
    /// `--plugin` files without such a name, whose backend name only their worker can tell.
    pub candidates: Vec<PluginCandidate>,
    /// Warnings: plugins shadowed by an earlier one of the same name, files skipped.
    pub warnings: Vec<String>,
    /// Folders searched.
    pub searched: Vec<PathBuf>,
}

impl Found {
    /// The candidate file for backend `name`.
    pub fn named(&self, name: &str) -> Option<&PluginCandidate> {
        self.candidates
            .iter()
            .find(|c| c.name_hint.as_deref() == Some(name))
    }

    /// Folders searched, as one line.
    pub fn searched_text(&self) -> String {
        if self.searched.is_empty() {
            "no folders".into()
        } else {
            let dirs: Vec<String> = self
                .searched
                .iter()
                .map(|d| d.display().to_string())
                .collect();
            dirs.join(", ")
        }
    }
}

/// Look for plugins. An explicit `--plugin` that is not a regular file is an error; a
/// discovered file with the same backend name as an earlier one is shadowed, with a warning
/// naming both files.
pub fn find(explicit: &[PathBuf]) -> Result<Found> {
    for p in explicit {
        if !p.is_file() {
            let what = if p.exists() {
                "is not a regular file"
            } else {
                "no such file"
            };
            bail!("--plugin {}: {what}", p.display());
        }
    }
    let (all, searched) = discover(explicit);
    let mut found = Found {
        candidates: Vec::new(),
        warnings: Vec::new(),
        searched,
    };
    for c in all {
        if let Some(name) = &c.name_hint {
            if !valid_instance_name(name) {
                found.warnings.push(format!(
                    "ignoring {}: `{}` is not a valid backend name (letters, digits, `-`, `_`, `.`)",
                    c.path.display(),
                    name.escape_debug()
                ));
                continue;
            }
            if let Some(first) = found.named(name) {
                if first.path != c.path {
                    found.warnings.push(format!(
                        "plugin `{name}` in {} ({}) shadows {} ({}); the first one found is used",
                        first.path.display(),
                        first.origin,
                        c.path.display(),
                        c.origin
                    ));
                }
                continue;
            }
        } else if found.candidates.iter().any(|k| k.path == c.path) {
            continue;
        }
        found.candidates.push(c);
    }
    Ok(found)
}
