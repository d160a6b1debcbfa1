//! The model is checked before any run: a GGUF file must exist, be a regular file and have a
//! valid GGUF header, metadata and tensor table, and every span must fit the model's context
//! length. A bad model file is bad input (`error:`, exit 2), not a sweep of INCOMPLETE pairs.
//!
//! Only the header is read, never the tensor data: driftbench-gguf's [`Gguf::open_header`]
//! reads the file from its start in growing pieces (1 MiB, doubling, at most
//! [`MAX_HEADER_BYTES`]) until the whole header parses (every tensor's extent checked against
//! the file's length), so a 100 GB file costs as much as a 1 MB one.

use anyhow::{bail, Result};
use driftbench_core::model_spec::ModelSpec;
use driftbench_gguf::{Gguf, GgufError, MAX_HEADER_BYTES};
use driftbench_sweep::config::{file_kind, span_limit, SweepConfig, MAX_SPAN};
use std::path::Path;

/// Context length of llama files without `llama.context_length` (the model loader's default).
const LLAMA_DEFAULT_CONTEXT: u64 = 2048;

/// The longest span a checked model accepts, and where that limit comes from.
#[derive(Debug, Clone)]
pub struct ContextLimit {
    /// Longest span, in tokens.
    pub tokens: u64,
    /// Where it comes from, e.g. `llama.context_length in models/m.gguf`.
    pub source: String,
}

/// Check `model` before any run; returns its context limit, if it has one (a GGUF file).
pub fn check_model(model: &ModelSpec) -> Result<Option<ContextLimit>> {
    match model {
        ModelSpec::Synthetic(_) => Ok(None),
        ModelSpec::Gguf { path } => check_gguf(path),
    }
}

/// Check a sweep config's model and every span of it against the model's context.
pub fn check_sweep(cfg: &SweepConfig) -> Result<()> {
    let limit = check_model(&cfg.model)?;
    let key = format!("{}: sweep.spans", cfg.path.display());
    for &span in &cfg.spans {
        check_context(span, limit.as_ref(), &key)?;
    }
    Ok(())
}

/// `--span` of `driftbench run`, before anything is loaded: `1..=MAX_SPAN`.
pub fn check_span_arg(span: usize) -> Result<()> {
    if !(1..=MAX_SPAN).contains(&span) {
        bail!(
            "--span: invalid value {span}: expected a span of at least 1 token and at most {MAX_SPAN} (2^20, the largest span)"
        );
    }
    Ok(())
}

/// `driftbench run`: `--span` against the model's range (a synthetic model's logits budget),
/// then the model, then `--span` against its context.
pub fn check_run(model: &ModelSpec, span: usize) -> Result<()> {
    let (max, rule) = span_limit(model);
    if !(1..=max).contains(&span) {
        bail!("--span: invalid value {span}: expected {rule}");
    }
    let limit = check_model(model)?;
    check_context(span, limit.as_ref(), "--span")
}

fn check_context(span: usize, limit: Option<&ContextLimit>, key: &str) -> Result<()> {
    if let Some(limit) = limit {
        if span as u64 > limit.tokens {
            bail!(
                "{key}: span {span} exceeds the model's context length {} ({})",
                limit.tokens,
                limit.source
            );
        }
    }
    Ok(())
}

fn check_gguf(path: &Path) -> Result<Option<ContextLimit>> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "model file {} not found: run scripts/fetch-model.sh to fetch SmolLM2-135M, or fix `model.path` in the config",
            path.display()
        ),
        Err(e) => bail!("cannot read model file {}: {e}", path.display()),
    };
    if !meta.is_file() {
        bail!(
            "model file {} is not a regular file ({})",
            path.display(),
            file_kind(&meta)
        );
    }
    let not_gguf = |reason: String| {
        anyhow::anyhow!("model file {} is not a GGUF file: {reason}", path.display())
    };
    let gguf = read_header(path, meta.len()).map_err(not_gguf)?;
    context_limit(&gguf, path).map_err(not_gguf)
}

/// The reader's message without the path it starts with (the caller names the file).
fn reason(e: &GgufError, path: &Path) -> String {
    let msg = e.to_string();
    let msg = msg
        .strip_prefix(&format!("{}: ", path.display()))
        .unwrap_or(&msg);
    msg.strip_prefix("not a GGUF file: ")
        .unwrap_or(msg)
        .to_string()
}

/// Parse the header of the GGUF file at `path` (`len` bytes) without reading tensor data
/// ([`Gguf::open_header`]).
fn read_header(path: &Path, len: u64) -> Result<Gguf, String> {
    match Gguf::open_header(path, MAX_HEADER_BYTES) {
        Ok(gguf) => Ok(gguf),
        // Past the cap, a header that does not parse is too large to read (or corrupt).
        Err(GgufError::Truncated { .. } | GgufError::AbsurdCount { .. })
            if len > MAX_HEADER_BYTES =>
        {
            Err(format!(
                "its header (metadata and tensor table) is larger than {MAX_HEADER_BYTES} bytes, or corrupt"
            ))
        }
        Err(GgufError::Io { source, .. }) => Err(format!("cannot read it: {source}")),
        Err(e) => Err(reason(&e, path)),
    }
}

/// The context length from the metadata: `<arch>.context_length` (`llama.context_length`
/// without `general.architecture`), 2048 for a llama file without it (as the model loader
/// does), none for another architecture without it.
fn context_limit(gguf: &Gguf, path: &Path) -> Result<Option<ContextLimit>, String> {
    let arch = match gguf.get("general.architecture") {
        None => "llama".to_string(),
        Some(_) => gguf
            .get_str("general.architecture")
            .map_err(|e| reason(&e, path))?
            .to_string(),
    };
    let key = format!("{arch}.context_length");
    match gguf.get(&key) {
        Some(_) => {
            let tokens = gguf.get_u64(&key).map_err(|e| reason(&e, path))?;
            Ok(Some(ContextLimit {
                tokens,
                source: format!("{key} in {}", path.display()),
            }))
        }
        None if arch == "llama" => Ok(Some(ContextLimit {
            tokens: LLAMA_DEFAULT_CONTEXT,
            source: format!("the llama default: no {key} in {}", path.display()),
        })),
        None => Ok(None),
    }
}
