//! The sweep config: a TOML file that says which model to load and which grid to run.
//!
//! # Format
//!
//! ```toml
//! name = "b3-sweep"            # optional; default: the file stem, made safe; names out/<name>
//! description = "..."          # optional; no control characters
//! machine_label = "gpu-node-07" # optional; default: the host name; --machine-label overrides;
//!                              #   1 to 64 letters, digits, `-`, `_`, `.`
//!
//! [model]                      # required; tagged by `kind`
//! kind = "gguf"
//! path = "../models/SmolLM2-135M-Instruct.Q4_1.gguf"   # relative: against the config's folder
//! # or: kind = "synthetic", layers = 2, hidden = 64, heads = 4, kv_heads = 2, ffn = 128,
//! #     vocab = 256, weight_seed = 0   (optional too: rope_base = 10000.0, norm_eps = 1e-5)
//!
//! [sweep]                      # required
//! backends = ["flex"]          # optional; empty or absent = every backend found
//! optional_backends = ["cuda"] # optional: named backends that may give no result (the sweep
//!                              #   still passes; the report says "not run"); any other named
//!                              #   backend without a classified pair makes it INCOMPLETE
//! spans = [32, 128, 512]       # required, non-empty, each in 1..=MAX_SPAN (2^20); sorted
//!                              #   ascending numerically
//! dtypes = ["bf16", "f16"]     # required, non-empty; f32, f16 (alias fp16), bf16, f64
//! kv_aligned = [0, 1]          # required, non-empty, each 0 or 1
//! seeds = [0, 1, 2]            # required, non-empty, each >= 0
//! block_size = 16              # optional, default 16, 1..=MAX_SPAN: block of the padded KV cache
//!                              #   (kv_aligned = 0 rounds the cache capacity up to it)
//! warmup = true                # optional, default true: one unmeasured warm-up run per
//!                              #   (backend, dtype, span, route)
//! timeout_s = 600              # optional, per-run timeout in seconds, > 0 and <= 7 days;
//!                              #   default: none
//! open_timeout_s = 300         # optional, default 300: deadline of a worker's start, probe,
//!                              #   options and model load, in seconds, > 0 and <= 7 days
//! repetitions = 1              # optional, default 1, 1..=1000: each route of each pair is
//!                              #   measured this many times; the verdict judges the first,
//!                              #   every repetition's timing is kept, and logits that differ
//!                              #   bitwise from the first are reported (non-determinism)
//!
//! [prompt]                     # optional; default: seeded random token ids
//! kind = "text"                #   "random", "text" (a UTF-8 text, tokenized with the gguf
//!                              #   model's own vocabulary) or "tokens" (a file of token ids)
//! path = "../prompts/pride-and-prejudice.txt"  # text and tokens: relative against the
//!                              #   config's folder; each pair's span is a window of the
//!                              #   file placed by its seed ([`crate::prompt`])
//!
//! [profile]                    # optional; every field optional
//! roofline = true              # default true: measure each backend's peak GFLOP/s and GB/s
//!                              #   per dtype once per machine (cached in the cache folder)
//!                              #   and show each route's share of them
//!
//! [backends.cuda]              # optional, per backend instance: the plugin's options
//! autotune = "minimal"         #   (checked by the plugin before any run)
//! [backends.cuda-nofusion]     # a second instance of a plugin, reported apart
//! plugin = "cuda"              #   which plugin runs it (default: the table's name)
//! fusion = false
//!
//! [reference]                  # optional; every field optional
//! backend = "flex"             # cross-backend matrix: every backend against this one
//!                              #   (default: flex when in the sweep, else the first backend)
//! noise_floor = true           # default true: each route once more in f64 per (span, seed)
//! floor_backend = "cpu"        # default cpu: the backend that runs the f64 reference
//! floor_routes = "prefill"     # "prefill" (default: the f64 prefill is both routes'
//!                              #   reference) or "both" (the f64 decode runs too)
//! floor_k = 4.0                # default 4, > 0 and <= 1e6: drift may reach k × the floor
//! tolerance_mode = "fixed"     # "fixed" (default: the [tolerances] bounds), "noise_floor"
//!                              #   (max_abs ≤ k × floor replaces the fixed max_abs) or
//!                              #   "both"; the floor modes need noise_floor = true
//!
//! [tolerances.bf16]            # optional, per dtype; every field optional
//! equiv = { max_abs = 1.0, min_top1 = 0.95 }   # kv_aligned = 1 pairs
//! drift = { max_abs = 2.0, min_top1 = 0.9 }    # kv_aligned = 0 pairs
//! ```
//!
//! # Rules
//!
//! - Unknown keys are errors, at every level (a typo never silently falls back to a default).
//! - Lists are deduplicated: `spans` and `kv_aligned` are sorted ascending, `dtypes`, `seeds`
//!   and `backends` keep their first-seen order.
//! - Dtype names are case-insensitive; `fp16` is an alias of `f16` (`fp32`, `fp64` are
//!   accepted too). A `[tolerances.<name>]` table must name a dtype, each dtype at most once.
//! - Tolerances: each field that is not given keeps its default from
//!   [`DtypeTolerance::default_for`]; `max_abs` must be finite, `>= 0` (`0` means
//!   bitwise) and at most [`MAX_TOLERANCE_ABS`] (1e6), `min_top1` must lie in `[0, 1]`.
//!   Every dtype has a tolerance after loading.
//! - `name` becomes the output folder `out/<name>` when `--out` is absent, so it must be a safe
//!   file name: 1 to 64 ASCII letters, digits, `-`, `_` or `.`, not starting with `.` (no
//!   `/`, no `..`, no absolute path, no newline). Without `name`, the file stem is used with
//!   every other character replaced by `_` (and `sweep` if nothing is left).
//!   `description` must not hold control characters (newlines, tabs, escapes).
//! - Numbers: every span and `block_size` in `1..=`[`MAX_SPAN`] (2^20 tokens); `timeout_s`
//!   and `open_timeout_s` finite, `> 0` and at most [`MAX_TIMEOUT_S`] (7 days); seeds `>= 0`;
//!   `kv_aligned` 0 or 1.
//! - Synthetic models: `layers` in `1..=256`, `hidden` and `ffn` in `1..=65536`, `heads` and
//!   `kv_heads` in `1..=1024`, `vocab` in `2..=2^20`; `heads` divisible by `kv_heads`,
//!   `hidden` divisible by `heads` with an even head dimension (RoPE rotates pairs),
//!   `rope_base` and `norm_eps` finite and > 0. At most [`MAX_SYNTHETIC_PARAMS`] (2^31)
//!   parameters, counted as `vocab × hidden × 2 + layers × (4 × hidden² + 3 × hidden × ffn)`,
//!   and every span at most [`MAX_SYNTHETIC_LOGITS`] / `vocab` (2^28 logits per matrix), so no
//!   config can make a run exhaust memory. A GGUF model's spans are checked against its
//!   context length when the file is checked, before any run (`driftbench sweep`).
//! - The config file must be a regular file (a FIFO or a device is refused, never opened).
//! - `[prompt]`: `kind` is `random` (no `path`), `text` or `tokens` (with a `path`). The file
//!   is read when the config loads (a regular file of at most 64 MiB; a text in UTF-8): it
//!   must hold at least as many tokens as the longest span, every id below the model's
//!   vocabulary; a text needs a gguf model whose tokenizer driftbench builds. Each failure
//!   is an error at `prompt.path` naming the file and what it holds.
//!
//! Every error is a [`ConfigError`] whose one-line message names the file, the key, the value
//! and what was expected.
//!
//! The checks of single values (timeouts, block size, spans, tolerances, the floor's `k`, the
//! model) are `pub(crate)`: a replay bundle, which holds a pair's plan and model, is read
//! through the same functions ([`crate::replay`]), so a value the config refuses is refused
//! there too, under the bundle's key.

mod backends;
pub(crate) mod checker;
mod diagnostics;
mod prompt;

pub mod error;

pub use backends::{valid_instance_name, BackendInstance};

use crate::config::error::ConfigError;
use crate::input_file::{self, FileError};
use crate::noise_floor::{FloorRule, ToleranceMode};
use crate::prompt::Prompt;
use crate::verdict::DtypeTolerance;
use crate::verdict::Envelope;
use checker::Checker;
use driftbench_core::dtype::Dtype;
use driftbench_core::kv::KvMode;
use driftbench_core::model_spec::{ModelSpec, SyntheticModel};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Default KV-cache block size of `kv_aligned = 0` runs.
pub const DEFAULT_BLOCK_SIZE: usize = 16;

/// Default deadline of a worker's start, probe, options and model load, in seconds.
pub const DEFAULT_OPEN_TIMEOUT_S: f64 = 300.0;

/// Longest span (prompt length in tokens) and largest `block_size` any config or
/// `driftbench run` accepts: 2^20. A model's own context length may be shorter.
pub const MAX_SPAN: usize = 1 << 20;

/// Longest `timeout_s` and `open_timeout_s`: 7 days, in seconds.
pub const MAX_TIMEOUT_S: f64 = 7.0 * 24.0 * 3600.0;

/// Most `repetitions` of each route of a pair.
pub const MAX_REPETITIONS: usize = 1000;

/// Longest `name`, in characters.
pub const MAX_NAME_LEN: usize = 64;

/// Largest synthetic `vocab`: 2^20 tokens.
pub const MAX_SYNTHETIC_VOCAB: usize = 1 << 20;

/// Most synthetic `layers`.
pub const MAX_SYNTHETIC_LAYERS: usize = 256;

/// Largest synthetic `hidden` and `ffn`: 2^16.
pub const MAX_SYNTHETIC_WIDTH: usize = 1 << 16;

/// Most synthetic `heads` and `kv_heads`.
pub const MAX_SYNTHETIC_HEADS: usize = 1024;

/// Most parameters of a synthetic model (2^31, 8 GiB in f32), counted as
/// `vocab × hidden × 2 + layers × (4 × hidden² + 3 × hidden × ffn)`.
pub const MAX_SYNTHETIC_PARAMS: u64 = 1 << 31;

/// Most logits of one run of a synthetic model, `span × vocab` (2^28, 1 GiB in f32).
pub const MAX_SYNTHETIC_LOGITS: u64 = 1 << 28;

/// A loaded and validated sweep config.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepConfig {
    /// Sweep name: `name` from the file, or the file stem.
    pub name: String,
    /// Free-form description.
    pub description: Option<String>,
    /// The machine label runs are identified by (`machine_label`); `None`: the host name.
    pub machine_label: Option<String>,
    /// The config file, as given.
    pub path: PathBuf,
    /// The model; a relative gguf path is already resolved against the config's folder.
    pub model: ModelSpec,
    /// Backends to run, deduplicated in order; empty = every backend found.
    pub backends: Vec<String>,
    /// Named backends that may give no classified pair without failing the sweep.
    pub optional_backends: Vec<String>,
    /// Prompt lengths, deduplicated, ascending.
    pub spans: Vec<usize>,
    /// Dtypes, deduplicated, in config order.
    pub dtypes: Vec<Dtype>,
    /// KV layouts (`0` padded, `1` aligned), deduplicated, ascending.
    pub kv_aligned: Vec<KvMode>,
    /// Prompt seeds, deduplicated, in config order.
    pub seeds: Vec<u64>,
    /// Block size of the padded KV cache (kv_aligned = 0).
    pub block_size: usize,
    /// One unmeasured warm-up run per (backend, dtype, span, route).
    pub warmup: bool,
    /// Per-run timeout in seconds.
    pub timeout_s: Option<f64>,
    /// Deadline in seconds of everything a worker does before the first run: start, hello,
    /// probe, options, model load.
    pub open_timeout_s: f64,
    /// Tolerance of every dtype ([`Dtype::ALL`]): defaults overridden by the file.
    pub tolerances: BTreeMap<Dtype, DtypeTolerance>,
    /// Backend instances with a `[backends.<name>]` table, by name.
    pub instances: BTreeMap<String, BackendInstance>,
    /// References: the cross-backend matrix's and the noise floor's.
    pub reference: ReferenceConfig,
    /// Measurements of each route of each pair (`[sweep] repetitions`, at least 1).
    pub repetitions: usize,
    /// The `[profile]` table.
    pub profile: ProfileConfig,
    /// The pairs' prompts (`[prompt]`): random ids, or a file read and tokenized at load.
    pub prompt: Prompt,
}

/// The `[profile]` table: what the latency profile measures besides the runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileConfig {
    /// Measure (or read from the machine's cache) each backend's peaks per dtype and set
    /// each route's achieved GFLOP/s and GB/s against them.
    pub roofline: bool,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        ProfileConfig { roofline: true }
    }
}

/// The `[reference]` table: what other logits are measured against.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceConfig {
    /// Backend every other backend's logits are compared with in the cross-backend matrix;
    /// `None`: `flex` when it is in the sweep, else the first backend.
    pub backend: Option<String>,
    /// Run each route once more in f64 per (span, seed) to measure the noise floor.
    pub noise_floor: bool,
    /// Backend that runs the f64 reference (it must support f64).
    pub floor_backend: String,
    /// Run the f64 decode as the decode route's reference too (`floor_routes = "both"`);
    /// by default the f64 prefill is both routes' reference.
    pub floor_decode: bool,
    /// How drift is judged, and the floor multiple `k`.
    pub rule: FloorRule,
}

impl Default for ReferenceConfig {
    fn default() -> Self {
        ReferenceConfig {
            backend: None,
            noise_floor: true,
            floor_backend: DEFAULT_FLOOR_BACKEND.to_string(),
            floor_decode: false,
            rule: FloorRule::default(),
        }
    }
}

/// Default backend of the f64 noise-floor reference: [`crate::default_backend::DEFAULT_BACKEND`]'s f64 (the
/// cpu backend: its own kernels, every core, f64 weights held once).
pub const DEFAULT_FLOOR_BACKEND: &str = crate::default_backend::DEFAULT_BACKEND;

/// Largest `reference.floor_k`.
pub const MAX_FLOOR_K: f64 = 1e6;

/// Largest `max_abs` of a tolerance (`tolerances.<dtype>.{equiv,drift}.max_abs`, and a replay
/// bundle's `plan.tolerance`): 1e6. Logits are of magnitude ~30 on SmolLM2 and rarely pass a
/// few hundred on any model, so 1e6 already accepts any real drift; a larger bound (1e308) is
/// a tolerance in name only, which turns every finite FAIL into a PASS.
pub const MAX_TOLERANCE_ABS: f64 = 1e6;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    name: Option<String>,
    description: Option<String>,
    machine_label: Option<String>,
    model: ModelSpec,
    sweep: RawSweep,
    #[serde(default)]
    tolerances: BTreeMap<String, RawTolerance>,
    #[serde(default)]
    backends: BTreeMap<String, toml::Table>,
    reference: Option<RawReference>,
    profile: Option<RawProfile>,
    prompt: Option<prompt::RawPrompt>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    roofline: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReference {
    backend: Option<String>,
    noise_floor: Option<bool>,
    floor_backend: Option<String>,
    floor_routes: Option<String>,
    floor_k: Option<f64>,
    tolerance_mode: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    #[serde(default)]
    backends: Vec<String>,
    #[serde(default)]
    optional_backends: Vec<String>,
    spans: Vec<i64>,
    dtypes: Vec<String>,
    kv_aligned: Vec<i64>,
    seeds: Vec<i64>,
    block_size: Option<i64>,
    warmup: Option<bool>,
    timeout_s: Option<f64>,
    open_timeout_s: Option<f64>,
    repetitions: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTolerance {
    equiv: Option<RawEnvelope>,
    drift: Option<RawEnvelope>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvelope {
    max_abs: Option<f64>,
    min_top1: Option<f64>,
}

pub use crate::input_file::file_kind;

/// Whether `name` is a safe sweep name: it names the output folder `out/<name>`, so 1 to
/// [`MAX_NAME_LEN`] ASCII letters, digits, `-`, `_` or `.`, not starting with `.`.
pub fn valid_sweep_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The default sweep name for config `file`: its stem, every character a sweep name may not
/// hold replaced by `_` (a leading `.` too), at most [`MAX_NAME_LEN`] characters; `sweep` when
/// the file has no stem.
pub fn default_sweep_name(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = stem
        .chars()
        .enumerate()
        .map(|(i, c)| match c {
            '.' if i == 0 => '_',
            c if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') => c,
            _ => '_',
        })
        .take(MAX_NAME_LEN)
        .collect();
    if name.is_empty() {
        "sweep".to_string()
    } else {
        name
    }
}

/// The largest span `model` accepts before any model file is read, and the rule as the
/// `expected` part of an error: [`MAX_SPAN`], or less for a synthetic model whose
/// `span × vocab` would pass [`MAX_SYNTHETIC_LOGITS`]. A GGUF model's context length is
/// checked apart, once its file has been read.
pub fn span_limit(model: &ModelSpec) -> (usize, String) {
    let max = MAX_SPAN;
    if let ModelSpec::Synthetic(m) = model {
        let by_logits =
            usize::try_from(MAX_SYNTHETIC_LOGITS / (m.vocab.max(1) as u64)).unwrap_or(usize::MAX);
        if by_logits < max {
            return (
                by_logits,
                format!(
                    "a span of at least 1 token and at most {by_logits}: span × model.vocab \
                     ({}) must stay within {MAX_SYNTHETIC_LOGITS} logits per run (2^28)",
                    m.vocab
                ),
            );
        }
    }
    (
        max,
        format!("a span of at least 1 token and at most {max} (2^20, the largest span)"),
    )
}

fn dedup_keep_order<T: PartialEq + Clone>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

impl SweepConfig {
    /// Read and validate the config file at `path`.
    ///
    /// Only a regular file is opened: a FIFO, a directory or a device is refused with
    /// [`ConfigError::NotRegularFile`] (opening a FIFO would wait for a writer forever).
    pub fn load(path: &Path) -> Result<SweepConfig, ConfigError> {
        let file = path.display().to_string();
        let text = match input_file::read_text(path, input_file::CONFIG_CAP) {
            Ok(text) => text,
            Err(FileError::Io { error, .. }) => return Err(ConfigError::Read { file, error }),
            Err(FileError::NotRegularFile { kind, .. }) => {
                return Err(ConfigError::NotRegularFile { file, kind })
            }
            Err(e) => return Err(ConfigError::Unreadable { file, why: e.why() }),
        };
        Self::parse(&text, path)
    }

    /// Parse and validate config `text`; `file` is where it came from: it names the file in
    /// errors, gives the default name, and relative gguf paths resolve against its folder.
    pub fn parse(text: &str, file: &Path) -> Result<SweepConfig, ConfigError> {
        let file_str = file.display().to_string();
        let c = Checker { file: &file_str };
        let raw = read_raw(&c, text)?;
        let name = check_name(&c, raw.name, file)?;
        check_description(&c, raw.description.as_deref())?;
        check_machine_label(&c, raw.machine_label.as_deref())?;
        let model = check_model(&c, raw.model, file)?;
        let sweep = check_sweep(&c, raw.sweep, &model)?;
        let profile = ProfileConfig {
            roofline: raw.profile.and_then(|p| p.roofline).unwrap_or(true),
        };
        let tolerances = check_tolerances(&c, raw.tolerances)?;
        let instances = backends::check_backends(&c, raw.backends)?;
        let reference = check_reference(&c, raw.reference)?;
        let prompt = prompt::check_prompt(&c, raw.prompt, file, &model, &sweep.spans)?;

        Ok(SweepConfig {
            name,
            description: raw.description,
            machine_label: raw.machine_label,
            path: file.to_path_buf(),
            model,
            backends: sweep.backends,
            optional_backends: sweep.optional_backends,
            spans: sweep.spans,
            dtypes: sweep.dtypes,
            kv_aligned: sweep.kv_aligned,
            seeds: sweep.seeds,
            block_size: sweep.block_size,
            warmup: sweep.warmup,
            timeout_s: sweep.timeout_s,
            open_timeout_s: sweep.open_timeout_s,
            tolerances,
            instances,
            reference,
            repetitions: sweep.repetitions,
            profile,
            prompt,
        })
    }

    /// The instance called `name`: its `[backends.<name>]` table, or the plugin of that name
    /// with no options.
    pub fn instance(&self, name: &str) -> BackendInstance {
        BackendInstance::lookup(&self.instances, name)
    }

    /// The tolerance in force for `dtype` (the file's, or the documented default).
    pub fn tolerance(&self, dtype: Dtype) -> DtypeTolerance {
        self.tolerances
            .get(&dtype)
            .copied()
            .unwrap_or_else(|| DtypeTolerance::default_for(dtype))
    }
}

/// The file's text as a [`RawConfig`]: TOML with the shape of a sweep config (every key known,
/// every value of its type), or a [`ConfigError::Parse`] naming the position and the key.
fn read_raw(c: &Checker<'_>, text: &str) -> Result<RawConfig, ConfigError> {
    diagnostics::from_toml(text).map_err(|message| ConfigError::Parse {
        file: c.file.to_string(),
        message,
    })
}

/// `name`, a safe output folder name, or else the one made from `file`'s stem.
fn check_name(c: &Checker<'_>, name: Option<String>, file: &Path) -> Result<String, ConfigError> {
    match name {
        Some(name) if !valid_sweep_name(&name) => Err(c.invalid(
            "name",
            name,
            "a non-empty name of at most 64 letters, digits, `-`, `_` or `.`, not \
             starting with `.` (it names the output folder out/<name>)",
        )),
        Some(name) => Ok(name),
        None => Ok(default_sweep_name(file)),
    }
}

/// `description`: free text on one line.
fn check_description(c: &Checker<'_>, description: Option<&str>) -> Result<(), ConfigError> {
    match description {
        Some(d) if d.chars().any(char::is_control) => Err(c.invalid(
            "description",
            d,
            "text without control characters (no newline, tab or escape)",
        )),
        _ => Ok(()),
    }
}

fn check_machine_label(c: &Checker<'_>, label: Option<&str>) -> Result<(), ConfigError> {
    match label {
        Some(l) if !crate::machine_label::valid_machine_label(l) => Err(c.invalid(
            "machine_label",
            l,
            "a machine label of 1 to 64 letters, digits, `-`, `_` or `.`, not starting with `.`",
        )),
        _ => Ok(()),
    }
}

/// The `[sweep]` table, checked, defaults filled in.
struct SweepTable {
    backends: Vec<String>,
    optional_backends: Vec<String>,
    spans: Vec<usize>,
    dtypes: Vec<Dtype>,
    kv_aligned: Vec<KvMode>,
    seeds: Vec<u64>,
    block_size: usize,
    warmup: bool,
    timeout_s: Option<f64>,
    open_timeout_s: f64,
    repetitions: usize,
}

/// The `[sweep]` table: its lists (the grid), then its numbers; spans are bounded by `model`.
fn check_sweep(c: &Checker<'_>, s: RawSweep, model: &ModelSpec) -> Result<SweepTable, ConfigError> {
    let backends = check_backend_names(c, "sweep.backends", s.backends)?;
    let optional_backends = check_backend_names(c, "sweep.optional_backends", s.optional_backends)?;
    let spans = check_spans(c, &s.spans, model)?;
    let dtypes = check_dtypes(c, &s.dtypes)?;
    let kv_aligned = check_kv_aligned(c, &s.kv_aligned)?;
    let seeds = check_seeds(c, &s.seeds)?;
    let block_size = check_block_size(c, s.block_size)?;
    if let Some(t) = s.timeout_s {
        check_seconds(c, "sweep.timeout_s", t)?;
    }
    let open_timeout_s = s.open_timeout_s.unwrap_or(DEFAULT_OPEN_TIMEOUT_S);
    check_seconds(c, "sweep.open_timeout_s", open_timeout_s)?;
    let repetitions = check_repetitions(c, s.repetitions)?;
    Ok(SweepTable {
        backends,
        optional_backends,
        spans,
        dtypes,
        kv_aligned,
        seeds,
        block_size,
        warmup: s.warmup.unwrap_or(true),
        timeout_s: s.timeout_s,
        open_timeout_s,
        repetitions,
    })
}

/// `sweep.backends` or `sweep.optional_backends` (`key`): instance names, deduplicated in
/// order (may be empty).
fn check_backend_names(
    c: &Checker<'_>,
    key: &str,
    names: Vec<String>,
) -> Result<Vec<String>, ConfigError> {
    for b in &names {
        if !backends::valid_instance_name(b) {
            return Err(c.invalid(
                key,
                b.as_str(),
                "a backend name of 1 to 64 letters, digits, `-`, `_` or `.`",
            ));
        }
    }
    Ok(dedup_keep_order(names))
}

/// `sweep.spans`: non-empty, each within [`span_limit`] of `model`; sorted, deduplicated.
fn check_spans(c: &Checker<'_>, raw: &[i64], model: &ModelSpec) -> Result<Vec<usize>, ConfigError> {
    c.non_empty("sweep.spans", raw)?;
    let mut spans = Vec::with_capacity(raw.len());
    for &span in raw {
        spans.push(check_span(c, "sweep.spans", span.into(), model)?);
    }
    spans.sort_unstable();
    spans.dedup();
    Ok(spans)
}

/// One span at `key`: within [`span_limit`] of `model` (shared with replay bundles).
pub(crate) fn check_span(
    c: &Checker<'_>,
    key: &str,
    span: i128,
    model: &ModelSpec,
) -> Result<usize, ConfigError> {
    let (max_span, span_rule) = span_limit(model);
    match usize::try_from(span) {
        Ok(ok) if (1..=max_span).contains(&ok) => Ok(ok),
        _ => Err(c.invalid(key, int_value(span), span_rule)),
    }
}

/// `sweep.dtypes`: non-empty dtype names, deduplicated in order.
fn check_dtypes(c: &Checker<'_>, raw: &[String]) -> Result<Vec<Dtype>, ConfigError> {
    c.non_empty("sweep.dtypes", raw)?;
    let mut dtypes = Vec::with_capacity(raw.len());
    for name in raw {
        let dtype: Dtype = name.parse().map_err(|_| {
            c.invalid(
                "sweep.dtypes",
                name.as_str(),
                "one of f32, f16 (alias fp16), bf16, f64",
            )
        })?;
        dtypes.push(dtype);
    }
    Ok(dedup_keep_order(dtypes))
}

/// `sweep.kv_aligned`: non-empty, each 0 or 1; sorted, deduplicated.
fn check_kv_aligned(c: &Checker<'_>, raw: &[i64]) -> Result<Vec<KvMode>, ConfigError> {
    c.non_empty("sweep.kv_aligned", raw)?;
    let mut kv_aligned = Vec::with_capacity(raw.len());
    for &kv in raw {
        match KvMode::from_flag(kv) {
            Some(mode) => kv_aligned.push(mode),
            None => return Err(c.invalid("sweep.kv_aligned", kv, "0 or 1")),
        }
    }
    kv_aligned.sort_unstable();
    kv_aligned.dedup();
    Ok(kv_aligned)
}

/// `sweep.seeds`: non-empty, each >= 0; deduplicated in order.
fn check_seeds(c: &Checker<'_>, raw: &[i64]) -> Result<Vec<u64>, ConfigError> {
    c.non_empty("sweep.seeds", raw)?;
    let mut seeds = Vec::with_capacity(raw.len());
    for &seed in raw {
        let seed = u64::try_from(seed)
            .map_err(|_| c.invalid("sweep.seeds", seed, "a non-negative integer seed"))?;
        seeds.push(seed);
    }
    Ok(dedup_keep_order(seeds))
}

/// `sweep.block_size`: [`check_block_size_at`], [`DEFAULT_BLOCK_SIZE`] when absent.
fn check_block_size(c: &Checker<'_>, raw: Option<i64>) -> Result<usize, ConfigError> {
    let Some(b) = raw else {
        return Ok(DEFAULT_BLOCK_SIZE);
    };
    check_block_size_at(c, "sweep.block_size", b.into())
}

/// A block size at `key`: 1 to [`MAX_SPAN`] (shared with replay bundles).
pub(crate) fn check_block_size_at(
    c: &Checker<'_>,
    key: &str,
    b: i128,
) -> Result<usize, ConfigError> {
    match usize::try_from(b) {
        Ok(ok) if (1..=MAX_SPAN).contains(&ok) => Ok(ok),
        _ => Err(c.invalid(
            key,
            int_value(b),
            format!("a block size of at least 1 token and at most {MAX_SPAN} (2^20)"),
        )),
    }
}

/// `sweep.repetitions`: 1 to [`MAX_REPETITIONS`], 1 when absent.
fn check_repetitions(c: &Checker<'_>, raw: Option<i64>) -> Result<usize, ConfigError> {
    let Some(r) = raw else { return Ok(1) };
    match usize::try_from(r) {
        Ok(ok) if (1..=MAX_REPETITIONS).contains(&ok) => Ok(ok),
        _ => Err(c.invalid(
            "sweep.repetitions",
            r,
            format!("a whole number of measurements per route, 1 to {MAX_REPETITIONS}"),
        )),
    }
}

/// The `[reference]` table, defaults filled in; a floor tolerance mode needs the floor.
fn check_reference(
    c: &Checker<'_>,
    raw: Option<RawReference>,
) -> Result<ReferenceConfig, ConfigError> {
    let mut out = ReferenceConfig::default();
    let Some(r) = raw else { return Ok(out) };
    for (key, name) in [
        ("reference.backend", &r.backend),
        ("reference.floor_backend", &r.floor_backend),
    ] {
        if let Some(n) = name {
            if !backends::valid_instance_name(n) {
                return Err(c.invalid(
                    key,
                    n.as_str(),
                    "a backend name of 1 to 64 letters, digits, `-`, `_` or `.`",
                ));
            }
        }
    }
    out.backend = r.backend;
    if let Some(b) = r.floor_backend {
        out.floor_backend = b;
    }
    out.noise_floor = r.noise_floor.unwrap_or(true);
    if let Some(routes) = r.floor_routes {
        out.floor_decode = match routes.as_str() {
            "prefill" => false,
            "both" => true,
            _ => {
                return Err(c.invalid(
                    "reference.floor_routes",
                    routes.as_str(),
                    "\"prefill\" (the f64 prefill is both routes' reference) or \"both\"",
                ))
            }
        };
    }
    if let Some(k) = r.floor_k {
        out.rule.k = check_floor_k(c, "reference.floor_k", k)?;
    }
    if let Some(m) = r.tolerance_mode {
        out.rule.mode = ToleranceMode::parse(&m).ok_or_else(|| {
            c.invalid(
                "reference.tolerance_mode",
                m.as_str(),
                "one of \"fixed\", \"noise_floor\", \"both\"",
            )
        })?;
    }
    if out.rule.mode.uses_floor() && !out.noise_floor {
        return Err(c.invalid(
            "reference.noise_floor",
            false,
            format!(
                "true: tolerance_mode \"{}\" judges drift against the noise floor",
                out.rule.mode
            ),
        ));
    }
    Ok(out)
}

/// The noise floor's multiple `k` at `key`: finite, > 0 and at most [`MAX_FLOOR_K`] (shared
/// with replay bundles).
pub(crate) fn check_floor_k(c: &Checker<'_>, key: &str, k: f64) -> Result<f64, ConfigError> {
    if k.is_finite() && k > 0.0 && k <= MAX_FLOOR_K {
        return Ok(k);
    }
    Err(c.invalid(
        key,
        k,
        "a finite multiple of the noise floor, > 0 and at most 1e6",
    ))
}

/// A timeout at `key`: finite, > 0 and at most [`MAX_TIMEOUT_S`] (shared with replay
/// bundles).
pub(crate) fn check_seconds(c: &Checker<'_>, key: &str, t: f64) -> Result<(), ConfigError> {
    if t.is_finite() && t > 0.0 && t <= MAX_TIMEOUT_S {
        return Ok(());
    }
    Err(c.invalid(
        key,
        t,
        format!("a finite number of seconds greater than 0 and at most {MAX_TIMEOUT_S} (7 days)"),
    ))
}

fn usize_value(v: usize) -> toml::Value {
    toml::Value::Integer(i64::try_from(v).unwrap_or(i64::MAX))
}

/// An integer as TOML writes it; one beyond TOML's 64-bit integers (a replay bundle's JSON
/// may hold one) as a float.
fn int_value(v: i128) -> toml::Value {
    i64::try_from(v).map_or(toml::Value::Float(v as f64), toml::Value::Integer)
}

/// `[model]`: a gguf path (resolved against `file`'s folder) or a synthetic model's shape.
fn check_model(c: &Checker<'_>, model: ModelSpec, file: &Path) -> Result<ModelSpec, ConfigError> {
    check_model_spec(c, &model)?;
    match model {
        ModelSpec::Gguf { path } => {
            let path = match file.parent() {
                Some(dir) if path.is_relative() && !dir.as_os_str().is_empty() => dir.join(path),
                _ => path,
            };
            Ok(ModelSpec::Gguf { path })
        }
        synthetic => Ok(synthetic),
    }
}

/// The model at key `model` (shared with replay bundles): a gguf path that is not empty (the
/// file itself is checked before any run, by the CLI), or a synthetic model's sizes, shape
/// and parameter count.
pub(crate) fn check_model_spec(c: &Checker<'_>, model: &ModelSpec) -> Result<(), ConfigError> {
    match model {
        ModelSpec::Gguf { path } if path.as_os_str().is_empty() => {
            Err(c.invalid("model.path", "", "a path to a .gguf file"))
        }
        ModelSpec::Gguf { .. } => Ok(()),
        ModelSpec::Synthetic(m) => {
            check_synthetic_shape(c, m)?;
            check_synthetic_size(c, m)
        }
    }
}

/// A synthetic model's sizes, each in its range, and their shape: grouped heads, an even head
/// dimension, a finite RoPE base and norm epsilon.
fn check_synthetic_shape(c: &Checker<'_>, m: &SyntheticModel) -> Result<(), ConfigError> {
    for (key, v, min, max) in [
        ("model.layers", m.layers, 1, MAX_SYNTHETIC_LAYERS),
        ("model.hidden", m.hidden, 1, MAX_SYNTHETIC_WIDTH),
        ("model.heads", m.heads, 1, MAX_SYNTHETIC_HEADS),
        ("model.kv_heads", m.kv_heads, 1, MAX_SYNTHETIC_HEADS),
        ("model.ffn", m.ffn, 1, MAX_SYNTHETIC_WIDTH),
        ("model.vocab", m.vocab, 2, MAX_SYNTHETIC_VOCAB),
    ] {
        if !(min..=max).contains(&v) {
            return Err(c.invalid(
                key,
                usize_value(v),
                format!("an integer of at least {min} and at most {max}"),
            ));
        }
    }
    if !m.heads.is_multiple_of(m.kv_heads) {
        return Err(c.invalid(
            "model.heads",
            usize_value(m.heads),
            format!(
                "a multiple of model.kv_heads = {} (grouped-query attention)",
                m.kv_heads
            ),
        ));
    }
    if !m.hidden.is_multiple_of(m.heads) {
        return Err(c.invalid(
            "model.hidden",
            usize_value(m.hidden),
            format!("a multiple of model.heads = {}", m.heads),
        ));
    }
    let head_dim = m.hidden / m.heads;
    if !head_dim.is_multiple_of(2) {
        return Err(c.invalid(
            "model.hidden",
            usize_value(m.hidden),
            format!("an even head dimension (hidden / heads = {head_dim}; RoPE rotates pairs)"),
        ));
    }
    if !(m.rope_base.is_finite() && m.rope_base > 0.0) {
        return Err(c.invalid(
            "model.rope_base",
            m.rope_base,
            "a finite number greater than 0",
        ));
    }
    if !(m.norm_eps.is_finite() && m.norm_eps > 0.0) {
        return Err(c.invalid(
            "model.norm_eps",
            m.norm_eps,
            "a finite number greater than 0",
        ));
    }
    Ok(())
}

/// A synthetic model's parameter count: at most [`MAX_SYNTHETIC_PARAMS`].
fn check_synthetic_size(c: &Checker<'_>, m: &SyntheticModel) -> Result<(), ConfigError> {
    // Each size is at most 2^20 here: no product below can overflow a u128.
    let (v, h, l, f) = (
        m.vocab as u128,
        m.hidden as u128,
        m.layers as u128,
        m.ffn as u128,
    );
    let params = v * h * 2 + l * (4 * h * h + 3 * h * f);
    if params > u128::from(MAX_SYNTHETIC_PARAMS) {
        return Err(c.invalid(
            "model",
            toml::Value::Integer(i64::try_from(params).unwrap_or(i64::MAX)),
            format!(
                "a synthetic model of at most {MAX_SYNTHETIC_PARAMS} parameters (2^31), \
                 counted as vocab × hidden × 2 + layers × (4 × hidden² + 3 × hidden × ffn)"
            ),
        ));
    }
    Ok(())
}

fn check_tolerances(
    c: &Checker<'_>,
    raw: BTreeMap<String, RawTolerance>,
) -> Result<BTreeMap<Dtype, DtypeTolerance>, ConfigError> {
    let mut out: BTreeMap<Dtype, DtypeTolerance> = Dtype::ALL
        .into_iter()
        .map(|d| (d, DtypeTolerance::default_for(d)))
        .collect();
    let mut seen: BTreeMap<Dtype, String> = BTreeMap::new();
    for (name, tol) in raw {
        let dtype: Dtype = name.parse().map_err(|_| {
            c.invalid(
                format!("tolerances.{name}"),
                name.as_str(),
                "a table named after a dtype: one of f32, f16 (alias fp16), bf16, f64",
            )
        })?;
        if let Some(first) = seen.get(&dtype) {
            return Err(c.invalid(
                format!("tolerances.{name}"),
                name.as_str(),
                format!("each dtype at most once (`tolerances.{first}` is the same dtype)"),
            ));
        }
        seen.insert(dtype, name.clone());
        let entry = out.get_mut(&dtype).expect("every dtype has a default");
        for (which, raw_env, env) in [
            ("equiv", tol.equiv, &mut entry.equiv),
            ("drift", tol.drift, &mut entry.drift),
        ] {
            let Some(raw_env) = raw_env else { continue };
            apply_envelope(c, &format!("tolerances.{name}.{which}"), raw_env, env)?;
        }
    }
    Ok(out)
}

fn apply_envelope(
    c: &Checker<'_>,
    key: &str,
    raw: RawEnvelope,
    env: &mut Envelope,
) -> Result<(), ConfigError> {
    if let Some(max_abs) = raw.max_abs {
        env.max_abs = check_max_abs(c, &format!("{key}.max_abs"), max_abs)?;
    }
    if let Some(min_top1) = raw.min_top1 {
        env.min_top1 = check_min_top1(c, &format!("{key}.min_top1"), min_top1)?;
    }
    Ok(())
}

/// A tolerance's `max_abs` at `key`: finite, >= 0 (0 means bitwise) and at most
/// [`MAX_TOLERANCE_ABS`] (shared with replay bundles).
pub(crate) fn check_max_abs(c: &Checker<'_>, key: &str, v: f64) -> Result<f64, ConfigError> {
    if v.is_finite() && (0.0..=MAX_TOLERANCE_ABS).contains(&v) {
        return Ok(v);
    }
    Err(c.invalid(
        key,
        v,
        "a finite number >= 0 and at most 1e6 (0 means bitwise)",
    ))
}

/// A tolerance's `min_top1` at `key`: a fraction in `[0, 1]` (shared with replay bundles).
pub(crate) fn check_min_top1(c: &Checker<'_>, key: &str, v: f64) -> Result<f64, ConfigError> {
    if (0.0..=1.0).contains(&v) {
        return Ok(v);
    }
    Err(c.invalid(key, v, "a fraction in [0, 1]"))
}

/// A whole tolerance at `key` (`key.equiv.max_abs` ... `key.drift.min_top1`), as a replay
/// bundle holds it: every bound checked as the config checks it.
pub(crate) fn check_tolerance(
    c: &Checker<'_>,
    key: &str,
    t: &DtypeTolerance,
) -> Result<(), ConfigError> {
    for (which, env) in [("equiv", &t.equiv), ("drift", &t.drift)] {
        check_max_abs(c, &format!("{key}.{which}.max_abs"), env.max_abs)?;
        check_min_top1(c, &format!("{key}.{which}.min_top1"), env.min_top1)?;
    }
    Ok(())
}
