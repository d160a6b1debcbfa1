//! A small GGUF v3 (or v2) writer, for tests and for building tiny model files.
//!
//! ```
//! use driftbench_gguf::{GgmlType, Gguf, GgufWriter, Value};
//!
//! let mut w = GgufWriter::new();
//! w.add_metadata("general.architecture", Value::String("llama".into()))
//!     .add_f32_tensor("x", &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
//! let gguf = Gguf::from_bytes(w.to_bytes().unwrap()).unwrap();
//! assert_eq!(gguf.get_str("general.architecture").unwrap(), "llama");
//! assert_eq!(gguf.tensor("x").unwrap().ggml_type(), GgmlType::F32);
//! assert_eq!(gguf.dequantize("x").unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
//! ```

use std::path::{Path, PathBuf};

use crate::dequant::GgmlType;
use crate::errors::{GgufError, Result};
use crate::reader::{DEFAULT_ALIGNMENT, GGUF_MAGIC, IN_MEMORY, MAX_DIMS};
use crate::value::Value;

#[derive(Debug, Clone)]
struct PendingTensor {
    name: String,
    ggml_type: GgmlType,
    dims: Vec<u64>,
    data: Vec<u8>,
}

/// Builds a GGUF file in memory: metadata of any value type, tensors given as raw bytes with a
/// ggml type and dims (`dims[0]` innermost), data padded to the alignment.
///
/// The alignment is `general.alignment` if that key was added (any integer type; it must be a
/// power of two), else 32. Each tensor's data starts at a multiple of the alignment relative to
/// the data section, and is followed by zero padding up to the next multiple. Validation happens
/// in [`GgufWriter::to_bytes`] / [`GgufWriter::write`].
#[derive(Debug, Clone)]
pub struct GgufWriter {
    version: u32,
    metadata: Vec<(String, Value)>,
    tensors: Vec<PendingTensor>,
}

impl Default for GgufWriter {
    fn default() -> Self {
        GgufWriter::new()
    }
}

impl GgufWriter {
    /// An empty version-3 file.
    pub fn new() -> GgufWriter {
        GgufWriter {
            version: 3,
            metadata: Vec::new(),
            tensors: Vec::new(),
        }
    }

    /// Sets the version field (2 or 3; the layouts are identical for little-endian files).
    pub fn set_version(&mut self, version: u32) -> &mut Self {
        self.version = version;
        self
    }

    /// Sets `general.alignment` (as a `u32`).
    pub fn set_alignment(&mut self, alignment: u32) -> &mut Self {
        self.add_metadata("general.alignment", Value::U32(alignment))
    }

    /// Adds a metadata entry; an existing entry with the same key is replaced in place.
    pub fn add_metadata(&mut self, key: impl Into<String>, value: Value) -> &mut Self {
        let key = key.into();
        match self.metadata.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.metadata.push((key, value)),
        }
        self
    }

    /// Adds a tensor from its raw bytes. For types with a known block layout the length must be
    /// exactly the bytes of the dims' element count; bytes of unknown type ids are written as
    /// given.
    pub fn add_tensor(
        &mut self,
        name: impl Into<String>,
        ggml_type: GgmlType,
        dims: &[u64],
        data: impl Into<Vec<u8>>,
    ) -> &mut Self {
        self.tensors.push(PendingTensor {
            name: name.into(),
            ggml_type,
            dims: dims.to_vec(),
            data: data.into(),
        });
        self
    }

    /// Adds an F32 tensor; `values` are in row-major order of the reversed dims (`dims[0]`
    /// fastest).
    pub fn add_f32_tensor(
        &mut self,
        name: impl Into<String>,
        dims: &[u64],
        values: &[f32],
    ) -> &mut Self {
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.add_tensor(name, GgmlType::F32, dims, data)
    }

    /// Writes the file to `path`.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.encode(path)?;
        std::fs::write(path, bytes).map_err(|source| GgufError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.encode(Path::new(IN_MEMORY))
    }

    fn encode(&self, path: &Path) -> Result<Vec<u8>> {
        let fail = |reason: String| GgufError::Writer {
            path: PathBuf::from(path),
            reason,
        };
        if self.version != 2 && self.version != 3 {
            return Err(fail(format!(
                "version {} (only 2 and 3 can be written)",
                self.version
            )));
        }
        let alignment = match self.metadata.iter().find(|(k, _)| k == "general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some((_, v)) => match v.as_u64() {
                Some(a) if a.is_power_of_two() => a,
                _ => {
                    return Err(fail(format!(
                        "general.alignment is {}, expected a power of two integer",
                        v.describe()
                    )))
                }
            },
        };
        for (key, value) in &self.metadata {
            check_value(value).map_err(|e| fail(format!("metadata key `{key}`: {e}")))?;
        }
        for (i, t) in self.tensors.iter().enumerate() {
            if self.tensors[..i].iter().any(|o| o.name == t.name) {
                return Err(fail(format!("duplicate tensor name `{}`", t.name)));
            }
            if t.dims.len() > MAX_DIMS {
                return Err(fail(format!(
                    "tensor `{}` has {} dims (max {MAX_DIMS})",
                    t.name,
                    t.dims.len()
                )));
            }
            if t.ggml_type.name().is_some() {
                let n = t.dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
                let block = t.ggml_type.block_size().unwrap_or(1);
                let ne0 = t.dims.first().copied().unwrap_or(1);
                let expected = n.and_then(|n| t.ggml_type.bytes_for(n));
                match expected {
                    Some(e) if ne0.is_multiple_of(block) && e == t.data.len() as u64 => {}
                    Some(e) if ne0.is_multiple_of(block) => {
                        return Err(fail(format!(
                            "tensor `{}` ({}) with dims {:?} needs {e} bytes, got {}",
                            t.name,
                            t.ggml_type,
                            t.dims,
                            t.data.len()
                        )))
                    }
                    _ => {
                        return Err(fail(format!(
                            "tensor `{}` ({}) with dims {:?}: dim 0 must be a multiple of the block size {block}",
                            t.name, t.ggml_type, t.dims
                        )))
                    }
                }
            }
        }

        let mut out = Vec::new();
        out.extend_from_slice(&GGUF_MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.metadata.len() as u64).to_le_bytes());
        for (key, value) in &self.metadata {
            put_str(&mut out, key);
            out.extend_from_slice(&value.value_type().id().to_le_bytes());
            put_value(&mut out, value);
        }
        let mut offset = 0u64;
        let mut offsets = Vec::with_capacity(self.tensors.len());
        for t in &self.tensors {
            put_str(&mut out, &t.name);
            out.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&t.ggml_type.id().to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            offsets.push(offset);
            offset = (offset + t.data.len() as u64).div_ceil(alignment) * alignment;
        }
        pad_to(&mut out, alignment);
        for t in &self.tensors {
            out.extend_from_slice(&t.data);
            pad_to(&mut out, alignment);
        }
        Ok(out)
    }
}

fn pad_to(out: &mut Vec<u8>, alignment: u64) {
    let len = (out.len() as u64).div_ceil(alignment) * alignment;
    out.resize(len as usize, 0);
}

/// Arrays must hold elements of their declared type only.
fn check_value(value: &Value) -> std::result::Result<(), String> {
    if let Value::Array(ty, items) = value {
        for (i, item) in items.iter().enumerate() {
            if item.value_type() != *ty {
                return Err(format!(
                    "array of {ty} has element {i} of type {}",
                    item.value_type()
                ));
            }
            check_value(item)?;
        }
    }
    Ok(())
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::U8(v) => out.push(*v),
        Value::I8(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I16(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::F32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Bool(v) => out.push(u8::from(*v)),
        Value::String(s) => put_str(out, s),
        Value::Array(ty, items) => {
            out.extend_from_slice(&ty.id().to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for item in items {
                put_value(out, item);
            }
        }
        Value::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::F64(v) => out.extend_from_slice(&v.to_le_bytes()),
    }
}
