//! Find, start and select backend plugins.
//!
//! Plugins are found by file name ([`found`]); nothing of a plugin runs in this process
//! unless `--in-process` asks for it: its worker reports its name, ABI and probe.

mod found;
mod isolation;
mod start;

pub use found::{find, Found};
pub use isolation::Isolation;
pub use start::{start, Started};

use anyhow::{anyhow, bail, Result};
use driftbench_core::backend::Backend;
use driftbench_core::error::BackendError;
use driftbench_core::options::BackendSetup;
use driftbench_plugin_host::{LoadError, PluginCandidate};
use driftbench_sweep::config::BackendInstance;
use driftbench_sweep::records::BackendEntry;
use driftbench_sweep::runner::PlannedBackend;
use start::Unloadable;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// A plugin file with the backend name it answers to, started once.
struct Plugin {
    name: String,
    candidate: PluginCandidate,
    started: Option<Started>,
}

/// Name every candidate: by file name, or (explicit `--plugin` files with another name) by
/// starting it and asking. Such a file that cannot even say its name is an error: the user
/// named it.
fn name_plugins(found: &Found, isolation: &Isolation) -> Result<Vec<Plugin>> {
    let mut out: Vec<Plugin> = Vec::new();
    for c in &found.candidates {
        if let Some(name) = &c.name_hint {
            out.push(Plugin {
                name: name.clone(),
                candidate: c.clone(),
                started: None,
            });
            continue;
        }
        let s = start(c, isolation);
        let name = match (&s.reported, &s.result) {
            (Some(n), _) if driftbench_sweep::config::valid_instance_name(n) => n.clone(),
            (Some(n), _) => bail!(
                "--plugin {}: the plugin calls itself `{}`, not a valid backend name (letters, digits, `-`, `_`, `.`)",
                c.path.display(),
                n.escape_debug()
            ),
            // A load error names the file already.
            (None, Err(why)) if why.contains(&c.path.display().to_string()) => bail!("{why}"),
            (None, Err(why)) => bail!("--plugin {}: {why}", c.path.display()),
            (None, Ok(_)) => bail!("--plugin {}: the plugin reported no name", c.path.display()),
        };
        if let Some(first) = out.iter().find(|p| p.name == name) {
            eprintln!(
                "warning: plugin `{name}` in {} ({}) shadows {} ({}); the first one found is used",
                first.candidate.path.display(),
                first.candidate.origin,
                c.path.display(),
                c.origin
            );
            continue;
        }
        out.push(Plugin {
            name,
            candidate: c.clone(),
            started: Some(s),
        });
    }
    // Explicit files first, as discovery ordered them.
    Ok(out)
}

impl Selection<'_> {
    /// Instance names in run order.
    fn wanted(&self, plugins: &[Plugin]) -> Vec<String> {
        if !self.names.is_empty() {
            return self.names.to_vec();
        }
        let mut all: Vec<String> = plugins.iter().map(|p| p.name.clone()).collect();
        // Extra instances of a plugin that is here (`[backends.cuda-nofusion]`).
        for (name, inst) in self.instances {
            if !all.contains(name) && all.contains(&inst.plugin) {
                all.push(name.clone());
            }
        }
        all
    }

    /// Where an option error happened: the config table or the backend.
    fn place(&self, name: &str) -> String {
        match self.config {
            Some(f) if self.instances.contains_key(name) => {
                format!("{}: [backends.{name}]", f.display())
            }
            _ => format!("backend {name}"),
        }
    }
}

/// A plan entry for a backend that cannot run: a stand-in whose pairs say `why`.
type Entry = (
    Box<dyn Backend>,
    Option<driftbench_core::probe::Probe>,
    Option<driftbench_core::options::Configured>,
    Option<String>,
);

fn broken(name: &str, why: String) -> Entry {
    let stand_in = Unloadable {
        name: name.to_string(),
        why: why.clone(),
    };
    (Box::new(stand_in), None, None, Some(why))
}

/// The backends to run, each started and configured with its options. A plugin that
/// cannot start, probe or take its setup stays in the plan with the reason (its pairs are
/// INCOMPLETE); a backend that rejects an option is an error (bad input), naming the config
/// file, the instance and the option.
pub fn select(found: Found, sel: &Selection) -> Result<Vec<PlannedBackend>> {
    Ok(select_with_files(found, sel)?.0)
}

/// [`select`], and the plugin file behind each instance (for its hash in the journal).
pub fn select_with_files(
    found: Found,
    sel: &Selection,
) -> Result<(Vec<PlannedBackend>, BTreeMap<String, PathBuf>)> {
    let mut files = BTreeMap::new();
    for w in &found.warnings {
        eprintln!("warning: {w}");
    }
    let mut plugins = name_plugins(&found, &sel.isolation)?;
    let wanted = sel.wanted(&plugins);
    if wanted.is_empty() {
        bail!(LoadError::NotFound {
            name: "(any)".into(),
            searched: found.searched_text(),
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
        let inst = BackendInstance::lookup(sel.instances, &name);
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
        let Some(plugin) = plugins.iter_mut().find(|p| p.name == inst.plugin) else {
            bail!(LoadError::NotFound {
                name: inst.plugin,
                searched: found.searched_text(),
            });
        };
        // Each instance gets its own start: in workers, a backend holds its options.
        let started = match plugin.started.take() {
            Some(s) => s,
            None => start(&plugin.candidate, &sel.isolation),
        };
        let file = plugin
            .candidate
            .path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let origin = plugin.candidate.origin;
        let source = match &started.abi {
            Some(abi) => format!(
                "plugin {file} (ABI v{abi}, {origin}, {})",
                sel.isolation.how()
            ),
            None => format!("plugin {file} ({origin}, not started)"),
        };
        files.insert(name.clone(), plugin.candidate.path.clone());
        let plugin_field = (inst.plugin != name).then(|| inst.plugin.clone());
        let (backend, probe, configured, error): Entry = match started.result {
            Ok((mut backend, _)) => {
                let setup = BackendSetup {
                    options: inst.options.clone(),
                    cache_dir: cache_dir.clone(),
                };
                match backend.configure(&setup) {
                    Ok(c) => {
                        // Probed after configuring: options may decide which device comes
                        // first.
                        let probe = backend.probe();
                        (backend, Some(probe), Some(c), None)
                    }
                    Err(BackendError::Invalid(m)) => {
                        return Err(anyhow!(
                            "{} (plugin {}): {m}",
                            sel.place(&name),
                            inst.plugin
                        ))
                    }
                    Err(e) => broken(&name, format!("setting options failed: {}", e.message())),
                }
            }
            Err(why) => broken(&name, why),
        };
        planned.push(PlannedBackend {
            entry: BackendEntry {
                name: name.clone(),
                source,
                probe,
                error,
                plugin: plugin_field,
                configured,
            },
            backend,
        });
    }
    Ok((planned, files))
}
