//! The error type of this crate.
//!
//! Every variant carries the path of the file it concerns (`<in-memory GGUF>` for buffers that did
//! not come from a file) and says what is wrong in its message, so that a failure deep inside a
//! model load can be diagnosed from the message alone.

use std::path::PathBuf;

use thiserror::Error;

use crate::dequant::GgmlType;

/// Everything that can go wrong while reading, writing or dequantizing a GGUF file.
///
/// Reading never panics on corrupt input and never allocates from an unchecked length: counts and
/// lengths are checked against the bytes actually present first.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum GgufError {
    /// The file could not be read or written.
    #[error("{}: I/O error: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The first four bytes are not `GGUF`.
    #[error(
        "{}: not a GGUF file: magic {} ({:?}), expected 0x47 0x47 0x55 0x46 (\"GGUF\")",
        path.display(),
        hex_bytes(found),
        String::from_utf8_lossy(found)
    )]
    BadMagic {
        /// The file concerned.
        path: PathBuf,
        /// The bytes found where the magic should be (fewer than 4 if the file is that short).
        found: Vec<u8>,
    },

    /// The version field is not 2 or 3.
    #[error("{}: unsupported GGUF version {version} (expected 2 or 3){hint}", path.display())]
    UnsupportedVersion {
        /// The file concerned.
        path: PathBuf,
        /// The version read (as little-endian).
        version: u32,
        /// Extra explanation, e.g. that the file looks big-endian; may be empty.
        hint: &'static str,
    },

    /// The file ended before a field that should be there.
    #[error(
        "{}: truncated file: reading {what} at offset {offset} needs {needed} bytes but only {available} remain",
        path.display()
    )]
    Truncated {
        /// The file concerned.
        path: PathBuf,
        /// Byte offset of the field.
        offset: u64,
        /// What was being read.
        what: String,
        /// Bytes the field needs.
        needed: u64,
        /// Bytes left in the file from `offset`.
        available: u64,
    },

    /// A count or length is larger than the whole file could possibly hold.
    #[error(
        "{}: absurd {what} {count} at offset {offset}: larger than the whole file ({file_len} bytes), the file is corrupt",
        path.display()
    )]
    AbsurdCount {
        /// The file concerned.
        path: PathBuf,
        /// Byte offset of the count field.
        offset: u64,
        /// Which count.
        what: String,
        /// The count read.
        count: u64,
        /// Length of the file.
        file_len: u64,
    },

    /// A metadata value has a type id outside 0..=12.
    #[error(
        "{}: metadata key `{key}` at offset {offset} has unknown value type id {type_id} (expected 0..=12)",
        path.display()
    )]
    UnknownValueType {
        /// The file concerned.
        path: PathBuf,
        /// The metadata key.
        key: String,
        /// Byte offset of the type field.
        offset: u64,
        /// The type id read.
        type_id: u32,
    },

    /// Arrays nested deeper than this reader accepts.
    #[error(
        "{}: metadata key `{key}`: arrays nested more than {max_depth} deep at offset {offset}",
        path.display()
    )]
    ArrayTooDeep {
        /// The file concerned.
        path: PathBuf,
        /// The metadata key.
        key: String,
        /// Byte offset of the innermost array header.
        offset: u64,
        /// The deepest nesting accepted.
        max_depth: usize,
    },

    /// The same metadata key appears twice.
    #[error("{}: duplicate metadata key `{key}`", path.display())]
    DuplicateKey {
        /// The file concerned.
        path: PathBuf,
        /// The repeated key.
        key: String,
    },

    /// `general.alignment` is not a non-zero power of two integer.
    #[error(
        "{}: invalid metadata `general.alignment`: {found} (expected a non-zero power of two integer)",
        path.display()
    )]
    InvalidAlignment {
        /// The file concerned.
        path: PathBuf,
        /// What was found, e.g. `u32 value 3`.
        found: String,
    },

    /// The same tensor name appears twice.
    #[error("{}: duplicate tensor name `{tensor}`", path.display())]
    DuplicateTensor {
        /// The file concerned.
        path: PathBuf,
        /// The repeated name.
        tensor: String,
    },

    /// A tensor's shape is impossible (too many dims, overflowing element count, row length not a
    /// multiple of the block size).
    #[error("{}: tensor `{tensor}` has an invalid shape {dims:?}: {reason}", path.display())]
    BadShape {
        /// The file concerned.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// Its dims as read (innermost first).
        dims: Vec<u64>,
        /// What is wrong.
        reason: String,
    },

    /// A tensor's data offset is not a multiple of the file's alignment.
    #[error(
        "{}: tensor `{tensor}` has data offset {offset}, which is not a multiple of the alignment {alignment}",
        path.display()
    )]
    MisalignedTensor {
        /// The file concerned.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// Its offset relative to the data section.
        offset: u64,
        /// The file's alignment.
        alignment: u64,
    },

    /// A tensor's data was not read: the file was parsed from its header alone
    /// ([`crate::Gguf::parse_header`]).
    #[error("{}: tensor `{tensor}`: only the file's header was read", path.display())]
    DataNotRead {
        /// The file concerned.
        path: PathBuf,
        /// The tensor.
        tensor: String,
    },

    /// A tensor's data lies (partly) outside the file.
    #[error(
        "{}: tensor data out of bounds: tensor `{tensor}` ({ggml_type}) occupies file bytes {start}..{end} but the file has {file_len} bytes (truncated or corrupt offset)",
        path.display()
    )]
    TensorOutOfBounds {
        /// The file concerned.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// Its ggml type.
        ggml_type: GgmlType,
        /// First byte (absolute file offset, saturated at `u64::MAX`).
        start: u64,
        /// One past the last byte (absolute file offset, saturated at `u64::MAX`).
        end: u64,
        /// Length of the file.
        file_len: u64,
    },

    /// A tensor's ggml type id is not known to this crate, so even its size in bytes is unknown.
    #[error(
        "{}: tensor `{tensor}` has unknown ggml type id {type_id}; its size in bytes cannot be computed",
        path.display()
    )]
    UnknownTensorType {
        /// The file concerned.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// The ggml type id read.
        type_id: u32,
    },

    /// A tensor's ggml type is known but cannot be dequantized by this crate.
    #[error(
        "{}: cannot dequantize tensor `{tensor}`: ggml type {ggml_type} is not supported (supported: F32, F16, BF16, Q4_0, Q4_1, Q8_0)",
        path.display()
    )]
    UnsupportedTensorType {
        /// The file concerned.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// Its ggml type.
        ggml_type: GgmlType,
    },

    /// No tensor of that name exists.
    #[error("{}: no tensor named `{tensor}`", path.display())]
    TensorNotFound {
        /// The file concerned.
        path: PathBuf,
        /// The name looked up.
        tensor: String,
    },

    /// The output slice given to a dequantizer has the wrong length.
    #[error(
        "{}: dequantizing tensor `{tensor}`: output has {got} elements but the tensor has {expected}",
        path.display()
    )]
    OutputLength {
        /// The file concerned.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// Elements in the tensor.
        expected: u64,
        /// Elements in the output slice.
        got: usize,
    },

    /// A required metadata key is absent.
    #[error("{}: metadata key `{key}` is missing (expected {expected})", path.display())]
    MissingKey {
        /// The file concerned.
        path: PathBuf,
        /// The key looked up.
        key: String,
        /// The type the caller wanted.
        expected: &'static str,
    },

    /// A metadata value has a type (or value) the caller cannot use.
    #[error(
        "{}: metadata key `{key}` has the wrong type: expected {expected}, found {found}",
        path.display()
    )]
    WrongType {
        /// The file concerned.
        path: PathBuf,
        /// The key looked up.
        key: String,
        /// The type the caller wanted.
        expected: &'static str,
        /// What is stored, e.g. `string "llama"` or `i32 value -1`.
        found: String,
    },

    /// The writer was asked to write something that would not be a valid GGUF file.
    #[error("{}: cannot write GGUF: {reason}", path.display())]
    Writer {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn hex_bytes(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "(none: file shorter than 4 bytes)".to_string();
    }
    bytes
        .iter()
        .map(|b| format!("0x{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Shorthand for `Result<T, GgufError>`.
pub type Result<T, E = GgufError> = std::result::Result<T, E>;
