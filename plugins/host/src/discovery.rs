//! Where plugins are looked for: next to the executable, every folder in
//! `DRIFTBENCH_PLUGIN_PATH`, and explicit `--plugin PATH` files.
//!
//! A plugin file is named `{DLL_PREFIX}driftbench_backend_<name>{DLL_SUFFIX}`
//! (`libdriftbench_backend_flex.so` on Linux). Other libraries in those folders are ignored,
//! so test-only plugins are never picked up by a normal run.

use std::path::{Path, PathBuf};

/// Environment variable holding extra plugin folders (`:`-separated, `;` on Windows).
pub const PLUGIN_PATH_ENV: &str = "DRIFTBENCH_PLUGIN_PATH";

/// A library that looks like a plugin, and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginCandidate {
    /// Backend name taken from the file name (`flex`), or `None` for an explicit path.
    pub name_hint: Option<String>,
    /// The file.
    pub path: PathBuf,
    /// `next to the executable`, `DRIFTBENCH_PLUGIN_PATH`, `--plugin`.
    pub origin: &'static str,
}

/// Backend name of a plugin file name, if it follows the naming rule.
pub fn backend_name_of(file_name: &str) -> Option<String> {
    let rest = file_name.strip_prefix(std::env::consts::DLL_PREFIX)?;
    let rest = rest.strip_prefix("driftbench_backend_")?;
    let name = rest.strip_suffix(std::env::consts::DLL_SUFFIX)?;
    (!name.is_empty()).then(|| name.to_string())
}

fn scan(dir: &Path, origin: &'static str, out: &mut Vec<PluginCandidate>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut found: Vec<PluginCandidate> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = backend_name_of(e.file_name().to_str()?)?;
            Some(PluginCandidate {
                name_hint: Some(name),
                path: e.path(),
                origin,
            })
        })
        .collect();
    found.sort_by(|a, b| a.path.cmp(&b.path));
    out.extend(found);
}

/// Every plugin candidate, explicit paths first, then `DRIFTBENCH_PLUGIN_PATH` folders in
/// order, then the executable's folder. Earlier candidates win for the same backend name.
pub fn discover(explicit: &[PathBuf]) -> (Vec<PluginCandidate>, Vec<PathBuf>) {
    let mut out: Vec<PluginCandidate> = explicit
        .iter()
        .map(|p| PluginCandidate {
            name_hint: p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(backend_name_of),
            path: p.clone(),
            origin: "--plugin",
        })
        .collect();
    let mut searched = Vec::new();
    if let Some(paths) = std::env::var_os(PLUGIN_PATH_ENV) {
        for dir in std::env::split_paths(&paths) {
            if dir.as_os_str().is_empty() {
                continue;
            }
            scan(&dir, "DRIFTBENCH_PLUGIN_PATH", &mut out);
            searched.push(dir);
        }
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        scan(&dir, "next to the executable", &mut out);
        searched.push(dir);
    }
    (out, searched)
}
