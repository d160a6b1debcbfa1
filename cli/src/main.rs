//! The `driftbench` binary: a thin shell composing the sweep, the report and the plugin host.

#![forbid(unsafe_code)]

mod args;
mod backends;
mod diff_cmd;
mod environment;
mod interrupt;
mod model_check;
mod npy;
mod origin;
mod plugins_cmd;
mod progress;
mod replay_cmd;
mod report_cmd;
mod run_cmd;
mod sweep_cmd;
mod text;

use args::{Cli, Command};
use clap::Parser;

/// Exit code for bad input and other errors (0 PASS, 1 FAIL, 3 INCOMPLETE).
const EXIT_ERROR: i32 = 2;

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Sweep {
            config,
            out,
            backends,
            optional,
            machine_label,
            resume,
            remeasure_peaks,
            plugins,
        } => sweep_cmd::run(
            config,
            out.clone(),
            sweep_cmd::Names {
                backends,
                optional,
                machine_label: machine_label.as_deref(),
            },
            sweep_cmd::Flags {
                resume: *resume,
                remeasure_peaks: *remeasure_peaks,
            },
            plugins,
        ),
        Command::Run(a) => run_cmd::run(a),
        Command::Plugins { plugins } => plugins_cmd::run(plugins),
        Command::Report {
            results,
            out,
            format,
        } => report_cmd::run(results, out.clone(), *format),
        Command::Replay { bundle, plugins } => replay_cmd::run(bundle, plugins),
        Command::Diff(a) => diff_cmd::run(a),
        Command::Worker { plugin } => driftbench_plugin_host::worker::serve(plugin)
            .map(|()| 0)
            .map_err(|e| anyhow::anyhow!("worker for {}: {e}", plugin.display())),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // One line: the whole error chain, no backtrace.
            eprintln!("error: {}", text::one_line(&format!("{e:#}")));
            std::process::exit(EXIT_ERROR);
        }
    }
}
