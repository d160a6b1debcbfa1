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
      0    PASS: every pair passed (sweep, run, replay); no regression (diff); a comparison \
      was made (compare)\n  \
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
        /// Run one slice of the grid: shard K of N (0-based), cells whole with all their
        /// backends and balanced by estimated cost; `auto/N` takes K from SLURM_ARRAY_TASK_ID
        /// (a Slurm job array) or JOB_COMPLETION_INDEX (a Kubernetes Indexed Job). Each shard
        /// writes its own --out folder; its journal's plan names the shard.
        #[arg(long, value_name = "K/N", value_parser = parse_shard)]
        shard: Option<driftbench_sweep::shard::Shard>,
        /// Plugin search.
        #[command(flatten)]
        plugins: PluginArgs,
    },
    /// Run one pair (prefill + decode) and print its metrics.
    Run(RunArgs),
    /// List the plugins found and what each probe says: a table as wide as the terminal
    /// (`COLUMNS`, else 80 when not a terminal), or every probe as JSON.
    Plugins {
        /// Print one JSON document: each plugin's file, origin, ABI version and whole probe
        /// (or why it did not load), instead of the table.
        #[arg(long)]
        json: bool,
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
    /// Join the journals of several sweeps of one plan (shards, from one machine or many)
    /// into one journal and report: different plans are refused naming what differs;
    /// identical duplicates collapse; the same run with other logits is reported as not
    /// reproducible; planned pairs without a record make it INCOMPLETE, naming their
    /// shards. The same backend on two machine labels is two rows (`cuda@h100`).
    Merge {
        /// Sweep folders (holding results.jsonl), journals, or merged folders.
        #[arg(required = true, value_name = "DIR")]
        inputs: Vec<PathBuf>,
        /// Folder for the merged results.jsonl and its report.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Re-render report.md and report.json from a results.jsonl.
    Report {
        /// The journal of a sweep.
        results: PathBuf,
        /// Output folder (default: the journal's folder).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// md: every report file; csv: only pairs.csv and performance.csv; bmf: Bencher's
        /// metric format, bmf/<machine>.json per machine label.
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
    /// Compare the logits of two `run --save-logits` folders, or of one folder's two routes,
    /// with the report's metrics; A is the reference.
    ///
    /// Both manifests must hold the same model, vocab and tokens, and each matrix the shape
    /// and dtype its manifest says; a float32 side against a float64 one is compared in f64.
    /// NaN and Inf are data: counted and shown, never an error. Exit code 0 after a
    /// comparison (a measurement, not a verdict), 2 for bad input (a missing or corrupt
    /// file, manifests that differ).
    Compare(CompareArgs),
}

/// Arguments of `driftbench compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The reference folder, written by `driftbench run --save-logits`.
    pub a: PathBuf,
    /// The folder compared with A; without it, A's prefill is compared with A's decode (the
    /// run's own pair).
    pub b: Option<PathBuf>,
    /// Which matrix of both folders to compare: prefill (prefill.npy) or decode (decode.npy).
    /// Default: prefill; with one folder, A's prefill against its decode.
    #[arg(long, value_enum, value_name = "ROUTE", hide_possible_values = true)]
    pub route: Option<SavedRoute>,
    /// A's matrix (prefill or decode), instead of --route's.
    #[arg(long, value_enum, value_name = "ROUTE", hide_possible_values = true)]
    pub route_a: Option<SavedRoute>,
    /// B's matrix (prefill or decode), instead of --route's.
    #[arg(long, value_enum, value_name = "ROUTE", hide_possible_values = true)]
    pub route_b: Option<SavedRoute>,
    /// Print one JSON document (both sides and the metrics, NaN and Inf as strings) instead
    /// of the text.
    #[arg(long)]
    pub json: bool,
}

/// One of the two matrices a `--save-logits` folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SavedRoute {
    /// prefill.npy
    Prefill,
    /// decode.npy
    Decode,
}

/// What `driftbench report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// report.md, report.json, report.html, plots and the CSV tables.
    Md,
    /// pairs.csv and performance.csv only.
    Csv,
    /// Bencher's JSON metric format, one file per machine label (testbed) under bmf/.
    Bmf,
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
    /// A route slowed down when new/old median wall time exceeds 1 + this (and a Mann–Whitney
    /// test of its runs agrees: p < 0.05, 5 or more runs a side).
    #[arg(long, value_name = "FRACTION", default_value_t = DEFAULT_SLOWDOWN, value_parser = parse_threshold, allow_negative_numbers = true)]
    pub slowdown: f64,
    /// Count metrics that got worse beyond the thresholds as regressions.
    #[arg(long = "fail-on-metrics")]
    pub fail_on_metrics: bool,
    /// Count significant slowdowns beyond --slowdown, and rows whose wall times give no speed
    /// ratio (NaN, infinite, zero or negative), as regressions; with fewer than 5 runs a side
    /// a ratio is "not enough repetitions to judge", never a regression.
    #[arg(long = "fail-on-slowdown")]
    pub fail_on_slowdown: bool,
}

/// `s` as a whole number in `range`, else `expected` (driftbench's message, not clap's: a
/// negative value reaches here instead of reading as an unknown flag).
fn whole_in(s: &str, range: std::ops::RangeInclusive<u64>, expected: &str) -> Result<u64, String> {
    match s.trim().parse::<i128>() {
        Ok(v) if v >= i128::from(*range.start()) && v <= i128::from(*range.end()) => Ok(v as u64),
        _ => Err(format!("`{s}`: expected {expected}")),
    }
}

/// `--span`: 1 to `MAX_SPAN` tokens.
fn parse_span(s: &str) -> Result<usize, String> {
    let max = driftbench_sweep::config::MAX_SPAN;
    let expected = format!("a span of at least 1 token and at most {max} (2^20, the largest span)");
    whole_in(s, 1..=max as u64, &expected).map(|v| v as usize)
}

/// `--kv-aligned`: 0 or 1.
fn parse_kv_aligned(s: &str) -> Result<u8, String> {
    whole_in(s, 0..=1, "0 (block-padded cache) or 1 (aligned cache)").map(|v| v as u8)
}

/// `--seed`: any unsigned 64-bit number.
fn parse_seed(s: &str) -> Result<u64, String> {
    whole_in(
        s,
        0..=u64::MAX,
        "a seed: a whole number from 0 to 18446744073709551615",
    )
}

/// `--block-size`: 1 to `MAX_SPAN`.
fn parse_block_size(s: &str) -> Result<usize, String> {
    let max = driftbench_sweep::config::MAX_SPAN;
    whole_in(s, 1..=max as u64, &format!("a block size from 1 to {max}")).map(|v| v as usize)
}

/// `--shard`: `K/N` or `auto/N` (the index from the engine's environment).
fn parse_shard(s: &str) -> Result<driftbench_sweep::shard::Shard, String> {
    driftbench_sweep::shard::Shard::from_flag(s, |k| std::env::var(k).ok())
}

/// A threshold: a finite number, 0 or more.
fn parse_threshold(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("`{s}`: expected a finite number, 0 or more")),
    }
}

/// The model `run` loads when given neither `--model` nor `--config`: where
/// `scripts/fetch-model.sh` puts the reference model, from the repository's root.
pub const DEFAULT_MODEL: &str = "models/SmolLM2-135M-Instruct.Q4_1.gguf";

/// Arguments of `driftbench run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Backend name.
    #[arg(long, default_value = driftbench_sweep::default_backend::DEFAULT_BACKEND)]
    pub backend: String,
    /// A GGUF model file. Default, without --config: the reference model as
    /// scripts/fetch-model.sh fetches it (models/SmolLM2-135M-Instruct.Q4_1.gguf).
    #[arg(long, value_name = "PATH", conflicts_with = "config")]
    pub model: Option<PathBuf>,
    /// Take the model, block size and tolerances from this sweep config instead.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Prompt length in tokens.
    #[arg(long, default_value_t = 32, value_parser = parse_span, allow_negative_numbers = true)]
    pub span: usize,
    /// Compute dtype: f32, f16, bf16, f64.
    #[arg(long, default_value = "f32")]
    pub dtype: String,
    /// 1: aligned KV cache; 0: block-padded.
    #[arg(long = "kv-aligned", default_value_t = 1, value_parser = parse_kv_aligned, allow_negative_numbers = true)]
    pub kv_aligned: u8,
    /// Prompt seed: draws the random token ids, or places the window of a prompt file.
    #[arg(long, default_value_t = 0, value_parser = parse_seed, allow_negative_numbers = true)]
    pub seed: u64,
    /// Take the prompt from this UTF-8 text, tokenized with the GGUF model's own vocabulary
    /// (no BOS; special-token strings stay text): --span tokens from a place the seed picks.
    /// Default: the config's [prompt], else random token ids.
    #[arg(
        long = "prompt-text",
        value_name = "FILE",
        conflicts_with = "prompt_tokens"
    )]
    pub prompt_text: Option<PathBuf>,
    /// Take the prompt from this file of token ids (decimal, separated by whitespace or
    /// commas, or a JSON array; `#` starts a comment line): --span ids from a place the
    /// seed picks.
    #[arg(long = "prompt-tokens", value_name = "FILE")]
    pub prompt_tokens: Option<PathBuf>,
    /// Block size of the padded cache (kv_aligned=0); default 16 or the config's.
    #[arg(long = "block-size", value_parser = parse_block_size, allow_negative_numbers = true)]
    pub block_size: Option<usize>,
    /// Write prefill.npy, decode.npy (float32, float64 for f64; [span, vocab]) and
    /// manifest.json here (`driftbench compare` compares two such folders).
    #[arg(long = "save-logits", value_name = "DIR")]
    pub save_logits: Option<PathBuf>,
    /// Then trace both routes' hidden states per layer against the default backend's f64
    /// (cpu) and say where the error enters, by per-position relative error (trace.json goes
    /// into the --save-logits folder). Needs a backend whose probe declares traces
    /// (`driftbench plugins`, column traces).
    #[arg(long = "trace-layers")]
    pub trace_layers: bool,
    /// Time the first call of each route alone: no warm-up, so kernel compilation and first
    /// allocations land in the printed times (labelled cold). By default each route runs once
    /// unmeasured first, as a sweep does, and the first calls are shown apart.
    #[arg(long)]
    pub cold: bool,
    /// Plugin search.
    #[command(flatten)]
    pub plugins: PluginArgs,
}
