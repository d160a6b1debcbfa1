//! The results journal, `results.jsonl`: one [`Record`] per line, appended as each session,
//! run and pair finishes, so a crash loses at most the line being written.

use crate::input_file::{self, FileError, Size};
use crate::records::{Record, SCHEMA_VERSION};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Errors reading a journal. Every variant names the file; parse errors name the line.
#[derive(Debug, Error)]
pub enum JournalError {
    /// The file could not be read.
    #[error("cannot read journal {}: {error}", path.display())]
    Io {
        /// The journal.
        path: PathBuf,
        /// The underlying error: part of the message, not a `source()` (an error chain
        /// printed whole would say it twice).
        error: io::Error,
    },
    /// The path exists but is not a regular file (a FIFO, a directory, a device): it is not
    /// opened, since opening a FIFO waits for a writer forever.
    #[error("cannot read journal {}: not a regular file ({kind})", path.display())]
    NotRegularFile {
        /// The journal.
        path: PathBuf,
        /// What it is instead, e.g. `a fifo`, `a directory`.
        kind: &'static str,
    },
    /// Too large, or it changed while read.
    #[error("cannot read journal {}: {why}", path.display())]
    Unreadable {
        /// The journal.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A line that is not the last one is not a valid record.
    #[error("{}:{line}: invalid record: {error}", path.display())]
    Parse {
        /// The journal.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What serde_json said: part of the message, not a `source()`.
        error: serde_json::Error,
    },
}

/// Append-only writer of `results.jsonl`: one [`Record`] per line, flushed (and fsync'd via
/// [`File::sync_data`]) after each line, so nothing computed is lost if the process dies.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
}

impl Journal {
    /// Create a new journal at `path`, replacing an old one: removed first, then created
    /// exclusively and opened for appending, so two writers can never share one file (the
    /// caller holds the output folder's lock).
    pub fn create(path: &Path) -> io::Result<Journal> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)?;
        Ok(Journal {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Replace the journal at `path` with `records` (atomically: a temporary file renamed
    /// over it) and open it for appending. `--resume` uses it to drop a torn last line and
    /// the records of unfinished cells.
    pub fn rewrite(path: &Path, records: &[Record]) -> io::Result<Journal> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".results.jsonl.");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o644));
        }
        let mut tmp = builder.tempfile_in(dir)?;
        for r in records {
            let mut line = serde_json::to_vec(r).map_err(io::Error::other)?;
            line.push(b'\n');
            tmp.write_all(&line)?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        let file = std::fs::OpenOptions::new().append(true).open(path)?;
        Ok(Journal {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Where this journal is written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one record as one line, then flush it to disk.
    pub fn append(&mut self, rec: &Record) -> io::Result<()> {
        let mut line = serde_json::to_vec(rec).map_err(io::Error::other)?;
        line.push(b'\n');
        // One write of the whole line: a crash can only leave a truncated *last* line,
        // which `read` tolerates.
        self.file.write_all(&line)?;
        self.file.flush()?;
        self.file.sync_data()
    }
}

/// Read a `results.jsonl`. Errors name the file and the line number. A truncated last line
/// (the process died mid-write) is ignored with a warning returned alongside the records;
/// an invalid line anywhere else is an error. Blank lines are skipped. Only a regular file is
/// opened: a FIFO, a directory or a device is [`JournalError::NotRegularFile`].
pub fn read(path: &Path) -> Result<(Vec<Record>, Vec<String>), JournalError> {
    let path_buf = path.to_path_buf();
    let bytes = match input_file::read_bytes(path, Size::AtMost(input_file::JOURNAL_CAP)) {
        Ok(bytes) => bytes,
        Err(FileError::Io { error, .. }) => {
            return Err(JournalError::Io {
                path: path_buf,
                error,
            })
        }
        Err(FileError::NotRegularFile { kind, .. }) => {
            return Err(JournalError::NotRegularFile {
                path: path_buf,
                kind,
            })
        }
        Err(e) => {
            return Err(JournalError::Unreadable {
                path: path_buf,
                why: e.why(),
            })
        }
    };
    parse(path, &bytes)
}

fn parse(path: &Path, bytes: &[u8]) -> Result<(Vec<Record>, Vec<String>), JournalError> {
    let mut records = Vec::new();
    let mut warnings = Vec::new();
    let ends_with_newline = bytes.last() == Some(&b'\n');
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    // Index of the last line holding anything: only that one may be a torn write.
    let last = lines.iter().rposition(|l| !is_blank(l));
    for (i, line) in lines.iter().enumerate() {
        if is_blank(line) {
            continue;
        }
        let lineno = i + 1;
        match serde_json::from_slice::<Record>(line) {
            Ok(rec) => {
                if let Record::Sweep(h) = &rec {
                    if h.schema_version != SCHEMA_VERSION {
                        warnings.push(format!(
                            "{}:{lineno}: written with schema version {}, this driftbench reads {}",
                            path.display(),
                            h.schema_version,
                            SCHEMA_VERSION
                        ));
                    }
                }
                records.push(rec);
            }
            // A torn write has no final newline, or stops inside the JSON value.
            Err(e) if Some(i) == last && (!ends_with_newline || e.is_eof()) => {
                warnings.push(format!(
                    "{}:{lineno}: ignoring truncated last line ({} bytes): {e}",
                    path.display(),
                    line.len()
                ));
            }
            Err(error) => {
                return Err(JournalError::Parse {
                    path: path.to_path_buf(),
                    line: lineno,
                    error,
                })
            }
        }
    }
    Ok((records, warnings))
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| b.is_ascii_whitespace())
}
