//! Command-line interface definition.

use clap::{Args, Parser, Subcommand};
use driftbench_report::diff::{DEFAULT_METRIC_ABS, DEFAULT_METRIC_REL, DEFAULT_SLOWDOWN};
use std::path::{Path, PathBuf};

/// driftbench: does the decode route give the same logits as a prefill, per backend, dtype
/// and span, and how fast is each route?
#[derive(Debug, Parser)]
#[command(
    name = "driftbench",
    version,
    about,
    long_about = None,
    after_help = "Exit codes:\n  \
      0    PASS: every pair passed (sweep, run, replay); no regression (diff)\n  \
      1    FAIL: some pair failed, or diff found a regression\n  \
      2    error: bad input (config, arguments, files) or a failure before any result\n  \
      3    INCOMPLETE: some pair could not be judged (a run failed, crashed or timed out; \
      a plugin could not start; the sweep was interrupted by Ctrl-C)\n  \
      130  a second Ctrl-C stopped the sweep at once\n\
      What finished is journaled either way: `sweep CONFIG --out DIR --resume` goes on.\n\n\
      Environment:\n  \
      DRIFTBENCH_PLUGIN_PATH  folders searched for plugins after --plugin (':'-separated)\n  \
      DRIFTBENCH_CACHE_DIR    the backends' persistent caches (default: \
      $XDG_CACHE_HOME/driftbench, else ~/.cache/driftbench)\n\n\
      The book (book/src) has the configuration, report and CLI references."
)]
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
    /// Folder for the backends' persistent caches (compiled kernels, autotune results),
    /// shared by every sweep on this machine. Default: $DRIFTBENCH_CACHE_DIR, else
    /// $XDG_CACHE_HOME/driftbench, else ~/.cache/driftbench.
    #[arg(long = "cache-dir", value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Start from empty caches that are deleted afterwards: every kernel is compiled and
    /// autotuned afresh, as on a new machine (a cold start).
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Deadline in seconds for each step of starting a backend: its worker's start and
    /// hello, its probe, its options, its model load. Default: the config's
    /// `sweep.open_timeout_s`, else 300.
    #[arg(long = "open-timeout", value_name = "SECONDS", value_parser = parse_seconds)]
    pub open_timeout: Option<f64>,
}

/// A deadline in seconds: finite, > 0, at most a week.
fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if v.is_finite() && v > 0.0 && v <= 7.0 * 86400.0 {
        Ok(v)
    } else {
        Err(format!(
            "{s}: expected seconds greater than 0 and at most 604800 (a week)"
        ))
    }
}

impl PluginArgs {
    /// The cache folder for this command: `--cache-dir`, the environment or the platform
    /// default; with `--no-cache`, an empty folder that lives as long as the returned guard,
    /// so every worker of the command shares it and nothing outlives the command.
    pub fn cache(&self) -> anyhow::Result<CacheDir> {
        if self.no_cache {
            let temp = tempfile::Builder::new()
                .prefix("driftbench-nocache-")
                .tempdir()
                .map_err(|e| {
                    anyhow::anyhow!("--no-cache: cannot create a temporary folder: {e}")
                })?;
            return Ok(CacheDir {
                path: Some(temp.path().to_path_buf()),
                _temp: Some(temp),
            });
        }
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let (path, from) = match (&self.cache_dir, env("DRIFTBENCH_CACHE_DIR")) {
            (Some(d), _) => (Some(d.clone()), "--cache-dir"),
            (None, Some(d)) => (Some(d), "DRIFTBENCH_CACHE_DIR"),
            (None, None) => (
                env("XDG_CACHE_HOME")
                    .map(|d| d.join("driftbench"))
                    .or_else(|| env("HOME").map(|d| d.join(".cache").join("driftbench"))),
                "the default cache folder",
            ),
        };
        // Said once, here, rather than by every backend that fails to create a folder in it.
        if let Some(meta) = path.as_deref().and_then(|p| std::fs::metadata(p).ok()) {
            if !meta.is_dir() {
                anyhow::bail!(
                    "{from} {}: not a folder ({}); name a folder, or remove the file",
                    path.as_deref().unwrap_or_else(|| Path::new("")).display(),
                    driftbench_sweep::input_file::file_kind(&meta)
                );
            }
        }
        Ok(CacheDir { path, _temp: None })
    }
}

/// A command's cache folder (see [`PluginArgs::cache`]).
pub struct CacheDir {
    /// The folder, if any.
    pub path: Option<PathBuf>,
    _temp: Option<tempfile::TempDir>,
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
        /// Named backends that may give no result (e.g. a GPU backend on a machine that may
        /// lack the GPU): the report says "not run" and the exit code ignores them. Any other
        /// named backend whose pairs are all SKIPPED or INCOMPLETE makes the sweep INCOMPLETE
        /// (exit 3). Added to the config's `sweep.optional_backends`.
        #[arg(long = "optional", value_name = "NAME", value_delimiter = ',')]
        optional: Vec<String>,
        /// The machine label of this sweep's runs (default: the config's `machine_label`, else
        /// the host name): journals of two machines are two sets of runs, and `diff` says
        /// `machine: a → b`. 1 to 64 letters, digits, `-`, `_` or `.`.
        #[arg(long = "machine-label", value_name = "LABEL")]
        machine_label: Option<String>,
        /// Continue the sweep journaled in the output folder (same config and backends):
        /// finished cells are kept, the rest run, and the report is the one a clean sweep
        /// would write.
        #[arg(long)]
        resume: bool,
        /// Measure every backend's peak GFLOP/s and GB/s again instead of reading them from
        /// the machine's cache (peaks.json in the cache folder); the new figures replace the
        /// cached ones. `[profile] roofline = false` in the config skips them altogether.
        #[arg(long = "remeasure-peaks")]
        remeasure_peaks: bool,
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
        /// md: every report file; csv: only pairs.csv and performance.csv.
        #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
        format: ReportFormat,
    },
    /// Run the pair of a replay bundle (written by a sweep for every FAIL_* or INCOMPLETE
    /// pair) again and compare its metrics with the bundle's.
    Replay {
        /// The bundle folder, e.g. out/NAME/replay/flex-f16-span512-kv1-seed0.
        bundle: PathBuf,
        /// Plugin search.
        #[command(flatten)]
        plugins: PluginArgs,
    },
    /// Compare two reports: changed verdicts, moved metrics, speed ratios. Exit code 1 on a
    /// regression, 2 when either file is not a driftbench report (both are checked before
    /// anything is compared).
    Diff(DiffArgs),
}

/// What `driftbench report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// report.md, report.json, report.html, plots and the CSV tables.
    Md,
    /// pairs.csv and performance.csv only.
    Csv,
}

/// Arguments of `driftbench diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old report.json (or the sweep folder holding it).
    pub old: PathBuf,
    /// The new report.json (or the sweep folder holding it).
    pub new: PathBuf,
    /// A metric moved when it changed by more than this fraction of the larger value...
    #[arg(long = "metric-rel", value_name = "FRACTION", default_value_t = DEFAULT_METRIC_REL, value_parser = parse_threshold, allow_negative_numbers = true)]
    pub metric_rel: f64,
    /// ...and by more than this absolute amount.
    #[arg(long = "metric-abs", value_name = "AMOUNT", default_value_t = DEFAULT_METRIC_ABS, value_parser = parse_threshold, allow_negative_numbers = true)]
    pub metric_abs: f64,
    /// A route slowed down when new/old mean wall time exceeds 1 + this.
    #[arg(long, value_name = "FRACTION", default_value_t = DEFAULT_SLOWDOWN, value_parser = parse_threshold, allow_negative_numbers = true)]
    pub slowdown: f64,
    /// Count metrics that got worse beyond the thresholds as regressions.
    #[arg(long = "fail-on-metrics")]
    pub fail_on_metrics: bool,
    /// Count slowdowns beyond --slowdown, and rows whose wall times give no speed ratio (NaN,
    /// infinite, zero or negative), as regressions.
    #[arg(long = "fail-on-slowdown")]
    pub fail_on_slowdown: bool,
}

/// A threshold: a finite number, 0 or more.
fn parse_threshold(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("`{s}`: expected a finite number, 0 or more")),
    }
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
    /// Write prefill.npy, decode.npy (float32, float64 for f64; [span, vocab]) and manifest.json here.
    #[arg(long = "save-logits", value_name = "DIR")]
    pub save_logits: Option<PathBuf>,
    /// Then trace both routes' hidden states per layer against flex f64 and say where the
    /// error enters (trace.json goes into the --save-logits folder).
    #[arg(long = "trace-layers")]
    pub trace_layers: bool,
    /// Plugin search.
    #[command(flatten)]
    pub plugins: PluginArgs,
}
