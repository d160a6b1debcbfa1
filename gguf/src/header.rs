//! Reading only a GGUF file's header (metadata and tensor table), never its tensor data: what
//! needs the metadata alone (the tokenizer) reads a few MB of a file that may hold many GB.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::errors::{GgufError, Result};
use crate::reader::Gguf;

/// First piece of the file read to parse its header: 1 MiB.
const FIRST_READ: u64 = 1 << 20;

/// The largest header driftbench reads ([`Gguf::open_header`]'s `max_bytes` for the model
/// check and the tokenizer): 256 MiB, far beyond any real model's metadata and tensor table
/// (SmolLM2's is under 2 MiB, a 150k-token vocabulary's a few MiB).
pub const MAX_HEADER_BYTES: u64 = 256 << 20;

impl Gguf {
    /// Reads the header of the GGUF file at `path`: its first bytes, 1 MiB and doubling up to
    /// `max_bytes`, until [`Gguf::parse_header`] parses the whole header from them. Metadata and
    /// tensor infos are there; tensor data is [`GgufError::DataNotRead`]. A header larger than
    /// `max_bytes` fails with the parser's [`GgufError::Truncated`]; a path that is not a
    /// regular file (a FIFO, a folder) is an [`GgufError::Io`] error, never opened.
    pub fn open_header(path: impl AsRef<Path>, max_bytes: u64) -> Result<Gguf> {
        let path = path.as_ref();
        let io = |source| GgufError::Io {
            path: path.to_path_buf(),
            source,
        };
        // Checked before opening: opening a FIFO would wait for a writer forever.
        let regular = |meta: std::fs::Metadata| {
            if meta.is_file() {
                Ok(meta.len())
            } else {
                Err(io(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a regular file",
                )))
            }
        };
        regular(std::fs::metadata(path).map_err(io)?)?;
        let mut file = File::open(path).map_err(io)?;
        let len = regular(file.metadata().map_err(io)?)?;
        let mut buf = Vec::new();
        let mut want = FIRST_READ.min(len);
        loop {
            let have = buf.len() as u64;
            (&mut file)
                .take(want - have)
                .read_to_end(&mut buf)
                .map_err(io)?;
            let whole = buf.len() as u64 >= len;
            if !whole && (buf.len() as u64) < want {
                return Err(io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "the file shrank while being read ({} of {len} bytes)",
                        buf.len()
                    ),
                )));
            }
            match Gguf::parse_header(buf.clone(), len, path.to_path_buf()) {
                Err(GgufError::Truncated { .. } | GgufError::AbsurdCount { .. })
                    if !whole && want < max_bytes =>
                {
                    want = want.saturating_mul(2).min(max_bytes).min(len);
                }
                parsed => return parsed,
            }
        }
    }
}
