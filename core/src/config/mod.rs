//! The sweep config: a TOML file that says which model to load and which grid to run.
//!
//! # Format
//!
//! ```toml
//! name = "b3-sweep"            # optional; default: the file stem
//! description = "..."          # optional
//!
//! [model]                      # required; tagged by `kind`
//! kind = "gguf"
//! path = "../models/SmolLM2-135M-Instruct.Q4_1.gguf"   # relative: against the config's folder
//! # or: kind = "synthetic", layers = 2, hidden = 64, heads = 4, kv_heads = 2, ffn = 128,
//! #     vocab = 256, weight_seed = 0   (optional too: rope_base = 10000.0, norm_eps = 1e-5)
//!
//! [sweep]                      # required
//! backends = ["flex"]          # optional; empty or absent = every backend found
//! spans = [32, 128, 512]       # required, non-empty, each >= 1; sorted ascending numerically
//! dtypes = ["bf16", "f16"]     # required, non-empty; f32, f16 (alias fp16), bf16, f64
//! kv_aligned = [0, 1]          # required, non-empty, each 0 or 1
//! seeds = [0, 1, 2]            # required, non-empty, each >= 0
//! block_size = 16              # optional, default 16, >= 1: block of the padded KV cache
//!                              #   (kv_aligned = 0 rounds the cache capacity up to it)
//! warmup = true                # optional, default true: one unmeasured warm-up run per
//!                              #   (backend, dtype, span, route)
//! timeout_s = 600              # optional, per-run timeout in seconds, > 0; default: none
//!
//! [backends.cuda]              # optional, per backend instance: the plugin's options
//! autotune = "minimal"         #   (checked by the plugin before any run)
//! [backends.cuda-nofusion]     # a second instance of a plugin, reported apart
//! plugin = "cuda"              #   which plugin runs it (default: the table's name)
//! fusion = false
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
//!   [`DtypeTolerance::default_for`]; `max_abs` must be finite and `>= 0` (`0` means
//!   bitwise), `min_top1` must lie in `[0, 1]`. Every dtype has a tolerance after loading.
//! - Synthetic models: `layers`, `hidden`, `heads`, `kv_heads`, `ffn` >= 1, `vocab` >= 2,
//!   `heads` divisible by `kv_heads`, `hidden` divisible by `heads` with an even head
//!   dimension (RoPE rotates pairs), `rope_base` and `norm_eps` finite and > 0.
//!
//! Every error is a [`ConfigError`] whose one-line message names the file, the key, the value
//! and what was expected.

mod backends;
mod diagnostics;

pub use backends::BackendInstance;

use crate::errors::ConfigError;
use crate::{Dtype, DtypeTolerance, Envelope, ModelSpec};
use diagnostics::describe_toml_error;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Default KV-cache block size of `kv_aligned = 0` runs.
pub const DEFAULT_BLOCK_SIZE: usize = 16;

/// A loaded and validated sweep config.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepConfig {
    /// Sweep name: `name` from the file, or the file stem.
    pub name: String,
    /// Free-form description.
    pub description: Option<String>,
    /// The config file, as given.
    pub path: PathBuf,
    /// The model; a relative gguf path is already resolved against the config's folder.
    pub model: ModelSpec,
    /// Backends to run, deduplicated in order; empty = every backend found.
    pub backends: Vec<String>,
    /// Prompt lengths, deduplicated, ascending.
    pub spans: Vec<usize>,
    /// Dtypes, deduplicated, in config order.
    pub dtypes: Vec<Dtype>,
    /// KV layouts (`0` padded, `1` aligned), deduplicated, ascending.
    pub kv_aligned: Vec<u8>,
    /// Prompt seeds, deduplicated, in config order.
    pub seeds: Vec<u64>,
    /// Block size of the padded KV cache (kv_aligned = 0).
    pub block_size: usize,
    /// One unmeasured warm-up run per (backend, dtype, span, route).
    pub warmup: bool,
    /// Per-run timeout in seconds.
    pub timeout_s: Option<f64>,
    /// Tolerance of every dtype ([`Dtype::ALL`]): defaults overridden by the file.
    pub tolerances: BTreeMap<Dtype, DtypeTolerance>,
    /// Backend instances with a `[backends.<name>]` table, by name.
    pub instances: BTreeMap<String, BackendInstance>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    name: Option<String>,
    description: Option<String>,
    model: ModelSpec,
    sweep: RawSweep,
    #[serde(default)]
    tolerances: BTreeMap<String, RawTolerance>,
    #[serde(default)]
    backends: BTreeMap<String, toml::Table>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    #[serde(default)]
    backends: Vec<String>,
    spans: Vec<i64>,
    dtypes: Vec<String>,
    kv_aligned: Vec<i64>,
    seeds: Vec<i64>,
    block_size: Option<i64>,
    warmup: Option<bool>,
    timeout_s: Option<f64>,
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

/// Builds [`ConfigError::Invalid`] for one file.
struct Checker<'a> {
    file: &'a str,
}

impl Checker<'_> {
    fn invalid(
        &self,
        key: impl Into<String>,
        value: impl Into<toml::Value>,
        expected: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_string(),
            key: key.into(),
            value: value.into().to_string(),
            expected: expected.into(),
        }
    }

    fn non_empty<T>(&self, key: &str, list: &[T]) -> Result<(), ConfigError> {
        if list.is_empty() {
            return Err(self.invalid(key, toml::Value::Array(vec![]), "a non-empty list"));
        }
        Ok(())
    }
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
    pub fn load(path: &Path) -> Result<SweepConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parse and validate config `text`; `file` is where it came from: it names the file in
    /// errors, gives the default name, and relative gguf paths resolve against its folder.
    pub fn parse(text: &str, file: &Path) -> Result<SweepConfig, ConfigError> {
        let file_str = file.display().to_string();
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: file_str.clone(),
            message: describe_toml_error(text, &e),
        })?;
        let c = Checker { file: &file_str };

        let name = match raw.name {
            Some(name) if name.trim().is_empty() => {
                return Err(c.invalid("name", name, "a non-empty name"))
            }
            Some(name) => name,
            None => file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "sweep".to_string()),
        };

        let model = check_model(&c, raw.model, file)?;

        let s = raw.sweep;
        for b in &s.backends {
            if !backends::valid_instance_name(b) {
                return Err(c.invalid(
                    "sweep.backends",
                    b.as_str(),
                    "a backend name of 1 to 64 letters, digits, `-`, `_` or `.`",
                ));
            }
        }
        let backends = dedup_keep_order(s.backends);

        c.non_empty("sweep.spans", &s.spans)?;
        let mut spans = Vec::with_capacity(s.spans.len());
        for &span in &s.spans {
            if span < 1 {
                return Err(c.invalid("sweep.spans", span, "a span of at least 1 token"));
            }
            spans.push(usize::try_from(span).map_err(|_| {
                c.invalid(
                    "sweep.spans",
                    span,
                    "a span that fits this platform's usize",
                )
            })?);
        }
        spans.sort_unstable();
        spans.dedup();

        c.non_empty("sweep.dtypes", &s.dtypes)?;
        let mut dtypes = Vec::with_capacity(s.dtypes.len());
        for name in &s.dtypes {
            let dtype: Dtype = name.parse().map_err(|_| {
                c.invalid(
                    "sweep.dtypes",
                    name.as_str(),
                    "one of f32, f16 (alias fp16), bf16, f64",
                )
            })?;
            dtypes.push(dtype);
        }
        let dtypes = dedup_keep_order(dtypes);

        c.non_empty("sweep.kv_aligned", &s.kv_aligned)?;
        let mut kv_aligned = Vec::with_capacity(s.kv_aligned.len());
        for &kv in &s.kv_aligned {
            match kv {
                0 | 1 => kv_aligned.push(kv as u8),
                _ => return Err(c.invalid("sweep.kv_aligned", kv, "0 or 1")),
            }
        }
        kv_aligned.sort_unstable();
        kv_aligned.dedup();

        c.non_empty("sweep.seeds", &s.seeds)?;
        let mut seeds = Vec::with_capacity(s.seeds.len());
        for &seed in &s.seeds {
            let seed = u64::try_from(seed)
                .map_err(|_| c.invalid("sweep.seeds", seed, "a non-negative integer seed"))?;
            seeds.push(seed);
        }
        let seeds = dedup_keep_order(seeds);

        let block_size = match s.block_size {
            None => DEFAULT_BLOCK_SIZE,
            Some(b) if b >= 1 => usize::try_from(b).map_err(|_| {
                c.invalid(
                    "sweep.block_size",
                    b,
                    "a block size that fits this platform",
                )
            })?,
            Some(b) => {
                return Err(c.invalid("sweep.block_size", b, "a block size of at least 1 token"))
            }
        };

        if let Some(t) = s.timeout_s {
            if !(t.is_finite() && t > 0.0) {
                return Err(c.invalid(
                    "sweep.timeout_s",
                    t,
                    "a finite number of seconds greater than 0",
                ));
            }
        }

        let tolerances = check_tolerances(&c, raw.tolerances)?;
        let instances = backends::check_backends(&c, raw.backends)?;

        Ok(SweepConfig {
            name,
            description: raw.description,
            path: file.to_path_buf(),
            model,
            backends,
            spans,
            dtypes,
            kv_aligned,
            seeds,
            block_size,
            warmup: s.warmup.unwrap_or(true),
            timeout_s: s.timeout_s,
            tolerances,
            instances,
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

fn usize_value(v: usize) -> toml::Value {
    toml::Value::Integer(i64::try_from(v).unwrap_or(i64::MAX))
}

fn check_model(c: &Checker<'_>, model: ModelSpec, file: &Path) -> Result<ModelSpec, ConfigError> {
    match model {
        ModelSpec::Gguf { path } => {
            if path.as_os_str().is_empty() {
                return Err(c.invalid("model.path", "", "a path to a .gguf file"));
            }
            let path = match file.parent() {
                Some(dir) if path.is_relative() && !dir.as_os_str().is_empty() => dir.join(path),
                _ => path,
            };
            Ok(ModelSpec::Gguf { path })
        }
        ModelSpec::Synthetic(m) => {
            for (key, v) in [
                ("model.layers", m.layers),
                ("model.hidden", m.hidden),
                ("model.heads", m.heads),
                ("model.kv_heads", m.kv_heads),
                ("model.ffn", m.ffn),
            ] {
                if v < 1 {
                    return Err(c.invalid(key, usize_value(v), "an integer of at least 1"));
                }
            }
            if m.vocab < 2 {
                return Err(c.invalid(
                    "model.vocab",
                    usize_value(m.vocab),
                    "a vocabulary of at least 2 tokens",
                ));
            }
            if m.heads % m.kv_heads != 0 {
                return Err(c.invalid(
                    "model.heads",
                    usize_value(m.heads),
                    format!(
                        "a multiple of model.kv_heads = {} (grouped-query attention)",
                        m.kv_heads
                    ),
                ));
            }
            if m.hidden % m.heads != 0 {
                return Err(c.invalid(
                    "model.hidden",
                    usize_value(m.hidden),
                    format!("a multiple of model.heads = {}", m.heads),
                ));
            }
            let head_dim = m.hidden / m.heads;
            if head_dim % 2 != 0 {
                return Err(c.invalid(
                    "model.hidden",
                    usize_value(m.hidden),
                    format!(
                        "an even head dimension (hidden / heads = {head_dim}; RoPE rotates pairs)"
                    ),
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
            Ok(ModelSpec::Synthetic(m))
        }
    }
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
        if !(max_abs.is_finite() && max_abs >= 0.0) {
            return Err(c.invalid(
                format!("{key}.max_abs"),
                max_abs,
                "a finite number >= 0 (0 means bitwise)",
            ));
        }
        env.max_abs = max_abs;
    }
    if let Some(min_top1) = raw.min_top1 {
        if !(0.0..=1.0).contains(&min_top1) {
            return Err(c.invalid(format!("{key}.min_top1"), min_top1, "a fraction in [0, 1]"));
        }
        env.min_top1 = min_top1;
    }
    Ok(())
}
