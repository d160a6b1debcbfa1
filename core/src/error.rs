//! The errors a backend or session reports; each kind becomes a verdict (see the book's
//! Concepts chapter): `Unavailable` skips, the others make the pair INCOMPLETE.

use thiserror::Error;

/// Errors a backend or session reports.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum BackendError {
    /// The backend, device or dtype is not available here (becomes `SKIPPED`).
    #[error("not available: {0}")]
    Unavailable(String),
    /// The request itself is invalid (span too long, token out of range...).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Loading the model failed.
    #[error("model load failed: {0}")]
    Load(String),
    /// The computation failed.
    #[error("run failed: {0}")]
    Run(String),
    /// The backend panicked; its session is poisoned.
    #[error("backend panicked: {0}")]
    Panic(String),
}

impl BackendError {
    /// The message without the kind's prefix: what crosses the plugin ABI and the worker
    /// protocol, where the kind travels as a code (the receiver adds the prefix once).
    pub fn message(&self) -> &str {
        match self {
            BackendError::Unavailable(m)
            | BackendError::Invalid(m)
            | BackendError::Load(m)
            | BackendError::Run(m)
            | BackendError::Panic(m) => m,
        }
    }
}
