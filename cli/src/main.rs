//! The `driftbench` binary: a thin shell composing the sweep, the report and the plugin host.

#![forbid(unsafe_code)]

mod args;
mod backends;
mod compare_cmd;
mod diff_cmd;
mod environment;
mod gpus;
mod interrupt;
mod merge_cmd;
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

/// A value our own parser refused (`--span -1`) is said in one line, as every other user
/// mistake: `error: --span: `-1`: expected ...`. Everything else (help, version, an unknown
/// option, a missing argument) is clap's own output and exit code.
fn exit_on_parse_error(e: clap::Error) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() == ErrorKind::ValueValidation {
        let arg = match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::String(s)) => s.split(' ').next().unwrap_or(s).to_string(),
            _ => "a value".to_string(),
        };
        if let Some(why) = std::error::Error::source(&e) {
            eprintln!("error: {arg}: {}", text::one_line(&why.to_string()));
            std::process::exit(EXIT_ERROR);
        }
    }
    e.exit()
}

fn main() {
    let cli = Cli::try_parse().unwrap_or_else(|e| exit_on_parse_error(e));
    let result = match &cli.command {
        Command::Sweep {
            config,
            out,
            backends,
            optional,
            machine_label,
            resume,
            remeasure_peaks,
            shard,
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
                shard: *shard,
            },
            plugins,
        ),
        Command::Run(a) => run_cmd::run(a),
        Command::Plugins { json, plugins } => plugins_cmd::run(plugins, *json),
        Command::Report {
            results,
            out,
            format,
        } => report_cmd::run(results, out.clone(), *format),
        Command::Merge { inputs, out } => merge_cmd::run(inputs, out),
        Command::Replay { bundle, plugins } => replay_cmd::run(bundle, plugins),
        Command::Diff(a) => diff_cmd::run(a),
        Command::Compare(a) => compare_cmd::run(a),
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
