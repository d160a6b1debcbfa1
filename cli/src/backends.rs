//! Find, load and select backend plugins.

use anyhow::{bail, Context, Result};
use driftbench_core::records::BackendEntry;
use driftbench_core::runner::PlannedBackend;
use driftbench_core::{Backend, BackendError, Dtype, ModelSpec, Probe, Session};
use driftbench_plugin_host::{discover, LoadError, LoadedPlugin, PluginBackend, WorkerBackend};
use std::path::PathBuf;
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

/// The backends to run: `names` if given, else every loaded plugin.
pub fn select(
    found: Found,
    names: &[String],
    isolation: &Isolation,
) -> Result<Vec<PlannedBackend>> {
    let mut planned = Vec::new();
    let wanted: Vec<String> = if names.is_empty() {
        let loaded = found.loaded.iter().map(|(b, _)| b.name().to_string());
        let failed = found.failed.iter().filter_map(|(n, _, _)| n.clone());
        loaded.chain(failed).collect()
    } else {
        names.to_vec()
    };
    if wanted.is_empty() {
        bail!(LoadError::NotFound {
            name: "(any)".into(),
            searched: searched_text(&found.searched),
        });
    }
    for name in wanted {
        if planned
            .iter()
            .any(|p: &PlannedBackend| p.entry.name == name)
        {
            continue;
        }
        if let Some((b, origin)) = found.loaded.iter().find(|(b, _)| b.name() == name) {
            let file = b
                .plugin()
                .path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let abi = &b.plugin().abi;
            let (backend, probe, error, how): (Box<dyn Backend>, _, _, _) = match isolation {
                Isolation::InProcess => (Box::new(b.clone()), Some(b.probe()), None, "in process"),
                Isolation::Worker { timeout } => {
                    let exe =
                        std::env::current_exe().context("locating the driftbench executable")?;
                    match WorkerBackend::start(&exe, &b.plugin().path, *timeout) {
                        Ok(w) => {
                            let probe = w.probe();
                            (Box::new(w), Some(probe), None, "worker process")
                        }
                        Err(e) => (
                            Box::new(b.clone()),
                            None,
                            Some(format!("worker failed to start: {e}")),
                            "worker process",
                        ),
                    }
                }
            };
            planned.push(PlannedBackend {
                entry: BackendEntry {
                    name: name.clone(),
                    source: format!("plugin {file} (ABI v{abi}, {origin}, {how})"),
                    probe,
                    error,
                },
                backend,
            });
        } else if let Some((_, path, e)) = found
            .failed
            .iter()
            .find(|(n, _, _)| n.as_deref() == Some(&name))
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
                },
                backend: Box::new(Unloadable {
                    name: name.clone(),
                    why: e.to_string(),
                }),
            });
        } else {
            bail!(LoadError::NotFound {
                name,
                searched: searched_text(&found.searched),
            });
        }
    }
    Ok(planned)
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
