//! Finding and loading the backend plugins to bench.
//!
//! Plugins are found the way `driftbench` finds them ([`driftbench_plugin_host::discover`]):
//! every folder of `DRIFTBENCH_PLUGIN_PATH`, then the folder of the running executable. A
//! bench executable lives in `target/release/deps/`, which is where cargo writes every
//! plugin cdylib it builds: the in-tree plugins because this crate depends on them (so plain
//! `cargo bench` builds them), any other workspace plugin (e.g. `cpu`) once
//! `cargo build --release -p driftbench-backend-<name>` has run. No list of backends is
//! hard-coded. Plugins are loaded into the bench process: no worker, so nothing but the
//! plugin call itself is timed.

use crate::selection::Selection;
use driftbench_core::{Backend, BackendSetup, Probe};
use driftbench_plugin_host::{discover, LoadedPlugin, PluginBackend, PluginCandidate};
use std::path::Path;

/// A loaded plugin whose probe says it can run here.
#[derive(Debug)]
pub struct BenchBackend {
    /// Backend name, from the plugin's file name (as `driftbench` names plugins).
    pub name: String,
    /// The plugin, seen through the `Backend` trait.
    pub backend: PluginBackend,
    /// Its probe, taken once after configuring.
    pub probe: Probe,
}

/// Print one line about what the benches do or skip. stderr, so it stays apart from
/// criterion's results on stdout.
pub fn note(line: &str) {
    eprintln!("driftbench-benches: {line}");
}

/// The command that builds the plugin of backend `name` where the benches look for it.
pub fn build_hint(name: &str) -> String {
    format!("cargo build --release -p driftbench-backend-{name}")
}

/// The plugin file of backend `name` on this platform (`libdriftbench_backend_flex.so`).
fn file_name(name: &str) -> String {
    format!(
        "{}driftbench_backend_{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// Load every plugin `selection` wants, printing one line for each one loaded and for each
/// one skipped (with the reason, and the command to build a missing one). `flex` is always
/// expected: its absence is reported even when no backend was named.
pub fn load(selection: &Selection) -> Vec<BenchBackend> {
    let (candidates, searched) = discover(&[]);
    let mut firsts: Vec<(String, PluginCandidate)> = Vec::new();
    for c in candidates {
        // Earlier folders win for a name, as in `driftbench`.
        if let Some(name) = c.name_hint.clone() {
            if !firsts.iter().any(|(n, _)| *n == name) {
                firsts.push((name, c));
            }
        }
    }
    let searched: Vec<String> = searched.iter().map(|d| d.display().to_string()).collect();
    let expected: Vec<String> = match &selection.backends {
        Some(names) => names.clone(),
        None => vec!["flex".to_string()],
    };
    for name in expected {
        if !firsts.iter().any(|(n, _)| *n == name) {
            note(&format!(
                "skipped {name}: no {} in {}; build it with `{}`",
                file_name(&name),
                searched.join(", "),
                build_hint(&name)
            ));
        }
    }
    firsts
        .into_iter()
        .filter(|(name, _)| selection.wants(name))
        .filter_map(|(name, c)| match start(&name, &c.path) {
            Ok(b) => Some(b),
            Err(why) => {
                note(&format!("skipped {name}: {why}"));
                None
            }
        })
        .collect()
}

/// Load, configure (no options, no cache folder: caches stay in memory, per process) and
/// probe one plugin.
fn start(name: &str, path: &Path) -> Result<BenchBackend, String> {
    let plugin = LoadedPlugin::load(path).map_err(|e| {
        format!(
            "{e} (a stale build? rebuild it with `{}`)",
            build_hint(name)
        )
    })?;
    let (version, abi) = (plugin.version.clone(), plugin.abi.clone());
    let mut backend = PluginBackend::new(plugin);
    backend
        .configure(&BackendSetup::default())
        .map_err(|e| format!("configuring failed: {}", e.message()))?;
    let probe = backend.try_probe().map_err(|e| e.message().to_string())?;
    if let Some(why) = &probe.unavailable {
        return Err(format!("the probe says unavailable: {why}"));
    }
    let Some(device) = probe.devices.first() else {
        return Err("the probe lists no device".into());
    };
    note(&format!(
        "{name} {version} (ABI v{abi}) from {} on {} [{}]",
        path.display(),
        device.name,
        device.kind
    ));
    Ok(BenchBackend {
        name: name.to_string(),
        backend,
        probe,
    })
}
