//! Find, load and select backend plugins.

use anyhow::{anyhow, bail, Context, Result};
use driftbench_core::config::BackendInstance;
use driftbench_core::records::BackendEntry;
use driftbench_core::runner::PlannedBackend;
use driftbench_core::{Backend, BackendError, BackendSetup, Dtype, ModelSpec, Probe, Session};
use driftbench_plugin_host::{discover, LoadError, LoadedPlugin, PluginBackend, WorkerBackend};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where sessions run.
#[derive(Debug, Clone)]
pub enum Isolation {
    /// In this process (debugging; a crash ends the sweep).
    InProcess,
    /// One `driftbench worker` child process per session (the default).
    Worker {
        /// Per-run timeout.
        timeout: Option<Duration>,
    },
}

/// Everything found on the plugin search path.
pub struct Found {
    /// Loaded plugins, first one per backend name wins.
    pub loaded: Vec<(PluginBackend, &'static str)>,
    /// Libraries that looked like plugins but failed to load (not fatal unless selected).
    pub failed: Vec<(Option<String>, PathBuf, LoadError)>,
    /// Folders searched.
    pub searched: Vec<PathBuf>,
}

/// Discover and load plugins. An explicit `--plugin` that fails is an error.
pub fn find(explicit: &[PathBuf]) -> Result<Found> {
    let (candidates, searched) = discover(explicit);
    let mut found = Found {
        loaded: Vec::new(),
        failed: Vec::new(),
        searched,
    };
    for c in candidates {
        match LoadedPlugin::load(&c.path) {
            Ok(p) => {
                if found.loaded.iter().all(|(b, _)| b.name() != p.name) {
                    found.loaded.push((PluginBackend::new(p), c.origin));
                }
            }
            Err(e) if c.origin == "--plugin" => return Err(e.into()),
            Err(e) => found.failed.push((c.name_hint, c.path, e)),
        }
    }
    Ok(found)
}

/// What a command asks of the backends: which instances, with which options, where.
pub struct Selection<'a> {
    /// Instances to run; empty: every plugin found, plus the config's extra instances.
    pub names: &'a [String],
    /// `[backends.<name>]` tables of the config (empty without a config).
    pub instances: &'a BTreeMap<String, BackendInstance>,
    /// The config file, named in option errors.
    pub config: Option<&'a Path>,
    /// Persistent cache folder handed to every backend.
    pub cache_dir: Option<PathBuf>,
    /// In process or in workers.
    pub isolation: Isolation,
}

impl Selection<'_> {
    fn instance(&self, name: &str) -> BackendInstance {
        BackendInstance::lookup(self.instances, name)
    }

    /// Instance names in run order.
    fn wanted(&self, found: &Found) -> Vec<String> {
        if !self.names.is_empty() {
            return self.names.to_vec();
        }
        let loaded = found.loaded.iter().map(|(b, _)| b.name().to_string());
        let failed = found.failed.iter().filter_map(|(n, _, _)| n.clone());
        let mut all: Vec<String> = loaded.chain(failed).collect();
        // Extra instances of a plugin that is here (`[backends.cuda-nofusion]`).
        for (name, inst) in self.instances {
            if !all.contains(name) && all.contains(&inst.plugin) {
                all.push(name.clone());
            }
        }
        all
    }
}

/// The backends to run, each configured with its options. A backend that rejects its
/// options is an error (bad input), naming the config file, the instance and the option.
pub fn select(found: Found, sel: &Selection) -> Result<Vec<PlannedBackend>> {
    let wanted = sel.wanted(&found);
    if wanted.is_empty() {
        bail!(LoadError::NotFound {
            name: "(any)".into(),
            searched: searched_text(&found.searched),
        });
    }
    let cache_dir = sel
        .cache_dir
        .as_ref()
        .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone()));
    let mut planned: Vec<PlannedBackend> = Vec::new();
    // In process, a plugin library is loaded once and holds one backend: two instances of it
    // with different options would silently share the last options.
    let mut in_process: Vec<(String, BackendInstance)> = Vec::new();
    for name in wanted {
        if planned.iter().any(|p| p.entry.name == name) {
            continue;
        }
        let inst = sel.instance(&name);
        if matches!(sel.isolation, Isolation::InProcess) {
            if let Some((other, _)) = in_process
                .iter()
                .find(|(_, i)| i.plugin == inst.plugin && i.options != inst.options)
            {
                bail!(
                    "backends `{other}` and `{name}` both run plugin {} with different options, \
                     but --in-process loads a plugin once per process: run without --in-process \
                     (each instance then gets its own worker processes)",
                    inst.plugin
                );
            }
            in_process.push((name.clone(), inst.clone()));
        }
        let plugin_field = (inst.plugin != name).then(|| inst.plugin.clone());
        if let Some((b, origin)) = found.loaded.iter().find(|(b, _)| b.name() == inst.plugin) {
            let file = b
                .plugin()
                .path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let abi = &b.plugin().abi;
            let (mut backend, error, how): (Box<dyn Backend>, _, _) = match &sel.isolation {
                Isolation::InProcess => (Box::new(b.clone()), None, "in process"),
                Isolation::Worker { timeout } => {
                    let exe =
                        std::env::current_exe().context("locating the driftbench executable")?;
                    match WorkerBackend::start(&exe, &b.plugin().path, *timeout) {
                        Ok(w) => (Box::new(w), None, "worker process"),
                        Err(e) => (
                            Box::new(b.clone()),
                            Some(format!("worker failed to start: {e}")),
                            "worker process",
                        ),
                    }
                }
            };
            let configured = if error.is_none() {
                let setup = BackendSetup {
                    options: inst.options.clone(),
                    cache_dir: cache_dir.clone(),
                };
                let c = backend.configure(&setup).map_err(|e| {
                    let place = match sel.config {
                        Some(f) if sel.instances.contains_key(&name) => {
                            format!("{}: [backends.{name}]", f.display())
                        }
                        _ => format!("backend {name}"),
                    };
                    anyhow!("{place} (plugin {}): {}", inst.plugin, option_error(&e))
                })?;
                Some(c)
            } else {
                None
            };
            // Probed after configuring: options may decide which device comes first.
            let probe = error.is_none().then(|| backend.probe());
            planned.push(PlannedBackend {
                entry: BackendEntry {
                    name: name.clone(),
                    source: format!("plugin {file} (ABI v{abi}, {origin}, {how})"),
                    probe,
                    error,
                    plugin: plugin_field,
                    configured,
                },
                backend,
            });
        } else if let Some((_, path, e)) = found
            .failed
            .iter()
            .find(|(n, _, _)| n.as_deref() == Some(inst.plugin.as_str()))
        {
            // Found by discovery but unusable (wrong ABI, not a plugin...): the sweep goes on
            // without it and its pairs say why. An explicit `--plugin` already failed in `find`.
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            planned.push(PlannedBackend {
                entry: BackendEntry {
                    name: name.clone(),
                    source: format!("plugin {file} (not loaded)"),
                    probe: None,
                    error: Some(e.to_string()),
                    plugin: plugin_field,
                    configured: None,
                },
                backend: Box::new(Unloadable {
                    name: name.clone(),
                    why: e.to_string(),
                }),
            });
        } else {
            bail!(LoadError::NotFound {
                name: inst.plugin,
                searched: searched_text(&found.searched),
            });
        }
    }
    Ok(planned)
}

/// A backend's refusal of its options, without the "invalid request: " prefix that the
/// error kind adds for run-time requests.
fn option_error(e: &BackendError) -> String {
    match e {
        BackendError::Invalid(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Stands in for a plugin that could not be loaded, so the plan keeps one entry per backend.
struct Unloadable {
    name: String,
    why: String,
}

impl Backend for Unloadable {
    fn name(&self) -> &str {
        &self.name
    }

    fn probe(&self) -> Probe {
        Probe {
            backend: self.name.clone(),
            version: String::new(),
            burn_version: None,
            unavailable: Some(self.why.clone()),
            devices: vec![],
            backend_dtypes: vec![],
        }
    }

    fn open(&self, _: &ModelSpec, _: Dtype) -> Result<Box<dyn Session>, BackendError> {
        Err(BackendError::Load(self.why.clone()))
    }
}

fn searched_text(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        "no folders".into()
    } else {
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
