//! Errors of the core crate.
//!
//! Every message is one line and names what the user has to fix: for a config, the file,
//! the key, the value found and what was expected.

use thiserror::Error;

/// A sweep config that cannot be read, parsed or accepted.
///
/// Every message starts with the config file, as given, and fits on one line.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read config: {error}")]
    Read {
        /// The config file, as given.
        file: String,
        /// The I/O error: part of the message, not a `source()` (an error chain printed
        /// whole would say it twice).
        error: std::io::Error,
    },
    /// The path exists but is not a regular file (a FIFO, a directory, a device): it is not
    /// opened, since opening a FIFO waits for a writer forever.
    #[error("{file}: cannot read config: not a regular file ({kind})")]
    NotRegularFile {
        /// The config file, as given.
        file: String,
        /// What it is instead, e.g. `a fifo`, `a directory`.
        kind: &'static str,
    },
    /// The file is too large or not UTF-8 text.
    #[error("{file}: cannot read config: {why}")]
    Unreadable {
        /// The config file, as given.
        file: String,
        /// Why, e.g. `5000000 bytes, more than the 4194304 bytes such a file may hold`.
        why: String,
    },
    /// The file is not valid TOML, or does not have the shape of a sweep config
    /// (unknown key, wrong type, missing table...).
    #[error("{file}: {message}")]
    Parse {
        /// The config file, as given.
        file: String,
        /// One line: position, key and what went wrong, e.g.
        /// ``line 5, column 9: key `sweep.spans`: invalid type: string "32", expected an array``.
        message: String,
    },
    /// A value has the right type but is not acceptable.
    #[error("{file}: key `{key}`: invalid value {value}: expected {expected}")]
    Invalid {
        /// The config file, as given.
        file: String,
        /// Dotted key, e.g. `sweep.spans` or `tolerances.f16.equiv.max_abs`.
        key: String,
        /// The offending value, written as in TOML (`0`, `"fp8"`, `[]`).
        value: String,
        /// What would have been accepted.
        expected: String,
    },
}

impl ConfigError {
    /// The config file the error is about, as given.
    pub fn file(&self) -> &str {
        match self {
            ConfigError::Read { file, .. }
            | ConfigError::NotRegularFile { file, .. }
            | ConfigError::Unreadable { file, .. }
            | ConfigError::Parse { file, .. }
            | ConfigError::Invalid { file, .. } => file,
        }
    }
}
