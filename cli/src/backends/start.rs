//! Starting one plugin file as a backend: in a worker process (the default: its entry point,
//! probe and every call run there) or, with `--in-process`, loaded into this process.

use super::isolation::Isolation;
use driftbench_core::backend::Backend;
use driftbench_core::backend::Session;
use driftbench_core::dtype::Dtype;
use driftbench_core::error::BackendError;
use driftbench_core::model_spec::ModelSpec;
use driftbench_core::probe::Probe;
use driftbench_plugin_host::{LoadedPlugin, PluginBackend, PluginCandidate, WorkerBackend};

/// A plugin file, started or not.
pub struct Started {
    /// Backend name the plugin reports, when it got that far.
    pub reported: Option<String>,
    /// ABI version, `major.minor`, when known.
    pub abi: Option<String>,
    /// The backend and its probe, or why the plugin cannot be used.
    pub result: Result<(Box<dyn Backend>, Probe), String>,
}

/// Start `c` the way `isolation` says.
pub fn start(c: &PluginCandidate, isolation: &Isolation) -> Started {
    match isolation {
        Isolation::Worker { deadlines } => {
            let exe = match std::env::current_exe() {
                Ok(e) => e,
                Err(e) => {
                    return Started {
                        reported: None,
                        abi: None,
                        result: Err(format!("cannot locate the driftbench executable: {e}")),
                    }
                }
            };
            match WorkerBackend::start(&exe, &c.path, *deadlines) {
                Ok(w) => Started {
                    reported: Some(w.hello().backend.clone()),
                    abi: Some(w.hello().abi.clone()),
                    result: {
                        let probe = w.probe();
                        Ok((Box::new(w), probe))
                    },
                },
                Err(e) => Started {
                    reported: e.hello.as_ref().map(|h| h.backend.clone()),
                    abi: e.hello.as_ref().map(|h| h.abi.clone()),
                    result: Err(e.error.message().to_string()),
                },
            }
        }
        Isolation::InProcess => match LoadedPlugin::load(&c.path) {
            Ok(p) => {
                let b = PluginBackend::new(p);
                let reported = Some(b.plugin().name.clone());
                let abi = Some(b.plugin().abi.clone());
                let result = match b.try_probe() {
                    Ok(probe) => Ok((Box::new(b) as Box<dyn Backend>, probe)),
                    Err(e) => Err(e.message().to_string()),
                };
                Started {
                    reported,
                    abi,
                    result,
                }
            }
            Err(e) => Started {
                reported: None,
                abi: None,
                result: Err(e.to_string()),
            },
        },
    }
}

/// Stands in for a plugin that could not be started, so the plan keeps one entry per
/// backend and its pairs say why (INCOMPLETE: a broken plugin is not absent hardware).
pub struct Unloadable {
    /// Instance name.
    pub name: String,
    /// Why.
    pub why: String,
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
            kv_unsupported: Vec::new(),
            kv_padding: None,
            traces: false,
        }
    }

    fn open(&self, _: &ModelSpec, _: Dtype) -> Result<Box<dyn Session>, BackendError> {
        Err(BackendError::Load(self.why.clone()))
    }
}
