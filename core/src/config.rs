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

use crate::errors::ConfigError;
use crate::{Dtype, DtypeTolerance, Envelope, ModelSpec};
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
            if b.trim().is_empty() {
                return Err(c.invalid("sweep.backends", b.as_str(), "a non-empty backend name"));
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
        })
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

// ---------------------------------------------------------------------------------------------
// One-line TOML error messages that name the key.
//
// toml's own messages say what went wrong ("invalid type: string \"32\", expected a
// sequence") and where (a byte span), but not under which key. To name the key, the text is
// parsed a second time into a tree of spans, and the innermost value whose span holds the
// error's span gives the dotted key.

/// Position, key and message of a toml error, on one line.
fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = normalize_message(err.message());
    let mut parts = Vec::new();
    if let Some(span) = err.span() {
        let (line, column) = line_col(text, span.start);
        parts.push(format!("line {line}, column {column}"));
    }
    let mut path = match err.span() {
        Some(span) => header_path(text, &span, &message)
            .or_else(|| key_path(text, &span))
            .unwrap_or_default(),
        None => Vec::new(),
    };
    // "unknown field `x`" points at the key itself (or at its table), "missing field `x`" at
    // the table: the field is not part of the path found from the span.
    if let Some(field) = named_field(&message) {
        path.push(field);
    } else if let Some(key) = entry_with_value(text, &path, err.message()) {
        path.push(key);
    }
    if !path.is_empty() {
        parts.push(format!("key `{}`", path.join(".")));
    }
    parts.push(message);
    parts.join(": ")
}

/// toml's message on one line, with serde's Rust type names replaced by TOML words.
fn normalize_message(message: &str) -> String {
    let one_line = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let mut out = one_line;
    for (rust, toml_word) in [
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected a table"),
        ("expected i64", "expected an integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected usize", "expected a non-negative integer"),
        ("expected f64", "expected a number"),
    ] {
        out = out.replace(rust, toml_word);
    }
    // "expected struct RawSweep", "expected internally tagged enum ModelSpec"...
    for marker in ["expected struct ", "expected internally tagged enum "] {
        while let Some(at) = out.find(marker) {
            let rest = &out[at + marker.len()..];
            let name_len = rest
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                .unwrap_or(rest.len());
            out.replace_range(at..at + marker.len() + name_len, "expected a table");
        }
    }
    out
}

/// The field of "unknown field `x`", "missing field `x`" or "duplicate field `x`".
fn named_field(message: &str) -> Option<String> {
    ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| {
            let rest = &message[message.find(prefix)? + prefix.len()..];
            Some(rest[..rest.find('`')?].to_string())
        })
}

/// For an unknown key in a table header (`[sweep.x]`), the tables the header names before it.
/// (The span of such a key lies outside the span of its parent table.)
fn header_path(text: &str, span: &std::ops::Range<usize>, message: &str) -> Option<Vec<String>> {
    if !message.contains("unknown field `") {
        return None;
    }
    let before = text.get(..span.start)?;
    let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    let header = line.trim_start().strip_prefix('[')?;
    let header = header.strip_prefix('[').unwrap_or(header);
    let mut parts: Vec<String> = header
        .split('.')
        .map(|p| p.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
        .collect();
    parts.pop(); // the text right before the unknown key
    Some(parts)
}

/// Errors inside a table serde had to buffer (the `kind`-tagged `[model]`) carry the span of
/// the whole table. When the message quotes the unexpected value (`integer `-1``,
/// `string "2"`) and exactly one entry of that table holds it, that entry is the key.
fn entry_with_value(text: &str, path: &[String], message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?;
    let unexpected = rest.split(", expected").next()?;
    let root: toml::Table = toml::from_str(text).ok()?;
    let mut table = &root;
    for key in path {
        table = table.get(key)?.as_table()?;
    }
    let mut hits = table.iter().filter(|(_, v)| unexpected_is(unexpected, v));
    let (key, _) = hits.next()?;
    if hits.next().is_some() {
        return None;
    }
    Some(key.clone())
}

/// Whether serde's description of an unexpected value (`serde::de::Unexpected`) is `value`.
fn unexpected_is(unexpected: &str, value: &toml::Value) -> bool {
    use toml::Value;
    match value {
        Value::Integer(i) => unexpected == format!("integer `{i}`"),
        Value::String(s) => unexpected == format!("string {s:?}"),
        Value::Boolean(b) => unexpected == format!("boolean `{b}`"),
        Value::Float(f) => unexpected
            .strip_prefix("floating point `")
            .and_then(|r| r.strip_suffix('`'))
            .and_then(|x| x.parse::<f64>().ok())
            .is_some_and(|x| x == *f || (x.is_nan() && f.is_nan())),
        Value::Array(_) => unexpected == "sequence",
        Value::Table(_) => unexpected == "map",
        Value::Datetime(_) => false,
    }
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Dotted key of the innermost table entry whose value holds `span`.
fn key_path(text: &str, span: &std::ops::Range<usize>) -> Option<Vec<String>> {
    let root: SpanNode = toml::from_str(text).ok()?;
    let mut path = Vec::new();
    find_path(&root, span, &mut path);
    Some(path)
}

fn find_path(node: &SpanNode, span: &std::ops::Range<usize>, path: &mut Vec<String>) -> bool {
    let SpanKind::Table(entries) = &node.kind else {
        return false;
    };
    for (key, child) in entries {
        let holds = match &child.span {
            Some(s) if span.is_empty() => s.start < span.start && span.start < s.end,
            Some(s) => s.start <= span.start && span.end <= s.end,
            // Implicit tables (`tolerances` of `[tolerances.f16]`) have no span of their own.
            None => true,
        };
        if !holds {
            continue;
        }
        path.push(key.clone());
        if find_path(child, span, path) || child.span.is_some() {
            return true;
        }
        path.pop();
    }
    false
}

/// A TOML value reduced to its span and, for tables, its entries.
struct SpanNode {
    span: Option<std::ops::Range<usize>>,
    kind: SpanKind,
}

enum SpanKind {
    Table(Vec<(String, SpanNode)>),
    Other,
}

// serde_spanned's protocol (what `toml::Spanned` asks for): toml answers a struct request with
// these names by a map of start, end and value. Unlike `toml::Spanned`, `SpanNode` also accepts
// values toml has no span for (implicit tables).
const SPANNED_NAME: &str = "$__serde_spanned_private_Spanned";
const SPANNED_START: &str = "$__serde_spanned_private_start";
const SPANNED_END: &str = "$__serde_spanned_private_end";
const SPANNED_VALUE: &str = "$__serde_spanned_private_value";
const SPANNED_FIELDS: &[&str] = &[SPANNED_START, SPANNED_END, SPANNED_VALUE];

impl<'de> Deserialize<'de> for SpanNode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, SpanNodeVisitor)
    }
}

/// The value inside a span: deserialized without asking for a span again.
struct BareNode(SpanNode);

impl<'de> Deserialize<'de> for BareNode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SpanNodeVisitor).map(BareNode)
    }
}

struct SpanNodeVisitor;

impl SpanNodeVisitor {
    fn leaf<E>(self) -> Result<SpanNode, E> {
        Ok(SpanNode {
            span: None,
            kind: SpanKind::Other,
        })
    }
}

impl<'de> serde::de::Visitor<'de> for SpanNodeVisitor {
    type Value = SpanNode;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any TOML value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<SpanNode, E> {
        self.leaf()
    }
    fn visit_i64<E>(self, _: i64) -> Result<SpanNode, E> {
        self.leaf()
    }
    fn visit_u64<E>(self, _: u64) -> Result<SpanNode, E> {
        self.leaf()
    }
    fn visit_f64<E>(self, _: f64) -> Result<SpanNode, E> {
        self.leaf()
    }
    fn visit_str<E>(self, _: &str) -> Result<SpanNode, E> {
        self.leaf()
    }
    fn visit_unit<E>(self) -> Result<SpanNode, E> {
        self.leaf()
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<SpanNode, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        self.leaf()
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<SpanNode, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Ok(SpanNode {
                span: None,
                kind: SpanKind::Table(Vec::new()),
            });
        };
        if first == SPANNED_START {
            let start: usize = map.next_value()?;
            let mut end = start;
            let mut inner = None;
            while let Some(key) = map.next_key::<String>()? {
                if key == SPANNED_END {
                    end = map.next_value()?;
                } else {
                    inner = Some(map.next_value::<BareNode>()?.0);
                }
            }
            let mut node = inner.unwrap_or(SpanNode {
                span: None,
                kind: SpanKind::Other,
            });
            node.span = Some(start..end);
            return Ok(node);
        }
        let mut entries = vec![(first, map.next_value::<SpanNode>()?)];
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<SpanNode>()?;
            entries.push((key, value));
        }
        Ok(SpanNode {
            span: None,
            kind: SpanKind::Table(entries),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_replaces_rust_names_and_joins_lines() {
        assert_eq!(
            normalize_message("invalid type: integer `3`, expected struct RawSweep"),
            "invalid type: integer `3`, expected a table"
        );
        assert_eq!(
            normalize_message("invalid array\nexpected `]`\n"),
            "invalid array; expected `]`"
        );
    }

    #[test]
    fn key_path_finds_nested_keys() {
        let text = "[sweep]\nspans = [1,\n  2]\n[tolerances.f16]\nequiv = { max_abs = 'x' }\n";
        let at = text.find("'x'").unwrap();
        assert_eq!(
            key_path(text, &(at..at + 3)).unwrap(),
            ["tolerances", "f16", "equiv", "max_abs"]
        );
        let at = text.find('2').unwrap();
        assert_eq!(key_path(text, &(at..at + 1)).unwrap(), ["sweep", "spans"]);
        assert!(key_path(text, &(0..0)).unwrap().is_empty());
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("a\nbc", 3), (2, 2));
        assert_eq!(line_col("a", 0), (1, 1));
    }
}
