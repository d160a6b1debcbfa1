//! Errors of the model crate.

use thiserror::Error;

/// Why a model could not be built or run.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The GGUF file could not be read.
    #[error(transparent)]
    Gguf(#[from] driftbench_gguf::GgufError),
    /// The file is a GGUF but not a llama model this crate can run.
    #[error("{file}: {message}")]
    Unsupported {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// An architecture that cannot work (e.g. heads not divisible by kv heads).
    #[error("invalid model architecture: {0}")]
    Arch(String),
}
