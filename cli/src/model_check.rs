//! The model is checked before any run: a GGUF file must exist, be a regular file and have a
//! valid GGUF header, metadata and tensor table, and every span must fit the model's context
//! length. A bad model file is bad input (`error:`, exit 2), not a sweep of INCOMPLETE pairs.
//!
//! Only the header is read, never the tensor data: the file is read from its start in growing
//! pieces (1 MiB, doubling, at most [`MAX_HEADER_BYTES`]) until driftbench-gguf's reader can
//! parse the whole header from the piece, so a 100 GB file costs as much as a 1 MB one.

use anyhow::{bail, Result};
use driftbench_core::config::{file_kind, span_limit, SweepConfig, MAX_SPAN};
use driftbench_core::ModelSpec;
use driftbench_gguf::{GgmlType, Gguf, GgufError, ValueType};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// First piece of a GGUF file read to parse its header.
const FIRST_READ: u64 = 1 << 20;

/// Largest header (metadata and tensor table) accepted: 256 MiB.
pub const MAX_HEADER_BYTES: u64 = 256 << 20;

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

/// Parse the header of the GGUF file at `path` (`len` bytes) without reading tensor data.
/// The returned [`Gguf`] holds the metadata (and, for a file read whole, the tensors).
fn read_header(path: &Path, len: u64) -> Result<Gguf, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let mut buf: Vec<u8> = Vec::new();
    let mut want = FIRST_READ.min(len);
    loop {
        let have = buf.len() as u64;
        (&mut file)
            .take(want - have)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read it: {e}"))?;
        let whole = buf.len() as u64 >= len;
        if !whole && (buf.len() as u64) < want {
            return Err(format!(
                "the file shrank while being read ({} of {len} bytes)",
                buf.len()
            ));
        }
        match Gguf::parse(buf.clone(), path.to_path_buf()) {
            // Header and every tensor's data inside what was read.
            Ok(gguf) => return Ok(gguf),
            // More of the header lies past what was read.
            Err(GgufError::Truncated { .. } | GgufError::AbsurdCount { .. }) if !whole => {
                if want >= MAX_HEADER_BYTES {
                    return Err(format!(
                        "its header (metadata and tensor table) is larger than {MAX_HEADER_BYTES} bytes, or corrupt"
                    ));
                }
                want = (want * 2).min(MAX_HEADER_BYTES).min(len);
            }
            // The whole header parsed; a tensor's data lies past what was read: check every
            // tensor's extent against the file's length, then keep only the metadata.
            Err(GgufError::TensorOutOfBounds { .. }) if !whole => {
                check_tensor_extents(&buf, len)?;
                return metadata_only(buf, path);
            }
            Err(e) => return Err(reason(&e, path)),
        }
    }
}

/// The metadata of a header whose tensor data was not read: the same bytes with the tensor
/// count set to 0.
fn metadata_only(mut buf: Vec<u8>, path: &Path) -> Result<Gguf, String> {
    // magic (4), version (4), tensor_count (8): checked by the parse that got this far.
    buf[8..16].copy_from_slice(&0u64.to_le_bytes());
    Gguf::parse(buf, path.to_path_buf()).map_err(|e| reason(&e, path))
}

/// Walk a header the reader has already accepted (so every read below is in bounds) to the
/// tensor table, and check that every tensor's data lies inside a file of `len` bytes.
fn check_tensor_extents(buf: &[u8], len: u64) -> Result<(), String> {
    let internal = || "its header could not be walked again".to_string();
    let mut w = Walker { buf, pos: 8 };
    let tensor_count = w.u64().ok_or_else(internal)?;
    let kv_count = w.u64().ok_or_else(internal)?;
    let mut alignment = driftbench_gguf::DEFAULT_ALIGNMENT;
    for _ in 0..kv_count {
        let key = w.bytes().ok_or_else(internal)?;
        let ty = w.u32().ok_or_else(internal)?;
        if key == b"general.alignment" {
            alignment = w.int(ty).ok_or_else(internal)?.max(1);
        } else {
            w.skip_value(ty, 0).ok_or_else(internal)?;
        }
    }
    let mut tensors = Vec::new();
    for _ in 0..tensor_count {
        let name = String::from_utf8_lossy(w.bytes().ok_or_else(internal)?).into_owned();
        let n_dims = w.u32().ok_or_else(internal)?;
        let mut n_elements = 1u64;
        for _ in 0..n_dims {
            n_elements = n_elements.saturating_mul(w.u64().ok_or_else(internal)?);
        }
        let ty = GgmlType(w.u32().ok_or_else(internal)?);
        let offset = w.u64().ok_or_else(internal)?;
        tensors.push((name, ty, n_elements, offset));
    }
    let data_offset = (w.pos as u64).div_ceil(alignment).saturating_mul(alignment);
    for (name, ty, n_elements, offset) in tensors {
        // Tensors of unknown types have no known size; the reader accepts them too.
        let Some(bytes) = ty.bytes_for(n_elements) else {
            continue;
        };
        let end = data_offset.saturating_add(offset).saturating_add(bytes);
        if end > len {
            return Err(format!(
                "tensor `{name}` ({ty}) ends at byte {end} but the file has {len} bytes (truncated or corrupt)"
            ));
        }
    }
    Ok(())
}

/// Little-endian reads over an already validated header.
struct Walker<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Walker<'a> {
    fn take(&mut self, n: u64) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(usize::try_from(n).ok()?)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u64()?;
        self.take(n)
    }
    /// An unsigned integer value of type id `ty` (for `general.alignment`).
    fn int(&mut self, ty: u32) -> Option<u64> {
        let size = ValueType::from_id(ty)?.fixed_size()?;
        let b = self.take(size as u64)?;
        let mut le = [0u8; 8];
        le[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
        Some(u64::from_le_bytes(le))
    }
    fn skip_value(&mut self, ty: u32, depth: usize) -> Option<()> {
        let vt = ValueType::from_id(ty)?;
        if let Some(size) = vt.fixed_size() {
            self.take(size as u64)?;
        } else if vt == ValueType::String {
            self.bytes()?;
        } else if depth < driftbench_gguf::reader::MAX_ARRAY_DEPTH {
            let elem = self.u32()?;
            let count = self.u64()?;
            for _ in 0..count {
                self.skip_value(elem, depth + 1)?;
            }
        } else {
            return None;
        }
        Some(())
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
