//! Every file driftbench reads goes through [`read_bytes`]: a regular file only (after
//! symlinks are followed), of a size known before reading, with errors that name the file.
//!
//! The file is opened without blocking and checked *after* opening (on the open handle), so
//! a FIFO cannot hang the reader and a file swapped between a check and the open cannot
//! slip through; `/dev/zero` behind a symlink is a character device, refused, and a file
//! that grows while it is read is cut at its cap and refused.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The most a TOML sweep config may hold.
pub const CONFIG_CAP: u64 = 4 << 20;
/// The most a `results.jsonl` journal may hold (about a million records).
pub const JOURNAL_CAP: u64 = 1 << 30;
/// The most a replay bundle's `bundle.json` may hold (its tokens and one pair record).
pub const BUNDLE_CAP: u64 = 64 << 20;
/// The most a `report.json` may hold.
pub const REPORT_CAP: u64 = 256 << 20;
/// The most a peaks cache (`peaks.json`) may hold.
pub const PEAKS_CAP: u64 = 1 << 20;

/// How large the file may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// At most this many bytes (JSON, TOML, a journal).
    AtMost(u64),
    /// Exactly this many bytes (a logits file of a known shape).
    Exactly(u64),
}

/// Why a file could not be read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// It could not be opened or read.
    #[error("cannot read {}: {error}", path.display())]
    Io {
        /// The file, as given.
        path: PathBuf,
        /// The I/O error: part of the message, not a `source()`.
        error: io::Error,
    },
    /// A FIFO, a directory, a device: never read.
    #[error("cannot read {}: not a regular file ({kind})", path.display())]
    NotRegularFile {
        /// The file, as given.
        path: PathBuf,
        /// What it is instead, e.g. `a fifo`.
        kind: &'static str,
    },
    /// Larger than its cap.
    #[error("cannot read {}: {size} bytes, more than the {cap} bytes such a file may hold", path.display())]
    TooLarge {
        /// The file, as given.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The cap.
        cap: u64,
    },
    /// Not the size its shape says.
    #[error("cannot read {}: {size} bytes, expected {expected}", path.display())]
    WrongSize {
        /// The file, as given.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The size expected.
        expected: u64,
    },
    /// Not UTF-8 text.
    #[error("cannot read {}: not UTF-8 text ({error})", path.display())]
    NotText {
        /// The file, as given.
        path: PathBuf,
        /// Where the first invalid byte is.
        error: std::str::Utf8Error,
    },
}

impl FileError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            FileError::Io { path, .. }
            | FileError::NotRegularFile { path, .. }
            | FileError::TooLarge { path, .. }
            | FileError::WrongSize { path, .. }
            | FileError::NotText { path, .. } => path,
        }
    }

    /// The message without the file's name, for errors that name it their own way.
    pub fn why(&self) -> String {
        let full = self.to_string();
        let prefix = format!("cannot read {}: ", self.path().display());
        full.strip_prefix(&prefix).unwrap_or(&full).to_string()
    }
}

/// Read the regular file at `path` whole, refusing anything else and any size `size` rules
/// out.
pub fn read_bytes(path: &Path, size: Size) -> Result<Vec<u8>, FileError> {
    let io_error = |error| FileError::Io {
        path: path.to_path_buf(),
        error,
    };
    let file = open_nonblocking(path).map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(FileError::NotRegularFile {
            path: path.to_path_buf(),
            kind: file_kind(&meta),
        });
    }
    let cap = check_size(path, meta.len(), size)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // One byte past the cap: a file that grew since the check is seen to be too large.
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    check_size(path, bytes.len() as u64, size)?;
    Ok(bytes)
}

/// [`read_bytes`] for UTF-8 text of at most `cap` bytes.
pub fn read_text(path: &Path, cap: u64) -> Result<String, FileError> {
    let bytes = read_bytes(path, Size::AtMost(cap))?;
    String::from_utf8(bytes).map_err(|e| FileError::NotText {
        path: path.to_path_buf(),
        error: e.utf8_error(),
    })
}

/// The file's cap, or why `len` breaks `size`.
fn check_size(path: &Path, len: u64, size: Size) -> Result<u64, FileError> {
    match size {
        Size::AtMost(cap) if len > cap => Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size: len,
            cap,
        }),
        Size::Exactly(expected) if len != expected => Err(FileError::WrongSize {
            path: path.to_path_buf(),
            size: len,
            expected,
        }),
        Size::AtMost(cap) | Size::Exactly(cap) => Ok(cap),
    }
}

/// Open for reading without waiting for a FIFO's writer.
fn open_nonblocking(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// What kind of file `meta` describes, for "not a regular file (a fifo)".
pub fn file_kind(meta: &Metadata) -> &'static str {
    let ft = meta.file_type();
    if ft.is_file() {
        return "a regular file";
    }
    if ft.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a fifo";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
    }
    "not a regular file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_within_its_cap_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.json");
        std::fs::write(&f, b"{}").unwrap();
        assert_eq!(read_text(&f, 2).unwrap(), "{}");
        assert_eq!(read_bytes(&f, Size::Exactly(2)).unwrap(), b"{}");
    }

    #[test]
    fn too_large_wrong_size_and_not_text_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.json");
        std::fs::write(&f, b"{}\xff").unwrap();
        let large = read_text(&f, 2).unwrap_err().to_string();
        assert!(
            large.contains("a.json") && large.contains("3 bytes"),
            "{large}"
        );
        let size = read_bytes(&f, Size::Exactly(8)).unwrap_err().to_string();
        assert!(size.contains("expected 8"), "{size}");
        let text = read_text(&f, 8).unwrap_err().to_string();
        assert!(text.contains("not UTF-8"), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_and_a_device_behind_a_symlink_are_refused_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("peaks.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let e = read_text(&fifo, PEAKS_CAP).unwrap_err().to_string();
        assert!(e.contains("not a regular file (a fifo)"), "{e}");
        let zero = dir.path().join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let e = read_text(&zero, PEAKS_CAP).unwrap_err().to_string();
        assert!(
            e.contains("a character device") && e.contains("zero.json"),
            "{e}"
        );
    }
}
