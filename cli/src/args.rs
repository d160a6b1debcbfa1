//! Command-line interface definition.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// driftbench: does the decode route give the same logits as a prefill, per backend, dtype
/// and span, and how fast is each route?
#[derive(Debug, Parser)]
#[command(name = "driftbench", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where to find plugins, shared by every subcommand.
#[derive(Debug, Args, Clone, Default)]
pub struct PluginArgs {
    /// Load this plugin library (repeatable); searched before DRIFTBENCH_PLUGIN_PATH and the
    /// executable's folder.
    #[arg(long = "plugin", value_name = "PATH")]
    pub plugins: Vec<PathBuf>,
    /// Run backends inside this process instead of one worker process per session
    /// (for debugging: a crashing backend then ends the whole command).
    #[arg(long = "in-process")]
    pub in_process: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a sweep config against every selected backend and write the report.
    Sweep {
        /// The sweep config (TOML).
        config: PathBuf,
        /// Output folder for results.jsonl, report.md and report.json.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Backends to run (repeatable or comma-separated); default: the config's list, or
        /// every plugin found.
        #[arg(long = "backend", value_name = "NAME", value_delimiter = ',')]
        backends: Vec<String>,
        /// Plugin search.
        #[command(flatten)]
        plugins: PluginArgs,
    },
    /// Run one pair (prefill + decode) and print its metrics.
    Run(RunArgs),
    /// List the plugins found and what each probe says.
    Plugins {
        /// Plugin search.
        #[command(flatten)]
        plugins: PluginArgs,
    },
    /// Serve one plugin over the worker protocol on stdin/stdout (used by sweeps).
    #[command(hide = true)]
    Worker {
        /// The plugin library.
        #[arg(long, value_name = "PATH")]
        plugin: PathBuf,
    },
    /// Re-render report.md and report.json from a results.jsonl.
    Report {
        /// The journal of a sweep.
        results: PathBuf,
        /// Output folder (default: the journal's folder).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// Arguments of `driftbench run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Backend name.
    #[arg(long, default_value = "flex")]
    pub backend: String,
    /// A GGUF model file.
    #[arg(
        long,
        value_name = "PATH",
        required_unless_present = "config",
        conflicts_with = "config"
    )]
    pub model: Option<PathBuf>,
    /// Take the model, block size and tolerances from this sweep config instead.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Prompt length in tokens.
    #[arg(long, default_value_t = 32)]
    pub span: usize,
    /// Compute dtype: f32, f16, bf16, f64.
    #[arg(long, default_value = "f32")]
    pub dtype: String,
    /// 1: aligned KV cache; 0: block-padded.
    #[arg(long = "kv-aligned", default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub kv_aligned: u8,
    /// Prompt seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Block size of the padded cache (kv_aligned=0); default 16 or the config's.
    #[arg(long = "block-size")]
    pub block_size: Option<usize>,
    /// Write prefill.npy, decode.npy (float32, [span, vocab]) and manifest.json here.
    #[arg(long = "save-logits", value_name = "DIR")]
    pub save_logits: Option<PathBuf>,
    /// Plugin search.
    #[command(flatten)]
    pub plugins: PluginArgs,
}
