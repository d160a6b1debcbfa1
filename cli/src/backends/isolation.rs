//! Where a backend's sessions run: in worker processes (the default), or in this process.

use driftbench_plugin_host::Deadlines;
use driftbench_sweep::config::DEFAULT_OPEN_TIMEOUT_S;
use std::time::Duration;

/// Where sessions run.
#[derive(Debug, Clone)]
pub enum Isolation {
    /// In this process (debugging; a crash ends the sweep).
    InProcess,
    /// One `driftbench worker` child process per session (the default).
    Worker {
        /// Deadlines of starting and of each run.
        deadlines: Deadlines,
    },
}

impl Isolation {
    /// `--in-process`, or workers with the open deadline (`--open-timeout`, the config's,
    /// or the default) and the per-run timeout.
    pub fn new(in_process: bool, open_timeout_s: Option<f64>, run_timeout_s: Option<f64>) -> Self {
        if in_process {
            return Isolation::InProcess;
        }
        Isolation::Worker {
            deadlines: Deadlines {
                open: Duration::from_secs_f64(open_timeout_s.unwrap_or(DEFAULT_OPEN_TIMEOUT_S)),
                run: run_timeout_s.map(Duration::from_secs_f64),
            },
        }
    }

    pub(super) fn how(&self) -> &'static str {
        match self {
            Isolation::InProcess => "in process",
            Isolation::Worker { .. } => "worker process",
        }
    }
}
