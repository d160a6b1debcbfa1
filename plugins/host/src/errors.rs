//! Errors of plugin discovery and loading.

use std::path::PathBuf;
use thiserror::Error;

/// Why a plugin could not be used.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The file does not exist.
    #[error("plugin {path}: no such file")]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// The dynamic loader refused the file.
    #[error("plugin {path}: cannot load library: {reason}")]
    Library {
        /// The file.
        path: PathBuf,
        /// The loader's message.
        reason: String,
    },
    /// The entry symbol is absent.
    #[error("plugin {path}: no `driftbench_plugin_v1` entry symbol ({hint})")]
    NoEntry {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        hint: String,
    },
    /// Magic, ABI major version or table size do not match.
    #[error("plugin {path}: incompatible plugin ABI: {reason}")]
    Abi {
        /// The file.
        path: PathBuf,
        /// Both versions or sizes.
        reason: String,
    },
    /// No plugin serves the backend name.
    #[error(
        "backend `{name}`: no plugin found (searched {searched}); build it or pass --plugin PATH"
    )]
    NotFound {
        /// Backend asked for.
        name: String,
        /// Where we looked.
        searched: String,
    },
}
