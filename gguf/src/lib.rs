//! GGUF v2/v3 (little-endian) reader and dequantizers for driftbench — no burn, no unsafe.
//!
//! * [`Gguf`] reads a whole file once into memory, parses the header, metadata ([`Value`]) and
//!   tensor infos ([`TensorInfo`]), and validates every count, length and offset against the
//!   file size before using it: corrupt input yields a [`GgufError`] naming the file and the
//!   problem, never a panic or a huge allocation.
//! * [`Gguf::dequantize`] turns F32, F16, BF16, Q4_0, Q4_1 and Q8_0 tensors into row-major `f32`
//!   data: a tensor with GGUF dims `[ne0, ne1]` (`ne0` innermost) comes back as `ne1` rows of
//!   `ne0` values. Other ggml types ([`GgmlType`]) can be listed and their bytes read, but not
//!   dequantized.
//! * [`GgufWriter`] writes small GGUF v3 files (any metadata, raw tensor bytes), for tests here
//!   and in other crates.
//! * [`Gguf::open_header`] reads only a file's header (metadata and tensor table).
//! * With the `tokenizer` feature, [`GgufTokenizer`] tokenizes text with a file's own
//!   byte-level BPE vocabulary, as llama.cpp does (text prompts).
//!
//! Note on LLaMA files: Q and K projection weights are stored permuted for adjacent-pair RoPE;
//! see [`Gguf`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dequant;
pub mod errors;
mod header;
pub mod reader;
#[cfg(feature = "tokenizer")]
pub mod tokenizer;
pub mod value;
pub mod writer;

pub use dequant::{dequantize, DequantError, GgmlType};
pub use errors::{GgufError, Result};
pub use header::MAX_HEADER_BYTES;
pub use reader::{Gguf, TensorInfo, DEFAULT_ALIGNMENT, GGUF_MAGIC};
#[cfg(feature = "tokenizer")]
pub use tokenizer::{GgufTokenizer, TokenizerError};
pub use value::{Value, ValueType};
pub use writer::GgufWriter;
