//! Parsing of GGUF v2/v3 files: header, metadata, tensor infos, data section.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::dequant::{self, DequantError, GgmlType};
use crate::errors::{GgufError, Result};
use crate::value::{Value, ValueType};

/// The four bytes every GGUF file starts with.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";

/// Alignment of the data section and of every tensor when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// Most dims a tensor may have (ggml's `GGML_MAX_DIMS`).
pub const MAX_DIMS: usize = 4;

/// Deepest nesting of metadata arrays accepted (llama.cpp writes none; the limit only guards
/// against stack exhaustion on corrupt input).
pub const MAX_ARRAY_DEPTH: usize = 8;

/// Name used in messages for buffers that did not come from a file.
pub(crate) const IN_MEMORY: &str = "<in-memory GGUF>";

/// Where one tensor lives and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    name: String,
    dims: Vec<u64>,
    ggml_type: GgmlType,
    offset: u64,
    n_elements: u64,
}

impl TensorInfo {
    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Dims as stored in the file: `dims[0]` is the innermost, fastest-varying dimension (`ne0`).
    /// A matrix with dims `[in, out]` is `out` rows of `in` contiguous values.
    pub fn dims(&self) -> &[u64] {
        &self.dims
    }

    /// The row-major shape, i.e. the dims reversed: dims `[ne0, ne1]` give `[ne1, ne0]`.
    pub fn shape(&self) -> Vec<usize> {
        // Every dim is at most the element count, which was checked to fit a u64; on 64-bit
        // targets the casts are lossless.
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }

    /// The ggml type of the stored data.
    pub fn ggml_type(&self) -> GgmlType {
        self.ggml_type
    }

    /// Offset of the data relative to the start of the data section (see [`Gguf::data_offset`]).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Number of elements (product of the dims; 1 for zero dims).
    pub fn n_elements(&self) -> u64 {
        self.n_elements
    }

    /// Bytes the data occupies, or `None` when the ggml type id is unknown to this crate.
    pub fn n_bytes(&self) -> Option<u64> {
        self.ggml_type.bytes_for(self.n_elements)
    }
}

/// A parsed GGUF file (versions 2 and 3, little-endian), held in memory.
///
/// The whole file is read once into a `Vec<u8>`; tensor data is handed out as slices of it
/// ([`Gguf::tensor_bytes`]) or dequantized to `f32` on request ([`Gguf::dequantize`]).
///
/// Opening checks the structure: magic, version, every count and length against the file size,
/// metadata value types, `general.alignment`, tensor shapes, alignment of tensor offsets, and
/// that the data of every tensor whose type has a known size lies inside the file. A tensor of
/// a type that cannot be dequantized (e.g. Q4_K) does not stop the file from opening; asking to
/// dequantize it is an error.
///
/// # LLaMA Q/K permutation
///
/// llama.cpp's HF→GGUF converter permutes the rows of the LLaMA attention Q and K weights
/// (`attn_q.weight`, `attn_k.weight`): within each head the rows are reordered so that
/// rotary embeddings apply to *adjacent* pairs of dimensions (`(0,1), (2,3), ...`, the original
/// Meta layout) instead of the HF "rotate half" pairs `(i, i + head_dim/2)`. This loader does
/// **not** undo that permutation; a model reading Q/K from GGUF must use the adjacent-pair
/// (interleaved) RoPE layout.
pub struct Gguf {
    path: PathBuf,
    /// The file, or its first bytes when only the header was read.
    bytes: Vec<u8>,
    /// Length of the whole file.
    file_len: u64,
    version: u32,
    metadata: Vec<(String, Value)>,
    metadata_index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
    alignment: u64,
    data_offset: u64,
}

impl std::fmt::Debug for Gguf {
    /// A summary; the file's bytes are not printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gguf")
            .field("path", &self.path)
            .field("version", &self.version)
            .field("file_len", &self.file_len)
            .field("metadata_entries", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .field("alignment", &self.alignment)
            .field("data_offset", &self.data_offset)
            .finish()
    }
}

impl Gguf {
    /// Reads and parses the file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Gguf> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| GgufError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Gguf::parse(bytes, path.to_path_buf())
    }

    /// Parses a GGUF file already in memory; messages name it `<in-memory GGUF>`.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Gguf> {
        Gguf::parse(bytes, PathBuf::from(IN_MEMORY))
    }

    /// Parses a GGUF file already in memory; messages name it `path`.
    pub fn parse(bytes: Vec<u8>, path: PathBuf) -> Result<Gguf> {
        let file_len = bytes.len() as u64;
        Gguf::parse_header(bytes, file_len, path)
    }

    /// Parses the header of a GGUF file of `file_len` bytes from its first bytes, `prefix`
    /// (the whole file, or as much as holds its metadata and tensor table): every tensor's data
    /// is checked to lie inside the file, without being read. A header longer than `prefix`
    /// fails with [`GgufError::Truncated`] or [`GgufError::AbsurdCount`]: read more. The data of
    /// tensors outside `prefix` is [`GgufError::DataNotRead`].
    pub fn parse_header(prefix: Vec<u8>, file_len: u64, path: PathBuf) -> Result<Gguf> {
        let parsed = parse_structure(&prefix, &path)?;
        let gguf = Gguf {
            path,
            bytes: prefix,
            file_len,
            version: parsed.version,
            metadata: parsed.metadata,
            metadata_index: parsed.metadata_index,
            tensors: parsed.tensors,
            tensor_index: parsed.tensor_index,
            alignment: parsed.alignment,
            data_offset: parsed.data_offset,
        };
        for info in &gguf.tensors {
            if info.n_bytes().is_some() {
                gguf.tensor_extent(info)?;
            }
        }
        Ok(gguf)
    }

    /// The path given to [`Gguf::open`] (or `<in-memory GGUF>`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The GGUF version: 2 or 3.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Length of the file in bytes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Alignment of the data section and of tensor offsets (`general.alignment`, default 32).
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Absolute file offset of the data section (tensor offsets are relative to it).
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// All metadata entries, in file order.
    pub fn metadata(&self) -> &[(String, Value)] {
        &self.metadata
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata_index.get(key).map(|&i| &self.metadata[i].1)
    }

    fn require(&self, key: &str, expected: &'static str) -> Result<&Value> {
        self.get(key).ok_or_else(|| GgufError::MissingKey {
            path: self.path.clone(),
            key: key.to_string(),
            expected,
        })
    }

    fn wrong_type(&self, key: &str, expected: &'static str, found: &Value) -> GgufError {
        GgufError::WrongType {
            path: self.path.clone(),
            key: key.to_string(),
            expected,
            found: found.describe(),
        }
    }

    fn typed<'a, T>(
        &'a self,
        key: &str,
        expected: &'static str,
        convert: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<T> {
        let value = self.require(key, expected)?;
        convert(value).ok_or_else(|| self.wrong_type(key, expected, value))
    }

    /// `key` as a `u32`: any integer type (u8..i64) whose value fits in `u32`.
    pub fn get_u32(&self, key: &str) -> Result<u32> {
        self.typed(
            key,
            "u32 (any integer type holding a value in u32 range)",
            Value::as_u32,
        )
    }

    /// `key` as a `u64`: any integer type (u8..i64) holding a non-negative value.
    pub fn get_u64(&self, key: &str) -> Result<u64> {
        self.typed(
            key,
            "u64 (any integer type holding a non-negative value)",
            Value::as_u64,
        )
    }

    /// `key` as an `f32`: f32, f64 (rounded) or any integer type.
    pub fn get_f32(&self, key: &str) -> Result<f32> {
        self.typed(key, "f32 (or f64, or an integer)", Value::as_f32)
    }

    /// `key` as a bool.
    pub fn get_bool(&self, key: &str) -> Result<bool> {
        self.typed(key, "bool", Value::as_bool)
    }

    /// `key` as a string.
    pub fn get_str(&self, key: &str) -> Result<&str> {
        self.typed(key, "string", Value::as_str)
    }

    /// The elements of the array `key`.
    pub fn get_array(&self, key: &str) -> Result<&[Value]> {
        self.typed(key, "array", Value::as_array)
    }

    /// The number of elements of the array `key`.
    pub fn get_array_len(&self, key: &str) -> Result<usize> {
        self.get_array(key).map(<[Value]>::len)
    }

    /// The array of strings `key` (e.g. `tokenizer.ggml.tokens`).
    pub fn get_str_array(&self, key: &str) -> Result<Vec<&str>> {
        const EXPECTED: &str = "array of string";
        self.typed(key, EXPECTED, |v| match v {
            Value::Array(ValueType::String, items) => items.iter().map(Value::as_str).collect(),
            _ => None,
        })
    }

    /// All tensor infos, in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The tensor named `name`, if present.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }

    fn tensor_or_err(&self, name: &str) -> Result<&TensorInfo> {
        self.tensor(name).ok_or_else(|| GgufError::TensorNotFound {
            path: self.path.clone(),
            tensor: name.to_string(),
        })
    }

    /// The raw bytes of a tensor's data.
    ///
    /// Fails for ggml type ids unknown to this crate (their size is unknown) and for data that
    /// does not lie inside the file.
    pub fn tensor_bytes(&self, info: &TensorInfo) -> Result<&[u8]> {
        let (start, end) = self.tensor_extent(info)?;
        let range = usize::try_from(start).ok().zip(usize::try_from(end).ok());
        range
            .and_then(|(start, end)| self.bytes.get(start..end))
            .ok_or_else(|| GgufError::DataNotRead {
                path: self.path.clone(),
                tensor: info.name.clone(),
            })
    }

    /// Where a tensor's data lies in the file, checked to be inside it.
    fn tensor_extent(&self, info: &TensorInfo) -> Result<(u64, u64)> {
        let n_bytes = info.n_bytes().ok_or_else(|| GgufError::UnknownTensorType {
            path: self.path.clone(),
            tensor: info.name.clone(),
            type_id: info.ggml_type.id(),
        })?;
        let start = self.data_offset.checked_add(info.offset);
        let end = start.and_then(|s| s.checked_add(n_bytes));
        match (start, end) {
            (Some(start), Some(end)) if end <= self.file_len => Ok((start, end)),
            _ => Err(GgufError::TensorOutOfBounds {
                path: self.path.clone(),
                tensor: info.name.clone(),
                ggml_type: info.ggml_type,
                start: start.unwrap_or(u64::MAX),
                end: end.unwrap_or(u64::MAX),
                file_len: self.file_len(),
            }),
        }
    }

    /// Dequantizes the tensor `name` to `f32`, row-major: dims `[ne0, ne1]` come back as `ne1`
    /// rows of `ne0` values (a GGUF matrix with dims `[in, out]` is an `[out, in]` matrix).
    pub fn dequantize(&self, name: &str) -> Result<Vec<f32>> {
        let info = self.tensor_or_err(name)?;
        self.check_dequantizable(info)?;
        // Validate the bytes before allocating: the element count is then bounded by the file.
        self.tensor_bytes(info)?;
        let mut out = vec![0.0f32; info.n_elements as usize];
        self.dequantize_into(info, &mut out)?;
        Ok(out)
    }

    /// Dequantizes a tensor into `out`, which must have exactly [`TensorInfo::n_elements`]
    /// elements; same order as [`Gguf::dequantize`].
    pub fn dequantize_into(&self, info: &TensorInfo, out: &mut [f32]) -> Result<()> {
        self.check_dequantizable(info)?;
        if out.len() as u64 != info.n_elements {
            return Err(GgufError::OutputLength {
                path: self.path.clone(),
                tensor: info.name.clone(),
                expected: info.n_elements,
                got: out.len(),
            });
        }
        let data = self.tensor_bytes(info)?;
        dequant::dequantize(info.ggml_type, data, out).map_err(|e| match e {
            DequantError::Unsupported(ggml_type) => GgufError::UnsupportedTensorType {
                path: self.path.clone(),
                tensor: info.name.clone(),
                ggml_type,
            },
            // Unreachable after the checks above; reported rather than panicking.
            DequantError::Length { .. } => GgufError::OutputLength {
                path: self.path.clone(),
                tensor: info.name.clone(),
                expected: info.n_elements,
                got: out.len(),
            },
        })
    }

    fn check_dequantizable(&self, info: &TensorInfo) -> Result<()> {
        if info.ggml_type.is_dequantizable() {
            Ok(())
        } else {
            Err(GgufError::UnsupportedTensorType {
                path: self.path.clone(),
                tensor: info.name.clone(),
                ggml_type: info.ggml_type,
            })
        }
    }
}

struct Parsed {
    version: u32,
    metadata: Vec<(String, Value)>,
    metadata_index: HashMap<String, usize>,
    tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
    alignment: u64,
    data_offset: u64,
}

/// Bounds-checked little-endian reader over the file bytes.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<&'a [u8]> {
        if n > self.remaining() as u64 {
            return Err(GgufError::Truncated {
                path: self.path.to_path_buf(),
                offset: self.pos as u64,
                what: what(),
                needed: n,
                available: self.remaining() as u64,
            });
        }
        let n = n as usize;
        let slice = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &dyn Fn() -> String) -> Result<[u8; N]> {
        let slice = self.take(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn u32(&mut self, what: &dyn Fn() -> String) -> Result<u32> {
        self.array(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &dyn Fn() -> String) -> Result<u64> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// Reads a `u64` count (of items or bytes) and rejects counts larger than the whole file,
    /// which no valid file can have since every item takes at least one byte. Running out of
    /// bytes part-way through the items is reported later, precisely, by the read that fails.
    fn count(&mut self, what: &dyn Fn() -> String) -> Result<u64> {
        let offset = self.pos as u64;
        let count = self.u64(what)?;
        let file_len = self.buf.len() as u64;
        if count > file_len {
            return Err(GgufError::AbsurdCount {
                path: self.path.to_path_buf(),
                offset,
                what: what(),
                count,
                file_len,
            });
        }
        Ok(count)
    }

    /// A capacity for `count` items of at least `min_item_bytes` bytes each that the rest of
    /// the file could actually hold.
    fn capacity(&self, count: u64, min_item_bytes: u64) -> usize {
        count.min(self.remaining() as u64 / min_item_bytes.max(1)) as usize
    }

    fn string(&mut self, what: &dyn Fn() -> String) -> Result<String> {
        let len = self.count(&|| format!("length of {}", what()))?;
        let bytes = self.take(len, what)?;
        Ok(match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        })
    }

    fn value(&mut self, ty: ValueType, key: &str, depth: usize) -> Result<Value> {
        let what = || format!("{} value of metadata key `{}`", ty, key);
        Ok(match ty {
            ValueType::U8 => Value::U8(self.array::<1>(&what)?[0]),
            ValueType::I8 => Value::I8(self.array::<1>(&what)?[0] as i8),
            ValueType::Bool => Value::Bool(self.array::<1>(&what)?[0] != 0),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.array(&what)?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.array(&what)?)),
            ValueType::U32 => Value::U32(u32::from_le_bytes(self.array(&what)?)),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.array(&what)?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.array(&what)?)),
            ValueType::U64 => Value::U64(u64::from_le_bytes(self.array(&what)?)),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.array(&what)?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.array(&what)?)),
            ValueType::String => Value::String(self.string(&what)?),
            ValueType::Array => {
                let elem_offset = self.pos as u64;
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(GgufError::ArrayTooDeep {
                        path: self.path.to_path_buf(),
                        key: key.to_string(),
                        offset: elem_offset,
                        max_depth: MAX_ARRAY_DEPTH,
                    });
                }
                let elem_id =
                    self.u32(&|| format!("array element type of metadata key `{key}`"))?;
                let elem =
                    ValueType::from_id(elem_id).ok_or_else(|| GgufError::UnknownValueType {
                        path: self.path.to_path_buf(),
                        key: key.to_string(),
                        offset: elem_offset,
                        type_id: elem_id,
                    })?;
                let min_item = match elem {
                    ValueType::String => 8,
                    ValueType::Array => 12,
                    fixed => fixed.fixed_size().unwrap_or(1) as u64,
                };
                let count = self
                    .count(&|| format!("array length of metadata key `{key}` ({elem} elements)"))?;
                let mut items = Vec::with_capacity(self.capacity(count, min_item));
                for _ in 0..count {
                    items.push(self.value(elem, key, depth + 1)?);
                }
                Value::Array(elem, items)
            }
        })
    }
}

fn parse_structure(buf: &[u8], path: &Path) -> Result<Parsed> {
    let mut c = Cursor { buf, pos: 0, path };
    if buf.len() < 4 && GGUF_MAGIC.starts_with(buf) {
        return Err(GgufError::Truncated {
            path: path.to_path_buf(),
            offset: 0,
            what: "magic".to_string(),
            needed: 4,
            available: buf.len() as u64,
        });
    }
    if buf.len() < 4 || buf[..4] != GGUF_MAGIC {
        return Err(GgufError::BadMagic {
            path: path.to_path_buf(),
            found: buf[..buf.len().min(4)].to_vec(),
        });
    }
    c.pos = 4;
    let version = c.u32(&|| "header version".to_string())?;
    if version != 2 && version != 3 {
        let hint = if matches!(version.swap_bytes(), 1..=3) {
            "; the file looks big-endian, and only little-endian GGUF is supported"
        } else if version == 1 {
            "; GGUF v1 used 32-bit counts and is obsolete, re-convert the model"
        } else {
            ""
        };
        return Err(GgufError::UnsupportedVersion {
            path: path.to_path_buf(),
            version,
            hint,
        });
    }
    let tensor_count = c.count(&|| "header tensor_count".to_string())?;
    let kv_count = c.count(&|| "header metadata_kv_count".to_string())?;

    // Capacities are bounded by what the rest of the file can hold: a metadata entry takes at
    // least 13 bytes (key length, value type, one value byte), a tensor info at least 24 (name
    // length, n_dims, type, offset).

    let mut metadata = Vec::with_capacity(c.capacity(kv_count, 13));
    let mut metadata_index = HashMap::with_capacity(c.capacity(kv_count, 13));
    for i in 0..kv_count {
        let key = c.string(&|| format!("key of metadata entry {i}"))?;
        let type_offset = c.pos as u64;
        let type_id = c.u32(&|| format!("value type of metadata key `{key}`"))?;
        let ty = ValueType::from_id(type_id).ok_or_else(|| GgufError::UnknownValueType {
            path: path.to_path_buf(),
            key: key.clone(),
            offset: type_offset,
            type_id,
        })?;
        let value = c.value(ty, &key, 0)?;
        if metadata_index.insert(key.clone(), metadata.len()).is_some() {
            return Err(GgufError::DuplicateKey {
                path: path.to_path_buf(),
                key,
            });
        }
        metadata.push((key, value));
    }

    let alignment = match metadata_index.get("general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some(&i) => {
            let value: &Value = &metadata[i].1;
            match value.as_u64() {
                Some(a) if a.is_power_of_two() => a,
                _ => {
                    return Err(GgufError::InvalidAlignment {
                        path: path.to_path_buf(),
                        found: value.describe(),
                    })
                }
            }
        }
    };

    let mut tensors = Vec::with_capacity(c.capacity(tensor_count, 24));
    let mut tensor_index = HashMap::with_capacity(c.capacity(tensor_count, 24));
    for i in 0..tensor_count {
        let name = c.string(&|| format!("name of tensor info {i}"))?;
        let n_dims = c.u32(&|| format!("n_dims of tensor `{name}`"))?;
        if n_dims as usize > MAX_DIMS {
            return Err(GgufError::BadShape {
                path: path.to_path_buf(),
                tensor: name,
                dims: Vec::new(),
                reason: format!("n_dims is {n_dims}, more than the maximum {MAX_DIMS}"),
            });
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for d in 0..n_dims {
            dims.push(c.u64(&|| format!("dim {d} of tensor `{name}`"))?);
        }
        let type_id = c.u32(&|| format!("ggml type of tensor `{name}`"))?;
        let offset = c.u64(&|| format!("data offset of tensor `{name}`"))?;
        let ggml_type = GgmlType(type_id);

        let bad_shape = |reason: String| GgufError::BadShape {
            path: path.to_path_buf(),
            tensor: name.clone(),
            dims: dims.clone(),
            reason,
        };
        let n_elements = dims
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or_else(|| bad_shape("the element count overflows".to_string()))?;
        if let Some(block) = ggml_type.block_size() {
            let ne0 = dims.first().copied().unwrap_or(1);
            if !ne0.is_multiple_of(block) {
                return Err(bad_shape(format!(
                    "the row length (dim 0 = {ne0}) is not a multiple of the {ggml_type} block size {block}"
                )));
            }
        }
        if !offset.is_multiple_of(alignment) {
            return Err(GgufError::MisalignedTensor {
                path: path.to_path_buf(),
                tensor: name,
                offset,
                alignment,
            });
        }
        if tensor_index.insert(name.clone(), tensors.len()).is_some() {
            return Err(GgufError::DuplicateTensor {
                path: path.to_path_buf(),
                tensor: name,
            });
        }
        tensors.push(TensorInfo {
            name,
            dims,
            ggml_type,
            offset,
            n_elements,
        });
    }

    // The data section starts at the next multiple of the alignment. A file without tensor data
    // may end before it; tensors are bounds-checked individually.
    let data_offset = (c.pos as u64).div_ceil(alignment) * alignment;

    Ok(Parsed {
        version,
        metadata,
        metadata_index,
        tensors,
        tensor_index,
        alignment,
        data_offset,
    })
}
